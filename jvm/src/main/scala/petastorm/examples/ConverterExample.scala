package petastorm.examples

import com.fasterxml.jackson.databind.ObjectMapper
import org.apache.spark.SparkConf
import org.apache.spark.sql.{Column, DataFrame, SparkSession}
import org.apache.spark.sql.functions.col
import petastorm.spark.SparkDatasetConverter

/**
 * The Scala converter from `spark-submit`:
 * `spark-submit --class petastorm.examples.ConverterExample --jars petastorm-native.jar petastorm-native-examples.jar
 * <parentCacheDirUrl> [rows=100] [--persistent] [--vectors]`.
 * Converts [[ConverterExample.dataFrame]] and prints one line `CONVERTER {"cacheDirUrl":..., "fileUrls":[...],
 * "datasetSize":n}` for a trainer. Without `--persistent` the cache is removed when the job exits.
 * With `--vectors` it also converts a DataFrame with an ML vector column (spark-mllib must be on the
 * classpath, as in a Spark distribution), reads it back and prints `VECTORS {"type":..., "rows":[...]}`.
 */
object ConverterExample {
  /** The example's DataFrame: the same expressions from Python give the same plan (and persistent key). */
  val Columns: Seq[String] = Seq(
    "id",
    "cast(id as double) * 0.5 as x",
    "cast(id as int) as i",
    "array(cast(id as double), cast(id + 1 as double)) as arr",
    "cast(id as string) as s",
    "cast(id as decimal(10, 2)) as d",
    "id % 2 = 0 as flag",
    "if(id % 3 = 0, null, cast(id as float)) as maybe")

  def dataFrame(spark: SparkSession, rows: Long): DataFrame = spark.range(0, rows, 1, 2).selectExpr(Columns: _*)

  /** Converts `id, array_to_vector([id, 1.0])` and describes what was written. */
  private def vectors(spark: SparkSession, mapper: ObjectMapper): String = {
    val toVector = Class.forName("org.apache.spark.ml.functions").getMethod("array_to_vector", classOf[Column])
    val arrays = spark.range(0, 4, 1, 1).selectExpr("id", "array(cast(id as double), 1.0) as a")
    val df = arrays.select(col("id"), toVector.invoke(null, col("a")).asInstanceOf[Column].as("v"))
    val converter = SparkDatasetConverter.make(df)
    val back = spark.read.parquet(converter.fileUrls: _*).orderBy("id")
    val out = mapper.createObjectNode()
    out.put("input", df.schema("v").dataType.getClass.getName).put("type", back.schema("v").dataType.simpleString)
    val rows = out.putArray("rows")
    back.collect().foreach { r =>
      val row = rows.addArray().add(r.getLong(0))
      r.getSeq[Float](1).foreach(v => row.add(v))
    }
    converter.delete()
    mapper.writeValueAsString(out)
  }

  def main(args: Array[String]): Unit = {
    if (args.isEmpty) {
      System.err.println("usage: ConverterExample <parentCacheDirUrl> [rows=100] [--persistent] [--vectors]")
      sys.exit(2)
    }
    val rows = args.drop(1).find(!_.startsWith("--")).map(_.toLong).getOrElse(100L)
    val conf = new SparkConf().setAppName("petastorm-native converter example")
    if (!conf.contains("spark.master")) conf.setMaster("local[2]")
    val spark = SparkSession.builder().config(conf).getOrCreate()
    try {
      spark.conf.set(SparkDatasetConverter.PARENT_CACHE_DIR_URL_CONF, args(0))
      spark.conf.set(SparkDatasetConverter.PERSISTENT_CACHE_CONF, args.contains("--persistent").toString)
      val converter = SparkDatasetConverter.make(dataFrame(spark, rows))
      val mapper = new ObjectMapper()
      val out = mapper.createObjectNode()
      out.put("cacheDirUrl", converter.cacheDirUrl).put("datasetSize", converter.datasetSize)
        .put("persistent", converter.persistent)
      val urls = out.putArray("fileUrls")
      converter.fileUrls.foreach(urls.add)
      println("CONVERTER " + mapper.writeValueAsString(out))
      if (args.contains("--vectors")) println("VECTORS " + vectors(spark, mapper))
    } finally spark.stop()
  }
}
