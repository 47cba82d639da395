#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The capture half of the demo, run inside the test VM by scripts/demo:
iiodmabufsrc on iio-sim-adc (sine) into a WAV file, then the element's
stats."""
import shutil
import sys

import gi
gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

OUT = sys.argv[1]
BLOCKS = 100

PIPELINE = f"""
  iiodmabufsrc name=src device=iio-sim-adc channels=voltage0,voltage1
      sampling-frequency=48000 samples-per-block=960 num-blocks=8
      attributes="attrs,waveform=sine" num-buffers={BLOCKS}
  ! wavenc ! filesink buffer-mode=unbuffered location=/run/capture.wav
"""
# filesink unbuffered: by default it keeps 64 KiB of buffers, which here
# are DMABUF blocks the source needs back (it would copy instead).
# /run is the VM's own tmpfs: writing DMABUF-mapped memory straight to the
# host's 9p share hangs the VM's 9p client, so the file is copied after.


def main():
    Gst.init(None)
    pipeline = Gst.parse_launch(PIPELINE)
    src = pipeline.get_by_name("src")
    pipeline.set_state(Gst.State.PLAYING)
    msg = pipeline.get_bus().timed_pop_filtered(
        120 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    stats = src.get_property("stats")
    pipeline.set_state(Gst.State.NULL)
    if msg is None or msg.type == Gst.MessageType.ERROR:
        err = msg.parse_error()[0].message if msg else "no EOS within 120 s"
        print(f"demo: the pipeline failed: {err}", file=sys.stderr)
        return 1
    shutil.copy("/run/capture.wav", OUT)
    print("iiodmabufsrc stats:")
    for i in range(stats.n_fields()):
        name = stats.nth_field_name(i)
        print(f"  {name:14} {stats.get_value(name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
