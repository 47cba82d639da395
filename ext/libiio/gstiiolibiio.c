/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The libiio plugin: IIO converters on any context libiio reaches (local:,
 * ip:, usb:, serial:). Its own plugin, so that the zero-copy plugin never
 * links libiio.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstiiosink.h"
#include "gstiiosrc.h"

static gboolean
plugin_init (GstPlugin * plugin)
{
  gboolean ok = GST_ELEMENT_REGISTER (iiosrc, plugin);

  ok &= GST_ELEMENT_REGISTER (iiosink, plugin);
  return ok;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, iiolibiio,
    "IIO capture and playback through libiio, local or remote (a copy path)",
    plugin_init, VERSION, GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
