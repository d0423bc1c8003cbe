"""Prints what a Petastorm dataset holds: its Parquet files, row groups and rows,
and the Unischema read back from ``_common_metadata``.

Usage: ``describe_dataset.py [dataset_url]`` (a local ``file://`` URL or path).
"""
import json
import sys
from pathlib import Path
from urllib.parse import urlparse

import pyarrow.parquet as pq

from petastorm.etl.dataset_metadata import get_schema_from_dataset_url

ROW_GROUPS_KEY = b'dataset-toolkit.num_row_groups_per_file.v1'


def describe(dataset_url='file:///tmp/hello_world_dataset'):
    root = Path(urlparse(dataset_url).path)
    files = sorted(p for p in root.rglob('*.parquet') if not p.name.startswith(('_', '.')))
    total_rows = total_groups = 0
    print(f'Dataset {dataset_url}')
    for path in files:
        meta = pq.read_metadata(path)
        total_rows += meta.num_rows
        total_groups += meta.num_row_groups
        print(f'  {path.relative_to(root)}: {meta.num_row_groups} row group(s), {meta.num_rows} row(s), '
              f'{path.stat().st_size} bytes')
    print(f'{len(files)} file(s), {total_groups} row group(s), {total_rows} row(s)')
    common = pq.read_metadata(root / '_common_metadata').metadata
    print('row groups per file (_common_metadata):', json.loads(common[ROW_GROUPS_KEY]))
    print('Unischema read back from _common_metadata:')
    print(get_schema_from_dataset_url(dataset_url))


if __name__ == '__main__':
    describe(*sys.argv[1:2])
