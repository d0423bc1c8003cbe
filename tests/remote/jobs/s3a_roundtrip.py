"""spark-submit job: writes a small DataFrame as Parquet to URL (argv[1]), reads it back, checks it."""
import sys

from pyspark.sql import SparkSession

url = sys.argv[1]
spark = SparkSession.builder.appName('s3a-roundtrip').getOrCreate()
spark.range(100).selectExpr('id', 'id * 2 AS twice').repartition(2).write.mode('overwrite').parquet(url)
rows = spark.read.parquet(url).orderBy('id').collect()
assert [(r.id, r.twice) for r in rows] == [(i, 2 * i) for i in range(100)], rows[:5]
print('S3A_ROUNDTRIP_OK', len(rows))
spark.stop()
