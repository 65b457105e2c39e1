//! Django's `dumpdata` as sinks, byte for byte with site metadata: formats
//! `json` and `xml`, one spooling sink ([`sink`]) with a codec per format
//! ([`codec`]), placeholders for natural foreign keys and single-file
//! outputs ([`output`]). What dumpdata writes of a site (its models,
//! fields, natural keys, reads) is Django's: `dump2py_django::serializer`.

pub mod codec;
pub mod output;
mod placeholder;
pub mod sink;

use dump2py_plugin::registry::SinkFactory;

pub use codec::json::JsonFormat;
pub use codec::xml::XmlFormat;
pub use codec::Format;
pub use sink::DumpdataSink;

dump2py_plugin::inventory::submit! {
    SinkFactory {
        name: "json",
        version: env!("CARGO_PKG_VERSION"),
        create: |o| {
            let indent = sink::indent_option(o)?;
            Ok(Box::new(DumpdataSink::new(JsonFormat { indent }, o)?))
        },
        options: sink::OPTIONS,
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
        options: sink::OPTIONS,
    }
}
