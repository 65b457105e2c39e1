//! One connection to PostgreSQL: the source's, and the database sink's
//! (dump2py-database), with the URL's TLS and connect timeout.

use dump2py_model::error::{Error, Result};
use tokio::runtime::Runtime;
use tokio_postgres::{Client, NoTls};

use crate::connect::{connect_error, spawn_connection};
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
    crate::connect::pg_message(e)
}
