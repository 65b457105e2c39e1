/* A transformer that calls a function no library defines: loaded lazily,
 * the process would die at its first call ("symbol lookup error"); dump2py
 * must refuse it when loading it, naming the symbol. */
#include "dump2py_plugin.h"

extern int dump2py_test_no_such_function(void);

static int32_t create(const void *ctx, dump2py_str args, const dump2py_out *out,
                      void **instance) {
    (void)ctx;
    (void)args;
    (void)out;
    *instance = (void *)0;
    return dump2py_test_no_such_function();
}

static const dump2py_transformer_decl decl = {
    sizeof(dump2py_transformer_decl),
    DUMP2PY_STR_INIT("undefined"),
    NULL,
    create,
    NULL,
    NULL,
    NULL,
    NULL,
};

static const dump2py_transformer_decl *const transformers[] = {&decl};

const dump2py_plugin DUMP2PY_PLUGIN = {
    DUMP2PY_ABI_VERSION,
    sizeof(dump2py_plugin),
    DUMP2PY_STR_INIT("c-undefined"),
    DUMP2PY_STR_INIT("1.0.0"),
    NULL,
    0,
    NULL,
    0,
    transformers,
    1,
};
