"""write_dataset: Python workers write part files with the native writer; the driver commits."""
import decimal
import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from pyspark.sql.types import DecimalType, IntegerType, StringType

from _reader_helpers import time_limit, url_of  # noqa: F401
from petastorm.codecs import CompressedImageCodec, NdarrayCodec, ScalarCodec
from petastorm.etl.dataset_metadata import ROW_GROUPS_PER_FILE_KEY, get_schema_from_dataset_url, write_dataset
from petastorm.reader import make_reader
from petastorm.unischema import Unischema, UnischemaField, dict_to_spark_row

Schema = Unischema('WriterSchema', [
    UnischemaField('id', np.int32, (), ScalarCodec(IntegerType()), False),
    UnischemaField('image', np.uint8, (16, 32, 3), CompressedImageCodec('png'), False),
    UnischemaField('matrix', np.uint8, (None, 4, 3, None), NdarrayCodec(), False),
    UnischemaField('name', np.str_, (), ScalarCodec(StringType()), True),
    UnischemaField('value', np.float64, (), None, False),
])


def _row_maker(matrix_rows=2, bad_id=None):
    # a local function: cloudpickle ships it to Spark's Python workers by value
    def make_row(i):
        import numpy as np
        rng = np.random.RandomState(i)
        image_width = 31 if i == bad_id else 32
        return {'id': np.int32(i),
                'image': rng.randint(0, 255, size=(16, image_width, 3)).astype(np.uint8),
                'matrix': rng.randint(0, 255, size=(matrix_rows, 4, 3, i % 3 + 1)).astype(np.uint8),
                'name': None if i % 4 == 0 else 'row {}'.format(i),
                'value': i * 0.5}
    return make_row


def _rows(spark, count, partitions, **kwargs):
    return spark.sparkContext.parallelize(range(count), partitions).map(_row_maker(**kwargs))


def _data_files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob('*.parquet'))


def _row_count(root):
    return sum(pq.ParquetFile(root / p).metadata.num_rows for p in _data_files(root))


def _jobs(spark):
    return len(spark.sparkContext.statusTracker().getJobIdsForGroup())


def test_rows_read_back_and_match_spark_bytes(spark, tmp_path):
    root = tmp_path / 'native'
    write_dataset(spark, _rows(spark, 12, 3), url_of(root), Schema, row_group_size_mb=16)

    files = _data_files(root)
    assert len(files) == 3 and all(f.startswith('part-0000') and f.endswith('-c000.parquet') for f in files)
    names = {p.name for p in root.iterdir()}
    assert {'_SUCCESS', '_common_metadata'} <= names and '_temporary' not in names
    loaded = get_schema_from_dataset_url(url_of(root))
    assert loaded.fields == Schema.fields
    assert [f.codec for f in loaded.fields.values()] == [f.codec for f in Schema.fields.values()]
    row_groups = json.loads(pq.read_metadata(root / '_common_metadata').metadata[ROW_GROUPS_PER_FILE_KEY])
    assert row_groups == {f: 1 for f in files}

    make_row = _row_maker()
    with make_reader(url_of(root), workers_count=2) as reader:
        rows = {int(r.id): r for r in reader}
    assert sorted(rows) == list(range(12))
    for i, row in rows.items():
        want = make_row(i)
        np.testing.assert_array_equal(row.image, want['image'])
        np.testing.assert_array_equal(row.matrix, want['matrix'])
        assert row.name == want['name'] and row.value == want['value']

    spark_root = tmp_path / 'spark'
    spark_rows = _rows(spark, 12, 3).map(lambda r: dict_to_spark_row(Schema, r))
    spark.createDataFrame(spark_rows, Schema.as_spark_schema()).write.parquet(url_of(spark_root))
    native = pq.ParquetDataset(root).read().sort_by('id')
    by_spark = pq.ParquetDataset(spark_root).read().sort_by('id')
    assert native.schema.names == by_spark.schema.names
    assert native.to_pylist() == by_spark.to_pylist()


def test_small_row_groups(spark, tmp_path):
    root = tmp_path / 'ds'
    write_dataset(spark, _rows(spark, 130, 1, matrix_rows=2000), str(root), Schema, row_group_size_mb=1)
    (only,) = _data_files(root)
    assert pq.ParquetFile(root / only).num_row_groups >= 2
    assert _row_count(root) == 130


def test_bad_row_leaves_no_data(spark, tmp_path):
    root = tmp_path / 'ds'
    with pytest.raises(Exception) as e:
        write_dataset(spark, _rows(spark, 9, 3, bad_id=8), url_of(root), Schema)
    assert "field 'image'" in str(e.value)
    assert not list(root.rglob('*.parquet'))
    assert not (root / '_common_metadata').exists() and not (root / '_temporary').exists()


def test_save_modes(spark, tmp_path):
    root = tmp_path / 'ds'
    url = url_of(root)
    write_dataset(spark, _rows(spark, 6, 2), url, Schema, mode='error')
    assert _row_count(root) == 6
    jobs = _jobs(spark)
    for mode in ('error', 'errorifexists', 'default'):
        with pytest.raises(OSError, match='already exists'):
            write_dataset(spark, _rows(spark, 6, 2), url, Schema, mode=mode)
    with pytest.raises(ValueError, match="unknown save mode 'upsert'"):
        write_dataset(spark, _rows(spark, 6, 2), url, Schema, mode='upsert')
    write_dataset(spark, _rows(spark, 3, 1), url, Schema, mode='ignore')
    assert _jobs(spark) == jobs and _row_count(root) == 6

    write_dataset(spark, _rows(spark, 6, 2), url, Schema, mode='append')
    files = _data_files(root)
    assert _row_count(root) == 12 and len(files) == 4
    row_groups = json.loads(pq.read_metadata(root / '_common_metadata').metadata[ROW_GROUPS_PER_FILE_KEY])
    assert sorted(row_groups) == files

    write_dataset(spark, _rows(spark, 5, 1), url, Schema, mode='overwrite')
    assert _row_count(root) == 5 and len(_data_files(root)) == 1


def test_rejected_before_any_job(spark, tmp_path):
    jobs = _jobs(spark)
    with pytest.raises(ValueError, match="unsupported URL scheme 'ftp'"):
        write_dataset(spark, _rows(spark, 3, 1), 'ftp://host/ds', Schema)
    with pytest.raises(OSError, match="'hdfs://127.0.0.1:1/ds'.*Connection refused"):
        write_dataset(spark, _rows(spark, 3, 1), 'hdfs://127.0.0.1:1/ds', Schema)
    with_decimal = Unischema('WithDecimal', [
        UnischemaField('id', np.int32, (), ScalarCodec(IntegerType()), False),
        UnischemaField('price', decimal.Decimal, (), ScalarCodec(DecimalType(10, 2)), False),
    ])
    rows = spark.sparkContext.parallelize([{'id': 1, 'price': decimal.Decimal('1.50')}])
    with pytest.raises(ValueError, match="field 'price'"):
        write_dataset(spark, rows, url_of(tmp_path / 'd'), with_decimal)
    assert _jobs(spark) == jobs
    assert not (tmp_path / 'd').exists()


@pytest.mark.parametrize('empty', ['partitions', 'no_partition'])
def test_empty_rdd(spark, tmp_path, empty):
    sc = spark.sparkContext
    rows = sc.parallelize([], 3) if empty == 'partitions' else sc.emptyRDD()
    root = tmp_path / 'ds'
    write_dataset(spark, rows, url_of(root), Schema)
    assert len(_data_files(root)) == 1
    assert spark.read.parquet(url_of(root)).count() == 0
    assert pq.read_table(root / _data_files(root)[0]).schema.names == list(Schema.fields)
    assert get_schema_from_dataset_url(url_of(root)).fields == Schema.fields
