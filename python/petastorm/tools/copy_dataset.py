"""petastorm-copy-dataset.py: copies a Petastorm dataset with Spark, optionally keeping only the fields
matching regular expressions, dropping rows with nulls in given fields, repartitioning and setting the
row-group size of the copy (upstream's ``petastorm.tools.copy_dataset``)."""
import argparse
import functools
import operator
import sys
import threading

from petastorm.etl.dataset_metadata import get_schema_from_dataset_url, materialize_dataset
from petastorm.tools._progress import Progress
from petastorm.tools.spark_session_cli import add_configure_spark_arguments, configure_spark
from petastorm.unischema import match_unischema_fields


def copy_dataset(spark, source_url, target_url, field_regex, not_null_fields, overwrite_output, partitions_count,
                 row_group_size_mb, show_progress=False):
    """Copies ``source_url`` to ``target_url`` (data and ``_common_metadata``).

    :param field_regex: regular expressions; only matching fields are copied (``None``/empty: all)
    :param not_null_fields: field names whose value must not be null for a row to be copied
    :param overwrite_output: replace an existing ``target_url`` (else an existing target is an error)
    :param partitions_count: files of the copy (``None``: as Spark reads the source)
    :param row_group_size_mb: row-group size of the copy (``None``: Parquet's default)
    :param show_progress: a bar of the Spark tasks on stderr
    :raises ValueError: when ``field_regex`` matches no field, or a not-null field is not in the copy
    """
    schema = get_schema_from_dataset_url(source_url)
    fields = match_unischema_fields(schema, field_regex)
    if field_regex and not fields:
        raise ValueError('Regular expressions ({}) do not match any fields ({})'.format(
            field_regex, list(schema.fields)))
    subschema = schema.create_schema_view(fields) if fields else schema
    missing = [f for f in not_null_fields or [] if f not in subschema.fields]
    if missing:
        raise ValueError('not-null fields {} are not fields of the copy ({})'.format(missing, list(subschema.fields)))
    with materialize_dataset(spark, target_url, subschema, row_group_size_mb):
        frame = spark.read.parquet(source_url)
        if fields:
            frame = frame.select(*[f.name for f in fields])
        if not_null_fields:
            frame = frame.filter(functools.reduce(operator.and_, (frame[f].isNotNull() for f in not_null_fields)))
        if partitions_count:
            frame = frame.repartition(partitions_count)
        writer = frame.write.mode('overwrite' if overwrite_output else 'error').option('compression', 'none')
        with _TaskProgress(spark, show_progress):
            writer.parquet(target_url)


class _TaskProgress(object):
    """While the block runs, a thread draws the completed/total tasks of the active Spark stages."""

    def __init__(self, spark, enabled):
        self._tracker = spark.sparkContext.statusTracker() if enabled else None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._progress = None

    def _run(self):
        done = 0
        while not self._stop.wait(0.5):
            stages = [self._tracker.getStageInfo(s) for s in self._tracker.getActiveStageIds()]
            stages = [s for s in stages if s is not None]
            if not stages:
                continue
            total = sum(s.numTasks for s in stages)
            completed = sum(s.numCompletedTasks for s in stages)
            if self._progress is None or self._progress.total != total:
                self._progress, done = Progress('copying', total, 'tasks'), 0
            self._progress.update(completed - done)
            done = completed

    def __enter__(self):
        if self._tracker is not None:
            self._thread.start()

    def __exit__(self, *exc):
        if self._tracker is not None:
            self._stop.set()
            self._thread.join()
            if self._progress is not None:
                self._progress.close()


def args_parser():
    parser = argparse.ArgumentParser(prog='petastorm-copy-dataset.py', description=__doc__)
    parser.add_argument('source_url', type=str, help='A url of a source petastorm dataset')
    parser.add_argument('target_url', type=str, help='A url of a target petastorm dataset')
    parser.add_argument('--overwrite-output', action='store_true',
                        help='Replace the target if it exists (without it, an existing target is an error)')
    parser.add_argument('--field-regex', type=str, nargs='+',
                        help='A list of regular expressions. Only fields that match one of the regex patterns will '
                             'be copied.')
    parser.add_argument('--not-null-fields', type=str, nargs='+',
                        help='All names in this list must be not null in the source dataset in order to be copied to '
                             'the target dataset.')
    parser.add_argument('--partition-count', type=int, required=False,
                        help='Specifies number of partitions in the output dataset')
    parser.add_argument('--row-group-size-mb', type=int, required=False,
                        help='Specifies the row group size in the created dataset')
    add_configure_spark_arguments(parser)
    return parser


def _main(argv):
    args = args_parser().parse_args(argv)
    from pyspark.sql import SparkSession
    # few rows per row group: large splits keep the number of read partitions sensible (as upstream)
    spark = configure_spark(SparkSession.builder.appName('petastorm-copy'), args) \
        .config('spark.sql.files.maxPartitionBytes', '1010612736').getOrCreate()
    try:
        copy_dataset(spark, args.source_url, args.target_url, args.field_regex, args.not_null_fields,
                     args.overwrite_output, args.partition_count, args.row_group_size_mb, show_progress=True)
    finally:
        spark.stop()


def main():
    """Console script ``petastorm-copy-dataset.py``."""
    _main(sys.argv[1:])


if __name__ == '__main__':
    main()
