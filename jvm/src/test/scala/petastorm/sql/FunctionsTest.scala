package petastorm.sql

import java.io.File

import org.apache.spark.sql.{AnalysisException, Column, DataFrame, Row, SparkSession}
import org.apache.spark.sql.functions.{aggregate, array_max, col, lit, size}
import org.apache.spark.sql.types._
import org.junit.Assert._
import org.junit.{AfterClass, BeforeClass, Test}

import scala.jdk.CollectionConverters._

import petastorm.TestUtil._
import petastorm.codecs.{CompressedImageCodec, CompressedNdarrayCodec, NdarrayCodec, ScalarCodec}
import petastorm.errors.PetastormException
import petastorm.etl.{DatasetMetadata, DatasetWriter}
import petastorm.jni.NativeLib
import petastorm.sql.functions._
import petastorm.unischema.{NdArray, Unischema, UnischemaField}

/** petastorm.sql.functions and DatasetWriter on a shared local[2] session. */
class FunctionsTest {
  import FunctionsTest._

  private def field(name: String) = schema.field(name)

  private def cell(name: String, value: NdArray): Array[Byte] =
    field(name).codec.encode(field(name), value).asInstanceOf[Array[Byte]]

  private def one(df: DataFrame, c: Column): Row = df.select(c).collect().head

  /** Every message of the cause chain (Spark wraps task failures). */
  private def messages(t: Throwable): String =
    Iterator.iterate(t)(_.getCause).takeWhile(_ != null).map(e => s"${e.getClass.getName}: ${e.getMessage}").mkString("\n")

  private def failsNaming(columnName: String, fieldName: String)(f: => Any): String = {
    val e = intercept[Exception](f)
    val all = messages(e)
    assertTrue(s"should name column '$columnName':\n$all", all.contains(s"column '$columnName'"))
    assertTrue(s"should name field '$fieldName':\n$all", all.contains(s"field '$fieldName'"))
    all
  }

  @Test def encodesLikeTheCodecs(): Unit = {
    val r = data.select(
      encode(col("m"), schema, "m"), encode(col("v"), schema, "v"), encode(col("raw"), schema, "rgb"),
      encodeImage(col("img"), schema, "any"), encode(col("s"), schema, "s"), encode(col("b"), schema, "b"),
      encode(col("h"), schema, "h"), encode(col("u16"), schema, "u16"), encode(col("id"), schema, "id"),
      encode(col("img"), schema, "gray")).collect().head
    val bytes = (i: Int) => r.getAs[Array[Byte]](i)
    assertArrayEquals(cell("m", NdArray.uint8(Array[Byte](1, 2, 3, 4, 5, 6), 2, 3)), bytes(0))
    assertArrayEquals(cell("v", NdArray.float32(Array(1f, 2f, 3f, 4f), 1, 2, 2)), bytes(1))
    assertArrayEquals(cell("rgb", NdArray.uint8(raw, 2, 3, 3)), bytes(2))
    assertArrayEquals(cell("any", NdArray.uint8(rgb, 2, 3, 3)), bytes(3)) // BGR struct → RGB image
    assertArrayEquals(cell("s", NdArray.unicode(Array("a", "bcd"))), bytes(4))
    assertArrayEquals(cell("b", NdArray.bool(Array(true, false, true))), bytes(5))
    val half = NdArray("<f2", Array(2L), Array[Byte](0, 0x3e, 0, 0xc0.toByte)) // 1.5, -2
    assertArrayEquals(cell("h", half), bytes(6))
    assertArrayEquals(cell("u16", NdArray.uint16(Array[Char](7, 65535))), bytes(7))
    assertEquals(7, r.getInt(8)) // scalar: cast to the field's Spark type
    assertArrayEquals(cell("gray", NdArray.uint8(gray, 2, 3)), bytes(9))
  }

  @Test def matchesDictToSparkRow(): Unit = {
    val dict = DatasetMetadata.dictToSparkRow(schema, Map("id" -> 7, "m" -> NdArray.uint8(Array[Byte](1, 2, 3, 4, 5, 6), 2, 3),
      "rgb" -> NdArray.uint8(raw, 2, 3, 3), "gray" -> NdArray.uint8(gray, 2, 3),
      "h" -> NdArray("<f2", Array(2L), Array[Byte](0, 0x3e, 0, 0xc0.toByte)), "u16" -> NdArray.uint16(Array[Char](7, 65535)),
      "s" -> NdArray.unicode(Array("a", "bcd")), "b" -> NdArray.bool(Array(true, false, true))))
    val df = data.withColumnRenamed("raw", "rgb").withColumn("gray", col("img")).drop("v")
    val r = DatasetWriter.encodeDataFrame(df, schema).collect().head
    assertTrue(r.isNullAt(r.fieldIndex("v")) && r.isNullAt(r.fieldIndex("any")) && r.isNullAt(r.fieldIndex("note")))
    for (name <- Seq("m", "rgb", "gray", "h", "u16", "s", "b")) {
      assertArrayEquals(name, dict.getAs[Array[Byte]](schema.fieldIndex(name)), r.getAs[Array[Byte]](name))
    }
    assertEquals(7, r.getAs[Int]("id"))
  }

  @Test def decodesToArraysShapesAndImages(): Unit = {
    val enc = data.select(encode(col("m"), schema, "m").as("m"), encode(col("v"), schema, "v").as("v"),
      encodeImage(col("img"), schema, "any").as("any"), encode(col("s"), schema, "s").as("s"),
      encode(col("b"), schema, "b").as("b"), encode(col("h"), schema, "h").as("h"),
      encode(col("u16"), schema, "u16").as("u16"), col("id"))
    val dec = enc.select(decode(col("m"), schema, "m").as("m"), decodeShape(col("m"), schema, "m").as("shape"),
      decode(col("v"), schema, "v").as("v"), decodeShape(col("v"), schema, "v").as("vshape"),
      decodeImage(col("any"), schema, "any").as("img"), decode(col("s"), schema, "s").as("s"),
      decode(col("b"), schema, "b").as("b"), decode(col("h"), schema, "h").as("h"),
      decode(col("u16"), schema, "u16").as("u16"), decode(col("id"), schema, "id").as("id"))
    assertEquals(ArrayType(ShortType, containsNull = false), dec.schema("m").dataType) // uint8 widened
    assertEquals(ArrayType(IntegerType, containsNull = false), dec.schema("u16").dataType)
    assertEquals(ArrayType(FloatType, containsNull = false), dec.schema("h").dataType)
    assertEquals(imageSchema, dec.schema("img").dataType)
    val r = dec.collect().head
    assertEquals(Seq[Short](1, 2, 3, 4, 5, 6), r.getSeq[Short](0))
    assertEquals(Seq(2, 3), r.getSeq[Int](1))
    assertEquals(Seq(1f, 2f, 3f, 4f), r.getSeq[Float](2))
    assertEquals(Seq(1, 2, 2), r.getSeq[Int](3))
    val img = r.getStruct(4)
    assertEquals(Seq(null, 2, 3, 3, 16), (0 until 5).map(img.get))
    assertArrayEquals(bgr, img.getAs[Array[Byte]](5))
    assertEquals(Seq("a", "bcd"), r.getSeq[String](5))
    assertEquals(Seq(true, false, true), r.getSeq[Boolean](6))
    assertEquals(Seq(1.5f, -2f), r.getSeq[Float](7))
    assertEquals(Seq(7, 65535), r.getSeq[Int](8))
    assertEquals(7L, r.getLong(9))
    // Spark SQL works on the decoded arrays.
    val stats = dec.select(array_max(col("m")), size(col("u16")),
      aggregate(col("m"), lit(0), (acc, x) => acc + x.cast("int"))).collect().head
    assertEquals(Seq[Any](6.toShort, 2, 21), stats.toSeq)
    assertEquals(1L, dec.filter(array_max(col("m")) > 5).count())
  }

  @Test def shapeColumnsAndImageChannels(): Unit = {
    val floats = NdArray.float32(Array(1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f), 2, 2, 2)
    val df = spark.createDataFrame(Seq(Row(floats.data, Seq(2, 2, 2), grayStruct, bgraStruct)).asJava, StructType(Seq(
      StructField("raw", BinaryType), StructField("shape", ArrayType(IntegerType)),
      StructField("g", imageSchema), StructField("a", imageSchema))))
    val r = df.select(encode(col("raw"), schema, "v", col("shape")), encode(col("g"), schema, "any"),
      encode(col("a"), schema, "gray"), encode(col("a"), schema, "any")).collect().head
    assertArrayEquals(cell("v", floats), r.getAs[Array[Byte]](0))
    assertArrayEquals(cell("any", NdArray.uint8(Array[Byte](5, 5, 5, 6, 6, 6), 1, 2, 3)), r.getAs[Array[Byte]](1))
    // BGRA: blue and red pixels; gray by luma, alpha dropped for RGB.
    assertArrayEquals(cell("gray", NdArray.uint8(Array[Byte](29, 76, 29, 76, 29, 76), 2, 3)), r.getAs[Array[Byte]](2))
    val rgbOfBgra = Array[Byte](0, 0, -1, -1, 0, 0, 0, 0, -1, -1, 0, 0, 0, 0, -1, -1, 0, 0)
    assertArrayEquals(cell("any", NdArray.uint8(rgbOfBgra, 2, 3, 3)), r.getAs[Array[Byte]](3))
  }

  @Test def nulls(): Unit = {
    val df = spark.createDataFrame(Seq(Row(null, null, null)).asJava, StructType(Seq(
      StructField("m", ArrayType(IntegerType)), StructField("v", ArrayType(DoubleType)), StructField("id", LongType))))
    val r = one(df, encode(col("v"), schema, "v"))
    assertTrue(r.isNullAt(0)) // nullable field
    assertTrue(one(df.select(lit(null).cast("binary").as("c")), decode(col("c"), schema, "m")).isNullAt(0))
    failsNaming("m", "m")(one(df, encode(col("m"), schema, "m")))
    failsNaming("id", "id")(one(df, encode(col("id"), schema, "id")))
    val nested = spark.createDataFrame(Seq(Row(Seq(Seq(1.0, 2.0), null))).asJava,
      StructType(Seq(StructField("v", ArrayType(ArrayType(DoubleType))))))
    assertTrue(failsNaming("v", "v")(one(nested, encode(col("v"), schema, "v"))).contains("null nested array"))
    val elem = spark.createDataFrame(Seq(Row(Seq(1, null, 3))).asJava, StructType(Seq(StructField("m", ArrayType(IntegerType)))))
    assertTrue(failsNaming("m", "m")(one(elem, encode(col("m"), schema, "m"))).contains("null element"))
  }

  @Test def wrongShapes(): Unit = {
    val df = spark.createDataFrame(Seq(Row(Seq(1, 2, 3, 4), Seq(Seq(1.0, 2.0), Seq(3.0)), Array[Byte](1, 2, 3))).asJava,
      StructType(Seq(StructField("m", ArrayType(IntegerType)), StructField("v", ArrayType(ArrayType(DoubleType))),
        StructField("raw", BinaryType))))
    assertTrue(failsNaming("m", "m")(one(df, encode(col("m"), schema, "m"))).contains("4 values do not fill shape (None, 3)"))
    assertTrue(failsNaming("v", "v")(one(df, encode(col("v"), schema, "v"))).contains("ragged"))
    failsNaming("raw", "rgb")(one(df, encode(col("raw"), schema, "rgb")))
    failsNaming("m", "m")(one(df, encode(col("m"), schema, "m", lit(Array(2, 2)))))
    val badImage = spark.createDataFrame(Seq(Row(Row("x", 2, 3, 3, 0, bgr))).asJava, StructType(Seq(StructField("i", imageSchema))))
    assertTrue(failsNaming("i", "any")(one(badImage, encodeImage(col("i"), schema, "any"))).contains("mode 0"))
    val small = spark.createDataFrame(Seq(Row(grayStruct)).asJava, StructType(Seq(StructField("i", imageSchema))))
    assertTrue(failsNaming("i", "rgb")(one(small, encodeImage(col("i"), schema, "rgb"))).contains("Unexpected dimensions"))
    assertTrue(failsNaming("i", "h")(one(small, encodeImage(col("i"), schema, "h"))).contains("Spark images are uint8"))
  }

  @Test def wrongTypes(): Unit = {
    val df = spark.createDataFrame(Seq(Row(Seq(1.0, 2.0, 3.0), Seq(1, 300, 3), "text", Array[Byte](1))).asJava,
      StructType(Seq(StructField("d", ArrayType(DoubleType)), StructField("i", ArrayType(IntegerType)),
        StructField("t", StringType), StructField("bin", BinaryType))))
    assertTrue(failsNaming("d", "m")(one(df, encode(col("d"), schema, "m"))).contains("cannot convert float64 values to uint8"))
    assertTrue(failsNaming("i", "m")(one(df, encode(col("i"), schema, "m"))).contains("value 300 at index 1"))
    failsNaming("t", "m")(df.select(encode(col("t"), schema, "m")))
    assertNames(intercept[AnalysisException](df.select(encode(col("t"), schema, "m"))), "column 't': field 'm'")
    failsNaming("i", "any")(df.select(encodeImage(col("i"), schema, "any")))
    failsNaming("t", "m")(df.select(decode(col("t"), schema, "m")))
    val corrupt = failsNaming("bin", "m")(one(df, decode(col("bin"), schema, "m")))
    assertTrue(corrupt, corrupt.contains("DecodeFieldException"))
    assertNames(intercept[IllegalArgumentException](encodeImage(col("t"), schema, "id")), "id")
    assertNames(intercept[NoSuchElementException](encode(col("t"), schema, "nope")), "nope")
  }

  @Test def nativePanicsBecomeJavaExceptions(): Unit = {
    val e = intercept[PetastormException](NativeLib.panicProbe("boom"))
    assertEquals("panic: boom", e.getMessage)
    val wrapped = ColumnErrors.inColumn("c", e)
    assertEquals(classOf[PetastormException], wrapped.getClass)
    assertEquals("column 'c': panic: boom", wrapped.getMessage)
  }

  @Test def writeDatasetRoundTrip(): Unit = {
    val dir = tempDir("write-dataset").toFile
    try {
      val out = new File(dir, "ds").toURI.toString
      val ws = Unischema("WriteSchema", Seq(
        UnischemaField("id", "int64", Seq(), ScalarCodec(LongType)),
        UnischemaField("image", "uint8", Seq(None, None, Some(3)), CompressedImageCodec("png")),
        UnischemaField("m", "uint8", Seq(None, Some(3)), NdarrayCodec()),
        UnischemaField("note", "str", Seq(), ScalarCodec(StringType), nullable = true)))
      val df = data.select(col("id"), col("img").as("image"), col("m"), lit("extra").as("ignored"))
      DatasetWriter.writeDataset(df, out, ws, 16)
      assertEquals(ws, DatasetMetadata.getSchemaFromDatasetUrl(spark, out))
      val back = spark.read.parquet(out)
      val r = back.select(col("id"), decode(col("image"), ws, "image"), decode(col("m"), ws, "m"), col("note")).collect().head
      assertEquals(7L, r.getLong(0))
      assertEquals(rgb.map(b => (b & 0xff).toShort).toSeq, r.getSeq[Short](1))
      assertEquals(Seq[Short](1, 2, 3, 4, 5, 6), r.getSeq[Short](2))
      assertTrue(r.isNullAt(3))
      assertNames(intercept[IllegalArgumentException](DatasetWriter.encodeDataFrame(df.drop("m"), ws)), "m")
    } finally deleteRecursively(dir)
  }
}

object FunctionsTest {
  val schema: Unischema = Unischema("ColumnsSchema", Seq(
    UnischemaField("id", "int32", Seq(), ScalarCodec(IntegerType)),
    UnischemaField("m", "uint8", Seq(None, Some(3)), NdarrayCodec()),
    UnischemaField("v", "float32", Seq(None, Some(2), None), CompressedNdarrayCodec(), nullable = true),
    UnischemaField("rgb", "uint8", Seq(Some(2), Some(3), Some(3)), CompressedImageCodec("png")),
    UnischemaField("any", "uint8", Seq(None, None, Some(3)), CompressedImageCodec("png"), nullable = true),
    UnischemaField("gray", "uint8", Seq(Some(2), Some(3)), CompressedImageCodec("png")),
    UnischemaField("h", "float16", Seq(Some(2)), NdarrayCodec()),
    UnischemaField("u16", "uint16", Seq(Some(2)), NdarrayCodec()),
    UnischemaField("s", "str", Seq(None), NdarrayCodec()),
    UnischemaField("b", "bool", Seq(Some(3)), NdarrayCodec()),
    UnischemaField("note", "str", Seq(), ScalarCodec(StringType), nullable = true)))

  /** A 2x3 RGB image, its BGR bytes (Spark's image struct order), and 18 raw bytes. */
  val rgb: Array[Byte] = Array.tabulate(18)(i => (i * 13 + 5).toByte)
  val bgr: Array[Byte] = rgb.grouped(3).flatMap(_.reverse).toArray
  val raw: Array[Byte] = Array.tabulate(18)(i => (200 + i).toByte)
  /** `rgb` in gray, as OpenCV's BGR2GRAY computes it. */
  val gray: Array[Byte] = rgb.grouped(3).map { p =>
    val Array(r, g, b) = p.map(_ & 0xff)
    ((r * 4899 + g * 9617 + b * 1868 + 8192) >> 14).toByte
  }.toArray
  val grayStruct: Row = Row("g.png", 1, 2, 1, 0, Array[Byte](5, 6))
  val bgraStruct: Row = Row("a.png", 2, 3, 4, 24,
    Array.tabulate(6)(i => if (i % 2 == 0) Array[Byte](-1, 0, 0, 9) else Array[Byte](0, 0, -1, 9)).flatten)

  private var session: SparkSession = _
  private var df: DataFrame = _

  def spark: SparkSession = session

  /** One row: id, m (array<int>), v (array<array<array<double>>>), raw, img (BGR struct), s, b, h, u16. */
  def data: DataFrame = df

  @BeforeClass def start(): Unit = {
    session = localSpark("petastorm-native-sql-functions-tests")
    val types = StructType(Seq(
      StructField("id", LongType), StructField("m", ArrayType(IntegerType)),
      StructField("v", ArrayType(ArrayType(ArrayType(DoubleType)))), StructField("raw", BinaryType),
      StructField("img", imageSchema), StructField("s", ArrayType(StringType)), StructField("b", ArrayType(BooleanType)),
      StructField("h", ArrayType(DoubleType)), StructField("u16", ArrayType(IntegerType))))
    df = session.createDataFrame(Seq(Row(7L, Seq(1, 2, 3, 4, 5, 6), Seq(Seq(Seq(1.0, 2.0), Seq(3.0, 4.0))), raw,
      Row("mem://x.png", 2, 3, 3, 16, bgr), Seq("a", "bcd"), Seq(true, false, true), Seq(1.5, -2.0),
      Seq(7, 65535))).asJava, types)
  }

  @AfterClass def stop(): Unit = if (session != null) session.stop()
}
