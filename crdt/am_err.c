/* am_err.c: sentences for the codes of am_err.h. Never allocates, never prints. */
#include "am_err.h"

const char *am_strerror(int err)
{
    switch (err) {
    case AM_OK:
        return "success";
    case AM_EAGAIN:
        return "more bytes are needed";
    case AM_EMALFORMED:
        return "malformed data";
    case AM_ELIMIT:
        return "over a size limit";
    case AM_EBADSIG:
        return "bad signature";
    case AM_EBADMAC:
        return "authentication failed (wrong key or tampered data)";
    case AM_EFORK:
        return "fork: two different entries signed for one position of a log";
    case AM_EFULL:
        return "disk full";
    case AM_ESYS:
        return "system error";
    case AM_ENOMEM:
        return "out of memory";
    case AM_ENOTFOUND:
        return "not found";
    case AM_EEXIST:
        return "already exists";
    case AM_EINVAL:
        return "invalid argument";
    case AM_EPERM:
        return "permission problem";
    case AM_ECHECKSUM:
        return "checksum mismatch (a typo?)";
    case AM_EGAP:
        return "gap in a log: earlier entries are missing";
    case AM_EUNLINKED:
        return "entry does not link to its predecessor";
    case AM_EVERSION:
        return "unsupported version";
    case AM_ESTATE:
        return "not valid in the current state";
    case AM_ECORRUPT:
        return "stored data is corrupt";
    case AM_ETIMEOUT:
        return "the other side stopped answering";
    case AM_EPEER:
        return "the other side closed the session with an error";
    case AM_ESELF:
        return "connected to itself";
    case AM_EOTHERNET:
        return "it belongs to another relief network";
    case AM_ESTALE:
        return "timestamp outside the accepted window (a clock far off, or a replay)";
    }
    return "unknown error";
}
