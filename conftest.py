"""Fixtures of every test directory (python/tests, tests, tests/remote): one local Spark session per
pytest process (a JVM holds one SparkContext)."""
import os
import sys

import pytest


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
