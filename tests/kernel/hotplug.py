#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hot-plug in the test VM: a started iiodeviceprovider (as
gst-device-monitor-1.0 runs it) reports the simulated converters as they
go and come, from udev events:

  1. one converter unbound from its driver, then bound again;
  2. the simulators' module unloaded (every converter gone), then loaded;
  3. the ADC announced again and again (udev "change" and "add" events)
     while another process lists the devices over and over, and this one
     starts and stops a capture from the ADC each time: every start
     succeeds with exact data, and the ADC is still said to take DMABUFs
     (the provider learns that from sysfs, never from the device node or
     the buffer, which the captures hold);
  4. the module unloaded and the monitor stopped at once, with udev's
     events for it still coming.

Each time, the removed and added devices must be exactly those that went
and came, with their class; the device that came back must stream (every
sample checked against the simulator's counter). udevd is started here:
the VM has none, and libgudev hears only what udevd passes on."""
import array
import glob
import os
import subprocess
import sys
import threading
import time

import gi
gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

SIM = ["iio-sim-adc", "iio-sim-adc12", "iio-sim-dac", "iio-sim-kfifo",
       "iio-sim-triggered"]
CLASSES = {"iio-sim-dac": "Sink/IIO"}
# what iio.dmabuf says of each: the DMA buffer core takes DMABUFs, kfifo
# and triggered buffers do not
DMABUF = {"iio-sim-adc": "yes", "iio-sim-adc12": "yes", "iio-sim-dac": "yes",
          "iio-sim-kfifo": "no", "iio-sim-triggered": "no"}
STARTS = 60
failures = []


def check(ok, what):
    print(("ok - " if ok else "FAIL: ") + what, flush=True)
    if not ok:
        failures.append(what)


def iio_dir(name):
    for d in glob.glob("/sys/bus/iio/devices/iio:device*"):
        with open(f"{d}/name") as f:
            if f.read().strip() == name:
                return d
    return None


def start_udevd():
    # the guest runs us in a chroot of the host's tree, which systemd's
    # tools otherwise refuse to act in
    env = dict(os.environ, SYSTEMD_IGNORE_CHROOT="1")
    subprocess.run(["/lib/systemd/systemd-udevd", "--daemon"], check=True,
                   env=env)
    subprocess.run(["udevadm", "settle", "--timeout=30"], check=True, env=env)


def sim_module():
    """The iio-sim.ko run-in-vm loaded (its list is in the run directory)."""
    run = [w.split("=", 1)[1] for w in open("/proc/cmdline").read().split()
           if w.startswith("iiovm.run=")][0]
    for path in open(f"{run}/modules").read().split():
        if path.endswith("/iio-sim.ko"):
            return path
    raise SystemExit("iio-sim.ko is not in run-in-vm's module list")


def listing(dev):
    return (dev.get_display_name(), dev.get_device_class())


def collect(monitor, kind, want, timeout=60):
    """Pops the monitor's messages until the DEVICE_<kind> set equals want
    (a set of (name, class)); returns what came, with any extra."""
    bus = monitor.get_bus()
    got = []
    deadline = time.monotonic() + timeout
    while set(got) != want and time.monotonic() < deadline:
        msg = bus.timed_pop_filtered(
            Gst.SECOND, Gst.MessageType.DEVICE_ADDED |
            Gst.MessageType.DEVICE_REMOVED)
        if msg is None:
            continue
        if msg.type == Gst.MessageType.DEVICE_ADDED and kind == "added":
            got.append(listing(msg.parse_device_added()))
        elif msg.type == Gst.MessageType.DEVICE_REMOVED and kind == "removed":
            got.append(listing(msg.parse_device_removed()))
        elif msg.type == Gst.MessageType.DEVICE_ADDED:
            got.append(("added instead", listing(msg.parse_device_added())))
        else:
            got.append(("removed instead",
                        listing(msg.parse_device_removed())))
    # anything else arriving right after (a duplicate) is wrong too
    while True:
        msg = bus.timed_pop_filtered(
            Gst.SECOND, Gst.MessageType.DEVICE_ADDED |
            Gst.MessageType.DEVICE_REMOVED)
        if msg is None:
            return got
        got.append(("then", msg.type == Gst.MessageType.DEVICE_ADDED and
                     listing(msg.parse_device_added()) or
                     listing(msg.parse_device_removed())))


def expected(names):
    return {(n, CLASSES.get(n, "Source/IIO")) for n in names}


def capture_from(device, blocks=10, samples=256):
    """Captures from the monitor's device with the element it makes; checks
    every sample of voltage0 follows the counter (k mod 2^16) on from the
    first."""
    with open(f"{iio_dir('iio-sim-adc')}/lossless", "w") as f:
        f.write("1")
    src = device.create_element("src")
    src.set_property("channels", "voltage0")
    src.set_property("samples-per-block", samples)
    src.set_property("num-buffers", blocks)
    pipeline = Gst.Pipeline()
    sink = Gst.ElementFactory.make("fakesink")
    sink.set_property("signal-handoffs", True)
    sink.set_property("sync", False)
    pipeline.add(src)
    pipeline.add(sink)
    src.link(sink)
    data = bytearray()

    def on_handoff(_sink, buf, _pad):
        data.extend(buf.extract_dup(0, buf.get_size()))

    sink.connect("handoff", on_handoff)
    pipeline.set_state(Gst.State.PLAYING)
    msg = pipeline.get_bus().timed_pop_filtered(
        60 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    copies = src.get_property("stats").get_value("copies")
    pipeline.set_state(Gst.State.NULL)
    if msg is None or msg.type != Gst.MessageType.EOS:
        return msg.parse_error()[0].message if msg else "no EOS in 60 s"
    values = [int.from_bytes(data[i:i + 2], "little")
              for i in range(0, len(data), 2)]
    bad = [i for i, v in enumerate(values)
           if v != (values[0] + i) % 0x10000]
    if len(data) != blocks * samples * 2 or bad:
        return f"{len(data)} bytes, first bad sample at {bad[:1]}"
    return f"{len(data)} bytes exact, {copies} copies"


def dmabuf_reported(monitor, when):
    """Each device's iio.dmabuf is what its buffer can do."""
    said = {d.get_display_name():
            d.get_properties().get_string("iio.dmabuf")
            for d in monitor.get_devices()}
    check(said == DMABUF, f"iio.dmabuf {when}: {said}")


def check_listed_and_streaming(monitor, which):
    """All five listed again, and iio-sim-adc's device captures exact."""
    devices = {d.get_display_name(): d for d in monitor.get_devices()}
    check(set(devices) == set(SIM), f"listed after: {sorted(devices)}")
    if "iio-sim-adc" in devices:
        result = capture_from(devices["iio-sim-adc"])
        check(result == "5120 bytes exact, 0 copies",
              f"{which} streams: {result}")


def main():
    Gst.init(None)
    start_udevd()
    monitor = Gst.DeviceMonitor()
    monitor.add_filter("Source/IIO", None)
    monitor.add_filter("Sink/IIO", None)
    check(monitor.start(), "the monitor starts")
    try:
        follow(monitor)
    except BaseException:
        monitor.stop()
        raise
    # 4. stopped while udev still has events for it: the module unloaded
    # and the monitor stopped on the first removal
    subprocess.run(["busybox", "rmmod", "iio_sim"], check=True)
    # the first removal seen: the others are on their way
    monitor.get_bus().timed_pop_filtered(10 * Gst.SECOND,
                                         Gst.MessageType.DEVICE_REMOVED)
    stopper = threading.Thread(target=monitor.stop, daemon=True)
    stopper.start()
    stopper.join(60)
    check(not stopper.is_alive(),
          "stopping with udev events pending returns (no deadlock)")
    print(f"{len(failures)} failed", flush=True)
    # a stop that hangs would keep the process alive
    os._exit(1 if failures else 0)


def follow(monitor):
    present = {listing(d) for d in monitor.get_devices()}
    check(present == expected(SIM), f"listed at start: {sorted(present)}")
    got = collect(monitor, "added", expected(SIM))
    check(sorted(got) == sorted(expected(SIM)), "announced at start, once each")
    dmabuf_reported(monitor, "at start")

    # 1. one converter unbound from its driver, and bound again
    # /sys/devices/platform/iio-sim.N/iio:deviceM
    platform = os.path.basename(os.path.dirname(os.path.realpath(
        iio_dir("iio-sim-adc"))))
    with open("/sys/bus/platform/drivers/iio-sim/unbind", "w") as f:
        f.write(platform)
    got = collect(monitor, "removed", expected(["iio-sim-adc"]))
    check(got == list(expected(["iio-sim-adc"])),
          f"unbinding {platform}: removed {got}")
    check(iio_dir("iio-sim-adc") is None, "iio-sim-adc is gone from sysfs")
    with open("/sys/bus/platform/drivers/iio-sim/bind", "w") as f:
        f.write(platform)
    got = collect(monitor, "added", expected(["iio-sim-adc"]))
    check(got == list(expected(["iio-sim-adc"])),
          f"binding {platform}: added {got}")
    check_listed_and_streaming(monitor, "the device that came back")

    # 2. the module unloaded, and loaded again
    ko = sim_module()
    subprocess.run(["busybox", "rmmod", "iio_sim"], check=True)
    got = collect(monitor, "removed", expected(SIM))
    check(sorted(got) == sorted(expected(SIM)),
          f"unloading iio-sim: removed {sorted(got)}")
    check(monitor.get_devices() == [], "nothing listed while unloaded")
    subprocess.run(["busybox", "insmod", ko], check=True)
    got = collect(monitor, "added", expected(SIM))
    check(sorted(got) == sorted(expected(SIM)),
          f"loading iio-sim: added {sorted(got)}")
    check_listed_and_streaming(monitor, "the reloaded device")

    # 3. starts while the ADC is announced and listed again and again
    starts_while_probed(monitor)


# Another application listing the devices (gst-device-monitor-1.0 without
# -f, a device chooser): each get_devices() of a provider it has not
# started probes every device. One line per listing: the ADC's iio.dmabuf.
LISTER = """
import os, sys, gi
gi.require_version("Gst", "1.0")
from gi.repository import Gst
Gst.init(None)
provider = Gst.DeviceProviderFactory.get_by_name("iiodeviceprovider")
print("listing", flush=True)
while not os.path.exists(sys.argv[1]):
    said = [d.get_properties().get_string("iio.dmabuf")
            for d in provider.get_devices()
            if d.get_display_name() == "iio-sim-adc"]
    print(said[0] if said else "missing", flush=True)
"""


class HeardEvents:
    """Counts the udev events the started provider handles (its debug line
    "ACTION iio:deviceN" for each) through a GStreamer log function, which
    takes the place of the default one and prints every other message."""

    def __init__(self):
        self.heard = {}
        Gst.debug_remove_log_function(None)
        Gst.debug_add_log_function(self.log, None)

    def log(self, cat, level, file, func, line, obj, msg, *_):
        text = msg.get() or ""
        if cat.get_name() == "iiodeviceprovider" and \
                level == Gst.DebugLevel.DEBUG:
            self.heard[text] = self.heard.get(text, 0) + 1
            return
        print(f"{level.value_nick} {cat.get_name()} {file}:{line}:{func}: "
              f"{text}", file=sys.stderr, flush=True)

    def listen(self, on):
        if on:
            Gst.debug_set_threshold_for_name("iiodeviceprovider",
                                             Gst.DebugLevel.DEBUG)
        else:
            Gst.debug_unset_threshold_for_name("iiodeviceprovider")


def announce(adc, stop, sent):
    """udev events for the ADC, as `udevadm trigger` makes them, until
    @stop is set: the started monitor hears each one."""
    while not stop.is_set():
        for action in ("change", "add"):
            with open(f"{adc}/uevent", "w") as f:
                f.write(action)
            sent[action] = sent.get(action, 0) + 1
        time.sleep(0.01)


def capture_counter(blocks=4, samples=256):
    """One capture of two channels of the ADC from a fresh pipeline:
    None when every sample follows the counter, else what went wrong."""
    pipeline = Gst.parse_launch(
        "iiodmabufsrc device=iio-sim-adc channels=voltage0,voltage1 "
        f"samples-per-block={samples} num-buffers={blocks} ! "
        "fakesink name=sink signal-handoffs=true sync=false")
    data = bytearray()
    pipeline.get_by_name("sink").connect(
        "handoff", lambda _s, buf, _p: data.extend(
            buf.extract_dup(0, buf.get_size())))
    pipeline.set_state(Gst.State.PLAYING)
    msg = pipeline.get_bus().timed_pop_filtered(
        60 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    pipeline.set_state(Gst.State.NULL)
    if msg is None:
        return "no EOS in 60 s"
    if msg.type == Gst.MessageType.ERROR:
        return msg.parse_error()[0].message
    if len(data) != blocks * samples * 4:
        return f"{len(data)} bytes, not {blocks * samples * 4}"
    values = array.array("H", bytes(data))
    for i, v in enumerate(values):
        scan, c = divmod(i, 2)
        if v != (values[0] + scan + 0x100 * c) & 0xffff:
            return f"scan {scan} channel {c} holds 0x{v:x}"
    return None


def starts_while_probed(monitor):
    adc = iio_dir("iio-sim-adc")
    with open(f"{adc}/lossless", "w") as f:
        f.write("1")
    stop_file = "/run/hotplug-lister-stop"
    if os.path.exists(stop_file):
        os.unlink(stop_file)
    lister = subprocess.Popen([sys.executable, "-c", LISTER, stop_file],
                              stdout=subprocess.PIPE, text=True)
    check(lister.stdout.readline() == "listing\n", "the lister runs")
    stop, sent = threading.Event(), {}
    events = HeardEvents()
    events.listen(True)
    announcer = threading.Thread(target=announce, args=(adc, stop, sent))
    announcer.start()
    failed = {}
    try:
        for _ in range(STARTS):
            why = capture_counter()
            if why:
                failed[why] = failed.get(why, 0) + 1
    finally:
        stop.set()
        announcer.join()
        open(stop_file, "w").close()
        listed = lister.communicate(timeout=120)[0].split()
    check(not failed, f"{STARTS} starts while probed: "
          f"{STARTS - sum(failed.values())} exact, failed: {failed}")
    said = {v: listed.count(v) for v in set(listed)}
    check(len(listed) > 0 and set(listed) == {"yes"},
          f"another process's {len(listed)} listings say of the ADC: {said}")
    # the last may still be on their way through udevd
    name = os.path.basename(adc)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(
            events.heard.get(f"{a} {name}", 0) < n for a, n in sent.items()):
        time.sleep(0.1)
    events.listen(False)
    heard = {a: events.heard.get(f"{a} {name}", 0) for a in sent}
    # all of them, unless a socket's buffer overflowed on a loaded host
    check(all(0 < heard[a] <= sent[a] for a in ("change", "add")),
          f"the started provider handled the udev events: sent {sent}, "
          f"handled {heard}")
    # the events were of devices already listed: no news
    got = collect(monitor, "added", set(), timeout=0)
    check(got == [], f"nothing added or removed by them: {got}")
    check_listed_and_streaming(monitor, "the ADC after")
    dmabuf_reported(monitor, "after")


if __name__ == "__main__":
    sys.exit(main())
