/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Test helpers shared by the kernel suites: running a pipeline to its end,
 * reading messages and stats, counting this process's open fds.
 */
#ifndef __TESTS_PIPELINE_H__
#define __TESTS_PIPELINE_H__

#include <gst/check/gstcheck.h>

/* Plays until EOS or error, within @limit; warnings are counted. */
static inline GstMessage *
run (GstElement * pipeline, GstClockTime limit, guint * warnings)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg;

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  for (;;) {
    msg = gst_bus_timed_pop_filtered (bus, limit, GST_MESSAGE_EOS |
        GST_MESSAGE_ERROR | GST_MESSAGE_WARNING);
    fail_unless (msg != NULL, "no EOS or error within the limit");
    if (GST_MESSAGE_TYPE (msg) != GST_MESSAGE_WARNING)
      break;
    if (warnings)
      (*warnings)++;
    gst_message_unref (msg);
  }
  gst_object_unref (bus);
  return msg;
}

/* The text of an error or warning message (a newly allocated string). */
static inline gchar *
error_text (GstMessage * msg)
{
  GError *error = NULL;
  gchar *text;

  fail_unless (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR ||
      GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING,
      "expected an error, got %s", GST_MESSAGE_TYPE_NAME (msg));
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    gst_message_parse_error (msg, &error, NULL);
  else
    gst_message_parse_warning (msg, &error, NULL);
  text = g_strdup (error->message);
  g_error_free (error);
  return text;
}

static inline guint64
stat_u64 (const GstStructure * s, const gchar * field)
{
  guint64 v = 0;

  fail_unless (gst_structure_get_uint64 (s, field, &v), "no %s", field);
  return v;
}

/* The RSS bound of the state-walk tests: off under AddressSanitizer, whose
 * quarantine keeps freed memory on purpose (fds are still checked). */
#ifdef __SANITIZE_ADDRESS__
#define RSS_BOUND_KIB G_MAXUINT64
#else
#define RSS_BOUND_KIB (8 * 1024)
#endif

static inline guint
count_fds (void)
{
  GDir *d = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  while (g_dir_read_name (d))
    n++;
  g_dir_close (d);
  return n;
}

#endif /* __TESTS_PIPELINE_H__ */
