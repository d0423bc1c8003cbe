"""``make_reader`` / ``make_batch_reader`` and the :class:`Reader` they return (upstream's API).

Planning, fetching, decoding, sharding, shuffling and native predicates run in the Rust reader
(``pst_reader_*``, see ``docs/ffi.md``) on its own threads, without the GIL. This module turns its
Arrow record batches into NumPy values once per batch (``petastorm._convert``), applies what only
Python can (``in_lambda`` predicates, ``TransformSpec.func``; in parallel, see ``petastorm._workers``)
and hands out namedtuples.
Importing it does not import pyspark, torch, tensorflow or pandas.
"""
import collections.abc
import decimal
import itertools
import os
import warnings
import weakref

import numpy as np

from petastorm import _arrow, _convert, _native, _storage, _workers
from petastorm._ignored import warn_ignored
from petastorm.ngram import NGram
from petastorm.predicates import PredicateBase
from petastorm.selectors import RowGroupSelectorBase
from petastorm.transform import transform_schema
from petastorm.unischema import Unischema

NULL_CACHE = 'null'
LOCAL_DISK_CACHE = 'local-disk'

_STOPPED_MESSAGE = ('Trying to read a sample after a reader created by make_reader/make_batch_reader has stopped. '
                    'This may happen if the make_reader/make_batch_reader context manager has exited but you try to '
                    'fetch a sample from it anyway')

_COMMON_PARAMS_DOC = """
    :param schema_fields: ``None`` (all fields), or a list of :class:`~petastorm.unischema.UnischemaField`
        and/or regular expressions matching whole field names (Python ``re`` syntax, look-arounds included; the named
        fields come first, then the matching ones in schema order), or (``make_reader`` only) an
        :class:`~petastorm.ngram.NGram`: the reader then yields ``{offset: namedtuple}`` windows.
    :param reader_pool_type: ``'thread'``, ``'process'`` or ``'dummy'``. Decoding always runs in the native
        library's threads, off the GIL. Python predicates (``in_lambda``) and ``TransformSpec.func`` run ahead
        of the consumer, in order: on ``workers_count`` Python threads (``'thread'``), in ``workers_count``
        worker processes (``'process'``, for GIL-bound Python; the func and predicate must be picklable), or
        serially on the consumer thread with a single native decode thread (``'dummy'``).
    :param workers_count: size of the native decode pool, and of the transform pool.
    :param results_queue_size: decoded batches held ahead of the consumer at most (bounds memory).
    :param results_queue_bytes: no more row groups start decoding while the decoded batches waiting for the
        consumer take this many bytes (default 32 MiB; one batch is always allowed, however large).
    :param seed: seed for row-group/row shuffling and sharding (same seed, same order).
    :param shuffle_rows: shuffle rows within each row group.
    :param shuffle_row_groups: shuffle the order of row groups (per epoch).
    :param shuffle_row_drop_partitions: split each row group into this many parts read separately.
    :param predicate: a :class:`~petastorm.predicates.PredicateBase`; native predicates run in the reader,
        others (``in_lambda``) in Python on the decoded values of their fields, which are read even when
        not in ``schema_fields`` (and not returned).
    :param rowgroup_selector: a :class:`~petastorm.selectors.RowGroupSelectorBase`: only the row groups it
        selects from the indexes stored by :func:`~petastorm.etl.rowgroup_indexing.build_rowgroup_index` are read
        (before sharding; a dataset directory URL is needed, its ``_common_metadata`` holds the indexes).
    :param num_epochs: passes over the data; ``None`` reads forever.
    :param cur_shard: this reader's shard in ``[0, shard_count)``; both or neither must be given.
    :param shard_count: number of shards (row groups are split between them).
    :param shard_seed: deprecated; seed of the row-group shuffle done before sharding.
    :param cache_type: ``'null'``/``None`` (no cache) or ``'local-disk'``: each data file read is fetched once,
        whole, into ``cache_location`` and served from there (later epochs and readers make no source requests;
        processes may share the directory). ``Reader.diagnostics`` counts ``cache_hits``/``cache_misses``.
    :param cache_location: the local cache directory (required by ``'local-disk'``).
    :param cache_size_limit: bytes the cache may hold; least recently used files are evicted past it
        (``None``: no limit).
    :param cache_row_size_estimate, cache_extra_settings: accepted with ``'local-disk'`` for compatibility, unused
        by a cache of whole files (warn once when given without a cache).
    :param hdfs_driver: accepted for compatibility; object stores are reached natively (warns once when set).
    :param transform_spec: a :class:`~petastorm.transform.TransformSpec`.
    :param filters: PyArrow DNF filters (``[('col', '=', 1)]`` or ``[[...], [...]]``), applied natively.
    :param storage_options: dict of store options (credentials, endpoints, timeouts): object_store names
        (``aws_access_key_id``, ``google_service_account``, ``azure_storage_account_name``, ...) or fsspec's
        (``key``, ``secret``, ``token``, ``client_kwargs={'endpoint_url': ...}``, ``anon``, ...); Hadoop keys
        for ``hdfs://``. See the README's storage section.
    :param skip_unreadable_row_groups: ``False`` (default): a data file listed in ``_common_metadata`` but
        missing is an ``OSError`` naming it when the reader opens, and a row group that cannot be read
        (unreadable footer, I/O error, corrupt page) raises when reached. ``True``: each is skipped instead,
        logged as a warning and counted in :attr:`Reader.diagnostics` (``skipped_row_groups``,
        ``skipped_files``).
    :param decode_memory_limit: bytes the NPY, NPZ and image columns of one batch (row group) may decode
        to, 2 GiB by default; a batch whose cell headers announce more raises ``DecodeFieldError`` naming
        the field, file, row group and sizes before any of its cells is decoded.
    :param zmq_copy_buffers: accepted for compatibility; no effect (warns once when ``False``).
    :param filesystem: a ``pyarrow.fs.FileSystem`` or an fsspec file system for stores the native layer does
        not reach: the dataset's files are copied through it into a temporary local directory first (slower,
        needs local disk; removed on ``stop``). Prefer URLs with ``storage_options``.
    :return: a :class:`Reader`
"""


def make_reader(dataset_url, schema_fields=None, reader_pool_type='thread', workers_count=10, pyarrow_serialize=False,
                results_queue_size=50, seed=None, shuffle_rows=False, shuffle_row_groups=True,
                shuffle_row_drop_partitions=1, predicate=None, rowgroup_selector=None, num_epochs=1, cur_shard=None,
                shard_count=None, shard_seed=None, cache_type=NULL_CACHE, cache_location=None, cache_size_limit=None,
                cache_row_size_estimate=None, cache_extra_settings=None, hdfs_driver='libhdfs3', transform_spec=None,
                filters=None, storage_options=None, zmq_copy_buffers=True, filesystem=None,
                skip_unreadable_row_groups=False, decode_memory_limit=2 << 30, results_queue_bytes=32 << 20):
    """A :class:`Reader` of a Petastorm dataset that yields one namedtuple per row, its values decoded:
    NumPy arrays for tensors, NumPy scalars, ``str``, ``decimal.Decimal``, ``None`` for nulls.

    :param dataset_url: a dataset URL (``file:///...``, ``s3://...``, ``gs://...``, ...; a local path is
        accepted) or a list of URLs of Parquet files.
    :param pyarrow_serialize: accepted for compatibility; no effect (warns once when ``True``).
    """ + _COMMON_PARAMS_DOC
    warn_ignored('make_reader', _IGNORED_REASON, pyarrow_serialize=(pyarrow_serialize, False),
                 **_ignored_common(hdfs_driver, zmq_copy_buffers, cache_type, cache_location, cache_size_limit,
                                   cache_row_size_estimate, cache_extra_settings))
    return Reader(dataset_url, batched=False, schema_fields=schema_fields, reader_pool_type=reader_pool_type,
                  workers_count=workers_count, results_queue_size=results_queue_size,
                  results_queue_bytes=results_queue_bytes, seed=seed,
                  shuffle_rows=shuffle_rows, shuffle_row_groups=shuffle_row_groups,
                  shuffle_row_drop_partitions=shuffle_row_drop_partitions, predicate=predicate,
                  rowgroup_selector=rowgroup_selector, num_epochs=num_epochs, cur_shard=cur_shard,
                  shard_count=shard_count, shard_seed=shard_seed, cache_type=cache_type,
                  cache_location=cache_location, cache_size_limit=cache_size_limit, transform_spec=transform_spec,
                  filters=filters, storage_options=storage_options, filesystem=filesystem,
                  skip_unreadable_row_groups=skip_unreadable_row_groups, decode_memory_limit=decode_memory_limit)


def make_batch_reader(dataset_url_or_urls, schema_fields=None, reader_pool_type='thread', workers_count=10,
                      results_queue_size=50, seed=None, shuffle_rows=False, shuffle_row_groups=True,
                      shuffle_row_drop_partitions=1, predicate=None, rowgroup_selector=None, num_epochs=1,
                      cur_shard=None, shard_count=None, shard_seed=None, cache_type=NULL_CACHE, cache_location=None,
                      cache_size_limit=None, cache_row_size_estimate=None, cache_extra_settings=None,
                      hdfs_driver='libhdfs3', transform_spec=None, filters=None, storage_options=None,
                      zmq_copy_buffers=True, filesystem=None, convert_early_to_numpy=False,
                      skip_unreadable_row_groups=False, decode_memory_limit=2 << 30,
                      results_queue_bytes=32 << 20):
    """A :class:`Reader` of any Parquet store (or Petastorm dataset) that yields one namedtuple of
    column arrays per decoded batch (a row group or part of one): NumPy arrays, ``(rows, *shape)``
    for tensors and equal-length lists, object arrays where values are ragged, nullable or objects.
    A python predicate gets a pandas DataFrame of its fields and returns a boolean mask; a
    ``TransformSpec.func`` gets and returns a pandas DataFrame.

    :param dataset_url_or_urls: a dataset URL or a list of URLs of Parquet files.
    :param convert_early_to_numpy: upstream converts Arrow batches to NumPy in its workers when ``True``;
        here batches are always decoded in the native threads and handed to NumPy zero-copy, so both
        values give the same output at the same cost.
    """ + _COMMON_PARAMS_DOC
    warn_ignored('make_batch_reader', _IGNORED_REASON,
                 **_ignored_common(hdfs_driver, zmq_copy_buffers, cache_type, cache_location, cache_size_limit,
                                   cache_row_size_estimate, cache_extra_settings))
    return Reader(dataset_url_or_urls, batched=True, schema_fields=schema_fields, reader_pool_type=reader_pool_type,
                  workers_count=workers_count, results_queue_size=results_queue_size,
                  results_queue_bytes=results_queue_bytes, seed=seed,
                  shuffle_rows=shuffle_rows, shuffle_row_groups=shuffle_row_groups,
                  shuffle_row_drop_partitions=shuffle_row_drop_partitions, predicate=predicate,
                  rowgroup_selector=rowgroup_selector, num_epochs=num_epochs, cur_shard=cur_shard,
                  shard_count=shard_count, shard_seed=shard_seed, cache_type=cache_type,
                  cache_location=cache_location, cache_size_limit=cache_size_limit, transform_spec=transform_spec,
                  filters=filters, storage_options=storage_options, filesystem=filesystem,
                  skip_unreadable_row_groups=skip_unreadable_row_groups, decode_memory_limit=decode_memory_limit)


# --- arguments -----------------------------------------------------------------------------------

_IGNORED_REASON = 'object stores are reached natively, without HDFS drivers, ZeroMQ or pyarrow serialization, ' \
                  "and cache settings only apply to cache_type='local-disk'"


def _ignored_common(hdfs_driver, zmq_copy_buffers, cache_type, cache_location, cache_size_limit,
                    cache_row_size_estimate, cache_extra_settings):
    ignored = dict(hdfs_driver=(hdfs_driver, 'libhdfs3'), zmq_copy_buffers=(zmq_copy_buffers, True))
    if cache_type != LOCAL_DISK_CACHE:
        ignored.update(cache_location=(cache_location, None), cache_size_limit=(cache_size_limit, None),
                       cache_row_size_estimate=(cache_row_size_estimate, None),
                       cache_extra_settings=(cache_extra_settings, None))
    return ignored

def _url_strings(dataset_url_or_urls):
    """URLs as the native reader takes them (``os.PathLike`` objects as strings); the native reader
    checks and normalizes them."""
    if isinstance(dataset_url_or_urls, (list, tuple)):
        return [os.fspath(u) if isinstance(u, os.PathLike) else u for u in dataset_url_or_urls]
    return os.fspath(dataset_url_or_urls) if isinstance(dataset_url_or_urls, os.PathLike) else dataset_url_or_urls


def _field_selection(schema_fields):
    """``(names, regexes)`` of ``schema_fields``: the names of its ``UnischemaField`` objects and its
    strings (regular expressions); the native reader builds the view from them (upstream's rules)."""
    if schema_fields is None:
        return [], None
    if isinstance(schema_fields, str):
        schema_fields = [schema_fields]
    if not isinstance(schema_fields, collections.abc.Iterable):
        raise ValueError('schema_fields must be None or an iterable of UnischemaField and/or regex strings, '
                         'got {!r}'.format(schema_fields))
    schema_fields = list(schema_fields)
    patterns = [f for f in schema_fields if isinstance(f, str)]
    names = [f.name for f in schema_fields if isinstance(f, tuple)]
    if len(patterns) + len(names) != len(schema_fields):
        raise ValueError('Elements of "fields" must be either a string (regular expressions) or '
                         'an instance of UnischemaField class.')
    return names, patterns


def _check_ngram(ngram, batched, shuffle_row_drop_partitions):
    if batched:
        raise NotImplementedError('ngrams are not supported by ArrowReaderWorker')
    if not ngram.timestamp_overlap and shuffle_row_drop_partitions > 1:
        raise NotImplementedError('Using timestamp_overlap=False is not implemented with'
                                  ' shuffle_options.shuffle_row_drop_partitions > 1')


def _json_filter_value(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, np.ndarray):
        return [_json_filter_value(v) for v in value.tolist()]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_json_filter_value(v) for v in value]
    return value


def _filters_json(filters):
    """PyArrow DNF filters as JSON: a list of conjunctions, each a list of ``[col, op, value]``."""
    if filters is None:
        return None
    filters = list(filters)
    if not filters:
        return None
    disjunction = [filters] if isinstance(filters[0], tuple) or (
        isinstance(filters[0], list) and filters[0] and isinstance(filters[0][0], str)) else filters
    out = []
    for conjunction in disjunction:
        terms = []
        for term in conjunction:
            if len(term) != 3:
                raise ValueError('filters: expected (column, op, value), got {!r}'.format(term))
            column, op, value = term
            terms.append([str(column), str(op), _json_filter_value(value)])
        out.append(terms)
    return out


def _u64(seed):
    return None if seed is None else int(seed) & 0xFFFFFFFFFFFFFFFF


# --- the reader ----------------------------------------------------------------------------------

class Reader(object):
    """Iterates over a dataset: namedtuples of rows (``make_reader``) or of column batches
    (``make_batch_reader``). Use as a context manager, or call :meth:`stop` and :meth:`join`.

    :ivar schema: the :class:`~petastorm.unischema.Unischema` of what is yielded (after ``transform_spec``)
    :ivar is_batched_reader: ``True`` for ``make_batch_reader``
    :ivar last_row_consumed: ``True`` once iteration reached the end of the last epoch
    """

    def __init__(self, dataset_url_or_urls, batched, schema_fields=None, reader_pool_type='thread', workers_count=10,
                 results_queue_size=50, seed=None, shuffle_rows=False, shuffle_row_groups=True,
                 shuffle_row_drop_partitions=1, predicate=None, rowgroup_selector=None, num_epochs=1,
                 cur_shard=None, shard_count=None, shard_seed=None, cache_type=NULL_CACHE, transform_spec=None,
                 filters=None, storage_options=None, filesystem=None, skip_unreadable_row_groups=False,
                 decode_memory_limit=2 << 30, cache_location=None, cache_size_limit=None, row_groups=None,
                 results_queue_bytes=32 << 20):
        self._handle = None
        self._workers = None
        self._release = None
        self._mirror = None
        self._stopped = False
        self._rows = iter(())
        self.last_row_consumed = False
        self.is_batched_reader = bool(batched)
        self.ngram = None
        self.num_epochs = num_epochs
        if isinstance(schema_fields, NGram):
            _check_ngram(schema_fields, batched, shuffle_row_drop_partitions)
            self.ngram = schema_fields
        if rowgroup_selector is not None and not isinstance(rowgroup_selector, RowGroupSelectorBase):
            raise ValueError('rowgroup_selector parameter is expected to be derived from RowGroupSelectorBase')
        if cache_type == LOCAL_DISK_CACHE and cache_location is not None:
            cache_location = os.fspath(cache_location)
        self._cache_location = cache_location if cache_type == LOCAL_DISK_CACHE else None
        if shard_seed is not None:
            warnings.warn('shard_seed was deprecated and will be removed in future versions. '
                          'Use seed to apply randomization effects on sharding row groups.')
        if predicate is not None and not isinstance(predicate, PredicateBase):
            raise ValueError('predicate parameter is expected to be derived from PredicateBase')
        field_names, field_patterns = _field_selection(None if self.ngram is not None else schema_fields)

        urls = _url_strings(dataset_url_or_urls)
        self.dataset_url = urls
        if filesystem is not None:
            self._mirror = _storage.Mirror(filesystem, urls if isinstance(urls, list) else [urls])
            urls = self._mirror.urls if isinstance(urls, list) else self._mirror.urls[0]
        storage_options = _storage.flatten_options(storage_options)

        native_predicate = predicate._to_native() if predicate is not None else None
        self._py_predicate = predicate if (predicate is not None and native_predicate is None) else None
        ngram_view = None
        if self.ngram is not None:
            if self._py_predicate is not None:
                raise NotImplementedError('NGram readers take native predicates only (in_set, in_intersection, '
                                          'in_negate, in_reduce, in_pseudorandom_split), not in_lambda')
            # an NGram resolves its regular expressions against the dataset's schema (asked for first)
            stored_schema = Unischema.from_json(_native.dataset_schema(urls[0] if isinstance(urls, list) else urls,
                                                                       storage_options))
            ngram_view = Unischema('{}_view'.format(stored_schema._name), self.ngram._read_fields(stored_schema))
            timestamp = self.ngram._native_options()['timestamp_field']
            field_names = list(ngram_view.fields) + ([] if timestamp in ngram_view.fields else [timestamp])
            field_patterns = None
        if rowgroup_selector is not None:
            row_groups = _selected_row_groups(rowgroup_selector, urls, storage_options)
        options = {
            'dataset_url': urls,
            'schema_fields': field_patterns,
            'schema_field_names': field_names,
            'predicate_fields': list(predicate.get_fields()) if self._py_predicate is not None else None,
            'batch_mode': self.is_batched_reader,
            # rows handed to a TransformSpec.func get upstream's channel-planar RGB images (per-channel NumPy
            # work runs on whole planes there); other readers keep contiguous (H, W, 3) rows
            'planar_images': not self.is_batched_reader and getattr(transform_spec, 'func', None) is not None,
            'shuffle_row_groups': bool(shuffle_row_groups),
            'shuffle_rows': bool(shuffle_rows),
            'seed': _u64(seed),
            'shard_seed': _u64(shard_seed),
            'num_epochs': num_epochs,
            'cur_shard': cur_shard,
            'shard_count': shard_count,
            'shuffle_row_drop_partitions': shuffle_row_drop_partitions,
            'reader_pool_type': reader_pool_type,
            'workers_count': workers_count,
            'results_queue_size': results_queue_size,
            'results_queue_bytes': results_queue_bytes,
            'predicate': native_predicate,
            'filters': _filters_json(filters),
            'row_groups': row_groups,
            'storage_options': storage_options,
            'skip_unreadable_row_groups': bool(skip_unreadable_row_groups),
            'decode_memory_limit': decode_memory_limit,
            'cache_type': cache_type or NULL_CACHE,
            'cache_location': cache_location,
            'cache_size_limit': cache_size_limit,
            'ngram': self.ngram._native_options() if self.ngram is not None else None,
        }
        self._handle = _native.ReaderHandle(options)
        view = ngram_view if ngram_view is not None else Unischema.from_json(self._handle.schema_json())
        self._read_fields = dict(Unischema.from_json(self._handle.batch_schema_json()).fields)
        self._view_names = list(view.fields)
        self._predicate_fields = [n for n in self._read_fields if n in set(options['predicate_fields'] or ())]
        self._transform_spec = transform_spec
        self.schema = transform_schema(view, transform_spec) if transform_spec is not None else view
        self._row_type = self.schema._get_namedtuple()
        self._make = self._row_type._make
        converter = _convert.BatchConverter(
            dict(self._read_fields), self._view_names,
            list(self.schema.fields), self.is_batched_reader, self._py_predicate, self._predicate_fields,
            transform_spec.func if transform_spec is not None else None)
        self._diagnostics = {'batches_read': 0, 'rows_read': 0, 'rows_filtered_out': 0}
        if self.ngram is not None:  # windows need whole batches in order: converted on the consumer thread
            converter, reader_pool_type = _NGramConverter(converter, self.ngram, self.schema), 'dummy'
        try:
            self._workers = _workers.start(reader_pool_type, int(workers_count), int(results_queue_size),
                                           _counting_source(self._handle, self._diagnostics), converter)
        except BaseException:
            self._handle.close()
            raise
        # the pool's threads hold no reference to the reader, so a dropped reader stops them too
        self._release = weakref.finalize(self, _release, self._handle, self._workers)

    # -- properties --

    @property
    def batched_output(self):
        """``True`` when each item is a batch of rows (``make_batch_reader``)."""
        return self.is_batched_reader

    @property
    def stopped(self):
        return self._stopped

    @property
    def diagnostics(self):
        """Counters of this reader and the native plan (row groups, files, rows)."""
        out = dict(self._diagnostics)
        if self._handle is not None and not self._handle.closed:
            try:
                out.update(self._handle.info())
            except Exception as e:  # diagnostics never raise
                out['info_error'] = str(e)
        out['stopped'] = self._stopped
        return out

    # -- iteration --

    def __iter__(self):
        # Rows come straight from each chunk's row iterator (no Python frame per row); __next__ shares it.
        return itertools.chain.from_iterable(self._row_iterators())

    def _row_iterators(self):
        """The current chunk's row iterator, then each next one (a batch for make_batch_reader)."""
        while True:
            rows = self._rows
            yield rows
            if self._rows is not rows:  # next() or another iterator has moved on to a newer chunk: continue there
                continue
            try:
                first = self._next_slow()
            except StopIteration:
                return
            yield (first,)

    def __next__(self):
        try:
            return next(self._rows)
        except StopIteration:
            pass
        return self._next_slow()

    def next(self):
        return self.__next__()

    def _next_slow(self):
        # an exhausted zip still holds the columns of the last batch: drop them before waiting for the next
        self._rows = iter(())
        while True:
            n, columns = self._next_chunk_columns()
            if self.is_batched_reader:
                return self._make(columns)
            # tuple.__new__(row type, values): the namedtuple without _make's Python frame per row
            self._rows = (map(tuple.__new__, itertools.repeat(self._row_type), zip(*columns)) if self.ngram is None
                          else iter(columns))
            try:
                return next(self._rows)
            except StopIteration:
                continue

    def _next_chunk_columns(self):
        """``(rows, [column per output field])`` of the next non-empty converted chunk (row columns for
        ``make_reader``, NumPy arrays for ``make_batch_reader``); ``StopIteration`` at the end."""
        while True:
            if self._stopped:
                raise RuntimeError(_STOPPED_MESSAGE)
            try:
                chunk = self._workers.next()
            except RuntimeError:
                if self._stopped:  # closed by stop() from another thread
                    raise RuntimeError(_STOPPED_MESSAGE) from None
                raise
            if chunk is None:
                if self._stopped:  # stop() from another thread while this one waited
                    raise RuntimeError(_STOPPED_MESSAGE)
                self.last_row_consumed = True
                raise StopIteration
            n, columns, filtered = chunk
            self._diagnostics['rows_filtered_out'] += filtered
            if n:
                return n, columns

    def _iter_chunks(self):
        """Yields ``(rows, [column per output field])`` for whole batches (used by the framework
        adapters); rows already taken out of the current batch by ``next()`` are not repeated."""
        if self.ngram is not None:
            raise NotImplementedError('an NGram reader yields windows, not column batches: iterate the reader')
        leftover = list(self._rows)
        self._rows = iter(())
        if leftover:
            yield len(leftover), [_arrow.stack_rows(list(c)) for c in zip(*leftover)]
        while True:
            try:
                chunk = self._next_chunk_columns()
            except StopIteration:
                return
            yield chunk

    # -- lifecycle --

    def stop(self):
        """Stops the native pipeline and frees it (prompt; safe while another thread waits in ``next``);
        iterating afterwards raises ``RuntimeError``. Idempotent."""
        self._stopped = True
        self._rows = iter(())
        if self._release is not None:
            self._release()
        if self._mirror is not None:
            self._mirror.close()

    def join(self):
        """Upstream's join: the native pipeline is already gone once :meth:`stop` returned."""
        if self._stopped and self._handle is not None:
            self._handle.close()

    def cleanup_cache(self):
        """Removes the local-disk cache directory and what it holds (nothing without a cache)."""
        if self._cache_location is not None:
            _storage.delete(self._cache_location)

    def reset(self):
        """Restarts reading from the first epoch, once every row was consumed (``NotImplementedError``
        in the middle of iteration, as upstream); no effect after :meth:`stop`."""
        if self._stopped:
            return
        if not self.last_row_consumed:
            raise NotImplementedError('Currently do not support resetting a reader while in the middle of iteration. '
                                      'You can call reset only after all samples were consumed.')
        self._handle.reset()
        self._workers.restart()
        self._rows = iter(())
        self.last_row_consumed = False

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.stop()
        self.join()


class _NGramConverter(object):
    """An NGram reader's converter: the batch's rows converted, then cut into ``{offset: namedtuple}``
    windows at the starts the native reader computed."""

    runs_python = False

    def __init__(self, converter, ngram, schema):
        self._converter, self._ngram, self._schema = converter, ngram, schema

    def __call__(self, batch, index, offset=0):
        n, columns, filtered = self._converter(batch, index, offset)
        if not n:
            return 0, [], filtered
        windows = self._ngram._windows(self._schema, dict(zip(self._converter.out_names, columns)), batch)
        return len(windows), windows, filtered


def _selected_row_groups(selector, url, storage_options):
    """The row groups (piece indices, sorted) that ``selector`` picks from the indexes stored with ``url``."""
    if isinstance(url, list):
        raise ValueError('rowgroup_selector needs a dataset directory URL (its _common_metadata holds the row-group '
                         'indexes), not a list of files')
    from petastorm.etl.rowgroup_indexing import get_row_group_indexes
    indexes = get_row_group_indexes(url, storage_options)
    required = selector.get_index_names()
    if not set(required) <= set(indexes):
        raise ValueError('Some of required indexes {} are not available in {}'.format(required, list(indexes)))
    return sorted(int(piece) for piece in selector.select_row_groups(indexes))


def _counting_source(handle, diagnostics):
    """``source()`` of ``petastorm._workers``: the next decoded batch of ``handle`` (``None`` at the end),
    counted in ``diagnostics``."""
    def source():
        batch = handle.next_batch()
        if batch is not None:
            diagnostics['batches_read'] += 1
            diagnostics['rows_read'] += batch.num_rows
        return batch
    return source


def _release(handle, workers):
    """Stops the native reader (which ends a feeder waiting on it), then the transform pool."""
    handle.close()
    workers.close()


__all__ = ['make_reader', 'make_batch_reader', 'Reader']
