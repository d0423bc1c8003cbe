"""The Hadoop FileSystem of a dataset URL, reached from the PySpark driver through py4j.

``materialize_dataset`` uses it to list the data files Spark wrote, read their Parquet
footers and write ``_common_metadata`` atomically, on whatever FileSystem Spark wrote to
(``file:``, ``hdfs:``, ``s3a:``, ...). Only byte moving happens here; the bytes are
interpreted by the native library.
"""
import uuid

from petastorm import _native
from petastorm.errors import PetastormMetadataError


def list_data_files(fs, root):
    """``[(relative path, length)]`` of the data files below ``root`` (a Hadoop ``Path`` of the Java
    FileSystem ``fs``), sorted by path; which files count is the native reader's rule
    (``_native.is_data_file``)."""
    found, pending = [], [(root, '')]
    while pending:
        folder, prefix = pending.pop()
        for status in fs.listStatus(folder):
            rel = prefix + status.getPath().getName()
            if status.isDirectory():
                pending.append((status.getPath(), rel + '/'))
            elif _native.is_data_file(rel):
                found.append((rel, int(status.getLen())))
    return sorted(found)


def write_atomically(jvm, fs, path, data):
    """Writes ``data`` to a temporary file beside the Hadoop ``Path`` ``path`` of the FileSystem ``fs``,
    then renames it over ``path`` with ``Rename.OVERWRITE`` through ``FileContext`` (one atomic rename on
    HDFS and local disks: a reader sees the old file or the new one, never none). File systems without a
    ``FileContext`` binding get a delete, then a rename."""
    hadoop = jvm.org.apache.hadoop.fs
    tmp = hadoop.Path(path.getParent(), '{}.tmp-{}'.format(path.getName(), uuid.uuid4().hex))
    try:
        out = fs.create(tmp, True)
        try:
            out.write(bytearray(data))
        finally:
            out.close()
        try:
            context = hadoop.FileContext.getFileContext(path.toUri(), fs.getConf())
        except Exception:  # UnsupportedFileSystemException: no AbstractFileSystem for this scheme
            context = None
        if context is not None:
            from pyspark import SparkContext
            rename = getattr(hadoop, 'Options$Rename')
            options = SparkContext._gateway.new_array(rename, 1)
            options[0] = rename.OVERWRITE
            context.rename(tmp, path, options)
        else:
            if fs.exists(path):
                fs.delete(path, False)
            if not fs.rename(tmp, path):
                raise OSError('could not rename {} to {}'.format(tmp.toString(), path.toString()))
    finally:
        if fs.exists(tmp):
            fs.delete(tmp, False)


class HadoopFileSystem(object):
    """File operations below one root URL, with paths relative to it (``'a=1/part-0.parquet'``)."""

    def __init__(self, spark, url):
        sc = spark.sparkContext
        self._jvm = sc._jvm
        self._root = self._jvm.org.apache.hadoop.fs.Path(url)
        self._fs = self._root.getFileSystem(sc._jsc.hadoopConfiguration())

    def _path(self, rel):
        return self._jvm.org.apache.hadoop.fs.Path(self._root, rel)

    def list_data_files(self):
        """``[(relative path, length)]`` of the data files below the root, sorted by path."""
        return list_data_files(self._fs, self._root)

    def read_range(self, rel, position, length):
        """``length`` bytes of a file from ``position``.

        ``InputStream.readNBytes`` returns a new ``byte[]``, which py4j hands over as ``bytes``
        (a ``byte[]`` buffer passed into Java would be copied, and never filled on this side)."""
        stream = self._fs.open(self._path(rel))
        try:
            stream.seek(position)
            data = bytes(stream.readNBytes(length))
        finally:
            stream.close()
        if len(data) != length:
            raise OSError('{}: expected {} bytes at offset {}, read {}'.format(rel, length, position, len(data)))
        return data

    def read_footer(self, rel, file_length, footer_len_of):
        """The last ``footer length + 8`` bytes of a Parquet file; ``footer_len_of`` reads the
        footer length from the file's last 8 bytes. A footer longer than the file is an error."""
        if file_length < 12:
            raise PetastormMetadataError("file '{}' is too short to be Parquet ({} bytes)".format(rel, file_length))
        footer_len = footer_len_of(self.read_range(rel, file_length - 8, 8))
        if footer_len + 8 > file_length:
            raise PetastormMetadataError("file '{}': footer length {} exceeds the file size {}".format(
                rel, footer_len, file_length))
        return self.read_range(rel, file_length - footer_len - 8, footer_len + 8)

    def write_atomically(self, rel, data):
        """Replaces ``rel`` with ``data`` (see :func:`write_atomically`)."""
        write_atomically(self._jvm, self._fs, self._path(rel), data)
