//! End-to-end tests of the PKI, with OpenSSL and jwcrypto as independent checkers.

#![expect(clippy::unwrap_used, reason = "tests: failing loudly is right")]

use std::path::PathBuf;
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use diwan_pki::{
    Certificate, KeyAlgorithm, Names, PkiError, Profile, SigningKey, cms, crl, import_pem,
    import_pkcs12, issue, jws, self_signed_root, validate_chain,
};

#[path = "pki/pades.rs"]
mod pades;
#[path = "pki/profiles.rs"]
mod profiles;
#[path = "pki/tsp.rs"]
mod tsp;

struct Pki {
    root: Certificate,
    root_key: SigningKey,
    ca: Certificate,
    ca_key: SigningKey,
    seal: Certificate,
    seal_key: SigningKey,
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap()
}

fn names(cn: &str) -> Names {
    Names {
        common_name: cn.to_owned(),
        organization: Some("Royaume du Maroc".to_owned()),
        organizational_unit: Some("Bureau d'ordre".to_owned()),
        country: Some("MA".to_owned()),
        common_name_ar: None,
    }
}

fn seal_names() -> Names {
    Names {
        common_name_ar: Some("ختم مكتب الضبط".to_owned()),
        ..names("Cachet du bureau d'ordre")
    }
}

fn make_pki(now: DateTime<Utc>) -> Pki {
    let root_key = SigningKey::generate_p256().unwrap();
    let root = self_signed_root(&names("Diwan Root CA"), &root_key, now).unwrap();
    let ca_key = SigningKey::generate_p256().unwrap();
    let ca = issue(
        &Profile::IssuingCa {
            crl_url: Some("http://pki.example/root.crl".to_owned()),
        },
        &names("Diwan Issuing CA"),
        &ca_key.public_key_der(),
        &root,
        &root_key,
        now,
    )
    .unwrap();
    let seal_key = SigningKey::generate_p256().unwrap();
    let seal = issue(
        &Profile::Seal {
            crl_url: Some("http://pki.example/ca.crl".to_owned()),
        },
        &seal_names(),
        &seal_key.public_key_der(),
        &ca,
        &ca_key,
        now,
    )
    .unwrap();
    Pki {
        root,
        root_key,
        ca,
        ca_key,
        seal,
        seal_key,
    }
}

fn scratch(name: &str) -> PathBuf {
    // Under target/ (CARGO_TARGET_TMPDIR), not /tmp: kept for inspection, gone with `cargo clean`.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("diwan-pki-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn profiles_have_the_expected_shape() {
    let pki = make_pki(t0());
    assert!(pki.root.is_ca() && pki.ca.is_ca() && !pki.seal.is_ca());
    let ku = pki.seal.key_usage().unwrap();
    assert!(ku.digital_signature && ku.non_repudiation && !ku.key_cert_sign);
    let ku = pki.ca.key_usage().unwrap();
    assert!(ku.key_cert_sign && ku.crl_sign && !ku.digital_signature);
    assert!(pki.root.not_after() - t0() > TimeDelta::days(365 * 20 - 1));
    assert!(pki.ca.not_after() - t0() > TimeDelta::days(365 * 10 - 1));
    assert!(pki.seal.not_after() - t0() > TimeDelta::days(365 * 3 - 1));
    assert!(
        pki.seal.serial_hex().len() >= 16,
        "{}",
        pki.seal.serial_hex()
    );
    assert_ne!(pki.seal.serial_hex(), pki.ca.serial_hex());
    assert!(pki.seal.public_key_matches(&pki.seal_key));
    assert!(!pki.seal.public_key_matches(&pki.ca_key));
    assert_eq!(pki.seal.key_algorithm(), Some(KeyAlgorithm::EcdsaP256));
    let again = Certificate::from_pem(&(pki.seal.to_pem() + &pki.ca.to_pem())).unwrap();
    assert_eq!(again, vec![pki.seal.clone(), pki.ca.clone()]);

    let dir = scratch("profiles");
    std::fs::write(dir.join("seal.pem"), pki.seal.to_pem()).unwrap();
    let text = run(Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(dir.join("seal.pem")))
    .stdout;
    let text = String::from_utf8_lossy(&text);
    assert!(
        text.contains("Digital Signature, Non Repudiation"),
        "{text}"
    );
    assert!(text.contains("http://pki.example/ca.crl"), "{text}");
    assert!(text.contains("CA:FALSE"), "{text}");
}

#[test]
fn arabic_name_round_trips_in_its_own_attribute() {
    let pki = make_pki(t0());
    assert_eq!(pki.seal.names(), &seal_names());
    assert!(pki.seal.subject().contains("ختم مكتب الضبط"));
    let mixed = Names {
        common_name: "Cachet ختم".to_owned(),
        ..Names::default()
    };
    let err = issue(
        &Profile::Seal { crl_url: None },
        &mixed,
        &pki.seal_key.public_key_der(),
        &pki.ca,
        &pki.ca_key,
        t0(),
    )
    .unwrap_err();
    assert!(matches!(err, PkiError::BadName(_)), "{err}");
}

#[test]
fn chain_validates_within_validity_only() {
    let pki = make_pki(t0());
    let report = validate_chain(
        &pki.seal,
        std::slice::from_ref(&pki.ca),
        std::slice::from_ref(&pki.root),
        t0(),
        &[],
    )
    .unwrap();
    assert_eq!(report.anchor_subject, pki.root.subject());
    assert_eq!(report.anchor_sha256, pki.root.sha256_fingerprint());
    assert_eq!(
        report.chain_subjects,
        vec![pki.seal.subject(), pki.ca.subject(), pki.root.subject()]
    );
    assert!(!report.revocation_checked);

    let before = pki.seal.not_before() - TimeDelta::seconds(1);
    let err = validate_chain(
        &pki.seal,
        std::slice::from_ref(&pki.ca),
        std::slice::from_ref(&pki.root),
        before,
        &[],
    );
    assert!(matches!(err, Err(PkiError::NotYetValid { .. })), "{err:?}");
    let after = pki.seal.not_after() + TimeDelta::seconds(1);
    let err = validate_chain(
        &pki.seal,
        std::slice::from_ref(&pki.ca),
        std::slice::from_ref(&pki.root),
        after,
        &[],
    );
    assert!(matches!(err, Err(PkiError::Expired { .. })), "{err:?}");

    let err = validate_chain(&pki.seal, &[], std::slice::from_ref(&pki.root), t0(), &[]);
    assert!(matches!(err, Err(PkiError::Untrusted(_))), "{err:?}");
    let other = make_pki(t0());
    let err = validate_chain(
        &pki.seal,
        std::slice::from_ref(&pki.ca),
        std::slice::from_ref(&other.root),
        t0(),
        &[],
    );
    assert!(matches!(err, Err(PkiError::Untrusted(_))), "{err:?}");
    let err = validate_chain(&pki.ca, &[], std::slice::from_ref(&pki.root), t0(), &[]);
    assert!(err.is_err(), "a CA is not a signing leaf");
}

#[test]
fn revocation_counts_from_its_date() {
    let pki = make_pki(t0());
    let revoked_on = t0() + TimeDelta::days(30);
    let ca_crl = crl(
        &pki.ca,
        &pki.ca_key,
        7,
        &[(pki.seal.serial_hex(), revoked_on)],
        revoked_on,
        revoked_on + TimeDelta::days(7),
    )
    .unwrap();
    let root_crl = crl(
        &pki.root,
        &pki.root_key,
        1,
        &[],
        t0(),
        t0() + TimeDelta::days(365),
    )
    .unwrap();
    let crls = vec![ca_crl.clone(), root_crl.clone()];
    let inter = [pki.ca.clone()];
    let anchors = [pki.root.clone()];

    let at = t0() + TimeDelta::days(10);
    let report = validate_chain(&pki.seal, &inter, &anchors, at, &crls).unwrap();
    assert!(report.revocation_checked);
    let report = validate_chain(
        &pki.seal,
        &inter,
        &anchors,
        at,
        std::slice::from_ref(&ca_crl),
    )
    .unwrap();
    assert!(!report.revocation_checked, "the CA itself was not covered");

    let at = t0() + TimeDelta::days(60);
    let err = validate_chain(&pki.seal, &inter, &anchors, at, &crls).unwrap_err();
    match err {
        PkiError::Revoked {
            serial,
            revoked_on: on,
            ..
        } => {
            assert_eq!(serial, pki.seal.serial_hex());
            assert_eq!(on, revoked_on);
        }
        other => panic!("expected Revoked, got {other}"),
    }

    // Same issuer name, other key: ignored, so the CA level is no longer covered.
    let other = make_pki(t0());
    let impostor = crl(
        &other.ca,
        &other.ca_key,
        9,
        &[],
        t0(),
        t0() + TimeDelta::days(1),
    )
    .unwrap();
    let report = validate_chain(&pki.seal, &inter, &anchors, at, &[impostor, root_crl]).unwrap();
    assert!(!report.revocation_checked);

    let dir = scratch("crl");
    std::fs::write(dir.join("ca.crl"), &ca_crl).unwrap();
    std::fs::write(dir.join("ca.pem"), pki.ca.to_pem()).unwrap();
    run(Command::new("openssl")
        .args(["crl", "-inform", "DER", "-noout", "-in"])
        .arg(dir.join("ca.crl"))
        .arg("-CAfile")
        .arg(dir.join("ca.pem")));
}

#[test]
fn crl_with_a_bad_signature_does_not_count() {
    let pki = make_pki(t0());
    let revoking = [(pki.seal.serial_hex(), t0())];
    let mut bad = crl(
        &pki.ca,
        &pki.ca_key,
        1,
        &revoking,
        t0(),
        t0() + TimeDelta::days(1),
    )
    .unwrap();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let report = validate_chain(
        &pki.seal,
        std::slice::from_ref(&pki.ca),
        std::slice::from_ref(&pki.root),
        t0(),
        &[bad],
    )
    .unwrap();
    assert!(!report.revocation_checked);
    let garbage = validate_chain(
        &pki.seal,
        std::slice::from_ref(&pki.ca),
        std::slice::from_ref(&pki.root),
        t0(),
        &[vec![1, 2]],
    );
    assert!(matches!(garbage, Err(PkiError::BadCrl(_))), "{garbage:?}");
}

#[test]
fn jws_round_trip_and_tampering() {
    let pki = make_pki(t0());
    let chain = [pki.seal.clone(), pki.ca.clone()];
    let payload = br#"{"number":"2025/000123","unit":"BO"}"#;
    let token = jws::sign(payload, &pki.seal_key, &chain).unwrap();

    let header: serde_json::Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["x5c"][0], STANDARD.encode(pki.seal.der()));
    assert_eq!(header["x5c"][1], STANDARD.encode(pki.ca.der()));

    let verified = jws::verify_signature(&token).unwrap();
    assert_eq!(verified.payload, payload);
    assert_eq!(verified.chain, chain);
    validate_chain(
        &verified.chain[0],
        &verified.chain[1..],
        std::slice::from_ref(&pki.root),
        t0(),
        &[],
    )
    .unwrap();

    let signer = jws::Signer::new(&pki.seal_key, &chain).unwrap();
    let token2 = signer.sign(payload).unwrap();
    assert_eq!(token2.split('.').next(), token.split('.').next());

    let parts: Vec<&str> = token.split('.').collect();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(b"{}"),
        parts[2]
    );
    assert!(matches!(
        jws::verify_signature(&forged),
        Err(PkiError::BadJws(_))
    ));
    assert!(jws::verify_signature("a.b").is_err());
    assert!(
        jws::Signer::new(&pki.ca_key, &chain).is_err(),
        "leaf must match key"
    );

    check_with_jwcrypto(&token, payload);
}

fn check_with_jwcrypto(token: &str, payload: &[u8]) {
    let probe = Command::new("python3")
        .args(["-c", "import jwcrypto"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        println!("note: python3 jwcrypto not available, independent JWS check skipped");
        return;
    }
    let dir = scratch("jws");
    std::fs::write(dir.join("token"), token).unwrap();
    let script = r#"
import sys, base64
from jwcrypto import jws, jwk
from cryptography import x509
o = jws.JWS()
o.deserialize(open(sys.argv[1]).read())
leaf = x509.load_der_x509_certificate(base64.b64decode(o.jose_header["x5c"][0]))
o.verify(jwk.JWK.from_pyca(leaf.public_key()), alg="ES256")
sys.stdout.buffer.write(o.payload)
"#;
    let out = run(Command::new("python3")
        .args(["-c", script])
        .arg(dir.join("token")));
    assert_eq!(out.stdout, payload);
}

#[test]
fn cms_detached_round_trip_and_openssl() {
    let pki = make_pki(t0());
    let content = b"%PDF-1.7 signed byte ranges".repeat(100);
    let sig = cms::sign_detached(
        &content,
        &pki.seal_key,
        &pki.seal,
        std::slice::from_ref(&pki.ca),
    )
    .unwrap();

    let verified = cms::verify_detached(&sig, &content).unwrap();
    assert_eq!(verified.signer, pki.seal);
    assert!(verified.digest_ok);
    assert_eq!(verified.certificates.len(), 2);
    assert!(verified.certificates.contains(&pki.ca));

    let mut changed = content.clone();
    changed[10] ^= 1;
    let err = cms::verify_detached(&sig, &changed);
    assert!(matches!(err, Err(PkiError::BadCms(_))), "{err:?}");
    let mut bad_sig = sig.clone();
    let last = bad_sig.len() - 5;
    bad_sig[last] ^= 1;
    assert!(cms::verify_detached(&bad_sig, &content).is_err());

    let dir = scratch("cms");
    std::fs::write(dir.join("sig.p7s"), &sig).unwrap();
    std::fs::write(dir.join("content"), &content).unwrap();
    std::fs::write(dir.join("root.pem"), pki.root.to_pem()).unwrap();
    let out = run(Command::new("openssl")
        .args([
            "cms", "-verify", "-binary", "-inform", "DER", "-purpose", "any", "-in",
        ])
        .arg(dir.join("sig.p7s"))
        .arg("-content")
        .arg(dir.join("content"))
        .arg("-CAfile")
        .arg(dir.join("root.pem"))
        .args(["-out", "/dev/null"]));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Verification successful"));

    std::fs::write(dir.join("content"), &changed).unwrap();
    let status = Command::new("openssl")
        .args([
            "cms", "-verify", "-binary", "-inform", "DER", "-purpose", "any", "-in",
        ])
        .arg(dir.join("sig.p7s"))
        .arg("-content")
        .arg(dir.join("content"))
        .arg("-CAfile")
        .arg(dir.join("root.pem"))
        .args(["-out", "/dev/null"])
        .output()
        .unwrap()
        .status;
    assert!(!status.success());

    let text = run(Command::new("openssl")
        .args(["cms", "-cmsout", "-print", "-inform", "DER", "-in"])
        .arg(dir.join("sig.p7s")))
    .stdout;
    let text = String::from_utf8_lossy(&text);
    assert!(text.contains("id-smime-aa-signingCertificateV2"), "{text}");
    assert!(!text.contains("signingTime"), "{text}");
}

fn openssl_ec_identity(dir: &std::path::Path) {
    run(Command::new("openssl")
        .args([
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
        ])
        .arg(dir.join("sec1.pem")));
    run(Command::new("openssl")
        .args(["pkcs8", "-topk8", "-nocrypt", "-in"])
        .arg(dir.join("sec1.pem"))
        .arg("-out")
        .arg(dir.join("pkcs8.pem")));
    run(Command::new("openssl")
        .args(["req", "-x509", "-new", "-key"])
        .arg(dir.join("sec1.pem"))
        .args(["-subj", "/CN=External signer/O=Ext", "-days", "30", "-out"])
        .arg(dir.join("cert.pem")));
}

#[test]
fn pem_import_of_an_openssl_key_and_certificate() {
    let dir = scratch("pem");
    openssl_ec_identity(&dir);
    let cert_pem = std::fs::read_to_string(dir.join("cert.pem")).unwrap();
    for key_file in ["pkcs8.pem", "sec1.pem"] {
        let key_pem = std::fs::read_to_string(dir.join(key_file)).unwrap();
        let (key, chain) = import_pem(&cert_pem, &key_pem).unwrap();
        assert_eq!(key.algorithm(), KeyAlgorithm::EcdsaP256, "{key_file}");
        assert_eq!(chain.len(), 1);
        assert!(chain[0].public_key_matches(&key));
        assert!(chain[0].subject().contains("External signer"));
        let token = jws::sign(b"x", &key, &chain).unwrap();
        jws::verify_signature(&token).unwrap();
    }
    let other = SigningKey::generate_p256().unwrap();
    let other_pem = diwan_pki::to_pem("PRIVATE KEY", other.pkcs8_der());
    assert!(matches!(
        import_pem(&cert_pem, &other_pem),
        Err(PkiError::Import(_))
    ));
}

#[test]
fn pem_import_of_an_openssl_rsa_key_signs_rs256_and_cms() {
    let dir = scratch("rsa");
    run(Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout"])
        .arg(dir.join("key.pem"))
        .args(["-subj", "/CN=RSA signer", "-days", "30", "-out"])
        .arg(dir.join("cert.pem")));
    let (key, chain) = import_pem(
        &std::fs::read_to_string(dir.join("cert.pem")).unwrap(),
        &std::fs::read_to_string(dir.join("key.pem")).unwrap(),
    )
    .unwrap();
    assert_eq!(key.algorithm(), KeyAlgorithm::Rsa);
    let token = jws::sign(b"payload", &key, &chain).unwrap();
    assert_eq!(jws::verify_signature(&token).unwrap().payload, b"payload");
    let sig = cms::sign_detached(b"content", &key, &chain[0], &[]).unwrap();
    cms::verify_detached(&sig, b"content").unwrap();
}

#[test]
fn pkcs12_import_modern_and_legacy() {
    let dir = scratch("p12");
    openssl_ec_identity(&dir);
    let pki = make_pki(Utc::now());
    std::fs::write(dir.join("ca.pem"), pki.ca.to_pem()).unwrap();
    let variants: [(&str, &[&str]); 2] = [
        ("modern.p12", &[]),
        (
            "legacy.p12",
            &[
                "-certpbe",
                "PBE-SHA1-3DES",
                "-keypbe",
                "PBE-SHA1-3DES",
                "-macalg",
                "sha1",
            ],
        ),
    ];
    for (file, extra) in variants {
        run(Command::new("openssl")
            .args(["pkcs12", "-export", "-inkey"])
            .arg(dir.join("sec1.pem"))
            .arg("-in")
            .arg(dir.join("cert.pem"))
            .arg("-certfile")
            .arg(dir.join("ca.pem"))
            .args(extra)
            .args(["-passout", "pass:s3cret é", "-out"])
            .arg(dir.join(file)));
        let der = std::fs::read(dir.join(file)).unwrap();
        let (key, chain) = import_pkcs12(&der, "s3cret é").unwrap();
        assert_eq!(key.algorithm(), KeyAlgorithm::EcdsaP256, "{file}");
        assert!(chain[0].public_key_matches(&key), "{file}");
        assert!(chain[0].subject().contains("External signer"), "{file}");
        assert!(matches!(
            import_pkcs12(&der, "wrong"),
            Err(PkiError::Import(_))
        ));
    }
}
