"""The measuring half of compare_upstream.py, for whichever ``petastorm`` this interpreter imports.

compare_upstream.py runs it in upstream's venv:

    python _upstream_side.py rates '{"runs": [[case, url, pool, workers], ...], "warmup": 1, "seconds": 4}'
        -> a JSON line {"petastorm": version, "file": path}, then one per run: {"case", "pool", "workers",
           "rate"} (rate null and "error" set on failure)
    python _upstream_side.py rss URL ROWS QUEUE
        -> {"peak_rss_kib": ...}: peak RSS of this process after reading ROWS rows with make_reader
           (also run with our interpreter, for a fresh process)

and imports ``measure`` from it to run the very same loops on our package in-process. Imports only the
standard library and petastorm (which brings numpy/pyarrow; torch for the ``torch`` case).
"""
import json
import os
import resource
import sys
import time


def _rows(reader):
    for _ in reader:
        yield 1


def _batches(reader):
    for batch in reader:
        yield len(batch[0])


def _torch(reader):
    from petastorm.pytorch import DataLoader
    for batch in DataLoader(reader, batch_size=64):
        yield len(batch['idx'])


# case: (make_batch_reader?, row counts of a reader's output); *_aug: with _augment.SPECS[case] as TransformSpec
CASES = {'hello': (False, _rows), 'mnist': (False, _rows), 'jpeg': (False, _rows),
         'floats': (True, _batches), 'torch': (False, _torch), 'hello_aug': (False, _rows), 'jpeg_aug': (False, _rows)}


def rate(counts, warmup, seconds):
    """rows/s of an endless iterator of row counts: `warmup` s discarded, then about `seconds` s timed."""
    end = time.perf_counter() + warmup
    for _ in counts:
        if time.perf_counter() >= end:
            break
    rows, start = 0, time.perf_counter()
    for n in counts:
        rows += n
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            break
    return rows / elapsed


def measure(case, url, pool='thread', workers=2, warmup=1.0, seconds=4.0):
    """Steady-state rows/s of `case` on `url`, reading forever (num_epochs=None) and stopping early."""
    from petastorm import make_batch_reader, make_reader
    batched, counts = CASES[case]
    make = make_batch_reader if batched else make_reader
    with make(url, reader_pool_type=pool, workers_count=workers, num_epochs=None,
              transform_spec=_transform_spec(case)) as reader:
        return rate(counts(reader), warmup, seconds)


def _transform_spec(case):
    if not case.endswith('_aug'):
        return None
    import _augment  # this folder is on sys.path (and on PYTHONPATH for upstream's worker processes)
    from petastorm.transform import TransformSpec
    func, edit_fields = _augment.SPECS[case]
    return TransformSpec(func, edit_fields=edit_fields)


def peak_rss(url, rows, queue):
    """Peak RSS (KiB) of this process after reading `rows` rows (0: import only) with make_reader.

    Linux's ru_maxrss survives execve, so a child of a big process starts at its parent's size: where
    /proc is there, this is the address space's own high-water mark (VmHWM) instead.
    """
    from petastorm import make_reader
    if rows:
        with make_reader(url, workers_count=2, results_queue_size=queue, num_epochs=1) as reader:
            for _, _ in zip(range(rows), reader):
                pass
    try:
        with open('/proc/self/status') as status:
            return int(next(line for line in status if line.startswith('VmHWM:')).split()[1])
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main():
    out, sys.stdout = sys.stdout, open(os.devnull, 'w')  # stdout: only our JSON (upstream print()s chatter)
    if sys.argv[1] == 'rss':
        print(json.dumps({'peak_rss_kib': peak_rss(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))}), file=out)
        return
    import petastorm
    print(json.dumps({'petastorm': petastorm.__version__, 'file': petastorm.__file__}), file=out, flush=True)
    spec = json.loads(sys.argv[2])
    for case, url, pool, workers in spec['runs']:
        result = {'case': case, 'pool': pool, 'workers': workers, 'rate': None}
        try:
            result['rate'] = measure(case, url, pool, workers, spec['warmup'], spec['seconds'])
        except Exception as e:  # report and go on with the other configurations
            result['error'] = '{}: {}'.format(type(e).__name__, e)
        print(json.dumps(result), file=out, flush=True)

if __name__ == '__main__':
    main()
