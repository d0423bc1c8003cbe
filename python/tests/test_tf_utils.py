"""petastorm.tf_utils: make_petastorm_dataset (TF2 eager) and tf_tensors (graph mode, tf.compat.v1)."""
import decimal

import numpy as np
import pytest
import tensorflow as tf

from _reader_helpers import ROWS_COUNT, test_dataset, time_limit  # noqa: F401
from petastorm import make_batch_reader, make_reader
from petastorm.tf_utils import (RANDOM_SHUFFLING_QUEUE_SIZE, _numpy_to_tf_dtypes, _rows_in_chunks,
                                _sanitize_field_tf_types, make_petastorm_dataset, tf_tensors)

FIELDS = ['id', 'id2', 'label', 'score', 'flag', 'price', 'matrix', 'ragged', 'image', 'packed']


def test_dtype_mapping():
    assert _numpy_to_tf_dtypes(np.int32) == tf.int32
    assert _numpy_to_tf_dtypes(np.uint16) == tf.int32
    assert _numpy_to_tf_dtypes(np.uint32) == tf.int64
    assert _numpy_to_tf_dtypes(decimal.Decimal) == tf.string
    assert _numpy_to_tf_dtypes(np.bool_) == tf.bool
    with pytest.warns(UnicodeWarning):
        assert _numpy_to_tf_dtypes(np.str_) == tf.string
    with pytest.raises(ValueError):
        _numpy_to_tf_dtypes(np.complex64)


def test_sanitize():
    from collections import namedtuple
    Row = namedtuple('Row', ['d', 'u', 't', 'objs', 'dates'])
    row = Row(decimal.Decimal('1.500'), np.arange(3, dtype=np.uint16), np.array(['2020-01-02'], dtype='datetime64[D]'),
              np.array([decimal.Decimal('2.0'), decimal.Decimal('3.10')], dtype=object),
              np.datetime64('1970-01-02'))
    out = _sanitize_field_tf_types(row)
    assert isinstance(out, Row)
    assert out.d == '1.5' and out.u.dtype == np.int32
    assert out.t.tolist() == [1577923200 * 10**9]
    assert out.objs.tolist() == ['2', '3.1']
    assert out.dates == 86400 * 10**9
    with pytest.raises(RuntimeError, match='None'):
        _sanitize_field_tf_types(Row(None, 1, 2, 3, 4))


def _check_row(row, want):
    assert row.matrix.shape == (4, 3) and row.matrix.dtype == tf.float32
    np.testing.assert_array_equal(row.matrix.numpy(), want['matrix'])
    if hasattr(row, 'ragged'):
        np.testing.assert_array_equal(row.ragged.numpy(), want['ragged'])
    np.testing.assert_array_equal(row.image.numpy(), want['image'])
    assert row.packed.dtype == tf.int32
    np.testing.assert_array_equal(row.packed.numpy(), want['packed'].astype(np.int32))
    assert row.label.numpy() == want['label'].encode()
    assert row.price.numpy() == str(want['price'].normalize()).encode()
    assert row.flag.numpy() == want['flag'] and row.score.numpy() == want['score']
    assert row.id2.dtype == tf.int32


def test_make_petastorm_dataset_rows(test_dataset):
    url, rows = test_dataset
    with make_reader(url, schema_fields=FIELDS, workers_count=2) as reader:
        dataset = make_petastorm_dataset(reader)
        spec = dataset.element_spec
        assert type(spec).__name__.endswith('_view') and spec._fields == tuple(FIELDS)
        assert spec.matrix.shape == (4, 3) and spec.ragged.shape.as_list() == [None, 2]
        assert spec.image.shape == (8, 6, 3) and spec.id.shape == ()
        count = 0
        for row in dataset:
            _check_row(row, rows[int(row.id.numpy())])
            count += 1
        assert count == ROWS_COUNT
        # a second pass resets the finished reader, as upstream's does
        assert sorted(int(row.id.numpy()) for row in dataset) == list(range(ROWS_COUNT))


def test_fixed_shape_rows_cross_into_tf_a_chunk_at_a_time_and_equal_the_rows(test_dataset):
    url, rows = test_dataset
    fields = [f for f in FIELDS if f != 'ragged']
    with make_reader(url, schema_fields=fields, workers_count=2, shuffle_row_groups=False) as reader:
        assert _rows_in_chunks(reader)
        plain = [r.id for r in make_reader(url, schema_fields=['id'], shuffle_row_groups=False, workers_count=1)]
        first = next(reader)  # the rest of its chunk still comes through the dataset
        dataset = make_petastorm_dataset(reader)
        assert dataset.element_spec.image.shape == (8, 6, 3) and dataset.element_spec.id.shape == ()
        assert dataset.element_spec.price.dtype == tf.string and dataset.element_spec.packed.dtype == tf.int32
        ids = [int(first.id)]
        for row in dataset:
            for name in fields:  # the row layout of the per-row path: one value per field, no batch dimension
                assert getattr(row, name).shape == getattr(dataset.element_spec, name).shape
            _check_row(row, rows[int(row.id.numpy())])
            ids.append(int(row.id.numpy()))
        assert ids == plain  # the reader's order, every row once
        assert sum(int(b.id.shape[0]) for b in dataset.batch(7)) == ROWS_COUNT  # a second pass resets the reader


def test_make_petastorm_dataset_batches(test_dataset):
    url, rows = test_dataset
    with make_batch_reader(url, schema_fields=['id', 'score', 'label', 'matrix', 'image'], workers_count=2) as reader:
        dataset = make_petastorm_dataset(reader)
        assert dataset.element_spec.matrix.shape.as_list() == [None, 4, 3]
        assert dataset.element_spec.id.shape.as_list() == [None]
        total = 0
        for batch in dataset:
            n = batch.id.shape[0]
            assert batch.matrix.shape == (n, 4, 3) and batch.image.shape == (n, 8, 6, 3)
            for k in range(n):
                want = rows[int(batch.id[k])]
                np.testing.assert_array_equal(batch.matrix[k].numpy(), want['matrix'])
                assert batch.label[k].numpy() == want['label'].encode()
            total += n
    assert total == ROWS_COUNT


def test_dataset_pipeline_ops(test_dataset):
    url, _ = test_dataset
    with make_reader(url, schema_fields=['id', 'matrix'], workers_count=2) as reader:
        dataset = make_petastorm_dataset(reader).map(lambda row: (row.id, tf.reduce_sum(row.matrix))).batch(32)
        ids = [i for ids, _ in dataset for i in ids.numpy().tolist()]
    assert sorted(ids) == list(range(ROWS_COUNT))


def test_tf_tensors_graph_mode(test_dataset):
    url, rows = test_dataset
    with make_reader(url, schema_fields=FIELDS, workers_count=2) as reader:
        with tf.compat.v1.Graph().as_default():
            tensors = tf_tensors(reader)
            assert tensors._fields == tuple(FIELDS)
            assert tensors.matrix.shape.as_list() == [4, 3] and tensors.ragged.shape.as_list() == [None, 2]
            with tf.compat.v1.Session() as sess:
                seen = set()
                for _ in range(ROWS_COUNT):
                    row = sess.run(tensors)
                    want = rows[int(row.id)]
                    np.testing.assert_array_equal(row.matrix, want['matrix'])
                    np.testing.assert_array_equal(row.ragged, want['ragged'])
                    assert row.label == want['label'].encode() and row.price == str(want['price'].normalize()).encode()
                    seen.add(int(row.id))
                assert seen == set(range(ROWS_COUNT))
                with pytest.raises(tf.errors.OutOfRangeError):
                    sess.run(tensors)


def test_tf_tensors_shuffling_queue(test_dataset):
    url, _ = test_dataset
    with make_reader(url, schema_fields=['id', 'matrix'], num_epochs=None, shuffle_row_groups=False,
                     workers_count=2) as reader:
        with tf.compat.v1.Graph().as_default() as graph:
            tensors = tf_tensors(reader, shuffling_queue_capacity=60, min_after_dequeue=40)
            assert tensors.matrix.shape.as_list() == [4, 3]
            size = graph.get_tensor_by_name(RANDOM_SHUFFLING_QUEUE_SIZE + ':0')
            with tf.compat.v1.Session() as sess:
                coordinator = tf.compat.v1.train.Coordinator()
                threads = tf.compat.v1.train.start_queue_runners(sess=sess, coord=coordinator)
                ids = [int(sess.run(tensors).id) for _ in range(50)]
                assert 40 <= sess.run(size) <= 60  # a dequeue leaves min_after_dequeue rows at least
                coordinator.request_stop()
                reader.stop()
                coordinator.join(threads, stop_grace_period_secs=10, ignore_live_threads=True)
    assert ids != sorted(ids) and len(set(ids)) > 30


def test_tf_tensors_batched(test_dataset):
    url, _ = test_dataset
    with make_batch_reader(url, schema_fields=['id', 'matrix'], workers_count=2) as reader:
        with pytest.raises(ValueError):
            tf_tensors(reader, shuffling_queue_capacity=10)
        with tf.compat.v1.Graph().as_default():
            tensors = tf_tensors(reader)
            assert tensors.matrix.shape.as_list() == [None, 4, 3]
            with tf.compat.v1.Session() as sess:
                batch = sess.run(tensors)
                assert batch.matrix.shape == (len(batch.id), 4, 3)
