"""Fixtures of the end-to-end tests."""
import pytest

from e2e import JAR


@pytest.fixture(scope='session')
def jar():
    """The built jar (with the native library inside); scripts/build.sh makes it."""
    if not JAR.exists():
        pytest.fail(f'{JAR} is missing: run scripts/build.sh')
    return JAR
