/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Host tests: IIO scan element type parsing and scan layout. */
#include <gst/check/gstcheck.h>

#include "iiodmabuf-scan.h"

static GstIioScanType
parse_ok (const gchar * str)
{
  GstIioScanType t;
  GError *error = NULL;

  fail_unless (gst_iio_scan_type_parse (str, &t, &error), "'%s': %s", str,
      error ? error->message : "");
  return t;
}

GST_START_TEST (test_parse_plain)
{
  GstIioScanType t = parse_ok ("le:s16/16>>0");

  fail_unless (!t.big_endian);
  fail_unless (t.is_signed);
  fail_unless_equals_int (t.realbits, 16);
  fail_unless_equals_int (t.storagebits, 16);
  fail_unless_equals_int (t.shift, 0);
  fail_unless_equals_int (t.repeat, 1);
}

GST_END_TEST;

GST_START_TEST (test_parse_shifted_repeat)
{
  GstIioScanType t = parse_ok ("be:u12/16X2>>4");
  gchar *s;

  fail_unless (t.big_endian);
  fail_unless (!t.is_signed);
  fail_unless_equals_int (t.realbits, 12);
  fail_unless_equals_int (t.storagebits, 16);
  fail_unless_equals_int (t.repeat, 2);
  fail_unless_equals_int (t.shift, 4);
  fail_unless_equals_int (gst_iio_scan_type_element_bytes (&t), 4);
  s = gst_iio_scan_type_to_string (&t);
  fail_unless_equals_string (s, "be:u12/16X2>>4");
  g_free (s);

  /* libiio prints fully defined types in capitals; sysfs may end in \n */
  t = parse_ok ("le:S64/64>>0\n");
  fail_unless (t.is_signed);
  fail_unless_equals_int (t.storagebits, 64);
}

GST_END_TEST;

GST_START_TEST (test_parse_malformed)
{
  static const gchar *bad[] = {
    "", "le", "le:", "xe:s16/16>>0", "le:f16/16>>0", "le:s16/16", "le:s16/>>0",
    "le:s/16>>0", "le:s16/16>>", "le:s16/16>>0 junk", "le:s16/16X>>0",
    "le:s-16/16>>0", "le:s16/16>>99999999999999999999", "le:s16/16>>0>>1",
    "LE:s16/16>>0",
  };
  static const gchar *inconsistent[] = {
    "le:s17/16>>0", "le:s12/16>>5", "le:s0/16>>0", "le:s16/12>>0",
    "le:s16/16X0>>0", "le:s8/24>>0", "le:s64/128>>0",
  };
  GstIioScanType t;
  GError *error = NULL;
  guint i;

  for (i = 0; i < G_N_ELEMENTS (bad); i++) {
    fail_if (gst_iio_scan_type_parse (bad[i], &t, &error), "accepted '%s'",
        bad[i]);
    fail_unless (g_error_matches (error, GST_IIO_SCAN_ERROR,
            GST_IIO_SCAN_ERROR_SYNTAX), "'%s': wrong error", bad[i]);
    fail_unless (strstr (error->message, "le:s12/16>>4") != NULL);
    g_clear_error (&error);
  }
  for (i = 0; i < G_N_ELEMENTS (inconsistent); i++) {
    fail_if (gst_iio_scan_type_parse (inconsistent[i], &t, &error),
        "accepted '%s'", inconsistent[i]);
    fail_unless (g_error_matches (error, GST_IIO_SCAN_ERROR,
            GST_IIO_SCAN_ERROR_RANGE), "'%s': wrong error", inconsistent[i]);
    g_clear_error (&error);
  }
}

GST_END_TEST;

GST_START_TEST (test_decode)
{
  GstIioScanType s12 = parse_ok ("le:s12/16>>4");
  GstIioScanType u12be = parse_ok ("be:u12/16>>0");
  GstIioScanType s64 = parse_ok ("le:s64/64>>0");
  const guint8 minus_one[] = { 0xf0, 0xff };
  const guint8 plus_0x123[] = { 0x30, 0x12 };
  const guint8 be_0xabc[] = { 0xfa, 0xbc };
  const guint8 big[] = { 1, 2, 3, 4, 5, 6, 7, 0x88 };

  fail_unless_equals_int64 (gst_iio_scan_type_decode (&s12, minus_one), -1);
  fail_unless_equals_int64 (gst_iio_scan_type_decode (&s12, plus_0x123), 0x123);
  fail_unless_equals_int64 (gst_iio_scan_type_decode (&u12be, be_0xabc), 0xabc);
  fail_unless_equals_int64 (gst_iio_scan_type_decode (&s64, big),
      (gint64) G_GUINT64_CONSTANT (0x8807060504030201));
}

GST_END_TEST;

GST_START_TEST (test_layout)
{
  GstIioScanType t[3];
  guint offsets[3];

  /* iio-sim-adc: four s16 and a timestamp: 8 bytes, then the s64 at 8 */
  t[0] = parse_ok ("le:s16/16>>0");
  t[1] = parse_ok ("le:s64/64>>0");
  fail_unless_equals_int (gst_iio_scan_layout (t, 1, offsets), 2);
  fail_unless_equals_int (gst_iio_scan_layout (t, 2, offsets), 16);
  fail_unless_equals_int (offsets[0], 0);
  fail_unless_equals_int (offsets[1], 8);

  /* u8, s16, u8: the s16 aligns to 2 and the scan pads to 6 */
  t[0] = parse_ok ("le:u8/8>>0");
  t[1] = parse_ok ("le:s16/16>>0");
  t[2] = parse_ok ("le:u8/8>>0");
  fail_unless_equals_int (gst_iio_scan_layout (t, 3, offsets), 6);
  fail_unless_equals_int (offsets[1], 2);
  fail_unless_equals_int (offsets[2], 4);
}

GST_END_TEST;

static Suite *
scan_suite (void)
{
  Suite *s = suite_create ("scan");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_parse_plain);
  tcase_add_test (tc, test_parse_shifted_repeat);
  tcase_add_test (tc, test_parse_malformed);
  tcase_add_test (tc, test_decode);
  tcase_add_test (tc, test_layout);
  return s;
}

GST_CHECK_MAIN (scan);
