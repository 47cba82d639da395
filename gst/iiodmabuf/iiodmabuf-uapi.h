/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Kernel ABI used by gst-iiodmabuf that older system headers lack.
 *
 * The IIO DMABUF ioctls arrived in Linux 6.11; Debian 12's headers (6.1) only
 * know IIO_BUFFER_GET_FD_IOCTL. Each definition is guarded so that newer
 * system headers win.
 */
#ifndef __IIODMABUF_UAPI_H__
#define __IIODMABUF_UAPI_H__

#include <linux/types.h>
#include <linux/ioctl.h>
#include <linux/iio/buffer.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/sync_file.h>
#include <linux/udmabuf.h>

#ifndef IIO_BUFFER_DMABUF_CYCLIC
#define IIO_BUFFER_DMABUF_CYCLIC          (1 << 0)
#define IIO_BUFFER_DMABUF_SUPPORTED_FLAGS 0x00000001

/* One block to transfer: which DMABUF, how, and how many of its bytes. */
struct iio_dmabuf
{
  __u32 fd;
  __u32 flags;
  __u64 bytes_used;
};
#endif

#ifndef IIO_BUFFER_GET_FD_IOCTL
#define IIO_BUFFER_GET_FD_IOCTL           _IOWR('i', 0x91, int)
#endif
#ifndef IIO_BUFFER_DMABUF_ATTACH_IOCTL
#define IIO_BUFFER_DMABUF_ATTACH_IOCTL    _IOW('i', 0x92, int)
#endif
#ifndef IIO_BUFFER_DMABUF_DETACH_IOCTL
#define IIO_BUFFER_DMABUF_DETACH_IOCTL    _IOW('i', 0x93, int)
#endif
#ifndef IIO_BUFFER_DMABUF_ENQUEUE_IOCTL
#define IIO_BUFFER_DMABUF_ENQUEUE_IOCTL   _IOW('i', 0x94, struct iio_dmabuf)
#endif

#endif /* __IIODMABUF_UAPI_H__ */
