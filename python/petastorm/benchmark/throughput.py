"""Measures how fast a reader yields samples (upstream's ``petastorm.benchmark.throughput``)."""
import os
import time
from collections import namedtuple
from enum import Enum

from petastorm import make_reader
from petastorm._ignored import warn_ignored
from petastorm.tools._progress import Progress

BenchmarkResult = namedtuple('BenchmarkResult', ['time_mean', 'samples_per_second', 'memory_info', 'cpu'])
MemoryInfo = namedtuple('MemoryInfo', ['rss'])


class WorkerPoolType(Enum):
    """The reader's ``reader_pool_type``."""
    THREAD = 'thread'
    PROCESS = 'process'
    NONE = 'dummy'

    def __str__(self):
        return self.value


class ReadMethod(Enum):
    """``python``: ``next(reader)``; ``tf``: through ``make_petastorm_dataset``."""
    PYTHON = 'python'
    TF = 'tf'

    def __str__(self):
        return self.value


def _rss_bytes():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


def _samples(reader, read_method, shuffling_queue_size):
    if read_method == ReadMethod.PYTHON:
        return reader
    import tensorflow as tf  # noqa: F401
    from petastorm.tf_utils import make_petastorm_dataset
    dataset = make_petastorm_dataset(reader)
    if shuffling_queue_size:
        dataset = dataset.shuffle(shuffling_queue_size)
    return iter(dataset)


def reader_throughput(dataset_url, field_regex=None, warmup_cycles_count=300, measure_cycles_count=1000,
                      pool_type=WorkerPoolType.THREAD, loaders_count=3, profile_threads=False,
                      read_method=ReadMethod.PYTHON, shuffling_queue_size=500, min_after_dequeue=400,
                      reader_extra_args=None, show_progress=True):
    """Reads ``warmup_cycles_count`` samples, then times ``measure_cycles_count`` more (the reader loops
    over the dataset as often as needed) and returns a :class:`BenchmarkResult`: seconds per sample,
    samples per second, the process's resident memory (``memory_info.rss``, bytes) and its CPU use
    (percent of one core) during the measurement.

    :param field_regex: regular expressions of the fields to read (``None``: all)
    :param profile_threads: accepted for upstream compatibility (warns once when set): decoding runs in native
        threads, which Python's profiler does not see
    :param min_after_dequeue: accepted for upstream compatibility (the tf method shuffles with ``Dataset.shuffle``)
    :param reader_extra_args: more keyword arguments of ``make_reader``
    """
    warn_ignored('reader_throughput', 'decoding runs in native threads', profile_threads=(profile_threads, False))
    progress = Progress('reading', warmup_cycles_count + measure_cycles_count, 'samples') if show_progress else None
    with make_reader(dataset_url, schema_fields=field_regex, reader_pool_type=str(pool_type),
                     workers_count=loaders_count, num_epochs=None, **(reader_extra_args or {})) as reader:
        samples = _samples(reader, read_method, shuffling_queue_size)
        _read(samples, warmup_cycles_count, progress)
        cpu_before, start = os.times(), time.monotonic()
        _read(samples, measure_cycles_count, progress)
        elapsed, cpu_after = time.monotonic() - start, os.times()
    if progress is not None:
        progress.close()
    cpu_seconds = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    return BenchmarkResult(time_mean=elapsed / measure_cycles_count,
                           samples_per_second=measure_cycles_count / elapsed,
                           memory_info=MemoryInfo(rss=_rss_bytes()),
                           cpu=100.0 * cpu_seconds / elapsed)


def _read(samples, count, progress):
    for _ in range(count):
        next(samples)
        if progress is not None:
            progress.update()
