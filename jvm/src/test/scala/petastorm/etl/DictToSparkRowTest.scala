package petastorm.etl

import org.apache.spark.sql.types._
import org.junit.Assert._
import org.junit.Test

import petastorm.TestUtil._
import petastorm.codecs.{NdarrayCodec, ScalarCodec}
import petastorm.errors.PetastormTypeException
import petastorm.examples.HelloWorldData
import petastorm.unischema.{NdArray, Unischema, UnischemaField}

class DictToSparkRowTest {
  private val schema = Unischema("S", Seq(
    UnischemaField("id", "int32", Seq(), ScalarCodec(IntegerType)),
    UnischemaField("matrix", "float32", Seq(Some(2), None), NdarrayCodec()),
    UnischemaField("note", "str", Seq(), ScalarCodec(StringType), nullable = true),
    UnischemaField("plain", "int64", Seq(), null, nullable = true)))

  private val matrix = NdArray.float32(Array(1f, 2f, 3f, 4f), 2, 2)

  private def row(kv: (String, Any)*) = DatasetMetadata.dictToSparkRow(schema, kv.toMap)

  @Test def encodesInSchemaOrder(): Unit = {
    val r = row("plain" -> 9L, "matrix" -> matrix, "id" -> 3)
    assertEquals(4, r.length)
    assertEquals(3, r.get(0))
    assertEquals(matrix, schema.fields(1).codec.decode(schema.fields(1), r.get(1)))
    assertNull(r.get(2)) // missing nullable
    assertEquals(9L, r.get(3))
    val r2 = row("id" -> 1, "matrix" -> matrix, "note" -> Some("hi"), "plain" -> None)
    assertEquals("hi", r2.get(2))
    assertNull(r2.get(3))
    val jmap = new java.util.HashMap[String, AnyRef]()
    jmap.put("id", Int.box(4)); jmap.put("matrix", matrix); jmap.put("note", null)
    assertEquals(4, DatasetMetadata.dictToSparkRow(schema, jmap).get(0))
  }

  @Test def helloWorldRow(): Unit = {
    val s = HelloWorldData.schema
    val r = DatasetMetadata.dictToSparkRow(s, HelloWorldData.row(4))
    assertEquals(4, r.getInt(0))
    assertEquals(HelloWorldData.image1(4), s.fields(1).codec.decode(s.fields(1), r.get(1)))
    assertEquals(HelloWorldData.otherData(4), s.fields(2).codec.decode(s.fields(2), r.get(2)))
    s.close()
  }

  @Test def missingNonNullableField(): Unit =
    assertNames(intercept[IllegalArgumentException](row("id" -> 1)), "matrix")

  @Test def extraKey(): Unit =
    assertNames(intercept[IllegalArgumentException](row("id" -> 1, "matrix" -> matrix, "bogus" -> 1)), "bogus")

  @Test def nullInNonNullableField(): Unit = {
    assertNames(intercept[IllegalArgumentException](row("id" -> 1, "matrix" -> null)), "matrix")
    assertNames(intercept[IllegalArgumentException](row("id" -> None, "matrix" -> matrix)), "id")
  }

  @Test def wrongDtype(): Unit = {
    val ints = NdArray.int32(Array(1, 2, 3, 4), 2, 2)
    assertNames(intercept[IllegalArgumentException](row("id" -> 1, "matrix" -> ints)), "matrix")
  }

  @Test def nonCompliantShape(): Unit = {
    val wrong = NdArray.float32(Array(1f, 2f, 3f), 3, 1)
    assertNames(intercept[IllegalArgumentException](row("id" -> 1, "matrix" -> wrong)), "matrix")
    val rank = NdArray.float32(Array(1f, 2f))
    assertNames(intercept[IllegalArgumentException](row("id" -> 1, "matrix" -> rank)), "matrix")
  }

  @Test def nonScalarToScalarCodec(): Unit =
    assertNames(intercept[PetastormTypeException](row("id" -> NdArray.int32(Array(1, 2)), "matrix" -> matrix)), "id")

  @Test def objectToArrayCodec(): Unit =
    assertNames(intercept[PetastormTypeException](row("id" -> 1, "matrix" -> List(1, 2))), "matrix")
}
