#!/usr/bin/env python3
"""Check that smxgb's modules depend on each other one way only.

Two checks, both from what the build really uses:

1. Includes. Every `#include "..."` in a module's sources is resolved to the file it names;
   the module of that file must be the module itself or one that LAYERS allows below it.
   tests/ and bench/ may include anything.
2. Calls. With --build DIR, `nm` reads each module's object files: a file that uses a symbol
   another file of the same program defines depends on that file. The graph of those
   dependencies between files must have no circle, and no file may use a symbol defined in a
   module that is not below its own (the link-level version of check 1).

Usage: scripts/check_layers.py [--build build]      exit 0 clean, 1 with the violations listed
"""
import argparse
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# module -> the modules it may use (directly). Transitive use goes through these.
LAYERS = {
    "tools": {"gate", "serve", "train", "compat", "compat/model", "compat/rules",
              "compat/runtime", "artifacts", "base"},
    "gate": {"compat", "compat/model", "compat/rules", "compat/runtime", "artifacts", "base"},
    "serve": {"compat", "compat/model", "compat/rules", "compat/runtime", "artifacts", "base"},
    "train": {"compat", "compat/model", "compat/rules", "compat/runtime", "artifacts", "base"},
    "compat": {"compat/model", "compat/rules", "compat/runtime", "artifacts", "base"},
    "compat/rules": {"compat/model", "artifacts", "base"},
    "compat/runtime": {"compat/model", "artifacts", "base"},
    "compat/model": {"artifacts", "base"},
    "artifacts": {"base"},
    "base": set(),
}
FREE = ("tests", "bench")
SOURCE_EXT = (".c", ".h")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def module_of(path):
    rel = os.path.relpath(path, ROOT)
    parts = rel.split(os.sep)
    if len(parts) >= 3 and "/".join(parts[:2]) in LAYERS:
        return "/".join(parts[:2])
    if len(parts) >= 2 and parts[0] in LAYERS:
        return parts[0]
    if parts[0] in FREE:
        return parts[0]
    return None


def sources():
    out = subprocess.run(["git", "-C", ROOT, "ls-files", "--cached", "--others",
                          "--exclude-standard"], capture_output=True, text=True, check=True)
    for rel in out.stdout.split():
        if rel.endswith(SOURCE_EXT):
            yield os.path.join(ROOT, rel)


def check_includes():
    bad = []
    for path in sources():
        mod = module_of(path)
        if mod is None or mod in FREE:
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        for m in INCLUDE.finditer(text):
            name = m.group(1)
            target = os.path.normpath(os.path.join(os.path.dirname(path), name))
            if not os.path.exists(target):
                target = os.path.normpath(os.path.join(ROOT, name))
            if not os.path.exists(target):
                continue  # generated (record.pb-c.h) or system
            tmod = module_of(target)
            if tmod is None or tmod == mod:
                continue
            if tmod not in LAYERS.get(mod, set()):
                line = text.count("\n", 0, m.start()) + 1
                bad.append(f"{os.path.relpath(path, ROOT)}:{line}: {mod} includes {name} "
                           f"({tmod}), which is not below it")
    return bad


def symbols(obj):
    out = subprocess.run(["nm", "--defined-only", "-g", obj], capture_output=True, text=True)
    defined = {l.split()[-1] for l in out.stdout.splitlines() if len(l.split()) >= 3}
    out = subprocess.run(["nm", "-u", obj], capture_output=True, text=True)
    undefined = {l.split()[-1] for l in out.stdout.splitlines() if l.strip()}
    return defined, undefined


def check_calls(build):
    objs = {}
    for dirpath, _, files in os.walk(build):
        if "CMakeFiles" not in dirpath:
            continue
        for fn in files:
            if not fn.endswith(".c.o"):
                continue
            obj = os.path.join(dirpath, fn)
            # build/<module>/CMakeFiles/<target>.dir/<relative source path>.c.o
            rel = obj.split(".dir" + os.sep, 1)[-1][: -len(".o")]
            src = os.path.normpath(os.path.join(ROOT, rel))
            if not os.path.exists(src):
                # objects of sources in a sub-folder of the target's folder
                tgt_dir = os.path.relpath(dirpath.split(os.sep + "CMakeFiles")[0], build)
                src = os.path.normpath(os.path.join(ROOT, tgt_dir, rel))
                generated = os.path.join(build, tgt_dir, rel)
                if not os.path.exists(src) and not os.path.exists(generated):
                    continue  # left over from a source that was moved or removed
            mod = module_of(src)
            if mod is None or mod in FREE:
                continue
            objs[src] = symbols(obj)
    definer = {}
    for src, (defined, _) in objs.items():
        for s in defined:
            definer.setdefault(s, src)
    edges = {src: set() for src in objs}
    bad = []
    for src, (_, undefined) in objs.items():
        mod = module_of(src)
        for s in undefined:
            dst = definer.get(s)
            if dst is None or dst == src:
                continue
            edges[src].add(dst)
            dmod = module_of(dst)
            if dmod != mod and dmod not in LAYERS.get(mod, set()):
                bad.append(f"{os.path.relpath(src, ROOT)} calls {s} of "
                           f"{os.path.relpath(dst, ROOT)} ({dmod}), which is not below {mod}")
    # circles between files (Tarjan's strongly connected components)
    index, low, stack, on, sccs, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(comp)

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    for comp in sccs:
        names = sorted(os.path.relpath(c, ROOT) for c in comp)
        bad.append("files that call each other in a circle: " + ", ".join(names))
    return bad, len(objs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", help="a build directory whose object files are read with nm")
    a = ap.parse_args()
    bad = check_includes()
    checked = "includes"
    if a.build:
        calls, nobj = check_calls(a.build)
        if nobj == 0:
            print(f"check_layers: no object files under {a.build}; build first", file=sys.stderr)
            return 2
        bad += calls
        checked += f" and calls between {nobj} object files"
    for b in bad:
        print(b, flush=True)
    print(f"check_layers: {checked}: {len(bad)} violation(s)", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
