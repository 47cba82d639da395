#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Run by run-in-vm --module tests/vm/example-driver: the driver built from
# that directory is loaded and its IIO device answers.
set -eu

for d in /sys/bus/iio/devices/iio:device*; do
  [ "$(cat "$d/name")" = iio-example ] || continue
  raw=$(cat "$d/in_voltage0_raw")
  if [ "$raw" = 42 ]; then
    echo "ok - iio-example from --module is loaded and reads $raw"
    echo "1 passed, 0 failed"
    exit 0
  fi
  echo "FAIL: iio-example reads '$raw', want 42"
  exit 1
done
echo "FAIL: no iio-example device: the --module driver was not loaded"
exit 1
