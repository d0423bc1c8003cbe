"""The Scala converter (``petastorm.examples.ConverterExample`` under ``spark-submit``) caches a DataFrame
that the Python readers read, and that the Python converter reuses (persistent cache, same key)."""
import decimal
import json
import os
import sys

import numpy as np
import pytest

from e2e import run_scala_example

ROWS = 120
COLUMNS = ['id', 'cast(id as double) * 0.5 as x', 'cast(id as int) as i',
           'array(cast(id as double), cast(id + 1 as double)) as arr', 'cast(id as string) as s',
           'cast(id as decimal(10, 2)) as d', 'id % 2 = 0 as flag', 'if(id % 3 = 0, null, cast(id as float)) as maybe']


@pytest.fixture(scope='module')
def scala_cache(tmp_path_factory, examples_jar):
    parent = tmp_path_factory.mktemp('converter') / 'cache'
    proc = run_scala_example('ConverterExample', parent.as_uri(), ROWS, '--persistent', '--vectors')
    out = {}
    for line in proc.stdout.splitlines():
        tag, _, payload = line.partition(' ')
        if tag in ('CONVERTER', 'VECTORS'):
            out[tag] = json.loads(payload)
    return parent, out['CONVERTER'], out['VECTORS']


def test_python_reads_the_scala_cache(scala_cache):
    from petastorm import make_batch_reader
    parent, out, _ = scala_cache
    assert out['datasetSize'] == ROWS and out['persistent']
    assert out['cacheDirUrl'].startswith(parent.as_uri() + '/')
    assert all(u.startswith(out['cacheDirUrl'] + '/') for u in out['fileUrls'])
    with make_batch_reader(out['fileUrls'], num_epochs=1) as reader:
        batches = [b._asdict() for b in reader]
    cols = {k: np.concatenate([b[k] for b in batches]) for k in batches[0]}
    order = np.argsort(cols['id'])
    cols = {k: v[order] for k, v in cols.items()}
    ids = np.arange(ROWS)
    np.testing.assert_array_equal(cols['id'], ids)
    assert cols['x'].dtype == np.float32 and cols['arr'].dtype == np.float32  # double -> float32
    np.testing.assert_array_equal(cols['x'], ids * 0.5)
    np.testing.assert_array_equal(cols['i'], ids)
    np.testing.assert_array_equal(cols['arr'], np.stack([ids, ids + 1], axis=1))
    assert list(cols['s']) == [str(i) for i in ids]
    assert list(cols['d']) == [decimal.Decimal(int(i)).quantize(decimal.Decimal('0.01')) for i in ids]
    np.testing.assert_array_equal(cols['flag'], ids % 2 == 0)
    np.testing.assert_array_equal(np.isnan(cols['maybe']), ids % 3 == 0)


def test_python_converter_reuses_the_scala_cache(scala_cache):
    from pyspark.sql import SparkSession
    from petastorm.spark import SparkDatasetConverter, make_spark_converter
    parent, out, _ = scala_cache
    os.environ.setdefault('PYSPARK_PYTHON', sys.executable)
    existing = SparkSession.getActiveSession()
    spark = existing or (SparkSession.builder.master('local[2]').config('spark.ui.enabled', 'false')
                         .config('spark.driver.memory', '1g').getOrCreate())
    try:
        spark.conf.set(SparkDatasetConverter.PARENT_CACHE_DIR_URL_CONF, parent.as_uri())
        spark.conf.set(SparkDatasetConverter.PERSISTENT_CACHE_CONF, 'true')
        converter = make_spark_converter(spark.range(0, ROWS, 1, 2).selectExpr(*COLUMNS))
        assert converter.cache_dir_url == out['cacheDirUrl']
        assert sorted(converter.file_urls) == sorted(out['fileUrls']) and len(converter) == ROWS
        with converter.make_torch_dataloader(batch_size=ROWS, num_epochs=1,
                                             schema_fields=['id', 'x', 'arr']) as loader:
            batch = next(iter(loader))
        assert sorted(batch['id'].tolist()) == list(range(ROWS))
        converter.delete()
        assert list(parent.iterdir()) == []
    finally:
        spark.conf.unset(SparkDatasetConverter.PARENT_CACHE_DIR_URL_CONF)
        spark.conf.unset(SparkDatasetConverter.PERSISTENT_CACHE_CONF)
        if existing is None:
            spark.stop()


def test_scala_converter_turns_vectors_into_float_arrays(scala_cache):
    _, _, vectors = scala_cache
    assert vectors['input'] == 'org.apache.spark.ml.linalg.VectorUDT'
    assert vectors['type'] == 'array<float>'
    assert vectors['rows'] == [[i, float(i), 1.0] for i in range(4)]
