//! Diwan's time-stamping unit (RFC 3161): its certificate comes from the installation's CA
//! (critical extended key usage timeStamping); it answers standard time-stamp requests over
//! HTTP and stamps the signatures the parapheur makes (PAdES B-T).

use diwan_pki::tsp::{self, FailureInfo, HashAlgorithm};

use crate::Services;
use crate::error::AppError;

/// Largest request accepted.
pub const MAX_REQUEST: usize = 64 * 1024;

fn random_serial() -> Result<[u8; 16], AppError> {
    let mut serial = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut serial)
        .map_err(|_| AppError::internal("random source failed"))?;
    // Positive, and never a leading zero byte.
    serial[0] = (serial[0] & 0x7f).max(1);
    Ok(serial)
}

/// Answers a DER `TimeStampReq` with a DER `TimeStampResp`: granted, or a rejection saying
/// why (bad algorithm, bad request, unaccepted policy). Never fails for bad input.
pub fn respond(s: &Services, request: &[u8]) -> Result<Vec<u8>, AppError> {
    let rt = s
        .runtime
        .get()
        .ok_or_else(|| AppError::unavailable("not started"))?;
    respond_with(s, rt, request)
}

/// Whether an HTTP caller without a token may use the unit (`pki.tsa_public`).
pub fn open_to_anyone(s: &Services) -> bool {
    s.runtime.get().is_none_or(|rt| rt.pki.tsa_public())
}

fn respond_with(s: &Services, rt: &crate::Runtime, request: &[u8]) -> Result<Vec<u8>, AppError> {
    if request.len() > MAX_REQUEST {
        return Ok(tsp::rejection(
            FailureInfo::BadRequest,
            Some("the request is too large"),
        ));
    }
    let parsed = match tsp::parse_request(request) {
        Ok(r) => r,
        Err(e) => {
            return Ok(tsp::rejection(
                FailureInfo::for_error(&e),
                Some(&e.to_string()),
            ));
        }
    };
    let tsa = &rt.pki.tsa;
    let signer = tsp::TsaSigner {
        key: &tsa.key,
        certificate: &tsa.certificate,
        chain: &tsa.chain,
        policy: rt.pki.tsa_policy(),
    };
    match tsp::grant(&parsed, &signer, &random_serial()?, s.clock.now()) {
        Ok(reply) => Ok(reply),
        Err(e) if tsp::is_unaccepted_policy(&e) => Ok(tsp::rejection(
            FailureInfo::UnacceptedPolicy,
            Some(&e.to_string()),
        )),
        Err(e) => {
            tracing::error!(error = %e, "the time-stamping unit failed");
            Ok(tsp::rejection(FailureInfo::SystemFailure, None))
        }
    }
}

/// A time-stamp token (DER ContentInfo) over `digest` (SHA-256), from this installation's
/// unit, with its certificates.
pub fn stamp(s: &Services, digest: &[u8; 32]) -> Result<Vec<u8>, AppError> {
    let rt = s
        .runtime
        .get()
        .ok_or_else(|| AppError::unavailable("not started"))?;
    let request = tsp::TimeStampRequest {
        hash_algorithm: HashAlgorithm::Sha256,
        hashed_message: digest.to_vec(),
        policy: None,
        nonce: None,
        cert_req: true,
    };
    let tsa = &rt.pki.tsa;
    let signer = tsp::TsaSigner {
        key: &tsa.key,
        certificate: &tsa.certificate,
        chain: &tsa.chain,
        policy: rt.pki.tsa_policy(),
    };
    tsp::token(&request, &signer, &random_serial()?, s.clock.now())
        .map_err(|e| AppError::internal(format!("time-stamping: {e}")))
}
