"""Compare the dependency graph `layerc graph --format json` printed with lddtree's, on the same libraries.

Run with Debian's /usr/bin/python3 (it needs pyelftools, which lddtree imports):

    /usr/bin/python3 benches/graph_diff.py LAYERC_GRAPH.json LDDTREE_LIST.txt LIB_PATH...

LAYERC_GRAPH.json  the output of `layerc graph SPEC --format json` (its first layer is used)
LDDTREE_LIST.txt   the output of `lddtree -l LIB_PATH...` (one path a line)
LIB_PATH...        the libraries the spec requests, as absolute paths under rootfs /

It prints three comparisons:

1. the raw node counts: layerc's nodes (by status) and lddtree's distinct libraries. layerc stops
   expanding at libraries the target runtime provides, lddtree expands everything, so lddtree's
   count is expected to be larger;
2. a like-for-like check: lddtree's own dependency data (its ParseELF, the code behind the timed
   command), walked from the same requested libraries but not expanded past the nodes layerc marks
   "provided". That walk should give exactly layerc's node set, edge set and paths; every difference
   is listed;
3. the libraries lddtree found that layerc did not visit (all of them should sit below a provided
   node) and any library layerc found that lddtree did not (there should be none).

Exit status is always 0 unless the inputs cannot be read: differences are findings, not failures.
"""

import collections
import importlib.machinery
import importlib.util
import json
import os
import sys


def load_lddtree():
    loader = importlib.machinery.SourceFileLoader("lddtree_mod", "/usr/bin/lddtree")
    spec = importlib.util.spec_from_loader("lddtree_mod", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def real(path):
    return os.path.realpath(path) if path else None


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    graph_path, list_path, libs = argv[1], argv[2], argv[3:]

    with open(graph_path) as f:
        layer = json.load(f)["layers"][0]
    nodes = {n["name"]: n for n in layer["nodes"]}
    edges = {(e["from"], e["to"]) for e in layer["edges"]}
    status = collections.Counter(n["status"] for n in layer["nodes"])
    provided = {name for name, n in nodes.items() if n["status"] == "provided"}

    with open(list_path) as f:
        ldd_paths = [line.strip() for line in f if line.strip()]
    ldd_real = {real(p) for p in ldd_paths}

    # 1. raw counts
    print(
        "  layerc graph: %d nodes (%s), %d edges"
        % (
            len(nodes),
            ", ".join("%d %s" % (c, s) for s, c in sorted(status.items())),
            len(edges),
        )
    )
    print("  lddtree -l  : %d distinct libraries (%d lines, by real path)" % (len(ldd_real), len(ldd_paths)))

    # 2. lddtree's data, cut where layerc cuts
    lt = load_lddtree()
    ldpaths = lt.LoadLdpaths("/")
    soname_of = {}  # requested path -> the name layerc uses for it (its soname, else its file name)
    needed = {}  # name -> DT_NEEDED list
    where = {}  # name -> real path
    for lib in libs:
        elf = lt.ParseELF(real(lib), "/", None, "", ldpaths, display=lib)
        name = os.path.basename(lib)
        soname_of[lib] = name
        needed[name] = elf["needed"]
        where[name] = real(lib)
        for dep, info in elf["libs"].items():
            needed.setdefault(dep, info.get("needed") or [])
            where.setdefault(dep, real(info.get("realpath")))

    want_nodes = set()
    want_edges = set()
    todo = [soname_of[lib] for lib in libs]
    while todo:
        name = todo.pop()
        if name in want_nodes:
            continue
        want_nodes.add(name)
        if name in provided:
            continue  # layerc does not expand what the runtime provides
        for dep in needed.get(name, []):
            want_edges.add((name, dep))
            todo.append(dep)

    only_layerc = sorted(set(nodes) - want_nodes)
    only_ldd = sorted(want_nodes - set(nodes))
    path_diff = sorted(
        (n, real(nodes[n]["path"]), where.get(n))
        for n in set(nodes) & want_nodes
        if real(nodes[n]["path"]) != where.get(n)
    )
    edge_only_layerc = sorted(edges - want_edges)
    edge_only_ldd = sorted(want_edges - edges)
    same = not (only_layerc or only_ldd or path_diff or edge_only_layerc or edge_only_ldd)
    print(
        "  lddtree's graph cut at layerc's %d provided nodes: %d nodes, %d edges -> %s"
        % (len(provided), len(want_nodes), len(want_edges), "identical to layerc's" if same else "DIFFERS")
    )
    for n in only_layerc:
        print("    node only in layerc : %s (%s, %s)" % (n, nodes[n]["status"], nodes[n]["path"]))
    for n in only_ldd:
        print("    node only in lddtree: %s (%s)" % (n, where.get(n)))
    for n, a, b in path_diff:
        print("    path differs: %s layerc=%s lddtree=%s" % (n, a, b))
    for a, b in edge_only_layerc:
        print("    edge only in layerc : %s -> %s" % (a, b))
    for a, b in edge_only_ldd:
        print("    edge only in lddtree: %s -> %s" % (a, b))

    # 3. what the full lddtree closure adds
    layerc_real = {real(n["path"]) for n in nodes.values() if n["path"]}
    beyond = sorted(ldd_real - layerc_real)
    missing = sorted(layerc_real - ldd_real)
    print(
        "  lddtree finds %d libraries layerc does not visit (below provided nodes): %s"
        % (len(beyond), " ".join(os.path.basename(p) for p in beyond) or "-")
    )
    if missing:
        for p in missing:
            print("    layerc visits a library lddtree does not list: %s" % p)
    else:
        print("  every library layerc visits is also in lddtree's list")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
