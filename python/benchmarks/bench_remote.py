"""Reading from S3 (a moto server on 127.0.0.1) against local disk, ours and upstream 0.13.1 with s3fs,
side by side in one run. Not a test.

    UPSTREAM_PYTHON=/tmp/upvenv/bin/python .venv/bin/python python/benchmarks/bench_remote.py [--scale 0.5]

Datasets as bench_reader.py makes them (hello-world, MNIST-like, 8 float64 columns), written to a temp dir
and uploaded to the server. Both packages find the server through the standard environment
(``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``...). Prints rows/s per case: ours local, ours S3 (and the
fraction of local), upstream S3 (s3fs) and the ratio, and our requests and MB per row group.
The upstream venv needs ``s3fs`` besides what scripts/bench.sh lists, and pyarrow 10.0.1: with pyarrow
12 and 14, upstream 0.13.1 fails on s3:// (``Keyword 'validate_schema' is not yet supported with the new
Dataset API``).
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.fs as pafs

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _upstream_side import measure  # noqa: E402
from bench_reader import generate  # noqa: E402

HERE = Path(__file__).resolve().parent
CASES = [('hello', 'hello', 4), ('mnist', 'mnist', 4), ('floats', 'floats', 4)]  # (case, dataset, workers)
CREDENTIALS = {'AWS_ACCESS_KEY_ID': 'bench', 'AWS_SECRET_ACCESS_KEY': 'bench', 'AWS_REGION': 'us-east-1',
               'AWS_DEFAULT_REGION': 'us-east-1', 'AWS_ALLOW_HTTP': 'true'}


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def start_moto():
    port = free_port()
    proc = subprocess.Popen([sys.executable, '-m', 'moto.server', '-H', '127.0.0.1', '-p', str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = 'http://127.0.0.1:{}'.format(port)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
            return proc, endpoint
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError('moto did not start')


def upload(local_dir, endpoint, bucket_path):
    s3 = pafs.S3FileSystem(access_key='bench', secret_key='bench', endpoint_override=endpoint, scheme='http',
                           region='us-east-1', allow_bucket_creation=True)
    bucket = bucket_path.split('/')[0]
    if s3.get_file_info(bucket).type == pafs.FileType.NotFound:
        s3.create_dir(bucket)
    pafs.copy_files(local_dir, bucket_path, source_filesystem=pafs.LocalFileSystem(), destination_filesystem=s3)


def io_per_row_group(url):
    from petastorm import make_reader, make_batch_reader
    make = make_batch_reader if url.endswith('floats') else make_reader
    with make(url, num_epochs=1, workers_count=2) as reader:
        for _ in reader:
            pass
        d = reader.diagnostics
    return d['io_requests'] / d['row_groups'], d['io_bytes'] / d['row_groups'] / 2 ** 20


def upstream_rates(python, runs, env):
    spec = json.dumps({'runs': runs, 'warmup': 1, 'seconds': 5})
    proc = subprocess.run([python, str(HERE / '_upstream_side.py'), 'rates', spec], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, env=env, cwd=tempfile.gettempdir())
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith('{')]
    if not lines:
        raise RuntimeError('upstream side failed:\n' + proc.stderr[-3000:])
    return {(r['case'], r['workers']): (r['rate'], r.get('error')) for r in lines[1:]}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--scale', type=float, default=0.5)
    parser.add_argument('--upstream-python', default=os.environ.get('UPSTREAM_PYTHON', '/tmp/upvenv/bin/python'))
    args = parser.parse_args()
    moto, endpoint = start_moto()
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, **CREDENTIALS)
    os.environ.update(env)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            local = {name: generate(Path(tmp), name, args.scale) for _, name, _ in CASES}
            for name, url in local.items():
                upload(url[len('file://'):] if url.startswith('file://') else url, endpoint, 'bench/' + name)
            remote = {name: 's3://bench/' + name for name in local}
            ours = {}
            for case, name, workers in CASES:
                ours[case] = (measure(case, local[name], 'thread', workers),
                              measure(case, remote[name], 'thread', workers))
            theirs = upstream_rates(args.upstream_python,
                                    [[case, remote[name], 'thread', workers] for case, name, workers in CASES], env)
            print('{:<8}{:>14}{:>14}{:>9}{:>16}{:>9}{:>12}{:>10}'.format(
                'case', 'ours local', 'ours S3', 'S3/loc', 'upstream S3', 'ratio', 'req/rg', 'MB/rg'))
            for case, name, workers in CASES:
                here, there = ours[case]
                up, error = theirs.get((case, workers), (None, 'missing'))
                requests, mb = io_per_row_group(remote[name])
                print('{:<8}{:>14,.0f}{:>14,.0f}{:>8.0%}{:>16}{:>9}{:>12.1f}{:>10.2f}'.format(
                    case, here, there, there / here, '{:,.0f}'.format(up) if up else 'error',
                    '{:.1f}x'.format(there / up) if up else '-', requests, mb))
                if error:
                    print('   upstream {}: {}'.format(case, error[:300]))
    finally:
        moto.terminate()
        moto.wait(10)


if __name__ == '__main__':
    main()
