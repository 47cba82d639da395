/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * IIO scan elements: parsing a channel's type ("le:s12/16>>4") and laying
 * out a scan the way the kernel does. Pure logic, no I/O, no GStreamer.
 */
#ifndef __IIODMABUF_SCAN_H__
#define __IIODMABUF_SCAN_H__

#include <glib.h>

G_BEGIN_DECLS

#define GST_IIO_SCAN_ERROR (gst_iio_scan_error_quark ())
GQuark gst_iio_scan_error_quark (void);

typedef enum
{
  GST_IIO_SCAN_ERROR_SYNTAX,
  GST_IIO_SCAN_ERROR_RANGE,
} GstIioScanError;

/* One channel's sample format, as in scan_elements/<channel>_type. */
typedef struct
{
  gboolean big_endian;
  gboolean is_signed;
  guint realbits;               /* bits that carry the value */
  guint storagebits;            /* bits one value occupies: 8, 16, 32 or 64 */
  guint shift;                  /* value = (stored >> shift) & mask(realbits) */
  guint repeat;                 /* values per element; 1 without "X<n>" */
} GstIioScanType;

gboolean gst_iio_scan_type_parse (const gchar * str, GstIioScanType * type,
    GError ** error);
gchar *gst_iio_scan_type_to_string (const GstIioScanType * type);
guint gst_iio_scan_type_element_bytes (const GstIioScanType * type);
gint64 gst_iio_scan_type_decode (const GstIioScanType * type,
    const guint8 * data);

guint gst_iio_scan_layout (const GstIioScanType * types, guint n_types,
    guint * offsets);

G_END_DECLS

#endif /* __IIODMABUF_SCAN_H__ */
