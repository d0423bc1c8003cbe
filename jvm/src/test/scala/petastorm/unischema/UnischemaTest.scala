package petastorm.unischema

import java.io.{ByteArrayInputStream, ByteArrayOutputStream, ObjectInputStream, ObjectOutputStream}

import org.apache.spark.sql.types._
import org.junit.Assert._
import org.junit.Test

import petastorm.TestUtil._
import petastorm.codecs._
import petastorm.examples.HelloWorldData
import petastorm.jni.NativeLib

class UnischemaTest {
  /** Every codec kind, nullable fields, a decimal and a codec-less column. */
  private def wideSchema = Unischema("Wide", Seq(
    UnischemaField("id", "int64", Seq(), ScalarCodec(LongType)),
    UnischemaField("small", "uint8", Seq(), ScalarCodec(ShortType)),
    UnischemaField("price", "decimal", Seq(), ScalarCodec(DecimalType(10, 9)), nullable = true),
    UnischemaField("label", "str", Seq(), ScalarCodec(StringType), nullable = true),
    UnischemaField("plain", "float32", Seq(), null),
    UnischemaField("matrix", "float32", Seq(Some(4), None), NdarrayCodec(), nullable = true),
    UnischemaField("packed", "int16", Seq(None), CompressedNdarrayCodec()),
    UnischemaField("photo", "uint8", Seq(Some(8), Some(8), Some(3)), CompressedImageCodec("jpeg", 90))))

  private val designJson =
    """{"name": "HelloWorldSchema", "fields": [
      | {"name": "id", "dtype": "int32", "shape": [], "nullable": false,
      |  "codec": {"type": "scalar", "spark_type": "integer"}},
      | {"name": "image1", "dtype": "uint8", "shape": [128, 256, 3], "nullable": false,
      |  "codec": {"type": "compressed_image", "format": "png", "quality": 80}},
      | {"name": "other_data", "dtype": "uint8", "shape": [null, 128, 30, null], "nullable": false,
      |  "codec": {"type": "ndarray"}}]}""".stripMargin

  @Test def jsonRoundTrip(): Unit = {
    val s = wideSchema
    assertEquals(s, Unischema.fromJson(s.toJson))
    // Through the native parser and printer too.
    assertEquals(s, Unischema.fromJson(s.withHandle(NativeLib.schemaToJson)))
    assertEquals(HelloWorldData.schema, Unischema.fromJson(designJson))
    s.close()
  }

  @Test def helloWorldSparkSchema(): Unit = {
    val expected = StructType(Seq(
      StructField("id", IntegerType, nullable = false),
      StructField("image1", BinaryType, nullable = false),
      StructField("other_data", BinaryType, nullable = false)))
    assertEquals(expected, HelloWorldData.schema.asSparkSchema)
  }

  @Test def wideSparkSchema(): Unit = {
    val types = wideSchema.asSparkSchema.fields.map(f => f.name -> (f.dataType, f.nullable)).toMap
    assertEquals((LongType, false), types("id"))
    assertEquals((ShortType, false), types("small"))
    assertEquals((DecimalType(10, 9), true), types("price"))
    assertEquals((StringType, true), types("label"))
    assertEquals((FloatType, false), types("plain"))
    assertEquals((BinaryType, true), types("matrix"))
    assertEquals((BinaryType, false), types("photo"))
  }

  @Test def fieldsViewsAndMatching(): Unit = {
    val s = wideSchema
    assertEquals(Seq("id", "small", "price", "label", "plain", "matrix", "packed", "photo"), s.fieldNames)
    assertEquals("decimal", s.field("price").numpyDtype)
    assertNames(intercept[NoSuchElementException](s.field("nope")), "nope")

    val view = s.createSchemaView(Seq(s.field("photo"), s.field("id")))
    assertEquals(Seq("id", "photo"), view.fieldNames)
    val foreign = UnischemaField("other", "int32", Seq(), null)
    assertNames(intercept[IllegalArgumentException](s.createSchemaView(Seq(foreign))), "other")

    assertEquals(Seq("matrix", "packed"), s.matchUnischemaFields(Seq("ma.*", "pack.*")).map(_.name))
    assertEquals(Seq("id"), Unischema.matchUnischemaFields(s, Seq("id")).map(_.name))
    assertEquals(Nil, s.matchUnischemaFields(Seq("zzz")))
  }

  @Test def serializableAndHandleRecreated(): Unit = {
    val s = wideSchema
    s.asSparkSchema // creates the handle
    val bytes = new ByteArrayOutputStream()
    val out = new ObjectOutputStream(bytes)
    out.writeObject(s)
    out.close()
    val copy = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray)).readObject().asInstanceOf[Unischema]
    assertEquals(s, copy)
    assertEquals(s.asSparkSchema, copy.asSparkSchema)
    assertEquals(7L, copy.encodeCell(0, 7L))
    copy.close()
    copy.close() // idempotent
    assertEquals(9L, copy.encodeCell(0, 9L)) // a new handle after close
    copy.close()
    s.close()
  }

  @Test def handlesFreedByCloseOrCleaner(): Unit = {
    val json = HelloWorldData.schema.toJson
    val unclosed = (0 until 200).flatMap { i =>
      val h = new SchemaHandle(json)
      assertEquals(Some(3), h.use(p => DataType.fromJson(NativeLib.schemaSparkJson(p)).asInstanceOf[StructType].length))
      if (i % 2 == 0) {
        h.close(); h.close() // explicit, idempotent; the Cleaner then does nothing
        assertTrue(h.isClosed)
        assertEquals(None, h.use(p => p))
        None
      } else Some(new java.lang.ref.WeakReference(h))
    }
    // The unclosed half must become unreachable (their Cleaner action holds no reference to them),
    // so the Cleaner frees them; it must not crash or double free.
    val deadline = System.nanoTime() + 10000000000L
    while (unclosed.exists(_.get != null) && System.nanoTime() < deadline) { System.gc(); Thread.sleep(20) }
    assertEquals("handles still reachable after gc", 0, unclosed.count(_.get != null))
    Thread.sleep(100)
    assertEquals(3, HelloWorldData.schema.asSparkSchema.length)
  }

  @Test def invalidSchemaIsRejectedNatively(): Unit = {
    val bad = Unischema("Bad", Seq(UnischemaField("x", "complex128", Seq(), null)))
    val e = intercept[RuntimeException](bad.asSparkSchema)
    assertTrue(e.toString, e.isInstanceOf[IllegalArgumentException] || e.isInstanceOf[petastorm.errors.PetastormException])
  }

  @Test def javaFactories(): Unit = {
    val f = UnischemaField.of("other_data", "uint8", Array[Integer](null, 128, 30, null), NdarrayCodec(), false)
    assertEquals(HelloWorldData.schema.field("other_data"), f)
    assertEquals(Unischema("S", Seq(f)), Unischema.of("S", java.util.Collections.singletonList(f)))
  }

  @Test def ndArrayHelpers(): Unit = {
    val f = NdArray.float32(Array(1f, 2f, 3f, 4f, 5f, 6f), 2, 3)
    assertArrayEquals(Array(2L, 3L), f.shape)
    assertArrayEquals(Array(1f, 2f, 3f, 4f, 5f, 6f), f.asFloats, 0f)
    assertEquals(f, NdArray("<f4", Array(2L, 3L), f.data.clone()))
    assertEquals(f.hashCode, NdArray("<f4", Array(2L, 3L), f.data.clone()).hashCode)
    assertNotEquals(f, NdArray.float32(Array(1f, 2f, 3f, 4f, 5f, 6f), 3, 2))
    val u = NdArray.unicode(Array("ab", "sensor_1"))
    assertEquals("<U8", u.dtype)
    assertEquals(Seq("ab", "sensor_1"), u.asStrings.toSeq)
    assertArrayEquals(Array(1L, -2L), NdArray.int64(Array(1L, -2L)).asLongs)
    assertArrayEquals(Array(1.5, -2.5), NdArray.float64(Array(1.5, -2.5)).asDoubles, 0.0)
    assertArrayEquals(Array(65535.toChar), NdArray.uint16(Array(65535.toChar)).asChars)
    assertArrayEquals(Array(255, 0), NdArray.uint8(Array(-1.toByte, 0.toByte)).asUnsignedBytes)
    assertEquals(0, NdArray.scalar(NdArray.int32(Array(5))).ndim)
  }
}
