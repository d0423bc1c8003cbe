"""The opt-in persistent converter cache, and what happens to cache directories when a process ends:
reuse across sessions, a marker only after the committed write, crashed writes never reused,
leftovers removed at interpreter exit. Two child processes run real PySpark drivers."""
import json
import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from petastorm.spark import SparkDatasetConverter, make_spark_converter
from petastorm.spark import _persistent
from petastorm.spark import spark_dataset_converter as sdc

MARKER = '_petastorm_converter_complete'  # the name both converters write and look for
CHILD_TIMEOUT = 240

# A child PySpark driver; {body} runs with `spark`, `parent` (the parent URL) and `src` defined.
CHILD = textwrap.dedent('''
    import json, sys
    from pyspark.sql import SparkSession
    spark = (SparkSession.builder.master('local[1]').config('spark.ui.enabled', 'false')
             .config('spark.driver.memory', '512m').config('spark.sql.shuffle.partitions', '1').getOrCreate())
    spark.sparkContext.setLogLevel('ERROR')
    from petastorm.spark import SparkDatasetConverter, make_spark_converter
    from petastorm.spark import spark_dataset_converter as sdc
    parent, src = sys.argv[1], sys.argv[2]
    spark.conf.set(SparkDatasetConverter.PARENT_CACHE_DIR_URL_CONF, parent)
    def say(**kw):
        print('CHILD ' + json.dumps(kw), flush=True)
''')

# Converts with the write slowed down by an identity mapInArrow that sleeps after its data: the
# parent kills the process group while the Spark job is running.
CRASH_BODY = textwrap.dedent('''
    spark.conf.set(SparkDatasetConverter.PERSISTENT_CACHE_CONF, 'true')
    df = spark.read.parquet(src).selectExpr('id', 'x * 2 as y')
    fs = sdc.HadoopFs.of(spark)
    say(key=sdc._persistent.persistent_key(spark, df, fs, sdc.DEFAULT_ROW_GROUP_SIZE_BYTES, 'uncompressed',
                                           'float32'))
    original = sdc._prepare
    flag = parent[len('file://'):] + '.stalled'
    def stalled(it):
        import time
        for batch in it:
            yield batch
        open(flag, 'w').close()
        time.sleep(600)
    sdc._prepare = lambda d, dtype: original(d, dtype).mapInArrow(stalled, original(d, dtype).schema)
    make_spark_converter(df)
    say(finished=True)
''')

# Leaves one ordinary and one persistent converter behind, then exits normally.
EXIT_BODY = textwrap.dedent('''
    ordinary = make_spark_converter(spark.range(0, 10, 1, 1))
    spark.conf.set(SparkDatasetConverter.PERSISTENT_CACHE_CONF, 'true')
    kept = make_spark_converter(spark.range(0, 11, 1, 1))
    say(ordinary=ordinary.cache_dir_url, kept=kept.cache_dir_url, persistent=kept._persistent)
''')


def start_child(body, parent_url, src_url):
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable,
               PYTHONUNBUFFERED='1')
    return subprocess.Popen([sys.executable, '-c', CHILD + body, parent_url, src_url], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env, start_new_session=True)


def child_messages(proc, timeout=CHILD_TIMEOUT):
    """The child's messages until its stdout ends; an ``AssertionError`` when the next line or the end
    does not come within ``timeout`` seconds of the first read (a hung child fails the test)."""
    lines = queue.Queue()

    def pump():
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError('child {} wrote nothing more within {} s'.format(proc.pid, timeout)) from None
        if line is None:
            return
        if line.startswith('CHILD '):
            yield json.loads(line[len('CHILD '):])


def test_a_silent_child_fails_within_the_bound():
    proc = subprocess.Popen([sys.executable, '-c', 'print("CHILD {}", flush=True); import time; time.sleep(60)'],
                            stdout=subprocess.PIPE, text=True)
    try:
        started = time.monotonic()
        messages = child_messages(proc, timeout=2)
        assert next(messages) == {}
        with pytest.raises(AssertionError, match='wrote nothing more within 2 s'):
            next(messages)
        assert time.monotonic() - started < 10
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture
def persistent(spark, tmp_path):
    """Parent cache dir with the persistent cache on; a source Parquet directory."""
    parent = tmp_path / 'cache'
    src = tmp_path / 'src'
    spark.range(0, 50, 1, 2).selectExpr('id', 'cast(id as double) as x').write.parquet(src.as_uri())
    spark.conf.set(SparkDatasetConverter.PARENT_CACHE_DIR_URL_CONF, parent.as_uri())
    spark.conf.set(SparkDatasetConverter.PERSISTENT_CACHE_CONF, 'true')
    yield parent, src
    spark.conf.unset(SparkDatasetConverter.PARENT_CACHE_DIR_URL_CONF)
    spark.conf.unset(SparkDatasetConverter.PERSISTENT_CACHE_CONF)


def new_session(monkeypatch):
    """Forget this process's converters, as a new session would."""
    monkeypatch.setattr(sdc, '_cache', {})


def names(parent):
    return sorted(p.name for p in parent.iterdir() if p.is_dir())


def test_reused_across_sessions_only_when_complete(spark, persistent, monkeypatch):
    parent, src = persistent
    df = spark.read.parquet(src.as_uri()).selectExpr('id', 'x * 2 as y')
    c1 = make_spark_converter(df)
    marker = parent / c1.cache_dir_url.rsplit('/', 1)[1] / MARKER
    assert json.loads(marker.read_text())['rows'] == 50
    assert c1.cache_dir_url not in sdc._exit_dirs  # kept at exit

    new_session(monkeypatch)
    c2 = make_spark_converter(spark.read.parquet(src.as_uri()).selectExpr('id', 'x * 2 as y'))
    assert (c2.cache_dir_url, c2.file_urls, len(c2)) == (c1.cache_dir_url, c1.file_urls, 50)
    with c2.make_torch_dataloader(batch_size=50, num_epochs=1) as loader:
        assert sorted(next(iter(loader))['y'].tolist()) == [2.0 * i for i in range(50)]

    # other options, other plan: other keys
    assert make_spark_converter(df, dtype=None).cache_dir_url != c1.cache_dir_url
    assert make_spark_converter(df.selectExpr('y', 'id')).cache_dir_url != c1.cache_dir_url
    assert len(names(parent)) == 3

    # a marker for another key, or a file missing, and the directory is not reused
    content = json.loads(marker.read_text())
    marker.write_text(json.dumps(dict(content, key='0' + content['key'])))
    new_session(monkeypatch)
    c3 = make_spark_converter(df)
    assert c3.cache_dir_url != c1.cache_dir_url
    Path(c3.file_urls[0][len('file://'):]).unlink()
    new_session(monkeypatch)
    assert make_spark_converter(df).cache_dir_url not in (c1.cache_dir_url, c3.cache_dir_url)

    # new input files: a new key
    spark.range(0, 60, 1, 2).selectExpr('id', 'cast(id as double) as x').write.mode('overwrite').parquet(src.as_uri())
    new_session(monkeypatch)
    c5 = make_spark_converter(spark.read.parquet(src.as_uri()).selectExpr('id', 'x * 2 as y'))
    assert len(c5) == 60


def test_ineligible_plans_are_not_persisted(spark, persistent):
    parent, _ = persistent
    local = spark.createDataFrame([(1, 'a'), (2, 'b')], 'k long, v string')
    assert 'LogicalRDD' in _persistent.ineligible_reason(spark.sparkContext._jvm,
                                                         local._jdf.queryExecution().analyzed())
    converter = make_spark_converter(local)
    assert not (parent / converter.cache_dir_url.rsplit('/', 1)[1] / MARKER).exists()
    assert converter.cache_dir_url in sdc._exit_dirs
    jvm = spark.sparkContext._jvm
    from pyspark.sql.functions import rand, udf
    assert 'deterministic' in _persistent.ineligible_reason(
        jvm, spark.range(3).select(rand())._jdf.queryExecution().analyzed())
    assert 'UDF' in _persistent.ineligible_reason(
        jvm, spark.range(3).select(udf(lambda v: v, 'long')('id'))._jdf.queryExecution().analyzed())
    assert _persistent.ineligible_reason(jvm, spark.range(3).selectExpr('id + 1')._jdf.queryExecution().analyzed()) \
        is None
    converter.delete()


def test_failed_write_leaves_nothing(spark, persistent, monkeypatch):
    parent, src = persistent

    def fail(*args):
        raise RuntimeError('crash before the marker')
    monkeypatch.setattr(_persistent, 'marker_bytes', fail)
    with pytest.raises(RuntimeError, match='before the marker'):
        make_spark_converter(spark.read.parquet(src.as_uri()).selectExpr('id', 'x + 1 as z'))
    assert not parent.exists() or names(parent) == []


def test_killed_write_is_never_reused_and_leftovers_go_at_exit(spark, persistent, tmp_path, monkeypatch):
    parent, src = persistent
    crash_parent = tmp_path / 'crash'
    crash = start_child(CRASH_BODY, crash_parent.as_uri(), src.as_uri())
    exit_parent = tmp_path / 'exit'
    at_exit = start_child(EXIT_BODY, exit_parent.as_uri(), src.as_uri())
    try:
        key = next(child_messages(crash))['key']
        flag = Path(str(crash_parent) + '.stalled')
        deadline = time.monotonic() + CHILD_TIMEOUT
        while not flag.exists():
            assert crash.poll() is None and time.monotonic() < deadline, 'the child never reached the write'
            time.sleep(0.1)
        time.sleep(0.3)
        (written,) = names(crash_parent)
        assert (crash_parent / written / '_temporary').is_dir()
        os.killpg(crash.pid, signal.SIGKILL)  # the driver, its JVM and Python workers
        crash.wait(timeout=30)
        (left,) = child_messages(at_exit)
        assert at_exit.wait(timeout=CHILD_TIMEOUT) == 0
    finally:
        for proc in (crash, at_exit):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    # the killed write: no marker, never reused; the same DataFrame is written again
    assert not (crash_parent / written / MARKER).exists()
    spark.conf.set(SparkDatasetConverter.PARENT_CACHE_DIR_URL_CONF, crash_parent.as_uri())
    df = spark.read.parquet(src.as_uri()).selectExpr('id', 'x * 2 as y')
    assert _persistent.persistent_key(spark, df, sdc.HadoopFs.of(spark), sdc.DEFAULT_ROW_GROUP_SIZE_BYTES,
                                      'uncompressed', 'float32') == key
    converter = make_spark_converter(df)
    assert converter.cache_dir_url != crash_parent.as_uri() + '/' + written and len(converter) == 50
    assert len(names(crash_parent)) == 2

    # normal exit: the ordinary converter's directory is gone, the persistent one kept
    assert left['persistent']
    assert names(exit_parent) == [left['kept'].rsplit('/', 1)[1]]
