package petastorm.unischema

import java.nio.{ByteBuffer, ByteOrder}
import java.nio.charset.StandardCharsets

import org.apache.spark.sql.types._

/**
 * Type conversion between JVM values and the NumPy view the native encoder checks: no schema logic
 * here, only "what dtype/shape/bytes is this JVM value" and "which JVM class does Spark want".
 */
private[petastorm] object CellValues {
  /** A JVM value as (NumPy dtype string, shape, fortran order, raw little-endian bytes). */
  final case class Numpy(dtype: String, shape: Array[Long], fortran: Boolean, data: Array[Byte])

  private val Scalar = Array.emptyLongArray

  private def le(n: Int)(f: ByteBuffer => ByteBuffer): Array[Byte] =
    f(ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN)).array()

  def toNumpy(value: Any): Numpy = value match {
    case a: NdArray => Numpy(a.dtype, a.shape, a.fortranOrder, a.data)
    case v: Int => Numpy("<i4", Scalar, false, le(4)(_.putInt(v)))
    case v: Long => Numpy("<i8", Scalar, false, le(8)(_.putLong(v)))
    case v: Short => Numpy("<i2", Scalar, false, le(2)(_.putShort(v)))
    case v: Byte => Numpy("|i1", Scalar, false, Array(v))
    case v: Float => Numpy("<f4", Scalar, false, le(4)(_.putFloat(v)))
    case v: Double => Numpy("<f8", Scalar, false, le(8)(_.putDouble(v)))
    case v: Boolean => Numpy("|b1", Scalar, false, Array((if (v) 1 else 0).toByte))
    case v: String =>
      Numpy(s"<U${v.codePointCount(0, v.length)}", Scalar, false, v.getBytes(NdArray.Utf32LE))
    case v: BigDecimal => Numpy("decimal", Scalar, false, v.bigDecimal.toString.getBytes(StandardCharsets.UTF_8))
    case v: java.math.BigDecimal => Numpy("decimal", Scalar, false, v.toString.getBytes(StandardCharsets.UTF_8))
    case _ => Numpy("O", Scalar, false, Array.emptyByteArray)
  }

  /** The single element of a 0-d (or one-element) array as a JVM value (unsigned widened). */
  def element(a: NdArray): Any = {
    val b = ByteBuffer.wrap(a.data).order(ByteOrder.LITTLE_ENDIAN)
    a.dtype match {
      case "|b1" => a.data(0) != 0
      case "|i1" => a.data(0)
      case "|u1" => (a.data(0) & 0xff).toShort
      case "<i2" => b.getShort
      case "<u2" => b.getChar.toInt
      case "<i4" => b.getInt
      case "<u4" => b.getInt & 0xffffffffL
      case "<i8" | "<u8" => b.getLong
      case "<f4" => b.getFloat
      case "<f8" => b.getDouble
      case d if d.startsWith("<U") => a.asStrings.head
      case d if d.startsWith("|S") => new String(a.data, StandardCharsets.UTF_8)
      case d => throw new IllegalArgumentException(s"cannot read a scalar of dtype $d")
    }
  }

  private def number(field: String, v: Any): Number = v match {
    case n: Number => n
    case b: BigDecimal => b.bigDecimal
    case c: Char => Int.box(c.toInt)
    case b: Boolean => Int.box(if (b) 1 else 0)
    case other => throw new IllegalArgumentException(
      s"field '$field': cannot convert ${other.getClass.getName} to a number")
  }

  /** Converts a validated scalar to the JVM class Spark expects for `dt`. */
  def toSpark(field: String, value: Any, dt: DataType): Any = {
    val v = value match {
      case a: NdArray if dt != BinaryType => element(a)
      case a: NdArray => a.data
      case x => x
    }
    dt match {
      case ByteType => number(field, v).byteValue()
      case ShortType => number(field, v).shortValue()
      case IntegerType => number(field, v).intValue()
      case LongType => number(field, v).longValue()
      case FloatType => number(field, v).floatValue()
      case DoubleType => number(field, v).doubleValue()
      case BooleanType => v match {
        case b: Boolean => b
        case n => number(field, n).intValue() != 0
      }
      case _: StringType => v.toString
      case d: DecimalType => v match {
        case b: java.math.BigDecimal => b
        case b: BigDecimal => b.bigDecimal
        case s: String => new java.math.BigDecimal(s)
        case n => new java.math.BigDecimal(number(field, n).toString)
      }
      case BinaryType => v match {
        case s: String => s.getBytes(StandardCharsets.UTF_8)
        case other => other
      }
      case _ => v
    }
  }
}
