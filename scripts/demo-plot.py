#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The picture half of the demo, run on the host by scripts/demo after the
VM: draws DIR/scope.png from the samples iiodmabufsrc captured
(DIR/capture.wav) and the stats the VM wrote (DIR/stats.json): a scope
trace of both channels in ms, their spectrum in dB against Hz, and the
elements' stats.

    /usr/bin/python3 scripts/demo-plot.py DIR

Debian's python3-numpy and python3-matplotlib (scripts/setup)."""
import json
import os
import sys
import wave

import numpy as np
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
WINDOW_MS = 5.0  # the scope's time span


class Failed(Exception):
    pass


def load(folder):
    path = os.path.join(folder, "stats.json")
    try:
        with open(path) as f:
            report = json.load(f)
    except (OSError, ValueError) as e:
        raise Failed(f"cannot read {path} ({e}): the capture in the VM did "
                     "not finish") from None
    path = os.path.join(folder, "capture.wav")
    try:
        with wave.open(path) as w:
            channels, width = w.getnchannels(), w.getsampwidth()
            rate, frames = w.getframerate(), w.getnframes()
            data = w.readframes(frames)
    except (OSError, EOFError, wave.Error) as e:
        raise Failed(f"cannot read {path}: {e}") from None
    if width not in (1, 2, 4):
        raise Failed(f"{path}: {8 * width}-bit samples, not drawn")
    capture = report["capture"]
    pushed = capture["stats"]["bytes"]
    if frames == 0 or len(data) != pushed:
        raise Failed(f"{path} holds {len(data)} bytes of samples, but "
                     f"iiodmabufsrc pushed {pushed}: the capture is "
                     "incomplete")
    if channels != len(capture["channels"]) or \
            rate != capture["sampling-frequency"]:
        raise Failed(f"{path} has {channels} channels at {rate} Hz, the "
                     f"capture asked for {len(capture['channels'])} at "
                     f"{capture['sampling-frequency']} Hz")
    dtype = {1: "u1", 2: "<i2", 4: "<i4"}[width]
    samples = np.frombuffer(data, dtype).reshape(-1, channels)
    if width == 1:  # WAV's 8-bit samples are unsigned
        samples = samples.astype(np.int16) - 128
    return report, samples.astype(np.float64), rate, 8 * width, \
        os.path.getsize(path)


def spectrum(x, rate, bits):
    """Magnitude of x (Hann window, whole capture) in dB relative to full
    scale: a full-scale sine reads 0 dBFS."""
    window = np.hanning(len(x))
    mag = np.abs(np.fft.rfft(x * window)) * 2 / window.sum()
    freq = np.fft.rfftfreq(len(x), 1 / rate)
    full = 2.0 ** (bits - 1)
    return freq, 20 * np.log10(np.maximum(mag / full, 1e-12))


def block_starts(blocks, frame_bytes):
    """Frame index in the WAV at which each block begins."""
    starts, at = [], 0
    for block in blocks:
        starts.append(at)
        at += block["bytes"] // frame_bytes
    return starts


def stats_lines(title, stats):
    lines = [title]
    for name, value in stats.items():
        lines.append(f"  {name:<14} {value}")
    return lines


def stats_columns(report, frames, frame_bytes):
    """The text under the plots: each element's stats, then what the probe
    on the source's pad saw and what the WAV holds."""
    capture, loop = report["capture"], report["loopback"]
    blocks = capture["blocks"]
    dmabufs = sum(1 for b in blocks if b["memory"] and
                  all(m == "dmabuf" for m in b["memory"]))
    gapless = all(a["offset"] + a["bytes"] // frame_bytes == b["offset"]
                  for a, b in zip(blocks, blocks[1:]))
    discont = sum(1 for b in blocks[1:] if b["discont"])
    dac = loop.get("dac", {})
    return [
        stats_lines("capture: iiodmabufsrc", capture["stats"]) + [
            "",
            f"  buffers        {len(blocks)}, {dmabufs} of them DMABUFs",
            f"  OFFSET         {'no gap' if gapless else 'GAPS'}, "
            f"{discont} DISCONT after the 1st",
            f"  capture.wav    {frames * frame_bytes} bytes of samples",
        ],
        stats_lines("loopback ADC -> DAC: iiodmabufsrc", loop["src"]),
        stats_lines("loopback: iiodmabufsink", loop["sink"]) + [
            "",
            f"  iio-sim-dac played {dac.get('consumed_bytes')} bytes,",
            f"  {dac.get('underflows')} underflows",
        ],
    ]


def draw_scope(ax, samples, rate, bits, names, starts, scale, peaks):
    """WINDOW_MS of both channels around the first block boundary."""
    frames = len(samples)
    edge = starts[1] if len(starts) > 1 else 0
    first = max(0, edge - int(WINDOW_MS / 2000 * rate))
    last = min(frames, first + int(WINDOW_MS / 1000 * rate))
    t_ms = np.arange(first, last) * 1000 / rate
    for c, name in enumerate(names):
        y = samples[first:last, c] * (scale or 1)
        amp = np.abs(samples[:, c]).max() * (scale or 1)
        ax.plot(t_ms, y, color=COLOURS[c % len(COLOURS)], lw=1.8, marker="o",
                ms=2.2, label=f"{name}: {peaks[c][2]:g} Hz, ±{amp:.0f} "
                f"{'mV' if scale else 'LSB'} peak")
    for i, s in enumerate(starts):
        if first < s < last:
            ax.axvline(s * 1000 / rate, color="#555", ls="--", lw=1.2)
            ax.annotate(f"block {i}  |  block {i + 1}\n(next DMABUF)",
                        (s * 1000 / rate, 1.0),
                        xycoords=("data", "axes fraction"), xytext=(0, -4),
                        textcoords="offset points", ha="center", va="top",
                        fontsize=10, color="#333",
                        bbox=dict(boxstyle="round,pad=0.25", fc="white",
                                  ec="#999", alpha=0.9))
    ax.set_xlim(t_ms[0], t_ms[-1])
    # full scale, with room for the legend and the labels
    top = max(2 ** (bits - 1), 1.7 * np.abs(samples).max()) * (scale or 1)
    ax.set_ylim(-top, top)
    ax.set_xlabel("time since the first captured sample (ms)", fontsize=12)
    if scale:
        ax.set_ylabel("voltage (mV)", fontsize=12)
        ax.text(0.99, 0.975, f"full scale ±{scale * 2 ** (bits - 1):.0f} mV"
                f"\nin_voltage_scale {scale:.5g} mV/LSB",
                transform=ax.transAxes, ha="right", va="top", fontsize=9.5,
                color="#444")
    else:
        ax.set_ylabel("sample (LSB)", fontsize=12)
    ax.set_title(f"Scope: {WINDOW_MS:g} ms across the first block boundary "
                 "(dots: samples)", fontsize=13)
    ax.grid(alpha=0.35)
    ax.legend(loc="lower left", fontsize=11, framealpha=0.95)


def draw_spectrum(ax, peaks, names, rate, frames):
    sfdr = []
    for c, (freq, db, f0, d0) in enumerate(peaks):
        colour = COLOURS[c % len(COLOURS)]
        ax.plot(freq[1:], db[1:], color=colour, lw=1.0, label=names[c])
        # the highest bin outside the peak's main lobe (and DC's)
        k = int(np.argmax(db[1:])) + 1
        rest = np.concatenate([db[3:max(3, k - 3)], db[k + 4:]])
        sfdr.append(d0 - rest.max() if rest.size else float("nan"))
        left = c % 2 == 0
        ax.annotate(f"{names[c]}\n{f0:g} Hz, {d0:.1f} dBFS", (f0, d0),
                    xytext=(-12 if left else 12, -14 - 40 * (c // 2)),
                    textcoords="offset points", fontsize=10.5, color=colour,
                    fontweight="bold", va="top",
                    ha="right" if left else "left",
                    bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none",
                              alpha=0.85),
                    arrowprops=dict(arrowstyle="-", color=colour, lw=0.8))
    ax.text(0.015, 0.025, "largest spur below each peak (SFDR): " +
            ", ".join(f"{n} {d:.0f} dB" for n, d in zip(names, sfdr)),
            transform=ax.transAxes, fontsize=10, color="#444",
            bbox=dict(boxstyle="round,pad=0.25", fc="white", ec="none",
                      alpha=0.85))
    ax.set_xscale("log")
    ax.set_xlim(200, rate / 2)
    ticks = [t for t in (200, 500, 1000, 2000, 5000, 10000, 20000)
             if t <= rate / 2]
    ax.set_xticks(ticks, [f"{t // 1000}k" if t >= 1000 else str(t)
                          for t in ticks])
    ax.set_ylim(-150, 10)
    ax.set_xlabel("frequency (Hz)", fontsize=12)
    ax.set_ylabel("magnitude (dBFS: dB relative to full scale)", fontsize=12)
    ax.set_title(f"Spectrum: all {frames} frames, Hann window, "
                 f"{rate / frames:g} Hz bins", fontsize=13)
    ax.grid(alpha=0.35, which="both")
    ax.legend(loc="upper right", fontsize=11, framealpha=0.95)


def draw(folder):
    report, samples, rate, bits, wav_bytes = load(folder)
    capture = report["capture"]
    names, stats = capture["channels"], capture["stats"]
    frames, nch = samples.shape
    frame_bytes = nch * bits // 8
    peaks = []
    for c in range(nch):
        freq, db = spectrum(samples[:, c], rate, bits)
        k = int(np.argmax(db[1:])) + 1
        peaks.append((freq, db, freq[k], db[k]))
    columns = stats_columns(report, frames, frame_bytes)

    # laid out in inches, from the top: the titles, the plots, the stats
    # (as tall as their longest column)
    font, spacing = 11.5, 1.35
    line = font * spacing / 72
    width, plots_top, plots_h, stats_top = 16, 1.2, 4.4, 6.45
    height = stats_top + 0.2 + line * max(len(c) for c in columns) + 0.2
    fig = plt.figure(figsize=(width, height), dpi=100)

    def axes(x0, x1, top, h):  # fig.add_axes, in inches
        return fig.add_axes([x0 / width, 1 - (top + h) / height,
                             (x1 - x0) / width, h / height])

    fig.text(0.5, 1 - 0.42 / height,
             f"iiodmabufsrc on {capture['device']}: {frames / rate:g} s of "
             f"{capture['waveform']} in {stats.get('blocks')} blocks, "
             f"{stats.get('copies')} copies (io-mode {stats.get('io-mode')})",
             ha="center", va="baseline", fontsize=17, fontweight="bold")
    fig.text(0.5, 1 - 0.78 / height,
             f"drawn from capture.wav as the VM's filesink wrote it "
             f"({wav_bytes} bytes: {frames} frames of {nch} × {bits}-bit, "
             f"{rate / 1000:g} kHz)  ·  Linux {capture.get('kernel', '?')} "
             "in QEMU, simulated converter iio-sim",
             ha="center", va="baseline", fontsize=11.5, color="#444")
    draw_scope(axes(0.9, 7.75, plots_top, plots_h), samples, rate, bits,
               names, block_starts(capture["blocks"], frame_bytes),
               capture.get("scale-mv"), peaks)
    draw_spectrum(axes(8.75, 15.75, plots_top, plots_h), peaks, names, rate,
                  frames)
    fig.text(0.9 / width, 1 - stats_top / height,
             "each element's stats at EOS; then what a probe on the source's "
             "pad saw, and the WAV", fontsize=13, va="baseline")
    for i, lines in enumerate(columns):
        fig.text((0.9 + i * 5.15) / width, 1 - (stats_top + 0.2) / height,
                 "\n".join(lines), family="monospace", fontsize=font,
                 va="top", ha="left", linespacing=spacing,
                 bbox=dict(boxstyle="round,pad=0.5", fc="#f3f3f3",
                           ec="#cccccc"))

    out = os.path.join(folder, "scope.png")
    # cut to what was drawn: the stats' height above is an estimate
    fig.savefig(out + ".tmp.png", bbox_inches="tight", pad_inches=0.2)
    os.replace(out + ".tmp.png", out)
    return out, peaks, names


def main():
    if len(sys.argv) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        out, peaks, names = draw(sys.argv[1])
    except Failed as e:
        print(f"demo: {e}", file=sys.stderr)
        return 1
    found = ", ".join(f"{n} {f:g} Hz at {d:.1f} dB"
                      for n, (_, _, f, d) in zip(names, peaks))
    print(f"demo: drew {out} (spectrum peaks: {found})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
