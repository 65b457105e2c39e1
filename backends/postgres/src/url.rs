//! `postgres://user:password@host:port/dbname?param=value` → connection
//! settings, with libpq's parameter names. Parsed here rather than by
//! tokio-postgres so that every mistake gets a clear, password-free message.

use std::time::Duration;

use dump2py_model::error::Result;
use dump2py_model::url::{port_number, url_error as usage, DbUrl, Server};

/// Where libpq (as built by Debian) looks for the server's socket when no
/// host is given.
const DEFAULT_SOCKET_DIR: &str = "/var/run/postgresql";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Tcp(String),
    /// A directory holding the server's `.s.PGSQL.<port>` socket.
    Socket(String),
}

/// libpq's `sslmode`, `allow` read as `prefer` (TLS when the server offers
/// it, else plain).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    /// TLS; the certificate is not checked (unless `sslrootcert` is given:
    /// then as `VerifyCa`, as libpq does).
    Require,
    /// TLS; the chain checked against `sslrootcert` or the system's roots.
    VerifyCa,
    /// `VerifyCa` and the host name checked against the certificate.
    VerifyFull,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectSpec {
    pub host: Host,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
    pub dbname: String,
    pub connect_timeout: Duration,
    pub application_name: Option<String>,
    pub options: Option<String>,
    pub ssl_mode: SslMode,
    /// `sslrootcert`: a PEM file of trusted CA certificates, or `system`.
    pub ssl_root_cert: Option<String>,
    /// `sslcert` and `sslkey`: the client's certificate (chain) and its
    /// unencrypted private key, PEM files; both or neither. Unlike libpq,
    /// `~/.postgresql/postgresql.crt` is never read unasked.
    pub ssl_cert: Option<String>,
    pub ssl_key: Option<String>,
}

const PARAMS: &[&str] = &[
    "host",
    "port",
    "user",
    "password",
    "dbname",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "connect_timeout",
    "application_name",
    "options",
];

impl ConnectSpec {
    /// `host:port`, or the socket's path, for messages.
    pub fn location(&self) -> String {
        match &self.host {
            Host::Tcp(h) if h.contains(':') => format!("[{h}]:{}", self.port),
            Host::Tcp(h) => format!("{h}:{}", self.port),
            Host::Socket(dir) => format!("{}/.s.PGSQL.{}", dir.trim_end_matches('/'), self.port),
        }
    }

    /// The URL without its password, for headers and messages.
    pub fn describe(&self) -> String {
        let mut url = DbUrl::new("postgres");
        url.user = Some(self.user.clone());
        url.path = self.dbname.clone();
        match &self.host {
            Host::Tcp(h) => {
                url.host = Some(h.clone());
                url.port = Some(self.port);
            }
            Host::Socket(dir) => {
                url.push_param("host", dir.as_str());
                url.push_param("port", self.port.to_string());
            }
        }
        url.to_string()
    }

    /// The mode in effect: libpq uses no TLS on a Unix socket.
    pub fn effective_ssl_mode(&self) -> SslMode {
        match self.host {
            Host::Socket(_) => SslMode::Disable,
            Host::Tcp(_) => self.ssl_mode,
        }
    }

    fn tokio_ssl_mode(&self) -> tokio_postgres::config::SslMode {
        use tokio_postgres::config::SslMode as T;
        match self.effective_ssl_mode() {
            SslMode::Disable => T::Disable,
            SslMode::Prefer => T::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => T::Require,
        }
    }

    pub fn config(&self) -> tokio_postgres::Config {
        let mut c = tokio_postgres::Config::new();
        match &self.host {
            Host::Tcp(h) => c.host(h),
            Host::Socket(dir) => c.host_path(dir),
        };
        c.port(self.port)
            .user(&self.user)
            .dbname(&self.dbname)
            .connect_timeout(self.connect_timeout)
            .ssl_mode(self.tokio_ssl_mode())
            .application_name(self.application_name.as_deref().unwrap_or("dump2py"));
        if let Some(p) = &self.password {
            c.password(p);
        }
        if let Some(o) = &self.options {
            c.options(o);
        }
        c
    }
}

/// Parses the URL; `env` gives the defaults libpq takes from the
/// environment (`PGPASSWORD`, `USER`).
pub fn parse(url: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<ConnectSpec> {
    if !url.contains("://") {
        return Err(usage(
            url,
            "expected postgres://[user[:password]@][host][:port]/dbname",
        ));
    }
    let parsed = DbUrl::parse(url).map_err(|e| usage(url, e.why))?;
    let scheme = &parsed.scheme;
    if !matches!(
        scheme.to_ascii_lowercase().as_str(),
        "postgres" | "postgresql"
    ) {
        return Err(usage(url, format!("scheme {scheme}: is not postgres:")));
    }
    if let Some(key) = parsed.repeated(str::to_string) {
        return Err(usage(url, format!("parameter '{key}' is given twice")));
    }
    let mut user = parsed.user.clone();
    let mut password = parsed.password.clone();
    let mut port = parsed.port;
    let mut dbname = Some(parsed.path.clone()).filter(|d| !d.is_empty());
    let mut timeout = Duration::from_secs(10);
    let mut application_name = None;
    let mut options = None;
    let mut ssl_mode = None;
    let mut ssl_root_cert = None;
    let (mut ssl_cert, mut ssl_key) = (None, None);
    for (k, v) in &parsed.params {
        let v = v.clone();
        match k.as_str() {
            // Read by `server` below.
            "host" => {}
            "port" => port = Some(port_number(&v).map_err(|why| usage(url, why))?),
            "user" => user = Some(v),
            "password" => password = Some(v),
            "dbname" => dbname = Some(v),
            "sslmode" => {
                ssl_mode = Some(match v.as_str() {
                    "disable" => SslMode::Disable,
                    "allow" | "prefer" => SslMode::Prefer,
                    "require" => SslMode::Require,
                    "verify-ca" => SslMode::VerifyCa,
                    "verify-full" => SslMode::VerifyFull,
                    _ => {
                        return Err(usage(
                            url,
                            format!(
                                "sslmode={v} is not one of disable, allow, prefer, require, \
                                 verify-ca, verify-full"
                            ),
                        ))
                    }
                })
            }
            "sslrootcert" => ssl_root_cert = (!v.is_empty()).then_some(v),
            "sslcert" => ssl_cert = (!v.is_empty()).then_some(v),
            "sslkey" => ssl_key = (!v.is_empty()).then_some(v),
            "sslpassword" => {
                return Err(usage(
                    url,
                    "sslpassword: encrypted keys are not supported; give sslkey an \
                     unencrypted key (openssl pkey -in KEY -out PLAIN)",
                ))
            }
            "connect_timeout" => {
                let secs: u64 = v.parse().map_err(|_| {
                    usage(
                        url,
                        format!("connect_timeout={v} is not a number of seconds"),
                    )
                })?;
                // libpq treats 0 as "wait forever"; a dump wants an answer.
                timeout = Duration::from_secs(if secs == 0 { 10 } else { secs.max(2) });
            }
            "application_name" => application_name = Some(v),
            "options" => options = Some(v),
            _ => {
                return Err(usage(
                    url,
                    format!("unknown parameter {k}; known: {}", PARAMS.join(", ")),
                ))
            }
        }
    }
    // As libpq: the system's roots are for verify-full only, its default.
    let ssl_mode = match (ssl_mode, ssl_root_cert.as_deref()) {
        (None | Some(SslMode::VerifyFull), Some("system")) => SslMode::VerifyFull,
        (Some(_), Some("system")) => {
            return Err(usage(
                url,
                "sslrootcert=system needs sslmode=verify-full (a weaker mode would trust any \
                 certificate the system trusts for any name)",
            ))
        }
        (mode, _) => mode.unwrap_or(SslMode::Prefer),
    };
    // libpq would look for the other in ~/.postgresql; only what is given
    // is used here, so one without the other is a mistake.
    match (&ssl_cert, &ssl_key) {
        (Some(_), None) => {
            return Err(usage(
                url,
                "sslcert needs sslkey=FILE (the client certificate's private key)",
            ))
        }
        (None, Some(_)) => {
            return Err(usage(
                url,
                "sslkey needs sslcert=FILE (the client certificate)",
            ))
        }
        _ => {}
    }
    let host = match parsed.server() {
        Some(Server::Socket(dir)) => Host::Socket(dir.into()),
        Some(Server::Host(h)) => Host::Tcp(h.into()),
        None if std::path::Path::new(DEFAULT_SOCKET_DIR).is_dir() => {
            Host::Socket(DEFAULT_SOCKET_DIR.into())
        }
        None => Host::Tcp("localhost".into()),
    };
    let user = user
        .or_else(|| env("PGUSER"))
        .or_else(|| env("USER"))
        .unwrap_or_else(|| "postgres".into());
    let password = password.or_else(|| env("PGPASSWORD"));
    // Not libpq's default (the user's name): a backup of `postgres://h`
    // would be the maintenance database `postgres`, without a word.
    let Some(dbname) = dbname.filter(|d| !d.is_empty()) else {
        return Err(usage(
            url,
            "names no database: add it, postgres://[user@]host[:port]/DBNAME",
        ));
    };
    Ok(ConnectSpec {
        host,
        port: port.unwrap_or(5432),
        dbname,
        user,
        password,
        connect_timeout: timeout,
        application_name,
        options,
        ssl_mode,
        ssl_root_cert,
        ssl_cert,
        ssl_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn p(url: &str) -> ConnectSpec {
        match parse(url, &no_env) {
            Ok(s) => s,
            Err(e) => panic!("{url}: {e}"),
        }
    }

    fn err(url: &str) -> String {
        parse(url, &no_env)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn parts() {
        let s = p("postgres://u%40x:s3cr%3At@db.example:6543/my%20db?sslmode=disable");
        assert_eq!(s.host, Host::Tcp("db.example".into()));
        assert_eq!((s.port, s.user.as_str()), (6543, "u@x"));
        assert_eq!(s.password.as_deref(), Some("s3cr:t"));
        assert_eq!(s.dbname, "my db");
        assert_eq!(s.location(), "db.example:6543");
        assert_eq!(s.describe(), "postgres://u%40x@db.example:6543/my%20db");
        let s = p("postgresql://[::1]:5433/d?user=me&connect_timeout=3");
        assert_eq!(s.location(), "[::1]:5433");
        assert_eq!(s.user, "me");
        assert_eq!(s.connect_timeout, Duration::from_secs(3));
    }

    #[test]
    fn unix_sockets() {
        let s = p("postgres://u@%2Fvar%2Frun%2Fpostgresql/d");
        assert_eq!(s.host, Host::Socket("/var/run/postgresql".into()));
        assert_eq!(s.location(), "/var/run/postgresql/.s.PGSQL.5432");
        let s = p("postgres:///d?host=/tmp&port=5444");
        assert_eq!(s.host, Host::Socket("/tmp".into()));
        assert_eq!(s.location(), "/tmp/.s.PGSQL.5444");
        assert!(!s.describe().contains("password"));
    }

    #[test]
    fn defaults() {
        let env = |k: &str| match k {
            "USER" => Some("alice".to_string()),
            "PGPASSWORD" => Some("pw".to_string()),
            _ => None,
        };
        let s = parse("postgres://h/d", &env).map_err(|e| e.to_string());
        let s = s
            .as_ref()
            .map(|s| (s.user.as_str(), s.dbname.as_str(), s.port));
        assert_eq!(s, Ok(("alice", "d", 5432)));
        let s = parse("postgres://h/d", &env).ok().and_then(|s| s.password);
        assert_eq!(s.as_deref(), Some("pw"));
    }

    /// A backup names its database: never libpq's default, the user's
    /// name (`postgres`, the maintenance database, for `postgres@h`).
    #[test]
    fn a_url_without_a_database_is_refused() {
        for url in [
            "postgres://postgres@127.0.0.1",
            "postgres://postgres@127.0.0.1/",
            "postgresql://u:hunter2@h:5433/?sslmode=disable",
            "postgres://h/?dbname=",
        ] {
            let e = err(url);
            assert!(e.contains("names no database"), "{url}: {e}");
            assert!(!e.contains("hunter2"), "{e}");
        }
        assert_eq!(p("postgres://h?dbname=x").dbname, "x");
    }

    #[test]
    fn mistakes_are_named_without_the_password() {
        let e = err("postgres://u:hunter2@h:99999/d");
        assert!(e.contains("port \"99999\""), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        let e = err("postgres://u:hunter2@h/d?sslmode=strict");
        assert!(e.contains("sslmode=strict is not one of"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        let e = err("postgres://h/d?password=hunter2&colour=red");
        assert!(e.contains("unknown parameter colour"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        assert!(err("postgres://a,b/d").contains("several hosts"));
        assert!(err("mysql://h/d").contains("not postgres"));
        assert!(err("postgres://h/%zz").contains("bad %-escape"));
    }

    #[test]
    fn ssl_parameters() {
        use tokio_postgres::config::SslMode as T;
        let s = p("postgres://h/d");
        assert_eq!((s.ssl_mode, s.ssl_root_cert), (SslMode::Prefer, None));
        for (mode, ours, theirs) in [
            ("disable", SslMode::Disable, T::Disable),
            ("allow", SslMode::Prefer, T::Prefer),
            ("prefer", SslMode::Prefer, T::Prefer),
            ("require", SslMode::Require, T::Require),
            ("verify-ca", SslMode::VerifyCa, T::Require),
            ("verify-full", SslMode::VerifyFull, T::Require),
        ] {
            let s = p(&format!("postgres://h/d?sslmode={mode}"));
            assert_eq!(s.ssl_mode, ours, "{mode}");
            assert_eq!(s.config().get_ssl_mode(), theirs, "{mode}");
            // No TLS on a Unix socket, as libpq.
            let s = p(&format!("postgres:///d?host=/tmp&sslmode={mode}"));
            assert_eq!(s.effective_ssl_mode(), SslMode::Disable, "{mode}");
            assert_eq!(s.config().get_ssl_mode(), T::Disable, "{mode}");
        }
        let s = p("postgres://h/d?sslmode=verify-full&sslrootcert=%2Fetc%2Fca%20x.pem");
        assert_eq!(s.ssl_root_cert.as_deref(), Some("/etc/ca x.pem"));
        assert_eq!(p("postgres://h/d?sslrootcert=").ssl_root_cert, None);
        // The order of the parameters does not matter.
        let s = p("postgres://h/d?sslrootcert=ca.pem&sslmode=require");
        assert_eq!(
            (s.ssl_mode, s.ssl_root_cert.as_deref()),
            (SslMode::Require, Some("ca.pem"))
        );
        assert_eq!(
            p("postgres://h/d?sslrootcert=system").ssl_mode,
            SslMode::VerifyFull
        );
        let e = err("postgres://h/d?sslrootcert=system&sslmode=require");
        assert!(
            e.contains("sslrootcert=system needs sslmode=verify-full"),
            "{e}"
        );
        assert!(err("postgres://h/d?sslmode=verify_full").contains("verify-ca, verify-full"));
        assert!(err("postgres://h/d?sslcrl=x").contains("known: host, port"));
    }

    #[test]
    fn client_certificates() {
        let s = p("postgres://h/d");
        assert_eq!((s.ssl_cert, s.ssl_key), (None, None));
        let s = p(
            "postgres://h/d?sslcert=%2Fhome%2Fme%2Fcl.crt&sslkey=cl%20x.key&sslmode=verify-full",
        );
        assert_eq!(
            (s.ssl_cert.as_deref(), s.ssl_key.as_deref()),
            (Some("/home/me/cl.crt"), Some("cl x.key"))
        );
        assert_eq!(s.ssl_mode, SslMode::VerifyFull);
        // The same file may hold both.
        let s = p("postgres://h/d?sslkey=both.pem&sslcert=both.pem");
        assert_eq!(s.ssl_cert, s.ssl_key);
        // Empty is not given, as for sslrootcert.
        let s = p("postgres://h/d?sslcert=&sslkey=");
        assert_eq!((s.ssl_cert, s.ssl_key), (None, None));
        // Never libpq's ~/.postgresql defaults: one without the other is
        // an error, by name.
        let e = err("postgres://u:hunter2@h/d?sslcert=cl.crt");
        assert!(e.contains("sslcert needs sslkey=FILE"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        let e = err("postgres://h/d?sslkey=cl.key&sslcert=");
        assert!(e.contains("sslkey needs sslcert=FILE"), "{e}");
        // No passphrases, and the passphrase is never shown.
        let e = err("postgres://u:hunter2@h/d?sslcert=c&sslkey=k&sslpassword=hunter3");
        assert!(e.contains("encrypted keys are not supported"), "{e}");
        assert!(e.contains("sslpassword=***"), "{e}");
        assert!(!e.contains("hunter2") && !e.contains("hunter3"), "{e}");
        let e = err("postgres://h/d?SSLPASSWORD=hunter3&colour=red");
        assert!(e.contains("unknown parameter SSLPASSWORD"), "{e}");
        assert!(!e.contains("hunter3"), "{e}");
    }

    #[test]
    fn the_url_table() {
        use dump2py_model::url_cases::{check, Place, Seen};
        let parse = |url: &str| {
            let s = parse(url, &no_env).map_err(|e| e.to_string())?;
            Ok(Seen {
                user: Some(s.user.clone()),
                password: s.password.clone(),
                server: Some(match &s.host {
                    Host::Tcp(h) => Place::Host(h.clone()),
                    Host::Socket(d) => Place::Socket(d.clone()),
                }),
                port: Some(s.port),
                path: s.dbname.clone(),
                params: Vec::new(),
                shown: Some(s.describe()),
            })
        };
        check("postgres", &parse, false);
        check("postgresql", &parse, false);
    }
}
