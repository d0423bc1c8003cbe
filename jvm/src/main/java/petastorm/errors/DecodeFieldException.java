package petastorm.errors;

/** Stored cell bytes could not be decoded into what the field declares (kind Decode). */
public class DecodeFieldException extends PetastormException {
    private static final long serialVersionUID = 1L;

    public DecodeFieldException(String message) { super(message); }
}
