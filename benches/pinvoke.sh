#!/usr/bin/env bash
# `layerc scan` of a folder of .NET assemblies (Mono's System, System.Drawing, Mono.Posix and
# Mono.Data.Sqlite from Debian 12) against dnfile (PyPI) reading the same assemblies' P/Invoke
# imports in one Python process, in the same hyperfine run. layerc also maps each import to Linux
# names and resolves it for dotnet8. Prints both mean times and their ratio (layerc / peer: below 1
# means layerc is faster).
#
# Usage: bash benches/pinvoke.sh   (Debian 12; needs hyperfine, apt-get and `pip install dnfile`)
# Environment: RUNS (default 10), WARMUP (default 2).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${RUNS:-10}"
WARMUP="${WARMUP:-2}"
command -v hyperfine >/dev/null || { echo "pinvoke.sh: needs hyperfine" >&2; exit 2; }
python3 -c 'import dnfile' 2>/dev/null || { echo "pinvoke.sh: needs dnfile (pip install dnfile)" >&2; exit 2; }
cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml"
LAYERC="$ROOT/target/release/layerc"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && apt-get download -q libmono-system-drawing4.0-cil libmono-posix4.0-cil \
    libmono-sqlite4.0-cil libmono-system4.0-cil >/dev/null 2>&1)
mkdir "$WORK/app"
for deb in "$WORK"/*.deb; do dpkg-deb -x "$deb" "$WORK/x"; done
find "$WORK/x" -name '*.dll' -type f -exec cp {} "$WORK/app/" \;
echo "$(ls "$WORK/app" | wc -l) assemblies, $(du -sb "$WORK/app" | cut -f1) bytes" >&2
PEER="python3 $ROOT/tests/it/oracles/pinvoke.py $WORK/app/*.dll >/dev/null"
OURS="$LAYERC scan $WORK/app --runtime dotnet8 --format json >/dev/null || true"
hyperfine --warmup "$WARMUP" --runs "$RUNS" --export-json "$WORK/pinvoke.json" \
    -n peer "$PEER" -n layerc "$OURS" >&2
python3 - "$WORK/pinvoke.json" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
print(f"P/Invoke imports: peer (dnfile) {r['peer']*1000:.0f} ms, layerc {r['layerc']*1000:.1f} ms, ratio {r['layerc']/r['peer']:.3f}")
PY
