package petastorm.unischema

import com.fasterxml.jackson.databind.{JsonNode, ObjectMapper}
import org.apache.spark.sql.types.{DataType, StructType}

import scala.jdk.CollectionConverters._

import petastorm.codecs.ScalarCodec
import petastorm.jni.NativeLib

/**
 * A dataset schema (upstream `petastorm.unischema.Unischema`). Serializable: it travels to Spark
 * executors, where its native handle is re-created on first use. `close()` frees the handle early
 * (a later call makes a new one); otherwise a Cleaner frees it.
 */
final case class Unischema(name: String, fields: Seq[UnischemaField]) extends AutoCloseable {
  require(name != null && fields != null, "Unischema needs a name and fields")

  @transient @volatile private var handle: SchemaHandle = _

  @transient private lazy val indexByName: Map[String, Int] = fields.map(_.name).zipWithIndex.toMap

  /** The Unischema JSON of docs/ffi.md. */
  def toJson: String = {
    val root = Unischema.mapper.createObjectNode().put("name", name)
    val arr = root.putArray("fields")
    fields.foreach(f => arr.add(f.toJson))
    Unischema.mapper.writeValueAsString(root)
  }

  /** The Spark schema (`as_spark_schema` rules, applied by the native library). */
  @transient lazy val asSparkSchema: StructType =
    DataType.fromJson(withHandle(NativeLib.schemaSparkJson)).asInstanceOf[StructType]

  def fieldNames: Seq[String] = fields.map(_.name)

  def field(name: String): UnischemaField = fields(fieldIndex(name))

  def fieldIndex(name: String): Int = indexByName.getOrElse(name,
    throw new NoSuchElementException(s"field '$name' is not in schema '${this.name}'"))

  /** A Unischema with only `viewFields` (which must belong to this schema), in schema order. */
  def createSchemaView(viewFields: Seq[UnischemaField]): Unischema = {
    viewFields.foreach { f =>
      if (!indexByName.get(f.name).exists(i => fields(i) == f))
        throw new IllegalArgumentException(s"field '${f.name}' does not belong to the schema '$name'")
    }
    val names = viewFields.map(_.name).toSet
    Unischema(s"${name}_view", fields.filter(f => names(f.name)))
  }

  /** Fields whose names fully match any of the regex `patterns`, in schema order. */
  def matchUnischemaFields(patterns: Seq[String]): Seq[UnischemaField] = {
    val json = Unischema.mapper.writeValueAsString(patterns.asJava)
    val names = Unischema.mapper.readTree(withHandle(NativeLib.schemaMatchFields(_, json)))
    names.elements().asScala.map(n => field(n.asText())).toList
  }

  /** Runs `f` with a live native handle, creating one when needed. */
  private[petastorm] def withHandle[T](f: Long => T): T = {
    var result: Option[T] = None
    while (result.isEmpty) {
      var h = handle
      if (h == null || h.isClosed) synchronized {
        h = handle
        if (h == null || h.isClosed) { h = new SchemaHandle(toJson); handle = h }
      }
      result = h.use(f)
    }
    result.get
  }

  /** Validates and encodes `value` for field `index`: bytes for binary codecs, the Spark value else. */
  private[petastorm] def encodeCell(index: Int, value: Any): Any = {
    val np = CellValues.toNumpy(value)
    val out = withHandle(NativeLib.encodeCell(_, index, np.dtype, np.shape, np.fortran, np.data))
    val f = fields(index)
    f.codec match {
      case null | ScalarCodec(_) => CellValues.toSpark(f.name, value, asSparkSchema(index).dataType)
      case _ => out
    }
  }

  /** Decodes a stored cell of field `index`: an NdArray for binary codecs, the value itself else. */
  private[petastorm] def decodeCell(index: Int, cell: Any): Any = (fields(index).codec, cell) match {
    case (_, null) => null
    case (null | ScalarCodec(_), v) => v
    case (_, bytes: Array[Byte]) =>
      val d = withHandle(NativeLib.decodeCell(_, index, bytes))
      NdArray(d.dtype, d.shape, d.data)
    case (_, other) => throw new IllegalArgumentException(
      s"field '${fields(index).name}': expected a binary cell, got ${other.getClass.getName}")
  }

  /** Frees the native handle now; idempotent. */
  override def close(): Unit = synchronized {
    if (handle != null) { handle.close(); handle = null }
  }

  override def toString: String = s"Unischema($name, ${fields.mkString(", ")})"
}

object Unischema {
  private[petastorm] val mapper = new ObjectMapper()

  /** Parses the Unischema JSON of docs/ffi.md. */
  def fromJson(json: String): Unischema = {
    val root: JsonNode = mapper.readTree(json)
    Unischema(root.path("name").asText(),
      root.path("fields").elements().asScala.map(UnischemaField.fromJson).toList)
  }

  /** Java-friendly factory. */
  def of(name: String, fields: java.util.List[UnischemaField]): Unischema = Unischema(name, fields.asScala.toList)

  /** Upstream's `match_unischema_fields(schema, field_regex)`. */
  def matchUnischemaFields(schema: Unischema, patterns: Seq[String]): Seq[UnischemaField] =
    schema.matchUnischemaFields(patterns)

  /** Runs `f` on a temporary one-field schema (how a standalone codec reaches the native encoder). */
  private[petastorm] def withSingleField[T](field: UnischemaField)(f: Unischema => T): T = {
    val s = Unischema("_single_field", Seq(field))
    try f(s) finally s.close()
  }
}
