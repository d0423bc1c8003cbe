"""Runs the reader's :class:`~petastorm._convert.BatchConverter` (``in_lambda`` predicates,
``TransformSpec.func``) ahead of the consumer, in parallel, in the reader's order.

:func:`start` picks, by ``reader_pool_type``:

* ``'dummy'``, or nothing written in Python to run: :class:`Serial`, conversion on the consumer thread;
* ``'thread'``: a feeder thread pulls decoded batches from the native reader, cuts ``make_reader``
  batches into chunks of rows and submits them to ``workers_count`` Python threads (NumPy releases
  the GIL for most array work);
* ``'process'``: the same feeder hands the chunks to ``workers_count`` worker processes, for GIL-bound
  Python. Chunks go as Arrow IPC streams over a pipe; results come back as one pickle (protocol 5) per
  chunk whose arrays travel out of band as raw buffers (rows of one shape are stacked first), never
  pickled row by row.

Results are taken in submission order from a window of ``results_queue_size`` chunks (memory bound),
so a seeded reader yields the same rows in the same order whatever the pool and ``workers_count``.

Worker processes come from the ``forkserver`` start method: the reader's process runs native decode
and I/O threads (Rayon, Tokio) and pyarrow's pools, whose locks a ``fork()`` could copy held into the
child; the fork server is a fresh single-threaded interpreter that forks each worker. So the
transform function and predicate must be picklable (module-level functions). Workers ignore SIGINT
(the consumer's process handles Ctrl-C and stops them), exit on EOF when their reader goes away, and
are terminated by ``close`` (``Reader.stop``), by a finalizer, and at interpreter exit.
``multiprocessing`` and ``concurrent.futures`` are imported when a pool starts (first-row latency).
"""
import collections
import pickle
import signal
import threading
import weakref

import numpy as np

_MIN_CHUNK_ROWS = 16
_END = object()


def start(pool_type, workers_count, window, source, converter):
    """A runner whose ``next()`` gives ``(rows, columns, rows filtered out)`` per chunk, or ``None`` at the
    end, and ``restart()`` (after the end) and ``close()``.

    :param source: ``source()`` -> the next decoded ``pyarrow.RecordBatch`` or ``None`` at the end
    :param converter: a :class:`~petastorm._convert.BatchConverter`
    """
    if pool_type == 'dummy' or not converter.runs_python:
        return Serial(source, converter)
    pool = _ProcessPool(converter, workers_count) if pool_type == 'process' else _ThreadPool(converter, workers_count)
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


# --- worker processes ----------------------------------------------------------------------------

def _context():
    import multiprocessing
    context = multiprocessing.get_context('forkserver')
    # imported once, in the server, rather than in every worker (numpy, pyarrow, the converter)
    context.set_forkserver_preload(['__main__', 'petastorm._convert', __name__])
    return context


def _pickled_converter(converter):
    """The converter's pickle; ``TypeError`` naming the callable that cannot be pickled."""
    parts = (('TransformSpec.func', converter.transform_func), ('predicate', converter.predicate))
    for what, obj in parts:
        if obj is None:
            continue
        try:
            pickle.dumps(obj)
        except Exception as e:
            raise TypeError("reader_pool_type='process' runs the {} in worker processes, so it must be "
                            'picklable (a function defined at module level, not a lambda, closure or '
                            'bound method of an unpicklable object): {!r} is not ({}: {})'.format(
                                what, obj, type(e).__name__, e)) from e
    return pickle.dumps(converter)


class _ProcessPool(object):
    """``workers_count`` processes; chunk ``k`` goes to worker ``k % workers_count`` and its result is
    read back from that worker in the same order."""

    def __init__(self, converter, workers_count):
        payload = _pickled_converter(converter)
        context = _context()
        self._workers = []
        self._finalizer = weakref.finalize(self, _terminate, self._workers)
        self._next = 0
        try:
            for k in range(workers_count):
                task_reader, task_writer = context.Pipe(duplex=False)
                result_reader, result_writer = context.Pipe(duplex=False)
                process = context.Process(target=_worker_main, args=(payload, task_reader, result_writer),
                                          name='petastorm-transform-{}'.format(k), daemon=True)
                process.start()
                task_reader.close()  # the worker's ends: its exit is EOF here
                result_writer.close()
                self._workers.append(_Worker(process, task_writer, result_reader))
            for worker in self._workers:
                worker.receive()  # 'ready', or the error of unpickling the converter there
        except BaseException:
            self.close()
            raise

    def submit(self, chunk, index, offset):
        worker = self._workers[self._next]
        self._next = (self._next + 1) % len(self._workers)
        worker.send(chunk, index, offset)
        return worker

    def close(self):
        self._finalizer()


def _terminate(workers):
    for worker in workers:
        worker.process.terminate()
    for worker in workers:
        worker.process.join(timeout=5)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()
        worker.tasks.close()
        worker.results.close()


class _Worker(object):
    """The parent's ends of one worker's pipes; ``result()`` reads its next reply."""

    def __init__(self, process, tasks, results):
        self.process, self.tasks, self.results = process, tasks, results

    def send(self, chunk, index, offset):
        import pyarrow as pa
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, chunk.schema) as writer:
            writer.write_batch(chunk)
        self.tasks.send((index, offset))
        self.tasks.send_bytes(sink.getvalue())

    def receive(self):
        try:
            status, value = self.results.recv()
            if status == 'error':
                raise _remote_error(*value)
            if status == 'ready':
                return None
            head = self.results.recv_bytes()
            buffers = []
            for size in value:
                buffer = bytearray(size)
                self.results.recv_bytes_into(buffer)
                buffers.append(buffer)
        except (EOFError, OSError):
            self.process.join(timeout=10)  # its exit status, which the fork server reports
            raise RuntimeError('transform worker process {} (pid {}) exited unexpectedly (exit code {})'.format(
                self.process.name, self.process.pid, self.process.exitcode)) from None
        except BaseException:  # KeyboardInterrupt in the middle of a reply: this pipe is out of step now
            self.process.terminate()
            raise
        return pickle.loads(head, buffers=buffers)

    result = receive


def _remote_error(pickled, kind, message, text):
    """The worker's exception (its type when it unpickles, else ``RuntimeError``) with its traceback text."""
    try:
        error = pickle.loads(pickled) if pickled is not None else None
    except Exception:
        error = None
    if not isinstance(error, BaseException):
        error = RuntimeError('{}: {}'.format(kind, message))
    error.add_note('traceback in the transform worker process:\n' + text.rstrip())
    return error


def _packed(column):
    """A row column as one array when every row is an array (or NumPy scalar) of one shape and dtype,
    so it travels as one buffer; else unchanged. Iterating the array gives the same row values."""
    if not isinstance(column, list) or not column:
        return column
    first = column[0]
    if type(first) is np.ndarray:
        if first.dtype != object and all(type(v) is np.ndarray and v.dtype == first.dtype
                                         and v.shape == first.shape for v in column):
            return np.stack(column)
    elif isinstance(first, np.generic) and first.dtype != object:
        if all(type(v) is type(first) and v.dtype == first.dtype for v in column):
            return np.array(column, dtype=first.dtype)
    return column


def _reply_error(results, error):
    import traceback
    try:
        pickled = pickle.dumps(error)
    except Exception:
        pickled = None
    text = ''.join(traceback.format_exception(type(error), error, error.__traceback__))
    results.send(('error', (pickled, type(error).__name__, str(error), text)))


def _worker_main(payload, tasks, results):
    """A worker process: loads the converter, then converts chunks until its task pipe closes."""
    import pyarrow as pa
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    np.random.seed()  # forked from one server: without this every worker would draw the same augmentations
    try:
        converter = pickle.loads(payload)
    except Exception as e:
        _reply_error(results, e)
        return
    results.send(('ready', None))
    while True:
        try:
            index, offset = tasks.recv()
            data = tasks.recv_bytes()
        except EOFError:
            return
        try:
            chunk = pa.ipc.open_stream(data).read_next_batch()
            n, columns, filtered = converter(chunk, index, offset)
            if not converter.batched:
                columns = [_packed(c) for c in columns]
            buffers = []
            head = pickle.dumps((n, columns, filtered), protocol=5, buffer_callback=buffers.append)
        except Exception as e:
            _reply_error(results, e)
            continue
        raws = [b.raw() for b in buffers]
        results.send(('ok', [r.nbytes for r in raws]))
        results.send_bytes(head)
        for raw in raws:
            results.send_bytes(raw)
