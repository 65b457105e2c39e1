//! The client's certificate chain and private key, read and checked.

use std::path::Path;

use base64::Engine;
use dump2py_model::files::{read_small, MAX_PEM};
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use rustls::{CertificateError, InconsistentKeys, RootCertStore};

use crate::{read_certs, Options};

/// The client's certificate chain (its own first) and private key (PKCS#8,
/// PKCS#1 RSA or SEC1 EC, unencrypted), with the files they came from.
#[derive(Debug)]
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    cert_file: String,
    key_file: String,
    options: Options,
}

impl Identity {
    /// Reads the PEM files `cert` and `key` (one file may hold both).
    pub fn read(options: &Options, cert: &str, key: &str) -> Result<Identity, String> {
        let chain = read_certs(options.cert, cert)?;
        if chain.is_empty() {
            return Err(format!("{} {cert} holds no PEM certificate", options.cert));
        }
        let pem = read_small(Path::new(key), MAX_PEM)
            .map_err(|e| format!("can't read {} {key}: {e}", options.key))?;
        // The PEM parser skips an ENCRYPTED PRIVATE KEY and chokes on the
        // headers of an old-style encrypted one: both are named here instead.
        if contains(&pem, b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
            || contains(&pem, b"Proc-Type: 4,ENCRYPTED")
        {
            return Err(format!(
                "{} {key} is encrypted: encrypted keys are not supported; decrypt it \
                 (openssl pkey -in KEY -out PLAIN) and keep it readable only by you",
                options.key
            ));
        }
        let private = match PrivateKeyDer::from_pem_slice(&pem) {
            Ok(k) => k,
            Err(pem::Error::NoItemsFound) if options.key_in_cert && key == cert => {
                return Err(format!(
                    "{} {cert} holds no private key: give {}=FILE",
                    options.cert, options.key
                ))
            }
            Err(pem::Error::NoItemsFound) => {
                return Err(format!(
                    "{} {key} holds no PEM private key (PRIVATE KEY, RSA PRIVATE KEY or \
                     EC PRIVATE KEY)",
                    options.key
                ))
            }
            Err(e) => return Err(format!("{} {key}: not a PEM key file: {e}", options.key)),
        };
        Ok(Identity {
            chain,
            key: private,
            cert_file: cert.to_string(),
            key_file: key.to_string(),
            options: *options,
        })
    }

    /// The certificate and key for rustls, checked to belong together when
    /// webpki can read the certificate. Not `with_client_auth_cert`: that
    /// refuses what webpki can't read, such as X.509 v1, which openssl
    /// 3.0's `x509 -req` makes by PostgreSQL's own recipe; libpq sends
    /// those, and so does this, for the server to judge.
    pub fn certified(
        &self,
        provider: &rustls::crypto::CryptoProvider,
    ) -> Result<CertifiedKey, String> {
        let (cert, key, o) = (&self.cert_file, &self.key_file, &self.options);
        let signer = provider
            .key_provider
            .load_private_key(self.key.clone_key())
            .map_err(|e| format!("{} {key}: can't use the private key: {e}", o.key))?;
        let certified = CertifiedKey::new(self.chain.clone(), signer);
        match certified.keys_match() {
            Ok(()) | Err(rustls::Error::InconsistentKeys(InconsistentKeys::Unknown)) => {
                Ok(certified)
            }
            Err(rustls::Error::InconsistentKeys(InconsistentKeys::KeyMismatch)) => Err(format!(
                "{} {key} is not the private key of the certificate in {} {cert}",
                o.key, o.cert
            )),
            // webpki can't read it (v1, say), but it is DER: the server judges.
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(_))) => Ok(certified),
            Err(e) => Err(format!("{} {cert}: can't use the certificate: {e}", o.cert)),
        }
    }

    /// Checks the pair as rustls' `with_client_auth_cert` does (for a
    /// driver that will call it: the files are named now, not later).
    pub fn check_as_rustls(&self) -> Result<(), String> {
        let (cert, key, o) = (&self.cert_file, &self.key_file, &self.options);
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("can't set up TLS: {e}"))?
            .with_root_certificates(RootCertStore::empty())
            .with_client_auth_cert(self.chain.clone(), self.key.clone_key())
            .map_err(|e| format!("{} {cert} with {} {key}: {e}", o.cert, o.key))?;
        Ok(())
    }

    /// The chain and the key as PEM text.
    pub fn to_pem(&self) -> (String, String) {
        let label = match &self.key {
            PrivateKeyDer::Pkcs1(_) => "RSA PRIVATE KEY",
            PrivateKeyDer::Sec1(_) => "EC PRIVATE KEY",
            _ => "PRIVATE KEY",
        };
        let chain = self
            .chain
            .iter()
            .map(|c| pem_text("CERTIFICATE", c))
            .collect();
        (chain, pem_text(label, self.key.secret_der()))
    }
}

/// `der` as a PEM block labelled `label`.
pub(crate) fn pem_text(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out + &format!("-----END {label}-----\n")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
