/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Test helpers shared by the kernel suites: running a pipeline to its end,
 * reading messages and stats, counting this process's open fds.
 */
#ifndef __TESTS_PIPELINE_H__
#define __TESTS_PIPELINE_H__

#include <gst/check/gstcheck.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline gboolean
is_overrun_warning (GstMessage * msg)
{
  GError *error = NULL;
  gboolean overrun;

  gst_message_parse_warning (msg, &error, NULL);
  /* and the one capacity warning an overrun may bring */
  overrun = strstr (error->message, "dropped samples") != NULL
      || strstr (error->message, "more blocks per second") != NULL;
  g_error_free (error);
  return overrun;
}

/* Plays until EOS or error, within @limit; warnings are counted, but for
 * iiodmabufsrc's overrun (and capacity) warnings (a lossless simulator waits for a late
 * reader, where the fences show a converter that ran dry: see its stats).
 * The first warning counted is kept in @error and @debug, when given. */
static inline GstMessage *
run_keeping_warning (GstElement * pipeline, GstClockTime limit,
    guint * warnings, GError ** error, gchar ** debug)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg;
  guint counted = 0;

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  for (;;) {
    msg = gst_bus_timed_pop_filtered (bus, limit, GST_MESSAGE_EOS |
        GST_MESSAGE_ERROR | GST_MESSAGE_WARNING);
    fail_unless (msg != NULL, "no EOS or error within the limit");
    if (GST_MESSAGE_TYPE (msg) != GST_MESSAGE_WARNING)
      break;
    if (!is_overrun_warning (msg) && counted++ == 0 && error)
      gst_message_parse_warning (msg, error, debug);
    gst_message_unref (msg);
  }
  if (warnings)
    *warnings += counted;
  gst_object_unref (bus);
  return msg;
}

static inline GstMessage *
run (GstElement * pipeline, GstClockTime limit, guint * warnings)
{
  return run_keeping_warning (pipeline, limit, warnings, NULL, NULL);
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

/*
 * A deadlock must fail the test, not hang the suite: aborts if one
 * iteration of a loop takes over 30 s.
 */
typedef struct
{
  GMutex lock;
  GCond cond;
  const gchar *what;
  guint iteration;
  gint64 since;
  gboolean done;
  GThread *thread;
} Watchdog;

/* Every thread's stack, for the deadlock's report, when gdb is there. */
static inline void
print_backtraces (void)
{
  gchar *gdb = g_find_program_in_path ("gdb"), *cmd, *out = NULL;

  if (!gdb)
    return;
  cmd = g_strdup_printf ("%s -p %d -batch -ex \"thread apply all bt\"", gdb,
      (gint) getpid ());
  if (g_spawn_command_line_sync (cmd, &out, NULL, NULL, NULL))
    g_printerr ("%s", out);
  g_free (out);
  g_free (cmd);
  g_free (gdb);
}

static inline gpointer
watchdog_run (gpointer data)
{
  Watchdog *w = data;

  g_mutex_lock (&w->lock);
  while (!w->done) {
    g_cond_wait_until (&w->cond, &w->lock,
        g_get_monotonic_time () + G_USEC_PER_SEC);
    if (!w->done && g_get_monotonic_time () - w->since > 30 * G_USEC_PER_SEC) {
      g_printerr ("%s: iteration %u did not finish within 30 s: deadlock\n",
          w->what, w->iteration);
      print_backtraces ();
      abort ();
    }
  }
  g_mutex_unlock (&w->lock);
  return NULL;
}

static inline void
watchdog_start (Watchdog * w, const gchar * what)
{
  memset (w, 0, sizeof *w);
  g_mutex_init (&w->lock);
  g_cond_init (&w->cond);
  w->what = what;
  w->since = g_get_monotonic_time ();
  w->thread = g_thread_new ("watchdog", watchdog_run, w);
}

static inline void
watchdog_tick (Watchdog * w, guint iteration)
{
  g_mutex_lock (&w->lock);
  w->iteration = iteration;
  w->since = g_get_monotonic_time ();
  g_mutex_unlock (&w->lock);
}

static inline void
watchdog_stop (Watchdog * w)
{
  g_mutex_lock (&w->lock);
  w->done = TRUE;
  g_cond_signal (&w->cond);
  g_mutex_unlock (&w->lock);
  g_thread_join (w->thread);
  g_mutex_clear (&w->lock);
  g_cond_clear (&w->cond);
}

/* A "Name:   N kB" line of a /proc file, in KiB. */
static inline guint64
proc_kib (const gchar * path, const gchar * name)
{
  gchar *text = NULL, *line;
  guint64 kib;

  fail_unless (g_file_get_contents (path, &text, NULL, NULL));
  line = strstr (text, name);
  fail_unless (line != NULL, "no %s in %s", name, path);
  kib = g_ascii_strtoull (line + strlen (name), NULL, 10);
  g_free (text);
  return kib;
}

/* A monitoring thread: reads an element's "stats" until told to stop,
 * checking each structure has @fields (guint64). */
typedef struct
{
  GstElement *element;
  const gchar *fields[4];       /* NULL-terminated */
  gint stop;
  guint reads;
} StatsReader;

static inline gpointer
read_stats_loop (gpointer data)
{
  StatsReader *r = data;
  GstStructure *stats;
  guint i;

  while (!g_atomic_int_get (&r->stop)) {
    g_object_get (r->element, "stats", &stats, NULL);
    fail_unless (stats != NULL, "no stats");
    for (i = 0; r->fields[i]; i++)
      fail_unless (gst_structure_has_field_typed (stats, r->fields[i],
              G_TYPE_UINT64), "no %s in the stats", r->fields[i]);
    gst_structure_free (stats);
    r->reads++;
    g_thread_yield ();
  }
  return NULL;
}

#endif /* __TESTS_PIPELINE_H__ */
