#!/usr/bin/env bash
# `layerc runtime scan /` against the same job done by standard tools in the same run: GNU find
# lists the shared objects of the loader's default folders (following symlinks to files) and
# binutils' readelf reads the version definitions of libc, libstdc++ and libgcc_s.
# Prints both mean times and their ratio (layerc / peer: below 1 means layerc is faster).
#
# Usage: bash benches/scan.sh   (Debian/Ubuntu x86_64; needs hyperfine, find, readelf)
# Environment: RUNS (default 10), WARMUP (default 3).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${RUNS:-10}"
WARMUP="${WARMUP:-3}"
command -v hyperfine >/dev/null || { echo "scan.sh: needs hyperfine" >&2; exit 2; }
cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml"
LAYERC="$ROOT/target/release/layerc"
M=/usr/lib/x86_64-linux-gnu
DIRS="/lib64 /usr/lib64 /lib /usr/lib /lib/x86_64-linux-gnu $M"
PEER="find $DIRS -maxdepth 1 -name '*.so*' -xtype f 2>/dev/null | sort -u >/dev/null; readelf -V --wide $M/libc.so.6 $M/libstdc++.so.6 $M/libgcc_s.so.1 >/dev/null"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
hyperfine --warmup "$WARMUP" --runs "$RUNS" --export-json "$WORK/scan.json" \
    -n peer "$PEER" -n layerc "$LAYERC runtime scan / --name host >/dev/null" >&2
python3 - "$WORK/scan.json" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
print(f"scan /: peer {r['peer']*1000:.1f} ms, layerc {r['layerc']*1000:.1f} ms, ratio {r['layerc']/r['peer']:.2f}")
PY
