"""One decoded batch to the reader's output columns: NumPy conversion, then what only Python can do
(``in_lambda`` predicates, ``TransformSpec.func``).

:class:`BatchConverter` holds no reader state, so the same object runs on the consumer thread, on a
pool thread or (pickled once) in a worker process (``petastorm._workers``). An exception raised by
the predicate or the transform keeps its type and gets a note naming the step, the decoded batch,
the row and the fields it was given.
"""
import functools

import numpy as np

from petastorm import _arrow
from petastorm.codecs import is_custom


class BatchConverter(object):
    """``converter(batch, index, offset) -> (rows, [column per output field], rows filtered out)`` of the
    rows of decoded batch ``index`` starting at row ``offset`` (``batch`` may be a slice of it).

    :param read_fields: ``{name: UnischemaField}`` of the columns read (view + predicate-only fields)
    :param view_names: the fields a ``TransformSpec.func`` gets
    :param out_names: the fields yielded (after the transform)
    :param batched: ``make_batch_reader`` (whole columns, DataFrames) rather than ``make_reader`` (rows)
    :param predicate: a Python (``in_lambda``-like) predicate, or ``None``
    :param predicate_fields: the fields the predicate reads
    :param transform_func: ``TransformSpec.func`` or ``None``
    """

    def __init__(self, read_fields, view_names, out_names, batched, predicate, predicate_fields, transform_func):
        self.read_fields = read_fields
        self.view_names = view_names
        self.out_names = out_names
        self.batched = batched
        self.predicate = predicate
        self.predicate_fields = predicate_fields
        self.transform_func = transform_func
        self._plan = None  # (batch schema, [(name, column index, convert)]), made for the first batch

    def __getstate__(self):
        return dict(self.__dict__, _plan=None)

    @property
    def runs_python(self):
        """``True`` when a user callable runs on every batch (worth a pool)."""
        return self.predicate is not None or self.transform_func is not None

    def __call__(self, batch, index, offset=0):
        n = batch.num_rows
        cols = {name: convert(batch.column(i)) for name, i, convert in self._columns_plan(batch.schema)}
        filtered, kept = 0, None
        if self.predicate is not None and n:
            mask = self._predicate_mask(cols, n, (index, offset, None))
            if not mask.all():
                kept = np.flatnonzero(mask)
                filtered = n - len(kept)
                cols = {name: _arrow.take(col, kept) for name, col in cols.items()}
                n = len(kept)
        if not n:
            return 0, [], filtered
        if self.transform_func is None:
            return n, [cols[name] for name in self.out_names], filtered
        if self.batched:
            return self._transform_batch(cols, (index, offset, kept)) + (filtered,)
        return n, self._transform_rows(cols, (index, offset, kept)), filtered

    def _columns_plan(self, schema):
        """``[(name, column index, convert)]`` of the read fields in batches of ``schema`` (the last batch's plan
        while the schema stays the same)."""
        plan = self._plan
        if plan is None or not plan[0].equals(schema):
            columns = []
            for name, field in self.read_fields.items():
                i = _column_index(schema, name)
                columns.append((name, i, self._converter(schema.field(i).type, field)))
            plan = self._plan = (schema, columns)
        return plan[1]

    def _converter(self, arrow_type, field):
        if is_custom(field.codec):  # a user's codec: its decode, cell by cell (the slow path)
            return functools.partial(_custom_decode, field, self.batched)
        return _arrow.column_converter(arrow_type, field.numpy_dtype, self.batched)

    def _predicate_mask(self, cols, n, where):
        predicate, names = self.predicate, self.predicate_fields
        if self.batched:
            try:
                result = predicate.do_include(_data_frame({name: cols[name] for name in names}))
            except Exception as e:
                _noted(e, 'predicate', where, None, names)
                raise
            mask = np.asarray(result, dtype=bool)
            if mask.shape != (n,):
                raise ValueError('a predicate of make_batch_reader must return one boolean per row '
                                 '(got shape {} for {} rows)'.format(mask.shape, n))
            return mask
        mask = np.empty(n, dtype=bool)
        row = 0
        try:
            for row, values in enumerate(zip(*[cols[name] for name in names])):  # noqa: B007 (read in except)
                mask[row] = bool(predicate.do_include(dict(zip(names, values))))
        except Exception as e:
            _noted(e, 'predicate', where, row, names)
            raise
        return mask

    def _transform_rows(self, cols, where):
        func, view_names, out_names = self.transform_func, self.view_names, self.out_names
        out = []
        row = 0
        try:
            for row, values in enumerate(zip(*[cols[name] for name in view_names])):  # noqa: B007 (read in except)
                result = func(dict(zip(view_names, values)))
                try:
                    out.append(tuple(result[name] for name in out_names))
                except KeyError as e:
                    raise ValueError('TransformSpec.func returned a row without field {} of the transformed '
                                     'schema'.format(e)) from None
        except Exception as e:
            _noted(e, 'TransformSpec.func', where, row, view_names)
            raise
        return [list(c) for c in zip(*out)] if out else [[] for _ in out_names]

    def _transform_batch(self, cols, where):
        try:
            frame = self.transform_func(_data_frame({name: cols[name] for name in self.view_names}))
        except Exception as e:
            _noted(e, 'TransformSpec.func', where, None, self.view_names)
            raise
        missing = [name for name in self.out_names if name not in frame.columns]
        if missing:
            raise ValueError('TransformSpec.func returned a DataFrame without field(s) {} of the transformed '
                             'schema'.format(missing))
        return len(frame), [_frame_column(frame[name]) for name in self.out_names]


def _noted(exc, step, where, row, names):
    """``exc`` (type and message unchanged) with a note saying where it was raised: ``where`` is
    ``(decoded batch, its first row in the chunk, rows of the chunk kept by the predicate or None)``,
    ``row`` the row among those given to the callable (``None``: the whole batch)."""
    index, offset, kept = where
    at = 'the batch' if row is None else 'row {}'.format(offset + int(row if kept is None else kept[row]))
    exc.add_note('petastorm: raised by {} on {} of decoded batch {} (fields: {})'.format(
        step, at, index, ', '.join(names)))
    return exc


def _column_index(schema, name):
    index = schema.get_field_index(name)
    if index < 0:
        raise RuntimeError('the native reader returned no column {!r} (got {})'.format(name, schema.names))
    return index


def _custom_decode(field, batched, arr):
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
