/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:element-iiosrc
 * @title: iiosrc
 *
 * Captures from an IIO input device through libiio, on this machine
 * (`local:`) or another one (`ip:HOST`, served by iiod; `usb:`, `serial:`).
 * Every block is copied out of libiio's buffer: this is a copy path by
 * nature; iiodmabufsrc is the zero-copy one for local converters. The caps
 * are iiodmabufsrc's, from the same code: audio/x-raw for uniform
 * byte-aligned channels, application/x-iio otherwise. Downstream may choose
 * a rate from the device's sampling_frequency_available and, without
 * #GstIioSrc:channels, how many of the first channels to take, as with
 * iiodmabufsrc. The rate and the #GstIioSrc:attributes written are put back
 * at stop.
 *
 * After a flush or a pause the element makes libiio's buffer anew: the
 * converter starts again, so the next buffer is DISCONT and its time is
 * taken from the clock again.
 *
 * The first four blocks after each start are dropped (counted as
 * discarded; #GstIioSrc:discard-blocks): Linux's IIO DMA buffer core (6.12
 * at least) may deliver the first two blocks of its read() path in the
 * wrong order after an earlier session, which `iio_readdev` shows too.
 *
 * |[
 * gst-launch-1.0 iiosrc uri=ip:192.0.2.1 device=my-adc channels=voltage0,voltage1 \
 *     num-buffers=100 ! wavenc ! filesink location=capture.wav
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstiiosrc.h"
#include "gstiiolibiiocommon.h"
#include "gstiiodmabufcaps.h"

#include <errno.h>
#include <iio.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (gst_iio_src_debug);
#define GST_CAT_DEFAULT gst_iio_src_debug

enum
{
  PROP_FIRST = GST_IIO_LIBIIO_N_SETTINGS - 1,
  PROP_DISCARD_BLOCKS,
  PROP_STATS,
  N_PROPERTIES
};

static GParamSpec *properties[N_PROPERTIES];

/* libiio's local backend (iiod's too) makes the kernel's buffer this many
 * of our blocks; the IIO DMA buffer core's read() path splits it in two
 * kernel blocks of KERNEL_BLOCKS / 2 of ours. */
#define KERNEL_BLOCKS 4
/* Linux 6.12's DMA buffer core does not rewind which of its two read()
 * blocks comes next when the buffer is enabled again: after a session that
 * read an odd number of them, the next one gets its second block (samples
 * N..2N) before its first (0..N), with no error. From the third block on
 * the order is right, so by default the first two kernel blocks are
 * dropped.
 * (docs/troubleshooting.md: "first blocks out of order") */
#define DEFAULT_DISCARD_BLOCKS KERNEL_BLOCKS
#define MAX_DISCARD_BLOCKS 1024

struct _GstIioSrc
{
  GstPushSrc parent;

  /* settings, object lock */
  GstIioLibiioSettings settings;
  guint discard_blocks;

  /* streaming: set up in start(), gone in stop() */
  GstIioLibiioDevice *iio;
  GstIioLibiioSettings active;  /* the settings start() took */
  GstCaps *offered;             /* object lock */
  GstClockTime block_time;      /* object lock: NONE at an unknown rate */
  struct iio_buffer *buffer;    /* object lock: unlock() cancels it */
  gboolean flushing;            /* object lock */
  gboolean cancelled;           /* buffer cancelled: make a new one */
  gboolean paused;              /* object lock: was paused, make a new one */
  guint64 samples;              /* delivered since start */
  guint64 anchor;               /* samples delivered when first_pts was taken */
  GstClockTime first_pts;
  gboolean discont;
  guint settling;               /* blocks still to drop (discard-blocks) */

  /* object lock */
  guint64 blocks, bytes, restarts, discarded;
};

#define gst_iio_src_parent_class parent_class
G_DEFINE_TYPE (GstIioSrc, gst_iio_src, GST_TYPE_PUSH_SRC);
GST_ELEMENT_REGISTER_DEFINE (iiosrc, "iiosrc", GST_RANK_NONE, GST_TYPE_IIO_SRC);

static gboolean
create_buffer (GstIioSrc * self)
{
  struct iio_buffer *buffer;
  gint ret;

  ret = iio_device_set_kernel_buffers_count (self->iio->dev, KERNEL_BLOCKS);
  if (ret < 0)
    GST_WARNING_OBJECT (self, "cannot set the kernel's buffer count: %d", ret);
  errno = 0;
  buffer = iio_device_create_buffer (self->iio->dev,
      self->active.samples_per_block, false);
  if (!buffer) {
    gst_iio_libiio_device_post_buffer_error (self->iio, errno ? errno : EIO,
        "iio_device_create_buffer", TRUE);
    return FALSE;
  }
  GST_OBJECT_LOCK (self);
  self->buffer = buffer;
  /* an unlock() while it was being made found nothing to cancel */
  self->cancelled = self->flushing;
  if (self->flushing)
    iio_buffer_cancel (buffer);
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static void
destroy_buffer (GstIioSrc * self)
{
  struct iio_buffer *buffer;

  GST_OBJECT_LOCK (self);
  buffer = self->buffer;
  self->buffer = NULL;
  GST_OBJECT_UNLOCK (self);
  if (buffer)
    iio_buffer_destroy (buffer);
}

/* What a block lasts at the device's rate, for queries from any thread. */
static void
update_block_time (GstIioSrc * self)
{
  GstClockTime duration = self->iio->rate ?
      gst_util_uint64_scale (self->active.samples_per_block, GST_SECOND,
      self->iio->rate) : GST_CLOCK_TIME_NONE;

  GST_OBJECT_LOCK (self);
  self->block_time = duration;
  GST_OBJECT_UNLOCK (self);
}

/* Without a channels property an audio stream may take the first N
 * channels, all of them preferred; the rate is any the device offers
 * unless sampling-frequency fixed it. As iiodmabufsrc offers them. */
static GstCaps *
offered_caps (GstIioSrc * self)
{
  GValue rates = G_VALUE_INIT;
  gboolean have_rates = !self->active.sampling_frequency
      && gst_iio_libiio_device_rates (self->iio, &rates);
  GstCaps *caps = gst_iio_libiio_device_offered (self->iio,
      have_rates ? &rates : NULL, !self->active.channels);

  if (have_rates)
    g_value_unset (&rates);
  return caps;
}

/* The buffer is made at the first block, once the caps have set the rate
 * and the channels. */
static gboolean
start_held (GstBaseSrc * src)
{
  GstIioSrc *self = GST_IIO_SRC (src);
  GstCaps *offered;

  GST_OBJECT_LOCK (self);
  gst_iio_libiio_settings_copy (&self->active, &self->settings);
  GST_OBJECT_UNLOCK (self);
  self->iio = gst_iio_libiio_device_open (GST_ELEMENT (self), &self->active,
      FALSE);
  if (!self->iio)
    goto failed;
  offered = offered_caps (self);
  update_block_time (self);
  GST_DEBUG_OBJECT (self, "offers %" GST_PTR_FORMAT, offered);
  self->samples = self->anchor = 0;
  self->first_pts = GST_CLOCK_TIME_NONE;
  self->discont = TRUE;
  GST_OBJECT_LOCK (self);
  self->paused = FALSE;
  self->offered = offered;
  self->blocks = self->bytes = self->restarts = self->discarded = 0;
  GST_OBJECT_UNLOCK (self);
  return TRUE;

failed:
  GST_BASE_SRC_GET_CLASS (src)->stop (src);
  return FALSE;
}

/* start(), with SIGPIPE held off (libiio and a vanished iiod) */
static gboolean
gst_iio_src_start (GstBaseSrc * src)
{
  GstIioSigpipeGuard guard;
  gboolean ret;

  gst_iio_libiio_sigpipe_hold (&guard);
  ret = start_held (src);
  gst_iio_libiio_sigpipe_release (&guard);
  return ret;
}

static gboolean
stop_held (GstBaseSrc * src)
{
  GstIioSrc *self = GST_IIO_SRC (src);

  destroy_buffer (self);
  g_clear_pointer (&self->iio, gst_iio_libiio_device_close);
  gst_iio_libiio_settings_clear (&self->active);
  GST_OBJECT_LOCK (self);
  gst_clear_caps (&self->offered);
  self->block_time = GST_CLOCK_TIME_NONE;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

/* stop(), with SIGPIPE held off (libiio and a vanished iiod) */
static gboolean
gst_iio_src_stop (GstBaseSrc * src)
{
  GstIioSigpipeGuard guard;
  gboolean ret;

  gst_iio_libiio_sigpipe_hold (&guard);
  ret = stop_held (src);
  gst_iio_libiio_sigpipe_release (&guard);
  return ret;
}

static GstCaps *
gst_iio_src_get_caps (GstBaseSrc * src, GstCaps * filter)
{
  GstIioSrc *self = GST_IIO_SRC (src);
  GstCaps *caps;

  GST_OBJECT_LOCK (self);
  caps = self->offered ? gst_caps_ref (self->offered) : NULL;
  GST_OBJECT_UNLOCK (self);
  if (!caps)
    caps = gst_pad_get_pad_template_caps (GST_BASE_SRC_PAD (src));
  return gst_iio_dmabuf_caps_filter (caps, filter);
}

/* The first choice left; the rate nearest the device's present one. */
static GstCaps *
gst_iio_src_fixate (GstBaseSrc * src, GstCaps * caps)
{
  GstIioSrc *self = GST_IIO_SRC (src);
  GstStructure *s;

  caps = gst_caps_make_writable (gst_caps_truncate (caps));
  s = gst_caps_get_structure (caps, 0);
  if (self->iio && self->iio->rate && gst_structure_has_field (s, "rate"))
    gst_structure_fixate_field_nearest_int (s, "rate", self->iio->rate);
  return GST_BASE_SRC_CLASS (parent_class)->fixate (src, caps);
}

/* Downstream chose a rate or a channel count: a new buffer for them. */
static gboolean
set_caps_held (GstBaseSrc * src, GstCaps * caps)
{
  GstIioSrc *self = GST_IIO_SRC (src);
  const GstStructure *s = gst_caps_get_structure (caps, 0);
  gint n = self->iio->channels->len, channels = n;
  gint rate = self->iio->rate;

  gst_structure_get_int (s, "rate", &rate);
  gst_structure_get_int (s, "channels", &channels);
  if (rate == (gint) self->iio->rate && channels == n)
    return TRUE;
  GST_DEBUG_OBJECT (self, "negotiated %d Hz, %d channels", rate, channels);
  /* an enabled buffer refuses a new rate */
  destroy_buffer (self);
  if (rate != (gint) self->iio->rate && rate > 0
      && !gst_iio_libiio_device_set_rate (GST_ELEMENT (self), self->iio, rate))
    return FALSE;
  if (channels != n && channels > 0
      && !gst_iio_libiio_device_select_first (self->iio, channels)) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("Downstream asked for %d "
            "channels of IIO device %s on '%s', which has %u enabled: remove "
            "channels= or name more", channels, self->iio->name,
            self->iio->context, self->iio->opened->len), (NULL));
    return FALSE;
  }
  update_block_time (self);
  return TRUE;
}

/* set_caps(), with SIGPIPE held off (libiio and a vanished iiod) */
static gboolean
gst_iio_src_set_caps (GstBaseSrc * src, GstCaps * caps)
{
  GstIioSigpipeGuard guard;
  gboolean ret;

  gst_iio_libiio_sigpipe_hold (&guard);
  ret = set_caps_held (src, caps);
  gst_iio_libiio_sigpipe_release (&guard);
  return ret;
}

static GstClockTime
block_duration (GstIioSrc * self)
{
  GstClockTime duration;

  GST_OBJECT_LOCK (self);
  duration = self->block_time;
  GST_OBJECT_UNLOCK (self);
  return duration;
}

/* A block waits in the converter until it is full: that much latency; the
 * kernel holds up to KERNEL_BLOCKS of them. */
static gboolean
gst_iio_src_query (GstBaseSrc * src, GstQuery * query)
{
  GstIioSrc *self = GST_IIO_SRC (src);
  GstClockTime duration;

  if (GST_QUERY_TYPE (query) != GST_QUERY_LATENCY)
    return GST_BASE_SRC_CLASS (parent_class)->query (src, query);
  duration = block_duration (self);
  if (!GST_CLOCK_TIME_IS_VALID (duration))
    return GST_BASE_SRC_CLASS (parent_class)->query (src, query);
  gst_query_set_latency (query, TRUE, duration, duration * KERNEL_BLOCKS);
  return TRUE;
}

/* Running time now, less one block: its first sample was taken then. */
static GstClockTime
first_block_time (GstIioSrc * self)
{
  GstClock *clock = gst_element_get_clock (GST_ELEMENT (self));
  GstClockTime now, base, duration = block_duration (self);

  if (!clock)
    return 0;
  now = gst_clock_get_time (clock);
  base = gst_element_get_base_time (GST_ELEMENT (self));
  gst_object_unref (clock);
  now = now > base ? now - base : 0;
  if (GST_CLOCK_TIME_IS_VALID (duration))
    now = now > duration ? now - duration : 0;
  return now;
}

/* Offsets count every sample delivered; times restart from the clock at
 * each new buffer, as the converter starts anew. */
static void
stamp (GstIioSrc * self, GstBuffer * buf, guint64 n)
{
  guint rate = self->iio->rate;
  guint64 since = self->samples - self->anchor;

  if (!GST_CLOCK_TIME_IS_VALID (self->first_pts))
    self->first_pts = first_block_time (self);
  GST_BUFFER_OFFSET (buf) = self->samples;
  GST_BUFFER_OFFSET_END (buf) = self->samples + n;
  if (rate) {
    GST_BUFFER_PTS (buf) = self->first_pts +
        gst_util_uint64_scale (since, GST_SECOND, rate);
    GST_BUFFER_DURATION (buf) = gst_util_uint64_scale (since + n,
        GST_SECOND, rate) - gst_util_uint64_scale (since, GST_SECOND, rate);
  } else if (since == 0) {
    GST_BUFFER_PTS (buf) = self->first_pts;
  }
  if (self->discont)
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
  self->discont = FALSE;
  self->samples += n;
}

/* A buffer for the first block, and a new one after a flush (unlock()
 * cancelled it) or new caps: the converter starts anew, so the stream is
 * discontinuous and its times are taken again. */
static gboolean
ensure_buffer (GstIioSrc * self)
{
  gboolean anew;

  GST_OBJECT_LOCK (self);
  anew = self->cancelled || self->paused;
  self->paused = FALSE;
  GST_OBJECT_UNLOCK (self);
  if (self->buffer && !anew)
    return TRUE;
  destroy_buffer (self);
  if (!create_buffer (self))
    return FALSE;
  if (self->samples > 0) {
    GST_OBJECT_LOCK (self);
    self->restarts++;
    GST_OBJECT_UNLOCK (self);
  }
  self->anchor = self->samples;
  self->first_pts = GST_CLOCK_TIME_NONE;
  self->discont = TRUE;
  GST_OBJECT_LOCK (self);
  self->settling = self->discard_blocks;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

/* The next block into libiio's buffer; FLUSHING when unlock() came. */
static GstFlowReturn
refill (GstIioSrc * self)
{
  gssize got = iio_buffer_refill (self->buffer);
  gboolean flushing;

  GST_OBJECT_LOCK (self);
  flushing = self->flushing;
  GST_OBJECT_UNLOCK (self);
  if (flushing)
    return GST_FLOW_FLUSHING;
  if (got < 0) {
    gst_iio_libiio_device_post_buffer_error (self->iio, (gint) - got,
        "iio_buffer_refill", FALSE);
    return GST_FLOW_ERROR;
  }
  return GST_FLOW_OK;
}

/* The blocks of the kernel's first two read() blocks after an enable may
 * come in the wrong order: they are dropped (discard-blocks, see
 * DEFAULT_DISCARD_BLOCKS). */
static GstFlowReturn
settle (GstIioSrc * self)
{
  GstFlowReturn ret = GST_FLOW_OK;

  while (self->settling > 0 && ret == GST_FLOW_OK) {
    ret = refill (self);
    if (ret != GST_FLOW_OK)
      break;
    self->settling--;
    GST_OBJECT_LOCK (self);
    self->discarded++;
    GST_OBJECT_UNLOCK (self);
  }
  return ret;
}

static GstFlowReturn
create_held (GstPushSrc * src, GstBuffer ** out)
{
  GstIioSrc *self = GST_IIO_SRC (src);
  GstFlowReturn ret;
  guint8 *start, *end;

  if (!ensure_buffer (self))
    return GST_FLOW_ERROR;
  ret = settle (self);
  if (ret == GST_FLOW_OK)
    ret = refill (self);
  if (ret != GST_FLOW_OK)
    return ret;
  start = iio_buffer_start (self->buffer);
  end = iio_buffer_end (self->buffer);
  /* the copy this path is: libiio owns its buffer and refills it next */
  *out = gst_buffer_new_memdup (start, end - start);
  stamp (self, *out, (end - start) / self->iio->scan_bytes);
  GST_OBJECT_LOCK (self);
  self->blocks++;
  self->bytes += end - start;
  GST_OBJECT_UNLOCK (self);
  GST_LOG_OBJECT (self, "block of %" G_GSIZE_FORMAT " bytes, pts %"
      GST_TIME_FORMAT, (gsize) (end - start),
      GST_TIME_ARGS (GST_BUFFER_PTS (*out)));
  return GST_FLOW_OK;
}

/* create(), with SIGPIPE held off (libiio and a vanished iiod) */
static GstFlowReturn
gst_iio_src_create (GstPushSrc * src, GstBuffer ** out)
{
  GstIioSigpipeGuard guard;
  GstFlowReturn ret;

  gst_iio_libiio_sigpipe_hold (&guard);
  ret = create_held (src, out);
  gst_iio_libiio_sigpipe_release (&guard);
  return ret;
}

/* The converter runs on while the element is paused and overruns the
 * kernel's buffer: at PLAYING again, libiio's buffer is made anew, so the
 * gap is a DISCONT with fresh times rather than a silent splice. */
static GstStateChangeReturn
gst_iio_src_change_state (GstElement * element, GstStateChange transition)
{
  GstIioSrc *self = GST_IIO_SRC (element);

  if (transition == GST_STATE_CHANGE_PLAYING_TO_PAUSED) {
    GST_OBJECT_LOCK (self);
    self->paused = TRUE;
    GST_OBJECT_UNLOCK (self);
  }
  return GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
}

static gboolean
gst_iio_src_unlock (GstBaseSrc * src)
{
  GstIioSrc *self = GST_IIO_SRC (src);

  GST_OBJECT_LOCK (self);
  self->flushing = TRUE;
  if (self->buffer && !self->cancelled) {
    iio_buffer_cancel (self->buffer);
    self->cancelled = TRUE;
  }
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static gboolean
gst_iio_src_unlock_stop (GstBaseSrc * src)
{
  GstIioSrc *self = GST_IIO_SRC (src);

  GST_OBJECT_LOCK (self);
  self->flushing = FALSE;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static GstStructure *
stats_structure (GstIioSrc * self)
{
  GstStructure *s;

  GST_OBJECT_LOCK (self);
  s = gst_structure_new ("application/x-iiosrc-stats",
      "blocks", G_TYPE_UINT64, self->blocks,
      "bytes", G_TYPE_UINT64, self->bytes,
      "copies", G_TYPE_UINT64, self->blocks,
      "restarts", G_TYPE_UINT64, self->restarts,
      "discarded", G_TYPE_UINT64, self->discarded, NULL);
  GST_OBJECT_UNLOCK (self);
  return s;
}

static void
gst_iio_src_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstIioSrc *self = GST_IIO_SRC (object);

  if (self->iio) {
    GST_WARNING_OBJECT (self, "%s cannot change while capturing", pspec->name);
    return;
  }
  GST_OBJECT_LOCK (self);
  if (gst_iio_libiio_settings_set (&self->settings, prop_id, value)) {
    GST_OBJECT_UNLOCK (self);
    return;
  }
  switch (prop_id) {
    case PROP_DISCARD_BLOCKS:
      self->discard_blocks = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_iio_src_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstIioSrc *self = GST_IIO_SRC (object);

  if (prop_id == PROP_STATS) {
    g_value_take_boxed (value, stats_structure (self));
    return;
  }
  GST_OBJECT_LOCK (self);
  if (gst_iio_libiio_settings_get (&self->settings, prop_id, value)) {
    GST_OBJECT_UNLOCK (self);
    return;
  }
  switch (prop_id) {
    case PROP_DISCARD_BLOCKS:
      g_value_set_uint (value, self->discard_blocks);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_iio_src_finalize (GObject * object)
{
  GstIioSrc *self = GST_IIO_SRC (object);

  gst_iio_libiio_settings_clear (&self->settings);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
install_properties (GObjectClass * gobject_class)
{
  guint i;

  gst_iio_libiio_settings_install (gobject_class, FALSE);
  /**
   * GstIioSrc:discard-blocks:
   *
   * Blocks dropped each time libiio's buffer is made (at start, after a
   * pause, a flush or new caps). Linux's IIO DMA buffer core (6.12 at
   * least) may deliver the first two blocks of its read() path out of
   * order after an earlier session; libiio makes each of them two of ours,
   * so the default drops four. 0 keeps them: for kfifo and triggered
   * buffers, which do not have the bug, and a slow trigger.
   */
  properties[PROP_DISCARD_BLOCKS] = g_param_spec_uint ("discard-blocks",
      "Discard blocks", "Blocks dropped after each start, as the kernel may "
      "deliver the first ones out of order (0: none)", 0, MAX_DISCARD_BLOCKS,
      DEFAULT_DISCARD_BLOCKS, GST_IIO_LIBIIO_SETTING);
  /**
   * GstIioSrc:stats:
   *
   * blocks, bytes, copies (every block is one: libiio's buffer is copied
   * into each GstBuffer), restarts (new buffers after a flush or new caps:
   * the stream is discontinuous there), discarded (blocks dropped after
   * each start, as the kernel may deliver them out of order).
   */
  properties[PROP_STATS] = g_param_spec_boxed ("stats", "Statistics",
      "Blocks, bytes, copies, restarts, discarded", GST_TYPE_STRUCTURE,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /* ours only: the shared settings come before them */
  for (i = PROP_FIRST + 1; i < N_PROPERTIES; i++)
    g_object_class_install_property (gobject_class, i, properties[i]);
}

static void
gst_iio_src_class_init (GstIioSrcClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSrcClass *basesrc_class = GST_BASE_SRC_CLASS (klass);
  GstPushSrcClass *pushsrc_class = GST_PUSH_SRC_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_iio_src_debug, "iiosrc", 0,
      "IIO source through libiio");

  gobject_class->set_property = gst_iio_src_set_property;
  gobject_class->get_property = gst_iio_src_get_property;
  gobject_class->finalize = gst_iio_src_finalize;
  install_properties (gobject_class);

  element_class->change_state = GST_DEBUG_FUNCPTR (gst_iio_src_change_state);
  basesrc_class->start = GST_DEBUG_FUNCPTR (gst_iio_src_start);
  basesrc_class->stop = GST_DEBUG_FUNCPTR (gst_iio_src_stop);
  basesrc_class->get_caps = GST_DEBUG_FUNCPTR (gst_iio_src_get_caps);
  basesrc_class->fixate = GST_DEBUG_FUNCPTR (gst_iio_src_fixate);
  basesrc_class->set_caps = GST_DEBUG_FUNCPTR (gst_iio_src_set_caps);
  basesrc_class->query = GST_DEBUG_FUNCPTR (gst_iio_src_query);
  basesrc_class->unlock = GST_DEBUG_FUNCPTR (gst_iio_src_unlock);
  basesrc_class->unlock_stop = GST_DEBUG_FUNCPTR (gst_iio_src_unlock_stop);
  pushsrc_class->create = GST_DEBUG_FUNCPTR (gst_iio_src_create);

  gst_element_class_add_pad_template (element_class,
      gst_pad_template_new ("src", GST_PAD_SRC, GST_PAD_ALWAYS,
          gst_iio_dmabuf_caps_template ()));
  gst_element_class_set_static_metadata (element_class,
      "IIO source (libiio)", "Source/Hardware",
      "Captures from an IIO device through libiio, local or remote over "
      "iiod; copies every block", "gst-iiodmabuf developers");
}

static void
gst_iio_src_init (GstIioSrc * self)
{
  gst_iio_libiio_settings_init (&self->settings);
  self->discard_blocks = DEFAULT_DISCARD_BLOCKS;
  self->first_pts = GST_CLOCK_TIME_NONE;
  self->block_time = GST_CLOCK_TIME_NONE;
  gst_base_src_set_live (GST_BASE_SRC (self), TRUE);
  gst_base_src_set_format (GST_BASE_SRC (self), GST_FORMAT_TIME);
}
