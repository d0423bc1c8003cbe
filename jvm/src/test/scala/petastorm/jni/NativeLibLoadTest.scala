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

  private val hostResource = NativeLib.resource(sys.props("os.name"), sys.props("os.arch"))

  @Test def loadsFromPackagedResource(): Unit = {
    assertTrue("resource copied by the build", new File(classesDir, hostResource).isFile)
    val (rc, out) = probe()
    assertEquals(out, 0, rc)
    assertTrue(out, out.contains("loaded-from=") && out.contains("libpetastorm_native-"))
    assertTrue("the extracted copy is deleted once loaded: " + out, out.contains("file-exists=false"))
    assertTrue(out, out.contains("parquet.block.size"))
  }

  @Test def platformNames(): Unit = {
    assertEquals("linux-x86_64", NativeLib.platform("Linux", "amd64"))
    assertEquals("linux-x86_64", NativeLib.platform("Linux", "x86_64"))
    assertEquals("linux-aarch64", NativeLib.platform("Linux", "aarch64"))
    assertEquals("linux-aarch64", NativeLib.platform("Linux", "arm64"))
    assertEquals("/native/linux-aarch64/libpetastorm_native.so", NativeLib.resource("Linux", "aarch64"))
  }

  @Test def unsupportedPlatformIsNamed(): Unit = {
    for ((os, arch) <- Seq("Linux" -> "riscv64", "Mac OS X" -> "aarch64", "Windows 11" -> "amd64")) {
      val e = assertThrows(classOf[UnsatisfiedLinkError], () => NativeLib.platform(os, arch))
      assertTrue(e.getMessage, e.getMessage.contains(s"unsupported platform os.name=$os os.arch=$arch"))
    }
  }

  @Test def platformWithoutResourceIsNamed(): Unit = {
    // A supported platform the test jar carries no library for (the host's is linux-x86_64 here).
    val other = if (hostResource.contains("x86_64")) "aarch64" else "amd64"
    val (rc, out) = probe(s"-Dos.arch=$other")
    assertNotEquals(0, rc)
    assertTrue(out, out.contains("UnsatisfiedLinkError") && out.contains(NativeLib.resource("Linux", other))
      && out.contains("no library for this platform"))
  }

  @Test def missingLibraryIsAClearError(): Unit = {
    val (rc, out) = probe(s"-D${NativeLib.PATH_PROPERTY}=/nonexistent/libpetastorm_native.so")
    assertNotEquals(0, rc)
    assertTrue(out, out.contains("UnsatisfiedLinkError") && out.contains("/nonexistent/libpetastorm_native.so"))
  }

  @Test def extractsResourceToTempFile(): Unit = {
    val f = NativeLib.extractResource(hostResource)
    assertNotNull(f)
    assertArrayEquals(Files.readAllBytes(TestUtil.nativeLib.toPath), Files.readAllBytes(f.toPath))
    f.delete()
    assertNull(NativeLib.extractResource("/native/linux-x86_64/no-such-lib.so"))
  }
}
