"""Writes an MNIST-like Petastorm dataset with PySpark: 28x28 uint8 images of ten
synthetic "digits" (each class draws its own stroke pattern, plus noise), under
``{output_url}/train`` and ``{output_url}/test``.

Usage: ``generate_mnist_like.py [output_url] [train_rows] [test_rows]``.
"""
import sys

import numpy as np
from pyspark.sql import SparkSession
from pyspark.sql.types import IntegerType

from petastorm.codecs import NdarrayCodec, ScalarCodec
from petastorm.etl.dataset_metadata import materialize_dataset
from petastorm.unischema import Unischema, UnischemaField, dict_to_spark_row

MnistSchema = Unischema('MnistSchema', [
    UnischemaField('idx', np.int64, (), ScalarCodec(IntegerType()), False),
    UnischemaField('digit', np.int64, (), ScalarCodec(IntegerType()), False),
    UnischemaField('image', np.uint8, (28, 28), NdarrayCodec(), False),
])


def synthetic_digit(idx):
    """Row ``idx``: class ``idx % 10`` draws a bar whose row and slant depend on the class."""
    digit = idx % 10
    rng = np.random.default_rng(idx)
    image = rng.integers(0, 60, size=(28, 28), dtype=np.uint8)
    rows = 3 + 2 * digit + (np.arange(4, 24) * (digit % 3 - 1)) // 8
    image[np.clip(rows, 0, 27), np.arange(4, 24)] = 255
    return {'idx': idx, 'digit': digit, 'image': image}


def generate(output_url='file:///tmp/mnist_like', train_rows=6000, test_rows=1000):
    spark = SparkSession.builder.master('local[2]').getOrCreate()
    for split, first, count in (('train', 0, train_rows), ('test', train_rows, test_rows)):
        url = f'{output_url}/{split}'
        with materialize_dataset(spark, url, MnistSchema, 32):
            rows = spark.sparkContext.parallelize(range(first, first + count)) \
                .map(synthetic_digit).map(lambda r: dict_to_spark_row(MnistSchema, r))
            spark.createDataFrame(rows, MnistSchema.as_spark_schema()).coalesce(4) \
                .write.mode('overwrite').parquet(url)
        print(f'wrote {count} rows to {url}')
    spark.stop()


if __name__ == '__main__':
    args = sys.argv[1:]
    generate(*args[:1], *map(int, args[1:3]))
