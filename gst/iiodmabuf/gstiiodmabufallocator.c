/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A GstDmaBufAllocator whose memory comes from a DMA heap, or from udmabuf
 * when the heap cannot be used. The memory stays mapped once mapped, so
 * CPU access costs no mmap/munmap per buffer.
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

  gchar *heap;
  GstIioDmabufOrigin origin;
  gboolean warned;
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
  gchar *problem = NULL;
  gint fd;

  fd = gst_iio_dmabuf_alloc (self->heap, size, &self->origin, &problem, error);
  if (fd < 0)
    return NULL;
  if (problem && !self->warned) {
    GST_WARNING_OBJECT (self, "using %s: %s", GST_IIO_DMABUF_UDMABUF, problem);
    self->warned = TRUE;
  }
  g_free (problem);
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
 * Returns: "dma-heap" or "udmabuf": where the last DMABUF came from
 */
const gchar *
gst_iio_dmabuf_allocator_get_origin (GstAllocator * allocator)
{
  GstIioDmabufAllocator *self = GST_IIO_DMABUF_ALLOCATOR (allocator);

  return self->origin == GST_IIO_DMABUF_ORIGIN_HEAP ? "dma-heap" : "udmabuf";
}

static void
gst_iio_dmabuf_allocator_finalize (GObject * object)
{
  g_free (GST_IIO_DMABUF_ALLOCATOR (object)->heap);
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
 * @heap: (nullable): DMA heap node; %NULL for the system heap
 *
 * Returns: (transfer full): a new allocator
 */
GstAllocator *
gst_iio_dmabuf_allocator_new (const gchar * heap)
{
  GstIioDmabufAllocator *self =
      g_object_new (GST_TYPE_IIO_DMABUF_ALLOCATOR, NULL);

  gst_object_ref_sink (self);
  self->heap = g_strdup (heap ? heap : GST_IIO_DMABUF_DEFAULT_HEAP);
  return GST_ALLOCATOR (self);
}
