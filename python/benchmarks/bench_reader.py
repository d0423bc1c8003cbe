"""Reader throughput (rows/s), on datasets generated into a temp dir with pyarrow + our codecs (no Spark).

    .venv/bin/python python/benchmarks/bench_reader.py [--scale 1.0] [--workers 4] [--only mnist,floats]

Cases: make_reader on a hello-world-like dataset (noise PNG 128x256x3 + NPY (None,128,30,None)), an MNIST-like
one (28x28 uint8 NPY + 2 int64, 10k rows), JPEG 224x224 (the 40 photos of the ``jpeg`` fixture, repeated)
+ NPZ embedding; make_batch_reader on 8 float64
columns (2M rows) next to ``pyarrow.parquet.read_table`` of the same file; PyTorch DataLoader and
BatchedDataLoader at batch 64 on the MNIST-like dataset. Not a test.
"""
import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from petastorm import _native, make_batch_reader, make_reader
from petastorm.codecs import CompressedImageCodec, CompressedNdarrayCodec, NdarrayCodec, ScalarCodec
from petastorm.unischema import Unischema, UnischemaField

HELLO = Unischema('HelloWorldSchema', [
    UnischemaField('id', np.int32, (), ScalarCodec('integer'), False),
    UnischemaField('image1', np.uint8, (128, 256, 3), CompressedImageCodec('png'), False),
    UnischemaField('other_data', np.uint8, (None, 128, 30, None), NdarrayCodec(), False),
])
MNIST = Unischema('MnistSchema', [
    UnischemaField('idx', np.int64, (), ScalarCodec('long'), False),
    UnischemaField('digit', np.int64, (), ScalarCodec('long'), False),
    UnischemaField('image', np.uint8, (28, 28), NdarrayCodec(), False),
])
JPEG = Unischema('JpegSchema', [
    UnischemaField('id', np.int64, (), ScalarCodec('long'), False),
    UnischemaField('image', np.uint8, (224, 224, 3), CompressedImageCodec('jpeg', 90), False),
    UnischemaField('embedding', np.float32, (128,), CompressedNdarrayCodec(), False),
])
_SCALARS = {np.int32: pa.int32(), np.int64: pa.int64()}


def write_dataset(root, schema, make_row, rows, rows_per_group):
    """A Petastorm dataset: codec-encoded cells, 4 files, ``_common_metadata`` built natively."""
    root.mkdir(parents=True)
    fields = list(schema.fields.values())
    types = [pa.binary() if not isinstance(f.codec, ScalarCodec) else _SCALARS[f.numpy_dtype] for f in fields]
    per_file = max(rows_per_group, -(-rows // 4))
    for k, start in enumerate(range(0, rows, per_file)):
        values = {f.name: [] for f in fields}
        for i in range(start, min(rows, start + per_file)):
            row = make_row(i)
            for f in fields:
                value = row[f.name]
                values[f.name].append(value.item() if isinstance(f.codec, ScalarCodec) else
                                      bytes(f.codec.encode(f, value)))
        table = pa.table({f.name: pa.array(values[f.name], t) for f, t in zip(fields, types)})
        pq.write_table(table, root / 'part-{:03d}.parquet'.format(k), row_group_size=rows_per_group)
    rel = sorted(p.name for p in root.glob('*.parquet'))
    tails = []
    for name in rel:
        data = (root / name).read_bytes()
        tails.append(data[-(_native.parquet_footer_len(data[-8:]) + 8):])
    (root / '_common_metadata').write_bytes(schema._native().common_metadata(rel, tails))
    return 'file://' + str(root)


FIXTURES = Path(__file__).resolve().parents[3] / 'shared' / 'fixtures' / 'petastorm-0.13.1'


def _hello_row(i):
    """Like upstream's hello world: uniform noise, so PNG costs what it costs there."""
    rng = np.random.RandomState(i)
    return {'id': np.int32(i), 'image1': rng.randint(0, 255, size=(128, 256, 3)).astype(np.uint8),
            'other_data': rng.randint(0, 255, size=(4, 128, 30, 3)).astype(np.uint8)}


def _mnist_row(i):
    rng = np.random.RandomState(i)
    return {'idx': np.int64(i), 'digit': np.int64(i % 10),
            'image': (rng.rand(28, 28) * 255 * (rng.rand(28, 28) > 0.8)).astype(np.uint8)}


def _photos():
    """The 40 real 224x224 photos of the upstream-written ``jpeg`` fixture, decoded."""
    field = JPEG.fields['image']
    cells = [cell for path in sorted(FIXTURES.glob('jpeg/*.parquet'))
             for cell in pq.read_table(path, columns=['image']).column('image').to_pylist()]
    if not cells:
        raise SystemExit('no JPEG fixture under {}'.format(FIXTURES))
    return [field.codec.decode(field, cell) for cell in cells]


def _jpeg_rows():
    photos = _photos()

    def row(i):
        rng = np.random.RandomState(i)
        return {'id': np.int64(i), 'image': photos[i % len(photos)], 'embedding': rng.rand(128).astype(np.float32)}
    return row


FLOATS_FILE = 'data.parquet'


def write_floats(root, rows):
    """A plain Parquet store (no Petastorm metadata): 8 float64 columns, one file, 100k-row groups."""
    root.mkdir(parents=True)
    rng = np.random.RandomState(0)
    pq.write_table(pa.table({'c{}'.format(k): rng.rand(rows) for k in range(8)}), root / FLOATS_FILE,
                   row_group_size=100000)
    return 'file://' + str(root)


# name: (schema, row maker factory, rows at scale 1, rows per row group)
DATASETS = {
    'hello': (HELLO, lambda: _hello_row, 400, 50),
    'mnist': (MNIST, lambda: _mnist_row, 10000, 1000),
    'jpeg': (JPEG, _jpeg_rows, 400, 50),
    'floats': (None, None, 2000000, 100000),
}


def dataset_rows(name, scale=1.0):
    _, _, rows, group = DATASETS[name]
    return max(group, int(rows * scale))


def generate(root, name, scale=1.0):
    """Writes dataset `name` (a key of DATASETS) under ``root/name``; returns its URL."""
    schema, make_rows, _, group = DATASETS[name]
    rows = dataset_rows(name, scale)
    if schema is None:
        return write_floats(root / name, rows)
    return write_dataset(root / name, schema, make_rows(), rows, group)


def timed(label, run, baseline=None):
    run()  # warm up (page cache, pools)
    best = None
    for _ in range(2):
        start = time.perf_counter()
        rows = run()
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    rate = rows / best
    extra = '' if baseline is None else '   ({:.2f}x of {})'.format(rate / baseline[1], baseline[0])
    print('{:<52} {:>12,.0f} rows/s  ({:,} rows in {:.3f}s){}'.format(label, rate, rows, best, extra), flush=True)
    return rate


def count_rows(url, workers, **kwargs):
    def run():
        n = 0
        with make_reader(url, workers_count=workers, **kwargs) as reader:
            for _ in reader:
                n += 1
        return n
    return run


def count_batches(url, workers, **kwargs):
    def run():
        n = 0
        with make_batch_reader(url, workers_count=workers, **kwargs) as reader:
            for batch in reader:
                n += len(batch[0])
        return n
    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--scale', type=float, default=1.0, help='multiplies every dataset size')
    parser.add_argument('--workers', type=int, default=4, help='native decode pool size')
    parser.add_argument('--only', default='', help='comma-separated cases: hello,mnist,jpeg,floats,torch')
    args = parser.parse_args()
    only = set(filter(None, args.only.split(',')))

    def want(name):
        return not only or name in only

    w = args.workers
    with tempfile.TemporaryDirectory(prefix='pst-bench-') as tmp:
        tmp = Path(tmp)
        print('generating datasets in {} ...'.format(tmp), flush=True)
        urls = {name: generate(tmp, name, args.scale) for name in DATASETS
                if want(name) or (name == 'mnist' and want('torch'))}
        if want('hello'):
            timed('make_reader hello-world (png 128x256x3 + npy)', count_rows(urls['hello'], w))
        mnist_url = urls.get('mnist')
        if want('mnist'):
            timed('make_reader mnist-like (28x28 npy + 2 int64)', count_rows(mnist_url, w, num_epochs=5))
            timed('make_reader mnist-like, 1 worker', count_rows(mnist_url, 1, num_epochs=5))
            timed('make_batch_reader mnist-like', count_batches(mnist_url, w, num_epochs=5))
        if want('jpeg'):
            timed('make_reader jpeg 224x224x3 + npz (128,)', count_rows(urls['jpeg'], w))
        if want('floats'):
            path = tmp / 'floats' / FLOATS_FILE

            def read_table():
                return pq.read_table(path).num_rows

            base = timed('pyarrow.parquet.read_table 8 x float64', read_table)
            timed('make_batch_reader 8 x float64', count_batches(urls['floats'], w),
                  baseline=('read_table', base))
        if want('torch'):
            from petastorm.pytorch import BatchedDataLoader, DataLoader

            def loader(cls):
                def run():
                    n = 0
                    with make_reader(mnist_url, workers_count=w, num_epochs=3) as reader:
                        for batch in cls(reader, batch_size=64):
                            n += len(batch['idx'])
                    return n
                return run
            timed('torch DataLoader(make_reader) batch 64', loader(DataLoader))
            timed('torch BatchedDataLoader(make_reader) batch 64', loader(BatchedDataLoader))

if __name__ == '__main__':
    main()
