/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:provider-iiodeviceprovider
 * @title: iiodeviceprovider
 *
 * Lists every IIO device with a buffer for gst-device-monitor-1.0 and
 * GstDeviceMonitor: its name and label, direction, channels with their
 * scan types, whether its buffer takes DMABUFs (zero-copy), its caps, and
 * the element that streams from or to it (iiodmabufsrc or iiodmabufsink
 * with device= set). Devices are found by probing; built with libgudev,
 * a started provider (gst-device-monitor-1.0, GstDeviceMonitor) also reports
 * devices as they appear and disappear, from udev events on the iio
 * subsystem (a driver loaded or unloaded, a device bound or unbound).
 * Everything is read from sysfs: whether a buffer takes DMABUFs comes from
 * its files (the DMA buffer core's length_align_bytes) and the kernel's
 * version (6.11 or later), so the provider never opens a device node and
 * never takes a buffer from a pipeline starting at that moment.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstiiodmabufdeviceprovider.h"
#include "gstiiodmabufcaps.h"
#include "iiodmabuf-device.h"

#ifdef HAVE_GUDEV
#include <gudev/gudev.h>
#endif

GST_DEBUG_CATEGORY_STATIC (gst_iio_device_provider_debug);
#define GST_CAT_DEFAULT gst_iio_device_provider_debug

struct _GstIioDeviceProvider
{
  GstDeviceProvider parent;
#ifdef HAVE_GUDEV
  /* the udev watch: a thread running its own context */
  GThread *thread;
  GMainContext *context;
  GMainLoop *loop;
  GMutex lock;
  GCond cond;
  gboolean watching;
#endif
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

/* From sysfs, never by attaching a DMABUF: that takes the buffer from a
 * pipeline starting at that moment (EBUSY), and fails on a buffer in use. */
static const gchar *
dmabuf_text (const GstIioDevice * dev)
{
  gboolean dmabuf;

  if (!gst_iio_device_dmabuf_known (dev, &dmabuf))
    return "unknown";
  return dmabuf ? "yes" : "no";
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
      "iio.dmabuf", G_TYPE_STRING, dmabuf_text (dev),
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

/* The device behind "iio:deviceN", or NULL for one without a buffer (most
 * sensors read one value at a time) or one already gone. */
static GstDevice *
describe_dir (GstDeviceProvider * provider, const gchar * dir)
{
  GError *error = NULL;
  GstIioDevice *dev = gst_iio_device_open (dir, 0, &error);
  GstDevice *device;

  if (!dev) {
    GST_DEBUG_OBJECT (provider, "%s: %s", dir, error->message);
    g_clear_error (&error);
    return NULL;
  }
  device = describe_device (dir, dev);
  gst_iio_device_close (dev);
  return device;
}

static GList *
gst_iio_device_provider_probe (GstDeviceProvider * provider)
{
  GPtrArray *dirs = gst_iio_device_list ();
  GList *devices = NULL;
  guint i;

  for (i = 0; i < dirs->len; i++) {
    GstDevice *device = describe_dir (provider, dirs->pdata[i]);

    if (device)
      devices = g_list_append (devices, device);
  }
  g_ptr_array_unref (dirs);
  return devices;
}

#ifdef HAVE_GUDEV
/* --- hot-plug --------------------------------------------------------------- */

/* (transfer full): the listed device for "iio:deviceN", or NULL. The
 * list is read under the object lock, never through
 * gst_device_provider_get_devices(): that takes the lock stop() holds
 * while it joins this thread. */
static GstDevice *
find_listed (GstDeviceProvider * provider, const gchar * dir)
{
  GstDevice *found = NULL;
  GList *l;

  GST_OBJECT_LOCK (provider);
  for (l = provider->devices; l && !found; l = l->next)
    if (GST_IS_IIO_DMABUF_DEVICE (l->data) &&
        g_str_equal (GST_IIO_DMABUF_DEVICE (l->data)->spec, dir))
      found = gst_object_ref (l->data);
  GST_OBJECT_UNLOCK (provider);
  return found;
}

static void
device_appeared (GstDeviceProvider * provider, const gchar * dir)
{
  GstDevice *device = find_listed (provider, dir);

  /* already listed: found by the first probe before udev announced it */
  if (device) {
    gst_object_unref (device);
    return;
  }
  device = describe_dir (provider, dir);
  if (device)
    gst_device_provider_device_add (provider, device);
}

static void
device_gone (GstDeviceProvider * provider, const gchar * dir)
{
  GstDevice *device = find_listed (provider, dir);

  if (device) {
    gst_device_provider_device_remove (provider, device);
    gst_object_unref (device);
  }
}

static void
on_uevent (GUdevClient * client, const gchar * action, GUdevDevice * udev,
    gpointer provider)
{
  const gchar *dir = g_udev_device_get_name (udev);

  /* triggers are in the iio subsystem too */
  if (!dir || !g_str_has_prefix (dir, "iio:device"))
    return;
  GST_DEBUG_OBJECT (provider, "%s %s", action, dir);
  /* a change is another chance for a device an add could not describe */
  if (g_str_equal (action, "add") || g_str_equal (action, "change"))
    device_appeared (provider, dir);
  else if (g_str_equal (action, "remove"))
    device_gone (provider, dir);
}

static gpointer
watch_udev (gpointer data)
{
  GstIioDeviceProvider *self = data;
  GstDeviceProvider *provider = data;
  const gchar *subsystems[] = { "iio", NULL };
  GUdevClient *client;
  GList *devices, *l;

  g_main_context_push_thread_default (self->context);
  /* listening before the first probe: nothing slips between the two */
  client = g_udev_client_new (subsystems);
  g_signal_connect (client, "uevent", G_CALLBACK (on_uevent), self);
  devices = gst_iio_device_provider_probe (provider);
  for (l = devices; l; l = l->next)
    gst_device_provider_device_add (provider, l->data);
  g_list_free (devices);

  g_mutex_lock (&self->lock);
  self->watching = TRUE;
  g_cond_signal (&self->cond);
  g_mutex_unlock (&self->lock);

  g_main_loop_run (self->loop);
  g_signal_handlers_disconnect_by_data (client, self);
  g_object_unref (client);
  g_main_context_pop_thread_default (self->context);
  gst_object_unref (self);
  return NULL;
}

static gboolean
gst_iio_device_provider_start (GstDeviceProvider * provider)
{
  GstIioDeviceProvider *self = GST_IIO_DEVICE_PROVIDER (provider);

  self->context = g_main_context_new ();
  self->loop = g_main_loop_new (self->context, FALSE);
  self->watching = FALSE;
  self->thread = g_thread_new ("iio-device-provider", watch_udev,
      gst_object_ref (self));
  g_mutex_lock (&self->lock);
  while (!self->watching)
    g_cond_wait (&self->cond, &self->lock);
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static gboolean
quit_loop (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static void
gst_iio_device_provider_stop (GstDeviceProvider * provider)
{
  GstIioDeviceProvider *self = GST_IIO_DEVICE_PROVIDER (provider);
  GSource *quit = g_idle_source_new ();

  /* a source, not g_main_loop_quit(): the loop may not be running yet */
  g_source_set_callback (quit, quit_loop, self->loop, NULL);
  g_source_attach (quit, self->context);
  g_source_unref (quit);
  g_thread_join (self->thread);
  self->thread = NULL;
  g_clear_pointer (&self->loop, g_main_loop_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
}

static void
gst_iio_device_provider_finalize (GObject * object)
{
  GstIioDeviceProvider *self = GST_IIO_DEVICE_PROVIDER (object);

  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  G_OBJECT_CLASS (gst_iio_device_provider_parent_class)->finalize (object);
}
#endif /* HAVE_GUDEV */

static void
gst_iio_device_provider_class_init (GstIioDeviceProviderClass * klass)
{
  GstDeviceProviderClass *dp_class = GST_DEVICE_PROVIDER_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_iio_device_provider_debug,
      "iiodeviceprovider", 0, "IIO device provider");
  dp_class->probe = gst_iio_device_provider_probe;
#ifdef HAVE_GUDEV
  dp_class->start = gst_iio_device_provider_start;
  dp_class->stop = gst_iio_device_provider_stop;
  G_OBJECT_CLASS (klass)->finalize = gst_iio_device_provider_finalize;
#endif
  gst_device_provider_class_set_static_metadata (dp_class,
      "IIO device provider", "Source/Sink/IIO",
      "Lists IIO converters with a buffer (ADCs, DACs, SDR front ends)",
      "gst-iiodmabuf developers");
}

static void
gst_iio_device_provider_init (GstIioDeviceProvider * self)
{
#ifdef HAVE_GUDEV
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
#endif
}
