//! What a deposited PDF holds that a registry should know about: its page count, and problems
//! (damage, encryption, active content, absurd sizes), each with a stable code.

use std::io::{Read, Seek};

use crate::reader::{Indirect, Limits, Object, PdfReader, ReadError, Repair};

/// The stable codes of [`Problem`]s.
pub mod code {
    /// The file cannot be parsed as a PDF (or a part of it cannot).
    pub const PARSE_ERROR: &str = "parse_error";
    /// The file ends before its cross-reference data: probably cut short.
    pub const TRUNCATED: &str = "truncated";
    /// The cross-reference data is damaged; the objects were found by scanning the file.
    pub const BROKEN_XREF: &str = "broken_xref";
    pub const ENCRYPTED: &str = "encrypted";
    pub const JAVASCRIPT: &str = "javascript";
    pub const LAUNCH_ACTION: &str = "launch_action";
    pub const EMBEDDED_FILES: &str = "embedded_files";
    pub const TOO_MANY_OBJECTS: &str = "too_many_objects";
    pub const TOO_DEEP: &str = "too_deep";
    pub const TOO_SLOW: &str = "too_slow";
    /// A page count, an object or a decoded stream over its limit.
    pub const TOO_LARGE: &str = "too_large";
    pub const REFERENCE_LOOP: &str = "reference_loop";
    /// No page at all.
    pub const NO_PAGES: &str = "no_pages";
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// One of [`code`].
    pub code: &'static str,
    /// For people: where and what.
    pub detail: String,
}

/// The outcome of [`inspect`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inspection {
    /// Known when the page tree could be read.
    pub pages: Option<u32>,
    /// Each code at most once, in the order found.
    pub problems: Vec<Problem>,
}

impl Inspection {
    fn add(&mut self, code: &'static str, detail: impl Into<String>) {
        if !self.problems.iter().any(|p| p.code == code) {
            self.problems.push(Problem {
                code,
                detail: detail.into(),
            });
        }
    }

    fn add_error(&mut self, e: &ReadError, context: &str) -> Result<(), std::io::Error> {
        let code = match e {
            ReadError::Io(io) => return Err(std::io::Error::new(io.kind(), io.to_string())),
            ReadError::Malformed(_) | ReadError::Unsupported(_) => code::PARSE_ERROR,
            ReadError::TooDeep(_) => code::TOO_DEEP,
            ReadError::TooManyObjects(_) => code::TOO_MANY_OBJECTS,
            ReadError::ReferenceLoop(_) => code::REFERENCE_LOOP,
            ReadError::TooSlow => code::TOO_SLOW,
            ReadError::TooLarge(_) => code::TOO_LARGE,
        };
        self.add(code, format!("{context}: {e}"));
        Ok(())
    }

    /// Whether the file can go into a dossier as it is (no problem at all).
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Names whose presence anywhere in an object is reported.
const ACTIVE_NAMES: [(&[u8], &str, &str); 5] = [
    (b"JS", code::JAVASCRIPT, "JavaScript"),
    (b"JavaScript", code::JAVASCRIPT, "JavaScript"),
    (b"Launch", code::LAUNCH_ACTION, "a launch action"),
    (b"EmbeddedFiles", code::EMBEDDED_FILES, "embedded files"),
    (b"EmbeddedFile", code::EMBEDDED_FILES, "an embedded file"),
];

/// Inspects a PDF within `limits` (the deadline included). Only an I/O error of `src` itself is
/// an `Err`; everything about the file's content is a [`Problem`].
pub fn inspect<R: Read + Seek>(src: R, limits: Limits) -> Result<Inspection, std::io::Error> {
    let mut out = Inspection::default();
    let mut reader = match PdfReader::open(src, limits) {
        Ok(r) => r,
        Err(e) => {
            out.add_error(&e, "reading the file")?;
            return Ok(out);
        }
    };
    match reader.repaired() {
        Some(Repair::Truncated) => out.add(
            code::TRUNCATED,
            "the file ends without its cross-reference data (startxref): it was probably cut short",
        ),
        Some(Repair::BrokenXref) => out.add(
            code::BROKEN_XREF,
            "the cross-reference data is damaged; the objects were found by scanning the file",
        ),
        None => {}
    }
    if reader.is_encrypted() {
        out.add(
            code::ENCRYPTED,
            "the file is encrypted (/Encrypt in its trailer)",
        );
    }
    match reader.pages() {
        Ok(pages) if pages.is_empty() => {
            out.pages = Some(0);
            out.add(code::NO_PAGES, "the page tree has no page");
        }
        Ok(pages) => out.pages = u32::try_from(pages.len()).ok(),
        Err(e) => out.add_error(&e, "the page tree")?,
    }
    scan_objects(&mut reader, &mut out)?;
    Ok(out)
}

/// Looks at every object (those inside object streams included) for active content.
fn scan_objects<R: Read + Seek>(
    reader: &mut PdfReader<R>,
    out: &mut Inspection,
) -> Result<(), std::io::Error> {
    for id in reader.object_ids() {
        let object = match reader.object(id) {
            Ok(Indirect::Plain(o)) => o,
            Ok(Indirect::Stream(s)) => Object::Dict(s.dict),
            // Encrypted object streams cannot be decoded; that is already said.
            Err(_) if reader.is_encrypted() => continue,
            Err(e @ (ReadError::TooSlow | ReadError::Io(_))) => {
                return out.add_error(&e, "scanning the objects");
            }
            Err(e) => {
                out.add_error(&e, &format!("object {}", id.num))?;
                continue;
            }
        };
        object.walk(|o| {
            let names: Vec<&[u8]> = match o {
                Object::Name(n) => vec![n.as_slice()],
                Object::Dict(d) => d.iter().map(|(k, _)| k).collect(),
                _ => Vec::new(),
            };
            for name in names {
                for (active, code, what) in ACTIVE_NAMES {
                    if name == active {
                        out.add(code, format!("{what} (object {})", id.num));
                    }
                }
            }
        });
    }
    Ok(())
}
