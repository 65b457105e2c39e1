//! Write dump2py plugins as shared libraries.
//!
//! A plugin implements the same traits as dump2py's built-ins,
//! [`Source`], [`Sink`] and [`Transformer`], and exports them with one
//! [`export_plugin!`]. Build the crate as a `cdylib` and load it with
//! `dump2py --plugin target/release/libNAME.so` (or put it in a directory
//! listed in `DUMP2PY_PLUGIN_PATH`).
//!
//! A complete transformer that upper-cases one column, used as
//! `dump2py -T upper:name …`:
//!
//! ```
//! use dump2py_sdk::prelude::*;
//!
//! struct Upper(String);
//!
//! impl Transformer for Upper {
//!     fn batch(&mut self, input: &Table, _output: &Table, batch: &mut Batch) -> Result<()> {
//!         if let Some(i) = input.column_index(&self.0) {
//!             for v in batch.values.iter_mut().skip(i).step_by(batch.width.max(1)) {
//!                 if let Value::Text(s) = v {
//!                     *s = s.to_uppercase();
//!                 }
//!             }
//!         }
//!         Ok(())
//!     }
//! }
//!
//! fn upper(args: &str) -> Result<Box<dyn Transformer>> {
//!     match args {
//!         "" => Err(Error::Usage("name a column: -T upper:COLUMN".into())),
//!         column => Ok(Box::new(Upper(column.to_string()))),
//!     }
//! }
//!
//! dump2py_sdk::export_plugin! {
//!     name: "upper",
//!     version: "0.1.0",
//!     transformers: [("upper", upper)],
//! }
//! ```
//!
//! with, in `Cargo.toml`:
//!
//! ```toml
//! [lib]
//! crate-type = ["cdylib"]
//!
//! [dependencies]
//! dump2py-sdk = "0.1"
//! ```
//!
//! The macro takes `sources: [(NAME, [SCHEME, …], OPEN)]` (OPEN is a
//! [`OpenSource`]: `fn(url) -> Result<Box<dyn Source>>`), `sinks: [(FORMAT,
//! CREATE)]` (a [`CreateSink`]) and `transformers: [(NAME, CREATE)]` (a
//! [`CreateTransformer`], given the text after `NAME:`), each optional, in
//! that order.
//!
//! What the SDK does for you: it converts values, tables and batches to and
//! from the C ABI (`crate::ffi`, documented for C authors in
//! `sdk/include/dump2py_plugin.h`); it catches panics and returns them to
//! dump2py as errors (so keep `panic = "unwind"`, the default); an
//! [`Error`](prelude::Error) returned by your code becomes dump2py's one-line
//! error, prefixed with the plugin's name and library.

pub mod ffi;

pub use dump2py_django as django;
pub use dump2py_model as model;
pub use dump2py_plugin as plugin;

/// Everything a plugin usually needs.
pub mod prelude {
    pub use dump2py_django::{Field, Model, Site};
    pub use dump2py_model::batch::Batch;
    pub use dump2py_model::error::{Error, Result};
    pub use dump2py_model::schema::{Column, ColumnKind, ForeignKey, Schema, Table};
    pub use dump2py_model::value::{Date, DateTime, Time, Value};
    pub use dump2py_plugin::registry::SinkOptions;
    pub use dump2py_plugin::{
        BatchFn, DumpInfo, Report, Sink, Source, TableOutcome, Transaction, Transformer,
    };
}

pub use crate::ffi::sink::CreateSink;
pub use crate::ffi::source::OpenSource;
pub use crate::ffi::transformer::CreateTransformer;

/// Exports a plugin's sources, sinks and transformers as the library's
/// `DUMP2PY_PLUGIN` declaration. Use it once per library; see the crate
/// docs for an example.
#[macro_export]
macro_rules! export_plugin {
    (
        name: $name:expr,
        version: $version:expr
        $(, sources: [ $( ($sname:expr, [ $($scheme:expr),+ $(,)? ], $sopen:expr) ),* $(,)? ] )?
        $(, sinks: [ $( ($kname:expr, $kcreate:expr) ),* $(,)? ] )?
        $(, transformers: [ $( ($tname:expr, $tcreate:expr) ),* $(,)? ] )?
        $(,)?
    ) => {
        /// The plugin's declaration, read by dump2py when it loads the library.
        #[no_mangle]
        pub static DUMP2PY_PLUGIN: $crate::ffi::PluginDecl = {
            static SOURCES: &[&$crate::ffi::SourceDecl] = &[$($({
                static OPEN: $crate::OpenSource = $sopen;
                const SCHEMES: &[$crate::ffi::Str] = &[$($crate::ffi::Str::new($scheme)),+];
                static DECL: $crate::ffi::SourceDecl =
                    $crate::__private::source_decl($sname, SCHEMES, &OPEN);
                &DECL
            }),*)?];
            static SINKS: &[&$crate::ffi::SinkDecl] = &[$($({
                static CREATE: $crate::CreateSink = $kcreate;
                static DECL: $crate::ffi::SinkDecl = $crate::__private::sink_decl($kname, &CREATE);
                &DECL
            }),*)?];
            static TRANSFORMERS: &[&$crate::ffi::TransformerDecl] = &[$($({
                static CREATE: $crate::CreateTransformer = $tcreate;
                static DECL: $crate::ffi::TransformerDecl =
                    $crate::__private::transformer_decl($tname, &CREATE);
                &DECL
            }),*)?];
            $crate::__private::plugin_decl($name, $version, SOURCES, SINKS, TRANSFORMERS)
        };
    };
}

#[doc(hidden)]
pub mod __private;

#[cfg(test)]
mod tests;
