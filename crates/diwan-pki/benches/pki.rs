//! Prints per-operation costs: `cargo bench -p diwan-pki`.

#![expect(clippy::unwrap_used, reason = "a benchmark: failing loudly is right")]

use std::time::Instant;

use chrono::Utc;
use diwan_pki::{Names, Profile, SigningKey, cms, issue, jws, self_signed_root, validate_chain};

fn measure(name: &str, iterations: u32, mut op: impl FnMut()) {
    let start = Instant::now();
    for _ in 0..iterations {
        op();
    }
    let per_op = start.elapsed() / iterations;
    let per_sec = 1.0 / per_op.as_secs_f64();
    println!("{name:<40} {per_op:>12.2?}/op {per_sec:>10.0}/s (one core)");
}

fn main() {
    let now = Utc::now();
    let root_key = SigningKey::generate_p256().unwrap();
    let root = self_signed_root(&Names::cn("Bench Root"), &root_key, now).unwrap();
    let ca_key = SigningKey::generate_p256().unwrap();
    let ca_profile = Profile::IssuingCa { crl_url: None };
    let ca_spki = ca_key.public_key_der();
    let ca = issue(
        &ca_profile,
        &Names::cn("Bench CA"),
        &ca_spki,
        &root,
        &root_key,
        now,
    )
    .unwrap();
    let key = SigningKey::generate_p256().unwrap();
    let seal_profile = Profile::Seal { crl_url: None };
    let spki = key.public_key_der();
    let seal = issue(
        &seal_profile,
        &Names::cn("Bench Seal"),
        &spki,
        &ca,
        &ca_key,
        now,
    )
    .unwrap();
    let chain = [seal.clone(), ca.clone()];
    let payload = br#"{"number":"2025/000123","unit":"BO","subject":"demande"}"#;

    let signer = jws::Signer::new(&key, &chain).unwrap();
    measure("jws Signer::sign", 5_000, || {
        signer.sign(payload).unwrap();
    });
    let token = signer.sign(payload).unwrap();
    measure("jws::verify_signature (parses x5c)", 5_000, || {
        jws::verify_signature(&token).unwrap();
    });
    let anchors = [root.clone()];
    let inter = [ca.clone()];
    measure("validate_chain (no CRL)", 2_000, || {
        validate_chain(&seal, &inter, &anchors, now, &[]).unwrap();
    });
    let content = vec![7u8; 200_000];
    measure("cms::sign_detached (200 kB)", 1_000, || {
        cms::sign_detached(&content, &key, &seal, &inter).unwrap();
    });
    let sig = cms::sign_detached(&content, &key, &seal, &inter).unwrap();
    measure("cms::verify_detached (200 kB)", 1_000, || {
        cms::verify_detached(&sig, &content).unwrap();
    });
    measure("SigningKey::from_pkcs8 (P-256)", 2_000, || {
        SigningKey::from_pkcs8(key.pkcs8_der()).unwrap();
    });
    measure("issue (seal)", 500, || {
        issue(&seal_profile, &Names::cn("x"), &spki, &ca, &ca_key, now).unwrap();
    });
}
