/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The blocks of an IIO input buffer. Each block is a DMABUF memory attached
 * to the buffer; the source wraps it in a fresh GstBuffer, and the block
 * goes back to the kernel when its memory dies: when the last buffer,
 * sub-buffer or mapping that shares it lets go, never before.
 */
#ifndef __GST_IIO_DMABUF_CAPTURE_H__
#define __GST_IIO_DMABUF_CAPTURE_H__

#include <gst/gst.h>

G_BEGIN_DECLS

/* gst_iio_capture_dequeue()'s answer for a block whose transfer failed */
#define GST_IIO_CAPTURE_BLOCK_FAILED GST_FLOW_CUSTOM_SUCCESS

typedef struct _GstIioCapture GstIioCapture;

/* When a dequeued block was queued and completed, and when the block
 * before it completed (CLOCK_MONOTONIC, ns; -1 if unknown): if it was
 * queued after that, the converter ran dry in between. */
typedef struct
{
  gint64 previous_done_ns;
  gint64 queued_ns;
  gint64 done_ns;
  gboolean ran;                 /* FALSE: its submit failed, it never ran */
  guint stale;                  /* blocks dequeued before as done that
                                 * proved never transferred since: their
                                 * submit had failed */
} GstIioCaptureTimes;

GstIioCapture *gst_iio_capture_new (GstAllocator * allocator, gint buffer_fd,
    gsize block_bytes, guint n_blocks, GstClockTime block_duration,
    GstClockTime timeout, GError ** error);
gboolean gst_iio_capture_queue_all (GstIioCapture * capture, GError ** error);
GstFlowReturn gst_iio_capture_dequeue (GstIioCapture * capture,
    GstMemory ** block, GstIioCaptureTimes * times, gint * block_error,
    GError ** error);
void gst_iio_capture_set_flushing (GstIioCapture * capture,
    gboolean flushing);
guint gst_iio_capture_n_queued (GstIioCapture * capture);
void gst_iio_capture_halt (GstIioCapture * capture);
void gst_iio_capture_stop (GstIioCapture * capture);

G_END_DECLS

#endif /* __GST_IIO_DMABUF_CAPTURE_H__ */
