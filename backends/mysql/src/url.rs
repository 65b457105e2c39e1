//! `mysql://user:password@host:port/database?socket=PATH&ssl-mode=…` → what
//! to connect to, with the MySQL client's parameter names and meanings.

use std::path::Path;
use std::time::Duration;

use dump2py_model::error::{Error, Result};
use dump2py_model::url::{url_error, DbUrl, Server};

/// How long to wait for the server's greeting when the URL doesn't say.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where libmysqlclient looks for the server's socket when told `localhost`.
const DEFAULT_SOCKETS: &[&str] = &[
    "/run/mysqld/mysqld.sock",
    "/var/run/mysqld/mysqld.sock",
    "/tmp/mysql.sock",
];

/// The MySQL client's `--ssl-mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disabled,
    /// TLS when the server offers it, else plain; the certificate is
    /// checked only against an `ssl-ca` given.
    Preferred,
    /// TLS; the certificate is not checked.
    Required,
    /// TLS; the chain checked against `ssl-ca` or the system's roots.
    VerifyCa,
    /// `VerifyCa`, and the host name checked against the certificate.
    VerifyIdentity,
}

impl SslMode {
    pub fn name(self) -> &'static str {
        match self {
            SslMode::Disabled => "DISABLED",
            SslMode::Preferred => "PREFERRED",
            SslMode::Required => "REQUIRED",
            SslMode::VerifyCa => "VERIFY_CA",
            SslMode::VerifyIdentity => "VERIFY_IDENTITY",
        }
    }

    fn parse(value: &str) -> Option<SslMode> {
        Some(
            match value.to_ascii_uppercase().replace('-', "_").as_str() {
                "DISABLED" => SslMode::Disabled,
                "PREFERRED" => SslMode::Preferred,
                "REQUIRED" => SslMode::Required,
                "VERIFY_CA" => SslMode::VerifyCa,
                "VERIFY_IDENTITY" => SslMode::VerifyIdentity,
                _ => return None,
            },
        )
    }
}

pub use dump2py_tls::Check;

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
    pub ssl_mode: SslMode,
    /// `ssl-ca`: a PEM file of trusted CA certificates.
    pub ssl_ca: Option<String>,
    /// `ssl-cert`, `ssl-key`: the client's certificate and key (PEM); one
    /// file may hold both.
    pub ssl_cert: Option<String>,
    pub ssl_key: Option<String>,
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

    /// The mode in effect: a Unix socket never uses TLS, as libmysqlclient.
    pub fn effective_ssl_mode(&self) -> SslMode {
        match self.socket {
            Some(_) => SslMode::Disabled,
            None => self.ssl_mode,
        }
    }

    /// What a TLS connection checks; `ssl-ca` makes even PREFERRED check
    /// the chain (as libpq's prefer with a root certificate).
    pub fn check(&self) -> Check {
        use dump2py_tls::Mode;
        let mode = match self.effective_ssl_mode() {
            SslMode::Disabled => Mode::Disable,
            SslMode::Preferred => Mode::Prefer,
            SslMode::Required => Mode::Require,
            SslMode::VerifyCa => Mode::VerifyCa,
            SslMode::VerifyIdentity => Mode::VerifyFull,
        };
        mode.check(self.ssl_ca.is_some()).unwrap_or(Check::Nothing)
    }

    /// `ssl-mode=…, ssl-ca=…` for messages.
    pub fn ssl_settings(&self) -> String {
        let mut s = format!("ssl-mode={}", self.ssl_mode.name());
        if let Some(ca) = &self.ssl_ca {
            s += &format!(", ssl-ca={ca}");
        }
        s
    }
}

fn usage(url: &str, why: impl std::fmt::Display) -> Error {
    url_error(
        url,
        format!("{why}; write mysql://USER:PASSWORD@HOST:PORT/DATABASE"),
    )
}

/// A parameter's one spelling: case and `-` or `_` don't matter, and
/// older names are aliases.
fn canonical(key: &str) -> String {
    let key = key.to_ascii_lowercase().replace('-', "_");
    match key.as_str() {
        "unix_socket" => "socket",
        "sslmode" => "ssl_mode",
        "require_ssl" => "ssl",
        "sslca" => "ssl_ca",
        "sslcert" => "ssl_cert",
        "sslkey" => "ssl_key",
        _ => return key,
    }
    .into()
}

/// Parses the URL. `localhost` (or no host) means the server's Unix socket
/// when one is found where libmysqlclient looks, as Django's MySQLdb does.
pub fn parse(url: &str) -> Result<ConnSpec> {
    parse_with(url, &|p| Path::new(p).exists())
}

pub(crate) fn parse_with(url: &str, exists: &dyn Fn(&str) -> bool) -> Result<ConnSpec> {
    let parsed = DbUrl::parse(url).map_err(|e| usage(url, e.why))?;
    let scheme = &parsed.scheme;
    if !matches!(scheme.to_ascii_lowercase().as_str(), "mysql" | "mariadb") {
        return Err(usage(
            url,
            format!("scheme {scheme}: is not mysql: or mariadb:"),
        ));
    }
    if let Some(key) = parsed.repeated(canonical) {
        return Err(usage(url, format!("parameter '{key}' is given twice")));
    }
    let mut user = parsed.user.clone();
    let mut password = parsed.password.clone();
    let mut socket = None;
    let mut connect_timeout = DEFAULT_CONNECT_TIMEOUT;
    let mut ssl_mode = None;
    // MariaDB's older spellings: `ssl=true`, `ssl-verify-server-cert=true`.
    let mut ssl_flag = None;
    let mut verify_flag = None;
    let (mut ssl_ca, mut ssl_cert, mut ssl_key) = (None, None, None);
    let file = |v: String| Some(v).filter(|v| !v.is_empty());
    for (key, value) in &parsed.params {
        let value = value.clone();
        match canonical(key).as_str() {
            "socket" => socket = Some(value),
            // Read by `server` below.
            "host" => {}
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
            "ssl_mode" => {
                ssl_mode = Some(SslMode::parse(&value).ok_or_else(|| {
                    usage(
                        url,
                        format!(
                            "{key}={value} is not one of DISABLED, PREFERRED, REQUIRED, \
                             VERIFY_CA, VERIFY_IDENTITY"
                        ),
                    )
                })?)
            }
            "ssl" => ssl_flag = Some(flag(url, key, &value)?),
            "ssl_verify_server_cert" => verify_flag = Some(flag(url, key, &value)?),
            "ssl_ca" => ssl_ca = file(value),
            "ssl_cert" => ssl_cert = file(value),
            "ssl_key" => ssl_key = file(value),
            "ssl_capath" | "ssl_cipher" | "ssl_crl" | "ssl_crlpath" | "tls_version"
            | "ssl_fips_mode" => {
                return Err(usage(
                    url,
                    format!(
                        "{key} is not supported by this dump2py \
                         (TLS takes ssl-mode, ssl-ca, ssl-cert, ssl-key)"
                    ),
                ))
            }
            _ => {
                return Err(usage(
                    url,
                    format!(
                        "unknown parameter '{key}' (known: socket, host, user, password, \
                         connect_timeout, ssl-mode, ssl-ca, ssl-cert, ssl-key, ssl, \
                         ssl-verify-server-cert)"
                    ),
                ))
            }
        }
    }
    let explicit = match (ssl_mode, ssl_flag, verify_flag) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(usage(
                url,
                "give ssl-mode, or MariaDB's ssl and ssl-verify-server-cert, not both",
            ))
        }
        (Some(mode), None, None) => Some(mode),
        (None, Some(false), Some(true)) => {
            return Err(usage(
                url,
                "ssl=false contradicts ssl-verify-server-cert=true",
            ))
        }
        (None, Some(false), _) => Some(SslMode::Disabled),
        (None, _, Some(true)) => Some(SslMode::VerifyIdentity),
        (None, Some(true), _) => Some(SslMode::Required),
        (None, None, _) => None,
    };
    // A CA means its chain is checked: libmysqlclient's REQUIRED with a CA
    // is VERIFY_CA, and MariaDB's client takes --ssl-ca alone as TLS.
    let ssl_mode = match (explicit, ssl_ca.is_some()) {
        (None | Some(SslMode::Required), true) => SslMode::VerifyCa,
        (None, false) => SslMode::Preferred,
        (Some(mode), _) => mode,
    };
    // As libmysqlclient: one file may hold both the certificate and its key.
    match (&ssl_cert, &ssl_key) {
        (Some(c), None) => ssl_key = Some(c.clone()),
        (None, Some(_)) => return Err(usage(url, "ssl-key needs ssl-cert")),
        _ => {}
    }
    // Django's HOST may be a socket path (site metadata writes it as ?host=).
    let mut host = String::new();
    match (parsed.server(), &socket) {
        (Some(Server::Socket(_)), Some(_)) => {
            return Err(usage(
                url,
                "give socket= or a socket path as the host, not both",
            ))
        }
        (Some(Server::Socket(path)), None) => socket = Some(path.to_string()),
        (Some(Server::Host(h)), _) => host = h.to_string(),
        (None, _) => {}
    }
    let database = parsed.path.clone();
    if database.is_empty() {
        return Err(usage(url, "names no database"));
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
        port: parsed.port.unwrap_or(3306),
        socket,
        user,
        password,
        database,
        connect_timeout,
        ssl_mode,
        ssl_ca,
        ssl_cert,
        ssl_key,
    })
}

/// A MariaDB-style boolean: true, false, 1, 0, on, off, yes, no.
fn flag(url: &str, key: &str, value: &str) -> Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "on" | "yes" => Ok(true),
        "false" | "0" | "off" | "no" => Ok(false),
        _ => Err(usage(url, format!("{key}={value} is not true or false"))),
    }
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
        // How they are hidden is tested with `dump2py_model::url::redact`.
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
        assert!(
            e.contains("names no database") && !e.contains("secret"),
            "{e}"
        );
        for url in ["mariadb://root@127.0.0.1", "mysql://root@127.0.0.1:3306/"] {
            let e = err(url);
            assert!(
                e.contains("names no database; write mysql://"),
                "{url}: {e}"
            );
        }
        let e = err("mysql://u:secret@h/x?ssl-mode=STRICT");
        assert!(
            e.contains("ssl-mode=STRICT is not one of DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY")
                && e.contains("u:***@h/x")
                && !e.contains("secret"),
            "{e}"
        );
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

    fn mode(url: &str) -> (SslMode, Check) {
        let s = p(url);
        (s.ssl_mode, s.check())
    }

    #[test]
    fn ssl_modes_as_the_mysql_client() {
        use Check::*;
        use SslMode::*;
        assert_eq!(mode("mysql://h/x"), (Preferred, Nothing));
        for (query, expected) in [
            ("ssl-mode=DISABLED", (Disabled, Nothing)),
            ("ssl_mode=disabled", (Disabled, Nothing)),
            ("SSL-MODE=Preferred", (Preferred, Nothing)),
            ("ssl-mode=required", (Required, Nothing)),
            ("ssl-mode=verify_ca", (VerifyCa, Chain)),
            ("ssl-mode=VERIFY-CA", (VerifyCa, Chain)),
            ("sslmode=VERIFY_IDENTITY", (VerifyIdentity, ChainAndName)),
            // A CA: its chain is checked.
            ("ssl-ca=ca.pem", (VerifyCa, Chain)),
            ("ssl-mode=REQUIRED&ssl-ca=ca.pem", (VerifyCa, Chain)),
            ("ssl-ca=ca.pem&ssl-mode=REQUIRED", (VerifyCa, Chain)),
            ("ssl-mode=PREFERRED&ssl_ca=ca.pem", (Preferred, Chain)),
            (
                "ssl-mode=VERIFY_IDENTITY&ssl-ca=ca.pem",
                (VerifyIdentity, ChainAndName),
            ),
            // MariaDB's spellings.
            ("ssl=true", (Required, Nothing)),
            ("ssl=1&ssl-ca=ca.pem", (VerifyCa, Chain)),
            ("ssl=OFF", (Disabled, Nothing)),
            (
                "ssl-verify-server-cert=true",
                (VerifyIdentity, ChainAndName),
            ),
            (
                "ssl=yes&ssl_verify_server_cert=on",
                (VerifyIdentity, ChainAndName),
            ),
            ("ssl-verify-server-cert=false", (Preferred, Nothing)),
        ] {
            assert_eq!(mode(&format!("mysql://h/x?{query}")), expected, "{query}");
            // No TLS on a Unix socket, as libmysqlclient.
            let s = p(&format!("mysql://u@/x?socket=/s&{query}"));
            assert_eq!(
                (s.effective_ssl_mode(), s.check()),
                (Disabled, Nothing),
                "{query}"
            );
        }
        let s = p("mysql://h/x?ssl-mode=VERIFY_CA&ssl-ca=%2Fetc%2Fca%20x.pem");
        assert_eq!(s.ssl_ca.as_deref(), Some("/etc/ca x.pem"));
        assert_eq!(s.ssl_settings(), "ssl-mode=VERIFY_CA, ssl-ca=/etc/ca x.pem");
        assert_eq!(p("mysql://h/x?ssl-ca=").ssl_ca, None);
    }

    #[test]
    fn client_certificates() {
        let s = p("mysql://h/x?ssl-cert=c.pem&ssl-key=k.pem");
        assert_eq!(
            (s.ssl_cert.as_deref(), s.ssl_key.as_deref()),
            (Some("c.pem"), Some("k.pem"))
        );
        // One file with both, as libmysqlclient allows.
        let s = p("mysql://h/x?ssl-cert=both.pem");
        assert_eq!(s.ssl_key.as_deref(), Some("both.pem"));
        let e = err("mysql://h/x?sslkey=k.pem");
        assert!(e.contains("ssl-key needs ssl-cert"), "{e}");
        assert_eq!(p("mysql://h/x").ssl_cert, None);
    }

    #[test]
    fn ssl_mistakes_are_named() {
        let e = err("mysql://u:secret@h/x?ssl-mode=REQUIRED&ssl=true");
        assert!(e.contains("not both") && !e.contains("secret"), "{e}");
        let e = err("mysql://h/x?ssl=maybe");
        assert!(e.contains("ssl=maybe is not true or false"), "{e}");
        let e = err("mysql://h/x?ssl=0&ssl-verify-server-cert=1");
        assert!(e.contains("contradicts"), "{e}");
        let e = err("mysql://h/x?ssl-capath=/etc/ssl/certs");
        assert!(e.contains("ssl-capath is not supported"), "{e}");
        let e = err("mysql://h/x?tls=on");
        assert!(
            e.contains("unknown parameter 'tls'") && e.contains("ssl-mode"),
            "{e}"
        );
    }

    #[test]
    fn the_url_table() {
        use dump2py_model::url_cases::{check, Place, Seen};
        let parse = |url: &str| {
            let s = parse_with(url, &no_socket).map_err(|e| e.to_string())?;
            Ok(Seen {
                user: s.user.clone(),
                password: s.password.clone(),
                server: Some(match &s.socket {
                    Some(path) => Place::Socket(path.clone()),
                    None => Place::Host(s.host.clone()),
                }),
                port: Some(s.port),
                path: s.database.clone(),
                params: Vec::new(),
                shown: Some(dump2py_model::url::redact(url)),
            })
        };
        check("mysql", &parse, false);
        check("mariadb", &parse, false);
    }

    #[test]
    fn parameters_by_any_spelling_once() {
        let e = err("mysql://h/x?ssl-mode=REQUIRED&sslmode=DISABLED");
        assert!(e.contains("parameter 'sslmode' is given twice"), "{e}");
        let e = err("mysql://h/x?unix_socket=/a&socket=/b");
        assert!(e.contains("parameter 'socket' is given twice"), "{e}");
        let e = err("mysql://u@%2Frun%2Fa.sock/x?socket=/b");
        assert!(e.contains("not both"), "{e}");
        assert_eq!(
            p("mysql://h/x?SSL_CA=ca.pem").ssl_ca.as_deref(),
            Some("ca.pem")
        );
        assert_eq!(p("mysql://h/x?HOST=%2Fs").socket.as_deref(), Some("/s"));
        assert_eq!(p("mysql://u@h/x?Host=db2").host, "db2");
    }
}
