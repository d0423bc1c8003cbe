"""make_batch_reader on plain Parquet written by pyarrow (every column type kept, none silently
dropped) and on Petastorm datasets (tensor columns as (rows, *shape) arrays)."""
import datetime
import decimal
import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from _reader_helpers import ROWS_COUNT, test_dataset, time_limit, url_of  # noqa: F401
from petastorm import make_batch_reader



def normalize(value):
    """A value from a batch column as the Python value ``Table.to_pylist`` gives (NaN/NaT -> None)."""
    if isinstance(value, np.ndarray):
        return [normalize(v) for v in value]
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            return None
        return value.astype('datetime64[D]' if value.dtype == np.dtype('datetime64[D]') else 'datetime64[us]')\
            .astype(object)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalize(v) for v in value]
    return value


def read_columns(url, **kwargs):
    columns = {}
    with make_batch_reader(url, workers_count=2, shuffle_row_groups=False, **kwargs) as reader:
        assert reader.batched_output and reader.is_batched_reader
        names = list(reader.schema.fields)
        for batch in reader:
            assert batch._fields == tuple(names)
            for name in names:
                column = getattr(batch, name)
                assert isinstance(column, np.ndarray), name
                assert len(column) == len(batch[0]), name
                columns.setdefault(name, []).extend(normalize(v) for v in column)
    return names, columns


def plain_table(rows=50):
    rng = np.random.RandomState(3)
    return pa.table({
        'i8': pa.array(rng.randint(-100, 100, rows), pa.int8()),
        'i32': pa.array(np.arange(rows, dtype=np.int32)),
        'i64': pa.array(np.arange(rows, dtype=np.int64) * 10**10),
        'u16': pa.array(np.arange(rows, dtype=np.uint16)),
        'f32': pa.array(rng.rand(rows).astype(np.float32)),
        'f64': pa.array(rng.rand(rows)),
        'flag': pa.array([i % 3 == 0 for i in range(rows)]),
        'name': pa.array(['name_{}'.format(i) for i in range(rows)]),
        'maybe_name': pa.array([None if i % 4 == 0 else 'n{}'.format(i) for i in range(rows)]),
        'maybe_int': pa.array([None if i % 5 == 0 else i for i in range(rows)], pa.int32()),
        'blob': pa.array([bytes([i % 256]) * (i % 7) for i in range(rows)], pa.binary()),
        'price': pa.array([decimal.Decimal('{}.{:02d}'.format(i, i % 100)) for i in range(rows)], pa.decimal128(9, 2)),
        'day': pa.array([datetime.date(2020, 1, 1) + datetime.timedelta(days=i) for i in range(rows)]),
        'stamp': pa.array([datetime.datetime(2021, 5, 6, 7, 8, 9) + datetime.timedelta(seconds=i * 97)
                           for i in range(rows)], pa.timestamp('us')),
        'ints': pa.array([None if i % 9 == 0 else list(range(i % 4)) for i in range(rows)], pa.list_(pa.int32())),
        'words': pa.array([['w{}'.format(j) for j in range(i % 3)] for i in range(rows)], pa.list_(pa.string())),
        'pair': pa.array([{'a': i, 'b': 'x{}'.format(i)} for i in range(rows)]),
        'nested': pa.array([{'inner': {'v': float(i)}, 'tags': ['t'] * (i % 2)} for i in range(rows)]),
    })


def test_plain_parquet_by_pyarrow_keeps_every_column(tmp_path):
    table = plain_table()
    pq.write_table(table, tmp_path / 'a.parquet', row_group_size=15)
    names, columns = read_columns(url_of(tmp_path))
    assert set(names) == set(table.column_names)
    expected = table.to_pydict()
    for name in table.column_names:
        got = columns[name]
        want = expected[name]
        if name == 'f32':
            np.testing.assert_allclose(got, want, rtol=1e-6)
        else:
            assert got == want, name


def test_plain_parquet_dtypes(tmp_path):
    pq.write_table(plain_table(20), tmp_path / 'a.parquet')
    with make_batch_reader(url_of(tmp_path), workers_count=1) as reader:
        batch = next(reader)
    assert batch.i32.dtype == np.int32 and batch.i64.dtype == np.int64 and batch.f32.dtype == np.float32
    assert batch.flag.dtype == np.bool_ and batch.u16.dtype == np.uint16
    assert batch.name.dtype.kind == 'U'
    assert batch.maybe_name.dtype == object and batch.maybe_name[0] is None
    assert batch.maybe_int.dtype == np.float64 and np.isnan(batch.maybe_int[0])
    assert isinstance(batch.price[0], decimal.Decimal)
    assert batch.day.dtype.kind == 'M' and batch.stamp.dtype.kind == 'M'
    assert batch.ints.dtype == object and batch.ints[0] is None and batch.ints[3].tolist() == [0, 1, 2]
    assert batch.pair[1] == {'a': 1, 'b': 'x1'}


def test_equal_length_lists_stack(tmp_path):
    pq.write_table(pa.table({'vec': pa.array([[i, i + 1, i + 2] for i in range(30)], pa.list_(pa.float32()))}),
                   tmp_path / 'a.parquet', row_group_size=10)
    with make_batch_reader(url_of(tmp_path), workers_count=1, shuffle_row_groups=False) as reader:
        batches = list(reader)
    assert [b.vec.shape for b in batches] == [(10, 3)] * 3
    assert batches[0].vec.dtype == np.float32


def test_several_files_and_url_list(tmp_path):
    for k in range(3):
        pq.write_table(pa.table({'x': np.arange(k * 10, k * 10 + 10)}), tmp_path / 'part-{}.parquet'.format(k))
    _, columns = read_columns(url_of(tmp_path))
    assert sorted(columns['x']) == list(range(30))
    files = [url_of(tmp_path / 'part-0.parquet'), url_of(tmp_path / 'part-2.parquet')]
    _, columns = read_columns(files)
    assert sorted(columns['x']) == list(range(10)) + list(range(20, 30))


def test_float_columns_match_pyarrow(tmp_path):
    rows = 200000
    data = {'c{}'.format(k): np.random.RandomState(k).rand(rows) for k in range(8)}
    pq.write_table(pa.table(data), tmp_path / 'floats.parquet', row_group_size=50000)
    sums = dict.fromkeys(data, 0.0)
    count = 0
    with make_batch_reader(url_of(tmp_path), workers_count=2) as reader:
        for batch in reader:
            count += len(batch.c0)
            for name in data:
                column = getattr(batch, name)
                assert column.dtype == np.float64
                sums[name] += column.sum()
    reference = pq.read_table(tmp_path / 'floats.parquet')
    assert count == reference.num_rows == rows
    for name in data:
        assert sums[name] == pytest.approx(reference.column(name).to_numpy().sum(), rel=1e-12)


def test_schema_fields_and_epochs(tmp_path):
    pq.write_table(plain_table(40), tmp_path / 'a.parquet', row_group_size=10)
    names, columns = read_columns(url_of(tmp_path), schema_fields=['i32', 'f[0-9]+'], num_epochs=2)
    assert names == ['i32', 'f32', 'f64']
    assert sorted(columns['i32']) == sorted(list(range(40)) * 2)


def test_petastorm_dataset_in_batches(test_dataset):
    url, rows = test_dataset
    seen = 0
    with make_batch_reader(url, workers_count=2) as reader:
        for batch in reader:
            n = len(batch.id)
            seen += n
            assert batch.matrix.shape == (n, 4, 3) and batch.matrix.dtype == np.float32
            assert batch.image.shape == (n, 8, 6, 3) and batch.image.dtype == np.uint8
            assert batch.packed.shape == (n, 5) and batch.packed.dtype == np.uint16
            assert batch.ragged.dtype == object and len(batch.ragged) == n
            for k in range(n):
                want = rows[int(batch.id[k])]
                np.testing.assert_array_equal(batch.matrix[k], want['matrix'])
                np.testing.assert_array_equal(batch.image[k], want['image'])
                np.testing.assert_array_equal(batch.ragged[k], want['ragged'])
                assert batch.label[k] == want['label'] and batch.price[k] == want['price']
                if want['maybe'] is None:
                    assert batch.maybe[k] is None
    assert seen == ROWS_COUNT
