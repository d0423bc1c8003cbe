#!/usr/bin/env bash
# The main demo, end to end: builds everything, writes the hello-world dataset with
# PySpark (local mode, local files) and prints what was written.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/build.sh
url="${1:-file:///tmp/hello_world_dataset}"
# Spark starts its Python workers with the `python3` on PATH: the venv's.
export PATH="$root/.venv/bin:$PATH"
.venv/bin/python examples/hello_world/generate_petastorm_dataset.py "$url"
.venv/bin/python examples/hello_world/describe_dataset.py "$url"
