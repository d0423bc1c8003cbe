"""Fixtures of the remote-storage tests: S3 (moto), HTTP (WebDAV reads), HDFS (Spark: the root conftest).

Each service listens on 127.0.0.1 only and is stopped by its fixture.
"""

import pytest

from services import HdfsCluster, HttpServer, S3Server


@pytest.fixture(scope='session')
def s3_server():
    """``S3Server``: endpoint, key, secret, region, make_bucket(name), storage_options(),
    object_store_options(), env(), spark_conf(), pyarrow_fs()."""
    server = S3Server()
    yield server
    server.stop()


@pytest.fixture
def http_server():
    """Factory: ``http_server(root_dir)`` serves ``root_dir`` and returns its ``HttpServer``
    (``.url`` = ``http://127.0.0.1:PORT``); every server started is stopped after the test."""
    servers = []

    def start(root_dir):
        servers.append(HttpServer(root_dir))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope='session')
def hdfs_cluster(tmp_path_factory):
    """``HdfsCluster`` (``.url`` = ``hdfs://127.0.0.1:PORT``), one DataNode; built with Maven once (up to
    300 s to start: a loaded 2-core machine is slow to start a NameNode and a DataNode)."""
    cluster = HdfsCluster(tmp_path_factory.mktemp('hdfs'))
    yield cluster
    cluster.stop()
