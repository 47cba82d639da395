/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * docs/elements.md is generated from the plugin itself: its elements'
 * metadata, pad templates, properties and stats fields, and the device
 * provider. This test fails when the file is stale; run it with
 * IIODMABUF_UPDATE_DOCS=1 to write it anew. No device needed.
 */
#include <gst/check/gstcheck.h>

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

static gchar *
generate (void)
{
  GstDeviceProviderFactory *dp =
      gst_device_provider_factory_find ("iiodeviceprovider");
  GString *md = g_string_new ("<!-- Generated from the plugin by "
      "tests/check/reference.c: run it with IIODMABUF_UPDATE_DOCS=1 after "
      "changing an element. Do not edit. -->\n# Element reference\n");

  write_element (md, "iiodmabufsrc");
  write_element (md, "iiodmabufsink");
  fail_unless (dp != NULL);
  g_string_append_printf (md, "\n## iiodeviceprovider\n\n%s (%s): %s\n",
      gst_device_provider_factory_get_metadata (dp,
          GST_ELEMENT_METADATA_LONGNAME),
      gst_device_provider_factory_get_metadata (dp,
          GST_ELEMENT_METADATA_KLASS),
      gst_device_provider_factory_get_metadata (dp,
          GST_ELEMENT_METADATA_DESCRIPTION));
  gst_object_unref (dp);
  return g_string_free (md, FALSE);
}

GST_START_TEST (test_reference_is_current)
{
  gchar *path = g_build_filename (g_getenv ("IIODMABUF_SOURCE_ROOT"), "docs",
      "elements.md", NULL);
  gchar *want = generate (), *have = NULL;

  if (g_getenv ("IIODMABUF_UPDATE_DOCS"))
    fail_unless (g_file_set_contents (path, want, -1, NULL));
  fail_unless (g_file_get_contents (path, &have, NULL, NULL), "no %s", path);
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
