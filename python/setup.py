"""Marks the distribution as platform-specific: the wheel bundles a native library
(``petastorm/_lib/libpetastorm_native.so``), so it must not be tagged pure Python.
All other metadata lives in ``pyproject.toml``."""
from setuptools import setup
from setuptools.dist import Distribution


class BinaryDistribution(Distribution):
    """A distribution that carries a compiled library."""

    def has_ext_modules(self):
        return True


setup(distclass=BinaryDistribution)
