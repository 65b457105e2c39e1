//! Certificates of the tests' own, made with the openssl tool.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::run::stderr;
use crate::skip_unless_ci;

/// Whether the openssl tool is here; if not, [`skip_unless_ci`].
pub fn have_openssl() -> bool {
    let here = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !here {
        skip_unless_ci("no openssl tool to make certificates: TLS not tested");
    }
    here
}

/// Runs the openssl tool in `dir`; panics when it fails.
pub fn openssl_in(dir: &Path, args: &[&str]) {
    let o = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(o.status.success(), "openssl {args:?}: {}", stderr(&o));
}

/// openssl's options for a new P-256 key without a passphrase.
const NEW_EC_KEY: &[&str] = &[
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
];

/// A CA of the test's own (NAME.crt, NAME.key) in `dir`.
pub fn test_ca(dir: &Path, name: &str) -> PathBuf {
    let (crt, key) = (format!("{name}.crt"), format!("{name}.key"));
    let subject = format!("/CN=dump2py test {name}");
    let rest = [
        "-keyout",
        &key,
        "-out",
        &crt,
        "-days",
        "2",
        "-subj",
        &subject,
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ];
    openssl_in(dir, &[&["req", "-x509"], NEW_EC_KEY, &rest[..]].concat());
    dir.join(crt)
}

/// What a certificate of [`test_cert`] is for.
#[derive(Clone, Copy, Debug)]
pub enum CertFor<'a> {
    /// A server, with this subjectAltName (`DNS:localhost,IP:127.0.0.1`;
    /// none when empty).
    Server(&'a str),
    Client,
}

/// A certificate (NAME.crt, NAME.key) issued by the CA `ca` of [`test_ca`].
pub fn test_cert(dir: &Path, ca: &str, name: &str, purpose: CertFor) {
    let ext = format!("{name}.ext");
    let usage = match purpose {
        CertFor::Client => "extendedKeyUsage=clientAuth\n".to_string(),
        CertFor::Server("") => "extendedKeyUsage=serverAuth\n".to_string(),
        CertFor::Server(alt_names) => {
            format!("subjectAltName={alt_names}\nextendedKeyUsage=serverAuth\n")
        }
    };
    std::fs::write(
        dir.join(&ext),
        format!("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n{usage}"),
    )
    .expect("extensions file");
    let (key, csr, crt) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.crt"),
    );
    let subject = format!("/CN=dump2py test {name}");
    let rest = ["-keyout", &key, "-out", &csr, "-subj", &subject];
    openssl_in(dir, &[&["req", "-new"], NEW_EC_KEY, &rest[..]].concat());
    openssl_in(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &format!("{ca}.crt"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-out",
            &crt,
            "-days",
            "2",
            "-extfile",
            &ext,
        ],
    );
}
