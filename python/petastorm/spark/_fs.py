"""Byte moving for the converter's cache directories, through the Hadoop FileSystem of the URL
(reached from the PySpark driver via py4j), so that it works on any URL Spark can write to.

Without a SparkContext (an unpickled converter in a trainer process) :func:`delete_dir` uses the
native storage layer.
"""
from petastorm import _storage
from petastorm.etl._hadoop_fs import list_data_files, write_atomically


class HadoopFs(object):
    """File operations on absolute URLs through ``org.apache.hadoop.fs.FileSystem`` (one per URL's
    scheme and authority, from the session's Hadoop configuration)."""

    def __init__(self, jvm, hadoop_conf):
        self._jvm = jvm
        self._conf = hadoop_conf

    @classmethod
    def of(cls, spark):
        sc = spark.sparkContext
        return cls(sc._jvm, sc._jsc.hadoopConfiguration())

    @classmethod
    def active(cls):
        """The FileSystem helper of the active SparkContext, or ``None`` when there is none."""
        try:
            from pyspark import SparkContext
        except ImportError:
            return None
        sc = SparkContext._active_spark_context
        if sc is None or sc._jsc is None:
            return None
        return cls(sc._jvm, sc._jsc.hadoopConfiguration())

    def _path(self, url):
        return self._jvm.org.apache.hadoop.fs.Path(url)

    def _fs(self, path):
        return path.getFileSystem(self._conf)

    def exists(self, url):
        path = self._path(url)
        return bool(self._fs(path).exists(path))

    def delete(self, url):
        """Deletes ``url`` recursively; ``True`` when something was deleted."""
        path = self._path(url)
        return bool(self._fs(path).delete(path, True))

    def status(self, url):
        """``(length, modification time in ms)`` of a file."""
        path = self._path(url)
        st = self._fs(path).getFileStatus(path)
        return int(st.getLen()), int(st.getModificationTime())

    def list_parquet_files(self, dir_url):
        """``[(relative path, length)]`` of the data files below ``dir_url``, sorted (see
        :func:`petastorm.etl._hadoop_fs.list_data_files`)."""
        root = self._path(dir_url)
        return list_data_files(self._fs(root), root)

    def glob(self, pattern):
        """URLs (as the FileSystem names them) of the paths matching a glob pattern URL."""
        path = self._path(pattern)
        found = self._fs(path).globStatus(path)
        return [] if found is None else [st.getPath().toString() for st in found]

    def read_bytes(self, url, limit=1 << 20):
        """The bytes of a small file (``None`` when it is missing or larger than ``limit``)."""
        path = self._path(url)
        fs = self._fs(path)
        if not fs.exists(path):
            return None
        if fs.getFileStatus(path).getLen() > limit:
            return None
        stream = fs.open(path)
        try:
            return bytes(stream.readAllBytes())
        finally:
            stream.close()

    def write_atomically(self, url, data):
        """Replaces the file at ``url`` with ``data`` (see :func:`petastorm.etl._hadoop_fs.write_atomically`)."""
        path = self._path(url)
        write_atomically(self._jvm, self._fs(path), path, data)

    def parquet_row_count(self, url):
        """Rows of a Parquet file, from its footer (parquet-hadoop, on Spark's classpath)."""
        hadoop = self._jvm.org.apache.parquet.hadoop
        reader = hadoop.ParquetFileReader.open(hadoop.util.HadoopInputFile.fromPath(self._path(url), self._conf))
        try:
            return int(reader.getRecordCount())
        finally:
            reader.close()


def delete_dir(url):
    """Deletes a directory URL recursively: through the active SparkContext's Hadoop FileSystem when
    there is one (it holds the cluster's credentials), else through the native storage layer (any
    URL it reaches, credentials from the environment)."""
    fs = HadoopFs.active()
    if fs is not None:
        return fs.delete(url)
    return _storage.delete(url)
