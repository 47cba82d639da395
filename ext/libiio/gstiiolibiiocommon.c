/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libiio's devices and channels in our terms (GstIioChannel, GstIioScanType),
 * for iiosrc and iiosink alike.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstiiolibiiocommon.h"

#include <errno.h>
#include <string.h>
#include "gstiiodmabufcaps.h"

/**
 * gst_iio_libiio_strerror:
 * @err: a positive errno value
 *
 * Returns: libiio's text for @err, to free.
 */
gchar *
gst_iio_libiio_strerror (gint err)
{
  gchar msg[256];

  iio_strerror (err, msg, sizeof msg);
  return g_strdup (msg);
}

/**
 * gst_iio_libiio_list_devices:
 * @ctx: a context
 *
 * Returns: "iio:device0 (iio-sim-adc), ...": what @ctx holds, to free.
 */
gchar *
gst_iio_libiio_list_devices (struct iio_context *ctx)
{
  GString *s = g_string_new (NULL);
  guint i, n = iio_context_get_devices_count (ctx);

  for (i = 0; i < n; i++) {
    const struct iio_device *d = iio_context_get_device (ctx, i);
    const gchar *name = iio_device_get_name (d);

    g_string_append_printf (s, "%s%s%s%s%s", i ? ", " : "",
        iio_device_get_id (d), name ? " (" : "", name ? name : "",
        name ? ")" : "");
  }
  if (n == 0)
    g_string_append (s, "no devices");
  return g_string_free (s, FALSE);
}

/**
 * gst_iio_libiio_is_scan_channel:
 * @ch: a channel
 * @output: the direction wanted
 *
 * Returns: whether @ch goes through the buffer in that direction.
 */
gboolean
gst_iio_libiio_is_scan_channel (const struct iio_channel *ch, gboolean output)
{
  return iio_channel_is_scan_element (ch)
      && !!iio_channel_is_output (ch) == !!output;
}

/**
 * gst_iio_libiio_has_scan_channels:
 * @dev: a device
 * @output: the direction wanted
 *
 * Returns: whether @dev has a buffer channel in that direction.
 */
gboolean
gst_iio_libiio_has_scan_channels (const struct iio_device *dev, gboolean output)
{
  guint i;

  for (i = 0; i < iio_device_get_channels_count (dev); i++)
    if (gst_iio_libiio_is_scan_channel (iio_device_get_channel (dev, i),
            output))
      return TRUE;
  return FALSE;
}

/**
 * gst_iio_libiio_list_channels:
 * @dev: a device
 * @output: the direction wanted
 *
 * Returns: "voltage0,voltage1": its scan channels that way, to free.
 */
gchar *
gst_iio_libiio_list_channels (const struct iio_device *dev, gboolean output)
{
  GString *s = g_string_new (NULL);
  guint i, n = iio_device_get_channels_count (dev);

  for (i = 0; i < n; i++) {
    const struct iio_channel *ch = iio_device_get_channel (dev, i);

    if (gst_iio_libiio_is_scan_channel (ch, output))
      g_string_append_printf (s, "%s%s", s->len ? "," : "",
          iio_channel_get_id (ch));
  }
  return g_string_free (s, FALSE);
}

/* libiio's data format is the kernel's scan type, field for field. */
static void
scan_type_from_libiio (const struct iio_data_format *f, GstIioScanType * t)
{
  t->big_endian = f->is_be;
  t->is_signed = f->is_signed;
  t->realbits = f->bits;
  t->storagebits = f->length;
  t->shift = f->shift;
  t->repeat = f->repeat ? f->repeat : 1;
}

static gint
compare_index (gconstpointer a, gconstpointer b)
{
  const GstIioChannel *ca = a, *cb = b;

  return (gint) ca->index - (gint) cb->index;
}

static void
add_channel (GArray * chosen, struct iio_channel *ch)
{
  GstIioChannel c = { 0, };

  /* named twice: one channel, as iiodmabufsrc and iiodmabufsink take it */
  if (iio_channel_is_enabled (ch))
    return;
  c.id = (gchar *) iio_channel_get_id (ch);
  c.index = iio_channel_get_index (ch);
  scan_type_from_libiio (iio_channel_get_data_format (ch), &c.type);
  c.enabled = TRUE;
  iio_channel_enable (ch);
  g_array_append_val (chosen, c);
}

/**
 * gst_iio_libiio_enable_channels:
 * @dev: a device
 * @ids: comma-separated channel ids, or %NULL for every scan channel that
 *   way but the timestamp
 * @output: the direction wanted
 * @unknown: (out): on failure, the id @dev does not have that way, to free
 *
 * Enables those channels of @dev and disables the others.
 *
 * Returns: (transfer full): the enabled channels as GstIioChannel, in scan
 * order (their ids are libiio's), or %NULL.
 */
GArray *
gst_iio_libiio_enable_channels (struct iio_device *dev, const gchar * ids,
    gboolean output, gchar ** unknown)
{
  GArray *chosen = g_array_new (FALSE, FALSE, sizeof (GstIioChannel));
  guint i, n = iio_device_get_channels_count (dev);
  gchar **list, **id;

  for (i = 0; i < n; i++)
    iio_channel_disable (iio_device_get_channel (dev, i));
  if (!ids) {
    for (i = 0; i < n; i++) {
      struct iio_channel *ch = iio_device_get_channel (dev, i);

      if (gst_iio_libiio_is_scan_channel (ch, output)
          && g_strcmp0 (iio_channel_get_id (ch), "timestamp") != 0)
        add_channel (chosen, ch);
    }
  } else {
    list = g_strsplit (ids, ",", -1);
    for (id = list; *id; id++) {
      struct iio_channel *ch =
          iio_device_find_channel (dev, g_strstrip (*id), output);

      if (!ch || !gst_iio_libiio_is_scan_channel (ch, output)) {
        *unknown = g_strdup (*id);
        g_strfreev (list);
        g_array_free (chosen, TRUE);
        return NULL;
      }
      add_channel (chosen, ch);
    }
    g_strfreev (list);
  }
  g_array_sort (chosen, compare_index);
  return chosen;
}

/**
 * gst_iio_libiio_caps:
 * @channels: GstIioChannel in scan order
 * @rate: Hz, 0 if unknown
 *
 * Returns: (transfer full): the caps iiodmabufsrc and iiodmabufsink give
 * for these channels, from the same code.
 */
GstCaps *
gst_iio_libiio_caps (GArray * channels, guint rate)
{
  const GstIioChannel **ptrs = g_new (const GstIioChannel *, channels->len);
  GstCaps *caps;
  guint i;

  for (i = 0; i < channels->len; i++)
    ptrs[i] = &g_array_index (channels, GstIioChannel, i);
  caps = gst_iio_dmabuf_caps_for_channels (ptrs, channels->len, rate);
  g_free (ptrs);
  return caps;
}

/* --- settings --------------------------------------------------------------- */

#define DEFAULT_SAMPLES_PER_BLOCK 4096
#define DEFAULT_TIMEOUT (5 * GST_SECOND)

void
gst_iio_libiio_settings_init (GstIioLibiioSettings * settings)
{
  memset (settings, 0, sizeof *settings);
  settings->samples_per_block = DEFAULT_SAMPLES_PER_BLOCK;
  settings->timeout = DEFAULT_TIMEOUT;
}

void
gst_iio_libiio_settings_clear (GstIioLibiioSettings * settings)
{
  g_clear_pointer (&settings->uri, g_free);
  g_clear_pointer (&settings->device, g_free);
  g_clear_pointer (&settings->channels, g_free);
}

/**
 * gst_iio_libiio_settings_install:
 * @output: for iiosink (the device's output channels)
 *
 * uri, device, channels, sampling-frequency, samples-per-block, timeout.
 */
void
gst_iio_libiio_settings_install (GObjectClass * klass, gboolean output)
{
  g_object_class_install_property (klass, GST_IIO_LIBIIO_PROP_URI,
      g_param_spec_string ("uri", "URI",
          "libiio context URI (ip:HOST, usb:..., local:; unset: libiio's "
          "default)", NULL, GST_IIO_LIBIIO_SETTING));
  g_object_class_install_property (klass, GST_IIO_LIBIIO_PROP_DEVICE,
      g_param_spec_string ("device", "Device",
          "IIO device name, label or id (iio:deviceN) in the context", NULL,
          GST_IIO_LIBIIO_SETTING));
  g_object_class_install_property (klass, GST_IIO_LIBIIO_PROP_CHANNELS,
      g_param_spec_string ("channels", "Channels", output ?
          "Comma-separated output channel ids (unset: all)" :
          "Comma-separated channel ids (unset: all but the timestamp)",
          NULL, GST_IIO_LIBIIO_SETTING));
  g_object_class_install_property (klass,
      GST_IIO_LIBIIO_PROP_SAMPLING_FREQUENCY,
      g_param_spec_uint ("sampling-frequency", "Sampling frequency",
          "Sampling frequency to set in Hz (0: leave as it is)", 0, G_MAXINT,
          0, GST_IIO_LIBIIO_SETTING));
  g_object_class_install_property (klass,
      GST_IIO_LIBIIO_PROP_SAMPLES_PER_BLOCK,
      g_param_spec_uint ("samples-per-block", "Samples per block",
          "Scans per block", 1, G_MAXINT / 64, DEFAULT_SAMPLES_PER_BLOCK,
          GST_IIO_LIBIIO_SETTING));
  /* in ns as our other elements' timeout (libiio takes ms) */
  g_object_class_install_property (klass, GST_IIO_LIBIIO_PROP_TIMEOUT,
      g_param_spec_uint64 ("timeout", "Timeout",
          "How long to wait for the context or a block before an error (ns)",
          GST_MSECOND, G_MAXUINT64, DEFAULT_TIMEOUT, GST_IIO_LIBIIO_SETTING));
}

/* Returns: whether @prop_id is a shared setting. */
gboolean
gst_iio_libiio_settings_set (GstIioLibiioSettings * settings, guint prop_id,
    const GValue * value)
{
  switch (prop_id) {
    case GST_IIO_LIBIIO_PROP_URI:
      g_free (settings->uri);
      settings->uri = g_value_dup_string (value);
      return TRUE;
    case GST_IIO_LIBIIO_PROP_DEVICE:
      g_free (settings->device);
      settings->device = g_value_dup_string (value);
      return TRUE;
    case GST_IIO_LIBIIO_PROP_CHANNELS:
      g_free (settings->channels);
      settings->channels = g_value_dup_string (value);
      return TRUE;
    case GST_IIO_LIBIIO_PROP_SAMPLING_FREQUENCY:
      settings->sampling_frequency = g_value_get_uint (value);
      return TRUE;
    case GST_IIO_LIBIIO_PROP_SAMPLES_PER_BLOCK:
      settings->samples_per_block = g_value_get_uint (value);
      return TRUE;
    case GST_IIO_LIBIIO_PROP_TIMEOUT:
      settings->timeout = g_value_get_uint64 (value);
      return TRUE;
    default:
      return FALSE;
  }
}

/* Returns: whether @prop_id is a shared setting. */
gboolean
gst_iio_libiio_settings_get (const GstIioLibiioSettings * settings,
    guint prop_id, GValue * value)
{
  switch (prop_id) {
    case GST_IIO_LIBIIO_PROP_URI:
      g_value_set_string (value, settings->uri);
      return TRUE;
    case GST_IIO_LIBIIO_PROP_DEVICE:
      g_value_set_string (value, settings->device);
      return TRUE;
    case GST_IIO_LIBIIO_PROP_CHANNELS:
      g_value_set_string (value, settings->channels);
      return TRUE;
    case GST_IIO_LIBIIO_PROP_SAMPLING_FREQUENCY:
      g_value_set_uint (value, settings->sampling_frequency);
      return TRUE;
    case GST_IIO_LIBIIO_PROP_SAMPLES_PER_BLOCK:
      g_value_set_uint (value, settings->samples_per_block);
      return TRUE;
    case GST_IIO_LIBIIO_PROP_TIMEOUT:
      g_value_set_uint64 (value, settings->timeout);
      return TRUE;
    default:
      return FALSE;
  }
}

/* --- opening a device --------------------------------------------------------- */

/**
 * gst_iio_libiio_context_name:
 *
 * Returns: the context @settings name, for messages
 */
const gchar *
gst_iio_libiio_context_name (const GstIioLibiioSettings * settings)
{
  return settings->uri ? settings->uri : "(libiio's default context)";
}

/* A resource error of @element: OPEN_READ for a source, OPEN_WRITE for a
 * sink, NOT_FOUND or SETTINGS; @text is taken. */
static void
post_error (GstElement * element, GstResourceError code, gchar * text)
{
  gst_element_message_full (element, GST_MESSAGE_ERROR, GST_RESOURCE_ERROR,
      code, text, NULL, __FILE__, GST_FUNCTION, __LINE__);
}

static struct iio_context *
open_context (GstElement * element, const GstIioLibiioSettings * settings,
    gboolean output)
{
  const gchar *uri = settings->uri;
  struct iio_context *ctx;
  gchar *err;
  gint ret;

  errno = 0;
  ctx = uri ? iio_create_context_from_uri (uri) : iio_create_default_context ();
  if (!ctx) {
    err = gst_iio_libiio_strerror (errno ? errno : EIO);
    post_error (element, output ? GST_RESOURCE_ERROR_OPEN_WRITE :
        GST_RESOURCE_ERROR_OPEN_READ, uri && g_str_has_prefix (uri, "ip:") ?
        g_strdup_printf ("Cannot reach IIO context '%s': %s. Is iiod "
            "running there?", uri, err) :
        g_strdup_printf ("Cannot open IIO context '%s': %s. iio_info -S "
            "lists the contexts libiio can see",
            gst_iio_libiio_context_name (settings), err));
    g_free (err);
    return NULL;
  }
  ret = iio_context_set_timeout (ctx,
      (guint) MIN (settings->timeout / GST_MSECOND, G_MAXUINT));
  if (ret < 0)
    GST_WARNING_OBJECT (element, "cannot set libiio's timeout: %d", ret);
  GST_DEBUG_OBJECT (element, "context %s: %s",
      gst_iio_libiio_context_name (settings),
      iio_context_get_description (ctx));
  return ctx;
}

static struct iio_device *
find_device (GstElement * element, const GstIioLibiioSettings * settings,
    gboolean output, struct iio_context *ctx)
{
  struct iio_device *dev = NULL;
  gchar *present;

  if (settings->device)
    dev = iio_context_find_device (ctx, settings->device);
  if (dev && gst_iio_libiio_has_scan_channels (dev, output))
    return dev;
  if (dev) {
    post_error (element, GST_RESOURCE_ERROR_NOT_FOUND,
        g_strdup_printf ("IIO device %s on '%s' has no %s", settings->device,
            gst_iio_libiio_context_name (settings), output ?
            "output channels to play to" : "input channels to capture"));
    return NULL;
  }
  present = gst_iio_libiio_list_devices (ctx);
  post_error (element, GST_RESOURCE_ERROR_NOT_FOUND, settings->device ?
      g_strdup_printf ("IIO context '%s' has no device '%s'. It has: %s",
          gst_iio_libiio_context_name (settings), settings->device,
          present) :
      g_strdup_printf ("No IIO device given: set device= to one of: %s",
          present));
  g_free (present);
  return NULL;
}

/* Enables the channels asked for and returns them in scan order. */
static GArray *
select_channels (GstElement * element, const GstIioLibiioSettings * settings,
    gboolean output, struct iio_device *dev)
{
  gchar *unknown = NULL, *present;
  GArray *chosen = gst_iio_libiio_enable_channels (dev, settings->channels,
      output, &unknown);

  if (chosen)
    return chosen;
  present = gst_iio_libiio_list_channels (dev, output);
  post_error (element, GST_RESOURCE_ERROR_NOT_FOUND,
      g_strdup_printf ("IIO device %s on '%s' has no %s channel '%s'. It "
          "has: %s", settings->device, gst_iio_libiio_context_name (settings),
          output ? "output" : "input", unknown, present));
  g_free (present);
  g_free (unknown);
  return NULL;
}

/* Writes sampling-frequency if set; returns the device's rate, 0 if it
 * does not say, or -1 (posted) when refused. */
static gint64
set_rate (GstElement * element, const GstIioLibiioSettings * settings,
    struct iio_device *dev)
{
  long long rate = 0;
  gchar *err;
  gint ret = 0;

  if (settings->sampling_frequency)
    ret = iio_device_attr_write_longlong (dev, "sampling_frequency",
        settings->sampling_frequency);
  if (ret < 0) {
    err = gst_iio_libiio_strerror (-ret);
    post_error (element, GST_RESOURCE_ERROR_SETTINGS,
        g_strdup_printf ("IIO device %s on '%s' refused "
            "sampling-frequency=%u: %s", settings->device,
            gst_iio_libiio_context_name (settings),
            settings->sampling_frequency, err));
    g_free (err);
    return -1;
  }
  if (iio_device_attr_read_longlong (dev, "sampling_frequency", &rate) < 0
      || rate <= 0 || rate > G_MAXINT)
    rate = 0;
  GST_DEBUG_OBJECT (element, "at %u Hz (0: unknown)", (guint) rate);
  return rate;
}

/**
 * gst_iio_libiio_open:
 * @element: posts the error, if any
 * @output: iiosink's side (output channels) or iiosrc's
 * @ctx: (out): the context, to destroy; set even when a later step fails
 * @dev: (out): the device in it
 * @rate: (out): its sampling frequency, 0 if it does not say
 *
 * Opens the context, finds the device, enables the channels, writes the
 * sampling frequency: everything iiosrc and iiosink do before a buffer.
 *
 * Returns: (transfer full) (nullable): the enabled channels in scan order
 * (GstIioChannel), or %NULL with an error posted
 */
GArray *
gst_iio_libiio_open (GstElement * element,
    const GstIioLibiioSettings * settings, gboolean output,
    struct iio_context **ctx, struct iio_device **dev, guint * rate)
{
  GArray *chosen;
  gint64 hz;

  *ctx = open_context (element, settings, output);
  if (!*ctx)
    return NULL;
  *dev = find_device (element, settings, output, *ctx);
  if (!*dev)
    return NULL;
  chosen = select_channels (element, settings, output, *dev);
  if (!chosen)
    return NULL;
  hz = set_rate (element, settings, *dev);
  if (hz < 0) {
    g_array_free (chosen, TRUE);
    return NULL;
  }
  *rate = hz;
  return chosen;
}
