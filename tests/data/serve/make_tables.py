#!/usr/bin/python3
"""Regenerate pyrepr.txt (Python repr/json.dumps of doubles) and sniff.txt (csv.Sniffer
delimiter of single CSV lines, with the container's alphanumeric -> ',' rule)."""
import csv
import json
import math
import os
import random
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
random.seed(7)
rng = np.random.default_rng(7)
f32 = lambda v: float(np.float32(v))
special = [0.0, -0.0, 1e-05, 1e-5 * 3, 0.0001, 0.00012345, 1e16, 1e15, 9999999999999998.0, 1.5e16,
           123456789012345678.0, float("nan"), float("inf"), float("-inf"), 0.1, 1 / 3, 2 / 3,
           5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, f32(1e-45), f32(1.1754942e-38),
           f32(3.4028235e38), f32(0.1), f32(-0.5896340608596802), 1.0, -1.0, 100.0, 1e22, 1e23,
           0.5, 2.0**-30, 2.0**-1074, 2.0**60, 2.0**-20, 1 - f32(0.03051910363137722)]
special += [f32(2.0**e) for e in range(-149, 128, 3)]
special += [2.0**e for e in range(-1074, 1024, 37)]
vals = [float(v) for v in special]
vals += [float(x) for x in rng.standard_normal(300).astype(np.float32)]
vals += [float(x) for x in (rng.standard_normal(150) * 10.0 ** rng.integers(-40, 38, 150))
         .astype(np.float32)]
for _ in range(150):
    d = struct.unpack("<d", struct.pack("<Q", random.getrandbits(64)))[0]
    if not math.isnan(d):
        vals.append(d)
vals += [1 - float(x) for x in rng.random(100).astype(np.float32)]
with open(os.path.join(HERE, "pyrepr.txt"), "w") as f:
    f.write("# IEEE-754 bits of a double, then Python repr() and json.dumps() of it "
            "(generated with Python 3.11)\n")
    for v in vals:
        f.write("%016x %s %s\n" % (struct.unpack("<Q", struct.pack("<d", v))[0], repr(v),
                                   json.dumps(v)))

random.seed(11)
alpha = ",;\t :|0123456789.e-+\"'ab_x#\r"
cases = ["0.5", "10", "1e-3", "0.1,0.2,0.3", "0.1\t0.2", "0.1;0.2", "0.1 0.2", "1|2|3",
         '"0.1","0.2"', "'a';'b'", '"a"', "a,b,c,d", "0.5_1", "nan", "-1", "1.0\r",
         "0.1, 0.2, 0.3", "", " ", "1:2 3:4", "0 0:0.1 1:0.2"]
cases += ["".join(random.choice(alpha) for _ in range(random.randint(1, 16))) for _ in range(500)]
with open(os.path.join(HERE, "sniff.txt"), "w") as f:
    f.write("# hex of a CSV first line, then the delimiter the container uses (hex) or \"error\" "
            "(csv.Sniffer, Python 3.11)\n")
    for c in cases:
        try:
            d = csv.Sniffer().sniff(c).delimiter
            r = ("," if d.isalnum() else d).encode().hex()
        except csv.Error:
            r = "error"
        f.write("%s %s\n" % (c.encode().hex() or "-", r))
