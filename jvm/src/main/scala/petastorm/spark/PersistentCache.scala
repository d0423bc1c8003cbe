package petastorm.spark

import java.nio.charset.StandardCharsets
import java.security.MessageDigest

import com.fasterxml.jackson.databind.ObjectMapper
import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.fs.Path
import org.apache.spark.sql.{DataFrame, SparkSession}
import org.apache.spark.sql.catalyst.plans.logical.{LogicalPlan, OneRowRelation, Range}
import org.apache.spark.sql.execution.datasources.{HadoopFsRelation, LogicalRelation}
import org.apache.spark.sql.execution.datasources.v2.{DataSourceV2Relation, FileTable}

import scala.jdk.CollectionConverters._
import scala.util.control.NonFatal

import petastorm.etl.DatasetFiles

/**
 * The opt-in persistent converter cache (`petastorm.spark.converter.persistentCache=true`), shared
 * with Python's `petastorm.spark._persistent`: the same key text (built from the same JVM calls),
 * the same marker file, so a cache written from either language is reused by the other.
 *
 * Key: SHA-256 of
 * {{{
 * petastorm-converter-cache-v1
 * spark=<version>
 * timeZone=<spark.sql.session.timeZone>
 * ansi=<spark.sql.ansi.enabled>
 * rowGroupSizeBytes=<n>
 * compression=<codec>
 * dtype=<float32|float64|none>
 * schema=<analyzed schema JSON>
 * plan:
 * <canonicalized analyzed plan, verbose tree string, no field truncation>
 * files:
 * <input file URL>\t<length>\t<modification time ms>   (sorted)
 * }}}
 * Only deterministic plans without user code or subqueries whose leaves are file relations,
 * `Range` or `OneRowRelation` are eligible. The marker (`_petastorm_converter_complete`) is
 * written after the Spark write committed; a directory is reused only when the marker's key
 * matches and every Parquet file it lists is there with its length.
 */
private[spark] object PersistentCache {
  val KeyFormat = "petastorm-converter-cache-v1"
  val Marker = "_petastorm_converter_complete"

  private val mapper = new ObjectMapper()
  private val ClassField = "\"class\"\\s*:\\s*\"([^\"]+)\"".r
  private val Denied = ("UDF|UDAF|UDTF|Udf|PythonFunction|ScalaAggregator|Pandas|Arrow" +
    "|MapElements|MapPartitions|AppendColumns|MapGroups|CoGroup|TypedFilter|ObjectToObject" +
    "|ScriptTransformation|Subquery|ListQuery|^Exists$|LogicalRDD|ExternalRDD|LocalRelation" +
    "|Streaming|Stateful|WithState").r

  /** Why `plan` can't be persisted; `None` when it can. */
  def ineligibleReason(plan: LogicalPlan): Option[String] =
    try {
      if (!plan.deterministic) return Some("the plan is not deterministic")
      val badLeaf = plan.collectLeaves().find {
        case r: LogicalRelation => !r.relation.isInstanceOf[HadoopFsRelation]
        case r: DataSourceV2Relation => !r.table.isInstanceOf[FileTable]
        case _: Range | _: OneRowRelation => false
        case _ => true
      }
      badLeaf.map(l => s"it reads from ${l.getClass.getSimpleName}").orElse {
        ClassField.findAllMatchIn(plan.toJSON).map(_.group(1)).toSet
          .map((n: String) => n.substring(n.lastIndexOf('.') + 1).takeWhile(_ != '$'))
          .find(s => Denied.findFirstIn(s).isDefined)
          .map(s => s"the plan holds $s")
      }
    } catch {
      case NonFatal(e) => Some(s"the plan could not be inspected ($e)")
    }

  /** The text hashed into the key; `files` are sorted `(url, length, mtime)`. */
  def keyText(spark: SparkSession, plan: LogicalPlan, files: Seq[(String, Long, Long)],
              rowGroupSizeBytes: Long, codec: String, dtype: Option[String]): String = {
    val lines = Seq(
      KeyFormat,
      "spark=" + spark.version,
      "timeZone=" + spark.conf.get("spark.sql.session.timeZone"),
      "ansi=" + spark.conf.get("spark.sql.ansi.enabled"),
      "rowGroupSizeBytes=" + rowGroupSizeBytes,
      "compression=" + codec,
      "dtype=" + dtype.getOrElse("none"),
      "schema=" + plan.schema.json,
      "plan:",
      plan.canonicalized.treeString(verbose = true, addSuffix = false, maxFields = Int.MaxValue,
        printOperatorId = false).replaceAll("\n+$", ""),
      "files:") ++ files.map { case (u, len, mtime) => s"$u\t$len\t$mtime" }
    lines.mkString("\n") + "\n"
  }

  /** The persistent key of `df` with these options, or `None` when the plan is not eligible. */
  def key(df: DataFrame, conf: Configuration, rowGroupSizeBytes: Long, codec: String,
          dtype: Option[String]): Either[String, String] = {
    val plan = df.queryExecution.analyzed
    ineligibleReason(plan) match {
      case Some(reason) => Left(reason)
      case None =>
        val files = df.inputFiles.toSeq.sorted.map { u =>
          val p = new Path(u)
          val st = p.getFileSystem(conf).getFileStatus(p)
          (u, st.getLen, st.getModificationTime)
        }
        val text = keyText(df.sparkSession, plan, files, rowGroupSizeBytes, codec, dtype)
        val digest = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8))
        Right(digest.map(b => f"${b & 0xff}%02x").mkString)
    }
  }

  def markerJson(key: String, rows: Long, files: Seq[(String, Long)]): Array[Byte] = {
    val root = mapper.createObjectNode()
    root.put("format", KeyFormat).put("key", key).put("rows", rows)
    val list = root.putArray("files")
    files.foreach { case (rel, len) => list.addArray().add(rel).add(len) }
    mapper.writeValueAsBytes(root)
  }

  /** `(rows, files)` when `dirUrl` holds a complete write for `key`, else `None`. */
  def checkMarker(conf: Configuration, dirUrl: String, key: String): Option[(Long, Seq[(String, Long)])] =
    try {
      val path = new Path(dirUrl + "/" + Marker)
      val fs = path.getFileSystem(conf)
      if (!fs.exists(path) || fs.getFileStatus(path).getLen > (1 << 20)) return None
      val in = fs.open(path)
      val node = try mapper.readTree(in.readAllBytes()) finally in.close()
      if (node.path("format").asText() != KeyFormat || node.path("key").asText() != key) return None
      val files = node.path("files").elements().asScala.map(f => (f.get(0).asText(), f.get(1).asLong())).toSeq.sorted
      if (files.isEmpty || CacheFs.listParquetFiles(conf, dirUrl) != files) None
      else Some((node.path("rows").asLong(), files))
    } catch {
      case NonFatal(e) =>
        SparkDatasetConverter.log.warn(s"Ignoring converter cache $dirUrl: $e")
        None
    }
}

/** Hadoop FileSystem operations on the converter's directories. */
private[spark] object CacheFs {
  /** `(relative path, length)` of the data files below `dirUrl`, sorted (see `DatasetFiles`). */
  def listParquetFiles(conf: Configuration, dirUrl: String): Seq[(String, Long)] = {
    val root = new Path(dirUrl)
    DatasetFiles.dataFileStatuses(root.getFileSystem(conf), root).map { case (rel, st) => (rel, st.getLen) }
  }

  /** Names of the sub-directories of `parentUrl` that hold a file `name`. */
  def dirsHolding(conf: Configuration, parentUrl: String, name: String): Seq[String] = {
    val pattern = new Path(parentUrl + "/*/" + name)
    Option(pattern.getFileSystem(conf).globStatus(pattern)).toSeq.flatten.map(_.getPath.getParent.getName)
  }

  def exists(conf: Configuration, url: String): Boolean = {
    val p = new Path(url)
    p.getFileSystem(conf).exists(p)
  }

  def delete(conf: Configuration, url: String): Boolean = {
    val p = new Path(url)
    p.getFileSystem(conf).delete(p, true)
  }

  /** Writes `data` to a temporary file beside `url`, then renames it to `url`. */
  def writeAtomically(conf: Configuration, url: String, data: Array[Byte]): Unit = {
    val target = new Path(url)
    val fs = target.getFileSystem(conf)
    val tmp = new Path(url + ".tmp-" + java.util.UUID.randomUUID().toString.replace("-", ""))
    try {
      val out = fs.create(tmp, true)
      try out.write(data) finally out.close()
      if (!fs.rename(tmp, target)) throw new java.io.IOException(s"could not rename $tmp to $url")
    } catch {
      case e: Throwable =>
        try fs.delete(tmp, false) catch { case NonFatal(_) => }
        throw e
    }
  }

  def parquetRowCount(conf: Configuration, url: String): Long = {
    val reader = org.apache.parquet.hadoop.ParquetFileReader.open(
      org.apache.parquet.hadoop.util.HadoopInputFile.fromPath(new Path(url), conf))
    try reader.getRecordCount finally reader.close()
  }
}
