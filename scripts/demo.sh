#!/usr/bin/env bash
# The main job on the bundled example: package a model for SageMaker and check it.
set -euo pipefail
cd "$(dirname "$0")/.."
SMXGB=${SMXGB:-build/tools/smxgb}
mkdir -p build/demo
"$SMXGB" --version
"$SMXGB" package examples/churn/xgboost-model -o build/demo/model.tar.gz
"$SMXGB" verify build/demo/model.tar.gz
