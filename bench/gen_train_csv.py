#!/usr/bin/python3
"""Deterministic synthetic training CSV for bench/train.sh: label first, no header.

usage: gen_train_csv.py OUT.csv [ROWS] [FEATURES]
The label is a nonlinear function of the features plus noise (numpy RandomState(42)), so the
same command always writes the same bytes.
"""
import sys

import numpy as np

out = sys.argv[1]
rows = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
feats = int(sys.argv[3]) if len(sys.argv) > 3 else 20
rs = np.random.RandomState(42)
with open(out, "w") as f:
    chunk = 100_000
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        X = rs.standard_normal((n, feats)).astype(np.float32)
        y = (np.sin(X[:, 0]) * 2 + X[:, 1] * X[:, 2] + np.abs(X[:, 3]) - 0.5 * X[:, 4]
             + 0.1 * rs.standard_normal(n)).astype(np.float32)
        M = np.column_stack([y, X])
        np.savetxt(f, M, fmt="%.6g", delimiter=",")
