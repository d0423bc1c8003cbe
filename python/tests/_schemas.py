"""Schemas shared by the tests (importable as a plain module from the tests folder)."""
import numpy as np
from pyspark.sql.types import IntegerType

from petastorm.codecs import CompressedImageCodec, NdarrayCodec, ScalarCodec
from petastorm.unischema import Unischema, UnischemaField

HelloWorldSchema = Unischema('HelloWorldSchema', [
    UnischemaField('id', np.int32, (), ScalarCodec(IntegerType()), False),
    UnischemaField('image1', np.uint8, (128, 256, 3), CompressedImageCodec('png'), False),
    UnischemaField('other_data', np.uint8, (None, 128, 30, None), NdarrayCodec(), False),
])

HELLO_JSON = {"name": "HelloWorldSchema", "fields": [
    {"name": "id", "dtype": "int32", "shape": [], "nullable": False,
     "codec": {"type": "scalar", "spark_type": "integer"}},
    {"name": "image1", "dtype": "uint8", "shape": [128, 256, 3], "nullable": False,
     "codec": {"type": "compressed_image", "format": "png", "quality": 80}},
    {"name": "other_data", "dtype": "uint8", "shape": [None, 128, 30, None], "nullable": False,
     "codec": {"type": "ndarray"}}]}
