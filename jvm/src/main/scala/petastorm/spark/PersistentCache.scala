package petastorm.spark

import com.fasterxml.jackson.databind.ObjectMapper
import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.fs.Path
import org.apache.spark.sql.DataFrame
import org.apache.spark.sql.catalyst.plans.logical.{LogicalPlan, OneRowRelation, Range}
import org.apache.spark.sql.execution.datasources.{HadoopFsRelation, LogicalRelation}
import org.apache.spark.sql.execution.datasources.v2.{DataSourceV2Relation, FileTable}

import scala.util.control.NonFatal

import petastorm.etl.DatasetFiles
import petastorm.jni.NativeLib

/**
 * The opt-in persistent converter cache (`petastorm.spark.converter.persistentCache=true`), shared
 * with Python's `petastorm.spark._persistent`: both gather the same inputs with the same JVM calls;
 * the key text, its hash, the classes that keep a plan out and the marker file are the native
 * library's (`dataset::converter_cache`), so a cache written from either language is reused by the other.
 *
 * Only deterministic plans without user code or subqueries whose leaves are file relations,
 * `Range` or `OneRowRelation` are eligible. The marker (`_petastorm_converter_complete`) is
 * written after the Spark write committed; a directory is reused only when the marker's key
 * matches and every Parquet file it lists is there with its length.
 */
private[spark] object PersistentCache {
  val Marker: String = NativeLib.converterMarkerName()

  private val mapper = new ObjectMapper()

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
      badLeaf.map(l => s"it reads from ${l.getClass.getSimpleName}")
        .orElse(Option(NativeLib.cacheDeniedClass(plan.toJSON)).map(s => s"the plan holds $s"))
    } catch {
      case NonFatal(e) => Some(s"the plan could not be inspected ($e)")
    }

  /** The persistent key of `df` with these options, or why the plan is not eligible. */
  def key(df: DataFrame, conf: Configuration, rowGroupSizeBytes: Long, codec: String,
          dtype: Option[String]): Either[String, String] = {
    val plan = df.queryExecution.analyzed
    ineligibleReason(plan) match {
      case Some(reason) => Left(reason)
      case None =>
        val spark = df.sparkSession
        val inputs = mapper.createObjectNode()
          .put("spark", spark.version)
          .put("timeZone", spark.conf.get("spark.sql.session.timeZone"))
          .put("ansi", spark.conf.get("spark.sql.ansi.enabled"))
          .put("rowGroupSizeBytes", rowGroupSizeBytes)
          .put("compression", codec)
          .put("dtype", dtype.orNull)
          .put("schema", plan.schema.json)
          .put("plan", plan.canonicalized.treeString(verbose = true, addSuffix = false, maxFields = Int.MaxValue,
            printOperatorId = false))
        val files = inputs.putArray("files")
        df.inputFiles.foreach { u =>
          val p = new Path(u)
          val st = p.getFileSystem(conf).getFileStatus(p)
          files.addArray().add(u).add(st.getLen).add(st.getModificationTime)
        }
        Right(NativeLib.cacheKey(mapper.writeValueAsString(inputs)))
    }
  }

  private def filesJson(files: Seq[(String, Long)]): String = {
    val list = mapper.createArrayNode()
    files.foreach { case (rel, len) => list.addArray().add(rel).add(len) }
    mapper.writeValueAsString(list)
  }

  def markerJson(key: String, rows: Long, files: Seq[(String, Long)]): Array[Byte] =
    NativeLib.cacheMarker(key, rows, filesJson(files))

  /** `(rows, files)` when `dirUrl` holds a complete write for `key`, else `None`. */
  def checkMarker(conf: Configuration, dirUrl: String, key: String): Option[(Long, Seq[(String, Long)])] =
    try {
      val path = new Path(dirUrl + "/" + Marker)
      val fs = path.getFileSystem(conf)
      if (!fs.exists(path) || fs.getFileStatus(path).getLen > (1 << 20)) return None
      val in = fs.open(path)
      val marker = try in.readAllBytes() finally in.close()
      val files = CacheFs.listParquetFiles(conf, dirUrl)
      Some(NativeLib.cacheCheckMarker(marker, key, filesJson(files))).filter(_ >= 0).map(rows => (rows, files))
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
  def writeAtomically(conf: Configuration, url: String, data: Array[Byte]): Unit =
    DatasetFiles.writeAtomically(conf, new Path(url), data)

  def parquetRowCount(conf: Configuration, url: String): Long = {
    val reader = org.apache.parquet.hadoop.ParquetFileReader.open(
      org.apache.parquet.hadoop.util.HadoopInputFile.fromPath(new Path(url), conf))
    try reader.getRecordCount finally reader.close()
  }
}
