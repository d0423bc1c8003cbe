"""ctypes binding of the C ABI of ``libpetastorm_native.so`` (see ``docs/ffi.md``).

This module only converts types, owns handle lifetimes and maps errors; all logic is in
Rust. The library is found through ``$PETASTORM_NATIVE_LIB``, else
``petastorm/_lib/libpetastorm_native.so``, and loaded on first use, so importing
petastorm never fails for lack of it. ctypes releases the GIL around every call.

Errors: each function returns a status code; a non-zero code is looked up in the table
the library itself publishes (``pst_error_table``) to pick the Python class by name.
Messages are never inspected.
"""
import builtins
import contextlib
import ctypes
import json
import os
import threading
import weakref
from ctypes import POINTER, byref, c_char_p, c_double, c_int32, c_int64, c_size_t, c_uint32, c_uint64, c_void_p
from pathlib import Path

import numpy as np

from petastorm import _log, errors

ENV_VAR = 'PETASTORM_NATIVE_LIB'
_BUNDLED = Path(__file__).resolve().parent / '_lib' / 'libpetastorm_native.so'

_OUT_BYTES = [POINTER(c_void_p), POINTER(c_size_t)]
# name -> (restype, argtypes); functions returning int32 are status-checked by _call.
_SIGNATURES = {
    'pst_last_error': (c_char_p, []),
    'pst_bytes_free': (None, [c_void_p, c_size_t]),
    'pst_error_table': (c_int32, _OUT_BYTES),
    'pst_schema_parse': (c_int32, [c_char_p, POINTER(c_void_p)]),
    'pst_schema_free': (None, [c_void_p]),
    'pst_schema_to_json': (c_int32, [c_void_p] + _OUT_BYTES),
    'pst_schema_spark_json': (c_int32, [c_void_p] + _OUT_BYTES),
    'pst_schema_pickle': (c_int32, [c_void_p] + _OUT_BYTES),
    'pst_schema_match_fields': (c_int32, [c_void_p, c_char_p] + _OUT_BYTES),
    'pst_validate_row': (c_int32, [c_void_p, c_char_p]),
    'pst_encode_cell': (c_int32, [c_void_p, c_size_t, c_char_p, POINTER(c_int64), c_size_t, c_int32,
                                  c_void_p, c_size_t] + _OUT_BYTES),
    'pst_decode_cell': (c_int32, [c_void_p, c_size_t, c_void_p, c_size_t, POINTER(c_void_p)]),
    'pst_array_info': (c_int32, [c_void_p, POINTER(c_char_p), POINTER(POINTER(c_int64)), POINTER(c_size_t),
                                 POINTER(c_void_p), POINTER(c_size_t)]),
    'pst_array_free': (None, [c_void_p]),
    'pst_writer_hadoop_conf': (c_int32, [c_int64] + _OUT_BYTES),
    'pst_parquet_footer_len': (c_int32, [c_char_p, POINTER(c_uint64)]),
    'pst_is_data_file': (c_int32, [c_char_p, POINTER(c_int32)]),
    'pst_cache_key': (c_int32, [c_char_p] + _OUT_BYTES),
    'pst_converter_dir_name': (c_int32, [c_char_p] + _OUT_BYTES),
    'pst_converter_check_delete': (c_int32, [c_char_p, c_char_p]),
    'pst_converter_is_dir_name': (c_int32, [c_char_p, POINTER(c_int32)]),
    'pst_converter_marker_name': (c_int32, _OUT_BYTES),
    'pst_cache_denied_class': (c_int32, [c_char_p] + _OUT_BYTES),
    'pst_cache_marker': (c_int32, [c_char_p, c_uint64, c_char_p] + _OUT_BYTES),
    'pst_cache_check_marker': (c_int32, [c_char_p, c_size_t, c_char_p, c_char_p, POINTER(c_int64)]),
    'pst_common_metadata': (c_int32, [c_void_p, c_size_t, POINTER(c_char_p), POINTER(c_char_p),
                                      POINTER(c_size_t)] + _OUT_BYTES),
    'pst_schema_from_metadata': (c_int32, [c_char_p, c_size_t] + _OUT_BYTES),
    'pst_metadata_value': (c_int32, [c_char_p, c_size_t, c_char_p, POINTER(c_int32)] + _OUT_BYTES),
    'pst_schema_from_arrow': (c_int32, [c_void_p, c_char_p] + _OUT_BYTES),
    'pst_writer_unsupported': (c_int32, [c_void_p] + _OUT_BYTES),
    'pst_writer_open': (c_int32, [c_void_p, c_char_p, c_char_p, c_uint64, c_char_p, POINTER(c_void_p)]),
    'pst_writer_put_null': (c_int32, [c_void_p, c_size_t]),
    'pst_writer_put_bool': (c_int32, [c_void_p, c_size_t, c_int32]),
    'pst_writer_put_long': (c_int32, [c_void_p, c_size_t, c_int64]),
    'pst_writer_put_double': (c_int32, [c_void_p, c_size_t, c_double]),
    'pst_writer_put_str': (c_int32, [c_void_p, c_size_t, c_char_p, c_size_t]),
    'pst_writer_put_bytes': (c_int32, [c_void_p, c_size_t, c_char_p, c_size_t]),
    'pst_writer_put_array': (c_int32, [c_void_p, c_size_t, c_char_p, POINTER(c_int64), c_size_t, c_int32,
                                       c_void_p, c_size_t]),
    'pst_writer_end_row': (c_int32, [c_void_p]),
    'pst_writer_finish': (c_int32, [c_void_p, POINTER(c_uint64), POINTER(c_uint64)]),
    'pst_writer_free': (None, [c_void_p]),
    'pst_dataset_prepare': (c_int32, [c_char_p, c_char_p, c_char_p, POINTER(c_int32)]),
    'pst_dataset_part_url': (c_int32, [c_char_p, c_char_p, c_uint32, c_uint64] + _OUT_BYTES),
    'pst_dataset_commit': (c_int32, [c_char_p, c_char_p, c_char_p, c_char_p]),
    'pst_dataset_abort': (c_int32, [c_char_p, c_char_p, c_char_p]),
    'pst_dataset_write_metadata': (c_int32, [c_void_p, c_char_p, c_char_p, POINTER(c_uint64)]),
    'pst_dataset_set_metadata': (c_int32, [c_char_p, c_char_p, c_char_p, c_char_p, c_size_t]),
    'pst_storage_normalize_dir_url': (c_int32, [c_char_p] + _OUT_BYTES),
    'pst_storage_existing_dir_url': (c_int32, [c_char_p] + _OUT_BYTES),
    'pst_storage_delete': (c_int32, [c_char_p, c_char_p, POINTER(c_int32)]),
    'pst_storage_read': (c_int32, [c_char_p, c_char_p, POINTER(c_int32)] + _OUT_BYTES),
    'pst_storage_data_files': (c_int32, [c_char_p, c_char_p] + _OUT_BYTES),
    'pst_storage_footer': (c_int32, [c_char_p, c_char_p] + _OUT_BYTES),
    'pst_log_set_level': (c_int32, [c_int32]),
    'pst_log_wait': (c_int32, [c_uint64, POINTER(c_int32)]),
    'pst_log_next': (c_int32, [c_uint64] + _OUT_BYTES),
}
# The reader functions; a library built without them still loads (see ``_reader_api``).
_READER_SIGNATURES = {
    'pst_reader_open': (c_int32, [c_char_p, POINTER(c_void_p)]),
    'pst_reader_schema': (c_int32, [c_void_p] + _OUT_BYTES),
    'pst_reader_batch_schema': (c_int32, [c_void_p] + _OUT_BYTES),
    'pst_reader_info': (c_int32, [c_void_p] + _OUT_BYTES),
    'pst_reader_next': (c_int32, [c_void_p, c_void_p, c_void_p, POINTER(c_int32)]),
    'pst_reader_stop': (c_int32, [c_void_p]),
    'pst_reader_reset': (c_int32, [c_void_p]),
    'pst_reader_free': (None, [c_void_p]),
    'pst_dataset_schema': (c_int32, [c_char_p, c_char_p] + _OUT_BYTES),
    'pst_dataset_pieces': (c_int32, [c_char_p, c_char_p] + _OUT_BYTES),
}

_lock = threading.Lock()
_state = {}  # 'lib': the CDLL, 'errors': {code: exception class}


def library_path():
    """The path the library is loaded from: ``$PETASTORM_NATIVE_LIB``, else the bundled one."""
    return Path(os.environ[ENV_VAR]) if os.environ.get(ENV_VAR) else _BUNDLED


def lib():
    """The loaded library with every ``pst_*`` signature declared (loaded once per process)."""
    loaded = _state.get('lib')
    if loaded is not None:
        return loaded
    with _lock:
        if 'lib' not in _state:
            path = library_path()
            if not path.is_file():
                raise ImportError(
                    'petastorm: native library not found at {} (set ${} to the path of '
                    'libpetastorm_native.so, or install a petastorm build that bundles it in '
                    'petastorm/_lib/)'.format(path, ENV_VAR))
            try:
                cdll = ctypes.CDLL(str(path))
                for name, (restype, argtypes) in _SIGNATURES.items():
                    func = getattr(cdll, name)
                    func.restype, func.argtypes = restype, argtypes
                for name, (restype, argtypes) in _READER_SIGNATURES.items():
                    if hasattr(cdll, name):
                        func = getattr(cdll, name)
                        func.restype, func.argtypes = restype, argtypes
            except (OSError, AttributeError) as e:
                raise ImportError('petastorm: cannot load native library {}: {}'.format(path, e)) from e
            _state['errors'] = _load_error_table(cdll)
            _state['lib'] = cdll
            _log.ensure_started()
    return _state['lib']


def _load_error_table(cdll):
    """Maps each C status code to the Python class the native table names."""
    out, n = c_void_p(), c_size_t()
    if cdll.pst_error_table(byref(out), byref(n)) != 0:
        raise ImportError('petastorm: pst_error_table failed: {}'.format(_last_error(cdll)))
    table = json.loads(_take(cdll, out, n, bytes))
    by_name = {name: getattr(errors, name, None) or getattr(builtins, name, None)
               for name in {row['python'] for row in table}}
    return {row['code']: by_name[row['python']] or errors.PetastormInternalError for row in table}


def _last_error(cdll):
    msg = cdll.pst_last_error()
    return msg.decode('utf-8', 'replace') if msg else 'unknown native error'


def _call(name, *args):
    """Calls ``pst_<name>`` and raises the mapped exception on a non-zero status."""
    cdll = lib()
    status = getattr(cdll, 'pst_' + name)(*args)
    if status != 0:
        cls = _state['errors'].get(status, errors.PetastormInternalError)
        raise cls(_last_error(cdll))


def _take(cdll, out, n, kind):
    """Copies a native byte result into a new ``bytes``/``bytearray`` and frees it."""
    if not out.value:
        return kind()
    try:
        buf = bytearray(n.value)
        if n.value:
            ctypes.memmove((ctypes.c_char * n.value).from_buffer(buf), out.value, n.value)
        return buf if kind is bytearray else bytes(buf)
    finally:
        cdll.pst_bytes_free(out, n)


def _bytes_result(name, *args, kind=bytes):
    """Calls a function whose last two parameters are ``uint8_t **out, size_t *out_len``."""
    out, n = c_void_p(), c_size_t()
    _call(name, *args, byref(out), byref(n))
    return _take(lib(), out, n, kind)


def _json_result(name, *args):
    return json.loads(_bytes_result(name, *args).decode('utf-8'))


def _c_str(text):
    return text.encode('utf-8')


def _dims(shape):
    """A shape as the C ``int64_t`` array the ABI takes (one element at least, so it is never NULL)."""
    return (c_int64 * max(len(shape), 1))(*shape)


class _OwnedHandle(object):
    """Owns one native handle, freed by ``pst_<kind>_free`` from a finalizer or :meth:`close`
    (idempotent; also on leaving a ``with`` block).

    Every call that passes the pointer holds ``_call_lock`` for the call (:meth:`using`), and
    :meth:`close` takes it too, so closing from another thread waits for calls in flight instead of
    freeing memory they use; a call after ``close`` raises ``_CLOSED_ERROR``."""

    __slots__ = ('_ptr', '_finalizer', '_call_lock', '__weakref__')
    _KIND = None  # 'schema', 'writer', 'reader': the C functions' prefix
    _CLOSED_ERROR = ValueError

    def _own(self, open_name, *args):
        ptr = c_void_p()
        _call(open_name, *(args + (byref(ptr),)))
        self._ptr = ptr.value
        self._finalizer = weakref.finalize(self, getattr(lib(), 'pst_{}_free'.format(self._KIND)), ptr.value)
        self._call_lock = threading.RLock()  # re-entrant: a signal handler may close during a call

    @property
    def closed(self):
        return not self._finalizer.alive

    @contextlib.contextmanager
    def using(self):
        """The live pointer, with the handle kept open until the block ends."""
        with self._call_lock:
            if not self._finalizer.alive:
                raise self._CLOSED_ERROR('the native {} handle is closed'.format(self._KIND))
            yield self._ptr

    def _with(self, call, name, *args, **kwargs):
        """``call(name, pointer, *args)`` with the handle kept open during the call."""
        with self.using() as ptr:
            return call(name, ptr, *args, **kwargs)

    def close(self):
        """Frees the native object once no call uses it; idempotent."""
        with self._call_lock:
            self._finalizer()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class SchemaHandle(_OwnedHandle):
    """Owns one native schema (``pst_schema_parse``)."""

    __slots__ = ()
    _KIND = 'schema'

    def __init__(self, unischema_json):
        self._own('schema_parse', _c_str(unischema_json))

    def to_json(self):
        return self._with(_bytes_result, 'schema_to_json').decode('utf-8')

    def spark_json(self):
        return self._with(_bytes_result, 'schema_spark_json').decode('utf-8')

    def pickle(self):
        return self._with(_bytes_result, 'schema_pickle')

    def match_fields(self, patterns):
        return self._with(_json_result, 'schema_match_fields', _c_str(json.dumps(list(patterns))))

    def validate_row(self, present, none):
        self._with(_call, 'validate_row', _c_str(json.dumps({'present': list(present), 'none': list(none)})))

    def encode_cell(self, index, dtype, shape, fortran, data_ptr, data_len):
        """Encodes one cell; returns a ``bytearray`` (empty for scalar and codec-less fields)."""
        return self._with(_bytes_result, 'encode_cell', index, _c_str(dtype), _dims(shape), len(shape),
                             int(bool(fortran)), data_ptr, data_len, kind=bytearray)

    def decode_cell(self, index, cell):
        """Decodes one binary cell into a new, writable C-ordered ``np.ndarray``."""
        raw = np.frombuffer(cell, dtype=np.uint8)
        cdll = lib()
        array = c_void_p()
        self._with(_call, 'decode_cell', index, raw.ctypes.data, raw.nbytes, byref(array))
        try:
            dtype, shape, ndim = c_char_p(), POINTER(c_int64)(), c_size_t()
            data, data_len = c_void_p(), c_size_t()
            _call('array_info', array, byref(dtype), byref(shape), byref(ndim), byref(data), byref(data_len))
            result = np.empty(tuple(shape[i] for i in range(ndim.value)), dtype=np.dtype(dtype.value.decode()))
            if result.nbytes != data_len.value:
                raise errors.PetastormInternalError('decoded array has {} bytes, expected {}'.format(
                    data_len.value, result.nbytes))
            if data_len.value:
                ctypes.memmove(result.ctypes.data, data, data_len.value)
            return result
        finally:
            cdll.pst_array_free(array)

    def writer_unsupported(self):
        """Why the native Parquet writer cannot write this schema (a date, timestamp or decimal field),
        or ``None`` when it can."""
        return self._with(_bytes_result, 'writer_unsupported').decode('utf-8') or None

    def common_metadata(self, rel_paths, footers):
        """The bytes of ``_common_metadata`` for data files and their footer tails."""
        n = len(rel_paths)
        paths = (c_char_p * n)(*[_c_str(p) for p in rel_paths])
        tails = (c_char_p * n)(*[bytes(f) for f in footers])
        lens = (c_size_t * n)(*[len(f) for f in footers])
        return self._with(_bytes_result, 'common_metadata', n, paths, tails, lens)


def writer_hadoop_conf(row_group_size_mb):
    """Hadoop settings for the duration of ``materialize_dataset`` (``{key: str value}``)."""
    return _json_result('writer_hadoop_conf', int(row_group_size_mb or 0))


def is_data_file(rel_path):
    """Whether a file at ``rel_path`` (relative to its dataset) holds dataset rows (the reader's rule)."""
    out = c_int32()
    _call('is_data_file', _c_str(rel_path), byref(out))
    return bool(out.value)


def cache_key(inputs):
    """The persistent converter-cache key (hex) of its inputs (a dict, see ``spark._persistent``)."""
    return _bytes_result('cache_key', _c_str(json.dumps(inputs))).decode('ascii')


def converter_dir_name(app_id):
    """The name of a new converter cache directory for Spark application ``app_id``."""
    return _bytes_result('converter_dir_name', _c_str(app_id)).decode('utf-8')


def converter_check_delete(url, parent):
    """``ValueError`` unless ``url`` is a converter directory directly under ``parent`` (``None``: unknown)."""
    _call('converter_check_delete', _c_str(url), None if parent is None else _c_str(parent))


def is_converter_dir_name(name):
    """Whether ``name`` is a converter cache directory name."""
    out = c_int32()
    _call('converter_is_dir_name', _c_str(name), byref(out))
    return bool(out.value)


def converter_marker_name():
    """The persistent cache's marker file name."""
    return _bytes_result('converter_marker_name').decode('utf-8')


def cache_denied_class(plan_json):
    """The simple name of a class that keeps a plan (its ``toJSON``) out of the cache, or ``''``."""
    return _bytes_result('cache_denied_class', _c_str(plan_json)).decode('utf-8')


def cache_marker(key, rows, files):
    """A cache marker's bytes for ``rows`` rows in ``files`` (``[(relative path, length)]``)."""
    return _bytes_result('cache_marker', _c_str(key), int(rows), _c_str(json.dumps([list(f) for f in files])))


def cache_check_marker(marker, key, files):
    """The row count of a reusable cache directory (its marker's bytes, the data files present as
    ``[(relative path, length)]``), or -1 when the marker is not for ``key`` or the files differ."""
    marker = bytes(marker)
    out = c_int64()
    _call('cache_check_marker', marker, len(marker), _c_str(key), _c_str(json.dumps([list(f) for f in files])),
          byref(out))
    return out.value


def parquet_footer_len(tail8):
    """The footer length a Parquet file's last 8 bytes announce."""
    out = c_uint64()
    _call('parquet_footer_len', bytes(tail8), byref(out))
    return out.value


def schema_from_arrow(arrow_schema, partition_keys=()):
    """The Unischema JSON inferred from a ``pyarrow.Schema`` (plus Hive partition keys as ``str`` fields)."""
    struct = ctypes.create_string_buffer(_ARROW_SCHEMA_SIZE)
    arrow_schema._export_to_c(ctypes.addressof(struct))
    return _bytes_result('schema_from_arrow', ctypes.addressof(struct),
                         _c_str(json.dumps(list(partition_keys)))).decode('utf-8')


def schema_from_metadata(file_bytes):
    """The Unischema JSON stored in the bytes of a whole ``_common_metadata`` file."""
    data = bytes(file_bytes)
    return _bytes_result('schema_from_metadata', data, len(data)).decode('utf-8')


def metadata_value(file_bytes, key):
    """The value (bytes) of ``key`` in the key/value metadata of a whole Parquet file, or ``None``."""
    data = bytes(file_bytes)
    found, out, n = c_int32(), c_void_p(), c_size_t()
    _call('metadata_value', data, len(data), _c_str(key), byref(found), byref(out), byref(n))
    return _take(lib(), out, n, bytes) if found.value else None


# ---------------------------------------------------------------------------------------------
# Part files written by Python workers (``pst_writer_*``, ``pst_dataset_*``).

class NativeWriter(_OwnedHandle):
    """Owns one native Parquet part-file writer (``pst_writer_open``) writing a new file at a URL of any
    store (``options_json``: the store options, see :func:`petastorm._storage.options_json`).

    Put the cells of a row by field index (:meth:`put`, :meth:`put_array`), :meth:`end_row`, and
    :meth:`finish` at the end. :meth:`close` (also leaving a ``with`` block, or a finalizer) frees
    the writer, finished or not; it is idempotent. An unfinished local file is left (the commit protocol
    removes staging files); an unfinished upload is aborted."""

    __slots__ = ()
    _KIND = 'writer'

    def __init__(self, schema_handle, url, row_group_bytes, compression, options_json=None):
        _log.ensure_started()
        with schema_handle.using() as schema_ptr:
            self._own('writer_open', schema_ptr, _c_str(url), options_json, int(row_group_bytes),
                      _c_str(compression))

    def put(self, index, value):
        """Puts a scalar into field ``index`` of the current row: ``None``, ``bool``, ``int``, ``float``,
        ``str`` or ``bytes`` (the column's type decides which it takes)."""
        if value is None:
            self._with(_call, 'writer_put_null', index)
        elif isinstance(value, bool):
            self._with(_call, 'writer_put_bool', index, int(value))
        elif isinstance(value, int):
            self._with(_call, 'writer_put_long', index, value)
        elif isinstance(value, float):
            self._with(_call, 'writer_put_double', index, value)
        elif isinstance(value, str):
            data = value.encode('utf-8')
            self._with(_call, 'writer_put_str', index, data, len(data))
        elif isinstance(value, (bytes, bytearray)):
            data = bytes(value)
            self._with(_call, 'writer_put_bytes', index, data, len(data))
        else:
            raise TypeError('field #{}: the native writer cannot write a {} value'.format(index, type(value).__name__))

    def put_array(self, index, dtype, shape, fortran, data_ptr, data_len):
        """Encodes an array for codec field ``index`` (as :meth:`SchemaHandle.encode_cell`) and puts the cell."""
        self._with(_call, 'writer_put_array', index, _c_str(dtype), _dims(shape), len(shape), int(bool(fortran)),
              data_ptr, data_len)

    def end_row(self):
        """Ends the current row (fields not put are null)."""
        self._with(_call, 'writer_end_row')

    def finish(self):
        """Writes the rest of the file and its footer; returns ``(rows, row_groups)``."""
        rows, row_groups = c_uint64(), c_uint64()
        self._with(_call, 'writer_finish', byref(rows), byref(row_groups))
        return rows.value, row_groups.value


# ---------------------------------------------------------------------------------------------
# Reader (``pst_reader_*``): batches cross as Arrow C Data structs allocated here.

_ARROW_ARRAY_SIZE = 80   # sizeof(struct ArrowArray)
_ARROW_SCHEMA_SIZE = 72  # sizeof(struct ArrowSchema)


def _reader_api():
    """The library, after checking that it exports the reader functions."""
    cdll = lib()
    missing = [name for name in _READER_SIGNATURES if not hasattr(cdll, name)]
    if missing:
        raise NotImplementedError('petastorm: the native library {} was built without the reader ({} missing)'
                                  .format(library_path(), ', '.join(missing)))
    return cdll


def dataset_schema(url, storage_options=None):
    """The Unischema JSON of a dataset (stored metadata, legacy pickle, or inferred from Parquet)."""
    _reader_api()
    return _bytes_result('dataset_schema', _c_str(url), _c_str(json.dumps(storage_options or {}))).decode('utf-8')


def dataset_pieces(url, storage_options=None):
    """``[(relative path, row groups)]`` of a dataset's data files in the order the reader numbers row
    groups (upstream's pieces: files by path, then row groups)."""
    _reader_api()
    pieces = _json_result('dataset_pieces', _c_str(url), _c_str(json.dumps(storage_options or {})))
    return [(rel, int(count)) for rel, count in pieces]


def _json_scalar(value):
    """An option value JSON has no form for: a NumPy scalar as the Python value it holds, anything
    else as its ``repr`` (which the native checks then reject, naming the option)."""
    return value.item() if isinstance(value, np.generic) else repr(value)


class ReaderHandle(_OwnedHandle):
    """Owns one native reader (``pst_reader_open``); freed by :meth:`close` or a finalizer.

    ``next_batch`` blocks without the GIL (ctypes releases it). ``stop`` may be called from any
    thread while another one waits in ``next_batch``; ``close`` waits for that call to return."""

    __slots__ = ('_state_lock', '_array', '_schema')
    _KIND = 'reader'
    _CLOSED_ERROR = RuntimeError

    def __init__(self, options):
        _reader_api()
        _log.ensure_started()
        self._own('reader_open', _c_str(json.dumps(options, default=_json_scalar)))
        self._state_lock = threading.Lock()  # held during stop/free (never while blocking)
        self._array = ctypes.create_string_buffer(_ARROW_ARRAY_SIZE)
        self._schema = ctypes.create_string_buffer(_ARROW_SCHEMA_SIZE)

    def schema_json(self):
        """Unischema JSON of the schema view (the fields the reader yields)."""
        return self._with(_bytes_result, 'reader_schema').decode('utf-8')

    def batch_schema_json(self):
        """Unischema JSON of each batch's columns (the view's, then the ``predicate_fields`` it lacks)."""
        return self._with(_bytes_result, 'reader_batch_schema').decode('utf-8')

    def info(self):
        """``{"row_groups": n, "files": [...], "rows": n}`` of the plan."""
        return self._with(_json_result, 'reader_info')

    def next_batch(self):
        """The next ``pyarrow.RecordBatch``, or ``None`` at the end of the data."""
        import pyarrow as pa
        with self.using() as ptr:
            eof = c_int32(0)
            array_addr, schema_addr = ctypes.addressof(self._array), ctypes.addressof(self._schema)
            _call('reader_next', ptr, array_addr, schema_addr, byref(eof))
            if eof.value:
                return None
            return pa.RecordBatch._import_from_c(array_addr, schema_addr)

    def stop(self):
        """Asks the pipeline to stop (prompt; later ``next_batch`` calls return ``None``); idempotent.
        Takes only ``_state_lock``, so it does not wait for a ``next_batch`` in flight."""
        with self._state_lock:
            if self._finalizer.alive:
                _call('reader_stop', self._ptr)

    def reset(self):
        """Restarts the same plan (after the last batch)."""
        self._with(_call, 'reader_reset')

    def close(self):
        """Stops and frees the reader once no call uses it; idempotent."""
        self.stop()
        with self._call_lock, self._state_lock:
            self._finalizer()
        _log.flush()
