"""The ``reader_pool_type='process'`` pool of ``petastorm._workers``: ``workers_count`` worker processes
that run the reader's :class:`~petastorm._convert.BatchConverter` on chunks of decoded rows.

Chunks and results travel through shared memory: each worker has ``_SLOTS`` pairs of blocks (memfds,
mapped by both processes, grown on demand by the side that writes them). A chunk is written once, as an
Arrow IPC stream, straight into an input block, which the worker reads in place (zero copy); the worker
writes the result's arrays into the matching output block (rows of one shape and dtype stacked into one
array there), the rest of the result travels as a small pickle over a pipe, and the parent copies the
arrays out once. Memfds have no name in ``/dev/shm``: the kernel frees them with their last descriptor
and mapping, so a crash or ``SIGKILL`` leaves nothing behind. Chunk ``k`` of a worker uses slot
``k % _SLOTS``, and the pool waits to hand a worker a chunk until the result that last used its slot was
read, so results keep the submission order and at most ``_SLOTS`` chunks per worker are in flight.

Workers come from the ``forkserver`` start method: the reader's process runs native decode and I/O threads
(Rayon, Tokio) and pyarrow's pools, whose locks a ``fork()`` could copy held into the child; the fork
server is a fresh single-threaded interpreter that forks each worker. So the transform function and
predicate must be picklable (module-level functions), and a script needs multiprocessing's usual
``if __name__ == '__main__':`` guard. Workers ignore SIGINT (the consumer's process handles Ctrl-C and
stops them), exit on EOF when their reader goes away, and are terminated by ``close`` (``Reader.stop``),
by a finalizer, and at interpreter exit.
"""
import mmap
import os
import pickle
import signal
import threading
import weakref

import numpy as np

from petastorm import _malloc

_SLOTS = 2  # chunks in flight per worker: one converted while the next one waits
_ALIGN = 64


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


class _Block(object):
    """A block of shared memory: a memfd mapped in both processes. The writer grows it (``writable``);
    the reader maps the new size when a message names a bigger one (``readable``). An old mapping stays
    valid while arrays still view it and goes with them. ``close`` may come from another thread: the
    descriptor is used and closed under a lock, so a closed block's number (maybe reused by then) is
    never touched."""

    def __init__(self, fd=None):
        self._fd = os.memfd_create('petastorm-transform', os.MFD_CLOEXEC) if fd is None else fd
        self._lock = threading.Lock()
        self.view, self.size = None, 0

    @property
    def fd(self):
        return self._fd

    def _map(self, grow_to=None):
        with self._lock:
            if self._fd is None:
                raise RuntimeError('the transform pool was closed')
            if grow_to is not None:
                os.ftruncate(self._fd, grow_to)
            self.size = os.fstat(self._fd).st_size
            self.view = memoryview(mmap.mmap(self._fd, self.size))
            return self.view

    def writable(self, nbytes):
        view = self.view
        if view is None or nbytes > self.size:
            view = self._map(max(nbytes, 2 * self.size, 1) + mmap.PAGESIZE - 1 & -mmap.PAGESIZE)
        return view[:nbytes]

    def readable(self, nbytes):
        view = self.view
        if view is None or nbytes > self.size:
            view = self._map()
        return view[:nbytes]

    def close(self):
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd, self.view = None, None


class _Fd(object):
    """A descriptor handed to a worker process when it starts (multiprocessing duplicates it there)."""

    def __init__(self, fd):
        self.fd = fd

    def __reduce__(self):
        from multiprocessing.reduction import DupFd
        return _detached, (DupFd(self.fd),)


def _detached(dup):
    return dup.detach()


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
                worker = _Worker(task_writer, result_reader)
                self._workers.append(worker)
                fds = [[_Fd(block.fd) for block in blocks] for blocks in (worker.inputs, worker.outputs)]
                process = context.Process(target=_worker_main, args=(payload, task_reader, result_writer, *fds),
                                          name='petastorm-transform-{}'.format(k), daemon=True)
                process.start()
                worker.process = process  # once started: _terminate stops only started ones
                task_reader.close()  # the worker's ends: its exit is EOF here
                result_writer.close()
            for worker in self._workers:
                worker.ready()
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
        worker.stop()
        if worker.process is not None:
            worker.process.terminate()
    for worker in workers:
        if worker.process is not None:
            worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
        worker.tasks.close()
        worker.results.close()
        for block in worker.inputs + worker.outputs:
            block.close()


class _Worker(object):
    """The parent's ends of one worker: its pipes and blocks. ``send`` (the feeder) waits for a free slot;
    ``result()`` (the consumer) reads the next reply, which frees its slot."""

    def __init__(self, tasks, results):
        self.process, self.tasks, self.results = None, tasks, results
        self.inputs = [_Block() for _ in range(_SLOTS)]
        self.outputs = [_Block() for _ in range(_SLOTS)]
        self._sent = self._received = 0
        self._stopped = False
        self._cond = threading.Condition()

    def send(self, chunk, index, offset):
        with self._cond:
            while self._sent - self._received >= _SLOTS and not self._stopped:
                self._cond.wait()
            if self._stopped:
                raise RuntimeError('the transform pool was closed')
            slot = self._sent % _SLOTS
            self._sent += 1
        self.tasks.send((index, offset, slot, _write_chunk(self.inputs[slot], chunk)))

    def stop(self):
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def ready(self):
        """Waits for the worker's 'ready' (or the error of unpickling the converter there)."""
        self._reply()

    def result(self):
        slot = self._received % _SLOTS
        try:
            reply = self._reply()
            return _decode(reply, self.outputs[slot])
        finally:
            with self._cond:
                self._received += 1
                self._cond.notify_all()

    def _reply(self):
        try:
            status, value = self.results.recv()
        except (EOFError, OSError):
            self.process.join(timeout=10)  # its exit status, which the fork server reports
            raise RuntimeError('transform worker process {} (pid {}) exited unexpectedly (exit code {})'.format(
                self.process.name, self.process.pid, self.process.exitcode)) from None
        except BaseException:  # KeyboardInterrupt in the middle of a reply: this pipe is out of step now
            self.process.terminate()
            raise
        if status == 'error':
            raise _remote_error(*value)
        return value


def _write_stream(sink, chunk):
    import pyarrow as pa
    with pa.ipc.new_stream(sink, chunk.schema) as writer:
        writer.write_batch(chunk)


def _write_chunk(block, chunk):
    """Writes ``chunk`` into ``block`` as an Arrow IPC stream (sized first, then written in place); its size."""
    import pyarrow as pa
    sizer = pa.MockOutputStream()
    _write_stream(sizer, chunk)
    size = sizer.size()
    _write_stream(pa.FixedSizeBufferWriter(pa.py_buffer(block.writable(size))), chunk)
    return size


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


def _stacked(column):
    """``(dtype, shape, axes)`` of ``column`` as one array: a NumPy array, or a row column whose rows are
    all arrays (or NumPy scalars) of one shape and dtype (iterating the stacked array gives the same row
    values); ``None`` for anything else, which is pickled. ``axes``: the array's axes from the slowest
    to the fastest varying in memory, so it is copied in its own layout (a channel-planar image stays
    planar) rather than transposed."""
    if isinstance(column, np.ndarray):
        return None if column.dtype == object else (column.dtype, column.shape, _slowest_first(column.strides))
    if not isinstance(column, list) or not column:
        return None
    first = column[0]
    if type(first) is np.ndarray:
        if first.dtype != object and all(type(v) is np.ndarray and v.dtype == first.dtype
                                         and v.shape == first.shape for v in column):
            return first.dtype, (len(column),) + first.shape, [0] + [1 + a for a in _slowest_first(first.strides)]
    elif isinstance(first, np.generic) and first.dtype != object:
        if all(type(v) is type(first) and v.dtype == first.dtype for v in column):  # np.str_ dtypes vary
            return first.dtype, (len(column),), [0]
    return None


def _slowest_first(strides):
    return sorted(range(len(strides)), key=lambda axis: -abs(strides[axis]))


def _aligned(n):
    return -(-n // _ALIGN) * _ALIGN


def _array_at(view, offset, dtype, shape, axes):
    """The array of ``shape`` at ``offset`` of ``view``, laid out in memory in the order of ``axes``."""
    stored = [shape[a] for a in axes]
    return np.frombuffer(view, dtype, int(np.prod(stored)), offset).reshape(stored).transpose(np.argsort(axes))


def _encode(result, block):
    """``result`` of the converter for the parent: its arrays written into ``block``, the rest pickled
    (protocol 5, contiguous buffers into ``block`` too). Returns ``(pickle, [(column, offset, dtype,
    shape, axes)], [(offset, size) of each pickle buffer], bytes of block used)``."""
    n, columns, filtered = result
    columns, values = list(columns), {}
    placed, end = [], 0
    for i, column in enumerate(columns):
        stacked = _stacked(column)
        if stacked is not None:
            placed.append((i, end) + stacked)
            end += _aligned(stacked[0].itemsize * int(np.prod(stacked[1])))
            values[i], columns[i] = column, None  # written into the block, not pickled
    buffers = []
    head = pickle.dumps((n, columns, filtered), protocol=5, buffer_callback=buffers.append)
    raws = [b.raw() for b in buffers]
    spans = []
    for raw in raws:
        spans.append((end, raw.nbytes))
        end += _aligned(raw.nbytes)
    view = block.writable(end)
    for i, offset, dtype, shape, axes in placed:
        out = _array_at(view, offset, dtype, shape, axes)
        if isinstance(values[i], np.ndarray):
            np.copyto(out, values[i])
        else:
            np.stack(values[i], out=out)
    for raw, (offset, size) in zip(raws, spans):
        view[offset:offset + size] = raw
    return head, placed, spans, end


def _decode(reply, block):
    """The converter's result from :func:`_encode`'s reply, its arrays copied out of ``block``."""
    head, placed, spans, used = reply
    view = block.readable(used)
    n, columns, filtered = pickle.loads(head, buffers=[bytearray(view[o:o + size]) for o, size in spans])
    for i, offset, dtype, shape, axes in placed:
        columns[i] = _array_at(view, offset, dtype, shape, axes).copy(order='K')
    return n, columns, filtered


def _reply_error(results, error):
    import traceback
    try:
        pickled = pickle.dumps(error)
    except Exception:
        pickled = None
    text = ''.join(traceback.format_exception(type(error), error, error.__traceback__))
    results.send(('error', (pickled, type(error).__name__, str(error), text)))


def _worker_main(payload, tasks, results, input_fds, output_fds):
    """A worker process: loads the converter, then converts chunks until its task pipe closes."""
    import pyarrow as pa
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    np.random.seed()  # forked from one server: without this every worker would draw the same augmentations
    _malloc.pad_heap()
    inputs, outputs = [_Block(fd) for fd in input_fds], [_Block(fd) for fd in output_fds]
    try:
        converter = pickle.loads(payload)
    except Exception as e:
        _reply_error(results, e)
        return
    results.send(('ready', None))
    while True:
        try:
            index, offset, slot, size = tasks.recv()
        except EOFError:
            return
        try:
            chunk = pa.ipc.open_stream(pa.py_buffer(inputs[slot].readable(size))).read_next_batch()
            reply = _encode(converter(chunk, index, offset), outputs[slot])
        except Exception as e:
            _reply_error(results, e)
            continue
        results.send(('ok', reply))
