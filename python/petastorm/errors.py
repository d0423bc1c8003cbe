"""Exceptions raised by petastorm.

Each native error kind (see ``pst_error_table``) maps to one Python class by name.
The upstream names and base classes are kept, and each class also derives from the fitting built-in,
so ``except ValueError`` keeps working for callers that do not know our classes.
"""


class PetastormMetadataError(ValueError):
    """Dataset metadata is missing, lacks needed information, or is corrupt."""


class PetastormMetadataGenerationError(Exception):
    """Petastorm metadata could not be generated for a dataset (upstream name)."""


class DecodeFieldError(RuntimeError, ValueError):
    """Stored cell bytes could not be decoded into what their field declares. A ``RuntimeError`` as
    upstream's (user code catches it so), and a ``ValueError`` as this package's earlier releases."""


class NoDataAvailableError(ValueError):
    """A read plan selected no data (for example a shard beyond the row groups)."""


class PetastormInternalError(RuntimeError):
    """A bug in the native library, or a panic caught at its boundary."""


__all__ = ['PetastormMetadataError', 'PetastormMetadataGenerationError', 'DecodeFieldError',
           'NoDataAvailableError', 'PetastormInternalError']
