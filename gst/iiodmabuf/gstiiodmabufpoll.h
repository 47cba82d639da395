/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Bounded, cancellable waits on a GstPoll that signals cannot stretch.
 */
#ifndef __GST_IIO_DMABUF_POLL_H__
#define __GST_IIO_DMABUF_POLL_H__

#include <gst/gst.h>

G_BEGIN_DECLS

gint gst_iio_poll_wait (GstPoll * poll, GstClockTime timeout);

G_END_DECLS

#endif /* __GST_IIO_DMABUF_POLL_H__ */
