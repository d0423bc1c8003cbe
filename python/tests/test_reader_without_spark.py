"""A training machine reads with only numpy and pyarrow: no pyspark, no JVM (legacy pickles
that name pyspark types included)."""
import subprocess
import sys
import textwrap

from _reader_helpers import FIXTURES

_READ_WITHOUT_SPARK = textwrap.dedent('''
    import sys

    class Block:
        """Makes importing pyspark (or py4j) fail, as on a machine without them."""
        def find_spec(self, name, path=None, target=None):
            if name.split('.')[0] in ('pyspark', 'py4j'):
                raise ImportError('blocked: ' + name)

    sys.meta_path.insert(0, Block())
    from petastorm import make_reader
    for url in sys.argv[1:]:
        with make_reader(url, workers_count=1) as reader:
            rows = list(reader)
            print(url.rsplit('/', 1)[-1], len(rows), sorted(reader.schema.fields)[0])
    assert not any(m.split('.')[0] in ('pyspark', 'py4j') for m in sys.modules)
''')


def test_make_reader_needs_no_pyspark():
    urls = [(FIXTURES / 'petastorm-legacy' / '0.7.6').as_uri(), (FIXTURES / 'petastorm-0.13.1' / 'hello').as_uri()]
    proc = subprocess.run([sys.executable, '-c', _READ_WITHOUT_SPARK, *urls], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ['0.7.6 100 decimal', 'hello 20 array_4d']
