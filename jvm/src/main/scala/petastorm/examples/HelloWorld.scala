package petastorm.examples

import org.apache.spark.SparkConf
import org.apache.spark.sql.SparkSession

import petastorm.etl.DatasetMetadata

/**
 * Upstream's hello-world dataset generator, in Scala:
 * `spark-submit --class petastorm.examples.HelloWorld --jars petastorm-native.jar petastorm-native-examples.jar
 * <output_url> [rows=10]`.
 * Rows are encoded in the executors, through JNI.
 */
object HelloWorld {
  def main(args: Array[String]): Unit = {
    if (args.isEmpty) {
      System.err.println("usage: HelloWorld <output_url> [rows=10]")
      sys.exit(2)
    }
    val rows = if (args.length > 1) args(1).toInt else 10
    val conf = new SparkConf().setAppName("petastorm-native hello world")
    if (!conf.contains("spark.master")) conf.setMaster("local[2]")
    val spark = SparkSession.builder().config(conf).getOrCreate()
    try generate(spark, args(0), rows) finally spark.stop()
  }

  /** Writes `rows` hello-world rows to `outputUrl` with `_common_metadata`. */
  def generate(spark: SparkSession, outputUrl: String, rows: Int): Unit = {
    val schema = HelloWorldData.schema
    DatasetMetadata.materializeDataset(spark, outputUrl, schema, 256) {
      val rdd = spark.sparkContext.parallelize(0 until rows)
        .map(i => DatasetMetadata.dictToSparkRow(schema, HelloWorldData.row(i)))
      spark.createDataFrame(rdd, schema.asSparkSchema)
        .coalesce(10)
        .write.mode("overwrite")
        .parquet(outputUrl)
    }
  }
}
