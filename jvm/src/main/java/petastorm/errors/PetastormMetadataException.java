package petastorm.errors;

/** Dataset metadata is missing, unreadable or inconsistent (kind Metadata). */
public class PetastormMetadataException extends PetastormException {
    private static final long serialVersionUID = 1L;

    public PetastormMetadataException(String message) { super(message); }
}
