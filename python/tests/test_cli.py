"""The command-line tools, each run as a subprocess (``python -m module``, as the console scripts of
``[project.scripts]`` would) on a dataset Spark writes in the test."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from _reader_helpers import time_limit, url_of  # noqa: F401
from petastorm.codecs import NdarrayCodec, ScalarCodec
from petastorm.unischema import Unischema, UnischemaField

PYTHON_DIR = Path(__file__).resolve().parents[1]
ROWS = 40

# Module level, so that ``--unischema_class test_cli.CliSchema`` locates it.
CliSchema = Unischema('CliSchema', [
    UnischemaField('id', np.int32, (), ScalarCodec('integer'), False),
    UnischemaField('label', np.str_, (), ScalarCodec('string'), True),
    UnischemaField('m', np.float32, (2, 3), NdarrayCodec(), False),
])

MODULES = {
    'petastorm-throughput.py': 'petastorm.benchmark.cli',
    'petastorm-generate-metadata.py': 'petastorm.etl.petastorm_generate_metadata',
    'petastorm-copy-dataset.py': 'petastorm.tools.copy_dataset',
    'petastorm-inspect': 'petastorm.tools.inspect',
}


@pytest.fixture(scope='module')
def cli_dataset(spark, tmp_path_factory):
    """A CliSchema dataset of 40 rows in 2 files written by Spark through materialize_dataset."""
    from petastorm.etl.dataset_metadata import materialize_dataset
    from petastorm.unischema import dict_to_spark_row
    root = tmp_path_factory.mktemp('cli') / 'source'
    url = url_of(root)
    schema = Unischema(CliSchema._name, list(CliSchema.fields.values()))  # local: shipped to workers by value

    def row(i):
        return dict_to_spark_row(schema, {'id': np.int32(i), 'label': None if i % 4 == 0 else 'label_{}'.format(i),
                                          'm': np.full((2, 3), i, np.float32)})
    with materialize_dataset(spark, url, schema, 1):
        rows = spark.sparkContext.parallelize(range(ROWS), 2).map(row)
        spark.createDataFrame(rows, schema.as_spark_schema()).write.parquet(url)
    return root


def _run(module, *args, timeout=300):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(PYTHON_DIR), str(PYTHON_DIR / 'tests')]),
               PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable)
    return subprocess.run([sys.executable, '-m', module] + [str(a) for a in args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def test_project_scripts_name_importable_callables():
    import importlib
    import tomllib
    scripts = tomllib.loads((PYTHON_DIR / 'pyproject.toml').read_text())['project']['scripts']
    assert {name: target.split(':')[0] for name, target in scripts.items()} == MODULES
    for target in scripts.values():
        module, function = target.split(':')
        assert callable(getattr(importlib.import_module(module), function))


@pytest.mark.parametrize('script', sorted(MODULES))
def test_help(script):
    result = _run(MODULES[script], '--help')
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('usage: {}'.format(script))


def test_throughput_prints_upstream_line_and_progress(cli_dataset):
    result = _run(MODULES['petastorm-throughput.py'], url_of(cli_dataset), '-m', 10, '-n', 100, '-w', 1,
                  '--field-regex', 'id', 'm')
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r'Average sample read rate: \d+\.\d\d samples/sec; RAM \d+\.\d\d MB \(rss\); '
                        r'CPU \d+\.\d\d%\n', result.stdout), result.stdout
    assert re.search(r'reading \[#{30}\] 110/110 samples [\d.]+/s ETA 0:00:00', result.stderr), result.stderr


def test_generate_metadata_rebuilds_common_metadata_without_spark(cli_dataset, tmp_path):
    from petastorm import make_reader
    from petastorm.etl.dataset_metadata import get_schema_from_dataset_url
    target = tmp_path / 'copy'
    shutil.copytree(cli_dataset, target)
    original = (target / '_common_metadata').read_bytes()
    (target / '_common_metadata').unlink()
    module = MODULES['petastorm-generate-metadata.py']

    failed = _run(module, '--dataset_url', url_of(target))
    assert failed.returncode != 0 and 'please specify it' in failed.stderr

    result = _run(module, '--dataset_url', url_of(target), '--unischema_class', 'test_cli.CliSchema')
    assert result.returncode == 0, result.stderr
    assert (target / '_common_metadata').read_bytes() == original  # the bytes materialize_dataset wrote
    assert '(2 data files)' in result.stderr
    assert list(get_schema_from_dataset_url(url_of(target)).fields) == list(CliSchema.fields)

    again = _run(module, '--dataset_url', url_of(target))  # reuses the stored schema
    assert again.returncode == 0, again.stderr
    with make_reader(url_of(target), workers_count=1) as reader:
        assert sorted(int(r.id) for r in reader) == list(range(ROWS))


def test_copy_dataset_selects_fields_filters_nulls_and_honours_overwrite(cli_dataset, tmp_path):
    from petastorm import make_reader
    from petastorm.etl.dataset_metadata import get_schema_from_dataset_url
    module = MODULES['petastorm-copy-dataset.py']
    target = url_of(tmp_path / 'copy')
    args = [url_of(cli_dataset), target, '--field-regex', 'id', 'lab.*', '--not-null-fields', 'label',
            '--partition-count', 1, '--row-group-size-mb', 1, '--master', 'local[1]',
            '--spark-session-config', 'spark.ui.enabled=false']
    result = _run(module, *args)
    assert result.returncode == 0, result.stderr
    assert list(get_schema_from_dataset_url(target).fields) == ['id', 'label']
    assert len(list((tmp_path / 'copy').glob('*.parquet'))) == 1
    with make_reader(target, workers_count=1) as reader:
        got = sorted((int(r.id), r.label) for r in reader)
    assert got == [(i, 'label_{}'.format(i)) for i in range(ROWS) if i % 4]

    exists = _run(module, *args)
    assert exists.returncode != 0 and 'already exists' in exists.stderr

    overwrite = _run(module, url_of(cli_dataset), target, '--overwrite-output', '--master', 'local[1]')
    assert overwrite.returncode == 0, overwrite.stderr
    with make_reader(target, workers_count=1) as reader:
        assert sorted(int(r.id) for r in reader) == list(range(ROWS))
    assert list(get_schema_from_dataset_url(target).fields) == list(CliSchema.fields)


def test_inspect_json_and_text(cli_dataset):
    module = MODULES['petastorm-inspect']
    result = _run(module, url_of(cli_dataset), '--json')
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert [f['name'] for f in info['schema']['fields']] == ['id', 'label', 'm']
    assert info['totals']['rows'] == ROWS and info['totals']['files'] == 2
    assert sum(len(f['row_groups']) for f in info['files']) == info['totals']['row_groups'] >= 2
    assert all(f['bytes'] == (cli_dataset / f['path']).stat().st_size for f in info['files'])
    m = info['sample']['m']
    assert m['type'] == 'ndarray' and m['shape'] == [2, 3] and m['dtype'] == 'float32' and m['min'] == m['max']
    assert '2/2 files' in result.stderr

    text = _run(module, url_of(cli_dataset))
    assert text.returncode == 0, text.stderr
    assert 'Schema CliSchema:' in text.stdout and 'rows: {}'.format(ROWS) in text.stdout
    assert 'Sample row:' in text.stdout and '"shape": [2, 3]' in text.stdout
