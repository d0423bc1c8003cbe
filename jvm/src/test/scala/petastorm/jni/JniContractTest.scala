package petastorm.jni

import java.lang.management.ManagementFactory
import java.util.concurrent.atomic.AtomicLong

import org.junit.Assert._
import org.junit.Test

import scala.jdk.CollectionConverters._

import petastorm.TestUtil

/** The JNI contract of docs/ffi.md: a 0 handle is a Java exception, and no call pins a Java array while it works. */
class JniContractTest {
  TestUtil.nativeLib // the surefire property names the library; NativeLib loads it on first use

  private val bytes = Array[Byte](1, 2, 3)

  /** Every entry that takes a schema or writer handle, called with 0 (frees of 0 are no-ops and are left out). */
  private val zeroHandleCalls: Seq[(String, () => Any)] = Seq(
    "schemaToJson" -> (() => NativeLib.schemaToJson(0)),
    "schemaSparkJson" -> (() => NativeLib.schemaSparkJson(0)),
    "schemaPickle" -> (() => NativeLib.schemaPickle(0)),
    "schemaMatchFields" -> (() => NativeLib.schemaMatchFields(0, "[\".*\"]")),
    "validateRow" -> (() => NativeLib.validateRow(0, "{\"present\": []}")),
    "encodeCell" -> (() => NativeLib.encodeCell(0, 0, "|u1", Array(3L), false, bytes)),
    "decodeCell" -> (() => NativeLib.decodeCell(0, 0, bytes)),
    "commonMetadata" -> (() => NativeLib.commonMetadata(0, Array("a.parquet"), Array(bytes))),
    "encodeValues" -> (() => NativeLib.encodeValues(0, 0, null, null, bytes, 0, 3, 0)),
    "encodeImageStruct" -> (() => NativeLib.encodeImageStruct(0, 0, 1, 1, 3, 16, bytes, 0)),
    "decodedElementType" -> (() => NativeLib.decodedElementType(0, 0)),
    "decodeValues" -> (() => NativeLib.decodeValues(0, 0, bytes)),
    "decodeImageStruct" -> (() => NativeLib.decodeImageStruct(0, 0, bytes)),
    "writerUnsupported" -> (() => NativeLib.writerUnsupported(0)),
    "writerOpen" -> (() => NativeLib.writerOpen(0, 1 << 20, "none", null)),
    "writerPutNull" -> (() => NativeLib.writerPutNull(0, 0)),
    "writerPutBoolean" -> (() => NativeLib.writerPutBoolean(0, 0, true)),
    "writerPutLong" -> (() => NativeLib.writerPutLong(0, 0, 1L)),
    "writerPutDouble" -> (() => NativeLib.writerPutDouble(0, 0, 1.0)),
    "writerPutString" -> (() => NativeLib.writerPutString(0, 0, "x")),
    "writerPutBytes" -> (() => NativeLib.writerPutBytes(0, 0, bytes)),
    "writerEndRow" -> (() => NativeLib.writerEndRow(0)),
    "writerTakeOutput" -> (() => NativeLib.writerTakeOutput(0)),
    "writerFinish" -> (() => NativeLib.writerFinish(0)),
  )

  @Test def everyEntryGivenAZeroHandleThrowsAJavaException(): Unit = {
    for ((name, call) <- zeroHandleCalls) {
      val e = TestUtil.intercept[IllegalArgumentException](call())
      assertTrue(s"$name: ${e.getMessage}", e.getMessage.matches("(schema|writer) handle is 0"))
    }
    NativeLib.schemaFree(0)
    NativeLib.writerFree(0)
  }

  private def gcCount: Long = ManagementFactory.getGarbageCollectorMXBeans.asScala.map(_.getCollectionCount).sum

  /**
   * A 3000x3000 RGB PNG encode of noise runs for about half a second. Were its pixels pinned in a JNI critical
   * section (as they were), HotSpot's GC locker would hold every collection, and so every thread
   * that needs one to allocate, until the encode ended.
   */
  @Test def aLongEncodeDoesNotHoldTheGarbageCollector(): Unit = {
    val side = 3000
    val schema = NativeLib.schemaParse(
      s"""{"name": "S", "fields": [{"name": "img", "dtype": "uint8", "shape": [$side, $side, 3], "nullable": false,
         |"codec": {"type": "compressed_image", "format": "png", "quality": 80}}]}""".stripMargin)
    try {
      val rnd = new scala.util.Random(7)
      val pixels = Array.fill[Byte](side * side * 3)(rnd.nextInt().toByte) // noise: slow to compress
      def encode(): Array[Byte] = NativeLib.encodeCell(schema, 0, "|u1", Array(side.toLong, side, 3), false, pixels)
      val t0 = System.nanoTime()
      encode()
      val alone = (System.nanoTime() - t0) / 1000000
      assertTrue(s"the encode took $alone ms, too short to tell", alone >= 200)

      val encodeEnd = new AtomicLong()
      val encoder = new Thread(() => { encode(); encodeEnd.set(System.nanoTime()) })
      encoder.start()
      Thread.sleep(alone / 4)
      val before = gcCount
      var sink = 0L
      while (gcCount == before) sink += new Array[Byte](1 << 20).length // garbage until a collection runs
      val collected = System.nanoTime()
      encoder.join(60000)
      assertFalse("the encode did not finish", encoder.isAlive)
      val lead = (encodeEnd.get - collected) / 1000000
      assertTrue(s"a collection ran only $lead ms before the $alone ms encode ended ($sink)", lead >= alone / 4)
    } finally NativeLib.schemaFree(schema)
  }
}
