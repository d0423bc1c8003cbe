"""Row-group selectors (upstream's ``petastorm.selectors``): given the indexes a dataset stores
(:func:`petastorm.etl.rowgroup_indexing.get_row_group_indexes`), a selector returns the row groups to
read; pass one as ``make_reader(..., rowgroup_selector=...)``."""
import abc


class RowGroupSelectorBase(abc.ABC):
    """Base class of row-group selectors."""

    @abc.abstractmethod
    def get_index_names(self):
        """The names of the indexes the selector needs."""

    @abc.abstractmethod
    def select_row_groups(self, index_dict):
        """The set of selected row groups (piece indices), from ``{index name: indexer}``."""


class SingleIndexSelector(RowGroupSelectorBase):
    """Selects the row groups holding any of ``values_list`` in the index ``index_name``."""

    def __init__(self, index_name, values_list):
        self._index_name = index_name
        self._values_to_select = values_list

    def get_index_names(self):
        return [self._index_name]

    def select_row_groups(self, index_dict):
        indexer = index_dict[self._index_name]
        selected = set()
        for value in self._values_to_select:
            selected |= indexer.get_row_group_indexes(value)
        return selected


class _CombinedSelector(RowGroupSelectorBase):
    """Row groups chosen by combining the choices of several :class:`SingleIndexSelector`."""

    def __init__(self, single_index_selectors):
        """:param single_index_selectors: a list of :class:`SingleIndexSelector`"""
        self._single_index_selectors = list(single_index_selectors)
        if not self._single_index_selectors:
            raise ValueError('{} needs at least one selector'.format(type(self).__name__))

    def get_index_names(self):
        return [selector.get_index_names()[0] for selector in self._single_index_selectors]

    def _selections(self, index_dict):
        return [selector.select_row_groups(index_dict) for selector in self._single_index_selectors]


class IntersectIndexSelector(_CombinedSelector):
    """Selects the row groups that every given selector selects."""

    def select_row_groups(self, index_dict):
        return set.intersection(*self._selections(index_dict))


class UnionIndexSelector(_CombinedSelector):
    """Selects the row groups that at least one given selector selects."""

    def select_row_groups(self, index_dict):
        return set.union(*self._selections(index_dict))


__all__ = ['RowGroupSelectorBase', 'SingleIndexSelector', 'IntersectIndexSelector', 'UnionIndexSelector']
