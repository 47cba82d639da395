/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A capture's sample timeline.
 *
 * OFFSET is the converter's own sample index since the buffer was enabled:
 * samples it dropped while no block was queued (measured from the fences,
 * or exactly from a timestamp channel) advance it, and the first block
 * after such a gap carries DISCONT. PTS follow from OFFSET: the running
 * time of one sample (the anchor) plus the samples since, at the rate.
 * The anchor is taken from the pipeline clock at the first block, and again
 * whenever the clock and the samples drift apart by more than the queue
 * holds (after a pause, or when the pipeline runs on another clock: the
 * timestamps are slaved to it in steps, as GstAudioBaseSrc's "skew" does).
 *
 * The clock (a GstAudioClock) is driven by the samples: the end of the
 * last block delivered, at the rate, plus the time since its fence
 * signalled. Over the long run it advances at the converter's crystal.
 * Its state belongs to the clock (the pipeline may hold the clock longer
 * than the element lives).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstiiodmabuftimeline.h"
#include "iiodmabuf-timeline.h"

#include <gst/audio/audio.h>

GST_DEBUG_CATEGORY_STATIC (gst_iio_timeline_debug);
#define GST_CAT_DEFAULT gst_iio_timeline_debug

/* What drives the clock, read from any thread: the converter's time at
 * the end of the last block delivered, and when that block completed. */
typedef struct
{
  GMutex lock;
  GstClockTime time;
  gint64 done_ns;               /* -1: not running, the clock holds */
} ClockState;

struct _GstIioTimeline
{
  GstClock *clock;
  ClockState *state;            /* owned by the clock */

  /* the stream's geometry, set at start */
  guint rate;
  guint block_samples;
  guint n_blocks;
  gint ts_offset;               /* timestamp channel in a scan, or -1 */
  GstIioScanType ts_type;
  guint scan_bytes;

  /* streaming thread only */
  guint64 offset;               /* true index of the next block's start */
  gboolean discont;
  gint64 last_ts;               /* last scan's timestamp channel, or -1 */
  GstClockTime anchor_pts;      /* running time of anchor_offset */
  guint64 anchor_offset;
  GstClockTime pts_end;         /* where the last block's PTS ended */
  gint64 resumed_ns;            /* when it last went to PLAYING; lock */
};

static gint64
now_ns (void)
{
  return g_get_monotonic_time () * 1000;
}

static GstClockTime
converter_time (GstClock * clock, gpointer data)
{
  ClockState *state = data;
  GstClockTime time = GST_CLOCK_TIME_NONE;

  g_mutex_lock (&state->lock);
  if (state->done_ns >= 0)
    time = state->time + MAX (now_ns () - state->done_ns, 0);
  g_mutex_unlock (&state->lock);
  return time;
}

static void
clock_state_free (gpointer data)
{
  ClockState *state = data;

  g_mutex_clear (&state->lock);
  g_free (state);
}

static void
clock_set (GstIioTimeline * timeline, GstClockTime time, gint64 done_ns)
{
  g_mutex_lock (&timeline->state->lock);
  timeline->state->time = time;
  timeline->state->done_ns = done_ns;
  g_mutex_unlock (&timeline->state->lock);
}

/**
 * gst_iio_timeline_new:
 * @clock_name: the name of the clock it drives
 *
 * Returns: (transfer full): a timeline; free with gst_iio_timeline_free()
 */
GstIioTimeline *
gst_iio_timeline_new (const gchar * clock_name)
{
  GstIioTimeline *timeline = g_new0 (GstIioTimeline, 1);

  GST_DEBUG_CATEGORY_INIT (gst_iio_timeline_debug, "iiodmabuftimeline", 0,
      "Sample timeline of an IIO capture");
  timeline->ts_offset = -1;
  timeline->anchor_pts = GST_CLOCK_TIME_NONE;
  timeline->state = g_new0 (ClockState, 1);
  g_mutex_init (&timeline->state->lock);
  timeline->state->done_ns = -1;
  timeline->clock = gst_audio_clock_new (clock_name, converter_time,
      timeline->state, clock_state_free);
  return timeline;
}

void
gst_iio_timeline_free (GstIioTimeline * timeline)
{
  gst_object_unref (timeline->clock);
  g_free (timeline);
}

/**
 * gst_iio_timeline_get_clock:
 *
 * Returns: (transfer none): the clock the samples drive
 */
GstClock *
gst_iio_timeline_get_clock (GstIioTimeline * timeline)
{
  return timeline->clock;
}

/**
 * gst_iio_timeline_start:
 * @rate: samples per second; 0 if unknown (no offsets then)
 * @block_samples: samples per block
 * @n_blocks: blocks the kernel can hold
 * @timestamp_offset: where the enabled timestamp channel lies in a scan,
 *     or -1
 * @timestamp_type: its format
 * @scan_bytes: the size of a scan
 *
 * A new stream from the converter's sample 0: called when its buffer is
 * enabled. The clock goes on from where it was.
 */
void
gst_iio_timeline_start (GstIioTimeline * timeline, guint rate,
    guint block_samples, guint n_blocks, gint timestamp_offset,
    const GstIioScanType * timestamp_type, guint scan_bytes)
{
  timeline->rate = rate;
  timeline->block_samples = block_samples;
  timeline->n_blocks = n_blocks;
  timeline->ts_offset = timestamp_offset;
  if (timestamp_type)
    timeline->ts_type = *timestamp_type;
  timeline->scan_bytes = scan_bytes;
  timeline->offset = 0;
  timeline->discont = TRUE;
  timeline->last_ts = -1;
  timeline->anchor_pts = GST_CLOCK_TIME_NONE;
  timeline->pts_end = 0;
  clock_set (timeline, 0, -1);
  gst_audio_clock_reset (GST_AUDIO_CLOCK (timeline->clock), 0);
}

/* The pipeline plays (again): blocks that completed before now were filled
 * while the running time stood still. Any thread. */
static void
resumed (GstIioTimeline * timeline)
{
  g_mutex_lock (&timeline->state->lock);
  timeline->resumed_ns = now_ns ();
  g_mutex_unlock (&timeline->state->lock);
}

static gboolean
completed_while_paused (GstIioTimeline * timeline, gint64 done_ns)
{
  gboolean stale;

  g_mutex_lock (&timeline->state->lock);
  stale = done_ns >= 0 && done_ns < timeline->resumed_ns;
  g_mutex_unlock (&timeline->state->lock);
  return stale;
}

/**
 * gst_iio_timeline_skip:
 * @samples: how many the converter did not deliver (a failed block)
 */
void
gst_iio_timeline_skip (GstIioTimeline * timeline, guint64 samples)
{
  timeline->offset += samples;
  timeline->discont = TRUE;
  timeline->last_ts = -1;       /* the next block cannot be compared */
}

/* The timestamp channel of a block's first and last scans. */
static gboolean
block_timestamps (GstIioTimeline * timeline, GstBuffer * block,
    gint64 * first, gint64 * last)
{
  guint element = gst_iio_scan_type_element_bytes (&timeline->ts_type);
  GstMapInfo map;
  gsize scans;

  if (!timeline->scan_bytes || !gst_buffer_map (block, &map, GST_MAP_READ))
    return FALSE;
  scans = map.size / timeline->scan_bytes;
  if (scans && timeline->ts_offset + element <= timeline->scan_bytes) {
    *first = gst_iio_scan_type_decode (&timeline->ts_type,
        map.data + timeline->ts_offset);
    *last = gst_iio_scan_type_decode (&timeline->ts_type,
        map.data + (scans - 1) * timeline->scan_bytes + timeline->ts_offset);
  }
  gst_buffer_unmap (block, &map);
  return scans > 0;
}

/**
 * gst_iio_timeline_measure_loss:
 * @block: the block just captured, not stamped yet
 * @previous_done_ns: when the block before it completed (CLOCK_MONOTONIC),
 *     or -1
 * @queued_ns: when it was queued, or -1
 * @done_ns: when it completed, or -1
 *
 * The samples the converter dropped before @block: exactly from the
 * timestamp channel if it is enabled, else from the fences (see
 * gst_iio_lost_before_block()).
 * They advance the offset, and @block will carry DISCONT.
 *
 * Returns: how many
 */
guint64
gst_iio_timeline_measure_loss (GstIioTimeline * timeline, GstBuffer * block,
    gint64 previous_done_ns, gint64 queued_ns, gint64 done_ns)
{
  gint64 first = -1, last = -1;
  guint64 lost;

  if (timeline->ts_offset < 0)
    lost = gst_iio_lost_before_block (previous_done_ns, queued_ns, done_ns,
        timeline->block_samples, timeline->rate);
  else if (!block_timestamps (timeline, block, &first, &last))
    return 0;
  else {
    lost = timeline->last_ts < 0 ? 0 :
        gst_iio_lost_between_scans (timeline->last_ts, first, timeline->rate);
    timeline->last_ts = last;
  }
  if (lost) {
    timeline->offset += lost;
    timeline->discont = TRUE;
  }
  return lost;
}

/**
 * gst_iio_timeline_offset:
 *
 * Returns: the true index of the next block's first sample
 */
guint64
gst_iio_timeline_offset (GstIioTimeline * timeline)
{
  return timeline->offset;
}

/**
 * gst_iio_timeline_running_time:
 * @offset: a sample index
 *
 * Returns: the running time of that sample, or GST_CLOCK_TIME_NONE before
 * the first block or without a rate
 */
GstClockTime
gst_iio_timeline_running_time (GstIioTimeline * timeline, guint64 offset)
{
  GstClockTimeDiff since;

  if (!GST_CLOCK_TIME_IS_VALID (timeline->anchor_pts) || !timeline->rate)
    return GST_CLOCK_TIME_NONE;
  since = offset >= timeline->anchor_offset ?
      (GstClockTimeDiff) gst_util_uint64_scale_int (offset -
      timeline->anchor_offset, GST_SECOND, timeline->rate) :
      -(GstClockTimeDiff) gst_util_uint64_scale_int (timeline->anchor_offset -
      offset, GST_SECOND, timeline->rate);
  if (since < 0 && (GstClockTime) (-since) > timeline->anchor_pts)
    return 0;
  return timeline->anchor_pts + since;
}

/* The running time at which a block that completed at @done_ns began, as
 * the pipeline clock tells it now. */
static GstClockTime
measured_start (GstElement * element, gint64 done_ns, GstClockTime duration)
{
  GstClock *clock = gst_element_get_clock (element);
  GstClockTime now, base, back;

  if (!clock)
    return GST_CLOCK_TIME_NONE;
  now = gst_clock_get_time (clock);
  base = gst_element_get_base_time (element);
  gst_object_unref (clock);
  back = done_ns >= 0 ? MAX (now_ns () - done_ns, 0) : 0;
  if (GST_CLOCK_TIME_IS_VALID (duration))
    back += duration;
  return now > base + back ? now - base - back : 0;
}

/* Jitter in when a block is seen that never moves the anchor. */
#define MIN_TOLERANCE (20 * GST_MSECOND)

/* Takes the anchor from the clock when there is none, or when the clock
 * and the samples disagree by more than the queue holds; not for a block
 * filled while paused (the clock cannot place it: it follows the one
 * before). A step back (a converter faster than the clock) is DISCONT:
 * timestamps overlap there. */
static void
follow_clock (GstIioTimeline * timeline, GstClockTime measured,
    GstClockTime duration, gint64 done_ns)
{
  GstClockTime predicted = gst_iio_timeline_running_time (timeline,
      timeline->offset);
  GstClockTime tolerance = MAX ((timeline->n_blocks + 1) * duration,
      MIN_TOLERANCE);

  if (!GST_CLOCK_TIME_IS_VALID (measured))
    return;
  if (GST_CLOCK_TIME_IS_VALID (predicted)
      && (completed_while_paused (timeline, done_ns)
          || (GstClockTime) ABS (GST_CLOCK_DIFF (predicted, measured)) <=
          tolerance))
    return;
  GST_DEBUG ("anchor: sample %" G_GUINT64_FORMAT " at %" GST_TIME_FORMAT
      " (the samples said %" GST_TIME_FORMAT ")", timeline->offset,
      GST_TIME_ARGS (measured), GST_TIME_ARGS (predicted));
  if (measured < timeline->pts_end)
    timeline->discont = TRUE;
  timeline->anchor_pts = measured;
  timeline->anchor_offset = timeline->offset;
}

/**
 * gst_iio_timeline_stamp:
 * @block: the block just captured, after gst_iio_timeline_measure_loss()
 * @element: the source (its clock and base time)
 * @done_ns: when the block completed (CLOCK_MONOTONIC), or -1 if unknown
 *
 * Sets OFFSET, OFFSET_END, PTS, DURATION and DISCONT, and moves the
 * timeline and its clock past the block.
 */
void
gst_iio_timeline_stamp (GstIioTimeline * timeline, GstBuffer * block,
    GstElement * element, gint64 done_ns)
{
  GstClockTime duration = timeline->rate ?
      gst_util_uint64_scale_int (timeline->block_samples, GST_SECOND,
      timeline->rate) : GST_CLOCK_TIME_NONE;
  GstClockTime measured = measured_start (element, done_ns, duration);

  if (timeline->rate)
    follow_clock (timeline, measured, duration, done_ns);
  GST_BUFFER_PTS (block) = timeline->rate ?
      gst_iio_timeline_running_time (timeline, timeline->offset) : measured;
  GST_BUFFER_DURATION (block) = duration;
  if (GST_CLOCK_TIME_IS_VALID (GST_BUFFER_PTS (block))
      && GST_CLOCK_TIME_IS_VALID (duration))
    timeline->pts_end = GST_BUFFER_PTS (block) + duration;
  GST_BUFFER_OFFSET (block) = timeline->offset;
  GST_BUFFER_OFFSET_END (block) = timeline->offset + timeline->block_samples;
  if (timeline->discont)
    GST_BUFFER_FLAG_SET (block, GST_BUFFER_FLAG_DISCONT);
  timeline->discont = FALSE;
  timeline->offset += timeline->block_samples;

  if (timeline->rate)
    clock_set (timeline, gst_util_uint64_scale_int (timeline->offset,
            GST_SECOND, timeline->rate), done_ns >= 0 ? done_ns : now_ns ());
}

/**
 * gst_iio_timeline_advance_clock:
 * @played: how long the converter has played in this stream
 * @done_ns: as of when (CLOCK_MONOTONIC)
 *
 * Drives the clock without stamping anything (an output converter).
 */
void
gst_iio_timeline_advance_clock (GstIioTimeline * timeline,
    GstClockTime played, gint64 done_ns)
{
  clock_set (timeline, played, done_ns);
}

/**
 * gst_iio_timeline_change_state:
 * @element: the element that owns @timeline
 * @provide: whether it offers the clock
 *
 * Tells the pipeline of the clock as audio elements do (clock-provide at
 * READY->PAUSED, clock-lost at PAUSED->READY), and notes when it plays
 * (again): blocks filled before then keep to the timeline. Call before
 * chaining up.
 */
void
gst_iio_timeline_change_state (GstIioTimeline * timeline,
    GstElement * element, GstStateChange transition, gboolean provide)
{
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED && provide)
    gst_element_post_message (element,
        gst_message_new_clock_provide (GST_OBJECT (element), timeline->clock,
            TRUE));
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY && provide)
    gst_element_post_message (element,
        gst_message_new_clock_lost (GST_OBJECT (element), timeline->clock));
  /* the converter ran on while paused: running time did not */
  if (transition == GST_STATE_CHANGE_PAUSED_TO_PLAYING)
    resumed (timeline);
}

/**
 * gst_iio_timeline_offer_clock:
 * @provide: the element's provide-clock
 * @rate: the converter's rate; 0 if unknown (the samples tell no time)
 *
 * Returns: (transfer full) (nullable): the clock for provide_clock()
 */
GstClock *
gst_iio_timeline_offer_clock (GstIioTimeline * timeline, gboolean provide,
    guint rate)
{
  return provide && rate ? gst_object_ref (timeline->clock) : NULL;
}

/**
 * gst_iio_timeline_set_provider:
 * @element: the element that owns a timeline, its object lock held
 * @provide: its new provide-clock
 */
void
gst_iio_timeline_set_provider (GstElement * element, gboolean provide)
{
  if (provide)
    GST_OBJECT_FLAG_SET (element, GST_ELEMENT_FLAG_PROVIDE_CLOCK);
  else
    GST_OBJECT_FLAG_UNSET (element, GST_ELEMENT_FLAG_PROVIDE_CLOCK);
}
