package petastorm.etl

import org.apache.spark.sql.{Column, DataFrame}
import org.apache.spark.sql.functions.lit

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
   * The columns of `df` encoded for `schema`, in schema order and named like the fields. A missing
   * column is null for a nullable field and an error otherwise; columns not in the schema are left out.
   */
  def encodeDataFrame(df: DataFrame, schema: Unischema): DataFrame = {
    val spark = schema.asSparkSchema
    val columns: Seq[Column] = schema.fields.zipWithIndex.map { case (f, i) =>
      val encoded = if (df.columns.contains(f.name)) functions.encode(df.col(quoted(f.name)), schema, f.name)
      else if (f.nullable) lit(null).cast(spark(i).dataType)
      else throw new IllegalArgumentException(s"field '${f.name}' of schema '${schema.name}' is not nullable, but " +
        s"the DataFrame has no column '${f.name}' (columns: ${df.columns.mkString(", ")})")
      encoded.as(f.name)
    }
    df.select(columns: _*)
  }

  /**
   * Encodes `df` for `schema` ([[encodeDataFrame]]) and writes it as Parquet to `datasetUrl` with
   * `_common_metadata`, row groups of `rowGroupSizeMb` (`mode`: a Spark save mode name).
   */
  def writeDataset(df: DataFrame, datasetUrl: String, schema: Unischema, rowGroupSizeMb: Int,
                   mode: String = "overwrite"): Unit = {
    val encoded = encodeDataFrame(df, schema)
    DatasetMetadata.materializeDataset(df.sparkSession, datasetUrl, schema, rowGroupSizeMb) {
      encoded.write.mode(mode).parquet(datasetUrl)
    }
  }
}
