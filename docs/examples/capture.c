/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Embedding iiodmabufsrc in an application: capture N blocks from an IIO
 * device, look at each buffer, read the element's stats, and report an
 * error the way the element words it.
 *
 *   capture DEVICE CHANNELS N      e.g. capture iio-sim-adc voltage0,voltage1 100
 *
 * Exits 0 after N blocks, 1 with the element's error on stderr.
 */
#include <gst/gst.h>

typedef struct
{
  guint64 blocks, bytes;
} Seen;

static void
on_handoff (GstElement * sink, GstBuffer * buf, GstPad * pad, Seen * seen)
{
  seen->blocks++;
  seen->bytes += gst_buffer_get_size (buf);
}

int
main (int argc, char **argv)
{
  GstElement *pipeline, *src, *sink;
  GstStructure *stats = NULL;
  GstMessage *msg;
  Seen seen = { 0, };
  gchar *text;
  gint ret = 1;

  gst_init (&argc, &argv);
  if (argc != 4) {
    g_printerr ("usage: %s DEVICE CHANNELS N\n", argv[0]);
    return 2;
  }
  pipeline = gst_pipeline_new (NULL);
  src = gst_element_factory_make ("iiodmabufsrc", NULL);
  sink = gst_element_factory_make ("fakesink", NULL);
  if (!src || !sink) {
    g_printerr ("iiodmabufsrc is not installed: set GST_PLUGIN_PATH\n");
    return 1;
  }
  g_object_set (src, "device", argv[1], "channels", argv[2], "num-buffers",
      atoi (argv[3]), NULL);
  g_object_set (sink, "signal-handoffs", TRUE, "sync", FALSE, NULL);
  g_signal_connect (sink, "handoff", G_CALLBACK (on_handoff), &seen);
  gst_bin_add_many (GST_BIN (pipeline), src, sink, NULL);
  gst_element_link (src, sink);

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (pipeline),
      GST_CLOCK_TIME_NONE, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *error = NULL;

    gst_message_parse_error (msg, &error, NULL);
    g_printerr ("error: %s\n", error->message);
    g_error_free (error);
  } else {
    g_object_get (src, "stats", &stats, NULL);
    text = gst_structure_to_string (stats);
    g_print ("captured %" G_GUINT64_FORMAT " blocks, %" G_GUINT64_FORMAT
        " bytes\nstats: %s\n", seen.blocks, seen.bytes, text);
    g_free (text);
    gst_structure_free (stats);
    ret = 0;
  }
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  return ret;
}
