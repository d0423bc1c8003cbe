"""Codecs that store values Spark and Parquet cannot hold natively (upstream's
``petastorm.codecs``): NumPy arrays as NPY (``NdarrayCodec``) or NPZ
(``CompressedNdarrayCodec``) bytes, images as PNG/JPEG (``CompressedImageCodec``), and
scalars as a plain Spark type (``ScalarCodec``).

Encoding and decoding run in the native library: a codec hands the array's dtype
string, shape, order flag and raw buffer over without copying, and gets bytes back
that are identical to upstream Petastorm's. The attribute names (``_spark_type``,
``_image_codec``, ``_quality``) are upstream's, so upstream pickles load into these classes.
"""
import decimal
import functools
import json
from abc import abstractmethod

import numpy as np

from petastorm import _schema_json
from petastorm.errors import DecodeFieldError  # noqa: F401  (re-exported for convenience)

_INTEGRAL = ('byte', 'short', 'integer', 'long')
_FLOATING = ('float', 'double')
_UNCHECKED = ('date', 'timestamp', 'timestamp_ntz')  # no native dtype: checked here, passed through


class DataframeColumnCodec(object):
    """Base class of codecs: ``encode``/``decode`` one cell, ``spark_dtype`` of the column."""

    @abstractmethod
    def encode(self, unischema_field, value):
        raise RuntimeError('Abstract method was called')

    @abstractmethod
    def decode(self, unischema_field, value):
        raise RuntimeError('Abstract method was called')

    @abstractmethod
    def spark_dtype(self):
        """Spark datatype of the underlying storage column."""
        raise RuntimeError('Abstract method was called')

    def _codec_json(self):
        """A user's codec: its class and plain-data state (see :func:`_custom_codec_json`)."""
        return _custom_codec_json(self)

    def __str__(self):
        return self.__repr__()


class _NativeCodec(DataframeColumnCodec):
    """A codec the native library implements; its identity is its Unischema JSON form."""

    def _codec_json(self):
        raise NotImplementedError

    def __eq__(self, other):
        return type(self) is type(other) and self._codec_json() == other._codec_json()

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash((type(self).__name__, json.dumps(self._codec_json(), sort_keys=True)))

    def _own_handle(self, field):
        """The native one-field schema for ``field`` encoded with this codec."""
        return _schema_json.field_handle(field._replace(codec=self))


class _BinaryCodec(_NativeCodec):
    """A codec whose column is Spark ``binary`` and whose cells are native-encoded ndarrays."""

    def encode(self, unischema_field, value):
        """Checks ``value`` against the field and returns the encoded ``bytearray``."""
        return self._encode_native(self._own_handle(unischema_field), 0, unischema_field, value)

    def decode(self, unischema_field, value):
        """Decodes stored bytes into an ``np.ndarray`` (``DecodeFieldError`` naming the field)."""
        _check_not_none(self, unischema_field, value)
        return self._own_handle(unischema_field).decode_cell(0, value)

    def _encode_native(self, handle, index, field, value):
        return call_with_array(functools.partial(handle.encode_cell, index), value, ndarray_only=True)

    def spark_dtype(self):
        from pyspark.sql.types import BinaryType
        return BinaryType()

    def __repr__(self):
        return '{}()'.format(type(self).__name__)


class NdarrayCodec(_BinaryCodec):
    """Stores an ndarray as the bytes ``numpy.save`` writes (NPY v1.0)."""

    def _codec_json(self):
        return {'type': 'ndarray'}


class CompressedNdarrayCodec(_BinaryCodec):
    """Stores an ndarray as ``numpy.savez_compressed(buf, arr=value)`` writes it."""

    def _codec_json(self):
        return {'type': 'compressed_ndarray'}


class CompressedImageCodec(_BinaryCodec):
    """Stores an (H, W) or (H, W, 3) RGB image as PNG (uint8/uint16) or JPEG (uint8)."""

    def __init__(self, image_codec='png', quality=80):
        """:param image_codec: ``'png'`` or ``'jpeg'`` (``'jpg'`` and a leading dot accepted)
        :param quality: JPEG quality, 1..100"""
        self._image_codec = '.' + _image_format(image_codec)
        self._quality = quality

    @property
    def image_codec(self):
        return _image_format(self._image_codec)

    def _codec_json(self):
        return {'type': 'compressed_image', 'format': self.image_codec, 'quality': int(self._quality)}

    def __repr__(self):
        return 'CompressedImageCodec({!r}, {!r})'.format(self.image_codec, self._quality)


class ScalarCodec(_NativeCodec):
    """Stores a scalar as a plain value of a Spark type (``ScalarCodec(IntegerType())``)."""

    def __init__(self, spark_type):
        """:param spark_type: a ``pyspark.sql.types`` instance, or its Spark JSON name
        (``'integer'``, ``'decimal(10,9)'``); a name is turned into a type when pyspark is used."""
        self._spark_type = spark_type

    def _spark_name(self):
        t = self._spark_type
        return t if isinstance(t, str) else t.jsonValue()

    def __setstate__(self, state):
        self.__dict__.update(state)
        if not isinstance(self._spark_type, str):
            try:
                self._spark_type.jsonValue()
            except AttributeError:
                # a type pickled by an older pyspark (e.g. StringType without `collation`):
                # keep its name and rebuild it with this pyspark when needed
                self._spark_type = self._spark_type.typeName()

    def _codec_json(self):
        return {'type': 'scalar', 'spark_type': self._spark_name()}

    def spark_dtype(self):
        if isinstance(self._spark_type, str):
            from pyspark.sql.types import StructType
            column = {'name': 'v', 'type': self._spark_type, 'nullable': True, 'metadata': {}}
            self._spark_type = StructType.fromJson({'type': 'struct', 'fields': [column]}).fields[0].dataType
        return self._spark_type

    def encode(self, unischema_field, value):
        """Checks that ``value`` is a scalar fit for the field; returns it as the Spark type's Python value."""
        return self._encode_native(self._own_handle(unischema_field), 0, unischema_field, value)

    def _encode_native(self, handle, index, field, value):
        return encode_scalar(handle, index, field, value, self._spark_name())

    def decode(self, unischema_field, value):
        _check_not_none(self, unischema_field, value)
        return unischema_field.numpy_dtype(value)

    def __repr__(self):
        try:
            return 'ScalarCodec({!r})'.format(self.spark_dtype())
        except ImportError:
            return 'ScalarCodec({!r})'.format(self._spark_type)


def _check_not_none(codec, field, value):
    if value is None:
        raise TypeError("field '{}': {!r}.decode got None: a null cell has no value to decode".format(
            field.name, codec))


def _image_format(name):
    fmt = str(name).lower().lstrip('.')
    fmt = 'jpeg' if fmt == 'jpg' else fmt
    if fmt not in ('png', 'jpeg'):
        raise ValueError("unsupported image codec {!r}: use 'png' or 'jpeg'".format(name))
    return fmt


def is_custom(codec):
    """True for a user's ``DataframeColumnCodec`` subclass (encoded and decoded in Python)."""
    return codec is not None and not isinstance(codec, _NativeCodec)


def _custom_codec_json(codec):
    """The Unischema JSON form of a user's codec: its class, its ``__dict__`` (plain data only) and
    the Spark type of its column (``ValueError`` otherwise)."""
    cls = type(codec)
    if '<locals>' in cls.__qualname__:
        raise ValueError("codec class {}.{} is local to a function: define it at module level so that "
                         "readers can name it".format(cls.__module__, cls.__qualname__))
    state = dict(getattr(codec, '__dict__', {}))
    try:
        state = json.loads(json.dumps(state, allow_nan=False))
    except (TypeError, ValueError) as e:
        raise ValueError("the attributes of codec {}.{} must be plain data (None, bool, int, float, str, list, "
                         "dict) to be stored in the dataset's schema: {}".format(cls.__module__, cls.__qualname__,
                                                                                 e)) from None
    try:
        spark_type = codec.spark_dtype().jsonValue()
    except ImportError:  # no pyspark: the column is binary, as most custom codecs store
        spark_type = 'binary'
    return {'type': 'custom', 'module': cls.__module__, 'class': cls.__qualname__, 'state': state,
            'spark_type': spark_type}


def _custom_codec(obj):
    """A user's codec named by a dataset: its class only when its module is already imported and it
    is a ``DataframeColumnCodec`` subclass (a dataset never makes this package import anything)."""
    import sys
    name = '{}.{}'.format(obj['module'], obj['class'])
    module = sys.modules.get(obj['module'])
    if module is None:
        raise ImportError('the dataset stores values with the custom codec {}, whose module is not imported: '
                          'import {} before opening the dataset (petastorm never imports a module a dataset '
                          'names)'.format(name, obj['module']))
    cls = module
    for part in obj['class'].split('.'):
        cls = getattr(cls, part, None)
    if not (isinstance(cls, type) and issubclass(cls, DataframeColumnCodec)):
        raise TypeError('the dataset names the codec {}, which is not a petastorm.codecs.DataframeColumnCodec '
                        'subclass in the imported module {}'.format(name, obj['module']))
    codec = cls.__new__(cls)
    state = obj.get('state') or {}
    if hasattr(codec, '__setstate__'):
        codec.__setstate__(state)
    else:
        codec.__dict__.update(state)
    return codec


def codec_from_json(obj):
    """A codec from its Unischema JSON form (``None`` for a codec-less field)."""
    if obj is None:
        return None
    kind = obj.get('type')
    if kind == 'custom':
        return _custom_codec(obj)
    if kind == 'scalar':
        return ScalarCodec(obj['spark_type'])
    if kind == 'ndarray':
        return NdarrayCodec()
    if kind == 'compressed_ndarray':
        return CompressedNdarrayCodec()
    if kind == 'compressed_image':
        return CompressedImageCodec(obj.get('format', 'png'), obj.get('quality', 80))
    raise ValueError('unknown codec JSON {!r}'.format(obj))


def call_with_array(func, value, ndarray_only):
    """Calls ``func(dtype, shape, fortran, data_ptr, data_len)`` (``SchemaHandle.encode_cell`` or
    ``NativeWriter.put_array`` of one field) with ``value``'s dtype string, shape, order and buffer
    (not copied).

    Values the native side cannot take as an array (non-ndarrays where an ndarray is required,
    object arrays) are passed as dtype ``'O'`` so that the native checks report them."""
    if isinstance(value, decimal.Decimal) and not ndarray_only:
        raw = np.frombuffer(str(value).encode('ascii'), dtype=np.uint8)
        return func('decimal', (), False, raw.ctypes.data, raw.nbytes)
    if ndarray_only and not isinstance(value, np.ndarray):
        return func('O', (), False, None, 0)
    arr = value if isinstance(value, np.ndarray) else np.asarray(value)
    if arr.dtype.hasobject:
        return func('O', arr.shape, False, None, 0)
    fortran = arr.flags.f_contiguous and not arr.flags.c_contiguous
    if not fortran and not arr.flags.c_contiguous:
        arr = arr.copy(order='C')
    return func(arr.dtype.str, arr.shape, fortran, arr.ctypes.data, arr.nbytes)


def encode_scalar(handle, index, field, value, spark_name):
    """Natively checks a scalar for a ScalarCodec or codec-less field, then converts it to the
    Python value Spark expects for ``spark_name`` (``None``: only NumPy scalars are unwrapped)."""
    if spark_name in _UNCHECKED:
        if isinstance(value, (list, tuple)) or np.ndim(value) != 0:
            raise TypeError("field '{}': expected a scalar, got {}".format(field.name, type(value).__name__))
        if isinstance(value, (np.datetime64, np.ndarray)) and np.asarray(value).dtype.kind == 'M':
            # Spark takes datetime.date/datetime.datetime (NumPy's .item() of ns values is an int)
            value = np.asarray(value).astype('datetime64[D]' if spark_name == 'date' else 'datetime64[us]')
    else:
        call_with_array(functools.partial(handle.encode_cell, index), value, ndarray_only=False)
    if isinstance(value, (np.ndarray, np.generic)):
        value = value.item()
    if spark_name in _INTEGRAL:
        return int(value)
    if spark_name in _FLOATING:
        return float(value)
    if spark_name == 'boolean':
        return bool(value)
    if spark_name == 'string':
        return str(value)
    if spark_name is not None and spark_name.startswith('decimal') and not isinstance(value, decimal.Decimal):
        return decimal.Decimal(str(value))
    return value


def encode_field(handle, index, field, value):
    """Encodes one non-None value of ``field`` (at ``index`` of the schema ``handle``)."""
    if field.codec is None:
        return encode_scalar(handle, index, field, value, None)
    if is_custom(field.codec):
        return field.codec.encode(field, value)
    return field.codec._encode_native(handle, index, field, value)
