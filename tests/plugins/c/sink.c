/*
 * A dump2py sink written in C against sdk/include/dump2py_plugin.h, using
 * the whole sink interface. `-f ccount=PATH` writes one line per model it
 * got, `app_label.model rows`:
 *
 * - wants: every model of the dump but those of the app `users`, and of
 *   the models Lino's dump skips only the sessions (model `session`);
 * - warnings: after the sessions, "ccount: N sessions";
 * - publish: the lines go to PATH.part at finish, renamed to PATH at
 *   publish; abort removes PATH.part. A PATH ending in ".fail" fails at
 *   finish.
 *
 * The test compiles it with `cc -shared -fPIC`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump2py_plugin.h"

typedef struct ccount {
    char *target; /* NUL-terminated */
    char *part;
    FILE *file;
    int fail_at_finish;
    size_t n_models;
    char **labels;     /* app_label.model, per model index */
    uint8_t *is_session; /* the session model */
    uint64_t rows;     /* of the current table */
    char warning[64];  /* pending, or empty */
} ccount;

static int32_t fail(const dump2py_out *out, const char *message) {
    dump2py_str m = {(const uint8_t *)message, strlen(message)};
    out->error(out->ctx, m, DUMP2PY_NONE);
    return DUMP2PY_ERR;
}

static char *copy(dump2py_str s, const char *suffix) {
    size_t n = strlen(suffix);
    char *c = malloc(s.len + n + 1);
    if (c != NULL) {
        if (s.len > 0) {
            memcpy(c, s.ptr, s.len);
        }
        memcpy(c + s.len, suffix, n + 1);
    }
    return c;
}

static void release_models(ccount *c) {
    for (size_t i = 0; i < c->n_models; i++) {
        free(c->labels[i]);
    }
    free(c->labels);
    free(c->is_session);
    c->labels = NULL;
    c->is_session = NULL;
    c->n_models = 0;
}

static int32_t cc_create(const void *ctx, const dump2py_sink_options *options,
                         const dump2py_out *out, void **instance) {
    (void)ctx;
    ccount *c = calloc(1, sizeof *c);
    if (c == NULL || (c->target = copy(options->target, "")) == NULL ||
        (c->part = copy(options->target, ".part")) == NULL) {
        if (c != NULL) {
            free(c->target);
        }
        free(c);
        return fail(out, "out of memory");
    }
    size_t n = strlen(c->target);
    c->fail_at_finish = n >= 5 && strcmp(c->target + n - 5, ".fail") == 0;
    *instance = c;
    return DUMP2PY_OK;
}

/* Keeps a copy of every model's label: the info is borrowed for this call. */
static int32_t cc_begin(void *instance, const dump2py_dump_info *info, const dump2py_out *out) {
    ccount *c = instance;
    size_t n = info->n_models + info->n_skipped + info->n_excluded;
    c->labels = calloc(n == 0 ? 1 : n, sizeof *c->labels);
    c->is_session = calloc(n == 0 ? 1 : n, 1);
    if (c->labels == NULL || c->is_session == NULL) {
        return fail(out, "out of memory");
    }
    /* The three lists are one array: models, then skipped, then excluded. */
    for (size_t i = 0; i < n; i++) {
        dump2py_str app = info->models[i].app_label, name = info->models[i].model_name;
        char *label = malloc(app.len + 1 + name.len + 1);
        if (label == NULL) {
            return fail(out, "out of memory");
        }
        memcpy(label, app.ptr, app.len);
        label[app.len] = '.';
        memcpy(label + app.len + 1, name.ptr, name.len);
        label[app.len + 1 + name.len] = '\0';
        c->labels[i] = label;
        c->n_models = i + 1;
        c->is_session[i] = name.len == 7 && memcmp(name.ptr, "session", 7) == 0;
    }
    if ((c->file = fopen(c->part, "w")) == NULL) {
        return fail(out, "can't write the .part file");
    }
    return DUMP2PY_OK;
}

static int32_t cc_wants(void *instance, size_t model, uint8_t skipped, uint8_t *wants,
                        const dump2py_out *out) {
    ccount *c = instance;
    if (model >= c->n_models) {
        return fail(out, "no such model");
    }
    if (skipped) {
        *wants = c->is_session[model];
    } else {
        *wants = strncmp(c->labels[model], "users.", 6) != 0;
    }
    return DUMP2PY_OK;
}

static int32_t cc_table_start(void *instance, size_t model, uint64_t expected,
                              const dump2py_out *out) {
    (void)model;
    (void)expected;
    (void)out;
    ((ccount *)instance)->rows = 0;
    return DUMP2PY_OK;
}

static int32_t cc_rows(void *instance, size_t model, const dump2py_batch *batch,
                       const dump2py_out *out) {
    (void)model;
    (void)out;
    if (batch->width > 0) {
        ((ccount *)instance)->rows += batch->n_values / batch->width;
    }
    return DUMP2PY_OK;
}

static int32_t cc_table_end(void *instance, size_t model, uint64_t rows, const dump2py_out *out) {
    ccount *c = instance;
    if (model >= c->n_models || c->file == NULL) {
        return fail(out, "table_end without its model");
    }
    if (rows != c->rows) {
        return fail(out, "rows counted differ from rows written");
    }
    fprintf(c->file, "%s %llu\n", c->labels[model], (unsigned long long)rows);
    if (c->is_session[model]) {
        snprintf(c->warning, sizeof c->warning, "ccount: %llu sessions",
                 (unsigned long long)rows);
    }
    return DUMP2PY_OK;
}

static int32_t cc_table_skipped(void *instance, size_t model, dump2py_str reason,
                                const dump2py_out *out) {
    (void)instance;
    (void)model;
    (void)reason;
    (void)out;
    return DUMP2PY_OK;
}

static int32_t cc_warnings(void *instance, const dump2py_out *out) {
    ccount *c = instance;
    if (c->warning[0] != '\0') {
        dump2py_str w = {(const uint8_t *)c->warning, strlen(c->warning)};
        out->text(out->ctx, w);
        c->warning[0] = '\0';
    }
    return DUMP2PY_OK;
}

static int32_t cc_finish(void *instance, const dump2py_outcome *tables, size_t n_tables,
                         const dump2py_out *out) {
    (void)tables;
    (void)n_tables;
    ccount *c = instance;
    if (c->fail_at_finish) {
        return fail(out, "failed on purpose at finish");
    }
    int bad = c->file == NULL || fclose(c->file) != 0;
    c->file = NULL;
    return bad ? fail(out, "can't finish the .part file") : DUMP2PY_OK;
}

static int32_t cc_publish(void *instance, const dump2py_out *out) {
    ccount *c = instance;
    if (rename(c->part, c->target) != 0) {
        return fail(out, "can't rename the .part file");
    }
    return DUMP2PY_OK;
}

static void cc_abort(void *instance) {
    ccount *c = instance;
    if (c->file != NULL) {
        fclose(c->file);
        c->file = NULL;
    }
    remove(c->part);
}

static void cc_destroy(void *instance) {
    ccount *c = instance;
    if (c->file != NULL) {
        fclose(c->file);
    }
    release_models(c);
    free(c->target);
    free(c->part);
    free(c);
}

static const dump2py_sink_decl ccount_decl = {
    sizeof(dump2py_sink_decl),
    DUMP2PY_STR_INIT("ccount"),
    NULL,
    cc_create,
    cc_begin,
    cc_table_start,
    cc_rows,
    cc_table_end,
    cc_table_skipped,
    cc_finish,
    cc_abort,
    cc_destroy,
    cc_wants,
    cc_warnings,
    cc_publish,
};

static const dump2py_sink_decl *const sinks[] = {&ccount_decl};

const dump2py_plugin DUMP2PY_PLUGIN = {
    DUMP2PY_ABI_VERSION,
    sizeof(dump2py_plugin),
    DUMP2PY_STR_INIT("c-count"),
    DUMP2PY_STR_INIT("1.0.0"),
    NULL,
    0,
    sinks,
    1,
    NULL,
    0,
};
