"""Writes the fuzz targets' seed inputs into seeds/<target>/ (small valid inputs of each format).

Run with the project venv: `python native/fuzz/seeds.py`; the seeds are committed.
"""
import io
import json
import os
import pickle
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
JSON_SCHEMA = {'name': 'Seed', 'fields': [
    {'name': 'id', 'dtype': 'int32', 'shape': [], 'nullable': False, 'codec': {'type': 'scalar', 'spark_type': 'integer'}},
    {'name': 'img', 'dtype': 'uint8', 'shape': [4, 4, 3], 'nullable': False,
     'codec': {'type': 'compressed_image', 'format': 'png', 'quality': 80}},
    {'name': 'm', 'dtype': 'float32', 'shape': [None, 2], 'nullable': True, 'codec': {'type': 'ndarray'}},
    {'name': 'd', 'dtype': 'decimal', 'shape': [], 'nullable': True,
     'codec': {'type': 'scalar', 'spark_type': 'decimal(10,3)'}}]}


def npy(a):
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def npz(a):
    buf = io.BytesIO()
    np.savez_compressed(buf, arr=a)
    return buf.getvalue()


def image(a, fmt):
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format=fmt, quality=80)
    return buf.getvalue()


def footer(key_values):
    buf = io.BytesIO()
    table = pa.table({'id': pa.array([1, 2], pa.int32())}).replace_schema_metadata(key_values)
    pq.write_metadata(table.schema, buf)
    return buf.getvalue()


def main(upstream_pickle):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
    json_text = json.dumps(JSON_SCHEMA).encode()
    seeds = {
        # decode targets: first byte picks the field (see src/lib.rs)
        'npy': [b'\0' + npy(np.arange(6, dtype=np.float32).reshape(2, 3)), b'\1' + npy(np.arange(5, dtype=np.uint8)),
                b'\2' + npy(np.array(['ab', 'c'])), b'\3' + npy(np.asfortranarray(np.ones((4, 3), '>i2')))],
        'npz': [b'\0' + npz(np.zeros((2, 1, 3))), b'\1' + npz(np.arange(40, dtype=np.uint8))],
        'png': [b'\0' + image(rgb, 'PNG'), b'\1' + image(np.arange(12, dtype=np.uint16).reshape(3, 4), 'PNG')],
        'jpeg': [b'\0' + image(rgb, 'JPEG'), b'\1' + image(rgb[:, :, 0], 'JPEG')],
        'pickle': [upstream_pickle],
        'unischema_json': [json_text],
        'footer': [footer({'dataset-toolkit.unischema.json.v1': json_text,
                           'dataset-toolkit.num_row_groups_per_file.v1': b'{"a.parquet": 2}'}),
                   footer({'dataset-toolkit.unischema.v1': upstream_pickle})],
        'row_check': [b'{"present": ["id", "name", 7], "none": ["name"]}',
                      b'\0\0\2\2\3<f4;' + np.arange(6, dtype='<f4').tobytes(),
                      b'\x06\0\3\2\2\3|u1;' + bytes(12)],
    }
    for target, inputs in seeds.items():
        os.makedirs(os.path.join(HERE, 'seeds', target), exist_ok=True)
        for i, data in enumerate(inputs):
            with open(os.path.join(HERE, 'seeds', target, f'seed{i}'), 'wb') as f:
                f.write(data)


if __name__ == '__main__':
    # The pickle seed is upstream Petastorm's own (it needs upstream installed): pass its file.
    with open(sys.argv[1], 'rb') as f:
        main(f.read())
