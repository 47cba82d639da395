#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The benchmark's driver, run as root in the test VM by scripts/bench:

    bench.py TOOL OUTDIR [--repeats N] [--quick]

TOOL is tests/bench's iiodmabuf-bench. Sets the simulated converters to
their unpaced benchmark mode, then runs every case (path, block size,
num-blocks) REPEATS times, round-robin so that noise hits all cases alike,
then counts each path's syscalls under strace. Writes OUTDIR/runs.json;
tests/bench/report.py turns it into tables and plots on the host.

The paths over libiio's network backend (IP_PATHS) have Debian's iiod
serve the ADC on 127.0.0.1: it runs during their cases only, started
before the first and stopped before any other path runs.

Every run checks its own result (the blocks moved, the I/O mode, no copies
where none are expected, the DAC played every byte); one that fails is kept
with its error, never averaged in.
"""
import argparse
import glob
import json
import os
import platform
import subprocess
import sys
import time

KIB = 1024
MIB = 1024 * KIB
SIZES = [4 * KIB, 16 * KIB, 64 * KIB, 1 * MIB, 16 * MIB]
NUM_BLOCKS = 4
MORE_NUM_BLOCKS = [2, 8]            # for the paths in VARIED, at VARIED_SIZES
VARIED_SIZES = [16 * KIB, 1 * MIB]
SYSCALL_SIZES = [4 * KIB, 16 * KIB, 1 * MIB]
SCAN = 4                            # voltage0 and voltage1, le:s16 each
# The converter's rate is nominal (unpaced: it does not pace anything), but
# the elements judge fences by it: a block completing sooner than its
# duration after its export must be a failed submit, and blocks completing
# further apart than their duration mean samples lost. At 1 MHz a block
# lasts from 1 ms (4 KiB) up, longer than user space takes for one: no
# block looks lost. Unpaced blocks complete UNPACED_US after they are
# queued, later than any export: none looks failed; under strace, which
# slows every syscall, STRACE_UNPACED_US.
RATE = 1000000
UNPACED_US = 300
STRACE_UNPACED_US = 20000
ADC, DAC = "iio-sim-adc", "iio-sim-dac"
CHANNELS = "voltage0,voltage1"
# Blocks per run: MAX_BLOCKS, or about VOLUME (at least MIN_BLOCKS) for the
# paths that touch every byte (COPYING); Debian's tools run EXT_FACTOR times
# as many, as their figures are the difference of two runs.
VOLUME = 128 * MIB
MIN_BLOCKS, MAX_BLOCKS = 16, 1000
EXT_FACTOR = 4
# The DMA buffer core's read()/write() path splits the kernel buffer into
# two blocks of dma_alloc_coherent() memory, at most 4 MiB each: larger
# blocks cannot be enabled (ENOMEM), and a failed enable leaves the buffer
# refusing DMABUFs until it is enabled again.
RW_MAX_BLOCK = 1 * MIB
RUN_TIMEOUT = 120
STRACE = "/usr/bin/strace"
# libiio's network backend over the guest's loopback: iiod reads the ADC
# through read() (a copy) and sends every block over TCP, where the client
# copies it out of the socket. Slower than the local paths in the emulated
# guest: IP_VOLUME a run (Debian's tool EXT_FACTOR times as many blocks).
IIOD = "/usr/sbin/iiod"
URI = "ip:127.0.0.1"
IP_PATHS = {"iiosrc-ip", "iio_readdev-ip"}
IP_VOLUME = 32 * MIB

PATHS = {
    # id: (label, kind, direction)
    "raw-in": ("raw ABI loop, capture (floor)", "raw", "in"),
    "src": ("iiodmabufsrc ! fakesink", "gst", "in"),
    "src-rw": ("iiodmabufsrc io-mode=rw ! fakesink", "gst", "in"),
    "iio_readdev": ("iio_readdev > /dev/null", "ext", "in"),
    "memcpy": ("memcpy, same volume", "raw", "in"),
    "gst-floor": ("benchsrc ! fakesink (GStreamer alone)", "gst", "in"),
    "src-read": ("iiodmabufsrc ! reader (every byte)", "gst", "in"),
    "src-rw-read": ("iiodmabufsrc io-mode=rw ! reader", "gst", "in"),
    "raw-out": ("raw ABI loop, playback (floor)", "raw", "out"),
    "sink": ("benchsrc ! iiodmabufsink (its pool)", "gst", "out"),
    "sink-ats": ("audiotestsrc ! iiodmabufsink (its pool)", "gst", "out"),
    "sink-rw": ("benchsrc ! iiodmabufsink io-mode=rw", "gst", "out"),
    "iio_writedev": ("iio_writedev < /dev/zero", "ext", "out"),
    "raw-loop": ("raw ABI loop, ADC -> DAC (floor)", "raw", "loop"),
    "loopback": ("iiodmabufsrc ! iiodmabufsink", "gst", "loop"),
    "iiosrc-ip": (f"iiosrc uri={URI} ! fakesink", "gst", "in"),
    "iio_readdev-ip": (f"iio_readdev -u {URI} > pipe", "ext", "in"),
}
# iiod reads the ADC through read(), as iio_readdev does locally
RW_PATHS = {"src-rw", "src-rw-read", "iio_readdev", "sink-rw",
            "iio_writedev"} | IP_PATHS
COPYING = RW_PATHS | {"memcpy", "src-read", "sink-ats"}
VARIED = ["raw-in", "src", "raw-out", "sink", "raw-loop", "loopback"]


def blocks_for(path, size):
    """Blocks in a run: the zero-copy paths touch no data (the converters
    are unpaced), so large blocks cost them no more than small ones."""
    if path not in COPYING:
        return MAX_BLOCKS
    volume = IP_VOLUME if path in IP_PATHS else VOLUME
    n = max(MIN_BLOCKS, min(MAX_BLOCKS, volume // size))
    return n * EXT_FACTOR if PATHS[path][1] == "ext" else n


# --- the devices ----------------------------------------------------------

def sysfs(name):
    for d in glob.glob("/sys/bus/iio/devices/iio:device*"):
        with open(d + "/name") as f:
            if f.read().strip() == name:
                return d
    sys.exit(f"bench: no IIO device {name}")


def write_attr(dev, attr, value):
    with open(f"{dev}/{attr}", "w") as f:
        f.write(str(value))


def read_attr(dev, attr):
    with open(f"{dev}/{attr}") as f:
        return f.read().strip()


def setup_devices():
    """Unpaced: each block completes UNPACED_US after it was queued, without
    the CPU moving its data, so what is measured is user space and the ABI.
    The rate only matters to the elements' timing judgements (see RATE)."""
    for name in (ADC, DAC):
        dev = sysfs(name)
        write_attr(dev, "buffer0/enable", 0)
        write_attr(dev, "unpaced", 1)
        write_attr(dev, "unpaced_us", UNPACED_US)
        if os.path.exists(dev + "/lossless"):
            write_attr(dev, "lossless", 0)
        write_attr(dev, "sampling_frequency", RATE)


def reset_devices():
    """Buffers disabled before each run, whatever the one before left."""
    for name in (ADC, DAC):
        write_attr(sysfs(name), "buffer0/enable", 0)


# --- iiod ------------------------------------------------------------------

iiod = None


def iiod_for(path):
    """iiod running for the paths in IP_PATHS, and for them only: idle, it
    holds no device open, but it is a process more on the one vCPU."""
    if path in IP_PATHS:
        start_iiod()
    else:
        stop_iiod()


def start_iiod():
    global iiod
    if iiod is not None and iiod.poll() is None:
        return
    iiod = subprocess.Popen([IIOD], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(100):
        if subprocess.run(["iio_info", "-u", URI], capture_output=True,
                          timeout=30).returncode == 0:
            return
        if iiod.poll() is not None:
            break
        time.sleep(0.1)
    stop_iiod()
    raise RuntimeError(f"iiod does not answer on {URI}")


def stop_iiod():
    global iiod
    if iiod is None:
        return
    if iiod.poll() is None:
        iiod.terminate()
        try:
            iiod.wait(10)
        except subprocess.TimeoutExpired:
            iiod.kill()
            iiod.wait()
    iiod = None


def iiod_cpu():
    """iiod's user + sys seconds so far, all its threads."""
    with open(f"/proc/{iiod.pid}/stat") as f:
        # after "pid (comm)": state is field 3, utime 14, stime 15
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- one run ----------------------------------------------------------------

# fakesink keeps its last buffer (enable-last-sample), a block the source
# cannot queue again: with two blocks, every other one would be copied.
FAKESINK = "fakesink sync=false enable-last-sample=false"


def src_desc(size, nb, count, io_mode, sink=FAKESINK):
    return (f"iiodmabufsrc name=src device={ADC} channels={CHANNELS} "
            f"sampling-frequency={RATE} samples-per-block={size // SCAN} "
            f"num-blocks={nb} num-buffers={count} io-mode={io_mode} ! {sink}")


def sink_desc(producer, size, nb, io_mode):
    return (f"{producer} ! audio/x-raw,format=S16LE,layout=interleaved,"
            f"rate={RATE},channels=2 ! iiodmabufsink name=sink sync=false "
            f"device={DAC} channels={CHANNELS} samples-per-block={size // SCAN} "
            f"num-blocks={nb} io-mode={io_mode}")


def loop_sink_blocks(nb):
    """The sink's share of the loopback's blocks: iiodmabufsrc copies a
    block rather than keep fewer than two queued to the ADC (one with two
    blocks), so one is in its hands and two queued: nb / 2 - 1 (at least
    one) to the DAC. raw-loop does the same."""
    return max(1, nb // 2 - 1)


def command(path, size, nb, count):
    """The command line of a run of @count blocks."""
    tool = ARGS.tool
    if path in ("raw-in", "raw-out"):
        return [tool, path, ADC if path == "raw-in" else DAC, str(size),
                str(nb), str(count)]
    if path == "raw-loop":
        return [tool, "raw-loop", ADC, DAC, str(size), str(nb), str(count)]
    if path == "memcpy":
        return [tool, "memcpy", str(size), str(nb), str(count)]
    if path in ("iio_readdev", "iio_readdev-ip"):
        uri = ["-u", URI] if path in IP_PATHS else []
        return ["iio_readdev"] + uri + [
            "-b", str(size // SCAN), "-s", str(count * size // SCAN), ADC,
            "voltage0", "voltage1"]
    if path == "iio_writedev":
        return ["iio_writedev", "-b", str(size // SCAN), "-s",
                str(count * size // SCAN), DAC, "voltage0", "voltage1"]
    bench_src = f"benchsrc name=src blocksize={size} num-buffers={count}"
    desc = {
        "src": lambda: src_desc(size, nb, count, "dmabuf"),
        "src-rw": lambda: src_desc(size, nb, count, "rw"),
        "src-read": lambda: src_desc(size, nb, count, "dmabuf",
                                     FAKESINK + " name=reader"),
        "src-rw-read": lambda: src_desc(size, nb, count, "rw",
                                        FAKESINK + " name=reader"),
        "sink": lambda: sink_desc(bench_src, size, nb, "dmabuf"),
        "sink-ats": lambda: sink_desc(
            f"audiotestsrc name=src wave=silence samplesperbuffer="
            f"{size // SCAN} num-buffers={count}", size, nb, "dmabuf"),
        "sink-rw": lambda: sink_desc(bench_src, size, nb, "rw"),
        "gst-floor": lambda: (f"{bench_src} ! audio/x-raw,format=S16LE,"
                              f"rate={RATE},channels=2 ! {FAKESINK}"),
        "loopback": lambda: src_desc(
            size, nb, count, "dmabuf",
            f"iiodmabufsink name=sink sync=false device={DAC} "
            f"channels={CHANNELS} num-blocks={loop_sink_blocks(nb)}"),
        "iiosrc-ip": lambda: (
            f"iiosrc name=src uri={URI} device={ADC} channels={CHANNELS} "
            f"samples-per-block={size // SCAN} num-buffers={count} "
            f"! {FAKESINK} name=out"),
    }[path]()
    return [tool, "gst", str(count), desc]


def spawn(cmd):
    """Runs @cmd; returns (exit status, stdout, stderr)."""
    with open(os.devnull, "rb") as fin:
        p = subprocess.Popen(cmd, stdin=fin, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        try:
            out, err = p.communicate(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            return -1, b"", b"timed out after %d s" % RUN_TIMEOUT
    return p.returncode, out, err


def spawn_rusage(cmd, stdin, stdout):
    """Runs @cmd with wait4(), for its CPU time (that of timeout(1) around
    it too, which cancels out in the differences taken). @stdout None: a
    pipe whose bytes are counted and dropped (see drain()).
    Returns (exit status, stderr, wall, rusage, bytes written or None)."""
    cmd = ["timeout", "-k", "5", str(RUN_TIMEOUT)] + cmd
    t0 = time.monotonic()
    fin = os.open(stdin, os.O_RDONLY)
    if stdout is None:
        rpipe, fout = os.pipe()
    else:
        rpipe, fout = None, os.open(stdout, os.O_WRONLY)
    ferr = os.open("/run/bench-stderr", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    pid = os.fork()
    if pid == 0:
        os.dup2(fin, 0)
        os.dup2(fout, 1)
        os.dup2(ferr, 2)
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    for fd in (fin, fout, ferr):
        os.close(fd)
    written = drain(rpipe) if rpipe is not None else None
    _, status, ru = os.wait4(pid, 0)
    wall = time.monotonic() - t0
    with open("/run/bench-stderr", "rb") as f:
        err = f.read()
    return os.waitstatus_to_exitcode(status), err, wall, ru, written


def drain(fd):
    """Bytes read from the pipe @fd until its end, spliced into /dev/null:
    counted without copying them to user space (the reader costs the
    writer's CPU little more than /dev/null would)."""
    total = 0
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        while True:
            n = os.splice(fd, null, 1 << 20)
            if n == 0:
                return total
            total += n
    finally:
        os.close(null)
        os.close(fd)


def dac_consumed():
    return int(read_attr(sysfs(DAC), "consumed_bytes"))


def check(path, size, count, res):
    """(what is wrong with a run of @count blocks, or None; warnings)"""
    stats = res.get("stats", {})
    if res["blocks"] != count - 1:
        return f"{res['blocks'] + 1} blocks moved, not {count}", []
    expect, soft = {}, {}
    if path == "iiosrc-ip":
        # every block copied out of libiio's buffer; the bytes that crossed
        # its src pad counted by the tool, the buffers fakesink took by it
        if res["bytes"] != (count - 1) * size:
            return (f"{res['bytes']} bytes after the first block, not "
                    f"{(count - 1) * size}"), []
        expect["src"] = {"blocks": count, "bytes": count * size,
                         "copies": count}
        expect["out"] = {"rendered": count, "dropped": 0}
    if path.startswith("src") or path == "loopback":
        mode = "rw" if "rw" in path else "dmabuf"
        expect["src"] = {"blocks": count, "bytes": count * size,
                         "io-mode": mode, "copies": 0}
        soft["src"] = {"failed-blocks": 0}
    if path.startswith("sink") or path == "loopback":
        mode = "rw" if path == "sink-rw" else "dmabuf"
        e = {"blocks": count, "bytes": count * size, "io-mode": mode,
             "copies": 0}
        if path in ("sink", "sink-ats"):
            e["pooled"] = count      # the producer wrote into its pool
        if path == "loopback":
            e["imports"] = count     # the ADC's DMABUFs played as they are
        expect["sink"] = e
        soft["sink"] = {"fence-errors": 0}
    for element, fields in expect.items():
        s = stats.get(element)
        if s is None:
            return f"no stats from {element}", []
        for k, v in fields.items():
            if s.get(k) != v:
                return f"{element}: {k} {s.get(k)}, not {v}", []
    # Blocks the element took for failed submits: their fence had
    # signalled when it looked, sooner than the block's duration at the
    # rate; an unpaced converter does that (see report.py's notes).
    warnings = [f"{element}: {k} {stats[element].get(k)}"
                for element, fields in soft.items()
                for k, v in fields.items() if stats[element].get(k) != v]
    return None, warnings


def run_case(path, size, nb, rep):
    count = blocks_for(path, size)
    row = {"path": path, "block_bytes": size, "num_blocks": nb, "rep": rep,
           "count": count, "ok": False}
    kind = PATHS[path][1]
    try:
        iiod_for(path)
        reset_devices()
        if kind == "ext":
            row.update(run_external(path, size, nb, count))
        else:
            status, out, err, server = spawn_gst(path, size, nb, count)
            if status != 0:
                row["error"] = last_line(err) or f"exit status {status}"
                return row
            res = json.loads(out.decode().strip().splitlines()[-1])
            row.update({k: res[k] for k in ("blocks", "bytes", "wall", "user",
                                             "sys")})
            row.update(server)
            row["stats"] = res.get("stats", {})
            problem, warnings = check(path, size, count, res)
            if warnings:
                row["warnings"] = warnings
            if PATHS[path][2] != "in" and not problem:
                played = dac_consumed()
                sent = count * size
                if played != sent:
                    problem = f"the DAC played {played} bytes, not {sent}"
            if problem:
                row["error"] = problem
                return row
        row["ok"] = "error" not in row
    except Exception as e:   # a broken run is reported, not fatal
        row["error"] = f"{type(e).__name__}: {e}"
    return row


def few_blocks(count):
    """The short run of a difference of two runs."""
    return max(2, count // 16)


def run_external(path, size, nb, count):
    """Debian's libiio tools: run with @count blocks and with a few, and
    take the difference, so that start-up and teardown cancel out. Over
    IP, iiod's CPU is taken alike and what reached stdout is counted."""
    few = few_blocks(count)
    ip = path in IP_PATHS
    results = []
    for n in (count, few):
        cmd = command(path, size, nb, n)
        stdin = "/dev/zero" if path == "iio_writedev" else os.devnull
        server = iiod_cpu() if ip else 0
        status, err, wall, ru, written = spawn_rusage(
            cmd, stdin, None if ip else os.devnull)
        server = iiod_cpu() - server if ip else 0
        if status != 0:
            return {"error": last_line(err) or f"exit status {status}"}
        if ip and written != n * size:
            return {"error": f"{written} bytes on stdout, not {n * size}"}
        results.append((wall, ru.ru_utime, ru.ru_stime, server))
    (w1, u1, s1, c1), (w0, u0, s0, c0) = results
    row = {"blocks": count - few, "bytes": (count - few) * size,
           "wall": w1 - w0, "user": u1 - u0, "sys": s1 - s0,
           "note": f"{count} minus {few} blocks"}
    if ip:
        row.update({"iiod_cpu": c1 - c0, "iiod_bytes": (count - few) * size})
    return row


def spawn_gst(path, size, nb, count):
    """spawn() of a GStreamer run and, over IP, iiod's CPU: the difference
    of this run and one of a few blocks, as for Debian's tools (the
    element's own figures are the tool's, from its first block to its
    last)."""
    if path not in IP_PATHS:
        return spawn(command(path, size, nb, count)) + ({},)
    few = few_blocks(count)
    cpu = []
    for n in (few, count):
        c0 = iiod_cpu()
        status, out, err = spawn(command(path, size, nb, n))
        if status != 0:
            return status, out, err, {}
        cpu.append(iiod_cpu() - c0)
    return status, out, err, {"iiod_cpu": cpu[1] - cpu[0],
                              "iiod_bytes": (count - few) * size}


def last_line(err):
    lines = [l for l in err.decode(errors="replace").splitlines()
             if l.strip() and "High-speed mode not enabled" not in l]
    return lines[-1][:300] if lines else ""


# --- syscalls -----------------------------------------------------------------

def strace_counts(cmd, stdin):
    """Runs @cmd under strace -f -c: {syscall: calls}, or an error."""
    out = "/run/bench-strace.txt"
    status, err, _, _, _ = spawn_rusage(
        [STRACE, "-f", "-c", "-o", out] + cmd, stdin, os.devnull)
    if status != 0:
        return None, last_line(err) or f"exit status {status}"
    calls = {}
    with open(out) as f:
        for line in f:
            parts = line.split()
            # % time, seconds, usecs/call, calls, [errors,] syscall
            if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
                calls[parts[-1]] = int(parts[3])
    return calls, None


def syscalls_per_block(path, size, nb):
    """strace with two block counts; the difference per block."""
    many, few = 120, 20
    stdin = "/dev/zero" if path == "iio_writedev" else os.devnull
    counts = []
    for n in (many, few):
        calls, error = strace_counts(command(path, size, nb, n), stdin)
        if error:
            return {"error": error}
        counts.append(calls)
    per_call = {k: (counts[0].get(k, 0) - counts[1].get(k, 0)) / (many - few)
                for k in set(counts[0]) | set(counts[1])}
    per_call = {k: round(v, 2) for k, v in per_call.items() if abs(v) >= 0.005}
    # noise (a futex more or less) can make a tiny total negative
    return {"per_block": max(0.0, round(sum(per_call.values()), 2)),
            "by_call": dict(sorted(per_call.items(), key=lambda kv: -kv[1]))}


# --- the whole run --------------------------------------------------------------

def cases():
    out = []
    for path in PATHS:
        for size in SIZES:
            out.append((path, size, NUM_BLOCKS))
    for path in VARIED:
        for size in VARIED_SIZES:
            for nb in MORE_NUM_BLOCKS:
                out.append((path, size, nb))
    if ARGS.quick:
        out = [c for c in out if c[1] in (16 * KIB, 1 * MIB) and c[2] == 4]
    if ARGS.paths:
        out = [c for c in out if c[0] in ARGS.paths.split(",")]
    return out


def skipped(path, size, nb):
    if path == "loopback" and nb < 4:
        return ("not run: iiodmabufsrc copies a block rather than keep none "
                "queued to the ADC, so two blocks cannot loop without copies")
    if path in RW_PATHS and size > RW_MAX_BLOCK:
        return ("not run: the DMA buffer core's read()/write() path needs "
                "contiguous kernel blocks of half the buffer (at most 4 MiB)")
    if path in IP_PATHS and not os.access(IIOD, os.X_OK):
        return f"not run: no {IIOD} (apt-get install iiod)"
    if path == "iiosrc-ip" and not have_iiosrc():
        return ("not run: iiosrc is not built (libgstiiolibiio.so in no "
                "directory of GST_PLUGIN_PATH)")
    return None


def have_iiosrc():
    return any(os.path.exists(os.path.join(d, "libgstiiolibiio.so"))
               for d in os.environ.get("GST_PLUGIN_PATH", "").split(":")
               if d)


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("tool")
    ap.add_argument("outdir")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true",
                    help="16 KiB and 1 MiB at 4 blocks only (development)")
    ap.add_argument("--no-strace", action="store_true")
    ap.add_argument("--paths", help="comma-separated paths to run, e.g. "
                    "raw-in,src (default: all)")
    ARGS = ap.parse_args()
    t_start = time.monotonic()

    setup_devices()
    # GStreamer's registry, outside any timing
    spawn([ARGS.tool, "gst", "2", src_desc(16 * KIB, 4, 2, "dmabuf")])

    todo = cases()
    runs, skips = [], []
    for path, size, nb in todo:
        why = skipped(path, size, nb)
        if why:
            skips.append({"path": path, "block_bytes": size, "num_blocks": nb,
                          "reason": why})
    todo = [c for c in todo if not skipped(*c)]
    result = {
        "meta": {
            "kernel": platform.release(),
            "machine": platform.machine(),
            "repeats": ARGS.repeats, "rate": RATE, "unpaced_us": UNPACED_US, "scan_bytes": SCAN,
            "volume": VOLUME, "ip_volume": IP_VOLUME,
            "min_blocks": MIN_BLOCKS,
            "max_blocks": MAX_BLOCKS, "ext_factor": EXT_FACTOR,
            "copying": sorted(COPYING),
            "paths": {k: v[0] for k, v in PATHS.items()},
            "directions": {k: v[2] for k, v in PATHS.items()},
        },
        "runs": runs, "skipped": skips, "syscalls": [],
    }
    out_json = os.path.join(ARGS.outdir, "runs.json")

    def save():
        result["meta"]["seconds"] = round(time.monotonic() - t_start, 1)
        with open(out_json + ".tmp", "w") as f:
            json.dump(result, f, indent=1)
        os.replace(out_json + ".tmp", out_json)

    try:
        run_rounds(todo, runs, save, t_start)
        if not ARGS.no_strace:
            result["syscalls"] += count_syscalls()
            print(f"bench: syscalls counted, "
                  f"{time.monotonic() - t_start:.0f} s", file=sys.stderr)
    finally:
        stop_iiod()
    save()


def run_rounds(todo, runs, save, t_start):
    for rep in range(ARGS.repeats):
        # round-robin, each round starting elsewhere: noise hits all alike
        shift = rep * len(todo) // max(1, ARGS.repeats)
        for path, size, nb in todo[shift:] + todo[:shift]:
            row = run_case(path, size, nb, rep)
            runs.append(row)
            if not row["ok"]:
                print(f"bench: {path} {size} B x{nb}: {row.get('error')}",
                      file=sys.stderr)
        save()
        print(f"bench: round {rep + 1}/{ARGS.repeats} done, "
              f"{time.monotonic() - t_start:.0f} s", file=sys.stderr)


def count_syscalls():
    for name in (ADC, DAC):
        write_attr(sysfs(name), "unpaced_us", STRACE_UNPACED_US)
    rows = []
    for path in PATHS:
        if path == "memcpy" or (ARGS.paths and
                                path not in ARGS.paths.split(",")):
            continue
        for size in SYSCALL_SIZES:
            if skipped(path, size, NUM_BLOCKS):
                continue
            row = {"path": path, "block_bytes": size,
                   "num_blocks": NUM_BLOCKS}
            try:
                iiod_for(path)
                row.update(syscalls_per_block(path, size, NUM_BLOCKS))
            except Exception as e:
                row["error"] = f"{type(e).__name__}: {e}"
            rows.append(row)
    return rows


if __name__ == "__main__":
    main()
