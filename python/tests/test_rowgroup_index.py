"""Row-group indexes and selectors on a dataset written by a real local Spark (several files, several row
groups each): indexes built by ``build_rowgroup_index`` equal a brute-force scan of the Parquet row groups,
selectors read exactly the row groups holding the values, and indexes upstream writes (pickles of its classes,
or upstream 0.13.1 itself when /tmp/upvenv exists) read here, and ours in upstream."""
import io
import json
import os
import pickle
import shutil
import subprocess
import textwrap
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from _reader_helpers import time_limit, url_of  # noqa: F401
from petastorm import _storage, make_batch_reader, make_reader
from petastorm.errors import PetastormMetadataError
from petastorm.etl.dataset_metadata import get_schema_from_dataset_url
from petastorm.etl.rowgroup_indexers import FieldNotNullIndexer, SingleFieldIndexer
from petastorm.etl.rowgroup_indexing import ROWGROUPS_INDEX_KEY, build_rowgroup_index, get_row_group_indexes
from petastorm.selectors import IntersectIndexSelector, SingleIndexSelector, UnionIndexSelector

UPSTREAM_PYTHON = Path('/tmp/upvenv/bin/python')
ROWS = 600
INDEX_KEY = ROWGROUPS_INDEX_KEY.decode()


def _row_maker():
    # a local function: cloudpickle ships it to Spark's Python workers by value
    def make_row(i):
        import numpy as np
        rng = np.random.RandomState(i)
        return {'id': np.int32(i),
                'bucket': np.int32(i // 70),
                'label': None if (i // 100) % 3 == 1 else 'label_{}'.format(i % 4),
                'sensors': np.array([i % 5, 10 + i // 200], dtype=np.int32),
                'payload': rng.randint(0, 255, size=(30, 1000)).astype(np.uint8)}  # 30 KB: ~30 rows per row group
    return make_row


def _schema():
    from pyspark.sql.types import IntegerType, StringType
    from petastorm.codecs import NdarrayCodec, ScalarCodec
    from petastorm.unischema import Unischema, UnischemaField
    return Unischema('IndexedSchema', [
        UnischemaField('id', np.int32, (), ScalarCodec(IntegerType()), False),
        UnischemaField('bucket', np.int32, (), ScalarCodec(IntegerType()), False),
        UnischemaField('label', np.str_, (), ScalarCodec(StringType()), True),
        UnischemaField('sensors', np.int32, (2,), NdarrayCodec(), False),
        UnischemaField('payload', np.uint8, (30, 1000), NdarrayCodec(), False),
    ])


@pytest.fixture(scope='module')
def dataset(spark, tmp_path_factory):
    """``(url, path)`` of the Spark-written dataset (3 files, rows in id order, 1 MB row groups)."""
    from petastorm.etl.dataset_metadata import materialize_dataset
    from petastorm.unischema import dict_to_spark_row
    path = tmp_path_factory.mktemp('indexed') / 'dataset'
    url = url_of(path)
    schema, make_row = _schema(), _row_maker()
    with materialize_dataset(spark, url, schema, row_group_size_mb=1):
        rdd = spark.sparkContext.parallelize(range(ROWS), 3).map(lambda i: dict_to_spark_row(schema, make_row(i)))
        spark.createDataFrame(rdd, schema.as_spark_schema()).write.parquet(url)
    return url, path


def _pieces(path):
    """Brute force: ``[{'id': [...], 'bucket': [...], 'label': [...], 'sensors': [...]}]`` for every row group,
    files sorted by path (upstream's piece order), decoded with pyarrow and NumPy only."""
    pieces = []
    for file in sorted(str(p) for p in path.rglob('*.parquet')):
        parquet = pq.ParquetFile(file)
        for group in range(parquet.num_row_groups):
            table = parquet.read_row_group(group, columns=['id', 'bucket', 'label', 'sensors']).to_pydict()
            table['sensors'] = [np.load(io.BytesIO(cell)).tolist() for cell in table['sensors']]
            pieces.append(table)
    return pieces


def _where(pieces, test):
    return {i for i, piece in enumerate(pieces) if test(piece)}


def _ids(pieces, selected):
    return sorted(i for p in selected for i in pieces[p]['id'])


@pytest.fixture(scope='module')
def indexed(spark, dataset):
    """The dataset with three indexes built by ``build_rowgroup_index``; ``(url, path, brute-force pieces)``."""
    url, path = dataset
    build_rowgroup_index(url, spark.sparkContext, [SingleFieldIndexer('by_bucket', 'bucket'),
                                                   SingleFieldIndexer('by_sensor', 'sensors'),
                                                   FieldNotNullIndexer('has_label', 'label')])
    pieces = _pieces(path)
    assert len(pieces) >= 6, 'the dataset should have several row groups per file, got {}'.format(len(pieces))
    return url, path, pieces


def _read_ids(url, selector, batched=False):
    make = make_batch_reader if batched else make_reader
    with make(url, schema_fields=['id'], rowgroup_selector=selector, shuffle_row_groups=False) as reader:
        if batched:
            return sorted(int(i) for batch in reader for i in batch.id)
        return sorted(int(row.id) for row in reader)


def test_indexes_equal_a_brute_force_scan(indexed):
    url, path, pieces = indexed
    indexes = get_row_group_indexes(url)
    assert set(indexes) == {'by_bucket', 'by_sensor', 'has_label'}
    by_bucket = indexes['by_bucket']
    assert by_bucket.index_name == 'by_bucket' and by_bucket.column_names == ['bucket']
    buckets = {b for p in pieces for b in p['bucket']}
    assert sorted(int(v) for v in by_bucket.indexed_values) == sorted(buckets)
    for bucket in buckets:
        assert by_bucket.get_row_group_indexes(bucket) == _where(pieces, lambda p: bucket in p['bucket'])
    assert by_bucket.get_row_group_indexes(10 ** 6) == set()
    by_sensor = indexes['by_sensor']
    sensors = {s for p in pieces for cell in p['sensors'] for s in cell}
    assert sorted(int(v) for v in by_sensor.indexed_values) == sorted(sensors)
    for sensor in sensors:
        assert by_sensor.get_row_group_indexes(sensor) == \
            _where(pieces, lambda p: any(sensor in cell for cell in p['sensors']))
    has_label = indexes['has_label']
    assert has_label.indexed_values == ['Field is Not Null']
    expected = _where(pieces, lambda p: any(label is not None for label in p['label']))
    assert has_label.get_row_group_indexes() == expected
    assert 0 < len(expected) < len(pieces)
    # The rest of _common_metadata is intact: the Unischema and the row groups per file.
    assert get_schema_from_dataset_url(url).fields.keys() == _schema().fields.keys()
    metadata = pq.read_metadata(str(path / '_common_metadata')).metadata
    counts = json.loads(metadata[b'dataset-toolkit.num_row_groups_per_file.v1'])
    assert sum(counts.values()) == len(pieces)


def test_single_index_selector_reads_exactly_the_selected_row_groups(indexed):
    url, _, pieces = indexed
    for values in ([2], [0, 5, 8], [10 ** 6, 3]):
        selected = _where(pieces, lambda p: any(v in p['bucket'] for v in values))
        ids = _read_ids(url, SingleIndexSelector('by_bucket', values))
        assert ids == _ids(pieces, selected)
        assert {i // 70 for i in ids} >= set(v for v in values if v < 10 ** 6)
    with make_reader(url, schema_fields=['id'], rowgroup_selector=SingleIndexSelector('by_bucket', [2])) as reader:
        assert reader.diagnostics['row_groups'] == len(_where(pieces, lambda p: 2 in p['bucket']))


def test_intersect_and_union_selectors(indexed):
    url, _, pieces = indexed
    bucket = SingleIndexSelector('by_bucket', [3, 7])
    sensor = SingleIndexSelector('by_sensor', [11])
    in_bucket = _where(pieces, lambda p: 3 in p['bucket'] or 7 in p['bucket'])
    with_sensor = _where(pieces, lambda p: any(11 in cell for cell in p['sensors']))
    assert in_bucket & with_sensor and in_bucket - with_sensor  # the intersection is a real restriction
    assert _read_ids(url, IntersectIndexSelector([bucket, sensor])) == _ids(pieces, in_bucket & with_sensor)
    assert _read_ids(url, UnionIndexSelector([bucket, sensor])) == _ids(pieces, in_bucket | with_sensor)
    assert IntersectIndexSelector([bucket, sensor]).get_index_names() == ['by_bucket', 'by_sensor']


def test_field_not_null_selector_and_batch_reader(indexed):
    url, _, pieces = indexed
    labelled = _where(pieces, lambda p: any(label is not None for label in p['label']))
    assert _read_ids(url, SingleIndexSelector('has_label', [None])) == _ids(pieces, labelled)
    assert _read_ids(url, SingleIndexSelector('has_label', [None]), batched=True) == _ids(pieces, labelled)
    selected = _where(pieces, lambda p: 4 in p['bucket'])
    assert _read_ids(url, SingleIndexSelector('by_bucket', [4]), batched=True) == _ids(pieces, selected)


def test_selector_errors(indexed, dataset, tmp_path):
    url, path, _ = indexed
    with pytest.raises(ValueError, match=r"required indexes \['no_such_index'\].*by_bucket"):
        make_reader(url, rowgroup_selector=SingleIndexSelector('no_such_index', [1]))
    with pytest.raises(ValueError, match='RowGroupSelectorBase'):
        make_reader(url, rowgroup_selector=[1, 2])
    with pytest.raises(ValueError, match='not a list of files'):
        make_reader([url_of(p) for p in sorted(path.rglob('*.parquet'))],
                    rowgroup_selector=SingleIndexSelector('by_bucket', [1]))
    bare = tmp_path / 'bare'
    shutil.copytree(path, bare)
    _storage.write_common_metadata(_schema()._native(), url_of(bare))  # regenerated: no index
    with pytest.raises(ValueError, match='Row groups index is not available'):
        make_reader(url_of(bare), rowgroup_selector=SingleIndexSelector('by_bucket', [1]))
    with pytest.raises(ValueError, match="Cannot index field.*'nope'"):
        build_rowgroup_index(url_of(bare), None, [SingleFieldIndexer('x', 'nope')])


def test_indexes_pickled_as_upstream_pickles_them_load_and_select(indexed, tmp_path):
    """Upstream stores ``pickle.dumps({name: indexer})`` of classes at the same module paths, with NumPy scalar
    keys; older writers used lower protocols (protocol 0 goes through ``copy_reg._reconstructor``)."""
    url, path, pieces = indexed
    copy = tmp_path / 'copy'
    shutil.copytree(path, copy)
    indexer = SingleFieldIndexer('by_bucket', 'bucket')
    for number, piece in enumerate(pieces):
        indexer.build_index([{'bucket': np.int32(b)} for b in piece['bucket']], number)
    for protocol in (0, 2, pickle.HIGHEST_PROTOCOL):
        data = pickle.dumps({'by_bucket': indexer}, protocol)
        assert b'petastorm.etl.rowgroup_indexers' in data and b'SingleFieldIndexer' in data
        _storage.set_metadata(url_of(copy), INDEX_KEY, data)
        selected = _where(pieces, lambda p: 3 in p['bucket'])
        assert _read_ids(url_of(copy), SingleIndexSelector('by_bucket', [np.int32(3)])) == _ids(pieces, selected)


def test_an_index_pickle_with_other_globals_is_refused(indexed, tmp_path):
    url, path, _ = indexed
    copy = tmp_path / 'evil'
    shutil.copytree(path, copy)
    marker = tmp_path / 'pwned'

    class Evil(object):
        def __reduce__(self):
            return (os.system, ('touch {}'.format(marker),))

    _storage.set_metadata(url_of(copy), INDEX_KEY, pickle.dumps({'by_bucket': Evil()}))
    with pytest.raises(PetastormMetadataError, match=r'not allowed in a row-group index'):
        get_row_group_indexes(url_of(copy))
    assert not marker.exists()


_UPSTREAM_SCRIPT = textwrap.dedent('''
    import json, sys
    import pyarrow.parquet as pq
    from pyspark.sql import SparkSession
    from petastorm.etl.rowgroup_indexing import build_rowgroup_index, get_row_group_indexes
    from petastorm.etl.rowgroup_indexers import SingleFieldIndexer
    ours, theirs = sys.argv[1], sys.argv[2]
    # 1. upstream reads the index we wrote
    index = get_row_group_indexes(pq.ParquetDataset(ours, validate_schema=False))
    by_bucket = index['by_bucket']
    read = {str(int(v)): sorted(by_bucket.get_row_group_indexes(v)) for v in by_bucket.indexed_values}
    # 2. upstream builds its own index
    spark = SparkSession.builder.master('local[1]').config('spark.ui.enabled', 'false').getOrCreate()
    build_rowgroup_index('file://' + theirs, spark.sparkContext, [SingleFieldIndexer('up_bucket', 'bucket')])
    spark.stop()
    print(json.dumps(read))
''')


@pytest.mark.skipif(not UPSTREAM_PYTHON.exists(), reason='upstream Petastorm 0.13.1 venv (/tmp/upvenv) not present')
def test_upstream_reads_our_index_and_we_read_upstreams(indexed, tmp_path):
    url, path, pieces = indexed
    theirs = tmp_path / 'theirs'
    shutil.copytree(path, theirs)
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'PYSPARK_PYTHON', 'PYSPARK_DRIVER_PYTHON')}
    env.update(PYSPARK_PYTHON=str(UPSTREAM_PYTHON), PYSPARK_DRIVER_PYTHON=str(UPSTREAM_PYTHON))
    done = subprocess.run([str(UPSTREAM_PYTHON), '-c', _UPSTREAM_SCRIPT, str(path), str(theirs)], cwd=str(tmp_path),
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    read_by_upstream = json.loads(done.stdout.strip().splitlines()[-1])
    truth = defaultdict(set)
    for number, piece in enumerate(pieces):
        for bucket in piece['bucket']:
            truth[str(bucket)].add(number)
    assert read_by_upstream == {k: sorted(v) for k, v in truth.items()}
    # The index upstream wrote reads here and selects the same rows. (Upstream rewrote _common_metadata with
    # pyarrow 10, which moved the Unischema keys into the embedded ARROW:schema: the schema is inferred then.)
    up_index = get_row_group_indexes(url_of(theirs))
    assert {str(int(v)): sorted(up_index['up_bucket'].get_row_group_indexes(v))
            for v in up_index['up_bucket'].indexed_values} == read_by_upstream
    selected = _where(pieces, lambda p: 6 in p['bucket'])
    assert _read_ids(url_of(theirs), SingleIndexSelector('up_bucket', [6])) == _ids(pieces, selected)


def test_indexers_merge_like_upstream():
    a, b = SingleFieldIndexer('i', 'f'), SingleFieldIndexer('i', 'f')
    a.build_index([{'f': 1}, {'f': None}, {'f': np.array([2, 3])}], 0)
    b.build_index([{'f': 1}], 4)
    merged = a + b
    assert merged is a and a.get_row_group_indexes(1) == {0, 4} and a.get_row_group_indexes(3) == {0}
    with pytest.raises(TypeError):
        a + FieldNotNullIndexer('i', 'f')
    with pytest.raises(ValueError, match='same fields'):
        a + SingleFieldIndexer('i', 'g')
    with pytest.raises(ValueError, match="empty rows, column 'f'"):
        FieldNotNullIndexer('n', 'f').build_index([], 0)
    not_null = FieldNotNullIndexer('n', 'f')
    not_null.build_index([{'f': None}], 0)
    not_null.build_index([{'f': None}, {'f': 'x'}], 1)
    assert not_null.get_row_group_indexes() == {1}
    with pytest.raises(ValueError, match='at least one selector'):
        UnionIndexSelector([])
