/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Caps for IIO scans. Pure logic: host-tested in tests/check/caps.c.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstiiodmabufcaps.h"

#include <gst/audio/audio.h>

/* The audio format of @t, or UNKNOWN when it has padding bits or a shift. */
static GstAudioFormat
audio_format_for (const IioScanType * t)
{
  if (t->shift || t->repeat != 1 || t->realbits != t->storagebits)
    return GST_AUDIO_FORMAT_UNKNOWN;
  if (t->storagebits != 8 && t->storagebits != 16 && t->storagebits != 32)
    return GST_AUDIO_FORMAT_UNKNOWN;
  return gst_audio_format_build_integer (t->is_signed,
      t->big_endian ? G_BIG_ENDIAN : G_LITTLE_ENDIAN, t->storagebits,
      t->realbits);
}

static gboolean
same_type (const IioScanType * a, const IioScanType * b)
{
  return a->big_endian == b->big_endian && a->is_signed == b->is_signed
      && a->realbits == b->realbits && a->storagebits == b->storagebits
      && a->shift == b->shift && a->repeat == b->repeat;
}

static GstAudioFormat
uniform_audio_format (const IioChannel * const *channels, guint n)
{
  guint i;

  if (n == 0)
    return GST_AUDIO_FORMAT_UNKNOWN;
  for (i = 0; i < n; i++)
    if (g_strcmp0 (channels[i]->id, "timestamp") == 0
        || !same_type (&channels[i]->type, &channels[0]->type))
      return GST_AUDIO_FORMAT_UNKNOWN;
  return audio_format_for (&channels[0]->type);
}

static GstCaps *
audio_caps (GstAudioFormat format, guint n, guint rate)
{
  return gst_caps_new_simple ("audio/x-raw",
      "format", G_TYPE_STRING, gst_audio_format_to_string (format),
      "layout", G_TYPE_STRING, "interleaved",
      "rate", G_TYPE_INT, (gint) rate,
      "channels", G_TYPE_INT, (gint) n,
      "channel-mask", GST_TYPE_BITMASK, G_GUINT64_CONSTANT (0), NULL);
}

static GstCaps *
iio_caps (const IioChannel * const *channels, guint n, guint rate)
{
  GString *ids = g_string_new (NULL), *types = g_string_new (NULL),
      *offsets = g_string_new (NULL);
  IioScanType *t = g_new (IioScanType, n);
  guint *off = g_new (guint, n), scan_bytes, i;
  GstCaps *caps;

  for (i = 0; i < n; i++)
    t[i] = channels[i]->type;
  scan_bytes = iio_scan_layout (t, n, off);
  for (i = 0; i < n; i++) {
    gchar *type = iio_scan_type_to_string (&t[i]);
    const gchar *sep = i ? "," : "";

    g_string_append_printf (ids, "%s%s", sep, channels[i]->id);
    g_string_append_printf (types, "%s%s", sep, type);
    g_string_append_printf (offsets, "%s%u", sep, off[i]);
    g_free (type);
  }
  caps = gst_caps_new_simple (GST_IIO_MEDIA_TYPE,
      "channels", G_TYPE_INT, (gint) n,
      "scan-bytes", G_TYPE_INT, (gint) scan_bytes,
      "channel-ids", G_TYPE_STRING, ids->str,
      "channel-types", G_TYPE_STRING, types->str,
      "channel-offsets", G_TYPE_STRING, offsets->str, NULL);
  if (rate)
    gst_caps_set_simple (caps, "rate", G_TYPE_INT, (gint) rate, NULL);
  g_string_free (ids, TRUE);
  g_string_free (types, TRUE);
  g_string_free (offsets, TRUE);
  g_free (t);
  g_free (off);
  return caps;
}

/**
 * gst_iio_dmabuf_caps_for_channels:
 * @channels: (array length=n_channels): the enabled channels, in scan order
 * @n_channels: how many
 * @rate: the sampling frequency in Hz, 0 when unknown
 *
 * Returns: (transfer full): fixed caps describing one scan stream
 */
GstCaps *
gst_iio_dmabuf_caps_for_channels (const IioChannel * const *channels,
    guint n_channels, guint rate)
{
  GstAudioFormat format = uniform_audio_format (channels, n_channels);

  if (format != GST_AUDIO_FORMAT_UNKNOWN && rate)
    return audio_caps (format, n_channels, rate);
  return iio_caps (channels, n_channels, rate);
}

/**
 * gst_iio_dmabuf_caps_template:
 *
 * Returns: (transfer full): every caps an IIO element may produce or take
 */
GstCaps *
gst_iio_dmabuf_caps_template (void)
{
  return gst_caps_from_string ("audio/x-raw, "
      "format = (string) { S8, U8, S16LE, S16BE, U16LE, U16BE, S32LE, S32BE, "
      "U32LE, U32BE }, layout = (string) interleaved, "
      "rate = (int) [ 1, MAX ], channels = (int) [ 1, MAX ]; "
      GST_IIO_MEDIA_TYPE ", channels = (int) [ 1, MAX ], "
      "scan-bytes = (int) [ 1, MAX ]");
}

/**
 * gst_iio_dmabuf_caps_parse_rate:
 * @caps: fixed caps
 * @rate: (out): their rate
 *
 * Returns: %TRUE if @caps carry a rate
 */
/**
 * gst_iio_dmabuf_caps_for_device:
 * @dev: an open IIO device
 * @rate: its sampling frequency, 0 if unknown
 *
 * Returns: (transfer full): the caps of its enabled channels
 */
GstCaps *
gst_iio_dmabuf_caps_for_device (const IioDevice * dev, guint rate)
{
  guint n = iio_device_n_enabled (dev), i;
  const IioChannel **channels = g_new (const IioChannel *, n);
  GstCaps *caps;

  for (i = 0; i < n; i++)
    channels[i] = iio_device_enabled_channel (dev, i);
  caps = gst_iio_dmabuf_caps_for_channels (channels, n, rate);
  g_free (channels);
  return caps;
}

gboolean
gst_iio_dmabuf_caps_parse_rate (const GstCaps * caps, guint * rate)
{
  gint r;

  if (gst_caps_get_size (caps) < 1 || !gst_structure_get_int
      (gst_caps_get_structure (caps, 0), "rate", &r) || r <= 0)
    return FALSE;
  *rate = r;
  return TRUE;
}
