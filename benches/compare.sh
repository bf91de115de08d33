#!/usr/bin/env bash
# layerc against its peers, on the same inputs, in the same run.
#
#   resolution  `layerc graph SPEC --format json`  vs  `lddtree -l LIB...`      (pax-utils)
#   archiving   `layerc build SPEC --out DIR`      vs  `zip -q -r -y -X -6 out.zip lib/`   (Info-ZIP)
#               on a small layer (~9 MB of libraries) and a large one (the same plus ICU, ~45 MB)
#
# Prints each peer's mean time, layerc's, and their ratio (layerc / peer: below 1 means layerc is
# faster). The machine may be shared and noisy: read the ratios, not the absolute times.
# See benches/README.md.
#
# Usage: bash benches/compare.sh            (from any folder)
# Environment: RUNS (default 10), RUNS_LARGE (default 6), WARMUP (default 3),
#              KEEP=1 to keep the work folder (specs, zips, hyperfine JSON) and print where it is,
#              NO_HYPERFINE=1 to use the date +%s%N loop even where hyperfine is installed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${RUNS:-10}"
RUNS_LARGE="${RUNS_LARGE:-6}"
WARMUP="${WARMUP:-3}"
LIBDIR=/usr/lib/x86_64-linux-gnu
DEBPY=/usr/bin/python3 # Debian's python: lddtree needs its pyelftools

die() {
    echo "compare.sh: $*" >&2
    exit 2
}

# ---------------------------------------------------------------- tools
ensure() { # ensure COMMAND APT_PACKAGE: install the package when the command is missing and we can
    command -v "$1" >/dev/null 2>&1 && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing $2 (for $1) ..."
        apt-get install -y -qq "$2" >/dev/null 2>&1 ||
            { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "$2" >/dev/null 2>&1; } || true
    fi
    command -v "$1" >/dev/null 2>&1
}

[ -x "$DEBPY" ] || die "$DEBPY is missing (lddtree runs on Debian's python3)"
ensure lddtree pax-utils || die "lddtree is missing: apt-get install -y pax-utils"
ensure zip zip || die "zip is missing: apt-get install -y zip"
ensure unzip unzip || die "unzip is missing: apt-get install -y unzip"
"$DEBPY" -c 'import elftools' 2>/dev/null || die "$DEBPY lacks pyelftools: apt-get install -y python3-pyelftools"
HYPERFINE=1
if [ "${NO_HYPERFINE:-}" = 1 ]; then HYPERFINE=0; else ensure hyperfine hyperfine || HYPERFINE=0; fi
[ -d "$LIBDIR" ] || die "$LIBDIR is missing: this benchmark expects Debian/Ubuntu x86_64"

echo "== building layerc (cargo build --release)"
(cd "$ROOT" && cargo build --release --quiet --bin layerc) || die "cargo build --release failed"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
LAYERC="$TARGET_DIR/release/layerc"
[ -x "$LAYERC" ] || die "no binary at $LAYERC"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/layerc-bench.XXXXXX")"
if [ "${KEEP:-}" = 1 ]; then
    trap 'echo "work folder kept: $WORK"' EXIT
else
    trap 'rm -rf "$WORK"' EXIT
fi

# ---------------------------------------------------------------- timing
# bench JSON CWD NAME PREPARE COMMAND [NAME PREPARE COMMAND ...]
# Times each COMMAND (run in CWD, output discarded, PREPARE run untimed before each run) and writes
# hyperfine's --export-json shape: {"results": [{"command", "mean", "stddev", "median", "min",
# "max", "times"}]} in seconds. Uses hyperfine when present, else a date +%s%N loop.
bench() {
    local json="$1" cwd="$2"
    shift 2
    if [ "$HYPERFINE" = 1 ]; then
        local args=(-N --style basic --warmup "$WARMUP" --runs "$n_runs" --export-json "$json")
        while [ $# -gt 0 ]; do
            args+=(-n "$1" --prepare "$2" "$3")
            shift 3
        done
        (cd "$cwd" && hyperfine "${args[@]}")
    else
        local names=() files=() name prep cmd i t0 t1 out
        while [ $# -gt 0 ]; do
            name="$1" prep="$2" cmd="$3"
            shift 3
            out="$WORK/times.$RANDOM.txt"
            : >"$out"
            (
                cd "$cwd"
                for ((i = 0; i < WARMUP + n_runs; i++)); do
                    eval "$prep" >/dev/null 2>&1
                    t0=$(date +%s%N)
                    eval "$cmd" >/dev/null 2>&1
                    t1=$(date +%s%N)
                    if [ "$i" -ge "$WARMUP" ]; then echo $((t1 - t0)) >>"$out"; fi
                done
            )
            printf '  %-22s %s\n' "$name" "$("$DEBPY" -c 'import sys,statistics as s; t=[int(x)/1e6 for x in open(sys.argv[1])]; print("mean %.1f ms ± %.1f ms (%d runs)" % (s.mean(t), s.stdev(t) if len(t)>1 else 0, len(t)))' "$out")"
            names+=("$name")
            files+=("$out")
        done
        "$DEBPY" - "$json" "${names[@]}" -- "${files[@]}" <<'EOF'
import json, statistics as st, sys
out, rest = sys.argv[1], sys.argv[2:]
cut = rest.index("--")
names, files = rest[:cut], rest[cut + 1:]
results = []
for name, path in zip(names, files):
    t = [int(x) / 1e9 for x in open(path)]
    results.append({"command": name, "mean": st.mean(t), "stddev": st.stdev(t) if len(t) > 1 else 0.0,
                    "median": st.median(t), "min": min(t), "max": max(t), "times": t})
json.dump({"results": results}, open(out, "w"), indent=1)
EOF
    fi
}

q() { printf '%q' "$1"; } # quote one word for a command string

# ---------------------------------------------------------------- 1. resolution
RES_WANT=(libxml2.so.2 libcurl.so.4 libicui18n.so.72 libfreetype.so.6 libsqlite3.so.0
    libgssapi_krb5.so.2 libssl.so.3 libpython3.11.so.1.0 libpq.so.5 libldap-2.5.so.0 libmagic.so.1
    libtiff.so.6 libcairo.so.2 libglib-2.0.so.0 libX11.so.6 libgnutls.so.30 libjpeg.so.62
    libpng16.so.16)
RES_LIBS=()
for lib in "${RES_WANT[@]}"; do
    if [ -e "$LIBDIR/$lib" ]; then RES_LIBS+=("$lib"); else echo "note: $LIBDIR/$lib is absent, left out"; fi
done
[ "${#RES_LIBS[@]}" -ge 5 ] || die "fewer than 5 of the benchmark's libraries exist in $LIBDIR"

mkdir -p "$WORK/resolve"
{
    echo 'layer "bench" {'
    echo '    runtime "provided.al2023"'
    echo '    rootfs "/"'
    for lib in "${RES_LIBS[@]}"; do echo "    library \"$lib\""; done
    echo '}'
} >"$WORK/resolve/layer.kdl"
# Full closures, as lddtree computes them: override=#true ships (and so follows) provided libraries too.
sed 's/^\(    library "[^"]*"\)$/\1 override=#true/' "$WORK/resolve/layer.kdl" >"$WORK/resolve/full.kdl"
RES_PATHS=()
for lib in "${RES_LIBS[@]}"; do RES_PATHS+=("$LIBDIR/$lib"); done

echo
echo "== resolution: ${#RES_LIBS[@]} libraries (${RES_LIBS[*]})"
"$LAYERC" graph "$WORK/resolve/layer.kdl" --format json >"$WORK/resolve/graph.json" ||
    die "layerc graph failed on $WORK/resolve/layer.kdl (KEEP=1 keeps it)"
"$DEBPY" /usr/bin/lddtree -l "${RES_PATHS[@]}" >"$WORK/resolve/lddtree.txt" || die "lddtree failed"
"$DEBPY" "$ROOT/benches/graph_diff.py" "$WORK/resolve/graph.json" "$WORK/resolve/lddtree.txt" "${RES_PATHS[@]}"

ldd_cmd="$(q "$DEBPY") /usr/bin/lddtree -l"
for p in "${RES_PATHS[@]}"; do ldd_cmd+=" $(q "$p")"; done
n_runs="$RUNS"
bench "$WORK/resolve.json" "$WORK/resolve" \
    "layerc graph" true "$(q "$LAYERC") graph $(q "$WORK/resolve/layer.kdl") --format json" \
    "layerc graph (full)" true "$(q "$LAYERC") graph $(q "$WORK/resolve/full.kdl") --format json" \
    "lddtree" true "$ldd_cmd" \
    "lddtree start-up" true "$(q "$DEBPY") /usr/bin/lddtree --help"

# ---------------------------------------------------------------- 2. archiving
# Libraries that pass validation for provided.al2023 (GLIBC <= 2.34, GLIBCXX <= 3.4.29) and that the
# runtime lacks, so they are shipped; libpng16.so, when present, is an alias shipped as a symlink.
ARC_WANT=(libfreetype.so.6 libpng16.so.16 libpng16.so libjpeg.so.62 libtiff.so.6 libX11.so.6
    libldap-2.5.so.0 libpq.so.5 libgnutls.so.30)
# ICU's libraries need GLIBCXX_3.4.30 on Debian 12, which fails validation as `library`: they are
# shipped as plain `file` entries, which are copied as they are. libicudata is ~30 MB of tables.
ICU_FILES=(libicudata.so.72.1:libicudata.so.72 libicuuc.so.72.1:libicuuc.so.72 libicui18n.so.72.1:libicui18n.so.72)

write_archive_spec() { # write_archive_spec DIR NAME WITH_ICU
    local dir="$1" name="$2" icu="$3" lib f
    mkdir -p "$dir"
    {
        echo "layer \"$name\" {"
        echo '    runtime "provided.al2023"'
        echo '    rootfs "/"'
        for lib in "${ARC_WANT[@]}"; do [ -e "$LIBDIR/$lib" ] && echo "    library \"$lib\""; done
        if [ "$icu" = 1 ]; then
            for f in "${ICU_FILES[@]}"; do
                [ -e "$LIBDIR/${f%%:*}" ] && echo "    file \"$LIBDIR/${f%%:*}\" to=\"lib/${f##*:}\""
            done
        fi
        echo '}'
    } >"$dir/layer.kdl"
}

# archive_case KEY NAME WITH_ICU RUNS: build once, stage the zip's files, zip them once, compare the
# two zips' contents, then time both.
archive_case() {
    local key="$1" name="$2" icu="$3" dir="$WORK/$1"
    write_archive_spec "$dir" "$name" "$icu"
    echo
    echo "== archiving ($key): $(grep -cE '^    (library|file) ' "$dir/layer.kdl") spec entries"
    local rc=0
    # Its own store, emptied before each timed build: a store hit would skip the work.
    "$LAYERC" build "$dir/layer.kdl" --store "$dir/store" --out "$dir/out" >"$dir/build.log" 2>&1 || rc=$?
    if [ "$rc" != 0 ]; then
        echo "  layerc build failed (exit $rc); skipped. Its diagnostics:"
        grep -E '×|error' "$dir/build.log" | sed 's/^/    /' | head -20
        return 0
    fi
    local lzip="$dir/out/$name.zip"
    mkdir -p "$dir/stage"
    (cd "$dir/stage" && unzip -q "$lzip")
    (cd "$dir/stage" && zip -q -r -y -X -6 "$dir/peer.zip" lib/)
    "$DEBPY" - "$lzip" "$dir/peer.zip" <<'EOF'
import stat, sys, zipfile
def entries(path):
    z = zipfile.ZipFile(path)
    out = {}
    for i in z.infolist():
        link = stat.S_ISLNK(i.external_attr >> 16)
        out[i.filename] = (i.CRC, i.file_size, "link" if link else "dir" if i.is_dir() else "file")
    return out
a, b = entries(sys.argv[1]), entries(sys.argv[2])
size = sum(v[1] for v in a.values() if v[2] == "file")
print("  %d entries, %.1f MB unzipped; same names, CRCs, sizes and kinds in both zips: %s"
      % (len(a), size / 1e6, "yes" if a == b else "NO"))
for k in sorted(set(a) | set(b)):
    if a.get(k) != b.get(k):
        print("    differs: %s layerc=%s zip=%s" % (k, a.get(k), b.get(k)))
EOF
    n_runs="$4"
    bench "$WORK/$key.json" "$dir/stage" \
        "layerc build" "rm -rf $(q "$dir/out") $(q "$dir/store")" "$(q "$LAYERC") build $(q "$dir/layer.kdl") --store $(q "$dir/store") --out $(q "$dir/out")" \
        "zip -6" "rm -f $(q "$dir/peer.zip")" "zip -q -r -y -X -6 $(q "$dir/peer.zip") lib/" \
        "layerc check" true "$(q "$LAYERC") check $(q "$dir/layer.kdl")"
    echo "$key $(stat -c %s "$lzip") $(stat -c %s "$dir/peer.zip")" >>"$WORK/sizes.txt"
}

: >"$WORK/sizes.txt"
archive_case archive-small small 0 "$RUNS"
archive_case archive-icu icu 1 "$RUNS_LARGE"

# ---------------------------------------------------------------- summary
echo
echo "== summary ($(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $([ "$HYPERFINE" = 1 ] && echo hyperfine || echo 'date loop'), warmup $WARMUP)"
"$DEBPY" - "$WORK" <<'EOF'
import json, os, sys
work = sys.argv[1]
sizes = {}
for line in open(os.path.join(work, "sizes.txt")):
    key, a, b = line.split()
    sizes[key] = (int(a), int(b))
rows = [("resolution", "resolve", "layerc graph", "lddtree"),
        ("full closure", "resolve", "layerc graph (full)", "lddtree"),
        ("archive small", "archive-small", "layerc build", "zip -6"),
        ("archive ICU", "archive-icu", "layerc build", "zip -6")]
head = "%-14s %-19s %11s  %-8s %11s  %6s %6s  %12s %12s %6s" % (
    "task", "layerc", "mean ms", "peer", "mean ms", "ratio", "median", "layerc bytes", "peer bytes", "size")
print(head)
print("-" * len(head))
notes = []
for label, key, ours, peer in rows:
    path = os.path.join(work, key + ".json")
    if not os.path.exists(path):
        print("%-14s (skipped)" % label)
        continue
    res = {r["command"]: r for r in json.load(open(path))["results"]}
    a, b = res[ours], res[peer]
    line = "%-14s %-19s %6.1f ±%3.0f  %-8s %6.1f ±%3.0f  %6.3f %6.3f" % (
        label, ours, a["mean"] * 1e3, a["stddev"] * 1e3, peer, b["mean"] * 1e3, b["stddev"] * 1e3,
        a["mean"] / b["mean"], a["median"] / b["median"])
    if key in sizes:
        la, pb = sizes[key]
        line += "  %12d %12d %6.3f" % (la, pb, la / pb)
    print(line)
    if "lddtree start-up" in res and ours == "layerc graph":
        s = res["lddtree start-up"]
        notes.append("%s: lddtree's start-up alone (python3 lddtree --help) %.1f ms; without it lddtree "
                     "takes about %.1f ms, and layerc graph %.3f x that"
                     % (label, s["mean"] * 1e3, (b["mean"] - s["mean"]) * 1e3, a["mean"] / (b["mean"] - s["mean"])))
    if "layerc check" in res and ours == "layerc build":
        c = res["layerc check"]
        notes.append("%s: layerc check (resolution + validation, no zip) %.1f ms, so about %.1f ms of "
                     "layerc build is reading, checksumming and compressing (%.3f x zip's mean)"
                     % (label, c["mean"] * 1e3, (a["mean"] - c["mean"]) * 1e3, (a["mean"] - c["mean"]) / b["mean"]))
print()
print("ratio = layerc mean / peer mean (median = the same with medians); below 1: layerc is faster.")
print("size = layerc zip bytes / zip -6 bytes; below 1: layerc's zip is smaller.")
for n in notes:
    print(n)
EOF
