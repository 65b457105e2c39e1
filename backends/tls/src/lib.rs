//! TLS of the server sources (PostgreSQL, MariaDB/MySQL) over rustls,
//! crypto by ring: the one place that knows
//!
//! - the check modes ([`Mode`], [`Check`]): libpq's `sslmode` and the
//!   MySQL client's `ssl-mode` name the same five levels;
//! - the trusted roots ([`roots`]): a PEM file, or the system's;
//! - the client's identity ([`Identity`]): a certificate chain and an
//!   unencrypted private key, PEM;
//! - the checks of the server's certificate ([`client_config`]), with the
//!   self-signed certificate given as its own root accepted under
//!   `verify-ca`, as libpq (OpenSSL) accepts it;
//! - webpki's names in its errors ([`presented_name`]).
//!
//! Certificate files are read with a bound ([`read_small`]): a link to
//! `/dev/zero` is an error, not a hang. Every error is one sentence naming
//! the option and the file, in the backend's own option names
//! ([`Options`]); the backends add where the server is.

mod identity;
mod verify;

use std::net::IpAddr;
use std::path::Path;

use dump2py_model::files::{read_small, MAX_PEM};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;

pub use identity::Identity;
pub use verify::client_config;

/// The options of a backend's URL that name TLS files, for messages.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// The trusted CA certificates: `sslrootcert`, `ssl-ca`.
    pub root: &'static str,
    /// The client's certificate: `sslcert`, `ssl-cert`.
    pub cert: &'static str,
    /// The client's private key: `sslkey`, `ssl-key`.
    pub key: &'static str,
    /// The key is read from the certificate's file unless given (MySQL's
    /// `ssl-key`): a certificate file without one says so.
    pub key_in_cert: bool,
}

/// The five levels of libpq's `sslmode` and the MySQL client's
/// `ssl-mode` (`DISABLED`, `PREFERRED`, `REQUIRED`, `VERIFY_CA`,
/// `VERIFY_IDENTITY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Disable,
    /// TLS when the server offers it, else plain.
    Prefer,
    /// TLS.
    Require,
    /// TLS, the chain checked.
    VerifyCa,
    /// TLS, the chain and the host name checked.
    VerifyFull,
}

/// What the server's certificate is checked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Nothing,
    Chain,
    ChainAndName,
}

impl Mode {
    /// What a TLS connection in this mode checks; None without TLS. A
    /// root certificate given (`root_given`) makes `prefer` and `require`
    /// check the chain, as libpq does.
    pub fn check(self, root_given: bool) -> Option<Check> {
        Some(match self {
            Mode::Disable => return None,
            Mode::Prefer | Mode::Require if root_given => Check::Chain,
            Mode::Prefer | Mode::Require => Check::Nothing,
            Mode::VerifyCa => Check::Chain,
            Mode::VerifyFull => Check::ChainAndName,
        })
    }
}

/// The certificates of the PEM file `path`, given as `option`.
pub fn read_certs(option: &str, path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = read_small(Path::new(path), MAX_PEM)
        .map_err(|e| format!("can't read {option} {path}: {e}"))?;
    CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{option} {path}: not a PEM certificate file: {e}"))
}

/// The trusted roots.
#[derive(Debug, Clone)]
pub struct Roots {
    pub store: RootCertStore,
    /// The certificates `store` took as trust anchors.
    pub usable: Vec<CertificateDer<'static>>,
    /// Every certificate of the file given (none for the system's): a
    /// self-signed server certificate that is one of them is trusted as
    /// it is.
    pub given: Vec<CertificateDer<'static>>,
}

/// The trusted roots: the PEM file `file` (given as `options.root`), or
/// the system's. `mode` is the setting asking for them (`sslmode=verify-ca`),
/// for the message when the system has none.
pub fn roots(file: Option<&str>, options: &Options, mode: &str) -> Result<Roots, String> {
    let (certs, given) = match file {
        Some(path) => {
            let certs = read_certs(options.root, path)?;
            (certs.clone(), certs)
        }
        None => (rustls_native_certs::load_native_certs().certs, Vec::new()),
    };
    let mut store = RootCertStore::empty();
    let mut usable = Vec::new();
    for cert in certs {
        if store.add(cert.clone()).is_ok() {
            usable.push(cert);
        }
    }
    if usable.is_empty() {
        return Err(match file {
            Some(path) => format!("{} {path} holds no usable CA certificate", options.root),
            None => format!(
                "{mode} needs trusted root certificates: give {}=FILE \
                 (no system root certificates were found)",
                options.root
            ),
        });
    }
    Ok(Roots {
        store,
        usable,
        given,
    })
}

/// A name of webpki's `DnsName("x")` or `IpAddress(1.2.3.4)` (as in
/// `CertificateError::NotValidForNameContext`'s `presented`).
pub fn presented_name(p: &str) -> Option<String> {
    if let Some(dns) = p
        .strip_prefix("DnsName(\"")
        .and_then(|r| r.strip_suffix("\")"))
    {
        return Some(dns.to_string());
    }
    let ip = p.strip_prefix("IpAddress(")?.strip_suffix(')')?;
    ip.parse::<IpAddr>().ok().map(|ip| ip.to_string())
}

/// A name to check a certificate holding `name` for: a wildcard's
/// domain gets a label.
pub fn checkable(name: &str) -> String {
    match name.strip_prefix("*.") {
        Some(domain) => format!("dump2py.{domain}"),
        None => name.to_string(),
    }
}

#[cfg(test)]
mod tests;
