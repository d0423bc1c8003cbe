"""Petastorm's JVM column functions from PySpark: encode (and decode) columns in the executor JVMs,
through JNI, instead of in Python workers.

A thin wrapper over ``spark._jvm.petastorm.sql.PetastormFunctions`` (see ``petastorm.sql.functions`` in
the jar): the Unischema crosses as its JSON form, columns as their JVM objects. The jar must be on
Spark's classpath: ``spark-submit --jars jvm/target/petastorm-native.jar ...`` or
``SparkSession.builder.config('spark.jars', '/path/to/petastorm-native.jar')``.

    from petastorm import jvm
    images = spark.read.format('image').load('/data/photos')
    df = images.select(images.image.origin.alias('path'), 'image')
    jvm.write_dataset(df, 'file:///tmp/photos', schema, row_group_size_mb=32)

Accepted columns (see the Scala docs): arrays (nested arrays give the shape) of numbers, booleans or
strings, converted to the field's dtype when the values fit; ``binary`` raw little-endian elements of
the field's dtype; Spark ``image`` structs (BGR), stored as RGB. A bad row fails the job with an error
naming the column and the field.
"""

_MISSING_JAR = (
    "petastorm's JVM classes (petastorm.sql.PetastormFunctions) are not on this Spark session's classpath. "
    "Add the jar when Spark starts: `spark-submit --jars /path/to/petastorm-native.jar ...`, or "
    "`SparkSession.builder.config('spark.jars', '/path/to/petastorm-native.jar')` (build it with "
    "scripts/build.sh: jvm/target/petastorm-native.jar).")


class JvmFunctionsUnavailableError(RuntimeError):
    """The petastorm jar is not on the Spark classpath (or the session has no JVM, e.g. Spark Connect)."""


def _session(spark):
    if spark is not None:
        return spark
    from pyspark.sql import SparkSession
    active = SparkSession.getActiveSession()
    if active is None:
        raise JvmFunctionsUnavailableError('no active SparkSession')
    return active


def _functions(spark=None):
    """The JVM class ``petastorm.sql.PetastormFunctions``, or a clear error when it is missing."""
    from py4j.java_gateway import JavaClass

    jvm = getattr(_session(spark), '_jvm', None)
    if jvm is None:
        raise JvmFunctionsUnavailableError(_MISSING_JAR + ' (this session has no JVM gateway: Spark Connect '
                                           'is not supported)')
    cls = jvm.petastorm.sql.PetastormFunctions
    if not isinstance(cls, JavaClass):  # py4j answers unknown classes with a JavaPackage
        raise JvmFunctionsUnavailableError(_MISSING_JAR)
    return cls


def _jschema(functions, schema):
    return functions.schemaFromJson(schema.to_json())


def _jcol(col):
    from pyspark.sql.classic.column import _to_java_column
    return _to_java_column(col)


def _column(jcol):
    from pyspark.sql.classic.column import Column
    return Column(jcol)


def _call(name, col, schema, field_name, *more):
    functions = _functions()
    return _column(getattr(functions, name)(_jcol(col), _jschema(functions, schema), field_name,
                                            *[_jcol(m) for m in more]))


def encode(col, schema, field_name, shape=None):
    """The cells of field ``field_name`` of ``schema`` encoded from ``col`` (a Column or a column name):
    ``binary`` for ndarray/image fields, the field's Spark type for scalar fields. ``shape``: an optional
    column of ``array<int>`` shapes (else nested arrays or the field's shape give it)."""
    if shape is None:
        return _call('encode', col, schema, field_name)
    return _call('encode', col, schema, field_name, shape)


def encode_image(col, schema, field_name):
    """Spark ``image`` structs (``spark.read.format('image')``, BGR) encoded as the field's RGB image."""
    return _call('encodeImage', col, schema, field_name)


def decode(col, schema, field_name):
    """Stored cells decoded into flat arrays (C order; ``uint8`` as ``smallint``, see the Scala docs)."""
    return _call('decode', col, schema, field_name)


def decode_shape(col, schema, field_name):
    """The shapes of stored cells, as ``array<int>``."""
    return _call('decodeShape', col, schema, field_name)


def decode_image(col, schema, field_name):
    """Stored images as Spark ``image`` structs (BGR, like ``spark.read.format('image')``)."""
    return _call('decodeImage', col, schema, field_name)


def image_schema(spark=None):
    """The Spark ``image`` struct type (``pyspark.sql.types.StructType``)."""
    import json

    from pyspark.sql.types import StructType
    return StructType.fromJson(json.loads(_functions(spark).imageSchema().json()))


def encode_dataframe(df, schema):
    """``df``'s columns encoded for ``schema`` (each field from the column of its name), in schema order."""
    from pyspark.sql.classic.dataframe import DataFrame

    functions = _functions(df.sparkSession)
    return DataFrame(functions.encodeDataFrame(df._jdf, _jschema(functions, schema)), df.sparkSession)


def write_dataset(df, dataset_url, schema, row_group_size_mb=256, mode='overwrite', shapes=None):
    """Encodes ``df`` for ``schema`` in the executor JVMs and writes a Petastorm dataset (Parquet plus
    ``_common_metadata``) to ``dataset_url``, like ``materialize_dataset`` around a Parquet write.
    ``shapes`` maps a field name to the column of its shapes (an array of integers per row) for fields
    whose values do not tell it, e.g. raw ``binary`` elements of a field with two open dimensions."""
    spark = df.sparkSession
    functions = _functions(spark)
    jshapes = spark._jvm.java.util.HashMap()
    for name, shape in (shapes or {}).items():
        jshapes.put(name, shape._jc)
    functions.writeDataset(df._jdf, dataset_url, _jschema(functions, schema), int(row_group_size_mb), mode, jshapes)


__all__ = ['JvmFunctionsUnavailableError', 'decode', 'decode_image', 'decode_shape', 'encode', 'encode_dataframe',
           'encode_image', 'image_schema', 'write_dataset']
