/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The settings iiodmabufsrc and iiodmabufsink share, as properties: which
 * device, buffer and channels, block size and count, I/O mode, where
 * the DMABUFs come from (a DMA heap, udmabuf, a DRM device) and timeout.
 */
#ifndef __GST_IIO_DMABUF_SETTINGS_H__
#define __GST_IIO_DMABUF_SETTINGS_H__

#include <gst/gst.h>

#include "gstiiodmabufelements.h"

G_BEGIN_DECLS

typedef struct
{
  gchar *device;
  guint buffer_index;
  gchar *channels;
  guint samples_per_block;
  gboolean samples_per_block_set;       /* by the user, not the default */
  guint num_blocks;
  GstIioDmabufIoMode io_mode;
  gchar *dma_heap;
  GstIioDmabufOrigin dmabuf_origin;
  gchar *drm_device;            /* NULL: the first that has dumb buffers */
  GstClockTime timeout;
} GstIioDmabufSettings;

/* Property ids 1 .. GST_IIO_DMABUF_N_SETTINGS - 1; an element numbers its
 * own from GST_IIO_DMABUF_N_SETTINGS on. */
enum
{
  GST_IIO_DMABUF_PROP_DEVICE = 1,
  GST_IIO_DMABUF_PROP_BUFFER,
  GST_IIO_DMABUF_PROP_CHANNELS,
  GST_IIO_DMABUF_PROP_SAMPLES_PER_BLOCK,
  GST_IIO_DMABUF_PROP_NUM_BLOCKS,
  GST_IIO_DMABUF_PROP_IO_MODE,
  GST_IIO_DMABUF_PROP_DMA_HEAP,
  GST_IIO_DMABUF_PROP_DMABUF_ORIGIN,
  GST_IIO_DMABUF_PROP_DRM_DEVICE,
  GST_IIO_DMABUF_PROP_TIMEOUT,
  GST_IIO_DMABUF_N_SETTINGS
};

/* Device settings: changed in NULL or READY only. */
#define GST_IIO_DMABUF_SETTING (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS \
    | GST_PARAM_MUTABLE_READY)

void gst_iio_dmabuf_settings_init (GstIioDmabufSettings * settings);
void gst_iio_dmabuf_settings_clear (GstIioDmabufSettings * settings);
void gst_iio_dmabuf_settings_copy (GstIioDmabufSettings * dest,
    const GstIioDmabufSettings * src);
void gst_iio_dmabuf_settings_install (GObjectClass * klass, gboolean output);
gboolean gst_iio_dmabuf_settings_set (GstIioDmabufSettings * settings,
    guint prop_id, const GValue * value);
gboolean gst_iio_dmabuf_settings_get (const GstIioDmabufSettings * settings,
    guint prop_id, GValue * value);
gboolean gst_iio_dmabuf_settings_settable (GstElement * element,
    GParamSpec * pspec);

G_END_DECLS

#endif /* __GST_IIO_DMABUF_SETTINGS_H__ */
