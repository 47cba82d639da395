/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The iiodmabuf plugin: zero-copy IIO capture and playback over the IIO
 * DMABUF interface (Linux >= 6.11).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstiiodmabufelements.h"

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

static gboolean
plugin_init (GstPlugin * plugin)
{
  return GST_ELEMENT_REGISTER (iiodmabufsrc, plugin);
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, iiodmabuf,
    "Zero-copy IIO capture and playback through DMABUFs", plugin_init,
    VERSION, GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
