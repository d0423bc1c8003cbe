"""make_spark_converter on the real local Spark session: types, TF/PyTorch batches, reuse, delete, pickling."""
import decimal
import logging
import os
import pickle
import re

import numpy as np
import pytest

from petastorm import _native
from petastorm.spark import SparkDatasetConverter, make_spark_converter
from petastorm.spark import spark_dataset_converter as sdc

ROWS = 60
NUMERIC = ['id', 'i', 'x', 'f', 'flag', 'arr', 'dense', 'sparse', 'maybe']


@pytest.fixture
def parent(spark, tmp_path):
    """A fresh parent cache directory set in the session's conf (unset afterwards)."""
    path = tmp_path / 'cache'
    spark.conf.set(SparkDatasetConverter.PARENT_CACHE_DIR_URL_CONF, path.as_uri())
    spark.conf.unset(SparkDatasetConverter.PERSISTENT_CACHE_CONF)
    yield path
    spark.conf.unset(SparkDatasetConverter.PARENT_CACHE_DIR_URL_CONF)


def cache_dirs(parent):
    return sorted(p.name for p in parent.iterdir() if p.is_dir()) if parent.exists() else []


def expected_row(i):
    return {'id': i, 'i': np.int32(i * 3), 'x': np.float32(i * 0.25), 'f': np.float32(-i), 'flag': i % 2 == 0,
            'arr': np.array([i, i + 0.5], dtype=np.float32),
            'dense': np.array([i, 1.0, 2.0], dtype=np.float32),
            'sparse': np.array([0.0, i, 0.0], dtype=np.float32),
            'maybe': np.float32('nan') if i % 4 == 0 else np.float32(i * 2),
            's': 'row-{}'.format(i), 'd': decimal.Decimal(i) / 8}


@pytest.fixture(scope='module')
def mixed_df(spark):
    from pyspark.ml.linalg import Vectors
    from pyspark.sql.types import (ArrayType, BooleanType, DecimalType, DoubleType, FloatType, IntegerType,
                                   LongType, StringType, StructField, StructType)
    from pyspark.ml.linalg import VectorUDT
    schema = StructType([
        StructField('id', LongType()), StructField('i', IntegerType()), StructField('x', DoubleType()),
        StructField('f', FloatType()), StructField('flag', BooleanType()), StructField('arr', ArrayType(DoubleType())),
        StructField('dense', VectorUDT()), StructField('sparse', VectorUDT()), StructField('maybe', DoubleType()),
        StructField('s', StringType()), StructField('d', DecimalType(10, 3))])
    rows = [(i, i * 3, i * 0.25, float(-i), i % 2 == 0, [float(i), i + 0.5], Vectors.dense([i, 1.0, 2.0]),
             Vectors.sparse(3, [1], [float(i)]), None if i % 4 == 0 else i * 2.0, 'row-{}'.format(i),
             decimal.Decimal(i) / 8) for i in range(ROWS)]
    return spark.createDataFrame(rows, schema).repartition(3)


def assert_rows_equal(columns, names, decode=lambda name, v: v):
    """``columns``: name -> all values of one column (any order, sorted here by id)."""
    order = np.argsort(np.asarray(columns['id']))
    assert [int(v) for v in np.asarray(columns['id'])[order]] == list(range(ROWS))
    for name in names:
        values = [columns[name][j] for j in order]
        for i, got in enumerate(values):
            want = expected_row(i)[name]
            got = decode(name, got)
            if isinstance(want, np.ndarray):
                np.testing.assert_array_equal(np.asarray(got), want, err_msg=name)
            elif isinstance(want, np.floating) and np.isnan(want):
                assert np.isnan(got), (name, i, got)
            else:
                assert got == want, (name, i, got, want)


def test_conf_missing_or_schemeless(spark, tmp_path):
    spark.conf.unset(SparkDatasetConverter.PARENT_CACHE_DIR_URL_CONF)
    with pytest.raises(ValueError, match='petastorm.spark.converter.parentCacheDirUrl'):
        make_spark_converter(spark.range(3))
    spark.conf.set(SparkDatasetConverter.PARENT_CACHE_DIR_URL_CONF, str(tmp_path))
    try:
        with pytest.raises(ValueError, match='scheme'):
            make_spark_converter(spark.range(3))
    finally:
        spark.conf.unset(SparkDatasetConverter.PARENT_CACHE_DIR_URL_CONF)


def test_torch_batches_equal_the_rows(parent, mixed_df):
    converter = make_spark_converter(mixed_df)
    assert len(converter) == converter.dataset_size == ROWS
    name = converter.cache_dir_url.rsplit('/', 1)[1]
    assert converter.cache_dir_url == parent.as_uri() + '/' + name
    assert _native.is_converter_dir_name(name) and '-appid-local-' in name
    assert re.match(r'^\d{14}-appid-local-.+-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$', name), name
    assert converter.file_urls and all(u.startswith(converter.cache_dir_url + '/') for u in converter.file_urls)
    import torch
    with converter.make_torch_dataloader(batch_size=7, num_epochs=1, schema_fields=NUMERIC) as loader:
        batches = list(loader)
    assert [len(b['id']) for b in batches[:-1]] == [7] * (len(batches) - 1)
    assert batches[0]['x'].dtype == torch.float32 and batches[0]['dense'].dtype == torch.float32
    assert batches[0]['id'].dtype == torch.int64 and batches[0]['i'].dtype == torch.int32
    columns = {k: torch.cat([b[k] for b in batches]).numpy() for k in NUMERIC}
    assert_rows_equal(columns, NUMERIC)
    # as upstream, PyTorch gets no string or decimal columns
    with converter.make_torch_dataloader(num_epochs=1) as loader:
        with pytest.raises(TypeError, match='string or object'):
            next(iter(loader))
    converter.delete()


def test_tf_batches_equal_the_rows(parent, mixed_df):
    converter = make_spark_converter(mixed_df)
    with converter.make_tf_dataset(batch_size=16, num_epochs=1) as dataset:
        batches = [b._asdict() for b in dataset]
    assert [len(b['id']) for b in batches] == [16, 16, 16, 12]
    names = list(batches[0])
    columns = {k: [v for b in batches for v in b[k].numpy()] for k in names}

    def decode(name, v):
        if name == 's':
            return v.decode()
        if name == 'd':
            return decimal.Decimal(v.decode())
        return v
    assert_rows_equal(columns, names, decode)
    # epochs, shuffling and reader arguments
    with converter.make_tf_dataset(batch_size=25, num_epochs=2, shuffling_queue_capacity=30,
                                   schema_fields=['id', 'x']) as dataset:
        ids = sorted(int(v) for b in dataset for v in b.id.numpy())
    assert ids == sorted(list(range(ROWS)) * 2)
    converter.delete()


def test_same_plan_is_written_once(spark, parent):
    df = spark.range(0, 20, 1, 2).selectExpr('id', 'id * 2 as y')
    c1 = make_spark_converter(df)
    assert make_spark_converter(df) is c1
    assert make_spark_converter(spark.range(0, 20, 1, 2).selectExpr('id', 'id * 2 as y')) is c1
    assert len(cache_dirs(parent)) == 1
    c2 = make_spark_converter(df, parquet_row_group_size_bytes=1 << 20)
    c3 = make_spark_converter(df, compression_codec='snappy')
    c4 = make_spark_converter(df, dtype=None)
    assert len({c.cache_dir_url for c in (c1, c2, c3, c4)}) == 4
    assert len(cache_dirs(parent)) == 4
    with c3.make_torch_dataloader(batch_size=100, num_epochs=1) as loader:
        assert sorted(next(iter(loader))['y'].tolist()) == [2 * i for i in range(20)]
    c1.delete()
    c5 = make_spark_converter(df)  # deleted: written again
    assert c5 is not c1 and c5.cache_dir_url != c1.cache_dir_url


def test_a_conversion_runs_one_spark_job(spark, parent):
    """The write counts its rows as it goes (no separate count job); a cache hit runs none."""
    sc = spark.sparkContext
    df = spark.range(0, 100, 1, 4).selectExpr('id', 'cast(id as float) * 0.5 as x')

    def jobs(group, run):
        sc.setJobGroup(group, 'counting the Spark jobs of a conversion')
        try:
            result = run()
        finally:
            sc.setLocalProperty('spark.jobGroup.id', None)
        return result, len(sc.statusTracker().getJobIdsForGroup(group))

    converter, written = jobs('first-conversion', lambda: make_spark_converter(df))
    assert (written, len(converter)) == (1, 100)
    again, reused = jobs('second-conversion', lambda: make_spark_converter(df))
    assert again is converter and reused == 0


def test_dtype_and_codec_options(spark, parent):
    import pyarrow.parquet as pq
    df = spark.range(0, 10, 1, 1).selectExpr('id', 'cast(id as double) as x', 'cast(id as float) as f',
                                             'array(cast(id as float)) as a')

    def types(converter):
        schema = pq.read_schema(converter.file_urls[0][len('file://'):])
        return [str(schema.field(n).type) for n in ('x', 'f')] + [str(schema.field('a').type.value_type)]
    assert types(make_spark_converter(df)) == ['float', 'float', 'float']
    assert types(make_spark_converter(df, dtype=None)) == ['double', 'float', 'float']
    assert types(make_spark_converter(df, dtype='float64')) == ['double', 'double', 'double']
    with pytest.raises(ValueError, match='dtype'):
        make_spark_converter(df, dtype='float16')
    with pytest.raises(ValueError, match='compression_codec'):
        make_spark_converter(df, compression_codec='bzip3')
    assert len(make_spark_converter(df, compression_codec='zstd')) == 10


def test_delete_removes_only_its_directory(spark, parent):
    c1 = make_spark_converter(spark.range(0, 5, 1, 1))
    c2 = make_spark_converter(spark.range(0, 6, 1, 1))
    (parent / 'user-data').mkdir()
    (parent / 'notes.txt').write_text('keep')
    c1.delete()
    assert cache_dirs(parent) == sorted([c2.cache_dir_url.rsplit('/', 1)[1], 'user-data'])
    assert (parent / 'notes.txt').read_text() == 'keep'
    assert c1.cache_dir_url not in sdc._exit_dirs and c2.cache_dir_url in sdc._exit_dirs
    with pytest.raises(ValueError, match='Refusing'):
        SparkDatasetConverter((parent / 'user-data').as_uri(), [], 0).delete()
    with pytest.raises(ValueError, match='Refusing'):
        SparkDatasetConverter(parent.as_uri(), [], 0).delete()
    forged = pickle.loads(pickle.dumps(c2))
    forged._parent_cache_dir_url = parent.parent.as_uri()
    with pytest.raises(ValueError, match='Refusing'):
        forged.delete()
    assert (parent / 'user-data').is_dir() and len(cache_dirs(parent)) == 2


def test_existing_parquet_directory(spark, parent, tmp_path, caplog):
    data = tmp_path / 'data'
    spark.range(0, 30, 1, 3).selectExpr('id', 'cast(id as double) as x').write.parquet(data.as_uri())
    converter = make_spark_converter(data.as_uri())
    assert len(converter) == 30 and len(converter.file_urls) == 3
    assert converter.cache_dir_url == data.as_uri()
    with converter.make_torch_dataloader(batch_size=30, num_epochs=1) as loader:
        batch = next(iter(loader))
    assert sorted(batch['id'].tolist()) == list(range(30))
    assert batch['x'].dtype.is_floating_point and str(batch['x'].dtype) == 'torch.float64'  # read as it is
    with caplog.at_level(logging.WARNING, logger=sdc.__name__):
        converter.delete()
    assert 'Not deleting' in caplog.text
    assert (data / '_SUCCESS').exists() and not cache_dirs(parent)
    for plain in (str(data), str(data) + '/', os.path.relpath(data)):  # a plain path names the same directory
        assert make_spark_converter(plain).cache_dir_url == data.as_uri()


def test_pickled_converter_in_an_executor(spark, parent):
    converter = make_spark_converter(spark.range(0, 40, 1, 2).selectExpr('id', 'cast(id as double) as x'))
    clone = pickle.loads(pickle.dumps(converter))
    assert (clone.cache_dir_url, clone.file_urls, len(clone)) == (converter.cache_dir_url, converter.file_urls, 40)

    def total(_):
        with converter.make_torch_dataloader(batch_size=16, num_epochs=1, workers_count=1) as loader:
            yield sum(int(b['id'].sum()) for b in loader)
    assert spark.sparkContext.parallelize([0], 1).mapPartitions(total).collect() == [sum(range(40))]


def test_shards_and_horovod_warning(spark, parent, monkeypatch, caplog):
    converter = make_spark_converter(spark.range(0, 80, 1, 4))
    assert len(converter.file_urls) == 4
    monkeypatch.setenv('HOROVOD_RANK', '1')
    monkeypatch.setenv('HOROVOD_SIZE', '2')
    seen = []
    for shard in (0, 1):
        with caplog.at_level(logging.WARNING, logger=sdc.__name__):
            caplog.clear()
            with converter.make_torch_dataloader(batch_size=100, num_epochs=1, cur_shard=shard,
                                                 shard_count=2) as loader:
                seen.append(sorted(v for b in loader for v in b['id'].tolist()))
            assert ('not consistent with the horovod environment' in caplog.text) == (shard == 0)
    assert seen[0] and seen[1] and sorted(seen[0] + seen[1]) == list(range(80))
    assert sdc._check_rank_and_size_consistent_with_horovod({'cur_shard': 1, 'shard_count': 2})
    monkeypatch.delenv('HOROVOD_RANK')
    monkeypatch.setenv('PMI_RANK', '0')
    monkeypatch.setenv('PMI_SIZE', '3')
    monkeypatch.delenv('HOROVOD_SIZE')
    assert sdc._get_horovod_rank_and_size() == (0, 3)
    assert not sdc._check_rank_and_size_consistent_with_horovod({})


def test_context_managers_stop_their_reader(spark, parent):
    converter = make_spark_converter(spark.range(0, 10, 1, 1))
    manager = converter.make_torch_dataloader(num_epochs=None)
    with manager as loader:
        next(iter(loader))
    assert manager.reader.stopped
    tf_manager = converter.make_tf_dataset(num_epochs=None)
    with tf_manager as dataset:
        next(iter(dataset))
    assert tf_manager.reader.stopped
