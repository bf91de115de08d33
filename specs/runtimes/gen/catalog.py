#!/usr/bin/env python3
"""Regenerates every generated part of the runtime catalog, from pinned inputs:

1. lifecycle.py: the dates of runtimes.kdl from cfn-lint (version and wheel sha256 pinned there,
   fetched with `pip download --require-hashes`; `--wheel FILE` to use a downloaded one);
2. listings.py: os-provides.kdl, runtime-folders.kdl and tests/data/listings/ from the listings
   dumped inside Lambda (DATA_DIR, default ../shared/data/lambda-runtimes beside the repo).

Usage: python3 specs/runtimes/gen/catalog.py [DATA_DIR] [--wheel FILE] [--date YYYY-MM-DD]
Then `cargo test --test it catalog` checks the result against the listings.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lifecycle  # noqa: E402
import listings  # noqa: E402


def main():
    data = [a for a in sys.argv[1:] if not a.startswith("--") and not _is_option_value(a)]
    options = [a for a in sys.argv[1:] if a not in data]
    sys.argv = [sys.argv[0]] + options
    status = lifecycle.main()
    sys.argv = [sys.argv[0]] + data
    listings.main()
    return status


def _is_option_value(arg):
    args = sys.argv[1:]
    i = args.index(arg)
    return i > 0 and args[i - 1] in ("--wheel", "--date")


if __name__ == "__main__":
    sys.exit(main())
