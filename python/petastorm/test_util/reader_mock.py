"""``ReaderMock``: an endless reader of generated rows, for unit tests of code that consumes a
:class:`~petastorm.reader.Reader` (upstream's ``petastorm.test_util.reader_mock``)."""
from decimal import Decimal

import numpy as np


class ReaderMock(object):
    """Yields ``schema_data_generator(schema)`` as the schema's namedtuple on every ``next``, forever.

    :param schema: a :class:`~petastorm.unischema.Unischema`
    :param schema_data_generator: a function of the schema returning a dict of field name to value
    :param ngram: must be ``None`` (``ValueError`` otherwise, as upstream)
    """

    def __init__(self, schema, schema_data_generator, ngram=None):
        if ngram is not None:
            raise ValueError('Sequence argument not supported for ReaderMock')
        self.schema = schema
        self.schema_data_generator = schema_data_generator
        self.ngram = ngram
        self.batched_output = False
        self.is_batched_reader = False
        self.last_row_consumed = False

    def fetch(self):
        """One generated row as the schema's namedtuple."""
        return self.schema.make_namedtuple(**self.schema_data_generator(self.schema))

    def __iter__(self):
        return self

    def __next__(self):
        return self.fetch()

    def next(self):
        return self.__next__()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        pass

    def stop(self):
        pass

    def join(self):
        pass

    def reset(self):
        pass


def schema_data_generator_example(schema):
    """Placeholder values for every field of ``schema``: ``Decimal('0.0')``, ``'default'`` strings and zeros,
    each variable dimension of a shape taken as 10."""
    values = {}
    for field in schema.fields.values():
        if field.numpy_dtype is Decimal:
            values[field.name] = Decimal('0.0')
            continue
        shape = tuple(10 if dim is None else dim for dim in field.shape)
        kind = np.dtype(field.numpy_dtype).kind
        if kind in 'SU':
            values[field.name] = np.full(shape, 'default' if kind == 'U' else b'default')
        else:
            values[field.name] = np.zeros(shape, dtype=field.numpy_dtype)
    return values


__all__ = ['ReaderMock', 'schema_data_generator_example']
