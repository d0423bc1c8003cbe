"""Upstream's ``petastorm.utils``: :func:`decode_row` and the location of :class:`DecodeFieldError`."""
import decimal

import numpy as np

from petastorm.errors import DecodeFieldError


def decode_row(row, schema):
    """Decodes a dict of stored values (e.g. ``pyspark.Row.asDict()`` of a Petastorm dataset) with the
    codecs of ``schema``: keys not in the schema are dropped, ``None`` stays ``None``, a field without a
    codec whose dtype is a NumPy scalar type or ``Decimal`` is cast to it, other values pass as they are.

    :raises DecodeFieldError: naming the field whose value could not be decoded
    """
    decoded = {}
    for name, value in row.items():
        name = str(name)
        field = schema.fields.get(name)
        if field is None:
            continue
        try:
            decoded[name] = None if value is None else _decode_value(field, value)
        except Exception as e:
            raise DecodeFieldError('Decoding field "{}" failed: {}'.format(name, e)) from e
    return decoded


def _decode_value(field, value):
    if field.codec is not None:
        return field.codec.decode(field, value)
    dtype = field.numpy_dtype
    if dtype is decimal.Decimal:
        return decimal.Decimal(value)
    if isinstance(dtype, type) and issubclass(dtype, np.generic):
        return dtype(value)
    return value


__all__ = ['DecodeFieldError', 'decode_row']
