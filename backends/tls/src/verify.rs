//! The checks of the server's certificate, by way of rustls' own (webpki)
//! checks, as libpq makes them.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::sign::SingleCertAndKey;
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, SignatureScheme};

use crate::{Check, Identity, Roots};

/// The rustls settings that check the server's certificate for `check`
/// against `roots` (needed unless `check` is [`Check::Nothing`]) and
/// present `identity` when given.
pub fn client_config(
    check: Check,
    roots: Option<Roots>,
    identity: Option<&Identity>,
) -> Result<ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let (chain, trusted) = match (check, roots) {
        (Check::Nothing, _) => (None, Vec::new()),
        (_, None) => return Err("no trusted root certificates to check the server's".into()),
        (_, Some(roots)) => {
            let verifier = WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots.store),
                Arc::clone(&provider),
            )
            .build()
            .map_err(|e| format!("can't set up certificate checks: {e}"))?;
            (Some(verifier), roots.given)
        }
    };
    let verifier = Verifier {
        chain,
        trusted,
        check_name: check == Check::ChainAndName,
        provider: Arc::clone(&provider),
    };
    let certified = identity.map(|i| i.certified(&provider)).transpose()?;
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("can't set up TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    Ok(match certified {
        None => builder.with_no_client_auth(),
        Some(certified) => {
            builder.with_client_cert_resolver(Arc::new(SingleCertAndKey::from(certified)))
        }
    })
}

/// The libpq checks, by way of rustls' own (webpki) checks.
#[derive(Debug)]
struct Verifier {
    /// None: the certificate is taken as it comes (`require`).
    chain: Option<Arc<WebPkiServerVerifier>>,
    /// The certificates of the root file given.
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
            // as a server's. Given as the root file itself, it is a trust
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
