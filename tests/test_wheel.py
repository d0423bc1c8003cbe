"""The wheel as a user installs it: ``pip wheel python/`` compiles the native library into the package,
and the wheel, installed into a fresh venv outside the repository, reads a Petastorm dataset.

About a minute: cargo finds target/ up to date after scripts/build.sh; numpy and pyarrow come from pip's cache.
"""
import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import numpy as np
import pyarrow
import pytest

ROOT = Path(__file__).resolve().parents[1]
HELLO = (ROOT / '..' / 'shared' / 'fixtures' / 'petastorm-0.13.1' / 'hello').resolve()

# Runs in the fresh venv, in a directory outside the repository, with no PYTHONPATH.
READ_HELLO = '''
import json, sys
import numpy as np
import petastorm
from petastorm import make_reader
from petastorm._native import library_path
expected = np.load(sys.argv[2])
cells = 0
with make_reader('file://' + sys.argv[1], shuffle_row_groups=False) as reader:
    for row in reader:
        for field in ('image1', 'array_4d'):
            np.testing.assert_array_equal(getattr(row, field), expected['{}/{}'.format(field, row.id)])
            cells += 1
print(json.dumps({'package': petastorm.__file__, 'library': str(library_path()), 'cells': cells}))
'''


# Without the test run's own path to the package (pip would take it as installed already).
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'PETASTORM_NATIVE_LIB')}


def _run(*args, cwd=None):
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, env=CLEAN_ENV)
    assert done.returncode == 0, 'failed: {}\n{}\n{}'.format(' '.join(map(str, args)), done.stdout[-3000:],
                                                             done.stderr[-3000:])
    return done.stdout


@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp('wheel')
    _run(sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps', '-w', out, ROOT / 'python')
    (built,) = out.glob('petastorm-*.whl')
    return built


def test_wheel_bundles_the_library_for_any_python3(wheel):
    assert wheel.name.endswith('-py3-none-linux_x86_64.whl'), wheel.name
    with zipfile.ZipFile(wheel) as archive:
        assert 'petastorm/_lib/libpetastorm_native.so' in archive.namelist()
        assert 'Tag: py3-none-linux_x86_64' in archive.read(next(
            n for n in archive.namelist() if n.endswith('.dist-info/WHEEL'))).decode()


def test_installed_wheel_reads_a_dataset_outside_the_repo(wheel, tmp_path):
    env_dir = tmp_path / 'venv'
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / 'bin' / 'python'
    _run(python, '-m', 'pip', 'install', '-q', 'numpy=={}'.format(np.__version__),
         'pyarrow=={}'.format(pyarrow.__version__))
    _run(python, '-m', 'pip', 'install', '-q', '--no-deps', wheel)

    work = tmp_path / 'elsewhere'
    work.mkdir()
    report = json.loads(_run(python, '-c', READ_HELLO, HELLO, str(HELLO) + '.expected.npz', cwd=work))
    site = env_dir / 'lib'
    assert Path(report['package']).is_relative_to(site), report
    assert Path(report['library']).is_relative_to(site), report
    assert report['cells'] == 2 * 20

    inspected = json.loads(_run(env_dir / 'bin' / 'petastorm-inspect', '--json', '--no-sample', HELLO, cwd=work))
    assert sorted(f['name'] for f in inspected['schema']['fields']) == ['array_4d', 'id', 'image1'], inspected
