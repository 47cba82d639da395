#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hot-plug in the test VM: a started iiodeviceprovider (as
gst-device-monitor-1.0 runs it) reports the simulated converters as they
go and come, from udev events:

  1. one converter unbound from its driver, then bound again;
  2. the simulators' module unloaded (every converter gone), then loaded;
  3. the module unloaded and the monitor stopped at once, with udev's
     events for it still coming.

Each time, the removed and added devices must be exactly those that went
and came, with their class; the device that came back must stream (every
sample checked against the simulator's counter). udevd is started here:
the VM has none, and libgudev hears only what udevd passes on."""
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
    # 3. stopped while udev still has events for it: the module unloaded
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


if __name__ == "__main__":
    sys.exit(main())
