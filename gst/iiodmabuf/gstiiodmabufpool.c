/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A buffer pool of IIO blocks for capture. Every buffer is a DMABUF attached
 * to the IIO buffer. Acquiring dequeues: it waits (bounded, cancellable) for
 * the oldest queued block's fence. Releasing, which happens when downstream
 * drops the buffer, queues the block to the kernel again.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstiiodmabufpool.h"
#include "gstiiodmabufallocator.h"
#include "iiodmabuf-dmabuf.h"

#include <gst/allocators/allocators.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

GST_DEBUG_CATEGORY_STATIC (gst_iio_dmabuf_pool_debug);
#define GST_CAT_DEFAULT gst_iio_dmabuf_pool_debug

/* What the pool knows of each buffer's block (qdata on the buffer). */
typedef struct
{
  gint dmabuf_fd;
  gint sync_fd;                 /* fence of the queued transfer, or -1 */
  gint error;                   /* negative errno once the block failed */
} GstIioBlock;

struct _GstIioDmabufPool
{
  GstBufferPool parent;

  GstAllocator *allocator;
  gint buffer_fd;
  GstClockTime timeout;
  GstPoll *poll;
  gsize block_bytes;
  guint num_blocks;

  GMutex lock;
  GCond released;
  GQueue queued;                /* buffers in the kernel, in enqueue order */
  GQueue idle;                  /* attached, not queued */
  gboolean flushing;
  GError *error;
  gint last_block_error;
};

G_DEFINE_TYPE_WITH_CODE (GstIioDmabufPool, gst_iio_dmabuf_pool,
    GST_TYPE_BUFFER_POOL,
    GST_DEBUG_CATEGORY_INIT (gst_iio_dmabuf_pool_debug, "iiodmabufpool", 0,
        "IIO DMABUF block pool"));

static GQuark block_quark;

static GstIioBlock *
get_block (GstBuffer * buffer)
{
  return gst_mini_object_get_qdata (GST_MINI_OBJECT (buffer), block_quark);
}

static void
set_error (GstIioDmabufPool * self, GError * error)
{
  g_clear_error (&self->error);
  self->error = error;
}

/* --- the kernel side ------------------------------------------------------ */

static void close_sync_fd (GstIioBlock * block);

/* Re-attaching frees a block the kernel kept busy after a failed submit. */
static void
recover_block (GstIioDmabufPool * self, GstIioBlock * block)
{
  close_sync_fd (block);
  gst_iio_block_detach (self->buffer_fd, block->dmabuf_fd);
  if (!gst_iio_block_attach (self->buffer_fd, block->dmabuf_fd, NULL))
    GST_WARNING_OBJECT (self, "could not re-attach DMABUF %d",
        block->dmabuf_fd);
}

/* Queues a block; a failure shows when the block reaches the head. Called
 * with the lock held. */
static void
enqueue_block (GstIioDmabufPool * self, GstBuffer * buffer)
{
  GstIioBlock *block = get_block (buffer);
  GError *error = NULL;
  gint code = 0;

  block->error = 0;
  block->sync_fd = gst_iio_block_enqueue (self->buffer_fd, block->dmabuf_fd,
      self->block_bytes, FALSE, &error);
  if (block->sync_fd < 0) {
    GST_WARNING_OBJECT (self, "%s", error->message);
    block->error = -EIO;
    g_error_free (error);
  } else if (gst_iio_fence_state (block->sync_fd, &code) != GST_IIO_FENCE_PENDING) {
    /* signalled at once: the transfer never started, its data is stale */
    GST_WARNING_OBJECT (self, "block on DMABUF %d was never transferred",
        block->dmabuf_fd);
    block->error = code ? code : -EIO;
    recover_block (self, block);
  }
  g_queue_push_tail (&self->queued, buffer);
}

static void
close_sync_fd (GstIioBlock * block)
{
  if (block->sync_fd >= 0)
    close (block->sync_fd);
  block->sync_fd = -1;
}

/* Waits for the fence of the block at the head of the queue, unlocked. */
static GstFlowReturn
wait_head (GstIioDmabufPool * self, GstIioBlock * block)
{
  GstPollFD pfd = GST_POLL_FD_INIT;
  gint ret;

  if (block->error || block->sync_fd < 0)
    return GST_FLOW_OK;
  pfd.fd = block->sync_fd;
  gst_poll_add_fd (self->poll, &pfd);
  gst_poll_fd_ctl_read (self->poll, &pfd, TRUE);
  g_mutex_unlock (&self->lock);
  do {
    ret = gst_poll_wait (self->poll, self->timeout);
  } while (ret < 0 && (errno == EINTR || errno == EAGAIN));
  g_mutex_lock (&self->lock);
  gst_poll_remove_fd (self->poll, &pfd);

  if (self->flushing || (ret < 0 && errno == EBUSY))
    return GST_FLOW_FLUSHING;
  if (ret == 0) {
    set_error (self, g_error_new (GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_READ,
            "No block completed within %" GST_TIME_FORMAT ": the converter "
            "is stalled or not clocked (check its clock and trigger), or "
            "raise timeout", GST_TIME_ARGS (self->timeout)));
    return GST_FLOW_ERROR;
  }
  gst_iio_fence_state (block->sync_fd, &block->error);
  return GST_FLOW_OK;
}

/* Waits until downstream gives a block back, when it holds them all. */
static GstFlowReturn
wait_released (GstIioDmabufPool * self)
{
  gint64 end = g_get_monotonic_time () + self->timeout / GST_USECOND;

  while (!self->flushing && g_queue_is_empty (&self->queued)) {
    if (!g_cond_wait_until (&self->released, &self->lock, end)) {
      set_error (self, g_error_new (GST_RESOURCE_ERROR,
              GST_RESOURCE_ERROR_READ, "Downstream held every block for %"
              GST_TIME_FORMAT ": raise num-blocks or release buffers sooner",
              GST_TIME_ARGS (self->timeout)));
      return GST_FLOW_ERROR;
    }
  }
  return self->flushing ? GST_FLOW_FLUSHING : GST_FLOW_OK;
}

/* --- GstBufferPool -------------------------------------------------------- */

static gboolean
gst_iio_dmabuf_pool_set_config (GstBufferPool * pool, GstStructure * config)
{
  GstIioDmabufPool *self = GST_IIO_DMABUF_POOL (pool);
  guint size, min, max;
  GstCaps *caps;

  if (!gst_buffer_pool_config_get_params (config, &caps, &size, &min, &max)
      || size == 0 || min < 2)
    return FALSE;
  self->block_bytes = size;
  self->num_blocks = min;
  gst_buffer_pool_config_set_params (config, caps, size, min, min);
  return GST_BUFFER_POOL_CLASS (gst_iio_dmabuf_pool_parent_class)->set_config
      (pool, config);
}

static void
free_block (gpointer data)
{
  GstIioBlock *block = data;

  close_sync_fd (block);
  g_free (block);
}

static GstFlowReturn
gst_iio_dmabuf_pool_alloc_buffer (GstBufferPool * pool, GstBuffer ** buffer,
    GstBufferPoolAcquireParams * params)
{
  GstIioDmabufPool *self = GST_IIO_DMABUF_POOL (pool);
  GError *error = NULL;
  GstIioBlock *block;
  GstMemory *mem;

  mem = gst_iio_dmabuf_allocator_alloc_block (self->allocator,
      self->block_bytes, &error);
  if (!mem)
    goto failed;
  block = g_new0 (GstIioBlock, 1);
  block->dmabuf_fd = gst_dmabuf_memory_get_fd (mem);
  block->sync_fd = -1;
  *buffer = gst_buffer_new ();
  gst_buffer_append_memory (*buffer, mem);
  GST_BUFFER_FLAG_UNSET (*buffer, GST_BUFFER_FLAG_TAG_MEMORY);
  gst_mini_object_set_qdata (GST_MINI_OBJECT (*buffer), block_quark, block,
      free_block);
  if (gst_iio_block_attach (self->buffer_fd, block->dmabuf_fd, &error))
    return GST_FLOW_OK;
  gst_buffer_unref (*buffer);
  *buffer = NULL;

failed:
  set_error (self, error);
  return GST_FLOW_NOT_SUPPORTED;
}

static void
gst_iio_dmabuf_pool_free_buffer (GstBufferPool * pool, GstBuffer * buffer)
{
  GstIioDmabufPool *self = GST_IIO_DMABUF_POOL (pool);
  GstIioBlock *block = get_block (buffer);

  /* Linux 6.12 keeps an IIO fence's lock in the attachment: a sync_file
   * closed after the detach touches freed memory (and can hang) */
  close_sync_fd (block);
  gst_iio_block_detach (self->buffer_fd, block->dmabuf_fd);
  gst_buffer_unref (buffer);
}

/* Attaches every block, then queues them all: in that order (see the
 * kernel notes in iiodmabuf-dmabuf.c). */
static gboolean
gst_iio_dmabuf_pool_start (GstBufferPool * pool)
{
  GstIioDmabufPool *self = GST_IIO_DMABUF_POOL (pool);
  GstBuffer *buffer;
  guint i;

  for (i = 0; i < self->num_blocks; i++) {
    if (gst_iio_dmabuf_pool_alloc_buffer (pool, &buffer, NULL) != GST_FLOW_OK)
      goto failed;
    g_queue_push_tail (&self->idle, buffer);
  }
  g_mutex_lock (&self->lock);
  self->flushing = FALSE;
  while ((buffer = g_queue_pop_head (&self->idle)))
    enqueue_block (self, buffer);
  g_mutex_unlock (&self->lock);
  GST_DEBUG_OBJECT (self, "%u blocks of %" G_GSIZE_FORMAT " bytes queued",
      self->num_blocks, self->block_bytes);
  return TRUE;

failed:
  while ((buffer = g_queue_pop_head (&self->idle)))
    gst_iio_dmabuf_pool_free_buffer (pool, buffer);
  return FALSE;
}

static gboolean
gst_iio_dmabuf_pool_stop (GstBufferPool * pool)
{
  GstIioDmabufPool *self = GST_IIO_DMABUF_POOL (pool);
  GstBuffer *buffer;

  g_mutex_lock (&self->lock);
  while ((buffer = g_queue_pop_head (&self->queued)))
    g_queue_push_tail (&self->idle, buffer);
  g_mutex_unlock (&self->lock);
  while ((buffer = g_queue_pop_head (&self->idle)))
    gst_iio_dmabuf_pool_free_buffer (pool, buffer);
  return TRUE;
}

static GstFlowReturn
gst_iio_dmabuf_pool_acquire_buffer (GstBufferPool * pool, GstBuffer ** buffer,
    GstBufferPoolAcquireParams * params)
{
  GstIioDmabufPool *self = GST_IIO_DMABUF_POOL (pool);
  GstFlowReturn ret;
  GstIioBlock *block;
  GstBuffer *head;

  g_mutex_lock (&self->lock);
  ret = wait_released (self);
  if (ret != GST_FLOW_OK)
    goto out;
  head = g_queue_peek_head (&self->queued);
  block = get_block (head);
  ret = wait_head (self, block);
  if (ret != GST_FLOW_OK || g_queue_peek_head (&self->queued) != head)
    goto out;

  g_queue_pop_head (&self->queued);
  close_sync_fd (block);
  if (block->error) {
    self->last_block_error = block->error;
    enqueue_block (self, head);
    ret = GST_IIO_DMABUF_FLOW_BLOCK_FAILED;
  } else {
    *buffer = head;
  }
out:
  g_mutex_unlock (&self->lock);
  return ret;
}

static void
gst_iio_dmabuf_pool_release_buffer (GstBufferPool * pool, GstBuffer * buffer)
{
  GstIioDmabufPool *self = GST_IIO_DMABUF_POOL (pool);

  /* downstream may have resized it; a block always moves whole */
  gst_buffer_resize (buffer, 0, self->block_bytes);
  GST_BUFFER_FLAGS (buffer) = 0;
  g_mutex_lock (&self->lock);
  if (self->flushing || !gst_buffer_pool_is_active (pool))
    g_queue_push_tail (&self->idle, buffer);
  else
    enqueue_block (self, buffer);
  g_cond_broadcast (&self->released);
  g_mutex_unlock (&self->lock);
}

static void
gst_iio_dmabuf_pool_flush_start (GstBufferPool * pool)
{
  GstIioDmabufPool *self = GST_IIO_DMABUF_POOL (pool);

  g_mutex_lock (&self->lock);
  self->flushing = TRUE;
  gst_poll_set_flushing (self->poll, TRUE);
  g_cond_broadcast (&self->released);
  g_mutex_unlock (&self->lock);
}

static void
gst_iio_dmabuf_pool_flush_stop (GstBufferPool * pool)
{
  GstIioDmabufPool *self = GST_IIO_DMABUF_POOL (pool);

  g_mutex_lock (&self->lock);
  self->flushing = FALSE;
  gst_poll_set_flushing (self->poll, FALSE);
  g_mutex_unlock (&self->lock);
}

/* --- public --------------------------------------------------------------- */

/**
 * gst_iio_dmabuf_pool_n_queued:
 * @pool: a pool
 *
 * Returns: how many blocks the kernel has to fill now.
 */
guint
gst_iio_dmabuf_pool_n_queued (GstIioDmabufPool * pool)
{
  guint n;

  g_mutex_lock (&pool->lock);
  n = g_queue_get_length (&pool->queued);
  g_mutex_unlock (&pool->lock);
  return n;
}

/**
 * gst_iio_dmabuf_pool_take_error:
 * @pool: a pool
 *
 * Returns: (transfer full) (nullable): why the last call failed
 */
GError *
gst_iio_dmabuf_pool_take_error (GstIioDmabufPool * pool)
{
  GError *error;

  g_mutex_lock (&pool->lock);
  error = pool->error;
  pool->error = NULL;
  g_mutex_unlock (&pool->lock);
  return error;
}

/**
 * gst_iio_dmabuf_pool_last_block_error:
 * @pool: a pool
 *
 * Returns: the negative errno of the last block that failed
 */
gint
gst_iio_dmabuf_pool_last_block_error (GstIioDmabufPool * pool)
{
  return pool->last_block_error;
}

static void
gst_iio_dmabuf_pool_finalize (GObject * object)
{
  GstIioDmabufPool *self = GST_IIO_DMABUF_POOL (object);

  gst_object_unref (self->allocator);
  gst_poll_free (self->poll);
  if (self->buffer_fd >= 0)
    close (self->buffer_fd);
  g_clear_error (&self->error);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->released);
  G_OBJECT_CLASS (gst_iio_dmabuf_pool_parent_class)->finalize (object);
}

static void
gst_iio_dmabuf_pool_class_init (GstIioDmabufPoolClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstBufferPoolClass *pool_class = GST_BUFFER_POOL_CLASS (klass);

  block_quark = g_quark_from_static_string ("GstIioBlock");
  gobject_class->finalize = gst_iio_dmabuf_pool_finalize;
  pool_class->set_config = GST_DEBUG_FUNCPTR (gst_iio_dmabuf_pool_set_config);
  pool_class->start = GST_DEBUG_FUNCPTR (gst_iio_dmabuf_pool_start);
  pool_class->stop = GST_DEBUG_FUNCPTR (gst_iio_dmabuf_pool_stop);
  pool_class->alloc_buffer =
      GST_DEBUG_FUNCPTR (gst_iio_dmabuf_pool_alloc_buffer);
  pool_class->free_buffer = GST_DEBUG_FUNCPTR (gst_iio_dmabuf_pool_free_buffer);
  pool_class->acquire_buffer =
      GST_DEBUG_FUNCPTR (gst_iio_dmabuf_pool_acquire_buffer);
  pool_class->release_buffer =
      GST_DEBUG_FUNCPTR (gst_iio_dmabuf_pool_release_buffer);
  pool_class->flush_start = GST_DEBUG_FUNCPTR (gst_iio_dmabuf_pool_flush_start);
  pool_class->flush_stop = GST_DEBUG_FUNCPTR (gst_iio_dmabuf_pool_flush_stop);
}

static void
gst_iio_dmabuf_pool_init (GstIioDmabufPool * self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->released);
  g_queue_init (&self->queued);
  g_queue_init (&self->idle);
  self->poll = gst_poll_new (TRUE);
  self->buffer_fd = -1;
}

/**
 * gst_iio_dmabuf_pool_new:
 * @allocator: a #GstIioDmabufAllocator
 * @buffer_fd: the IIO buffer fd the blocks are attached to (duplicated)
 * @timeout: how long acquiring waits for a block
 *
 * Returns: (transfer full): a pool; configure it with the block size and
 * the number of blocks (min = max)
 */
GstBufferPool *
gst_iio_dmabuf_pool_new (GstAllocator * allocator, gint buffer_fd,
    GstClockTime timeout)
{
  GstIioDmabufPool *self = g_object_new (GST_TYPE_IIO_DMABUF_POOL, NULL);

  gst_object_ref_sink (self);
  self->allocator = gst_object_ref (allocator);
  /* our own fd: blocks are detached when the last buffer comes back, which
   * may be after the element closed its own */
  self->buffer_fd = fcntl (buffer_fd, F_DUPFD_CLOEXEC, 0);
  self->timeout = timeout;
  return GST_BUFFER_POOL (self);
}
