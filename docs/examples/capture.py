#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Embedding iiodmabufsrc from Python (PyGObject): capture N blocks, read
the element's stats, report an error as the element words it.

    capture.py DEVICE CHANNELS N     e.g. capture.py iio-sim-adc voltage0 100

Exits 0 after N blocks, 1 with the element's error on stderr."""
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402


def main(device, channels, n):
    Gst.init(None)
    pipeline = Gst.parse_launch(
        f"iiodmabufsrc name=src device={device} channels={channels} "
        f"num-buffers={n} ! fakesink name=sink signal-handoffs=true sync=false")
    seen = {"blocks": 0, "bytes": 0}

    def on_handoff(sink, buf, pad):
        seen["blocks"] += 1
        seen["bytes"] += buf.get_size()

    pipeline.get_by_name("sink").connect("handoff", on_handoff)
    pipeline.set_state(Gst.State.PLAYING)
    msg = pipeline.get_bus().timed_pop_filtered(
        Gst.CLOCK_TIME_NONE, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    ok = msg.type == Gst.MessageType.EOS
    if ok:
        stats = pipeline.get_by_name("src").get_property("stats")
        print(f"captured {seen['blocks']} blocks, {seen['bytes']} bytes")
        print(f"stats: {stats.to_string()}")
    else:
        error, _ = msg.parse_error()
        print(f"error: {error.message}", file=sys.stderr)
    pipeline.set_state(Gst.State.NULL)
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(f"usage: {sys.argv[0]} DEVICE CHANNELS N")
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
