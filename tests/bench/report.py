#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The benchmark's report, run on the host by scripts/bench:

    report.py OUTDIR

Reads OUTDIR/runs.json (written in the VM by tests/bench/bench.py) and
writes OUTDIR/results.md (tables, targets, notes), results.csv (one row per
case), runs.csv (one row per run) and the plots cpu-per-gib.png,
cpu-per-block.png and throughput.png (Debian's matplotlib, Agg).
"""
import csv
import json
import os
import statistics
import sys

KIB, MIB, GIB = 1024, 1024 ** 2, 1024 ** 3
NB = 4   # the num-blocks every path runs with
LIBIIO = "libiio over loopback"
IP_PATHS = ["iiosrc-ip", "iio_readdev-ip"]

SECTIONS = [
    ("Capture", ["raw-in", "gst-floor", "src", "src-rw", "iio_readdev",
                 "memcpy", "src-read", "src-rw-read"]),
    ("Playback", ["raw-out", "sink", "sink-ats", "sink-rw", "iio_writedev"]),
    ("Loopback", ["raw-loop", "loopback"]),
    (LIBIIO, IP_PATHS),
]
METRICS = [
    # key, heading, unit in plots
    ("mib_s", "MiB/s"),
    ("blocks_s", "blocks/s"),
    ("cpu_s_gib", "CPU s/GiB"),
    ("cpu_us_block", "CPU µs/block"),
]
# the paths over IP only: the CPU of iiod, which serves them
IIOD_METRICS = [
    ("iiod_cpu_s_gib", "iiod CPU s/GiB"),
    ("both_cpu_s_gib", "client + iiod CPU s/GiB"),
]
STYLE = {   # path: (colour, marker, line style); floors dashed
    "raw-in": ("black", "o", "--"), "raw-out": ("black", "o", "--"),
    "raw-loop": ("black", "o", "--"), "memcpy": ("grey", "x", ":"),
    "gst-floor": ("tab:green", "*", "--"),
    "src": ("tab:blue", "s", "-"), "sink": ("tab:blue", "s", "-"),
    "loopback": ("tab:blue", "s", "-"),
    "src-read": ("tab:cyan", "D", "-"), "sink-ats": ("tab:cyan", "D", "-"),
    "src-rw": ("tab:red", "^", "-"), "sink-rw": ("tab:red", "^", "-"),
    "src-rw-read": ("tab:orange", "v", "-"),
    "iio_readdev": ("tab:purple", "P", "-."),
    "iio_writedev": ("tab:purple", "P", "-."),
    "iiosrc-ip": ("tab:brown", "h", "-"),
    "iio_readdev-ip": ("tab:purple", "P", "-."),
}


def size_name(n):
    return f"{n // MIB} MiB" if n >= MIB else f"{n // KIB} KiB"


def fmt(v):
    """Three significant digits, no exponent."""
    if v is None:
        return "–"
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    if v >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def metrics(run):
    cpu = run["user"] + run["sys"]
    m = {
        "mib_s": run["bytes"] / MIB / run["wall"] if run["wall"] > 0 else None,
        "blocks_s": run["blocks"] / run["wall"] if run["wall"] > 0 else None,
        "cpu_s_gib": cpu / (run["bytes"] / GIB),
        "cpu_us_block": cpu / run["blocks"] * 1e6,
    }
    if "iiod_cpu" in run:
        m["iiod_cpu_s_gib"] = run["iiod_cpu"] / (run["iiod_bytes"] / GIB)
        m["both_cpu_s_gib"] = m["cpu_s_gib"] + m["iiod_cpu_s_gib"]
    return m


class Case:
    def __init__(self, path, size, nb):
        self.path, self.size, self.nb = path, size, nb
        self.runs, self.failed, self.warnings = [], [], []
        self.skipped = None
        self.syscalls = None
        self.extra = {}      # overruns and the like, per block

    def add(self, run):
        if not run["ok"]:
            self.failed.append(run.get("error", "failed"))
            return
        m = metrics(run)
        self.runs.append(m)
        self.warnings += run.get("warnings", [])
        stats = run.get("stats") or {}
        for element, field in (("src", "overruns"), ("sink", "underflows")):
            if field in stats.get(element, {}):
                self.extra.setdefault(f"{element} {field}", []).append(
                    stats[element][field] / (run["blocks"] + 1))

    def stat(self, key):
        """(median, min, max) over the runs that passed, or None."""
        values = [r[key] for r in self.runs if r.get(key) is not None]
        if not values:
            return None
        return statistics.median(values), min(values), max(values)

    def median(self, key):
        s = self.stat(key)
        return s[0] if s else None

    def cell(self, key):
        if self.skipped:
            return "n/a"
        s = self.stat(key)
        if not s:
            return "failed"
        return f"{fmt(s[0])} ({fmt(s[1])}–{fmt(s[2])})"

    def note(self):
        if self.skipped:
            return self.skipped
        parts = [f"{len(self.runs)}/{len(self.runs) + len(self.failed)} ok"]
        if self.failed:
            parts.append("failed: " + "; ".join(sorted(
                {e if len(e) < 160 else e[:157] + "..." for e in self.failed})))
        warned = {}     # "src failed-blocks": [counts]
        for w in self.warnings:
            what, _, n = w.replace(":", "").rpartition(" ")
            warned.setdefault(what, []).append(int(n))
        for what, counts in sorted(warned.items()):
            span = (f"{min(counts)}" if min(counts) == max(counts)
                    else f"{min(counts)}–{max(counts)}")
            parts.append(f"warned: {what} {span} in {len(counts)} runs")
        for name, values in sorted(self.extra.items()):
            med = statistics.median(values)
            if med > 0:
                parts.append(f"{name} {med:.0%} of blocks")
        return "; ".join(parts)


def load(outdir):
    with open(os.path.join(outdir, "runs.json")) as f:
        data = json.load(f)
    cases = {}

    def case(path, size, nb):
        key = (path, size, nb)
        if key not in cases:
            cases[key] = Case(path, size, nb)
        return cases[key]

    for run in data["runs"]:
        case(run["path"], run["block_bytes"], run["num_blocks"]).add(run)
    for skip in data["skipped"]:
        case(skip["path"], skip["block_bytes"],
             skip["num_blocks"]).skipped = skip["reason"]
    for sc in data["syscalls"]:
        c = cases.get((sc["path"], sc["block_bytes"], sc["num_blocks"]))
        if c:
            c.syscalls = sc
    return data, cases


def ordered(cases, paths):
    return sorted((c for c in cases.values() if c.path in paths),
                  key=lambda c: (paths.index(c.path), c.size, c.nb))


# --- results.md ------------------------------------------------------------------

def syscall_cell(c):
    sc = c.syscalls
    if not sc:
        return ""
    if "error" in sc:
        return "failed"
    return fmt(sc["per_block"])


def targets(cases):
    """(what, measured ratio, limit, verdict, remark) for every target."""
    def med(path, size, key):
        c = cases.get((path, size, NB))
        return c.median(key) if c else None

    out = []

    def target(what, a, b, size, key, limit, ref_size=None, remark=""):
        x, y = med(a, size, key), med(b, ref_size or size, key)
        if x is None or y is None:
            missing = [p for p, v in ((a, x), (b, y)) if v is None]
            out.append((what, None, None, limit, "not measured",
                        f"no passing runs of {', '.join(missing)}"))
            return
        unit = "µs/block" if key == "cpu_us_block" else "s/GiB"
        out.append((what, x / y, f"{fmt(x)} / {fmt(y)} {unit}", limit,
                    "met" if x / y <= limit else "missed", remark))

    cpu_b, cpu_g = "cpu_us_block", "cpu_s_gib"
    target("iiodmabufsrc CPU per block vs the raw loop, 16 KiB",
           "src", "raw-in", 16 * KIB, cpu_b, 2)
    target("iiodmabufsrc CPU per GiB vs the raw loop, 1 MiB",
           "src", "raw-in", MIB, cpu_g, 1.5)
    target("iiodmabufsrc CPU per GiB vs io-mode=rw, 1 MiB",
           "src", "src-rw", MIB, cpu_g, 1 / 5)
    target("iiodmabufsrc CPU per GiB vs iio_readdev, 1 MiB",
           "src", "iio_readdev", MIB, cpu_g, 1 / 5)
    later = ("io-mode=rw and iio_readdev cannot run 16 MiB blocks here (see "
             "the notes): their figure is at 1 MiB, where a GiB already "
             "costs them mostly the copy (slightly flattering)")
    target("iiodmabufsrc CPU per GiB vs io-mode=rw, 16 MiB",
           "src", "src-rw", 16 * MIB, cpu_g, 1 / 20, MIB, later)
    target("iiodmabufsrc CPU per GiB vs iio_readdev, 16 MiB",
           "src", "iio_readdev", 16 * MIB, cpu_g, 1 / 20, MIB, later)
    for size in (16 * KIB, MIB):
        target(f"iiodmabufsink (its pool, benchsrc) CPU per block vs the raw "
               f"loop, {size_name(size)}", "sink", "raw-out", size, cpu_b, 1.5)
    for size in (16 * KIB, MIB):
        target(f"ADC -> DAC loopback CPU per block vs the raw loop, "
               f"{size_name(size)}", "loopback", "raw-loop", size, cpu_b, 2)
    return out


def libiio_section(meta, cases):
    """The paths over libiio's network backend, with iiod's CPU, and their
    ratio iiosrc / iio_readdev."""
    labels = meta["paths"]
    volume = meta.get("ip_volume", meta["volume"]) // MIB
    columns = [METRICS[0], METRICS[2]] + IIOD_METRICS + [METRICS[3]]
    lines = [
        f"## {LIBIIO}", "",
        "Capture from iio-sim-adc through libiio's network backend: "
        "Debian's iiod in the guest reads the ADC (the DMA buffer core's "
        "read(), a copy) and sends every block over TCP through the "
        "guest's loopback to the client, which copies it out of the "
        "socket: a copy path by nature, at any block size. iiosrc "
        "uri=ip:127.0.0.1 into fakesink against iio_readdev -u "
        "ip:127.0.0.1, whose stdout is a pipe counted and dropped "
        "(spliced into /dev/null; writing into it is a copy "
        "iio_readdev > /dev/null would not make, as iiosrc's out of "
        "libiio's buffer is one). The client's CPU as in the other "
        "tables; iiod's (from /proc) is the difference of a long and a "
        "short run for both paths. Client and iiod share the one vCPU. "
        f"A run moves about {volume} MiB (iio_readdev "
        f"{meta['ext_factor']} times as much); num-blocks does not apply "
        "(libiio keeps its own buffers).", "",
        "| path | block | " + " | ".join(h for _, h in columns)
        + " | syscalls/block | runs |",
        "|" + "---|" * (len(columns) + 4)]
    for c in ordered(cases, IP_PATHS):
        lines.append(f"| {labels[c.path]} | {size_name(c.size)} | "
                     + " | ".join(c.cell(k) for k, _ in columns)
                     + f" | {syscall_cell(c)} | {c.note()} |")
    ratios = [("mib_s", "MiB/s"), ("cpu_s_gib", "client CPU s/GiB"),
              ("both_cpu_s_gib", "client + iiod CPU s/GiB")]
    lines += ["", "iiosrc / iio_readdev, ratios of medians (MiB/s above 1: "
              "iiosrc is faster; CPU below 1: it costs less):", "",
              "| block | " + " | ".join(h for _, h in ratios) + " |",
              "|" + "---|" * (len(ratios) + 1)]
    sizes = sorted({c.size for c in cases.values() if c.path in IP_PATHS
                    and c.nb == NB and not c.skipped})
    for size in sizes:
        a, b = (cases.get((p, size, NB)) for p in IP_PATHS)
        cells = []
        for key, _ in ratios:
            x, y = (c.median(key) if c else None for c in (a, b))
            cells.append(f"{x / y:.2f}x" if x and y else "–")
        lines.append(f"| {size_name(size)} | " + " | ".join(cells) + " |")
    return lines + [""]


def write_markdown(outdir, data, cases):
    meta = data["meta"]
    labels = meta["paths"]
    lines = [
        "# gst-iiodmabuf benchmark",
        "",
        f"Linux {meta['kernel']} in QEMU (software emulation, one vCPU), "
        f"simulated converters unpaced (each block completes "
        f"{meta.get('unpaced_us', 100)} µs after it is queued, nobody fills "
        f"it), 2 channels of 16 bits at a nominal "
        f"{meta['rate'] / 1e6:g} MHz. {meta['repeats']} repeats of every "
        f"case, round-robin; figures are median (min–max) of the runs that "
        f"passed their checks. CPU is user + sys of the process from its "
        f"first block to its last (start-up excluded); for iio_readdev and "
        f"iio_writedev the difference of a long and a short run. Each run "
        f"moves {meta['max_blocks']} blocks; those that touch every byte "
        f"(copies, readers, audiotestsrc) about {meta['volume'] // MIB} MiB "
        f"({meta['min_blocks']} to {meta['max_blocks']} blocks), "
        f"{meta['ext_factor']} times as many for Debian's tools. Whole run: "
        f"{meta.get('seconds', 0):.0f} s in the VM.",
        "",
        "An emulated CPU is slow and uneven: a syscall costs several µs, "
        "and memcpy's speed varies with the block size in ways hardware's "
        "does not (glibc picks other instructions by size, which QEMU "
        "emulates at very different speeds). Compare the paths with each "
        "other, not with hardware. Other VMs on the machine add noise: "
        "see the min–max spans.",
        "",
    ]
    head = ("| path | block | blocks | MiB/s | blocks/s | CPU s/GiB | "
            "CPU µs/block | syscalls/block | runs |")
    for title, paths in SECTIONS:
        if title == LIBIIO:
            lines += libiio_section(meta, cases)
            continue
        lines += [f"## {title}", "", head, "|" + "---|" * 9]
        for c in ordered(cases, paths):
            lines.append(
                f"| {labels[c.path]} | {size_name(c.size)} | {c.nb} | "
                + " | ".join(c.cell(k) for k, _ in METRICS)
                + f" | {syscall_cell(c)} | {c.note()} |")
        lines.append("")

    lines += ["## Targets", "",
              "Ratios of medians; reported against, never a pass/fail test.",
              "", "| target | medians | ratio | limit | verdict | remark |",
              "|---|---|---|---|---|---|"]
    for what, ratio, medians, limit, verdict, remark in targets(cases):
        r = "–" if ratio is None else f"{ratio:.2f}x" if ratio >= 1 \
            else f"{ratio:.2g}x (1/{1 / ratio:.0f})"
        lim = f"≤ {limit:g}x" if limit >= 1 else f"≤ 1/{round(1 / limit)}"
        lines.append(f"| {what} | {medians or '–'} | {r} | {lim} | "
                     f"**{verdict}** | {remark} |")
    lines.append("")

    lines += ["## Syscalls per block by call", "",
              "`strace -f -c`, difference of 120 and 20 blocks, at "
              "num-blocks 4 (one run each):", "",
              "| path | block | syscalls per block |", "|---|---|---|"]
    for title, paths in SECTIONS:
        for c in ordered(cases, paths):
            sc = c.syscalls
            if not sc:
                continue
            if "error" in sc:
                text = "failed: " + sc["error"]
            else:
                text = ", ".join(f"{k} {v:g}" for k, v in sc["by_call"].items()
                                 if v >= 0.05) or "none"
            lines.append(f"| {labels[c.path]} | {size_name(c.size)} | {text} |")
    lines.append("")

    lines += ["## Notes", "",
              "- Paths: *raw ABI loop*: tests/bench/iiodmabuf-bench, "
              "attach, enqueue, poll the DMABUF, enqueue again, no GStreamer "
              "(the floor). *reader*: a probe in the same process maps each "
              "buffer and sums every byte (cache sync and CPU reads). "
              "*benchsrc*: a GstBaseSrc that writes nothing into the pool's "
              "buffers (the sink's own cost); *benchsrc ! fakesink*: what "
              "GStreamer alone costs a buffer (basesrc, a pool of system "
              "memory, a capsfilter, fakesink); *audiotestsrc* wave=silence "
              "writes every byte. *memcpy*: a ring of num-blocks blocks "
              "copied into another.",
              "- Checked in every run: the blocks moved; iiodmabufsrc's "
              "`blocks`, `bytes`, `io-mode` and `copies` 0; iiodmabufsink's "
              "`blocks`, `bytes`, `io-mode`, `copies` 0 and `pooled` = "
              "blocks when fed through its pool, `imports` = blocks in the "
              "loopback; the DAC's `consumed_bytes` = the bytes sent (the raw "
              "loops and the elements); Debian's tools: their exit status. "
              "Over IP: iiosrc's `blocks`, `bytes` and `copies` (= blocks), "
              "the bytes that crossed its src pad and the buffers fakesink "
              "rendered; iio_readdev's bytes on stdout (both runs).",
              "- audiotestsrc writes every byte into the pool's blocks: from "
              "64 KiB on its own filling outweighs the sink (compare "
              "benchsrc, which writes nothing).",
              "- Loopback with N blocks: iiodmabufsrc num-blocks=N into "
              "iiodmabufsink num-blocks=N/2-1 (at least 1): the source "
              "copies a block rather than keep fewer than two queued to the "
              "ADC. The raw loop keeps the same split.",
              "- *warned*: the element counted blocks as failed submits "
              "(src `failed-blocks`, sink `fence-errors`) although every "
              "block moved: their fence had signalled before the element "
              "exported it, sooner than the block lasts at the rate. Such "
              "runs count; runs that moved the wrong number of blocks, "
              "copied, used the wrong I/O mode or whose DAC did not play "
              "every byte sent are failed and left out.",
              "- *src overruns*, *sink underflows*: the elements' own "
              "estimates from the fences (blocks completing further apart "
              "than they last at the rate); each overrun posts a message. "
              "The nominal rate is chosen so that a block lasts longer than "
              "user space takes for it: a pipeline that keeps up.",
              "- Syscalls per block: under strace, with unpaced blocks "
              "taking longer (strace slows every syscall), so that no "
              "export comes after its block completed."]
    skips = sorted({s["reason"] for s in data["skipped"]})
    for reason in skips:
        lines.append(f"- {reason}: "
                     + ", ".join(sorted({f"{labels[s['path']]} "
                                         f"{size_name(s['block_bytes'])}"
                                         f"{'' if s['num_blocks'] == NB else ' x' + str(s['num_blocks'])}"
                                         for s in data["skipped"]
                                         if s["reason"] == reason})) + ".")
    lines.append("")
    with open(os.path.join(outdir, "results.md"), "w") as f:
        f.write("\n".join(lines))


# --- CSV ---------------------------------------------------------------------------

def write_csv(outdir, data, cases):
    labels = data["meta"]["paths"]
    with open(os.path.join(outdir, "results.csv"), "w", newline="") as f:
        w = csv.writer(f)
        head = ["path", "label", "block_bytes", "num_blocks", "runs_ok",
                "runs_failed"]
        for k, _ in METRICS:
            head += [f"{k}_median", f"{k}_min", f"{k}_max"]
        head += ["syscalls_per_block", "syscalls_by_call", "note"]
        head += [f"{k}_{s}" for k, _ in IIOD_METRICS
                 for s in ("median", "min", "max")]
        w.writerow(head)
        for _, paths in SECTIONS:
            for c in ordered(cases, paths):
                row = [c.path, labels[c.path], c.size, c.nb, len(c.runs),
                       len(c.failed)]
                for k, _ in METRICS:
                    s = c.stat(k)
                    row += [f"{v:.6g}" for v in s] if s else ["", "", ""]
                sc = c.syscalls or {}
                row += [sc.get("per_block", ""),
                        " ".join(f"{k}={v:g}" for k, v in
                                 sc.get("by_call", {}).items()),
                        c.note()]
                for k, _ in IIOD_METRICS:
                    s = c.stat(k)
                    row += [f"{v:.6g}" for v in s] if s else ["", "", ""]
                w.writerow(row)
    with open(os.path.join(outdir, "runs.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "block_bytes", "num_blocks", "repeat", "ok",
                    "blocks", "bytes", "wall_s", "user_s", "sys_s"]
                   + [k for k, _ in METRICS] + ["error", "warnings",
                                                 "iiod_cpu_s"])
        for run in data["runs"]:
            m = metrics(run) if run["ok"] else {}
            w.writerow([run["path"], run["block_bytes"], run["num_blocks"],
                        run["rep"], int(run["ok"]), run.get("blocks", ""),
                        run.get("bytes", ""), run.get("wall", ""),
                        run.get("user", ""), run.get("sys", "")]
                       + [f"{m[k]:.6g}" if m.get(k) is not None else ""
                          for k, _ in METRICS]
                       + [run.get("error", ""),
                          "; ".join(run.get("warnings", [])),
                          run.get("iiod_cpu", "")])


# --- plots -----------------------------------------------------------------------

def plot(outdir, data, cases, key, ylabel, filename, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, NullLocator

    labels = data["meta"]["paths"]
    fig, axes = plt.subplots(1, len(SECTIONS),
                             figsize=(5.5 * len(SECTIONS), 6.5),
                             sharey=True)
    sizes = sorted({c.size for c in cases.values()})
    for ax, (section, paths) in zip(axes, SECTIONS):
        for path in paths:
            xs, ys, lo, hi = [], [], [], []
            for c in ordered(cases, [path]):
                s = c.stat(key)
                if c.nb != NB or not s:
                    continue
                xs.append(c.size)
                ys.append(s[0])
                lo.append(s[0] - s[1])
                hi.append(s[2] - s[0])
            if not xs:
                continue
            colour, marker, line = STYLE.get(path, (None, "o", "-"))
            ax.errorbar(xs, ys, yerr=[lo, hi], color=colour, marker=marker,
                        linestyle=line, capsize=3, label=labels[path])
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.xaxis.set_major_locator(FixedLocator(sizes))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticklabels([size_name(s) for s in sizes])
        ax.set_xlabel("block size")
        ax.set_title(section)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=9, loc="best")
    axes[0].set_ylabel(ylabel)
    axes[0].yaxis.set_tick_params(labelleft=True)
    fig.suptitle(f"{title} (num-blocks {NB}; median, bars min–max; "
                 f"QEMU software emulation, unpaced converters)")
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, filename), dpi=110)
    plt.close(fig)


def summary(data, cases):
    ran = [c for c in cases.values() if not c.skipped]
    failed = [c for c in ran if not c.runs]
    some = [c for c in ran if c.runs and c.failed]
    print(f"bench: {len(ran)} cases ran ({len(data['runs'])} runs), "
          f"{len(cases) - len(ran)} not run; {len(failed)} failed in every "
          f"run, {len(some)} in some")
    for c in failed + some:
        print(f"bench:   {c.path} {size_name(c.size)} x{c.nb}: {c.note()}")


def main():
    outdir = sys.argv[1]
    data, cases = load(outdir)
    summary(data, cases)
    write_markdown(outdir, data, cases)
    write_csv(outdir, data, cases)
    plot(outdir, data, cases, "cpu_s_gib", "CPU seconds per GiB (user + sys)",
         "cpu-per-gib.png", "CPU per GiB against block size")
    plot(outdir, data, cases, "cpu_us_block", "CPU µs per block (user + sys)",
         "cpu-per-block.png", "CPU per block against block size")
    plot(outdir, data, cases, "mib_s", "throughput, MiB/s",
         "throughput.png", "Throughput against block size")


if __name__ == "__main__":
    main()
