"""NGram windows read with make_reader from a dataset written by Spark (8 files, half of them with their
timestamps descending), compared with a brute-force reference of upstream's rule computed from the row
groups as pyarrow reads them."""
import glob
import os
from itertools import pairwise

import numpy as np
import pyarrow.parquet as pq
import pytest
from _reader_helpers import time_limit, url_of  # noqa: F401
from petastorm import make_batch_reader, make_reader
from petastorm.ngram import NGram
from petastorm.predicates import in_set

ROWS = 240
PARTITIONS = 8
GAPS = [1, 1, 2, 3, 0, 7, 1, 4]  # 0: equal timestamps, 7: a wide gap


def _timestamps():
    """Timestamps by row id: increasing, except in odd Spark partitions where they run backwards."""
    ts = np.cumsum([GAPS[(i * 7919) % len(GAPS)] for i in range(ROWS)]).astype(np.int64)
    chunk = ROWS // PARTITIONS
    for c in range(1, PARTITIONS, 2):
        ts[c * chunk:(c + 1) * chunk] = ts[c * chunk:(c + 1) * chunk][::-1].copy()
    return ts


def _row_maker(ts):
    def make_row(i):
        import numpy as np
        return {'id': np.int32(i), 'ts': np.int64(ts[i]), 'sensor': f'sensor_{i}',
                'vec': np.arange(3, dtype=np.float32) + i}
    return make_row


def _schema():
    from petastorm.codecs import NdarrayCodec, ScalarCodec
    from petastorm.unischema import Unischema, UnischemaField
    from pyspark.sql.types import IntegerType, LongType, StringType
    return Unischema('NGramSchema', [
        UnischemaField('id', np.int32, (), ScalarCodec(IntegerType()), False),
        UnischemaField('ts', np.int64, (), ScalarCodec(LongType()), False),
        UnischemaField('sensor', np.str_, (), ScalarCodec(StringType()), False),
        UnischemaField('vec', np.float32, (3,), NdarrayCodec(), False),
    ])


@pytest.fixture(scope='module')
def dataset(spark, tmp_path_factory):
    """``(url, schema, row groups)``: each row group a list of ``(ts, id)`` in stored order, row groups
    in the reader's order without shuffling (files sorted by path)."""
    from petastorm.etl.dataset_metadata import materialize_dataset
    from petastorm.unischema import dict_to_spark_row
    path = tmp_path_factory.mktemp('ngram') / 'dataset'
    url = url_of(path)
    schema = _schema()
    make_row = _row_maker(_timestamps())
    with materialize_dataset(spark, url, schema, row_group_size_mb=1):
        rdd = spark.sparkContext.parallelize(range(ROWS), PARTITIONS).map(
            lambda i: dict_to_spark_row(schema, make_row(i)))
        df = spark.createDataFrame(rdd, schema.as_spark_schema())
        # row groups of ~512 KiB: about 10 rows each
        df.write.option('parquet.block.size', str(512 * 1024)).mode('overwrite').parquet(url)
    groups = []
    for name in sorted(glob.glob(os.path.join(str(path), 'part-*.parquet'))):
        pf = pq.ParquetFile(name)
        for g in range(pf.num_row_groups):
            table = pf.read_row_group(g, columns=['ts', 'id'])
            groups.append(list(zip(table.column('ts').to_pylist(), table.column('id').to_pylist())))
    assert len(groups) >= PARTITIONS, 'a row group per Spark partition at least'
    return url, schema, groups


def reference(groups, length, delta, overlap, keep=lambda row_id: True):
    """Upstream's rule, brute force: per row group, the kept rows sorted by timestamp, every run of
    ``length`` rows checked one by one; the ids of each window taken."""
    windows = []
    for group in groups:
        rows = sorted([r for r in group if keep(r[1])], key=lambda r: r[0])
        prev_end = None
        for i in range(len(rows) - length + 1):
            run = rows[i:i + length]
            if not overlap and prev_end is not None and run[0][0] <= prev_end:
                continue
            if all(b[0] - a[0] <= delta for a, b in pairwise(run)):
                windows.append(tuple(r[1] for r in run))
                if not overlap:
                    prev_end = run[-1][0]
    return windows


def _ids(window):
    """The row ids of a window read with an ``id`` at every offset."""
    return tuple(int(window[k].id) for k in sorted(window))


def _read(url, ngram, **kwargs):
    kwargs.setdefault('shuffle_row_groups', False)
    with make_reader(url, schema_fields=ngram, **kwargs) as reader:
        return list(reader)


@pytest.mark.parametrize('delta', [1, 2, 5])
@pytest.mark.parametrize('overlap', [True, False])
def test_windows_equal_the_reference(dataset, delta, overlap):
    url, schema, groups = dataset
    fields = {-1: [schema.id, schema.ts], 0: [schema.id, schema.vec], 1: ['id', 'sen.*']}
    windows = _read(url, NGram(fields, delta, schema.ts, timestamp_overlap=overlap))
    expected = reference(groups, 3, delta, overlap)
    assert expected, 'the reference has windows'
    assert [_ids(w) for w in windows] == expected
    ts = _timestamps()
    for w in windows:
        assert list(w) == [-1, 0, 1]
        assert w[-1]._fields == ('id', 'ts') and w[0]._fields == ('id', 'vec') and w[1]._fields == ('id', 'sensor')
        assert w[-1].ts == ts[w[-1].id]
        np.testing.assert_array_equal(w[0].vec, np.arange(3, dtype=np.float32) + w[0].id)
        assert w[1].sensor == f'sensor_{w[1].id}'


def test_a_gap_offset_is_an_empty_tuple_and_the_timestamp_need_not_be_returned(dataset):
    url, schema, groups = dataset
    windows = _read(url, NGram({-2: [schema.id], 0: [schema.id, schema.sensor]}, 3, 'ts'))
    assert [(int(w[-2].id), int(w[0].id)) for w in windows] == [(r[0], r[2]) for r in reference(groups, 3, 3, True)]
    assert all(list(w) == [-2, -1, 0] and w[-1] == () and w[0]._fields == ('id', 'sensor') for w in windows)


def test_single_offset_without_overlap_skips_repeated_timestamps(dataset):
    url, schema, groups = dataset
    windows = _read(url, NGram({5: [schema.id]}, 0, schema.ts, timestamp_overlap=False))
    assert [(int(w[5].id),) for w in windows] == reference(groups, 1, 0, False)
    assert len(windows) < ROWS, 'rows with a repeated timestamp are left out'


def test_shuffle_rows_shuffles_whole_windows(dataset):
    url, schema, groups = dataset
    ngram = NGram({0: [schema.id], 1: [schema.id], 2: [schema.id]}, 3, schema.ts)
    ordered = [_ids(w) for w in _read(url, ngram)]
    first = [_ids(w) for w in _read(url, ngram, shuffle_rows=True, seed=7)]
    again = [_ids(w) for w in _read(url, ngram, shuffle_rows=True, seed=7)]
    assert first == again, 'same seed, same order'
    assert first != ordered
    assert sorted(first) == sorted(ordered) == sorted(reference(groups, 3, 3, True))


def test_row_drop_partitions_keep_windows_across_part_boundaries(dataset):
    url, schema, groups = dataset
    ngram = NGram({0: [schema.id], 1: [schema.id], 2: [schema.id]}, 2, schema.ts)
    windows = [_ids(w) for w in _read(url, ngram, shuffle_row_drop_partitions=2)]
    assert sorted(windows) == sorted(reference(groups, 3, 2, True))
    with pytest.raises(NotImplementedError, match='timestamp_overlap=False'):
        make_reader(url, schema_fields=NGram({0: [schema.id], 1: [schema.id]}, 2, schema.ts, timestamp_overlap=False),
                    shuffle_row_drop_partitions=2)


def test_native_predicate_filters_rows_before_windows(dataset):
    url, schema, groups = dataset
    kept = [i for i in range(ROWS) if i % 5 != 2]
    ngram = NGram({0: [schema.id], 1: [schema.id]}, 4, schema.ts)
    windows = [_ids(w) for w in _read(url, ngram, predicate=in_set(kept, 'id'))]
    assert windows == reference(groups, 2, 4, True, keep=lambda i: i % 5 != 2)


def test_errors(dataset):
    url, schema, _ = dataset
    ngram = NGram({0: [schema.id], 1: [schema.id]}, 1, schema.ts)
    with pytest.raises(NotImplementedError, match='ngrams are not supported by ArrowReaderWorker'):
        make_batch_reader(url, schema_fields=ngram)
    with pytest.raises(ValueError, match="timestamp_field 'missing' is not a field of the dataset"):
        make_reader(url, schema_fields=NGram({0: [schema.id]}, 1, 'missing'))
    with pytest.raises(ValueError, match='timestamp_field was matched to more than one'):
        make_reader(url, schema_fields=NGram({0: [schema.id]}, 1, '.*'))
    with pytest.raises(ValueError, match='delta_threshold must be a number'):
        NGram({0: [schema.id]}, None, schema.ts)
    with pytest.raises(ValueError, match='must be a list'):
        NGram({0: schema.id}, 1, schema.ts)
    with pytest.raises(TypeError, match="ngram timestamp field 'sensor' must hold numbers"):
        make_reader(url, schema_fields=NGram({0: [schema.id], 1: [schema.id]}, 1, schema.sensor))


def test_make_petastorm_dataset_and_tf_tensors(dataset):
    import tensorflow as tf
    from petastorm.tf_utils import make_petastorm_dataset, tf_tensors
    url, schema, groups = dataset
    fields = {-1: [schema.id, schema.vec], 1: [schema.id, schema.sensor]}
    expected = [(r[0], r[2]) for r in reference(groups, 3, 5, True)]
    ngram = NGram(fields, 5, schema.ts)
    with make_reader(url, schema_fields=ngram, shuffle_row_groups=False) as reader:
        ds = make_petastorm_dataset(reader)
        assert ds.element_spec[-1].vec.shape == (3,) and ds.element_spec[1].sensor.dtype == tf.string
        got = []
        for w in ds:
            assert sorted(w) == [-1, 0, 1] and w[0] == ()
            np.testing.assert_array_equal(w[-1].vec.numpy(), np.arange(3, dtype=np.float32) + w[-1].id.numpy())
            assert w[1].sensor.numpy().decode() == f'sensor_{w[1].id.numpy()}'
            got.append((int(w[-1].id.numpy()), int(w[1].id.numpy())))
        assert got == expected

    with tf.Graph().as_default(), \
            make_reader(url, schema_fields=NGram(fields, 5, schema.ts), shuffle_row_groups=False) as reader:
        tensors = tf_tensors(reader)
        assert tensors[-1].vec.shape.as_list() == [3] and tensors[1].id.dtype == tf.int32
        with tf.compat.v1.Session() as sess:
            for want in expected[:5]:
                w = sess.run(tensors)
                assert (int(w[-1].id), int(w[1].id)) == want
                assert w[1].sensor.decode() == f'sensor_{want[1]}'
