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
    let text = identity::pem_text("CERTIFICATE", &der);
    let back: Vec<_> = CertificateDer::pem_slice_iter(text.as_bytes())
        .filter_map(|c| c.ok())
        .collect();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].as_ref(), &der[..]);
}

#[test]
fn what_each_mode_checks() {
    use Check::*;
    use Mode::*;
    for (mode, without_root, with_root) in [
        (Disable, None, None),
        (Prefer, Some(Nothing), Some(Chain)),
        (Require, Some(Nothing), Some(Chain)),
        (VerifyCa, Some(Chain), Some(Chain)),
        (VerifyFull, Some(ChainAndName), Some(ChainAndName)),
    ] {
        assert_eq!(mode.check(false), without_root, "{mode:?}");
        assert_eq!(mode.check(true), with_root, "{mode:?}");
    }
}

const OPTIONS: Options = Options {
    root: "ssl-ca",
    cert: "ssl-cert",
    key: "ssl-key",
    key_in_cert: true,
};

#[test]
fn root_files_are_named_when_wrong() {
    let dir = std::env::temp_dir().join(format!("dump2py-tls-roots-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("test directory");
    let missing = dir.join("missing.pem").to_string_lossy().into_owned();
    let e = roots(Some(&missing), &OPTIONS, "ssl-mode=VERIFY_CA").err();
    assert!(
        e.as_deref()
            .is_some_and(|e| e.starts_with(&format!("can't read ssl-ca {missing}: "))),
        "{e:?}"
    );
    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "no certificate\n").expect("test file");
    let empty = empty.to_string_lossy().into_owned();
    let e = roots(Some(&empty), &OPTIONS, "ssl-mode=VERIFY_CA").err();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        e,
        Some(format!("ssl-ca {empty} holds no usable CA certificate"))
    );
}

#[test]
fn a_certificate_file_without_a_key_is_named_as_each_client_names_it() {
    let dir = std::env::temp_dir().join(format!("dump2py-tls-id-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("test directory");
    let cert = dir.join("client.crt");
    // Well-formed PEM; rustls parses what is inside only when it is used.
    std::fs::write(
        &cert,
        "-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n",
    )
    .expect("test file");
    let cert = cert.to_string_lossy().into_owned();
    let libpq = Options {
        root: "sslrootcert",
        cert: "sslcert",
        key: "sslkey",
        key_in_cert: false,
    };
    let mysql = Identity::read(&OPTIONS, &cert, &cert).err();
    let postgres = Identity::read(&libpq, &cert, &cert).err();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        mysql,
        Some(format!(
            "ssl-cert {cert} holds no private key: give ssl-key=FILE"
        ))
    );
    assert_eq!(
        postgres,
        Some(format!(
            "sslkey {cert} holds no PEM private key (PRIVATE KEY, RSA PRIVATE KEY or \
             EC PRIVATE KEY)"
        ))
    );
}
