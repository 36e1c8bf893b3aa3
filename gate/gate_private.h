/*
 * Private to gate/: names its files share that are not part of the public header. They carry
 * the gate__ prefix.
 */
#ifndef SMXGB_GATE_PRIVATE_H
#define SMXGB_GATE_PRIVATE_H

#include "gate.h"

/* curl_global_init, once per process. */
int gate__curl_init(smx_err *err);

/* ---- the steps of a check (check.c), shared with the plan walk (planrun.c) ------------------ */

/* A source as a local file (gate_fetch with o's options and hooks); *tmp is 1 when the caller
 * must unlink *local. */
int gate__fetch_source(const char *src, const gate_check_opts *o, char **local, int *tmp,
                       smx_err *err);

/*
 * Verify local against tags (n 0 = every version) and note what each container would do: one
 * case per container is added to r, or `into` is filled when given and exactly one container
 * is checked. A verify that cannot run is an io_error case. *rep is the report (NULL if verify
 * did not run; the caller frees it). SMX_ENOMEM when a case cannot be added.
 */
int gate__verify(gate_report *r, gate_case *into, const char *name, const char *source,
                 const char *local, const char *const *tags, size_t n, const gate_check_opts *o,
                 compat_report **rep, smx_err *err);

/* Serve local with container tag (NULL: the server's default) through o->launch, probe it
 * with the sample or rows as wide as the model (rep), stop it; the outcome goes into c. */
void gate__serve(gate_case *c, const char *local, const char *tag, const compat_report *rep,
                 const gate_check_opts *o);

#endif
