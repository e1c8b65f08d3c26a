# Sourced by the AWS benchmarks: starts a moto server on a free loopback port (stopped on
# exit), points the AWS SDKs at it with test credentials, and sets `squall_endpoint` to where
# Squall's calls go: moto itself, or, with LATENCY_MS set, a proxy adding that delay to every
# call (AWS round trips, which moto has not). Needs `root` and `out` set, `moto_server` on PATH.
latency=${LATENCY_MS:-0}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && break; sleep 0.1; done; }

port=$(free_port)
moto_server -H 127.0.0.1 -p "$port" >"$out/moto.log" 2>&1 &
moto=$!
proxy=
trap 'kill $moto $proxy 2>/dev/null || true' EXIT
wait_port "$port"
export AWS_ENDPOINT_URL=http://127.0.0.1:$port AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
  AWS_EC2_METADATA_DISABLED=true AWS_REGION=us-east-1
squall_endpoint=$AWS_ENDPOINT_URL
if [ "$latency" != 0 ]; then
  cargo build --release -q -p squall-aws --example latency_proxy
  pport=$(free_port)
  "$root/target/release/examples/latency_proxy" "$pport" "$AWS_ENDPOINT_URL" "$latency" &
  proxy=$!
  wait_port "$pport"
  squall_endpoint=http://127.0.0.1:$pport
fi
