"""TensorFlow adapters for a petastorm :class:`~petastorm.reader.Reader` (upstream's ``petastorm.tf_utils``).

* :func:`make_petastorm_dataset`: a TF2 ``tf.data.Dataset`` of the reader's namedtuples (one element per
  row for ``make_reader``, per batch for ``make_batch_reader``), with static shapes from the Unischema.
* :func:`tf_tensors`: graph-mode (``tf.compat.v1``) tensors fed by ``py_func``, optionally through a
  ``RandomShuffleQueue``.

Types TF lacks are converted as upstream does: ``Decimal`` -> string, ``uint16`` -> ``int32``,
``uint32`` -> ``int64``, ``datetime64``/``datetime.date`` -> ``int64`` nanoseconds since the epoch.
"""
import datetime
import decimal
import functools
import warnings
from calendar import timegm

import numpy as np
import tensorflow as tf

from petastorm import _arrow

_NUMPY_TO_TF_DTYPES_MAPPING = {
    np.bool_: tf.bool,
    np.int8: tf.int8,
    np.int16: tf.int16,
    np.int32: tf.int32,
    np.int64: tf.int64,
    np.uint8: tf.uint8,
    np.uint16: tf.int32,
    np.uint32: tf.int64,
    np.uint64: tf.uint64,
    np.float16: tf.float16,
    np.float32: tf.float32,
    np.float64: tf.float64,
    np.bytes_: tf.string,
    np.str_: tf.string,
    decimal.Decimal: tf.string,
    np.datetime64: tf.int64,
}

# Name of the op holding the size of the shuffling queue (for diagnostics), as upstream.
RANDOM_SHUFFLING_QUEUE_SIZE = 'random_shuffling_queue_size'


def _numpy_to_tf_dtypes(numpy_dtype):
    """The TF dtype of a Unischema field's ``numpy_dtype`` (``ValueError`` when there is none)."""
    key = numpy_dtype
    if numpy_dtype is not decimal.Decimal:
        try:
            key = np.dtype(numpy_dtype).type
        except TypeError:
            key = numpy_dtype
    if key is str:
        key = np.str_
    if key in _NUMPY_TO_TF_DTYPES_MAPPING:
        if key is np.str_:
            warnings.warn('Tensorflow will convert all unicode strings back to bytes type. '
                          'You may need to decode values.', UnicodeWarning)
        return _NUMPY_TO_TF_DTYPES_MAPPING[key]
    raise ValueError('Unknown mapping of numpy {} to tensorflow dtype'.format(numpy_dtype))


_TIME_SPARK_TYPES = ('date', 'timestamp', 'timestamp_ntz')


def _field_tf_dtype(field):
    """Dates and timestamps (Spark types; NumPy ``datetime64`` values) are int64 nanoseconds."""
    codec_json = getattr(field.codec, '_codec_json', None)
    if codec_json is not None and codec_json().get('spark_type') in _TIME_SPARK_TYPES:
        return tf.int64
    return _numpy_to_tf_dtypes(field.numpy_dtype)


def _schema_to_tf_dtypes(schema):
    return [_field_tf_dtype(f) for f in schema.fields.values()]


def date_to_nsec_from_epoch(dt):
    return timegm(dt.timetuple()) * 1000000000


def _nsec(value):
    return (value - np.datetime64('1970-01-01T00:00:00')).astype('timedelta64[ns]').astype(np.int64)


def _sanitize_value(name, v):
    if v is None:
        raise RuntimeError('Encountered "{}"=None. Tensorflow does not support None values as a tensor. '
                           'Consider filtering out these rows using a predicate.'.format(name))
    if isinstance(v, decimal.Decimal):
        return str(v.normalize())
    if isinstance(v, (np.datetime64, np.ndarray)) and np.issubdtype(np.asarray(v).dtype, np.datetime64):
        return _nsec(v)
    if isinstance(v, (np.ndarray, np.generic)):
        if v.dtype == np.uint16:
            return v.astype(np.int32)
        if v.dtype == np.uint32:
            return v.astype(np.int64)
        if isinstance(v, np.ndarray) and v.dtype == object:
            return _sanitize_objects(name, v)
    if isinstance(v, datetime.date):
        return np.int64(date_to_nsec_from_epoch(v))
    return v


def _sanitize_objects(name, array):
    """An object column of a batch: Decimals to strings, dates to nanoseconds, rows stacked."""
    values = array.ravel().tolist()
    if any(v is None for v in values):
        _sanitize_value(name, None)
    if values and isinstance(values[0], decimal.Decimal):
        return np.array([str(v.normalize()) for v in values], dtype=object).reshape(array.shape)
    if values and isinstance(values[0], datetime.date):
        return np.array([date_to_nsec_from_epoch(v) for v in values], dtype=np.int64).reshape(array.shape)
    if values and isinstance(values[0], np.ndarray):
        return np.stack([_sanitize_value(name, v) for v in values])
    return array


def _sanitize_field_tf_types(sample):
    """A namedtuple with its values converted to types TF supports (see the module docstring)."""
    return sample.__class__(*[_sanitize_value(name, v) for name, v in zip(sample._fields, sample)])


def _shapes(reader):
    prefix = (None,) if reader.batched_output else ()
    return [prefix + tuple(f.shape or ()) for f in reader.schema.fields.values()]


def make_namedtuple_tf(schema, *args, **kargs):
    """The schema's namedtuple built from tensors (:meth:`Unischema.make_namedtuple_tf`)."""
    return schema.make_namedtuple_tf(*args, **kargs)


def make_petastorm_dataset(reader):
    """A ``tf.data.Dataset`` whose elements are the reader's namedtuples of tensors (static shapes set
    from the Unischema; a leading ``None`` dimension for batched readers). Iterate it once: use the
    reader's ``num_epochs`` instead of ``repeat``, and its sharding/predicates instead of ``shard``/``filter``.
    Iterating the dataset again (Keras ``fit(epochs=n)``, ``repeat``) resets a reader that was read to its end,
    as upstream does, so each pass reads the reader's ``num_epochs`` again.

    :param reader: a :class:`~petastorm.reader.Reader`
    :return: ``tf.data.Dataset``
    """
    if getattr(reader, 'ngram', None):
        return _ngram_dataset(reader)
    schema = reader.schema
    row_type = schema._get_namedtuple()
    signature = row_type(*[tf.TensorSpec(shape, dtype) for shape, dtype in
                           zip(_shapes(reader), _schema_to_tf_dtypes(schema))])

    if _rows_in_chunks(reader):
        return _chunked_rows_dataset(reader, row_type, signature)

    def dequeue_sample_impl():
        if reader.last_row_consumed:
            reader.reset()
        for row in reader:
            yield _sanitize_field_tf_types(row)

    return tf.data.Dataset.from_generator(dequeue_sample_impl, output_signature=signature)


def _rows_in_chunks(reader):
    """``True`` for a ``make_reader`` of ours whose every field has a fixed shape: its rows can cross into TF a
    decoded chunk at a time."""
    return (not reader.batched_output and hasattr(reader, '_iter_chunks')
            and all(None not in (f.shape or ()) for f in reader.schema.fields.values()))


def _chunked_rows_dataset(reader, row_type, signature):
    """The rows of ``reader`` as :func:`make_petastorm_dataset` gives them, handed to TF one decoded chunk at a
    time and split into rows by ``unbatch`` (one Python call per chunk rather than per row)."""
    chunk_signature = row_type(*[tf.TensorSpec((None,) + tuple(spec.shape), spec.dtype) for spec in signature])

    def chunks():
        if reader.last_row_consumed:
            reader.reset()
        for _, columns in reader._iter_chunks():
            yield row_type(*[_sanitize_value(name, _arrow.stack_rows(c) if isinstance(c, list) else c)
                             for name, c in zip(row_type._fields, columns)])

    return tf.data.Dataset.from_generator(chunks, output_signature=chunk_signature).unbatch()


def _py_func_value(v):
    if isinstance(v, np.ndarray) and v.dtype.type in (np.bytes_, np.str_) and v.size:
        return v.tolist()
    return v


def tf_tensors(reader, shuffling_queue_capacity=0, min_after_dequeue=0):
    """Graph-mode (``tf.compat.v1``) tensors that read the next row (or batch) each time they are
    evaluated: a namedtuple of tensors in schema order. Reading past the end raises
    ``tf.errors.OutOfRangeError``.

    :param reader: a :class:`~petastorm.reader.Reader`
    :param shuffling_queue_capacity: when > 0, rows pass through a ``tf.compat.v1.RandomShuffleQueue``
        (started with ``tf.compat.v1.train.start_queue_runners``); not for batched readers
    :param min_after_dequeue: the queue's ``min_after_dequeue``
    """
    if reader.batched_output and shuffling_queue_capacity > 0:
        raise ValueError('shuffling_queue_capacity can not be used with a reader that produces '
                         'batched_output, since each batch is a parquet read rowgroup. Extra '
                         'shuffling of the batches does not further decrease correlation.')
    schema = reader.schema
    if getattr(reader, 'ngram', None):
        flat = _ngram_flat_fields(reader)
        dtypes, shapes = [_field_tf_dtype(f) for f in flat], [f.shape for f in flat]
        sample = _flatten_ngram
        make = functools.partial(make_namedtuple_tf_ngram, schema, reader.ngram)
    else:
        dtypes, shapes = _schema_to_tf_dtypes(schema), _shapes(reader)
        sample = _sanitize_field_tf_types
        make = functools.partial(make_namedtuple_tf, schema)

    def dequeue_sample_impl(_):
        return [_py_func_value(v) for v in sample(next(reader))]

    fields = tf.compat.v1.py_func(dequeue_sample_impl, [tf.constant(1)], dtypes)
    if shuffling_queue_capacity > 0:
        queue = tf.compat.v1.RandomShuffleQueue(shuffling_queue_capacity, min_after_dequeue, dtypes)
        queue.size(name=RANDOM_SHUFFLING_QUEUE_SIZE)
        runner = tf.compat.v1.train.QueueRunner(queue, [queue.enqueue(fields)])
        tf.compat.v1.train.add_queue_runner(runner)
        fields = queue.dequeue()
        if not isinstance(fields, (list, tuple)):
            fields = [fields]
    for tensor, shape in zip(fields, shapes):
        tensor.set_shape(shape)
    return make(*fields)


# --- NGram readers: each item is {offset: namedtuple}; it crosses to TF as one flat tuple ------------

def _ngram_flat_fields(reader):
    """The fields of an NGram item in its flat order: offsets ascending, each offset's fields in schema order."""
    ngram, schema = reader.ngram, reader.schema
    offsets = range(min(ngram.fields), max(ngram.fields) + 1)
    return [f for k in offsets for f in ngram.get_schema_at_timestep(schema, k).fields.values()]


def _flatten_ngram(window):
    """An NGram item as one flat list of TF-compatible values (see :func:`_ngram_flat_fields`)."""
    return [v for k in sorted(window) for v in _sanitize_field_tf_types(window[k])]


def make_namedtuple_tf_ngram(unischema, ngram, *args, **kargs):
    """``{offset: namedtuple}`` for every offset of ``ngram`` (smallest to largest; an offset without fields gets
    an empty namedtuple): ``args`` are the values in flat order (offsets ascending, each offset's fields in
    schema order); ``kargs`` may give an offset's values instead, as ``str(offset)=dict``."""
    result, used = {}, 0
    for offset in range(min(ngram.fields), max(ngram.fields) + 1):
        view = ngram.get_schema_at_timestep(unischema, offset)
        count = 0 if str(offset) in kargs else len(view.fields)
        result[offset] = view._get_namedtuple()(*args[used:used + count], **kargs.get(str(offset), {}))
        used += count
    return result


def _ngram_dataset(reader):
    """``make_petastorm_dataset`` of an NGram reader: a dataset of ``{offset: namedtuple of tensors}``."""
    flat = _ngram_flat_fields(reader)
    signature = tuple(tf.TensorSpec(f.shape, _field_tf_dtype(f)) for f in flat)

    def windows():
        if reader.last_row_consumed:
            reader.reset()
        for window in reader:
            yield tuple(_flatten_ngram(window))

    dataset = tf.data.Dataset.from_generator(windows, output_signature=signature)
    return dataset.map(lambda *values: make_namedtuple_tf_ngram(reader.schema, reader.ngram, *values))


__all__ = ['make_petastorm_dataset', 'tf_tensors', 'make_namedtuple_tf', 'make_namedtuple_tf_ngram',
           'RANDOM_SHUFFLING_QUEUE_SIZE']
