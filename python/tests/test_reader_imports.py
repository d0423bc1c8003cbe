"""Reading rows imports nothing heavy: a fresh process that imports ``make_reader``/``make_batch_reader``
and reads from the fixtures has neither pandas nor pyspark (nor pyarrow's parquet/dataset/compute
modules) loaded afterwards (issue 11: pandas alone cost 0.3 s of the first row)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from _reader_helpers import FIXTURES, time_limit  # noqa: F401

HEAVY = ['pandas', 'pyspark', 'pyarrow.parquet', 'pyarrow.dataset', 'pyarrow.compute']

CHILD = '''
import json, sys
from petastorm import make_batch_reader, make_reader
heavy = json.loads(sys.argv[2])
before = [m for m in heavy if m in sys.modules]
factory = make_batch_reader if sys.argv[3] == 'batch' else make_reader
with factory(sys.argv[1], workers_count=2) as reader:
    item = next(reader)
print(json.dumps({"before": before, "after": [m for m in heavy if m in sys.modules], "fields": list(item._fields)}))
'''


@pytest.mark.parametrize('dataset,kind', [('hello', 'rows'), ('mnist', 'rows'), ('jpeg', 'rows'), ('mnist', 'batch')])
def test_reading_a_row_imports_no_pandas_or_pyspark(dataset, kind):
    url = (FIXTURES / 'petastorm-0.13.1' / dataset).as_uri()
    python_dir = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([python_dir, os.environ.get('PYTHONPATH', '')]))
    done = subprocess.run([sys.executable, '-c', CHILD, url, json.dumps(HEAVY), kind], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result['fields'], result
    assert result['before'] == [], result
    assert result['after'] == [], result
