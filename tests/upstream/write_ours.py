"""Writes the interop datasets with every write path of this project, for upstream Petastorm to read
(``scripts/interop.sh``). Run with ``spark-submit --jars petastorm-native.jar write_ours.py OUT_DIR``.

Into ``OUT_DIR``, one dataset per path, each beside ``<name>.expected.npz`` (the values written, in the
compatibility fixtures' format: key ``FIELD/ID``, ``__none__`` for the None cells):

* ``py_materialize``: ``dict_to_spark_row`` + ``materialize_dataset`` around Spark's Parquet writer;
* ``py_partitioned``: the same, Hive-partitioned by ``partition_key``;
* ``py_write_dataset``: ``write_dataset`` (Python workers, native Parquet writer);
* ``scala_write_dataset``: DataFrame columns encoded in the JVM and written by the Scala
  ``petastorm.etl.DatasetWriter.writeDataset`` (called through ``petastorm.jvm``).

Every codec appears: scalars of several Spark types, NPY, NPZ, PNG (RGB uint8, gray uint16), JPEG,
and nullable scalar and tensor fields.
"""
import sys
from pathlib import Path

import numpy as np
from pyspark.sql import SparkSession
from pyspark.sql.types import (ArrayType, BinaryType, BooleanType, DoubleType, FloatType, IntegerType, LongType,
                               ShortType, StringType, StructField, StructType)

from petastorm import jvm
from petastorm.codecs import CompressedImageCodec, CompressedNdarrayCodec, NdarrayCodec, ScalarCodec
from petastorm.etl.dataset_metadata import materialize_dataset, write_dataset
from petastorm.unischema import Unischema, UnischemaField, dict_to_spark_row

ROWS = 12
FIELDS = [
    UnischemaField('id', np.int32, (), ScalarCodec(IntegerType()), False),
    UnischemaField('id_long', np.int64, (), ScalarCodec(LongType()), False),
    UnischemaField('small', np.int16, (), ScalarCodec(ShortType()), False),
    UnischemaField('ratio', np.float32, (), ScalarCodec(FloatType()), False),
    UnischemaField('value', np.float64, (), ScalarCodec(DoubleType()), False),
    UnischemaField('flag', np.bool_, (), ScalarCodec(BooleanType()), False),
    UnischemaField('label', np.str_, (), ScalarCodec(StringType()), True),
    UnischemaField('maybe_int', np.int32, (), ScalarCodec(IntegerType()), True),
    UnischemaField('image_png', np.uint8, (8, 16, 3), CompressedImageCodec('png'), False),
    UnischemaField('depth_png', np.uint16, (8, 16), CompressedImageCodec('png'), False),
    UnischemaField('image_jpeg', np.uint8, (16, 16, 3), CompressedImageCodec('jpeg', quality=95), False),
    UnischemaField('tensor', np.float32, (None, 3), NdarrayCodec(), False),
    UnischemaField('tensor_nullable', np.int64, (2, None), NdarrayCodec(), True),
    UnischemaField('packed', np.float64, (4, 5), CompressedNdarrayCodec(), False),
]
Schema = Unischema('InteropSchema', FIELDS)
PartitionedSchema = Unischema('InteropPartitionedSchema', FIELDS + [
    UnischemaField('partition_key', np.str_, (), ScalarCodec(StringType()), False)])
# The JVM path's columns: integers and doubles as Spark gives them, tensors as nested arrays, JPEG/PNG pixels raw.
SCALA_COLUMNS = StructType([
    StructField('id', LongType()), StructField('id_long', LongType()), StructField('small', IntegerType()),
    StructField('ratio', DoubleType()), StructField('value', DoubleType()), StructField('flag', BooleanType()),
    StructField('label', StringType()), StructField('maybe_int', LongType()),
    StructField('image_png', BinaryType()), StructField('depth_png', ArrayType(ArrayType(IntegerType()))),
    StructField('image_jpeg', BinaryType()), StructField('tensor', ArrayType(ArrayType(DoubleType()))),
    StructField('tensor_nullable', ArrayType(ArrayType(LongType()))),
    StructField('packed', ArrayType(ArrayType(DoubleType())))])


def row_values(i):
    """Row ``i``: deterministic values; JPEG a smooth gradient (lossy codecs keep it within a few levels)."""
    rng = np.random.RandomState(i)
    gradient = (np.add.outer(np.arange(16), np.arange(16)) * 4 + i).astype(np.uint8)
    return {
        'id': np.int32(i), 'id_long': np.int64(i * 10_000_000_000), 'small': np.int16(-i),
        'ratio': np.float32(i / 8), 'value': np.float64(i * 0.1), 'flag': np.bool_(i % 2 == 0),
        'label': None if i % 3 == 0 else 'label {}'.format(i),
        'maybe_int': None if i % 4 == 1 else np.int32(i * 7),
        'image_png': rng.randint(0, 256, size=(8, 16, 3)).astype(np.uint8),
        'depth_png': rng.randint(0, 65536, size=(8, 16)).astype(np.uint16),
        'image_jpeg': np.stack([gradient, gradient[::-1], gradient.T], axis=-1),
        'tensor': rng.randn(1 + i % 4, 3).astype(np.float32),
        'tensor_nullable': None if i % 5 == 2 else rng.randint(-1000, 1000, size=(2, 1 + i % 3)).astype(np.int64),
        'packed': rng.randn(4, 5),
    }


def save_expected(path, rows):
    cells, nones = {}, []
    for row in rows:
        for name, value in row.items():
            key = '{}/{}'.format(name, row['id'])
            if value is None:
                nones.append(key)
            else:
                cells[key] = np.asarray(value)
    np.savez_compressed(path, __none__=np.array(nones), **cells)


def materialized(spark, url, schema, rows, partition_by=None):
    with materialize_dataset(spark, url, schema, 1):
        df = spark.createDataFrame([dict_to_spark_row(schema, r) for r in rows], schema.as_spark_schema())
        writer = df.repartition(3).write.mode('overwrite')
        (writer.partitionBy(partition_by) if partition_by else writer).parquet(url)


def scala_rows(rows):
    def nested(value):
        return None if value is None else value.tolist()
    return [(int(r['id']), int(r['id_long']), int(r['small']), float(r['ratio']), float(r['value']), bool(r['flag']),
             r['label'], None if r['maybe_int'] is None else int(r['maybe_int']), r['image_png'].tobytes(),
             nested(r['depth_png']), r['image_jpeg'].tobytes(), nested(r['tensor'].astype(np.float64)),
             nested(r['tensor_nullable']), nested(r['packed'])) for r in rows]


def main(out_dir):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    spark = SparkSession.builder.getOrCreate()
    rows = [row_values(i) for i in range(ROWS)]
    try:
        materialized(spark, (out / 'py_materialize').as_uri(), Schema, rows)
        save_expected(out / 'py_materialize.expected.npz', rows)

        keyed = [dict(r, partition_key='p{}'.format(int(r['id']) % 3)) for r in rows]
        materialized(spark, (out / 'py_partitioned').as_uri(), PartitionedSchema, keyed, 'partition_key')
        save_expected(out / 'py_partitioned.expected.npz', keyed)

        write_dataset(spark, spark.sparkContext.parallelize(rows, 3), (out / 'py_write_dataset').as_uri(), Schema, 1)
        save_expected(out / 'py_write_dataset.expected.npz', rows)

        df = spark.createDataFrame(scala_rows(rows), SCALA_COLUMNS).repartition(3)
        jvm.write_dataset(df, (out / 'scala_write_dataset').as_uri(), Schema, row_group_size_mb=1)
        save_expected(out / 'scala_write_dataset.expected.npz', rows)
    finally:
        spark.stop()


if __name__ == '__main__':
    main(sys.argv[1])
