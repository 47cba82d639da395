/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The iiodmabuf plugin: zero-copy IIO capture and playback over the IIO
 * DMABUF interface (Linux >= 6.11).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstiiodmabufelements.h"
#include "gstiiodmabufdeviceprovider.h"

GType
gst_iio_dmabuf_io_mode_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    {GST_IIO_DMABUF_IO_MODE_AUTO,
        "DMABUF when the driver supports it, else read()/write()", "auto"},
    {GST_IIO_DMABUF_IO_MODE_DMABUF, "DMABUF blocks (zero-copy)", "dmabuf"},
    {GST_IIO_DMABUF_IO_MODE_RW, "read()/write() through the buffer fd", "rw"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type,
        g_enum_register_static ("GstIioDmabufIoMode", values));
  return type;
}

GType
gst_iio_dmabuf_origin_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    {GST_IIO_DMABUF_ORIGIN_AUTO,
        "A DMA heap, else udmabuf, else a DRM device", "auto"},
    {GST_IIO_DMABUF_ORIGIN_HEAP, "The DMA heap of dma-heap", "dma-heap"},
    {GST_IIO_DMABUF_ORIGIN_UDMABUF, "/dev/udmabuf", "udmabuf"},
    {GST_IIO_DMABUF_ORIGIN_DRM, "Dumb buffers of a DRM device", "drm"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type,
        g_enum_register_static ("GstIioDmabufOrigin", values));
  return type;
}

/**
 * gst_iio_dmabuf_post_device_error:
 * @element: the element that met it
 * @error: (transfer full): an GST_IIO_DEVICE_ERROR
 *
 * Posts @error as the GStreamer error that fits it; its message already
 * says what to do.
 */
void
gst_iio_dmabuf_post_device_error (GstElement * element, GError * error)
{
  if (g_error_matches (error, GST_IIO_DEVICE_ERROR,
          GST_IIO_DEVICE_ERROR_NOT_FOUND)
      || g_error_matches (error, GST_IIO_DEVICE_ERROR,
          GST_IIO_DEVICE_ERROR_NO_CHANNEL))
    GST_ELEMENT_ERROR (element, RESOURCE, NOT_FOUND, ("%s", error->message),
        (NULL));
  else if (g_error_matches (error, GST_IIO_DEVICE_ERROR,
          GST_IIO_DEVICE_ERROR_BUSY))
    GST_ELEMENT_ERROR (element, RESOURCE, BUSY, ("%s", error->message), (NULL));
  else if (g_error_matches (error, GST_IIO_DEVICE_ERROR,
          GST_IIO_DEVICE_ERROR_PERMISSION))
    GST_ELEMENT_ERROR (element, RESOURCE, OPEN_READ_WRITE, ("%s",
            error->message), (NULL));
  else
    GST_ELEMENT_ERROR (element, RESOURCE, SETTINGS, ("%s", error->message),
        (NULL));
  g_error_free (error);
}

/**
 * gst_iio_dmabuf_open_device:
 * @element: the element opening it, for errors
 * @spec: (nullable): the device property
 * @buffer_index: which buffer
 * @channels: (nullable): comma-separated channel ids; %NULL for all but the
 *     timestamp
 * @output: %TRUE for a sink (an output buffer), %FALSE for a source
 *
 * Opens the device and selects the channels, or posts an error that says
 * what to do.
 *
 * Returns: (transfer full) (nullable): the device
 */
GstIioDevice *
gst_iio_dmabuf_open_device (GstElement * element, const gchar * spec,
    guint buffer_index, const gchar * channels, gboolean output)
{
  GError *error = NULL;
  GstIioDevice *dev;

  if (!spec) {
    gchar *present = gst_iio_device_list_present ();
    GST_ELEMENT_ERROR (element, RESOURCE, NOT_FOUND,
        ("No IIO device given: set device= to one of: %s", present), (NULL));
    g_free (present);
    return NULL;
  }
  dev = gst_iio_device_open (spec, buffer_index, &error);
  if (dev && dev->is_output != output) {
    g_set_error (&error, GST_IIO_DEVICE_ERROR, GST_IIO_DEVICE_ERROR_NOT_FOUND,
        "Buffer %u of IIO device %s is an %s: use %s for it", buffer_index,
        dev->name, output ? "input" : "output",
        output ? "iiodmabufsrc" : "iiodmabufsink");
    g_clear_pointer (&dev, gst_iio_device_close);
  }
  if (dev && gst_iio_device_select_channels (dev, channels, &error))
    return dev;
  g_clear_pointer (&dev, gst_iio_device_close);
  gst_iio_dmabuf_post_device_error (element, error);
  return NULL;
}

static gboolean
plugin_init (GstPlugin * plugin)
{
  gboolean ok = FALSE;

  ok |= GST_ELEMENT_REGISTER (iiodmabufsrc, plugin);
  ok |= GST_ELEMENT_REGISTER (iiodmabufsink, plugin);
  GST_DEVICE_PROVIDER_REGISTER (iiodeviceprovider, plugin);
  return ok;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, iiodmabuf,
    "Zero-copy IIO capture and playback through DMABUFs", plugin_init,
    VERSION, GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
