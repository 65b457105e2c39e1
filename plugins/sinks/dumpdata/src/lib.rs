//! Django's `dumpdata` as sinks, byte for byte with site metadata: formats
//! `json` and `xml`, one spooling sink ([`sink`]) with a codec per format
//! ([`codec`]), the dumpdata view of a site ([`view`]), natural keys
//! ([`natural`]), the reads in dumpdata's order ([`reads`]), keys of
//! many-to-many lists ([`keys`]) and
//! single-file outputs ([`output`]).

pub mod codec;
pub mod keys;
pub mod natural;
pub mod output;
pub mod reads;
pub mod sink;
pub mod view;

use dump2py_plugin::registry::SinkFactory;

pub use codec::json::JsonFormat;
pub use codec::xml::XmlFormat;
pub use sink::{DumpdataSink, Format};

dump2py_plugin::inventory::submit! {
    SinkFactory {
        name: "json",
        version: env!("CARGO_PKG_VERSION"),
        create: |o| {
            let indent = sink::indent_option(o)?;
            Ok(Box::new(DumpdataSink::new(JsonFormat { indent }, o)?))
        },
    }
}

dump2py_plugin::inventory::submit! {
    SinkFactory {
        name: "xml",
        version: env!("CARGO_PKG_VERSION"),
        create: |o| {
            let indent = sink::indent_option(o)?;
            Ok(Box::new(DumpdataSink::new(XmlFormat { indent }, o)?))
        },
    }
}
