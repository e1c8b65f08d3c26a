#!/usr/bin/env bash
# Benchmark for `squall hunt` (issue: speed and memory of the Identify phase).
#
#   bench/hunt.sh [SIZE_MB]        default 2048 (a 2 GB corpus)
#
# Generates a CloudTrail corpus of SIZE_MB laid out as S3 delivery files, twice (plain .json
# and .json.gz), then for each: a parse-only pass over the same bytes with the same reader
# (the floor), and `squall hunt` with SigmaHQ's AWS rules (../shared/datasets/sigmahq) plus
# the built-in pack, JSON Lines to /dev/null. Prints records/s, MB/s and peak RSS.
# Results are recorded by hand in BENCHMARKS.md.
set -euo pipefail
size_mb=${1:-2048}
cd "$(dirname "$0")/.."
root=$PWD
out=$root/bench/out
mkdir -p "$out"

cargo build --release -q -p squall
cargo build --release -q -p squall-logs --examples
bin=$root/target/release
rules=()
if [ -d "$root/../shared/datasets/sigmahq/rules/cloud/aws" ]; then
  rules=(--rules "$root/../shared/datasets/sigmahq/rules/cloud/aws")
  rule_note="SigmaHQ cloud/aws + built-in"
else
  rule_note="built-in only (../shared is absent)"
fi

gen() { # kind flag
  local dir=$out/ct-$1-$size_mb
  if [ ! -f "$dir/.done" ]; then
    rm -rf "$dir"
    "$bin/examples/gen_cloudtrail" "$dir" "$size_mb" $2 > "$dir.gen.txt"
    touch "$dir/.done"
  fi
  echo "$dir"
}

printf '\nsquall hunt benchmark: %s MB CloudTrail, rules: %s, %s cores\n' "$size_mb" "$rule_note" "$(nproc)"
printf '%-6s %-34s %12s %12s %10s %12s\n' corpus pass records/s MB/s 'peak RSS' 'wall s'
for kind in plain gz; do
  flag=""; [ "$kind" = gz ] && flag="--gzip"
  dir=$(gen "$kind" "$flag")
  # Warm the page cache so both passes read from memory.
  cat $(find "$dir" -type f -name '*.json*') > /dev/null
  floor=$("$bin/examples/parse_floor" "$dir")
  f_rate=$(sed -E 's/.*s: ([0-9]+) records\/s, ([0-9.]+) MB\/s.*/\1/' <<<"$floor")
  f_mbs=$(sed -E 's/.*records\/s, ([0-9.]+) MB\/s.*/\1/' <<<"$floor")
  printf '%-6s %-34s %12s %12s %10s %12s\n' "$kind" "parse-only (typed serde, floor)" "$f_rate" "$f_mbs" - -
  for level in "" medium; do
    extra=(); label="hunt"
    if [ -n "$level" ]; then extra=(--min-level "$level"); label="hunt --min-level $level"; fi
    /usr/bin/time -f '%M %e' -o "$out/time.txt" "$bin/squall" hunt "$dir" "${rules[@]}" "${extra[@]}" \
      --format jsonl > /dev/null 2> "$out/summary.txt"
    read -r rss_kb wall < "$out/time.txt"
    line=$(grep 'records in' "$out/summary.txt")
    records=$(sed -E 's/.*decompressed\), ([0-9,]+) records in.*/\1/' <<<"$line" | tr -d ,)
    mb=$(sed -E 's/.*read, ([0-9.]+) MB decompressed.*/\1/' <<<"$line")
    rate=$(awk -v r="$records" -v w="$wall" 'BEGIN { printf "%d", r / w }')
    mbs=$(awk -v m="$mb" -v w="$wall" 'BEGIN { printf "%.1f", m / w }')
    printf '%-6s %-34s %12s %12s %9dM %12s\n' "$kind" "$label" "$rate" "$mbs" $((rss_kb / 1024)) "$wall"
    if [ -z "$level" ]; then
      awk -v h="$rate" -v f="$f_rate" -v c="$(nproc)" \
        'BEGIN { printf "       hunt/floor %.0f%%, %.0f records/s per core\n", 100 * h / f, h / c }'
      grep -E 'detections:' "$out/summary.txt" | sed 's/^/       /'
    fi
  done
done
