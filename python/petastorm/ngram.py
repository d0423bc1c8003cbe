"""NGram: windows of consecutive rows, read with ``make_reader(url, schema_fields=NGram(...))`` (upstream's
``petastorm.ngram``).

The windows are built by the native reader (``native/src/dataset/ngram.rs``, option ``ngram`` of
``docs/ffi.md``): inside each row group (after predicates), rows in timestamp order, every run of
``length`` rows whose neighbouring timestamps differ by at most ``delta_threshold``; with
``timestamp_overlap=False`` a run is skipped unless its first timestamp comes after the last timestamp of
the window taken before it. Windows never span two row groups. Each batch arrives with its rows in
timestamp order and the first row of each window; this module only slices the columns into
``{offset: namedtuple}`` dictionaries.
"""
import numbers
from itertools import repeat

from petastorm import _arrow
from petastorm.unischema import UnischemaField, match_unischema_fields

# The native batch column holding the window starts (nulls after the last window).
_STARTS_COLUMN = '__petastorm_ngram_starts'


class NGram:
    """Windows of rows: ``fields`` maps each offset (an int) to the fields (``UnischemaField`` objects or
    regular expressions matching whole names) returned at that position of the window. The window spans
    every offset from the smallest key to the largest (``{-1: [...], 1: [...]}`` has length 3; position 0
    then holds an empty namedtuple). Consecutive rows of a window are ordered by ``timestamp_field``, and
    their timestamps differ by at most ``delta_threshold`` (inclusive).

    Each item the reader yields is ``{offset: namedtuple of that offset's fields}``. Windows are formed
    within one row group only (make row groups at least ``length`` rows). Rows of a row group that are not
    in timestamp order are sorted first (upstream raised ``NotImplementedError`` for such data).

    :param fields: ``{int offset: [UnischemaField or regex, ...]}``
    :param delta_threshold: the largest difference between the timestamps of neighbouring rows
    :param timestamp_field: the ``UnischemaField`` (or a regex matching one field name) holding the
        timestamp: numbers, dates or timestamps; it is read even when no offset lists it
    :param timestamp_overlap: ``False``: no two windows share a timestamp (each window must start after the
        last timestamp of the previous one, in row-group order)
    """

    def __init__(self, fields, delta_threshold, timestamp_field, timestamp_overlap=True):
        if fields is None or not isinstance(fields, dict):
            raise ValueError('Fields must be set and must be a dictionary.')
        for key, value in fields.items():
            if not isinstance(value, list):
                raise ValueError('Each field value must be a list of '  # noqa: TRY004 (upstream's ValueError)
                                 'unischema fields/regular expression(s)')
            if not all(isinstance(f, (UnischemaField, str)) for f in value):
                raise ValueError('All field values must be of type UnischemaField/regular expression')
            if isinstance(key, bool) or not isinstance(key, numbers.Integral):
                raise ValueError(f'Each key of fields must be an integer offset, got {key!r}')  # noqa: TRY004
        if not fields:
            raise ValueError('Fields must be set and must be a dictionary.')
        if delta_threshold is None or not isinstance(delta_threshold, numbers.Number):
            raise ValueError('delta_threshold must be a number.')
        if timestamp_field is None or not isinstance(timestamp_field, (UnischemaField, str)):
            raise ValueError('timestamp_field must be set and must be of type UnischemaField or regular expression')
        if timestamp_overlap is None or not isinstance(timestamp_overlap, bool):
            raise ValueError('timestamp_overlap must be set and must be of type bool')
        self._fields = fields
        self._delta_threshold = delta_threshold
        self._timestamp_field = timestamp_field
        self.timestamp_overlap = timestamp_overlap

    @property
    def length(self):
        """Rows per window: the largest offset minus the smallest, plus one."""
        return max(self._fields) - min(self._fields) + 1

    @property
    def fields(self):
        """``{offset: [UnischemaField, ...]}`` (regular expressions until a reader resolved them)."""
        return self._fields

    @property
    def delta_threshold(self):
        """The largest allowed difference between the timestamps of neighbouring rows."""
        return self._delta_threshold

    def resolve_regex_field_names(self, schema):
        """Replaces the regular expressions of ``fields`` and ``timestamp_field`` by the fields of ``schema``
        they match (``ValueError`` when the timestamp matches no field, or more than one)."""
        self._fields = {k: self.convert_fields(schema, v) for k, v in self._fields.items()}
        matched = self.convert_fields(schema, [self._timestamp_field])
        if len(matched) > 1:
            raise ValueError('timestamp_field was matched to more than one unischema field')
        if not matched or matched[0].name not in schema.fields:
            raise ValueError('NGram timestamp_field {!r} is not a field of the dataset (fields: {})'.format(
                getattr(self._timestamp_field, 'name', self._timestamp_field), ', '.join(schema.fields)))
        self._timestamp_field = matched[0]

    def convert_fields(self, unischema, field_list):
        """``field_list`` (``UnischemaField`` objects and regular expressions) as ``UnischemaField`` objects:
        the objects as given, then the fields of ``unischema`` matching the expressions."""
        patterns = [f for f in field_list if isinstance(f, str)]
        objects = [f for f in field_list if isinstance(f, tuple)]
        if len(patterns) + len(objects) != len(field_list):
            raise ValueError('"Elements of fields"/"timestamp field" must be either a string (regular expressions) or'
                             ' an instance of UnischemaField class.')
        return objects + match_unischema_fields(unischema, patterns)

    def get_field_names_at_timestep(self, timestep):
        """Names of the fields at offset ``timestep`` (``[]`` for an offset without fields)."""
        return [f.name for f in self._fields.get(timestep, [])]

    def get_schema_at_timestep(self, schema, timestep):
        """The view of ``schema`` holding the fields at offset ``timestep`` (in schema order)."""
        names = set(self.get_field_names_at_timestep(timestep))
        return schema.create_schema_view([f for name, f in schema.fields.items() if name in names])

    def get_field_names_at_all_timesteps(self):
        """The fields present at one offset at least."""
        return list({f for fields in self._fields.values() for f in fields})

    def make_namedtuple(self, schema, ngram_as_dicts):
        """``{offset: {name: value}}`` to ``{offset: namedtuple}`` (each offset's view of ``schema``)."""
        return {offset: self.get_schema_at_timestep(schema, offset).make_namedtuple(**values)
                for offset, values in ngram_as_dicts.items()}

    def __eq__(self, other):
        if not isinstance(other, NGram) or set(self._fields) != set(other._fields):
            return False
        return all(set(self._fields[k]) == set(other._fields[k]) for k in self._fields)

    def __ne__(self, other):
        return not self == other

    __hash__ = None

    # -- used by the reader --

    def _read_fields(self, schema):
        """The fields a reader of ``schema`` returns (every offset's fields, in schema order), after
        resolving the regular expressions."""
        self.resolve_regex_field_names(schema)
        names = {f.name for f in self.get_field_names_at_all_timesteps()}
        unknown = sorted(names - set(schema.fields))
        if unknown:
            raise ValueError('NGram fields {} are not fields of the dataset (fields: {})'.format(
                unknown, ', '.join(schema.fields)))
        return [f for name, f in schema.fields.items() if name in names]

    def _native_options(self):
        """The native reader's ``ngram`` option."""
        return {'timestamp_field': self._timestamp_field.name, 'length': self.length,
                'delta_threshold': float(self._delta_threshold), 'timestamp_overlap': self.timestamp_overlap}

    def _windows(self, schema, columns, batch):
        """The windows of one native batch: ``columns`` maps the names of ``schema`` to per-row columns of
        the batch (rows in timestamp order); the window starts come from the batch itself."""
        starts = batch.column(batch.schema.get_field_index(_STARTS_COLUMN))
        starts = _arrow.to_numpy(starts.slice(0, len(starts) - starts.null_count))  # no pandas import
        base = min(self._fields)
        offsets = range(base, base + self.length)
        per_offset = []
        for offset in offsets:
            view = self.get_schema_at_timestep(schema, offset)
            index = starts + (offset - base)
            values = [_arrow.take(columns[name], index) for name in view.fields]
            if values:
                per_offset.append(map(view._get_namedtuple()._make, zip(*values)))
            else:
                per_offset.append(repeat(view.make_namedtuple(), len(starts)))
        return [dict(zip(offsets, window)) for window in zip(*per_offset)]


__all__ = ['NGram']
