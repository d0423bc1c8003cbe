package petastorm.errors;

/** Base class of the errors thrown by the native library (kind {@code Internal} throws it directly). */
public class PetastormException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public PetastormException(String message) { super(message); }

    public PetastormException(String message, Throwable cause) { super(message, cause); }
}
