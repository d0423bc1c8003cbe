"""Dataset metadata (upstream's ``petastorm.etl.dataset_metadata``): ``materialize_dataset``
wraps a Spark job that writes a Petastorm dataset and then writes its ``_common_metadata``;
``write_dataset`` writes one from an RDD of row dicts with the native writer in the Python workers;
``get_schema_from_dataset_url`` / ``get_schema`` / ``infer_or_load_unischema`` read the Unischema back
and ``load_row_groups`` lists a dataset's row groups.

The metadata bytes (Unischema as JSON and as an upstream-loadable pickle, row groups per
file) are built by the native library from the data files' Parquet footers.
"""
import functools
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

from petastorm import _native, _storage
from petastorm._ignored import warn_ignored
from petastorm.etl import _part_writer
from petastorm.errors import PetastormMetadataError, PetastormMetadataGenerationError  # noqa: F401
from petastorm.etl._hadoop_fs import HadoopFileSystem
from petastorm.unischema import Unischema

ROW_GROUPS_PER_FILE_KEY = b'dataset-toolkit.num_row_groups_per_file.v1'
UNISCHEMA_KEY = b'dataset-toolkit.unischema.v1'
UNISCHEMA_JSON_KEY = b'dataset-toolkit.unischema.json.v1'
COMMON_METADATA = '_common_metadata'


@contextmanager
def materialize_dataset(spark, dataset_url, schema, row_group_size_mb=None, use_summary_metadata=False,
                        filesystem_factory=None):
    """Context manager around the Spark code that writes a Petastorm dataset to ``dataset_url``.

    For the duration of the block the Hadoop configuration gets the row-group size
    (``row_group_size_mb``) and the other Parquet settings the native library asks for; they
    are restored afterwards (unset where they were absent), also when the block raises. When
    the block succeeds, ``_common_metadata`` is written through the Hadoop FileSystem of the
    URL; when it raises, nothing is written and the exception propagates.

    ``use_summary_metadata=True`` also lets Spark write Parquet summary files. ``filesystem_factory``
    is accepted for upstream compatibility and not used (warns once): the Hadoop FileSystem Spark wrote to is.

    >>> with materialize_dataset(spark, url, MySchema, 64):
    ...     spark.createDataFrame(rows, MySchema.as_spark_schema()).write.parquet(url)
    """
    warn_ignored('materialize_dataset', 'the Hadoop FileSystem Spark wrote to is used',
                 filesystem_factory=(filesystem_factory, None))
    handle = schema._native()  # an unusable schema fails before the job runs
    settings = dict(_native.writer_hadoop_conf(row_group_size_mb or 0))
    if use_summary_metadata:
        settings.update({'parquet.summary.metadata.level': 'ALL', 'parquet.enable.summary-metadata': 'true'})
    hadoop_conf = spark.sparkContext._jsc.hadoopConfiguration()
    previous = {key: hadoop_conf.get(key) for key in settings}
    try:
        for key, value in settings.items():
            hadoop_conf.set(key, str(value))
        yield
        _write_common_metadata(HadoopFileSystem(spark, dataset_url), handle)
    finally:
        for key, value in previous.items():
            if value is None:
                hadoop_conf.unset(key)
            else:
                hadoop_conf.set(key, value)


def write_dataset(spark, rows, dataset_url, schema, row_group_size_mb=256, mode='overwrite', storage_options=None):
    """Writes ``rows`` as a Petastorm dataset at ``dataset_url``: each Python worker checks and encodes the
    rows of its partition (as :func:`~petastorm.unischema.dict_to_spark_row` does) and writes its Parquet
    part file itself with the native writer, so no row goes through the JVM. The driver commits the files
    once every task succeeded (a failed job leaves no data file) and writes ``_common_metadata``
    (atomically), all through the native storage layer.

    :param rows: an RDD of row dicts (``{field name: value}``)
    :param dataset_url: a local path or ``file://`` URL every executor sees, or a URL of any store the
        native layer reaches (``s3://``/``s3a://``, ``gs://``, ``abfs(s)://``, ``hdfs://``, ...): part files
        are uploaded in parts and appear only when committed
    :param row_group_size_mb: the size of a row group (encoded)
    :param mode: Spark's save mode: ``'overwrite'``, ``'append'``, ``'ignore'`` or ``'error'``
    :param storage_options: credentials and endpoints of the store (as for ``make_reader``); they travel
        to the executors with the tasks. Without them, each process uses its environment.
    :raises ValueError: before any job, for an unknown mode or a schema the native writer cannot write
        (date, timestamp and decimal fields)

    >>> rows = spark.sparkContext.parallelize(range(100), 4).map(row_generator)
    >>> write_dataset(spark, rows, 'file:///tmp/hello_world_dataset', HelloWorldSchema, row_group_size_mb=64)
    """
    handle = schema._native()
    reason = handle.writer_unsupported()
    if reason:
        raise ValueError('write_dataset cannot write schema {}: {}'.format(schema._name, reason))
    if not row_group_size_mb or row_group_size_mb <= 0:
        raise ValueError('row_group_size_mb must be positive, got {!r}'.format(row_group_size_mb))
    dataset_url = dataset_url.rstrip('/') or dataset_url
    if not _storage.prepare(dataset_url, mode, storage_options):
        return
    if rows.getNumPartitions() == 0:
        rows = spark.sparkContext.parallelize([], 1)  # partition 0 writes the (empty) file
    job = str(uuid.uuid4())
    compression = spark.conf.get('spark.sql.parquet.compression.codec', 'snappy')
    write = functools.partial(_part_writer.write_partition, schema, dataset_url, storage_options, job,
                              int(row_group_size_mb * 2 ** 20), compression)
    try:
        _storage.commit(dataset_url, job, rows.mapPartitionsWithIndex(write).collect(), storage_options)
    except BaseException:
        _storage.abort(dataset_url, job, storage_options)
        raise
    _storage.write_common_metadata(handle, dataset_url, storage_options)


def _write_common_metadata(fs, handle):
    """Builds ``_common_metadata`` natively from the footers of ``fs``'s data files and writes it."""
    files = fs.list_data_files()
    footers = [fs.read_footer(rel, length, _native.parquet_footer_len) for rel, length in files]
    data = handle.common_metadata([rel for rel, _ in files], footers)
    fs.write_atomically(COMMON_METADATA, data)
    return files


def _read_common_metadata(url, filesystem):
    """The bytes of ``<url>/_common_metadata``, or ``None`` when there is no such file."""
    parsed = urlparse(url)
    if filesystem is None and parsed.scheme in ('', 'file'):
        path = Path(parsed.path if parsed.scheme else url) / COMMON_METADATA
        return path.read_bytes() if path.is_file() else None
    import pyarrow.fs
    if filesystem is None:
        filesystem, root = pyarrow.fs.FileSystem.from_uri(url)
    else:
        root = parsed.path if parsed.scheme else url
    path = root.rstrip('/') + '/' + COMMON_METADATA
    if filesystem.get_file_info(path).type != pyarrow.fs.FileType.File:
        return None
    with filesystem.open_input_file(path) as f:
        return f.read()


def get_schema_from_dataset_url(dataset_url_or_urls, hdfs_driver='libhdfs3', storage_options=None,
                                filesystem=None):
    """The :class:`~petastorm.unischema.Unischema` stored with a dataset.

    :param dataset_url_or_urls: the dataset URL (``file:///...`` or a local path; other schemes
        through ``pyarrow.fs``), or a list of URLs of which the first is used
    :param hdfs_driver: accepted for upstream compatibility (warns once when set)
    :param storage_options: accepted for upstream compatibility (warns once when set): pass ``filesystem``
    :param filesystem: an optional ``pyarrow.fs.FileSystem`` to read with
    :raises PetastormMetadataError: when the dataset has no ``_common_metadata`` or it holds no Unischema
    """
    warn_ignored('get_schema_from_dataset_url', 'the file system comes from the URL or the filesystem argument',
                 hdfs_driver=(hdfs_driver, 'libhdfs3'), storage_options=(storage_options, None))
    url = dataset_url_or_urls[0] if isinstance(dataset_url_or_urls, (list, tuple)) else dataset_url_or_urls
    return _schema_of(str(url), filesystem)


def _schema_of(url, filesystem):
    data = _read_common_metadata(url, filesystem)
    if data is None:
        raise PetastormMetadataError(
            'Could not find _common_metadata file in {}. Use materialize_dataset(..) in '
            'petastorm.etl.dataset_metadata to generate this file in your ETL code.'.format(url))
    return Unischema.from_json(_native.schema_from_metadata(data))


def _parquet_dataset(dataset):
    """A ``pyarrow.parquet.ParquetDataset`` for a dataset URL (or path); a ParquetDataset as it is."""
    if not isinstance(dataset, str):
        return dataset
    import pyarrow.parquet as pq
    from petastorm.fs_utils import get_filesystem_and_path_or_paths
    url = dataset if '://' in dataset else Path(dataset).absolute().as_uri()
    filesystem, path = get_filesystem_and_path_or_paths(url)
    return pq.ParquetDataset(path, filesystem=filesystem)


def get_schema(dataset):
    """The Unischema stored in the ``_common_metadata`` of a ``pyarrow.parquet.ParquetDataset`` (or of a
    dataset URL), as upstream's ``get_schema``.

    :raises PetastormMetadataError: (a ``ValueError``) when there is no stored Unischema
    """
    if isinstance(dataset, str):
        return get_schema_from_dataset_url(dataset)
    return _schema_of(dataset._base_dir, dataset.filesystem)


def infer_or_load_unischema(dataset):
    """The stored Unischema of a dataset (``ParquetDataset`` or URL), else one inferred from its Arrow
    schema (:meth:`Unischema.from_arrow_schema`)."""
    try:
        return get_schema(dataset)
    except PetastormMetadataError:
        return Unischema.from_arrow_schema(_parquet_dataset(dataset))


def load_row_groups(dataset):
    """Every row group of a dataset (``ParquetDataset`` or URL) as a one-row-group
    ``pyarrow.dataset.ParquetFileFragment`` (``.path``, ``.row_groups[0].id``, ``.partition_expression``),
    ordered by file path then row group: what upstream's ``load_row_groups`` lists as pieces."""
    fragments = sorted(_parquet_dataset(dataset).fragments, key=lambda f: f.path)
    return [piece for fragment in fragments for piece in fragment.split_by_row_group()]
