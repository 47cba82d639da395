/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Caps for IIO scans. Pure logic: host-tested in tests/check/caps.c.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstiiodmabufcaps.h"

#include <gst/audio/audio.h>
#include <string.h>

/* The audio format of @t, or UNKNOWN when it has padding bits or a shift. */
static GstAudioFormat
audio_format_for (const GstIioScanType * t)
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
same_type (const GstIioScanType * a, const GstIioScanType * b)
{
  return a->big_endian == b->big_endian && a->is_signed == b->is_signed
      && a->realbits == b->realbits && a->storagebits == b->storagebits
      && a->shift == b->shift && a->repeat == b->repeat;
}

static GstAudioFormat
uniform_audio_format (const GstIioChannel * const *channels, guint n)
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
iio_caps (const GstIioChannel * const *channels, guint n, guint rate)
{
  GString *ids = g_string_new (NULL), *types = g_string_new (NULL),
      *offsets = g_string_new (NULL);
  GstIioScanType *t = g_new (GstIioScanType, n);
  guint *off = g_new (guint, n), scan_bytes, i;
  GstCaps *caps;

  for (i = 0; i < n; i++)
    t[i] = channels[i]->type;
  scan_bytes = gst_iio_scan_layout (t, n, off);
  for (i = 0; i < n; i++) {
    gchar *type = gst_iio_scan_type_to_string (&t[i]);
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
gst_iio_dmabuf_caps_for_channels (const GstIioChannel * const *channels,
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
 * gst_iio_dmabuf_caps_for_device:
 * @dev: an open IIO device
 * @rate: its sampling frequency, 0 if unknown
 *
 * Returns: (transfer full): the caps of its enabled channels
 */
GstCaps *
gst_iio_dmabuf_caps_for_device (const GstIioDevice * dev, guint rate)
{
  guint n = gst_iio_device_n_enabled (dev), i;
  const GstIioChannel **channels = g_new (const GstIioChannel *, n);
  GstCaps *caps;

  for (i = 0; i < n; i++)
    channels[i] = gst_iio_device_enabled_channel (dev, i);
  caps = gst_iio_dmabuf_caps_for_channels (channels, n, rate);
  g_free (channels);
  return caps;
}

/**
 * gst_iio_dmabuf_caps_parse_rate:
 * @caps: fixed caps
 * @rate: (out): their rate
 *
 * Returns: %TRUE if @caps carry a rate
 */
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

/* a list is clearer than a stepped range for this many rates or fewer */
#define MAX_LISTED_RATES 64

/* "48000" or "48000.000000": whole rates only. */
static gboolean
parse_whole_rate (const gchar * text, gint * rate)
{
  gchar *end = NULL;
  gdouble v = g_ascii_strtod (text, &end);

  if (end == text || *end || v < 1 || v > G_MAXINT || v != (gint) v)
    return FALSE;
  *rate = (gint) v;
  return TRUE;
}

static void
append_rate (GValue * list, gint rate)
{
  GValue v = G_VALUE_INIT;

  g_value_init (&v, G_TYPE_INT);
  g_value_set_int (&v, rate);
  gst_value_list_append_value (list, &v);
  g_value_unset (&v);
}

/* "[min step max]" */
static gboolean
parse_rate_range (gchar ** words, GValue * rates)
{
  gint min, step, max, r;

  if (g_strv_length (words) != 3 || !parse_whole_rate (words[0], &min)
      || !parse_whole_rate (words[1], &step)
      || !parse_whole_rate (words[2], &max) || max < min)
    return FALSE;
  if (min == max) {
    g_value_init (rates, G_TYPE_INT);
    g_value_set_int (rates, min);
  } else if ((max - min) / step < MAX_LISTED_RATES) {
    g_value_init (rates, GST_TYPE_LIST);
    for (r = min; r <= max && r >= min; r += step)
      append_rate (rates, r);
  } else {
    g_value_init (rates, GST_TYPE_INT_RANGE);
    if (min % step == 0 && max % step == 0)
      gst_value_set_int_range_step (rates, min, max, step);
    else
      gst_value_set_int_range (rates, min, max);
  }
  return TRUE;
}

/* "8000 16000 48000" */
static gboolean
parse_rate_list (gchar ** words, GValue * rates)
{
  gint rate;
  guint i;

  g_value_init (rates, GST_TYPE_LIST);
  for (i = 0; words[i]; i++) {
    if (parse_whole_rate (words[i], &rate))
      append_rate (rates, rate);
  }
  if (gst_value_list_get_size (rates) > 0)
    return TRUE;
  g_value_unset (rates);
  return FALSE;
}

/* Words separated by any run of blanks. */
static gchar **
split_words (const gchar * text)
{
  gchar **all = g_strsplit_set (text, " \t\n", -1);
  GPtrArray *words = g_ptr_array_new ();
  guint i;

  for (i = 0; all[i]; i++) {
    if (*all[i])
      g_ptr_array_add (words, g_strdup (all[i]));
  }
  g_ptr_array_add (words, NULL);
  g_strfreev (all);
  return (gchar **) g_ptr_array_free (words, FALSE);
}

/**
 * gst_iio_dmabuf_rates_parse:
 * @available: a sampling_frequency_available attribute: a list of rates
 *     ("8000 16000 48000") or a range ("[min step max]")
 * @rates: (out caller-allocates): an uninitialised GValue; an int, a list
 *     of ints or an int range on success
 *
 * Rates that are not whole numbers of Hz are left out.
 *
 * Returns: %TRUE if @available names at least one whole rate
 */
gboolean
gst_iio_dmabuf_rates_parse (const gchar * available, GValue * rates)
{
  gchar *text = g_strstrip (g_strdup (available ? available : ""));
  gboolean range = g_str_has_prefix (text, "[") && g_str_has_suffix (text,
      "]");
  gchar **words;
  gboolean ok;

  if (range) {
    text[strlen (text) - 1] = '\0';
    memmove (text, text + 1, strlen (text));
  }
  words = split_words (text);
  ok = range ? parse_rate_range (words, rates) : parse_rate_list (words, rates);
  g_strfreev (words);
  g_free (text);
  return ok;
}

/**
 * gst_iio_dmabuf_caps_offered:
 * @channels: (array length=n_channels): the channels a source may send, in
 *     scan order
 * @n_channels: how many
 * @rate: the device's present rate in Hz, 0 when unknown
 * @rates: (nullable): the rates it offers (gst_iio_dmabuf_rates_parse()),
 *     else only @rate
 * @fewer: whether the stream may take only the first N of them (no
 *     channel list was given)
 *
 * All the channels first; then, as long as they make audio/x-raw and
 * @fewer, the first N - 1, ..., 1: what iiodmabufsrc and iiosrc offer.
 *
 * Returns: (transfer full): the caps
 */
GstCaps *
gst_iio_dmabuf_caps_offered (const GstIioChannel * const *channels,
    guint n_channels, guint rate, const GValue * rates, gboolean fewer)
{
  GstCaps *caps = gst_caps_new_empty (), *one;
  gboolean more = TRUE;
  guint n;

  for (n = n_channels; n > 0 && more; n--) {
    one = gst_iio_dmabuf_caps_for_channels (channels, n,
        rates ? MAX (rate, 1) : rate);
    if (rates)
      gst_iio_dmabuf_caps_set_rates (one, rates);
    more = fewer && gst_structure_has_name (gst_caps_get_structure (one, 0),
        "audio/x-raw");
    gst_caps_append (caps, one);
  }
  return caps;
}

/**
 * gst_iio_dmabuf_caps_filter:
 * @caps: (transfer full): what an element offers
 * @filter: (nullable): a get_caps() filter
 *
 * Returns: (transfer full): @caps within @filter, in the filter's order
 */
GstCaps *
gst_iio_dmabuf_caps_filter (GstCaps * caps, GstCaps * filter)
{
  GstCaps *filtered;

  if (!filter)
    return caps;
  filtered = gst_caps_intersect_full (filter, caps, GST_CAPS_INTERSECT_FIRST);
  gst_caps_unref (caps);
  return filtered;
}

/**
 * gst_iio_dmabuf_caps_set_rates:
 * @caps: writable caps
 * @rates: an int, a list of ints or an int range
 *
 * Sets every structure's rate to @rates.
 */
void
gst_iio_dmabuf_caps_set_rates (GstCaps * caps, const GValue * rates)
{
  guint i;

  for (i = 0; i < gst_caps_get_size (caps); i++)
    gst_structure_set_value (gst_caps_get_structure (caps, i), "rate", rates);
}

/**
 * gst_iio_dmabuf_caps_allow_positions:
 * @caps: (transfer full): caps an output converter takes
 *
 * A converter's channels have no speaker positions: a positioned stream
 * (a decoder's stereo, say) plays its channels in order. After each
 * unpositioned audio structure comes the same without a channel-mask.
 *
 * Returns: (transfer full): @caps, extended
 */
GstCaps *
gst_iio_dmabuf_caps_allow_positions (GstCaps * caps)
{
  GstCaps *positioned = gst_caps_new_empty ();
  guint i;

  for (i = 0; i < gst_caps_get_size (caps); i++) {
    GstStructure *s = gst_caps_get_structure (caps, i);

    if (gst_structure_has_name (s, "audio/x-raw")) {
      s = gst_structure_copy (s);
      gst_structure_remove_field (s, "channel-mask");
      gst_caps_append_structure (positioned, s);
    }
  }
  gst_caps_append (caps, positioned);
  return caps;
}
