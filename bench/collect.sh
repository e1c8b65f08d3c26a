#!/usr/bin/env bash
# `squall collect aws logs` against a local moto S3 (issue 13), on two buckets:
#
#   realistic   FILES small delivery files (default 2000; CloudTrail writes one every ~5
#               minutes per account and region, mostly read-only calls), one day, one account,
#               four regions
#   worst case  BIG large files (default 16 × ~8 MB gzip, ~80 MB of JSON each uncompressed):
#               every byte hashed twice (as stored, and uncompressed) and every record parsed
#
# Each is collected into a case (--no-lookup: moto has no LookupEvents), then fetched with
# boto3 by 8 threads that only download and hash each file (the floor: what S3 through this
# moto gives a minimal client), in the same run. LATENCY_MS=50 adds a round trip to every call.
#
#   bench/collect.sh [FILES] [BIG]
#
# Needs moto[server] and boto3. Results are recorded by hand in BENCHMARKS.md.
set -euo pipefail
files=${1:-2000}
big=${2:-16}
cd "$(dirname "$0")/.."
root=$PWD
out=$root/bench/out/collect
rm -rf "$out" && mkdir -p "$out"
cargo build --release -q -p squall
bin=$root/target/release/squall
# shellcheck source=bench/moto.sh
. "$root/bench/moto.sh"
export SQUALL_HOME=$out/home SQUALL_ACTOR=bench

# Buckets of delivery files, named and laid out as CloudTrail lays them out.
python3 - "$files" "$big" <<'EOF'
import boto3, gzip, json, random, sys, datetime, concurrent.futures as cf
files, big = int(sys.argv[1]), int(sys.argv[2])
s3 = boto3.client('s3')
rnd = random.Random(7)
day = datetime.datetime.now(datetime.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) - datetime.timedelta(days=1)
def record(t, i, pad=0):
    name = rnd.choice(['DescribeInstances', 'GetObject', 'ListBuckets', 'AssumeRole', 'Decrypt', 'GetCallerIdentity'] * 20 + ['CreateUser', 'StopLogging'])
    r = dict(eventVersion='1.08', eventTime=t.strftime('%Y-%m-%dT%H:%M:%SZ'), eventSource='ec2.amazonaws.com',
             eventName=name, awsRegion='us-east-1', sourceIPAddress=f'10.0.{i % 250}.{i % 200}',
             userAgent='aws-sdk-go/1.44', eventID=f'{rnd.getrandbits(128):032x}', readOnly=True,
             userIdentity=dict(type='AssumedRole', arn=f'arn:aws:sts::111122223333:assumed-role/app{i % 40}/i-0{i:016x}',
                               accountId='111122223333', accessKeyId=f'ASIA{i:016d}'),
             requestParameters=dict(filterSet={'items': [{'name': 'tag:Name', 'valueSet': {'items': [{'value': 'web'}]}}]}),
             recipientAccountId='111122223333')
    if pad:
        r['responseElements'] = {'blob': '%x' % rnd.getrandbits(pad * 4)}
    return r
def put(bucket, region, t, n, records):
    key = f"AWSLogs/111122223333/CloudTrail/{region}/{t:%Y/%m/%d}/111122223333_CloudTrail_{region}_{t:%Y%m%dT%H%M}Z_{n:016d}.json.gz"
    body = gzip.compress(json.dumps({'Records': records}).encode(), 6)
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    return len(body)
s3.create_bucket(Bucket='realistic')
s3.create_bucket(Bucket='worst')
regions = ['us-east-1', 'eu-west-1', 'eu-central-1', 'ap-southeast-2']
def small(n):
    t = day + datetime.timedelta(seconds=86400 * n // files)
    return put('realistic', regions[n % 4], t, n, [record(t, n * 100 + i) for i in range(100)])
def large(n):
    t = day + datetime.timedelta(seconds=86400 * n // big)
    return put('worst', 'us-east-1', t, n, [record(t, n * 1000 + i, 600) for i in range(20000)])
with cf.ThreadPoolExecutor(8) as ex:
    a = sum(ex.map(small, range(files)))
    b = sum(ex.map(large, range(big)))
print(f"realistic: {files} files, {a / 1e6:.1f} MB stored; worst case: {big} files, {b / 1e6:.1f} MB stored", file=sys.stderr)
print(day.strftime('%Y-%m-%dT%H:%M:%SZ'))
EOF
since=$(python3 -c 'import datetime; d=datetime.datetime.now(datetime.timezone.utc).replace(hour=0,minute=0,second=0,microsecond=0)-datetime.timedelta(days=1); print(d.strftime("%Y-%m-%dT%H:%M:%SZ"))')
until=$(python3 -c 'import datetime; d=datetime.datetime.now(datetime.timezone.utc).replace(hour=0,minute=0,second=0,microsecond=0); print(d.strftime("%Y-%m-%dT%H:%M:%SZ"))')

floor() { # bucket → seconds for 8 threads to fetch and hash every file; then to also
           # decompress each and hash its content (the least that checking digests needs)
  python3 - "$1" <<'EOF'
import boto3, gzip, hashlib, sys, time, concurrent.futures as cf
s3 = boto3.client('s3')
keys = [o['Key'] for p in s3.get_paginator('list_objects_v2').paginate(Bucket=sys.argv[1]) for o in p.get('Contents', [])]
def get(k, inflate):
    body = s3.get_object(Bucket=sys.argv[1], Key=k)['Body'].read()
    h = hashlib.sha256(body).hexdigest()
    return hashlib.sha256(gzip.decompress(body)).hexdigest() if inflate else h
out = []
for inflate in (False, True):
    start = time.time()
    with cf.ThreadPoolExecutor(8) as ex:
        list(ex.map(lambda k: get(k, inflate), keys))
    out.append(f"{time.time() - start:.2f}")
print(' '.join(out))
EOF
}

printf '\ncollect aws logs against moto %s, --parallel 8, %s ms added per call, %s cores\n' \
  "$(python3 -c 'import moto; print(moto.__version__)')" "$latency" "$(nproc)"
printf '%-10s %7s %9s %9s %9s %9s %11s %9s %11s\n' corpus files MB 'squall s' 'files/s' 'MB/s' 'peak RSS MB' 'floor s' '+gunzip s'
n=0
for bucket in realistic worst; do
  n=$((n + 1))
  case=$(printf 'C-%04d' "$n")
  "$bin" case new --title "$bucket" >/dev/null
  /usr/bin/time -f '%e %M' -o "$out/$bucket.time" \
    env AWS_ENDPOINT_URL="$squall_endpoint" "$bin" collect aws logs --case "$case" --bucket "$bucket" \
    --since "$since" --until "$until" --no-lookup --quiet --format json >"$out/$bucket.json" 2>"$out/$bucket.err" || true
  read -r wall rss <"$out/$bucket.time"
  count=$(python3 -c "import json; print(json.load(open('$out/$bucket.json'))['collected']['files'])")
  bytes=$(python3 -c "import json; print(json.load(open('$out/$bucket.json'))['collected']['bytes'])")
  read -r fl flz < <(AWS_ENDPOINT_URL=$squall_endpoint floor "$bucket")
  awk -v b="$bucket" -v c="$count" -v by="$bytes" -v w="$wall" -v r="$rss" -v f="$fl" -v z="$flz" \
    'BEGIN { printf "%-10s %7d %9.1f %9.2f %9.0f %9.1f %11.0f %9.2f %11.2f\n", b, c, by / 1e6, w, c / w, by / 1e6 / w, r / 1024, f, z }'
done
echo "ledger: $("$bin" ledger verify C-0001 >/dev/null && echo verifies) ($("$bin" ledger export C-0001 | wc -l) entries for case C-0001)"
