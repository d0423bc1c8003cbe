"""petastorm-inspect: what a dataset holds: its Unischema (stored, or inferred from Parquet), its data
files with row groups, rows and sizes, and one sample row decoded. ``--json`` prints one JSON object."""
import argparse
import json
import sys

import numpy as np

from petastorm import _native, _storage
from petastorm.fs_utils import normalize_dir_url
from petastorm.tools._progress import Progress


def _files(url, show_progress):
    """``[{path, bytes, rows, row_groups: [{rows, bytes}]}]`` from the data files' footers (fetched natively)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    listed = _storage.data_files(url)
    progress = Progress('reading footers', len(listed), 'files') if show_progress else None
    out = []
    for rel, size in listed:
        meta = pq.read_metadata(pa.BufferReader(b'PAR1' + _storage.footer(url.rstrip('/') + '/' + rel)))
        groups = [{'rows': meta.row_group(i).num_rows,
                   'bytes': sum(meta.row_group(i).column(c).total_compressed_size
                                for c in range(meta.row_group(i).num_columns))}
                  for i in range(meta.num_row_groups)]
        out.append({'path': rel, 'bytes': size, 'rows': meta.num_rows, 'row_groups': groups})
        if progress is not None:
            progress.update()
    if progress is not None:
        progress.close()
    return out


def _describe_value(value):
    """A JSON-able summary of one decoded value."""
    if isinstance(value, np.ndarray):
        out = {'type': 'ndarray', 'dtype': str(value.dtype), 'shape': list(value.shape)}
        if value.size and value.dtype.kind in 'biuf':
            out.update(min=value.min().item(), max=value.max().item())
        out['head'] = value.ravel()[:5].tolist() if value.dtype.kind in 'biufUS' else None
        return out
    if isinstance(value, np.generic):
        return {'type': type(value).__name__, 'value': value.item()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return {'type': type(value).__name__, 'value': value}
    return {'type': type(value).__name__, 'value': str(value)}


def _sample(url):
    from petastorm import make_reader
    with make_reader(url, num_epochs=1, shuffle_row_groups=False, workers_count=1) as reader:
        row = next(reader, None)
    return None if row is None else {name: _describe_value(value) for name, value in row._asdict().items()}


def inspect_dataset(dataset_url, sample=True, show_progress=False):
    """The dict ``petastorm-inspect --json`` prints: ``url``, ``schema`` (Unischema JSON), ``files``,
    ``totals`` (files, row groups, rows, bytes) and ``sample`` (the first row, decoded and summarized)."""
    url = normalize_dir_url(dataset_url)
    schema = json.loads(_native.dataset_schema(url))
    files = _files(url, show_progress)
    totals = {'files': len(files), 'row_groups': sum(len(f['row_groups']) for f in files),
              'rows': sum(f['rows'] for f in files), 'bytes': sum(f['bytes'] for f in files)}
    return {'url': url, 'schema': schema, 'files': files, 'totals': totals,
            'sample': _sample(url) if sample and totals['rows'] else None}


def _text(info):
    lines = ['Dataset: {}'.format(info['url']), 'Schema {}:'.format(info['schema']['name'])]
    for f in info['schema']['fields']:
        codec = f.get('codec') or {}
        lines.append('  {:<24} {:<10} shape={:<16} codec={:<18} nullable={}'.format(
            f['name'], f['dtype'], str(tuple(f['shape'])), codec.get('type', '-'), f['nullable']))
    t = info['totals']
    lines.append('Files: {files}, row groups: {row_groups}, rows: {rows}, bytes: {bytes}'.format(**t))
    for f in info['files']:
        lines.append('  {}  {} bytes, {} rows, row groups (rows): {}'.format(
            f['path'], f['bytes'], f['rows'], [g['rows'] for g in f['row_groups']]))
    if info['sample'] is not None:
        lines.append('Sample row:')
        for name, value in info['sample'].items():
            lines.append('  {}: {}'.format(name, json.dumps(value)))
    return '\n'.join(lines)


def _main(argv):
    parser = argparse.ArgumentParser(prog='petastorm-inspect', description=__doc__)
    parser.add_argument('dataset_url', help='the dataset directory URL (file://, s3://, gs://, ...)')
    parser.add_argument('--json', action='store_true', help='print one JSON object instead of text')
    parser.add_argument('--no-sample', action='store_true', help='do not read and decode a sample row')
    args = parser.parse_args(argv)
    info = inspect_dataset(args.dataset_url, sample=not args.no_sample, show_progress=True)
    print(json.dumps(info, indent=2) if args.json else _text(info))


def main():
    """Console script ``petastorm-inspect``."""
    _main(sys.argv[1:])


if __name__ == '__main__':
    main()
