package petastorm.etl

import java.io.File

import org.apache.hadoop.conf.Configuration
import org.apache.spark.sql.types.IntegerType
import org.junit.Assert._
import org.junit.Test

import petastorm.TestUtil._
import petastorm.codecs.{CompressedImageCodec, NdarrayCodec, ScalarCodec}
import petastorm.errors.PetastormMetadataException
import petastorm.unischema.UnischemaField

/** Reading the schema of datasets written by upstream Petastorm, without Spark. */
class MetadataCompatTest {
  private val conf = new Configuration()

  @Test def readsPetastorm0131Schema(): Unit = {
    val url = new File(fixturesDir, "petastorm-0.13.1/hello").toURI.toString
    val s = DatasetMetadata.getSchemaFromDatasetUrl(conf, url)
    assertEquals(Seq("id", "image1", "array_4d"), s.fieldNames)
    assertEquals(UnischemaField("id", "int32", Seq(), ScalarCodec(IntegerType)), s.field("id"))
    assertEquals(UnischemaField("image1", "uint8", Seq(Some(128), Some(256), Some(3)), CompressedImageCodec("png", 80)),
      s.field("image1"))
    assertEquals(UnischemaField("array_4d", "uint8", Seq(None, Some(128), Some(30), None), NdarrayCodec()),
      s.field("array_4d"))
  }

  @Test def readsLegacyPickleSchema(): Unit = {
    val url = new File(fixturesDir, "petastorm-legacy/0.7.6").getAbsolutePath
    val s = DatasetMetadata.getSchemaFromDatasetUrl(conf, url)
    assertTrue(s.fieldNames.toString, Seq("id", "image_png", "matrix", "sensor_name", "integer_nullable").forall(s.fieldNames.contains))
    assertEquals(Seq(Some(32), Some(16), Some(3)), s.field("image_png").shape)
  }

  @Test def missingCommonMetadata(): Unit = {
    val dir = tempDir("no-metadata").toFile
    try assertNames(intercept[PetastormMetadataException](DatasetMetadata.getSchemaFromDatasetUrl(conf, dir.getPath)),
      "_common_metadata")
    finally deleteRecursively(dir)
  }

  @Test def noDataFilesIsAMetadataError(): Unit = {
    val dir = tempDir("empty-dataset").toFile
    try {
      intercept[PetastormMetadataException](
        DatasetMetadata.writeCommonMetadata(conf, dir.getPath, petastorm.examples.HelloWorldData.schema))
      assertTrue(dir.isDirectory)
      assertFalse(new File(dir, "_common_metadata").exists())
    } finally deleteRecursively(dir)
  }
}
