"""Fixtures of the end-to-end tests."""
import pytest

from e2e import EXAMPLES_JAR, JAR


def _built(path):
    if not path.exists():
        pytest.fail(f'{path} is missing: run scripts/build.sh')
    return path


@pytest.fixture(scope='session')
def jar():
    """The built library jar (with the native library inside); scripts/build.sh makes it."""
    return _built(JAR)


@pytest.fixture(scope='session')
def examples_jar(jar):
    """The built jar of the Scala example jobs (run with ``e2e.run_scala_example``)."""
    return _built(EXAMPLES_JAR)
