#!/usr/bin/env bash
# Benchmarks for the Google Cloud response verbs against squall-gcp-fake (issue 14):
#
#   bench/gcp.sh isolate [COUNTS]   default "1 50 500": isolate that many running instances
#                                   at once (--concurrency 16) and report the wall time
#   bench/gcp.sh acquire [COUNTS]   default "1 50 500": snapshot that many instances' disks
#                                   into a forensic project
#
# LATENCY_MS (default 50) is added by the fake to every answer: Google's round trips, which a
# local fake has not. Each run is compared with its floor: the calls it made, one round trip
# each, spread over the 16 concurrent resources (what no client could beat without making
# fewer calls). Results are recorded by hand in BENCHMARKS.md.
set -euo pipefail
what=${1:-isolate}
counts=${2:-"1 50 500"}
latency=${LATENCY_MS:-50}
cd "$(dirname "$0")/.."
root=$PWD
out=$root/bench/out/gcp
mkdir -p "$out"
cargo build --release -q -p squall -p squall-gcp-fake
bin=$root/target/release/squall
fake_bin=$root/target/release/squall-gcp-fake
export SQUALL_HOME=$out/home SQUALL_ACTOR=bench
now() { date +%s.%N; }

fake=
stop_fake() {
  if [ -n "$fake" ]; then kill "$fake" 2>/dev/null || true; wait "$fake" 2>/dev/null || true; fi
  fake=
}
trap stop_fake EXIT
start_fake() {
  stop_fake
  rm -f "$out/fake.json"
  "$fake_bin" --instances "$1" --latency-ms "$latency" --adc-dir "$out/adc" >"$out/fake.json" &
  fake=$!
  for _ in $(seq 100); do [ -s "$out/fake.json" ] && break; sleep 0.05; done
  url=$(python3 -c "import json; print(json.load(open('$out/fake.json'))['url'])")
  export SQUALL_GCP_ENDPOINT=$url GOOGLE_APPLICATION_CREDENTIALS=$out/adc/application_default_credentials.json
}
calls() { curl -s "$SQUALL_GCP_ENDPOINT/_fake/calls" | python3 -c 'import json,sys; print(json.load(sys.stdin)["calls"])'; }

case $what in
isolate) verb=(contain gcp instance) flags=(--isolate) ;;
acquire) verb=(acquire gcp instance) flags=(--forensic-project acme-forensics) ;;
*) echo "usage: bench/gcp.sh isolate|acquire [COUNTS]" >&2; exit 2 ;;
esac
printf '\n%s against squall-gcp-fake, --concurrency 16, %s ms per call, %s cores\n' "$what" "$latency" "$(nproc)"
printf '%9s %10s %12s %10s %10s %9s\n' instances 'wall s' 's/instance' 'calls' 'floor s' 'x floor'
for n in $counts; do
  start_fake "$n"
  rm -rf "$SQUALL_HOME"
  "$bin" case new --title benchmark >/dev/null
  names=$(seq -f "projects/acme-prod/zones/europe-west1-b/instances/web-%g" 1 "$n")
  before=$(calls)
  start=$(now)
  # shellcheck disable=SC2086
  "$bin" "${verb[@]}" $names --case C-0001 "${flags[@]}" --yes --concurrency 16 --format jsonl \
    >"$out/$what-$n.jsonl" 2>"$out/$what-$n.err"
  end=$(now)
  made=$(( $(calls) - before ))
  verified=$(grep -c '"status":"verified"' "$out/$what-$n.jsonl" || true)
  [ "$verified" = "$n" ] || { echo "only $verified of $n verified; see $out/$what-$n.err" >&2; exit 1; }
  awk -v n="$n" -v s="$start" -v e="$end" -v c="$made" -v l="$latency" \
    'BEGIN { f = c * l / 1000 / (n < 16 ? n : 16); printf "%9d %10.2f %12.3f %10d %10.2f %9.1f\n", n, e - s, (e - s) / n, c, f, (e - s) / f }'
done
