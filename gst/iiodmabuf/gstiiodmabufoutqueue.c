/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Blocks in flight to an IIO output buffer.
 *
 * A DMABUF is attached to the IIO buffer the first time it is pushed, and
 * the attachment is kept for the DMABUF, not for the memory: producers
 * that wrap the same DMABUFs in new memories (appsrc rings, decoders,
 * v4l2 elements) reuse it. The DMABUF's identity is its inode, read once
 * per memory. The queue keeps its own fd of each attached DMABUF (to
 * detach it, as the kernel asks for an fd); those no block uses wait in
 * a bounded cache, the least recently used detached first, so a
 * producer of ever new DMABUFs keeps only a few alive; a flush or a stop
 * empties it. (The attachment itself holds the
 * DMABUF; the fd is only what a DETACH asks for.) A memory pushed to
 * several queues (a tee to two DACs) has an attachment for each.
 * Each pushed GstBuffer is held until the fence of its block signals, so a
 * producer's pool gets its buffer back only once the converter has read it.
 *
 * Until the converter starts, pushed blocks are held here, attached but
 * not queued; once it has started, all are queued at once. Nothing is
 * ever queued to a disabled buffer: in Linux 6.12 a block queued to a
 * buffer whose enable then fails (or that is never enabled) is never
 * submitted nor aborted, not by a disable, a DETACH or closing the buffer
 * fd, so its fence never signals and holds the attachment, the DMABUF and
 * its pages for good; and an attach in between would drop it. A stop, a
 * flush or a failed enable before the start so never reaches the kernel.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstiiodmabufoutqueue.h"
#include "iiodmabuf-device.h"
#include "iiodmabuf-dmabuf.h"
#include "gstiiodmabufpoll.h"

#include <gst/allocators/allocators.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

GST_DEBUG_CATEGORY_STATIC (gst_iio_out_queue_debug);
#define GST_CAT_DEFAULT gst_iio_out_queue_debug

/* A DMABUF's identity, as long as it lives: its inode. Qdata on each
 * memory of it, set once under id_lock, freed with the memory. */
typedef struct
{
  dev_t dev;
  ino_t ino;
} IioDmabufId;

/* A DMABUF attached to one queue's IIO buffer, until it is evicted from
 * the idle cache or the queue goes. Only the queue's streaming thread
 * (and its stop, once that thread is done) touches it. */
typedef struct
{
  IioDmabufId id;               /* the key in the queue's table */
  gint dmabuf_fd;               /* our own fd of it */
  guint busy;                   /* blocks of it in flight */
  gboolean stuck;               /* a submit failed: busy in the kernel */
  gboolean played_stub;         /* its last block's fence was signalled at
                                 * its export, judged played: its submit
                                 * may have failed */
  GList idle_link;              /* in queue->idle, if idle */
  gboolean idle;
} IioImport;

typedef struct
{
  GstBuffer *buffer;
  IioImport *import;
  gboolean cyclic;
  gint error;                   /* never transferred: its failed submit */
  gint sync_fd;                 /* the block's fence, -1 until queued */
  gint64 queued_ns;             /* when it was queued */
  gint64 exported_ns;           /* ... and once its fence was exported */
} IioOutBlock;

struct _GstIioOutQueue
{
  gint buffer_fd;
  guint depth;
  GstClockTime timeout;
  GstIioOutQueueStartFunc start;
  gpointer user_data;
  guint64 bytes_per_second;     /* 0 if unknown */
  GstBufferPool *producer_pool; /* the last one seen, and its depth */
  guint producer_depth;
  gboolean started;
  GstPoll *poll;
  GQueue in_flight;             /* IioOutBlock, oldest first; before the
                                 * start, none is queued yet */
  GHashTable *imports;          /* IioDmabufId -> IioImport, owned */
  GQueue idle;                  /* IioImport no block uses, oldest first */
  guint max_idle;
  GMutex counts_lock;
  GstIioOutQueueCounts counts;

  /* how far the converter has played, for a clock */
  GstIioOutQueueProgressFunc progress;
  gboolean dry;                 /* nothing queued since the last completed */
  gint64 last_done_ns;          /* when the last block completed, or when
                                 * the queue was made */
  gint64 last_fence_ns;         /* the last completed fence's time; -1 if
                                 * it told none (a stub) */
  gint64 own_done_ns;           /* ... if its sync_file held our fence
                                 * alone (no other reader); else -1 */
  GstClockTime played;

  /* cyclic output the driver does not repeat: a thread queues it again */
  GThread *keeper;
  GstPoll *keeper_poll;
  gint keeper_stop;
  GstIioOutQueueFailedFunc cyclic_failed;
};

/* A memory may be pushed to several queues from several threads: its
 * identity is set once, under this lock. */
static GMutex id_lock;
static GQuark id_quark;

static guint id_hash (gconstpointer key);
static gboolean id_equal (gconstpointer a, gconstpointer b);
static void import_free (gpointer data);

/**
 * gst_iio_out_queue_new:
 * @buffer_fd: an IIO output buffer fd (from IIO_BUFFER_GET_FD_IOCTL)
 * @depth: blocks in flight at most, and queued before the converter starts
 * @bytes_per_second: how fast the converter reads; 0 if unknown
 * @timeout: how long to wait for a block to complete
 * @start: called once blocks are queued and the converter should run
 * @user_data: for @start
 *
 * Returns: (transfer full): a new queue; free with gst_iio_out_queue_free()
 * after disabling the IIO buffer
 */
GstIioOutQueue *
gst_iio_out_queue_new (gint buffer_fd, guint depth, guint64 bytes_per_second,
    GstClockTime timeout, GstIioOutQueueStartFunc start, gpointer user_data)
{
  static gsize initialized = 0;
  GstIioOutQueue *queue = g_new0 (GstIioOutQueue, 1);

  if (g_once_init_enter (&initialized)) {
    GST_DEBUG_CATEGORY_INIT (gst_iio_out_queue_debug, "iiodmabufoutqueue", 0,
        "Blocks in flight to an IIO output buffer");
    id_quark = g_quark_from_static_string ("GstIioDmabufId");
    g_once_init_leave (&initialized, 1);
  }
  queue->buffer_fd = buffer_fd;
  queue->depth = MAX (depth, 1);
  queue->bytes_per_second = bytes_per_second;
  queue->timeout = timeout;
  queue->start = start;
  queue->user_data = user_data;
  queue->poll = gst_poll_new (TRUE);
  g_queue_init (&queue->in_flight);
  queue->imports = g_hash_table_new_full (id_hash, id_equal, NULL,
      import_free);
  g_queue_init (&queue->idle);
  /* enough for a producer's ring of the queue's depth and its spares */
  queue->max_idle = MAX (8, 2 * queue->depth);
  g_mutex_init (&queue->counts_lock);
  queue->dry = TRUE;
  queue->last_done_ns = g_get_monotonic_time () * 1000;
  queue->own_done_ns = -1;
  queue->last_fence_ns = -1;
  return queue;
}

/**
 * gst_iio_out_queue_set_progress:
 * @progress: (nullable): told each time a block is seen complete
 */
void
gst_iio_out_queue_set_progress (GstIioOutQueue * queue,
    GstIioOutQueueProgressFunc progress)
{
  queue->progress = progress;
}

/* The converter stood idle from the last completion until @block was
 * queued: that time counts as played. */
static void
count_idle (GstIioOutQueue * queue, IioOutBlock * block)
{
  gint64 idle = block->queued_ns - queue->last_done_ns;

  if (!queue->dry)
    return;
  queue->dry = FALSE;
  if (idle > 0)
    queue->played += idle;
}

/* --- attachments ---------------------------------------------------------- */

static guint
id_hash (gconstpointer key)
{
  const IioDmabufId *id = key;

  guint64 ino = id->ino;

  return (guint) (ino ^ (ino >> 32)) ^ (guint) id->dev;
}

static gboolean
id_equal (gconstpointer a, gconstpointer b)
{
  const IioDmabufId *x = a, *y = b;

  return x->ino == y->ino && x->dev == y->dev;
}

/* @mem's DMABUF's identity, read once for each memory; NULL if fstat()
 * fails (then @error says why). */
static const IioDmabufId *
id_of (GstMemory * mem, GError ** error)
{
  GstMiniObject *obj = GST_MINI_OBJECT_CAST (mem);
  IioDmabufId *id;
  struct stat st;

  g_mutex_lock (&id_lock);
  id = gst_mini_object_get_qdata (obj, id_quark);
  g_mutex_unlock (&id_lock);
  if (id)
    return id;
  if (fstat (gst_dmabuf_memory_get_fd (mem), &st) < 0) {
    g_set_error (error, GST_IIO_DEVICE_ERROR, GST_IIO_DEVICE_ERROR_IO,
        "Cannot identify a DMABUF (fstat: %s)", g_strerror (errno));
    return NULL;
  }
  g_mutex_lock (&id_lock);
  id = gst_mini_object_get_qdata (obj, id_quark);
  if (!id) {                    /* another queue's thread may have been first */
    id = g_new (IioDmabufId, 1);
    id->dev = st.st_dev;
    id->ino = st.st_ino;
    gst_mini_object_set_qdata (obj, id_quark, id, g_free);
  }
  g_mutex_unlock (&id_lock);
  return id;
}

static void
import_free (gpointer data)
{
  IioImport *import = data;

  close (import->dmabuf_fd);
  g_free (import);
}

static void
count_attach (GstIioOutQueue * queue, gboolean attached)
{
  g_mutex_lock (&queue->counts_lock);
  if (attached)
    queue->counts.attaches++;
  else
    queue->counts.detaches++;
  g_mutex_unlock (&queue->counts_lock);
}

/* Detaches the least recently used idle DMABUFs until @keep are left. */
static void
drop_idle (GstIioOutQueue * queue, guint keep)
{
  IioImport *oldest;

  while (queue->idle.length > keep) {
    oldest = g_queue_pop_head_link (&queue->idle)->data;
    oldest->idle = FALSE;
    GST_DEBUG ("detaching idle DMABUF %d", oldest->dmabuf_fd);
    gst_iio_block_detach (queue->buffer_fd, oldest->dmabuf_fd);
    count_attach (queue, FALSE);
    g_hash_table_remove (queue->imports, &oldest->id);
  }
}

/* No block uses @import any more: it waits in the idle cache, and the
 * least recently used beyond its bound is detached. */
static void
import_idle (GstIioOutQueue * queue, IioImport * import)
{
  g_assert (!import->idle && !import->busy);
  g_queue_push_tail_link (&queue->idle, &import->idle_link);
  import->idle = TRUE;
  drop_idle (queue, queue->max_idle);
}

/* @import is about to get a block: out of the idle cache, so that no
 * eviction takes it while its push waits for room. Called again before
 * the block is added: that wait may have retired its last block. */
static void
import_take (GstIioOutQueue * queue, IioImport * import)
{
  if (!import->idle)
    return;
  g_queue_unlink (&queue->idle, &import->idle_link);
  import->idle = FALSE;
}

/* A push of @import taken got no block (flushing, an error). */
static void
import_untake (GstIioOutQueue * queue, IioImport * import)
{
  if (!import->busy && !import->idle)
    import_idle (queue, import);
}

/* A block of @import is done with. */
static void
import_release (GstIioOutQueue * queue, IioImport * import)
{
  if (!--import->busy)
    import_idle (queue, import);
}

/* Attaches @id's DMABUF (@fd) with an fd of our own. */
static IioImport *
attach_new (GstIioOutQueue * queue, const IioDmabufId * id, gint fd,
    GError ** error)
{
  IioImport *import;
  gint own = fcntl (fd, F_DUPFD_CLOEXEC, 3);

  if (own < 0) {
    g_set_error (error, GST_IIO_DEVICE_ERROR, GST_IIO_DEVICE_ERROR_IO,
        "Cannot duplicate a DMABUF fd: %s", g_strerror (errno));
    return NULL;
  }
  if (!gst_iio_block_attach (queue->buffer_fd, own, error)) {
    close (own);
    return NULL;
  }
  GST_DEBUG ("attached DMABUF %d (inode %" G_GUINT64_FORMAT ") to IIO "
      "buffer fd %d", own, (guint64) id->ino, queue->buffer_fd);
  count_attach (queue, TRUE);
  import = g_new0 (IioImport, 1);
  import->id = *id;
  import->dmabuf_fd = own;
  import->idle_link.data = import;
  g_hash_table_insert (queue->imports, &import->id, import);
  return import;
}

/**
 * gst_iio_out_queue_can_import:
 * @queue: a queue
 * @buffer: a buffer
 *
 * Returns: whether @buffer can go to the converter as it is: one DMABUF
 * memory that starts at the DMABUF's first byte (an IIO block has no
 * offset). Other queues may hold it too: each has its own attachment.
 */
gboolean
gst_iio_out_queue_can_import (GstIioOutQueue * queue, GstBuffer * buffer)
{
  GstMemory *mem;
  gsize offset = 0;

  if (gst_buffer_n_memory (buffer) != 1)
    return FALSE;
  mem = gst_buffer_peek_memory (buffer, 0);
  if (!gst_is_dmabuf_memory (mem))
    return FALSE;
  gst_memory_get_sizes (mem, &offset, NULL);
  return offset == 0;
}

/* --- queueing to the kernel ---------------------------------------------- */

static gint64
block_us (GstIioOutQueue * queue, GstBuffer * buffer)
{
  if (!queue->bytes_per_second)
    return 0;
  return gst_util_uint64_scale (gst_buffer_get_size (buffer), G_USEC_PER_SEC,
      queue->bytes_per_second);
}

/* A block on @import's DMABUF failed (@code), found at its fence or, for
 * a failed submit that passed for a block done, later. */
static void
count_fence_error (GstIioOutQueue * queue, IioImport * import, gint code)
{
  GST_WARNING ("block on DMABUF %d failed: %s", import->dmabuf_fd,
      g_strerror (-code));
  g_mutex_lock (&queue->counts_lock);
  queue->counts.fence_errors++;
  queue->counts.last_error = code;
  g_mutex_unlock (&queue->counts_lock);
}

/* Queues @block (already in in_flight): ENQUEUE and the fence's export,
 * nothing more. A submit that failed inside the kernel shows when the
 * block completes (see judge_stub()), or, if it passed for a block played
 * (played_stub), at its DMABUF's next ENQUEUE: the kernel keeps that
 * DMABUF busy (EBUSY) until it is attached again, which is done here while
 * the converter runs. An EBUSY of another DMABUF is the kernel's 5 s wait
 * for another device's fences on it: an error. */
static gboolean
enqueue_block (GstIioOutQueue * queue, IioOutBlock * block, GError ** error)
{
  IioImport *import = block->import;
  gsize size = gst_buffer_get_size (block->buffer);
  gint64 queued_at = 0;

  block->sync_fd = gst_iio_block_enqueue (queue->buffer_fd, import->dmabuf_fd,
      size, block->cyclic, &queued_at, error);
  if (block->sync_fd < 0 && errno == EBUSY && queue->started
      && (import->stuck || import->played_stub)) {
    g_clear_error (error);
    if (!import->stuck)
      count_fence_error (queue, import, -EIO);
    if (!gst_iio_block_reattach (queue->buffer_fd, import->dmabuf_fd, error))
      return FALSE;
    block->sync_fd = gst_iio_block_enqueue (queue->buffer_fd,
        import->dmabuf_fd, size, block->cyclic, &queued_at, error);
  }
  if (block->sync_fd < 0)
    return FALSE;
  block->queued_ns = queued_at * 1000;
  block->exported_ns = g_get_monotonic_time () * 1000;
  count_idle (queue, block);
  import->stuck = FALSE;
  import->played_stub = FALSE;
  return TRUE;
}

/* A fence already signalled when it was exported (a stub): a submit that
 * failed inside the kernel, or a block that completed before the export.
 * Blocks complete in order, so one that completed after this export (the
 * block before) was still pending then. A failed one leaves its DMABUF
 * busy in the kernel until attached again. Returns its error, or 0. */
static gint
judge_stub (GstIioOutQueue * queue, IioOutBlock * block)
{
  if (!gst_iio_block_never_transferred ((block->exported_ns -
              block->queued_ns) / 1000, block_us (queue, block->buffer),
          queue->last_fence_ns > block->exported_ns))
    return 0;
  GST_WARNING ("block on DMABUF %d was never transferred",
      block->import->dmabuf_fd);
  block->import->stuck = TRUE;
  return -EIO;
}

/* The state of a completed (or failed) block's fence: a stub judged, the
 * fence time noted for the next judgement (a failed transfer's too: its
 * time still orders it). Besides an abort (-EINTR), a fence fails for a
 * submit that failed at the enable: that DMABUF is busy as well. */
static GstIioFenceState
completed_state (GstIioOutQueue * queue, IioOutBlock * block,
    GstIioFenceState state, gint * code, gint64 done)
{
  if (state == GST_IIO_FENCE_STUB && (*code = judge_stub (queue, block))) {
    block->error = *code;
    return GST_IIO_FENCE_FAILED;
  }
  block->import->played_stub = state == GST_IIO_FENCE_STUB;
  if (state == GST_IIO_FENCE_FAILED && *code != -EINTR)
    block->import->stuck = TRUE;
  if (!block->error)
    queue->last_fence_ns = done;
  return state;
}

/* A DMABUF whose submit failed stays busy in the kernel until attached
 * again; that must happen before anything is queued to the disabled
 * buffer (an attach drops those blocks). */
static gboolean
reattach_stuck (GstIioOutQueue * queue, GError ** error)
{
  GList *l;

  for (l = queue->in_flight.head; l; l = l->next) {
    IioImport *import = ((IioOutBlock *) l->data)->import;

    if (!import->stuck)
      continue;
    if (!gst_iio_block_reattach (queue->buffer_fd, import->dmabuf_fd, error))
      return FALSE;
    import->stuck = FALSE;
  }
  return TRUE;
}

/* Starts the converter, then queues the blocks held until now, back to
 * back. Not the other way round: blocks queued before an enable that
 * fails would never be released by the kernel (see above). At least one
 * DMABUF is attached by now, so the buffer enables in DMABUF mode. */
static gboolean
start_converter (GstIioOutQueue * queue, GError ** error)
{
  GList *l;

  if (queue->started)
    return TRUE;
  if (!reattach_stuck (queue, error))
    return FALSE;
  if (!queue->start (queue->user_data, error))
    return FALSE;
  queue->started = TRUE;
  for (l = queue->in_flight.head; l; l = l->next)
    if (!enqueue_block (queue, l->data, error))
      return FALSE;
  GST_DEBUG ("converter started, %u blocks queued", queue->in_flight.length);
  return TRUE;
}

/* The attachment of @mem's DMABUF to this queue's IIO buffer, made on
 * first sight, taken out of the idle cache: give it a block (busy) or
 * import_untake() it. Nothing is queued to a disabled buffer (see above), so an
 * attach drops nothing. */
static IioImport *
ensure_import (GstIioOutQueue * queue, GstMemory * mem, GError ** error)
{
  gint fd = gst_dmabuf_memory_get_fd (mem);
  const IioDmabufId *id = id_of (mem, error);
  IioImport *import;

  if (!id)
    return NULL;
  import = g_hash_table_lookup (queue->imports, id);
  if (import) {
    import_take (queue, import);
    return import;
  }
  /* before any block is queued: see gst_iio_fence_date_stub() */
  gst_iio_fence_date_stub (fd);
  return attach_new (queue, id, fd, error);
}

/* --- completion ----------------------------------------------------------- */

static void
release_block (GstIioOutQueue * queue, IioOutBlock * block)
{
  /* in Linux 6.12 the fence's lock is in the attachment: close first */
  if (block->sync_fd >= 0)
    close (block->sync_fd);
  import_release (queue, block->import);
  gst_buffer_unref (block->buffer);
  g_free (block);
}

static GstFlowReturn
wait_fence (GstIioOutQueue * queue, gint sync_fd, GError ** error)
{
  GstPollFD pfd = GST_POLL_FD_INIT;
  gint ret, err;

  pfd.fd = sync_fd;
  gst_poll_add_fd (queue->poll, &pfd);
  gst_poll_fd_ctl_read (queue->poll, &pfd, TRUE);
  ret = gst_iio_poll_wait (queue->poll, queue->timeout);
  err = errno;
  if (ret > 0 && gst_poll_fd_has_error (queue->poll, &pfd))
    ret = -1;
  gst_poll_remove_fd (queue->poll, &pfd);
  if (ret < 0 && err == EBUSY)
    return GST_FLOW_FLUSHING;
  if (ret > 0)
    return GST_FLOW_OK;
  g_set_error (error, GST_IIO_DEVICE_ERROR, GST_IIO_DEVICE_ERROR_IO, ret == 0
      ? "The converter did not finish a block within %" GST_TIME_FORMAT
      ": it is stalled or not clocked (or raise timeout)" :
      "Waiting for a block failed after %" GST_TIME_FORMAT
      ": the device may have gone", GST_TIME_ARGS (queue->timeout));
  return GST_FLOW_ERROR;
}

/* The converter was done with @block at @done (-1: unknown): tell how
 * far it has played. */
static void
played (GstIioOutQueue * queue, IioOutBlock * block, gint64 done)
{
  if (done < 0)
    done = g_get_monotonic_time () * 1000;
  if (queue->bytes_per_second)
    queue->played += gst_util_uint64_scale (gst_buffer_get_size
        (block->buffer), GST_SECOND, queue->bytes_per_second);
  else if (done > queue->last_done_ns)  /* rate unknown: as time passed */
    queue->played += done - queue->last_done_ns;
  queue->last_done_ns = done;
  if (queue->progress)
    queue->progress (queue->user_data, queue->played, done);
}

/* Retires the oldest block, waiting for it if @wait; else only if done.
 * Waiting, its fence is read once, after the wait (which ends at once for
 * a fence already signalled); flushing, a block already done is still
 * retired. */
static GstFlowReturn
complete_oldest (GstIioOutQueue * queue, gboolean wait, GError ** error)
{
  IioOutBlock *block = g_queue_peek_head (&queue->in_flight);
  GstIioFenceState state = GST_IIO_FENCE_FAILED;
  GstFlowReturn ret = GST_FLOW_OK;
  gint code = block->error;
  gint64 done = -1;
  guint fences = 0;

  for (;;) {
    if (wait && !block->error && block->sync_fd >= 0)
      ret = wait_fence (queue, block->sync_fd, error);
    if (ret != GST_FLOW_OK && ret != GST_FLOW_FLUSHING)
      return ret;
    if (!block->error)
      state = gst_iio_fence_read_counted (block->sync_fd, block->queued_ns,
          &code, &done, &fences);
    if (state != GST_IIO_FENCE_PENDING)
      break;
    if (!wait)
      return GST_FLOW_CUSTOM_SUCCESS;
    if (ret == GST_FLOW_FLUSHING)
      return ret;
  }
  state = completed_state (queue, block, state, &code, done);
  queue->own_done_ns = state == GST_IIO_FENCE_DONE && fences == 1 ? done : -1;
  if (state == GST_IIO_FENCE_FAILED)
    count_fence_error (queue, block->import, code);
  if (!block->error)
    played (queue, block, done);
  release_block (queue, g_queue_pop_head (&queue->in_flight));
  return GST_FLOW_OK;
}

static void
retire_completed (GstIioOutQueue * queue)
{
  while (queue->in_flight.length
      && complete_oldest (queue, FALSE, NULL) == GST_FLOW_OK);
}

/* How many blocks of @buffer's kind to hold: the depth, or less when it
 * comes from a bounded pool that cannot fill it; its producer would wait
 * for a buffer back that we only return on a later push. */
static guint
depth_for (GstIioOutQueue * queue, GstBuffer * buffer)
{
  GstStructure *config;
  guint max = 0;

  if (!buffer->pool)
    return queue->depth;
  /* an active pool's config does not change: read it once per pool */
  if (buffer->pool == queue->producer_pool)
    return queue->producer_depth;
  config = gst_buffer_pool_get_config (buffer->pool);
  gst_buffer_pool_config_get_params (config, NULL, NULL, NULL, &max);
  gst_structure_free (config);
  gst_object_replace ((GstObject **) & queue->producer_pool,
      GST_OBJECT (buffer->pool));
  /* one for the producer to fill */
  queue->producer_depth = max && max <= queue->depth ? MAX (max - 1, 1) :
      queue->depth;
  return queue->producer_depth;
}

/* Waits until a block may be added, and its DMABUF is not in flight. */
static GstFlowReturn
make_room (GstIioOutQueue * queue, IioImport * import, guint depth,
    GError ** error)
{
  GstFlowReturn ret = GST_FLOW_OK;

  while (ret == GST_FLOW_OK && (queue->in_flight.length >= depth
          || import->busy)) {
    if (!start_converter (queue, error))
      return GST_FLOW_ERROR;
    ret = complete_oldest (queue, TRUE, error);
  }
  return ret;
}

/* --- pushing -------------------------------------------------------------- */

static void
count_underflow (GstIioOutQueue * queue)
{
  g_mutex_lock (&queue->counts_lock);
  queue->counts.underflows++;
  g_mutex_unlock (&queue->counts_lock);
  GST_DEBUG ("the converter ran out of blocks");
}

/* Whether the converter may have run dry: the oldest block in flight
 * started no sooner than it was queued, nor than the block before it
 * ended (as its own fence said: other readers' fences end later), and
 * plays for its duration; until then it is not read (while the queue
 * keeps the converter busy, the block added costs no fence read). */
static gboolean
may_be_dry (GstIioOutQueue * queue)
{
  IioOutBlock *head = g_queue_peek_head (&queue->in_flight);
  gint64 duration_us;

  if (!head || head->error)
    return TRUE;
  duration_us = block_us (queue, head->buffer);
  return !duration_us || g_get_monotonic_time () * 1000 >=
      MAX (head->queued_ns, queue->own_done_ns) + duration_us * 1000;
}

/* Adds a block; queued to the kernel at once if the converter runs. Had
 * the converter run dry, it is counted. */
static gboolean
add_block (GstIioOutQueue * queue, GstBuffer * buffer, IioImport * import,
    guint depth, gboolean cyclic, GError ** error)
{
  IioOutBlock *block = g_new0 (IioOutBlock, 1);

  block->buffer = buffer;
  block->import = import;
  block->cyclic = cyclic;
  block->sync_fd = -1;
  import_take (queue, import);
  import->busy++;
  if (queue->started && may_be_dry (queue)) {
    retire_completed (queue);
    if (!queue->in_flight.length) {
      count_underflow (queue);
      queue->dry = TRUE;
    }
  }
  g_queue_push_tail (&queue->in_flight, block);
  if (queue->started)
    return enqueue_block (queue, block, error);
  if (cyclic || queue->in_flight.length >= depth)
    return start_converter (queue, error);
  return TRUE;
}

/**
 * gst_iio_out_queue_push:
 * @queue: a queue
 * @buffer: (transfer full): a buffer for which gst_iio_out_queue_can_import()
 *     is %TRUE, of a whole number of scans
 * @cyclic: the converter repeats this block until its buffer is disabled
 * @error: why it could not be queued
 *
 * Queues @buffer's DMABUF as one block, waiting (bounded by the timeout,
 * cancelled by flushing) while @depth blocks are in flight (fewer for a
 * buffer from a bounded pool that cannot fill @depth). The converter is
 * started with that many blocks queued, or at once for a cyclic block.
 *
 * Returns: GST_FLOW_OK, GST_FLOW_FLUSHING, GST_IIO_OUT_QUEUE_NOT_IMPORTED
 * when the kernel would not attach the DMABUF (attached elsewhere, memory
 * the converter's DMA cannot reach, ...: copy it instead) or
 * GST_FLOW_ERROR with @error set
 */
GstFlowReturn
gst_iio_out_queue_push (GstIioOutQueue * queue, GstBuffer * buffer,
    gboolean cyclic, GError ** error)
{
  GstMemory *mem = gst_buffer_peek_memory (buffer, 0);
  guint depth = depth_for (queue, buffer);
  GError *attach_error = NULL;
  IioImport *import;
  GstFlowReturn ret;

  import = ensure_import (queue, mem, &attach_error);
  if (!import)
    goto not_attached;
  ret = make_room (queue, import, depth, error);
  if (ret != GST_FLOW_OK) {
    import_untake (queue, import);
    gst_buffer_unref (buffer);
    return ret;
  }
  return add_block (queue, buffer, import, depth, cyclic, error) ?
      GST_FLOW_OK : GST_FLOW_ERROR;

  /* ERRORS */
not_attached:
  gst_buffer_unref (buffer);
  if (!g_error_matches (attach_error, GST_IIO_DEVICE_ERROR,
          GST_IIO_DEVICE_ERROR_NOT_FOUND)) {
    GST_INFO ("%s: copying instead", attach_error->message);
    g_error_free (attach_error);
    return GST_IIO_OUT_QUEUE_NOT_IMPORTED;
  }
  g_propagate_error (error, attach_error);
  return GST_FLOW_ERROR;
}

/**
 * gst_iio_out_queue_drain:
 * @queue: a queue
 * @error: why a block did not complete
 *
 * Starts the converter if it is not running and waits until every queued
 * block has completed.
 */
GstFlowReturn
gst_iio_out_queue_drain (GstIioOutQueue * queue, GError ** error)
{
  GstFlowReturn ret = GST_FLOW_OK;

  if (queue->in_flight.length && !start_converter (queue, error))
    return GST_FLOW_ERROR;
  while (ret == GST_FLOW_OK && queue->in_flight.length)
    ret = complete_oldest (queue, TRUE, error);
  return ret;
}

/**
 * gst_iio_out_queue_abort:
 * @queue: a queue whose IIO buffer has just been disabled (or was never
 *     started: then nothing is in the kernel)
 *
 * Lets go of every block in flight; the next push starts afresh.
 */
void
gst_iio_out_queue_abort (GstIioOutQueue * queue)
{
  IioOutBlock *block;

  while ((block = g_queue_pop_head (&queue->in_flight))) {
    gint64 done = -1;
    gint code = 0;

    /* a failed submit must leave its DMABUF marked for re-attaching */
    if (block->sync_fd >= 0 && !block->error)
      completed_state (queue, block, gst_iio_fence_read (block->sync_fd,
              block->queued_ns, &code, &done), &code, done);
    release_block (queue, block);
  }
  /* what comes after a flush or a stop may be on other DMABUFs (a new
   * cyclic waveform, a new pool): let go of these, which pin memory */
  drop_idle (queue, 0);
  queue->started = FALSE;
}

/**
 * gst_iio_out_queue_free:
 * @queue: a queue whose IIO buffer is disabled
 *
 * Lets go of the blocks in flight and detaches every DMABUF still attached.
 */
void
gst_iio_out_queue_free (GstIioOutQueue * queue)
{
  GHashTableIter iter;
  IioImport *import;

  gst_iio_out_queue_stop_cyclic (queue);
  gst_iio_out_queue_abort (queue);
  g_hash_table_iter_init (&iter, queue->imports);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) & import)) {
    gst_iio_block_detach (queue->buffer_fd, import->dmabuf_fd);
    count_attach (queue, FALSE);
  }
  g_hash_table_destroy (queue->imports);
  gst_clear_object (&queue->producer_pool);
  gst_poll_free (queue->poll);
  g_mutex_clear (&queue->counts_lock);
  g_free (queue);
}

void
gst_iio_out_queue_set_flushing (GstIioOutQueue * queue, gboolean flushing)
{
  gst_poll_set_flushing (queue->poll, flushing);
}

/* The stream's rate changed (before the converter started). */
void
gst_iio_out_queue_set_bytes_per_second (GstIioOutQueue * queue,
    guint64 bytes_per_second)
{
  queue->bytes_per_second = bytes_per_second;
}

void
gst_iio_out_queue_get_counts (GstIioOutQueue * queue,
    GstIioOutQueueCounts * counts)
{
  g_mutex_lock (&queue->counts_lock);
  *counts = queue->counts;
  g_mutex_unlock (&queue->counts_lock);
}

/* --- cyclic output -------------------------------------------------------- */

/* Waits (a while, cancellable) for the oldest block's fence. */
static gboolean
head_signalled (GstIioOutQueue * queue, IioOutBlock * head)
{
  GstPollFD pfd = GST_POLL_FD_INIT;
  gint ret;

  if (!head || head->sync_fd < 0)
    return FALSE;               /* cannot happen: every block is queued */
  pfd.fd = head->sync_fd;
  gst_poll_add_fd (queue->keeper_poll, &pfd);
  gst_poll_fd_ctl_read (queue->keeper_poll, &pfd, TRUE);
  ret = gst_iio_poll_wait (queue->keeper_poll, 200 * GST_MSECOND);
  gst_poll_remove_fd (queue->keeper_poll, &pfd);
  return ret > 0;
}

/* Blocks that fail in a row before cyclic output is given up. */
#define CYCLIC_MAX_FAILED 16

/* Before the head goes back in: if the block queued last has completed
 * too, every copy has, and the converter ran dry (counted, and that time
 * counts as played for the clock). */
static void
check_dry (GstIioOutQueue * queue)
{
  IioOutBlock *tail = g_queue_peek_tail (&queue->in_flight);

  if (tail && tail->sync_fd >= 0
      && gst_iio_fence_state (tail->sync_fd, NULL) != GST_IIO_FENCE_PENDING) {
    count_underflow (queue);
    queue->dry = TRUE;
  }
}

/* Cyclic output stops: the sink hears why (from this thread). */
static gpointer
give_up (GstIioOutQueue * queue, GError * error)
{
  GST_WARNING ("cyclic output stops: %s", error->message);
  if (queue->cyclic_failed)
    queue->cyclic_failed (queue->user_data, error);
  g_error_free (error);
  return NULL;
}

/* A cyclic block whose fence signals was played once, not repeated (as
 * mainline's dmaengine buffer does): it goes to the back of the queue
 * again while the blocks behind it play, so the output has no gap. */
static gpointer
keep_cyclic (gpointer data)
{
  GstIioOutQueue *queue = data;
  GError *error = NULL;
  guint failed = 0;

  while (!g_atomic_int_get (&queue->keeper_stop)) {
    IioOutBlock *head = g_queue_peek_head (&queue->in_flight);
    gint64 done = -1;
    gint code = 0;

    if (!head_signalled (queue, head))
      continue;
    if (head->error || completed_state (queue, head,
            gst_iio_fence_read (head->sync_fd, head->queued_ns, &code, &done),
            &code, done) == GST_IIO_FENCE_FAILED) {
      count_fence_error (queue, head->import, head->error ? head->error : code);
      if (++failed >= CYCLIC_MAX_FAILED)
        return give_up (queue, g_error_new (GST_IIO_DEVICE_ERROR,
                GST_IIO_DEVICE_ERROR_IO, "%u cyclic blocks in a row failed "
                "(%s)", failed, g_strerror (-(head->error ? head->error :
                        code))));
      g_usleep (10 * 1000);     /* no busy loop on a failing device */
    } else {
      failed = 0;
      played (queue, head, done);
    }
    check_dry (queue);          /* the last of the others done too? */
    g_queue_push_tail (&queue->in_flight, g_queue_pop_head (&queue->in_flight));
    close (head->sync_fd);
    head->sync_fd = -1;
    head->error = 0;
    if (!enqueue_block (queue, head, &error))
      return give_up (queue, error);
    g_mutex_lock (&queue->counts_lock);
    queue->counts.cyclic_software = TRUE;
    queue->counts.cyclic_requeues++;
    g_mutex_unlock (&queue->counts_lock);
  }
  return NULL;
}

/**
 * gst_iio_out_queue_play_cyclic:
 * @queue: a queue with nothing in flight
 * @blocks: (array length=n_blocks) (transfer full): DMABUF buffers, each
 *     holding the waveform (a whole number of times)
 * @n_blocks: how many; at least two for a gapless repeat in software
 * @failed: told (from another thread) when repeating in software stops
 *     on an error
 * @error: why they could not be queued
 *
 * Queues every block as CYCLIC and starts the converter. A driver that
 * repeats in hardware plays the first until the buffer is disabled; one
 * that plays it once (mainline) signals its fence, and a thread queues
 * each block again as it completes. Stop with
 * gst_iio_out_queue_stop_cyclic() before disabling the buffer.
 *
 * Returns: whether the converter started
 */
gboolean
gst_iio_out_queue_play_cyclic (GstIioOutQueue * queue, GstBuffer ** blocks,
    guint n_blocks, GstIioOutQueueFailedFunc failed, GError ** error)
{
  IioOutBlock *block;
  IioImport *import;
  guint i;

  for (i = 0; i < n_blocks; i++) {
    import = ensure_import (queue, gst_buffer_peek_memory (blocks[i], 0),
        error);
    if (!import)
      break;
    block = g_new0 (IioOutBlock, 1);
    block->buffer = blocks[i];
    block->import = import;
    block->cyclic = TRUE;
    block->sync_fd = -1;
    import_take (queue, import);
    import->busy++;
    g_queue_push_tail (&queue->in_flight, block);
  }
  if (i < n_blocks) {
    for (; i < n_blocks; i++)
      gst_buffer_unref (blocks[i]);
    return FALSE;
  }
  if (!start_converter (queue, error))
    return FALSE;
  queue->cyclic_failed = failed;
  queue->keeper_poll = gst_poll_new (TRUE);
  queue->keeper = g_thread_new ("iiodmabuf-cyclic", keep_cyclic, queue);
  return TRUE;
}

/**
 * gst_iio_out_queue_stop_cyclic:
 * @queue: a queue
 *
 * Stops queueing cyclic blocks again (waits for the thread that does).
 */
void
gst_iio_out_queue_stop_cyclic (GstIioOutQueue * queue)
{
  if (!queue->keeper)
    return;
  g_atomic_int_set (&queue->keeper_stop, TRUE);
  gst_poll_set_flushing (queue->keeper_poll, TRUE);
  g_thread_join (g_steal_pointer (&queue->keeper));
  g_clear_pointer (&queue->keeper_poll, gst_poll_free);
  g_atomic_int_set (&queue->keeper_stop, FALSE);
}
