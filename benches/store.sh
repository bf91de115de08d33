#!/usr/bin/env bash
# The store: a cold build of a ~150 MB layer of real libraries (empty store: every file read,
# hashed and compressed) against a no-op rebuild (same inputs: the stored zip is linked), side by
# side in one hyperfine run, with the outputs of both compared byte for byte; and what copying
# the stored zip instead of linking it would cost. Bar: no-op ≤ 2 % of cold. See
# docs/performance.md.
#
# Usage: bash benches/store.sh
# Environment: RUNS (default 5), WARMUP (default 1), KEEP=1 keeps the work folder.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${RUNS:-5}"
WARMUP="${WARMUP:-1}"
BENCH=store.sh
# shellcheck source=benches/large_layer.sh
. "$ROOT/benches/large_layer.sh"

# ---------------------------------------------------------------- tools and inputs
need hyperfine hyperfine
# The same ~150 MB layer as benches/large.sh: LLVM 15 and ICU 72 (Debian 12's packages).
LARGE=(libLLVM-15.so.1:libllvm15 libicudata.so.72.1:libicu72 libicuuc.so.72.1:libicu72 libicui18n.so.72.1:libicu72)
need_libs "${LARGE[@]}"

build_layerc
make_work store

L150="$WORK/150"
spec "$L150" "${LARGE[@]%%:*}"

# ---------------------------------------------------------------- outputs: cold and no-op agree
COLD_STORE="$WORK/store-cold" WARM_STORE="$WORK/store-warm"
"$LAYERC" build "$L150/layer.kdl" --store "$COLD_STORE" --out "$L150/cold" >/dev/null 2>&1 || die "cold build failed"
cp "$L150/layer.lock" "$L150/cold.lock"
"$LAYERC" build "$L150/layer.kdl" --store "$WARM_STORE" --out "$L150/warm" >/dev/null 2>&1 || die "priming build failed"
# Past the stat index's racy window (2 s), stamps are trusted without reading: the steady state.
sleep 3
"$LAYERC" build "$L150/layer.kdl" --store "$WARM_STORE" --out "$L150/warm" 2>"$L150/noop.txt" >/dev/null || die "no-op build failed"
grep -q "from the store" "$L150/noop.txt" || die "the no-op rebuild did not come from the store: $(cat "$L150/noop.txt")"
SAME=yes
cmp -s "$L150/cold/big.zip" "$L150/warm/big.zip" || SAME="NO (zip differs)"
cmp -s "$L150/cold/serverless.template.json" "$L150/warm/serverless.template.json" || SAME="NO (template differs)"
cmp -s "$L150/cold.lock" "$L150/layer.lock" || SAME="NO (layer.lock differs)"
ENTRY="$(ls "$WARM_STORE"/zips/*.zip)"

# ---------------------------------------------------------------- side by side
UNZIPPED=$(du -cb $(sed -n 's/^    file "\([^"]*\)".*/\1/p' "$L150/layer.kdl") | tail -1 | cut -f1)
echo
echo "== ~150 MB layer: $((UNZIPPED / 1000000)) MB unzipped, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" --export-json "$WORK/store.json" \
    -n "cold build" --prepare "rm -rf $COLD_STORE $L150/cold" \
    "$LAYERC build $L150/layer.kdl --store $COLD_STORE --out $L150/cold" \
    -n "no-op rebuild" --prepare "true" "$LAYERC build $L150/layer.kdl --store $WARM_STORE --out $L150/warm" \
    -n "cp of the stored zip" --prepare "rm -f $WORK/copy.zip" "cp --reflink=never $ENTRY $WORK/copy.zip"

# ---------------------------------------------------------------- summary
echo
echo "== summary ($(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
python3 - "$WORK/store.json" "$SAME" "$(stat -c %s "$ENTRY")" <<'EOF'
import json, sys
path, same, size = sys.argv[1:]
r = {x["command"]: x for x in json.load(open(path))["results"]}
cold, noop, cp = r["cold build"], r["no-op rebuild"], r["cp of the stored zip"]
ratio = noop["mean"] / cold["mean"]
print("cold build     %8.1f ms ± %6.1f   (median %8.1f ms)" % (cold["mean"] * 1e3, cold["stddev"] * 1e3, cold["median"] * 1e3))
print("no-op rebuild  %8.1f ms ± %6.1f   (median %8.1f ms)" % (noop["mean"] * 1e3, noop["stddev"] * 1e3, noop["median"] * 1e3))
print("no-op / cold   %.2f %% of the mean, %.2f %% of the median   (bar: <= 2 %%: %s)"
      % (100 * ratio, 100 * noop["median"] / cold["median"], "met" if ratio <= 0.02 else "NOT MET"))
print("cp of the %d-byte stored zip: %.1f ms ± %.1f (what a copy instead of a hard link would add)"
      % (int(size), cp["mean"] * 1e3, cp["stddev"] * 1e3))
print("outputs of the cold build and the no-op rebuild (zip, template, layer.lock) identical: %s" % same)
print("Absolute times depend on the machine and its load; compare ratios measured in the same run.")
EOF
