#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# How the project builds for others, on a copy of the source tree in a
# temporary directory, offline:
#
#   check-meson.sh install     a build configured with GStreamer's prefix
#                              (--prefix=/usr on Debian) installs
#                              (meson install --destdir) exactly the
#                              plugins (ours, and the libiio one where
#                              libiio is found), in GStreamer's pluginsdir,
#                              and GStreamer loads ours from there
#   check-meson.sh subproject  tests/meson/parent builds the project as a
#                              subproject: the parent's tests (GStreamer loads
#                              the plugin it got through get_variable) pass,
#                              its test list holds none of ours, and its
#                              meson install installs only the plugins
#
# Environment (tests/meson.build sets it): IIODMABUF_SOURCE_ROOT, MESON,
# GST_INSPECT, GST_PREFIX, GST_PLUGINSDIR, IIODMABUF_PLUGIN_FILES (the
# plugin files a default build installs).
set -u -o pipefail

mode=${1:?usage: check-meson.sh install|subproject}
src=${IIODMABUF_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
meson=${MESON:-meson}
gst_inspect=${GST_INSPECT:-gst-inspect-1.0}
prefix=${GST_PREFIX:-$(pkg-config --variable=prefix gstreamer-1.0)}
pluginsdir=${GST_PLUGINSDIR:-$(pkg-config --variable=pluginsdir gstreamer-1.0)}
plugin_file=libgstiiodmabuf.so
plugin_files=${IIODMABUF_PLUGIN_FILES:-$plugin_file}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/iiodmabuf-meson.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

ok () { passed=$((passed + 1)); echo "ok - $*"; }
fail () { failed=$((failed + 1)); echo "FAIL: $*"; }
finish () { echo "$passed passed, $failed failed"; [ $failed -eq 0 ]; exit; }

run () {  # LOG COMMAND...: run it, its output in LOG, shown if it fails
  local log=$1 rc=0; shift
  "$@" >"$log" 2>&1 || rc=$?
  [ $rc -eq 0 ] && return 0
  fail "$* (exit $rc), the end of its output:"; tail -n 25 "$log" | sed 's/^/    /'
  return 1
}

# The source tree as a clone would have it: tracked and new files, nothing
# git ignores (build directories, downloaded subprojects). Outside git
# (a release tarball): everything but build directories.
copy_tree () {  # DEST
  mkdir -p "$1"
  if [ "$(git -C "$src" rev-parse --show-toplevel 2>/dev/null)" = "$src" ]; then
    git -C "$src" ls-files -z --cached --others --exclude-standard |
      while IFS= read -r -d '' f; do
        if [ -e "$src/$f" ] || [ -L "$src/$f" ]; then printf '%s\0' "$f"; fi
      done | tar -C "$src" --null -T - -cf - | tar -C "$1" -xf -
  else
    tar -C "$src" --exclude=./.git --exclude-tag-all=build.ninja \
      --exclude=./subprojects/gstreamer --exclude=./subprojects/packagecache \
      -cf - . | tar -C "$1" -xf -
  fi
}

# Exactly the plugins under DESTDIR, at GStreamer's plugin directory.
check_installed () {  # WHAT DESTDIR
  local files want
  files=$(cd "$2" && find . ! -type d | sed 's,^\.,,' | sort)
  want=$(for f in $plugin_files; do echo "$pluginsdir/$f"; done | sort)
  if [ "$files" = "$want" ]; then
    ok "$1 installs only $(echo $want)"
  else
    fail "$1 installs, instead of only $(echo $want):"
    printf '%s\n' "$files" | sed 's/^/    /'
  fi
}

# GStreamer, looking at DIR only (no other plugin, no GST_PLUGIN_PATH, a
# registry of its own), finds iiodmabufsrc in DIR/libgstiiodmabuf.so.
check_loads () {  # WHAT DIR
  local out rc
  out=$(env -u GST_PLUGIN_PATH -u GST_PLUGIN_PATH_1_0 -u GST_REGISTRY_1_0 \
    GST_PLUGIN_SYSTEM_PATH_1_0="$2" GST_PLUGIN_SYSTEM_PATH="$2" \
    GST_REGISTRY="$tmp/registry-$RANDOM.bin" \
    "$gst_inspect" iiodmabufsrc 2>&1); rc=$?
  if [ $rc -eq 0 ] && printf '%s\n' "$out" |
      grep -Eq "^ *Filename +$(printf '%s' "$2/$plugin_file" | sed 's/[.[\*^$]/\\&/g')\$"; then
    ok "$1: GStreamer loads iiodmabufsrc from $2/$plugin_file"
  else
    fail "$1: gst-inspect-1.0 iiodmabufsrc with plugins from $2 only (exit $rc):"
    printf '%s\n' "$out" | head -n 30 | sed 's/^/    /'
  fi
}

case $mode in
install)
  copy_tree "$tmp/src"
  # As a user installs it: every option at its default, GStreamer's prefix.
  run "$tmp/setup.log" "$meson" setup "$tmp/build" "$tmp/src" \
      --prefix="$prefix" --wrap-mode=nodownload || finish
  run "$tmp/compile.log" "$meson" compile -C "$tmp/build" || finish
  run "$tmp/install.log" "$meson" install -C "$tmp/build" --no-rebuild \
      --destdir "$tmp/dest" || finish
  check_installed "meson install --prefix=$prefix" "$tmp/dest"
  check_loads "installed" "$tmp/dest$pluginsdir"
  ;;
subproject)
  parent=$tmp/parent
  cp -R "$src/tests/meson/parent" "$parent"
  copy_tree "$parent/subprojects/gst-iiodmabuf"
  run "$tmp/setup.log" "$meson" setup "$parent/build" "$parent" \
      --prefix="$prefix" --wrap-mode=nodownload || finish
  run "$tmp/compile.log" "$meson" compile -C "$parent/build" || finish

  # The parent's own tests, and none of the subproject's (host tests, VM
  # tests): they are off by default in a subproject.
  list=$("$meson" test -C "$parent/build" --no-rebuild --list 2>/dev/null | sort)
  want=$(printf '%s\n' element plugin)
  if [ "$list" = "$want" ]; then
    ok "the parent's test list is its own: $(echo $list)"
  else
    fail "the parent's test list is not just its own:"
    printf '%s\n' "$list" | sed 's/^/    /'
  fi
  # They load the plugin by iiodmabuf_plugin_dir and by iiodmabuf_plugin.
  run "$tmp/test.log" "$meson" test -C "$parent/build" --no-rebuild \
      --print-errorlogs --suite iiodmabuf-parent &&
    ok "the parent's tests pass: GStreamer loads the subproject's plugin"
  check_loads "built as a subproject" \
    "$parent/build/subprojects/gst-iiodmabuf/gst/iiodmabuf"

  run "$tmp/install.log" "$meson" install -C "$parent/build" --no-rebuild \
      --destdir "$tmp/dest" || finish
  check_installed "the parent's meson install" "$tmp/dest"
  ;;
*)
  echo "usage: check-meson.sh install|subproject" >&2; exit 2 ;;
esac
finish
