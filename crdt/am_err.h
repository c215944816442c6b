/*
 * am_err.h: the one list of error codes of aidmesh.
 *
 * Every function of crdt/, transport/ and node/ that can fail returns 0 (AM_OK) or one of
 * these negative codes. Distinct codes exist for distinct actions a caller takes: wait for
 * more bytes, drop malformed input, refuse input over a limit, report a forgery, keep fork
 * evidence, tell the operator the disk is full, look at errno. This header never prints.
 */
#ifndef AM_ERR_H
#define AM_ERR_H

enum {
    AM_OK = 0,
    AM_EAGAIN = -1,     /* need more bytes: feed more input and call again */
    AM_EMALFORMED = -2, /* bytes do not follow the format: drop them */
    AM_ELIMIT = -3,     /* a field or a whole object is over a limit of am_limits.h */
    AM_EBADSIG = -4,    /* a signature does not verify */
    AM_EBADMAC = -5,    /* an AEAD tag or MAC does not verify */
    AM_EFORK = -6,      /* two different signed entries for one (author, seq) */
    AM_EFULL = -7,      /* disk full, or the store cannot grow further */
    AM_ESYS = -8,       /* a system call failed: see errno */
    AM_ENOMEM = -9,     /* out of memory */
    AM_ENOTFOUND = -10, /* no such object */
    AM_EEXIST = -11,    /* already exists (refused without force) */
    AM_EINVAL = -12,    /* a caller passed an invalid argument or value */
    AM_EPERM = -13,     /* a key file that others can read, or a permission problem */
    AM_ECHECKSUM = -14, /* a checksum over typed text does not match (a typo) */
    AM_EGAP = -15,      /* an entry beyond a gap in an author's chain */
    AM_EUNLINKED = -16, /* an entry whose prev hash does not link to its predecessor */
    AM_EVERSION = -17,  /* a format or protocol version this build does not speak */
    AM_ESTATE = -18,    /* the call is not valid in the object's current state */
    AM_ECORRUPT = -19,  /* stored data fails its own checks */
    AM_ETIMEOUT = -20,  /* the other side stopped answering */
    AM_EPEER = -21,     /* the other side closed the session with an error */
    AM_ESELF = -22,     /* connected to itself */
    AM_ESTALE = -23,    /* authentic, but its timestamp is outside the accepted window */
    AM_EOTHERNET = -24, /* it belongs to another relief network (another network key) */
};

/* A static English sentence for `err` (never NULL, also for unknown codes). */
const char *am_strerror(int err);

#endif
