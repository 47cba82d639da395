/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A capture's sample timeline: each block's true index on the converter
 * (counting the samples it dropped), its running time, and a clock driven
 * by the samples the converter delivered.
 */
#ifndef __GST_IIO_DMABUF_TIMELINE_H__
#define __GST_IIO_DMABUF_TIMELINE_H__

#include <gst/gst.h>

#include "iiodmabuf-scan.h"

G_BEGIN_DECLS

typedef struct _GstIioTimeline GstIioTimeline;

GstIioTimeline *gst_iio_timeline_new (const gchar * clock_name);
void gst_iio_timeline_free (GstIioTimeline * timeline);
GstClock *gst_iio_timeline_get_clock (GstIioTimeline * timeline);

void gst_iio_timeline_start (GstIioTimeline * timeline, guint rate,
    guint block_samples, guint n_blocks, gint timestamp_offset,
    const GstIioScanType * timestamp_type, guint scan_bytes);
void gst_iio_timeline_skip (GstIioTimeline * timeline, guint64 samples);
guint64 gst_iio_timeline_measure_loss (GstIioTimeline * timeline,
    GstBuffer * block, gint64 previous_done_ns, gint64 queued_ns,
    gint64 done_ns);
guint64 gst_iio_timeline_offset (GstIioTimeline * timeline);
GstClockTime gst_iio_timeline_running_time (GstIioTimeline * timeline,
    guint64 offset);
void gst_iio_timeline_stamp (GstIioTimeline * timeline, GstBuffer * block,
    GstElement * element, gint64 done_ns);
void gst_iio_timeline_advance_clock (GstIioTimeline * timeline,
    GstClockTime played, gint64 done_ns);
void gst_iio_timeline_change_state (GstIioTimeline * timeline,
    GstElement * element, GstStateChange transition, gboolean provide);
GstClock *gst_iio_timeline_offer_clock (GstIioTimeline * timeline,
    gboolean provide, guint rate);
void gst_iio_timeline_set_provider (GstElement * element, gboolean provide);

G_END_DECLS

#endif /* __GST_IIO_DMABUF_TIMELINE_H__ */
