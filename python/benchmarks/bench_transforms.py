"""make_reader with a per-row augmentation in TransformSpec (_augment.py: random crop, flip, normalise to
float32), ours on every pool next to upstream Petastorm 0.13.1's in its own venv, in one run.

    .venv/bin/python python/benchmarks/bench_transforms.py [--scale 1] [--seconds 4] [--workers 1,2,4]

Datasets: bench_reader.py's hello-world (PNG 128x256x3 + NPY, 1000 rows at scale 1, cropped to 112x224)
and JPEG 224x224 + NPZ (400 rows, cropped to 200x200). Each measurement reads with num_epochs=None,
discards --warmup seconds, then counts rows for --seconds (_upstream_side.measure). Ours: 'dummy'
(serial, the consumer thread) and 'thread'/'process' at each workers_count; upstream: every pool at
each workers_count, its best kept. --rounds passes alternate which side goes first (a shared machine's
load drifts) and keep each configuration's best. Prints rows/s and ours' best / upstream's best. Not a test.
"""
import argparse
import os
import tempfile
from pathlib import Path

from _upstream_side import measure
from bench_reader import generate
from compare_upstream import HELLO_SCALE, fmt, measure_upstream

# case of _upstream_side / _augment.SPECS, dataset of bench_reader, label
CASES = [('hello_aug', 'hello', 'hello-world + augmentation'), ('jpeg_aug', 'jpeg', 'JPEG 224x224 + augmentation')]
TARGET = 2.0  # ours / upstream's best pool (issue 11)


def _measure_ours(args, urls, runs):
    """{(case, pool, workers): rows/s} of our package, in this process."""
    out = {}
    for case, url, pool, workers in runs:
        out[case, pool, workers] = measure(case, url, pool, workers, args.warmup, args.seconds)
        print('  ours     {:<9} {:<7} x{}: {} rows/s'.format(case, pool, workers, fmt(out[case, pool, workers])),
              flush=True)
    return out


def _measure_upstream(args, urls, runs):
    """{(case, pool, workers): rows/s or None} of upstream, in its venv."""
    found = measure_upstream(args.upstream_python, urls, args.warmup, args.seconds, runs)
    return {(case,) + config: rate for case, rates in found.items() for config, rate in rates.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--upstream-python', default=os.environ.get('UPSTREAM_PYTHON', '/tmp/upvenv/bin/python'))
    parser.add_argument('--scale', type=float, default=1.0, help='multiplies every dataset size')
    parser.add_argument('--warmup', type=float, default=1.0, help='seconds read before timing')
    parser.add_argument('--seconds', type=float, default=4.0, help='seconds timed per measurement')
    parser.add_argument('--workers', default='1,2,4', help='workers_count values')
    parser.add_argument('--rounds', type=int, default=2, help='passes over every configuration, best kept')
    args = parser.parse_args()
    counts = [int(w) for w in args.workers.split(',')]
    configs = [('dummy', 1)] + [(pool, w) for pool in ('thread', 'process') for w in counts]
    with tempfile.TemporaryDirectory(prefix='pst-transforms-') as tmp:
        print('generating datasets in {} ...'.format(tmp), flush=True)
        urls = {dataset: generate(Path(tmp), dataset, args.scale * (HELLO_SCALE if dataset == 'hello' else 1))
                for _, dataset, _ in CASES}
        runs = [[case, urls[dataset], pool, workers] for case, dataset, _ in CASES for pool, workers in configs]
        ours, upstream = {}, {}
        order = [(_measure_ours, ours), (_measure_upstream, upstream)]
        for round_ in range(args.rounds):
            for measure_side, best in (order if round_ % 2 == 0 else order[::-1]):
                for key, rate in measure_side(args, urls, runs).items():
                    if rate and rate > best.get(key, 0):
                        best[key] = rate

    names = ['{}x{}'.format(*c) for c in configs]
    print('\nrows/s (workers_count also sizes our native decode pool; dummy: one decode thread, serial transform)')
    print('{:<30}{:<10}'.format('case', '') + ''.join('{:>11}'.format(n) for n in names))
    for case, _, label in CASES:
        for side, rates in (('ours', ours), ('upstream', upstream)):
            print('{:<30}{:<10}'.format(label if side == 'ours' else '', side) +
                  ''.join('{:>11}'.format(fmt(rates.get((case,) + c))) for c in configs))
    print('\n{:<30} {:>22} {:>22} {:>8} {:>6}'.format('case', 'ours best', 'upstream best', 'ratio', 'met?'))
    for case, _, label in CASES:
        mine = max(configs, key=lambda c: ours[(case,) + c])
        found = {c: upstream[(case,) + c] for c in configs if (case,) + c in upstream}
        theirs = max(found, key=found.get) if found else None
        ratio = ours[(case,) + mine] / found[theirs] if theirs else None
        print('{:<30} {:>22} {:>22} {:>8} {:>6}'.format(
            label, '{} ({}x{})'.format(fmt(ours[(case,) + mine]), *mine),
            '{} ({}x{})'.format(fmt(found[theirs]), *theirs) if theirs else '-',
            '-' if ratio is None else '{:.2f}x'.format(ratio),
            '-' if ratio is None else 'yes' if ratio >= TARGET else 'NO'))
    print('(load average during the run: {:.1f} {:.1f} {:.1f} on {} cores)'.format(*os.getloadavg(), os.cpu_count()))


if __name__ == '__main__':
    main()
