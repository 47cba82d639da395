#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The recipes of docs/cookbook.md, run as written against the simulated
# converters, each checked by the bytes that came out.
#   cookbook.sh COOKBOOK_MD
#
# A recipe is a block opened by a line "```sh cookbook=NAME". It runs with
# sh, with the board's names replaced by the VM's (my-adc, my-dac,
# my-spi-adc, the receiver 192.0.2.10, /mnt/share) and, where an
# iiodmabufsrc has no num-buffers, one added so that it ends. Files go to
# /run (the VM's own tmpfs: DMABUF pages written straight to the 9p share
# fail), but for the recipe that writes to a share through a pipe.
set -u
doc=$(realpath "$1")
work=/run/cookbook
fail=0 passed=0
blocks=20                       # num-buffers added to a capture
spb=4096                        # the default samples-per-block

rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
# /mnt/share: a directory on the host's /tmp, a 9p share in the VM
share=$(mktemp -d /tmp/cookbook-share.XXXXXX) || exit 1
trap 'rm -rf "$share"' EXIT

ok () { passed=$((passed + 1)); echo "ok - $*"; }
bad () { fail=$((fail + 1)); echo "FAIL: $*"; }

# --- the recipes -------------------------------------------------------------

known="wav flac raw share rtp-send rtp-receive tee loopback play-file cyclic triggered"

# recipe NAME: the block's lines, continuation lines joined
recipe () {
  awk -v open="\`\`\`sh cookbook=$1" '
    $0 == open { on = 1; next }
    on && /^```/ { exit }
    on { print }' "$doc" | sed -e ':a' -e '/\\$/N' -e 's/\\\n//' -e 'ta'
}

# for_vm TEXT: the VM's devices and a num-buffers limit
for_vm () {
  printf '%s\n' "$1" | sed -e 's/\bmy-adc\b/iio-sim-adc/g' \
    -e 's/\bmy-dac\b/iio-sim-dac/g' -e 's/\bmy-spi-adc\b/iio-sim-triggered/g' \
    -e 's/192\.0\.2\.10/127.0.0.1/g' -e "s|/mnt/share/|$share/|g" |
    awk -v n="$blocks" '/iiodmabufsrc/ && !/num-buffers=/ {
      sub(/iiodmabufsrc /, "iiodmabufsrc num-buffers=" n " ") } { print }'
}

# run NAME: runs the recipe to its end (2 minutes at most), output in NAME.log
run () {
  cmd=$(for_vm "$(recipe "$1")")
  if [ -z "$cmd" ]; then bad "$1: no such recipe in $doc"; return 1; fi
  timeout -s INT -k 10 120 sh -c "$cmd" > "$1.log" 2>&1
  rc=$?
  if [ $rc -ne 0 ]; then
    bad "$1 exited with $rc:"; printf '  %s\n' "$cmd"; tail -n 20 "$1.log"
    return 1
  fi
}

# start NAME: the recipe in the background; its pid in $bg
start () {
  cmd=$(for_vm "$(recipe "$1")")
  sh -c "exec $cmd" > "$1.log" 2>&1 &
  bg=$!
}

# stop PID NAME: as Ctrl-C does, then waits (20 s at most)
stop () {
  kill -INT "$1" 2>/dev/null
  i=0
  while kill -0 "$1" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
  if kill -0 "$1" 2>/dev/null; then
    kill -KILL "$1"; bad "$2 did not stop on SIGINT"; tail -n 20 "$2.log"
  fi
  wait "$1" 2>/dev/null
}

# wait_for NAME TEXT: until TEXT is in NAME.log (60 s at most)
wait_for () {
  i=0
  while ! grep -q "$2" "$1.log" && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
  grep -q "$2" "$1.log"
}

# --- the devices -------------------------------------------------------------

sysfs () {  # DEVICE-NAME ATTR: its path
  for d in /sys/bus/iio/devices/*; do
    [ "$(cat "$d/name" 2>/dev/null)" = "$1" ] && { echo "$d/$2"; return; }
  done
}
dac () { cat "$(sysfs iio-sim-dac "$1")"; }

# Exact data: the simulated ADCs wait for a late reader instead of
# dropping samples (docs/testing.md).
for d in iio-sim-adc iio-sim-adc12 iio-sim-kfifo; do
  echo 1 > "$(sysfs $d lossless)"
done

# --- what came out -----------------------------------------------------------

# check.py: the simulated ADC makes sample k of channel c as
# (k + 256 c) mod 2^16, from k = 0, 16-bit little-endian, interleaved
# (read() drops its first blocks: "wav ... any" takes any first k).
cat > check.py <<'EOF'
import array, struct, sys

def ramp(channels, scans, start=0):
    return array.array("H", ((start + k + 256 * c) & 0xffff
                             for k in range(scans)
                             for c in range(channels))).tobytes()

def same(what, data, want):
    if data == want:
        return True
    n = min(len(data), len(want))
    at = next((i for i in range(n) if data[i] != want[i]), n)
    print("%s: %d bytes, want %d; first difference at byte %d" %
          (what, len(data), len(want), at))
    return False

def fnv(data, times=1):
    h = 0xcbf29ce484222325
    for _ in range(times):
        for b in data:
            h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return h

cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "raw":                    # FILE CHANNELS SCANS
    data = open(args[0], "rb").read()
    sys.exit(0 if same(args[0], data, ramp(int(args[1]), int(args[2]))) else 1)
if cmd == "wav":                    # FILE CHANNELS RATE SCANS [any]
    riff = open(args[0], "rb").read()
    chunks, at = {}, 12             # after "RIFF", its size, "WAVE"
    while riff[:4] == b"RIFF" and riff[8:12] == b"WAVE" and at + 8 <= len(riff):
        size = struct.unpack_from("<I", riff, at + 4)[0]
        chunks[riff[at:at + 4]] = riff[at + 8:at + 8 + size]
        at += 8 + size + (size & 1)
    fmt, data = chunks.get(b"fmt "), chunks.get(b"data")
    if not fmt or data is None:
        print("%s: not a WAV file with a fmt and a data chunk" % args[0])
        sys.exit(1)
    tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", fmt)
    got = (tag in (1, 0xfffe), channels, rate, bits)
    want = (True, int(args[1]), int(args[2]), 16)
    if got != want:
        print("%s: PCM, channels, rate, bits %s, want %s" % (args[0], got, want))
        sys.exit(1)
    start = struct.unpack_from("<H", data)[0] if args[4:] == ["any"] and data \
        else 0
    sys.exit(0 if same(args[0], data, ramp(int(args[1]), int(args[3]), start))
             else 1)
if cmd == "fnv-ramp":               # CHANNELS SCANS
    print("0x%016x" % fnv(ramp(int(args[0]), int(args[1]))))
if cmd == "fnv-repeat":             # FILE BYTES: FILE repeated to BYTES
    data = open(args[0], "rb").read()
    total = int(args[1])
    if not data or total % len(data):
        print("%d bytes are not a whole number of %d-byte waveforms" %
              (total, len(data)))
        sys.exit(1)
    print("0x%016x" % fnv(data, total // len(data)))
EOF
py () { /usr/bin/python3 "$work/check.py" "$@"; }

# dac_played WHAT BYTES CHECKSUM: the DAC's counters
dac_played () {
  got_bytes=$(dac consumed_bytes) got_sum=$(dac checksum)
  if [ "$got_bytes" = "$2" ] && [ "$got_sum" = "$3" ]; then
    ok "$1: the DAC played $2 bytes, checksum $3"
  else
    bad "$1: the DAC played $got_bytes bytes, checksum $got_sum; want $2, $3"
  fi
}

# --- the checks --------------------------------------------------------------

check_wav () {
  run wav || return
  if py wav capture.wav 2 48000 $((blocks * spb)); then
    ok "wav: capture.wav holds $((blocks * spb)) exact scans of 2 channels at 48 kHz"
  else bad "wav: capture.wav"; fi
}

check_flac () {
  run flac || return
  if gst-launch-1.0 -q filesrc location=capture.flac ! flacparse ! flacdec \
      ! audio/x-raw,format=S16LE,channels=2 ! filesink location=flac.raw \
      > flac-decode.log 2>&1 && py raw flac.raw 2 $((blocks * spb)); then
    ok "flac: capture.flac decodes to $((blocks * spb)) exact scans"
  else bad "flac: capture.flac"; cat flac-decode.log; fi
}

check_raw () {
  run raw || return
  size=$(stat -c %s capture.raw)
  if [ "$size" -eq $((blocks * 8192 * 8)) ] \
      && py raw capture.raw 4 $((blocks * 8192)); then
    ok "raw: capture.raw is $size bytes, every sample of 4 channels exact"
  else bad "raw: capture.raw is $size bytes, want $((blocks * 8192 * 8))"; fi
}

check_share () {
  run share || return
  size=$(stat -c %s "$share/capture.raw")
  if [ "$size" -eq $((blocks * spb * 4)) ] \
      && py raw "$share/capture.raw" 2 $((blocks * spb)); then
    ok "share: capture.raw on the 9p share is $size bytes, every sample exact"
  else
    bad "share: capture.raw on the 9p share is $size bytes, want $((blocks * spb * 4))"
  fi
}

check_rtp () {
  start rtp-receive
  rx=$bg
  # listening once it plays (the socket is bound before)
  if ! wait_for rtp-receive "New clock"; then
    bad "rtp-receive did not start"; stop $rx rtp-receive; cat rtp-receive.log
    return
  fi
  run rtp-send
  sleep 1                       # the last packets on their way
  stop $rx rtp-receive
  if py wav received.wav 2 48000 $((blocks * 480)); then
    ok "rtp: received.wav holds the $((blocks * 480 * 4)) bytes sent, in order"
  else bad "rtp: received.wav"; tail -n 20 rtp-receive.log; fi
}

check_tee () {
  run tee || return
  if py wav tee.wav 2 48000 $((blocks * spb)) \
      && py raw tee.raw 2 $((blocks * spb)) && grep -q 'level, .*rms=' tee.log; then
    ok "tee: tee.wav and tee.raw hold the same $((blocks * spb)) exact scans;" \
      "level reports"
  else bad "tee: the files or the level messages"; fi
}

check_loopback () {
  run loopback || return
  dac_played loopback $((blocks * spb * 4)) "$(py fnv-ramp 2 $((blocks * spb)))"
}

check_play_file () {
  if [ ! -f capture.wav ]; then
    bad "play-file: no capture.wav from the wav recipe"; return
  fi
  run play-file || return
  dac_played play-file $((blocks * spb * 4)) "$(py fnv-ramp 2 $((blocks * spb)))"
}

# cyclic_once MODE: plays the recipe for a while on a DAC that repeats a
# cyclic block (cyclic_repeat=1) or plays it once (0)
cyclic_once () {
  echo "$1" > "$(sysfs iio-sim-dac cyclic_repeat)"
  start cyclic
  pid=$bg
  # playing (the counters were reset when the DAC started), and SIGINT
  # handled from then on; then half a second of output (192000 bytes/s)
  wait_for cyclic "New clock"
  i=0
  while [ "$(dac consumed_bytes)" -lt 96000 ] && [ $i -lt 600 ] \
      && kill -0 $pid 2>/dev/null; do
    sleep 0.1; i=$((i + 1))
  done
  repeats=$(dac cyclic_repeats)
  stop $pid cyclic
  echo 0 > "$(sysfs iio-sim-dac cyclic_repeat)"
  played=$(dac consumed_bytes)
  if [ "$played" -lt 96000 ]; then
    bad "cyclic ($2): the DAC played $played bytes"; tail -n 20 cyclic.log; return
  fi
  if [ "$1" = 1 ] && [ "$repeats" -eq 0 ]; then
    bad "cyclic ($2): the DAC did not repeat the block"; return
  fi
  dac_played "cyclic ($2)" "$played" "$(py fnv-repeat wave.raw "$played")"
}

check_cyclic () {
  # the waveform itself: the recipe's producer into a file
  producer=$(recipe cyclic | sed 's/ *! *iiodmabufsink .*//')
  if ! sh -c "$producer ! filesink location=wave.raw" > wave.log 2>&1 \
      || [ "$(stat -c %s wave.raw)" -ne 192 ]; then
    bad "cyclic: the waveform is not one 192-byte period"; cat wave.log; return
  fi
  cyclic_once 0 "repeated by the sink"
  cyclic_once 1 "repeated by the DAC"
}

check_triggered () {
  run triggered
  rc=$?
  current=$(cat "$(sysfs iio-sim-triggered trigger/current_trigger)")
  rmdir /sys/kernel/config/iio/triggers/hrtimer/t1 2>/dev/null
  [ $rc -eq 0 ] || return
  size=$(stat -c %s triggered.raw)
  if [ "$size" -eq $((blocks * 100 * 4)) ] \
      && py raw triggered.raw 2 $((blocks * 100)) && [ -z "$current" ]; then
    ok "triggered: triggered.raw is $size bytes, every scan exact;" \
      "no trigger left selected"
  else
    bad "triggered: triggered.raw is $size bytes (want $((blocks * 400)))," \
      "trigger '$current'"
  fi
}

# --- the user guide's board set-up -------------------------------------------

guide=$(dirname "$doc")/user-guide.md

# rules: the udev rules of the user guide, one a line
rules () {
  awk 'index($0, "```udev setup=rules") == 1 { on = 1; next }
    on && /^```/ { exit }
    on && !/^#/ { print }' "$guide" | sed -e ':a' -e '/\\$/N' -e 's/\\\n *//' -e 'ta'
}

# value KEY RULE: what the rule gives KEY (KERNEL==, GROUP=, RUN+=, ...)
value () {
  printf '%s\n' "$2" | sed -n "s/.*\(^\|[ ,]\)$1\"\([^\"]*\)\".*/\2/p"
}

# apply_rules SUBSYSTEM: what udev does with the rules for the devices of
# SUBSYSTEM: GROUP and MODE on the node, RUN with %p the device's path
apply_rules () {
  case $1 in
    iio) class=/sys/bus/iio/devices ;;
    dma_heap) class=/sys/class/dma_heap ;;
  esac
  rules | grep "SUBSYSTEM==\"$1\"" > "rules-$1"
  [ -s "rules-$1" ] || { bad "set-up: no rule for $1 in $guide"; return 1; }
  while IFS= read -r rule; do
    kernel=$(value KERNEL== "$rule") group=$(value GROUP= "$rule")
    mode=$(value MODE= "$rule") cmd=$(value RUN+= "$rule")
    for dev in "$class"/*; do
      name=${dev##*/} devpath=$(realpath "$dev")
      # shellcheck disable=SC2254 # the rule's pattern
      case $name in ${kernel:-*}) ;; *) continue ;; esac
      node=/dev/$name
      [ "$1" = dma_heap ] && node=/dev/dma_heap/$name
      if [ -e "$node" ]; then
        [ -z "$group" ] || chgrp "$group" "$node" || return 1
        [ -z "$mode" ] || chmod "$mode" "$node" || return 1
      fi
      if [ -n "$cmd" ]; then
        run_cmd=$(printf '%s' "${cmd#* -c }" | sed -e "s/^'//" -e "s/'$//" \
          -e "s|%p|${devpath#/sys}|g")
        ${cmd%% *} -c "$run_cmd" || return 1
      fi
    done
  done < "rules-$1"
}

# as_user NAME: the recipe as user nobody in the user guide's groups
as_user () {
  cmd=$(for_vm "$(recipe "$1")")
  (cd user && setpriv --reuid=nobody --regid=nogroup --init-groups \
    env HOME="$work/user" GST_REGISTRY="$work/user/registry.bin" \
    timeout -s INT -k 10 120 sh -c "$cmd") > "user-$1.log" 2>&1
}

# A user in the groups of the user guide (groupadd and usermod, in a copy
# of /etc/group: the VM's root is read-only) fails without the udev rules,
# with the errors of the troubleshooting table; with the IIO rules alone
# captures with read() (no DMA heap, udmabuf or DRM node of its own), told
# so; and captures every sample through DMABUFs with them all.
no_node="Cannot open /dev/iio:device[0-9]* (IIO device iio-sim-adc): \
Permission denied; run as root or add a udev rule giving your user access"
no_dmabuf="No DMABUF can be made here, so IIO device iio-sim-adc moves its \
data with read() (a copy)"
no_heap="Permission denied (give your user access with a udev rule: \
SUBSYSTEM==\"dma_heap\", KERNEL==\"system\", GROUP=\"video\""

check_setup () {
  awk -F: -v OFS=: '$1 == "video" { $4 = $4 ($4 == "" ? "" : ",") "nobody" }
    { print } END { print "iio:x:4242:nobody" }' /etc/group > group
  mount --bind "$work/group" /etc/group || { bad "set-up: no group iio"; return; }
  mkdir -p user && chmod 1777 user
  if [ -f "${GST_REGISTRY:-}" ]; then
    cp "$GST_REGISTRY" user/registry.bin && chmod 666 user/registry.bin
  fi
  if ! as_user wav && grep -q "$no_node" user-wav.log; then
    ok "set-up: without the rules, a user may not open the device, and is told so"
  else bad "set-up: without the rules:"; tail -n 12 user-wav.log; fi
  apply_rules iio || bad "set-up: the iio rules failed"
  # no DMABUF for this user: read(), and a warning that says what to do
  if as_user wav && grep -qF "$no_dmabuf" user-wav.log \
      && grep -qF "$no_heap" user-wav.log \
      && py wav user/capture.wav 2 48000 $((blocks * spb)) any; then
    ok "set-up: with the iio rules alone, no DMA heap: the user captures" \
      "$((blocks * spb)) exact scans with read(), and is told what to do"
  else bad "set-up: with the iio rules alone:"; tail -n 12 user-wav.log; fi
  apply_rules dma_heap || bad "set-up: the dma_heap rule failed"
  if as_user wav && py wav user/capture.wav 2 48000 $((blocks * spb)); then
    ok "set-up: with the rules, user nobody (groups iio, video) captures" \
      "$((blocks * spb)) exact scans"
  else bad "set-up: with the rules:"; tail -n 12 user-wav.log; fi
  umount /etc/group
}

# --- the cookbook itself -----------------------------------------------------

listed=$(sed -n 's/^```sh cookbook=\(.*\)$/\1/p' "$doc" | sort | tr '\n' ' ')
# shellcheck disable=SC2086 # one name a line
expected=$(printf '%s\n' $known | sort | tr '\n' ' ')
if [ "$listed" = "$expected" ]; then
  ok "the cookbook's recipes are the ones checked here: $listed"
else
  bad "the cookbook has recipes '$listed'; checked here: '$expected'"
fi

check_wav
check_flac
check_raw
check_share
check_rtp
check_tee
check_loopback
check_play_file
check_cyclic
check_triggered
check_setup

echo "$passed passed, $fail failed"
[ $fail -eq 0 ]
