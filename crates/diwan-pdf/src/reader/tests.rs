use std::io::{Cursor, Write as _};
use std::time::{Duration, Instant};

use super::*;
use crate::inspect::{code, inspect};

/// A PDF from `(number, body)` objects with a classic cross-reference table.
pub(crate) fn pdf(objects: &[(u32, Vec<u8>)], trailer: &str) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (num, body) in objects {
        offsets.push((*num, out.len()));
        out.extend_from_slice(format!("{num} 0 obj\n").as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let size = objects.iter().map(|(n, _)| *n).max().unwrap_or(0) + 1;
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {size}\n0000000000 65535 f\r\n").as_bytes());
    for n in 1..size {
        match offsets.iter().find(|(m, _)| *m == n) {
            Some((_, o)) => out.extend_from_slice(format!("{o:010} 00000 n\r\n").as_bytes()),
            None => out.extend_from_slice(b"0000000000 65535 f\r\n"),
        }
    }
    out.extend_from_slice(
        format!("trailer\n<</Size {size} {trailer}>>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
    );
    out
}

fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

fn simple(pages: usize) -> Vec<u8> {
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", 10 + i)).collect();
    let mut objects = vec![
        (1, b("<</Type /Catalog /Pages 2 0 R>>")),
        (
            2,
            b(&format!(
                "<</Type /Pages /Kids [{}] /Count {pages} /MediaBox [0 0 595 842]>>",
                kids.join(" ")
            )),
        ),
        (3, b("<</Length 7>>\nstream\nBT ET q\nendstream")),
    ];
    for i in 0..pages {
        objects.push((
            10 + i as u32,
            b("<</Type /Page /Parent 2 0 R /Contents 3 0 R /Resources <<>>>>"),
        ));
    }
    pdf(&objects, "/Root 1 0 R")
}

fn open(bytes: Vec<u8>) -> Result<PdfReader<Cursor<Vec<u8>>>, ReadError> {
    PdfReader::open(Cursor::new(bytes), Limits::default())
}

fn codes(bytes: Vec<u8>) -> (Option<u32>, Vec<&'static str>) {
    let i = inspect(Cursor::new(bytes), Limits::default()).unwrap();
    (i.pages, i.problems.iter().map(|p| p.code).collect())
}

#[test]
fn pages_are_found_with_inherited_attributes() {
    let mut r = open(simple(3)).unwrap();
    assert!(r.repaired().is_none());
    let pages = r.pages().unwrap();
    assert_eq!(pages.len(), 3);
    assert!(pages[0].media_box.is_some());
    assert_eq!(r.page_contents(&pages[0]).unwrap(), b"BT ET q\n");
    assert_eq!(codes(simple(3)), (Some(3), vec![]));
}

#[test]
fn a_broken_xref_is_repaired_by_scanning_and_reported() {
    let mut bytes = simple(2);
    let at = memchr::memmem::rfind(&bytes, b"startxref\n").unwrap() + 10;
    bytes.splice(at..at + 3, b"999".iter().copied());
    let mut r = open(bytes.clone()).unwrap();
    assert_eq!(r.repaired(), Some(Repair::BrokenXref));
    assert_eq!(r.pages().unwrap().len(), 2);
    assert_eq!(codes(bytes), (Some(2), vec![code::BROKEN_XREF]));
}

#[test]
fn a_truncated_file_is_reported() {
    let bytes = simple(2);
    let cut = bytes[..bytes.len() * 2 / 3].to_vec();
    let (_, found) = codes(cut);
    assert_eq!(found.first(), Some(&code::TRUNCATED), "{found:?}");
    let (pages, found) = codes(bytes[..40].to_vec());
    assert_eq!(pages, None);
    assert!(found.contains(&code::PARSE_ERROR), "{found:?}");
}

#[test]
fn page_tree_and_reference_loops_are_caught() {
    let looped = pdf(
        &[
            (1, b("<</Type /Catalog /Pages 2 0 R>>")),
            (2, b("<</Type /Pages /Kids [3 0 R] /Count 1>>")),
            (3, b("<</Type /Pages /Kids [2 0 R] /Count 1>>")),
        ],
        "/Root 1 0 R",
    );
    assert_eq!(codes(looped).1, vec![code::REFERENCE_LOOP]);
    let chain = pdf(
        &[
            (1, b("<</Type /Catalog /Pages 2 0 R>>")),
            (2, b("3 0 R")),
            (3, b("2 0 R")),
        ],
        "/Root 1 0 R",
    );
    assert!(codes(chain).1.contains(&code::REFERENCE_LOOP));
    let length_loop = pdf(
        &[
            (1, b("<</Type /Catalog /Pages 2 0 R>>")),
            (2, b("<</Type /Pages /Kids [] /Count 0>>")),
            (
                4,
                b("<</Length 4 0 R /Type /ObjStm /N 1 /First 4>>\nstream\n5 0 1\nendstream"),
            ),
        ],
        "/Root 1 0 R",
    );
    let (_, found) = codes(length_loop);
    assert!(found.contains(&code::NO_PAGES), "{found:?}");
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    let mut deep = b("<</Type /Catalog /Pages 2 0 R /X ");
    deep.extend(vec![b'['; 100_000]);
    deep.extend(vec![b']'; 100_000]);
    deep.extend(b(">>"));
    let bytes = pdf(
        &[(1, deep), (2, b("<</Type /Pages /Kids [] /Count 0>>"))],
        "/Root 1 0 R",
    );
    let (_, found) = codes(bytes);
    assert!(found.contains(&code::TOO_DEEP), "{found:?}");
}

#[test]
fn active_content_is_found_also_inside_object_streams() {
    let js = pdf(
        &[
            (
                1,
                b(
                    "<</Type /Catalog /Pages 2 0 R /OpenAction <</S /JavaScript /JS (app.alert(1))>>>>",
                ),
            ),
            (2, b("<</Type /Pages /Kids [] /Count 0>>")),
        ],
        "/Root 1 0 R",
    );
    assert!(codes(js).1.contains(&code::JAVASCRIPT));
    // An escaped name is still the same name.
    let launch = pdf(
        &[
            (
                1,
                b("<</Type /Catalog /Pages 2 0 R /OpenAction <</S /Lau#6Ech /F (cmd.exe)>>>>"),
            ),
            (2, b("<</Type /Pages /Kids [] /Count 0>>")),
        ],
        "/Root 1 0 R",
    );
    assert!(codes(launch).1.contains(&code::LAUNCH_ACTION));

    // The catalog and an action inside a compressed object stream, with an xref stream.
    let inner = b"1 0 5 45 <</Type /Catalog /Pages 2 0 R /Names 6 0 R>> <</AA <</O <</S /JavaScript /JS 7 0 R>>>>>>";
    let header_len = 9;
    let mut objstm = Vec::new();
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(inner).unwrap();
    let compressed = z.finish().unwrap();
    objstm.extend_from_slice(
        format!(
            "<</Type /ObjStm /N 2 /First {header_len} /Filter /FlateDecode /Length {}>>\nstream\n",
            compressed.len()
        )
        .as_bytes(),
    );
    objstm.extend_from_slice(&compressed);
    objstm.extend_from_slice(b"\nendstream");
    let mut out = b"%PDF-1.7\n".to_vec();
    let o2 = out.len();
    out.extend_from_slice(b"2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\n");
    let o3 = out.len();
    out.extend_from_slice(b"3 0 obj ");
    out.extend_from_slice(&objstm);
    out.extend_from_slice(b" endobj\n");
    let x = out.len();
    let mut rows = Vec::new();
    let mut row = |t: u8, a: u32, b: u16| {
        rows.push(t);
        rows.extend_from_slice(&a.to_be_bytes());
        rows.extend_from_slice(&b.to_be_bytes());
    };
    row(0, 0, 65535);
    row(2, 3, 0);
    row(1, u32::try_from(o2).unwrap(), 0);
    row(1, u32::try_from(o3).unwrap(), 0);
    row(1, u32::try_from(x).unwrap(), 0);
    row(2, 3, 1);
    out.extend_from_slice(
        format!(
            "4 0 obj <</Type /XRef /Size 6 /W [1 4 2] /Root 1 0 R /Length {}>>\nstream\n",
            rows.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(&rows);
    out.extend_from_slice(format!("\nendstream endobj\nstartxref\n{x}\n%%EOF\n").as_bytes());
    let mut r = open(out.clone()).unwrap();
    assert!(r.repaired().is_none());
    assert!(r.catalog().unwrap().get(b"Names").is_some());
    let (pages, found) = codes(out);
    assert_eq!(pages, Some(0));
    assert!(found.contains(&code::JAVASCRIPT), "{found:?}");
}

#[test]
fn encryption_and_embedded_files_are_reported() {
    let enc = pdf(
        &[
            (1, b("<</Type /Catalog /Pages 2 0 R>>")),
            (2, b("<</Type /Pages /Kids [] /Count 0>>")),
            (
                3,
                b("<</Filter /Standard /V 1 /R 2 /O <00> /U <00> /P -4>>"),
            ),
        ],
        "/Root 1 0 R /Encrypt 3 0 R",
    );
    assert!(codes(enc).1.contains(&code::ENCRYPTED));
    let files = pdf(
        &[
            (
                1,
                b("<</Type /Catalog /Pages 2 0 R /Names <</EmbeddedFiles 3 0 R>>>>"),
            ),
            (2, b("<</Type /Pages /Kids [] /Count 0>>")),
            (3, b("<</Names [(a.exe) 4 0 R]>>")),
            (4, b("<</Type /Filespec /F (a.exe) /EF <</F 5 0 R>>>>")),
            (
                5,
                b("<</Type /EmbeddedFile /Length 2>>\nstream\nMZ\nendstream"),
            ),
        ],
        "/Root 1 0 R",
    );
    assert!(codes(files).1.contains(&code::EMBEDDED_FILES));
}

#[test]
fn too_many_objects_and_the_deadline_stop_reading() {
    let mut objects = vec![
        (1, b("<</Type /Catalog /Pages 2 0 R>>")),
        (2, b("<</Type /Pages /Kids [] /Count 0>>")),
    ];
    for n in 3..2000 {
        objects.push((n, b("null")));
    }
    let bytes = pdf(&objects, "/Root 1 0 R");
    let limits = Limits {
        max_objects: 1000,
        ..Limits::default()
    };
    let i = inspect(Cursor::new(bytes.clone()), limits).unwrap();
    assert_eq!(i.problems[0].code, code::TOO_MANY_OBJECTS);
    let limits = Limits {
        deadline: Some(Instant::now() - Duration::from_millis(1)),
        ..Limits::default()
    };
    let i = inspect(Cursor::new(bytes), limits).unwrap();
    assert_eq!(i.problems[0].code, code::TOO_SLOW);
}

#[test]
fn garbage_never_panics() {
    let base = simple(2);
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..300 {
        let mut bytes = base.clone();
        for _ in 0..8 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let at = (seed % bytes.len() as u64) as usize;
            bytes[at] = (seed >> 32) as u8;
        }
        let _ = inspect(Cursor::new(bytes), Limits::default()).unwrap();
    }
}
