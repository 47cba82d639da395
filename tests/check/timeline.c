/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * How many samples a converter dropped: from the time it had no block
 * queued, or from the timestamp channel of the scans on either side of
 * the gap. Pure arithmetic: no kernel needed.
 */
#include <gst/check/gstcheck.h>

#include "iiodmabuf-timeline.h"

/* The block before completed at 1 s; this one was queued 10 ms later. */
GST_START_TEST (test_idle_only_when_queued_after_completion)
{
  fail_unless_equals_int64 (gst_iio_idle_before (1000000000, 1010000000),
      10000000);
  /* queued before the one ahead completed: the converter never waited */
  fail_unless_equals_int64 (gst_iio_idle_before (1000000000, 999000000), 0);
  fail_unless_equals_int64 (gst_iio_idle_before (1000000000, 1000000000), 0);
  /* a stub fence carries no time: nothing can be told */
  fail_unless_equals_int64 (gst_iio_idle_before (-1, 1010000000), 0);
  fail_unless_equals_int64 (gst_iio_idle_before (1000000000, -1), 0);
}

GST_END_TEST;

GST_START_TEST (test_lost_while_idle_rounds_to_nearest_sample)
{
  /* 10 ms at 48 kHz */
  fail_unless_equals_uint64 (gst_iio_lost_while_idle (10000000, 48000), 480);
  /* 10.01 us at 48 kHz is 0.48 of a sample; 11 us is 0.528 */
  fail_unless_equals_uint64 (gst_iio_lost_while_idle (10010, 48000), 0);
  fail_unless_equals_uint64 (gst_iio_lost_while_idle (11000, 48000), 1);
  fail_unless_equals_uint64 (gst_iio_lost_while_idle (0, 48000), 0);
  fail_unless_equals_uint64 (gst_iio_lost_while_idle (10000000, 0), 0);
}

GST_END_TEST;

/* An hour idle at 61.44 MS/s (an SDR) neither overflows nor drifts. */
GST_START_TEST (test_lost_while_idle_long_and_fast)
{
  gint64 hour = G_GINT64_CONSTANT (3600000000000);

  fail_unless_equals_uint64 (gst_iio_lost_while_idle (hour, 61440000),
      G_GUINT64_CONSTANT (221184000000));
  fail_unless_equals_uint64 (gst_iio_lost_while_idle (hour + 1, G_MAXUINT32),
      G_GUINT64_CONSTANT (3600) * G_MAXUINT32 + 4);
}

GST_END_TEST;

/* 256-sample blocks at 48 kHz (5,333,333 ns). The block before completed
 * at 1 s, this one was queued at 1.010 s and completed at 1.0160 s: it
 * started 5.33 ms before, so 10.67 ms (512 samples) passed in between. */
GST_START_TEST (test_lost_before_block_from_both_fences)
{
  fail_unless_equals_uint64 (gst_iio_lost_before_block (1000000000,
          1010000000, 1016000000, 256, 48000), 512);
  /* queued in time: the converter never waited, whatever the fences say */
  fail_unless_equals_uint64 (gst_iio_lost_before_block (1000000000,
          990000000, 1016000000, 256, 48000), 0);
  /* this block's time unknown (a stub fence): the idle time, a lower bound */
  fail_unless_equals_uint64 (gst_iio_lost_before_block (1000000000,
          1010000000, -1, 256, 48000), 480);
  /* the block before unknown: nothing can be told */
  fail_unless_equals_uint64 (gst_iio_lost_before_block (-1, 1010000000,
          1016000000, 256, 48000), 0);
  /* this block's fence early (jitter): never less than the idle time */
  fail_unless_equals_uint64 (gst_iio_lost_before_block (1000000000,
          1010000000, 1012000000, 256, 48000), 480);
  /* fences closer than a block (jitter): no loss, never a wrap */
  fail_unless_equals_uint64 (gst_iio_lost_before_block (1000000000,
          1000000010, 1005000000, 256, 48000), 0);
}

GST_END_TEST;

/* Timestamps of consecutive scans are one period apart: none missing. */
GST_START_TEST (test_lost_between_consecutive_scans_is_zero)
{
  /* 48 kHz: a period is 20833.3 ns, the channel truncates to whole ns */
  fail_unless_equals_uint64 (gst_iio_lost_between_scans (20833, 41666,
          48000), 0);
  fail_unless_equals_uint64 (gst_iio_lost_between_scans (0, 1000, 1000000), 0);
}

GST_END_TEST;

GST_START_TEST (test_lost_between_scans_counts_the_gap)
{
  /* sample 255 then sample 1000: 744 missing (256..999) */
  gint64 last = 255 * G_GINT64_CONSTANT (1000000000) / 48000;
  gint64 next = 1000 * G_GINT64_CONSTANT (1000000000) / 48000;

  fail_unless_equals_uint64 (gst_iio_lost_between_scans (last, next, 48000),
      744);
  /* out of order or repeated: no loss can be told */
  fail_unless_equals_uint64 (gst_iio_lost_between_scans (next, last, 48000), 0);
  fail_unless_equals_uint64 (gst_iio_lost_between_scans (last, last, 48000), 0);
}

GST_END_TEST;

static Suite *
timeline_suite (void)
{
  Suite *s = suite_create ("timeline");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_idle_only_when_queued_after_completion);
  tcase_add_test (tc, test_lost_while_idle_rounds_to_nearest_sample);
  tcase_add_test (tc, test_lost_while_idle_long_and_fast);
  tcase_add_test (tc, test_lost_before_block_from_both_fences);
  tcase_add_test (tc, test_lost_between_consecutive_scans_is_zero);
  tcase_add_test (tc, test_lost_between_scans_counts_the_gap);
  return s;
}

GST_CHECK_MAIN (timeline);
