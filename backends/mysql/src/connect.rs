//! Connecting, with TLS as `ssl-mode` says, and the server's refusals as
//! sentences.

use dump2py_model::error::{Error, Result};
use mysql_async::{Conn, OptsBuilder, SslOpts};

use crate::tls;
use crate::url::{Check, ConnSpec, SslMode};

pub async fn connect(spec: &ConnSpec) -> Result<Conn> {
    let ssl = tls::ssl_opts(spec)
        .map_err(|why| Error::Connect(format!("MariaDB/MySQL at {}: {why}", spec.place())))?;
    // One limit for every attempt together.
    match tokio::time::timeout(spec.connect_timeout, connect_tls(spec, ssl)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(connect_error(spec, &e)),
        Err(_) => Err(Error::Connect(format!(
            "can't connect to MariaDB/MySQL at {}: no answer within {} s",
            spec.place(),
            spec.connect_timeout.as_secs()
        ))),
    }
}

/// Connects with TLS as `ssl` says: PREFERRED goes on without TLS only
/// when the server offers none, never after a failed handshake.
async fn connect_tls(
    spec: &ConnSpec,
    ssl: Option<SslOpts>,
) -> std::result::Result<Conn, mysql_async::Error> {
    let Some(ssl) = ssl else {
        return attempt(spec, None).await;
    };
    match attempt(spec, Some(ssl.clone())).await {
        Err(e) if tls::not_offered(&e) && spec.effective_ssl_mode() == SslMode::Preferred => {
            attempt(spec, None).await
        }
        // VERIFY_CA: a certificate that failed for its name only has a
        // trusted chain; checked again for a name it holds, it passes.
        Err(e) if spec.check() == Check::Chain => {
            match tls::trusted_names(&e).and_then(|n| n.into_iter().next()) {
                Some(name) => {
                    let ssl =
                        ssl.with_danger_tls_hostname_override(Some(dump2py_tls::checkable(&name)));
                    attempt(spec, Some(ssl)).await
                }
                None => Err(e),
            }
        }
        other => other,
    }
}

async fn attempt(
    spec: &ConnSpec,
    ssl: Option<SslOpts>,
) -> std::result::Result<Conn, mysql_async::Error> {
    // libmysqlclient's default user is the login name.
    let user = spec.user.clone().or_else(|| std::env::var("USER").ok());
    let opts = OptsBuilder::default()
        .user(user)
        .pass(spec.password.clone())
        .db_name(Some(spec.database.clone()))
        // Else mysql_async moves a TCP connection to the server's socket,
        // where the same user may be another account.
        .prefer_socket(false)
        .stmt_cache_size(0)
        .tcp_nodelay(true)
        .ssl_opts(ssl);
    let opts = match &spec.socket {
        Some(path) => opts.socket(Some(path.clone())),
        None => opts.ip_or_hostname(spec.host.clone()).tcp_port(spec.port),
    };
    Conn::new(opts).await
}

fn connect_error(spec: &ConnSpec, e: &mysql_async::Error) -> Error {
    let place = spec.place();
    let user = spec.user_name();
    let db = &spec.database;
    if tls::not_offered(e) {
        return Error::Connect(format!(
            "can't connect to MariaDB/MySQL at {place}: the server offers no TLS, which \
             ssl-mode={} requires",
            spec.ssl_mode.name()
        ));
    }
    if let Some(r) = tls::rustls_error(e) {
        return Error::Connect(format!(
            "can't connect to MariaDB/MySQL at {place} over TLS: {}",
            tls::explain(spec, r)
        ));
    }
    // TLS turned off over TCP: the server may insist on it. (Without TLS on
    // the server, or on a socket, TLS can't be why.)
    let tls_off = spec.socket.is_none() && spec.ssl_mode == SslMode::Disabled;
    Error::Connect(match e {
        mysql_async::Error::Server(s) if s.code == 1045 || s.code == 1698 => {
            let with = if spec.password.is_some() {
                "with a password"
            } else {
                "without a password"
            };
            // An account that requires TLS is denied like a wrong password.
            let or_tls = if tls_off {
                ", or the account requires TLS and this connection has none (ssl-mode=DISABLED)"
            } else {
                ""
            };
            format!(
                "MariaDB/MySQL at {place} denied access to user '{user}' ({with}): \
                 wrong password or no such user{or_tls}"
            )
        }
        mysql_async::Error::Server(s) if s.code == 1049 => {
            format!("database '{db}' does not exist on MariaDB/MySQL at {place}")
        }
        mysql_async::Error::Server(s) if s.code == 1044 => {
            format!("user '{user}' may not use database '{db}' on MariaDB/MySQL at {place}")
        }
        // MySQL's ER_SECURE_TRANSPORT_REQUIRED (MariaDB answers 1045).
        mysql_async::Error::Server(s) if s.code == 3159 && tls_off => format!(
            "MariaDB/MySQL at {place} accepts only TLS connections, and this one has none \
             (ssl-mode=DISABLED): {}",
            message(e)
        ),
        _ => format!("can't connect to MariaDB/MySQL at {place}: {}", message(e)),
    })
}

/// One line, without the driver's decorations.
pub fn message(e: &mysql_async::Error) -> String {
    let text = match e {
        mysql_async::Error::Server(s) => format!("{} (error {})", s.message, s.code),
        mysql_async::Error::Io(mysql_async::IoError::Io(io)) => io.to_string(),
        other => other.to_string(),
    };
    text.replace(['\n', '\r'], " ")
}
