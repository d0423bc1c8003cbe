package petastorm.jni;

/** A decoded cell as Rust returns it: NumPy dtype string, shape, C-order little-endian bytes. */
public final class DecodedArray {
    private final String dtype;
    private final long[] shape;
    private final byte[] data;

    public DecodedArray(String dtype, long[] shape, byte[] data) {
        this.dtype = dtype;
        this.shape = shape;
        this.data = data;
    }

    public String dtype() { return dtype; }

    public long[] shape() { return shape; }

    public byte[] data() { return data; }
}
