/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A converter's sample timeline: how many samples it dropped, measured
 * from the times its blocks completed and were queued, or from the
 * timestamps it wrote into its scans. Pure arithmetic, no I/O, no
 * GStreamer.
 */
#ifndef __IIODMABUF_TIMELINE_H__
#define __IIODMABUF_TIMELINE_H__

#include <glib.h>

G_BEGIN_DECLS

guint64 gst_iio_lost_while_idle (gint64 idle_ns, guint rate);
guint64 gst_iio_lost_between_scans (gint64 last_ns, gint64 next_ns,
    guint rate);
gint64 gst_iio_idle_before (gint64 previous_done_ns, gint64 queued_ns);
guint64 gst_iio_lost_before_block (gint64 previous_done_ns, gint64 queued_ns,
    gint64 done_ns, guint block_samples, guint rate);

G_END_DECLS

#endif /* __IIODMABUF_TIMELINE_H__ */
