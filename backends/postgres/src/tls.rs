//! TLS for tokio-postgres over rustls (crypto by ring), with libpq's
//! `sslmode` meanings: `require` encrypts without checking the certificate
//! (unless `sslrootcert` is given), `verify-ca` checks the chain against
//! `sslrootcert` or the system's roots, `verify-full` also the host name.
//! `sslcert` and `sslkey` give a client certificate; libpq's default files
//! (`~/.postgresql/postgresql.crt`) are never read unasked.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use dump2py_tls::{Identity, Mode, Options};
use rustls::pki_types::ServerName;
use rustls::{CertificateError, ClientConfig};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};

use crate::url::{ConnectSpec, SslMode};

/// libpq's names of the TLS files.
const LIBPQ: Options = Options {
    root: "sslrootcert",
    cert: "sslcert",
    key: "sslkey",
    key_in_cert: false,
};

/// The rustls settings `spec` asks for; None without TLS. The error is a
/// sentence naming the trouble (an unreadable `sslrootcert`, no roots, a
/// client key that is encrypted or not the certificate's).
pub(crate) fn client_config(spec: &ConnectSpec) -> Result<Option<Arc<ClientConfig>>, String> {
    let root = spec.ssl_root_cert.as_deref();
    let mode = match spec.effective_ssl_mode() {
        SslMode::Disable => Mode::Disable,
        SslMode::Prefer => Mode::Prefer,
        SslMode::Require => Mode::Require,
        SslMode::VerifyCa => Mode::VerifyCa,
        SslMode::VerifyFull => Mode::VerifyFull,
    };
    let Some(check) = mode.check(root.is_some()) else {
        return Ok(None);
    };
    let roots = match check {
        dump2py_tls::Check::Nothing => None,
        _ => {
            let setting = match spec.ssl_mode {
                SslMode::VerifyFull => "sslmode=verify-full",
                SslMode::VerifyCa => "sslmode=verify-ca",
                _ => "sslmode=require",
            };
            // `sslrootcert=system`: the system's roots, as libpq.
            let file = root.filter(|r| *r != "system");
            Some(dump2py_tls::roots(file, &LIBPQ, setting)?)
        }
    };
    let identity = match (&spec.ssl_cert, &spec.ssl_key) {
        (Some(cert), Some(key)) => Some(Identity::read(&LIBPQ, cert, key)?),
        // url.rs refuses one without the other.
        _ => None,
    };
    let mut config = dump2py_tls::client_config(check, roots, identity.as_ref())?;
    // What libpq 17 announces; servers before 17 ignore it.
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(Some(Arc::new(config)))
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
