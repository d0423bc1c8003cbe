"""The task side of :func:`petastorm.etl.dataset_metadata.write_dataset`: a PySpark worker checks and
encodes the row dicts of its partition and writes them into one Parquet part file with the native
writer (no row goes through the JVM), on any store of the native storage layer."""
import functools
import itertools

from petastorm import _native, _storage, codecs

_NO_ROW = object()


def write_partition(schema, url, storage_options, job, row_group_bytes, compression, partition, rows):
    """Writes the row dicts ``rows`` of ``partition`` to this task attempt's staging file of ``job``
    (a ``mapPartitionsWithIndex`` function once the other arguments are bound).

    Returns ``[(partition, staging URL)]``, or ``[]`` for an empty partition other than 0 (partition 0
    always writes a file, so that an empty input gives a readable dataset). On an error the writer is
    closed unfinished (an upload is aborted; the driver's abort or commit removes staged local files)."""
    rows = iter(rows)
    first = next(rows, _NO_ROW)
    if first is _NO_ROW and partition != 0:
        return []
    from pyspark import TaskContext
    part = _storage.part_url(url, job, partition, TaskContext.get().taskAttemptId())
    handle = schema._native()
    fields = list(schema.fields.values())
    with _native.NativeWriter(handle, part, row_group_bytes, compression,
                              _storage.options_json(storage_options)) as writer:
        if first is not _NO_ROW:
            for row in itertools.chain([first], rows):
                _put_row(writer, handle, fields, row)
        writer.finish()
    return [(partition, part)]


def _put_row(writer, handle, fields, row):
    """Checks ``row`` as ``dict_to_spark_row`` does and puts it into the writer as one row."""
    handle.validate_row(list(row), [k for k, v in row.items() if v is None])
    for index, field in enumerate(fields):
        value = row.get(field.name)
        if value is None:
            writer.put(index, None)
        elif field.codec is None or isinstance(field.codec, codecs.ScalarCodec) or codecs.is_custom(field.codec):
            writer.put(index, codecs.encode_field(handle, index, field, value))
        else:
            codecs.call_with_array(functools.partial(writer.put_array, index), value, ndarray_only=True)
    writer.end_row()
