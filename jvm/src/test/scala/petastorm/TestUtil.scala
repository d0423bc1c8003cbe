package petastorm

import java.io.File
import java.nio.file.{Files, Path}

import org.apache.spark.sql.SparkSession

import scala.util.Try

object TestUtil {
  /** The shared fixtures dir (set by surefire from the pom). */
  def fixturesDir: File = new File(sys.props.getOrElse("petastorm.fixtures.dir", "../../shared/fixtures"))

  /** The cdylib built by cargo (set by surefire from the pom). */
  def nativeLib: File = new File(sys.props.getOrElse("petastorm.native.lib", "../target/release/libpetastorm_native.so"))

  def tempDir(prefix: String): Path = Files.createTempDirectory(prefix)

  /** A `local[2]` session on the loopback interface, without UI, with 2 shuffle partitions and `conf`. */
  def localSpark(appName: String, conf: (String, String)*): SparkSession = {
    val base = Seq("spark.ui.enabled" -> "false", "spark.driver.host" -> "127.0.0.1",
      "spark.driver.bindAddress" -> "127.0.0.1", "spark.sql.shuffle.partitions" -> "2")
    (base ++ conf).foldLeft(SparkSession.builder().master("local[2]").appName(appName)) {
      case (b, (k, v)) => b.config(k, v)
    }.getOrCreate()
  }

  def deleteRecursively(f: File): Unit = {
    if (f.isDirectory) Option(f.listFiles()).foreach(_.foreach(deleteRecursively))
    Try(f.delete())
  }

  /** Runs `f` and returns what it threw (fails when it returns normally or throws another class). */
  def intercept[E <: Throwable](f: => Any)(implicit ct: scala.reflect.ClassTag[E]): E = {
    val thrown = try { f; None } catch { case t: Throwable => Some(t) }
    thrown match {
      case Some(e: E) => e
      case Some(other) => throw new AssertionError(s"expected ${ct.runtimeClass.getName}, got $other", other)
      case None => throw new AssertionError(s"expected ${ct.runtimeClass.getName}, nothing was thrown")
    }
  }

  /** Asserts `message` mentions `name`. */
  def assertNames(e: Throwable, name: String): Unit =
    org.junit.Assert.assertTrue(s"message should name '$name': ${e.getMessage}",
      e.getMessage != null && e.getMessage.contains(name))
}
