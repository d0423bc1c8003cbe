package petastorm.sql

import org.apache.spark.sql.catalyst.InternalRow
import org.apache.spark.sql.catalyst.analysis.TypeCheckResult
import org.apache.spark.sql.catalyst.expressions.{BoundReference, Expression, UnaryExpression, UnsafeRow}
import org.apache.spark.sql.catalyst.expressions.codegen.CodegenFallback
import org.apache.spark.sql.catalyst.util.ArrayData
import org.apache.spark.sql.types._
import org.apache.spark.unsafe.Platform

import petastorm.errors.PetastormException
import petastorm.jni.NativeLib
import petastorm.unischema.Unischema

/** Errors of a row: the native message (which names the field) prefixed with the column. */
private[petastorm] object ColumnErrors {
  /** The same exception class (IllegalArgumentException, a petastorm.errors class) with the column named. */
  def inColumn(column: String, e: RuntimeException): RuntimeException = {
    val message = s"column '$column': ${e.getMessage}"
    val wrapped: RuntimeException = e match {
      case _: IllegalArgumentException => new IllegalArgumentException(message, e)
      case p: PetastormException =>
        try p.getClass.getConstructor(classOf[String]).newInstance(message)
        catch { case _: ReflectiveOperationException => new PetastormException(message) }
      case _ => new PetastormException(message)
    }
    if (wrapped.getCause == null) wrapped.initCause(e)
    wrapped
  }

  def nullValue(column: String, field: String): IllegalArgumentException =
    new IllegalArgumentException(s"column '$column': field '$field': null value in a non-nullable field")

  def guard[T](column: String)(f: => T): T =
    try f catch {
      case e: IllegalArgumentException if e.getMessage != null && e.getMessage.startsWith(s"column '$column'") => throw e
      case e: IllegalArgumentException => throw inColumn(column, e)
      case e: PetastormException => throw inColumn(column, e)
    }
}

/** Field lookup shared by the expressions (the native handle is the Unischema's, made once per JVM copy). */
private[sql] trait FieldOf {
  def schema: Unischema
  def fieldName: String
  def column: String
  @transient protected lazy val index: Int = schema.fieldIndex(fieldName)
  protected def failure(message: String): TypeCheckResult =
    TypeCheckResult.TypeCheckFailure(s"column '$column': field '$fieldName': $message")
}

/**
 * Encodes a column for a binary-codec field: arrays (nested arrays are flattened, giving the shape)
 * of numbers, booleans or strings; `binary` raw little-endian elements of the field's dtype; Spark
 * `image` structs (BGR, converted to the field's gray/RGB/RGBA). `children(1)`, when present, is the
 * shape (array of integers). A null value is null for nullable fields and an error otherwise.
 */
private[petastorm] case class EncodeField(children: Seq[Expression], schema: Unischema, fieldName: String,
                                          column: String, imageOnly: Boolean)
  extends Expression with CodegenFallback with FieldOf {
  require(children.size == 1 || children.size == 2, "EncodeField takes a value and an optional shape")

  private def value: Expression = children.head

  override def dataType: DataType = BinaryType

  override def nullable: Boolean = schema.field(fieldName).nullable

  override def checkInputDataTypes(): TypeCheckResult = {
    val shapeOk = children.lift(1).forall(_.dataType match {
      case ArrayType(IntegerType | LongType | ShortType | ByteType, _) => true
      case _ => false
    })
    value.dataType match {
      case _ if !shapeOk => failure(s"the shape must be an array of integers, not ${children(1).dataType.simpleString}")
      case s: StructType if SparkValues.imageOrdinals(s).isDefined => TypeCheckResult.TypeCheckSuccess
      case other if imageOnly => failure(s"expected an image struct (${SparkValues.ImageStruct.simpleString}), " +
        s"got ${other.simpleString}")
      case BinaryType => TypeCheckResult.TypeCheckSuccess
      case a: ArrayType if SparkValues.supportedElement(SparkValues.leaf(a)._1) => TypeCheckResult.TypeCheckSuccess
      case other => failure(s"cannot encode a column of type ${other.simpleString} (expected arrays of numbers, " +
        "booleans or strings, binary, or an image struct)")
    }
  }

  @transient private lazy val imageOrdinals: Seq[Int] = value.dataType match {
    case s: StructType => SparkValues.imageOrdinals(s).getOrElse(Nil)
    case _ => Nil
  }

  /** Conversion errors of the JVM side, named like the native ones. */
  private def inField[T](f: => T): T =
    try f catch {
      case e: IllegalArgumentException => throw new IllegalArgumentException(s"field '$fieldName': ${e.getMessage}", e)
    }

  private def shapeOf(input: InternalRow): Array[Long] = children.lift(1) match {
    case None => null
    case Some(e) => e.eval(input) match {
      case null => throw new IllegalArgumentException(s"field '$fieldName': the shape is null")
      case a: ArrayData => inField(SparkValues.shapeOf(a, e.dataType.asInstanceOf[ArrayType].elementType))
    }
  }

  override def eval(input: InternalRow): Any = encode(input, 0L)

  /** A `binary` column of an on-heap UnsafeRow is read in place, without copying it out of the row. */
  private def inPlace(input: InternalRow): Option[(Array[Byte], Int, Int)] = (value, input) match {
    case (BoundReference(i, BinaryType, _), row: UnsafeRow) if !row.isNullAt(i) =>
      row.getBaseObject match {
        case base: Array[Byte] =>
          val offsetAndSize = row.getLong(i)
          val start = row.getBaseOffset - Platform.BYTE_ARRAY_OFFSET + (offsetAndSize >>> 32)
          Some((base, start.toInt, offsetAndSize.toInt))
        case _ => None
      }
    case _ => None
  }

  /**
   * The cell of the row's value; with a native writer handle (`writer != 0`) the cell (or a null) is put
   * into the writer's current row instead and null is returned.
   */
  private[petastorm] def encode(input: InternalRow, writer: Long): Array[Byte] = {
    val slice = inPlace(input)
    if (slice.isDefined) return ColumnErrors.guard(column) {
      val (bytes, offset, length) = slice.get
      schema.withHandle(NativeLib.encodeValues(_, index, null, shapeOf(input), bytes, offset, length, writer))
    }
    val v = value.eval(input)
    if (v == null) {
      if (!nullable) throw ColumnErrors.nullValue(column, fieldName)
      if (writer != 0L) NativeLib.writerPutNull(writer, index)
      return null
    }
    ColumnErrors.guard(column) {
      value.dataType match {
        case _: StructType =>
          val r = v.asInstanceOf[InternalRow]
          val Seq(h, w, c, m, d) = imageOrdinals
          if (Seq(h, w, c, m, d).exists(r.isNullAt)) {
            throw new IllegalArgumentException(s"field '$fieldName': the image struct has null members")
          }
          schema.withHandle(NativeLib.encodeImageStruct(_, index, r.getInt(h), r.getInt(w), r.getInt(c), r.getInt(m),
            r.getBinary(d), writer))
        case BinaryType =>
          val (shape, bytes) = (shapeOf(input), v.asInstanceOf[Array[Byte]])
          schema.withHandle(NativeLib.encodeValues(_, index, null, shape, bytes, 0, bytes.length, writer))
        case t: ArrayType =>
          val flat = inField(SparkValues.flatten(v.asInstanceOf[ArrayData], t))
          val shape = Option(shapeOf(input)).getOrElse(flat.shape)
          schema.withHandle(NativeLib.encodeValues(_, index, flat.dtype, shape, flat.data, 0, flat.data.length, writer))
      }
    }
  }

  override protected def withNewChildrenInternal(newChildren: IndexedSeq[Expression]): Expression =
    copy(children = newChildren)

  override def prettyName: String = "petastorm_encode"

  override def sql: String = s"$prettyName(${value.sql}, '$fieldName')"

  override def toString: String = s"$prettyName($value, $fieldName)"

  override protected def stringArgs: Iterator[Any] = Iterator(value, fieldName)
}

/** What [[DecodeField]] produces. */
private[petastorm] object DecodeOutput extends Enumeration {
  val Values, Shape, Image = Value
}

/**
 * Decodes a stored (binary) cell of a field: its elements as a flat array (C order) of the Spark type
 * the native library picks (unsigned types widened), its shape, or a Spark `image` struct (BGR).
 */
private[petastorm] case class DecodeField(child: Expression, schema: Unischema, fieldName: String, column: String,
                                          output: DecodeOutput.Value)
  extends UnaryExpression with CodegenFallback with FieldOf {

  @transient private lazy val elementType: DataType =
    DataType.fromJson("\"" + schema.withHandle(NativeLib.decodedElementType(_, index)) + "\"")

  override def dataType: DataType = output match {
    case DecodeOutput.Values => ArrayType(elementType, containsNull = false)
    case DecodeOutput.Shape => ArrayType(IntegerType, containsNull = false)
    case DecodeOutput.Image => SparkValues.ImageStruct
  }

  override def checkInputDataTypes(): TypeCheckResult = child.dataType match {
    case BinaryType => TypeCheckResult.TypeCheckSuccess
    case other => failure(s"expected a binary column of encoded cells, got ${other.simpleString}")
  }

  override protected def nullSafeEval(input: Any): Any = ColumnErrors.guard(column) {
    val cell = input.asInstanceOf[Array[Byte]]
    output match {
      case DecodeOutput.Values => SparkValues.toArrayData(schema.withHandle(NativeLib.decodeValues(_, index, cell)))
      case DecodeOutput.Shape => SparkValues.shapeData(schema.withHandle(NativeLib.decodeValues(_, index, cell)))
      case DecodeOutput.Image =>
        val d = schema.withHandle(NativeLib.decodeImageStruct(_, index, cell))
        val Array(h, w, c) = d.shape().map(_.toInt)
        InternalRow(null, h, w, c, (c - 1) * 8, d.data()) // mode: OpenCV's CV_8UC(c)
    }
  }

  override protected def withNewChildInternal(newChild: Expression): Expression = copy(child = newChild)

  override def prettyName: String = output match {
    case DecodeOutput.Values => "petastorm_decode"
    case DecodeOutput.Shape => "petastorm_decode_shape"
    case DecodeOutput.Image => "petastorm_decode_image"
  }

  override def sql: String = s"$prettyName(${child.sql}, '$fieldName')"

  override def toString: String = s"$prettyName($child, $fieldName)"

  override protected def stringArgs: Iterator[Any] = Iterator(child, fieldName)
}

/** Fails on a null in a non-nullable scalar field (a plain column, cast to the field's Spark type). */
private[petastorm] case class NonNullField(child: Expression, fieldName: String, column: String)
  extends UnaryExpression with CodegenFallback {
  override def dataType: DataType = child.dataType

  override def nullable: Boolean = false

  override def eval(input: InternalRow): Any = {
    val v = child.eval(input)
    if (v == null) throw ColumnErrors.nullValue(column, fieldName)
    v
  }

  override protected def withNewChildInternal(newChild: Expression): Expression = copy(child = newChild)

  override def prettyName: String = "petastorm_non_null"

  override def sql: String = child.sql

  override def toString: String = s"$prettyName($child, $fieldName)"

  override protected def stringArgs: Iterator[Any] = Iterator(child, fieldName)
}
