"""PySpark job: the hello-world dataset with deterministic values (the same values the
Scala example job ``petastorm.examples.HelloWorld`` writes), for cross-language tests.

Usage: ``spark-submit hello_world_deterministic.py OUTPUT_URL ROWS``.
"""
import sys

import numpy as np
from pyspark.sql import SparkSession
from pyspark.sql.types import IntegerType

from petastorm.codecs import CompressedImageCodec, NdarrayCodec, ScalarCodec
from petastorm.etl.dataset_metadata import materialize_dataset
from petastorm.unischema import Unischema, UnischemaField, dict_to_spark_row

HelloWorldSchema = Unischema('HelloWorldSchema', [
    UnischemaField('id', np.int32, (), ScalarCodec(IntegerType()), False),
    UnischemaField('image1', np.uint8, (128, 256, 3), CompressedImageCodec('png'), False),
    UnischemaField('other_data', np.uint8, (None, 128, 30, None), NdarrayCodec(), False),
])


def deterministic_row(i):
    """Row ``i``: image1[y,x,c] = (7i + 3y + 5x + 11c) % 256 and other_data of shape
    (2 + i%3, 128, 30, 1 + i%2) with [a,b,c,d] = (i + 13a + 7b + 3c + d) % 256."""
    y, x, c = np.ogrid[:128, :256, :3]
    image1 = ((i * 7 + y * 3 + x * 5 + c * 11) % 256).astype(np.uint8)
    a, b, c2, d = np.ogrid[:2 + i % 3, :128, :30, :1 + i % 2]
    other = ((i + a * 13 + b * 7 + c2 * 3 + d) % 256).astype(np.uint8)
    return {'id': i, 'image1': image1, 'other_data': other}


def main(output_url, rows):
    spark = SparkSession.builder.getOrCreate()
    with materialize_dataset(spark, output_url, HelloWorldSchema, 256):
        rdd = spark.sparkContext.parallelize(range(rows)) \
            .map(deterministic_row).map(lambda r: dict_to_spark_row(HelloWorldSchema, r))
        spark.createDataFrame(rdd, HelloWorldSchema.as_spark_schema()) \
            .coalesce(10).write.mode('overwrite').parquet(output_url)
    spark.stop()


if __name__ == '__main__':
    main(sys.argv[1], int(sys.argv[2]))
