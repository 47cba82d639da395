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

/* The caps an element offers, made from its open device (from the thread
 * that opened or configured it). */
typedef GstCaps *(*GstIioDmabufOfferedFunc) (GstElement * element);

/*
 * Locking. The state changes (open, start, stop, close) and the streaming
 * thread (negotiation, blocks) own the device: GStreamer runs them one at
 * a time, so they read and change it without a lock. Any other thread (an
 * application's caps, accept-caps or latency query, another pipeline's
 * streaming thread) reads only what is published under the element's
 * object lock, never the device, which a state change frees or replaces:
 * the offered caps (immutable once published) and the fields marked so
 * below. The object lock is held only to copy or swap them, never across
 * I/O or a wait, and no other lock is taken under it.
 */
typedef struct
{
  GstElement *element;          /* the owner, not a reference */
  gboolean output;
  GstIioDmabufOfferedFunc offered_func;

  /* object lock of the element */
  GstIioDmabufSettings settings;  /* the properties */
  gboolean reopen;              /* a device setting changed in READY */
  const gchar *origin;          /* of the DMABUFs: dma-heap, udmabuf, drm,
                                 * none */
  GstCaps *offered;             /* of the open device; NULL while closed */

  /* streaming thread and state changes; those marked (W) are written
   * under the object lock, for other threads to read under it */
  GstIioDmabufSettings active;  /* settings taken at open and start (W) */
  GstIioDevice *device;         /* (W): non-NULL while open */
  GstAllocator *allocator;
  GstPoll *poll;                /* read()/write() waits */
  guint rate;                   /* Hz; 0 if unknown (W) */
  guint scan_bytes;
  gsize block_bytes;
  gboolean use_dmabuf;
  gboolean dma_core;            /* the buffer may be the DMA buffer core's */
  gboolean enabled;
  gboolean warned_copying;      /* that no DMABUF can be had here */
} GstIioDmabufObject;

void gst_iio_dmabuf_object_init (GstIioDmabufObject * obj,
    GstElement * element, gboolean output,
    GstIioDmabufOfferedFunc offered_func);
void gst_iio_dmabuf_object_clear (GstIioDmabufObject * obj);

gboolean gst_iio_dmabuf_object_set_property (GstIioDmabufObject * obj,
    guint prop_id, const GValue * value, GParamSpec * pspec);
gboolean gst_iio_dmabuf_object_get_property (GstIioDmabufObject * obj,
    guint prop_id, GValue * value);
void gst_iio_dmabuf_object_stats_io (GstIioDmabufObject * obj,
    const gchar ** io_mode, const gchar ** origin);

GstCaps *gst_iio_dmabuf_object_offered_caps (GstIioDmabufObject * obj,
    const GValue * rates, gboolean fewer);
void gst_iio_dmabuf_object_update_offered (GstIioDmabufObject * obj);
GstCaps *gst_iio_dmabuf_object_get_offered (GstIioDmabufObject * obj);
void gst_iio_dmabuf_object_read_rate (GstIioDmabufObject * obj);

gboolean gst_iio_dmabuf_object_open (GstIioDmabufObject * obj);
void gst_iio_dmabuf_object_close (GstIioDmabufObject * obj);
GstStateChangeReturn gst_iio_dmabuf_object_change_state (GstIioDmabufObject *
    obj, GstStateChange transition, GstElementClass * parent_class);

gboolean gst_iio_dmabuf_object_start (GstIioDmabufObject * obj);
gboolean gst_iio_dmabuf_object_configure (GstIioDmabufObject * obj);
gboolean gst_iio_dmabuf_object_reconfigure (GstIioDmabufObject * obj);
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
