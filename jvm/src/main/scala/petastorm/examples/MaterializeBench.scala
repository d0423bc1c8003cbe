package petastorm.examples

import java.util.SplittableRandom

import org.apache.spark.SparkConf
import org.apache.spark.sql.{Column, SparkSession}
import org.apache.spark.sql.functions.{array, lit}
import org.apache.spark.sql.types.LongType

import petastorm.codecs.{CompressedImageCodec, CompressedNdarrayCodec, NdarrayCodec, ScalarCodec}
import petastorm.etl.{DatasetMetadata, DatasetWriter}
import petastorm.unischema.{NdArray, Unischema, UnischemaField}

/**
 * Materialization throughput of the JVM path (used by python/benchmarks/bench_materialize.py):
 * `spark-submit --class petastorm.examples.MaterializeBench --jars petastorm-native.jar petastorm-native-examples.jar
 * <hello|jpeg> <rows> <output_url> <dict|columns|writer> [partitions=4] [photos.raw]`. Rows are generated in the
 * executors (noise like upstream's hello world; for `jpeg` the 224x224x3 photos of a raw file, row i taking photo i % n, else a gradient plus noise),
 * then encoded with `dictToSparkRow` on an RDD (`dict`) or with the column functions on a DataFrame of raw bytes
 * (`columns`), both written by Spark's Parquet writer, or written by `DatasetWriter.writeDataset` (`writer`: the
 * column functions feeding the native Parquet writer). Prints `{"rows": n, "seconds": s}` for a timed run after a short warm-up.
 */
object MaterializeBench {
  val hello: Unischema = HelloWorldData.schema

  val jpeg: Unischema = Unischema("JpegSchema", Seq(
    UnischemaField("id", "int64", Seq(), ScalarCodec(LongType), nullable = false),
    UnischemaField("image", "uint8", Seq(Some(224), Some(224), Some(3)), CompressedImageCodec("jpeg", 90), nullable = false),
    UnischemaField("embedding", "float32", Seq(Some(128)), CompressedNdarrayCodec(), nullable = false)))

  /** `n` random bytes, 8 per draw (as NumPy fills arrays); below `bound` when it is a power of two under 256. */
  private def noise(seed: Long, n: Int, bound: Int = 256): Array[Byte] = {
    val b = new Array[Byte](n)
    val random = new SplittableRandom(seed)
    val longs = java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN)
    var i = 0
    while (i + 8 <= n) { longs.putLong(i, random.nextLong()); i += 8 }
    while (i < n) { b(i) = random.nextInt().toByte; i += 1 }
    if (bound < 256) { var k = 0; while (k < n) { b(k) = (b(k) & (bound - 1)).toByte; k += 1 } }
    b
  }

  private val PhotoBytes = 224 * 224 * 3

  /** Photos of the raw file (concatenated 224x224x3 RGB), read once per JVM. */
  @volatile private var photoCache: (String, Array[Array[Byte]]) = _

  private def photos(file: String): Array[Array[Byte]] = synchronized {
    if (photoCache == null || photoCache._1 != file) {
      val all = java.nio.file.Files.readAllBytes(java.nio.file.Paths.get(file))
      photoCache = (file, all.grouped(PhotoBytes).filter(_.length == PhotoBytes).toArray)
    }
    photoCache._2
  }

  /** Row i's image: photo i % n of `file`, or without one a gradient plus noise. */
  def jpegPixels(i: Long, file: String): Array[Byte] =
    if (file == null) syntheticPixels(i) else { val p = photos(file); p((i % p.length).toInt).clone() }

  /** A 224x224x3 gradient with noise in [0, 32). */
  def syntheticPixels(i: Long): Array[Byte] = {
    val n = noise(i, 224 * 224 * 3, 32)
    var k = 0
    var y = 0
    while (y < 224) {
      var x = 0
      while (x < 224) {
        var c = 0
        while (c < 3) { n(k) = ((y * 2 + x * 3 + c * 40) % 224 + n(k)).toByte; k += 1; c += 1 }
        x += 1
      }
      y += 1
    }
    n
  }

  def embedding(i: Long): Array[Float] = { val r = new SplittableRandom(i ^ 0x5eed); Array.fill(128)(r.nextFloat()) }

  def row(kind: String, i: Int, photoFile: String): Map[String, Any] = kind match {
    case "hello" => Map("id" -> i, "image1" -> NdArray.uint8(noise(i, 128 * 256 * 3), 128, 256, 3),
      "other_data" -> NdArray.uint8(noise(i + 1000000007L, 4 * 128 * 30 * 3), 4, 128, 30, 3))
    case _ => Map("id" -> i.toLong, "image" -> NdArray.uint8(jpegPixels(i, photoFile), 224, 224, 3),
      "embedding" -> NdArray.float32(embedding(i)))
  }

  def main(args: Array[String]): Unit = {
    if (args.length < 4) {
      System.err.println("usage: MaterializeBench <hello|jpeg> <rows> <output_url> <dict|columns|writer> [partitions=4] " +
        "[photos.raw]")
      sys.exit(2)
    }
    val Array(kind, rows, url, mode) = args.take(4)
    val partitions = if (args.length > 4) args(4).toInt else 4
    val photoFile = if (args.length > 5) args(5) else null
    val conf = new SparkConf().setAppName(s"petastorm-native materialize bench ($kind, $mode)")
    if (!conf.contains("spark.master")) conf.setMaster("local[2]")
    val spark = SparkSession.builder().config(conf).getOrCreate()
    try {
      run(spark, kind, 40, url, mode, partitions, photoFile) // warm-up: JIT, native library in every executor
      val start = System.nanoTime()
      run(spark, kind, rows.toInt, url, mode, partitions, photoFile)
      println(s"""{"rows": $rows, "seconds": ${(System.nanoTime() - start) / 1e9}}""")
    } finally spark.stop()
  }

  def run(spark: SparkSession, kind: String, rows: Int, url: String, mode: String, partitions: Int,
          photoFile: String): Unit = {
    import spark.implicits._
    val schema = if (kind == "hello") hello else jpeg
    // hello world's other_data has two open dimensions: its raw bytes need a shape column
    val shapes: Map[String, Column] =
      if (kind == "hello") Map("other_data" -> array(Seq(4, 128, 30, 3).map(lit): _*)) else Map.empty
    lazy val raw = if (kind == "hello") {
      spark.range(0, rows, 1, partitions).map { boxed =>
        val i: Long = boxed
        (i.toInt, noise(i, 128 * 256 * 3), noise(i + 1000000007L, 4 * 128 * 30 * 3))
      }.toDF("id", "image1", "other_data")
    } else {
      spark.range(0, rows, 1, partitions).map { boxed => val i: Long = boxed; (i, jpegPixels(i, photoFile), embedding(i)) }
        .toDF("id", "image", "embedding")
    }
    mode match {
      case "writer" => DatasetWriter.writeDataset(raw, url, schema, 256, "overwrite", shapes)
      case "dict" | "columns" => DatasetMetadata.materializeDataset(spark, url, schema, 256) {
        val df = if (mode == "dict") {
          val rdd = spark.sparkContext.parallelize(0 until rows, partitions)
            .map(i => DatasetMetadata.dictToSparkRow(schema, row(kind, i, photoFile)))
          spark.createDataFrame(rdd, schema.asSparkSchema)
        } else DatasetWriter.encodeDataFrame(raw, schema, shapes)
        df.write.mode("overwrite").parquet(url)
      }
      case other => throw new IllegalArgumentException(s"unknown mode '$other' (dict, columns or writer)")
    }
  }
}
