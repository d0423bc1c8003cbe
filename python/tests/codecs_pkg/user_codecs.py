"""A user's codec as upstream's interface defines it (``DataframeColumnCodec``): int64 vectors stored as
little-endian bytes shifted by a plain-data ``offset``. Importable by our package and by upstream's."""
import numpy as np
from petastorm.codecs import DataframeColumnCodec


class OffsetCodec(DataframeColumnCodec):
    def __init__(self, offset):
        self.offset = offset
        self.labels = {'unit': 'ticks', 'dims': [None]}

    def encode(self, unischema_field, value):
        return bytearray((np.asarray(value, dtype=np.int64) + self.offset).astype('<i8').tobytes())

    def decode(self, unischema_field, value):
        return np.frombuffer(value, dtype='<i8').astype(np.int64) - self.offset

    def spark_dtype(self):
        from pyspark.sql.types import BinaryType
        return BinaryType()


class NotPlainCodec(OffsetCodec):
    """State that is not plain data: refused by name when the schema is stored."""

    def __init__(self):
        super().__init__(0)
        self.dtype = np.dtype('int64')
