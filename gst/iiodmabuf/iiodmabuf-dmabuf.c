/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * DMABUFs and IIO blocks. The order that works: attach every DMABUF, then
 * enqueue, then enable the buffer; per block wait for its fence, use it,
 * enqueue it again; at the end disable, then detach.
 */
#define _GNU_SOURCE
#include "iiodmabuf-dmabuf.h"
#include "iiodmabuf-device.h"
#include "iiodmabuf-uapi.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static gint
alloc_from_heap (const gchar * heap, gsize size)
{
  struct dma_heap_allocation_data req = {
    .len = size,
    .fd_flags = O_RDWR | O_CLOEXEC,
  };
  gint hfd = open (heap, O_RDONLY | O_CLOEXEC), err;

  if (hfd < 0)
    return -1;
  if (ioctl (hfd, DMA_HEAP_IOCTL_ALLOC, &req) < 0) {
    err = errno;
    close (hfd);
    errno = err;
    return -1;
  }
  close (hfd);
  return req.fd;
}

static gint
alloc_from_udmabuf (gsize size)
{
  struct udmabuf_create req = {.flags = UDMABUF_FLAGS_CLOEXEC };
  gsize page = sysconf (_SC_PAGESIZE);
  gint ufd, mfd, fd = -1, err = 0;

  req.size = (size + page - 1) / page * page;
  ufd = open (GST_IIO_DMABUF_UDMABUF, O_RDWR | O_CLOEXEC);
  if (ufd < 0)
    return -1;
  mfd = memfd_create ("iiodmabuf", MFD_ALLOW_SEALING | MFD_CLOEXEC);
  if (mfd >= 0 && ftruncate (mfd, req.size) == 0
      && fcntl (mfd, F_ADD_SEALS, F_SEAL_SHRINK) == 0) {
    req.memfd = mfd;
    fd = ioctl (ufd, UDMABUF_CREATE, &req);
  }
  err = errno;
  if (mfd >= 0)
    close (mfd);
  close (ufd);
  errno = err;
  return fd;
}

#define DMA_HEAP_DIR "/dev/dma_heap"

/**
 * gst_iio_dma_heap_path:
 * @heap: a heap's name ("system", "default_cma_region", "linux,cma",
 *     "reserved") or its node's path
 *
 * Returns: (transfer full): the heap's device node
 */
gchar *
gst_iio_dma_heap_path (const gchar * heap)
{
  if (strchr (heap, '/'))
    return g_strdup (heap);
  return g_build_filename (DMA_HEAP_DIR, heap, NULL);
}

/**
 * gst_iio_dma_heaps_present:
 *
 * Returns: (transfer full): the names of the DMA heaps on this system,
 * comma-separated ("none" without any)
 */
gchar *
gst_iio_dma_heaps_present (void)
{
  GDir *dir = g_dir_open (DMA_HEAP_DIR, 0, NULL);
  GString *names = g_string_new (NULL);
  const gchar *name;

  while (dir && (name = g_dir_read_name (dir)))
    g_string_append_printf (names, "%s%s", names->len ? ", " : "", name);
  if (dir)
    g_dir_close (dir);
  if (!names->len)
    g_string_append (names, "none");
  return g_string_free (names, FALSE);
}

/* Why the heap at @path gave no DMABUF, and what to do. */
static gchar *
describe_heap_problem (const gchar * path, gsize size, gint err)
{
  gchar *present, *problem;

  if (err == EACCES)
    return g_strdup_printf ("cannot allocate %" G_GSIZE_FORMAT " bytes from "
        "%s: %s (give your user access with a udev rule: "
        "SUBSYSTEM==\"dma_heap\", KERNEL==\"%s\", GROUP=\"video\", "
        "MODE=\"0660\")", size, path, g_strerror (err),
        strrchr (path, '/') ? strrchr (path, '/') + 1 : path);
  if (err != ENOENT)
    return g_strdup_printf ("cannot allocate %" G_GSIZE_FORMAT " bytes from "
        "%s: %s", size, path, g_strerror (err));
  present = gst_iio_dma_heaps_present ();
  problem = g_strdup_printf ("there is no DMA heap %s (present: %s; a "
      "contiguous CMA heap is named default_cma_region from Linux 6.17, "
      "linux,cma or reserved before)", path, present);
  g_free (present);
  return problem;
}

/**
 * gst_iio_dmabuf_alloc:
 * @heap: a DMA heap's name or node (see gst_iio_dma_heap_path())
 * @size: bytes
 * @origin: (out): where the DMABUF came from
 * @heap_problem: (out) (transfer full) (nullable): why the heap was not
 *     used, when udmabuf was
 * @error: (nullable): why neither worked, and what to do
 *
 * Allocates a DMABUF from @heap, falling back to /dev/udmabuf.
 *
 * Returns: the DMABUF's fd, or -1
 */
gint
gst_iio_dmabuf_alloc (const gchar * heap, gsize size,
    GstIioDmabufOrigin * origin, gchar ** heap_problem, GError ** error)
{
  gchar *path = gst_iio_dma_heap_path (heap), *problem;
  gint fd = alloc_from_heap (path, size), heap_errno = errno, udmabuf_errno;

  *origin = GST_IIO_DMABUF_ORIGIN_HEAP;
  if (fd >= 0) {
    g_free (path);
    return fd;
  }
  problem = describe_heap_problem (path, size, heap_errno);
  g_free (path);
  fd = alloc_from_udmabuf (size);
  udmabuf_errno = errno;
  if (fd >= 0) {
    *origin = GST_IIO_DMABUF_ORIGIN_UDMABUF;
    if (heap_problem)
      *heap_problem = problem;
    else
      g_free (problem);
    return fd;
  }
  g_set_error (error, GST_IIO_DEVICE_ERROR,
      heap_errno ==
      EACCES ? GST_IIO_DEVICE_ERROR_PERMISSION : GST_IIO_DEVICE_ERROR_IO,
      "No DMABUF of %" G_GSIZE_FORMAT " bytes: %s; and %s: %s. %s", size,
      problem, GST_IIO_DMABUF_UDMABUF, g_strerror (udmabuf_errno),
      heap_errno == ENOMEM || udmabuf_errno == ENOMEM
      || heap_errno ==
      EINVAL ? "Use smaller blocks (samples-per-block)." :
      "Set dma-heap to an accessible heap.");
  g_free (problem);
  return -1;
}

/**
 * gst_iio_block_attach:
 * @buffer_fd: an IIO buffer fd
 * @dmabuf_fd: a DMABUF
 * @error: NO_DMABUF when the buffer cannot take DMABUFs
 *
 * Attach every DMABUF before enqueueing the first: in Linux 6.12 an attach
 * drops blocks queued to a disabled buffer.
 */
gboolean
gst_iio_block_attach (gint buffer_fd, gint dmabuf_fd, GError ** error)
{
  gint err;

  if (ioctl (buffer_fd, IIO_BUFFER_DMABUF_ATTACH_IOCTL, &dmabuf_fd) == 0)
    return TRUE;
  err = errno;
  if (err == EPERM || err == ENOTTY || err == EINVAL || err == EOPNOTSUPP)
    g_set_error (error, GST_IIO_DEVICE_ERROR, GST_IIO_DEVICE_ERROR_NO_DMABUF,
        "The IIO buffer does not take DMABUFs (%s): that needs Linux >= 6.11 "
        "and a driver on the IIO DMA buffer core", g_strerror (err));
  else
    g_set_error (error, GST_IIO_DEVICE_ERROR, err == EBUSY ?
        GST_IIO_DEVICE_ERROR_BUSY : GST_IIO_DEVICE_ERROR_IO,
        "Cannot attach a DMABUF to the IIO buffer: %s%s", g_strerror (err),
        err == EBUSY ? " (this DMABUF is already attached to it, or the "
        "buffer is enabled in read()/write() mode)" : err == ENODEV ? "" :
        " (if the converter's DMA engine needs physically contiguous memory, "
        "set dma-heap to a CMA heap: default_cma_region, linux,cma or "
        "reserved)");
  return FALSE;
}

void
gst_iio_block_detach (gint buffer_fd, gint dmabuf_fd)
{
  ioctl (buffer_fd, IIO_BUFFER_DMABUF_DETACH_IOCTL, &dmabuf_fd);
}

/* Exported right after the enqueue, the sync_file holds the block's fence
 * while it is pending, so its error can be read once it signals. */
static gint
export_fence (gint dmabuf_fd)
{
  struct dma_buf_export_sync_file req = {.flags = DMA_BUF_SYNC_RW,.fd = -1 };

  if (ioctl (dmabuf_fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &req) < 0)
    return -1;
  return req.fd;
}

static gint
enqueue_once (gint buffer_fd, gint dmabuf_fd, gsize bytes, gboolean cyclic)
{
  struct iio_dmabuf req = {
    .fd = dmabuf_fd,
    .flags = cyclic ? IIO_BUFFER_DMABUF_CYCLIC : 0,
    .bytes_used = bytes,
  };

  if (ioctl (buffer_fd, IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, &req) < 0)
    return -1;
  return export_fence (dmabuf_fd);
}

/**
 * gst_iio_block_enqueue:
 * @buffer_fd: an IIO buffer fd
 * @dmabuf_fd: an attached DMABUF
 * @bytes: how many of its bytes to transfer
 * @cyclic: repeat it until the buffer is disabled (output buffers only)
 * @reattach: whether a DMABUF the kernel keeps busy may be attached again
 *     (only while the buffer is enabled: an attach drops the blocks queued
 *     to a disabled buffer)
 * @queued_at: (out) (optional): g_get_monotonic_time() just before the
 *     block went to the kernel (see gst_iio_block_never_transferred())
 * @error: (nullable): why the kernel refused
 *
 * A DMABUF whose earlier submit failed inside the kernel stays busy there
 * (EBUSY) until it is attached again: with @reattach that is done here,
 * once.
 *
 * Returns: a sync_file fd for the block's fence (see gst_iio_fence_state()),
 * or -1
 */
gint
gst_iio_block_enqueue (gint buffer_fd, gint dmabuf_fd, gsize bytes,
    gboolean cyclic, gboolean reattach, gint64 * queued_at, GError ** error)
{
  gint sync_fd, err;

  if (queued_at)
    *queued_at = g_get_monotonic_time ();
  sync_fd = enqueue_once (buffer_fd, dmabuf_fd, bytes, cyclic);
  if (sync_fd < 0 && errno == EBUSY && reattach) {
    gst_iio_block_detach (buffer_fd, dmabuf_fd);
    if (!gst_iio_block_attach (buffer_fd, dmabuf_fd, error))
      return -1;
    if (queued_at)
      *queued_at = g_get_monotonic_time ();
    sync_fd = enqueue_once (buffer_fd, dmabuf_fd, bytes, cyclic);
  }
  if (sync_fd >= 0)
    return sync_fd;
  err = errno;
  g_set_error (error, GST_IIO_DEVICE_ERROR,
      gst_iio_device_error_code_for_errno (err),
      "Cannot enqueue a block of %" G_GSIZE_FORMAT " bytes: %s", bytes,
      g_strerror (err));
  return -1;
}

/**
 * gst_iio_block_never_transferred:
 * @elapsed_us: from just before the enqueue to just after the export
 * @block_us: how long the converter takes for one block; 0 if unknown
 * @earlier_pending: a block queued before this one is still pending
 *
 * A fence already signalled when it was exported is one of two things: a
 * submit that failed inside the kernel (the block was never transferred,
 * its content is stale), or a block that really completed while this
 * thread was preempted between the enqueue and the export. A block cannot
 * complete before the blocks queued ahead of it, nor sooner than its own
 * duration after it was queued: either proves a failed submit.
 *
 * Returns: whether the block certainly never reached the converter
 */
gboolean
gst_iio_block_never_transferred (gint64 elapsed_us, gint64 block_us,
    gboolean earlier_pending)
{
  return earlier_pending || elapsed_us < block_us;
}

/**
 * gst_iio_fence_read:
 * @sync_fd: a sync_file from gst_iio_block_enqueue()
 * @after_ns: a CLOCK_MONOTONIC time the fence cannot have signalled before
 *     (when its block was queued)
 * @error_code: (out) (optional): the negative errno of a failed block
 * @done_ns: (out) (optional): when the transfer ended (CLOCK_MONOTONIC,
 *     ns), or -1 if pending or unknown
 *
 * One SYNC_IOC_FILE_INFO: the fence's state and the time it signalled. A
 * fence already signalled when exported is a stub (GST_IIO_FENCE_STUB):
 * the block never reached the hardware (its submit failed), even though
 * the enqueue succeeded, or completed before the export (see
 * gst_iio_block_never_transferred()); a stub's time is its own and tells
 * nothing, so @done_ns is -1.
 */
GstIioFenceState
gst_iio_fence_read (gint sync_fd, gint64 after_ns, gint * error_code,
    gint64 * done_ns)
{
  struct sync_fence_info fences[4];
  struct sync_file_info info;
  gint64 last = -1;
  guint i;

  memset (&info, 0, sizeof info);
  memset (fences, 0, sizeof fences);
  info.num_fences = G_N_ELEMENTS (fences);
  info.sync_fence_info = (guintptr) fences;
  if (done_ns)
    *done_ns = -1;
  if (ioctl (sync_fd, SYNC_IOC_FILE_INFO, &info) < 0) {
    if (error_code)
      *error_code = -errno;
    return GST_IIO_FENCE_FAILED;
  }
  if (error_code)
    *error_code = info.status < 0 ? info.status : 0;
  if (info.status == 0)
    return GST_IIO_FENCE_PENDING;
  /* by name in Linux 6.12; later kernels name every signalled fence
   * "detached-driver", but the stub's time is from its first use, which
   * our elements make before they queue anything (see
   * gst_iio_fence_date_stub()) */
  if (info.status > 0 && info.num_fences == 1
      && (g_str_equal (fences[0].driver_name, "stub")
          || (gint64) fences[0].timestamp_ns < after_ns))
    return GST_IIO_FENCE_STUB;
  for (i = 0; i < MIN (info.num_fences, G_N_ELEMENTS (fences)); i++)
    last = MAX (last, (gint64) fences[i].timestamp_ns);
  if (done_ns && last >= after_ns)
    *done_ns = last;
  return info.status > 0 ? GST_IIO_FENCE_DONE : GST_IIO_FENCE_FAILED;
}

/**
 * gst_iio_fence_date_stub:
 * @dmabuf_fd: a DMABUF with nothing queued on it
 *
 * Exports its fence, which is the kernel's stub: made on its first use,
 * signalled then, and dated then. Called before blocks are queued, it
 * dates the stub before them, so that gst_iio_fence_read() knows a stub
 * by its time as well as by its name.
 */
void
gst_iio_fence_date_stub (gint dmabuf_fd)
{
  gint fd = export_fence (dmabuf_fd);

  if (fd >= 0)
    close (fd);
}

/**
 * gst_iio_fence_state:
 * @sync_fd: a sync_file from gst_iio_block_enqueue()
 * @error_code: (out) (optional): the negative errno of a failed block
 *
 * gst_iio_fence_read() without the time; a stub is known by its name only
 * (GST_IIO_FENCE_STUB on Linux 6.12, GST_IIO_FENCE_DONE on later kernels).
 */
GstIioFenceState
gst_iio_fence_state (gint sync_fd, gint * error_code)
{
  return gst_iio_fence_read (sync_fd, 0, error_code, NULL);
}

/**
 * gst_iio_device_probe_dmabuf:
 * @dev: an open device whose buffer is not in use here
 *
 * Attaches one page-sized DMABUF to the device's buffer, and detaches it:
 * only drivers on the IIO DMA buffer core take DMABUFs.
 *
 * Returns: whether it does; UNKNOWN when the buffer is busy (another
 * process streams from it) or no DMABUF could be made
 */
GstIioDmabufSupport
gst_iio_device_probe_dmabuf (GstIioDevice * dev)
{
  GstIioDmabufSupport support = GST_IIO_DMABUF_SUPPORT_UNKNOWN;
  GstIioDmabufOrigin origin;
  GError *error = NULL;
  gint fd;

  if (!gst_iio_device_open_buffer (dev, NULL))
    return support;
  fd = gst_iio_dmabuf_alloc (GST_IIO_DMABUF_DEFAULT_HEAP, 4096, &origin,
      NULL, NULL);
  if (fd >= 0 && gst_iio_block_attach (dev->buffer_fd, fd, &error)) {
    support = GST_IIO_DMABUF_SUPPORT_YES;
    gst_iio_block_detach (dev->buffer_fd, fd);
  } else if (g_error_matches (error, GST_IIO_DEVICE_ERROR,
          GST_IIO_DEVICE_ERROR_NO_DMABUF)) {
    support = GST_IIO_DMABUF_SUPPORT_NO;
  }
  g_clear_error (&error);
  if (fd >= 0)
    close (fd);
  close (dev->buffer_fd);
  dev->buffer_fd = -1;
  return support;
}
