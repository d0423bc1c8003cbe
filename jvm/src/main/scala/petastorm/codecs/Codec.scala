package petastorm.codecs

import com.fasterxml.jackson.databind.JsonNode
import com.fasterxml.jackson.databind.node.{JsonNodeFactory, ObjectNode}
import org.apache.spark.sql.types.DataType

import petastorm.unischema.{Unischema, UnischemaField}

/**
 * How a field's values are stored (upstream `petastorm.codecs`). All checks and byte formats live
 * in the native library; `encode` goes through `NativeLib.encodeCell` of a one-field Unischema.
 */
sealed trait Codec extends Serializable {
  /** Encodes `value` for a Spark row: `Array[Byte]` for binary codecs, the Spark-typed scalar otherwise. */
  def encode(field: UnischemaField, value: Any): Any = Unischema.withSingleField(field)(_.encodeCell(0, value))

  /** Decodes a stored cell: an `NdArray` for binary codecs, the value itself for scalars. */
  def decode(field: UnischemaField, cell: Any): Any = Unischema.withSingleField(field)(_.decodeCell(0, cell))

  private[petastorm] def toJson: ObjectNode
}

/** Stores the value as a plain Spark column of `sparkType`. */
final case class ScalarCodec(sparkType: DataType) extends Codec {
  require(sparkType != null, "ScalarCodec needs a Spark type")
  private[petastorm] def toJson: ObjectNode =
    Codec.node("scalar").put("spark_type", sparkType.typeName)
}

/** Stores an array as NPY bytes (as `numpy.save` writes them). */
final case class NdarrayCodec() extends Codec {
  private[petastorm] def toJson: ObjectNode = Codec.node("ndarray")
}

/** Stores an array as NPZ bytes (as `numpy.savez_compressed(buf, arr=value)` writes them). */
final case class CompressedNdarrayCodec() extends Codec {
  private[petastorm] def toJson: ObjectNode = Codec.node("compressed_ndarray")
}

/** Stores an (H,W,3) RGB or (H,W) gray image as PNG or JPEG (`quality` for JPEG). */
final case class CompressedImageCodec(format: String = "png", quality: Int = 80) extends Codec {
  private[petastorm] def toJson: ObjectNode =
    Codec.node("compressed_image").put("format", format).put("quality", quality)
}

object Codec {
  private[petastorm] def node(kind: String): ObjectNode = JsonNodeFactory.instance.objectNode().put("type", kind)

  /** The codec of a Unischema JSON field (`null` JSON → `null` codec). */
  private[petastorm] def fromJson(n: JsonNode): Codec =
    if (n == null || n.isNull) null
    else n.path("type").asText() match {
      case "scalar" => ScalarCodec(DataType.fromJson("\"" + n.path("spark_type").asText() + "\""))
      case "ndarray" => NdarrayCodec()
      case "compressed_ndarray" => CompressedNdarrayCodec()
      case "compressed_image" =>
        CompressedImageCodec(n.path("format").asText("png"), n.path("quality").asInt(80))
      case other => throw new IllegalArgumentException(s"unknown codec type '$other' in $n")
    }
}
