//! Verification of a receipt (signed JSON, or sealed PDF), or of any PDF signed by this
//! installation: the signature, the chain up to a trust anchor at signing time, the
//! certificates' status, and — when the register is at hand — the registration and its log
//! entry.

use chrono::{DateTime, Utc};
use diwan_domain::merkle::verify_inclusion;
use diwan_pki::{Certificate, PkiError};
use serde::Serialize;
use serde_json::Value;

use crate::Services;
use crate::log::{hex, unhex};
use crate::merkle::Sha256Tree;

/// Largest input accepted.
pub const MAX_INPUT: usize = 30 * 1024 * 1024;

#[derive(Debug, Clone, Default, Serialize)]
pub struct SignatureReport {
    /// The signature matches the signed bytes and the signer's key.
    pub intact: bool,
    pub signer: Option<String>,
    /// For a PDF: the byte range covers the whole file (nothing was appended after sealing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub covers_whole_file: Option<bool>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ChainReport {
    pub trusted: bool,
    /// The anchor the chain ends at.
    pub anchor: Option<String>,
    pub anchor_sha256: Option<String>,
    pub path: Vec<String>,
    /// The time the chain and the certificates' status were judged at (the signing time).
    pub at: Option<String>,
    /// Whether CRLs of every level were consulted.
    pub revocation_checked: bool,
    /// `good`, `revoked` or `unknown`.
    pub status: String,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RegistrationReport {
    /// Whether the register was consulted (not offline).
    pub checked: bool,
    pub found: bool,
    pub matches: bool,
    pub registration_number: Option<String>,
    pub annulled: bool,
    pub mismatches: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct LogReport {
    pub leaf_index: Option<u64>,
    pub tree_size: Option<u64>,
    /// The inclusion proof leads from the leaf to the signed tree head's root.
    pub included: bool,
    /// The tree head's signature is valid and chains to the anchor.
    pub head_signed: bool,
    /// The register's own log holds the same leaf and the same head (online only).
    pub matches_register: Option<bool>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub valid: bool,
    /// `receipt_json`, `receipt_pdf` or `signed_pdf`.
    pub kind: String,
    pub signature: SignatureReport,
    pub chain: ChainReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration: Option<RegistrationReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<LogReport>,
    pub problems: Vec<String>,
}

/// What verification trusts and consults.
pub struct Context<'a> {
    pub anchors: &'a [Certificate],
    pub crls: &'a [Vec<u8>],
    /// The register, when verifying online.
    pub services: Option<&'a Services>,
    /// Chains already validated (online, against this installation's root).
    pub cache: Option<&'a ChainCache>,
    /// Serials of every revoked certificate: chains holding one are never taken from the
    /// cache.
    pub revoked_serials: &'a [String],
}

/// Chains validated once, reused while the validation time falls inside every certificate's
/// validity (and none of them is revoked). Bounded: cleared when full.
#[derive(Debug, Default)]
pub struct ChainCache {
    map: std::sync::Mutex<std::collections::HashMap<Vec<u8>, CachedChain>>,
    /// Tree heads whose signature verified.
    heads: std::sync::Mutex<
        std::collections::HashMap<[u8; 32], std::sync::Arc<diwan_pki::jws::Verified>>,
    >,
}

#[derive(Debug, Clone)]
struct CachedChain {
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    report: ChainReport,
}

const CHAIN_CACHE_MAX: usize = 4096;

impl ChainCache {
    fn key(leaf: &Certificate, others: &[Certificate]) -> Vec<u8> {
        let mut k = leaf.sha256_fingerprint().to_vec();
        for c in others {
            k.extend_from_slice(&c.sha256_fingerprint());
        }
        k
    }

    fn get(&self, key: &[u8], at: DateTime<Utc>) -> Option<ChainReport> {
        let map = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(key)
            .filter(|c| c.from <= at && at <= c.until)
            .map(|c| c.report.clone())
    }

    fn put(&self, key: Vec<u8>, from: DateTime<Utc>, until: DateTime<Utc>, report: &ChainReport) {
        let mut map = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= CHAIN_CACHE_MAX {
            map.clear();
        }
        map.insert(
            key,
            CachedChain {
                from,
                until,
                report: report.clone(),
            },
        );
    }
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A PDF date `D:YYYYMMDDHHmmSS...` as UTC (offsets honoured when given).
fn pdf_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.strip_prefix("D:").unwrap_or(s);
    let digits: String = s.chars().take(14).collect();
    let naive = chrono::NaiveDateTime::parse_from_str(&digits, "%Y%m%d%H%M%S").ok()?;
    let rest = &s[digits.len().min(s.len())..];
    let offset = match rest.chars().next() {
        Some(sign @ ('+' | '-')) => {
            let t: String = rest[1..].chars().filter(char::is_ascii_digit).collect();
            let h: i32 = t.get(0..2)?.parse().ok()?;
            let m: i32 = t.get(2..4).and_then(|m| m.parse().ok()).unwrap_or(0);
            let secs = (h * 3600 + m * 60) * if sign == '-' { -1 } else { 1 };
            chrono::FixedOffset::east_opt(secs)?
        }
        _ => chrono::FixedOffset::east_opt(0)?,
    };
    naive
        .and_local_timezone(offset)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

fn chain_report(
    ctx: &Context<'_>,
    leaf: &Certificate,
    others: &[Certificate],
    at: DateTime<Utc>,
) -> ChainReport {
    let cacheable = ctx.cache.filter(|_| {
        std::iter::once(leaf)
            .chain(others)
            .all(|c| !ctx.revoked_serials.contains(&c.serial_hex()))
    });
    let key = cacheable.map(|_| ChainCache::key(leaf, others));
    if let (Some(cache), Some(key)) = (cacheable, key.as_deref())
        && let Some(mut hit) = cache.get(key, at)
    {
        hit.at = Some(super::content::time_text(&at));
        return hit;
    }
    let mut report = ChainReport {
        at: Some(super::content::time_text(&at)),
        ..ChainReport::default()
    };
    let validated = diwan_pki::validate_chain(leaf, others, ctx.anchors, at, ctx.crls);
    if let (Some(cache), Some(key), Ok(_)) = (cacheable, key, &validated) {
        let certs = std::iter::once(leaf).chain(others).chain(ctx.anchors);
        let from = certs
            .clone()
            .map(Certificate::not_before)
            .max()
            .unwrap_or(at);
        let until = certs.map(Certificate::not_after).min().unwrap_or(at);
        let mut good = ChainReport::default();
        fill(&mut good, validated.as_ref().ok());
        cache.put(key, from, until, &good);
    }
    match validated {
        Ok(r) => fill(&mut report, Some(&r)),
        Err(PkiError::Revoked { .. }) => {
            report.status = "revoked".into();
            report.error = Some("a certificate of the chain was revoked at signing time".into());
            report.revocation_checked = true;
        }
        Err(e) => {
            report.status = "unknown".into();
            report.error = Some(e.to_string());
        }
    }
    report
}

fn fill(report: &mut ChainReport, r: Option<&diwan_pki::ChainReport>) {
    let Some(r) = r else { return };
    report.trusted = true;
    report.anchor = Some(r.anchor_subject.clone());
    report.anchor_sha256 = Some(hex(&r.anchor_sha256));
    report.path = r.chain_subjects.clone();
    report.revocation_checked = r.revocation_checked;
    report.status = if r.revocation_checked {
        "good"
    } else {
        "unknown"
    }
    .into();
}

/// Checks a compact JWS receipt; fills the report's signature, chain, receipt, registration
/// and log parts.
fn verify_jws(ctx: &Context<'_>, jws: &str, report: &mut Report) {
    let verified = match diwan_pki::jws::verify_signature(jws.trim()) {
        Ok(v) => v,
        Err(e) => {
            report.signature.error = Some(e.to_string());
            report
                .problems
                .push("the receipt's signature is not valid".into());
            return;
        }
    };
    report.signature.intact = true;
    let Some((leaf, others)) = verified.chain.split_first() else {
        report
            .problems
            .push("the receipt carries no certificate".into());
        return;
    };
    report.signature.signer = Some(leaf.subject());
    let payload: Value = match serde_json::from_slice(&verified.payload) {
        Ok(v) => v,
        Err(_) => {
            report
                .problems
                .push("the receipt's content is not JSON".into());
            return;
        }
    };
    let at = payload["issued_at"].as_str().and_then(parse_time);
    let Some(at) = at else {
        report.problems.push("the receipt has no issue time".into());
        return;
    };
    report.chain = chain_report(ctx, leaf, others, at);
    if !report.chain.trusted {
        report
            .problems
            .push("the receipt's certificate does not lead to a trusted anchor".into());
    }
    let facts = ctx.services.map(|s| RegisterFacts::read(s, &payload));
    report.log = Some(check_log(ctx, &payload, at, facts.as_ref()));
    if let Some(facts) = facts {
        report.registration = Some(check_registration(facts, &payload));
    }
    report.receipt = Some(payload);
}

/// What the register holds for a receipt: its correspondence with files, and the log's leaf
/// at the receipt's index, read together (one statement) when the receipt names both.
struct RegisterFacts {
    correspondence: Option<crate::model::Correspondence>,
    leaf: Option<diwan_domain::merkle::Hash>,
}

impl RegisterFacts {
    /// A lookup that fails counts as nothing found: the checks then report a mismatch.
    fn read(s: &Services, payload: &Value) -> Self {
        let id = payload["id"].as_str();
        let index = payload["log"]["leaf_index"].as_u64();
        let (correspondence, leaf) = match (id, index) {
            (_, Some(index)) => s.store.receipt_facts(id, index).unwrap_or((None, None)),
            (Some(id), None) => (s.store.correspondence_with_files(id).ok().flatten(), None),
            (None, None) => (None, None),
        };
        Self {
            correspondence,
            leaf,
        }
    }
}

/// A tree head's JWS with its signature checked; a batch's receipts share one head, so heads
/// already checked are remembered (by the SHA-256 of their text).
fn verified_head(
    ctx: &Context<'_>,
    head: &str,
) -> Option<std::sync::Arc<diwan_pki::jws::Verified>> {
    let Some(cache) = ctx.cache else {
        return diwan_pki::jws::verify_signature(head)
            .ok()
            .map(std::sync::Arc::new);
    };
    let key = ring::digest::digest(&ring::digest::SHA256, head.as_bytes());
    let key: [u8; 32] = key.as_ref().try_into().ok()?;
    if let Some(v) = cache
        .heads
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&key)
    {
        return Some(std::sync::Arc::clone(v));
    }
    let v = std::sync::Arc::new(diwan_pki::jws::verify_signature(head).ok()?);
    let mut heads = cache
        .heads
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if heads.len() >= CHAIN_CACHE_MAX {
        heads.clear();
    }
    heads.insert(key, std::sync::Arc::clone(&v));
    Some(v)
}

fn check_log(
    ctx: &Context<'_>,
    payload: &Value,
    at: DateTime<Utc>,
    facts: Option<&RegisterFacts>,
) -> LogReport {
    let log = &payload["log"];
    let mut r = LogReport {
        leaf_index: log["leaf_index"].as_u64(),
        tree_size: log["tree_size"].as_u64(),
        ..LogReport::default()
    };
    let leaf = log["leaf_hash"].as_str().and_then(unhex);
    let root = log["root_hash"].as_str().and_then(unhex);
    let path: Option<Vec<[u8; 32]>> = log["inclusion_proof"].as_array().map(|a| {
        a.iter()
            .filter_map(|h| h.as_str().and_then(unhex))
            .collect()
    });
    let (Some(index), Some(size), Some(leaf), Some(root), Some(path)) =
        (r.leaf_index, r.tree_size, leaf, root, path)
    else {
        r.error = Some("the receipt carries no complete log proof".into());
        return r;
    };
    r.included = verify_inclusion(&Sha256Tree, index, size, &leaf, &path, &root);
    // The tree head: signed by the log's certificate, for this size and root.
    if let Some(head) = log["tree_head"].as_str()
        && let Some(v) = verified_head(ctx, head)
    {
        let head_payload: Value = serde_json::from_slice(&v.payload).unwrap_or(Value::Null);
        let same = head_payload["tree_size"].as_u64() == Some(size)
            && head_payload["root_hash"].as_str() == Some(hex(&root).as_str());
        let chained = v
            .chain
            .split_first()
            .is_some_and(|(l, o)| chain_report(ctx, l, o, at).trusted);
        r.head_signed = same && chained;
    }
    if let (Some(s), Some(facts)) = (ctx.services, facts) {
        let stored_root = s.caches.head_root(size).or_else(|| {
            let h = s.store.head(size).ok().flatten()?;
            s.caches.put_head_root(size, h.root_hash);
            Some(h.root_hash)
        });
        r.matches_register = Some(facts.leaf == Some(leaf) && stored_root == Some(root));
    }
    r
}

fn check_registration(facts: RegisterFacts, payload: &Value) -> RegistrationReport {
    let mut r = RegistrationReport {
        checked: true,
        ..RegistrationReport::default()
    };
    let Some(c) = facts.correspondence else {
        return r;
    };
    r.found = true;
    r.registration_number = Some(c.registration_number.as_str().to_owned());
    r.annulled = c.annulment.is_some();
    let mut differ = |field: &str, same: bool| {
        if !same {
            r.mismatches.push(field.to_owned());
        }
    };
    differ(
        "registration_number",
        payload["registration_number"].as_str() == Some(c.registration_number.as_str()),
    );
    differ(
        "received_at",
        payload["received_at"]["utc"].as_str().and_then(parse_time) == Some(c.received_at),
    );
    differ(
        "subject",
        payload["subject"].as_str() == Some(c.subject.as_str()),
    );
    differ(
        "depositor",
        payload["depositor"]["name"].as_str() == Some(c.sender.name.as_str()),
    );
    let files: Vec<(String, u64, String)> = payload["files"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| {
                    (
                        f["name"].as_str().unwrap_or_default().to_owned(),
                        f["size"].as_u64().unwrap_or_default(),
                        f["sha256"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let stored: Vec<(String, u64, String)> = c
        .files
        .iter()
        .map(|f| (f.name.clone(), f.size, f.sha256.as_str().to_owned()))
        .collect();
    differ("files", files == stored);
    r.matches = r.mismatches.is_empty();
    r
}

/// Finds the compact JWS in a JSON document: the JWS itself (as a JSON string or bare text),
/// an object with `jws`, or a registration response with `receipt.jws`.
fn find_jws(input: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(input).ok()?.trim();
    if text.starts_with("ey") && text.split('.').count() == 3 {
        return Some(text.to_owned());
    }
    let v: Value = serde_json::from_str(text).ok()?;
    match &v {
        Value::String(s) => Some(s.clone()),
        Value::Object(_) => v["jws"]
            .as_str()
            .or_else(|| v["receipt"]["jws"].as_str())
            .map(str::to_owned),
        _ => None,
    }
}

/// Verifies `input`: a receipt as JSON or compact JWS, a sealed receipt PDF, or a signed PDF.
pub fn verify(ctx: &Context<'_>, input: &[u8]) -> Report {
    let mut report = Report::default();
    if input.len() > MAX_INPUT {
        report.kind = "unknown".into();
        report.problems.push("the document is too large".into());
        return report;
    }
    if input.starts_with(b"%PDF-") || input.windows(5).take(1024).any(|w| w == b"%PDF-") {
        verify_pdf(ctx, input, &mut report);
    } else if let Some(jws) = find_jws(input) {
        report.kind = "receipt_json".into();
        verify_jws(ctx, &jws, &mut report);
    } else {
        report.kind = "unknown".into();
        report
            .problems
            .push("neither a PDF nor a signed JSON receipt".into());
    }
    report.valid = report.problems.is_empty()
        && report.signature.intact
        && report.chain.trusted
        && report.signature.covers_whole_file != Some(false)
        && report
            .log
            .as_ref()
            .is_none_or(|l| l.included && l.head_signed && l.matches_register != Some(false))
        && report
            .registration
            .as_ref()
            .is_none_or(|r| r.found && r.matches);
    if let Some(l) = &report.log {
        if !(l.included && l.head_signed) {
            report
                .problems
                .push("the receipt's log proof does not verify".into());
        } else if l.matches_register == Some(false) {
            report
                .problems
                .push("the register's log does not hold this receipt's entry".into());
        }
    }
    if let Some(r) = &report.registration {
        if !r.found {
            report
                .problems
                .push("no such registration in the register".into());
        } else if !r.matches {
            report.problems.push(format!(
                "the register differs from the receipt: {}",
                r.mismatches.join(", ")
            ));
        }
    }
    report
}

fn verify_pdf(ctx: &Context<'_>, pdf: &[u8], report: &mut Report) {
    report.kind = "signed_pdf".into();
    let signatures = match diwan_pdf::signatures(pdf) {
        Ok(s) => s,
        Err(e) => {
            report.problems.push(format!("unreadable PDF: {e}"));
            return;
        }
    };
    let Some(sig) = signatures.last() else {
        report.problems.push("the PDF carries no signature".into());
        return;
    };
    report.signature.covers_whole_file = Some(sig.covers_whole_file);
    if !sig.covers_whole_file {
        report
            .problems
            .push("the PDF was changed after it was signed".into());
    }
    let cms = match diwan_pki::cms::verify_detached(&sig.contents, &sig.covered) {
        Ok(v) => v,
        Err(e) => {
            report.signature.error = Some(e.to_string());
            report
                .problems
                .push("the PDF's signature does not match its content".into());
            return;
        }
    };
    report.signature.intact = cms.digest_ok;
    report.signature.signer = Some(cms.signer.subject());
    let at = sig
        .signing_time
        .as_deref()
        .and_then(pdf_time)
        .unwrap_or_else(Utc::now);
    let others: Vec<Certificate> = cms
        .certificates
        .iter()
        .filter(|c| c.der() != cms.signer.der())
        .cloned()
        .collect();
    report.chain = chain_report(ctx, &cms.signer, &others, at);
    if !report.chain.trusted {
        report
            .problems
            .push("the PDF's certificate does not lead to a trusted anchor".into());
    }
    // Signed several times (the parapheur): every earlier signature must hold too.
    if signatures.len() > 1 {
        let all = crate::parapheur::validate::validate_with(pdf, ctx.anchors, ctx.crls, Utc::now());
        for v in all.signatures.iter().filter(|v| !v.valid) {
            report.problems.push(format!(
                "signature {} of {} is not valid: {}",
                v.index,
                all.signatures.len(),
                v.problems.join("; ")
            ));
        }
    }
    // A receipt PDF carries its signed JSON receipt: check it too, and that both agree.
    let embedded = diwan_pdf::catalog_text(pdf, super::pdf::CATALOG_KEY)
        .ok()
        .flatten();
    if let Some(jws) = embedded {
        report.kind = "receipt_pdf".into();
        let mut inner = Report::default();
        verify_jws(ctx, &jws, &mut inner);
        let same_signer = inner.signature.signer == report.signature.signer;
        report.receipt = inner.receipt;
        report.registration = inner.registration;
        report.log = inner.log;
        report.problems.extend(inner.problems);
        if !inner.signature.intact || !inner.chain.trusted {
            report
                .problems
                .push("the receipt inside the PDF is not validly signed".into());
        } else if !same_signer {
            report
                .problems
                .push("the PDF and the receipt inside it have different signers".into());
        }
    }
}
