//! PAdES B-T (signature time-stamp) and remote signing in two steps.

use std::path::Path;
use std::process::{Command, Output};

use chrono::Utc;
use diwan_pki::tsp::{self, HashAlgorithm, TimeStampRequest};
use diwan_pki::{Certificate, PkiError, Profile, SigningKey, cms, issue, validate_chain};
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _,
};

use crate::tsp::{POLICY, make_tsa, openssl_rsa_pkcs8};
use crate::{Pki, names, run, scratch, t0};

fn openssl_cms_verify(dir: &Path, sig: &str) -> Output {
    Command::new("openssl")
        .args([
            "cms", "-verify", "-binary", "-inform", "DER", "-purpose", "any", "-in",
        ])
        .arg(dir.join(sig))
        .arg("-content")
        .arg(dir.join("content"))
        .arg("-CAfile")
        .arg(dir.join("root.pem"))
        .args(["-out", "/dev/null"])
        .output()
        .unwrap()
}

fn signature_timestamp_request(cms_der: &[u8]) -> TimeStampRequest {
    let signature = cms::signature_value(cms_der).unwrap();
    let der = tsp::encode_request(
        HashAlgorithm::Sha256,
        &HashAlgorithm::Sha256.digest(&signature),
        Some(&[0x2a, 0x01]),
        true,
    )
    .unwrap();
    tsp::parse_request(&der).unwrap()
}

#[test]
fn cms_signature_timestamp_round_trip_and_openssl() {
    let tsa = make_tsa(Utc::now());
    let pki = &tsa.pki;
    let content = b"%PDF-1.7 signed byte ranges".repeat(100);
    let sig = cms::sign_detached(
        &content,
        &pki.seal_key,
        &pki.seal,
        std::slice::from_ref(&pki.ca),
    )
    .unwrap();
    assert_eq!(cms::signature_timestamp(&sig).unwrap(), None);
    assert!(
        cms::verify_signature_timestamp(&sig, &[])
            .unwrap()
            .is_none()
    );

    let signature = cms::signature_value(&sig).unwrap();
    assert_eq!(signature[0], 0x30, "DER ECDSA signature");
    let request = signature_timestamp_request(&sig);
    let response = tsp::grant(&request, &tsa.signer(), &[0x10, 0x01], Utc::now()).unwrap();
    let token = tsp::parse_response(&response).unwrap();

    let stamped = cms::with_signature_timestamp(&sig, &token).unwrap();
    assert!(stamped.len() > sig.len() + token.len());
    assert_eq!(cms::signature_value(&stamped).unwrap(), signature);
    assert_eq!(
        cms::signature_timestamp(&stamped).unwrap(),
        Some(token.clone())
    );
    let verified = cms::verify_detached(&stamped, &content).unwrap();
    assert_eq!(verified.signer, pki.seal);
    let stamp = cms::verify_signature_timestamp(&stamped, &[])
        .unwrap()
        .unwrap();
    assert_eq!(
        stamp.hashed_message,
        HashAlgorithm::Sha256.digest(&signature)
    );
    assert_eq!(stamp.policy, POLICY);
    assert_eq!(stamp.signer, tsa.cert);
    validate_chain(
        &stamp.signer,
        &stamp.certificates,
        std::slice::from_ref(&pki.root),
        stamp.gen_time,
        &[],
    )
    .unwrap();

    // The signed attributes (as `[0] IMPLICIT`), signature algorithm and signature are kept
    // byte for byte: the original SignerInfo's tail appears verbatim in the stamped CMS.
    let digest: [u8; 32] = HashAlgorithm::Sha256.digest(&content).try_into().unwrap();
    let mut signed_attrs = cms::prepare_detached(&digest, &pki.seal)
        .unwrap()
        .to_be_signed;
    signed_attrs[0] = 0xa0;
    let from = sig
        .windows(signed_attrs.len())
        .position(|w| w == signed_attrs)
        .unwrap();
    let tail = &sig[from..];
    assert!(tail.ends_with(&signature));
    assert!(stamped.windows(tail.len()).any(|w| w == tail));

    // Replacing the time stamp keeps one; stamping twice is idempotent in shape.
    let again = cms::with_signature_timestamp(&stamped, &token).unwrap();
    assert_eq!(again, stamped);

    // A token over something else is detected.
    let other_request = TimeStampRequest {
        hashed_message: HashAlgorithm::Sha256.digest(b"another signature"),
        ..request.clone()
    };
    let other_token = tsp::token(&other_request, &tsa.signer(), &[2], Utc::now()).unwrap();
    let wrong = cms::with_signature_timestamp(&sig, &other_token).unwrap();
    cms::verify_detached(&wrong, &content).unwrap();
    assert!(matches!(
        cms::verify_signature_timestamp(&wrong, &[]),
        Err(PkiError::BadCms(_))
    ));
    assert!(cms::with_signature_timestamp(&sig, b"not a token").is_err());

    // OpenSSL: the CMS verifies before and after, and the token covers the signature value.
    let dir = scratch("pades-bt");
    tsa.write_pems(&dir);
    std::fs::write(dir.join("content"), &content).unwrap();
    std::fs::write(dir.join("sig.p7s"), &sig).unwrap();
    std::fs::write(dir.join("stamped.p7s"), &stamped).unwrap();
    std::fs::write(dir.join("token.der"), &token).unwrap();
    for file in ["sig.p7s", "stamped.p7s"] {
        let out = openssl_cms_verify(&dir, file);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.contains("Verification successful"),
            "{file}: {stderr}"
        );
    }
    let printed = run(Command::new("openssl")
        .args(["cms", "-cmsout", "-print", "-inform", "DER", "-in"])
        .arg(dir.join("stamped.p7s")))
    .stdout;
    let printed = String::from_utf8_lossy(&printed);
    assert!(printed.contains("id-smime-aa-timeStampToken"), "{printed}");
    let digest_hex: String = HashAlgorithm::Sha256
        .digest(&signature)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let out = run(Command::new("openssl")
        .args(["ts", "-verify", "-token_in", "-digest", &digest_hex, "-in"])
        .arg(dir.join("token.der"))
        .arg("-CAfile")
        .arg(dir.join("root.pem"))
        .arg("-untrusted")
        .arg(dir.join("issuing.pem")));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Verification: OK"));
}

/// A signer certificate for a key held elsewhere (here: a ring key pair made in the test).
fn remote_signer(pki: &Pki, pkcs8: &[u8]) -> Certificate {
    let spki = SigningKey::from_pkcs8(pkcs8).unwrap().public_key_der();
    issue(
        &Profile::Signer { crl_url: None },
        &names("Signataire distant"),
        &spki,
        &pki.ca,
        &pki.ca_key,
        t0(),
    )
    .unwrap()
}

#[test]
fn remote_signing_with_asn1_and_fixed_ecdsa() {
    let pki = crate::make_pki(t0());
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let cert = remote_signer(&pki, pkcs8.as_ref());
    let content = b"%PDF-1.7 remote".repeat(40);
    let digest: [u8; 32] = HashAlgorithm::Sha256.digest(&content).try_into().unwrap();

    let prepared = cms::prepare_detached(&digest, &cert).unwrap();
    assert_eq!(prepared.to_be_signed[0], 0x31, "a DER SET OF");
    assert_eq!(
        prepared.digest.to_vec(),
        HashAlgorithm::Sha256.digest(&prepared.to_be_signed)
    );
    for alg in [
        &ECDSA_P256_SHA256_ASN1_SIGNING,
        &ECDSA_P256_SHA256_FIXED_SIGNING,
    ] {
        let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap();
        assert_eq!(pair.public_key().as_ref().len(), 65);
        let signature = pair.sign(&rng, &prepared.to_be_signed).unwrap();
        let cms_der = cms::assemble_detached(
            &prepared,
            signature.as_ref(),
            &cert,
            std::slice::from_ref(&pki.ca),
        )
        .unwrap();
        let verified = cms::verify_detached(&cms_der, &content).unwrap();
        assert_eq!(verified.signer, cert);
        assert!(verified.certificates.contains(&pki.ca));
        let stored = cms::signature_value(&cms_der).unwrap();
        assert_eq!(stored[0], 0x30, "stored as DER");
        validate_chain(
            &verified.signer,
            &verified.certificates,
            std::slice::from_ref(&pki.root),
            t0(),
            &[],
        )
        .unwrap();
    }

    // The one-step path signs the very same attributes, and both outputs differ only in the
    // signature.
    let key = SigningKey::from_pkcs8(pkcs8.as_ref()).unwrap();
    let one_step =
        cms::sign_detached_digest(&digest, &key, &cert, std::slice::from_ref(&pki.ca)).unwrap();
    cms::verify_detached(&one_step, &content).unwrap();
    let mut implicit = prepared.to_be_signed.clone();
    implicit[0] = 0xa0;
    assert!(one_step.windows(implicit.len()).any(|w| w == implicit));
    let one_step_signature = cms::signature_value(&one_step).unwrap();
    let two_step = cms::assemble_detached(
        &prepared,
        &one_step_signature,
        &cert,
        std::slice::from_ref(&pki.ca),
    )
    .unwrap();
    assert_eq!(two_step, one_step);
}

#[test]
fn remote_signing_refuses_a_signature_by_another_key() {
    let pki = crate::make_pki(t0());
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let cert = remote_signer(&pki, pkcs8.as_ref());
    let prepared = cms::prepare_detached(&[7; 32], &cert).unwrap();

    let other = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    for alg in [
        &ECDSA_P256_SHA256_ASN1_SIGNING,
        &ECDSA_P256_SHA256_FIXED_SIGNING,
    ] {
        let pair = EcdsaKeyPair::from_pkcs8(alg, other.as_ref(), &rng).unwrap();
        let signature = pair.sign(&rng, &prepared.to_be_signed).unwrap();
        let err = cms::assemble_detached(&prepared, signature.as_ref(), &cert, &[]).unwrap_err();
        assert!(err.to_string().contains("does not verify"), "{err}");
    }
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    assert!(cms::assemble_detached(&prepared, &[0; 64], &cert, &[]).is_err());
    assert!(cms::assemble_detached(&prepared, &[], &cert, &[]).is_err());

    // Signed attributes prepared for another certificate, or altered, are refused even with
    // a good signature over them.
    let other_cert = remote_signer(&pki, other.as_ref());
    let foreign = cms::prepare_detached(&[7; 32], &other_cert).unwrap();
    let signature = pair.sign(&rng, &foreign.to_be_signed).unwrap();
    assert!(cms::assemble_detached(&foreign, signature.as_ref(), &cert, &[]).is_err());
    let mut altered = prepared.clone();
    altered.digest[0] ^= 1;
    let signature = pair.sign(&rng, &altered.to_be_signed).unwrap();
    assert!(cms::assemble_detached(&altered, signature.as_ref(), &cert, &[]).is_err());
    let garbage = cms::PreparedSignature {
        digest: HashAlgorithm::Sha256
            .digest(b"\x31\x00")
            .try_into()
            .unwrap(),
        to_be_signed: b"\x31\x00".to_vec(),
    };
    let signature = pair.sign(&rng, &garbage.to_be_signed).unwrap();
    assert!(cms::assemble_detached(&garbage, signature.as_ref(), &cert, &[]).is_err());
}

#[test]
fn remote_signing_with_rsa() {
    let dir = scratch("remote-rsa");
    let pkcs8 = openssl_rsa_pkcs8(&dir);
    let pki = crate::make_pki(t0());
    let cert = remote_signer(&pki, &pkcs8);
    let key = SigningKey::from_pkcs8(&pkcs8).unwrap();
    let prepared = cms::prepare_detached(&[1; 32], &cert).unwrap();
    let signature = key.sign_der(&prepared.to_be_signed).unwrap();
    let cms_der = cms::assemble_detached(&prepared, &signature, &cert, &[]).unwrap();
    assert_eq!(cms::signature_value(&cms_der).unwrap(), signature);
    let mut bad = signature.clone();
    bad[10] ^= 1;
    assert!(cms::assemble_detached(&prepared, &bad, &cert, &[]).is_err());
}
