//! A bounded PDF reader over any `Read + Seek`, for files that may be broken or hostile.
//!
//! The file is never read whole: objects are parsed from a window read at their offset, stream
//! data is decoded only on request (with an output budget) or copied in chunks. Every loop
//! checks the deadline; object counts, nesting depth, object sizes, decoded bytes and
//! reference chains are bounded, and nothing recurses on the file's structure. A
//! cross-reference table that cannot be read is rebuilt by scanning the file
//! ([`PdfReader::repaired`] says so).
//!
//! The pieces other modules build on: [`PdfReader::pages`] (the page tree, with inherited
//! attributes), [`PdfReader::object`] and [`PdfReader::resolve`], [`PdfReader::stream_data`]
//! (decoded content streams), [`PdfReader::copy_stream`] (raw data, in chunks), and
//! [`Lexer`] / [`parse_object`] for content streams.

mod filters;
mod lex;
mod object;
mod pages;
mod source;
mod xref;

use std::collections::{HashMap, HashSet};
use std::io::{Read, Seek};
use std::rc::Rc;
use std::time::Instant;

pub use lex::{LexError, Lexer, Token};
pub use object::{Body, Dict, ObjRef, Object, ParseError, Parser, parse_object};
pub use pages::Page;
pub use xref::Repair;

pub(crate) use filters::unfilter as unfilter_row;

use source::Source;
pub(crate) use xref::Entry;
use xref::Xref;

/// What a reader may spend on one file.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Objects in the cross-reference data (and in a repair scan).
    pub max_objects: usize,
    /// Arrays and dictionaries inside one another, and page-tree levels.
    pub max_depth: usize,
    /// The text of one object (a stream's data not included).
    pub max_object_bytes: usize,
    /// Bytes out of one stream's decoding (and raw bytes read to decode it).
    pub max_stream_bytes: usize,
    /// Bytes decoded from all streams together.
    pub max_total_decoded: u64,
    /// Pages in the page tree.
    pub max_pages: usize,
    /// When reading must stop ([`ReadError::TooSlow`]).
    pub deadline: Option<Instant>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_objects: 250_000,
            max_depth: 64,
            max_object_bytes: 8 * 1024 * 1024,
            max_stream_bytes: 32 * 1024 * 1024,
            max_total_decoded: 256 * 1024 * 1024,
            max_pages: 20_000,
            deadline: None,
        }
    }
}

/// Why a file (or a part of it) cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Malformed(String),
    #[error("arrays, dictionaries or page-tree levels nested deeper than {0}")]
    TooDeep(usize),
    #[error("more than {0} objects")]
    TooManyObjects(usize),
    #[error("reference loop through object {0}")]
    ReferenceLoop(ObjRef),
    #[error("reading took longer than allowed")]
    TooSlow,
    #[error("{0} over its limit")]
    TooLarge(&'static str),
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl ReadError {
    pub(crate) fn from_parse(e: ParseError, depth: usize) -> Self {
        match e {
            ParseError::Eof => Self::Malformed("unexpected end of data".into()),
            ParseError::TooDeep => Self::TooDeep(depth),
            ParseError::Syntax(s) => Self::Malformed(s),
        }
    }
}

/// An indirect object: a direct object, or a stream (dictionary; data read on request).
#[derive(Debug, Clone, PartialEq)]
pub enum Indirect {
    Plain(Object),
    Stream(Stream),
}

/// A stream in the file: its dictionary and where its data starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Stream {
    pub id: ObjRef,
    pub dict: Dict,
    data_at: u64,
}

impl Stream {
    /// Where the stream's data starts in the file.
    pub(crate) fn data_at(&self) -> u64 {
        self.data_at
    }
}

/// A decoded object stream.
pub(crate) struct ObjStm {
    data: Vec<u8>,
    /// (object number, start, end) of each object inside `data`.
    pub(crate) index: Vec<(u32, (usize, usize))>,
}

/// Object streams kept decoded at once.
const OBJSTM_CACHE: usize = 4;
/// Nested resolutions (an object stream whose length is in another object stream…).
const MAX_NESTING: usize = 4;
/// Steps of a reference chain (`1 0 obj 2 0 R endobj` …).
const MAX_CHAIN: usize = 32;

pub struct PdfReader<R> {
    src: Source<R>,
    xref: Xref,
    limits: Limits,
    repair_reason: Option<Repair>,
    repaired: Option<Repair>,
    decoded: u64,
    nesting: usize,
    objstms: Vec<(u32, Rc<ObjStm>)>,
    lengths: HashMap<u64, u64>,
}

impl<R> std::fmt::Debug for PdfReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PdfReader")
            .field("objects", &self.xref.entries.len())
            .field("repaired", &self.repaired)
            .finish_non_exhaustive()
    }
}

impl<R: Read + Seek> PdfReader<R> {
    /// Reads the cross-reference data (rebuilding it by a scan if it is damaged) and checks
    /// that the catalog can be read.
    pub fn open(inner: R, limits: Limits) -> Result<Self, ReadError> {
        let mut r = Self {
            src: Source::new(inner)?,
            xref: Xref::default(),
            limits,
            repair_reason: None,
            repaired: None,
            decoded: 0,
            nesting: 0,
            objstms: Vec::new(),
            lengths: HashMap::new(),
        };
        let head = r.src.read(0, 1024)?;
        if memchr::memmem::find(head, b"%PDF-").is_none() {
            return Err(ReadError::Malformed("no %PDF- header".into()));
        }
        let loaded = r.load_xref().and_then(|()| r.catalog().map(|_| ()));
        match loaded {
            Ok(()) => Ok(r),
            Err(
                e @ (ReadError::Io(_)
                | ReadError::TooSlow
                | ReadError::TooManyObjects(_)
                | ReadError::TooDeep(_)),
            ) => Err(e),
            Err(_) => {
                r.repaired = Some(r.repair_reason.unwrap_or(Repair::BrokenXref));
                r.objstms.clear();
                r.lengths.clear();
                r.scan()?;
                r.catalog()?;
                Ok(r)
            }
        }
    }

    /// Whether, and why, the cross-reference data was rebuilt by scanning the file.
    pub fn repaired(&self) -> Option<Repair> {
        self.repaired
    }

    pub fn trailer(&self) -> &Dict {
        &self.xref.trailer
    }

    /// The trailer has `/Encrypt`: strings and streams are encrypted (and not decrypted here).
    pub fn is_encrypted(&self) -> bool {
        self.xref.trailer.get(b"Encrypt").is_some()
    }

    /// Objects listed in the cross-reference data (in use).
    pub fn object_count(&self) -> usize {
        self.xref
            .entries
            .values()
            .filter(|e| !matches!(e, Entry::Free))
            .count()
    }

    /// Every object in use, those of each object stream together and in order.
    pub fn object_ids(&self) -> Vec<ObjRef> {
        let mut ids: Vec<(u32, u32, u32)> = self
            .xref
            .entries
            .iter()
            .filter_map(|(n, e)| match e {
                Entry::Free => None,
                Entry::Offset(_) => Some((0, *n, 0)),
                Entry::Compressed { stream, index } => Some((*stream, *index, *n)),
            })
            .collect();
        ids.sort_unstable();
        ids.into_iter()
            .map(|(s, a, b)| ObjRef::new(if s == 0 { a } else { b }, 0))
            .collect()
    }

    /// Where object `num` is, as the cross-reference data says (`None`: not listed).
    pub(crate) fn entry(&self, num: u32) -> Option<Entry> {
        self.xref.entries.get(&num).copied()
    }

    pub(crate) fn tick(&mut self) -> Result<(), ReadError> {
        match self.limits.deadline {
            Some(d) if Instant::now() >= d => Err(ReadError::TooSlow),
            _ => Ok(()),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The catalog dictionary.
    pub fn catalog(&mut self) -> Result<Dict, ReadError> {
        let root = self
            .xref
            .trailer
            .get(b"Root")
            .cloned()
            .ok_or_else(|| ReadError::Malformed("no /Root".into()))?;
        match self.resolve(&root)? {
            Object::Dict(d) => Ok(d),
            _ => Err(ReadError::Malformed(
                "the catalog is not a dictionary".into(),
            )),
        }
    }

    /// An indirect object; a free or missing one is `null`.
    pub fn object(&mut self, id: ObjRef) -> Result<Indirect, ReadError> {
        self.tick()?;
        match self.xref.entries.get(&id.num).copied() {
            None | Some(Entry::Free) => Ok(Indirect::Plain(Object::Null)),
            Some(Entry::Offset(offset)) => {
                let (found, body, data_at) = self.parse_indirect_at(offset)?;
                if found.num != id.num {
                    return Err(ReadError::Malformed(format!(
                        "object {} is not at its offset",
                        id.num
                    )));
                }
                Ok(match body {
                    Body::Plain(o) => Indirect::Plain(o),
                    Body::Stream { dict, .. } => Indirect::Stream(Stream { id, dict, data_at }),
                })
            }
            Some(Entry::Compressed { stream, index }) => {
                let stm = self.object_stream(stream)?;
                let at = usize::try_from(index).ok().and_then(|i| stm.index.get(i));
                let (start, end) = match at {
                    Some((n, range)) if *n == id.num => *range,
                    _ => stm
                        .index
                        .iter()
                        .find(|(n, _)| *n == id.num)
                        .map(|(_, r)| *r)
                        .ok_or_else(|| {
                            ReadError::Malformed(format!("object {} not in its stream", id.num))
                        })?,
                };
                let slice = stm.data.get(start..end).unwrap_or_default();
                parse_object(slice, self.limits.max_depth)
                    .map(Indirect::Plain)
                    .map_err(|e| ReadError::from_parse(e, self.limits.max_depth))
            }
        }
    }

    /// Follows references until a direct object; a stream gives its dictionary.
    pub fn resolve(&mut self, o: &Object) -> Result<Object, ReadError> {
        let Object::Ref(first) = o else {
            return Ok(o.clone());
        };
        let mut id = *first;
        let mut seen = HashSet::new();
        loop {
            if !seen.insert(id) || seen.len() > MAX_CHAIN {
                return Err(ReadError::ReferenceLoop(id));
            }
            match self.object(id)? {
                Indirect::Plain(Object::Ref(next)) => id = next,
                Indirect::Plain(o) => return Ok(o),
                Indirect::Stream(s) => return Ok(Object::Dict(s.dict)),
            }
        }
    }

    /// The dictionary `o` is or refers to, if any.
    pub fn resolve_dict(&mut self, o: &Object) -> Result<Option<Dict>, ReadError> {
        Ok(match self.resolve(o)? {
            Object::Dict(d) => Some(d),
            _ => None,
        })
    }

    /// The stream `o` refers to, if it is one.
    pub fn stream(&mut self, o: &Object) -> Result<Option<Stream>, ReadError> {
        let Object::Ref(first) = o else {
            return Ok(None);
        };
        let mut id = *first;
        for _ in 0..MAX_CHAIN {
            match self.object(id)? {
                Indirect::Stream(s) => return Ok(Some(s)),
                Indirect::Plain(Object::Ref(next)) => id = next,
                Indirect::Plain(_) => return Ok(None),
            }
        }
        Err(ReadError::ReferenceLoop(id))
    }

    /// The length of a stream's raw data: `/Length` when `endstream` follows it, else where
    /// `endstream` actually is.
    pub fn stream_len(&mut self, s: &Stream) -> Result<u64, ReadError> {
        self.length_at(&s.dict, s.data_at)
    }

    fn length_at(&mut self, dict: &Dict, data_at: u64) -> Result<u64, ReadError> {
        if let Some(len) = self.lengths.get(&data_at) {
            return Ok(*len);
        }
        let declared = match dict.get(b"Length") {
            Some(Object::Ref(r)) => {
                let r = *r;
                self.nested(|me| match me.object(r)? {
                    Indirect::Plain(o) => Ok(o.as_int()),
                    Indirect::Stream(_) => Ok(None),
                })?
            }
            Some(o) => o.as_int(),
            None => None,
        }
        .and_then(|n| u64::try_from(n).ok());
        let len = match declared {
            Some(n) if self.endstream_at(data_at.saturating_add(n))? => n,
            _ => self.find_endstream(data_at)?,
        };
        self.lengths.insert(data_at, len);
        Ok(len)
    }

    fn endstream_at(&mut self, pos: u64) -> Result<bool, ReadError> {
        if pos > self.src.len() {
            return Ok(false);
        }
        let tail = self.src.read(pos, 32)?;
        let start = tail
            .iter()
            .position(|&b| !lex::is_white(b))
            .unwrap_or(tail.len());
        Ok(tail[start..].starts_with(b"endstream"))
    }

    fn find_endstream(&mut self, from: u64) -> Result<u64, ReadError> {
        const CHUNK: usize = 1024 * 1024;
        let mut at = from;
        while at < self.src.len() {
            self.tick()?;
            let buf = self.src.read(at, CHUNK)?;
            if let Some(i) = memchr::memmem::find(buf, b"endstream") {
                let mut end = at + i as u64;
                // The end of line before `endstream` is not data.
                let before = self.src.read(end.saturating_sub(2), 2)?.to_vec();
                if before.ends_with(b"\r\n") {
                    end -= 2;
                } else if before.ends_with(b"\n") || before.ends_with(b"\r") {
                    end -= 1;
                }
                return Ok(end.saturating_sub(from));
            }
            if buf.len() < CHUNK {
                break;
            }
            at += (CHUNK - 16) as u64;
        }
        Err(ReadError::Malformed("stream without endstream".into()))
    }

    fn nested<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, ReadError>,
    ) -> Result<T, ReadError> {
        if self.nesting >= MAX_NESTING {
            return Err(ReadError::TooDeep(MAX_NESTING));
        }
        self.nesting += 1;
        let out = f(self);
        self.nesting -= 1;
        out
    }

    /// A stream's data, decoded (FlateDecode, LZWDecode, ASCII and run-length filters).
    pub fn stream_data(&mut self, s: &Stream) -> Result<Vec<u8>, ReadError> {
        self.decoded_at(&s.dict, s.data_at)
    }

    /// A stream's raw (still encoded) data, when it is at most `max` bytes.
    pub fn raw_stream_data(&mut self, s: &Stream, max: usize) -> Result<Vec<u8>, ReadError> {
        let len = self.stream_len(s)?;
        if len > max as u64 {
            return Err(ReadError::TooLarge("stream"));
        }
        let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        self.copy_stream(s, &mut out)?;
        Ok(out)
    }

    /// Copies a stream's raw data to `out`, in chunks; returns its length.
    pub fn copy_stream(
        &mut self,
        s: &Stream,
        out: &mut dyn std::io::Write,
    ) -> Result<u64, ReadError> {
        let len = self.stream_len(s)?;
        let deadline = self.limits.deadline;
        self.src
            .copy_to(s.data_at, len, out, || match deadline {
                Some(d) if Instant::now() >= d => Err(std::io::Error::other("deadline")),
                _ => Ok(()),
            })
            .map_err(|e| {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    ReadError::TooSlow
                } else {
                    ReadError::Io(e)
                }
            })?;
        Ok(len)
    }

    pub(crate) fn decoded_at(&mut self, dict: &Dict, data_at: u64) -> Result<Vec<u8>, ReadError> {
        let len = self.length_at(dict, data_at)?;
        let max = self.limits.max_stream_bytes;
        if len > max as u64 {
            return Err(ReadError::TooLarge("stream"));
        }
        let raw = self
            .src
            .read(data_at, usize::try_from(len).unwrap_or(max))?
            .to_vec();
        let deadline = self.limits.deadline;
        let mut tick = || match deadline {
            Some(d) if Instant::now() >= d => Err(ReadError::TooSlow),
            _ => Ok(()),
        };
        let out = filters::decode(raw, dict, max, &mut tick)?;
        self.decoded += out.len() as u64;
        if self.decoded > self.limits.max_total_decoded {
            return Err(ReadError::TooLarge("decoded data"));
        }
        Ok(out)
    }

    /// Object stream `num`, decoded and indexed (a few are cached).
    pub(crate) fn object_stream(&mut self, num: u32) -> Result<Rc<ObjStm>, ReadError> {
        if let Some(i) = self.objstms.iter().position(|(n, _)| *n == num) {
            let hit = self.objstms.remove(i);
            let stm = Rc::clone(&hit.1);
            self.objstms.push(hit);
            return Ok(stm);
        }
        let Some(Entry::Offset(offset)) = self.xref.entries.get(&num).copied() else {
            return Err(ReadError::Malformed(format!(
                "object stream {num} is not in the file"
            )));
        };
        let stm = self.nested(|me| {
            let (_, body, data_at) = me.parse_indirect_at(offset)?;
            let Body::Stream { dict, .. } = body else {
                return Err(ReadError::Malformed(format!(
                    "object {num} is not a stream"
                )));
            };
            if !dict.is_type(b"ObjStm") {
                return Err(ReadError::Malformed(format!(
                    "object {num} is not an object stream"
                )));
            }
            let data = me.decoded_at(&dict, data_at)?;
            me.index_objstm(&dict, data)
        })?;
        let stm = Rc::new(stm);
        if self.objstms.len() >= OBJSTM_CACHE {
            self.objstms.remove(0);
        }
        self.objstms.push((num, Rc::clone(&stm)));
        Ok(stm)
    }

    fn index_objstm(&mut self, dict: &Dict, data: Vec<u8>) -> Result<ObjStm, ReadError> {
        let n = dict
            .get_int(b"N")
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| ReadError::Malformed("object stream without /N".into()))?;
        let first = dict
            .get_int(b"First")
            .and_then(|n| usize::try_from(n).ok())
            .filter(|f| *f <= data.len())
            .ok_or_else(|| ReadError::Malformed("object stream without /First".into()))?;
        if n > self.limits.max_objects {
            return Err(ReadError::TooManyObjects(self.limits.max_objects));
        }
        let mut lx = Lexer::new(&data[..first], true);
        let mut pairs = Vec::with_capacity(n.min(65_536));
        for i in 0..n {
            if i % 1024 == 0 {
                self.tick()?;
            }
            let (Ok(Token::Int(num)), Ok(Token::Int(off))) = (lx.next_token(), lx.next_token())
            else {
                break;
            };
            let (Ok(num), Ok(off)) = (u32::try_from(num), usize::try_from(off)) else {
                return Err(ReadError::Malformed("bad object stream header".into()));
            };
            pairs.push((num, first.saturating_add(off).min(data.len())));
        }
        // Each object ends where the next one (in offset order) starts.
        let mut starts: Vec<usize> = pairs.iter().map(|(_, s)| *s).collect();
        starts.sort_unstable();
        let index = pairs
            .into_iter()
            .map(|(num, start)| {
                let next = starts.partition_point(|&s| s <= start);
                let end = starts.get(next).copied().unwrap_or(data.len());
                (num, (start, end.max(start)))
            })
            .collect();
        Ok(ObjStm { data, index })
    }
}

#[cfg(test)]
pub(crate) mod tests;
