/*
 * The compressed side of a scan (scan.c): the file is read in blocks, each hashed (sha256) and
 * counted on its way in; for gzip, inflated here with zlib (concatenated members as gzip -d
 * takes them, the trailer always checked, trailing data refused, the exact compressed offset
 * of a problem kept) and handed to libarchive as the tar stream.
 */
#include "scan_private.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Read more compressed bytes, hashing and counting them. Returns bytes read, 0 at EOF, -1. */
ssize_t scan_fill(reader *r)
{
    for (;;) {
        ssize_t n = read(r->fd, r->block, READ_BLOCK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r->io_errno = errno;
            return -1;
        }
        if (n > 0) {
            EVP_DigestUpdate(r->sha, r->block, (size_t)n);
            r->consumed += (uint64_t)n;
        }
        return n;
    }
}

/* Compressed offset of the next byte inflate will look at. */
uint64_t scan_zpos(const reader *r)
{
    return r->consumed - r->zs.avail_in;
}

/*
 * Inflate up to READ_BLOCK bytes into r->out. Handles concatenated gzip members, as gzip -d
 * does. Returns bytes produced, 0 at the clean end of the stream, -1 on error (r->zproblem).
 */
ssize_t scan_inflate_some(reader *r)
{
    r->zs.next_out = r->out;
    r->zs.avail_out = READ_BLOCK;
    while (r->zs.avail_out == READ_BLOCK) {
        if (r->zs.avail_in == 0) {
            ssize_t n = scan_fill(r);
            if (n < 0)
                return -1;
            if (n == 0) {
                if (r->z_end)
                    return 0;
                r->zproblem = ARTIFACT_P_TRUNCATED;
                r->zoffset = r->consumed;
                snprintf(r->zmsg, sizeof r->zmsg,
                         "the gzip stream ends early (after %llu compressed bytes, %llu "
                         "inflated)",
                         (unsigned long long)r->consumed, (unsigned long long)r->inflated);
                return -1;
            }
            r->zs.next_in = r->block;
            r->zs.avail_in = (uInt)n;
        }
        if (r->z_end) {
            /* more input after a complete member: another member, or trailing garbage */
            if (r->zs.avail_in >= 2 && (r->zs.next_in[0] != 0x1f || r->zs.next_in[1] != 0x8b)) {
                /* Zero padding (tape blocking) is harmless. Anything else is data hidden after
                 * the archive: gzip -d warns and exits 2, so `tar -xzf` refuses the file. */
                size_t k = 0;
                while (k < r->zs.avail_in && r->zs.next_in[k] == 0)
                    k++;
                if (k == r->zs.avail_in) {
                    r->zs.avail_in = 0;
                    continue;
                }
                r->zproblem = ARTIFACT_P_CORRUPT;
                r->zoffset = scan_zpos(r) + k;
                snprintf(r->zmsg, sizeof r->zmsg,
                         "data after the end of the gzip stream at compressed byte %llu (GNU tar "
                         "refuses such a file: 'trailing garbage ignored', exit 2); re-create the "
                         "archive",
                         (unsigned long long)r->zoffset);
                return -1;
            }
            inflateReset(&r->zs);
            r->z_end = 0;
        }
        int zr = inflate(&r->zs, Z_NO_FLUSH);
        if (zr == Z_STREAM_END) {
            r->z_end = 1;
            continue;
        }
        if (zr == Z_BUF_ERROR && r->zs.avail_in == 0)
            continue;
        if (zr != Z_OK) {
            r->zproblem = ARTIFACT_P_CORRUPT;
            r->zoffset = scan_zpos(r);
            snprintf(r->zmsg, sizeof r->zmsg, "bad gzip data at compressed byte %llu: %s",
                     (unsigned long long)r->zoffset, r->zs.msg ? r->zs.msg : "inflate failed");
            return -1;
        }
    }
    size_t got = READ_BLOCK - r->zs.avail_out;
    if (r->first_len < sizeof r->first) {
        size_t k = sizeof r->first - r->first_len;
        if (k > got)
            k = got;
        memcpy(r->first + r->first_len, r->out, k);
        r->first_len += k;
    }
    r->inflated += got;
    return (ssize_t)got;
}

ssize_t scan_read_cb(struct archive *a, void *ctx, const void **out)
{
    reader *r = ctx;
    if (r->gzip) {
        ssize_t n = scan_inflate_some(r);
        if (n < 0) {
            archive_set_error(a, r->io_errno ? r->io_errno : EIO, "%s",
                              r->io_errno ? strerror(r->io_errno) : r->zmsg);
            return -1;
        }
        *out = r->out;
        return n;
    }
    ssize_t n = scan_fill(r);
    if (n < 0) {
        archive_set_error(a, r->io_errno, "read error: %s", strerror(r->io_errno));
        return -1;
    }
    *out = r->block;
    return n;
}
