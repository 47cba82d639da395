/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Host tests: what sysfs and the kernel's version tell of a buffer without
 * opening anything of it (the device provider's "iio.dmabuf"), on buffer
 * directories made here as the kernel makes them: the DMA buffer core's
 * dmaengine buffer (length_align_bytes, a read-only watermark), kfifo and
 * triggered buffers (a writable watermark), and others.
 */
#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>

#include "iiodmabuf-device.h"

#define KNOWN_YES 1
#define KNOWN_NO 0
#define UNKNOWN -1

static gchar *
make_buffer_dir (gboolean align, gint watermark_mode)
{
  gchar *dir = g_dir_make_tmp ("iiodmabuf-sysfs-XXXXXX", NULL);
  gchar *path;

  fail_unless (dir != NULL);
  if (align) {
    path = g_build_filename (dir, "length_align_bytes", NULL);
    fail_unless (g_file_set_contents (path, "8\n", -1, NULL));
    g_free (path);
  }
  if (watermark_mode >= 0) {
    path = g_build_filename (dir, "watermark", NULL);
    fail_unless (g_file_set_contents (path, "2048\n", -1, NULL));
    fail_unless (g_chmod (path, watermark_mode) == 0);
    g_free (path);
  }
  return dir;
}

static void
remove_buffer_dir (gchar * dir)
{
  const gchar *files[] = { "length_align_bytes", "watermark" };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (files); i++) {
    gchar *path = g_build_filename (dir, files[i], NULL);
    g_unlink (path);
    g_free (path);
  }
  fail_unless (g_rmdir (dir) == 0);
  g_free (dir);
}

static gint
told (const gchar * dir, const gchar * release)
{
  gboolean dmabuf = 2;

  if (!gst_iio_buffer_dmabuf_known (dir, release, &dmabuf))
    return UNKNOWN;
  fail_unless (dmabuf == TRUE || dmabuf == FALSE);
  return dmabuf ? KNOWN_YES : KNOWN_NO;
}

/* mainline's dmaengine buffer: DMABUFs from 6.11 on */
GST_START_TEST (test_dma_core)
{
  gchar *dir = make_buffer_dir (TRUE, 0444);

  fail_unless_equals_int (told (dir, "6.12.107+deb12-amd64"), KNOWN_YES);
  fail_unless_equals_int (told (dir, "6.11.0"), KNOWN_YES);
  fail_unless_equals_int (told (dir, "6.11"), KNOWN_YES);
  fail_unless_equals_int (told (dir, "7.0.0-rc1"), KNOWN_YES);
  fail_unless_equals_int (told (dir, "10.2.3"), KNOWN_YES);
  /* before the interface: mainline has none, a vendor tree may */
  fail_unless_equals_int (told (dir, "6.10.14"), UNKNOWN);
  fail_unless_equals_int (told (dir, "6.1.0-28-arm64"), UNKNOWN);
  fail_unless_equals_int (told (dir, "5.19.0"), UNKNOWN);
  /* a release we cannot read */
  fail_unless_equals_int (told (dir, ""), UNKNOWN);
  fail_unless_equals_int (told (dir, "six"), UNKNOWN);
  fail_unless_equals_int (told (dir, "6"), UNKNOWN);
  remove_buffer_dir (dir);
}

GST_END_TEST;

/* kfifo and triggered buffers: never, on any kernel */
GST_START_TEST (test_kfifo)
{
  gchar *dir = make_buffer_dir (FALSE, 0644);

  fail_unless_equals_int (told (dir, "6.12.107+deb12-amd64"), KNOWN_NO);
  fail_unless_equals_int (told (dir, "6.1.0"), KNOWN_NO);
  fail_unless_equals_int (told (dir, ""), KNOWN_NO);
  remove_buffer_dir (dir);
}

GST_END_TEST;

/* a read-only watermark without length_align_bytes: a hardware buffer of
 * a driver of its own; no watermark: not a buffer as we know them */
GST_START_TEST (test_other_buffers)
{
  gchar *dir = make_buffer_dir (FALSE, 0444);

  fail_unless_equals_int (told (dir, "6.12.107"), UNKNOWN);
  remove_buffer_dir (dir);
  dir = make_buffer_dir (FALSE, -1);
  fail_unless_equals_int (told (dir, "6.12.107"), UNKNOWN);
  remove_buffer_dir (dir);
  fail_unless_equals_int (told ("/nonexistent/buffer0", "6.12.107"), UNKNOWN);
}

GST_END_TEST;

static Suite *
sysfs_suite (void)
{
  Suite *s = suite_create ("sysfs");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_dma_core);
  tcase_add_test (tc, test_kfifo);
  tcase_add_test (tc, test_other_buffers);
  return s;
}

GST_CHECK_MAIN (sysfs);
