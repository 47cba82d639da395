/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Where DMABUFs come from (GstIioDmabufSource): the dumb buffer sized for
 * a block, and the errors for an origin asked for that cannot serve. No
 * DMA heap, udmabuf or DRM device needed: the kernel tests make DMABUFs.
 */
#include <gst/check/gstcheck.h>
#include <glib/gstdio.h>

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "iiodmabuf-dmabuf.h"
#include "../privileges.h"

/* Every block fits its dumb buffer, with less than a row to spare, in
 * fewer than 8192 rows up to 128 MiB. */
GST_START_TEST (test_dumb_geometry)
{
  static const gsize sizes[] = { 1, 4096, 4097, 3 * 4096 + 12, 1 << 20,
    4096 * 8191, 4096 * 8191 + 1, 100 << 20, 4096ul * 4 * 8191
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (sizes); i++) {
    guint32 width, height, bpp;
    guint64 row, bytes;

    gst_iio_dumb_geometry (sizes[i], &width, &height, &bpp);
    row = bpp / 8 * (guint64) width;
    bytes = row * height;
    fail_unless (bpp == 8 || bpp == 32, "bpp %u", bpp);
    fail_unless (bytes >= sizes[i], "%" G_GSIZE_FORMAT " bytes in %"
        G_GUINT64_FORMAT, sizes[i], bytes);
    fail_unless (bytes - sizes[i] < row, "%" G_GSIZE_FORMAT " bytes in %"
        G_GUINT64_FORMAT, sizes[i], bytes);
    fail_unless (height < 8192, "%u rows for %" G_GSIZE_FORMAT " bytes",
        height, sizes[i]);
  }
}

GST_END_TEST;

GST_START_TEST (test_origin_names)
{
  fail_unless_equals_string (gst_iio_dmabuf_origin_name
      (GST_IIO_DMABUF_ORIGIN_AUTO), "auto");
  fail_unless_equals_string (gst_iio_dmabuf_origin_name
      (GST_IIO_DMABUF_ORIGIN_HEAP), "dma-heap");
  fail_unless_equals_string (gst_iio_dmabuf_origin_name
      (GST_IIO_DMABUF_ORIGIN_UDMABUF), "udmabuf");
  fail_unless_equals_string (gst_iio_dmabuf_origin_name
      (GST_IIO_DMABUF_ORIGIN_DRM), "drm");
}

GST_END_TEST;

/* Allocates from a new source; returns the error (the fd must be -1). */
static GError *
alloc_error (GstIioDmabufOrigin origin, const gchar * heap,
    const gchar * drm_device)
{
  GstIioDmabufSource *src = gst_iio_dmabuf_source_new (origin, heap,
      drm_device);
  GError *error = NULL;

  fail_unless_equals_int (gst_iio_dmabuf_source_alloc (src, 8192, &error), -1);
  fail_unless (error != NULL);
  fail_unless_equals_int (gst_iio_dmabuf_source_get_origin (src),
      GST_IIO_DMABUF_ORIGIN_AUTO);
  gst_iio_dmabuf_source_free (src);
  GST_INFO ("%s", error->message);
  return error;
}

static void
assert_error (GError * error, gint code, const gchar * text)
{
  fail_unless (g_error_matches (error, GST_IIO_DEVICE_ERROR, code),
      "code %d, not %d: %s", error->code, code, error->message);
  fail_unless (strstr (error->message, text), "'%s' not in '%s'", text,
      error->message);
  g_error_free (error);
}

/* dma-heap=<a heap that is not there> with dmabuf-origin=dma-heap: no
 * fallback, the error names the heap. */
GST_START_TEST (test_missing_heap_asked_for)
{
  assert_error (alloc_error (GST_IIO_DMABUF_ORIGIN_HEAP,
          "/nonexistent/heap", NULL), GST_IIO_DEVICE_ERROR_NOT_FOUND,
      "there is no DMA heap /nonexistent/heap");
}

GST_END_TEST;

/* A DRM node asked for that is not there: named. */
GST_START_TEST (test_missing_drm_device)
{
  GError *error = alloc_error (GST_IIO_DMABUF_ORIGIN_DRM, NULL,
      "/nonexistent/card7");

  if (!gst_iio_dmabuf_have_drm ()) {
    assert_error (error, GST_IIO_DEVICE_ERROR_IO, "this build has no libdrm");
    return;
  }
  assert_error (error, GST_IIO_DEVICE_ERROR_NOT_FOUND,
      "cannot open DRM device /nonexistent/card7: ");
}

GST_END_TEST;

/* A node that is no DRM device: said so. */
GST_START_TEST (test_not_a_drm_device)
{
  if (!gst_iio_dmabuf_have_drm ())
    return;
  assert_error (alloc_error (GST_IIO_DMABUF_ORIGIN_DRM, NULL, "/dev/null"),
      GST_IIO_DEVICE_ERROR_INVALID, "/dev/null is not a DRM device");
}

GST_END_TEST;

/* A node this user may not open: an error (not a copy) that names it and
 * says how to give access. */
GST_START_TEST (test_drm_device_without_access)
{
  gchar *path = g_build_filename (g_get_tmp_dir (), "iiodmabuf-card-XXXXXX",
      NULL);
  gint fd = g_mkstemp_full (path, O_RDWR, 0);

  fail_unless (fd >= 0);
  close (fd);
  drop_dac_override ();
  if (gst_iio_dmabuf_have_drm ())
    assert_error (alloc_error (GST_IIO_DMABUF_ORIGIN_DRM, NULL, path),
        GST_IIO_DEVICE_ERROR_PERMISSION,
        "(add the user to its group, video or render, or give access with "
        "a udev rule: SUBSYSTEM==\"drm\", KERNEL==\"iiodmabuf-card-");
  g_unlink (path);
  g_free (path);
}

GST_END_TEST;

/* Where nothing makes DMABUFs (Debian's 32-bit ARM kernel without vgem, or
 * a container), auto says so with NO_ALLOCATOR: the elements then copy. */
GST_START_TEST (test_nothing_makes_dmabufs)
{
  if (g_file_test (GST_IIO_DMABUF_UDMABUF, G_FILE_TEST_EXISTS)
      || g_file_test (GST_IIO_DMABUF_DRM_DIR, G_FILE_TEST_EXISTS)) {
    GST_INFO ("udmabuf or DRM devices here: not the case this tests");
    return;
  }
  assert_error (alloc_error (GST_IIO_DMABUF_ORIGIN_AUTO, "/nonexistent/heap",
          NULL), GST_IIO_DEVICE_ERROR_NO_ALLOCATOR,
      "there is no /dev/udmabuf (a kernel built with CONFIG_UDMABUF has it)");
}

GST_END_TEST;

static Suite *
origin_suite (void)
{
  Suite *s = suite_create ("origin");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_dumb_geometry);
  tcase_add_test (tc, test_origin_names);
  tcase_add_test (tc, test_missing_heap_asked_for);
  tcase_add_test (tc, test_missing_drm_device);
  tcase_add_test (tc, test_not_a_drm_device);
  tcase_add_test (tc, test_drm_device_without_access);
  tcase_add_test (tc, test_nothing_makes_dmabufs);
  return s;
}

GST_CHECK_MAIN (origin);
