"""The task side of :func:`petastorm.etl.dataset_metadata.write_dataset`: a PySpark worker checks and
encodes the row dicts of its partition and writes them into one Parquet part file with the native
writer (no row goes through the JVM)."""
import functools
import itertools
import os

from petastorm import _native, codecs

_NO_ROW = object()


def write_partition(schema, url, job, row_group_bytes, compression, partition, rows):
    """Writes the row dicts ``rows`` of ``partition`` to this task attempt's staging file of ``job``
    (a ``mapPartitionsWithIndex`` function once the other arguments are bound).

    Returns ``[(partition, path)]``, or ``[]`` for an empty partition other than 0 (partition 0
    always writes a file, so that an empty input gives a readable dataset). On any error the file
    is deleted and the error re-raised."""
    rows = iter(rows)
    first = next(rows, _NO_ROW)
    if first is _NO_ROW and partition != 0:
        return []
    from pyspark import TaskContext
    path = _native.dataset_part_path(url, job, partition, TaskContext.get().taskAttemptId())
    handle = schema._native()
    fields = list(schema.fields.values())
    try:
        with _native.NativeWriter(handle, path, row_group_bytes, compression) as writer:
            if first is not _NO_ROW:
                for row in itertools.chain([first], rows):
                    _put_row(writer, handle, fields, row)
            writer.finish()
    except BaseException:
        try:
            os.remove(path)
        except FileNotFoundError:
            pass
        raise
    return [(partition, path)]


def _put_row(writer, handle, fields, row):
    """Checks ``row`` as ``dict_to_spark_row`` does and puts it into the writer as one row."""
    handle.validate_row(list(row), [k for k, v in row.items() if v is None])
    for index, field in enumerate(fields):
        value = row.get(field.name)
        if value is None:
            writer.put(index, None)
        elif field.codec is None or isinstance(field.codec, codecs.ScalarCodec):
            writer.put(index, codecs.encode_field(handle, index, field, value))
        else:
            codecs.call_with_array(functools.partial(writer.put_array, index), value, ndarray_only=True)
    writer.end_row()
