/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef __GST_IIO_DMABUF_ELEMENTS_H__
#define __GST_IIO_DMABUF_ELEMENTS_H__

#include <gst/gst.h>

#include "iiodmabuf-device.h"
#include "iiodmabuf-dmabuf.h"

G_BEGIN_DECLS

/* How blocks move between the kernel and the element. */
typedef enum
{
  GST_IIO_DMABUF_IO_MODE_AUTO,  /* DMABUF when the driver can, else rw */
  GST_IIO_DMABUF_IO_MODE_DMABUF,
  GST_IIO_DMABUF_IO_MODE_RW,    /* read() / write() */
} GstIioDmabufIoMode;

#define GST_TYPE_IIO_DMABUF_IO_MODE (gst_iio_dmabuf_io_mode_get_type ())
GType gst_iio_dmabuf_io_mode_get_type (void);

/* Where the DMABUFs come from: GstIioDmabufOrigin (iiodmabuf-dmabuf.h). */
#define GST_TYPE_IIO_DMABUF_ORIGIN (gst_iio_dmabuf_origin_get_type ())
GType gst_iio_dmabuf_origin_get_type (void);

void gst_iio_dmabuf_post_device_error (GstElement * element, GError * error);
GstIioDevice *gst_iio_dmabuf_open_device (GstElement * element,
    const gchar * spec, guint buffer_index, const gchar * channels,
    gboolean output);

GST_ELEMENT_REGISTER_DECLARE (iiodmabufsrc);
GST_ELEMENT_REGISTER_DECLARE (iiodmabufsink);

G_END_DECLS

#endif /* __GST_IIO_DMABUF_ELEMENTS_H__ */
