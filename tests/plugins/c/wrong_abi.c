/* A plugin built for another ABI version: dump2py must refuse it after
 * reading the version, before reading or calling anything else. */
#include "dump2py_plugin.h"

const dump2py_plugin DUMP2PY_PLUGIN = {
    999u,
    sizeof(dump2py_plugin),
    DUMP2PY_STR_INIT("from-the-future"),
    DUMP2PY_STR_INIT("9.0.0"),
    NULL, 0, NULL, 0, NULL, 0,
};
