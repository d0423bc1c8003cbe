package petastorm.jni

import java.lang.management.ManagementFactory
import java.util.concurrent.CountDownLatch
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
   * A PNG encode of noise long enough to observe (the image grows until one encode takes 200 ms or more on
   * this machine). Were its pixels pinned in a JNI critical section (as they were), HotSpot's GC locker
   * would hold every collection, and so every thread that needs one to allocate, until the encode ended: a
   * full collection requested a quarter into the encode must end before the encode does.
   */
  @Test def aLongEncodeDoesNotHoldTheGarbageCollector(): Unit = {
    val rnd = new scala.util.Random(7)
    /** An encode of a side x side noise image, and what frees its schema. */
    def encoder(side: Int): (() => Array[Byte], () => Unit) = {
      val schema = NativeLib.schemaParse(
        s"""{"name": "S", "fields": [{"name": "img", "dtype": "uint8", "shape": [$side, $side, 3], "nullable": false,
           |"codec": {"type": "compressed_image", "format": "png", "quality": 80}}]}""".stripMargin)
      val pixels = Array.fill[Byte](side * side * 3)(rnd.nextInt().toByte) // noise: slow to compress
      (() => NativeLib.encodeCell(schema, 0, "|u1", Array(side.toLong, side, 3), false, pixels),
        () => NativeLib.schemaFree(schema))
    }
    def timed(encode: () => Array[Byte]): Long = {
      val t0 = System.nanoTime()
      encode()
      (System.nanoTime() - t0) / 1000000
    }
    var side = 3000
    var (encode, free) = encoder(side)
    var alone = timed(encode)
    while (alone < 200 && side < 9000) {
      free()
      side = side * 3 / 2
      val (nextEncode, nextFree) = encoder(side)
      encode = nextEncode
      free = nextFree
      alone = timed(encode)
    }
    try {
      assertTrue(s"the encode of a ${side}x$side image took $alone ms, too short to tell", alone >= 200)
      val started = new CountDownLatch(1)
      val encodeEnd = new AtomicLong()
      val worker = new Thread(() => { started.countDown(); encode(); encodeEnd.set(System.nanoTime()) })
      worker.start()
      started.await()
      Thread.sleep(alone / 4)
      val before = gcCount
      System.gc() // a full collection, which HotSpot stalls while any thread is in a JNI critical section
      val collected = System.nanoTime()
      assertTrue("System.gc() ran no collection", gcCount > before)
      worker.join(60000)
      assertFalse("the encode did not finish", worker.isAlive)
      val lead = (encodeEnd.get - collected) / 1000000
      assertTrue(s"the collection ended only $lead ms before the $alone ms encode did", lead > 0)
    } finally free()
  }
}
