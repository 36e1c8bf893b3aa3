#!/usr/bin/env python3
"""List C functions longer than a limit (default 80 lines), longest first.

The house style (clang-format, BreakBeforeBraces: Linux) puts a function's opening and closing
braces alone in column 0, so a function is the lines from its signature to that closing brace.
A function over --max lines needs a comment in the 5 lines above its signature that says why
("long because ..."); with --check, one over --hard without such a comment is an error.

Usage: scripts/func_lengths.py [--max 80] [--check --hard 120] [paths...]
"""
import argparse
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIG = re.compile(r"^[A-Za-z_][^;{}]*\(")


def functions(path):
    lines = open(path, encoding="utf-8", errors="replace").read().split("\n")
    for i, line in enumerate(lines):
        if line != "{":
            continue
        j = i - 1
        while j >= 0 and lines[j] and not SIG.match(lines[j]):
            j -= 1
        if j < 0 or not SIG.match(lines[j] or ""):
            continue
        k = i + 1
        while k < len(lines) and lines[k] != "}":
            k += 1
        name = re.match(r"^[^(]*?([A-Za-z_]\w*)\s*\(", lines[j])
        above = "\n".join(lines[max(0, j - 6):j]).lower()
        yield (name.group(1) if name else "?"), j + 1, k - j + 1, "long because" in above


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--max", type=int, default=80)
    ap.add_argument("--hard", type=int, default=120)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("paths", nargs="*")
    a = ap.parse_args()
    files = a.paths or [os.path.join(ROOT, f) for f in subprocess.run(
        ["git", "-C", ROOT, "ls-files", "*.c"], capture_output=True, text=True).stdout.split()
        if not f.startswith(("tests/", "bench/"))]
    rows = []
    for f in files:
        for name, line, n, why in functions(f):
            if n > a.max:
                rows.append((n, os.path.relpath(f, ROOT), line, name, why))
    rows.sort(reverse=True)
    bad = 0
    for n, f, line, name, why in rows:
        flag = "" if why else (" (no reason given)" if n <= a.hard else " OVER THE LIMIT, no reason")
        bad += a.check and n > a.hard and not why
        print(f"{n:5d}  {f}:{line}  {name}{flag}")
    print(f"func_lengths: {len(rows)} function(s) over {a.max} lines", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
