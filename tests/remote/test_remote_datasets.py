"""Petastorm datasets where clusters keep them, end to end through the native storage layer:
read with make_reader/make_batch_reader from S3 (moto), HTTP and HDFS (MiniDFSCluster), written by
upstream Petastorm (the fixtures), by Spark and by our native writer; errors on bad credentials,
missing buckets and unreachable endpoints; the converter with its cache on HDFS."""
import time
from pathlib import Path

import numpy as np
import pyarrow.fs as pafs
import pytest

from petastorm import NoDataAvailableError, _storage, make_batch_reader, make_reader

FIXTURES = (Path(__file__).resolve().parents[2] / '..' / 'shared' / 'fixtures' / 'petastorm-0.13.1').resolve()


def rows_by_id(url, key='id', **kwargs):
    with make_reader(url, shuffle_row_groups=False, **kwargs) as reader:
        return {int(getattr(r, key)): r for r in reader}


def assert_same_rows(actual, expected):
    assert sorted(actual) == sorted(expected)
    for i, row in expected.items():
        for name, value in row._asdict().items():
            np.testing.assert_array_equal(getattr(actual[i], name), value, err_msg='{} of row {}'.format(name, i))


@pytest.fixture(scope='module')
def s3_datasets(s3_server):
    """The 0.13.1 fixtures hello and mnist uploaded to s3://fixtures/."""
    url = s3_server.make_bucket('fixtures')
    for name in ('hello', 'mnist'):
        pafs.copy_files(str(FIXTURES / name), 'fixtures/' + name, source_filesystem=pafs.LocalFileSystem(),
                        destination_filesystem=s3_server.pyarrow_fs())
    return url


def test_s3_reads_what_local_reads_with_every_credential_form(s3_server, s3_datasets, monkeypatch):
    local = rows_by_id(str(FIXTURES / 'hello'))
    assert_same_rows(rows_by_id(s3_datasets + '/hello', storage_options=s3_server.storage_options()), local)
    assert_same_rows(rows_by_id('s3a://fixtures/hello', storage_options=s3_server.object_store_options()), local)
    for key, value in s3_server.env().items():
        monkeypatch.setenv(key, value)
    assert_same_rows(rows_by_id('s3://fixtures/hello/'), local)


def test_s3_fetches_only_the_columns_read(s3_server, s3_datasets):
    url, options = s3_datasets + '/hello', s3_server.storage_options()
    with make_reader(url, storage_options=options) as reader:
        assert len(list(reader)) == 20
        everything = reader.diagnostics
    with make_reader(url, storage_options=options, schema_fields=['id']) as reader:
        assert sorted(int(r.id) for r in reader) == list(range(20))
        ids_only = reader.diagnostics
    # Footers and _common_metadata are a few KB; the images are most of the bytes.
    assert ids_only['io_bytes'] < everything['io_bytes'] / 20, (ids_only, everything)
    # A request for the metadata, two per footer at most, and the coalesced column chunks.
    assert everything['io_requests'] <= 1 + 3 * len(everything['files']) + everything['row_groups']


def test_s3_batch_reader_of_a_list_of_file_urls(s3_server, s3_datasets):
    files = _storage.data_files(s3_datasets + '/mnist', s3_server.storage_options())
    assert len(files) > 1
    urls = ['s3://fixtures/mnist/' + rel for rel, _ in files]
    with make_batch_reader(urls, storage_options=s3_server.storage_options()) as reader:
        idx = np.concatenate([b.idx for b in reader])
    assert sorted(idx.tolist()) == list(range(300))


def test_s3_errors_name_the_url_and_are_bounded(s3_server, s3_datasets):
    wrong = dict(s3_server.storage_options(), secret='not-the-secret')
    with pytest.raises(OSError, match=r"(?s)s3://fixtures/hello.*SignatureDoesNotMatch"):
        make_reader(s3_datasets + '/hello', storage_options=wrong)
    with pytest.raises(OSError, match=r"(?s)s3://no-such-bucket/ds.*NoSuchBucket"):
        make_reader('s3://no-such-bucket/ds', storage_options=s3_server.storage_options())
    started = time.monotonic()
    with pytest.raises(OSError, match=r"(?s)s3://fixtures/hello.*127\.0\.0\.1:9"):
        make_reader(s3_datasets + '/hello', storage_options={
            'key': 'k', 'secret': 's', 'endpoint_url': 'http://127.0.0.1:9', 'retry_timeout': '3'})
    assert time.monotonic() - started < 20
    with pytest.raises(ValueError, match="storage option 'secrte'"):
        make_reader(s3_datasets + '/hello', storage_options={'secrte': 'x'})


def test_filesystem_argument_reads_through_a_pyarrow_file_system(s3_server, s3_datasets):
    local = rows_by_id(str(FIXTURES / 'mnist'), key='idx')
    reader = make_reader('s3://fixtures/mnist', filesystem=s3_server.pyarrow_fs(), shuffle_row_groups=False)
    copy = Path(reader._mirror.root)
    assert (copy / '0' / '_common_metadata').is_file()
    with reader:
        assert_same_rows({int(r.idx): r for r in reader}, local)
    assert not copy.exists()


def _hello_rows(n):
    rng = np.random.default_rng(7)
    return [{'id': np.int32(i), 'image1': rng.integers(0, 255, (128, 256, 3), dtype=np.uint8),
             'array_4d': rng.integers(0, 255, (4, 128, 30, 3), dtype=np.uint8)} for i in range(n)]


def test_write_dataset_to_s3_commits_or_leaves_nothing(spark, s3_server):
    from petastorm.etl.dataset_metadata import get_schema_from_dataset_url, write_dataset
    s3_server.make_bucket('written')
    schema = get_schema_from_dataset_url(str(FIXTURES / 'hello'))
    rows = _hello_rows(12)
    options = s3_server.storage_options()
    url = 's3://written/hello'
    write_dataset(spark, spark.sparkContext.parallelize(rows, 3), url, schema, row_group_size_mb=1,
                  storage_options=options)
    names = [rel for rel, _ in _storage.data_files(url, options)]
    assert len(names) == 3 and all(n.endswith('-c000.parquet') for n in names)
    assert _storage.read(url + '/_common_metadata', options) is not None
    assert _storage.read(url + '/_SUCCESS', options) == b''
    read = rows_by_id(url, storage_options=options)
    assert sorted(read) == list(range(12))
    np.testing.assert_array_equal(read[5].image1, rows[5]['image1'])
    np.testing.assert_array_equal(read[11].array_4d, rows[11]['array_4d'])

    def failing(row):
        if row['id'] == 10:
            raise RuntimeError('row 10 is bad')
        return row

    bad = spark.sparkContext.parallelize(_hello_rows(12), 3).map(failing)
    with pytest.raises(Exception, match='row 10 is bad'):
        write_dataset(spark, bad, 's3://written/failed', schema, row_group_size_mb=1, storage_options=options)
    assert s3_server.pyarrow_fs().get_file_info(pafs.FileSelector('written/failed', allow_not_found=True,
                                                                  recursive=True)) == []
    assert _storage.delete(url, options) and _storage.data_files(url, options) == []


def test_http_reads_a_dataset_served_over_http(http_server):
    server = http_server(FIXTURES)
    local = rows_by_id(str(FIXTURES / 'mnist'), key='idx')
    assert_same_rows(rows_by_id(server.url + '/mnist', key='idx'), local)
    with pytest.raises(NoDataAvailableError, match=r"no Parquet files found at http://127\.0\.0\.1:\d+/missing"):
        make_reader(server.url + '/missing')


def test_spark_writes_to_hdfs_and_the_native_reader_reads(spark, hdfs_cluster):
    from petastorm.etl.dataset_metadata import get_schema_from_dataset_url, materialize_dataset
    from petastorm.unischema import dict_to_spark_row
    schema = get_schema_from_dataset_url(str(FIXTURES / 'hello'))
    rows = _hello_rows(8)
    url = hdfs_cluster.url + '/datasets/hello'
    with materialize_dataset(spark, url, schema, 1):
        spark.createDataFrame([dict_to_spark_row(schema, r) for r in rows], schema.as_spark_schema()) \
            .coalesce(2).write.mode('overwrite').parquet(url)
    read = rows_by_id(url)
    assert sorted(read) == list(range(8))
    np.testing.assert_array_equal(read[3].image1, rows[3]['image1'])
    with make_batch_reader(url, schema_fields=['id']) as reader:
        assert sorted(np.concatenate([b.id for b in reader]).tolist()) == list(range(8))
        assert reader.diagnostics['schema_source'] == 'metadata'


def test_converter_cache_on_hdfs(spark, hdfs_cluster):
    from petastorm.spark import SparkDatasetConverter, make_spark_converter
    parent = hdfs_cluster.url + '/converter-cache'
    spark.conf.set(SparkDatasetConverter.PARENT_CACHE_DIR_URL_CONF, parent)
    try:
        df = spark.range(100).selectExpr('id', 'cast(id as double) * 0.5 AS x')
        converter = make_spark_converter(df)
        assert converter.cache_dir_url.startswith(parent + '/')
        assert len(converter) == 100
        with converter.make_torch_dataloader(batch_size=32, num_epochs=1) as loader:
            ids = np.concatenate([b['id'].numpy() for b in loader])
        assert sorted(ids.tolist()) == list(range(100))
        assert _storage.data_files(converter.cache_dir_url)
        converter.delete()
        assert _storage.data_files(converter.cache_dir_url) == []
    finally:
        spark.conf.unset(SparkDatasetConverter.PARENT_CACHE_DIR_URL_CONF)


def test_python_writer_and_delete_on_hdfs(spark, hdfs_cluster):
    from petastorm.etl.dataset_metadata import get_schema_from_dataset_url, write_dataset
    schema = get_schema_from_dataset_url(str(FIXTURES / 'hello'))
    url = hdfs_cluster.url + '/written/hello'
    write_dataset(spark, spark.sparkContext.parallelize(_hello_rows(6), 2), url, schema, row_group_size_mb=1)
    assert sorted(rows_by_id(url)) == list(range(6))
    assert _storage.delete(url)
    assert not _storage.delete(url)
    with pytest.raises(NoDataAvailableError, match='no Parquet files found'):
        make_reader(url)


def test_nested_storage_options_are_flattened():
    assert _storage.flatten_options({'client_kwargs': {'endpoint_url': 'http://x'}, 'anon': True, 'n': None}) == \
        {'client_kwargs.endpoint_url': 'http://x', 'anon': 'true'}
    with pytest.raises(TypeError, match='storage_options must be a dict'):
        _storage.flatten_options([('key', 'x')])


def test_s3_local_disk_cache_serves_later_epochs_and_readers_without_requests(s3_server, s3_datasets, tmp_path):
    url, options = s3_datasets + '/hello', s3_server.storage_options()
    cache = dict(cache_type='local-disk', cache_location=str(tmp_path / 'cache'), cache_size_limit=10 ** 9)
    expected = rows_by_id(str(FIXTURES / 'hello'))
    with make_reader(url, storage_options=options, shuffle_row_groups=False, num_epochs=2, **cache) as reader:
        rows = list(reader)
        first = reader.diagnostics
    assert len(rows) == 2 * len(expected)
    assert_same_rows({int(r.id): r for r in rows}, expected)
    # One listing, then each object (data files and _common_metadata) fetched whole, once, for both epochs.
    assert first['cache_misses'] == len(first['files']) + 1, first
    assert first['io_requests'] == 1 + first['cache_misses'] and first['cache_hits'] > 0, first
    with make_reader(url, storage_options=options, **cache) as reader:
        assert_same_rows({int(r.id): r for r in reader}, expected)
        second = reader.diagnostics
        reader.cleanup_cache()
    # The listing is cached too: a second reader makes no request at all.
    assert (second['io_requests'], second['io_bytes'], second['cache_misses']) == (0, 0, 0), second
    assert second['cache_hits'] > 0
    assert not (tmp_path / 'cache').exists()
    with make_batch_reader(url, storage_options=options, schema_fields=['id'], **cache) as reader:
        assert sorted(np.concatenate([b.id for b in reader]).tolist()) == list(range(20))
        assert reader.diagnostics['cache_misses'] > 0, 'cleaned cache is filled again'
