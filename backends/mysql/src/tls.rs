//! TLS for mysql_async over rustls (crypto by ring), with the MySQL
//! client's `ssl-mode` meanings. mysql_async builds the rustls settings
//! itself from [`SslOpts`]; the files are read and checked here first, so
//! that a mistake names the file, and rustls' errors become sentences.

use std::net::IpAddr;
use std::path::Path;

use dump2py_model::files::{read_small, MAX_PEM};

use base64::Engine;
use mysql_async::{ClientIdentity, SslOpts};
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{CertificateError, RootCertStore};

use crate::url::{Check, ConnSpec, SslMode};

/// The TLS settings `spec` asks for; None without TLS. The error is a
/// sentence naming the trouble (an unreadable file, no roots).
pub(crate) fn ssl_opts(spec: &ConnSpec) -> Result<Option<SslOpts>, String> {
    if spec.effective_ssl_mode() == SslMode::Disabled {
        return Ok(None);
    }
    // mysql_async builds its rustls config with the process-wide provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let opts = match spec.check() {
        // The built-in roots stay: mysql_async wants some, though unused.
        Check::Nothing => SslOpts::default().with_danger_accept_invalid_certs(true),
        check => SslOpts::default()
            .with_disable_built_in_roots(true)
            .with_root_certs(roots(spec)?.into_iter().map(Into::into).collect())
            // Not honoured by mysql_async 0.37.1 (its check misses rustls'
            // current error); `trusted_names` covers for it.
            .with_danger_skip_domain_validation(check == Check::Chain),
    };
    let identity = match (&spec.ssl_cert, &spec.ssl_key) {
        (Some(cert), Some(key)) => Some(identity(cert, key)?),
        _ => None,
    };
    Ok(Some(opts.with_client_identity(identity)))
}

/// The trusted roots, as DER: the PEM file `ssl-ca`, or the system's.
fn roots(spec: &ConnSpec) -> Result<Vec<Vec<u8>>, String> {
    let certs = match &spec.ssl_ca {
        Some(path) => {
            let pem = read_small(Path::new(path), MAX_PEM)
                .map_err(|e| format!("can't read ssl-ca {path}: {e}"))?;
            CertificateDer::pem_slice_iter(&pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("ssl-ca {path}: not a PEM certificate file: {e}"))?
        }
        None => rustls_native_certs::load_native_certs().certs,
    };
    // Only what rustls takes as a trust anchor: mysql_async fails on any other.
    let usable: Vec<Vec<u8>> = certs
        .into_iter()
        .filter(|c| RootCertStore::empty().add(c.clone()).is_ok())
        .map(|c| c.to_vec())
        .collect();
    if usable.is_empty() {
        return Err(match &spec.ssl_ca {
            Some(path) => format!("ssl-ca {path} holds no usable CA certificate"),
            None => format!(
                "ssl-mode={} needs trusted root certificates: give ssl-ca=FILE \
                 (no system root certificates were found)",
                spec.ssl_mode.name()
            ),
        });
    }
    Ok(usable)
}

/// The client's certificate chain and key, checked, as PEM.
fn identity(cert: &str, key: &str) -> Result<ClientIdentity, String> {
    let read = |what: &str, path: &str| {
        read_small(Path::new(path), MAX_PEM).map_err(|e| format!("can't read {what} {path}: {e}"))
    };
    let cert_pem = read("ssl-cert", cert)?;
    let certs = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("ssl-cert {cert}: not a PEM certificate file: {e}"))?;
    if certs.is_empty() {
        return Err(format!("ssl-cert {cert} holds no PEM certificate"));
    }
    let key_pem = if key == cert {
        cert_pem.clone()
    } else {
        read("ssl-key", key)?
    };
    let private = match PrivateKeyDer::from_pem_slice(&key_pem) {
        Ok(k) => k,
        Err(pem::Error::NoItemsFound) if key == cert => {
            return Err(format!(
                "ssl-cert {cert} holds no private key: give ssl-key=FILE"
            ))
        }
        Err(pem::Error::NoItemsFound) => {
            return Err(format!("ssl-key {key} holds no PEM private key"))
        }
        Err(e) => return Err(format!("ssl-key {key}: not a PEM key file: {e}")),
    };
    // What mysql_async will do with them, tried now to name the files.
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("can't set up TLS: {e}"))?
        .with_root_certificates(RootCertStore::empty())
        .with_client_auth_cert(certs.clone(), private.clone_key())
        .map_err(|e| format!("ssl-cert {cert} with ssl-key {key}: {e}"))?;
    let label = match &private {
        PrivateKeyDer::Pkcs1(_) => "RSA PRIVATE KEY",
        PrivateKeyDer::Sec1(_) => "EC PRIVATE KEY",
        _ => "PRIVATE KEY",
    };
    let chain: String = certs.iter().map(|c| pem_text("CERTIFICATE", c)).collect();
    Ok(ClientIdentity::new(
        chain.into_bytes().into(),
        pem_text(label, private.secret_der()).into_bytes().into(),
    ))
}

fn pem_text(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out + &format!("-----END {label}-----\n")
}

/// The rustls error behind a failed connection, if TLS failed.
pub(crate) fn rustls_error(e: &mysql_async::Error) -> Option<&rustls::Error> {
    match e {
        mysql_async::Error::Io(mysql_async::IoError::Io(io)) => {
            io.get_ref()?.downcast_ref::<rustls::Error>()
        }
        mysql_async::Error::Io(mysql_async::IoError::Tls(mysql_async::TlsError::Tls(r))) => Some(r),
        _ => None,
    }
}

/// The server had no TLS to offer.
pub(crate) fn not_offered(e: &mysql_async::Error) -> bool {
    matches!(
        e,
        mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer)
    )
}

/// The names the certificate holds, when it failed only for the host
/// name: rustls checks the chain first, so it is trusted. None for any
/// other failure.
pub(crate) fn trusted_names(e: &mysql_async::Error) -> Option<Vec<String>> {
    match rustls_error(e)? {
        rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
            presented,
            ..
        }) => Some(presented.iter().filter_map(|p| presented_name(p)).collect()),
        rustls::Error::InvalidCertificate(CertificateError::NotValidForName) => Some(Vec::new()),
        _ => None,
    }
}

/// A name of webpki's `DnsName("x")` or `IpAddress(1.2.3.4)`.
fn presented_name(p: &str) -> Option<String> {
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
pub(crate) fn checkable(name: &str) -> String {
    match name.strip_prefix("*.") {
        Some(domain) => format!("dump2py.{domain}"),
        None => name.to_string(),
    }
}

/// Why TLS failed, as a sentence (without the place).
pub(crate) fn explain(spec: &ConnSpec, e: &rustls::Error) -> String {
    let settings = spec.ssl_settings();
    let rustls::Error::InvalidCertificate(c) = e else {
        // The user may not have asked for TLS: say how to do without.
        let hint = match spec.ssl_mode {
            SslMode::Preferred if spec.ssl_ca.is_none() => {
                "; ssl-mode=DISABLED connects without TLS"
            }
            _ => "",
        };
        return format!("the TLS handshake failed: {e} ({settings}){hint}");
    };
    match c {
        CertificateError::UnknownIssuer if spec.ssl_ca.is_some() => format!(
            "the server's certificate is not trusted: no CA of ssl-ca issued it ({settings})"
        ),
        CertificateError::UnknownIssuer => format!(
            "the server's certificate is not trusted: no CA of the system's root \
             certificates issued it ({settings}); give ssl-ca=FILE"
        ),
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            let names: Vec<String> = match c {
                CertificateError::NotValidForNameContext { presented, .. } => {
                    presented.iter().filter_map(|p| presented_name(p)).collect()
                }
                _ => Vec::new(),
            };
            if names.is_empty() {
                format!(
                    "the server's certificate names no host (no subjectAltName), which \
                     rustls needs to check it ({settings}); use ssl-mode=REQUIRED"
                )
            } else {
                format!(
                    "the server's certificate is not valid for the name {} (it names {}) \
                     ({settings}); connect by a name it holds, or use ssl-mode=VERIFY_CA",
                    spec.host,
                    names.join(", ")
                )
            }
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            format!("the server's certificate has expired ({settings})")
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            format!("the server's certificate is not valid yet ({settings})")
        }
        other => format!("the server's certificate is not accepted: {other} ({settings})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_webpki() {
        assert_eq!(
            presented_name("DnsName(\"db.example\")").as_deref(),
            Some("db.example")
        );
        assert_eq!(
            presented_name("IpAddress(127.0.0.1)").as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(presented_name("IpAddress(0::1)").as_deref(), Some("::1"));
        assert_eq!(presented_name("DirectoryName"), None);
        assert_eq!(checkable("*.example.org"), "dump2py.example.org");
        assert_eq!(checkable("localhost"), "localhost");
    }

    #[test]
    fn pem_round_trip() {
        let der: Vec<u8> = (0..=255).collect();
        let text = pem_text("CERTIFICATE", &der);
        let back: Vec<_> = CertificateDer::pem_slice_iter(text.as_bytes())
            .filter_map(|c| c.ok())
            .collect();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].as_ref(), &der[..]);
    }

    fn opts(url: &str) -> Result<Option<SslOpts>, String> {
        let spec = crate::url::parse_with(url, &|_| false).map_err(|e| e.to_string())?;
        ssl_opts(&spec)
    }

    #[test]
    fn settings_for_each_mode() {
        assert_eq!(opts("mysql://h/x?ssl-mode=DISABLED"), Ok(None));
        assert_eq!(opts("mysql://u@/x?socket=/s&ssl-mode=REQUIRED"), Ok(None));
        let o = opts("mysql://h/x").ok().flatten();
        assert!(o.is_some_and(|o| o.accept_invalid_certs() && o.client_identity().is_none()));
        let o = opts("mysql://h/x?ssl-mode=REQUIRED").ok().flatten();
        assert!(o.is_some_and(|o| o.accept_invalid_certs()));
        let e = opts("mysql://h/x?ssl-mode=VERIFY_CA&ssl-ca=/no/such/ca.pem");
        assert!(
            e.as_ref()
                .is_err_and(|e| e.starts_with("can't read ssl-ca /no/such/ca.pem: ")),
            "{e:?}"
        );
        let e = opts("mysql://h/x?ssl-cert=/no/such/c.pem");
        assert!(
            e.as_ref()
                .is_err_and(|e| e.starts_with("can't read ssl-cert /no/such/c.pem: ")),
            "{e:?}"
        );
    }
}
