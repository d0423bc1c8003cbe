"""Native log records → Python :mod:`logging` (see ``docs/ffi.md``, "Log records").

Once the library is loaded, the native level follows ``logging.getLogger('petastorm')``'s
effective level, and one daemon thread drains the records: each goes to the logger the record
names (``petastorm.native.dataset.reader``, ``petastorm.native.object_store``, ...) with its
level and time, the native thread's name as ``threadName`` (and ``native_thread``), and its
``log`` target as ``native_target``. A ``fork()``ed child starts its own thread on its next
native reader, writer or :func:`flush`.
"""
import json
import logging
import os
import sys
import threading
from ctypes import byref, c_int32, c_size_t, c_void_p

LOGGER = logging.getLogger('petastorm')
# How long the drain thread waits in native code for a record before re-reading the level.
_POLL_MS = 250
# Native levels (1 error .. 5 trace) as Python levels, most verbose first.
_LEVELS = ((5, 5), (4, logging.DEBUG), (3, logging.INFO), (2, logging.WARNING), (1, logging.ERROR))
_PYTHON_LEVEL = dict(_LEVELS)

_state = {'pid': None, 'thread': None, 'level': None}
_start_lock = threading.Lock()
# Held while records are taken and emitted, so flush() waits for the thread's records in hand
# (re-entrant: a handler may close a reader, which flushes).
_emit_lock = threading.RLock()


def _native():
    from petastorm import _native
    return _native


def native_level(python_level):
    """The native level (0 off .. 5 trace) that keeps what a logger at ``python_level`` emits."""
    return next((native for native, level in _LEVELS if python_level <= level), 0)


def sync_level():
    """Sets the native level from the 'petastorm' logger's effective level (when it changed)."""
    level = native_level(LOGGER.getEffectiveLevel())
    if level != _state['level']:
        _native()._call('log_set_level', level)
        _state['level'] = level


def ensure_started():
    """Syncs the level and starts the drain thread of this process, unless it runs."""
    sync_level()
    thread = _state['thread']
    if thread is not None and thread.is_alive() and _state['pid'] == os.getpid():
        return
    with _start_lock:
        if _state['thread'] is None or not _state['thread'].is_alive() or _state['pid'] != os.getpid():
            thread = threading.Thread(target=_drain_forever, name='petastorm-native-log', daemon=True)
            thread.start()
            _state['thread'], _state['pid'] = thread, os.getpid()


def flush():
    """Emits every native record queued so far, in this thread (also waits for the drain
    thread's records in hand)."""
    sync_level()
    with _emit_lock:
        _drain_queued()


def _drain_forever():
    ready = c_int32()
    try:
        while not sys.is_finalizing():
            sync_level()
            _native()._call('log_wait', _POLL_MS, byref(ready))  # the GIL is released while waiting
            if ready.value:
                with _emit_lock:
                    _drain_queued()
    except Exception:  # handlers report their own errors: this is the binding itself failing
        if not sys.is_finalizing():
            LOGGER.exception('petastorm: native log records are no longer forwarded')


def _drain_queued():
    native = _native()
    out, n = c_void_p(), c_size_t()
    while True:
        native._call('log_next', 0, byref(out), byref(n))
        if not out.value:
            return
        _emit(json.loads(native._take(native.lib(), out, n, bytes)))


def _emit(record):
    logger = logging.getLogger(record['logger'])
    level = _PYTHON_LEVEL.get(record['level'], logging.ERROR)
    if not logger.isEnabledFor(level):
        return
    extra = {'native_thread': record['thread'], 'native_target': record['target']}
    rec = logger.makeRecord(logger.name, level, record['target'], 0, record['message'], None, None, extra=extra)
    rec.created = record['time_ms'] / 1000.0
    rec.msecs = record['time_ms'] % 1000
    rec.threadName = record['thread']
    logger.handle(rec)


def _after_fork_in_child():
    global _start_lock, _emit_lock
    # The parent's drain thread does not exist here, and it may have held these locks.
    _start_lock, _emit_lock = threading.Lock(), threading.RLock()
    _state['thread'] = None


os.register_at_fork(after_in_child=_after_fork_in_child)
