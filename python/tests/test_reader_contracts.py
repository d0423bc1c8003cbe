"""Contracts of the reader no other test holds: fork() before and after the first ``next()``, and
rows being read-only views of the decoded batches."""
import os
import time
import warnings

import numpy as np
import pytest

from _reader_helpers import ROWS_COUNT, assert_row_equal, test_dataset, time_limit  # noqa: F401
from petastorm import make_batch_reader, make_reader

CHILD_TIMEOUT_S = 60


def _fork(child):
    """Runs ``child()`` in a forked process; returns its exit code (its result: 0 passed, 1 failed)."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DeprecationWarning)  # fork() with the reader's threads running
        pid = os.fork()
    if pid == 0:
        code = 1
        try:
            child()
            code = 0
        except BaseException as e:  # reported through the exit code; the child never returns into pytest
            os.write(2, f'forked child failed: {e!r}\n'.encode())
        finally:
            os._exit(code)
    deadline = time.time() + CHILD_TIMEOUT_S
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.time() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail('the forked child hung')
        time.sleep(0.05)


def _check_rows(got, rows):
    assert sorted(int(r.id) for r in got) == list(range(ROWS_COUNT))
    for row in got:
        assert_row_equal(row, rows[int(row.id)])


def test_a_child_forked_before_the_first_next_reads_the_dataset(test_dataset):
    url, rows = test_dataset
    with make_reader(url, workers_count=2, num_epochs=1) as reader:
        assert _fork(lambda: _check_rows(list(reader), rows)) == 0
        _check_rows(list(reader), rows)  # the parent's reader is untouched by the child's reads


def test_a_child_forked_after_the_first_next_gets_a_clear_error(test_dataset):
    url, rows = test_dataset
    with make_reader(url, workers_count=2, num_epochs=1) as reader:
        first = next(reader)

        def child():  # rows already handed to Python still come, then the native reader refuses
            got = []
            with pytest.raises(ValueError, match=r'cannot be used after fork\(\)'):
                for row in reader:
                    got.append(row)
            assert len(got) < ROWS_COUNT - 1
            for row in got:
                assert_row_equal(row, rows[int(row.id)])

        assert _fork(child) == 0
        _check_rows([first] + list(reader), rows)  # the parent reads on from where it was


def test_rows_are_read_only_views(test_dataset):
    url, _ = test_dataset
    with make_reader(url, schema_fields=['id', 'matrix', 'image'], workers_count=1) as reader:
        row = next(reader)
    for value in (row.matrix, row.image):
        assert isinstance(value, np.ndarray) and not value.flags.writeable
        with pytest.raises(ValueError, match='read-only'):
            value[0] = 0
    with make_batch_reader(url, schema_fields=['id', 'matrix'], workers_count=1) as reader:
        batch = next(reader)
    for column in (batch.id, batch.matrix):
        with pytest.raises(ValueError, match='read-only'):
            column[0] = 0


@pytest.mark.parametrize('batched', [False, True])
def test_for_loops_and_next_calls_share_one_stream(test_dataset, batched):
    """Iterating a reader (rows straight from each chunk) and calling next() on it, interleaved and
    across two iterators, yield every row exactly once, in order."""
    url, _ = test_dataset
    make = make_batch_reader if batched else make_reader
    ids = (lambda item: [int(i) for i in item.id]) if batched else (lambda item: [int(item.id)])
    with make(url, workers_count=1, shuffle_row_groups=False, num_epochs=1) as reader:
        expected = [i for item in reader for i in ids(item)]
    assert sorted(expected) == list(range(ROWS_COUNT))
    with make(url, workers_count=1, shuffle_row_groups=False, num_epochs=1) as reader:
        got, first, second = [], iter(reader), iter(reader)
        for k, item in enumerate(first):
            got += ids(item)
            if k % 3 == 0:
                got += ids(next(reader))
            if k % 5 == 0:
                got += ids(next(second))
        assert list(second) == [] and list(iter(reader)) == []
        with pytest.raises(StopIteration):
            next(reader)
    assert got == expected
