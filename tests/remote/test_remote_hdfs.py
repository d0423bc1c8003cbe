"""The MiniDFSCluster service, through Spark's own HDFS client."""


def test_spark_writes_and_reads_parquet_on_hdfs(spark, hdfs_cluster):
    url = f'{hdfs_cluster.url}/smoke'
    spark.range(50).selectExpr('id', 'cast(id AS string) AS text').repartition(2) \
        .write.mode('overwrite').parquet(url)
    rows = spark.read.parquet(url).orderBy('id').collect()
    assert [(r.id, r.text) for r in rows] == [(i, str(i)) for i in range(50)]


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
