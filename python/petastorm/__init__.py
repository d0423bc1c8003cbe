"""Petastorm, native: Parquet datasets of tensors written by Spark and read by trainers.

Public module paths are upstream Petastorm's (``petastorm.unischema``, ``petastorm.codecs``,
``petastorm.etl.dataset_metadata``); encoding, decoding and metadata run in a Rust library
loaded through ctypes (see ``petastorm._native``). ``make_reader``/``make_batch_reader`` (upstream's
``petastorm.make_reader``) are imported on first use, so ``import petastorm`` stays light.
"""

__version__ = '0.1.0'

__all__ = ['make_reader', 'make_batch_reader', 'TransformSpec']


def __getattr__(name):
    if name in ('make_reader', 'make_batch_reader'):
        from petastorm import reader
        return getattr(reader, name)
    if name == 'TransformSpec':
        from petastorm.transform import TransformSpec
        return TransformSpec
    raise AttributeError('module {!r} has no attribute {!r}'.format(__name__, name))
