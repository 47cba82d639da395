/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What iiosrc and iiosink share: libiio's view of a device turned into our
 * channels, so into the caps iiodmabufsrc and iiodmabufsink give.
 */
#ifndef __GST_IIO_LIBIIO_COMMON_H__
#define __GST_IIO_LIBIIO_COMMON_H__

#include <gst/gst.h>
#include <iio.h>
#include <signal.h>

G_BEGIN_DECLS
/* The settings iiosrc and iiosink share, as properties (object lock). */
    typedef struct
{
  gchar *uri;
  gchar *device;
  gchar *channels;
  guint sampling_frequency;
  GstStructure *attributes;
  guint samples_per_block;
  GstClockTime timeout;
  gchar *trigger;
} GstIioLibiioSettings;

/* Property ids 1 .. GST_IIO_LIBIIO_N_SETTINGS - 1; an element numbers its
 * own from GST_IIO_LIBIIO_N_SETTINGS on. */
enum
{
  GST_IIO_LIBIIO_PROP_URI = 1,
  GST_IIO_LIBIIO_PROP_DEVICE,
  GST_IIO_LIBIIO_PROP_CHANNELS,
  GST_IIO_LIBIIO_PROP_SAMPLING_FREQUENCY,
  GST_IIO_LIBIIO_PROP_ATTRIBUTES,
  GST_IIO_LIBIIO_PROP_SAMPLES_PER_BLOCK,
  GST_IIO_LIBIIO_PROP_TIMEOUT,
  GST_IIO_LIBIIO_PROP_TRIGGER,
  GST_IIO_LIBIIO_N_SETTINGS
};

/* Changed in NULL or READY only. */
#define GST_IIO_LIBIIO_SETTING (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS \
    | GST_PARAM_MUTABLE_READY)

void gst_iio_libiio_settings_init (GstIioLibiioSettings * settings);
void gst_iio_libiio_settings_clear (GstIioLibiioSettings * settings);
void gst_iio_libiio_settings_copy (GstIioLibiioSettings * dest,
    const GstIioLibiioSettings * src);
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
const gchar *gst_iio_libiio_context_name (const GstIioLibiioSettings *
    settings);

/* A device opened through libiio: what iiosrc and iiosink stream from or
 * to. Made in start(), freed in stop(); the streaming thread uses it. */
typedef struct
{
  struct iio_context *ctx;
  struct iio_device *dev;
  GstElement *element;          /* not a reference: the element owns this */
  gboolean output;
  gchar *context;               /* the URI, for messages */
  gchar *uri;                   /* NULL: libiio's default context */
  gchar *name;                  /* the device as asked for */
  gboolean remote;              /* through iiod (network, USB, serial) */
  GstClockTime timeout;         /* libiio's, as set */
  GArray *channels;             /* GstIioChannel enabled, scan order */
  GArray *opened;               /* those enabled at open */
  gsize scan_bytes;
  guint rate;                   /* Hz, 0 when the device does not say */
  const gchar **attr_names;     /* the device's, for messages */
  GHashTable *saved;            /* attribute -> value found, put back */
  gboolean trigger_changed;     /* old_trigger is put back at close */
  const struct iio_device *old_trigger;
} GstIioLibiioDevice;

GstIioLibiioDevice *gst_iio_libiio_device_open (GstElement * element,
    const GstIioLibiioSettings * settings, gboolean output);
void gst_iio_libiio_device_close (GstIioLibiioDevice * iio);
gboolean gst_iio_libiio_device_set_rate (GstElement * element,
    GstIioLibiioDevice * iio, guint rate);
gboolean gst_iio_libiio_device_rates (GstIioLibiioDevice * iio, GValue * rates);
gboolean gst_iio_libiio_device_select_first (GstIioLibiioDevice * iio, guint n);
GstCaps *gst_iio_libiio_device_offered (GstIioLibiioDevice * iio,
    const GValue * rates, gboolean fewer);
gchar *gst_iio_libiio_device_command (GstIioLibiioDevice * iio,
    const gchar * tool, const gchar * args);
const gchar *gst_iio_libiio_device_lost_hint (GstIioLibiioDevice * iio);
void gst_iio_libiio_device_post_buffer_error (GstIioLibiioDevice * iio,
    gint err, const gchar * what, gboolean opening);

/* SIGPIPE held off around libiio calls: see gst_iio_libiio_sigpipe_hold() */
typedef struct
{
  sigset_t old_mask;
  gboolean leave_pending;
} GstIioSigpipeGuard;

void gst_iio_libiio_sigpipe_hold (GstIioSigpipeGuard * guard);
void gst_iio_libiio_sigpipe_release (GstIioSigpipeGuard * guard);

G_END_DECLS
#endif /* __GST_IIO_LIBIIO_COMMON_H__ */
