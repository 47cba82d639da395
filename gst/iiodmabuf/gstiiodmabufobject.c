/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The device side both elements share (see gstiiodmabufobject.h). Errors
 * are posted on the owning element, their user text saying what to do.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstiiodmabufobject.h"
#include "gstiiodmabufallocator.h"
#include "gstiiodmabufcaps.h"
#include "gstiiodmabufelements.h"
#include "iiodmabuf-dmabuf.h"
#include "gstiiodmabufpoll.h"

#include <gst/allocators/allocators.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

GST_DEBUG_CATEGORY_STATIC (gst_iio_dmabuf_object_debug);
#define GST_CAT_DEFAULT gst_iio_dmabuf_object_debug

#define ELEMENT(obj) ((obj)->element)

void
gst_iio_dmabuf_object_init (GstIioDmabufObject * obj, GstElement * element,
    gboolean output, GstIioDmabufOfferedFunc offered_func)
{
  static gsize done = 0;

  if (g_once_init_enter (&done)) {
    GST_DEBUG_CATEGORY_INIT (gst_iio_dmabuf_object_debug, "iiodmabufobject",
        0, "IIO device shared by iiodmabufsrc and iiodmabufsink");
    g_once_init_leave (&done, 1);
  }
  memset (obj, 0, sizeof *obj);
  obj->element = element;
  obj->output = output;
  obj->offered_func = offered_func;
  obj->origin = "none";
  obj->poll = gst_poll_new (TRUE);
  gst_iio_dmabuf_settings_init (&obj->settings);
  gst_iio_dmabuf_settings_init (&obj->active);
}

void
gst_iio_dmabuf_object_clear (GstIioDmabufObject * obj)
{
  gst_iio_dmabuf_settings_clear (&obj->settings);
  gst_iio_dmabuf_settings_clear (&obj->active);
  g_clear_pointer (&obj->device, gst_iio_device_close);
  gst_clear_caps (&obj->offered);
  gst_clear_object (&obj->allocator);
  g_clear_pointer (&obj->poll, gst_poll_free);
}

/* --- properties ----------------------------------------------------------- */

/**
 * gst_iio_dmabuf_object_set_property:
 *
 * Sets a shared setting; one changed in READY opens the device anew at the
 * next start (it is read at NULL->READY). Call with the object lock held.
 *
 * Returns: %FALSE if @prop_id is not a shared setting
 */
gboolean
gst_iio_dmabuf_object_set_property (GstIioDmabufObject * obj, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  if (prop_id >= GST_IIO_DMABUF_N_SETTINGS)
    return FALSE;
  if (gst_iio_dmabuf_settings_settable (ELEMENT (obj), pspec)
      && gst_iio_dmabuf_settings_set (&obj->settings, prop_id, value))
    obj->reopen |= GST_STATE (ELEMENT (obj)) == GST_STATE_READY;
  return TRUE;
}

/* Call with the object lock held. */
gboolean
gst_iio_dmabuf_object_get_property (GstIioDmabufObject * obj, guint prop_id,
    GValue * value)
{
  return gst_iio_dmabuf_settings_get (&obj->settings, prop_id, value);
}

/* For stats, with the object lock held: "dmabuf" or "rw", and where the
 * DMABUFs come from. */
void
gst_iio_dmabuf_object_stats_io (GstIioDmabufObject * obj,
    const gchar ** io_mode, const gchar ** origin)
{
  *origin = obj->origin;
  *io_mode = g_str_equal (obj->origin, "none") ? "rw" : "dmabuf";
}

/* --- what other threads may read ----------------------------------------- */

/* The channels a stream may carry: those asked for, else all but the
 * timestamp (whatever a negotiation since enabled). */
static GPtrArray *
offered_channels (GstIioDmabufObject * obj)
{
  GPtrArray *channels = g_ptr_array_new ();
  guint i;

  for (i = 0; i < obj->device->channels->len; i++) {
    const GstIioChannel *ch = &g_array_index (obj->device->channels,
        GstIioChannel, i);

    if (obj->active.channels ? ch->enabled : g_strcmp0 (ch->id,
            "timestamp") != 0)
      g_ptr_array_add (channels, (gpointer) ch);
  }
  return channels;
}

/**
 * gst_iio_dmabuf_object_offered_caps:
 * @rates: (nullable): the rates to offer, else the present one
 * @fewer: whether, without a channels property, a stream may also take
 *     only the first N channels
 *
 * For a #GstIioDmabufOfferedFunc: the caps of the open device's channels.
 *
 * Returns: (transfer full): the caps
 */
GstCaps *
gst_iio_dmabuf_object_offered_caps (GstIioDmabufObject * obj,
    const GValue * rates, gboolean fewer)
{
  GPtrArray *channels = offered_channels (obj);
  GstCaps *caps = gst_iio_dmabuf_caps_offered ((const GstIioChannel *
          const *) channels->pdata, channels->len, obj->rate, rates,
      fewer && !obj->active.channels);

  g_ptr_array_unref (channels);
  return caps;
}

/**
 * gst_iio_dmabuf_object_update_offered:
 *
 * Publishes the caps of the open device anew (after its rate changed, say),
 * from the thread that owns it.
 */
void
gst_iio_dmabuf_object_update_offered (GstIioDmabufObject * obj)
{
  GstCaps *caps = obj->offered_func (ELEMENT (obj));

  GST_OBJECT_LOCK (ELEMENT (obj));
  gst_caps_take (&obj->offered, caps);
  GST_OBJECT_UNLOCK (ELEMENT (obj));
}

/**
 * gst_iio_dmabuf_object_get_offered:
 *
 * From any thread.
 *
 * Returns: (transfer full) (nullable): the caps of the open device, NULL
 * while it is closed
 */
GstCaps *
gst_iio_dmabuf_object_get_offered (GstIioDmabufObject * obj)
{
  GstCaps *caps;

  GST_OBJECT_LOCK (ELEMENT (obj));
  caps = obj->offered ? gst_caps_ref (obj->offered) : NULL;
  GST_OBJECT_UNLOCK (ELEMENT (obj));
  return caps;
}

/**
 * gst_iio_dmabuf_object_read_rate:
 *
 * Reads the converter's present rate (0 if it has none).
 */
void
gst_iio_dmabuf_object_read_rate (GstIioDmabufObject * obj)
{
  guint rate = 0;

  if (!gst_iio_device_get_sampling_frequency (obj->device, &rate))
    rate = 0;
  GST_OBJECT_LOCK (ELEMENT (obj));
  obj->rate = rate;
  GST_OBJECT_UNLOCK (ELEMENT (obj));
}

/* --- opening and closing -------------------------------------------------- */

/**
 * gst_iio_dmabuf_object_open:
 *
 * Opens the device and selects the channels (at NULL->READY, so caps can
 * be asked for), or posts an error that says what to do.
 */
/* An application may set properties while we read them: work on a copy
 * taken under the object lock. */
static void
take_settings (GstIioDmabufObject * obj)
{
  GST_OBJECT_LOCK (ELEMENT (obj));
  gst_iio_dmabuf_settings_copy (&obj->active, &obj->settings);
  GST_OBJECT_UNLOCK (ELEMENT (obj));
}

gboolean
gst_iio_dmabuf_object_open (GstIioDmabufObject * obj)
{
  GstIioDmabufSettings *s = &obj->active;
  GstIioDevice *device;

  take_settings (obj);

  device = gst_iio_dmabuf_open_device (ELEMENT (obj), s->device,
      s->buffer_index, s->channels, obj->output);
  if (!device)
    return FALSE;
  GST_OBJECT_LOCK (ELEMENT (obj));
  obj->device = device;
  GST_OBJECT_UNLOCK (ELEMENT (obj));
  gst_iio_dmabuf_object_read_rate (obj);
  gst_iio_dmabuf_object_update_offered (obj);
  return TRUE;
}

/* Other threads stop seeing the device before it goes. */
void
gst_iio_dmabuf_object_close (GstIioDmabufObject * obj)
{
  GstIioDevice *device;
  GstCaps *offered;

  GST_OBJECT_LOCK (ELEMENT (obj));
  device = g_steal_pointer (&obj->device);
  offered = g_steal_pointer (&obj->offered);
  GST_OBJECT_UNLOCK (ELEMENT (obj));
  gst_clear_caps (&offered);
  g_clear_pointer (&device, gst_iio_device_close);
  gst_clear_object (&obj->allocator);
}

/**
 * gst_iio_dmabuf_object_change_state:
 * @parent_class: the element's parent class, chained up to
 *
 * Opens the device at NULL->READY and closes it at READY->NULL (or when
 * NULL->READY failed).
 */
GstStateChangeReturn
gst_iio_dmabuf_object_change_state (GstIioDmabufObject * obj,
    GstStateChange transition, GstElementClass * parent_class)
{
  GstStateChangeReturn ret;

  if (transition == GST_STATE_CHANGE_NULL_TO_READY
      && !gst_iio_dmabuf_object_open (obj))
    return GST_STATE_CHANGE_FAILURE;
  ret = parent_class->change_state (ELEMENT (obj), transition);
  if (transition == GST_STATE_CHANGE_READY_TO_NULL
      || (transition == GST_STATE_CHANGE_NULL_TO_READY
          && ret == GST_STATE_CHANGE_FAILURE))
    gst_iio_dmabuf_object_close (obj);
  return ret;
}

/* A setting changed in READY, or an earlier start failed to open: open
 * the device anew. */
static gboolean
reopen_if_changed (GstIioDmabufObject * obj)
{
  gboolean reopen;

  GST_OBJECT_LOCK (ELEMENT (obj));
  reopen = obj->reopen || !obj->device;
  obj->reopen = FALSE;
  GST_OBJECT_UNLOCK (ELEMENT (obj));
  if (!reopen)
    return TRUE;
  GST_DEBUG_OBJECT (ELEMENT (obj), "device settings changed: opening anew");
  gst_iio_dmabuf_object_close (obj);    /* dma-heap too may have changed */
  return gst_iio_dmabuf_object_open (obj);
}

/**
 * gst_iio_dmabuf_object_start:
 *
 * Gets the buffer's fd (the device node is open only for that instant).
 */
gboolean
gst_iio_dmabuf_object_start (GstIioDmabufObject * obj)
{
  GError *error = NULL;

  obj->enabled = FALSE;
  GST_OBJECT_LOCK (ELEMENT (obj));
  obj->origin = "none";
  GST_OBJECT_UNLOCK (ELEMENT (obj));
  if (!reopen_if_changed (obj))
    return FALSE;
  take_settings (obj);
  if (gst_iio_device_open_buffer (obj->device, &error))
    return TRUE;
  gst_iio_dmabuf_post_device_error (ELEMENT (obj), error);
  return FALSE;
}

/**
 * gst_iio_dmabuf_object_stop:
 *
 * Disables the buffer and leaves the device as it was found, fd closed.
 */
void
gst_iio_dmabuf_object_stop (GstIioDmabufObject * obj)
{
  gst_iio_dmabuf_object_disable (obj);
  if (obj->device)
    gst_iio_device_restore (obj->device);
}

/* --- configuring ---------------------------------------------------------- */

/* write() gets the kernel's own two blocks; everything else num-blocks. */
static guint
kernel_blocks (GstIioDmabufObject * obj)
{
  return obj->output && !obj->use_dmabuf ? 2 : obj->active.num_blocks;
}

static gboolean
compute_block_size (GstIioDmabufObject * obj)
{
  GError *error = NULL;

  obj->scan_bytes = gst_iio_device_scan_bytes (obj->device);
  obj->block_bytes = gst_iio_device_block_bytes (obj->device,
      obj->active.samples_per_block, obj->active.num_blocks, &error);
  if (obj->block_bytes)
    return TRUE;
  GST_ELEMENT_ERROR (ELEMENT (obj), RESOURCE, SETTINGS, ("%s",
          error->message), (NULL));
  g_error_free (error);
  return FALSE;
}

/* A DMA engine moves multiples of length_align_bytes, and mainline's
 * dmaengine buffer fails a DMABUF block of another size without a word
 * (ENQUEUE succeeds, the block never moves). The default size is rounded
 * up to fit; a size the user chose is refused for DMABUFs (read() and
 * write() take any: the kernel's own blocks are sized to fit). */
static gboolean
fit_block_to_dma (GstIioDmabufObject * obj)
{
  guint step = gst_iio_device_block_step (obj->device);
  guint spb = obj->active.samples_per_block;

  if (spb % step == 0)
    return TRUE;
  if (!obj->active.samples_per_block_set) {
    GST_OBJECT_LOCK (ELEMENT (obj));
    obj->active.samples_per_block = (spb + step - 1) / step * step;
    GST_OBJECT_UNLOCK (ELEMENT (obj));
    GST_INFO_OBJECT (ELEMENT (obj), "%u scans a block, a multiple of %u "
        "for the DMA engine", obj->active.samples_per_block, step);
    return compute_block_size (obj);
  }
  if (!obj->use_dmabuf)
    return TRUE;
  GST_ELEMENT_ERROR (ELEMENT (obj), RESOURCE, SETTINGS,
      ("samples-per-block=%u does not fit the DMA engine of IIO device %s: "
          "use a multiple of %u samples", spb, obj->device->name, step),
      ("blocks of %" G_GSIZE_FORMAT " bytes (%u bytes a scan); the DMA "
          "engine moves multiples of %u bytes (%s/length_align_bytes)",
          obj->block_bytes, obj->scan_bytes, obj->device->length_align,
          obj->device->buffer_dir));
  return FALSE;
}

/* Whether the IIO buffer takes DMABUFs: attach one and see. */
static gboolean
probe_dmabuf (GstIioDmabufObject * obj, GError ** error)
{
  gint buffer_fd = obj->device->buffer_fd, fd;
  GstMemory *mem;

  mem = gst_iio_dmabuf_allocator_alloc_block (obj->allocator,
      obj->scan_bytes, error);
  if (!mem)
    return FALSE;
  fd = gst_dmabuf_memory_get_fd (mem);
  if (gst_iio_block_attach (buffer_fd, fd, error))
    gst_iio_block_detach (buffer_fd, fd);
  else
    fd = -1;
  gst_memory_unref (mem);
  return fd >= 0;
}

/* io-mode=auto where nothing makes DMABUFs (no DMA heap, udmabuf or DRM
 * device that this user may use): read()/write(), said once. */
static void
warn_copying (GstIioDmabufObject * obj, const GError * error)
{
  const gchar *rw = obj->output ? "write()" : "read()";

  GST_INFO_OBJECT (ELEMENT (obj), "%s: using %s instead", error->message, rw);
  if (obj->warned_copying)
    return;
  obj->warned_copying = TRUE;
  GST_ELEMENT_WARNING (ELEMENT (obj), RESOURCE, SETTINGS,
      ("No DMABUF can be made here, so IIO device %s moves its data with %s "
          "(a copy). For zero-copy, load vgem (modprobe vgem) or give this "
          "user a DMA heap or /dev/udmabuf", obj->device->name, rw),
      ("%s\nZero-copy needs one of: a DMA heap (CONFIG_DMABUF_HEAPS_SYSTEM, "
          "or CONFIG_DMABUF_HEAPS_CMA for contiguous memory), /dev/udmabuf "
          "(CONFIG_UDMABUF), or a DRM device with dumb buffers (a display's "
          "KMS driver, or vgem: CONFIG_DRM_VGEM, modprobe vgem); and a udev "
          "rule that lets this user open it, e.g. SUBSYSTEM==\"drm\", "
          "KERNEL==\"card*\", GROUP=\"video\", MODE=\"0660\" with the "
          "user in group video. DRM needs a build with libdrm (%s here).",
          error->message, gst_iio_dmabuf_have_drm ()? "yes" : "no"));
}

/* DMABUF blocks when the mode and the driver allow, else read()/write(). */
static gboolean
choose_io (GstIioDmabufObject * obj)
{
  const gchar *rw = obj->output ? "write()" : "read()";
  GError *error = NULL;

  obj->use_dmabuf = FALSE;
  /* until a probe says the buffer takes no DMABUF (kfifo, triggered); no
   * probe in rw mode: a DMABUF attached and detached just before the
   * enable can leave the DMA buffer core without read() blocks */
  obj->dma_core = TRUE;
  if (obj->active.io_mode == GST_IIO_DMABUF_IO_MODE_RW)
    return TRUE;
  if (probe_dmabuf (obj, &error)) {
    obj->use_dmabuf = TRUE;
    return TRUE;
  }
  if (obj->active.io_mode == GST_IIO_DMABUF_IO_MODE_AUTO
      && g_error_matches (error, GST_IIO_DEVICE_ERROR,
          GST_IIO_DEVICE_ERROR_NO_DMABUF)) {
    GST_INFO_OBJECT (ELEMENT (obj), "%s: using %s instead", error->message, rw);
    g_error_free (error);
    obj->dma_core = FALSE;
    return TRUE;
  }
  if (obj->active.io_mode == GST_IIO_DMABUF_IO_MODE_AUTO
      && g_error_matches (error, GST_IIO_DEVICE_ERROR,
          GST_IIO_DEVICE_ERROR_NO_ALLOCATOR)) {
    warn_copying (obj, error);
    g_error_free (error);
    return TRUE;
  }
  if (g_error_matches (error, GST_IIO_DEVICE_ERROR,
          GST_IIO_DEVICE_ERROR_NO_DMABUF))
    GST_ELEMENT_ERROR (ELEMENT (obj), RESOURCE, SETTINGS, ("%s. Use "
            "io-mode=auto to fall back to %s.", error->message, rw), (NULL));
  else
    gst_iio_dmabuf_post_device_error (ELEMENT (obj), g_steal_pointer (&error));
  g_clear_error (&error);
  return FALSE;
}

/* Writes the buffer's geometry for the I/O mode chosen. */
static gboolean
configure_device (GstIioDmabufObject * obj)
{
  GError *error = NULL;

  if (gst_iio_device_configure (obj->device, obj->active.samples_per_block,
          kernel_blocks (obj), !obj->use_dmabuf, &error))
    return TRUE;
  gst_iio_dmabuf_post_device_error (ELEMENT (obj), error);
  return FALSE;
}

/* read()/write() never block: the waits are ours, bounded and
 * cancellable. */
static gboolean
set_nonblocking (GstIioDmabufObject * obj)
{
  if (fcntl (obj->device->buffer_fd, F_SETFL, O_NONBLOCK) == 0)
    return TRUE;
  GST_ELEMENT_ERROR (ELEMENT (obj), RESOURCE, SETTINGS, ("Cannot set up "
          "read()/write() on IIO device %s", obj->device->name),
      GST_ERROR_SYSTEM);
  return FALSE;
}

/**
 * gst_iio_dmabuf_object_use_rw:
 *
 * Moves blocks with read()/write() after all, e.g. when DMABUF blocks
 * could not be set up: the buffer's length is set for the kernel's own
 * blocks.
 */
gboolean
gst_iio_dmabuf_object_use_rw (GstIioDmabufObject * obj)
{
  obj->use_dmabuf = FALSE;
  GST_OBJECT_LOCK (ELEMENT (obj));
  obj->origin = "none";
  GST_OBJECT_UNLOCK (ELEMENT (obj));
  return configure_device (obj) && set_nonblocking (obj);
}

static void
log_geometry (GstIioDmabufObject * obj)
{
  GST_INFO_OBJECT (ELEMENT (obj), "%s: %u channels, %u bytes a scan, %u "
      "scans a block, length %u, %u Hz, %s", obj->device->name,
      gst_iio_device_n_enabled (obj->device), obj->scan_bytes,
      obj->active.samples_per_block, obj->device->length, obj->rate,
      obj->use_dmabuf ? "DMABUF" : obj->output ? "write()" : "read()");
}

/**
 * gst_iio_dmabuf_object_configure:
 *
 * Sizes the blocks of the enabled channels, chooses the I/O mode and
 * writes the buffer's length and watermark (the buffer disabled). Posts
 * an error that says what to do.
 */
gboolean
gst_iio_dmabuf_object_configure (GstIioDmabufObject * obj)
{
  if (!compute_block_size (obj))
    return FALSE;
  /* left enabled by a killed reader, an attach would fail (EBUSY) */
  gst_iio_dmabuf_object_disable (obj);
  if (!obj->allocator)
    obj->allocator = gst_iio_dmabuf_allocator_new (obj->active.dmabuf_origin,
        obj->active.dma_heap, obj->active.drm_device);
  if (!choose_io (obj) || !fit_block_to_dma (obj) || !configure_device (obj))
    return FALSE;
  if (!obj->use_dmabuf && !set_nonblocking (obj))
    return FALSE;
  GST_OBJECT_LOCK (ELEMENT (obj));
  obj->origin = obj->use_dmabuf ?
      gst_iio_dmabuf_allocator_get_origin (obj->allocator) : "none";
  GST_OBJECT_UNLOCK (ELEMENT (obj));
  log_geometry (obj);
  return TRUE;
}

/**
 * gst_iio_dmabuf_object_reconfigure:
 *
 * The enabled channels changed (the buffer disabled): sizes the blocks
 * and writes the buffer's geometry again, in the I/O mode chosen at
 * configure. Posts an error that says what to do.
 */
gboolean
gst_iio_dmabuf_object_reconfigure (GstIioDmabufObject * obj)
{
  if (!compute_block_size (obj) || !fit_block_to_dma (obj)
      || !configure_device (obj))
    return FALSE;
  log_geometry (obj);
  return TRUE;
}

/**
 * gst_iio_dmabuf_object_set_rate:
 * @rate: Hz
 *
 * Sets the converter's sampling frequency (remembering the old one for
 * the stop) and checks it took it. Only while disabled (the kernel
 * refuses it otherwise).
 */
gboolean
gst_iio_dmabuf_object_set_rate (GstIioDmabufObject * obj, guint rate)
{
  GError *error = NULL;
  gchar value[16];
  guint actual = 0;

  g_snprintf (value, sizeof value, "%u", rate);
  if (!gst_iio_device_change_attr (obj->device, "sampling_frequency", value,
          &error)) {
    gst_iio_dmabuf_post_device_error (ELEMENT (obj), error);
    return FALSE;
  }
  if (gst_iio_device_get_sampling_frequency (obj->device, &actual)
      && actual != rate) {
    GST_ELEMENT_ERROR (ELEMENT (obj), RESOURCE, SETTINGS, ("IIO device %s "
            "runs at %u Hz, not the %u Hz asked for: use a rate it can run "
            "at", obj->device->name, actual, rate), (NULL));
    return FALSE;
  }
  GST_OBJECT_LOCK (ELEMENT (obj));
  obj->rate = rate;
  GST_OBJECT_UNLOCK (ELEMENT (obj));
  gst_iio_dmabuf_object_update_offered (obj);
  return TRUE;
}

/* --- streaming ------------------------------------------------------------ */

gboolean
gst_iio_dmabuf_object_enable (GstIioDmabufObject * obj)
{
  GError *error = NULL;

  if (gst_iio_device_set_enabled (obj->device, TRUE, &error)) {
    obj->enabled = TRUE;
    return TRUE;
  }
  gst_iio_dmabuf_post_device_error (ELEMENT (obj), error);
  return FALSE;
}

void
gst_iio_dmabuf_object_disable (GstIioDmabufObject * obj)
{
  if (obj->device)
    gst_iio_device_set_enabled (obj->device, FALSE, NULL);
  obj->enabled = FALSE;
}

/* A read error for a source, a write error for a sink (@text and @debug
 * are taken). */
static void
post_io_error (GstIioDmabufObject * obj, gchar * text, gchar * debug)
{
  gst_element_message_full (ELEMENT (obj), GST_MESSAGE_ERROR,
      GST_RESOURCE_ERROR, obj->output ? GST_RESOURCE_ERROR_WRITE :
      GST_RESOURCE_ERROR_READ, text, debug, __FILE__, GST_FUNCTION, __LINE__);
}

/* Waits, bounded and cancellable, until the buffer fd can be read (or
 * written); a poll error on it is an error. */
static GstFlowReturn
wait_ready (GstIioDmabufObject * obj)
{
  GstPollFD pfd = GST_POLL_FD_INIT;
  gint ret, err;

  pfd.fd = obj->device->buffer_fd;
  gst_poll_add_fd (obj->poll, &pfd);
  gst_poll_fd_ctl_read (obj->poll, &pfd, !obj->output);
  gst_poll_fd_ctl_write (obj->poll, &pfd, obj->output);
  ret = gst_iio_poll_wait (obj->poll, obj->active.timeout);
  err = ret < 0 ? errno : 0;
  if (ret > 0 && gst_poll_fd_has_error (obj->poll, &pfd))
    ret = -1;
  gst_poll_remove_fd (obj->poll, &pfd);
  if (err == EBUSY)
    return GST_FLOW_FLUSHING;
  if (ret > 0)
    return GST_FLOW_OK;
  post_io_error (obj, g_strdup_printf ("IIO device %s %s within %"
          GST_TIME_FORMAT ": %s", obj->device->name, obj->output ?
          "took no data" : "gave no data",
          GST_TIME_ARGS (obj->active.timeout), ret == 0 ? "the converter "
          "is stalled or not clocked, or raise timeout" :
          "is it still there?"), NULL);
  return GST_FLOW_ERROR;
}

/**
 * gst_iio_dmabuf_object_transfer:
 * @data: what to write, or where to read to
 * @size: how many bytes
 * @done: (inout): bytes moved so far; on FLUSHING, call again to go on
 *
 * read()/write() mode: moves @size bytes, waiting as the converter makes
 * room or data (bounded by the timeout, cancelled by flushing).
 */
GstFlowReturn
gst_iio_dmabuf_object_transfer (GstIioDmabufObject * obj, guint8 * data,
    gsize size, gsize * done)
{
  gint fd = obj->device->buffer_fd;
  GstFlowReturn ret = GST_FLOW_OK;

  while (*done < size && ret == GST_FLOW_OK) {
    gssize n = obj->output ? write (fd, data + *done, size - *done) :
        read (fd, data + *done, size - *done);
    gint err = errno;

    if (n > 0)
      *done += n;
    else if (n < 0 && err == EAGAIN)
      ret = wait_ready (obj);
    else if (n == 0 || err != EINTR) {
      post_io_error (obj, g_strdup_printf ("%s IIO device %s failed: is it "
              "still there?", obj->output ? "Writing to" : "Reading",
              obj->device->name), g_strdup (n == 0 ? "no progress" :
              g_strerror (err)));
      ret = GST_FLOW_ERROR;
    }
  }
  return ret;
}

void
gst_iio_dmabuf_object_set_flushing (GstIioDmabufObject * obj, gboolean flushing)
{
  gst_poll_set_flushing (obj->poll, flushing);
}
