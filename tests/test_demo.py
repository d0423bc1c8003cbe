"""The README demo's steps (scripts/demo.sh), run as a user runs them (real Spark, PyTorch, TensorFlow)."""
import os
import re
import subprocess
import sys

from e2e import ROOT, run_scala_example

EXAMPLES = ROOT / 'examples'


def run(script, *args, timeout=600):
    """Runs an example script with the venv's Python (Spark workers too); returns its stdout."""
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable)
    proc = subprocess.run([sys.executable, EXAMPLES / script, *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=env)
    assert proc.returncode == 0, f'{script} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}'
    return proc.stdout


def assert_hello_world_read_back(url):
    """python_hello_world.py prints each of the 10 rows' id and its fields' shapes."""
    read_back = run('hello_world/python_hello_world.py', url)
    assert len(re.findall(r'^\(128, 256, 3\) uint8 \([0-9]+, 128, 30, [0-9]+\)$', read_back, re.M)) == 10, read_back
    assert sorted(int(line) for line in read_back.splitlines() if line.isdigit()) == list(range(10))


def test_scala_job_writes_hello_world_and_python_reads_it(tmp_path, examples_jar):
    url = (tmp_path / 'hello_world_scala').as_uri()
    run_scala_example('HelloWorld', url, 10)
    assert_hello_world_read_back(url)


def test_hello_world_write_describe_and_read_back(tmp_path):
    url = (tmp_path / 'hello_world_dataset').as_uri()
    run('hello_world/generate_petastorm_dataset.py', url)
    described = run('hello_world/describe_dataset.py', url)
    assert '10 row(s)' in described
    assert 'HelloWorldSchema' in described and 'other_data' in described
    assert_hello_world_read_back(url)


def test_converter_feeds_a_torch_and_a_tf_epoch_then_deletes_its_cache(tmp_path):
    parent = tmp_path / 'converter_cache'
    out = run('spark_converter/train_from_dataframe.py', parent.as_uri(), 2000)
    cache_dir = re.search(r'converted 2000 rows into \d+ Parquet file\(s\) under (\S+)', out).group(1)
    assert cache_dir.startswith(parent.as_uri() + '/'), out
    assert 'pytorch epoch: 2000 rows' in out, out
    assert 'tensorflow epoch: 2000 rows' in out, out
    assert f'deleted {cache_dir}: still there: False' in out, out
    assert not parent.exists() or not any(parent.iterdir())


def test_mnist_like_training_learns(tmp_path):
    url = (tmp_path / 'mnist_like').as_uri()
    run('mnist/generate_mnist_like.py', url, 2000, 500)
    out = run('mnist/train_pytorch.py', url)
    accuracy = float(re.search(r'test accuracy after one epoch: ([0-9.]+) \(500 rows\)', out).group(1))
    assert accuracy > 0.8, out
