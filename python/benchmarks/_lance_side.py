"""Lance's PyTorch loading (``lance.torch.data.LanceDataset``) on the benchmark's data: the peer that
compare_upstream.py holds the columnar torch cases against. Runs in a venv with ``pylance`` and torch
(not a project dependency; see docs/performance.md):

    python _lance_side.py prepare KIND SRC DST     KIND floats: the plain Parquet file SRC as a Lance dataset;
                                                   KIND mnist: the MNIST-like Petastorm store SRC with its
                                                   NPY images decoded (uint8[784] fixed-size lists)
    python _lance_side.py run '{"case": "btorch"|"mnist_epoch", "url": DST, "warmup": 1, "seconds": 4}'
        -> {"rate": rows/s, "peak_rss_kib": ...}: btorch, batches of 1024 at steady state (epochs
           repeated); mnist_epoch, batches of 64 over one epoch timed from ``import lance`` (torch first)
"""
import io
import json
import os
import sys
import time
from pathlib import Path

from _upstream_side import peak_rss_kib, rate


def prepare(kind, src, dst):
    import lance
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    if kind == 'floats':
        table = pq.read_table(src)
    else:
        table = pa.concat_tables([pq.read_table(p) for p in sorted(Path(src).glob('*.parquet'))])
        images = np.stack([np.load(io.BytesIO(cell)).reshape(-1) for cell in table.column('image').to_pylist()])
        table = table.set_column(table.schema.get_field_index('image'), 'image',
                                 pa.FixedSizeListArray.from_arrays(pa.array(images.reshape(-1)), images.shape[1]))
    lance.write_dataset(table, dst)


def _batches(url, batch_size):
    from lance.torch.data import LanceDataset
    for batch in LanceDataset(url, batch_size=batch_size):
        yield len(next(iter(batch.values())))


def _forever(url, batch_size):
    while True:
        for n in _batches(url, batch_size):
            yield n


def run(spec):
    import torch  # noqa: F401  (before any timing)
    if spec['case'] == 'mnist_epoch':
        start = time.perf_counter()
        rows = sum(_batches(spec['url'], 64))
        return rows / (time.perf_counter() - start)
    return rate(_forever(spec['url'], 1024), spec['warmup'], spec['seconds'])


def main():
    out, sys.stdout = sys.stdout, open(os.devnull, 'w')
    if sys.argv[1] == 'prepare':
        prepare(*sys.argv[2:5])
        return
    result = {}
    try:
        result['rate'] = run(json.loads(sys.argv[2]))
    except Exception as e:
        result['error'] = '{}: {}'.format(type(e).__name__, e)
    result['peak_rss_kib'] = peak_rss_kib()
    print(json.dumps(result), file=out, flush=True)


if __name__ == '__main__':
    main()
