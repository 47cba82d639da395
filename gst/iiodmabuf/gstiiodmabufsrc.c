/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:element-iiodmabufsrc
 * @title: iiodmabufsrc
 *
 * Captures from an IIO input buffer (an ADC, an SDR receiver). Each buffer
 * pushed is a DMABUF the converter's DMA wrote, as GstDmaBufMemory; when
 * downstream releases it, it goes back to the kernel. Drivers without DMABUF
 * support are read with read() (io-mode=auto).
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 iiodmabufsrc device=iio-sim-adc channels=voltage0,voltage1 \
 *     ! wavenc ! filesink location=capture.wav
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstiiodmabufsrc.h"
#include "gstiiodmabufallocator.h"
#include "gstiiodmabufcaps.h"
#include "gstiiodmabufelements.h"
#include "gstiiodmabufcapture.h"
#include "gstiiodmabufobject.h"
#include "gstiiodmabuftimeline.h"
#include "iiodmabuf-device.h"

#include <errno.h>

GST_DEBUG_CATEGORY_STATIC (gst_iio_dmabuf_src_debug);
#define GST_CAT_DEFAULT gst_iio_dmabuf_src_debug

#define DEFAULT_SAMPLING_FREQUENCY 0
#define DEFAULT_PROVIDE_CLOCK TRUE
/* at most one overrun warning, and one failed-block warning, on the bus
 * this often: a failing device would flood it */
#define WARNING_INTERVAL_US (5 * G_USEC_PER_SEC)
/* this many failed blocks in a row is a failed device, not a glitch */
#define MAX_FAILED_IN_A_ROW 16
/* blocks whose handling time is kept, to judge the pipeline's capacity */
#define N_HANDLING 16

enum
{
  PROP_SAMPLING_FREQUENCY = GST_IIO_DMABUF_N_SETTINGS,
  PROP_ATTRIBUTES,
  PROP_TRIGGER,
  PROP_PROVIDE_CLOCK,
  PROP_STATS,
  N_PROPERTIES
};

static GParamSpec *properties[N_PROPERTIES];

typedef struct
{
  guint64 blocks;
  guint64 bytes;
  guint64 copies;
  guint64 failed_blocks;
  guint64 overruns;
  guint64 lost_samples;
} GstIioDmabufSrcStats;

struct _GstIioDmabufSrc
{
  GstPushSrc parent;

  GstIioDmabufObject obj;       /* settings, device, I/O mode, geometry */

  /* properties (object lock) */
  guint sampling_frequency;
  GstStructure *attributes;
  gchar *trigger;
  gboolean provide_clock;

  /* streaming */
  GstIioCapture *capture;       /* DMABUF mode; replaced under object lock */
  gboolean flushing;            /* object lock */
  gboolean configured;          /* the buffer is set up for the caps */
  gboolean renegotiated;        /* stopped mid-stream for new caps */
  GstClockTime pts_end;         /* where the last buffer pushed ended */
  GstIioTimeline *timeline;     /* offsets, timestamps, the clock */
  guint failed_in_a_row;
  gint64 failed_warned_at;      /* g_get_monotonic_time(), or 0 */
  guint64 failed_unwarned;      /* failed blocks not told yet ... */
  gint failed_last;             /* ... and the last one's errno */
  gint64 stale_warned_at;       /* g_get_monotonic_time(), or 0 */
  guint64 stale_unwarned;       /* stale blocks not told yet */
  gboolean clock_offered;       /* clock-provide posted at READY->PAUSED */
  gsize settle_bytes;           /* read() mode: to drop before a block */
  guint settle_scans;           /* how many scans that drop is in all */
  gint64 overrun_warned_at;     /* g_get_monotonic_time(), or 0 */
  guint64 overruns_unwarned;    /* overruns not told yet, and the last's */
  guint64 overrun_last_lost, overrun_last_at;
  /* what the pipeline takes per block, outside our wait for the converter
   * (streaming thread) */
  gint64 create_left_us;        /* when create() last returned, or 0 */
  gint64 handling_us[N_HANDLING];
  guint n_handled;
  gboolean capacity_warned;     /* once per start */
  GstIioDmabufSrcStats stats;   /* object lock */
};


#define gst_iio_dmabuf_src_parent_class parent_class
G_DEFINE_TYPE (GstIioDmabufSrc, gst_iio_dmabuf_src, GST_TYPE_PUSH_SRC);
GST_ELEMENT_REGISTER_DEFINE (iiodmabufsrc, "iiodmabufsrc", GST_RANK_NONE,
    GST_TYPE_IIO_DMABUF_SRC);

/* --- the device ----------------------------------------------------------- */

static gboolean
write_attribute (GQuark field, const GValue * value, gpointer user_data)
{
  GstIioDmabufSrc *self = user_data;
  GError *error = NULL;
  GValue text = G_VALUE_INIT;
  gboolean ok;

  g_value_init (&text, G_TYPE_STRING);
  if (!g_value_transform (value, &text))
    g_value_take_string (&text, gst_value_serialize (value));
  ok = gst_iio_device_change_attr (self->obj.device, g_quark_to_string (field),
      g_value_get_string (&text), &error);
  g_value_unset (&text);
  if (!ok)
    gst_iio_dmabuf_post_device_error (GST_ELEMENT (self), error);
  return ok;
}

static gboolean
apply_settings (GstIioDmabufSrc * self)
{
  GstStructure *attributes = NULL;
  GError *error = NULL;
  gboolean ok = TRUE;
  gchar value[16], *trigger;
  guint rate;

  /* an application may set them meanwhile: work on copies */
  GST_OBJECT_LOCK (self);
  if (self->attributes)
    attributes = gst_structure_copy (self->attributes);
  rate = self->sampling_frequency;
  trigger = g_strdup (self->trigger);
  GST_OBJECT_UNLOCK (self);
  ok = gst_iio_device_select_trigger (self->obj.device, trigger, &error);
  g_free (trigger);
  if (!ok) {
    gst_iio_dmabuf_post_device_error (GST_ELEMENT (self), error);
    return FALSE;
  }
  if (attributes)
    ok = gst_structure_foreach (attributes, write_attribute, self);
  g_clear_pointer (&attributes, gst_structure_free);
  if (ok && rate) {
    g_snprintf (value, sizeof value, "%u", rate);
    ok = gst_iio_device_change_attr (self->obj.device, "sampling_frequency",
        value, &error);
    if (!ok)
      gst_iio_dmabuf_post_device_error (GST_ELEMENT (self), error);
  }
  gst_iio_dmabuf_object_read_rate (&self->obj);
  gst_iio_dmabuf_object_update_offered (&self->obj);
  return ok;
}

/* --- starting and stopping ------------------------------------------------ */

static GstClockTime block_duration (GstIioDmabufSrc * self);

/* Allocates and attaches the blocks; they are queued at the first create. */
static gboolean
start_capture (GstIioDmabufSrc * self)
{
  GError *error = NULL;
  GstIioCapture *capture;

  capture =
      gst_iio_capture_new (self->obj.allocator, self->obj.device->buffer_fd,
      self->obj.block_bytes, self->obj.active.num_blocks,
      block_duration (self), self->obj.active.timeout, &error);
  if (!capture && self->obj.active.io_mode == GST_IIO_DMABUF_IO_MODE_AUTO
      && g_error_matches (error, GST_IIO_DEVICE_ERROR,
          GST_IIO_DEVICE_ERROR_NO_DMABUF)) {
    GST_INFO_OBJECT (self, "%s: reading with read() instead", error->message);
    g_error_free (error);
    return gst_iio_dmabuf_object_use_rw (&self->obj);
  }
  if (!capture) {
    GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT, ("%s", error->message),
        (NULL));
    g_error_free (error);
    return FALSE;
  }
  GST_OBJECT_LOCK (self);
  self->capture = capture;
  gst_iio_capture_set_flushing (capture, self->flushing);
  /* where the blocks came from (the probe's may differ) */
  self->obj.origin = gst_iio_dmabuf_allocator_get_origin (self->obj.allocator);
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

/* Sizes the blocks, configures the buffer, sets up DMABUF or read(). */
static gboolean
configure_stream (GstIioDmabufSrc * self)
{
  if (!gst_iio_dmabuf_object_configure (&self->obj))
    return FALSE;
  /* what downstream pools are sized by (iiodmabufsink's, say) */
  gst_base_src_set_blocksize (GST_BASE_SRC (self), self->obj.block_bytes);
  if (self->obj.use_dmabuf && !start_capture (self))
    return FALSE;
  self->configured = TRUE;
  return TRUE;
}

/* Disabling ends every pending transfer; then the blocks are detached.
 * Blocks downstream still holds are freed when it lets them go. */
static void
stop_stream (GstIioDmabufSrc * self)
{
  GstIioCapture *capture;

  GST_OBJECT_LOCK (self);
  capture = g_steal_pointer (&self->capture);
  GST_OBJECT_UNLOCK (self);
  /* no block may go back to the kernel once the buffer is disabled */
  if (capture)
    gst_iio_capture_halt (capture);
  gst_iio_dmabuf_object_disable (&self->obj);
  self->configured = FALSE;
  self->settle_bytes = 0;
  if (capture)
    gst_iio_capture_stop (capture);
}

static gboolean
gst_iio_dmabuf_src_start (GstBaseSrc * src)
{
  GstIioDmabufSrc *self = GST_IIO_DMABUF_SRC (src);

  GST_OBJECT_LOCK (self);
  memset (&self->stats, 0, sizeof self->stats);
  GST_OBJECT_UNLOCK (self);
  self->failed_in_a_row = 0;
  self->failed_warned_at = 0;
  self->failed_unwarned = 0;
  self->stale_warned_at = 0;
  self->stale_unwarned = 0;
  self->overrun_warned_at = 0;
  self->overruns_unwarned = 0;
  self->create_left_us = 0;
  self->n_handled = 0;
  self->capacity_warned = FALSE;
  self->renegotiated = FALSE;
  self->pts_end = GST_CLOCK_TIME_NONE;
  if (!gst_iio_dmabuf_object_start (&self->obj))
    return FALSE;
  if (apply_settings (self) && configure_stream (self))
    return TRUE;
  gst_iio_dmabuf_object_stop (&self->obj);
  return FALSE;
}

static gboolean
gst_iio_dmabuf_src_stop (GstBaseSrc * src)
{
  GstIioDmabufSrc *self = GST_IIO_DMABUF_SRC (src);

  stop_stream (self);
  gst_iio_dmabuf_object_stop (&self->obj);
  return TRUE;
}

/* --- negotiation ---------------------------------------------------------- */

/* The rates to offer: the property's, else the device's
 * sampling_frequency_available, else the one it runs at. */
static gboolean
offered_rates (GstIioDmabufSrc * self, GValue * rates)
{
  gchar *available = NULL;
  gboolean ok = FALSE;
  guint property;

  GST_OBJECT_LOCK (self);
  property = self->sampling_frequency;
  GST_OBJECT_UNLOCK (self);
  if (!property)
    available = gst_iio_device_read_attr (self->obj.device,
        "sampling_frequency_available", NULL);
  if (available)
    ok = gst_iio_dmabuf_rates_parse (available, rates);
  g_free (available);
  if (ok || !self->obj.rate)
    return ok;
  g_value_init (rates, G_TYPE_INT);
  g_value_set_int (rates, self->obj.rate);
  return TRUE;
}

/* Without a channels property an audio stream may take the first N
 * channels, all of them preferred; the rate is free where the device's
 * is. Made by the thread that owns the device, for any to read. */
static GstCaps *
offered_caps (GstElement * element)
{
  GstIioDmabufSrc *self = GST_IIO_DMABUF_SRC (element);
  GValue rates = G_VALUE_INIT;
  gboolean have_rates = offered_rates (self, &rates);
  GstCaps *caps = gst_iio_dmabuf_object_offered_caps (&self->obj,
      have_rates ? &rates : NULL, TRUE);

  if (have_rates)
    g_value_unset (&rates);
  return caps;
}

/* From any thread: what the open device offers, never the device. */
static GstCaps *
gst_iio_dmabuf_src_get_caps (GstBaseSrc * src, GstCaps * filter)
{
  GstIioDmabufSrc *self = GST_IIO_DMABUF_SRC (src);
  GstCaps *caps = gst_iio_dmabuf_object_get_offered (&self->obj);

  if (!caps)
    caps = gst_pad_get_pad_template_caps (GST_BASE_SRC_PAD (src));
  return gst_iio_dmabuf_caps_filter (caps, filter);
}

/* The first choice left; the rate nearest the device's present one. */
static GstCaps *
gst_iio_dmabuf_src_fixate (GstBaseSrc * src, GstCaps * caps)
{
  GstIioDmabufSrc *self = GST_IIO_DMABUF_SRC (src);
  GstStructure *s;

  caps = gst_caps_make_writable (gst_caps_truncate (caps));
  s = gst_caps_get_structure (caps, 0);
  if (self->obj.rate && gst_structure_has_field (s, "rate"))
    gst_structure_fixate_field_nearest_int (s, "rate", self->obj.rate);
  return GST_BASE_SRC_CLASS (parent_class)->fixate (src, caps);
}

/* Downstream chose a rate or a channel count, at the start or later (a
 * capsfilter's caps changed, another element linked): the converter stops
 * (what it captured after the last buffer pushed is dropped), takes them,
 * and starts again at the next create(). Its samples count from 0 again:
 * the next buffer is DISCONT, stamped from the clock anew. */
static gboolean
gst_iio_dmabuf_src_set_caps (GstBaseSrc * src, GstCaps * caps)
{
  GstIioDmabufSrc *self = GST_IIO_DMABUF_SRC (src);
  const GstStructure *s = gst_caps_get_structure (caps, 0);
  gint n = gst_iio_device_n_enabled (self->obj.device), rate = self->obj.rate;
  gint channels = n;

  gst_structure_get_int (s, "rate", &rate);
  gst_structure_get_int (s, "channels", &channels);
  if (rate == (gint) self->obj.rate && channels == n && self->configured)
    return TRUE;
  GST_DEBUG_OBJECT (self, "negotiated %d Hz, %d channels%s", rate, channels,
      self->obj.enabled ? ": the converter starts again" : "");
  self->renegotiated |= self->obj.enabled;
  stop_stream (self);
  if (rate != (gint) self->obj.rate
      && !gst_iio_dmabuf_object_set_rate (&self->obj, rate))
    return FALSE;
  if (channels != n)
    gst_iio_device_select_first (self->obj.device, channels);
  return configure_stream (self);
}

static GstClockTime
block_duration (GstIioDmabufSrc * self)
{
  if (!self->obj.rate)
    return GST_CLOCK_TIME_NONE;
  return gst_util_uint64_scale_int (self->obj.active.samples_per_block,
      GST_SECOND, self->obj.rate);
}

/* From any thread: what is published under the object lock. */
static gboolean
gst_iio_dmabuf_src_query (GstBaseSrc * src, GstQuery * query)
{
  GstIioDmabufSrc *self = GST_IIO_DMABUF_SRC (src);
  GstClockTime block = GST_CLOCK_TIME_NONE;
  guint num_blocks;

  if (GST_QUERY_TYPE (query) != GST_QUERY_LATENCY)
    return GST_BASE_SRC_CLASS (parent_class)->query (src, query);
  GST_OBJECT_LOCK (self);
  if (self->obj.device)
    block = block_duration (self);
  num_blocks = self->obj.active.num_blocks;
  GST_OBJECT_UNLOCK (self);
  /* closed, or no rate: as any live source */
  if (!GST_CLOCK_TIME_IS_VALID (block))
    return GST_BASE_SRC_CLASS (parent_class)->query (src, query);
  /* a block is seen when complete; the device can run num-blocks ahead */
  gst_query_set_latency (query, TRUE, block, block * num_blocks);
  return TRUE;
}

/* --- streaming ------------------------------------------------------------ */

/* read() mode on the DMA buffer core: Linux (6.12 at least) does not
 * rewind which of its two read() blocks comes next when the buffer is
 * enabled again, so after a session that read an odd number of them the
 * next gets samples N..2N before 0..N, with no error. The buffer's length
 * (both blocks) is dropped after each enable; the timeline skips it, so
 * offsets and times stay true. (docs/troubleshooting.md: "First blocks out
 * of order after an earlier session") */
static void
settle_reads_from (GstIioDmabufSrc * self)
{
  guint scans = self->obj.device->length;

  self->settle_bytes = 0;
  if (self->obj.use_dmabuf || !self->obj.dma_core)
    return;
  self->settle_bytes = (gsize) scans *self->obj.scan_bytes;
  self->settle_scans = scans;
  gst_iio_timeline_skip (self->timeline, scans);
  GST_DEBUG_OBJECT (self, "dropping the first %u scans", scans);
}

static GstFlowReturn
settle_reads (GstIioDmabufSrc * self)
{
  GstFlowReturn ret = GST_FLOW_OK;
  guint8 *scratch;
  gsize done;

  if (!self->settle_bytes)
    return GST_FLOW_OK;
  scratch = g_malloc (self->obj.block_bytes);
  while (self->settle_bytes > 0 && ret == GST_FLOW_OK) {
    done = 0;
    ret = gst_iio_dmabuf_object_transfer (&self->obj, scratch,
        MIN (self->settle_bytes, self->obj.block_bytes), &done);
    self->settle_bytes -= done;
  }
  g_free (scratch);
  /* the clock runs from the samples dropped, as if they were delivered */
  if (self->settle_bytes == 0 && self->obj.rate)
    gst_iio_timeline_advance_clock (self->timeline,
        gst_util_uint64_scale_int (self->settle_scans, GST_SECOND,
            self->obj.rate), g_get_monotonic_time () * 1000);
  return ret;
}

/* After new caps the pipeline runs on, and so does the clock: from where
 * it was, and not before the end of the last buffer pushed. Held until
 * the first new block, it would stamp that block before that end. From
 * now on, as the converter samples from now on. */
static void
resume_clock (GstIioDmabufSrc * self)
{
  GstClock *clock = gst_iio_timeline_get_clock (self->timeline);
  GstClockTime now = gst_clock_get_time (clock), end = self->pts_end;

  if (GST_CLOCK_TIME_IS_VALID (end))
    end += gst_element_get_base_time (GST_ELEMENT (self));
  gst_iio_timeline_advance_clock (self->timeline,
      GST_CLOCK_TIME_IS_VALID (end) && end > now ? end - now : 0,
      g_get_monotonic_time () * 1000);
}

/* Whether the converter starts at all, tried with nothing queued: a block
 * queued to a buffer whose enable then fails stays queued in the kernel,
 * its fence pending and its DMABUF pinned, for good (Linux 6.12 aborts
 * only the blocks it submitted; a DETACH or closing the buffer does not
 * release them). */
static gboolean
converter_starts (GstIioDmabufSrc * self)
{
  if (!gst_iio_dmabuf_object_enable (&self->obj))
    return FALSE;
  gst_iio_dmabuf_object_disable (&self->obj);
  return TRUE;
}

/* Blocks are queued only now, just before the converter starts: blocks
 * queued to a buffer that is never enabled keep their fences pending. */
static GstFlowReturn
enable_device (GstIioDmabufSrc * self)
{
  GError *error = NULL;
  GstIioScanType ts_type = { 0, };
  gint ts_offset = gst_iio_device_timestamp_offset (self->obj.device,
      &ts_type);

  if (self->capture && !converter_starts (self))
    return GST_FLOW_ERROR;
  /* the converter counts from sample 0 again */
  gst_iio_timeline_start (self->timeline, self->obj.rate,
      self->obj.active.samples_per_block, self->obj.active.num_blocks,
      ts_offset, &ts_type, self->obj.scan_bytes);
  if (self->renegotiated)
    resume_clock (self);
  self->renegotiated = FALSE;
  settle_reads_from (self);

  if (self->capture && !gst_iio_capture_queue_all (self->capture, &error)) {
    gst_iio_dmabuf_post_device_error (GST_ELEMENT (self), error);
    return GST_FLOW_ERROR;
  }
  if (gst_iio_dmabuf_object_enable (&self->obj))
    return GST_FLOW_OK;
  if (self->capture)
    GST_WARNING_OBJECT (self, "the converter did not start after a trial "
        "start that did: its blocks stay queued in the kernel");
  return GST_FLOW_ERROR;
}

static GstFlowReturn
read_block (GstIioDmabufSrc * self, GstBuffer ** out)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, self->obj.block_bytes, NULL);
  GstFlowReturn ret = GST_FLOW_OK;
  GstMapInfo map;
  gsize got = 0;

  ret = settle_reads (self);
  if (ret != GST_FLOW_OK) {
    gst_buffer_unref (buf);
    return ret;
  }
  if (!gst_buffer_map (buf, &map, GST_MAP_WRITE)) {
    gst_buffer_unref (buf);
    GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT, ("Cannot map a block "
            "of %" G_GSIZE_FORMAT " bytes: lower samples-per-block",
            self->obj.block_bytes), (NULL));
    return GST_FLOW_ERROR;
  }
  ret = gst_iio_dmabuf_object_transfer (&self->obj, map.data, map.size, &got);
  gst_buffer_unmap (buf, &map);
  if (ret == GST_FLOW_OK)
    *out = buf;
  else
    gst_buffer_unref (buf);
  return ret;
}

/* Whether a warning of a kind may go on the bus now (see
 * WARNING_INTERVAL_US); if so, it is the last one from now. */
static gboolean
may_warn (gint64 * warned_at)
{
  gint64 now = g_get_monotonic_time ();

  if (*warned_at && now - *warned_at < WARNING_INTERVAL_US)
    return FALSE;
  *warned_at = now;
  return TRUE;
}

/* The device was removed or its driver unbound: its sysfs directory went
 * with it (the kernel aborts the blocks in flight with -EINTR, and takes
 * the ones queued after without a word). */
static gboolean
device_gone (GstIioDmabufSrc * self)
{
  return !g_file_test (self->obj.device->sysfs_dir, G_FILE_TEST_IS_DIR);
}

static void
post_removed (GstIioDmabufSrc * self, const gchar * seen)
{
  GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("IIO device %s was removed "
          "or its driver unbound: connect it or bind its driver again, then "
          "restart the pipeline", self->obj.device->name), ("%s (%s is "
          "gone)", seen, self->obj.device->sysfs_dir));
}

/* The kernel aborts the blocks in flight only when the buffer is disabled:
 * not by us while we capture, so by another program. */
static void
post_stopped (GstIioDmabufSrc * self)
{
  GST_ELEMENT_ERROR (self, RESOURCE, READ, ("IIO device %s was stopped by "
          "another program while capturing: stop that program, then "
          "restart the pipeline", self->obj.device->name), ("a block was "
          "aborted (EINTR): %s/buffer%u/enable was set to 0",
          self->obj.device->sysfs_dir, self->obj.device->buffer_index));
}

/* Tells the failed blocks not told yet, in one warning. */
static void
warn_failed (GstIioDmabufSrc * self)
{
  guint64 unwarned = self->failed_unwarned;

  self->failed_unwarned = 0;
  GST_ELEMENT_WARNING (self, RESOURCE, READ, ("%" G_GUINT64_FORMAT " block(s) "
          "of %u samples from %s failed (the last: %s) and were dropped; the "
          "stream goes on", unwarned, self->obj.active.samples_per_block,
          self->obj.device->name, g_strerror (-self->failed_last)), (NULL));
}

/* Counts @n more blocks failed in a row (the last with @err): an error
 * once there are too many. */
static gboolean
failed_too_often (GstIioDmabufSrc * self, guint n, gint err)
{
  self->failed_in_a_row += n;
  if (self->failed_in_a_row < MAX_FAILED_IN_A_ROW)
    return FALSE;
  GST_ELEMENT_ERROR (self, RESOURCE, READ, ("%u blocks in a row failed "
          "(%s): IIO device %s is failing or was removed, or its DMA "
          "engine needs physically contiguous memory: then set dma-heap "
          "to a CMA heap (default_cma_region, linux,cma or reserved)",
          self->failed_in_a_row, g_strerror (-err), self->obj.device->name),
      (NULL));
  return TRUE;
}

/* Tells the stale blocks not told yet, in one warning. */
static void
warn_stale (GstIioDmabufSrc * self)
{
  guint64 unwarned = self->stale_unwarned;

  self->stale_unwarned = 0;
  GST_ELEMENT_WARNING (self, RESOURCE, READ, ("%" G_GUINT64_FORMAT " block(s) "
          "from %s already passed on held stale data: the kernel failed "
          "their transfer without telling in time. The converter's driver "
          "or DMA engine is failing; the kernel log (dmesg) may say why",
          unwarned, self->obj.device->name), ("found at the DMABUF's next "
          "enqueue; the OFFSETs after each run one block ahead"));
}

/* Blocks pushed as captured turned out never transferred: their submit
 * had failed inside the kernel, which showed only at their next enqueue.
 * Counted as failed, in a row as well (a DMA engine failing every block
 * this way would otherwise go on for ever), and told at most every
 * WARNING_INTERVAL_US. */
static GstFlowReturn
blocks_found_stale (GstIioDmabufSrc * self, guint stale)
{
  GST_OBJECT_LOCK (self);
  self->stats.failed_blocks += stale;
  GST_OBJECT_UNLOCK (self);
  if (failed_too_often (self, stale, -EIO))
    return GST_FLOW_ERROR;
  self->stale_unwarned += stale;
  if (may_warn (&self->stale_warned_at))
    warn_stale (self);
  return GST_FLOW_OK;
}

/* A failed transfer took its samples with it; a failed submit took none
 * (the converter went on to the next block). */
static GstFlowReturn
block_failed (GstIioDmabufSrc * self, gint err, gboolean ran)
{
  guint lost = ran ? self->obj.active.samples_per_block : 0;

  if (err == -EINTR && device_gone (self)) {
    post_removed (self, "a block was aborted");
    return GST_FLOW_ERROR;
  }
  if (err == -EINTR) {
    post_stopped (self);
    return GST_FLOW_ERROR;
  }
  GST_OBJECT_LOCK (self);
  self->stats.failed_blocks++;
  self->stats.lost_samples += lost;
  GST_OBJECT_UNLOCK (self);
  if (lost)
    gst_iio_timeline_skip (self->timeline, lost);
  if (failed_too_often (self, 1, err))
    return GST_FLOW_ERROR;
  self->failed_unwarned++;
  self->failed_last = err;
  if (may_warn (&self->failed_warned_at))
    warn_failed (self);
  return GST_FLOW_OK;
}

/* Copy rather than let the converter run dry when downstream holds on to
 * blocks (as v4l2src does). The block goes straight back to the kernel. */
static GstFlowReturn
maybe_copy (GstIioDmabufSrc * self, GstMemory * block, GstBuffer ** out)
{
  guint threshold = MIN (2, self->obj.active.num_blocks - 1);
  GstMapInfo map;
  gboolean mapped;

  if (gst_iio_capture_n_queued (self->capture) >= threshold) {
    *out = gst_buffer_new ();
    gst_buffer_append_memory (*out, block);
    return GST_FLOW_OK;
  }
  mapped = gst_memory_map (block, &map, GST_MAP_READ);
  if (mapped) {
    *out = gst_buffer_new_memdup (map.data, map.size);
    gst_memory_unmap (block, &map);
  }
  gst_memory_unref (block);
  if (!mapped) {
    GST_ELEMENT_ERROR (self, RESOURCE, READ, ("Cannot read a DMABUF block "
            "of IIO device %s", self->obj.device->name), (NULL));
    return GST_FLOW_ERROR;
  }
  GST_OBJECT_LOCK (self);
  self->stats.copies++;
  GST_OBJECT_UNLOCK (self);
  GST_LOG_OBJECT (self, "downstream holds the blocks: copied one");
  return GST_FLOW_OK;
}

static GstFlowReturn
dequeue_block (GstIioDmabufSrc * self, GstBuffer ** out,
    GstIioCaptureTimes * times)
{
  GstMemory *block = NULL;
  GError *error = NULL;
  GstFlowReturn ret;
  gint err = 0;

  for (;;) {
    ret = gst_iio_capture_dequeue (self->capture, &block, times, &err, &error);
    if (times->stale && blocks_found_stale (self, times->stale) !=
        GST_FLOW_OK) {
      if (ret == GST_FLOW_OK)
        gst_memory_unref (block);
      g_clear_error (&error);
      return GST_FLOW_ERROR;
    }
    if (ret == GST_FLOW_OK) {
      /* a block is known good by its fence's time: a stub's may yet be
       * found stale */
      if (!times->stale && times->done_ns >= 0)
        self->failed_in_a_row = 0;
      return maybe_copy (self, block, out);
    }
    if (ret != GST_IIO_CAPTURE_BLOCK_FAILED)
      break;
    ret = block_failed (self, err, times->ran);
    if (ret != GST_FLOW_OK)
      return ret;
  }
  if (ret == GST_FLOW_ERROR && device_gone (self))
    post_removed (self, error->message);
  else if (ret == GST_FLOW_ERROR)
    GST_ELEMENT_ERROR (self, RESOURCE, READ, ("%s", error->message),
        ("IIO device %s", self->obj.device->name));
  g_clear_error (&error);
  return ret;
}

/* Tells the overruns not told yet, in one warning. */
static void
warn_overruns (GstIioDmabufSrc * self)
{
  guint64 unwarned = self->overruns_unwarned;

  self->overruns_unwarned = 0;
  GST_ELEMENT_WARNING (self, RESOURCE, READ, ("IIO device %s dropped "
          "samples: %" G_GUINT64_FORMAT " overrun(s), the last of %"
          G_GUINT64_FORMAT " samples. Downstream is slower than the "
          "converter: raise num-blocks or samples-per-block, or lower the "
          "sampling frequency", self->obj.device->name, unwarned,
          self->overrun_last_lost), ("at sample %" G_GUINT64_FORMAT,
          self->overrun_last_at));
}

static gint
compare_gint64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

/* The median time the pipeline took per block, of the last N_HANDLING;
 * 0 until that many were seen. A stall now and then does not move it. */
static gint64
median_handling_us (GstIioDmabufSrc * self)
{
  gint64 sorted[N_HANDLING];

  if (self->n_handled < N_HANDLING)
    return 0;
  memcpy (sorted, self->handling_us, sizeof sorted);
  qsort (sorted, N_HANDLING, sizeof sorted[0], compare_gint64);
  return sorted[N_HANDLING / 2];
}

/* The block size at which a pipeline that takes @handling_us per block
 * keeps up with twice the margin: a power of two, so that it suits any
 * alignment the DMA asks for. */
static guint
samples_per_block_for (guint rate, gint64 handling_us)
{
  guint64 want = gst_util_uint64_scale (rate, 2 * handling_us,
      G_USEC_PER_SEC);
  guint64 spb = 1;

  while (spb < want && spb < G_MAXUINT / 2)
    spb <<= 1;
  return spb;
}

/* At an overrun: if the pipeline takes longer per block than a block
 * lasts (not a stall now and then), no num-blocks can help: say once
 * which block size would. */
static void
check_capacity (GstIioDmabufSrc * self)
{
  GstClockTime period = block_duration (self);
  gint64 handling_us = median_handling_us (self);
  guint spb = self->obj.active.samples_per_block;

  if (self->capacity_warned || !handling_us || period == GST_CLOCK_TIME_NONE
      || (GstClockTime) handling_us * GST_USECOND <= period)
    return;
  self->capacity_warned = TRUE;
  GST_ELEMENT_WARNING (self, RESOURCE, READ, ("IIO device %s delivers "
          "more blocks per second than this pipeline handles: set "
          "samples-per-block to %u or more (or lower the sampling frequency)",
          self->obj.device->name, samples_per_block_for (self->obj.rate,
              handling_us)), ("a block of %u samples lasts %" G_GUINT64_FORMAT
          " us at %u Hz; the pipeline takes %" G_GINT64_FORMAT " us per block "
          "(median of the last %u)", spb, period / GST_USECOND,
          self->obj.rate, handling_us, N_HANDLING));
}

/* The converter dropped @lost samples, from sample @at on: counted, one
 * element message each time, and a warning now and then. */
static void
report_overrun (GstIioDmabufSrc * self, guint64 at, guint64 lost)
{
  GstClockTime when = gst_iio_timeline_running_time (self->timeline, at);

  GST_OBJECT_LOCK (self);
  self->stats.overruns++;
  self->stats.lost_samples += lost;
  GST_OBJECT_UNLOCK (self);
  GST_INFO_OBJECT (self, "overrun: %" G_GUINT64_FORMAT " samples lost at %"
      G_GUINT64_FORMAT, lost, at);
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self),
          gst_structure_new ("iiodmabufsrc-overrun",
              "lost-samples", G_TYPE_UINT64, lost,
              "offset", G_TYPE_UINT64, at,
              "running-time", G_TYPE_UINT64, when, NULL)));

  self->overruns_unwarned++;
  self->overrun_last_lost = lost;
  self->overrun_last_at = at;
  if (may_warn (&self->overrun_warned_at))
    warn_overruns (self);
  check_capacity (self);
}

/* At the end of the stream, what the warnings' rate limit held back:
 * their counts add up to the stats. Streaming thread. */
static GstPadProbeReturn
tell_untold (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  GstIioDmabufSrc *self = user_data;

  if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) != GST_EVENT_EOS)
    return GST_PAD_PROBE_OK;
  if (self->failed_unwarned)
    warn_failed (self);
  if (self->stale_unwarned)
    warn_stale (self);
  if (self->overruns_unwarned)
    warn_overruns (self);
  return GST_PAD_PROBE_OK;
}

/* OFFSET, PTS and DISCONT from the converter's true sample index. */
static void
stamp (GstIioDmabufSrc * self, GstBuffer * buf, const GstIioCaptureTimes * t)
{
  guint64 at = gst_iio_timeline_offset (self->timeline);
  guint64 lost = gst_iio_timeline_measure_loss (self->timeline, buf,
      t->previous_done_ns, t->queued_ns, t->done_ns);

  gst_iio_timeline_stamp (self->timeline, buf, GST_ELEMENT (self), t->done_ns);
  /* after stamping: its running time follows this block's */
  if (lost)
    report_overrun (self, at, lost);
}

/* Notes how long the last block took downstream (from our last return
 * to this call, @entered_us): what the pipeline takes per block, without
 * our wait for the converter. */
static void
note_handling (GstIioDmabufSrc * self, gint64 entered_us)
{
  if (self->create_left_us)
    self->handling_us[self->n_handled++ % N_HANDLING] =
        entered_us - self->create_left_us;
  self->create_left_us = g_get_monotonic_time ();
}

static GstFlowReturn
gst_iio_dmabuf_src_create (GstPushSrc * src, GstBuffer ** out)
{
  GstIioDmabufSrc *self = GST_IIO_DMABUF_SRC (src);
  GstIioCaptureTimes times = { -1, -1, -1, TRUE };
  GstFlowReturn ret = GST_FLOW_OK;
  gint64 entered_us = g_get_monotonic_time ();

  /* the error that left it so was posted then: not-negotiated, no other */
  if (!self->configured)
    return GST_FLOW_NOT_NEGOTIATED;
  if (!self->obj.enabled)
    ret = enable_device (self);
  if (ret != GST_FLOW_OK)
    return ret;
  if (self->obj.use_dmabuf)
    ret = dequeue_block (self, out, &times);
  else
    ret = read_block (self, out);
  if (ret != GST_FLOW_OK)
    return ret;
  note_handling (self, entered_us);

  stamp (self, *out, &times);
  if (GST_BUFFER_PTS_IS_VALID (*out) && GST_BUFFER_DURATION_IS_VALID (*out))
    self->pts_end = GST_BUFFER_PTS (*out) + GST_BUFFER_DURATION (*out);
  GST_OBJECT_LOCK (self);
  self->stats.blocks++;
  self->stats.bytes += self->obj.block_bytes;
  GST_OBJECT_UNLOCK (self);
  GST_LOG_OBJECT (self, "block %" G_GUINT64_FORMAT " at %" GST_TIME_FORMAT,
      self->stats.blocks, GST_TIME_ARGS (GST_BUFFER_PTS (*out)));
  return GST_FLOW_OK;
}

static void
set_flushing (GstIioDmabufSrc * self, gboolean flushing)
{
  gst_iio_dmabuf_object_set_flushing (&self->obj, flushing);
  GST_OBJECT_LOCK (self);
  self->flushing = flushing;
  if (self->capture)
    gst_iio_capture_set_flushing (self->capture, flushing);
  GST_OBJECT_UNLOCK (self);
}

static gboolean
gst_iio_dmabuf_src_unlock (GstBaseSrc * src)
{
  set_flushing (GST_IIO_DMABUF_SRC (src), TRUE);
  return TRUE;
}

static gboolean
gst_iio_dmabuf_src_unlock_stop (GstBaseSrc * src)
{
  set_flushing (GST_IIO_DMABUF_SRC (src), FALSE);
  return TRUE;
}

/* Buffers are the converter's own blocks: a pool offered downstream (by
 * iiodmabufsink, say) would be allocated and never used. */
static gboolean
gst_iio_dmabuf_src_decide_allocation (GstBaseSrc * src, GstQuery * query)
{
  while (gst_query_get_n_allocation_pools (query) > 0)
    gst_query_remove_nth_allocation_pool (query, 0);
  return TRUE;
}

/* --- GstElement ----------------------------------------------------------- */

/* The clock runs on the samples: a converter whose rate is unknown (a
 * triggered one, say) gives none, so it neither claims one (the flag) nor
 * announces one (clock-provide). Object lock held. */
static void
update_provider (GstIioDmabufSrc * self)
{
  gst_iio_timeline_set_provider (GST_ELEMENT (self), self->provide_clock
      && self->obj.device && self->obj.rate);
}

/* Whether clock-provide is posted at READY->PAUSED (and clock-lost at
 * PAUSED->READY, then). */
static gboolean
offers_clock (GstIioDmabufSrc * self, GstStateChange transition)
{
  GST_OBJECT_LOCK (self);
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED)
    self->clock_offered = self->provide_clock && self->obj.rate;
  GST_OBJECT_UNLOCK (self);
  return self->clock_offered;
}

/* Caps can be asked for in READY: at the rate it will run at. */
static void
rate_in_ready (GstIioDmabufSrc * self)
{
  GST_OBJECT_LOCK (self);
  if (self->sampling_frequency)
    self->obj.rate = self->sampling_frequency;
  GST_OBJECT_UNLOCK (self);
  gst_iio_dmabuf_object_update_offered (&self->obj);
}

static GstStateChangeReturn
gst_iio_dmabuf_src_change_state (GstElement * element,
    GstStateChange transition)
{
  GstIioDmabufSrc *self = GST_IIO_DMABUF_SRC (element);
  GstStateChangeReturn ret;

  gst_iio_timeline_change_state (self->timeline, element, transition,
      offers_clock (self, transition));
  ret = gst_iio_dmabuf_object_change_state (&self->obj, transition,
      GST_ELEMENT_CLASS (parent_class));
  if (transition == GST_STATE_CHANGE_NULL_TO_READY
      && ret != GST_STATE_CHANGE_FAILURE)
    rate_in_ready (self);
  if (transition == GST_STATE_CHANGE_NULL_TO_READY
      || transition == GST_STATE_CHANGE_READY_TO_NULL) {
    GST_OBJECT_LOCK (self);
    update_provider (self);
    GST_OBJECT_UNLOCK (self);
  }
  return ret;
}

static GstClock *
gst_iio_dmabuf_src_provide_clock (GstElement * element)
{
  GstIioDmabufSrc *self = GST_IIO_DMABUF_SRC (element);
  GstClock *clock;

  GST_OBJECT_LOCK (self);
  clock = gst_iio_timeline_offer_clock (self->timeline, self->provide_clock,
      self->obj.rate);
  GST_OBJECT_UNLOCK (self);
  return clock;
}

/* --- properties ----------------------------------------------------------- */

/* Called with the object lock held. */
static GstStructure *
stats_structure (GstIioDmabufSrc * self)
{
  const gchar *io_mode, *origin;

  gst_iio_dmabuf_object_stats_io (&self->obj, &io_mode, &origin);
  return gst_structure_new ("application/x-iiodmabufsrc-stats",
      "blocks", G_TYPE_UINT64, self->stats.blocks,
      "bytes", G_TYPE_UINT64, self->stats.bytes,
      "copies", G_TYPE_UINT64, self->stats.copies,
      "failed-blocks", G_TYPE_UINT64, self->stats.failed_blocks,
      "overruns", G_TYPE_UINT64, self->stats.overruns,
      "lost-samples", G_TYPE_UINT64, self->stats.lost_samples,
      "io-mode", G_TYPE_STRING, io_mode,
      "dmabuf-origin", G_TYPE_STRING, origin, NULL);
}

static void
gst_iio_dmabuf_src_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstIioDmabufSrc *self = GST_IIO_DMABUF_SRC (object);

  GST_OBJECT_LOCK (self);
  if (gst_iio_dmabuf_object_set_property (&self->obj, prop_id, value, pspec)
      || !gst_iio_dmabuf_settings_settable (GST_ELEMENT (self), pspec)) {
    GST_OBJECT_UNLOCK (self);
    return;
  }
  switch (prop_id) {
    case PROP_SAMPLING_FREQUENCY:
      self->sampling_frequency = g_value_get_uint (value);
      break;
    case PROP_ATTRIBUTES:
      g_clear_pointer (&self->attributes, gst_structure_free);
      if (gst_value_get_structure (value))
        self->attributes = gst_structure_copy (gst_value_get_structure (value));
      break;
    case PROP_TRIGGER:
      g_free (self->trigger);
      self->trigger = g_value_dup_string (value);
      break;
    case PROP_PROVIDE_CLOCK:
      self->provide_clock = g_value_get_boolean (value);
      update_provider (self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_iio_dmabuf_src_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstIioDmabufSrc *self = GST_IIO_DMABUF_SRC (object);

  GST_OBJECT_LOCK (self);
  if (gst_iio_dmabuf_object_get_property (&self->obj, prop_id, value)) {
    GST_OBJECT_UNLOCK (self);
    return;
  }
  switch (prop_id) {
    case PROP_SAMPLING_FREQUENCY:
      g_value_set_uint (value, self->sampling_frequency);
      break;
    case PROP_ATTRIBUTES:
      gst_value_set_structure (value, self->attributes);
      break;
    case PROP_TRIGGER:
      g_value_set_string (value, self->trigger);
      break;
    case PROP_PROVIDE_CLOCK:
      g_value_set_boolean (value, self->provide_clock);
      break;
    case PROP_STATS:
      g_value_take_boxed (value, stats_structure (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_iio_dmabuf_src_finalize (GObject * object)
{
  GstIioDmabufSrc *self = GST_IIO_DMABUF_SRC (object);

  gst_iio_dmabuf_object_clear (&self->obj);
  g_clear_pointer (&self->attributes, gst_structure_free);
  g_free (self->trigger);
  gst_iio_timeline_free (self->timeline);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
install_properties (GObjectClass * gobject_class)
{
  gst_iio_dmabuf_settings_install (gobject_class, FALSE);
  /**
   * GstIioDmabufSrc:sampling-frequency:
   *
   * Written to the device's sampling_frequency at start; 0 leaves it.
   */
  properties[PROP_SAMPLING_FREQUENCY] = g_param_spec_uint
      ("sampling-frequency", "Sampling frequency",
      "Sampling frequency in Hz to set on the device (0: leave as is)", 0,
      G_MAXINT32, DEFAULT_SAMPLING_FREQUENCY, GST_IIO_DMABUF_SETTING);
  /**
   * GstIioDmabufSrc:attributes:
   *
   * Other device attributes to write at start, e.g.
   * "attrs,waveform=sine".
   */
  properties[PROP_ATTRIBUTES] = g_param_spec_boxed ("attributes",
      "Attributes", "Device attributes to write at start (a GstStructure)",
      GST_TYPE_STRUCTURE, GST_IIO_DMABUF_SETTING);
  /**
   * GstIioDmabufSrc:trigger:
   *
   * The IIO trigger a triggered device (most SPI and I2C converters)
   * takes its scans on, written to trigger/current_trigger at start and
   * put back at stop; unset keeps the one selected. Such a device with no
   * trigger selected is an error that lists the triggers present.
   */
  properties[PROP_TRIGGER] = g_param_spec_string ("trigger", "Trigger",
      "IIO trigger to take scans on (triggered devices; unset: as selected)",
      NULL, GST_IIO_DMABUF_SETTING);
  /**
   * GstIioDmabufSrc:provide-clock:
   *
   * Offer the pipeline a clock driven by the samples the converter
   * delivers, so that it runs on the converter's crystal.
   */
  properties[PROP_PROVIDE_CLOCK] = g_param_spec_boolean ("provide-clock",
      "Provide clock", "Provide a clock driven by the converter's samples",
      DEFAULT_PROVIDE_CLOCK, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  /**
   * GstIioDmabufSrc:stats:
   *
   * blocks, bytes, copies, failed-blocks, overruns (times the converter
   * ran out of blocks), lost-samples (dropped in overruns and failed
   * blocks), io-mode and dmabuf-origin (dma-heap, udmabuf, drm or none).
   */
  properties[PROP_STATS] = g_param_spec_boxed ("stats", "Statistics",
      "Blocks, bytes, copies, failed blocks, overruns, lost samples, "
      "I/O mode", GST_TYPE_STRUCTURE,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_property (gobject_class, PROP_SAMPLING_FREQUENCY,
      properties[PROP_SAMPLING_FREQUENCY]);
  g_object_class_install_property (gobject_class, PROP_ATTRIBUTES,
      properties[PROP_ATTRIBUTES]);
  g_object_class_install_property (gobject_class, PROP_TRIGGER,
      properties[PROP_TRIGGER]);
  g_object_class_install_property (gobject_class, PROP_PROVIDE_CLOCK,
      properties[PROP_PROVIDE_CLOCK]);
  g_object_class_install_property (gobject_class, PROP_STATS,
      properties[PROP_STATS]);
}

static void
gst_iio_dmabuf_src_class_init (GstIioDmabufSrcClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSrcClass *basesrc_class = GST_BASE_SRC_CLASS (klass);
  GstPushSrcClass *pushsrc_class = GST_PUSH_SRC_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_iio_dmabuf_src_debug, "iiodmabufsrc", 0,
      "IIO DMABUF source");

  gobject_class->set_property = gst_iio_dmabuf_src_set_property;
  gobject_class->get_property = gst_iio_dmabuf_src_get_property;
  gobject_class->finalize = gst_iio_dmabuf_src_finalize;
  install_properties (gobject_class);

  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_iio_dmabuf_src_change_state);
  element_class->provide_clock =
      GST_DEBUG_FUNCPTR (gst_iio_dmabuf_src_provide_clock);
  basesrc_class->start = GST_DEBUG_FUNCPTR (gst_iio_dmabuf_src_start);
  basesrc_class->stop = GST_DEBUG_FUNCPTR (gst_iio_dmabuf_src_stop);
  basesrc_class->get_caps = GST_DEBUG_FUNCPTR (gst_iio_dmabuf_src_get_caps);
  basesrc_class->fixate = GST_DEBUG_FUNCPTR (gst_iio_dmabuf_src_fixate);
  basesrc_class->set_caps = GST_DEBUG_FUNCPTR (gst_iio_dmabuf_src_set_caps);
  basesrc_class->query = GST_DEBUG_FUNCPTR (gst_iio_dmabuf_src_query);
  basesrc_class->decide_allocation =
      GST_DEBUG_FUNCPTR (gst_iio_dmabuf_src_decide_allocation);
  basesrc_class->unlock = GST_DEBUG_FUNCPTR (gst_iio_dmabuf_src_unlock);
  basesrc_class->unlock_stop =
      GST_DEBUG_FUNCPTR (gst_iio_dmabuf_src_unlock_stop);
  pushsrc_class->create = GST_DEBUG_FUNCPTR (gst_iio_dmabuf_src_create);

  gst_element_class_add_pad_template (element_class,
      gst_pad_template_new ("src", GST_PAD_SRC, GST_PAD_ALWAYS,
          gst_iio_dmabuf_caps_template ()));
  gst_element_class_set_static_metadata (element_class,
      "IIO DMABUF source", "Source/Hardware",
      "Captures from an IIO input buffer through DMABUFs, without a copy",
      "gst-iiodmabuf developers");
}

static void
gst_iio_dmabuf_src_init (GstIioDmabufSrc * self)
{
  gst_iio_dmabuf_object_init (&self->obj, GST_ELEMENT (self), FALSE,
      offered_caps);
  self->sampling_frequency = DEFAULT_SAMPLING_FREQUENCY;
  self->provide_clock = DEFAULT_PROVIDE_CLOCK;
  self->timeline = gst_iio_timeline_new ("GstIioDmabufSrcClock");
  /* GST_ELEMENT_FLAG_PROVIDE_CLOCK once the device's rate is known */
  gst_base_src_set_live (GST_BASE_SRC (self), TRUE);
  gst_base_src_set_format (GST_BASE_SRC (self), GST_FORMAT_TIME);
  gst_pad_add_probe (GST_BASE_SRC_PAD (self),
      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, tell_untold, self, NULL);
}
