#!/usr/bin/env bash
# Benchmarks for the AWS response verbs against a local moto server (issue 4):
#
#   bench/aws.sh isolate [COUNTS]   default "1 50 500": isolate that many running instances
#                                   at once (--concurrency 16) and report the wall time;
#                                   LATENCY_MS=50 puts a proxy adding that delay to every call
#                                   in front of moto (AWS round trips, which moto has not)
#   bench/aws.sh image [GIB]        default 1: image a fully written GIB snapshot (made with
#                                   the EBS direct APIs, the only kind moto can read back)
#                                   and compare MB/s with `sha256sum` over the same bytes
#
# Needs `pip install 'moto[server]'` (moto_server on PATH) and python3 with boto3.
# Results are recorded by hand in BENCHMARKS.md.
set -euo pipefail
what=${1:-isolate}
cd "$(dirname "$0")/.."
root=$PWD
out=$root/bench/out/aws
mkdir -p "$out"
cargo build --release -q -p squall
bin=$root/target/release/squall
# shellcheck source=bench/moto.sh
. "$root/bench/moto.sh"
export SQUALL_HOME=$out/home SQUALL_ACTOR=bench
rm -rf "$SQUALL_HOME"
"$bin" case new --title "benchmark" >/dev/null

py() { python3 -c "import boto3, json, sys
kw = dict(endpoint_url='$AWS_ENDPOINT_URL', region_name='us-east-1')
$1"; }

now() { date +%s.%N; }

case $what in
isolate)
  counts=${2:-"1 50 500"}
  printf '\nisolating instances against moto %s, --concurrency 16, %s ms added per call, %s cores\n' \
    "$(python3 -c 'import moto; print(moto.__version__)')" "$latency" "$(nproc)"
  printf '%9s %10s %14s %14s\n' instances 'wall s' 's/instance' 'ledger entries'
  for n in $counts; do
    ids=$(py "
ec2 = boto3.client('ec2', **kw)
vpc = ec2.create_vpc(CidrBlock='10.0.0.0/16')['Vpc']['VpcId']
sub = ec2.create_subnet(VpcId=vpc, CidrBlock='10.0.0.0/17', AvailabilityZone='us-east-1a')['Subnet']['SubnetId']
sg = ec2.create_security_group(GroupName='web', Description='w', VpcId=vpc)['GroupId']
image = ec2.describe_images(Owners=['amazon'])['Images'][0]['ImageId']
ids = []
while len(ids) < $n:
    k = min(100, $n - len(ids))
    ids += [i['InstanceId'] for i in ec2.run_instances(ImageId=image, MinCount=k, MaxCount=k, SubnetId=sub, SecurityGroupIds=[sg])['Instances']]
print(' '.join(ids))")
    before=$("$bin" ledger export C-0001 | wc -l)
    start=$(now)
    # shellcheck disable=SC2086
    AWS_ENDPOINT_URL=$squall_endpoint \
      "$bin" contain aws instance $ids --case C-0001 --isolate --yes --concurrency 16 --format jsonl \
      >"$out/isolate-$n.jsonl" 2>"$out/isolate-$n.err"
    end=$(now)
    verified=$(grep -c '"status":"verified"' "$out/isolate-$n.jsonl" || true)
    [ "$verified" = "$n" ] || { echo "only $verified of $n verified; see $out/isolate-$n.err" >&2; exit 1; }
    after=$("$bin" ledger export C-0001 | wc -l)
    awk -v n="$n" -v s="$start" -v e="$end" -v l=$((after - before)) \
      'BEGIN { printf "%9d %10.2f %14.3f %14d\n", n, e - s, (e - s) / n, l }'
  done
  ;;
image)
  gib=${2:-1}
  snap=$(py "
import base64, hashlib, os
ebs = boto3.client('ebs', **kw)
sid = ebs.start_snapshot(VolumeSize=$gib)['SnapshotId']
size = 512 * 1024
for index in range($gib * 2048):
    data = hashlib.sha256(index.to_bytes(8, 'little')).digest() * (size // 32)
    ebs.put_snapshot_block(SnapshotId=sid, BlockIndex=index, BlockData=data, DataLength=size,
        Checksum=base64.b64encode(hashlib.sha256(data).digest()).decode(), ChecksumAlgorithm='SHA256')
ebs.complete_snapshot(SnapshotId=sid, ChangedBlocksCount=$gib * 2048)
print(sid)")
  rm -rf "$out/images"
  moto_before=$(ps -o cputime= -p "$moto")
  start=$(now)
  /usr/bin/time -f "squall cpu: user %U s, sys %S s, peak RSS %M KB" "$bin" acquire aws snapshot "$snap" --case C-0001 --image "$out/images" 2>"$out/image.err"
  moto_cpu=$(ps -o cputime= -p "$moto")
  end=$(now)
  start2=$(now)
  sha256sum "$out/images/$snap.raw" >/dev/null
  end2=$(now)
  mb=$((gib * 1024))
  printf '\nimaging a %s GiB snapshot (every block written) from moto, %s cores\n' "$gib" "$(nproc)"
  awk -v mb="$mb" -v s="$start" -v e="$end" -v s2="$start2" -v e2="$end2" 'BEGIN {
    printf "%-34s %8.2f s %8.1f MB/s\n", "squall acquire aws snapshot --image", e - s, mb / (e - s)
    printf "%-34s %8.2f s %8.1f MB/s\n", "sha256sum of the image", e2 - s2, mb / (e2 - s2) }'
  grep -o "sha256 [0-9a-f]*" "$out/image.err"
  grep "squall cpu" "$out/image.err"
  echo "moto cpu time (hh:mm:ss, whole seconds) before imaging: $moto_before, after: $moto_cpu"
  sha256sum "$out/images/$snap.raw" | cut -c1-64
  ;;
*) echo "usage: bench/aws.sh isolate [COUNTS] | image [GIB]" >&2; exit 2 ;;
esac
