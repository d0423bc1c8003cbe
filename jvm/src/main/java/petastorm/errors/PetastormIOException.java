package petastorm.errors;

/** Reading or writing bytes failed (kind Io). */
public class PetastormIOException extends PetastormException {
    private static final long serialVersionUID = 1L;

    public PetastormIOException(String message) { super(message); }
}
