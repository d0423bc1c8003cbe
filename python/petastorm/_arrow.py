"""Conversion of the reader's decoded Arrow record batches (layout in ``docs/ffi.md``) into NumPy.

Every column is converted once per batch, vectorised:

* ``rows_column``: a sequence indexable by row (an ndarray whose items are the row values, or
  a list where some rows are ``None`` or of different shapes), used by ``make_reader``;
* ``batch_column``: one NumPy array of the whole column, used by ``make_batch_reader``.

Fixed-shape tensors (``arrow.fixed_shape_tensor``) become ``(rows, *shape)`` views of the Arrow
buffer (no copy); variable-shape tensors (struct ``{data: list<T>, shape: fixed_size_list<int32>}``)
are reshaped row by row from the flat data; scalars keep their Arrow values, cast to the field's
NumPy dtype where that differs (e.g. Spark ``short`` stored for a ``uint8`` field).

Numbers, booleans, strings, binaries, dates and timestamps are read from the Arrow buffers with
NumPy (:func:`to_numpy`): pyarrow's own ``to_numpy`` imports pandas (0.3 s) on its first call,
which reading rows never needs. Other types (decimals, nested types) still go through pyarrow.
"""
import decimal
import functools

import numpy as np
import pyarrow as pa

_STRING_TYPES = (pa.types.is_string, pa.types.is_large_string)
_BINARY_TYPES = (pa.types.is_binary, pa.types.is_large_binary, pa.types.is_fixed_size_binary)
_LIST_TYPES = (pa.types.is_list, pa.types.is_large_list)
_NUMBER_TYPES = (pa.types.is_integer, pa.types.is_floating)


def _any(predicates, arrow_type):
    return any(p(arrow_type) for p in predicates)


def numeric_dtype(numpy_dtype):
    """``np.dtype`` of a numeric/bool field type, else ``None`` (str, bytes, Decimal, object...)."""
    try:
        dtype = np.dtype(numpy_dtype)
    except TypeError:
        return None
    return dtype if dtype.kind in 'biuf' else None


def is_fixed_tensor(arrow_type):
    return isinstance(arrow_type, pa.FixedShapeTensorType)


def is_variable_tensor(arrow_type):
    """The storage layout of ``arrow.variable_shape_tensor``: ``{data: list<T>, shape: fixed_size_list}``."""
    return (pa.types.is_struct(arrow_type) and arrow_type.num_fields == 2
            and arrow_type.field(0).name == 'data' and arrow_type.field(1).name == 'shape'
            and _any(_LIST_TYPES, arrow_type.field(0).type)
            and pa.types.is_fixed_size_list(arrow_type.field(1).type))


_FIXED_WIDTH = {pa.int8(): np.int8, pa.int16(): np.int16, pa.int32(): np.int32, pa.int64(): np.int64,
                pa.uint8(): np.uint8, pa.uint16(): np.uint16, pa.uint32(): np.uint32, pa.uint64(): np.uint64,
                pa.float16(): np.float16, pa.float32(): np.float32, pa.float64(): np.float64,
                pa.date64(): 'datetime64[ms]'}


def _bits(buffer, offset, n):
    """``n`` bits of an Arrow bitmap from bit ``offset`` as a bool ndarray."""
    bits = np.unpackbits(np.frombuffer(buffer, dtype=np.uint8), count=offset + n, bitorder='little')
    return bits[offset:].view(np.bool_)


def _validity(arr):
    """Boolean ndarray, True where the row is valid; ``None`` when there are no nulls."""
    if arr.null_count == 0:
        return None
    if isinstance(arr, pa.ExtensionArray):
        arr = arr.storage
    bitmap = arr.buffers()[0]
    if bitmap is None:  # a type without a validity bitmap (null): every row is null
        return np.zeros(len(arr), dtype=np.bool_)
    return _bits(bitmap, arr.offset, len(arr))


def _fixed_width_dtype(arrow_type):
    if pa.types.is_timestamp(arrow_type):
        return np.dtype('datetime64[{}]'.format(arrow_type.unit))
    if pa.types.is_duration(arrow_type):
        return np.dtype('timedelta64[{}]'.format(arrow_type.unit))
    dtype = _FIXED_WIDTH.get(arrow_type)
    return None if dtype is None else np.dtype(dtype)


def _offset_values(arr, decode):
    """An object ndarray of the ``bytes`` (or ``str`` with ``decode``) of a (large) string/binary
    array, ``None`` at nulls."""
    n = len(arr)
    arrow_type = arr.type
    out = np.empty(n, dtype=object)
    if n == 0:
        return out
    buffers = arr.buffers()
    data = buffers[-1].to_pybytes() if buffers[-1] is not None else b''
    if pa.types.is_fixed_size_binary(arrow_type):
        width = arrow_type.byte_width
        starts = range(arr.offset * width, (arr.offset + n) * width, width)
        cells = [data[s:s + width] for s in starts]
    else:
        wide = pa.types.is_large_string(arrow_type) or pa.types.is_large_binary(arrow_type)
        offsets = np.frombuffer(buffers[1], dtype=np.int64 if wide else np.int32, count=n + 1,
                                offset=arr.offset * (8 if wide else 4)).tolist()
        cells = [data[s:e] for s, e in zip(offsets[:-1], offsets[1:])]
    out[:] = [c.decode('utf-8') for c in cells] if decode else cells
    valid = _validity(arr)
    if valid is not None:
        out[~valid] = None
    return out


def _raw_values(arr):
    """The values of a number, date, time or boolean array as an ndarray whatever the nulls hold
    (zero-copy except for booleans), or ``None`` for other types."""
    arrow_type = arr.type
    n = len(arr)
    if pa.types.is_boolean(arrow_type):
        return _bits(arr.buffers()[1], arr.offset, n) if n else np.empty(0, dtype=np.bool_)
    if arrow_type == pa.date32():  # days in int32
        return _raw_values(arr.view(pa.int32())).astype('datetime64[D]')
    dtype = _fixed_width_dtype(arrow_type)
    if dtype is None:
        return None
    if not n:
        return np.empty(0, dtype=dtype)
    return _buffer_view(arr.buffers()[1], dtype, arr.offset, n)


def _buffer_view(buffer, dtype, first, count):
    """``count`` values of ``dtype`` from value ``first`` of an Arrow buffer, as an ndarray (no copy)."""
    return np.frombuffer(buffer, dtype=dtype, count=count, offset=first * dtype.itemsize)


def to_numpy(arr):
    """An Arrow array as pyarrow's ``to_numpy(zero_copy_only=False)`` gives it (nulls as NaN/NaT in
    numbers and times, ``None`` in booleans, strings and binaries), without pandas for numbers,
    booleans, strings, binaries, dates and timestamps (zero-copy for numbers without nulls)."""
    out = _raw_values(arr)
    if out is None:
        if _any(_STRING_TYPES, arr.type) or _any(_BINARY_TYPES, arr.type):
            return _offset_values(arr, decode=_any(_STRING_TYPES, arr.type))
        return arr.to_numpy(zero_copy_only=False)
    valid = _validity(arr)
    if valid is None:
        return out
    kind = out.dtype.kind
    out = out.astype(object if kind == 'b' else np.float64 if kind in 'iu' else out.dtype)  # a copy
    out[~valid] = None if kind == 'b' else np.nan if kind in 'fiu' else out.dtype.type('NaT')
    return out


def _zero_nulls(arr):
    """A number or boolean array as an ndarray with 0 at nulls (as ``fill_null(0)`` then ``to_numpy``)."""
    out = _raw_values(arr)
    if out is None:
        return to_numpy(arr)
    valid = _validity(arr)
    if valid is not None:
        out = out.copy()
        out[~valid] = 0
    return out


def _flat_values(values, dtype):
    """A flat Arrow array of tensor elements as a 1-D ndarray (zero-copy for primitive types)."""
    arrow_type = values.type
    if _any(_STRING_TYPES, arrow_type):
        return to_numpy(values).astype(np.str_)
    if _any(_BINARY_TYPES, arrow_type):
        return to_numpy(values).astype(np.bytes_)
    out = _zero_nulls(values)
    if dtype is not None and out.dtype != dtype:
        out = out.astype(dtype)
    return out


def _fixed_tensor(arr, dtype):
    """``(rows, *shape)`` ndarray of a fixed-shape tensor column (null rows hold the stored filler), in its
    logical layout: with a ``permutation`` (channel-planar images: physical ``[3, H, W]``, permutation
    ``[1, 2, 0]``) a strided view whose axis ``i`` is physical axis ``permutation[i]``, no copy."""
    storage = arr.storage
    size = storage.type.list_size
    shape = tuple(arr.type.shape)
    values = storage.values.slice(storage.offset * size, len(storage) * size)
    return _tensor_rows(_flat_values(values, dtype), len(arr), shape, _tensor_axes(arr.type))


def _tensor_axes(tensor_type):
    """The axes to transpose ``(rows, *physical shape)`` by for a fixed-shape tensor's logical layout, or ``None``."""
    permutation = tensor_type.permutation
    return None if permutation is None else [0] + [1 + axis for axis in permutation]


def _tensor_rows(flat, n, shape, axes):
    """``(n, *shape)`` of flat tensor values, transposed by ``axes`` (:func:`_tensor_axes`) when there are any."""
    out = flat.reshape((n,) + shape)
    return out if axes is None else out.transpose(axes)


def _list_parts(list_arr, dtype):
    """``(flat values, offsets)`` of a list array (offsets index into the flat values)."""
    offsets = to_numpy(list_arr.offsets)
    return _flat_values(list_arr.values, dtype), offsets


def _uniform(offsets, shapes, n):
    """The common row shape if every row has the same shape and rows are contiguous, else ``None``."""
    if n == 0 or not (shapes == shapes[0]).all():
        return None
    size = int(np.prod(shapes[0]))
    if not (np.diff(offsets) == size).all():
        return None
    return tuple(int(d) for d in shapes[0])


def _ragged(flat, offsets, shapes, valid, n):
    """Row arrays (reshaped from the flat values) in a list, or one stacked ndarray when uniform."""
    if valid is None:
        common = _uniform(offsets, shapes, n)
        if common is not None:
            return flat[offsets[0]:offsets[n]].reshape((n,) + common)
    rows = [flat[offsets[i]:offsets[i + 1]].reshape(tuple(shapes[i])) for i in range(n)]
    if valid is not None:
        for i in np.flatnonzero(~valid):
            rows[i] = None
    return rows


def _variable_tensor(arr, dtype):
    data, shape = arr.field('data'), arr.field('shape')
    ndim = shape.type.list_size
    n = len(arr)
    dims = shape.values.slice(shape.offset * ndim, n * ndim)
    dims = _zero_nulls(dims)
    flat, offsets = _list_parts(data, dtype)
    return _ragged(flat, offsets, dims.reshape(n, ndim).astype(np.int64), _validity(arr), n)


def _plain_list(arr, dtype):
    """A Parquet list of primitive values: 1-D row arrays; nested lists/structs go through pyarrow."""
    value_type = arr.type.value_type
    if pa.types.is_fixed_size_list(arr.type):
        if pa.types.is_primitive(value_type) or _any(_STRING_TYPES + _BINARY_TYPES, value_type):
            size = arr.type.list_size
            flat = _flat_values(arr.values.slice(arr.offset * size, len(arr) * size), dtype)
            out = flat.reshape(len(arr), size)
            return _with_nones(out, _validity(arr))
        return list(to_numpy(arr))
    if not (pa.types.is_primitive(value_type) or _any(_STRING_TYPES + _BINARY_TYPES, value_type)):
        return list(to_numpy(arr))
    flat, offsets = _list_parts(arr, dtype)
    lengths = np.diff(offsets).astype(np.int64).reshape(-1, 1)
    return _ragged(flat, offsets, lengths, _validity(arr), len(arr))


def _with_nones(values, valid):
    """``values`` as a list with ``None`` at the invalid rows (unchanged when all rows are valid)."""
    if valid is None:
        return values
    out = list(values)
    for i in np.flatnonzero(~valid):
        out[i] = None
    return out


def _scalar_rows(arr, field_dtype):
    arrow_type = arr.type
    valid = _validity(arr)
    if pa.types.is_boolean(arrow_type) or _any(_NUMBER_TYPES, arrow_type):
        values = _zero_nulls(arr)
        dtype = numeric_dtype(field_dtype)
        if dtype is not None and values.dtype != dtype:
            values = values.astype(dtype)
        return _with_nones(values, valid)
    values = to_numpy(arr)
    if field_dtype is decimal.Decimal and _any(_STRING_TYPES, arrow_type):
        values = np.array([None if v is None else decimal.Decimal(v) for v in values], dtype=object)
    if values.dtype.kind == 'M' and pa.types.is_timestamp(arrow_type):
        values = values.astype('datetime64[us]')  # upstream's rows: np.datetime64(pandas Timestamp)
    if values.dtype.kind in 'mM':
        return _with_nones(values, valid)
    return values


def rows_column(arr, field_dtype=None):
    """A column as a sequence of per-row values (ndarray or list) for ``make_reader``."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    arrow_type = arr.type
    if pa.types.is_dictionary(arrow_type):
        return rows_column(arr.dictionary_decode(), field_dtype)
    dtype = numeric_dtype(field_dtype)
    if is_fixed_tensor(arrow_type):
        return _with_nones(_fixed_tensor(arr, dtype), _validity(arr))
    if is_variable_tensor(arrow_type):
        return _variable_tensor(arr, dtype)
    if _any(_LIST_TYPES, arrow_type) or pa.types.is_fixed_size_list(arrow_type):
        return _plain_list(arr, dtype)
    if pa.types.is_null(arrow_type):
        return [None] * len(arr)
    return _scalar_rows(arr, field_dtype)


def column_converter(arrow_type, field_dtype, batched):
    """``arr -> column`` converting arrays of ``arrow_type`` as :func:`batch_column` (``batched``) or
    :func:`rows_column` do, its checks made once per type: numbers and fixed-shape tensors of numbers are read
    straight from their buffer while a batch has no nulls; everything else goes through those functions."""
    general = functools.partial(batch_column if batched else rows_column, field_dtype=field_dtype)
    if _any(_NUMBER_TYPES, arrow_type):
        return _NumbersConverter(arrow_type, (), None, field_dtype, general)
    if is_fixed_tensor(arrow_type) and _any(_NUMBER_TYPES, arrow_type.value_type):
        return _NumbersConverter(arrow_type.value_type, tuple(arrow_type.shape), _tensor_axes(arrow_type),
                                 field_dtype, general)
    return general


class _NumbersConverter(object):
    """A column of numbers (``shape == ()``) or of fixed-shape tensors of numbers as one ndarray view of its
    values buffer, cast to the field's dtype; arrays with nulls take the ``general`` conversion."""

    def __init__(self, value_type, shape, axes, field_dtype, general):
        self._stored = _fixed_width_dtype(value_type)
        dtype = numeric_dtype(field_dtype)
        self._dtype = dtype if dtype is not None and dtype != self._stored else None
        self._shape = shape
        self._size = int(np.prod(shape, dtype=np.int64))
        self._axes = axes
        self._general = general

    def __call__(self, arr):
        n = len(arr)
        if not n or arr.null_count:
            return self._general(arr)
        if self._shape:
            storage = arr.storage
            values = storage.values
            if values.null_count:
                return self._general(arr)
            first = values.offset + storage.offset * self._size
        else:
            values, first = arr, arr.offset
        out = _buffer_view(values.buffers()[1], self._stored, first, n * self._size)
        if self._dtype is not None:
            out = out.astype(self._dtype)
        return _tensor_rows(out, n, self._shape, self._axes) if self._shape else out


def _object_array(rows):
    out = np.empty(len(rows), dtype=object)
    for i, v in enumerate(rows):
        out[i] = v
    return out


def batch_column(arr, field_dtype=None):
    """A column as one NumPy array for ``make_batch_reader``: tensors ``(rows, *shape)`` (object
    arrays of row arrays when shapes differ or rows are null); strings as ``<U`` arrays (object
    arrays when there are nulls); nullable integers as float64 with NaN (as pandas would)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    arrow_type = arr.type
    if pa.types.is_dictionary(arrow_type):
        return batch_column(arr.dictionary_decode(), field_dtype)
    if (is_fixed_tensor(arrow_type) or is_variable_tensor(arrow_type) or _any(_LIST_TYPES, arrow_type)
            or pa.types.is_fixed_size_list(arrow_type)):
        rows = rows_column(arr, field_dtype)
        return rows if isinstance(rows, np.ndarray) else _object_array(rows)
    if arr.null_count == 0 and (pa.types.is_boolean(arrow_type) or _any(_NUMBER_TYPES, arrow_type)):
        return rows_column(arr, field_dtype)
    values = to_numpy(arr)
    if arr.null_count == 0 and _any(_STRING_TYPES, arrow_type):
        return values.astype(np.str_)
    if field_dtype is decimal.Decimal and _any(_STRING_TYPES, arrow_type):
        return _object_array(_scalar_rows(arr, field_dtype))
    return values


def take(column, index):
    """Rows ``index`` (an int ndarray) of a column from :func:`rows_column` or :func:`batch_column`."""
    if isinstance(column, np.ndarray):
        return column[index]
    return [column[i] for i in index]


def stack_rows(values):
    """Per-row values of one field (from rows or a transform) as one column: ``np.stack`` when all
    rows are arrays of one shape and dtype, else an object array (``None`` rows included)."""
    if values and all(isinstance(v, np.ndarray) for v in values):
        first = values[0]
        if all(v.shape == first.shape and v.dtype == first.dtype for v in values):
            return np.stack(values)
    if values and all(isinstance(v, (np.generic, int, float, bool)) and not isinstance(v, np.ndarray)
                      for v in values):
        return np.asarray(values)
    return _object_array(values)
