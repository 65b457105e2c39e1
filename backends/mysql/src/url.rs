//! `mysql://user:password@host:port/database?socket=PATH` → what to connect to.

use std::path::Path;
use std::time::Duration;

use dump2py_core::error::{Error, Result};
use dump2py_core::redact::redact_url;
use dump2py_core::url::percent_decode;

/// How long to wait for the server's greeting when the URL doesn't say.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where libmysqlclient looks for the server's socket when told `localhost`.
const DEFAULT_SOCKETS: &[&str] = &[
    "/run/mysqld/mysqld.sock",
    "/var/run/mysqld/mysqld.sock",
    "/tmp/mysql.sock",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnSpec {
    pub host: String,
    pub port: u16,
    /// A Unix socket path: used instead of host and port.
    pub socket: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub database: String,
    pub connect_timeout: Duration,
}

impl ConnSpec {
    /// Where the server is, for messages: `host:port` or `socket PATH`.
    pub fn place(&self) -> String {
        match &self.socket {
            Some(s) => format!("socket {s}"),
            None if self.host.contains(':') => format!("[{}]:{}", self.host, self.port),
            None => format!("{}:{}", self.host, self.port),
        }
    }

    pub fn user_name(&self) -> &str {
        self.user.as_deref().unwrap_or("")
    }
}

fn usage(url: &str, why: impl std::fmt::Display) -> Error {
    Error::Usage(format!(
        "database URL {}: {why}; write mysql://USER:PASSWORD@HOST:PORT/DATABASE",
        shown(url)
    ))
}

/// The URL without its password, even one with an unencoded `/`, `?` or
/// `#` (where `redact_url` stops looking): all between the user's `:` and
/// the last `@` is hidden.
pub fn shown(url: &str) -> String {
    let r = redact_url(url);
    let (Some(start), Some(at)) = (r.find("://").map(|i| i + 3), r.rfind('@')) else {
        return r;
    };
    if at <= start {
        return r;
    }
    match r[start..at].find(':') {
        Some(colon) => format!("{}:***{}", &r[..start + colon], &r[at..]),
        None => r,
    }
}

/// Parses the URL. `localhost` (or no host) means the server's Unix socket
/// when one is found where libmysqlclient looks, as Django's MySQLdb does.
pub fn parse(url: &str) -> Result<ConnSpec> {
    parse_with(url, &|p| Path::new(p).exists())
}

pub(crate) fn parse_with(url: &str, exists: &dyn Fn(&str) -> bool) -> Result<ConnSpec> {
    let (scheme, rest) = url.split_once(':').ok_or_else(|| usage(url, "no scheme"))?;
    if !matches!(scheme.to_ascii_lowercase().as_str(), "mysql" | "mariadb") {
        return Err(usage(
            url,
            format!("scheme {scheme}: is not mysql: or mariadb:"),
        ));
    }
    let rest = rest
        .strip_prefix("//")
        .ok_or_else(|| usage(url, "expected // after the scheme"))?;
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
        None => (None, authority),
    };
    let mut user = None;
    let mut password = None;
    if let Some(info) = userinfo {
        let (u, p) = match info.split_once(':') {
            Some((u, p)) => (u, Some(p)),
            None => (info, None),
        };
        user = Some(decode(url, u)?).filter(|u| !u.is_empty());
        password = p.map(|p| decode(url, p)).transpose()?;
    }
    let (mut host, port) = split_host_port(url, hostport)?;
    let mut socket = None;
    let mut connect_timeout = DEFAULT_CONNECT_TIMEOUT;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = decode(url, value)?;
        match key.to_ascii_lowercase().replace('-', "_").as_str() {
            "socket" | "unix_socket" => socket = Some(value),
            // Django's HOST may be a socket path (meta.rs writes it as ?host=).
            "host" if value.starts_with('/') => socket = Some(value),
            "host" => host = value,
            "user" => user = Some(value).filter(|u| !u.is_empty()),
            "password" => password = Some(value),
            "connect_timeout" => {
                let secs: u64 = value
                    .parse()
                    .ok()
                    .filter(|s| (1..=3600).contains(s))
                    .ok_or_else(|| usage(url, "connect_timeout must be seconds from 1 to 3600"))?;
                connect_timeout = Duration::from_secs(secs);
            }
            "ssl_mode" | "sslmode" if value.eq_ignore_ascii_case("disabled") => {}
            "ssl_mode" | "sslmode" | "ssl" | "require_ssl" | "ssl_ca" | "ssl_cert" | "ssl_key"
            | "sslca" | "sslcert" | "sslkey" | "tls" => {
                return Err(usage(
                    url,
                    format!(
                        "TLS ({key}={value}) is not supported by this dump2py; \
                         connect over a Unix socket (?socket=PATH) or an SSH tunnel, \
                         or say ssl-mode=DISABLED"
                    ),
                ))
            }
            _ => {
                return Err(usage(
                    url,
                    format!(
                        "unknown parameter '{key}' (known: socket, host, user, password, \
                         connect_timeout, ssl-mode=DISABLED)"
                    ),
                ))
            }
        }
    }
    let database = decode(url, path)?;
    if database.is_empty() {
        return Err(usage(url, "no database named"));
    }
    if database.contains('/') {
        return Err(usage(url, format!("'{database}' is not a database name")));
    }
    if host.is_empty() {
        host = "localhost".into();
    }
    // As libmysqlclient: localhost is the socket even with a port; 127.0.0.1 is TCP.
    if socket.is_none() && host == "localhost" {
        socket = DEFAULT_SOCKETS
            .iter()
            .find(|p| exists(p))
            .map(|p| p.to_string());
    }
    Ok(ConnSpec {
        host,
        port: port.unwrap_or(3306),
        socket,
        user,
        password,
        database,
        connect_timeout,
    })
}

fn split_host_port(url: &str, s: &str) -> Result<(String, Option<u16>)> {
    let (host, port) = if let Some(v6) = s.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| usage(url, "unclosed [ in the host"))?;
        match after {
            "" => (h, None),
            p => (
                h,
                Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| usage(url, "expected :PORT after ]"))?,
                ),
            ),
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let port = match port {
        None | Some("") => None,
        Some(p) => Some(
            p.parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                // Not echoed: it may be part of a password with an unencoded '/'.
                .ok_or_else(|| usage(url, "the port is not a number from 1 to 65535"))?,
        ),
    };
    Ok((decode(url, host)?, port))
}

/// Percent-decoding; the result must be UTF-8.
fn decode(url: &str, s: &str) -> Result<String> {
    percent_decode(s).map_err(|why| usage(url, why))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_socket(_: &str) -> bool {
        false
    }

    fn p(url: &str) -> ConnSpec {
        match parse_with(url, &no_socket) {
            Ok(s) => s,
            Err(e) => panic!("{url}: {e}"),
        }
    }

    fn err(url: &str) -> String {
        match parse_with(url, &no_socket) {
            Ok(s) => panic!("{url} parsed as {s:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn parts() {
        let s = p("mysql://u%40x:p%3As%40@db.example:3307/lino%20db");
        assert_eq!(s.user.as_deref(), Some("u@x"));
        assert_eq!(s.password.as_deref(), Some("p:s@"));
        assert_eq!((s.host.as_str(), s.port), ("db.example", 3307));
        assert_eq!(s.database, "lino db");
        assert_eq!(s.socket, None);
        assert_eq!(s.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
        let s = p("mariadb://[::1]:3306/x?connect_timeout=2");
        assert_eq!(
            (s.host.as_str(), s.port, s.place()),
            ("::1", 3306, "[::1]:3306".into())
        );
        assert_eq!(s.connect_timeout, Duration::from_secs(2));
        let s = p("mysql://root@127.0.0.1/x");
        assert_eq!((s.port, s.password), (3306, None));
    }

    #[test]
    fn sockets() {
        let s = p("mysql://u@/x?socket=/run/my.sock");
        assert_eq!(s.socket.as_deref(), Some("/run/my.sock"));
        assert_eq!(s.place(), "socket /run/my.sock");
        // What meta.rs writes for Django's HOST='/path'.
        let s = p("mysql://u@localhost/x?host=%2Fvar%2Frun%2Fm.sock");
        assert_eq!(s.socket.as_deref(), Some("/var/run/m.sock"));
        let found = |p: &str| p == "/var/run/mysqld/mysqld.sock";
        let s = parse_with("mysql://u@localhost/x", &found).ok();
        assert_eq!(
            s.and_then(|s| s.socket).as_deref(),
            Some("/var/run/mysqld/mysqld.sock")
        );
        let s = parse_with("mysql://u@localhost:3306/x", &found).ok();
        assert!(s.is_some_and(|s| s.socket.is_some()));
        let s = parse_with("mysql://u@127.0.0.1/x", &found).ok();
        assert_eq!(s.map(|s| s.socket), Some(None));
        // No socket found: TCP to localhost.
        assert_eq!(p("mysql://u@localhost/x").socket, None);
    }

    #[test]
    fn passwords_are_never_shown() {
        assert_eq!(shown("mysql://u:p#w@h/db"), "mysql://u:***@h/db");
        assert_eq!(shown("mysql://u:p?w/x@h/db?a=b"), "mysql://u:***@h/db?a=b");
        assert_eq!(
            shown("mysql://u@h/db?password=x"),
            "mysql://u@h/db?password=***"
        );
        assert_eq!(shown("mysql://h/db"), "mysql://h/db");
        // '#' is no fragment: it may be in a password.
        assert_eq!(p("mysql://u:p#w@h/db").password.as_deref(), Some("p#w"));
    }

    #[test]
    fn errors_are_clear_and_redacted() {
        let e = err("mysql://u:secret@h:99999/x");
        assert!(e.contains("the port") && !e.contains("secret"), "{e}");
        // An unencoded '/' in the password.
        let e = err("mysql://u:se/cret@h/x");
        assert!(!e.contains("cret") && e.contains("u:***@h/x"), "{e}");
        let e = err("mysql://u:secret@h/");
        assert!(e.contains("no database") && !e.contains("secret"), "{e}");
        let e = err("mysql://u:secret@h/x?ssl-mode=REQUIRED");
        assert!(e.contains("TLS") && !e.contains("secret"), "{e}");
        assert!(p("mysql://h/x?ssl-mode=DISABLED").socket.is_none());
        let e = err("mysql://h/x?charset=latin1");
        assert!(e.contains("unknown parameter 'charset'"), "{e}");
        let e = err("mysql://h/x?connect_timeout=0");
        assert!(e.contains("connect_timeout"), "{e}");
        let e = err("mysql:h/x");
        assert!(e.contains("//"), "{e}");
        let e = err("mysql://h/%ff");
        assert!(e.contains("UTF-8"), "{e}");
    }
}
