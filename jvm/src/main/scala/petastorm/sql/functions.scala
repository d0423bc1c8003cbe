package petastorm.sql

import org.apache.spark.sql.Column
import org.apache.spark.sql.catalyst.expressions.Expression
import org.apache.spark.sql.petastorm.ColumnBridge
import org.apache.spark.sql.types.StructType

import petastorm.codecs.ScalarCodec
import petastorm.unischema.Unischema

/**
 * Spark SQL functions that encode DataFrame columns into Petastorm cells and decode them back,
 * inside the JVM (executors call the native library through JNI; no Python worker).
 *
 * Encoding (`encode`, `encodeImage`) gives the `binary` cell of a field with an ndarray, compressed
 * ndarray or image codec; for a scalar field `encode` casts the column to the field's Spark type.
 * Accepted columns:
 *  - arrays of numbers, booleans or strings, nested arrays allowed (flattened in C order; the nesting
 *    gives the shape). Elements are converted to the field's dtype when the values fit (`array<int>`
 *    into a `uint8` field; `double` into `float32`); floats never become integers;
 *  - `binary`: the raw little-endian elements of the field's dtype (e.g. raw pixels of a `uint8` field);
 *  - Spark `image` structs (`spark.read.format("image")`: BGR, BGRA or gray, 8-bit), converted to RGB
 *    (or gray / RGBA, as the field's last dimension says).
 * The shape is the `shape` column's value when given, else the nesting of the arrays, else the field's
 * shape (one open dimension is inferred from the number of elements).
 *
 * Decoding (`decode`, `decodeShape`, `decodeImage`) reads stored cells: a flat array (C order) whose
 * element type is the field's, widened where Spark has no such type (`uint8` → `smallint`, `uint16` →
 * `int`, `uint32`/`uint64` → `bigint`, `float16` → `float`); the shape as `array<int>`; an image struct
 * like Spark's image source (BGR; `origin` null).
 *
 * A bad value fails the task with an exception (IllegalArgumentException, or a `petastorm.errors`
 * class) whose message names the column and the field.
 */
object functions {
  /** The schema of Spark's `image` struct (`ImageSchema.columnSchema`). */
  val imageSchema: StructType = SparkValues.ImageStruct

  private def column(e: Expression): Column = ColumnBridge.column(e)

  private def expression(c: Column): Expression = ColumnBridge.expression(c)

  private def binaryField(schema: Unischema, fieldName: String, what: String): Unit = {
    schema.fieldIndex(fieldName)
    schema.field(fieldName).codec match {
      case null | ScalarCodec(_) => throw new IllegalArgumentException(
        s"field '$fieldName' of schema '${schema.name}' is a scalar column: $what needs an ndarray or image field")
      case _ =>
    }
  }

  /** Encodes `column` for field `fieldName` of `schema` (see the object's description). */
  def encode(column: Column, schema: Unischema, fieldName: String): Column = {
    val index = schema.fieldIndex(fieldName)
    val field = schema.fields(index)
    field.codec match {
      case null | ScalarCodec(_) =>
        val cast = column.cast(schema.asSparkSchema(index).dataType)
        if (field.nullable) cast else this.column(NonNullField(expression(cast), fieldName, column.toString))
      case _ => this.column(EncodeField(Seq(expression(column)), schema, fieldName, column.toString, imageOnly = false))
    }
  }

  /** Encodes `column` with the array shape given by `shape` (an array of integers per row). */
  def encode(column: Column, schema: Unischema, fieldName: String, shape: Column): Column = {
    binaryField(schema, fieldName, "encode with a shape")
    this.column(EncodeField(Seq(expression(column), expression(shape)), schema, fieldName, column.toString,
      imageOnly = false))
  }

  /** Encodes a Spark `image` struct column (BGR) as the field's image (RGB, or gray). */
  def encodeImage(column: Column, schema: Unischema, fieldName: String): Column = {
    binaryField(schema, fieldName, "encodeImage")
    this.column(EncodeField(Seq(expression(column)), schema, fieldName, column.toString, imageOnly = true))
  }

  /** The elements of stored cells as a flat array; a scalar field's column is returned as it is. */
  def decode(column: Column, schema: Unischema, fieldName: String): Column =
    schema.field(fieldName).codec match {
      case null | ScalarCodec(_) => column
      case _ => this.column(DecodeField(expression(column), schema, fieldName, column.toString, DecodeOutput.Values))
    }

  /** The shapes of stored cells, as `array<int>`. */
  def decodeShape(column: Column, schema: Unischema, fieldName: String): Column = {
    binaryField(schema, fieldName, "decodeShape")
    this.column(DecodeField(expression(column), schema, fieldName, column.toString, DecodeOutput.Shape))
  }

  /** Stored images (any uint8 (H, W) or (H, W, 1|3|4) field) as Spark image structs (BGR). */
  def decodeImage(column: Column, schema: Unischema, fieldName: String): Column = {
    binaryField(schema, fieldName, "decodeImage")
    this.column(DecodeField(expression(column), schema, fieldName, column.toString, DecodeOutput.Image))
  }
}
