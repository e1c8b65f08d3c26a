#!/usr/bin/env bash
# Benchmarks for the Google Cloud response verbs against squall-gcp-fake (issue 14):
#
#   bench/gcp.sh isolate [COUNTS]   default "1 50 500": isolate that many running instances
#                                   at once (--concurrency 16) and report the wall time
#   bench/gcp.sh acquire [COUNTS]   default "1 50 500": snapshot that many instances' disks
#                                   into a forensic project
#   bench/gcp.sh image [GIB] [FILL] default "4 sparse": acquire one instance with --image: its
#                                   GIB GiB disk read by the (simulated) worker into a bucket,
#                                   downloaded, hashed and written sparse; FILL "dense" fills
#                                   every block (nothing to skip). Compared in the same run with
#                                   `curl` of the same object from the same fake, to /dev/null
#                                   (the download floor) and through `openssl dgst -sha256`
#                                   (download and hash), and `sha256sum` of the image written.
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

if [ "$what" = image ]; then
  gib=${2:-4}
  fill=${3:-sparse}
  dense=()
  [ "$fill" = dense ] && dense=(--dense-disks)
  # The image's own round trips are few and large: the download is what is measured.
  latency=${LATENCY_MS:-0}
  stop_fake
  rm -f "$out/fake.json"
  "$fake_bin" --instances 1 --latency-ms "$latency" --adc-dir "$out/adc" --disk-gb "$gib" \
    --bucket squall-images "${dense[@]}" >"$out/fake.json" &
  fake=$!
  for _ in $(seq 1200); do [ -s "$out/fake.json" ] && break; sleep 0.05; done
  url=$(python3 -c "import json; print(json.load(open('$out/fake.json'))['url'])")
  export SQUALL_GCP_ENDPOINT=$url GOOGLE_APPLICATION_CREDENTIALS=$out/adc/application_default_credentials.json
  rm -rf "$SQUALL_HOME" "$out/images"
  "$bin" case new --title benchmark >/dev/null
  start=$(now)
  /usr/bin/time -f "squall cpu: user %U s, sys %S s, peak RSS %M KB" \
    "$bin" acquire gcp instance projects/acme-prod/zones/europe-west1-b/instances/web-1 \
    --case C-0001 --forensic-project acme-forensics --image "$out/images" \
    --image-bucket squall-images --yes --format jsonl >"$out/image.jsonl" 2>"$out/image.err" \
    || { cat "$out/image.err" >&2; exit 1; }
  end=$(now)
  raw=$(ls "$out/images"/*.raw)
  object="squall-images%2F$(basename "$raw")"
  token=$(python3 -c "
import json, urllib.parse, urllib.request
adc = json.load(open('$GOOGLE_APPLICATION_CREDENTIALS'))
body = urllib.parse.urlencode({'grant_type': 'refresh_token', 'refresh_token': adc['refresh_token'],
    'client_id': adc['client_id'], 'client_secret': adc['client_secret']}).encode()
print(json.load(urllib.request.urlopen(adc['token_uri'], body))['access_token'])")
  media="$url/storage/v1/b/squall-images/o/$object?alt=media"
  start1=$(now)
  curl -s -H "Authorization: Bearer $token" "$media" -o /dev/null
  end1=$(now)
  start2=$(now)
  floor=$(curl -s -H "Authorization: Bearer $token" "$media" | openssl dgst -sha256 -r | cut -c1-64)
  end2=$(now)
  start3=$(now)
  again=$(sha256sum "$raw" | cut -c1-64)
  end3=$(now)
  squall=$(grep -o "sha256 [0-9a-f]*" "$out/image.err" | cut -c8-)
  [ "$squall" = "$floor" ] && [ "$floor" = "$again" ] || { echo "digests differ: squall $squall, curl $floor, file $again" >&2; exit 1; }
  mb=$((gib * 1024))
  printf '\nimaging a %s GiB disk (%s) through squall-gcp-fake, %s ms per call, %s cores\n' "$gib" "$fill" "$latency" "$(nproc)"
  awk -v mb="$mb" -v s="$start" -v e="$end" -v s1="$start1" -v e1="$end1" -v s2="$start2" -v e2="$end2" -v s3="$start3" -v e3="$end3" 'BEGIN {
    printf "%-44s %8.2f s %8.1f MB/s\n", "squall acquire gcp instance --image (all of it)", e - s, mb / (e - s)
    printf "%-44s %8.2f s %8.1f MB/s\n", "curl > /dev/null of the same object", e1 - s1, mb / (e1 - s1)
    printf "%-44s %8.2f s %8.1f MB/s\n", "curl | openssl dgst -sha256 of it", e2 - s2, mb / (e2 - s2)
    printf "%-44s %8.2f s %8.1f MB/s\n", "sha256sum of the image written", e3 - s3, mb / (e3 - s3) }'
  echo "sha256 $squall (squall, curl | openssl and the file agree)"
  grep "squall cpu" "$out/image.err"
  echo "image on disk: $(du -k "$raw" | cut -f1) KB allocated of $((gib * 1024 * 1024)) KB"
  exit 0
fi

case $what in
isolate) verb=(contain gcp instance) flags=(--isolate) ;;
acquire) verb=(acquire gcp instance) flags=(--forensic-project acme-forensics) ;;
*) echo "usage: bench/gcp.sh isolate|acquire [COUNTS] | image [GIB] [sparse|dense]" >&2; exit 2 ;;
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
