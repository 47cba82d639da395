/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Raw-ABI smoke test of the IIO DMABUF interface against the simulated
 * converters (tests/vm/iio-sim), with no GStreamer: DMABUFs from the system
 * DMA heap and from udmabuf, attach / enqueue / poll / detach, every sample
 * checked against the converters' formula, the DAC's checksum, the kfifo
 * device's refusal of DMABUF and its read() path, and fence errors read
 * through DMA_BUF_IOCTL_EXPORT_SYNC_FILE, the stall knob, what mainline's
 * dmaengine buffer does with geometry, misaligned blocks and aborted
 * transfers, and removal of a device while it streams.
 *
 * Run it in the VM: tests/vm/run-in-vm -- build/tests/kernel/abi-smoke
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libdrm/drm.h>
#include <libdrm/drm_mode.h>

#include "iiodmabuf-uapi.h"

#define WAIT_MS 5000
#define FNV1A64_OFFSET 0xcbf29ce484222325ULL
#define FNV1A64_PRIME 0x100000001b3ULL

static int passed;

#define CHECK(cond, ...) do {                                   \
    if (!(cond)) {                                              \
      fprintf (stderr, "FAIL %s:%d: ", __FILE__, __LINE__);     \
      fprintf (stderr, __VA_ARGS__);                            \
      fprintf (stderr, " (errno %d: %s)\n", errno, strerror (errno)); \
      printf ("%d passed, 1 failed\n", passed);                 \
      exit (1);                                                 \
    }                                                           \
  } while (0)

/* --- sysfs ---------------------------------------------------------------- */

struct device
{
  char sysfs[300];
  char node[300];
};

static void
find_device (const char *name, struct device *dev)
{
  char path[512], got[64] = "";
  struct dirent *de;
  DIR *d = opendir ("/sys/bus/iio/devices");
  FILE *f;

  CHECK (d != NULL, "no /sys/bus/iio/devices: is the iio-sim module loaded?");
  while ((de = readdir (d))) {
    if (strncmp (de->d_name, "iio:device", 10) != 0)
      continue;
    snprintf (path, sizeof path, "/sys/bus/iio/devices/%s/name", de->d_name);
    f = fopen (path, "r");
    if (!f)
      continue;
    got[0] = '\0';
    if (fgets (got, sizeof got, f))
      got[strcspn (got, "\n")] = '\0';
    fclose (f);
    if (strcmp (got, name) == 0) {
      snprintf (dev->sysfs, sizeof dev->sysfs, "/sys/bus/iio/devices/%s",
          de->d_name);
      snprintf (dev->node, sizeof dev->node, "/dev/%s", de->d_name);
      closedir (d);
      return;
    }
  }
  closedir (d);
  CHECK (0, "device %s not found", name);
}

static void
attr_write (const struct device *dev, const char *attr, const char *fmt, ...)
{
  char path[512], value[64];
  va_list ap;
  int fd, len;

  va_start (ap, fmt);
  len = vsnprintf (value, sizeof value, fmt, ap);
  va_end (ap);
  snprintf (path, sizeof path, "%s/%s", dev->sysfs, attr);
  fd = open (path, O_WRONLY);
  CHECK (fd >= 0, "open %s", path);
  CHECK (write (fd, value, len) == len, "write '%s' to %s", value, path);
  close (fd);
}

static unsigned long long
attr_read (const struct device *dev, const char *attr)
{
  char path[512], value[64] = "";
  FILE *f;

  snprintf (path, sizeof path, "%s/%s", dev->sysfs, attr);
  f = fopen (path, "r");
  CHECK (f != NULL, "open %s", path);
  CHECK (fgets (value, sizeof value, f) != NULL, "read %s", path);
  fclose (f);
  return strtoull (value, NULL, 0);
}

/*
 * Disables buffer0 and enables exactly the first @n voltage channels. Inputs
 * are made lossless: their sample clock waits for us, so exact data does not
 * depend on how fast the emulated machine runs.
 */
static void
configure (const struct device *dev, const char *dir, int n, int total,
    unsigned scans, unsigned rate)
{
  char attr[64];
  int c;

  attr_write (dev, "buffer0/enable", "0");
  if (strcmp (dir, "in") == 0)
    attr_write (dev, "lossless", "1");
  for (c = 0; c < total; c++) {
    snprintf (attr, sizeof attr, "buffer0/%s_voltage%d_en", dir, c);
    attr_write (dev, attr, "%d", c < n);
  }
  attr_write (dev, "buffer0/length", "%u", scans);
  attr_write (dev, "sampling_frequency", "%u", rate);
}

/* --- DMABUFs -------------------------------------------------------------- */

enum heap { HEAP_SYSTEM, HEAP_UDMABUF, HEAP_DRM };
static const char *heap_names[] = { "dma_heap/system", "udmabuf",
  "dri/card0 (dumb buffers)"
};
static const char *heap_nodes[] = { "/dev/dma_heap/system", "/dev/udmabuf",
  "/dev/dri/card0"
};

static int
have_heap (enum heap heap)
{
  return access (heap_nodes[heap], F_OK) == 0;
}

/* The system heap where the kernel has one (Debian's ARM kernels do not),
 * else udmabuf (its 32-bit kernel has none either), else vgem's dumb
 * buffers. */
static enum heap
any_heap (void)
{
  if (have_heap (HEAP_SYSTEM))
    return HEAP_SYSTEM;
  return have_heap (HEAP_UDMABUF) ? HEAP_UDMABUF : HEAP_DRM;
}

/* A dumb buffer of a DRM device (vgem) exported as a DMABUF. */
static int
alloc_dumb (size_t size)
{
  struct drm_mode_create_dumb dumb = { .width = 4096, .bpp = 8,
    .height = (size + 4095) / 4096 };
  struct drm_prime_handle prime = { .flags = DRM_CLOEXEC | DRM_RDWR };
  struct drm_gem_close gem = { 0 };
  int dev = open (heap_nodes[HEAP_DRM], O_RDWR | O_CLOEXEC);

  CHECK (dev >= 0, "open %s", heap_nodes[HEAP_DRM]);
  CHECK (ioctl (dev, DRM_IOCTL_MODE_CREATE_DUMB, &dumb) == 0,
      "DRM_IOCTL_MODE_CREATE_DUMB");
  prime.handle = gem.handle = dumb.handle;
  CHECK (ioctl (dev, DRM_IOCTL_PRIME_HANDLE_TO_FD, &prime) == 0,
      "DRM_IOCTL_PRIME_HANDLE_TO_FD");
  ioctl (dev, DRM_IOCTL_GEM_CLOSE, &gem);
  close (dev);
  return prime.fd;
}

static int
alloc_dmabuf (enum heap heap, size_t size)
{
  if (heap == HEAP_DRM)
    return alloc_dumb (size);
  if (heap == HEAP_SYSTEM) {
    struct dma_heap_allocation_data req = {
      .len = size, .fd_flags = O_RDWR | O_CLOEXEC };
    int hfd = open ("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);

    CHECK (hfd >= 0, "open /dev/dma_heap/system");
    CHECK (ioctl (hfd, DMA_HEAP_IOCTL_ALLOC, &req) == 0,
        "DMA_HEAP_IOCTL_ALLOC");
    close (hfd);
    return req.fd;
  } else {
    struct udmabuf_create req = {
      .flags = UDMABUF_FLAGS_CLOEXEC, .size = size };
    int ufd = open ("/dev/udmabuf", O_RDWR | O_CLOEXEC);
    int mfd = memfd_create ("abi-smoke", MFD_ALLOW_SEALING | MFD_CLOEXEC);
    int fd;

    CHECK (ufd >= 0 && mfd >= 0, "open /dev/udmabuf or memfd_create");
    /* udmabuf takes whole pages (the heap rounds up itself) */
    size = (size + getpagesize () - 1) / getpagesize () * getpagesize ();
    req.size = size;
    CHECK (ftruncate (mfd, size) == 0, "ftruncate");
    CHECK (fcntl (mfd, F_ADD_SEALS, F_SEAL_SHRINK) == 0, "F_ADD_SEALS");
    req.memfd = mfd;
    fd = ioctl (ufd, UDMABUF_CREATE, &req);
    CHECK (fd >= 0, "UDMABUF_CREATE");
    close (mfd);
    close (ufd);
    return fd;
  }
}

static void
cpu_access (int fd, unsigned long long flags)
{
  struct dma_buf_sync sync = { .flags = flags };

  while (ioctl (fd, DMA_BUF_IOCTL_SYNC, &sync) != 0)
    CHECK (errno == EINTR || errno == EAGAIN, "DMA_BUF_IOCTL_SYNC");
}

static void
enqueue (int bfd, int fd, size_t bytes, unsigned flags)
{
  struct iio_dmabuf req = { .fd = fd, .flags = flags, .bytes_used = bytes };

  CHECK (ioctl (bfd, IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, &req) == 0, "ENQUEUE");
}

static void
wait_done (int fd)
{
  struct pollfd p = { .fd = fd, .events = POLLOUT };

  CHECK (poll (&p, 1, WAIT_MS) == 1, "block not done within %d ms", WAIT_MS);
}

/* Fence of the last enqueue, as a sync_file; exported while still pending. */
static int
export_fence (int fd)
{
  struct dma_buf_export_sync_file req = { .flags = DMA_BUF_SYNC_RW, .fd = -1 };

  CHECK (ioctl (fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &req) == 0,
      "DMA_BUF_IOCTL_EXPORT_SYNC_FILE");
  return req.fd;
}

/* Waits for a sync_file and returns its status: 1 success, < 0 the error. */
static int
fence_status (int sync_fd)
{
  struct pollfd p = { .fd = sync_fd, .events = POLLIN };
  struct sync_file_info info;

  CHECK (poll (&p, 1, WAIT_MS) == 1, "fence not signalled within %d ms",
      WAIT_MS);
  memset (&info, 0, sizeof info);
  CHECK (ioctl (sync_fd, SYNC_IOC_FILE_INFO, &info) == 0, "SYNC_IOC_FILE_INFO");
  return info.status;
}

struct stream
{
  int dev_fd, buffer_fd;
  int n;
  int fds[16];
  uint8_t *maps[16];
  size_t size;
};

static void
stream_open (struct stream *s, const struct device *dev, enum heap heap,
    int n, size_t size)
{
  int i;

  s->n = n;
  s->size = size;
  s->dev_fd = open (dev->node, O_RDWR | O_CLOEXEC);
  CHECK (s->dev_fd >= 0, "open %s", dev->node);
  s->buffer_fd = 0;
  CHECK (ioctl (s->dev_fd, IIO_BUFFER_GET_FD_IOCTL, &s->buffer_fd) == 0,
      "IIO_BUFFER_GET_FD_IOCTL");
  /* Attach every DMABUF before the first enqueue (see the reference). */
  for (i = 0; i < n; i++) {
    s->fds[i] = alloc_dmabuf (heap, size);
    s->maps[i] = mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
        s->fds[i], 0);
    CHECK (s->maps[i] != MAP_FAILED, "mmap DMABUF");
    CHECK (ioctl (s->buffer_fd, IIO_BUFFER_DMABUF_ATTACH_IOCTL,
            &s->fds[i]) == 0, "ATTACH");
  }
}

static void
stream_close (struct stream *s, const struct device *dev)
{
  int i;

  attr_write (dev, "buffer0/enable", "0");
  for (i = 0; i < s->n; i++) {
    CHECK (ioctl (s->buffer_fd, IIO_BUFFER_DMABUF_DETACH_IOCTL,
            &s->fds[i]) == 0, "DETACH");
    munmap (s->maps[i], s->size);
    close (s->fds[i]);
  }
  close (s->buffer_fd);
  close (s->dev_fd);
}

/* --- content -------------------------------------------------------------- */

/* Checks @scans scans of @chans s16 channels starting at sample @k. */
static void
verify_s16 (const uint8_t * data, uint64_t k, unsigned scans, int chans)
{
  const int16_t *s = (const int16_t *) data;
  unsigned i;
  int c;

  for (i = 0; i < scans; i++, k++)
    for (c = 0; c < chans; c++) {
      uint16_t want = (k + c * 0x100) & 0xffff;
      CHECK ((uint16_t) s[i * chans + c] == want,
          "sample %llu channel %d: got 0x%04x, want 0x%04x",
          (unsigned long long) k, c, (uint16_t) s[i * chans + c], want);
    }
}

static uint64_t
fnv1a (uint64_t h, const uint8_t * p, size_t n)
{
  while (n--) {
    h ^= *p++;
    h *= FNV1A64_PRIME;
  }
  return h;
}

/* --- tests ---------------------------------------------------------------- */

static unsigned long long samples_verified;

static void
test_capture (enum heap heap)
{
  const unsigned scans = 4096, nbufs = 8, blocks = 200, chans = 4;
  const size_t size = scans * chans * 2;
  struct device dev;
  struct stream s;
  unsigned i;

  find_device ("iio-sim-adc", &dev);
  configure (&dev, "in", chans, 4, scans * nbufs, 250000);
  attr_write (&dev, "buffer0/in_timestamp_en", "0");
  stream_open (&s, &dev, heap, nbufs, size);
  for (i = 0; i < nbufs; i++)
    enqueue (s.buffer_fd, s.fds[i], size, 0);
  attr_write (&dev, "buffer0/enable", "1");

  for (i = 0; i < blocks; i++) {
    int b = i % nbufs;

    wait_done (s.fds[b]);
    cpu_access (s.fds[b], DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
    verify_s16 (s.maps[b], (uint64_t) i * scans, scans, chans);
    cpu_access (s.fds[b], DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
    if (i + nbufs < blocks)
      enqueue (s.buffer_fd, s.fds[b], size, 0);
  }
  samples_verified += (unsigned long long) blocks * scans * chans;
  stream_close (&s, &dev);
  printf ("ok - capture %u blocks of %u scans x %u channels via %s\n",
      blocks, scans, chans, heap_names[heap]);
  passed++;
}

static void
fill_pattern (uint8_t * p, size_t n, uint32_t * seed)
{
  size_t i;

  for (i = 0; i < n; i++) {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 17;
    *seed ^= *seed << 5;
    p[i] = *seed;
  }
}

static void
test_playback (void)
{
  const unsigned scans = 2048, nbufs = 4, blocks = 64;
  const size_t size = scans * 2 * 2;
  uint64_t want = FNV1A64_OFFSET;
  uint32_t seed = 12345;
  struct device dev;
  struct stream s;
  unsigned i;

  find_device ("iio-sim-dac", &dev);
  configure (&dev, "out", 2, 2, scans * nbufs, 250000);
  stream_open (&s, &dev, any_heap (), nbufs, size);
  for (i = 0; i < blocks; i++) {
    int b = i % nbufs;

    if (i >= nbufs)
      wait_done (s.fds[b]);
    cpu_access (s.fds[b], DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
    fill_pattern (s.maps[b], size, &seed);
    want = fnv1a (want, s.maps[b], size);
    cpu_access (s.fds[b], DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
    enqueue (s.buffer_fd, s.fds[b], size, 0);
    if (i == nbufs - 1)
      attr_write (&dev, "buffer0/enable", "1");
  }
  for (i = 0; i < nbufs; i++)
    wait_done (s.fds[i]);
  CHECK (attr_read (&dev, "consumed_bytes")
      == (unsigned long long) blocks * size,
      "DAC consumed %llu bytes, want %llu", attr_read (&dev, "consumed_bytes"),
      (unsigned long long) blocks * size);
  CHECK (attr_read (&dev, "checksum") == want, "DAC checksum 0x%016llx, want "
      "0x%016llx", attr_read (&dev, "checksum"), (unsigned long long) want);
  stream_close (&s, &dev);
  printf ("ok - playback of %u blocks (%zu bytes), DAC checksum 0x%016llx\n",
      blocks, blocks * size, (unsigned long long) want);
  passed++;
}

static void
test_kfifo (void)
{
  const unsigned scans = 2000;
  uint8_t data[2000 * 4];
  struct device dev;
  size_t got = 0;
  int fd, bfd = 0, dmabuf;

  find_device ("iio-sim-kfifo", &dev);
  configure (&dev, "in", 2, 2, 4096, 8000);

  fd = open (dev.node, O_RDWR | O_CLOEXEC);
  CHECK (fd >= 0, "open %s", dev.node);
  CHECK (ioctl (fd, IIO_BUFFER_GET_FD_IOCTL, &bfd) == 0, "GET_FD");
  dmabuf = alloc_dmabuf (any_heap (), 4096);
  errno = 0;
  CHECK (ioctl (bfd, IIO_BUFFER_DMABUF_ATTACH_IOCTL, &dmabuf) == -1
      && errno == EPERM, "ATTACH on a kfifo buffer must fail with EPERM");
  close (dmabuf);
  close (bfd);

  attr_write (&dev, "buffer0/enable", "1");
  while (got < sizeof data) {
    struct pollfd p = { .fd = fd, .events = POLLIN };
    ssize_t n;

    CHECK (poll (&p, 1, WAIT_MS) == 1, "no data from the kfifo device");
    n = read (fd, data + got, sizeof data - got);
    CHECK (n > 0, "read");
    got += n;
  }
  attr_write (&dev, "buffer0/enable", "0");
  close (fd);
  verify_s16 (data, 0, scans, 2);
  samples_verified += scans * 2;
  printf ("ok - kfifo refuses ATTACH (EPERM), read() gave %u exact scans\n",
      scans);
  passed++;
}

static void
test_fence_error (void)
{
  const unsigned scans = 1024, nbufs = 4, blocks = 40, chans = 2;
  const size_t size = scans * chans * 2;
  int sync_fds[16], failed = 0;
  struct device dev;
  struct stream s;
  unsigned i;

  find_device ("iio-sim-adc", &dev);
  configure (&dev, "in", chans, 4, scans * nbufs, 100000);
  attr_write (&dev, "buffer0/in_timestamp_en", "0");
  stream_open (&s, &dev, any_heap (), nbufs, size);
  for (i = 0; i < nbufs; i++) {
    enqueue (s.buffer_fd, s.fds[i], size, 0);
    sync_fds[i] = export_fence (s.fds[i]);
  }
  attr_write (&dev, "buffer0/enable", "1");

  for (i = 0; i < blocks; i++) {
    int b = i % nbufs, status = fence_status (sync_fds[b]);

    close (sync_fds[b]);
    if (status < 0) {
      CHECK (status == -EIO, "block %u: fence status %d, want -EIO", i, status);
      failed++;
    } else {
      CHECK (status == 1, "block %u: fence status %d", i, status);
      cpu_access (s.fds[b], DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
      /* a failed block still takes its place in the stream */
      verify_s16 (s.maps[b], (uint64_t) i * scans, scans, chans);
      cpu_access (s.fds[b], DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
      samples_verified += scans * chans;
    }
    if (i == 10)
      attr_write (&dev, "fault_eio_blocks", "2");
    if (i + nbufs < blocks) {
      enqueue (s.buffer_fd, s.fds[b], size, 0);
      sync_fds[b] = export_fence (s.fds[b]);
    }
  }
  CHECK (failed == 2, "%d blocks failed, want 2", failed);
  stream_close (&s, &dev);
  printf ("ok - fault_eio_blocks=2 gave 2 fences with -EIO, the rest exact\n");
  passed++;
}


static void
test_stall (void)
{
  const unsigned scans = 1024, nbufs = 2;
  const size_t size = scans * 2;
  struct pollfd p;
  struct device dev;
  struct stream s;

  find_device ("iio-sim-adc", &dev);
  configure (&dev, "in", 1, 4, scans * nbufs, 100000);
  attr_write (&dev, "buffer0/in_timestamp_en", "0");
  attr_write (&dev, "lossless", "0");   /* a real converter runs on */
  stream_open (&s, &dev, any_heap (), nbufs, size);
  attr_write (&dev, "fault_stall", "1");
  enqueue (s.buffer_fd, s.fds[0], size, 0);
  attr_write (&dev, "buffer0/enable", "1");

  /* 1024 scans take 10 ms: 300 ms without completion is the stall */
  p = (struct pollfd) { .fd = s.fds[0], .events = POLLOUT };
  CHECK (poll (&p, 1, 300) == 0, "a stalled converter completed a block");
  attr_write (&dev, "fault_stall", "0");
  wait_done (s.fds[0]);
  CHECK (attr_read (&dev, "lost_samples") >= 20000,
      "the stalled time was not counted as lost (%llu samples)",
      attr_read (&dev, "lost_samples"));
  cpu_access (s.fds[0], DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
  verify_s16 (s.maps[0], attr_read (&dev, "lost_samples"), scans, 1);
  cpu_access (s.fds[0], DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
  stream_close (&s, &dev);
  printf ("ok - fault_stall holds blocks back; after it the stream resumes "
      "where the converter is, the gap counted as lost\n");
  passed++;
}

static void
write_file (const char *path, const char *value)
{
  int fd = open (path, O_WRONLY);

  CHECK (fd >= 0, "open %s", path);
  CHECK (write (fd, value, strlen (value)) == (ssize_t) strlen (value),
      "write %s to %s", value, path);
  close (fd);
}

/* Unbinding the device while it streams ends pending blocks; nothing hangs. */
static void
test_removal (void)
{
  const unsigned scans = 4096, nbufs = 4;
  const size_t size = scans * 2;
  struct device dev;
  struct stream s;
  int i, status, sync_fd;

  find_device ("iio-sim-adc", &dev);
  configure (&dev, "in", 1, 4, scans * nbufs, 10000);
  attr_write (&dev, "buffer0/in_timestamp_en", "0");
  stream_open (&s, &dev, any_heap (), nbufs, size);
  for (i = 0; i < (int) nbufs; i++)
    enqueue (s.buffer_fd, s.fds[i], size, 0);
  sync_fd = export_fence (s.fds[nbufs - 1]);
  attr_write (&dev, "buffer0/enable", "1");
  write_file ("/sys/bus/platform/drivers/iio-sim/unbind", "iio-sim.0");

  status = fence_status (sync_fd);
  close (sync_fd);
  CHECK (status == -EINTR, "a block pending at removal has status %d, "
      "want -EINTR", status);
  for (i = 0; i < (int) nbufs; i++) {
    wait_done (s.fds[i]);
    ioctl (s.buffer_fd, IIO_BUFFER_DMABUF_DETACH_IOCTL, &s.fds[i]);
    munmap (s.maps[i], s.size);
    close (s.fds[i]);
  }
  close (s.buffer_fd);
  close (s.dev_fd);
  write_file ("/sys/bus/platform/drivers/iio-sim/bind", "iio-sim.0");
  find_device ("iio-sim-adc", &dev);
  printf ("ok - removal while streaming ends pending blocks with -EINTR; "
      "the device binds again\n");
  passed++;
}

/*
 * What mainline's dmaengine buffer makes of a buffer's geometry
 * (industrialio-buffer-dmaengine.c: INDIO_BUFFER_FLAG_FIXED_WATERMARK,
 * length_align_bytes; industrialio-buffer-dma.c: iio_dma_buffer_set_length):
 * the watermark is read-only for root too and follows the length.
 */
static void
test_fixed_watermark (void)
{
  char path[512];
  struct device dev;
  struct stat st;
  int fd;

  find_device ("iio-sim-adc", &dev);
  configure (&dev, "in", 1, 4, 4096, 48000);
  snprintf (path, sizeof path, "%s/buffer0/watermark", dev.sysfs);
  CHECK (stat (path, &st) == 0 && (st.st_mode & 0777) == 0444,
      "watermark mode %o, want 444", st.st_mode & 0777);
  errno = 0;
  fd = open (path, O_WRONLY);
  CHECK (fd < 0 && errno == EACCES, "opening the watermark for writing as "
      "root must fail with EACCES");
  CHECK (attr_read (&dev, "buffer0/watermark") == 2048, "watermark %llu "
      "after length 4096, want 2048", attr_read (&dev, "buffer0/watermark"));
  attr_write (&dev, "buffer0/length", "1000");
  CHECK (attr_read (&dev, "buffer0/watermark") == 500, "watermark %llu "
      "after length 1000, want 500", attr_read (&dev, "buffer0/watermark"));
  CHECK (attr_read (&dev, "buffer0/length_align_bytes") == 8,
      "length_align_bytes %llu, want 8 (the channel's bus width)",
      attr_read (&dev, "buffer0/length_align_bytes"));
  printf ("ok - the dmaengine buffer's watermark is 0444 (EACCES for root), "
      "half the length; length_align_bytes 8\n");
  passed++;
}

/* Signalled at once: the fence of a block whose submit failed (a stub). */
static int
fence_signalled_now (int sync_fd)
{
  struct pollfd p = { .fd = sync_fd, .events = POLLIN };

  return poll (&p, 1, 0) == 1;
}

/*
 * A block whose bytes_used is not a multiple of length_align_bytes: the
 * dmaengine buffer hands it to the DMA engine, whose prep refuses it (as
 * axi-dmac's length check does). ENQUEUE still returns 0, the fence is
 * signalled before user space can export it, the DMABUF stays busy (EBUSY)
 * until it is detached and attached again; then it captures exact data.
 */
static void
test_misaligned_block (void)
{
  const unsigned scans = 4096;
  const size_t size = scans * 2;
  struct iio_dmabuf req;
  struct device dev;
  struct stream s;
  int sync_fd;

  find_device ("iio-sim-adc", &dev);
  configure (&dev, "in", 1, 4, scans * 2, 48000);
  attr_write (&dev, "buffer0/in_timestamp_en", "0");
  stream_open (&s, &dev, any_heap (), 2, size);
  enqueue (s.buffer_fd, s.fds[0], size, 0);
  attr_write (&dev, "buffer0/enable", "1");

  enqueue (s.buffer_fd, s.fds[1], size - 2, 0); /* whole scans, 8 does not divide */
  sync_fd = export_fence (s.fds[1]);
  CHECK (fence_signalled_now (sync_fd), "the fence of a misaligned block "
      "must be signalled at enqueue (a stub)");
  close (sync_fd);
  req = (struct iio_dmabuf) { .fd = s.fds[1], .bytes_used = size };
  errno = 0;
  CHECK (ioctl (s.buffer_fd, IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, &req) == -1
      && errno == EBUSY, "a DMABUF whose submit failed must stay busy");

  wait_done (s.fds[0]);
  cpu_access (s.fds[0], DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
  verify_s16 (s.maps[0], 0, scans, 1);
  cpu_access (s.fds[0], DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);

  CHECK (ioctl (s.buffer_fd, IIO_BUFFER_DMABUF_DETACH_IOCTL, &s.fds[1]) == 0,
      "DETACH");
  CHECK (ioctl (s.buffer_fd, IIO_BUFFER_DMABUF_ATTACH_IOCTL, &s.fds[1]) == 0,
      "ATTACH");
  enqueue (s.buffer_fd, s.fds[1], size, 0);
  wait_done (s.fds[1]);
  cpu_access (s.fds[1], DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
  verify_s16 (s.maps[1], scans, scans, 1);      /* lossless: next in line */
  cpu_access (s.fds[1], DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
  samples_verified += 2 * scans;
  stream_close (&s, &dev);
  printf ("ok - a block not a multiple of length_align_bytes: ENQUEUE 0, a "
      "stub fence, EBUSY until re-attached, then exact\n");
  passed++;
}

/* CLOCK_MONOTONIC, the clock fences are stamped with, in ns */
static int64_t
monotonic_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Waits for a sync_file; returns when its last fence signalled (a DMABUF
 * queued again may still carry the earlier, older fence) */
static int64_t
fence_time (int sync_fd)
{
  struct pollfd p = { .fd = sync_fd, .events = POLLIN };
  struct sync_fence_info fences[16];
  struct sync_file_info info;
  int64_t last = 0;
  unsigned i;

  CHECK (poll (&p, 1, WAIT_MS) == 1, "fence not signalled within %d ms",
      WAIT_MS);
  memset (&info, 0, sizeof info);
  CHECK (ioctl (sync_fd, SYNC_IOC_FILE_INFO, &info) == 0, "SYNC_IOC_FILE_INFO");
  CHECK (info.num_fences >= 1 && info.num_fences <= 16, "%u fences",
      info.num_fences);
  memset (fences, 0, sizeof fences);
  info.sync_fence_info = (uintptr_t) fences;
  CHECK (ioctl (sync_fd, SYNC_IOC_FILE_INFO, &info) == 0, "SYNC_IOC_FILE_INFO");
  CHECK (info.status == 1, "the block failed: %d", info.status);
  for (i = 0; i < info.num_fences; i++)
    if ((int64_t) fences[i].timestamp_ns > last)
      last = fences[i].timestamp_ns;
  return last;
}

/*
 * A lossless input whose DMA interrupts are serviced late (irq_latency_us):
 * blocks come back while the converter's timeline is already past the next
 * ones. A block queued then starts when it is queued, as a converter cannot
 * fill a block before it has it: its end is reported no sooner than its
 * duration plus the latency after its enqueue. (The plugin takes a block
 * that ends sooner for a failed submit and drops it.) Every sample checked.
 */
static void
test_late_interrupts (void)
{
  const unsigned scans = 500, nbufs = 4, blocks = 40, rate = 100000;
  const unsigned latency_us = 20000;
  const int64_t least_ns = (int64_t) scans * 1000000000 / rate
      + (int64_t) latency_us * 1000 - 1000;
  const size_t size = scans * 2 * 2;
  int64_t queued[4], done;
  int sync[4];
  struct device dev;
  struct stream s;
  unsigned i;

  find_device ("iio-sim-adc", &dev);
  configure (&dev, "in", 2, 4, scans * nbufs, rate);
  attr_write (&dev, "buffer0/in_timestamp_en", "0");
  attr_write (&dev, "irq_latency_us", "%u", latency_us);
  stream_open (&s, &dev, any_heap (), nbufs, size);
  for (i = 0; i < nbufs; i++) {
    queued[i] = monotonic_ns ();
    enqueue (s.buffer_fd, s.fds[i], size, 0);
    sync[i] = export_fence (s.fds[i]);
  }
  attr_write (&dev, "buffer0/enable", "1");

  for (i = 0; i < blocks; i++) {
    int b = i % nbufs;

    done = fence_time (sync[b]);
    close (sync[b]);
    CHECK (done - queued[b] >= least_ns, "block %u ended %lld us after its "
        "enqueue: a block of %u scans at %u Hz reported %u us late takes at "
        "least %lld us", i, (long long) (done - queued[b]) / 1000, scans,
        rate, latency_us, (long long) (least_ns + 1000) / 1000);
    cpu_access (s.fds[b], DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
    verify_s16 (s.maps[b], (uint64_t) i * scans, scans, 2);
    cpu_access (s.fds[b], DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
    if (i + nbufs < blocks) {
      queued[b] = monotonic_ns ();
      enqueue (s.buffer_fd, s.fds[b], size, 0);
      sync[b] = export_fence (s.fds[b]);
    }
  }
  samples_verified += (unsigned long long) blocks * scans * 2;
  attr_write (&dev, "irq_latency_us", "0");
  stream_close (&s, &dev);
  printf ("ok - completions reported %u us late: %u lossless blocks, each "
      "ended its duration after its enqueue or later, exact\n", latency_us,
      blocks);
  passed++;
}

/*
 * A transfer the DMA engine aborts: 6.12's dmaengine buffer ignores
 * callback_result (iio_dmaengine_buffer_block_done), so the block completes
 * as a success with its memory untouched. User space cannot tell.
 */
static void
test_aborted_transfer (void)
{
  const unsigned scans = 4096;
  const size_t size = scans * 2;
  struct device dev;
  struct stream s;
  int sync_fd, i;
  size_t j;

  find_device ("iio-sim-adc", &dev);
  configure (&dev, "in", 1, 4, scans * 2, 48000);
  attr_write (&dev, "buffer0/in_timestamp_en", "0");
  stream_open (&s, &dev, any_heap (), 2, size);
  for (i = 0; i < 2; i++) {
    cpu_access (s.fds[i], DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
    memset (s.maps[i], 0xa5, size);
    cpu_access (s.fds[i], DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
  }
  attr_write (&dev, "fault_abort_blocks", "1");
  enqueue (s.buffer_fd, s.fds[0], size, 0);
  sync_fd = export_fence (s.fds[0]);
  enqueue (s.buffer_fd, s.fds[1], size, 0);
  attr_write (&dev, "buffer0/enable", "1");

  CHECK (fence_status (sync_fd) == 1, "an aborted transfer's fence: status "
      "%d, want 1 (6.12 reports success)", fence_status (sync_fd));
  close (sync_fd);
  cpu_access (s.fds[0], DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
  for (j = 0; j < size; j++)
    CHECK (s.maps[0][j] == 0xa5, "aborted block byte %zu is 0x%02x: the "
        "engine moved data", j, s.maps[0][j]);
  cpu_access (s.fds[0], DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
  wait_done (s.fds[1]);
  cpu_access (s.fds[1], DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
  verify_s16 (s.maps[1], scans, scans, 1);      /* after the aborted span */
  cpu_access (s.fds[1], DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
  samples_verified += scans;
  stream_close (&s, &dev);
  printf ("ok - an aborted transfer completes as a success, its memory "
      "untouched; the next block is exact\n");
  passed++;
}

static int
wanted (int argc, char **argv, const char *name)
{
  int i;

  for (i = 1; i < argc; i++)
    if (strcmp (argv[i], name) == 0)
      return 1;
  return argc < 2;
}

/* Runs every test, or those named on the command line. */
int
main (int argc, char **argv)
{
  setvbuf (stdout, NULL, _IOLBF, 0);
  if (wanted (argc, argv, "capture")) {
    if (have_heap (HEAP_SYSTEM))
      test_capture (HEAP_SYSTEM);
    else
      printf ("skip - capture via dma_heap/system: this kernel has no DMA heap\n");
    if (have_heap (HEAP_UDMABUF))
      test_capture (HEAP_UDMABUF);
    else
      printf ("skip - capture via udmabuf: this kernel has no udmabuf\n");
    test_capture (HEAP_DRM);
  }
  if (wanted (argc, argv, "playback"))
    test_playback ();
  if (wanted (argc, argv, "kfifo"))
    test_kfifo ();
  if (wanted (argc, argv, "fence-error"))
    test_fence_error ();
  if (wanted (argc, argv, "stall"))
    test_stall ();
  if (wanted (argc, argv, "fixed-watermark"))
    test_fixed_watermark ();
  if (wanted (argc, argv, "misaligned-block"))
    test_misaligned_block ();
  if (wanted (argc, argv, "aborted-transfer"))
    test_aborted_transfer ();
  if (wanted (argc, argv, "late-interrupts"))
    test_late_interrupts ();
  if (wanted (argc, argv, "removal"))
    test_removal ();
  printf ("samples verified: %llu\n", samples_verified);
  printf ("%d passed, 0 failed\n", passed);
  return 0;
}
