"""Row-group indexers (upstream's ``petastorm.etl.rowgroup_indexers``): each maps the values of one field
to the row groups (piece indices, see :func:`petastorm.etl.rowgroup_indexing.build_rowgroup_index`) that
hold them. Indexes are stored as a pickle of these classes, with upstream's class paths and attribute
names (``_index_name``, ``_column_name``, ``_index_data``), so upstream reads ours and we read upstream's."""
from collections import defaultdict

import numpy as np

from petastorm.etl import RowGroupIndexerBase


class _FieldIndexer(RowGroupIndexerBase):
    """An index named ``index_name`` over the field ``index_field``; subclasses hold the index data."""

    def __init__(self, index_name, index_field):
        self._index_name = index_name
        self._column_name = index_field
        self._index_data = self._empty()

    def __add__(self, other):
        if not isinstance(other, type(self)):
            raise TypeError('Make sure Spark map function return the same indexer type')
        if self._column_name != other._column_name:
            raise ValueError('Make sure indexers in Spark map function index the same fields')
        self._merge(other._index_data)
        return self

    @property
    def index_name(self):
        return self._index_name

    @property
    def column_names(self):
        return [self._column_name]

    def build_index(self, decoded_rows, piece_index):
        values = [row[self._column_name] for row in decoded_rows]
        if not values:
            raise ValueError("Cannot build index for empty rows, column '{}'".format(self._column_name))
        self._add(values, piece_index)
        return self._index_data


class SingleFieldIndexer(_FieldIndexer):
    """Indexes the values of one field: scalars (NumPy numbers, strings), or each element of an array
    value. ``None`` values are not indexed."""

    @staticmethod
    def _empty():
        return defaultdict(set)

    def _merge(self, other_data):
        for value, pieces in other_data.items():
            self._index_data[value].update(pieces)

    def _add(self, values, piece_index):
        for value in values:
            if value is None:
                continue
            for key in (value if isinstance(value, np.ndarray) else (value,)):
                self._index_data[key].add(piece_index)

    @property
    def indexed_values(self):
        return list(self._index_data.keys())

    def get_row_group_indexes(self, value_key):
        """The row groups holding ``value_key`` (an empty set when none does)."""
        return set(self._index_data.get(value_key, ()))


class FieldNotNullIndexer(_FieldIndexer):
    """Indexes the row groups in which the field is not null in at least one row."""

    @staticmethod
    def _empty():
        return set()

    def _merge(self, other_data):
        self._index_data.update(other_data)

    def _add(self, values, piece_index):
        if any(value is not None for value in values):
            self._index_data.add(piece_index)

    @property
    def indexed_values(self):
        return ['Field is Not Null']

    def get_row_group_indexes(self, value_key=None):
        """The row groups with a non-null value of the field (``value_key`` is ignored)."""
        return set(self._index_data)


__all__ = ['SingleFieldIndexer', 'FieldNotNullIndexer']
