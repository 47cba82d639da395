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
#include <pthread.h>
#include <string.h>
#include <time.h>
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
  g_clear_pointer (&settings->attributes, gst_structure_free);
  g_clear_pointer (&settings->trigger, g_free);
}

/**
 * gst_iio_libiio_settings_install:
 * @output: for iiosink (the device's output channels)
 *
 * uri, device, channels, sampling-frequency, attributes, samples-per-block,
 * timeout, trigger.
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
          output ?
          "Sampling frequency to set in Hz, put back at stop (0: the "
          "stream's rate)" : "Sampling frequency to set in Hz, put back at "
          "stop (0: the rate downstream chooses)", 0, G_MAXINT,
          0, GST_IIO_LIBIIO_SETTING));
  g_object_class_install_property (klass, GST_IIO_LIBIIO_PROP_ATTRIBUTES,
      g_param_spec_boxed ("attributes", "Attributes",
          "Device attributes to write at start and put back at stop (a "
          "GstStructure, e.g. \"attrs,waveform=sine\")", GST_TYPE_STRUCTURE,
          GST_IIO_LIBIIO_SETTING));
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
  g_object_class_install_property (klass, GST_IIO_LIBIIO_PROP_TRIGGER,
      g_param_spec_string ("trigger", "Trigger",
          "IIO trigger the device takes its scans on (triggered converters: "
          "most SPI and I2C ones), put back at stop; unset: leave it",
          NULL, GST_IIO_LIBIIO_SETTING));
}

/**
 * gst_iio_libiio_settings_copy:
 * @dest: (out caller-allocates): cleared with
 *   gst_iio_libiio_settings_clear()
 *
 * Copies @src (read under the object lock) to work on outside the lock.
 */
void
gst_iio_libiio_settings_copy (GstIioLibiioSettings * dest,
    const GstIioLibiioSettings * src)
{
  *dest = *src;
  dest->uri = g_strdup (src->uri);
  dest->device = g_strdup (src->device);
  dest->channels = g_strdup (src->channels);
  dest->attributes = src->attributes ? gst_structure_copy (src->attributes) :
      NULL;
  dest->trigger = g_strdup (src->trigger);
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
    case GST_IIO_LIBIIO_PROP_ATTRIBUTES:
      g_clear_pointer (&settings->attributes, gst_structure_free);
      if (gst_value_get_structure (value))
        settings->attributes =
            gst_structure_copy (gst_value_get_structure (value));
      return TRUE;
    case GST_IIO_LIBIIO_PROP_SAMPLES_PER_BLOCK:
      settings->samples_per_block = g_value_get_uint (value);
      return TRUE;
    case GST_IIO_LIBIIO_PROP_TIMEOUT:
      settings->timeout = g_value_get_uint64 (value);
      return TRUE;
    case GST_IIO_LIBIIO_PROP_TRIGGER:
      g_free (settings->trigger);
      settings->trigger = g_value_dup_string (value);
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
    case GST_IIO_LIBIIO_PROP_ATTRIBUTES:
      gst_value_set_structure (value, settings->attributes);
      return TRUE;
    case GST_IIO_LIBIIO_PROP_SAMPLES_PER_BLOCK:
      g_value_set_uint (value, settings->samples_per_block);
      return TRUE;
    case GST_IIO_LIBIIO_PROP_TIMEOUT:
      g_value_set_uint64 (value, settings->timeout);
      return TRUE;
    case GST_IIO_LIBIIO_PROP_TRIGGER:
      g_value_set_string (value, settings->trigger);
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

/* A resource error of @element; @text and @debug (nullable) are taken. */
static void
post_error (GstElement * element, GstResourceError code, gchar * text,
    gchar * debug)
{
  gst_element_message_full (element, GST_MESSAGE_ERROR, GST_RESOURCE_ERROR,
      code, text, debug, __FILE__, GST_FUNCTION, __LINE__);
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
            gst_iio_libiio_context_name (settings), err), NULL);
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
            "output channels to play to" : "input channels to capture"), NULL);
    return NULL;
  }
  present = gst_iio_libiio_list_devices (ctx);
  post_error (element, GST_RESOURCE_ERROR_NOT_FOUND, settings->device ?
      g_strdup_printf ("IIO context '%s' has no device '%s'. It has: %s",
          gst_iio_libiio_context_name (settings), settings->device,
          present) :
      g_strdup_printf ("No IIO device given: set device= to one of: %s",
          present), NULL);
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
          output ? "output" : "input", unknown, present), NULL);
  g_free (present);
  g_free (unknown);
  return NULL;
}

/* --- attributes ------------------------------------------------------------- */

/* how long closing may wait for the remote to release the device */
#define PUT_BACK_WAIT_US (2 * G_USEC_PER_SEC)

/* @attr of @dev as text, or NULL. */
static gchar *
read_attr (const struct iio_device *dev, const gchar * attr)
{
  gchar value[1024];
  gssize ret = iio_device_attr_read (dev, attr, value, sizeof value);

  if (ret <= 0)
    return NULL;
  return g_strstrip (g_strdup (value));
}

/* iiod disables its buffer a moment after ours is destroyed (an earlier
 * session's too): until then the device refuses a rate (EBUSY). */
static gssize
write_attr (GstIioLibiioDevice * iio, const gchar * attr, const gchar * value)
{
  gint64 deadline = g_get_monotonic_time () + PUT_BACK_WAIT_US;
  gssize ret;

  while ((ret = iio_device_attr_write (iio->dev, attr, value)) == -EBUSY
      && g_get_monotonic_time () < deadline)
    g_usleep (PUT_BACK_WAIT_US / 40);
  return ret;
}

/* The device refused @value for @attr: what it takes, where it says
 * (ATTR_available), else how to look. */
static void
refused (GstElement * element, GstIioLibiioDevice * iio, const gchar * attr,
    const gchar * value, gint err)
{
  gchar *name = g_strconcat (attr, "_available", NULL);
  gchar *available = read_attr (iio->dev, name);
  gchar *msg = gst_iio_libiio_strerror (err);
  gchar *tool = gst_iio_libiio_device_command (iio, "iio_attr -d", attr);

  post_error (element, GST_RESOURCE_ERROR_SETTINGS, available ?
      g_strdup_printf ("IIO device %s on '%s' refused %s=%s: %s. It takes: "
          "%s", iio->name, iio->context, attr, value, msg, available) :
      g_strdup_printf ("IIO device %s on '%s' refused %s=%s: %s. Check the "
          "value with %s", iio->name, iio->context, attr, value, msg, tool),
      NULL);
  g_free (tool);
  g_free (msg);
  g_free (available);
  g_free (name);
}

/* Writes @value to @attr, keeping what it held in @iio->saved for
 * gst_iio_libiio_device_close(); posts a SETTINGS error when refused. */
static gboolean
change_attr (GstElement * element, GstIioLibiioDevice * iio,
    const gchar * attr, const gchar * value)
{
  gchar *old, *present;
  gssize ret;

  if (!iio_device_find_attr (iio->dev, attr)) {
    present = g_strjoinv (", ", (gchar **) iio->attr_names);
    post_error (element, GST_RESOURCE_ERROR_SETTINGS,
        g_strdup_printf ("IIO device %s on '%s' has no attribute '%s'. It "
            "has: %s", iio->name, iio->context, attr, present), NULL);
    g_free (present);
    return FALSE;
  }
  old = read_attr (iio->dev, attr);
  ret = write_attr (iio, attr, value);
  if (ret < 0) {
    refused (element, iio, attr, value, (gint) - ret);
    g_free (old);
    return FALSE;
  }
  if (old && !g_hash_table_contains (iio->saved, attr))
    g_hash_table_insert (iio->saved, g_strdup (attr), old);
  else
    g_free (old);
  return TRUE;
}

static gboolean
write_attribute (GQuark field, const GValue * value, gpointer data)
{
  gpointer *args = data;
  GValue text = G_VALUE_INIT;
  gboolean ok;

  g_value_init (&text, G_TYPE_STRING);
  if (!g_value_transform (value, &text))
    g_value_take_string (&text, gst_value_serialize (value));
  ok = change_attr (args[0], args[1], g_quark_to_string (field),
      g_value_get_string (&text));
  g_value_unset (&text);
  return ok;
}

/* The device's sampling frequency, 0 if it does not say. */
static guint
read_rate (GstIioLibiioDevice * iio)
{
  long long rate = 0;

  if (iio_device_attr_read_longlong (iio->dev, "sampling_frequency",
          &rate) < 0 || rate <= 0 || rate > G_MAXINT)
    rate = 0;
  return (guint) rate;
}

/**
 * gst_iio_libiio_device_set_rate:
 * @element: posts the error, if any
 * @rate: Hz
 *
 * Writes @rate to the device's sampling_frequency (put back at close).
 *
 * Returns: whether the device took it; @iio->rate is what it runs at
 */
gboolean
gst_iio_libiio_device_set_rate (GstElement * element,
    GstIioLibiioDevice * iio, guint rate)
{
  gchar value[16];
  gboolean ok;

  g_snprintf (value, sizeof value, "%u", rate);
  ok = change_attr (element, iio, "sampling_frequency", value);
  iio->rate = read_rate (iio);
  GST_DEBUG_OBJECT (element, "at %u Hz (0: unknown)", iio->rate);
  if (ok && iio->rate && iio->rate != rate) {
    /* the stream's times and caps would say another rate than the data */
    post_error (element, GST_RESOURCE_ERROR_SETTINGS,
        g_strdup_printf ("IIO device %s on '%s' runs at %u Hz when set to "
            "%u Hz: choose a rate from its sampling_frequency_available",
            iio->name, iio->context, iio->rate, rate), NULL);
    return FALSE;
  }
  return ok;
}

/**
 * gst_iio_libiio_device_rates:
 * @rates: (out caller-allocates): an uninitialised GValue
 *
 * The rates the device offers (sampling_frequency_available), else the one
 * it runs at.
 *
 * Returns: %FALSE when the device says no rate at all
 */
gboolean
gst_iio_libiio_device_rates (GstIioLibiioDevice * iio, GValue * rates)
{
  gchar *available = read_attr (iio->dev, "sampling_frequency_available");
  gboolean ok = available && gst_iio_dmabuf_rates_parse (available, rates);

  g_free (available);
  if (ok || !iio->rate)
    return ok;
  g_value_init (rates, G_TYPE_INT);
  g_value_set_int (rates, iio->rate);
  return TRUE;
}

/* --- the device ---------------------------------------------------------------- */

static void
set_channels (GstIioLibiioDevice * iio, GArray * chosen)
{
  if (iio->channels)
    g_array_free (iio->channels, TRUE);
  iio->channels = chosen;
  if (chosen)
    iio->scan_bytes = iio_device_get_sample_size (iio->dev);
}

/**
 * gst_iio_libiio_device_select_first:
 * @n: how many
 *
 * Keeps the first @n of the channels enabled at open (a channel count
 * negotiated downstream), as iiodmabufsrc does.
 *
 * Returns: %FALSE when fewer than @n were enabled at open
 */
gboolean
gst_iio_libiio_device_select_first (GstIioLibiioDevice * iio, guint n)
{
  GString *ids = g_string_new (NULL);
  gchar *unknown = NULL;
  GArray *chosen;
  guint i;

  if (n > iio->opened->len)
    return FALSE;
  for (i = 0; i < n; i++)
    g_string_append_printf (ids, "%s%s", i ? "," : "",
        g_array_index (iio->opened, GstIioChannel, i).id);
  chosen = gst_iio_libiio_enable_channels (iio->dev, ids->str, iio->output,
      &unknown);
  if (chosen)
    set_channels (iio, chosen);
  g_free (unknown);
  g_string_free (ids, TRUE);
  return chosen != NULL;
}

/**
 * gst_iio_libiio_device_command:
 * @tool: "iio_readdev", "iio_attr -d", ...
 * @args: (nullable): what follows the device
 *
 * Returns: the libiio tool's command line for the device, to free: with
 * -u and the URI unless it is libiio's default context
 */
gchar *
gst_iio_libiio_device_command (GstIioLibiioDevice * iio, const gchar * tool,
    const gchar * args)
{
  GString *s = g_string_new (tool);

  if (iio->uri) {
    gchar **words = g_strsplit (tool, " ", 2);

    g_string_printf (s, "%s -u %s%s%s", words[0], iio->uri, words[1] ? " " :
        "", words[1] ? words[1] : "");
    g_strfreev (words);
  }
  g_string_append_printf (s, " %s", iio->name);
  if (args)
    g_string_append_printf (s, " %s", args);
  return g_string_free (s, FALSE);
}

/**
 * gst_iio_libiio_device_lost_hint:
 *
 * Returns: what to check when the device stops answering
 */
const gchar *
gst_iio_libiio_device_lost_hint (GstIioLibiioDevice * iio)
{
  return iio->remote ? "Did iiod stop or the connection drop?" :
      "Was the device removed?";
}

/**
 * gst_iio_libiio_device_offered:
 * @rates: (nullable): the rates to offer (gst_iio_libiio_device_rates()),
 *   else the device's present one
 * @fewer: whether a stream may take the first N of the enabled channels
 *
 * Returns: (transfer full): the caps of the enabled channels, as
 * iiodmabufsrc and iiodmabufsink give them (gst_iio_dmabuf_caps_offered())
 */
GstCaps *
gst_iio_libiio_device_offered (GstIioLibiioDevice * iio, const GValue * rates,
    gboolean fewer)
{
  const GstIioChannel **ptrs = g_new (const GstIioChannel *,
      iio->channels->len);
  GstCaps *caps;
  guint i;

  for (i = 0; i < iio->channels->len; i++)
    ptrs[i] = &g_array_index (iio->channels, GstIioChannel, i);
  caps = gst_iio_dmabuf_caps_offered (ptrs, iio->channels->len, iio->rate,
      rates, fewer);
  g_free (ptrs);
  return caps;
}

static void
list_attr_names (GstIioLibiioDevice * iio)
{
  guint i, n = iio_device_get_attrs_count (iio->dev);

  iio->attr_names = g_new0 (const gchar *, n + 1);
  for (i = 0; i < n; i++)
    iio->attr_names[i] = iio_device_get_attr (iio->dev, i);
}

/* "sysfstrig7, hrtimer0": the context's triggers, to free. */
static gchar *
list_triggers (struct iio_context *ctx)
{
  GString *s = g_string_new (NULL);
  guint i;

  for (i = 0; i < iio_context_get_devices_count (ctx); i++) {
    const struct iio_device *d = iio_context_get_device (ctx, i);

    if (iio_device_is_trigger (d))
      g_string_append_printf (s, "%s%s", s->len ? ", " : "",
          iio_device_get_name (d) ? iio_device_get_name (d) :
          iio_device_get_id (d));
  }
  if (!s->len)
    g_string_append (s, "none (load iio-trig-hrtimer or iio-trig-sysfs "
        "there and make one)");
  return g_string_free (s, FALSE);
}

/* The trigger property: the device takes its scans on it until close. */
static gboolean
select_trigger (GstElement * element, GstIioLibiioDevice * iio,
    const gchar * name)
{
  const struct iio_device *trigger = iio_context_find_device (iio->ctx, name);
  gchar *present, *err;
  gint ret;

  if (!trigger || !iio_device_is_trigger (trigger)) {
    present = list_triggers (iio->ctx);
    post_error (element, GST_RESOURCE_ERROR_NOT_FOUND,
        g_strdup_printf ("IIO context '%s' has no trigger '%s'. It has: %s",
            iio->context, name, present), NULL);
    g_free (present);
    return FALSE;
  }
  if (iio_device_get_trigger (iio->dev, &iio->old_trigger) < 0)
    iio->old_trigger = NULL;
  ret = iio_device_set_trigger (iio->dev, trigger);
  if (ret < 0) {
    err = gst_iio_libiio_strerror (-ret);
    post_error (element, GST_RESOURCE_ERROR_SETTINGS,
        g_strdup_printf ("IIO device %s on '%s' refused trigger %s: %s. Is "
            "it a triggered converter?", iio->name, iio->context, name, err),
        NULL);
    g_free (err);
    return FALSE;
  }
  iio->trigger_changed = TRUE;
  return TRUE;
}

/* The trigger and attributes properties, then sampling-frequency. */
static gboolean
apply_settings (GstElement * element, GstIioLibiioDevice * iio,
    const GstIioLibiioSettings * settings)
{
  gpointer args[2] = { element, iio };

  if (settings->trigger && !select_trigger (element, iio, settings->trigger))
    return FALSE;
  if (settings->attributes
      && !gst_structure_foreach (settings->attributes, write_attribute, args))
    return FALSE;
  iio->rate = read_rate (iio);
  if (settings->sampling_frequency && settings->sampling_frequency != iio->rate)
    return gst_iio_libiio_device_set_rate (element, iio,
        settings->sampling_frequency);
  return TRUE;
}

/**
 * gst_iio_libiio_device_open:
 * @element: posts the error, if any
 * @settings: read once (the caller holds the object lock or owns them)
 * @output: iiosink's side (output channels) or iiosrc's
 *
 * Opens the context, finds the device, enables the channels, writes the
 * attributes and the sampling frequency: everything iiosrc and iiosink do
 * before a buffer.
 *
 * Returns: (transfer full) (nullable): the device, or %NULL with an error
 * posted
 */
GstIioLibiioDevice *
gst_iio_libiio_device_open (GstElement * element,
    const GstIioLibiioSettings * settings, gboolean output)
{
  GstIioLibiioDevice *iio = g_new0 (GstIioLibiioDevice, 1);

  iio->element = element;
  iio->output = output;
  iio->timeout = settings->timeout;
  iio->context = g_strdup (gst_iio_libiio_context_name (settings));
  iio->uri = g_strdup (settings->uri);
  iio->name = g_strdup (settings->device);
  iio->saved = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  iio->ctx = open_context (element, settings, output);
  if (!iio->ctx)
    goto failed;
  iio->remote = g_strcmp0 (iio_context_get_name (iio->ctx), "local") != 0;
  iio->dev = find_device (element, settings, output, iio->ctx);
  if (!iio->dev)
    goto failed;
  list_attr_names (iio);
  set_channels (iio, select_channels (element, settings, output, iio->dev));
  if (!iio->channels)
    goto failed;
  iio->opened = g_array_copy (iio->channels);
  if (!apply_settings (element, iio, settings))
    goto failed;
  return iio;

failed:
  gst_iio_libiio_device_close (iio);
  return NULL;
}

/* As write_attr(): the device refuses while iiod still has it enabled. */
static void
put_trigger_back (GstIioLibiioDevice * iio)
{
  gint64 deadline = g_get_monotonic_time () + PUT_BACK_WAIT_US;
  gint ret;

  while ((ret = iio_device_set_trigger (iio->dev, iio->old_trigger)) == -EBUSY
      && g_get_monotonic_time () < deadline)
    g_usleep (PUT_BACK_WAIT_US / 40);
  if (ret < 0)
    GST_WARNING_OBJECT (iio->element, "could not put the trigger of %s "
        "back: %d", iio->name, ret);
}

static void
not_put_back (GstIioLibiioDevice * iio, const gchar * attr,
    const gchar * value, gint err)
{
  gchar *msg = gst_iio_libiio_strerror (err);
  gchar *args = g_strconcat (attr, " ", value, NULL);
  gchar *tool = gst_iio_libiio_device_command (iio, "iio_attr -d", args);

  GST_ELEMENT_WARNING (iio->element, RESOURCE, SETTINGS, ("Could not put "
          "%s of IIO device %s on '%s' back to %s: %s. Set it with %s", attr,
          iio->name, iio->context, value, msg, tool), (NULL));
  g_free (tool);
  g_free (args);
  g_free (msg);
}

/**
 * gst_iio_libiio_device_post_buffer_error:
 * @err: the positive errno libiio gave
 * @what: the libiio call, for the debug text
 * @opening: the buffer was being made (else filled or played)
 *
 * Posts on the element what went wrong with its buffer and what to do:
 * another program holds it, no block within the timeout, the device or
 * iiod gone, or no buffer at all.
 */
void
gst_iio_libiio_device_post_buffer_error (GstIioLibiioDevice * iio, gint err,
    const gchar * what, gboolean opening)
{
  gchar *msg = gst_iio_libiio_strerror (err);
  gchar *debug = g_strdup_printf ("%s: %s", what, msg);
  const gchar *iiod = iio->remote ? ", and is iiod there still answering" : "";
  guint64 ms = iio->timeout / GST_MSECOND;
  gchar *tool;

  if (err == EBUSY)
    post_error (iio->element, GST_RESOURCE_ERROR_BUSY, iio->output ?
        g_strdup_printf ("The buffer of IIO device %s is busy on '%s': "
            "another program plays to it there. Stop it, or choose another "
            "device", iio->name, iio->context) :
        g_strdup_printf ("The buffer of IIO device %s is busy on '%s': "
            "another program captures from it there. Stop it, or choose "
            "another device", iio->name, iio->context), debug);
  else if (err == ETIMEDOUT)
    post_error (iio->element, iio->output ? GST_RESOURCE_ERROR_WRITE :
        GST_RESOURCE_ERROR_READ, iio->output ?
        g_strdup_printf ("IIO device %s on '%s' took no block within %"
            G_GUINT64_FORMAT " ms. Is it playing (sampling-frequency)%s? A "
            "block of samples-per-block at a low rate needs a longer "
            "timeout", iio->name, iio->context, ms, iiod) :
        g_strdup_printf ("IIO device %s on '%s' delivered no block within %"
            G_GUINT64_FORMAT " ms. Is it sampling (trigger, "
            "sampling-frequency)%s? A block of samples-per-block at a low "
            "rate needs a longer timeout", iio->name, iio->context, ms, iiod),
        debug);
  else if (opening) {
    tool = gst_iio_libiio_device_command (iio, iio->output ? "iio_writedev" :
        "iio_readdev", NULL);
    post_error (iio->element, iio->output ? GST_RESOURCE_ERROR_OPEN_WRITE :
        GST_RESOURCE_ERROR_OPEN_READ,
        g_strdup_printf ("Cannot open the buffer of IIO device %s on '%s': "
            "%s. Check that %s works", iio->name, iio->context, msg, tool),
        debug);
    g_free (tool);
  } else
    post_error (iio->element, iio->output ? GST_RESOURCE_ERROR_WRITE :
        GST_RESOURCE_ERROR_READ,
        g_strdup_printf ("Lost IIO device %s on '%s': %s. %s", iio->name,
            iio->context, msg, gst_iio_libiio_device_lost_hint (iio)), debug);
  g_free (msg);
}

/**
 * gst_iio_libiio_device_close:
 *
 * Puts back the attributes and rate changed, closes the context. Destroy
 * the buffer first: an enabled buffer refuses a new rate.
 */
void
gst_iio_libiio_device_close (GstIioLibiioDevice * iio)
{
  GHashTableIter iter;
  gpointer attr, value;
  gssize ret;

  g_hash_table_iter_init (&iter, iio->saved);
  while (g_hash_table_iter_next (&iter, &attr, &value)) {
    ret = write_attr (iio, attr, value);
    if (ret < 0)
      not_put_back (iio, attr, value, (gint) - ret);
  }
  g_hash_table_unref (iio->saved);
  if (iio->trigger_changed)
    put_trigger_back (iio);
  if (iio->channels)
    g_array_free (iio->channels, TRUE);
  if (iio->opened)
    g_array_free (iio->opened, TRUE);
  g_free (iio->attr_names);
  g_clear_pointer (&iio->ctx, iio_context_destroy);
  g_free (iio->context);
  g_free (iio->uri);
  g_free (iio->name);
  g_free (iio);
}

/* --- SIGPIPE ------------------------------------------------------------------ */

static gboolean
sigpipe_pending (void)
{
  sigset_t pending;

  sigpending (&pending);
  return sigismember (&pending, SIGPIPE) == 1;
}

/**
 * gst_iio_libiio_sigpipe_hold:
 * @guard: (out caller-allocates): for gst_iio_libiio_sigpipe_release()
 *
 * libiio 0.24 writes to iiod's socket without MSG_NOSIGNAL: a write after
 * iiod has gone raises SIGPIPE, which kills a C program that keeps its
 * default (gst-launch-1.0 does). Between hold and release the calling
 * thread blocks SIGPIPE, so the write fails with EPIPE and the element
 * posts its error.
 */
void
gst_iio_libiio_sigpipe_hold (GstIioSigpipeGuard * guard)
{
  sigset_t set;

  sigemptyset (&set);
  sigaddset (&set, SIGPIPE);
  pthread_sigmask (SIG_BLOCK, &set, &guard->old_mask);
  /* blocked already (an application that waits for it with sigwait(), or
   * a hold around this one): a pending SIGPIPE is not ours to take */
  guard->leave_pending = sigismember (&guard->old_mask, SIGPIPE) == 1
      || sigpipe_pending ();
}

/**
 * gst_iio_libiio_sigpipe_release:
 *
 * Takes a SIGPIPE raised since the hold (it belongs to a failed write to
 * iiod) and restores the thread's signal mask.
 */
void
gst_iio_libiio_sigpipe_release (GstIioSigpipeGuard * guard)
{
  struct timespec zero = { 0, 0 };
  sigset_t set;

  if (!guard->leave_pending && sigpipe_pending ()) {
    sigemptyset (&set);
    sigaddset (&set, SIGPIPE);
    while (sigtimedwait (&set, NULL, &zero) < 0 && errno == EINTR);
  }
  pthread_sigmask (SIG_SETMASK, &guard->old_mask, NULL);
}
