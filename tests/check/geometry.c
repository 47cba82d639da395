/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Host tests: block sizes a DMA engine takes (length_align_bytes), and the
 * kernel buffer's length for read()/write() on the DMA buffer core, whose
 * two blocks of half the length are cut down to that alignment.
 */
#include <gst/check/gstcheck.h>

#include "iiodmabuf-device.h"

GST_START_TEST (test_block_step)
{
  /* no alignment: any block */
  fail_unless_equals_int (gst_iio_block_step (16, 0), 1);
  fail_unless_equals_int (gst_iio_block_step (2, 1), 1);
  /* iio-sim-adc, 8-byte bus: 4 channels (8 bytes) fit at once; one
   * channel (2 bytes) every 4 scans; with the timestamp (16 bytes) too */
  fail_unless_equals_int (gst_iio_block_step (8, 8), 1);
  fail_unless_equals_int (gst_iio_block_step (2, 8), 4);
  fail_unless_equals_int (gst_iio_block_step (4, 8), 2);
  fail_unless_equals_int (gst_iio_block_step (16, 8), 1);
  /* three 16-bit channels on a 4- and a 16-byte bus */
  fail_unless_equals_int (gst_iio_block_step (6, 4), 2);
  fail_unless_equals_int (gst_iio_block_step (6, 16), 8);
  /* no channel: nothing to align */
  fail_unless_equals_int (gst_iio_block_step (0, 8), 1);
}

GST_END_TEST;

/* Each block of the DMA core (half the length) in bytes, as the kernel
 * cuts it: a multiple of @align and of the scan, nothing lost. */
static void
check_halves (guint length, guint scan_bytes, guint align)
{
  guint half_bytes = length / 2 * scan_bytes;

  fail_unless (length % 2 == 0, "odd length %u", length);
  fail_unless (half_bytes % MAX (align, 1) == 0, "length %u: blocks of %u "
      "bytes, not a multiple of %u", length, half_bytes, align);
}

GST_START_TEST (test_rw_length_fixed_watermark)
{
  guint step, length;

  /* mainline's dmaengine buffer: watermark = length / 2 <= the block */
  step = gst_iio_block_step (8, 8);
  length = gst_iio_rw_length (1024, 4, step, TRUE);
  fail_unless_equals_int (length, 2048);
  check_halves (length, 8, 8);

  /* one 16-bit channel on an 8-byte bus: the half rounds down to 4 scans */
  step = gst_iio_block_step (2, 8);
  length = gst_iio_rw_length (1023, 4, step, TRUE);
  fail_unless_equals_int (length, 2 * 1020);
  fail_unless (length / 2 <= 1023);
  check_halves (length, 2, 8);

  /* a block smaller than the alignment: the least the engine moves (the
   * watermark read back then exceeds the block and is refused) */
  length = gst_iio_rw_length (3, 4, step, TRUE);
  fail_unless_equals_int (length, 8);
  check_halves (length, 2, 8);
}

GST_END_TEST;

GST_START_TEST (test_rw_length_writable_watermark)
{
  guint step, length;

  /* kfifo or a DMA core with a writable watermark: num-blocks blocks */
  fail_unless_equals_int (gst_iio_rw_length (256, 4, 1, FALSE), 1024);
  fail_unless_equals_int (gst_iio_rw_length (1024, 2, 1, FALSE), 2048);
  /* odd: made even, so the two halves cut no scan */
  fail_unless_equals_int (gst_iio_rw_length (5, 3, 1, FALSE), 16);
  /* the halves a multiple of the step */
  step = gst_iio_block_step (6, 16);
  length = gst_iio_rw_length (100, 3, step, FALSE);
  fail_unless (length >= 300);
  check_halves (length, 6, 16);
  fail_unless_equals_int (length, 304);
}

GST_END_TEST;

static Suite *
geometry_suite (void)
{
  Suite *s = suite_create ("geometry");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_block_step);
  tcase_add_test (tc, test_rw_length_fixed_watermark);
  tcase_add_test (tc, test_rw_length_writable_watermark);
  return s;
}

GST_CHECK_MAIN (geometry);
