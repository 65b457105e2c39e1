//! The one exported declaration, [`PluginDecl`]: what a plugin library
//! exports and the host reads first ([`super::host`] loads libraries).

use super::{Prefixed, SinkDecl, SourceDecl, Str, TransformerDecl, ABI_VERSION};

/// The one exported declaration. The host reads `abi_version` first and
/// nothing else unless it is [`ABI_VERSION`]. The lists hold pointers, so
/// that each declaration's own size says how much of it there is.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct PluginDecl {
    pub abi_version: u32,
    /// `size_of` this struct, as the plugin declares it.
    pub size: usize,
    pub name: Str,
    pub version: Str,
    pub sources: *const *const SourceDecl,
    pub n_sources: usize,
    pub sinks: *const *const SinkDecl,
    pub n_sinks: usize,
    pub transformers: *const *const TransformerDecl,
    pub n_transformers: usize,
}

unsafe impl Sync for PluginDecl {}
unsafe impl Send for PluginDecl {}

unsafe impl Prefixed for PluginDecl {
    const SIZE_AT: usize = std::mem::offset_of!(PluginDecl, size);
    const MIN_SIZE: usize = std::mem::size_of::<PluginDecl>();
}

/// The plugin's declaration (what `export_plugin!` exports).
pub const fn declare(
    name: &'static str,
    version: &'static str,
    sources: &'static [&'static SourceDecl],
    sinks: &'static [&'static SinkDecl],
    transformers: &'static [&'static TransformerDecl],
) -> PluginDecl {
    PluginDecl {
        abi_version: ABI_VERSION,
        size: std::mem::size_of::<PluginDecl>(),
        name: Str::new(name),
        version: Str::new(version),
        // A `&T` is a non-null `*const T`.
        sources: sources.as_ptr() as *const *const SourceDecl,
        n_sources: sources.len(),
        sinks: sinks.as_ptr() as *const *const SinkDecl,
        n_sinks: sinks.len(),
        transformers: transformers.as_ptr() as *const *const TransformerDecl,
        n_transformers: transformers.len(),
    }
}
