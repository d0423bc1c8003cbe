"""The moto S3 service, through pyarrow, object_store (obstore), boto3 and Spark's s3a."""
from pathlib import Path

import boto3
import obstore
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from obstore.store import S3Store
from pyarrow import fs

from services import spark_submit_s3a

TABLE = pa.table({'id': pa.array(range(10), pa.int64()), 'name': [f'n{i}' for i in range(10)]})


def test_pyarrow_writes_lists_and_reads(s3_server):
    s3_server.make_bucket('pyarrow-smoke')
    s3 = s3_server.pyarrow_fs()
    pq.write_table(TABLE, 'pyarrow-smoke/ds/year=2020/part-0.parquet', filesystem=s3)
    with s3.open_output_stream('pyarrow-smoke/ds/_common_metadata') as out:
        out.write(b'meta')
    listed = s3.get_file_info(fs.FileSelector('pyarrow-smoke/ds', recursive=True))
    files = {i.path: i.size for i in listed if i.type == fs.FileType.File}
    assert set(files) == {'pyarrow-smoke/ds/year=2020/part-0.parquet', 'pyarrow-smoke/ds/_common_metadata'}
    assert files['pyarrow-smoke/ds/_common_metadata'] == 4
    with s3.open_input_file('pyarrow-smoke/ds/year=2020/part-0.parquet') as f:
        assert pq.read_table(f).equals(TABLE)


def test_wrong_secret_is_refused(s3_server):
    s3_server.make_bucket('auth-smoke')
    selector = fs.FileSelector('auth-smoke')
    assert s3_server.pyarrow_fs().get_file_info(selector) == []
    with pytest.raises(OSError, match='SIGNATURE_DOES_NOT_MATCH'):
        s3_server.pyarrow_fs(secret='not-the-secret').get_file_info(selector)
    with pytest.raises(Exception, match='SignatureDoesNotMatch'):
        S3Store('auth-smoke', config={**s3_server.object_store_options(),
                                      'aws_secret_access_key': 'not-the-secret'}).list().collect()


def test_object_store_options_and_env(s3_server, monkeypatch):
    s3_server.make_bucket('object-store-smoke')
    store = S3Store('object-store-smoke', config=s3_server.object_store_options())
    store.put('ds/key=a b/part-0.bin', b'0123456789')
    assert bytes(store.get_range('ds/key=a b/part-0.bin', start=2, end=5)) == b'234'
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    from_env = S3Store('object-store-smoke')
    assert [m['path'] for m in from_env.list('ds').collect()] == ['ds/key=a b/part-0.bin']
    assert obstore.head(from_env, 'ds/key=a b/part-0.bin')['size'] == 10


def test_storage_options_as_fsspec_passes_them(s3_server):
    """s3fs hands ``key``/``secret`` and ``client_kwargs`` to a botocore client like this."""
    s3_server.make_bucket('fsspec-smoke')
    options = s3_server.storage_options()
    client = boto3.client('s3', aws_access_key_id=options['key'],
                          aws_secret_access_key=options['secret'], **options['client_kwargs'])
    client.put_object(Bucket='fsspec-smoke', Key='x', Body=b'abc')
    assert client.get_object(Bucket='fsspec-smoke', Key='x')['Body'].read() == b'abc'


def test_spark_writes_parquet_through_s3a(s3_server):
    s3_server.make_bucket('s3a-smoke')
    proc = spark_submit_s3a(s3_server, Path(__file__).parent / 'jobs' / 's3a_roundtrip.py',
                            's3a://s3a-smoke/ds')
    assert 'S3A_ROUNDTRIP_OK 100' in proc.stdout
    s3 = s3_server.pyarrow_fs()
    parts = [i.path for i in s3.get_file_info(fs.FileSelector('s3a-smoke/ds'))
             if i.path.endswith('.parquet')]
    assert len(parts) == 2
    assert sorted(pq.read_table(parts[0], filesystem=s3).column_names) == ['id', 'twice']
    # What Spark wrote through Hadoop's s3a, our reader reads natively under the same URL.
    from petastorm import make_batch_reader
    with make_batch_reader('s3a://s3a-smoke/ds', storage_options=s3_server.storage_options()) as reader:
        batches = [(b.id, b.twice) for b in reader]
    assert sorted(i for ids, _ in batches for i in ids.tolist()) == list(range(100))
    assert all((twice == 2 * ids).all() for ids, twice in batches)
