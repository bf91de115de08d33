#!/usr/bin/env bash
# Re-checking a spec whose rootfs is a compressed image, after the image's first use (a build),
# against checking the same spec on the unpacked folder, in the same run.
#
#   folder   `layerc check SPEC(DIR)`              the image unpacked with tar beforehand
#   image    `layerc check SPEC(IMAGE.tar.zst)`    after one `layerc build` wrote the image cache
#
# The image is this machine's /usr/lib/x86_64-linux-gnu (with /lib, /lib64, /usr/lib64, the
# loader's configuration), `fc-match`, /etc/fonts and /usr/share/fonts, zstd-compressed. The spec
# ships `fc-match` and the DejaVu fonts with `file` nodes, and FreeType: the nodes whose files used
# to be read from the image at every check. Prints both means and their ratio.
#
# Usage: bash benches/image_recheck.sh    Environment: RUNS (default 20), KEEP=1.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${RUNS:-20}"
for tool in hyperfine zstd fc-match; do
    command -v "$tool" >/dev/null || { echo "image_recheck.sh: needs $tool" >&2; exit 2; }
done
(cd "$ROOT" && cargo build --release --quiet)
LAYERC="$ROOT/target/release/layerc"
WORK="$(mktemp -d -t layerc-recheck-bench-XXXXXX)"
[ "${KEEP:-}" = 1 ] && echo "work folder: $WORK" || trap 'rm -rf "$WORK"' EXIT
tar -C / -cf "$WORK/image.tar" lib lib64 usr/lib64 usr/lib/x86_64-linux-gnu etc/ld.so.conf \
    etc/ld.so.conf.d usr/bin/fc-match etc/fonts usr/share/fonts 2>/dev/null || true
zstd -q -T0 -3 --rm "$WORK/image.tar" -o "$WORK/image.tar.zst"
mkdir "$WORK/unpacked"
tar -xf "$WORK/image.tar.zst" -C "$WORK/unpacked"
ls -la "$WORK/image.tar.zst" | awk '{print "image: " $5 " bytes compressed"}'
spec() { # spec ROOTFS
    printf 'layer "fc" {\n    runtime "provided.al2023"\n    rootfs "%s"\n' "$1"
    printf '    file "/usr/bin/fc-match" to="bin/fc-match"\n'
    printf '    file "/usr/share/fonts/truetype/dejavu" to="share/fonts/dejavu"\n'
    printf '    library "libfreetype.so.6"\n}\n'
}
mkdir "$WORK/folder" "$WORK/image"
spec "$WORK/unpacked" >"$WORK/folder/layer.kdl"
spec "$WORK/image.tar.zst" >"$WORK/image/layer.kdl"
export LAYERC_STORE="$WORK/store"
# The first use indexes the image and keeps its objects; Debian's libraries are newer than
# Amazon Linux 2023's, so the check reports errors: the work is the same, and `-i` ignores the exit.
(cd "$WORK/image" && "$LAYERC" build >/dev/null 2>&1) || true
hyperfine -N -i --warmup 3 --runs "$RUNS" --style basic --export-json "$WORK/recheck.json" \
    -n folder "$LAYERC check $WORK/folder/layer.kdl" \
    -n image "$LAYERC check $WORK/image/layer.kdl"
python3 - "$WORK/recheck.json" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
print(f"folder {r['folder']*1000:.1f} ms, image {r['image']*1000:.1f} ms, image/folder {r['image']/r['folder']:.2f}")
PY
du -sh "$LAYERC_STORE/images" | awk '{print "image cache: " $1}'
