package petastorm.unischema

import java.lang.ref.{Cleaner, Reference}
import java.util.concurrent.locks.ReentrantReadWriteLock

import petastorm.jni.NativeLib

/**
 * Owns one native schema handle: freed once, by `close()` or by the Cleaner when unreachable.
 * Calls run under a read lock so `close()` never frees a handle another thread is using.
 */
private[petastorm] final class SchemaHandle(json: String) extends AutoCloseable {
  private val ptr: Long = NativeLib.schemaParse(json)
  private val lock = new ReentrantReadWriteLock()
  @volatile private var closed = false
  private val cleanable = SchemaHandle.cleaner.register(this, new SchemaHandle.Free(ptr))

  def isClosed: Boolean = closed

  /** Runs `f` with the live pointer; false when closed (the caller then makes a new handle). */
  def use[T](f: Long => T): Option[T] = {
    lock.readLock().lock()
    try {
      if (closed) None else Some(f(ptr))
    } finally {
      lock.readLock().unlock()
      Reference.reachabilityFence(this)
    }
  }

  override def close(): Unit = {
    lock.writeLock().lock()
    try {
      closed = true
      cleanable.clean()
    } finally lock.writeLock().unlock()
  }
}

private[petastorm] object SchemaHandle {
  private val cleaner: Cleaner = Cleaner.create()

  /** Must not reference the SchemaHandle, or it would never become unreachable. */
  private final class Free(ptr: Long) extends Runnable {
    override def run(): Unit = NativeLib.schemaFree(ptr)
  }
}
