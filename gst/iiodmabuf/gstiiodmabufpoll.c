/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Bounded, cancellable waits on a GstPoll that signals cannot stretch.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>

#include "gstiiodmabufpoll.h"

/**
 * gst_iio_poll_wait:
 * @poll: a #GstPoll (set flushing to cancel the wait)
 * @timeout: how long to wait in all; GST_CLOCK_TIME_NONE: no limit
 *
 * gst_poll_wait(), tried again after a signal (EINTR) or a spurious
 * wake-up (EAGAIN) with only the time that is left: an application whose
 * timer signals the thread more often than @timeout would otherwise keep
 * the wait from ever ending.
 *
 * Returns: as gst_poll_wait(): the number of fds with events, 0 once
 * @timeout has passed, or -1 with errno set (EBUSY: flushing)
 */
gint
gst_iio_poll_wait (GstPoll * poll, GstClockTime timeout)
{
  gboolean bounded = GST_CLOCK_TIME_IS_VALID (timeout);
  gint64 end = bounded ? g_get_monotonic_time () + timeout / GST_USECOND : 0;
  gint64 now;
  gint ret, err;

  for (;;) {
    ret = gst_poll_wait (poll, timeout);
    err = errno;
    if (ret >= 0 || (err != EINTR && err != EAGAIN))
      break;
    if (bounded) {
      now = g_get_monotonic_time ();
      timeout = now < end ? (end - now) * GST_USECOND : 0;
    }
  }
  errno = err;
  return ret;
}
