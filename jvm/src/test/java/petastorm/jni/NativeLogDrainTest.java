package petastorm.jni;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

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
    public void aWriterRecordReachesLog4jAtInfoWithoutDebugRecords() throws InterruptedException {
        long schema = NativeLib.schemaParse(SCHEMA);
        try {
            long writer = NativeLib.writerOpen(schema, 1 << 20, "snappy", null);
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
        long deadline = System.currentTimeMillis() + 10_000;
        List<LogEvent> wrote = List.of();
        while (wrote.isEmpty() && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
            wrote = events.stream().filter(e -> e.getMessage().getFormattedMessage().contains("wrote a Parquet part file"))
                    .collect(Collectors.toList());
        }
        assertEquals(events.toString(), 1, wrote.size());
        LogEvent event = wrote.get(0);
        assertEquals("petastorm.native.dataset.writer", event.getLoggerName());
        assertEquals(Level.INFO, event.getLevel());
        String message = event.getMessage().getFormattedMessage();
        assertTrue(message, message.startsWith("[") && message.contains("1 rows in 1 row groups"));
        assertEquals("petastorm-native-log", event.getThreadName());
        // The writer's debug record ("writing a Parquet part file ...") was not even kept natively.
        assertTrue(events.toString(), events.stream().noneMatch(e -> e.getLevel().isLessSpecificThan(Level.DEBUG)));
    }
}
