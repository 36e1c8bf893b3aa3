/*
 * Uncompressed model data (model_data_source with CompressionType None): SageMaker copies one
 * object into /opt/ml/model under the last component of its key, or every object under an S3
 * prefix as a directory tree. To check it like an archive, the local file or directory is
 * packaged as the model directory SageMaker would build (artifact_package, deterministic), in
 * a temporary .tar.gz the caller removes (smx_scratch_remove; both are scratch, removed on a
 * signal).
 */
#include "gate_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Hard link, or copy when the link cannot be made (another file system). */
static int copy_file(const char *from, const char *to)
{
    if (!link(from, to))
        return 0;
    FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
    char buf[65536];
    size_t n;
    int rc = in && out ? 0 : -1;
    while (!rc && (n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            rc = -1;
    if (in && ferror(in))
        rc = -1;
    if (in)
        fclose(in);
    if (out && fclose(out))
        rc = -1;
    return rc;
}

int gate__package_uncompressed(const char *local, const char *key_name, char **tar, smx_err *err)
{
    struct stat st;
    *tar = NULL;
    if (stat(local, &st))
        return smx_fail(err, SMX_EIO, "%s: cannot read the mapped artifact", local);
    char *dir = NULL;
    int rc = smx_scratch_dir("smxgb-uncompressed-", &dir, err);
    if (rc)
        return rc;
    const char *input = local;
    char *staged = NULL;
    if (S_ISREG(st.st_mode)) {
        if (asprintf(&staged, "%s/%s", dir, key_name) < 0 || copy_file(local, staged))
            rc = smx_fail(err, SMX_EIO, "cannot stage %s in %s", local, dir);
        input = dir;
    }
    if (!rc && asprintf(tar, "%s.tar.gz", dir) < 0) {
        *tar = NULL;
        rc = smx_fail(err, SMX_ENOMEM, "out of memory");
    }
    if (!rc) {
        smx_scratch_add(*tar);
        artifact_package_opts po = {.allow_multiple = 1, .mtime = 0};
        rc = artifact_package(input, *tar, &po, err);
    }
    smx_scratch_remove(dir);
    free(dir);
    free(staged);
    if (rc && *tar) {
        smx_scratch_remove(*tar);
        free(*tar);
        *tar = NULL;
    }
    return rc;
}
