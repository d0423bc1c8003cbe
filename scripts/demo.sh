#!/usr/bin/env bash
# The main demo, end to end: builds everything, writes the hello-world dataset with
# PySpark (local mode, local files), prints it, reads it back with make_reader, then
# writes an MNIST-like dataset and trains a tiny PyTorch model on it for one epoch.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/build.sh
hello="${1:-file:///tmp/hello_world_dataset}"
mnist="${2:-file:///tmp/mnist_like}"
# Spark starts its Python workers with the `python3` on PATH: the venv's.
export PATH="$root/.venv/bin:$PATH"
echo "== writing the hello-world dataset ($hello)"
python examples/hello_world/generate_petastorm_dataset.py "$hello"
python examples/hello_world/describe_dataset.py "$hello"
echo "== reading it back with make_reader"
python examples/hello_world/python_hello_world.py "$hello"
echo "== writing an MNIST-like dataset ($mnist) and training a PyTorch model for one epoch"
python examples/mnist/generate_mnist_like.py "$mnist"
python examples/mnist/train_pytorch.py "$mnist"
