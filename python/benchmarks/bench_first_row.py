"""Time to the first row in a fresh process (issue 11's target: 50 ms), on the compatibility fixtures.

    .venv/bin/python python/benchmarks/bench_first_row.py [--runs 5] [DATASET_URL ...]

Each run is a new interpreter that imports ``make_reader`` (timed apart: "import"), then times
``make_reader(url)`` + ``next()`` ("first row"). Prints the median of the runs per dataset and the
heavy modules the process had imported by then (none expected). Not a test.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[3] / 'shared' / 'fixtures' / 'petastorm-0.13.1'
HEAVY = ('pandas', 'pyspark', 'pyarrow.parquet', 'pyarrow.dataset', 'pyarrow.compute', 'torch', 'tensorflow')

CHILD = '''
import json, sys, time
t0 = time.perf_counter()
from petastorm import make_reader
import petastorm.reader
t1 = time.perf_counter()
with make_reader(sys.argv[1], shuffle_row_groups=False, workers_count=2) as reader:
    next(reader)
t2 = time.perf_counter()
print(json.dumps({"import_ms": (t1 - t0) * 1e3, "first_row_ms": (t2 - t1) * 1e3,
                  "heavy": [m for m in json.loads(sys.argv[2]) if m in sys.modules]}))
'''


def run_once(url):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[1])] +
                                                      os.environ.get('PYTHONPATH', '').split(os.pathsep)))
    out = subprocess.run([sys.executable, '-c', CHILD, url, json.dumps(HEAVY)], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('urls', nargs='*', default=[(FIXTURES / name).as_uri() for name in ('hello', 'mnist', 'jpeg')])
    args = parser.parse_args()
    print('{:<60} {:>10} {:>14}  {}'.format('dataset', 'import ms', 'first row ms', 'heavy modules'))
    for url in args.urls:
        runs = [run_once(url) for _ in range(args.runs)]
        heavy = sorted({m for r in runs for m in r['heavy']})
        print('{:<60} {:>10.1f} {:>14.1f}  {}'.format(url[-60:], statistics.median(r['import_ms'] for r in runs),
                                                      statistics.median(r['first_row_ms'] for r in runs),
                                                      ', '.join(heavy) or '-'))


if __name__ == '__main__':
    main()
