"""PySpark job for tests/test_write_faults.py, run with the jar (``spark-submit --jars``): writes
ROWS rows (``id``, and ``vec`` = four times ``id`` as float32) slowly enough to be killed in the
middle, by one of three paths:

* ``jvm``: ``petastorm.jvm.write_dataset`` (the JVM ``DatasetWriter.writeDataset``) to URL;
* ``converter``: ``make_spark_converter`` with its parent cache directory at URL;
* ``materialize``: ``dict_to_spark_row`` rows written inside ``materialize_dataset`` to URL.

Prints ``TASKS_RUNNING`` once tasks of the write run, and at the end ``ROWS <json>``: the dataset
read back with ``make_reader`` as ``[[id, vec], ...]`` (here, as a converter's directory is deleted
when its process exits).
Usage: ``spark-submit --jars petastorm-native.jar slow_write.py MODE URL``.
"""
import json
import os
import sys
import threading
import time

import numpy as np
from pyspark.sql import SparkSession
from pyspark.sql.types import LongType

from petastorm.codecs import NdarrayCodec, ScalarCodec
from petastorm.unischema import Unischema, UnischemaField

ROWS = 40
PARTITIONS = 4
ROW_SLEEP_MS = 250

SlowSchema = Unischema('SlowSchema', [
    UnischemaField('id', np.int64, (), ScalarCodec(LongType()), False),
    UnischemaField('vec', np.float32, (4,), NdarrayCodec(), False),
])


def report_running_tasks(sc):
    """Prints TASKS_RUNNING once any stage has a task running (polls the status tracker)."""
    tracker = sc.statusTracker()
    while True:
        stages = (tracker.getStageInfo(s) for s in tracker.getActiveStageIds())
        if any(s is not None and s.numActiveTasks > 0 for s in stages):
            print('TASKS_RUNNING', flush=True)
            return
        time.sleep(0.1)


def slow_rows(spark):
    """The rows as a DataFrame; each row sleeps ROW_SLEEP_MS in its executor JVM when computed."""
    sleep = f"length(reflect('java.lang.Thread', 'sleep', cast({ROW_SLEEP_MS} as bigint)))"
    return spark.range(0, ROWS, 1, PARTITIONS).selectExpr(
        f'id + coalesce({sleep}, 0) * 0 as id', 'array_repeat(cast(id as float), 4) as vec')


def main(mode, url):
    spark = SparkSession.builder.appName('slow_write_' + mode).getOrCreate()
    threading.Thread(target=report_running_tasks, args=(spark.sparkContext,), daemon=True).start()
    df = slow_rows(spark)
    if mode == 'jvm':
        from petastorm import jvm
        jvm.write_dataset(df, url, SlowSchema, row_group_size_mb=1)
    elif mode == 'converter':
        from petastorm.spark import SparkDatasetConverter, make_spark_converter
        spark.conf.set(SparkDatasetConverter.PARENT_CACHE_DIR_URL_CONF, url)
        url = make_spark_converter(df).cache_dir_url
    elif mode == 'materialize':
        from petastorm.etl.dataset_metadata import materialize_dataset
        from petastorm.unischema import dict_to_spark_row

        def row(r):
            return dict_to_spark_row(SlowSchema, {'id': np.int64(r.id), 'vec': np.array(r.vec, dtype=np.float32)})
        with materialize_dataset(spark, url, SlowSchema, row_group_size_mb=1):
            rows = df.rdd.map(row)
            spark.createDataFrame(rows, SlowSchema.as_spark_schema()).write.mode('overwrite').parquet(url)
    else:
        raise ValueError('unknown mode ' + mode)
    from petastorm import make_reader
    with make_reader(url, workers_count=1, num_epochs=1) as reader:
        rows = [[int(r.id), r.vec.tolist()] for r in reader]
    # one write(2) of the whole line (under PIPE_BUF): the JVM's log lines share this pipe and must not land inside it
    sys.stdout.flush()
    os.write(sys.stdout.fileno(), ('ROWS ' + json.dumps(rows) + '\n').encode())
    spark.stop()


if __name__ == '__main__':
    main(*sys.argv[1:])
