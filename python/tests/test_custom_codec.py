"""A user's ``DataframeColumnCodec`` subclass in a Unischema: written by Spark (``dict_to_spark_row``,
``materialize_dataset``), stored in the pickled schema as upstream stores it, and decoded cell by cell
through the user's ``decode`` by ``make_reader`` and ``make_batch_reader`` while the other fields stay
native. The class is resolved only when its module is already imported."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from _reader_helpers import url_of

sys.path.insert(0, str(Path(__file__).parent / 'codecs_pkg'))
import user_codecs  # noqa: E402
from petastorm import make_batch_reader, make_reader  # noqa: E402
from petastorm.codecs import NdarrayCodec, ScalarCodec  # noqa: E402
from petastorm.unischema import Unischema, UnischemaField, dict_to_spark_row  # noqa: E402

UPSTREAM_PYTHON = Path('/tmp/upvenv/bin/python')


def _schema(codec):
    from pyspark.sql.types import IntegerType
    return Unischema('CustomSchema', [
        UnischemaField('id', np.int32, (), ScalarCodec(IntegerType()), False),
        UnischemaField('ticks', np.int64, (None,), codec, True),
        UnischemaField('matrix', np.float32, (2, 3), NdarrayCodec(), False),
    ])


def _row(i):
    return {'id': np.int32(i), 'ticks': None if i % 4 == 3 else np.arange(i % 5, dtype=np.int64) * i,
            'matrix': np.full((2, 3), i, dtype=np.float32)}


@pytest.fixture(scope='module')
def dataset(spark, tmp_path_factory):
    from petastorm.etl.dataset_metadata import materialize_dataset
    url = url_of(tmp_path_factory.mktemp('custom') / 'ds')
    schema = _schema(user_codecs.OffsetCodec(1000))
    with materialize_dataset(spark, url, schema, row_group_size_mb=1):
        rows = [dict_to_spark_row(schema, _row(i)) for i in range(20)]
        spark.createDataFrame(rows, schema.as_spark_schema()).coalesce(2).write.mode('overwrite').parquet(url)
    return url


def _check_row(row):
    want = _row(int(row.id))
    if want['ticks'] is None:
        assert row.ticks is None
    else:
        assert row.ticks.dtype == np.int64
        np.testing.assert_array_equal(row.ticks, want['ticks'])
    np.testing.assert_array_equal(row.matrix, want['matrix'])


def test_stored_cells_are_the_codecs_bytes(dataset):
    table = pq.read_table(dataset[len('file://'):], columns=['id', 'ticks'])
    for i, cell in zip(table.column('id').to_pylist(), table.column('ticks').to_pylist()):
        want = _row(i)['ticks']
        assert cell == (None if want is None else (want + 1000).astype('<i8').tobytes())


def test_make_reader_decodes_through_the_codec(dataset):
    with make_reader(dataset, workers_count=2) as reader:
        codec = reader.schema.fields['ticks'].codec
        assert type(codec) is user_codecs.OffsetCodec and codec.offset == 1000
        assert codec.labels == {'unit': 'ticks', 'dims': [None]}
        rows = list(reader)
    assert sorted(int(r.id) for r in rows) == list(range(20))
    for row in rows:
        _check_row(row)


def test_make_batch_reader_decodes_through_the_codec(dataset):
    seen = 0
    with make_batch_reader(dataset, workers_count=2, schema_fields=['id', 'ticks', 'matrix']) as reader:
        for batch in reader:
            assert batch.matrix.shape == (len(batch.id), 2, 3)
            for i, ticks, matrix in zip(batch.id, batch.ticks, batch.matrix):
                _check_row(reader.schema.make_namedtuple(id=i, ticks=ticks, matrix=matrix))
                seen += 1
    assert seen == 20


def test_pickled_schema_alone_is_enough(dataset, tmp_path):
    """A dataset whose ``_common_metadata`` holds only upstream's pickle (no JSON form)."""
    import shutil
    copy = tmp_path / 'pickle_only'
    shutil.copytree(dataset[len('file://'):], copy)
    meta = pq.read_metadata(copy / '_common_metadata')
    kv = {k: v for k, v in meta.metadata.items() if b'json' not in k}
    assert b'dataset-toolkit.unischema.v1' in kv and len(kv) < len(meta.metadata)
    pq.write_metadata(meta.schema.to_arrow_schema().with_metadata(kv), copy / '_common_metadata')
    with make_reader(url_of(copy), workers_count=1) as reader:
        assert type(reader.schema.fields['ticks'].codec) is user_codecs.OffsetCodec
        for row in reader:
            _check_row(row)


def test_unimported_codec_module_is_a_clear_error(dataset, monkeypatch):
    monkeypatch.delitem(sys.modules, 'user_codecs')
    with pytest.raises(ImportError) as e:
        make_reader(dataset, workers_count=1)
    message = str(e.value)
    assert "field 'ticks'" in message and 'user_codecs.OffsetCodec' in message and 'import user_codecs' in message
    assert 'user_codecs' not in sys.modules  # never imported on the dataset's behalf


def test_a_class_that_is_not_a_codec_is_refused(dataset, monkeypatch):
    monkeypatch.setattr(user_codecs, 'OffsetCodec', dict)
    with pytest.raises(TypeError, match=r"field 'ticks'.*user_codecs\.OffsetCodec.*DataframeColumnCodec"):
        make_batch_reader(dataset, workers_count=1)


def test_codec_state_must_be_plain_data():
    with pytest.raises(ValueError, match=r"field 'ticks'.*user_codecs\.NotPlainCodec.*plain data"):
        _schema(user_codecs.NotPlainCodec()).to_json()


@pytest.mark.skipif(not UPSTREAM_PYTHON.exists(), reason='upstream Petastorm 0.13.1 venv not installed')
def test_upstream_unpickles_the_schema_with_the_codec(dataset):
    """Upstream's classes load our pickle with the user's codec object in it. (Upstream's own
    ``make_reader`` then refuses it: its restricted unpickler allows only classes of the packages
    petastorm, numpy, pyspark, collections, decimal and builtins — the README says so.)"""
    script = ('''import pickle, pyarrow.parquet as pq, user_codecs
from petastorm.etl.legacy import restricted_loads
raw = pq.read_metadata({path!r}).metadata[b'dataset-toolkit.unischema.v1']
schema = pickle.loads(raw)
codec = schema.fields['ticks'].codec
assert type(codec) is user_codecs.OffsetCodec and codec.offset == 1000, vars(codec)
assert codec.decode(schema.ticks, codec.encode(schema.ticks, [1, 2])).tolist() == [1, 2]
assert type(schema.matrix.codec).__name__ == 'NdarrayCodec'
try:
    restricted_loads(raw)
except pickle.UnpicklingError as e:
    print('refused:', e)
''').format(path=dataset[len('file://'):] + '/_common_metadata')
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parent / 'codecs_pkg'))
    out = subprocess.run([str(UPSTREAM_PYTHON), '-c', script], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "refused: global 'user_codecs.OffsetCodec' is forbidden" in out.stdout
