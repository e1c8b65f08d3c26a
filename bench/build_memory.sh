#!/usr/bin/env bash
# Benchmark for building the binary (issue 9): a release build of `squall` into a fresh target
# directory, its wall time, and the peak resident memory of the rustc processes (summed, and
# the largest one, with its crate), sampled every second from /proc.
#
#   bench/build_memory.sh [TARGET_DIR]      default: bench/out/build-target (removed first)
set -u
cd "$(dirname "$0")/.."
target=${1:-$PWD/bench/out/build-target}
rm -rf "$target"
start=$(date +%s)
CARGO_TARGET_DIR=$target cargo build --release -p squall > "$target.log" 2>&1 &
pid=$!
peak_sum=0; peak_one=0; peak_crate=""
while kill -0 "$pid" 2>/dev/null; do
  sum=0
  for st in /proc/[0-9]*/status; do
    [ "$(awk '/^Name:/{print $2}' "$st" 2>/dev/null)" = rustc ] || continue
    rss=$(awk '/^VmRSS:/{print $2}' "$st" 2>/dev/null)
    [ -n "$rss" ] || continue
    sum=$((sum + rss))
    if [ "$rss" -gt "$peak_one" ]; then
      peak_one=$rss
      peak_crate=$(tr '\0' ' ' < "${st%status}cmdline" 2>/dev/null | grep -o -- '--crate-name [^ ]*' | head -1)
    fi
  done
  [ "$sum" -gt "$peak_sum" ] && peak_sum=$sum
  sleep 1
done
wait "$pid"; rc=$?
echo "exit $rc, wall $(( $(date +%s) - start )) s, peak all rustc $((peak_sum / 1024)) MB, peak one rustc $((peak_one / 1024)) MB (${peak_crate#--crate-name })"
exit $rc
