/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Test helpers for where DMABUFs come from: the test VM has a DMA heap,
 * /dev/udmabuf and vgem's DRM device; a kernel without one (Debian's ARM
 * kernels have no DMA heap, the 32-bit one no udmabuf) is what the VM
 * becomes once its node is hidden (renamed, as root). Each test's fixture
 * puts back what a failed test left hidden.
 */
#ifndef __TESTS_ORIGINS_H__
#define __TESTS_ORIGINS_H__

#include <gst/check/gstcheck.h>

#include <libdrm/drm.h>
#include <libdrm/drm_mode.h>
#include <linux/dma-heap.h>
#include <linux/udmabuf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../privileges.h"

#define UDMABUF_NODE "/dev/udmabuf"
#define DRM_DIR "/dev/dri"
#define HIDDEN ".hidden"

/* Renames @path out of the way, as if the kernel had none (a kernel that
 * has none, as Debian's armmp has no udmabuf, needs nothing hidden). */
static inline void
hide_node (const gchar * path)
{
  gchar *hidden;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return;
  hidden = g_strconcat (path, HIDDEN, NULL);

  fail_unless (rename (path, hidden) == 0, "hide %s: %s", path,
      g_strerror (errno));
  g_free (hidden);
}

/* Puts back every node hidden. */
static inline void
restore_nodes (void)
{
  static const gchar *paths[] = { UDMABUF_NODE, DRM_DIR };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (paths); i++) {
    gchar *hidden = g_strconcat (paths[i], HIDDEN, NULL);

    if (g_file_test (hidden, G_FILE_TEST_EXISTS))
      fail_unless (rename (hidden, paths[i]) == 0, "restore %s: %s",
          paths[i], g_strerror (errno));
    g_free (hidden);
  }
}

#define HEAP_NODE "/dev/dma_heap/system"

/* The first origin io-mode=auto takes on this kernel, as dmabuf-origin
 * and fdinfo's exporter name it: the system heap (amd64), else udmabuf
 * (Debian's arm64 kernel), else a DRM device (vgem; its armmp kernel). */
static inline void
first_origin (const gchar ** origin, const gchar ** exporter)
{
  if (g_file_test (HEAP_NODE, G_FILE_TEST_EXISTS)) {
    *origin = "dma-heap";
    *exporter = "system";
  } else if (g_file_test (UDMABUF_NODE, G_FILE_TEST_EXISTS)) {
    *origin = *exporter = "udmabuf";
  } else {
    *origin = *exporter = "drm";
  }
}

/* The card node of vgem (the VM's only DRM device). */
static inline gchar *
drm_card (void)
{
  GDir *dir = g_dir_open (DRM_DIR, 0, NULL);
  const gchar *name;
  gchar *card = NULL;

  fail_unless (dir != NULL, "no %s: is vgem loaded?", DRM_DIR);
  while (!card && (name = g_dir_read_name (dir)))
    if (g_str_has_prefix (name, "card"))
      card = g_build_filename (DRM_DIR, name, NULL);
  g_dir_close (dir);
  fail_unless (card != NULL, "no DRM card node: is vgem loaded?");
  return card;
}


/* A DMABUF of @size (rounded up to pages) made as another program would,
 * not through the elements: from the system heap, else udmabuf, else a
 * dumb buffer of vgem. */
static inline gint
foreign_dmabuf_new (gsize size)
{
  gsize page = sysconf (_SC_PAGESIZE), whole = (size + page - 1) / page * page;
  gint fd = -1, dev;

  if ((dev = open (HEAP_NODE, O_RDWR | O_CLOEXEC)) >= 0) {
    struct dma_heap_allocation_data req = {.len = whole,
      .fd_flags = O_RDWR | O_CLOEXEC
    };
    if (ioctl (dev, DMA_HEAP_IOCTL_ALLOC, &req) == 0)
      fd = req.fd;
  } else if ((dev = open (UDMABUF_NODE, O_RDWR | O_CLOEXEC)) >= 0) {
    struct udmabuf_create req = {.flags = UDMABUF_FLAGS_CLOEXEC,.size = whole };
    gint mem = memfd_create ("foreign", MFD_ALLOW_SEALING | MFD_CLOEXEC);

    if (mem >= 0 && ftruncate (mem, whole) == 0
        && fcntl (mem, F_ADD_SEALS, F_SEAL_SHRINK) == 0) {
      req.memfd = mem;
      fd = ioctl (dev, UDMABUF_CREATE, &req);
    }
    if (mem >= 0)
      close (mem);
  } else {
    gchar *card = drm_card ();
    struct drm_mode_create_dumb dumb = {.width = 4096,.bpp = 8,
      .height = (whole + 4095) / 4096
    };
    struct drm_gem_close gem = { 0 };

    dev = open (card, O_RDWR | O_CLOEXEC);
    g_free (card);
    if (dev >= 0 && ioctl (dev, DRM_IOCTL_MODE_CREATE_DUMB, &dumb) == 0) {
      struct drm_prime_handle prime = {.handle = dumb.handle,
        .flags = DRM_CLOEXEC | DRM_RDWR
      };
      if (ioctl (dev, DRM_IOCTL_PRIME_HANDLE_TO_FD, &prime) == 0)
        fd = prime.fd;
      gem.handle = dumb.handle;
      ioctl (dev, DRM_IOCTL_GEM_CLOSE, &gem);
    }
  }
  if (dev >= 0)
    close (dev);
  fail_unless (fd >= 0, "no DMABUF of %" G_GSIZE_FORMAT " bytes from a heap, "
      "udmabuf or vgem: %s", size, g_strerror (errno));
  return fd;
}

/* The exporter of a DMABUF, as the kernel names it in fdinfo: "system"
 * (the system heap), "udmabuf", "drm" (a DRM device's dumb buffer). */
static inline gchar *
dmabuf_exporter (gint fd)
{
  gchar *path = g_strdup_printf ("/proc/self/fdinfo/%d", fd), *text = NULL;
  gchar *name = NULL, *at;

  if (g_file_get_contents (path, &text, NULL, NULL)
      && (at = strstr (text, "exp_name:")))
    name = g_strndup (g_strchug (at + strlen ("exp_name:")),
        strcspn (g_strchug (at + strlen ("exp_name:")), "\n"));
  g_free (text);
  g_free (path);
  return name ? name : g_strdup ("?");
}

/* A node of @node's device that only user nobody may open (mode 0600),
 * in /run; call drop_dac_override() before using it. */
static inline gchar *
node_without_access (const gchar * node)
{
  gchar *copy = g_strdup ("/run/iiodmabuf-card9");
  struct stat st;

  fail_unless (stat (node, &st) == 0);
  unlink (copy);
  fail_unless (mknod (copy, S_IFCHR | 0600, st.st_rdev) == 0, "mknod: %s",
      g_strerror (errno));
  fail_unless (chown (copy, 65534, 65534) == 0);
  return copy;
}

#endif /* __TESTS_ORIGINS_H__ */
