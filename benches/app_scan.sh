#!/usr/bin/env bash
# `layerc scan APP` against the same job done by a standard tool in the same run: lddtree (pax-utils)
# resolving the dependency closure of every ELF object of the application. The application is
# /usr/lib/x86_64-linux-gnu, about a thousand shared objects (layerc also checks symbol versions
# and Lambda's search path, which lddtree does not). Prints both mean times and their ratio
# (layerc / peer: below 1 means layerc is faster).
#
# Usage: bash benches/app_scan.sh   (Debian/Ubuntu x86_64; needs hyperfine and lddtree)
# Environment: RUNS (default 3), WARMUP (default 1), APP (default /usr/lib/x86_64-linux-gnu).
# lddtree takes about a minute per run on that folder.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${RUNS:-3}"
WARMUP="${WARMUP:-1}"
APP="${APP:-/usr/lib/x86_64-linux-gnu}"
command -v hyperfine >/dev/null || { echo "app_scan.sh: needs hyperfine" >&2; exit 2; }
[ -x /usr/bin/lddtree ] || { echo "app_scan.sh: needs lddtree (pax-utils)" >&2; exit 2; }
cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml"
LAYERC="$ROOT/target/release/layerc"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# The ELF objects layerc's walk finds: regular files starting with the ELF magic.
find "$APP" -type f -print0 | xargs -0 -r file --no-pad -F '|' \
    | awk -F'|' '$2 ~ /^ ELF/ {print $1}' >"$WORK/objects"
echo "$(wc -l <"$WORK/objects") ELF objects under $APP" >&2
# Debian's python3, which has pyelftools (another python3 on PATH may not).
PEER="xargs -a $WORK/objects -d '\n' /usr/bin/python3 /usr/bin/lddtree -l >/dev/null"
OURS="$LAYERC scan $APP --runtime provided.al2023 --format json >/dev/null || true"
hyperfine --warmup "$WARMUP" --runs "$RUNS" --export-json "$WORK/scan.json" \
    -n peer "$PEER" -n layerc "$OURS" >&2
python3 - "$WORK/scan.json" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
print(f"scan APP: peer (lddtree) {r['peer']*1000:.0f} ms, layerc {r['layerc']*1000:.0f} ms, ratio {r['layerc']/r['peer']:.3f}")
PY
