"""Datasets written by upstream Petastorm 0.13.1: every cell decodes as upstream decoded it."""
import json
import pickle

import numpy as np
import pyarrow.parquet as pq
import pytest

from petastorm.etl.dataset_metadata import UNISCHEMA_KEY, get_schema_from_dataset_url
from petastorm.unischema import Unischema, UnischemaField

DATASETS = ['hello', 'mnist', 'jpeg']


def _expected(fixtures_dir, name):
    return np.load(fixtures_dir / 'petastorm-0.13.1' / '{}.expected.npz'.format(name))


def _schema_from_expected(expected):
    """The Unischema that ``__fields__`` describes (codec reprs evaluated over our codec classes)."""
    import pyspark.sql.types as T
    from petastorm import codecs
    namespace = dict(vars(T), **vars(codecs))
    fields = [UnischemaField(name, np.dtype(dtype).type, tuple(shape), eval(codec, namespace), nullable)
              for name, dtype, shape, codec, nullable in json.loads(str(expected['__fields__']))]
    return Unischema('expected', fields)


def _describe(field):
    return [field.name, np.dtype(field.numpy_dtype).str, list(field.shape), repr(field.codec), field.nullable]


def _normalize(described):
    # `__fields__` was written from a real numpy str array; its dtype str has a width ('<U0')
    name, dtype, shape, codec, nullable = described
    return [name, dtype.rstrip('0123456789') if dtype[1] in 'US' else dtype, shape, codec, nullable]


@pytest.mark.parametrize('name', DATASETS)
def test_schema_from_metadata_matches_upstream_fields(fixtures_dir, name):
    expected = _expected(fixtures_dir, name)
    schema = get_schema_from_dataset_url('file://' + str(fixtures_dir / 'petastorm-0.13.1' / name))
    described = [_normalize(_describe(f)) for f in schema.fields.values()]
    assert described == [_normalize(f) for f in json.loads(str(expected['__fields__']))]


@pytest.mark.parametrize('name', DATASETS)
def test_upstream_pickle_loads_into_our_classes(fixtures_dir, name):
    path = fixtures_dir / 'petastorm-0.13.1' / name
    pickled = pq.read_metadata(path / '_common_metadata').metadata[UNISCHEMA_KEY]
    from_pickle = pickle.loads(pickled)  # trusted test data written by upstream Petastorm
    ours = _schema_from_expected(_expected(fixtures_dir, name))
    assert from_pickle.fields == ours.fields
    assert [f.codec for f in from_pickle.fields.values()] == [f.codec for f in ours.fields.values()]


@pytest.mark.parametrize('name', DATASETS)
def test_every_cell_decodes_like_upstream(fixtures_dir, name):
    path = fixtures_dir / 'petastorm-0.13.1' / name
    expected = _expected(fixtures_dir, name)
    nones = set(expected['__none__'].tolist())
    schema = _schema_from_expected(expected)
    id_field = 'idx' if name == 'mnist' else 'id'
    seen = set()
    for part in sorted(path.glob('part-*.parquet')):
        table = pq.read_table(part)
        for row in table.to_pylist():
            row_id = row[id_field]
            for field in schema.fields.values():
                key = '{}/{}'.format(field.name, row_id)
                seen.add(key)
                if row[field.name] is None:
                    assert key in nones
                    continue
                decoded = field.codec.decode(field, row[field.name])
                want = expected[key]
                if field.name == 'image' and name == 'jpeg':
                    assert decoded.shape == want.shape and decoded.dtype == want.dtype
                    diff = np.abs(decoded.astype(np.int16) - want.astype(np.int16))
                    assert diff.mean() < 1.0 and diff.max() <= 16, key
                elif want.ndim == 0:
                    assert decoded == want[()], key
                    assert np.asarray(decoded).dtype.kind == want.dtype.kind, key
                else:
                    assert decoded.dtype == want.dtype, key
                    np.testing.assert_array_equal(decoded, want, err_msg=key)
    assert seen - nones == {k for k in expected.files if not k.startswith('__')}
