package petastorm.examples

import org.apache.spark.sql.types.IntegerType

import petastorm.codecs.{CompressedImageCodec, NdarrayCodec, ScalarCodec}
import petastorm.unischema.{NdArray, Unischema, UnischemaField}

/**
 * The hello-world schema and its deterministic rows (a Python test recomputes the same values):
 * id = i; image1[y,x,c] = (i*7 + y*3 + x*5 + c*11) % 256, shape (128,256,3);
 * other_data shape (2 + i%3, 128, 30, 1 + i%2), value[a,b,c,d] = (i + a*13 + b*7 + c*3 + d) % 256.
 */
object HelloWorldData {
  /** A new HelloWorldSchema instance (each owns its native handle). */
  def schema: Unischema = Unischema("HelloWorldSchema", Seq(
    UnischemaField("id", "int32", Seq(), ScalarCodec(IntegerType), nullable = false),
    UnischemaField("image1", "uint8", Seq(Some(128), Some(256), Some(3)), CompressedImageCodec("png"), nullable = false),
    UnischemaField("other_data", "uint8", Seq(None, Some(128), Some(30), None), NdarrayCodec(), nullable = false)))

  def image1(i: Int): NdArray = {
    val data = new Array[Byte](128 * 256 * 3)
    var k = 0
    for (y <- 0 until 128; x <- 0 until 256; c <- 0 until 3) {
      data(k) = ((i * 7 + y * 3 + x * 5 + c * 11) % 256).toByte
      k += 1
    }
    NdArray("|u1", Array(128L, 256L, 3L), data)
  }

  def otherDataShape(i: Int): Array[Long] = Array(2L + i % 3, 128L, 30L, 1L + i % 2)

  def otherData(i: Int): NdArray = {
    val shape = otherDataShape(i)
    val data = new Array[Byte](shape.product.toInt)
    var k = 0
    for (a <- 0 until shape(0).toInt; b <- 0 until 128; c <- 0 until 30; d <- 0 until shape(3).toInt) {
      data(k) = ((i + a * 13 + b * 7 + c * 3 + d) % 256).toByte
      k += 1
    }
    NdArray("|u1", shape, data)
  }

  /** Row i as the dict given to `dictToSparkRow`. */
  def row(i: Int): Map[String, Any] = Map("id" -> i, "image1" -> image1(i), "other_data" -> otherData(i))
}
