/*
 * A dump2py transformer written in C against sdk/include/dump2py_plugin.h:
 * `-T upper:COLUMN` upper-cases the ASCII letters of the text values of
 * COLUMN, in every table that has it. The test compiles it with
 * `cc -shared -fPIC`: the proof that no Rust type crosses the ABI.
 */
#include <stdlib.h>
#include <string.h>

#include "dump2py_plugin.h"

typedef struct upper {
    char *column;
    size_t len;
} upper;

static int32_t fail(const dump2py_out *out, const char *message) {
    dump2py_str m = {(const uint8_t *)message, strlen(message)};
    out->error(out->ctx, m, DUMP2PY_NONE);
    return DUMP2PY_ERR;
}

static int32_t upper_create(const void *ctx, dump2py_str args, const dump2py_out *out,
                            void **instance) {
    (void)ctx;
    if (args.len == 0) {
        return fail(out, "name a column: -T upper:COLUMN");
    }
    upper *u = malloc(sizeof *u);
    if (u == NULL || (u->column = malloc(args.len)) == NULL) {
        free(u);
        return fail(out, "out of memory");
    }
    memcpy(u->column, args.ptr, args.len);
    u->len = args.len;
    *instance = u;
    return DUMP2PY_OK;
}

/* The table stays as it is: not calling out->table says so. */
static int32_t upper_table(void *instance, const dump2py_table *input, const dump2py_out *out) {
    (void)instance;
    (void)input;
    (void)out;
    return DUMP2PY_OK;
}

static int32_t upper_batch(void *instance, const dump2py_table *input,
                           const dump2py_table *output, const dump2py_batch *batch,
                           const dump2py_out *out) {
    (void)output;
    upper *u = instance;
    size_t col = input->n_columns;
    for (size_t i = 0; i < input->n_columns; i++) {
        dump2py_str name = input->columns[i].name;
        if (name.len == u->len && memcmp(name.ptr, u->column, u->len) == 0) {
            col = i;
        }
    }
    if (col == input->n_columns || batch->n_values == 0) {
        return DUMP2PY_OK; /* unchanged */
    }
    /* The batch is dump2py's, borrowed: write a copy and hand it back. */
    dump2py_value *values = malloc(batch->n_values * sizeof *values);
    if (values == NULL) {
        return fail(out, "out of memory");
    }
    memcpy(values, batch->values, batch->n_values * sizeof *values);
    size_t rows = batch->n_values / batch->width;
    int32_t status = DUMP2PY_OK;
    for (size_t r = 0; r < rows; r++) {
        dump2py_value *v = &values[r * batch->width + col];
        if (v->kind != DUMP2PY_TEXT || v->len == 0) {
            continue;
        }
        uint8_t *text = malloc(v->len);
        if (text == NULL) {
            status = fail(out, "out of memory");
            rows = r;
            break;
        }
        for (size_t k = 0; k < v->len; k++) {
            uint8_t c = v->ptr[k];
            text[k] = (c >= 'a' && c <= 'z') ? (uint8_t)(c - 'a' + 'A') : c;
        }
        v->ptr = text;
    }
    if (status == DUMP2PY_OK) {
        dump2py_batch changed = {batch->width, values, batch->n_values};
        /* GO_ON, or STOP (dump2py has its own reason): done either way. */
        (void)out->batch(out->ctx, &changed);
    }
    /* dump2py has copied the batch: free what we allocated. */
    for (size_t r = 0; r < rows; r++) {
        dump2py_value *v = &values[r * batch->width + col];
        if (v->ptr != batch->values[r * batch->width + col].ptr) {
            free((void *)v->ptr);
        }
    }
    free(values);
    return status;
}

static void upper_destroy(void *instance) {
    upper *u = instance;
    free(u->column);
    free(u);
}

static const dump2py_transformer_decl upper_decl = {
    sizeof(dump2py_transformer_decl),
    DUMP2PY_STR_INIT("upper"),
    NULL,
    upper_create,
    upper_table,
    upper_batch,
    upper_destroy,
    NULL, /* finish: nothing to check at the end */
};

static const dump2py_transformer_decl *const transformers[] = {&upper_decl};

const dump2py_plugin DUMP2PY_PLUGIN = {
    DUMP2PY_ABI_VERSION,
    sizeof(dump2py_plugin),
    DUMP2PY_STR_INIT("c-upper"),
    DUMP2PY_STR_INIT("1.0.0"),
    NULL,
    0,
    NULL,
    0,
    transformers,
    1,
};
