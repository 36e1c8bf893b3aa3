/* Shared by scan.c and gzread.c; not public. */
#ifndef SMXGB_ARTIFACTS_SCAN_PRIVATE_H
#define SMXGB_ARTIFACTS_SCAN_PRIVATE_H

#include "artifacts.h"

#include <archive.h>
#include <openssl/evp.h>
#include <sys/types.h>
#include <zlib.h>

#define READ_BLOCK (128 * 1024)

/* What a scan reads from: the file, its digest, and for gzip the inflate state. */
typedef struct reader {
    int fd;
    EVP_MD_CTX *sha;
    uint64_t consumed; /* compressed bytes read from the file (and hashed) */
    int io_errno;
    unsigned char *block; /* compressed input */
    /* gzip mode */
    int gzip;
    z_stream zs;
    int zs_ready;
    int z_end;          /* a gzip member ended and no input followed */
    unsigned char *out; /* inflated output handed to libarchive */
    uint64_t inflated;
    int zproblem; /* ARTIFACT_P_TRUNCATED / CORRUPT seen by inflate */
    char zmsg[200];
    uint64_t zoffset;
    unsigned char first[1024]; /* the first inflated bytes, to recognise an empty tar */
    size_t first_len;
    /* the first bytes of the file, for magic sniffing */
    unsigned char head[512];
    size_t head_len;
} reader;

/* Read more compressed bytes, hashing and counting them: bytes read, 0 at EOF, -1 (io_errno). */
ssize_t scan_fill(reader *r);
/* Compressed offset of the next byte inflate will look at. */
uint64_t scan_zpos(const reader *r);
/* Inflate up to READ_BLOCK bytes into r->out: bytes produced, 0 at the clean end of the
 * stream, -1 on error (r->zproblem, r->zmsg, r->zoffset; or r->io_errno). */
ssize_t scan_inflate_some(reader *r);
/* libarchive's read callback over a reader (ctx). */
ssize_t scan_read_cb(struct archive *a, void *ctx, const void **out);

#endif
