"""A one-line progress bar on stderr for the command-line tools: done/total, rate and ETA."""
import sys
import time


class Progress(object):
    """``update(n)`` adds ``n`` units; the line is redrawn at most every ``interval_s`` seconds and
    once more by :meth:`close`. ``total=None`` shows no bar and no ETA.

    :param label: what is being done, e.g. ``'reading'``
    :param total: units expected, or ``None``
    :param unit: the unit's name, e.g. ``'rows'``
    """

    def __init__(self, label, total=None, unit='rows', stream=None, interval_s=0.2, width=30):
        self._label, self._total, self._unit = label, total, unit
        self._stream = stream if stream is not None else sys.stderr
        self._interval_s, self._width = interval_s, width
        self._done = 0
        self._start = self._last = time.monotonic()

    @property
    def total(self):
        return self._total

    def update(self, n=1):
        self._done += n
        now = time.monotonic()
        if now - self._last >= self._interval_s:
            self._last = now
            self._draw(now)

    def close(self):
        self._draw(time.monotonic())
        self._stream.write('\n')
        self._stream.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def line(self, now):
        """The text of the progress line at time ``now``."""
        elapsed = max(now - self._start, 1e-9)
        rate = self._done / elapsed
        text = '{} {} {}/s'.format(self._label, self._count(), _number(rate))
        if self._total:
            filled = int(self._width * min(self._done, self._total) / self._total)
            bar = '#' * filled + '.' * (self._width - filled)
            eta = (self._total - self._done) / rate if rate > 0 else float('inf')
            text = '{} [{}] {} {}/s ETA {}'.format(self._label, bar, self._count(), _number(rate), _duration(eta))
        return text

    def _count(self):
        if self._total:
            return '{}/{} {}'.format(self._done, self._total, self._unit)
        return '{} {}'.format(self._done, self._unit)

    def _draw(self, now):
        self._stream.write('\r' + self.line(now))
        self._stream.flush()


def _number(x):
    return '{:.1f}'.format(x)


def _duration(seconds):
    if seconds == float('inf'):
        return '?'
    seconds = max(int(round(seconds)), 0)
    return '{}:{:02d}:{:02d}'.format(seconds // 3600, seconds // 60 % 60, seconds % 60)
