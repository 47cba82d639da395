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
 * byte-aligned channels, application/x-iio otherwise.
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
  PROP_STATS,
  N_PROPERTIES
};

static GParamSpec *properties[N_PROPERTIES];

struct _GstIioSrc
{
  GstPushSrc parent;

  /* settings, object lock */
  GstIioLibiioSettings settings;

  /* streaming: set up in start(), gone in stop() */
  struct iio_context *ctx;
  struct iio_device *dev;
  struct iio_buffer *buffer;    /* object lock: unlock() cancels it */
  gboolean flushing;            /* object lock */
  gboolean cancelled;           /* buffer cancelled: make a new one */
  GstCaps *caps;
  guint rate;                   /* Hz, 0 when the device does not say */
  gsize scan_bytes;
  guint64 samples;              /* delivered since start */
  GstClockTime first_pts;

  /* object lock */
  guint64 blocks, bytes;
};

#define gst_iio_src_parent_class parent_class
G_DEFINE_TYPE (GstIioSrc, gst_iio_src, GST_TYPE_PUSH_SRC);
GST_ELEMENT_REGISTER_DEFINE (iiosrc, "iiosrc", GST_RANK_NONE, GST_TYPE_IIO_SRC);

static const gchar *
context_name (GstIioSrc * self)
{
  return gst_iio_libiio_context_name (&self->settings);
}

static void
post_busy_or_error (GstIioSrc * self, gint err, const gchar * what)
{
  gchar *msg = gst_iio_libiio_strerror (err);

  if (err == EBUSY)
    GST_ELEMENT_ERROR (self, RESOURCE, BUSY,
        ("The buffer of IIO device %s is busy on '%s': another program "
            "captures from it there", self->settings.device,
            context_name (self)), ("%s: %s", what, msg));
  else
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("Cannot open the buffer of IIO device %s on '%s': %s",
            self->settings.device, context_name (self), msg), ("%s", what));
  g_free (msg);
}

static gboolean
create_buffer (GstIioSrc * self)
{
  struct iio_buffer *buffer;

  errno = 0;
  buffer =
      iio_device_create_buffer (self->dev, self->settings.samples_per_block,
      false);
  if (!buffer) {
    post_busy_or_error (self, errno ? errno : EIO, "iio_device_create_buffer");
    return FALSE;
  }
  GST_OBJECT_LOCK (self);
  self->buffer = buffer;
  self->cancelled = FALSE;
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

static gboolean
gst_iio_src_start (GstBaseSrc * src)
{
  GstIioSrc *self = GST_IIO_SRC (src);
  GArray *chosen;

  chosen = gst_iio_libiio_open (GST_ELEMENT (self), &self->settings, FALSE,
      &self->ctx, &self->dev, &self->rate);
  if (!chosen)
    goto failed;
  self->caps = gst_iio_libiio_caps (chosen, self->rate);
  g_array_free (chosen, TRUE);
  self->scan_bytes = iio_device_get_sample_size (self->dev);
  GST_DEBUG_OBJECT (self, "caps %" GST_PTR_FORMAT ", %" G_GSIZE_FORMAT
      " bytes a scan", self->caps, self->scan_bytes);
  if (!create_buffer (self))
    goto failed;
  self->samples = 0;
  self->first_pts = GST_CLOCK_TIME_NONE;
  GST_OBJECT_LOCK (self);
  self->blocks = self->bytes = 0;
  GST_OBJECT_UNLOCK (self);
  return TRUE;

failed:
  GST_BASE_SRC_GET_CLASS (src)->stop (src);
  return FALSE;
}

static gboolean
gst_iio_src_stop (GstBaseSrc * src)
{
  GstIioSrc *self = GST_IIO_SRC (src);

  destroy_buffer (self);
  g_clear_pointer (&self->ctx, iio_context_destroy);
  self->dev = NULL;
  gst_clear_caps (&self->caps);
  return TRUE;
}

static GstCaps *
gst_iio_src_get_caps (GstBaseSrc * src, GstCaps * filter)
{
  GstIioSrc *self = GST_IIO_SRC (src);
  GstCaps *caps;

  if (self->caps)
    caps = gst_caps_ref (self->caps);
  else
    caps = gst_pad_get_pad_template_caps (GST_BASE_SRC_PAD (src));
  if (filter) {
    GstCaps *tmp = gst_caps_intersect_full (filter, caps,
        GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref (caps);
    caps = tmp;
  }
  return caps;
}

static GstClockTime
block_duration (GstIioSrc * self)
{
  if (!self->rate)
    return GST_CLOCK_TIME_NONE;
  return gst_util_uint64_scale (self->settings.samples_per_block, GST_SECOND,
      self->rate);
}

/* A block waits in the converter until it is full: that much latency. */
static gboolean
gst_iio_src_query (GstBaseSrc * src, GstQuery * query)
{
  GstIioSrc *self = GST_IIO_SRC (src);
  GstClockTime duration = block_duration (self);

  if (GST_QUERY_TYPE (query) != GST_QUERY_LATENCY || !self->caps
      || !GST_CLOCK_TIME_IS_VALID (duration))
    return GST_BASE_SRC_CLASS (parent_class)->query (src, query);
  gst_query_set_latency (query, TRUE, duration, duration);
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

static void
stamp (GstIioSrc * self, GstBuffer * buf, guint64 n)
{
  if (!GST_CLOCK_TIME_IS_VALID (self->first_pts))
    self->first_pts = first_block_time (self);
  GST_BUFFER_OFFSET (buf) = self->samples;
  GST_BUFFER_OFFSET_END (buf) = self->samples + n;
  if (self->rate) {
    GST_BUFFER_PTS (buf) = self->first_pts +
        gst_util_uint64_scale (self->samples, GST_SECOND, self->rate);
    GST_BUFFER_DURATION (buf) = gst_util_uint64_scale (self->samples + n,
        GST_SECOND, self->rate) - gst_util_uint64_scale (self->samples,
        GST_SECOND, self->rate);
  } else if (self->samples == 0) {
    GST_BUFFER_PTS (buf) = self->first_pts;
  }
  if (self->samples == 0)
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
  self->samples += n;
}

static void
post_refill_error (GstIioSrc * self, gint err)
{
  gchar *msg = gst_iio_libiio_strerror (err);

  if (err == ETIMEDOUT)
    GST_ELEMENT_ERROR (self, RESOURCE, READ,
        ("IIO device %s on '%s' delivered no block within %" G_GUINT64_FORMAT
            " ms: is it sampling (trigger, sampling-frequency)?",
            self->settings.device, context_name (self),
            self->settings.timeout / GST_MSECOND), ("iio_buffer_refill: %s",
            msg));
  else if (err == EBUSY)
    post_busy_or_error (self, err, "iio_buffer_refill");
  else
    GST_ELEMENT_ERROR (self, RESOURCE, READ,
        ("Lost IIO device %s on '%s': %s. Did iiod stop or the connection "
            "drop?", self->settings.device, context_name (self), msg),
        ("iio_buffer_refill: %s", msg));
  g_free (msg);
}

/* After a flush, unlock() has cancelled the buffer: libiio needs a new
 * one. */
static gboolean
ensure_buffer (GstIioSrc * self)
{
  gboolean cancelled;

  GST_OBJECT_LOCK (self);
  cancelled = self->cancelled;
  GST_OBJECT_UNLOCK (self);
  if (!cancelled)
    return TRUE;
  destroy_buffer (self);
  return create_buffer (self);
}

static GstFlowReturn
gst_iio_src_create (GstPushSrc * src, GstBuffer ** out)
{
  GstIioSrc *self = GST_IIO_SRC (src);
  gssize got;
  gboolean flushing;
  guint8 *start, *end;

  if (!ensure_buffer (self))
    return GST_FLOW_ERROR;
  got = iio_buffer_refill (self->buffer);
  GST_OBJECT_LOCK (self);
  flushing = self->flushing;
  GST_OBJECT_UNLOCK (self);
  if (flushing)
    return GST_FLOW_FLUSHING;
  if (got < 0)
    goto refill_failed;
  start = iio_buffer_start (self->buffer);
  end = iio_buffer_end (self->buffer);
  /* the copy this path is: libiio owns its buffer and refills it next */
  *out = gst_buffer_new_memdup (start, end - start);
  stamp (self, *out, self->scan_bytes ? (end - start) / self->scan_bytes : 0);
  GST_OBJECT_LOCK (self);
  self->blocks++;
  self->bytes += end - start;
  GST_OBJECT_UNLOCK (self);
  GST_LOG_OBJECT (self, "block of %" G_GSIZE_FORMAT " bytes, pts %"
      GST_TIME_FORMAT, (gsize) (end - start),
      GST_TIME_ARGS (GST_BUFFER_PTS (*out)));
  return GST_FLOW_OK;

  /* ERRORS */
refill_failed:
  post_refill_error (self, (gint) - got);
  return GST_FLOW_ERROR;
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
      "copies", G_TYPE_UINT64, self->blocks, NULL);
  GST_OBJECT_UNLOCK (self);
  return s;
}

static void
gst_iio_src_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstIioSrc *self = GST_IIO_SRC (object);

  if (self->ctx) {
    GST_WARNING_OBJECT (self, "%s cannot change while capturing", pspec->name);
    return;
  }
  GST_OBJECT_LOCK (self);
  if (gst_iio_libiio_settings_set (&self->settings, prop_id, value)) {
    GST_OBJECT_UNLOCK (self);
    return;
  }
  switch (prop_id) {
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
   * GstIioSrc:stats:
   *
   * blocks, bytes, copies (every block is one: libiio's buffer is copied
   * into each GstBuffer).
   */
  properties[PROP_STATS] = g_param_spec_boxed ("stats", "Statistics",
      "Blocks, bytes, copies", GST_TYPE_STRUCTURE,
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

  basesrc_class->start = GST_DEBUG_FUNCPTR (gst_iio_src_start);
  basesrc_class->stop = GST_DEBUG_FUNCPTR (gst_iio_src_stop);
  basesrc_class->get_caps = GST_DEBUG_FUNCPTR (gst_iio_src_get_caps);
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
  self->first_pts = GST_CLOCK_TIME_NONE;
  gst_base_src_set_live (GST_BASE_SRC (self), TRUE);
  gst_base_src_set_format (GST_BASE_SRC (self), GST_FORMAT_TIME);
}
