package petastorm.errors;

/** A value of the wrong JVM/NumPy type (kind Type), e.g. an array given to a scalar codec. */
public class PetastormTypeException extends PetastormException {
    private static final long serialVersionUID = 1L;

    public PetastormTypeException(String message) { super(message); }
}
