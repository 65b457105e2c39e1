//! TLS for mysql_async over rustls (crypto by ring), with the MySQL
//! client's `ssl-mode` meanings. mysql_async builds the rustls settings
//! itself from [`SslOpts`]; the files are read and checked here first, so
//! that a mistake names the file, and rustls' errors become sentences.

use dump2py_tls::{Identity, Options};
use mysql_async::{ClientIdentity, SslOpts};
use rustls::CertificateError;

use crate::url::{Check, ConnSpec, SslMode};

/// The MySQL client's names of the TLS files.
const MYSQL: Options = Options {
    root: "ssl-ca",
    cert: "ssl-cert",
    key: "ssl-key",
    key_in_cert: true,
};

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
        check => {
            let setting = format!("ssl-mode={}", spec.ssl_mode.name());
            // Only what rustls takes as a trust anchor: mysql_async fails on any other.
            let roots = dump2py_tls::roots(spec.ssl_ca.as_deref(), &MYSQL, &setting)?;
            SslOpts::default()
                .with_disable_built_in_roots(true)
                .with_root_certs(
                    roots
                        .usable
                        .into_iter()
                        .map(|c| c.to_vec().into())
                        .collect(),
                )
                // Not honoured by mysql_async 0.37.1 (its check misses rustls'
                // current error); `trusted_names` covers for it.
                .with_danger_skip_domain_validation(check == Check::Chain)
        }
    };
    let identity = match (&spec.ssl_cert, &spec.ssl_key) {
        (Some(cert), Some(key)) => {
            let identity = Identity::read(&MYSQL, cert, key)?;
            // What mysql_async will do with them, tried now to name the files.
            identity.check_as_rustls()?;
            let (chain, key) = identity.to_pem();
            Some(ClientIdentity::new(
                chain.into_bytes().into(),
                key.into_bytes().into(),
            ))
        }
        _ => None,
    };
    Ok(Some(opts.with_client_identity(identity)))
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
        }) => Some(
            presented
                .iter()
                .filter_map(|p| dump2py_tls::presented_name(p))
                .collect(),
        ),
        rustls::Error::InvalidCertificate(CertificateError::NotValidForName) => Some(Vec::new()),
        _ => None,
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
                CertificateError::NotValidForNameContext { presented, .. } => presented
                    .iter()
                    .filter_map(|p| dump2py_tls::presented_name(p))
                    .collect(),
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
