package petastorm.spark

import org.apache.hadoop.conf.Configuration
import org.apache.spark.sql.{Column, DataFrame, Observation, SparkSession}
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan
import org.apache.spark.sql.functions.{col, count, lit}
import org.apache.spark.sql.types.{ArrayType, DataType, DoubleType, FloatType}
import org.slf4j.LoggerFactory
import petastorm.jni.NativeLib

import scala.collection.mutable
import scala.jdk.CollectionConverters._
import scala.util.control.NonFatal

/**
 * One DataFrame materialized as Parquet (upstream's `SparkDatasetConverter`, Scala side): what a
 * trainer needs is [[cacheDirUrl]], [[fileUrls]] and [[datasetSize]]; the directory layout is the
 * Python converter's, so `petastorm.make_batch_reader(fileUrls)` reads it. Serializable.
 */
final class SparkDatasetConverter private[spark] (
    val cacheDirUrl: String,
    val fileUrls: Seq[String],
    val datasetSize: Long,
    private[spark] val parentCacheDirUrl: Option[String],
    private[spark] val owned: Boolean,
    val persistent: Boolean) extends Serializable {

  /** Rows (upstream's `len(converter)`). */
  def length: Long = datasetSize

  def fileUrlsAsJava: java.util.List[String] = fileUrls.asJava

  /**
   * Deletes this converter's cache directory (and nothing else) through the Hadoop FileSystem.
   * A converter of an existing directory ([[SparkDatasetConverter.fromParquet]]) deletes nothing.
   * `IllegalArgumentException` when the URL is not a converter directory under the parent.
   */
  def delete(): Unit = SparkDatasetConverter.delete(this)

  override def toString: String = s"SparkDatasetConverter($cacheDirUrl, ${fileUrls.size} files, $datasetSize rows)"
}

object SparkDatasetConverter {
  val PARENT_CACHE_DIR_URL_CONF = "petastorm.spark.converter.parentCacheDirUrl"
  val PERSISTENT_CACHE_CONF = "petastorm.spark.converter.persistentCache"
  val DEFAULT_ROW_GROUP_SIZE_BYTES: Long = 32L * 1024 * 1024
  val CompressionCodecs: Seq[String] = Seq("uncompressed", "none", "snappy", "gzip", "lz4", "lz4_raw", "zstd", "brotli")

  private[spark] val log = LoggerFactory.getLogger(classOf[SparkDatasetConverter])
  private val VectorUdts = Set("org.apache.spark.ml.linalg.VectorUDT", "org.apache.spark.mllib.linalg.VectorUDT")

  /** A converter of a directory (upstream's public constructor): deletable only when it is a converter directory. */
  def apply(cacheDirUrl: String, fileUrls: Seq[String], datasetSize: Long): SparkDatasetConverter =
    new SparkDatasetConverter(cacheDirUrl, fileUrls, datasetSize, None, owned = true, persistent = false)

  /**
   * Materializes `df` as Parquet under `petastorm.spark.converter.parentCacheDirUrl` in
   * `{yyyyMMddHHmmss}-appid-{appId}-{uuid}`. The same analyzed plan with the same options returns
   * the same converter (this JVM); with `petastorm.spark.converter.persistentCache=true` a complete
   * directory from an earlier session (Scala or Python) is reused. Directories of converters not
   * deleted nor persistent are removed when the JVM exits.
   *
   * @param compressionCodec `null` (uncompressed) or one of [[CompressionCodecs]]
   * @param dtype `"float32"` (double columns become float), `"float64"` (float become double) or
   *              `null` (unchanged); ML vectors become arrays of it (double for `null`)
   */
  def make(df: DataFrame, parquetRowGroupSizeBytes: Long = DEFAULT_ROW_GROUP_SIZE_BYTES,
           compressionCodec: String = null, dtype: String = "float32"): SparkDatasetConverter = {
    val spark = df.sparkSession
    val parent = parentCacheDirUrl(spark)
    require(parquetRowGroupSizeBytes > 0, s"parquetRowGroupSizeBytes must be positive, got $parquetRowGroupSizeBytes")
    val codec = Option(compressionCodec).getOrElse("uncompressed").toLowerCase
    require(CompressionCodecs.contains(codec),
      s"compressionCodec should be null or one of ${CompressionCodecs.mkString(", ")}, got $compressionCodec")
    require(dtype == null || dtype == "float32" || dtype == "float64",
      s"dtype $dtype is not supported. Use null, float32 or float64")
    val dt = Option(dtype)
    val conf = spark.sparkContext.hadoopConfiguration
    lock.synchronized {
      val plan = df.queryExecution.analyzed
      val key = CacheKey(plan.semanticHash(), parent, parquetRowGroupSizeBytes, codec, dt)
      cache.getOrElse(key, Nil).find(_._1.sameResult(plan)).map(_._2) match {
        case Some(c) if CacheFs.exists(conf, c.cacheDirUrl) => return c
        case Some(c) => forget(c.cacheDirUrl)
        case None =>
      }
      val persistentKey =
        if (!persistentEnabled(spark)) None
        else PersistentCache.key(df, conf, parquetRowGroupSizeBytes, codec, dt) match {
          case Left(reason) =>
            log.info(s"Not using the persistent converter cache for this DataFrame: $reason.")
            None
          case Right(k) => Some(k)
        }
      val converter = persistentKey.flatMap(findPersistent(conf, parent, _))
        .getOrElse(materialize(spark, conf, df, parent, parquetRowGroupSizeBytes, codec, dt, persistentKey))
      cache(key) = (plan, converter) :: cache.getOrElse(key, Nil)
      converter
    }
  }

  /** Python's name for [[make]]. */
  def makeSparkConverter(df: DataFrame, parquetRowGroupSizeBytes: Long = DEFAULT_ROW_GROUP_SIZE_BYTES,
                         compressionCodec: String = null, dtype: String = "float32"): SparkDatasetConverter =
    make(df, parquetRowGroupSizeBytes, compressionCodec, dtype)

  /** A converter over an existing Parquet directory: read as it is, never cached or deleted. */
  def fromParquet(spark: SparkSession, url: String): SparkDatasetConverter = {
    parentCacheDirUrl(spark)
    val dir = NativeLib.existingDirUrl(url) // a plain path becomes file:///..., as in Python
    val conf = spark.sparkContext.hadoopConfiguration
    val files = CacheFs.listParquetFiles(conf, dir)
    require(files.nonEmpty, s"No Parquet files found under $dir")
    val urls = files.map(dir + "/" + _._1)
    new SparkDatasetConverter(dir, urls, urls.map(CacheFs.parquetRowCount(conf, _)).sum, None, owned = false,
      persistent = false)
  }

  private[spark] def parentCacheDirUrl(spark: SparkSession): String = {
    val url = spark.conf.getOption(PARENT_CACHE_DIR_URL_CONF).filter(_.nonEmpty).getOrElse(
      throw new IllegalArgumentException(s"Please set the spark config $PARENT_CACHE_DIR_URL_CONF."))
    val scheme = try Option(new java.net.URI(url).getScheme) catch { case NonFatal(_) => None }
    if (scheme.isEmpty) throw new IllegalArgumentException(s"A scheme-less directory url ($url) is not " +
      "supported. Please prepend \"file://\" for local filesystem.")
    normalizeDirUrl(url)
  }

  private def persistentEnabled(spark: SparkSession): Boolean =
    spark.conf.getOption(PERSISTENT_CACHE_CONF).exists(_.trim.equalsIgnoreCase("true"))

  /** Without trailing `/`; `file:/x` becomes `file:///x` (the native rule, as the Python converter). */
  private[spark] def normalizeDirUrl(url: String): String = NativeLib.normalizeDirUrl(url)

  private def dirName(spark: SparkSession): String = NativeLib.converterDirName(spark.sparkContext.applicationId)

  /** Vector columns as arrays, floating point columns (and arrays of them) as `dtype`. */
  private[spark] def prepare(df: DataFrame, dtype: Option[String]): DataFrame = {
    val (source, target): (Option[DataType], DataType) = dtype match {
      case Some("float32") => (Some(DoubleType), FloatType)
      case Some("float64") => (Some(FloatType), DoubleType)
      case _ => (None, DoubleType)
    }
    var changed = false
    val columns = df.schema.fields.map { f =>
      val c = col("`" + f.name.replace("`", "``") + "`")
      val converted: Option[Column] = f.dataType match {
        case t if VectorUdts.contains(t.getClass.getName) => Some(vectorToArray(c, dtype.getOrElse("float64")))
        case t if source.contains(t) => Some(c.cast(target))
        case ArrayType(e, nulls) if source.contains(e) => Some(c.cast(ArrayType(target, nulls)))
        case _ => None
      }
      changed ||= converted.isDefined
      converted.getOrElse(c).as(f.name)
    }
    if (changed) df.select(columns.toIndexedSeq: _*) else df
  }

  /** `org.apache.spark.ml.functions.vector_to_array` (spark-mllib is on the classpath wherever vectors are). */
  private def vectorToArray(c: Column, dtype: String): Column =
    Class.forName("org.apache.spark.ml.functions").getMethod("vector_to_array", classOf[Column], classOf[String])
      .invoke(null, c, dtype).asInstanceOf[Column]

  private def materialize(spark: SparkSession, conf: Configuration, df: DataFrame, parent: String,
                          rowGroupSize: Long, codec: String, dtype: Option[String],
                          persistentKey: Option[String]): SparkDatasetConverter = {
    val url = parent + "/" + dirName(spark)
    val observation = Observation()
    val (rows, files) = try {
      prepare(df, dtype).observe(observation, count(lit(1)).as("rows")).write
        .option("compression", codec).option("parquet.block.size", rowGroupSize.toString).parquet(url)
      val rows = observation.get("rows").asInstanceOf[Number].longValue
      val files = CacheFs.listParquetFiles(conf, url)
      persistentKey.foreach { k =>
        CacheFs.writeAtomically(conf, url + "/" + PersistentCache.Marker, PersistentCache.markerJson(k, rows, files))
      }
      (rows, files)
    } catch {
      case e: Throwable =>
        try CacheFs.delete(conf, url) catch {
          case NonFatal(d) => log.warn(s"Could not remove the incomplete converter cache $url: $d")
        }
        throw e
    }
    log.info(s"Materialized the DataFrame to $url ($rows rows).")
    if (persistentKey.isEmpty) deleteAtExit(url, conf)
    newConverter(url, files, rows, parent, persistentKey.isDefined)
  }

  private def newConverter(url: String, files: Seq[(String, Long)], rows: Long, parent: String,
                           persistent: Boolean): SparkDatasetConverter =
    new SparkDatasetConverter(url, files.map(url + "/" + _._1), rows, Some(parent), owned = true, persistent)

  private def findPersistent(conf: Configuration, parent: String, key: String): Option[SparkDatasetConverter] =
    CacheFs.dirsHolding(conf, parent, PersistentCache.Marker).distinct.sorted(Ordering[String].reverse).iterator
      .filter(NativeLib.isConverterDirName)
      .flatMap { name =>
        val url = parent + "/" + name
        PersistentCache.checkMarker(conf, url, key).map { case (rows, files) =>
          log.info(s"Reusing the persistent converter cache $url.")
          newConverter(url, files, rows, parent, persistent = true)
        }
      }.take(1).toList.headOption

  // --- in-JVM cache, deletion ---

  private case class CacheKey(semanticHash: Int, parent: String, rowGroupSize: Long, codec: String,
                              dtype: Option[String])

  private val lock = new Object
  private val cache = mutable.Map.empty[CacheKey, List[(LogicalPlan, SparkDatasetConverter)]]
  private val exitDirs = mutable.LinkedHashMap.empty[String, Configuration]
  private var exitHookInstalled = false

  /** Forgets every converter of this JVM (tests: as a new session would). */
  private[spark] def clearInProcessCache(): Unit = lock.synchronized(cache.clear())

  private def forget(url: String): Unit = lock.synchronized {
    exitDirs.remove(url)
    cache.keys.toList.foreach { k =>
      val kept = cache(k).filterNot(_._2.cacheDirUrl == url)
      if (kept.isEmpty) cache.remove(k) else cache(k) = kept
    }
  }

  private def deleteAtExit(url: String, conf: Configuration): Unit = lock.synchronized {
    exitDirs(url) = conf
    if (!exitHookInstalled) {
      // before Spark's hooks (40) and FileSystem's (10): the FileSystem is still open
      org.apache.hadoop.util.ShutdownHookManager.get().addShutdownHook(() => deleteLeftovers(), 45)
      exitHookInstalled = true
    }
  }

  private[spark] def deleteLeftovers(): Unit = {
    val dirs = lock.synchronized { val d = exitDirs.toList; exitDirs.clear(); d }
    dirs.foreach { case (url, conf) =>
      try CacheFs.delete(conf, url) catch { case NonFatal(e) => log.warn(s"Delete cache data $url failed: $e") }
    }
  }

  private[spark] def delete(c: SparkDatasetConverter): Unit = {
    if (!c.owned) {
      log.warn(s"Not deleting ${c.cacheDirUrl}: the converter did not write it.")
      return
    }
    val active = SparkSession.getActiveSession.orElse(SparkSession.getDefaultSession)
    val expected = c.parentCacheDirUrl.orElse(active.flatMap(s => Option(
      try parentCacheDirUrl(s) catch { case NonFatal(_) => null })))
    NativeLib.converterCheckDelete(c.cacheDirUrl, expected.orNull)
    forget(c.cacheDirUrl)
    CacheFs.delete(active.map(_.sparkContext.hadoopConfiguration).getOrElse(new Configuration()), c.cacheDirUrl)
  }
}
