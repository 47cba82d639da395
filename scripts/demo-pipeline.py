#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The capture half of the demo, run inside the test VM by scripts/demo:
iiodmabufsrc on iio-sim-adc (sine) into a WAV file; then the ADC looped
into the DAC without a copy. Prints the elements' stats and writes them,
with what each captured block was, to stats.json next to capture.wav, from
which scripts/demo-plot.py draws the picture on the host."""
import glob
import json
import os
import shutil
import sys

import gi
gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

OUT = sys.argv[1]
BLOCKS = 100
RATE = 48000
SAMPLES_PER_BLOCK = 960
CHANNELS = ["voltage0", "voltage1"]

PIPELINE = f"""
  iiodmabufsrc name=src device=iio-sim-adc channels={",".join(CHANNELS)}
      sampling-frequency={RATE} samples-per-block={SAMPLES_PER_BLOCK}
      num-blocks=16 attributes="attrs,waveform=sine" num-buffers={BLOCKS}
  ! wavenc ! filesink buffer-mode=unbuffered location=/run/capture.wav
"""
# filesink unbuffered: by default it keeps 64 KiB of buffers, which here
# are DMABUF blocks the source needs back (it would copy instead).
# /run is the VM's own tmpfs: writing DMABUF-mapped memory straight to the
# host's 9p share hangs the VM's 9p client, so the file is copied after.


# Then the ADC's blocks straight into the DAC: each DMABUF the ADC wrote is
# attached to the DAC's buffer as it is, no copy anywhere.
LOOPBACK = f"""
  iiodmabufsrc name=src device=iio-sim-adc channels={",".join(CHANNELS)}
      sampling-frequency={RATE} samples-per-block={SAMPLES_PER_BLOCK}
      num-blocks=8 attributes="attrs,waveform=sine" num-buffers={BLOCKS}
  ! iiodmabufsink name=sink device=iio-sim-dac
"""


def record_blocks(element):
    """Notes what each buffer the element pushes is: where it sits in the
    converter's sample count, its timestamp, size, flags and memory."""
    blocks = []

    def probe(pad, info):
        buf = info.get_buffer()
        blocks.append({
            "offset": buf.offset,
            "pts-ns": buf.pts if buf.pts != Gst.CLOCK_TIME_NONE else None,
            "bytes": buf.get_size(),
            "discont": buf.has_flags(Gst.BufferFlags.DISCONT),
            "memory": [buf.peek_memory(i).allocator.mem_type
                       for i in range(buf.n_memory())],
        })
        return Gst.PadProbeReturn.OK

    element.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, probe)
    return blocks


def play(description, names, probe=None):
    """Plays to EOS; returns the named elements' stats (dicts) and the
    blocks the element named probe pushed, or None."""
    pipeline = Gst.parse_launch(description)
    blocks = record_blocks(pipeline.get_by_name(probe)) if probe else None
    pipeline.set_state(Gst.State.PLAYING)
    msg = pipeline.get_bus().timed_pop_filtered(
        120 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    stats = [to_dict(pipeline.get_by_name(n).get_property("stats"))
             for n in names]
    pipeline.set_state(Gst.State.NULL)
    if msg is None or msg.type == Gst.MessageType.ERROR:
        err = msg.parse_error()[0].message if msg else "no EOS within 120 s"
        print(f"demo: the pipeline failed: {err}", file=sys.stderr)
        return None
    return stats, blocks


def to_dict(structure):
    return {structure.nth_field_name(i):
            structure.get_value(structure.nth_field_name(i))
            for i in range(structure.n_fields())}


def show(title, stats):
    print(title)
    for name, value in stats.items():
        print(f"  {name:14} {value}")


def sysfs(device, attribute):
    for dev in glob.glob("/sys/bus/iio/devices/iio:device*"):
        with open(f"{dev}/name") as f:
            if f.read().strip() == device:
                try:
                    with open(f"{dev}/{attribute}") as f:
                        return f.read().strip()
                except OSError:
                    return None
    return None


def main():
    Gst.init(None)
    played = play(PIPELINE, ["src"], probe="src")
    if not played:
        return 1
    (capture,), blocks = played
    shutil.copy("/run/capture.wav", OUT)
    show("capture: iiodmabufsrc stats:", capture)
    scale = sysfs("iio-sim-adc", "in_voltage_scale")

    played = play(LOOPBACK, ["src", "sink"])
    if not played:
        return 1
    (src, sink), _ = played
    print()
    show("loopback ADC -> DAC: iiodmabufsrc stats:", src)
    show("iiodmabufsink stats:", sink)
    dac = {name: sysfs("iio-sim-dac", name)
           for name in ("consumed_bytes", "underflows")}
    print(f"the DAC played {dac['consumed_bytes']} bytes, "
          f"{dac['underflows']} underflows")

    report = {
        "capture": {
            "device": "iio-sim-adc",
            "channels": CHANNELS,
            "sampling-frequency": RATE,
            "samples-per-block": SAMPLES_PER_BLOCK,
            "waveform": "sine",
            # mV per LSB, the IIO ABI's unit for voltage channels
            "scale-mv": float(scale) if scale else None,
            "kernel": os.uname().release,
            "stats": capture,
            "blocks": "@blocks@",  # below, one line each
        },
        "loopback": {
            "src": src,
            "sink": sink,
            "dac": {k: int(v) if v and v.isdigit() else v
                    for k, v in dac.items()},
        },
    }
    lines = ",\n".join("   " + json.dumps(block) for block in blocks)
    text = json.dumps(report, indent=1).replace('"@blocks@"',
                                                f"[\n{lines}\n  ]")
    with open(f"{OUT}/stats.json", "w") as f:
        f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
