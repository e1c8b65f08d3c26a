#!/usr/bin/env bash
# Benchmark for one key flooding a trail (issue 8, "bounded work"): N CloudTrail events of one
# long-term access key within one hour, and how long `squall hunt` takes with the built-in pack
# (which correlates the key's source addresses) against `--no-builtin` with a rule that matches
# nothing (the floor: read, parse, no correlation).
#
#   bench/key_flood.sh [N ...]      default: 25000 50000 100000
#   IPS=1000 bench/key_flood.sh     addresses the key is used from (default 1: the worst case
#                                   for a per-event rescan, the correlation never fires)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$root/bench/out/key-flood
mkdir -p "$out"
ips=${IPS:-1}
cargo build --release -q -p squall
bin=$root/target/release/squall
cat > "$out/none.yml" <<'YML'
title: Matches Nothing
id: 00000000-0000-4000-8000-000000000000
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventName: 'NoSuchCall'
    condition: selection
level: low
YML
printf '%-8s %-5s %-26s %8s %10s\n' events ips pass 'wall s' 'peak RSS'
for n in "${@:-25000 50000 100000}"; do
  for count in $n; do
    f=$out/flood-$count-$ips.jsonl
    [ -f "$f" ] || python3 - "$count" "$ips" > "$f" <<'PY'
import json, sys
n, ips = int(sys.argv[1]), int(sys.argv[2])
for i in range(n):
    s = i * 3600 // n
    print(json.dumps({"eventVersion": "1.09", "eventTime": "2026-10-02T%02d:%02d:%02dZ" % (9 + s // 3600, s // 60 % 60, s % 60),
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/dana",
            "accountId": "111122223333", "accessKeyId": "AKIAEXAMPLEKEY00001", "userName": "dana"},
        "eventSource": "s3.amazonaws.com", "eventName": "ListBuckets", "awsRegion": "eu-central-1",
        "sourceIPAddress": "198.51.%d.%d" % ((i % ips) // 256, (i % ips) % 256),
        "userAgent": "aws-cli/2.15.0", "eventID": "ev-%d" % i, "readOnly": True,
        "eventType": "AwsApiCall", "recipientAccountId": "111122223333"}))
PY
    for pass in builtin floor; do
      args=(); [ "$pass" = floor ] && args=(--no-builtin --rules "$out/none.yml")
      /usr/bin/time -f '%M %e' -o "$out/time.txt" "$bin" hunt "$f" "${args[@]}" --format jsonl \
        > "$out/detections.jsonl" 2> /dev/null || true
      read -r rss_kb wall < "$out/time.txt"
      label="hunt (built-in pack)"; [ "$pass" = floor ] && label="--no-builtin, no match"
      printf '%-8s %-5s %-26s %8s %9dM\n' "$count" "$ips" "$label" "$wall" $((rss_kb / 1024))
    done
  done
done
