"""Upstream parameters this package accepts but has no use for: a non-default value warns once
per process and parameter (``UserWarning``), so code written for upstream runs unchanged and
its author learns which knobs do nothing here."""
import warnings

_warned = set()


def warn_ignored(function, reason, **given_and_defaults):
    """Warns once for each ``name=(value, default)`` whose value is not its default.

    :param function: the public function name, e.g. ``'make_reader'``
    :param reason: why the parameters have no effect here
    """
    for name, (value, default) in given_and_defaults.items():
        key = (function, name)
        if value != default and key not in _warned:
            _warned.add(key)
            warnings.warn('{}: parameter {}={!r} has no effect in this petastorm ({})'.format(
                function, name, value, reason), UserWarning, stacklevel=3)
