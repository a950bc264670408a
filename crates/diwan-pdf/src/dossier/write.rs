//! Appending an incremental update to a file being written (objects, streams whose data is
//! copied or compressed on the way, a cross-reference table), and sealing it: the byte range is
//! patched and the signature written in place by seeking, the covered bytes are streamed to the
//! signer, never held.

use std::io::{self, Read, Seek, SeekFrom, Write};

use crate::reader::{ObjRef, Object};
use crate::syntax::{hex, pdf_date, text_string, write_hex_string, write_name};
use crate::{CONTENTS_RESERVED_BYTES, PdfError};

/// Width of one number in the `/ByteRange` placeholder.
const BYTE_RANGE_DIGITS: usize = 10;

/// An update being appended: tracks where each object starts.
pub(crate) struct Appender<W: Write> {
    out: io::BufWriter<W>,
    pos: u64,
    offsets: Vec<(u32, u64)>,
    next: u32,
}

impl<W: Write> Appender<W> {
    /// Appends after `start` bytes already in `out`; new objects are numbered from `next`.
    pub(crate) fn new(out: W, start: u64, next: u32) -> Self {
        Self {
            out: io::BufWriter::with_capacity(256 * 1024, out),
            pos: start,
            offsets: Vec::new(),
            next,
        }
    }

    pub(crate) fn pos(&self) -> u64 {
        self.pos
    }

    /// A fresh object number.
    pub(crate) fn alloc(&mut self) -> u32 {
        let n = self.next;
        self.next += 1;
        n
    }

    pub(crate) fn next_number(&self) -> u32 {
        self.next
    }

    pub(crate) fn begin(&mut self, num: u32) -> io::Result<()> {
        self.offsets.push((num, self.pos));
        self.write_all(format!("{num} 0 obj\n").as_bytes())
    }

    pub(crate) fn end(&mut self) -> io::Result<()> {
        self.write_all(b"\nendobj\n")
    }

    /// A whole (non-stream) object.
    pub(crate) fn object(&mut self, num: u32, body: &[u8]) -> io::Result<()> {
        self.begin(num)?;
        self.write_all(body)?;
        self.end()
    }

    /// Starts stream `num`: `dict` (without `/Length` and without the closing `>>`), then
    /// `/Length` — given, or an indirect object written by [`Self::end_stream`]. Returns the
    /// position of the data's first byte and the length object's number, if any.
    pub(crate) fn begin_stream(
        &mut self,
        num: u32,
        dict: &[u8],
        length: Option<u64>,
    ) -> io::Result<(u64, Option<u32>)> {
        self.begin(num)?;
        self.write_all(b"<<")?;
        self.write_all(dict)?;
        let length_obj = match length {
            Some(n) => {
                self.write_all(format!(" /Length {n}>>\nstream\n").as_bytes())?;
                None
            }
            None => {
                let l = self.alloc();
                self.write_all(format!(" /Length {l} 0 R>>\nstream\n").as_bytes())?;
                Some(l)
            }
        };
        Ok((self.pos, length_obj))
    }

    pub(crate) fn end_stream(&mut self, started: (u64, Option<u32>)) -> io::Result<u64> {
        let written = self.pos - started.0;
        self.write_all(b"\nendstream\nendobj\n")?;
        if let Some(l) = started.1 {
            self.object(l, written.to_string().as_bytes())?;
        }
        Ok(written)
    }

    /// The cross-reference section of this update and the trailer, then `%%EOF`.
    pub(crate) fn finish(mut self, trailer: &[u8], prev: u64) -> io::Result<(W, u64)> {
        let xref_at = self.pos;
        let mut entries = std::mem::take(&mut self.offsets);
        entries.sort_by_key(|(n, _)| *n);
        entries.dedup_by_key(|(n, _)| *n);
        let mut x = String::from("xref\n0 1\n0000000000 65535 f\r\n");
        let mut i = 0;
        while i < entries.len() {
            let mut j = i + 1;
            while j < entries.len() && entries[j].0 == entries[j - 1].0 + 1 {
                j += 1;
            }
            x.push_str(&format!("{} {}\n", entries[i].0, j - i));
            for (_, offset) in &entries[i..j] {
                x.push_str(&format!("{offset:010} 00000 n\r\n"));
            }
            i = j;
        }
        x.push_str(&format!("trailer\n<</Size {} ", self.next));
        self.write_all(x.as_bytes())?;
        self.write_all(trailer)?;
        self.write_all(format!(" /Prev {prev}>>\nstartxref\n{xref_at}\n%%EOF\n").as_bytes())?;
        self.out.flush()?;
        let end = self.pos;
        let w = self
            .out
            .into_inner()
            .map_err(|e| io::Error::other(e.to_string()))?;
        Ok((w, end))
    }
}

impl<W: Write> Write for Appender<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.pos += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Serializes `o`, turning each reference through `map` (`None`: written as `null`). Depth is
/// bounded by the reader that parsed `o`.
pub(crate) fn serialize(out: &mut Vec<u8>, o: &Object, map: &dyn Fn(ObjRef) -> Option<u32>) {
    match o {
        Object::Null => out.extend_from_slice(b"null"),
        Object::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Object::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Object::Real(r) => out.extend_from_slice(real(*r).as_bytes()),
        Object::Name(n) => write_name(out, n),
        Object::Str(s) => literal(out, s),
        Object::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                serialize(out, item, map);
            }
            out.push(b']');
        }
        Object::Dict(d) => {
            out.extend_from_slice(b"<<");
            for (k, v) in d.iter() {
                write_name(out, k);
                out.push(b' ');
                serialize(out, v, map);
                out.push(b'\n');
            }
            out.extend_from_slice(b">>");
        }
        Object::Ref(r) => match map(*r) {
            Some(n) => out.extend_from_slice(format!("{n} 0 R").as_bytes()),
            None => out.extend_from_slice(b"null"),
        },
    }
}

fn real(r: f64) -> String {
    if !r.is_finite() {
        return "0".to_owned();
    }
    let s = format!("{r:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" || s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

/// A literal string, escaped so that it reads back byte for byte.
fn literal(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'(');
    for &b in s {
        match b {
            b'(' | b')' | b'\\' => {
                out.push(b'\\');
                out.push(b);
            }
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\n' => out.extend_from_slice(b"\\n"),
            _ => out.push(b),
        }
    }
    out.push(b')');
}

/// A number for a content stream or a box: at most 4 decimals.
pub(crate) fn num(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

/// What the signature dictionary says.
#[derive(Debug, Clone)]
pub struct SealText {
    pub name: String,
    pub reason: Option<String>,
    pub location: Option<String>,
    pub signing_time: chrono::DateTime<chrono::Utc>,
}

/// Where the placeholders are, in file offsets.
pub(crate) struct Placeholders {
    pub(crate) byte_range: u64,
    pub(crate) contents: u64,
}

fn byte_range_placeholder() -> String {
    let zero = "0".repeat(BYTE_RANGE_DIGITS);
    format!("[0 {zero} {zero} {zero}]")
}

/// Writes the `/Sig` dictionary object with its placeholders.
pub(crate) fn signature_object<W: Write>(
    a: &mut Appender<W>,
    num: u32,
    text: &SealText,
) -> io::Result<Placeholders> {
    a.begin(num)?;
    a.write_all(
        b"<</Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached\n/ByteRange ",
    )?;
    let byte_range = a.pos();
    a.write_all(byte_range_placeholder().as_bytes())?;
    a.write_all(b"\n/Contents ")?;
    let contents = a.pos();
    a.write_all(b"<")?;
    let zeros = vec![b'0'; 2 * CONTENTS_RESERVED_BYTES];
    a.write_all(&zeros)?;
    a.write_all(b">")?;
    let mut rest = Vec::new();
    rest.extend_from_slice(b"\n/M ");
    write_hex_string(&mut rest, pdf_date(text.signing_time).as_bytes());
    let mut entry = |key: &[u8], value: &str| {
        rest.push(b'\n');
        write_name(&mut rest, key);
        rest.push(b' ');
        write_hex_string(&mut rest, &text_string(value));
    };
    entry(b"Name", &text.name);
    if let Some(r) = &text.reason {
        entry(b"Reason", r);
    }
    if let Some(l) = &text.location {
        entry(b"Location", l);
    }
    rest.extend_from_slice(b">>");
    a.write_all(&rest)?;
    a.end()?;
    Ok(Placeholders {
        byte_range,
        contents,
    })
}

/// Patches the byte range, streams the covered bytes to `sign`, writes the CMS it returns.
pub(crate) fn sign_in_place<F: Read + Write + Seek>(
    file: &mut F,
    at: &Placeholders,
    len: u64,
    sign: impl FnOnce(&mut dyn Read, u64) -> Result<Vec<u8>, String>,
) -> Result<(), PdfError> {
    let io = |e: io::Error| PdfError::Io(e.to_string());
    let gap_start = at.contents;
    let gap_end = gap_start + 2 * CONTENTS_RESERVED_BYTES as u64 + 2;
    let range = format!("[0 {gap_start} {gap_end} {}]", len - gap_end);
    let width = byte_range_placeholder().len();
    if range.len() > width {
        return Err(PdfError::TooLarge("PDF"));
    }
    file.seek(SeekFrom::Start(at.byte_range)).map_err(io)?;
    file.write_all(format!("{range:<width$}").as_bytes())
        .map_err(io)?;
    file.flush().map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    let cms = {
        let mut covered = Covered {
            file: &mut *file,
            pos: 0,
            gap: (gap_start, gap_end),
            len,
        };
        sign(&mut covered, gap_start).map_err(PdfError::Signer)?
    };
    if cms.len() > CONTENTS_RESERVED_BYTES {
        return Err(PdfError::SignatureTooLarge {
            size: cms.len(),
            reserved: CONTENTS_RESERVED_BYTES,
        });
    }
    file.seek(SeekFrom::Start(gap_start + 1)).map_err(io)?;
    file.write_all(hex(&cms).as_bytes()).map_err(io)?;
    file.flush().map_err(io)?;
    Ok(())
}

/// The file without the signature's gap, read in order.
struct Covered<'a, F> {
    file: &'a mut F,
    pos: u64,
    gap: (u64, u64),
    len: u64,
}

impl<F: Read + Seek> Read for Covered<'_, F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.gap.0 {
            self.pos = self.gap.1;
            self.file.seek(SeekFrom::Start(self.pos))?;
        }
        let limit = if self.pos < self.gap.0 {
            self.gap.0
        } else {
            self.len
        };
        let n = usize::try_from((limit - self.pos).min(buf.len() as u64)).unwrap_or(0);
        if n == 0 {
            return Ok(0);
        }
        let got = self.file.read(&mut buf[..n])?;
        self.pos += got as u64;
        Ok(got)
    }
}

/// A reference in the source renumbered in the output, for [`serialize`].
pub(crate) fn same(r: ObjRef) -> Option<u32> {
    Some(r.num)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::{Dict, parse_object};

    #[test]
    fn objects_read_back_the_same() {
        let src = b"<</A [1 2.5 (a\\(b\\)\\r\\n) /N#20x 3 0 R null true] /B <</C -0.125>>>>";
        let o = parse_object(src, 8).unwrap();
        let mut out = Vec::new();
        serialize(&mut out, &o, &same);
        assert_eq!(parse_object(&out, 8).unwrap(), o);
        let mut d = Dict::new();
        d.set("R", Object::Ref(ObjRef::new(7, 0)));
        let mut out = Vec::new();
        serialize(&mut out, &Object::Dict(d), &|_| None);
        assert_eq!(out, b"<</R null\n>>");
    }
}
