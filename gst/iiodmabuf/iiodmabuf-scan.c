/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * IIO scan elements: parsing a channel's type and laying out a scan.
 *
 * The kernel prints a scan element's type as
 *   [be|le]:[s|u]<realbits>/<storagebits>[X<repeat>]>><shift>
 * (drivers/iio/industrialio-buffer.c, iio_show_fixed_type()).
 */
#include "iiodmabuf-scan.h"

#include <stdlib.h>
#include <string.h>

G_DEFINE_QUARK (gst - iio - scan - error - quark, gst_iio_scan_error);

/* Reads an unsigned decimal at *p and advances past it. */
static gboolean
read_uint (const gchar ** p, guint * value)
{
  gchar *end;
  guint64 v;

  if (!g_ascii_isdigit (**p))
    return FALSE;
  v = g_ascii_strtoull (*p, &end, 10);
  if (end == *p || v > G_MAXUINT16)
    return FALSE;
  *value = v;
  *p = end;
  return TRUE;
}

static gboolean
expect (const gchar ** p, const gchar * token)
{
  gsize len = strlen (token);

  if (strncmp (*p, token, len) != 0)
    return FALSE;
  *p += len;
  return TRUE;
}

static gboolean
parse_syntax (const gchar * str, GstIioScanType * t)
{
  const gchar *p = str;

  if (expect (&p, "le:"))
    t->big_endian = FALSE;
  else if (expect (&p, "be:"))
    t->big_endian = TRUE;
  else
    return FALSE;

  if (*p != 's' && *p != 'u' && *p != 'S' && *p != 'U')
    return FALSE;
  t->is_signed = (*p == 's' || *p == 'S');
  p++;

  if (!read_uint (&p, &t->realbits) || !expect (&p, "/")
      || !read_uint (&p, &t->storagebits))
    return FALSE;
  t->repeat = 1;
  if (expect (&p, "X") && !read_uint (&p, &t->repeat))
    return FALSE;
  if (!expect (&p, ">>") || !read_uint (&p, &t->shift))
    return FALSE;
  while (g_ascii_isspace (*p))
    p++;
  return *p == '\0';
}

static gboolean
check_range (const GstIioScanType * t)
{
  return (t->storagebits == 8 || t->storagebits == 16
      || t->storagebits == 32 || t->storagebits == 64)
      && t->realbits >= 1 && t->shift + t->realbits <= t->storagebits
      && t->repeat >= 1;
}

/**
 * gst_iio_scan_type_parse:
 * @str: a scan element type as read from sysfs, e.g. "le:s12/16>>4"
 * @type: (out): the parsed type
 * @error: syntax or range errors, naming the offending string
 *
 * Returns: %TRUE if @str is a complete, consistent scan element type.
 */
gboolean
gst_iio_scan_type_parse (const gchar * str, GstIioScanType * type,
    GError ** error)
{
  GstIioScanType t = { 0, };

  g_return_val_if_fail (str != NULL && type != NULL, FALSE);

  if (!parse_syntax (str, &t)) {
    g_set_error (error, GST_IIO_SCAN_ERROR, GST_IIO_SCAN_ERROR_SYNTAX,
        "'%s' is not an IIO scan type (expected e.g. 'le:s12/16>>4')", str);
    return FALSE;
  }
  if (!check_range (&t)) {
    g_set_error (error, GST_IIO_SCAN_ERROR, GST_IIO_SCAN_ERROR_RANGE,
        "scan type '%s' is inconsistent: storage must be 8, 16, 32 or 64 "
        "bits and hold the shifted value", str);
    return FALSE;
  }
  *type = t;
  return TRUE;
}

/**
 * gst_iio_scan_type_to_string:
 * @type: a scan type
 *
 * Returns: (transfer full): @type in the kernel's notation.
 */
gchar *
gst_iio_scan_type_to_string (const GstIioScanType * type)
{
  gchar repeat[16] = "";

  if (type->repeat > 1)
    g_snprintf (repeat, sizeof repeat, "X%u", type->repeat);
  return g_strdup_printf ("%s:%c%u/%u%s>>%u", type->big_endian ? "be" : "le",
      type->is_signed ? 's' : 'u', type->realbits, type->storagebits, repeat,
      type->shift);
}

/**
 * gst_iio_scan_type_element_bytes:
 * @type: a scan type
 *
 * Returns: the bytes one element occupies in a scan (all its repeats).
 */
guint
gst_iio_scan_type_element_bytes (const GstIioScanType * type)
{
  return type->storagebits / 8 * type->repeat;
}

/**
 * gst_iio_scan_type_decode:
 * @type: a scan type
 * @data: the first byte of a value stored as @type
 *
 * Returns: the value, shifted down, masked and sign-extended.
 */
gint64
gst_iio_scan_type_decode (const GstIioScanType * type, const guint8 * data)
{
  guint bytes = type->storagebits / 8, i;
  guint64 raw = 0, mask;

  for (i = 0; i < bytes; i++) {
    guint byte = type->big_endian ? i : bytes - 1 - i;
    raw = (raw << 8) | data[byte];
  }
  mask = type->realbits == 64 ? G_MAXUINT64 : (G_GUINT64_CONSTANT (1)
      << type->realbits) - 1;
  raw = (raw >> type->shift) & mask;
  if (type->is_signed && type->realbits < 64
      && (raw >> (type->realbits - 1)) & 1)
    raw |= ~mask;
  return (gint64) raw;
}

/* The kernel's ALIGN(): a bit mask, exact only for powers of two (as there). */
static guint
kernel_align (guint x, guint a)
{
  return (x + a - 1) & ~(a - 1);
}

/**
 * gst_iio_scan_layout:
 * @types: the enabled channels' types, in scan index order
 * @n_types: number of @types
 * @offsets: (out) (array length=n_types): each element's byte offset
 *
 * Lays out a scan as the kernel does (iio_compute_scan_bytes()): each element
 * aligned to its own size, the scan padded to its largest element.
 *
 * Returns: the scan size in bytes.
 */
guint
gst_iio_scan_layout (const GstIioScanType * types, guint n_types,
    guint * offsets)
{
  guint bytes = 0, largest = 1, i;

  for (i = 0; i < n_types; i++) {
    guint len = gst_iio_scan_type_element_bytes (&types[i]);

    bytes = kernel_align (bytes, len);
    offsets[i] = bytes;
    bytes += len;
    largest = MAX (largest, len);
  }
  return kernel_align (bytes, largest);
}
