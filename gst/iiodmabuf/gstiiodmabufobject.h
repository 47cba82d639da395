/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What iiodmabufsrc and iiodmabufsink share, as GstV4l2Object is for
 * v4l2src and v4l2sink: the settings, the device and the lifecycle of its
 * buffer (open, geometry, I/O mode, length and watermark, rate, enable and
 * disable), read()/write() with one bounded, cancellable wait, and the
 * errors that say what to do. The elements keep only what differs: blocks
 * in (GstIioCapture) or out (GstIioOutQueue), caps and timing.
 */
#ifndef __GST_IIO_DMABUF_OBJECT_H__
#define __GST_IIO_DMABUF_OBJECT_H__

#include <gst/gst.h>

#include "gstiiodmabufsettings.h"
#include "iiodmabuf-device.h"

G_BEGIN_DECLS

typedef struct
{
  GstElement *element;          /* the owner, not a reference */
  gboolean output;

  /* object lock of the element */
  GstIioDmabufSettings settings;  /* the properties */
  gboolean reopen;              /* a device setting changed in READY */
  const gchar *origin;          /* of the DMABUFs: dma-heap, udmabuf, drm,
                                 * none */

  /* streaming thread and state changes */
  GstIioDmabufSettings active;  /* settings taken at open and start */
  GstIioDevice *device;
  GstAllocator *allocator;
  GstPoll *poll;                /* read()/write() waits */
  guint rate;                   /* Hz; 0 if unknown */
  guint scan_bytes;
  gsize block_bytes;
  gboolean use_dmabuf;
  gboolean dma_core;            /* the buffer may be the DMA buffer core's */
  gboolean enabled;
  gboolean warned_copying;      /* that no DMABUF can be had here */
} GstIioDmabufObject;

void gst_iio_dmabuf_object_init (GstIioDmabufObject * obj,
    GstElement * element, gboolean output);
void gst_iio_dmabuf_object_clear (GstIioDmabufObject * obj);

gboolean gst_iio_dmabuf_object_set_property (GstIioDmabufObject * obj,
    guint prop_id, const GValue * value, GParamSpec * pspec);
gboolean gst_iio_dmabuf_object_get_property (GstIioDmabufObject * obj,
    guint prop_id, GValue * value);
void gst_iio_dmabuf_object_stats_io (GstIioDmabufObject * obj,
    const gchar ** io_mode, const gchar ** origin);

gboolean gst_iio_dmabuf_object_open (GstIioDmabufObject * obj);
void gst_iio_dmabuf_object_close (GstIioDmabufObject * obj);
GstStateChangeReturn gst_iio_dmabuf_object_change_state (GstIioDmabufObject *
    obj, GstStateChange transition, GstElementClass * parent_class);

gboolean gst_iio_dmabuf_object_start (GstIioDmabufObject * obj);
gboolean gst_iio_dmabuf_object_configure (GstIioDmabufObject * obj);
gboolean gst_iio_dmabuf_object_use_rw (GstIioDmabufObject * obj);
void gst_iio_dmabuf_object_stop (GstIioDmabufObject * obj);
gboolean gst_iio_dmabuf_object_set_rate (GstIioDmabufObject * obj,
    guint rate);
gboolean gst_iio_dmabuf_object_enable (GstIioDmabufObject * obj);
void gst_iio_dmabuf_object_disable (GstIioDmabufObject * obj);

GstFlowReturn gst_iio_dmabuf_object_transfer (GstIioDmabufObject * obj,
    guint8 * data, gsize size, gsize * done);
void gst_iio_dmabuf_object_set_flushing (GstIioDmabufObject * obj,
    gboolean flushing);

G_END_DECLS

#endif /* __GST_IIO_DMABUF_OBJECT_H__ */
