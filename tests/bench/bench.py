#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The benchmark's driver, run as root in the test VM by scripts/bench:

    bench.py TOOL OUTDIR [--repeats N] [--quick] [--paths P,...]
             [--no-strace] [--no-capacity | --capacity-only]

TOOL is tests/bench's iiodmabuf-bench. Sets the simulated converters to
their unpaced benchmark mode, then runs every case (path, block size,
num-blocks) REPEATS times, round-robin so that noise hits all cases alike,
then counts each path's syscalls under strace, then (the capacity phase)
finds for each path and block size the highest sample rate it sustains
with nothing lost against converters running in real time. Writes
OUTDIR/runs.json; tests/bench/report.py turns it into tables and plots on
the host.

The cases of WRITING run with the ADC paced (WRITING_CASES), writing every
block as a converter does (the others: unpaced, nothing written), for what
grows with the block size when the converter writes its blocks.

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
import math
import os
import platform
import re
import select
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
# The source catching up, under strace: each block completes
# CATCHUP_UNPACED_US after it is queued, later than its fence is exported
# (sooner would look like a failed submit) but before the source, slowed by
# strace, comes back to it with the blocks before it done: with
# CATCHUP_NUM_BLOCKS, seven of them, each taking the source more than a
# ms under strace (with 4 the source caught up now and then, and waited).
# At CATCHUP_RATE a block lasts longer than the source takes for one, so
# that completions closer together than that (the queue's pace) are no
# overrun.
CATCHUP_UNPACED_US = 5000
CATCHUP_RATE = 250000
CATCHUP_NUM_BLOCKS = 8
# A converter that writes its blocks (unpaced=0): the ADC in real time, at
# each size at the rate that makes a block last WRITING_BLOCK_S, so that
# the sizes differ in the bytes the converter writes only (iiodmabufsrc's
# CPU per block grows with the block's duration as well: at 16 KiB 240 µs
# a block at 1 ms, 505 µs at 4 ms, in the VM). 65.5 ms: 1 MiB at 4 MHz,
# well within what every path sustains; 16 KiB at 62.5 kHz. block size:
# (rate, blocks a run: 5 s).
WRITING_BLOCK_S = 0.065536
WRITING_CASES = {size: (round(size / 4 / WRITING_BLOCK_S), 80)
                 for size in (16 * 1024, 1024 * 1024)}
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
    "src-file": ("iiodmabufsrc ! filesink location=/dev/null", "gst", "in"),
    "raw-in-w": ("raw ABI loop, capture, the ADC writing (floor)", "raw",
                 "in"),
    "src-w": ("iiodmabufsrc ! fakesink, the ADC writing", "gst", "in"),
    "raw-out": ("raw ABI loop, playback (floor)", "raw", "out"),
    "sink": ("benchsrc ! iiodmabufsink (its pool)", "gst", "out"),
    "sink-ats": ("audiotestsrc ! iiodmabufsink (its pool)", "gst", "out"),
    "sink-rw": ("benchsrc ! iiodmabufsink io-mode=rw", "gst", "out"),
    "sink-import": ("benchdmabufsrc ! iiodmabufsink (imports)", "gst", "out"),
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
# the ADC paced and writing its blocks, at the sizes of WRITING_CASES only
WRITING = {"raw-in-w": "raw-in", "src-w": "src"}
# syscall counts only: the source behind the converter (see CATCHUP_*)
SYSCALL_ONLY = {"src-behind": ("iiodmabufsrc ! fakesink, catching up",
                               "gst", "in")}


def blocks_for(path, size):
    """Blocks in a run: the zero-copy paths touch no data (the converters
    are unpaced), so large blocks cost them no more than small ones."""
    if path in WRITING:
        return WRITING_CASES[size][1]
    if path not in COPYING:
        return MAX_BLOCKS
    volume = IP_VOLUME if path in IP_PATHS else VOLUME
    n = max(MIN_BLOCKS, min(MAX_BLOCKS, volume // size))
    return n * EXT_FACTOR if PATHS[path][1] == "ext" else n


# --- the devices ----------------------------------------------------------

DEVICES = {}    # name: sysfs directory (the converters stay for the run)


def sysfs(name):
    if name in DEVICES:
        return DEVICES[name]
    for d in glob.glob("/sys/bus/iio/devices/iio:device*"):
        with open(d + "/name") as f:
            if f.read().strip() == name:
                DEVICES[name] = d
                return d
    sys.exit(f"bench: no IIO device {name}")


def write_attr(dev, attr, value):
    with open(f"{dev}/{attr}", "w") as f:
        f.write(str(value))


def read_attr(dev, attr):
    with open(f"{dev}/{attr}") as f:
        return f.read().strip()


def setup_devices(paced=False, rate=RATE, unpaced_us=UNPACED_US,
                  names=(ADC, DAC)):
    """Unpaced: each block completes @unpaced_us after it was queued,
    without the CPU moving its data, so what is measured is user space and
    the ABI; the rate only matters to the elements' timing judgements (see
    RATE). Paced: the converters in real time at @rate, the ADC writing
    every block. Never lossless: a late reader loses samples."""
    for name in names:
        dev = sysfs(name)
        write_attr(dev, "buffer0/enable", 0)
        write_attr(dev, "unpaced", 0 if paced else 1)
        write_attr(dev, "unpaced_us", unpaced_us)
        if os.path.exists(dev + "/lossless"):
            write_attr(dev, "lossless", 0)
        write_attr(dev, "sampling_frequency", rate)


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


# filesink writes each buffer at once (buffer-mode=unbuffered: its default
# holds buffers up to 64 KiB, blocks the source would then copy); /dev/null
# takes the write without reading the bytes: the map and the write(), no
# copy (a file would add the page cache's, and fill the VM's memory).
FILESINK = ("filesink location=/dev/null buffer-mode=unbuffered sync=false "
            "enable-last-sample=false")


def src_desc(size, nb, count, io_mode, sink=FAKESINK, rate=RATE):
    return (f"iiodmabufsrc name=src device={ADC} channels={CHANNELS} "
            f"sampling-frequency={rate} samples-per-block={size // SCAN} "
            f"num-blocks={nb} num-buffers={count} io-mode={io_mode} ! {sink}")


def sink_desc(producer, size, nb, io_mode, rate=RATE):
    return (f"{producer} ! audio/x-raw,format=S16LE,layout=interleaved,"
            f"rate={rate},channels=2 ! iiodmabufsink name=sink sync=false "
            f"device={DAC} channels={CHANNELS} samples-per-block={size // SCAN} "
            f"num-blocks={nb} io-mode={io_mode}")


def loop_sink_blocks(nb):
    """The sink's share of the loopback's blocks: iiodmabufsrc copies a
    block rather than keep fewer than two queued to the ADC (one with two
    blocks), so one is in its hands and two queued: nb / 2 - 1 (at least
    one) to the DAC. raw-loop does the same."""
    return max(1, nb // 2 - 1)


def rate_of(path, size):
    """The nominal rate a case runs at (the converter's, when paced)."""
    return WRITING_CASES[size][0] if path in WRITING else RATE


def command(path, size, nb, count, rate=None):
    """The command line of a run of @count blocks at @rate (the path's
    own by default; the raw loops and Debian's tools take the converter's
    as it is set)."""
    tool = ARGS.tool
    rate = rate or rate_of(path, size)
    path = WRITING.get(path, path)
    if path == "src-behind":
        path = "src"
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
    dmabuf_src = (f"benchdmabufsrc name=src blocksize={size} "
                  f"num-buffers={count}")
    desc = {
        "src": lambda: src_desc(size, nb, count, "dmabuf", rate=rate),
        "src-rw": lambda: src_desc(size, nb, count, "rw", rate=rate),
        "src-read": lambda: src_desc(size, nb, count, "dmabuf",
                                     FAKESINK + " name=reader", rate),
        "src-rw-read": lambda: src_desc(size, nb, count, "rw",
                                        FAKESINK + " name=reader", rate),
        "src-file": lambda: src_desc(size, nb, count, "dmabuf",
                                     FILESINK, rate),
        "sink": lambda: sink_desc(bench_src, size, nb, "dmabuf", rate),
        "sink-import": lambda: sink_desc(dmabuf_src, size, nb, "dmabuf",
                                         rate),
        "sink-ats": lambda: sink_desc(
            f"audiotestsrc name=src wave=silence samplesperbuffer="
            f"{size // SCAN} num-buffers={count}", size, nb, "dmabuf", rate),
        "sink-rw": lambda: sink_desc(bench_src, size, nb, "rw", rate),
        "gst-floor": lambda: (f"{bench_src} ! audio/x-raw,format=S16LE,"
                              f"rate={rate},channels=2 ! {FAKESINK}"),
        "loopback": lambda: src_desc(
            size, nb, count, "dmabuf",
            f"iiodmabufsink name=sink sync=false device={DAC} "
            f"channels={CHANNELS} num-blocks={loop_sink_blocks(nb)}", rate),
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
        if path in ("loopback", "sink-import"):
            e["imports"] = count     # the producer's DMABUFs played as they are
        expect["sink"] = e
        soft["sink"] = {"fence-errors": 0}
    for element, fields in expect.items():
        s = stats.get(element)
        if s is None:
            return f"no stats from {element}", []
        for k, v in fields.items():
            if s.get(k) != v:
                return f"{element}: {k} {s.get(k)}, not {v}", []
    if path == "sink-import" and stats["sink"].get("attaches", 0) > 8:
        # benchdmabufsrc's pool holds 8 DMABUFs: one attach each
        return f"sink: {stats['sink']['attaches']} attaches, not 8", []
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
        converters_for(path, size)
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
        if path in WRITING:     # the samples the ADC lost meanwhile, if any
            row["lost_samples"] = int(read_attr(sysfs(ADC), "lost_samples"))
        row["ok"] = "error" not in row
    except Exception as e:   # a broken run is reported, not fatal
        row["error"] = f"{type(e).__name__}: {e}"
    return row


converter_mode = None     # what converters_for() last set


def converters_for(path, size):
    """The ADC paced and writing for the cases of WRITING, else both
    converters unpaced; written only when that changes."""
    global converter_mode
    mode = ("writing", size) if path in WRITING else "unpaced"
    if mode == converter_mode:
        return
    if path in WRITING:
        setup_devices(paced=True, rate=rate_of(path, size), names=(ADC,))
    else:
        setup_devices()
    converter_mode = mode


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

def strace_counts(cmd, stdin, threads=False):
    """Runs @cmd under strace -f -c, or with @threads under strace -ff (a
    file per thread, each call a line): ([{syscall: calls}, one per thread
    or one in all], the elements' stats the tool printed or {}), or (None,
    an error)."""
    out, printed = "/run/bench-strace", "/run/bench-stdout"
    open(printed, "w").close()
    for old in glob.glob(out + "*"):
        os.unlink(old)
    how = ["-ff", "-o", out] if threads else ["-f", "-c", "-o", out]
    status, err, _, _, _ = spawn_rusage(
        [STRACE] + how + cmd, stdin,
        printed if cmd[0] == ARGS.tool else os.devnull)
    if status != 0:
        return None, last_line(err) or f"exit status {status}"
    counted = []
    for name in sorted(glob.glob(out + "*")):
        calls = {}
        with open(name) as f:
            for line in f:
                if threads:     # "ioctl(3, ...) = 0"; not signals, exits
                    call = re.match(r"([a-z_0-9]+)\(", line)
                    if call:
                        calls[call[1]] = calls.get(call[1], 0) + 1
                    continue
                parts = line.split()
                # % time, seconds, usecs/call, calls, [errors,] syscall
                if len(parts) >= 5 and parts[0][0].isdigit() and \
                        parts[-1] != "total":
                    calls[parts[-1]] = int(parts[3])
        counted.append(calls)
    with open(printed) as f:
        lines = f.read().strip().splitlines()
    stats = json.loads(lines[-1]).get("stats", {}) if lines else {}
    return counted, stats


# The paths of the syscall targets: more blocks, and counted per thread:
# the streaming thread's calls (the one that queues the blocks: the most
# ioctl()s) are the path's per block, exactly; the others' (a bus message
# more or less, a futex) are told apart.
SYSCALL_BLOCKS = {"sink-import": 520, "src-behind": 520}


def per_block(longer, shorter, blocks):
    """{call: per block} of the difference of two counts."""
    per_call = {k: (longer.get(k, 0) - shorter.get(k, 0)) / blocks
                for k in set(longer) | set(shorter)}
    per_call = {k: round(v, 2) for k, v in per_call.items() if abs(v) >= 0.005}
    return dict(sorted(per_call.items(), key=lambda kv: -kv[1]))


def total(calls):
    """All calls a block; noise (a futex more or less) can make a tiny
    total negative."""
    return max(0.0, round(sum(calls.values()), 2))


def syscalls_per_block(path, size, nb, rate=None):
    """strace with two block counts; the difference per block (of the
    streaming thread too, for the paths of SYSCALL_BLOCKS), and the
    elements' stats of the longer run."""
    many, few = SYSCALL_BLOCKS.get(path, 120), 20
    threads = path in SYSCALL_BLOCKS
    stdin = "/dev/zero" if path == "iio_writedev" else os.devnull
    runs = []
    for n in (many, few):
        counted, stats = strace_counts(command(path, size, nb, n, rate),
                                       stdin, threads)
        if counted is None:
            return {"error": stats}
        runs.append(counted)
        if n == many:
            kept = stats
    every = [{k: sum(c.get(k, 0) for c in counted)
              for k in set().union(*counted)} for counted in runs]
    calls = per_block(every[0], every[1], many - few)
    row = {"per_block": total(calls), "by_call": calls, "stats": kept,
           "blocks": [many, few]}
    if threads:
        streaming = [max(counted, key=lambda c: c.get("ioctl", 0))
                     for counted in runs]
        calls = per_block(streaming[0], streaming[1], many - few)
        row.update({"thread_per_block": total(calls),
                    "thread_by_call": calls})
    return row


# --- capacity ------------------------------------------------------------------
#
# For each path and block size, the highest sampling rate it sustains: a
# run of CAP_SECONDS after its start-up (CAP_WARMUP_S from the converter's
# enable) that loses nothing against converters running in real time
# (unpaced=0, lossless=0: the ADC writes every block at the rate, the DAC
# plays in real time), at num-blocks NUM_BLOCKS, the GStreamer sinks with
# sync=false so that the converter sets the pace. The start-up is left
# out, and what it lost kept apart (startup_lost): iiodmabufsrc enables
# the converter before its streaming thread takes the first block, tens of
# ms in the emulated guest, which a queue of a few small blocks does not
# cover at any rate worth measuring. A run fails when, after its start-up:
#  - capture: the ADC's lost_samples grew (samples that passed while no
#    block was queued; reset at the buffer's enable, so a look counts only
#    once enable_count has moved). iiodmabufsrc's own lost-samples and
#    overruns (from the fences) include the start-up's: kept, not judged;
#  - playback: the DAC's underflows grew (a block that came after the DAC
#    ran dry; the first block never counts, nor the stream's end, where no
#    block comes), or the DAC played other than the bytes sent
#    (consumed_bytes);
#  - the converter fell behind real time: the simulator's CPU did not keep
#    up (it moves every byte in the emulated guest), so its blocks ended
#    later than the rate says. Seen in its queue_state while the run goes
#    (the head block overdue by more than the queue holds, at least
#    CAP_LAG_S), and in the run's own wall time (more than
#    CAP_WALL_SLACK above its blocks' time at the rate);
#  - the run itself failed: the checks of check() (blocks, bytes, no
#    copies, imports), a block dropped as failed (src failed-blocks, sink
#    fence-errors).
# The converter is looked at every CAP_POLL_S (one pread() per counter): a
# run that lost is stopped there, so failing probes are short. The rates:
# CAP_LADDER, searched from a guess (the path's result at the size below,
# or the floor's at this size) upwards or downwards, then bisected, then
# refined CAP_REFINE times by the geometric mean of the last pass and the
# first fail (two significant digits).
CAP_SIZES = [4 * KIB, 16 * KIB, 64 * KIB, 1 * MIB]
CAP_QUICK_SIZES = [16 * KIB, 1 * MIB]
CAP_SECONDS, CAP_QUICK_SECONDS = 10, 3
CAP_LADDER = [100000, 200000, 500000, 1000000, 2000000, 5000000, 10000000,
              20000000, 50000000, 100000000]
CAP_REFINE, CAP_QUICK_REFINE = 2, 1
CAP_MIN_BLOCKS = 2 * NUM_BLOCKS     # each block queued at least twice
CAP_POLL_S = 0.5
CAP_WARMUP_S = 0.5
CAP_LAG_S = 0.1
CAP_WALL_SLACK = 0.01
# A run that lost samples (or dropped a block as failed) is run again,
# once: a stall of the emulated guest (a timer, the host's other work)
# longer than the queue decides a single run, and is rarely the path's
# own. Falling behind real time is the simulator's, and not tried again.
CAP_RETRIES = 1
# the floors first: their results are the other paths' first guesses
CAP_PATHS = ["raw-in", "src", "src-read", "src-file", "src-rw", "iio_readdev",
             "raw-out", "sink", "sink-import", "iio_writedev"]
CAP_FLOOR = {"in": "raw-in", "out": "raw-out"}


WATCHED = {}    # (device, attribute): an fd kept open, read with pread


def watch_attr(name, attr):
    """A counter read while a run goes: one pread() (a look costs the
    emulated guest little, so that it disturbs the run little)."""
    key = (name, attr)
    if key not in WATCHED:
        WATCHED[key] = os.open(f"{sysfs(name)}/{attr}", os.O_RDONLY)
    return os.pread(WATCHED[key], 4096, 0).decode().strip()


def enable_count(name):
    return int(watch_attr(name, "enable_count"))


def overdue_s(name, size, rate):
    """How long ago the converter's head block was due to end (negative:
    not yet), or None while it is stopped or has nothing queued."""
    words = watch_attr(name, "queue_state").split()
    q = dict(zip(words[0::2], words[1::2]))
    if q.get("running") != "1" or q.get("queued") == "0":
        return None
    return (int(q["now_k"]) - int(q["head_k"]) - size // SCAN) / rate


class CapWatch:
    """A capacity run's converter, watched while the run goes: its counter
    of losses (the ADC's lost_samples, the DAC's underflows) as it was once
    the start-up was over (CAP_WARMUP_S after the converter was seen
    started), and how late it ran."""

    def __init__(self, direction, size, rate):
        self.name = ADC if direction == "in" else DAC
        self.counter = "lost_samples" if direction == "in" else "underflows"
        self.size, self.rate = size, rate
        self.enables = enable_count(self.name)
        self.started = None     # when the enable was seen
        self.base = None        # the counter then plus CAP_WARMUP_S

    def count(self):
        return int(watch_attr(self.name, self.counter))

    def warm(self):
        return self.base is not None

    def what(self, n):
        return (f"the ADC lost {n} samples" if self.name == ADC
                else f"the DAC ran dry {n} times")

    def look(self):
        """What went wrong so far, or None."""
        if self.started is None:
            if enable_count(self.name) == self.enables:
                return None     # not started: the last run's counters
            self.started = time.monotonic()
        if self.base is None:
            if time.monotonic() - self.started < CAP_WARMUP_S:
                return None
            self.base = self.count()
        lost = self.count() - self.base
        if lost:
            return self.what(lost)
        late = overdue_s(self.name, self.size, self.rate)
        limit = max(CAP_LAG_S, NUM_BLOCKS * self.size / SCAN / self.rate)
        if late is not None and late > limit:
            return (f"the converter fell {late * 1e3:.0f} ms behind real "
                    f"time (the simulator's CPU)")
        return None

    def end(self, row):
        """After the run: what it lost once warm, or None; the start-up's
        losses in @row."""
        if enable_count(self.name) == self.enables:
            return "the converter was never started"
        total = self.count()
        row["startup_lost"] = self.base if self.warm() else None
        lost = total - (self.base or 0)
        return self.what(lost) if lost else None


def cap_probe(path, size, rate, seconds):
    """One capacity run: {rate, count, ok, seconds, error or None, ...}."""
    direction = PATHS[path][2]
    block_s = size / SCAN / rate
    count = max(CAP_MIN_BLOCKS,
                math.ceil((seconds + CAP_WARMUP_S) / block_s))
    row = {"rate": rate, "count": count, "ok": False, "error": None}
    iiod_for(path)
    setup_devices(paced=True, rate=rate)
    watch = CapWatch(direction, size, rate)
    cmd = command(path, size, NUM_BLOCKS, count, rate)
    tool = PATHS[path][1] != "ext"
    if not tool:    # libiio's 1 s timeout: shorter than a block at low rates
        cmd[1:1] = ["-T", "0"]
    with open("/run/cap-stdout", "wb") as fout, \
            open("/run/cap-stderr", "wb") as ferr, \
            open("/dev/zero" if path == "iio_writedev" else os.devnull,
                 "rb") as fin:
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdin=fin, stderr=ferr,
                             stdout=fout if tool else subprocess.DEVNULL)
        limit = count * block_s * 1.5 + 30
        # woken by its exit or for a look (Popen.wait's timeout would
        # poll every few ms, which costs the emulated guest)
        ended = select.poll()
        pidfd = os.pidfd_open(p.pid)
        ended.register(pidfd, select.POLLIN)
        while True:
            # often until the start-up is over, so that it ends on time
            every = CAP_POLL_S if watch.warm() else CAP_WARMUP_S / 5
            if ended.poll(every * 1000):
                p.wait()
                break
            problem = watch.look()
            if not problem and time.monotonic() - t0 > limit:
                problem = f"no end within {limit:.0f} s"
            if problem:
                p.kill()
                p.wait()
                row["error"] = (f"{problem} by "
                                f"{time.monotonic() - t0:.1f} s: stopped")
                break
        os.close(pidfd)
        wall = time.monotonic() - t0
    row["seconds"] = round(wall, 2)
    reset_devices()
    if row["error"] is None:
        row["error"] = cap_verdict(path, size, rate, count, p.returncode,
                                   wall, row) or watch.end(row)
    row["ok"] = row["error"] is None
    # lost samples, or a block dropped as failed: tried again
    row["lost"] = (row["error"] or "").startswith((
        "the ADC lost", "the DAC ran dry", "src: failed-blocks",
        "sink: fence-errors"))
    return row


def cap_verdict(path, size, rate, count, status, wall, row):
    """What makes a capacity run that ended a failure, but for the
    converter's counters (CapWatch.end()), or None."""
    with open("/run/cap-stderr", "rb") as f:
        err = f.read()
    if status != 0:
        return last_line(err) or f"exit status {status}"
    if b"Unable to" in err:     # libiio's tools: an error, but exit status 0
        return last_line(err)
    block_s = size / SCAN / rate
    if PATHS[path][1] != "ext":
        with open("/run/cap-stdout") as f:
            res = json.loads(f.read().strip().splitlines()[-1])
        problem, _ = check(path, size, count, res)
        if problem:
            return problem
        stats = res.get("stats", {})
        row["stats"] = stats
        # blocks dropped as failed (benchsrc has no stats); the source's
        # lost-samples and overruns include the start-up's: kept in @row
        for element, k in (("src", "failed-blocks"),
                           ("sink", "fence-errors")):
            if stats.get(element, {}).get(k):
                return f"{element}: {k} {stats[element][k]}"
        wall, slack = res["wall"], 0.05     # its first block to its last
    else:
        slack = 2.0     # the process's whole life: start-up and teardown
    if wall > count * block_s * (1 + CAP_WALL_SLACK) + slack:
        return (f"{wall:.2f} s for {count * block_s:.2f} s of samples: the "
                f"converter fell behind real time (the simulator's CPU)")
    if PATHS[path][2] == "out":
        played, sent = dac_consumed(), count * size
        # iio_writedev leaves the DAC at its exit without waiting for the
        # kernel's buffer (read()/write() blocks, each half of it) to play,
        # and a block it has half filled is never submitted: the last
        # buffer's worth may not play
        short = 0
        if path == "iio_writedev":
            short = int(read_attr(sysfs(DAC), "buffer0/length")) * SCAN
        if not sent - short <= played <= sent:
            return f"the DAC played {played} bytes, not {sent}"
    return None


def sig2(x):
    """@x rounded to two significant digits."""
    digits = 10 ** max(0, len(str(int(x))) - 2)
    return int(round(x / digits) * digits)


def cap_search(path, size, guess, seconds, refine):
    """The highest rate of the ladder @path sustains at @size, from the
    ladder's index @guess, then refined: a result row."""
    ladder, probes = CAP_LADDER, []
    t0 = time.monotonic()

    def passes(rate):
        for attempt in range(1 + CAP_RETRIES):
            probe = cap_probe(path, size, rate, seconds)
            probe["attempt"] = attempt + 1
            probes.append(probe)
            print(f"bench: capacity {path} {size} B {rate / 1e6:g} MS/s: "
                  f"{'ok' if probe['ok'] else probe['error']}",
                  file=sys.stderr)
            if probe["ok"] or not probe.get("lost"):
                break
        return probe["ok"]

    lo, hi, step = -1, len(ladder), 1   # highest pass, lowest fail
    while hi - lo > 1:
        if lo < 0 and hi == len(ladder):
            i = guess
        elif lo < 0:                    # downwards, faster and faster
            i, step = max(0, hi - step), step * 2
        elif hi == len(ladder):         # upwards
            i, step = min(len(ladder) - 1, lo + step), step * 2
        else:
            i = (lo + hi) // 2
        if passes(ladder[i]):
            lo = i
        else:
            hi = i
    best = ladder[lo] if lo >= 0 else None
    fail = ladder[hi] if hi < len(ladder) else None
    for _ in range(refine):
        if best is None or fail is None:
            break
        mid = sig2(math.sqrt(best * fail))
        if not best < mid < fail:
            break
        if passes(mid):
            best = mid
        else:
            fail = mid
    return {"path": path, "block_bytes": size, "num_blocks": NUM_BLOCKS,
            "seconds": seconds, "sustained": best, "failed_at": fail,
            "probes": probes, "elapsed": round(time.monotonic() - t0, 1)}


def ladder_index(rate, above=False):
    """The index of the highest rung at most @rate (@above: the lowest
    above it)."""
    at = max([i for i, r in enumerate(CAP_LADDER) if r <= rate] or [0])
    return min(at + 1, len(CAP_LADDER) - 1) if above else at


def capacity(result, save):
    """The capacity phase: result["capacity"] filled search by search."""
    global converter_mode
    converter_mode = None
    quick = ARGS.quick
    sizes = CAP_QUICK_SIZES if quick else CAP_SIZES
    seconds = CAP_QUICK_SECONDS if quick else CAP_SECONDS
    refine = CAP_QUICK_REFINE if quick else CAP_REFINE
    paths = [p for p in CAP_PATHS
             if not ARGS.paths or p in ARGS.paths.split(",")]
    todo = [(p, s) for p in paths for s in sizes if not skipped(p, s, NUM_BLOCKS)]
    # as measured: about 4 probes a search to find the rung, then the
    # refinements; half pass, lasting their run, the start-up and 0.7 s,
    # half fail, 2.5 s (stopped once they lost; some twice)
    estimate = len(todo) * (3.9 + refine) * (
        0.48 * (seconds + CAP_WARMUP_S + 0.7) + 0.52 * 2.5)
    print(f"bench: capacity phase: {len(todo)} searches, about "
          f"{estimate / 60:.0f} min", file=sys.stderr)
    t0 = time.monotonic()
    found = {}
    rows = result.setdefault("capacity", [])
    result["meta"].update({"capacity_seconds": seconds,
                           "capacity_ladder": CAP_LADDER,
                           "capacity_refine": refine,
                           "capacity_estimate": round(estimate)})
    for path, size in todo:
        before = [found[(path, s)] for s in sizes
                  if s < size and found.get((path, s))]
        floor = found.get((CAP_FLOOR[PATHS[path][2]], size))
        if before:      # larger blocks: at least as fast, usually
            guess = ladder_index(before[-1], above=True)
        elif floor:     # the floor's rate: the most a path can do
            guess = ladder_index(floor)
        else:
            guess = ladder_index(1000000)
        row = cap_search(path, size, guess, seconds, refine)
        found[(path, size)] = row["sustained"]
        rows.append(row)
        save()
    result["meta"]["capacity_elapsed"] = round(time.monotonic() - t0)
    print(f"bench: capacity phase took {(time.monotonic() - t0) / 60:.1f} "
          f"min (estimated {estimate / 60:.0f})", file=sys.stderr)


# --- the whole run --------------------------------------------------------------

def cases():
    out = []
    for path in PATHS:
        for size in WRITING_CASES if path in WRITING else SIZES:
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
    ap.add_argument("--no-capacity", action="store_true",
                    help="leave out the capacity phase")
    ap.add_argument("--capacity-only", action="store_true",
                    help="the capacity phase alone (development)")
    ARGS = ap.parse_args()
    t_start = time.monotonic()

    setup_devices()
    # GStreamer's registry, outside any timing
    spawn([ARGS.tool, "gst", "2", src_desc(16 * KIB, 4, 2, "dmabuf")])

    todo = [] if ARGS.capacity_only else cases()
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
            "writing_cases": WRITING_CASES, "writing": WRITING,
            "strace_unpaced_us": STRACE_UNPACED_US,
            "catchup_rate": CATCHUP_RATE,
            "catchup_unpaced_us": CATCHUP_UNPACED_US,
            "catchup_num_blocks": CATCHUP_NUM_BLOCKS,
            "paths": {k: v[0] for k, v in (PATHS | SYSCALL_ONLY).items()},
            "directions": {k: v[2] for k, v in (PATHS | SYSCALL_ONLY).items()},
        },
        "runs": runs, "skipped": skips, "syscalls": [], "capacity": [],
        "wakeups": [],
    }
    out_json = os.path.join(ARGS.outdir, "runs.json")

    def save():
        result["meta"]["seconds"] = round(time.monotonic() - t_start, 1)
        with open(out_json + ".tmp", "w") as f:
            json.dump(result, f, indent=1)
        os.replace(out_json + ".tmp", out_json)

    try:
        if not ARGS.capacity_only:
            result["wakeups"] = wakeups()
            save()
        run_rounds(todo, runs, save, t_start)
        if not ARGS.no_strace and not ARGS.capacity_only:
            result["syscalls"] += count_syscalls()
            print(f"bench: syscalls counted, "
                  f"{time.monotonic() - t_start:.0f} s", file=sys.stderr)
        if not ARGS.no_capacity:
            capacity(result, save)
    finally:
        stop_iiod()
        reset_devices()
    save()


# What waking costs the guest (see the tool's sleep mode): sleeps of
# these lengths, WAKEUP_SECONDS of each, WAKEUP_REPEATS times round-robin.
WAKEUP_SLEEPS_US = [300, 1000, 4000, 16000, 65536]
WAKEUP_SECONDS = 1.0
WAKEUP_REPEATS = 3


def wakeups():
    """CPU per wakeup of a process that only sleeps, by sleep length:
    rows of {sleep_us, count, cpu_us: [per run]}."""
    rows = [{"sleep_us": us, "count": max(20, int(WAKEUP_SECONDS * 1e6 / us)),
             "cpu_us": []} for us in WAKEUP_SLEEPS_US]
    for _ in range(WAKEUP_REPEATS):
        for row in rows:
            out = subprocess.run([ARGS.tool, "sleep", str(row["sleep_us"]),
                                  str(row["count"])], capture_output=True,
                                 text=True, check=True).stdout
            res = json.loads(out.strip().splitlines()[-1])
            row["cpu_us"].append(round(
                (res["user"] + res["sys"]) * 1e6 / res["blocks"], 1))
    return rows


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


def strace_rate(size):
    """The elements' nominal rate under strace: a block lasts as long as
    the unpaced converter takes for it (STRACE_UNPACED_US), so that their
    judgements from the fences hold (a sink that finds a block older than
    it lasts reads its fence once more, for an underflow; a source takes
    completions further apart than that for overruns)."""
    return int(size / SCAN * 1e6 / STRACE_UNPACED_US)


def count_syscalls():
    """Every path but memcpy and the writing cases, with the converters
    unpaced and slow enough for strace (STRACE_UNPACED_US): the elements
    wait for each block. Then the source catching up (src-behind, see
    CATCHUP_UNPACED_US): each block done before the source looks at it."""
    global converter_mode
    converter_mode = None
    setup_devices(unpaced_us=STRACE_UNPACED_US)
    rows = []
    todo = [(p, strace_rate, NUM_BLOCKS) for p in PATHS
            if p != "memcpy" and p not in WRITING]
    todo += [("src-behind", lambda size: CATCHUP_RATE, CATCHUP_NUM_BLOCKS)]
    for path, rate_at, nb in todo:
        if ARGS.paths and path not in ARGS.paths.split(",") and not (
                path == "src-behind" and "src" in ARGS.paths.split(",")):
            continue
        if path == "src-behind":
            setup_devices(rate=CATCHUP_RATE, unpaced_us=CATCHUP_UNPACED_US)
        for size in SYSCALL_SIZES:
            if skipped(path, size, nb):
                continue
            row = {"path": path, "block_bytes": size, "num_blocks": nb}
            try:
                iiod_for(path)
                row.update(syscalls_per_block(path, size, nb, rate_at(size)))
            except Exception as e:
                row["error"] = f"{type(e).__name__}: {e}"
            rows.append(row)
    return rows


if __name__ == "__main__":
    main()
