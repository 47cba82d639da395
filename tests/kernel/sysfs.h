/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Test helpers: IIO sysfs attributes addressed as "DEVICE-NAME/ATTR" (e.g.
 * "iio-sim-adc/buffer0/enable"), written independently of the plugin's own
 * device layer so that tests do not check the plugin against itself.
 */
#ifndef __TESTS_SYSFS_H__
#define __TESTS_SYSFS_H__

#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYSFS_IIO "/sys/bus/iio/devices"

/* Returns "/sys/bus/iio/devices/iio:deviceN" of the device called @name. */
static inline gchar *
sysfs_device_dir (const gchar * name)
{
  GDir *d = g_dir_open (SYSFS_IIO, 0, NULL);
  const gchar *entry;
  gchar *found = NULL;

  g_assert (d != NULL);
  while (!found && (entry = g_dir_read_name (d))) {
    gchar *path = g_build_filename (SYSFS_IIO, entry, "name", NULL), *text;

    if (g_file_get_contents (path, &text, NULL, NULL)) {
      if (g_strcmp0 (g_strchomp (text), name) == 0)
        found = g_build_filename (SYSFS_IIO, entry, NULL);
      g_free (text);
    }
    g_free (path);
  }
  g_dir_close (d);
  if (!found)
    g_error ("no IIO device %s", name);
  return found;
}

static inline gchar *
sysfs_path (const gchar * dev_attr)
{
  const gchar *slash = strchr (dev_attr, '/');
  gchar *name = g_strndup (dev_attr, slash - dev_attr);
  gchar *dir = sysfs_device_dir (name);
  gchar *path = g_build_filename (dir, slash + 1, NULL);

  g_free (name);
  g_free (dir);
  return path;
}

static inline gchar *
sysfs_node (const gchar * name)
{
  gchar *dir = sysfs_device_dir (name), *base = g_path_get_basename (dir);
  gchar *node = g_build_filename ("/dev", base, NULL);

  g_free (dir);
  g_free (base);
  return node;
}

static inline gchar *
sysfs_read (const gchar * dev_attr)
{
  gchar *path = sysfs_path (dev_attr), *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    g_error ("cannot read %s", path);
  g_free (path);
  return g_strchomp (text);
}

static inline guint64
sysfs_read_u64 (const gchar * name, const gchar * attr)
{
  gchar *dev_attr = g_strdup_printf ("%s/%s", name, attr);
  gchar *text = sysfs_read (dev_attr);
  guint64 v = g_ascii_strtoull (text, NULL, 0);

  g_free (text);
  g_free (dev_attr);
  return v;
}

static inline void
sysfs_write (const gchar * dev_attr, const gchar * value)
{
  gchar *path = sysfs_path (dev_attr);
  FILE *f = fopen (path, "w");

  /* sysfs takes one write() of the whole value, not a rename */
  if (!f || fputs (value, f) < 0 || fclose (f) != 0)
    g_error ("cannot write %s to %s", value, path);
  g_free (path);
}

/* Whether the file of @dev_attr is read-only for everyone, root too (mode
 * 0444), as mainline's dmaengine buffer makes bufferN/watermark. */
static inline gboolean
sysfs_read_only (const gchar * dev_attr)
{
  gchar *path = sysfs_path (dev_attr);
  GStatBuf st;

  if (g_stat (path, &st) != 0)
    g_error ("cannot stat %s", path);
  g_free (path);
  return !(st.st_mode & 0222);
}

/*
 * Makes the simulated inputs lossless: their sample clock waits for the
 * reader instead of running on, so a test of exact data does not depend on
 * how fast the emulated machine is. Checked fixture: runs before each test.
 */
static inline void
sysfs_lossless_inputs (void)
{
  sysfs_write ("iio-sim-adc/lossless", "1");
  sysfs_write ("iio-sim-adc12/lossless", "1");
  sysfs_write ("iio-sim-kfifo/lossless", "1");
}

#endif /* __TESTS_SYSFS_H__ */
