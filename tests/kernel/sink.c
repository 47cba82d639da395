/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * iiodmabufsink against the simulated DAC (run in the VM). The DAC keeps a
 * count and a 64-bit FNV-1a checksum of every byte it consumed, in order;
 * each test computes the same over the bytes it sent (seen on the sink's
 * pad) or over the ADC's formula, and compares.
 */
#define _GNU_SOURCE             /* memfd_create, for origins.h */
#include <gst/check/gstcheck.h>
#include <gst/app/gstappsrc.h>
#include <gst/allocators/allocators.h>

#include <fcntl.h>
#include <linux/dma-heap.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "origins.h"
#include "pipeline.h"
#include "sysfs.h"

#define DAC "iio-sim-dac"
/* a second DAC, while the simulator's second_dac parameter is 1 */
#define DAC2 "iio-sim-dac2"
#define SECOND_DAC_PARAM "/sys/module/iio_sim/parameters/second_dac"
#define DAC_SCAN 4              /* two le:s16 channels */
#define FNV_OFFSET G_GUINT64_CONSTANT (0xcbf29ce484222325)
#define FNV_PRIME G_GUINT64_CONSTANT (0x100000001b3)

typedef struct
{
  guint64 hash;
  guint64 bytes;
} Fnv;

static void
fnv_init (Fnv * f)
{
  f->hash = FNV_OFFSET;
  f->bytes = 0;
}

static void
fnv_add (Fnv * f, const guint8 * data, gsize size)
{
  gsize i;

  for (i = 0; i < size; i++)
    f->hash = (f->hash ^ data[i]) * FNV_PRIME;
  f->bytes += size;
}

static GstPadProbeReturn
hash_buffer (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstMapInfo map;

  fail_unless (gst_buffer_map (buf, &map, GST_MAP_READ));
  fnv_add (user_data, map.data, map.size);
  gst_buffer_unmap (buf, &map);
  return GST_PAD_PROBE_OK;
}

/* A DAC's own record of what it played. */
static void
dac_played_on (const gchar * dac, Fnv * f)
{
  f->bytes = sysfs_read_u64 (dac, "consumed_bytes");
  f->hash = sysfs_read_u64 (dac, "checksum");
}

static void
dac_played (Fnv * f)
{
  dac_played_on (DAC, f);
}

static GstElement *
launch (const gchar * desc)
{
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch (desc, &error);

  fail_unless (pipeline != NULL && error == NULL, "%s: %s", desc,
      error ? error->message : "");
  return pipeline;
}

static GstElement *
get_by_name (GstElement * pipeline, const gchar * name)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (pipeline), name);

  fail_unless (e != NULL, "no element %s", name);
  gst_object_unref (e);         /* the pipeline holds it */
  return e;
}

/* Hashes every buffer that reaches the sink "sink". */
static void
tap_sink (GstElement * pipeline, Fnv * f)
{
  GstPad *pad = gst_element_get_static_pad (get_by_name (pipeline, "sink"),
      "sink");

  fnv_init (f);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, hash_buffer, f, NULL);
  gst_object_unref (pad);
}

static GstStructure *
sink_stats (GstElement * pipeline)
{
  GstStructure *stats;

  g_object_get (get_by_name (pipeline, "sink"), "stats", &stats, NULL);
  return stats;
}

/* Plays to EOS (failing otherwise); returns the sink's stats, in NULL. */
static GstStructure *
run_to_eos (GstElement * pipeline, GstClockTime limit)
{
  GstMessage *msg = run (pipeline, limit, NULL);
  GstStructure *stats;
  gchar *text = NULL;

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    text = error_text (msg);
  fail_unless (text == NULL, "error: %s", text);
  gst_message_unref (msg);
  stats = sink_stats (pipeline);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  return stats;
}

static void
assert_dac_played_on (const gchar * dac, const Fnv * sent)
{
  Fnv played;

  dac_played_on (dac, &played);
  fail_unless (played.bytes == sent->bytes, "%s played %" G_GUINT64_FORMAT
      " bytes, sent %" G_GUINT64_FORMAT, dac, played.bytes, sent->bytes);
  fail_unless (played.hash == sent->hash,
      "%s checksum 0x%016" G_GINT64_MODIFIER "x, sent 0x%016" G_GINT64_MODIFIER
      "x", dac, played.hash, sent->hash);
}

static void
assert_dac_played (const Fnv * sent)
{
  assert_dac_played_on (DAC, sent);
}

/* Makes iio-sim-dac2 (tests/vm/iio-sim), or removes it. */
static void
second_dac (gboolean on)
{
  FILE *f = fopen (SECOND_DAC_PARAM, "w");

  fail_unless (f != NULL, "%s: %s", SECOND_DAC_PARAM, g_strerror (errno));
  fputs (on ? "1" : "0", f);
  fail_unless (fclose (f) == 0, "%s: %s", SECOND_DAC_PARAM, g_strerror (errno));
}

/* Plays @desc (its sink named "sink") to EOS, hashing what reaches the
 * sink into @sent; returns the sink's stats. */
static GstStructure *
play_tapped (const gchar * desc, Fnv * sent)
{
  GstElement *pipeline = launch (desc);
  GstStructure *stats;

  tap_sink (pipeline, sent);
  stats = run_to_eos (pipeline, 120 * GST_SECOND);
  gst_object_unref (pipeline);
  return stats;
}

/* audiotestsrc writes into the sink's DMABUF pool: no copy anywhere. */
GST_START_TEST (test_audiotestsrc_uses_pool)
{
  GstElement *pipeline = launch ("audiotestsrc num-buffers=150 "
      "samplesperbuffer=1000 wave=saw ! audio/x-raw,format=S16LE,channels=2,"
      "rate=48000 ! iiodmabufsink name=sink device=" DAC);
  GstStructure *stats;
  Fnv sent;

  tap_sink (pipeline, &sent);
  /* PAUSED prerolls without starting the converter */
  gst_element_set_state (pipeline, GST_STATE_PAUSED);
  fail_unless_equals_int (gst_element_get_state (pipeline, NULL, NULL,
          30 * GST_SECOND), GST_STATE_CHANGE_SUCCESS);
  fail_unless_equals_string (sysfs_read (DAC "/buffer0/enable"), "0");
  stats = run_to_eos (pipeline, 120 * GST_SECOND);

  fail_unless_equals_uint64 (sent.bytes, 150 * 1000 * DAC_SCAN);
  assert_dac_played (&sent);
  fail_unless_equals_uint64 (stat_u64 (stats, "blocks"), 150);
  fail_unless_equals_uint64 (stat_u64 (stats, "pooled"), 150);
  fail_unless_equals_uint64 (stat_u64 (stats, "copies"), 0);
  fail_unless_equals_uint64 (stat_u64 (stats, "imports"), 0);
  fail_unless_equals_uint64 (stat_u64 (stats, "fence-errors"), 0);
  g_print ("audiotestsrc: %" G_GUINT64_FORMAT " bytes played, checksum "
      "0x%016" G_GINT64_MODIFIER "x matches, 150 pooled, 0 copies, %"
      G_GUINT64_FORMAT " underflows\n", sent.bytes, sent.hash,
      stat_u64 (stats, "underflows"));
  gst_structure_free (stats);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* audiotestsrc fills its own buffer size into pooled blocks: the pool is
 * sized for it, though larger than samples-per-block, and nothing is cut. */
GST_START_TEST (test_producer_larger_than_block)
{
  Fnv sent;
  GstStructure *stats = play_tapped ("audiotestsrc num-buffers=40 "
      "samplesperbuffer=1024 wave=saw ! audio/x-raw,format=S16LE,channels=2,"
      "rate=48000 ! iiodmabufsink name=sink samples-per-block=256 "
      "device=" DAC, &sent);

  fail_unless_equals_uint64 (sent.bytes, 40 * 1024 * DAC_SCAN);
  assert_dac_played (&sent);
  fail_unless_equals_uint64 (stat_u64 (stats, "blocks"), 40);
  fail_unless_equals_uint64 (stat_u64 (stats, "pooled"), 40);
  fail_unless_equals_uint64 (stat_u64 (stats, "copies"), 0);
  g_print ("1024-scan buffers into 256-scan blocks: %" G_GUINT64_FORMAT
      " bytes played whole, 40 pooled, 0 copies\n", sent.bytes);
  gst_structure_free (stats);
}

GST_END_TEST;

/* Behind a queue (or any element that is not a transform) the sink cannot
 * tell how large upstream's buffers are, and by no element's name does it
 * guess: it offers no pool, so nothing is written past a block's end, and
 * copies every buffer whole. */
GST_START_TEST (test_unknown_producer_copied)
{
  Fnv sent;
  GstStructure *stats = play_tapped ("audiotestsrc num-buffers=40 "
      "samplesperbuffer=1024 wave=saw ! audio/x-raw,format=S16LE,channels=2,"
      "rate=48000 ! queue ! iiodmabufsink name=sink samples-per-block=256 "
      "device=" DAC, &sent);

  fail_unless_equals_uint64 (sent.bytes, 40 * 1024 * DAC_SCAN);
  assert_dac_played (&sent);
  fail_unless_equals_uint64 (stat_u64 (stats, "pooled"), 0);
  fail_unless_equals_uint64 (stat_u64 (stats, "copies"), 40 * 4);
  g_print ("behind a queue: %" G_GUINT64_FORMAT " bytes played whole, "
      "160 blocks copied, none pooled\n", sent.bytes);
  gst_structure_free (stats);
}

GST_END_TEST;

/* A transform just before the sink writes more than its source made (S8
 * widened to S16, 44.1 kHz resampled to 48 kHz) into pooled blocks: the pool
 * is sized through it, and every byte is played. */
GST_START_TEST (test_transform_sizes_pool)
{
  static const struct
  {
    const gchar *desc;
    guint64 frames;             /* what the transform makes of 20 x 1024 */
    guint64 copies;             /* audioresample drains into plain memory */
  } cases[] = {
    {"audio/x-raw,format=S8,channels=2,rate=48000 ! audioconvert ! "
          "audio/x-raw,format=S16LE,channels=2,rate=48000", 20 * 1024, 0},
    {"audio/x-raw,format=S16LE,channels=2,rate=44100 ! audioresample ! "
          "audio/x-raw,rate=48000", 20 * 1024 * 48000 / 44100, 1},
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    gchar *desc = g_strdup_printf ("audiotestsrc num-buffers=20 "
        "samplesperbuffer=1024 wave=saw ! %s ! iiodmabufsink name=sink "
        "samples-per-block=256 device=" DAC, cases[i].desc);
    Fnv sent;
    GstStructure *stats = play_tapped (desc, &sent);
    guint64 frames = sent.bytes / DAC_SCAN;

    /* a resampler's last frame is rounded either way */
    fail_unless (frames + 1 >= cases[i].frames && frames <= cases[i].frames
        + 1, "%s: %" G_GUINT64_FORMAT " frames, want %" G_GUINT64_FORMAT,
        desc, frames, cases[i].frames);
    assert_dac_played (&sent);
    fail_unless_equals_uint64 (stat_u64 (stats, "copies"), cases[i].copies);
    fail_unless_equals_uint64 (stat_u64 (stats, "pooled") + cases[i].copies,
        stat_u64 (stats, "blocks"));
    g_print ("through a transform: %" G_GUINT64_FORMAT " bytes played whole, "
        "%" G_GUINT64_FORMAT " pooled, %" G_GUINT64_FORMAT " copied (%s)\n",
        sent.bytes, stat_u64 (stats, "pooled"), cases[i].copies, cases[i].desc);
    gst_structure_free (stats);
    g_free (desc);
  }
}

GST_END_TEST;

/* A decoder or a mixer makes buffers of its own size (flacdec 4608 frames,
 * audiomixer 10 ms), which the sink cannot foresee: it offers no pool, they
 * come in plain memory and are copied whole into its blocks. */
GST_START_TEST (test_unforeseeable_sizes_copied)
{
  static const struct
  {
    const gchar *desc;
    guint64 frames;
  } cases[] = {
    {"audiotestsrc num-buffers=20 samplesperbuffer=1024 wave=saw ! "
          "audio/x-raw,format=S16LE,channels=2,rate=48000 ! flacenc ! "
          "flacparse ! flacdec",
        20 * 1024},
    {"audiotestsrc num-buffers=200 samplesperbuffer=100 wave=saw ! "
          "audio/x-raw,format=S16LE,channels=2,rate=48000 ! audiomixer",
        200 * 100},
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    gchar *desc = g_strdup_printf ("%s ! iiodmabufsink name=sink "
        "samples-per-block=256 device=" DAC, cases[i].desc);
    Fnv sent;
    GstStructure *stats = play_tapped (desc, &sent);

    fail_unless_equals_uint64 (sent.bytes, cases[i].frames * DAC_SCAN);
    assert_dac_played (&sent);
    fail_unless_equals_uint64 (stat_u64 (stats, "pooled"), 0);
    fail_unless (stat_u64 (stats, "copies") > 0);
    g_print ("unforeseeable sizes: %" G_GUINT64_FORMAT " bytes played whole, "
        "%" G_GUINT64_FORMAT " copied (%s)\n", sent.bytes,
        stat_u64 (stats, "copies"), cases[i].desc);
    gst_structure_free (stats);
    g_free (desc);
  }
}

GST_END_TEST;

/* A producer slower than the DAC (10 ms blocks, 40 ms apart) makes it run
 * dry between blocks: the sink counts underflows, as the DAC does, and what
 * was played is still exactly what was sent. */
GST_START_TEST (test_slow_producer_underflows)
{
  Fnv sent;
  GstStructure *stats = play_tapped ("audiotestsrc num-buffers=20 "
      "samplesperbuffer=480 wave=saw ! audio/x-raw,format=S16LE,channels=2,"
      "rate=48000 ! identity sleep-time=40000 ! iiodmabufsink name=sink "
      "num-blocks=2 device=" DAC, &sent);
  guint64 ours = stat_u64 (stats, "underflows");
  guint64 dacs = sysfs_read_u64 (DAC, "underflows");

  fail_unless_equals_uint64 (sent.bytes, 20 * 480 * DAC_SCAN);
  assert_dac_played (&sent);
  /* every block after the first two finds the DAC idle; timing may blur a
   * few, never most. The two are queued only after the enable, one after
   * the other: on a loaded emulated machine the second can come more than
   * the first's 10 ms later, which the DAC counts and the sink cannot. */
  fail_unless (ours >= 9 && ours <= 18, "%" G_GUINT64_FORMAT " underflows",
      ours);
  fail_unless (dacs >= 9 && dacs <= 19, "DAC: %" G_GUINT64_FORMAT, dacs);
  g_print ("slow producer: %" G_GUINT64_FORMAT " underflows counted (the DAC "
      "saw %" G_GUINT64_FORMAT "), %" G_GUINT64_FORMAT " bytes exact\n", ours,
      dacs, sent.bytes);
  gst_structure_free (stats);
}

GST_END_TEST;

/* A 44.1 kHz stream sets the DAC to 44.1 kHz, which is put back after. */
GST_START_TEST (test_rate_follows_stream)
{
  GstElement *pipeline = launch ("audiotestsrc num-buffers=40 "
      "samplesperbuffer=441 ! audio/x-raw,format=S16LE,channels=2,"
      "rate=44100 ! iiodmabufsink name=sink device=" DAC);
  gchar *before = sysfs_read (DAC "/sampling_frequency"), *during;
  GstMessage *msg;
  Fnv sent;

  tap_sink (pipeline, &sent);
  msg = run (pipeline, 60 * GST_SECOND, NULL);
  fail_unless_equals_int (GST_MESSAGE_TYPE (msg), GST_MESSAGE_EOS);
  gst_message_unref (msg);
  during = sysfs_read (DAC "/sampling_frequency");
  gst_element_set_state (pipeline, GST_STATE_NULL);

  assert_dac_played (&sent);
  fail_unless_equals_string (during, "44100");
  fail_unless_equals_string (sysfs_read (DAC "/sampling_frequency"), before);
  g_print ("rate: the DAC played %" G_GUINT64_FORMAT " bytes at 44100 Hz, "
      "then went back to %s Hz\n", sent.bytes, before);
  g_free (before);
  g_free (during);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* The formula's bytes: sample k of channel c is k + c * 0x100, 16 bits,
 * little-endian, two channels. */
static void
adc_formula (Fnv * want, guint64 scans)
{
  guint64 k;

  fnv_init (want);
  for (k = 0; k < scans; k++) {
    guint8 scan[4] = { k & 0xff, (k >> 8) & 0xff, (k + 0x100) & 0xff,
      ((k + 0x100) >> 8) & 0xff
    };
    fnv_add (want, scan, sizeof scan);
  }
}

/* The ADC's blocks go to the DAC as they are: the formula arrives intact. */
GST_START_TEST (test_loopback_adc_to_dac)
{
  const guint blocks = 400, spb = 1024;
  GstElement *pipeline = launch ("iiodmabufsrc name=src device=iio-sim-adc "
      "channels=voltage0,voltage1 samples-per-block=1024 num-blocks=8 "
      "sampling-frequency=48000 num-buffers=400 ! iiodmabufsink name=sink "
      "device=" DAC);
  GstStructure *stats, *src_stats;
  Fnv want;

  stats = run_to_eos (pipeline, 300 * GST_SECOND);
  g_object_get (get_by_name (pipeline, "src"), "stats", &src_stats, NULL);

  adc_formula (&want, (guint64) blocks * spb);
  assert_dac_played (&want);
  fail_unless_equals_uint64 (stat_u64 (stats, "imports"), blocks);
  fail_unless_equals_uint64 (stat_u64 (stats, "copies"), 0);
  fail_unless_equals_uint64 (stat_u64 (src_stats, "copies"), 0);
  g_print ("loopback: %u ADC blocks, %" G_GUINT64_FORMAT " bytes at the DAC "
      "match the formula, %u imports, 0 copies\n", blocks, want.bytes, blocks);
  gst_structure_free (src_stats);
  gst_structure_free (stats);
  gst_object_unref (pipeline);
}

GST_END_TEST;

static GstBuffer *
pattern_buffer (GRand * rand, gsize size, guint n_memories)
{
  GstBuffer *buf = gst_buffer_new ();
  gsize piece = size / n_memories, i, j;

  for (i = 0; i < n_memories; i++) {
    gsize n = i + 1 < n_memories ? piece : size - piece * i;
    GstMemory *mem = gst_allocator_alloc (NULL, n, NULL);
    GstMapInfo map;

    gst_memory_map (mem, &map, GST_MAP_WRITE);
    for (j = 0; j < n; j++)
      map.data[j] = g_rand_int (rand);
    gst_memory_unmap (mem, &map);
    gst_buffer_append_memory (buf, mem);
  }
  return buf;
}

static GstElement *
appsrc_pipeline (const gchar * sink_props)
{
  gchar *desc = g_strdup_printf ("appsrc name=in format=time "
      "caps=audio/x-raw,format=S16LE,layout=interleaved,channels=2,"
      "rate=48000,channel-mask=(bitmask)0 ! iiodmabufsink name=sink "
      "device=" DAC " %s", sink_props);
  GstElement *pipeline = launch (desc);

  g_free (desc);
  return pipeline;
}

static void
push (GstElement * pipeline, GstBuffer * buf)
{
  fail_unless_equals_int (gst_app_src_push_buffer (GST_APP_SRC (get_by_name
              (pipeline, "in")), buf), GST_FLOW_OK);
}

/* What reached the sink under one caps: rate, bytes a scan and the bytes. */
typedef struct
{
  guint rate, scan_bytes;
  Fnv sent;
} Segment;

typedef struct
{
  Segment seg[8];
  guint n;
  gint buffers;                 /* read from other threads */
} Segments;

/* Hashes each buffer that reaches the sink into the segment of its caps
 * (S16LE), a new one at each caps event that changes them. */
static GstPadProbeReturn
split_by_caps (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  Segments *s = user_data;
  const GstStructure *st;
  GstCaps *caps;
  gint rate = 0, channels = 0;

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    fail_unless (s->n > 0, "a buffer before caps");
    g_atomic_int_inc (&s->buffers);
    return hash_buffer (pad, info, &s->seg[s->n - 1].sent);
  }
  if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) != GST_EVENT_CAPS)
    return GST_PAD_PROBE_OK;
  gst_event_parse_caps (GST_PAD_PROBE_INFO_EVENT (info), &caps);
  st = gst_caps_get_structure (caps, 0);
  fail_unless (gst_structure_get_int (st, "rate", &rate)
      && gst_structure_get_int (st, "channels", &channels), "caps %"
      GST_PTR_FORMAT, caps);
  if (s->n && s->seg[s->n - 1].rate == (guint) rate
      && s->seg[s->n - 1].scan_bytes == (guint) channels * 2)
    return GST_PAD_PROBE_OK;
  if (s->n && !s->seg[s->n - 1].sent.bytes)     /* caps with no data */
    s->n--;
  fail_unless (s->n < G_N_ELEMENTS (s->seg));
  s->seg[s->n].rate = rate;
  s->seg[s->n].scan_bytes = channels * 2;
  fnv_init (&s->seg[s->n++].sent);
  return GST_PAD_PROBE_OK;
}

static void
tap_segments (GstElement * pipeline, Segments * s)
{
  GstPad *pad = gst_element_get_static_pad (get_by_name (pipeline, "sink"),
      "sink");

  memset (s, 0, sizeof *s);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, split_by_caps, s, NULL);
  gst_object_unref (pad);
}

/* The DAC played each segment in a session of its own (from one enable to
 * the next, tests/vm/iio-sim), at its rate and scan size, every byte in
 * order; write() pads each to a whole kernel block of @rw_block scans. */
static void
assert_sessions_played (const Segments * s, guint rw_block)
{
  static const guint8 zeros[4096];
  gchar *text = sysfs_read (DAC "/sessions");
  gchar **lines = g_strsplit (text, "\n", -1);
  guint i;

  fail_unless_equals_int (g_strv_length (lines), s->n);
  for (i = 0; i < s->n; i++) {
    Segment want = s->seg[i];
    guint rate = 0, scan = 0;
    Fnv got;

    while (rw_block && want.sent.bytes % (rw_block * want.scan_bytes))
      fnv_add (&want.sent, zeros, MIN (sizeof zeros, rw_block *
              want.scan_bytes - want.sent.bytes % (rw_block *
                  want.scan_bytes)));
    fail_unless (sscanf (lines[i], "%u %u %" G_GUINT64_FORMAT " %"
            G_GINT64_MODIFIER "x", &rate, &scan, &got.bytes, &got.hash) == 4,
        "session %u: '%s'", i, lines[i]);
    fail_unless (rate == want.rate && scan == want.scan_bytes, "session %u: "
        "%u Hz, %u bytes a scan; sent at %u Hz, %u bytes a scan", i, rate,
        scan, want.rate, want.scan_bytes);
    fail_unless (got.bytes == want.sent.bytes && got.hash == want.sent.hash,
        "session %u (%u Hz): played %" G_GUINT64_FORMAT " bytes, checksum "
        "0x%016" G_GINT64_MODIFIER "x; sent %" G_GUINT64_FORMAT ", 0x%016"
        G_GINT64_MODIFIER "x", i, rate, got.bytes, got.hash,
        want.sent.bytes, want.sent.hash);
  }
  g_strfreev (lines);
  g_free (text);
}

static void
set_appsrc_caps (GstElement * pipeline, guint rate, guint channels)
{
  GstCaps *caps = gst_caps_new_simple ("audio/x-raw",
      "format", G_TYPE_STRING, "S16LE", "layout", G_TYPE_STRING,
      "interleaved", "rate", G_TYPE_INT, rate, "channels", G_TYPE_INT,
      channels, "channel-mask", GST_TYPE_BITMASK, G_GUINT64_CONSTANT (0),
      NULL);

  g_object_set (get_by_name (pipeline, "in"), "caps", caps, NULL);
  gst_caps_unref (caps);
}

/* A stream whose rate and channels change twice (44.1 kHz stereo, then
 * 48 kHz, then 32 kHz on one channel), in DMABUF and write() mode: each
 * part plays whole at its own rate, what was queued before a change at
 * the old one; the DAC is put back at its rate after. (Before, write()
 * mode refused any rate but the DAC's present one, and DMABUF mode any
 * change after the first start.) */
GST_START_TEST (test_caps_change_mid_stream)
{
  static const struct
  {
    guint rate, channels;
  } parts[] = { {44100, 2}, {48000, 2}, {32000, 1} };
  static const gchar *modes[] = { "dmabuf", "rw" };
  gchar *before = sysfs_read (DAC "/sampling_frequency");
  GRand *rand = g_rand_new_with_seed (22);
  guint m, p, i;

  for (m = 0; m < G_N_ELEMENTS (modes); m++) {
    gchar *props = g_strdup_printf ("samples-per-block=480 io-mode=%s",
        modes[m]);
    GstElement *pipeline = appsrc_pipeline (props);
    GstStructure *stats;
    Segments s;

    sysfs_write (DAC "/sessions", "0");
    tap_segments (pipeline, &s);
    for (p = 0; p < G_N_ELEMENTS (parts); p++) {
      set_appsrc_caps (pipeline, parts[p].rate, parts[p].channels);
      for (i = 0; i < 10; i++)
        push (pipeline, pattern_buffer (rand, 480 * 2 * parts[p].channels,
                1));
      if (p == 0)
        gst_element_set_state (pipeline, GST_STATE_PLAYING);
    }
    gst_app_src_end_of_stream (GST_APP_SRC (get_by_name (pipeline, "in")));
    stats = run_to_eos (pipeline, 120 * GST_SECOND);

    fail_unless_equals_int (s.n, 3);
    assert_sessions_played (&s, m == 1 ? 480 : 0);
    fail_unless_equals_string (gst_structure_get_string (stats, "io-mode"),
        modes[m]);
    fail_unless_equals_string (sysfs_read (DAC "/sampling_frequency"),
        before);
    g_print ("caps change mid-stream (%s): %" G_GUINT64_FORMAT " bytes at "
        "44100 Hz, %" G_GUINT64_FORMAT " at 48000 Hz, %" G_GUINT64_FORMAT
        " at 32000 Hz on one channel, each played whole in a session of its "
        "own at its rate; the DAC back at %s Hz\n", modes[m],
        s.seg[0].sent.bytes, s.seg[1].sent.bytes, s.seg[2].sent.bytes, before);
    gst_structure_free (stats);
    gst_object_unref (pipeline);
    g_free (props);
  }
  g_rand_free (rand);
  g_free (before);
}

GST_END_TEST;

/* The issue's pipeline: a 44.1 kHz stream in write() mode to a 48 kHz DAC
 * (refused before: the DAC was started at its own rate). */
GST_START_TEST (test_write_mode_takes_stream_rate)
{
  Segments s;
  GstElement *pipeline = launch ("audiotestsrc num-buffers=20 "
      "samplesperbuffer=441 wave=saw ! audio/x-raw,format=S16LE,channels=2,"
      "rate=44100 ! iiodmabufsink name=sink io-mode=rw samples-per-block=441 "
      "device=" DAC);
  GstStructure *stats;

  sysfs_write (DAC "/sessions", "0");
  tap_segments (pipeline, &s);
  stats = run_to_eos (pipeline, 60 * GST_SECOND);
  fail_unless_equals_int (s.n, 1);
  fail_unless_equals_uint64 (s.seg[0].sent.bytes, 20 * 441 * DAC_SCAN);
  assert_sessions_played (&s, 441);
  g_print ("write() at 44100 Hz to a 48000 Hz DAC: %" G_GUINT64_FORMAT
      " bytes played at 44100 Hz\n", s.seg[0].sent.bytes);
  gst_structure_free (stats);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* A capsfilter's caps changed while audiotestsrc writes into the sink's
 * pool: the source negotiates 32 kHz mono, the sink plays what it queued
 * at 48 kHz stereo, then the rest at 32 kHz on one channel, from a pool of
 * the new size; nothing copied. */
GST_START_TEST (test_capsfilter_changed_while_playing)
{
  GstElement *pipeline = launch ("audiotestsrc num-buffers=60 "
      "samplesperbuffer=480 wave=saw ! capsfilter name=cf caps=audio/x-raw,"
      "format=S16LE,channels=2,rate=48000 ! iiodmabufsink name=sink "
      "samples-per-block=480 device=" DAC);
  GstCaps *mono = gst_caps_from_string ("audio/x-raw,format=S16LE,"
      "channels=1,rate=32000");
  gint64 end = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  GstStructure *stats;
  Segments s;

  sysfs_write (DAC "/sessions", "0");
  tap_segments (pipeline, &s);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  while (g_atomic_int_get (&s.buffers) < 20 && g_get_monotonic_time () < end)
    g_usleep (1000);
  fail_unless (g_atomic_int_get (&s.buffers) >= 20, "no 20 buffers in 30 s");
  g_object_set (get_by_name (pipeline, "cf"), "caps", mono, NULL);
  stats = run_to_eos (pipeline, 60 * GST_SECOND);

  fail_unless_equals_int (s.n, 2);
  fail_unless_equals_uint64 (s.seg[0].sent.bytes / DAC_SCAN +
      s.seg[1].sent.bytes / 2, 60 * 480);
  assert_sessions_played (&s, 0);
  fail_unless_equals_uint64 (stat_u64 (stats, "copies"), 0);
  fail_unless_equals_uint64 (stat_u64 (stats, "pooled"), 60);
  g_print ("capsfilter changed while playing: %" G_GUINT64_FORMAT " bytes "
      "at 48000 Hz stereo, then %" G_GUINT64_FORMAT " at 32000 Hz mono, each "
      "whole at its rate, 60 pooled, 0 copies\n", s.seg[0].sent.bytes,
      s.seg[1].sent.bytes);
  gst_structure_free (stats);
  gst_caps_unref (mono);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* Through a conversion (S16 to S32 and back) the last audioconvert writes
 * the ADC's 2048-scan blocks into the DAC's pool, which is sized for them,
 * not for its own 256-scan blocks: every sample arrives. */
GST_START_TEST (test_loopback_through_conversion)
{
  GstElement *pipeline = launch ("iiodmabufsrc name=src device=iio-sim-adc "
      "channels=voltage0,voltage1 samples-per-block=2048 "
      "sampling-frequency=48000 num-buffers=50 ! audioconvert dithering=none "
      "! audio/x-raw,format=S32LE ! audioconvert dithering=none ! "
      "audio/x-raw,format=S16LE ! iiodmabufsink name=sink "
      "samples-per-block=256 device=" DAC);
  GstStructure *stats;
  Fnv want;

  stats = run_to_eos (pipeline, 120 * GST_SECOND);

  adc_formula (&want, 50 * 2048);
  assert_dac_played (&want);
  fail_unless_equals_uint64 (stat_u64 (stats, "pooled"), 50);
  fail_unless_equals_uint64 (stat_u64 (stats, "copies"), 0);
  g_print ("loopback through a conversion: %" G_GUINT64_FORMAT " bytes at "
      "the DAC match the formula, 50 pooled\n", want.bytes);
  gst_structure_free (stats);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* Plain memory (one piece, several, larger than a block) is copied. */
GST_START_TEST (test_plain_memory_is_copied)
{
  GstElement *pipeline = appsrc_pipeline ("samples-per-block=1024");
  GRand *rand = g_rand_new_with_seed (7);
  GstStructure *stats;
  Fnv sent;
  guint i;

  tap_sink (pipeline, &sent);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  for (i = 0; i < 30; i++)      /* 3000 scans: three blocks each */
    push (pipeline, pattern_buffer (rand, 3000 * DAC_SCAN, 1 + i % 3));
  gst_app_src_end_of_stream (GST_APP_SRC (get_by_name (pipeline, "in")));
  stats = run_to_eos (pipeline, 120 * GST_SECOND);

  fail_unless_equals_uint64 (sent.bytes, 30 * 3000 * DAC_SCAN);
  assert_dac_played (&sent);
  fail_unless_equals_uint64 (stat_u64 (stats, "copies"), 90);
  fail_unless_equals_uint64 (stat_u64 (stats, "imports"), 0);
  fail_unless_equals_uint64 (stat_u64 (stats, "blocks"), 30);
  g_print ("plain memory: %" G_GUINT64_FORMAT " bytes copied into 90 blocks, "
      "DAC checksum matches\n", sent.bytes);
  gst_structure_free (stats);
  g_rand_free (rand);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* A buffer on a DMABUF of its own (the system heap, else udmabuf, else
 * vgem), filled from @rand. */
static GstBuffer *
dmabuf_buffer (GstAllocator * allocator, GRand * rand, gsize size)
{
  GstBuffer *buf = gst_buffer_new ();
  GstMapInfo map;
  gsize i;

  gst_buffer_append_memory (buf, gst_dmabuf_allocator_alloc (allocator,
          foreign_dmabuf_new (size), size));
  fail_unless (gst_buffer_map (buf, &map, GST_MAP_WRITE));
  for (i = 0; i < size; i++)
    map.data[i] = g_rand_int (rand);
  gst_buffer_unmap (buf, &map);
  return buf;
}

/* Each buffer a new DMABUF, freed by its producer once played: each is
 * attached once; the sink keeps a few it no longer uses (8, the idle
 * cache's bound), detaching the older ones as it goes; every byte arrives
 * and no fd is left after the stop. */
GST_START_TEST (test_foreign_dmabufs_imported)
{
  GstElement *pipeline = appsrc_pipeline ("num-blocks=3");
  GstAllocator *allocator = gst_dmabuf_allocator_new ();
  GRand *rand = g_rand_new_with_seed (5);
  GstStructure *stats;
  guint before, i;
  Fnv sent;

  tap_sink (pipeline, &sent);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  gst_element_get_state (pipeline, NULL, NULL, 10 * GST_SECOND);
  before = count_fds ();
  for (i = 0; i < 60; i++)
    push (pipeline, dmabuf_buffer (allocator, rand, 960 * DAC_SCAN));
  gst_app_src_end_of_stream (GST_APP_SRC (get_by_name (pipeline, "in")));
  stats = run_to_eos (pipeline, 120 * GST_SECOND);

  assert_dac_played (&sent);
  fail_unless_equals_uint64 (sent.bytes, 60 * 960 * DAC_SCAN);
  fail_unless_equals_uint64 (stat_u64 (stats, "imports"), 60);
  fail_unless_equals_uint64 (stat_u64 (stats, "copies"), 0);
  fail_unless_equals_uint64 (stat_u64 (stats, "attaches"), 60);
  fail_unless_equals_uint64 (stat_u64 (stats, "detaches"), 60 - 8);
  fail_unless (count_fds () <= before, "%u fds after, %u before",
      count_fds (), before);
  g_print ("foreign DMABUFs: 60 imported, attached once each, 52 detached "
      "while playing, 8 at the stop, %" G_GUINT64_FORMAT " bytes exact, no "
      "fd left\n", sent.bytes);
  gst_structure_free (stats);
  g_rand_free (rand);
  gst_object_unref (allocator);
  gst_object_unref (pipeline);
}

GST_END_TEST;

static void
flush (GstElement * in)
{
  fail_unless (gst_element_send_event (in, gst_event_new_flush_start ()));
  fail_unless (gst_element_send_event (in, gst_event_new_flush_stop (TRUE)));
}

/* A flush drops what was queued, also blocks the converter never started
 * on; what follows plays exactly, on the same DMABUFs. */
GST_START_TEST (test_flush_then_play)
{
  GstElement *pipeline = appsrc_pipeline ("num-blocks=8");
  GRand *rand = g_rand_new_with_seed (9);
  GstElement *in = get_by_name (pipeline, "in");
  GstStructure *stats;
  Fnv sent;
  guint i;

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  for (i = 0; i < 12; i++)      /* every pooled DMABUF attached, playing */
    push (pipeline, pattern_buffer (rand, 480 * DAC_SCAN, 1));
  g_usleep (200 * 1000);
  flush (in);
  for (i = 0; i < 3; i++)       /* queued, not started: num-blocks=8 */
    push (pipeline, pattern_buffer (rand, 480 * DAC_SCAN, 1));
  g_usleep (200 * 1000);
  flush (in);
  tap_sink (pipeline, &sent);
  for (i = 0; i < 30; i++)
    push (pipeline, pattern_buffer (rand, 480 * DAC_SCAN, 1));
  gst_app_src_end_of_stream (GST_APP_SRC (in));
  stats = run_to_eos (pipeline, 120 * GST_SECOND);

  assert_dac_played (&sent);
  fail_unless_equals_uint64 (stat_u64 (stats, "fence-errors"), 0);
  g_print ("flush: twice (once before the converter started), the next %"
      G_GUINT64_FORMAT " bytes exact\n", sent.bytes);
  gst_structure_free (stats);
  g_rand_free (rand);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* No access to the heap: the copies go through udmabuf, data exact. */
GST_START_TEST (test_udmabuf_fallback)
{
  GstElement *pipeline =
      appsrc_pipeline ("dma-heap=/dev/dma_heap/no-such-heap");
  GRand *rand = g_rand_new_with_seed (13);
  GstStructure *stats;
  Fnv sent;
  guint i;

  tap_sink (pipeline, &sent);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  for (i = 0; i < 20; i++)
    push (pipeline, pattern_buffer (rand, 2048 * DAC_SCAN, 1));
  gst_app_src_end_of_stream (GST_APP_SRC (get_by_name (pipeline, "in")));
  stats = run_to_eos (pipeline, 120 * GST_SECOND);

  /* the next origin this kernel has: on Debian's armmp kernel, which has
   * no udmabuf either, a DRM device */
  assert_dac_played (&sent);
  fail_unless_equals_string (gst_structure_get_string (stats,
          "dmabuf-origin"), g_file_test (UDMABUF_NODE, G_FILE_TEST_EXISTS) ?
      "udmabuf" : "drm");
  fail_unless_equals_uint64 (stat_u64 (stats, "copies"), 20);
  g_print ("heap fallback (%s): %" G_GUINT64_FORMAT " bytes exact\n",
      gst_structure_get_string (stats, "dmabuf-origin"), sent.bytes);
  gst_structure_free (stats);
  g_rand_free (rand);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* The exporters of the DMABUFs that reach the sink, one per DMABUF. */
static GstPadProbeReturn
note_exporters (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  GstMemory *mem = gst_buffer_peek_memory (GST_PAD_PROBE_INFO_BUFFER (info),
      0);
  GHashTable *exporters = user_data;

  if (gst_is_dmabuf_memory (mem))
    g_hash_table_add (exporters,
        dmabuf_exporter (gst_dmabuf_memory_get_fd (mem)));
  else
    g_hash_table_add (exporters, g_strdup ("not a DMABUF"));
  return GST_PAD_PROBE_OK;
}

/* audiotestsrc writes into the sink's pool of DMABUFs from @origin
 * (@props), exported by @exporter: every byte played, no copy. */
static void
play_pooled_from (const gchar * props, const gchar * origin,
    const gchar * exporter)
{
  gchar *desc = g_strdup_printf ("audiotestsrc num-buffers=100 "
      "samplesperbuffer=1000 wave=saw ! audio/x-raw,format=S16LE,channels=2,"
      "rate=48000 ! iiodmabufsink name=sink device=" DAC " %s", props);
  GHashTable *exporters = g_hash_table_new_full (g_str_hash, g_str_equal,
      g_free, NULL);
  GstElement *pipeline = launch (desc);
  GstPad *pad = gst_element_get_static_pad (get_by_name (pipeline, "sink"),
      "sink");
  GstStructure *stats;
  Fnv sent;

  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, note_exporters,
      exporters, NULL);
  gst_object_unref (pad);
  tap_sink (pipeline, &sent);
  stats = run_to_eos (pipeline, 120 * GST_SECOND);

  fail_unless_equals_uint64 (sent.bytes, 100 * 1000 * DAC_SCAN);
  assert_dac_played (&sent);
  fail_unless_equals_string (gst_structure_get_string (stats,
          "dmabuf-origin"), origin);
  fail_unless_equals_uint64 (stat_u64 (stats, "pooled"), 100);
  fail_unless_equals_uint64 (stat_u64 (stats, "copies"), 0);
  fail_unless_equals_int (g_hash_table_size (exporters), 1);
  fail_unless (g_hash_table_contains (exporters, exporter));
  g_print ("%s: %" G_GUINT64_FORMAT " bytes played exact from %s (DMABUFs "
      "of %s), 100 pooled, 0 copies\n", props, sent.bytes, origin, exporter);
  gst_structure_free (stats);
  g_hash_table_unref (exporters);
  gst_object_unref (pipeline);
  g_free (desc);
}

/* dmabuf-origin=drm: the pool's blocks are dumb buffers of vgem, though a
 * DMA heap and udmabuf are there. */
GST_START_TEST (test_drm_origin)
{
  play_pooled_from ("dmabuf-origin=drm", "drm", "drm");
}

GST_END_TEST;

/* dmabuf-origin=auto without a DMA heap or udmabuf (Debian's armmp): a
 * DRM device's dumb buffers. */
GST_START_TEST (test_auto_falls_back_to_drm)
{
  hide_node (UDMABUF_NODE);
  play_pooled_from ("dma-heap=/dev/dma_heap/no-such-heap", "drm", "drm");
  restore_nodes ();
}

GST_END_TEST;

/* Nothing makes DMABUFs (armmp without vgem): io-mode=auto plays with
 * write(), every byte, and says so in one warning that tells what would
 * give zero-copy. */
GST_START_TEST (test_no_dmabuf_writes)
{
  GstElement *pipeline;
  static const guint8 zeros[1024 * DAC_SCAN];
  GstStructure *stats;
  GstMessage *msg;
  GError *error = NULL;
  guint warnings = 0;
  gsize tail;
  Fnv sent;

  hide_node (UDMABUF_NODE);
  hide_node (DRM_DIR);
  pipeline = launch ("audiotestsrc num-buffers=50 samplesperbuffer=1000 "
      "wave=sine ! audio/x-raw,format=S16LE,channels=2,rate=48000 ! "
      "iiodmabufsink name=sink samples-per-block=1024 device=" DAC " "
      "dma-heap=/dev/dma_heap/no-such-heap");
  tap_sink (pipeline, &sent);
  msg = run_keeping_warning (pipeline, 120 * GST_SECOND, &warnings, &error,
      NULL);
  fail_unless (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS, "no EOS: %s",
      error_text (msg));
  gst_message_unref (msg);
  stats = sink_stats (pipeline);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  restore_nodes ();

  /* the kernel plays whole blocks: the last one is filled with silence */
  tail = (1024 * DAC_SCAN - sent.bytes % (1024 * DAC_SCAN)) % (1024 * DAC_SCAN);
  fnv_add (&sent, zeros, tail);
  assert_dac_played (&sent);
  fail_unless_equals_string (gst_structure_get_string (stats, "io-mode"), "rw");
  fail_unless_equals_string (gst_structure_get_string (stats,
          "dmabuf-origin"), "none");
  fail_unless_equals_int (warnings, 1);
  fail_unless (strstr (error->message, "No DMABUF can be made here")
      && strstr (error->message, "write()"), "%s", error->message);
  g_print ("no DMABUF to be had: write(), %" G_GUINT64_FORMAT " bytes "
      "played exact, one warning\n", sent.bytes);
  g_error_free (error);
  gst_structure_free (stats);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* A DRM node asked for that is not there: an error that names it. */
GST_START_TEST (test_drm_device_refused)
{
  GstElement *pipeline = launch ("audiotestsrc num-buffers=10 ! "
      "audio/x-raw,format=S16LE,channels=2,rate=48000 ! iiodmabufsink "
      "name=sink device=" DAC " dmabuf-origin=drm drm-device=/dev/dri/card99");
  GstMessage *msg = run (pipeline, 30 * GST_SECOND, NULL);
  gchar *text = error_text (msg);

  gst_element_set_state (pipeline, GST_STATE_NULL);
  fail_unless (strstr (text, "cannot open DRM device /dev/dri/card99: No "
          "such file or directory"), "%s", text);
  g_print ("a DRM node that is not there: '%s'\n", text);
  g_free (text);
  gst_message_unref (msg);
  gst_object_unref (pipeline);
}

GST_END_TEST;

static guint64
wait_repeats (guint64 at_least)
{
  guint64 n;
  gint tries = 0;

  while ((n = sysfs_read_u64 (DAC, "cyclic_repeats")) < at_least) {
    fail_unless (++tries < 3000, "cyclic_repeats stuck at %" G_GUINT64_FORMAT,
        n);
    g_usleep (10 * 1000);
  }
  return n;
}

/* The DAC played @wave, whole, over and over: returns how many times. */
static guint64
assert_dac_played_waves (GstBuffer * wave)
{
  gsize size = gst_buffer_get_size (wave);
  Fnv want, played;
  GstMapInfo map;
  guint64 i;

  dac_played (&played);
  fail_unless_equals_uint64 (played.bytes % size, 0);
  fnv_init (&want);
  gst_buffer_map (wave, &map, GST_MAP_READ);
  for (i = 0; i < played.bytes / size; i++)
    fnv_add (&want, map.data, map.size);
  gst_buffer_unmap (wave, &map);
  fail_unless (played.hash == want.hash, "cyclic data differs");
  return played.bytes / size;
}

/* One buffer repeats until the element stops; later ones are dropped. A
 * DAC that repeats CYCLIC blocks in hardware (ADI's kernel) does it. */
GST_START_TEST (test_cyclic_repeats)
{
  GstElement *pipeline = appsrc_pipeline ("cyclic=true");
  GRand *rand = g_rand_new_with_seed (11);
  GstBuffer *wave = pattern_buffer (rand, 480 * DAC_SCAN, 1);
  GstStructure *stats;
  GstMessage *msg;
  GstBus *bus;
  guint64 seen, repeats, waves, i;

  sysfs_write (DAC "/cyclic_repeat", "1");
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  push (pipeline, gst_buffer_ref (wave));
  for (i = 0; i < 3; i++)
    push (pipeline, pattern_buffer (rand, 480 * DAC_SCAN, 1));
  gst_app_src_end_of_stream (GST_APP_SRC (get_by_name (pipeline, "in")));

  seen = wait_repeats (5);
  wait_repeats (seen + 5);      /* still growing while PLAYING */
  bus = gst_element_get_bus (pipeline);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  fail_unless (msg == NULL, "got %" GST_PTR_FORMAT " while cyclic", msg);
  stats = sink_stats (pipeline);
  gst_element_set_state (pipeline, GST_STATE_NULL);

  /* what the DAC played is the wave, whole, over and over (each block
   * holds it several times) */
  repeats = sysfs_read_u64 (DAC, "cyclic_repeats");
  fail_unless (repeats >= seen);
  waves = assert_dac_played_waves (wave);
  fail_unless_equals_uint64 (stat_u64 (stats, "dropped"), 3);
  fail_unless_equals_uint64 (stat_u64 (stats, "blocks"), 1);
  fail_unless_equals_string (gst_structure_get_string (stats, "cyclic-mode"),
      "hardware");
  fail_unless_equals_uint64 (sysfs_read_u64 (DAC, "underflows"), 0);
  g_print ("cyclic, repeated in hardware: %" G_GUINT64_FORMAT " repeats, %"
      G_GUINT64_FORMAT " waveforms of 1920 bytes exact, 0 underflows, 3 later "
      "buffers dropped, no EOS\n", repeats, waves);
  gst_structure_free (stats);
  gst_buffer_unref (wave);
  g_rand_free (rand);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* write() for drivers without DMABUF: data exact, the tail padded. */
GST_START_TEST (test_write_mode)
{
  GstElement *pipeline = launch ("audiotestsrc num-buffers=50 "
      "samplesperbuffer=1000 wave=sine ! audio/x-raw,format=S16LE,channels=2,"
      "rate=48000 ! iiodmabufsink name=sink io-mode=rw samples-per-block=1024 "
      "device=" DAC);
  static const guint8 zeros[1024 * DAC_SCAN];
  GstStructure *stats;
  gsize tail;
  Fnv sent;

  tap_sink (pipeline, &sent);
  stats = run_to_eos (pipeline, 120 * GST_SECOND);

  /* the kernel plays whole blocks: the last one is filled with silence */
  tail = (1024 * DAC_SCAN - sent.bytes % (1024 * DAC_SCAN)) % (1024 * DAC_SCAN);
  fnv_add (&sent, zeros, tail);
  assert_dac_played (&sent);
  fail_unless_equals_string (gst_structure_get_string (stats, "io-mode"), "rw");
  g_print ("write(): %" G_GUINT64_FORMAT " bytes played (%" G_GSIZE_FORMAT
      " of padding), checksum matches\n", sent.bytes, tail);
  gst_structure_free (stats);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* The DAC's length and watermark, read once the sink has rendered a few
 * buffers (from the streaming thread). */
typedef struct
{
  guint buffers;
  gchar *length, *watermark;
} Geometry;

static GstPadProbeReturn
read_geometry (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  Geometry *g = user_data;

  if (++g->buffers == 10) {
    g->length = sysfs_read (DAC "/buffer0/length");
    g->watermark = sysfs_read (DAC "/buffer0/watermark");
  }
  return GST_PAD_PROBE_OK;
}

static void
watch_geometry (GstElement * pipeline, Geometry * g)
{
  GstPad *pad = gst_element_get_static_pad (get_by_name (pipeline, "sink"),
      "sink");

  memset (g, 0, sizeof *g);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, read_geometry, g, NULL);
  gst_object_unref (pad);
}

/* Mainline's dmaengine buffer (iio-sim-dac) keeps its watermark read-only
 * (0444, for root too), at half the length: the sink plays without
 * writing it, every byte exact, sets the length for its blocks and puts it
 * back. */
GST_START_TEST (test_fixed_watermark)
{
  gchar *length_before = sysfs_read (DAC "/buffer0/length");
  gchar *watermark_before = sysfs_read (DAC "/buffer0/watermark");
  GstElement *pipeline = launch ("audiotestsrc num-buffers=60 "
      "samplesperbuffer=512 wave=saw ! audio/x-raw,format=S16LE,channels=2,"
      "rate=48000 ! iiodmabufsink name=sink samples-per-block=512 "
      "num-blocks=6 device=" DAC);
  GstStructure *stats;
  Geometry g;
  Fnv sent;

  fail_unless (sysfs_read_only (DAC "/buffer0/watermark"),
      DAC "'s watermark is writable: not mainline's dmaengine buffer");
  tap_sink (pipeline, &sent);
  watch_geometry (pipeline, &g);
  stats = run_to_eos (pipeline, 120 * GST_SECOND);

  fail_unless_equals_uint64 (sent.bytes, 60 * 512 * DAC_SCAN);
  assert_dac_played (&sent);
  fail_unless_equals_string (g.length, "3072");
  fail_unless_equals_string (g.watermark, "1536");
  fail_unless_equals_string (sysfs_read (DAC "/buffer0/length"), length_before);
  fail_unless_equals_string (sysfs_read (DAC "/buffer0/watermark"),
      watermark_before);
  fail_unless_equals_uint64 (stat_u64 (stats, "pooled"), 60);
  fail_unless_equals_uint64 (stat_u64 (stats, "fence-errors"), 0);
  g_print ("fixed watermark: %" G_GUINT64_FORMAT " bytes exact, length %s "
      "and the driver's watermark %s while playing, %s and %s after\n",
      sent.bytes, g.length, g.watermark, length_before, watermark_before);
  g_free (g.length);
  g_free (g.watermark);
  g_free (length_before);
  g_free (watermark_before);
  gst_structure_free (stats);
  gst_object_unref (pipeline);
}

GST_END_TEST;

#define MONO_SCAN 2             /* one le:s16 channel */

/* The DAC's DMA engine moves 4 bytes at a time (length_align_bytes), and
 * mainline's dmaengine buffer never moves a block of another size. With
 * one channel, buffers of 1001 scans (2002 bytes) fit neither as they are
 * (plain memory, or DMABUFs of their own) nor one by one: the sink copies
 * them into blocks of whole pairs, and pads the very last with one zero
 * scan. Every byte is played, no block fails. */
GST_START_TEST (test_unaligned_buffers_fit_dma)
{
  GstElement *pipeline = launch ("appsrc name=in format=time "
      "caps=audio/x-raw,format=S16LE,layout=interleaved,channels=1,"
      "rate=48000 ! iiodmabufsink name=sink channels=voltage0 device=" DAC);
  GstAllocator *allocator = gst_dmabuf_allocator_new ();
  GRand *rand = g_rand_new_with_seed (17);
  static const guint8 zeros[MONO_SCAN];
  GstStructure *stats;
  Fnv sent;
  guint i;

  fail_unless_equals_string (sysfs_read (DAC "/buffer0/length_align_bytes"),
      "4");
  tap_sink (pipeline, &sent);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  for (i = 0; i < 15; i++)
    push (pipeline, i % 2 ? pattern_buffer (rand, 1001 * MONO_SCAN, 1 + i % 3)
        : dmabuf_buffer (allocator, rand, 1001 * MONO_SCAN));
  gst_app_src_end_of_stream (GST_APP_SRC (get_by_name (pipeline, "in")));
  stats = run_to_eos (pipeline, 120 * GST_SECOND);

  /* 15015 scans: the last block gets one zero scan to make whole pairs */
  fail_unless_equals_uint64 (sent.bytes, 15 * 1001 * MONO_SCAN);
  fnv_add (&sent, zeros, MONO_SCAN);
  assert_dac_played (&sent);
  fail_unless_equals_uint64 (stat_u64 (stats, "blocks"), 15);
  fail_unless_equals_uint64 (stat_u64 (stats, "imports"), 0);
  fail_unless_equals_uint64 (stat_u64 (stats, "fence-errors"), 0);
  fail_unless_equals_uint64 (stat_u64 (stats, "copies"), 8);
  g_print ("one channel, 1001-scan buffers on a 4-byte DMA engine: %"
      G_GUINT64_FORMAT " bytes played exact in 8 copied blocks, the last "
      "padded with one zero scan, 0 failed\n", sent.bytes);
  gst_structure_free (stats);
  g_rand_free (rand);
  gst_object_unref (allocator);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* Runs @pipeline until its first error; returns the error's text. */
static gchar *
first_error (GstElement * pipeline, gchar ** warning)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg;
  gchar *text = NULL;

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  while (!text) {
    msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
        GST_MESSAGE_ERROR | GST_MESSAGE_WARNING | GST_MESSAGE_EOS);
    fail_unless (msg != NULL, "no error");
    fail_if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS, "EOS, not an error");
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
      text = error_text (msg);
    else if (warning && !*warning)
      *warning = error_text (msg);
    gst_message_unref (msg);
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  return text;
}

GST_START_TEST (test_mismatched_channels)
{
  GstElement *pipeline = launch ("audiotestsrc num-buffers=10 ! "
      "audio/x-raw,format=S16LE,channels=3,rate=48000 ! iiodmabufsink "
      "name=sink device=" DAC);
  gchar *warning = NULL, *text = first_error (pipeline, &warning);
  GstStructure *stats = sink_stats (pipeline);

  fail_unless (warning && strstr (warning, "channels=(int)3")
      && strstr (warning, "channels=(int)2")
      && strstr (warning, "audioconvert"), "warning: %s", warning);
  fail_unless_equals_uint64 (stat_u64 (stats, "blocks"), 0);
  gst_structure_free (stats);
  g_print ("3 channels to a 2-channel DAC: '%s'\n", warning);
  g_free (text);
  g_free (warning);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* A buffer that ends inside a scan is refused whole. */
GST_START_TEST (test_partial_scan_refused)
{
  GstElement *pipeline = appsrc_pipeline ("");
  GRand *rand = g_rand_new_with_seed (3);
  gchar *text;

  push (pipeline, pattern_buffer (rand, 1000 * DAC_SCAN + 2, 1));
  text = first_error (pipeline, NULL);
  fail_unless (strstr (text, "whole number of 4-byte scans"), "%s", text);
  fail_unless_equals_string (sysfs_read (DAC "/buffer0/enable"), "0");
  g_print ("partial scan: '%s'\n", text);
  g_free (text);
  g_rand_free (rand);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* samples-per-block=1023 on one channel makes blocks of 2046 bytes, which
 * the DAC's 4-byte DMA engine cannot move: refused at once, with what to
 * use, the DAC left as it was. */
GST_START_TEST (test_block_must_fit_dma)
{
  gchar *length_before = sysfs_read (DAC "/buffer0/length");
  GstElement *pipeline = launch ("audiotestsrc num-buffers=10 ! "
      "audio/x-raw,format=S16LE,channels=1,rate=48000 ! iiodmabufsink "
      "name=sink channels=voltage0 samples-per-block=1023 device=" DAC);
  gint64 start = g_get_monotonic_time ();
  gchar *text = first_error (pipeline, NULL);
  gint64 took_ms = (g_get_monotonic_time () - start) / 1000;

  fail_unless (strstr (text, "samples-per-block=1023")
      && strstr (text, "use a multiple of 2 samples"), "%s", text);
  fail_unless (took_ms < 5000, "the refusal took %" G_GINT64_FORMAT " ms",
      took_ms);
  fail_unless_equals_string (sysfs_read (DAC "/buffer0/length"), length_before);
  fail_unless_equals_string (sysfs_read (DAC "/buffer0/enable"), "0");
  g_print ("samples-per-block=1023 on one channel refused in %"
      G_GINT64_FORMAT " ms: '%s'\n", took_ms, text);
  g_free (text);
  g_free (length_before);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* Sizes are counted in 64 bits on every architecture: a pool block of
 * 4 GiB (0 bytes in a 32-bit size) is refused; on a 32-bit system so are
 * blocks that together would take more than half the address space, and
 * a cyclic waveform whose three copies would, before anything is
 * allocated (the waveform's own pages are never touched). */
GST_START_TEST (test_geometry_limits)
{
  GstElement *pipeline = appsrc_pipeline ("samples-per-block=1073741824");
  gchar *text = first_error (pipeline, NULL);

  fail_unless (strstr (text, "A block of 1073741824 scans of 4 bytes does "
          "not fit IIO device " DAC " (2 GiB at most)"), "%s", text);
  g_print ("4 GiB blocks: '%s'\n", text);
  g_free (text);
  gst_object_unref (pipeline);
  if (sizeof (gpointer) == 4) {
    GstBuffer *wave = gst_buffer_new_allocate (NULL, 700 << 20, NULL);

    pipeline = appsrc_pipeline ("samples-per-block=67108864 num-blocks=9");
    text = first_error (pipeline, NULL);
    fail_unless (strstr (text, "9 blocks of 268435456 bytes for IIO device "
            DAC " do not fit this 32-bit system's address space"), "%s", text);
    g_print ("32-bit, 9 blocks of 256 MiB: '%s'\n", text);
    g_free (text);
    gst_object_unref (pipeline);

    fail_unless (wave != NULL);
    pipeline = appsrc_pipeline ("cyclic=true");
    fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING) !=
        GST_STATE_CHANGE_FAILURE);
    push (pipeline, wave);
    text = first_error (pipeline, NULL);
    fail_unless (strstr (text, "A cyclic waveform of 734003200 bytes is too "
            "large for this system: use a shorter one"), "%s", text);
    g_print ("32-bit, a cyclic waveform of 700 MiB: '%s'\n", text);
    g_free (text);
    gst_object_unref (pipeline);
  }
  fail_unless_equals_string (sysfs_read (DAC "/buffer0/enable"), "0");
}

GST_END_TEST;

GST_START_TEST (test_busy_dac)
{
  GstElement *pipeline = appsrc_pipeline ("");
  gchar *node = sysfs_node (DAC), *text;
  gint fd = open (node, O_RDONLY);

  fail_unless (fd >= 0);
  text = first_error (pipeline, NULL);
  fail_unless (strstr (text, "another process"), "%s", text);
  close (fd);
  g_free (text);
  g_free (node);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* The platform device of the DAC: iio-sim.2 (tests/vm/iio-sim). */
#define DAC_PLATFORM "iio-sim.2"
#define SIM_DRIVER "/sys/bus/platform/drivers/iio-sim/"

static void
rebind_dac (void)
{
  FILE *f = fopen (SIM_DRIVER "bind", "w");

  fail_unless (f != NULL);
  fputs (DAC_PLATFORM, f);
  fail_unless (fclose (f) == 0);
}

/* The DAC goes away while playing: an error, a clean stop, no fd left. */
GST_START_TEST (test_removed_while_playing)
{
  GstElement *pipeline = launch ("audiotestsrc is-live=true "
      "samplesperbuffer=480 ! audio/x-raw,format=S16LE,channels=2,rate=48000 "
      "! iiodmabufsink name=sink device=" DAC);
  guint before;
  gchar *text;
  FILE *f;

  /* one cycle first: GStreamer's own lazily opened fds are not ours */
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  gst_element_get_state (pipeline, NULL, NULL, 10 * GST_SECOND);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  before = count_fds ();

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  g_usleep (300 * 1000);
  f = fopen (SIM_DRIVER "unbind", "w");
  fail_unless (f != NULL);
  fputs (DAC_PLATFORM, f);
  fail_unless (fclose (f) == 0);
  text = first_error (pipeline, NULL);
  fail_unless_equals_int (count_fds (), before);
  rebind_dac ();
  fail_unless (strstr (text, DAC) && strstr (text, "removed"), "%s", text);
  g_print ("removed while playing: '%s'; stopped, %u fds before and after\n",
      text, before);
  g_free (text);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* A stalled DAC: a timely error; unlock makes the stop prompt. */
GST_START_TEST (test_stall_error_and_prompt_stop)
{
  GstElement *pipeline = launch ("audiotestsrc samplesperbuffer=480 ! "
      "audio/x-raw,format=S16LE,channels=2,rate=48000 ! iiodmabufsink "
      "name=sink timeout=500000000 device=" DAC);
  gint64 t0;
  gchar *text;

  sysfs_write (DAC "/fault_stall", "1");
  text = first_error (pipeline, NULL);
  sysfs_write (DAC "/fault_stall", "0");
  fail_unless (strstr (text, "stalled"), "%s", text);
  g_free (text);

  /* blocked on a fence with no timeout in sight: NULL still returns */
  g_object_set (get_by_name (pipeline, "sink"), "timeout", 600 * GST_SECOND,
      NULL);
  sysfs_write (DAC "/fault_stall", "1");
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  gst_element_get_state (pipeline, NULL, NULL, 10 * GST_SECOND);
  g_usleep (500 * 1000);
  t0 = g_get_monotonic_time ();
  gst_element_set_state (pipeline, GST_STATE_NULL);
  fail_unless (g_get_monotonic_time () - t0 < 3 * G_USEC_PER_SEC,
      "stopping took over 3 s");
  sysfs_write (DAC "/fault_stall", "0");
  fail_unless_equals_string (sysfs_read (DAC "/buffer0/enable"), "0");
  g_print ("stall: error, then a prompt stop while waiting on a fence\n");
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* --- state changes, faults and queries ---------------------------------- */

/* What reached the sink and what the DAC played, for a failure message. */
static gchar *
sent_and_played (const Fnv * sent)
{
  Fnv played;

  dac_played (&played);
  return g_strdup_printf ("%" G_GUINT64_FORMAT " bytes reached the sink, the "
      "DAC played %" G_GUINT64_FORMAT, sent->bytes, played.bytes);
}

/* Plays @desc, paused for 0.4 s three times, until EOS (within 60 s of the
 * last resume), hashing what reaches the sink into @sent. */
static void
play_with_pauses (const gchar * desc, Fnv * sent)
{
  GstElement *pipeline = launch (desc);
  GstBus *bus = gst_element_get_bus (pipeline);
  gchar *text = NULL, *counts;
  GstMessage *msg;
  guint i;

  tap_sink (pipeline, sent);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  for (i = 0; i < 3; i++) {
    g_usleep (200 * 1000);
    gst_element_set_state (pipeline, GST_STATE_PAUSED);
    g_usleep (400 * 1000);
    gst_element_set_state (pipeline, GST_STATE_PLAYING);
  }
  msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  counts = sent_and_played (sent);
  fail_unless (msg != NULL, "no EOS within 60 s of the last resume: %s",
      counts);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    text = error_text (msg);
  fail_unless (text == NULL, "error: %s (%s)", text, counts);
  g_free (counts);
  gst_message_unref (msg);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
}

/* A player paused and resumed by its user, from a file (not live). */
GST_START_TEST (test_pause_resume_non_live)
{
  Fnv sent;

  play_with_pauses ("audiotestsrc num-buffers=120 samplesperbuffer=480 "
      "wave=saw ! audio/x-raw,format=S16LE,channels=2,rate=48000 ! "
      "iiodmabufsink name=sink device=" DAC, &sent);

  fail_unless_equals_uint64 (sent.bytes, 120 * 480 * DAC_SCAN);
  assert_dac_played (&sent);
  g_print ("paused and resumed three times (not live): %" G_GUINT64_FORMAT
      " bytes played exactly, then EOS\n", sent.bytes);
}

GST_END_TEST;

/* A signal generator (live) paused and resumed by its user. */
GST_START_TEST (test_pause_resume_live)
{
  Fnv sent;

  play_with_pauses ("audiotestsrc is-live=true num-buffers=120 "
      "samplesperbuffer=480 wave=saw ! audio/x-raw,format=S16LE,channels=2,"
      "rate=48000 ! iiodmabufsink name=sink device=" DAC, &sent);

  assert_dac_played (&sent);
  g_print ("paused and resumed three times (live): %" G_GUINT64_FORMAT
      " bytes played exactly, then EOS\n", sent.bytes);
}

GST_END_TEST;

/* Plays 40 blocks of @scans scans at @rate to a DAC whose DMA engine
 * refuses the first two: both must be counted as fence errors and told
 * in a warning, and the other 38 played exactly. */
static void
play_with_failed_submits (guint rate, guint scans)
{
  gchar *desc = g_strdup_printf ("appsrc name=in format=time "
      "caps=audio/x-raw,format=S16LE,layout=interleaved,channels=2,rate=%u,"
      "channel-mask=(bitmask)0 ! iiodmabufsink name=sink device=" DAC
      " num-blocks=4", rate);
  GstElement *pipeline = launch (desc);
  GRand *rand = g_rand_new_with_seed (19);
  GstStructure *stats;
  GstMessage *msg;
  guint warnings = 0, i;
  gchar *text = NULL;
  Fnv want;

  fnv_init (&want);             /* the first two blocks are the failed ones */
  sysfs_write (DAC "/fault_submit_blocks", "2");
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  for (i = 0; i < 40; i++) {
    GstBuffer *buf = pattern_buffer (rand, scans * DAC_SCAN, 1);
    GstMapInfo map;

    gst_buffer_map (buf, &map, GST_MAP_READ);
    if (i >= 2)
      fnv_add (&want, map.data, map.size);
    gst_buffer_unmap (buf, &map);
    push (pipeline, buf);
  }
  gst_app_src_end_of_stream (GST_APP_SRC (get_by_name (pipeline, "in")));
  msg = run (pipeline, 120 * GST_SECOND, &warnings);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    text = error_text (msg);
  gst_message_unref (msg);
  stats = sink_stats (pipeline);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  /* a fault left armed would fail blocks of the next test */
  sysfs_write (DAC "/fault_submit_blocks", "0");
  sysfs_write (DAC "/sampling_frequency", "48000");

  fail_unless (text == NULL, "error: %s", text);
  fail_unless_equals_uint64 (stat_u64 (stats, "fence-errors"), 2);
  fail_unless (warnings >= 1, "no warning posted");
  assert_dac_played (&want);
  g_print ("2 failed submits in blocks of %u scans at %u Hz: counted, %u "
      "warning(s), the other %" G_GUINT64_FORMAT " bytes played exactly\n",
      scans, rate, warnings, want.bytes);
  gst_structure_free (stats);
  g_rand_free (rand);
  gst_object_unref (pipeline);
  g_free (desc);
}

/* A DAC driver whose DMA prep fails now and then: the lost blocks are
 * counted and reported, the rest plays. Blocks of 10 ms: a failed submit
 * shows at once (its fence is signalled sooner than a block could play),
 * unless the streaming thread stalls that long between the enqueue and
 * the fence's export (see the next test). */
GST_START_TEST (test_failed_submit_counted)
{
  play_with_failed_submits (48000, 480);
}

GST_END_TEST;

/* Blocks shorter than the enqueue takes (8 scans at 100 MHz, 80 ns): a
 * fence signalled at its export may be a block that played, so a failed
 * submit passes for one. The kernel keeps that DMABUF busy: its next
 * enqueue finds the failure (EBUSY), which is counted then, and the
 * DMABUF attached again. */
GST_START_TEST (test_failed_submit_found_late)
{
  play_with_failed_submits (100000000, 8);
}

GST_END_TEST;

/* A DAC driver that fails 10 blocks (fault_eio_blocks: the fence ends
 * with -EIO), fewer in a row than make an error: the sink tells them in a
 * warning at once and then at most every 5 s with the count since (and
 * what is left at the end of the stream), not one warning per block; the
 * warnings' counts add up to every failed block, and the rest plays. */
GST_START_TEST (test_failed_blocks_warned_not_flooded)
{
  const guint failed = 10, blocks = 40;
  GstElement *pipeline = appsrc_pipeline ("num-blocks=4");
  GRand *rand = g_rand_new_with_seed (43);
  GstBus *bus = gst_element_get_bus (pipeline);
  guint64 told = 0, elapsed_s;
  guint warnings = 0, i;
  GstStructure *stats;
  GstMessage *msg;
  gint64 t0;
  Fnv want;

  fnv_init (&want);             /* the first blocks are the failed ones */
  sysfs_write (DAC "/fault_eio_blocks", "10");
  t0 = g_get_monotonic_time ();
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  for (i = 0; i < blocks; i++) {
    GstBuffer *buf = pattern_buffer (rand, 480 * DAC_SCAN, 1);
    GstMapInfo map;

    gst_buffer_map (buf, &map, GST_MAP_READ);
    if (i >= failed)
      fnv_add (&want, map.data, map.size);
    gst_buffer_unmap (buf, &map);
    push (pipeline, buf);
  }
  gst_app_src_end_of_stream (GST_APP_SRC (get_by_name (pipeline, "in")));
  while ((msg = gst_bus_timed_pop_filtered (bus, 120 * GST_SECOND,
              GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_WARNING))
      && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING) {
    gchar *text = error_text (msg);

    fail_unless (strstr (text, "failed (the last: Input/output error): the "
            "converter skipped them") != NULL, "%s", text);
    told += g_ascii_strtoull (text, NULL, 10);
    warnings++;
    g_free (text);
    gst_message_unref (msg);
  }
  elapsed_s = (g_get_monotonic_time () - t0) / G_USEC_PER_SEC;
  fail_unless (msg != NULL, "no EOS within 120 s");
  fail_unless_equals_int (GST_MESSAGE_TYPE (msg), GST_MESSAGE_EOS);
  gst_message_unref (msg);
  stats = sink_stats (pipeline);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  sysfs_write (DAC "/fault_eio_blocks", "0");

  fail_unless_equals_uint64 (stat_u64 (stats, "fence-errors"), failed);
  fail_unless_equals_uint64 (told, failed);
  /* the first at once, one per 5 s after, the rest at the end */
  fail_unless (warnings >= 1 && warnings <= 2 + elapsed_s / 5,
      "%u warnings for %u failed blocks in %" G_GUINT64_FORMAT " s",
      warnings, failed, elapsed_s);
  assert_dac_played (&want);
  g_print ("%u failed blocks told in %u warning(s) over %" G_GUINT64_FORMAT
      " s, the other %" G_GUINT64_FORMAT " bytes played exactly\n", failed,
      warnings, elapsed_s, want.bytes);
  gst_structure_free (stats);
  g_rand_free (rand);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
}

GST_END_TEST;

static void
assert_enable_count (guint64 before, const gchar * when)
{
  guint64 now = sysfs_read_u64 (DAC, "enable_count");

  fail_unless (now == before, "%s: the DAC was enabled %" G_GUINT64_FORMAT
      " time(s), with stale blocks", when, now - before);
}

/* A player stopped or seeking before its first blocks began to play: the
 * DAC never plays them. */
GST_START_TEST (test_stop_before_start_plays_nothing)
{
  GstElement *pipeline = appsrc_pipeline ("num-blocks=8");
  GstElement *in = get_by_name (pipeline, "in");
  guint64 before = sysfs_read_u64 (DAC, "enable_count");
  GRand *rand = g_rand_new_with_seed (23);
  GstStructure *stats;
  Fnv sent;
  guint i;

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  for (i = 0; i < 3; i++)       /* queued, not started: num-blocks=8 */
    push (pipeline, pattern_buffer (rand, 480 * DAC_SCAN, 1));
  g_usleep (200 * 1000);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  assert_enable_count (before, "stopped before the start");

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  for (i = 0; i < 3; i++)
    push (pipeline, pattern_buffer (rand, 480 * DAC_SCAN, 1));
  g_usleep (200 * 1000);
  flush (in);
  assert_enable_count (before, "flushed before the start");
  tap_sink (pipeline, &sent);
  for (i = 0; i < 30; i++)
    push (pipeline, pattern_buffer (rand, 480 * DAC_SCAN, 1));
  gst_app_src_end_of_stream (GST_APP_SRC (in));
  stats = run_to_eos (pipeline, 120 * GST_SECOND);

  fail_unless_equals_uint64 (sent.bytes, 30 * 480 * DAC_SCAN);
  assert_dac_played (&sent);
  g_print ("stop and flush before the start: the DAC never enabled; then %"
      G_GUINT64_FORMAT " bytes exact\n", sent.bytes);
  gst_structure_free (stats);
  g_rand_free (rand);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* Mainline's dmaengine buffer plays a CYCLIC block once and signals its
 * fence: the element notices and queues its copies of the waveform again
 * as each completes. The DAC never runs dry, and what it played is the
 * waveform, whole, over and over. */
GST_START_TEST (test_cyclic_without_hardware_repeat)
{
  GstElement *pipeline = appsrc_pipeline ("cyclic=true");
  GRand *rand = g_rand_new_with_seed (12);
  GstBuffer *wave = pattern_buffer (rand, 480 * DAC_SCAN, 1);
  guint64 waves, i;
  gint tries = 0;
  GstStructure *stats;
  GstMessage *msg;
  GstBus *bus;

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  push (pipeline, gst_buffer_ref (wave));
  for (i = 0; i < 3; i++)
    push (pipeline, pattern_buffer (rand, 480 * DAC_SCAN, 1));
  gst_app_src_end_of_stream (GST_APP_SRC (get_by_name (pipeline, "in")));
  /* 1 s of output: 100 times the 10 ms waveform */
  while (sysfs_read_u64 (DAC, "consumed_bytes") < 100 * 480 * DAC_SCAN) {
    fail_unless (++tries < 3000, "the DAC played only %" G_GUINT64_FORMAT
        " bytes", sysfs_read_u64 (DAC, "consumed_bytes"));
    g_usleep (10 * 1000);
  }
  bus = gst_element_get_bus (pipeline);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  fail_unless (msg == NULL, "got %" GST_PTR_FORMAT " while cyclic", msg);
  stats = sink_stats (pipeline);
  gst_element_set_state (pipeline, GST_STATE_NULL);

  waves = assert_dac_played_waves (wave);
  fail_unless_equals_uint64 (sysfs_read_u64 (DAC, "cyclic_repeats"), 0);
  fail_unless_equals_uint64 (sysfs_read_u64 (DAC, "underflows"), 0);
  fail_unless_equals_string (gst_structure_get_string (stats, "cyclic-mode"),
      "software");
  fail_unless_equals_uint64 (stat_u64 (stats, "dropped"), 3);
  fail_unless_equals_uint64 (stat_u64 (stats, "underflows"), 0);
  g_print ("cyclic, played once by the driver: queued again in software, %"
      G_GUINT64_FORMAT " waveforms (%" G_GUINT64_FORMAT " bytes) exact, 0 "
      "underflows\n", waves, waves * 480 * DAC_SCAN);
  gst_structure_free (stats);
  gst_buffer_unref (wave);
  g_rand_free (rand);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* Cyclic output on a DMA engine that fails every block (scattered pages
 * where it needs contiguous memory): an error that says so, not silence. */
GST_START_TEST (test_cyclic_failing_dac_errors)
{
  GstElement *pipeline = appsrc_pipeline ("cyclic=true "
      "dma-heap=/dev/dma_heap/no-such-heap");
  GRand *rand = g_rand_new_with_seed (13);
  GstMessage *msg;
  GstBus *bus;
  gchar *text;

  sysfs_write (DAC "/contiguous_only", "1");
  bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  push (pipeline, pattern_buffer (rand, 480 * DAC_SCAN, 1));
  msg = gst_bus_timed_pop_filtered (bus, 30 * GST_SECOND, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "no error from a DAC that fails every block");
  text = error_text (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  sysfs_write (DAC "/contiguous_only", "0");

  fail_unless (strstr (text, "Cyclic output") && strstr (text, "CMA heap"),
      "%s", text);
  g_print ("cyclic on a failing DAC: '%s'\n", text);
  g_free (text);
  gst_message_unref (msg);
  g_rand_free (rand);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* What the ADC makes in lossless mode: @scans scans of voltage0,voltage1
 * (sample k of channel c is k + c * 0x100), as S16LE bytes. */
static void
adc_counter_hash (Fnv * f, guint scans)
{
  guint8 scan[4];
  guint k;

  fnv_init (f);
  for (k = 0; k < scans; k++) {
    GST_WRITE_UINT16_LE (scan, k);
    GST_WRITE_UINT16_LE (scan + 2, k + 0x100);
    fnv_add (f, scan, sizeof scan);
  }
}

static GstPadProbeReturn
count_received (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  g_atomic_int_add ((gint *) user_data,
      gst_buffer_get_size (GST_PAD_PROBE_INFO_BUFFER (info)));
  return GST_PAD_PROBE_OK;
}

/* Runs @tx to EOS, then @rx until its element "sink" has received @bytes
 * (or 30 s went by: the test then fails on the bytes), then ends @rx: its
 * EOS would drop what is still in the socket, and an emulated receiver on a
 * busy host can be well behind the sender. */
static void
stream_over_udp (GstElement * tx, GstElement * rx, gint bytes)
{
  GstPad *pad = gst_element_get_static_pad (get_by_name (rx, "sink"), "sink");
  gint64 end = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  gint received = 0;
  GstMessage *msg;

  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, count_received,
      &received, NULL);
  gst_element_set_state (rx, GST_STATE_PLAYING);
  fail_unless (gst_element_get_state (rx, NULL, NULL, 10 * GST_SECOND) !=
      GST_STATE_CHANGE_FAILURE);
  msg = run (tx, 60 * GST_SECOND, NULL);
  fail_unless (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS, "%s",
      error_text (msg));
  gst_message_unref (msg);
  gst_element_set_state (tx, GST_STATE_NULL);
  while (g_atomic_int_get (&received) < bytes
      && g_get_monotonic_time () < end)
    g_usleep (10 * 1000);
  gst_element_send_event (rx, gst_event_new_eos ());
  msg = run (rx, 60 * GST_SECOND, NULL);
  fail_unless (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS, "%s",
      error_text (msg));
  gst_message_unref (msg);
  gst_element_set_state (rx, GST_STATE_NULL);
  gst_object_unref (pad);
}

/* ADC -> rtpL16pay -> udpsink on 127.0.0.1, and udpsrc -> rtpL16depay ->
 * iiodmabufsink: the DAC plays exactly what the ADC produced. The
 * receiver's socket holds the whole stream (udpsrc buffer-size; root may
 * exceed rmem_max): a busy host running the emulated receiver late must
 * not lose datagrams, since every byte is checked. */
/* Keeps every byte that reaches the sink, for a test that must say where
 * the data went wrong, not only that it did. */
static GstPadProbeReturn
record_buffer (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  GstMapInfo map;

  gst_buffer_map (GST_PAD_PROBE_INFO_BUFFER (info), &map, GST_MAP_READ);
  g_byte_array_append (user_data, map.data, map.size);
  gst_buffer_unmap (GST_PAD_PROBE_INFO_BUFFER (info), &map);
  return GST_PAD_PROBE_OK;
}

/* The first scan of @got (ADC counter scans, S16LE) that is not the ADC's
 * counter, or -1 */
static gint64
first_wrong_counter_scan (GByteArray * got)
{
  guint k;

  for (k = 0; k < got->len / 4; k++)
    if (GST_READ_UINT16_LE (got->data + 4 * k) != (guint16) k
        || GST_READ_UINT16_LE (got->data + 4 * k + 2) != (guint16) (k + 0x100))
      return k;
  return -1;
}

GST_START_TEST (test_rtp_over_udp)
{
  GstElement *rx = launch ("udpsrc port=5004 address=127.0.0.1 "
      "buffer-size=4194304 caps=\"application/x-rtp,media=audio,clock-rate=48000,encoding-name=L16,"
      "channels=2,payload=96\" ! rtpL16depay ! audioconvert ! "
      "audio/x-raw,format=S16LE,channels=2,rate=48000 ! iiodmabufsink "
      "name=sink device=" DAC);
  GstElement *tx = launch ("iiodmabufsrc device=iio-sim-adc "
      "channels=voltage0,voltage1 samples-per-block=480 "
      "sampling-frequency=48000 num-buffers=100 ! audioconvert ! "
      "audio/x-raw,format=S16BE ! rtpL16pay ! udpsink host=127.0.0.1 "
      "port=5004");
  Fnv want;
  GByteArray *got = g_byte_array_new ();
  GstPad *pad = gst_element_get_static_pad (get_by_name (rx, "sink"), "sink");
  gint64 wrong;

  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, record_buffer, got, NULL);
  gst_object_unref (pad);
  adc_counter_hash (&want, 100 * 480);
  stream_over_udp (tx, rx, (gint) want.bytes);

  /* where it went wrong, if it did: on the way to the sink, or after */
  wrong = first_wrong_counter_scan (got);
  fail_unless (wrong < 0, "the sink received %u bytes, scan %" G_GINT64_FORMAT
      " is %04x %04x, not the ADC's counter", got->len, wrong,
      GST_READ_UINT16_LE (got->data + 4 * wrong),
      GST_READ_UINT16_LE (got->data + 4 * wrong + 2));
  fail_unless_equals_int (got->len, want.bytes);
  g_byte_array_unref (got);
  assert_dac_played (&want);
  g_print ("RTP L16 over UDP: the DAC played the ADC's %" G_GUINT64_FORMAT
      " bytes, checksum 0x%016" G_GINT64_MODIFIER "x\n", want.bytes, want.hash);
  gst_object_unref (tx);
  gst_object_unref (rx);
}

GST_END_TEST;

/* What iio-sim-adc12 makes in lossless mode: @scans scans of voltage0..2,
 * each (k + c * 0x100) mod 2^12, stored << 4, as le:s12/16>>4 bytes. */
static void
adc12_counter_hash (Fnv * f, guint scans)
{
  guint8 scan[6];
  guint k, c;

  fnv_init (f);
  for (k = 0; k < scans; k++) {
    for (c = 0; c < 3; c++)
      GST_WRITE_UINT16_LE (scan + 2 * c, ((k + c * 0x100) & 0xfff) << 4);
    fnv_add (f, scan, sizeof scan);
  }
}

/* application/x-iio (the packed 12-bit ADC) keeps its caps across the
 * network with rtpgstpay/rtpgstdepay, and in a file with gdppay (muxers
 * such as matroskamux take only the media types they know): every byte
 * arrives, and the caps too. */
GST_START_TEST (test_x_iio_over_rtp_and_file)
{
  GstElement *rx = launch ("udpsrc port=5006 address=127.0.0.1 "
      "buffer-size=4194304 "
      "caps=\"application/x-rtp,media=application,clock-rate=90000,"
      "encoding-name=X-GST,payload=96\" ! rtpgstdepay ! "
      "application/x-iio,channels=3 ! fakesink name=sink sync=false");
  GstElement *tx = launch ("iiodmabufsrc device=iio-sim-adc12 "
      "samples-per-block=512 num-buffers=20 ! tee name=t "
      "t. ! queue ! rtpgstpay config-interval=1 ! udpsink host=127.0.0.1 "
      "port=5006 t. ! queue ! gdppay ! filesink location=/run/x-iio.gdp");
  GstElement *file = launch ("filesrc location=/run/x-iio.gdp ! gdpdepay "
      "! application/x-iio,channels=3 ! fakesink name=sink sync=false");
  GstMessage *msg;
  Fnv want, net, disk;

  adc12_counter_hash (&want, 20 * 512);
  tap_sink (rx, &net);
  tap_sink (file, &disk);
  stream_over_udp (tx, rx, (gint) want.bytes);
  msg = run (file, 60 * GST_SECOND, NULL);
  fail_unless (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS, "%s",
      error_text (msg));
  gst_message_unref (msg);
  gst_element_set_state (file, GST_STATE_NULL);

  fail_unless_equals_uint64 (net.bytes, want.bytes);
  fail_unless (net.hash == want.hash, "over RTP the samples differ");
  fail_unless_equals_uint64 (disk.bytes, want.bytes);
  fail_unless (disk.hash == want.hash, "from the file the samples differ");
  g_print ("application/x-iio: %" G_GUINT64_FORMAT " bytes exact over "
      "rtpgstpay and through a gdppay file, caps kept\n", want.bytes);
  gst_object_unref (tx);
  gst_object_unref (rx);
  gst_object_unref (file);
}

GST_END_TEST;

/* The DMA transfers queued on the DAC's channel now (its queue_state). */
static guint
dac_queued (void)
{
  gchar *state = sysfs_read (DAC "/queue_state");
  guint n;

  fail_unless (sscanf (state, "queued %u", &n) == 1, "%s", state);
  g_free (state);
  return n;
}

/* A player sending plain memory (a decoder's) starts the DAC with its queue
 * full, so it does not run dry at once: the sink holds num-blocks blocks,
 * enables the DAC, and only then queues them, all at once (a block queued
 * before an enable that fails would never be let go by the kernel: see
 * test_failed_enable_releases_blocks). A stalled DAC keeps what it was
 * given at the start, to be counted. */
GST_START_TEST (test_prefilled_start)
{
  GstElement *pipeline = appsrc_pipeline ("num-blocks=4 "
      "timeout=60000000000");
  GRand *rand = g_rand_new_with_seed (29);
  guint64 enables = sysfs_read_u64 (DAC, "enable_count"), at_enable;
  GstMessage *msg;
  guint queued, tries = 0;
  gchar *text = NULL;
  Fnv sent;
  guint i;

  tap_sink (pipeline, &sent);
  sysfs_write (DAC "/fault_stall", "1");
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  for (i = 0; i < 12; i++)
    push (pipeline, pattern_buffer (rand, 480 * DAC_SCAN, 1));
  gst_app_src_end_of_stream (GST_APP_SRC (get_by_name (pipeline, "in")));
  /* the stalled DAC completes nothing: the sink queues 4 and waits */
  while ((queued = dac_queued ()) < 4 && ++tries < 3000)
    g_usleep (10 * 1000);
  at_enable = sysfs_read_u64 (DAC, "queued_at_enable");
  fail_unless_equals_uint64 (sysfs_read_u64 (DAC, "enable_count"), enables + 1);
  sysfs_write (DAC "/fault_stall", "0");
  msg = run (pipeline, 120 * GST_SECOND, NULL);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    text = error_text (msg);
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);

  fail_unless (text == NULL, "error: %s", text);
  fail_unless_equals_int (queued, 4);
  fail_unless (at_enable == 0, "%" G_GUINT64_FORMAT " blocks were queued "
      "to the DAC before it was enabled", at_enable);
  assert_dac_played (&sent);
  g_print ("prefilled: 4 blocks queued as the DAC started (none before "
      "its enable), %" G_GUINT64_FORMAT " bytes exact\n", sent.bytes);
  g_rand_free (rand);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* Whether no fence is pending on a DMABUF: POLLOUT waits for every
 * fence, a DAC's read fence too (bounded: a second). */
static gboolean
dmabuf_idle (gint fd)
{
  struct pollfd pfd = {.fd = fd,.events = POLLOUT };

  return poll (&pfd, 1, 1000) == 1 && (pfd.revents & POLLOUT);
}

/* The kernel's record of a DMABUF (debugfs dma_buf/bufinfo, found by its
 * inode): the devices that have it attached and its fences still
 * pending. FALSE where debugfs is not mounted. */
static gboolean
dmabuf_in_kernel (gint fd, guint * attached, guint * pending)
{
  gchar *text = NULL, **lines;
  gboolean found = FALSE;
  struct stat st;
  guint i;

  if (!g_file_get_contents ("/sys/kernel/debug/dma_buf/bufinfo", &text,
          NULL, NULL))
    return FALSE;
  fail_unless (fstat (fd, &st) == 0);
  lines = g_strsplit (text, "\n", -1);
  /* size flags mode count exp_name ino name, then its fences, its
   * attached devices and "Total N devices attached" */
  for (i = 0; lines[i] && !found; i++) {
    gchar **f = g_strsplit (lines[i], "\t", -1);

    found = g_strv_length (f) >= 7 && g_ascii_strtoull (f[5], NULL, 10)
        == (guint64) st.st_ino;
    g_strfreev (f);
  }
  fail_unless (found, "DMABUF inode %lu not in bufinfo", (gulong) st.st_ino);
  *pending = 0;
  for (; lines[i] && !g_str_has_prefix (lines[i], "Total "); i++)
    if (strstr (lines[i], "unsignalled"))
      (*pending)++;
  fail_unless (lines[i] != NULL, "no attachment count in bufinfo");
  *attached = g_ascii_strtoull (lines[i] + strlen ("Total "), NULL, 10);
  g_strfreev (lines);
  g_free (text);
  return TRUE;
}

/* A buffer on @fd (left open), filled from @rand. */
static GstBuffer *
kept_dmabuf_buffer (GstAllocator * allocator, gint fd, GRand * rand, gsize size)
{
  GstBuffer *buf = gst_buffer_new ();
  GstMapInfo map;
  gsize i;

  gst_buffer_append_memory (buf, gst_dmabuf_allocator_alloc_with_flags
      (allocator, fd, size, GST_FD_MEMORY_FLAG_DONT_CLOSE));
  fail_unless (gst_buffer_map (buf, &map, GST_MAP_WRITE));
  for (i = 0; i < size; i++)
    map.data[i] = g_rand_int (rand);
  gst_buffer_unmap (buf, &map);
  return buf;
}

#define N_KEPT 4

/* After the sink stopped, no device holds @fds and no fence is pending on
 * them: the kernel let go of every block. */
static void
assert_dmabufs_released (const gint * fds, const gchar * when)
{
  guint attached, pending, i;

  for (i = 0; i < N_KEPT; i++) {
    fail_unless (dmabuf_idle (fds[i]), "%s: DMABUF %u still has a fence "
        "pending: its block was queued to a DAC that never started", when, i);
    if (!dmabuf_in_kernel (fds[i], &attached, &pending))
      continue;
    fail_unless (attached == 0 && pending == 0, "%s: DMABUF %u still "
        "attached to %u device(s), %u fence(s) pending", when, i, attached,
        pending);
  }
}

/* The DAC's driver fails to enable it once the sink holds its first
 * blocks (fault_enable: its preenable fails, so mainline's DMA buffer
 * submits nothing). An error; and the kernel keeps none of those blocks:
 * none was queued before the enable, so no fence is left pending that
 * nothing would ever signal, no attachment, DMABUF or page held for good.
 * The same DMABUFs then play exactly. */
GST_START_TEST (test_failed_enable_releases_blocks)
{
  const gsize size = 480 * DAC_SCAN;
  GstAllocator *allocator = gst_dmabuf_allocator_new ();
  GRand *rand = g_rand_new_with_seed (41);
  guint64 enables = sysfs_read_u64 (DAC, "enable_count");
  GstElement *pipeline;
  GstStructure *stats;
  gint fds[N_KEPT];
  gchar *text;
  Fnv sent;
  guint i;

  for (i = 0; i < N_KEPT; i++)
    fds[i] = foreign_dmabuf_new (size);
  sysfs_write (DAC "/fault_enable", "1");
  pipeline = appsrc_pipeline ("num-blocks=" G_STRINGIFY (N_KEPT));
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  for (i = 0; i < N_KEPT; i++)  /* the last one starts the DAC */
    push (pipeline, kept_dmabuf_buffer (allocator, fds[i], rand, size));
  text = first_error (pipeline, NULL);
  gst_object_unref (pipeline);
  fail_unless_equals_uint64 (sysfs_read_u64 (DAC, "fault_enable"), 0);
  fail_unless_equals_uint64 (sysfs_read_u64 (DAC, "enable_count"), enables);
  fail_unless (strstr (text, DAC) && strstr (text, "enable"), "%s", text);
  assert_dmabufs_released (fds, "after the failed enable");

  pipeline = appsrc_pipeline ("num-blocks=" G_STRINGIFY (N_KEPT));
  tap_sink (pipeline, &sent);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  for (i = 0; i < N_KEPT; i++)
    push (pipeline, kept_dmabuf_buffer (allocator, fds[i], rand, size));
  gst_app_src_end_of_stream (GST_APP_SRC (get_by_name (pipeline, "in")));
  stats = run_to_eos (pipeline, 120 * GST_SECOND);
  assert_dac_played (&sent);
  fail_unless_equals_uint64 (stat_u64 (stats, "imports"), N_KEPT);
  assert_dmabufs_released (fds, "after the next run");

  g_print ("failed enable: '%s'; no block of it left in the kernel, then "
      "the same DMABUFs played %" G_GUINT64_FORMAT " bytes exact\n", text,
      sent.bytes);
  for (i = 0; i < N_KEPT; i++)
    close (fds[i]);
  g_free (text);
  gst_structure_free (stats);
  g_rand_free (rand);
  gst_object_unref (allocator);
  gst_object_unref (pipeline);
}

GST_END_TEST;

static void
wait_consumed (guint64 bytes)
{
  gint tries = 0;

  while (sysfs_read_u64 (DAC, "consumed_bytes") < bytes) {
    fail_unless (++tries < 3000, "the DAC did not play %" G_GUINT64_FORMAT
        " bytes", bytes);
    g_usleep (10 * 1000);
  }
}

/* A producer that hands out the same DMABUF under two memories, the
 * first kept alive: the sink knows it by the DMABUF, not the memory, so
 * the second plays from the same attachment (a second attach of one
 * DMABUF to one buffer is refused with EBUSY: it would be copied). */
GST_START_TEST (test_one_dmabuf_two_memories_imported)
{
  const gsize size = 1024 * DAC_SCAN;
  GstElement *pipeline = appsrc_pipeline ("num-blocks=1");
  GstAllocator *allocator = gst_dmabuf_allocator_new ();
  GRand *rand = g_rand_new_with_seed (31);
  gint fd = foreign_dmabuf_new (size);
  GstBuffer *held = gst_buffer_new (), *again = gst_buffer_new ();
  GstStructure *stats;
  GstMapInfo map;
  Fnv sent;
  gsize i;

  gst_buffer_append_memory (held, gst_dmabuf_allocator_alloc (allocator,
          dup (fd), size));
  gst_buffer_append_memory (again, gst_dmabuf_allocator_alloc (allocator,
          fd, size));
  fail_unless (gst_buffer_map (held, &map, GST_MAP_WRITE));
  for (i = 0; i < size; i++)
    map.data[i] = g_rand_int (rand);
  gst_buffer_unmap (held, &map);

  tap_sink (pipeline, &sent);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  push (pipeline, gst_buffer_ref (held));       /* kept: its memory lives */
  wait_consumed (size);
  push (pipeline, again);
  gst_app_src_end_of_stream (GST_APP_SRC (get_by_name (pipeline, "in")));
  stats = run_to_eos (pipeline, 120 * GST_SECOND);

  fail_unless_equals_uint64 (sent.bytes, 2 * size);
  assert_dac_played (&sent);
  fail_unless_equals_uint64 (stat_u64 (stats, "imports"), 2);
  fail_unless_equals_uint64 (stat_u64 (stats, "copies"), 0);
  fail_unless_equals_uint64 (stat_u64 (stats, "attaches"), 1);
  g_print ("one DMABUF under two memories: both imported, 1 attach, %"
      G_GUINT64_FORMAT " bytes exact\n", sent.bytes);
  gst_structure_free (stats);
  gst_buffer_unref (held);
  g_rand_free (rand);
  gst_object_unref (allocator);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* A new memory on a dup of @fd. */
static GstBuffer *
dup_dmabuf_buffer (GstAllocator * allocator, gint fd, gsize size)
{
  GstBuffer *buf = gst_buffer_new ();

  gst_buffer_append_memory (buf, gst_dmabuf_allocator_alloc (allocator,
          dup (fd), size));
  return buf;
}

/* Two DMABUFs written once and sent again and again, alternately, each
 * time in a new memory (a producer repeating a waveform): each is pushed
 * again while its last block may still be in flight, and waits for it.
 * A flush lets go of both (what follows may be other DMABUFs); after it
 * they are attached again, and every byte plays exact. */
GST_START_TEST (test_dmabufs_sent_again_while_playing)
{
  const gsize size = 480 * DAC_SCAN;
  GstElement *pipeline = appsrc_pipeline ("num-blocks=3");
  GstAllocator *allocator = gst_dmabuf_allocator_new ();
  GRand *rand = g_rand_new_with_seed (47);
  GstElement *in = get_by_name (pipeline, "in");
  GstStructure *stats;
  gint fds[2];
  Fnv sent;
  guint i;

  for (i = 0; i < 2; i++) {
    fds[i] = foreign_dmabuf_new (size);
    gst_buffer_unref (kept_dmabuf_buffer (allocator, fds[i], rand, size));
  }
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  for (i = 0; i < 10; i++)
    push (pipeline, dup_dmabuf_buffer (allocator, fds[i % 2], size));
  g_usleep (200 * 1000);
  flush (in);
  tap_sink (pipeline, &sent);
  for (i = 0; i < 20; i++)
    push (pipeline, dup_dmabuf_buffer (allocator, fds[i % 2], size));
  gst_app_src_end_of_stream (GST_APP_SRC (in));
  stats = run_to_eos (pipeline, 120 * GST_SECOND);

  assert_dac_played (&sent);
  fail_unless_equals_uint64 (sent.bytes, 20 * size);
  fail_unless_equals_uint64 (stat_u64 (stats, "copies"), 0);
  fail_unless_equals_uint64 (stat_u64 (stats, "attaches"), 4);
  fail_unless_equals_uint64 (stat_u64 (stats, "detaches"), 2);
  g_print ("two DMABUFs sent again while playing: 2 attaches, 2 detached at "
      "the flush, 2 attaches after, %" G_GUINT64_FORMAT " bytes exact, 0 "
      "copies\n", sent.bytes);
  for (i = 0; i < 2; i++)
    close (fds[i]);
  gst_structure_free (stats);
  g_rand_free (rand);
  gst_object_unref (allocator);
  gst_object_unref (pipeline);
}

GST_END_TEST;

static void
ring_slot_freed (gpointer data, GstMiniObject * buffer)
{
  g_atomic_int_set ((gint *) data, TRUE);
}

/* Waits until the sink let go of the last buffer on a ring's slot. */
static void
wait_slot_free (gint * slot_free)
{
  gint tries = 0;

  while (!g_atomic_int_get (slot_free)) {
    fail_unless (++tries < 3000, "the sink kept a buffer for 30 s");
    g_usleep (10 * 1000);
  }
  g_atomic_int_set (slot_free, FALSE);
}

/* A producer with a ring of N_KEPT DMABUFs that wraps each in a new
 * memory for every buffer (appsrc rings, decoders and v4l2 elements do),
 * every third one on a dup of its fd: each DMABUF is attached once for
 * all 60 buffers, stays attached while the sink plays, and is detached
 * at the stop. */
GST_START_TEST (test_recycled_dmabufs_attached_once)
{
  const gsize size = 480 * DAC_SCAN;
  GstElement *pipeline = appsrc_pipeline ("num-blocks=3");
  GstAllocator *allocator = gst_dmabuf_allocator_new ();
  GRand *rand = g_rand_new_with_seed (43);
  gint slot_free[N_KEPT] = { TRUE, TRUE, TRUE, TRUE };
  guint attached, pending, i;
  GstStructure *stats;
  gint fds[N_KEPT];
  GstMessage *msg;
  Fnv sent;

  for (i = 0; i < N_KEPT; i++)
    fds[i] = foreign_dmabuf_new (size);
  tap_sink (pipeline, &sent);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  for (i = 0; i < 60; i++) {
    GstBuffer *buf;

    /* as a ring does: written again once the sink has played it */
    wait_slot_free (&slot_free[i % N_KEPT]);
    buf = kept_dmabuf_buffer (allocator, fds[i % N_KEPT], rand, size);
    if (i % 3 == 2) {           /* the same DMABUF through another fd */
      GstBuffer *dupped = gst_buffer_new ();

      gst_buffer_append_memory (dupped, gst_dmabuf_allocator_alloc
          (allocator, dup (fds[i % N_KEPT]), size));
      gst_buffer_unref (buf);
      buf = dupped;
    }
    gst_mini_object_weak_ref (GST_MINI_OBJECT_CAST (buf), ring_slot_freed,
        &slot_free[i % N_KEPT]);
    push (pipeline, buf);
  }
  gst_app_src_end_of_stream (GST_APP_SRC (get_by_name (pipeline, "in")));
  msg = run (pipeline, 120 * GST_SECOND, NULL);
  fail_unless (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS, "%s",
      error_text (msg));
  gst_message_unref (msg);
  stats = sink_stats (pipeline);
  for (i = 0; i < N_KEPT; i++)
    if (dmabuf_in_kernel (fds[i], &attached, &pending))
      fail_unless (attached == 1, "DMABUF %u attached to %u devices while "
          "the sink plays", i, attached);
  gst_element_set_state (pipeline, GST_STATE_NULL);

  assert_dac_played (&sent);
  fail_unless_equals_uint64 (sent.bytes, 60 * size);
  fail_unless_equals_uint64 (stat_u64 (stats, "imports"), 60);
  fail_unless_equals_uint64 (stat_u64 (stats, "copies"), 0);
  fail_unless_equals_uint64 (stat_u64 (stats, "attaches"), N_KEPT);
  fail_unless_equals_uint64 (stat_u64 (stats, "detaches"), 0);
  assert_dmabufs_released (fds, "after the stop");
  g_print ("a ring of %u DMABUFs in 60 new memories: %" G_GUINT64_FORMAT
      " attaches, 60 imports, 0 copies, %" G_GUINT64_FORMAT " bytes exact\n",
      N_KEPT, stat_u64 (stats, "attaches"), sent.bytes);
  for (i = 0; i < N_KEPT; i++)
    close (fds[i]);
  gst_structure_free (stats);
  g_rand_free (rand);
  gst_object_unref (allocator);
  gst_object_unref (pipeline);
}

GST_END_TEST;


#define LIVE_TONE "audiotestsrc is-live=true samplesperbuffer=480 wave=saw ! " \
    "audio/x-raw,format=S16LE,channels=2,rate=48000 ! iiodmabufsink " \
    "name=sink device=" DAC

/* Sets @to and waits for it (bounded); a live pipeline does not preroll. */
static void
change_state (GstElement * pipeline, GstState to, guint step)
{
  GstStateChangeReturn ret;
  GstState state = GST_STATE_VOID_PENDING;

  gst_element_set_state (pipeline, to);
  ret = gst_element_get_state (pipeline, &state, NULL, 10 * GST_SECOND);
  fail_unless ((ret == GST_STATE_CHANGE_SUCCESS
          || ret == GST_STATE_CHANGE_NO_PREROLL) && state == to,
      "step %u, to %s: %s, in %s", step, gst_element_state_get_name (to),
      gst_element_state_change_return_get_name (ret),
      gst_element_state_get_name (state));
}

/* Empties the bus (so that messages do not pile up), failing on an error. */
static void
fail_on_bus_error (GstElement * pipeline, guint step)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg;
  gchar *text = NULL;

  while (!text && (msg = gst_bus_pop (bus))) {
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
      text = error_text (msg);
    gst_message_unref (msg);
  }
  gst_object_unref (bus);
  fail_unless (text == NULL, "step %u: error: %s", step, text);
}

/* A live pipeline (its sink tapped into @sent) in NULL plays for 0.3 s and
 * ends with EOS: the DAC played what reached the sink. */
static void
play_live_to_eos (GstElement * pipeline, Fnv * sent)
{
  GstMessage *msg;
  gchar *text = NULL;

  fnv_init (sent);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  g_usleep (300 * 1000);
  fail_unless (gst_element_send_event (pipeline, gst_event_new_eos ()));
  msg = run (pipeline, 60 * GST_SECOND, NULL);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    text = error_text (msg);
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  fail_unless (text == NULL, "error: %s", text);
  fail_unless (sent->bytes > 0, "nothing reached the sink");
  assert_dac_played (sent);
}


/* An application that drives the pipeline through any order of states
 * (a media player's UI, a control script): no leak, no hang. */
GST_START_TEST (test_every_state_order)
{
  GstElement *pipeline = launch (LIVE_TONE);
  GRand *rand = g_rand_new_with_seed (37);
  GstState at = GST_STATE_NULL, to;
  guint64 rss_before, rss_after, enables;
  guint fds_before, step;
  Watchdog watchdog;
  Fnv sent;

  tap_sink (pipeline, &sent);
  watchdog_start (&watchdog, "state walk");
  /* one cycle first: GStreamer's own lazily opened fds are not ours */
  change_state (pipeline, GST_STATE_PLAYING, 0);
  change_state (pipeline, GST_STATE_NULL, 0);
  fds_before = count_fds ();
  rss_before = proc_kib ("/proc/self/status", "VmRSS:");
  enables = sysfs_read_u64 (DAC, "enable_count");

  for (step = 1; step <= 1000; step++) {
    do
      to = g_rand_int_range (rand, GST_STATE_NULL, GST_STATE_PLAYING + 1);
    while (to == at);
    watchdog_tick (&watchdog, step);
    change_state (pipeline, to, step);
    if (to == GST_STATE_PLAYING)        /* 4 blocks take 40 ms to come */
      g_usleep (g_rand_int_range (rand, 0, 60 * 1000));
    fail_on_bus_error (pipeline, step);
    at = to;
  }
  watchdog_tick (&watchdog, step);
  change_state (pipeline, GST_STATE_NULL, step);
  enables = sysfs_read_u64 (DAC, "enable_count") - enables;
  fail_unless_equals_int (count_fds (), fds_before);
  rss_after = proc_kib ("/proc/self/status", "VmRSS:");
  fail_unless (rss_after - MIN (rss_after, rss_before) < RSS_BOUND_KIB,
      "VmRSS grew from %"
      G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT " KiB", rss_before, rss_after);
  fail_unless_equals_string (sysfs_read (DAC "/buffer0/enable"), "0");

  /* and it still plays exactly */
  watchdog_tick (&watchdog, step + 1);
  play_live_to_eos (pipeline, &sent);
  watchdog_stop (&watchdog);
  g_print ("1000 state changes in every order (the DAC enabled %"
      G_GUINT64_FORMAT " times): %u fds before and after, VmRSS %"
      G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT " KiB; then %"
      G_GUINT64_FORMAT " bytes exact\n", enables, fds_before, rss_before,
      rss_after, sent.bytes);
  g_rand_free (rand);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* A monitoring UI polls the stats while the application starts and stops
 * the pipeline. */
GST_START_TEST (test_stats_from_another_thread)
{
  GstElement *pipeline = launch (LIVE_TONE);
  StatsReader reader = { get_by_name (pipeline, "sink"),
    {"blocks", "bytes", "underflows", NULL}
  };
  GThread *thread;
  Watchdog watchdog;
  guint cycle;
  Fnv sent;

  tap_sink (pipeline, &sent);
  watchdog_start (&watchdog, "PLAYING <-> NULL with a stats reader");
  thread = g_thread_new ("stats", read_stats_loop, &reader);
  for (cycle = 1; cycle <= 200; cycle++) {
    watchdog_tick (&watchdog, cycle);
    change_state (pipeline, GST_STATE_PLAYING, cycle);
    g_usleep (10 * 1000);
    change_state (pipeline, GST_STATE_NULL, cycle);
    fail_on_bus_error (pipeline, cycle);
  }
  watchdog_tick (&watchdog, cycle);
  play_live_to_eos (pipeline, &sent);
  g_atomic_int_set (&reader.stop, 1);
  g_thread_join (thread);
  watchdog_stop (&watchdog);

  fail_unless (reader.reads > 0);
  g_print ("stats read %u times while PLAYING <-> NULL 200 times; then %"
      G_GUINT64_FORMAT " bytes exact\n", reader.reads, sent.bytes);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* An application thread (or another pipeline's streaming thread) asking a
 * pad for its caps, and whether it takes @probe, until told to stop. */
typedef struct
{
  GstPad *pad;
  GstCaps *probe;
  gint stop;
  guint queries, accepted;
} CapsAsker;

static gpointer
ask_caps_loop (gpointer data)
{
  CapsAsker *a = data;

  while (!g_atomic_int_get (&a->stop)) {
    GstCaps *caps = gst_pad_query_caps (a->pad, NULL);

    fail_if (gst_caps_is_empty (caps), "no caps offered");
    gst_caps_unref (caps);
    a->accepted += gst_pad_query_accept_caps (a->pad, a->probe);
    a->queries++;
  }
  return NULL;
}

/* One cycle NULL -> READY -> PLAYING -> NULL, the DAC and channels
 * changed in NULL and the channels again in READY (the device opens anew
 * at start), playing a moment. */
static void
cycle_with_other_settings (GstElement * pipeline, GRand * rand, guint i)
{
  static const gchar *dacs[] = { DAC, DAC2 };
  static const gchar *channels[] = { NULL, "voltage1", "voltage0,voltage1" };
  GstElement *sink = get_by_name (pipeline, "sink");

  g_object_set (sink, "device", dacs[i % 2], "channels", channels[i % 3],
      NULL);
  change_state (pipeline, GST_STATE_READY, i);
  g_object_set (sink, "channels", channels[(i + 1) % 3], NULL);
  change_state (pipeline, GST_STATE_PLAYING, i);
  g_usleep (g_rand_int_range (rand, 0, 40 * 1000));
  if (i % 2)
    change_state (pipeline, GST_STATE_READY, i);
  change_state (pipeline, GST_STATE_NULL, i);
  fail_on_bus_error (pipeline, i);
}

/* Caps queries from another thread while the sink opens, opens anew with
 * another DAC and other channels and closes, again and again: they never
 * read a device being closed or replaced, nor channels being selected
 * (under AddressSanitizer too); what plays after is exact. */
GST_START_TEST (test_caps_queries_during_state_changes)
{
  GstElement *pipeline = launch ("audiotestsrc is-live=true "
      "samplesperbuffer=480 wave=saw ! audioconvert ! "
      "audio/x-raw,format=S16LE,rate=48000 ! iiodmabufsink name=sink "
      "samples-per-block=480 device=" DAC);
  GRand *rand = g_rand_new_with_seed (22);
  CapsAsker a = { NULL, };
  GThread *thread;
  Watchdog w;
  Fnv sent;
  guint i;

  second_dac (TRUE);
  sysfs_write (DAC2 "/buffer0/enable", "0");
  tap_sink (pipeline, &sent);
  a.pad = gst_element_get_static_pad (get_by_name (pipeline, "sink"), "sink");
  a.probe = gst_caps_from_string ("audio/x-raw,format=S16LE,"
      "layout=interleaved,channels=2,rate=48000,channel-mask=(bitmask)0");
  thread = g_thread_new ("caps", ask_caps_loop, &a);
  watchdog_start (&w, "state changes while caps are asked for");
  for (i = 0; i < 150; i++) {
    watchdog_tick (&w, i);
    cycle_with_other_settings (pipeline, rand, i);
  }

  /* then, still asked, a stream whose every byte is checked */
  watchdog_tick (&w, i);
  g_object_set (get_by_name (pipeline, "sink"), "device", DAC, "channels",
      "voltage0,voltage1", NULL);
  play_live_to_eos (pipeline, &sent);
  watchdog_stop (&w);
  g_atomic_int_set (&a.stop, 1);
  g_thread_join (thread);
  second_dac (FALSE);

  fail_unless (a.queries > 0 && a.accepted > 0);
  g_print ("150 cycles of other DACs and channels with %u caps queries "
      "(%u accepted) meanwhile; then %" G_GUINT64_FORMAT " bytes exact\n",
      a.queries, a.accepted, sent.bytes);
  gst_caps_unref (a.probe);
  gst_object_unref (a.pad);
  g_rand_free (rand);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* An application checking formats before linking (as decodebin and
 * playbin do): accept-caps says what set_caps will do, and a caps query
 * posts nothing. */
GST_START_TEST (test_accept_caps_agrees)
{
  GstElement *pipeline = appsrc_pipeline ("");
  GstPad *pad = gst_element_get_static_pad (get_by_name (pipeline, "sink"),
      "sink");
  GstCaps *three = gst_caps_from_string ("audio/x-raw,format=S16LE,"
      "layout=interleaved,channels=3,rate=48000");
  GstCaps *two = gst_caps_from_string ("audio/x-raw,format=S16LE,"
      "layout=interleaved,channels=2,rate=48000");
  GstBus *bus = gst_element_get_bus (pipeline);
  GRand *rand = g_rand_new_with_seed (41);
  GstStructure *stats;
  GstMessage *msg;
  GstCaps *caps;
  gchar *text = NULL;
  Fnv sent;
  guint i;

  change_state (pipeline, GST_STATE_READY, 0);
  fail_if (gst_pad_query_accept_caps (pad, three), "3 channels accepted");
  fail_unless (gst_pad_query_accept_caps (pad, two), "2 channels refused");
  while ((msg = gst_bus_pop (bus)))
    gst_message_unref (msg);
  caps = gst_pad_query_caps (pad, three);
  fail_unless (gst_caps_is_empty (caps));
  gst_caps_unref (caps);
  msg = gst_bus_timed_pop (bus, 0);
  if (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING)
    text = error_text (msg);
  fail_unless (msg == NULL, "a caps query posted a %s message: %s",
      msg ? GST_MESSAGE_TYPE_NAME (msg) : "", text ? text : "");

  tap_sink (pipeline, &sent);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  for (i = 0; i < 10; i++)
    push (pipeline, pattern_buffer (rand, 480 * DAC_SCAN, 1));
  gst_app_src_end_of_stream (GST_APP_SRC (get_by_name (pipeline, "in")));
  stats = run_to_eos (pipeline, 120 * GST_SECOND);
  assert_dac_played (&sent);
  g_print ("accept-caps: 3 channels refused, 2 accepted; a caps query "
      "posted nothing; %" G_GUINT64_FORMAT " bytes exact\n", sent.bytes);
  gst_structure_free (stats);
  gst_caps_unref (three);
  gst_caps_unref (two);
  g_rand_free (rand);
  gst_object_unref (bus);
  gst_object_unref (pad);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* The DMABUFs this process has open: each once, however many fds it has
 * of it (the sink keeps an fd of its own of each DMABUF it attached). */
static guint
count_dmabufs (void)
{
  GHashTable *seen = g_hash_table_new_full (g_int64_hash, g_int64_equal,
      g_free, NULL);
  GDir *d = g_dir_open ("/proc/self/fd", 0, NULL);
  const gchar *name;
  struct stat st;
  guint n;

  while ((name = g_dir_read_name (d))) {
    gchar *path = g_build_filename ("/proc/self/fd", name, NULL);
    gchar *target = g_file_read_link (path, NULL);

    if (target && strstr (target, "dmabuf") && stat (path, &st) == 0)
      g_hash_table_add (seen, g_memdup2 (&(gint64) { st.st_ino },
              sizeof (gint64)));
    g_free (target);
    g_free (path);
  }
  g_dir_close (d);
  n = g_hash_table_size (seen);
  g_hash_table_destroy (seen);
  return n;
}

/* A capture-to-playback loop (an SDR repeater): the source's blocks go to
 * the DAC, and no DMABUF is allocated that nothing uses. */
GST_START_TEST (test_loopback_allocates_no_unused_pool)
{
  GstElement *pipeline = launch ("iiodmabufsrc name=src device=iio-sim-adc "
      "channels=voltage0,voltage1 num-blocks=8 samples-per-block=480 "
      "num-buffers=200 ! iiodmabufsink name=sink num-blocks=4 device=" DAC);
  GstBus *bus = gst_element_get_bus (pipeline);
  GstStructure *stats, *src_stats;
  GstMessage *msg = NULL;
  guint most = 0, polls;
  gchar *text = NULL;
  Fnv want;

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  for (polls = 0; !msg && polls < 2400; polls++) {      /* 120 s */
    most = MAX (most, count_dmabufs ());
    msg = gst_bus_timed_pop_filtered (bus, 50 * GST_MSECOND,
        GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  }
  stats = sink_stats (pipeline);
  g_object_get (get_by_name (pipeline, "src"), "stats", &src_stats, NULL);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  fail_unless (msg != NULL, "no EOS within 120 s");
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    text = error_text (msg);
  fail_unless (text == NULL, "error: %s", text);

  adc_formula (&want, 200 * 480);
  assert_dac_played (&want);
  /* the sink holds its 4 before the DAC starts: the source needs more */
  fail_unless (most <= 8, "%u DMABUFs open while playing, the source has 8 "
      "blocks (source copies %" G_GUINT64_FORMAT ", sink copies %"
      G_GUINT64_FORMAT ")", most, stat_u64 (src_stats, "copies"),
      stat_u64 (stats, "copies"));
  fail_unless_equals_uint64 (stat_u64 (src_stats, "copies"), 0);
  fail_unless_equals_uint64 (stat_u64 (stats, "imports"), 200);
  g_print ("loopback: at most %u DMABUFs open, %" G_GUINT64_FORMAT " bytes "
      "at the DAC match the formula\n", most, want.bytes);
  gst_message_unref (msg);
  gst_structure_free (src_stats);
  gst_structure_free (stats);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* A producer that takes the offered pool but caps it at 3 buffers, with
 * num-blocks=8: the sink must neither wait for 8 before starting the DAC
 * nor hold all 3, or the producer waits forever for a buffer back. */
GST_START_TEST (test_bounded_producer_pool)
{
  GstElement *pipeline = appsrc_pipeline ("num-blocks=8");
  GstPad *pad = gst_element_get_static_pad (get_by_name (pipeline, "in"),
      "src");
  GstCaps *caps = gst_caps_from_string ("audio/x-raw,format=S16LE,"
      "layout=interleaved,channels=2,rate=48000,channel-mask=(bitmask)0");
  GstQuery *query = gst_query_new_allocation (caps, TRUE);
  GRand *rand = g_rand_new_with_seed (21);
  GstBufferPool *pool = NULL;
  GstBufferPoolAcquireParams params = {.flags =
        GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT
  };
  GstStructure *config, *stats;
  GstBuffer *buf;
  GstMapInfo map;
  Fnv sent;
  guint i, j, tries;

  tap_sink (pipeline, &sent);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  fail_unless (gst_pad_peer_query (pad, query));
  fail_unless (gst_query_get_n_allocation_pools (query) > 0);
  gst_query_parse_nth_allocation_pool (query, 0, &pool, NULL, NULL, NULL);
  fail_unless (pool != NULL, "the sink offered no pool");
  config = gst_buffer_pool_get_config (pool);
  gst_buffer_pool_config_set_params (config, caps, 480 * DAC_SCAN, 0, 3);
  fail_unless (gst_buffer_pool_set_config (pool, config));
  fail_unless (gst_buffer_pool_set_active (pool, TRUE));
  for (i = 0; i < 40; i++) {
    for (tries = 0; gst_buffer_pool_acquire_buffer (pool, &buf, &params)
        != GST_FLOW_OK; tries++) {
      fail_unless (tries < 1000, "buffer %u: the sink held all 3 of the "
          "producer's buffers for 10 s", i);
      g_usleep (10 * 1000);
    }
    fail_unless (gst_buffer_map (buf, &map, GST_MAP_WRITE));
    for (j = 0; j < map.size; j++)
      map.data[j] = g_rand_int (rand);
    gst_buffer_unmap (buf, &map);
    push (pipeline, buf);
  }
  gst_app_src_end_of_stream (GST_APP_SRC (get_by_name (pipeline, "in")));
  stats = run_to_eos (pipeline, 120 * GST_SECOND);

  fail_unless_equals_uint64 (sent.bytes, 40 * 480 * DAC_SCAN);
  assert_dac_played (&sent);
  fail_unless_equals_uint64 (stat_u64 (stats, "pooled"), 40);
  g_print ("a producer's pool of 3 with num-blocks=8: %" G_GUINT64_FORMAT
      " bytes exact, 40 pooled\n", sent.bytes);
  gst_buffer_pool_set_active (pool, FALSE);
  gst_object_unref (pool);
  gst_structure_free (stats);
  gst_query_unref (query);
  gst_caps_unref (caps);
  gst_object_unref (pad);
  g_rand_free (rand);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* PLAYING -> PAUSED -> PLAYING while the sink plays out its last blocks
 * after EOS: EOS comes only once every block has played. */
GST_START_TEST (test_pause_during_drain)
{
  GstElement *pipeline = launch ("appsrc name=in format=time "
      "caps=audio/x-raw,format=S16LE,layout=interleaved,channels=2,"
      "rate=8000,channel-mask=(bitmask)0 ! iiodmabufsink name=sink "
      "num-blocks=16 device=" DAC);
  GRand *rand = g_rand_new_with_seed (23);
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg;
  Fnv sent, played;
  guint i;

  tap_sink (pipeline, &sent);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  /* 16 blocks of 60 ms: the DAC starts with all queued, then EOS drains */
  for (i = 0; i < 16; i++)
    push (pipeline, pattern_buffer (rand, 480 * DAC_SCAN, 1));
  gst_app_src_end_of_stream (GST_APP_SRC (get_by_name (pipeline, "in")));
  g_usleep (150 * 1000);
  gst_element_set_state (pipeline, GST_STATE_PAUSED);
  g_usleep (100 * 1000);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND, GST_MESSAGE_EOS |
      GST_MESSAGE_ERROR);
  dac_played (&played);         /* at EOS, before anything else */

  fail_unless (msg != NULL, "no EOS within 60 s");
  fail_unless_equals_int (GST_MESSAGE_TYPE (msg), GST_MESSAGE_EOS);
  fail_unless_equals_uint64 (played.bytes, sent.bytes);
  fail_unless (played.hash == sent.hash, "DAC checksum differs at EOS");
  g_print ("paused while draining: EOS after all %" G_GUINT64_FORMAT
      " bytes played\n", played.bytes);
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  g_rand_free (rand);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* Before each test: lossless inputs, and the DAC disabled (a test that
 * failed half-way must not leave it running for the next). */
static void
setup_devices (void)
{
  restore_nodes ();
  sysfs_lossless_inputs ();
  sysfs_write (DAC "/buffer0/enable", "0");
  sysfs_write (DAC "/sampling_frequency", "48000");     /* as at load */
  sysfs_write (DAC "/cyclic_repeat", "0");      /* mainline's behaviour */
  sysfs_write (DAC "/contiguous_only", "0");
  sysfs_write (DAC "/fault_enable", "0");
  second_dac (FALSE);
}

/* The pipeline runs on the sink's clock, driven by what the DAC played:
 * read against the DAC's own count of consumed bytes while it plays 10 s
 * of 1024-scan blocks, the clock advances at the DAC's rate (within 0.2 %,
 * a least squares fit of 80 readings), and every byte is played. The
 * count moves a block (23 ms) at a time: by estimate that step alone puts
 * about 0.08 % of noise on a fit of 16 readings (0.1 % then failed once on
 * arm64, at 0.9989) and 0.03 % on one of 80. The stream is 44.1 kHz, so the DAC (at 48 kHz before, 8.8 %
 * off) changes rate after the sink started. */
GST_START_TEST (test_clock_from_played_samples)
{
  /* blocks of 23 ms, 186 ms queued: a busy host running the emulated
   * guest late must not make the DAC run dry */
  GstElement *pipeline = launch ("audiotestsrc num-buffers=500 "
      "samplesperbuffer=1024 wave=saw ! audio/x-raw,format=S16LE,channels=2,"
      "rate=44100 ! iiodmabufsink name=sink samples-per-block=1024 "
      "num-blocks=8 device=" DAC);
  GstElement *sink = get_by_name (pipeline, "sink");
  gdouble sx = 0, sy = 0, sxx = 0, sxy = 0, n = 0, slope;
  GstClock *ours, *used;
  GstStructure *stats;
  GstMessage *msg;
  Fnv sent;
  guint i;

  tap_sink (pipeline, &sent);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  fail_unless_equals_int (gst_element_get_state (pipeline, NULL, NULL,
          30 * GST_SECOND), GST_STATE_CHANGE_SUCCESS);
  ours = gst_element_provide_clock (sink);
  used = gst_pipeline_get_clock (GST_PIPELINE (pipeline));
  fail_unless (ours != NULL && ours == used, "the pipeline runs on %s",
      used ? GST_OBJECT_NAME (used) : "no clock");
  g_usleep (G_USEC_PER_SEC);
  for (i = 0; i < 80; i++) {
    gdouble played = sysfs_read_u64 (DAC, "consumed_bytes") /
        (gdouble) (DAC_SCAN * 44100);
    gdouble clock = gst_clock_get_time (used) / 1e9;

    sx += played;
    sy += clock;
    sxx += played * played;
    sxy += played * clock;
    n++;
    g_usleep (G_USEC_PER_SEC / 10);
  }
  msg = run (pipeline, 60 * GST_SECOND, NULL);
  fail_unless (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS, "%s",
      error_text (msg));
  gst_message_unref (msg);
  stats = sink_stats (pipeline);
  gst_element_set_state (pipeline, GST_STATE_NULL);

  slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  assert_dac_played (&sent);
  fail_unless_equals_uint64 (sent.bytes, 500 * 1024 * DAC_SCAN);
  fail_unless_equals_uint64 (stat_u64 (stats, "underflows"), 0);
  fail_unless (ABS (slope - 1.0) < 0.002, "the clock runs at %f of the "
      "DAC's rate", slope);
  g_print ("sink's clock: at %.5f of what the DAC played over 8 s; %"
      G_GUINT64_FORMAT " bytes exact\n", slope, sent.bytes);
  gst_structure_free (stats);
  gst_object_unref (ours);
  gst_object_unref (used);
  gst_object_unref (pipeline);
}

GST_END_TEST;

static void
assert_imported_all (GstElement * sink, guint blocks, guint run)
{
  GstStructure *stats;

  g_object_get (sink, "stats", &stats, NULL);
  fail_unless (stat_u64 (stats, "imports") == blocks
      && stat_u64 (stats, "copies") == 0 && stat_u64 (stats, "blocks") ==
      blocks && stat_u64 (stats, "fence-errors") == 0, "run %u, %s: %"
      GST_PTR_FORMAT, run, GST_OBJECT_NAME (sink), stats);
  gst_structure_free (stats);
}

/* The ADC's DMABUFs through a tee to two DACs: both sinks import each
 * DMABUF, at the same moment, each to its own DAC (an attachment for each
 * IIO buffer). Both play every byte of the ADC's, neither copies, and the
 * import cache neither deadlocks nor frees an attachment the other sink
 * still uses. Run several times, to meet the race in the cache. */
GST_START_TEST (test_tee_to_two_dacs)
{
  const guint runs = 5, blocks = 60, spb = 1024;
  Watchdog watchdog;
  GstMessage *msg;
  gchar *text;
  Fnv want;
  guint i;

  second_dac (TRUE);
  sysfs_write (DAC2 "/buffer0/enable", "0");
  adc_counter_hash (&want, blocks * spb);
  watchdog_start (&watchdog, "tee to two DACs");
  for (i = 0; i < runs; i++) {
    GstElement *pipeline = launch ("iiodmabufsrc device=iio-sim-adc "
        "channels=voltage0,voltage1 samples-per-block=1024 num-blocks=16 "
        "sampling-frequency=48000 num-buffers=60 ! tee name=t "
        "t. ! queue max-size-buffers=2 ! iiodmabufsink name=sink "
        "device=" DAC " t. ! queue max-size-buffers=2 ! iiodmabufsink "
        "name=sink2 device=" DAC2);

    watchdog_tick (&watchdog, i);
    msg = run (pipeline, 60 * GST_SECOND, NULL);
    text = GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR ? error_text (msg) :
        NULL;
    fail_unless (text == NULL, "run %u: %s", i, text);
    gst_message_unref (msg);
    assert_imported_all (get_by_name (pipeline, "sink"), blocks, i);
    assert_imported_all (get_by_name (pipeline, "sink2"), blocks, i);
    gst_element_set_state (pipeline, GST_STATE_NULL);
    gst_object_unref (pipeline);
    assert_dac_played_on (DAC, &want);
    assert_dac_played_on (DAC2, &want);
  }
  watchdog_stop (&watchdog);
  second_dac (FALSE);
  g_print ("tee to two DACs, %u runs: each played the ADC's %"
      G_GUINT64_FORMAT " bytes exact, %u imports each, 0 copies\n", runs,
      want.bytes, blocks);
}

GST_END_TEST;

static Suite *
iiodmabufsink_suite (void)
{
  Suite *s = suite_create ("iiodmabufsink");
  TCase *tc = tcase_create ("kernel");

  tcase_set_timeout (tc, 600);
  suite_add_tcase (s, tc);
  tcase_add_checked_fixture (tc, setup_devices, NULL);
  tcase_add_test (tc, test_audiotestsrc_uses_pool);
  tcase_add_test (tc, test_producer_larger_than_block);
  tcase_add_test (tc, test_unknown_producer_copied);
  tcase_add_test (tc, test_transform_sizes_pool);
  tcase_add_test (tc, test_unforeseeable_sizes_copied);
  tcase_add_test (tc, test_slow_producer_underflows);
  tcase_add_test (tc, test_rate_follows_stream);
  tcase_add_test (tc, test_caps_change_mid_stream);
  tcase_add_test (tc, test_write_mode_takes_stream_rate);
  tcase_add_test (tc, test_capsfilter_changed_while_playing);
  tcase_add_test (tc, test_loopback_adc_to_dac);
  tcase_add_test (tc, test_loopback_through_conversion);
  tcase_add_test (tc, test_plain_memory_is_copied);
  tcase_add_test (tc, test_foreign_dmabufs_imported);
  tcase_add_test (tc, test_flush_then_play);
  tcase_add_test (tc, test_udmabuf_fallback);
  tcase_add_test (tc, test_drm_origin);
  tcase_add_test (tc, test_auto_falls_back_to_drm);
  tcase_add_test (tc, test_no_dmabuf_writes);
  tcase_add_test (tc, test_drm_device_refused);
  tcase_add_test (tc, test_cyclic_repeats);
  tcase_add_test (tc, test_cyclic_without_hardware_repeat);
  tcase_add_test (tc, test_cyclic_failing_dac_errors);
  tcase_add_test (tc, test_write_mode);
  tcase_add_test (tc, test_fixed_watermark);
  tcase_add_test (tc, test_unaligned_buffers_fit_dma);
  tcase_add_test (tc, test_mismatched_channels);
  tcase_add_test (tc, test_partial_scan_refused);
  tcase_add_test (tc, test_block_must_fit_dma);
  tcase_add_test (tc, test_geometry_limits);
  tcase_add_test (tc, test_busy_dac);
  tcase_add_test (tc, test_removed_while_playing);
  tcase_add_test (tc, test_stall_error_and_prompt_stop);
  tcase_add_test (tc, test_pause_resume_non_live);
  tcase_add_test (tc, test_pause_resume_live);
  tcase_add_test (tc, test_failed_submit_counted);
  tcase_add_test (tc, test_failed_submit_found_late);
  tcase_add_test (tc, test_failed_blocks_warned_not_flooded);
  tcase_add_test (tc, test_failed_enable_releases_blocks);
  tcase_add_test (tc, test_stop_before_start_plays_nothing);
  tcase_add_test (tc, test_prefilled_start);
  tcase_add_test (tc, test_one_dmabuf_two_memories_imported);
  tcase_add_test (tc, test_recycled_dmabufs_attached_once);
  tcase_add_test (tc, test_dmabufs_sent_again_while_playing);
  tcase_add_test (tc, test_every_state_order);
  tcase_add_test (tc, test_stats_from_another_thread);
  tcase_add_test (tc, test_caps_queries_during_state_changes);
  tcase_add_test (tc, test_accept_caps_agrees);
  tcase_add_test (tc, test_loopback_allocates_no_unused_pool);
  tcase_add_test (tc, test_bounded_producer_pool);
  tcase_add_test (tc, test_pause_during_drain);
  tcase_add_test (tc, test_clock_from_played_samples);
  tcase_add_test (tc, test_rtp_over_udp);
  tcase_add_test (tc, test_x_iio_over_rtp_and_file);
  tcase_add_test (tc, test_tee_to_two_dacs);
  return s;
}

GST_CHECK_MAIN (iiodmabufsink);
