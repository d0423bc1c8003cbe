package petastorm.etl

import java.util.UUID

import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.fs.{FileContext, FileStatus, FileSystem, Options, Path, UnsupportedFileSystemException}

import petastorm.errors.PetastormMetadataException
import petastorm.jni.NativeLib

/** Hadoop FileSystem plumbing for metadata: listing data files and reading footers. */
private[petastorm] object DatasetFiles {
  /** Data files under `root` as (relative path, status), sorted by relative path (the native reader's rule). */
  def dataFileStatuses(fs: FileSystem, root: Path): Seq[(String, FileStatus)] = {
    def walk(dir: Path, prefix: String): Seq[(String, FileStatus)] =
      fs.listStatus(dir).toSeq.flatMap { s =>
        val rel = prefix + s.getPath.getName
        if (s.isDirectory) walk(s.getPath, s"$rel/")
        else if (NativeLib.isDataFile(rel)) Seq(rel -> s)
        else Nil
      }
    walk(root, "").sortBy(_._1)
  }

  /** Data files under `root` as (relative path, path), sorted by relative path. */
  def dataFiles(fs: FileSystem, root: Path): Seq[(String, Path)] =
    dataFileStatuses(fs, root).map { case (rel, s) => rel -> s.getPath }

  /** The last (footer length + 8) bytes of a Parquet file. */
  def readFooter(fs: FileSystem, path: Path): Array[Byte] = {
    val len = fs.getFileStatus(path).getLen
    if (len < 8) throw new PetastormMetadataException(s"file '$path' is too short to be Parquet ($len bytes)")
    val in = fs.open(path)
    try {
      val tail = new Array[Byte](8)
      in.readFully(len - 8, tail)
      val n = NativeLib.parquetFooterLength(tail) + 8
      if (n > len || n > Int.MaxValue) {
        throw new PetastormMetadataException(s"file '$path': footer length ${n - 8} exceeds the file size $len")
      }
      val footer = new Array[Byte](n.toInt)
      in.readFully(len - n, footer)
      footer
    } finally in.close()
  }

  def readAll(fs: FileSystem, path: Path): Array[Byte] = {
    val len = fs.getFileStatus(path).getLen
    if (len > Int.MaxValue) throw new PetastormMetadataException(s"file '$path' is too large ($len bytes)")
    val in = fs.open(path)
    try {
      val bytes = new Array[Byte](len.toInt)
      in.readFully(0, bytes)
      bytes
    } finally in.close()
  }

  /** Writes `data` to a temporary file beside `target`, then renames it over `target` with
    * `Rename.OVERWRITE` through `FileContext` (one atomic rename on HDFS and local disks: a reader sees
    * the old file or the new one, never none). File systems without a `FileContext` binding get a
    * delete, then a rename. */
  def writeAtomically(conf: Configuration, target: Path, data: Array[Byte]): Unit = {
    val fs = target.getFileSystem(conf)
    val tmp = new Path(target.getParent, s"${target.getName}.tmp-${UUID.randomUUID().toString.replace("-", "")}")
    try {
      val out = fs.create(tmp, true)
      try out.write(data) finally out.close()
      val context = try Some(FileContext.getFileContext(target.toUri, conf))
        catch { case _: UnsupportedFileSystemException => None }
      context match {
        case Some(c) => c.rename(tmp, target, Options.Rename.OVERWRITE)
        case None =>
          if (fs.exists(target)) fs.delete(target, false)
          if (!fs.rename(tmp, target)) throw new java.io.IOException(s"could not rename $tmp to $target")
      }
    } finally if (fs.exists(tmp)) fs.delete(tmp, false)
  }
}
