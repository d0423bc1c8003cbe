"""Row predicates for ``make_reader``/``make_batch_reader`` (upstream's ``petastorm.predicates``).

``in_set``, ``in_intersection``, ``in_negate``, ``in_pseudorandom_split`` and ``in_reduce`` with
``all``/``any`` over such predicates run in the native reader (``_to_native()`` gives their
predicate JSON, see ``docs/ffi.md``). ``in_lambda`` and any tree holding one (or a custom
``PredicateBase`` subclass, or ``in_reduce`` with another function) run in Python on decoded values:
per row (``values`` is a dict of field name to value) for ``make_reader``, per batch (``values`` is a
pandas DataFrame of the predicate fields, the result a boolean Series/array) for ``make_batch_reader``.
The ``do_include`` of the native predicates accepts both forms.
"""
import abc
import collections.abc
import decimal
import hashlib
import sys

import numpy as np


class PredicateBase(abc.ABC):
    """Base class of row predicates: ``get_fields()`` names the fields ``do_include(values)`` reads."""

    @abc.abstractmethod
    def get_fields(self):
        pass

    @abc.abstractmethod
    def do_include(self, values):
        pass

    def _to_native(self):
        """The predicate JSON (a dict) for the native reader, or ``None`` when it must run in Python."""
        return None


def _column(values, field):
    value = values[field]
    return value if hasattr(value, 'iloc') else None


def _json_value(value):
    """A predicate value as JSON (NumPy scalars unwrapped; Decimal as its string)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.decode('utf-8')
    return value


def _sorted_values(values):
    converted = [_json_value(v) for v in values]
    try:
        return sorted(converted)
    except TypeError:
        return converted


class in_set(PredicateBase):
    """Includes a row when the value of ``predicate_field`` is one of ``inclusion_values``."""

    def __init__(self, inclusion_values, predicate_field):
        self._predicate_values = set(inclusion_values)
        self._predicate_field = predicate_field

    def get_fields(self):
        return {self._predicate_field}

    def do_include(self, values):
        column = _column(values, self._predicate_field)
        if column is not None:
            return column.isin(self._predicate_values)
        return values[self._predicate_field] in self._predicate_values

    def _to_native(self):
        return {'in_set': {'field': self._predicate_field, 'values': _sorted_values(self._predicate_values)}}


class in_intersection(PredicateBase):
    """Includes a row when the (list/array) value of ``_predicate_field`` holds any of ``predicate_values``
    (upstream's parameter names, keywords included)."""

    def __init__(self, predicate_values, _predicate_field):
        self._predicate_values = list(predicate_values)
        self._predicate_field = _predicate_field

    def get_fields(self):
        return {self._predicate_field}

    def _one(self, value):
        if not isinstance(value, collections.abc.Iterable) or isinstance(value, (str, bytes)):
            raise ValueError('Predicate field should have iterable type')
        return bool(np.isin(np.asarray(value), self._predicate_values).any())

    def do_include(self, values):
        column = _column(values, self._predicate_field)
        if column is not None:
            return column.map(self._one).astype(bool)
        return self._one(values[self._predicate_field])

    def _to_native(self):
        return {'in_intersection': {'field': self._predicate_field,
                                    'values': [_json_value(v) for v in self._predicate_values]}}


class in_lambda(PredicateBase):
    """A predicate from a function of the named fields (always evaluated in Python):
    ``in_lambda(['id'], lambda id: id % 2 == 0)``; ``state_arg``, when not ``None``, is passed last."""

    def __init__(self, predicate_fields, predicate_func, state_arg=None):
        if not isinstance(predicate_fields, list):
            raise ValueError('Predicate fields should be a list')
        self._predicate_fields = predicate_fields
        self._predicate_func = predicate_func
        self._state_arg = state_arg

    def get_fields(self):
        return set(self._predicate_fields)

    def do_include(self, values):
        args = [values[field] for field in self._predicate_fields]
        if self._state_arg is not None:
            args.append(self._state_arg)
        return self._predicate_func(*args)


def _as_mask(result):
    return np.asarray(result, dtype=bool)


class in_negate(PredicateBase):
    """Includes the rows ``predicate`` excludes."""

    def __init__(self, predicate):
        if not isinstance(predicate, PredicateBase):
            raise ValueError('Predicate is nor derived from PredicateBase')
        self._predicate = predicate

    def get_fields(self):
        return self._predicate.get_fields()

    def do_include(self, values):
        result = self._predicate.do_include(values)
        if np.ndim(result) > 0:
            return ~_as_mask(result)
        return not result

    def _to_native(self):
        inner = self._predicate._to_native()
        return None if inner is None else {'in_negate': inner}


class in_reduce(PredicateBase):
    """Combines predicates with ``reduce_func`` over their results: ``all`` is a logical and,
    ``any`` a logical or (both also native when every child is)."""

    def __init__(self, predicate_list, reduce_func):
        if not all(isinstance(p, PredicateBase) for p in predicate_list):
            raise ValueError('Predicate is nor derived from PredicateBase')
        self._predicate_list = predicate_list
        self._reduce_func = reduce_func

    def get_fields(self):
        fields = set()
        for p in self._predicate_list:
            fields |= set(p.get_fields())
        return fields

    def do_include(self, values):
        results = [p.do_include(values) for p in self._predicate_list]
        if any(np.ndim(r) > 0 for r in results) and self._reduce_func in (all, any):
            masks = [_as_mask(r) for r in results]
            reduce = np.logical_and.reduce if self._reduce_func is all else np.logical_or.reduce
            return reduce(masks) if masks else np.ones(len(values), dtype=bool)
        return self._reduce_func(results)

    def _to_native(self):
        if self._reduce_func not in (all, any):
            return None
        children = [p._to_native() for p in self._predicate_list]
        if any(c is None for c in children):
            return None
        return {'in_reduce': {'predicates': children, 'op': self._reduce_func.__name__}}


def _string_to_bucket(string, bucket_num):
    return int(hashlib.md5(string.encode('utf-8')).hexdigest(), 16) % bucket_num


class in_pseudorandom_split(PredicateBase):
    """Splits a dataset into subsets in proportion ``fraction_list`` by hashing ``str(value)`` of
    ``predicate_field`` (MD5, as upstream, so the split is stable) and keeps subset ``subset_index``."""

    def __init__(self, fraction_list, subset_index, predicate_field):
        if subset_index >= len(fraction_list):
            raise ValueError('subset_index is out of range')
        self._fraction_list = list(fraction_list)
        self._subset_index = subset_index
        self._predicate_field = predicate_field
        borders = [sum(fraction_list[:i + 1]) for i in range(len(fraction_list))]
        low = borders[subset_index - 1] if subset_index else 0
        self._bucket_low = low * (sys.maxsize - 1)
        self._bucket_high = borders[subset_index] * (sys.maxsize - 1)

    def get_fields(self):
        return {self._predicate_field}

    def _one(self, value):
        return self._bucket_low <= _string_to_bucket(str(value), sys.maxsize) < self._bucket_high

    def do_include(self, values):
        if self._predicate_field not in values.keys():
            raise ValueError('Tested values does not have split key: %s' % self._predicate_field)
        column = _column(values, self._predicate_field)
        if column is not None:
            return column.map(self._one).astype(bool)
        return self._one(values[self._predicate_field])

    def _to_native(self):
        return {'in_pseudorandom_split': {'field': self._predicate_field,
                                          'fractions': [float(f) for f in self._fraction_list],
                                          'subset_index': int(self._subset_index)}}


__all__ = ['PredicateBase', 'in_set', 'in_intersection', 'in_lambda', 'in_negate', 'in_reduce',
           'in_pseudorandom_split']
