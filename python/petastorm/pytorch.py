"""PyTorch adapters for a petastorm :class:`~petastorm.reader.Reader` (upstream's ``petastorm.pytorch``).

Batches are built from whole decoded columns wherever the output allows: ``BatchedDataLoader`` and
``InMemBatchedDataLoader`` always; ``DataLoader`` when it has no shuffling queue and uses the default
``decimal_friendly_collate`` (then numeric columns are sliced and copied into tensors once per
batch; strings, decimals and ragged values are collated per value exactly as upstream does).
Otherwise rows go through a shuffling buffer and ``collate_fn`` one by one, like upstream.
"""
import collections.abc
import decimal
import logging
import random
import re

import numpy as np
import torch
from torch.utils.data.dataloader import default_collate

logger = logging.getLogger(__name__)

_string_classes = (str, bytes)


def _sanitize_array(name, value):
    """Upstream's promotions of ndarray values torch cannot hold; ``TypeError`` for strings/objects."""
    if value.dtype == np.uint16:
        return value.astype(np.int32)
    if value.dtype == np.uint32:
        return value.astype(np.int64)
    if value.dtype == np.bool_:
        return value.astype(np.uint8)
    if re.search('[SaUO]', value.dtype.str):
        raise TypeError('Pytorch does not support arrays of string or object classes. Found in field {}.'.format(name))
    return value


def _sanitize_pytorch_types(row_as_dict):
    """Promotes values in a row dict (in place) to types PyTorch supports: uint16 -> int32,
    uint32 -> int64, bool -> uint8; arrays of strings/objects and ``None`` are a ``TypeError``."""
    for name, value in row_as_dict.items():
        if isinstance(value, np.ndarray):
            row_as_dict[name] = _sanitize_array(name, value)
        elif isinstance(value, np.bool_):
            row_as_dict[name] = np.uint8(value)
        elif value is None:
            raise TypeError('Pytorch does not support nullable fields. Found None in {}'.format(name))


def decimal_friendly_collate(batch):
    """``default_collate`` that also accepts ``decimal.Decimal`` and strings (kept as lists).

    :param batch: a list of samples (dicts, sequences, arrays, scalars)
    :return: a dict/list of ``torch.Tensor`` and lists
    """
    first = batch[0]
    if isinstance(first, decimal.Decimal):
        return batch
    if isinstance(first, collections.abc.Mapping):
        return {key: decimal_friendly_collate([d[key] for d in batch]) for key in first}
    if isinstance(first, _string_classes):
        return batch
    if isinstance(first, collections.abc.Sequence):
        return [decimal_friendly_collate(samples) for samples in zip(*batch)]
    return default_collate(batch)


class _OwnedBuffer(object):
    """Exposes the memory of a read-only NumPy view of a batch the native reader handed over as writable:
    the caller owns those buffers (docs/ffi.md, ``pst_reader_next``) and nothing else refers to them."""

    def __init__(self, array):
        self._array = array  # keeps the Arrow buffer alive
        self.__array_interface__ = dict(array.__array_interface__, data=(array.ctypes.data, False))


def _writable(array, owned=False):
    """``array`` itself when writable and C-contiguous; a writable view of the same memory when the reader
    owns it (``owned``: no copy); else a copy (read-only arrays view Arrow buffers)."""
    if array.flags.c_contiguous and not array.flags.writeable and owned:
        return np.asarray(_OwnedBuffer(array))
    if not array.flags.writeable or not array.flags.c_contiguous:
        return np.array(array)
    return array


def _to_tensor(array, owned=False):
    """A tensor of ``array`` (see :func:`_writable`)."""
    if isinstance(array, np.ndarray):
        return torch.from_numpy(_writable(array, owned))
    return torch.as_tensor(array)


_PARALLEL_ITER_ERROR = ('You must finish a full pass of Petastorm DataLoader before making another pass from the '
                        'beginning. If you do need to terminate early and restart from beginning, please re-create '
                        'the reader and the data loader.')


class _ReaderOwner(object):
    """A loader that owns ``self.reader``: ``terminate()`` and leaving a ``with`` block stop it."""

    def terminate(self):
        """Stops the reader and releases it."""
        self.reader.stop()
        self.reader.join()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.terminate()


class LoaderBase(_ReaderOwner):
    """Iteration protocol shared by the loaders: a second pass resets the reader (after a full one)."""

    def __init__(self):
        self._in_iter = None
        self._error = None

    def __iter__(self):
        if self._error is not None:
            raise RuntimeError('Cannot start a new iteration because last time iteration failed with error {err}.'
                               .format(err=repr(self._error)))
        if self._in_iter:
            raise RuntimeError(_PARALLEL_ITER_ERROR)
        if self._in_iter is not None:
            self.reader.reset()
            logger.warning('Start a new pass of Petastorm DataLoader, reset underlying Petastorm reader to position 0.')
        self._in_iter = True
        try:
            for batch in self._iter_impl():
                yield batch
        except Exception as e:
            self._error = e
            logger.error('Iteration on Petastorm DataLoader raise error: %s', repr(e))
            raise
        finally:
            self._in_iter = False

class RandomShufflingBuffer(object):
    """Rows kept in a list; ``retrieve`` takes a uniformly random one (seeded) once more than
    ``min_after_retrieve`` are held, or any that remain after :meth:`finish`."""

    def __init__(self, shuffling_buffer_capacity, min_after_retrieve, extra_capacity=1000, seed=None):
        if min_after_retrieve >= shuffling_buffer_capacity:
            raise ValueError('min_after_retrieve must be smaller than shuffling_buffer_capacity')
        self._capacity = shuffling_buffer_capacity
        self._min_after_retrieve = min_after_retrieve
        self._extra_capacity = extra_capacity
        self._items = []
        self._done_adding = False
        self._random = random.Random(seed)

    def add_many(self, items):
        if self._done_adding:
            raise RuntimeError('Can not call add_many after done_adding() was called.')
        items = list(items)
        if len(self._items) + len(items) > self._capacity + self._extra_capacity:
            raise RuntimeError('Attempt to enqueue more elements than the capacity allows.')
        self._items.extend(items)

    def retrieve(self):
        if not self.can_retrieve():
            raise RuntimeError('Can not retrieve: the buffer holds too few items')
        index = self._random.randrange(len(self._items))
        items = self._items
        items[index], items[-1] = items[-1], items[index]
        return items.pop()

    def can_add(self):
        return len(self._items) < self._capacity and not self._done_adding

    def can_retrieve(self):
        return len(self._items) > self._min_after_retrieve or (self._done_adding and len(self._items) > 0)

    @property
    def size(self):
        return len(self._items)

    def finish(self):
        self._done_adding = True


class NoopShufflingBuffer(RandomShufflingBuffer):
    """A FIFO with the shuffling buffer's interface."""

    def __init__(self):
        self._items = collections.deque()
        self._done_adding = False

    def add_many(self, items):
        self._items.extend(items)

    def retrieve(self):
        return self._items.popleft()

    def can_add(self):
        return True

    def can_retrieve(self):
        return len(self._items) > 0


class DataLoader(LoaderBase):
    """Yields dicts of field name to a batch (tensor of shape ``(batch_size, ...)``, or a list for
    strings/decimals) from a reader's rows; the last batch may be smaller.

    :param reader: a petastorm Reader (``make_reader`` or ``make_batch_reader``; the epochs are the reader's)
    :param batch_size: rows per batch
    :param collate_fn: merges a list of row dicts into a batch (default :func:`decimal_friendly_collate`)
    :param shuffling_queue_capacity: when > 0, rows pass through a random buffer of this size
    :param seed: seed of the shuffling buffer (``None``: unseeded)
    """

    def __init__(self, reader, batch_size=1, collate_fn=decimal_friendly_collate, shuffling_queue_capacity=0,
                 seed=None):
        super(DataLoader, self).__init__()
        self.reader = reader
        self.batch_size = batch_size
        self.collate_fn = collate_fn
        self.shuffling_queue_capacity = shuffling_queue_capacity
        self.seed = seed
        self._batch_acc = []

    def _iter_impl(self):
        if self.shuffling_queue_capacity <= 0 and self.collate_fn is decimal_friendly_collate \
                and hasattr(self.reader, '_iter_chunks'):
            return self._iter_columns()
        return self._iter_rows()

    def _iter_rows(self):
        """Upstream's path: one row dict at a time through the buffer and ``collate_fn``."""
        self._batch_acc = []
        if self.shuffling_queue_capacity > 0:
            buffer = RandomShufflingBuffer(self.shuffling_queue_capacity,
                                           min_after_retrieve=self.shuffling_queue_capacity - 1,
                                           extra_capacity=100000000, seed=self.seed)
        else:
            buffer = NoopShufflingBuffer()
        keys = None
        for row in self.reader:
            row_as_dict = row._asdict()
            keys = list(row_as_dict)
            _sanitize_pytorch_types(row_as_dict)
            for key, value in row_as_dict.items():
                if isinstance(value, np.ndarray) and not value.flags.writeable:
                    row_as_dict[key] = np.array(value)  # rows view Arrow buffers; collate_fn gets its own copy
            if not self.reader.batched_output:
                buffer.add_many([row_as_dict])
            else:
                buffer.add_many([dict(zip(keys, values)) for values in zip(*(row_as_dict[k] for k in keys))])
            for batch in self._yield_batches(buffer):
                yield batch
        buffer.finish()
        for batch in self._yield_batches(buffer):
            yield batch
        if self._batch_acc:
            batch, self._batch_acc = self._batch_acc, []
            yield self.collate_fn(batch)

    def _yield_batches(self, buffer):
        while buffer.can_retrieve():
            self._batch_acc.append(buffer.retrieve())
            if len(self._batch_acc) == self.batch_size:
                batch, self._batch_acc = self._batch_acc, []
                yield self.collate_fn(batch)

    def _iter_columns(self):
        """Same output as :meth:`_iter_rows` with the default collate, built column by column."""
        names = list(self.reader.schema.fields)
        batched = self.reader.batched_output
        pending, count = [], 0
        for n, columns in self.reader._iter_chunks():
            pending.append((n, [_column_for_collate(name, col, batched) for name, col in zip(names, columns)]))
            count += n
            while count >= self.batch_size:
                batch, pending = _take_rows(pending, self.batch_size)
                count -= self.batch_size
                yield self._collate_columns(names, batch)
        if count:
            batch, _ = _take_rows(pending, count)
            yield self._collate_columns(names, batch)

    @staticmethod
    def _collate_columns(names, pieces):
        out = {}
        for i, name in enumerate(names):
            parts = [piece[i] for piece in pieces]
            if isinstance(parts[0], np.ndarray):
                out[name] = torch.from_numpy(np.concatenate(parts) if len(parts) > 1 else np.array(parts[0]))
            else:
                values = [v for part in parts for v in part]
                out[name] = decimal_friendly_collate(values)
        return out


def _column_for_collate(name, column, batched):
    """A column as an ndarray the batch tensor is sliced from, or a list of sanitized row values."""
    if batched:
        column = _sanitize_array(name, column)  # as upstream sanitizes the batch's arrays
        if column.dtype.kind in 'biufc':
            return column
        values = list(column)
    elif isinstance(column, np.ndarray) and column.dtype.kind in 'biufc':
        if column.ndim > 1:
            return _sanitize_array(name, column)
        return column.astype(np.uint8) if column.dtype == np.bool_ else column
    else:
        values = list(column)
    row = {}
    for i, value in enumerate(values):
        row[name] = value
        _sanitize_pytorch_types(row)
        values[i] = row[name]
    return values


def _take_rows(pending, k):
    """Takes the first ``k`` rows of the pending ``(n, columns)`` pieces: ``(pieces, remaining)``."""
    taken, rest = [], list(pending)
    while k:
        n, columns = rest[0]
        if n <= k:
            taken.append(columns)
            rest.pop(0)
            k -= n
        else:
            taken.append([c[:k] for c in columns])
            rest[0] = (n - k, [c[k:] for c in columns])
            k = 0
    return taken, rest


class BatchedNoopShufflingBuffer(object):
    """Hands out batches of ``batch_size`` rows in order: each added chunk of column tensors is cut into
    batch views at once (``torch.split``, no copy); only a batch spanning two chunks is concatenated."""

    def __init__(self, batch_size):
        self.batch_size = batch_size
        self._ready = collections.deque()  # whole batches: sequences of column tensors
        self._pending = []  # pieces of the next batch, fewer than batch_size rows in all
        self._pending_rows = 0
        self._done_adding = False

    def add_many(self, columns):
        columns = list(columns)
        n = len(columns[0])
        if self._pending_rows:
            need = self.batch_size - self._pending_rows
            if n < need:
                if n:
                    self._pending.append(columns)
                    self._pending_rows += n
                return
            self._pending.append([c[:need] for c in columns])
            self._ready.append(self._flush())
            columns = [c[need:] for c in columns]
            n -= need
        whole = n - n % self.batch_size
        if whole:
            self._ready.extend(zip(*[torch.split(c[:whole], self.batch_size) for c in columns]))
        if n > whole:
            self._pending = [[c[whole:] for c in columns]]
            self._pending_rows = n - whole

    def _flush(self):
        pieces, self._pending, self._pending_rows = self._pending, [], 0
        if len(pieces) == 1:
            return pieces[0]
        return [_cat(parts) for parts in zip(*pieces)]

    def room(self):
        """Rows that may be added before the buffer is full: ``None``, unbounded."""
        return None

    def can_retrieve(self):
        return bool(self._ready) or (self._done_adding and self._pending_rows > 0)

    def retrieve(self):
        return self._ready.popleft() if self._ready else self._flush()

    def finish(self):
        self._done_adding = True

    @property
    def size(self):
        return len(self._ready) * self.batch_size + self._pending_rows


class BatchedRandomShufflingBuffer(object):
    """Column tensors in preallocated storage; ``retrieve`` takes ``batch_size`` distinct random rows (seeded)
    once at least ``min_after_retrieve + batch_size - 1`` are held (any that remain after :meth:`finish`),
    and moves the last rows into the holes: O(batch_size) per batch, whatever the buffer's size. Rows are
    moved with NumPy on views of the storage (single-threaded, no per-call thread pool) where the dtype allows."""

    def __init__(self, shuffling_buffer_capacity, min_after_retrieve, extra_capacity=1000, batch_size=1, seed=None):
        self.batch_size = batch_size
        self._capacity = shuffling_buffer_capacity
        self._min_after_retrieve = min_after_retrieve
        self._extra_capacity = extra_capacity
        self._storage = None  # per column: a NumPy view of a tensor, or the tensor (dtypes NumPy lacks)
        self._size = 0
        self._done_adding = False
        self._random = np.random.default_rng(seed)

    def add_many(self, columns):
        columns = list(columns)
        n = len(columns[0])
        if not n:
            return
        needed = self._size + n
        if needed > self._capacity + self._extra_capacity:
            raise RuntimeError('Attempt to enqueue more elements than the capacity allows. Current size: {}, new '
                               'size {}, maximum allowed: {}'.format(self._size, needed,
                                                                     self._capacity + self._extra_capacity))
        if self._storage is None or needed > len(self._storage[0]):
            alloc = max(needed, self._capacity, 2 * len(self._storage[0]) if self._storage else 0)
            shapes = [(torch.as_tensor(c).dtype, tuple(c.shape[1:])) for c in columns]
            grown = [_numpy_view(torch.empty((alloc,) + shape, dtype=dtype)) for dtype, shape in shapes]
            for g, s in zip(grown, self._storage or ()):
                g[:self._size] = s[:self._size]
            self._storage = grown
        for s, c in zip(self._storage, columns):
            s[self._size:needed] = _numpy_view(c) if isinstance(s, np.ndarray) else c
        self._size = needed

    def room(self):
        """Rows that may be added before the buffer holds its capacity (a smaller buffer stays in cache)."""
        return max(self._capacity - self._size, 0)

    def can_retrieve(self):
        return self._size > 0 and (self._done_adding or self._size >= self._min_after_retrieve + self.batch_size - 1)

    def retrieve(self):
        n = self._size
        k = min(self.batch_size, n)
        chosen = self._random.choice(n, k, replace=False)
        tail = n - k
        holes = chosen[chosen < tail]
        staying = np.ones(k, dtype=bool)  # the last k rows that were not chosen fill the holes
        staying[chosen[chosen >= tail] - tail] = False
        sources = np.flatnonzero(staying) + tail
        batch = [_as_tensor(s[chosen]) for s in self._storage]
        for s in self._storage:
            s[holes] = s[sources]
        self._size = tail
        return batch

    def finish(self):
        self._done_adding = True

    @property
    def size(self):
        return self._size


def _numpy_view(tensor):
    """A NumPy array sharing a CPU tensor's memory, or the tensor itself where NumPy has no such dtype."""
    try:
        return tensor.numpy() if isinstance(tensor, torch.Tensor) else np.asarray(tensor)
    except (TypeError, RuntimeError):
        return tensor


def _as_tensor(array):
    return torch.from_numpy(array) if isinstance(array, np.ndarray) else array


def _cat(tensors):
    """``torch.cat`` done by NumPy where the dtype allows: single-threaded, where torch hands copies past
    32k elements to its thread pool, whose wake-ups cost milliseconds on a busy machine."""
    arrays = [_numpy_view(t) for t in tensors]
    if all(isinstance(a, np.ndarray) for a in arrays):
        return torch.from_numpy(np.concatenate(arrays))
    return torch.cat(tensors)


def _column_tensors(reader, columns, transform_fn, names):
    """Whole-column tensors of one decoded chunk (upstream's sanitizing, then ``transform_fn``); the memory
    of our reader's batches becomes the tensors' (no copy)."""
    owned = hasattr(reader, '_iter_chunks')
    out = []
    for name, column in zip(names, columns):
        if not isinstance(column, np.ndarray) or column.dtype == object:
            values = list(column)
            if any(v is None for v in values):
                raise TypeError('Pytorch does not support nullable fields. Found None in {}'.format(name))
            if values and all(isinstance(v, np.ndarray) for v in values):
                column = np.stack(values)
            elif transform_fn is not None:
                out.append(transform_fn(column))  # the user's function decides what objects become
                continue
            elif values and isinstance(values[0], (decimal.Decimal,) + _string_classes):
                raise TypeError('Pytorch does not support arrays of string or object classes. '
                                'Found in field {}.'.format(name))
            else:
                column = np.asarray(values)
        column = _sanitize_array(name, column)
        # transform_fn gets a writable array, as upstream's (from pandas) are
        out.append(transform_fn(_writable(column, owned)) if transform_fn is not None else
                   _to_tensor(column, owned))
    return out


class BatchedDataLoader(LoaderBase):
    """Yields dicts of field name to a tensor of ``batch_size`` rows, built from whole decoded columns
    (much faster than :class:`DataLoader` for small rows); strings and decimals are not supported.

    :param reader: a petastorm Reader
    :param batch_size: rows per batch (the last batch may be smaller)
    :param transform_fn: turns one column array of a decoded batch into a tensor (default: ``torch.as_tensor``,
        copying read-only Arrow-backed arrays)
    :param shuffling_queue_capacity: when > 0, rows are drawn at random from a buffer of this many rows
    :param seed: seed of the shuffling buffer (``None``: unseeded)
    """

    def __init__(self, reader, batch_size=1, transform_fn=None, shuffling_queue_capacity=0, seed=None):
        super(BatchedDataLoader, self).__init__()
        self.reader = reader
        self.batch_size = batch_size
        self.transform_fn = transform_fn
        self.shuffling_queue_capacity = shuffling_queue_capacity
        self.seed = seed

    def _iter_impl(self):
        if self.shuffling_queue_capacity > 0:
            min_after = self.shuffling_queue_capacity - 1
            buffer = BatchedRandomShufflingBuffer(min_after + self.batch_size, min_after_retrieve=min_after,
                                                  extra_capacity=100000000, batch_size=self.batch_size,
                                                  seed=self.seed)
        else:
            buffer = BatchedNoopShufflingBuffer(batch_size=self.batch_size)
        names = list(self.reader.schema.fields)
        for _, columns in _chunks(self.reader):
            tensors = _column_tensors(self.reader, columns, self.transform_fn, names)
            n, start = len(tensors[0]), 0
            while start < n:  # a shuffling buffer takes a chunk in parts: it holds about its capacity
                room = buffer.room()
                part = n - start if room is None else min(max(room, 1), n - start)
                buffer.add_many(tensors if part == n else [t[start:start + part] for t in tensors])
                start += part
                while buffer.can_retrieve():
                    yield dict(zip(names, buffer.retrieve()))
        buffer.finish()
        while buffer.can_retrieve():
            yield dict(zip(names, buffer.retrieve()))


def _chunks(reader):
    """``(rows, columns)`` of whole decoded batches (any iterable of namedtuples as a fallback)."""
    if hasattr(reader, '_iter_chunks'):
        for chunk in reader._iter_chunks():
            yield chunk
        return
    for row in reader:
        values = list(row)
        if reader.batched_output:
            yield len(values[0]), values
        else:
            yield 1, [np.asarray([v]) if not isinstance(v, (str, bytes, decimal.Decimal)) else [v] for v in values]


class InMemBatchedDataLoader(_ReaderOwner):
    """Loads up to ``rows_capacity`` rows (upstream's default 1024; all rows when ``None``) into memory as tensors,
    stops the reader, then yields batches for ``num_epochs`` epochs (shuffled per epoch with ``seed + epoch``
    when ``shuffle``). Can be iterated once.

    :param reader: a petastorm Reader (stopped once the data is loaded)
    :param batch_size: rows per batch
    :param transform_fn: turns one column array into a tensor (default ``torch.as_tensor``)
    :param num_epochs: epochs over the in-memory rows
    :param seed: shuffling seed
    :param rows_capacity: rows to load at most (default 1024 as upstream; ``None``: every row the reader yields,
        which needs a finite reader)
    :param shuffle: shuffle indices every epoch
    """

    def __init__(self, reader, batch_size=1, transform_fn=None, num_epochs=1, seed=0, rows_capacity=1024,
                 shuffle=False):
        self._batch_size = batch_size
        self._num_epochs = num_epochs
        self._seed = seed
        self._shuffle = shuffle
        self._in_iter = False
        self.reader = reader
        self._keys, self._buffer = self._load(reader, transform_fn, rows_capacity)

    @staticmethod
    def _load(reader, transform_fn, rows_capacity):
        names = list(reader.schema.fields)
        parts, n_rows = [], 0
        try:
            for n, columns in _chunks(reader):
                tensors = _column_tensors(reader, columns, transform_fn, names)
                if rows_capacity is not None and n_rows + n >= rows_capacity:
                    parts.append([t[:rows_capacity - n_rows] for t in tensors])
                    n_rows = rows_capacity
                    break
                parts.append(tensors)
                n_rows += n
        finally:
            # enough rows are in memory: stop rather than drain (an infinite reader would never end)
            reader.stop()
            reader.join()
        if not parts:
            return names, [torch.empty((0,)) for _ in names]
        return names, [_cat([p[i] for p in parts]) if len(parts) > 1 else parts[0][i]
                       for i in range(len(names))]

    def __iter__(self):
        if self._in_iter:
            raise RuntimeError("InMemBatchedDataLoader couldn't be used multiple times, please specify total "
                               "number of epochs using num_epochs in constructor.")
        self._in_iter = True
        size = len(self._buffer[0]) if self._buffer else 0
        epoch = 0
        while self._num_epochs is None or epoch < self._num_epochs:
            if self._shuffle:
                generator = torch.Generator()
                generator.manual_seed(self._seed + epoch)
                indices = torch.randperm(size, generator=generator)
            else:
                indices = None
            for start in range(0, size, self._batch_size):
                if indices is None:
                    batch = [v[start:start + self._batch_size] for v in self._buffer]
                else:
                    idx = indices[start:start + self._batch_size]
                    batch = [v[idx] for v in self._buffer]
                yield dict(zip(self._keys, batch))
            epoch += 1

__all__ = ['DataLoader', 'BatchedDataLoader', 'InMemBatchedDataLoader', 'decimal_friendly_collate']
