package petastorm.jni;

/** One native log record, as {@link NativeLib#logNext} returns it (built by the native code). */
public final class NativeLogRecord {
    /** 1 error, 2 warn, 3 info, 4 debug, 5 trace. */
    public final int level;
    /** The slf4j logger name: {@code petastorm.native.<module>} (e.g. {@code petastorm.native.dataset.reader}). */
    public final String logger;
    /** The Rust {@code log} target (module path). */
    public final String target;
    public final String message;
    /** The native thread that emitted it (e.g. {@code petastorm-decode-3}). */
    public final String thread;
    /** Milliseconds since the Unix epoch. */
    public final long timeMillis;

    NativeLogRecord(int level, String logger, String target, String message, String thread, long timeMillis) {
        this.level = level;
        this.logger = logger;
        this.target = target;
        this.message = message;
        this.thread = thread;
        this.timeMillis = timeMillis;
    }
}
