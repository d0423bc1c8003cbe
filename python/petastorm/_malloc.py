"""glibc's heap padding (and mmap threshold) for processes that run a reader's Python transform or predicate.

A per-row NumPy transform allocates a few temporaries of 100 KB to 1 MB per row (an image cast to
float32, the mean subtracted, ...). glibc serves them from the top of a malloc arena and gives the
top back to the kernel as soon as they are freed (trimming), so the next row faults the same pages in
again: measured on a 224x224 augmentation, 180-600 us per row instead of 65-120 us. ``mallopt(M_TOP_PAD,
N)`` makes every arena keep ``N`` bytes at its top when it grows or trims, so those pages stay mapped.
Setting it also freezes glibc's adaptive mmap threshold at 128 KiB, after which every such temporary the
arena top cannot hold gets its own mmap (and faults): a reader's rows keep the transformed arrays of a
batch alive, so that is most of them (5x slower on the consumer thread, measured). So ``M_MMAP_THRESHOLD``
is raised to 32 MiB (glibc's adaptive maximum) first: requests below it come from the arena.
The cost: each malloc arena (one per thread that mallocs concurrently, at most 8 per core) may keep up to
``N`` bytes more resident, and freed blocks under 32 MiB go back to their arena rather than to the kernel
(as glibc's adaptive threshold would have them after the first few).

:func:`pad_heap` does it once per process, ``PETASTORM_MALLOC_TOP_PAD`` bytes (default 16 MiB; 0
leaves malloc alone). Where the C library has no ``mallopt`` (musl, macOS) nothing happens.
"""
import ctypes
import ctypes.util
import os
import threading

DEFAULT_TOP_PAD = 16 << 20
_M_TOP_PAD = -2  # glibc's malloc.h
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 32 << 20  # the most glibc accepts on 64-bit (HEAP_MAX_SIZE / 2)
_lock = threading.Lock()
_applied = None  # bytes set by this process's mallopt (0: disabled or unavailable), None: not yet


def pad_heap():
    """Sets glibc's ``M_TOP_PAD`` once in this process (later calls do nothing); returns the bytes set,
    0 when disabled by ``PETASTORM_MALLOC_TOP_PAD=0``, unavailable or refused."""
    global _applied
    with _lock:
        if _applied is None:
            _applied = _set_top_pad(_wanted())
        return _applied


def _wanted():
    value = os.environ.get('PETASTORM_MALLOC_TOP_PAD', '').strip()
    if not value:
        return DEFAULT_TOP_PAD
    try:
        pad = int(value)
    except ValueError:
        raise ValueError('PETASTORM_MALLOC_TOP_PAD must be a number of bytes (0 disables), got {!r}'
                         .format(value)) from None
    if pad < 0 or pad >= 1 << 31:
        raise ValueError('PETASTORM_MALLOC_TOP_PAD must be in [0, 2**31), got {}'.format(pad))
    return pad


def _set_top_pad(pad):
    if pad == 0:
        return 0
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return 0
    # musl exports a mallopt that does nothing and returns 0, as glibc does for a refused option
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    if mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD) != 1:
        return 0
    return pad if mallopt(_M_TOP_PAD, pad) == 1 else 0
