/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gst_iio_poll_wait(): a bounded wait stays bounded when an application's
 * timer interrupts it far more often than its timeout, and flushing still
 * cancels it. Pure logic: a pipe that never becomes readable, no kernel
 * device.
 */
#include <errno.h>
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

#include <gst/check/gstcheck.h>

#include "gstiiodmabufpoll.h"

static gint signals_caught;

static void
on_alarm (int sig)
{
  g_atomic_int_inc (&signals_caught);
}

/* SIGALRM every @us microseconds, without SA_RESTART (poll never restarts
 * anyway), or none with 0. */
static void
alarm_every (glong us)
{
  struct sigaction sa = {.sa_handler = on_alarm };
  struct itimerval every = { {0, us}, {0, us} };

  sigemptyset (&sa.sa_mask);
  fail_unless (sigaction (SIGALRM, &sa, NULL) == 0);
  fail_unless (setitimer (ITIMER_REAL, &every, NULL) == 0);
}

/* A poll set on the read end of a pipe nobody writes to. */
static GstPoll *
idle_poll (gint fds[2], GstPollFD * pfd)
{
  GstPoll *poll = gst_poll_new (TRUE);

  fail_unless (pipe (fds) == 0);
  gst_poll_fd_init (pfd);
  pfd->fd = fds[0];
  gst_poll_add_fd (poll, pfd);
  gst_poll_fd_ctl_read (poll, pfd, TRUE);
  return poll;
}

/* A signal every millisecond, a wait of 200 ms: it ends, timed out, after
 * many interruptions (a wait that began again with its whole timeout after
 * each would never end). */
GST_START_TEST (test_signals_do_not_stretch_the_wait)
{
  GstPollFD pfd;
  gint fds[2], ret;
  GstPoll *poll = idle_poll (fds, &pfd);

  g_atomic_int_set (&signals_caught, 0);
  alarm_every (1000);
  ret = gst_iio_poll_wait (poll, 200 * GST_MSECOND);
  alarm_every (0);

  fail_unless_equals_int (ret, 0);
  fail_unless (g_atomic_int_get (&signals_caught) >= 10, "%d signals: the "
      "wait was hardly interrupted, the test proves nothing",
      g_atomic_int_get (&signals_caught));
  gst_poll_free (poll);
  close (fds[0]);
  close (fds[1]);
}

GST_END_TEST;

/* Data that arrives is seen, signals or not. */
GST_START_TEST (test_ready_fd_seen_under_signals)
{
  GstPollFD pfd;
  gint fds[2];
  GstPoll *poll = idle_poll (fds, &pfd);

  fail_unless (write (fds[1], "x", 1) == 1);
  alarm_every (1000);
  fail_unless_equals_int (gst_iio_poll_wait (poll, GST_SECOND), 1);
  alarm_every (0);
  fail_unless (gst_poll_fd_can_read (poll, &pfd));
  gst_poll_free (poll);
  close (fds[0]);
  close (fds[1]);
}

GST_END_TEST;

static gpointer
flush_soon (gpointer poll)
{
  g_usleep (50 * 1000);
  gst_poll_set_flushing (poll, TRUE);
  return NULL;
}

/* Flushing cancels a wait with no limit, under signals too: -1, EBUSY. */
GST_START_TEST (test_flushing_cancels)
{
  GstPollFD pfd;
  gint fds[2], ret, err;
  GstPoll *poll = idle_poll (fds, &pfd);
  GThread *thread;

  alarm_every (1000);
  thread = g_thread_new ("flush", flush_soon, poll);
  ret = gst_iio_poll_wait (poll, GST_CLOCK_TIME_NONE);
  err = errno;
  alarm_every (0);
  g_thread_join (thread);

  fail_unless_equals_int (ret, -1);
  fail_unless_equals_int (err, EBUSY);
  gst_poll_free (poll);
  close (fds[0]);
  close (fds[1]);
}

GST_END_TEST;

static Suite *
poll_suite (void)
{
  Suite *s = suite_create ("iiodmabuf-poll");
  TCase *tc = tcase_create ("wait");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_signals_do_not_stretch_the_wait);
  tcase_add_test (tc, test_ready_fd_seen_under_signals);
  tcase_add_test (tc, test_flushing_cancels);
  return s;
}

GST_CHECK_MAIN (poll);
