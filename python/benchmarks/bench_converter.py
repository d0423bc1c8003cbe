"""make_spark_converter, ours against upstream Petastorm 0.13.1, in one run (not a test):

    .venv/bin/python python/benchmarks/bench_converter.py [--rows 2000000] [--upstream-python /tmp/upvenv/bin/python]

For each side, on a fresh local[2] SparkSession (after one warm-up job): the time of
``make_spark_converter(df)`` for a DataFrame of --rows rows x 10 numeric columns (``spark.range`` and
SQL expressions, so both sides convert the very same data), then the time of one epoch of
``converter.make_torch_dataloader(batch_size=1024, num_epochs=1)`` (each batch's tensors touched);
each 3 times, the best reported (conversions: convert, delete, convert again).
Ours runs in this process; upstream runs this same file (``--side``) in its own venv, which has
petastorm 0.13.1 with pyspark 3.5.3 and torch 2.4.1. Targets: epoch >= 5x upstream's speed,
conversion no slower. An extra, informational epoch passes ``data_loader_fn=BatchedDataLoader``
(upstream's default loader is its row-by-row ``DataLoader``; ours is the columnar ``BatchedDataLoader``).
Upstream's loader now and then ends an epoch early; such epochs are counted, not timed, and run again.

The side runs import only the standard library at module level, so upstream's interpreter can run them.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

COLUMNS = ['id', 'cast(id % 1000 as int) as i1', 'cast(id * 7 % 100003 as int) as i2',
           'cast(id as double) * 0.5 as d1', 'sqrt(cast(id as double)) as d2', 'sin(cast(id as double)) as d3',
           'cos(cast(id as double)) as d4', 'cast(id % 97 as double) / 3 as d5', 'log1p(cast(id as double)) as d6',
           'cast(id % 13 as float) as f1']
TARGET_EPOCH = 5.0
TARGET_CONVERSION = 1.0


def side(rows, batch_size, parent_url, repeats=3):
    """Converts the DataFrame and iterates one epoch with the ``petastorm`` this interpreter imports, each
    ``repeats`` times (the best time is reported: the machine may be shared)."""
    from pyspark.sql import SparkSession
    import torch  # noqa: F401  (imported before timing: not part of the epoch)
    import petastorm
    import petastorm.pytorch  # noqa: F401
    from petastorm.spark import SparkDatasetConverter, make_spark_converter
    spark = (SparkSession.builder.master('local[2]').appName('bench-converter')
             .config('spark.ui.enabled', 'false').config('spark.driver.memory', '4g')
             .config('spark.sql.shuffle.partitions', '2').getOrCreate())
    spark.sparkContext.setLogLevel('ERROR')
    try:
        spark.conf.set(SparkDatasetConverter.PARENT_CACHE_DIR_URL_CONF, parent_url)
        spark.range(0, 100000, 1, 2).selectExpr(*COLUMNS).write.mode('overwrite').format('noop').save()  # warm-up
        df = spark.range(0, rows, 1, 2).selectExpr(*COLUMNS)
        conversions = []
        for _ in range(repeats):  # convert, delete (the converter is forgotten), convert again...
            start = time.perf_counter()
            converter = make_spark_converter(df)
            conversions.append(time.perf_counter() - start)
            if len(conversions) < repeats:
                converter.delete()
        start = time.perf_counter()
        again = make_spark_converter(df)
        reuse = time.perf_counter() - start
        assert again.cache_dir_url == converter.cache_dir_url and len(converter) == rows

        def epoch(**kwargs):
            seen, checksum = 0, 0.0
            start = time.perf_counter()
            with converter.make_torch_dataloader(batch_size=batch_size, num_epochs=1, **kwargs) as loader:
                for batch in loader:
                    seen += len(batch['id'])
                    checksum += float(batch['d1'][0])
            return time.perf_counter() - start, seen
        def complete_epochs(**kwargs):
            # upstream 0.13.1's loader now and then ends an epoch early (even with 0 rows): such epochs
            # are counted and run again, at most `repeats` more times
            done, short = [], 0
            while len(done) < repeats and short <= repeats:
                took, n = epoch(**kwargs)
                if n == rows:
                    done.append(took)
                else:
                    short += 1
            return done, short
        epochs, short = complete_epochs()
        # informational: upstream's faster, columnar loader (ours uses it by default)
        batched, _ = complete_epochs(data_loader_fn=petastorm.pytorch.BatchedDataLoader)
        converter.delete()
        return {'petastorm': getattr(petastorm, '__version__', '?'), 'file': petastorm.__file__,
                'pyspark': spark.version, 'conversion_s': min(conversions), 'conversions_s': conversions,
                'reuse_s': reuse, 'epoch_s': min(epochs) if epochs else None, 'epochs_s': epochs,
                'short_epochs': short, 'epoch_batched_s': min(batched) if batched else None,
                'files': len(converter.file_urls)}
    finally:
        spark.stop()


def run_upstream(python, rows, batch_size, parent_url, repeats=3):
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'SPARK_HOME')}
    env.update(PYSPARK_PYTHON=python, PYSPARK_DRIVER_PYTHON=python, PYTHONWARNINGS='ignore',
               PATH=os.path.dirname(python) + os.pathsep + env.get('PATH', ''))
    proc = subprocess.run([python, os.path.abspath(__file__), '--side', '--rows', str(rows),
                           '--batch-size', str(batch_size), '--parent', parent_url, '--repeats', str(repeats)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                          cwd=tempfile.gettempdir())
    lines = [line for line in proc.stdout.splitlines() if line.startswith('{')]
    if proc.returncode or not lines:
        raise SystemExit('upstream side failed ({}):\n{}'.format(proc.returncode, proc.stderr[-4000:]))
    return json.loads(lines[-1])


def report(ours, upstream, rows, batch_size):
    print('\nmake_spark_converter, {:,} rows x {} columns; one epoch of make_torch_dataloader(batch_size={})'
          .format(rows, len(COLUMNS), batch_size))
    print('  ours:     petastorm {petastorm} (pyspark {pyspark}), {files} files'.format(**ours))
    print('  upstream: petastorm {petastorm} (pyspark {pyspark}), {files} files'.format(**upstream))
    row = '{:<34} {:>12} {:>12} {:>9} {:>9} {:>5}'
    print(row.format('', 'upstream', 'ours', 'speed-up', 'target', 'met?'))
    for label, key, target in (('conversion (s)', 'conversion_s', TARGET_CONVERSION),
                               ('epoch, torch loader (s)', 'epoch_s', TARGET_EPOCH)):
        ratio = upstream[key] / ours[key]
        print(row.format(label, '{:.2f}'.format(upstream[key]), '{:.2f}'.format(ours[key]), '{:.2f}x'.format(ratio),
                         '>= {:g}x'.format(target), 'yes' if ratio >= target else 'NO'))
    print(row.format('epoch rows/s', '{:,.0f}'.format(rows / upstream['epoch_s']),
                     '{:,.0f}'.format(rows / ours['epoch_s']), '', '', ''))
    fmt = lambda v: '-' if v is None else '{:.2f}'.format(v)  # noqa: E731
    print(row.format('epoch, data_loader_fn=Batched... (s)', fmt(upstream['epoch_batched_s']),
                     fmt(ours['epoch_batched_s']), '', '', ''))
    print(row.format('second call, same plan (s)', '{:.3f}'.format(upstream['reuse_s']),
                     '{:.3f}'.format(ours['reuse_s']), '', '', ''))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--rows', type=int, default=2000000)
    parser.add_argument('--batch-size', type=int, default=1024)
    parser.add_argument('--upstream-python', default=os.environ.get('UPSTREAM_PYTHON', '/tmp/upvenv/bin/python'))
    parser.add_argument('--repeats', type=int, default=3, help='conversions and epochs per side (the best is kept)')
    parser.add_argument('--side', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--parent', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        print(json.dumps(side(args.rows, args.batch_size, args.parent, args.repeats)), flush=True)
        return
    os.environ.setdefault('PYSPARK_PYTHON', sys.executable)
    with tempfile.TemporaryDirectory(prefix='pst-bench-converter-') as tmp:
        print('ours (in process) ...', flush=True)
        ours = side(args.rows, args.batch_size, 'file://' + tmp + '/ours', args.repeats)
        print('  conversions {}, epochs {}'.format(*(' '.join('{:.2f}'.format(t) for t in ours[k])
                                                    for k in ('conversions_s', 'epochs_s'))), flush=True)
        print('upstream ({}) ...'.format(args.upstream_python), flush=True)
        if ours['short_epochs']:
            raise SystemExit('ours ended {} epochs early'.format(ours['short_epochs']))
        upstream = run_upstream(args.upstream_python, args.rows, args.batch_size, 'file://' + tmp + '/upstream',
                                args.repeats)
        print('  conversions {}, epochs {} ({} epochs ended early and were run again)'.format(
            *(' '.join('{:.2f}'.format(t) for t in upstream[k]) for k in ('conversions_s', 'epochs_s')),
            upstream['short_epochs']), flush=True)
        if upstream['epoch_s'] is None:
            raise SystemExit('upstream never read a whole epoch')
    report(ours, upstream, args.rows, args.batch_size)


if __name__ == '__main__':
    main()
