"""make_reader on Petastorm datasets written with pyarrow + our codecs: values, views, epochs,
shards, seeds, lifecycle (stop/join/reset/context manager) and diagnostics."""
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from _reader_helpers import (ROWS_COUNT, TestSchema, assert_row_equal, partitioned_dataset,  # noqa: F401
                             test_dataset, time_limit)
from petastorm import make_batch_reader, make_reader
from petastorm.reader import Reader



def _ids(reader):
    return [int(row.id) for row in reader]


def test_every_value_round_trips(test_dataset):
    url, rows = test_dataset
    with make_reader(url, workers_count=2) as reader:
        assert isinstance(reader, Reader)
        assert reader.batched_output is False and reader.is_batched_reader is False
        assert list(reader.schema.fields) == list(TestSchema.fields)
        got = list(reader)
    assert len(got) == ROWS_COUNT
    by_id = {int(r.id): r for r in got}
    assert sorted(by_id) == list(range(ROWS_COUNT))
    for i, row in by_id.items():
        assert row._fields == tuple(TestSchema.fields)
        assert_row_equal(row, rows[i])


def test_rows_outlive_the_reader(test_dataset):
    import gc
    url, rows = test_dataset
    reader = make_reader(url, schema_fields=['id', 'matrix', 'image'], workers_count=2)
    got = list(reader)
    reader.stop()
    reader.join()
    del reader
    gc.collect()
    for row in got:
        np.testing.assert_array_equal(row.matrix, rows[int(row.id)]['matrix'])
        np.testing.assert_array_equal(row.image, rows[int(row.id)]['image'])


def test_shard_seed_is_deprecated_but_works(test_dataset):
    url, _ = test_dataset
    shards = []
    for shard in range(2):
        with pytest.warns(UserWarning, match='shard_seed'):
            reader = make_reader(url, cur_shard=shard, shard_count=2, shard_seed=3, workers_count=2)
        with reader:
            shards.append(set(_ids(reader)))
    assert shards[0].isdisjoint(shards[1]) and shards[0] | shards[1] == set(range(ROWS_COUNT))


def test_local_path_and_trailing_slash(test_dataset):
    url, _ = test_dataset
    path = url[len('file://'):]
    with make_reader(path + '/', workers_count=1) as reader:
        assert len(_ids(reader)) == ROWS_COUNT


def test_schema_fields_views(test_dataset):
    url, rows = test_dataset
    with make_reader(url, schema_fields=[TestSchema.matrix, 'id', 'la.*'], workers_count=2) as reader:
        assert list(reader.schema.fields) == ['matrix', 'id', 'label']
        row = next(reader)
        assert row._fields == ('matrix', 'id', 'label')
        np.testing.assert_array_equal(row.matrix, rows[int(row.id)]['matrix'])
    with make_reader(url, schema_fields=['i.*'], workers_count=2) as reader:  # whole-name match
        assert list(reader.schema.fields) == ['id', 'id2', 'image']


def test_unknown_field_is_an_error(test_dataset):
    from petastorm.unischema import UnischemaField
    url, _ = test_dataset
    with pytest.raises(ValueError, match='nope'):
        make_reader(url, schema_fields=[UnischemaField('nope', np.int32, (), None, False)])
    with pytest.raises(ValueError, match='No fields matching'):
        make_reader(url, schema_fields=['nope.*'])


def test_epochs(test_dataset):
    url, _ = test_dataset
    with make_reader(url, num_epochs=3, workers_count=2) as reader:
        ids = _ids(reader)
    assert sorted(ids) == sorted(list(range(ROWS_COUNT)) * 3)
    with make_reader(url, num_epochs=None, workers_count=2) as reader:
        endless = [int(next(reader).id) for _ in range(ROWS_COUNT * 4 + 7)]
        assert not reader.last_row_consumed
    assert len(endless) == ROWS_COUNT * 4 + 7


def test_shards_are_disjoint_and_cover(test_dataset):
    url, _ = test_dataset
    shards = []
    for shard in range(3):
        with make_reader(url, cur_shard=shard, shard_count=3, workers_count=2) as reader:
            shards.append(set(_ids(reader)))
    assert all(shards)
    assert sum(len(s) for s in shards) == ROWS_COUNT
    assert set().union(*shards) == set(range(ROWS_COUNT))
    with make_reader(url, cur_shard=1, shard_count=3, seed=7, workers_count=2) as reader:
        seeded = set(_ids(reader))
    with make_reader(url, cur_shard=1, shard_count=3, seed=7, workers_count=2) as reader:
        assert set(_ids(reader)) == seeded


def test_bad_shard_arguments(test_dataset):
    url, _ = test_dataset
    with pytest.raises(ValueError):
        make_reader(url, cur_shard=0)
    with pytest.raises(ValueError):
        make_reader(url, cur_shard=3, shard_count=3)


def test_seeded_order_is_deterministic(test_dataset):
    url, _ = test_dataset
    orders = []
    for seed in (1, 1, 2):
        with make_reader(url, seed=seed, shuffle_rows=True, workers_count=3, num_epochs=2) as reader:
            orders.append(_ids(reader))
    assert orders[0] == orders[1]
    assert orders[0] != orders[2]
    assert sorted(orders[2]) == sorted(list(range(ROWS_COUNT)) * 2)
    with make_reader(url, shuffle_row_groups=False, workers_count=3) as reader:
        assert _ids(reader) == list(range(ROWS_COUNT))


def test_shuffle_row_drop_partitions(test_dataset):
    url, _ = test_dataset
    with make_reader(url, shuffle_row_drop_partitions=3, seed=5, workers_count=2) as reader:
        assert sorted(_ids(reader)) == list(range(ROWS_COUNT))


@pytest.mark.parametrize('pool', ['thread', 'process', 'dummy'])
def test_pool_types(test_dataset, pool):
    url, _ = test_dataset
    with make_reader(url, reader_pool_type=pool, workers_count=3, schema_fields=['id']) as reader:
        assert sorted(_ids(reader)) == list(range(ROWS_COUNT))


def test_reset_after_the_last_row_only(test_dataset):
    url, _ = test_dataset
    reader = make_reader(url, workers_count=2, schema_fields=['id'])
    next(reader)
    with pytest.raises(NotImplementedError):
        reader.reset()
    rest = _ids(reader)
    assert len(rest) == ROWS_COUNT - 1 and reader.last_row_consumed
    with pytest.raises(StopIteration):
        next(reader)
    reader.reset()
    assert not reader.last_row_consumed
    assert sorted(_ids(reader)) == list(range(ROWS_COUNT))
    reader.stop()
    reader.join()


def test_reading_after_stop_raises(test_dataset):
    url, _ = test_dataset
    with make_reader(url, workers_count=2) as reader:
        next(reader)
    assert reader.stopped
    with pytest.raises(RuntimeError, match='stopped'):
        next(reader)
    with pytest.raises(RuntimeError, match='stopped'):
        reader.next()
    reader.stop()  # idempotent
    reader.join()
    batch_reader = make_batch_reader(url, workers_count=2)
    batch_reader.stop()
    with pytest.raises(RuntimeError):
        next(batch_reader)
    batch_reader.join()


@pytest.mark.parametrize('delay', [0.0, 0.001, 0.01, 0.05, 0.5])
def test_stop_from_another_thread_unblocks(test_dataset, delay):
    url, _ = test_dataset
    reader = make_reader(url, num_epochs=None, workers_count=2, results_queue_size=1)
    errors = []

    def consume():
        try:
            for _ in reader:
                pass
        except RuntimeError as e:
            errors.append(e)

    thread = threading.Thread(target=consume)
    thread.start()
    time.sleep(delay)
    reader.stop()
    thread.join(30)
    assert not thread.is_alive()
    assert len(errors) == 1 and 'stopped' in str(errors[0])
    reader.join()


def test_abandoned_readers_do_not_hang_interpreter_exit(test_dataset):
    url, _ = test_dataset
    code = ('from petastorm import make_reader\n'
            'r = make_reader({!r}, num_epochs=None, workers_count=4, results_queue_size=1)\n'
            'next(r)\n'
            'r2 = make_reader({!r}, num_epochs=None)\n'
            'print("ok")\n').format(url, url)
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == 'ok'


def test_diagnostics(test_dataset):
    url, _ = test_dataset
    with make_reader(url, workers_count=2) as reader:
        list(reader)
        diagnostics = reader.diagnostics
    assert isinstance(diagnostics, dict)
    assert diagnostics['rows_read'] == ROWS_COUNT and diagnostics['batches_read'] >= 1
    assert diagnostics.get('row_groups') == 10


def test_filters(partitioned_dataset, test_dataset):
    url, rows = partitioned_dataset
    with make_reader(url, filters=[('part', '=', 'p1')], workers_count=2) as reader:
        got = list(reader)
    assert sorted(int(r.id) for r in got) == [i for i in range(60) if i % 3 == 1]
    assert {r.part for r in got} == {'p1'}
    url, _ = test_dataset
    with make_reader(url, filters=[[('id', '<', np.int64(15))], [('id', '>=', 95)]], workers_count=2) as reader:
        ids = sorted(_ids(reader))
    assert ids == list(range(15)) + list(range(95, 100))


def test_partition_keys_are_fields(partitioned_dataset):
    url, rows = partitioned_dataset
    with make_reader(url, workers_count=2) as reader:
        assert set(reader.schema.fields) == {'id', 'part', 'vec'}
        got = {int(r.id): r for r in reader}
    assert sorted(got) == list(range(60))
    for i, row in got.items():
        assert row.part == 'p{}'.format(i % 3)
        np.testing.assert_array_equal(row.vec, rows[i]['vec'])


def test_import_does_not_pull_frameworks():
    code = ('import sys\nimport petastorm\nfrom petastorm import make_reader, make_batch_reader\n'
            'import petastorm.reader, petastorm.predicates, petastorm.transform\n'
            'print(sorted(m for m in ("torch", "tensorflow", "pyspark", "pandas") if m in sys.modules))\n')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == '[]'
