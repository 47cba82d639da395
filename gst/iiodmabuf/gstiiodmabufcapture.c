/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The blocks of an IIO input buffer, each a DMABUF memory attached to it.
 *
 * A block goes back to the kernel from its memory's dispose, as
 * gstv4l2codecallocator.c does: only when nothing (buffer, sub-buffer,
 * payloader, application) can still read it. While the capture runs, the
 * memory is kept alive and enqueued again; once stopped, a block that
 * comes back is simply freed, so an application may hold buffers across
 * a stop and a restart. The capture itself is reference-counted: every
 * live block holds it.
 *
 * Locking: one mutex, never held while calling into GStreamer objects
 * other than the memories themselves.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstiiodmabufcapture.h"
#include "gstiiodmabufallocator.h"
#include "iiodmabuf-device.h"
#include "iiodmabuf-dmabuf.h"

#include <gst/allocators/allocators.h>
#include <errno.h>
#include <unistd.h>

GST_DEBUG_CATEGORY_STATIC (gst_iio_capture_debug);
#define GST_CAT_DEFAULT gst_iio_capture_debug

typedef struct
{
  GstMemory *mem;
  GstIioCapture *capture;       /* a reference, for as long as mem lives */
  gint dmabuf_fd;
  gint sync_fd;                 /* fence of the queued transfer, or -1 */
  gint error;                   /* negative errno once the transfer failed */
  gint64 queued_us;             /* g_get_monotonic_time() at the enqueue */
  gint64 exported_us;           /* ... and once its fence was exported */
  gboolean never_ran;           /* its submit failed: no converter time */
} GstIioBlock;

struct _GstIioCapture
{
  gint buffer_fd;
  gsize block_bytes;
  gint64 block_us;
  GstClockTime timeout;
  GstPoll *poll;

  GMutex lock;
  GCond returned;
  guint waiting;                /* threads waiting for a block to return */
  GQueue queued;                /* GstIioBlock in the kernel, oldest first */
  GQueue idle;                  /* attached, not queued yet */
  GPtrArray *attached;          /* every GstIioBlock still attached */
  gboolean running;
  gboolean flushing;
  gint64 last_done_ns;          /* when the last dequeued block completed */
};

static GQuark block_quark;

static void
init_debug (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done)) {
    GST_DEBUG_CATEGORY_INIT (gst_iio_capture_debug, "iiodmabufcapture", 0,
        "Blocks of an IIO input buffer");
    block_quark = g_quark_from_static_string ("GstIioCaptureBlock");
    g_once_init_leave (&done, 1);
  }
}

static void
capture_clear (GstIioCapture * capture)
{
  gst_poll_free (capture->poll);
  g_ptr_array_unref (capture->attached);
  g_mutex_clear (&capture->lock);
  g_cond_clear (&capture->returned);
}

static void
capture_unref (GstIioCapture * capture)
{
  g_atomic_rc_box_release_full (capture, (GDestroyNotify) capture_clear);
}

static void
close_sync_fd (GstIioBlock * block)
{
  if (block->sync_fd >= 0)
    close (block->sync_fd);
  block->sync_fd = -1;
}

/* --- the kernel side ------------------------------------------------------ */

/* Queues a block; a failure shows when it reaches the head. Lock held.
 * Per block: ENQUEUE and the fence's export, nothing more. */
static void
enqueue_block (GstIioCapture * capture, GstIioBlock * block)
{
  GError *error = NULL;
  gint64 queued_at = 0;

  block->error = 0;
  block->never_ran = FALSE;
  g_queue_push_tail (&capture->queued, block);
  /* a stuck block is re-attached only while the buffer runs: an attach
   * drops the blocks queued to a disabled one */
  block->sync_fd = gst_iio_block_enqueue (capture->buffer_fd,
      block->dmabuf_fd, capture->block_bytes, FALSE, capture->running,
      &queued_at, &error);
  block->queued_us = queued_at;
  block->exported_us = g_get_monotonic_time ();
  if (block->sync_fd < 0) {
    GST_WARNING ("%s", error->message);
    block->error = -EIO;
    block->never_ran = TRUE;
    g_error_free (error);
  }
}

/* --- blocks coming home --------------------------------------------------- */

/* The memory's last reference is gone. While running, the block is kept
 * and queued again; after a stop it is freed (its qdata lets go of the
 * capture). */
static gboolean
block_returned (GstMiniObject * obj)
{
  GstMemory *mem = GST_MEMORY_CAST (obj);
  GstIioBlock *block = gst_mini_object_get_qdata (obj, block_quark);
  GstIioCapture *capture = block->capture;
  gboolean keep;

  g_mutex_lock (&capture->lock);
  keep = capture->running;
  if (keep) {
    gst_memory_ref (mem);
    /* downstream may have resized it; a block always moves whole */
    gst_memory_resize (mem, -(gssize) mem->offset, capture->block_bytes);
    enqueue_block (capture, block);
    /* a futex call per block saved when nobody waits */
    if (capture->waiting)
      g_cond_broadcast (&capture->returned);
  } else if (g_ptr_array_remove_fast (capture->attached, block)) {
    /* halted, not stopped yet: the block is freed now, detached first */
    close_sync_fd (block);
    gst_iio_block_detach (capture->buffer_fd, block->dmabuf_fd);
  }
  g_mutex_unlock (&capture->lock);
  return !keep;
}

static void
free_block (gpointer data)
{
  GstIioBlock *block = data;

  close_sync_fd (block);
  capture_unref (block->capture);
  g_free (block);
}

static GstIioBlock *
new_block (GstIioCapture * capture, GstAllocator * allocator, GError ** error)
{
  GstMemory *mem;
  GstIioBlock *block;

  mem = gst_iio_dmabuf_allocator_alloc_block (allocator,
      capture->block_bytes, error);
  if (!mem)
    return NULL;
  block = g_new0 (GstIioBlock, 1);
  block->mem = mem;
  block->capture = g_atomic_rc_box_acquire (capture);
  block->dmabuf_fd = gst_dmabuf_memory_get_fd (mem);
  block->sync_fd = -1;
  gst_mini_object_set_qdata (GST_MINI_OBJECT_CAST (mem), block_quark, block,
      free_block);
  GST_MINI_OBJECT_CAST (mem)->dispose = block_returned;
  return block;
}

/* --- public --------------------------------------------------------------- */

/**
 * gst_iio_capture_new:
 * @allocator: a #GstIioDmabufAllocator
 * @buffer_fd: the IIO input buffer fd, disabled; it must stay open until
 *     gst_iio_capture_stop()
 * @block_bytes: the size of a block
 * @n_blocks: how many
 * @block_duration: how long the converter takes to fill one; 0 if unknown
 * @timeout: how long a dequeue waits
 * @error: why the blocks could not be allocated or attached
 *
 * Allocates @n_blocks DMABUFs and attaches every one (all before the first
 * is queued: in Linux 6.12 an attach drops the blocks queued to a disabled
 * buffer). None is queued yet: see gst_iio_capture_queue_all().
 *
 * Returns: (transfer full) (nullable): the capture
 */
GstIioCapture *
gst_iio_capture_new (GstAllocator * allocator, gint buffer_fd,
    gsize block_bytes, guint n_blocks, GstClockTime block_duration,
    GstClockTime timeout, GError ** error)
{
  GstIioCapture *capture = g_atomic_rc_box_new0 (GstIioCapture);
  GstIioBlock *block;
  guint i;

  init_debug ();
  capture->buffer_fd = buffer_fd;
  capture->block_bytes = block_bytes;
  capture->block_us = GST_CLOCK_TIME_IS_VALID (block_duration) ?
      block_duration / GST_USECOND : 0;
  capture->timeout = timeout;
  capture->poll = gst_poll_new (TRUE);
  capture->attached = g_ptr_array_new ();
  g_mutex_init (&capture->lock);
  g_cond_init (&capture->returned);

  for (i = 0; i < n_blocks; i++) {
    block = new_block (capture, allocator, error);
    if (!block)
      goto failed;
    g_queue_push_tail (&capture->idle, block);
    if (i == 0)
      gst_iio_fence_date_stub (block->dmabuf_fd);
    if (!gst_iio_block_attach (buffer_fd, block->dmabuf_fd, error))
      goto failed;
    g_ptr_array_add (capture->attached, block);
  }
  GST_DEBUG ("%u blocks of %" G_GSIZE_FORMAT " bytes attached", n_blocks,
      block_bytes);
  return capture;

failed:
  gst_iio_capture_stop (capture);
  return NULL;
}

/**
 * gst_iio_capture_queue_all:
 * @capture: a capture
 * @error: why a block could not be queued
 *
 * Queues every idle block; call just before enabling the buffer (blocks
 * queued to a buffer that is never enabled keep their fences pending).
 */
gboolean
gst_iio_capture_queue_all (GstIioCapture * capture, GError ** error)
{
  GstIioBlock *block;
  gboolean ok = TRUE;

  g_mutex_lock (&capture->lock);
  capture->last_done_ns = -1;   /* all start together: none waited */
  while ((block = g_queue_pop_head (&capture->idle))) {
    enqueue_block (capture, block);
    if (block->sync_fd < 0 && ok) {
      g_set_error (error, GST_IIO_DEVICE_ERROR, GST_IIO_DEVICE_ERROR_IO,
          "Cannot queue a block of %" G_GSIZE_FORMAT " bytes to the IIO "
          "buffer", capture->block_bytes);
      ok = FALSE;
    }
  }
  capture->running = TRUE;
  g_mutex_unlock (&capture->lock);
  return ok;
}

/* Waits, lock held, until downstream gives a block back. */
static GstFlowReturn
wait_returned (GstIioCapture * capture, GError ** error)
{
  gint64 end = g_get_monotonic_time () + capture->timeout / GST_USECOND;

  while (!capture->flushing && g_queue_is_empty (&capture->queued)) {
    gboolean woken;

    capture->waiting++;
    woken = g_cond_wait_until (&capture->returned, &capture->lock, end);
    capture->waiting--;
    /* a block may come back just as the time is up */
    if (woken || capture->flushing || !g_queue_is_empty (&capture->queued))
      continue;
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_READ,
        "Downstream held every block for %" GST_TIME_FORMAT ": raise "
        "num-blocks or release buffers sooner", GST_TIME_ARGS
        (capture->timeout));
    return GST_FLOW_ERROR;
  }
  return capture->flushing ? GST_FLOW_FLUSHING : GST_FLOW_OK;
}

/* Waits, unlocked, for the fence of the block at the head. */
static GstFlowReturn
wait_head (GstIioCapture * capture, GstIioBlock * block, GError ** error)
{
  GstPollFD pfd = GST_POLL_FD_INIT;
  gint ret, err;

  if (block->error || block->sync_fd < 0)
    return GST_FLOW_OK;
  pfd.fd = block->sync_fd;
  gst_poll_add_fd (capture->poll, &pfd);
  gst_poll_fd_ctl_read (capture->poll, &pfd, TRUE);
  g_mutex_unlock (&capture->lock);
  do {
    ret = gst_poll_wait (capture->poll, capture->timeout);
    err = errno;
  } while (ret < 0 && (err == EINTR || err == EAGAIN));
  g_mutex_lock (&capture->lock);
  gst_poll_remove_fd (capture->poll, &pfd);

  if (capture->flushing || (ret < 0 && err == EBUSY))
    return GST_FLOW_FLUSHING;
  if (ret > 0 && gst_poll_fd_has_error (capture->poll, &pfd))
    ret = -1;
  if (ret > 0)
    return GST_FLOW_OK;
  g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_READ, ret == 0 ?
      "No block completed within %" GST_TIME_FORMAT ": the converter is "
      "stalled or not clocked (check its clock and trigger), or raise "
      "timeout" : "Waiting for a block failed after %" GST_TIME_FORMAT
      ": the device may have gone", GST_TIME_ARGS (capture->timeout));
  return GST_FLOW_ERROR;
}

/* A fence already signalled when it was exported (a stub): a failed
 * submit, or a block that completed before the export, while this thread
 * was preempted. Blocks complete in order, so one that completed after
 * this export (the block before) was still pending then. Lock held. */
static void
check_stub (GstIioCapture * capture, GstIioBlock * head, gint code)
{
  gint64 exported_ns = head->exported_us * 1000;

  if (!gst_iio_block_never_transferred (head->exported_us - head->queued_us,
          capture->block_us, capture->last_done_ns > exported_ns)) {
    GST_LOG ("block on DMABUF %d completed before its fence was exported",
        head->dmabuf_fd);
    return;
  }
  GST_WARNING ("block on DMABUF %d was never transferred", head->dmabuf_fd);
  head->error = code ? code : -EIO;
  head->never_ran = TRUE;
}

/* The head's state (a failed submit is found here) and when it was queued
 * and completed, and when the block before it completed. Lock held. */
static void
time_head (GstIioCapture * capture, GstIioBlock * head,
    GstIioCaptureTimes * times)
{
  GstIioFenceState state = GST_IIO_FENCE_FAILED;
  gint code = 0;

  times->queued_ns = head->queued_us * 1000;
  times->previous_done_ns = capture->last_done_ns;
  times->done_ns = -1;
  if (!head->never_ran)
    state = gst_iio_fence_read (head->sync_fd, times->queued_ns, &code,
        &times->done_ns);
  if (state == GST_IIO_FENCE_STUB)
    check_stub (capture, head, code);
  else if (state == GST_IIO_FENCE_FAILED && !head->error)
    head->error = code ? code : -EIO;
  times->ran = !head->never_ran;
  /* a block that never ran took no converter time: the next one follows
   * the block before */
  if (!head->never_ran)
    capture->last_done_ns = times->done_ns;
}

/**
 * gst_iio_capture_dequeue:
 * @capture: a running capture
 * @block: (out) (transfer full): the oldest block, once complete
 * @times: (out): when it was queued and completed, and when the block
 *     before it completed
 * @block_error: (out): with GST_IIO_CAPTURE_BLOCK_FAILED, the negative
 *     errno the transfer failed with (the block is queued again)
 * @error: with GST_FLOW_ERROR, what went wrong and what to do
 *
 * Waits (bounded by the timeout, cancelled by flushing) for the oldest
 * queued block. Only the streaming thread dequeues.
 *
 * Returns: GST_FLOW_OK, GST_IIO_CAPTURE_BLOCK_FAILED, GST_FLOW_FLUSHING or
 * GST_FLOW_ERROR
 */
GstFlowReturn
gst_iio_capture_dequeue (GstIioCapture * capture, GstMemory ** block,
    GstIioCaptureTimes * times, gint * block_error, GError ** error)
{
  GstIioBlock *head;
  GstFlowReturn ret;

  g_mutex_lock (&capture->lock);
  ret = wait_returned (capture, error);
  if (ret != GST_FLOW_OK)
    goto out;
  head = g_queue_peek_head (&capture->queued);
  ret = wait_head (capture, head, error);
  if (ret != GST_FLOW_OK)
    goto out;

  g_queue_pop_head (&capture->queued);
  /* its state and time; a failed transfer took its time too (a failed
   * submit none) */
  time_head (capture, head, times);
  close_sync_fd (head);
  if (head->error) {
    *block_error = head->error;
    enqueue_block (capture, head);
    ret = GST_IIO_CAPTURE_BLOCK_FAILED;
  } else {
    *block = head->mem;
  }
out:
  g_mutex_unlock (&capture->lock);
  return ret;
}

/**
 * gst_iio_capture_set_flushing:
 * @capture: a capture
 * @flushing: whether a dequeue returns GST_FLOW_FLUSHING at once
 *
 * Blocks that come back meanwhile are still queued to the kernel.
 */
void
gst_iio_capture_set_flushing (GstIioCapture * capture, gboolean flushing)
{
  g_mutex_lock (&capture->lock);
  capture->flushing = flushing;
  gst_poll_set_flushing (capture->poll, flushing);
  g_cond_broadcast (&capture->returned);
  g_mutex_unlock (&capture->lock);
}

/**
 * gst_iio_capture_n_queued:
 * @capture: a capture
 *
 * Returns: how many blocks the kernel has to fill now
 */
guint
gst_iio_capture_n_queued (GstIioCapture * capture)
{
  guint n;

  g_mutex_lock (&capture->lock);
  n = capture->queued.length;
  g_mutex_unlock (&capture->lock);
  return n;
}

/**
 * gst_iio_capture_halt:
 * @capture: a capture
 *
 * From now on a block that comes back is not queued again. Call before
 * disabling the buffer: a block queued after the disable would never run
 * and its fence would never signal.
 */
void
gst_iio_capture_halt (GstIioCapture * capture)
{
  g_mutex_lock (&capture->lock);
  capture->running = FALSE;
  g_mutex_unlock (&capture->lock);
}

/**
 * gst_iio_capture_stop:
 * @capture: (transfer full): a capture halted (gst_iio_capture_halt())
 *     whose buffer was then disabled
 *
 * Detaches every block, the queued ones and those downstream still holds
 * (closing each fence first: in Linux 6.12 a sync_file closed after the
 * detach touches freed memory), and lets go of the queued ones. Held
 * blocks are freed when they come back. The buffer fd may be closed after.
 */
void
gst_iio_capture_stop (GstIioCapture * capture)
{
  GQueue mine = G_QUEUE_INIT;
  GstIioBlock *block;
  guint i;

  g_mutex_lock (&capture->lock);
  capture->running = FALSE;
  for (i = 0; i < capture->attached->len; i++) {
    block = g_ptr_array_index (capture->attached, i);
    close_sync_fd (block);
    gst_iio_block_detach (capture->buffer_fd, block->dmabuf_fd);
  }
  g_ptr_array_set_size (capture->attached, 0);
  capture->buffer_fd = -1;
  while ((block = g_queue_pop_head (&capture->queued)))
    g_queue_push_tail (&mine, block);
  while ((block = g_queue_pop_head (&capture->idle)))
    g_queue_push_tail (&mine, block);
  g_mutex_unlock (&capture->lock);

  /* outside the lock: each dispose takes it */
  while ((block = g_queue_pop_head (&mine)))
    gst_memory_unref (block->mem);
  capture_unref (capture);
}
