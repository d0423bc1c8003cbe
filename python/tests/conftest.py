"""Shared fixtures: the compatibility fixtures folder and one local Spark session."""
import os
import sys
from pathlib import Path

import pytest

FIXTURES = (Path(__file__).resolve().parents[2] / '..' / 'shared' / 'fixtures').resolve()


@pytest.fixture(scope='session')
def fixtures_dir():
    """``<repo root>/../shared/fixtures`` (read only; never copied)."""
    assert FIXTURES.is_dir(), 'compatibility fixtures not found at {}'.format(FIXTURES)
    return FIXTURES


@pytest.fixture(scope='session')
def spark():
    """A small ``local[2]`` SparkSession whose Python workers run this interpreter."""
    os.environ['PYSPARK_PYTHON'] = sys.executable
    os.environ['PYSPARK_DRIVER_PYTHON'] = sys.executable
    from pyspark.sql import SparkSession
    session = (SparkSession.builder.master('local[2]').appName('petastorm-python-tests')
               .config('spark.ui.enabled', 'false')
               .config('spark.sql.shuffle.partitions', '2')
               .config('spark.default.parallelism', '2')
               .config('spark.driver.memory', '1g')
               .config('spark.executor.memory', '1g')
               .config('spark.python.worker.memory', '256m')
               .getOrCreate())
    session.sparkContext.setLogLevel('ERROR')
    yield session
    session.stop()
