#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Debian package as a board gets it: installed with dpkg -i, then used
# from GStreamer's own plugin directory with nothing pointing at it (no
# GST_PLUGIN_PATH, the registry where GStreamer keeps it by default).
#   package.sh DEB CAPTURE_EXAMPLE
# Runs in a VM whose root is a scratch overlay (run-in-vm --scratch-root):
# the host's root, or the cached ARM one, is never written.
set -u
deb=$1 capture=$(readlink -f "$2")   # before the cd below
work=/run/package
fail=0 passed=0
blocks=8 spb=4096 channels=4    # iiodmabufsrc's defaults: all but timestamp
package=gstreamer1.0-iiodmabuf

ok () { passed=$((passed + 1)); echo "ok - $*"; }
bad () { fail=$((fail + 1)); echo "FAIL: $*"; }
finish () { echo "$passed passed, $fail failed"; [ $fail -eq 0 ] && [ $passed -gt 0 ]; exit; }

if [ ! -f "$deb" ]; then
  bad "no package at $deb: build it first (dpkg-buildpackage, as scripts/check does)"
  finish
fi
if ! grep -q '^overlay / overlay ' /proc/mounts; then
  bad "the root is not a scratch overlay (run-in-vm --scratch-root): not installing"
  finish
fi

# Nothing of the build or the test environment leads GStreamer to a plugin;
# a fresh HOME holds the registry, where GStreamer puts it by default.
unset GST_PLUGIN_PATH GST_PLUGIN_PATH_1_0 GST_PLUGIN_SYSTEM_PATH \
  GST_PLUGIN_SYSTEM_PATH_1_0 GST_REGISTRY GST_REGISTRY_1_0 XDG_CACHE_HOME
rm -rf "$work" && mkdir -p "$work/home" && cd "$work" || exit 1
export HOME=$work/home

# filename PLUGIN-OR-ELEMENT: the file GStreamer loads it from, its real
# path (GStreamer names it after the libgstreamer it runs, which the
# dynamic linker found in /lib, a link to /usr/lib)
filename () {
  f=$(gst-inspect-1.0 "$1" 2>&1 | sed -n 's/^ *Filename *//p')
  [ -n "$f" ] && readlink -f "$f"
}

# GStreamer's own plugin directory: where its core elements are
coredir=$(filename coreelements)
coredir=${coredir%/*}
case "$coredir" in
  /usr/lib/*-linux-gnu*/gstreamer-1.0) ;;
  *) bad "GStreamer's core elements are not in /usr/lib/<triplet>/gstreamer-1.0 but '$coredir'"; finish ;;
esac

# A plugin the root already has (amd64 guests run the host's root: the
# package, or a meson install into /usr) goes first, in the overlay only.
if dpkg-query -W -f '${Status}' $package 2>/dev/null | grep -q ' installed$'; then
  echo "# removing the root's own $package (in the overlay)"; dpkg -r $package > /dev/null
fi
if [ -e "$coredir/libgstiiodmabuf.so" ]; then
  echo "# removing the root's own $coredir/libgstiiodmabuf.so (in the overlay)"
  rm -f "$coredir/libgstiiodmabuf.so"
fi
if gst-inspect-1.0 iiodmabufsrc > before.log 2>&1; then
  bad "iiodmabufsrc is found before the package is installed:"; cat before.log
  finish
fi

if dpkg -i "$deb" > dpkg.log 2>&1 &&
    [ "$(dpkg-query -W -f '${Status}' $package)" = "install ok installed" ]; then
  ok "dpkg -i $(basename "$deb"): $package $(dpkg-query -W -f '${Version} ${Architecture}' $package) installed"
else
  bad "dpkg -i $deb:"; cat dpkg.log
  finish
fi

plugin=$coredir/libgstiiodmabuf.so
if dpkg -L $package | grep -qx "$plugin"; then
  ok "the package holds $plugin"
else
  bad "the package does not hold $plugin:"; dpkg -L $package
fi

for element in iiodmabufsrc iiodmabufsink; do
  file=$(filename $element)
  if [ "$file" = "$plugin" ]; then
    ok "gst-inspect-1.0 $element: loaded from $file"
  else
    bad "gst-inspect-1.0 $element: from '$file', want $plugin"
    gst-inspect-1.0 $element 2>&1 | head -n 20
  fi
done
registry=$(ls "$HOME"/.cache/gstreamer-1.0/registry.*.bin 2>/dev/null)
if [ -n "$registry" ]; then
  ok "GStreamer's registry is where it keeps it by default: $registry"
else
  bad "no registry in $HOME/.cache/gstreamer-1.0"
fi

# Exact data: the simulated ADC waits for a late reader (docs/testing.md).
for d in /sys/bus/iio/devices/*; do
  [ "$(cat "$d/name" 2>/dev/null)" = iio-sim-adc ] && echo 1 > "$d/lossless"
done

# A capture to a file (the VM's /run: DMABUF pages written to 9p hang).
# Sample k of channel c is (k + 256 c) mod 2^16, from k = 0, interleaved.
want=$((blocks * spb * channels * 2))
if gst-launch-1.0 -q iiodmabufsrc device=iio-sim-adc num-buffers=$blocks \
    ! filesink location=capture.raw > launch.log 2>&1; then
  size=$(stat -c %s capture.raw)
  wrong=$(od -An -v -tu2 -w$((channels * 2)) capture.raw | awk -v n=$channels '
    { for (c = 0; c < n; c++) if ($(c + 1) != (NR - 1 + 256 * c) % 65536) {
        printf "scan %d channel %d holds %d, want %d\n", NR - 1, c, $(c + 1),
          (NR - 1 + 256 * c) % 65536; exit } }')
  if [ "$size" -eq $want ] && [ -z "$wrong" ]; then
    ok "gst-launch-1.0 iiodmabufsrc ! filesink: $size bytes, every sample of $channels channels exact"
  else
    bad "capture.raw: $size bytes (want $want); ${wrong:-the samples are right}"
  fi
else
  bad "gst-launch-1.0 iiodmabufsrc device=iio-sim-adc ! filesink failed:"; cat launch.log
fi

# An application (docs/examples/capture.c) finds it too, and its blocks
# are DMABUFs, pushed without a copy.
out=$("$capture" iio-sim-adc voltage0,voltage1 20 2>&1)
origin=$(printf '%s\n' "$out" | sed -n 's/.*dmabuf-origin=(string)\([a-z-]*\).*/\1/p')
if printf '%s' "$out" | grep -q "captured 20 blocks, $((20 * spb * 4)) bytes" &&
    printf '%s' "$out" | grep -q 'copies=(guint64)0,' &&
    printf '%s' "$out" | grep -q 'io-mode=(string)dmabuf' &&
    [ -n "$origin" ] && [ "$origin" != none ]; then
  ok "capture example: 20 blocks in DMABUFs from $origin, no copy"
else
  bad "capture example:"; printf '%s\n' "$out"
fi

if dpkg -r $package > remove.log 2>&1 && ! gst-inspect-1.0 iiodmabufsrc >/dev/null 2>&1 &&
    [ ! -e "$plugin" ]; then
  ok "dpkg -r: the plugin is gone, and GStreamer no longer finds iiodmabufsrc"
else
  bad "dpkg -r $package:"; cat remove.log
fi
finish
