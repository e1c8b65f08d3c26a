#!/usr/bin/env bash
# What the stolen-credential detector costs `squall hunt` (issue 12).
#
#   bench/credentials.sh [SIZE_MB]        default 1024
#
# Two CloudTrail corpora of SIZE_MB each (gen_cloudtrail): a realistic mix, whose callers come
# from 2,000 principals with their own keys and addresses (mostly read-only calls, few
# detections), and the worst case, every record a new key from a new address (the detector
# holds as many pairs as it may). Each is hunted with the built-in rules twice, by the
# `credential_cost` example in one process per pass: the detector on, and off (the floor).
# Prints records/s, the pairs learned and peak RSS. Results are recorded in BENCHMARKS.md.
set -euo pipefail
size_mb=${1:-1024}
cd "$(dirname "$0")/.."
root=$PWD
out=$root/bench/out
mkdir -p "$out"
cargo build --release -q -p squall-logs --example gen_cloudtrail
cargo build --release -q -p squall-detect --example credential_cost
bin=$root/target/release/examples

gen() { # name flags...
  local dir=$out/cred-$1-$size_mb
  if [ ! -f "$dir/.done" ]; then
    rm -rf "$dir"
    "$bin/gen_cloudtrail" "$dir" "$size_mb" "${@:2}" > "$dir.gen.txt"
    touch "$dir/.done"
  fi
  echo "$dir"
}

printf '\nstolen-credential detector: %s MB CloudTrail per corpus, built-in rules, %s cores\n' "$size_mb" "$(nproc)"
for corpus in realistic worst; do
  if [ "$corpus" = realistic ]; then dir=$(gen realistic --identities 2000); else dir=$(gen worst); fi
  cat $(find "$dir" -type f -name '*.json*') > /dev/null
  for mode in off on; do
    /usr/bin/time -f '%M %e' -o "$out/time.txt" "$bin/credential_cost" "$dir" "$mode" > "$out/cred.txt"
    read -r rss_kb wall < "$out/time.txt"
    printf '%-10s %s; peak RSS %d MB, wall %s s\n' "$corpus" "$(cat "$out/cred.txt")" $((rss_kb / 1024)) "$wall"
  done
done
