//! PDF signing and validation, Diwan against pyHanko, on the same 1 MiB, 10-page PDF.
//!
//! One run makes the document (ten A4 pages, each with a few lines of Helvetica text and a
//! 100 KiB grey image of noise, so nothing compresses), a P-256 test PKI with diwan-pki (root →
//! issuing CA → five signers), and writes the first signer's PKCS#8 key, its certificate, the
//! issuing CA and the root as PEM files for pyHanko. Then, in process:
//!
//! - Diwan signs the PDF (PAdES B-B, no time-stamp, 16 KiB reserved for the CMS): `prepare`,
//!   `sign_detached_digest`, `embed`, `DIWAN_BENCH_ITERATIONS` times (default 50) after five
//!   untimed runs; once with an invisible field (the compared figure), once with the visible
//!   block on the last page;
//! - five successive signatures by the five signers make a five-signature document, and
//!   `validate_with` (offline: the root as anchor, no CRL) validates it as many times; every
//!   signature must come out valid;
//! - `benches/pyhanko_bench.py` is run once with `python3`: in that one process pyHanko signs
//!   the same PDF with the same key and certificates (invisible, and with its default visible
//!   stamp) and validates the same five-signature document, and prints its timings as JSON.
//!
//! Then the table, the ratios and the targets: signing ≥ 15× faster than pyHanko, validating
//! the five-signature document in ≤ 20 ms. `cargo bench -p diwan-tests --bench signing`.
//! Fails if pyHanko cannot be run.

#![expect(clippy::unwrap_used, reason = "a benchmark: failing loudly is right")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diwan_pdf::{Prepared, SealInfo, SignRequest, SignatureAppearance};
use diwan_pki::{Certificate, Names, Profile, SigningKey};
use diwan_tests::bench;
use diwan_tests::docs::PdfBuilder;
use serde_json::Value;

const PAGES: u32 = 10;
const TARGET_BYTES: usize = 1024 * 1024;
const IMAGE_WIDTH: usize = 320;
const SIGNERS: usize = 5;
const WARM_UP: usize = 5;
const SIGN_TARGET_RATIO: f64 = 15.0;
const VALIDATE_TARGET_MS: f64 = 20.0;

/// A signer with its certificate.
struct Signer {
    key: SigningKey,
    cert: Certificate,
}

fn main() {
    let iterations = bench::env_or("DIWAN_BENCH_ITERATIONS", 50usize).max(1);
    let pdf = document();
    let now = Utc::now();
    let (root, root_key) = root(now);
    let ca_key = SigningKey::generate_p256().unwrap();
    let ca = diwan_pki::issue(
        &Profile::IssuingCa { crl_url: None },
        &names("Bench Issuing CA", None),
        &ca_key.public_key_der(),
        &root,
        &root_key,
        now,
    )
    .unwrap();
    let signers: Vec<Signer> = (1..=SIGNERS)
        .map(|i| {
            let key = SigningKey::generate_p256().unwrap();
            let cert = diwan_pki::issue(
                &Profile::Signer { crl_url: None },
                &names(
                    &format!("Signer {i}"),
                    Some("Direction des affaires juridiques"),
                ),
                &key.public_key_der(),
                &ca,
                &ca_key,
                now,
            )
            .unwrap();
            Signer { key, cert }
        })
        .collect();
    let chain = [ca.clone()];
    let anchors = [root.clone()];

    println!(
        "signing benchmark: a {}-byte PDF of {PAGES} pages, {iterations} timed runs each after {WARM_UP} (pyHanko: 3) untimed",
        pdf.len()
    );
    println!(
        "machine: {} cores",
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    qpdf_check("the input PDF", &pdf);

    // --- Diwan: signing --------------------------------------------------------------------
    let me = &signers[0];
    let invisible = request(me, None);
    let visible = request(me, Some(appearance(me)));
    let once = sign(&pdf, me, &chain, &invisible).0;
    let report = diwan_app::parapheur::validate::validate_with(&once, &anchors, &[], Utc::now());
    assert!(report.valid, "Diwan's own signature: {report:?}");
    let sign_runs = time_signing(&pdf, me, &chain, &invisible, iterations);
    let visible_runs = time_signing(&pdf, me, &chain, &visible, iterations);
    let once_visible = sign(&pdf, me, &chain, &visible).0;
    let report =
        diwan_app::parapheur::validate::validate_with(&once_visible, &anchors, &[], Utc::now());
    assert!(report.valid, "Diwan's visible signature: {report:?}");

    // --- Diwan: the five-signature document and its validation -----------------------------
    let mut signed5 = pdf.clone();
    for s in &signers {
        signed5 = sign(&signed5, s, &chain, &request(s, None)).0;
    }
    qpdf_check("the five-signature PDF", &signed5);
    let check = |report: &diwan_app::parapheur::validate::ValidationReport| {
        assert!(
            report.valid
                && report.signatures.len() == SIGNERS
                && report.signatures.iter().all(|s| s.valid),
            "the five-signature document does not validate: {report:#?}"
        );
    };
    for _ in 0..WARM_UP {
        check(&diwan_app::parapheur::validate::validate_with(
            &signed5,
            &anchors,
            &[],
            Utc::now(),
        ));
    }
    let mut validate_times = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let at = Utc::now();
        let t = Instant::now();
        let report = diwan_app::parapheur::validate::validate_with(&signed5, &anchors, &[], at);
        validate_times.push(t.elapsed());
        check(&report);
    }
    validate_times.sort_unstable();
    let validate_parts = time_validation_parts(&signed5, &anchors, iterations);
    // For scale: one SHA-256 pass over the input, as `prepare` and `embed` each make one.
    let mut sha_times: Vec<Duration> = (0..WARM_UP + iterations)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(ring::digest::digest(&ring::digest::SHA256, &pdf));
            t.elapsed()
        })
        .skip(WARM_UP)
        .collect();
    sha_times.sort_unstable();

    // --- pyHanko --------------------------------------------------------------------------
    let dir = std::env::temp_dir().join(format!("diwan-bench-signing-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, bytes: &[u8]| -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let key_pem = write(
        "signer-key.pem",
        diwan_pki::to_pem("PRIVATE KEY", me.key.pkcs8_der()).as_bytes(),
    );
    let cert_pem = write("signer.pem", me.cert.to_pem().as_bytes());
    let chain_pem = write("chain.pem", ca.to_pem().as_bytes());
    let root_pem = write("root.pem", root.to_pem().as_bytes());
    let pdf_path = write("input.pdf", &pdf);
    let signed5_path = write("signed5.pdf", &signed5);
    let sample_path = dir.join("pyhanko-signed.pdf");
    let py = pyhanko(
        &[
            ("--pdf", &pdf_path),
            ("--key", &key_pem),
            ("--cert", &cert_pem),
            ("--chain", &chain_pem),
            ("--root", &root_pem),
            ("--signed5", &signed5_path),
            ("--sample-out", &sample_path),
        ],
        iterations,
    );
    // pyHanko's signature, checked by Diwan (both tools make real, interoperable signatures).
    let theirs = std::fs::read(&sample_path).unwrap();
    let their_report =
        diwan_app::parapheur::validate::validate_with(&theirs, &anchors, &[], Utc::now());
    std::fs::remove_dir_all(&dir).ok();

    // --- figures --------------------------------------------------------------------------
    let ms = |d: &[Duration], p| bench::percentile_ms(d, p);
    let py_ms = |what: &str, field: &str| py[what][field].as_f64().unwrap();
    let d_sign = ms(&sign_runs.total, 0.5);
    let d_sign95 = ms(&sign_runs.total, 0.95);
    let d_vis = ms(&visible_runs.total, 0.5);
    let d_vis95 = ms(&visible_runs.total, 0.95);
    let d_val = ms(&validate_times, 0.5);
    let d_val95 = ms(&validate_times, 0.95);
    let p_sign = py_ms("sign", "median_ms");
    let p_sign95 = py_ms("sign", "p95_ms");
    let p_vis = py_ms("sign_visible", "median_ms");
    let p_vis95 = py_ms("sign_visible", "p95_ms");
    let p_val = py_ms("validate", "median_ms");
    let p_val95 = py_ms("validate", "p95_ms");
    let their_valid: Vec<bool> = py["valid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_bool().unwrap())
        .collect();

    println!();
    println!(
        "pyHanko {} (python3, one process, {} timed runs)",
        py["pyhanko"].as_str().unwrap_or("?"),
        py["sign"]["n"]
    );
    println!(
        "{:<52} {:>16} {:>16} {:>14}",
        "measure (median / p95)", "Diwan ms", "pyHanko ms", "pyHanko/Diwan"
    );
    let row = |what: &str, d: f64, d95: f64, p: f64, p95: f64| {
        println!(
            "{what:<52} {:>16} {:>16} {:>13.1}×",
            format!("{d:.2} / {d95:.2}"),
            format!("{p:.2} / {p95:.2}"),
            p / d
        );
    };
    row(
        "sign, B-B, invisible field",
        d_sign,
        d_sign95,
        p_sign,
        p_sign95,
    );
    row(
        "sign, B-B, visible block on the last page",
        d_vis,
        d_vis95,
        p_vis,
        p_vis95,
    );
    row(
        "validate the five-signature document",
        d_val,
        d_val95,
        p_val,
        p_val95,
    );
    println!();
    println!(
        "for scale: one SHA-256 pass over the {} bytes: {:.2} ms (median)",
        pdf.len(),
        ms(&sha_times, 0.5)
    );
    println!(
        "Diwan signing (invisible), median per part: prepare {:.2} ms, CMS {:.2} ms, embed {:.2} ms",
        ms(&sign_runs.prepare, 0.5),
        ms(&sign_runs.cms, 0.5),
        ms(&sign_runs.embed, 0.5)
    );
    println!(
        "Diwan signing (visible), median per part: prepare {:.2} ms, CMS {:.2} ms, embed {:.2} ms",
        ms(&visible_runs.prepare, 0.5),
        ms(&visible_runs.cms, 0.5),
        ms(&visible_runs.embed, 0.5)
    );
    println!(
        "Diwan validation of five signatures, median per part (whole document): finding the signatures {:.2} ms, CMS verification {:.2} ms, chain validation {:.2} ms, changes after each {:.2} ms",
        ms(&validate_parts.signatures, 0.5),
        ms(&validate_parts.cms, 0.5),
        ms(&validate_parts.chain, 0.5),
        ms(&validate_parts.changes, 0.5)
    );
    println!(
        "validity: Diwan finds all {SIGNERS} valid; pyHanko's bottom line per signature: {their_valid:?}; pyHanko's own signature validated by Diwan: {}",
        if their_report.valid {
            "valid".to_owned()
        } else {
            format!("NOT valid: {their_report:?}")
        }
    );
    let sign_ratio = p_sign / d_sign;
    println!();
    println!(
        "target: signing ≥ {SIGN_TARGET_RATIO}× faster than pyHanko: {:.1}× — {}",
        sign_ratio,
        met(sign_ratio >= SIGN_TARGET_RATIO)
    );
    println!(
        "target: validating a five-signature document ≤ {VALIDATE_TARGET_MS} ms: median {d_val:.2} ms, p95 {d_val95:.2} ms — {}",
        met(d_val95 <= VALIDATE_TARGET_MS)
    );
}

fn met(yes: bool) -> &'static str {
    if yes { "met" } else { "NOT met" }
}

fn names(cn: &str, unit: Option<&str>) -> Names {
    Names {
        common_name: cn.to_owned(),
        organization: Some("Diwan benchmark".to_owned()),
        organizational_unit: unit.map(str::to_owned),
        country: Some("MA".to_owned()),
        common_name_ar: None,
    }
}

fn root(now: DateTime<Utc>) -> (Certificate, SigningKey) {
    let key = SigningKey::generate_p256().unwrap();
    let cert = diwan_pki::self_signed_root(&names("Bench Root CA", None), &key, now).unwrap();
    (cert, key)
}

fn request(s: &Signer, appearance: Option<SignatureAppearance>) -> SignRequest {
    let mut r = SignRequest::new(SealInfo {
        name: s.cert.names().common_name.clone(),
        reason: Some("Benchmark".to_owned()),
        location: None,
        signing_time: Utc::now(),
        extra_catalog_entries: Vec::new(),
    });
    r.appearance = appearance;
    r
}

fn appearance(s: &Signer) -> SignatureAppearance {
    SignatureAppearance {
        name_ar: Some("مدير الشؤون القانونية".to_owned()),
        name_latin: s.cert.names().common_name.clone(),
        function: s.cert.names().organizational_unit.clone(),
        signed_at_text: Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
    }
}

/// One Diwan signature, with the time of each step.
fn sign(
    pdf: &[u8],
    s: &Signer,
    chain: &[Certificate],
    request: &SignRequest,
) -> (Vec<u8>, [Duration; 3]) {
    let t0 = Instant::now();
    let prepared: Prepared = diwan_pdf::prepare(pdf, request).unwrap();
    let t1 = Instant::now();
    let cms =
        diwan_pki::cms::sign_detached_digest(&prepared.digest, &s.key, &s.cert, chain).unwrap();
    let t2 = Instant::now();
    let signed = diwan_pdf::embed_trusted(prepared, &cms).unwrap();
    let t3 = Instant::now();
    (signed, [t1 - t0, t2 - t1, t3 - t2])
}

#[derive(Default)]
struct SignRuns {
    total: Vec<Duration>,
    prepare: Vec<Duration>,
    cms: Vec<Duration>,
    embed: Vec<Duration>,
}

fn time_signing(
    pdf: &[u8],
    s: &Signer,
    chain: &[Certificate],
    request: &SignRequest,
    iterations: usize,
) -> SignRuns {
    for _ in 0..WARM_UP {
        sign(pdf, s, chain, request);
    }
    let mut runs = SignRuns::default();
    for _ in 0..iterations {
        let t = Instant::now();
        let (signed, [p, c, e]) = sign(pdf, s, chain, request);
        runs.total.push(t.elapsed());
        assert!(signed.len() > pdf.len());
        runs.prepare.push(p);
        runs.cms.push(c);
        runs.embed.push(e);
    }
    for v in [
        &mut runs.total,
        &mut runs.prepare,
        &mut runs.cms,
        &mut runs.embed,
    ] {
        v.sort_unstable();
    }
    runs
}

#[derive(Default)]
struct ValidateParts {
    signatures: Vec<Duration>,
    changes: Vec<Duration>,
    cms: Vec<Duration>,
    chain: Vec<Duration>,
}

/// The steps `validate_with` goes through, timed one by one over the whole document (its
/// five signatures): finding and reading the signatures, what follows each, the CMS
/// verifications (digest of the covered bytes, ECDSA), the chain validations.
fn time_validation_parts(pdf: &[u8], anchors: &[Certificate], iterations: usize) -> ValidateParts {
    let mut parts = ValidateParts::default();
    for round in 0..WARM_UP + iterations {
        let at = Utc::now();
        let t = Instant::now();
        let sigs = diwan_pdf::signatures(pdf).unwrap();
        let found = t.elapsed();
        assert_eq!(sigs.len(), SIGNERS);
        let (mut changes, mut cms, mut chain) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
        for sig in &sigs {
            let t = Instant::now();
            let after = diwan_pdf::changes_after(pdf, sig).unwrap();
            changes += t.elapsed();
            assert!(!matches!(after, diwan_pdf::ChangesAfter::Other(_)));
            let t = Instant::now();
            let verified = diwan_pki::cms::verify_detached(&sig.contents, &sig.covered).unwrap();
            cms += t.elapsed();
            let others: Vec<Certificate> = verified
                .certificates
                .iter()
                .filter(|c| **c != verified.signer)
                .cloned()
                .collect();
            let t = Instant::now();
            diwan_pki::validate_chain(&verified.signer, &others, anchors, at, &[]).unwrap();
            chain += t.elapsed();
        }
        if round >= WARM_UP {
            parts.signatures.push(found);
            parts.changes.push(changes);
            parts.cms.push(cms);
            parts.chain.push(chain);
        }
    }
    for v in [
        &mut parts.signatures,
        &mut parts.changes,
        &mut parts.cms,
        &mut parts.chain,
    ] {
        v.sort_unstable();
    }
    parts
}

/// Runs pyHanko's side and returns its JSON; panics if it cannot be run or fails.
fn pyhanko(args: &[(&str, &Path)], iterations: usize) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/pyhanko_bench.py");
    let mut cmd = Command::new("python3");
    cmd.arg(&script);
    for (flag, path) in args {
        cmd.arg(flag).arg(path);
    }
    cmd.arg("--iterations").arg(iterations.to_string());
    let out = cmd.output().unwrap_or_else(|e| {
        panic!(
            "pyHanko cannot be run: `python3 {}` failed to start: {e}",
            script.display()
        )
    });
    assert!(
        out.status.success(),
        "pyHanko cannot be run: `python3 {}` exited with {}:\n{}",
        script.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().rev().find(|l| l.starts_with('{'));
    line.and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| {
            panic!(
                "pyHanko's benchmark printed no JSON:\n{stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
}

/// `qpdf --check` on `pdf`, when qpdf is installed; its verdict is printed.
fn qpdf_check(what: &str, pdf: &[u8]) {
    let path = std::env::temp_dir().join(format!("diwan-bench-qpdf-{}.pdf", std::process::id()));
    std::fs::write(&path, pdf).unwrap();
    match Command::new("qpdf").arg("--check").arg(&path).output() {
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stdout);
            let verdict = text
                .lines()
                .find(|l| l.contains("No syntax or stream encoding errors"))
                .unwrap_or("see below");
            println!("qpdf --check, {what}: {} — {verdict}", out.status);
            if !out.status.success() {
                println!("{text}{}", String::from_utf8_lossy(&out.stderr));
            }
        }
        Err(_) => println!("qpdf --check, {what}: qpdf not installed, not checked"),
    }
    std::fs::remove_file(&path).ok();
}

/// The document: ten A4 pages, each with a heading and a few lines of text in Helvetica and a
/// grey image of noise, the image sized so that the file is 1 MiB within a few hundred bytes.
fn document() -> Vec<u8> {
    let overhead = build(IMAGE_WIDTH).len() - PAGES as usize * IMAGE_WIDTH;
    let per_page = (TARGET_BYTES - overhead) / PAGES as usize;
    build(per_page / IMAGE_WIDTH * IMAGE_WIDTH)
}

/// The document with images of `image_bytes` bytes each (a multiple of [`IMAGE_WIDTH`]).
fn build(image_bytes: usize) -> Vec<u8> {
    let height = image_bytes / IMAGE_WIDTH;
    let kids: Vec<String> = (0..PAGES).map(|i| format!("{} 0 R", 10 + 3 * i)).collect();
    let mut b = PdfBuilder::new()
        .obj(1, "<</Type /Catalog /Pages 2 0 R>>")
        .obj(
            2,
            format!(
                "<</Type /Pages /Kids [{}] /Count {PAGES} /MediaBox [0 0 595 842]>>",
                kids.join(" ")
            ),
        )
        .obj(
            3,
            "<</Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding>>",
        )
        .obj(
            4,
            "<</Title (Signing benchmark) /Producer (diwan-tests) /CreationDate (D:20261203000000Z)>>",
        );
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for i in 0..PAGES {
        let n = 10 + 3 * i;
        b = b.obj(
            n,
            format!(
                "<</Type /Page /Parent 2 0 R /Resources <</Font <</F1 3 0 R>> /XObject <</Im0 {} 0 R>>>> /Contents {} 0 R>>",
                n + 1,
                n + 2
            ),
        );
        let noise: Vec<u8> = (0..IMAGE_WIDTH * height)
            .map(|_| {
                // xorshift64*
                state ^= state >> 12;
                state ^= state << 25;
                state ^= state >> 27;
                (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
            })
            .collect();
        b = b.stream(
            n + 1,
            &format!(
                "/Type /XObject /Subtype /Image /Width {IMAGE_WIDTH} /Height {height} /ColorSpace /DeviceGray /BitsPerComponent 8"
            ),
            &noise,
        );
        let mut content = format!(
            "BT /F1 18 Tf 72 780 Td (Signing benchmark, page {} of {PAGES}) Tj ET\n",
            i + 1
        );
        for line in 0..8 {
            content.push_str(&format!(
                "BT /F1 11 Tf 72 {} Td (Line {}: the quick brown fox jumps over the lazy dog, 0123456789.) Tj ET\n",
                740 - 16 * line,
                line + 1
            ));
        }
        content.push_str(&format!(
            "q {IMAGE_WIDTH} 0 0 {height} 137 150 cm /Im0 Do Q\n"
        ));
        b = b.stream(n + 2, "", content.as_bytes());
    }
    b.finish("/Root 1 0 R /Info 4 0 R")
}
