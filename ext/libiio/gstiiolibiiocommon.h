/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What iiosrc and iiosink share: libiio's view of a device turned into our
 * channels, so into the caps iiodmabufsrc and iiodmabufsink give.
 */
#ifndef __GST_IIO_LIBIIO_COMMON_H__
#define __GST_IIO_LIBIIO_COMMON_H__

#include <gst/gst.h>
#include <iio.h>

G_BEGIN_DECLS

gchar *gst_iio_libiio_strerror (gint err);
gchar *gst_iio_libiio_list_devices (struct iio_context *ctx);
gboolean gst_iio_libiio_is_scan_channel (const struct iio_channel *ch,
    gboolean output);
gboolean gst_iio_libiio_has_scan_channels (const struct iio_device *dev,
    gboolean output);
gchar *gst_iio_libiio_list_channels (const struct iio_device *dev,
    gboolean output);
GArray *gst_iio_libiio_enable_channels (struct iio_device *dev,
    const gchar * ids, gboolean output, gchar ** unknown);
GstCaps *gst_iio_libiio_caps (GArray * channels, guint rate);

G_END_DECLS

#endif /* __GST_IIO_LIBIIO_COMMON_H__ */
