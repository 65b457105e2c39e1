//! TLS for tokio-postgres over rustls (crypto by ring), with libpq's
//! `sslmode` meanings: `require` encrypts without checking the certificate
//! (unless `sslrootcert` is given), `verify-ca` checks the chain against
//! `sslrootcert` or the system's roots, `verify-full` also the host name.
//! `sslcert` and `sslkey` give a client certificate; libpq's default files
//! (`~/.postgresql/postgresql.crt`) are never read unasked.

use std::future::Future;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, InconsistentKeys, RootCertStore,
    SignatureScheme,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};

use crate::url::{ConnectSpec, SslMode};
use dump2py_model::files::{read_small, MAX_PEM};

/// What the server's certificate is checked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    Nothing,
    Chain,
    ChainAndName,
}

/// The rustls settings `spec` asks for; None without TLS. The error is a
/// sentence naming the trouble (an unreadable `sslrootcert`, no roots, a
/// client key that is encrypted or not the certificate's).
pub(crate) fn client_config(spec: &ConnectSpec) -> Result<Option<Arc<ClientConfig>>, String> {
    let root = spec.ssl_root_cert.as_deref();
    let check = match spec.effective_ssl_mode() {
        SslMode::Disable => return Ok(None),
        // libpq checks the chain whenever it has a root certificate.
        SslMode::Prefer | SslMode::Require if root.is_some() => Check::Chain,
        SslMode::Prefer | SslMode::Require => Check::Nothing,
        SslMode::VerifyCa => Check::Chain,
        SslMode::VerifyFull => Check::ChainAndName,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut trusted = Vec::new();
    let chain = match check {
        Check::Nothing => None,
        Check::Chain | Check::ChainAndName => {
            let (store, certs) = roots(root, spec.ssl_mode)?;
            trusted = certs;
            let roots = Arc::new(store);
            let verifier =
                WebPkiServerVerifier::builder_with_provider(roots, Arc::clone(&provider))
                    .build()
                    .map_err(|e| format!("can't set up certificate checks: {e}"))?;
            Some(verifier)
        }
    };
    let verifier = Verifier {
        chain,
        trusted,
        check_name: check == Check::ChainAndName,
        provider: Arc::clone(&provider),
    };
    let identity = match (&spec.ssl_cert, &spec.ssl_key) {
        (Some(cert), Some(key)) => Some(certified_key(&provider, cert, key)?),
        // url.rs refuses one without the other.
        _ => None,
    };
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("can't set up TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    let mut config = match identity {
        None => builder.with_no_client_auth(),
        Some(certified) => {
            builder.with_client_cert_resolver(Arc::new(SingleCertAndKey::from(certified)))
        }
    };
    // What libpq 17 announces; servers before 17 ignore it.
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(Some(Arc::new(config)))
}

/// The trusted roots: the PEM file `sslrootcert`, or the system's (also
/// for `sslrootcert=system`).
/// Also the certificates of `sslrootcert` themselves: a self-signed server
/// certificate that is one of them is trusted as it is (as by libpq).
fn roots(
    file: Option<&str>,
    mode: SslMode,
) -> Result<(RootCertStore, Vec<CertificateDer<'static>>), String> {
    let mut store = RootCertStore::empty();
    let mut trusted = Vec::new();
    match file {
        Some(path) if path != "system" => {
            let pem = read_small(Path::new(path), MAX_PEM)
                .map_err(|e| format!("can't read sslrootcert {path}: {e}"))?;
            let certs = CertificateDer::pem_slice_iter(&pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("sslrootcert {path}: not a PEM certificate file: {e}"))?;
            trusted.clone_from(&certs);
            let (added, _) = store.add_parsable_certificates(certs);
            if added == 0 {
                return Err(format!("sslrootcert {path} holds no usable CA certificate"));
            }
        }
        _ => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
            if store.is_empty() {
                let mode = match mode {
                    SslMode::VerifyFull => "verify-full",
                    SslMode::VerifyCa => "verify-ca",
                    _ => "require",
                };
                return Err(format!(
                    "sslmode={mode} needs trusted root certificates: give sslrootcert=FILE \
                     (no system root certificates were found)"
                ));
            }
        }
    }
    Ok((store, trusted))
}

/// The client's certificate and key, checked to belong together when
/// webpki can read the certificate. Not `with_client_auth_cert`: that
/// refuses what webpki can't read, such as X.509 v1, which openssl 3.0's
/// `x509 -req` makes by PostgreSQL's own recipe; libpq sends those, and so
/// does this, for the server to judge.
fn certified_key(provider: &CryptoProvider, cert: &str, key: &str) -> Result<CertifiedKey, String> {
    let (chain, private) = client_identity(cert, key)?;
    let signer = provider
        .key_provider
        .load_private_key(private)
        .map_err(|e| format!("sslkey {key}: can't use the private key: {e}"))?;
    let certified = CertifiedKey::new(chain, signer);
    match certified.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(InconsistentKeys::Unknown)) => Ok(certified),
        Err(rustls::Error::InconsistentKeys(InconsistentKeys::KeyMismatch)) => Err(format!(
            "sslkey {key} is not the private key of the certificate in sslcert {cert}"
        )),
        // webpki can't read it (v1, say), but it is DER: the server judges.
        Err(rustls::Error::InvalidCertificate(CertificateError::Other(_))) => Ok(certified),
        Err(e) => Err(format!("sslcert {cert}: can't use the certificate: {e}")),
    }
}

/// The client's certificate chain (`sslcert`, the client's own first) and
/// private key (`sslkey`: PKCS#8, PKCS#1 RSA or SEC1 EC, unencrypted), as
/// libpq takes them.
fn client_identity(
    cert: &str,
    key: &str,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let pem = read_small(Path::new(cert), MAX_PEM)
        .map_err(|e| format!("can't read sslcert {cert}: {e}"))?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("sslcert {cert}: not a PEM certificate file: {e}"))?;
    if chain.is_empty() {
        return Err(format!("sslcert {cert} holds no PEM certificate"));
    }
    let pem =
        read_small(Path::new(key), MAX_PEM).map_err(|e| format!("can't read sslkey {key}: {e}"))?;
    // The PEM parser skips an ENCRYPTED PRIVATE KEY and chokes on the
    // headers of an old-style encrypted one: both are named here instead.
    if contains(&pem, b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        || contains(&pem, b"Proc-Type: 4,ENCRYPTED")
    {
        return Err(format!(
            "sslkey {key} is encrypted: encrypted keys are not supported; decrypt it \
             (openssl pkey -in KEY -out PLAIN) and keep it readable only by you"
        ));
    }
    let private = match PrivateKeyDer::from_pem_slice(&pem) {
        Ok(k) => k,
        Err(pem::Error::NoItemsFound) => {
            return Err(format!(
                "sslkey {key} holds no PEM private key (PRIVATE KEY, RSA PRIVATE KEY or \
                 EC PRIVATE KEY)"
            ))
        }
        Err(e) => return Err(format!("sslkey {key}: not a PEM key file: {e}")),
    };
    Ok((chain, private))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The libpq checks, by way of rustls' own (webpki) checks.
#[derive(Debug)]
struct Verifier {
    /// None: the certificate is taken as it comes (`require`).
    chain: Option<Arc<WebPkiServerVerifier>>,
    /// The certificates of `sslrootcert`.
    trusted: Vec<CertificateDer<'static>>,
    check_name: bool,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        // webpki checks the chain first, then the name: a name error means
        // the chain is good, which is all verify-ca asks.
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            // PostgreSQL's recipe for a self-signed certificate makes a CA
            // certificate (openssl's `req -x509`), which webpki won't take
            // as a server's. Given as sslrootcert itself, it is a trust
            // anchor: libpq (OpenSSL) takes it, and so does verify-ca here.
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(e)))
                if !self.check_name
                    && e.to_string().contains("CaUsedAsEndEntity")
                    && self
                        .trusted
                        .iter()
                        .any(|t| t.as_ref() == end_entity.as_ref()) =>
            {
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    // The handshake's signatures are checked in every mode: they prove the
    // server holds the certificate's key.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// tokio-postgres' [`MakeTlsConnect`] over rustls.
#[derive(Clone)]
pub(crate) struct MakeRustls(pub Arc<ClientConfig>);

/// One connection's TLS handshake, for the host `name`.
pub(crate) struct Connect {
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
}

impl<S> MakeTlsConnect<S> for MakeRustls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = Stream<S>;
    type TlsConnect = Connect;
    type Error = rustls::pki_types::InvalidDnsNameError;

    fn make_tls_connect(&mut self, domain: &str) -> Result<Connect, Self::Error> {
        Ok(Connect {
            config: Arc::clone(&self.0),
            name: ServerName::try_from(domain)?.to_owned(),
        })
    }
}

impl<S> TlsConnect<S> for Connect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = Stream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Stream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        let client_cert = self.config.client_auth_cert_resolver.has_certs();
        let connector = tokio_rustls::TlsConnector::from(self.config);
        Box::pin(async move {
            match connector.connect(self.name, stream).await {
                Ok(s) => Ok(Stream {
                    tls: s,
                    client_cert,
                }),
                Err(e) => Err(explained(e, client_cert)),
            }
        })
    }
}

/// rustls' error, with what it means here: the server's certificate from
/// an unknown CA, or the server's alert refusing the client's certificate
/// (`client_cert`: one was given).
fn explained(e: io::Error, client_cert: bool) -> io::Error {
    use rustls::AlertDescription as A;
    let Some(tls) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        return e;
    };
    let why = match tls {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "the server's certificate was not issued by a CA of sslrootcert, \
             or of the system's roots without it"
        }
        rustls::Error::AlertReceived(A::UnknownCA) if client_cert => {
            "the server refused the client certificate of sslcert: not issued by a CA \
             of the server's ssl_ca_file"
        }
        rustls::Error::AlertReceived(
            A::BadCertificate
            | A::UnsupportedCertificate
            | A::CertificateRevoked
            | A::CertificateExpired
            | A::CertificateUnknown
            | A::DecryptError
            | A::IllegalParameter
            | A::AccessDenied,
        ) if client_cert => "the server refused the client certificate of sslcert, or its sslkey",
        _ => return e,
    };
    io::Error::other(format!("{e} ({why})"))
}

/// A TLS connection to the server.
pub(crate) struct Stream<S> {
    tls: tokio_rustls::client::TlsStream<S>,
    /// A client certificate was given: in TLS 1.3 the server's verdict
    /// on it comes after the handshake, with the first read.
    client_cert: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for Stream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        // No tls-server-end-point: SCRAM runs without channel binding, as
        // libpq's default (channel_binding=prefer) allows.
        ChannelBinding::none()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Stream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let client_cert = self.client_cert;
        match Pin::new(&mut self.tls).poll_read(cx, buf) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(explained(e, client_cert))),
            other => other,
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Stream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tls).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tls).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tls).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tls).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tls.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error of `client_config` for these files (written to a
    /// directory of the test's own), given as sslcert and sslkey.
    fn refused(test: &str, cert: Option<&str>, key: Option<&str>) -> String {
        let dir = std::env::temp_dir().join(format!("dump2py-tls-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("test directory");
        let (cert_path, key_path) = (dir.join("client.crt"), dir.join("client.key"));
        for (path, text) in [(&cert_path, cert), (&key_path, key)] {
            if let Some(text) = text {
                std::fs::write(path, text).expect("test file");
            }
        }
        let url = format!(
            "postgres://u:hunter2@h/d?sslmode=require&sslcert={}&sslkey={}",
            dump2py_model::url::percent_encode(&cert_path.to_string_lossy()),
            dump2py_model::url::percent_encode(&key_path.to_string_lossy()),
        );
        let spec = match crate::url::parse(&url, &|_| None) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        let e = client_config(&spec).err().unwrap_or_default();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(!e.contains("hunter2"), "{e}");
        assert_eq!(e.lines().count(), 1, "{e}");
        e
    }

    /// Well-formed PEM; rustls parses what is inside only when it is used.
    const CERT: &str = "-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n";

    /// A P-256 key made for this test (openssl genpkey), used nowhere else.
    const EC_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg9bN6H7MWcZ//2HdJ
tX61UyFgp/lDkofmnZopGscooQqhRANCAASJ0RoWcej/muWB6ZTF8/eGw5iqqkFJ
aXzff+L3mp4OCcIQxGu68l8+8YZ9xceR18ojU3z4DLudnzQC4i+EFLVJ
-----END PRIVATE KEY-----
";

    #[test]
    fn client_files_are_named_when_wrong() {
        let e = refused("nocert", None, Some("x"));
        assert!(
            e.starts_with("can't read sslcert /") && e.contains("client.crt"),
            "{e}"
        );
        let e = refused("notpem", Some("hello\n"), Some("x"));
        assert!(e.contains("client.crt holds no PEM certificate"), "{e}");
        let e = refused("nokey", Some(CERT), None);
        assert!(
            e.starts_with("can't read sslkey /") && e.contains("client.key"),
            "{e}"
        );
        let e = refused("keyless", Some(CERT), Some(CERT));
        assert!(e.contains("client.key holds no PEM private key"), "{e}");
        let e = refused(
            "badkey",
            Some(CERT),
            Some("-----BEGIN PRIVATE KEY-----\n!!\n-----END PRIVATE KEY-----\n"),
        );
        assert!(e.contains("client.key: not a PEM key file"), "{e}");
        let e = refused(
            "junkkey",
            Some(CERT),
            Some("-----BEGIN EC PRIVATE KEY-----\nMAMCAQA=\n-----END EC PRIVATE KEY-----\n"),
        );
        assert!(e.contains("client.key: can't use the private key: "), "{e}");
        // A certificate that is not one.
        let e = refused("junkcert", Some(CERT), Some(EC_KEY));
        assert!(e.contains("client.crt: can't use the certificate: "), "{e}");
    }

    #[test]
    fn encrypted_keys_are_refused_by_name() {
        for key in [
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAMCAQA=\n-----END ENCRYPTED PRIVATE KEY-----\n",
            "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\
             DEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\n\
             MAMCAQA=\n-----END RSA PRIVATE KEY-----\n",
        ] {
            let e = refused("encrypted", Some(CERT), Some(key));
            assert!(
                e.contains("client.key is encrypted: encrypted keys are not supported"),
                "{e}"
            );
        }
    }
}
