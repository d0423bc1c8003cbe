"""Conversion of Unischema fields to the Unischema JSON of ``docs/ffi.md`` (and of dtype names back
to NumPy types), and the cache of one-field native schemas that codecs use on their own.

Imports go one way: ``unischema`` -> ``codecs`` -> ``_schema_json`` -> ``_native``. This module
knows codecs only by their ``_codec_json()`` method; parsing JSON back into fields and codecs is
``unischema``'s (``Unischema.from_json``).

NumPy types map to dtype names (``np.int32`` -> ``'int32'``, ``np.str_`` -> ``'str'``,
``decimal.Decimal`` -> ``'decimal'``, ``np.datetime64`` -> ``'datetime64'``); Python
``str``/``bytes``/``bool``/``int``/``float`` are accepted as NumPy would read them (``np.dtype(str).type is np.str_``).
"""
import decimal
import functools
import json

import numpy as np

from petastorm import _native

_DTYPE_NAMES = {
    np.bool_: 'bool',
    np.int8: 'int8', np.int16: 'int16', np.int32: 'int32', np.int64: 'int64',
    np.uint8: 'uint8', np.uint16: 'uint16', np.uint32: 'uint32', np.uint64: 'uint64',
    np.float16: 'float16', np.float32: 'float32', np.float64: 'float64',
    np.str_: 'str', np.bytes_: 'bytes', np.datetime64: 'datetime64',
}
_DTYPE_TYPES = dict({name: t for t, name in _DTYPE_NAMES.items()}, decimal=decimal.Decimal)


def dtype_name(numpy_dtype, field_name):
    """The Unischema JSON name of a field's ``numpy_dtype`` (``ValueError`` naming the field)."""
    if numpy_dtype is decimal.Decimal:
        return 'decimal'
    try:
        name = _DTYPE_NAMES.get(np.dtype(numpy_dtype).type)
    except TypeError:
        name = None
    if name is None:
        raise ValueError("field '{}': numpy_dtype {!r} is not supported (supported: {}, decimal.Decimal)".format(
            field_name, numpy_dtype, ', '.join(_DTYPE_NAMES.values())))
    return name


def dtype_type(name):
    """The NumPy scalar type (or ``decimal.Decimal``) of a Unischema JSON dtype name."""
    try:
        return _DTYPE_TYPES[name]
    except KeyError:
        raise ValueError('unknown Unischema dtype {!r}'.format(name)) from None


def field_to_json(field):
    """A ``UnischemaField`` as a JSON-ready dict."""
    codec = field.codec
    if codec is not None and not hasattr(codec, '_codec_json'):
        raise ValueError("field '{}': codec {!r} is not a petastorm.codecs.DataframeColumnCodec".format(
            field.name, codec))
    try:
        codec_json = None if codec is None else codec._codec_json()
    except ValueError as e:
        raise ValueError("field '{}': {}".format(field.name, e)) from None
    shape = field.shape if field.shape is not None else ()
    return {
        'name': field.name,
        'dtype': dtype_name(field.numpy_dtype, field.name),
        'shape': [None if d is None else int(d) for d in shape],
        'nullable': bool(field.nullable),
        'codec': codec_json,
    }


def schema_json(name, fields):
    """Unischema JSON text for a name and fields."""
    return json.dumps({'name': name, 'fields': [field_to_json(f) for f in fields]})


@functools.lru_cache(maxsize=256)
def _handle_for(text):
    return _native.SchemaHandle(text)


def field_handle(field):
    """A cached native schema holding only ``field`` (index 0), for codec calls outside a schema."""
    return _handle_for(schema_json('field', [field]))
