"""TransformSpec funcs and in_lambda predicates on the thread and process pools (petastorm._workers):
the same rows in the same order as the serial ('dummy') path, work really done off the consumer
thread / in other processes, errors with their place and traceback, and no worker left behind."""
import gc
import os
import threading
import time

import numpy as np
import pytest

from _reader_helpers import time_limit, url_of, write_dataset  # noqa: F401
from petastorm import make_batch_reader, make_reader
from petastorm.codecs import CompressedImageCodec, ScalarCodec
from petastorm.predicates import in_lambda
from petastorm.transform import TransformSpec
from petastorm.unischema import Unischema, UnischemaField

ROWS, ROWS_PER_GROUP = 240, 40
Schema = Unischema('ParallelSchema', [
    UnischemaField('id', np.int64, (), ScalarCodec('long'), False),
    UnischemaField('label', np.str_, (), ScalarCodec('string'), False),
    UnischemaField('image', np.uint8, (16, 16, 3), CompressedImageCodec('png'), False),
])


@pytest.fixture(scope='module')
def url(tmp_path_factory):
    """240 rows in 6 row groups of 40 (3 files); ``image`` is noise seeded by ``id``."""
    root = tmp_path_factory.mktemp('parallel') / 'dataset'
    rows = [{'id': np.int64(i), 'label': 'label_{}'.format(i % 7),
             'image': np.random.RandomState(i).randint(0, 255, (16, 16, 3)).astype(np.uint8)} for i in range(ROWS)]
    write_dataset(root, Schema, rows, rows_per_group=ROWS_PER_GROUP, groups_per_file=2)
    return url_of(root)


# --- module-level callables (picklable, as reader_pool_type='process' needs) ---

def _where():
    return '{}/{}'.format(os.getpid(), threading.current_thread().name)


def augment(row):
    """Crop 12x12 at an offset of the id, flip odd ids, normalise to float32; ``where`` it ran."""
    i = int(row['id'])
    crop = row['image'][i % 5:i % 5 + 12, (i // 5) % 5:(i // 5) % 5 + 12]
    if i % 2:
        crop = crop[:, ::-1]
    return {'id': row['id'], 'label': row['label'], 'image': (crop.astype(np.float32) / 255 - 0.5) / 0.25,
            'where': _where()}


AUGMENT = TransformSpec(augment, edit_fields=[('image', np.float32, (12, 12, 3), False), ('where', np.str_, (), False)])


def keep(i):
    return i % 3 != 0


class AugmentError(Exception):
    pass


def fail_on_77(row):
    if row['id'] == 77:
        raise AugmentError('cannot augment row id 77')
    return augment(row)


def exit_worker(row):
    os._exit(3)


def ragged(row):
    """Values that cannot be stacked into one array per column: ragged arrays (a strided one), None, str,
    NumPy strings of several lengths (dtypes)."""
    i = int(row['id'])
    return {'id': row['id'], 'image': row['image'], 'ramp': np.arange(i * 40, dtype=np.float64),
            'strided': np.arange(2 * i, dtype=np.int32)[::2], 'note': None if i % 4 else 'id {}'.format(i),
            'code': np.str_('x' * (1 + i % 5))}


RAGGED = TransformSpec(ragged, edit_fields=[('ramp', np.float64, (None,), False), ('strided', np.int32, (None,), False),
                                            ('note', np.str_, (), True), ('code', np.str_, (), False)],
                       selected_fields=['id', 'image', 'ramp', 'strided', 'note', 'code'])


def frame_augment(frame):
    frame['twice'] = frame['id'] * 2
    frame['where'] = _where()
    return frame


def keep_frame(ids):
    return ids % 3 != 0


# --- helpers ---

def _read_rows(url, pool, workers, **kwargs):
    options = dict(seed=3, shuffle_row_groups=True, shuffle_rows=True, transform_spec=AUGMENT,
                   predicate=in_lambda(['id'], keep))
    options.update(kwargs)
    with make_reader(url, reader_pool_type=pool, workers_count=workers, **options) as reader:
        return list(reader), reader.diagnostics


def _pids(rows):
    return {int(row.where.split('/')[0]) for row in rows}


def _running(pid):
    try:
        with open('/proc/{}/stat'.format(pid)) as stat:
            return stat.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except FileNotFoundError:
        return False


def _shared_memory():
    """This process's descriptors and mappings of the process pool's blocks, and the names in /dev/shm."""
    fds = [os.readlink('/proc/self/fd/' + fd) for fd in os.listdir('/proc/self/fd')
           if os.path.exists('/proc/self/fd/' + fd)]
    with open('/proc/self/maps') as maps:
        mapped = [line for line in maps if 'petastorm-transform' in line]
    return [fd for fd in fds if 'petastorm-transform' in fd], mapped, sorted(os.listdir('/dev/shm'))


def _assert_gone(pids, within=10.0):
    deadline = time.monotonic() + within
    while any(_running(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [p for p in pids if _running(p)], 'worker processes left behind'


# --- same results as the serial path ---

@pytest.fixture(scope='module')
def serial(url):
    return _read_rows(url, 'dummy', 1)


def test_serial_reference_runs_on_the_consumer_thread(serial):
    rows, diagnostics = serial
    ids = [int(r.id) for r in rows]
    assert sorted(ids) == [i for i in range(ROWS) if keep(i)] and ids != sorted(ids)  # seeded shuffle
    assert {r.where for r in rows} == {'{}/{}'.format(os.getpid(), threading.current_thread().name)}
    assert diagnostics['rows_filtered_out'] == ROWS // 3


@pytest.mark.parametrize('pool,workers', [('thread', 1), ('thread', 3), ('process', 1), ('process', 3)])
def test_pool_yields_the_serial_rows_in_order(url, serial, pool, workers):
    expected, expected_diagnostics = serial
    rows, diagnostics = _read_rows(url, pool, workers)
    assert [int(r.id) for r in rows] == [int(r.id) for r in expected]
    for got, want in zip(rows, expected):
        assert type(got.id) is type(want.id) and got.label == want.label and type(got.label) is str
        assert got.image.dtype == np.float32 and got.image.shape == (12, 12, 3)
        np.testing.assert_array_equal(got.image, want.image)
    assert diagnostics['rows_filtered_out'] == expected_diagnostics['rows_filtered_out']
    if pool == 'thread':
        assert _pids(rows) == {os.getpid()}
        assert {r.where.split('/')[1].split('_')[0] for r in rows} == {'petastorm-transform'}
    else:
        assert os.getpid() not in _pids(rows) and len(_pids(rows)) == workers


@pytest.mark.parametrize('pool', ['thread', 'process'])
def test_batch_reader_pool_gives_the_serial_batches(url, pool):
    def read(pool_type):
        with make_batch_reader(url, reader_pool_type=pool_type, workers_count=2, seed=5, shuffle_rows=True,
                               predicate=in_lambda(['id'], keep_frame),
                               transform_spec=TransformSpec(frame_augment, edit_fields=[
                                   ('twice', np.int64, (), False), ('where', np.str_, (), False)])) as reader:
            return list(reader)
    expected, batches = read('dummy'), read(pool)
    assert [len(b.id) for b in batches] == [len(b.id) for b in expected]  # whole batches, never cut
    assert sum(len(b.id) for b in batches) == ROWS - ROWS // 3
    for got, want in zip(batches, expected):
        np.testing.assert_array_equal(got.id, want.id)
        np.testing.assert_array_equal(got.twice, want.id * 2)
        np.testing.assert_array_equal(got.image, want.image)
    where = {w for b in batches for w in b.where}
    assert all(w.split('/')[1] != 'MainThread' for w in where) if pool == 'thread' else \
        os.getpid() not in {int(w.split('/')[0]) for w in where}


@pytest.mark.parametrize('pool', ['thread', 'process'])
def test_reset_reads_the_same_rows_again_on_the_same_pool(url, pool):
    with make_reader(url, reader_pool_type=pool, workers_count=2, shuffle_row_groups=False,
                     transform_spec=AUGMENT) as reader:
        first = list(reader)
        reader.reset()
        second = list(reader)
    assert [int(r.id) for r in first] == [int(r.id) for r in second] == list(range(ROWS))
    if pool == 'process':
        assert _pids(first) == _pids(second)


@pytest.mark.parametrize('pool', ['thread', 'process'])
def test_torch_data_loader_over_a_pool_gives_the_serial_batches(url, pool):
    from petastorm.pytorch import DataLoader
    spec = TransformSpec(augment, edit_fields=AUGMENT.edit_fields, selected_fields=['id', 'image'])

    def batches(pool_type):
        with make_reader(url, reader_pool_type=pool_type, workers_count=2, seed=1, shuffle_rows=True,
                         transform_spec=spec) as reader:
            return list(DataLoader(reader, batch_size=32))
    expected, got = batches('dummy'), batches(pool)
    assert [len(b['id']) for b in got] == [len(b['id']) for b in expected] and len(got) == -(-ROWS // 32)
    for mine, theirs in zip(got, expected):
        assert mine['image'].dtype == theirs['image'].dtype and mine['image'].shape == theirs['image'].shape
        assert mine['id'].tolist() == theirs['id'].tolist() and (mine['image'] == theirs['image']).all()


def test_process_pool_carries_values_that_do_not_stack(url):
    def read(pool_type):
        with make_reader(url, reader_pool_type=pool_type, workers_count=2, seed=2, shuffle_rows=True,
                         transform_spec=RAGGED) as reader:
            return list(reader)
    expected, rows = read('dummy'), read('process')
    assert [int(r.id) for r in rows] == [int(r.id) for r in expected] and len(rows) == ROWS
    for got, want in zip(rows, expected):
        for name in ('image', 'ramp', 'strided'):
            value = getattr(got, name)
            assert value.dtype == getattr(want, name).dtype and value.flags.writeable
            np.testing.assert_array_equal(value, getattr(want, name))
        assert got.note == want.note and got.code == want.code == 'x' * (1 + int(got.id) % 5)
    assert max(len(r.ramp) for r in rows) == 40 * (ROWS - 1)  # results of growing size: blocks grown


# --- errors ---

@pytest.mark.parametrize('pool', ['dummy', 'thread', 'process'])
def test_error_in_func_keeps_its_type_and_names_its_row(url, pool):
    with make_reader(url, reader_pool_type=pool, workers_count=3, shuffle_row_groups=False,
                     transform_spec=TransformSpec(fail_on_77, edit_fields=AUGMENT.edit_fields)) as reader:
        seen = []
        with pytest.raises(AugmentError, match='cannot augment row id 77') as info:
            for row in reader:
                seen.append(int(row.id))
    assert seen == list(range(len(seen))) and len(seen) <= 77
    notes = '\n'.join(getattr(info.value, '__notes__', []))
    # id 77 is row 37 of the second row group, read second without shuffling
    assert 'raised by TransformSpec.func on row 37 of decoded batch 1 (fields: id, label, image)' in notes
    if pool == 'process':
        assert 'traceback in the transform worker process' in notes and 'in fail_on_77' in notes


def test_worker_process_that_dies_is_reported(url):
    shm = sorted(os.listdir('/dev/shm'))
    with make_reader(url, reader_pool_type='process', workers_count=2,
                     transform_spec=TransformSpec(exit_worker)) as reader:
        with pytest.raises(RuntimeError, match=r'exited unexpectedly \(exit code 3\)'):
            next(reader)
        assert _shared_memory()[0]
    assert _shared_memory() == ([], [], shm)


def test_unpicklable_callables_with_process_pool_are_refused(url):
    with pytest.raises(TypeError, match="reader_pool_type='process' runs the TransformSpec.func .* picklable"):
        make_reader(url, reader_pool_type='process', transform_spec=TransformSpec(lambda row: row))
    with pytest.raises(TypeError, match="runs the predicate .* picklable"):
        make_reader(url, reader_pool_type='process', predicate=in_lambda(['id'], lambda i: True))
    with make_reader(url, reader_pool_type='thread', transform_spec=TransformSpec(lambda row: row),
                     num_epochs=1) as reader:  # threads need no pickling
        assert len(list(reader)) == ROWS


# --- no worker left behind ---

def _start_process_reader(url):
    reader = make_reader(url, reader_pool_type='process', workers_count=3, transform_spec=AUGMENT, num_epochs=None)
    rows = [row for _, row in zip(range(100), reader)]
    pids = _pids(rows)
    assert len(pids) == 3 and all(_running(p) for p in pids)
    return reader, pids


def test_stop_mid_epoch_leaves_no_process(url):
    fds, mapped, shm = _shared_memory()
    assert not fds and not mapped
    reader, pids = _start_process_reader(url)
    during = _shared_memory()
    assert during[0] and during[1]  # the blocks of 3 workers, open and mapped
    reader.stop()
    reader.join()
    _assert_gone(pids)
    assert _shared_memory() == ([], [], shm)
    with pytest.raises(RuntimeError, match='has stopped'):
        next(reader)


def test_keyboard_interrupt_in_the_loop_stops_the_workers(url):
    pids = set()
    with pytest.raises(KeyboardInterrupt):
        with make_reader(url, reader_pool_type='process', workers_count=2, transform_spec=AUGMENT,
                         num_epochs=None) as reader:
            for row in reader:
                pids.add(int(row.where.split('/')[0]))
                if len(pids) == 2:
                    raise KeyboardInterrupt
    _assert_gone(pids)


def test_dropped_reader_stops_its_workers(url):
    reader, pids = _start_process_reader(url)
    del reader
    gc.collect()
    _assert_gone(pids)
    assert _shared_memory()[:2] == ([], [])
