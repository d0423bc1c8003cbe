"""petastorm._malloc: glibc's M_TOP_PAD (and M_MMAP_THRESHOLD) set once per process when a reader starts
running a Python transform or predicate, seen through mallinfo2: ``keepcost`` (the main arena's free top
after 4 MB of 100 KiB blocks were allocated and freed: the pad when set, under the trim threshold
otherwise) and ``hblkhd`` (whether an 8 MiB block is mmapped: not once the threshold is raised). Each case runs in a
fresh interpreter (the setting is per process and cannot be undone)."""
import ctypes
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from _reader_helpers import time_limit, url_of, write_dataset  # noqa: F401
from petastorm.codecs import ScalarCodec
from petastorm.unischema import Unischema, UnischemaField

PYTHON_DIR = str(Path(__file__).resolve().parents[1])
MIB = 1 << 20

pytestmark = pytest.mark.skipif(not hasattr(ctypes.CDLL(None), 'mallinfo2'), reason='needs glibc >= 2.33')

# Prints {"applied": bytes set by this process (None: never asked), "keepcost": main arena's free top}
# after running SNIPPET.
_PROBE = '''
import ctypes, json, os
from petastorm import _malloc
{snippet}
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ('arena', 'ordblks', 'smblks', 'hblks', 'hblkhd', 'usmblks',
                                               'fsmblks', 'uordblks', 'fordblks', 'keepcost')]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
libc.malloc.restype, libc.malloc.argtypes, libc.free.argtypes = ctypes.c_void_p, [ctypes.c_size_t], [ctypes.c_void_p]
blocks = [libc.malloc(100 << 10) for _ in range(40)]  # under the mmap threshold: the main arena grows
for block in blocks:
    libc.free(block)
keepcost = libc.mallinfo2().keepcost
big = libc.malloc(8 << 20)  # glibc's first threshold is 128 KiB: mmapped unless it was raised
mapped = libc.mallinfo2().hblkhd
libc.free(big)
print(json.dumps({{'applied': _malloc._applied, 'keepcost': keepcost, 'mmapped': mapped >= 8 << 20}}))
'''


def _probe(snippet, pad=None):
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR)
    env.pop('PETASTORM_MALLOC_TOP_PAD', None)
    if pad is not None:
        env['PETASTORM_MALLOC_TOP_PAD'] = str(pad)
    out = subprocess.run([sys.executable, '-c', _PROBE.format(snippet=snippet)], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_pad_heap_sets_the_pad_once_per_process():
    # the second call finds it done: the environment it would read now says 0
    first = _probe("first = _malloc.pad_heap(); os.environ['PETASTORM_MALLOC_TOP_PAD'] = '0'\n"
                   "assert _malloc.pad_heap() == first == 16 << 20, first")
    assert first['applied'] == 16 * MIB
    assert first['keepcost'] >= 16 * MIB
    assert not first['mmapped']


def test_the_environment_sets_the_pad_or_disables_it():
    assert _probe('_malloc.pad_heap()', pad=4 * MIB) == {'applied': 4 * MIB, 'mmapped': False,
                                                         'keepcost': pytest.approx(4 * MIB, rel=0.05)}
    off = _probe('assert _malloc.pad_heap() == 0', pad=0)
    assert off['applied'] == 0 and off['keepcost'] < 4 * MIB and off['mmapped']
    out = subprocess.run([sys.executable, '-c', 'from petastorm import _malloc; _malloc.pad_heap()'],
                         env=dict(os.environ, PYTHONPATH=PYTHON_DIR, PETASTORM_MALLOC_TOP_PAD='lots'),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and 'PETASTORM_MALLOC_TOP_PAD must be a number of bytes' in out.stderr


@pytest.fixture(scope='module')
def url(tmp_path_factory):
    root = tmp_path_factory.mktemp('malloc') / 'dataset'
    schema = Unischema('S', [UnischemaField('id', np.int64, (), ScalarCodec('long'), False)])
    write_dataset(root, schema, [{'id': np.int64(i)} for i in range(20)])
    return url_of(root)


def _read(url, **kwargs):
    return ('from petastorm import make_reader\n'
            'with make_reader({!r}, workers_count=2, {}) as reader:\n'
            '    assert len(list(reader)) == 20\n').format(url, ', '.join('{}={}'.format(*kv) for kv in kwargs.items()))


@pytest.mark.parametrize('pool', ['thread', 'dummy'])
def test_a_reader_running_a_transform_pads_the_heap(url, pool):
    spec = 'TransformSpec(lambda row: row)'
    result = _probe('from petastorm.transform import TransformSpec\n' + _read(url, reader_pool_type=repr(pool),
                                                                                transform_spec=spec))
    assert result['applied'] == 16 * MIB and result['keepcost'] >= 16 * MIB and not result['mmapped']


def test_a_reader_without_python_code_leaves_malloc_alone(url):
    result = _probe(_read(url))
    assert result['applied'] is None and result['keepcost'] < 4 * MIB and result['mmapped']
