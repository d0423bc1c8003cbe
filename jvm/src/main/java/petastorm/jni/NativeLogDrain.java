package petastorm.jni;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Forwards native log records to slf4j from one daemon thread, started when {@link NativeLib}
 * loads the library. The native level follows the levels enabled on the logger
 * {@value #LOGGER} (re-read between records); each record goes to its own logger below it, its
 * message prefixed with the native thread's name.
 */
final class NativeLogDrain implements Runnable {
    static final String LOGGER = "petastorm.native";
    /** How long the thread waits in native code for a record before re-reading the level. */
    private static final long POLL_MILLIS = 250;
    private static final Logger ROOT = LoggerFactory.getLogger(LOGGER);
    private static int level = -1;

    private NativeLogDrain() {}

    static synchronized void start() {
        syncLevel();
        Thread thread = new Thread(new NativeLogDrain(), "petastorm-native-log");
        thread.setDaemon(true);
        thread.start();
    }

    /** Sets the native level from the levels enabled on {@value #LOGGER}, when they changed. */
    static synchronized void syncLevel() {
        int wanted = ROOT.isTraceEnabled() ? 5 : ROOT.isDebugEnabled() ? 4 : ROOT.isInfoEnabled() ? 3
                : ROOT.isWarnEnabled() ? 2 : ROOT.isErrorEnabled() ? 1 : 0;
        if (wanted != level) {
            NativeLib.logSetLevel(wanted);
            level = wanted;
        }
    }

    @Override
    public void run() {
        try {
            while (true) {
                syncLevel();
                NativeLogRecord record = NativeLib.logNext(POLL_MILLIS);
                if (record != null) {
                    emit(record);
                }
            }
        } catch (RuntimeException e) {
            ROOT.error("native log records are no longer forwarded", e);
        }
    }

    private static void emit(NativeLogRecord record) {
        Logger logger = LoggerFactory.getLogger(record.logger);
        String message = "[" + record.thread + "] " + record.message;
        switch (record.level) {
            case 1 -> logger.error(message);
            case 2 -> logger.warn(message);
            case 3 -> logger.info(message);
            case 4 -> logger.debug(message);
            default -> logger.trace(message);
        }
    }
}
