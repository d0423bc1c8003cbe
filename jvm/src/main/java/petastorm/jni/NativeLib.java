package petastorm.jni;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;

/**
 * The JNI entry points of {@code libpetastorm_native.so} (see docs/ffi.md). Natives are static
 * methods of a Java class so their JNI names are {@code Java_petastorm_jni_NativeLib_*}.
 *
 * <p>The library is loaded once, when this class is initialised: from the path in the system
 * property {@code petastorm.native.lib} when set, else from the jar resource
 * {@value #RESOURCE}, extracted to a temporary file.
 */
public final class NativeLib {
    /** System property naming a {@code libpetastorm_native.so} to load instead of the bundled one. */
    public static final String PATH_PROPERTY = "petastorm.native.lib";
    /** Where the jar bundles the library. */
    public static final String RESOURCE = "/native/linux-x86_64/libpetastorm_native.so";

    private static final String LOADED_FROM;

    static {
        LOADED_FROM = load();
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
        File extracted;
        try {
            extracted = extractResource(RESOURCE);
        } catch (IOException e) {
            UnsatisfiedLinkError err = new UnsatisfiedLinkError(
                    "could not extract the petastorm native library " + RESOURCE + ": " + e);
            err.initCause(e);
            throw err;
        }
        if (extracted == null) {
            throw new UnsatisfiedLinkError("petastorm native library resource " + RESOURCE
                    + " is not on the classpath (the jar was built without target/release/"
                    + "libpetastorm_native.so; run `cargo build --release` and rebuild the jar, or"
                    + " set -D" + PATH_PROPERTY + "=/path/to/libpetastorm_native.so)");
        }
        System.load(extracted.getPath());
        return extracted.getPath();
    }

    /**
     * Copies a classpath resource to a new temporary file deleted at exit.
     *
     * @return the file, or {@code null} when the resource does not exist
     */
    public static File extractResource(String resource) throws IOException {
        try (InputStream in = NativeLib.class.getResourceAsStream(resource)) {
            if (in == null) {
                return null;
            }
            File tmp = File.createTempFile("libpetastorm_native-", ".so");
            tmp.deleteOnExit();
            Files.copy(in, tmp.toPath(), StandardCopyOption.REPLACE_EXISTING);
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
     */
    public static native byte[] encodeValues(long schema, int fieldIndex, String dtype, long[] shape, byte[] data);

    /** Encodes a Spark image struct's pixels (gray/BGR/BGRA, 8-bit) as the field's gray/RGB/RGBA array. */
    public static native byte[] encodeImageStruct(long schema, int fieldIndex, int height, int width, int nChannels,
                                                  int mode, byte[] data);

    /** Spark JSON name of the element type {@link #decodeValues} produces for a field ("short", "float", ...). */
    public static native String decodedElementType(long schema, int fieldIndex);

    /** A cell's elements converted to {@link #decodedElementType} (little-endian), with its shape. */
    public static native DecodedArray decodeValues(long schema, int fieldIndex, byte[] cell);

    /** A cell as a Spark image's pixels: shape (H, W, nChannels), gray/BGR/BGRA bytes. */
    public static native DecodedArray decodeImageStruct(long schema, int fieldIndex, byte[] cell);

    /** Diagnostics: panics in Rust; the guard turns it into {@code PetastormException("panic: " + message)}. */
    public static native void panicProbe(String message);
}
