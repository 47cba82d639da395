#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The embedding examples (docs/examples) as an application runs them:
# 20 blocks captured, the stats read, and a bad device reported as an
# error that names the devices present.
#   embedding.sh CAPTURE_BINARY CAPTURE_PY
set -u
c=$1 py=$2 fail=0 passed=0
want_bytes=$((20 * 4096 * 4))   # default samples-per-block, 2 s16 channels

check () {  # NAME COMMAND...
  name=$1; shift
  out=$("$@" iio-sim-adc voltage0,voltage1 20 2>&1); rc=$?
  if [ $rc -eq 0 ] && printf '%s' "$out" | grep -q "captured 20 blocks, $want_bytes bytes" \
     && printf '%s' "$out" | grep -q "copies=(guint64)0"; then
    passed=$((passed + 1)); echo "ok - $name: $(printf '%s' "$out" | head -n 1)"
  else
    fail=$((fail + 1)); echo "FAIL: $name captured: rc $rc"; printf '%s\n' "$out"
  fi
  out=$("$@" no-such-device voltage0 20 2>&1); rc=$?
  if [ $rc -eq 1 ] && printf '%s' "$out" | grep -q "No IIO device 'no-such-device'.*iio-sim-adc"; then
    passed=$((passed + 1)); echo "ok - $name reports: $out"
  else
    fail=$((fail + 1)); echo "FAIL: $name with a bad device: rc $rc"; printf '%s\n' "$out"
  fi
}

check "C example" "$c"
# Debian's interpreter, the one with python3-gi (not a pyenv one first in PATH)
check "Python example" /usr/bin/python3 "$py"
echo "$passed passed, $fail failed"
[ $fail -eq 0 ]
