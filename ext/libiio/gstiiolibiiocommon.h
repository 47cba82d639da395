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

/* The settings iiosrc and iiosink share, as properties (object lock). */
typedef struct
{
  gchar *uri;
  gchar *device;
  gchar *channels;
  guint sampling_frequency;
  guint samples_per_block;
  GstClockTime timeout;
} GstIioLibiioSettings;

/* Property ids 1 .. GST_IIO_LIBIIO_N_SETTINGS - 1; an element numbers its
 * own from GST_IIO_LIBIIO_N_SETTINGS on. */
enum
{
  GST_IIO_LIBIIO_PROP_URI = 1,
  GST_IIO_LIBIIO_PROP_DEVICE,
  GST_IIO_LIBIIO_PROP_CHANNELS,
  GST_IIO_LIBIIO_PROP_SAMPLING_FREQUENCY,
  GST_IIO_LIBIIO_PROP_SAMPLES_PER_BLOCK,
  GST_IIO_LIBIIO_PROP_TIMEOUT,
  GST_IIO_LIBIIO_N_SETTINGS
};

/* Changed in NULL or READY only. */
#define GST_IIO_LIBIIO_SETTING (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS \
    | GST_PARAM_MUTABLE_READY)

void gst_iio_libiio_settings_init (GstIioLibiioSettings * settings);
void gst_iio_libiio_settings_clear (GstIioLibiioSettings * settings);
void gst_iio_libiio_settings_install (GObjectClass * klass, gboolean output);
gboolean gst_iio_libiio_settings_set (GstIioLibiioSettings * settings,
    guint prop_id, const GValue * value);
gboolean gst_iio_libiio_settings_get (const GstIioLibiioSettings * settings,
    guint prop_id, GValue * value);

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
const gchar *gst_iio_libiio_context_name (const GstIioLibiioSettings *
    settings);
GArray *gst_iio_libiio_open (GstElement * element,
    const GstIioLibiioSettings * settings, gboolean output,
    struct iio_context **ctx, struct iio_device **dev, guint * rate);

G_END_DECLS

#endif /* __GST_IIO_LIBIIO_COMMON_H__ */
