"""Petastorm, native: Parquet datasets of tensors written by Spark and read by trainers.

Public module paths are upstream Petastorm's (``petastorm.unischema``, ``petastorm.codecs``,
``petastorm.etl.dataset_metadata``); encoding, decoding and metadata run in a Rust library
loaded through ctypes (see ``petastorm._native``).
"""

__version__ = '0.1.0'
