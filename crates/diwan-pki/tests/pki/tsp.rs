//! RFC 3161 time stamps: round trips, refusals, hostile input, and OpenSSL's `ts`.

use std::path::Path;
use std::process::Command;

use chrono::{DateTime, TimeDelta, Utc};
use diwan_pki::tsp::{self, FailureInfo, HashAlgorithm, TimeStampRequest, TsaSigner};
use diwan_pki::{Certificate, PkiError, Profile, SigningKey, cms, issue, validate_chain};

use crate::{Pki, make_pki, names, run, scratch, t0};

pub(crate) const POLICY: &str = "1.3.6.1.4.1.99999.3161.1";

pub(crate) struct Tsa {
    pub(crate) pki: Pki,
    pub(crate) key: SigningKey,
    pub(crate) cert: Certificate,
}

impl Tsa {
    pub(crate) fn signer(&self) -> TsaSigner<'_> {
        TsaSigner {
            key: &self.key,
            certificate: &self.cert,
            chain: std::slice::from_ref(&self.pki.ca),
            policy: POLICY,
        }
    }

    /// root.pem, issuing.pem, and tsa-chain.pem (TSA certificate then issuing CA) in `dir`.
    pub(crate) fn write_pems(&self, dir: &Path) {
        std::fs::write(dir.join("root.pem"), self.pki.root.to_pem()).unwrap();
        std::fs::write(dir.join("issuing.pem"), self.pki.ca.to_pem()).unwrap();
        std::fs::write(
            dir.join("tsa-chain.pem"),
            self.cert.to_pem() + &self.pki.ca.to_pem(),
        )
        .unwrap();
    }
}

pub(crate) fn make_tsa(now: DateTime<Utc>) -> Tsa {
    let pki = make_pki(now);
    let key = SigningKey::generate_p256().unwrap();
    let cert = tsa_certificate(&pki, &key, now);
    Tsa { pki, key, cert }
}

fn tsa_certificate(pki: &Pki, key: &SigningKey, now: DateTime<Utc>) -> Certificate {
    issue(
        &Profile::TimeStamping {
            crl_url: Some("http://pki.example/ca.crl".to_owned()),
        },
        &names("Diwan TSA"),
        &key.public_key_der(),
        &pki.ca,
        &pki.ca_key,
        now,
    )
    .unwrap()
}

fn sha256_request(data: &[u8], nonce: Option<&[u8]>, cert_req: bool) -> TimeStampRequest {
    let der = tsp::encode_request(
        HashAlgorithm::Sha256,
        &HashAlgorithm::Sha256.digest(data),
        nonce,
        cert_req,
    )
    .unwrap();
    tsp::parse_request(&der).unwrap()
}

fn failure_of(result: Result<impl std::fmt::Debug, PkiError>) -> Option<FailureInfo> {
    match result {
        Err(PkiError::TimeStamp { failure, .. }) => failure,
        other => panic!("expected a time-stamp error, got {other:?}"),
    }
}

#[test]
fn tsp_grant_round_trip_copies_nonce_and_imprint() {
    let tsa = make_tsa(t0());
    let data = b"registre d'arrivee 2025/000123";
    let nonce = [0x1f, 0xee, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06];
    let request = sha256_request(data, Some(&nonce), true);
    assert_eq!(request.hash_algorithm, HashAlgorithm::Sha256);
    assert_eq!(request.hashed_message, HashAlgorithm::Sha256.digest(data));
    assert_eq!(request.nonce.as_deref(), Some(&nonce[..]));
    assert!(request.cert_req && request.policy.is_none());

    let gen_time = t0() + TimeDelta::seconds(30) + TimeDelta::milliseconds(250);
    let serial = [0x00, 0x9a, 0xbc, 0x01];
    let response = tsp::grant(&request, &tsa.signer(), &serial, gen_time).unwrap();
    let token = tsp::parse_response(&response).unwrap();
    let verified = tsp::verify_token(&token, &[]).unwrap();
    assert_eq!(verified.gen_time, gen_time);
    assert_eq!(verified.serial_hex, "9abc01");
    assert_eq!(verified.policy, POLICY);
    assert_eq!(verified.hash_algorithm, HashAlgorithm::Sha256);
    assert_eq!(verified.hashed_message, request.hashed_message);
    assert_eq!(verified.nonce.as_deref(), Some(&nonce[..]));
    assert_eq!(verified.signer, tsa.cert);
    assert_eq!(verified.certificates.len(), 2);
    assert!(
        verified.certificates.contains(&tsa.cert) && verified.certificates.contains(&tsa.pki.ca)
    );
    let report = validate_chain(
        &verified.signer,
        &verified.certificates,
        std::slice::from_ref(&tsa.pki.root),
        verified.gen_time,
        &[],
    )
    .unwrap();
    assert_eq!(report.anchor_subject, tsa.pki.root.subject());

    // `token` alone is what `grant` wraps.
    let alone = tsp::token(&request, &tsa.signer(), &serial, gen_time).unwrap();
    assert_eq!(tsp::verify_token(&alone, &[]).unwrap().serial_hex, "9abc01");

    // Whole seconds, no nonce, no certificates: the caller supplies the TSA certificate.
    let request = sha256_request(data, None, false);
    let token = tsp::token(&request, &tsa.signer(), &[7], t0()).unwrap();
    assert!(
        tsp::verify_token(&token, &[]).is_err(),
        "no certificate to verify with"
    );
    let verified = tsp::verify_token(&token, std::slice::from_ref(&tsa.cert)).unwrap();
    assert!(verified.certificates.is_empty() && verified.nonce.is_none());
    assert_eq!(verified.gen_time, t0());
    assert_eq!(verified.serial_hex, "07");

    // Asking for our own policy is fine; SHA-512 and SHA-1 imprints too.
    for alg in [
        HashAlgorithm::Sha512,
        HashAlgorithm::Sha384,
        HashAlgorithm::Sha1,
    ] {
        let request = TimeStampRequest {
            hash_algorithm: alg,
            hashed_message: alg.digest(data),
            policy: Some(POLICY.to_owned()),
            nonce: Some(vec![0x00, 0x80]),
            cert_req: true,
        };
        let token = tsp::token(&request, &tsa.signer(), &[1, 2, 3], t0()).unwrap();
        let verified = tsp::verify_token(&token, &[]).unwrap();
        assert_eq!(verified.hash_algorithm, alg);
        assert_eq!(verified.hashed_message.len(), alg.digest_len());
        assert_eq!(verified.nonce, Some(vec![0x00, 0x80]));
        assert_eq!(HashAlgorithm::from_oid(alg.oid()), Some(alg));
    }
}

#[test]
fn tsp_refuses_other_policy_bad_hash_and_unknown_algorithm() {
    let tsa = make_tsa(t0());
    let mut request = sha256_request(b"x", Some(&[5]), true);
    request.policy = Some("1.2.3.4".to_owned());
    let err = tsp::grant(&request, &tsa.signer(), &[1], t0()).unwrap_err();
    assert_eq!(
        FailureInfo::for_error(&err),
        FailureInfo::UnacceptedPolicy,
        "{err}"
    );
    assert!(tsp::is_unaccepted_policy(&err) && !tsp::is_unknown_algorithm(&err));
    let answer = tsp::rejection(FailureInfo::for_error(&err), Some(&err.to_string()));
    match tsp::parse_response(&answer).unwrap_err() {
        PkiError::TimeStampRefused {
            status,
            failure,
            text,
        } => {
            assert_eq!(status, 2);
            assert_eq!(failure, Some(FailureInfo::UnacceptedPolicy));
            assert!(text.unwrap().contains("1.2.3.4"));
        }
        other => panic!("{other:?}"),
    }

    // Hash length must match the algorithm, on both sides.
    assert_eq!(
        failure_of(tsp::encode_request(
            HashAlgorithm::Sha256,
            &[0; 31],
            None,
            false
        )),
        Some(FailureInfo::BadDataFormat)
    );
    let short = TimeStampRequest {
        hashed_message: vec![0; 20],
        policy: None,
        ..sha256_request(b"x", None, false)
    };
    assert_eq!(
        failure_of(tsp::grant(&short, &tsa.signer(), &[1], t0())),
        Some(FailureInfo::BadDataFormat)
    );
    assert!(tsp::encode_request(HashAlgorithm::Sha256, &[0; 32], Some(&[0, 1]), false).is_err());

    // Hand-edited requests: unknown algorithm, version 2, trailing byte, oversize.
    let good = tsp::encode_request(HashAlgorithm::Sha256, &[0xab; 32], Some(&[9]), false).unwrap();
    let sha256_oid = [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
    let at = good
        .windows(sha256_oid.len())
        .position(|w| w == sha256_oid)
        .unwrap();
    let mut unknown = good.clone();
    unknown[at + sha256_oid.len() - 1] = 0x05; // SHA-512/224
    assert_eq!(
        failure_of(tsp::parse_request(&unknown)),
        Some(FailureInfo::BadAlg)
    );
    assert!(tsp::is_unknown_algorithm(
        &tsp::parse_request(&unknown).unwrap_err()
    ));
    assert_eq!(
        FailureInfo::for_error(&PkiError::Crypto),
        FailureInfo::SystemFailure
    );
    assert_eq!(&good[2..5], [0x02, 0x01, 0x01], "version first");
    let mut v2 = good.clone();
    v2[4] = 2;
    assert_eq!(
        failure_of(tsp::parse_request(&v2)),
        Some(FailureInfo::BadRequest)
    );
    let mut trailing = good.clone();
    trailing.push(0);
    assert_eq!(
        failure_of(tsp::parse_request(&trailing)),
        Some(FailureInfo::BadDataFormat)
    );
    assert_eq!(
        failure_of(tsp::parse_request(&vec![0x30; 70_000])),
        Some(FailureInfo::BadRequest)
    );
    tsp::parse_request(&good).unwrap();

    // The TSA certificate must be a time-stamping one; the serial positive and short.
    let seal_as_tsa = TsaSigner {
        key: &tsa.pki.seal_key,
        certificate: &tsa.pki.seal,
        chain: &[],
        policy: POLICY,
    };
    let request = sha256_request(b"x", None, false);
    assert!(tsp::grant(&request, &seal_as_tsa, &[1], t0()).is_err());
    let wrong_key = TsaSigner {
        key: &tsa.pki.seal_key,
        ..tsa.signer()
    };
    assert!(tsp::grant(&request, &wrong_key, &[1], t0()).is_err());
    assert!(tsp::grant(&request, &tsa.signer(), &[0, 0], t0()).is_err());
    assert!(tsp::grant(&request, &tsa.signer(), &[1; 21], t0()).is_err());
    let bad_policy = TsaSigner {
        policy: "not an oid",
        ..tsa.signer()
    };
    assert!(tsp::grant(&request, &bad_policy, &[1], t0()).is_err());

    // A tampered token and a signature that is not a time stamp do not verify.
    let request = sha256_request(b"y", None, true);
    let mut token = tsp::token(&request, &tsa.signer(), &[1], t0()).unwrap();
    let at = token
        .windows(32)
        .position(|w| w == request.hashed_message.as_slice())
        .unwrap();
    token[at] ^= 1;
    assert!(matches!(
        tsp::verify_token(&token, &[]),
        Err(PkiError::BadCms(_))
    ));
    let detached = cms::sign_detached(b"y", &tsa.pki.seal_key, &tsa.pki.seal, &[]).unwrap();
    assert!(tsp::verify_token(&detached, &[]).is_err());
    // Without certificates in the token, another certificate cannot stand in for the TSA's.
    let request = sha256_request(b"z", None, false);
    let token = tsp::token(&request, &tsa.signer(), &[1], t0()).unwrap();
    assert!(tsp::verify_token(&token, std::slice::from_ref(&tsa.pki.seal)).is_err());
}

#[test]
fn tsp_hostile_and_truncated_inputs_are_errors() {
    let tsa = make_tsa(t0());
    let request_der =
        tsp::encode_request(HashAlgorithm::Sha256, &[0x42; 32], Some(&[0x11; 8]), true).unwrap();
    let request = tsp::parse_request(&request_der).unwrap();
    let response = tsp::grant(&request, &tsa.signer(), &[0x33; 16], t0()).unwrap();
    let token = tsp::parse_response(&response).unwrap();
    tsp::verify_token(&token, &[]).unwrap();
    let rejection = tsp::rejection(FailureInfo::SystemFailure, Some("indisponible"));

    for cut in 0..request_der.len() {
        assert!(
            tsp::parse_request(&request_der[..cut]).is_err(),
            "request cut at {cut}"
        );
    }
    for cut in 0..response.len() {
        assert!(
            tsp::parse_response(&response[..cut]).is_err(),
            "response cut at {cut}"
        );
    }
    for cut in 0..rejection.len() {
        let err = tsp::parse_response(&rejection[..cut]).unwrap_err();
        assert!(
            matches!(err, PkiError::TimeStamp { .. }),
            "rejection cut at {cut}: {err}"
        );
    }
    for cut in 0..token.len() {
        assert!(
            tsp::verify_token(&token[..cut], &[]).is_err(),
            "token cut at {cut}"
        );
        assert!(cms::verify_signature_timestamp(&token[..cut], &[]).is_err());
    }
    // Single-byte corruptions: any outcome but a panic; a changed TSTInfo never verifies
    // with the original content.
    for i in 0..request_der.len() {
        let mut bad = request_der.clone();
        bad[i] ^= 0xff;
        let _ = tsp::parse_request(&bad);
    }
    for i in 0..response.len() {
        let mut bad = response.clone();
        bad[i] ^= 0x5a;
        if let Ok(t) = tsp::parse_response(&bad) {
            let _ = tsp::verify_token(&t, &[]);
        }
    }
    for garbage in [
        &[][..],
        &[0x30],
        &[0x30, 0x80, 0x00, 0x00],
        &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
        &[0x30, 0x03, 0x02, 0x01, 0x00],
        &[0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x00],
        &[0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x01],
        &[0xff; 64],
    ] {
        assert!(tsp::parse_request(garbage).is_err());
        assert!(tsp::verify_token(garbage, &[]).is_err());
        assert!(cms::signature_value(garbage).is_err());
        assert!(cms::with_signature_timestamp(garbage, &token).is_err());
        assert!(tsp::parse_response(garbage).is_err());
    }
    // Granted without a token.
    assert!(matches!(
        tsp::parse_response(&[0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x00]),
        Err(PkiError::TimeStamp { .. })
    ));
    assert!(tsp::verify_token(&vec![0x30; tsp::MAX_TOKEN_LEN + 1], &[]).is_err());
}

fn openssl_ts(dir: &Path, tsa: &Tsa, digest: &str, cert_req: bool, serial: u8) {
    let data = dir.join("data.bin");
    std::fs::write(&data, b"%PDF-1.7 courrier arrivee".repeat(50)).unwrap();
    let query = dir.join(format!("req{serial}.tsq"));
    let reply = dir.join(format!("resp{serial}.tsr"));
    let mut cmd = Command::new("openssl");
    cmd.args(["ts", "-query", "-data"]).arg(&data).arg(digest);
    if cert_req {
        cmd.arg("-cert");
    }
    run(cmd.arg("-out").arg(&query));

    let request = tsp::parse_request(&std::fs::read(&query).unwrap()).unwrap();
    assert_eq!(request.cert_req, cert_req, "{digest}");
    assert!(request.nonce.is_some(), "openssl sends a nonce by default");
    assert_eq!(
        request.hashed_message,
        request
            .hash_algorithm
            .digest(&std::fs::read(&data).unwrap())
    );
    let response = tsp::grant(&request, &tsa.signer(), &[0x01, serial], Utc::now()).unwrap();
    std::fs::write(&reply, &response).unwrap();

    let out = run(Command::new("openssl")
        .args(["ts", "-reply", "-text", "-in"])
        .arg(&reply));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Status: Granted"), "{text}");
    assert!(text.contains(POLICY), "{text}");
    assert!(text.contains("Nonce: 0x"), "{text}");

    let untrusted = if cert_req {
        "issuing.pem"
    } else {
        "tsa-chain.pem"
    };
    for (how, input) in [("-data", &data), ("-queryfile", &query)] {
        let out = run(Command::new("openssl")
            .args(["ts", "-verify", how])
            .arg(input)
            .arg("-in")
            .arg(&reply)
            .arg("-CAfile")
            .arg(dir.join("root.pem"))
            .arg("-untrusted")
            .arg(dir.join(untrusted)));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("Verification: OK"),
            "{digest} cert_req={cert_req} {how}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let token = tsp::parse_response(&response).unwrap();
    let verified = tsp::verify_token(&token, std::slice::from_ref(&tsa.cert)).unwrap();
    assert_eq!(verified.nonce, request.nonce);
}

#[test]
fn tsp_interoperates_with_openssl_ts() {
    let tsa = make_tsa(Utc::now());
    let dir = scratch("tsp-openssl");
    tsa.write_pems(&dir);
    openssl_ts(&dir, &tsa, "-sha256", true, 1);
    openssl_ts(&dir, &tsa, "-sha256", false, 2);
    openssl_ts(&dir, &tsa, "-sha512", true, 3);
    openssl_ts(&dir, &tsa, "-sha1", true, 4);
    openssl_ts(&dir, &tsa, "-sha384", false, 5);

    // OpenSSL reads our rejections too.
    std::fs::write(
        dir.join("rejected.tsr"),
        tsp::rejection(FailureInfo::BadAlg, Some("algorithme inconnu")),
    )
    .unwrap();
    let out = run(Command::new("openssl")
        .args(["ts", "-reply", "-text", "-in"])
        .arg(dir.join("rejected.tsr")));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Status: Rejected"), "{text}");
    assert!(
        text.contains("unrecognized or unsupported algorithm"),
        "{text}"
    );
    assert!(text.contains("algorithme inconnu"), "{text}");

    // A tampered reply is refused by OpenSSL as well.
    let request = tsp::parse_request(&std::fs::read(dir.join("req1.tsq")).unwrap()).unwrap();
    let mut other = request.clone();
    other.hashed_message[0] ^= 1;
    let response = tsp::grant(&other, &tsa.signer(), &[9], Utc::now()).unwrap();
    std::fs::write(dir.join("other.tsr"), response).unwrap();
    let out = Command::new("openssl")
        .args(["ts", "-verify", "-data"])
        .arg(dir.join("data.bin"))
        .arg("-in")
        .arg(dir.join("other.tsr"))
        .arg("-CAfile")
        .arg(dir.join("root.pem"))
        .arg("-untrusted")
        .arg(dir.join("issuing.pem"))
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("Verification: OK"));
}

#[test]
fn tsp_rsa_time_stamping_unit_interoperates_with_openssl() {
    let dir = scratch("tsp-rsa");
    let key = SigningKey::from_pkcs8(&openssl_rsa_pkcs8(&dir)).unwrap();
    let pki = make_pki(Utc::now());
    let cert = tsa_certificate(&pki, &key, Utc::now());
    let tsa = Tsa { pki, key, cert };
    tsa.write_pems(&dir);
    openssl_ts(&dir, &tsa, "-sha256", true, 1);
    openssl_ts(&dir, &tsa, "-sha512", false, 2);
}

/// A fresh 2048-bit RSA key from OpenSSL, as PKCS#8 DER.
pub(crate) fn openssl_rsa_pkcs8(dir: &Path) -> Vec<u8> {
    run(Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(dir.join("rsa.pem")));
    run(Command::new("openssl")
        .args(["pkcs8", "-topk8", "-nocrypt", "-outform", "DER", "-in"])
        .arg(dir.join("rsa.pem"))
        .arg("-out")
        .arg(dir.join("rsa.der")));
    std::fs::read(dir.join("rsa.der")).unwrap()
}
