"""Opens a dataset written by this project with *upstream* Petastorm 0.13.1.

Not part of the test suite: upstream needs its own environment (it does not import on
pyarrow >= 15). Set one up and run, for example::

    python3 -m venv /tmp/upvenv
    /tmp/upvenv/bin/pip install 'pyarrow==14.0.2' 'numpy<2' 'pandas<2.2' 'pyspark==3.5.3' \
        'petastorm==0.13.1' opencv-python-headless
    /tmp/upvenv/bin/python tests/upstream/check_upstream_reads.py file:///tmp/hello_world_dataset

It loads the pickled Unischema from ``_common_metadata`` (upstream's own reader), reads
every row with ``make_reader`` and checks each value against the field's dtype and shape.
Exits non-zero on any mismatch.
"""
import sys

import numpy as np
from petastorm import make_reader
from petastorm.etl.dataset_metadata import get_schema_from_dataset_url


def compliant(shape, expected):
    return len(shape) == len(expected) and all(e is None or e == s for s, e in zip(shape, expected))


def main(url):
    schema = get_schema_from_dataset_url(url)
    print('upstream loaded the Unischema:', schema)
    rows = 0
    with make_reader(url, reader_pool_type='dummy') as reader:
        for row in reader:
            rows += 1
            for name, field in schema.fields.items():
                value = getattr(row, name)
                if value is None:
                    assert field.nullable, f'{name} is None but not nullable'
                    continue
                if field.shape:
                    assert isinstance(value, np.ndarray), f'{name}: {type(value)}'
                    assert value.dtype.type == field.numpy_dtype, f'{name}: {value.dtype} != {field.numpy_dtype}'
                    assert compliant(value.shape, field.shape), f'{name}: {value.shape} vs {field.shape}'
    print(f'upstream petastorm read {rows} rows of {url}: every value has its field dtype and shape')


if __name__ == '__main__':
    main(sys.argv[1])
