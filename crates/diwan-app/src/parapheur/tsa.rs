//! Diwan's time-stamping unit (RFC 3161): its certificate comes from the installation's CA
//! (critical extended key usage timeStamping); it answers standard time-stamp requests over
//! HTTP and stamps the signatures the parapheur makes (PAdES B-T).

use diwan_pki::tsp::{self, FailureInfo, HashAlgorithm};

use crate::Services;
use crate::error::{AppError, Rejection};

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

/// An external time-stamping authority (`pki.tsa_url`), reached over HTTP by the server.
pub trait TimeStampAuthority: Send + Sync {
    /// Posts a DER `TimeStampReq` (`application/timestamp-query`); answers the DER
    /// `TimeStampResp`, or why it could not be had.
    fn post(&self, request: &[u8]) -> Result<Vec<u8>, String>;
    /// Where it is, for messages.
    fn url(&self) -> &str;
}

/// A time-stamp token (DER ContentInfo) over `digest` (SHA-256), with its certificates: from
/// the configured external authority when there is one, else from this installation's unit.
pub fn stamp(s: &Services, digest: &[u8; 32]) -> Result<Vec<u8>, AppError> {
    let rt = s
        .runtime
        .get()
        .ok_or_else(|| AppError::unavailable("not started"))?;
    if let Some(external) = &rt.external_tsa {
        return stamp_externally(s, rt, external.as_ref(), digest);
    }
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

fn tsa_failed(tsa: &dyn TimeStampAuthority, why: impl std::fmt::Display) -> AppError {
    AppError::rejected(
        Rejection::Unavailable,
        "tsa_unavailable",
        format!(
            "the time-stamping authority {} gave no usable time-stamp ({why}); nothing was signed, try again later",
            tsa.url()
        ),
    )
}

/// Asks the external authority, then checks its answer before it goes into a signature: the
/// token's signature, the imprint and the nonce, and that the authority's certificate leads to
/// an anchor of this installation (its root or `pki.trusted_roots`) at the stamp's time.
fn stamp_externally(
    s: &Services,
    rt: &crate::Runtime,
    tsa: &dyn TimeStampAuthority,
    digest: &[u8; 32],
) -> Result<Vec<u8>, AppError> {
    let mut nonce = random_serial()?.to_vec();
    nonce.truncate(8);
    let request = tsp::encode_request(HashAlgorithm::Sha256, digest, Some(&nonce), true)
        .map_err(|e| AppError::internal(format!("time-stamp request: {e}")))?;
    let answer = tsa.post(&request).map_err(|e| tsa_failed(tsa, e))?;
    let token = tsp::parse_response(&answer).map_err(|e| tsa_failed(tsa, e))?;
    let verified = tsp::verify_token(&token, &[]).map_err(|e| tsa_failed(tsa, e))?;
    if verified.hash_algorithm != HashAlgorithm::Sha256 || verified.hashed_message != digest {
        return Err(tsa_failed(tsa, "the token stamps something else"));
    }
    if verified.nonce.as_deref() != Some(nonce.as_slice()) {
        return Err(tsa_failed(tsa, "the token does not carry our nonce"));
    }
    let others: Vec<_> = verified
        .certificates
        .iter()
        .filter(|c| **c != verified.signer)
        .cloned()
        .collect();
    let crls = rt.pki.cached_crls(s.store.as_ref(), s.clock.now())?;
    diwan_pki::validate_chain(
        &verified.signer,
        &others,
        &rt.pki.anchors(),
        verified.gen_time,
        &crls,
    )
    .map_err(|e| tsa_failed(tsa, format!("its certificate is not trusted here: {e}")))?;
    Ok(token)
}
