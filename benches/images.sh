#!/usr/bin/env bash
# Container images as rootfs: layerc reading an image against the manual route (unpack with tar,
# then build from the folder), on the same image in the same run.
#
#   unpack+build  `tar -xf IMAGE -C DIR && layerc build SPEC(DIR)`           (GNU tar, zstd)
#   cold          `layerc build SPEC(IMAGE)` with an empty cache (the image is indexed)
#   warm          `layerc build SPEC(IMAGE)` again (the index and shared objects come from the cache)
#
# The image is this machine's /usr/lib/x86_64-linux-gnu (with /usr/lib64, the /lib and /lib64 links
# and /etc/ld.so.conf*), as a flat tar and as a zstd-compressed tar. The spec is the quickstart's
# (FreeType and libpng). Prints mean times and ratios (layerc / unpack+build: below 1 is faster).
#
# Usage: bash benches/images.sh    Environment: RUNS (default 3), KEEP=1 (keep the work folder).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${RUNS:-3}"
command -v hyperfine >/dev/null || { echo "images.sh: needs hyperfine" >&2; exit 2; }
command -v zstd >/dev/null || { echo "images.sh: needs zstd" >&2; exit 2; }

(cd "$ROOT" && cargo build --release --quiet)
LAYERC="$ROOT/target/release/layerc"
WORK="$(mktemp -d -t layerc-images-bench-XXXXXX)"
[ "${KEEP:-}" = 1 ] && echo "work folder: $WORK" || trap 'rm -rf "$WORK"' EXIT

echo "writing the images ..."
tar -C / -cf "$WORK/image.tar" lib lib64 usr/lib64 usr/lib/x86_64-linux-gnu etc/ld.so.conf etc/ld.so.conf.d 2>/dev/null || true
zstd -q -T0 -3 "$WORK/image.tar" -o "$WORK/image.tar.zst"
ls -la "$WORK"/image.tar* | awk '{print $5, $9}'

spec() { # spec ROOTFS
    printf 'layer "fonts" {\n    runtime "provided.al2023"\n    rootfs "%s"\n    library "libfreetype.so.6"\n    library "libpng16.so"\n}\n' "$1"
}
spec "$WORK/unpacked" >"$WORK/folder.kdl"
export LAYERC_CACHE="$WORK/cache"

for image in image.tar image.tar.zst; do
    spec "$WORK/$image" >"$WORK/$image.kdl"
    hyperfine --runs "$RUNS" --style basic --export-json "$WORK/$image.json" \
        -n "unpack+build $image" \
        --prepare "rm -rf '$WORK/unpacked' '$WORK/out' && mkdir '$WORK/unpacked'" \
        "tar -xf '$WORK/$image' -C '$WORK/unpacked' && '$LAYERC' build '$WORK/folder.kdl' --out '$WORK/out'" \
        -n "cold $image" \
        --prepare "rm -rf '$WORK/cache' '$WORK/out'" \
        "'$LAYERC' build '$WORK/$image.kdl' --out '$WORK/out'" \
        -n "warm $image" \
        --prepare "rm -rf '$WORK/out'" \
        "'$LAYERC' build '$WORK/$image.kdl' --out '$WORK/out'"
done

echo
echo "image                 unpack+build  cold      warm      cold/unpack  warm/unpack"
for image in image.tar image.tar.zst; do
    python3 - "$WORK/$image.json" "$image" <<'PY'
import json, sys
r = {x["command"].split()[0]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
u, c, w = r["unpack+build"], r["cold"], r["warm"]
print(f"{sys.argv[2]:<21} {u:>9.3f} s  {c:>7.3f} s {w:>7.3f} s  {c/u:>10.2f}  {w/u:>11.3f}")
PY
done
