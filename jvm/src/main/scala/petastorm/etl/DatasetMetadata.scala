package petastorm.etl

import com.fasterxml.jackson.databind.ObjectMapper
import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.fs.{FileSystem, Path}
import org.apache.spark.sql.{Row, SparkSession}

import scala.jdk.CollectionConverters._

import petastorm.errors.PetastormMetadataException
import petastorm.jni.NativeLib
import petastorm.unischema.Unischema

/** Upstream `petastorm.etl.dataset_metadata`: row encoding and dataset materialization. */
object DatasetMetadata {
  val CommonMetadataFile = "_common_metadata"
  private val mapper = new ObjectMapper()

  /**
   * Validates `row` against `schema` and encodes every field (in executors, through JNI).
   * Values in schema field order; missing nullable fields become null. `None`/`null` values are
   * None, `Some(x)` is `x`.
   */
  def dictToSparkRow(schema: Unischema, row: Map[String, Any]): Row = {
    val values = row.map { case (k, v) => k -> unwrap(v) }
    val check = mapper.createObjectNode()
    val present = check.putArray("present")
    val none = check.putArray("none")
    values.foreach { case (k, v) => present.add(k); if (v == null) none.add(k) }
    schema.withHandle(NativeLib.validateRow(_, mapper.writeValueAsString(check)))
    Row.fromSeq(schema.fields.indices.map { i =>
      values.getOrElse(schema.fields(i).name, null) match {
        case null => null
        case v => schema.encodeCell(i, v)
      }
    })
  }

  /** Java-friendly [[dictToSparkRow]]. */
  def dictToSparkRow(schema: Unischema, row: java.util.Map[String, _]): Row =
    dictToSparkRow(schema, row.asScala.toMap[String, Any])

  private def unwrap(v: Any): Any = v match {
    case None => null
    case Some(x) => unwrap(x)
    case x => x
  }

  /**
   * Sets the writer's Hadoop conf for the duration of `body` (restored afterwards, even on error)
   * and, when `body` succeeded, writes `_common_metadata` for the dataset at `datasetUrl`.
   */
  def materializeDataset(spark: SparkSession, datasetUrl: String, schema: Unischema,
                         rowGroupSizeMb: Int)(body: => Unit): Unit = {
    val conf = spark.sparkContext.hadoopConfiguration
    val settings = mapper.readTree(NativeLib.writerHadoopConf(rowGroupSizeMb.toLong))
      .fields().asScala.map(e => e.getKey -> e.getValue.asText()).toList
    val previous = settings.map { case (k, _) => k -> Option(conf.getRaw(k)) }
    try {
      settings.foreach { case (k, v) => conf.set(k, v) }
      body
    } finally {
      previous.foreach {
        case (k, Some(v)) => conf.set(k, v)
        case (k, None) => conf.unset(k)
      }
    }
    writeCommonMetadata(conf, datasetUrl, schema)
  }

  /** Java-friendly [[materializeDataset]]. */
  def materializeDataset(spark: SparkSession, datasetUrl: String, schema: Unischema,
                         rowGroupSizeMb: Int, body: Runnable): Unit =
    materializeDataset(spark, datasetUrl, schema, rowGroupSizeMb)(body.run())

  /** Writes `_common_metadata` (Unischema JSON + pickle, row groups per file) atomically. */
  def writeCommonMetadata(conf: Configuration, datasetUrl: String, schema: Unischema): Unit = {
    val root = new Path(datasetUrl)
    val fs = root.getFileSystem(conf)
    val files = DatasetFiles.dataFiles(fs, root)
    val footers = files.map { case (_, path) => DatasetFiles.readFooter(fs, path) }
    val bytes = schema.withHandle(NativeLib.commonMetadata(_, files.map(_._1).toArray, footers.toArray))
    DatasetFiles.writeAtomically(conf, new Path(root, CommonMetadataFile), bytes)
  }

  /** The Unischema stored in the dataset's `_common_metadata`. */
  def getSchemaFromDatasetUrl(spark: SparkSession, datasetUrl: String): Unischema =
    getSchemaFromDatasetUrl(spark.sparkContext.hadoopConfiguration, datasetUrl)

  def getSchemaFromDatasetUrl(conf: Configuration, datasetUrl: String): Unischema = {
    val path = new Path(new Path(datasetUrl), CommonMetadataFile)
    val fs: FileSystem = path.getFileSystem(conf)
    if (!fs.exists(path)) {
      throw new PetastormMetadataException(s"Could not find $CommonMetadataFile file in $datasetUrl. Use " +
        "materializeDataset(..) in your ETL code to generate it.")
    }
    Unischema.fromJson(NativeLib.schemaFromMetadata(DatasetFiles.readAll(fs, path)))
  }
}
