"""``np.datetime64`` fields as upstream has them: ``UnischemaField('ts', np.datetime64, (),
ScalarCodec(TimestampType()), ...)`` (and ``DateType()``) written by Spark and read back by
``make_reader`` as upstream returns them (``datetime64[us]`` timestamps, ``datetime64[D]`` dates), the
pickled schema loadable by upstream, and Spark timestamp/date columns read by ``make_batch_reader``
as ``np.datetime64`` fields. (The machine's and Spark's time zone is UTC.)"""
import datetime
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from _reader_helpers import url_of
from petastorm import make_batch_reader, make_reader
from petastorm.codecs import ScalarCodec
from petastorm.unischema import Unischema, UnischemaField, dict_to_spark_row

UPSTREAM_PYTHON = Path('/tmp/upvenv/bin/python')


def _schema():
    from pyspark.sql.types import DateType, IntegerType, TimestampType
    return Unischema('TimeSchema', [
        UnischemaField('id', np.int32, (), ScalarCodec(IntegerType()), False),
        UnischemaField('ts', np.datetime64, (), ScalarCodec(TimestampType()), False),
        UnischemaField('day', np.datetime64, (), ScalarCodec(DateType()), False),
        UnischemaField('maybe', np.datetime64, (), ScalarCodec(TimestampType()), True),
    ])


def _row(i):
    return {'id': np.int32(i),
            'ts': np.datetime64('2005-02-25T03:30') + np.timedelta64(i * 1001, 'ms'),
            'day': np.datetime64('2019-01-02') + np.timedelta64(i, 'D'),
            'maybe': None if i % 3 == 0 else np.datetime64('2020-06-01T00:00:00.000001', 'ns') + i}


@pytest.fixture(scope='module')
def dataset(spark, tmp_path_factory):
    from petastorm.etl.dataset_metadata import materialize_dataset
    url = url_of(tmp_path_factory.mktemp('time') / 'ds')
    schema = _schema()
    with materialize_dataset(spark, url, schema, row_group_size_mb=1):
        rows = [dict_to_spark_row(schema, _row(i)) for i in range(12)]
        spark.createDataFrame(rows, schema.as_spark_schema()).coalesce(2).write.mode('overwrite').parquet(url)
    return url


def test_spark_schema_and_encoded_values():
    from pyspark.sql.types import DateType, TimestampType
    types = {f.name: f.dataType for f in _schema().as_spark_schema().fields}
    assert types['ts'] == TimestampType() and types['day'] == DateType()
    row = dict_to_spark_row(_schema(), _row(1))
    assert row.ts == datetime.datetime(2005, 2, 25, 3, 30, 1, 1000) and row.day == datetime.date(2019, 1, 3)
    assert row.maybe == datetime.datetime(2020, 6, 1, 0, 0, 0, 1)  # ns input, us stored (Spark's precision)


def test_make_reader_returns_datetime64_as_upstream(dataset):
    with make_reader(dataset, workers_count=2) as reader:
        assert reader.schema.fields['ts'].numpy_dtype is np.datetime64
        rows = {int(r.id): r for r in reader}
    assert sorted(rows) == list(range(12))
    for i, row in rows.items():
        want = _row(i)
        assert isinstance(row.ts, np.datetime64) and row.ts.dtype == np.dtype('datetime64[us]')
        assert row.ts == want['ts']
        assert isinstance(row.day, np.datetime64) and row.day.dtype == np.dtype('datetime64[D]')
        assert row.day == want['day']
        assert row.maybe is None if want['maybe'] is None else row.maybe == want['maybe'].astype('datetime64[us]')


def test_make_batch_reader_returns_datetime64_columns(dataset):
    seen = {}
    with make_batch_reader(dataset, workers_count=2, schema_fields=['id', 'ts', 'day']) as reader:
        for batch in reader:
            assert batch.ts.dtype.kind == 'M' and batch.day.dtype.kind == 'M'
            seen.update({int(i): (t, d) for i, t, d in zip(batch.id, batch.ts, batch.day)})
    assert sorted(seen) == list(range(12))
    for i, (t, d) in seen.items():
        assert t == _row(i)['ts'] and d == _row(i)['day']


def test_spark_timestamp_columns_read_by_make_batch_reader(spark, tmp_path):
    url = url_of(tmp_path / 'plain')
    df = spark.createDataFrame([(i, datetime.datetime(2021, 3, 4, 5, 6, 7, i), datetime.date(2021, 3, 4 + i))
                                for i in range(5)], 'id INT, ts TIMESTAMP, day DATE')
    df.write.parquet(url)
    with make_batch_reader(url, workers_count=1) as reader:
        assert reader.schema.fields['ts'].numpy_dtype is np.datetime64
        assert reader.schema.fields['day'].numpy_dtype is np.datetime64
        batches = list(reader)
    ids = np.concatenate([b.id for b in batches])
    ts = np.concatenate([b.ts for b in batches])
    days = np.concatenate([b.day for b in batches])
    for i, t, d in zip(ids, ts, days):
        assert t == np.datetime64(datetime.datetime(2021, 3, 4, 5, 6, 7, int(i)))
        assert d == np.datetime64(datetime.date(2021, 3, 4 + int(i)))


@pytest.mark.skipif(not UPSTREAM_PYTHON.exists(), reason='upstream Petastorm 0.13.1 venv not installed')
def test_upstream_reads_the_datetime_fields(dataset):
    """(Without the nullable field: upstream's own decode fails on a null timestamp.)"""
    script = ('import numpy as np\n'
              'from petastorm import make_reader\n'
              'with make_reader({!r}, reader_pool_type="dummy", schema_fields=["id", "ts", "day"]) as r:\n'
              '    assert r.schema.ts.numpy_dtype is np.datetime64, r.schema\n'
              '    rows = sorted(r, key=lambda x: x.id)\n'
              'print(repr([(str(x.ts), x.ts.dtype.str, str(x.day)) for x in rows[:2]]))\n').format(dataset)
    out = subprocess.run([str(UPSTREAM_PYTHON), '-c', script], capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, PYTHONPATH=''))
    assert out.returncode == 0, out.stderr[-3000:]
    want = [(str(_row(i)['ts'].astype('datetime64[us]')), '<M8[us]', str(_row(i)['day'])) for i in range(2)]
    assert out.stdout.strip().splitlines()[-1] == repr(want)
