package dev.shunt.ipam;

/**
 * An IPAM failure with a CNI error code, so the CNI layer can return it as the spec's error JSON.
 * Codes below 100 are the CNI spec's own (v1.1.0, "Error"); 100 and above are Shunt's:
 * <ul>
 *   <li>5 I/O failure: the store could not be read, written or synced;</li>
 *   <li>7 invalid network config: a bad CIDR, range or owner;</li>
 *   <li>11 try again later: another process held the store's lock for too long;</li>
 *   <li>100 pool exhausted: no free address is left in the pool;</li>
 *   <li>101 owner conflict: the owner already holds an address of that family from another pool;</li>
 *   <li>102 store corrupt: the store failed verification (a record with a bad checksum in the middle,
 *       one address held twice, an address outside its pool).</li>
 * </ul>
 */
public class IpamException extends RuntimeException {
    public enum Code {
        IO_FAILURE(5),
        INVALID_CONFIG(7),
        TRY_AGAIN_LATER(11),
        POOL_EXHAUSTED(100),
        OWNER_CONFLICT(101),
        STORE_CORRUPT(102);

        private final int cniCode;

        Code(int cniCode) {
            this.cniCode = cniCode;
        }

        public int cniCode() {
            return cniCode;
        }
    }

    private final Code code;

    public IpamException(Code code, String message) {
        super(message);
        this.code = code;
    }

    public IpamException(Code code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    public Code code() {
        return code;
    }

    /** The CNI error code to report (see the class comment). */
    public int cniCode() {
        return code.cniCode();
    }
}
