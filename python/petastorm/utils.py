"""Upstream's ``petastorm.utils`` location of :class:`DecodeFieldError`."""

from petastorm.errors import DecodeFieldError  # noqa: F401

__all__ = ['DecodeFieldError']
