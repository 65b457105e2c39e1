//! One connection to PostgreSQL: the source's, and the database sink's
//! (dump2py-database), with the URL's TLS and connect timeout.

use dump2py_model::error::{Error, Result};
use std::future::Future;

use tokio::runtime::Runtime;
use tokio_postgres::{Client, NoTls};

use crate::tls;
use crate::url::ConnectSpec;

/// Connects as `spec` says; the runtime the client blocks on runs the
/// connection's task.
pub fn connect(spec: &ConnectSpec) -> Result<(Runtime, Client)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Connect(format!("can't start the PostgreSQL client: {e}")))?;
    let at = spec.location();
    let config = spec.config();
    // connect_timeout bounds the whole handshake, as libpq's does (a
    // server that accepts but never answers), not only the TCP connect.
    let limit = spec.connect_timeout;
    let tls = tls::client_config(spec)
        .map_err(|why| Error::Connect(format!("PostgreSQL at {at}: {why}")))?;
    let connected = rt.block_on(async {
        match tls {
            None => tokio::time::timeout(limit, config.connect(NoTls))
                .await
                .map(|r| r.map(|(c, conn)| (c, spawn_connection(conn)))),
            Some(tls) => tokio::time::timeout(limit, config.connect(tls::MakeRustls(tls)))
                .await
                .map(|r| r.map(|(c, conn)| (c, spawn_connection(conn)))),
        }
    });
    match connected {
        Err(_) => Err(Error::Connect(format!(
            "can't connect to PostgreSQL at {at}: no answer within {} s",
            limit.as_secs()
        ))),
        Ok(Err(e)) => Err(connect_error(spec, &e)),
        Ok(Ok((client, ()))) => Ok((rt, client)),
    }
}

/// One line from a tokio-postgres error: the server's message (and
/// detail), else the error and its causes.
pub fn message(e: &tokio_postgres::Error) -> String {
    pg_message(e)
}

/// One line from a tokio-postgres error: the server's message (and detail)
/// for a database error, else the error and its causes.
pub(crate) fn pg_message(e: &tokio_postgres::Error) -> String {
    let text = match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(d) => format!("{} ({d})", db.message()),
            None => db.message().to_string(),
        },
        None => {
            let mut parts = vec![e.to_string()];
            let mut cause = std::error::Error::source(e);
            while let Some(c) = cause {
                let text = c.to_string();
                if !parts.iter().any(|p| p.contains(&text)) {
                    parts.push(text);
                }
                cause = c.source();
            }
            parts.join(": ")
        }
    };
    text.replace(['\n', '\r'], " ")
}

/// Runs the connection's task whenever the source blocks on the runtime.
pub(crate) fn spawn_connection<F>(connection: F)
where
    F: Future<Output = std::result::Result<(), tokio_postgres::Error>> + Send + 'static,
{
    tokio::spawn(async move {
        let _ = connection.await;
    });
}

pub(crate) fn connect_error(spec: &ConnectSpec, e: &tokio_postgres::Error) -> Error {
    use tokio_postgres::error::SqlState;
    let at = spec.location();
    let (user, db) = (&spec.user, &spec.dbname);
    let msg = match e.code() {
        Some(c) if *c == SqlState::INVALID_PASSWORD => {
            format!("PostgreSQL at {at} refused the password of user \"{user}\"")
        }
        Some(c) if *c == SqlState::INVALID_CATALOG_NAME => {
            format!("PostgreSQL at {at} has no database \"{db}\"")
        }
        Some(c) if *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION => {
            format!(
                "PostgreSQL at {at} refused user \"{user}\": {}",
                pg_message(e)
            )
        }
        Some(_) => format!("PostgreSQL at {at}: {}", pg_message(e)),
        None => {
            let text = pg_message(e);
            if text.contains("password missing") {
                format!(
                    "PostgreSQL at {at} asks user \"{user}\" for a password, and none was given"
                )
            } else {
                format!("can't connect to PostgreSQL at {at}: {text}")
            }
        }
    };
    Error::Connect(msg)
}
