#!/usr/bin/env python3
"""Build the model files the measured fixtures do not cover, from the real 1.5.2/1.7.4 files.

Run from this directory: python3 make.py. Standard library only; no XGBoost is needed, except
that forms.py (run at the end) has Debian's libxgboost 1.7.4 serialize its 1.7.4 snapshots when
it is installed (otherwise those files are left as they are).

- legacy binaries in the 0.90 layout (no magic, major 0, base_score stored as a margin, booster
  counts in the gbtree parameters, no attributes) and the 1.0 layout (no magic, major 1 minor 0),
  rewritten from 1.7.4 binaries field by field per formats.md 1.1, so they predict what the
  1.7.4 originals predict;
- pickles of an xgboost.core.Booster (the class is a stand-in registered under that module
  name; pickle only records the name) in protocols 0-5, holding each payload kind: a 0.90
  binary, a "CONFIG-offset:" snapshot (1.2), a JSON snapshot (1.5) and a UBJSON snapshot (1.7);
  an xgboost.sklearn.XGBClassifier pickle; scikit-learn pickles;
- joblib-style compressed pickles (zlib, gzip, bz2, xz, lzma) and recognisable foreign files
  (LightGBM text, ONNX, tar, gzip-compressed tar, XGBoost text dump).

expect.csv records, for each file, what it was built as: the tests compare the readers to it.
forms/ (forms.py) holds the objectives and forms the load rules distinguish, with forms.csv.
"""
import bz2, csv, gzip, io, json, lzma, math, pickle, struct, sys, tarfile, types, zlib

from synthlib import Booster, Typed, booster, cls, core, module, rd, split_binary, to_090, to_10, ubj_dump, ubj_load, with_version

SRC = ".."
rows = []


def wr(name, data, **facts):
    with open(name, "wb") as f:
        f.write(data)
    rows.append(dict(file=name, **facts))


# ---- legacy binaries ----------------------------------------------------------------------
bl = rd(f"{SRC}/1.7.4/binary_logistic.bin")
ms = rd(f"{SRC}/1.7.4/multi_softprob.bin")
rg = rd(f"{SRC}/1.7.4/reg_squarederror.bin")
b090 = to_090(bl)
wr("bin090_binary_logistic.bin", b090, format="binary", payload="bin", writer_min="", writer_max="0.90",
   objective="binary:logistic", num_class=0, preds="1.7.4/binary_logistic.preds.txt")
wr("bin090_multi_softprob.bin", to_090(ms, 3), format="binary", payload="bin", writer_min="",
   writer_max="0.90", objective="multi:softprob", num_class=3, preds="1.7.4/multi_softprob.preds.txt")
wr("bin10_reg_squarederror.bin", to_10(rg), format="binary", payload="bin", writer_min="1.0",
   writer_max="1.0", objective="reg:squarederror", num_class=0, preds="1.7.4/reg_squarederror.preds.txt")

# ---- payloads ------------------------------------------------------------------------------
bin12 = with_version(bl, 1, 2)
cfg12 = {"learner": {"generic_param": {"n_jobs": "0", "nthread": "0", "seed": "0"},
                     "gradient_booster": {"name": "gbtree"},
                     "learner_model_param": {"base_score": "0.500000", "num_class": "0", "num_feature": "6"},
                     "learner_train_param": {"booster": "gbtree", "objective": "binary:logistic"},
                     "objective": {"name": "binary:logistic", "reg_loss_param": {"scale_pos_weight": "1"}}},
         "version": [1, 2, 1]}
cfgoff = b"CONFIG-offset:" + struct.pack("<q", len(bin12)) + bin12 + json.dumps(cfg12, separators=(",", ":")).encode()
model15 = json.loads(rd(f"{SRC}/1.5.2/binary_logistic.json"))
cfg15 = {"learner": {"generic_param": {"nthread": "0"},
                     "learner_model_param": model15["learner"]["learner_model_param"],
                     "learner_train_param": {"booster": "gbtree", "objective": "binary:logistic"},
                     "objective": model15["learner"]["objective"]},
         "version": [1, 5, 2]}
snapjson = json.dumps({"Config": cfg15, "Model": model15}, separators=(",", ":")).encode()
snapubj = rd(f"{SRC}/1.7.4-python/binary_logistic.state")

# ---- pickles: stand-in classes registered under the real module names ---------------------


skl = module("xgboost.sklearn")
pipe_m, forest_m = module("sklearn.pipeline"), module("sklearn.ensemble._forest")
module("sklearn"), module("sklearn.ensemble")


XGBClassifier = cls(skl, "XGBClassifier")
Pipeline, RandomForestClassifier = cls(pipe_m, "Pipeline"), cls(forest_m, "RandomForestClassifier")


PK = dict(format="pickle", objective="binary:logistic", num_class=0)
for proto in (0, 2):
    wr(f"pickle_p{proto}_090.pkl", pickle.dumps(booster(b090), protocol=proto), payload="bin", writer_min="",
       writer_max="0.90", protocol=proto, pclass="xgboost.core Booster", preds="1.7.4/binary_logistic.preds.txt", **PK)
for proto in (1, 2, 4):
    wr(f"pickle_p{proto}_cfgoff.pkl", pickle.dumps(booster(cfgoff), protocol=proto), payload="snap_cfgoff",
       writer_min="1.2.1", writer_max="1.2.1", protocol=proto, pclass="xgboost.core Booster",
       preds="1.7.4/binary_logistic.preds.txt", **PK)
# the 1.0-1 container: XGBoost 1.0 wrote no binf magic inside the snapshot
bin10 = to_10(bl)
cfg10 = dict(cfg12, version=[1, 0, 2])
cfgoff10 = b"CONFIG-offset:" + struct.pack("<q", len(bin10)) + bin10 + json.dumps(cfg10, separators=(",", ":")).encode()
wr("pickle_p3_cfgoff10.pkl", pickle.dumps(booster(cfgoff10), protocol=3), payload="snap_cfgoff",
   writer_min="1.0.2", writer_max="1.0.2", protocol=3, pclass="xgboost.core Booster",
   preds="1.7.4/binary_logistic.preds.txt", **PK)
wr("pickle_p3_snapjson.pkl", pickle.dumps(booster(snapjson), protocol=3), payload="snap_json", writer_min="1.5.2",
   writer_max="1.5.2", protocol=3, pclass="xgboost.core Booster", preds="1.5.2/binary_logistic.preds.txt", **PK)
wr("pickle_p5_snapubj.pkl", pickle.dumps(booster(snapubj), protocol=5), payload="snap_ubj", writer_min="1.7.4",
   writer_max="1.7.4", protocol=5, pclass="xgboost.core Booster", preds="1.7.4/binary_logistic.preds.txt", **PK)
clf = XGBClassifier()
# the attributes XGBClassifier 1.7 pickles, in its order: dozens of parameter names before the
# Booster
for k, v in [("n_estimators", 10), ("objective", "binary:logistic"), ("max_depth", 3), ("max_leaves", None),
             ("max_bin", None), ("grow_policy", None), ("learning_rate", 0.3), ("verbosity", None),
             ("booster", None), ("tree_method", None), ("gamma", None), ("min_child_weight", None),
             ("max_delta_step", None), ("subsample", None), ("sampling_method", None),
             ("colsample_bytree", None), ("colsample_bylevel", None), ("colsample_bynode", None),
             ("reg_alpha", None), ("reg_lambda", None), ("scale_pos_weight", None), ("base_score", None),
             ("missing", float("nan")), ("num_parallel_tree", None), ("random_state", None), ("n_jobs", None),
             ("monotone_constraints", None), ("interaction_constraints", None), ("importance_type", None),
             ("gpu_id", None), ("validate_parameters", None), ("predictor", None),
             ("enable_categorical", False), ("feature_types", None), ("max_cat_to_onehot", None),
             ("max_cat_threshold", None), ("eval_metric", None), ("early_stopping_rounds", None),
             ("callbacks", None), ("use_label_encoder", False), ("n_classes_", 2)]:
    setattr(clf, k, v)
clf._Booster = booster(snapubj)
sk_clf = pickle.dumps(clf, protocol=4)
wr("pickle_xgbclassifier.pkl", sk_clf, payload="snap_ubj", writer_min="1.7.4", writer_max="1.7.4", protocol=4,
   pclass="xgboost.sklearn XGBClassifier", preds="1.7.4/binary_logistic.preds.txt", **PK)
pipe = Pipeline()
pipe.steps = [("clf", clf)]
wr("pickle_sklearn_pipeline.pkl", pickle.dumps(pipe, protocol=4), format="foreign", payload="snap_ubj",
   protocol=4, pclass="sklearn.pipeline Pipeline", foreign="scikit-learn")
rf = RandomForestClassifier()
rf.n_estimators, rf.estimators_ = 3, [1, 2, 3]
wr("pickle_sklearn_rf.pkl", pickle.dumps(rf, protocol=4), format="foreign", payload="none", protocol=4,
   pclass="sklearn.ensemble._forest RandomForestClassifier", foreign="scikit-learn")

# ---- joblib-style compression of the 1.7 Booster pickle -----------------------------------
p4 = pickle.dumps(booster(snapubj), protocol=4)
JB = dict(payload="snap_ubj", writer_min="1.7.4", writer_max="1.7.4", protocol=4, pclass="xgboost.core Booster",
          objective="binary:logistic", num_class=0, preds="1.7.4/binary_logistic.preds.txt")
wr("joblib_zlib.joblib", zlib.compress(p4, 3), format="joblib", compression="zlib", **JB)
wr("joblib_gzip.joblib", gzip.compress(p4, 3, mtime=0), format="joblib", compression="gzip", **JB)
wr("joblib_bz2.joblib", bz2.compress(p4), format="foreign", compression="bz2", payload="none")
wr("joblib_xz.joblib", lzma.compress(p4), format="foreign", compression="xz", payload="none")
wr("joblib_lzma.joblib", lzma.compress(p4, format=lzma.FORMAT_ALONE), format="foreign", compression="lzma",
   payload="none")

# ---- foreign files -------------------------------------------------------------------------
wr("lightgbm.txt", b"tree\nversion=v3\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\n"
   b"max_feature_idx=5\nobjective=binary sigmoid:1\nfeature_names=f0 f1 f2 f3 f4 f5\n\nTree=0\n",
   format="foreign", payload="none", foreign="LightGBM")
onnx = (b"\x08\x07" + b"\x12\x08skl2onnx" + b"\x1a\x061.16.0" + b"\x22\x07ai.onnx" + b"\x28\x00"
        + b"\x3a\x04\x0a\x02\x10\x01")
wr("model.onnx", onnx, format="foreign", payload="none", foreign="ONNX")
tb = io.BytesIO()
with tarfile.open(fileobj=tb, mode="w", format=tarfile.GNU_FORMAT) as t:
    ti = tarfile.TarInfo("xgboost-model")
    ti.size = len(bl)
    t.addfile(ti, io.BytesIO(bl))
wr("inner.tar", tb.getvalue(), format="foreign", payload="none", foreign="tar archive")
wr("inner.tar.gz", gzip.compress(tb.getvalue(), mtime=0), format="foreign", payload="none",
   foreign="gzip-compressed tar")
wr("dump.txt", b"booster[0]:\n0:[f0<0.5] yes=1,no=2,missing=1\n\t1:leaf=0.1\n\t2:leaf=-0.1\n",
   format="foreign", payload="none", foreign="text dump")

cols = ["file", "format", "payload", "writer_min", "writer_max", "objective", "num_class", "protocol",
        "pclass", "compression", "foreign", "preds", "joblib_arrays", "base_array", "typed_f64", "typed_i8"]

# ---- an uncompressed joblib file: numpy array bytes inline before the Booster ---------------
# joblib's NumpyPickler writes each array's raw bytes right after the pickled NumpyArrayWrapper;
# only joblib's unpickler can step over them.
np_m = module("joblib.numpy_pickle")
module("joblib")
Wrapper = cls(np_m, "NumpyArrayWrapper")


class JoblibPickler(pickle._Pickler):
    def save(self, obj, save_persistent_id=True):
        super().save(obj, save_persistent_id)
        if isinstance(obj, Wrapper):
            self.write(obj.raw)


w = Wrapper()
w.shape, w.order, w.dtype, w.allow_mmap = (2,), "C", "int64", False
w.raw = struct.pack("<qq", 0, 1)
clf2 = XGBClassifier()
clf2.classes_, clf2._Booster, clf2.n_estimators = w, booster(snapubj), 10
bio = io.BytesIO()
JoblibPickler(bio, protocol=3).dump(clf2)
wr("joblib_plain_numpy.joblib", bio.getvalue(), format="pickle", payload="snap_ubj", writer_min="1.7.4",
   writer_max="1.7.4", protocol=3, pclass="xgboost.sklearn XGBClassifier", objective="binary:logistic",
   num_class=0, preds="1.7.4/binary_logistic.preds.txt", joblib_arrays=1)

# ---- JSON/UBJSON field variants of other writers ---------------------------------------------


# 3.1-style UBJSON: base_score as a one-element array string, float64 ($D) split conditions and
# int16 ($I) children, as the newer writers' typed arrays allow (formats.md 3.3)
u = ubj_load(rd(f"{SRC}/3.0.5/binary_logistic.ubj"))
assert ubj_dump(u) == rd(f"{SRC}/3.0.5/binary_logistic.ubj"), "the UBJSON round trip is exact"
lmp = u["learner"]["learner_model_param"]
lmp["base_score"] = "[" + lmp["base_score"] + "]"
for t in u["learner"]["gradient_booster"]["model"]["trees"]:
    t["split_conditions"] = Typed("D", t["split_conditions"].v)
    t["left_children"] = Typed("I", t["left_children"].v)
    t["split_type"] = Typed("i", t["split_type"].v)
u["version"] = [3, 1, 0]
wr("ubj31_typed.ubj", ubj_dump(u), format="ubjson", payload="ubj", writer_min="3.1.0", writer_max="3.1.0",
   objective="binary:logistic", num_class=0, preds="3.0.5/binary_logistic.preds.txt", base_array=1,
   typed_f64=1, typed_i8=1)

# 3.1-style JSON: a per-class base_score array
j = json.loads(rd(f"{SRC}/3.0.5/multi_softprob.json"))
bs = j["learner"]["learner_model_param"]["base_score"]
j["learner"]["learner_model_param"]["base_score"] = "[" + ",".join([bs] * 3) + "]"
j["version"] = [3, 1, 0]
wr("json31_base_score_array.json", json.dumps(j, separators=(",", ":")).encode(), format="json", payload="json",
   writer_min="3.1.0", writer_max="3.1.0", objective="multi:softprob", num_class=3,
   preds="3.0.5/multi_softprob.preds.txt", base_array=1)

# 1.0-1.2-style JSON: leaf_child_counts, no split_type/categories
j = json.loads(rd(f"{SRC}/1.5.2/binary_logistic.json"))
for t in j["learner"]["gradient_booster"]["model"]["trees"]:
    for k in ("split_type", "categories", "categories_nodes", "categories_segments", "categories_sizes"):
        del t[k]
    t["leaf_child_counts"] = [0] * len(t["left_children"])
del j["learner"]["feature_names"], j["learner"]["feature_types"]
j["version"] = [1, 2, 1]
wr("json12_leaf_child_counts.json", json.dumps(j, separators=(",", ":")).encode(), format="json", payload="json",
   writer_min="1.2.1", writer_max="1.2.1", objective="binary:logistic", num_class=0,
   preds="1.5.2/binary_logistic.preds.txt")
del j["version"]
wr("json_noversion_12.json", json.dumps(j, separators=(",", ":")).encode(), format="json", payload="json",
   writer_min="1.0.0", writer_max="1.2", objective="binary:logistic", num_class=0,
   preds="1.5.2/binary_logistic.preds.txt")
j = json.loads(rd(f"{SRC}/1.7.4/reg_squarederror.json"))
del j["version"]
wr("json_noversion_16.json", json.dumps(j, separators=(",", ":")).encode(), format="json", payload="json",
   writer_min="1.6.0", writer_max="", objective="reg:squarederror", num_class=0,
   preds="1.7.4/reg_squarederror.preds.txt")

# feature names and types (the fixtures were trained on a bare matrix)
j = json.loads(rd(f"{SRC}/1.7.4/categorical.json"))
j["learner"]["feature_names"] = ["age", "income", "region", "tenure", "calls", "score"]
j["learner"]["feature_types"] = ["float", "float", "c", "int", "int", "float"]
wr("json_feature_names.json", json.dumps(j, separators=(",", ":")).encode(), format="json", payload="json",
   writer_min="1.7.4", writer_max="1.7.4", objective="reg:squarederror", num_class=0,
   preds="1.7.4/categorical.preds.txt")

with open("expect.csv", "w", newline="") as f:
    dw = csv.DictWriter(f, cols, restval="", lineterminator="\n")
    dw.writeheader()
    for r in rows:
        dw.writerow(r)

# ---- the objectives and forms the load rules distinguish (forms.py) --------------------------
import forms  # noqa: E402

forms.main()
