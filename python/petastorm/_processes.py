"""The ``reader_pool_type='process'`` pool of ``petastorm._workers``: ``workers_count`` worker processes
that run the reader's :class:`~petastorm._convert.BatchConverter` on chunks of decoded rows.

A chunk goes to its worker as an Arrow IPC stream over a pipe; the result comes back as one pickle
(protocol 5) whose arrays travel out of band as raw buffers (rows of one shape are stacked first), never
pickled row by row. Chunk ``k`` goes to worker ``k % workers_count`` and its result is read back from that
worker, so results keep the submission order.

Workers come from the ``forkserver`` start method: the reader's process runs native decode and I/O threads
(Rayon, Tokio) and pyarrow's pools, whose locks a ``fork()`` could copy held into the child; the fork
server is a fresh single-threaded interpreter that forks each worker. So the transform function and
predicate must be picklable (module-level functions), and a script needs multiprocessing's usual
``if __name__ == '__main__':`` guard. Workers ignore SIGINT (the consumer's process handles Ctrl-C and
stops them), exit on EOF when their reader goes away, and are terminated by ``close`` (``Reader.stop``),
by a finalizer, and at interpreter exit.
"""
import pickle
import signal
import weakref

import numpy as np


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


class ProcessPool(object):
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
