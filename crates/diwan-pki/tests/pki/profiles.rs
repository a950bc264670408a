//! The time-stamping and personal signer profiles.

use std::process::Command;

use chrono::TimeDelta;
use diwan_pki::{Profile, SigningKey, issue};
use x509_parser::prelude::{FromDer as _, X509Certificate};

use crate::{make_pki, names, run, scratch, t0};

const OID_EXT_KEY_USAGE: &str = "2.5.29.37";

#[test]
fn time_stamping_profile_has_a_critical_eku_with_only_time_stamping() {
    let pki = make_pki(t0());
    let key = SigningKey::generate_p256().unwrap();
    let tsa = issue(
        &Profile::TimeStamping {
            crl_url: Some("http://pki.example/ca.crl".to_owned()),
        },
        &names("Diwan TSA"),
        &key.public_key_der(),
        &pki.ca,
        &pki.ca_key,
        t0(),
    )
    .unwrap();
    assert!(tsa.is_time_stamping());
    assert!(!pki.seal.is_time_stamping() && !pki.ca.is_time_stamping());
    assert!(!tsa.is_ca());
    assert!(tsa.not_after() - t0() > TimeDelta::days(365 * 3 - 1));
    let ku = tsa.key_usage().unwrap();
    assert!(ku.digital_signature && !ku.non_repudiation && !ku.key_cert_sign && !ku.crl_sign);

    let (rest, x509) = X509Certificate::from_der(tsa.der()).unwrap();
    assert!(rest.is_empty());
    let eku_extensions = x509
        .extensions()
        .iter()
        .filter(|e| e.oid.to_id_string() == OID_EXT_KEY_USAGE)
        .count();
    assert_eq!(eku_extensions, 1);
    let eku = x509.extended_key_usage().unwrap().unwrap();
    assert!(eku.critical, "EKU must be critical");
    let value = eku.value;
    assert!(value.time_stamping);
    assert!(
        !(value.any
            || value.server_auth
            || value.client_auth
            || value.code_signing
            || value.email_protection
            || value.ocsp_signing)
            && value.other.is_empty(),
        "{value:?}"
    );
    let ku = x509.key_usage().unwrap().unwrap();
    assert!(ku.value.digital_signature() && !ku.value.non_repudiation());

    let dir = scratch("tsa-profile");
    std::fs::write(dir.join("tsa.pem"), tsa.to_pem()).unwrap();
    let out = run(Command::new("openssl")
        .args(["x509", "-noout", "-text", "-purpose", "-in"])
        .arg(dir.join("tsa.pem")));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("X509v3 Extended Key Usage: critical"),
        "{text}"
    );
    assert!(text.contains("Time Stamping"), "{text}");
    assert!(text.contains("Time Stamp signing : Yes"), "{text}");
    assert!(text.contains("http://pki.example/ca.crl"), "{text}");
}

#[test]
fn signer_profile_signs_with_non_repudiation() {
    let pki = make_pki(t0());
    let key = SigningKey::generate_p256().unwrap();
    let signer = issue(
        &Profile::Signer {
            crl_url: Some("http://pki.example/ca.crl".to_owned()),
        },
        &names("Amina Signataire"),
        &key.public_key_der(),
        &pki.ca,
        &pki.ca_key,
        t0(),
    )
    .unwrap();
    assert!(!signer.is_ca() && !signer.is_time_stamping());
    assert!(signer.not_after() - t0() > TimeDelta::days(365 * 3 - 1));
    let ku = signer.key_usage().unwrap();
    assert!(ku.digital_signature && ku.non_repudiation && !ku.key_cert_sign && !ku.crl_sign);
    let (_, x509) = X509Certificate::from_der(signer.der()).unwrap();
    assert!(x509.extended_key_usage().unwrap().is_none());
    let crl_dp = x509
        .extensions()
        .iter()
        .any(|e| e.oid.to_id_string() == "2.5.29.31");
    assert!(crl_dp, "CRL distribution point expected");
    diwan_pki::validate_chain(
        &signer,
        std::slice::from_ref(&pki.ca),
        std::slice::from_ref(&pki.root),
        t0(),
        &[],
    )
    .unwrap();
}
