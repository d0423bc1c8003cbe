"""Runs the reader's :class:`~petastorm._convert.BatchConverter` (``in_lambda`` predicates,
``TransformSpec.func``) ahead of the consumer, in parallel, in the reader's order.

:func:`start` picks, by ``reader_pool_type``:

* ``'dummy'``, or nothing written in Python to run: :class:`Serial`, conversion on the consumer thread;
* ``'thread'``: a feeder thread pulls decoded batches from the native reader, cuts ``make_reader``
  batches into chunks of rows and submits them to ``workers_count`` Python threads (NumPy releases
  the GIL for most array work);
* ``'process'``: the same feeder hands the chunks to ``workers_count`` worker processes, for GIL-bound
  Python (``petastorm._processes``: chunks and results through shared memory, forkserver).

Results are taken in submission order from a window of ``results_queue_size`` chunks (memory bound),
so a seeded reader yields the same rows in the same order whatever the pool and ``workers_count``.
``concurrent.futures`` and the process pool are imported when a pool starts (first-row latency).
"""
import collections
import threading

from petastorm import _malloc

_MIN_CHUNK_ROWS = 16
_END = object()


def start(pool_type, workers_count, window, source, converter):
    """A runner whose ``next()`` gives ``(rows, columns, rows filtered out)`` per chunk, or ``None`` at the
    end, and ``restart()`` (after the end) and ``close()``.

    :param source: ``source()`` -> the next decoded ``pyarrow.RecordBatch`` or ``None`` at the end
    :param converter: a :class:`~petastorm._convert.BatchConverter`
    """
    if converter.runs_python:  # per-row NumPy temporaries: keep their pages mapped (petastorm._malloc)
        _malloc.pad_heap()
    if pool_type == 'dummy' or not converter.runs_python:
        return Serial(source, converter)
    if pool_type == 'process':
        from petastorm._processes import ProcessPool
        pool = ProcessPool(converter, workers_count)
    else:
        pool = _ThreadPool(converter, workers_count)
    chunk_rows = None if converter.batched else workers_count  # make_batch_reader: funcs see whole batches
    return _Pipeline(source, pool, window, chunk_rows)


class Serial(object):
    """Converts each batch on the consumer thread when it is asked for."""

    def __init__(self, source, converter):
        self._source, self._converter, self._index = source, converter, 0

    def next(self):
        batch = self._source()
        if batch is None:
            return None
        self._index += 1
        return self._converter(batch, self._index - 1)

    def restart(self):
        self._index = 0

    def close(self):
        pass


class _Window(object):
    """A bounded FIFO between the feeder and the consumer; ``close`` wakes both."""

    def __init__(self, size):
        self._items = collections.deque()
        self._size = max(1, size)
        self._cond = threading.Condition()
        self._closed = False

    def put(self, item):
        """Waits for room; ``False`` once closed."""
        with self._cond:
            while len(self._items) >= self._size and not self._closed:
                self._cond.wait()
            if self._closed:
                return False
            self._items.append(item)
            self._cond.notify_all()
            return True

    def get(self):
        with self._cond:
            while not self._items and not self._closed:
                self._cond.wait()
            if self._closed:
                raise RuntimeError('the reader was stopped')
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def close(self):
        with self._cond:
            self._closed = True
            self._items.clear()
            self._cond.notify_all()


class _Failed(object):
    """An exception of the source, raised at its place in the order."""

    def __init__(self, error):
        self.error = error


class _Pipeline(object):
    """A feeder thread that submits chunks to ``pool``; :meth:`next` takes their results in order."""

    def __init__(self, source, pool, window, chunk_rows):
        self._source, self._pool, self._size, self._chunk_rows = source, pool, window, chunk_rows
        self._failed = None
        self._start()

    def _start(self):
        self._window = _Window(self._size)
        self._done = False
        self._thread = threading.Thread(target=self._feed, args=(self._window,), name='petastorm-transform-feeder',
                                        daemon=True)
        self._thread.start()

    def _chunks(self, batch):
        n = batch.num_rows
        if self._chunk_rows is None or n <= _MIN_CHUNK_ROWS:
            return [(batch, 0)]
        size = max(_MIN_CHUNK_ROWS, -(-n // self._chunk_rows))
        return [(batch.slice(start, size), start) for start in range(0, n, size)]

    def _feed(self, window):
        index = 0
        try:
            while True:
                batch = self._source()
                if batch is None:
                    window.put(_END)
                    return
                for chunk, offset in self._chunks(batch):
                    if not window.put(self._pool.submit(chunk, index, offset)):
                        return
                index += 1
        except BaseException as e:  # surfaces in the consumer, in order
            window.put(_Failed(e))

    def next(self):
        if self._failed is not None:
            raise self._failed
        if self._done:
            return None
        item = self._window.get()
        if item is _END:
            self._done = True
            return None
        if isinstance(item, _Failed):
            self._failed = item.error
            raise item.error
        return item.result()

    def restart(self):
        """Reads again (the source was reset) with the same pool; only after the end."""
        self._thread.join()
        self._failed = None
        self._start()

    def close(self):
        self._window.close()
        self._pool.close()
        if self._thread is not threading.current_thread():  # a finalizer may run on the feeder
            self._thread.join(timeout=10)


class _ThreadPool(object):
    def __init__(self, converter, workers_count):
        from concurrent.futures import ThreadPoolExecutor
        self._converter = converter
        self._executor = ThreadPoolExecutor(workers_count, thread_name_prefix='petastorm-transform')

    def submit(self, chunk, index, offset):
        return self._executor.submit(self._converter, chunk, index, offset)

    def close(self):
        self._executor.shutdown(wait=False, cancel_futures=True)
