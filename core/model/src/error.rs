use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors say what is wrong and where, in one line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database can't be opened or isn't what the URL says.
    #[error("{0}")]
    Connect(String),
    /// A table can't be read; `-t` skips it.
    #[error("table {table}: {message}")]
    Table { table: String, message: String },
    /// A stored value that its column's declared type can't hold; `-t` skips the table.
    #[error("table {table}, column {column}, primary key {pk}: {message}")]
    Value {
        table: String,
        column: String,
        pk: String,
        message: String,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Bad options or arguments.
    #[error("{0}")]
    Usage(String),
    /// A signal stopped the run: nothing more is published.
    #[error("interrupted")]
    Interrupted,
    /// A bug of dump2py's own (a thread of ours that panicked), not of the
    /// input.
    #[error("internal error: {0}")]
    Internal(String),
    /// A plugin (source, sink or transformer) failed.
    #[error("{plugin}: {message}")]
    Plugin { plugin: String, message: String },
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub fn table(table: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Table {
            table: table.into(),
            message: message.into(),
        }
    }

    /// The table a tolerable error belongs to: only such errors may be
    /// skipped with `--tolerate`.
    pub fn failed_table(&self) -> Option<&str> {
        match self {
            Error::Table { table, .. } | Error::Value { table, .. } => Some(table),
            _ => None,
        }
    }
}
