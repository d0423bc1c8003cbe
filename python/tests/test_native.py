"""Loading the native library and mapping its errors (no Spark)."""
import json
import os
import struct
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from petastorm import _native, errors
from petastorm.codecs import CompressedImageCodec
from petastorm.unischema import Unischema, UnischemaField


def _run(code, **env):
    full_env = dict(os.environ, **env)
    return subprocess.run([sys.executable, '-c', code], env=full_env, capture_output=True, text=True)


def test_missing_library_is_a_clear_import_error_and_import_still_works():
    code = ('import petastorm.unischema, petastorm.codecs, petastorm.etl.dataset_metadata\n'
            'from petastorm import _native\n'
            'try:\n    _native.lib()\nexcept ImportError as e:\n    print("IMPORTERROR", e)\n')
    result = _run(code, PETASTORM_NATIVE_LIB='/nonexistent/libpetastorm_native.so')
    assert result.returncode == 0, result.stderr
    assert 'IMPORTERROR' in result.stdout
    assert 'PETASTORM_NATIVE_LIB' in result.stdout and '/nonexistent/' in result.stdout


def test_env_var_wins_over_bundled_library():
    path = str(_native.library_path().resolve())
    code = 'from petastorm import _native; _native.lib(); print(_native.library_path())'
    result = _run(code, PETASTORM_NATIVE_LIB=path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == path


def test_reading_modules_do_not_import_pyspark():
    code = ('import sys, petastorm.unischema, petastorm.codecs, petastorm.etl.dataset_metadata\n'
            'print("pyspark" in sys.modules)')
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == 'False'


def test_error_table_maps_every_code_to_its_named_class():
    _native.lib()
    out, n = _native.c_void_p(), _native.c_size_t()
    assert _native.lib().pst_error_table(_native.byref(out), _native.byref(n)) == 0
    table = json.loads(_native._take(_native.lib(), out, n, bytes))
    expected = {'ValueError': ValueError, 'TypeError': TypeError, 'OSError': OSError,
                'PetastormMetadataError': errors.PetastormMetadataError,
                'DecodeFieldError': errors.DecodeFieldError,
                'NoDataAvailableError': errors.NoDataAvailableError,
                'PetastormInternalError': errors.PetastormInternalError}
    assert {row['python'] for row in table} == set(expected)
    assert len({row['code'] for row in table}) == len(table)
    for row in table:
        assert _native._state['errors'][row['code']] is expected[row['python']]


def test_exception_hierarchy_keeps_builtin_bases():
    assert issubclass(errors.PetastormMetadataError, ValueError)
    assert issubclass(errors.DecodeFieldError, RuntimeError)  # upstream's base, caught so by user code
    assert issubclass(errors.DecodeFieldError, ValueError)
    assert issubclass(errors.NoDataAvailableError, ValueError)
    assert issubclass(errors.PetastormInternalError, RuntimeError)
    from petastorm.etl.dataset_metadata import PetastormMetadataError
    from petastorm.utils import DecodeFieldError
    from petastorm.codecs import DecodeFieldError as CodecsDecodeFieldError
    assert PetastormMetadataError is errors.PetastormMetadataError
    assert DecodeFieldError is CodecsDecodeFieldError is errors.DecodeFieldError


def test_native_errors_raise_mapped_classes():
    with pytest.raises(errors.PetastormMetadataError):
        _native.schema_from_metadata(b'not a parquet file at all')
    with pytest.raises(ValueError):
        _native.SchemaHandle('{"name": "x", "fields": [{"name": "a"}]}')
    with pytest.raises(ValueError):
        _native.SchemaHandle('not json')


def test_schema_handle_close_is_idempotent():
    handle = _native.SchemaHandle('{"name": "s", "fields": []}')
    assert json.loads(handle.to_json())['name'] == 's'
    handle.close()
    handle.close()
    with pytest.raises(ValueError):
        handle.to_json()
    with _native.SchemaHandle('{"name": "t", "fields": []}') as other:
        assert json.loads(other.to_json())['name'] == 't'


def _close_during_a_call(handle, call):
    """Runs ``call`` (a native call on ``handle`` taking about a second) on a thread and closes
    ``handle`` from this one while it runs; returns the call's result after checking that ``close``
    started during the call and returned only after it."""
    started, times, result = threading.Event(), {}, []

    def worker():
        started.set()
        result.append(call())
        times['call returned'] = time.monotonic()

    thread = threading.Thread(target=worker)
    thread.start()
    started.wait()
    time.sleep(0.2)  # the call is in native code by now
    times['close started'] = time.monotonic()
    handle.close()
    times['close returned'] = time.monotonic()
    thread.join()
    assert times['close started'] < times['call returned'] <= times['close returned'], times
    return result[0]


_IMAGE_SCHEMA = Unischema('s', [UnischemaField('img', np.uint8, (None, None, 3), CompressedImageCodec('png'), False)])


@pytest.fixture(scope='module')
def big_image():
    """An image whose PNG encoding takes about a second."""
    return np.random.RandomState(0).randint(0, 255, (6000, 6000, 3), dtype=np.uint8)


def test_closing_a_schema_handle_waits_for_a_call_in_flight(big_image):
    handle = _native.SchemaHandle(_IMAGE_SCHEMA.to_json())
    cell = _close_during_a_call(
        handle, lambda: handle.encode_cell(0, '|u1', big_image.shape, False, big_image.ctypes.data, big_image.nbytes))
    assert bytes(cell[:8]) == b'\x89PNG\r\n\x1a\n'
    with pytest.raises(ValueError, match='schema handle is closed'):
        handle.to_json()


def test_closing_a_writer_handle_waits_for_a_call_in_flight(tmp_path, big_image):
    schema = _native.SchemaHandle(_IMAGE_SCHEMA.to_json())
    writer = _native.NativeWriter(schema, (tmp_path / 'part.parquet').as_uri(), 1 << 20, 'none')
    _close_during_a_call(
        writer, lambda: writer.put_array(0, '|u1', big_image.shape, False, big_image.ctypes.data, big_image.nbytes))
    with pytest.raises(ValueError, match='writer handle is closed'):
        writer.end_row()


def test_writer_hadoop_conf():
    conf = _native.writer_hadoop_conf(256)
    assert conf['parquet.block.size'] == str(256 * 1024 * 1024)
    assert all(isinstance(v, str) for v in conf.values())
    assert 'parquet.block.size' not in _native.writer_hadoop_conf(0)


def test_parquet_footer_len(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    path = tmp_path / 'f.parquet'
    pq.write_table(pa.table({'a': np.arange(10)}), path)
    data = path.read_bytes()
    assert _native.parquet_footer_len(data[-8:]) == struct.unpack('<I', data[-8:-4])[0]
    with pytest.raises(ValueError):
        _native.parquet_footer_len(b'\0\0\0\0NOPE')
