package petastorm.sql

import java.nio.{ByteBuffer, ByteOrder}

import scala.collection.mutable.ArrayBuffer

import org.apache.spark.sql.catalyst.util.{ArrayData, GenericArrayData}
import org.apache.spark.sql.catalyst.expressions.UnsafeArrayData
import org.apache.spark.sql.types._
import org.apache.spark.unsafe.types.UTF8String

import petastorm.jni.DecodedArray
import petastorm.unischema.NdArray

/**
 * Type conversion between Catalyst values and the (NumPy dtype, shape, little-endian bytes) form
 * the native library takes and returns. No schema logic: shapes are checked and inferred in Rust.
 */
private[petastorm] object SparkValues {
  /** Flattened elements: `shape` is null for a 1-d array (the native side infers it from the field). */
  final case class Flat(dtype: String, shape: Array[Long], data: Array[Byte])

  /** The Spark image struct (`spark.read.format("image")`, Spark's `ImageSchema.columnSchema`). */
  val ImageStruct: StructType = StructType(Seq(
    StructField("origin", StringType, nullable = true),
    StructField("height", IntegerType, nullable = true),
    StructField("width", IntegerType, nullable = true),
    StructField("nChannels", IntegerType, nullable = true),
    StructField("mode", IntegerType, nullable = true),
    StructField("data", BinaryType, nullable = true)))

  /** Element types arrays may hold, with their NumPy dtype (`<U` strings get their width later). */
  private val Dtypes: Map[DataType, String] = Map(BooleanType -> "|b1", ByteType -> "|i1", ShortType -> "<i2",
    IntegerType -> "<i4", LongType -> "<i8", FloatType -> "<f4", DoubleType -> "<f8", StringType -> "<U")

  /** (innermost element type, nesting depth, whether any level may hold nulls) of nested arrays. */
  def leaf(t: ArrayType): (DataType, Int, Boolean) = t.elementType match {
    case inner: ArrayType =>
      val (e, d, n) = leaf(inner)
      (e, d + 1, n || t.containsNull)
    case e => (e, 1, t.containsNull)
  }

  def supportedElement(t: DataType): Boolean = Dtypes.contains(t)

  /** The fields of an image struct the encoder reads: (height, width, nChannels, mode, data) ordinals. */
  def imageOrdinals(t: StructType): Option[Seq[Int]] = {
    val wanted = Seq("height" -> IntegerType, "width" -> IntegerType, "nChannels" -> IntegerType,
      "mode" -> IntegerType, "data" -> BinaryType)
    val ordinals = wanted.map { case (name, dt) => t.fields.indexWhere(f => f.name == name && f.dataType == dt) }
    if (ordinals.contains(-1)) None else Some(ordinals)
  }

  private def le(n: Int): ByteBuffer = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN)

  /** The elements of a 1-d primitive array as little-endian bytes. */
  private def primitiveBytes(a: ArrayData, elem: DataType): Array[Byte] = {
    val n = a.numElements()
    elem match {
      case BooleanType => a.toBooleanArray().map(b => if (b) 1.toByte else 0.toByte)
      case ByteType => a.toByteArray()
      case ShortType => val b = le(2 * n); b.asShortBuffer().put(a.toShortArray()); b.array()
      case IntegerType => val b = le(4 * n); b.asIntBuffer().put(a.toIntArray()); b.array()
      case LongType => val b = le(8 * n); b.asLongBuffer().put(a.toLongArray()); b.array()
      case FloatType => val b = le(4 * n); b.asFloatBuffer().put(a.toFloatArray()); b.array()
      case DoubleType => val b = le(8 * n); b.asDoubleBuffer().put(a.toDoubleArray()); b.array()
      case other => throw new IllegalArgumentException(s"arrays of $other are not supported")
    }
  }

  private def noNulls(a: ArrayData, what: String): Unit = {
    var i = 0
    while (i < a.numElements()) {
      if (a.isNullAt(i)) throw new IllegalArgumentException(s"null $what at index $i")
      i += 1
    }
  }

  /** Flattens (nested) arrays in C order; nested arrays must be rectangular and hold no nulls. */
  def flatten(value: ArrayData, t: ArrayType): Flat = {
    val (elem, depth, nullable) = leaf(t)
    if (depth == 1 && elem != StringType) {
      if (nullable) noNulls(value, "element")
      return Flat(Dtypes(elem), null, primitiveBytes(value, elem))
    }
    val dims = Array.fill(depth)(-1L)
    val bytes = new java.io.ByteArrayOutputStream()
    val strings = ArrayBuffer[String]()
    def walk(a: ArrayData, level: Int): Unit = {
      val n = a.numElements()
      if (dims(level) < 0) dims(level) = n
      else if (dims(level) != n) throw new IllegalArgumentException(
        s"nested arrays are ragged: $n elements at depth $level where another array has ${dims(level)}")
      if (nullable) noNulls(a, if (level == depth - 1) "element" else "nested array")
      if (level < depth - 1) (0 until n).foreach(i => walk(a.getArray(i), level + 1))
      else if (elem == StringType) (0 until n).foreach(i => strings += a.getUTF8String(i).toString)
      else bytes.write(primitiveBytes(a, elem))
    }
    walk(value, 0)
    val shape = dims.map(d => math.max(d, 0L))
    if (elem == StringType) {
      val u = NdArray.unicode(strings.toArray)
      Flat(u.dtype, if (depth == 1) null else shape, u.data)
    } else Flat(Dtypes(elem), shape, bytes.toByteArray)
  }

  /** A shape column's value (array of int or long) as dimensions. */
  def shapeOf(a: ArrayData, elem: DataType): Array[Long] = {
    noNulls(a, "shape dimension")
    elem match {
      case IntegerType => a.toIntArray().map(_.toLong)
      case LongType => a.toLongArray()
      case ShortType => a.toShortArray().map(_.toLong)
      case ByteType => a.toByteArray().map(_.toLong)
      case other => throw new IllegalArgumentException(s"a shape must be an array of integers, not of $other")
    }
  }

  /** Decoded elements as a Catalyst array of the matching Spark type. */
  def toArrayData(d: DecodedArray): ArrayData = {
    val data = d.data()
    val buf = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN)
    d.dtype() match {
      case "|b1" => UnsafeArrayData.fromPrimitiveArray(data.map(_ != 0))
      case "|i1" => UnsafeArrayData.fromPrimitiveArray(data)
      case "<i2" => val a = new Array[Short](data.length / 2); buf.asShortBuffer().get(a); UnsafeArrayData.fromPrimitiveArray(a)
      case "<i4" => val a = new Array[Int](data.length / 4); buf.asIntBuffer().get(a); UnsafeArrayData.fromPrimitiveArray(a)
      case "<i8" => val a = new Array[Long](data.length / 8); buf.asLongBuffer().get(a); UnsafeArrayData.fromPrimitiveArray(a)
      case "<f4" => val a = new Array[Float](data.length / 4); buf.asFloatBuffer().get(a); UnsafeArrayData.fromPrimitiveArray(a)
      case "<f8" => val a = new Array[Double](data.length / 8); buf.asDoubleBuffer().get(a); UnsafeArrayData.fromPrimitiveArray(a)
      case u if u.startsWith("<U") =>
        new GenericArrayData(NdArray(u, d.shape(), data).asStrings.map(s => UTF8String.fromString(s): Any))
      case s if s.startsWith("|S") =>
        val width = s.drop(2).toInt
        val items = if (width == 0) Array.fill(d.shape().product.toInt)(Array.emptyByteArray)
        else data.grouped(width).map(b => b.take(b.lastIndexWhere(_ != 0) + 1)).toArray
        new GenericArrayData(items.map(b => b: Any))
      case other => throw new IllegalStateException(s"unexpected decoded dtype $other")
    }
  }

  def shapeData(d: DecodedArray): ArrayData = UnsafeArrayData.fromPrimitiveArray(d.shape().map(_.toInt))
}
