/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Caps for IIO scans: audio/x-raw where the channels are uniform,
 * byte-aligned integers; otherwise application/x-iio, which carries each
 * channel's id and scan type (docs/media-types.md).
 */
#ifndef __GST_IIO_DMABUF_CAPS_H__
#define __GST_IIO_DMABUF_CAPS_H__

#include <gst/gst.h>

#include "iiodmabuf-device.h"

G_BEGIN_DECLS

#define GST_IIO_MEDIA_TYPE "application/x-iio"

GstCaps *gst_iio_dmabuf_caps_for_channels (
    const GstIioChannel * const *channels,
    guint n_channels, guint rate);
GstCaps *gst_iio_dmabuf_caps_for_device (const GstIioDevice * dev, guint rate);
GstCaps *gst_iio_dmabuf_caps_template (void);
gboolean gst_iio_dmabuf_caps_parse_rate (const GstCaps * caps, guint * rate);
gboolean gst_iio_dmabuf_rates_parse (const gchar * available, GValue * rates);
void gst_iio_dmabuf_caps_set_rates (GstCaps * caps, const GValue * rates);
GstCaps *gst_iio_dmabuf_caps_offered (const GstIioChannel * const *channels,
    guint n_channels, guint rate, const GValue * rates, gboolean fewer);
GstCaps *gst_iio_dmabuf_caps_filter (GstCaps * caps, GstCaps * filter);
GstCaps *gst_iio_dmabuf_caps_allow_positions (GstCaps * caps);

G_END_DECLS

#endif /* __GST_IIO_DMABUF_CAPS_H__ */
