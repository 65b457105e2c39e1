//! What `export_plugin!` expands to: the plugin side of each interface
//! lives with its declaration in `crate::ffi`.

pub use crate::ffi::loader::declare as plugin_decl;
pub use crate::ffi::sink::declare as sink_decl;
pub use crate::ffi::source::declare as source_decl;
pub use crate::ffi::transformer::declare as transformer_decl;
