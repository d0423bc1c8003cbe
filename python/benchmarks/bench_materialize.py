"""Materialization throughput (rows/s): upstream Petastorm's PySpark path next to ours, on local[2].

    .venv/bin/python python/benchmarks/bench_materialize.py [--rows 10000] [--jpeg-rows 5000] [--repeat 1]
        [--upstream-python /tmp/upvenv/bin/python] [--only hello,jpeg]

Cases: the hello-world schema (noise PNG 128x256x3 + NPY (4,128,30,3), as upstream's hello world
generates) and a 224x224 JPEG schema (quality 90: the 40 photos of the upstream-written ``jpeg``
fixture, in turn; + NPZ float32[128]). Paths:

* ``upstream pyspark``: upstream's hello-world code (``dict_to_spark_row`` in Python workers) with
  Petastorm 0.13.1 / pyspark 3.5.3, in ``--upstream-python`` (a subprocess: both packages are named
  ``petastorm``);
* ``ours pyspark dict``: the same code with our package (encoding through the C ABI in the workers);
* ``ours pyspark writer``: the same row dicts written by ``petastorm.etl.dataset_metadata.write_dataset``
  (each Python worker encodes and writes its Parquet file natively; no row goes through the JVM);
* ``ours pyspark jvm``: Python workers generate the same values as raw bytes; ``petastorm.jvm.write_dataset``
  encodes them in the executor JVMs and writes them with the native Parquet writer;
* ``ours scala dict`` / ``ours scala columns`` / ``ours scala writer``: ``petastorm.examples.MaterializeBench``
  via spark-submit: rows generated in the JVM, encoded with ``dictToSparkRow`` or with the column functions
  and written by Spark's Parquet writer, or written by ``DatasetWriter.writeDataset`` (native writer).

Each path runs in a fresh Spark application: a 40-row warm-up, then one timed write of the rows (best of
``--repeat``). Few rows weigh the per-job costs (job start, JIT compilation, metadata) more: use at least a
few thousand rows for throughput. Targets: JVM >= 4x upstream, PySpark >= 2x upstream (hello world).
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

HERE = Path(__file__).resolve()
ROOT = HERE.parents[2]
JAR = ROOT / 'jvm' / 'target' / 'petastorm-native.jar'
EXAMPLES_JAR = ROOT / 'jvm' / 'target' / 'petastorm-native-examples.jar'  # MaterializeBench
PARTITIONS = 4
WARMUP_ROWS = 40
TARGETS = {'scala': 4.0, 'pyspark': 2.0}
ISSUE_UPSTREAM_HELLO = 230  # rows/s, upstream's hello world on 2 cores as the issue measured it


# ---------------------------------------------------------------- the PySpark side (any petastorm)

def _schemas():
    import numpy as np
    from pyspark.sql.types import IntegerType, LongType

    from petastorm.codecs import CompressedImageCodec, CompressedNdarrayCodec, NdarrayCodec, ScalarCodec
    from petastorm.unischema import Unischema, UnischemaField
    return {
        'hello': Unischema('HelloWorldSchema', [
            UnischemaField('id', np.int32, (), ScalarCodec(IntegerType()), False),
            UnischemaField('image1', np.uint8, (128, 256, 3), CompressedImageCodec('png'), False),
            UnischemaField('other_data', np.uint8, (None, 128, 30, None), NdarrayCodec(), False)]),
        'jpeg': Unischema('JpegSchema', [
            UnischemaField('id', np.int64, (), ScalarCodec(LongType()), False),
            UnischemaField('image', np.uint8, (224, 224, 3), CompressedImageCodec('jpeg', 90), False),
            UnischemaField('embedding', np.float32, (128,), CompressedNdarrayCodec(), False)]),
    }


def hello_row(i):
    """Upstream's hello-world row (seeded)."""
    import numpy as np
    rng = np.random.RandomState(i % (2 ** 32))
    return {'id': i, 'image1': rng.randint(0, 255, dtype=np.uint8, size=(128, 256, 3)),
            'other_data': rng.randint(0, 255, dtype=np.uint8, size=(4, 128, 30, 3))}


PHOTOS_ENV = 'PETASTORM_BENCH_PHOTOS'
_PHOTOS = []


def jpeg_row(i):
    """Photo i % n of the raw file in $PETASTORM_BENCH_PHOTOS (read once per worker), or without one a
    gradient plus noise; a random float32[128] embedding."""
    import numpy as np
    if not _PHOTOS:
        path = os.environ.get(PHOTOS_ENV)
        if path:
            _PHOTOS.extend(np.fromfile(path, np.uint8).reshape(-1, 224, 224, 3))
        else:
            y, x, c = np.ogrid[:224, :224, :3]
            rng = np.random.RandomState(0)
            _PHOTOS.append(((y * 2 + x * 3 + c * 40) % 224).astype(np.uint8) +
                           rng.randint(0, 32, dtype=np.uint8, size=(224, 224, 3)))
    rng = np.random.RandomState(i % (2 ** 32))
    return {'id': i, 'image': _PHOTOS[i % len(_PHOTOS)], 'embedding': rng.rand(128).astype(np.float32)}


def write_photos(work):
    """The 224x224 photos of the upstream-written ``jpeg`` fixture, decoded, as one raw RGB file
    (None when the fixtures are missing: the JPEG case then uses synthetic images)."""
    import numpy as np
    import pyarrow.parquet as pq

    from petastorm.codecs import CompressedImageCodec
    from petastorm.unischema import UnischemaField
    fixtures = ROOT.parent / 'shared' / 'fixtures' / 'petastorm-0.13.1' / 'jpeg'
    field = UnischemaField('image', np.uint8, (224, 224, 3), CompressedImageCodec('jpeg'), False)
    cells = [c for p in sorted(fixtures.glob('*.parquet')) for c in pq.read_table(p, columns=['image'])
             .column('image').to_pylist() if c is not None]
    if not cells:
        return None
    path = work / 'photos.raw'
    np.stack([field.codec.decode(field, c) for c in cells]).tofile(path)
    return path


ROWS = {'hello': hello_row, 'jpeg': jpeg_row}


def _pyspark_dict(spark, case, rows, url):
    from petastorm.etl.dataset_metadata import materialize_dataset
    from petastorm.unischema import dict_to_spark_row
    schema, make_row = _schemas()[case], ROWS[case]
    with materialize_dataset(spark, url, schema, 256):
        rdd = spark.sparkContext.parallelize(range(rows), PARTITIONS).map(make_row) \
            .map(lambda x: dict_to_spark_row(schema, x))
        spark.createDataFrame(rdd, schema.as_spark_schema()).write.mode('overwrite').parquet(url)


def _pyspark_jvm(spark, case, rows, url):
    from pyspark.sql import functions as F
    from pyspark.sql.types import BinaryType, LongType, StructField, StructType

    from petastorm import jvm
    schema, make_row = _schemas()[case], ROWS[case]
    names = list(schema.fields)

    def raw(i):
        row = make_row(i)
        return (i,) + tuple(row[n].tobytes() for n in names[1:])

    types = StructType([StructField(names[0], LongType())] + [StructField(n, BinaryType()) for n in names[1:]])
    df = spark.createDataFrame(spark.sparkContext.parallelize(range(rows), PARTITIONS).map(raw), types)
    # hello world's other_data has two open dimensions: its raw bytes need a shape column
    shapes = {'other_data': F.array(*[F.lit(d) for d in (4, 128, 30, 3)])} if case == 'hello' else None
    jvm.write_dataset(df, url, schema, 256, shapes=shapes)


def _pyspark_writer(spark, case, rows, url):
    from petastorm.etl.dataset_metadata import write_dataset
    schema, make_row = _schemas()[case], ROWS[case]
    write_dataset(spark, spark.sparkContext.parallelize(range(rows), PARTITIONS).map(make_row), url, schema, 256)


def side(path, case, rows, url):
    """Runs in a fresh interpreter: warm-up, then the timed write; prints {"rows", "seconds", "petastorm"}."""
    from pyspark.sql import SparkSession

    import petastorm
    builder = SparkSession.builder.master('local[2]').config('spark.ui.enabled', 'false') \
        .config('spark.driver.memory', '2g')
    if path == 'jvm':
        builder = builder.config('spark.jars', str(JAR))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel('ERROR')
    run = {'jvm': _pyspark_jvm, 'writer': _pyspark_writer, 'dict': _pyspark_dict}[path]
    run(spark, case, WARMUP_ROWS, url)
    start = time.perf_counter()
    run(spark, case, rows, url)
    seconds = time.perf_counter() - start
    spark.stop()
    print(json.dumps({'rows': rows, 'seconds': seconds, 'petastorm': petastorm.__version__}))


# ---------------------------------------------------------------- the driver

def _last_json(out):
    for line in reversed(out.splitlines()):
        if line.startswith('{'):
            return json.loads(line)
    raise ValueError('no result line')


def _run(cmd, env):
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tempfile.gettempdir())
    if proc.returncode:
        sys.stderr.write(proc.stdout[-2000:] + proc.stderr[-4000:])
        return None
    return _last_json(proc.stdout)


def measure(label, case, rows, repeat, upstream_python, work, photos):
    """Best rows/s of `repeat` runs of one path (None when it failed)."""
    url = (work / '{}-{}'.format(case, label.replace(' ', '-'))).as_uri()
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'SPARK_HOME')}
    env['PYTHONWARNINGS'] = 'ignore'
    if photos:
        env[PHOTOS_ENV] = str(photos)
    if label == 'upstream pyspark':
        cmd = [upstream_python, str(HERE), '--side', 'dict', case, str(rows), url]
        env.update(PYSPARK_PYTHON=upstream_python, PYSPARK_DRIVER_PYTHON=upstream_python)
    elif label.startswith('ours pyspark'):
        cmd = [sys.executable, str(HERE), '--side', label.split()[-1], case, str(rows), url]
        env.update(PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable)
    else:
        import pyspark
        env['SPARK_HOME'] = str(Path(pyspark.__file__).parent)  # the venv's pip-installed Spark
        cmd = [str(Path(sys.executable).parent / 'spark-submit'), '--master', 'local[2]', '--driver-memory', '2g',
               '--conf', 'spark.ui.enabled=false', '--class', 'petastorm.examples.MaterializeBench',
               '--jars', str(JAR), str(EXAMPLES_JAR),
               case, str(rows), url, label.split()[-1], str(PARTITIONS)] + ([str(photos)] if photos else [])
    best = None
    for _ in range(repeat):
        os.sync()  # the previous run's files are on disk, not being written back during this one
        result = _run(cmd, env)
        if result is not None:
            rate = result['rows'] / result['seconds']
            best = rate if best is None else max(best, rate)
        shutil.rmtree(url[len('file://'):], ignore_errors=True)
    print('  {:<6} {:<20} {}'.format(case, label, '-' if best is None else '{:,.0f} rows/s'.format(best)), flush=True)
    return best


PATHS = ['upstream pyspark', 'ours pyspark dict', 'ours pyspark writer', 'ours pyspark jvm', 'ours scala dict',
         'ours scala columns', 'ours scala writer']
# 'ours pyspark jvm': the values are made in Python workers (as raw bytes), encoded and written by the native
# writer in the executor JVMs (petastorm.jvm.write_dataset)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--side', nargs=4, metavar=('PATH', 'CASE', 'ROWS', 'URL'), help=argparse.SUPPRESS)
    parser.add_argument('--rows', type=int, default=10000, help='hello-world rows per timed run')
    parser.add_argument('--jpeg-rows', type=int, default=5000, help='JPEG rows per timed run')
    parser.add_argument('--repeat', type=int, default=1, help='timed runs per path (the best is kept)')
    parser.add_argument('--upstream-python', default=os.environ.get('UPSTREAM_PYTHON', '/tmp/upvenv/bin/python'))
    parser.add_argument('--only', default='hello,jpeg', help='comma-separated cases')
    parser.add_argument('--paths', default=','.join(PATHS), help='comma-separated paths (upstream is the baseline)')
    args = parser.parse_args()
    if args.side:
        path, case, rows, url = args.side
        return side(path, case, int(rows), url)
    for jar in (JAR, EXAMPLES_JAR):
        if not jar.exists():
            raise SystemExit('{} is missing: run scripts/build.sh'.format(jar))
    cases = args.only.split(',')
    paths = [p for p in PATHS if p in args.paths.split(',')]
    work = Path(tempfile.mkdtemp(prefix='bench-materialize-'))
    results = {}
    try:
        photos = write_photos(work) if 'jpeg' in cases else None
        for case in cases:
            rows = args.rows if case == 'hello' else args.jpeg_rows
            print('{}: {} rows, local[2], {} partitions'.format(case, rows, PARTITIONS), flush=True)
            for label in PATHS:
                if label not in paths:
                    results[case, label] = None
                    continue
                results[case, label] = measure(label, case, rows, args.repeat, args.upstream_python, work, photos)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print('\nrows/s (ratio to upstream; hello-world target: JVM >= {scala}x, PySpark >= {pyspark}x)'.format(**TARGETS))
    print('{:<22}'.format('path') + ''.join('{:>22}'.format(c) for c in cases))
    for label in paths:
        cells = []
        for case in cases:
            rate, base = results[case, label], results[case, 'upstream pyspark']
            if rate is None:
                cells.append('-')
            elif label == 'upstream pyspark' or not base:
                cells.append('{:,.0f}'.format(rate))
            elif case != 'hello':  # the targets are the hello world's
                cells.append('{:,.0f} ({:.1f}x)'.format(rate, rate / base))
            else:
                target = TARGETS['scala' if 'scala' in label else 'pyspark']
                mark = 'ok' if rate / base >= target else 'below'
                cells.append('{:,.0f} ({:.1f}x {})'.format(rate, rate / base, mark))
        print('{:<22}'.format(label) + ''.join('{:>22}'.format(c) for c in cells))
    if 'hello' in cases:
        print('\nhello world against the issue\'s upstream figure (~{} rows/s on 2 cores):'.format(
            ISSUE_UPSTREAM_HELLO))
        for label in paths:
            rate = results['hello', label]
            if rate is not None:
                print('  {:<22}{:>6.1f}x'.format(label, rate / ISSUE_UPSTREAM_HELLO))


if __name__ == '__main__':
    main()
