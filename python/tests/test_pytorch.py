"""petastorm.pytorch: collation and shuffling buffers, and the loaders over real readers producing
upstream's tensors (the column-wise DataLoader path equals the row-by-row one)."""
import decimal

import numpy as np
import pytest
import torch

from _reader_helpers import (ROWS_COUNT, test_dataset, time_limit)  # noqa: F401
from petastorm import make_batch_reader, make_reader
from petastorm.pytorch import (BatchedDataLoader, BatchedNoopShufflingBuffer, BatchedRandomShufflingBuffer, DataLoader,
                               InMemBatchedDataLoader, RandomShufflingBuffer, _sanitize_pytorch_types,
                               decimal_friendly_collate)

NUMERIC = ['id', 'id2', 'score', 'flag', 'matrix', 'image', 'packed']


# --- no reader needed ---

def test_decimal_friendly_collate():
    batch = [{'a': np.int32(1), 'd': decimal.Decimal('1.5'), 's': 'x', 'v': np.ones(2, np.float32)},
             {'a': np.int32(2), 'd': decimal.Decimal('2.5'), 's': 'y', 'v': np.zeros(2, np.float32)}]
    out = decimal_friendly_collate(batch)
    assert out['a'].dtype == torch.int32 and out['a'].tolist() == [1, 2]
    assert out['d'] == [decimal.Decimal('1.5'), decimal.Decimal('2.5')]
    assert out['s'] == ['x', 'y']
    assert out['v'].shape == (2, 2) and out['v'].dtype == torch.float32
    numbers, strings = decimal_friendly_collate([(1, 'a'), (2, 'b')])
    assert numbers.tolist() == [1, 2] and list(strings) == ['a', 'b']


def test_sanitize_pytorch_types():
    row = {'u16': np.zeros(2, np.uint16), 'u32': np.zeros(2, np.uint32), 'b': np.zeros(2, np.bool_),
           'flag': np.bool_(True), 'ok': np.zeros(2, np.float32)}
    _sanitize_pytorch_types(row)
    assert row['u16'].dtype == np.int32 and row['u32'].dtype == np.int64 and row['b'].dtype == np.uint8
    assert type(row['flag']) is np.uint8 and row['ok'].dtype == np.float32
    with pytest.raises(TypeError, match='string'):
        _sanitize_pytorch_types({'s': np.array(['a'])})
    with pytest.raises(TypeError, match='None'):
        _sanitize_pytorch_types({'n': None})


def test_random_shuffling_buffer():
    buffer = RandomShufflingBuffer(10, min_after_retrieve=5, seed=1)
    buffer.add_many(range(8))
    out = []
    while buffer.can_retrieve():
        out.append(buffer.retrieve())
    assert len(out) == 3 and buffer.size == 5
    buffer.finish()
    while buffer.can_retrieve():
        out.append(buffer.retrieve())
    assert sorted(out) == list(range(8)) and out != list(range(8))
    again = RandomShufflingBuffer(10, min_after_retrieve=5, seed=1)
    again.add_many(range(8))
    assert [again.retrieve() for _ in range(3)] == out[:3]


def test_batched_buffers():
    noop = BatchedNoopShufflingBuffer(batch_size=4)
    noop.add_many([torch.arange(3), torch.arange(3) * 10])
    assert not noop.can_retrieve()
    noop.add_many([torch.arange(3, 6), torch.arange(3, 6) * 10])
    first = noop.retrieve()
    assert first[0].tolist() == [0, 1, 2, 3] and first[1].tolist() == [0, 10, 20, 30]
    noop.finish()
    assert noop.retrieve()[0].tolist() == [4, 5] and not noop.can_retrieve()

    shuffled = BatchedRandomShufflingBuffer(10, min_after_retrieve=6, batch_size=4, seed=3)
    shuffled.add_many([torch.arange(8), torch.arange(8).float().reshape(8, 1).repeat(1, 2)])
    assert not shuffled.can_retrieve()
    shuffled.add_many([torch.arange(8, 20), torch.arange(8, 20).float().reshape(12, 1).repeat(1, 2)])
    got = []
    while shuffled.can_retrieve():
        ids, rows = shuffled.retrieve()
        assert (rows[:, 0] == ids.float()).all()
        got.extend(ids.tolist())
    shuffled.finish()
    while shuffled.can_retrieve():
        got.extend(shuffled.retrieve()[0].tolist())
    assert sorted(got) == list(range(20)) and got != list(range(20))


# --- over real readers ---

def _dataset_batches(loader):
    return [batch for batch in loader]


def _row_path(reader, batch_size):
    """The upstream row-by-row collation path (forced with a collate_fn that is not the default)."""
    return DataLoader(reader, batch_size=batch_size, collate_fn=lambda rows: decimal_friendly_collate(rows))


def _assert_same_batches(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert list(x) == list(y)
        for key in x:
            if isinstance(x[key], torch.Tensor):
                assert isinstance(y[key], torch.Tensor) and x[key].dtype == y[key].dtype, key
                assert x[key].shape == y[key].shape and torch.equal(x[key], y[key]), key
            else:
                assert x[key] == y[key], key


@pytest.mark.parametrize('batch_size', [1, 7, 64])
def test_data_loader_column_path_equals_row_path(test_dataset, batch_size):
    url, _ = test_dataset
    fields = NUMERIC + ['label', 'price']
    kwargs = dict(schema_fields=fields, shuffle_row_groups=False, workers_count=2)
    with make_reader(url, **kwargs) as reader:
        fast = _dataset_batches(DataLoader(reader, batch_size=batch_size))
    with make_reader(url, **kwargs) as reader:
        slow = _dataset_batches(_row_path(reader, batch_size))
    _assert_same_batches(fast, slow)
    assert sum(len(b['id']) for b in fast) == ROWS_COUNT
    assert [len(b['id']) for b in fast][:-1] == [batch_size] * (len(fast) - 1)


def test_data_loader_tensors(test_dataset):
    url, rows = test_dataset
    with make_reader(url, schema_fields=NUMERIC + ['label', 'price'], workers_count=2) as reader:
        batches = _dataset_batches(DataLoader(reader, batch_size=10))
    batch = batches[0]
    assert batch['matrix'].shape == (10, 4, 3) and batch['matrix'].dtype == torch.float32
    assert batch['image'].shape == (10, 8, 6, 3) and batch['image'].dtype == torch.uint8
    assert batch['packed'].dtype == torch.int32  # uint16 promoted as upstream does
    assert batch['flag'].dtype == torch.uint8 and batch['id'].dtype == torch.int64 and batch['id2'].dtype == torch.int32
    assert isinstance(batch['label'], list) and isinstance(batch['label'][0], str)
    assert isinstance(batch['price'], list) and isinstance(batch['price'][0], decimal.Decimal)
    for b in batches:
        for k, i in enumerate(b['id'].tolist()):
            np.testing.assert_array_equal(b['matrix'][k].numpy(), rows[i]['matrix'])
            assert b['label'][k] == rows[i]['label'] and b['price'][k] == rows[i]['price']


def test_data_loader_with_batch_reader(test_dataset):
    url, _ = test_dataset
    kwargs = dict(schema_fields=['id', 'score', 'matrix'], shuffle_row_groups=False, workers_count=2)
    with make_batch_reader(url, **kwargs) as reader:
        fast = _dataset_batches(DataLoader(reader, batch_size=16))
    with make_batch_reader(url, **kwargs) as reader:
        slow = _dataset_batches(_row_path(reader, 16))
    _assert_same_batches(fast, slow)
    assert fast[0]['matrix'].shape == (16, 4, 3)


def test_data_loader_shuffling_queue(test_dataset):
    url, _ = test_dataset
    with make_reader(url, schema_fields=['id', 'matrix'], shuffle_row_groups=False, workers_count=2) as reader:
        batches = _dataset_batches(DataLoader(reader, batch_size=8, shuffling_queue_capacity=50, seed=1))
    ids = [i for b in batches for i in b['id'].tolist()]
    assert sorted(ids) == list(range(ROWS_COUNT)) and ids != list(range(ROWS_COUNT))


def test_data_loader_rejects_nulls_and_strings_like_upstream(test_dataset):
    url, _ = test_dataset
    with make_reader(url, schema_fields=['maybe_int'], workers_count=1) as reader:
        with pytest.raises(TypeError, match='None'):
            _dataset_batches(DataLoader(reader, batch_size=4))


def test_second_pass_resets_the_reader(test_dataset):
    url, _ = test_dataset
    with make_reader(url, schema_fields=['id'], workers_count=2) as reader:
        loader = DataLoader(reader, batch_size=30)
        first = [i for b in loader for i in b['id'].tolist()]
        second = [i for b in loader for i in b['id'].tolist()]
    assert sorted(first) == sorted(second) == list(range(ROWS_COUNT))


def test_context_manager_stops_the_reader(test_dataset):
    url, _ = test_dataset
    reader = make_reader(url, schema_fields=['id'], num_epochs=None, workers_count=2)
    with DataLoader(reader, batch_size=5) as loader:
        next(iter(loader))
    assert reader.stopped
    reader = make_reader(url, schema_fields=['id'], num_epochs=None, workers_count=2)
    loader = BatchedDataLoader(reader, batch_size=5)
    next(iter(loader))
    loader.terminate()
    assert reader.stopped
    with pytest.raises(RuntimeError):
        next(reader)


@pytest.mark.parametrize('factory', [make_reader, make_batch_reader])
def test_batched_data_loader(test_dataset, factory):
    url, rows = test_dataset
    with factory(url, schema_fields=NUMERIC, shuffle_row_groups=False, workers_count=2) as reader:
        batches = _dataset_batches(BatchedDataLoader(reader, batch_size=32))
    assert [len(b['id']) for b in batches] == [32, 32, 32, 4]
    ids = [i for b in batches for i in b['id'].tolist()]
    assert sorted(ids) == list(range(ROWS_COUNT))
    b = batches[0]
    assert b['matrix'].shape == (32, 4, 3) and b['matrix'].dtype == torch.float32
    assert b['image'].shape == (32, 8, 6, 3) and b['image'].dtype == torch.uint8
    assert b['packed'].dtype == torch.int32 and b['flag'].dtype == torch.uint8
    for batch in batches:
        for k, i in enumerate(batch['id'].tolist()):
            np.testing.assert_array_equal(batch['image'][k].numpy(), rows[i]['image'])
            assert batch['score'][k].item() == rows[i]['score']


def test_batched_data_loader_shuffling_and_transform(test_dataset):
    url, rows = test_dataset
    calls = []

    def to_float(column):
        calls.append(column.shape)
        return torch.as_tensor(np.asarray(column, dtype=np.float64))

    with make_reader(url, schema_fields=['id', 'matrix'], shuffle_row_groups=False, workers_count=2) as reader:
        batches = _dataset_batches(BatchedDataLoader(reader, batch_size=10, transform_fn=to_float,
                                                     shuffling_queue_capacity=40, seed=5))
    assert calls and all(b['matrix'].dtype == torch.float64 for b in batches)
    ids = [int(i) for b in batches for i in b['id'].tolist()]
    assert sorted(ids) == list(range(ROWS_COUNT)) and ids != list(range(ROWS_COUNT))
    for batch in batches:
        for k, i in enumerate(batch['id'].tolist()):
            np.testing.assert_allclose(batch['matrix'][k].numpy(), rows[int(i)]['matrix'])


def test_batched_data_loader_rejects_strings(test_dataset):
    url, _ = test_dataset
    with make_reader(url, schema_fields=['label'], workers_count=1) as reader:
        with pytest.raises(TypeError):
            _dataset_batches(BatchedDataLoader(reader, batch_size=4))


@pytest.mark.parametrize('factory', [make_reader, make_batch_reader])
def test_in_mem_batched_data_loader(test_dataset, factory):
    url, rows = test_dataset
    reader = factory(url, schema_fields=['id', 'matrix'], workers_count=2)
    loader = InMemBatchedDataLoader(reader, batch_size=16, num_epochs=3, rows_capacity=None, shuffle=True, seed=2)
    assert reader.stopped
    batches = _dataset_batches(loader)
    ids = [i for b in batches for i in b['id'].tolist()]
    assert len(ids) == 3 * ROWS_COUNT
    for epoch in range(3):
        chunk = ids[epoch * ROWS_COUNT:(epoch + 1) * ROWS_COUNT]
        assert sorted(chunk) == list(range(ROWS_COUNT))
    assert ids[:ROWS_COUNT] != ids[ROWS_COUNT:2 * ROWS_COUNT]
    for batch in batches:
        for k, i in enumerate(batch['id'].tolist()):
            np.testing.assert_array_equal(batch['matrix'][k].numpy(), rows[i]['matrix'])
    with pytest.raises(RuntimeError):
        next(iter(loader))


def test_in_mem_batched_data_loader_capacity_with_endless_reader(test_dataset):
    url, _ = test_dataset
    reader = make_reader(url, schema_fields=['id'], num_epochs=None, workers_count=2)
    loader = InMemBatchedDataLoader(reader, batch_size=10, num_epochs=2, rows_capacity=25)
    assert reader.stopped
    batches = _dataset_batches(loader)
    assert [len(b['id']) for b in batches] == [10, 10, 5, 10, 10, 5]


# --- the columnar BatchedDataLoader over make_batch_reader on a plain Parquet store ---

PLAIN_ROWS = 1000


@pytest.fixture(scope='module')
def plain_store(tmp_path_factory):
    """A plain Parquet store of PLAIN_ROWS rows in two files, row groups of 70 rows (batches of 64 and 100
    then span row groups): an int64 id, float64 = id / 2, int32, uint16 and bool columns."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    root = tmp_path_factory.mktemp('plain')
    ids = np.arange(PLAIN_ROWS, dtype=np.int64)
    table = pa.table({'id': ids, 'half': ids / 2.0, 'i32': ids.astype(np.int32),
                      'u16': (ids % 60000).astype(np.uint16), 'odd': ids % 2 == 1})
    for k, (start, stop) in enumerate([(0, 600), (600, PLAIN_ROWS)]):
        pq.write_table(table.slice(start, stop - start), root / 'part-{}.parquet'.format(k), row_group_size=70)
    return 'file://' + str(root)


def _plain_batches(url, batch_size, num_epochs=1, **loader_kwargs):
    with make_batch_reader(url, shuffle_row_groups=False, num_epochs=num_epochs, workers_count=2) as reader:
        return _dataset_batches(BatchedDataLoader(reader, batch_size=batch_size, **loader_kwargs))


def _check_rows(batches):
    """Every batch's columns belong to the same rows; returns the ids in the order they came."""
    ids = []
    for b in batches:
        assert torch.equal(b['half'], b['id'].double() / 2) and torch.equal(b['i32'].long(), b['id'])
        assert torch.equal(b['odd'].long(), b['id'] % 2)
        ids.extend(b['id'].tolist())
    return ids


@pytest.mark.parametrize('batch_size', [1, 64, 100, 1000, 4096])
def test_batched_data_loader_in_order_batch_boundaries(plain_store, batch_size):
    batches = _plain_batches(plain_store, batch_size)
    sizes = [len(b['id']) for b in batches]
    full, last = divmod(PLAIN_ROWS, batch_size)
    assert sizes == [batch_size] * full + ([last] if last else [])
    assert _check_rows(batches) == list(range(PLAIN_ROWS))  # in order, every row once


def test_batched_data_loader_dtypes(plain_store):
    batch = _plain_batches(plain_store, 64)[0]
    assert {k: v.dtype for k, v in batch.items()} == {
        'id': torch.int64, 'half': torch.float64, 'i32': torch.int32, 'u16': torch.int32, 'odd': torch.uint8}
    assert all(v.shape == (64,) for v in batch.values())
    batch['half'] += 1  # writable tensors
    assert batch['half'][:3].tolist() == [1.0, 1.5, 2.0]


def test_batched_data_loader_several_epochs_in_order(plain_store):
    ids = _check_rows(_plain_batches(plain_store, 64, num_epochs=3))
    assert ids == list(range(PLAIN_ROWS)) * 3


@pytest.mark.parametrize('capacity', [1, 50, 300, 5000])
def test_batched_data_loader_shuffling_every_row_once(plain_store, capacity):
    batches = _plain_batches(plain_store, 64, num_epochs=2, shuffling_queue_capacity=capacity, seed=7)
    sizes = [len(b['id']) for b in batches]
    assert sizes[:-1] == [64] * (len(sizes) - 1) and sum(sizes) == 2 * PLAIN_ROWS
    ids = _check_rows(batches)
    assert sorted(ids) == sorted(list(range(PLAIN_ROWS)) * 2)
    if capacity > 1:
        assert ids != list(range(PLAIN_ROWS)) * 2
    again = _check_rows(_plain_batches(plain_store, 64, num_epochs=2, shuffling_queue_capacity=capacity, seed=7))
    assert again == ids  # seeded


def test_batched_data_loader_shuffling_one_epoch(plain_store):
    ids = _check_rows(_plain_batches(plain_store, 100, shuffling_queue_capacity=400, seed=1))
    assert sorted(ids) == list(range(PLAIN_ROWS)) and ids != list(range(PLAIN_ROWS))
    # a row leaves the buffer only after at least capacity - 1 later rows were read or the data ended
    assert max(ids[:100]) < 400 + 100 + 70


def test_batched_data_loader_transform_fn(plain_store):
    seen = []

    def transform(column):
        seen.append(type(column))
        column *= 2  # upstream hands transform_fn writable arrays
        return torch.as_tensor(column).float()

    batches = _plain_batches(plain_store, 128, transform_fn=transform)
    assert seen and all(t is np.ndarray for t in seen)
    assert [len(b['id']) for b in batches] == [128] * 7 + [104]
    ids = torch.cat([b['id'] for b in batches])
    assert ids.dtype == torch.float32 and torch.equal(ids, torch.arange(PLAIN_ROWS).float() * 2)
    assert torch.equal(torch.cat([b['half'] for b in batches]), ids / 2)


def test_batched_data_loader_tensors_are_writable_and_independent(plain_store):
    """The tensors own the reader's batch memory (no copy): writing them changes no later batch or epoch."""
    seen = 0
    with make_batch_reader(plain_store, shuffle_row_groups=False, num_epochs=2, workers_count=2) as reader:
        for batch in BatchedDataLoader(reader, batch_size=64):
            ids = batch['id']
            expected = [(seen + k) % PLAIN_ROWS for k in range(len(ids))]
            assert ids.tolist() == expected and batch['half'].tolist() == [i / 2 for i in expected]
            ids += 10 ** 6
            batch['half'].mul_(0)
            seen += len(ids)
    assert seen == 2 * PLAIN_ROWS
