#!/usr/bin/env bash
# Large layers: layerc build against Info-ZIP on a ~150 MB layer of real libraries (time and size,
# side by side in one run), peak memory for that layer and a ~250 MB one, and the speed-up and
# identical bytes per thread count. See docs/performance.md.
#
# Usage: bash benches/large.sh [--threads 1,2,4,8,16]
# Environment: RUNS (default 5), WARMUP (default 1), KEEP=1 keeps the work folder.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${RUNS:-5}"
WARMUP="${WARMUP:-1}"
THREADS="1,2,4,8,16"
[ "${1:-}" = --threads ] && THREADS="${2:?--threads takes a list such as 1,2,16}"
BENCH=large.sh
# shellcheck source=benches/large_layer.sh
. "$ROOT/benches/large_layer.sh"

# ---------------------------------------------------------------- tools and inputs
need hyperfine hyperfine
need zip zip
need unzip unzip
need libdeflate-gzip libdeflate-tools
[ -x /usr/bin/time ] || apt_install time || die "/usr/bin/time is missing: apt-get install -y time"
# The large libraries: LLVM 15 and 14, ICU 72 and Z3 (Debian 12's packages).
LARGE=(libLLVM-15.so.1:libllvm15 libLLVM-14.so.1:libllvm14 libicudata.so.72.1:libicu72
    libicuuc.so.72.1:libicu72 libicui18n.so.72.1:libicu72 libz3.so.4:libz3-4)
need_libs "${LARGE[@]}"

build_layerc

make_work large
# Every build below is a cold one: its own store, emptied first (a store hit would skip the work).
STORE="$WORK/store"
peak_rss_mb() { # peak_rss_mb DIR: peak RSS of one build, in MB
    rm -rf "$STORE"
    /usr/bin/time -v "$LAYERC" build "$1/layer.kdl" --store "$STORE" --out "$1/rss" 2>"$1/time.txt" >/dev/null
    awk '/Maximum resident/ { printf "%.1f", $NF / 1024 }' "$1/time.txt"
}

# ---------------------------------------------------------------- ~150 MB: against Info-ZIP
L150="$WORK/150"
spec "$L150" libLLVM-15.so.1 libicudata.so.72.1 libicuuc.so.72.1 libicui18n.so.72.1
"$LAYERC" build "$L150/layer.kdl" --store "$STORE" --out "$L150/out" >/dev/null 2>&1 || die "layerc build failed on $L150/layer.kdl"
mkdir -p "$L150/stage" && (cd "$L150/stage" && unzip -q "$L150/out/big.zip")
(cd "$L150/stage" && zip -q -r -y -X -6 "$L150/peer.zip" lib/)
unzip -tq "$L150/out/big.zip" >/dev/null || die "unzip -t rejects layerc's zip"
UNZIPPED=$(du -sb "$L150/stage/lib" | cut -f1)
# The floor: libdeflate alone at level 6 on the same bytes, split evenly into one part per core,
# one process per part, each byte read once, no SHA-256, nothing written to disk: no libdeflate
# writer at this level can be faster on this machine.
FLOOR="$WORK/floor"
mkdir -p "$FLOOR" && cat "$L150"/stage/lib/* >"$FLOOR/all"
split -n "$(nproc)" "$FLOOR/all" "$FLOOR/part." && rm "$FLOOR/all"
FLOOR_CMD="sh -c 'for p in $FLOOR/part.*; do libdeflate-gzip -6 -c \$p >/dev/null & done; wait'"
echo
echo "== ~150 MB layer: $((UNZIPPED / 1000000)) MB unzipped, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" --export-json "$WORK/150.json" \
    -n "layerc build" --prepare "rm -rf $STORE $L150/out" "$LAYERC build $L150/layer.kdl --store $STORE --out $L150/out" \
    -n "zip -r -y -X -6" --prepare "rm -f $L150/peer.zip" "sh -c 'cd $L150/stage && zip -q -r -y -X -6 $L150/peer.zip lib/'" \
    -n "libdeflate floor" --prepare true "$FLOOR_CMD"
RSS150=$(peak_rss_mb "$L150")

# ---------------------------------------------------------------- ~250 MB: memory
L250="$WORK/250"
spec "$L250" libLLVM-15.so.1 libLLVM-14.so.1 libz3.so.4
RSS250=$(peak_rss_mb "$L250")
SIZE250=$(stat -c %s "$L250/rss/big.zip")

# ---------------------------------------------------------------- threads: speed-up, same bytes
echo
echo "== threads ($THREADS) on the ~150 MB layer"
SAME=yes
for t in ${THREADS//,/ }; do
    rm -rf "$STORE"
    RAYON_NUM_THREADS=$t "$LAYERC" build "$L150/layer.kdl" --store "$STORE" --out "$L150/t$t" >/dev/null 2>&1
    cmp -s "$L150/t$t/big.zip" "$L150/out/big.zip" || SAME="NO ($t threads differ)"
done
hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" --export-json "$WORK/threads.json" \
    -L t "$THREADS" --prepare "rm -rf $STORE" \
    "env RAYON_NUM_THREADS={t} $LAYERC build $L150/layer.kdl --store $STORE --out $L150/t{t}"

# ---------------------------------------------------------------- summary
echo
echo "== summary ($(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
python3 - "$WORK" "$(stat -c %s "$L150/out/big.zip")" "$(stat -c %s "$L150/peer.zip")" \
    "$RSS150" "$RSS250" "$SIZE250" "$(du -cb $(sed -n 's/^    file "\([^"]*\)".*/\1/p' "$L250/layer.kdl") | tail -1 | cut -f1)" "$SAME" <<'EOF'
import json, os, sys
work, ours, peer, rss150, rss250, size250, unzipped250, same = sys.argv[1:]
r = {x["command"]: x for x in json.load(open(os.path.join(work, "150.json")))["results"]}
a, b = r["layerc build"], r["zip -r -y -X -6"]
print("~150 MB layer  layerc build %7.0f ms ±%4.0f   zip -6 %7.0f ms ±%4.0f   speed %.2fx (median %.2fx)"
      % (a["mean"] * 1e3, (a["stddev"] or 0) * 1e3, b["mean"] * 1e3, (b["stddev"] or 0) * 1e3,
         b["mean"] / a["mean"], b["median"] / a["median"]))
f = r["libdeflate floor"]
print("               libdeflate-gzip -6, one process per core: %7.0f ms ±%4.0f: Info-ZIP / floor = %.2fx, layerc / floor = %.2f"
      % (f["mean"] * 1e3, (f["stddev"] or 0) * 1e3, b["mean"] / f["mean"], a["mean"] / f["mean"]))
print("               zip bytes: layerc %d, Info-ZIP %d, size ratio %.4f" % (int(ours), int(peer), int(ours) / int(peer)))
print("               peak RSS of layerc build: %s MB" % rss150)
print("~250 MB layer  %.0f MB unzipped -> %d bytes zipped, peak RSS of layerc build: %s MB"
      % (int(unzipped250) / 1e6, int(size250), rss250))
t = json.load(open(os.path.join(work, "threads.json")))["results"]
base = t[0]["mean"]
print("threads        same zip bytes with every thread count: %s" % same)
for x in t:
    n = x["parameters"]["t"]
    print("               %3s threads %7.0f ms ±%4.0f   speed-up %.2fx" % (n, x["mean"] * 1e3, (x["stddev"] or 0) * 1e3, base / x["mean"]))
print("\nspeed = Info-ZIP mean / layerc mean: above 1, layerc is faster. size ratio below 1: layerc's zip is smaller.")
print("Absolute times depend on the machine and its load; compare ratios measured in the same run.")
EOF
