#!/usr/bin/env python3
"""Write a large, valid XGBoost legacy-binary model (the format SageMaker's 1.3-1..1.7-1
training saves) of random depth-limited trees, deterministically, without training.

usage: gen_big_model.py OUT TREES [DEPTH] [FEATURES]

Layout (reference/formats.md section 1.1): binf magic, 136-byte LearnerModelParam,
objective and booster strings, GBTreeModelParam (160 bytes), per tree a 148-byte TreeParam,
nodes (20 bytes each) and stats (16 bytes each), tree_info, attributes.
"""
import random
import struct
import sys


def tree_bytes(rng, depth, nfeat):
    n = 2 ** (depth + 1) - 1
    param = struct.pack("<6i", 1, n, 0, depth, nfeat, 0) + b"\0" * (148 - 24)
    nodes = bytearray()
    stats = bytearray()
    for i in range(n):
        parent = -1 if i == 0 else (i - 1) // 2
        if i != 0 and i % 2 == 1:
            parent |= 1 << 31
        parent = struct.unpack("<i", struct.pack("<I", parent & 0xFFFFFFFF))[0]
        internal = i < 2 ** depth - 1
        if internal:
            sindex = rng.randrange(nfeat) | ((1 << 31) if rng.random() < 0.5 else 0)
            nodes += struct.pack("<iiiIf", parent, 2 * i + 1, 2 * i + 2, sindex, rng.uniform(-3, 3))
            stats += struct.pack("<fffi", rng.uniform(0, 50), rng.uniform(1, 1000), rng.uniform(-1, 1), 0)
        else:
            nodes += struct.pack("<iiiIf", parent, -1, -1, 0, round(rng.gauss(0, 0.1), 4))
            stats += struct.pack("<fffi", 0.0, rng.uniform(1, 100), rng.uniform(-1, 1), 0)
    return param + bytes(nodes) + bytes(stats)


def main():
    out, ntrees = sys.argv[1], int(sys.argv[2])
    depth = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    nfeat = int(sys.argv[4]) if len(sys.argv) > 4 else 20
    rng = random.Random(42)
    with open(out, "wb") as f:
        f.write(b"binf")
        mp = struct.pack("<fIiiiIIIi", 0.5, nfeat, 0, 1, 0, 1, 7, 1, 1)
        f.write(mp + b"\0" * (136 - len(mp)))
        for s in (b"reg:squarederror", b"gbtree"):
            f.write(struct.pack("<Q", len(s)) + s)
        gp = struct.pack("<iiiiqii", ntrees, 1, 0, 0, 0, 0, 0)
        f.write(gp + b"\0" * (160 - len(gp)))
        # a few distinct trees repeated with fresh values keeps generation fast but the data
        # realistic (every tree's floats differ)
        for t in range(ntrees):
            f.write(tree_bytes(rng, depth, nfeat))
        f.write(struct.pack("<%di" % ntrees, *([0] * ntrees)))
        attrs = [(b"objective", b'{"name":"reg:squarederror","reg_loss_param":{"scale_pos_weight":"1"}}')]
        f.write(struct.pack("<Q", len(attrs)))
        for k, v in attrs:
            f.write(struct.pack("<Q", len(k)) + k + struct.pack("<Q", len(v)) + v)


if __name__ == "__main__":
    main()
