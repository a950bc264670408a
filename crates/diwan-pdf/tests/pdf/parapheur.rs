//! The electronic parapheur: successive signatures with visible blocks, two-step signing,
//! and what changed after each signature.

use chrono::{TimeZone, Utc};
use diwan_pdf::{
    ChangesAfter, PdfError, PdfSignature, Prepared, SealInfo, SignRequest, SignatureAppearance,
    changes_after, embed, prepare, render_receipt, seal, signatures,
};
use lopdf::{Document, Object};

use super::{
    Pki, SIGNERS, pdfsig, qpdf_check, run, sample, seal_info, skip_external, text, write_pdf,
};

/// Who signs, in order: certificate file stem, Arabic name, Latin name, function.
const PEOPLE: [(&str, &str, &str, &str); 3] = [
    (
        "signer1",
        "فاطمة الزهراء بنعلي",
        "Fatima Zahra Benali",
        "Cheffe du bureau d'ordre",
    ),
    (
        "signer2",
        "يوسف العلمي",
        "Youssef El Alami",
        "Directeur des affaires juridiques",
    ),
    (
        "signer3",
        "خديجة بن عبد الله",
        "Khadija Ben Abdellah",
        "Secrétaire générale",
    ),
];

/// A receipt long enough to take several pages.
fn multi_page() -> Vec<u8> {
    render_receipt(&sample(30, "Parapheur — مسطرة التوقيع")).unwrap()
}

fn request(person: usize) -> SignRequest {
    let (_, ar, latin, function) = PEOPLE[person];
    let minute = u32::try_from(person).unwrap() * 7;
    SignRequest {
        info: SealInfo {
            name: latin.into(),
            reason: Some("Visa / تأشيرة".into()),
            location: Some("Rabat".into()),
            signing_time: Utc.with_ymd_and_hms(2026, 12, 3, 16, minute, 0).unwrap(),
            extra_catalog_entries: Vec::new(),
        },
        appearance: Some(SignatureAppearance {
            name_ar: Some(ar.into()),
            name_latin: latin.into(),
            function: Some(function.into()),
            signed_at_text: format!("Signé le 2026-12-03 16:{minute:02} UTC"),
        }),
        contents_reserved: diwan_pdf::CONTENTS_RESERVED_BYTES,
    }
}

/// The covered bytes of a prepared document, concatenated.
fn covered(prepared: &Prepared) -> Vec<u8> {
    prepared.covered().concat()
}

/// Prepare, have `signer` make the CMS over the covered bytes (as a remote signer would over
/// the digest), embed.
fn sign_with(pdf: &[u8], request: &SignRequest, signer: &str) -> Vec<u8> {
    let prepared = prepare(pdf, request).unwrap();
    assert_eq!(
        &prepared.bytes[..pdf.len()],
        pdf,
        "the original is a prefix"
    );
    let data = covered(&prepared);
    let digest = ring::digest::digest(&ring::digest::SHA256, &data);
    assert_eq!(digest.as_ref(), &prepared.digest[..]);
    let cms = Pki::get().sign_as(signer, &data).unwrap();
    embed(prepared, &cms).unwrap()
}

/// A signer that needs no tool: a DER value that is not a real CMS (structure tests only).
fn dummy_sign(pdf: &[u8], request: &SignRequest) -> Vec<u8> {
    let prepared = prepare(pdf, request).unwrap();
    embed(prepared, &[0x30, 0x03, 0x02, 0x01, 0x07]).unwrap()
}

/// Signatures in the order they were made.
fn in_order(pdf: &[u8]) -> Vec<PdfSignature> {
    let mut sigs = signatures(pdf).unwrap();
    sigs.sort_by_key(|s| s.revision_end);
    sigs
}

fn verdicts(pdf: &[u8]) -> Vec<ChangesAfter> {
    in_order(pdf)
        .iter()
        .map(|s| changes_after(pdf, s).unwrap())
        .collect()
}

fn is_other(c: &ChangesAfter) -> bool {
    matches!(c, ChangesAfter::Other(_))
}

/// pyHanko's one-line verdict per field (`--executive-summary`): `(field, VALID|INVALID)`.
fn pyhanko_summary(path: &str) -> Vec<(String, String)> {
    let root = Pki::get().path("root.pem");
    let out = run(
        "pyhanko",
        &[
            "sign",
            "validate",
            "--executive-summary",
            "--trust",
            &root,
            "--trust-replace",
            "--no-revocation-check",
            path,
        ],
    );
    let report = text(&out);
    let lines: Vec<(String, String)> = report
        .lines()
        .filter_map(|l| {
            let mut parts = l.split(':');
            let (field, fingerprint, verdict) = (parts.next()?, parts.next()?, parts.next()?);
            (fingerprint.len() == 64).then(|| (field.to_owned(), verdict.trim().to_owned()))
        })
        .collect();
    assert!(!lines.is_empty(), "pyhanko gave no verdict: {report}");
    lines
}

/// pyHanko's full status lines (without `--executive-summary`).
fn pyhanko_details(path: &str) -> String {
    let root = Pki::get().path("root.pem");
    text(&run(
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
    ))
}

/// The widgets' rectangles on the last page, read with lopdf.
fn last_page_widget_rects(pdf: &[u8]) -> ([f32; 4], Vec<[f32; 4]>) {
    let doc = Document::load_mem(pdf).unwrap();
    let pages = doc.get_pages();
    let last = *pages.values().next_back().unwrap();
    let page = doc.get_dictionary(last).unwrap();
    let numbers = |o: &Object| -> Vec<f32> {
        let (_, o) = doc.dereference(o).unwrap();
        o.as_array()
            .unwrap()
            .iter()
            .map(|v| doc.dereference(v).unwrap().1.as_float().unwrap())
            .collect()
    };
    let media = numbers(page.get(b"MediaBox").unwrap());
    let annots = page
        .get(b"Annots")
        .map(|a| doc.dereference(a).unwrap().1.as_array().unwrap().clone())
        .unwrap_or_default();
    let rects = annots
        .iter()
        .map(|a| doc.dereference(a).unwrap().1.as_dict().unwrap().clone())
        .filter(|a| a.get(b"Subtype").unwrap().as_name().unwrap() == b"Widget")
        .map(|a| numbers(a.get(b"Rect").unwrap()).try_into().unwrap())
        .collect();
    (media.try_into().unwrap(), rects)
}

/// The form's field names and `/SigFlags`, read with lopdf.
fn form_fields(pdf: &[u8]) -> (Vec<String>, i64) {
    let doc = Document::load_mem(pdf).unwrap();
    let catalog = doc.catalog().unwrap();
    let (_, form) = doc.dereference(catalog.get(b"AcroForm").unwrap()).unwrap();
    let form = form.as_dict().unwrap();
    let flags = form.get(b"SigFlags").unwrap().as_i64().unwrap();
    let (_, fields) = doc.dereference(form.get(b"Fields").unwrap()).unwrap();
    let names = fields
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let field = doc.dereference(f).unwrap().1.as_dict().unwrap();
            String::from_utf8_lossy(field.get(b"T").unwrap().as_str().unwrap()).into_owned()
        })
        .collect();
    (names, flags)
}

/// Write `object` in PDF syntax (test helper for hand-made updates).
fn write(out: &mut Vec<u8>, object: &Object) {
    match object {
        Object::Null => out.extend_from_slice(b"null"),
        Object::Boolean(b) => out.extend_from_slice(b.to_string().as_bytes()),
        Object::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Object::Real(r) => out.extend_from_slice(format!("{r:.4}").as_bytes()),
        Object::Name(n) => {
            out.push(b'/');
            out.extend_from_slice(n);
        }
        Object::String(s, _) => {
            out.push(b'<');
            for b in s {
                out.extend_from_slice(format!("{b:02X}").as_bytes());
            }
            out.push(b'>');
        }
        Object::Array(items) => {
            out.push(b'[');
            for item in items {
                write(out, item);
                out.push(b' ');
            }
            out.push(b']');
        }
        Object::Dictionary(d) => {
            out.extend_from_slice(b"<<");
            for (k, v) in d.iter() {
                out.push(b'/');
                out.extend_from_slice(k);
                out.push(b' ');
                write(out, v);
                out.push(b'\n');
            }
            out.extend_from_slice(b">>");
        }
        Object::Reference((n, g)) => out.extend_from_slice(format!("{n} {g} R").as_bytes()),
        Object::Stream(_) => panic!("no direct streams"),
    }
}

/// Append an incremental update holding `objects` (number, body) with a classic xref table.
fn append_update(pdf: &[u8], objects: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let doc = Document::load_mem(pdf).unwrap();
    let at = pdf.windows(9).rposition(|w| w == b"startxref").unwrap();
    let prev: String = pdf[at + 9..]
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take_while(|b| b.is_ascii_digit())
        .map(|&b| char::from(b))
        .collect();
    let mut out = pdf.to_vec();
    let mut xref = String::from("xref\n0 1\n0000000000 65535 f\r\n");
    let mut size = doc.trailer.get(b"Size").unwrap().as_i64().unwrap();
    for (num, body) in objects {
        xref.push_str(&format!("{num} 1\n{:010} 00000 n\r\n", out.len()));
        out.extend_from_slice(format!("{num} 0 obj\n").as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
        size = size.max(i64::from(*num) + 1);
    }
    let xref_at = out.len();
    out.extend_from_slice(xref.as_bytes());
    let mut trailer = Vec::new();
    write(&mut trailer, doc.trailer.get(b"Root").unwrap());
    out.extend_from_slice(
        format!(
            "trailer\n<</Size {size} /Root {} /Prev {prev}>>\nstartxref\n{xref_at}\n%%EOF\n",
            String::from_utf8_lossy(&trailer)
        )
        .as_bytes(),
    );
    out
}

/// Page `index` (from 0) with its `/Contents` replaced by a new stream drawing a red box.
fn replace_page_content(pdf: &[u8], index: usize) -> Vec<u8> {
    let doc = Document::load_mem(pdf).unwrap();
    let page_id = *doc.get_pages().values().nth(index).unwrap();
    let mut page = doc.get_dictionary(page_id).unwrap().clone();
    let size = u32::try_from(doc.trailer.get(b"Size").unwrap().as_i64().unwrap()).unwrap();
    let content = b"q 1 0 0 rg 100 100 300 80 re f Q";
    let mut stream = format!("<</Length {}>>\nstream\n", content.len()).into_bytes();
    stream.extend_from_slice(content);
    stream.extend_from_slice(b"\nendstream");
    page.set("Contents", Object::Reference((size, 0)));
    let mut body = Vec::new();
    write(&mut body, &Object::Dictionary(page));
    append_update(pdf, &[(page_id.0, body), (size, stream)])
}

// ---------------------------------------------------------------------------------------------
// Without external tools

#[test]
fn successive_signatures_keep_fields_annotations_and_earlier_bytes() {
    let original = multi_page();
    let mut pdf = original.clone();
    for person in 0..3 {
        let before = pdf.clone();
        let prepared = prepare(&pdf, &request(person)).unwrap();
        pdf = embed(prepared, &[0x30, 0x03, 0x02, 0x01, 0x07]).unwrap();
        assert_eq!(&pdf[..before.len()], &before[..], "earlier bytes are kept");
    }
    assert_eq!(&pdf[..original.len()], &original[..]);
    let (fields, flags) = form_fields(&pdf);
    assert_eq!(fields, ["Signature1", "Signature2", "Signature3"]);
    assert_eq!(flags, 3);
    let (media, rects) = last_page_widget_rects(&pdf);
    assert_eq!(rects.len(), 3);
    for (i, a) in rects.iter().enumerate() {
        assert!((a[2] - a[0] - 240.0).abs() < 0.1 && (a[3] - a[1] - 70.0).abs() < 0.1);
        assert!(a[0] >= media[0] && a[2] <= media[2] && a[1] >= media[1] && a[3] <= media[3]);
        for b in &rects[i + 1..] {
            let apart = a[2] <= b[0] || b[2] <= a[0] || a[3] <= b[1] || b[3] <= a[1];
            assert!(apart, "blocks {a:?} and {b:?} overlap");
        }
    }
    let sigs = in_order(&pdf);
    assert_eq!(sigs.len(), 3);
    assert!(sigs[2].covers_whole_file);
    assert_eq!(sigs[2].revision_end, pdf.len() as u64);
    assert_eq!(
        verdicts(&pdf),
        [
            ChangesAfter::OnlySignatures,
            ChangesAfter::OnlySignatures,
            ChangesAfter::None
        ]
    );
}

#[test]
fn a_sealed_receipt_can_be_signed_again_and_the_seal_sees_only_signatures() {
    let sealed = seal(&multi_page(), &seal_info(), |_| Ok(vec![0x30, 0x00])).unwrap();
    let signed = dummy_sign(&sealed, &request(0));
    let invisible = dummy_sign(&signed, &SignRequest::new(request(1).info));
    let (fields, _) = form_fields(&invisible);
    assert_eq!(fields, ["DiwanSeal1", "Signature2", "Signature3"]);
    assert_eq!(
        verdicts(&invisible),
        [
            ChangesAfter::OnlySignatures,
            ChangesAfter::OnlySignatures,
            ChangesAfter::None
        ]
    );
}

#[test]
fn content_and_catalog_changes_after_a_signature_are_reported() {
    let once = dummy_sign(&multi_page(), &request(0));
    let twice = dummy_sign(&once, &request(1));

    // A page's content replaced after the second signature.
    let tampered = replace_page_content(&twice, 0);
    let found = verdicts(&tampered);
    assert!(found.iter().all(is_other), "{found:?}");
    if let ChangesAfter::Other(what) = &found[1] {
        assert!(what.contains("page 1"), "{what}");
    }

    // Signed again after the change: the last signature is clean, the earlier ones are not.
    let signed_after = dummy_sign(&tampered, &request(2));
    let found = verdicts(&signed_after);
    assert!(is_other(&found[0]) && is_other(&found[1]), "{found:?}");
    assert_eq!(found[2], ChangesAfter::None);

    // A later "signature" that also changes the catalog.
    let mut with_entry = request(2);
    with_entry.info.extra_catalog_entries = vec![("Note".into(), "x".into())];
    let found = verdicts(&dummy_sign(&twice, &with_entry));
    assert!(
        matches!(&found[0], ChangesAfter::Other(w) if w.contains("/Note")),
        "{found:?}"
    );
}

#[test]
fn dangling_references_that_come_to_life_are_reported() {
    // The signed revision's catalog points at an object that does not exist yet.
    let plain = multi_page();
    let doc = Document::load_mem(&plain).unwrap();
    let size = u32::try_from(doc.trailer.get(b"Size").unwrap().as_i64().unwrap()).unwrap();
    let catalog_id = doc.trailer.get(b"Root").unwrap().as_reference().unwrap();
    let mut catalog = doc.get_dictionary(catalog_id).unwrap().clone();
    catalog.set("OpenAction", Object::Reference((size + 50, 0)));
    let mut body = Vec::new();
    write(&mut body, &Object::Dictionary(catalog));
    let prepared_doc = append_update(&plain, &[(catalog_id.0, body)]);
    let signed = dummy_sign(&prepared_doc, &request(0));
    assert_eq!(verdicts(&signed), [ChangesAfter::None]);
    // Later, that object appears.
    let action = b"<</S /JavaScript /JS (app.alert\\(1\\))>>".to_vec();
    let revived = append_update(&signed, &[(size + 50, action)]);
    let found = verdicts(&revived);
    assert!(is_other(&found[0]), "{found:?}");
}

#[test]
fn two_step_signing_gives_what_seal_gives() {
    let pdf = multi_page();
    let info = seal_info();
    let cms = vec![0x30, 0x03, 0x02, 0x01, 0x2A];
    let sealed = seal(&pdf, &info, |_| Ok(cms.clone())).unwrap();
    let prepared = prepare(&pdf, &SignRequest::new(info)).unwrap();
    assert_eq!(prepared.reserved(), diwan_pdf::CONTENTS_RESERVED_BYTES);
    let embedded = embed(prepared, &cms).unwrap();
    // The same bytes but for the field's name (same length).
    let hex = |s: &str| s.bytes().map(|b| format!("{b:02X}")).collect::<String>();
    let (a, b) = (hex("DiwanSeal1"), hex("Signature1"));
    let renamed = String::from_utf8_lossy(&sealed).replace(&a, &b);
    assert_eq!(
        renamed.as_bytes(),
        String::from_utf8_lossy(&embedded).as_bytes()
    );
}

#[test]
fn embed_refuses_what_does_not_fit_or_does_not_match() {
    let pdf = multi_page();
    let mut small = SignRequest::new(seal_info());
    small.contents_reserved = 1024;
    let prepared = prepare(&pdf, &small).unwrap();
    assert_eq!(
        prepared.byte_range[2] - prepared.byte_range[1],
        2 * 1024 + 2
    );
    let too_big = embed(prepared.clone(), &vec![0x30; 1025]);
    assert!(
        matches!(
            too_big,
            Err(PdfError::SignatureTooLarge {
                size: 1025,
                reserved: 1024
            })
        ),
        "{too_big:?}"
    );
    assert!(matches!(
        embed(prepared.clone(), &[]),
        Err(PdfError::Request(_))
    ));
    let mut changed = prepared.clone();
    changed.bytes[10] ^= 1;
    assert!(matches!(
        embed(changed, &[0x30, 0x00]),
        Err(PdfError::Request(_))
    ));
    let mut shifted = prepared.clone();
    shifted.byte_range[1] += 1;
    assert!(matches!(
        embed(shifted, &[0x30, 0x00]),
        Err(PdfError::Request(_))
    ));
    let filled = embed(prepared.clone(), &[0x30, 0x00]).unwrap();
    let again = Prepared {
        bytes: filled,
        ..prepared
    };
    assert!(matches!(
        embed(again, &[0x30, 0x00]),
        Err(PdfError::Request(_))
    ));

    for reserved in [0, 10, diwan_pdf::MAX_CONTENTS_RESERVED_BYTES + 1] {
        let mut bad = SignRequest::new(seal_info());
        bad.contents_reserved = reserved;
        assert!(matches!(prepare(&pdf, &bad), Err(PdfError::Request(_))));
    }
    let mut long = request(0);
    if let Some(look) = &mut long.appearance {
        look.name_latin = "x".repeat(10_000);
    }
    assert!(matches!(prepare(&pdf, &long), Err(PdfError::TooLarge(_))));
    // A very long name still gives one block (shrunk and cut), not an error.
    let mut wordy = request(0);
    if let Some(look) = &mut wordy.appearance {
        look.name_latin = "Benali ".repeat(60);
        look.name_ar = Some("بنعلي ".repeat(60));
    }
    let prepared = prepare(&pdf, &wordy).unwrap();
    assert!(embed(prepared, &[0x30, 0x00]).is_ok());
}

#[test]
fn hostile_input_to_prepare_and_changes_after_gives_errors() {
    let once = dummy_sign(&multi_page(), &request(0));
    let twice = dummy_sign(&once, &request(1));
    let sigs = in_order(&twice);
    let first = sigs[0].clone();

    let mut inputs: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"%PDF-1.7\n".to_vec(),
        b"garbage garbage garbage".to_vec(),
        vec![0xFF; 4096],
    ];
    for cut in [10, 100, twice.len() / 3, twice.len() / 2, twice.len() - 40] {
        inputs.push(twice[..cut].to_vec());
    }
    // Cut just after a complete revision's end, a few bytes into the next update.
    let first_end = once.len();
    inputs.push(twice[..first_end + 20].to_vec());
    for input in &inputs {
        assert!(
            prepare(input, &request(2)).is_err(),
            "{} bytes of {}",
            input.len(),
            twice.len()
        );
        // The first signature's revision is not (all) there.
        let _ = changes_after(input, &first);
    }
    for cut in [10, 100, once.len() / 2] {
        assert!(
            changes_after(&twice[..cut], &first).is_err(),
            "cut at {cut}"
        );
    }
    // Byte ranges that do not belong to the file.
    let mut fake = first.clone();
    fake.byte_range = [5, 10, 20, 30];
    fake.revision_end = 50;
    assert!(changes_after(&twice, &fake).is_err());
    fake.byte_range = [0, 10, 20, u64::MAX - 10];
    fake.revision_end = u64::MAX;
    assert!(changes_after(&twice, &fake).is_err());
    fake.byte_range = [0, 10, 20, 30];
    fake.revision_end = 50;
    assert!(changes_after(&twice, &fake).is_err());

    // Every byte of the second update damaged in turn (a sample of positions and values):
    // answers or errors, never a panic.
    let update = once.len()..twice.len();
    let step = (update.len() / 400).max(1);
    for (i, at) in update.step_by(step).enumerate() {
        let mut damaged = twice.clone();
        damaged[at] = [b'0', b' ', b'<', b'>', b'/', b'R', 0xFF, b'9'][i % 8];
        let _ = changes_after(&damaged, &first);
        let _ = signatures(&damaged);
    }
    // Same for the signed revision itself.
    let step = (once.len() / 200).max(1);
    for (i, at) in (0..once.len()).step_by(step).enumerate() {
        let mut damaged = twice.clone();
        damaged[at] = [b'0', b' ', b'<', b'>', b'/', b'R', 0xFF, b'9'][i % 8];
        let _ = changes_after(&damaged, &first);
    }
}

// ---------------------------------------------------------------------------------------------
// With external tools

#[test]
fn three_signers_in_succession_validate_with_pyhanko_pdfsig_and_qpdf() {
    if skip_external() {
        return;
    }
    let original = multi_page();
    let pages_path = write_pdf("parapheur-original", &original);
    let pages: usize = text(&run("qpdf", &["--show-npages", &pages_path]))
        .trim()
        .parse()
        .unwrap();
    assert!(
        pages >= 2,
        "the document should have several pages, has {pages}"
    );

    let mut pdf = original;
    for (person, (signer, ..)) in PEOPLE.iter().enumerate() {
        pdf = sign_with(&pdf, &request(person), signer);
    }
    let fields = ["Signature1", "Signature2", "Signature3"];
    let path = write_pdf("parapheur-three", &pdf);
    qpdf_check(&path);

    // pyHanko validates each field (one verdict line per signature).
    let summary = pyhanko_summary(&path);
    assert_eq!(summary.len(), 3, "{summary:?}");
    for field in &fields {
        let verdict = summary.iter().find(|(f, _)| f == field);
        assert_eq!(
            verdict.map(|(_, v)| v.as_str()),
            Some("VALID"),
            "pyhanko on {field}: {summary:?}"
        );
    }
    let details = pyhanko_details(&path);
    assert_eq!(
        details.matches("ACCEPTABLE_MODIFICATIONS").count(),
        2,
        "pyhanko: {details}"
    );
    assert!(!details.contains("ILLEGAL"), "pyhanko: {details}");

    // pdfsig: three valid, trusted signatures, the last over the whole document.
    let report = pdfsig(&path);
    assert_eq!(
        report.matches("Signature is Valid").count(),
        3,
        "pdfsig: {report}"
    );
    assert_eq!(
        report.matches("Certificate is Trusted").count(),
        3,
        "pdfsig: {report}"
    );
    for (_, subject) in SIGNERS {
        let cn = subject
            .split('/')
            .find_map(|p| p.strip_prefix("CN="))
            .unwrap();
        assert!(report.contains(cn), "pdfsig does not name {cn}: {report}");
    }
    assert_eq!(
        report.matches("Total document signed").count(),
        1,
        "pdfsig: {report}"
    );

    assert_eq!(
        verdicts(&pdf),
        [
            ChangesAfter::OnlySignatures,
            ChangesAfter::OnlySignatures,
            ChangesAfter::None
        ]
    );

    // The blocks' text, in logical order.
    let last = pages.to_string();
    let extracted = text(&run("pdftotext", &["-f", &last, "-l", &last, &path, "-"]));
    for (_, ar, latin, function) in PEOPLE {
        assert!(
            extracted.contains(latin),
            "missing {latin:?} in:\n{extracted}"
        );
        assert!(
            extracted.contains(function),
            "missing {function:?} in:\n{extracted}"
        );
        assert!(extracted.contains(ar), "missing {ar:?} in:\n{extracted}");
    }
    assert!(
        extracted.contains("Signé le 2026-12-03 16:14 UTC"),
        "{extracted}"
    );

    // The last page as a picture, for a human look.
    let png = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../target/diwan-pdf-parapheur"
    );
    let out = run(
        "pdftoppm",
        &[
            "-png",
            "-r",
            "110",
            "-f",
            &last,
            "-l",
            &last,
            "-singlefile",
            &path,
            png,
        ],
    );
    assert!(out.status.success(), "pdftoppm: {}", text(&out));
}

#[test]
fn a_content_change_after_the_second_signature_breaks_the_first_two() {
    if skip_external() {
        return;
    }
    let mut pdf = multi_page();
    for (person, (signer, ..)) in PEOPLE.iter().enumerate().take(2) {
        pdf = sign_with(&pdf, &request(person), signer);
    }
    let clean = write_pdf("parapheur-two", &pdf);
    let report = pdfsig(&clean);
    assert_eq!(
        report.matches("Total document signed").count(),
        1,
        "pdfsig: {report}"
    );

    let tampered = replace_page_content(&pdf, 0);
    let path = write_pdf("parapheur-tampered", &tampered);
    qpdf_check(&path);
    let summary = pyhanko_summary(&path);
    assert_eq!(summary.len(), 2, "{summary:?}");
    assert!(
        summary.iter().all(|(_, v)| v == "INVALID"),
        "pyhanko accepted a changed page: {summary:?}"
    );
    let details = pyhanko_details(&path);
    assert!(
        details.contains("ILLEGAL_MODIFICATIONS"),
        "pyhanko: {details}"
    );

    let report = pdfsig(&path);
    assert!(
        !report.contains("Total document signed"),
        "pdfsig still says the whole document is signed: {report}"
    );
    let found = verdicts(&tampered);
    assert!(found.iter().all(is_other), "{found:?}");
}

#[test]
fn two_step_signing_with_an_external_signer_validates() {
    if skip_external() {
        return;
    }
    let pdf = multi_page();
    let mut request = SignRequest::new(seal_info());
    request.contents_reserved = 32 * 1024;
    let prepared = prepare(&pdf, &request).unwrap();
    // The remote signer only needs the digest; openssl is given the covered bytes and must
    // agree with it.
    let data = covered(&prepared);
    let pki = Pki::get();
    let file = super::tempfile(&pki.dir, "two-step", &data);
    let out = run(
        "openssl",
        &["dgst", "-sha256", "-r", &file.to_string_lossy()],
    );
    let hex: String = prepared.digest.iter().map(|b| format!("{b:02x}")).collect();
    assert!(text(&out).starts_with(&hex), "openssl dgst: {}", text(&out));
    let cms = pki.sign_as("signer2", &data).unwrap();
    let signed = embed(prepared, &cms).unwrap();
    let path = write_pdf("two-step", &signed);
    qpdf_check(&path);
    let report = pdfsig(&path);
    assert!(report.contains("Signature is Valid"), "pdfsig: {report}");
    assert!(report.contains("Total document signed"), "pdfsig: {report}");
    let summary = pyhanko_summary(&path);
    assert_eq!(summary, [("Signature1".to_owned(), "VALID".to_owned())]);
}

/// Sign with the first two people: real CMS when the tools are there, else dummy ones.
fn sign_two(pdf: &[u8]) -> Vec<u8> {
    let mut pdf = pdf.to_vec();
    for (person, (signer, ..)) in PEOPLE.iter().enumerate().take(2) {
        pdf = if skip_external() {
            dummy_sign(&pdf, &request(person))
        } else {
            sign_with(&pdf, &request(person), signer)
        };
    }
    pdf
}

#[test]
fn an_indirect_form_keeps_its_object_and_default_resources() {
    let plain = multi_page();
    let doc = Document::load_mem(&plain).unwrap();
    let size = u32::try_from(doc.trailer.get(b"Size").unwrap().as_i64().unwrap()).unwrap();
    let catalog_id = doc.trailer.get(b"Root").unwrap().as_reference().unwrap();
    let mut catalog = doc.get_dictionary(catalog_id).unwrap().clone();
    catalog.set("AcroForm", Object::Reference((size, 0)));
    let mut body = Vec::new();
    write(&mut body, &Object::Dictionary(catalog));
    let form = b"<</Fields [] /DA (/Helv 0 Tf 0 g) /DR <</Font <<>> >> >>".to_vec();
    let with_form = append_update(&plain, &[(catalog_id.0, body), (size, form)]);

    let signed = sign_two(&with_form);
    let doc = Document::load_mem(&signed).unwrap();
    let catalog = doc.catalog().unwrap();
    assert_eq!(
        catalog.get(b"AcroForm").unwrap().as_reference().unwrap(),
        (size, 0),
        "the form stays where it was"
    );
    let form = doc.get_dictionary((size, 0)).unwrap();
    assert!(form.has(b"DR") && form.has(b"DA"), "{form:?}");
    assert_eq!(form.get(b"SigFlags").unwrap().as_i64().unwrap(), 3);
    let (fields, _) = form_fields(&signed);
    assert_eq!(fields, ["Signature1", "Signature2"]);
    // The signatures' updates did not rewrite the catalog.
    let catalog_header = format!("\n{} 0 obj", catalog_id.0);
    let rewritten = signed[with_form.len()..]
        .windows(catalog_header.len())
        .filter(|w| *w == catalog_header.as_bytes())
        .count();
    assert_eq!(rewritten, 0);
    assert_eq!(
        verdicts(&signed),
        [ChangesAfter::OnlySignatures, ChangesAfter::None]
    );
    if !skip_external() {
        let path = write_pdf("parapheur-indirect-form", &signed);
        qpdf_check(&path);
        let summary = pyhanko_summary(&path);
        assert!(summary.iter().all(|(_, v)| v == "VALID"), "{summary:?}");
        assert_eq!(pdfsig(&path).matches("Signature is Valid").count(), 2);
    }
}

#[test]
fn successive_signatures_of_a_file_with_object_streams() {
    if skip_external() {
        return;
    }
    let plain = write_pdf("parapheur-plain", &multi_page());
    let compressed = plain.replace(".pdf", "-objstm.pdf");
    let out = run("qpdf", &["--object-streams=generate", &plain, &compressed]);
    assert!(out.status.success(), "qpdf: {}", text(&out));
    let original = std::fs::read(&compressed).unwrap();
    let signed = sign_two(&original);
    assert_eq!(&signed[..original.len()], &original[..]);
    let path = write_pdf("parapheur-objstm", &signed);
    qpdf_check(&path);
    let summary = pyhanko_summary(&path);
    assert_eq!(summary.len(), 2, "{summary:?}");
    assert!(summary.iter().all(|(_, v)| v == "VALID"), "{summary:?}");
    assert_eq!(pdfsig(&path).matches("Signature is Valid").count(), 2);
    assert_eq!(
        verdicts(&signed),
        [ChangesAfter::OnlySignatures, ChangesAfter::None]
    );
    let tampered = replace_page_content(&signed, 1);
    assert!(verdicts(&tampered).iter().all(is_other));
}
