/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:provider-iiodeviceprovider
 * @title: iiodeviceprovider
 *
 * Lists every IIO device with a buffer for gst-device-monitor-1.0 and
 * GstDeviceMonitor: its name and label, direction, channels with their
 * scan types, whether its buffer takes DMABUFs (zero-copy), its caps, and
 * the element that streams from or to it (iiodmabufsrc or iiodmabufsink
 * with device= set). Devices are found by probing.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstiiodmabufdeviceprovider.h"
#include "gstiiodmabufcaps.h"
#include "iiodmabuf-device.h"
#include "iiodmabuf-dmabuf.h"

GST_DEBUG_CATEGORY_STATIC (gst_iio_device_provider_debug);
#define GST_CAT_DEFAULT gst_iio_device_provider_debug

struct _GstIioDeviceProvider
{
  GstDeviceProvider parent;
};

struct _GstIioDmabufDevice
{
  GstDevice parent;
  gchar *spec;                  /* what device= takes: iio:deviceN */
  gboolean output;
};

G_DEFINE_TYPE (GstIioDeviceProvider, gst_iio_device_provider,
    GST_TYPE_DEVICE_PROVIDER);
G_DEFINE_TYPE (GstIioDmabufDevice, gst_iio_dmabuf_device, GST_TYPE_DEVICE);
GST_DEVICE_PROVIDER_REGISTER_DEFINE (iiodeviceprovider, "iiodeviceprovider",
    GST_RANK_PRIMARY, GST_TYPE_IIO_DEVICE_PROVIDER);

/* --- the device ----------------------------------------------------------- */

static GstElement *
gst_iio_dmabuf_device_create_element (GstDevice * device, const gchar * name)
{
  GstIioDmabufDevice *self = GST_IIO_DMABUF_DEVICE (device);
  GstElement *element = gst_element_factory_make (self->output ?
      "iiodmabufsink" : "iiodmabufsrc", name);

  if (element)
    g_object_set (element, "device", self->spec, NULL);
  return element;
}

static void
gst_iio_dmabuf_device_finalize (GObject * object)
{
  g_free (GST_IIO_DMABUF_DEVICE (object)->spec);
  G_OBJECT_CLASS (gst_iio_dmabuf_device_parent_class)->finalize (object);
}

static void
gst_iio_dmabuf_device_class_init (GstIioDmabufDeviceClass * klass)
{
  GST_DEVICE_CLASS (klass)->create_element =
      gst_iio_dmabuf_device_create_element;
  G_OBJECT_CLASS (klass)->finalize = gst_iio_dmabuf_device_finalize;
}

static void
gst_iio_dmabuf_device_init (GstIioDmabufDevice * self)
{
}

/* --- probing -------------------------------------------------------------- */

/* "voltage0 le:s16/16>>0, ..." */
static gchar *
describe_channels (const GstIioDevice * dev)
{
  GString *s = g_string_new (NULL);
  guint i;

  for (i = 0; i < dev->channels->len; i++) {
    const GstIioChannel *ch = &g_array_index (dev->channels, GstIioChannel, i);
    gchar *type = gst_iio_scan_type_to_string (&ch->type);

    g_string_append_printf (s, "%s%s %s", s->len ? ", " : "", ch->id, type);
    g_free (type);
  }
  return g_string_free (s, FALSE);
}

/* The caps of every channel but the timestamp, at the present rate. */
static GstCaps *
device_caps (const GstIioDevice * dev, guint rate)
{
  GPtrArray *channels = g_ptr_array_new ();
  GstCaps *caps;
  guint i;

  for (i = 0; i < dev->channels->len; i++) {
    const GstIioChannel *ch = &g_array_index (dev->channels, GstIioChannel, i);

    if (g_strcmp0 (ch->id, "timestamp") != 0)
      g_ptr_array_add (channels, (gpointer) ch);
  }
  caps = gst_iio_dmabuf_caps_for_channels ((const GstIioChannel * const *)
      channels->pdata, channels->len, rate);
  g_ptr_array_unref (channels);
  return caps;
}

static const gchar *
dmabuf_text (GstIioDmabufSupport support)
{
  switch (support) {
    case GST_IIO_DMABUF_SUPPORT_YES:
      return "yes";
    case GST_IIO_DMABUF_SUPPORT_NO:
      return "no";
    default:
      return "unknown";
  }
}

static GstDevice *
describe_device (const gchar * dir, GstIioDevice * dev)
{
  gchar *label = gst_iio_device_read_attr (dev, "label", NULL);
  gchar *channels = describe_channels (dev);
  guint rate = 0;
  GstStructure *props;
  GstDevice *device;
  GstCaps *caps;

  gst_iio_device_get_sampling_frequency (dev, &rate);
  caps = device_caps (dev, rate);
  props = gst_structure_new ("iio-device-properties",
      "device.api", G_TYPE_STRING, "iio",
      "device.path", G_TYPE_STRING, dev->node,
      "iio.name", G_TYPE_STRING, dev->name,
      "iio.label", G_TYPE_STRING, label ? label : "",
      "iio.direction", G_TYPE_STRING, dev->is_output ? "output" : "input",
      "iio.channels", G_TYPE_STRING, channels,
      "iio.dmabuf", G_TYPE_STRING,
      dmabuf_text (gst_iio_device_probe_dmabuf (dev)),
      "iio.sampling-frequency", G_TYPE_UINT, rate, NULL);
  device = g_object_new (GST_TYPE_IIO_DMABUF_DEVICE, "display-name",
      label && *label ? label : dev->name, "caps", caps, "device-class",
      dev->is_output ? "Sink/IIO" : "Source/IIO", "properties", props, NULL);
  GST_IIO_DMABUF_DEVICE (device)->spec = g_strdup (dir);
  GST_IIO_DMABUF_DEVICE (device)->output = dev->is_output;
  gst_caps_unref (caps);
  gst_structure_free (props);
  g_free (channels);
  g_free (label);
  return device;
}

static GList *
gst_iio_device_provider_probe (GstDeviceProvider * provider)
{
  GPtrArray *dirs = gst_iio_device_list ();
  GList *devices = NULL;
  guint i;

  for (i = 0; i < dirs->len; i++) {
    GError *error = NULL;
    GstIioDevice *dev = gst_iio_device_open (dirs->pdata[i], 0, &error);

    /* devices without a buffer (most sensors read one value at a time) */
    if (!dev) {
      GST_DEBUG_OBJECT (provider, "%s: %s", (gchar *) dirs->pdata[i],
          error->message);
      g_clear_error (&error);
      continue;
    }
    devices = g_list_append (devices, describe_device (dirs->pdata[i], dev));
    gst_iio_device_close (dev);
  }
  g_ptr_array_unref (dirs);
  return devices;
}

static void
gst_iio_device_provider_class_init (GstIioDeviceProviderClass * klass)
{
  GstDeviceProviderClass *dp_class = GST_DEVICE_PROVIDER_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_iio_device_provider_debug,
      "iiodeviceprovider", 0, "IIO device provider");
  dp_class->probe = gst_iio_device_provider_probe;
  gst_device_provider_class_set_static_metadata (dp_class,
      "IIO device provider", "Source/Sink/IIO",
      "Lists IIO converters with a buffer (ADCs, DACs, SDR front ends)",
      "gst-iiodmabuf developers");
}

static void
gst_iio_device_provider_init (GstIioDeviceProvider * self)
{
}
