"""Opens datasets written by this project with *upstream* Petastorm 0.13.1 and checks every value.

Not part of the test suite: upstream needs its own environment (it does not import on pyarrow >= 15).
``scripts/interop.sh`` sets one up, writes the datasets (``write_ours.py``) and runs, per dataset::

    UPSTREAM_PYTHON tests/upstream/check_upstream_reads.py file:///tmp/ds [/tmp/ds.expected.npz]

It loads the pickled Unischema from ``_common_metadata`` (upstream's own reader), reads every row
with ``make_reader`` and checks each value against the field's dtype and shape, and, given the values
the writer recorded (key ``FIELD/ID``, ``__none__``), that each cell equals them: exactly, except JPEG
cells (a lossy codec: mean absolute difference under 1.5, none over 24). Exits non-zero on any mismatch.
"""
import sys

import numpy as np
from petastorm import make_reader
from petastorm.codecs import CompressedImageCodec
from petastorm.etl.dataset_metadata import get_schema_from_dataset_url


def compliant(shape, expected):
    return len(shape) == len(expected) and all(e is None or e == s for s, e in zip(shape, expected))


def check_cell(field, value, expected, nones, row_id):
    key = '{}/{}'.format(field.name, row_id)
    if key in nones:
        assert value is None, '{}: {!r}, expected None'.format(key, value)
        return
    want = expected[key]
    actual = np.asarray(value)
    if isinstance(field.codec, CompressedImageCodec) and field.codec.image_codec == 'jpeg':
        diff = np.abs(actual.astype(np.int32) - want.astype(np.int32))
        assert actual.shape == want.shape and diff.mean() < 1.5 and diff.max() <= 24, \
            '{}: JPEG differs (mean {}, max {})'.format(key, diff.mean(), diff.max())
    elif want.dtype.kind == 'U':
        assert str(value) == str(want), '{}: {!r} != {!r}'.format(key, value, want)
    else:
        assert actual.dtype == want.dtype and actual.shape == want.shape and np.array_equal(actual, want), \
            '{}: {!r} != {!r}'.format(key, value, want)


def main(url, expected_path=None):
    schema = get_schema_from_dataset_url(url)
    print('upstream loaded the Unischema:', schema)
    expected = np.load(expected_path) if expected_path else None
    nones = set(expected['__none__'].tolist()) if expected is not None else set()
    rows = cells = 0
    with make_reader(url, reader_pool_type='dummy') as reader:
        for row in reader:
            rows += 1
            for name, field in schema.fields.items():
                value = getattr(row, name)
                if value is None:
                    assert field.nullable, f'{name} is None but not nullable'
                elif field.shape:
                    assert isinstance(value, np.ndarray), f'{name}: {type(value)}'
                    assert value.dtype.type == field.numpy_dtype, f'{name}: {value.dtype} != {field.numpy_dtype}'
                    assert compliant(value.shape, field.shape), f'{name}: {value.shape} vs {field.shape}'
                if expected is not None:
                    check_cell(field, value, expected, nones, row.id)
                    cells += 1
    if expected is not None:
        written = len({k.split('/')[1] for k in expected.files if k != '__none__'})
        assert rows == written, f'upstream read {rows} rows, {written} were written'
    print(f'upstream petastorm read {rows} rows of {url}: every value has its field dtype and shape'
          + (f', {cells} cells equal the written values' if expected is not None else ''))


if __name__ == '__main__':
    main(*sys.argv[1:])
