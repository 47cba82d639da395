/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * iiodmabufsrc against the simulated converters (run in the VM). Every
 * sample that reaches the sink is checked against the converters' formula:
 * sample k of channel c holds (k + c * 0x100) mod 2^realbits.
 */
#include <gst/check/gstcheck.h>
#include <gst/allocators/allocators.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

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
  guint64 non_dmabuf;
  GstClockTime last_pts;
  GHashTable *inodes;
  GPtrArray *held;              /* buffers kept to starve the source */
  guint hold;
  guint fault_at;               /* arm fault_eio_blocks at this block */
  const gchar *fault_attr;
  gchar *bad;                   /* the first mismatch */
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
  e->inodes = g_hash_table_new (g_int64_hash, g_int64_equal);
  e->held = g_ptr_array_new_with_free_func ((GDestroyNotify) gst_buffer_unref);
  g_strfreev (ids);
}

static void
expect_clear (Expect * e)
{
  g_hash_table_destroy (e->inodes);
  g_ptr_array_unref (e->held);
  g_free (e->bad);
}

static void
note_memory (Expect * e, GstBuffer * buf)
{
  GstMemory *mem = gst_buffer_peek_memory (buf, 0);
  struct stat st;
  gint64 *ino;

  if (!gst_is_dmabuf_memory (mem)) {
    e->non_dmabuf++;
    return;
  }
  fail_unless (fstat (gst_dmabuf_memory_get_fd (mem), &st) == 0);
  ino = g_new (gint64, 1);
  *ino = st.st_ino;
  if (!g_hash_table_add (e->inodes, ino))
    g_free (ino);
}

/* Checks every sample of @buf; records the first mismatch. */
static void
check_samples (Expect * e, GstBuffer * buf)
{
  guint64 mask = (1ULL << e->realbits) - 1, k = GST_BUFFER_OFFSET (buf);
  GstMapInfo map;
  const guint16 *s;
  guint i, c;

  fail_unless (gst_buffer_map (buf, &map, GST_MAP_READ));
  fail_unless_equals_int (map.size, e->spb * e->n_channels * 2);
  s = (const guint16 *) map.data;
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

/* The first buffer is DISCONT; each is stamped, in order, a block long. */
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
  else if (e->blocks > 0 && pts < e->last_pts)
    e->bad = g_strdup_printf ("block %" G_GUINT64_FORMAT " goes back in time",
        e->blocks);
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
  if (++e->blocks == e->fault_at)
    sysfs_write (e->fault_attr, "2");
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
  fail_unless_equals_uint64 (e.next_offset, (guint64) blocks * spb);
  fail_unless_equals_uint64 (e.discont_jumps, 0);
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

/* -EIO blocks: a warning each, DISCONT, the stream goes on exact. */
GST_START_TEST (test_failed_blocks)
{
  Expect e;
  GstElement *pipeline;
  GstStructure *stats;
  guint warnings = 0;

  expect_init (&e, "voltage0,voltage1", 16, 0, 1024);
  e.fault_at = 20;
  e.fault_attr = "iio-sim-adc/fault_eio_blocks";
  pipeline = make_pipeline ("device=iio-sim-adc channels=voltage0,voltage1 "
      "samples-per-block=1024 sampling-frequency=102400 num-buffers=60", &e);
  stats = run_to_eos (pipeline, 120 * GST_SECOND, &warnings);

  fail_unless (e.bad == NULL, "%s", e.bad);
  fail_unless_equals_int (warnings, 2);
  fail_unless_equals_uint64 (stat_u64 (stats, "failed-blocks"), 2);
  fail_unless_equals_uint64 (stat_u64 (stats, "lost-samples"), 2048);
  fail_unless (e.discont_jumps >= 1);
  fail_unless_equals_uint64 (e.next_offset, 62 * 1024);
  g_print ("failed blocks: 2 warnings, DISCONT, 60 blocks exact after\n");
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
      "num-blocks=5 "
      "! fakesink", NULL);
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


/* Without access to the heap, blocks come from udmabuf and data is exact. */
GST_START_TEST (test_udmabuf_fallback)
{
  Expect e;
  GstElement *pipeline;
  GstStructure *stats;

  expect_init (&e, "voltage0,voltage1", 16, 0, 512);
  pipeline = make_pipeline ("device=iio-sim-adc channels=voltage0,voltage1 "
      "samples-per-block=512 sampling-frequency=51200 num-blocks=6 "
      "dma-heap=/dev/dma_heap/no-such-heap num-buffers=100", &e);
  stats = run_to_eos (pipeline, 120 * GST_SECOND, NULL);

  fail_unless (e.bad == NULL, "%s", e.bad);
  fail_unless_equals_uint64 (e.blocks, 100);
  fail_unless_equals_uint64 (e.non_dmabuf, 0);
  fail_unless_equals_int (g_hash_table_size (e.inodes), 6);
  fail_unless_equals_string (gst_structure_get_string (stats,
          "dmabuf-origin"), "udmabuf");
  g_print ("udmabuf fallback: %" G_GUINT64_FORMAT " samples exact\n",
      e.samples_checked);
  gst_structure_free (stats);
  gst_object_unref (pipeline);
  expect_clear (&e);
}

GST_END_TEST;

GST_START_TEST (test_block_too_large)
{
  gchar *text = start_error ("device=iio-sim-adc samples-per-block=2147483647");

  fail_unless (strstr (text, "samples-per-block"), "%s", text);
  g_free (text);
}

GST_END_TEST;

/*
 * Checked fixture: lossless inputs, and the ADCs' buffers disabled, since
 * a test that crashed or was killed (a deadlock's watchdog, the OOM killer)
 * leaves its buffer enabled and would fail the next test too.
 */
static void
setup_inputs (void)
{
  sysfs_lossless_inputs ();
  sysfs_write ("iio-sim-adc/buffer0/enable", "0");
  sysfs_write ("iio-sim-adc12/buffer0/enable", "0");
}

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
  tcase_add_test (tc, test_kfifo_dmabuf_mode_error);
  tcase_add_test (tc, test_bad_device_and_channel);
  tcase_add_test (tc, test_busy_device);
  tcase_add_test (tc, test_failed_blocks);
  tcase_add_test (tc, test_stall_error_and_prompt_stop);
  tcase_add_test (tc, test_state_cycles_leak_no_fd);
  tcase_add_test (tc, test_latency);
  tcase_add_test (tc, test_udmabuf_fallback);
  tcase_add_test (tc, test_block_too_large);
  return s;
}

GST_CHECK_MAIN (iiodmabufsrc);
