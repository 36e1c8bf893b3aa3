#!/usr/bin/env python3
"""Run action.yml's composite steps as the GitHub runner does, for tests.

usage: run_action.py ACTION_DIR INPUT=VALUE...

Inputs not given take their action.yml defaults; an unknown input is an error (as the
runner warns). Each step's `env:` has its ${{ inputs.NAME }} expressions replaced by the
input values, `run:` is executed with `bash --noprofile --norc -eo pipefail` (the runner's
shell for `shell: bash`) in the caller's environment (GITHUB_* and RUNNER_TEMP set by the
test) plus GITHUB_ACTION_PATH. Prints the steps' output; exits with the first failing
step's status.
"""
import os
import re
import subprocess
import sys

import yaml


def main():
    action_dir = sys.argv[1]
    with open(os.path.join(action_dir, "action.yml")) as f:
        action = yaml.safe_load(f)
    inputs = {k: str(v.get("default", "")) for k, v in action["inputs"].items()}
    for arg in sys.argv[2:]:
        key, _, value = arg.partition("=")
        if key not in inputs:
            sys.exit(f"run_action: action.yml has no input '{key}'")
        inputs[key] = value
    assert action["runs"]["using"] == "composite", "not a composite action"

    def expand(text):
        def one(m):
            expr = m.group(1).strip()
            if not expr.startswith("inputs."):
                sys.exit(f"run_action: cannot evaluate ${{{{ {expr} }}}}")
            return inputs[expr[len("inputs."):]]
        return re.sub(r"\$\{\{(.*?)\}\}", one, str(text))

    for step in action["runs"]["steps"]:
        assert step.get("shell") == "bash", "every step runs with shell: bash"
        env = dict(os.environ, GITHUB_ACTION_PATH=os.path.abspath(action_dir))
        env.update({k: expand(v) for k, v in step.get("env", {}).items()})
        script = expand(step["run"])
        rc = subprocess.call(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], env=env)
        if rc:
            sys.exit(rc)


if __name__ == "__main__":
    main()
