/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * iiodmabufsrc against the simulated converters (run in the VM). Every
 * sample that reaches the sink is checked against the converters' formula:
 * sample k of channel c holds (k + c * 0x100) mod 2^realbits.
 */
#define _GNU_SOURCE             /* memfd_create, for origins.h */
#include <gst/check/gstcheck.h>
#include <gst/allocators/allocators.h>
#include <gst/app/gstappsink.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../gst/iiodmabuf/iiodmabuf-uapi.h"
#include "origins.h"
#include "pipeline.h"
#include "sysfs.h"

typedef struct
{
  /* what the stream should hold */
  guint channels[8];            /* channel numbers, in scan order */
  guint n_channels;
  guint realbits, shift;
  guint spb;                    /* samples per block */

  /* what the sink saw */
  guint64 blocks, samples_checked, next_offset, discont_jumps;
  /* the converter's sample index, read from the data itself: the next
   * one due, jumps in it and samples skipped; with offsets_true, OFFSET
   * must equal it within precision (the largest difference seen) */
  guint64 data_next, data_gaps, data_lost;
  gboolean offsets_true;
  guint64 precision, offset_err, disconts;
  guint64 non_dmabuf;
  GstClockTime last_pts;
  GHashTable *inodes;
  gchar *exporter;              /* of the DMABUFs, if all had the same */
  GPtrArray *held;              /* buffers kept to starve the source */
  guint hold;
  guint fault_at;               /* arm fault_eio_blocks at this block */
  const gchar *fault_attr;
  const gchar *fault_n;         /* how many blocks fail; NULL: 2 */
  gchar *bad;                   /* the first mismatch */
  gint seen;                    /* blocks checked, read from other threads */
} Expect;

static void
expect_init (Expect * e, const gchar * channels, guint realbits, guint shift,
    guint spb)
{
  gchar **ids = g_strsplit (channels, ",", -1);
  guint i;

  memset (e, 0, sizeof *e);
  for (i = 0; ids[i]; i++)
    e->channels[i] = atoi (ids[i] + strlen ("voltage"));
  e->n_channels = i;
  e->realbits = realbits;
  e->shift = shift;
  e->spb = spb;
  e->inodes = g_hash_table_new (g_direct_hash, g_direct_equal);
  e->held = g_ptr_array_new_with_free_func ((GDestroyNotify) gst_buffer_unref);
  g_strfreev (ids);
}

static void
expect_clear (Expect * e)
{
  g_hash_table_destroy (e->inodes);
  g_ptr_array_unref (e->held);
  g_free (e->bad);
  g_free (e->exporter);
}

/* Who exported each new DMABUF; "mixed" if they differ. */
static void
note_exporter (Expect * e, gint fd)
{
  gchar *name = dmabuf_exporter (fd);

  if (!e->exporter)
    e->exporter = g_strdup (name);
  else if (!g_str_equal (e->exporter, name)) {
    g_free (e->exporter);
    e->exporter = g_strdup ("mixed");
  }
  g_free (name);
}

static void
note_memory (Expect * e, GstBuffer * buf)
{
  GstMemory *mem = gst_buffer_peek_memory (buf, 0);
  struct stat st;

  if (!gst_is_dmabuf_memory (mem)) {
    e->non_dmabuf++;
    return;
  }
  fail_unless (fstat (gst_dmabuf_memory_get_fd (mem), &st) == 0);
  /* keyed by value: g_hash_table_add() keeps the newer of equal keys */
  if (g_hash_table_add (e->inodes, GSIZE_TO_POINTER ((gsize) st.st_ino)))
    note_exporter (e, gst_dmabuf_memory_get_fd (mem));
}

/* The sample index of a block's first scan: the smallest one from the
 * next due on that its first value fits (the counter wraps at realbits). */
static guint64
data_index (Expect * e, const guint16 * s)
{
  guint64 mask = (1ULL << e->realbits) - 1;
  guint64 v = ((GUINT16_FROM_LE (s[0]) >> e->shift) - e->channels[0] * 0x100)
      & mask;

  return e->data_next + ((v - e->data_next) & mask);
}

/* Where the data says a block starts, against its OFFSET. */
static void
check_offset (Expect * e, GstBuffer * buf, guint64 k)
{
  guint64 offset = GST_BUFFER_OFFSET (buf);
  guint64 err = offset > k ? offset - k : k - offset;
  guint64 gap = e->blocks > 0 ? k - e->data_next : 0;
  gboolean discont = GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DISCONT);

  e->data_gaps += gap > 0;
  e->data_lost += gap;
  e->data_next = k + e->spb;
  if (!e->offsets_true)
    return;
  /* a gap the measure can tell has DISCONT; no other block has */
  e->disconts += discont && e->blocks > 0;
  if (e->blocks > 0 && discont && !gap && !e->bad)
    e->bad = g_strdup_printf ("block %" G_GUINT64_FORMAT " is DISCONT, but "
        "follows the one before", e->blocks);
  if (!discont && gap > e->precision && !e->bad)
    e->bad = g_strdup_printf ("block %" G_GUINT64_FORMAT " follows a gap of %"
        G_GUINT64_FORMAT " samples without DISCONT", e->blocks, gap);
  e->offset_err = MAX (e->offset_err, err);
  if (err > e->precision && !e->bad)
    e->bad = g_strdup_printf ("block %" G_GUINT64_FORMAT " has OFFSET %"
        G_GUINT64_FORMAT ", its data start at sample %" G_GUINT64_FORMAT,
        e->blocks, offset, k);
}

/* Checks every sample of @buf against the sample index its data give
 * (and, where the converter is in real time, against its OFFSET); records
 * the first mismatch. A lossless simulator waits for a late reader where
 * a converter would drop samples: OFFSET, measured as on hardware, then
 * runs ahead of the data. */
static void
check_samples (Expect * e, GstBuffer * buf)
{
  guint64 mask = (1ULL << e->realbits) - 1, k;
  GstMapInfo map;
  const guint16 *s;
  guint i, c;

  fail_unless (gst_buffer_map (buf, &map, GST_MAP_READ));
  fail_unless_equals_int (map.size, e->spb * e->n_channels * 2);
  s = (const guint16 *) map.data;
  k = data_index (e, s);
  check_offset (e, buf, k);
  for (i = 0; i < e->spb && !e->bad; i++, k++) {
    for (c = 0; c < e->n_channels; c++) {
      guint16 want = ((k + e->channels[c] * 0x100) & mask) << e->shift;
      guint16 got = GUINT16_FROM_LE (s[i * e->n_channels + c]);
      if (got != want)
        e->bad = g_strdup_printf ("sample %" G_GUINT64_FORMAT " channel %u: "
            "0x%04x, want 0x%04x", k, e->channels[c], got, want);
    }
  }
  e->samples_checked += (guint64) e->spb * e->n_channels;
  gst_buffer_unmap (buf, &map);
}

/* The first buffer is DISCONT; each is stamped a block long, in order but
 * where the timestamps step back to the clock (DISCONT: after a pause the
 * converter's samples ran ahead of the running time). */
static void
check_timing (Expect * e, GstBuffer * buf)
{
  GstClockTime pts = GST_BUFFER_PTS (buf);

  if (e->bad)
    return;
  if (e->blocks == 0 && !GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DISCONT))
    e->bad = g_strdup ("the first buffer is not DISCONT");
  else if (!GST_CLOCK_TIME_IS_VALID (pts)
      || !GST_CLOCK_TIME_IS_VALID (GST_BUFFER_DURATION (buf))
      || GST_BUFFER_DURATION (buf) == 0)
    e->bad = g_strdup_printf ("block %" G_GUINT64_FORMAT " has no PTS or "
        "duration", e->blocks);
  else if (e->blocks > 0 && pts < e->last_pts
      && !GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DISCONT))
    e->bad = g_strdup_printf ("block %" G_GUINT64_FORMAT " goes back in time "
        "without DISCONT", e->blocks);
  else if (GST_BUFFER_OFFSET_END (buf) - GST_BUFFER_OFFSET (buf) != e->spb)
    e->bad = g_strdup_printf ("block %" G_GUINT64_FORMAT " spans offsets %"
        G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT, e->blocks,
        GST_BUFFER_OFFSET (buf), GST_BUFFER_OFFSET_END (buf));
  e->last_pts = pts;
}

static void
on_handoff (GstElement * sink, GstBuffer * buf, GstPad * pad, Expect * e)
{
  check_timing (e, buf);
  if (GST_BUFFER_OFFSET (buf) != e->next_offset) {
    if (!GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DISCONT) && !e->bad)
      e->bad = g_strdup_printf ("offset %" G_GUINT64_FORMAT " without "
          "DISCONT, want %" G_GUINT64_FORMAT, GST_BUFFER_OFFSET (buf),
          e->next_offset);
    e->discont_jumps++;
  }
  e->next_offset = GST_BUFFER_OFFSET_END (buf);
  note_memory (e, buf);
  check_samples (e, buf);
  if (e->hold) {
    g_ptr_array_add (e->held, gst_buffer_ref (buf));
    if (e->held->len > e->hold)
      g_ptr_array_remove_index (e->held, 0);
  }
  if (++e->blocks == e->fault_at && e->fault_attr)
    sysfs_write (e->fault_attr, e->fault_n ? e->fault_n : "2");
  g_atomic_int_inc (&e->seen);
}

static GstElement *
make_pipeline_with (const gchar * src_props, GCallback handoff, gpointer data)
{
  gchar *desc = g_strdup_printf ("iiodmabufsrc name=src %s ! "
      "fakesink name=sink signal-handoffs=true sync=false", src_props);
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch (desc, &error), *sink;

  fail_unless (pipeline != NULL && error == NULL, "%s: %s", desc,
      error ? error->message : "");
  g_free (desc);
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  g_signal_connect (sink, "handoff", handoff, data);
  gst_object_unref (sink);
  return pipeline;
}

static GstElement *
make_pipeline (const gchar * src_props, Expect * e)
{
  return make_pipeline_with (src_props, G_CALLBACK (on_handoff), e);
}

static GstStructure *
get_stats (GstElement * pipeline)
{
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  GstStructure *stats;

  g_object_get (src, "stats", &stats, NULL);
  gst_object_unref (src);
  return stats;
}

/* Plays to EOS (failing otherwise), takes the source's stats, stops. */
static GstStructure *
run_to_eos (GstElement * pipeline, GstClockTime limit, guint * warnings)
{
  GstMessage *msg = run (pipeline, limit, warnings);
  GstStructure *stats;

  fail_unless_equals_int (GST_MESSAGE_TYPE (msg), GST_MESSAGE_EOS);
  gst_message_unref (msg);
  stats = get_stats (pipeline);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  return stats;
}

/* Captures @blocks blocks and checks them all; no loss, no copy. */
static void
capture_exact (const gchar * channels, guint spb, guint rate, guint blocks)
{
  gchar *props = g_strdup_printf ("device=iio-sim-adc channels=%s "
      "samples-per-block=%u sampling-frequency=%u num-blocks=8 "
      "num-buffers=%u", channels, spb, rate, blocks);
  Expect e;
  GstElement *pipeline;
  GstStructure *stats;

  expect_init (&e, channels, 16, 0, spb);
  pipeline = make_pipeline (props, &e);
  stats = run_to_eos (pipeline, 300 * GST_SECOND, NULL);

  fail_unless (e.bad == NULL, "%s", e.bad);
  fail_unless_equals_uint64 (e.blocks, blocks);
  fail_unless_equals_uint64 (e.data_next, (guint64) blocks * spb);
  fail_unless_equals_uint64 (e.data_gaps, 0);
  fail_unless_equals_uint64 (e.non_dmabuf, 0);
  fail_unless_equals_int (g_hash_table_size (e.inodes), 8);
  fail_unless_equals_uint64 (stat_u64 (stats, "copies"), 0);
  fail_unless_equals_uint64 (stat_u64 (stats, "blocks"), blocks);
  fail_unless_equals_string (gst_structure_get_string (stats, "io-mode"),
      "dmabuf");
  GST_INFO ("%s, %u scans a block: %" G_GUINT64_FORMAT " samples checked",
      channels, spb, e.samples_checked);
  g_print ("capture %s spb=%u: %" G_GUINT64_FORMAT " blocks, %"
      G_GUINT64_FORMAT " samples exact, 8 DMABUFs, 0 copies\n", channels, spb,
      e.blocks, e.samples_checked);

  gst_structure_free (stats);
  gst_object_unref (pipeline);
  expect_clear (&e);
  g_free (props);
}

GST_START_TEST (test_capture_all_channels)
{
  capture_exact ("voltage0,voltage1,voltage2,voltage3", 256, 25600, 3500);
}

GST_END_TEST;

GST_START_TEST (test_capture_subset)
{
  capture_exact ("voltage1,voltage3", 1024, 102400, 3500);
}

GST_END_TEST;

GST_START_TEST (test_capture_one_channel_small_blocks)
{
  capture_exact ("voltage2", 64, 6400, 3000);
}

GST_END_TEST;

GST_START_TEST (test_adc12_caps_and_data)
{
  Expect e;
  GstElement *pipeline, *sink;
  GstMessage *msg;
  GstCaps *caps;
  GstPad *pad;
  const GstStructure *s;

  expect_init (&e, "voltage0,voltage1,voltage2", 12, 4, 512);
  pipeline = make_pipeline ("device=iio-sim-adc12 samples-per-block=512 "
      "sampling-frequency=64000 num-buffers=200", &e);
  msg = run (pipeline, 120 * GST_SECOND, NULL);
  fail_unless_equals_int (GST_MESSAGE_TYPE (msg), GST_MESSAGE_EOS);
  gst_message_unref (msg);

  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  pad = gst_element_get_static_pad (sink, "sink");
  caps = gst_pad_get_current_caps (pad);
  s = gst_caps_get_structure (caps, 0);
  fail_unless (gst_structure_has_name (s, "application/x-iio"));
  fail_unless_equals_string (gst_structure_get_string (s, "channel-ids"),
      "voltage0,voltage1,voltage2");
  fail_unless_equals_string (gst_structure_get_string (s, "channel-types"),
      "le:s12/16>>4,le:s12/16>>4,le:s12/16>>4");
  gst_caps_unref (caps);
  gst_object_unref (pad);
  gst_object_unref (sink);
  gst_element_set_state (pipeline, GST_STATE_NULL);

  fail_unless (e.bad == NULL, "%s", e.bad);
  fail_unless_equals_uint64 (e.blocks, 200);
  g_print ("adc12: application/x-iio caps, %" G_GUINT64_FORMAT
      " samples exact\n", e.samples_checked);
  gst_object_unref (pipeline);
  expect_clear (&e);
}

GST_END_TEST;

GST_START_TEST (test_audio_caps)
{
  GstElement *src = gst_element_factory_make ("iiodmabufsrc", NULL);
  GstCaps *caps, *want;
  GstPad *pad;

  g_object_set (src, "device", "iio-sim-adc", "channels",
      "voltage0,voltage1", "sampling-frequency", 48000, NULL);
  fail_unless_equals_int (gst_element_set_state (src, GST_STATE_READY),
      GST_STATE_CHANGE_SUCCESS);
  pad = gst_element_get_static_pad (src, "src");
  caps = gst_pad_query_caps (pad, NULL);
  want = gst_caps_from_string ("audio/x-raw, format=S16LE, "
      "layout=interleaved, rate=48000, channels=2, channel-mask=(bitmask)0");
  fail_unless (gst_caps_is_equal (caps, want), "caps %s",
      gst_caps_to_string (caps));
  gst_caps_unref (caps);
  gst_caps_unref (want);
  gst_object_unref (pad);
  gst_element_set_state (src, GST_STATE_NULL);
  gst_object_unref (src);
}

GST_END_TEST;

/* Without channels or sampling-frequency the caps offer what the device
 * can: the first 4, 3, 2 or 1 channels, at any rate it takes. */
GST_START_TEST (test_offered_caps)
{
  GstElement *src = gst_element_factory_make ("iiodmabufsrc", NULL);
  GstCaps *caps, *range = gst_caps_from_string ("x, rate=[1,100000000]");
  GstPad *pad;
  guint i;

  g_object_set (src, "device", "iio-sim-adc", NULL);
  fail_unless_equals_int (gst_element_set_state (src, GST_STATE_READY),
      GST_STATE_CHANGE_SUCCESS);
  pad = gst_element_get_static_pad (src, "src");
  caps = gst_pad_query_caps (pad, NULL);
  fail_unless_equals_int (gst_caps_get_size (caps), 4);
  for (i = 0; i < 4; i++) {
    GstStructure *s = gst_caps_get_structure (caps, i);
    gint channels = 0;

    fail_unless (gst_structure_get_int (s, "channels", &channels));
    fail_unless_equals_int (channels, 4 - i);
    fail_unless (gst_value_compare (gst_structure_get_value (s, "rate"),
            gst_structure_get_value (gst_caps_get_structure (range, 0),
                "rate")) == GST_VALUE_EQUAL);
  }
  gst_caps_unref (range);
  gst_caps_unref (caps);
  gst_object_unref (pad);
  gst_element_set_state (src, GST_STATE_NULL);
  gst_object_unref (src);
}

GST_END_TEST;

/* Downstream picks 2 channels at 32 kHz: the device runs so, data exact,
 * and is put back after. */
GST_START_TEST (test_negotiated_rate_and_channels)
{
  gchar *freq_before = sysfs_read ("iio-sim-adc/sampling_frequency");
  gchar *freq_during;
  GstElement *pipeline;
  GstMessage *msg;
  Expect e;

  expect_init (&e, "voltage0,voltage1", 16, 0, 512);
  pipeline = make_pipeline ("device=iio-sim-adc samples-per-block=512 "
      "num-buffers=200 ! audio/x-raw,rate=32000,channels=2", &e);
  msg = run (pipeline, 120 * GST_SECOND, NULL);
  fail_unless_equals_int (GST_MESSAGE_TYPE (msg), GST_MESSAGE_EOS);
  gst_message_unref (msg);
  freq_during = sysfs_read ("iio-sim-adc/sampling_frequency");
  gst_element_set_state (pipeline, GST_STATE_NULL);

  fail_unless (e.bad == NULL, "%s", e.bad);
  fail_unless_equals_uint64 (e.blocks, 200);
  fail_unless_equals_string (freq_during, "32000");
  fail_unless_equals_string (sysfs_read ("iio-sim-adc/sampling_frequency"),
      freq_before);
  g_print ("negotiated 2 channels at 32000 Hz: %" G_GUINT64_FORMAT
      " samples exact, device back at %s Hz\n", e.samples_checked, freq_before);
  gst_object_unref (pipeline);
  expect_clear (&e);
  g_free (freq_before);
  g_free (freq_during);
}

GST_END_TEST;

/* Downstream keeps the last few buffers: the source copies, never stalls. */
GST_START_TEST (test_starvation_copies)
{
  Expect e;
  GstElement *pipeline;
  GstMessage *msg;
  GstStructure *stats;

  expect_init (&e, "voltage0", 16, 0, 512);
  e.hold = 3;
  pipeline = make_pipeline ("device=iio-sim-adc channels=voltage0 "
      "samples-per-block=512 sampling-frequency=51200 num-blocks=4 "
      "num-buffers=300", &e);
  msg = run (pipeline, 120 * GST_SECOND, NULL);
  fail_unless_equals_int (GST_MESSAGE_TYPE (msg), GST_MESSAGE_EOS);
  gst_message_unref (msg);
  stats = get_stats (pipeline);
  g_ptr_array_set_size (e.held, 0);
  gst_element_set_state (pipeline, GST_STATE_NULL);

  fail_unless (e.bad == NULL, "%s", e.bad);
  fail_unless_equals_uint64 (e.blocks, 300);
  fail_unless (stat_u64 (stats, "copies") > 0, "no copies while starved");
  fail_unless_equals_uint64 (stat_u64 (stats, "copies"), e.non_dmabuf);
  g_print ("starvation: %" G_GUINT64_FORMAT " of 300 blocks copied, data "
      "exact\n", stat_u64 (stats, "copies"));
  gst_structure_free (stats);
  gst_object_unref (pipeline);
  expect_clear (&e);
}

GST_END_TEST;

GST_START_TEST (test_kfifo_falls_back_to_read)
{
  Expect e;
  GstElement *pipeline;
  GstStructure *stats;

  expect_init (&e, "voltage0,voltage1", 16, 0, 256);
  pipeline = make_pipeline ("device=iio-sim-kfifo samples-per-block=256 "
      "num-buffers=40", &e);
  stats = run_to_eos (pipeline, 120 * GST_SECOND, NULL);

  fail_unless (e.bad == NULL, "%s", e.bad);
  fail_unless_equals_uint64 (e.blocks, 40);
  fail_unless_equals_string (gst_structure_get_string (stats, "io-mode"), "rw");
  g_print ("kfifo: read() fallback, %" G_GUINT64_FORMAT " samples exact\n",
      e.samples_checked);
  gst_structure_free (stats);
  gst_object_unref (pipeline);
  expect_clear (&e);
}

GST_END_TEST;

/* One io-mode=rw session of @blocks blocks on the DMA buffer core: the
 * counter in order, offsets where the data say, no gap. */
static void
rw_session (guint blocks)
{
  gchar *props = g_strdup_printf ("device=iio-sim-adc "
      "channels=voltage0,voltage1 io-mode=rw samples-per-block=1024 "
      "num-blocks=2 num-buffers=%u", blocks);
  GstElement *pipeline;
  GstStructure *stats;
  Expect e;

  expect_init (&e, "voltage0,voltage1", 16, 0, 1024);
  pipeline = make_pipeline (props, &e);
  stats = run_to_eos (pipeline, 120 * GST_SECOND, NULL);
  fail_unless (e.bad == NULL, "%s", e.bad);
  fail_unless_equals_uint64 (e.blocks, blocks);
  fail_unless_equals_uint64 (e.data_gaps, 0);
  fail_unless_equals_string (gst_structure_get_string (stats, "io-mode"), "rw");
  g_print ("io-mode=rw, %u blocks: %" G_GUINT64_FORMAT " samples exact, "
      "in order up to k=%" G_GUINT64_FORMAT "\n", blocks, e.samples_checked,
      e.data_next);
  gst_structure_free (stats);
  gst_object_unref (pipeline);
  expect_clear (&e);
  g_free (props);
}

/* Linux 6.12's DMA buffer core does not rewind its two read() blocks when
 * the buffer is enabled again: after a session that read an odd number of
 * them, the next got samples N..2N before 0..N with no error. Sessions of
 * 6, 1 and 6 blocks (one kernel block each): one of the two long ones
 * starts on the second kernel block, whatever came before; both must be
 * in order. */
GST_START_TEST (test_rw_first_blocks_in_order)
{
  rw_session (6);
  rw_session (1);
  rw_session (6);
}

GST_END_TEST;

/* Starts a pipeline that must fail; returns the error's text. */
static gchar *
start_error (const gchar * src_props)
{
  Expect e;
  GstElement *pipeline;
  GstMessage *msg;
  GstBus *bus;
  gchar *text;

  expect_init (&e, "voltage0", 16, 0, 1);
  pipeline = make_pipeline (src_props, &e);
  bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (bus, 30 * GST_SECOND, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "%s: no error", src_props);
  text = error_text (msg);
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  expect_clear (&e);
  return text;
}

GST_START_TEST (test_kfifo_dmabuf_mode_error)
{
  gchar *text = start_error ("device=iio-sim-kfifo io-mode=dmabuf");

  fail_unless (strstr (text, "6.11") && strstr (text, "io-mode=auto"), "%s",
      text);
  g_free (text);
}

GST_END_TEST;

GST_START_TEST (test_bad_device_and_channel)
{
  gchar *text = start_error ("device=no-such-adc");

  fail_unless (strstr (text, "no-such-adc") && strstr (text, "iio-sim-adc12"),
      "%s", text);
  g_free (text);
  text = start_error ("device=iio-sim-adc channels=voltage0,current7");
  fail_unless (strstr (text, "current7")
      && strstr (text, "voltage0,voltage1,voltage2,voltage3,timestamp"), "%s",
      text);
  g_free (text);
}

GST_END_TEST;

GST_START_TEST (test_busy_device)
{
  gchar *node = sysfs_node ("iio-sim-adc"), *text;
  gint fd = open (node, O_RDONLY);

  fail_unless (fd >= 0);
  text = start_error ("device=iio-sim-adc");
  fail_unless (strstr (text, "another process"), "%s", text);
  close (fd);
  g_free (text);
  g_free (node);
}

GST_END_TEST;

/* -EIO blocks: a warning each, DISCONT, the stream goes on exact. In real
 * time, so that OFFSET can be held to the converter's index: the failed
 * blocks' samples are lost, and any overrun around them is measured. */
GST_START_TEST (test_failed_blocks)
{
  Expect e;
  GstElement *pipeline;
  GstStructure *stats;
  guint warnings = 0;
  guint64 lost, error;

  sysfs_write ("iio-sim-adc/lossless", "0");
  expect_init (&e, "voltage0,voltage1", 16, 0, 1024);
  e.offsets_true = TRUE;
  e.precision = 1024;
  e.fault_at = 20;
  e.fault_attr = "iio-sim-adc/fault_eio_blocks";
  pipeline = make_pipeline ("device=iio-sim-adc channels=voltage0,voltage1 "
      "samples-per-block=1024 sampling-frequency=102400 num-buffers=60", &e);
  stats = run_to_eos (pipeline, 120 * GST_SECOND, &warnings);
  lost = stat_u64 (stats, "lost-samples");
  error = lost > e.data_lost ? lost - e.data_lost : e.data_lost - lost;

  fail_unless (e.bad == NULL, "%s", e.bad);
  /* one for both, unless they were 5 s apart */
  fail_unless (warnings >= 1 && warnings <= 2, "%u warnings", warnings);
  fail_unless_equals_uint64 (stat_u64 (stats, "failed-blocks"), 2);
  fail_unless (e.data_lost >= 2048, "the data lack %" G_GUINT64_FORMAT
      " samples", e.data_lost);
  fail_unless (error <= e.precision * e.data_gaps, "lost-samples %"
      G_GUINT64_FORMAT ", the data lack %" G_GUINT64_FORMAT, lost, e.data_lost);
  fail_unless (e.discont_jumps >= 1);
  g_print ("failed blocks: %u warning(s), DISCONT, 60 blocks exact after; "
      "lost-samples %" G_GUINT64_FORMAT ", the data lack %" G_GUINT64_FORMAT
      "\n", warnings, lost, e.data_lost);
  gst_structure_free (stats);
  gst_object_unref (pipeline);
  expect_clear (&e);
}

GST_END_TEST;

/* A stalled converter gives a timely error, and shutdown is prompt. */
GST_START_TEST (test_stall_error_and_prompt_stop)
{
  gchar *en_before = sysfs_read ("iio-sim-adc/buffer0/in_voltage3_en");
  gchar *text, *en_after;
  GstElement *pipeline;
  GstMessage *msg;
  gint64 t0;
  Expect e;

  expect_init (&e, "voltage3", 16, 0, 256);
  sysfs_write ("iio-sim-adc/fault_stall", "1");
  pipeline = make_pipeline ("device=iio-sim-adc channels=voltage3 "
      "samples-per-block=256 timeout=500000000", &e);
  t0 = g_get_monotonic_time ();
  msg = run (pipeline, 30 * GST_SECOND, NULL);
  text = error_text (msg);
  fail_unless (strstr (text, "stalled"), "%s", text);
  t0 = g_get_monotonic_time ();
  gst_element_set_state (pipeline, GST_STATE_NULL);
  fail_unless (g_get_monotonic_time () - t0 < 3 * G_USEC_PER_SEC,
      "stopping took over 3 s");
  sysfs_write ("iio-sim-adc/fault_stall", "0");
  fail_unless_equals_string (sysfs_read ("iio-sim-adc/buffer0/enable"), "0");
  en_after = sysfs_read ("iio-sim-adc/buffer0/in_voltage3_en");
  fail_unless_equals_string (en_after, en_before);
  g_print ("stall: error '%s'; stopped promptly, device restored\n", text);
  gst_message_unref (msg);
  gst_object_unref (pipeline);
  expect_clear (&e);
  g_free (text);
  g_free (en_before);
  g_free (en_after);
}

GST_END_TEST;

GST_START_TEST (test_state_cycles_leak_no_fd)
{
  GstElement *pipeline = gst_parse_launch ("iiodmabufsrc device=iio-sim-adc "
      "samples-per-block=256 sampling-frequency=96000 ! fakesink", NULL);
  gchar *freq_before = sysfs_read ("iio-sim-adc/sampling_frequency");
  guint before, i;

  /* one cycle first: GStreamer's own lazily opened fds are not ours */
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  gst_element_get_state (pipeline, NULL, NULL, GST_CLOCK_TIME_NONE);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  before = count_fds ();
  for (i = 0; i < 200; i++) {
    fail_if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
        GST_STATE_CHANGE_FAILURE);
    gst_element_get_state (pipeline, NULL, NULL, 10 * GST_SECOND);
    fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_NULL),
        GST_STATE_CHANGE_SUCCESS);
  }
  fail_unless_equals_int (count_fds (), before);
  fail_unless_equals_string (sysfs_read ("iio-sim-adc/buffer0/enable"), "0");
  fail_unless_equals_string (sysfs_read ("iio-sim-adc/sampling_frequency"),
      freq_before);
  g_print ("200 PLAYING<->NULL cycles: %u fds before and after, device "
      "restored\n", before);
  g_free (freq_before);
  gst_object_unref (pipeline);
}

GST_END_TEST;

GST_START_TEST (test_latency)
{
  GstElement *pipeline = gst_parse_launch ("iiodmabufsrc name=src "
      "device=iio-sim-adc samples-per-block=480 sampling-frequency=48000 "
      "num-blocks=5 " "! fakesink", NULL);
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  GstQuery *query = gst_query_new_latency ();
  GstClockTime min, max;
  gboolean live;

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  gst_element_get_state (pipeline, NULL, NULL, 10 * GST_SECOND);
  fail_unless (gst_element_query (src, query));
  gst_object_unref (src);
  gst_query_parse_latency (query, &live, &min, &max);
  fail_unless (live);
  fail_unless_equals_uint64 (min, 10 * GST_MSECOND);
  fail_unless_equals_uint64 (max, 50 * GST_MSECOND);
  gst_query_unref (query);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
}

GST_END_TEST;


/* Captures @blocks blocks of 512 scans with @props, checks every sample,
 * that the blocks were @n_blocks DMABUFs from @origin, exported by
 * @exporter (as the kernel names it), and that none was copied. */
static void
capture_from (const gchar * props, guint n_blocks, guint blocks,
    const gchar * origin, const gchar * exporter)
{
  gchar *all = g_strdup_printf ("device=iio-sim-adc "
      "channels=voltage0,voltage1 samples-per-block=512 "
      "sampling-frequency=51200 num-blocks=%u num-buffers=%u %s",
      n_blocks, blocks, props);
  GstElement *pipeline;
  GstStructure *stats;
  Expect e;

  expect_init (&e, "voltage0,voltage1", 16, 0, 512);
  pipeline = make_pipeline (all, &e);
  stats = run_to_eos (pipeline, 120 * GST_SECOND, NULL);

  fail_unless (e.bad == NULL, "%s", e.bad);
  fail_unless_equals_uint64 (e.blocks, blocks);
  fail_unless_equals_uint64 (e.non_dmabuf, 0);
  fail_unless_equals_int (g_hash_table_size (e.inodes), n_blocks);
  fail_unless_equals_string (e.exporter, exporter);
  fail_unless_equals_string (gst_structure_get_string (stats,
          "dmabuf-origin"), origin);
  fail_unless_equals_uint64 (stat_u64 (stats, "copies"), 0);
  g_print ("%s: %" G_GUINT64_FORMAT " samples exact from %s (DMABUFs of "
      "%s), 0 copies\n", props, e.samples_checked, origin, exporter);
  gst_structure_free (stats);
  gst_object_unref (pipeline);
  expect_clear (&e);
  g_free (all);
}

/* Without access to the heap, blocks come from udmabuf and data is exact. */
/* A heap that is not there: the next origin this kernel has (udmabuf; on
 * Debian's armmp kernel, which has no udmabuf either, a DRM device). */
GST_START_TEST (test_udmabuf_fallback)
{
  gboolean udmabuf = g_file_test (UDMABUF_NODE, G_FILE_TEST_EXISTS);

  capture_from ("dma-heap=/dev/dma_heap/no-such-heap", 6, 100,
      udmabuf ? "udmabuf" : "drm", udmabuf ? "udmabuf" : "drm");
}

GST_END_TEST;

/* dma-heap takes a heap's name: "system" is /dev/dma_heap/system. */
/* The heap by its name; on a kernel without DMA heaps (Debian's ARM ones),
 * asking for it alone is an error that says so. */
GST_START_TEST (test_heap_by_name)
{
  gchar *text;

  if (g_file_test (HEAP_NODE, G_FILE_TEST_EXISTS)) {
    capture_from ("dma-heap=system", 4, 20, "dma-heap", "system");
    return;
  }
  text = start_error ("device=iio-sim-adc channels=voltage0 "
      "dma-heap=system dmabuf-origin=dma-heap");
  fail_unless (strstr (text, "heap") != NULL, "%s", text);
  g_print ("no DMA heap on this kernel: dma-heap=system alone gives '%s'\n",
      text);
  g_free (text);
}

GST_END_TEST;

/* dmabuf-origin=drm: the blocks are dumb buffers of vgem, though a DMA
 * heap and udmabuf are there; data exact, no copy. */
GST_START_TEST (test_drm_origin)
{
  capture_from ("dmabuf-origin=drm", 4, 200, "drm", "drm");
}

GST_END_TEST;

/* drm-device names the DRM node. */
GST_START_TEST (test_drm_device_by_path)
{
  gchar *card = drm_card ();
  gchar *props = g_strdup_printf ("dmabuf-origin=drm drm-device=%s", card);

  capture_from (props, 6, 100, "drm", "drm");
  g_free (props);
  g_free (card);
}

GST_END_TEST;

/* dmabuf-origin=auto on kernels with less: without a DMA heap (Debian's
 * arm64) udmabuf serves (test_udmabuf_fallback); without udmabuf either
 * (Debian's armmp), a DRM device's dumb buffers. */
GST_START_TEST (test_auto_falls_back_to_drm)
{
  hide_node (UDMABUF_NODE);
  capture_from ("dma-heap=/dev/dma_heap/no-such-heap", 4, 100, "drm", "drm");
  restore_nodes ();
}

GST_END_TEST;

/* Nothing makes DMABUFs (Debian's armmp without vgem): io-mode=auto reads
 * with read(), every sample exact, and says so in one warning that tells
 * what would give zero-copy; its debug text says why each origin failed. */
GST_START_TEST (test_no_dmabuf_reads)
{
  GstElement *pipeline;
  GstStructure *stats;
  GstMessage *msg;
  GError *error = NULL;
  gchar *debug = NULL;
  guint warnings = 0;
  Expect e;

  hide_node (UDMABUF_NODE);
  hide_node (DRM_DIR);
  expect_init (&e, "voltage0,voltage1", 16, 0, 512);
  pipeline = make_pipeline ("device=iio-sim-adc channels=voltage0,voltage1 "
      "samples-per-block=512 sampling-frequency=51200 num-buffers=100 "
      "dma-heap=/dev/dma_heap/no-such-heap", &e);
  msg = run_keeping_warning (pipeline, 120 * GST_SECOND, &warnings, &error,
      &debug);
  fail_unless (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS, "no EOS: %s",
      error_text (msg));
  gst_message_unref (msg);
  stats = get_stats (pipeline);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  restore_nodes ();

  fail_unless (e.bad == NULL, "%s", e.bad);
  fail_unless_equals_uint64 (e.blocks, 100);
  fail_unless_equals_uint64 (e.non_dmabuf, 100);
  fail_unless_equals_string (gst_structure_get_string (stats, "io-mode"), "rw");
  fail_unless_equals_string (gst_structure_get_string (stats,
          "dmabuf-origin"), "none");
  fail_unless_equals_int (warnings, 1);
  fail_unless (strstr (error->message, "No DMABUF can be made here")
      && strstr (error->message, "read()")
      && strstr (error->message, "modprobe vgem"), "%s", error->message);
  fail_unless (strstr (debug, "there is no DMA heap")
      && strstr (debug, "there is no /dev/udmabuf")
      && strstr (debug, "no DRM device in /dev/dri makes dumb buffers")
      && strstr (debug, "CONFIG_UDMABUF"), "%s", debug);
  g_print ("no DMABUF to be had: read(), %" G_GUINT64_FORMAT " samples "
      "exact, one warning: '%s'\n", e.samples_checked, error->message);
  g_error_free (error);
  g_free (debug);
  gst_structure_free (stats);
  gst_object_unref (pipeline);
  expect_clear (&e);
}

GST_END_TEST;

/* A DRM node asked for that cannot serve is an error that names it, never
 * a copy: one that is not there, a render node (Linux makes dumb buffers
 * on card nodes only), and so with dmabuf-origin=auto too, where neither
 * a DMA heap nor udmabuf serves. */
GST_START_TEST (test_drm_device_refused)
{
  gchar *text;

  text = start_error ("device=iio-sim-adc dmabuf-origin=drm "
      "drm-device=/dev/dri/card99");
  fail_unless (strstr (text, "cannot open DRM device /dev/dri/card99: No "
          "such file or directory"), "%s", text);
  g_print ("a DRM node that is not there: '%s'\n", text);
  g_free (text);

  text = start_error ("device=iio-sim-adc dmabuf-origin=drm "
      "drm-device=/dev/dri/renderD128");
  fail_unless (strstr (text, "/dev/dri/renderD128 is a DRM render node, "
          "which makes no dumb buffers: use a card node"), "%s", text);
  g_free (text);

  hide_node (UDMABUF_NODE);
  text = start_error ("device=iio-sim-adc drm-device=/dev/dri/card99 "
      "dma-heap=/dev/dma_heap/no-such-heap");
  restore_nodes ();
  fail_unless (strstr (text, "there is no /dev/udmabuf")
      && strstr (text, "cannot open DRM device /dev/dri/card99"), "%s", text);
  g_free (text);
}

GST_END_TEST;

/* A DRM node this user may not open: the error names it and says how to
 * give access. */
GST_START_TEST (test_drm_device_without_access)
{
  gchar *card = drm_card (), *node = node_without_access (card);
  gchar *props = g_strdup_printf ("device=iio-sim-adc dmabuf-origin=drm "
      "drm-device=%s", node);
  gchar *text;

  drop_dac_override ();
  text = start_error (props);
  unlink (node);
  fail_unless (strstr (text, node) && strstr (text, "Permission denied")
      && strstr (text, "group, video or render")
      && strstr (text, "udev rule: SUBSYSTEM==\"drm\""), "%s", text);
  g_print ("a DRM node without access: '%s'\n", text);
  g_free (text);
  g_free (props);
  g_free (node);
  g_free (card);
}

GST_END_TEST;

/* A DMA engine without scatter-gather (contiguous_only) fails every block
 * in udmabuf's scattered pages: the error says to use a CMA heap. */
GST_START_TEST (test_scattered_memory_needs_cma)
{
  gchar *text;

  sysfs_write ("iio-sim-adc/contiguous_only", "1");
  text = start_error ("device=iio-sim-adc channels=voltage0,voltage1 "
      "samples-per-block=8192 num-blocks=4 "
      "dma-heap=/dev/dma_heap/no-such-heap");
  sysfs_write ("iio-sim-adc/contiguous_only", "0");

  fail_unless (strstr (text, "contiguous") && strstr (text, "CMA heap")
      && strstr (text, "linux,cma"), "%s", text);
  g_print ("scattered blocks on a contiguous-only DMA engine: '%s'\n", text);
  g_free (text);
}

GST_END_TEST;

GST_START_TEST (test_block_too_large)
{
  gchar *text = start_error ("device=iio-sim-adc samples-per-block=2147483647");

  fail_unless (strstr (text, "samples-per-block"), "%s", text);
  g_free (text);
}

GST_END_TEST;

/* --- streams that are flushed, paused, restarted -------------------------- */

/*
 * Checks the data of a stream that may be flushed, paused or restarted:
 * every sample against the formula for its buffer's OFFSET; a jump in
 * OFFSET is counted, not judged.
 */
static void
on_handoff_data (GstElement * sink, GstBuffer * buf, GstPad * pad, Expect * e)
{
  if (GST_BUFFER_OFFSET (buf) != e->next_offset)
    e->discont_jumps++;
  e->next_offset = GST_BUFFER_OFFSET_END (buf);
  note_memory (e, buf);
  check_samples (e, buf);
  e->blocks++;
  g_atomic_int_inc (&e->seen);
}

/* The text of the first error on @pipeline's bus, if any. */
static gchar *
pending_error (GstElement * pipeline)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  gchar *text = msg ? error_text (msg) : g_strdup ("no error posted");

  if (msg)
    gst_message_unref (msg);
  gst_object_unref (bus);
  return text;
}

/* Sets @state and waits for it, bounded; fails with the bus's error. */
static void
set_state_checked (GstElement * pipeline, GstState state)
{
  GstStateChangeReturn ret = gst_element_set_state (pipeline, state);

  if (ret != GST_STATE_CHANGE_FAILURE)
    ret = gst_element_get_state (pipeline, NULL, NULL, 30 * GST_SECOND);
  if (ret == GST_STATE_CHANGE_FAILURE || ret == GST_STATE_CHANGE_ASYNC)
    fail ("going to %s %s: %s", gst_element_state_get_name (state),
        ret == GST_STATE_CHANGE_ASYNC ? "took over 30 s" : "failed",
        pending_error (pipeline));
}

/* The overrun messages a source posts, collected as they are posted. */
typedef struct
{
  GMutex lock;
  guint64 messages, lost;
  guint64 last_offset;
  gchar *bad;
} Overruns;

static GstBusSyncReply
on_overrun (GstBus * bus, GstMessage * msg, Overruns * o)
{
  const GstStructure *s = gst_message_get_structure (msg);
  guint64 lost = 0, offset = 0, when = GST_CLOCK_TIME_NONE;

  if (GST_MESSAGE_TYPE (msg) != GST_MESSAGE_ELEMENT
      || !gst_structure_has_name (s, "iiodmabufsrc-overrun"))
    return GST_BUS_PASS;
  g_mutex_lock (&o->lock);
  if (!gst_structure_get_uint64 (s, "lost-samples", &lost)
      || !gst_structure_get_uint64 (s, "offset", &offset)
      || !gst_structure_get_uint64 (s, "running-time", &when) || lost == 0
      || offset < o->last_offset || !GST_CLOCK_TIME_IS_VALID (when))
    o->bad = o->bad ? o->bad : gst_structure_to_string (s);
  o->messages++;
  o->lost += lost;
  o->last_offset = offset + lost;
  g_mutex_unlock (&o->lock);
  return GST_BUS_PASS;
}

static void
overruns_watch (Overruns * o, GstElement * pipeline)
{
  GstBus *bus = gst_element_get_bus (pipeline);

  memset (o, 0, sizeof *o);
  g_mutex_init (&o->lock);
  gst_bus_set_sync_handler (bus, (GstBusSyncHandler) on_overrun, o, NULL);
  gst_object_unref (bus);
}

/* The stats, the messages and the data agree: one overrun per DISCONT
 * after the first block, the lost samples of the messages add up to the
 * stats', and those to what the data lack, within @e's precision a gap. */
static void
overruns_check (Overruns * o, GstStructure * stats, Expect * e)
{
  guint64 lost = stat_u64 (stats, "lost-samples");
  guint64 error = lost > e->data_lost ? lost - e->data_lost :
      e->data_lost - lost;

  fail_unless (o->bad == NULL, "bad overrun message: %s", o->bad);
  fail_unless_equals_uint64 (stat_u64 (stats, "overruns"), o->messages);
  fail_unless_equals_uint64 (o->messages, e->disconts);
  fail_unless_equals_uint64 (o->lost, lost);
  fail_unless (error <= e->precision * e->data_gaps, "lost-samples %"
      G_GUINT64_FORMAT ", the data lack %" G_GUINT64_FORMAT, lost,
      e->data_lost);
  g_free (o->bad);
  g_mutex_clear (&o->lock);
}

/* Waits until *@count reaches @target: fails on an error, or after 30 s
 * rather than hang. */
static void
wait_count (GstElement * pipeline, gint * count, gint target)
{
  gint64 end = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg;

  while (g_atomic_int_get (count) < target) {
    msg = gst_bus_timed_pop_filtered (bus, 5 * GST_MSECOND, GST_MESSAGE_ERROR);
    if (msg)
      fail ("waiting for block %d: %s", target, error_text (msg));
    if (g_get_monotonic_time () > end)
      fail ("only %d of %d blocks within 30 s", g_atomic_int_get (count),
          target);
  }
  gst_object_unref (bus);
}

/* --- downstream keeps what it was given ----------------------------------- */

/* Sub-buffers kept after their parent buffer was dropped. */
typedef struct
{
  Expect *e;                    /* what the kept ones must still hold */
  GQueue subs;                  /* oldest first */
  guint keep;
  guint shared;                 /* sub-buffers sharing the block's memory */
} SubBuffers;

static void
drop_oldest_sub (SubBuffers * s)
{
  GstBuffer *sub = g_queue_pop_head (&s->subs);

  check_samples (s->e, sub);
  gst_buffer_unref (sub);
}

static void
on_handoff_keep_sub (GstElement * sink, GstBuffer * buf, GstPad * pad,
    SubBuffers * s)
{
  GstBuffer *sub = gst_buffer_copy_region (buf, GST_BUFFER_COPY_ALL, 0,
      gst_buffer_get_size (buf));
  GstMemory *mem = gst_buffer_peek_memory (buf, 0);
  GstMemory *sub_mem = gst_buffer_peek_memory (sub, 0);

  if (sub_mem == mem || sub_mem->parent == mem)
    s->shared++;
  fail_unless_equals_uint64 (GST_BUFFER_OFFSET (sub), GST_BUFFER_OFFSET (buf));
  g_queue_push_tail (&s->subs, sub);
  while (g_queue_get_length (&s->subs) > s->keep)
    drop_oldest_sub (s);
}

/* rtpL16pay: payloads share the block's memory and outlive its buffer. */
GST_START_TEST (test_subbuffers_outlive_buffer)
{
  Expect e, kept;
  SubBuffers s = { &kept, G_QUEUE_INIT, 3, 0 };
  GstElement *pipeline, *sink;
  GstStructure *stats;

  expect_init (&e, "voltage0,voltage1", 16, 0, 512);
  expect_init (&kept, "voltage0,voltage1", 16, 0, 512);
  pipeline = make_pipeline ("device=iio-sim-adc channels=voltage0,voltage1 "
      "samples-per-block=512 sampling-frequency=51200 num-blocks=4 "
      "num-buffers=300", &e);
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  g_signal_connect (sink, "handoff", G_CALLBACK (on_handoff_keep_sub), &s);
  gst_object_unref (sink);
  stats = run_to_eos (pipeline, 120 * GST_SECOND, NULL);
  while (!g_queue_is_empty (&s.subs))
    drop_oldest_sub (&s);

  fail_unless (e.bad == NULL, "%s", e.bad);
  fail_unless (kept.bad == NULL, "a kept sub-buffer changed: %s", kept.bad);
  fail_unless_equals_uint64 (e.blocks, 300);
  fail_unless_equals_int (s.shared, 300);
  fail_unless_equals_uint64 (kept.samples_checked, e.samples_checked);
  g_print ("sub-buffers: 300 kept 3 blocks past their buffer, exact; %"
      G_GUINT64_FORMAT " copies\n", stat_u64 (stats, "copies"));
  gst_structure_free (stats);
  gst_object_unref (pipeline);
  expect_clear (&e);
  expect_clear (&kept);
}

GST_END_TEST;

/* --- an application pulling from appsink ---------------------------------- */

static GstElement *
make_app_pipeline (const gchar * src_props, GstAppSink ** sink)
{
  gchar *desc = g_strdup_printf ("iiodmabufsrc name=src %s ! appsink "
      "name=sink max-buffers=2 drop=false sync=false", src_props);
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch (desc, &error);

  fail_unless (pipeline != NULL && error == NULL, "%s: %s", desc,
      error ? error->message : "");
  g_free (desc);
  *sink = GST_APP_SINK (gst_bin_get_by_name (GST_BIN (pipeline), "sink"));
  return pipeline;
}

/* Pulls a sample (bounded) and checks its every sample. */
static GstSample *
pull_checked (GstElement * pipeline, GstAppSink * sink, Expect * e)
{
  GstSample *sample = gst_app_sink_try_pull_sample (sink, 30 * GST_SECOND);

  if (!sample)
    fail ("no sample within 30 s: %s", pending_error (pipeline));
  check_samples (e, gst_sample_get_buffer (sample));
  e->blocks++;
  return sample;
}

/* An application keeps a buffer across a stop and a restart. */
GST_START_TEST (test_restart_while_app_holds_buffer)
{
  GstElement *pipeline;
  GstAppSink *sink;
  GstSample *sample, *held = NULL;
  GstBuffer *buf;
  GstMapInfo map;
  gpointer snapshot = NULL;
  gsize size = 0;
  Expect e;
  guint i;

  expect_init (&e, "voltage0,voltage1", 16, 0, 512);
  pipeline = make_app_pipeline ("device=iio-sim-adc "
      "channels=voltage0,voltage1 samples-per-block=512 "
      "sampling-frequency=51200 num-blocks=4", &sink);
  set_state_checked (pipeline, GST_STATE_PLAYING);
  for (i = 0; i < 5; i++) {
    sample = pull_checked (pipeline, sink, &e);
    buf = gst_sample_get_buffer (sample);
    if (!held && gst_is_dmabuf_memory (gst_buffer_peek_memory (buf, 0))) {
      held = sample;
      fail_unless (gst_buffer_map (buf, &map, GST_MAP_READ));
      snapshot = g_memdup2 (map.data, map.size);
      size = map.size;
      gst_buffer_unmap (buf, &map);
    } else {
      gst_sample_unref (sample);
    }
  }
  fail_unless (held != NULL, "none of the first 5 blocks was a DMABUF");
  fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);

  set_state_checked (pipeline, GST_STATE_PLAYING);
  for (i = 0; i < 100; i++)
    gst_sample_unref (pull_checked (pipeline, sink, &e));
  fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);

  buf = gst_sample_get_buffer (held);
  fail_unless (gst_buffer_map (buf, &map, GST_MAP_READ));
  fail_unless (map.size == size && memcmp (map.data, snapshot, size) == 0,
      "the held block changed after the stop");
  gst_buffer_unmap (buf, &map);
  check_samples (&e, buf);
  gst_sample_unref (held);

  fail_unless (e.bad == NULL, "%s", e.bad);
  fail_unless_equals_uint64 (e.blocks, 105);
  fail_unless_equals_string (sysfs_read ("iio-sim-adc/buffer0/enable"), "0");
  g_print ("restart with a held buffer: 100 blocks exact after, the held "
      "one unchanged\n");
  g_free (snapshot);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  expect_clear (&e);
}

GST_END_TEST;

/* The application's thread: pulls, checks and releases every sample,
 * keeping up to two a moment longer; those it keeps when no sample comes
 * are released while the pipeline stops. */
typedef struct
{
  GstAppSink *sink;
  Expect *e;
  gint stop;
  gint pulled;
} Puller;

static gpointer
pull_loop (gpointer data)
{
  Puller *p = data;
  GQueue kept = G_QUEUE_INIT;
  GstSample *sample;
  guint n = 0, keep;

  while (!g_atomic_int_get (&p->stop)) {
    sample = gst_app_sink_try_pull_sample (p->sink, 10 * GST_MSECOND);
    if (!sample) {
      g_queue_clear_full (&kept, (GDestroyNotify) gst_sample_unref);
      g_usleep (1000);
      continue;
    }
    check_samples (p->e, gst_sample_get_buffer (sample));
    g_atomic_int_inc (&p->pulled);
    g_queue_push_tail (&kept, sample);
    keep = n++ % 3;
    while (g_queue_get_length (&kept) > keep)
      gst_sample_unref (g_queue_pop_head (&kept));
  }
  g_queue_clear_full (&kept, (GDestroyNotify) gst_sample_unref);
  return NULL;
}

/* An application thread releases samples while the main one stops. */
GST_START_TEST (test_release_while_stopping)
{
  GstElement *pipeline;
  Puller p = { NULL };
  Watchdog w;
  GThread *thread;
  Expect e;
  guint i;

  expect_init (&e, "voltage0,voltage1", 16, 0, 256);
  pipeline = make_app_pipeline ("device=iio-sim-adc "
      "channels=voltage0,voltage1 samples-per-block=256 "
      "sampling-frequency=25600 num-blocks=4", &p.sink);
  p.e = &e;
  thread = g_thread_new ("application", pull_loop, &p);
  watchdog_start (&w, "PLAYING -> NULL while releasing");
  for (i = 0; i < 100; i++) {
    /* 1 to 4 samples: the stop comes at each point of keeping */
    gint target = g_atomic_int_get (&p.pulled) + 1 + i % 4;

    watchdog_tick (&w, i);
    set_state_checked (pipeline, GST_STATE_PLAYING);
    wait_count (pipeline, &p.pulled, target);
    fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_NULL),
        GST_STATE_CHANGE_SUCCESS);
  }
  watchdog_stop (&w);
  g_atomic_int_set (&p.stop, 1);
  g_thread_join (thread);

  fail_unless (e.bad == NULL, "%s", e.bad);
  fail_unless (p.pulled >= 250);
  fail_unless_equals_string (sysfs_read ("iio-sim-adc/buffer0/enable"), "0");
  g_print ("release while stopping: 100 cycles, %d samples exact\n", p.pulled);
  gst_object_unref (p.sink);
  gst_object_unref (pipeline);
  expect_clear (&e);
}

GST_END_TEST;

/* --- flushing, pausing, every state change -------------------------------- */

/* The latest block, which the application keeps until it lets it go. */
typedef struct
{
  Expect *e;
  GMutex lock;
  GstBuffer *last;
} LastBlock;

static void
on_handoff_keep_last (GstElement * sink, GstBuffer * buf, GstPad * pad,
    LastBlock * l)
{
  GstBuffer *old;

  on_handoff_data (sink, buf, pad, l->e);
  g_mutex_lock (&l->lock);
  old = l->last;
  l->last = gst_buffer_ref (buf);
  g_mutex_unlock (&l->lock);
  if (old)
    gst_buffer_unref (old);
}

static GstBuffer *
take_last (LastBlock * l)
{
  GstBuffer *last;

  g_mutex_lock (&l->lock);
  last = l->last;
  l->last = NULL;
  g_mutex_unlock (&l->lock);
  return last;
}

/* An application flushes a capture (as a seek does), releasing a block. */
GST_START_TEST (test_flush_mid_capture)
{
  GstElement *pipeline, *src;
  GstStructure *stats;
  LastBlock l = { NULL };
  GstBuffer *last;
  Expect e;
  gint target;
  guint i;

  expect_init (&e, "voltage0,voltage1", 16, 0, 512);
  l.e = &e;
  g_mutex_init (&l.lock);
  pipeline = make_pipeline_with ("device=iio-sim-adc "
      "channels=voltage0,voltage1 samples-per-block=512 "
      "sampling-frequency=51200 num-blocks=4",
      G_CALLBACK (on_handoff_keep_last), &l);
  src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  set_state_checked (pipeline, GST_STATE_PLAYING);
  wait_count (pipeline, &e.seen, 10);
  for (i = 0; i < 3; i++) {
    fail_unless (gst_element_send_event (src, gst_event_new_flush_start ()));
    /* basesrc gets back the block in flight before the source is told to
     * flush; a block released from another thread lands inside the flush */
    last = take_last (&l);
    fail_unless (last != NULL);
    gst_buffer_unref (last);
    fail_unless (gst_element_send_event (src, gst_event_new_flush_stop (TRUE)));
    wait_count (pipeline, &e.seen, g_atomic_int_get (&e.seen) + 5);
  }
  target = g_atomic_int_get (&e.seen) + 300;
  wait_count (pipeline, &e.seen, target);
  stats = get_stats (pipeline);
  gst_clear_buffer (&l.last);
  gst_element_set_state (pipeline, GST_STATE_NULL);

  fail_unless (e.bad == NULL, "%s", e.bad);
  fail_unless_equals_uint64 (stat_u64 (stats, "copies"), 0);
  fail_unless_equals_uint64 (e.non_dmabuf, 0);
  g_print ("3 flushes: %" G_GUINT64_FORMAT " blocks exact, %" G_GUINT64_FORMAT
      " jumps in OFFSET, 0 copies\n", e.blocks, e.discont_jumps);
  gst_structure_free (stats);
  gst_object_unref (src);
  gst_object_unref (pipeline);
  g_mutex_clear (&l.lock);
  expect_clear (&e);
}

GST_END_TEST;

/* Pausing a live source: the converter runs on, fills the queued blocks
 * and then drops samples until the pipeline plays again. Those blocks come
 * first, then one gap with DISCONT, its samples counted as lost; OFFSET
 * stays the converter's own index throughout (sample clock in real time). */
GST_START_TEST (test_pause_resume)
{
  GstElement *pipeline;
  GstStructure *stats;
  GstMessage *msg;
  GstBus *bus;
  Overruns o;
  Expect e;
  guint i;

  sysfs_write ("iio-sim-adc/lossless", "0");
  expect_init (&e, "voltage0,voltage1", 16, 0, 256);
  e.offsets_true = TRUE;
  e.precision = 2 * 256;        /* fence jitter under emulation */
  pipeline = make_pipeline_with ("device=iio-sim-adc "
      "channels=voltage0,voltage1 samples-per-block=256 "
      "sampling-frequency=25600 num-blocks=4 num-buffers=400",
      G_CALLBACK (on_handoff), &e);
  overruns_watch (&o, pipeline);
  bus = gst_element_get_bus (pipeline);
  set_state_checked (pipeline, GST_STATE_PLAYING);
  for (i = 0; i < 5; i++) {
    wait_count (pipeline, &e.seen, 40 * (i + 1));
    set_state_checked (pipeline, GST_STATE_PAUSED);
    g_usleep (300 * 1000);
    set_state_checked (pipeline, GST_STATE_PLAYING);
  }
  msg = gst_bus_timed_pop_filtered (bus, 120 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "no EOS within 120 s, %d blocks", e.seen);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    fail ("%s", error_text (msg));
  gst_message_unref (msg);
  stats = get_stats (pipeline);
  gst_element_set_state (pipeline, GST_STATE_NULL);

  fail_unless (e.bad == NULL, "%s", e.bad);
  fail_unless_equals_uint64 (e.blocks, 400);
  /* each pause is a gap: 300 ms, less the 40 ms four blocks hold */
  fail_unless (e.data_gaps >= 5, "%" G_GUINT64_FORMAT " gaps in the data",
      e.data_gaps);
  fail_unless (e.data_lost >= 5 * (300 - 40) * 25600 / 1000 / 2);
  overruns_check (&o, stats, &e);
  g_print ("5 pauses: 400 blocks exact, %" G_GUINT64_FORMAT " gaps of %"
      G_GUINT64_FORMAT " samples in the data, %" G_GUINT64_FORMAT
      " DISCONT, lost-samples %" G_GUINT64_FORMAT ", OFFSET within %"
      G_GUINT64_FORMAT "\n", e.data_gaps, e.data_lost, e.disconts,
      stat_u64 (stats, "lost-samples"), e.offset_err);
  gst_structure_free (stats);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  expect_clear (&e);
}

GST_END_TEST;

/* A capture whose caps change: each part (a run of buffers in one caps)
 * checked whole against the formula at its own channel count. */
typedef struct
{
  Expect e;                     /* the part being checked */
  guint parts;
  gint rate, channels;          /* of the part */
  guint64 blocks, samples;      /* of the parts before */
  guint64 first_k[4], part_blocks[4];
  gboolean rw;
  GstClockTime last_end, step_back;     /* the largest step back */
  gchar *bad;
  gint seen;
} Parts;

/* Closes the part being checked, keeping its figures. */
static void
end_part (Parts * p)
{
  if (!p->parts)
    return;
  if (!p->bad && p->e.bad)
    p->bad = g_strdup_printf ("part %u: %s", p->parts, p->e.bad);
  if (!p->bad && p->e.data_gaps)
    p->bad = g_strdup_printf ("part %u: %" G_GUINT64_FORMAT " samples "
        "missing", p->parts, p->e.data_lost);
  p->part_blocks[p->parts - 1] = p->e.blocks;
  p->blocks += p->e.blocks;
  p->samples += p->e.samples_checked;
  expect_clear (&p->e);
}

/* A block in new caps: a new part, from the converter's restart, the
 * converter at the caps' rate. */
static void
begin_part (Parts * p, GstBuffer * buf, gint rate, gint channels)
{
  static const gchar *firsts[] = { NULL, "voltage0", "voltage0,voltage1",
    "voltage0,voltage1,voltage2", "voltage0,voltage1,voltage2,voltage3"
  };
  gchar *adc_rate = sysfs_read ("iio-sim-adc/sampling_frequency");
  GstClockTime pts = GST_BUFFER_PTS (buf);

  end_part (p);
  fail_unless (channels >= 1 && channels <= 4 && p->parts < 4);
  if (p->parts && pts < p->last_end)
    p->step_back = MAX (p->step_back, p->last_end - pts);
  if (!p->bad && atoi (adc_rate) != rate)
    p->bad = g_strdup_printf ("part %u at %d Hz, the ADC at %s", p->parts + 1,
        rate, adc_rate);
  if (!p->bad && GST_BUFFER_DURATION (buf) != gst_util_uint64_scale_int (256,
          GST_SECOND, rate))
    p->bad = g_strdup_printf ("part %u: blocks of %" GST_TIME_FORMAT,
        p->parts + 1, GST_TIME_ARGS (GST_BUFFER_DURATION (buf)));
  g_free (adc_rate);
  expect_init (&p->e, firsts[channels], 16, 0, 256);
  p->rate = rate;
  p->channels = channels;
  p->parts++;
}

static void
on_handoff_parts (GstElement * sink, GstBuffer * buf, GstPad * pad, Parts * p)
{
  GstCaps *caps = gst_pad_get_current_caps (pad);
  const GstStructure *s = gst_caps_get_structure (caps, 0);
  gint rate = 0, channels = 0;

  fail_unless (gst_structure_get_int (s, "rate", &rate)
      && gst_structure_get_int (s, "channels", &channels));
  gst_caps_unref (caps);
  if (!p->parts || rate != p->rate || channels != p->channels)
    begin_part (p, buf, rate, channels);
  on_handoff (sink, buf, pad, &p->e);
  /* where the converter started again: at 0, or (read()) past the
   * samples dropped after an enable, which OFFSET counts */
  if (p->e.blocks == 1) {
    p->first_k[p->parts - 1] = p->e.data_next - 256;
    if (!p->bad && p->first_k[p->parts - 1] != (p->rw ?
            GST_BUFFER_OFFSET (buf) : 0))
      p->bad = g_strdup_printf ("part %u starts at sample %" G_GUINT64_FORMAT
          ", OFFSET %" G_GUINT64_FORMAT, p->parts,
          p->first_k[p->parts - 1], GST_BUFFER_OFFSET (buf));
  }
  p->last_end = GST_BUFFER_PTS (buf) + GST_BUFFER_DURATION (buf);
  g_atomic_int_inc (&p->seen);
}

/* Downstream asks for other caps while the source captures (a capsfilter
 * after it changed: 25.6 kHz stereo, then 12.8 kHz mono, then 51.2 kHz on
 * three channels), in DMABUF and read() mode: the converter stops, takes
 * the new rate and channels and starts again; each part is DISCONT at its
 * start, the counter from the converter's restart (lossless), every sample
 * checked, stamped a block of the new rate long and from where the last
 * part ended, the ADC at that rate. (Before, the first change was an
 * error.) */
GST_START_TEST (test_caps_change_mid_capture)
{
  static const gchar *parts[] = {
    "audio/x-raw,rate=25600,channels=2", "audio/x-raw,rate=12800,channels=1",
    "audio/x-raw,rate=51200,channels=3"
  };
  static const gchar *modes[] = { "dmabuf", "rw" };
  guint m, i;

  for (m = 0; m < G_N_ELEMENTS (modes); m++) {
    gchar *props = g_strdup_printf ("device=iio-sim-adc samples-per-block=256 "
        "num-blocks=4 num-buffers=120 io-mode=%s ! capsfilter name=cf "
        "caps=%s", modes[m], parts[0]);
    GstElement *pipeline, *cf;
    GstStructure *stats;
    GstMessage *msg;
    Parts p;

    memset (&p, 0, sizeof p);
    p.rw = m == 1;
    pipeline = make_pipeline_with (props, G_CALLBACK (on_handoff_parts), &p);
    cf = gst_bin_get_by_name (GST_BIN (pipeline), "cf");
    set_state_checked (pipeline, GST_STATE_PLAYING);
    for (i = 1; i < G_N_ELEMENTS (parts); i++) {
      GstCaps *caps = gst_caps_from_string (parts[i]);

      wait_count (pipeline, &p.seen, 40 * i);
      g_object_set (cf, "caps", caps, NULL);
      gst_caps_unref (caps);
    }
    msg = run (pipeline, 120 * GST_SECOND, NULL);
    fail_unless (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS, "%s: %s",
        modes[m], error_text (msg));
    gst_message_unref (msg);
    stats = get_stats (pipeline);
    gst_element_set_state (pipeline, GST_STATE_NULL);
    end_part (&p);

    fail_unless (p.bad == NULL, "%s: %s", modes[m], p.bad);
    fail_unless_equals_int (p.parts, 3);
    fail_unless_equals_uint64 (p.blocks, 120);
    /* not before the last part ended (but for rounding; before, a block
     * earlier: the clock stood still) */
    fail_unless (p.step_back < GST_USECOND, "%s: a part began %"
        GST_TIME_FORMAT " before the last ended", modes[m],
        GST_TIME_ARGS (p.step_back));
    fail_unless_equals_string (gst_structure_get_string (stats, "io-mode"),
        modes[m]);
    g_print ("caps change mid-capture (%s): %" G_GUINT64_FORMAT ", %"
        G_GUINT64_FORMAT " and %" G_GUINT64_FORMAT " blocks at 25600 Hz x2, "
        "12800 Hz x1, 51200 Hz x3, each DISCONT from sample %" G_GUINT64_FORMAT
        ", %" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT "; %" G_GUINT64_FORMAT
        " samples exact; a part began at most %" GST_TIME_FORMAT " before the "
        "end of the last\n",
        modes[m], p.part_blocks[0], p.part_blocks[1], p.part_blocks[2],
        p.first_k[0], p.first_k[1], p.first_k[2], p.samples,
        GST_TIME_ARGS (p.step_back));
    gst_structure_free (stats);
    gst_object_unref (cf);
    gst_object_unref (pipeline);
    g_free (p.bad);
    g_free (props);
  }
}

GST_END_TEST;

/* An application drives the pipeline through any state in any order. */
GST_START_TEST (test_every_state_order)
{
  static const GstState states[] = { GST_STATE_NULL, GST_STATE_READY,
    GST_STATE_PAUSED, GST_STATE_PLAYING
  };
  gboolean done[4][4] = { {FALSE} };
  GRand *rand = g_rand_new_with_seed (20250611);
  guint fds, i, from = 0, to, pairs = 0, playing = 0;
  guint64 rss_before, rss_after;
  GstElement *pipeline;
  Expect e;

  expect_init (&e, "voltage0,voltage2", 16, 0, 256);
  pipeline = make_pipeline_with ("device=iio-sim-adc "
      "channels=voltage0,voltage2 samples-per-block=256 "
      "sampling-frequency=25600 num-blocks=4",
      G_CALLBACK (on_handoff_data), &e);
  /* one cycle first: GStreamer's own lazily made fds and memory */
  set_state_checked (pipeline, GST_STATE_PLAYING);
  wait_count (pipeline, &e.seen, 1);
  set_state_checked (pipeline, GST_STATE_NULL);
  fds = count_fds ();
  rss_before = proc_kib ("/proc/self/status", "VmRSS:");

  for (i = 0; i < 1000; i++) {
    gint target = g_atomic_int_get (&e.seen) + 1;

    to = (from + 1 + g_rand_int_range (rand, 0, 3)) % 4;
    set_state_checked (pipeline, states[to]);
    if (states[to] == GST_STATE_PLAYING) {
      wait_count (pipeline, &e.seen, target);
      playing++;
    }
    pairs += !done[from][to];
    done[from][to] = TRUE;
    from = to;
  }
  set_state_checked (pipeline, GST_STATE_NULL);
  rss_after = proc_kib ("/proc/self/status", "VmRSS:");

  fail_unless (e.bad == NULL, "%s", e.bad);
  fail_unless_equals_int (pairs, 12);
  fail_unless_equals_int (count_fds (), fds);
  fail_unless (rss_after - MIN (rss_after, rss_before) < RSS_BOUND_KIB,
      "RSS grew from %"
      G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT " KiB", rss_before, rss_after);
  fail_unless_equals_string (sysfs_read ("iio-sim-adc/buffer0/enable"), "0");
  g_print ("1000 state changes, all 12 orders, %u times PLAYING: %"
      G_GUINT64_FORMAT " blocks exact, %u fds, RSS %" G_GUINT64_FORMAT
      " -> %" G_GUINT64_FORMAT " KiB\n", playing, e.blocks, fds, rss_before,
      rss_after);
  g_rand_free (rand);
  gst_object_unref (pipeline);
  expect_clear (&e);
}

GST_END_TEST;

/* A monitoring thread reads the stats while the pipeline starts and stops. */
GST_START_TEST (test_stats_from_another_thread)
{
  StatsReader r = { NULL, {"blocks", "bytes", "copies", NULL}
  };
  GstElement *pipeline;
  GThread *thread;
  Watchdog w;
  Expect e;
  guint i;

  expect_init (&e, "voltage1", 16, 0, 256);
  pipeline = make_pipeline_with ("device=iio-sim-adc channels=voltage1 "
      "samples-per-block=256 sampling-frequency=25600 num-blocks=4",
      G_CALLBACK (on_handoff_data), &e);
  r.element = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  thread = g_thread_new ("monitor", read_stats_loop, &r);
  watchdog_start (&w, "PLAYING <-> NULL while reading stats");
  for (i = 0; i < 200; i++) {
    gint target = g_atomic_int_get (&e.seen) + 1;

    watchdog_tick (&w, i);
    set_state_checked (pipeline, GST_STATE_PLAYING);
    wait_count (pipeline, &e.seen, target);
    fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_NULL),
        GST_STATE_CHANGE_SUCCESS);
  }
  watchdog_stop (&w);
  g_atomic_int_set (&r.stop, 1);
  g_thread_join (thread);

  fail_unless (e.bad == NULL, "%s", e.bad);
  fail_unless (r.reads > 0);
  g_print ("stats read %u times during 200 cycles; %" G_GUINT64_FORMAT
      " blocks exact\n", r.reads, e.blocks);
  gst_object_unref (r.element);
  gst_object_unref (pipeline);
  expect_clear (&e);
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

/* Counts blocks; checks them too once @e has a block size. */
static void
on_handoff_once_expected (GstElement * sink, GstBuffer * buf, GstPad * pad,
    Expect * e)
{
  if (e->spb)
    on_handoff (sink, buf, pad, e);
  else
    g_atomic_int_inc (&e->seen);
}

/* One cycle NULL -> READY -> PLAYING -> NULL, the device and channels
 * changed in NULL and the channels again in READY (the device opens anew
 * at start), one block captured. */
static void
cycle_with_other_settings (GstElement * pipeline, GstElement * src,
    Expect * e, guint i)
{
  static const gchar *devices[] = { "iio-sim-adc", "iio-sim-adc12" };
  static const gchar *channels[] = { "voltage0,voltage2", "voltage1", NULL };
  gint target = g_atomic_int_get (&e->seen) + 1;

  g_object_set (src, "device", devices[i % 2], "channels", channels[i % 3],
      NULL);
  set_state_checked (pipeline, GST_STATE_READY);
  g_object_set (src, "channels", channels[(i + 1) % 3], NULL);
  set_state_checked (pipeline, GST_STATE_PAUSED);
  set_state_checked (pipeline, GST_STATE_PLAYING);
  wait_count (pipeline, &e->seen, target);
  if (i % 2)
    set_state_checked (pipeline, GST_STATE_READY);
  set_state_checked (pipeline, GST_STATE_NULL);
}

/* Caps queries from another thread while the source opens, opens anew
 * with other settings and closes, again and again: they never read a
 * device being closed or replaced, nor channels being selected (under
 * AddressSanitizer too); the capture after is exact. */
GST_START_TEST (test_caps_queries_during_state_changes)
{
  GstElement *pipeline, *src;
  CapsAsker a = { NULL, };
  GstStructure *stats;
  GThread *thread;
  Watchdog w;
  Expect e;
  guint i;

  memset (&e, 0, sizeof e);
  pipeline = make_pipeline_with ("device=iio-sim-adc samples-per-block=256 "
      "sampling-frequency=25600 num-blocks=4",
      G_CALLBACK (on_handoff_once_expected), &e);
  src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  a.pad = gst_element_get_static_pad (src, "src");
  a.probe = gst_caps_from_string ("audio/x-raw,format=S16LE,"
      "layout=interleaved,channels=2,rate=25600,channel-mask=(bitmask)0");
  thread = g_thread_new ("caps", ask_caps_loop, &a);
  watchdog_start (&w, "state changes while caps are asked for");
  for (i = 0; i < 150; i++) {
    watchdog_tick (&w, i);
    cycle_with_other_settings (pipeline, src, &e, i);
  }

  /* then, still asked, a capture whose every sample is checked */
  watchdog_tick (&w, i);
  expect_init (&e, "voltage0,voltage2", 16, 0, 256);
  g_object_set (src, "device", "iio-sim-adc", "channels", "voltage0,voltage2",
      "num-buffers", 100, NULL);
  stats = run_to_eos (pipeline, 120 * GST_SECOND, NULL);
  watchdog_stop (&w);
  g_atomic_int_set (&a.stop, 1);
  g_thread_join (thread);

  fail_unless (e.bad == NULL, "%s", e.bad);
  fail_unless_equals_uint64 (e.blocks, 100);
  fail_unless_equals_uint64 (e.data_next, 100 * 256);
  fail_unless (a.queries > 0 && a.accepted > 0);
  g_print ("150 cycles of other devices and channels with %u caps queries "
      "(%u accepted) meanwhile; then %" G_GUINT64_FORMAT " samples exact\n",
      a.queries, a.accepted, e.samples_checked);
  gst_structure_free (stats);
  gst_caps_unref (a.probe);
  gst_object_unref (a.pad);
  gst_object_unref (src);
  gst_object_unref (pipeline);
  expect_clear (&e);
}

GST_END_TEST;

/* --- settings ------------------------------------------------------------- */

/* An application opens the device, then picks channels and block size. */
GST_START_TEST (test_settings_changed_in_ready)
{
  GstElement *pipeline, *src;
  GstStructure *stats;
  Expect e;

  expect_init (&e, "voltage1,voltage3", 16, 0, 512);
  pipeline = make_pipeline ("device=iio-sim-adc channels=voltage0 "
      "sampling-frequency=51200 num-buffers=50", &e);
  set_state_checked (pipeline, GST_STATE_READY);
  src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  g_object_set (src, "channels", "voltage1,voltage3", "samples-per-block",
      512, NULL);
  gst_object_unref (src);
  stats = run_to_eos (pipeline, 120 * GST_SECOND, NULL);

  fail_unless (e.bad == NULL, "%s", e.bad);
  fail_unless_equals_uint64 (e.blocks, 50);
  fail_unless_equals_uint64 (e.data_next, 50 * 512);
  fail_unless_equals_uint64 (stat_u64 (stats, "bytes"), 50 * 512 * 4);
  g_print ("set in READY: voltage1,voltage3 in blocks of 512, %"
      G_GUINT64_FORMAT " samples exact\n", e.samples_checked);
  gst_structure_free (stats);
  gst_object_unref (pipeline);
  expect_clear (&e);
}

GST_END_TEST;

/*
 * Watches MemAvailable while a stream is refused: fails at once when over
 * 256 MiB went, before the OOM killer ends the test without a word.
 */
typedef struct
{
  gint stop;
  guint64 before;               /* KiB */
  guint64 least;
} MemWatch;

static guint64
mem_available_kib (void)
{
  return proc_kib ("/proc/meminfo", "MemAvailable:");
}

static gpointer
watch_memory (gpointer data)
{
  MemWatch *m = data;

  while (!g_atomic_int_get (&m->stop)) {
    m->least = MIN (m->least, mem_available_kib ());
    if (m->least + 256 * 1024 < m->before)
      fail ("%" G_GUINT64_FORMAT " MiB allocated for a stream that must be "
          "refused", (m->before - m->least) / 1024);
    g_usleep (2000);
  }
  return NULL;
}

/* A configuration whose kernel buffer length overflows is refused. */
GST_START_TEST (test_size_overflow_refused)
{
  MemWatch m = { 0, mem_available_kib (), G_MAXUINT64 };
  GThread *thread = g_thread_new ("meminfo", watch_memory, &m);
  gchar *text;

  /* a block of 2^29 scans is 1 GiB; 8 of them are 2^32 scans */
  text = start_error ("device=iio-sim-adc channels=voltage0 "
      "samples-per-block=536870912 num-blocks=8");
  g_atomic_int_set (&m.stop, 1);
  g_thread_join (thread);

  fail_unless (strstr (text, "samples-per-block")
      || strstr (text, "num-blocks"), "%s", text);
  g_print ("overflow refused: '%s'; at most %" G_GUINT64_FORMAT " MiB "
      "taken\n", text, (m.before - MIN (m.before, m.least)) / 1024);
  g_free (text);
}

GST_END_TEST;

#define SIM_DRIVER "/sys/bus/platform/drivers/iio-sim/"
#define ADC_PLATFORM "iio-sim.0"        /* tests/vm/iio-sim: SIM_ADC */

static void
write_file (const gchar * path, const gchar * value)
{
  FILE *f = fopen (path, "w");

  fail_unless (f != NULL, "open %s: %s", path, g_strerror (errno));
  fputs (value, f);
  fail_unless (fclose (f) == 0, "write %s to %s: %s", value, path,
      g_strerror (errno));
}

/*
 * Checked fixture: lossless inputs, and the ADCs' buffers disabled, since
 * a test that crashed or was killed (a deadlock's watchdog, the OOM killer)
 * leaves its buffer enabled and would fail the next test too; the ADC
 * bound again if a removal test stopped before it did.
 */
static void
setup_inputs (void)
{
  /* a removal test that failed before binding it again */
  if (!g_file_test (SIM_DRIVER ADC_PLATFORM, G_FILE_TEST_EXISTS))
    write_file (SIM_DRIVER "bind", ADC_PLATFORM);
  restore_nodes ();
  sysfs_lossless_inputs ();
  sysfs_write ("iio-sim-adc/contiguous_only", "0");
  sysfs_write ("iio-sim-adc/buffer0/enable", "0");
  sysfs_write ("iio-sim-adc12/buffer0/enable", "0");
}

/* A fast converter: a block can complete while the thread that queued it
 * is preempted before it reads the fence. Such a block is data, not a
 * failed submit (the fence is a signalled stub either way). */
GST_START_TEST (test_fast_converter_no_false_failures)
{
  Expect e;
  GstElement *pipeline;
  GstStructure *stats;
  guint warnings = 0;

  expect_init (&e, "voltage0", 16, 0, 64);
  pipeline = make_pipeline ("device=iio-sim-adc channels=voltage0 "
      "samples-per-block=64 sampling-frequency=5120000 num-blocks=4 "
      "num-buffers=3000", &e);
  stats = run_to_eos (pipeline, 120 * GST_SECOND, &warnings);

  fail_unless (e.bad == NULL, "%s", e.bad);
  fail_unless_equals_uint64 (stat_u64 (stats, "failed-blocks"), 0);
  fail_unless_equals_int (warnings, 0);
  fail_unless_equals_uint64 (e.blocks, 3000);
  fail_unless_equals_uint64 (e.data_next, 3000 * 64);
  g_print ("5.12 MHz, 64-scan blocks: 3000 blocks exact, none taken for a "
      "failed submit\n");
  gst_structure_free (stats);
  gst_object_unref (pipeline);
  expect_clear (&e);
}

GST_END_TEST;

/* What test_failed_submit_dropped saw: the samples run on without a gap
 * (the converter never got the failed blocks), and so does OFFSET. */
typedef struct
{
  guint64 blocks, next_sample, offset_jump, jumps, disconts;
  gint armed;
  gchar *bad;
} SubmitFault;

static void
on_handoff_submit_fault (GstElement * sink, GstBuffer * buf, GstPad * pad,
    SubmitFault * f)
{
  guint64 first = 0, expected_offset = f->blocks * 1024 + f->offset_jump;
  GstMapInfo map;
  guint i;

  fail_unless (gst_buffer_map (buf, &map, GST_MAP_READ));
  for (i = 0; i < 1024 && !f->bad; i++) {
    guint16 got = GUINT16_FROM_LE (((const guint16 *) map.data)[i]);

    if (i == 0)
      first = got;
    if (got != ((f->next_sample + i) & 0xffff))
      f->bad = g_strdup_printf ("block %" G_GUINT64_FORMAT " sample %u: "
          "0x%04x, want 0x%04x (stale or lost data)", f->blocks, i, got,
          (guint) ((f->next_sample + i) & 0xffff));
  }
  gst_buffer_unmap (buf, &map);
  f->next_sample = first + 1024;
  if (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DISCONT) && f->blocks)
    f->disconts++;
  if (GST_BUFFER_OFFSET (buf) != expected_offset) {
    f->jumps++;
    f->offset_jump += GST_BUFFER_OFFSET (buf) - expected_offset;
  }
  if (++f->blocks == 20)
    sysfs_write ("iio-sim-adc/fault_submit_blocks", "2");
}

/* iiodmabufsrc with @props into a fakesink that hands each buffer to
 * @handoff with @data. */
static GstElement *
src_handing_off (const gchar * props, GCallback handoff, gpointer data)
{
  gchar *desc = g_strdup_printf ("iiodmabufsrc name=src device=iio-sim-adc "
      "%s ! fakesink name=sink signal-handoffs=true sync=false", props);
  GstElement *pipeline = gst_parse_launch (desc, NULL);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");

  g_signal_connect (sink, "handoff", handoff, data);
  gst_object_unref (sink);
  g_free (desc);
  return pipeline;
}

/* A submit that fails inside the kernel (a driver's DMA prep error): the
 * block is dropped with a warning, never passed on stale, and its DMABUF
 * is recovered (the kernel keeps it busy until re-attached). It took none
 * of the converter's samples: OFFSET and DISCONT move only for what the
 * fences show as overruns (the lossless simulator waits where hardware
 * would have run dry). Blocks of 50 ms: a failed submit passes for a
 * block done only if the streaming thread stalls that long between its
 * enqueue and its fence's export (see test_failed_submit_found_late). */
GST_START_TEST (test_failed_submit_dropped)
{
  SubmitFault f = { 0, };
  GstElement *pipeline = src_handing_off ("channels=voltage0 "
      "samples-per-block=1024 sampling-frequency=20480 num-blocks=4 "
      "num-buffers=40", G_CALLBACK (on_handoff_submit_fault), &f);
  GstStructure *stats;
  guint warnings = 0;

  stats = run_to_eos (pipeline, 120 * GST_SECOND, &warnings);

  fail_unless (f.bad == NULL, "%s", f.bad);
  fail_unless_equals_uint64 (f.blocks, 40);
  fail_unless_equals_uint64 (stat_u64 (stats, "failed-blocks"), 2);
  fail_unless (warnings >= 1 && warnings <= 2, "%u warnings", warnings);
  fail_unless_equals_uint64 (f.offset_jump, stat_u64 (stats, "lost-samples"));
  fail_unless_equals_uint64 (f.disconts, stat_u64 (stats, "overruns"));
  g_print ("failed submits: 2 blocks dropped with a warning, 40 blocks of "
      "continuous samples, none stale; OFFSET moved only for %"
      G_GUINT64_FORMAT " overrun(s)\n", stat_u64 (stats, "overruns"));
  gst_structure_free (stats);
  gst_object_unref (pipeline);
  g_free (f.bad);
}

GST_END_TEST;

/* What test_failed_submit_found_late saw: blocks of consecutive samples,
 * each going on from the one before unless stale (it repeats an older
 * block's samples); after block arm_at (0: none) one submit fails. */
typedef struct
{
  guint64 blocks, stale, next_sample;
  guint64 arm_at;               /* the block after which a submit fails */
  gchar *bad;
} LateSubmit;

static void
on_handoff_late_submit (GstElement * sink, GstBuffer * buf, GstPad * pad,
    LateSubmit * f)
{
  GstMapInfo map;
  guint16 first;
  gsize i, n;

  fail_unless (gst_buffer_map (buf, &map, GST_MAP_READ));
  n = map.size / 2;
  first = GUINT16_FROM_LE (((const guint16 *) map.data)[0]);
  for (i = 1; i < n && !f->bad; i++)
    if (GUINT16_FROM_LE (((const guint16 *) map.data)[i]) !=
        ((first + i) & 0xffff))
      f->bad = g_strdup_printf ("block %" G_GUINT64_FORMAT " sample %"
          G_GSIZE_FORMAT " does not follow the one before", f->blocks, i);
  gst_buffer_unmap (buf, &map);
  if (f->blocks && first != (f->next_sample & 0xffff))
    f->stale++;
  else
    f->next_sample = first + n;
  if (++f->blocks != f->arm_at)
    return;
  /* the next submit fails, and the converter is idle by then: no block
   * queued before it is pending at its fence's export */
  sysfs_write ("iio-sim-adc/fault_submit_blocks", "1");
  g_usleep (50 * 1000);
}

/* Blocks of 160 ns (16 samples at 100 MHz), shorter than an enqueue
 * takes, the converter idle when one fails to submit: its fence, signalled
 * at its export, passes for a block that ended before that, and the block
 * goes downstream stale. The kernel keeps its DMABUF busy: the source
 * finds the failure at the next enqueue, attaches the DMABUF again (every
 * block stays in use) and counts and tells the stale block. */
GST_START_TEST (test_failed_submit_found_late)
{
  LateSubmit f = {.arm_at = 20 };
  GstElement *pipeline = src_handing_off ("channels=voltage0 "
      "samples-per-block=16 sampling-frequency=100000000 num-blocks=4 "
      "num-buffers=60", G_CALLBACK (on_handoff_late_submit), &f);
  GstStructure *stats;
  guint warnings = 0;

  stats = run_to_eos (pipeline, 120 * GST_SECOND, &warnings);
  sysfs_write ("iio-sim-adc/fault_submit_blocks", "0");

  fail_unless (f.bad == NULL, "%s", f.bad);
  fail_unless_equals_uint64 (f.blocks, 60);
  fail_unless_equals_uint64 (f.stale, 1);
  fail_unless_equals_uint64 (stat_u64 (stats, "failed-blocks"), 1);
  fail_unless (warnings >= 1, "no warning posted");
  g_print ("a failed submit taken for a transfer: its stale block counted "
      "and told (%u warning(s)), the other 59 blocks continuous\n",
      warnings);
  gst_structure_free (stats);
  gst_object_unref (pipeline);
  g_free (f.bad);
}

GST_END_TEST;

/* A DMA engine that refuses every transfer, with blocks of 160 ns: each
 * failed submit passes for a block done (see above) and is found only at
 * its DMABUF's next enqueue. Those count as failures in a row: the source
 * stops with an error, not passing stale blocks for ever. */
GST_START_TEST (test_every_submit_failing_found_late)
{
  LateSubmit f = { 0, };
  GstElement *pipeline = src_handing_off ("channels=voltage0 "
      "samples-per-block=16 sampling-frequency=100000000 num-blocks=4 "
      "num-buffers=1000", G_CALLBACK (on_handoff_late_submit), &f);
  GstMessage *msg;
  gchar *text;

  sysfs_write ("iio-sim-adc/fault_submit_blocks", "100000");
  msg = run (pipeline, 120 * GST_SECOND, NULL);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  sysfs_write ("iio-sim-adc/fault_submit_blocks", "0");

  text = error_text (msg);
  fail_unless (strstr (text, "16 blocks in a row failed") != NULL, "%s", text);
  fail_unless (f.blocks < 40, "%" G_GUINT64_FORMAT " blocks passed on",
      f.blocks);
  g_print ("every submit failing: '%s' after %" G_GUINT64_FORMAT
      " stale blocks\n", text, f.blocks);
  g_free (text);
  gst_message_unref (msg);
  gst_object_unref (pipeline);
  g_free (f.bad);
}

GST_END_TEST;

/* The application sets a wrong device in READY, the start fails; it tries
 * again (same error, no crash), then fixes the device and captures. */
GST_START_TEST (test_failed_start_retried)
{
  Expect e;
  GstElement *pipeline, *src;
  GstBus *bus;
  GstMessage *msg;
  GstStructure *stats;
  gboolean named;
  gchar *text;
  guint i;

  expect_init (&e, "voltage0", 16, 0, 256);
  pipeline = make_pipeline ("device=iio-sim-adc channels=voltage0 "
      "samples-per-block=256 num-buffers=20", &e);
  src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  bus = gst_element_get_bus (pipeline);
  fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_READY),
      GST_STATE_CHANGE_SUCCESS);
  g_object_set (src, "device", "no-such-adc", NULL);
  for (i = 0; i < 2; i++) {
    fail_unless_equals_int (gst_element_set_state (pipeline,
            GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
    /* ours, then GstBaseSrc's own "failed to start" */
    named = FALSE;
    while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR))) {
      text = error_text (msg);
      named |= strstr (text, "no-such-adc") != NULL;
      g_free (text);
      gst_message_unref (msg);
    }
    fail_unless (named, "attempt %u: no error naming the device", i);
  }
  g_object_set (src, "device", "iio-sim-adc", NULL);
  stats = run_to_eos (pipeline, 60 * GST_SECOND, NULL);

  fail_unless (e.bad == NULL, "%s", e.bad);
  fail_unless_equals_uint64 (e.blocks, 20);
  g_print ("failed start retried twice, then 20 blocks exact\n");
  gst_structure_free (stats);
  gst_object_unref (bus);
  gst_object_unref (src);
  gst_object_unref (pipeline);
  expect_clear (&e);
}

GST_END_TEST;

/* Where the watermark is writable (kfifo, the read() fallback) the kernel
 * buffer's geometry follows the blocks while streaming: length for
 * num-blocks blocks, watermark one block (one above a block would make
 * poll() wait past it); both are put back at stop. */
GST_START_TEST (test_length_and_watermark)
{
  gchar *length_before = sysfs_read ("iio-sim-kfifo/buffer0/length");
  gchar *watermark_before = sysfs_read ("iio-sim-kfifo/buffer0/watermark");
  gchar *length, *watermark;
  GstElement *pipeline;
  Expect e;

  fail_if (sysfs_read_only ("iio-sim-kfifo/buffer0/watermark"));
  expect_init (&e, "voltage0", 16, 0, 480);
  pipeline = make_pipeline_with ("device=iio-sim-kfifo channels=voltage0 "
      "samples-per-block=480 num-blocks=5", G_CALLBACK (on_handoff_data), &e);
  set_state_checked (pipeline, GST_STATE_PLAYING);
  wait_count (pipeline, &e.seen, 3);
  length = sysfs_read ("iio-sim-kfifo/buffer0/length");
  watermark = sysfs_read ("iio-sim-kfifo/buffer0/watermark");
  gst_element_set_state (pipeline, GST_STATE_NULL);

  fail_unless (e.bad == NULL, "%s", e.bad);
  fail_unless_equals_string (length, "2400");
  fail_unless_equals_string (watermark, "480");
  fail_unless_equals_string (sysfs_read ("iio-sim-kfifo/buffer0/length"),
      length_before);
  fail_unless_equals_string (sysfs_read ("iio-sim-kfifo/buffer0/watermark"),
      watermark_before);
  g_print ("kfifo: length %s and watermark %s while streaming, %s and %s "
      "after\n", length, watermark, length_before, watermark_before);
  g_free (length);
  g_free (watermark);
  g_free (length_before);
  g_free (watermark_before);
  gst_object_unref (pipeline);
  expect_clear (&e);
}

GST_END_TEST;

/* The length and watermark of iio-sim-adc's buffer0 while @props stream
 * (until @blocks blocks came, each checked), and as left after. */
typedef struct
{
  gchar *length, *watermark;    /* while streaming */
  gchar *io_mode;
  guint64 blocks, gaps;
} Geometry;

static void
stream_geometry (const gchar * props, const gchar * channels, guint spb,
    gint blocks, Geometry * g)
{
  gchar *length_before = sysfs_read ("iio-sim-adc/buffer0/length");
  gchar *watermark_before = sysfs_read ("iio-sim-adc/buffer0/watermark");
  GstElement *pipeline;
  GstStructure *stats;
  Expect e;

  expect_init (&e, channels, 16, 0, spb);
  pipeline = make_pipeline_with (props, G_CALLBACK (on_handoff_data), &e);
  set_state_checked (pipeline, GST_STATE_PLAYING);
  wait_count (pipeline, &e.seen, blocks);
  g->length = sysfs_read ("iio-sim-adc/buffer0/length");
  g->watermark = sysfs_read ("iio-sim-adc/buffer0/watermark");
  stats = get_stats (pipeline);
  gst_element_set_state (pipeline, GST_STATE_NULL);

  fail_unless (e.bad == NULL, "%s", e.bad);
  g->io_mode = g_strdup (gst_structure_get_string (stats, "io-mode"));
  g->blocks = e.blocks;
  g->gaps = e.data_gaps;
  /* what was changed is put back; the driver's watermark follows */
  fail_unless_equals_string (sysfs_read ("iio-sim-adc/buffer0/length"),
      length_before);
  fail_unless_equals_string (sysfs_read ("iio-sim-adc/buffer0/watermark"),
      watermark_before);
  gst_structure_free (stats);
  g_free (length_before);
  g_free (watermark_before);
  gst_object_unref (pipeline);
  expect_clear (&e);
}

static void
geometry_clear (Geometry * g)
{
  g_free (g->length);
  g_free (g->watermark);
  g_free (g->io_mode);
}

/* Mainline's dmaengine buffer (iio-sim-adc) keeps its watermark read-only
 * (0444, for root too), at half the length: the source captures in DMABUF
 * mode without writing it, every sample exact, sets the length for its
 * blocks and puts it back. */
GST_START_TEST (test_fixed_watermark_dmabuf)
{
  Geometry g;

  fail_unless (sysfs_read_only ("iio-sim-adc/buffer0/watermark"),
      "iio-sim-adc's watermark is writable: not mainline's dmaengine buffer");
  stream_geometry ("device=iio-sim-adc channels=voltage0,voltage1 "
      "samples-per-block=512 num-blocks=6", "voltage0,voltage1", 512, 40, &g);

  fail_unless_equals_string (g.io_mode, "dmabuf");
  fail_unless_equals_string (g.length, "3072");
  fail_unless_equals_string (g.watermark, "1536");
  fail_unless_equals_uint64 (g.gaps, 0);
  g_print ("fixed watermark, DMABUF: %" G_GUINT64_FORMAT " blocks exact, "
      "length %s, the driver's watermark %s, both as found after\n",
      g.blocks, g.length, g.watermark);
  geometry_clear (&g);
}

GST_END_TEST;

/* read() on the fixed watermark: the length is made twice the kernel's
 * block, at most a block of ours and cut to the DMA engine's 8 bytes
 * (1020 scans of one channel for blocks of 1022), so the watermark stays
 * within a block and no kernel block cuts a scan: every sample exact, in
 * order, across kernel blocks of another size than ours. */
GST_START_TEST (test_fixed_watermark_rw)
{
  Geometry g;

  stream_geometry ("device=iio-sim-adc channels=voltage0 io-mode=rw "
      "samples-per-block=1022 num-blocks=4", "voltage0", 1022, 30, &g);

  fail_unless_equals_string (g.io_mode, "rw");
  fail_unless_equals_string (g.length, "2040");
  fail_unless_equals_string (g.watermark, "1020");
  fail_unless_equals_uint64 (g.gaps, 0);
  g_print ("fixed watermark, read(): %" G_GUINT64_FORMAT " blocks of 1022 "
      "scans exact from kernel blocks of 1020, watermark %s\n", g.blocks,
      g.watermark);
  geometry_clear (&g);
}

GST_END_TEST;

/* Mainline's dmaengine buffer takes a DMABUF block whose size its DMA
 * engine cannot move and never moves it. iio-sim-adc's engine moves 8
 * bytes at a time: one 16-bit channel needs blocks of a multiple of 4
 * scans. Asked for 1022, the source refuses at once and says what to use,
 * and leaves the device as it was; left at its default it captures. */
GST_START_TEST (test_block_must_fit_dma)
{
  gchar *length_before = sysfs_read ("iio-sim-adc/buffer0/length");
  gint64 start = g_get_monotonic_time ();
  gchar *text = start_error ("device=iio-sim-adc channels=voltage0 "
      "samples-per-block=1022");
  gint64 took_ms = (g_get_monotonic_time () - start) / 1000;
  GstElement *pipeline;
  GstStructure *stats;
  Expect e;

  fail_unless_equals_string (sysfs_read ("iio-sim-adc/buffer0/"
          "length_align_bytes"), "8");
  fail_unless (strstr (text, "samples-per-block=1022")
      && strstr (text, "use a multiple of 4 samples"), "%s", text);
  fail_unless (took_ms < 5000, "the refusal took %" G_GINT64_FORMAT " ms",
      took_ms);
  fail_unless_equals_string (sysfs_read ("iio-sim-adc/buffer0/length"),
      length_before);

  expect_init (&e, "voltage0", 16, 0, 4096);
  pipeline = make_pipeline ("device=iio-sim-adc channels=voltage0 "
      "num-buffers=12", &e);
  stats = run_to_eos (pipeline, 120 * GST_SECOND, NULL);
  fail_unless (e.bad == NULL, "%s", e.bad);
  fail_unless_equals_uint64 (e.blocks, 12);
  fail_unless_equals_uint64 (e.data_gaps, 0);
  fail_unless_equals_uint64 (stat_u64 (stats, "failed-blocks"), 0);
  fail_unless_equals_string (gst_structure_get_string (stats, "io-mode"),
      "dmabuf");
  g_print ("samples-per-block=1022 refused in %" G_GINT64_FORMAT " ms (%s); "
      "the default, 4096, captured 12 blocks exact\n", took_ms, text);
  gst_structure_free (stats);
  gst_object_unref (pipeline);
  expect_clear (&e);
  g_free (text);
  g_free (length_before);
}

GST_END_TEST;

/* Sizes are counted in 64 bits on every architecture: a block of 4 GiB
 * (0 bytes in a 32-bit size) is refused, and on a 32-bit system so are
 * blocks that each fit but together would take more than half the address
 * space, before anything is allocated. The buffer is left as it was. */
GST_START_TEST (test_geometry_limits)
{
  gchar *length_before = sysfs_read ("iio-sim-adc/buffer0/length");
  gchar *text = start_error ("device=iio-sim-adc channels=voltage0,voltage1 "
      "samples-per-block=1073741824");

  fail_unless (strstr (text, "A block of 1073741824 scans of 4 bytes does "
          "not fit IIO device iio-sim-adc (2 GiB at most)"), "%s", text);
  g_print ("4 GiB blocks: '%s'\n", text);
  g_free (text);
  if (sizeof (gpointer) == 4) {
    /* 9 blocks of 256 MiB: 2.25 GiB */
    text = start_error ("device=iio-sim-adc channels=voltage0,voltage1 "
        "samples-per-block=67108864 num-blocks=9");
    fail_unless (strstr (text, "9 blocks of 268435456 bytes for IIO device "
            "iio-sim-adc do not fit this 32-bit system's address space "
            "(2147483647 bytes in all at most)"), "%s", text);
    g_print ("32-bit, 9 blocks of 256 MiB: '%s'\n", text);
    g_free (text);
  }
  fail_unless_equals_string (sysfs_read ("iio-sim-adc/buffer0/length"),
      length_before);
  fail_unless_equals_string (sysfs_read ("iio-sim-adc/buffer0/enable"), "0");
  g_free (length_before);
}

GST_END_TEST;

/* A reader killed while the buffer ran in read() mode left it enabled:
 * the source still starts (in DMABUF mode) and captures exactly. */
GST_START_TEST (test_buffer_left_enabled)
{
  Expect e;
  GstElement *pipeline;
  GstStructure *stats;

  sysfs_write ("iio-sim-adc/buffer0/in_voltage0_en", "1");
  sysfs_write ("iio-sim-adc/buffer0/enable", "1");
  expect_init (&e, "voltage0", 16, 0, 256);
  pipeline = make_pipeline ("device=iio-sim-adc channels=voltage0 "
      "samples-per-block=256 num-buffers=20", &e);
  stats = run_to_eos (pipeline, 60 * GST_SECOND, NULL);

  fail_unless (e.bad == NULL, "%s", e.bad);
  fail_unless_equals_uint64 (e.blocks, 20);
  fail_unless_equals_string (gst_structure_get_string (stats, "io-mode"),
      "dmabuf");
  g_print ("buffer left enabled by another reader: 20 blocks exact, "
      "DMABUF\n");
  gst_structure_free (stats);
  gst_object_unref (pipeline);
  expect_clear (&e);
}

GST_END_TEST;

/* What a slow consumer saw: each block a whole, contiguous run of samples,
 * never one seen before (a block re-queued while read, or delivered twice,
 * would break one or the other). */
typedef struct
{
  guint64 blocks, gaps;
  guint16 prev_first;
  gchar *bad;
} SlowConsumer;

static void
on_handoff_slow (GstElement * sink, GstBuffer * buf, GstPad * pad,
    SlowConsumer * c)
{
  GstMapInfo map;
  const guint16 *s;
  guint16 first, step;
  guint i;

  fail_unless (gst_buffer_map (buf, &map, GST_MAP_READ));
  s = (const guint16 *) map.data;
  first = GUINT16_FROM_LE (s[0]);
  for (i = 1; i < map.size / 2 && !c->bad; i++)
    if (GUINT16_FROM_LE (s[i]) != (guint16) (first + i))
      c->bad = g_strdup_printf ("block %" G_GUINT64_FORMAT " is not one run "
          "of samples at %u", c->blocks, i);
  gst_buffer_unmap (buf, &map);
  /* later data starts at least a block on (more after a loss) */
  step = first - c->prev_first;
  if (c->blocks && !c->bad && step < 256)
    c->bad = g_strdup_printf ("block %" G_GUINT64_FORMAT " starts %u "
        "samples after the one before: seen already", c->blocks, step);
  c->gaps += c->blocks && step > 256;
  c->prev_first = first;
  c->blocks++;
}

/* A consumer four times slower than the converter, the sample clock in
 * real time (lossless off): samples are lost in the converter, as on
 * hardware; the stream goes on, no block is corrupted or repeated, and the
 * pipeline stops at once. */
GST_START_TEST (test_slow_consumer_real_time)
{
  SlowConsumer c = { 0, };
  GstElement *pipeline, *sink;
  GstStructure *stats;
  guint64 lost;

  sysfs_write ("iio-sim-adc/lossless", "0");
  pipeline = gst_parse_launch ("iiodmabufsrc name=src device=iio-sim-adc "
      "channels=voltage0 samples-per-block=256 sampling-frequency=48000 "
      "num-blocks=4 num-buffers=60 ! identity sleep-time=21000 ! fakesink "
      "name=sink signal-handoffs=true sync=false", NULL);
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  g_signal_connect (sink, "handoff", G_CALLBACK (on_handoff_slow), &c);
  gst_object_unref (sink);
  stats = run_to_eos (pipeline, 60 * GST_SECOND, NULL);
  lost = sysfs_read_u64 ("iio-sim-adc", "lost_samples");

  fail_unless (c.bad == NULL, "%s", c.bad);
  fail_unless_equals_uint64 (c.blocks, 60);
  fail_unless_equals_uint64 (stat_u64 (stats, "blocks"), 60);
  fail_unless_equals_uint64 (stat_u64 (stats, "failed-blocks"), 0);
  fail_unless (lost > 0, "the converter lost nothing: not a slow consumer");
  fail_unless (c.gaps > 0, "no gap in the data although %" G_GUINT64_FORMAT
      " samples were lost", lost);
  g_print ("slow consumer, real time: 60 blocks whole and new, %"
      G_GUINT64_FORMAT " gaps, the converter lost %" G_GUINT64_FORMAT
      " samples\n", c.gaps, lost);
  gst_structure_free (stats);
  gst_object_unref (pipeline);
  g_free (c.bad);
}

GST_END_TEST;

/* Plays a source behind @between (to a fakesink checking each block with
 * on_handoff) to EOS; returns its stats. */
static GstStructure *
run_behind (const gchar * src_props, const gchar * between, Expect * e,
    Overruns * o)
{
  gchar *desc = g_strdup_printf ("iiodmabufsrc name=src %s ! %s ! fakesink "
      "name=sink signal-handoffs=true sync=false", src_props, between);
  GstElement *pipeline = gst_parse_launch (desc, NULL), *sink;
  GstStructure *stats;

  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  g_signal_connect (sink, "handoff", G_CALLBACK (on_handoff), e);
  gst_object_unref (sink);
  overruns_watch (o, pipeline);
  stats = run_to_eos (pipeline, 120 * GST_SECOND, NULL);
  gst_object_unref (pipeline);
  g_free (desc);
  return stats;
}

/* A consumer four times slower than the converter, in real time: every
 * gap in the data is found, measured from the fences, and its block
 * carries DISCONT; OFFSET is the converter's index within two blocks (the
 * fences' jitter in the emulated VM: 12 to 83 samples in most runs, 280
 * once). */
GST_START_TEST (test_overruns_measured)
{
  GstStructure *stats;
  guint64 sim_lost;
  Overruns o;
  Expect e;

  sysfs_write ("iio-sim-adc/lossless", "0");
  expect_init (&e, "voltage0", 16, 0, 256);
  e.offsets_true = TRUE;
  e.precision = 2 * 256;        /* fence jitter under emulation */
  stats = run_behind ("device=iio-sim-adc channels=voltage0 "
      "samples-per-block=256 sampling-frequency=48000 num-blocks=4 "
      "num-buffers=60", "identity sleep-time=21000", &e, &o);
  sim_lost = sysfs_read_u64 ("iio-sim-adc", "lost_samples");

  fail_unless (e.bad == NULL, "%s", e.bad);
  fail_unless_equals_uint64 (e.blocks, 60);
  fail_unless (e.data_gaps > 10, "%" G_GUINT64_FORMAT " gaps: not a slow "
      "consumer", e.data_gaps);
  overruns_check (&o, stats, &e);
  /* the converter may lose more after the last block taken */
  fail_unless (sim_lost >= e.data_lost);
  g_print ("overruns from the fences: %" G_GUINT64_FORMAT " gaps made (%"
      G_GUINT64_FORMAT " samples), %" G_GUINT64_FORMAT " found with "
      "DISCONT, %" G_GUINT64_FORMAT " samples measured (simulator: %"
      G_GUINT64_FORMAT "), OFFSET off by at most %" G_GUINT64_FORMAT "\n",
      e.data_gaps, e.data_lost, e.disconts, stat_u64 (stats, "lost-samples"),
      sim_lost, e.offset_err);
  gst_structure_free (stats);
  expect_clear (&e);
}

GST_END_TEST;

/* Plays @pipeline (a source named "src") to EOS and frees it; returns the
 * source's stats, and the samples-per-block named by its capacity
 * warnings in @named (0 if none) and how many there were in @n_warned. */
static GstStructure *
run_for_capacity (GstElement * pipeline, guint * named, guint * n_warned)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  const gchar *prefix = "set samples-per-block to ", *at;
  GstStructure *stats;
  GstMessage *msg;
  gchar *text;

  *named = *n_warned = 0;
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  for (;;) {
    msg = gst_bus_timed_pop_filtered (bus, 120 * GST_SECOND,
        GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_WARNING);
    fail_unless (msg != NULL, "no EOS within 120 s");
    if (GST_MESSAGE_TYPE (msg) != GST_MESSAGE_WARNING)
      break;
    text = error_text (msg);
    at = strstr (text, prefix);
    if (strstr (text, "more blocks per second") && at) {
      (*n_warned)++;
      *named = g_ascii_strtoull (at + strlen (prefix), NULL, 10);
    }
    g_free (text);
    gst_message_unref (msg);
  }
  fail_unless (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS, "%s",
      error_text (msg));
  gst_message_unref (msg);
  gst_object_unref (bus);
  stats = get_stats (pipeline);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  return stats;
}

/* 256-sample blocks at 48 kHz through a pipeline taking 21 ms a block. */
static GstElement *
slow_pipeline (guint samples_per_block, guint num_blocks, guint n_buffers)
{
  gchar *desc = g_strdup_printf ("iiodmabufsrc name=src device=iio-sim-adc "
      "channels=voltage0 samples-per-block=%u sampling-frequency=48000 "
      "num-blocks=%u num-buffers=%u ! identity sleep-time=21000 ! fakesink "
      "sync=false", samples_per_block, num_blocks, n_buffers);
  GstElement *pipeline = gst_parse_launch (desc, NULL);

  g_free (desc);
  return pipeline;
}

static GstPadProbeReturn
stall_once (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  guint *seen = data;

  if (++*seen == 20)
    g_usleep (400 * 1000);
  return GST_PAD_PROBE_OK;
}

/* A fast pipeline whose sink stalls once, for 400 ms, at its 20th block. */
static GstElement *
stalling_pipeline (guint * seen)
{
  GstElement *pipeline = gst_parse_launch ("iiodmabufsrc name=src "
      "device=iio-sim-adc channels=voltage0 samples-per-block=1024 "
      "sampling-frequency=48000 num-blocks=4 num-buffers=60 ! fakesink "
      "name=sink sync=false", NULL);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  GstPad *pad = gst_element_get_static_pad (sink, "sink");

  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, stall_once, seen, NULL);
  gst_object_unref (pad);
  gst_object_unref (sink);
  return pipeline;
}

/* A pipeline that takes 21 ms a block, of 256 samples at 48 kHz (5.3 ms):
 * overruns, and one warning naming a block size, a power of two lasting
 * at least twice 21 ms. With that size (and the same pipeline) nothing is
 * lost and nothing is warned. A fast pipeline that stalls once overruns
 * but gets no such warning: more blocks, not larger ones, are its cure. */
GST_START_TEST (test_capacity_warning_names_block_size)
{
  guint named, warned, named2, warned2, named3, warned3, seen = 0;
  GstStructure *slow, *sized, *stalled;

  sysfs_write ("iio-sim-adc/lossless", "0");
  slow = run_for_capacity (slow_pipeline (256, 4, 60), &named, &warned);
  fail_unless (stat_u64 (slow, "overruns") > 0, "no overrun: not too slow");
  fail_unless_equals_int (warned, 1);
  fail_unless (named >= 2048 && (named & (named - 1)) == 0, "named %u: not "
      "a power of two lasting twice 21 ms at 48 kHz", named);

  sized = run_for_capacity (slow_pipeline (named, 8, 20), &named2, &warned2);
  fail_unless_equals_int (warned2, 0);
  fail_unless_equals_uint64 (stat_u64 (sized, "lost-samples"), 0);

  stalled = run_for_capacity (stalling_pipeline (&seen), &named3, &warned3);
  fail_unless (stat_u64 (stalled, "overruns") > 0, "the stall lost nothing");
  fail_unless_equals_int (warned3, 0);
  g_print ("capacity: 21 ms a block against 5.3 ms: %" G_GUINT64_FORMAT
      " overruns, one warning naming samples-per-block=%u; with it nothing "
      "lost, no warning; a 400 ms stall: %" G_GUINT64_FORMAT " overrun(s), "
      "no capacity warning\n", stat_u64 (slow, "overruns"), named,
      stat_u64 (stalled, "overruns"));
  gst_structure_free (slow);
  gst_structure_free (sized);
  gst_structure_free (stalled);
}

GST_END_TEST;

/* 1000 blocks with room to spare: no gap, and no DISCONT but the first. */
GST_START_TEST (test_no_loss_no_discont)
{
  GstStructure *stats;
  Overruns o;
  Expect e;

  sysfs_write ("iio-sim-adc/lossless", "0");
  expect_init (&e, "voltage0", 16, 0, 256);
  e.offsets_true = TRUE;
  e.precision = 0;
  stats = run_behind ("device=iio-sim-adc channels=voltage0 "
      "samples-per-block=256 sampling-frequency=48000 num-blocks=64 "
      "num-buffers=1000", "queue", &e, &o);

  fail_unless (e.bad == NULL, "%s", e.bad);
  fail_unless_equals_uint64 (e.blocks, 1000);
  fail_unless_equals_uint64 (e.data_gaps, 0);
  fail_unless_equals_uint64 (e.disconts, 0);
  fail_unless_equals_uint64 (e.offset_err, 0);
  overruns_check (&o, stats, &e);
  fail_unless_equals_uint64 (stat_u64 (stats, "overruns"), 0);
  g_print ("1000 blocks in real time: no gap, DISCONT on the first only, "
      "OFFSET exact\n");
  gst_structure_free (stats);
  expect_clear (&e);
}

GST_END_TEST;

/* Blocks of voltage0 and the timestamp channel (at byte 8 of 16-byte
 * scans): the simulator writes sample k's time, k / rate, so each scan
 * tells its own index, exactly. */
typedef struct
{
  guint rate;
  guint64 blocks, gaps, lost, disconts, next_k;
  gchar *bad;
} Stamped;

static void
on_handoff_stamped (GstElement * sink, GstBuffer * buf, GstPad * pad,
    Stamped * st)
{
  gboolean discont = GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DISCONT);
  guint64 k0 = 0, k, gap;
  GstMapInfo map;
  gsize i;

  fail_unless (gst_buffer_map (buf, &map, GST_MAP_READ));
  for (i = 0; i < map.size / 16 && !st->bad; i++) {
    guint16 v = GST_READ_UINT16_LE (map.data + i * 16);
    guint64 ts = GST_READ_UINT64_LE (map.data + i * 16 + 8);

    k = (ts * st->rate + GST_SECOND / 2) / GST_SECOND;
    if (i == 0)
      k0 = k;
    if (k != k0 + i || v != (guint16) k)
      st->bad = g_strdup_printf ("block %" G_GUINT64_FORMAT " scan %"
          G_GSIZE_FORMAT ": sample 0x%04x at %" G_GUINT64_FORMAT " ns",
          st->blocks, i, v, ts);
  }
  gst_buffer_unmap (buf, &map);
  gap = st->blocks ? k0 - st->next_k : 0;
  st->gaps += gap > 0;
  st->lost += gap;
  st->disconts += st->blocks && discont;
  if (!st->bad && st->blocks && discont != (gap > 0))
    st->bad = g_strdup_printf ("block %" G_GUINT64_FORMAT " after a gap of %"
        G_GUINT64_FORMAT ": DISCONT %d", st->blocks, gap, discont);
  if (!st->bad && GST_BUFFER_OFFSET (buf) != k0)
    st->bad = g_strdup_printf ("block %" G_GUINT64_FORMAT " has OFFSET %"
        G_GUINT64_FORMAT ", its scans start at %" G_GUINT64_FORMAT,
        st->blocks, GST_BUFFER_OFFSET (buf), k0);
  st->next_k = k0 + map.size / 16;
  st->blocks++;
}

/* With the timestamp channel enabled, overruns are measured exactly:
 * OFFSET equals each block's true index, lost-samples what the data lack. */
GST_START_TEST (test_overruns_exact_with_timestamps)
{
  GstElement *pipeline = gst_parse_launch ("iiodmabufsrc name=src "
      "device=iio-sim-adc channels=voltage0,timestamp samples-per-block=256 "
      "sampling-frequency=48000 num-blocks=4 num-buffers=60 ! identity "
      "sleep-time=21000 ! fakesink name=sink signal-handoffs=true "
      "sync=false", NULL);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  Stamped st = { 48000, };
  GstStructure *stats;
  Overruns o;

  sysfs_write ("iio-sim-adc/lossless", "0");
  g_signal_connect (sink, "handoff", G_CALLBACK (on_handoff_stamped), &st);
  gst_object_unref (sink);
  overruns_watch (&o, pipeline);
  stats = run_to_eos (pipeline, 120 * GST_SECOND, NULL);

  fail_unless (st.bad == NULL, "%s", st.bad);
  fail_unless_equals_uint64 (st.blocks, 60);
  fail_unless (st.gaps > 10, "%" G_GUINT64_FORMAT " gaps", st.gaps);
  fail_unless_equals_uint64 (stat_u64 (stats, "lost-samples"), st.lost);
  fail_unless_equals_uint64 (stat_u64 (stats, "overruns"), st.gaps);
  fail_unless_equals_uint64 (st.disconts, st.gaps);
  fail_unless (o.bad == NULL, "%s", o.bad);
  fail_unless_equals_uint64 (o.messages, st.gaps);
  fail_unless_equals_uint64 (o.lost, st.lost);
  g_print ("overruns from the timestamp channel: %" G_GUINT64_FORMAT
      " gaps made, %" G_GUINT64_FORMAT " found with DISCONT, %"
      G_GUINT64_FORMAT " samples lost and measured, OFFSET exact\n",
      st.gaps, st.disconts, st.lost);
  g_mutex_clear (&o.lock);
  g_free (st.bad);
  gst_structure_free (stats);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* When each block reached the sink, on the pipeline's clock. */
typedef struct
{
  GArray *pts, *offset, *arrival;
} Arrivals;

static void
on_handoff_arrival (GstElement * sink, GstBuffer * buf, GstPad * pad,
    Arrivals * a)
{
  GstClock *clock = gst_element_get_clock (sink);
  GstClockTime now = gst_clock_get_time (clock) -
      gst_element_get_base_time (sink);
  guint64 offset = GST_BUFFER_OFFSET (buf);

  g_array_append_val (a->pts, GST_BUFFER_PTS (buf));
  g_array_append_val (a->offset, offset);
  g_array_append_val (a->arrival, now);
  gst_object_unref (clock);
}

static void
arrivals_watch (Arrivals * a, GstElement * sink)
{
  a->pts = g_array_new (FALSE, FALSE, sizeof (GstClockTime));
  a->offset = g_array_new (FALSE, FALSE, sizeof (guint64));
  a->arrival = g_array_new (FALSE, FALSE, sizeof (GstClockTime));
  g_signal_connect (sink, "handoff", G_CALLBACK (on_handoff_arrival), a);
}

static void
arrivals_clear (Arrivals * a)
{
  g_array_unref (a->pts);
  g_array_unref (a->offset);
  g_array_unref (a->arrival);
}

/* io-mode=rw drops the buffer's length at start (0.2 s here: two kernel
 * blocks of 480 scans, as the driver fixes the watermark at half the
 * length; 0.8 s where it is writable, num-blocks blocks) and its clock
 * runs from there: a sync sink on the source's clock gets every block at
 * its PTS plus the latency, not the dropped time later. */
GST_START_TEST (test_rw_clock_after_settle)
{
  guint64 dropped =
      sysfs_read_only ("iio-sim-adc/buffer0/watermark") ? 2 * 480 : 8 * 480;
  GstElement *pipeline = gst_parse_launch ("iiodmabufsrc name=src "
      "device=iio-sim-adc channels=voltage0 io-mode=rw samples-per-block=480 "
      "sampling-frequency=4800 num-blocks=8 num-buffers=20 ! fakesink "
      "name=sink signal-handoffs=true sync=true", NULL);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  GstClockTime block = GST_SECOND / 10, late;
  GstMessage *msg;
  Arrivals a;
  guint i;

  arrivals_watch (&a, sink);
  msg = run (pipeline, 60 * GST_SECOND, NULL);
  fail_unless (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS, "%s",
      error_text (msg));
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);

  fail_unless_equals_int (a.pts->len, 20);
  fail_unless_equals_uint64 (g_array_index (a.offset, guint64, 0), dropped);
  for (i = 0; i < a.pts->len; i++) {
    late = g_array_index (a.arrival, GstClockTime, i) -
        g_array_index (a.pts, GstClockTime, i);
    fail_unless (late < block + 4 * block, "block %u arrived %"
        GST_TIME_FORMAT " after its PTS (the latency is %" GST_TIME_FORMAT
        ")", i, GST_TIME_ARGS (late), GST_TIME_ARGS (block));
  }
  g_print ("io-mode=rw: %" G_GUINT64_FORMAT " scans dropped at start, 20 "
      "blocks each at its PTS plus the latency\n", dropped);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  arrivals_clear (&a);
}

GST_END_TEST;

/* The pipeline runs on the source's clock, driven by the samples: over 10 s
 * of samples PTS stay OFFSET / rate from the first (within a sample), and
 * the clock advances at the converter's rate (within 0.2 %, by a least
 * squares fit of when blocks arrived against their sample index; 0.03 % at
 * worst seen, one late wake-up moves it; a wrong rate or channel count is
 * off by far more). */
GST_START_TEST (test_clock_from_samples)
{
  GstElement *pipeline = gst_parse_launch ("iiodmabufsrc name=src "
      "device=iio-sim-adc channels=voltage0 samples-per-block=4800 "
      "sampling-frequency=48000 num-blocks=8 num-buffers=100 ! fakesink "
      "name=sink signal-handoffs=true sync=true", NULL);
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  Arrivals a;
  GstClock *ours, *used;
  GstMessage *msg;
  gdouble sx = 0, sy = 0, sxx = 0, sxy = 0, slope, n;
  guint i;

  sysfs_write ("iio-sim-adc/lossless", "0");
  arrivals_watch (&a, sink);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  fail_unless (gst_element_get_state (pipeline, NULL, NULL, 30 * GST_SECOND)
      == GST_STATE_CHANGE_SUCCESS);
  ours = gst_element_provide_clock (src);
  used = gst_pipeline_get_clock (GST_PIPELINE (pipeline));
  fail_unless (ours != NULL && ours == used, "the pipeline runs on %s",
      used ? GST_OBJECT_NAME (used) : "no clock");
  msg = run (pipeline, 60 * GST_SECOND, NULL);
  fail_unless (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS, "%s",
      error_text (msg));
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);

  fail_unless_equals_int (a.pts->len, 100);
  n = a.pts->len;
  for (i = 0; i < a.pts->len; i++) {
    GstClockTime pts = g_array_index (a.pts, GstClockTime, i);
    guint64 offset = g_array_index (a.offset, guint64, i);
    GstClockTime want = g_array_index (a.pts, GstClockTime, 0) +
        gst_util_uint64_scale (offset, GST_SECOND, 48000);
    gdouble x = offset / 48000.0;
    gdouble y = g_array_index (a.arrival, GstClockTime, i) / 1e9;

    fail_unless (ABS (GST_CLOCK_DIFF (pts, want)) <= GST_SECOND / 48000,
        "block %u: PTS %" GST_TIME_FORMAT ", OFFSET %" G_GUINT64_FORMAT
        " says %" GST_TIME_FORMAT, i, GST_TIME_ARGS (pts), offset,
        GST_TIME_ARGS (want));
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  fail_unless (ABS (slope - 1.0) < 0.002, "the clock runs at %f of the "
      "converter's rate", slope);
  g_print ("source's clock: 100 blocks (10 s) with PTS = OFFSET / rate, the "
      "clock at %.5f of the sampling frequency\n", slope);
  gst_object_unref (ours);
  gst_object_unref (used);
  gst_object_unref (src);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  arrivals_clear (&a);
}

GST_END_TEST;

/* On another clock (the system clock, provide-clock off) the timestamps
 * are slaved to it: no block is seen before the running time at which it
 * ended, nor later than the queue could hold it (unsynchronised sink).
 * "Before" allows a quarter block (12.5 ms): the anchor is the first
 * block's end as its fence reported it, late by the guest's wake-up
 * latency, and a later block reported sooner after its end is seen that
 * much "early" (1.2 ms on the emulated RT kernel on a quiet host, more when
 * the host stalls the guest at the start). Timestamps a block off still
 * fail. */
GST_START_TEST (test_slaved_to_another_clock)
{
  GstElement *pipeline = gst_parse_launch ("iiodmabufsrc name=src "
      "device=iio-sim-adc channels=voltage0 samples-per-block=2400 "
      "sampling-frequency=48000 num-blocks=4 num-buffers=50 "
      "provide-clock=false ! fakesink name=sink signal-handoffs=true "
      "sync=false", NULL);
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  Arrivals a;
  GstClockTime block = 50 * GST_MSECOND;
  GstClockTimeDiff late = 0;
  GstClock *used;
  GstMessage *msg;
  guint i, steps = 0;

  sysfs_write ("iio-sim-adc/lossless", "0");
  arrivals_watch (&a, sink);
  fail_unless (gst_element_provide_clock (src) == NULL);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  fail_unless (gst_element_get_state (pipeline, NULL, NULL, 30 * GST_SECOND)
      == GST_STATE_CHANGE_SUCCESS);
  used = gst_pipeline_get_clock (GST_PIPELINE (pipeline));
  fail_unless (GST_IS_SYSTEM_CLOCK (used));
  msg = run (pipeline, 60 * GST_SECOND, NULL);
  fail_unless (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS, "%s",
      error_text (msg));
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);

  fail_unless_equals_int (a.pts->len, 50);
  for (i = 0; i < a.pts->len; i++) {
    GstClockTime pts = g_array_index (a.pts, GstClockTime, i);
    GstClockTime arrival = g_array_index (a.arrival, GstClockTime, i);

    fail_unless (arrival + block / 4 >= pts + block, "block %u arrived "
        "at %" GST_TIME_FORMAT ", before its end %" GST_TIME_FORMAT, i,
        GST_TIME_ARGS (arrival), GST_TIME_ARGS (pts + block));
    late = MAX (late, GST_CLOCK_DIFF (pts + block, arrival));
    if (i && pts != g_array_index (a.pts, GstClockTime, i - 1) + block)
      steps++;
  }
  /* the latency the source reports: up to num-blocks blocks */
  fail_unless (late <= (GstClockTimeDiff) (4 * block), "a block arrived %"
      GST_STIME_FORMAT " after it ended", GST_STIME_ARGS (late));
  g_print ("slaved to the system clock: 50 blocks, each seen within %"
      GST_STIME_FORMAT " of its end, %u re-anchorings\n",
      GST_STIME_ARGS (late), steps);
  gst_object_unref (used);
  gst_object_unref (src);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  arrivals_clear (&a);
}

GST_END_TEST;

/* --- triggered converters ------------------------------------------------ */

#define SYSFS_TRIGGER "sysfstrig7"

/* A sysfs trigger (Debian's iio-trig-sysfs); adding it again fails, and
 * is harmless. */
static void
ensure_sysfs_trigger (void)
{
  FILE *f = fopen ("/sys/bus/iio/devices/iio_sysfs_trigger/add_trigger", "w");

  fail_unless (f != NULL, "no iio_sysfs_trigger: iio-trig-sysfs not loaded");
  fputs ("7", f);
  fclose (f);
}

typedef struct
{
  gint stop;
  guint64 fired;
} Firing;

/* Fires the sysfs trigger, a scan each time, until told to stop. */
static gpointer
fire_trigger (gpointer data)
{
  Firing *f = data;
  gchar *path = sysfs_path (SYSFS_TRIGGER "/trigger_now");

  while (!g_atomic_int_get (&f->stop)) {
    FILE *t = fopen (path, "w");

    if (t && fputs ("1", t) >= 0 && fclose (t) == 0)
      f->fired++;
    else if (t)
      fclose (t);
    g_usleep (500);
  }
  g_free (path);
  return NULL;
}

/* A converter on the triggered buffer core (as most SPI and I2C ADCs are)
 * takes a scan each time its trigger fires: with trigger= it streams, every
 * scan exact, and the device's trigger is put back after. */
GST_START_TEST (test_triggered_capture)
{
  Firing f = { 0, };
  GThread *thread;
  GstElement *pipeline;
  GstStructure *stats;
  Expect e;

  ensure_sysfs_trigger ();
  fail_unless_equals_string (sysfs_read ("iio-sim-triggered/trigger/"
          "current_trigger"), "");
  expect_init (&e, "voltage0,voltage1", 16, 0, 16);
  pipeline = make_pipeline_with ("device=iio-sim-triggered "
      "channels=voltage0,voltage1 trigger=" SYSFS_TRIGGER " "
      "samples-per-block=16 num-blocks=4 num-buffers=8",
      G_CALLBACK (on_handoff_data), &e);
  thread = g_thread_new ("fire", fire_trigger, &f);
  stats = run_to_eos (pipeline, 60 * GST_SECOND, NULL);
  g_atomic_int_set (&f.stop, 1);
  g_thread_join (thread);

  fail_unless (e.bad == NULL, "%s", e.bad);
  fail_unless_equals_uint64 (e.blocks, 8);
  fail_unless_equals_uint64 (e.data_next, 8 * 16);
  fail_unless_equals_uint64 (e.data_gaps, 0);
  fail_unless_equals_string (gst_structure_get_string (stats, "io-mode"), "rw");
  fail_unless_equals_string (sysfs_read ("iio-sim-triggered/trigger/"
          "current_trigger"), "");
  g_print ("triggered: %" G_GUINT64_FORMAT " scans exact on " SYSFS_TRIGGER
      " (fired %" G_GUINT64_FORMAT " times), trigger put back\n",
      e.data_next, f.fired);
  gst_structure_free (stats);
  gst_object_unref (pipeline);
  expect_clear (&e);
}

GST_END_TEST;

/* Scans of voltage0,voltage1 (le:s16) that libiio read: sample k of
 * channel c is k + c * 0x100, k counted on from the first. */
static gchar *
check_counter_scans (const guint8 * data, gsize len, gsize * scans)
{
  guint16 first = GST_READ_UINT16_LE (data);
  gsize i;

  *scans = len / 4;
  for (i = 0; i < *scans; i++) {
    guint16 v0 = GST_READ_UINT16_LE (data + 4 * i);
    guint16 v1 = GST_READ_UINT16_LE (data + 4 * i + 2);

    if (v0 != (guint16) (first + i) || v1 != (guint16) (first + i + 0x100))
      return g_strdup_printf ("scan %" G_GSIZE_FORMAT ": 0x%04x 0x%04x", i,
          v0, v1);
  }
  return NULL;
}

/* The same on an hrtimer trigger (Debian's iio-trig-hrtimer, made through
 * configfs) at 2000 scans a second: the converter runs on its own, every
 * scan exact; then Debian's iio_readdev reads it on the same trigger. */
GST_START_TEST (test_triggered_by_hrtimer)
{
  const gchar *dir = "/sys/kernel/config/iio/triggers/hrtimer/gsttrig";
  gchar *data = NULL, *bad;
  gsize len = 0, scans = 0;
  GstElement *pipeline;
  GstStructure *stats;
  gint status = -1;
  Expect e;

  fail_unless (g_mkdir_with_parents (dir, 0755) == 0, "cannot make an "
      "hrtimer trigger in configfs: %s", g_strerror (errno));
  /* slow enough for an emulated ARM guest to keep up: the kfifo drops
   * what the reader does not take in time */
  sysfs_write ("gsttrig/sampling_frequency", "500");
  expect_init (&e, "voltage0,voltage1", 16, 0, 64);
  pipeline = make_pipeline_with ("device=iio-sim-triggered "
      "channels=voltage0,voltage1 trigger=gsttrig samples-per-block=64 "
      "num-buffers=20", G_CALLBACK (on_handoff_data), &e);
  stats = run_to_eos (pipeline, 60 * GST_SECOND, NULL);

  fail_unless (e.bad == NULL, "%s", e.bad);
  fail_unless_equals_uint64 (e.blocks, 20);
  fail_unless_equals_uint64 (e.data_next, 20 * 64);
  fail_unless_equals_uint64 (e.data_gaps, 0);
  fail_unless_equals_string (sysfs_read ("iio-sim-triggered/trigger/"
          "current_trigger"), "");

  /* libiio's iio_readdev, on the same trigger (blocks of 64 scans: with
   * its default of 256, libiio 0.24 times out on this kfifo buffer) */
  fail_unless (g_spawn_command_line_sync ("sh -c 'iio_readdev -t gsttrig "
          "-b 64 -s 256 iio-sim-triggered voltage0 voltage1 > "
          "/run/readdev.bin'",
          NULL, NULL, &status, NULL) && status == 0, "iio_readdev failed");
  fail_unless (g_file_get_contents ("/run/readdev.bin", &data, &len, NULL));
  fail_unless_equals_uint64 (len, 256 * 4);
  bad = check_counter_scans ((const guint8 *) data, len, &scans);
  fail_unless (bad == NULL, "iio_readdev: %s", bad);
  g_print ("hrtimer trigger at 500 Hz: %" G_GUINT64_FORMAT " scans exact "
      "through iiodmabufsrc, trigger put back; %" G_GSIZE_FORMAT " through "
      "iio_readdev\n", e.data_next, scans);
  sysfs_write ("iio-sim-triggered/trigger/current_trigger", "\n");
  rmdir (dir);
  gst_structure_free (stats);
  gst_object_unref (pipeline);
  expect_clear (&e);
  g_free (data);
}

GST_END_TEST;

/* Without a trigger a triggered device produces nothing: an error that
 * says so and lists the triggers; a trigger that is not there likewise. */
GST_START_TEST (test_trigger_errors)
{
  gchar *none, *unknown;

  ensure_sysfs_trigger ();
  none = start_error ("device=iio-sim-triggered channels=voltage0");
  unknown = start_error ("device=iio-sim-triggered channels=voltage0 "
      "trigger=no-such-trigger");

  fail_unless (strstr (none, "none is selected") && strstr (none,
          SYSFS_TRIGGER) && strstr (none, "hrtimer"), "%s", none);
  fail_unless (strstr (unknown, "no IIO trigger 'no-such-trigger'")
      && strstr (unknown, SYSFS_TRIGGER), "%s", unknown);
  g_print ("no trigger: '%s'\nunknown trigger: '%s'\n", none, unknown);
  g_free (none);
  g_free (unknown);
}

GST_END_TEST;

/* --- device discovery ------------------------------------------------------ */

/* What the provider says of the device named @name; fails if it is not
 * listed. */
static GstDevice *
find_device (GList * devices, const gchar * name)
{
  GList *l;

  for (l = devices; l; l = l->next) {
    GstStructure *props = gst_device_get_properties (l->data);
    gboolean match = g_strcmp0 (gst_structure_get_string (props, "iio.name"),
        name) == 0;

    gst_structure_free (props);
    if (match)
      return l->data;
  }
  fail ("the device provider does not list %s", name);
  return NULL;
}

static void
expect_device (GList * devices, const gchar * name, const gchar * klass,
    const gchar * dmabuf, const gchar * channel)
{
  GstDevice *device = find_device (devices, name);
  GstStructure *props = gst_device_get_properties (device);
  GstCaps *caps = gst_device_get_caps (device);
  gchar *klass_got = gst_device_get_device_class (device);
  gchar *caps_text = gst_caps_to_string (caps);

  fail_unless_equals_string (klass_got, klass);
  fail_unless_equals_string (gst_structure_get_string (props, "iio.dmabuf"),
      dmabuf);
  fail_unless (strstr (gst_structure_get_string (props, "iio.channels"),
          channel), "%s: %s", name, gst_structure_get_string (props,
          "iio.channels"));
  fail_unless (!gst_caps_is_empty (caps));
  g_print ("  %s (%s): dmabuf %s, channels %s, caps %s\n", name, klass,
      dmabuf, gst_structure_get_string (props, "iio.channels"), caps_text);
  g_free (caps_text);
  g_free (klass_got);
  gst_caps_unref (caps);
  gst_structure_free (props);
}

/* gst-device-monitor-1.0 lists each simulated converter with a buffer, as
 * a source or a sink, whether it takes DMABUFs, its channels and caps; the
 * element it makes captures from it. */
GST_START_TEST (test_device_provider)
{
  GstDeviceProvider *provider =
      gst_device_provider_factory_get_by_name ("iiodeviceprovider");
  GstElement *pipeline, *src, *sink;
  GstStructure *stats;
  GList *devices;
  Expect e;

  fail_unless (provider != NULL);
  devices = gst_device_provider_get_devices (provider);
  g_print ("iiodeviceprovider lists %u devices:\n", g_list_length (devices));
  expect_device (devices, "iio-sim-adc", "Source/IIO", "yes",
      "voltage0 le:s16/16>>0");
  expect_device (devices, "iio-sim-adc12", "Source/IIO", "yes",
      "voltage0 le:s12/16>>4");
  expect_device (devices, "iio-sim-dac", "Sink/IIO", "yes",
      "voltage1 le:s16/16>>0");
  expect_device (devices, "iio-sim-kfifo", "Source/IIO", "no",
      "voltage1 le:s16/16>>0");
  expect_device (devices, "iio-sim-triggered", "Source/IIO", "no",
      "timestamp le:s64/64>>0");

  /* the element the device makes streams from it */
  src = gst_device_create_element (find_device (devices, "iio-sim-adc"), "src");
  fail_unless_equals_string (GST_OBJECT_NAME (gst_element_get_factory (src)),
      "iiodmabufsrc");
  expect_init (&e, "voltage0,voltage1", 16, 0, 256);
  g_object_set (src, "channels", "voltage0,voltage1", "samples-per-block",
      256, "num-buffers", 10, NULL);
  pipeline = gst_pipeline_new (NULL);
  sink = gst_element_factory_make ("fakesink", "sink");
  g_object_set (sink, "signal-handoffs", TRUE, "sync", FALSE, NULL);
  gst_bin_add_many (GST_BIN (pipeline), src, sink, NULL);
  fail_unless (gst_element_link (src, sink));
  g_signal_connect (sink, "handoff", G_CALLBACK (on_handoff_data), &e);
  stats = run_to_eos (pipeline, 60 * GST_SECOND, NULL);
  fail_unless (e.bad == NULL, "%s", e.bad);
  fail_unless_equals_uint64 (e.blocks, 10);
  g_print ("its element: 10 blocks exact\n");

  gst_structure_free (stats);
  gst_object_unref (pipeline);
  expect_clear (&e);
  g_list_free_full (devices, gst_object_unref);
  gst_object_unref (provider);
}

GST_END_TEST;

/* --- the device goes away, or will not start ------------------------------ */

static void
on_handoff_unbind (GstElement * sink, GstBuffer * buf, GstPad * pad, Expect * e)
{
  on_handoff (sink, buf, pad, e);
  if (e->blocks == e->fault_at)
    write_file (SIM_DRIVER "unbind", ADC_PLATFORM);
}

/* The ADC goes away mid-capture (its driver unbound, as at a removal): the
 * error says so at once, from the blocks the removal aborted, not from a
 * timeout on blocks queued to a device that is gone; every block before
 * is exact, and no fd is left. */
GST_START_TEST (test_removed_while_capturing)
{
  GstElement *pipeline;
  GstMessage *msg;
  guint before, warnings = 0;
  GError *warning = NULL;
  gchar *text;
  Expect e;

  expect_init (&e, "voltage0,voltage1", 16, 0, 1024);
  /* a stall would be noticed only after an hour: the error cannot be it */
  pipeline = make_pipeline_with ("device=iio-sim-adc "
      "channels=voltage0,voltage1 samples-per-block=1024 num-blocks=6 "
      "timeout=3600000000000", G_CALLBACK (on_handoff_unbind), &e);
  /* one cycle first: GStreamer's own lazily opened fds are not ours */
  set_state_checked (pipeline, GST_STATE_PLAYING);
  set_state_checked (pipeline, GST_STATE_NULL);
  before = count_fds ();
  expect_clear (&e);
  expect_init (&e, "voltage0,voltage1", 16, 0, 1024);
  e.fault_at = 20;

  msg = run_keeping_warning (pipeline, 60 * GST_SECOND, &warnings, &warning,
      NULL);
  text = error_text (msg);
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  fail_unless_equals_int (count_fds (), before);
  write_file (SIM_DRIVER "bind", ADC_PLATFORM);

  fail_unless (warning == NULL, "a warning before the error: %s",
      warning->message);
  fail_unless (strstr (text, "iio-sim-adc") && strstr (text, "removed"),
      "%s", text);
  fail_unless (e.bad == NULL, "%s", e.bad);
  fail_unless (e.blocks >= 20, "%" G_GUINT64_FORMAT " blocks", e.blocks);
  fail_unless_equals_uint64 (e.data_gaps, 0);
  g_print ("removed mid-capture: '%s' at once (no warning before), %"
      G_GUINT64_FORMAT " blocks exact before; %u fds before and after\n",
      text, e.blocks, before);
  g_free (text);
  gst_object_unref (pipeline);
  expect_clear (&e);
}

GST_END_TEST;

/* The DMABUFs attached to the converters' DMA device, as the kernel lists
 * them (debugfs' dma_buf/bufinfo, mounted if need be). A block queued to a
 * buffer that never runs again keeps its fence, so its DMABUF, for good. */
static guint
dmabufs_attached (void)
{
  const gchar *path = "/sys/kernel/debug/dma_buf/bufinfo";
  gchar *text = NULL, **lines;
  guint n = 0, i;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    fail_unless (system ("mount -t debugfs debugfs /sys/kernel/debug") == 0,
        "cannot mount debugfs");
  fail_unless (g_file_get_contents (path, &text, NULL, NULL), "no %s", path);
  lines = g_strsplit (text, "\n", -1);
  for (i = 0; lines[i]; i++)
    n += g_str_equal (g_strstrip (lines[i]), "iio-sim-dmac");
  g_strfreev (lines);
  g_free (text);
  return n;
}

/* How many transfers the ADC's DMA controller holds (its queue_state) */
static guint
adc_dma_queued (void)
{
  gchar *state = sysfs_read ("iio-sim-adc/queue_state");
  guint n = 0;

  fail_unless (sscanf (state, "queued %u", &n) == 1, "%s", state);
  g_free (state);
  return n;
}

/* Another program disables the ADC's buffer while the source waits on its
 * blocks (the converter stalled, so all are queued but the one fakesink
 * keeps as its last sample): the kernel aborts
 * them. The error says so at once, and no block is queued again to the
 * stopped buffer, where it would never run: the kernel would keep its
 * DMABUF, pinned, for good. Every block before is exact. */
GST_START_TEST (test_stopped_by_another_program)
{
  GstElement *pipeline;
  GstBus *bus;
  GstMessage *msg;
  guint before, after, tries = 0;
  gchar *text;
  Expect e;

  before = dmabufs_attached ();
  expect_init (&e, "voltage0", 16, 0, 1024);
  e.fault_at = 10;
  e.fault_attr = "iio-sim-adc/fault_stall";
  e.fault_n = "1";
  pipeline = make_pipeline ("device=iio-sim-adc channels=voltage0 "
      "samples-per-block=1024 num-blocks=6", &e);
  bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  while ((g_atomic_int_get (&e.seen) < 10 || adc_dma_queued () < 5)
      && ++tries < 1000)
    g_usleep (10 * 1000);
  g_usleep (200 * 1000);
  fail_unless (tries < 1000, "%d blocks, %u queued", g_atomic_int_get
      (&e.seen), adc_dma_queued ());
  sysfs_write ("iio-sim-adc/buffer0/enable", "0");
  msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND, GST_MESSAGE_ERROR |
      GST_MESSAGE_EOS);
  fail_unless (msg != NULL, "no error within 60 s");
  text = error_text (msg);
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  gst_object_unref (bus);
  after = dmabufs_attached ();
  sysfs_write ("iio-sim-adc/fault_stall", "0");

  fail_unless (after == before, "%u DMABUFs attached to the DMA device, %u "
      "before: blocks left queued to the stopped buffer (error: %s)", after,
      before, text);
  fail_unless (strstr (text, "iio-sim-adc")
      && strstr (text, "stopped by another program"), "%s", text);
  fail_unless (e.bad == NULL, "%s", e.bad);
  fail_unless (e.blocks >= 10, "%" G_GUINT64_FORMAT " blocks", e.blocks);
  g_print ("buffer disabled by another program: '%s'; %" G_GUINT64_FORMAT
      " blocks exact before; DMABUFs attached to the DMA device: %u before, "
      "%u after\n", text, e.blocks, before, after);
  g_free (text);
  expect_clear (&e);
}

GST_END_TEST;

/* The converter refuses to start (its driver's preenable fails): the
 * error says so, and no block is left queued to the buffer that never
 * ran (the kernel would keep each DMABUF, pinned, for good); then the
 * device captures as before, exact. */
GST_START_TEST (test_failed_enable_leaves_no_block)
{
  GstElement *pipeline;
  GstMessage *msg;
  gchar *text;
  guint before, after;

  before = dmabufs_attached ();
  sysfs_write ("iio-sim-adc/fault_enable", "1");
  pipeline = gst_parse_launch ("iiodmabufsrc device=iio-sim-adc "
      "channels=voltage0 samples-per-block=1024 num-blocks=6 ! fakesink", NULL);
  msg = run (pipeline, 60 * GST_SECOND, NULL);
  text = error_text (msg);
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  after = dmabufs_attached ();
  sysfs_write ("iio-sim-adc/fault_enable", "0");

  fail_unless (strstr (text, "iio-sim-adc") && strstr (text, "did not start")
      && strstr (text, "dmesg"), "%s", text);
  fail_unless_equals_int (after, before);
  g_print ("enable refused: '%s'; DMABUFs attached to the DMA device %u "
      "before, %u after\n", text, before, after);
  g_free (text);
  capture_exact ("voltage0", 1024, 48000, 20);
}

GST_END_TEST;

/* --- a DMABUF with many fences -------------------------------------------- */

#define DAC "iio-sim-dac"
#define FNV_OFFSET G_GUINT64_CONSTANT (0xcbf29ce484222325)
#define FNV_PRIME G_GUINT64_CONSTANT (0x100000001b3)
#define VGEM_FENCES 8
#define DRM_IOCTL_VGEM_FENCE_ATTACH \
  DRM_IOWR (DRM_COMMAND_BASE + 0x1, struct vgem_fence_attach)
#define DRM_IOCTL_VGEM_FENCE_SIGNAL \
  DRM_IOW (DRM_COMMAND_BASE + 0x2, struct vgem_fence_signal)

/* include/uapi/drm/vgem_drm.h (not in Debian's libdrm-dev) */
struct vgem_fence_attach
{
  guint32 handle, flags, out_fence, pad;
};

struct vgem_fence_signal
{
  guint32 fence, flags;
};

/* Readers of the blocks besides the DAC, as a GPU would be: vgem fences
 * on each block's DMABUF (a dumb buffer of vgem itself), attached before
 * the DAC queues it and signalled once it has (at the next block). */
typedef struct
{
  gint vgem;
  guint fences;                 /* each block gets, at most VGEM_FENCES */
  guint32 pending[VGEM_FENCES];
  guint n_pending;
  guint64 blocks;
} Readers;

static void
readers_signal (Readers * r)
{
  guint i;

  for (i = 0; i < r->n_pending; i++) {
    struct vgem_fence_signal sig = {.fence = r->pending[i] };

    fail_unless (ioctl (r->vgem, DRM_IOCTL_VGEM_FENCE_SIGNAL, &sig) == 0,
        "VGEM_FENCE_SIGNAL: %s", g_strerror (errno));
  }
  r->n_pending = 0;
}

static void
readers_attach (Readers * r, GstBuffer * buf)
{
  struct drm_prime_handle prime = {.fd =
        gst_dmabuf_memory_get_fd (gst_buffer_peek_memory (buf, 0))
  };
  struct drm_gem_close gem = { 0 };
  guint i;

  fail_unless (ioctl (r->vgem, DRM_IOCTL_PRIME_FD_TO_HANDLE, &prime) == 0,
      "PRIME_FD_TO_HANDLE: %s", g_strerror (errno));
  for (i = 0; i < r->fences; i++) {
    struct vgem_fence_attach att = {.handle = prime.handle };

    fail_unless (ioctl (r->vgem, DRM_IOCTL_VGEM_FENCE_ATTACH, &att) == 0,
        "VGEM_FENCE_ATTACH: %s", g_strerror (errno));
    r->pending[r->n_pending++] = att.out_fence;
  }
  gem.handle = prime.handle;
  ioctl (r->vgem, DRM_IOCTL_GEM_CLOSE, &gem);
}

static GstPadProbeReturn
on_block_to_dac (GstPad * pad, GstPadProbeInfo * info, Readers * r)
{
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    readers_signal (r);         /* the block before is queued by now */
    readers_attach (r, GST_PAD_PROBE_INFO_BUFFER (info));
    r->blocks++;
  } else if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) == GST_EVENT_EOS) {
    readers_signal (r);
  }
  return GST_PAD_PROBE_OK;
}

/* ADC to DAC, zero-copy, while @fences other readers (vgem fences) hold
 * each block too: the DAC's fence is read among them, and no block is
 * taken for failed. The DAC plays the ADC's formula exact. */
static void
play_beside_readers (guint fences)
{
  const guint blocks = 60, spb = 1024;
  gchar *card = drm_card (), *desc;
  Readers r = {.fences = fences };
  GstElement *pipeline, *sink;
  GstStructure *stats;
  GstPad *pad;
  guint64 want = FNV_OFFSET, k;
  guint warnings = 0;
  GstMessage *msg;

  desc = g_strdup_printf ("iiodmabufsrc name=src device=iio-sim-adc "
      "channels=voltage0,voltage1 samples-per-block=%u num-blocks=8 "
      "dmabuf-origin=drm drm-device=%s num-buffers=%u ! iiodmabufsink "
      "name=sink device=" DAC, spb, card, blocks);
  pipeline = gst_parse_launch (desc, NULL);
  r.vgem = open (card, O_RDWR | O_CLOEXEC);
  fail_unless (r.vgem >= 0, "open %s: %s", card, g_strerror (errno));
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, (GstPadProbeCallback)
      on_block_to_dac, &r, NULL);
  gst_object_unref (pad);
  msg = run (pipeline, 120 * GST_SECOND, &warnings);
  fail_unless (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS, "%s",
      error_text (msg));
  gst_message_unref (msg);
  g_object_get (sink, "stats", &stats, NULL);
  gst_element_set_state (pipeline, GST_STATE_NULL);

  for (k = 0; k < (guint64) blocks * spb; k++) {
    guint8 scan[4] = { k & 0xff, (k >> 8) & 0xff, (k + 0x100) & 0xff,
      ((k + 0x100) >> 8) & 0xff
    };
    guint i;

    for (i = 0; i < 4; i++)
      want = (want ^ scan[i]) * FNV_PRIME;
  }
  fail_unless_equals_uint64 (r.blocks, blocks);
  fail_unless_equals_uint64 (stat_u64 (stats, "fence-errors"), 0);
  fail_unless_equals_int (warnings, 0);
  fail_unless_equals_uint64 (stat_u64 (stats, "imports"), blocks);
  fail_unless_equals_uint64 (sysfs_read_u64 (DAC, "consumed_bytes"),
      (guint64) blocks * spb * 4);
  fail_unless_equals_uint64 (sysfs_read_u64 (DAC, "checksum"), want);
  g_print ("%u blocks, each also read by %u vgem fences: the DAC played "
      "them exact, 0 fence errors\n", blocks, fences);
  gst_structure_free (stats);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  close (r.vgem);
  g_free (desc);
  g_free (card);
}

/* The sink reads a sync_file with room for 8 fences: 1 + 3 fit, 1 + 8
 * take the count first, then the fences. */
GST_START_TEST (test_block_with_many_fences)
{
  play_beside_readers (3);
  play_beside_readers (VGEM_FENCES);
}

GST_END_TEST;

/* --- DMABUFs another device holds ----------------------------------------- */

/* The DAC's buffer as another program drives it, beside the element:
 * voltage0 and voltage1 (4 bytes a scan, as the ADC's two channels). */
typedef struct
{
  gint dev_fd, buffer_fd;
  GArray *attached;             /* DMABUF fds */
} RawDac;

static void
raw_dac_open (RawDac * d)
{
  gchar *node = sysfs_node (DAC);

  sysfs_write (DAC "/buffer0/enable", "0");
  sysfs_write (DAC "/buffer0/out_voltage0_en", "1");
  sysfs_write (DAC "/buffer0/out_voltage1_en", "1");
  d->dev_fd = open (node, O_RDWR | O_CLOEXEC);
  fail_unless (d->dev_fd >= 0, "open %s: %s", node, g_strerror (errno));
  d->buffer_fd = 0;
  fail_unless (ioctl (d->dev_fd, IIO_BUFFER_GET_FD_IOCTL, &d->buffer_fd) == 0,
      "GET_FD: %s", g_strerror (errno));
  d->attached = g_array_new (FALSE, FALSE, sizeof (gint));
  g_free (node);
}

/* Attaches every DMABUF, then queues each whole to the DAC, still
 * disabled: their fences stay pending until it is enabled. */
static void
raw_dac_queue (RawDac * d, const gint * fds, guint n, gsize bytes)
{
  guint i;

  for (i = 0; i < n; i++) {
    fail_unless (ioctl (d->buffer_fd, IIO_BUFFER_DMABUF_ATTACH_IOCTL,
            &fds[i]) == 0, "DAC ATTACH: %s", g_strerror (errno));
    g_array_append_val (d->attached, fds[i]);
  }
  for (i = 0; i < n; i++) {
    struct iio_dmabuf req = {.fd = fds[i],.bytes_used = bytes };

    fail_unless (ioctl (d->buffer_fd, IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
            &req) == 0, "DAC ENQUEUE: %s", g_strerror (errno));
  }
}

static void
raw_dac_close (RawDac * d)
{
  guint i;

  sysfs_write (DAC "/buffer0/enable", "0");
  for (i = 0; i < d->attached->len; i++)
    ioctl (d->buffer_fd, IIO_BUFFER_DMABUF_DETACH_IOCTL,
        &g_array_index (d->attached, gint, i));
  g_array_unref (d->attached);
  close (d->buffer_fd);
  close (d->dev_fd);
}

static guint64
fnv_add (guint64 hash, GstBuffer * buf)
{
  GstMapInfo map;
  gsize i;

  fail_unless (gst_buffer_map (buf, &map, GST_MAP_READ));
  for (i = 0; i < map.size; i++)
    hash = (hash ^ map.data[i]) * FNV_PRIME;
  gst_buffer_unmap (buf, &map);
  return hash;
}

/* The test's own signals: often, and without SA_RESTART, as an
 * application's timer may be. They go to the threads that unblock them:
 * the streaming thread, and the application's while it lets go of blocks
 * (elsewhere in the test thread an interrupted wait would make
 * gst_element_get_state() fail). */
static gint signals_caught;

static void
on_signal (int sig)
{
  g_atomic_int_inc (&signals_caught);
}

static void
signals_take (gboolean take)
{
  sigset_t set;

  sigemptyset (&set);
  sigaddset (&set, SIGUSR2);
  pthread_sigmask (take ? SIG_UNBLOCK : SIG_BLOCK, &set, NULL);
}

/* Blocked in this thread and so in those it makes from now on. */
static timer_t
signals_start (void)
{
  struct sigaction sa = {.sa_handler = on_signal };     /* no SA_RESTART */
  struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL,.sigev_signo = SIGUSR2 };
  struct itimerspec every_ms = { {0, 1000000}, {0, 1000000} };
  timer_t timer;

  signals_take (FALSE);
  sigemptyset (&sa.sa_mask);
  fail_unless (sigaction (SIGUSR2, &sa, NULL) == 0);
  fail_unless (timer_create (CLOCK_MONOTONIC, &ev, &timer) == 0);
  fail_unless (timer_settime (timer, 0, &every_ms, NULL) == 0);
  return timer;
}

static void
signals_stop (timer_t timer)
{
  timer_delete (timer);
  signal (SIGUSR2, SIG_IGN);
}

/* Blocks of the capture lent to the DAC, and what the capture did after. */
typedef struct
{
  Expect *e;
  GMutex lock;
  guint lend_at, n_lent;
  GstBuffer *lent[4];
  GHashTable *lent_inodes;      /* filled before they are given back */
  gint given_back;              /* set once the DAC holds them */
  gint dac_enabled;
  gint back;                    /* lent DMABUFs seen again after */
  gint early;                   /* ... or before the DAC let go */
  gboolean signals;             /* the streaming thread takes them */
} Lending;

static gboolean
is_lent (Lending * l, GstBuffer * buf)
{
  GstMemory *mem = gst_buffer_peek_memory (buf, 0);
  struct stat st;

  if (!gst_is_dmabuf_memory (mem)
      || fstat (gst_dmabuf_memory_get_fd (mem), &st) != 0)
    return FALSE;
  return g_hash_table_remove (l->lent_inodes, GSIZE_TO_POINTER ((gsize)
          st.st_ino));
}

static void
on_handoff_lend (GstElement * sink, GstBuffer * buf, GstPad * pad, Lending * l)
{
  guint64 n = l->e->blocks;

  if (n == 0 && l->signals)
    signals_take (TRUE);
  on_handoff (sink, buf, pad, l->e);
  g_mutex_lock (&l->lock);
  if (n >= l->lend_at && n < l->lend_at + l->n_lent)
    l->lent[n - l->lend_at] = gst_buffer_ref (buf);
  else if (g_atomic_int_get (&l->given_back) && is_lent (l, buf)) {
    if (g_atomic_int_get (&l->dac_enabled))
      g_atomic_int_inc (&l->back);
    else
      g_atomic_int_inc (&l->early);
  }
  g_mutex_unlock (&l->lock);
}

/*
 * @n blocks of a capture are given to the DAC, which holds them (queued
 * while it is disabled: their fences pending), and let go of by the
 * application at once. The capture goes on with the others: @more blocks,
 * none of the lent ones; the DAC then plays them (its checksum equal to
 * what was lent), and each comes back to the capture. Every sample exact,
 * no block failed, no warning; a stall must fail, not hang.
 */
static void
lend_to_dac (guint n, guint more, gboolean with_signals)
{
  Lending l = { 0, };
  GstElement *pipeline;
  GstStructure *stats;
  RawDac dac;
  Watchdog w;
  timer_t timer = 0;
  guint64 want = FNV_OFFSET, bytes = 0;
  gint fds[4], seen;
  guint i, warnings = 0;
  GstMessage *msg;
  GstBus *bus;
  Expect e;

  expect_init (&e, "voltage0,voltage1", 16, 0, 1024);
  l.e = &e;
  l.lend_at = 10;
  l.n_lent = n;
  l.signals = with_signals;
  l.lent_inodes = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_mutex_init (&l.lock);
  pipeline = make_pipeline_with ("device=iio-sim-adc "
      "channels=voltage0,voltage1 samples-per-block=1024 num-blocks=8",
      G_CALLBACK (on_handoff_lend), &l);
  if (with_signals)
    timer = signals_start ();
  watchdog_start (&w, "lend_to_dac");
  set_state_checked (pipeline, GST_STATE_PLAYING);
  wait_count (pipeline, &e.seen, l.lend_at + n);

  raw_dac_open (&dac);
  g_mutex_lock (&l.lock);
  for (i = 0; i < n; i++) {
    GstMemory *mem = gst_buffer_peek_memory (l.lent[i], 0);
    struct stat st;

    fds[i] = gst_dmabuf_memory_get_fd (mem);
    fail_unless (fstat (fds[i], &st) == 0);
    g_hash_table_add (l.lent_inodes, GSIZE_TO_POINTER ((gsize) st.st_ino));
    want = fnv_add (want, l.lent[i]);
    bytes += gst_buffer_get_size (l.lent[i]);
  }
  raw_dac_queue (&dac, fds, n, gst_buffer_get_size (l.lent[0]));
  g_atomic_int_set (&l.given_back, 1);
  g_mutex_unlock (&l.lock);
  /* the application lets go while the DAC still reads them */
  signals_take (TRUE);
  for (i = 0; i < n; i++)
    gst_buffer_unref (l.lent[i]);
  if (with_signals)
    signals_take (FALSE);
  watchdog_tick (&w, 1);

  seen = g_atomic_int_get (&e.seen);
  wait_count (pipeline, &e.seen, seen + more);
  watchdog_tick (&w, 2);
  fail_unless_equals_int (g_atomic_int_get (&l.early), 0);
  g_atomic_int_set (&l.dac_enabled, 1);
  sysfs_write (DAC "/buffer0/enable", "1");
  wait_count (pipeline, &l.back, n);
  watchdog_stop (&w);
  if (with_signals)
    signals_stop (timer);

  stats = get_stats (pipeline);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  bus = gst_element_get_bus (pipeline);
  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING |
              GST_MESSAGE_ERROR))) {
    gchar *text = error_text (msg);

    GST_ERROR ("%s", text);
    fail_if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR, "error: %s", text);
    warnings += !is_overrun_warning (msg);
    g_free (text);
    gst_message_unref (msg);
  }
  gst_object_unref (bus);
  fail_unless_equals_uint64 (sysfs_read_u64 (DAC, "consumed_bytes"), bytes);
  fail_unless_equals_uint64 (sysfs_read_u64 (DAC, "checksum"), want);
  raw_dac_close (&dac);

  fail_unless (e.bad == NULL, "%s", e.bad);
  fail_unless_equals_uint64 (e.data_gaps, 0);
  fail_unless_equals_uint64 (stat_u64 (stats, "failed-blocks"), 0);
  fail_unless_equals_int (warnings, 0);
  if (with_signals)
    fail_unless (g_atomic_int_get (&signals_caught) > 100, "%d signals",
        g_atomic_int_get (&signals_caught));
  g_print ("%u blocks lent to a DAC that held them: %u more blocks exact "
      "meanwhile, none of them lent; the DAC played the lent %" G_GUINT64_FORMAT
      " bytes exact, all %u came back; %" G_GUINT64_FORMAT " blocks, %"
      G_GUINT64_FORMAT " samples exact, 0 failed; %d signals caught\n", n,
      more, bytes, n, e.blocks, e.samples_checked,
      g_atomic_int_get (&signals_caught));
  gst_structure_free (stats);
  gst_object_unref (pipeline);
  g_hash_table_destroy (l.lent_inodes);
  g_mutex_clear (&l.lock);
  expect_clear (&e);
}

/* Zero-copy ADC to DAC where the DAC's fences do not signal (its enable
 * failed, or it stalls): the blocks the application gives back wait
 * aside, the capture's thread is not held, and they return when free. */
GST_START_TEST (test_blocks_held_by_another_device)
{
  lend_to_dac (4, 48, FALSE);
}

GST_END_TEST;

/* The same with a timer signal every millisecond (no SA_RESTART): no
 * interrupted call becomes an error. */
GST_START_TEST (test_signals_during_capture)
{
  lend_to_dac (2, 200, TRUE);
}

GST_END_TEST;

/* --- small ones ----------------------------------------------------------- */

/* An iiodmabufsrc on its own (a pipeline keeps clock-provide to itself),
 * taken to PAUSED: whether it announced a clock, claims one, gives one. */
static void
clock_offer (const gchar * props, gboolean * announced, gboolean * claimed,
    gboolean * given)
{
  GstElement *src = gst_element_factory_make ("iiodmabufsrc", NULL);
  GstBus *bus = gst_bus_new ();
  GstClock *clock;
  GstMessage *msg;
  gchar **kv = g_strsplit_set (props, " =", -1);
  guint i;

  for (i = 0; kv[i] && kv[i + 1]; i += 2)
    gst_util_set_object_arg (G_OBJECT (src), kv[i], kv[i + 1]);
  g_strfreev (kv);
  gst_element_set_bus (src, bus);
  fail_if (gst_element_set_state (src, GST_STATE_PAUSED) ==
      GST_STATE_CHANGE_FAILURE);
  *announced = FALSE;
  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_CLOCK_PROVIDE))) {
    *announced = TRUE;
    gst_message_unref (msg);
  }
  *claimed = GST_OBJECT_FLAG_IS_SET (src, GST_ELEMENT_FLAG_PROVIDE_CLOCK);
  clock = gst_element_provide_clock (src);
  *given = clock != NULL;
  if (clock)
    gst_object_unref (clock);
  gst_element_set_state (src, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (src);
}

/* A converter that does not know its rate (a triggered one: the trigger's
 * rate is the rate) gives no clock: it neither claims one (the flag) nor
 * announces one (clock-provide). With a rate it does all three. */
GST_START_TEST (test_no_clock_without_rate)
{
  gboolean announced, claimed, given;

  ensure_sysfs_trigger ();
  clock_offer ("device=iio-sim-triggered channels=voltage0 "
      "trigger=" SYSFS_TRIGGER, &announced, &claimed, &given);
  fail_if (given);
  fail_if (claimed, "the PROVIDE_CLOCK flag with no rate");
  fail_if (announced, "clock-provide posted with no rate");
  clock_offer ("device=iio-sim-adc channels=voltage0", &announced, &claimed,
      &given);
  fail_unless (given && claimed && announced);
  g_print ("no rate: no clock claimed, announced or given; 48 kHz: all "
      "three\n");
}

GST_END_TEST;

/* Plays to EOS; the failed-block warnings' counts ("N block(s) ..."),
 * added up, in @told, and how many warnings there were. */
static GstMessage *
run_counting_failed (GstElement * pipeline, guint64 * told, guint * warnings,
    gchar ** first)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  GError *error = NULL;
  GstMessage *msg;

  *told = 0;
  *warnings = 0;
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  for (;;) {
    msg = gst_bus_timed_pop_filtered (bus, 120 * GST_SECOND,
        GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_WARNING);
    fail_unless (msg != NULL, "no EOS or error within 120 s");
    if (GST_MESSAGE_TYPE (msg) != GST_MESSAGE_WARNING)
      break;
    gst_message_parse_warning (msg, &error, NULL);
    if (strstr (error->message, " block(s) ")) {
      *told += g_ascii_strtoull (error->message, NULL, 10);
      if ((*warnings)++ == 0)
        *first = g_strdup (error->message);
    }
    g_clear_error (&error);
    gst_message_unref (msg);
  }
  gst_object_unref (bus);
  return msg;
}

/* A burst of failed blocks is one warning that counts them, not one each
 * (a failing device would flood the bus); what the limit held back is
 * told at the end of the stream: the counts add up to the stats. */
GST_START_TEST (test_failed_block_warnings_limited)
{
  GstElement *pipeline;
  GstStructure *stats;
  GstMessage *msg;
  gchar *first_text = NULL;
  guint warnings;
  guint64 told;
  Expect e;

  expect_init (&e, "voltage0,voltage1", 16, 0, 1024);
  e.fault_at = 20;
  e.fault_attr = "iio-sim-adc/fault_eio_blocks";
  e.fault_n = "8";
  pipeline = make_pipeline ("device=iio-sim-adc channels=voltage0,voltage1 "
      "samples-per-block=1024 sampling-frequency=102400 num-buffers=60", &e);
  msg = run_counting_failed (pipeline, &told, &warnings, &first_text);
  fail_unless_equals_int (GST_MESSAGE_TYPE (msg), GST_MESSAGE_EOS);
  gst_message_unref (msg);
  stats = get_stats (pipeline);
  gst_element_set_state (pipeline, GST_STATE_NULL);

  fail_unless (e.bad == NULL, "%s", e.bad);
  fail_unless_equals_uint64 (stat_u64 (stats, "failed-blocks"), 8);
  fail_unless (warnings >= 1 && warnings < 8, "%u warnings for 8 failed "
      "blocks", warnings);
  fail_unless (strstr (first_text, "failed"), "%s", first_text);
  fail_unless (told == 8, "the warnings told %" G_GUINT64_FORMAT " failed "
      "blocks, the stats 8", told);
  g_print ("8 failed blocks: %u warning(s) telling %" G_GUINT64_FORMAT
      ", the first '%s'\n", warnings, told, first_text);
  g_free (first_text);
  gst_structure_free (stats);
  gst_object_unref (pipeline);
  expect_clear (&e);
}

GST_END_TEST;

static Suite *
iiodmabufsrc_suite (void)
{
  Suite *s = suite_create ("iiodmabufsrc");
  TCase *tc = tcase_create ("kernel");

  tcase_set_timeout (tc, 600);
  tcase_add_checked_fixture (tc, setup_inputs, NULL);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_capture_all_channels);
  tcase_add_test (tc, test_capture_subset);
  tcase_add_test (tc, test_capture_one_channel_small_blocks);
  tcase_add_test (tc, test_adc12_caps_and_data);
  tcase_add_test (tc, test_audio_caps);
  tcase_add_test (tc, test_offered_caps);
  tcase_add_test (tc, test_negotiated_rate_and_channels);
  tcase_add_test (tc, test_starvation_copies);
  tcase_add_test (tc, test_kfifo_falls_back_to_read);
  tcase_add_test (tc, test_rw_first_blocks_in_order);
  tcase_add_test (tc, test_rw_clock_after_settle);
  tcase_add_test (tc, test_kfifo_dmabuf_mode_error);
  tcase_add_test (tc, test_bad_device_and_channel);
  tcase_add_test (tc, test_busy_device);
  tcase_add_test (tc, test_failed_blocks);
  tcase_add_test (tc, test_stall_error_and_prompt_stop);
  tcase_add_test (tc, test_state_cycles_leak_no_fd);
  tcase_add_test (tc, test_latency);
  tcase_add_test (tc, test_udmabuf_fallback);
  tcase_add_test (tc, test_drm_origin);
  tcase_add_test (tc, test_drm_device_by_path);
  tcase_add_test (tc, test_auto_falls_back_to_drm);
  tcase_add_test (tc, test_no_dmabuf_reads);
  tcase_add_test (tc, test_drm_device_refused);
  tcase_add_test (tc, test_drm_device_without_access);
  tcase_add_test (tc, test_heap_by_name);
  tcase_add_test (tc, test_scattered_memory_needs_cma);
  tcase_add_test (tc, test_block_too_large);
  tcase_add_test (tc, test_subbuffers_outlive_buffer);
  tcase_add_test (tc, test_restart_while_app_holds_buffer);
  tcase_add_test (tc, test_release_while_stopping);
  tcase_add_test (tc, test_flush_mid_capture);
  tcase_add_test (tc, test_pause_resume);
  tcase_add_test (tc, test_caps_change_mid_capture);
  tcase_add_test (tc, test_every_state_order);
  tcase_add_test (tc, test_stats_from_another_thread);
  tcase_add_test (tc, test_caps_queries_during_state_changes);
  tcase_add_test (tc, test_settings_changed_in_ready);
  tcase_add_test (tc, test_size_overflow_refused);
  tcase_add_test (tc, test_fast_converter_no_false_failures);
  tcase_add_test (tc, test_failed_submit_dropped);
  tcase_add_test (tc, test_failed_submit_found_late);
  tcase_add_test (tc, test_every_submit_failing_found_late);
  tcase_add_test (tc, test_failed_start_retried);
  tcase_add_test (tc, test_length_and_watermark);
  tcase_add_test (tc, test_fixed_watermark_dmabuf);
  tcase_add_test (tc, test_fixed_watermark_rw);
  tcase_add_test (tc, test_block_must_fit_dma);
  tcase_add_test (tc, test_geometry_limits);
  tcase_add_test (tc, test_buffer_left_enabled);
  tcase_add_test (tc, test_slow_consumer_real_time);
  tcase_add_test (tc, test_overruns_measured);
  tcase_add_test (tc, test_capacity_warning_names_block_size);
  tcase_add_test (tc, test_no_loss_no_discont);
  tcase_add_test (tc, test_overruns_exact_with_timestamps);
  tcase_add_test (tc, test_clock_from_samples);
  tcase_add_test (tc, test_slaved_to_another_clock);
  tcase_add_test (tc, test_triggered_capture);
  tcase_add_test (tc, test_trigger_errors);
  tcase_add_test (tc, test_triggered_by_hrtimer);
  tcase_add_test (tc, test_device_provider);
  tcase_add_test (tc, test_removed_while_capturing);
  tcase_add_test (tc, test_stopped_by_another_program);
  tcase_add_test (tc, test_failed_enable_leaves_no_block);
  tcase_add_test (tc, test_blocks_held_by_another_device);
  tcase_add_test (tc, test_signals_during_capture);
  tcase_add_test (tc, test_block_with_many_fences);
  tcase_add_test (tc, test_no_clock_without_rate);
  tcase_add_test (tc, test_failed_block_warnings_limited);
  return s;
}

GST_CHECK_MAIN (iiodmabufsrc);
