"""Helpers for end-to-end tests: paths, and real ``spark-submit`` runs from the venv."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
JAR = ROOT / 'jvm' / 'target' / 'petastorm-native.jar'
# The example and benchmark jobs (petastorm.examples.*), a jar of their own beside the library's.
EXAMPLES_JAR = ROOT / 'jvm' / 'target' / 'petastorm-native-examples.jar'
SPARK_SUBMIT = Path(sys.executable).parent / 'spark-submit'


def spark_submit(*args, master='local[2]', timeout=600):
    """Runs ``spark-submit`` from the venv; fails the test with its output on error."""
    cmd = [str(SPARK_SUBMIT), '--master', master, '--conf', 'spark.ui.enabled=false',
           '--driver-memory', '1g', *map(str, args)]
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if proc.returncode != 0:
        pytest.fail(f'{" ".join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}')
    return proc


def run_scala_example(name, *args, **kwargs):
    """Runs the Scala example job ``petastorm.examples.NAME`` (examples jar, library jar on the classpath)."""
    return spark_submit('--class', f'petastorm.examples.{name}', '--jars', JAR, EXAMPLES_JAR, *args, **kwargs)
