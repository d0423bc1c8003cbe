"""Row-group indexes (upstream's ``petastorm.etl.rowgroup_indexing``): :func:`build_rowgroup_index` runs
indexers (:mod:`petastorm.etl.rowgroup_indexers`) over every row group in a Spark job and stores the
result in ``_common_metadata``; :func:`get_row_group_indexes` loads it back for the selectors
(:mod:`petastorm.selectors`).

Row groups are numbered as upstream numbers its pieces: data files sorted by path, then each file's row
groups in order (the native reader's ``row_groups`` option uses the same numbers). The index is stored
under upstream's key as upstream writes it: a pickle of ``{index name: indexer}``. It is loaded with an
allow-list unpickler that builds only the two indexer classes and the containers and NumPy scalars
their data holds, so an index written by upstream reads here and ours reads in upstream.
"""
import copy
import functools
import io
import json
import logging
import pickle
import re
import time
from collections import namedtuple

from petastorm import _native, _storage
from petastorm._ignored import warn_ignored
from petastorm.errors import PetastormMetadataError

logger = logging.getLogger(__name__)

PARALLEL_SLICE_NUM = 2000

ROWGROUPS_INDEX_KEY = b'dataset-toolkit.rowgroups_index.v1'

# One row group: its number in the index, its file (relative path) and its index in the file.
_Piece = namedtuple('_Piece', ['piece_index', 'path', 'row_group'])


def build_rowgroup_index(dataset_url, spark_context, indexers, hdfs_driver='libhdfs3', storage_options=None):
    """Builds the indexes of ``indexers`` over every row group of the dataset (one Spark task per slice of
    row groups; each reads and decodes only the indexed columns of its row groups with the native reader)
    and stores them in the dataset's ``_common_metadata`` (rewritten atomically, its other keys kept).

    :param dataset_url: the dataset URL (any store the native layer reaches) or a local path
    :param spark_context: a ``SparkContext``
    :param indexers: indexer objects (:class:`~petastorm.etl.RowGroupIndexerBase`)
    :param hdfs_driver: accepted for upstream compatibility (warns once when set): HDFS is reached natively
    :param storage_options: credentials and endpoints of the store, as for ``make_reader``; they travel to
        the executors with the tasks
    """
    warn_ignored('build_rowgroup_index', 'HDFS is reached natively', hdfs_driver=(hdfs_driver, 'libhdfs3'))
    url = dataset_url.rstrip('/') or dataset_url
    options = _storage.flatten_options(storage_options)
    indexers = list(indexers)
    fields = json.loads(_native.dataset_schema(url, options))['fields']
    columns = sorted({name for indexer in indexers for name in indexer.column_names})
    unknown = [name for name in columns if name not in {f['name'] for f in fields}]
    if unknown:
        raise ValueError('Cannot index field(s) {} of dataset {}: no such field (fields: {})'.format(
            unknown, url, ', '.join(f['name'] for f in fields)))
    pieces = []
    for rel, count in _native.dataset_pieces(url, options):
        first = len(pieces)
        pieces.extend(_Piece(first + row_group, rel, row_group) for row_group in range(count))
    if not pieces:
        raise ValueError('Cannot build an index of dataset {}: it has no row groups'.format(url))

    start = time.time()
    index_slices = functools.partial(_index_slice, url, options, indexers, columns)
    built = spark_context.parallelize(pieces, min(len(pieces), PARALLEL_SLICE_NUM)) \
        .mapPartitions(index_slices).reduce(_combine_indexers)
    index = {indexer.index_name: indexer for indexer in built}
    _storage.set_metadata(url, ROWGROUPS_INDEX_KEY.decode('ascii'), pickle.dumps(index, pickle.HIGHEST_PROTOCOL),
                          options)
    logger.info('Elapsed time of index creation: %f s', time.time() - start)


def _index_slice(url, options, indexers, columns, pieces):
    """Runs fresh copies of ``indexers`` over the row groups ``pieces`` (in a Spark task); yields them once."""
    indexers = copy.deepcopy(indexers)
    pieces = list(pieces)
    for piece in pieces:
        rows = _decoded_rows(url, options, columns, piece)
        for indexer in indexers:
            indexer.build_index(rows, piece.piece_index)
    if pieces:
        yield indexers


def _decoded_rows(url, options, columns, piece):
    """The rows of one row group as dicts of the decoded ``columns`` (as ``make_reader`` decodes them)."""
    from petastorm.reader import Reader
    with Reader(url, batched=False, schema_fields=[re.escape(c) for c in columns], shuffle_row_groups=False,
                workers_count=1, results_queue_size=2, storage_options=options,
                row_groups=[piece.piece_index]) as reader:
        rows = [row._asdict() for row in reader]
    if not rows:
        raise ValueError('Cannot build an index over row group {} of file {!r} (piece {}) of {}: it has no rows'
                         .format(piece.row_group, piece.path, piece.piece_index, url))
    return rows


def _combine_indexers(indexers1, indexers2):
    """Merges the index data of two lists of like indexers (the reduce step); returns the first list."""
    if len(indexers1) != len(indexers2):
        raise ValueError('Cannot reduce results with different dimensions')
    return [first + second for first, second in zip(indexers1, indexers2)]


def get_row_group_indexes(dataset, storage_options=None):
    """The row-group indexes stored with a dataset, ``{index name: indexer}``.

    :param dataset: a dataset URL (or local path), or a ``pyarrow.parquet.ParquetDataset`` (read through its
        file system)
    :param storage_options: store options for a URL, as for ``make_reader``
    :raises ValueError: when the dataset has no ``_common_metadata`` or it holds no index
    :raises PetastormMetadataError: (a ``ValueError``) when the stored index is not an index pickle
    """
    if isinstance(dataset, str):
        where = (dataset.rstrip('/') or dataset) + '/_common_metadata'
        data = _storage.read(where, storage_options)
    else:
        from petastorm.etl.dataset_metadata import _read_common_metadata
        where = dataset._base_dir.rstrip('/') + '/_common_metadata'
        data = _read_common_metadata(dataset._base_dir, dataset.filesystem)
    if data is None:
        raise ValueError('Could not find {}: materialize_dataset(..) in petastorm.etl.dataset_metadata writes it, '
                         'build_rowgroup_index(..) adds the row-group indexes'.format(where))
    pickled = _native.metadata_value(data, ROWGROUPS_INDEX_KEY.decode('ascii'))
    if pickled is None:
        raise ValueError('Row groups index is not available in {}. You can generate it on an existing dataset '
                         'using build_rowgroup_index(..)'.format(where))
    try:
        index = _IndexUnpickler(io.BytesIO(pickled)).load()
    except Exception as e:
        raise PetastormMetadataError('{}: {}: not a row-group index: {}'.format(
            where, ROWGROUPS_INDEX_KEY.decode('ascii'), e)) from e
    if not isinstance(index, dict):
        raise PetastormMetadataError('{}: {}: expected a dict of indexers, got {}'.format(
            where, ROWGROUPS_INDEX_KEY.decode('ascii'), type(index).__name__))
    return index


# What an index pickle may reference: the indexers, their containers, and the NumPy scalars (and dtypes)
# of indexed values, as Python 3 and Python 2 pickles name them.
_ALLOWED_GLOBALS = frozenset([
    ('petastorm.etl.rowgroup_indexers', 'SingleFieldIndexer'),
    ('petastorm.etl.rowgroup_indexers', 'FieldNotNullIndexer'),
    ('collections', 'defaultdict'),
    ('builtins', 'set'), ('builtins', 'frozenset'), ('builtins', 'object'),
    ('__builtin__', 'set'), ('__builtin__', 'frozenset'), ('__builtin__', 'object'),
    ('copyreg', '_reconstructor'), ('copy_reg', '_reconstructor'), ('_codecs', 'encode'),
    ('numpy', 'dtype'), ('numpy.core.multiarray', 'scalar'), ('numpy._core.multiarray', 'scalar'),
    ('decimal', 'Decimal'),
])


class _IndexUnpickler(pickle.Unpickler):
    """Unpickles a stored index, refusing every global outside :data:`_ALLOWED_GLOBALS`."""

    def find_class(self, module, name):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError('{}.{} is not allowed in a row-group index'.format(module, name))
        return super().find_class(module, name)


__all__ = ['build_rowgroup_index', 'get_row_group_indexes', 'ROWGROUPS_INDEX_KEY']
