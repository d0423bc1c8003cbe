package petastorm.etl

import org.apache.spark.sql.{Column, DataFrame}
import org.apache.spark.sql.functions.lit

import scala.jdk.CollectionConverters._

import petastorm.codecs.ScalarCodec
import petastorm.sql.functions
import petastorm.unischema.Unischema

/**
 * Writes a DataFrame as a Petastorm dataset in one call: each Unischema field is taken from the
 * column of the same name and encoded in the executors (`petastorm.sql.functions.encode`: image
 * structs from Spark's image source, arrays, nested arrays, raw `binary` pixels of a fixed-shape
 * field, scalars cast to the field's Spark type), then written inside `materializeDataset`.
 */
object DatasetWriter {
  private def quoted(name: String): String = "`" + name.replace("`", "``") + "`"

  /**
   * The columns of `df` for `schema`, in schema order and named like the fields: binary-codec fields
   * encoded when `encode`, else left raw; scalars cast (non-nullable ones checked); a missing column is
   * null for a nullable field and an error otherwise. `shapes` gives the shape column of fields whose raw
   * values do not tell it (e.g. `binary` elements of a field with two open dimensions).
   */
  private def fieldColumns(df: DataFrame, schema: Unischema, shapes: Map[String, Column],
                           encode: Boolean): Seq[Column] = {
    shapes.keys.foreach(schema.fieldIndex)
    val spark = schema.asSparkSchema
    schema.fields.zipWithIndex.map { case (f, i) =>
      val isScalar = f.codec match { case null | ScalarCodec(_) => true; case _ => false }
      val column = if (!df.columns.contains(f.name)) {
        if (f.nullable) lit(null).cast(spark(i).dataType)
        else throw new IllegalArgumentException(s"field '${f.name}' of schema '${schema.name}' is not nullable, " +
          s"but the DataFrame has no column '${f.name}' (columns: ${df.columns.mkString(", ")})")
      } else {
        val c = df.col(quoted(f.name))
        (shapes.get(f.name), isScalar || encode) match {
          case (_, false) => c
          case (Some(shape), true) => functions.encode(c, schema, f.name, shape)
          case (None, true) => functions.encode(c, schema, f.name)
        }
      }
      column.as(f.name)
    }
  }

  /**
   * The columns of `df` encoded for `schema`, in schema order and named like the fields. A missing
   * column is null for a nullable field and an error otherwise; columns not in the schema are left out.
   */
  def encodeDataFrame(df: DataFrame, schema: Unischema): DataFrame = encodeDataFrame(df, schema, Map.empty[String, Column])

  /** [[encodeDataFrame]] with the shape columns of fields whose values do not tell their shape. */
  def encodeDataFrame(df: DataFrame, schema: Unischema, shapes: Map[String, Column]): DataFrame =
    df.select(fieldColumns(df, schema, shapes, encode = true): _*)

  /**
   * Encodes `df` for `schema` ([[encodeDataFrame]]) and writes it as Parquet to `datasetUrl` with
   * `_common_metadata`, row groups of `rowGroupSizeMb` (`mode`: a Spark save mode name). The native
   * Parquet writer writes the files when it supports every field's type (all but dates, timestamps and
   * decimals), Spark's writer otherwise; the dataset is the same.
   */
  def writeDataset(df: DataFrame, datasetUrl: String, schema: Unischema, rowGroupSizeMb: Int,
                   mode: String = "overwrite"): Unit =
    writeDataset(df, datasetUrl, schema, rowGroupSizeMb, mode, Map.empty[String, Column])

  /** Java-friendly [[writeDataset]] with shape columns. */
  def writeDataset(df: DataFrame, datasetUrl: String, schema: Unischema, rowGroupSizeMb: Int, mode: String,
                   shapes: java.util.Map[String, Column]): Unit =
    writeDataset(df, datasetUrl, schema, rowGroupSizeMb, mode, shapes.asScala.toMap)

  /** [[writeDataset]] with the shape columns of fields whose values do not tell their shape. */
  def writeDataset(df: DataFrame, datasetUrl: String, schema: Unischema, rowGroupSizeMb: Int, mode: String,
                   shapes: Map[String, Column]): Unit = {
    val encoded = encodeDataFrame(df, schema, shapes) // checks columns and types before anything is written
    DatasetMetadata.materializeDataset(df.sparkSession, datasetUrl, schema, rowGroupSizeMb) {
      if (NativeDatasetWrite.supports(schema)) {
        val columns = fieldColumns(df, schema, Map.empty, encode = false)
        NativeDatasetWrite.write(df, columns, shapes, datasetUrl, schema, rowGroupSizeMb.toLong << 20, mode)
      } else encoded.write.mode(mode).parquet(datasetUrl)
    }
  }
}
