/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * DMABUFs and IIO blocks: allocating DMABUFs (a DMA heap, else udmabuf),
 * attaching them to an IIO buffer, enqueueing blocks and reading the fate of
 * each from its fence. No GStreamer here.
 */
#ifndef __IIODMABUF_DMABUF_H__
#define __IIODMABUF_DMABUF_H__

#include <glib.h>

G_BEGIN_DECLS

#define IIO_DMABUF_DEFAULT_HEAP "/dev/dma_heap/system"
#define IIO_DMABUF_UDMABUF "/dev/udmabuf"

typedef enum
{
  IIO_DMABUF_ORIGIN_HEAP,
  IIO_DMABUF_ORIGIN_UDMABUF,
} IioDmabufOrigin;

typedef enum
{
  IIO_FENCE_PENDING,
  IIO_FENCE_DONE,
  IIO_FENCE_FAILED,
} IioFenceState;

gint iio_dmabuf_alloc (const gchar * heap, gsize size, IioDmabufOrigin * origin,
    gchar ** heap_problem, GError ** error);

gboolean iio_block_attach (gint buffer_fd, gint dmabuf_fd, GError ** error);
void iio_block_detach (gint buffer_fd, gint dmabuf_fd);
gint iio_block_enqueue (gint buffer_fd, gint dmabuf_fd, gsize bytes,
    gboolean cyclic, GError ** error);

IioFenceState iio_fence_state (gint sync_fd, gint * error_code);

G_END_DECLS

#endif /* __IIODMABUF_DMABUF_H__ */
