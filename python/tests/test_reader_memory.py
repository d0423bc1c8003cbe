"""The reader's memory stays flat over the dataset size: decoded batches ahead of a slow consumer are bounded
by ``results_queue_bytes``, not only by ``results_queue_size``. Each read runs in a fresh process and reports
its own peak RSS (VmHWM)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import petastorm
from _reader_helpers import time_limit, url_of, write_dataset  # noqa: F401
from petastorm.codecs import NdarrayCodec, ScalarCodec
from petastorm.unischema import Unischema, UnischemaField

pytestmark = pytest.mark.skipif(not Path('/proc/self/status').exists(), reason='reads VmHWM from /proc')

ROWS_PER_GROUP = 20
# 256 KiB per row: a decoded batch (row group) takes 5 MiB
BigSchema = Unischema('BigSchema', [
    UnischemaField('id', np.int64, (), ScalarCodec('long'), False),
    UnischemaField('blob', np.uint8, (256, 1024), NdarrayCodec(), False),
])

LARGE_GROUPS = 60  # 300 MiB decoded: more than results_queue_size (50) batches

# reads every row with a slow consumer (1 ms a row), so the reader gets as far ahead as it may
_READ = '''
import json, sys, time
from petastorm import make_reader
rows = 0
with make_reader(sys.argv[1], workers_count=2, num_epochs=1, shuffle_row_groups=False{kwargs}) as reader:
    for row in reader:
        rows += 1
        time.sleep(0.001)
with open('/proc/self/status') as status:
    hwm = int(next(line for line in status if line.startswith('VmHWM:')).split()[1])
print(json.dumps({{'rows': rows, 'peak_mib': hwm / 1024}}))
'''


def _dataset(root, groups):
    rows = [{'id': i, 'blob': np.full((256, 1024), i % 251, np.uint8)} for i in range(groups * ROWS_PER_GROUP)]
    write_dataset(root, BigSchema, rows, rows_per_group=ROWS_PER_GROUP, groups_per_file=10)
    return url_of(root)


def _peak_mib(url, kwargs=''):
    """(rows read, peak RSS in MiB) of a fresh process reading all of `url`."""
    package_root = str(Path(petastorm.__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([package_root, os.environ.get('PYTHONPATH', '')]))
    out = subprocess.run([sys.executable, '-c', _READ.format(kwargs=kwargs), url], capture_output=True, text=True,
                         env=env, timeout=150)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result['rows'], result['peak_mib']


@pytest.fixture(scope='module')
def large(tmp_path_factory):
    return _dataset(tmp_path_factory.mktemp('large'), LARGE_GROUPS)


def test_peak_rss_is_flat_over_the_dataset_size(tmp_path, large):
    small = _dataset(tmp_path / 'small', 4)  # 20 MiB decoded; large: 15x
    small_rows, small_mib = _peak_mib(small)
    large_rows, large_mib = _peak_mib(large)
    assert (small_rows, large_rows) == (4 * ROWS_PER_GROUP, LARGE_GROUPS * ROWS_PER_GROUP)
    # the 32 MiB budget, two running row groups, one crossing it and the allocator's slack (measured: 60-85
    # MiB) above the small read, where 50 batches held ahead (results_queue_size) would add 250 MiB
    assert large_mib - small_mib < 150, 'peak RSS {:.0f} MiB over 15x the data, {:.0f} MiB over 1x'.format(
        large_mib, small_mib)


def test_results_queue_bytes_sets_the_budget(large):
    rows, tight_mib = _peak_mib(large, ', results_queue_bytes=1')
    assert rows == LARGE_GROUPS * ROWS_PER_GROUP
    rows, loose_mib = _peak_mib(large, ', results_queue_bytes=1 << 40')
    assert rows == LARGE_GROUPS * ROWS_PER_GROUP
    # a 1-byte budget holds at most the two batches of the decode threads ahead; an unlimited one up to
    # results_queue_size (50 batches, 250 MiB)
    assert loose_mib - tight_mib > 100, 'peak RSS {:.0f} MiB unbounded, {:.0f} MiB with a 1-byte budget'.format(
        loose_mib, tight_mib)
