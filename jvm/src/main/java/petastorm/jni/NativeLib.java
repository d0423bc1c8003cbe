package petastorm.jni;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * The JNI entry points of {@code libpetastorm_native.so} (see docs/ffi.md). Natives are static
 * methods of a Java class so their JNI names are {@code Java_petastorm_jni_NativeLib_*}.
 *
 * <p>The library is loaded once, when this class is initialised: from the path in the system
 * property {@code petastorm.native.lib} when set, else from the jar resource
 * {@code /native/{os}-{arch}/libpetastorm_native.so} of the running platform (see
 * {@link #platform}), extracted to a temporary file that is deleted once loaded. Then a daemon
 * thread starts forwarding native log records to slf4j (see {@link NativeLogDrain}), unless slf4j
 * is not on the classpath.
 */
public final class NativeLib {
    /** System property naming a {@code libpetastorm_native.so} to load instead of the bundled one. */
    public static final String PATH_PROPERTY = "petastorm.native.lib";
    /** The library's file name inside its platform's resource directory. */
    public static final String LIBRARY_FILE = "libpetastorm_native.so";

    private static final String LOADED_FROM;

    static {
        LOADED_FROM = load();
        try {
            NativeLogDrain.start();
        } catch (LinkageError noSlf4j) {
            // Outside Spark without slf4j: native records stay off (the native level is 0).
        }
    }

    private NativeLib() {}

    /** Absolute path of the file the library was loaded from (a temp file when extracted). */
    public static String loadedFrom() {
        return LOADED_FROM;
    }

    private static String load() {
        String path = System.getProperty(PATH_PROPERTY);
        if (path != null && !path.isEmpty()) {
            File file = new File(path).getAbsoluteFile();
            if (!file.isFile()) {
                throw new UnsatisfiedLinkError("petastorm native library not found at " + file
                        + " (from system property " + PATH_PROPERTY + ")");
            }
            System.load(file.getPath());
            return file.getPath();
        }
        String resource = resource(System.getProperty("os.name"), System.getProperty("os.arch"));
        File extracted;
        try {
            extracted = extractResource(resource);
        } catch (IOException e) {
            UnsatisfiedLinkError err = new UnsatisfiedLinkError(
                    "could not extract the petastorm native library " + resource + ": " + e);
            err.initCause(e);
            throw err;
        }
        if (extracted == null) {
            throw new UnsatisfiedLinkError("petastorm native library resource " + resource
                    + " is not on the classpath: this jar has no library for this platform (build"
                    + " the jar on it after `cargo build --release`, or set -D" + PATH_PROPERTY
                    + "=/path/to/" + LIBRARY_FILE + ")");
        }
        try {
            System.load(extracted.getPath());
        } finally {
            // On Linux the loaded mapping outlives the file.
            if (!extracted.delete()) {
                extracted.deleteOnExit();
            }
        }
        return extracted.getPath();
    }

    /**
     * The {@code {os}-{arch}} name of a platform from its {@code os.name} and {@code os.arch}
     * properties; the library is built for {@code linux-x86_64} and {@code linux-aarch64}.
     *
     * @throws UnsatisfiedLinkError naming the platform when the library is not built for it
     */
    public static String platform(String osName, String osArch) {
        String arch = osArch == null ? "" : osArch.toLowerCase(Locale.ROOT);
        String cpu = arch.equals("amd64") || arch.equals("x86_64") ? "x86_64"
                : arch.equals("aarch64") || arch.equals("arm64") ? "aarch64" : null;
        if (!"linux".equalsIgnoreCase(osName) || cpu == null) {
            throw new UnsatisfiedLinkError("petastorm native library: unsupported platform os.name="
                    + osName + " os.arch=" + osArch + " (supported: Linux on x86_64 and aarch64;"
                    + " or set -D" + PATH_PROPERTY + "=/path/to/" + LIBRARY_FILE + ")");
        }
        return "linux-" + cpu;
    }

    /** The jar resource holding the library for a platform given as in {@link #platform}. */
    public static String resource(String osName, String osArch) {
        return "/native/" + platform(osName, osArch) + "/" + LIBRARY_FILE;
    }

    /**
     * Copies a classpath resource to a new temporary file (the caller deletes it).
     *
     * @return the file, or {@code null} when the resource does not exist
     */
    public static File extractResource(String resource) throws IOException {
        try (InputStream in = NativeLib.class.getResourceAsStream(resource)) {
            if (in == null) {
                return null;
            }
            File tmp = File.createTempFile("libpetastorm_native-", ".so");
            try {
                Files.copy(in, tmp.toPath(), StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException e) {
                tmp.delete();
                throw e;
            }
            return tmp.getAbsoluteFile();
        }
    }

    public static native long schemaParse(String json);

    /** 0 is a no-op. */
    public static native void schemaFree(long schema);

    public static native String schemaToJson(long schema);

    public static native String schemaSparkJson(long schema);

    public static native byte[] schemaPickle(long schema);

    /** @param patternsJson JSON list of regexes; returns a JSON list of field names in schema order */
    public static native String schemaMatchFields(long schema, String patternsJson);

    /** @param rowJson {@code {"present": [...], "none": [...]}} */
    public static native void validateRow(long schema, String rowJson);

    /** Returns the encoded cell, or an empty array for scalar (and codec-less) fields. */
    public static native byte[] encodeCell(long schema, int fieldIndex, String dtype, long[] shape,
                                           boolean fortranOrder, byte[] data);

    public static native DecodedArray decodeCell(long schema, int fieldIndex, byte[] cell);

    /** JSON object of Hadoop conf keys to string values; {@code rowGroupSizeMb <= 0}: no block size. */
    public static native String writerHadoopConf(long rowGroupSizeMb);

    /** Footer length from the last 8 bytes of a Parquet file. */
    /** Whether a file at this dataset-relative path holds dataset rows (the reader's rule). */
    public static native boolean isDataFile(String relPath);

    public static native long parquetFooterLength(byte[] tail8);

    /** Bytes of {@code _common_metadata}; each footer is the last (footerLen + 8) bytes of its file. */
    public static native byte[] commonMetadata(long schema, String[] relPaths, byte[][] footers);

    /** Unischema JSON from a whole {@code _common_metadata} (or any Parquet footer-bearing) file. */
    public static native String schemaFromMetadata(byte[] fileBytes);

    /**
     * Encodes C-order elements for a binary-codec field (see petastorm.sql.functions): {@code dtype}
     * null means raw bytes of the field's dtype, else elements are converted to it; {@code shape}
     * null means the field's shape (one open dimension inferred).
     *
     * @param offset the elements are {@code data[offset, offset + length)}
     * @param writer 0: returns the cell; else a {@link #writerOpen} handle: the cell (encoded by the
     *               writer's schema) is put into its current row and null is returned
     */
    public static native byte[] encodeValues(long schema, int fieldIndex, String dtype, long[] shape, byte[] data,
                                             int offset, int length, long writer);

    /**
     * Encodes a Spark image struct's pixels (gray/BGR/BGRA, 8-bit) as the field's gray/RGB/RGBA array.
     *
     * @param writer as for {@link #encodeValues}: 0 returns the cell, else it is put into the writer's row
     */
    public static native byte[] encodeImageStruct(long schema, int fieldIndex, int height, int width, int nChannels,
                                                  int mode, byte[] data, long writer);

    /** Spark JSON name of the element type {@link #decodeValues} produces for a field ("short", "float", ...). */
    public static native String decodedElementType(long schema, int fieldIndex);

    /** A cell's elements converted to {@link #decodedElementType} (little-endian), with its shape. */
    public static native DecodedArray decodeValues(long schema, int fieldIndex, byte[] cell);

    /** A cell as a Spark image's pixels: shape (H, W, nChannels), gray/BGR/BGRA bytes. */
    public static native DecodedArray decodeImageStruct(long schema, int fieldIndex, byte[] cell);

    // Native Parquet part-file writer (docs/ffi.md, "Part-file writer"). A handle is used by one
    // thread at a time; any failed put/endRow discards the current row, the writer stays usable.

    /** Null when the native writer can write this schema, else the reason (e.g. a timestamp field). */
    public static native String writerUnsupported(long schema);

    /**
     * Opens a writer of one Parquet file (the schema is copied; the schema handle may be freed afterwards).
     *
     * @param rowGroupBytes a row group is ended once its encoded size reaches this
     * @param compression   snappy, zstd, gzip, lz4 or none/uncompressed (case-insensitive)
     * @param localPath     null: the file's bytes are taken with {@link #writerTakeOutput}; else the
     *                      writer creates and writes this local file itself
     */
    public static native long writerOpen(long schema, long rowGroupBytes, String compression, String localPath);

    /** Puts null into a field of the current row (an error for a non-nullable field). */
    public static native void writerPutNull(long writer, int fieldIndex);

    public static native void writerPutBoolean(long writer, int fieldIndex, boolean value);

    /** For byte/short/integer/long fields; out-of-range values are errors. */
    public static native void writerPutLong(long writer, int fieldIndex, long value);

    /** For float (rounded) and double fields. */
    public static native void writerPutDouble(long writer, int fieldIndex, double value);

    public static native void writerPutString(long writer, int fieldIndex, String value);

    /** For binary fields: a binary scalar or an already-encoded cell of a codec field. */
    public static native void writerPutBytes(long writer, int fieldIndex, byte[] value);

    /** Ends the current row: fields not put are null (an error for non-nullable ones). */
    public static native void writerEndRow(long writer);

    /** The next chunk (at most a few MiB) of the file produced so far; an empty array when none (always, for a local file). */
    public static native byte[] writerTakeOutput(long writer);

    /** Writes the footer (and closes a local file); returns {rows, rowGroups}; then take the rest with {@link #writerTakeOutput}. Further puts fail. */
    public static native long[] writerFinish(long writer);

    /** Frees the handle; 0 is ignored; call once. */
    public static native void writerFree(long writer);

    /** Installs the native logger (once) and keeps records up to {@code level}: 0 off, 1 error .. 5 trace. */
    public static native void logSetLevel(int level);

    /** The next native log record, waiting up to {@code timeoutMillis}; null on timeout. */
    public static native NativeLogRecord logNext(long timeoutMillis);

    /** Diagnostics: panics in Rust; the guard turns it into {@code PetastormException("panic: " + message)}. */
    public static native void panicProbe(String message);

    /** A directory URL as the converters name it: no trailing '/', {@code file:///x} for local forms. */
    public static native String normalizeDirUrl(String url);

    /** An existing directory given by URL or plain path: a plain path becomes an absolute {@code file://} URL,
     * then as {@link #normalizeDirUrl}; {@code IllegalArgumentException} when empty. */
    public static native String existingDirUrl(String url);

    /** The name of a new converter cache directory for Spark application {@code appId}. */
    public static native String converterDirName(String appId);

    /** Throws {@code IllegalArgumentException} unless {@code url} is a converter directory directly
     *  under {@code parent} (null: unknown, refused). */
    public static native void converterCheckDelete(String url, String parent);

    /** Whether {@code name} is a converter cache directory name. */
    public static native boolean isConverterDirName(String name);

    /** The persistent cache's marker file name. */
    public static native String converterMarkerName();

    /** The persistent converter-cache key (hex) of key inputs as JSON (see docs/ffi.md). */
    public static native String cacheKey(String inputsJson);

    /** The simple name of a class that keeps a plan (its {@code toJSON}) out of the cache; null when none. */
    public static native String cacheDeniedClass(String planJson);

    /** A cache marker's bytes for {@code rows} rows in {@code filesJson} ({@code [[relative path, length], ...]}). */
    public static native byte[] cacheMarker(String key, long rows, String filesJson);

    /** The row count of a reusable cache directory (its marker, the data files present as JSON), or -1. */
    public static native long cacheCheckMarker(byte[] marker, String key, String presentJson);

    /**
     * The native writer's commit protocol: what save mode {@code mode} does with a dataset root that
     * {@code exists} or not: 0 write, 1 delete the root then write, 2 write nothing, 3 refuse (it exists).
     * An unknown mode throws.
     */
    public static native int datasetSaveAction(String mode, boolean exists);

    /** {@code _temporary/<job>}, relative to the dataset root. */
    public static native String datasetStagingDir(String job);

    /** Where attempt {@code attempt} of {@code job} writes partition {@code partition}, relative to the root. */
    public static native String datasetStagingPart(String job, int partition, long attempt);

    /** The name of partition {@code partition}'s committed file of {@code job} in the dataset root. */
    public static native String datasetCommittedPart(String job, int partition);
}
