/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:element-iiodmabufsink
 * @title: iiodmabufsink
 *
 * Plays to an IIO output buffer (a DAC, an SDR transmitter). A buffer whose
 * memory is a DMABUF goes to the converter as it is: it is attached to the
 * IIO buffer once and enqueued, and upstream gets it back when the
 * converter has read it. The element offers upstream a pool of DMABUFs, so
 * producers write straight into them (blocks of samples-per-block scans, or
 * of the upstream source's blocksize if that is larger and reaches the sink
 * only through transforms, which keep one buffer for each); other memory is
 * copied into a pooled DMABUF (counted in #GstIioDmabufSink:stats).
 * Drivers without DMABUF support get write() (io-mode=auto).
 *
 * The converter's clock paces playback: the element waits for a block to
 * complete when #GstIioDmabufSink:num-blocks are in flight. EOS is posted
 * once every block has been played.
 *
 * With #GstIioDmabufSink:cyclic the first buffer is repeated by the
 * converter until the element stops; later buffers are dropped (counted as
 * dropped) and EOS is not posted, as with `iio_writedev -c`: the output
 * goes on until the pipeline is stopped.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 audiotestsrc num-buffers=100 \
 *     ! audio/x-raw,format=S16LE,channels=2,rate=48000 \
 *     ! iiodmabufsink device=iio-sim-dac
 * gst-launch-1.0 iiodmabufsrc device=iio-sim-adc channels=voltage0,voltage1 \
 *     ! iiodmabufsink device=iio-sim-dac
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstiiodmabufsink.h"
#include "gstiiodmabufallocator.h"
#include "gstiiodmabufcaps.h"
#include "gstiiodmabufelements.h"
#include "gstiiodmabufoutqueue.h"
#include "gstiiodmabuftimeline.h"
#include "gstiiodmabufobject.h"
#include "gstiiodmabufpoll.h"
#include "iiodmabuf-device.h"
#include "iiodmabuf-dmabuf.h"

#include <gst/audio/audio.h>
#include <gst/base/gstbasesrc.h>
#include <gst/base/gstbasetransform.h>

#include <errno.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (gst_iio_dmabuf_sink_debug);
#define GST_CAT_DEFAULT gst_iio_dmabuf_sink_debug

#define DEFAULT_CYCLIC FALSE
/* Cyclic output goes to the DAC in this many DMABUFs, each holding the
 * waveform as often as it takes to last CYCLIC_MIN_DURATION: while one is
 * queued again (a driver that does not repeat), the others play. */
#define CYCLIC_COPIES 3
#define CYCLIC_MIN_DURATION (50 * GST_MSECOND)
/* ... or, the rate unknown, this many bytes; and never more */
#define CYCLIC_MIN_BYTES (64 * 1024)
#define CYCLIC_MAX_BYTES (16 * 1024 * 1024)
#define DEFAULT_PROVIDE_CLOCK TRUE
/* this many failed blocks in a row is a failed device, not a glitch */
#define MAX_FAILED_IN_A_ROW 16
/* failed blocks are told at once, then at most this often (with how many
 * failed since), and at the end of the stream: a converter that drops a
 * block now and then for a week must not flood the bus (iiodmabufsrc's
 * interval too) */
#define FAILED_WARNING_INTERVAL (5 * GST_SECOND)
/* how often a write() drain looks at the kernel's queue */
#define DRAIN_POLL_INTERVAL (2 * GST_MSECOND)

enum
{
  PROP_CYCLIC = GST_IIO_DMABUF_N_SETTINGS,
  PROP_PROVIDE_CLOCK,
  PROP_STATS,
  N_PROPERTIES
};

static GParamSpec *properties[N_PROPERTIES];

typedef struct
{
  guint64 blocks;
  guint64 bytes;
  guint64 imports;              /* upstream DMABUFs sent as they were */
  guint64 pooled;               /* upstream wrote into our pool's DMABUFs */
  guint64 copies;
  guint64 dropped;              /* buffers after the cyclic one */
} GstIioDmabufSinkStats;

struct _GstIioDmabufSink
{
  GstBaseSink parent;

  GstIioDmabufObject obj;       /* settings, device, I/O mode, geometry */

  /* properties (object lock) */
  gboolean cyclic;
  gboolean provide_clock;

  GstIioTimeline *timeline;     /* the clock of what the converter played */

  /* streaming */
  GstBufferPool *copy_pool;
  GstIioOutQueue *queue;        /* DMABUF mode; set under object lock */
  gboolean cyclic_queued;
  gboolean render_failed;       /* an error posted: EOS plays nothing more */
  gboolean warned_no_fit;
  GstBuffer *pending;           /* DMABUF mode: a copy block being filled */
  gsize pending_bytes;
  gsize rw_partial;             /* bytes in the kernel's unfinished block */
  guint64 fence_errors_seen;
  guint failed_in_a_row;
  guint64 failed_untold;        /* failed blocks no warning told yet */
  gint64 failed_told_at;        /* monotonic time of the last such warning
                                 * (us); -1 before the first */
  GstIioDmabufSinkStats stats;  /* object lock */
};

#define gst_iio_dmabuf_sink_parent_class parent_class
G_DEFINE_TYPE (GstIioDmabufSink, gst_iio_dmabuf_sink, GST_TYPE_BASE_SINK);
GST_ELEMENT_REGISTER_DEFINE (iiodmabufsink, "iiodmabufsink", GST_RANK_NONE,
    GST_TYPE_IIO_DMABUF_SINK);

/* --- the device ----------------------------------------------------------- */

static gboolean
enable_converter (gpointer user_data, GError ** error)
{
  GstIioDmabufSink *self = user_data;

  if (!gst_iio_device_set_enabled (self->obj.device, TRUE, error))
    return FALSE;
  self->obj.enabled = TRUE;
  return TRUE;
}

/* Disabling ends every transfer; the blocks in flight are let go. Before
 * the converter started, nothing was queued to the kernel (see
 * gstiiodmabufoutqueue.c): nothing stale is ever played. */
static void
stop_converter (GstIioDmabufSink * self)
{
  /* nothing may be queued again to a disabled buffer */
  if (self->queue)
    gst_iio_out_queue_stop_cyclic (self->queue);
  gst_iio_dmabuf_object_disable (&self->obj);
  self->cyclic_queued = FALSE;
  self->rw_partial = 0;
  gst_clear_buffer (&self->pending);
  self->pending_bytes = 0;
  if (self->queue)
    gst_iio_out_queue_abort (self->queue);
}

static GstBufferPool *
new_pool (GstIioDmabufSink * self, GstCaps * caps, gsize size)
{
  GstBufferPool *pool = gst_buffer_pool_new ();
  GstStructure *config = gst_buffer_pool_get_config (pool);

  /* num-blocks in flight, one being filled, one being handed over */
  gst_buffer_pool_config_set_params (config, caps, size,
      self->obj.active.num_blocks + 2, 0);
  gst_buffer_pool_config_set_allocator (config, self->obj.allocator, NULL);
  if (!gst_buffer_pool_set_config (pool, config))
    gst_clear_object (&pool);
  return pool;
}

/* How many times larger an element's output buffers are than its input
 * ones: 1 through the same caps (capsfilter, volume), the ratio of bytes per
 * second between raw audio caps (audioconvert, audioresample), 0 when it
 * cannot be told. The element asks for a pool while it handles its input
 * caps, before its sink pad has them: they are read from the pad before. */
static gdouble
hop_ratio (GstPad * sinkpad, GstPad * srcpad, gboolean * resampled)
{
  GstPad *before = gst_pad_get_peer (sinkpad);
  GstCaps *in = before ? gst_pad_get_current_caps (before) : NULL;
  GstCaps *out = gst_pad_get_current_caps (srcpad);
  GstAudioInfo ai, ao;
  gdouble ratio = 0;

  if (in && out && gst_caps_is_equal (in, out))
    ratio = 1;
  else if (in && out && gst_audio_info_from_caps (&ai, in)
      && gst_audio_info_from_caps (&ao, out)) {
    ratio = ((gdouble) ao.bpf * ao.rate) / ((gdouble) ai.bpf * ai.rate);
    *resampled |= ai.rate != ao.rate;
  }
  gst_clear_caps (&in);
  gst_clear_caps (&out);
  gst_clear_object (&before);
  return ratio;
}

/* The bytes each buffer upstream fills into a pool we offer, when base
 * classes alone tell it: a GstBaseSrc (audiotestsrc, iiodmabufsrc) makes
 * buffers of its blocksize, and each GstBaseTransform on the way
 * (capsfilter, audioconvert, audioresample, volume) makes one buffer of
 * each it gets, scaled by what its caps do to the size. Anything else (a
 * queue, a decoder, a mixer) may cut or join buffers, and nothing says how:
 * -1, no pool, as a pool smaller than what a producer fills into it would
 * be written past its end. @resampled: a rate changes on the way, so
 * sizes vary by a frame or so. */
static gdouble
upstream_blocksize (GstPad * sinkpad, gboolean * resampled)
{
  GstPad *pad = gst_object_ref (sinkpad);
  gdouble ratio = 1, blocksize = -1;
  guint depth;

  *resampled = FALSE;
  for (depth = 0; depth < 16 && pad && ratio > 0; depth++) {
    GstPad *peer = gst_pad_get_peer (pad);
    GstElement *element = peer ? gst_pad_get_parent_element (peer) : NULL;

    gst_clear_object (&pad);
    if (element && GST_IS_BASE_SRC (element))
      blocksize = ratio * gst_base_src_get_blocksize (GST_BASE_SRC (element));
    else if (element && GST_IS_BASE_TRANSFORM (element)) {
      pad = gst_object_ref (GST_BASE_TRANSFORM_SINK_PAD (element));
      ratio *= hop_ratio (pad, peer, resampled);
      GST_DEBUG_OBJECT (sinkpad, "through %" GST_PTR_FORMAT ": x%f", element,
          ratio);
    }
    gst_clear_object (&element);
    gst_clear_object (&peer);
  }
  gst_clear_object (&pad);
  return blocksize;
}

/* --- starting and stopping ------------------------------------------------ */

/* The converter played this far: the clock follows (DMABUF mode). */
static void
played (gpointer user_data, GstClockTime played, gint64 done_ns)
{
  GstIioDmabufSink *self = user_data;

  gst_iio_timeline_advance_clock (self->timeline, played, done_ns);
}

/* The clock runs on from now; in DMABUF mode, as the converter plays. */
static void
start_clock (GstIioDmabufSink * self)
{
  gst_iio_timeline_start (self->timeline, self->obj.rate,
      self->obj.active.samples_per_block, self->obj.active.num_blocks, -1,
      NULL, self->obj.scan_bytes);
  gst_iio_timeline_advance_clock (self->timeline, 0,
      g_get_monotonic_time () * 1000);
}

/* DMABUF mode: blocks are held, then queued, and the converter started
 * once enough are; write() mode: at the first write (the caps may set
 * the rate until then). */
static gboolean
start_io (GstIioDmabufSink * self)
{
  GstIioOutQueue *queue;

  start_clock (self);
  if (!self->obj.use_dmabuf) {
    self->rw_partial = 0;
    return TRUE;
  }
  queue = gst_iio_out_queue_new (self->obj.device->buffer_fd,
      self->obj.active.num_blocks,
      (guint64) self->obj.scan_bytes * self->obj.rate,
      self->obj.active.timeout, enable_converter, self);
  gst_iio_out_queue_set_progress (queue, played);
  self->copy_pool = new_pool (self, NULL, self->obj.block_bytes);
  GST_OBJECT_LOCK (self);
  self->queue = queue;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static gboolean
gst_iio_dmabuf_sink_start (GstBaseSink * sink)
{
  GstIioDmabufSink *self = GST_IIO_DMABUF_SINK (sink);

  GST_OBJECT_LOCK (self);
  memset (&self->stats, 0, sizeof self->stats);
  GST_OBJECT_UNLOCK (self);
  self->cyclic_queued = FALSE;
  self->render_failed = FALSE;
  self->fence_errors_seen = 0;
  self->failed_in_a_row = 0;
  self->failed_untold = 0;
  self->failed_told_at = -1;
  if (!gst_iio_dmabuf_object_start (&self->obj))
    return FALSE;
  /* a rate negotiated last time was put back at stop */
  gst_iio_dmabuf_object_read_rate (&self->obj);
  gst_iio_dmabuf_object_update_offered (&self->obj);
  if (gst_iio_dmabuf_object_configure (&self->obj) && start_io (self))
    return TRUE;
  gst_iio_dmabuf_object_stop (&self->obj);
  return FALSE;
}

static gboolean
gst_iio_dmabuf_sink_stop (GstBaseSink * sink)
{
  GstIioDmabufSink *self = GST_IIO_DMABUF_SINK (sink);
  GstIioOutQueue *queue;

  stop_converter (self);
  GST_OBJECT_LOCK (self);
  queue = g_steal_pointer (&self->queue);
  GST_OBJECT_UNLOCK (self);
  g_clear_pointer (&queue, gst_iio_out_queue_free);
  if (self->copy_pool) {
    gst_buffer_pool_set_active (self->copy_pool, FALSE);
    gst_clear_object (&self->copy_pool);
  }
  gst_iio_dmabuf_object_stop (&self->obj);
  return TRUE;
}

/* --- negotiation ---------------------------------------------------------- */

/* The caps of the enabled channels, at any rate the device offers in its
 * sampling_frequency_available (where it tells its rate); without a
 * channels property, of the first N of them too, all preferred. Made by
 * the thread that owns the device, for any to read. */
static GstCaps *
offered_caps (GstElement * element)
{
  GstIioDmabufSink *self = GST_IIO_DMABUF_SINK (element);
  GValue rates = G_VALUE_INIT;
  gchar *available = NULL;
  gboolean have_rates;
  GstCaps *caps;

  if (self->obj.rate)
    available = gst_iio_device_read_attr (self->obj.device,
        "sampling_frequency_available", NULL);
  have_rates = available && gst_iio_dmabuf_rates_parse (available, &rates);
  caps = gst_iio_dmabuf_object_offered_caps (&self->obj,
      have_rates ? &rates : NULL, TRUE);
  if (have_rates)
    g_value_unset (&rates);
  g_free (available);
  return gst_iio_dmabuf_caps_allow_positions (caps);
}

/* What the device offers (the template while closed). From any thread. */
static GstCaps *
device_caps (GstIioDmabufSink * self)
{
  GstCaps *caps = gst_iio_dmabuf_object_get_offered (&self->obj);

  return caps ? caps : gst_pad_get_pad_template_caps (GST_BASE_SINK_PAD
      (self));
}

/* For messages: the device's preferred caps, without the alternatives. */
static gchar *
first_caps_string (const GstCaps * caps)
{
  GstCaps *first;
  gchar *text;

  if (gst_caps_is_empty (caps))
    return g_strdup ("nothing");
  first = gst_caps_copy_nth (caps, 0);
  text = gst_caps_to_string (first);
  gst_caps_unref (first);
  return text;
}

/* Upstream then fails with a bare not-negotiated: say what does not fit. */
static void
warn_no_fit (GstIioDmabufSink * self, GstCaps * offered, GstCaps * wanted)
{
  gchar *got, *need;

  if (self->warned_no_fit)
    return;
  self->warned_no_fit = TRUE;
  got = gst_caps_to_string (offered);
  need = first_caps_string (wanted);
  GST_ELEMENT_WARNING (self, STREAM, FORMAT, ("Upstream offers %s, but IIO "
          "device %s takes %s with its enabled channels. Convert before the "
          "sink (audioconvert, audioresample) or choose the channels with "
          "channels=", got, self->obj.device->name, need), (NULL));
  g_free (got);
  g_free (need);
}

/* From any thread: what the open device offers, never the device. */
static GstCaps *
gst_iio_dmabuf_sink_get_caps (GstBaseSink * sink, GstCaps * filter)
{
  GstIioDmabufSink *self = GST_IIO_DMABUF_SINK (sink);

  return gst_iio_dmabuf_caps_filter (device_caps (self), filter);
}

/* Accepts what set_caps takes: any caps the device offers, at any time
 * (a new rate or channel count plays after what is queued). From any
 * thread. */
static gboolean
gst_iio_dmabuf_sink_query (GstBaseSink * sink, GstQuery * query)
{
  GstIioDmabufSink *self = GST_IIO_DMABUF_SINK (sink);
  GstCaps *caps, *want;

  if (GST_QUERY_TYPE (query) != GST_QUERY_ACCEPT_CAPS)
    return GST_BASE_SINK_CLASS (parent_class)->query (sink, query);
  gst_query_parse_accept_caps (query, &caps);
  want = device_caps (self);
  gst_query_set_accept_caps_result (query, gst_caps_is_fixed (caps)
      && gst_caps_can_intersect (caps, want));
  gst_caps_unref (want);
  return TRUE;
}

/* Upstream is about to negotiate: if nothing it can send fits the device,
 * say so before it fails with a bare not-negotiated. */
static void
check_upstream_fits (GstIioDmabufSink * self)
{
  GstPad *pad = GST_BASE_SINK_PAD (self);
  GstCaps *offered = gst_pad_peer_query_caps (pad, NULL);
  GstCaps *want = device_caps (self);

  if (!gst_caps_is_empty (offered) && !gst_caps_can_intersect (offered, want))
    warn_no_fit (self, offered, want);
  gst_caps_unref (offered);
  gst_caps_unref (want);
}

/* Whether the device offers @caps; if not, an error says what it takes. */
static gboolean
fits_device (GstIioDmabufSink * self, GstCaps * caps)
{
  GstCaps *want = device_caps (self);
  gboolean ok = gst_caps_can_intersect (caps, want);

  if (!ok) {
    gchar *got = gst_caps_to_string (caps), *need = first_caps_string (want);

    GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("The stream does not fit IIO "
            "device %s: it sends %s, the device's enabled channels take %s. "
            "Convert before the sink (audioconvert, audioresample) or choose "
            "the channels with channels=", self->obj.device->name, got, need),
        (NULL));
    g_free (got);
    g_free (need);
  }
  gst_caps_unref (want);
  return ok;
}

static GstFlowReturn drain (GstIioDmabufSink * self);

/* The blocks now take @channels (the buffer disabled): the buffer's
 * geometry is written again, and copies go to blocks of the new size. */
static gboolean
select_channels (GstIioDmabufSink * self, guint channels)
{
  gst_iio_device_select_first (self->obj.device, channels);
  if (!gst_iio_dmabuf_object_reconfigure (&self->obj))
    return FALSE;
  if (self->copy_pool) {
    gst_buffer_pool_set_active (self->copy_pool, FALSE);
    gst_object_unref (self->copy_pool);
    self->copy_pool = new_pool (self, NULL, self->obj.block_bytes);
  }
  return TRUE;
}

/* The stream's rate (if the converter tells its own) and channel count
 * become the converter's: what is queued plays out first, at the old
 * ones; the converter stops, takes the new ones, and starts again with
 * the next block, as audio sinks do. A flush meanwhile drops what is
 * queued, as it would anyway. */
static gboolean
renegotiate (GstIioDmabufSink * self, guint rate, guint channels)
{
  GST_DEBUG_OBJECT (self, "%s: from %u Hz, %u channels to %u Hz, %u "
      "channels", self->obj.device->name, self->obj.rate,
      gst_iio_device_n_enabled (self->obj.device), rate, channels);
  if (drain (self) == GST_FLOW_ERROR) {
    self->render_failed = TRUE;
    return FALSE;
  }
  stop_converter (self);
  if (rate != self->obj.rate
      && !gst_iio_dmabuf_object_set_rate (&self->obj, rate))
    return FALSE;
  if (channels != gst_iio_device_n_enabled (self->obj.device)
      && !select_channels (self, channels))
    return FALSE;
  if (self->queue)
    gst_iio_out_queue_set_bytes_per_second (self->queue,
        (guint64) self->obj.scan_bytes * self->obj.rate);
  return TRUE;
}

static gboolean
gst_iio_dmabuf_sink_set_caps (GstBaseSink * sink, GstCaps * caps)
{
  GstIioDmabufSink *self = GST_IIO_DMABUF_SINK (sink);
  const GstStructure *s = gst_caps_get_structure (caps, 0);
  guint n = gst_iio_device_n_enabled (self->obj.device), rate = 0;
  gint channels = n;

  if (self->cyclic_queued) {    /* it plays on; later buffers are dropped */
    GST_INFO_OBJECT (self, "cyclic output plays on in its own caps");
    return TRUE;
  }
  if (!fits_device (self, caps))
    return FALSE;
  /* a converter that tells no rate is left at it */
  if (!self->obj.rate || !gst_iio_dmabuf_caps_parse_rate (caps, &rate))
    rate = self->obj.rate;
  gst_structure_get_int (s, "channels", &channels);
  if (rate == self->obj.rate && (guint) channels == n)
    return TRUE;
  return renegotiate (self, rate, channels);
}

static gboolean
gst_iio_dmabuf_sink_propose_allocation (GstBaseSink * sink, GstQuery * query)
{
  GstIioDmabufSink *self = GST_IIO_DMABUF_SINK (sink);
  GstBufferPool *pool = NULL;
  gsize size = self->obj.block_bytes;
  GstCaps *caps;
  gboolean need_pool;
  gdouble upstream;
  gboolean resampled;

  if (!self->obj.use_dmabuf)
    return TRUE;
  /* Pooled blocks may be larger than samples-per-block: each is enqueued
   * whole. They must be, for a source that fills its own size into them. */
  upstream = upstream_blocksize (GST_BASE_SINK_PAD (sink), &resampled);
  if (upstream < 0) {
    GST_INFO_OBJECT (self, "cannot tell how large upstream's buffers are: "
        "no pool offered, they will be copied into blocks");
    return TRUE;
  }
  if (resampled)                /* one frame more now and then */
    upstream += 2 * self->obj.scan_bytes;
  if (upstream > size) {
    gdouble scans = upstream / self->obj.scan_bytes;

    size = (gsize) scans;       /* whole scans, rounded up */
    size = (size + (size < scans)) * self->obj.scan_bytes;
    GST_INFO_OBJECT (self, "upstream fills up to %.0f bytes a buffer: pool "
        "blocks of %" G_GSIZE_FORMAT " bytes", upstream, size);
  }
  gst_query_parse_allocation (query, &caps, &need_pool);
  if (need_pool)
    pool = new_pool (self, caps, size);
  gst_query_add_allocation_pool (query, pool, size,
      self->obj.active.num_blocks + 2, 0);
  gst_query_add_allocation_param (query, self->obj.allocator, NULL);
  if (pool)
    gst_object_unref (pool);
  return TRUE;
}

/* --- write() -------------------------------------------------------------- */

/* write() fills the kernel's own blocks, half the buffer's length each */
static gsize
kernel_block_bytes (GstIioDmabufSink * self)
{
  gsize bytes = (gsize) (self->obj.device->length / 2) * self->obj.scan_bytes;

  return bytes ? bytes : self->obj.block_bytes;
}

/* PLAYING -> PAUSED unlocked a wait: hold the data until PLAYING again
 * (or a flush), as audio sinks do. Called from render. */
static GstFlowReturn
wait_resume (GstIioDmabufSink * self, GstFlowReturn ret)
{
  if (ret != GST_FLOW_FLUSHING)
    return ret;
  GST_DEBUG_OBJECT (self, "unlocked: waiting to play again");
  return gst_base_sink_wait_preroll (GST_BASE_SINK (self));
}

/* Writes all of @data; with @resume, a pause meanwhile holds it until
 * PLAYING again (from render only: it needs the preroll lock). */
static GstFlowReturn
write_bytes (GstIioDmabufSink * self, const guint8 * data, gsize size,
    gboolean resume)
{
  GstFlowReturn ret;
  gsize done = 0;

  do {
    ret = gst_iio_dmabuf_object_transfer (&self->obj, (guint8 *) data, size,
        &done);
  } while (resume && ret == GST_FLOW_FLUSHING
      && wait_resume (self, ret) == GST_FLOW_OK);
  self->rw_partial = (self->rw_partial + done) % kernel_block_bytes (self);
  return ret;
}

static GstFlowReturn
write_buffer (GstIioDmabufSink * self, GstBuffer * buf)
{
  GstFlowReturn ret;
  GstMapInfo map;

  /* write() needs the kernel's own blocks, made at enable */
  if (!self->obj.enabled && !gst_iio_dmabuf_object_enable (&self->obj))
    return GST_FLOW_ERROR;
  if (!gst_buffer_map (buf, &map, GST_MAP_READ)) {
    GST_ELEMENT_ERROR (self, RESOURCE, WRITE, ("Cannot read the buffer's "
            "memory"), (NULL));
    return GST_FLOW_ERROR;
  }
  ret = write_bytes (self, map.data, map.size, TRUE);
  gst_buffer_unmap (buf, &map);
  return ret;
}

/* The kernel sends a write()'s block only once it is full: fill the last
 * one with zeros, then wait until the kernel has every block back. */
static GstFlowReturn
drain_writes (GstIioDmabufSink * self)
{
  GstClockTime waited = 0;
  gsize block = kernel_block_bytes (self);
  guint64 idle = 2 * (guint64) block, free_bytes;
  GstFlowReturn ret = GST_FLOW_OK;
  gchar *text;

  if (!self->obj.enabled)       /* nothing was written */
    return GST_FLOW_OK;
  if (self->rw_partial) {
    guint8 *zeros = g_malloc0 (block - self->rw_partial);

    ret = write_bytes (self, zeros, block - self->rw_partial, FALSE);
    g_free (zeros);
  }
  while (ret == GST_FLOW_OK && waited < self->obj.active.timeout) {
    text = gst_iio_device_read_attr (self->obj.device, "data_available", NULL);
    free_bytes = text ? g_ascii_strtoull (text, NULL, 10) : idle;
    g_free (text);
    if (free_bytes >= idle)
      return GST_FLOW_OK;
    if (gst_iio_poll_wait (self->obj.poll, DRAIN_POLL_INTERVAL) < 0
        && errno == EBUSY)
      return GST_FLOW_FLUSHING;
    waited += DRAIN_POLL_INTERVAL;
  }
  if (ret == GST_FLOW_OK)
    GST_ELEMENT_WARNING (self, RESOURCE, WRITE, ("IIO device %s did not play "
            "its last blocks within %" GST_TIME_FORMAT, self->obj.device->name,
            GST_TIME_ARGS (self->obj.active.timeout)), (NULL));
  return ret;
}

/* --- DMABUF blocks -------------------------------------------------------- */

/* Failed blocks are counted, and told in a warning: at once for the
 * first, then at most every FAILED_WARNING_INTERVAL, and with @flush (the
 * end of the stream) whatever is left untold. */
static void
check_fences (GstIioDmabufSink * self, gboolean flush)
{
  GstIioOutQueueCounts counts;
  gint64 now = g_get_monotonic_time ();
  guint64 failed;

  gst_iio_out_queue_get_counts (self->queue, &counts);
  failed = counts.fence_errors - self->fence_errors_seen;
  self->fence_errors_seen = counts.fence_errors;
  if (!failed)
    self->failed_in_a_row = 0;
  self->failed_in_a_row += failed;
  self->failed_untold += failed;
  if (!self->failed_untold || (!flush && self->failed_told_at >= 0
          && now - self->failed_told_at < FAILED_WARNING_INTERVAL /
          GST_USECOND))
    return;
  GST_ELEMENT_WARNING (self, RESOURCE, WRITE, ("%" G_GUINT64_FORMAT " block(s) "
          "to %s failed (the last: %s): the converter skipped them",
          self->failed_untold, self->obj.device->name,
          g_strerror (-counts.last_error)), ("%" G_GUINT64_FORMAT " failed "
          "in all; told at most every %" GST_TIME_FORMAT, counts.fence_errors,
          GST_TIME_ARGS (FAILED_WARNING_INTERVAL)));
  self->failed_untold = 0;
  self->failed_told_at = now;
}

/* Queues @block (transfer none). A FLUSHING push queued nothing: after a
 * pause it is pushed again. */
static GstFlowReturn
push_block (GstIioDmabufSink * self, GstBuffer * block)
{
  GError *error = NULL;
  GstFlowReturn ret;
  gboolean gone;

  for (;;) {
    ret = gst_iio_out_queue_push (self->queue, gst_buffer_ref (block),
        self->cyclic, &error);
    if (ret != GST_FLOW_FLUSHING)
      break;
    ret = wait_resume (self, ret);
    if (ret != GST_FLOW_OK)
      return ret;
  }
  if (ret != GST_FLOW_ERROR)
    return ret;
  /* a removed DAC may leave a block that never completes: a timeout */
  gone = g_error_matches (error, GST_IIO_DEVICE_ERROR,
      GST_IIO_DEVICE_ERROR_NOT_FOUND)
      || !g_file_test (self->obj.device->sysfs_dir, G_FILE_TEST_IS_DIR);
  GST_ELEMENT_ERROR (self, RESOURCE, WRITE, ("Cannot play to IIO device "
          "%s: %s%s", self->obj.device->name, error->message, gone ?
          ". The device was removed or its driver unbound" : ""), (NULL));
  g_clear_error (&error);
  return ret;
}

/* Queues @block (transfer none), holding it across a pause. */
static GstFlowReturn
send_block (GstIioDmabufSink * self, GstBuffer * block)
{
  GstFlowReturn ret = push_block (self, block);

  if (ret != GST_FLOW_OK)       /* also GST_IIO_OUT_QUEUE_NOT_IMPORTED */
    return ret;
  self->cyclic_queued = self->cyclic;
  check_fences (self, FALSE);
  if (self->failed_in_a_row < MAX_FAILED_IN_A_ROW)
    return GST_FLOW_OK;
  GST_ELEMENT_ERROR (self, RESOURCE, WRITE, ("%u blocks in a row failed: IIO "
          "device %s is failing or was removed, or its DMA engine needs "
          "physically contiguous memory: then set dma-heap to a CMA heap "
          "(default_cma_region, linux,cma or reserved)", self->failed_in_a_row,
          self->obj.device->name), (NULL));
  return GST_FLOW_ERROR;
}

static GstFlowReturn
acquire_copy_block (GstIioDmabufSink * self, GstBuffer ** block)
{
  if (!self->copy_pool || (!gst_buffer_pool_is_active (self->copy_pool)
          && !gst_buffer_pool_set_active (self->copy_pool, TRUE))) {
    GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT, ("Cannot allocate "
            "DMABUFs of %" G_GSIZE_FORMAT " bytes: lower samples-per-block, "
            "or set dmabuf-origin", self->obj.block_bytes), ("DMABUFs from %s",
            gst_iio_dmabuf_allocator_get_origin (self->obj.allocator)));
    return GST_FLOW_ERROR;
  }
  return gst_buffer_pool_acquire_buffer (self->copy_pool, block, NULL);
}

/* Copies @size bytes of @buf from @offset into @block at @dest. */
static GstFlowReturn
copy_into (GstIioDmabufSink * self, GstBuffer * block, gsize dest,
    GstBuffer * buf, gsize offset, gsize size)
{
  GstMapInfo map;

  if (!gst_buffer_map (block, &map, GST_MAP_WRITE)) {
    GST_ELEMENT_ERROR (self, RESOURCE, WRITE, ("Cannot write into a DMABUF "
            "block for IIO device %s", self->obj.device->name), (NULL));
    return GST_FLOW_ERROR;
  }
  if (gst_buffer_extract (buf, offset, map.data + dest, size) != size) {
    gst_buffer_unmap (block, &map);
    GST_ELEMENT_ERROR (self, RESOURCE, READ, ("Cannot read the buffer's "
            "memory"), (NULL));
    return GST_FLOW_ERROR;
  }
  gst_buffer_unmap (block, &map);
  return GST_FLOW_OK;
}

/* Whether a block of @size bytes may go to the kernel: the DMA engine
 * moves multiples of length_align_bytes, and mainline's dmaengine buffer
 * fails any other size without a word. */
static gboolean
fits_dma (GstIioDmabufSink * self, gsize size)
{
  return size % MAX (self->obj.device->length_align, 1) == 0;
}

/* Sends the copy block being filled. */
static GstFlowReturn
send_pending (GstIioDmabufSink * self)
{
  GstBuffer *block = g_steal_pointer (&self->pending);
  GstFlowReturn ret;

  gst_buffer_set_size (block, self->pending_bytes);
  self->pending_bytes = 0;
  ret = send_block (self, block);
  gst_buffer_unref (block);
  if (ret == GST_IIO_OUT_QUEUE_NOT_IMPORTED) {
    GST_ELEMENT_ERROR (self, RESOURCE, WRITE, ("IIO device %s refused its "
            "own DMABUFs: set dma-heap to a heap its DMA can reach (a CMA "
            "heap, default_cma_region, linux,cma or reserved, if it needs "
            "contiguous memory)", self->obj.device->name), (NULL));
    ret = GST_FLOW_ERROR;
  }
  if (ret == GST_FLOW_OK) {
    GST_OBJECT_LOCK (self);
    self->stats.copies++;
    GST_OBJECT_UNLOCK (self);
  }
  return ret;
}

/* Upstream memory that cannot go as it is: copied into pooled blocks
 * (of a size the DMA engine takes). A block goes once full, or at the end
 * of @buf if its size suits the DMA engine; else what is left waits for
 * the next buffer, or the end of stream. */
static GstFlowReturn
send_copies (GstIioDmabufSink * self, GstBuffer * buf)
{
  gsize size = gst_buffer_get_size (buf), done = 0, n;
  GstFlowReturn ret = GST_FLOW_OK;

  while (done < size && ret == GST_FLOW_OK) {
    if (!self->pending)
      ret = acquire_copy_block (self, &self->pending);
    if (ret != GST_FLOW_OK)
      break;
    n = MIN (size - done, self->obj.block_bytes - self->pending_bytes);
    ret = copy_into (self, self->pending, self->pending_bytes, buf, done, n);
    if (ret != GST_FLOW_OK)
      break;
    self->pending_bytes += n;
    done += n;
    if (self->pending_bytes == self->obj.block_bytes
        || (done == size && fits_dma (self, self->pending_bytes)))
      ret = send_pending (self);
  }
  return ret;
}

/* At the end of stream, what waits for a size the DMA engine takes goes
 * with zero scans after it, as few as make one. */
static GstFlowReturn
send_rest (GstIioDmabufSink * self)
{
  guint step = gst_iio_device_block_step (self->obj.device);
  gsize scans = self->pending_bytes / self->obj.scan_bytes;
  gsize padded = (scans + step - 1) / step * step * self->obj.scan_bytes;

  if (!self->pending)
    return GST_FLOW_OK;
  gst_buffer_memset (self->pending, self->pending_bytes, 0,
      padded - self->pending_bytes);
  self->pending_bytes = padded;
  return send_pending (self);
}

static void
count_block (GstIioDmabufSink * self, GstBuffer * buf)
{
  GST_OBJECT_LOCK (self);
  self->stats.blocks++;
  self->stats.bytes += gst_buffer_get_size (buf);
  GST_OBJECT_UNLOCK (self);
}

/* Our own pool's DMABUFs are the zero-copy path too; others are imports.
 * A DMABUF the kernel will not take (attached elsewhere) is copied. */
static GstFlowReturn
send_dmabuf (GstIioDmabufSink * self, GstBuffer * buf)
{
  GstMemory *mem = gst_buffer_peek_memory (buf, 0);
  GstFlowReturn ret = send_block (self, buf);

  if (ret == GST_IIO_OUT_QUEUE_NOT_IMPORTED)
    return send_copies (self, buf);
  if (ret != GST_FLOW_OK)
    return ret;
  GST_OBJECT_LOCK (self);
  if (mem->allocator == self->obj.allocator)
    self->stats.pooled++;
  else
    self->stats.imports++;
  GST_OBJECT_UNLOCK (self);
  return GST_FLOW_OK;
}

static gboolean
check_size (GstIioDmabufSink * self, GstBuffer * buf)
{
  gsize size = gst_buffer_get_size (buf);

  if (size % self->obj.scan_bytes == 0)
    return TRUE;
  GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("A buffer of %" G_GSIZE_FORMAT
          " bytes is not a whole number of %u-byte scans for IIO device %s: "
          "upstream must send whole samples of every channel", size,
          self->obj.scan_bytes, self->obj.device->name), (NULL));
  return FALSE;
}

/* A DMABUF of our own holding @wave @times times. */
static GstBuffer *
cyclic_block (GstIioDmabufSink * self, GstBuffer * wave, guint times,
    GError ** error)
{
  gsize size = gst_buffer_get_size (wave);
  GstMemory *mem = gst_iio_dmabuf_allocator_alloc_block (self->obj.allocator,
      size * times, error);
  GstBuffer *block;
  GstMapInfo map;
  guint i;

  if (!mem)
    return NULL;
  block = gst_buffer_new ();
  gst_buffer_append_memory (block, mem);
  if (!gst_buffer_map (block, &map, GST_MAP_WRITE)) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_WRITE,
        "Cannot map a DMABUF of %" G_GSIZE_FORMAT " bytes", size * times);
    gst_buffer_unref (block);
    return NULL;
  }
  for (i = 0; i < times; i++)
    gst_buffer_extract (wave, 0, map.data + i * size, size);
  gst_buffer_unmap (block, &map);
  return block;
}

/* cyclic=true: the waveform is played until the element stops, repeated
 * by the driver where it can (ADI's kernel), else queued again as each
 * copy completes (mainline's dmaengine buffer plays a cyclic block once). */
/* How often the waveform goes in each copy: enough to last
 * CYCLIC_MIN_DURATION (CYCLIC_MIN_BYTES at an unknown rate), and a
 * multiple that makes a size the DMA engine takes. */
static guint
cyclic_times (GstIioDmabufSink * self, gsize size)
{
  guint64 want = self->obj.rate ? gst_util_uint64_scale (CYCLIC_MIN_DURATION,
      (guint64) self->obj.scan_bytes * self->obj.rate, GST_SECOND) :
      CYCLIC_MIN_BYTES;
  guint64 times = (want + size - 1) / size;
  guint step = gst_iio_block_step (size, self->obj.device->length_align);

  times = CLAMP (times, 1, MAX (CYCLIC_MAX_BYTES / size, 1));
  return (guint) ((times + step - 1) / step * step);
}

/* Repeating in software stopped on an error (from its thread). */
static void
cyclic_failed (gpointer user_data, const GError * error)
{
  GstIioDmabufSink *self = user_data;

  GST_ELEMENT_ERROR (self, RESOURCE, WRITE, ("Cyclic output to IIO device "
          "%s stopped: %s. The device may have gone, or its DMA engine needs "
          "physically contiguous memory: then set dma-heap to a CMA heap "
          "(default_cma_region, linux,cma or reserved)",
          self->obj.device->name, error->message), (NULL));
}

static GstFlowReturn
play_cyclic (GstIioDmabufSink * self, GstBuffer * wave)
{
  gsize size = gst_buffer_get_size (wave);
  guint times = cyclic_times (self, size);
  guint64 bytes = (guint64) size * times;
  GstBuffer *blocks[CYCLIC_COPIES];
  GError *error = NULL;
  guint i;

  if (bytes > G_MAXINT32 || CYCLIC_COPIES * bytes > GST_IIO_MAX_BUFFER_BYTES) {
    GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT, ("A cyclic waveform of "
            "%" G_GSIZE_FORMAT " bytes is too large for this system: use a "
            "shorter one", size), ("%u copies of it %u times (%"
            G_GUINT64_FORMAT " bytes each) would not fit a block (2 GiB) or "
            "half the address space (%" G_GUINT64_FORMAT " bytes)",
            CYCLIC_COPIES, times, bytes, (guint64) GST_IIO_MAX_BUFFER_BYTES));
    return GST_FLOW_ERROR;
  }
  for (i = 0; i < CYCLIC_COPIES; i++) {
    blocks[i] = cyclic_block (self, wave, times, &error);
    if (!blocks[i])
      break;
  }
  if (i < CYCLIC_COPIES) {
    while (i > 0)
      gst_buffer_unref (blocks[--i]);
  } else if (gst_iio_out_queue_play_cyclic (self->queue, blocks,
          CYCLIC_COPIES, cyclic_failed, &error)) {
    self->cyclic_queued = TRUE;
    return GST_FLOW_OK;
  }
  GST_ELEMENT_ERROR (self, RESOURCE, WRITE, ("Cannot play the cyclic "
          "waveform to IIO device %s: %s", self->obj.device->name,
          error->message), (NULL));
  g_clear_error (&error);
  return GST_FLOW_ERROR;
}

static GstFlowReturn
gst_iio_dmabuf_sink_render (GstBaseSink * sink, GstBuffer * buf)
{
  GstIioDmabufSink *self = GST_IIO_DMABUF_SINK (sink);
  GstFlowReturn ret;

  if (self->cyclic_queued) {
    GST_OBJECT_LOCK (self);
    self->stats.dropped++;
    GST_OBJECT_UNLOCK (self);
    GST_LOG_OBJECT (self, "cyclic output is playing: buffer dropped");
    return GST_FLOW_OK;
  }
  if (!check_size (self, buf))
    return GST_FLOW_ERROR;
  if (!gst_buffer_get_size (buf))
    return GST_FLOW_OK;
  if (!self->obj.use_dmabuf)
    ret = write_buffer (self, buf);
  else if (self->cyclic)
    ret = play_cyclic (self, buf);
  else if (!self->pending && fits_dma (self, gst_buffer_get_size (buf))
      && gst_iio_out_queue_can_import (self->queue, buf))
    ret = send_dmabuf (self, buf);
  else
    ret = send_copies (self, buf);
  if (ret == GST_FLOW_OK)
    count_block (self, buf);
  self->render_failed |= ret == GST_FLOW_ERROR;
  return ret;
}

/* Plays what is queued to the end; a pause meanwhile waits (the event
 * function runs with the preroll lock held, as render does). */
static GstFlowReturn
drain (GstIioDmabufSink * self)
{
  GError *error = NULL;
  GstFlowReturn ret;

  /* what waits for a size the DMA engine takes goes first */
  ret = self->obj.use_dmabuf ? send_rest (self) : GST_FLOW_OK;
  if (ret == GST_FLOW_OK)
    do {
      ret = self->obj.use_dmabuf ?
          gst_iio_out_queue_drain (self->queue, &error) : drain_writes (self);
    } while (ret == GST_FLOW_FLUSHING
        && wait_resume (self, ret) == GST_FLOW_OK);
  /* write() posted its own error */
  if (ret == GST_FLOW_ERROR && error) {
    GST_ELEMENT_ERROR (self, RESOURCE, WRITE, ("Cannot finish playing to IIO "
            "device %s: %s", self->obj.device->name, error->message), (NULL));
    g_clear_error (&error);
  }
  if (ret == GST_FLOW_OK && self->obj.use_dmabuf)
    check_fences (self, TRUE);
  return ret;
}

static gboolean
gst_iio_dmabuf_sink_event (GstBaseSink * sink, GstEvent * event)
{
  GstIioDmabufSink *self = GST_IIO_DMABUF_SINK (sink);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_EOS:
      if (self->cyclic_queued) {
        /* the converter repeats the block until the element stops */
        GST_INFO_OBJECT (self, "cyclic output goes on after EOS");
        gst_event_unref (event);
        return TRUE;
      }
      /* upstream ends the stream after our error: starting the converter
       * that just failed (or playing past the error) would post another */
      if (self->render_failed) {
        GST_DEBUG_OBJECT (self, "EOS after an error: nothing more played");
        break;
      }
      if (drain (self) != GST_FLOW_OK) {
        gst_event_unref (event);
        return FALSE;
      }
      break;
    case GST_EVENT_STREAM_START:
      if (self->obj.device)
        check_upstream_fits (self);
      break;
    case GST_EVENT_FLUSH_STOP:
      /* what the converter still holds belongs to before the flush */
      stop_converter (self);
      self->render_failed = FALSE;
      break;
    default:
      break;
  }
  return GST_BASE_SINK_CLASS (parent_class)->event (sink, event);
}

static void
set_flushing (GstIioDmabufSink * self, gboolean flushing)
{
  gst_iio_dmabuf_object_set_flushing (&self->obj, flushing);
  GST_OBJECT_LOCK (self);
  if (self->queue)
    gst_iio_out_queue_set_flushing (self->queue, flushing);
  GST_OBJECT_UNLOCK (self);
}

static gboolean
gst_iio_dmabuf_sink_unlock (GstBaseSink * sink)
{
  set_flushing (GST_IIO_DMABUF_SINK (sink), TRUE);
  return TRUE;
}

static gboolean
gst_iio_dmabuf_sink_unlock_stop (GstBaseSink * sink)
{
  set_flushing (GST_IIO_DMABUF_SINK (sink), FALSE);
  return TRUE;
}

/* --- GstElement ----------------------------------------------------------- */

static GstStateChangeReturn
gst_iio_dmabuf_sink_change_state (GstElement * element,
    GstStateChange transition)
{
  GstIioDmabufSink *self = GST_IIO_DMABUF_SINK (element);
  gboolean provide;

  GST_OBJECT_LOCK (self);
  provide = self->provide_clock;
  GST_OBJECT_UNLOCK (self);
  gst_iio_timeline_change_state (self->timeline, element, transition, provide);
  if (transition == GST_STATE_CHANGE_NULL_TO_READY)
    self->warned_no_fit = FALSE;
  return gst_iio_dmabuf_object_change_state (&self->obj, transition,
      GST_ELEMENT_CLASS (parent_class));
}

static GstClock *
gst_iio_dmabuf_sink_provide_clock (GstElement * element)
{
  GstIioDmabufSink *self = GST_IIO_DMABUF_SINK (element);
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
stats_structure (GstIioDmabufSink * self)
{
  GstIioOutQueueCounts counts = { 0, };
  const gchar *io_mode, *origin, *cyclic_mode = "none";

  gst_iio_dmabuf_object_stats_io (&self->obj, &io_mode, &origin);
  if (self->queue)
    gst_iio_out_queue_get_counts (self->queue, &counts);
  if (self->cyclic_queued)
    cyclic_mode = counts.cyclic_software ? "software" : "hardware";
  return gst_structure_new ("application/x-iiodmabufsink-stats",
      "blocks", G_TYPE_UINT64, self->stats.blocks,
      "bytes", G_TYPE_UINT64, self->stats.bytes,
      "imports", G_TYPE_UINT64, self->stats.imports,
      "attaches", G_TYPE_UINT64, counts.attaches,
      "detaches", G_TYPE_UINT64, counts.detaches,
      "pooled", G_TYPE_UINT64, self->stats.pooled,
      "copies", G_TYPE_UINT64, self->stats.copies,
      "dropped", G_TYPE_UINT64, self->stats.dropped,
      "underflows", G_TYPE_UINT64, counts.underflows,
      "fence-errors", G_TYPE_UINT64, counts.fence_errors,
      "cyclic-mode", G_TYPE_STRING, cyclic_mode,
      "io-mode", G_TYPE_STRING, io_mode,
      "dmabuf-origin", G_TYPE_STRING, origin, NULL);
}

static void
gst_iio_dmabuf_sink_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstIioDmabufSink *self = GST_IIO_DMABUF_SINK (object);

  GST_OBJECT_LOCK (self);
  if (gst_iio_dmabuf_object_set_property (&self->obj, prop_id, value, pspec)
      || !gst_iio_dmabuf_settings_settable (GST_ELEMENT (self), pspec)) {
    GST_OBJECT_UNLOCK (self);
    return;
  }
  switch (prop_id) {
    case PROP_CYCLIC:
      self->cyclic = g_value_get_boolean (value);
      break;
    case PROP_PROVIDE_CLOCK:
      self->provide_clock = g_value_get_boolean (value);
      gst_iio_timeline_set_provider (GST_ELEMENT (self), self->provide_clock);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_iio_dmabuf_sink_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstIioDmabufSink *self = GST_IIO_DMABUF_SINK (object);

  GST_OBJECT_LOCK (self);
  if (gst_iio_dmabuf_object_get_property (&self->obj, prop_id, value)) {
    GST_OBJECT_UNLOCK (self);
    return;
  }
  switch (prop_id) {
    case PROP_CYCLIC:
      g_value_set_boolean (value, self->cyclic);
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
gst_iio_dmabuf_sink_finalize (GObject * object)
{
  GstIioDmabufSink *self = GST_IIO_DMABUF_SINK (object);

  gst_iio_dmabuf_object_clear (&self->obj);
  gst_iio_timeline_free (self->timeline);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
install_properties (GObjectClass * gobject_class)
{
  gst_iio_dmabuf_settings_install (gobject_class, TRUE);
  /**
   * GstIioDmabufSink:cyclic:
   *
   * Repeat the first buffer until the element stops; later buffers are
   * dropped and EOS is held back.
   */
  properties[PROP_CYCLIC] = g_param_spec_boolean ("cyclic", "Cyclic",
      "Repeat the first buffer until stopped (later ones are dropped)",
      DEFAULT_CYCLIC, GST_IIO_DMABUF_SETTING);
  /**
   * GstIioDmabufSink:provide-clock:
   *
   * Offer the pipeline a clock driven by what the converter played (its
   * completed blocks, and the time it stood idle), so that it runs on the
   * converter's crystal. In write() mode it follows the system clock.
   */
  properties[PROP_PROVIDE_CLOCK] = g_param_spec_boolean ("provide-clock",
      "Provide clock", "Provide a clock driven by what the converter played",
      DEFAULT_PROVIDE_CLOCK, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  /**
   * GstIioDmabufSink:stats:
   *
   * blocks, bytes, imports (upstream DMABUFs sent as they were), attaches
   * and detaches (DMABUFs attached to the IIO buffer and detached again:
   * each DMABUF is attached once, whatever memory wraps it, and kept while
   * it is in use or among the few most recently used), pooled
   * (upstream wrote into the offered DMABUFs), copies, dropped (after a
   * cyclic buffer), underflows (blocks that found the converter idle),
   * fence-errors, cyclic-mode (none; hardware: the driver repeats the
   * waveform; software: it played it once, so the element queues it
   * again), io-mode and dmabuf-origin (dma-heap, udmabuf, drm or none).
   */
  properties[PROP_STATS] = g_param_spec_boxed ("stats", "Statistics",
      "Blocks, bytes, imports, copies, underflows, fence errors, I/O mode",
      GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_property (gobject_class, PROP_CYCLIC,
      properties[PROP_CYCLIC]);
  g_object_class_install_property (gobject_class, PROP_PROVIDE_CLOCK,
      properties[PROP_PROVIDE_CLOCK]);
  g_object_class_install_property (gobject_class, PROP_STATS,
      properties[PROP_STATS]);
}

static void
gst_iio_dmabuf_sink_class_init (GstIioDmabufSinkClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSinkClass *basesink_class = GST_BASE_SINK_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_iio_dmabuf_sink_debug, "iiodmabufsink", 0,
      "IIO DMABUF sink");

  gobject_class->set_property = gst_iio_dmabuf_sink_set_property;
  gobject_class->get_property = gst_iio_dmabuf_sink_get_property;
  gobject_class->finalize = gst_iio_dmabuf_sink_finalize;
  install_properties (gobject_class);

  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_iio_dmabuf_sink_change_state);
  element_class->provide_clock =
      GST_DEBUG_FUNCPTR (gst_iio_dmabuf_sink_provide_clock);
  basesink_class->start = GST_DEBUG_FUNCPTR (gst_iio_dmabuf_sink_start);
  basesink_class->stop = GST_DEBUG_FUNCPTR (gst_iio_dmabuf_sink_stop);
  basesink_class->get_caps = GST_DEBUG_FUNCPTR (gst_iio_dmabuf_sink_get_caps);
  basesink_class->set_caps = GST_DEBUG_FUNCPTR (gst_iio_dmabuf_sink_set_caps);
  basesink_class->query = GST_DEBUG_FUNCPTR (gst_iio_dmabuf_sink_query);
  basesink_class->propose_allocation =
      GST_DEBUG_FUNCPTR (gst_iio_dmabuf_sink_propose_allocation);
  basesink_class->event = GST_DEBUG_FUNCPTR (gst_iio_dmabuf_sink_event);
  basesink_class->render = GST_DEBUG_FUNCPTR (gst_iio_dmabuf_sink_render);
  basesink_class->unlock = GST_DEBUG_FUNCPTR (gst_iio_dmabuf_sink_unlock);
  basesink_class->unlock_stop =
      GST_DEBUG_FUNCPTR (gst_iio_dmabuf_sink_unlock_stop);

  gst_element_class_add_pad_template (element_class,
      gst_pad_template_new ("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
          gst_iio_dmabuf_caps_template ()));
  gst_element_class_set_static_metadata (element_class,
      "IIO DMABUF sink", "Sink/Hardware",
      "Plays to an IIO output buffer through DMABUFs, without a copy",
      "gst-iiodmabuf developers");
}

static void
gst_iio_dmabuf_sink_init (GstIioDmabufSink * self)
{
  gst_iio_dmabuf_object_init (&self->obj, GST_ELEMENT (self), TRUE,
      offered_caps);
  self->cyclic = DEFAULT_CYCLIC;
  self->provide_clock = DEFAULT_PROVIDE_CLOCK;
  self->timeline = gst_iio_timeline_new ("GstIioDmabufSinkClock");
  GST_OBJECT_FLAG_SET (self, GST_ELEMENT_FLAG_PROVIDE_CLOCK);
  /* the converter's clock paces playback */
  gst_base_sink_set_sync (GST_BASE_SINK (self), FALSE);
  /* a block held as the last sample would be one less for its producer */
  gst_base_sink_set_last_sample_enabled (GST_BASE_SINK (self), FALSE);
}
