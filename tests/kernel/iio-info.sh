#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# A peer we did not write (libiio's iio_info) must see the simulated
# converters as real IIO devices, with their channels and formats.
set -eu

out=$(iio_info)
fail=0

# expect DEVICE CHANNEL DIRECTION FORMAT
expect () {
  section=$(printf '%s\n' "$out" | awk -v dev="$1" '
    /^\tiio:device[0-9]+: / { on = ($2 == dev) }
    on')
  if ! printf "%s\n" "$section" | grep -q "^[[:space:]]*$2: *($3, index: [0-9]*, format: $4)"; then
    echo "FAIL: iio_info does not show $1 $2 as $3 $4"
    fail=1
  fi
}

for c in 0 1 2 3; do expect iio-sim-adc voltage$c input 'le:S16/16>>0'; done
expect iio-sim-adc timestamp input 'le:S64/64>>0'
for c in 0 1 2; do expect iio-sim-adc12 voltage$c input 'le:s12/16>>4'; done
for c in 0 1; do expect iio-sim-dac voltage$c output 'le:S16/16>>0'; done
for c in 0 1; do expect iio-sim-kfifo voltage$c input 'le:S16/16>>0'; done
for c in 0 1; do expect iio-sim-triggered voltage$c input 'le:S16/16>>0'; done
expect iio-sim-triggered timestamp input 'le:S64/64>>0'

devices=$(printf '%s\n' "$out" | grep -c '^	iio:device[0-9]*: iio-sim-.* (buffer capable)')
if [ "$devices" -ne 5 ]; then
  echo "FAIL: iio_info lists $devices buffer-capable iio-sim devices, want 5"
  fail=1
fi

if [ $fail -ne 0 ]; then
  printf '%s\n' "$out"
  echo "0 passed, 1 failed"
  exit 1
fi
echo "ok - iio_info lists the 5 simulated devices with 16 channels"
echo "1 passed, 0 failed"
