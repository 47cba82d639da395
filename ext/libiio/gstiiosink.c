/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:element-iiosink
 * @title: iiosink
 *
 * Plays to an IIO output device (a DAC) through libiio, on this machine
 * (`local:`) or another one (`ip:HOST`, served by iiod; `usb:`, `serial:`).
 * Incoming buffers are copied into libiio's buffer, which goes to the
 * converter when it holds #GstIioSink:samples-per-block scans: a copy path
 * by nature; iiodmabufsink is the zero-copy one for local converters. It
 * takes the caps iiodmabufsink takes, from the same code.
 *
 * At EOS the last, partial block is filled with silence (zeros) and played
 * whole: the kernel's write() path only plays whole blocks, so a partial
 * push would never reach the converter. EOS is posted once the converter
 * has played it (the kernel's buffer is all free space again), so a pipeline
 * stopped at EOS cuts nothing off.
 *
 * The sink takes the caps iiodmabufsink takes, at any rate in the device's
 * sampling_frequency_available: the stream's rate is written to the
 * device, and put back at stop with the #GstIioSink:attributes written.
 *
 * With #GstIioSink:cyclic the first buffer is repeated until the element
 * stops; later buffers are dropped (counted as dropped) and EOS is not
 * posted, as with iiodmabufsink and `iio_writedev -c`. libiio repeats a
 * cyclic buffer only where the kernel does (ADI's high-speed interface);
 * elsewhere (mainline's write() path, where libiio refuses cyclic buffers)
 * the element pushes the waveform again and again from a thread of its own.
 *
 * |[
 * gst-launch-1.0 audiotestsrc num-buffers=100 \
 *     ! audio/x-raw,format=S16LE,channels=2,rate=48000 \
 *     ! iiosink uri=ip:192.0.2.1 device=iio-sim-dac
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstiiosink.h"
#include "gstiiolibiiocommon.h"
#include "gstiiodmabufcaps.h"

#include <errno.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (gst_iio_sink_debug);
#define GST_CAT_DEFAULT gst_iio_sink_debug

#define DEFAULT_CYCLIC FALSE
/* A cyclic block holds the waveform as often as it takes to last this long
 * (CYCLIC_MIN_BYTES at an unknown rate), so that repeating it in software
 * keeps up; as iiodmabufsink does. */
#define CYCLIC_MIN_DURATION (50 * GST_MSECOND)
#define CYCLIC_MIN_BYTES (64 * 1024)
#define CYCLIC_MAX_BYTES (16 * 1024 * 1024)

enum
{
  PROP_FIRST = GST_IIO_LIBIIO_N_SETTINGS - 1,
  PROP_CYCLIC,
  PROP_STATS,
  N_PROPERTIES
};

static GParamSpec *properties[N_PROPERTIES];

typedef enum
{
  CYCLIC_NONE,
  CYCLIC_HARDWARE,
  CYCLIC_SOFTWARE
} CyclicMode;

struct _GstIioSink
{
  GstBaseSink parent;

  /* settings, object lock */
  GstIioLibiioSettings settings;
  gboolean cyclic;

  /* streaming: set up in start(), gone in stop() */
  GstIioLibiioDevice *iio;
  GstIioLibiioSettings active;  /* the settings start() took */
  gboolean active_cyclic;
  GstCaps *offered;             /* object lock */
  struct iio_buffer *buffer;    /* object lock: unlock() cancels it */
  gboolean flushing;            /* object lock */
  gboolean cancelled;           /* object lock: buffer cancelled, make anew */
  GCond cond;                   /* object lock: flushing */
  gsize block_bytes;
  gint64 idle_bytes;            /* free in the kernel's buffer when idle */
  gsize fill;                   /* bytes in libiio's buffer not yet pushed */

  /* cyclic output */
  GstBuffer *wave;
  guint wave_times;
  GThread *repeater;            /* object lock */
  gboolean stopping;            /* object lock: the repeater ends */

  /* object lock */
  CyclicMode cyclic_mode;
  guint64 blocks, bytes, copies, dropped;
};

#define gst_iio_sink_parent_class parent_class
G_DEFINE_TYPE (GstIioSink, gst_iio_sink, GST_TYPE_BASE_SINK);
GST_ELEMENT_REGISTER_DEFINE (iiosink, "iiosink", GST_RANK_NONE,
    GST_TYPE_IIO_SINK);

static gint
create_buffer (GstIioSink * self, gsize scans, gboolean cyclic)
{
  struct iio_buffer *buffer;
  gboolean flush;
  gint ret;

  /* the kernel's write() path splits its buffer in two blocks and plays a
   * block once full: two of ours make each of its blocks one of ours */
  ret = iio_device_set_kernel_buffers_count (self->iio->dev, 2);
  if (ret < 0)
    GST_WARNING_OBJECT (self, "cannot set the kernel's buffer count: %d", ret);
  errno = 0;
  buffer = iio_device_create_buffer (self->iio->dev, scans, cyclic);
  if (!buffer)
    return errno ? errno : EIO;
  /* a flush while it was being made found nothing to cancel */
  flush = GST_PAD_IS_FLUSHING (GST_BASE_SINK_PAD (self));
  GST_OBJECT_LOCK (self);
  self->buffer = buffer;
  self->cancelled = flush && self->flushing;
  if (self->cancelled)
    iio_buffer_cancel (buffer);
  GST_OBJECT_UNLOCK (self);
  self->fill = 0;
  return 0;
}

static void
destroy_buffer (GstIioSink * self)
{
  struct iio_buffer *buffer;

  GST_OBJECT_LOCK (self);
  buffer = self->buffer;
  self->buffer = NULL;
  GST_OBJECT_UNLOCK (self);
  if (buffer)
    iio_buffer_destroy (buffer);
}

static gint64 kernel_free_bytes (GstIioSink * self);

/* The kernel's buffer is all free space when made: what the drain waits
 * for (two blocks of ours where libiio set the count). */
static gboolean
open_block_buffer (GstIioSink * self)
{
  gint err = create_buffer (self, self->active.samples_per_block, FALSE);

  if (err) {
    gst_iio_libiio_device_post_buffer_error (self->iio, err,
        "iio_device_create_buffer", TRUE);
    return FALSE;
  }
  self->idle_bytes = kernel_free_bytes (self);
  GST_DEBUG_OBJECT (self, "the kernel's buffer has %" G_GINT64_FORMAT
      " bytes free", self->idle_bytes);
  return TRUE;
}

/* The caps of the enabled channels at any rate the device offers, with
 * and without positions. */
static GstCaps *
offered_caps (GstIioSink * self)
{
  GValue rates = G_VALUE_INIT;
  /* the rate is written only to a device that says its rate */
  gboolean have_rates = !self->active.sampling_frequency && self->iio->rate
      && gst_iio_libiio_device_rates (self->iio, &rates);
  GstCaps *caps = gst_iio_libiio_device_offered (self->iio,
      have_rates ? &rates : NULL, FALSE);

  if (have_rates)
    g_value_unset (&rates);
  return gst_iio_dmabuf_caps_allow_positions (caps);
}

/* The buffer is made at the first buffer, once the caps have set the
 * rate: an enabled buffer refuses a new one. */
static gboolean
start_held (GstBaseSink * sink)
{
  GstIioSink *self = GST_IIO_SINK (sink);
  GstCaps *offered;

  GST_OBJECT_LOCK (self);
  gst_iio_libiio_settings_copy (&self->active, &self->settings);
  self->active_cyclic = self->cyclic;
  GST_OBJECT_UNLOCK (self);
  self->iio = gst_iio_libiio_device_open (GST_ELEMENT (self), &self->active,
      TRUE);
  if (!self->iio)
    goto failed;
  offered = offered_caps (self);
  self->block_bytes = self->iio->scan_bytes * self->active.samples_per_block;
  self->fill = 0;
  GST_DEBUG_OBJECT (self, "offers %" GST_PTR_FORMAT ", %" G_GSIZE_FORMAT
      " bytes a scan", offered, self->iio->scan_bytes);
  GST_OBJECT_LOCK (self);
  self->offered = offered;
  self->blocks = self->bytes = self->copies = self->dropped = 0;
  self->cyclic_mode = CYCLIC_NONE;
  self->stopping = FALSE;
  GST_OBJECT_UNLOCK (self);
  return TRUE;

failed:
  GST_BASE_SINK_GET_CLASS (sink)->stop (sink);
  return FALSE;
}

/* start(), with SIGPIPE held off (libiio and a vanished iiod) */
static gboolean
gst_iio_sink_start (GstBaseSink * sink)
{
  GstIioSigpipeGuard guard;
  gboolean ret;

  gst_iio_libiio_sigpipe_hold (&guard);
  ret = start_held (sink);
  gst_iio_libiio_sigpipe_release (&guard);
  return ret;
}

static gboolean
stop_held (GstBaseSink * sink)
{
  GstIioSink *self = GST_IIO_SINK (sink);
  GThread *repeater;

  GST_OBJECT_LOCK (self);
  self->stopping = TRUE;
  if (self->buffer && self->repeater && !self->cancelled) {
    iio_buffer_cancel (self->buffer);
    self->cancelled = TRUE;
  }
  repeater = g_steal_pointer (&self->repeater);
  GST_OBJECT_UNLOCK (self);
  g_clear_pointer (&repeater, g_thread_join);
  destroy_buffer (self);
  g_clear_pointer (&self->iio, gst_iio_libiio_device_close);
  gst_iio_libiio_settings_clear (&self->active);
  gst_clear_buffer (&self->wave);
  GST_OBJECT_LOCK (self);
  gst_clear_caps (&self->offered);
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

/* stop(), with SIGPIPE held off (libiio and a vanished iiod) */
static gboolean
gst_iio_sink_stop (GstBaseSink * sink)
{
  GstIioSigpipeGuard guard;
  gboolean ret;

  gst_iio_libiio_sigpipe_hold (&guard);
  ret = stop_held (sink);
  gst_iio_libiio_sigpipe_release (&guard);
  return ret;
}

static GstCaps *
gst_iio_sink_get_caps (GstBaseSink * sink, GstCaps * filter)
{
  GstIioSink *self = GST_IIO_SINK (sink);
  GstCaps *caps;

  GST_OBJECT_LOCK (self);
  caps = self->offered ? gst_caps_ref (self->offered) : NULL;
  GST_OBJECT_UNLOCK (self);
  if (!caps)
    caps = gst_pad_get_pad_template_caps (GST_BASE_SINK_PAD (sink));
  return gst_iio_dmabuf_caps_filter (caps, filter);
}

static GstFlowReturn finish_blocks (GstIioSink * self);

/* The stream's rate becomes the converter's, where it differs: what is
 * queued at the old rate plays first. */
static gboolean
set_rate (GstIioSink * self, GstCaps * caps)
{
  guint rate = 0;

  if (!gst_iio_dmabuf_caps_parse_rate (caps, &rate) || !self->iio->rate
      || rate == self->iio->rate)
    return TRUE;
  if (self->buffer) {
    if (finish_blocks (self) != GST_FLOW_OK)
      return FALSE;
    destroy_buffer (self);
  }
  return gst_iio_libiio_device_set_rate (GST_ELEMENT (self), self->iio, rate);
}

static gboolean
set_caps_held (GstBaseSink * sink, GstCaps * caps)
{
  GstIioSink *self = GST_IIO_SINK (sink);
  gchar *got, *need;
  GstCaps *first, *want;

  if (self->wave)
    return TRUE;                /* the waveform plays on as it is */
  if (!set_rate (self, caps))
    return FALSE;
  want = gst_iio_dmabuf_caps_allow_positions (gst_iio_libiio_device_offered
      (self->iio, NULL, FALSE));
  if (gst_caps_can_intersect (caps, want)) {
    gst_caps_unref (want);
    return TRUE;
  }
  got = gst_caps_to_string (caps);
  first = gst_caps_copy_nth (want, 0);
  need = gst_caps_to_string (first);
  GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("The stream does not fit IIO "
          "device %s: it sends %s, the device's enabled channels take %s. "
          "Convert before the sink (audioconvert, audioresample) or choose "
          "the channels with channels=", self->iio->name, got, need), (NULL));
  gst_caps_unref (first);
  gst_caps_unref (want);
  g_free (got);
  g_free (need);
  return FALSE;
}

/* set_caps(), with SIGPIPE held off (libiio and a vanished iiod) */
static gboolean
gst_iio_sink_set_caps (GstBaseSink * sink, GstCaps * caps)
{
  GstIioSigpipeGuard guard;
  gboolean ret;

  gst_iio_libiio_sigpipe_hold (&guard);
  ret = set_caps_held (sink, caps);
  gst_iio_libiio_sigpipe_release (&guard);
  return ret;
}

/* A buffer for the first block, and a new one after a flush: unlock() has
 * cancelled the old one (what it held is flushed too). */
static gboolean
ensure_buffer (GstIioSink * self)
{
  gboolean cancelled;

  GST_OBJECT_LOCK (self);
  cancelled = self->cancelled;
  GST_OBJECT_UNLOCK (self);
  if (self->buffer && !cancelled)
    return TRUE;
  destroy_buffer (self);
  return open_block_buffer (self);
}

static gboolean
is_flushing (GstIioSink * self)
{
  gboolean flushing;

  GST_OBJECT_LOCK (self);
  flushing = self->flushing || self->stopping;
  GST_OBJECT_UNLOCK (self);
  return flushing;
}

/* unlock() came: a pause waits here until PLAYING and goes on where it
 * was; a flush or a stop ends here (FLUSHING). Called with the preroll lock
 * held, from render() or event(). */
static GstFlowReturn
wait_if_paused (GstIioSink * self)
{
  GstFlowReturn ret = GST_FLOW_OK;

  if (is_flushing (self)) {
    GST_DEBUG_OBJECT (self, "paused or flushing");
    ret = gst_base_sink_wait_preroll (GST_BASE_SINK (self));
  }
  if (ret == GST_FLOW_OK && !ensure_buffer (self))
    return GST_FLOW_ERROR;
  return ret;
}

/* libiio's buffer is full: to the converter. FLUSHING when a flush or a
 * stop cancelled the push. */
static GstFlowReturn
push_block (GstIioSink * self)
{
  gboolean cancelled;
  gssize ret;

  ret = iio_buffer_push (self->buffer);
  GST_OBJECT_LOCK (self);
  cancelled = self->cancelled;
  if (ret >= 0)
    self->blocks++;
  GST_OBJECT_UNLOCK (self);
  self->fill = 0;
  if (ret >= 0) {
    GST_LOG_OBJECT (self, "block of %" G_GSIZE_FORMAT " bytes pushed",
        self->block_bytes);
    return GST_FLOW_OK;
  }
  if (cancelled)
    return GST_FLOW_FLUSHING;
  gst_iio_libiio_device_post_buffer_error (self->iio, (gint) - ret,
      "iio_buffer_push", FALSE);
  return GST_FLOW_ERROR;
}

/* Copies @buf into blocks, pushing each as it fills. */
static GstFlowReturn
play_copy (GstIioSink * self, GstBuffer * buf)
{
  gsize size = gst_buffer_get_size (buf), done = 0, n;
  GstFlowReturn ret = GST_FLOW_OK;
  guint8 *start;

  while (done < size) {
    ret = wait_if_paused (self);
    if (ret != GST_FLOW_OK)
      break;
    start = iio_buffer_start (self->buffer);
    n = MIN (size - done, self->block_bytes - self->fill);
    gst_buffer_extract (buf, done, start + self->fill, n);
    self->fill += n;
    done += n;
    if (self->fill == self->block_bytes)
      ret = push_block (self);
    if (ret != GST_FLOW_OK)
      break;
  }
  GST_OBJECT_LOCK (self);
  self->copies++;
  self->bytes += done;
  GST_OBJECT_UNLOCK (self);
  return ret;
}

/* The partial block, filled with silence, so the converter plays it. */
static GstFlowReturn
play_tail (GstIioSink * self)
{
  guint8 *start;

  if (self->fill == 0)
    return GST_FLOW_OK;
  start = iio_buffer_start (self->buffer);
  memset (start + self->fill, 0, self->block_bytes - self->fill);
  GST_DEBUG_OBJECT (self, "last block: %" G_GSIZE_FORMAT " bytes of "
      "silence after %" G_GSIZE_FORMAT, self->block_bytes - self->fill,
      self->fill);
  return push_block (self);
}

/* Free space in the kernel's buffer, in bytes (the output buffer's
 * data_available), or -1 if the device does not say. */
static gint64
kernel_free_bytes (GstIioSink * self)
{
  long long value = 0;

  if (iio_device_buffer_attr_read_longlong (self->iio->dev, "data_available",
          &value) < 0)
    return -1;
  return value;
}

/* Sleeps @us unless a flush comes: FALSE then. */
static gboolean
wait_unless_flushing (GstIioSink * self, gint64 us)
{
  gint64 until = g_get_monotonic_time () + us;
  gboolean flushing;

  GST_OBJECT_LOCK (self);
  while (!(flushing = self->flushing || self->stopping)
      && g_cond_wait_until (&self->cond, GST_OBJECT_GET_LOCK (self), until));
  GST_OBJECT_UNLOCK (self);
  return !flushing;
}

/* libiio has taken the last block, the converter has not played it: wait
 * until the kernel's buffer is all free space again, or, where the kernel
 * does not say, for as long as its blocks take to play. Going to NULL
 * before would cut them off. */
static GstFlowReturn
drain (GstIioSink * self)
{
  gint64 deadline = g_get_monotonic_time () + self->active.timeout / 1000;
  gint64 idle = self->idle_bytes, free_bytes;
  gint64 block_us = self->iio->rate ? gst_util_uint64_scale
      (self->active.samples_per_block, G_USEC_PER_SEC, self->iio->rate) : 0;
  GstFlowReturn ret;

  while ((free_bytes = kernel_free_bytes (self)) >= 0 && free_bytes < idle) {
    if (g_get_monotonic_time () > deadline)
      goto timeout;
    if (!wait_unless_flushing (self, CLAMP (block_us / 4, 1000, 50000))
        && (ret = wait_if_paused (self)) != GST_FLOW_OK)
      return ret;
  }
  if (free_bytes < 0 && !wait_unless_flushing (self, 2 * block_us))
    return wait_if_paused (self);
  GST_DEBUG_OBJECT (self, "the converter played every block");
  return GST_FLOW_OK;

timeout:
  GST_ELEMENT_WARNING (self, RESOURCE, WRITE, ("IIO device %s on '%s' did "
          "not play its last blocks within %" G_GUINT64_FORMAT " ms: the end "
          "may be cut off. Is it playing (sampling-frequency)?",
          self->iio->name, self->iio->context,
          self->active.timeout / GST_MSECOND), (NULL));
  return GST_FLOW_OK;
}

/* What the sink holds goes to the converter and is played: at EOS, before
 * a new rate. */
static GstFlowReturn
finish_blocks (GstIioSink * self)
{
  GstFlowReturn ret;

  if (!self->buffer)
    return GST_FLOW_OK;
  ret = wait_if_paused (self);
  if (ret == GST_FLOW_OK)
    ret = play_tail (self);
  if (ret == GST_FLOW_OK)
    ret = drain (self);
  return ret;
}

/* How often the waveform goes in a block: enough to last
 * CYCLIC_MIN_DURATION (CYCLIC_MIN_BYTES at an unknown rate). */
static guint
cyclic_times (GstIioSink * self, gsize size)
{
  guint64 want = self->iio->rate ? gst_util_uint64_scale (CYCLIC_MIN_DURATION,
      (guint64) self->iio->scan_bytes * self->iio->rate, GST_SECOND) :
      CYCLIC_MIN_BYTES;
  guint64 times = (want + size - 1) / size;

  return (guint) CLAMP (times, 1, MAX (CYCLIC_MAX_BYTES / size, 1));
}

static void
fill_waves (GstIioSink * self)
{
  guint8 *start = iio_buffer_start (self->buffer);
  gsize size = gst_buffer_get_size (self->wave);
  guint i;

  for (i = 0; i < self->wave_times; i++)
    gst_buffer_extract (self->wave, 0, start + i * size, size);
}

/* The repeater goes on through flushes and pauses, as a cyclic buffer in
 * the converter would; stop() cancels its buffer. */
static gboolean
is_stopping (GstIioSink * self)
{
  gboolean stopping;

  GST_OBJECT_LOCK (self);
  stopping = self->stopping;
  GST_OBJECT_UNLOCK (self);
  return stopping;
}

/* Software repeat: the same block again as soon as libiio takes it. */
static gpointer
repeat_waves (gpointer data)
{
  GstIioSink *self = data;
  GstIioSigpipeGuard guard;
  gssize ret;

  gst_iio_libiio_sigpipe_hold (&guard);
  do {
    fill_waves (self);
    ret = iio_buffer_push (self->buffer);
    if (ret >= 0) {
      GST_OBJECT_LOCK (self);
      self->blocks++;
      GST_OBJECT_UNLOCK (self);
    }
  } while (ret >= 0 && !is_stopping (self));
  if (ret < 0 && !is_stopping (self))
    gst_iio_libiio_device_post_buffer_error (self->iio, (gint) - ret,
        "iio_buffer_push", FALSE);
  gst_iio_libiio_sigpipe_release (&guard);
  return NULL;
}

/* A cyclic buffer of @scans: 0, or the errno of libiio's refusal. */
static gint
push_cyclic (GstIioSink * self, gsize scans)
{
  gssize ret;
  gint err = create_buffer (self, scans, TRUE);

  if (err)
    return err;
  fill_waves (self);
  ret = iio_buffer_push (self->buffer);
  if (ret >= 0)
    return 0;
  destroy_buffer (self);
  return (gint) - ret;
}

/* The repeater's buffer is cancelled only by stop(): unlock() leaves a
 * buffer alone once the repeater is set, so both are set under the lock
 * unlock() takes. */
static gint
start_repeater (GstIioSink * self, gsize scans)
{
  struct iio_buffer *buffer;

  errno = 0;
  buffer = iio_device_create_buffer (self->iio->dev, scans, false);
  if (!buffer)
    return errno ? errno : EIO;
  GST_OBJECT_LOCK (self);
  self->buffer = buffer;
  self->cancelled = FALSE;
  self->cyclic_mode = CYCLIC_SOFTWARE;
  self->repeater = g_thread_new ("iiosink-cyclic", repeat_waves, self);
  GST_OBJECT_UNLOCK (self);
  return 0;
}

static GstFlowReturn
play_cyclic (GstIioSink * self, GstBuffer * wave)
{
  gsize size = gst_buffer_get_size (wave), scans;
  gint err;

  if (size % self->iio->scan_bytes)
    goto not_whole;
  self->wave = gst_buffer_ref (wave);
  self->wave_times = cyclic_times (self, size);
  scans = size * self->wave_times / self->iio->scan_bytes;
  err = push_cyclic (self, scans);
  GST_DEBUG_OBJECT (self, "cyclic buffer of %" G_GSIZE_FORMAT " scans: %s",
      scans, err ? g_strerror (err) : "repeated by the remote");
  if (!err) {
    GST_OBJECT_LOCK (self);
    self->cyclic_mode = CYCLIC_HARDWARE;
    self->blocks++;
    GST_OBJECT_UNLOCK (self);
    return GST_FLOW_OK;
  }
  /* libiio takes cyclic buffers only on ADI's high-speed interface */
  err = start_repeater (self, scans);
  if (err)
    goto open_failed;
  return GST_FLOW_OK;

  /* ERRORS */
not_whole:
  GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("The cyclic waveform for IIO "
          "device %s is %" G_GSIZE_FORMAT " bytes, not whole scans of %"
          G_GSIZE_FORMAT ". Send whole scans (all enabled channels)",
          self->iio->name, size, self->iio->scan_bytes), (NULL));
  return GST_FLOW_ERROR;
open_failed:
  gst_iio_libiio_device_post_buffer_error (self->iio, err,
      "iio_device_create_buffer", TRUE);
  return GST_FLOW_ERROR;
}

static GstFlowReturn
render_held (GstBaseSink * sink, GstBuffer * buf)
{
  GstIioSink *self = GST_IIO_SINK (sink);
  GstFlowReturn ret;

  if (self->wave) {
    GST_OBJECT_LOCK (self);
    self->dropped++;
    GST_OBJECT_UNLOCK (self);
    GST_LOG_OBJECT (self, "cyclic output is playing: buffer dropped");
    return GST_FLOW_OK;
  }
  if (!gst_buffer_get_size (buf))
    return GST_FLOW_OK;
  if (!self->active_cyclic)
    return play_copy (self, buf);
  ret = play_cyclic (self, buf);
  if (ret == GST_FLOW_OK) {
    GST_OBJECT_LOCK (self);
    self->copies++;
    self->bytes += gst_buffer_get_size (buf);
    GST_OBJECT_UNLOCK (self);
  }
  return ret;
}

/* render(), with SIGPIPE held off (libiio and a vanished iiod) */
static GstFlowReturn
gst_iio_sink_render (GstBaseSink * sink, GstBuffer * buf)
{
  GstIioSigpipeGuard guard;
  GstFlowReturn ret;

  gst_iio_libiio_sigpipe_hold (&guard);
  ret = render_held (sink, buf);
  gst_iio_libiio_sigpipe_release (&guard);
  return ret;
}

/* EOS is posted once the converter has played the last block. */
static gboolean
event_held (GstBaseSink * sink, GstEvent * event)
{
  GstIioSink *self = GST_IIO_SINK (sink);

  if (GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_STOP) {
    /* what the last block held before the flush is flushed too */
    self->fill = 0;
  } else if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
    if (self->wave) {
      /* the waveform goes on until the element stops */
      GST_INFO_OBJECT (self, "cyclic output goes on after EOS");
      gst_event_unref (event);
      return TRUE;
    }
    if (finish_blocks (self) != GST_FLOW_OK) {
      gst_event_unref (event);
      return FALSE;
    }
  }
  return GST_BASE_SINK_CLASS (parent_class)->event (sink, event);
}

/* event(), with SIGPIPE held off (libiio and a vanished iiod) */
static gboolean
gst_iio_sink_event (GstBaseSink * sink, GstEvent * event)
{
  GstIioSigpipeGuard guard;
  gboolean ret;

  gst_iio_libiio_sigpipe_hold (&guard);
  ret = event_held (sink, event);
  gst_iio_libiio_sigpipe_release (&guard);
  return ret;
}

/* A flush or a stop (of the pipeline) cancels the push in flight. A pause
 * lets it end: the
 * converter takes the block within a block's time (libiio's timeout bounds
 * it), then render() waits for PLAYING, so a pause loses nothing. The
 * repeater's buffer is cancelled in stop(): it plays on while paused. */
/* Whether the pipeline (or the element alone) is on its way to READY or
 * NULL: a bin takes its children down one state at a time, so during
 * PLAYING->PAUSED the sink's own target is PAUSED even then. */
static gboolean
pipeline_stopping (GstElement * element)
{
  GstObject *top = gst_object_ref (GST_OBJECT (element)), *parent;
  gboolean stopping;

  while ((parent = gst_object_get_parent (top))) {
    gst_object_unref (top);
    top = parent;
  }
  GST_OBJECT_LOCK (top);
  stopping = GST_IS_ELEMENT (top)
      && GST_STATE_TARGET (GST_ELEMENT (top)) <= GST_STATE_READY;
  GST_OBJECT_UNLOCK (top);
  gst_object_unref (top);
  return stopping;
}

static gboolean
gst_iio_sink_unlock (GstBaseSink * sink)
{
  GstIioSink *self = GST_IIO_SINK (sink);
  gboolean cancel = GST_PAD_IS_FLUSHING (GST_BASE_SINK_PAD (sink))
      || pipeline_stopping (GST_ELEMENT (sink));

  GST_OBJECT_LOCK (self);
  self->flushing = TRUE;
  g_cond_broadcast (&self->cond);
  if (cancel && self->buffer && !self->cancelled && !self->repeater) {
    GST_DEBUG_OBJECT (self, "cancelling libiio's buffer");
    iio_buffer_cancel (self->buffer);
    self->cancelled = TRUE;
  }
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static gboolean
gst_iio_sink_unlock_stop (GstBaseSink * sink)
{
  GstIioSink *self = GST_IIO_SINK (sink);

  GST_OBJECT_LOCK (self);
  self->flushing = FALSE;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static const gchar *
cyclic_mode_name (CyclicMode mode)
{
  switch (mode) {
    case CYCLIC_HARDWARE:
      return "hardware";
    case CYCLIC_SOFTWARE:
      return "software";
    default:
      return "none";
  }
}

static GstStructure *
stats_structure (GstIioSink * self)
{
  GstStructure *s;

  GST_OBJECT_LOCK (self);
  s = gst_structure_new ("application/x-iiosink-stats",
      "blocks", G_TYPE_UINT64, self->blocks,
      "bytes", G_TYPE_UINT64, self->bytes,
      "copies", G_TYPE_UINT64, self->copies,
      "dropped", G_TYPE_UINT64, self->dropped,
      "cyclic-mode", G_TYPE_STRING, cyclic_mode_name (self->cyclic_mode), NULL);
  GST_OBJECT_UNLOCK (self);
  return s;
}

static void
gst_iio_sink_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstIioSink *self = GST_IIO_SINK (object);

  if (self->iio) {
    GST_WARNING_OBJECT (self, "%s cannot change while playing", pspec->name);
    return;
  }
  GST_OBJECT_LOCK (self);
  if (gst_iio_libiio_settings_set (&self->settings, prop_id, value)) {
    GST_OBJECT_UNLOCK (self);
    return;
  }
  switch (prop_id) {
    case PROP_CYCLIC:
      self->cyclic = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_iio_sink_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstIioSink *self = GST_IIO_SINK (object);

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
    case PROP_CYCLIC:
      g_value_set_boolean (value, self->cyclic);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_iio_sink_finalize (GObject * object)
{
  GstIioSink *self = GST_IIO_SINK (object);

  gst_iio_libiio_settings_clear (&self->settings);
  g_cond_clear (&self->cond);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
install_properties (GObjectClass * gobject_class)
{
  guint i;

  gst_iio_libiio_settings_install (gobject_class, TRUE);
  /**
   * GstIioSink:cyclic:
   *
   * Repeat the first buffer until the element stops; later buffers are
   * dropped and EOS is not posted.
   */
  properties[PROP_CYCLIC] = g_param_spec_boolean ("cyclic", "Cyclic",
      "Repeat the first buffer until stopped (later ones are dropped)",
      DEFAULT_CYCLIC, GST_IIO_LIBIIO_SETTING);
  /**
   * GstIioSink:stats:
   *
   * blocks (pushed to libiio), bytes (received), copies (buffers copied
   * into libiio's: all of them), dropped (after a cyclic one), cyclic-mode
   * (none, hardware: repeated by the remote, software: pushed again by
   * the element).
   */
  properties[PROP_STATS] = g_param_spec_boxed ("stats", "Statistics",
      "Blocks, bytes, copies, dropped, cyclic mode", GST_TYPE_STRUCTURE,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /* ours only: the shared settings come before them */
  for (i = PROP_FIRST + 1; i < N_PROPERTIES; i++)
    g_object_class_install_property (gobject_class, i, properties[i]);
}

static void
gst_iio_sink_class_init (GstIioSinkClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSinkClass *basesink_class = GST_BASE_SINK_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_iio_sink_debug, "iiosink", 0,
      "IIO sink through libiio");

  gobject_class->set_property = gst_iio_sink_set_property;
  gobject_class->get_property = gst_iio_sink_get_property;
  gobject_class->finalize = gst_iio_sink_finalize;
  install_properties (gobject_class);

  basesink_class->start = GST_DEBUG_FUNCPTR (gst_iio_sink_start);
  basesink_class->stop = GST_DEBUG_FUNCPTR (gst_iio_sink_stop);
  basesink_class->get_caps = GST_DEBUG_FUNCPTR (gst_iio_sink_get_caps);
  basesink_class->set_caps = GST_DEBUG_FUNCPTR (gst_iio_sink_set_caps);
  basesink_class->render = GST_DEBUG_FUNCPTR (gst_iio_sink_render);
  basesink_class->event = GST_DEBUG_FUNCPTR (gst_iio_sink_event);
  basesink_class->unlock = GST_DEBUG_FUNCPTR (gst_iio_sink_unlock);
  basesink_class->unlock_stop = GST_DEBUG_FUNCPTR (gst_iio_sink_unlock_stop);

  gst_element_class_add_pad_template (element_class,
      gst_pad_template_new ("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
          gst_iio_dmabuf_caps_template ()));
  gst_element_class_set_static_metadata (element_class,
      "IIO sink (libiio)", "Sink/Hardware",
      "Plays to an IIO device through libiio, local or remote over iiod; "
      "copies every buffer", "gst-iiodmabuf developers");
}

static void
gst_iio_sink_init (GstIioSink * self)
{
  gst_iio_libiio_settings_init (&self->settings);
  g_cond_init (&self->cond);
  self->cyclic = DEFAULT_CYCLIC;
  /* the converter paces playback */
  gst_base_sink_set_sync (GST_BASE_SINK (self), FALSE);
}
