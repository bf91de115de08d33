#!/usr/bin/env bash
# The remote cache: runner A's cold build of a ~150 MB layer of real libraries (empty store, no
# cache: every file read, hashed and compressed) against runner B building the same layer from
# layer.lock and an S3 cache (Garage on 127.0.0.1) with no rootfs at all, side by side in one
# hyperfine run, B's outputs compared byte for byte with A's. Bar: B < 5 % of A. See
# docs/performance.md.
#
# Usage: bash benches/fleet.sh
# Environment: RUNS (default 5), WARMUP (default 1), KEEP=1 keeps the work folder,
# LAYERC_TEST_GARAGE (default ~/.cache/layerc-ci/garage-2.5.0/bin/garage, as .ci/run builds it).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${RUNS:-5}"
WARMUP="${WARMUP:-1}"
BENCH=fleet.sh
# shellcheck source=benches/large_layer.sh
. "$ROOT/benches/large_layer.sh"

# ---------------------------------------------------------------- tools and inputs
need hyperfine hyperfine
GARAGE="${LAYERC_TEST_GARAGE:-$HOME/.cache/layerc-ci/garage-2.5.0/bin/garage}"
[ -x "$GARAGE" ] || die "no garage at $GARAGE: cargo install --locked garage --version 2.5.0 --root ~/.cache/layerc-ci/garage-2.5.0"
# The same ~150 MB layer as benches/large.sh and store.sh: LLVM 15 and ICU 72 (Debian 12's packages).
LARGE=(libLLVM-15.so.1:libllvm15 libicudata.so.72.1:libicu72 libicuuc.so.72.1:libicu72 libicui18n.so.72.1:libicu72)
need_libs "${LARGE[@]}"

build_layerc
make_work fleet

# ---------------------------------------------------------------- Garage, one node on loopback
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
RPC=$(port) S3=$(port)
mkdir -p "$WORK/garage"
cat >"$WORK/garage/garage.toml" <<EOF
metadata_dir = "$WORK/garage/meta"
data_dir = "$WORK/garage/data"
db_engine = "sqlite"
replication_factor = 1
# Zips are compressed already: storing them as they are is what a cache of zips is configured with.
compression_level = "none"
rpc_bind_addr = "127.0.0.1:$RPC"
rpc_public_addr = "127.0.0.1:$RPC"
rpc_secret = "$(python3 -c 'import secrets; print(secrets.token_hex(32))')"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$S3"
EOF
g() { "$GARAGE" -c "$WORK/garage/garage.toml" "$@"; }
RUST_LOG=warn "$GARAGE" -c "$WORK/garage/garage.toml" server >"$WORK/garage/server.log" 2>&1 &
GARAGE_PID=$!
if [ "${KEEP:-}" = 1 ]; then
    trap 'kill $GARAGE_PID; echo "work folder kept: $WORK"' EXIT
else
    trap 'kill $GARAGE_PID; rm -rf "$WORK"' EXIT
fi
for _ in $(seq 100); do g status >/dev/null 2>&1 && break; sleep 0.2; done
g layout assign -z dc1 -c 1G "$(g node id -q | cut -d@ -f1)" >/dev/null
g layout apply --version 1 >/dev/null
export AWS_ACCESS_KEY_ID=GK0123456789abcdef01234567
export AWS_SECRET_ACCESS_KEY=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
export AWS_EC2_METADATA_DISABLED=true
g key import --yes -n bench "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >/dev/null
g bucket create layers >/dev/null
g bucket allow --read --write --owner layers --key bench >/dev/null

# ---------------------------------------------------------------- runner A and runner B
(cd "$WORK" && "$LAYERC" cache keygen bench-1 >/dev/null 2>&1) || die "keygen failed"
A="$WORK/a" B="$WORK/b"
spec "$A" "${LARGE[@]%%:*}"
# A's rootfs is the host, through a link B does not have: B has no rootfs at all.
ln -s / "$A/rootfs"
sed -i 's|rootfs "/"|rootfs "rootfs"|' "$A/layer.kdl"
cat >>"$A/layer.kdl" <<EOF
cache "s3://layers/fleet?endpoint=http://127.0.0.1:$S3&region=garage" push=#true
trusted-key "$(cat "$WORK/bench-1.public")"
EOF
"$LAYERC" build "$A/layer.kdl" --store "$WORK/store-a" --signing-key "$WORK/bench-1.secret" 2>"$WORK/a.txt" >/dev/null ||
    die "runner A failed: $(cat "$WORK/a.txt")"
grep -q "pushed to s3://layers/fleet" "$WORK/a.txt" || die "runner A did not push: $(cat "$WORK/a.txt")"
mkdir -p "$B"
cp "$A/layer.kdl" "$A/layer.lock" "$B/"
"$LAYERC" build "$B/layer.kdl" --locked --store "$WORK/store-b" 2>"$WORK/b.txt" >/dev/null ||
    die "runner B failed: $(cat "$WORK/b.txt")"
grep -q "no rootfs was opened" "$WORK/b.txt" || die "runner B did not build from the lock alone: $(cat "$WORK/b.txt")"
SAME=yes
for f in build/big.zip build/serverless.template.json layer.lock; do
    cmp -s "$A/$f" "$B/$f" || SAME="NO ($f differs)"
done

# ---------------------------------------------------------------- side by side
UNZIPPED=$(du -cbL $(sed -n 's/.*file "\([^"]*\)".*/\1/p' "$A/layer.kdl") | tail -1 | cut -f1)
ZIP=$(stat -c %s "$A/build/big.zip")
echo
echo "== ~150 MB layer: $((UNZIPPED / 1000000)) MB unzipped, zip $((ZIP / 1000000)) MB, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" --export-json "$WORK/fleet.json" \
    -n "A: cold build" --prepare "rm -rf $WORK/store-cold $WORK/cold" \
    "$LAYERC build $A/layer.kdl --no-cache --store $WORK/store-cold --out $WORK/cold" \
    -n "B: from layer.lock and the cache" --prepare "rm -rf $WORK/store-b $B/build" \
    "$LAYERC build $B/layer.kdl --locked --store $WORK/store-b" \
    -n "B, one connection" --prepare "rm -rf $WORK/store-b $B/build" \
    "env LAYERC_CACHE_CONNECTIONS=1 $LAYERC build $B/layer.kdl --locked --store $WORK/store-b"

# ---------------------------------------------------------------- summary
echo
echo "== summary ($(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
python3 - "$WORK/fleet.json" "$SAME" "$ZIP" <<'EOF'
import json, sys
path, same, size = sys.argv[1:]
r = {x["command"]: x for x in json.load(open(path))["results"]}
a, b, one = r["A: cold build"], r["B: from layer.lock and the cache"], r["B, one connection"]
ratio = b["mean"] / a["mean"]
for name, x in [("A: cold build", a), ("B: from layer.lock and the cache", b), ("B, one connection", one)]:
    print("%-34s %8.1f ms ± %6.1f   (median %8.1f ms)" % (name, x["mean"] * 1e3, x["stddev"] * 1e3, x["median"] * 1e3))
print("B / A   %.2f %% of the mean, %.2f %% of the median   (bar: < 5 %%: %s); one connection: %.2f %%"
      % (100 * ratio, 100 * b["median"] / a["median"], "met" if ratio < 0.05 else "NOT MET", 100 * one["mean"] / a["mean"]))
print("B downloads the %d-byte zip from Garage on 127.0.0.1, checks its signed entry and sha256, and stores it" % int(size))
print("outputs of A and B (zip, template, layer.lock) identical: %s" % same)
print("Absolute times depend on the machine and its load; compare ratios measured in the same run.")
EOF
