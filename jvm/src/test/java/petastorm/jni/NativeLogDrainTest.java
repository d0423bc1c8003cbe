package petastorm.jni;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;

import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Configurator;
import org.apache.logging.log4j.core.config.Property;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/** Native log records reach log4j2 (Spark's logging) through slf4j and the drain thread. */
public class NativeLogDrainTest {
    private static final String SCHEMA = "{\"name\": \"LogSchema\", \"fields\": [{\"name\": \"id\", \"dtype\": \"int32\","
            + " \"shape\": [], \"nullable\": false, \"codec\": {\"type\": \"scalar\", \"spark_type\": \"integer\"}}]}";

    private final List<LogEvent> events = new CopyOnWriteArrayList<>();
    private AbstractAppender appender;
    private org.apache.logging.log4j.core.Logger logger;

    @Before
    public void attachAppender() {
        appender = new AbstractAppender("native-log-test", null, null, true, Property.EMPTY_ARRAY) {
            @Override
            public void append(LogEvent event) {
                event.getThreadName(); // log4j fills the thread name in lazily: take it on the logging thread
                events.add(event.toImmutable());
            }
        };
        appender.start();
        logger = ((LoggerContext) LogManager.getContext(false)).getLogger(NativeLogDrain.LOGGER);
        logger.addAppender(appender);
        Configurator.setLevel(NativeLogDrain.LOGGER, Level.INFO);
        NativeLogDrain.syncLevel();
    }

    @After
    public void detachAppender() {
        logger.removeAppender(appender);
        appender.stop();
    }

    @Test
    public void aWriterRecordReachesLog4jAtInfoWithoutDebugRecords() throws Exception {
        File dir = Files.createTempDirectory("native-log").toFile();
        File file = new File(dir, "logged.parquet");
        long schema = NativeLib.schemaParse(SCHEMA);
        try {
            long writer = NativeLib.writerOpen(schema, 1 << 20, "snappy", file.getPath());
            try {
                NativeLib.writerPutLong(writer, 0, 7);
                NativeLib.writerEndRow(writer);
                NativeLib.writerFinish(writer);
            } finally {
                NativeLib.writerFree(writer);
            }
        } finally {
            NativeLib.schemaFree(schema);
        }
        // Records of this file only (other tests' records may still be queued). Records arrive in
        // order: once the last one is here, a debug record kept at open would be here too.
        String path = "'" + file.getPath() + "'";
        String wrote = "wrote a Parquet part file to " + path;
        long deadline = System.currentTimeMillis() + 10_000;
        while (events.stream().noneMatch(e -> e.getMessage().getFormattedMessage().contains(wrote))
                && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
        List<LogEvent> mine = events.stream().filter(e -> e.getMessage().getFormattedMessage().contains(path))
                .collect(Collectors.toList());
        // One record: the writer's debug record ("writing a Parquet part file ...") was not kept natively.
        assertEquals(events.toString(), 1, mine.size());
        LogEvent event = mine.get(0);
        assertEquals("petastorm.native.dataset.writer", event.getLoggerName());
        assertEquals(Level.INFO, event.getLevel());
        String message = event.getMessage().getFormattedMessage();
        assertTrue(message, message.startsWith("[") && message.contains(wrote + ": 1 rows in 1 row groups"));
        assertEquals("petastorm-native-log", event.getThreadName());
        file.delete();
        dir.delete();
    }
}
