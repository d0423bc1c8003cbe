package petastorm.examples

import org.apache.spark.SparkConf
import org.apache.spark.sql.SparkSession
import org.apache.spark.sql.functions.col
import org.apache.spark.sql.types.StringType

import petastorm.codecs.{CompressedImageCodec, ScalarCodec}
import petastorm.etl.DatasetWriter
import petastorm.unischema.{Unischema, UnischemaField}

/**
 * A folder of JPEG/PNG files → a Petastorm dataset, entirely in the JVM:
 * `spark-submit --class petastorm.examples.ImageFolderJob --jars petastorm-native.jar petastorm-native-examples.jar
 * <input_folder> <output_url> [png|jpeg] [rowGroupSizeMb=32]`.
 *
 * Spark's image source decodes the files (BGR structs); `DatasetWriter.writeDataset` converts them to
 * RGB and encodes them (PNG or JPEG) in the executors through JNI. Files the image source cannot
 * decode are skipped. Fields: `path` (the file's URI) and `image` (uint8, (H, W, 3), any size).
 */
object ImageFolderJob {
  def schema(format: String): Unischema = Unischema("ImageFolderSchema", Seq(
    UnischemaField("path", "str", Seq(), ScalarCodec(StringType), nullable = false),
    UnischemaField("image", "uint8", Seq(None, None, Some(3)), CompressedImageCodec(format), nullable = false)))

  def main(args: Array[String]): Unit = {
    if (args.length < 2) {
      System.err.println("usage: ImageFolderJob <input_folder> <output_url> [png|jpeg] [rowGroupSizeMb=32]")
      sys.exit(2)
    }
    val format = if (args.length > 2) args(2) else "png"
    val rowGroupSizeMb = if (args.length > 3) args(3).toInt else 32
    val conf = new SparkConf().setAppName("petastorm-native image folder")
    if (!conf.contains("spark.master")) conf.setMaster("local[2]")
    val spark = SparkSession.builder().config(conf).getOrCreate()
    try run(spark, args(0), args(1), format, rowGroupSizeMb) finally spark.stop()
  }

  def run(spark: SparkSession, inputFolder: String, outputUrl: String, format: String, rowGroupSizeMb: Int): Unit = {
    val images = spark.read.format("image").option("dropInvalid", value = true).load(inputFolder)
    val df = images.select(col("image.origin").as("path"), col("image"))
    DatasetWriter.writeDataset(df, outputUrl, schema(format), rowGroupSizeMb)
  }
}
