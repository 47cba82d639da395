/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Host tests: caps for IIO scans (audio/x-raw or application/x-iio). */
#include <gst/check/gstcheck.h>

#include "gstiiodmabufcaps.h"

/* Builds n channels "voltage0".. of type @type; frees with free_channels. */
static const GstIioChannel **
make_channels (guint n, const gchar * type)
{
  const GstIioChannel **chs = g_new0 (const GstIioChannel *, n);
  guint i;

  for (i = 0; i < n; i++) {
    GstIioChannel *ch = g_new0 (GstIioChannel, 1);
    ch->id = g_strdup_printf ("voltage%u", i);
    ch->index = i;
    fail_unless (gst_iio_scan_type_parse (type, &ch->type, NULL));
    chs[i] = ch;
  }
  return chs;
}

static void
free_channels (const GstIioChannel ** chs, guint n)
{
  guint i;

  for (i = 0; i < n; i++) {
    g_free (chs[i]->id);
    g_free ((gpointer) chs[i]);
  }
  g_free (chs);
}

static void
assert_caps (const GstIioChannel ** chs, guint n, guint rate,
    const gchar * want)
{
  GstCaps *caps = gst_iio_dmabuf_caps_for_channels (chs, n, rate);
  GstCaps *expected = gst_caps_from_string (want);

  fail_unless (gst_caps_is_fixed (caps));
  fail_unless (gst_caps_is_equal (caps, expected), "got %" GST_PTR_FORMAT
      ", want %" GST_PTR_FORMAT, caps, expected);
  gst_caps_unref (caps);
  gst_caps_unref (expected);
}

GST_START_TEST (test_audio_formats)
{
  static const struct
  {
    const gchar *type, *format;
  } cases[] = {
    {"le:s16/16>>0", "S16LE"}, {"be:s16/16>>0", "S16BE"},
    {"le:u16/16>>0", "U16LE"}, {"be:u16/16>>0", "U16BE"},
    {"le:s8/8>>0", "S8"}, {"le:u8/8>>0", "U8"},
    {"le:s32/32>>0", "S32LE"}, {"be:u32/32>>0", "U32BE"},
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    const GstIioChannel **chs = make_channels (2, cases[i].type);
    gchar *want = g_strdup_printf ("audio/x-raw, format=%s, "
        "layout=interleaved, rate=48000, channels=2, channel-mask=(bitmask)0",
        cases[i].format);

    assert_caps (chs, 2, 48000, want);
    g_free (want);
    free_channels (chs, 2);
  }
}

GST_END_TEST;

GST_START_TEST (test_shifted_is_iio)
{
  const GstIioChannel **chs = make_channels (3, "le:s12/16>>4");

  assert_caps (chs, 3, 1000000, "application/x-iio, channels=3, "
      "scan-bytes=6, channel-ids=\"voltage0,voltage1,voltage2\", "
      "channel-types=\"le:s12/16>>4,le:s12/16>>4,le:s12/16>>4\", "
      "channel-offsets=\"0,2,4\", rate=1000000");
  free_channels (chs, 3);
}

GST_END_TEST;

GST_START_TEST (test_timestamp_and_mixed_are_iio)
{
  const GstIioChannel **chs = make_channels (2, "le:s16/16>>0");
  GstIioChannel *ts = (GstIioChannel *) chs[1];

  g_free (ts->id);
  ts->id = g_strdup ("timestamp");
  fail_unless (gst_iio_scan_type_parse ("le:s64/64>>0", &ts->type, NULL));
  assert_caps (chs, 2, 48000, "application/x-iio, channels=2, scan-bytes=16, "
      "channel-ids=\"voltage0,timestamp\", "
      "channel-types=\"le:s16/16>>0,le:s64/64>>0\", "
      "channel-offsets=\"0,8\", rate=48000");

  /* mixed widths without a timestamp: still not audio */
  g_free (ts->id);
  ts->id = g_strdup ("voltage1");
  fail_unless (gst_iio_scan_type_parse ("le:s32/32>>0", &ts->type, NULL));
  assert_caps (chs, 2, 8000, "application/x-iio, channels=2, scan-bytes=8, "
      "channel-ids=\"voltage0,voltage1\", "
      "channel-types=\"le:s16/16>>0,le:s32/32>>0\", "
      "channel-offsets=\"0,4\", rate=8000");
  free_channels (chs, 2);
}

GST_END_TEST;

GST_START_TEST (test_unknown_rate_is_iio)
{
  const GstIioChannel **chs = make_channels (1, "le:s16/16>>0");

  /* audio needs a rate: a device without sampling_frequency is not audio */
  assert_caps (chs, 1, 0, "application/x-iio, channels=1, scan-bytes=2, "
      "channel-ids=voltage0, channel-types=\"le:s16/16>>0\", "
      "channel-offsets=(string)0");
  free_channels (chs, 1);
}

GST_END_TEST;

GST_START_TEST (test_template_accepts_outputs)
{
  GstCaps *tmpl = gst_iio_dmabuf_caps_template ();
  const GstIioChannel **a = make_channels (4, "le:s16/16>>0");
  const GstIioChannel **b = make_channels (3, "le:s12/16>>4");
  GstCaps *ca = gst_iio_dmabuf_caps_for_channels (a, 4, 48000);
  GstCaps *cb = gst_iio_dmabuf_caps_for_channels (b, 3, 48000);
  guint rate = 0;

  fail_unless (gst_caps_is_subset (ca, tmpl));
  fail_unless (gst_caps_is_subset (cb, tmpl));
  fail_unless (gst_iio_dmabuf_caps_parse_rate (cb, &rate));
  fail_unless_equals_int (rate, 48000);
  gst_caps_unref (ca);
  gst_caps_unref (cb);
  gst_caps_unref (tmpl);
  free_channels (a, 4);
  free_channels (b, 3);
}

GST_END_TEST;

/* @available parses to the caps value @want ("" for no rates at all). */
static void
assert_rates (const gchar * available, const gchar * want)
{
  GValue rates = G_VALUE_INIT;
  gchar *got;

  if (!*want) {
    fail_if (gst_iio_dmabuf_rates_parse (available, &rates), "'%s' parsed",
        available);
    return;
  }
  fail_unless (gst_iio_dmabuf_rates_parse (available, &rates), "'%s'",
      available);
  got = gst_value_serialize (&rates);
  fail_unless_equals_string (got, want);
  g_free (got);
  g_value_unset (&rates);
}

GST_START_TEST (test_rates_available)
{
  assert_rates ("8000 16000 48000", "{ (int)8000, (int)16000, (int)48000 }");
  assert_rates ("48000.000000  96000.000000\n", "{ (int)48000, (int)96000 }");
  assert_rates ("44100.5 48000", "{ (int)48000 }");
  assert_rates ("[1 1 100000000]", "[ 1, 100000000 ]");
  assert_rates ("[1000 1000 192000]", "[ 1000, 192000, 1000 ]");
  assert_rates ("[8000 8000 48000]", "{ (int)8000, (int)16000, (int)24000, "
      "(int)32000, (int)40000, (int)48000 }");
  assert_rates ("[48000 1 48000]", "48000");
  assert_rates ("[3 7 100000]", "[ 3, 100000 ]");
  /* malformed or empty: no rates, so the caller keeps the current one */
  assert_rates ("", "");
  assert_rates ("[1 100]", "");
  assert_rates ("[100 1 10]", "");
  assert_rates ("fast slow", "");
  assert_rates ("-48000 0", "");
  assert_rates (NULL, "");
}

GST_END_TEST;

GST_START_TEST (test_caps_set_rates)
{
  const GstIioChannel **chs = make_channels (2, "le:s16/16>>0");
  GstCaps *caps = gst_iio_dmabuf_caps_for_channels (chs, 2, 48000);
  GstCaps *want = gst_caps_from_string ("audio/x-raw, format=S16LE, "
      "layout=interleaved, rate=[ 1, 96000 ], channels=2, "
      "channel-mask=(bitmask)0");
  GValue rates = G_VALUE_INIT;

  fail_unless (gst_iio_dmabuf_rates_parse ("[1 1 96000]", &rates));
  gst_iio_dmabuf_caps_set_rates (caps, &rates);
  fail_unless (gst_caps_is_equal (caps, want), "got %" GST_PTR_FORMAT, caps);
  g_value_unset (&rates);
  gst_caps_unref (caps);
  gst_caps_unref (want);
  free_channels (chs, 2);
}

GST_END_TEST;

static Suite *
caps_suite (void)
{
  Suite *s = suite_create ("caps");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_audio_formats);
  tcase_add_test (tc, test_shifted_is_iio);
  tcase_add_test (tc, test_timestamp_and_mixed_are_iio);
  tcase_add_test (tc, test_unknown_rate_is_iio);
  tcase_add_test (tc, test_template_accepts_outputs);
  tcase_add_test (tc, test_rates_available);
  tcase_add_test (tc, test_caps_set_rates);
  return s;
}

GST_CHECK_MAIN (caps);
