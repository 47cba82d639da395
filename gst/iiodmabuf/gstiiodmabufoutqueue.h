/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Blocks in flight to an IIO output buffer: DMABUFs attached once (the
 * attachment is kept for the DMABUF, whatever memory wraps it, in a bounded
 * cache), enqueued in order, and held until their fences say the converter
 * is done.
 */
#ifndef __GST_IIO_DMABUF_OUT_QUEUE_H__
#define __GST_IIO_DMABUF_OUT_QUEUE_H__

#include <gst/gst.h>

G_BEGIN_DECLS

typedef struct _GstIioOutQueue GstIioOutQueue;

/* gst_iio_out_queue_push(): the kernel would not take this DMABUF */
#define GST_IIO_OUT_QUEUE_NOT_IMPORTED GST_FLOW_CUSTOM_SUCCESS

/* Starts the converter (enables the IIO buffer). */
typedef gboolean (*GstIioOutQueueStartFunc) (gpointer user_data,
    GError ** error);

/* The converter has played for @played (the blocks it consumed, at the
 * rate each was played at, and the time it stood idle) as of @done_ns
 * (CLOCK_MONOTONIC). From the streaming thread. */
typedef void (*GstIioOutQueueProgressFunc) (gpointer user_data,
    GstClockTime played, gint64 done_ns);

/* Cyclic output stopped on @error (from the thread that repeats it). */
typedef void (*GstIioOutQueueFailedFunc) (gpointer user_data,
    const GError * error);

typedef struct
{
  guint64 fence_errors;         /* blocks whose fence carried an error */
  guint64 underflows;           /* blocks that found the converter idle */
  gint last_error;              /* negative errno of the last failed block */
  gboolean cyclic_software;     /* the driver played a cyclic block once:
                                 * we queue it again */
  guint64 cyclic_requeues;      /* how often */
  guint64 attaches;             /* DMABUFs attached to the IIO buffer */
  guint64 detaches;             /* ... and detached again */
} GstIioOutQueueCounts;

GstIioOutQueue *gst_iio_out_queue_new (gint buffer_fd, guint depth,
    guint64 bytes_per_second, GstClockTime timeout,
    GstIioOutQueueStartFunc start, gpointer user_data);
void gst_iio_out_queue_free (GstIioOutQueue * queue);
void gst_iio_out_queue_set_progress (GstIioOutQueue * queue,
    GstIioOutQueueProgressFunc progress);

gboolean gst_iio_out_queue_can_import (GstIioOutQueue * queue,
    GstBuffer * buffer);
GstFlowReturn gst_iio_out_queue_push (GstIioOutQueue * queue,
    GstBuffer * buffer, gboolean cyclic, GError ** error);
GstFlowReturn gst_iio_out_queue_drain (GstIioOutQueue * queue,
    GError ** error);
gboolean gst_iio_out_queue_play_cyclic (GstIioOutQueue * queue,
    GstBuffer ** blocks, guint n_blocks, GstIioOutQueueFailedFunc failed,
    GError ** error);
void gst_iio_out_queue_stop_cyclic (GstIioOutQueue * queue);
void gst_iio_out_queue_abort (GstIioOutQueue * queue);
void gst_iio_out_queue_set_flushing (GstIioOutQueue * queue,
    gboolean flushing);
void gst_iio_out_queue_set_bytes_per_second (GstIioOutQueue * queue,
    guint64 bytes_per_second);
void gst_iio_out_queue_get_counts (GstIioOutQueue * queue,
    GstIioOutQueueCounts * counts);

G_END_DECLS

#endif /* __GST_IIO_DMABUF_OUT_QUEUE_H__ */
