"""Helpers of the reader tests: skip without the native reader, time limits, and Petastorm
datasets written with pyarrow + our codecs (no Spark), with ``_common_metadata`` built natively."""
import decimal
import faulthandler
import signal
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from petastorm import _native
from petastorm.codecs import CompressedImageCodec, CompressedNdarrayCodec, NdarrayCodec, ScalarCodec
from petastorm.unischema import Unischema, UnischemaField

FIXTURES = (Path(__file__).resolve().parents[2] / '..' / 'shared' / 'fixtures').resolve()

TEST_TIMEOUT_S = 180


@pytest.fixture(autouse=True)
def time_limit():
    """Fails a test stuck in Python after TEST_TIMEOUT_S; kills the run (with tracebacks) if it is
    stuck inside a native call, where a signal handler cannot run."""
    def on_alarm(signum, frame):
        raise TimeoutError('test exceeded {}s'.format(TEST_TIMEOUT_S))
    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(TEST_TIMEOUT_S)
    faulthandler.dump_traceback_later(TEST_TIMEOUT_S + 60, exit=True, file=sys.stderr)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def url_of(path):
    return 'file://' + str(path)


_SCALAR_ARROW = {
    np.int8: pa.int8(), np.int16: pa.int16(), np.int32: pa.int32(), np.int64: pa.int64(),
    np.uint8: pa.int16(), np.float32: pa.float32(), np.float64: pa.float64(), np.bool_: pa.bool_(),
    np.str_: pa.string(),
}


def _arrow_type(field):
    if field.codec is not None and not isinstance(field.codec, ScalarCodec):
        return pa.binary()
    if field.numpy_dtype is decimal.Decimal:
        return pa.decimal128(10, 3)
    return _SCALAR_ARROW[np.dtype(field.numpy_dtype).type]


def _cell(field, value):
    if value is None:
        return None
    if field.codec is not None and not isinstance(field.codec, ScalarCodec):
        return bytes(field.codec.encode(field, value))
    if isinstance(value, np.generic):
        return value.item()
    return value


def footer_tail(path):
    data = Path(path).read_bytes()
    return data[-(_native.parquet_footer_len(data[-8:]) + 8):]


def write_common_metadata(root, schema):
    """Writes ``root/_common_metadata`` for the Parquet files under ``root`` (natively built bytes)."""
    root = Path(root)
    rel = sorted(p.relative_to(root).as_posix() for p in root.rglob('*.parquet'))
    data = schema._native().common_metadata(rel, [footer_tail(root / r) for r in rel])
    (root / '_common_metadata').write_bytes(data)


def write_dataset(root, schema, rows, rows_per_group=10, groups_per_file=2, partition_by=None):
    """Writes ``rows`` (dicts) as a Petastorm dataset: cells encoded with the fields' codecs, files of
    ``groups_per_file`` row groups of ``rows_per_group`` rows, optionally Hive-partitioned by a field."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    fields = list(schema.fields.values())
    stored = [f for f in fields if f.name != partition_by]
    arrow_schema = pa.schema([pa.field(f.name, _arrow_type(f), nullable=True) for f in stored])
    groups = {}
    for row in rows:
        key = None if partition_by is None else row[partition_by]
        groups.setdefault(key, []).append(row)
    per_file = rows_per_group * groups_per_file
    for key, group_rows in groups.items():
        folder = root if key is None else root / '{}={}'.format(partition_by, key)
        folder.mkdir(parents=True, exist_ok=True)
        for file_index, start in enumerate(range(0, len(group_rows), per_file)):
            chunk = group_rows[start:start + per_file]
            columns = [pa.array([_cell(f, r.get(f.name)) for r in chunk], type=arrow_schema.field(f.name).type)
                       for f in stored]
            table = pa.Table.from_arrays(columns, schema=arrow_schema)
            pq.write_table(table, folder / 'part-{:05d}.parquet'.format(file_index), row_group_size=rows_per_group)
    write_common_metadata(root, schema)
    return schema


TestSchema = Unischema('TestSchema', [
    UnischemaField('id', np.int64, (), ScalarCodec('long'), False),
    UnischemaField('id2', np.int32, (), ScalarCodec('integer'), False),
    UnischemaField('label', np.str_, (), ScalarCodec('string'), False),
    UnischemaField('score', np.float64, (), ScalarCodec('double'), False),
    UnischemaField('flag', np.bool_, (), ScalarCodec('boolean'), False),
    UnischemaField('price', decimal.Decimal, (), ScalarCodec('decimal(10,3)'), False),
    UnischemaField('matrix', np.float32, (4, 3), NdarrayCodec(), False),
    UnischemaField('ragged', np.int16, (None, 2), NdarrayCodec(), False),
    UnischemaField('image', np.uint8, (8, 6, 3), CompressedImageCodec('png'), False),
    UnischemaField('packed', np.uint16, (5,), CompressedNdarrayCodec(), False),
    UnischemaField('maybe', np.float64, (3,), NdarrayCodec(), True),
    UnischemaField('maybe_int', np.int32, (), ScalarCodec('integer'), True),
])


def make_test_row(i):
    rng = np.random.RandomState(i)
    return {
        'id': np.int64(i),
        'id2': np.int32(i % 7),
        'label': 'label_{}'.format(i % 5),
        'score': float(i) / 3,
        'flag': bool(i % 2),
        'price': decimal.Decimal('{}.{:03d}'.format(i, i % 1000)),
        'matrix': rng.rand(4, 3).astype(np.float32),
        'ragged': rng.randint(-100, 100, size=(i % 4 + 1, 2)).astype(np.int16),
        'image': rng.randint(0, 255, size=(8, 6, 3)).astype(np.uint8),
        'packed': np.arange(5, dtype=np.uint16) * i,
        'maybe': None if i % 3 == 0 else np.full(3, i, dtype=np.float64),
        'maybe_int': None if i % 4 == 0 else np.int32(i),
    }


def assert_row_equal(row, expected):
    """Compares a namedtuple from ``make_reader`` with the dict it was written from (types included)."""
    for name, want in expected.items():
        got = getattr(row, name)
        if want is None:
            assert got is None, name
        elif isinstance(want, np.ndarray):
            assert isinstance(got, np.ndarray) and got.dtype == want.dtype, (name, type(got))
            np.testing.assert_array_equal(got, want, err_msg=name)
        elif isinstance(want, str):
            assert type(got) is str and got == want, name
        elif isinstance(want, decimal.Decimal):
            assert isinstance(got, decimal.Decimal) and got == want, name
        else:
            assert got == want, name
            field = TestSchema.fields.get(name)
            if field is not None and field.numpy_dtype not in (decimal.Decimal, np.str_):
                assert isinstance(got, np.generic) and got.dtype == np.dtype(field.numpy_dtype), (name, type(got))


ROWS_COUNT = 100


@pytest.fixture(scope='session')
def test_dataset(tmp_path_factory):
    """``(url, rows)``: TestSchema, 100 rows in 10 row groups of 10 rows (5 files)."""
    root = tmp_path_factory.mktemp('reader') / 'test_dataset'
    rows = [make_test_row(i) for i in range(ROWS_COUNT)]
    write_dataset(root, TestSchema, rows, rows_per_group=10, groups_per_file=2)
    return url_of(root), rows


PartitionedSchema = Unischema('PartitionedSchema', [
    UnischemaField('id', np.int64, (), ScalarCodec('long'), False),
    UnischemaField('part', np.str_, (), ScalarCodec('string'), False),
    UnischemaField('vec', np.float32, (3,), NdarrayCodec(), False),
])


@pytest.fixture(scope='session')
def partitioned_dataset(tmp_path_factory):
    """``(url, rows)``: 60 rows Hive-partitioned by ``part`` (``p0``..``p2``), 4 row groups of 5 rows each."""
    root = tmp_path_factory.mktemp('reader') / 'partitioned'
    rows = [{'id': np.int64(i), 'part': 'p{}'.format(i % 3), 'vec': np.full(3, i, np.float32)} for i in range(60)]
    write_dataset(root, PartitionedSchema, rows, rows_per_group=5, groups_per_file=2, partition_by='part')
    return url_of(root), rows
