"""``WeightedSamplingReader``: mixes several readers, drawing each item from one of them with a given
probability (upstream's ``petastorm.weighted_sampling_reader``)."""
import numpy as np


class WeightedSamplingReader(object):
    """Each ``next`` picks a reader at random, weighted by ``probabilities`` (normalized to sum to 1), and
    returns that reader's next item; iteration ends when the picked reader has no more data. Usable
    where a :class:`~petastorm.reader.Reader` is (iterator, context manager, ``stop``/``join``).

    :param readers: two or more readers with the same schema fields, ``batched_output`` and ``ngram``
    :param probabilities: one non-negative weight per reader
    :param seed: seed of the draws (``None``: NumPy's global random state, as upstream)
    :raises ValueError: fewer than two readers, lengths that differ, or readers that do not match
    """

    def __init__(self, readers, probabilities, seed=None):
        if len(readers) <= 1:
            raise ValueError('Two or more readers must be specified. Got {}.'.format(len(readers)))
        if len(readers) != len(probabilities):
            raise ValueError('readers and probabilities are expected to be lists of the same length')
        weights = np.asarray(probabilities, dtype=np.float64)
        if (weights < 0).any() or not weights.sum() > 0:
            raise ValueError('probabilities must be non-negative and not all zero, got {}'.format(list(probabilities)))
        first = readers[0]
        for index, other in enumerate(readers[1:], start=1):
            if other.batched_output != first.batched_output:
                raise ValueError('All readers passed to WeightedSamplingReader should have the same value of '
                                 '"batched_output" attribute (reader {} differs from reader 0)'.format(index))
            if getattr(other, 'ngram', None) != getattr(first, 'ngram', None):
                raise ValueError('All readers passed to WeightedSamplingReader should have the same ngram spec '
                                 '(reader {} differs from reader 0)'.format(index))
            if list(other.schema.fields.values()) != list(first.schema.fields.values()):
                raise ValueError('All readers passed to WeightedSamplingReader should have the same schema '
                                 '(reader {} has fields {}, reader 0 has {})'.format(
                                     index, list(other.schema.fields), list(first.schema.fields)))
        self._readers = list(readers)
        self._cum_prob = np.cumsum(weights / weights.sum())
        self._random = np.random.random if seed is None else np.random.RandomState(seed).random_sample
        self.schema = first.schema
        self.ngram = getattr(first, 'ngram', None)
        self.batched_output = first.batched_output
        self.is_batched_reader = first.batched_output

    def __iter__(self):
        return self

    def __next__(self):
        index = int(np.searchsorted(self._cum_prob, self._random(), side='right'))
        return next(self._readers[min(index, len(self._readers) - 1)])

    def next(self):
        return self.__next__()

    def stop(self):
        for reader in self._readers:
            reader.stop()

    def join(self):
        for reader in self._readers:
            reader.join()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.stop()
        self.join()


__all__ = ['WeightedSamplingReader']
