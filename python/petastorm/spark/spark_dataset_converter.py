"""Spark DataFrame converter (upstream's ``petastorm.spark.spark_dataset_converter``).

``make_spark_converter(df)`` writes a DataFrame as Parquet under the directory named by the Spark
conf ``petastorm.spark.converter.parentCacheDirUrl`` (once per analyzed plan and options in this
process, or across sessions with ``petastorm.spark.converter.persistentCache=true``) and returns a
picklable :class:`SparkDatasetConverter` that opens ``tf.data`` datasets and PyTorch data loaders
over it, reading with :func:`petastorm.make_batch_reader` (the native reader).

Spark work (the write, listing, deletion) goes through the driver's JVM; readers need neither
pyspark nor a JVM, so an unpickled converter works in any training process.
"""
import atexit
import logging
import os
import threading
from urllib.parse import urlparse

from petastorm import _native
from petastorm._storage import existing_dir_url, normalize_dir_url
from petastorm.spark import _persistent
from petastorm.spark._fs import HadoopFs, delete_dir

logger = logging.getLogger(__name__)

DEFAULT_ROW_GROUP_SIZE_BYTES = 32 * 1024 * 1024
# Spark's Parquet codecs (upstream also lists bzip2 and deflate, which Spark's Parquet writer rejects)
_COMPRESSION_CODECS = ('uncompressed', 'none', 'snappy', 'gzip', 'lz4', 'lz4_raw', 'zstd', 'brotli')
_DTYPES = (None, 'float32', 'float64')
_RECOMMENDED_FILE_SIZE_BYTES = 50 * 1024 * 1024


class SparkDatasetConverter(object):
    """One DataFrame materialized as Parquet; makes any number of TF datasets and PyTorch loaders.
    Picklable: use it in Spark executors, Horovod or TorchDistributor workers.

    :ivar cache_dir_url: the directory holding the Parquet files
    :ivar file_urls: URLs of the Parquet files
    :ivar dataset_size: number of rows (also ``len(converter)``)
    """

    PARENT_CACHE_DIR_URL_CONF = 'petastorm.spark.converter.parentCacheDirUrl'
    PERSISTENT_CACHE_CONF = 'petastorm.spark.converter.persistentCache'

    def __init__(self, cache_dir_url, file_urls, dataset_size, parent_cache_dir_url=None, owned=True,
                 persistent=False):
        self.cache_dir_url = cache_dir_url
        self.file_urls = list(file_urls)
        self.dataset_size = int(dataset_size)
        self._parent_cache_dir_url = parent_cache_dir_url
        self._owned = owned
        self._persistent = persistent

    def __len__(self):
        return self.dataset_size

    def __repr__(self):
        return 'SparkDatasetConverter({!r}, {} files, {} rows)'.format(self.cache_dir_url, len(self.file_urls),
                                                                       self.dataset_size)

    @staticmethod
    def _reader_kwargs(kwargs, num_epochs, workers_count):
        for name in ('dataset_url', 'dataset_url_or_urls'):
            if name in kwargs:
                raise TypeError('{} is set by the converter'.format(name))
        kwargs['num_epochs'] = num_epochs
        kwargs['workers_count'] = 4 if workers_count is None else workers_count
        _check_rank_and_size_consistent_with_horovod(kwargs)
        return kwargs

    def make_tf_dataset(self, batch_size=32, prefetch=None, num_epochs=None, workers_count=4,
                        shuffling_queue_capacity=None, **petastorm_reader_kwargs):
        """A context manager yielding a ``tf.data.Dataset`` of batches (namedtuples of tensors) of
        ``batch_size`` rows; leaving it stops the reader.

        :param batch_size: rows per batch (``None``: 32)
        :param prefetch: ``Dataset.prefetch`` size (``None``: ``tf.data.AUTOTUNE``)
        :param num_epochs: passes over the data (``None``: forever)
        :param workers_count: native decode threads of the reader (``None``: 4)
        :param shuffling_queue_capacity: rows in the ``Dataset.shuffle`` buffer (``None``/0: no shuffling)
        :param petastorm_reader_kwargs: other :func:`petastorm.make_batch_reader` arguments
            (``cur_shard``/``shard_count``, ``shuffle_row_groups``, ``seed``, ``schema_fields``, ...)
        """
        kwargs = self._reader_kwargs(petastorm_reader_kwargs, num_epochs, workers_count)
        return TFDatasetContextManager(self.file_urls, batch_size=batch_size, prefetch=prefetch,
                                       petastorm_reader_kwargs=kwargs,
                                       shuffling_queue_capacity=shuffling_queue_capacity)

    def make_torch_dataloader(self, batch_size=32, num_epochs=None, workers_count=4, shuffling_queue_capacity=0,
                              data_loader_fn=None, **petastorm_reader_kwargs):
        """A context manager yielding a PyTorch loader of dicts of ``batch_size``-row tensors; leaving it
        stops the reader. As upstream, string and decimal columns are a ``TypeError`` (select the
        others with ``schema_fields``).

        :param batch_size: rows per batch
        :param num_epochs: passes over the data (``None``: forever)
        :param workers_count: native decode threads of the reader (``None``: 4)
        :param shuffling_queue_capacity: rows in the loader's shuffling buffer (0: no shuffling)
        :param data_loader_fn: called as ``data_loader_fn(reader=, batch_size=, shuffling_queue_capacity=)``;
            default :class:`petastorm.pytorch.BatchedDataLoader` (columnar: whole decoded columns become
            tensors); :class:`petastorm.pytorch.DataLoader` is upstream's default
        :param petastorm_reader_kwargs: other :func:`petastorm.make_batch_reader` arguments
        """
        kwargs = self._reader_kwargs(petastorm_reader_kwargs, num_epochs, workers_count)
        return TorchDatasetContextManager(self.file_urls, batch_size=batch_size, petastorm_reader_kwargs=kwargs,
                                          shuffling_queue_capacity=shuffling_queue_capacity,
                                          data_loader_fn=data_loader_fn)

    def delete(self):
        """Deletes this converter's cache directory (and nothing else), through the Hadoop FileSystem
        when a SparkContext is active. A converter of an existing directory (``make_spark_converter(path)``)
        deletes nothing. ``ValueError`` when the URL is not a converter directory under the parent."""
        if not self._owned:
            logger.warning('Not deleting %s: make_spark_converter did not write it.', self.cache_dir_url)
            return
        expected = self._parent_cache_dir_url
        if expected is None:
            try:
                expected = _get_parent_cache_dir_url(_get_spark_session())
            except Exception:
                expected = None
        _native.converter_check_delete(self.cache_dir_url, expected)
        _forget(self.cache_dir_url)
        (_delete_dir_handler or delete_dir)(self.cache_dir_url)


class _ReaderContextManager(object):
    """Opens a ``make_batch_reader`` over the converter's files on enter and hands it to
    :meth:`_wrap`; stops the reader on exit (also when wrapping it fails)."""

    def __init__(self, parquet_file_url_list, petastorm_reader_kwargs):
        self.parquet_file_url_list = parquet_file_url_list
        self.petastorm_reader_kwargs = petastorm_reader_kwargs
        self.reader = None

    def _wrap(self, reader):
        raise NotImplementedError

    def __enter__(self):
        from petastorm import make_batch_reader
        self.reader = make_batch_reader(self.parquet_file_url_list, **self.petastorm_reader_kwargs)
        try:
            return self._wrap(self.reader)
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def __exit__(self, exc_type, exc_value, exc_traceback):
        if self.reader is not None:
            self.reader.stop()
            self.reader.join()


class TFDatasetContextManager(_ReaderContextManager):
    """A ``tf.data.Dataset`` of batches over the converter's reader."""

    def __init__(self, parquet_file_url_list, batch_size, prefetch, petastorm_reader_kwargs,
                 shuffling_queue_capacity):
        super().__init__(parquet_file_url_list, petastorm_reader_kwargs)
        self.batch_size = batch_size
        self.prefetch = prefetch
        self.shuffling_queue_capacity = shuffling_queue_capacity

    def _wrap(self, reader):
        import tensorflow as tf
        from petastorm.tf_utils import make_petastorm_dataset
        dataset = make_petastorm_dataset(reader).unbatch()  # rows, as upstream's flat_map
        if self.shuffling_queue_capacity:
            dataset = dataset.shuffle(self.shuffling_queue_capacity)
        dataset = dataset.batch(self.batch_size or 32)
        return dataset.prefetch(tf.data.AUTOTUNE if self.prefetch is None else self.prefetch)


class TorchDatasetContextManager(_ReaderContextManager):
    """A PyTorch data loader (``BatchedDataLoader`` unless ``data_loader_fn``) over the converter's reader."""

    def __init__(self, parquet_file_url_list, batch_size, petastorm_reader_kwargs, shuffling_queue_capacity,
                 data_loader_fn):
        super().__init__(parquet_file_url_list, petastorm_reader_kwargs)
        self.batch_size = batch_size
        self.shuffling_queue_capacity = shuffling_queue_capacity
        self.data_loader_fn = data_loader_fn
        self.loader = None

    def _wrap(self, reader):
        data_loader_fn = self.data_loader_fn
        if data_loader_fn is None:
            from petastorm.pytorch import BatchedDataLoader
            data_loader_fn = BatchedDataLoader
        self.loader = data_loader_fn(reader=reader, batch_size=self.batch_size,
                                     shuffling_queue_capacity=self.shuffling_queue_capacity)
        return self.loader


# --- Horovod / MPI ranks --------------------------------------------------------------------------

def _get_horovod_rank_and_size():
    """``(rank, size)`` from ``HOROVOD_*``, ``OMPI_COMM_WORLD_*`` or ``PMI_*``; ``(None, None)`` without."""
    for rank_var, size_var in (('HOROVOD_RANK', 'HOROVOD_SIZE'), ('OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE'),
                               ('PMI_RANK', 'PMI_SIZE')):
        rank, size = os.environ.get(rank_var), os.environ.get(size_var)
        if rank is not None and size is not None:
            return int(rank), int(size)
        if rank is not None or size is not None:
            return None, None
    return None, None


def _check_rank_and_size_consistent_with_horovod(petastorm_reader_kwargs):
    """``False`` (and a logged warning) when ``cur_shard``/``shard_count`` differ from the rank and size
    in the environment; ``True`` when they agree or there is no such environment."""
    rank, size = _get_horovod_rank_and_size()
    if rank is None:
        return True
    cur_shard, shard_count = petastorm_reader_kwargs.get('cur_shard'), petastorm_reader_kwargs.get('shard_count')
    if cur_shard != rank or shard_count != size:
        logger.warning('The petastorm reader arguments cur_shard(%s) and shard_count(%s) are not consistent with '
                       'the horovod environment: rank %s, size %s. If you want each horovod worker to train on '
                       'its own shard of the data, set cur_shard to hvd.rank() and shard_count to hvd.size().',
                       cur_shard, shard_count, rank, size)
        return False
    return True


# --- Spark side -----------------------------------------------------------------------------------

def _get_spark_session():
    """The driver's SparkSession (never from inside a Spark task)."""
    import pyspark
    from pyspark.sql import SparkSession
    if pyspark.TaskContext.get() is not None:
        raise RuntimeError('make_spark_converter can only be called on the Spark driver.')
    return SparkSession.builder.getOrCreate()


def _get_parent_cache_dir_url(spark):
    url = spark.conf.get(SparkDatasetConverter.PARENT_CACHE_DIR_URL_CONF, None)
    if not url:
        raise ValueError('Please set the spark config {}.'.format(SparkDatasetConverter.PARENT_CACHE_DIR_URL_CONF))
    if not urlparse(url).scheme:
        raise ValueError('ERROR! A scheme-less directory url ({}) is no longer supported. Please prepend "file://" '
                         'for local filesystem.'.format(url))
    return normalize_dir_url(url)


def _persistent_enabled(spark):
    return str(spark.conf.get(SparkDatasetConverter.PERSISTENT_CACHE_CONF, 'false')).strip().lower() == 'true'


def _gen_cache_dir_name(spark):
    """``{%Y%m%d%H%M%S}-appid-{applicationId}-{uuid4}``: names the application that wrote it (native rule)."""
    return _native.converter_dir_name(spark.sparkContext.applicationId)


def _check_options(parquet_row_group_size_bytes, compression_codec, dtype):
    if isinstance(parquet_row_group_size_bytes, bool) or not isinstance(parquet_row_group_size_bytes, int) \
            or parquet_row_group_size_bytes <= 0:
        raise ValueError('parquet_row_group_size_bytes must be a positive int, got {!r}'.format(
            parquet_row_group_size_bytes))
    codec = (compression_codec or 'uncompressed').lower()
    if codec not in _COMPRESSION_CODECS:
        raise ValueError('compression_codec should be None or one of {}, got {!r}'.format(
            ', '.join(_COMPRESSION_CODECS), compression_codec))
    if dtype not in _DTYPES:
        raise ValueError("dtype {!r} is not supported. Use None, 'float32' or 'float64'".format(dtype))
    return codec


def _prepare(df, dtype):
    """``df`` with vector columns as arrays and floating point columns (and arrays of them) as
    ``dtype``; the column order and names are kept."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType, DoubleType, FloatType
    source, target = {'float32': (DoubleType, FloatType), 'float64': (FloatType, DoubleType)}.get(dtype, (None, None))
    columns, changed = [], False
    for field in df.schema.fields:
        column, data_type = F.col('`{}`'.format(field.name.replace('`', '``'))), field.dataType
        if type(data_type).__name__ == 'VectorUDT':
            from pyspark.ml.functions import vector_to_array
            column, changed = vector_to_array(column, dtype or 'float64'), True
        elif source is not None and isinstance(data_type, source):
            column, changed = column.cast(target()), True
        elif source is not None and isinstance(data_type, ArrayType) and isinstance(data_type.elementType, source):
            column, changed = column.cast(ArrayType(target(), data_type.containsNull)), True
        columns.append(column.alias(field.name))
    if changed:
        logger.info('Converting vector and floating-point columns (dtype=%s)', dtype)
    return df.select(columns) if changed else df


def _materialize(spark, fs, df, parent, row_group_size, codec, dtype, persistent_key):
    """Writes the DataFrame under ``parent``; the marker (persistent cache) after the write committed."""
    from pyspark.sql import Observation
    from pyspark.sql import functions as F
    url = parent + '/' + _gen_cache_dir_name(spark)
    observation = Observation()
    try:
        (_prepare(df, dtype).observe(observation, F.count(F.lit(1)).alias('rows')).write
         .option('compression', codec).option('parquet.block.size', row_group_size).parquet(url))
        rows = int(observation.get['rows'])
        files = fs.list_parquet_files(url)
        if persistent_key is not None:
            fs.write_atomically(url + '/' + _persistent.marker_name(),
                                _persistent.marker_bytes(persistent_key, rows, files))
    except BaseException:
        try:
            fs.delete(url)
        except Exception as e:  # the marker is missing anyway: never reused
            logger.warning('Could not remove the incomplete converter cache %s: %r', url, e)
        raise
    logger.info('Materialized the DataFrame to %s (%d rows).', url, rows)
    if persistent_key is None:
        _delete_at_exit(url)
    return _new_converter(url, files, rows, parent, persistent_key is not None)


def _new_converter(url, files, rows, parent, persistent):
    _check_file_median_size(url, files)
    return SparkDatasetConverter(url, [url + '/' + rel for rel, _ in files], rows, parent_cache_dir_url=parent,
                                 owned=True, persistent=persistent)


def _check_file_median_size(url, files):
    if len(files) > 1:
        sizes = sorted(length for _, length in files)
        median = sizes[len(sizes) // 2]
        if median < _RECOMMENDED_FILE_SIZE_BYTES:
            logger.warning('The median size %d B (< 50 MB) of the parquet files is too small. Total size: %d B. '
                           'Increase the median file size by calling df.repartition(n) or df.coalesce(n), which '
                           'might help improve the performance. Parquet files: %s/%s, ...',
                           median, sum(sizes), url, files[0][0])


def _find_persistent(fs, parent, key):
    """The newest complete cache directory for ``key`` under ``parent`` (a converter), or ``None``."""
    markers = fs.glob(parent + '/*/' + _persistent.marker_name())
    names = sorted({m.rstrip('/').rsplit('/', 2)[-2] for m in markers}, reverse=True)
    for name in names:
        if not _native.is_converter_dir_name(name):
            continue
        url = parent + '/' + name
        found = _persistent.check_marker(fs, url, key)
        if found is not None:
            logger.info('Reusing the persistent converter cache %s.', url)
            return _new_converter(url, found[1], found[0], parent, True)
    return None


def _converter_of_existing(spark, url):
    """A converter over an existing Parquet directory: never cached, never deleted."""
    url = existing_dir_url(url)
    fs = HadoopFs.of(spark)
    files = fs.list_parquet_files(url)
    if not files:
        raise ValueError('No Parquet files found under {}'.format(url))
    file_urls = [url + '/' + rel for rel, _ in files]
    rows = sum(fs.parquet_row_count(u) for u in file_urls)
    return SparkDatasetConverter(url, file_urls, rows, parent_cache_dir_url=None, owned=False)


# --- in-process cache and exit-time deletion ------------------------------------------------------

_delete_dir_handler = None


def register_delete_dir_handler(handler):
    """Upstream's hook: ``handler(url)`` deletes cache directories instead of the default (the Hadoop
    FileSystem of the active SparkContext, else the local file system or ``pyarrow.fs``); ``None``
    restores the default. The converter still refuses URLs that are not its own directories."""
    global _delete_dir_handler
    _delete_dir_handler = handler


_cache = {}  # (semanticHash, parent, row group size, codec, dtype) -> [(analyzed plan, converter)]
_cache_lock = threading.RLock()
_exit_dirs = set()
_exit_registered = False


def _delete_at_exit(url):
    global _exit_registered
    with _cache_lock:
        _exit_dirs.add(url)
        if not _exit_registered:
            atexit.register(_delete_leftovers)
            _exit_registered = True


def _delete_leftovers():
    """Removes the cache directories of converters never deleted (at interpreter exit)."""
    with _cache_lock:
        urls, _ = sorted(_exit_dirs), _exit_dirs.clear()
    for url in urls:
        try:
            (_delete_dir_handler or delete_dir)(url)
        except Exception as e:
            logger.warning('Delete cache data %s failed due to %r', url, e)


def _forget(url):
    with _cache_lock:
        _exit_dirs.discard(url)
        for key in list(_cache):
            _cache[key] = [(plan, c) for plan, c in _cache[key] if c.cache_dir_url != url]
            if not _cache[key]:
                del _cache[key]


def make_spark_converter(df, parquet_row_group_size_bytes=DEFAULT_ROW_GROUP_SIZE_BYTES, compression_codec=None,
                         dtype='float32'):
    """Materializes a DataFrame as Parquet under ``petastorm.spark.converter.parentCacheDirUrl`` in a new
    directory ``{%Y%m%d%H%M%S}-appid-{appId}-{uuid}`` and returns a :class:`SparkDatasetConverter`.

    Converting the same analyzed plan again with the same options returns the same converter without
    writing. With ``petastorm.spark.converter.persistentCache=true``, a directory written by an earlier
    session (Python or Scala) for the same plan, input files and options is reused, and new ones are
    kept at exit (see :mod:`petastorm.spark._persistent`); otherwise directories of converters never
    deleted are removed at interpreter exit.

    :param df: a ``pyspark.sql.DataFrame``, or the URL (or path) of an existing Parquet directory, read
        as it is (no copy, never deleted)
    :param parquet_row_group_size_bytes: Parquet row-group size of the written files
    :param compression_codec: ``None`` (uncompressed) or one of 'uncompressed', 'snappy', 'gzip', 'lz4',
        'lz4_raw', 'zstd', 'brotli'
    :param dtype: 'float32' (double columns become float), 'float64' (float columns become double) or
        ``None`` (unchanged); vectors become arrays of this type (float64 for ``None``)
    :return: a :class:`SparkDatasetConverter`
    """
    spark = _get_spark_session()
    parent = _get_parent_cache_dir_url(spark)
    if isinstance(df, (str, os.PathLike)):
        return _converter_of_existing(spark, os.fspath(df))
    if not hasattr(df, '_jdf'):
        raise TypeError('make_spark_converter needs a pyspark.sql.DataFrame of a classic (non Spark Connect) '
                        'session, or the URL of a Parquet directory; got {!r}'.format(type(df)))
    codec = _check_options(parquet_row_group_size_bytes, compression_codec, dtype)
    fs = HadoopFs.of(spark)
    with _cache_lock:
        plan = df._jdf.queryExecution().analyzed()
        key = (int(plan.semanticHash()), parent, parquet_row_group_size_bytes, codec, dtype)
        for cached_plan, converter in _cache.get(key, ()):
            if cached_plan.sameResult(plan):
                if fs.exists(converter.cache_dir_url):
                    return converter
                _forget(converter.cache_dir_url)  # deleted elsewhere (a pickled copy): write again
                break
        persistent_key = None
        converter = None
        if _persistent_enabled(spark):
            persistent_key = _persistent.persistent_key(spark, df, fs, parquet_row_group_size_bytes, codec, dtype)
            if persistent_key is not None:
                converter = _find_persistent(fs, parent, persistent_key)
        if converter is None:
            converter = _materialize(spark, fs, df, parent, parquet_row_group_size_bytes, codec, dtype,
                                     persistent_key)
        _cache.setdefault(key, []).append((plan, converter))
        return converter


__all__ = ['SparkDatasetConverter', 'make_spark_converter', 'DEFAULT_ROW_GROUP_SIZE_BYTES']
