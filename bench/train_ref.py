#!/usr/bin/python3
"""The reference for bench/train.sh: Debian's python3-xgboost reading the same CSV with pandas
and calling xgb.train with the same parameters; prints the final train metric.

usage: train_ref.py DATA.csv OUT_MODEL ROUNDS
"""
import sys

import pandas as pd
import xgboost as xgb

data, out, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
df = pd.read_csv(data, header=None)
dtrain = xgb.DMatrix(df.iloc[:, 1:], label=df.iloc[:, 0])
del df
params = {"objective": "reg:squarederror", "tree_method": "hist"}
res = {}
bst = xgb.train(params, dtrain, rounds, evals=[(dtrain, "train")], evals_result=res,
                verbose_eval=False)
bst.save_model(out)
print("final train-rmse: %.5f" % res["train"]["rmse"][-1])
