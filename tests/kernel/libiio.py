#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# iiosrc and iiosink against Debian's iiod serving the simulated converters over
# 127.0.0.1: every sample against the counter formula, the caps iiodmabufsrc
# gives, iio_readdev's bytes, a remote ADC played on the local DAC by
# iiodmabufsink, the errors for what goes wrong remotely.
import array
import glob
import random
import signal
import subprocess
import sys
import threading
import time

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

URI = "ip:127.0.0.1"
SPB = 4096
# blocks iiosrc drops after each start: the first two of the kernel's
# read() blocks, which libiio makes two of ours each
SETTLE = 4
passed = failed = 0
iiod = None


def ok(what):
    global passed
    passed += 1
    print("ok - " + what, flush=True)


def bad(what):
    global failed
    failed += 1
    print("FAIL: " + what, flush=True)


def check(cond, what, why=""):
    if cond:
        ok(what)
    else:
        bad(what + (": " + why if why else ""))
    return cond


def sysfs(name, attr):
    for d in glob.glob("/sys/bus/iio/devices/iio:device*"):
        with open(d + "/name") as f:
            if f.read().strip() == name:
                return d + "/" + attr
    raise RuntimeError("no IIO device " + name)


def start_iiod():
    global iiod
    iiod = subprocess.Popen(["/usr/sbin/iiod"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(100):
        if subprocess.run(["iio_info", "-u", URI], capture_output=True
                          ).returncode == 0:
            return
        time.sleep(0.1)
    raise RuntimeError("iiod does not answer on " + URI)


def stop_iiod(sig=signal.SIGTERM):
    iiod.send_signal(sig)
    iiod.wait(10)


class Run:
    """A pipeline 'iiosrc name=src ... ! filesink', run to its end."""

    def __init__(self, src, out="/run/iiosrc.bin", timeout=60,
                 element="iiosrc"):
        self.pipeline = Gst.parse_launch(
            "%s name=src %s ! filesink location=%s" % (element, src, out))
        self.src = self.pipeline.get_by_name("src")
        self.out, self.error, self.caps = out, None, None
        self.pipeline.set_state(Gst.State.PLAYING)
        self.wait(timeout)

    def wait(self, timeout):
        msg = self.pipeline.get_bus().timed_pop_filtered(
            int(timeout * Gst.SECOND),
            Gst.MessageType.EOS | Gst.MessageType.ERROR)
        if msg and msg.type == Gst.MessageType.ERROR:
            self.error = msg.parse_error()[0].message
        self.ended = msg is not None
        self.caps = self.src.get_static_pad("src").get_current_caps()
        self.stats = self.src.get_property("stats")
        self.pipeline.set_state(Gst.State.NULL)

    def data(self):
        with open(self.out, "rb") as f:
            return f.read()


def ramp_mismatch(samples, channels, bits, shift):
    """First (scan, channel) whose sample is not the counter, or None."""
    mask = (1 << bits) - 1
    k0 = (samples[0] >> shift) & mask
    for i, v in enumerate(samples):
        scan, c = divmod(i, channels)
        if v != ((k0 + scan + 256 * c) & mask) << shift:
            return "scan %d channel %d holds 0x%x, want 0x%x" % (
                scan, c, v, ((k0 + scan + 256 * c) & mask) << shift)
    return None


def capture_checked(device, channels, blocks, bits, shift, caps_want):
    n = len(channels.split(","))
    r = Run("uri=%s device=%s channels=%s num-buffers=%d" % (
        URI, device, channels, blocks))
    if not check(r.error is None and r.ended, device + ": capture ends",
                 str(r.error)):
        return None
    data = r.data()
    check(r.caps is not None and r.caps.is_equal(Gst.Caps.from_string(
        caps_want)), "%s: caps %s" % (device, caps_want), str(r.caps))
    local = Run("device=%s channels=%s num-buffers=1" % (device, channels),
                out="/run/iiodmabufsrc.bin", element="iiodmabufsrc")
    check(r.caps is not None and local.caps is not None and
          r.caps.is_equal(local.caps),
          "%s: the same caps as iiodmabufsrc's" % device, str(local.caps))
    check(len(data) == blocks * SPB * n * 2,
          "%s: %d bytes in %d blocks" % (device, len(data), blocks),
          "want %d" % (blocks * SPB * n * 2))
    samples = array.array("H", data)
    wrong = ramp_mismatch(samples, n, bits, shift)
    check(wrong is None, "%s: all %d samples of %d channels follow the "
          "counter from k=%d" % (device, len(samples), n,
                                 (samples[0] >> shift) if samples else -1),
          wrong)
    st = r.stats
    check(st.get_value("blocks") == blocks and
          st.get_value("bytes") == len(data) and
          st.get_value("copies") == blocks and
          st.get_value("discarded") == SETTLE,
          "%s: stats %s" % (device, st.to_string()),
          "want blocks=copies=%d, bytes=%d, discarded=%d" % (
              blocks, len(data), SETTLE))
    return data


def test_capture():
    caps = ("audio/x-raw, format=(string)S16LE, layout=(string)interleaved, "
            "rate=(int)48000, channels=(int)2, "
            "channel-mask=(bitmask)0x0000000000000000")
    data = capture_checked("iio-sim-adc", "voltage0,voltage1", 20, 16, 0,
                           caps)
    if data is None:
        return
    # Debian's iio_readdev through the same iiod: the same bytes once the
    # blocks iiosrc drops at start are left out of iio_readdev's
    rd = subprocess.run(["iio_readdev", "-u", URI, "-b", str(SPB), "-s",
                         str((SETTLE + 20) * SPB), "iio-sim-adc", "voltage0",
                         "voltage1"], capture_output=True, timeout=60)
    theirs = rd.stdout[SETTLE * SPB * 4:]
    check(rd.returncode == 0 and theirs == data,
          "iio_readdev -u %s gives the same %d bytes after its first %d "
          "blocks" % (URI, len(data), SETTLE),
          "exit %d, %d bytes%s" % (rd.returncode, len(theirs),
                                   ", they differ" if theirs else ""))


def test_capture_adc12():
    caps = ('application/x-iio, channels=(int)3, scan-bytes=(int)6, '
            'channel-ids=(string)"voltage0\\,voltage1\\,voltage2", '
            'channel-types=(string)"le:s12/16\\>\\>4\\,le:s12/16\\>\\>4\\,'
            'le:s12/16\\>\\>4", channel-offsets=(string)"0\\,2\\,4", '
            'rate=(int)48000')
    capture_checked("iio-sim-adc12", "voltage0,voltage1,voltage2", 10, 12, 4,
                    caps)


def counter_runs(bufs):
    """The data of @bufs split at DISCONT; the first mismatch of any run
    against the counter (2 channels), or None."""
    runs = []
    for i, b in enumerate(bufs):
        if i == 0 or b.has_flags(Gst.BufferFlags.DISCONT):
            runs.append(b"")
        runs[-1] += b.extract_dup(0, b.get_size())
    for run in runs:
        wrong = ramp_mismatch(array.array("H", run), 2, 16, 0)
        if wrong:
            return len(runs), wrong
    return len(runs), None


def test_capture_flush_restart_stats():
    """What applications do: a flush mid-capture, a restart (NULL, then
    PLAYING) while they hold the buffers pulled so far, and stats read
    from another thread all along. The held buffers stay intact (they are
    copies), each run between DISCONTs is the counter, restarts count the
    flush."""
    p = Gst.parse_launch("iiosrc name=src uri=%s device=iio-sim-adc "
                         "channels=voltage0,voltage1 samples-per-block=%d "
                         "! appsink name=out sync=false max-buffers=100"
                         % (URI, SPB))
    src, out = p.get_by_name("src"), p.get_by_name("out")
    reads, stop = [], threading.Event()

    def read_stats():
        while not stop.is_set():
            reads.append(src.get_property("stats").get_value("blocks"))

    def pull(n):
        got = []
        while len(got) < n:
            sample = out.emit("try-pull-sample", 10 * Gst.SECOND)
            if sample is None:
                break
            got.append(sample.get_buffer())
        return got

    reader = threading.Thread(target=read_stats)
    reader.start()
    held = []
    try:
        p.set_state(Gst.State.PLAYING)
        held += pull(4)
        src.send_event(Gst.Event.new_flush_start())
        src.send_event(Gst.Event.new_flush_stop(True))
        held += pull(4)
        restarts = src.get_property("stats").get_value("restarts")
        p.set_state(Gst.State.NULL)
        p.set_state(Gst.State.PLAYING)
        again = pull(4)
    finally:
        stop.set()
        reader.join()
        p.set_state(Gst.State.NULL)
    n_runs, wrong = counter_runs(held)
    again_runs, again_wrong = counter_runs(again)
    check(len(held) == 8 and n_runs == 2 and wrong is None and
          restarts == 1 and len(again) == 4 and again_wrong is None and
          len(reads) > 0,
          "iiosrc flushed, then restarted while 8 buffers were held: the "
          "held ones intact (%d runs of the counter), restarts=%d, 4 more "
          "after the restart, stats read %d times from another thread" % (
              n_runs, restarts, len(reads)),
          "held %d in %d runs (%s), restarts %s, after restart %d (%s), "
          "stats read %d times" % (len(held), n_runs, wrong, restarts,
                                   len(again), again_wrong, len(reads)))


def test_slow_consumer():
    """A consumer slower than the converter, lossless off: the converter
    loses samples in the kernel (as hardware would); iiosrc goes on
    without an error and every block it delivers is whole (the counter
    within it). libiio gives no way to see the loss: see docs."""
    with open(sysfs("iio-sim-adc", "lossless"), "w") as f:
        f.write("0")
    try:
        r = Run("uri=%s device=iio-sim-adc channels=voltage0,voltage1 "
                "samples-per-block=1024 num-buffers=12 discard-blocks=0 ! "
                "identity sleep-time=100000" % URI)
        lost = int(read_sysfs("iio-sim-adc", "lost_samples"))
    finally:
        with open(sysfs("iio-sim-adc", "lossless"), "w") as f:
            f.write("1")
    data = r.data() if r.error is None else b""
    block = 1024 * 4
    wrong = [ramp_mismatch(array.array("H", data[i:i + block]), 2, 16, 0)
             for i in range(0, len(data), block)]
    wrong = [w for w in wrong if w]
    check(r.error is None and len(data) == 12 * block and not wrong and
          lost > 0,
          "slow consumer, lossless off: 12 whole blocks, no error, the "
          "converter lost %d samples" % lost,
          "error %s, %d bytes, %s, lost %d" % (r.error, len(data),
                                               wrong[:1], lost))


def test_unknown():
    r = Run("uri=%s device=no-such-adc num-buffers=1" % URI, timeout=20)
    check(r.error is not None and
          r.error.startswith("IIO context 'ip:127.0.0.1' has no device "
                             "'no-such-adc'. It has: ") and
          "(iio-sim-adc)" in r.error and "(iio-sim-dac)" in r.error,
          "an unknown device lists the remote's", str(r.error))
    r = Run("uri=%s device=iio-sim-adc channels=voltage0,voltage9 "
            "num-buffers=1" % URI, timeout=20)
    want = ("IIO device iio-sim-adc on 'ip:127.0.0.1' has no input channel "
            "'voltage9'. It has: voltage0,voltage1,voltage2,voltage3,"
            "timestamp")
    check(r.error == want, "an unknown channel lists the remote's",
          str(r.error))


def test_unreachable():
    # before iiod starts: nothing listens on 127.0.0.1; 192.0.2.1 (TEST-NET)
    # has no route in the VM
    for host, why in (("127.0.0.1", "Connection refused"),
                      ("192.0.2.1", "")):
        t0 = time.monotonic()
        r = Run("uri=ip:%s device=iio-sim-adc num-buffers=1" % host,
                timeout=30)
        took = time.monotonic() - t0
        check(r.error is not None and
              r.error.startswith("Cannot reach IIO context 'ip:%s': %s"
                                 % (host, why)) and
              r.error.endswith("Is iiod running there?") and took < 10,
              "no iiod at %s: '%s' after %.1f s" % (host, r.error, took),
              str(r.error))


def test_busy():
    # a local reader holds the converter's buffer: iiod cannot open it
    holder = subprocess.Popen(["iio_readdev", "-u", "local:", "-b",
                               str(SPB), "iio-sim-adc", "voltage0"],
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    time.sleep(1)
    r = Run("uri=%s device=iio-sim-adc num-buffers=1 timeout=3000000000"
            % URI, timeout=30)
    holder.kill()
    holder.wait()
    check(r.error is not None and r.error.startswith(
        "The buffer of IIO device iio-sim-adc is busy on 'ip:127.0.0.1'"),
        "a buffer busy on the remote", str(r.error))


def stop_at_1hz(desc, element, device, what, limit):
    """Plays @desc, whose @element runs @device at 1 Hz (a block would take
    over an hour), and sets it to NULL: that must not wait, and the rate
    goes back to 48000."""
    p = Gst.parse_launch(desc)
    p.set_state(Gst.State.PLAYING)
    time.sleep(2)
    during = read_sysfs(device, "sampling_frequency")
    err = error_now(p)
    took = timed_stop(p)
    check(during == "1" and err is None and took < limit,
          "%s stopped while %s in %.2f s" % (element, what, took),
          "%s at %s Hz, error %s" % (device, during, err))
    check(read_sysfs(device, "sampling_frequency") == "48000",
          "%s put %s's rate back after sampling-frequency=1"
          % (element, device))


def test_stop_while_waiting():
    stop_at_1hz("iiosrc uri=%s device=iio-sim-adc sampling-frequency=1 ! "
                "fakesink" % URI, "iiosrc", "iio-sim-adc",
                "waiting for a block", 2)


def test_negotiated():
    """Downstream asks for 16 kHz and one channel: iiosrc sets them, the
    data are channel 0's counter, and the rate is put back at stop."""
    r = Run("uri=%s device=iio-sim-adc num-buffers=4 ! audio/x-raw,"
            "rate=16000,channels=1" % URI)
    data = r.data() if r.error is None else b""
    wrong = ramp_mismatch(array.array("H", data), 1, 16, 0) if data else \
        "no data"
    s = r.caps.get_structure(0) if r.caps else None
    after = read_sysfs("iio-sim-adc", "sampling_frequency")
    check(r.error is None and s is not None and
          s.get_value("rate") == 16000 and s.get_value("channels") == 1 and
          len(data) == 4 * SPB * 2 and wrong is None and after == "48000",
          "iiosrc negotiated 16 kHz, 1 channel: %d bytes of voltage0's "
          "counter, the ADC back at %s Hz" % (len(data), after),
          "error %s, caps %s, %d bytes, %s, rate after %s" % (
              r.error, r.caps and r.caps.to_string(), len(data), wrong,
              after))


def test_attributes():
    """attributes= writes device attributes at start and puts them back at
    stop; an unknown or refused one is an error that says which."""
    r = Run("uri=%s device=iio-sim-adc channels=voltage0 num-buffers=2 "
            "attributes=\"attrs,waveform=sine\"" % URI)
    data = r.data() if r.error is None else b""
    after = read_sysfs("iio-sim-adc", "waveform")
    ramp = ramp_mismatch(array.array("H", data), 1, 16, 0) if data else None
    check(r.error is None and len(data) == 2 * SPB * 2 and ramp is not None
          and after == "ramp",
          "attributes=attrs,waveform=sine: %d bytes not the ramp, waveform "
          "back to %s at stop" % (len(data), after),
          "error %s, %d bytes, ramp check %s, waveform after %s" % (
              r.error, len(data), ramp, after))
    r = Run("uri=%s device=iio-sim-adc num-buffers=1 "
            "attributes=\"attrs,no_such_attr=1\"" % URI, timeout=20)
    check(r.error is not None and r.error.startswith(
        "IIO device iio-sim-adc on 'ip:127.0.0.1' has no attribute "
        "'no_such_attr'. It has: ") and "waveform" in r.error,
        "an unknown attribute lists the device's", str(r.error))
    r = Run("uri=%s device=iio-sim-adc num-buffers=1 "
            "sampling-frequency=200000000" % URI, timeout=20)
    check(r.error is not None and r.error.startswith(
        "IIO device iio-sim-adc on 'ip:127.0.0.1' refused "
        "sampling_frequency=200000000: ") and
        r.error.endswith("It takes: [1 1 100000000]"),
        "a refused rate lists the device's sampling_frequency_available",
        str(r.error))
    r = Run("uri=%s device=iio-sim-adc num-buffers=1 "
            "attributes=\"attrs,waveform=square\"" % URI, timeout=20)
    check(r.error is not None and r.error.startswith(
        "IIO device iio-sim-adc on 'ip:127.0.0.1' refused waveform=square: ")
        and read_sysfs("iio-sim-adc", "waveform") == "ramp",
        "a refused attribute says which", str(r.error))


def test_capture_paused():
    """Paused mid-capture and resumed: libiio's buffer is made anew, so the
    first buffer after is DISCONT and starts the counter again; every run
    between DISCONTs is the counter."""
    p = Gst.parse_launch("iiosrc name=src uri=%s device=iio-sim-adc "
                         "channels=voltage0,voltage1 samples-per-block=%d "
                         "! appsink name=out sync=false max-buffers=100"
                         % (URI, SPB))
    out = p.get_by_name("out")

    def pull(timeout_s):
        sample = out.emit("try-pull-sample", int(timeout_s * Gst.SECOND))
        return sample.get_buffer() if sample else None

    p.set_state(Gst.State.PLAYING)
    bufs, n_before = [], 0
    try:
        while len(bufs) < 4 and (b := pull(10)) is not None:
            bufs.append(b)
        p.set_state(Gst.State.PAUSED)
        time.sleep(0.5)
        # what was on the way before the pause is still delivered
        while (b := pull(0)) is not None:
            bufs.append(b)
        n_before = len(bufs)
        p.set_state(Gst.State.PLAYING)
        while len(bufs) < n_before + 4 and (b := pull(10)) is not None:
            bufs.append(b)
        restarts = p.get_by_name("src").get_property("stats").get_value(
            "restarts")
    finally:
        p.set_state(Gst.State.NULL)
    runs, problems = [], []
    for i, b in enumerate(bufs):
        if i == 0 or b.has_flags(Gst.BufferFlags.DISCONT):
            runs.append(b"")
        runs[-1] += b.extract_dup(0, b.get_size())
    for run in runs:
        wrong = ramp_mismatch(array.array("H", run), 2, 16, 0)
        if wrong:
            problems.append(wrong)
    discont_at = [i for i, b in enumerate(bufs)
                  if b.has_flags(Gst.BufferFlags.DISCONT)]
    # a block on its way at the pause comes after it, before the DISCONT
    check(len(bufs) == n_before + 4 and len(runs) == 2 and not problems and
          len(discont_at) == 2 and discont_at[0] == 0 and
          n_before <= discont_at[1] <= n_before + 1 and restarts == 1,
          "iiosrc paused and resumed: %d buffers, DISCONT at %s, both runs "
          "the counter, restarts=%d" % (len(bufs), discont_at, restarts),
          "%d buffers, DISCONT at %s (want [0, %d]), restarts %d, %s" % (
              len(bufs), discont_at, n_before, restarts, problems))


def kill_iiod_midstream(p, name, timeout_s):
    """Plays @p until its element @name has moved 5 blocks, kills iiod:
    the blocks moved, the error posted (or None) and how long it took."""
    element = p.get_by_name(name)
    p.set_state(Gst.State.PLAYING)
    wait_blocks(element, 5, timeout=30)
    blocks = element.get_property("stats").get_value("blocks")
    stop_iiod(signal.SIGKILL)
    t0 = time.monotonic()
    msg = p.get_bus().timed_pop_filtered(
        (timeout_s + 5) * Gst.SECOND, Gst.MessageType.ERROR)
    took = time.monotonic() - t0
    p.set_state(Gst.State.NULL)
    return blocks, msg.parse_error()[0].message if msg else None, took


def test_iiod_killed():
    timeout_s = 2
    p = Gst.parse_launch("iiosrc name=src uri=%s device=iio-sim-adc "
                         "sampling-frequency=48000 timeout=%d ! fakesink"
                         % (URI, timeout_s * Gst.SECOND))
    blocks, err, took = kill_iiod_midstream(p, "src", timeout_s)
    check(blocks >= 5 and err is not None and took <= timeout_s + 1 and
          err.startswith("Lost IIO device iio-sim-adc on 'ip:127.0.0.1': ")
          and err.endswith("Did iiod stop or the connection drop?"),
          "iiod killed after %d blocks: '%s' after %.2f s" % (blocks, err,
                                                               took),
          "want the error within %d s" % (timeout_s + 1))


DAC_SCAN = 4                    # iio-sim-dac: voltage0..1, le:s16/16
DAC_CAPS = ("audio/x-raw,format=S16LE,layout=interleaved,channels=2,"
            "rate=48000")


def fnv(data, times=1):
    h = 0xcbf29ce484222325
    for _ in range(times):
        for b in data:
            h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return h


def fnv_more(h, data):
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return h


def end_of(p, timeout=60):
    """Waits for EOS or an error: None at EOS, else what went wrong."""
    msg = p.get_bus().timed_pop_filtered(
        int(timeout * Gst.SECOND), Gst.MessageType.EOS | Gst.MessageType.ERROR)
    if msg is None:
        return "no EOS"
    if msg.type == Gst.MessageType.ERROR:
        return msg.parse_error()[0].message
    return None


def wait_blocks(element, n, timeout=20):
    """Waits until @element's stats count @n blocks."""
    deadline = time.monotonic() + timeout
    while (element.get_property("stats").get_value("blocks") < n and
           time.monotonic() < deadline):
        time.sleep(0.02)


def error_now(p):
    """The error posted so far, if any."""
    msg = p.get_bus().pop_filtered(Gst.MessageType.ERROR)
    return msg.parse_error()[0].message if msg else None


def timed_stop(p):
    """Sets @p to NULL: how long it took."""
    t0 = time.monotonic()
    p.set_state(Gst.State.NULL)
    return time.monotonic() - t0


def dac():
    with open(sysfs("iio-sim-dac", "consumed_bytes")) as f:
        played = int(f.read())
    with open(sysfs("iio-sim-dac", "checksum")) as f:
        return played, int(f.read(), 0)


def play(data, sink, timeout=60, blocksize=3000):
    """data through filesrc to 'iiosink name=sink ...': error, stats."""
    with open("/run/iiosink.raw", "wb") as f:
        f.write(data)
    p = Gst.parse_launch("filesrc location=/run/iiosink.raw blocksize=%d "
                         "! %s ! iiosink name=sink uri=%s device=iio-sim-dac "
                         "%s" % (blocksize, DAC_CAPS, URI, sink))
    p.set_state(Gst.State.PLAYING)
    return p, end_of(p, timeout)


def wait_played(want, timeout=20):
    deadline = time.monotonic() + timeout
    while dac()[0] < want and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)              # nothing more comes
    return dac()


def test_play():
    """EOS is posted once the DAC has played the last block: a pipeline
    set to NULL right at EOS cuts nothing off."""
    spb = 1024
    block = spb * DAC_SCAN
    data = random.Random(14).randbytes(10 * block + 1000)
    p, err = play(data, "samples-per-block=%d" % spb)
    st = p.get_by_name("sink").get_property("stats")
    p.set_state(Gst.State.NULL)
    sent = data + bytes(-len(data) % block)   # the last block padded
    played, checksum = dac()
    check(err is None and played == len(sent) and checksum == fnv(sent),
          "iiosink played %d bytes (%d of padding) before EOS, checksum "
          "0x%016x" % (len(sent), len(sent) - len(data), checksum),
          "error %s; at NULL right after EOS the DAC had played %d bytes, "
          "checksum 0x%016x, want %d, 0x%016x" % (
              err, played, checksum, len(sent), fnv(sent)))
    check(st.get_value("blocks") == 11 and
          st.get_value("bytes") == len(data),
          "iiosink stats %s" % st.to_string(),
          "want blocks=11, bytes=%d" % len(data))


def test_play_paused():
    """Paused twice mid-stream, then played to EOS: the DAC played every
    byte, in order."""
    spb = 1024
    block = spb * DAC_SCAN
    data = random.Random(16).randbytes(60 * block + 123)
    with open("/run/iiosink.raw", "wb") as f:
        f.write(data)
    p = Gst.parse_launch("filesrc location=/run/iiosink.raw blocksize=3000 "
                         "! %s ! iiosink name=sink uri=%s device=iio-sim-dac "
                         "samples-per-block=%d" % (DAC_CAPS, URI, spb))
    sink = p.get_by_name("sink")
    p.set_state(Gst.State.PLAYING)
    for at in (10, 30):
        wait_blocks(sink, at)
        p.set_state(Gst.State.PAUSED)
        p.get_state(5 * Gst.SECOND)
        time.sleep(0.5)
        p.set_state(Gst.State.PLAYING)
    err = end_of(p)
    p.set_state(Gst.State.NULL)
    sent = data + bytes(-len(data) % block)
    played, checksum = dac()
    check(err is None and played == len(sent) and checksum == fnv(sent),
          "iiosink paused twice: the DAC played all %d bytes in order"
          % len(sent), "error %s; played %d bytes, checksum 0x%016x, want "
          "0x%016x" % (err, played, checksum, fnv(sent)))


def test_play_paused_long_blocks():
    """Paused while a push of a one-second block waits for the DAC: the
    push ends, nothing is cancelled, the DAC plays every byte."""
    spb = 4096
    block = spb * DAC_SCAN
    data = random.Random(18).randbytes(5 * block)
    with open("/run/iiosink.raw", "wb") as f:
        f.write(data)
    p = Gst.parse_launch("filesrc location=/run/iiosink.raw blocksize=%d "
                         "! %s ! iiosink name=sink uri=%s device=iio-sim-dac "
                         "samples-per-block=%d" % (
                             block, DAC_CAPS.replace("48000", "4096"), URI,
                             spb))
    sink = p.get_by_name("sink")
    p.set_state(Gst.State.PLAYING)
    # the kernel holds two blocks: the third push waits about a second
    wait_blocks(sink, 2)
    time.sleep(0.1)
    p.set_state(Gst.State.PAUSED)
    p.get_state(10 * Gst.SECOND)
    time.sleep(0.3)
    p.set_state(Gst.State.PLAYING)
    err = end_of(p)
    p.set_state(Gst.State.NULL)
    played, checksum = dac()
    check(err is None and played == len(data) and checksum == fnv(data),
          "iiosink paused during a one-second push: the DAC played all %d "
          "bytes in order" % len(data), "error %s; played %d bytes, "
          "checksum 0x%016x, want 0x%016x" % (err, played, checksum,
                                              fnv(data)))


def test_play_flushing_seek():
    """A flushing seek back to the start mid-stream: what libiio and the
    kernel held is flushed, the DAC (its counters start again with the new
    buffer) plays the whole stream from the start, exact."""
    spb = 1024
    block = spb * DAC_SCAN
    data = random.Random(19).randbytes(30 * block + 500)
    with open("/run/iiosink.raw", "wb") as f:
        f.write(data)
    p = Gst.parse_launch("filesrc location=/run/iiosink.raw blocksize=3000 "
                         "! rawaudioparse format=pcm pcm-format=s16le "
                         "num-channels=2 sample-rate=48000 ! iiosink "
                         "name=sink uri=%s device=iio-sim-dac "
                         "samples-per-block=%d" % (URI, spb))
    sink = p.get_by_name("sink")
    p.set_state(Gst.State.PLAYING)
    wait_blocks(sink, 8)
    seeked = p.seek_simple(Gst.Format.TIME, Gst.SeekFlags.FLUSH, 0)
    err = end_of(p)
    p.set_state(Gst.State.NULL)
    sent = data + bytes(-len(data) % block)
    played, checksum = dac()
    check(seeked and err is None and played == len(sent) and
          checksum == fnv(sent),
          "iiosink after a flushing seek to 0: the DAC played the %d bytes "
          "from the start, exact" % len(sent),
          "seek %s, error %s; played %d bytes, checksum 0x%016x, want %d, "
          "0x%016x" % (seeked, err, played, checksum, len(sent), fnv(sent)))


def test_stop_stalled_dac():
    """The DAC stops taking blocks (fault_stall) and the application sets
    the pipeline to NULL: a bin takes iiosink through PAUSED first, which
    must not wait for the push (libiio's timeout, 10 s here) before the
    stop cancels it."""
    with open("/run/iiosink.raw", "wb") as f:
        f.write(bytes(1024 * DAC_SCAN * 200))
    p = Gst.parse_launch("filesrc location=/run/iiosink.raw ! %s ! iiosink "
                         "name=sink uri=%s device=iio-sim-dac "
                         "samples-per-block=1024 timeout=20000000000"
                         % (DAC_CAPS, URI))
    sink = p.get_by_name("sink")
    p.set_state(Gst.State.PLAYING)
    wait_blocks(sink, 4)
    with open(sysfs("iio-sim-dac", "fault_stall"), "w") as f:
        f.write("1")
    try:
        time.sleep(1)            # the kernel's two blocks fill: push waits
        err = error_now(p)
        took = timed_stop(p)
    finally:
        with open(sysfs("iio-sim-dac", "fault_stall"), "w") as f:
            f.write("0")
    check(err is None and took < 3,
          "pipeline to NULL with the DAC stalled mid-push: %.2f s" % took,
          "error %s" % err)


def read_sysfs(device, attr):
    with open(sysfs(device, attr)) as f:
        return f.read().strip()


def test_play_rate():
    """A 16 kHz stream sets the DAC to 16 kHz while it plays; the DAC's
    rate is put back at stop."""
    spb = 1024
    data = random.Random(17).randbytes(40 * spb * DAC_SCAN)
    with open("/run/iiosink.raw", "wb") as f:
        f.write(data)
    before = read_sysfs("iio-sim-dac", "sampling_frequency")
    p = Gst.parse_launch("filesrc location=/run/iiosink.raw blocksize=4096 "
                         "! %s ! iiosink name=sink uri=%s device=iio-sim-dac "
                         "samples-per-block=%d" % (
                             DAC_CAPS.replace("48000", "16000"), URI, spb))
    sink = p.get_by_name("sink")
    p.set_state(Gst.State.PLAYING)
    wait_blocks(sink, 3)
    during = read_sysfs("iio-sim-dac", "sampling_frequency")
    err = end_of(p)
    p.set_state(Gst.State.NULL)
    after = read_sysfs("iio-sim-dac", "sampling_frequency")
    played, checksum = dac()
    check(err is None and during == "16000" and after == before and
          played == len(data) and checksum == fnv(data),
          "iiosink at 16 kHz: the DAC ran at %s Hz, played %d bytes exact, "
          "back at %s Hz" % (during, played, after),
          "error %s, rate %s during, %s after (was %s), played %d, checksum "
          "0x%016x want 0x%016x" % (err, during, after, before, played,
                                    checksum, fnv(data)))


def test_stop_while_pushing():
    with open("/run/iiosink.raw", "wb") as f:
        f.write(bytes(1024 * DAC_SCAN * 8))
    stop_at_1hz("filesrc location=/run/iiosink.raw ! %s ! iiosink uri=%s "
                "device=iio-sim-dac samples-per-block=1024 "
                "sampling-frequency=1" % (DAC_CAPS.replace("48000", "1"), URI),
                "iiosink", "iio-sim-dac", "the DAC took no block", 3)


def test_play_cyclic():
    # libiio 0.24 refuses cyclic buffers without ADI's high-speed interface
    # (mainline: EPERM), so iiosink repeats in software and cyclic_repeat,
    # which acts on DMABUF blocks only, plays no part
    wave = random.Random(15).randbytes(480 * DAC_SCAN)
    # a buffer a waveform; no EOS: it goes on
    p, _ = play(wave * 4, "cyclic=true", timeout=3, blocksize=len(wave))
    sink = p.get_by_name("sink")
    played, _ = wait_played(10 * len(wave), timeout=30)
    st = sink.get_property("stats")
    p.set_state(Gst.State.NULL)
    played, checksum = dac()
    # stopped mid-block: the DAC's count ends inside a waveform
    whole, part = divmod(played, len(wave))
    check(played > len(wave) and
          checksum == fnv_more(fnv(wave, whole), wave[:part]),
          "cyclic (%s): the DAC played the waveform %d times, exact" % (
              st.get_value("cyclic-mode"), played // len(wave)),
          "played %d bytes, checksum 0x%016x" % (played, checksum))
    check(st.get_value("copies") == 1 and st.get_value("dropped") == 3,
          "cyclic: one buffer played, later ones dropped: %s"
          % st.to_string())


def test_channel_named_twice():
    """channels=voltage0,voltage0 is one channel, as for iiodmabufsrc: the
    caps say 1 and the data hold the counter of one channel."""
    r = Run("uri=%s device=iio-sim-adc channels=voltage0,voltage0 "
            "samples-per-block=%d num-buffers=2" % (URI, SPB))
    data = r.data() if r.error is None else b""
    wrong = ramp_mismatch(array.array("H", data), 1, 16, 0) if data else \
        "no data"
    channels = (r.caps.get_structure(0).get_value("channels")
                if r.caps else None)
    check(r.error is None and channels == 1 and len(data) == 2 * SPB * 2
          and wrong is None,
          "a channel named twice is one: caps channels=1, %d bytes of its "
          "counter" % len(data),
          "error %s, caps %s, %d bytes, %s" % (
              r.error, r.caps and r.caps.to_string(), len(data), wrong))


def kernel_first_block():
    """The first sample of a local read of iio-sim-adc: 0, or 2 * SPB when
    the DMA buffer core hands out its second read() block first. libiio
    makes two kernel blocks of 2 * SPB scans each; reading both leaves
    the order as it was."""
    rd = subprocess.run(["iio_readdev", "-u", "local:", "-b", str(SPB), "-s",
                         str(4 * SPB), "iio-sim-adc", "voltage0"],
                        capture_output=True, timeout=60)
    return array.array("H", rd.stdout[:2])[0] if rd.stdout else -1


def test_out_of_order_start():
    """Linux 6.12's DMA buffer core does not rewind its read() blocks at
    enable: after a session that read one kernel block, the next gets the
    second block (k = 2 * SPB ...) before the first (k = 0 ...). iiosrc
    drops those and delivers the counter in order."""
    if kernel_first_block() == 0:
        # one kernel block read: the next session starts with the second
        subprocess.run(["iio_readdev", "-u", "local:", "-b", str(SPB), "-s",
                        str(2 * SPB), "iio-sim-adc", "voltage0"],
                       capture_output=True, timeout=60)
    first = kernel_first_block()
    if first != 2 * SPB:
        # a kernel that rewinds its read() blocks: nothing to drop
        ok("skipped: this kernel starts a read() session at k=%d, in order"
           % first)
        return
    ok("premise: iio_readdev's first block starts at k=%d, the kernel's "
       "second block" % first)
    # discard-blocks=0 keeps them: the splice shows (8 blocks are 4 kernel
    # blocks, which leaves the order as it was for the next session)
    r = Run("uri=%s device=iio-sim-adc channels=voltage0,voltage1 "
            "samples-per-block=%d num-buffers=8 discard-blocks=0" % (URI, SPB))
    data = r.data() if r.error is None else b""
    samples = array.array("H", data)
    check(r.error is None and len(samples) == 8 * SPB * 2 and
          samples[0] == 2 * SPB and samples[2 * 2 * SPB] == 0 and
          r.stats.get_value("discarded") == 0,
          "discard-blocks=0: the kernel's order kept, k=%d first and k=0 at "
          "scan %d" % (samples[0] if data else -1, 2 * SPB),
          "error %s, %d bytes, stats %s" % (r.error, len(data),
                                            r.stats and r.stats.to_string()))
    r = Run("uri=%s device=iio-sim-adc channels=voltage0,voltage1 "
            "samples-per-block=%d num-buffers=8" % (URI, SPB))
    data = r.data() if r.error is None else b""
    samples = array.array("H", data)
    wrong = ramp_mismatch(samples, 2, 16, 0) if data else "no data"
    check(r.error is None and len(data) == 8 * SPB * 4 and wrong is None,
          "iiosrc after such a session: %d bytes, the counter in order from "
          "k=%d" % (len(data), samples[0] if data else -1),
          "error %s, %d bytes, %s" % (r.error, len(data), wrong))


def test_interop():
    """A remote ADC on a local DAC: iiosrc ! iiodmabufsink. What iiosrc
    delivered (also written to a file) is the ADC's counter, and the DAC
    played exactly those bytes."""
    blocks, out = 20, "/run/interop.raw"
    p = Gst.parse_launch(
        "iiosrc uri=%s device=iio-sim-adc channels=voltage0,voltage1 "
        "sampling-frequency=48000 samples-per-block=%d num-buffers=%d "
        "! tee name=t t. ! queue ! iiodmabufsink name=sink device=iio-sim-dac "
        "t. ! queue ! filesink location=%s" % (URI, SPB, blocks, out))
    p.set_state(Gst.State.PLAYING)
    err = end_of(p)
    st = p.get_by_name("sink").get_property("stats")
    p.set_state(Gst.State.NULL)
    with open(out, "rb") as f:
        sent = f.read()
    samples = array.array("H", sent)
    wrong = ramp_mismatch(samples, 2, 16, 0) if samples else "no data"
    played, checksum = dac()
    check(err is None and len(sent) == blocks * SPB * 4 and wrong is None
          and played == len(sent) and checksum == fnv(sent),
          "iiosrc ! iiodmabufsink: the DAC played the remote ADC's %d bytes "
          "(the counter), checksum 0x%016x" % (len(sent), checksum),
          "error %s; delivered %d bytes (%s); played %d bytes, checksum "
          "0x%016x, want 0x%016x; sink stats %s" % (
              err, len(sent), wrong, played, checksum, fnv(sent),
              st.to_string()))


def test_sink_unknown_channel():
    p, err = play(bytes(64), "channels=voltage0,voltage7", timeout=20)
    p.set_state(Gst.State.NULL)
    want = ("IIO device iio-sim-dac on 'ip:127.0.0.1' has no output channel "
            "'voltage7'. It has: voltage0,voltage1")
    check(err == want, "iiosink: an unknown channel lists the remote's",
          str(err))


def test_sink_iiod_killed():
    timeout_s = 2
    with open("/run/iiosink.raw", "wb") as f:
        f.write(bytes(192000 * 60))
    p = Gst.parse_launch("filesrc location=/run/iiosink.raw ! %s ! iiosink "
                         "name=sink uri=%s device=iio-sim-dac timeout=%d"
                         % (DAC_CAPS, URI, timeout_s * Gst.SECOND))
    blocks, err, took = kill_iiod_midstream(p, "sink", timeout_s)
    played = dac()[0]
    check(blocks >= 5 and played > 0 and err is not None and
          took <= timeout_s + 1 and
          err.startswith("Lost IIO device iio-sim-dac on 'ip:127.0.0.1': ")
          and err.endswith("Did iiod stop or the connection drop?"),
          "iiosink: iiod killed after %d blocks (%d bytes played): '%s' "
          "after %.2f s" % (blocks, played, err, took),
          "want the error within %d s" % (timeout_s + 1))


def test_launch_iiod_killed():
    """gst-launch-1.0 (SIGPIPE as C programs have it) playing to iiosink and
    capturing from iiosrc when iiod dies: an error and exit status 1, not
    death by SIGPIPE (libiio 0.24 sends without MSG_NOSIGNAL)."""
    with open("/run/iiosink.raw", "wb") as f:
        f.write(bytes(192000 * 60))
    for what, pipeline in (
            ("iiosink", "filesrc location=/run/iiosink.raw ! %s ! iiosink "
             "uri=%s device=iio-sim-dac timeout=2000000000" % (DAC_CAPS,
                                                              URI)),
            ("iiosrc", "iiosrc uri=%s device=iio-sim-adc "
             "sampling-frequency=48000 timeout=2000000000 ! fakesink" % URI)):
        start_iiod()
        launch = subprocess.Popen(["gst-launch-1.0", "-q"] + pipeline.split(),
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)
        time.sleep(2)
        stop_iiod(signal.SIGKILL)
        try:
            out = launch.communicate(timeout=20)[0].decode(errors="replace")
        except subprocess.TimeoutExpired:
            launch.kill()
            out = launch.communicate()[0].decode(errors="replace")
        check(launch.returncode == 1 and "Lost IIO device" in out,
              "gst-launch-1.0 ... %s with iiod killed: exit status 1, the "
              "element's error" % what, "exit status %s, output %r" % (
                  launch.returncode, out[-300:]))


def add_sysfs_trigger():
    """sysfstrig7 (Debian's iio-trig-sysfs), before iiod starts: iiod
    lists the devices it finds then. Adding it again fails harmlessly."""
    try:
        with open("/sys/bus/iio/devices/iio_sysfs_trigger/add_trigger",
                  "w") as f:
            f.write("7")
    except OSError:
        pass


def test_triggered():
    """A triggered converter (most SPI and I2C ADCs) scans only on its
    trigger: trigger= selects it through iiod; every scan exact; the
    device's trigger put back at stop. A trigger the remote lacks is an
    error listing the ones it has."""
    current = sysfs("iio-sim-triggered", "trigger/current_trigger")
    now = glob.glob("/sys/bus/iio/devices/trigger*")
    now = [d for d in now if open(d + "/name").read().strip() ==
           "sysfstrig7"][0] + "/trigger_now"
    stop = threading.Event()

    def fire():
        while not stop.is_set():
            with open(now, "w") as f:
                f.write("1")
            time.sleep(0.0005)

    firing = threading.Thread(target=fire)
    firing.start()
    try:
        r = Run("uri=%s device=iio-sim-triggered channels=voltage0,voltage1 "
                "trigger=sysfstrig7 samples-per-block=16 discard-blocks=0 "
                "num-buffers=8" % URI)
    finally:
        stop.set()
        firing.join()
    data = r.data() if r.error is None else b""
    wrong = ramp_mismatch(array.array("H", data), 2, 16, 0) if data else \
        "no data"
    with open(current) as f:
        after = f.read().strip()
    check(r.error is None and len(data) == 8 * 16 * 4 and wrong is None and
          after == "",
          "trigger=sysfstrig7: %d bytes of iio-sim-triggered, every scan "
          "exact, its trigger put back" % len(data),
          "error %s, %d bytes, %s, trigger after '%s'" % (
              r.error, len(data), wrong, after))
    r = Run("uri=%s device=iio-sim-triggered trigger=no-such-trigger "
            "num-buffers=1" % URI, timeout=20)
    check(r.error is not None and r.error.startswith(
        "IIO context 'ip:127.0.0.1' has no trigger 'no-such-trigger'. It "
        "has: ") and "sysfstrig7" in r.error,
        "an unknown trigger lists the remote's", str(r.error))


def main():
    Gst.init(None)
    for d in ("iio-sim-adc", "iio-sim-adc12"):
        with open(sysfs(d, "lossless"), "w") as f:
            f.write("1")
    add_sysfs_trigger()
    test_unreachable()
    start_iiod()
    try:
        for t in (test_out_of_order_start, test_interop, test_capture,
                  test_channel_named_twice,
                  test_capture_adc12, test_negotiated, test_attributes,
                  test_capture_paused, test_capture_flush_restart_stats,
                  test_slow_consumer, test_triggered,
                  test_unknown, test_busy, test_stop_while_waiting,
                  test_play, test_play_paused, test_play_paused_long_blocks,
                  test_play_flushing_seek,
                  test_play_rate,
                  test_stop_while_pushing, test_stop_stalled_dac,
                  test_play_cyclic, test_sink_unknown_channel,
                  test_iiod_killed):
            try:
                t()
            except Exception as e:
                bad("%s raised %r" % (t.__name__, e))
    finally:
        if iiod.poll() is None:
            stop_iiod()
    # iiod anew for the sink's kill tests
    start_iiod()
    try:
        test_sink_iiod_killed()
        test_launch_iiod_killed()
    except Exception as e:
        bad("the iiod kill tests raised %r" % e)
    finally:
        if iiod.poll() is None:
            stop_iiod()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
