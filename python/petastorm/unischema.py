"""A Unischema describes a dataset once for every consumer (upstream's ``petastorm.unischema``):
field names, NumPy dtypes, shapes (``None`` for a variable dimension), codecs and nullability.
It renders as a Spark schema, as namedtuples, and as the Unischema JSON of the native library.

Each ``Unischema`` owns a native schema handle, created on first use and freed by a
finalizer; the handle is left out of pickles (Spark ships schemas to Python workers with
cloudpickle) and re-created lazily on the other side.
"""
import json
import warnings
from collections import OrderedDict, namedtuple
from typing import Any, NamedTuple, Optional, Tuple

import numpy as np

from petastorm import _native, _schema_json, codecs

_HANDLE_ATTR = '_pst_handle'
# Unischema JSON dtypes without a NumPy scalar type of their own, as fields hold them.
_LOOSE_DTYPES = {'date': np.datetime64, 'timestamp': np.datetime64}


def _fields_as_tuple(field):
    """What field equality and hashing look at: everything but the codec (as upstream)."""
    return (field.name, field.numpy_dtype, field.shape, field.nullable)


class UnischemaField(NamedTuple):
    """One field: ``name``, ``numpy_dtype`` (e.g. ``np.uint8``, ``np.str_``, ``Decimal``), ``shape``
    (``()`` for scalars, ``None`` for variable dimensions), ``codec`` and ``nullable``.
    Equality and hash ignore the codec, as upstream's do."""

    name: str
    numpy_dtype: Any
    shape: Tuple[Optional[int], ...]
    codec: Optional[Any] = None
    nullable: Optional[bool] = False

    def __eq__(self, other):
        try:
            return _fields_as_tuple(self) == _fields_as_tuple(other)
        except AttributeError:
            return False

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash(_fields_as_tuple(self))


_namedtuple_cache = {}


class Unischema(object):
    """A named, ordered collection of :class:`UnischemaField`; each field is also an attribute."""

    def __init__(self, name, fields):
        """:param name: schema name
        :param fields: ``UnischemaField`` instances, in column order"""
        self._name = name
        self._fields = OrderedDict((f.name, f) for f in fields)
        for f in fields:
            if not hasattr(self, f.name):
                setattr(self, f.name, f)
            else:
                warnings.warn('Can not create dynamic property {} because it conflicts with an existing '
                              'property of Unischema'.format(f.name))

    @property
    def fields(self):
        """``OrderedDict`` of field name to :class:`UnischemaField`."""
        return self._fields

    def _native(self):
        """The native schema handle (created on first use)."""
        handle = self.__dict__.get(_HANDLE_ATTR)
        if not isinstance(handle, _native.SchemaHandle):
            handle = _native.SchemaHandle(self.to_json())
            self.__dict__[_HANDLE_ATTR] = handle
        return handle

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop(_HANDLE_ATTR, None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.__dict__.pop(_HANDLE_ATTR, None)

    def to_json(self):
        """The Unischema JSON text (see ``docs/ffi.md``)."""
        return _schema_json.schema_json(self._name, self._fields.values())

    @classmethod
    def from_json(cls, text):
        """A Unischema from Unischema JSON text (or the parsed dict). Fields of types NumPy has no
        scalar type for (dates, timestamps, nested types: inferred from Parquet) are kept, with
        ``np.datetime64`` or ``np.object_`` and no codec."""
        obj = json.loads(text) if isinstance(text, (str, bytes, bytearray)) else text
        return cls(obj.get('name') or 'inferred_schema', [_field_from_json(f) for f in obj['fields']])

    @classmethod
    def from_arrow_schema(cls, parquet_dataset, omit_unsupported_fields=True):
        """A Unischema inferred from Arrow types, as the native reader infers one for a Parquet store
        without Petastorm metadata: scalar columns get a ``ScalarCodec`` of their Spark type, lists of
        primitives become ``(None,)`` fields, each Hive partition key a ``str`` field.

        :param parquet_dataset: a ``pyarrow.parquet.ParquetDataset`` (its schema and partitioning) or a
            ``pyarrow.Schema``
        :param omit_unsupported_fields: accepted for upstream compatibility: no column is omitted; those
            NumPy has no type for (dates, nested types) are kept with a loose dtype
        """
        import pyarrow as pa
        import pyarrow.dataset as pds
        arrow_schema = getattr(parquet_dataset, 'schema', parquet_dataset)
        keys = []
        for fragment in getattr(parquet_dataset, 'fragments', ()):
            keys += [k for k in pds.get_partition_keys(fragment.partition_expression) if k not in keys]
        columns = [f for f in arrow_schema if f.name not in keys]
        return cls.from_json(_native.schema_from_arrow(pa.schema(columns), keys))

    def create_schema_view(self, fields):
        """A new schema with a subset of the fields, given as ``UnischemaField`` objects of this
        schema and/or regular expressions that must match whole field names."""
        patterns = [f for f in fields if isinstance(f, str)]
        field_objects = [f for f in fields if isinstance(f, tuple)]
        if len(patterns) + len(field_objects) != len(fields):
            raise ValueError('Elements of "fields" must be either a string (regular expressions) or '
                             'an instance of UnischemaField class.')
        unknown = {f.name for f in field_objects} - set(self._fields)
        if unknown:
            raise ValueError('field {} does not belong to the schema {}'.format(unknown, self))
        exact = [self._fields[f.name] for f in field_objects]
        exact_names = {f.name for f in exact}
        matched = [f for f in match_unischema_fields(self, patterns) if f.name not in exact_names]
        return Unischema('{}_view'.format(self._name), exact + matched)

    def as_spark_schema(self):
        """The ``pyspark.sql.types.StructType`` of this schema (needs pyspark)."""
        from pyspark.sql.types import StructType
        return StructType.fromJson(json.loads(self._native().spark_json()))

    def _get_namedtuple(self):
        key = (self._name, tuple(self._fields))
        if key not in _namedtuple_cache:
            _namedtuple_cache[key] = namedtuple('{}_view'.format(self._name), list(self._fields))
        return _namedtuple_cache[key]

    def make_namedtuple(self, **kargs):
        """A namedtuple of this schema's fields, e.g. ``schema.make_namedtuple(id=1, image=img)``."""
        return self._get_namedtuple()(**kargs)

    def make_namedtuple_tf(self, *args, **kargs):
        """The schema's namedtuple built from positional and/or keyword values (TF tensors in upstream's use)."""
        return self._get_namedtuple()(*args, **kargs)

    def __str__(self):
        fields_str = ''.join("  {}('{}', {}, {}, {}, {}),\n".format(
            type(f).__name__, f.name, getattr(f.numpy_dtype, '__name__', f.numpy_dtype), f.shape, f.codec,
            f.nullable) for f in self._fields.values())
        return '{}({}, [\n{}])'.format(type(self).__name__, self._name, fields_str)

    __repr__ = __str__


def _field_from_json(obj):
    """A ``UnischemaField`` from its Unischema JSON dict (see :meth:`Unischema.from_json`)."""
    shape = tuple(None if d is None else int(d) for d in (obj.get('shape') or ()))
    nullable = bool(obj.get('nullable', False))
    try:
        numpy_dtype, codec = _schema_json.dtype_type(obj['dtype']), codecs.codec_from_json(obj.get('codec'))
    except ValueError:
        numpy_dtype, codec = _LOOSE_DTYPES.get(obj.get('dtype'), np.object_), None
    except (ImportError, TypeError) as e:  # a user's codec class that cannot be used
        raise type(e)("field '{}': {}".format(obj['name'], e)) from None
    return UnischemaField(obj['name'], numpy_dtype, shape, codec, nullable)


def match_unischema_fields(schema, field_regex):
    """The fields of ``schema`` (in schema order) whose whole name matches any of the regular
    expressions in ``field_regex``."""
    if not field_regex:
        return []
    names = schema._native().match_fields(list(field_regex))
    return [schema.fields[n] for n in names]


def insert_explicit_nulls(unischema, row_dict):
    """Adds ``None`` for the missing nullable fields of ``row_dict`` (in place); a missing
    non-nullable field is a ``ValueError``."""
    for name, field in unischema.fields.items():
        if name not in row_dict:
            if not field.nullable:
                raise ValueError('Field {} is not found in the row_dict, but is not nullable.'.format(name))
            row_dict[name] = None


def dict_to_spark_row(unischema, row_dict):
    """Validates ``row_dict`` against ``unischema``, encodes each value with its field's codec and
    returns a ``pyspark.Row`` with the values in schema order (``None`` for missing nullable fields).

    Raises ``ValueError``/``TypeError`` naming the field: missing non-nullable field, unknown key,
    ``None`` in a non-nullable field, wrong dtype, non-compliant shape, non-scalar for a scalar."""
    import pyspark

    if not isinstance(unischema, Unischema):
        raise TypeError('expected a Unischema, got {}'.format(type(unischema).__name__))
    handle = unischema._native()
    handle.validate_row(list(row_dict), [k for k, v in row_dict.items() if v is None])
    values = []
    for index, (name, field) in enumerate(unischema.fields.items()):
        value = row_dict.get(name)
        values.append(None if value is None else codecs.encode_field(handle, index, field, value))
    row = pyspark.Row(*values)
    row.__fields__ = list(unischema.fields)
    return row


__all__ = ['UnischemaField', 'Unischema', 'dict_to_spark_row', 'insert_explicit_nulls', 'match_unischema_fields']
