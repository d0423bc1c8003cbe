"""A folder of JPEG/PNG files -> a Petastorm dataset from PySpark, encoded in the executor JVMs
(``petastorm.jvm``: no Python worker touches a pixel). The PySpark twin of the Scala job
``petastorm.examples.ImageFolderJob``; both write the same cells.

    .venv/bin/spark-submit --jars jvm/target/petastorm-native.jar examples/jvm_image_folder.py \\
        /path/to/images file:///tmp/images_dataset [png|jpeg]

Spark's image source decodes the files into BGR structs; ``petastorm.jvm.write_dataset`` converts them to
RGB, encodes them (PNG or JPEG) and writes Parquet plus ``_common_metadata``. Files the image source
cannot decode are skipped. Fields: ``path`` (the file's URI) and ``image`` (uint8, (H, W, 3), any size).
"""
import sys

import numpy as np
from pyspark.sql import SparkSession
from pyspark.sql.types import StringType

from petastorm import jvm
from petastorm.codecs import CompressedImageCodec, ScalarCodec
from petastorm.unischema import Unischema, UnischemaField


def image_folder_schema(image_format='png'):
    return Unischema('ImageFolderSchema', [
        UnischemaField('path', np.str_, (), ScalarCodec(StringType()), False),
        UnischemaField('image', np.uint8, (None, None, 3), CompressedImageCodec(image_format), False),
    ])


def run(spark, input_folder, output_url, image_format='png', row_group_size_mb=32):
    images = spark.read.format('image').option('dropInvalid', True).load(input_folder)
    df = images.select(images.image.origin.alias('path'), images.image.alias('image'))
    jvm.write_dataset(df, output_url, image_folder_schema(image_format), row_group_size_mb)


def main(argv):
    if len(argv) < 2:
        sys.exit('usage: jvm_image_folder.py <input_folder> <output_url> [png|jpeg]')
    builder = SparkSession.builder.appName('petastorm-native image folder (PySpark)')
    spark = builder.getOrCreate()
    try:
        run(spark, argv[0], argv[1], argv[2] if len(argv) > 2 else 'png')
    finally:
        spark.stop()


if __name__ == '__main__':
    main(sys.argv[1:])
