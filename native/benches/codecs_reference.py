"""Reference rates for native/benches/codecs.rs: OpenCV and NumPy on the same cells.

Run with a throwaway venv:
    python3 -m venv /tmp/refvenv && /tmp/refvenv/bin/pip install numpy opencv-python-headless pyarrow
    /tmp/refvenv/bin/python native/benches/codecs_reference.py
Rates are single-threaded; MB/s counts the decoded array's bytes.
"""
import glob
import io
import os
import time

import cv2
import numpy as np
import pyarrow.parquet as pq

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../shared/fixtures/petastorm-0.13.1')


def first_cell(dataset, column):
    """The first non-null cell of `column` in the first Parquet file of `dataset`."""
    path = sorted(glob.glob(os.path.join(FIXTURES, dataset, '*.parquet')))[0]
    return next(v for v in pq.read_table(path, columns=[column]).column(column).to_pylist() if v is not None)


def rate(label, array_bytes, f):
    """Runs `f` repeatedly for about half a second and prints cells/s and MB/s."""
    f()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < 0.5:
        for _ in range(16):
            f()
        n += 16
    per_s = n / (time.perf_counter() - start)
    print(f'{label:<44} {per_s:>11.0f} cells/s {per_s * array_bytes / 1e6:>9.1f} MB/s')


def bench(name, cell, decode, encode):
    array = decode(cell)
    rate(f'{name} decode', array.nbytes, lambda: decode(cell))
    rate(f'{name} encode', array.nbytes, lambda: encode(array))


def npy_bytes(array):
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def npz_bytes(array):
    buf = io.BytesIO()
    np.savez_compressed(buf, arr=array)
    return buf.getvalue()


def main():
    cv2.setNumThreads(1)
    imdecode = lambda cell: cv2.imdecode(np.frombuffer(cell, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    bench('PNG 128x256x3 u8', first_cell('hello', 'image1'), imdecode, lambda a: cv2.imencode('.png', a))
    jpeg_cell = first_cell('jpeg', 'image')
    bench('JPEG 224x224x3 q90', jpeg_cell, imdecode, lambda a: cv2.imencode('.jpg', a, [int(cv2.IMWRITE_JPEG_QUALITY), 90]))
    photo = imdecode(jpeg_cell)
    size = len(cv2.imencode('.png', photo)[1])
    rate(f'  PNG 224x224x3 photo encode: {size} B', photo.nbytes, lambda: cv2.imencode('.png', photo))
    npy_load = lambda cell: np.load(io.BytesIO(cell))
    bench('NPY 28x28 u8', first_cell('mnist', 'image'), npy_load, npy_bytes)
    big = (np.arange(128 * 128 * 30) % 251).astype(np.uint8).reshape(128, 128, 30)
    bench('NPY 128x128x30 u8', npy_bytes(big), npy_load, npy_bytes)
    bench('NPZ f4 (128,)', first_cell('jpeg', 'embedding'), lambda cell: np.load(io.BytesIO(cell))['arr'], npz_bytes)


if __name__ == '__main__':
    main()
