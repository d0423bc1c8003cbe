"""The MiniDFSCluster service, through Spark's HDFS client and the Rust one (hdfs-native)."""
import io
import time

import pyarrow.parquet as pq
import pytest
from hdfs_native import Client

from services import HdfsCluster


def test_spark_writes_and_reads_parquet_on_hdfs(spark, hdfs_cluster):
    url = f'{hdfs_cluster.url}/smoke'
    spark.range(50).selectExpr('id', 'cast(id AS string) AS text').repartition(2) \
        .write.mode('overwrite').parquet(url)
    rows = spark.read.parquet(url).orderBy('id').collect()
    assert [(r.id, r.text) for r in rows] == [(i, str(i)) for i in range(50)]
    # The Rust client (the crate behind hdfs-native-object-store) reads what Spark wrote.
    client = Client(hdfs_cluster.url)
    parts = [f.path for f in client.list_status('/smoke') if f.path.endswith('.parquet')]
    assert len(parts) == 2
    ids = []
    for part in parts:
        with client.read(part) as f:
            ids += pq.read_table(io.BytesIO(f.read())).column('id').to_pylist()
    assert sorted(ids) == list(range(50))


def test_rust_client_writes_and_reads_ranges(hdfs_cluster):
    client = Client(hdfs_cluster.url)
    data = bytes(range(256)) * 64
    with client.create('/rust/blob.bin') as f:
        f.write(data)
    assert client.get_file_info('/rust/blob.bin').length == len(data)
    with client.read('/rust/blob.bin') as f:
        assert f.read_range(1000, 300) == data[1000:1300]


def test_datanode_advertises_loopback(spark, hdfs_cluster):
    """Clients read blocks from the DataNode address the NameNode reports: it must be 127.0.0.1."""
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(f'{hdfs_cluster.url}/blocks.bin')
    filesystem = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    out = filesystem.create(path, True)
    out.write(bytearray(b'x' * 1000))
    out.close()
    status = filesystem.getFileStatus(path)
    assert status.getLen() == 1000
    (block,) = filesystem.getFileBlockLocations(status, 0, status.getLen())
    names = list(block.getNames())
    assert len(names) == 1 and names[0].startswith('127.0.0.1:'), names


def test_launcher_not_ready_in_time_fails_fast(tmp_path):
    started = time.monotonic()
    with pytest.raises(TimeoutError, match='HDFS not ready in time'):
        HdfsCluster(tmp_path, timeout=0.5)
    assert time.monotonic() - started < 20
