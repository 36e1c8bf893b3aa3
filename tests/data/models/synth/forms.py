"""The objectives and forms the load rules distinguish, one small file each (forms/), rewritten
from the real 1.5.2, 1.7.4 and 3.0.5 fixture models field by field: every objective whose
configuration or base_score handling changed between the versions the containers pin, DART,
gblinear, categorical splits, multi-output trees, memory snapshots of each booster type (as a
pickle and as a bare file), and base_score inside and outside (0,1) as 2.x and 3.x write it.
Each file keeps the first two trees of its source, so the files stay small and a real load
still predicts.

forms.csv records what each file was built as (what the readers must find in it); the expected
verdict per container of each, with the XGBoost source line it rests on, is the table in
tests/test_rules_forms.c.

The 1.7.4 UBJSON memory snapshots of the dart and gblinear boosters are XGBoost's own: made by
the system libxgboost (Debian's 1.7.4) through ctypes when it is there; without it those two
files are kept as they are.
"""
import copy, csv, ctypes, ctypes.util, json, math, os, pickle, struct

from synthlib import Typed, booster, rd, ubj_dump, ubj_load

SRC = ".."
OUT = "forms"
rows = []
COLS = ["file", "format", "payload", "writer_min", "writer_max", "objective", "booster", "obj_params",
        "base_score", "dart_gbtree", "num_target"]


def wr(name, data, **facts):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    rows.append(dict(file=name, **facts))


# ---- objective configurations as each writer saves them (SaveConfig per tag) --------------
RLP = {"scale_pos_weight": "1"}


def objective(name, writer):
    """learner.objective (and a 1.0+ binary's "objective" attribute) as XGBoost `writer` writes it."""
    w = tuple(writer)
    o = {"name": name}
    if name in ("binary:logistic", "binary:logitraw", "reg:squarederror", "reg:logistic"):
        o["reg_loss_param"] = RLP
    elif name == "reg:squaredlogerror":
        if w < (3, 0, 3):  # 3.0.3+ write only the name (v3.0.3:src/objective/regression_obj.cu:287-290)
            o["reg_loss_param"] = RLP
    elif name == "reg:pseudohubererror":
        if w < (1, 6, 0):
            o["reg_loss_param"] = RLP
        else:  # 1.6 spelled it pseduo_huber_param (v1.6.0:src/objective/regression_obj.cu:251-254)
            o["pseudo_huber_param"] = {"huber_slope": "1"}
    elif name == "reg:gamma":
        if w >= (2, 1, 0):  # <= 2.0 write only the name (v2.0.3:src/objective/regression_obj.cu:552-556)
            o["reg_loss_param"] = RLP
    elif name.startswith("rank:"):
        if w < (2, 0, 0):
            o["lambda_rank_param"] = {"fix_list_weight": "0", "num_pairsample": "1"}
        else:
            o["lambdarank_param"] = {"lambdarank_num_pair_per_sample": "1", "lambdarank_pair_method": "mean",
                                     "lambdarank_unbiased": "0", "lambdarank_bias_norm": "1", "ndcg_exp_gain": "1"}
    elif name == "survival:aft":
        o["aft_loss_param"] = {"aft_loss_distribution": "normal", "aft_loss_distribution_scale": "1"}
    elif name == "reg:quantileerror":
        o["quantile_loss_param"] = {"quantile_alpha": "[0.5]"}
    elif name == "count:poisson":
        o["poisson_regression_param"] = {"max_delta_step": "0.7"}
    elif name == "reg:tweedie":
        o["tweedie_regression_param"] = {"tweedie_variance_power": "1.5"}
    return o


def params(o):
    return " ".join(k for k in o if k != "name")


# ---- legacy binaries, field by field (formats.md 1.1) --------------------------------------


def u64(b, p):
    return struct.unpack_from("<Q", b, p)[0]


def i32(b, p):
    return struct.unpack_from("<i", b, p)[0]


def dstr(s):
    s = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(s)) + s


class Bin:
    """A 1.x legacy binary: header, names, the booster's section (trees kept apart), attributes."""

    def __init__(self, b):
        self.magic = b[:4] == b"binf"
        p = 4 if self.magic else 0
        self.hdr = bytearray(b[p : p + 136])
        p += 136
        n = u64(b, p)
        self.obj = b[p + 8 : p + 8 + n].decode()
        p += 8 + n
        n = u64(b, p)
        self.booster = b[p + 8 : p + 8 + n].decode()
        p += 8 + n
        if self.booster == "gblinear":
            n = u64(b, p + 136)
            self.linear = b[p : p + 136 + 8 + 4 * n]
            p += 136 + 8 + 4 * n
        else:
            self.gparam = bytearray(b[p : p + 160])
            nt = i32(b, p)
            p += 160
            self.trees = []
            for _ in range(nt):
                nn = i32(b, p + 4)
                self.trees.append(b[p : p + 148 + 36 * nn])
                p += 148 + 36 * nn
            self.tree_info = list(struct.unpack_from(f"<{nt}i", b, p))
            p += 4 * nt
            self.weights = None
            if self.booster == "dart":
                n = u64(b, p)
                self.weights = list(struct.unpack_from(f"<{n}f", b, p + 8))
                p += 8 + 4 * n
        self.attrs = None
        if i32(self.hdr, 12):
            self.attrs = []
            n = u64(b, p)
            p += 8
            for _ in range(n):
                k = b[p + 8 : p + 8 + u64(b, p)]
                p += 8 + len(k)
                v = b[p + 8 : p + 8 + u64(b, p)]
                p += 8 + len(v)
                self.attrs.append((k.decode(), v.decode()))
        self.trailer = b[p:]

    def shrink(self, keep=2):
        if self.booster != "gblinear":
            self.trees, self.tree_info = self.trees[:keep], self.tree_info[:keep]
            if self.weights is not None:
                self.weights = self.weights[:keep]
            struct.pack_into("<i", self.gparam, 0, len(self.trees))
        if self.attrs is not None:  # early-stopping attributes name more trees than kept
            self.attrs = [(k, v) for k, v in self.attrs if not k.startswith("best_")]
        return self

    def set(self, version=None, base_score=None, num_target=None):
        if version:
            struct.pack_into("<II", self.hdr, 20, *version)
            if tuple(version) < (1, 6):  # no num_target / boost_from_average before 1.6 / 1.7
                struct.pack_into("<Ii", self.hdr, 28, 0, 0)
        if base_score is not None:
            struct.pack_into("<f", self.hdr, 0, base_score)
        if num_target is not None:
            struct.pack_into("<I", self.hdr, 28, num_target)
        return self

    def set_objective(self, name, writer):
        """The objective's name and, in the "objective" attribute, its configuration."""
        self.obj = name
        cfg = objective(name, writer)
        attrs = [(k, v) for k, v in (self.attrs or []) if k != "objective"]
        self.attrs = attrs + [("objective", json.dumps(cfg, separators=(",", ":")))]
        struct.pack_into("<i", self.hdr, 12, 1)
        return cfg

    def bytes(self):
        b = (b"binf" if self.magic else b"") + bytes(self.hdr) + dstr(self.obj) + dstr(self.booster)
        if self.booster == "gblinear":
            b += self.linear
        else:
            b += bytes(self.gparam) + b"".join(self.trees)
            b += struct.pack(f"<{len(self.tree_info)}i", *self.tree_info)
            if self.weights is not None:
                b += struct.pack("<Q", len(self.weights)) + struct.pack(f"<{len(self.weights)}f", *self.weights)
        if self.attrs is not None:
            b += struct.pack("<Q", len(self.attrs)) + b"".join(dstr(k) + dstr(v) for k, v in self.attrs)
        return b + self.trailer

    def to_090(self, margin):
        """The 0.90 layout: no magic, major 0, base_score stored as a margin, the booster counts
        in the gbtree parameters, no attributes (formats.md 1.1)."""
        bs, nf = struct.unpack_from("<fI", self.hdr, 0)
        struct.pack_into("<f", self.hdr, 0, margin(bs))
        struct.pack_into("<iii", self.hdr, 8, 0, 0, 0)
        self.hdr[20:136] = bytes(116)
        struct.pack_into("<ii", self.gparam, 4, 1, nf)  # num_roots, num_feature
        struct.pack_into("<i", self.gparam, 24, 1)  # num_output_group
        self.magic, self.attrs = False, None
        if self.obj == "count:poisson":  # 0.90 wrote max_delta_step after the model
            self.trailer = dstr("0.7")
        return self


def logit(p):
    return -math.log(1 / p - 1)


# ---- JSON / UBJSON documents ---------------------------------------------------------------


def load_doc(rel):
    b = rd(f"{SRC}/{rel}")
    return ubj_load(b) if rel.endswith(".ubj") else json.loads(b)


def dump_doc(d, ubj):
    return ubj_dump(d) if ubj else json.dumps(d, separators=(",", ":")).encode()


def gbtree_model(gb):
    return gb["gbtree"]["model"] if gb["name"] == "dart" else gb["model"]


def shrink_doc(d, keep=2):
    learner = d["learner"] if "learner" in d else d["Model"]["learner"]
    learner["attributes"] = {k: v for k, v in learner.get("attributes", {}).items() if not k.startswith("best_")}
    gb = learner["gradient_booster"]
    if gb["name"] == "gblinear":
        return d
    m = gbtree_model(gb)

    def cut(v):
        return Typed(v.t, v.v[:keep]) if isinstance(v, Typed) else v[:keep]

    m["trees"] = m["trees"][:keep]
    for i, t in enumerate(m["trees"]):
        t["id"] = i
    m["tree_info"] = cut(m["tree_info"])
    m["gbtree_model_param"]["num_trees"] = str(keep)
    if "iteration_indptr" in m:  # one tree per round in every source kept here
        ip = m["iteration_indptr"]
        m["iteration_indptr"] = Typed(ip.t, list(range(keep + 1))) if isinstance(ip, Typed) else list(range(keep + 1))
    if gb["name"] == "dart":
        gb["weight_drop"] = cut(gb["weight_drop"])
    return d


def set_doc(d, objective_name=None, version=None, base_score=None):
    learner = d["learner"]
    w = version or d["version"]
    if objective_name:
        learner["objective"] = objective(objective_name, w)
    if base_score is not None:
        learner["learner_model_param"]["base_score"] = base_score
    if version:
        d["version"] = list(version)
    return d


def doc_facts(d, fmt, **kw):
    learner = d["learner"]
    v = ".".join(map(str, d["version"]))
    f = dict(format=fmt, payload="ubj" if fmt == "ubjson" else "json", writer_min=v, writer_max=v,
             objective=learner["objective"]["name"], booster=learner["gradient_booster"]["name"],
             obj_params=params(learner["objective"]), base_score=learner["learner_model_param"]["base_score"],
             dart_gbtree=0, num_target=int(learner["learner_model_param"].get("num_target", "1")))
    f.update(kw)
    return f


def bin_facts(b, cfg, **kw):
    major, minor = struct.unpack_from("<II", b.hdr, 20)
    bs = struct.unpack_from("<f", b.hdr, 0)[0]
    w = f"{major}.{minor}" if major else "0.90"
    f = dict(format="binary", payload="bin", writer_min=w if major else "", writer_max=w, objective=b.obj,
             booster=b.booster, obj_params=params(cfg) if cfg is not None else "-", base_score="%.9g" % bs,
             dart_gbtree=0, num_target=struct.unpack_from("<I", b.hdr, 28)[0] if (major, minor) >= (1, 6) else 1)
    f.update(kw)
    return f


# ---- the forms -------------------------------------------------------------------------------


def binaries():
    def base(src="1.7.4/binary_logistic.bin"):
        return Bin(rd(f"{SRC}/{src}")).shrink()

    # binary:logitraw: <= 0.90 (margin logit(0.5) = -0), 1.0-1.2, 1.3.x, 1.7 (base 0.5), 2.0 (a
    # fitted intercept outside (0,1))
    b = base()
    b.set_objective("binary:logitraw", (0, 90))
    b.to_090(logit)
    wr("logitraw_bin090.bin", b.bytes(), **bin_facts(b, None))
    for ver, bs, name in (((1, 2), 0.5, "logitraw_bin12.bin"), ((1, 3), 0.5, "logitraw_bin13.bin"),
                          ((1, 7), 0.5, "logitraw_bin17.bin"), ((2, 0), -0.8, "logitraw_bin20_bs-0.8.bin")):
        b = base().set(version=ver, base_score=bs)
        cfg = b.set_objective("binary:logitraw", ver + (0,))
        wr(name, b.bytes(), **bin_facts(b, cfg))
    # binary:hinge: <= 0.90 stores the margin 0.5; 1.7
    b = base()
    b.set_objective("binary:hinge", (0, 90))
    b.to_090(lambda p: p)
    wr("hinge_bin090.bin", b.bytes(), **bin_facts(b, None))
    b = base()
    cfg = b.set_objective("binary:hinge", (1, 7, 4))
    wr("hinge_bin17.bin", b.bytes(), **bin_facts(b, cfg))
    # ranking: 1.7 (lambda_rank_param), 2.0 (lambdarank_param)
    for obj in ("rank:pairwise", "rank:ndcg"):
        for ver in ((1, 7), (2, 0)):
            b = base("1.7.4/reg_squarederror.bin").set(version=ver)
            cfg = b.set_objective(obj, ver + (0,))
            wr(f"{obj.replace(':', '_')}_bin{ver[0]}{ver[1]}.bin", b.bytes(), **bin_facts(b, cfg))
    # survival:aft 1.7; pseudo-Huber 1.5 (reg_loss_param) and 1.7 (pseudo_huber_param); quantile
    # 2.0; absolute error 1.7; poisson 1.7 and <= 0.90; gamma 2.0 and <= 0.90; tweedie 1.7;
    # squared log error 1.7 and 3.0 (written by 3.0.5: no reg_loss_param)
    for obj, ver, name in (("survival:aft", (1, 7), "aft_bin17.bin"),
                           ("reg:pseudohubererror", (1, 5), "phub_bin15.bin"),
                           ("reg:pseudohubererror", (1, 7), "phub_bin17.bin"),
                           ("reg:quantileerror", (2, 0), "quantile_bin20.bin"),
                           ("reg:absoluteerror", (1, 7), "abs_bin17.bin"),
                           ("count:poisson", (1, 7), "poisson_bin17.bin"),
                           ("reg:gamma", (2, 0), "gamma_bin20.bin"),
                           ("reg:tweedie", (1, 7), "tweedie_bin17.bin"),
                           ("reg:squaredlogerror", (1, 7), "sqlog_bin17.bin")):
        b = base("1.7.4/reg_squarederror.bin").set(version=ver)
        cfg = b.set_objective(obj, ver + (0,))
        wr(name, b.bytes(), **bin_facts(b, cfg))
    b = base("1.7.4/reg_squarederror.bin").set(version=(3, 0))
    cfg = b.set_objective("reg:squaredlogerror", (3, 0, 5))
    wr("sqlog_bin30_305.bin", b.bytes(), **bin_facts(b, cfg))
    for obj, name in (("count:poisson", "poisson_bin090.bin"), ("reg:gamma", "gamma_bin090.bin")):
        b = base("1.7.4/reg_squarederror.bin")
        b.set_objective(obj, (0, 90))
        b.to_090(math.log)
        wr(name, b.bytes(), **bin_facts(b, None))
    # dart, gblinear (1.7); base_score 0.45 written by 2.x
    b = base("1.7.4/dart.bin")
    wr("dart_bin17.bin", b.bytes(), **bin_facts(b, objective(b.obj, (1, 7, 4))))
    b = base("1.7.4/gblinear.bin")
    wr("gblinear_bin17.bin", b.bytes(), **bin_facts(b, objective(b.obj, (1, 7, 4))))
    b = base().set(version=(2, 0), base_score=0.45)
    wr("logistic_bin20_bs0.45.bin", b.bytes(), **bin_facts(b, objective(b.obj, (2, 0, 0))))
    # num_target 2, one output per tree (1.6+ header field; trees alternate between the targets)
    b = base("1.7.4/reg_squarederror.bin").set(num_target=2)
    b.tree_info = [i % 2 for i in range(len(b.trees))]
    wr("multitarget_bin17.bin", b.bytes(), **bin_facts(b, objective(b.obj, (1, 7, 4))))
    # a legacy binary under an upper-case .JSON name (packaged as xgboost-model.JSON)
    b = base()
    wr("logistic_bin17_upper.JSON", b.bytes(), **bin_facts(b, objective(b.obj, (1, 7, 4))))


def documents():
    def ubj305(src="binary_logistic"):
        return shrink_doc(load_doc(f"3.0.5/{src}.ubj"))

    for obj, name in (("binary:logitraw", "logitraw_ubj305.ubj"), ("binary:hinge", "hinge_ubj305.ubj"),
                      ("rank:ndcg", "ndcg_ubj305.ubj"), ("survival:aft", "aft_ubj305.ubj"),
                      ("reg:quantileerror", "quantile_ubj305.ubj"), ("reg:gamma", "gamma_ubj305.ubj"),
                      ("reg:squaredlogerror", "sqlog_ubj305.ubj")):
        d = set_doc(ubj305("reg_squarederror" if obj not in ("binary:logitraw", "binary:hinge") else
                           "binary_logistic"), objective_name=obj)
        wr(name, dump_doc(d, 1), **doc_facts(d, "ubjson"))
    d = set_doc(shrink_doc(load_doc("3.0.5/reg_squarederror.json")), objective_name="reg:squaredlogerror")
    wr("sqlog_json305.json", dump_doc(d, 0), **doc_facts(d, "json"))
    # reg:gamma as 1.7.4 writes it (name only)
    d = set_doc(shrink_doc(load_doc("1.7.4/reg_squarederror.json")), objective_name="reg:gamma")
    wr("gamma_json174.json", dump_doc(d, 0), **doc_facts(d, "json"))
    # binary:logitraw with an intercept outside (0,1), as 3.0.5 writes it
    d = set_doc(ubj305(), objective_name="binary:logitraw", base_score="-8E-1")
    wr("logitraw_ubj305_bs-0.8.ubj", dump_doc(d, 1), **doc_facts(d, "ubjson"))
    # base_score as a 3.1+ array: 0.5 (the fallback of older readers predicts the same), 0.45,
    # and outside (0,1) for binary:logitraw
    for bs, obj, name in (("[5E-1]", None, "logistic_ubj31_bs0.5.ubj"), ("[4.5E-1]", None, "logistic_ubj31_bs0.45.ubj"),
                          ("[-8E-1]", "binary:logitraw", "logitraw_ubj31_bs-0.8.ubj")):
        d = set_doc(ubj305(), objective_name=obj, version=(3, 1, 0), base_score=bs)
        wr(name, dump_doc(d, 1), **doc_facts(d, "ubjson"))
    # gblinear: a 3.1 JSON with a base_score array that is not 0.5
    d = set_doc(load_doc("3.0.5/gblinear.json"), version=(3, 1, 0), base_score="[4.5E-1]")
    wr("gblinear_json31_bs0.45.json", dump_doc(d, 0), **doc_facts(d, "json"))
    # categorical splits as 1.5 wrote them: boolean default_left, no num_target
    d = shrink_doc(load_doc("1.7.4/categorical.json"))
    for t in d["learner"]["gradient_booster"]["model"]["trees"]:
        t["default_left"] = [bool(x) for x in t["default_left"]]
    del d["learner"]["learner_model_param"]["num_target"], d["learner"]["learner_model_param"]["boost_from_average"]
    d["version"] = [1, 5, 2]
    wr("categorical_json15.json", dump_doc(d, 0), **doc_facts(d, "json", num_target=1))
    # num_target 2, one output per tree, as 1.7.4 writes it
    d = shrink_doc(load_doc("1.7.4/reg_squarederror.json"))
    d["learner"]["learner_model_param"]["num_target"] = "2"
    d["learner"]["gradient_booster"]["model"]["tree_info"] = [0, 1]
    wr("multitarget_json174.json", dump_doc(d, 0), **doc_facts(d, "json"))
    # vector leaves as 3.2 writes them: leaf values in leaf_weights, base_score an array
    d = shrink_doc(load_doc("3.0.5/multi_output_tree.ubj"))
    for t in d["learner"]["gradient_booster"]["model"]["trees"]:
        k = int(t["tree_param"]["size_leaf_vector"])
        left, right, bw = t["left_children"], t["right_children"], t["base_weights"]
        lv, rv, wv = (x.v if isinstance(x, Typed) else x for x in (left, right, bw))
        leaves = [i for i, l in enumerate(lv) if l == -1]
        t["leaf_weights"] = Typed("d", [w for i in leaves for w in wv[i * k : (i + 1) * k]])
        rv = [leaves.index(i) if lv[i] == -1 else r for i, r in enumerate(rv)]
        t["right_children"] = Typed(right.t, rv) if isinstance(right, Typed) else rv
    lmp = d["learner"]["learner_model_param"]
    lmp["base_score"] = "[" + lmp["base_score"] + "," + lmp["base_score"] + "]"
    d["version"] = [3, 2, 0]
    wr("vleaf_ubj32.ubj", dump_doc(d, 1), **doc_facts(d, "ubjson"))
    # DART as 3.3 writes it (booster "gbtree", weight_drop beside the model) and as 3.4 does
    # (inside it); base_score the 3.1+ array
    for where, name in (("beside", "dart_ubj33.ubj"), ("inside", "dart_ubj34.ubj")):
        d = shrink_doc(load_doc("3.0.5/dart.ubj"))
        gb = d["learner"]["gradient_booster"]
        model, wd = gb["gbtree"]["model"], gb["weight_drop"]
        d["learner"]["gradient_booster"] = {"name": "gbtree", "model": model}
        if where == "beside":
            d["learner"]["gradient_booster"]["weight_drop"] = wd
        else:
            model["weight_drop"] = wd
        lmp = d["learner"]["learner_model_param"]
        lmp["base_score"] = "[" + lmp["base_score"] + "]"
        d["version"] = [3, 3, 0] if where == "beside" else [3, 4, 0]
        wr(name, dump_doc(d, 1), **doc_facts(d, "ubjson", dart_gbtree=1))


# ---- memory snapshots: pickled, and as the bare model file ------------------------------------

CFG12 = {"learner": {"generic_param": {"n_jobs": "0", "nthread": "0", "seed": "0"},
                     "learner_train_param": {"booster": "gbtree", "objective": "binary:logistic"}},
         "version": [1, 2, 1]}


def cfgoff(binary, booster_name, version=(1, 2, 1)):
    cfg = copy.deepcopy(CFG12)
    cfg["learner"]["learner_train_param"]["booster"] = booster_name
    cfg["learner"]["gradient_booster"] = {"name": booster_name}
    cfg["version"] = list(version)
    return b"CONFIG-offset:" + struct.pack("<q", len(binary)) + binary + json.dumps(cfg, separators=(",", ":")).encode()


def snap_json(model):
    learner = model["learner"]
    cfg = {"learner": {"generic_param": {"nthread": "0"}, "learner_model_param": learner["learner_model_param"],
                       "learner_train_param": {"booster": learner["gradient_booster"]["name"],
                                               "objective": learner["objective"]["name"]},
                       "objective": learner["objective"]},
           "version": model["version"]}
    return json.dumps({"Config": cfg, "Model": model}, separators=(",", ":")).encode()


def xgboost_174():
    """Debian's libxgboost 1.7.4, or None."""
    for p in ("/usr/lib/x86_64-linux-gnu/libxgboost.so", ctypes.util.find_library("xgboost")):
        try:
            lib = ctypes.CDLL(p)
        except (OSError, TypeError):
            continue
        ma, mi, pa = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
        lib.XGBoostVersion(ctypes.byref(ma), ctypes.byref(mi), ctypes.byref(pa))
        if (ma.value, mi.value, pa.value) == (1, 7, 4):
            return lib
    return None


def serialize_174(lib, model_bytes):
    """XGBoosterSerializeToBuffer of the model loaded from bytes: what Booster.__getstate__
    pickles under 1.7.4."""
    h = ctypes.c_void_p()
    assert lib.XGBoosterCreate(None, ctypes.c_uint64(0), ctypes.byref(h)) == 0
    buf = ctypes.create_string_buffer(model_bytes, len(model_bytes))
    assert lib.XGBoosterLoadModelFromBuffer(h, buf, ctypes.c_uint64(len(model_bytes))) == 0
    n, out = ctypes.c_uint64(), ctypes.POINTER(ctypes.c_char)()
    assert lib.XGBoosterSerializeToBuffer(h, ctypes.byref(n), ctypes.byref(out)) == 0
    data = ctypes.string_at(out, n.value)
    lib.XGBoosterFree(h)
    return data


def snapshots():
    def facts(payload, writer, obj, booster_name, fmt="pickle"):
        return dict(format=fmt, payload=payload, writer_min=writer, writer_max=writer, objective=obj,
                    booster=booster_name, obj_params="", base_score="", dart_gbtree=0, num_target="")

    PK = dict(protocol=4)
    for src, obj in (("dart", "binary:logistic"), ("gblinear", "reg:squarederror")):
        b = Bin(rd(f"{SRC}/1.7.4/{src}.bin")).shrink().set(version=(1, 2))
        snap = cfgoff(b.bytes(), src)
        wr(f"pickle_cfgoff12_{src}.pkl", pickle.dumps(booster(snap), **PK),
           **facts("snap_cfgoff", "1.2.1", b.obj, src))
    for src in ("dart", "gblinear"):
        model = shrink_doc(load_doc(f"1.5.2/{src}.json"))
        wr(f"pickle_snapjson15_{src}.pkl", pickle.dumps(booster(snap_json(model)), **PK),
           **facts("snap_json", "1.5.2", model["learner"]["objective"]["name"], src))
    lib = xgboost_174()
    for src in ("dart", "gblinear"):
        name = f"pickle_snapubj174_{src}.pkl"
        model = shrink_doc(load_doc(f"1.7.4/{src}.ubj"))
        if lib:
            snap = serialize_174(lib, dump_doc(model, 1))
            wr(name, pickle.dumps(booster(snap), **PK),
               **facts("snap_ubj", "1.7.4", model["learner"]["objective"]["name"], src))
        else:
            rows.append(dict(file=name, **facts("snap_ubj", "1.7.4", model["learner"]["objective"]["name"], src)))
    # the bare snapshots, saved as the model file itself
    b = Bin(rd(f"{SRC}/1.7.4/binary_logistic.bin")).shrink().set(version=(1, 2))
    wr("snap_cfgoff12.raw", cfgoff(b.bytes(), "gbtree"), **facts("snap_cfgoff", "1.2.1", b.obj, "gbtree", "binary"))
    model = shrink_doc(load_doc("1.5.2/binary_logistic.json"))
    wr("snap_json15.raw", snap_json(model), **facts("snap_json", "1.5.2", "binary:logistic", "gbtree", "json"))
    if lib:
        state = serialize_174(lib, dump_doc(shrink_doc(load_doc("1.7.4/binary_logistic.ubj")), 1))
        wr("snap_ubj174.raw", state, **facts("snap_ubj", "1.7.4", "binary:logistic", "gbtree", "ubjson"))
    else:
        rows.append(dict(file="snap_ubj174.raw", **facts("snap_ubj", "1.7.4", "binary:logistic", "gbtree", "ubjson")))


def main():
    os.makedirs(OUT, exist_ok=True)
    binaries()
    documents()
    snapshots()
    with open(os.path.join(OUT, "forms.csv"), "w", newline="") as f:
        dw = csv.DictWriter(f, COLS, restval="", extrasaction="ignore", lineterminator="\n")
        dw.writeheader()
        for r in rows:
            dw.writerow(r)


if __name__ == "__main__":
    main()
