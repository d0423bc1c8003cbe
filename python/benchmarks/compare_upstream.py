"""Our reader next to upstream Petastorm 0.13.1 on the same datasets, with the issue's targets.

    UPSTREAM_PYTHON=/tmp/upvenv/bin/python .venv/bin/python python/benchmarks/compare_upstream.py [--scale 1]

Generates bench_reader.py's datasets once into a temp dir. Every measurement (_upstream_side.measure)
reads with num_epochs=None, discards --warmup seconds, then counts rows for --seconds. Ours runs
in-process with workers_count 2 (the ratio) and 1; upstream runs in its own interpreter
(_upstream_side.py) for each reader_pool_type x workers_count, and its best is kept. The float case
is held against ``pyarrow.parquet.read_table`` in this venv. Last, peak RSS of make_reader in fresh
processes: the hello-world dataset (10x the prefetch window) against 1/10 of it. Not a test.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow.parquet as pq

from _upstream_side import measure, rate
from bench_reader import DATASETS, FLOATS_FILE, dataset_rows, generate

HERE = Path(__file__).resolve().parent
# case, label, dataset, target (ours / upstream; for 'floats' ours / pyarrow read_table)
CASES = [('hello', 'hello-world make_reader', 'hello', 3.0),
         ('mnist', 'MNIST-like make_reader', 'mnist', 20.0),
         ('jpeg', 'JPEG 224x224 + NPZ make_reader', 'jpeg', 1.5),
         ('floats', '8 x float64 make_batch_reader', 'floats', 0.9),
         ('torch', 'torch DataLoader(make_reader) b=64', 'mnist', 10.0)]
UPSTREAM_CONFIGS = [('thread', 1), ('thread', 2), ('thread', 4), ('process', 1), ('process', 2),
                    ('process', 4), ('dummy', 1)]
OURS_WORKERS = (2, 1)
HELLO_SCALE = 2.5  # hello-world at 1000 rows (scale 1): 10 x a prefetch window of 2 row groups of 50
# children import the petastorm of their own interpreter, never ours through PYTHONPATH; no deprecation noise
ENV = dict({k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}, PYTHONWARNINGS='ignore')


def side(python, *args):
    return [python, str(HERE / '_upstream_side.py')] + list(args)


def fmt(rate):
    return '-' if rate is None else '{:,.0f}'.format(rate)


def measure_ours(urls, warmup, seconds):
    """{(case, workers): rows/s} of our package, in this process; plus pyarrow's read_table rows/s."""
    ours = {}
    for case, _, dataset, _ in CASES:
        for workers in OURS_WORKERS:
            ours[case, workers] = measure(case, urls[dataset], 'thread', workers, warmup, seconds)
            print('  ours     {:<7} thread  x{}: {} rows/s'.format(case, workers, fmt(ours[case, workers])), flush=True)
    floats_file = urls['floats'][len('file://'):] + '/' + FLOATS_FILE
    pyarrow_rate = rate(iter(lambda: pq.read_table(floats_file).num_rows, None), warmup, seconds)
    print('  pyarrow  read_table: {} rows/s'.format(fmt(pyarrow_rate)), flush=True)
    return ours, pyarrow_rate


def measure_upstream(python, urls, warmup, seconds, runs=None):
    """{case: {(pool, workers): rows/s or None}} from _upstream_side.py in `python`, for `runs`
    ([case, url, pool, workers] lists; default: every case x UPSTREAM_CONFIGS)."""
    if runs is None:
        runs = [[case, urls[dataset], pool, workers] for case, _, dataset, _ in CASES
                for pool, workers in UPSTREAM_CONFIGS]
    spec = json.dumps({'runs': runs, 'warmup': warmup, 'seconds': seconds})
    env = dict(ENV, PYTHONPATH=str(HERE))  # _augment, for the transform cases' worker processes
    proc = subprocess.Popen(side(python, 'rates', spec), stdout=subprocess.PIPE, text=True, env=env,
                            cwd=tempfile.gettempdir())
    try:
        lines = iter(proc.stdout)
        print('upstream: petastorm {petastorm} ({file})'.format(**json.loads(next(lines))), flush=True)
        results = {}
        for line in lines:
            r = json.loads(line)
            results.setdefault(r['case'], {})[r['pool'], r['workers']] = r['rate']
            print('  upstream {case:<7} {pool:<7} x{workers}: {0}'.format(
                '{:,.0f} rows/s'.format(r['rate']) if r['rate'] else r.get('error'), **r), flush=True)
    except BaseException:
        proc.kill()  # before the datasets go
        raise
    if proc.wait():
        raise SystemExit('upstream side failed (exit {})'.format(proc.returncode))
    return results


def print_tables(ours, pyarrow_rate, upstream):
    print('\nupstream, every reader_pool_type x workers_count (rows/s):')
    print('{:<8}'.format('case') + ''.join('{:>12}'.format('{}x{}'.format(*c)) for c in UPSTREAM_CONFIGS))
    for case, *_ in CASES:
        print('{:<8}'.format(case) + ''.join('{:>12}'.format(fmt(upstream[case].get(c))) for c in UPSTREAM_CONFIGS))

    row = '{:<36} {:>29} {:>12} {:>12} {:>8} {:>15} {:>5}'
    print('\n' + row.format('case', 'upstream rows/s (best config)', 'ours w=2', 'ours w=1', 'ratio', 'target', 'met?'))
    for case, label, _, target in CASES:
        found = {c: r for c, r in upstream[case].items() if r}
        best = max(found, key=found.get) if found else None
        base, versus = (pyarrow_rate, ' pyarrow') if case == 'floats' else (found.get(best), '')
        ratio = ours[case, 2] / base if base else None
        print(row.format(label, '{} ({}x{})'.format(fmt(found[best]), *best) if best else '-',
                         fmt(ours[case, 2]), fmt(ours[case, 1]), '-' if ratio is None else '{:.2f}x'.format(ratio),
                         '>= {:g}x{}'.format(target, versus),
                         '-' if ratio is None else 'yes' if ratio >= target else 'NO'))
    print(row.format('pyarrow.parquet.read_table 8 x f64', '', fmt(pyarrow_rate), '', '', '', ''))
    up_floats = max(filter(None, upstream['floats'].values()), default=None)
    if up_floats:
        print('(8 x float64: the ratio is ours / pyarrow; ours / upstream make_batch_reader = {:.2f}x)'.format(
            ours['floats', 2] / up_floats))


def print_memory(upstream_python, url, rows):
    group = DATASETS['hello'][3]
    queue = max(1, rows // (10 * group))
    print('\npeak RSS (MiB, VmHWM of a fresh process), make_reader(workers_count=2, results_queue_size={}) '
          'on hello-world:\n{} rows in row groups of {}, a prefetch window of {} rows'.format(queue, rows, group,
                                                                                           queue * group))
    print('{:<10} {:>12} {:>12} {:>12} {:>10}'.format('', 'import only', '{} rows'.format(rows // 10),
                                                      '{} rows'.format(rows), 'all/tenth'))
    for name, python in (('ours', sys.executable), ('upstream', upstream_python)):
        mib = []
        for n in (0, rows // 10, rows):
            out = subprocess.run(side(python, 'rss', url, str(n), str(queue)), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, env=ENV, cwd=tempfile.gettempdir())
            if out.returncode:
                raise SystemExit('{} rss run failed:\n{}'.format(name, out.stderr))
            mib.append(json.loads(out.stdout)['peak_rss_kib'] / 1024)
        flat = mib[2] / mib[1]
        verdict = ('  flat (<= 1.3x)' if flat <= 1.3 else '  NOT FLAT (> 1.3x)') if name == 'ours' else ''
        print('{:<10} {:>12.0f} {:>12.0f} {:>12.0f} {:>9.2f}x{}'.format(name, *mib, flat, verdict))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--upstream-python', default=os.environ.get('UPSTREAM_PYTHON', '/tmp/upvenv/bin/python'))
    parser.add_argument('--scale', type=float, default=1.0, help='multiplies every dataset size')
    parser.add_argument('--warmup', type=float, default=1.0, help='seconds read before timing')
    parser.add_argument('--seconds', type=float, default=4.0, help='seconds timed per measurement')
    args = parser.parse_args()
    scales = {name: args.scale * (HELLO_SCALE if name == 'hello' else 1) for name in DATASETS}
    with tempfile.TemporaryDirectory(prefix='pst-compare-') as tmp:
        print('generating datasets in {} ...'.format(tmp), flush=True)
        urls = {name: generate(Path(tmp), name, scale) for name, scale in scales.items()}
        ours, pyarrow_rate = measure_ours(urls, args.warmup, args.seconds)
        upstream = measure_upstream(args.upstream_python, urls, args.warmup, args.seconds)
        print_tables(ours, pyarrow_rate, upstream)
        print_memory(args.upstream_python, urls['hello'], dataset_rows('hello', scales['hello']))


if __name__ == '__main__':
    main()
