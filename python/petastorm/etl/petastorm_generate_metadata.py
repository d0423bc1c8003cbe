"""petastorm-generate-metadata.py: (re)writes the ``_common_metadata`` of an existing dataset (Unischema
and row groups per file), with the stored Unischema or one named by ``--unischema_class``.

With ``--master`` the file is written through Spark's Hadoop FileSystem (``materialize_dataset``);
otherwise through the native storage layer (any store it reaches) without starting Spark. The bytes are
the same either way."""
import argparse
import sys
from pydoc import locate

from petastorm import _storage
from petastorm._ignored import warn_ignored
from petastorm.errors import PetastormMetadataGenerationError
from petastorm.etl.dataset_metadata import PetastormMetadataError, get_schema_from_dataset_url, materialize_dataset
from petastorm.fs_utils import normalize_dir_url
from petastorm.unischema import Unischema

_EXAMPLE = '''Example:

petastorm-generate-metadata.py \\
    --dataset_url file:///path/to/my/hello_world_dataset \\
    --unischema_class examples.hello_world.generate_hello_world_dataset.HelloWorldSchema
'''


def _schema(dataset_url, unischema_class):
    if unischema_class:
        schema = locate(unischema_class)
        if not isinstance(schema, Unischema):
            raise ValueError('The specified class {} is not an instance of a petastorm.Unischema object.'.format(
                unischema_class))
        return schema
    try:
        return get_schema_from_dataset_url(dataset_url)
    except PetastormMetadataError:
        raise ValueError('Unischema class could not be located in existing dataset {}, please specify it '
                         '(--unischema_class)'.format(dataset_url)) from None


def generate_petastorm_metadata(spark, dataset_url, unischema_class=None, use_summary_metadata=False):
    """Writes ``_common_metadata`` for the data files of an existing dataset.

    :param spark: a ``SparkSession`` to write through its Hadoop FileSystem, or ``None`` for the native storage layer
    :param dataset_url: the dataset directory URL
    :param unischema_class: the fully qualified name of a Unischema instance (``None``: the stored one)
    :param use_summary_metadata: accepted for upstream compatibility (warns once): no summary file is written
    :return: the number of data files described
    """
    warn_ignored('generate_petastorm_metadata', 'no Parquet summary file is written',
                 use_summary_metadata=(use_summary_metadata, False))
    dataset_url = normalize_dir_url(dataset_url)
    schema = _schema(dataset_url, unischema_class)
    if spark is not None:
        with materialize_dataset(spark, dataset_url, schema):
            pass
        return None
    try:
        return _storage.write_common_metadata(schema._native(), dataset_url)
    except PetastormMetadataError as e:
        raise PetastormMetadataGenerationError('{}: {}'.format(dataset_url, e)) from e


def _main(argv):
    parser = argparse.ArgumentParser(prog='petastorm-generate-metadata.py',
                                     description='Add necessary petastorm metadata to an existing dataset',
                                     epilog=_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--dataset_url', required=True, help='the url to the dataset base directory')
    parser.add_argument('--unischema_class', required=False,
                        help='the fully qualified class of the dataset unischema. If not specified will attempt '
                             'to reuse schema already in dataset. '
                             '(e.g. examples.hello_world.generate_hello_world_dataset.HelloWorldSchema)')
    parser.add_argument('--master', type=str,
                        help='Spark master, e.g. local[2]: write through Spark. Without it, Spark is not started.')
    parser.add_argument('--spark-driver-memory', type=str, default='4g',
                        help='The amount of memory the driver process will have (with --master)')
    parser.add_argument('--use-summary-metadata', action='store_true',
                        help='Accepted for compatibility; no Parquet summary file is written.')
    args = parser.parse_args(argv)
    spark = None
    if args.master:
        from pyspark.sql import SparkSession
        spark = SparkSession.builder.appName('Petastorm Generate Metadata').master(args.master) \
            .config('spark.driver.memory', args.spark_driver_memory).getOrCreate()
    try:
        count = generate_petastorm_metadata(spark, args.dataset_url, args.unischema_class, args.use_summary_metadata)
    finally:
        if spark is not None:
            spark.stop()
    described = '' if count is None else ' ({} data files)'.format(count)
    print('Wrote {}/_common_metadata{}'.format(normalize_dir_url(args.dataset_url), described), file=sys.stderr)


def main():
    """Console script ``petastorm-generate-metadata.py``."""
    _main(sys.argv[1:])


if __name__ == '__main__':
    main()
