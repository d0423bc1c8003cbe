"""The hello-world write journey end to end: the Python and Scala jobs write
byte-identical cells for the same values, and the metadata matches the files."""
import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from e2e import ROOT, run_scala_example, spark_submit
from jobs.hello_world_deterministic import deterministic_row

ROWS = 6
UNISCHEMA_JSON_KEY = b'dataset-toolkit.unischema.json.v1'
ROW_GROUPS_KEY = b'dataset-toolkit.num_row_groups_per_file.v1'


def read_cells(path):
    """All rows of a dataset directory, sorted by id, as a list of dicts."""
    files = sorted(p for p in path.rglob('*.parquet') if not p.name.startswith(('_', '.')))
    rows = [r for f in files for r in pq.read_table(f).to_pylist()]
    return sorted(rows, key=lambda r: r['id'])


@pytest.fixture(scope='module')
def python_dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp('py') / 'hello'
    spark_submit(ROOT / 'tests' / 'jobs' / 'hello_world_deterministic.py', out.as_uri(), ROWS)
    return out


@pytest.fixture(scope='module')
def scala_dataset(tmp_path_factory, examples_jar):
    out = tmp_path_factory.mktemp('scala') / 'hello'
    run_scala_example('HelloWorld', out.as_uri(), ROWS)
    return out


def test_python_and_scala_cells_are_byte_identical(python_dataset, scala_dataset):
    py_rows, scala_rows = read_cells(python_dataset), read_cells(scala_dataset)
    assert [r['id'] for r in py_rows] == list(range(ROWS))
    assert py_rows == scala_rows


def test_cells_decode_to_the_values_written(python_dataset):
    from petastorm.etl.dataset_metadata import get_schema_from_dataset_url
    schema = get_schema_from_dataset_url(python_dataset.as_uri())
    for row in read_cells(python_dataset):
        expected = deterministic_row(row['id'])
        for name in ('image1', 'other_data'):
            field = schema.fields[name]
            decoded = field.codec.decode(field, row[name])
            np.testing.assert_array_equal(decoded, expected[name])


@pytest.mark.parametrize('which', ['python', 'scala'])
def test_common_metadata_matches_files(which, request):
    path = request.getfixturevalue(f'{which}_dataset')
    meta = pq.read_metadata(path / '_common_metadata').metadata
    counts = json.loads(meta[ROW_GROUPS_KEY])
    on_disk = {str(p.relative_to(path)): pq.read_metadata(p).num_row_groups
               for p in path.rglob('*.parquet') if not p.name.startswith('_')}
    assert counts == on_disk
    schema = json.loads(meta[UNISCHEMA_JSON_KEY])
    assert schema['name'] == 'HelloWorldSchema'
    assert [f['name'] for f in schema['fields']] == ['id', 'image1', 'other_data']
    assert not list(path.glob('_common_metadata.tmp*'))
