/*
 * dump2py_plugin.h: the C ABI of dump2py plugins, version 3.
 *
 * A plugin is a shared library that exports one symbol:
 *
 *     const dump2py_plugin DUMP2PY_PLUGIN = {
 *         DUMP2PY_ABI_VERSION, sizeof(dump2py_plugin), ... };
 *
 * dump2py loads it with `dump2py --plugin PATH` (or from a directory named
 * in DUMP2PY_PLUGIN_PATH), reads `abi_version` first and touches nothing
 * else unless it equals DUMP2PY_ABI_VERSION: a plugin built against
 * another version is refused (rebuild it against this header). The
 * declaration lists the plugin's sources (by URL scheme), sinks (by
 * output format) and transformers (by name, used as `-T NAME:ARGS`). A
 * library is never unloaded.
 *
 * This header mirrors dump2py_core::abi (core/src/abi/) exactly, in the
 * same sections: value, table, call, source, sink, transformer, loader.
 * Rust plugins use the dump2py-sdk crate instead, which implements all of
 * this.
 *
 * Conventions
 * -----------
 * - Only plain data crosses: integers, pointers with lengths, and the
 *   structs below. Text is UTF-8, given as pointer + length, never
 *   NUL-terminated (dump2py_str). A null pointer with length 0 is the empty
 *   string, or "none" where a field says so.
 * - Everything one side passes to the other is BORROWED FOR THAT CALL
 *   ONLY. dump2py passes tables, batches and models to the plugin; copy
 *   what you keep. The plugin passes its results (a text, tables, a batch,
 *   an error message) to the callbacks of `dump2py_out`, which copy them
 *   at once: free your buffers after the callback returns. So each side
 *   frees exactly what it allocated.
 * - The only thing dump2py keeps is an instance (`void *`), made by
 *   `open`/`create` and given back to `destroy` exactly once.
 * - Every fallible function returns DUMP2PY_OK or DUMP2PY_ERR. Before
 *   returning DUMP2PY_ERR, call `out->error(out->ctx, message, table)` with
 *   a one-line message (dump2py adds the plugin's name and library) and
 *   `table` null (DUMP2PY_NONE), or the table whose data is at fault (then
 *   `--tolerate` may skip that table).
 * - Never let an exception or a longjmp cross back into dump2py.
 * - dump2py calls a plugin from one thread, one call at a time.
 * - All function pointers of a declaration must be set, but those marked
 *   optional; dump2py refuses a declaration with a missing one when it
 *   loads the library.
 * - Sizes: every declaration starts with its `size` (set it to sizeof the
 *   struct), and so do the structs dump2py fills in for the plugin
 *   (dump2py_out, dump2py_dump_info, dump2py_sink_options). A reader uses
 *   a field only if the writer's size covers it: a field added at the end
 *   in a later revision of this version is an addition, not a break. A
 *   plugin that uses such a field checks the struct's `size` first.
 */
#ifndef DUMP2PY_PLUGIN_H
#define DUMP2PY_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DUMP2PY_ABI_VERSION 3u
#define DUMP2PY_OK 0
#define DUMP2PY_ERR 1
/* What out->batch answers a source: go on reading, or stop and return
 * DUMP2PY_OK (dump2py knows why it stopped). */
#define DUMP2PY_GO_ON 0
#define DUMP2PY_STOP 1

/* ---- texts and lists (abi/mod.rs) ---- */

/* Borrowed UTF-8 text (or bytes), not NUL-terminated. */
typedef struct dump2py_str {
    const uint8_t *ptr;
    size_t len;
} dump2py_str;

#define DUMP2PY_NONE ((dump2py_str){NULL, 0})

/* A list of names: primary-key columns, URL schemes, languages, ... */
typedef struct dump2py_names {
    const dump2py_str *ptr;
    size_t len;
} dump2py_names;

/* ---- value: values and batches ---- */

/* Kind tags of values (dump2py_value.kind) and columns (dump2py_column.kind). */
#define DUMP2PY_NULL 0u        /* a value: NULL */
#define DUMP2PY_UNSUPPORTED 0u /* a column: a type no kind reads (see declared_type) */
#define DUMP2PY_BOOL 1u        /* int: 0 or 1 */
#define DUMP2PY_INT 2u         /* int */
#define DUMP2PY_UINT 3u        /* int: the bits of a uint64_t */
#define DUMP2PY_FLOAT 4u       /* flt */
#define DUMP2PY_DECIMAL 5u     /* ptr/len: exact decimal text, e.g. "-12.50" */
#define DUMP2PY_TEXT 6u        /* ptr/len: UTF-8 */
#define DUMP2PY_BYTES 7u       /* ptr/len */
#define DUMP2PY_DATE 8u        /* int: days since 1970-01-01 */
#define DUMP2PY_TIME 9u        /* int: microseconds since midnight */
#define DUMP2PY_DATETIME 10u   /* int: microseconds since 1970-01-01 00:00 of the
                                  stored wall time; aware 1 with offset_minutes for
                                  an aware value (sources store UTC, offset 0) */
#define DUMP2PY_JSON 11u       /* ptr/len: JSON text as stored */
#define DUMP2PY_UUID 12u       /* ptr/len: 16 bytes */
#define DUMP2PY_DURATION 13u   /* int: microseconds */
#define DUMP2PY_COMPOSITE 14u  /* an array, hstore or range: not carried yet */

/* One value; `kind` says which payload holds it (see the kind tags).
 * (`int_` and `flt` are `int` and `float` in Rust.) */
typedef struct dump2py_value {
    uint32_t kind;
    uint8_t aware;
    int16_t offset_minutes;
    int64_t int_;
    double flt;
    const uint8_t *ptr;
    size_t len;
} dump2py_value;

/* Rows laid out flat: n_values / width rows of `width` values each, in the
 * table's column order. */
typedef struct dump2py_batch {
    size_t width;
    const dump2py_value *values;
    size_t n_values;
} dump2py_batch;

/* ---- table: tables, models, and what a sink's begin gets ---- */

typedef struct dump2py_column {
    dump2py_str name;
    dump2py_str declared_type; /* as declared, e.g. "varchar(200)" */
    uint32_t kind;             /* a kind tag; DUMP2PY_UNSUPPORTED else */
    uint8_t nullable;
} dump2py_column;

typedef struct dump2py_foreign_key {
    dump2py_str column;
    dump2py_str target_table;
    dump2py_str target_column;
} dump2py_foreign_key;

/* A table: columns in database order, primary key, foreign keys, and the
 * sets of columns with a unique constraint (the primary key excluded). */
typedef struct dump2py_table {
    dump2py_str name;
    const dump2py_column *columns;
    size_t n_columns;
    dump2py_names primary_key;
    const dump2py_foreign_key *foreign_keys;
    size_t n_foreign_keys;
    const dump2py_names *unique;
    size_t n_unique;
} dump2py_table;

/* A model's field: `index` is its column's position in the rows; a babel
 * field's other languages' columns are at `babel`. */
typedef struct dump2py_field {
    dump2py_str name;    /* Django's field name: "country" */
    dump2py_str attname; /* "country_id" */
    dump2py_str column;  /* the column in the database */
    size_t index;
    dump2py_str fk_table; /* target table of a foreign key; null if none */
    uint8_t is_babel;
    const size_t *babel;
    size_t n_babel;
} dump2py_field;

typedef struct dump2py_model {
    dump2py_table table;
    dump2py_str app_label;
    dump2py_str model_name;  /* lowercase, as in django_content_type */
    dump2py_str object_name; /* CamelCase; null when not known */
    const dump2py_field *fields;
    size_t n_fields;
    dump2py_str mti_parent_table; /* null when none */
    dump2py_str mti_link_column;
    uint8_t auto_created; /* an auto-created many-to-many link table */
} dump2py_model;

/* A sink's `begin`: the dump and its models. The sink's other calls name a
 * model by its index in one numbering: `models` (those of the dump, in dump
 * order) first, then `skipped` (those Lino's dump leaves out: `wants` is
 * asked about them, with `skipped` 1), then `excluded` (by -e): model
 * n_models is skipped[0]. The three point into one array. */
typedef struct dump2py_dump_info {
    size_t size; /* sizeof as dump2py knows it */
    dump2py_str source; /* redacted: no password */
    dump2py_str tool_version;
    const dump2py_model *models;
    size_t n_models;
    dump2py_names languages; /* the site's languages, default first; may be empty */
    const dump2py_model *skipped;
    size_t n_skipped;
    const dump2py_model *excluded;
    size_t n_excluded;
    /* 1: decimals are stored as REAL (SQLite), read through a float. */
    uint8_t decimals_as_real;
    /* 1: aware datetimes are instants (PostgreSQL's timestamptz); the
       values a sink gets are already read as Django reads them. */
    uint8_t datetimes_as_instants;
} dump2py_dump_info;

/* ---- call: dump2py's callbacks for one call ---- */

/* dump2py's callbacks for one call; what the plugin passes is copied
 * before the callback returns. */
typedef struct dump2py_out {
    size_t size; /* sizeof as dump2py knows it: check before using a later field */
    void *ctx;
    /* The error of a call about to return DUMP2PY_ERR (one line). */
    void (*error)(void *ctx, dump2py_str message, dump2py_str table);
    /* A source's describe; a transformer's finish and a sink's warnings,
     * once per line. */
    void (*text)(void *ctx, dump2py_str text);
    /* A source's schema: once per table. A transformer's table: at most
     * once (not called: the table is unchanged). */
    void (*table)(void *ctx, const dump2py_table *table);
    /* A source's read_table: once per batch. A transformer's batch: at
     * most once (not called: the batch is unchanged). Returns
     * DUMP2PY_GO_ON, or DUMP2PY_STOP: stop, and return at once. */
    int32_t (*batch)(void *ctx, const dump2py_batch *batch);
} dump2py_out;

/* ---- source ---- */

/* A source for the URL schemes `schemes` (lowercase, without ':').
 * `open` gets `ctx` as declared and the whole URL. */
typedef struct dump2py_source_decl {
    size_t size; /* sizeof(dump2py_source_decl) */
    dump2py_str name;
    dump2py_names schemes;
    const void *ctx;
    int32_t (*open)(const void *ctx, dump2py_str url, const dump2py_out *out, void **instance);
    int32_t (*describe)(void *instance, const dump2py_out *out); /* out->text */
    int32_t (*schema)(void *instance, const dump2py_out *out);   /* out->table per table */
    int32_t (*count_rows)(void *instance, const dump2py_table *table, uint64_t *rows,
                          const dump2py_out *out);
    /* Rows in primary-key order, at most batch_rows per out->batch. */
    int32_t (*read_table)(void *instance, const dump2py_table *table, size_t batch_rows,
                          const dump2py_out *out);
    void (*destroy)(void *instance);
} dump2py_source_decl;

/* ---- sink ---- */

typedef struct dump2py_key_value {
    dump2py_str key;
    dump2py_str value;
} dump2py_key_value;

typedef struct dump2py_sink_options {
    size_t size; /* sizeof as dump2py knows it */
    dump2py_str target; /* a path (its bytes), "-" for standard output */
    uint8_t overwrite;
    uint64_t max_row_count;
    const dump2py_key_value *extra;
    size_t n_extra;
} dump2py_sink_options;

/* How one table went, for a sink's `finish`. */
typedef struct dump2py_outcome {
    dump2py_str table;
    uint64_t rows;
    dump2py_str skipped; /* null: dumped; else why it was skipped */
} dump2py_outcome;

/* A sink for the output format `name`. Calls come in this order: begin;
 * wants, per model; per wanted model either table_start, rows...,
 * table_end, or table_skipped, each followed by warnings; then finish and,
 * once every sink has finished, publish. After any error before publish,
 * abort instead: leave no output that looks complete. */
typedef struct dump2py_sink_decl {
    size_t size; /* sizeof(dump2py_sink_decl) */
    dump2py_str name;
    const void *ctx;
    int32_t (*create)(const void *ctx, const dump2py_sink_options *options, const dump2py_out *out,
                      void **instance);
    int32_t (*begin)(void *instance, const dump2py_dump_info *info, const dump2py_out *out);
    int32_t (*table_start)(void *instance, size_t model, uint64_t expected_rows,
                           const dump2py_out *out);
    int32_t (*rows)(void *instance, size_t model, const dump2py_batch *batch,
                    const dump2py_out *out);
    int32_t (*table_end)(void *instance, size_t model, uint64_t rows, const dump2py_out *out);
    int32_t (*table_skipped)(void *instance, size_t model, dump2py_str reason,
                             const dump2py_out *out);
    /* Completes the output where it is staged: nothing is in place yet. */
    int32_t (*finish)(void *instance, const dump2py_outcome *tables, size_t n_tables,
                      const dump2py_out *out);
    void (*abort)(void *instance);
    void (*destroy)(void *instance);
    /* Optional (NULL: the models of Lino's dump, none of the skipped): sets
     * *wants to 1 if the sink wants `model`'s rows, else 0. A table is read
     * only if some sink wants it; a sink gets calls only for its models. */
    int32_t (*wants)(void *instance, size_t model, uint8_t skipped, uint8_t *wants,
                     const dump2py_out *out);
    /* Optional: out->text once per line the user should read (a value
     * written other than stored); shown as "warning: ...". */
    int32_t (*warnings)(void *instance, const dump2py_out *out);
    /* Optional: moves the finished output into place. Called only when every
     * sink has finished, so one failing at finish leaves no output. */
    int32_t (*publish)(void *instance, const dump2py_out *out);
} dump2py_sink_decl;

/* ---- transformer ---- */

/* A transformer `name`; `create` gets the text after "NAME:" in -T. */
typedef struct dump2py_transformer_decl {
    size_t size; /* sizeof(dump2py_transformer_decl) */
    dump2py_str name;
    const void *ctx;
    int32_t (*create)(const void *ctx, dump2py_str args, const dump2py_out *out, void **instance);
    /* Once per table before its rows: out->table with the table as this
     * transformer's output has it (columns added, dropped, renamed), or
     * nothing for "unchanged". */
    int32_t (*table)(void *instance, const dump2py_table *input, const dump2py_out *out);
    /* A batch laid out as `input`: out->batch with it rewritten into the
     * layout of `output` (rows may be dropped), or nothing for "unchanged". */
    int32_t (*batch)(void *instance, const dump2py_table *input, const dump2py_table *output,
                     const dump2py_batch *batch, const dump2py_out *out);
    void (*destroy)(void *instance);
    /* Optional (NULL: nothing to do): once after the
     * last table, before any output is finished. DUMP2PY_ERR aborts the
     * dump; each out->text is a line for the user (shown with -v 2). */
    int32_t (*finish)(void *instance, const dump2py_out *out);
} dump2py_transformer_decl;

/* ---- loader: the one exported declaration ---- */

/* `abi_version` must stay the first field. The lists hold pointers, so that
 * each declaration's own size says how much of it there is. */
typedef struct dump2py_plugin {
    uint32_t abi_version; /* DUMP2PY_ABI_VERSION */
    size_t size;          /* sizeof(dump2py_plugin) */
    dump2py_str name;
    dump2py_str version;
    const dump2py_source_decl *const *sources;
    size_t n_sources;
    const dump2py_sink_decl *const *sinks;
    size_t n_sinks;
    const dump2py_transformer_decl *const *transformers;
    size_t n_transformers;
} dump2py_plugin;

/* A dump2py_str of a string literal: DUMP2PY_STR in code,
 * DUMP2PY_STR_INIT in the initialiser of a static. */
#define DUMP2PY_STR_INIT(literal) {(const uint8_t *)(literal), sizeof(literal) - 1}
#define DUMP2PY_STR(literal) ((dump2py_str)DUMP2PY_STR_INIT(literal))

#ifdef __cplusplus
}
#endif

#endif /* DUMP2PY_PLUGIN_H */
