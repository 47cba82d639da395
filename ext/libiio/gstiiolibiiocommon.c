/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libiio's devices and channels in our terms (GstIioChannel, GstIioScanType),
 * for iiosrc and iiosink alike.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstiiolibiiocommon.h"
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
