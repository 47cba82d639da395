/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef __GST_IIO_DMABUF_ALLOCATOR_H__
#define __GST_IIO_DMABUF_ALLOCATOR_H__

#include <gst/gst.h>
#include <gst/allocators/allocators.h>

#include "iiodmabuf-dmabuf.h"

G_BEGIN_DECLS

#define GST_TYPE_IIO_DMABUF_ALLOCATOR gst_iio_dmabuf_allocator_get_type ()
G_DECLARE_FINAL_TYPE (GstIioDmabufAllocator, gst_iio_dmabuf_allocator,
    GST, IIO_DMABUF_ALLOCATOR, GstDmaBufAllocator);

GstAllocator *gst_iio_dmabuf_allocator_new (GstIioDmabufOrigin origin,
    const gchar * heap, const gchar * drm_device);
GstMemory *gst_iio_dmabuf_allocator_alloc_block (GstAllocator * allocator,
    gsize size, GError ** error);
const gchar *gst_iio_dmabuf_allocator_get_origin (GstAllocator * allocator);

G_END_DECLS

#endif /* __GST_IIO_DMABUF_ALLOCATOR_H__ */
