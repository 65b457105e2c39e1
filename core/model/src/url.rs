//! Database URLs, `scheme://user:password@host:port/path?key=value&…`: one
//! parser and one redaction for every source. [`DbUrl`] knows the syntax
//! only; what a parameter means is each source's business.

use std::fmt;

use crate::error::Error;

/// Encodes everything but unreserved characters (RFC 3986).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes; the error says what is wrong.
pub fn percent_decode(s: &str) -> Result<String, &'static str> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("bad %-escape")?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "not UTF-8 after %-decoding")
}

/// Whether a parameter holds a secret: `password`, `sslpassword`, …
pub fn is_secret(key: &str) -> bool {
    key.to_ascii_lowercase().ends_with("password")
}

/// The URL as it may be shown: the password in the user info and every
/// [secret](is_secret) parameter become `***`. Works on any text, parsed
/// or not: a password may hold an unencoded `/`, `?`, `#` or `@`, so all
/// from the user's `:` to the last `@` goes.
pub fn redact(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return redact_query(url);
    };
    let at = url.rfind('@').filter(|&at| at >= start);
    let (head, rest) = match at {
        Some(at) => match url[start..at].find(':') {
            Some(colon) => (format!("{}:***", &url[..start + colon]), &url[at..]),
            None => (url[..at].to_string(), &url[at..]),
        },
        None => (url[..start].to_string(), &url[start..]),
    };
    head + &redact_query(rest)
}

/// Hides the values of secret parameters after the first `?`.
fn redact_query(s: &str) -> String {
    let Some((head, query)) = s.split_once('?') else {
        return s.to_string();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if is_secret(k) => format!("{k}=***"),
            _ => kv.to_string(),
        })
        .collect();
    format!("{head}?{}", query.join("&"))
}

/// A usage error about `url`, shown redacted:
/// `database URL postgres://u:***@h/d: why`.
pub fn url_error(url: &str, why: impl fmt::Display) -> Error {
    Error::Usage(format!("database URL {}: {why}", redact(url)))
}

/// Why a URL can't be parsed. Never holds the password: the URL in it is
/// redacted and no part of the user info is quoted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("database URL {url}: {why}")]
pub struct UrlError {
    /// The URL, [redacted](redact).
    pub url: String,
    pub why: String,
}

impl From<UrlError> for Error {
    fn from(e: UrlError) -> Error {
        Error::Usage(e.to_string())
    }
}

/// Where the server is, by the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server<'a> {
    /// A host name or address (IPv6 without brackets).
    Host(&'a str),
    /// A path: a Unix socket, or libpq's directory of sockets.
    Socket(&'a str),
}

/// A parsed database URL. Values are decoded; `Display` shows it
/// [redacted](redact), [`DbUrl::unredacted`] with the password.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DbUrl {
    /// As written; sources compare it case-insensitively.
    pub scheme: String,
    /// None when not given or empty.
    pub user: Option<String>,
    pub password: Option<String>,
    /// The authority's host, without IPv6 brackets; None when empty. One
    /// starting with `/` (written `%2Frun%2F…`) is a socket path.
    pub host: Option<String>,
    pub port: Option<u16>,
    /// All after the authority's `/`; empty when none.
    pub path: String,
    /// In the order given, repeats kept; keys as written.
    pub params: Vec<(String, String)>,
}

impl DbUrl {
    pub fn new(scheme: &str) -> DbUrl {
        DbUrl {
            scheme: scheme.to_string(),
            ..DbUrl::default()
        }
    }

    /// Parses `url`. `#` is no fragment and `+` no space: both may be in a
    /// password.
    pub fn parse(url: &str) -> Result<DbUrl, UrlError> {
        let bad = |why: String| UrlError {
            url: redact(url),
            why,
        };
        let (scheme, rest) = url
            .split_once(':')
            .filter(|(s, _)| !s.is_empty())
            .ok_or_else(|| bad("no scheme".into()))?;
        let rest = rest
            .strip_prefix("//")
            .ok_or_else(|| bad("expected // after the scheme".into()))?;
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
            None => (None, authority),
        };
        let decode =
            |s: &str, what: &str| percent_decode(s).map_err(|why| bad(format!("{what}: {why}")));
        let mut out = DbUrl::new(scheme);
        if let Some(info) = userinfo {
            let (user, password) = match info.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (info, None),
            };
            out.user = Some(decode(user, "the user name")?).filter(|u| !u.is_empty());
            out.password = password.map(|p| decode(p, "the password")).transpose()?;
        }
        // A password's unencoded `/` or `?` ends the authority early: the
        // rest, to the `@`, would be read (and quoted) as path or parameter.
        let key_at = || {
            query
                .split('&')
                .any(|kv| kv.split('=').next().is_some_and(|k| k.contains('@')))
        };
        if userinfo.is_none() && authority.contains(':') && (path.contains('@') || key_at()) {
            return Err(bad(
                "an @ after the host: write / and ? in a password as %2F and %3F".into(),
            ));
        }
        if hostport.contains(',') {
            return Err(bad("several hosts are not supported: name one".into()));
        }
        let (host, port) = split_host_port(hostport).map_err(|why| bad(why.into()))?;
        out.host = Some(decode(host, "the host")?).filter(|h| !h.is_empty());
        // Nor is a port quoted back then.
        let spilled = path.contains('@') || query.contains('@');
        out.port = match port.filter(|p| !p.is_empty()) {
            None => None,
            Some(p) => Some(port_number(p).map_err(|why| match spilled {
                true => bad(PORT_RANGE.into()),
                false => bad(why),
            })?),
        };
        out.path = decode(path, "the path")?;
        out.params = parse_query(query).map_err(bad)?;
        Ok(out)
    }

    /// The server: the last `host` parameter (in any case) wins over the
    /// authority's host (libpq's rule; site metadata writes a socket so);
    /// None when neither names one.
    pub fn server(&self) -> Option<Server<'_>> {
        let host = match self
            .params
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case("host"))
        {
            Some((_, v)) => Some(v.as_str()).filter(|v| !v.is_empty()),
            None => self.host.as_deref(),
        }?;
        Some(if host.starts_with('/') {
            Server::Socket(host)
        } else {
            Server::Host(host)
        })
    }

    /// The first parameter given a second time, the keys compared by
    /// `canonical` (a source's spelling rules and aliases).
    pub fn repeated(&self, canonical: impl Fn(&str) -> String) -> Option<&str> {
        let mut seen = Vec::new();
        for (key, _) in &self.params {
            let c = canonical(key);
            if seen.contains(&c) {
                return Some(key);
            }
            seen.push(c);
        }
        None
    }

    pub fn push_param(&mut self, key: &str, value: impl Into<String>) {
        self.params.push((key.to_string(), value.into()));
    }

    /// The whole URL, password included: to be opened, never shown.
    pub fn unredacted(&self) -> String {
        let mut url = format!("{}://", self.scheme);
        if let Some(user) = &self.user {
            url.push_str(&percent_encode(user));
            if let Some(password) = &self.password {
                url.push(':');
                url.push_str(&percent_encode(password));
            }
            url.push('@');
        }
        match self.host.as_deref() {
            Some(h) if h.contains(':') => url.push_str(&format!("[{h}]")),
            Some(h) => url.push_str(&percent_encode(h)),
            None => {}
        }
        if let Some(port) = self.port {
            url.push_str(&format!(":{port}"));
        }
        if !self.path.is_empty() {
            url.push('/');
            url.push_str(&percent_encode(&self.path));
        }
        for (i, (key, value)) in self.params.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(key);
            url.push('=');
            url.push_str(&percent_encode(value));
        }
        url
    }

    /// The URL as it may be shown.
    pub fn redacted(&self) -> String {
        redact(&self.unredacted())
    }
}

impl fmt::Display for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// `key=value&…` (after the `?`) → the pairs in order, values decoded; a
/// key without `=` has an empty value.
pub fn parse_query(query: &str) -> Result<Vec<(String, String)>, String> {
    let mut params = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value).map_err(|why| format!("{key}: {why}"))?;
        params.push((key.to_string(), value));
    }
    Ok(params)
}

const PORT_RANGE: &str = "the port is not a number from 1 to 65535";

/// A port from 1 to 65535. Only digits are quoted back: other text may be
/// part of a password with an unencoded `/`.
pub fn port_number(p: &str) -> Result<u16, String> {
    match p.parse::<u16>() {
        Ok(n) if n > 0 => Ok(n),
        _ if p.bytes().all(|b| b.is_ascii_digit()) => {
            Err(format!("the port \"{p}\" is not a number from 1 to 65535"))
        }
        _ => Err(PORT_RANGE.into()),
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port` → host and port text.
fn split_host_port(s: &str) -> Result<(&str, Option<&str>), &'static str> {
    let Some(v6) = s.strip_prefix('[') else {
        return Ok(match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        });
    };
    let (host, after) = v6
        .split_once(']')
        .ok_or("an IPv6 host lacks its closing ]")?;
    match after {
        "" => Ok((host, None)),
        _ => Ok((
            host,
            Some(
                after
                    .strip_prefix(':')
                    .ok_or("unexpected text after the IPv6 host")?,
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for s in ["p@ss:w/rd?#", "ümlaut", "plain-._~", ""] {
            assert_eq!(percent_decode(&percent_encode(s)).as_deref(), Ok(s));
        }
        assert_eq!(percent_encode("a b"), "a%20b");
        assert!(percent_decode("%zz").is_err());
        assert!(percent_decode("%ff").is_err());
    }

    #[test]
    fn hides_passwords() {
        for (url, shown) in [
            ("postgres://u:s3cr%40t@h:5/db", "postgres://u:***@h:5/db"),
            ("mysql://u@h/db", "mysql://u@h/db"),
            ("sqlite:a@b:c.db", "sqlite:a@b:c.db"),
            (
                "postgres://h/db?user=u&password=x&sslmode=require",
                "postgres://h/db?user=u&password=***&sslmode=require",
            ),
            (
                "postgres://h/db?sslkey=k&SSLPassword=x",
                "postgres://h/db?sslkey=k&SSLPassword=***",
            ),
            // Unencoded in the password: all to the last @ goes.
            ("mysql://u:p#w@h/db", "mysql://u:***@h/db"),
            ("mysql://u:p?w/x@h/db?a=b", "mysql://u:***@h/db?a=b"),
            ("mysql://u:p@w@h/db", "mysql://u:***@h/db"),
            ("mysql://u@h/db?password=x", "mysql://u@h/db?password=***"),
            ("mysql://h/db", "mysql://h/db"),
            ("x:?password=y", "x:?password=***"),
        ] {
            assert_eq!(redact(url), shown, "{url}");
        }
    }

    #[test]
    fn renders_what_it_parses() {
        let mut u = DbUrl::new("postgres");
        u.user = Some("u@x".into());
        u.password = Some("p:w/d".into());
        u.host = Some("::1".into());
        u.port = Some(5433);
        u.path = "my db".into();
        u.push_param("sslrootcert", "/etc/ca x.pem");
        u.push_param("sslpassword", "pw");
        let full = u.unredacted();
        assert_eq!(
            full,
            "postgres://u%40x:p%3Aw%2Fd@[::1]:5433/my%20db?sslrootcert=%2Fetc%2Fca%20x.pem\
             &sslpassword=pw"
        );
        assert_eq!(DbUrl::parse(&full).as_ref(), Ok(&u));
        assert_eq!(
            u.to_string(),
            "postgres://u%40x:***@[::1]:5433/my%20db?sslrootcert=%2Fetc%2Fca%20x.pem\
             &sslpassword=***"
        );
        // A socket host is written percent-encoded, and read back.
        let mut u = DbUrl::new("mysql");
        u.host = Some("/run/m.sock".into());
        assert_eq!(u.unredacted(), "mysql://%2Frun%2Fm.sock");
        assert_eq!(
            DbUrl::parse(&u.unredacted())
                .ok()
                .and_then(|u| u.server().map(|s| s == Server::Socket("/run/m.sock"))),
            Some(true)
        );
    }

    #[test]
    fn repeats_by_a_sources_rules() {
        let u = DbUrl::parse("x://h/d?ssl-mode=a&SSL_MODE=b").unwrap_or_default();
        assert_eq!(u.repeated(|k| k.to_string()), None);
        let canon = |k: &str| k.to_ascii_lowercase().replace('-', "_");
        assert_eq!(u.repeated(canon), Some("SSL_MODE"));
    }

    #[test]
    fn the_table() {
        crate::url_cases::check(
            "x",
            &|url| {
                DbUrl::parse(url)
                    .map(|u| crate::url_cases::Seen::of(&u))
                    .map_err(|e| e.to_string())
            },
            true,
        );
    }
}
