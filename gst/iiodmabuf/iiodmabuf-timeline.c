/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A converter behind a DMA engine keeps sampling while no block is queued,
 * and drops what it samples then. Two measures of that loss:
 *
 * - From the fences: the block before completed at a CLOCK_MONOTONIC time
 *   its fence recorded; if the next block was queued only later, the
 *   converter ran dry. The next block then took one block's duration from
 *   wherever the converter had got to, so the samples in between are the
 *   time between the two fences, less one block. Both times are taken the
 *   same way (when the DMA interrupt is handled), so their lateness
 *   cancels: what is left is its jitter, a few samples at audio rates.
 *   Without the second time, the time from the first fence to the enqueue
 *   is a lower bound.
 * - From a timestamp channel: consecutive scans are one sample period
 *   apart, so the difference between the last scan of a block and the
 *   first of the next tells the samples in between exactly.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "iiodmabuf-timeline.h"

#define NS_PER_S G_GINT64_CONSTANT (1000000000)

/* @ns * @rate / 1e9, rounded to the nearest sample, for @ns >= 0 */
static guint64
samples_in (gint64 ns, guint rate)
{
  guint64 whole = (guint64) (ns / NS_PER_S) * rate;
  guint64 part = (guint64) (ns % NS_PER_S) * rate;

  return whole + (part + NS_PER_S / 2) / NS_PER_S;
}

/**
 * gst_iio_idle_before:
 * @previous_done_ns: when the block before completed (CLOCK_MONOTONIC), or
 *     -1 if unknown
 * @queued_ns: when this block was queued (CLOCK_MONOTONIC), or -1
 *
 * Blocks run in the order they are queued: if this one was queued after
 * the one before it had completed, the converter had nothing to fill in
 * between.
 *
 * Returns: how long the converter ran dry before this block, 0 if it did
 * not or if that cannot be told
 */
gint64
gst_iio_idle_before (gint64 previous_done_ns, gint64 queued_ns)
{
  if (previous_done_ns < 0 || queued_ns < 0 || queued_ns <= previous_done_ns)
    return 0;
  return queued_ns - previous_done_ns;
}

/**
 * gst_iio_lost_while_idle:
 * @idle_ns: how long the converter had no block (gst_iio_idle_before())
 * @rate: samples per second; 0 if unknown
 *
 * Returns: the samples dropped meanwhile, to the nearest one
 */
guint64
gst_iio_lost_while_idle (gint64 idle_ns, guint rate)
{
  if (idle_ns <= 0 || rate == 0)
    return 0;
  return samples_in (idle_ns, rate);
}

/**
 * gst_iio_lost_before_block:
 * @previous_done_ns: when the block before completed, or -1
 * @queued_ns: when this block was queued, or -1
 * @done_ns: when this block completed, or -1
 * @block_samples: samples in this block
 * @rate: samples per second; 0 if unknown
 *
 * Returns: the samples the converter dropped between the two blocks, to
 * the nearest one; 0 if it never ran dry
 */
guint64
gst_iio_lost_before_block (gint64 previous_done_ns, gint64 queued_ns,
    gint64 done_ns, guint block_samples, guint rate)
{
  gint64 idle = gst_iio_idle_before (previous_done_ns, queued_ns);
  guint64 between;

  if (idle == 0 || rate == 0)
    return 0;
  if (done_ns <= previous_done_ns)
    return gst_iio_lost_while_idle (idle, rate);
  between = samples_in (done_ns - previous_done_ns, rate);
  between = between > block_samples ? between - block_samples : 0;
  /* the idle time is a lower bound, whatever the fences' jitter */
  return MAX (between, gst_iio_lost_while_idle (idle, rate));
}

/**
 * gst_iio_lost_between_scans:
 * @last_ns: the timestamp channel of a block's last scan
 * @next_ns: the timestamp channel of the next block's first scan
 * @rate: samples per second; 0 if unknown
 *
 * Returns: how many scans are missing between the two, exactly (to the
 * nearest sample period); 0 if they are consecutive or out of order
 */
guint64
gst_iio_lost_between_scans (gint64 last_ns, gint64 next_ns, guint rate)
{
  guint64 periods;

  if (rate == 0 || next_ns <= last_ns)
    return 0;
  periods = samples_in (next_ns - last_ns, rate);
  return periods > 1 ? periods - 1 : 0;
}
