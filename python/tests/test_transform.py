"""petastorm.transform: transform_schema like upstream, and TransformSpec applied by make_reader
(per row dict) and make_batch_reader (per pandas DataFrame)."""
import numpy as np
import pytest

from _reader_helpers import ROWS_COUNT, TestSchema, test_dataset, time_limit  # noqa: F401
from petastorm import make_batch_reader, make_reader
from petastorm.predicates import in_lambda
from petastorm.transform import TransformSpec, edit_field, transform_schema


def test_transform_schema_removed_and_edited():
    spec = TransformSpec(lambda r: r, edit_fields=[('matrix', np.float64, (12,), False), ('extra', np.int8, (), True)],
                         removed_fields=['image', 'label'])
    schema = transform_schema(TestSchema, spec)
    names = list(schema.fields)
    assert 'image' not in names and 'label' not in names
    assert names[-2:] == ['matrix', 'extra']
    assert schema.fields['matrix'].numpy_dtype == np.float64 and schema.fields['matrix'].shape == (12,)
    assert schema.fields['matrix'].codec is None and schema.fields['extra'].nullable
    assert schema._name == 'TestSchema_transformed'


def test_transform_schema_selected_fields_order():
    spec = TransformSpec(selected_fields=['score', 'id', 'missing'])
    with pytest.warns(UserWarning, match='missing'):
        schema = transform_schema(TestSchema, spec)
    assert list(schema.fields) == ['score', 'id']


def test_transform_spec_arguments():
    with pytest.raises(ValueError):
        TransformSpec(removed_fields=['a'], selected_fields=['b'])
    with pytest.warns(UserWarning, match='nope'):
        transform_schema(TestSchema, TransformSpec(removed_fields=['nope']))
    assert edit_field('a', np.int32, ()) == ('a', np.int32, (), False)
    spec = TransformSpec()
    assert spec.func is None and spec.edit_fields == [] and spec.removed_fields == [] and spec.selected_fields is None


def _row_func(row):
    row['matrix'] = row['matrix'].astype(np.float64).ravel() * 2
    row['id_plus'] = np.int64(row['id'] + 1000)
    del row['image']
    return row


ROW_SPEC = dict(edit_fields=[('matrix', np.float64, (12,), False), ('id_plus', np.int64, (), False)],
                removed_fields=['image'])


def test_make_reader_transform_func(test_dataset):
    url, rows = test_dataset
    spec = TransformSpec(_row_func, **ROW_SPEC)
    with make_reader(url, schema_fields=['id', 'matrix', 'image', 'label'], transform_spec=spec,
                     workers_count=2) as reader:
        assert list(reader.schema.fields) == ['id', 'label', 'matrix', 'id_plus']
        got = list(reader)
    assert len(got) == ROWS_COUNT
    for row in got:
        assert row._fields == ('id', 'label', 'matrix', 'id_plus')
        i = int(row.id)
        assert row.id_plus == i + 1000
        np.testing.assert_array_equal(row.matrix, rows[i]['matrix'].astype(np.float64).ravel() * 2)


@pytest.mark.parametrize('factory', [make_reader, make_batch_reader])
def test_removed_and_selected_fields_without_func(test_dataset, factory):
    url, _ = test_dataset
    with factory(url, transform_spec=TransformSpec(removed_fields=['image', 'matrix']), workers_count=2) as reader:
        item = next(reader)
        assert 'image' not in reader.schema.fields and 'matrix' not in reader.schema.fields
        assert item._fields == tuple(reader.schema.fields)
    with factory(url, transform_spec=TransformSpec(selected_fields=['label', 'id']), workers_count=2) as reader:
        item = next(reader)
        assert item._fields == ('label', 'id')


def test_make_reader_transform_with_python_predicate(test_dataset):
    url, _ = test_dataset
    spec = TransformSpec(lambda row: dict(row, id=row['id'] * 10))
    with make_reader(url, schema_fields=['id'], transform_spec=spec,
                     predicate=in_lambda(['id'], lambda i: i < 5), workers_count=2) as reader:
        assert sorted(int(r.id) for r in reader) == [0, 10, 20, 30, 40]  # predicate sees pre-transform values


def test_make_reader_transform_missing_field_is_an_error(test_dataset):
    url, _ = test_dataset
    spec = TransformSpec(lambda row: {'id': row['id']}, edit_fields=[('new', np.int32, (), False)])
    with make_reader(url, schema_fields=['id'], transform_spec=spec, workers_count=1) as reader:
        with pytest.raises(ValueError, match='new'):
            next(reader)


def test_make_batch_reader_transform_on_dataframe(test_dataset):
    import pandas as pd
    url, rows = test_dataset
    seen = []

    def frame_func(frame):
        seen.append(type(frame))
        frame = frame.copy()
        frame['score2'] = frame['score'] * 2
        frame['first'] = frame['matrix'].map(lambda m: m[0, 0])
        frame['doubled'] = frame['matrix'].map(lambda m: (m * 2).astype(np.float32))
        return frame.drop(columns=['label'])

    spec = TransformSpec(frame_func, edit_fields=[('score2', np.float64, (), False), ('first', np.float32, (), False),
                                                  ('doubled', np.float32, (4, 3), False)],
                         removed_fields=['label'])
    with make_batch_reader(url, schema_fields=['id', 'score', 'label', 'matrix'], transform_spec=spec,
                           workers_count=2) as reader:
        assert list(reader.schema.fields) == ['id', 'score', 'matrix', 'score2', 'first', 'doubled']
        batches = list(reader)
    assert seen and all(t is pd.DataFrame for t in seen)
    total = 0
    for batch in batches:
        assert batch.doubled.shape == (len(batch.id), 4, 3) and batch.doubled.dtype == np.float32
        for k, i in enumerate(batch.id):
            assert batch.score2[k] == rows[int(i)]['score'] * 2
            assert batch.first[k] == rows[int(i)]['matrix'][0, 0]
            np.testing.assert_array_equal(batch.doubled[k], rows[int(i)]['matrix'] * 2)
        total += len(batch.id)
    assert total == ROWS_COUNT
