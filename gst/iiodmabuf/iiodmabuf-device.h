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

#define IIO_DEVICE_ERROR (iio_device_error_quark ())
GQuark iio_device_error_quark (void);

typedef enum
{
  IIO_DEVICE_ERROR_NOT_FOUND,   /* no such device or buffer */
  IIO_DEVICE_ERROR_NO_CHANNEL,  /* unknown channel id */
  IIO_DEVICE_ERROR_BUSY,        /* another process holds the buffer */
  IIO_DEVICE_ERROR_PERMISSION,  /* no access to sysfs or the device node */
  IIO_DEVICE_ERROR_NO_DMABUF,   /* the buffer cannot take DMABUFs */
  IIO_DEVICE_ERROR_INVALID,     /* a value the device refuses */
  IIO_DEVICE_ERROR_IO,          /* anything else, with errno's text */
} IioDeviceError;

gint iio_device_error_code_for_errno (gint err);

/* One scan element of the buffer. */
typedef struct
{
  gchar *id;                    /* "voltage0", "timestamp", ... */
  guint index;                  /* position in the scan */
  IioScanType type;
  gboolean enabled;             /* wanted for the next stream */
  gboolean was_enabled;         /* as found at open, restored at close */
} IioChannel;

typedef struct
{
  gchar *sysfs_dir;             /* /sys/bus/iio/devices/iio:deviceN */
  gchar *node;                  /* /dev/iio:deviceN */
  gchar *name;
  guint buffer_index;
  gchar *buffer_dir;            /* <sysfs_dir>/bufferN */
  gboolean is_output;
  GArray *channels;             /* IioChannel, sorted by index */

  gint dev_fd;
  gint buffer_fd;
  gchar *saved_length;          /* bufferN/length as found */
  GHashTable *saved_attrs;      /* attribute -> value as found */
} IioDevice;

IioDevice *iio_device_open (const gchar * spec, guint buffer_index,
    GError ** error);
void iio_device_close (IioDevice * dev);
gchar *iio_device_list_present (void);

gboolean iio_device_select_channels (IioDevice * dev, const gchar * ids,
    GError ** error);
void iio_device_select_first (IioDevice * dev, guint n);
guint iio_device_n_enabled (const IioDevice * dev);
const IioChannel *iio_device_enabled_channel (const IioDevice * dev, guint i);
guint iio_device_scan_bytes (const IioDevice * dev);

gchar *iio_device_read_attr (const IioDevice * dev, const gchar * attr,
    GError ** error);
gboolean iio_device_write_attr (const IioDevice * dev, const gchar * attr,
    const gchar * value, GError ** error);
gboolean iio_device_change_attr (IioDevice * dev, const gchar * attr,
    const gchar * value, GError ** error);
gboolean iio_device_get_sampling_frequency (const IioDevice * dev,
    guint * rate);

gboolean iio_device_configure (IioDevice * dev, guint length_scans,
    GError ** error);
gboolean iio_device_open_buffer (IioDevice * dev, GError ** error);
gboolean iio_device_set_enabled (IioDevice * dev, gboolean enable,
    GError ** error);
void iio_device_restore (IioDevice * dev);

G_END_DECLS

#endif /* __IIODMABUF_DEVICE_H__ */
