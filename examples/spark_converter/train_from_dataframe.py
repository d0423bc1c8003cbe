"""From a Spark DataFrame to PyTorch and TensorFlow: ``make_spark_converter(df)`` materializes the
DataFrame once as Parquet under a cache directory, then feeds one PyTorch epoch
(``make_torch_dataloader``) and one TensorFlow epoch (``make_tf_dataset``) from it, and
``converter.delete()`` removes the cache.

Usage: ``train_from_dataframe.py [parent_cache_dir_url] [rows]`` (Spark in local mode).
"""
import os
import sys
from urllib.parse import urlparse

from pyspark.sql import SparkSession

from petastorm.spark import SparkDatasetConverter, make_spark_converter

BATCH_SIZE = 64


def make_dataframe(spark, rows):
    """Two features in [0, 1) and a label saying whether they add up to more than 1."""
    return spark.range(rows).selectExpr('rand(1) as x1', 'rand(2) as x2') \
        .selectExpr('x1', 'x2', 'cast(x1 + x2 > 1 as double) as label')


def torch_epoch(converter):
    """One epoch of a logistic regression in PyTorch; batches are dicts of tensors, one per column."""
    import torch
    torch.manual_seed(0)
    model = torch.nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    rows = 0
    with converter.make_torch_dataloader(batch_size=BATCH_SIZE, num_epochs=1) as loader:
        for batch in loader:
            features = torch.stack([batch['x1'], batch['x2']], dim=1)
            optimizer.zero_grad()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(model(features)[:, 0], batch['label'])
            loss.backward()
            optimizer.step()
            rows += len(batch['label'])
    print(f'pytorch epoch: {rows} rows, last batch loss {loss.item():.4f}')
    return rows


def tf_epoch(converter):
    """One epoch of the same model in TensorFlow; batches are namedtuples of tensors, one per column."""
    import tensorflow as tf
    tf.random.set_seed(0)
    model = tf.keras.Sequential([tf.keras.Input(shape=(2,)), tf.keras.layers.Dense(1)])
    optimizer = tf.keras.optimizers.SGD(0.5)
    rows = 0
    with converter.make_tf_dataset(batch_size=BATCH_SIZE, num_epochs=1) as dataset:
        for batch in dataset:
            features = tf.stack([batch.x1, batch.x2], axis=1)
            with tf.GradientTape() as tape:
                logits = model(features)[:, 0]
                loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=batch.label, logits=logits))
            optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
            rows += int(tf.shape(batch.label)[0])
    print(f'tensorflow epoch: {rows} rows, last batch loss {float(loss):.4f}')
    return rows


def main(parent_cache_dir_url='file:///tmp/petastorm_converter_cache', rows=10000):
    spark = SparkSession.builder.master('local[2]').appName('petastorm converter example') \
        .config(SparkDatasetConverter.PARENT_CACHE_DIR_URL_CONF, parent_cache_dir_url).getOrCreate()
    try:
        converter = make_spark_converter(make_dataframe(spark, int(rows)))
        print(f'converted {len(converter)} rows into {len(converter.file_urls)} Parquet file(s) '
              f'under {converter.cache_dir_url}')
        torch_epoch(converter)
        tf_epoch(converter)
        converter.delete()
        left = os.path.exists(urlparse(converter.cache_dir_url).path)
        print(f'deleted {converter.cache_dir_url}: still there: {left}')
    finally:
        spark.stop()


if __name__ == '__main__':
    main(*sys.argv[1:3])
