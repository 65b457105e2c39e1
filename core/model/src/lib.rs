//! The data model at the bottom of dump2py: values and batches of rows as
//! a source reads them, the schema with the source's dialect
//! ([`schema::Storage`]), the read order a sink may ask for, the one
//! error type, database URLs and Django's connection settings, and
//! bounded reads of small files.

pub mod batch;
pub mod database;
pub mod error;
pub mod files;
pub mod order;
pub mod schema;
pub mod url;
#[cfg(any(test, feature = "testing"))]
pub mod url_cases;
pub mod uuid;
pub mod value;

pub use batch::Batch;
pub use error::{Error, Result};
pub use value::Value;
