"""The README demo's scripts, run as a user runs them (real Spark, real PyTorch)."""
import os
import re
import subprocess
import sys

from e2e import ROOT

EXAMPLES = ROOT / 'examples'


def run(script, *args, timeout=600):
    """Runs an example script with the venv's Python (Spark workers too); returns its stdout."""
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable)
    proc = subprocess.run([sys.executable, EXAMPLES / script, *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=env)
    assert proc.returncode == 0, f'{script} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}'
    return proc.stdout


def test_hello_world_write_describe_and_read_back(tmp_path):
    url = (tmp_path / 'hello_world_dataset').as_uri()
    run('hello_world/generate_petastorm_dataset.py', url)
    described = run('hello_world/describe_dataset.py', url)
    assert '10 row(s)' in described
    assert 'HelloWorldSchema' in described and 'other_data' in described
    read_back = run('hello_world/python_hello_world.py', url)
    assert read_back.count('(128, 256, 3) uint8 (4, 128, 30, 3)') == 10
    assert sorted(int(line) for line in read_back.splitlines() if line.isdigit()) == list(range(10))


def test_mnist_like_training_learns(tmp_path):
    url = (tmp_path / 'mnist_like').as_uri()
    run('mnist/generate_mnist_like.py', url, 2000, 500)
    out = run('mnist/train_pytorch.py', url)
    accuracy = float(re.search(r'test accuracy after one epoch: ([0-9.]+) \(500 rows\)', out).group(1))
    assert accuracy > 0.8, out
