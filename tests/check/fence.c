/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The rule that tells a failed submit from a block that completed while the
 * thread that queued it was preempted: both leave a fence already signalled
 * when it is exported (a stub). Pure logic: no kernel needed.
 */
#include <gst/check/gstcheck.h>

#include "iiodmabuf-dmabuf.h"

/* A 1024-scan block at 48 kHz takes 21,333 us. */
#define BLOCK_US 21333

GST_START_TEST (test_signalled_sooner_than_a_block_never_ran)
{
  fail_unless (gst_iio_block_never_transferred (5, BLOCK_US, FALSE));
  fail_unless (gst_iio_block_never_transferred (BLOCK_US - 1, BLOCK_US, FALSE));
}

GST_END_TEST;

GST_START_TEST (test_preempted_longer_than_a_block_may_have_run)
{
  fail_if (gst_iio_block_never_transferred (BLOCK_US, BLOCK_US, FALSE));
  fail_if (gst_iio_block_never_transferred (10 * BLOCK_US, BLOCK_US, FALSE));
}

GST_END_TEST;

/* Blocks complete in order: one still pending ahead means this one never
 * ran, however long the thread was away. */
GST_START_TEST (test_earlier_block_pending_proves_failure)
{
  fail_unless (gst_iio_block_never_transferred (10 * BLOCK_US, BLOCK_US, TRUE));
}

GST_END_TEST;

/* Without a known rate only the order can prove it. */
GST_START_TEST (test_unknown_duration)
{
  fail_if (gst_iio_block_never_transferred (0, 0, FALSE));
  fail_unless (gst_iio_block_never_transferred (0, 0, TRUE));
}

GST_END_TEST;

/* dma-heap takes a heap's name as well as its node. */
GST_START_TEST (test_heap_names)
{
  static const gchar *cases[][2] = {
    {"system", "/dev/dma_heap/system"},
    {"linux,cma", "/dev/dma_heap/linux,cma"},
    {"default_cma_region", "/dev/dma_heap/default_cma_region"},
    {"/dev/dma_heap/reserved", "/dev/dma_heap/reserved"},
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    gchar *path = gst_iio_dma_heap_path (cases[i][0]);

    fail_unless_equals_string (path, cases[i][1]);
    g_free (path);
  }
}

GST_END_TEST;

static Suite *
fence_suite (void)
{
  Suite *s = suite_create ("fence");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_signalled_sooner_than_a_block_never_ran);
  tcase_add_test (tc, test_preempted_longer_than_a_block_may_have_run);
  tcase_add_test (tc, test_earlier_block_pending_proves_failure);
  tcase_add_test (tc, test_unknown_duration);
  tcase_add_test (tc, test_heap_names);
  return s;
}

GST_CHECK_MAIN (fence);
