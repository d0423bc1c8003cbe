"""Datasets written by a real local Spark: a Petastorm dataset (materialize_dataset) read with
make_reader, and a plain DataFrame (strings, decimals, dates, timestamps, arrays, maps, nested
structs) read with make_batch_reader, no column silently dropped."""
import datetime
import decimal

import numpy as np
import pyarrow.parquet as pq
import pytest

from _reader_helpers import time_limit, url_of  # noqa: F401
from test_reader_batch import normalize



def _row_maker():
    # a local function: cloudpickle ships it to Spark's Python workers by value
    def make_row(i):
        import decimal
        import numpy as np
        rng = np.random.RandomState(i)
        return {'id': np.int32(i),
                'name': 'row_{}'.format(i),
                'value': decimal.Decimal('{}.25'.format(i)),
                'image': rng.randint(0, 255, size=(16, 8, 3)).astype(np.uint8),
                'cloud': rng.rand(i % 5 + 1, 3).astype(np.float32),
                'vector': np.arange(10, dtype=np.float64) * i,
                'maybe': None if i % 3 == 0 else np.int64(i * 2)}
    return make_row


_spark_row = _row_maker()


def _write_petastorm(spark, url, rows_count):
    from pyspark.sql.types import DecimalType, IntegerType, LongType, StringType
    from petastorm.codecs import CompressedImageCodec, CompressedNdarrayCodec, NdarrayCodec, ScalarCodec
    from petastorm.etl.dataset_metadata import materialize_dataset
    from petastorm.unischema import Unischema, UnischemaField, dict_to_spark_row

    schema = Unischema('SparkSchema', [
        UnischemaField('id', np.int32, (), ScalarCodec(IntegerType()), False),
        UnischemaField('name', np.str_, (), ScalarCodec(StringType()), False),
        UnischemaField('value', decimal.Decimal, (), ScalarCodec(DecimalType(10, 2)), False),
        UnischemaField('image', np.uint8, (16, 8, 3), CompressedImageCodec('png'), False),
        UnischemaField('cloud', np.float32, (None, 3), NdarrayCodec(), False),
        UnischemaField('vector', np.float64, (10,), CompressedNdarrayCodec(), False),
        UnischemaField('maybe', np.int64, (), ScalarCodec(LongType()), True),
    ])
    make_row = _spark_row
    with materialize_dataset(spark, url, schema, row_group_size_mb=1):
        rdd = spark.sparkContext.parallelize(range(rows_count), 4).map(
            lambda i: dict_to_spark_row(schema, make_row(i)))
        spark.createDataFrame(rdd, schema.as_spark_schema()).write.mode('overwrite').parquet(url)
    return schema


def test_petastorm_dataset_written_by_spark(spark, tmp_path):
    url = url_of(tmp_path / 'spark_petastorm')
    schema = _write_petastorm(spark, url, 30)
    with make_reader_(url) as reader:
        assert list(reader.schema.fields) == list(schema.fields)
        rows = {int(r.id): r for r in reader}
    assert sorted(rows) == list(range(30))
    for i, row in rows.items():
        want = _spark_row(i)
        assert type(row.id) is np.int32 and row.name == want['name'] and row.value == want['value']
        np.testing.assert_array_equal(row.image, want['image'])
        np.testing.assert_array_equal(row.cloud, want['cloud'])
        np.testing.assert_array_equal(row.vector, want['vector'])
        assert row.maybe == want['maybe'] if want['maybe'] is not None else row.maybe is None
    ids = []
    with make_batch_reader_(url, schema_fields=['id', 'vector']) as reader:
        for batch in reader:
            assert batch.vector.shape == (len(batch.id), 10)
            ids.extend(batch.id.tolist())
    assert sorted(ids) == list(range(30))


def make_reader_(url, **kwargs):
    from petastorm import make_reader
    return make_reader(url, workers_count=2, **kwargs)


def make_batch_reader_(url, **kwargs):
    from petastorm import make_batch_reader
    return make_batch_reader(url, workers_count=2, **kwargs)


def test_plain_dataframe_written_by_spark(spark, tmp_path):
    from pyspark.sql import Row
    from pyspark.sql.types import (ArrayType, DateType, DecimalType, DoubleType, IntegerType, LongType, MapType,
                                   StringType, StructField, StructType, TimestampType)
    schema = StructType([
        StructField('id', LongType(), False),
        StructField('name', StringType(), True),
        StructField('amount', DecimalType(12, 4), True),
        StructField('day', DateType(), True),
        StructField('at', TimestampType(), True),
        StructField('scores', ArrayType(DoubleType()), True),
        StructField('tags', ArrayType(StringType()), True),
        StructField('attrs', MapType(StringType(), IntegerType()), True),
        StructField('point', StructType([StructField('x', DoubleType()), StructField('y', DoubleType()),
                                         StructField('meta', StructType([StructField('k', StringType())]))]), True),
    ])
    base = datetime.datetime(2022, 3, 4, 5, 6, 7)
    rows = [Row(id=i,
                name=None if i % 7 == 0 else 'n{}'.format(i),
                amount=decimal.Decimal('{}.{:04d}'.format(i, i)),
                day=datetime.date(2021, 1, 1) + datetime.timedelta(days=i),
                at=base + datetime.timedelta(minutes=i),
                scores=[float(j) for j in range(i % 4)],
                tags=['t{}'.format(j) for j in range(i % 3)],
                attrs={'a': i},
                point=Row(x=float(i), y=-float(i), meta=Row(k='k{}'.format(i))))
            for i in range(40)]
    path = tmp_path / 'spark_plain'
    spark.createDataFrame(rows, schema).repartition(3).write.mode('overwrite').parquet(url_of(path))

    reference = pq.read_table(path)
    columns = {}
    with make_batch_reader_(url_of(path)) as reader:
        names = list(reader.schema.fields)
        for batch in reader:
            for name in names:
                columns.setdefault(name, []).extend(normalize(v) for v in getattr(batch, name))
    assert set(names) == set(schema.fieldNames())
    order = np.argsort(columns['id'])
    want = reference.sort_by('id').to_pydict()
    for name in names:
        got = [columns[name][k] for k in order]
        if name == 'attrs':
            got = [dict(v) if not isinstance(v, dict) else v for v in got]
            want[name] = [dict(v) for v in want[name]]
        if name == 'at':
            got = [v.replace(tzinfo=None) for v in got]
            want[name] = [v.replace(tzinfo=None) for v in want[name]]
        assert got == want[name], name
    assert pytest.approx(sum(float(v) for v in columns['amount'])) == sum(i + i / 10000 for i in range(40))
