/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstiiodmabufsettings.h"
#include "iiodmabuf-dmabuf.h"

#include <string.h>

#define DEFAULT_BUFFER 0
#define DEFAULT_SAMPLES_PER_BLOCK 4096
#define DEFAULT_NUM_BLOCKS 4
#define DEFAULT_IO_MODE GST_IIO_DMABUF_IO_MODE_AUTO
#define DEFAULT_DMABUF_ORIGIN GST_IIO_DMABUF_ORIGIN_AUTO
#define DEFAULT_TIMEOUT (5 * GST_SECOND)
/* every wait is bounded: G_MAXUINT64 would be GST_CLOCK_TIME_NONE */
#define MAX_TIMEOUT (3600 * GST_SECOND)

void
gst_iio_dmabuf_settings_init (GstIioDmabufSettings * settings)
{
  memset (settings, 0, sizeof *settings);
  settings->buffer_index = DEFAULT_BUFFER;
  settings->samples_per_block = DEFAULT_SAMPLES_PER_BLOCK;
  settings->num_blocks = DEFAULT_NUM_BLOCKS;
  settings->io_mode = DEFAULT_IO_MODE;
  settings->dma_heap = g_strdup (GST_IIO_DMABUF_DEFAULT_HEAP);
  settings->dmabuf_origin = DEFAULT_DMABUF_ORIGIN;
  settings->timeout = DEFAULT_TIMEOUT;
}

void
gst_iio_dmabuf_settings_clear (GstIioDmabufSettings * settings)
{
  g_clear_pointer (&settings->device, g_free);
  g_clear_pointer (&settings->channels, g_free);
  g_clear_pointer (&settings->dma_heap, g_free);
  g_clear_pointer (&settings->drm_device, g_free);
}

/**
 * gst_iio_dmabuf_settings_copy:
 * @dest: cleared (or initialised) settings, replaced by a copy of @src
 * @src: settings
 */
void
gst_iio_dmabuf_settings_copy (GstIioDmabufSettings * dest,
    const GstIioDmabufSettings * src)
{
  gst_iio_dmabuf_settings_clear (dest);
  *dest = *src;
  dest->device = g_strdup (src->device);
  dest->channels = g_strdup (src->channels);
  dest->dma_heap = g_strdup (src->dma_heap);
  dest->drm_device = g_strdup (src->drm_device);
}

/**
 * gst_iio_dmabuf_settings_install:
 * @klass: the element's class
 * @output: %TRUE for the sink
 *
 * Installs the shared properties:
 *
 * - device: the IIO device's name ("iio-sim-adc"), label, "iio:deviceN" or
 *   "/dev/iio:deviceN";
 * - buffer: which of its buffers;
 * - channels: comma-separated channel ids to enable ("voltage0,voltage1"),
 *   unset: all but the timestamp;
 * - samples-per-block: scans in each block (DMABUF). A DMABUF block's
 *   bytes must be a multiple of what the DMA engine moves at a time
 *   (bufferN/length_align_bytes): the default is rounded up to fit, a
 *   size set that does not fit is refused at start;
 * - num-blocks: blocks in flight between the kernel and the pipeline;
 * - io-mode: auto (DMABUF blocks when the driver supports them, else
 *   read()/write()), dmabuf or rw;
 * - dma-heap: the DMA heap blocks come from, by name ("system", a CMA heap:
 *   "default_cma_region" from Linux 6.17, "linux,cma" or "reserved" before)
 *   or by path. DMA engines that need physically contiguous memory need a
 *   CMA heap (or a display's DRM card, whose dumb buffers are often CMA);
 * - dmabuf-origin: where the DMABUFs come from: auto (the DMA heap, else
 *   /dev/udmabuf, else a DRM device's dumb buffers; with none of them,
 *   io-mode=auto falls back to read()/write()), dma-heap, udmabuf or drm;
 * - drm-device: the DRM device node for dumb buffers ("/dev/dri/card0");
 *   unset: the first in /dev/dri that makes them (vgem does, and the KMS
 *   drivers of displays);
 * - timeout: how long to wait for a block before an error (ns).
 */
void
gst_iio_dmabuf_settings_install (GObjectClass * klass, gboolean output)
{
  g_object_class_install_property (klass, GST_IIO_DMABUF_PROP_DEVICE,
      g_param_spec_string ("device", "Device",
          "IIO device by name, label, iio:deviceN or /dev/iio:deviceN", NULL,
          GST_IIO_DMABUF_SETTING));
  g_object_class_install_property (klass, GST_IIO_DMABUF_PROP_BUFFER,
      g_param_spec_uint ("buffer", "Buffer",
          "Index of the device's IIO buffer", 0, 63, DEFAULT_BUFFER,
          GST_IIO_DMABUF_SETTING));
  g_object_class_install_property (klass, GST_IIO_DMABUF_PROP_CHANNELS,
      g_param_spec_string ("channels", "Channels",
          "Comma-separated channel ids to enable (default: all but "
          "timestamp)", NULL, GST_IIO_DMABUF_SETTING));
  g_object_class_install_property (klass,
      GST_IIO_DMABUF_PROP_SAMPLES_PER_BLOCK,
      g_param_spec_uint ("samples-per-block", "Samples per block",
          output ? "Scans in each pooled block (DMABUF)" :
          "Scans in each block (DMABUF)", 1, G_MAXINT32,
          DEFAULT_SAMPLES_PER_BLOCK, GST_IIO_DMABUF_SETTING));
  /* a source needs one block to fill while it copies another */
  g_object_class_install_property (klass, GST_IIO_DMABUF_PROP_NUM_BLOCKS,
      g_param_spec_uint ("num-blocks", "Blocks",
          "Number of blocks (DMABUFs) in flight", output ? 1 : 2, 64,
          DEFAULT_NUM_BLOCKS, GST_IIO_DMABUF_SETTING));
  g_object_class_install_property (klass, GST_IIO_DMABUF_PROP_IO_MODE,
      g_param_spec_enum ("io-mode", "I/O mode",
          "How blocks move: auto, dmabuf or rw", GST_TYPE_IIO_DMABUF_IO_MODE,
          DEFAULT_IO_MODE, GST_IIO_DMABUF_SETTING));
  g_object_class_install_property (klass, GST_IIO_DMABUF_PROP_DMA_HEAP,
      g_param_spec_string ("dma-heap", "DMA heap",
          "DMA heap for the blocks, a name (system, default_cma_region, "
          "linux,cma, reserved) or a path (see dmabuf-origin)",
          GST_IIO_DMABUF_DEFAULT_HEAP, GST_IIO_DMABUF_SETTING));
  g_object_class_install_property (klass, GST_IIO_DMABUF_PROP_DMABUF_ORIGIN,
      g_param_spec_enum ("dmabuf-origin", "DMABUF origin",
          "Where the DMABUFs come from: auto (the DMA heap, else udmabuf, "
          "else a DRM device), dma-heap, udmabuf or drm",
          GST_TYPE_IIO_DMABUF_ORIGIN, DEFAULT_DMABUF_ORIGIN,
          GST_IIO_DMABUF_SETTING));
  g_object_class_install_property (klass, GST_IIO_DMABUF_PROP_DRM_DEVICE,
      g_param_spec_string ("drm-device", "DRM device",
          "DRM device node for dumb-buffer DMABUFs, e.g. /dev/dri/card0 "
          "(default: the first in /dev/dri that makes them)", NULL,
          GST_IIO_DMABUF_SETTING));
  g_object_class_install_property (klass, GST_IIO_DMABUF_PROP_TIMEOUT,
      g_param_spec_uint64 ("timeout", "Timeout",
          "How long to wait for a block before an error (ns)", GST_MSECOND,
          MAX_TIMEOUT, DEFAULT_TIMEOUT, GST_IIO_DMABUF_SETTING));
  gst_type_mark_as_plugin_api (GST_TYPE_IIO_DMABUF_IO_MODE, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_IIO_DMABUF_ORIGIN, 0);
}

/**
 * gst_iio_dmabuf_settings_set:
 *
 * Returns: %FALSE if @prop_id is not a shared setting
 */
gboolean
gst_iio_dmabuf_settings_set (GstIioDmabufSettings * settings, guint prop_id,
    const GValue * value)
{
  switch (prop_id) {
    case GST_IIO_DMABUF_PROP_DEVICE:
      g_free (settings->device);
      settings->device = g_value_dup_string (value);
      return TRUE;
    case GST_IIO_DMABUF_PROP_BUFFER:
      settings->buffer_index = g_value_get_uint (value);
      return TRUE;
    case GST_IIO_DMABUF_PROP_CHANNELS:
      g_free (settings->channels);
      settings->channels = g_value_dup_string (value);
      return TRUE;
    case GST_IIO_DMABUF_PROP_SAMPLES_PER_BLOCK:
      settings->samples_per_block = g_value_get_uint (value);
      settings->samples_per_block_set = TRUE;
      return TRUE;
    case GST_IIO_DMABUF_PROP_NUM_BLOCKS:
      settings->num_blocks = g_value_get_uint (value);
      return TRUE;
    case GST_IIO_DMABUF_PROP_IO_MODE:
      settings->io_mode = g_value_get_enum (value);
      return TRUE;
    case GST_IIO_DMABUF_PROP_DMA_HEAP:
      g_free (settings->dma_heap);
      settings->dma_heap = g_value_dup_string (value);
      return TRUE;
    case GST_IIO_DMABUF_PROP_DMABUF_ORIGIN:
      settings->dmabuf_origin = g_value_get_enum (value);
      return TRUE;
    case GST_IIO_DMABUF_PROP_DRM_DEVICE:
      g_free (settings->drm_device);
      settings->drm_device = g_value_dup_string (value);
      return TRUE;
    case GST_IIO_DMABUF_PROP_TIMEOUT:
      settings->timeout = g_value_get_uint64 (value);
      return TRUE;
    default:
      return FALSE;
  }
}

/**
 * gst_iio_dmabuf_settings_get:
 *
 * Returns: %FALSE if @prop_id is not a shared setting
 */
gboolean
gst_iio_dmabuf_settings_get (const GstIioDmabufSettings * settings,
    guint prop_id, GValue * value)
{
  switch (prop_id) {
    case GST_IIO_DMABUF_PROP_DEVICE:
      g_value_set_string (value, settings->device);
      return TRUE;
    case GST_IIO_DMABUF_PROP_BUFFER:
      g_value_set_uint (value, settings->buffer_index);
      return TRUE;
    case GST_IIO_DMABUF_PROP_CHANNELS:
      g_value_set_string (value, settings->channels);
      return TRUE;
    case GST_IIO_DMABUF_PROP_SAMPLES_PER_BLOCK:
      g_value_set_uint (value, settings->samples_per_block);
      return TRUE;
    case GST_IIO_DMABUF_PROP_NUM_BLOCKS:
      g_value_set_uint (value, settings->num_blocks);
      return TRUE;
    case GST_IIO_DMABUF_PROP_IO_MODE:
      g_value_set_enum (value, settings->io_mode);
      return TRUE;
    case GST_IIO_DMABUF_PROP_DMA_HEAP:
      g_value_set_string (value, settings->dma_heap);
      return TRUE;
    case GST_IIO_DMABUF_PROP_DMABUF_ORIGIN:
      g_value_set_enum (value, settings->dmabuf_origin);
      return TRUE;
    case GST_IIO_DMABUF_PROP_DRM_DEVICE:
      g_value_set_string (value, settings->drm_device);
      return TRUE;
    case GST_IIO_DMABUF_PROP_TIMEOUT:
      g_value_set_uint64 (value, settings->timeout);
      return TRUE;
    default:
      return FALSE;
  }
}

/**
 * gst_iio_dmabuf_settings_settable:
 *
 * Returns: whether @pspec may change now; warns if not. Call with the
 * object lock held.
 */
gboolean
gst_iio_dmabuf_settings_settable (GstElement * element, GParamSpec * pspec)
{
  if (GST_STATE (element) <= GST_STATE_READY
      || !(pspec->flags & GST_PARAM_MUTABLE_READY))
    return TRUE;
  GST_WARNING_OBJECT (element, "%s can only be changed in the NULL or READY "
      "state", pspec->name);
  return FALSE;
}
