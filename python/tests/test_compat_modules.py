"""Upstream's small public modules: fs_utils, utils.decode_row, Unischema.from_arrow_schema and
make_namedtuple_tf, dataset_metadata.get_schema / infer_or_load_unischema / load_row_groups,
test_util.reader_mock, weighted_sampling_reader and spark_utils.dataset_as_rdd, on real datasets."""
import decimal
from urllib.parse import urlparse

import numpy as np
import pyarrow as pa
import pyarrow.fs
import pyarrow.parquet as pq
import pytest

from _reader_helpers import TestSchema, test_dataset, time_limit, url_of, write_dataset  # noqa: F401
from petastorm import make_reader
from petastorm.codecs import NdarrayCodec, ScalarCodec
from petastorm.errors import PetastormMetadataError
from petastorm.unischema import Unischema, UnischemaField


# --- fs_utils ------------------------------------------------------------------------------------

def test_filesystem_resolver_local_and_paths(tmp_path):
    from petastorm.fs_utils import FilesystemResolver, get_filesystem_and_path_or_paths
    (tmp_path / 'a.txt').write_bytes(b'hello')
    resolver = FilesystemResolver(url_of(tmp_path))
    assert isinstance(resolver.filesystem(), pyarrow.fs.LocalFileSystem)
    assert resolver.get_dataset_path() == str(tmp_path)
    assert resolver.parsed_dataset_url().scheme == 'file'
    with resolver.filesystem_factory()().open_input_file(str(tmp_path / 'a.txt')) as f:
        assert f.read() == b'hello'
    with pytest.raises(ValueError, match='scheme-less'):
        FilesystemResolver(str(tmp_path))
    with pytest.raises(RuntimeError, match='Pickling'):
        import pickle
        pickle.dumps(resolver)
    fs, paths = get_filesystem_and_path_or_paths([url_of(tmp_path / 'x'), url_of(tmp_path / 'y')])
    assert isinstance(fs, pyarrow.fs.LocalFileSystem) and paths == [str(tmp_path / 'x'), str(tmp_path / 'y')]
    with pytest.raises(ValueError, match='same scheme and netloc'):
        get_filesystem_and_path_or_paths(['file:///a', 's3://bucket/b'])


def test_bucket_paths_and_normalize_dir_url():
    from petastorm import _storage
    from petastorm.fs_utils import get_dataset_path, normalize_dir_url
    assert get_dataset_path(urlparse('s3://bucket/some/key')) == 'bucket/some/key'
    assert get_dataset_path(urlparse('hdfs://nn:8020/some/dir')) == '/some/dir'
    assert normalize_dir_url('file:///tmp/x/') == 'file:///tmp/x'
    assert normalize_dir_url('file:/tmp/x') == 'file:///tmp/x'
    assert normalize_dir_url('file://localhost/tmp/x') == 'file:///tmp/x'
    assert normalize_dir_url('s3://b/p/') == 's3://b/p'
    with pytest.raises(ValueError, match='must be a string'):
        normalize_dir_url(None)
    from petastorm.spark import spark_dataset_converter
    assert spark_dataset_converter.normalize_dir_url is _storage.normalize_dir_url  # the native rule


# --- utils.decode_row, Unischema additions ---------------------------------------------------------

def test_decode_row_decodes_casts_and_names_the_field():
    from petastorm.utils import DecodeFieldError, decode_row
    schema = Unischema('S', [UnischemaField('m', np.float32, (2, 2), NdarrayCodec(), False),
                             UnischemaField('i', np.int16, (), None, False),
                             UnischemaField('d', decimal.Decimal, (), None, True),
                             UnischemaField('n', np.float64, (3,), NdarrayCodec(), True)])
    matrix = np.arange(4, dtype=np.float32).reshape(2, 2)
    encoded = schema.fields['m'].codec.encode(schema.fields['m'], matrix)
    row = decode_row({'m': bytes(encoded), 'i': 7, 'd': '1.25', 'n': None, 'not_in_schema': 1}, schema)
    assert set(row) == {'m', 'i', 'd', 'n'}
    np.testing.assert_array_equal(row['m'], matrix)
    assert type(row['i']) is np.int16 and row['i'] == 7
    assert row['d'] == decimal.Decimal('1.25') and row['n'] is None
    with pytest.raises(DecodeFieldError, match='Decoding field "m" failed'):
        decode_row({'m': b'garbage'}, schema)


def test_from_arrow_schema_of_parquet_dataset(tmp_path):
    (tmp_path / 'part=a').mkdir()
    table = pa.table({'id': pa.array([1, 2], pa.int64()), 'v': pa.array([[1.0], [2.0, 3.0]], pa.list_(pa.float32())),
                      's': ['x', 'y']})
    pq.write_table(table, tmp_path / 'part=a' / 'f.parquet')
    schema = Unischema.from_arrow_schema(pq.ParquetDataset(str(tmp_path)))
    assert list(schema.fields) == ['id', 'v', 's', 'part']
    assert schema.fields['id'].numpy_dtype == np.int64 and schema.fields['id'].codec == ScalarCodec('long')
    assert schema.fields['v'].numpy_dtype == np.float32 and schema.fields['v'].shape == (None,)
    assert schema.fields['part'].numpy_dtype == np.str_
    plain = Unischema.from_arrow_schema(table.schema)
    assert list(plain.fields) == ['id', 'v', 's']


def test_make_namedtuple_tf():
    schema = Unischema('S', [UnischemaField('a', np.int32, ()), UnischemaField('b', np.int32, ())])
    row = schema.make_namedtuple_tf(1, b=2)
    assert row._fields == ('a', 'b') and tuple(row) == (1, 2)


# --- dataset_metadata --------------------------------------------------------------------------------

def test_get_schema_infer_or_load_and_row_groups(test_dataset, tmp_path):
    from petastorm.etl.dataset_metadata import get_schema, infer_or_load_unischema, load_row_groups
    url, _ = test_dataset
    path = urlparse(url).path
    dataset = pq.ParquetDataset(path)
    assert list(get_schema(dataset).fields) == list(TestSchema.fields)
    assert list(infer_or_load_unischema(url).fields) == list(TestSchema.fields)
    pieces = load_row_groups(dataset)
    assert len(pieces) == 10  # 5 files of 2 row groups
    assert [(p.path.rsplit('/', 1)[1], p.row_groups[0].id) for p in pieces[:3]] == [
        ('part-00000.parquet', 0), ('part-00000.parquet', 1), ('part-00001.parquet', 0)]
    assert sum(p.row_groups[0].num_rows for p in pieces) == 100
    assert len(load_row_groups(url)) == 10

    plain = tmp_path / 'plain'
    plain.mkdir()
    pq.write_table(pa.table({'x': [1, 2, 3]}), plain / 'f.parquet', row_group_size=2)
    with pytest.raises(PetastormMetadataError):
        get_schema(pq.ParquetDataset(str(plain)))
    inferred = infer_or_load_unischema(pq.ParquetDataset(str(plain)))
    assert list(inferred.fields) == ['x'] and inferred.fields['x'].numpy_dtype == np.int64
    assert len(load_row_groups(str(plain))) == 2


# --- ReaderMock, WeightedSamplingReader ----------------------------------------------------------------

def test_reader_mock_generates_rows():
    from petastorm.test_util.reader_mock import ReaderMock, schema_data_generator_example
    with ReaderMock(TestSchema, schema_data_generator_example) as reader:
        rows = [next(reader) for _ in range(3)]
    assert rows[0]._fields == tuple(TestSchema.fields)
    assert rows[0].matrix.shape == (4, 3) and rows[0].ragged.shape == (10, 2)
    assert rows[0].label == 'default' and rows[0].price == decimal.Decimal('0.0')
    with pytest.raises(ValueError):
        ReaderMock(TestSchema, schema_data_generator_example, ngram=object())


def _two_datasets(tmp_path):
    schema = Unischema('S', [UnischemaField('id', np.int64, (), ScalarCodec('long'), False)])
    urls = []
    for name, base in (('a', 0), ('b', 1000)):
        write_dataset(tmp_path / name, schema, [{'id': np.int64(base + i)} for i in range(100)], rows_per_group=50,
                      groups_per_file=1)
        urls.append(url_of(tmp_path / name))
    return urls


def test_weighted_sampling_reader_mixes_by_probability(tmp_path):
    from petastorm.weighted_sampling_reader import WeightedSamplingReader
    url_a, url_b = _two_datasets(tmp_path)
    readers = [make_reader(url_a, num_epochs=None, workers_count=1), make_reader(url_b, num_epochs=None,
                                                                                  workers_count=1)]
    with WeightedSamplingReader(readers, [1, 3], seed=5) as mixed:
        assert mixed.schema is readers[0].schema and mixed.batched_output is False
        ids = [int(next(mixed).id) for _ in range(2000)]
    share_b = sum(i >= 1000 for i in ids) / len(ids)
    assert 0.70 < share_b < 0.80  # 75% expected
    assert all(r.stopped for r in readers)


def test_weighted_sampling_reader_stops_with_a_finite_reader_and_checks_schemas(tmp_path, test_dataset):
    from petastorm.weighted_sampling_reader import WeightedSamplingReader
    url_a, url_b = _two_datasets(tmp_path)
    with WeightedSamplingReader([make_reader(url_a, workers_count=1), make_reader(url_b, workers_count=1)],
                                [0.5, 0.5], seed=1) as mixed:
        ids = list(mixed)
    assert 100 <= len(ids) < 200  # ends as soon as one reader is exhausted
    with make_reader(url_a) as a, make_reader(test_dataset[0]) as other:
        with pytest.raises(ValueError, match='same schema'):
            WeightedSamplingReader([a, other], [1, 1])
        with pytest.raises(ValueError, match='Two or more'):
            WeightedSamplingReader([a], [1])
        with pytest.raises(ValueError, match='same length'):
            WeightedSamplingReader([a, a], [1])


# --- spark_utils ---------------------------------------------------------------------------------------

def test_dataset_as_rdd_on_a_spark_written_dataset(spark, tmp_path):
    from petastorm.etl.dataset_metadata import materialize_dataset
    from petastorm.spark_utils import dataset_as_rdd
    from petastorm.unischema import dict_to_spark_row
    schema = Unischema('RddSchema', [UnischemaField('id', np.int32, (), ScalarCodec('integer'), False),
                                     UnischemaField('m', np.float32, (2, 3), NdarrayCodec(), False)])
    url = url_of(tmp_path / 'ds')
    with materialize_dataset(spark, url, schema, 1):
        rows = spark.sparkContext.parallelize(range(20), 2).map(
            lambda i: dict_to_spark_row(schema, {'id': np.int32(i), 'm': np.full((2, 3), i, np.float32)}))
        spark.createDataFrame(rows, schema.as_spark_schema()).write.parquet(url)
    got = sorted(dataset_as_rdd(url, spark).collect(), key=lambda r: r.id)
    assert [int(r.id) for r in got] == list(range(20))
    np.testing.assert_array_equal(got[7].m, np.full((2, 3), 7, np.float32))
    only_id = dataset_as_rdd(url, spark, schema_fields=[schema.id]).collect()
    assert sorted(int(r.id) for r in only_id) == list(range(20)) and only_id[0]._fields == ('id',)
