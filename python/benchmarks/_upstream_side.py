"""The measuring half of compare_upstream.py, for whichever ``petastorm`` this interpreter imports.

compare_upstream.py runs it in a fresh process per measurement, in upstream's venv and in ours:

    python _upstream_side.py run '{"case": ..., "url": ..., "pool": ..., "workers": ..., "warmup": 1, "seconds": 4}'
        -> one JSON line {"petastorm": version, "rate": rows/s, "peak_rss_kib": ..., "cores": CPU seconds of the
           process and its live descendants per second of the window, "consumer_ns_per_row": CPU of the iterating
           thread per row} ("error" instead of "rate" on failure)
    python _upstream_side.py rss URL ROWS QUEUE
        -> {"peak_rss_kib": ...}: peak RSS of this process after reading ROWS rows with make_reader

Steady-state cases read with num_epochs=None, discard ``warmup`` seconds, then count rows for ``seconds``;
``epoch`` cases time one epoch from ``import petastorm`` (torch imported first) to the last batch: the cold
start included. Imports only the standard library and petastorm (which brings numpy/pyarrow; torch and
TensorFlow for their cases).
"""
import json
import os
import resource
import sys
import time


def _rows(reader, every=64):
    """Row counts of a row reader, `every` rows at a time (the harness's own cost per row: one loop step)."""
    n = 0
    for _ in reader:
        n += 1
        if n == every:
            yield n
            n = 0


def _batches(reader):
    for batch in reader:
        yield len(batch[0])


def _torch_rows(reader):
    from petastorm.pytorch import DataLoader
    for batch in DataLoader(reader, batch_size=64):
        yield len(batch['idx'])


def _torch_columns(reader, batch_size=1024):
    from petastorm.pytorch import BatchedDataLoader
    for batch in BatchedDataLoader(reader, batch_size=batch_size):
        yield len(next(iter(batch.values())))


def _tf_rows(reader, batch_size=64):
    from petastorm.tf_utils import make_petastorm_dataset
    for batch in make_petastorm_dataset(reader).batch(batch_size):  # a training input pipeline batches in TF
        yield int(batch[0].shape[0])


# case: (make_batch_reader?, row counts of a reader's output, one epoch timed from a cold start?)
CASES = {'hello': (False, _rows, False), 'hello_b': (True, _batches, False),
         'mnist': (False, _rows, False), 'mnist_b': (True, _batches, False),
         'jpeg': (False, _rows, False), 'jpeg_b': (True, _batches, False),
         'floats_r': (False, _rows, False), 'floats': (True, _batches, False),
         'torch': (False, _torch_rows, False), 'btorch': (True, _torch_columns, False),
         'mnist_epoch': (False, lambda reader: _torch_columns(reader, 64), True),
         'tf': (False, _tf_rows, False),
         'hello_aug': (False, _rows, False), 'jpeg_aug': (False, _rows, False)}  # + _augment.SPECS[case]


def rate(counts, warmup, seconds):
    """rows/s of an endless iterator of row counts: `warmup` s discarded, then about `seconds` s timed; the CPU
    time of this (the consuming) thread per row and the cores busy in the window go to _WINDOW."""
    end = time.perf_counter() + warmup
    for _ in counts:
        if time.perf_counter() >= end:
            break
    rows, start, cpu, tree = 0, time.perf_counter(), time.thread_time(), tree_cpu_seconds()
    for n in counts:
        rows += n
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            break
    _WINDOW.update(consumer_ns_per_row=(time.thread_time() - cpu) * 1e9 / max(rows, 1),
                   cores=(tree_cpu_seconds() - tree) / elapsed)
    return rows / elapsed


def measure(case, url, pool='thread', workers=2, warmup=1.0, seconds=4.0):
    """rows/s of `case` on `url`: steady state (reading forever, stopping early), or one cold epoch."""
    batched, counts, epoch = CASES[case]
    if epoch:
        start = time.perf_counter()
    from petastorm import make_batch_reader, make_reader
    make = make_batch_reader if batched else make_reader
    if epoch:
        with make(url, reader_pool_type=pool, workers_count=workers, num_epochs=1) as reader:
            rows = sum(counts(reader))
        return rows / (time.perf_counter() - start)
    with make(url, reader_pool_type=pool, workers_count=workers, num_epochs=None,
              transform_spec=_transform_spec(case)) as reader:
        result = rate(counts(reader), warmup, seconds)
        _WINDOW['children_kib'] = children_peak_rss_kib()  # while a process pool's workers are still alive
        return result


# What the timed window measured besides its rate: consumer_ns_per_row, cores, children_kib (peak RSS of live
# descendants at its end).
_WINDOW = {}


def _descendants(pid='self'):
    """The pids of the live descendants of process `pid` (a process pool's workers, our fork server)."""
    try:
        tasks = os.listdir('/proc/{}/task'.format(pid))
    except OSError:
        return
    for task in tasks:
        try:
            with open('/proc/{}/task/{}/children'.format(pid, task)) as f:
                children = f.read().split()
        except OSError:
            continue
        for child in children:
            yield child
            yield from _descendants(child)


def _cpu_seconds(pid):
    try:
        with open('/proc/{}/stat'.format(pid)) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
    except (OSError, ValueError, IndexError):
        return 0.0


def _peak_rss_kib(pid):
    try:
        with open('/proc/{}/status'.format(pid)) as status:
            return int(next(line for line in status if line.startswith('VmHWM:')).split()[1])
    except (OSError, StopIteration):
        return 0


def tree_cpu_seconds():
    """CPU seconds (user + system) of this process and its live descendants so far."""
    return _cpu_seconds('self') + sum(_cpu_seconds(pid) for pid in _descendants())


def children_peak_rss_kib():
    """The sum of the peak RSS (VmHWM) of every live descendant of this process: a process pool's workers (and
    our fork server) hold memory of the job too."""
    return sum(_peak_rss_kib(pid) for pid in _descendants())


def _transform_spec(case):
    """The augmentation of a `*_aug` case (_augment.SPECS) as a TransformSpec, else None."""
    if not case.endswith('_aug'):
        return None
    import _augment  # this folder is on sys.path (and on PYTHONPATH for worker processes)
    from petastorm.transform import TransformSpec
    func, edit_fields = _augment.SPECS[case]
    return TransformSpec(func, edit_fields=edit_fields)


def peak_rss_kib():
    """This process's peak RSS. Linux's ru_maxrss survives execve, so a child of a big process starts
    at its parent's size: where /proc is there, the address space's own high-water mark (VmHWM)."""
    return _peak_rss_kib('self') or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def read_rows(url, rows, queue):
    """Reads `rows` rows (0: import only) with make_reader."""
    from petastorm import make_reader
    if rows:
        with make_reader(url, workers_count=2, results_queue_size=queue, num_epochs=1) as reader:
            for _, _ in zip(range(rows), reader):
                pass


def main():
    out, sys.stdout = sys.stdout, open(os.devnull, 'w')  # stdout: only our JSON (upstream print()s chatter)
    if sys.argv[1] == 'rss':
        read_rows(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        print(json.dumps({'peak_rss_kib': peak_rss_kib()}), file=out)
        return
    spec = json.loads(sys.argv[2])
    if CASES[spec['case']][1] in (_torch_rows, _torch_columns) or CASES[spec['case']][2]:
        import torch  # noqa: F401  (before any timing: not part of the cold start)
    result = {}
    try:
        result['rate'] = measure(spec['case'], spec['url'], spec['pool'], spec['workers'], spec['warmup'],
                                 spec['seconds'])
    except Exception as e:  # reported; the table shows '-'
        result['error'] = '{}: {}'.format(type(e).__name__, e)
    import petastorm
    result.update(petastorm=petastorm.__version__, peak_rss_kib=peak_rss_kib() + _WINDOW.get('children_kib', 0),
                  consumer_ns_per_row=_WINDOW.get('consumer_ns_per_row'), cores=_WINDOW.get('cores'))
    print(json.dumps(result), file=out, flush=True)


if __name__ == '__main__':
    main()
