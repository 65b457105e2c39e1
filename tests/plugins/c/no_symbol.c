/* A shared library that is not a dump2py plugin: no DUMP2PY_PLUGIN. */
int not_a_dump2py_plugin(void) { return 42; }
