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
 * A dispose runs in whatever thread lets go last, so it never waits: the
 * buffer fd is non-blocking, and a block the kernel refuses for now (its
 * DMABUF still read by another device, a DAC or a GPU, whose fences have
 * not signalled) is parked; the streaming thread queues it once its
 * DMABUF is free, watching it with the head's fence.
 *
 * Locking: one mutex, never held while calling into GStreamer objects
 * other than the memories themselves, nor across a wait.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstiiodmabufcapture.h"
#include "gstiiodmabufallocator.h"
#include "iiodmabuf-device.h"
#include "iiodmabuf-dmabuf.h"
#include "gstiiodmabufpoll.h"

#include <gst/allocators/allocators.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

GST_DEBUG_CATEGORY_STATIC (gst_iio_capture_debug);
#define GST_CAT_DEFAULT gst_iio_capture_debug

/* A parked block whose DMABUF is free but that the kernel still refused
 * (another thread held its reservation lock) is tried again this soon. */
#define RETRY_SOON (2 * GST_MSECOND)

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
  gboolean stuck;               /* its submit may have failed (a stub
                                 * fence, or one failed other than by an
                                 * abort): the kernel may keep it busy
                                 * until attached again */
  gboolean detached;            /* that re-attach is still to be done */
  gboolean refused;             /* parked, its DMABUF free, refused anyway */
  gboolean read;                /* its fence was read done (or failed) */
  GstIioFenceState state;       /* ... with this, error code and time */
  gint code;
  gint64 done_ns;
} GstIioBlock;

struct _GstIioCapture
{
  gint buffer_fd;
  gint buffer_flags;            /* its file status flags before ours */
  gsize block_bytes;
  gint64 block_us;
  GstClockTime timeout;
  GstPoll *poll;
  gint wakeup;                  /* eventfd: a block came back */

  GMutex lock;
  gboolean waiting;             /* the streaming thread waits for a block
                                 * to come back (none is queued) */
  GArray *watched;              /* GstPollFD: what it waits on */
  GQueue queued;                /* GstIioBlock in the kernel, oldest first */
  GQueue idle;                  /* attached, not queued: before the start,
                                 * or failed (queued again at the next
                                 * dequeue, if the stream goes on) */
  GQueue parked;                /* came back, refused by the kernel for now */
  GPtrArray *attached;          /* every GstIioBlock still attached */
  gboolean running;
  gboolean aborted;             /* the kernel aborted a block (-EINTR): the
                                 * buffer was disabled under us, so a block
                                 * queued now would never run, its fence
                                 * never signal: none is queued again */
  gboolean flushing;
  gint64 last_done_ns;          /* when the last dequeued block completed */
  gint64 wait_began_ns;         /* when the wait for the head began */
  gboolean behind;              /* the last head had completed before it
                                 * was waited for: the next is read before
                                 * any wait */
  guint stale;                  /* see found_stale(), not told yet */
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
  if (capture->wakeup >= 0)
    close (capture->wakeup);
  g_ptr_array_unref (capture->attached);
  g_array_unref (capture->watched);
  g_mutex_clear (&capture->lock);
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
  block->read = FALSE;
}

/* --- the kernel side ------------------------------------------------------ */

/* Whether every fence on the block's DMABUF has signalled: no other
 * device (nor our own transfer) is using it. */
static gboolean
dmabuf_free (GstIioBlock * block)
{
  struct pollfd pfd = {.fd = block->dmabuf_fd,.events = POLLOUT };

  return poll (&pfd, 1, 0) == 1 && (pfd.revents & POLLOUT);
}

/* ENQUEUE, without waiting, and the fence's export: 0, or the negative
 * errno the kernel refused it with. Lock held. */
static gint
try_enqueue (GstIioCapture * capture, GstIioBlock * block)
{
  gint64 queued_at = 0;
  gint err;

  block->sync_fd = gst_iio_block_enqueue (capture->buffer_fd,
      block->dmabuf_fd, capture->block_bytes, FALSE, &queued_at, NULL);
  err = block->sync_fd < 0 ? -errno : 0;
  block->queued_us = queued_at;
  block->exported_us = g_get_monotonic_time ();
  if (err)
    return err;
  block->error = 0;
  block->never_ran = FALSE;
  block->stuck = FALSE;
  block->refused = FALSE;
  block->read = FALSE;
  return 0;
}

/* A block whose submit failed may be busy in the kernel until attached
 * again; only while the buffer runs (an attach drops the blocks queued to
 * a disabled one) and once no one else uses its DMABUF. Streaming thread,
 * lock held. */
static gboolean
reattach (GstIioCapture * capture, GstIioBlock * block)
{
  if (!capture->running || !dmabuf_free (block))
    return FALSE;
  if (!block->detached)
    gst_iio_block_detach (capture->buffer_fd, block->dmabuf_fd);
  block->detached = !gst_iio_block_attach (capture->buffer_fd,
      block->dmabuf_fd, NULL);
  if (block->detached)
    return FALSE;
  block->stuck = FALSE;
  return TRUE;
}

/* A block dequeued as done whose DMABUF the kernel keeps busy, refused
 * twice while free (another thread holding its reservation lock lets go
 * within RETRY_SOON): its submit had failed after all, its stub fence
 * taken for a transfer that ended before the export (the thread stalled
 * longer than a block in between, or blocks shorter than a microsecond:
 * see gst_iio_block_never_transferred()). Its stale content went
 * downstream: told at the next dequeue. Lock held. */
static void
found_stale (GstIioCapture * capture, GstIioBlock * block)
{
  GST_WARNING ("block on DMABUF %d was never transferred, found late",
      block->dmabuf_fd);
  capture->stale++;
}

/* Queues a block, or parks it if the kernel refuses it for now (EBUSY:
 * another device still reads its DMABUF, or the kernel keeps it busy
 * after a failed submit, which only the streaming thread may mend by
 * @reattach); a failure of another kind shows when it reaches the head.
 * Never waits. After an abort it is kept idle instead. Lock held.
 * Returns whether it was parked. */
static gboolean
queue_block (GstIioCapture * capture, GstIioBlock * block, gboolean reattach_ok)
{
  gint err;

  if (capture->aborted) {
    g_queue_push_tail (&capture->idle, block);
    return FALSE;
  }
  err = block->detached ? -EBUSY : try_enqueue (capture, block);

  if (err == -EBUSY && block->stuck && (block->error || block->refused)
      && reattach_ok && reattach (capture, block)) {
    if (!block->error)
      found_stale (capture, block);
    err = try_enqueue (capture, block);
  }
  if (err == -EBUSY) {
    GST_LOG ("DMABUF %d is busy: parked", block->dmabuf_fd);
    block->refused = FALSE;
    g_queue_push_tail (&capture->parked, block);
    return TRUE;
  }
  if (err) {
    GST_WARNING ("cannot queue the block on DMABUF %d: %s", block->dmabuf_fd,
        g_strerror (-err));
    block->error = err;
    block->never_ran = TRUE;
  }
  g_queue_push_tail (&capture->queued, block);
  return FALSE;
}

/* Queues the parked blocks whose DMABUFs are free now. One refused even
 * so (another thread held its reservation lock a moment) is tried again
 * soon. Streaming thread, lock held. */
static void
retry_parked (GstIioCapture * capture)
{
  guint n = capture->parked.length;
  GstIioBlock *block;

  while (n--) {
    block = g_queue_pop_head (&capture->parked);
    if (!block->refused && !dmabuf_free (block))
      g_queue_push_tail (&capture->parked, block);
    else if (queue_block (capture, block, TRUE))
      block->refused = TRUE;
  }
}

/* --- blocks coming home --------------------------------------------------- */

/* The memory's last reference is gone. While running, the block is kept
 * and queued again (or parked); after a stop it is freed (its qdata lets
 * go of the capture). Any thread: never waits. */
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
    queue_block (capture, block, FALSE);
    /* a syscall per block saved when nobody waits */
    if (capture->waiting)
      eventfd_write (capture->wakeup, 1);
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

/* The ENQUEUEs of a dispose must not wait for another device's fences
 * (the kernel would, up to 5 s, under our lock): EBUSY at once instead. */
static gboolean
set_nonblocking (GstIioCapture * capture, GError ** error)
{
  capture->buffer_flags = fcntl (capture->buffer_fd, F_GETFL);
  if (capture->buffer_flags >= 0 && fcntl (capture->buffer_fd, F_SETFL,
          capture->buffer_flags | O_NONBLOCK) == 0)
    return TRUE;
  g_set_error (error, GST_IIO_DEVICE_ERROR, GST_IIO_DEVICE_ERROR_IO,
      "Cannot set up the IIO buffer for DMABUF blocks: %s", g_strerror (errno));
  capture->buffer_flags = -1;
  return FALSE;
}

/**
 * gst_iio_capture_new:
 * @allocator: a #GstIioDmabufAllocator
 * @buffer_fd: the IIO input buffer fd, disabled; it must stay open until
 *     gst_iio_capture_stop(), which puts its file status flags back (the
 *     capture makes it non-blocking)
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
  capture->buffer_flags = -1;
  capture->block_bytes = block_bytes;
  capture->block_us = GST_CLOCK_TIME_IS_VALID (block_duration) ?
      block_duration / GST_USECOND : 0;
  capture->timeout = timeout;
  capture->poll = gst_poll_new (TRUE);
  capture->wakeup = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  capture->attached = g_ptr_array_new ();
  capture->watched = g_array_new (FALSE, FALSE, sizeof (GstPollFD));
  g_mutex_init (&capture->lock);
  if (capture->wakeup < 0) {
    g_set_error (error, GST_IIO_DEVICE_ERROR, GST_IIO_DEVICE_ERROR_IO,
        "Cannot set up the IIO buffer for DMABUF blocks: %s",
        g_strerror (errno));
    goto failed;
  }

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
  if (!set_nonblocking (capture, error))
    goto failed;
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
  capture->behind = FALSE;
  while ((block = g_queue_pop_head (&capture->idle))) {
    queue_block (capture, block, FALSE);
    if (block->error && ok) {
      g_set_error (error, GST_IIO_DEVICE_ERROR, GST_IIO_DEVICE_ERROR_IO,
          "Cannot queue a block of %" G_GSIZE_FORMAT " bytes to the IIO "
          "buffer: %s", capture->block_bytes, g_strerror (-block->error));
      ok = FALSE;
    }
  }
  capture->running = TRUE;
  g_mutex_unlock (&capture->lock);
  return ok;
}

/* What woke the streaming thread. */
typedef enum
{
  WOKEN_HEAD,                   /* the head's fence signalled */
  WOKEN_OTHER,                  /* a block came back, a DMABUF is free */
  WOKEN_TIMEOUT,
  WOKEN_FLUSHING,
  WOKEN_ERROR,                  /* poll failed on the head's fence */
} Woken;

static void
watch_fd (GstIioCapture * capture, gint fd)
{
  GstPollFD pfd = GST_POLL_FD_INIT;

  pfd.fd = fd;
  g_array_append_val (capture->watched, pfd);
}

/* The fds the streaming thread waits on: first the head's fence, or
 * without one the wakeup (a block coming back), to be read; then the
 * DMABUF of each parked block, to be written (it can be once all its
 * fences are done). Lock held. */
static void
watch (GstIioCapture * capture, GstIioBlock * head, GstClockTime * timeout)
{
  GList *l;
  guint i;

  g_array_set_size (capture->watched, 0);
  watch_fd (capture, head ? head->sync_fd : capture->wakeup);
  for (l = capture->parked.head; l; l = l->next) {
    GstIioBlock *block = l->data;

    if (block->refused)
      *timeout = MIN (*timeout, RETRY_SOON);
    else
      watch_fd (capture, block->dmabuf_fd);
  }
  for (i = 0; i < capture->watched->len; i++) {
    GstPollFD *pfd = &g_array_index (capture->watched, GstPollFD, i);

    gst_poll_add_fd (capture->poll, pfd);
    gst_poll_fd_ctl_read (capture->poll, pfd, i == 0);
    gst_poll_fd_ctl_write (capture->poll, pfd, i > 0);
  }
}

static void
unwatch (GstIioCapture * capture)
{
  guint i;

  for (i = 0; i < capture->watched->len; i++)
    gst_poll_remove_fd (capture->poll, &g_array_index (capture->watched,
            GstPollFD, i));
}

/* Waits, unlocked, until @end (monotonic, us) for the head's fence, a
 * block coming back (without a head: only then is the thread woken for
 * it) or a parked block's DMABUF to be free. Lock held on entry and
 * return. */
static Woken
wait_event (GstIioCapture * capture, GstIioBlock * head, gint64 end)
{
  GstClockTime timeout = MAX (end - g_get_monotonic_time (), 0) * GST_USECOND;
  GstPollFD *first;
  eventfd_t count;
  gint ret, err;
  Woken woken;

  watch (capture, head, &timeout);
  first = &g_array_index (capture->watched, GstPollFD, 0);
  capture->waiting = !head;
  g_mutex_unlock (&capture->lock);
  ret = gst_iio_poll_wait (capture->poll, timeout);
  err = errno;
  g_mutex_lock (&capture->lock);
  capture->waiting = FALSE;

  if (capture->flushing || (ret < 0 && err == EBUSY))
    woken = WOKEN_FLUSHING;
  else if (ret < 0 || (head && gst_poll_fd_has_error (capture->poll, first)))
    woken = WOKEN_ERROR;
  else if (head && gst_poll_fd_can_read (capture->poll, first))
    woken = WOKEN_HEAD;
  else
    woken = ret == 0 && g_get_monotonic_time () >= end ? WOKEN_TIMEOUT :
        WOKEN_OTHER;
  if (!head && ret > 0 && gst_poll_fd_can_read (capture->poll, first))
    eventfd_read (capture->wakeup, &count);
  unwatch (capture);
  return woken;
}

/* Why nothing came within the timeout. */
static void
set_timeout_error (GstIioCapture * capture, GstIioBlock * head, GError ** error)
{
  if (head)
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_READ,
        "No block completed within %" GST_TIME_FORMAT ": the converter is "
        "stalled or not clocked (check its clock and trigger), or raise "
        "timeout", GST_TIME_ARGS (capture->timeout));
  else if (capture->parked.length)
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_READ,
        "No block came back within %" GST_TIME_FORMAT ": %u wait for "
        "another device that still reads them (a DAC, a GPU) and "
        "downstream holds the others: raise num-blocks, or see why that "
        "device does not finish", GST_TIME_ARGS (capture->timeout),
        capture->parked.length);
  else
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_READ,
        "Downstream held every block for %" GST_TIME_FORMAT ": raise "
        "num-blocks or release buffers sooner", GST_TIME_ARGS
        (capture->timeout));
}

/* Behind the converter (the last head had completed before it was waited
 * for), the head is read at once, without a wait: one syscall per block
 * instead of a poll and then the read, until a head is found pending.
 * Lock held. */
static gboolean
read_head_first (GstIioCapture * capture, GstIioBlock * head)
{
  if (!capture->behind)
    return FALSE;
  head->state = gst_iio_fence_read (head->sync_fd, head->queued_us * 1000,
      &head->code, &head->done_ns);
  head->read = head->state != GST_IIO_FENCE_PENDING;
  capture->behind = head->read;
  return head->read;
}

/* Queues the blocks that failed, then waits, bounded by the timeout (the
 * whole of it for each head, and for a block to come back when none is
 * queued) and cancelled by flushing, until the head's fence has
 * signalled; meanwhile parked blocks are queued as their DMABUFs come
 * free. Lock held. */
static GstFlowReturn
wait_head (GstIioCapture * capture, GstIioBlock ** head, GError ** error)
{
  GstIioBlock *waited = NULL;
  gint64 end = 0;
  Woken woken;

  while (!capture->aborted && (*head = g_queue_pop_head (&capture->idle)))
    queue_block (capture, *head, TRUE);
  for (;;) {
    retry_parked (capture);
    if (capture->flushing)
      return GST_FLOW_FLUSHING;
    *head = g_queue_peek_head (&capture->queued);
    if (!*head && capture->aborted) {
      g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_READ,
          "The IIO buffer was disabled while capturing: another program "
          "stopped the converter, or it was removed");
      return GST_FLOW_ERROR;
    }
    if (*head && ((*head)->error || (*head)->sync_fd < 0))
      return GST_FLOW_OK;
    if (*head && *head != waited && read_head_first (capture, *head))
      return GST_FLOW_OK;
    if (!end || *head != waited) {
      waited = *head;
      capture->wait_began_ns = g_get_monotonic_time () * 1000;
      end = capture->wait_began_ns / 1000 + capture->timeout / GST_USECOND;
    }
    woken = wait_event (capture, *head, end);
    if (woken == WOKEN_HEAD)
      return GST_FLOW_OK;
    if (woken == WOKEN_FLUSHING)
      return GST_FLOW_FLUSHING;
    if (woken == WOKEN_TIMEOUT) {
      set_timeout_error (capture, *head, error);
      return GST_FLOW_ERROR;
    }
    if (woken == WOKEN_ERROR) {
      g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_READ,
          "Waiting for a block failed after %" GST_TIME_FORMAT ": the device "
          "may have gone", GST_TIME_ARGS (capture->timeout));
      return GST_FLOW_ERROR;
    }
  }
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
  if (head->read) {
    state = head->state;
    code = head->code;
    times->done_ns = head->done_ns;
  } else if (!head->never_ran) {
    state = gst_iio_fence_read (head->sync_fd, times->queued_ns, &code,
        &times->done_ns);
    capture->behind = times->done_ns >= 0
        && times->done_ns < capture->wait_began_ns;
  }
  if (state == GST_IIO_FENCE_STUB)
    check_stub (capture, head, code);
  else if (state == GST_IIO_FENCE_FAILED && !head->error)
    head->error = code ? code : -EIO;
  /* a submit that failed (at once: a stub; at the enable: a failed fence)
   * leaves the block busy in the kernel; an abort (-EINTR) does not */
  head->stuck = state == GST_IIO_FENCE_STUB
      || (state == GST_IIO_FENCE_FAILED && code != -EINTR);
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
 *     before it completed; whatever the return, how many blocks dequeued
 *     before proved stale since the last dequeue
 * @block_error: (out): with GST_IIO_CAPTURE_BLOCK_FAILED, the negative
 *     errno the transfer failed with (the block is queued again at the
 *     next dequeue); -EINTR when the buffer was disabled under it (by
 *     another program, or the device went away)
 * @error: with GST_FLOW_ERROR, what went wrong and what to do
 *
 * Waits (bounded by the timeout, cancelled by flushing) for the oldest
 * queued block. Only the streaming thread dequeues; it also queues the
 * blocks that came back while another device still held their DMABUFs.
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
  ret = wait_head (capture, &head, error);
  if (ret != GST_FLOW_OK)
    goto out;

  g_queue_pop_head (&capture->queued);
  /* its state and time; a failed transfer took its time too (a failed
   * submit none) */
  time_head (capture, head, times);
  close_sync_fd (head);
  if (head->error) {
    /* queued again only if the stream goes on: after an abort the buffer
     * is disabled or the device gone, and a block queued to it would
     * never come back */
    capture->aborted |= head->error == -EINTR;
    *block_error = head->error;
    g_queue_push_tail (&capture->idle, head);
    ret = GST_IIO_CAPTURE_BLOCK_FAILED;
  } else {
    *block = head->mem;
  }
out:
  times->stale = capture->stale;
  capture->stale = 0;
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

static void
take_all (GQueue * from, GQueue * to)
{
  GstIioBlock *block;

  while ((block = g_queue_pop_head (from)))
    g_queue_push_tail (to, block);
}

/**
 * gst_iio_capture_stop:
 * @capture: (transfer full): a capture halted (gst_iio_capture_halt())
 *     whose buffer was then disabled
 *
 * Detaches every block, the queued and parked ones and those downstream
 * still holds (closing each fence first: in Linux 6.12 a sync_file closed
 * after the detach touches freed memory), and lets go of the queued ones.
 * Held blocks are freed when they come back. The buffer fd gets its file
 * status flags back, and may be closed after.
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
  if (capture->buffer_flags >= 0)
    fcntl (capture->buffer_fd, F_SETFL, capture->buffer_flags);
  capture->buffer_fd = -1;
  take_all (&capture->queued, &mine);
  take_all (&capture->parked, &mine);
  take_all (&capture->idle, &mine);
  g_mutex_unlock (&capture->lock);

  /* outside the lock: each dispose takes it */
  while ((block = g_queue_pop_head (&mine)))
    gst_memory_unref (block->mem);
  capture_unref (capture);
}
