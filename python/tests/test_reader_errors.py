"""Errors of make_reader/make_batch_reader: each a clear exception of the documented class, never a hang."""
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from _reader_helpers import (TestSchema, make_test_row, test_dataset, time_limit,  # noqa: F401
                             url_of, write_common_metadata, write_dataset)
from petastorm import make_batch_reader, make_reader
from petastorm.errors import DecodeFieldError, NoDataAvailableError, PetastormMetadataError



@pytest.mark.parametrize('factory', [make_reader, make_batch_reader])
def test_missing_dataset(tmp_path, factory):
    missing = tmp_path / 'does_not_exist'
    with pytest.raises((OSError, PetastormMetadataError, NoDataAvailableError)) as info:
        factory(url_of(missing))
    assert 'does_not_exist' in str(info.value)


@pytest.mark.parametrize('factory', [make_reader, make_batch_reader])
def test_no_metadata_and_no_parquet(tmp_path, factory):
    empty = tmp_path / 'empty'
    empty.mkdir()
    (empty / 'notes.txt').write_text('not a dataset')
    with pytest.raises((OSError, PetastormMetadataError, NoDataAvailableError)):
        with factory(url_of(empty)) as reader:
            next(reader)


def test_shard_beyond_row_groups(test_dataset):
    url, _ = test_dataset  # 10 row groups
    with pytest.raises(NoDataAvailableError):
        with make_reader(url, cur_shard=11, shard_count=12) as reader:
            list(reader)


def test_corrupt_cell_names_field_file_and_row_group(tmp_path):
    root = tmp_path / 'corrupt'
    write_dataset(root, TestSchema, [make_test_row(i) for i in range(20)], rows_per_group=5, groups_per_file=2)
    victim = sorted(root.glob('*.parquet'))[1]
    table = pq.read_table(victim)
    matrix = table.column('matrix').to_pylist()
    matrix[7] = matrix[7][:40]  # a truncated NPY file, in the second row group of that file
    table = table.set_column(table.schema.get_field_index('matrix'), 'matrix', pa.array(matrix, pa.binary()))
    pq.write_table(table, victim, row_group_size=5)
    write_common_metadata(root, TestSchema)
    with pytest.raises(DecodeFieldError) as info:
        with make_reader(url_of(root), shuffle_row_groups=False, workers_count=2) as reader:
            list(reader)
    message = str(info.value)
    assert 'matrix' in message and victim.name in message and 'row group' in message
    assert isinstance(info.value, ValueError)
    with make_reader(url_of(root), schema_fields=['id', 'label'], workers_count=2) as reader:
        assert len(list(reader)) == 20  # the corrupt column is not decoded when not read


@pytest.mark.parametrize('factory', [make_reader, make_batch_reader])
def test_a_listed_data_file_that_is_gone_raises_or_is_skipped(tmp_path, factory):
    root = tmp_path / 'gone'
    write_dataset(root, TestSchema, [make_test_row(i) for i in range(40)], rows_per_group=5, groups_per_file=2)
    victim = sorted(root.glob('*.parquet'))[2]  # ids 20..29, two row groups
    victim.unlink()
    with pytest.raises(OSError) as info:
        factory(url_of(root))
    assert victim.name in str(info.value) and '_common_metadata' in str(info.value)
    with factory(url_of(root), schema_fields=['id'], skip_unreadable_row_groups=True) as reader:
        ids = sorted(int(i) for item in reader for i in np.atleast_1d(item.id))
        diagnostics = reader.diagnostics
    assert ids == [i for i in range(40) if not 20 <= i < 30]
    assert diagnostics['skipped_row_groups'] == 2
    assert diagnostics['skipped_files'] == [victim.name]


@pytest.mark.parametrize('kwargs, error, word', [
    ({'cache_type': 'local-disk'}, ValueError, 'cache_location'),
    ({'cache_type': 'memcached'}, ValueError, 'cache_type'),
    ({'rowgroup_selector': object()}, ValueError, 'RowGroupSelectorBase'),
    ({'filesystem': object()}, TypeError, 'filesystem'),
    ({'reader_pool_type': 'gpu'}, ValueError, 'reader_pool_type'),
    ({'workers_count': 0}, ValueError, 'workers_count'),
    ({'predicate': lambda row: True}, ValueError, 'predicate'),
    ({'num_epochs': 0}, ValueError, 'num_epochs'),
])
def test_unsupported_or_bad_options(test_dataset, kwargs, error, word):
    url, _ = test_dataset
    for factory in (make_reader, make_batch_reader):
        with pytest.raises(error, match=word):
            factory(url, **kwargs)


def test_harmless_options_are_accepted(test_dataset):
    url, _ = test_dataset
    with make_reader(url, pyarrow_serialize=True, zmq_copy_buffers=False, hdfs_driver='libhdfs',
                     cache_type=None, schema_fields=['id'], workers_count=1) as reader:
        assert len(list(reader)) == 100


def test_predicate_on_unknown_field(test_dataset):
    from petastorm.predicates import in_lambda, in_set
    url, _ = test_dataset
    with pytest.raises(ValueError, match='nope'):
        make_reader(url, predicate=in_set({1}, 'nope'))
    with pytest.raises(ValueError, match='nope'):
        make_batch_reader(url, predicate=in_lambda(['nope'], lambda v: v > 1))


def test_errors_in_python_predicates_propagate(test_dataset):
    from petastorm.predicates import in_lambda
    url, _ = test_dataset

    def broken(value):
        raise KeyError('boom')

    with make_reader(url, predicate=in_lambda(['id'], broken), workers_count=2) as reader:
        with pytest.raises(KeyError, match='boom'):
            next(reader)
    assert reader.stopped  # the context manager stopped the reader, without hanging


@pytest.mark.parametrize('factory', [make_reader, make_batch_reader])
def test_decode_memory_limit_refuses_a_batch_decoding_past_it(test_dataset, factory):
    url, rows = test_dataset  # row groups of 10 rows; 'matrix' cells are 4x3 float32 (48 bytes)
    with pytest.raises(DecodeFieldError) as info:
        with factory(url, schema_fields=['id', 'matrix'], shuffle_row_groups=False, decode_memory_limit=479) as reader:
            next(reader)
    message = str(info.value)
    assert "row group 0: field 'matrix': its cells decode to 480 bytes" in message, message
    assert 'more than decode_memory_limit (479 bytes)' in message and '.parquet' in message, message
    with factory(url, schema_fields=['id', 'matrix'], decode_memory_limit=480) as reader:
        ids = [i for item in reader for i in np.atleast_1d(item.id)]
    assert sorted(ids) == [r['id'] for r in rows]
    with pytest.raises(ValueError, match='decode_memory_limit'):
        factory(url, decode_memory_limit=0)
