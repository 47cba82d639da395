/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * An IIO device and one of its buffers: sysfs discovery and configuration,
 * the character device and the buffer fd (Documentation/ABI/testing/
 * sysfs-bus-iio in the kernel describes the files used here).
 */
#include "iiodmabuf-device.h"
#include "iiodmabuf-uapi.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#define IIO_SYSFS "/sys/bus/iio/devices"

G_DEFINE_QUARK (gst - iio - device - error - quark, gst_iio_device_error);

/**
 * gst_iio_device_error_code_for_errno:
 * @err: an errno value
 *
 * Returns: the #GstIioDeviceError that fits @err.
 */
gint
gst_iio_device_error_code_for_errno (gint err)
{
  switch (err) {
    case EBUSY:
      return GST_IIO_DEVICE_ERROR_BUSY;
    case EACCES:
    case EPERM:
      return GST_IIO_DEVICE_ERROR_PERMISSION;
    case ENOENT:
    case ENODEV:
      return GST_IIO_DEVICE_ERROR_NOT_FOUND;
    case EINVAL:
      return GST_IIO_DEVICE_ERROR_INVALID;
    default:
      return GST_IIO_DEVICE_ERROR_IO;
  }
}

static gchar *
read_trimmed (const gchar * path)
{
  gchar *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  return g_strchomp (text);
}

/* --- finding a device ----------------------------------------------------- */

static gboolean
device_matches (const gchar * dir_name, const gchar * spec)
{
  gchar *path, *name, *label;
  gboolean match;

  if (g_strcmp0 (spec, dir_name) == 0)
    return TRUE;
  if (g_str_has_prefix (spec, "/dev/") && g_strcmp0 (spec + 5, dir_name) == 0)
    return TRUE;

  path = g_build_filename (IIO_SYSFS, dir_name, "name", NULL);
  name = read_trimmed (path);
  g_free (path);
  path = g_build_filename (IIO_SYSFS, dir_name, "label", NULL);
  label = read_trimmed (path);
  g_free (path);
  match = g_strcmp0 (spec, name) == 0 || g_strcmp0 (spec, label) == 0;
  g_free (name);
  g_free (label);
  return match;
}

static GPtrArray *
list_device_dirs (void)
{
  GPtrArray *dirs = g_ptr_array_new_with_free_func (g_free);
  GDir *d = g_dir_open (IIO_SYSFS, 0, NULL);
  const gchar *entry;

  if (!d)
    return dirs;
  while ((entry = g_dir_read_name (d)))
    if (g_str_has_prefix (entry, "iio:device"))
      g_ptr_array_add (dirs, g_strdup (entry));
  g_dir_close (d);
  return dirs;
}

/**
 * gst_iio_device_list:
 *
 * Returns: (transfer full) (element-type utf8): "iio:deviceN" of every IIO
 * device present
 */
GPtrArray *
gst_iio_device_list (void)
{
  return list_device_dirs ();
}

/**
 * gst_iio_device_list_present:
 *
 * Returns: (transfer full): "name (iio:deviceN), ..." for every IIO device,
 * or "none" when there is none.
 */
gchar *
gst_iio_device_list_present (void)
{
  GPtrArray *dirs = list_device_dirs ();
  GString *s = g_string_new (NULL);
  guint i;

  for (i = 0; i < dirs->len; i++) {
    gchar *path = g_build_filename (IIO_SYSFS, dirs->pdata[i], "name", NULL);
    gchar *name = read_trimmed (path);

    g_string_append_printf (s, "%s%s (%s)", s->len ? ", " : "",
        name ? name : "?", (gchar *) dirs->pdata[i]);
    g_free (name);
    g_free (path);
  }
  g_ptr_array_unref (dirs);
  if (!s->len)
    g_string_append (s, "none");
  return g_string_free (s, FALSE);
}

static gchar *
find_device_dir (const gchar * spec, GError ** error)
{
  GPtrArray *dirs = list_device_dirs ();
  gchar *found = NULL, *present;
  guint i;

  for (i = 0; i < dirs->len && !found; i++)
    if (device_matches (dirs->pdata[i], spec))
      found = g_strdup (dirs->pdata[i]);
  g_ptr_array_unref (dirs);
  if (found)
    return found;

  present = gst_iio_device_list_present ();
  g_set_error (error, GST_IIO_DEVICE_ERROR, GST_IIO_DEVICE_ERROR_NOT_FOUND,
      "No IIO device '%s'. Devices present: %s. Give one by name, label, "
      "iio:deviceN or /dev/iio:deviceN (and check its driver is loaded).",
      spec, present);
  g_free (present);
  return NULL;
}

/* --- channels ------------------------------------------------------------- */

static gint
compare_channels (gconstpointer a, gconstpointer b)
{
  return (gint) ((const GstIioChannel *) a)->index -
      (gint) ((const GstIioChannel *) b)->index;
}

static void
clear_channel (gpointer p)
{
  g_free (((GstIioChannel *) p)->id);
}

static gchar *
read_scan_attr (const GstIioDevice * dev, const gchar * prefix,
    const gchar * id, const gchar * what)
{
  gchar *file = g_strdup_printf ("%s_%s_%s", prefix, id, what);
  gchar *path = g_build_filename (dev->buffer_dir, file, NULL);
  gchar *value = read_trimmed (path);

  g_free (path);
  g_free (file);
  return value;
}

/* Reads one scan element from its _en, _index and _type files. */
static gboolean
read_channel (const GstIioDevice * dev, const gchar * en_file,
    GstIioChannel * ch, GError ** error)
{
  const gchar *prefix = dev->is_output ? "out" : "in";
  gchar *en, *index, *type;
  gboolean ok = FALSE;

  ch->id = g_strndup (en_file + strlen (prefix) + 1,
      strlen (en_file) - strlen (prefix) - 1 - strlen ("_en"));
  en = read_scan_attr (dev, prefix, ch->id, "en");
  index = read_scan_attr (dev, prefix, ch->id, "index");
  type = read_scan_attr (dev, prefix, ch->id, "type");
  if (en && index && type && gst_iio_scan_type_parse (type, &ch->type, error)) {
    ch->index = atoi (index);
    ch->was_enabled = ch->enabled = atoi (en) != 0;
    ok = TRUE;
  } else if (error && !*error) {
    g_set_error (error, GST_IIO_DEVICE_ERROR, GST_IIO_DEVICE_ERROR_IO,
        "Cannot read scan element '%s' of %s", ch->id, dev->buffer_dir);
  }
  g_free (en);
  g_free (index);
  g_free (type);
  if (!ok)
    clear_channel (ch);
  return ok;
}

static gboolean
read_channels (GstIioDevice * dev, GError ** error)
{
  gchar *prefix = g_strdup (dev->is_output ? "out_" : "in_");
  GDir *d = g_dir_open (dev->buffer_dir, 0, NULL);
  const gchar *entry;
  gboolean ok = TRUE;

  while (d && ok && (entry = g_dir_read_name (d))) {
    GstIioChannel ch = { 0, };

    if (!g_str_has_prefix (entry, prefix) || !g_str_has_suffix (entry, "_en"))
      continue;
    ok = read_channel (dev, entry, &ch, error);
    if (ok)
      g_array_append_val (dev->channels, ch);
  }
  if (d)
    g_dir_close (d);
  g_free (prefix);
  g_array_sort (dev->channels, compare_channels);
  if (ok && dev->channels->len == 0) {
    g_set_error (error, GST_IIO_DEVICE_ERROR, GST_IIO_DEVICE_ERROR_NOT_FOUND,
        "IIO device %s has no scan elements in %s: it cannot stream",
        dev->name, dev->buffer_dir);
    ok = FALSE;
  }
  return ok;
}

/* --- opening and closing -------------------------------------------------- */

/* sysfs files of 0444 refuse a write even from root: look at the mode */
static gboolean
file_read_only (const gchar * path)
{
  struct stat st;

  return stat (path, &st) == 0 && !(st.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH));
}

/* What the buffer's driver imposes: the DMA engine's alignment and a
 * watermark of its own (mainline's dmaengine buffer has both). */
static void
read_buffer_limits (GstIioDevice * dev)
{
  gchar *align = gst_iio_device_read_attr (dev, "length_align_bytes", NULL);
  gchar *watermark = g_build_filename (dev->buffer_dir, "watermark", NULL);

  dev->length_align = align ? (guint) g_ascii_strtoull (align, NULL, 10) : 0;
  dev->watermark_fixed = file_read_only (watermark);
  g_free (watermark);
  g_free (align);
}

static gboolean
open_buffer_dir (GstIioDevice * dev, GError ** error)
{
  gchar *dir = g_strdup_printf ("buffer%u", dev->buffer_index);
  gchar *direction;

  dev->buffer_dir = g_build_filename (dev->sysfs_dir, dir, NULL);
  g_free (dir);
  if (!g_file_test (dev->buffer_dir, G_FILE_TEST_IS_DIR)) {
    g_set_error (error, GST_IIO_DEVICE_ERROR, GST_IIO_DEVICE_ERROR_NOT_FOUND,
        "IIO device %s has no buffer %u: use buffer=0, or a buffer listed "
        "in %s", dev->name, dev->buffer_index, dev->sysfs_dir);
    return FALSE;
  }
  direction = gst_iio_device_read_attr (dev, "direction", NULL);
  dev->is_output = g_strcmp0 (direction, "out") == 0;
  g_free (direction);
  read_buffer_limits (dev);
  return TRUE;
}

/**
 * gst_iio_device_open:
 * @spec: the device's name, label, "iio:deviceN" or "/dev/iio:deviceN"
 * @buffer_index: which of its buffers
 * @error: what went wrong, with the devices present when not found
 *
 * Finds the device and reads its buffer's scan elements. Opens no file
 * descriptor yet (see gst_iio_device_open_buffer()).
 *
 * Returns: (transfer full): the device, or %NULL
 */
GstIioDevice *
gst_iio_device_open (const gchar * spec, guint buffer_index, GError ** error)
{
  GstIioDevice *dev;
  gchar *dir_name, *path;

  g_return_val_if_fail (spec != NULL, NULL);

  dir_name = find_device_dir (spec, error);
  if (!dir_name)
    return NULL;

  dev = g_new0 (GstIioDevice, 1);
  dev->buffer_fd = -1;
  dev->sysfs_dir = g_build_filename (IIO_SYSFS, dir_name, NULL);
  dev->node = g_build_filename ("/dev", dir_name, NULL);
  path = g_build_filename (dev->sysfs_dir, "name", NULL);
  dev->name = read_trimmed (path);
  g_free (path);
  g_free (dir_name);
  if (!dev->name)
    dev->name = g_strdup (spec);
  dev->buffer_index = buffer_index;
  dev->channels = g_array_new (FALSE, TRUE, sizeof (GstIioChannel));
  dev->saved_attrs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      g_free);
  g_array_set_clear_func (dev->channels, clear_channel);

  if (!open_buffer_dir (dev, error) || !read_channels (dev, error)) {
    gst_iio_device_close (dev);
    return NULL;
  }
  return dev;
}

/**
 * gst_iio_device_close:
 * @dev: (transfer full) (nullable): a device
 *
 * Restores the device (gst_iio_device_restore()) and frees it.
 */
void
gst_iio_device_close (GstIioDevice * dev)
{
  if (!dev)
    return;
  gst_iio_device_restore (dev);
  g_free (dev->sysfs_dir);
  g_free (dev->node);
  g_free (dev->name);
  g_free (dev->buffer_dir);
  g_free (dev->saved_length);
  g_free (dev->saved_watermark);
  g_array_unref (dev->channels);
  g_hash_table_unref (dev->saved_attrs);
  g_free (dev);
}

/* --- channel selection ---------------------------------------------------- */

static GstIioChannel *
find_channel (GstIioDevice * dev, const gchar * id)
{
  guint i;

  for (i = 0; i < dev->channels->len; i++) {
    GstIioChannel *ch = &g_array_index (dev->channels, GstIioChannel, i);
    if (g_strcmp0 (ch->id, id) == 0)
      return ch;
  }
  return NULL;
}

static gchar *
list_channel_ids (const GstIioDevice * dev)
{
  GString *s = g_string_new (NULL);
  guint i;

  for (i = 0; i < dev->channels->len; i++)
    g_string_append_printf (s, "%s%s", i ? "," : "",
        g_array_index (dev->channels, GstIioChannel, i).id);
  return g_string_free (s, FALSE);
}

/**
 * gst_iio_device_select_channels:
 * @dev: a device
 * @ids: (nullable): comma-separated channel ids; %NULL or "" for every
 *     channel but the timestamp
 * @error: names the unknown channel and lists the valid ones
 *
 * Chooses the channels the next stream carries (written at
 * gst_iio_device_configure()).
 */
gboolean
gst_iio_device_select_channels (GstIioDevice * dev, const gchar * ids,
    GError ** error)
{
  gchar **wanted = NULL;
  guint i;

  for (i = 0; i < dev->channels->len; i++) {
    GstIioChannel *ch = &g_array_index (dev->channels, GstIioChannel, i);
    ch->enabled = (!ids || !*ids) && g_strcmp0 (ch->id, "timestamp") != 0;
  }
  if (!ids || !*ids)
    return TRUE;

  wanted = g_strsplit (ids, ",", -1);
  for (i = 0; wanted[i]; i++) {
    GstIioChannel *ch = find_channel (dev, g_strstrip (wanted[i]));

    if (!ch) {
      gchar *valid = list_channel_ids (dev);
      g_set_error (error, GST_IIO_DEVICE_ERROR, GST_IIO_DEVICE_ERROR_NO_CHANNEL,
          "IIO device %s has no channel '%s'. Valid channels: %s",
          dev->name, wanted[i], valid);
      g_free (valid);
      g_strfreev (wanted);
      return FALSE;
    }
    ch->enabled = TRUE;
  }
  g_strfreev (wanted);
  return TRUE;
}

/**
 * gst_iio_device_select_first:
 * @dev: a device
 * @n: how many
 *
 * Enables the first @n channels in scan order, the timestamp left out.
 */
void
gst_iio_device_select_first (GstIioDevice * dev, guint n)
{
  guint i;

  for (i = 0; i < dev->channels->len; i++) {
    GstIioChannel *ch = &g_array_index (dev->channels, GstIioChannel, i);

    ch->enabled = n > 0 && g_strcmp0 (ch->id, "timestamp") != 0;
    n -= ch->enabled;
  }
}

guint
gst_iio_device_n_enabled (const GstIioDevice * dev)
{
  guint i, n = 0;

  for (i = 0; i < dev->channels->len; i++)
    n += g_array_index (dev->channels, GstIioChannel, i).enabled;
  return n;
}

/**
 * gst_iio_device_enabled_channel:
 * @dev: a device
 * @i: position among the enabled channels, in scan order
 *
 * Returns: (transfer none): the channel, or %NULL past the last.
 */
const GstIioChannel *
gst_iio_device_enabled_channel (const GstIioDevice * dev, guint i)
{
  guint j;

  for (j = 0; j < dev->channels->len; j++) {
    const GstIioChannel *ch = &g_array_index (dev->channels, GstIioChannel, j);
    if (ch->enabled && i-- == 0)
      return ch;
  }
  return NULL;
}

/**
 * gst_iio_device_scan_bytes:
 * @dev: a device
 *
 * Returns: the size of one scan of the enabled channels, as the kernel
 * lays it out.
 */
guint
gst_iio_device_scan_bytes (const GstIioDevice * dev)
{
  guint n = gst_iio_device_n_enabled (dev), i, bytes;
  GstIioScanType *types = g_new (GstIioScanType, MAX (n, 1));
  guint *offsets = g_new (guint, MAX (n, 1));

  for (i = 0; i < n; i++)
    types[i] = gst_iio_device_enabled_channel (dev, i)->type;
  bytes = gst_iio_scan_layout (types, n, offsets);
  g_free (types);
  g_free (offsets);
  return n ? bytes : 0;
}

/**
 * gst_iio_device_timestamp_offset:
 * @dev: a device
 * @type: (out): the timestamp channel's format
 *
 * Returns: where in each scan the enabled "timestamp" channel lies, or -1
 * if it is not enabled
 */
gint
gst_iio_device_timestamp_offset (const GstIioDevice * dev,
    GstIioScanType * type)
{
  guint n = gst_iio_device_n_enabled (dev), i;
  GstIioScanType *types = g_new (GstIioScanType, MAX (n, 1));
  guint *offsets = g_new (guint, MAX (n, 1));
  gint offset = -1;

  for (i = 0; i < n; i++)
    types[i] = gst_iio_device_enabled_channel (dev, i)->type;
  gst_iio_scan_layout (types, n, offsets);
  for (i = 0; i < n && offset < 0; i++) {
    if (g_strcmp0 (gst_iio_device_enabled_channel (dev, i)->id,
            "timestamp") == 0) {
      offset = offsets[i];
      *type = types[i];
    }
  }
  g_free (types);
  g_free (offsets);
  return offset;
}

/* --- attributes ----------------------------------------------------------- */

static gchar *
attr_path (const GstIioDevice * dev, const gchar * attr)
{
  /* "direction", "length", ... are the buffer's; the rest the device's */
  static const gchar *buffer_attrs[] = { "direction", "length", "enable",
    "watermark", "data_available", "length_align_bytes", NULL
  };

  if (g_strv_contains (buffer_attrs, attr))
    return g_build_filename (dev->buffer_dir, attr, NULL);
  return g_build_filename (dev->sysfs_dir, attr, NULL);
}

/**
 * gst_iio_device_read_attr:
 * @dev: a device
 * @attr: a device attribute, or one of bufferN's
 * @error: (nullable): why it could not be read
 *
 * Returns: (transfer full): the value without its trailing newline, or %NULL
 */
gchar *
gst_iio_device_read_attr (const GstIioDevice * dev, const gchar * attr,
    GError ** error)
{
  gchar *path = attr_path (dev, attr);
  gchar *value = read_trimmed (path);

  if (!value)
    g_set_error (error, GST_IIO_DEVICE_ERROR, GST_IIO_DEVICE_ERROR_NOT_FOUND,
        "IIO device %s has no readable attribute '%s' (%s)", dev->name, attr,
        path);
  g_free (path);
  return value;
}

static const gchar *
write_hint (gint err, gboolean read_only)
{
  if (read_only)
    return "its driver makes it read-only (for root too): the value is "
        "fixed, leave it as it is";
  switch (err) {
    case EACCES:
    case EPERM:
      return "run as root or give your user access to the device's sysfs "
          "files (a udev rule)";
    case EBUSY:
      return "the buffer is enabled: stop whatever streams from the device";
    case ENOENT:
      return "the device has no such attribute";
    default:
      return "check the value against the device's documentation";
  }
}

/* Writes @text in one write(), as sysfs wants; returns 0 or errno. */
static gint
write_file (const gchar * path, const gchar * text)
{
  gint fd = open (path, O_WRONLY | O_CLOEXEC), err = 0;
  gsize len = strlen (text);

  if (fd < 0 || write (fd, text, len) != (gssize) len)
    err = errno;
  if (fd >= 0)
    close (fd);
  return err;
}

static void
write_error (const GstIioDevice * dev, const gchar * attr, const gchar * value,
    gint err, gboolean read_only, GError ** error)
{
  g_set_error (error, GST_IIO_DEVICE_ERROR, read_only ?
      GST_IIO_DEVICE_ERROR_INVALID : gst_iio_device_error_code_for_errno (err),
      "Cannot write '%s' to %s of IIO device %s: %s; %s", value, attr,
      dev->name, g_strerror (err), write_hint (err, read_only));
}

/**
 * gst_iio_device_write_attr:
 * @dev: a device
 * @attr: a device attribute, or one of bufferN's
 * @value: the text to write
 * @error: (nullable): why it was refused, and what to do
 *
 * A file the driver made read-only (mode 0444) is not written at all.
 */
gboolean
gst_iio_device_write_attr (const GstIioDevice * dev, const gchar * attr,
    const gchar * value, GError ** error)
{
  gchar *path = attr_path (dev, attr);
  gboolean read_only = file_read_only (path);
  /* an empty value (no trigger, say) still has to reach the driver */
  gint err = read_only ? EACCES : write_file (path, *value ? value : "\n");

  if (err)
    write_error (dev, attr, value, err, read_only, error);
  g_free (path);
  return err == 0;
}

/* Writes @value unless @attr holds it already (sysfs reads it back as
 * written); @written (nullable) is set when it was written. */
static gboolean
set_attr (const GstIioDevice * dev, const gchar * attr, const gchar * value,
    gboolean * written, GError ** error)
{
  gchar *now = gst_iio_device_read_attr (dev, attr, NULL);
  gboolean same = g_strcmp0 (now, value) == 0;

  g_free (now);
  if (same)
    return TRUE;
  if (!gst_iio_device_write_attr (dev, attr, value, error))
    return FALSE;
  if (written)
    *written = TRUE;
  return TRUE;
}

/**
 * gst_iio_device_change_attr:
 * @dev: a device
 * @attr: a device attribute
 * @value: the text to write
 * @error: (nullable): why it was refused, and what to do
 *
 * Writes @attr like gst_iio_device_write_attr(), remembering its first value so
 * that gst_iio_device_restore() can put it back. An attribute that holds
 * @value already is not written (nor a read-only one refused).
 */
gboolean
gst_iio_device_change_attr (GstIioDevice * dev, const gchar * attr,
    const gchar * value, GError ** error)
{
  gchar *now = gst_iio_device_read_attr (dev, attr, NULL);
  gboolean same = g_strcmp0 (now, value) == 0;

  if (!same && now && !g_hash_table_contains (dev->saved_attrs, attr))
    g_hash_table_insert (dev->saved_attrs, g_strdup (attr),
        g_steal_pointer (&now));
  g_free (now);
  return same || gst_iio_device_write_attr (dev, attr, value, error);
}

/* The names of the IIO triggers present, comma-separated ("none"). */
static gchar *
triggers_present (void)
{
  GDir *d = g_dir_open (IIO_SYSFS, 0, NULL);
  GString *names = g_string_new (NULL);
  const gchar *entry;

  while (d && (entry = g_dir_read_name (d))) {
    gchar *path, *name;

    if (!g_str_has_prefix (entry, "trigger"))
      continue;
    path = g_build_filename (IIO_SYSFS, entry, "name", NULL);
    name = read_trimmed (path);
    if (name)
      g_string_append_printf (names, "%s%s", names->len ? ", " : "", name);
    g_free (name);
    g_free (path);
  }
  if (d)
    g_dir_close (d);
  if (!names->len)
    g_string_append (names, "none");
  return g_string_free (names, FALSE);
}

static gboolean
trigger_present (const gchar * trigger)
{
  gchar *present = triggers_present ();
  gchar **names = g_strsplit (present, ", ", -1);
  gboolean found = g_strv_contains ((const gchar * const *) names, trigger);

  g_strfreev (names);
  g_free (present);
  return found;
}

#define TRIGGER_HINT "create one: an hrtimer trigger with mkdir " \
  "/sys/kernel/config/iio/triggers/hrtimer/NAME, or a sysfs one with echo N " \
  "> /sys/bus/iio/devices/iio_sysfs_trigger/add_trigger"

/**
 * gst_iio_device_select_trigger:
 * @dev: a device
 * @trigger: (nullable): the IIO trigger to take scans on; %NULL keeps the
 *     one selected
 * @error: why not, and what to do
 *
 * Devices on a triggered buffer (most SPI and I2C converters) take a scan
 * each time their trigger fires, and none without one. Selects @trigger
 * (put back by gst_iio_device_restore(); "none" detaches the trigger, for
 * devices that also run from a FIFO of their own), or checks that one is
 * selected.
 *
 * Returns: whether the device will produce scans as far as triggers go
 */
gboolean
gst_iio_device_select_trigger (GstIioDevice * dev, const gchar * trigger,
    GError ** error)
{
  gchar *current = gst_iio_device_read_attr (dev, "trigger/current_trigger",
      NULL), *present = triggers_present ();
  gboolean wanted = trigger && *trigger, ok = TRUE;

  if (!current && wanted) {
    g_set_error (error, GST_IIO_DEVICE_ERROR, GST_IIO_DEVICE_ERROR_INVALID,
        "IIO device %s takes no trigger (it has no trigger/current_trigger): "
        "unset trigger", dev->name);
    ok = FALSE;
  } else if (current && wanted && !g_str_equal (trigger, "none")
      && !trigger_present (trigger)) {
    g_set_error (error, GST_IIO_DEVICE_ERROR, GST_IIO_DEVICE_ERROR_NOT_FOUND,
        "There is no IIO trigger '%s' (present: %s): set trigger to one of "
        "those, or %s", trigger, present, TRIGGER_HINT);
    ok = FALSE;
  } else if (current && wanted && !g_str_equal (current, trigger)) {
    /* "none" detaches (devices with a FIFO mode run without one) */
    ok = gst_iio_device_change_attr (dev, "trigger/current_trigger",
        g_str_equal (trigger, "none") ? "" : trigger, error);
  } else if (current && !wanted && !*current) {
    g_set_error (error, GST_IIO_DEVICE_ERROR, GST_IIO_DEVICE_ERROR_INVALID,
        "IIO device %s takes its samples when a trigger fires, and none is "
        "selected: set trigger to one (present: %s; or none if it runs "
        "without), or %s", dev->name, present, TRIGGER_HINT);
    ok = FALSE;
  }
  g_free (current);
  g_free (present);
  return ok;
}

gboolean
gst_iio_device_get_sampling_frequency (const GstIioDevice * dev, guint * rate)
{
  gchar *value = gst_iio_device_read_attr (dev, "sampling_frequency", NULL);
  gdouble hz = value ? g_ascii_strtod (value, NULL) : 0;

  g_free (value);
  if (hz < 1 || hz > G_MAXINT)
    return FALSE;
  *rate = (guint) (hz + 0.5);
  return TRUE;
}

/* --- streaming set-up ----------------------------------------------------- */

static gboolean
write_channel_enable (const GstIioDevice * dev, const GstIioChannel * ch,
    gboolean enable, GError ** error)
{
  /* attr_path() resolves "bufferN/..." against the device directory */
  gchar *attr = g_strdup_printf ("buffer%u/%s_%s_en", dev->buffer_index,
      dev->is_output ? "out" : "in", ch->id);
  gboolean ok = set_attr (dev, attr, enable ? "1" : "0", NULL, error);

  g_free (attr);
  return ok;
}

/**
 * gst_iio_block_bytes:
 * @scan_bytes: bytes in a scan of the enabled channels
 * @block_scans: scans in a block
 * @n_blocks: blocks the kernel buffer holds
 * @device: the device's name, for the error
 * @error: (nullable): why that geometry cannot be had, and what to do
 *
 * Sizes a block, counting in 64 bits, and refuses a geometry this process
 * cannot hold: a block must fit a signed 32-bit size (IIO and DMABUF
 * sizes), the kernel buffer's length in scans a 32-bit count, and all
 * blocks together half the address space: a 32-bit process (ARMv7 boards
 * such as Zynq-7000 and PlutoSDR) has 3 GiB in all for every library,
 * stack and mapped block.
 *
 * Returns: the block's size in bytes, or 0
 */
gsize
gst_iio_block_bytes (guint scan_bytes, guint block_scans, guint n_blocks,
    const gchar * device, GError ** error)
{
  guint64 bytes = (guint64) scan_bytes * block_scans;
  guint64 total = bytes * n_blocks;

  if (scan_bytes == 0)
    g_set_error (error, GST_IIO_DEVICE_ERROR, GST_IIO_DEVICE_ERROR_INVALID,
        "No channel of IIO device %s is enabled: enable one (channels)",
        device);
  else if (block_scans == 0 || bytes > G_MAXINT32)
    g_set_error (error, GST_IIO_DEVICE_ERROR, GST_IIO_DEVICE_ERROR_INVALID,
        "A block of %u scans of %u bytes does not fit IIO device %s (2 GiB "
        "at most): lower samples-per-block", block_scans, scan_bytes, device);
  else if (n_blocks == 0 || (guint64) block_scans * n_blocks > G_MAXINT32)
    g_set_error (error, GST_IIO_DEVICE_ERROR, GST_IIO_DEVICE_ERROR_INVALID,
        "%u blocks of %u scans are too many for IIO device %s (2^31 scans "
        "at most): lower samples-per-block or num-blocks", n_blocks,
        block_scans, device);
  else if (total > GST_IIO_MAX_BUFFER_BYTES)
    g_set_error (error, GST_IIO_DEVICE_ERROR, GST_IIO_DEVICE_ERROR_INVALID,
        "%u blocks of %" G_GUINT64_FORMAT " bytes for IIO device %s do not "
        "fit this %u-bit system's address space (%" G_GUINT64_FORMAT
        " bytes in all at most): lower samples-per-block or num-blocks",
        n_blocks, bytes, device, (guint) (8 * sizeof (gpointer)),
        (guint64) GST_IIO_MAX_BUFFER_BYTES);
  else
    return (gsize) bytes;
  return 0;
}

/**
 * gst_iio_device_block_bytes:
 * @dev: a device with its channels chosen
 * @block_scans: scans in a block
 * @n_blocks: blocks the kernel buffer holds
 * @error: (nullable): why that geometry cannot be had, and what to do
 *
 * Returns: gst_iio_block_bytes() of the enabled channels
 */
gsize
gst_iio_device_block_bytes (const GstIioDevice * dev, guint block_scans,
    guint n_blocks, GError ** error)
{
  return gst_iio_block_bytes (gst_iio_device_scan_bytes (dev), block_scans,
      n_blocks, dev->name, error);
}

/**
 * gst_iio_block_step:
 * @scan_bytes: bytes in a scan
 * @align: bytes the DMA engine moves at a time (length_align_bytes; 0 or
 *     1 for none)
 *
 * Returns: the fewest scans whose size is a multiple of @align: a block
 * must hold a multiple of it
 */
guint
gst_iio_block_step (guint scan_bytes, guint align)
{
  guint a = align, b = scan_bytes;

  if (align <= 1 || scan_bytes == 0)
    return 1;
  while (b) {                   /* a becomes gcd (align, scan_bytes) */
    guint t = a % b;
    a = b;
    b = t;
  }
  return align / a;
}

/**
 * gst_iio_device_block_step:
 * @dev: a device with its channels chosen
 *
 * Returns: gst_iio_block_step() of the enabled channels and the buffer's
 * length_align_bytes
 */
guint
gst_iio_device_block_step (const GstIioDevice * dev)
{
  return gst_iio_block_step (gst_iio_device_scan_bytes (dev),
      dev->length_align);
}

/**
 * gst_iio_rw_length:
 * @block_scans: scans read or written at a time
 * @n_blocks: blocks the kernel buffer should hold
 * @step: gst_iio_block_step() of the buffer
 * @watermark_fixed: the driver keeps the watermark at half the length
 *
 * The length of a buffer read or written with read()/write(). The DMA
 * buffer core serves them from two blocks of half the length each, cut
 * down to the DMA engine's alignment: an even length whose half is a
 * multiple of @step cuts no scan. Where the driver fixes the watermark at
 * that half (mainline's dmaengine buffer), the half is kept within
 * @block_scans, as poll() waits for a watermark's worth of scans.
 *
 * Returns: the length in scans
 */
guint
gst_iio_rw_length (guint block_scans, guint n_blocks, guint step,
    gboolean watermark_fixed)
{
  guint64 half;

  step = MAX (step, 1);
  if (watermark_fixed)
    half = block_scans / step * step;
  else
    half = ((guint64) block_scans * n_blocks + 1) / 2;
  half = MAX ((half + step - 1) / step * step, step);
  return (guint) MIN (2 * half, G_MAXUINT);
}

static gboolean
write_channel_enables (GstIioDevice * dev, GError ** error)
{
  guint i;

  for (i = 0; i < dev->channels->len; i++) {
    const GstIioChannel *ch = &g_array_index (dev->channels, GstIioChannel, i);
    if (!write_channel_enable (dev, ch, ch->enabled, error))
      return FALSE;
  }
  return TRUE;
}

/* Sets @attr to @value where the driver lets it be written: a read-only
 * one (a driver that fixes the length or the watermark) is left as it is. */
static gboolean
set_uint (GstIioDevice * dev, const gchar * attr, guint value,
    gboolean * written, GError ** error)
{
  gchar *path = attr_path (dev, attr), text[16];
  gboolean fixed = file_read_only (path);

  g_free (path);
  g_snprintf (text, sizeof text, "%u", value);
  return fixed || set_attr (dev, attr, text, written, error);
}

static guint
read_uint (const GstIioDevice * dev, const gchar * attr)
{
  gchar *text = gst_iio_device_read_attr (dev, attr, NULL);
  guint value = text ? (guint) g_ascii_strtoull (text, NULL, 10) : 0;

  g_free (text);
  return value;
}

/* The geometry as the kernel took it; read()'s poll() waits for a
 * watermark's worth of scans, so one above the block is refused. */
static gboolean
check_geometry (GstIioDevice * dev, guint block_scans, gboolean rw,
    GError ** error)
{
  guint watermark = read_uint (dev, "watermark");

  dev->length = read_uint (dev, "length");
  if (!rw || dev->is_output || watermark <= block_scans)
    return TRUE;
  g_set_error (error, GST_IIO_DEVICE_ERROR, GST_IIO_DEVICE_ERROR_INVALID,
      "The driver of IIO device %s keeps its buffer's watermark at %u scans, "
      "more than a block of %u: raise samples-per-block to %u or more",
      dev->name, watermark, block_scans, watermark);
  return FALSE;
}

/**
 * gst_iio_device_configure:
 * @dev: a device whose buffer fd is open
 * @block_scans: scans in a block: the watermark, where it is writable
 * @n_blocks: blocks in the kernel buffer
 * @rw: blocks move with read()/write(), not DMABUFs
 * @error: (nullable): why the device refused
 *
 * Disables the buffer, writes the channel enables and the length: for
 * DMABUFs @n_blocks * @block_scans (FPGAs take it as their transfer
 * size), for read()/write() gst_iio_rw_length(); and the watermark, a
 * block (one above a block makes read()'s poll() wait past it). Writes
 * nothing the driver made read-only (a fixed watermark is checked
 * instead) or that already holds the value. Check the geometry with
 * gst_iio_device_block_bytes() first. gst_iio_device_restore() puts back
 * what was changed; @dev->length is the length set.
 */
gboolean
gst_iio_device_configure (GstIioDevice * dev, guint block_scans,
    guint n_blocks, gboolean rw, GError ** error)
{
  guint length = rw ? gst_iio_rw_length (block_scans, n_blocks,
      gst_iio_device_block_step (dev), dev->watermark_fixed) :
      block_scans * n_blocks;

  if (!gst_iio_device_set_enabled (dev, FALSE, error))
    return FALSE;
  if (!dev->configured) {
    dev->saved_length = gst_iio_device_read_attr (dev, "length", NULL);
    dev->saved_watermark = gst_iio_device_read_attr (dev, "watermark", NULL);
    dev->configured = TRUE;
  }
  if (!write_channel_enables (dev, error))
    return FALSE;
  /* the kernel lowers the watermark to a shorter length itself; a fixed
   * watermark is the driver's (fences, not it, end DMABUF blocks) */
  return set_uint (dev, "length", length, &dev->length_changed, error)
      && set_uint (dev, "watermark", block_scans, &dev->watermark_changed,
      error)
      && check_geometry (dev, block_scans, rw, error);
}

/**
 * gst_iio_device_open_buffer:
 * @dev: a device
 * @error: (nullable): BUSY when another process holds the device
 *
 * Gets the buffer's own fd (the one DMABUF ioctls, read() and write() go
 * to). The device node is open only for that instant, so that other
 * buffers of the same device can be streamed by other elements.
 */
gboolean
gst_iio_device_open_buffer (GstIioDevice * dev, GError ** error)
{
  gint node_fd, fd, err;

  node_fd = open (dev->node, O_RDWR | O_CLOEXEC);
  if (node_fd < 0)
    goto open_failed;
  fd = dev->buffer_index;
  if (ioctl (node_fd, IIO_BUFFER_GET_FD_IOCTL, &fd) < 0)
    goto get_fd_failed;
  close (node_fd);
  dev->buffer_fd = fd;
  return TRUE;

  /* ERRORS */
open_failed:
  err = errno;
  g_set_error (error, GST_IIO_DEVICE_ERROR,
      gst_iio_device_error_code_for_errno (err),
      "Cannot open %s (IIO device %s): %s; %s", dev->node, dev->name,
      g_strerror (err), err == EBUSY ?
      "another process has the device open: stop it first" :
      "run as root or add a udev rule giving your user access");
  return FALSE;
get_fd_failed:
  err = errno;
  close (node_fd);
  g_set_error (error, GST_IIO_DEVICE_ERROR,
      gst_iio_device_error_code_for_errno (err),
      "Cannot get buffer %u of IIO device %s: %s%s", dev->buffer_index,
      dev->name, g_strerror (err), err == EBUSY ?
      "; another process holds that buffer: stop it first" : "");
  return FALSE;
}

gboolean
gst_iio_device_set_enabled (GstIioDevice * dev, gboolean enable,
    GError ** error)
{
  gchar *path;
  gint err;

  if (!enable)
    return gst_iio_device_write_attr (dev, "enable", "0", error);
  path = attr_path (dev, "enable");
  err = write_file (path, "1");
  g_free (path);
  if (err == 0)
    return TRUE;
  /* access and busy have their own advice; anything else is the driver's
   * (a clock or PLL that does not lock, a trigger it lacks), which says
   * why in the kernel log */
  if (gst_iio_device_error_code_for_errno (err) == GST_IIO_DEVICE_ERROR_IO
      || err == EINVAL)
    g_set_error (error, GST_IIO_DEVICE_ERROR,
        gst_iio_device_error_code_for_errno (err), "IIO device %s did not "
        "start: its driver refused to enable the buffer (%s); the kernel log "
        "(dmesg) says why", dev->name, g_strerror (err));
  else
    write_error (dev, "enable", "1", err, FALSE, error);
  return FALSE;
}

static void
restore_attrs (GstIioDevice * dev)
{
  GHashTableIter iter;
  gpointer attr, value;

  g_hash_table_iter_init (&iter, dev->saved_attrs);
  while (g_hash_table_iter_next (&iter, &attr, &value))
    set_attr (dev, attr, value, NULL, NULL);
  g_hash_table_remove_all (dev->saved_attrs);
}

/**
 * gst_iio_device_restore:
 * @dev: a device
 *
 * Leaves the device as found: buffer disabled, channel enables, length,
 * watermark and attributes changed with gst_iio_device_change_attr() put
 * back (only what was changed), file descriptors closed. Safe to call
 * more than once.
 */
void
gst_iio_device_restore (GstIioDevice * dev)
{
  guint i;

  if (dev->buffer_fd >= 0 || dev->configured)
    gst_iio_device_set_enabled (dev, FALSE, NULL);
  if (dev->buffer_fd >= 0)
    close (dev->buffer_fd);
  dev->buffer_fd = -1;
  restore_attrs (dev);
  if (!dev->configured)
    return;
  for (i = 0; i < dev->channels->len; i++) {
    const GstIioChannel *ch = &g_array_index (dev->channels, GstIioChannel, i);
    write_channel_enable (dev, ch, ch->was_enabled, NULL);
  }
  /* the length first: the kernel takes no watermark above it */
  if (dev->length_changed && dev->saved_length)
    set_attr (dev, "length", dev->saved_length, NULL, NULL);
  if (dev->watermark_changed && dev->saved_watermark)
    set_attr (dev, "watermark", dev->saved_watermark, NULL, NULL);
  g_clear_pointer (&dev->saved_length, g_free);
  g_clear_pointer (&dev->saved_watermark, g_free);
  dev->configured = dev->length_changed = dev->watermark_changed = FALSE;
  dev->length = 0;
}

/* --- DMABUF support, from sysfs ------------------------------------------- */

/* TRUE when @release ("6.12.107+deb12-amd64") is @major.@minor or later */
static gboolean
kernel_at_least (const gchar * release, guint major, guint minor)
{
  guint maj, min;

  if (sscanf (release, "%u.%u", &maj, &min) != 2)
    return FALSE;
  return maj > major || (maj == major && min >= minor);
}

/**
 * gst_iio_buffer_dmabuf_known:
 * @buffer_dir: a buffer's sysfs directory (.../iio:deviceN/bufferM)
 * @kernel_release: the running kernel's release, as uname() gives it
 * @dmabuf: (out): whether the buffer takes DMABUFs, when known
 *
 * Tells without opening the device node or taking the buffer, which
 * another process may be streaming from or about to start. Only the IIO
 * DMA buffer core takes DMABUFs, from Linux 6.11; its mainline buffers
 * (industrialio-buffer-dmaengine) have a bufferM/length_align_bytes file
 * and a read-only watermark. kfifo and triggered buffers have neither and
 * never take DMABUFs.
 *
 * Returns: whether sysfs and the version tell: not for a DMA buffer on a
 * kernel before 6.11 (mainline has no DMABUF interface there, a vendor
 * tree may have had one), nor for
 * a buffer with a read-only watermark but no length_align_bytes (a
 * hardware buffer of some other driver), nor without a watermark file
 */
gboolean
gst_iio_buffer_dmabuf_known (const gchar * buffer_dir,
    const gchar * kernel_release, gboolean * dmabuf)
{
  gchar *align = g_build_filename (buffer_dir, "length_align_bytes", NULL);
  gchar *watermark = g_build_filename (buffer_dir, "watermark", NULL);
  gboolean dma_core = g_file_test (align, G_FILE_TEST_EXISTS);
  gboolean have_watermark = g_file_test (watermark, G_FILE_TEST_EXISTS);
  gboolean fixed_watermark = file_read_only (watermark);

  g_free (align);
  g_free (watermark);
  *dmabuf = FALSE;
  if (dma_core) {
    *dmabuf = TRUE;
    return kernel_at_least (kernel_release, 6, 11);
  }
  return have_watermark && !fixed_watermark;
}

/**
 * gst_iio_device_dmabuf_known:
 * @dev: a device (nothing of it open)
 * @dmabuf: (out): whether its buffer takes DMABUFs, when known
 *
 * gst_iio_buffer_dmabuf_known() for the device's buffer on this kernel.
 *
 * Returns: whether sysfs and the kernel's version tell
 */
gboolean
gst_iio_device_dmabuf_known (const GstIioDevice * dev, gboolean * dmabuf)
{
  struct utsname uts;

  if (uname (&uts) < 0) {
    *dmabuf = FALSE;
    return FALSE;
  }
  return gst_iio_buffer_dmabuf_known (dev->buffer_dir, uts.release, dmabuf);
}
