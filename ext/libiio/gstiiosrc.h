/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef __GST_IIO_SRC_H__
#define __GST_IIO_SRC_H__

#include <gst/base/gstpushsrc.h>

G_BEGIN_DECLS

#define GST_TYPE_IIO_SRC (gst_iio_src_get_type ())
G_DECLARE_FINAL_TYPE (GstIioSrc, gst_iio_src, GST, IIO_SRC, GstPushSrc);

GST_ELEMENT_REGISTER_DECLARE (iiosrc);

G_END_DECLS

#endif /* __GST_IIO_SRC_H__ */
