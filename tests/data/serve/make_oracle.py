#!/usr/bin/python3
"""Regenerate models/ and oracle.jsonl (run with Debian's python3-xgboost 1.7.4, numpy, scipy).

Trains small models of every objective the container treats specially and records, for a set
of requests, the answer the container's 1.7-1 serving code gives: its own Python (the
selectable-output helpers, the ensemble combine, the encoders) re-stated below, run on the
real XGBoost predictions. Same line format as recorded.jsonl.
"""
import base64
import json
import math
import os
import struct

import numpy as np
import scipy.stats
import xgboost as xgb

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(42)
X = rng.random((200, 4)).astype(np.float32)
yb = (X[:, 0] + X[:, 1] > 1).astype(int)
ym = (X[:, 0] * 3).astype(int)
yr = X[:, 0] * 3 + X[:, 1] - X[:, 2]


def train(name, params, y, rounds=8, files=("xgboost-model",), **kw):
    d = os.path.join(HERE, "models", name)
    os.makedirs(d, exist_ok=True)
    for i, f in enumerate(files):
        p = dict(params, seed=i, max_depth=3)
        if len(files) > 1:
            p["subsample"] = 0.7
        bst = xgb.train(p, xgb.DMatrix(X, label=y), rounds, **kw)
        bst.save_model(os.path.join(d, f))
    return d


models = {
    "bin": train("bin", {"objective": "binary:logistic"}, yb),
    "logitraw": train("logitraw", {"objective": "binary:logitraw"}, yb),
    "hinge": train("hinge", {"objective": "binary:hinge"}, yb),
    "softprob": train("softprob", {"objective": "multi:softprob", "num_class": 3}, ym),
    "softmax": train("softmax", {"objective": "multi:softmax", "num_class": 3}, ym),
    "poisson": train("poisson", {"objective": "count:poisson"}, yb),
    "ens": train("ens", {"objective": "reg:squarederror"}, yr, files=("m-a", "m-b", "m-c")),
    "vote": train("vote", {"objective": "multi:softmax", "num_class": 3}, ym,
                  files=("m-a", "m-b", "m-c")),
}
# early stopping: best_ntree_limit is stored as an attribute and used by the container
dtr = xgb.DMatrix(X[:150], label=yr[:150])
dva = xgb.DMatrix(X[150:], label=yr[150:] + rng.normal(0, 2, 50))
d = os.path.join(HERE, "models", "early")
os.makedirs(d, exist_ok=True)
bst = xgb.train({"objective": "reg:squarederror", "max_depth": 4, "eta": 0.6}, dtr, 60,
                evals=[(dva, "v")], early_stopping_rounds=2, verbose_eval=False)
assert bst.attr("best_ntree_limit") and int(bst.attr("best_ntree_limit")) < bst.num_boosted_rounds()
bst.save_model(os.path.join(d, "xgboost-model"))
models["early"] = d


def load(name):
    d = models[name]
    return [xgb.Booster(model_file=os.path.join(d, f)) for f in os.listdir(d)]


def objective(b):
    return json.loads(b.save_config())["learner"]["objective"]["name"]


def predict(boosters, dtest):
    obj = objective(boosters[0])
    preds = [b.predict(dtest, ntree_limit=getattr(b, "best_ntree_limit", 0),
                       validate_features=False) for b in boosters]
    if len(preds) == 1:
        return preds[0]
    if obj in ("multi:softmax", "binary:hinge"):
        return scipy.stats.mode(preds).mode[0]
    return np.mean(preds, axis=0)


# ---- the container's selectable output (serve_utils.py) ----
VALID = {
    "reg:squarederror": ["predicted_score"],
    "binary:logistic": ["predicted_label", "labels", "probability", "probabilities", "raw_score",
                        "raw_scores"],
    "binary:logitraw": ["predicted_label", "labels", "raw_score", "raw_scores"],
    "binary:hinge": ["predicted_label", "labels", "raw_score", "raw_scores"],
    "multi:softmax": ["predicted_label", "labels", "raw_score", "raw_scores"],
    "multi:softprob": ["predicted_label", "labels", "probability", "probabilities", "raw_score",
                       "raw_scores"],
}


def selected(preds, keys, obj, num_class):
    if obj not in VALID:
        raise ValueError("Objective `{}` unsupported for selectable inference predictions."
                         .format(obj))
    valid = set(keys).intersection(VALID[obj])
    invalid = [k for k in dict.fromkeys(keys) if k not in VALID[obj]]
    out = []
    for p in preds:
        o = {}
        if "predicted_label" in valid:
            if obj in ("binary:hinge", "multi:softmax"):
                o["predicted_label"] = p.item()
            elif obj == "binary:logistic":
                o["predicted_label"] = int(p > 0.5)
            elif obj == "binary:logitraw":
                o["predicted_label"] = int(p > 0)
            else:
                o["predicted_label"] = int(np.argmax(p))
        if "labels" in valid:
            o["labels"] = [0, 1] if "binary:" in obj else list(range(int(num_class)))
        if "probability" in valid:
            o["probability"] = p.item() if obj == "binary:logistic" else max(p).item()
        if "probabilities" in valid:
            o["probabilities"] = ([1 - p.item(), p.item()] if obj == "binary:logistic"
                                  else p.tolist())
        if "raw_score" in valid:
            o["raw_score"] = max(p).item() if obj == "multi:softprob" else p.item()
        if "raw_scores" in valid:
            o["raw_scores"] = (p.tolist() if obj == "multi:softprob"
                               else [1 - p.item(), p.item()])
        if "predicted_score" in valid:
            o["predicted_score"] = p.item()
        for k in invalid:
            o[k] = np.nan
        out.append(o)
    return out


def pb_varint(n):
    b = b""
    while True:
        c = n & 0x7F
        n >>= 7
        if n:
            b += bytes([c | 0x80])
        else:
            return b + bytes([c])


def pb_field(num, payload):
    return pb_varint(num << 3 | 2) + pb_varint(len(payload)) + payload


def rio_frame(data):
    return struct.pack("<II", 0xCED7230A, len(data)) + data + b"\0" * ((4 - len(data) % 4) % 4)


def encode_selected(rows, keys, accept, batch):
    if accept == "application/json":
        return json.dumps({"predictions": rows}).encode()
    if accept == "application/jsonlines":
        return b"".join(json.dumps(r).encode() + b"\n" for r in rows)
    if accept == "application/x-recordio-protobuf":
        out, acc = b"", b""
        for r in rows:
            rec = b""
            for k, v in r.items():
                v = v if isinstance(v, list) else [v]
                tensor = pb_field(1, struct.pack("<%df" % len(v), *v))
                value = pb_field(2, tensor)
                rec += pb_field(2, pb_field(1, k.encode()) + pb_field(2, value))
            acc += rec  # the container never resets its buffer
            out += rio_frame(acc)
        return out
    if accept == "text/csv":
        lines = []
        for r in rows:
            vals = ['"{}"'.format(r[k]) if isinstance(r[k], list) else str(r[k]) for k in keys]
            lines.append(",".join(vals))
        s = "\n".join(lines)
        return (s + "\n" if batch else s).encode()
    raise RuntimeError("Cannot encode selected predictions into accept type '{}'.".format(accept))


def default_body(preds, accept, batch):
    if batch:
        return ("\n".join(map(str, preds.tolist())) + "\n").encode()
    if accept == "application/json":
        return json.dumps({"predictions": [{"score": p} for p in preds.tolist()]}).encode()
    rows = preds.tolist()
    if preds.ndim == 1:
        rows = [[r] for r in rows]
    return "".join(",".join(repr(v) for v in r) + "\n" for r in rows).encode()


CSV = b"0.1,0.2,0.3,0.4\n0.9,0.8,0.1,0.2\n0.5,,0.7,0.05\n0.3,0.95,nan,0.6"
LIBSVM = b"1 0:0.1 1:0.2 2:0.3 3:0.4\n0 0:0.9 1:0.8 3:0.2\n\n1 2:0.7 0:0.5"


def csv_matrix(body):
    rows = [[("nan" if f == "" else f) for f in l.split(",")] for l in body.decode().split("\n")]
    return xgb.DMatrix(np.array(rows).astype(float))


def libsvm_matrix(body):
    import scipy.sparse
    r, c, v = [], [], []
    for i, line in enumerate(body.decode().split("\n")):
        for it in line.split(" "):
            if ":" in it:
                r.append(i)
                c.append(int(it.split(":")[0]))
                v.append(float(it.split(":")[1]))
    return xgb.DMatrix(scipy.sparse.csr_matrix((v, (r, c))))


cases = []


def case(model, name, env, body, ctype, accept, status, ct, resp):
    h = {"Content-Type": ctype}
    if accept is not None:
        h["Accept"] = accept
    cases.append({"model": model, "env": env, "name": name, "method": "POST",
                  "path": "/invocations", "headers": h,
                  "body": base64.b64encode(body).decode(), "status": status,
                  "content_type": ct, "response": base64.b64encode(resp).decode()})


def mime(accept):
    return accept + "; charset=utf-8" if accept.startswith("text/") else accept


for m in ["bin", "logitraw", "hinge", "softprob", "softmax", "poisson", "ens", "vote", "early"]:
    bs = load(m)
    obj = objective(bs[0])
    ncls = json.loads(bs[0].save_config())["learner"]["learner_model_param"]["num_class"]
    for body, ctype, mat in [(CSV, "text/csv", csv_matrix), (LIBSVM, "text/libsvm", libsvm_matrix)]:
        preds = predict(bs, mat(body))
        tag = ctype.split("/")[1]
        for accept in ["text/csv", "application/json"]:
            case(m, f"{m}-{tag}-{accept}", {}, body, ctype, accept, 200, mime(accept),
                 default_body(preds, accept, False))
        case(m, f"{m}-{tag}-batch", {"SAGEMAKER_BATCH": "true"}, body, ctype, "application/json",
             200, "application/json", default_body(preds, "application/json", True))
        keysets = ["predicted_label,labels,probability,probabilities,raw_score,raw_scores,"
                   "predicted_score", "raw_scores, PREDICTED_LABEL,bogus,predicted_label"]
        for ks in keysets:
            keys = ks.replace(" ", "").lower().split(",")
            for accept in ["text/csv", "application/json", "application/jsonlines",
                           "application/x-recordio-protobuf"]:
                env = {"SAGEMAKER_INFERENCE_OUTPUT": ks}
                try:
                    rows = selected(preds, keys, obj, ncls)
                    resp = encode_selected(rows, keys, accept, False)
                    st, ct = 200, mime(accept)
                except Exception as e:
                    resp, st, ct = str(e).encode(), 500, "text/html; charset=utf-8"
                case(m, f"{m}-{tag}-sel{keysets.index(ks)}-{accept}", env, body, ctype, accept,
                     st, ct, resp)
        if tag == "csv":
            env = {"SAGEMAKER_INFERENCE_OUTPUT": "predicted_label,raw_scores",
                   "SAGEMAKER_BATCH": "1"}
            try:
                rows = selected(preds, ["predicted_label", "raw_scores"], obj, ncls)
                resp, st, ct = encode_selected(rows, ["predicted_label", "raw_scores"],
                                               "text/csv", True), 200, "text/csv; charset=utf-8"
            except Exception as e:
                resp, st, ct = str(e).encode(), 500, "text/html; charset=utf-8"
            case(m, f"{m}-sel-batch", env, body, ctype, None, st, ct, resp)

# a pickled Booster (XGBoost 1.0.0, from the container's own test resources): pickle.load,
# then the container's feature-count checks before XGBoost's
import pickle

pk = pickle.load(open(os.path.join(HERE, "models", "pickled", "xgboost-model"), "rb"))
for name, body, ctype in [("4cols", b"0.1,0.2,0.3,0.4\n5.1,3.5,1.4,0.2", "text/csv"),
                          ("3cols", b"6.1,3.0,4.9", "text/csv"),
                          ("5cols", b"0.1,0.2,0.3,0.4,0.5", "text/csv"),
                          ("2cols", b"0.1,0.2", "text/csv"),
                          ("libsvm5", b"0 0:5.1 4:0.5", "text/libsvm"),
                          ("libsvm6", b"0 0:5.1 5:0.5", "text/libsvm")]:
    mat = csv_matrix(body) if ctype == "text/csv" else libsvm_matrix(body)
    x, y = pk.num_features(), mat.num_col()
    try:
        if ctype == "text/libsvm" and y > x + 1:
            raise ValueError("Feature size of libsvm inference data {} is larger than feature "
                             "size of trained model {}.".format(y, x))
        if ctype == "text/csv" and not (x == y or x == y + 1):
            raise ValueError("Feature size of csv inference data {} is not consistent with "
                             "feature size of trained model {}.".format(y, x))
        preds = pk.predict(mat, ntree_limit=getattr(pk, "best_ntree_limit", 0),
                           validate_features=False)
        st, ct, resp = 200, "text/csv; charset=utf-8", default_body(preds, "text/csv", False)
    except Exception as e:
        st, ct = 400, "text/html; charset=utf-8"
        resp = ("Unable to evaluate payload provided: %s" % e).encode()
    case("pickled", "pickled-" + name, {}, body, ctype, None, st, ct, resp)

with open(os.path.join(HERE, "oracle.jsonl"), "w") as f:
    for c in cases:
        f.write(json.dumps(c) + "\n")
print(len(cases), "cases")
