"""The file system of a dataset URL through ``pyarrow.fs``, for the tools that run without Spark
(``petastorm-generate-metadata.py``, ``petastorm-inspect``): the same operations as
:class:`~petastorm.etl._hadoop_fs.HadoopFileSystem`, paths relative to the dataset root."""
import uuid

from petastorm import _native
from petastorm.etl._hadoop_fs import FooterReader
from petastorm.fs_utils import get_filesystem_and_path_or_paths


class ArrowFileSystem(FooterReader):
    """File operations below one root URL (``file://``, ``s3://``, ``gs://``, ``hdfs://`` with libhdfs)."""

    def __init__(self, url):
        import pyarrow.fs
        self._fs, root = get_filesystem_and_path_or_paths(url)
        self._root = root.rstrip('/')
        if self._fs.get_file_info(self._root).type != pyarrow.fs.FileType.Directory:
            raise FileNotFoundError('dataset directory not found: {}'.format(url))

    def _path(self, rel):
        return self._root + '/' + rel

    def list_data_files(self):
        """``[(relative path, length)]`` of the data files below the root (native rule), sorted by path."""
        import pyarrow.fs
        selector = pyarrow.fs.FileSelector(self._root, recursive=True)
        found = []
        for info in self._fs.get_file_info(selector):
            rel = info.path[len(self._root) + 1:]
            if info.type == pyarrow.fs.FileType.File and _native.is_data_file(rel):
                found.append((rel, int(info.size)))
        return sorted(found)

    def read_range(self, rel, position, length):
        """``length`` bytes of a file from ``position``."""
        with self._fs.open_input_file(self._path(rel)) as f:
            data = f.read_at(length, position)
        if len(data) != length:
            raise OSError('{}: expected {} bytes at offset {}, read {}'.format(rel, length, position, len(data)))
        return data

    def write_atomically(self, rel, data):
        """Writes ``data`` to a temporary file beside ``rel``, then moves it over ``rel``."""
        tmp = self._path('{}.tmp-{}'.format(rel, uuid.uuid4().hex))
        try:
            with self._fs.open_output_stream(tmp) as out:
                out.write(data)
            self._fs.move(tmp, self._path(rel))
        except BaseException:
            try:
                self._fs.delete_file(tmp)
            except OSError:
                pass
            raise
