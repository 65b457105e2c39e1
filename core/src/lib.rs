//! The core of dump2py: the value and schema model, the Django view of a
//! schema and of values ([`py`]), the plugin interfaces, the registry and
//! the pipeline.

pub mod abi;
pub mod batch;
pub mod django;
pub mod error;
pub mod files;
pub mod meta;
pub mod order;
pub mod pipeline;
pub mod plugin;
pub mod py;
pub mod registry;
pub mod schema;
pub mod staging;
pub mod url;
pub mod value;

pub use batch::Batch;
pub use error::{Error, Result};
pub use inventory;
pub use value::Value;
