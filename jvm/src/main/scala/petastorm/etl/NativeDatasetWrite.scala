package petastorm.etl

import java.util.UUID

import org.apache.hadoop.fs.{FSDataOutputStream, FileSystem, Path}
import org.apache.hadoop.mapreduce.lib.output.FileOutputCommitter
import org.apache.spark.TaskContext
import org.apache.spark.rdd.RDD
import org.apache.spark.sql.{Column, DataFrame}
import org.apache.spark.sql.catalyst.InternalRow
import org.apache.spark.sql.catalyst.expressions.{Alias, BindReferences, BoundReference, Expression, NamedExpression,
  Nondeterministic}
import org.apache.spark.sql.catalyst.plans.logical.Project
import org.apache.spark.sql.types._
import org.apache.spark.util.SerializableConfiguration

import petastorm.codecs.ScalarCodec
import petastorm.jni.NativeLib
import petastorm.sql.EncodeField
import petastorm.unischema.Unischema

/**
 * Writes Petastorm part files with the native Parquet writer: each task encodes its rows straight into
 * a native writer, which writes local files itself and streams any other file to the Hadoop FileSystem
 * of the URL, under `_temporary/<job>`;
 * the driver moves the files into place only after every task succeeded, then writes `_SUCCESS`, so a
 * failed job leaves no data file behind.
 */
private[petastorm] object NativeDatasetWrite {
  /** One written part file. */
  private final case class Part(partition: Int, path: String)

  /** Whether the native writer can write every field of `schema`. */
  def supports(schema: Unischema): Boolean = schema.withHandle(NativeLib.writerUnsupported) == null
  /**
   * Writes `columns` of `df` (one per field of `schema` in schema order, binary-codec fields unencoded)
   * to `datasetUrl` in save mode `mode`; `shapes` are the shape columns of fields that need one.
   */
  def write(df: DataFrame, columns: Seq[Column], shapes: Map[String, Column], datasetUrl: String, schema: Unischema,
            rowGroupBytes: Long, mode: String): Unit = {
    val spark = df.sparkSession
    val hadoopConf = spark.sessionState.newHadoopConf()
    val root = new Path(datasetUrl)
    val fs = root.getFileSystem(hadoopConf)
    if (!prepare(fs, root, mode)) return
    val job = UUID.randomUUID().toString
    val staging = new Path(root, NativeLib.datasetStagingDir(job))
    val conf = new SerializableConfiguration(hadoopConf)
    val compression = spark.conf.get("spark.sql.parquet.compression.codec", "snappy")
    val (rows, expressions) = bound(df, columns ++ shapes.toSeq.map { case (name, c) => c.as(s"$ShapePrefix$name") })
    val putters = cellPutters(expressions, schema)
    try {
      val parts = rows.mapPartitionsWithIndex { (partition, rows) =>
        if (!rows.hasNext && partition != 0) Iterator.empty // partition 0 writes even when empty: a readable dataset
        else {
          val path = new Path(root, NativeLib.datasetStagingPart(job, partition, TaskContext.get().taskAttemptId()))
          Iterator(writePart(conf, path, partition, rows, putters(partition), schema, rowGroupBytes, compression))
        }
      }.collect().sortBy(_.partition)
      parts.foreach { p =>
        val target = new Path(root, NativeLib.datasetCommittedPart(job, p.partition))
        if (!fs.rename(new Path(p.path), target)) throw new java.io.IOException(s"could not move ${p.path} to $target")
      }
      fs.create(new Path(root, FileOutputCommitter.SUCCEEDED_FILE_NAME), true).close()
    } finally {
      fs.delete(staging, true)
      val temporary = staging.getParent
      if (fs.exists(temporary) && fs.listStatus(temporary).isEmpty) fs.delete(temporary, false)
    }
  }

  private val ShapePrefix = "__petastorm_shape_"

  /**
   * The rows to write and the named expressions of `columns` over them: bound to `df`'s own rows when the
   * analyzed selection is a plain projection of `df` (the rows are not copied into a projection), else to
   * the selection's rows.
   */
  private def bound(df: DataFrame, columns: Seq[Column]): (RDD[InternalRow], Map[String, Expression]) = {
    val selected = df.select(columns: _*)
    val named = (list: Seq[NamedExpression]) => list.map(e => e.name -> (e match {
      case a: Alias => a.child
      case other => other
    })).toMap
    selected.queryExecution.analyzed match {
      case Project(list, child) if child.output.map(_.exprId) == df.queryExecution.analyzed.output.map(_.exprId) =>
        (df.queryExecution.toRdd, named(list.map(e => BindReferences.bindReference(e, child.output))))
      case other =>
        (selected.queryExecution.toRdd, named(other.output.zipWithIndex.map { case (a, i) =>
          Alias(BoundReference(i, a.dataType, a.nullable), a.name)() }))
    }
  }

  /** Applies the save mode (the native rule); false when there is nothing to write. */
  private def prepare(fs: FileSystem, root: Path, mode: String): Boolean =
    NativeLib.datasetSaveAction(mode, fs.exists(root)) match {
      case 1 /* replace */ => if (!fs.delete(root, true)) throw new java.io.IOException(s"could not delete $root"); true
      case 2 /* skip */ => false
      case 3 /* refuse */ => throw new IllegalStateException(s"path $root already exists (save mode '$mode')")
      case _ /* 0: write */ => true
    }

  /** Puts one field's value of a row into a native writer's current row. */
  private type Putter = (InternalRow, Long) => Unit

  /**
   * One putter per field, made per partition (expressions are initialized for it): binary-codec fields
   * encoded by [[EncodeField]], scalars put by their Spark type.
   */
  private def cellPutters(expressions: Map[String, Expression], schema: Unischema): Int => Array[Putter] = {
    partition =>
      expressions.values.foreach(_.foreach {
        case n: Nondeterministic => n.initialize(partition)
        case _ =>
      })
      schema.fields.zipWithIndex.map { case (f, i) =>
        val value = expressions(f.name)
        f.codec match {
          case null | ScalarCodec(_) => scalarPutter(i, value)
          case _ =>
            val shape = expressions.get(s"$ShapePrefix${f.name}").toSeq
            val encode = EncodeField(value +: shape, schema, f.name, f.name, imageOnly = false)
            (row: InternalRow, writer: Long) => { encode.encode(row, writer); () }
        }
      }.toArray
  }

  private def scalarPutter(i: Int, value: Expression): Putter = {
    val put: (Any, Long) => Unit = value.dataType match {
      case BooleanType => (v, w) => NativeLib.writerPutBoolean(w, i, v.asInstanceOf[Boolean])
      case ByteType => (v, w) => NativeLib.writerPutLong(w, i, v.asInstanceOf[Byte].toLong)
      case ShortType => (v, w) => NativeLib.writerPutLong(w, i, v.asInstanceOf[Short].toLong)
      case IntegerType => (v, w) => NativeLib.writerPutLong(w, i, v.asInstanceOf[Int].toLong)
      case LongType => (v, w) => NativeLib.writerPutLong(w, i, v.asInstanceOf[Long])
      case FloatType => (v, w) => NativeLib.writerPutDouble(w, i, v.asInstanceOf[Float].toDouble)
      case DoubleType => (v, w) => NativeLib.writerPutDouble(w, i, v.asInstanceOf[Double])
      case StringType => (v, w) => NativeLib.writerPutString(w, i, v.toString)
      case BinaryType => (v, w) => NativeLib.writerPutBytes(w, i, v.asInstanceOf[Array[Byte]])
      case other => throw new IllegalArgumentException(s"the native writer cannot write ${other.simpleString} columns")
    }
    (row, writer) => value.eval(row) match {
      case null => NativeLib.writerPutNull(writer, i)
      case v => put(v, writer)
    }
  }

  /** Streams the writer's pending output (in chunks) to `out` (null: the writer writes a local file). */
  private def drain(writer: Long, out: FSDataOutputStream): Unit = {
    if (out == null) return
    var chunk = NativeLib.writerTakeOutput(writer)
    while (chunk.length > 0) {
      out.write(chunk)
      chunk = NativeLib.writerTakeOutput(writer)
    }
  }

  /** Writes one part file from `rows`; on any failure the file is removed and the error rethrown. */
  private def writePart(conf: SerializableConfiguration, path: Path, partition: Int, rows: Iterator[InternalRow],
                        put: Array[Putter], schema: Unischema, rowGroupBytes: Long, compression: String): Part = {
    val fs = path.getFileSystem(conf.value)
    // a local file is written by the native writer itself; any other file system gets the bytes streamed
    val localPath = if (fs.getScheme == "file") new java.io.File(path.toUri.getPath).getPath else null
    if (localPath != null) fs.mkdirs(path.getParent)
    var writer = 0L
    var out: FSDataOutputStream = null
    try {
      writer = schema.withHandle(NativeLib.writerOpen(_, rowGroupBytes, compression, localPath))
      if (localPath == null) out = fs.create(path, false)
      while (rows.hasNext) {
        val row = rows.next()
        var i = 0
        while (i < put.length) { put(i)(row, writer); i += 1 }
        NativeLib.writerEndRow(writer)
        drain(writer, out)
      }
      NativeLib.writerFinish(writer)
      drain(writer, out)
      if (out != null) out.close()
      out = null
      Part(partition, path.toString)
    } catch {
      case e: Throwable =>
        if (out != null) try out.close() catch { case _: Exception => }
        try fs.delete(path, false) catch { case _: Exception => }
        throw e
    } finally NativeLib.writerFree(writer)
  }
}
