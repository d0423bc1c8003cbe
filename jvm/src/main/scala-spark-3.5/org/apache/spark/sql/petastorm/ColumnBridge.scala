package org.apache.spark.sql.petastorm

import org.apache.spark.sql.Column
import org.apache.spark.sql.catalyst.expressions.Expression

/**
 * Column ↔ Catalyst expression, for petastorm.sql.functions: on Spark 3.5 a Column wraps its
 * expression (the Spark 4 form of this object is in src/main/scala-spark-4).
 */
object ColumnBridge {
  def column(e: Expression): Column = new Column(e)

  def expression(c: Column): Expression = c.expr
}
