package petastorm.etl

import java.io.File

import org.apache.spark.sql.SparkSession
import org.junit.Assert._
import org.junit.{AfterClass, BeforeClass, Test}

import scala.jdk.CollectionConverters._

import petastorm.TestUtil._
import petastorm.examples.{HelloWorld, HelloWorldData}
import petastorm.jni.NativeLib
import petastorm.unischema.NdArray

/** The hello-world journey on a real local[2] SparkSession (one per class: start-up is slow). */
class MaterializeDatasetTest {
  import MaterializeDatasetTest.spark

  private def hadoopConf = spark.sparkContext.hadoopConfiguration

  /** The keys materializeDataset sets, and their raw values now (None: unset). */
  private def snapshot(rowGroupMb: Int): Map[String, Option[String]] = {
    val json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(NativeLib.writerHadoopConf(rowGroupMb))
    json.fieldNames().asScala.map(k => k -> Option(hadoopConf.getRaw(k))).toMap
  }

  private def listNames(dir: File): Seq[String] =
    Option(dir.listFiles()).toSeq.flatten.flatMap(f => if (f.isDirectory) listNames(f) else Seq(f.getName))

  @Test def helloWorld(): Unit = {
    val dir = tempDir("hello-world").toFile
    try {
      hadoopConf.set("parquet.block.size", "12345") // a previous value to restore
      val before = snapshot(256)
      assertTrue(before.keySet.contains("parquet.block.size"))
      val url = new File(dir, "hello").toURI.toString

      HelloWorld.generate(spark, url, 10)

      assertEquals(before, snapshot(256))
      val names = listNames(new File(dir, "hello"))
      assertTrue(names.toString, names.exists(_.endsWith(".parquet")))
      assertTrue(names.toString, names.contains("_common_metadata"))
      assertFalse(names.toString, names.exists(_.contains(".tmp-")))
      assertEquals(HelloWorldData.schema, DatasetMetadata.getSchemaFromDatasetUrl(spark, url))

      val schema = HelloWorldData.schema
      val rows = spark.read.parquet(url).collect()
      assertEquals(10, rows.length)
      assertEquals((0 until 10).toSet, rows.map(_.getAs[Int]("id")).toSet)
      for (r <- rows) {
        val i = r.getAs[Int]("id")
        val image = schema.field("image1")
        val other = schema.field("other_data")
        assertEquals(HelloWorldData.image1(i), image.codec.decode(image, r.getAs[Array[Byte]]("image1")))
        assertEquals(HelloWorldData.otherData(i), other.codec.decode(other, r.getAs[Array[Byte]]("other_data")))
      }
      schema.close()
    } finally {
      hadoopConf.unset("parquet.block.size")
      deleteRecursively(dir)
    }
  }

  @Test def failedBodyRestoresConfAndWritesNoMetadata(): Unit = {
    val dir = tempDir("failed-body").toFile
    try {
      val before = snapshot(64)
      val expected = new com.fasterxml.jackson.databind.ObjectMapper().readTree(NativeLib.writerHadoopConf(64))
      val url = new File(dir, "ds").getPath
      val schema = HelloWorldData.schema
      // Built outside the Runnable so the closure does not capture it (or this test).
      val rdd = spark.sparkContext.parallelize(0 until 2).map(i => DatasetMetadata.dictToSparkRow(schema, HelloWorldData.row(i)))
      val e = intercept[IllegalStateException] {
        DatasetMetadata.materializeDataset(spark, url, schema, 64, new Runnable {
          override def run(): Unit = {
            expected.fields().asScala.foreach(kv => assertEquals(kv.getKey, kv.getValue.asText(), hadoopConf.get(kv.getKey)))
            spark.createDataFrame(rdd, schema.asSparkSchema).write.parquet(url)
            throw new IllegalStateException("boom")
          }
        })
      }
      assertEquals("boom", e.getMessage)
      assertEquals(before, snapshot(64))
      val names = listNames(new File(dir, "ds"))
      assertTrue(names.toString, names.exists(_.endsWith(".parquet")))
      assertFalse(names.toString, names.exists(_.startsWith("_common_metadata")))
    } finally deleteRecursively(dir)
  }
}

object MaterializeDatasetTest {
  private var session: SparkSession = _

  def spark: SparkSession = session

  @BeforeClass def start(): Unit = {
    session = localSpark("petastorm-native-jvm-tests")
  }

  @AfterClass def stop(): Unit = if (session != null) session.stop()
}
