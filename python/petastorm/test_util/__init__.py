"""Helpers for testing code that consumes petastorm readers (upstreams ``petastorm.test_util``)."""
