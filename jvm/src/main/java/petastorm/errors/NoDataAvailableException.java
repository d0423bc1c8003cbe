package petastorm.errors;

/** A read plan selected no data (kind NoData). */
public class NoDataAvailableException extends PetastormException {
    private static final long serialVersionUID = 1L;

    public NoDataAvailableException(String message) { super(message); }
}
