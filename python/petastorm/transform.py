"""User transformations applied to loaded rows (upstream's ``petastorm.transform``).

``make_reader`` calls ``TransformSpec.func`` with each decoded row as a dict and expects a dict
back; ``make_batch_reader`` calls it with a pandas DataFrame of the batch and expects a DataFrame
back. ``transform_schema`` derives the schema the reader then yields.
"""
import warnings

from petastorm.unischema import Unischema, UnischemaField


def edit_field(name, numpy_dtype, shape, nullable=False):
    """The ``(name, numpy_dtype, shape, is_nullable)`` tuple used in ``TransformSpec.edit_fields``."""
    return name, numpy_dtype, shape, nullable


class TransformSpec(object):
    """A row transformation and the schema edits it makes.

    :param func: optional callable: row dict -> row dict (``make_reader``) or DataFrame -> DataFrame
        (``make_batch_reader``); its result must fit the post-transform schema
    :param edit_fields: optional list of ``(name, numpy_dtype, shape, is_nullable)``: fields added or
        changed by ``func``
    :param removed_fields: optional list of field names removed from the schema
    :param selected_fields: optional list of field names to keep, in this order (only one of
        ``removed_fields`` and ``selected_fields`` may be given)
    """

    def __init__(self, func=None, edit_fields=None, removed_fields=None, selected_fields=None):
        self.func = func
        self.edit_fields = edit_fields or []
        if removed_fields is not None and selected_fields is not None:
            raise ValueError('User can only specify one of removed_fields and selected_fields in TransformSpec.')
        self.removed_fields = removed_fields or []
        self.selected_fields = selected_fields


def transform_schema(schema, transform_spec):
    """The post-transform :class:`~petastorm.unischema.Unischema` of ``schema`` under ``transform_spec``:
    removed fields dropped, edited fields replaced (appended, codec-less), then ``selected_fields``
    kept in their order. Unknown names in ``removed_fields``/``selected_fields`` are warned about."""
    removed = set(transform_spec.removed_fields)
    unknown = removed - set(schema.fields)
    if unknown:
        warnings.warn('remove_fields specified some field names that are not part of the schema. '
                      'These field names will be ignored "{}". '.format(', '.join(sorted(unknown))))
    excluded = {f[0] for f in transform_spec.edit_fields} | removed
    fields = [f for name, f in schema.fields.items() if name not in excluded]
    for name, numpy_dtype, shape, nullable in transform_spec.edit_fields:
        shape = tuple(shape) if isinstance(shape, list) else shape
        fields.append(UnischemaField(name=name, numpy_dtype=numpy_dtype, shape=shape, codec=None, nullable=nullable))
    selected = transform_spec.selected_fields
    if selected is not None:
        unknown = set(selected) - {f.name for f in fields}
        if unknown:
            warnings.warn('selected_fields specified some field names that are not part of the schema. '
                          'These field names will be ignored "{}". '.format(', '.join(sorted(unknown))))
        order = {name: i for i, name in enumerate(selected)}
        fields = sorted((f for f in fields if f.name in order), key=lambda f: order[f.name])
    return Unischema(schema._name + '_transformed', fields)


__all__ = ['TransformSpec', 'transform_schema', 'edit_field']
