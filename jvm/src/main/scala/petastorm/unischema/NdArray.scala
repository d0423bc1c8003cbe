package petastorm.unischema

import java.nio.{ByteBuffer, ByteOrder}
import java.nio.charset.StandardCharsets
import java.util.Arrays

/**
 * A NumPy-like array value: `dtype` is NumPy's `dtype.str` (`|u1`, `<f4`, `<i8`, `<U11`, ...),
 * `data` the raw little-endian element bytes (C order unless `fortranOrder`). A shape of length
 * 0 is a scalar. Equality compares contents.
 */
final class NdArray(val dtype: String, val shape: Array[Long], val data: Array[Byte],
                    val fortranOrder: Boolean = false) extends Serializable {
  require(dtype != null && shape != null && data != null, "dtype, shape and data must not be null")

  def ndim: Int = shape.length

  def size: Long = shape.product

  /** Bytes per element (0 for `O`/unknown). */
  def itemSize: Int = NdArray.itemSize(dtype)

  private def buf: ByteBuffer = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN)

  private def expect(kinds: String*): Unit =
    require(kinds.contains(dtype), s"array of dtype $dtype cannot be read as ${kinds.mkString("/")}")

  def asBytes: Array[Byte] = data.clone()

  /** `|u1` elements as unsigned values. */
  def asUnsignedBytes: Array[Int] = { expect("|u1"); data.map(_ & 0xff) }

  def asBooleans: Array[Boolean] = { expect("|b1"); data.map(_ != 0) }

  def asShorts: Array[Short] = {
    expect("<i2", "<u2"); val a = new Array[Short](data.length / 2); buf.asShortBuffer().get(a); a
  }

  def asChars: Array[Char] = {
    expect("<u2", "<i2"); val a = new Array[Char](data.length / 2); buf.asCharBuffer().get(a); a
  }

  def asInts: Array[Int] = {
    expect("<i4", "<u4"); val a = new Array[Int](data.length / 4); buf.asIntBuffer().get(a); a
  }

  def asLongs: Array[Long] = {
    expect("<i8", "<u8"); val a = new Array[Long](data.length / 8); buf.asLongBuffer().get(a); a
  }

  def asFloats: Array[Float] = {
    expect("<f4"); val a = new Array[Float](data.length / 4); buf.asFloatBuffer().get(a); a
  }

  def asDoubles: Array[Double] = {
    expect("<f8"); val a = new Array[Double](data.length / 8); buf.asDoubleBuffer().get(a); a
  }

  /** `<U{n}` elements, trailing NULs stripped (as NumPy does). */
  def asStrings: Array[String] = {
    require(dtype.startsWith("<U"), s"array of dtype $dtype cannot be read as strings")
    val width = dtype.drop(2).toInt * 4
    if (width == 0) Array.fill(size.toInt)("")
    else data.grouped(width).map { b =>
      new String(b, NdArray.Utf32LE).reverse.dropWhile(_ == '\u0000').reverse
    }.toArray
  }

  override def equals(other: Any): Boolean = other match {
    case o: NdArray => dtype == o.dtype && Arrays.equals(shape, o.shape) &&
      fortranOrder == o.fortranOrder && Arrays.equals(data, o.data)
    case _ => false
  }

  override def hashCode(): Int =
    ((dtype.hashCode * 31 + Arrays.hashCode(shape)) * 31 + Arrays.hashCode(data)) * 31 +
      fortranOrder.hashCode()

  override def toString: String =
    s"NdArray(dtype=$dtype, shape=${shape.mkString("(", ",", ")")}, ${data.length} bytes" +
      (if (fortranOrder) ", fortran)" else ")")
}

object NdArray {
  private[petastorm] val Utf32LE = java.nio.charset.Charset.forName("UTF-32LE")

  def apply(dtype: String, shape: Array[Long], data: Array[Byte], fortranOrder: Boolean = false): NdArray =
    new NdArray(dtype, shape, data, fortranOrder)

  def unapply(a: NdArray): Option[(String, Array[Long], Array[Byte], Boolean)] =
    Some((a.dtype, a.shape, a.data, a.fortranOrder))

  /** Element size of a NumPy dtype string (`<U{n}`: 4n, `|S{n}`: n). */
  def itemSize(dtype: String): Int = dtype.drop(1) match {
    case s if s.startsWith("U") => s.drop(1).toInt * 4
    case s if s.startsWith("S") => s.drop(1).toInt
    case s if s.length > 1 && s.drop(1).forall(_.isDigit) => s.drop(1).toInt
    case _ => 0
  }

  private def shapeOr(n: Int, shape: Seq[Long]): Array[Long] =
    if (shape.isEmpty) Array(n.toLong) else shape.toArray

  private def le(bytes: Int): ByteBuffer = ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN)

  /** `shape` defaults to 1-d (n,). Pass an empty shape via [[scalar]] for 0-d values. */
  def uint8(values: Array[Byte], shape: Long*): NdArray = NdArray("|u1", shapeOr(values.length, shape), values.clone())

  def int8(values: Array[Byte], shape: Long*): NdArray = NdArray("|i1", shapeOr(values.length, shape), values.clone())

  def bool(values: Array[Boolean], shape: Long*): NdArray =
    NdArray("|b1", shapeOr(values.length, shape), values.map(b => if (b) 1.toByte else 0.toByte))

  def int16(values: Array[Short], shape: Long*): NdArray = {
    val b = le(values.length * 2); b.asShortBuffer().put(values); NdArray("<i2", shapeOr(values.length, shape), b.array())
  }

  def uint16(values: Array[Char], shape: Long*): NdArray = {
    val b = le(values.length * 2); b.asCharBuffer().put(values); NdArray("<u2", shapeOr(values.length, shape), b.array())
  }

  def int32(values: Array[Int], shape: Long*): NdArray = {
    val b = le(values.length * 4); b.asIntBuffer().put(values); NdArray("<i4", shapeOr(values.length, shape), b.array())
  }

  def int64(values: Array[Long], shape: Long*): NdArray = {
    val b = le(values.length * 8); b.asLongBuffer().put(values); NdArray("<i8", shapeOr(values.length, shape), b.array())
  }

  def float32(values: Array[Float], shape: Long*): NdArray = {
    val b = le(values.length * 4); b.asFloatBuffer().put(values); NdArray("<f4", shapeOr(values.length, shape), b.array())
  }

  def float64(values: Array[Double], shape: Long*): NdArray = {
    val b = le(values.length * 8); b.asDoubleBuffer().put(values); NdArray("<f8", shapeOr(values.length, shape), b.array())
  }

  /** Unicode strings as NumPy's `<U{n}` (n = longest string in code points). */
  def unicode(values: Array[String], shape: Long*): NdArray = {
    val width = if (values.isEmpty) 1 else math.max(1, values.map(s => s.codePointCount(0, s.length)).max)
    val out = new java.io.ByteArrayOutputStream(values.length * width * 4)
    values.foreach { s =>
      val b = s.getBytes(Utf32LE); out.write(b); out.write(new Array[Byte](width * 4 - b.length))
    }
    NdArray(s"<U$width", shapeOr(values.length, shape), out.toByteArray)
  }

  /** A 0-d array holding the single element of `a` (e.g. `scalar(uint8(Array(7)))` is `np.uint8(7)`). */
  def scalar(a: NdArray): NdArray = {
    require(a.size == 1, s"scalar needs exactly one element, got shape ${a.shape.mkString("(", ",", ")")}")
    NdArray(a.dtype, Array.emptyLongArray, a.data)
  }

  private[petastorm] def utf8(s: String): Array[Byte] = s.getBytes(StandardCharsets.UTF_8)
}
