# Shared by benches/large.sh and benches/store.sh (sourced, not run): installing what they need,
# building layerc, a work folder, and a spec of real host libraries. The caller sets ROOT and
# BENCH (its name, for messages) first.

LIBDIR=/usr/lib/x86_64-linux-gnu

die() {
    echo "$BENCH: $*" >&2
    exit 2
}

apt_install() { # apt_install PACKAGE...: as root, when apt-get exists
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || return 1
    apt-get install -y -qq "$@" >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "$@" >/dev/null 2>&1; }
}

need() { # need COMMAND PACKAGE
    command -v "$1" >/dev/null 2>&1 || apt_install "$2" || true
    command -v "$1" >/dev/null 2>&1 || die "$1 is missing: apt-get install -y $2"
}

need_libs() { # need_libs FILE:PACKAGE...: each FILE of $LIBDIR, installing its Debian PACKAGE
    local f
    for f in "$@"; do
        [ -e "$LIBDIR/${f%%:*}" ] || apt_install "${f##*:}" || die "$LIBDIR/${f%%:*} is missing: apt-get install -y ${f##*:}"
    done
}

build_layerc() { # sets LAYERC to a release build of this checkout
    echo "== building layerc (cargo build --release)"
    (cd "$ROOT" && cargo build --release --quiet --bin layerc) || die "cargo build --release failed"
    local target="${CARGO_TARGET_DIR:-$ROOT/target}"
    case "$target" in /*) ;; *) target="$ROOT/$target" ;; esac
    LAYERC="$target/release/layerc"
}

make_work() { # sets WORK to a fresh folder, removed on exit unless KEEP=1
    WORK="$(mktemp -d "${TMPDIR:-/tmp}/layerc-$1.XXXXXX")"
    if [ "${KEEP:-}" = 1 ]; then trap 'echo "work folder kept: $WORK"' EXIT; else trap 'rm -rf "$WORK"' EXIT; fi
}

spec() { # spec DIR FILE... : a layer shipping each FILE of $LIBDIR as lib/FILE
    mkdir -p "$1"
    local dir="$1" f
    shift
    # Checked against this machine's own runtime (its glibc and libstdc++), not Amazon Linux 2023's:
    # Debian 12's libraries need newer symbol versions than AL2023 has, which the check refuses.
    [ -s "$dir/host.kdl" ] || "$LAYERC" runtime scan / --name host --out "$dir/host.kdl" >/dev/null 2>&1 ||
        die "layerc runtime scan / failed"
    {
        echo 'layer "big" {'
        echo '    runtime "provided.al2023"'
        echo '    runtime-file "host.kdl"'
        echo '    rootfs "/"'
        for f in "$@"; do echo "    file \"$LIBDIR/$f\" to=\"lib/$f\""; done
        echo '}'
    } >"$dir/layer.kdl"
}
