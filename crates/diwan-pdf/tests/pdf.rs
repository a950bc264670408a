//! End-to-end checks against verifiers nobody here wrote: qpdf, poppler (pdftotext, pdfsig,
//! pdftoppm), pyHanko, with a throwaway ECDSA P-256 CA made by the openssl CLI.
//!
//! Missing tools fail the tests unless `DIWAN_SKIP_EXTERNAL=1` is set. Setting
//! `DIWAN_RECEIPT_PNG=PATH` also writes page 1 of the sample receipt as a PNG to PATH.
#![expect(clippy::unwrap_used, reason = "test helpers: failing loudly is right")]

#[path = "pdf/parapheur.rs"]
mod parapheur;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use chrono::{TimeZone, Utc};
use diwan_pdf::{
    AnnulmentLines, FileLine, PdfError, ReceiptView, SealInfo, catalog_text, render_receipt, seal,
    signatures,
};

const DEPOSITOR: &str = "محمد بن عبد الله";

fn skip_external() -> bool {
    std::env::var("DIWAN_SKIP_EXTERNAL").is_ok_and(|v| v == "1")
}

/// Run a tool; panic with its output when it cannot be started.
fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {program} (install it, or set DIWAN_SKIP_EXTERNAL=1): {e}")
        })
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn sample(files: usize, subject: &str) -> ReceiptView {
    ReceiptView {
        registration_number: "RBT-2026-000123".into(),
        registry_ar: "سجل الصادر والوارد".into(),
        registry_fr: "Registre du courrier".into(),
        administration_ar: "وزارة الانتقال الرقمي وإصلاح الإدارة".into(),
        administration_fr:
            "Ministère de la Transition numérique et de la Réforme de l'Administration".into(),
        unit_ar: "مكتب الضبط المركزي".into(),
        unit_fr: "Bureau d'ordre central".into(),
        unit_contact: Some("bo@example.ma · +212 5 37 00 00 00".into()),
        received_utc: "2026-11-21 11:30:00".into(),
        received_local: "2026-11-21 12:30 (Africa/Casablanca)".into(),
        received_hijri_ar: "20 جمادى الأولى 1448".into(),
        received_hijri_fr: "20 Joumada al-oula 1448".into(),
        depositor: format!("{DEPOSITOR} <m.abdallah@example.ma> & Cie \"Atlas\" l'aîné"),
        subject: subject.into(),
        files: (1..=files)
            .map(|i| FileLine {
                name: format!("وثيقة-{i}-plan_de_masse.pdf"),
                size: "1,2 Mo".into(),
                media_type: "application/pdf".into(),
                sha256_hex: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
                    .into(),
            })
            .collect(),
        deadline_date: "2027-01-20".into(),
        deadline_hijri_ar: "11 رجب 1448".into(),
        silence_ar: "يعتبر سكوت الإدارة بعد انصرام الأجل بمثابة قبول.".into(),
        silence_fr: "Le silence de l'administration à l'expiration du délai vaut acceptation."
            .into(),
        tracking_code: "K7Q2-9XMD".into(),
        verification_url: "https://diwan.example.ma/v/RBT-2026-000123?c=K7Q2-9XMD".into(),
        issued_at: Utc.with_ymd_and_hms(2026, 11, 21, 11, 30, 0).unwrap(),
        annulled: None,
    }
}

fn seal_info() -> SealInfo {
    SealInfo {
        name: "Diwan — مكتب الضبط".into(),
        reason: Some("Accusé de réception / وصل إيداع".into()),
        location: Some("Rabat".into()),
        signing_time: Utc.with_ymd_and_hms(2026, 11, 21, 11, 30, 5).unwrap(),
        extra_catalog_entries: vec![
            ("DiwanReceipt".into(), "{\"n\":\"RBT-2026-000123\"}".into()),
            ("DiwanNote".into(), "إيصال".into()),
        ],
    }
}

/// The three signers of the parapheur tests: file stem and certificate subject.
const SIGNERS: [(&str, &str); 3] = [
    ("signer1", "/CN=Fatima Zahra Benali/O=Diwan Test"),
    ("signer2", "/CN=Youssef El Alami/O=Diwan Test"),
    ("signer3", "/CN=Khadija Ben Abdellah/O=Diwan Test"),
];

/// A throwaway CA (ECDSA P-256 root, the seal's leaf and three signers' leaves) in a temporary
/// directory, made once.
struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn get() -> &'static Pki {
        static PKI: OnceLock<Pki> = OnceLock::new();
        PKI.get_or_init(Pki::create)
    }

    fn create() -> Pki {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("diwan-pdf-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = |name: &str| dir.join(name).to_string_lossy().into_owned();
        std::fs::write(
            p("leaf.ext"),
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
        )
        .unwrap();
        let steps: Vec<Vec<String>> = vec![
            vec![
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
                &p("root.key"),
            ],
            vec![
                "req",
                "-x509",
                "-new",
                "-key",
                &p("root.key"),
                "-sha256",
                "-days",
                "3650",
                "-subj",
                "/CN=Diwan Test Root/O=Diwan Test",
                "-out",
                &p("root.pem"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
            vec![
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
                &p("leaf.key"),
            ],
            vec![
                "req",
                "-new",
                "-key",
                &p("leaf.key"),
                "-subj",
                "/CN=Diwan Test Seal/O=Diwan Test",
                "-out",
                &p("leaf.csr"),
            ],
            vec![
                "x509",
                "-req",
                "-in",
                &p("leaf.csr"),
                "-CA",
                &p("root.pem"),
                "-CAkey",
                &p("root.key"),
                "-CAcreateserial",
                "-days",
                "825",
                "-sha256",
                "-extfile",
                &p("leaf.ext"),
                "-out",
                &p("leaf.pem"),
            ],
        ]
        .into_iter()
        .map(|s| s.into_iter().map(str::to_owned).collect())
        .collect();
        let mut steps = steps;
        for (name, subject) in SIGNERS {
            let (key, csr, cert) = (
                p(&format!("{name}.key")),
                p(&format!("{name}.csr")),
                p(&format!("{name}.pem")),
            );
            steps.push(
                [
                    "ecparam",
                    "-name",
                    "prime256v1",
                    "-genkey",
                    "-noout",
                    "-out",
                    &key,
                ]
                .map(str::to_owned)
                .to_vec(),
            );
            steps.push(
                ["req", "-new", "-key", &key, "-subj", subject, "-out", &csr]
                    .map(str::to_owned)
                    .to_vec(),
            );
            steps.push(
                [
                    "x509",
                    "-req",
                    "-in",
                    &csr,
                    "-CA",
                    &p("root.pem"),
                    "-CAkey",
                    &p("root.key"),
                    "-CAcreateserial",
                    "-days",
                    "825",
                    "-sha256",
                    "-extfile",
                    &p("leaf.ext"),
                    "-out",
                    &cert,
                ]
                .map(str::to_owned)
                .to_vec(),
            );
        }
        for step in steps {
            let args: Vec<&str> = step.iter().map(String::as_str).collect();
            let out = run("openssl", &args);
            assert!(out.status.success(), "openssl {args:?}: {}", text(&out));
        }
        std::fs::copy(p("root.pem"), p("chain.pem")).unwrap();
        Pki { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }

    /// The stand-in signer: detached CMS over the covered bytes, made by `openssl cms`.
    fn sign(&self, covered: &[u8]) -> Result<Vec<u8>, String> {
        self.sign_as("leaf", covered)
    }

    /// Like [`Self::sign`], with the key and certificate `NAME.key` / `NAME.pem` (`leaf` or
    /// one of [`SIGNERS`]).
    fn sign_as(&self, name: &str, covered: &[u8]) -> Result<Vec<u8>, String> {
        let input = tempfile(&self.dir, "covered", covered);
        let output = self.dir.join(format!("sig-{}.der", unique()));
        let out = run(
            "openssl",
            &[
                "cms",
                "-sign",
                "-binary",
                "-outform",
                "DER",
                "-md",
                "sha256",
                "-nosmimecap",
                "-signer",
                &self.path(&format!("{name}.pem")),
                "-inkey",
                &self.path(&format!("{name}.key")),
                "-certfile",
                &self.path("chain.pem"),
                "-in",
                &input.to_string_lossy(),
                "-out",
                &output.to_string_lossy(),
            ],
        );
        if !out.status.success() {
            return Err(text(&out));
        }
        std::fs::read(&output).map_err(|e| e.to_string())
    }

    /// An NSS database trusting the root, for pdfsig.
    fn nss_db(&self) -> String {
        static DB: OnceLock<String> = OnceLock::new();
        DB.get_or_init(|| {
            let db = self.path("nssdb");
            std::fs::create_dir_all(&db).unwrap();
            let sql = format!("sql:{db}");
            let out = run("certutil", &["-N", "--empty-password", "-d", &sql]);
            assert!(out.status.success(), "certutil -N: {}", text(&out));
            let root = self.path("root.pem");
            let out = run(
                "certutil",
                &["-A", "-d", &sql, "-n", "root", "-t", "CT,C,C", "-i", &root],
            );
            assert!(out.status.success(), "certutil -A: {}", text(&out));
            sql
        })
        .clone()
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

fn tempfile(dir: &Path, stem: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(format!("{stem}-{}.bin", unique()));
    std::fs::write(&path, bytes).unwrap();
    path
}

fn write_pdf(name: &str, bytes: &[u8]) -> String {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("diwan-pdf-out-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}-{}.pdf", unique()));
    std::fs::write(&path, bytes).unwrap();
    path.to_string_lossy().into_owned()
}

fn sealed_sample() -> Vec<u8> {
    let pdf = render_receipt(&sample(
        2,
        "طلب رخصة بناء — Demande de permis de construire",
    ))
    .unwrap();
    seal(&pdf, &seal_info(), |covered| Pki::get().sign(covered)).unwrap()
}

fn qpdf_check(path: &str) {
    let out = run("qpdf", &["--check", path]);
    assert!(out.status.success(), "qpdf --check {path}: {}", text(&out));
}

fn pdfsig(path: &str) -> String {
    let db = Pki::get().nss_db();
    text(&run("pdfsig", &["-nssdir", &db, path]))
}

fn pyhanko(path: &str) -> (bool, String) {
    let root = Pki::get().path("root.pem");
    let out = run(
        "pyhanko",
        &[
            "sign",
            "validate",
            "--trust",
            &root,
            "--trust-replace",
            "--no-revocation-check",
            path,
        ],
    );
    (out.status.success(), text(&out))
}

// ---------------------------------------------------------------------------------------------
// Without external tools

/// Two font subsets (Arabic and Latin), however much bold text: bold is drawn with the
/// regular faces, filled and outlined (text rendering mode 2).
#[test]
fn a_receipt_embeds_one_font_per_script() {
    let pdf = render_receipt(&sample(2, "طلب — Demande")).unwrap();
    let count = |needle: &[u8]| pdf.windows(needle.len()).filter(|w| *w == needle).count();
    assert_eq!(count(b"/FontFile2"), 2);
    assert_eq!(count(b"/Type/Font/Subtype/Type0"), 2);
}

#[test]
fn sealing_appends_and_signatures_read_back() {
    let pdf = render_receipt(&sample(1, "Objet")).unwrap();
    let info = seal_info();
    let mut seen = Vec::new();
    let sealed = seal(&pdf, &info, |covered| {
        seen = covered.to_vec();
        Ok(vec![0x30, 0x03, 0x02, 0x01, 0x05])
    })
    .unwrap();
    assert_eq!(
        &sealed[..pdf.len()],
        &pdf[..],
        "the original bytes are kept"
    );
    let sigs = signatures(&sealed).unwrap();
    assert_eq!(sigs.len(), 1);
    let sig = &sigs[0];
    assert_eq!(sig.contents, vec![0x30, 0x03, 0x02, 0x01, 0x05]);
    assert_eq!(sig.covered, seen);
    assert!(sig.covers_whole_file);
    assert_eq!(sig.sub_filter.as_deref(), Some("ETSI.CAdES.detached"));
    assert_eq!(sig.signing_time.as_deref(), Some("D:20261121113005+00'00'"));
    assert_eq!(
        catalog_text(&sealed, "DiwanReceipt").unwrap().as_deref(),
        Some("{\"n\":\"RBT-2026-000123\"}")
    );
    assert_eq!(
        catalog_text(&sealed, "DiwanNote").unwrap().as_deref(),
        Some("إيصال")
    );
    assert_eq!(catalog_text(&sealed, "Nothing").unwrap(), None);
    assert!(signatures(&pdf).unwrap().is_empty());
}

#[test]
fn oversized_signature_and_signer_errors_are_reported() {
    let pdf = render_receipt(&sample(0, "Objet")).unwrap();
    let too_big = seal(&pdf, &seal_info(), |_| Ok(vec![0; 20_000]));
    assert!(matches!(too_big, Err(PdfError::SignatureTooLarge { .. })));
    let failed = seal(&pdf, &seal_info(), |_| Err("HSM offline".into()));
    assert!(matches!(failed, Err(PdfError::Signer(m)) if m == "HSM offline"));
}

#[test]
fn hostile_input_gives_errors_not_panics() {
    let sealed = seal(
        &render_receipt(&sample(1, "x")).unwrap(),
        &seal_info(),
        |_| Ok(vec![0x30, 0x00]),
    )
    .unwrap();
    let mut inputs: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"%PDF-1.7\n".to_vec(),
        b"garbage garbage garbage".to_vec(),
        vec![0xFF; 4096],
    ];
    for cut in [
        10,
        100,
        sealed.len() / 3,
        sealed.len() / 2,
        sealed.len() - 40,
    ] {
        inputs.push(sealed[..cut].to_vec());
    }
    // A byte range pointing far past the end of the file, same width as the original.
    let find = |needle: &[u8]| sealed.windows(needle.len()).position(|w| w == needle);
    if let Some(at) = find(b"/ByteRange [") {
        let replacement = b"/ByteRange [0 9999999999 9999999999 9999999999]";
        let mut hostile = sealed.clone();
        hostile[at..at + replacement.len()].copy_from_slice(replacement);
        inputs.push(hostile);
    }
    // Contents that are not DER.
    let mut not_der = sealed.clone();
    if let Some(at) = find(b"/Contents <3000") {
        not_der[at + 11..at + 15].copy_from_slice(b"3085");
    }
    inputs.push(not_der);
    for (i, input) in inputs.iter().enumerate() {
        let sigs = signatures(input);
        let _ = catalog_text(input, "DiwanReceipt");
        let _ = seal(input, &seal_info(), |_| Ok(vec![0x30, 0x00]));
        if i >= inputs.len() - 2 {
            assert!(sigs.is_err(), "input {i} should be refused, got {sigs:?}");
        }
    }
}

#[test]
fn annulment_notice_renders() {
    let mut view = sample(1, "Objet");
    view.annulled = Some(AnnulmentLines {
        reason: "خطأ في التسجيل / Erreur d'enregistrement".into(),
        at: "2026-11-22 09:00 (Africa/Casablanca)".into(),
    });
    let pdf = render_receipt(&view).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    if !skip_external() {
        let path = write_pdf("annulled", &pdf);
        qpdf_check(&path);
        let extracted = text(&run("pdftotext", &[&path, "-"]));
        assert!(extracted.contains("Avis d'annulation"), "{extracted}");
        assert!(extracted.contains("إشعار إلغاء"), "{extracted}");
    }
}

// ---------------------------------------------------------------------------------------------
// With external tools

#[test]
fn sealed_receipt_is_valid_for_pdfsig_pyhanko_and_qpdf() {
    if skip_external() {
        return;
    }
    let sealed = sealed_sample();
    let path = write_pdf("sealed", &sealed);
    qpdf_check(&path);

    let report = pdfsig(&path);
    assert!(report.contains("Signature is Valid"), "pdfsig: {report}");
    assert!(
        report.contains("Certificate is Trusted"),
        "pdfsig: {report}"
    );
    assert!(report.contains("Total document signed"), "pdfsig: {report}");

    let (ok, report) = pyhanko(&path);
    assert!(ok, "pyhanko: {report}");

    // The CMS found by `signatures` verifies with openssl over the covered bytes.
    let sig = signatures(&sealed).unwrap().remove(0);
    let pki = Pki::get();
    let p7s = tempfile(&pki.dir, "sig", &sig.contents);
    let content = tempfile(&pki.dir, "content", &sig.covered);
    let out = run(
        "openssl",
        &[
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            &p7s.to_string_lossy(),
            "-content",
            &content.to_string_lossy(),
            "-CAfile",
            &pki.path("root.pem"),
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ],
    );
    assert!(out.status.success(), "openssl cms -verify: {}", text(&out));
}

#[test]
fn one_changed_byte_breaks_the_seal() {
    if skip_external() {
        return;
    }
    let mut sealed = sealed_sample();
    let sig = signatures(&sealed).unwrap().remove(0);
    // Inside the first range, in the middle of the original document.
    let at = usize::try_from(sig.byte_range[1] / 2).unwrap();
    sealed[at] ^= 0x01;
    let path = write_pdf("tampered", &sealed);
    let report = pdfsig(&path);
    assert!(!report.contains("Signature is Valid"), "pdfsig: {report}");
    let (ok, report) = pyhanko(&path);
    assert!(!ok, "pyhanko accepted a tampered file: {report}");
}

#[test]
fn text_is_extractable_in_logical_order() {
    if skip_external() {
        return;
    }
    let path = write_pdf("sealed-text", &sealed_sample());
    let extracted = text(&run("pdftotext", &[&path, "-"]));
    for expected in [
        DEPOSITOR,
        "وصل إيداع رقمي",
        "تاريخ الاستلام",
        "سكوت الإدارة",
        "Accusé de réception",
        "Date de réception",
        "Déposant",
        "m.abdallah@example.ma",
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    ] {
        assert!(
            extracted.contains(expected),
            "missing {expected:?} in:\n{extracted}"
        );
    }
    if let Ok(png) = std::env::var("DIWAN_RECEIPT_PNG") {
        let stem = png.strip_suffix(".png").unwrap_or(&png);
        let out = run(
            "pdftoppm",
            &[
                "-png",
                "-r",
                "110",
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                &path,
                stem,
            ],
        );
        assert!(out.status.success(), "pdftoppm: {}", text(&out));
    }
}

#[test]
fn a_hundred_files_and_a_long_subject_flow_over_pages() {
    if skip_external() {
        return;
    }
    let subject = "طلب رخصة بناء لمشروع سكني متعدد الطوابق ".repeat(20)
        + &"Demande d'autorisation de construire un immeuble ".repeat(20);
    let pdf = render_receipt(&sample(100, &subject)).unwrap();
    let sealed = seal(&pdf, &seal_info(), |covered| Pki::get().sign(covered)).unwrap();
    let path = write_pdf("hundred", &sealed);
    qpdf_check(&path);
    let pages = text(&run("qpdf", &["--show-npages", &path]));
    let pages: usize = pages.trim().parse().unwrap();
    assert!(pages >= 5, "only {pages} pages");
    let extracted = text(&run("pdftotext", &[&path, "-"]));
    assert!(extracted.contains("Pièce 100/100"), "last file missing");
    assert!(extracted.contains(&format!("page {pages}/{pages}")));
    let report = pdfsig(&path);
    assert!(report.contains("Signature is Valid"), "pdfsig: {report}");
}

#[test]
fn sealing_a_file_with_a_cross_reference_stream() {
    if skip_external() {
        return;
    }
    let pdf = render_receipt(&sample(1, "Objet")).unwrap();
    let plain = write_pdf("plain", &pdf);
    let compressed = plain.replace(".pdf", "-xref-stream.pdf");
    let out = run("qpdf", &["--object-streams=generate", &plain, &compressed]);
    assert!(out.status.success(), "qpdf: {}", text(&out));
    let original = std::fs::read(&compressed).unwrap();
    let sealed = seal(&original, &seal_info(), |covered| Pki::get().sign(covered)).unwrap();
    let path = write_pdf("xref-stream-sealed", &sealed);
    qpdf_check(&path);
    let report = pdfsig(&path);
    assert!(report.contains("Signature is Valid"), "pdfsig: {report}");
    let (ok, report) = pyhanko(&path);
    assert!(ok, "pyhanko: {report}");
    assert_eq!(
        catalog_text(&sealed, "DiwanReceipt").unwrap().as_deref(),
        Some("{\"n\":\"RBT-2026-000123\"}")
    );
}

#[test]
fn sealing_twice_keeps_both_signatures() {
    if skip_external() {
        return;
    }
    let once = sealed_sample();
    let twice = seal(&once, &seal_info(), |covered| Pki::get().sign(covered)).unwrap();
    let sigs = signatures(&twice).unwrap();
    assert_eq!(sigs.len(), 2);
    assert_eq!(sigs.iter().filter(|s| s.covers_whole_file).count(), 1);
    let path = write_pdf("twice", &twice);
    qpdf_check(&path);
    let report = pdfsig(&path);
    assert_eq!(
        report.matches("Signature is Valid").count(),
        2,
        "pdfsig: {report}"
    );
}

#[test]
fn the_receipt_qr_code_reads_back_as_the_verification_url() {
    if skip_external() {
        return;
    }
    let view = sample(2, "طلب رخصة بناء — Demande de permis de construire");
    let path = write_pdf("qr", &render_receipt(&view).unwrap());
    let stem = format!("{}-page", path.trim_end_matches(".pdf"));
    let out = run(
        "pdftoppm",
        &[
            "-gray",
            "-r",
            "150",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            &path,
            &stem,
        ],
    );
    assert!(out.status.success(), "pdftoppm: {}", text(&out));
    let pgm = std::fs::read(format!("{stem}.pgm")).unwrap();
    // Binary PGM: "P5", width, height, maximum value, one whitespace, then the samples.
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while pgm[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !pgm[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8_lossy(&pgm[start..at]).into_owned());
    }
    assert_eq!(fields[0], "P5");
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let samples = &pgm[at + 1..];
    assert_eq!(samples.len(), w * h);
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| samples[y * w + x]);
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the page");
    let (_, content) = grids[0].decode().unwrap();
    assert_eq!(content, view.verification_url);
}
