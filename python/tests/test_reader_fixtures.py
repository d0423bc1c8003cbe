"""Every compatibility fixture (legacy 0.4.0-0.7.6 and 0.13.1) read with make_reader: row count,
fields, shapes, and every value as upstream Petastorm decoded it (``*.expected.npz``)."""
import decimal
import json

import numpy as np
import pytest

from _reader_helpers import FIXTURES, time_limit, url_of  # noqa: F401
from petastorm import make_batch_reader, make_reader



LEGACY_VERSIONS = ['0.4.0', '0.4.3', '0.5.1', '0.6.0', '0.7.0', '0.7.6']
LEGACY_BASE_FIELDS = {'decimal', 'empty_matrix_string', 'id', 'id2', 'image_png', 'matrix', 'matrix_nullable',
                      'matrix_string', 'matrix_uint16', 'python_primitive_uint8', 'sensor_name',
                      'string_array_nullable', 'partition_key'}
LEGACY_FIELDS = {
    '0.4.0': LEGACY_BASE_FIELDS, '0.4.3': LEGACY_BASE_FIELDS,
    '0.5.1': LEGACY_BASE_FIELDS | {'id_float', 'id_odd'}, '0.6.0': LEGACY_BASE_FIELDS | {'id_float', 'id_odd'},
    '0.7.0': LEGACY_BASE_FIELDS | {'id_float', 'id_odd'},
    '0.7.6': LEGACY_BASE_FIELDS | {'id_float', 'id_odd', 'integer_nullable', 'matrix_uint32'},
}
CURRENT = {'hello': (20, 'id'), 'mnist': (300, 'idx'), 'jpeg': (40, 'id')}


def _read_all(url, **kwargs):
    with make_reader(url, workers_count=2, **kwargs) as reader:
        rows = list(reader)
        schema = reader.schema
    return schema, rows


def _assert_shape_fits(value, field):
    shape = field.shape
    if value is None:
        assert field.nullable, field.name
        return
    if shape == ():
        assert np.ndim(value) == 0, field.name
        return
    assert isinstance(value, np.ndarray) and value.ndim == len(shape), field.name
    for got, want in zip(value.shape, shape):
        assert want is None or got == want, (field.name, value.shape, shape)


def _assert_value(got, want, key, jpeg=False):
    if jpeg:
        assert got.shape == want.shape and got.dtype == want.dtype, key
        diff = np.abs(got.astype(np.int16) - want.astype(np.int16))
        assert diff.mean() < 1.0 and diff.max() <= 16, key
    elif want.ndim == 0 and want.dtype.kind == 'U' and isinstance(got, decimal.Decimal):
        assert got == decimal.Decimal(str(want[()])), key
    elif want.ndim == 0:
        assert not isinstance(got, np.ndarray) and got == want[()], (key, got, want)
        if want.dtype.kind == 'U':
            assert isinstance(got, str), key
        else:
            assert np.asarray(got).dtype == want.dtype, (key, type(got))
    else:
        assert isinstance(got, np.ndarray), key
        if want.dtype.kind in 'US':
            assert got.dtype.kind == want.dtype.kind, key
        else:
            assert got.dtype == want.dtype, key
        np.testing.assert_array_equal(got, want, err_msg=key)


def _assert_matches_expected(rows, expected, id_field, jpeg_field=None):
    nones = set(expected['__none__'].tolist())
    seen = set()
    for row in rows:
        row_id = int(getattr(row, id_field))
        for name, got in row._asdict().items():
            key = '{}/{}'.format(name, row_id)
            if key in nones:
                assert got is None, key
                continue
            assert key in expected.files, key
            _assert_value(got, expected[key], key, jpeg=(name == jpeg_field))
            seen.add(key)
    assert seen == {k for k in expected.files if not k.startswith('__')}


@pytest.mark.parametrize('name', sorted(CURRENT))
def test_petastorm_0_13_1(name):
    count, id_field = CURRENT[name]
    expected = np.load(FIXTURES / 'petastorm-0.13.1' / '{}.expected.npz'.format(name))
    schema, rows = _read_all(url_of(FIXTURES / 'petastorm-0.13.1' / name))
    described = json.loads(str(expected['__fields__']))
    assert len(rows) == count
    assert set(schema.fields) == {f[0] for f in described}
    assert sorted(int(getattr(r, id_field)) for r in rows) == sorted(set(int(getattr(r, id_field)) for r in rows))
    for row in rows:
        for field in schema.fields.values():
            _assert_shape_fits(getattr(row, field.name), field)
    _assert_matches_expected(rows, expected, id_field, jpeg_field='image' if name == 'jpeg' else None)


@pytest.mark.parametrize('version', LEGACY_VERSIONS)
def test_legacy(version):
    schema, rows = _read_all(url_of(FIXTURES / 'petastorm-legacy' / version))
    assert len(rows) == 100
    assert set(schema.fields) == LEGACY_FIELDS[version]
    assert sorted(int(r.id) for r in rows) == list(range(100))
    for row in rows:
        for field in schema.fields.values():
            _assert_shape_fits(getattr(row, field.name), field)
        assert row.partition_key == 'p_{}'.format(int(row.id) // 10)  # ids 10k..10k+9 are in partition_key=p_k
        assert isinstance(row.decimal, decimal.Decimal)
        assert row.image_png.shape == (32, 16, 3) and row.image_png.dtype == np.uint8
        assert row.matrix.dtype == np.float32 and row.matrix_uint16.dtype == np.uint16
    if version == '0.7.6':
        expected = np.load(FIXTURES / 'petastorm-legacy' / '0.7.6.expected.npz')
        _assert_matches_expected(rows, expected, 'id')


def test_legacy_schema_fields_and_partition_predicate():
    from petastorm.predicates import in_set
    url = url_of(FIXTURES / 'petastorm-legacy' / '0.7.6')
    schema, rows = _read_all(url, schema_fields=['id', 'matrix.*'], predicate=in_set({'p_3'}, 'partition_key'))
    assert list(schema.fields) == ['id', 'matrix', 'matrix_nullable', 'matrix_string', 'matrix_uint16',
                                   'matrix_uint32']
    assert rows and all(set(r._fields) == set(schema.fields) for r in rows)
    full = {int(r.id): r.partition_key for r in _read_all(url, schema_fields=['id', 'partition_key'])[1]}
    assert sorted(int(r.id) for r in rows) == sorted(i for i, p in full.items() if p == 'p_3')


@pytest.mark.parametrize('name', sorted(CURRENT))
def test_batch_reader_on_fixture(name):
    count, id_field = CURRENT[name]
    ids = []
    with make_batch_reader(url_of(FIXTURES / 'petastorm-0.13.1' / name), workers_count=2) as reader:
        for batch in reader:
            column = getattr(batch, id_field)
            assert isinstance(column, np.ndarray) and column.ndim == 1
            ids.extend(column.tolist())
    assert len(ids) == count and len(set(ids)) == count
