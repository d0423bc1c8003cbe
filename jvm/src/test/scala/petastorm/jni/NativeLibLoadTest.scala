package petastorm.jni

import java.io.File
import java.nio.file.Files
import java.util.concurrent.TimeUnit

import org.junit.Assert._
import org.junit.Test

import scala.io.Source

import petastorm.TestUtil

/** Library loading: the system property, the packaged resource (in fresh JVMs) and the error. */
class NativeLibLoadTest {
  private val classesDir = new File(sys.props.getOrElse("petastorm.classes.dir", "target/classes"))
  private val testClassesDir = new File(sys.props.getOrElse("petastorm.test.classes.dir", "target/test-classes"))

  /** Runs LoadProbe in a fresh JVM; returns (exit code, stdout + stderr). */
  private def probe(props: String*): (Int, String) = {
    val java = new File(sys.props("java.home"), "bin/java").getPath
    val cp = Seq(classesDir, testClassesDir).map(_.getAbsolutePath).mkString(File.pathSeparator)
    val cmd = Seq(java) ++ props ++ Seq("-cp", cp, "petastorm.jni.LoadProbe")
    val p = new ProcessBuilder(cmd: _*).redirectErrorStream(true).start()
    val out = Source.fromInputStream(p.getInputStream).mkString
    assertTrue("probe JVM timed out", p.waitFor(60, TimeUnit.SECONDS))
    (p.exitValue(), out)
  }

  @Test def loadsFromSystemProperty(): Unit = {
    assertEquals(TestUtil.nativeLib.getAbsolutePath, NativeLib.loadedFrom())
    val (rc, out) = probe(s"-D${NativeLib.PATH_PROPERTY}=${TestUtil.nativeLib.getPath}")
    assertEquals(out, 0, rc)
    assertTrue(out, out.contains(s"loaded-from=${TestUtil.nativeLib.getAbsolutePath}"))
    assertTrue(out, out.contains("parquet.block.size"))
  }

  @Test def loadsFromPackagedResource(): Unit = {
    assertTrue("resource copied by the build", new File(classesDir, NativeLib.RESOURCE).isFile)
    val (rc, out) = probe()
    assertEquals(out, 0, rc)
    assertTrue(out, out.contains("loaded-from=") && out.contains("libpetastorm_native-"))
    assertTrue(out, out.contains("parquet.block.size"))
  }

  @Test def missingLibraryIsAClearError(): Unit = {
    val (rc, out) = probe(s"-D${NativeLib.PATH_PROPERTY}=/nonexistent/libpetastorm_native.so")
    assertNotEquals(0, rc)
    assertTrue(out, out.contains("UnsatisfiedLinkError") && out.contains("/nonexistent/libpetastorm_native.so"))
  }

  @Test def extractsResourceToTempFile(): Unit = {
    val f = NativeLib.extractResource(NativeLib.RESOURCE)
    assertNotNull(f)
    assertArrayEquals(Files.readAllBytes(TestUtil.nativeLib.toPath), Files.readAllBytes(f.toPath))
    f.delete()
    assertNull(NativeLib.extractResource("/native/linux-x86_64/no-such-lib.so"))
  }
}
