/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A GstDmaBufAllocator whose memory comes from a DMA heap, udmabuf or a
 * DRM device's dumb buffers (see GstIioDmabufSource). The memory stays
 * mapped once mapped, so CPU access costs no mmap/munmap per buffer.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstiiodmabufallocator.h"
#include "iiodmabuf-dmabuf.h"

GST_DEBUG_CATEGORY_STATIC (gst_iio_dmabuf_allocator_debug);
#define GST_CAT_DEFAULT gst_iio_dmabuf_allocator_debug

struct _GstIioDmabufAllocator
{
  GstDmaBufAllocator parent;

  GstIioDmabufSource *source;
};

G_DEFINE_TYPE_WITH_CODE (GstIioDmabufAllocator, gst_iio_dmabuf_allocator,
    GST_TYPE_DMABUF_ALLOCATOR,
    GST_DEBUG_CATEGORY_INIT (gst_iio_dmabuf_allocator_debug,
        "iiodmabufallocator", 0, "IIO DMABUF allocator"));

/**
 * gst_iio_dmabuf_allocator_alloc_block:
 * @allocator: a #GstIioDmabufAllocator
 * @size: bytes
 * @error: (nullable): why no DMABUF could be had, and what to do
 *
 * Returns: (transfer full) (nullable): a GstDmaBufMemory of @size bytes
 */
GstMemory *
gst_iio_dmabuf_allocator_alloc_block (GstAllocator * allocator, gsize size,
    GError ** error)
{
  GstIioDmabufAllocator *self = GST_IIO_DMABUF_ALLOCATOR (allocator);
  gchar *passed_over;
  gint fd;

  fd = gst_iio_dmabuf_source_alloc (self->source, size, error);
  if (fd < 0)
    return NULL;
  /* once, at the first DMABUF */
  passed_over = gst_iio_dmabuf_source_take_passed_over (self->source);
  if (passed_over)
    GST_WARNING_OBJECT (self, "DMABUFs from %s: %s",
        gst_iio_dmabuf_origin_name (gst_iio_dmabuf_source_get_origin
            (self->source)), passed_over);
  g_free (passed_over);
  return gst_dmabuf_allocator_alloc_with_flags (allocator, fd, size,
      GST_FD_MEMORY_FLAG_KEEP_MAPPED);
}

static GstMemory *
gst_iio_dmabuf_allocator_alloc (GstAllocator * allocator, gsize size,
    GstAllocationParams * params)
{
  GError *error = NULL;
  GstMemory *mem;

  mem = gst_iio_dmabuf_allocator_alloc_block (allocator, size, &error);
  if (!mem) {
    GST_ERROR_OBJECT (allocator, "%s", error->message);
    g_error_free (error);
  }
  return mem;
}

/**
 * gst_iio_dmabuf_allocator_get_origin:
 * @allocator: a #GstIioDmabufAllocator
 *
 * Returns: "dma-heap", "udmabuf" or "drm": where the DMABUFs come from
 *     ("auto" before the first)
 */
const gchar *
gst_iio_dmabuf_allocator_get_origin (GstAllocator * allocator)
{
  GstIioDmabufAllocator *self = GST_IIO_DMABUF_ALLOCATOR (allocator);

  return gst_iio_dmabuf_origin_name (gst_iio_dmabuf_source_get_origin
      (self->source));
}

static void
gst_iio_dmabuf_allocator_finalize (GObject * object)
{
  g_clear_pointer (&GST_IIO_DMABUF_ALLOCATOR (object)->source,
      gst_iio_dmabuf_source_free);
  G_OBJECT_CLASS (gst_iio_dmabuf_allocator_parent_class)->finalize (object);
}

static void
gst_iio_dmabuf_allocator_class_init (GstIioDmabufAllocatorClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstAllocatorClass *allocator_class = GST_ALLOCATOR_CLASS (klass);

  gobject_class->finalize = gst_iio_dmabuf_allocator_finalize;
  allocator_class->alloc = GST_DEBUG_FUNCPTR (gst_iio_dmabuf_allocator_alloc);
}

static void
gst_iio_dmabuf_allocator_init (GstIioDmabufAllocator * self)
{
  /* a plain allocator for pools: gst_allocator_alloc() reaches alloc() */
  GST_OBJECT_FLAG_UNSET (self, GST_ALLOCATOR_FLAG_CUSTOM_ALLOC);
}

/**
 * gst_iio_dmabuf_allocator_new:
 * @origin: where the DMABUFs come from (AUTO: a DMA heap, else udmabuf,
 *     else a DRM device)
 * @heap: (nullable): DMA heap name or node; %NULL for the system heap
 * @drm_device: (nullable): DRM node for dumb buffers; %NULL: the first
 *     that makes them
 *
 * Returns: (transfer full): a new allocator
 */
GstAllocator *
gst_iio_dmabuf_allocator_new (GstIioDmabufOrigin origin, const gchar * heap,
    const gchar * drm_device)
{
  GstIioDmabufAllocator *self =
      g_object_new (GST_TYPE_IIO_DMABUF_ALLOCATOR, NULL);

  gst_object_ref_sink (self);
  self->source = gst_iio_dmabuf_source_new (origin, heap, drm_device);
  return GST_ALLOCATOR (self);
}
