"""Native log records reach Python logging under 'petastorm' (``petastorm._log``)."""
import logging
import os
import time
import warnings

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from petastorm import _log, make_batch_reader

ITEM_LOGGER = 'petastorm.native.dataset.item'


@pytest.fixture
def dataset(tmp_path):
    """One file of 20 rows in two row groups."""
    table = pa.table({'id': pa.array(range(20), pa.int64()), 'name': [str(i) for i in range(20)]})
    pq.write_table(table, str(tmp_path / 'part-0.parquet'), row_group_size=10)
    return tmp_path


def _read_all(path):
    with make_batch_reader(path.as_uri(), workers_count=1, shuffle_row_groups=False) as reader:
        return sum(len(batch.id) for batch in reader)


def _native_records(caplog, name_prefix='petastorm.native'):
    return [r for r in caplog.records if r.name.startswith(name_prefix)]


def test_level_info_hides_debug_records(dataset, caplog):
    caplog.set_level(logging.INFO, logger='petastorm')
    # Python would pass the row-group records: the native level (from 'petastorm') drops them.
    caplog.set_level(logging.DEBUG, logger=ITEM_LOGGER)
    assert _read_all(dataset) == 20
    _log.flush()
    records = _native_records(caplog)
    opened = [r for r in records if r.name == 'petastorm.native.dataset.reader']
    assert len(opened) == 1 and opened[0].levelno == logging.INFO
    assert '2 row groups planned' in opened[0].getMessage() and dataset.as_uri() in opened[0].getMessage()
    assert [r for r in records if r.levelno < logging.INFO] == []


def test_reading_logs_each_row_group_at_debug(dataset, caplog):
    caplog.set_level(logging.DEBUG, logger='petastorm')
    assert _read_all(dataset) == 20
    _log.flush()
    reads = [r for r in _native_records(caplog, ITEM_LOGGER) if r.levelno == logging.DEBUG]
    assert sorted(r.getMessage().split(':')[0] for r in reads) == [
        "file 'part-0.parquet', row group 0", "file 'part-0.parquet', row group 1"]
    assert all('10 rows read, 10 kept' in r.getMessage() for r in reads)
    assert all(r.native_thread.startswith('petastorm-decode-') for r in reads)
    assert all(r.threadName == r.native_thread and r.native_target == 'petastorm_native::dataset::item'
               for r in reads)
    assert all(abs(r.created - time.time()) < 60 for r in reads)


def test_a_forked_child_drains_with_its_own_thread(dataset, caplog):
    caplog.set_level(logging.DEBUG, logger='petastorm')
    assert _read_all(dataset) == 20
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DeprecationWarning)  # fork() with threads running
        pid = os.fork()
    if pid == 0:
        code = 3
        try:
            caplog.clear()
            with make_batch_reader(dataset.as_uri(), workers_count=1) as reader:
                assert sum(len(batch.id) for batch in reader) == 20
                # Still open (closing flushes): the records must come through the child's thread.
                deadline = time.time() + 20
                while len(_native_records(caplog, ITEM_LOGGER)) < 2 and time.time() < deadline:
                    time.sleep(0.05)
                code = 0 if len(_native_records(caplog, ITEM_LOGGER)) == 2 else 1
        finally:
            os._exit(code)
    deadline = time.time() + 60
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.time() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail('the forked child hung')
        time.sleep(0.05)
    assert os.waitstatus_to_exitcode(status) == 0


def test_native_levels_follow_python_levels():
    assert [_log.native_level(level) for level in (1, 5, 10, 20, 30, 40, 50)] == [5, 5, 4, 3, 2, 1, 0]
