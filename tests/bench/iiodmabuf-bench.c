/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * iiodmabuf-bench: the measuring half of scripts/bench, run in the test VM by
 * tests/bench/bench.py. Each mode moves COUNT blocks and prints one JSON
 * line: the blocks measured, their bytes, the wall time and the process's
 * CPU time (user, sys) from the first block to the last, so that start-up
 * (loading GStreamer, allocating, attaching, the first fill) is left out.
 *
 *   raw-in DEVICE BLOCK_BYTES NUM_BLOCKS COUNT
 *       The floor for capture: the IIO DMABUF ABI with no GStreamer. Attach
 *       NUM_BLOCKS DMABUFs from the system heap, enqueue them all, enable;
 *       then per block poll its DMABUF (POLLIN: the converter's write
 *       fence) and enqueue it again. Nobody maps the data.
 *   raw-out DEVICE BLOCK_BYTES NUM_BLOCKS COUNT
 *       The same for playback, waiting with POLLOUT (the DAC's read fence).
 *   raw-loop ADC DAC BLOCK_BYTES NUM_BLOCKS COUNT
 *       ADC to DAC: the same DMABUFs attached to both; a block the ADC
 *       wrote is enqueued on the DAC, and on the ADC again once played
 *       (NUM_BLOCKS / 2 - 1 of them, at least one, on the DAC).
 *   memcpy BLOCK_BYTES NUM_BLOCKS COUNT
 *       One copy of the same volume: a ring of NUM_BLOCKS blocks copied
 *       into another, block by block.
 *   sleep SLEEP_US COUNT
 *       COUNT sleeps of SLEEP_US, nothing else: what the guest charges a
 *       process for waking, by how long it slept.
 *   gst COUNT DESCRIPTION
 *       A pipeline from gst_parse_launch(), played to EOS. Blocks are
 *       counted on the src pad of the element named "src"; an element
 *       named "reader" gets every byte read (mapped, summed) on its sink
 *       pad. The "stats" of every element that has them are printed too.
 *       "benchsrc" is a GstBaseSrc that fills nothing into the buffers it
 *       takes from downstream's pool: a producer that costs nothing.
 *       "benchdmabufsrc" is the same with a pool of its own, of DMABUFs
 *       from the system heap: a sink downstream imports them.
 *
 * The raw modes enable channels voltage0 and voltage1 only.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <gst/gst.h>
#include <gst/base/gstbasesrc.h>

#include "iiodmabuf-uapi.h"

#define WAIT_MS 5000
#define HEAP "/dev/dma_heap/system"

static void
die (const char *fmt, ...)
{
  va_list ap;
  int err = errno;

  va_start (ap, fmt);
  fprintf (stderr, "iiodmabuf-bench: ");
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  if (err)
    fprintf (stderr, " (%s)", strerror (err));
  fprintf (stderr, "\n");
  exit (1);
}

/* --- what is measured ------------------------------------------------------ */

struct mark
{
  double wall, user, sys;
};

static double
tv_seconds (struct timeval tv)
{
  return tv.tv_sec + tv.tv_usec / 1e6;
}

static void
mark_now (struct mark *m)
{
  struct timespec ts;
  struct rusage ru;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  getrusage (RUSAGE_SELF, &ru);
  m->wall = ts.tv_sec + ts.tv_nsec / 1e9;
  m->user = tv_seconds (ru.ru_utime);
  m->sys = tv_seconds (ru.ru_stime);
}

/* The result line; @extra is more JSON members (with a leading comma). */
static void
report (const struct mark *a, const struct mark *b, uint64_t blocks,
    uint64_t bytes, const char *extra)
{
  printf ("{\"blocks\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"wall\": %.6f, "
      "\"user\": %.6f, \"sys\": %.6f%s}\n", blocks, bytes, b->wall - a->wall,
      b->user - a->user, b->sys - a->sys, extra ? extra : "");
  fflush (stdout);
}

/* --- sysfs ------------------------------------------------------------------ */

struct device
{
  char sysfs[300];
  char node[300];
  int buffer_fd;
};

static void
write_attr (const struct device *dev, const char *attr, const char *value)
{
  char path[512];
  int fd;

  snprintf (path, sizeof path, "%s/%s", dev->sysfs, attr);
  fd = open (path, O_WRONLY);
  if (fd < 0 || write (fd, value, strlen (value)) < 0)
    die ("cannot write %s to %s", value, path);
  close (fd);
}

static void
write_uint (const struct device *dev, const char *attr, unsigned long v)
{
  char s[32];

  snprintf (s, sizeof s, "%lu", v);
  write_attr (dev, attr, s);
}

static int
attr_writable (const struct device *dev, const char *attr)
{
  char path[512];
  struct stat st;

  snprintf (path, sizeof path, "%s/%s", dev->sysfs, attr);
  return stat (path, &st) == 0 && (st.st_mode & 0222);
}

static void
find_device (const char *name, struct device *dev)
{
  DIR *dir = opendir ("/sys/bus/iio/devices");
  struct dirent *de;

  while (dir && (de = readdir (dir))) {
    char path[512], got[64] = "";
    FILE *f;

    if (strncmp (de->d_name, "iio:device", 10) != 0)
      continue;
    snprintf (path, sizeof path, "/sys/bus/iio/devices/%s/name", de->d_name);
    f = fopen (path, "r");
    if (f && fgets (got, sizeof got, f))
      got[strcspn (got, "\n")] = 0;
    if (f)
      fclose (f);
    if (strcmp (got, name) == 0) {
      snprintf (dev->sysfs, sizeof dev->sysfs, "/sys/bus/iio/devices/%s",
          de->d_name);
      snprintf (dev->node, sizeof dev->node, "/dev/%s", de->d_name);
      closedir (dir);
      return;
    }
  }
  errno = 0;
  die ("no IIO device named %s", name);
}

/* Enables voltage0 and voltage1 only, sizes the kernel buffer to
 * @num_blocks blocks (length and watermark, as the elements do) and opens
 * the buffer's fd. Returns the bytes of one scan. */
static unsigned
setup_device (struct device *dev, size_t block_bytes, unsigned num_blocks)
{
  char dirpath[512];
  unsigned scan_bytes = 0, buffer_index = 0;
  DIR *dir;
  struct dirent *de;
  int node;

  write_attr (dev, "buffer0/enable", "0");
  snprintf (dirpath, sizeof dirpath, "%s/buffer0", dev->sysfs);
  dir = opendir (dirpath);
  if (!dir)
    die ("no %s", dirpath);
  while ((de = readdir (dir))) {
    size_t len = strlen (de->d_name);
    int on;
    char attr[300];

    if (len < 4 || strcmp (de->d_name + len - 3, "_en") != 0)
      continue;
    on = strstr (de->d_name, "_voltage0_en") || strstr (de->d_name,
        "_voltage1_en");
    snprintf (attr, sizeof attr, "buffer0/%s", de->d_name);
    write_attr (dev, attr, on ? "1" : "0");
    scan_bytes += on ? 2 : 0;   /* le:s16/16 on the simulated converters */
  }
  closedir (dir);
  if (scan_bytes != 4 || block_bytes % scan_bytes)
    die ("%s: expected voltage0 and voltage1 of 16 bits, whole scans",
        dev->sysfs);
  /* the watermark only where the driver lets us: mainline's dmaengine
   * buffer fixes it (0444) at half the length */
  if (attr_writable (dev, "buffer0/watermark"))
    write_uint (dev, "buffer0/watermark", 1);
  write_uint (dev, "buffer0/length", block_bytes / scan_bytes * num_blocks);
  if (attr_writable (dev, "buffer0/watermark"))
    write_uint (dev, "buffer0/watermark", block_bytes / scan_bytes);

  node = open (dev->node, O_RDWR | O_CLOEXEC);
  if (node < 0)
    die ("cannot open %s", dev->node);
  dev->buffer_fd = buffer_index;
  if (ioctl (node, IIO_BUFFER_GET_FD_IOCTL, &dev->buffer_fd) < 0)
    die ("IIO_BUFFER_GET_FD_IOCTL on %s", dev->node);
  close (node);
  return scan_bytes;
}

static void
teardown_device (struct device *dev, const int *dmabufs, unsigned n)
{
  unsigned i;

  write_attr (dev, "buffer0/enable", "0");
  for (i = 0; i < n; i++)
    ioctl (dev->buffer_fd, IIO_BUFFER_DMABUF_DETACH_IOCTL, &dmabufs[i]);
  close (dev->buffer_fd);
}

/* --- the raw ABI -------------------------------------------------------------- */

static int
alloc_dmabuf (size_t bytes)
{
  struct dma_heap_allocation_data req = {
    .len = bytes,
    .fd_flags = O_RDWR | O_CLOEXEC,
  };
  int heap = open (HEAP, O_RDONLY | O_CLOEXEC);

  if (heap < 0 || ioctl (heap, DMA_HEAP_IOCTL_ALLOC, &req) < 0)
    die ("cannot allocate %zu bytes from %s", bytes, HEAP);
  close (heap);
  return req.fd;
}

static void
attach (const struct device *dev, int dmabuf)
{
  if (ioctl (dev->buffer_fd, IIO_BUFFER_DMABUF_ATTACH_IOCTL, &dmabuf) < 0)
    die ("cannot attach a DMABUF to %s", dev->sysfs);
}

static void
enqueue (const struct device *dev, int dmabuf, size_t bytes)
{
  struct iio_dmabuf req = {.fd = dmabuf,.bytes_used = bytes };

  if (ioctl (dev->buffer_fd, IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, &req) < 0)
    die ("cannot enqueue a block on %s", dev->sysfs);
}

/* Waits for the block's fences: POLLIN for the writer's (an ADC's),
 * POLLOUT for every fence (a DAC's read). */
static void
wait_block (int dmabuf, short events)
{
  struct pollfd p = {.fd = dmabuf,.events = events };
  int r;

  do
    r = poll (&p, 1, WAIT_MS);
  while (r < 0 && errno == EINTR);
  if (r == 0) {
    errno = 0;
    die ("a block did not complete within %d ms", WAIT_MS);
  }
  if (r < 0)
    die ("poll");
}

/* Capture (@out false) or playback: per block wait, enqueue again. */
static void
raw_stream (const char *name, int out, size_t bytes, unsigned nb,
    uint64_t count)
{
  struct device dev;
  struct mark a = { 0 }, b;
  int *bufs = calloc (nb, sizeof *bufs);
  uint64_t i;
  unsigned k;

  find_device (name, &dev);
  setup_device (&dev, bytes, nb);
  for (k = 0; k < nb; k++) {
    bufs[k] = alloc_dmabuf (bytes);
    attach (&dev, bufs[k]);     /* every attach before the first enqueue */
  }
  for (k = 0; k < nb && k < count; k++)
    enqueue (&dev, bufs[k], bytes);
  write_attr (&dev, "buffer0/enable", "1");
  for (i = 0; i < count; i++) {
    int buf = bufs[i % nb];

    wait_block (buf, out ? POLLOUT : POLLIN);
    if (i == 0)
      mark_now (&a);
    if (i + nb < count)
      enqueue (&dev, buf, bytes);
  }
  mark_now (&b);
  report (&a, &b, count - 1, (count - 1) * bytes, NULL);
  teardown_device (&dev, bufs, nb);
  for (k = 0; k < nb; k++)
    close (bufs[k]);
  free (bufs);
}

/* ADC to DAC: NUM_BLOCKS / 2 - 1 blocks (at least one) in flight on the
 * DAC, the rest on the ADC, as in the benchmark's loopback pipeline (the
 * source keeps two blocks queued, or copies). */
static void
raw_loop (const char *adc_name, const char *dac_name, size_t bytes,
    unsigned nb, uint64_t count)
{
  struct device adc, dac;
  struct mark a = { 0 }, b;
  int *bufs = calloc (nb, sizeof *bufs);
  unsigned k, lag = nb >= 4 ? nb / 2 - 1 : 1;
  uint64_t i, j;

  find_device (adc_name, &adc);
  find_device (dac_name, &dac);
  setup_device (&adc, bytes, nb);
  setup_device (&dac, bytes, nb);
  for (k = 0; k < nb; k++) {
    bufs[k] = alloc_dmabuf (bytes);
    attach (&adc, bufs[k]);
    attach (&dac, bufs[k]);
  }
  for (k = 0; k < nb && k < count; k++)
    enqueue (&adc, bufs[k], bytes);
  write_attr (&adc, "buffer0/enable", "1");
  write_attr (&dac, "buffer0/enable", "1");
  for (i = 0; i < count + lag; i++) {
    if (i < count) {
      wait_block (bufs[i % nb], POLLIN);        /* the ADC wrote it */
      if (i == 0)
        mark_now (&a);
      enqueue (&dac, bufs[i % nb], bytes);
    }
    if (i >= lag) {
      j = i - lag;
      wait_block (bufs[j % nb], POLLOUT);       /* the DAC read it */
      if (j + nb < count)
        enqueue (&adc, bufs[j % nb], bytes);
    }
  }
  mark_now (&b);
  report (&a, &b, count - 1, (count - 1) * bytes, NULL);
  teardown_device (&dac, bufs, nb);
  teardown_device (&adc, bufs, nb);
  for (k = 0; k < nb; k++)
    close (bufs[k]);
  free (bufs);
}

static void
copy_blocks (size_t bytes, unsigned nb, uint64_t count)
{
  char **from = calloc (nb, sizeof *from), **to = calloc (nb, sizeof *to);
  struct mark a = { 0 }, b;
  unsigned long check = 0;
  char extra[64];
  uint64_t i;
  unsigned k;

  for (k = 0; k < nb; k++) {    /* touched: no page faults in the timing */
    from[k] = malloc (bytes);
    to[k] = malloc (bytes);
    if (!from[k] || !to[k])
      die ("out of memory");
    memset (from[k], k + 1, bytes);
    memset (to[k], k + 2, bytes);
  }
  mark_now (&a);
  for (i = 1; i < count; i++) {
    memcpy (to[i % nb], from[i % nb], bytes);
    check += (unsigned char) to[i % nb][i % bytes];
  }
  mark_now (&b);
  snprintf (extra, sizeof extra, ", \"check\": %lu", check);
  report (&a, &b, count - 1, (count - 1) * bytes, extra);
  for (k = 0; k < nb; k++) {
    free (from[k]);
    free (to[k]);
  }
  free (from);
  free (to);
}

/* --- GStreamer -------------------------------------------------------------- */

/* What waking costs: COUNT sleeps of SLEEP_US each (ppoll with no fd),
 * nothing else. In an emulated guest a process is charged CPU for each
 * wakeup, the more the longer it slept: every path's CPU per block
 * includes that for each of its waits (see tests/bench/report.py). */
static void
sleep_wakeups (uint64_t sleep_us, uint64_t count)
{
  struct timespec ts = { sleep_us / 1000000, (sleep_us % 1000000) * 1000 };
  struct mark a, b;
  uint64_t i;

  ppoll (NULL, 0, &ts, NULL);   /* from the first wakeup, as a block */
  mark_now (&a);
  for (i = 1; i < count; i++)
    ppoll (NULL, 0, &ts, NULL);
  mark_now (&b);
  report (&a, &b, count - 1, 0, NULL);
}

/* benchsrc: a GstBaseSrc that leaves the buffers it takes from
 * downstream's pool as they are, so what it costs is the base class's. */
typedef struct
{
  GstBaseSrc parent;
} BenchSrc;
typedef struct
{
  GstBaseSrcClass parent;
} BenchSrcClass;

static GType bench_src_get_type (void);
G_DEFINE_TYPE (BenchSrc, bench_src, GST_TYPE_BASE_SRC);

static GstStaticPadTemplate bench_src_template =
GST_STATIC_PAD_TEMPLATE ("src", GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("audio/x-raw, format=(string)S16LE, "
        "layout=(string)interleaved, rate=(int)[1, MAX], "
        "channels=(int)[1, MAX]"));

static GstFlowReturn
bench_src_fill (GstBaseSrc * src, guint64 offset, guint size, GstBuffer * buf)
{
  return GST_FLOW_OK;
}

static void
bench_src_class_init (BenchSrcClass * klass)
{
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  gst_element_class_add_static_pad_template (element_class,
      &bench_src_template);
  gst_element_class_set_static_metadata (element_class, "Bench source",
      "Source/Audio", "Buffers from downstream's pool, left unwritten",
      "gst-iiodmabuf");
  GST_BASE_SRC_CLASS (klass)->fill = bench_src_fill;
}

static void
bench_src_init (BenchSrc * self)
{
}

/* benchdmabufsrc: benchsrc with a pool of its own, DMABUF_POOL DMABUFs
 * from the system heap (enough for a sink's num-blocks up to 7 and one in
 * hand), so that a sink downstream imports every buffer. */
#define DMABUF_POOL 8

/* gst_dmabuf_allocator_new () and gst_dmabuf_allocator_alloc () of
 * libgstallocators (the plugin's dependency), looked up at run time: the
 * tool is built against GStreamer's core and base libraries only. */
static GstAllocator *(*dmabuf_allocator_new) (void);
static GstMemory *(*dmabuf_allocator_alloc) (GstAllocator *, gint, gsize);

static void
load_dmabuf_allocator (void)
{
  void *lib;

  if (dmabuf_allocator_new)
    return;
  lib = dlopen ("libgstallocators-1.0.so.0", RTLD_NOW | RTLD_LOCAL);
  errno = 0;
  if (!lib)
    die ("%s", dlerror ());
  *(void **) &dmabuf_allocator_new = dlsym (lib, "gst_dmabuf_allocator_new");
  *(void **) &dmabuf_allocator_alloc = dlsym (lib,
      "gst_dmabuf_allocator_alloc");
  if (!dmabuf_allocator_new || !dmabuf_allocator_alloc)
    die ("no gst_dmabuf_allocator_new or _alloc in libgstallocators");
}

typedef struct
{
  GstBufferPool parent;
  GstAllocator *allocator;
  guint size;
} BenchDmabufPool;
typedef struct
{
  GstBufferPoolClass parent;
} BenchDmabufPoolClass;

static GType bench_dmabuf_pool_get_type (void);
G_DEFINE_TYPE (BenchDmabufPool, bench_dmabuf_pool, GST_TYPE_BUFFER_POOL);

static gboolean
bench_dmabuf_pool_set_config (GstBufferPool * pool, GstStructure * config)
{
  BenchDmabufPool *self = (BenchDmabufPool *) pool;

  if (!gst_buffer_pool_config_get_params (config, NULL, &self->size, NULL,
          NULL) || !self->size)
    return FALSE;
  return GST_BUFFER_POOL_CLASS (bench_dmabuf_pool_parent_class)->set_config
      (pool, config);
}

static GstFlowReturn
bench_dmabuf_pool_alloc (GstBufferPool * pool, GstBuffer ** buffer,
    GstBufferPoolAcquireParams * params)
{
  BenchDmabufPool *self = (BenchDmabufPool *) pool;

  *buffer = gst_buffer_new ();
  gst_buffer_append_memory (*buffer, dmabuf_allocator_alloc (self->allocator,
          alloc_dmabuf (self->size), self->size));
  return GST_FLOW_OK;
}

static void
bench_dmabuf_pool_finalize (GObject * object)
{
  gst_object_unref (((BenchDmabufPool *) object)->allocator);
  G_OBJECT_CLASS (bench_dmabuf_pool_parent_class)->finalize (object);
}

static void
bench_dmabuf_pool_class_init (BenchDmabufPoolClass * klass)
{
  GstBufferPoolClass *pool_class = GST_BUFFER_POOL_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = bench_dmabuf_pool_finalize;
  pool_class->set_config = bench_dmabuf_pool_set_config;
  pool_class->alloc_buffer = bench_dmabuf_pool_alloc;
}

static void
bench_dmabuf_pool_init (BenchDmabufPool * self)
{
  load_dmabuf_allocator ();
  self->allocator = dmabuf_allocator_new ();
}

typedef struct
{
  BenchSrc parent;
} BenchDmabufSrc;
typedef struct
{
  BenchSrcClass parent;
} BenchDmabufSrcClass;

static GType bench_dmabuf_src_get_type (void);
G_DEFINE_TYPE (BenchDmabufSrc, bench_dmabuf_src, bench_src_get_type ());

/* Our pool, whatever downstream proposed. */
static gboolean
bench_dmabuf_src_decide_allocation (GstBaseSrc * src, GstQuery * query)
{
  GstBufferPool *pool = g_object_new (bench_dmabuf_pool_get_type (), NULL);
  GstStructure *config = gst_buffer_pool_get_config (pool);
  guint size = gst_base_src_get_blocksize (src);
  GstCaps *caps;

  gst_query_parse_allocation (query, &caps, NULL);
  gst_buffer_pool_config_set_params (config, caps, size, DMABUF_POOL,
      DMABUF_POOL);
  if (!gst_buffer_pool_set_config (pool, config)) {
    gst_object_unref (pool);
    return FALSE;
  }
  if (gst_query_get_n_allocation_pools (query) > 0)
    gst_query_set_nth_allocation_pool (query, 0, pool, size, DMABUF_POOL,
        DMABUF_POOL);
  else
    gst_query_add_allocation_pool (query, pool, size, DMABUF_POOL,
        DMABUF_POOL);
  gst_object_unref (pool);
  return TRUE;
}

static void
bench_dmabuf_src_class_init (BenchDmabufSrcClass * klass)
{
  gst_element_class_set_static_metadata (GST_ELEMENT_CLASS (klass),
      "Bench DMABUF source", "Source/Audio",
      "DMABUFs of its own pool, left unwritten", "gst-iiodmabuf");
  GST_BASE_SRC_CLASS (klass)->decide_allocation =
      bench_dmabuf_src_decide_allocation;
}

static void
bench_dmabuf_src_init (BenchDmabufSrc * self)
{
}

struct counter
{
  uint64_t blocks, bytes, sum;
  struct mark first;
};

static GstPadProbeReturn
count_block (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  struct counter *c = data;

  if (c->blocks++ == 0)
    mark_now (&c->first);
  else
    c->bytes += gst_buffer_get_size (GST_PAD_PROBE_INFO_BUFFER (info));
  return GST_PAD_PROBE_OK;
}

/* Reads every byte, as a consumer of the data would. */
static GstPadProbeReturn
read_block (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  struct counter *c = data;
  GstMapInfo map;
  uint64_t sum = 0;
  gsize i;

  if (!gst_buffer_map (GST_PAD_PROBE_INFO_BUFFER (info), &map, GST_MAP_READ))
    die ("cannot map a buffer");
  for (i = 0; i + 8 <= map.size; i += 8) {
    uint64_t w;

    memcpy (&w, map.data + i, 8);
    sum += w;
  }
  gst_buffer_unmap (GST_PAD_PROBE_INFO_BUFFER (info), &map);
  c->sum += sum;
  return GST_PAD_PROBE_OK;
}

static gboolean
print_field (GQuark field, const GValue * value, gpointer data)
{
  GString *out = data;

  g_string_append_printf (out, "%s\"%s\": ", out->str[out->len - 1] == '{' ?
      "" : ", ", g_quark_to_string (field));
  if (G_VALUE_HOLDS_UINT64 (value))
    g_string_append_printf (out, "%" G_GUINT64_FORMAT,
        g_value_get_uint64 (value));
  else if (G_VALUE_HOLDS_STRING (value))
    g_string_append_printf (out, "\"%s\"", g_value_get_string (value));
  else {
    gchar *s = gst_value_serialize (value);

    g_string_append_printf (out, "\"%s\"", s ? s : "?");
    g_free (s);
  }
  return TRUE;
}

/* ", \"stats\": {\"src\": {...}, ...}" for every element with stats */
static gchar *
all_stats (GstBin * bin, uint64_t sum)
{
  GString *out = g_string_new (NULL);
  GstIterator *it = gst_bin_iterate_elements (bin);
  GValue item = G_VALUE_INIT;
  gboolean first = TRUE;

  g_string_append_printf (out, ", \"sum\": %" G_GUINT64_FORMAT
      ", \"stats\": {", sum);
  while (gst_iterator_next (it, &item) == GST_ITERATOR_OK) {
    GstElement *e = g_value_get_object (&item);
    GstStructure *s = NULL;

    if (g_object_class_find_property (G_OBJECT_GET_CLASS (e), "stats")) {
      g_object_get (e, "stats", &s, NULL);
      g_string_append_printf (out, "%s\"%s\": {", first ? "" : ", ",
          GST_ELEMENT_NAME (e));
      gst_structure_foreach (s, print_field, out);
      g_string_append (out, "}");
      gst_structure_free (s);
      first = FALSE;
    }
    g_value_reset (&item);
  }
  g_value_unset (&item);
  gst_iterator_free (it);
  g_string_append (out, "}");
  return g_string_free (out, FALSE);
}

static void
run_pipeline (uint64_t count, const char *description)
{
  GError *error = NULL;
  GstElement *pipeline, *src, *reader;
  GstPad *pad;
  GstMessage *msg;
  struct counter c = { 0 };
  struct mark end;
  gchar *extra, *problem = NULL;

  gst_element_register (NULL, "benchsrc", GST_RANK_NONE,
      bench_src_get_type ());
  gst_element_register (NULL, "benchdmabufsrc", GST_RANK_NONE,
      bench_dmabuf_src_get_type ());
  pipeline = gst_parse_launch (description, &error);
  if (!pipeline)
    die ("%s: %s", description, error->message);
  src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  if (!src)
    die ("no element named src in %s", description);
  pad = gst_element_get_static_pad (src, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, count_block, &c, NULL);
  gst_object_unref (pad);
  reader = gst_bin_get_by_name (GST_BIN (pipeline), "reader");
  if (reader) {
    pad = gst_element_get_static_pad (reader, "sink");
    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, read_block, &c, NULL);
    gst_object_unref (pad);
    gst_object_unref (reader);
  }
  gst_object_unref (src);

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (pipeline),
      120 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  mark_now (&end);
  if (!msg)
    problem = g_strdup ("no EOS within 120 s");
  else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    gchar *debug = NULL;

    gst_message_parse_error (msg, &error, &debug);
    problem = g_strdup_printf ("%s (%s)", error->message, debug ? debug : "");
    g_free (debug);
  } else if (c.blocks != count)
    problem = g_strdup_printf ("%" PRIu64 " blocks instead of %" PRIu64,
        c.blocks, count);
  if (msg)
    gst_message_unref (msg);
  if (!problem) {
    extra = all_stats (GST_BIN (pipeline), c.sum);
    report (&c.first, &end, c.blocks - 1, c.bytes, extra);
    g_free (extra);
  }
  /* stopped in any case: the elements put the devices back as found */
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  if (problem) {
    errno = 0;
    die ("%s", problem);
  }
}

/* --- main ------------------------------------------------------------------- */

static uint64_t
number (const char *s)
{
  char *end;
  unsigned long long v = strtoull (s, &end, 10);

  if (*s == 0 || *end != 0 || v == 0) {
    errno = 0;
    die ("not a positive number: %s", s);
  }
  return v;
}

static void
usage (void)
{
  fprintf (stderr, "usage: iiodmabuf-bench raw-in|raw-out DEVICE BLOCK_BYTES "
      "NUM_BLOCKS COUNT\n"
      "       iiodmabuf-bench raw-loop ADC DAC BLOCK_BYTES NUM_BLOCKS COUNT\n"
      "       iiodmabuf-bench memcpy BLOCK_BYTES NUM_BLOCKS COUNT\n"
      "       iiodmabuf-bench sleep SLEEP_US COUNT\n"
      "       iiodmabuf-bench gst COUNT DESCRIPTION\n");
  exit (2);
}

int
main (int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "";

  if (argc == 6 && !strcmp (mode, "raw-in"))
    raw_stream (argv[2], 0, number (argv[3]), number (argv[4]),
        number (argv[5]));
  else if (argc == 6 && !strcmp (mode, "raw-out"))
    raw_stream (argv[2], 1, number (argv[3]), number (argv[4]),
        number (argv[5]));
  else if (argc == 7 && !strcmp (mode, "raw-loop"))
    raw_loop (argv[2], argv[3], number (argv[4]), number (argv[5]),
        number (argv[6]));
  else if (argc == 5 && !strcmp (mode, "memcpy"))
    copy_blocks (number (argv[2]), number (argv[3]), number (argv[4]));
  else if (argc == 4 && !strcmp (mode, "sleep"))
    sleep_wakeups (number (argv[2]), number (argv[3]));
  else if (argc == 4 && !strcmp (mode, "gst")) {
    gst_init (NULL, NULL);
    run_pipeline (number (argv[2]), argv[3]);
  } else
    usage ();
  return 0;
}
