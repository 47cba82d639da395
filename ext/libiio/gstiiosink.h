/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef __GST_IIO_SINK_H__
#define __GST_IIO_SINK_H__

#include <gst/base/gstbasesink.h>

G_BEGIN_DECLS

#define GST_TYPE_IIO_SINK (gst_iio_sink_get_type ())
G_DECLARE_FINAL_TYPE (GstIioSink, gst_iio_sink, GST, IIO_SINK, GstBaseSink);

GST_ELEMENT_REGISTER_DECLARE (iiosink);

G_END_DECLS

#endif /* __GST_IIO_SINK_H__ */
