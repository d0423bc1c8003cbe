"""Shared fixtures: the compatibility fixtures folder (the local Spark session is in the root conftest)."""
from pathlib import Path

import pytest

FIXTURES = (Path(__file__).resolve().parents[2] / '..' / 'shared' / 'fixtures').resolve()


@pytest.fixture(scope='session')
def fixtures_dir():
    """``<repo root>/../shared/fixtures`` (read only; never copied)."""
    assert FIXTURES.is_dir(), 'compatibility fixtures not found at {}'.format(FIXTURES)
    return FIXTURES
