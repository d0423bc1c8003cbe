"""The benchmark table: our package next to upstream Petastorm 0.13.1, the hardware floor and Lance.

    UPSTREAM_PYTHON=/tmp/upvenv/bin/python LANCE_PYTHON=/tmp/lancevenv/bin/python \\
        .venv/bin/python python/benchmarks/compare_upstream.py [--quick] [--scale 1] [--skip spark]

Writes bench_reader.py's datasets once into a temp dir, then prints ONE table: case, ours (2 and 1 decode
threads), upstream's best reader_pool_type x workers_count, the ratio, the floor, ours as a fraction of
the floor, peak RSS of ours and of upstream's best run, and Lance where it is the peer.

* Every reader measurement runs in a fresh process (_upstream_side.py, in our venv with this tree's
  package, or in upstream's), so each has its own peak RSS: its VmHWM plus the VmHWM of its live descendants
  (a process pool's workers, our fork server) taken at the end of the window. Steady state: --warmup seconds
  discarded, rows counted for --seconds. ``... one epoch`` rows time one epoch from ``import petastorm``.
* Floor: the bare decode cost of our own codecs (hello-world, JPEG, MNIST-like ``make_batch_reader``):
  native/examples/decode_floor.rs, built here on demand, decodes every codec cell of the dataset, loaded in
  memory once, with the reader's own per-cell decoder on all cores, in a loop: no reader, no Parquet, no
  Python. Its sustained rate (every pass over the window, as the readers are timed; its best single pass is
  printed too) is the floor. ``+pages`` is the same loop with the Parquet pages of those columns read first
  (decode_floor.rs --parquet: the files in memory, the parquet crate's synchronous reader): what reading the
  stored bytes adds, which no reader of those files avoids. For ``make_reader`` on MNIST-like, building one
  namedtuple per row from decoded columns (and the consumer thread's CPU per row, printed below the table);
  for plain columns, ``pyarrow.parquet.read_table``.
* Materialization (bench_materialize.py: PySpark with the same user code, and the JVM writer) and
  make_spark_converter with its torch epoch (bench_converter.py) are in the table too; the transform case
  and first-row latency come from bench_transforms.py / bench_first_row.py when those exist.
* Last, peak RSS over the dataset size: make_reader on all of hello-world against a tenth of it and against one
  window of the reader (the row groups it holds at once).

--quick: small datasets, short windows, two upstream configurations, few Spark rows (checks the harness).
Not a test.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / 'python'))  # this tree's package, also for the in-process converter side

import pyarrow.parquet as pq  # noqa: E402

import bench_converter  # noqa: E402
import bench_materialize  # noqa: E402
from bench_reader import DATASETS, FLOATS_FILE, dataset_rows, generate  # noqa: E402

# case, label, dataset, floor kind
READER_CASES = [
    ('hello', 'make_reader hello-world', 'hello', 'decode'),
    ('hello_b', 'make_batch_reader hello-world', 'hello', 'decode'),
    ('mnist', 'make_reader MNIST-like', 'mnist', 'namedtuple'),
    ('mnist_b', 'make_batch_reader MNIST-like', 'mnist', 'decode'),
    ('jpeg', 'make_reader JPEG 224x224 + NPZ', 'jpeg', 'decode'),
    ('jpeg_b', 'make_batch_reader JPEG 224x224 + NPZ', 'jpeg', 'decode'),
    ('floats_r', 'make_reader 8 x float64 (plain)', 'floats', 'read_table'),
    ('floats', 'make_batch_reader 8 x float64 (plain)', 'floats', 'read_table'),
    ('torch', 'torch DataLoader(make_reader) b64 MNIST', 'mnist', None),
    ('btorch', 'BatchedDataLoader(batch_reader) b1024 8xf64', 'floats', None),
    ('mnist_epoch', 'BatchedDataLoader b64 MNIST, one epoch', 'mnist', None),
    ('tf', 'TF make_petastorm_dataset.batch(64) MNIST', 'mnist', None),
]
LANCE_CASES = {'btorch': 'floats', 'mnist_epoch': 'mnist'}
UPSTREAM_CONFIGS = [('thread', 1), ('thread', 2), ('thread', 4), ('process', 1), ('process', 2),
                    ('process', 4), ('dummy', 1)]
QUICK_UPSTREAM_CONFIGS = [('thread', 2), ('dummy', 1)]
OURS_WORKERS = (2, 1)
HELLO_SCALE = 2.5  # hello-world at 1000 rows (scale 1): 10 x a prefetch window of 2 row groups of 50
# children import the petastorm of their own interpreter; no deprecation noise
ENV = dict({k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}, PYTHONWARNINGS='ignore')


def fmt(value, digits=0):
    return '-' if value is None else '{:,.{}f}'.format(value, digits)


def side_run(python, script, command, spec, ours):
    """One measurement in a fresh process: its JSON result ({'error': ...} when it failed)."""
    # this folder too: _augment, for the transform cases' worker processes
    env = dict(ENV, PYTHONPATH=os.pathsep.join([str(ROOT / 'python')] * ours + [str(HERE)]))
    proc = subprocess.run([python, str(HERE / script), command, json.dumps(spec)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, env=env, cwd=tempfile.gettempdir())
    lines = [line for line in proc.stdout.splitlines() if line.startswith('{')]
    if proc.returncode or not lines:
        return {'error': 'exit {}: {}'.format(proc.returncode, proc.stderr.strip().splitlines()[-1:])}
    return json.loads(lines[-1])


def measure_readers(args, urls, upstream_configs):
    """{case: {'ours': {workers: result}, 'upstream': {(pool, workers): result}}}."""
    results = {}
    for case, label, dataset, _ in READER_CASES:
        spec = {'case': case, 'url': urls[dataset], 'warmup': args.warmup, 'seconds': args.seconds}
        runs = results[case] = {'ours': {}, 'upstream': {}}
        for workers in OURS_WORKERS:
            runs['ours'][workers] = side_run(sys.executable, '_upstream_side.py', 'run',
                                             dict(spec, pool='thread', workers=workers), True)
        for pool, workers in upstream_configs:
            runs['upstream'][pool, workers] = side_run(args.upstream_python, '_upstream_side.py', 'run',
                                                       dict(spec, pool=pool, workers=workers), False)
        print('  {:<46} ours {} / {} rows/s; upstream best {}'.format(
            label, *(fmt(runs['ours'][w].get('rate')) for w in OURS_WORKERS),
            fmt(max((r.get('rate') or 0 for r in runs['upstream'].values()), default=0) or None)), flush=True)
    return results


def measure_lance(args, tmp, urls):
    """{case: result} of Lance on the same data (empty without a Lance venv)."""
    if not args.lance_python or not Path(args.lance_python).exists():
        print('  no Lance venv at {!r}: no peer column'.format(args.lance_python))
        return {}
    out = {}
    for case, dataset in LANCE_CASES.items():
        dst = str(tmp / ('lance-' + dataset))
        if not Path(dst).exists():
            src = urls[dataset][len('file://'):]
            src = src + '/' + FLOATS_FILE if dataset == 'floats' else src
            subprocess.run([args.lance_python, str(HERE / '_lance_side.py'), 'prepare', dataset, src, dst],
                           check=True, env=ENV, cwd=str(HERE))
        out[case] = side_run(args.lance_python, '_lance_side.py', 'run',
                             {'case': case, 'url': dst, 'warmup': args.warmup, 'seconds': args.seconds}, False)
        print('  lance {:<40} {}'.format(case, fmt(out[case].get('rate'))), flush=True)
    return out


# ---------------------------------------------------------------- floors

def _timed_rate(rows, run, seconds):
    """rows/s of `run` (which handles `rows` rows), repeated for about `seconds`, the best pass kept."""
    best, end = None, time.perf_counter() + seconds
    while True:
        start = time.perf_counter()
        run()
        took = time.perf_counter() - start
        best = took if best is None else min(best, took)
        if time.perf_counter() >= end:
            return rows / best


def _stored_cells(url, schema):
    """{field name: [cells]} of the codec columns of a generated dataset."""
    from petastorm.codecs import ScalarCodec
    names = [n for n, f in schema.fields.items() if not isinstance(f.codec, ScalarCodec)]
    paths = sorted(Path(url[len('file://'):]).glob('*.parquet'))
    tables = [pq.read_table(p, columns=names) for p in paths]
    return {n: [c for t in tables for c in t.column(n).to_pylist()] for n in names}


def build_decode_floor():
    """Builds native/examples/decode_floor.rs (cargo skips it when up to date); returns its binary."""
    cargo = shutil.which('cargo') or str(Path.home() / '.cargo' / 'bin' / 'cargo')
    subprocess.run([cargo, 'build', '--release', '-q', '-p', 'petastorm-native', '--example', 'decode_floor'],
                   cwd=str(ROOT), check=True)
    target = Path(os.environ.get('CARGO_TARGET_DIR', ROOT / 'target'))
    return target / 'release' / 'examples' / 'decode_floor'


def decode_floor(binary, url, seconds, pages=False):
    """The decode_floor.rs result (sustained and best-pass rows/s) of the reader's per-cell decoder on every codec
    cell of the dataset, in memory, on all cores; with `pages`, the Parquet pages of those columns read first."""
    out = subprocess.run([str(binary), url, '--seconds', str(seconds)] + ['--parquet'] * pages,
                         stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(out.stdout.splitlines()[-1])


def namedtuple_floor(url, schema, seconds):
    """rows/s of building one namedtuple per row from already decoded columns."""
    cells = _stored_cells(url, schema)
    rows = len(next(iter(cells.values())))
    columns = []
    for name, field in schema.fields.items():
        columns.append([field.codec.decode(field, c) for c in cells[name]] if name in cells else
                       list(range(rows)))
    make = schema._get_namedtuple()._make
    return _timed_rate(rows, lambda: list(map(make, zip(*columns))), seconds)


def read_table_floor(url, seconds):
    path = url[len('file://'):] + '/' + FLOATS_FILE
    rows = pq.read_metadata(path).num_rows
    return _timed_rate(rows, lambda: pq.read_table(path), seconds)


def floors(urls, seconds):
    """``({case: floor rows/s}, {case: floor rows/s with the Parquet pages read}, [lines about them])``."""
    found, pages, cache, notes = {}, {}, {}, []
    binary = build_decode_floor()
    for case, _, dataset, kind in READER_CASES:
        if kind is None:
            continue
        if (kind, dataset) not in cache:
            schema = DATASETS[dataset][0]
            if kind == 'decode':
                bare, paged = (decode_floor(binary, urls[dataset], seconds, p) for p in (False, True))
                cache[kind, dataset] = bare['rows_per_s_sustained'], paged['rows_per_s_sustained']
                notes.append('  {:<8} decode floor {} rows/s sustained (best pass {}); with its Parquet pages {} '
                             '(best pass {})'.format(dataset, *(fmt(r[k]) for r in (bare, paged)
                                                                for k in ('rows_per_s_sustained', 'rows_per_s'))))
            else:
                cache[kind, dataset] = ((namedtuple_floor(urls[dataset], schema, seconds) if kind == 'namedtuple'
                                         else read_table_floor(urls[dataset], seconds)), None)
        found[case], pages[case] = cache[kind, dataset]
    for case, _, dataset, kind in READER_CASES:  # make_reader MNIST-like: its cells' Parquet pages too
        if kind == 'namedtuple':
            pages[case] = cache.get(('decode', dataset), (None, None))[1]
    return found, pages, notes


# ---------------------------------------------------------------- Spark cases

def measure_materialize(args, tmp):
    """[(label, ours rows/s, upstream rows/s)] for PySpark (same user code) and the JVM writer."""
    work = tmp / 'materialize'
    work.mkdir()
    photos = bench_materialize.write_photos(work)
    jar = bench_materialize.JAR.exists()
    if not jar:
        print('  {} is missing (scripts/build.sh): no JVM rows'.format(bench_materialize.JAR))
    out = []
    for case, rows in (('hello', args.materialize_rows), ('jpeg', args.materialize_rows // 2)):
        def run(label, case=case, rows=rows):
            return bench_materialize.measure(label, case, rows, 1, args.upstream_python, work, photos)
        upstream = run('upstream pyspark')
        out.append(('materialize {} PySpark'.format(case), run('ours pyspark dict'), upstream))
        out.append(('materialize {} JVM writer'.format(case), run('ours scala writer') if jar else None, upstream))
    return out


def measure_converter(args, tmp):
    """[(label, ours rows/s, upstream rows/s)] of make_spark_converter and one torch epoch (b1024)."""
    rows, repeats = args.converter_rows, 1 if args.quick else 3
    ours = bench_converter.side(rows, 1024, (tmp / 'conv-ours').as_uri(), repeats)
    try:
        upstream = bench_converter.run_upstream(args.upstream_python, rows, 1024, (tmp / 'conv-up').as_uri(), repeats)
    except SystemExit as e:
        print('  upstream converter failed: {}'.format(str(e)[-300:]))
        upstream = {}

    def per_s(side, key):
        return rows / side[key] if side.get(key) else None
    return [('make_spark_converter', per_s(ours, 'conversion_s'), per_s(upstream, 'conversion_s')),
            ('converter epoch, torch b1024', per_s(ours, 'epoch_s'), per_s(upstream, 'epoch_s'))]


def run_helper_script(name, extra):
    """Runs another helper's benchmark (bench_transforms.py, bench_first_row.py) when it exists."""
    script = HERE / name
    if not script.exists():
        print('\n({} is not there: not run)'.format(name))
        return
    print('\n== {}'.format(name), flush=True)
    subprocess.run([sys.executable, str(script)] + extra, env=dict(ENV, PYTHONPATH=str(ROOT / 'python')))


# ---------------------------------------------------------------- the table

def _best(results):
    found = {c: r['rate'] for c, r in results.items() if r.get('rate')}
    if not found:
        return None, {}
    config = max(found, key=found.get)
    return config, results[config]


def _mib(result):
    kib = result.get('peak_rss_kib') if result else None
    return None if kib is None else kib / 1024


def _share(rate, of):
    return '-' if not (rate and of) else '{:.0%}'.format(rate / of)


def print_table(readers, floor_results, lance, spark_rows, upstream_configs):
    floor, pages, notes = floor_results
    row = '{:<46} {:>12} {:>12} {:>22} {:>7} {:>12} {:>8} {:>11} {:>7} {:>9} {:>9} {:>12}'
    print('\n' + row.format('case (rows/s)', 'ours w=2', 'ours w=1', 'upstream best', 'ratio', 'floor',
                            'of floor', '+pages', 'of it', 'RSS ours', 'RSS up', 'Lance'))
    for case, label, _, _ in READER_CASES:
        ours = readers[case]['ours']
        config, up = _best(readers[case]['upstream'])
        rate = ours[2].get('rate')
        ratio = rate / up['rate'] if rate and up else None
        peer = lance.get(case, {})
        peer_text = ('{} ({:.2f}x)'.format(fmt(peer['rate']), rate / peer['rate']) if peer.get('rate') and rate
                     else '-' if case not in lance else 'failed')
        print(row.format(label, fmt(rate), fmt(ours[1].get('rate')),
                         '{} ({}x{})'.format(fmt(up['rate']), *config) if up else '-',
                         '-' if ratio is None else '{:.2f}x'.format(ratio), fmt(floor.get(case)),
                         _share(rate, floor.get(case)), fmt(pages.get(case)), _share(rate, pages.get(case)),
                         fmt(_mib(ours[2])), fmt(_mib(up)), peer_text))
    for label, ours, upstream in spark_rows:
        ratio = ours / upstream if ours and upstream else None
        print(row.format(label, fmt(ours), '', fmt(upstream), '-' if ratio is None else '{:.2f}x'.format(ratio),
                         '-', '-', '-', '-', '-', '-', ''))
    print('ours: thread pool (w = decode threads); upstream: the best of {} (pool x workers_count); RSS in MiB '
          '(VmHWM of the run\'s process + its pool\'s worker processes); of floor / of it = ours w=2 / the floor '
          '(sustained) / the floor with its Parquet pages'.format(
              ', '.join('{}x{}'.format(*c) for c in upstream_configs)))
    for line in notes:
        print(line)
    mnist = readers['mnist']['ours'][2]
    if mnist.get('consumer_ns_per_row') and floor.get('mnist'):
        print('  make_reader MNIST-like, CPU of the thread iterating the rows: {:.0f} ns per row; the namedtuple '
              'floor: {:.0f} ns per row ({:.2f}x)'.format(mnist['consumer_ns_per_row'], 1e9 / floor['mnist'],
                                                          mnist['consumer_ns_per_row'] * floor['mnist'] / 1e9))
    errors = {(case, side, str(c)): r['error'] for case, runs in readers.items() for side in runs
              for c, r in runs[side].items() if r.get('error')}
    for (case, side, config), error in sorted(errors.items()):
        print('  failed: {} {} {}: {}'.format(case, side, config, error[:160]))


def print_memory(upstream_python, url, rows):
    """Peak RSS of make_reader reading none, a tenth, one window (the row groups the reader holds at once:
    results_queue_size decoded + 2 decoding) and all of hello-world, each in a fresh process. Flat: reading
    all of it takes at most 1.3x what one window takes (a tenth may not fill the window yet)."""
    group = DATASETS['hello'][3]
    queue = max(1, rows // (10 * group))
    sizes = (0, rows // 10, min(rows, (queue + 2) * group), rows)
    print('\npeak RSS (MiB) over the dataset size, make_reader(workers_count=2, results_queue_size={}) on '
          'hello-world, {} rows in row groups of {}:'.format(queue, rows, group))
    print('{:<10} {:>12} {:>12} {:>17} {:>12} {:>10} {:>11}'.format(
        '', 'import only', '{} rows'.format(sizes[1]), '{} rows (window)'.format(sizes[2]), '{} rows'.format(rows),
        'all/tenth', 'all/window'))
    for name, python in (('ours', sys.executable), ('upstream', upstream_python)):
        mib = []
        for n in sizes:
            env = dict(ENV, PYTHONPATH=str(ROOT / 'python')) if name == 'ours' else ENV
            out = subprocess.run([python, str(HERE / '_upstream_side.py'), 'rss', url, str(n), str(queue)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                 cwd=tempfile.gettempdir())
            if out.returncode:
                raise SystemExit('{} rss run failed:\n{}'.format(name, out.stderr))
            mib.append(json.loads(out.stdout)['peak_rss_kib'] / 1024)
        flat = mib[3] / mib[2]
        verdict = ('  flat (<= 1.3x)' if flat <= 1.3 else '  NOT FLAT (> 1.3x)') if name == 'ours' else ''
        print('{:<10} {:>12.0f} {:>12.0f} {:>17.0f} {:>12.0f} {:>9.2f}x {:>9.2f}x{}'.format(
            name, *mib, mib[3] / mib[1], flat, verdict))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--upstream-python', default=os.environ.get('UPSTREAM_PYTHON', '/tmp/upvenv/bin/python'))
    parser.add_argument('--lance-python', default=os.environ.get('LANCE_PYTHON', '/tmp/lancevenv/bin/python'))
    parser.add_argument('--quick', action='store_true', help='small datasets and windows: checks the harness')
    parser.add_argument('--scale', type=float, default=None, help='multiplies every dataset size (default 1)')
    parser.add_argument('--warmup', type=float, default=None, help='seconds read before timing (default 1)')
    parser.add_argument('--seconds', type=float, default=None, help='seconds timed per measurement (default 4)')
    parser.add_argument('--skip', default='', help='comma-separated: spark (materialization and the converter)')
    args = parser.parse_args()
    defaults = (0.05, 0.3, 1.0) if args.quick else (1.0, 1.0, 4.0)
    for name, value in zip(('scale', 'warmup', 'seconds'), defaults):
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.materialize_rows = 200 if args.quick else 4000
    args.converter_rows = 100000 if args.quick else 2000000
    upstream_configs = QUICK_UPSTREAM_CONFIGS if args.quick else UPSTREAM_CONFIGS
    scales = {name: args.scale * (HELLO_SCALE if name == 'hello' else 1) for name in DATASETS}
    with tempfile.TemporaryDirectory(prefix='pst-table-') as tmp:
        tmp = Path(tmp)
        print('generating datasets in {} ...'.format(tmp), flush=True)
        urls = {name: generate(tmp, name, scale) for name, scale in scales.items()}
        print('floors (examples/decode_floor.rs on {} cores, no reader) ...'.format(os.cpu_count()), flush=True)
        found_floors = floors(urls, args.seconds)
        print('readers (a fresh process per measurement) ...', flush=True)
        readers = measure_readers(args, urls, upstream_configs)
        lance = measure_lance(args, tmp, urls)
        spark_rows = []
        if 'spark' not in args.skip.split(','):
            print('materialization (bench_materialize.py) ...', flush=True)
            spark_rows += measure_materialize(args, tmp)
            print('make_spark_converter (bench_converter.py) ...', flush=True)
            spark_rows += measure_converter(args, tmp)
        print_table(readers, found_floors, lance, spark_rows, upstream_configs)
        print_memory(args.upstream_python, urls['hello'], dataset_rows('hello', scales['hello']))
    run_helper_script('bench_transforms.py', ['--quick'] if args.quick else [])
    run_helper_script('bench_first_row.py', [])


if __name__ == '__main__':
    main()
