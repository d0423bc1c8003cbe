"""materialize_dataset + dict_to_spark_row on a real local Spark: the seed hello world."""
import json
import pickle

import numpy as np
import pyarrow.parquet as pq
import pytest

from _schemas import HELLO_JSON
from petastorm import _native
from petastorm.errors import PetastormMetadataError
from petastorm.etl.dataset_metadata import (ROW_GROUPS_PER_FILE_KEY, UNISCHEMA_JSON_KEY, UNISCHEMA_KEY,
                                            get_schema_from_dataset_url, materialize_dataset)


def _generate_hello_world(spark, output_url, rows_count=10, rowgroup_size_mb=256):
    # The seed's hello world, unchanged (defined here so cloudpickle ships it by value).
    from pyspark.sql.types import IntegerType
    from petastorm.codecs import CompressedImageCodec, NdarrayCodec, ScalarCodec
    from petastorm.etl.dataset_metadata import materialize_dataset
    from petastorm.unischema import Unischema, UnischemaField, dict_to_spark_row

    HelloWorldSchema = Unischema('HelloWorldSchema', [
        UnischemaField('id', np.int32, (), ScalarCodec(IntegerType()), False),
        UnischemaField('image1', np.uint8, (128, 256, 3), CompressedImageCodec('png'), False),
        UnischemaField('other_data', np.uint8, (None, 128, 30, None), NdarrayCodec(), False),
    ])

    def row_generator(x):
        return {'id': x,
                'image1': np.random.randint(0, 255, dtype=np.uint8, size=(128, 256, 3)),
                'other_data': np.random.randint(0, 255, dtype=np.uint8, size=(4, 128, 30, 3))}

    sc = spark.sparkContext
    with materialize_dataset(spark, output_url, HelloWorldSchema, rowgroup_size_mb):
        rows_rdd = sc.parallelize(range(rows_count)).map(row_generator).map(
            lambda x: dict_to_spark_row(HelloWorldSchema, x))
        spark.createDataFrame(rows_rdd, HelloWorldSchema.as_spark_schema()).coalesce(10).write.mode(
            'overwrite').parquet(output_url)
    return HelloWorldSchema


def _conf_snapshot(spark, keys):
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    return {k: conf.get(k) for k in keys}


def test_hello_world(spark, tmp_path):
    keys = list(_native.writer_hadoop_conf(256))
    before = _conf_snapshot(spark, keys)
    url = 'file://' + str(tmp_path / 'hello')
    schema = _generate_hello_world(spark, url)
    assert _conf_snapshot(spark, keys) == before

    root = tmp_path / 'hello'
    parts = sorted(p.relative_to(root).as_posix() for p in root.rglob('*.parquet'))
    assert parts
    meta = pq.read_metadata(root / '_common_metadata')
    assert meta.num_row_groups == 0
    kv = meta.metadata
    assert json.loads(kv[UNISCHEMA_JSON_KEY]) == HELLO_JSON
    assert json.loads(kv[ROW_GROUPS_PER_FILE_KEY]) == {p: pq.ParquetFile(root / p).num_row_groups for p in parts}
    unpickled = pickle.loads(kv[UNISCHEMA_KEY])  # our own freshly written pickle
    assert unpickled.fields == schema.fields
    assert [f.codec for f in unpickled.fields.values()] == [f.codec for f in schema.fields.values()]
    assert not list(root.glob('_common_metadata.tmp-*'))

    loaded = get_schema_from_dataset_url(url)
    assert get_schema_from_dataset_url([url]).fields == get_schema_from_dataset_url(str(root)).fields
    assert loaded._name == 'HelloWorldSchema'
    assert loaded.fields == schema.fields
    assert [f.codec for f in loaded.fields.values()] == [f.codec for f in schema.fields.values()]

    ids = []
    for p in parts:
        for row in pq.read_table(root / p).to_pylist():
            ids.append(row['id'])
            image = loaded.image1.codec.decode(loaded.image1, row['image1'])
            other = loaded.other_data.codec.decode(loaded.other_data, row['other_data'])
            assert image.shape == (128, 256, 3) and image.dtype == np.uint8
            assert other.shape == (4, 128, 30, 3) and other.dtype == np.uint8
    assert sorted(ids) == list(range(10))


def test_conf_is_set_inside_and_restored_after(spark, tmp_path):
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    settings = _native.writer_hadoop_conf(64)
    conf.set('parquet.block.size', '12345')
    unset_keys = [k for k in settings if k != 'parquet.block.size']
    for k in unset_keys:
        conf.unset(k)
    url = 'file://' + str(tmp_path / 'conf')
    with pytest.raises(PetastormMetadataError):
        with materialize_dataset(spark, url, _schemas_hello(), 64):
            assert _conf_snapshot(spark, settings) == settings
            spark.range(3).write.parquet(url)  # a data file, so metadata fails on the missing columns
    assert conf.get('parquet.block.size') == '12345'
    assert all(conf.get(k) is None for k in unset_keys)
    conf.unset('parquet.block.size')


def _schemas_hello():
    from _schemas import HelloWorldSchema
    return HelloWorldSchema


def test_body_error_propagates_restores_conf_and_writes_no_metadata(spark, tmp_path):
    keys = list(_native.writer_hadoop_conf(32))
    before = _conf_snapshot(spark, keys)
    url = 'file://' + str(tmp_path / 'failing')
    with pytest.raises(RuntimeError, match='boom'):
        with materialize_dataset(spark, url, _schemas_hello(), 32):
            spark.range(3).write.parquet(url)
            raise RuntimeError('boom')
    assert _conf_snapshot(spark, keys) == before
    assert not (tmp_path / 'failing' / '_common_metadata').exists()


def test_missing_metadata_is_a_metadata_error(tmp_path):
    with pytest.raises(PetastormMetadataError):
        get_schema_from_dataset_url('file://' + str(tmp_path))


def test_hive_partitions_nullable_cells_and_small_row_groups(spark, tmp_path):
    from pyspark.sql.types import IntegerType, StringType
    from petastorm.codecs import NdarrayCodec, ScalarCodec
    from petastorm.unischema import Unischema, UnischemaField, dict_to_spark_row

    schema = Unischema('Partitioned', [
        UnischemaField('id', np.int32, (), ScalarCodec(IntegerType()), False),
        UnischemaField('part', np.str_, (), ScalarCodec(StringType()), False),
        UnischemaField('m', np.float32, (2,), NdarrayCodec(), True),
    ])

    def make_row(i):
        return dict_to_spark_row(schema, {'id': i, 'part': 'p%d' % (i % 2),
                                          'm': np.full(2, i, np.float32) if i % 3 else None})

    url = 'file://' + str(tmp_path / 'parts')
    with materialize_dataset(spark, url, schema, 1, use_summary_metadata=False):
        rows = spark.sparkContext.parallelize(range(12), 2).map(make_row)
        spark.createDataFrame(rows, schema.as_spark_schema()).write.partitionBy('part').parquet(url)
    root = tmp_path / 'parts'
    counts = json.loads(pq.read_metadata(root / '_common_metadata').metadata[ROW_GROUPS_PER_FILE_KEY])
    parts = sorted(p.relative_to(root).as_posix() for p in root.rglob('*.parquet'))
    assert sorted(counts) == parts and all(p.startswith(('part=p0/', 'part=p1/')) for p in parts)
    loaded = get_schema_from_dataset_url(url)
    assert loaded.fields == schema.fields
    cells = {}
    for p in parts:
        for row in pq.read_table(root / p).to_pylist():
            cells[row['id']] = row['m'] if row['m'] is None else loaded.m.codec.decode(loaded.m, row['m'])
    assert sorted(cells) == list(range(12))
    for i, cell in cells.items():
        if i % 3:
            np.testing.assert_array_equal(cell, np.full(2, i, np.float32))
        else:
            assert cell is None
