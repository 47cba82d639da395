/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Host tests: block sizes a DMA engine takes (length_align_bytes), and the
 * kernel buffer's length for read()/write() on the DMA buffer core, whose
 * two blocks of half the length are cut down to that alignment; the
 * limits of a block and of all blocks, counted in 64 bits on every
 * architecture (scripts/check runs this suite on armhf too, where a size
 * is 32 bits).
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

/* The size of a block of @block_scans scans of @scan_bytes, @n_blocks in
 * the buffer; NULL if accepted, else the error's message (to free). */
static gchar *
refusal (guint scan_bytes, guint block_scans, guint n_blocks, gsize * bytes)
{
  GError *error = NULL;
  gchar *text;

  *bytes = gst_iio_block_bytes (scan_bytes, block_scans, n_blocks, "adc",
      &error);
  fail_unless ((*bytes == 0) == (error != NULL));
  if (!error)
    return NULL;
  text = g_strdup (error->message);
  g_error_free (error);
  return text;
}

static void
assert_refused (guint scan_bytes, guint block_scans, guint n_blocks,
    const gchar * why)
{
  gsize bytes;
  gchar *text = refusal (scan_bytes, block_scans, n_blocks, &bytes);

  fail_unless (text != NULL, "%u blocks of %u scans of %u bytes accepted "
      "(%" G_GSIZE_FORMAT " bytes a block)", n_blocks, block_scans,
      scan_bytes, bytes);
  fail_unless (strstr (text, why) != NULL, "'%s' not in '%s'", why, text);
  g_free (text);
}

static void
assert_accepted (guint scan_bytes, guint block_scans, guint n_blocks)
{
  gsize bytes;
  gchar *text = refusal (scan_bytes, block_scans, n_blocks, &bytes);

  fail_unless (text == NULL, "%s", text);
  fail_unless_equals_uint64 (bytes, (guint64) scan_bytes * block_scans);
}

GST_START_TEST (test_block_limits)
{
  gboolean narrow = sizeof (gpointer) == 4;

  /* the largest block, 2^31 - 1 bytes, and one byte a scan more */
  assert_accepted (1, G_MAXINT32, 1);
  assert_refused (2, 1u << 30, 1, "2 GiB at most");
  /* blocks of 4 GiB: 0 bytes if counted in a 32-bit size */
  assert_refused (8, 1u << 29, 2, "2 GiB at most");
  assert_refused (16, 1u << 28, 4, "2 GiB at most");
  /* the buffer's length in scans is a signed 32-bit count in sysfs */
  assert_refused (1, 1u << 30, 2, "2^31 scans at most");
  assert_refused (1, 1u << 28, 64, "2^31 scans at most");
  /* no channel, no block, no blocks */
  assert_refused (0, 4096, 4, "No channel of IIO device adc is enabled");
  assert_refused (8, 0, 4, "2 GiB at most");
  assert_refused (8, 4096, 0, "2^31 scans at most");

  /* all blocks together: half the address space */
  fail_unless_equals_uint64 (GST_IIO_MAX_BUFFER_BYTES,
      narrow ? G_MAXINT32 : G_MAXINT64);
  assert_accepted (4, 1u << 27, 3);     /* 1.5 GiB */
  assert_accepted (1, (1u << 30) - 1, 2);       /* 2 GiB - 2 bytes */
  if (narrow) {
    assert_refused (4, 1u << 27, 4, "this 32-bit system's address space");
    assert_refused (4, 1u << 28, 2, "this 32-bit system's address space");
    assert_refused (256, 1u << 22, 64, "this 32-bit system's address space");
  } else {
    assert_accepted (4, 1u << 27, 4);   /* 2 GiB */
    assert_accepted (4, 1u << 28, 2);
    assert_accepted (256, 1u << 22, 64);        /* 64 GiB */
  }
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
  tcase_add_test (tc, test_block_limits);
  return s;
}

GST_CHECK_MAIN (geometry);
