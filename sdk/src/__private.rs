//! What `export_plugin!` expands to: the plugin side of each interface
//! lives with its declaration in `dump2py_core::abi`.

pub use dump2py_core::abi::loader::declare as plugin_decl;
pub use dump2py_core::abi::sink::declare as sink_decl;
pub use dump2py_core::abi::source::declare as source_decl;
pub use dump2py_core::abi::transformer::declare as transformer_decl;
