package petastorm.unischema

import com.fasterxml.jackson.databind.JsonNode
import com.fasterxml.jackson.databind.node.{JsonNodeFactory, ObjectNode}

import scala.jdk.CollectionConverters._

import petastorm.codecs.Codec

/**
 * One field of a [[Unischema]] (upstream `UnischemaField`).
 *
 * @param numpyDtype one of `bool int8 int16 int32 int64 uint8 uint16 uint32 uint64 float16
 *                   float32 float64 str bytes decimal`
 * @param shape      `Seq()` for scalars; `None` for a dimension of any size
 * @param codec      how the value is stored; `null` for a plain scalar column
 */
final case class UnischemaField(name: String, numpyDtype: String, shape: Seq[Option[Int]],
                                codec: Codec, nullable: Boolean = false) {
  private[petastorm] def toJson: ObjectNode = {
    val f = JsonNodeFactory.instance
    val shapeNode = f.arrayNode()
    shape.foreach {
      case Some(n) => shapeNode.add(n)
      case None => shapeNode.addNull()
    }
    val node = f.objectNode().put("name", name).put("dtype", numpyDtype)
    node.set[JsonNode]("shape", shapeNode)
    node.put("nullable", nullable)
    node.set[JsonNode]("codec", if (codec == null) f.nullNode() else codec.toJson)
    node
  }
}

object UnischemaField {
  /** Java-friendly factory: `shape` entries that are `null` match any size. */
  def of(name: String, numpyDtype: String, shape: Array[Integer], codec: Codec, nullable: Boolean): UnischemaField =
    UnischemaField(name, numpyDtype, shape.toList.map(d => Option(d).map(_.intValue)), codec, nullable)

  private[petastorm] def fromJson(n: JsonNode): UnischemaField = {
    val shape = n.path("shape").elements().asScala.map(d => if (d.isNull) None else Some(d.asInt())).toList
    UnischemaField(n.path("name").asText(), n.path("dtype").asText(), shape,
      Codec.fromJson(n.get("codec")), n.path("nullable").asBoolean(false))
  }
}
