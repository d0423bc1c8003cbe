"""petastorm.predicates: upstream semantics of do_include, native JSON forms, and each predicate
applied by make_reader (per row) and make_batch_reader (per batch)."""
import json
import sys

import numpy as np
import pandas as pd
import pytest

from _reader_helpers import (ROWS_COUNT, partitioned_dataset, test_dataset, time_limit)  # noqa: F401
from petastorm import make_batch_reader, make_reader
from petastorm.predicates import (PredicateBase, in_intersection, in_lambda, in_negate, in_pseudorandom_split,
                                  in_reduce, in_set)


# --- semantics, no reader needed ---

def test_in_set():
    p = in_set([1, 3], 'id')
    assert p.get_fields() == {'id'}
    assert p.do_include({'id': 3}) and not p.do_include({'id': 2})
    assert p.do_include({'id': np.int64(1)})
    assert p.do_include(pd.DataFrame({'id': [1, 2, 3]})).tolist() == [True, False, True]
    assert p._to_native() == {'in_set': {'field': 'id', 'values': [1, 3]}}
    assert in_set({np.int32(2), 'x'}, 'f')._to_native()['in_set']['values'] in ([2, 'x'], ['x', 2])


def test_in_intersection():
    p = in_intersection(['a', 'b'], 'tags')
    assert p.do_include({'tags': np.array(['x', 'b'])}) and not p.do_include({'tags': ['x']})
    with pytest.raises(ValueError):
        p.do_include({'tags': 5})
    frame = pd.DataFrame({'tags': [np.array(['a']), np.array(['z'])]})
    assert p.do_include(frame).tolist() == [True, False]
    assert p._to_native() == {'in_intersection': {'field': 'tags', 'values': ['a', 'b']}}


def test_in_lambda_is_python_only():
    p = in_lambda(['a', 'b'], lambda a, b, s: a + b > s, state_arg=10)
    assert p.get_fields() == {'a', 'b'}
    assert p.do_include({'a': 5, 'b': 6}) and not p.do_include({'a': 1, 'b': 2})
    assert p._to_native() is None
    with pytest.raises(ValueError):
        in_lambda('a', lambda a: True)


def test_in_negate_and_in_reduce():
    a, b = in_set([1], 'x'), in_set([2], 'y')
    assert in_negate(a).do_include({'x': 2}) and not in_negate(a).do_include({'x': 1})
    assert in_negate(a)._to_native() == {'in_negate': a._to_native()}
    both, either = in_reduce([a, b], all), in_reduce([a, b], any)
    assert both.get_fields() == {'x', 'y'}
    assert both.do_include({'x': 1, 'y': 2}) and not both.do_include({'x': 1, 'y': 3})
    assert either.do_include({'x': 0, 'y': 2}) and not either.do_include({'x': 0, 'y': 0})
    assert both._to_native() == {'in_reduce': {'predicates': [a._to_native(), b._to_native()], 'op': 'all'}}
    assert either._to_native()['in_reduce']['op'] == 'any'
    assert in_reduce([a, b], lambda results: sum(results) == 1)._to_native() is None
    assert in_reduce([a, in_lambda(['y'], bool)], all)._to_native() is None
    assert in_negate(in_lambda(['y'], bool))._to_native() is None
    frame = pd.DataFrame({'x': [1, 1, 0], 'y': [2, 0, 2]})
    assert list(both.do_include(frame)) == [True, False, False]
    assert list(either.do_include(frame)) == [True, True, True]
    assert list(in_negate(both).do_include(frame)) == [False, True, True]
    with pytest.raises(ValueError):
        in_negate('x')
    with pytest.raises(ValueError):
        in_reduce([a, 'x'], all)


def test_in_pseudorandom_split_matches_upstream_hashing():
    import hashlib
    split = [in_pseudorandom_split([0.3, 0.3, 0.4], i, 'id') for i in range(3)]
    values = list(range(1000))
    assigned = [[p.do_include({'id': v}) for p in split].index(True) for v in values]
    counts = np.bincount(assigned, minlength=3)
    assert abs(counts[0] - 300) < 60 and abs(counts[2] - 400) < 60
    for v, subset in zip(values[:50], assigned):
        bucket = int(hashlib.md5(str(v).encode('utf-8')).hexdigest(), 16) % sys.maxsize
        low = sum([0.3, 0.3, 0.4][:subset]) * (sys.maxsize - 1)
        assert low <= bucket
    assert split[1]._to_native() == {'in_pseudorandom_split': {'field': 'id', 'fractions': [0.3, 0.3, 0.4],
                                                               'subset_index': 1}}
    json.dumps(split[1]._to_native())
    with pytest.raises(ValueError):
        in_pseudorandom_split([0.5, 0.5], 2, 'id')
    frame = pd.DataFrame({'id': values[:20]})
    assert split[0].do_include(frame).tolist() == [a == 0 for a in assigned[:20]]


def test_custom_predicate_subclass_runs_in_python():
    class Even(PredicateBase):
        def get_fields(self):
            return {'id'}

        def do_include(self, values):
            return values['id'] % 2 == 0

    assert Even()._to_native() is None


# --- applied by the readers ---

def _read_ids(factory, url, **kwargs):
    ids = []
    with factory(url, workers_count=2, **kwargs) as reader:
        for item in reader:
            if reader.batched_output:
                ids.extend(int(i) for i in item.id)
            else:
                ids.append(int(item.id))
        fields = list(reader.schema.fields)
    return sorted(ids), fields


CASES = [
    ('in_set', lambda: in_set({3, 17, 64, 1000}, 'id'), lambda r: r['id'] in (3, 17, 64)),
    ('in_set_str', lambda: in_set({'label_2'}, 'label'), lambda r: r['label'] == 'label_2'),
    ('in_intersection', lambda: in_intersection([7, 12], 'packed'),
     lambda r: bool(np.isin([7, 12], r['packed']).any())),
    ('in_negate', lambda: in_negate(in_set({1, 2}, 'id2')), lambda r: r['id2'] not in (1, 2)),
    ('in_reduce_all', lambda: in_reduce([in_set({0, 1}, 'id2'), in_set({'label_1', 'label_3'}, 'label')], all),
     lambda r: r['id2'] in (0, 1) and r['label'] in ('label_1', 'label_3')),
    ('in_reduce_any', lambda: in_reduce([in_set({5}, 'id2'), in_set({'label_4'}, 'label')], any),
     lambda r: r['id2'] == 5 or r['label'] == 'label_4'),
    ('in_pseudorandom_split', lambda: in_pseudorandom_split([0.5, 0.5], 1, 'id'),
     lambda r: in_pseudorandom_split([0.5, 0.5], 1, 'id').do_include({'id': r['id']})),
    ('in_pseudorandom_split_str', lambda: in_pseudorandom_split([0.6, 0.4], 0, 'label'),
     lambda r: in_pseudorandom_split([0.6, 0.4], 0, 'label').do_include({'label': r['label']})),
    ('in_lambda', lambda: in_lambda(['id', 'score'], lambda i, s: i % 3 == 0 and s < 20),
     lambda r: r['id'] % 3 == 0 and r['score'] < 20),
    ('mixed_tree', lambda: in_reduce([in_set({0, 1, 2}, 'id2'), in_lambda(['id'], lambda i: i > 50)], all),
     lambda r: r['id2'] in (0, 1, 2) and r['id'] > 50),
]


@pytest.mark.parametrize('name, predicate, expected', CASES, ids=[c[0] for c in CASES])
def test_make_reader_predicates(test_dataset, name, predicate, expected):
    url, rows = test_dataset
    want = sorted(int(r['id']) for r in rows if expected(r))
    assert 0 < len(want) < ROWS_COUNT
    ids, fields = _read_ids(make_reader, url, predicate=predicate(), schema_fields=['id', 'matrix'])
    assert ids == want
    assert fields == ['id', 'matrix']


BATCH_CASES = [c for c in CASES if c[0] not in ('in_lambda', 'mixed_tree')] + [
    ('in_lambda_frame', lambda: in_lambda(['id', 'score'], lambda i, s: (i % 3 == 0) & (s < 20)),
     lambda r: r['id'] % 3 == 0 and r['score'] < 20),
    ('mixed_tree_frame', lambda: in_reduce([in_set({0, 1, 2}, 'id2'), in_lambda(['id'], lambda i: i > 50)], all),
     lambda r: r['id2'] in (0, 1, 2) and r['id'] > 50),
]


@pytest.mark.parametrize('name, predicate, expected', BATCH_CASES, ids=[c[0] for c in BATCH_CASES])
def test_make_batch_reader_predicates(test_dataset, name, predicate, expected):
    url, rows = test_dataset
    want = sorted(int(r['id']) for r in rows if expected(r))
    assert 0 < len(want) < ROWS_COUNT
    ids, fields = _read_ids(make_batch_reader, url, predicate=predicate(), schema_fields=['id', 'matrix'])
    assert ids == want
    assert fields == ['id', 'matrix']


def test_python_predicate_fields_are_read_and_dropped(test_dataset):
    url, rows = test_dataset
    seen = []

    def keep(label, flag):
        seen.append((type(label), type(flag)))
        return label == 'label_1' and bool(flag)

    with make_reader(url, schema_fields=['id'], predicate=in_lambda(['label', 'flag'], keep), workers_count=2) as r:
        got = list(r)
    assert all(row._fields == ('id',) for row in got)
    assert sorted(int(row.id) for row in got) == [int(x['id']) for x in rows if x['label'] == 'label_1' and x['flag']]
    assert set(seen) == {(str, np.bool_)}


def test_predicate_on_partition_key(partitioned_dataset):
    url, _ = partitioned_dataset
    ids, _ = _read_ids(make_reader, url, predicate=in_set({'p2'}, 'part'))
    assert ids == [i for i in range(60) if i % 3 == 2]
    ids, _ = _read_ids(make_reader, url, predicate=in_lambda(['part'], lambda p: p != 'p2'), schema_fields=['id'])
    assert ids == [i for i in range(60) if i % 3 != 2]


def test_predicate_excluding_everything(test_dataset):
    url, _ = test_dataset
    for factory in (make_reader, make_batch_reader):
        ids, _ = _read_ids(factory, url, predicate=in_set({-1}, 'id'))
        assert ids == []
        ids, _ = _read_ids(factory, url, predicate=in_lambda(['id'], lambda i: i < -1))
        assert ids == []
