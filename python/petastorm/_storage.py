"""Files on any store the native storage layer reaches (``file://``, ``s3://``/``s3a://``, ``gs://``,
``az://``/``abfs(s)://``, ``http(s)://``, ``hdfs://``/``viewfs://``, ``dbfs:/``): the URL rules,
``storage_options`` in the form the C ABI takes, and delete/read/list and the commit protocol without Spark.
The rules themselves live in Rust (``native/src/storage``); this module only converts."""
import json
import os
import shutil
import tempfile
import weakref
from ctypes import byref, c_int32, c_size_t, c_uint64, c_void_p
from urllib.parse import urlparse

from petastorm import _native


def flatten_options(storage_options):
    """``storage_options`` as a flat dict of strings: nested dicts (s3fs's ``client_kwargs``,
    ``config_kwargs``) become dotted keys (``client_kwargs.endpoint_url``), booleans ``'true'``/``'false'``."""
    flat = {}

    def walk(prefix, value):
        if isinstance(value, dict):
            for k, v in value.items():
                walk('{}{}.'.format(prefix, k), v)
            return
        key = prefix[:-1]
        if value is None:
            return
        flat[key] = str(value).lower() if isinstance(value, bool) else str(value)

    if storage_options is None:
        return {}
    if not isinstance(storage_options, dict):
        raise TypeError('storage_options must be a dict, got {!r}'.format(type(storage_options).__name__))
    walk('', storage_options)
    return flat


def options_json(storage_options):
    """``storage_options`` as the C ABI takes them (a JSON object of strings, UTF-8)."""
    return _native._c_str(json.dumps(flatten_options(storage_options)))


def existing_dir_url(path_or_url):
    """An existing directory given by URL or plain path, as the converters name it (a plain path becomes
    an absolute ``file://`` URL)."""
    return _native._bytes_result('storage_existing_dir_url', _native._c_str(path_or_url)).decode('utf-8')


def normalize_dir_url(url):
    """A directory URL as the converters name it: no trailing ``/``, ``file:///x`` for local forms."""
    return _native._bytes_result('storage_normalize_dir_url', _native._c_str(url)).decode('utf-8')


def delete(url, storage_options=None):
    """Deletes the directory (or file) at ``url`` recursively; ``True`` when something was there."""
    deleted = c_int32()
    _native._call('storage_delete', _native._c_str(url), options_json(storage_options), byref(deleted))
    return bool(deleted.value)


def read(url, storage_options=None):
    """The bytes at ``url``, or ``None`` when nothing is there."""
    found, out, n = c_int32(), c_void_p(), c_size_t()
    _native._call('storage_read', _native._c_str(url), options_json(storage_options), byref(found), byref(out), byref(n))
    return _native._take(_native.lib(), out, n, bytes) if found.value else None


def data_files(url, storage_options=None):
    """``[(relative path, length)]`` of the data files under the directory ``url``, sorted."""
    pairs = _native._json_result('storage_data_files', _native._c_str(url), options_json(storage_options))
    return [(rel, int(size)) for rel, size in pairs]



def footer(url, storage_options=None):
    """The footer of the Parquet file at ``url``: its last ``footer length + 8`` bytes (prefixed with
    ``b'PAR1'`` it is a footer-only Parquet file that ``pyarrow.parquet.read_metadata`` reads)."""
    return _native._bytes_result('storage_footer', _native._c_str(url), options_json(storage_options))


def prepare(url, mode, storage_options=None):
    """Applies Spark's save mode ``mode`` to the dataset at ``url``; ``False`` when there is nothing
    to write (``'ignore'`` and the dataset exists)."""
    out = c_int32()
    _native._call('dataset_prepare', _native._c_str(url), options_json(storage_options), _native._c_str(mode),
                  byref(out))
    return bool(out.value)


def part_url(url, job, partition, attempt):
    """The staging URL where task attempt ``attempt`` of ``job`` writes partition ``partition``."""
    return _native._bytes_result('dataset_part_url', _native._c_str(url), _native._c_str(job), partition,
                                 attempt).decode('utf-8')


def commit(url, job, parts, storage_options=None):
    """Moves the staged ``parts`` (``[(partition, URL)]``) of ``job`` into the dataset, adds ``_SUCCESS``."""
    _native._call('dataset_commit', _native._c_str(url), options_json(storage_options), _native._c_str(job),
                  _native._c_str(json.dumps([[p, u] for p, u in parts])))


def abort(url, job, storage_options=None):
    """Deletes the staged files of ``job``."""
    _native._call('dataset_abort', _native._c_str(url), options_json(storage_options), _native._c_str(job))


def write_common_metadata(schema_handle, url, storage_options=None):
    """Writes ``_common_metadata`` of the dataset at ``url`` (atomically) from its files' footers; returns
    the number of data files it describes."""
    files = c_uint64()
    with schema_handle.using() as ptr:
        _native._call('dataset_write_metadata', ptr, _native._c_str(url), options_json(storage_options),
                      byref(files))
    return files.value


def set_metadata(url, key, value, storage_options=None):
    """Sets ``key`` to the bytes ``value`` in the ``_common_metadata`` of the dataset at ``url``, keeping its
    schema and other keys (one is started from the data files' schema when there is none); atomic."""
    value = bytes(value)
    _native._call('dataset_set_metadata', _native._c_str(url), options_json(storage_options), _native._c_str(key),
                  value, len(value))


class Mirror(object):
    """A local copy of datasets read through a user's ``filesystem`` (``pyarrow.fs.FileSystem`` or
    fsspec): the data files and summary files of each URL, copied into a temporary directory that
    :meth:`close` removes. For stores the native layer does not reach; slower than reading natively."""

    def __init__(self, filesystem, urls):
        import pyarrow.fs as pafs
        if not isinstance(filesystem, pafs.FileSystem):
            if not hasattr(filesystem, 'open') or not hasattr(filesystem, 'find'):
                raise TypeError('filesystem must be a pyarrow.fs.FileSystem or an fsspec file system, got {!r}'
                                .format(type(filesystem).__name__))
            filesystem = pafs.PyFileSystem(pafs.FSSpecHandler(filesystem))
        self.root = tempfile.mkdtemp(prefix='petastorm-filesystem-')
        self._finalizer = weakref.finalize(self, shutil.rmtree, self.root, True)
        try:
            self.urls = [self._copy(filesystem, url, i) for i, url in enumerate(urls)]
        except BaseException:
            self.close()
            raise

    def _copy(self, filesystem, url, index):
        import pyarrow.fs as pafs
        from petastorm.fs_utils import get_dataset_path
        parsed = urlparse(url)
        source = get_dataset_path(parsed) if len(parsed.scheme) > 1 else url
        target = os.path.join(self.root, str(index))
        info = filesystem.get_file_info(source)
        if info.type == pafs.FileType.NotFound:
            raise FileNotFoundError('{} not found through {}'.format(url, type(filesystem).__name__))
        if info.type == pafs.FileType.File:
            files = [(info, os.path.basename(source))]
        else:
            found = filesystem.get_file_info(pafs.FileSelector(source, recursive=True))
            files = [(f, f.path[len(source.rstrip('/')) + 1:]) for f in found if f.type == pafs.FileType.File]
            files = [(f, rel) for f, rel in files if rel in ('_common_metadata', '_metadata') or _native.is_data_file(rel)]
        for f, rel in files:
            local = os.path.join(target, rel)
            os.makedirs(os.path.dirname(local), exist_ok=True)
            with filesystem.open_input_stream(f.path) as src, open(local, 'wb') as dst:
                shutil.copyfileobj(src, dst, 1 << 22)
        return target if info.type != pafs.FileType.File else os.path.join(target, files[0][1])

    def close(self):
        """Removes the local copy; idempotent."""
        self._finalizer()
