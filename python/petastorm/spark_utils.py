"""Spark helpers for Petastorm datasets (upstream's ``petastorm.spark_utils``)."""
from petastorm import utils
from petastorm.etl.dataset_metadata import get_schema_from_dataset_url


def dataset_as_rdd(dataset_url, spark_session, schema_fields=None):
    """An RDD of the dataset's rows as the Unischema's namedtuples, decoded in the Python workers.

    :param dataset_url: the dataset URL (any URL Spark reads)
    :param spark_session: a ``SparkSession``
    :param schema_fields: ``None`` (all fields) or a list of ``UnischemaField`` to keep
    """
    schema = get_schema_from_dataset_url(dataset_url)
    frame = spark_session.read.parquet(dataset_url)
    if schema_fields is not None:
        schema = schema.create_schema_view(schema_fields)
        frame = frame.select(*[field.name for field in schema_fields])
    return frame.rdd \
        .map(lambda row: utils.decode_row(row.asDict(), schema)) \
        .map(lambda record: schema.make_namedtuple(**record))


__all__ = ['dataset_as_rdd']
