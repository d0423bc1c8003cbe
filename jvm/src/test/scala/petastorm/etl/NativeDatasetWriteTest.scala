package petastorm.etl

import java.io.File

import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.fs.Path
import org.apache.parquet.hadoop.ParquetFileReader
import org.apache.parquet.hadoop.util.HadoopInputFile
import org.apache.spark.sql.{Row, SparkSession}
import org.apache.spark.sql.functions.{col, lit}
import org.apache.spark.sql.types._
import org.junit.Assert._
import org.junit.{AfterClass, BeforeClass, Test}

import petastorm.TestUtil._
import petastorm.codecs.{CompressedImageCodec, NdarrayCodec, ScalarCodec}
import petastorm.jni.NativeLib
import petastorm.sql.functions.{decode, decodeShape}
import petastorm.unischema.{Unischema, UnischemaField}

/** DatasetWriter.writeDataset through the native Parquet writer (and its fallback) on local[2]. */
class NativeDatasetWriteTest {
  import NativeDatasetWriteTest._

  private def withDir(f: File => Unit): Unit = {
    val dir = tempDir("native-write").toFile
    try f(dir) finally deleteRecursively(dir)
  }

  private def dataFiles(dir: File): Seq[File] =
    Option(dir.listFiles()).toSeq.flatten.filter(f => NativeLib.isDataFile(f.getName)).sortBy(_.getName)

  private def rowGroups(f: File): Int = {
    val reader = ParquetFileReader.open(HadoopInputFile.fromPath(new Path(f.toURI), new Configuration()))
    try reader.getFooter.getBlocks.size() finally reader.close()
  }

  /** id, a 4x6x3 noise image, an ndarray with two open dimensions (raw bytes + shape), a nullable label. */
  private def input(rows: Int, partitions: Int) = {
    val rng = new scala.util.Random(5)
    val data = (0 until rows).map { i =>
      val h = 1 + i % 3
      Row(i, Array.fill(4 * 6 * 3)(rng.nextInt(256).toByte), Array.fill(h * 5)(i.toByte), Seq(h, 5),
        if (i % 2 == 0) s"r$i" else null)
    }
    val types = StructType(Seq(StructField("id", IntegerType), StructField("image", BinaryType),
      StructField("m", BinaryType), StructField("m_shape", ArrayType(IntegerType)), StructField("label", StringType)))
    (data, spark.createDataFrame(spark.sparkContext.parallelize(data, partitions), types))
  }

  @Test def writesEveryRowAndCellInPartitionOrder(): Unit = withDir { dir =>
    assertTrue(NativeDatasetWrite.supports(schema))
    val url = new File(dir, "ds").toURI.toString
    val (data, df) = input(40, 3)
    DatasetWriter.writeDataset(df, url, schema, 1, "overwrite", Map("m" -> col("m_shape")))
    val files = dataFiles(new File(dir, "ds"))
    assertEquals(3, files.size)
    assertTrue(new File(dir, "ds/_SUCCESS").exists())
    assertFalse(new File(dir, "ds/_temporary").exists())
    val back = spark.read.parquet(url)
    assertEquals(Seq("id", "image", "label", "m").sorted, back.columns.toSeq.sorted)
    val rows = back.select(col("id"), decode(col("image"), schema, "image"), decode(col("m"), schema, "m"),
      decodeShape(col("m"), schema, "m"), col("label")).collect().sortBy(_.getInt(0))
    assertEquals(data.size, rows.length)
    rows.zip(data).foreach { case (r, d) =>
      assertEquals(d.getInt(0), r.getInt(0))
      assertEquals(d.getAs[Array[Byte]](1).map(b => (b & 0xff).toShort).toSeq, r.getSeq[Short](1))
      assertEquals(d.getAs[Array[Byte]](2).map(b => (b & 0xff).toShort).toSeq, r.getSeq[Short](2))
      assertEquals(d.getSeq[Int](3), r.getSeq[Int](3))
      assertEquals(d.getString(4), r.getString(4))
    }
    // the metadata counts the row groups in the footers
    val metadata = DatasetMetadata.getSchemaFromDatasetUrl(spark, url)
    assertEquals(schema, metadata)
    assertTrue(files.forall(rowGroups(_) >= 1))
  }

  @Test def streamsToOtherFileSystems(): Unit = withDir { dir =>
    // the local disk under another scheme: the native writer hands its bytes to the Hadoop stream
    val url = "streamfs://" + new File(dir, "ds").toURI.getPath
    val (data, df) = input(30, 2)
    DatasetWriter.writeDataset(df, url, schema, 1, "overwrite", Map("m" -> col("m_shape")))
    assertTrue(new File(dir, "ds/_SUCCESS").exists())
    assertEquals(2, dataFiles(new File(dir, "ds")).size)
    val back = spark.read.parquet(new File(dir, "ds").toURI.toString)
      .select(col("id"), decode(col("m"), schema, "m")).collect().sortBy(_.getInt(0))
    assertEquals(data.map(_.getInt(0)), back.map(_.getInt(0)).toSeq)
    back.zip(data).foreach { case (r, d) =>
      assertEquals(d.getAs[Array[Byte]](2).map(b => (b & 0xff).toShort).toSeq, r.getSeq[Short](1))
    }
  }

  @Test def cutsRowGroupsBySize(): Unit = withDir { dir =>
    val url = new File(dir, "ds").toURI.toString
    val big = Unischema("Big", Seq(UnischemaField("id", "int64", Seq(), ScalarCodec(LongType)),
      UnischemaField("blob", "uint8", Seq(Some(512 * 1024)), NdarrayCodec())))
    val rng = new scala.util.Random(3) // noise: snappy cannot shrink it below the row-group size
    val rows = (0 until 8).map(i => Row(i.toLong, Array.fill(512 * 1024)(rng.nextInt().toByte)))
    val types = StructType(Seq(StructField("id", LongType), StructField("blob", BinaryType)))
    val df = spark.createDataFrame(spark.sparkContext.parallelize(rows, 1), types)
    DatasetWriter.writeDataset(df, url, big, 1)
    val Seq(file) = dataFiles(new File(dir, "ds"))
    assertTrue(s"8 rows of 512 KiB in 1 MiB row groups: ${rowGroups(file)}", rowGroups(file) >= 3)
    assertEquals(8L, spark.read.parquet(url).count())
  }

  @Test def failedJobLeavesNoDataset(): Unit = withDir { dir =>
    val url = new File(dir, "ds").toURI.toString
    val (_, df) = input(12, 2)
    val bad = df.withColumn("image", org.apache.spark.sql.functions.when(col("id") === 9, lit(null)).otherwise(col("image")))
    val e = intercept[Exception](DatasetWriter.writeDataset(bad, url, schema, 1, "overwrite", Map("m" -> col("m_shape"))))
    val all = Iterator.iterate[Throwable](e)(_.getCause).takeWhile(_ != null).map(_.getMessage).mkString("\n")
    assertTrue(all, all.contains("field 'image'"))
    val left = Option(new File(dir, "ds").listFiles()).toSeq.flatten.map(_.getName)
    assertTrue(s"no data file or metadata after a failed job: $left",
      !left.exists(n => NativeLib.isDataFile(n) || n == DatasetMetadata.CommonMetadataFile))
  }

  @Test def saveModes(): Unit = withDir { dir =>
    val url = new File(dir, "ds").toURI.toString
    val (_, df) = input(6, 2)
    val shapes = Map("m" -> col("m_shape"))
    DatasetWriter.writeDataset(df, url, schema, 1, "overwrite", shapes)
    assertNames(intercept[IllegalStateException](DatasetWriter.writeDataset(df, url, schema, 1, "error", shapes)),
      "already exists")
    DatasetWriter.writeDataset(df.limit(1), url, schema, 1, "ignore", shapes)
    assertEquals(6L, spark.read.parquet(url).count())
    DatasetWriter.writeDataset(df, url, schema, 1, "append", shapes)
    assertEquals(12L, spark.read.parquet(url).count())
    DatasetWriter.writeDataset(df.limit(2), url, schema, 1, "overwrite", shapes)
    assertEquals(2L, spark.read.parquet(url).count())
    assertNames(intercept[IllegalArgumentException](DatasetWriter.writeDataset(df, url, schema, 1, "upsert", shapes)),
      "upsert")
  }

  @Test def emptyDataFrameGivesAReadableDataset(): Unit = withDir { dir =>
    val url = new File(dir, "ds").toURI.toString
    val (_, df) = input(4, 2)
    DatasetWriter.writeDataset(df.filter(col("id") < 0), url, schema, 1, "overwrite", Map("m" -> col("m_shape")))
    assertEquals(1, dataFiles(new File(dir, "ds")).size)
    assertEquals(0L, spark.read.parquet(url).count())
    assertEquals(schema, DatasetMetadata.getSchemaFromDatasetUrl(spark, url))
  }

  @Test def everyScalarTypeRoundTrips(): Unit = withDir { dir =>
    val url = new File(dir, "ds").toURI.toString
    val types = Seq("b" -> ("int8", ByteType), "s" -> ("int16", ShortType), "i" -> ("int32", IntegerType),
      "l" -> ("int64", LongType), "f" -> ("float32", FloatType), "d" -> ("float64", DoubleType),
      "t" -> ("str", StringType), "z" -> ("bool", BooleanType))
    val scalars = Unischema("Scalars", types.map { case (n, (dtype, t)) =>
      UnischemaField(n, dtype, Seq(), ScalarCodec(t), nullable = true) })
    assertTrue(NativeDatasetWrite.supports(scalars))
    val df = spark.range(0, 3, 1, 1).select(
      (col("id") - 1).cast(ByteType).as("b"), (col("id") * 1000).cast(ShortType).as("s"), col("id").cast(IntegerType).as("i"),
      (col("id") * 10000000000L).as("l"), (col("id") / 4).cast(FloatType).as("f"), (col("id") / 3).as("d"),
      col("id").cast(StringType).as("t"), (col("id") === 1).as("z"))
      .union(spark.range(0, 1).select(types.map { case (n, (_, t)) => lit(null).cast(t).as(n) }: _*))
    DatasetWriter.writeDataset(df, url, scalars, 1)
    val back = spark.read.parquet(url)
    types.foreach { case (n, (_, t)) => assertEquals(n, t, back.schema(n).dataType) }
    assertEquals(df.collect().map(_.toString).sorted.toSeq, back.select(types.map(p => col(p._1)): _*)
      .collect().map(_.toString).sorted.toSeq)
  }

  @Test def decimalsFallBackToSparksWriter(): Unit = withDir { dir =>
    val url = new File(dir, "ds").toURI.toString
    val priced = Unischema("Prices", Seq(UnischemaField("id", "int64", Seq(), ScalarCodec(LongType)),
      UnischemaField("price", "decimal", Seq(), ScalarCodec(DecimalType(10, 2)))))
    assertFalse(NativeDatasetWrite.supports(priced))
    DatasetWriter.writeDataset(spark.range(0, 3).select(col("id"), (col("id") / 4).cast(DecimalType(10, 2)).as("price")),
      url, priced, 1)
    assertEquals(Seq("0.00", "0.25", "0.50"),
      spark.read.parquet(url).orderBy("id").collect().map(_.getDecimal(1).toPlainString).toSeq)
  }
}

object NativeDatasetWriteTest {
  val schema: Unischema = Unischema("NativeWrite", Seq(
    UnischemaField("id", "int32", Seq(), ScalarCodec(IntegerType)),
    UnischemaField("image", "uint8", Seq(Some(4), Some(6), Some(3)), CompressedImageCodec("png")),
    UnischemaField("label", "str", Seq(), ScalarCodec(StringType), nullable = true),
    UnischemaField("m", "uint8", Seq(None, None), NdarrayCodec())))

  private var session: SparkSession = _

  def spark: SparkSession = session

  @BeforeClass def start(): Unit = {
    session = localSpark("petastorm-native-write-tests",
      "spark.hadoop.fs.streamfs.impl" -> classOf[StreamingLocalFileSystem].getName,
      "spark.hadoop.fs.streamfs.impl.disable.cache" -> "true")
  }

  @AfterClass def stop(): Unit = if (session != null) session.stop()
}

/** The local file system under the scheme `streamfs`, which the native writer does not write itself. */
class StreamingLocalFileSystem extends org.apache.hadoop.fs.RawLocalFileSystem {
  override def getScheme: String = "streamfs"

  override def getUri: java.net.URI = java.net.URI.create("streamfs:///")
}
