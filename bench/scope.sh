#!/usr/bin/env bash
# Benchmark for what a case touched (issue 10): `squall scope` against `squall timeline` on the
# same case (the floor: the same sources re-read, hashed and matched, without gathering touches
# by resource). The worst case is every record a write by the case's actor naming many
# resources: N records by one key, each a RunInstances of 10 instances, an access key made for
# another user, or a rule opened, and one StopLogging that makes the key the case's actor.
#
#   bench/scope.sh [N ...]     default: 100000 (1,000,000 resources touched at 10 per record)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$root/bench/out/scope
mkdir -p "$out"
cargo build --release -q -p squall
bin=$root/target/release/squall
# The case's one detection: the trail stopped (every other record is the actor's activity).
cat > "$out/stop.yml" <<'YML'
title: Trail Stopped
id: 00000000-0000-4000-8000-000000000010
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventName: 'StopLogging'
    condition: selection
level: high
YML
printf '%-8s %-10s %8s %10s\n' records view 'wall s' 'peak RSS'
for n in "${@:-100000}"; do
  log=$out/writes-$n.jsonl
  [ -s "$log" ] || python3 - "$n" > "$log" <<'PY'
import json, sys
n = int(sys.argv[1])
who = {"type": "IAMUser", "userName": "ci", "arn": "arn:aws:iam::111122223333:user/ci",
       "accountId": "111122223333", "accessKeyId": "AKIACIBENCH000000001"}
def rec(i, name, source, req, resp):
    t = f"2026-11-02T{10 + i // 3600000 % 10:02d}:{i // 60000 % 60:02d}:{i // 1000 % 60:02d}.{i % 1000:03d}Z"
    return {"eventVersion": "1.09", "eventTime": t, "eventSource": source, "eventName": name,
            "awsRegion": "eu-west-1", "sourceIPAddress": "203.0.113.7",
            "recipientAccountId": "111122223333", "eventID": f"ev-{i}", "userIdentity": who,
            "requestParameters": req, "responseElements": resp}
print(json.dumps(rec(0, "StopLogging", "cloudtrail.amazonaws.com", {"name": "org"}, None)))
for i in range(1, n):
    if i % 3 == 0:
        items = [{"instanceId": f"i-{i * 10 + k:017x}", "instanceType": "p4d.24xlarge"} for k in range(10)]
        r = rec(i, "RunInstances", "ec2.amazonaws.com", {}, {"instancesSet": {"items": items}})
    elif i % 3 == 1:
        r = rec(i, "CreateAccessKey", "iam.amazonaws.com", {"userName": f"u{i % 1000}"},
                {"accessKey": {"accessKeyId": f"AKIA{i:016d}", "userName": f"u{i % 1000}"}})
    else:
        r = rec(i, "AuthorizeSecurityGroupIngress", "ec2.amazonaws.com",
                {"groupId": f"sg-{i:017x}", "ipPermissions": {"items": [{"ipProtocol": "tcp",
                 "fromPort": 22, "toPort": 22, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}},
                {"_return": True})
    print(json.dumps(r))
PY
  home=$(mktemp -d)
  SQUALL_HOME=$home "$bin" hunt "$log" --no-builtin --rules "$out/stop.yml" --new-case bench -q \
    --format jsonl > /dev/null
  for view in timeline scope; do
    args=("$view" C-0001 --format json)
    [ "$view" = timeline ] && args=(timeline C-0001 --format jsonl)
    /usr/bin/time -f '%e %M' -o "$out/time.txt" env SQUALL_HOME="$home" "$bin" "${args[@]}" > /dev/null
    read -r wall rss < "$out/time.txt"
    printf '%-8s %-10s %8s %7s MB\n' "$n" "$view" "$wall" "$((rss / 1024))"
  done
  rm -rf "$home"
done
