"""``make_reader`` / ``make_batch_reader`` and the :class:`Reader` they return (upstream's API).

Planning, fetching, decoding, sharding, shuffling and native predicates run in the Rust reader
(``pst_reader_*``, see ``docs/ffi.md``) on its own threads, without the GIL. This module turns its
Arrow record batches into NumPy values once per batch (``petastorm._arrow``), applies what only
Python can (``in_lambda`` predicates, ``TransformSpec.func``) and hands out namedtuples.
Importing it does not import pyspark, torch, tensorflow or pandas.
"""
import collections.abc
import decimal
import json
import numbers
import os
import re
import warnings

import numpy as np

from petastorm import _arrow, _native, _storage
from petastorm._ignored import warn_ignored
from petastorm._schema_json import field_from_json
from petastorm.codecs import is_custom
from petastorm.ngram import NGram
from petastorm.predicates import PredicateBase
from petastorm.transform import transform_schema
from petastorm.unischema import Unischema, UnischemaField

NULL_CACHE = 'null'
LOCAL_DISK_CACHE = 'local-disk'
_POOL_TYPES = ('thread', 'process', 'dummy')

_STOPPED_MESSAGE = ('Trying to read a sample after a reader created by make_reader/make_batch_reader has stopped. '
                    'This may happen if the make_reader/make_batch_reader context manager has exited but you try to '
                    'fetch a sample from it anyway')

_COMMON_PARAMS_DOC = """
    :param schema_fields: ``None`` (all fields), or a list of :class:`~petastorm.unischema.UnischemaField`
        and/or regular expressions matching whole field names, or (``make_reader`` only) an
        :class:`~petastorm.ngram.NGram`: the reader then yields ``{offset: namedtuple}`` windows.
    :param reader_pool_type: ``'thread'``, ``'process'`` or ``'dummy'``. Decoding always runs in the native
        library's threads, off the GIL, so ``'process'`` needs no separate processes and behaves like
        ``'thread'``; ``'dummy'`` decodes with a single native thread.
    :param workers_count: size of the native decode pool.
    :param results_queue_size: decoded batches held ahead of the consumer at most (bounds memory).
    :param seed: seed for row-group/row shuffling and sharding (same seed, same order).
    :param shuffle_rows: shuffle rows within each row group.
    :param shuffle_row_groups: shuffle the order of row groups (per epoch).
    :param shuffle_row_drop_partitions: split each row group into this many parts read separately.
    :param predicate: a :class:`~petastorm.predicates.PredicateBase`; native predicates run in the reader,
        others (``in_lambda``) in Python on the decoded values of their fields, which are read even when
        not in ``schema_fields`` (and not returned).
    :param rowgroup_selector: not supported (``NotImplementedError`` when given).
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
                skip_unreadable_row_groups=False, decode_memory_limit=2 << 30):
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
                  workers_count=workers_count, results_queue_size=results_queue_size, seed=seed,
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
                      skip_unreadable_row_groups=False, decode_memory_limit=2 << 30):
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
                  workers_count=workers_count, results_queue_size=results_queue_size, seed=seed,
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

def _normalize_url(url):
    """A dataset URL as given (any form the native storage layer takes: a local path, ``file://``,
    ``s3://``/``s3a://``, ``gs://``, ``az://``/``abfs(s)://``, ``http(s)://``, ``hdfs://``, ``dbfs:/``),
    without trailing ``/``."""
    if isinstance(url, os.PathLike):
        url = os.fspath(url)
    if not isinstance(url, str) or not url:
        raise ValueError('dataset url must be a non-empty string, got {!r}'.format(url))
    return url.rstrip('/') or url


def _normalize_urls(dataset_url_or_urls):
    if isinstance(dataset_url_or_urls, (list, tuple)):
        if not dataset_url_or_urls:
            raise ValueError('dataset url list must be non-empty.')
        return [_normalize_url(u) for u in dataset_url_or_urls]
    return _normalize_url(dataset_url_or_urls)


def _check_options(reader_pool_type, workers_count, cache_type, cache_location, rowgroup_selector, cur_shard,
                   shard_count):
    if reader_pool_type not in _POOL_TYPES:
        raise ValueError('Unknown reader_pool_type: {!r} (use one of {})'.format(reader_pool_type, _POOL_TYPES))
    if isinstance(workers_count, bool) or not isinstance(workers_count, int) or workers_count < 1:
        raise ValueError('workers_count must be a positive int, got {!r}'.format(workers_count))
    if cache_type == LOCAL_DISK_CACHE and not cache_location:
        raise ValueError("cache_type='local-disk' needs a cache_location")
    if cache_type not in (None, NULL_CACHE, LOCAL_DISK_CACHE):
        raise ValueError('Unknown cache_type: {!r}'.format(cache_type))
    if rowgroup_selector is not None:
        raise NotImplementedError('rowgroup_selector is not supported by this petastorm; use predicate or filters')
    if cur_shard is not None or shard_count is not None:
        if not (isinstance(cur_shard, int) and isinstance(shard_count, int)) or shard_count < 1:
            raise ValueError('cur_shard and shard_count must be ints and both specified to use sharding')
        if not 0 <= cur_shard < shard_count:
            raise ValueError('cur_shard must be in [0, shard_count), got {} of {}'.format(cur_shard, shard_count))


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


# --- schemas -------------------------------------------------------------------------------------

_LOOSE_DTYPES = {'date': np.datetime64, 'timestamp': np.datetime64}


def _schema_from_json(text):
    """A Unischema from native JSON; fields with types this package cannot name (dates, structs...)
    are kept with a loose dtype rather than dropped."""
    obj = json.loads(text)
    fields = []
    for f in obj['fields']:
        try:
            fields.append(field_from_json(f))
        except ValueError:
            shape = tuple(None if d is None else int(d) for d in (f.get('shape') or ()))
            fields.append(UnischemaField(f['name'], _LOOSE_DTYPES.get(f.get('dtype'), np.object_), shape, None,
                                         bool(f.get('nullable', False))))
    return Unischema(obj.get('name') or 'inferred_schema', fields)


def _schema_view(schema, schema_fields):
    """Upstream's ``create_schema_view``: ``UnischemaField`` objects first, then the fields (in schema
    order) whose whole name matches one of the regular expressions."""
    if isinstance(schema_fields, str):
        schema_fields = [schema_fields]
    if not isinstance(schema_fields, collections.abc.Iterable):
        raise ValueError('schema_fields must be None or an iterable of UnischemaField and/or regex strings, '
                         'got {!r}'.format(schema_fields))
    schema_fields = list(schema_fields)
    if not schema_fields:
        return schema
    patterns = [f for f in schema_fields if isinstance(f, str)]
    objects = [f for f in schema_fields if isinstance(f, tuple)]
    if len(patterns) + len(objects) != len(schema_fields):
        raise ValueError('Elements of "fields" must be either a string (regular expressions) or '
                         'an instance of UnischemaField class.')
    unknown = [f.name for f in objects if f.name not in schema.fields]
    if unknown:
        raise ValueError('field {} does not belong to the schema {}'.format(unknown, schema))
    chosen = [schema.fields[f.name] for f in objects]
    names = {f.name for f in chosen}
    compiled = [re.compile(p) for p in patterns]
    for name, field in schema.fields.items():
        if name not in names and any(c.fullmatch(name) for c in compiled):
            chosen.append(field)
            names.add(name)
    if not chosen:
        raise ValueError('No fields matching the criteria {!r} were found in the dataset (fields: {})'.format(
            schema_fields, ', '.join(schema.fields)))
    return Unischema('{}_view'.format(schema._name), chosen)


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
                 decode_memory_limit=2 << 30, cache_location=None, cache_size_limit=None):
        self._handle = None
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
        _check_options(reader_pool_type, workers_count, cache_type, cache_location, rowgroup_selector, cur_shard,
                       shard_count)
        self._cache_location = os.fspath(cache_location) if cache_type == LOCAL_DISK_CACHE else None
        if num_epochs is not None:
            if isinstance(num_epochs, bool) or not isinstance(num_epochs, numbers.Integral) or num_epochs < 1:
                raise ValueError('num_epochs must be a positive int or None, got {!r}'.format(num_epochs))
            num_epochs = int(num_epochs)
        if shard_seed is not None:
            warnings.warn('shard_seed was deprecated and will be removed in future versions. '
                          'Use seed to apply randomization effects on sharding row groups.')
        if predicate is not None and not isinstance(predicate, PredicateBase):
            raise ValueError('predicate parameter is expected to be derived from PredicateBase')

        urls = _normalize_urls(dataset_url_or_urls)
        self.dataset_url = urls
        if filesystem is not None:
            self._mirror = _storage.Mirror(filesystem, urls if isinstance(urls, list) else [urls])
            urls = self._mirror.urls if isinstance(urls, list) else self._mirror.urls[0]
        storage_options = _storage.flatten_options(storage_options)
        first_url = urls[0] if isinstance(urls, list) else urls
        stored_schema = _schema_from_json(_native.dataset_schema(first_url, storage_options))
        if self.ngram is not None:
            schema_fields = self.ngram._read_fields(stored_schema)
        view = stored_schema if schema_fields is None else _schema_view(stored_schema, schema_fields)

        native_predicate = predicate._to_native() if predicate is not None else None
        self._py_predicate = predicate if (predicate is not None and native_predicate is None) else None
        predicate_fields = list(predicate.get_fields()) if predicate is not None else []
        if predicate is not None:
            if not predicate_fields:
                raise ValueError("At least one field name must be returned by predicate's get_fields() method")
            unknown = sorted(set(predicate_fields) - set(stored_schema.fields))
            if unknown:
                raise ValueError('At least some column names requested by the predicate ({}) are not valid '
                                 'schema names: ({})'.format(', '.join(unknown), ', '.join(stored_schema.fields)))

        self._view_names = list(view.fields)
        extra = [n for n in stored_schema.fields if self._py_predicate and n in predicate_fields
                 and n not in view.fields]
        self._read_fields = dict(view.fields)
        self._read_fields.update((n, stored_schema.fields[n]) for n in extra)
        if self.ngram is not None:
            if self._py_predicate is not None:
                raise NotImplementedError('NGram readers take native predicates only (in_set, in_intersection, '
                                          'in_negate, in_reduce, in_pseudorandom_split), not in_lambda')
            timestamp = self.ngram._native_options()['timestamp_field']
            self._read_fields.setdefault(timestamp, stored_schema.fields[timestamp])
        self._predicate_fields = [n for n in stored_schema.fields if n in set(predicate_fields)]
        self._transform_spec = transform_spec
        self._transform_func = transform_spec.func if transform_spec is not None else None
        self.schema = transform_schema(view, transform_spec) if transform_spec is not None else view
        self._out_names = list(self.schema.fields)
        self._make = self.schema._get_namedtuple()._make
        self._diagnostics = {'batches_read': 0, 'rows_read': 0, 'rows_filtered_out': 0}

        options = {
            'dataset_url': urls,
            'schema_fields': [re.escape(n) for n in stored_schema.fields if n in self._read_fields],
            'batch_mode': self.is_batched_reader,
            'shuffle_row_groups': bool(shuffle_row_groups),
            'shuffle_rows': bool(shuffle_rows),
            'seed': _u64(seed),
            'shard_seed': _u64(shard_seed),
            'num_epochs': num_epochs,
            'cur_shard': cur_shard,
            'shard_count': shard_count,
            'shuffle_row_drop_partitions': int(shuffle_row_drop_partitions),
            'workers_count': 1 if reader_pool_type == 'dummy' else int(workers_count),
            'results_queue_size': int(results_queue_size),
            'predicate': native_predicate,
            'filters': _filters_json(filters),
            'storage_options': storage_options,
            'skip_unreadable_row_groups': bool(skip_unreadable_row_groups),
            'decode_memory_limit': int(decode_memory_limit),
            'cache_type': cache_type or NULL_CACHE,
            'cache_location': self._cache_location,
            'cache_size_limit': None if cache_size_limit is None else int(cache_size_limit),
            'ngram': self.ngram._native_options() if self.ngram is not None else None,
        }
        self._handle = _native.ReaderHandle(options)

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
        return self

    def __next__(self):
        try:
            return next(self._rows)
        except StopIteration:
            pass
        return self._next_slow()

    def next(self):
        return self.__next__()

    def _next_slow(self):
        while True:
            n, columns = self._next_chunk_columns()
            if self.is_batched_reader:
                return self._make(columns)
            self._rows = map(self._make, zip(*columns)) if self.ngram is None else iter(columns)
            try:
                return next(self._rows)
            except StopIteration:
                continue

    def _next_chunk_columns(self):
        """``(rows, [column per output field])`` of the next non-empty decoded batch (rows columns for
        ``make_reader``, NumPy arrays for ``make_batch_reader``); ``StopIteration`` at the end."""
        while True:
            if self._stopped:
                raise RuntimeError(_STOPPED_MESSAGE)
            try:
                batch = self._handle.next_batch()
            except RuntimeError:
                if self._stopped:  # closed by stop() from another thread
                    raise RuntimeError(_STOPPED_MESSAGE) from None
                raise
            if batch is None:
                if self._stopped:  # stop() from another thread while this one waited
                    raise RuntimeError(_STOPPED_MESSAGE)
                self.last_row_consumed = True
                raise StopIteration
            self._diagnostics['batches_read'] += 1
            self._diagnostics['rows_read'] += batch.num_rows
            n, columns = self._convert(batch)
            if n and self.ngram is not None:
                columns = self.ngram._windows(self.schema, dict(zip(self._out_names, columns)), batch)
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

    # -- conversion --

    def _column(self, batch, name):
        index = batch.schema.get_field_index(name)
        if index < 0:
            raise RuntimeError('the native reader returned no column {!r} (got {})'.format(name, batch.schema.names))
        return batch.column(index)

    def _convert(self, batch):
        n = batch.num_rows
        convert = _arrow.batch_column if self.is_batched_reader else _arrow.rows_column
        cols = {name: _custom_column(self._column(batch, name), field, self.is_batched_reader)
                if is_custom(field.codec) else convert(self._column(batch, name), field.numpy_dtype)
                for name, field in self._read_fields.items()}
        if self._py_predicate is not None and n:
            mask = self._predicate_mask(cols, n)
            if not mask.all():
                index = np.flatnonzero(mask)
                self._diagnostics['rows_filtered_out'] += n - len(index)
                cols = {name: _arrow.take(col, index) for name, col in cols.items()}
                n = len(index)
        if not n:
            return 0, []
        if self._transform_func is None:
            return n, [cols[name] for name in self._out_names]
        if self.is_batched_reader:
            return self._transform_batch(cols, n)
        return n, self._transform_rows(cols, n)

    def _predicate_mask(self, cols, n):
        predicate, names = self._py_predicate, self._predicate_fields
        if self.is_batched_reader:
            result = predicate.do_include(_data_frame({name: cols[name] for name in names}))
            mask = np.asarray(result, dtype=bool)
            if mask.shape != (n,):
                raise ValueError('a predicate of make_batch_reader must return one boolean per row '
                                 '(got shape {} for {} rows)'.format(mask.shape, n))
            return mask
        columns = [cols[name] for name in names]
        return np.fromiter((bool(predicate.do_include(dict(zip(names, values)))) for values in zip(*columns)),
                           dtype=bool, count=n)

    def _transform_rows(self, cols, n):
        func, view_names, out_names = self._transform_func, self._view_names, self._out_names
        out = []
        for values in zip(*[cols[name] for name in view_names]):
            row = func(dict(zip(view_names, values)))
            try:
                out.append(tuple(row[name] for name in out_names))
            except KeyError as e:
                raise ValueError('TransformSpec.func returned a row without field {} of the transformed '
                                 'schema'.format(e)) from None
        return [list(c) for c in zip(*out)] if out else [[] for _ in out_names]

    def _transform_batch(self, cols, n):
        frame = self._transform_func(_data_frame({name: cols[name] for name in self._view_names}))
        missing = [name for name in self._out_names if name not in frame.columns]
        if missing:
            raise ValueError('TransformSpec.func returned a DataFrame without field(s) {} of the transformed '
                             'schema'.format(missing))
        columns = [_frame_column(frame[name]) for name in self._out_names]
        return (len(frame), columns)

    # -- lifecycle --

    def stop(self):
        """Stops the native pipeline and frees it (prompt; safe while another thread waits in ``next``);
        iterating afterwards raises ``RuntimeError``. Idempotent."""
        self._stopped = True
        self._rows = iter(())
        if self._handle is not None:
            self._handle.close()
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
        self._rows = iter(())
        self.last_row_consumed = False

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.stop()
        self.join()


def _custom_column(arr, field, batched):
    """A user's codec column decoded cell by cell in Python (the slow path)."""
    values = [None if cell is None else field.codec.decode(field, cell) for cell in arr.to_pylist()]
    return _arrow.stack_rows(values) if batched else values


def _data_frame(columns):
    """A pandas DataFrame of columns (tensor columns as object columns of row arrays)."""
    import pandas as pd
    data = {}
    for name, col in columns.items():
        if isinstance(col, np.ndarray) and col.ndim > 1:
            col = _rows_object(col)
        data[name] = col
    return pd.DataFrame(data)


def _rows_object(col):
    out = np.empty(len(col), dtype=object)
    for i in range(len(col)):
        out[i] = col[i]
    return out


def _frame_column(series):
    values = series.to_numpy()
    if values.dtype == object and len(values) and isinstance(values[0], np.ndarray):
        return _arrow.stack_rows(list(values))
    return values


__all__ = ['make_reader', 'make_batch_reader', 'Reader']
