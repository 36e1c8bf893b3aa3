/*
 * A JSON or UBJSON model too large to keep whole, cut as it streams into what a whole read
 * would parse: its trees, one at a time, and its skeleton (everything else, with the "trees"
 * array left empty). json.c and ubjstream.c tokenize the bytes and say where each byte goes;
 * this file keeps the two buffers within their limits and remembers where bytes were cut out
 * of the skeleton, so that a problem found in the skeleton is reported at its offset in the
 * file. A tree larger than MDL_STREAM_TREE_MAX, or a skeleton larger than
 * MDL_STREAM_SKEL_MAX, is not kept: the facts it holds are marked unknown (mdl_unknown), and
 * memory stays bounded by the two limits whatever the file's size.
 */
#include "model_private.h"

#include <stdlib.h>
#include <string.h>

static void cut(mdl_split *s, uint64_t n)
{
    if (!n)
        return;
    if (s->n_cuts && s->cuts[s->n_cuts - 1].at == s->skel.len) {
        s->cuts[s->n_cuts - 1].n += n;
        return;
    }
    if (smx_grow((void **)&s->cuts, &s->cap_cuts, s->n_cuts + 1, sizeof *s->cuts)) {
        s->enomem = 1;
        return;
    }
    s->cuts[s->n_cuts].at = s->skel.len;
    s->cuts[s->n_cuts].n = n;
    s->n_cuts++;
}

void mdl_split_skel(mdl_split *s, const void *p, size_t n)
{
    if (!n)
        return;
    if (s->skel_over || s->skel.len + n > MDL_STREAM_SKEL_MAX) {
        if (!s->skel_over)
            mdl_unknown(s->m, COMPAT_UNKNOWN_WRITER | COMPAT_UNKNOWN_LEARNER | COMPAT_UNKNOWN_TREES,
                        "what lies outside the trees is larger than %zu MiB: not read",
                        MDL_STREAM_SKEL_MAX >> 20);
        s->skel_over = 1;
        return;
    }
    if (smx_buf_append(&s->skel, p, n))
        s->enomem = 1;
}

void mdl_split_cut(mdl_split *s, uint64_t n)
{
    if (!s->skel_over)
        cut(s, n);
}

void mdl_split_tree_begin(mdl_split *s, uint64_t off)
{
    smx_buf_reset(&s->tree);
    s->tree_off = off;
    s->tree_over = 0;
}

void mdl_split_tree(mdl_split *s, const void *p, size_t n)
{
    mdl_split_cut(s, n);
    if (s->tree_over || !n)
        return;
    if (s->tree.len + n > MDL_STREAM_TREE_MAX) {
        mdl_unknown(s->m, COMPAT_UNKNOWN_TREES | COMPAT_UNKNOWN_INTEGRITY,
                    "tree %zu (at byte offset %llu) is larger than %zu MiB: not read", s->n_trees,
                    (unsigned long long)s->tree_off, MDL_STREAM_TREE_MAX >> 20);
        s->tree_over = 1;
        smx_buf_free(&s->tree);
        return;
    }
    if (smx_buf_append(&s->tree, p, n))
        s->enomem = 1;
}

int mdl_split_tree_end(mdl_split *s, int (*parse)(mdl_split *s, unsigned char *b, size_t n))
{
    int rc = SMX_OK;
    /* after the first problem the trees are not parsed (a whole read stops there too) */
    if (!s->tree_over && !s->m->corrupt && !s->enomem)
        rc = parse(s, (unsigned char *)(s->tree.data ? s->tree.data : ""), s->tree.len);
    s->n_trees++;
    if (s->tree.cap > ((size_t)1 << 20)) /* a big tree's buffer is not kept for the next */
        smx_buf_free(&s->tree);
    else
        smx_buf_reset(&s->tree);
    if (rc == SMX_ENOMEM)
        s->enomem = 1;
    return rc == SMX_ENOMEM ? rc : SMX_OK;
}

uint64_t mdl_split_offset(const mdl_split *s, size_t pos)
{
    uint64_t off = pos;
    for (size_t i = 0; i < s->n_cuts && s->cuts[i].at <= pos; i++)
        off += s->cuts[i].n;
    return off;
}

void mdl_split_free(mdl_split *s)
{
    smx_buf_free(&s->skel);
    smx_buf_free(&s->tree);
    free(s->cuts);
    memset(s, 0, sizeof *s);
}
