#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The capture half of the demo, run inside the test VM by scripts/demo:
iiodmabufsrc on iio-sim-adc (sine) into a WAV file and, live, into an
oscilloscope picture; then the ADC looped into the DAC without a copy;
with the elements' stats."""
import glob
import shutil
import sys

import gi
gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

OUT = sys.argv[1]
BLOCKS = 100

PIPELINE = f"""
  iiodmabufsrc name=src device=iio-sim-adc channels=voltage0,voltage1
      sampling-frequency=48000 samples-per-block=960 num-blocks=16
      attributes="attrs,waveform=sine" num-buffers={BLOCKS}
  ! tee name=t
  t. ! queue ! wavenc ! filesink buffer-mode=unbuffered location=/run/capture.wav
  t. ! queue leaky=downstream max-size-buffers=2
     ! audioconvert mix-matrix="<<(float)1,(float)0>,<(float)0,(float)1>>"
     ! audio/x-raw,channels=2,channel-mask=(bitmask)0x3
     ! wavescope style=lines shader=none
     ! video/x-raw,width=640,height=240,framerate=50/1
     ! videoconvert ! pngenc ! multifilesink location=/run/scope.png
"""
# filesink unbuffered: by default it keeps 64 KiB of buffers, which here
# are DMABUF blocks the source needs back (it would copy instead).
# The scope is a preview: its queue drops blocks rather than hold them, and
# multifilesink rewrites one PNG per 20 ms frame, so the last frame stays.
# IIO channels are unpositioned; wavescope wants a stereo pair.
# /run is the VM's own tmpfs: writing DMABUF-mapped memory straight to the
# host's 9p share hangs the VM's 9p client, so the files are copied after.


# Then the ADC's blocks straight into the DAC: each DMABUF the ADC wrote is
# attached to the DAC's buffer as it is, no copy anywhere.
LOOPBACK = f"""
  iiodmabufsrc name=src device=iio-sim-adc channels=voltage0,voltage1
      sampling-frequency=48000 samples-per-block=960 num-blocks=8
      attributes="attrs,waveform=sine" num-buffers={BLOCKS}
  ! iiodmabufsink name=sink device=iio-sim-dac
"""


def play(description, names):
    """Plays to EOS; returns the named elements' stats, or None."""
    pipeline = Gst.parse_launch(description)
    pipeline.set_state(Gst.State.PLAYING)
    msg = pipeline.get_bus().timed_pop_filtered(
        120 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    stats = [pipeline.get_by_name(n).get_property("stats") for n in names]
    pipeline.set_state(Gst.State.NULL)
    if msg is None or msg.type == Gst.MessageType.ERROR:
        err = msg.parse_error()[0].message if msg else "no EOS within 120 s"
        print(f"demo: the pipeline failed: {err}", file=sys.stderr)
        return None
    return stats


def show(title, stats):
    print(title)
    for i in range(stats.n_fields()):
        name = stats.nth_field_name(i)
        print(f"  {name:14} {stats.get_value(name)}")


def dac_counter(name):
    for dev in glob.glob("/sys/bus/iio/devices/iio:device*"):
        with open(f"{dev}/name") as f:
            if f.read().strip() == "iio-sim-dac":
                with open(f"{dev}/{name}") as f:
                    return f.read().strip()
    return "?"


def main():
    Gst.init(None)
    stats = play(PIPELINE, ["src"])
    if not stats:
        return 1
    shutil.copy("/run/capture.wav", OUT)
    shutil.copy("/run/scope.png", OUT)
    show("capture: iiodmabufsrc stats:", stats[0])

    stats = play(LOOPBACK, ["src", "sink"])
    if not stats:
        return 1
    print()
    show("loopback ADC -> DAC: iiodmabufsrc stats:", stats[0])
    show("iiodmabufsink stats:", stats[1])
    print(f"the DAC played {dac_counter('consumed_bytes')} bytes, "
          f"{dac_counter('underflows')} underflows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
