"""Conversion of decoded Arrow batches (the layout of docs/ffi.md, built here with pyarrow) to NumPy."""
import datetime
import decimal

import numpy as np
import pyarrow as pa
import pytest

from _reader_helpers import time_limit  # noqa: F401  (autouse)
from petastorm import _arrow


def fixed_tensor(values, shape, mask=None, value_type=None):
    flat = np.asarray(values).ravel()
    size = int(np.prod(shape))
    arrow_type = value_type or pa.from_numpy_dtype(flat.dtype)
    storage = pa.FixedSizeListArray.from_arrays(pa.array(flat, arrow_type), size,
                                                mask=None if mask is None else pa.array(mask))
    return pa.ExtensionArray.from_storage(pa.fixed_shape_tensor(arrow_type, shape), storage)


def variable_tensor(rows, ndim, value_type):
    data = pa.array([None if r is None else np.asarray(r).ravel().tolist() for r in rows], pa.list_(value_type))
    shape = pa.array([None if r is None else list(np.shape(r)) for r in rows], pa.list_(pa.int32(), ndim))
    return pa.StructArray.from_arrays([data, shape], names=['data', 'shape'],
                                      mask=pa.array([r is None for r in rows]))


def test_fixed_tensor_rows_are_zero_copy_views():
    images = np.arange(5 * 4 * 3, dtype=np.uint8).reshape(5, 4, 3)
    col = fixed_tensor(images, (4, 3))
    rows = _arrow.rows_column(col, np.uint8)
    assert isinstance(rows, np.ndarray) and rows.shape == (5, 4, 3) and rows.dtype == np.uint8
    np.testing.assert_array_equal(rows, images)
    assert np.shares_memory(rows, np.frombuffer(col.storage.values.buffers()[1], dtype=np.uint8))
    np.testing.assert_array_equal(_arrow.batch_column(col, np.uint8), images)


def test_fixed_tensor_slice_and_nulls():
    images = np.arange(4 * 6, dtype=np.float32).reshape(4, 2, 3)
    col = fixed_tensor(images, (2, 3), mask=[False, True, False, False])
    rows = _arrow.rows_column(col, np.float32)
    assert rows[1] is None
    np.testing.assert_array_equal(rows[2], images[2])
    sliced = _arrow.rows_column(col.slice(2, 2), np.float32)
    np.testing.assert_array_equal(np.stack(sliced), images[2:])
    batch = _arrow.batch_column(col, np.float32)
    assert batch.dtype == object and batch[1] is None and batch[3].shape == (2, 3)


def test_fixed_tensor_cast_to_field_dtype():
    col = fixed_tensor(np.arange(6, dtype=np.int16), (3,))
    rows = _arrow.rows_column(col, np.uint8)
    assert rows.dtype == np.uint8 and rows.shape == (2, 3)


def test_string_and_bytes_tensors():
    col = fixed_tensor(np.array(['a', 'bb', 'ccc', 'd'], dtype=object), (2,), value_type=pa.string())
    rows = _arrow.rows_column(col, np.str_)
    assert rows.dtype.kind == 'U' and rows.tolist() == [['a', 'bb'], ['ccc', 'd']]
    var = variable_tensor([[b'x', b'yy'], [], None], 1, pa.binary())
    rows = _arrow.rows_column(var, np.bytes_)
    assert rows[0].dtype.kind == 'S' and rows[0].tolist() == [b'x', b'yy']
    assert rows[1].shape == (0,) and rows[2] is None


def test_variable_shape_tensor_rows():
    rows_in = [np.arange(6, dtype=np.int32).reshape(2, 3), np.arange(3, dtype=np.int32).reshape(1, 3),
               None, np.zeros((0, 3), dtype=np.int32)]
    col = variable_tensor(rows_in, 2, pa.int32())
    rows = _arrow.rows_column(col, np.int32)
    assert isinstance(rows, list) and rows[2] is None
    for got, want in zip(rows, rows_in):
        if want is not None:
            assert got.shape == want.shape and got.dtype == np.int32
            np.testing.assert_array_equal(got, want)
    sliced = _arrow.rows_column(col.slice(1, 2), np.int32)
    np.testing.assert_array_equal(sliced[0], rows_in[1])
    assert sliced[1] is None
    batch = _arrow.batch_column(col, np.int32)
    assert batch.dtype == object and batch.shape == (4,)


def test_variable_shape_tensor_of_one_shape_stacks():
    rows_in = [np.full((2, 2), i, dtype=np.float64) for i in range(3)]
    col = variable_tensor(rows_in, 2, pa.float64())
    rows = _arrow.rows_column(col, np.float64)
    assert isinstance(rows, np.ndarray) and rows.shape == (3, 2, 2)
    np.testing.assert_array_equal(rows, np.stack(rows_in))


def test_scalars_keep_dtype_and_nulls():
    ints = pa.array([1, None, 3], pa.int16())
    rows = _arrow.rows_column(ints, np.int32)
    assert rows[1] is None and type(rows[0]) is np.int32 and rows[2] == 3
    plain = _arrow.rows_column(pa.array([1, 2], pa.int16()), np.uint8)
    assert plain.dtype == np.uint8 and type(plain[0]) is np.uint8
    batch = _arrow.batch_column(ints, np.int32)
    assert batch.dtype == np.float64 and np.isnan(batch[1])
    assert _arrow.batch_column(pa.array([1, 2], pa.int64()), np.int64).dtype == np.int64


def test_strings_decimals_dates_timestamps():
    strings = pa.array(['a', None, 'ccc'])
    rows = _arrow.rows_column(strings, np.str_)
    assert rows[0] == 'a' and type(rows[0]) is str and rows[1] is None
    assert _arrow.batch_column(pa.array(['a', 'bb']), np.str_).dtype.kind == 'U'
    assert _arrow.batch_column(strings, np.str_).dtype == object
    decimals = pa.array([decimal.Decimal('1.50'), None], pa.decimal128(5, 2))
    rows = _arrow.rows_column(decimals, decimal.Decimal)
    assert rows[0] == decimal.Decimal('1.50') and isinstance(rows[0], decimal.Decimal) and rows[1] is None
    dates = pa.array([datetime.date(2020, 1, 2), None])
    rows = _arrow.rows_column(dates, np.int32)
    assert rows[0] == np.datetime64('2020-01-02') and rows[1] is None
    assert _arrow.batch_column(dates, np.int32).dtype == np.dtype('datetime64[D]')
    stamps = pa.array([datetime.datetime(2020, 1, 2, 3, 4, 5)], pa.timestamp('us'))
    assert _arrow.rows_column(stamps, np.int64)[0] == np.datetime64('2020-01-02T03:04:05')


def test_lists_structs_and_dictionaries():
    lists = pa.array([[1, 2], [3], None, []], pa.list_(pa.int64()))
    rows = _arrow.rows_column(lists, np.int64)
    assert rows[0].tolist() == [1, 2] and rows[1].dtype == np.int64 and rows[2] is None and rows[3].size == 0
    even = pa.array([[1, 2], [3, 4]], pa.list_(pa.float32()))
    batch = _arrow.batch_column(even, np.float32)
    assert batch.shape == (2, 2) and batch.dtype == np.float32
    nested = pa.array([[[1], [2, 3]], None], pa.list_(pa.list_(pa.int32())))
    rows = _arrow.rows_column(nested, None)
    assert rows[1] is None and [list(x) for x in rows[0]] == [[1], [2, 3]]
    structs = pa.array([{'a': 1, 'b': 'x'}, None])
    rows = _arrow.rows_column(structs, None)
    assert rows[0] == {'a': 1, 'b': 'x'} and rows[1] is None
    assert _arrow.batch_column(structs, None)[0] == {'a': 1, 'b': 'x'}
    dictionary = pa.array(['x', 'y', 'x']).dictionary_encode()
    assert list(_arrow.rows_column(dictionary, np.str_)) == ['x', 'y', 'x']


def test_take_and_stack_rows():
    arr = np.arange(10).reshape(5, 2)
    np.testing.assert_array_equal(_arrow.take(arr, np.array([0, 4])), arr[[0, 4]])
    assert _arrow.take(['a', 'b', 'c'], np.array([2])) == ['c']
    assert _arrow.stack_rows([np.zeros(2), np.ones(2)]).shape == (2, 2)
    mixed = _arrow.stack_rows([np.zeros(2), None])
    assert mixed.dtype == object and mixed[1] is None
    assert _arrow.stack_rows([np.int32(1), np.int32(2)]).dtype == np.int32


@pytest.mark.parametrize('rows_per_batch', [1, 1000])
def test_rows_of_a_record_batch_zip_into_values(rows_per_batch):
    images = np.random.RandomState(0).randint(0, 255, (rows_per_batch, 28, 28)).astype(np.uint8)
    batch = pa.RecordBatch.from_arrays([pa.array(np.arange(rows_per_batch)), fixed_tensor(images, (28, 28))],
                                       names=['idx', 'image'])
    columns = [_arrow.rows_column(batch.column(0), np.int64), _arrow.rows_column(batch.column(1), np.uint8)]
    rows = list(zip(*columns))
    assert len(rows) == rows_per_batch
    assert type(rows[-1][0]) is np.int64
    np.testing.assert_array_equal(rows[-1][1], images[-1])


TO_NUMPY_CASES = [
    pa.array([1, None, 3], pa.int64()), pa.array([1, 2, 3], pa.uint8()), pa.array([1.5, None, 2.5], pa.float32()),
    pa.array([1, 2], pa.float16()), pa.array([True, None, False, True] * 5), pa.array([True, False] * 9),
    pa.array(['a', None, 'ccc', '', 'é']), pa.array(['xxx', 'yy', None], pa.large_string()),
    pa.array([b'a', None, b'bc']), pa.array([b'ab', b'cd', None], pa.binary(2)),
    pa.array([datetime.date(2020, 1, 2), None, datetime.date(1969, 12, 31)]), pa.array([1, 2], pa.date64()),
    pa.array([1, None, 3], pa.timestamp('us')), pa.array([1, 2, 3], pa.timestamp('ns', tz='UTC')),
    pa.array([1, None, 3], pa.duration('s')), pa.array([], pa.int32()), pa.array([], pa.string()),
    pa.array([None, None, None], pa.int32()),
]


@pytest.mark.parametrize('array', TO_NUMPY_CASES, ids=lambda a: str(a.type))
def test_to_numpy_reads_buffers_as_pyarrow_converts_them(array):
    """Whole arrays and slices (non-zero offsets into values, offsets and bitmaps)."""
    for part in (array, array.slice(1), array.slice(1, max(len(array) - 2, 0))):
        expected, got = part.to_numpy(zero_copy_only=False), _arrow.to_numpy(part)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        for want, have in zip(expected.tolist(), got.tolist()):
            assert want == have or (want is None and have is None) or (want != want and have != have), (want, have)


def planar_tensor(images):
    """Channel-planar storage ``[3, H, W]`` of ``(rows, H, W, 3)`` images, read back as HWC."""
    planar = np.ascontiguousarray(np.moveaxis(images, 3, 1))
    storage = pa.FixedSizeListArray.from_arrays(pa.array(planar.ravel()), int(np.prod(planar.shape[1:])))
    tensor_type = pa.fixed_shape_tensor(pa.from_numpy_dtype(images.dtype), planar.shape[1:], permutation=[1, 2, 0])
    return pa.ExtensionArray.from_storage(tensor_type, storage)


CONVERTER_CASES = [  # (array, field dtype, a view of the Arrow values buffer when read whole)
    (pa.array(np.arange(7, dtype=np.int64)), np.int64, True),
    (pa.array(np.arange(7, dtype=np.int16)), np.uint8, False),  # Spark short stored for a uint8 field
    (pa.array([1.5, None, 2.5, 4.0], pa.float32()), np.float32, False),
    (pa.array([1, 2, 3], pa.int32()), np.int32, True),
    (pa.array([], pa.int64()), np.int64, False),
    (fixed_tensor(np.arange(6 * 2 * 3, dtype=np.uint8).reshape(6, 2, 3), (2, 3)), np.uint8, True),
    (fixed_tensor(np.arange(6 * 4, dtype=np.int32).reshape(6, 4), (4,)), np.float64, False),
    (fixed_tensor(np.arange(5 * 2, dtype=np.float64).reshape(5, 2), (2,), mask=[False, True, False, False, True]),
     np.float64, False),
    (planar_tensor(np.arange(4 * 2 * 3 * 3, dtype=np.uint8).reshape(4, 2, 3, 3)), np.uint8, True),
    (pa.array(['a', None, 'b']), np.str_, False),
    (pa.array([True, False, True]), np.bool_, False),
]


@pytest.mark.parametrize('batched', [False, True])
@pytest.mark.parametrize('array, dtype, view', CONVERTER_CASES, ids=lambda c: str(getattr(c, 'type', c)))
def test_column_converter_converts_as_rows_column_and_batch_column(array, dtype, view, batched):
    """The converter chosen once per type gives what the general conversion gives, on slices too; numbers and
    tensors of numbers without nulls stay views of the Arrow buffer."""
    general = _arrow.batch_column if batched else _arrow.rows_column
    convert = _arrow.column_converter(array.type, dtype, batched)
    for part in (array, array.slice(1), array.slice(2, max(len(array) - 3, 0))):
        expected, got = general(part, dtype), convert(part)
        assert type(got) is type(expected) and len(got) == len(expected)
        if isinstance(expected, np.ndarray):
            assert got.dtype == expected.dtype and got.shape == expected.shape and got.strides == expected.strides
        for want, have in zip(expected, got):
            if want is None:
                assert have is None
            else:
                np.testing.assert_array_equal(have, want)
    if view:
        values = array.storage.values if isinstance(array.type, pa.FixedShapeTensorType) else array
        assert np.shares_memory(convert(array), np.frombuffer(values.buffers()[1], dtype=np.uint8))
