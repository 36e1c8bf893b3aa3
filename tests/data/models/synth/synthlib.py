"""Byte-level helpers the synthetic fixture generators share (make.py, forms.py): the legacy
binary layout (formats.md 1.1), XGBoost's UBJSON subset, and stand-in classes registered under
XGBoost's module names so that pickle records them as the real ones. Standard library only."""
import math, struct, sys, types

def rd(p):
    with open(p, "rb") as f:
        return f.read()


def split_binary(b):
    """Offsets of a 1.x binary: header, names, gbtree param, rest."""
    h = 4 if b[:4] == b"binf" else 0
    p = h + 136
    n = struct.unpack_from("<Q", b, p)[0]
    obj = b[p + 8 : p + 8 + n]
    p += 8 + n
    n2 = struct.unpack_from("<Q", b, p)[0]
    booster = b[p + 8 : p + 8 + n2]
    p += 8 + n2
    return h, obj.decode(), booster.decode(), p


def to_090(b, ncls=0):
    h, obj, booster, gp = split_binary(b)
    hdr = bytearray(b[h : h + 136])
    bs, nf = struct.unpack_from("<fI", hdr, 0)
    margin = -math.log(1 / bs - 1) if obj in ("binary:logistic", "reg:logistic") else bs
    struct.pack_into("<f", hdr, 0, margin)
    struct.pack_into("<iii", hdr, 8, ncls, 0, 0)  # num_class, no attributes, no metrics
    hdr[20:136] = bytes(116)  # 0.90: reserved
    body = bytearray(b[h + 136 : gp + 160])
    g = gp - h - 136  # gbtree param inside body
    struct.pack_into("<ii", body, g + 4, 1, nf)  # num_roots, num_feature
    struct.pack_into("<i", body, g + 24, max(ncls, 1))  # num_output_group
    # trees, tree_info: unchanged; drop the attributes at the end
    rest = b[gp + 160 :]
    ntrees = struct.unpack_from("<i", b, gp)[0]
    p = 0
    for _ in range(ntrees):
        nn = struct.unpack_from("<i", rest, p + 4)[0]
        p += 148 + nn * 36
    p += 4 * ntrees
    if booster == "dart":
        p += 8 + 4 * struct.unpack_from("<Q", rest, p)[0]
    return bytes(hdr) + bytes(body) + rest[:p]


def to_10(b):
    h, obj, booster, gp = split_binary(b)
    hdr = bytearray(b[h : h + 136])
    struct.pack_into("<II", hdr, 20, 1, 0)
    struct.pack_into("<Ii", hdr, 28, 0, 0)  # no num_target / boost_from_average before 1.6/1.7
    return bytes(hdr) + b[h + 136 :]


def with_version(b, major, minor):
    h, _, _, _ = split_binary(b)
    hdr = bytearray(b[: h + 136])
    struct.pack_into("<II", hdr, h + 20, major, minor)
    if (major, minor) < (1, 6):
        struct.pack_into("<Ii", hdr, h + 28, 0, 0)
    return bytes(hdr) + b[h + 136 :]


def module(name):
    m = types.ModuleType(name)
    sys.modules[name] = m
    return m


def cls(mod, name):
    c = type(name, (), {})
    c.__module__ = mod.__name__
    c.__qualname__ = name
    setattr(mod, name, c)
    return c


def booster(raw):
    b = Booster()
    b.handle = bytearray(raw)
    b.best_iteration = 9
    b.best_ntree_limit = 10
    return b


def ubj_load(b):
    """Our own small UBJSON reader (XGBoost's subset); typed arrays become Typed."""
    pos = [0]

    def take(n):
        v = b[pos[0] : pos[0] + n]
        pos[0] += n
        return v

    def integer(t):
        f = {"i": ">b", "U": ">B", "I": ">h", "l": ">i", "L": ">q"}[t]
        return struct.unpack(f, take(struct.calcsize(f)))[0]

    def value(t):
        if t == "{":
            o = {}
            while b[pos[0] : pos[0] + 1] != b"}":
                k = take(integer(chr(take(1)[0]))).decode()
                o[k] = value(chr(take(1)[0]))
            take(1)
            return o
        if t == "[":
            if b[pos[0] : pos[0] + 1] == b"$":
                take(1)
                et = chr(take(1)[0])
                take(1)  # '#'
                n = integer(chr(take(1)[0]))
                return Typed(et, [scalar(et) for _ in range(n)])
            take(1)  # '#'
            n = integer(chr(take(1)[0]))
            return [value(chr(take(1)[0])) for _ in range(n)]
        if t == "S":
            return take(integer(chr(take(1)[0]))).decode()
        if t in "TF":
            return t == "T"
        return scalar(t)

    def scalar(t):
        if t == "d":
            return struct.unpack(">f", take(4))[0]
        if t == "D":
            return struct.unpack(">d", take(8))[0]
        return integer(t)

    return value(chr(take(1)[0]))


class Typed:
    def __init__(self, t, v):
        self.t, self.v = t, v


def ubj_dump(o):
    fmt = {"i": ">b", "U": ">B", "I": ">h", "l": ">i", "L": ">q", "d": ">f", "D": ">d"}

    def length(n):
        return b"L" + struct.pack(">q", n)

    if isinstance(o, dict):
        return b"{" + b"".join(length(len(k)) + k.encode() + ubj_dump(v) for k, v in o.items()) + b"}"
    if isinstance(o, Typed):
        return b"[$" + o.t.encode() + b"#" + length(len(o.v)) + b"".join(struct.pack(fmt[o.t], x) for x in o.v)
    if isinstance(o, list):
        return b"[#" + length(len(o)) + b"".join(ubj_dump(x) for x in o)
    if isinstance(o, str):
        return b"S" + length(len(o.encode())) + o.encode()
    if isinstance(o, bool):
        return b"T" if o else b"F"
    if isinstance(o, int):
        return (b"i" + struct.pack(">b", o)) if -128 <= o < 128 else (b"l" + struct.pack(">i", o))
    return b"d" + struct.pack(">f", o)



core = module("xgboost.core")
module("xgboost")
Booster = cls(core, "Booster")
