/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * DMABUFs and IIO blocks: allocating DMABUFs (a DMA heap, else udmabuf,
 * else a DRM device's dumb buffers), attaching them to an IIO buffer, enqueueing blocks and reading the fate of
 * each from its fence. No GStreamer here.
 */
#ifndef __IIODMABUF_DMABUF_H__
#define __IIODMABUF_DMABUF_H__

#include <glib.h>

#include "iiodmabuf-device.h"

G_BEGIN_DECLS

#define GST_IIO_DMABUF_DEFAULT_HEAP "/dev/dma_heap/system"
#define GST_IIO_DMABUF_UDMABUF "/dev/udmabuf"
#define GST_IIO_DMABUF_DRM_DIR "/dev/dri"

/* Where DMABUFs come from. */
typedef enum
{
  GST_IIO_DMABUF_ORIGIN_AUTO,   /* a DMA heap, else udmabuf, else DRM */
  GST_IIO_DMABUF_ORIGIN_HEAP,
  GST_IIO_DMABUF_ORIGIN_UDMABUF,
  GST_IIO_DMABUF_ORIGIN_DRM,    /* a DRM device's dumb buffers */
} GstIioDmabufOrigin;

typedef struct _GstIioDmabufSource GstIioDmabufSource;

typedef enum
{
  GST_IIO_FENCE_PENDING,
  GST_IIO_FENCE_DONE,
  GST_IIO_FENCE_FAILED,
  GST_IIO_FENCE_STUB,           /* signalled before it was exported */
} GstIioFenceState;

gchar *gst_iio_dma_heap_path (const gchar * heap);
gchar *gst_iio_dma_heaps_present (void);
const gchar *gst_iio_dmabuf_origin_name (GstIioDmabufOrigin origin);
gboolean gst_iio_dmabuf_have_drm (void);
void gst_iio_dumb_geometry (gsize size, guint32 * width, guint32 * height,
    guint32 * bpp);

GstIioDmabufSource *gst_iio_dmabuf_source_new (GstIioDmabufOrigin origin,
    const gchar * heap, const gchar * drm_device);
void gst_iio_dmabuf_source_free (GstIioDmabufSource * source);
gint gst_iio_dmabuf_source_alloc (GstIioDmabufSource * source, gsize size,
    GError ** error);
GstIioDmabufOrigin gst_iio_dmabuf_source_get_origin (GstIioDmabufSource *
    source);
gchar *gst_iio_dmabuf_source_take_passed_over (GstIioDmabufSource * source);

gboolean gst_iio_block_attach (gint buffer_fd, gint dmabuf_fd, GError ** error);
void gst_iio_block_detach (gint buffer_fd, gint dmabuf_fd);
gboolean gst_iio_block_reattach (gint buffer_fd, gint dmabuf_fd,
    GError ** error);
gint gst_iio_block_enqueue (gint buffer_fd, gint dmabuf_fd, gsize bytes,
    gboolean cyclic, gint64 * queued_at, GError ** error);
gboolean gst_iio_block_never_transferred (gint64 elapsed_us, gint64 block_us,
    gboolean earlier_pending);

GstIioFenceState gst_iio_fence_state (gint sync_fd, gint * error_code);
void gst_iio_fence_date_stub (gint dmabuf_fd);
GstIioFenceState gst_iio_fence_read (gint sync_fd, gint64 after_ns,
    gint * error_code, gint64 * done_ns);
GstIioFenceState gst_iio_fence_read_counted (gint sync_fd, gint64 after_ns,
    gint * error_code, gint64 * done_ns, guint * n_fences);

G_END_DECLS

#endif /* __IIODMABUF_DMABUF_H__ */
