#!/usr/bin/env bash
# The main demo, end to end (Spark local mode, local files):
#  1. a Scala Spark job (spark-submit, examples jar) materializes the hello-world dataset; Python reads it back;
#  2. the PySpark hello world writes the same dataset, describes it and reads it back with make_reader;
#  3. make_spark_converter(df) feeds one PyTorch epoch and one TensorFlow epoch, then converter.delete();
#  4. an MNIST-like dataset is written and a tiny PyTorch model trained on it for one epoch.
# Usage: scripts/demo.sh [output_dir_url] (default file:///tmp/petastorm_demo).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/build.sh
out="${1:-file:///tmp/petastorm_demo}"
# Spark starts its Python workers with the `python3` on PATH: the venv's.
export PATH="$root/.venv/bin:$PATH"
echo "== 1. Scala: spark-submit petastorm.examples.HelloWorld writes $out/hello_world_scala"
scripts/spark-submit --master 'local[2]' --conf spark.ui.enabled=false --class petastorm.examples.HelloWorld \
  --jars jvm/target/petastorm-native.jar jvm/target/petastorm-native-examples.jar "$out/hello_world_scala" 10
echo "== reading it back from Python with make_reader"
python examples/hello_world/python_hello_world.py "$out/hello_world_scala"
echo "== 2. PySpark: the hello-world dataset ($out/hello_world)"
python examples/hello_world/generate_petastorm_dataset.py "$out/hello_world"
python examples/hello_world/describe_dataset.py "$out/hello_world"
echo "== reading it back with make_reader"
python examples/hello_world/python_hello_world.py "$out/hello_world"
echo "== 3. make_spark_converter(df): one PyTorch epoch, one TensorFlow epoch, converter.delete()"
python examples/spark_converter/train_from_dataframe.py "$out/converter_cache"
echo "== 4. an MNIST-like dataset ($out/mnist_like) and one epoch of PyTorch training"
python examples/mnist/generate_mnist_like.py "$out/mnist_like"
python examples/mnist/train_pytorch.py "$out/mnist_like"
