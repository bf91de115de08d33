#!/usr/bin/env python3
"""Rewrites the lifecycle dates of specs/runtimes/runtimes.kdl from cfn-lint's runtime data.

The input is pinned: cfn-lint CFN_LINT_VERSION from PyPI, checked against WHEEL_SHA256 by pip
(`--require-hashes`); the dates are read from the wheel's
cfnlint/data/AdditionalSpecs/LmbdRuntimeLifecycle.json without installing it. `--wheel FILE` reads
an already downloaded wheel instead (its sha256 is checked all the same).

Only the date lines of each `runtime` node are rewritten: `deprecated`, `block-create`,
`block-update` and `successor` stand together where the first of them stood (or after
`architectures` in a node that had none), every other line of the file is kept byte for byte, so
child nodes that others add to a runtime merge cleanly. The `source` line that names the
lifecycle file is rewritten to name the pinned version. A runtime of the data that the catalog does
not carry is reported (its OS base and folders need sources a person adds by hand); a catalog
runtime the data lacks keeps its lines.

Usage: python3 specs/runtimes/gen/lifecycle.py [--wheel FILE] [--date YYYY-MM-DD]
(normally run through specs/runtimes/gen/catalog.py, which also regenerates the listings).
"""

import argparse
import datetime
import hashlib
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
CFN_LINT_VERSION = "1.58.0"
WHEEL = f"cfn_lint-{CFN_LINT_VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "9d9f06043160756a6158f5c3f92a44ce38254b1c578127461608305bc8262987"
MEMBER = "cfnlint/data/AdditionalSpecs/LmbdRuntimeLifecycle.json"
SOURCE = f"cfn-lint {CFN_LINT_VERSION} (PyPI wheel sha256 {WHEEL_SHA256[:16]}...), {MEMBER}"
# cfn-lint's keys, in the order the catalog writes them.
KEYS = [("deprecated", "deprecated"), ("create-block", "block-create"),
        ("update-block", "block-update"), ("successor", "successor")]
DATE_LINE = re.compile(r"^\s+((deprecated|block-create|block-update|successor) |// no successor:)")
NO_SUCCESSOR = "// no successor: cfn-lint gives null (newest of its family)"
SOURCE_LINE = re.compile(r'^([ \t]+)source ".*LmbdRuntimeLifecycle\.json.*"[ \t]*$')
RUNTIME_START = re.compile(r'^runtime "([^"]+)" \{\s*$')


def download(tmp):
    """The pinned wheel, fetched by pip with its hash checked."""
    req = Path(tmp) / "requirements.txt"
    req.write_text(f"cfn-lint=={CFN_LINT_VERSION} --hash=sha256:{WHEEL_SHA256}\n")
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
           "--require-hashes", "-r", str(req), "-d", tmp]
    if subprocess.run(cmd).returncode != 0:
        sys.exit("pip download failed: python3 -m pip is needed (Debian: apt-get install python3-pip)")
    return Path(tmp) / WHEEL


def lifecycle(wheel):
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        sys.exit(f"{wheel}: sha256 {digest}, expected {WHEEL_SHA256}")
    with zipfile.ZipFile(wheel) as z:
        return json.loads(z.read(MEMBER))


def date_lines(indent, entry):
    lines = [f'{indent}{name} "{entry[key]}"\n' for key, name in KEYS if entry.get(key)]
    if not entry.get("successor"):
        lines.append(f"{indent}{NO_SUCCESSOR}\n")
    return lines


def rewrite(text, data):
    """runtimes.kdl with each known runtime's date lines taken from `data`."""
    out, seen = [], set()
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        start = RUNTIME_START.match(lines[i])
        if not start:
            out.append(lines[i])
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("}"))
        seen.add(start.group(1))
        out.extend(rewrite_node(lines[i:end + 1], data.get(start.group(1))))
        i = end + 1
    return "".join(out), sorted(set(data) - seen)


def rewrite_node(node, entry):
    if entry is None:
        return node
    indent = "    "
    body = [l for l in node if not DATE_LINE.match(l)]
    at = next((k for k, l in enumerate(node) if DATE_LINE.match(l)), None)
    if at is None:
        at = next(k + 1 for k, l in enumerate(body) if l.lstrip().startswith("architectures "))
    else:
        at = sum(1 for l in node[:at] if not DATE_LINE.match(l))
    body[at:at] = date_lines(indent, entry)
    if not any(SOURCE_LINE.match(l) for l in body):
        first = next((k for k, l in enumerate(body) if l.lstrip().startswith("source ")), len(body) - 1)
        body.insert(first, f'{indent}source "{SOURCE}"\n')
    return [SOURCE_LINE.sub(lambda m: f'{m.group(1)}source "{SOURCE}"', l) for l in body]


def set_catalog_version(date):
    path = REPO / "specs/runtimes/os-bases.kdl"
    text = path.read_text()
    new = re.sub(r'^catalog-version "[0-9-]+"', f'catalog-version "{date}"', text, count=1, flags=re.M)
    if new != text:
        path.write_text(new)
        print(f"wrote {path.relative_to(REPO)} (catalog-version {date})")


def main():
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--wheel", type=Path, help=f"a downloaded {WHEEL}")
    args.add_argument("--date", default=datetime.date.today().isoformat(),
                      help="the catalog-version to write when a date changed (default: today)")
    opts = args.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = lifecycle(opts.wheel or download(tmp))
    path = REPO / "specs/runtimes/runtimes.kdl"
    old = path.read_text()
    new, missing = rewrite(old, data)
    if new != old:
        path.write_text(new)
        print(f"wrote {path.relative_to(REPO)}")
        set_catalog_version(opts.date)
    else:
        print(f"{path.relative_to(REPO)}: dates already match cfn-lint {CFN_LINT_VERSION}")
    if missing:
        print("runtimes in cfn-lint's data that runtimes.kdl lacks (add a node with its OS base and "
              "sources by hand, then run this again): " + ", ".join(missing), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
