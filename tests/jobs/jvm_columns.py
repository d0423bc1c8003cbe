"""PySpark job for tests/test_jvm_pipeline.py, run with the jar (``spark-submit --jars``):

1. the PySpark image-folder example (``examples/jvm_image_folder.py``) into ``OUT/images_py``;
2. the same deterministic rows written twice: from DataFrame columns encoded in the JVM
   (``petastorm.jvm.write_dataset``) into ``OUT/columns_jvm``, and through ``dict_to_spark_row``
   + ``materialize_dataset`` into ``OUT/columns_dict``;
3. ``OUT/decoded.json``: the JVM dataset read back with ``petastorm.jvm.decode*``.

Usage: ``spark-submit --jars petastorm-native.jar jvm_columns.py IMAGES_FOLDER OUT_DIR``.
"""
import base64
import json
import sys
from pathlib import Path

import numpy as np
from pyspark.sql import SparkSession
from pyspark.sql.types import (ArrayType, BinaryType, DoubleType, IntegerType, LongType, StringType, StructField,
                               StructType)

from petastorm import jvm
from petastorm.codecs import CompressedImageCodec, CompressedNdarrayCodec, NdarrayCodec, ScalarCodec
from petastorm.etl.dataset_metadata import materialize_dataset
from petastorm.unischema import Unischema, UnischemaField, dict_to_spark_row

ROWS = 5
ColumnsSchema = Unischema('JvmColumnsSchema', [
    UnischemaField('id', np.int32, (), ScalarCodec(IntegerType()), False),
    UnischemaField('image1', np.uint8, (8, 16, 3), CompressedImageCodec('png'), False),
    UnischemaField('other_data', np.uint8, (None, 4, 3, None), NdarrayCodec(), False),
    UnischemaField('matrix', np.float32, (None, 2), CompressedNdarrayCodec(), False),
    UnischemaField('label', np.str_, (), ScalarCodec(StringType()), True),
])
# How the DataFrame holds them: raw pixels, nested int arrays (their nesting is the shape), flat doubles.
COLUMN_TYPES = StructType([
    StructField('id', LongType()), StructField('image1', BinaryType()),
    StructField('other_data', ArrayType(ArrayType(ArrayType(ArrayType(IntegerType()))))),
    StructField('matrix', ArrayType(DoubleType())), StructField('label', StringType())])


def column_values(i):
    """Row ``i`` as NumPy values (``matrix`` as float64: the JVM path converts it to float32)."""
    rng = np.random.RandomState(i)
    return {'id': i, 'image1': rng.randint(0, 256, size=(8, 16, 3)).astype(np.uint8),
            'other_data': rng.randint(0, 256, size=(1 + i % 3, 4, 3, 2)).astype(np.uint8),
            'matrix': rng.randn(3 + i, 2), 'label': 'row-{}'.format(i) if i % 2 else None}


def write_columns(spark, out):
    values = [column_values(i) for i in range(ROWS)]
    rows = [(v['id'], v['image1'].tobytes(), v['other_data'].tolist(), v['matrix'].ravel().tolist(), v['label'])
            for v in values]
    jvm.write_dataset(spark.createDataFrame(rows, COLUMN_TYPES).repartition(2), str(out / 'columns_jvm'),
                      ColumnsSchema, 1)
    dict_url = str(out / 'columns_dict')
    with materialize_dataset(spark, dict_url, ColumnsSchema, 1):
        encoded = [dict_to_spark_row(ColumnsSchema, dict(v, matrix=v['matrix'].astype(np.float32))) for v in values]
        spark.createDataFrame(encoded, ColumnsSchema.as_spark_schema()).write.mode('overwrite').parquet(dict_url)


def write_decoded(spark, out):
    df = spark.read.parquet(str(out / 'columns_jvm'))
    decoded = df.select('id', jvm.decode('other_data', ColumnsSchema, 'other_data').alias('other'),
                        jvm.decode_shape(df.other_data, ColumnsSchema, 'other_data').alias('shape'),
                        jvm.decode('matrix', ColumnsSchema, 'matrix').alias('matrix'),
                        jvm.decode_image('image1', ColumnsSchema, 'image1').alias('image'))
    rows = [{'id': r.id, 'other': r.other, 'shape': r.shape, 'matrix': r.matrix,
             'image': dict(r.image.asDict(), data=base64.b64encode(r.image.data).decode())}
            for r in decoded.collect()]
    (out / 'decoded.json').write_text(json.dumps(rows))


def main(images_folder, out_dir):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'examples'))
    import jvm_image_folder

    out = Path(out_dir)
    spark = SparkSession.builder.getOrCreate()
    try:
        jvm_image_folder.run(spark, images_folder, str(out / 'images_py'))
        write_columns(spark, out)
        write_decoded(spark, out)
    finally:
        spark.stop()


if __name__ == '__main__':
    main(*sys.argv[1:])
