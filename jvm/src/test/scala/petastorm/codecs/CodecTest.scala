package petastorm.codecs

import org.apache.spark.sql.types._
import org.junit.Assert._
import org.junit.Test

import petastorm.TestUtil._
import petastorm.errors.{DecodeFieldException, PetastormTypeException}
import petastorm.unischema.{NdArray, UnischemaField}

class CodecTest {
  private def bytesOf(x: Any): Array[Byte] = x.asInstanceOf[Array[Byte]]

  private def startsWith(b: Array[Byte], magic: Array[Byte]): Boolean = b.take(magic.length).sameElements(magic)

  @Test def npyRoundTrip(): Unit = {
    val field = UnischemaField("matrix", "float32", Seq(Some(2), None), NdarrayCodec())
    val value = NdArray.float32(Array(1f, -2f, 3.5f, 4f, 5f, 6f), 2, 3)
    val cell = bytesOf(field.codec.encode(field, value))
    assertTrue(startsWith(cell, Array(0x93.toByte) ++ "NUMPY".getBytes))
    assertEquals(value, field.codec.decode(field, cell))
  }

  @Test def npyFortranOrderDecodesToCOrder(): Unit = {
    val field = UnischemaField("m", "uint8", Seq(Some(2), Some(3)), NdarrayCodec())
    val fortran = NdArray("|u1", Array(2L, 3L), Array[Byte](0, 3, 1, 4, 2, 5), fortranOrder = true)
    val decoded = field.codec.decode(field, field.codec.encode(field, fortran)).asInstanceOf[NdArray]
    assertEquals(NdArray.uint8(Array[Byte](0, 1, 2, 3, 4, 5), 2, 3), decoded)
  }

  @Test def npzRoundTrip(): Unit = {
    val field = UnischemaField("packed", "int16", Seq(None), CompressedNdarrayCodec())
    val value = NdArray.int16(Array.tabulate[Short](1000)(i => (i % 7 - 3).toShort))
    val cell = bytesOf(field.codec.encode(field, value))
    assertTrue(startsWith(cell, "PK".getBytes))
    assertEquals(value, field.codec.decode(field, cell))
  }

  @Test def pngRoundTrip(): Unit = {
    val field = UnischemaField("image", "uint8", Seq(Some(16), Some(8), Some(3)), CompressedImageCodec("png"))
    val value = NdArray.uint8(Array.tabulate[Byte](16 * 8 * 3)(i => (i * 31).toByte), 16, 8, 3)
    val cell = bytesOf(field.codec.encode(field, value))
    assertTrue(startsWith(cell, Array(0x89.toByte) ++ "PNG".getBytes))
    assertEquals(value, field.codec.decode(field, cell))
  }

  @Test def jpegDecodesToDeclaredShape(): Unit = {
    val field = UnischemaField("photo", "uint8", Seq(Some(16), Some(16), Some(3)), CompressedImageCodec("jpeg", 95))
    val value = NdArray.uint8(Array.fill[Byte](16 * 16 * 3)(100.toByte), 16, 16, 3)
    val cell = bytesOf(field.codec.encode(field, value))
    assertTrue(startsWith(cell, Array(0xff.toByte, 0xd8.toByte)))
    val decoded = field.codec.decode(field, cell).asInstanceOf[NdArray]
    assertArrayEquals(Array(16L, 16L, 3L), decoded.shape)
    assertTrue(decoded.asUnsignedBytes.forall(v => math.abs(v - 100) <= 2))
  }

  @Test def scalarsConvertToSparkTypes(): Unit = {
    def enc(dtype: String, t: DataType, v: Any) = {
      val f = UnischemaField("s", dtype, Seq(), ScalarCodec(t))
      f.codec.encode(f, v)
    }
    assertEquals(7, enc("int32", IntegerType, 7))
    assertEquals(200.toShort, enc("uint8", ShortType, NdArray.scalar(NdArray.uint8(Array(200.toByte)))))
    assertEquals(new java.math.BigDecimal("1.250000000"), enc("decimal", DecimalType(10, 9), BigDecimal("1.250000000")))
    assertEquals("héllo", enc("str", StringType, "héllo"))
    assertEquals(2.5, enc("float64", DoubleType, 2.5))
    assertEquals(true, enc("bool", BooleanType, true))
    assertNames(intercept[IllegalArgumentException](enc("str", StringType, 5)), "s")
    assertEquals(12, ScalarCodec(IntegerType).decode(UnischemaField("s", "int32", Seq(), ScalarCodec(IntegerType)), 12))
  }

  @Test def nonScalarToScalarCodecIsTypeError(): Unit = {
    val f = UnischemaField("count", "int32", Seq(), ScalarCodec(IntegerType))
    assertNames(intercept[PetastormTypeException](f.codec.encode(f, NdArray.int32(Array(1, 2)))), "count")
  }

  @Test def corruptCellsAreDecodeErrors(): Unit = {
    val npy = UnischemaField("matrix", "float32", Seq(Some(2), None), NdarrayCodec())
    val good = bytesOf(npy.codec.encode(npy, NdArray.float32(Array(1f, 2f, 3f, 4f), 2, 2)))
    for (bad <- Seq(good.take(good.length - 3), good.take(20), Array[Byte](1, 2, 3), Array.emptyByteArray)) {
      assertNames(intercept[DecodeFieldException](npy.codec.decode(npy, bad)), "matrix")
    }
    val png = UnischemaField("image", "uint8", Seq(Some(4), Some(4), Some(3)), CompressedImageCodec())
    val img = bytesOf(png.codec.encode(png, NdArray.uint8(new Array[Byte](48), 4, 4, 3)))
    assertNames(intercept[DecodeFieldException](png.codec.decode(png, img.take(img.length / 2))), "image")
    val other = UnischemaField("image", "uint8", Seq(Some(5), Some(4), Some(3)), CompressedImageCodec())
    assertNames(intercept[DecodeFieldException](other.codec.decode(other, img)), "image")
    val npz = UnischemaField("packed", "int16", Seq(None), CompressedNdarrayCodec())
    assertNames(intercept[DecodeFieldException](npz.codec.decode(npz, "PK\u0003\u0004garbage".getBytes)), "packed")
  }
}
