/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef __GST_IIO_DMABUF_POOL_H__
#define __GST_IIO_DMABUF_POOL_H__

#include <gst/gst.h>

G_BEGIN_DECLS

/* acquire_buffer()'s answer for a block whose transfer failed */
#define GST_IIO_DMABUF_FLOW_BLOCK_FAILED GST_FLOW_CUSTOM_SUCCESS

#define GST_TYPE_IIO_DMABUF_POOL gst_iio_dmabuf_pool_get_type ()
G_DECLARE_FINAL_TYPE (GstIioDmabufPool, gst_iio_dmabuf_pool,
    GST, IIO_DMABUF_POOL, GstBufferPool);

GstBufferPool *gst_iio_dmabuf_pool_new (GstAllocator * allocator,
    gint buffer_fd, GstClockTime timeout);
guint gst_iio_dmabuf_pool_n_queued (GstIioDmabufPool * pool);
GError *gst_iio_dmabuf_pool_take_error (GstIioDmabufPool * pool);
gint gst_iio_dmabuf_pool_last_block_error (GstIioDmabufPool * pool);

G_END_DECLS

#endif /* __GST_IIO_DMABUF_POOL_H__ */
