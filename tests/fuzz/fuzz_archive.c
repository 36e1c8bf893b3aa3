/*
 * Fuzz the archive walk: the streaming scan (gzip inflate with CRC checks, libarchive tar
 * reading, entry classification, limits, duplicates) and the layout rules of every container
 * version, on arbitrary bytes presented as a model.tar.gz.
 */
#include "compat/compat.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz-archive", 0);
        if (fd < 0)
            abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();

    artifact_limits lim;
    artifact_limits_default(&lim);
    lim.max_entries = 64;
    lim.max_total_bytes = 1 << 20;
    lim.max_entry_bytes = 1 << 20;
    lim.ratio_floor = 1 << 16;

    compat_verify_opts o = {.limits = lim};
    compat_report *r = NULL;
    smx_err err = {0};
    if (compat_verify(path, &o, &r, &err) == SMX_OK)
        compat_report_free(r);
    return 0;
}
