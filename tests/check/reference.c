/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * docs/elements.md is generated from the plugins themselves: their
 * elements' metadata, pad templates, properties and stats fields, and the
 * device provider. This test fails when the file is stale; run it with
 * IIODMABUF_UPDATE_DOCS=1 to write it anew. No device needed.
 *
 * Two parts are not generated and are kept as the file has them: an
 * element's "### Behaviour" subsection (hand-written, the last of its
 * section), and the sections of iiosrc and iiosink when the libiio plugin
 * is not built (IIODMABUF_LIBIIO unset): then they go unchecked.
 */
#include <gst/check/gstcheck.h>
#include <string.h>

static const gchar *
flag_text (GParamFlags flags)
{
  if (!(flags & G_PARAM_WRITABLE))
    return "read-only";
  if (flags & GST_PARAM_MUTABLE_PLAYING)
    return "any time";
  if (flags & GST_PARAM_MUTABLE_READY)
    return "in NULL or READY";
  return "read-write";
}

static gchar *
default_text (GParamSpec * pspec)
{
  const GValue *value = g_param_spec_get_default_value (pspec);
  gchar *text;

  if (G_VALUE_HOLDS_BOXED (value) || G_VALUE_HOLDS_OBJECT (value))
    return g_strdup ("-");
  text = gst_value_serialize (value);
  return text ? text : g_strdup ("-");
}

static void
write_properties (GString * md, GstElement * element)
{
  guint n, i;
  GParamSpec **specs =
      g_object_class_list_properties (G_OBJECT_GET_CLASS (element), &n);

  g_string_append (md, "\n### Properties\n\n| property | type | default | "
      "settable | description |\n|---|---|---|---|---|\n");
  for (i = 0; i < n; i++) {
    gchar *def;

    if (specs[i]->owner_type == GST_TYPE_OBJECT)
      continue;                 /* name, parent */
    def = default_text (specs[i]);
    g_string_append_printf (md, "| `%s` | %s | `%s` | %s | %s |\n",
        specs[i]->name, g_type_name (specs[i]->value_type), def,
        flag_text (specs[i]->flags), g_param_spec_get_blurb (specs[i]));
    g_free (def);
  }
  g_free (specs);
}

static gboolean
write_stat (GQuark field, const GValue * value, gpointer user_data)
{
  g_string_append_printf (user_data, "| `%s` | %s |\n",
      g_quark_to_string (field), G_VALUE_TYPE_NAME (value));
  return TRUE;
}

static void
write_element (GString * md, const gchar * name)
{
  GstElementFactory *factory = gst_element_factory_find (name);
  GstElement *element;
  GstStructure *stats = NULL;
  const GList *l;

  fail_unless (factory != NULL, "no element %s: GST_PLUGIN_PATH?", name);
  element = gst_element_factory_create (factory, NULL);
  g_string_append_printf (md, "\n## %s\n\n%s (%s): %s\n", name,
      gst_element_factory_get_metadata (factory, GST_ELEMENT_METADATA_LONGNAME),
      gst_element_factory_get_metadata (factory, GST_ELEMENT_METADATA_KLASS),
      gst_element_factory_get_metadata (factory,
          GST_ELEMENT_METADATA_DESCRIPTION));
  g_string_append (md, "\n### Pad templates\n\n");
  for (l = gst_element_factory_get_static_pad_templates (factory); l;
      l = l->next) {
    GstStaticPadTemplate *t = l->data;
    GstCaps *caps = gst_static_pad_template_get_caps (t);
    gchar *text = gst_caps_to_string (caps);

    g_string_append_printf (md, "- `%s` (%s, %s): `%s`\n", t->name_template,
        t->direction == GST_PAD_SRC ? "source" : "sink",
        t->presence == GST_PAD_ALWAYS ? "always" : "sometimes", text);
    g_free (text);
    gst_caps_unref (caps);
  }
  write_properties (md, element);
  g_object_get (element, "stats", &stats, NULL);
  g_string_append (md, "\n### Fields of `stats`\n\n| field | type |\n"
      "|---|---|\n");
  gst_structure_foreach (stats, write_stat, md);
  gst_structure_free (stats);
  gst_object_unref (element);
  gst_object_unref (factory);
}

/* The section "## @name" of @doc, up to the next section: a pointer into
 * @doc and its length in @len, or NULL. */
static const gchar *
find_section (const gchar * doc, const gchar * name, gsize * len)
{
  gchar *heading = g_strdup_printf ("\n## %s\n", name);
  const gchar *start = doc ? strstr (doc, heading) : NULL, *end;

  g_free (heading);
  if (!start)
    return NULL;
  start++;
  end = strstr (start, "\n## ");
  *len = end ? (gsize) (end - start) : strlen (start);
  return start;
}

/* Appends the hand-written "### Behaviour" of @name's section in @have. */
static void
keep_behaviour (GString * md, const gchar * have, const gchar * name)
{
  gsize len;
  const gchar *section = find_section (have, name, &len);
  const gchar *behaviour = section ?
      g_strstr_len (section, len, "\n### Behaviour\n") : NULL;

  if (behaviour)
    g_string_append_len (md, behaviour, section + len - behaviour);
}

/* iiosrc, iiosink: generated when their plugin is built, else kept. */
static void
write_libiio_element (GString * md, const gchar * have, const gchar * name)
{
  gsize len;
  const gchar *section;

  if (g_getenv ("IIODMABUF_LIBIIO")) {
    write_element (md, name);
    keep_behaviour (md, have, name);
    return;
  }
  section = find_section (have, name, &len);
  fail_unless (section != NULL, "docs/elements.md has no section %s, and "
      "the libiio plugin is not built to write it", name);
  g_string_append_c (md, '\n');
  g_string_append_len (md, section, len);
}

/* @have: the file as it is, for the parts kept. */
static gchar *
generate (const gchar * have)
{
  GstDeviceProviderFactory *dp =
      gst_device_provider_factory_find ("iiodeviceprovider");
  GString *md = g_string_new ("<!-- Generated from the plugins by "
      "tests/check/reference.c: run it with IIODMABUF_UPDATE_DOCS=1 after "
      "changing an element. Do not edit but the Behaviour subsections, "
      "which it keeps. -->\n# Element reference\n");

  write_element (md, "iiodmabufsrc");
  keep_behaviour (md, have, "iiodmabufsrc");
  write_element (md, "iiodmabufsink");
  keep_behaviour (md, have, "iiodmabufsink");
  fail_unless (dp != NULL);
  g_string_append_printf (md, "\n## iiodeviceprovider\n\n%s (%s): %s\n",
      gst_device_provider_factory_get_metadata (dp,
          GST_ELEMENT_METADATA_LONGNAME),
      gst_device_provider_factory_get_metadata (dp,
          GST_ELEMENT_METADATA_KLASS),
      gst_device_provider_factory_get_metadata (dp,
          GST_ELEMENT_METADATA_DESCRIPTION));
  gst_object_unref (dp);
  write_libiio_element (md, have, "iiosrc");
  write_libiio_element (md, have, "iiosink");
  return g_string_free (md, FALSE);
}

GST_START_TEST (test_reference_is_current)
{
  gchar *path = g_build_filename (g_getenv ("IIODMABUF_SOURCE_ROOT"), "docs",
      "elements.md", NULL);
  gchar *want, *have = NULL;

  fail_unless (g_file_get_contents (path, &have, NULL, NULL), "no %s", path);
  want = generate (have);
  if (g_getenv ("IIODMABUF_UPDATE_DOCS")) {
    fail_unless (g_file_set_contents (path, want, -1, NULL));
    g_free (have);
    have = g_strdup (want);
  }
  fail_unless (g_str_equal (have, want), "%s is stale: run "
      "IIODMABUF_UPDATE_DOCS=1 meson test -C build reference", path);
  g_free (have);
  g_free (want);
  g_free (path);
}

GST_END_TEST;

static Suite *
reference_suite (void)
{
  Suite *s = suite_create ("reference");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_reference_is_current);
  return s;
}

GST_CHECK_MAIN (reference);
