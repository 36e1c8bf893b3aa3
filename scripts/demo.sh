#!/usr/bin/env bash
# The main job on the bundled example: train a churn model for the 1.5-1 container with
# SageMaker's hyperparameters (examples/churn/hyperparameters.json), package it as that
# container's training would, and check the artifact (verify, then serve and health-check it
# as SageMaker would).
set -euo pipefail
cd "$(dirname "$0")/.."
SMXGB=${SMXGB:-build/tools/smxgb}
mkdir -p build/demo
"$SMXGB" --version
"$SMXGB" train --train examples/churn/train.csv --validation examples/churn/validation.csv \
  --container 1.5-1 --hyperparameters examples/churn/hyperparameters.json \
  -o build/demo/model.tar.gz
"$SMXGB" check build/demo/model.tar.gz --container 1.5-1
