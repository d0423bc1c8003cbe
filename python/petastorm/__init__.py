"""Petastorm, native: Parquet datasets of tensors written by Spark and read by trainers.

Public module paths are upstream Petastorm's (``petastorm.unischema``, ``petastorm.codecs``,
``petastorm.etl.dataset_metadata``); encoding, decoding and metadata run in a Rust library
loaded through ctypes (see ``petastorm._native``). ``make_reader``/``make_batch_reader`` (upstream's
``petastorm.make_reader``) are imported on first use, so ``import petastorm`` stays light.
"""

from petastorm.errors import NoDataAvailableError  # noqa: F401  (upstream exports it here)

# The upstream release whose API this package matches, plus a PEP 440 local label naming this
# implementation and its own release: version checks written for upstream (``>= '0.12'``) pass,
# and ``+native`` tells the two apart in bug reports.
__version__ = '0.13.1+native.0.1.0'

__all__ = ['make_reader', 'make_batch_reader', 'TransformSpec', 'NoDataAvailableError']


def __getattr__(name):
    if name in ('make_reader', 'make_batch_reader'):
        from petastorm import reader
        return getattr(reader, name)
    if name == 'TransformSpec':
        from petastorm.transform import TransformSpec
        return TransformSpec
    raise AttributeError('module {!r} has no attribute {!r}'.format(__name__, name))
