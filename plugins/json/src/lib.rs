//! Django's `dumpdata --format json` as a sink (format `json`), byte for
//! byte with site metadata, and what the XML sink shares with it: the
//! dumpdata view of a site ([`view`]), Python's values of stored values
//! ([`value`]), the spooling sink ([`sink`]) and single-file outputs
//! ([`output`]).

pub mod decimal;
pub mod json;
pub mod jsontext;
pub mod natural;
pub mod output;
pub mod sink;
pub mod value;
pub mod view;

use dump2py_core::registry::SinkFactory;

pub use json::JsonFormat;
pub use sink::{DumpdataSink, Format};

dump2py_core::inventory::submit! {
    SinkFactory {
        name: "json",
        version: env!("CARGO_PKG_VERSION"),
        create: |o| {
            let indent = sink::indent_option(o)?;
            Ok(Box::new(DumpdataSink::new(JsonFormat { indent }, o)?))
        },
    }
}
