"""Spark DataFrame converter (upstream's ``petastorm.spark``): ``make_spark_converter(df)`` materializes
a DataFrame as Parquet and returns a :class:`SparkDatasetConverter` that makes TensorFlow datasets and
PyTorch data loaders over it. Importing this package does not import pyspark."""
from petastorm.spark.spark_dataset_converter import SparkDatasetConverter, make_spark_converter  # noqa: F401

__all__ = ['SparkDatasetConverter', 'make_spark_converter']
