package org.apache.spark.sql.petastorm

import org.apache.spark.sql.Column
import org.apache.spark.sql.catalyst.expressions.Expression
import org.apache.spark.sql.classic.ExpressionUtils

/**
 * Column ↔ Catalyst expression, for petastorm.sql.functions. Spark 4 keeps these conversions
 * `private[sql]` (Column wraps a ColumnNode since Spark Connect), hence this package. The Spark 3.5
 * form is in src/main/scala-spark-3.5.
 */
object ColumnBridge {
  def column(e: Expression): Column = ExpressionUtils.column(e)

  def expression(c: Column): Expression = ExpressionUtils.expression(c)
}
