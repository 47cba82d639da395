/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * An IIO device and one of its buffers, as the kernel exposes them: sysfs
 * discovery and configuration, the character device and the buffer fd.
 * No GStreamer here; errors are GErrors whose messages say what to do.
 */
#ifndef __IIODMABUF_DEVICE_H__
#define __IIODMABUF_DEVICE_H__

#include <glib.h>

#include "iiodmabuf-scan.h"

G_BEGIN_DECLS

#define GST_IIO_DEVICE_ERROR (gst_iio_device_error_quark ())
GQuark gst_iio_device_error_quark (void);

typedef enum
{
  GST_IIO_DEVICE_ERROR_NOT_FOUND,   /* no such device or buffer */
  GST_IIO_DEVICE_ERROR_NO_CHANNEL,  /* unknown channel id */
  GST_IIO_DEVICE_ERROR_BUSY,        /* another process holds the buffer */
  GST_IIO_DEVICE_ERROR_PERMISSION,  /* no access to sysfs or the device node */
  GST_IIO_DEVICE_ERROR_NO_DMABUF,   /* the buffer cannot take DMABUFs */
  GST_IIO_DEVICE_ERROR_INVALID,     /* a value the device refuses */
  GST_IIO_DEVICE_ERROR_IO,          /* anything else, with errno's text */
  GST_IIO_DEVICE_ERROR_NO_ALLOCATOR,        /* nothing here makes DMABUFs */
} GstIioDeviceError;

gint gst_iio_device_error_code_for_errno (gint err);

/* One scan element of the buffer. */
typedef struct
{
  gchar *id;                    /* "voltage0", "timestamp", ... */
  guint index;                  /* position in the scan */
  GstIioScanType type;
  gboolean enabled;             /* wanted for the next stream */
  gboolean was_enabled;         /* as found at open, restored at close */
} GstIioChannel;

typedef struct
{
  gchar *sysfs_dir;             /* /sys/bus/iio/devices/iio:deviceN */
  gchar *node;                  /* /dev/iio:deviceN */
  gchar *name;
  guint buffer_index;
  gchar *buffer_dir;            /* <sysfs_dir>/bufferN */
  gboolean is_output;
  GArray *channels;             /* GstIioChannel, sorted by index */
  guint length_align;           /* bufferN/length_align_bytes: the DMA
                                 * engine moves multiples of it (0: none) */
  gboolean watermark_fixed;     /* bufferN/watermark is read-only: the
                                 * driver sets it (mainline's dmaengine) */

  gint buffer_fd;
  guint length;                 /* bufferN/length as configured, in scans */
  gboolean configured;          /* channel enables may have been written */
  gchar *saved_length;          /* bufferN/length as found */
  gchar *saved_watermark;       /* bufferN/watermark as found */
  gboolean length_changed;      /* written: put back at restore */
  gboolean watermark_changed;
  GHashTable *saved_attrs;      /* attribute -> value as found */
} GstIioDevice;

GstIioDevice *gst_iio_device_open (const gchar * spec, guint buffer_index,
    GError ** error);
void gst_iio_device_close (GstIioDevice * dev);
gchar *gst_iio_device_list_present (void);
GPtrArray *gst_iio_device_list (void);

gboolean gst_iio_device_select_channels (GstIioDevice * dev, const gchar * ids,
    GError ** error);
void gst_iio_device_select_first (GstIioDevice * dev, guint n);
guint gst_iio_device_n_enabled (const GstIioDevice * dev);
const GstIioChannel *gst_iio_device_enabled_channel (const GstIioDevice * dev,
    guint i);
guint gst_iio_device_scan_bytes (const GstIioDevice * dev);
gint gst_iio_device_timestamp_offset (const GstIioDevice * dev,
    GstIioScanType * type);

gchar *gst_iio_device_read_attr (const GstIioDevice * dev, const gchar * attr,
    GError ** error);
gboolean gst_iio_device_write_attr (const GstIioDevice * dev,
    const gchar * attr,
    const gchar * value, GError ** error);
gboolean gst_iio_device_change_attr (GstIioDevice * dev, const gchar * attr,
    const gchar * value, GError ** error);
gboolean gst_iio_device_select_trigger (GstIioDevice * dev,
    const gchar * trigger, GError ** error);
gboolean gst_iio_device_get_sampling_frequency (const GstIioDevice * dev,
    guint * rate);

/* All blocks of a buffer together: half the address space (2 GiB in a
 * 32-bit process) */
#define GST_IIO_MAX_BUFFER_BYTES ((guint64) G_MAXSIZE / 2)

gsize gst_iio_block_bytes (guint scan_bytes, guint block_scans,
    guint n_blocks, const gchar * device, GError ** error);
guint gst_iio_block_step (guint scan_bytes, guint align);
guint gst_iio_rw_length (guint block_scans, guint n_blocks, guint step,
    gboolean watermark_fixed);
guint gst_iio_device_block_step (const GstIioDevice * dev);
gsize gst_iio_device_block_bytes (const GstIioDevice * dev,
    guint block_scans, guint n_blocks, GError ** error);
gboolean gst_iio_device_configure (GstIioDevice * dev, guint block_scans,
    guint n_blocks, gboolean rw, GError ** error);
gboolean gst_iio_device_open_buffer (GstIioDevice * dev, GError ** error);
gboolean gst_iio_device_set_enabled (GstIioDevice * dev, gboolean enable,
    GError ** error);
void gst_iio_device_restore (GstIioDevice * dev);

gboolean gst_iio_buffer_dmabuf_known (const gchar * buffer_dir,
    const gchar * kernel_release, gboolean * dmabuf);
gboolean gst_iio_device_dmabuf_known (const GstIioDevice * dev,
    gboolean * dmabuf);

G_END_DECLS

#endif /* __IIODMABUF_DEVICE_H__ */
