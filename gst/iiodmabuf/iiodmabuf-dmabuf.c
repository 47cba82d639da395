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
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#ifdef HAVE_LIBDRM
#include <xf86drm.h>
#endif

/* The kernel waits up to this long inside an ENQUEUE for the fences on a
 * DMABUF: a call interrupted again and again gives up after as long. */
#define RESTART_LIMIT_US (5 * G_USEC_PER_SEC)

/* ioctl() again while a signal interrupts it (a handler installed without
 * SA_RESTART makes the kernel return EINTR): the calls here can all be
 * repeated, and an application's timer must not fail a stream. Bounded:
 * a blocking wait restarted forever would never time out. */
static gint
ioctl_restarting (gint fd, gulong request, gpointer arg)
{
  gint64 end = 0;
  gint ret;

  while ((ret = ioctl (fd, request, arg)) < 0 && errno == EINTR) {
    if (!end)
      end = g_get_monotonic_time () + RESTART_LIMIT_US;
    else if (g_get_monotonic_time () > end)
      break;
  }
  return ret;
}

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
  if (ioctl_restarting (hfd, DMA_HEAP_IOCTL_ALLOC, &req) < 0) {
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
    fd = ioctl_restarting (ufd, UDMABUF_CREATE, &req);
  }
  err = errno;
  if (mfd >= 0)
    close (mfd);
  close (ufd);
  errno = err;
  return fd;
}

/* --- DRM dumb buffers ----------------------------------------------------- */

#define DUMB_WIDTH 4096
/* some kernels refuse dumb buffers of 8192 rows or more */
#define DUMB_MAX_ROWS 8191

/**
 * gst_iio_dmabuf_have_drm:
 *
 * Returns: whether this build makes DMABUFs from DRM dumb buffers (it was
 * built with libdrm)
 */
gboolean
gst_iio_dmabuf_have_drm (void)
{
#ifdef HAVE_LIBDRM
  return TRUE;
#else
  return FALSE;
#endif
}

/**
 * gst_iio_dumb_geometry:
 * @size: bytes wanted
 * @width: (out): pixels a row
 * @height: (out): rows
 * @bpp: (out): bits a pixel
 *
 * The dumb buffer that holds @size bytes: rows of 4096 pixels of 8 bits,
 * or of 32 bits where 8 would take 8192 rows or more.
 */
void
gst_iio_dumb_geometry (gsize size, guint32 * width, guint32 * height,
    guint32 * bpp)
{
  gsize rows = (size + DUMB_WIDTH - 1) / DUMB_WIDTH, row;

  *width = DUMB_WIDTH;
  *bpp = rows > DUMB_MAX_ROWS ? 32 : 8;
  row = *bpp == 32 ? 4 * DUMB_WIDTH : DUMB_WIDTH;
  *height = (guint32) CLAMP ((size + row - 1) / row, 1, G_MAXUINT32);
}

/* What became of a try at a DRM node. */
typedef struct
{
  gchar *node;                  /* NULL: no node worth naming */
  gint err;                     /* errno of open() or, if opened, the ioctls */
  gboolean opened;
  gboolean render;              /* a render node */
} DrmTry;

#ifdef HAVE_LIBDRM
/* A dumb buffer of @node as a DMABUF. The GEM handle is closed at once
 * (the DMABUF holds the memory), and the node too: a KMS card's primary
 * node held open could keep DRM master from a display server. */
static gint
alloc_dumb (const gchar * node, gsize size, DrmTry * t)
{
  struct drm_mode_create_dumb req = { 0, };
  struct drm_gem_close gem = { 0, };
  guint64 has_dumb = 1;
  gint dfd = open (node, O_RDWR | O_CLOEXEC), fd = -1;

  t->err = errno;
  t->opened = dfd >= 0;
  if (dfd < 0)
    return -1;
  t->render = drmGetNodeTypeFromFd (dfd) == DRM_NODE_RENDER;
  gst_iio_dumb_geometry (size, &req.width, &req.height, &req.bpp);
  /* render-only drivers (vgem) answer no KMS cap, yet have dumb buffers */
  if (drmGetCap (dfd, DRM_CAP_DUMB_BUFFER, &has_dumb) == 0 && !has_dumb)
    t->err = EOPNOTSUPP;
  else if (drmIoctl (dfd, DRM_IOCTL_MODE_CREATE_DUMB, &req) < 0)
    t->err = errno;
  else {
    if (drmPrimeHandleToFD (dfd, req.handle, DRM_CLOEXEC | DRM_RDWR, &fd) < 0)
      t->err = errno;
    gem.handle = req.handle;
    drmIoctl (dfd, DRM_IOCTL_GEM_CLOSE, &gem);
  }
  close (dfd);
  return fd;
}
#else
static gint
alloc_dumb (const gchar * node, gsize size, DrmTry * t)
{
  t->err = ENOSYS;
  return -1;
}
#endif

static gboolean
is_size_errno (gint err)
{
  return err == ENOMEM || err == EINVAL || err == ENOSPC || err == EFBIG;
}

/* How much a failed try tells, for the one a search reports: a size the
 * device refused, then a card node the user may not open; the rest
 * (render nodes, which make no dumb buffers in mainline even when they
 * open, drivers without dumb buffers) only says nothing here has any. */
static gint
drm_try_rank (const DrmTry * t)
{
  if (t->opened && is_size_errno (t->err))
    return 3;
  if (!t->opened && (t->err == EACCES || t->err == EPERM)
      && !strstr (t->node ? t->node : "", "/renderD"))
    return 2;
  return 1;
}

/* "renderD128" before "card0", "card2" before "card10". */
static gint
compare_nodes (gconstpointer a, gconstpointer b)
{
  const gchar *x = *(const gchar **) a, *y = *(const gchar **) b;
  gboolean rx = g_str_has_prefix (x, "renderD");
  gboolean ry = g_str_has_prefix (y, "renderD");

  if (rx != ry)
    return rx ? -1 : 1;
  if (strlen (x) != strlen (y))
    return strlen (x) < strlen (y) ? -1 : 1;
  return strcmp (x, y);
}

/* The DRM nodes to search: render nodes, then card nodes. Mainline Linux
 * makes dumb buffers on card nodes only, but a render node needs no DRM
 * master where a kernel allows them there. */
static GPtrArray *
drm_nodes (void)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  GDir *dir = g_dir_open (GST_IIO_DMABUF_DRM_DIR, 0, NULL);
  const gchar *name;
  guint i;

  while (dir && (name = g_dir_read_name (dir)))
    if (g_str_has_prefix (name, "renderD") || g_str_has_prefix (name, "card"))
      g_ptr_array_add (names, g_strdup (name));
  if (dir)
    g_dir_close (dir);
  g_ptr_array_sort (names, compare_nodes);
  for (i = 0; i < names->len; i++) {
    gchar *path = g_build_filename (GST_IIO_DMABUF_DRM_DIR, names->pdata[i],
        NULL);

    g_free (names->pdata[i]);
    names->pdata[i] = path;
  }
  return names;
}

/* The first DRM node that makes a dumb buffer of @size bytes; else @best
 * tells the most telling failure. */
static gint
search_drm (gsize size, DrmTry * best)
{
  GPtrArray *nodes = drm_nodes ();
  gint fd = -1;
  guint i;

  for (i = 0; i < nodes->len && fd < 0; i++) {
    DrmTry t = {.node = nodes->pdata[i] };

    fd = alloc_dumb (t.node, size, &t);
    if (fd >= 0 || drm_try_rank (&t) > MAX (drm_try_rank (best), 1)) {
      g_free (best->node);
      *best = t;
      best->node = g_strdup (t.node);
    }
  }
  g_ptr_array_unref (nodes);
  return fd;
}

/* --- where DMABUFs come from ---------------------------------------------- */

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

/**
 * gst_iio_dmabuf_origin_name:
 *
 * Returns: "auto", "dma-heap", "udmabuf" or "drm"
 */
const gchar *
gst_iio_dmabuf_origin_name (GstIioDmabufOrigin origin)
{
  switch (origin) {
    case GST_IIO_DMABUF_ORIGIN_HEAP:
      return "dma-heap";
    case GST_IIO_DMABUF_ORIGIN_UDMABUF:
      return "udmabuf";
    case GST_IIO_DMABUF_ORIGIN_DRM:
      return "drm";
    default:
      return "auto";
  }
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

/* Why /dev/udmabuf gave no DMABUF, and what to do. */
static gchar *
describe_udmabuf_problem (gsize size, gint err)
{
  if (err == EACCES || err == EPERM)
    return g_strdup_printf ("cannot allocate %" G_GSIZE_FORMAT " bytes from "
        "%s: %s (give your user access with a udev rule: "
        "KERNEL==\"udmabuf\", GROUP=\"video\", MODE=\"0660\")", size,
        GST_IIO_DMABUF_UDMABUF, g_strerror (err));
  if (err == ENOENT)
    return g_strdup_printf ("there is no %s (a kernel built with "
        "CONFIG_UDMABUF has it)", GST_IIO_DMABUF_UDMABUF);
  return g_strdup_printf ("cannot allocate %" G_GSIZE_FORMAT " bytes from "
      "%s: %s", size, GST_IIO_DMABUF_UDMABUF, g_strerror (err));
}

/* Why no DRM device gave a dumb buffer, and what to do. */
static gchar *
describe_drm_problem (const DrmTry * t, gsize size)
{
  const gchar *name;

  if (!gst_iio_dmabuf_have_drm ())
    return g_strdup_printf ("no DRM dumb buffers: this build has no libdrm");
  if (!t->node)
    return g_strdup_printf ("no DRM device in %s makes dumb buffers "
        "(modprobe vgem makes one)", GST_IIO_DMABUF_DRM_DIR);
  name = strrchr (t->node, '/') ? strrchr (t->node, '/') + 1 : t->node;
  if (!t->opened && (t->err == EACCES || t->err == EPERM))
    return g_strdup_printf ("cannot open DRM device %s: %s (add the user to "
        "its group, video or render, or give access with a udev rule: "
        "SUBSYSTEM==\"drm\", KERNEL==\"%s\", GROUP=\"video\", "
        "MODE=\"0660\")", t->node, g_strerror (t->err), name);
  if (!t->opened)
    return g_strdup_printf ("cannot open DRM device %s: %s", t->node,
        g_strerror (t->err));
  if (t->render)
    return g_strdup_printf ("%s is a DRM render node, which makes no dumb "
        "buffers: use a card node (%s/card*)", t->node, GST_IIO_DMABUF_DRM_DIR);
  if (t->err == ENOTTY)
    return g_strdup_printf ("%s is not a DRM device", t->node);
  if (t->err == EOPNOTSUPP || t->err == ENOSYS)
    return g_strdup_printf ("DRM device %s makes no dumb buffers", t->node);
  return g_strdup_printf ("cannot allocate %" G_GSIZE_FORMAT " bytes as a "
      "dumb buffer of %s: %s", size, t->node, g_strerror (t->err));
}

struct _GstIioDmabufSource
{
  GMutex lock;
  GstIioDmabufOrigin origin;    /* asked for */
  gchar *heap;                  /* the DMA heap's node */
  gchar *drm_device;            /* asked for; NULL: search */
  GstIioDmabufOrigin used;      /* where the DMABUFs come from; AUTO
                                 * until one was made */
  gchar *drm_node;              /* the DRM node that made them */
  gchar *passed_over;           /* why the origins before were not used */
};

/**
 * gst_iio_dmabuf_source_new:
 * @origin: where DMABUFs come from; AUTO: a DMA heap, else udmabuf, else
 *     a DRM device's dumb buffers
 * @heap: (nullable): a DMA heap's name or node (see
 *     gst_iio_dma_heap_path()); %NULL for the system heap
 * @drm_device: (nullable): the DRM node for dumb buffers; %NULL: the first
 *     in /dev/dri that makes them
 *
 * Once a DMABUF was made, the later ones come from the same place.
 *
 * Returns: (transfer full): a new source
 */
GstIioDmabufSource *
gst_iio_dmabuf_source_new (GstIioDmabufOrigin origin, const gchar * heap,
    const gchar * drm_device)
{
  GstIioDmabufSource *src = g_new0 (GstIioDmabufSource, 1);

  g_mutex_init (&src->lock);
  src->origin = origin;
  src->heap = gst_iio_dma_heap_path (heap ? heap : GST_IIO_DMABUF_DEFAULT_HEAP);
  src->drm_device = drm_device && *drm_device ? g_strdup (drm_device) : NULL;
  src->used = GST_IIO_DMABUF_ORIGIN_AUTO;
  return src;
}

void
gst_iio_dmabuf_source_free (GstIioDmabufSource * src)
{
  g_mutex_clear (&src->lock);
  g_free (src->heap);
  g_free (src->drm_device);
  g_free (src->drm_node);
  g_free (src->passed_over);
  g_free (src);
}

/* The DRM node that served before, else the one asked for, else a
 * search. */
static gint
try_drm (GstIioDmabufSource * src, gsize size, DrmTry * t)
{
  const gchar *node = src->drm_node ? src->drm_node : src->drm_device;

  memset (t, 0, sizeof *t);
  if (!gst_iio_dmabuf_have_drm ()) {
    t->err = ENOSYS;
    return -1;
  }
  if (!node)
    return search_drm (size, t);
  t->node = g_strdup (node);
  return alloc_dumb (node, size, t);
}

/* @fd came from @origin: so do the next ones. */
static gint
found (GstIioDmabufSource * src, GstIioDmabufOrigin origin, gint fd,
    DrmTry * t, gchar * passed_over)
{
  src->used = origin;
  if (origin == GST_IIO_DMABUF_ORIGIN_DRM && !src->drm_node)
    src->drm_node = g_steal_pointer (&t->node);
  g_free (src->passed_over);
  src->passed_over = passed_over;
  return fd;
}

static gint
auto_error_code (GstIioDmabufSource * src, gint heap_err, gint udmabuf_err,
    const DrmTry * t)
{
  if (is_size_errno (heap_err) || is_size_errno (udmabuf_err)
      || drm_try_rank (t) == 3)
    return GST_IIO_DEVICE_ERROR_IO;
  /* the node asked for is an error of its own, not a reason to copy */
  if (src->drm_device && gst_iio_dmabuf_have_drm ())
    return t->opened ? GST_IIO_DEVICE_ERROR_INVALID :
        gst_iio_device_error_code_for_errno (t->err);
  return GST_IIO_DEVICE_ERROR_NO_ALLOCATOR;
}

/* A DMA heap, else udmabuf, else a DRM device; why the ones passed over
 * were is kept for the log. */
static gint
alloc_auto (GstIioDmabufSource * src, gsize size, GError ** error)
{
  gchar *heap, *udmabuf, *drm;
  gint fd, heap_err, udmabuf_err, code;
  DrmTry t = { 0, };

  fd = alloc_from_heap (src->heap, size);
  heap_err = errno;
  if (fd >= 0)
    return found (src, GST_IIO_DMABUF_ORIGIN_HEAP, fd, &t, NULL);
  heap = describe_heap_problem (src->heap, size, heap_err);
  fd = alloc_from_udmabuf (size);
  udmabuf_err = errno;
  if (fd >= 0)
    return found (src, GST_IIO_DMABUF_ORIGIN_UDMABUF, fd, &t, heap);
  udmabuf = describe_udmabuf_problem (size, udmabuf_err);
  fd = try_drm (src, size, &t);
  if (fd >= 0) {
    fd = found (src, GST_IIO_DMABUF_ORIGIN_DRM, fd, &t,
        g_strjoin ("; ", heap, udmabuf, NULL));
  } else {
    drm = describe_drm_problem (&t, size);
    code = auto_error_code (src, heap_err, udmabuf_err, &t);
    g_set_error (error, GST_IIO_DEVICE_ERROR, code, "No DMABUF of %"
        G_GSIZE_FORMAT " bytes: %s; %s; %s. %s", size, heap, udmabuf, drm,
        code == GST_IIO_DEVICE_ERROR_IO ?
        "Use smaller blocks (samples-per-block)." :
        "Load vgem (modprobe vgem), or give your user access to one of "
        "them.");
    g_free (drm);
  }
  g_free (heap);
  g_free (udmabuf);
  g_free (t.node);
  return fd;
}

/* Why @origin gave no DMABUF, and what to do. */
static gchar *
describe_problem (GstIioDmabufSource * src, GstIioDmabufOrigin origin,
    gsize size, gint err, const DrmTry * t)
{
  if (origin == GST_IIO_DMABUF_ORIGIN_HEAP)
    return describe_heap_problem (src->heap, size, err);
  if (origin == GST_IIO_DMABUF_ORIGIN_UDMABUF)
    return describe_udmabuf_problem (size, err);
  return describe_drm_problem (t, size);
}

/* One origin: the one asked for, or the one that served before. */
static gint
alloc_one (GstIioDmabufSource * src, GstIioDmabufOrigin origin, gsize size,
    GError ** error)
{
  DrmTry t = { 0, };
  gchar *problem;
  gint fd, err, code;

  if (origin == GST_IIO_DMABUF_ORIGIN_HEAP)
    fd = alloc_from_heap (src->heap, size);
  else if (origin == GST_IIO_DMABUF_ORIGIN_UDMABUF)
    fd = alloc_from_udmabuf (size);
  else
    fd = try_drm (src, size, &t);
  err = origin == GST_IIO_DMABUF_ORIGIN_DRM ? t.err : errno;
  if (fd >= 0) {
    fd = found (src, origin, fd, &t, NULL);
    g_free (t.node);
    return fd;
  }
  problem = describe_problem (src, origin, size, err, &t);
  code = origin == GST_IIO_DMABUF_ORIGIN_DRM && t.opened ?
      (is_size_errno (err) ? GST_IIO_DEVICE_ERROR_IO :
      GST_IIO_DEVICE_ERROR_INVALID) : gst_iio_device_error_code_for_errno (err);
  g_set_error (error, GST_IIO_DEVICE_ERROR, code, "No DMABUF of %"
      G_GSIZE_FORMAT " bytes: %s. %s", size, problem, is_size_errno (err) ?
      "Use smaller blocks (samples-per-block)." :
      src->origin == GST_IIO_DMABUF_ORIGIN_AUTO ?
      "It made DMABUFs before: see the kernel log (dmesg)." :
      "Or set dmabuf-origin to auto.");
  g_free (problem);
  g_free (t.node);
  return -1;
}

/**
 * gst_iio_dmabuf_source_alloc:
 * @src: a #GstIioDmabufSource
 * @size: bytes
 * @error: (nullable): why no DMABUF could be made, and what to do;
 *     NO_ALLOCATOR when nothing here makes DMABUFs at all (read()/write()
 *     is then the way)
 *
 * Returns: a DMABUF's fd, or -1
 */
gint
gst_iio_dmabuf_source_alloc (GstIioDmabufSource * src, gsize size,
    GError ** error)
{
  GstIioDmabufOrigin origin;
  gint fd;

  g_mutex_lock (&src->lock);
  origin = src->used != GST_IIO_DMABUF_ORIGIN_AUTO ? src->used : src->origin;
  if (origin == GST_IIO_DMABUF_ORIGIN_AUTO)
    fd = alloc_auto (src, size, error);
  else
    fd = alloc_one (src, origin, size, error);
  g_mutex_unlock (&src->lock);
  return fd;
}

/**
 * gst_iio_dmabuf_source_get_origin:
 *
 * Returns: where the DMABUFs come from; AUTO until one was made
 */
GstIioDmabufOrigin
gst_iio_dmabuf_source_get_origin (GstIioDmabufSource * src)
{
  GstIioDmabufOrigin used;

  g_mutex_lock (&src->lock);
  used = src->used;
  g_mutex_unlock (&src->lock);
  return used;
}

/**
 * gst_iio_dmabuf_source_take_passed_over:
 *
 * Returns: (transfer full) (nullable): why the origins tried before the
 * one that served were not used, once
 */
gchar *
gst_iio_dmabuf_source_take_passed_over (GstIioDmabufSource * src)
{
  gchar *text;

  g_mutex_lock (&src->lock);
  text = g_steal_pointer (&src->passed_over);
  g_mutex_unlock (&src->lock);
  return text;
}

/**
 * gst_iio_block_attach:
 * @buffer_fd: an IIO buffer fd
 * @dmabuf_fd: a DMABUF
 * @error: NO_DMABUF when the buffer cannot take DMABUFs
 *
 * Attach every DMABUF before enqueueing the first: in Linux 6.12 an attach
 * drops blocks queued to a disabled buffer. On failure errno is the
 * kernel's (EBUSY at once, on an O_NONBLOCK buffer fd, while another
 * thread holds the DMABUF's reservation lock).
 */
gboolean
gst_iio_block_attach (gint buffer_fd, gint dmabuf_fd, GError ** error)
{
  gint err;

  if (ioctl_restarting (buffer_fd, IIO_BUFFER_DMABUF_ATTACH_IOCTL,
          &dmabuf_fd) == 0)
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
  errno = err;
  return FALSE;
}

void
gst_iio_block_detach (gint buffer_fd, gint dmabuf_fd)
{
  ioctl_restarting (buffer_fd, IIO_BUFFER_DMABUF_DETACH_IOCTL, &dmabuf_fd);
}

/* Exported right after the enqueue, the sync_file holds the block's fence
 * while it is pending, so its error can be read once it signals. */
static gint
export_fence (gint dmabuf_fd)
{
  struct dma_buf_export_sync_file req = {.flags = DMA_BUF_SYNC_RW,.fd = -1 };

  if (ioctl_restarting (dmabuf_fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &req) < 0)
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

  if (ioctl_restarting (buffer_fd, IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, &req) < 0)
    return -1;
  return export_fence (dmabuf_fd);
}

/**
 * gst_iio_block_reattach:
 * @buffer_fd: an IIO buffer fd
 * @dmabuf_fd: an attached DMABUF the kernel keeps busy
 * @error: (nullable): why the kernel refused the attach
 *
 * A DMABUF whose submit failed inside the kernel stays busy there (its
 * next ENQUEUE fails with EBUSY) until it is attached again. Only while
 * the buffer is enabled: an attach drops the blocks queued to a disabled
 * buffer.
 */
gboolean
gst_iio_block_reattach (gint buffer_fd, gint dmabuf_fd, GError ** error)
{
  gst_iio_block_detach (buffer_fd, dmabuf_fd);
  return gst_iio_block_attach (buffer_fd, dmabuf_fd, error);
}

/**
 * gst_iio_block_enqueue:
 * @buffer_fd: an IIO buffer fd
 * @dmabuf_fd: an attached DMABUF
 * @bytes: how many of its bytes to transfer
 * @cyclic: repeat it until the buffer is disabled (output buffers only)
 * @queued_at: (out) (optional): g_get_monotonic_time() just before the
 *     block went to the kernel (see gst_iio_block_never_transferred())
 * @error: (nullable): why the kernel refused
 *
 * EBUSY: the kernel keeps the DMABUF busy after a failed submit (see
 * gst_iio_block_reattach()), or, on a buffer fd opened O_NONBLOCK, other
 * fences are still on the DMABUF (another device reading it).
 *
 * Returns: a sync_file fd for the block's fence (see gst_iio_fence_state()),
 * or -1 with errno set
 */
gint
gst_iio_block_enqueue (gint buffer_fd, gint dmabuf_fd, gsize bytes,
    gboolean cyclic, gint64 * queued_at, GError ** error)
{
  gint sync_fd, err;

  if (queued_at)
    *queued_at = g_get_monotonic_time ();
  sync_fd = enqueue_once (buffer_fd, dmabuf_fd, bytes, cyclic);
  if (sync_fd >= 0)
    return sync_fd;
  err = errno;
  g_set_error (error, GST_IIO_DEVICE_ERROR,
      gst_iio_device_error_code_for_errno (err),
      "Cannot enqueue a block of %" G_GSIZE_FORMAT " bytes: %s", bytes,
      g_strerror (err));
  errno = err;
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

/* Fences a sync_file is read with in one call; a DMABUF read by more
 * devices than that at once takes a second call. */
#define FENCE_ROOM 8

/* SYNC_IOC_FILE_INFO: the status and each fence, in one call with room
 * for FENCE_ROOM fences (@room). A DMABUF read by more devices (DACs,
 * GPUs) gives a sync_file of more fences, for which the kernel refuses a
 * call with too little room (EINVAL): their number is then asked first
 * (num_fences 0) and *@fences allocated; free it unless it is @room. */
static gboolean
read_file_info (gint sync_fd, struct sync_file_info *info,
    struct sync_fence_info *room, struct sync_fence_info **fences)
{
  guint n;
  gint err;

  memset (info, 0, sizeof *info);
  info->num_fences = FENCE_ROOM;
  info->sync_fence_info = (guintptr) room;
  *fences = room;
  if (ioctl_restarting (sync_fd, SYNC_IOC_FILE_INFO, info) == 0)
    return TRUE;
  if (errno != EINVAL)
    return FALSE;
  memset (info, 0, sizeof *info);
  if (ioctl_restarting (sync_fd, SYNC_IOC_FILE_INFO, info) < 0)
    return FALSE;
  n = info->num_fences;
  *fences = g_new0 (struct sync_fence_info, n);
  memset (info, 0, sizeof *info);
  info->num_fences = n;
  info->sync_fence_info = (guintptr) * fences;
  if (ioctl_restarting (sync_fd, SYNC_IOC_FILE_INFO, info) == 0)
    return TRUE;
  err = errno;
  g_free (*fences);
  *fences = room;
  errno = err;
  return FALSE;
}

/* The sync_file's status from its fences, as its own fence (an array of
 * them) would say: pending while any is, else the first failure. The
 * kernel's status from a call with fences is the first one's that is not
 * done, which may be a failure while another device still reads. */
static gint
fences_status (const struct sync_fence_info *fences, guint n)
{
  gint status = 1;
  guint i;

  for (i = 0; i < n; i++) {
    if (fences[i].status == 0)
      return 0;
    if (fences[i].status < 0 && status > 0)
      status = fences[i].status;
  }
  return status;
}

/* Signalled before it was exported: by name in Linux 6.12; later kernels
 * name every signalled fence "detached-driver", but the stub's time is
 * from its first use, which our elements make before they queue anything
 * (see gst_iio_fence_date_stub()). */
static gboolean
is_stub (const struct sync_file_info *info,
    const struct sync_fence_info *fences, gint64 after_ns)
{
  return info->status > 0 && info->num_fences == 1
      && (g_str_equal (fences[0].driver_name, "stub")
      || (gint64) fences[0].timestamp_ns < after_ns);
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
 * The fence's state and the time it signalled, however many fences the
 * sync_file holds (the block's, and other devices' reading the same
 * DMABUF: it is done when all are). A fence already signalled when
 * exported is a stub (GST_IIO_FENCE_STUB): the block never reached the
 * hardware (its submit failed), even though the enqueue succeeded, or
 * completed before the export (see gst_iio_block_never_transferred()); a
 * stub's time is its own and tells nothing, so @done_ns is -1.
 */
GstIioFenceState
gst_iio_fence_read (gint sync_fd, gint64 after_ns, gint * error_code,
    gint64 * done_ns)
{
  return gst_iio_fence_read_counted (sync_fd, after_ns, error_code, done_ns,
      NULL);
}

/**
 * gst_iio_fence_read_counted:
 * @n_fences: (out) (optional): how many fences the sync_file holds (0 if
 *     it could not be read): with one, @done_ns is the block's own end
 *
 * gst_iio_fence_read(), and the number of fences.
 */
GstIioFenceState
gst_iio_fence_read_counted (gint sync_fd, gint64 after_ns, gint * error_code,
    gint64 * done_ns, guint * n_fences)
{
  struct sync_fence_info room[FENCE_ROOM], *fences;
  struct sync_file_info info;
  GstIioFenceState state;
  gint64 last = -1;
  guint i;

  if (done_ns)
    *done_ns = -1;
  if (n_fences)
    *n_fences = 0;
  if (!read_file_info (sync_fd, &info, room, &fences)) {
    if (error_code)
      *error_code = -errno;
    return GST_IIO_FENCE_FAILED;
  }
  if (n_fences)
    *n_fences = info.num_fences;
  if (info.num_fences)
    info.status = fences_status (fences, info.num_fences);
  if (error_code)
    *error_code = info.status < 0 ? info.status : 0;
  if (info.status == 0)
    state = GST_IIO_FENCE_PENDING;
  else if (is_stub (&info, fences, after_ns))
    state = GST_IIO_FENCE_STUB;
  else
    state = info.status > 0 ? GST_IIO_FENCE_DONE : GST_IIO_FENCE_FAILED;
  for (i = 0; state != GST_IIO_FENCE_PENDING && i < info.num_fences; i++)
    last = MAX (last, (gint64) fences[i].timestamp_ns);
  if (done_ns && state != GST_IIO_FENCE_STUB && last >= after_ns)
    *done_ns = last;
  if (fences != room)
    g_free (fences);
  return state;
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
