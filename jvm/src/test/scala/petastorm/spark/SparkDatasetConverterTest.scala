package petastorm.spark

import java.io.{ByteArrayInputStream, ByteArrayOutputStream, File, ObjectInputStream, ObjectOutputStream}
import java.nio.file.Files

import org.apache.spark.sql.{DataFrame, Row, SparkSession}
import org.apache.spark.sql.types._
import org.junit.Assert._
import org.junit.{After, AfterClass, Before, BeforeClass, Test}

import petastorm.TestUtil._

/** The Scala converter on one shared local[2] SparkSession. */
class SparkDatasetConverterTest {
  import SparkDatasetConverterTest.spark
  import SparkDatasetConverter.{PARENT_CACHE_DIR_URL_CONF, PERSISTENT_CACHE_CONF}

  private var root: File = _
  private var parent: File = _

  @Before def setUp(): Unit = {
    root = tempDir("converter").toFile
    parent = new File(root, "cache")
    spark.conf.set(PARENT_CACHE_DIR_URL_CONF, parent.toURI.toString)
    spark.conf.unset(PERSISTENT_CACHE_CONF)
    SparkDatasetConverter.clearInProcessCache()
  }

  @After def tearDown(): Unit = {
    spark.conf.unset(PARENT_CACHE_DIR_URL_CONF)
    spark.conf.unset(PERSISTENT_CACHE_CONF)
    deleteRecursively(root)
  }

  private def cacheDirs: Seq[String] = Option(parent.listFiles()).toSeq.flatten.filter(_.isDirectory).map(_.getName).sorted

  private def mixed: DataFrame = {
    val schema = StructType(Seq(
      StructField("id", LongType), StructField("x", DoubleType), StructField("f", FloatType),
      StructField("arr", ArrayType(DoubleType)), StructField("s", StringType),
      StructField("d", DecimalType(10, 2)), StructField("maybe", DoubleType)))
    val rows = (0 until 40).map { i =>
      Row(i.toLong, i * 0.5, i.toFloat, Seq(i.toDouble, -i.toDouble), s"s$i", BigDecimal(i) / 4,
        if (i % 3 == 0) null else i * 2.0)
    }
    spark.createDataFrame(spark.sparkContext.parallelize(rows, 2), schema)
  }

  @Test def confMissingOrSchemeless(): Unit = {
    spark.conf.unset(PARENT_CACHE_DIR_URL_CONF)
    assertNames(intercept[IllegalArgumentException](SparkDatasetConverter.make(spark.range(3).toDF())),
      PARENT_CACHE_DIR_URL_CONF)
    spark.conf.set(PARENT_CACHE_DIR_URL_CONF, parent.getAbsolutePath)
    assertNames(intercept[IllegalArgumentException](SparkDatasetConverter.make(spark.range(3).toDF())), "scheme")
  }

  @Test def writesRowsAsFloat32UnderTheParent(): Unit = {
    val c = SparkDatasetConverter.make(mixed)
    assertEquals(40L, c.datasetSize)
    assertEquals(40L, c.length)
    val name = c.cacheDirUrl.substring(c.cacheDirUrl.lastIndexOf('/') + 1)
    assertTrue(name, name.matches(s"\\d{14}-appid-${spark.sparkContext.applicationId}-[0-9a-f-]{36}"))
    assertEquals(parent.toURI.toString.stripSuffix("/").replace("file:/", "file:///"),
      c.cacheDirUrl.substring(0, c.cacheDirUrl.lastIndexOf('/')))
    assertTrue(c.fileUrls.nonEmpty && c.fileUrls.forall(u => u.startsWith(c.cacheDirUrl + "/") && u.endsWith(".parquet")))
    val back = spark.read.parquet(c.fileUrls: _*)
    assertEquals(Seq(FloatType, FloatType, ArrayType(FloatType)),
      Seq("x", "f", "arr").map(back.schema(_).dataType))
    assertEquals(DecimalType(10, 2), back.schema("d").dataType)
    val got = back.orderBy("id").collect()
    assertEquals(40, got.length)
    for ((r, i) <- got.zipWithIndex) {
      assertEquals(i.toLong, r.getAs[Long]("id"))
      assertEquals(i * 0.5f, r.getAs[Float]("x"), 0f)
      assertEquals(Seq(i.toFloat, -i.toFloat), r.getAs[Seq[Float]]("arr"))
      assertEquals(s"s$i", r.getAs[String]("s"))
      assertEquals(BigDecimal(i) / 4, BigDecimal(r.getAs[java.math.BigDecimal]("d")))
      if (i % 3 == 0) assertTrue(r.isNullAt(r.fieldIndex("maybe"))) else assertEquals(i * 2f, r.getAs[Float]("maybe"), 0f)
    }
  }

  @Test def dtypeOptions(): Unit = {
    val df = spark.range(0, 10, 1, 1).selectExpr("id", "cast(id as double) as x", "cast(id as float) as f")
    val keep = SparkDatasetConverter.make(df, dtype = null)
    assertEquals(Seq(DoubleType, FloatType), Seq("x", "f").map(spark.read.parquet(keep.fileUrls: _*).schema(_).dataType))
    val wide = SparkDatasetConverter.make(df, dtype = "float64")
    assertEquals(Seq(DoubleType, DoubleType), Seq("x", "f").map(spark.read.parquet(wide.fileUrls: _*).schema(_).dataType))
    intercept[IllegalArgumentException](SparkDatasetConverter.make(df, dtype = "float16"))
    intercept[IllegalArgumentException](SparkDatasetConverter.make(df, compressionCodec = "bzip3"))
    val snappy = SparkDatasetConverter.make(df, compressionCodec = "snappy")
    assertEquals(10L, spark.read.parquet(snappy.fileUrls: _*).count())
  }

  @Test def samePlanIsWrittenOnce(): Unit = {
    val df = spark.range(0, 20, 1, 2).selectExpr("id", "id * 2 as y")
    val c1 = SparkDatasetConverter.make(df)
    assertEquals(1, cacheDirs.size)
    assertSame(c1, SparkDatasetConverter.make(df))
    assertSame(c1, SparkDatasetConverter.make(spark.range(0, 20, 1, 2).selectExpr("id", "id * 2 as y")))
    assertEquals(1, cacheDirs.size)
    val c2 = SparkDatasetConverter.make(df, parquetRowGroupSizeBytes = 1024L * 1024)
    assertNotEquals(c1.cacheDirUrl, c2.cacheDirUrl)
    assertEquals(2, cacheDirs.size)
  }

  @Test def deleteRemovesOnlyItsDirectory(): Unit = {
    val c1 = SparkDatasetConverter.make(spark.range(0, 5, 1, 1).toDF())
    val c2 = SparkDatasetConverter.make(spark.range(0, 6, 1, 1).toDF())
    val sibling = new File(parent, "user-data")
    assertTrue(sibling.mkdirs())
    Files.write(new File(parent, "notes.txt").toPath, "keep".getBytes)
    c1.delete()
    assertEquals(Seq(c2.cacheDirUrl.split('/').last, "user-data").sorted, cacheDirs)
    assertTrue(new File(parent, "notes.txt").exists())
    assertEquals(6L, spark.read.parquet(c2.fileUrls: _*).count())
    // a URL that is not a converter directory under the parent is refused
    assertNames(intercept[IllegalArgumentException](SparkDatasetConverter(sibling.toURI.toString, Nil, 0).delete()),
      "Refusing")
    assertNames(intercept[IllegalArgumentException](
      SparkDatasetConverter(parent.toURI.toString, Nil, 0).delete()), "Refusing")
    assertTrue(sibling.exists())
    // converting again after delete writes again
    val again = SparkDatasetConverter.make(spark.range(0, 5, 1, 1).toDF())
    assertNotEquals(c1.cacheDirUrl, again.cacheDirUrl)
  }

  @Test def existingParquetIsReadNotDeleted(): Unit = {
    val data = new File(root, "data")
    spark.range(0, 30, 1, 3).write.parquet(data.toURI.toString)
    val c = SparkDatasetConverter.fromParquet(spark, data.toURI.toString)
    assertEquals(30L, c.datasetSize)
    assertEquals(3, c.fileUrls.size)
    c.delete()
    assertTrue(new File(data, "_SUCCESS").exists())
    assertEquals(30L, spark.read.parquet(data.toURI.toString).count())
    // a plain path, absolute or relative, names the same directory as its file:/// URL (as in Python)
    val dirUrl = "file://" + data.getAbsolutePath
    assertEquals(dirUrl, c.cacheDirUrl)
    assertEquals(dirUrl, SparkDatasetConverter.fromParquet(spark, data.getAbsolutePath + "/").cacheDirUrl)
    val relative = java.nio.file.Paths.get("").toAbsolutePath.relativize(data.toPath.toAbsolutePath).toString
    val fromRelative = SparkDatasetConverter.fromParquet(spark, relative)
    assertEquals((dirUrl, 30L), (fromRelative.cacheDirUrl, fromRelative.datasetSize))
  }

  @Test def serializable(): Unit = {
    val c = SparkDatasetConverter.make(spark.range(0, 7, 1, 1).toDF())
    val bytes = new ByteArrayOutputStream()
    val out = new ObjectOutputStream(bytes)
    out.writeObject(c)
    out.close()
    val back = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray)).readObject()
      .asInstanceOf[SparkDatasetConverter]
    assertEquals((c.cacheDirUrl, c.fileUrls, c.datasetSize), (back.cacheDirUrl, back.fileUrls, back.datasetSize))
    // usable in executors
    val urls = c.fileUrls
    assertEquals(Seq(1), spark.sparkContext.parallelize(Seq(0), 1).map(_ => back.fileUrls.size min urls.size).collect().toSeq)
    back.delete()
    assertEquals(Nil, cacheDirs)
  }

  @Test def persistentCacheIsReusedOnlyWhenComplete(): Unit = {
    spark.conf.set(PERSISTENT_CACHE_CONF, "true")
    val src = new File(root, "src").toURI.toString
    spark.range(0, 50, 1, 2).selectExpr("id", "cast(id as double) as x").write.parquet(src)
    def df = spark.read.parquet(src).selectExpr("id", "x * 2 as y")
    val c1 = SparkDatasetConverter.make(df)
    assertTrue(c1.persistent)
    val dir1 = new File(parent, c1.cacheDirUrl.split('/').last)
    assertTrue(new File(dir1, PersistentCache.Marker).exists())

    SparkDatasetConverter.clearInProcessCache() // as a new session
    val c2 = SparkDatasetConverter.make(df)
    assertEquals(c1.cacheDirUrl, c2.cacheDirUrl)
    assertEquals(50L, c2.datasetSize)
    assertEquals(1, cacheDirs.size)

    // a directory whose marker does not match is never reused
    val marker = new File(dir1, PersistentCache.Marker)
    Files.write(marker.toPath, new String(Files.readAllBytes(marker.toPath)).replace("\"key\":\"", "\"key\":\"0").getBytes)
    SparkDatasetConverter.clearInProcessCache()
    val c3 = SparkDatasetConverter.make(df)
    assertNotEquals(c1.cacheDirUrl, c3.cacheDirUrl)

    // a directory without a marker (a crashed write) neither
    val dir3 = new File(parent, c3.cacheDirUrl.split('/').last)
    assertTrue(new File(dir3, PersistentCache.Marker).delete())
    SparkDatasetConverter.clearInProcessCache()
    val c4 = SparkDatasetConverter.make(df)
    assertFalse(Set(c1.cacheDirUrl, c3.cacheDirUrl).contains(c4.cacheDirUrl))

    // plans whose data the key can't see are converted but not persisted (and removed at exit)
    val local = SparkDatasetConverter.make(mixed)
    assertFalse(local.persistent)
    assertFalse(new File(new File(parent, local.cacheDirUrl.split('/').last), PersistentCache.Marker).exists())
    SparkDatasetConverter.deleteLeftovers()
    assertFalse(cacheDirs.contains(local.cacheDirUrl.split('/').last))
    assertTrue(cacheDirs.contains(c4.cacheDirUrl.split('/').last))
  }

  @Test def eligibility(): Unit = {
    def reason(df: DataFrame) = PersistentCache.ineligibleReason(df.queryExecution.analyzed)
    assertEquals(None, reason(spark.range(5).selectExpr("id + 1 as x")))
    assertTrue(reason(spark.range(5).selectExpr("rand() as r")).isDefined)
    assertTrue(reason(mixed).isDefined)
    spark.udf.register("plus_one", (x: Long) => x + 1)
    assertTrue(reason(spark.range(5).selectExpr("plus_one(id)")).isDefined)
  }
}

object SparkDatasetConverterTest {
  private var session: SparkSession = _

  def spark: SparkSession = session

  @BeforeClass def start(): Unit = {
    session = localSpark("petastorm-native-converter-tests")
  }

  @AfterClass def stop(): Unit = {
    if (session != null) session.stop()
    session = null
  }
}
