//! Cross-reference sections (tables and streams, following `/Prev`), and the repair scan used
//! when they cannot be read.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Seek};

use super::lex::{LexError, Lexer, Token};
use super::object::{Body, Dict, ObjRef, Object, ParseError, Parser, parse_indirect};
use super::{PdfReader, ReadError};

/// Where an object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    Free,
    /// At a byte offset of the file.
    Offset(u64),
    /// The `index`-th object of object stream `stream`.
    Compressed {
        stream: u32,
        index: u32,
    },
}

/// Most cross-reference sections followed through `/Prev` and `/XRefStm`.
const MAX_SECTIONS: usize = 1024;

/// Why the cross-reference data had to be rebuilt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repair {
    /// No `startxref` at the end of the file: it was probably cut short.
    Truncated,
    /// `startxref` is there but the sections it leads to are damaged.
    BrokenXref,
}

#[derive(Debug, Default)]
pub(crate) struct Xref {
    pub(crate) entries: HashMap<u32, Entry>,
    pub(crate) trailer: Dict,
}

impl<R: Read + Seek> PdfReader<R> {
    /// Reads the sections from `startxref` back through `/Prev`.
    pub(crate) fn load_xref(&mut self) -> Result<(), ReadError> {
        let start = self.find_startxref()?;
        let mut visited = HashSet::new();
        let mut next = Some(start);
        while let Some(at) = next {
            self.tick()?;
            if !visited.insert(at) || visited.len() > MAX_SECTIONS {
                break;
            }
            let trailer = self.section(at)?;
            if let Some(stm) = trailer
                .get_int(b"XRefStm")
                .and_then(|v| u64::try_from(v).ok())
                && visited.insert(stm)
            {
                // A hybrid file: the stream's entries complete the table's.
                let _ = self.xref_stream(stm);
            }
            next = trailer.get_int(b"Prev").and_then(|v| u64::try_from(v).ok());
            for (key, value) in trailer.iter() {
                if self.xref.trailer.get(key).is_none() && key != b"Prev" && key != b"XRefStm" {
                    self.xref.trailer.set(key.to_vec(), value.clone());
                }
            }
        }
        if self.xref.trailer.get(b"Root").is_none() {
            return Err(ReadError::Malformed("the trailer names no catalog".into()));
        }
        Ok(())
    }

    fn find_startxref(&mut self) -> Result<u64, ReadError> {
        let len = self.src.len();
        let from = len.saturating_sub(2048);
        let tail = self.src.read(from, 2048)?;
        let Some(at) = memchr::memmem::rfind(tail, b"startxref") else {
            self.repair_reason = Some(Repair::Truncated);
            return Err(ReadError::Malformed("no startxref".into()));
        };
        let mut lx = Lexer::new(&tail[at + 9..], true);
        match lx.next_token() {
            Ok(Token::Int(n)) if n >= 0 && (n as u64) < len => Ok(n as u64),
            _ => Err(ReadError::Malformed("startxref is not an offset".into())),
        }
    }

    /// One section at `at` (a table or a stream); returns its trailer.
    fn section(&mut self, at: u64) -> Result<Dict, ReadError> {
        let complete = self.src.reaches_end(at, 16);
        let head = self.src.read(at, 16)?;
        let mut lx = Lexer::new(head, complete);
        let is_table = lx.next_token() == Ok(Token::Keyword(b"xref".to_vec()));
        let after = at + lx.pos() as u64;
        if is_table {
            self.xref_table(after)
        } else {
            self.xref_stream(at)
        }
    }

    /// Reads a token at `*pos` and moves past it.
    fn token_at(&mut self, pos: &mut u64) -> Result<Token, ReadError> {
        let mut n = 4096;
        loop {
            let complete = self.src.reaches_end(*pos, n);
            let buf = self.src.read(*pos, n)?;
            let mut lx = Lexer::new(buf, complete);
            match lx.next_token() {
                Ok(t) => {
                    *pos += lx.pos() as u64;
                    return Ok(t);
                }
                Err(LexError::Eof) if !complete && n < self.limits.max_object_bytes => n *= 4,
                Err(LexError::Eof) => {
                    return Err(ReadError::Malformed("unexpected end of file".into()));
                }
                Err(LexError::Syntax(s)) => return Err(ReadError::Malformed(s.into())),
            }
        }
    }

    fn xref_table(&mut self, mut pos: u64) -> Result<Dict, ReadError> {
        loop {
            self.tick()?;
            let first = match self.token_at(&mut pos)? {
                Token::Int(n) => n,
                Token::Keyword(k) if k == b"trailer" => break,
                _ => return Err(ReadError::Malformed("bad cross-reference table".into())),
            };
            let Token::Int(count) = self.token_at(&mut pos)? else {
                return Err(ReadError::Malformed(
                    "bad cross-reference subsection".into(),
                ));
            };
            let (Ok(first), Ok(count)) = (u32::try_from(first), usize::try_from(count)) else {
                return Err(ReadError::Malformed(
                    "bad cross-reference subsection".into(),
                ));
            };
            if count > self.limits.max_objects {
                return Err(ReadError::TooManyObjects(self.limits.max_objects));
            }
            for i in 0..count {
                if i % 256 == 0 {
                    self.tick()?;
                }
                let (Token::Int(offset), Token::Int(_), Token::Keyword(kind)) = (
                    self.token_at(&mut pos)?,
                    self.token_at(&mut pos)?,
                    self.token_at(&mut pos)?,
                ) else {
                    return Err(ReadError::Malformed("bad cross-reference entry".into()));
                };
                let num = first.saturating_add(u32::try_from(i).unwrap_or(u32::MAX));
                let entry = match kind.as_slice() {
                    b"n" => Entry::Offset(u64::try_from(offset).unwrap_or(0)),
                    _ => Entry::Free,
                };
                self.add_entry(num, entry)?;
            }
        }
        match self.parse_object_at(pos)? {
            Object::Dict(d) => Ok(d),
            _ => Err(ReadError::Malformed(
                "the trailer is not a dictionary".into(),
            )),
        }
    }

    /// Records an entry unless a newer section already gave one for `num`.
    pub(crate) fn add_entry(&mut self, num: u32, entry: Entry) -> Result<(), ReadError> {
        if self.xref.entries.len() >= self.limits.max_objects
            && !self.xref.entries.contains_key(&num)
        {
            return Err(ReadError::TooManyObjects(self.limits.max_objects));
        }
        self.xref.entries.entry(num).or_insert(entry);
        Ok(())
    }

    fn xref_stream(&mut self, at: u64) -> Result<Dict, ReadError> {
        let (_, body, data_at) = self.parse_indirect_at(at)?;
        let Body::Stream { dict, .. } = body else {
            return Err(ReadError::Malformed(
                "no cross-reference stream here".into(),
            ));
        };
        if !dict.is_type(b"XRef") {
            return Err(ReadError::Malformed("not a cross-reference stream".into()));
        }
        let data = self.decoded_at(&dict, data_at)?;
        let widths: Vec<usize> = dict
            .get(b"W")
            .and_then(Object::as_array)
            .map(|w| {
                w.iter()
                    .map(|v| {
                        v.as_int()
                            .and_then(|v| usize::try_from(v).ok())
                            .unwrap_or(99)
                    })
                    .collect()
            })
            .unwrap_or_default();
        if widths.len() != 3 || widths.iter().any(|&w| w > 8) {
            return Err(ReadError::Malformed(
                "bad /W in a cross-reference stream".into(),
            ));
        }
        let size = dict.get_int(b"Size").unwrap_or(0);
        let index: Vec<i64> = match dict.get(b"Index").and_then(Object::as_array) {
            Some(a) => a.iter().filter_map(Object::as_int).collect(),
            None => vec![0, size],
        };
        let row: usize = widths.iter().sum();
        if row == 0 {
            return Err(ReadError::Malformed("empty cross-reference rows".into()));
        }
        let mut rows = data.chunks_exact(row);
        for pair in index.chunks_exact(2) {
            let (Ok(first), Ok(count)) = (u32::try_from(pair[0]), usize::try_from(pair[1])) else {
                return Err(ReadError::Malformed("bad /Index".into()));
            };
            if count > self.limits.max_objects {
                return Err(ReadError::TooManyObjects(self.limits.max_objects));
            }
            for i in 0..count {
                if i % 1024 == 0 {
                    self.tick()?;
                }
                let Some(r) = rows.next() else { break };
                let field = |k: usize, default: u64| {
                    let start: usize = widths[..k].iter().sum();
                    if widths[k] == 0 {
                        default
                    } else {
                        r[start..start + widths[k]]
                            .iter()
                            .fold(0u64, |acc, &b| acc << 8 | u64::from(b))
                    }
                };
                let entry = match field(0, 1) {
                    0 => Entry::Free,
                    1 => Entry::Offset(field(1, 0)),
                    2 => Entry::Compressed {
                        stream: u32::try_from(field(1, 0)).unwrap_or(u32::MAX),
                        index: u32::try_from(field(2, 0)).unwrap_or(u32::MAX),
                    },
                    _ => continue,
                };
                let num = first.saturating_add(u32::try_from(i).unwrap_or(u32::MAX));
                self.add_entry(num, entry)?;
            }
        }
        Ok(dict)
    }

    /// Rebuilds the table by scanning the whole file for `num gen obj` and `trailer`.
    pub(crate) fn scan(&mut self) -> Result<(), ReadError> {
        self.xref = Xref::default();
        let len = self.src.len();
        const CHUNK: usize = 1024 * 1024;
        // Enough for `num gen ` before an `obj` cut by the chunk's end.
        const OVERLAP: u64 = 64;
        let mut found: HashMap<u32, u64> = HashMap::new();
        let mut trailers = Vec::new();
        let mut at = 0u64;
        while at < len {
            self.tick()?;
            let buf = self.src.read(at, CHUNK)?.to_vec();
            for i in memchr::memmem::find_iter(&buf, b"obj") {
                if let Some((num, start)) = object_start(&buf, i) {
                    if found.len() >= self.limits.max_objects && !found.contains_key(&num) {
                        return Err(ReadError::TooManyObjects(self.limits.max_objects));
                    }
                    // Later definitions win, as in an incremental update.
                    found.insert(num, at + start as u64);
                }
            }
            for i in memchr::memmem::find_iter(&buf, b"trailer") {
                trailers.push(at + i as u64 + 7);
            }
            if buf.len() < CHUNK {
                break;
            }
            at += (CHUNK as u64) - OVERLAP;
        }
        trailers.dedup();
        for (num, offset) in &found {
            self.xref.entries.insert(*num, Entry::Offset(*offset));
        }
        for t in trailers.iter().rev() {
            if let Ok(Object::Dict(d)) = self.parse_object_at(*t)
                && d.get(b"Root").is_some()
            {
                self.xref.trailer = d;
                break;
            }
        }
        self.index_object_streams(&found)?;
        Ok(())
    }

    /// After a scan: the objects inside object streams, and the catalog when no trailer
    /// names it.
    fn index_object_streams(&mut self, found: &HashMap<u32, u64>) -> Result<(), ReadError> {
        let mut ids: Vec<(u32, u64)> = found.iter().map(|(n, o)| (*n, *o)).collect();
        ids.sort_by_key(|(_, o)| *o);
        let mut catalog = None;
        for (num, offset) in ids {
            self.tick()?;
            let Ok((_, body, _)) = self.parse_indirect_at(offset) else {
                continue;
            };
            let dict = match &body {
                Body::Plain(Object::Dict(d)) | Body::Stream { dict: d, .. } => d,
                _ => continue,
            };
            if dict.is_type(b"Catalog") {
                catalog = Some(ObjRef::new(num, 0));
            }
            if dict.is_type(b"XRef")
                && self.xref.trailer.get(b"Root").is_none()
                && dict.get(b"Root").is_some()
            {
                for (k, v) in dict.iter() {
                    if matches!(k, b"Root" | b"Info" | b"ID" | b"Encrypt") {
                        self.xref.trailer.set(k.to_vec(), v.clone());
                    }
                }
            }
            if dict.is_type(b"ObjStm")
                && let Ok(stm) = self.object_stream(num)
            {
                for (index, (inner, _)) in stm.index.iter().enumerate() {
                    if !self.xref.entries.contains_key(inner) {
                        if self.xref.entries.len() >= self.limits.max_objects {
                            return Err(ReadError::TooManyObjects(self.limits.max_objects));
                        }
                        let index = u32::try_from(index).unwrap_or(u32::MAX);
                        self.xref
                            .entries
                            .insert(*inner, Entry::Compressed { stream: num, index });
                    }
                }
            }
        }
        if self.xref.trailer.get(b"Root").is_none()
            && let Some(c) = catalog
        {
            self.xref.trailer.set("Root", Object::Ref(c));
        }
        if self.xref.trailer.get(b"Root").is_none() {
            return Err(ReadError::Malformed("no catalog found".into()));
        }
        Ok(())
    }

    /// One object parsed at `pos` (a trailer dictionary).
    fn parse_object_at(&mut self, pos: u64) -> Result<Object, ReadError> {
        let mut n = 4096;
        loop {
            self.tick()?;
            let complete = self.src.reaches_end(pos, n);
            let buf = self.src.read(pos, n)?;
            let mut p = Parser::new(Lexer::new(buf, complete), self.limits.max_depth);
            match p.object() {
                Ok(o) => return Ok(o),
                Err(ParseError::Eof) if !complete && n < self.limits.max_object_bytes => n *= 4,
                Err(e) => return Err(ReadError::from_parse(e, self.limits.max_depth)),
            }
        }
    }

    /// `num gen obj …` at `pos`: the id, the body, and (for a stream) its data's offset.
    pub(crate) fn parse_indirect_at(&mut self, pos: u64) -> Result<(ObjRef, Body, u64), ReadError> {
        let mut n = 4096;
        loop {
            self.tick()?;
            let complete = self.src.reaches_end(pos, n);
            let buf = self.src.read(pos, n)?;
            match parse_indirect(buf, complete, self.limits.max_depth) {
                Ok((id, body)) => {
                    let data_at = match &body {
                        Body::Stream { data_start, .. } => pos + *data_start as u64,
                        Body::Plain(_) => 0,
                    };
                    return Ok((id, body, data_at));
                }
                Err(ParseError::Eof) if !complete && n < self.limits.max_object_bytes => n *= 4,
                Err(ParseError::Eof) if !complete => return Err(ReadError::TooLarge("object")),
                Err(e) => return Err(ReadError::from_parse(e, self.limits.max_depth)),
            }
        }
    }
}

/// When `buf[i..]` starts with the keyword `obj` preceded by `num gen`, the object number and
/// where `num` starts.
fn object_start(buf: &[u8], i: usize) -> Option<(u32, usize)> {
    if buf
        .get(i + 3)
        .is_some_and(|&b| !super::lex::is_white(b) && !super::lex::is_delimiter(b))
    {
        return None;
    }
    let mut j = i;
    let skip_white = |j: &mut usize| -> bool {
        let start = *j;
        while *j > 0 && super::lex::is_white(buf[*j - 1]) {
            *j -= 1;
        }
        *j < start
    };
    let digits = |j: &mut usize| -> Option<(usize, usize)> {
        let end = *j;
        while *j > 0 && buf[*j - 1].is_ascii_digit() && end - *j < 10 {
            *j -= 1;
        }
        (*j < end).then_some((*j, end))
    };
    if !skip_white(&mut j) {
        return None;
    }
    digits(&mut j)?;
    if !skip_white(&mut j) {
        return None;
    }
    let (start, end) = digits(&mut j)?;
    if start > 0
        && !super::lex::is_white(buf[start - 1])
        && !super::lex::is_delimiter(buf[start - 1])
    {
        return None;
    }
    let num = std::str::from_utf8(&buf[start..end]).ok()?.parse().ok()?;
    Some((num, start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_headers_are_found() {
        let b = b"xx\n12 0 obj\n<<>>\nendobj 7 3 obj";
        let i = memchr::memmem::find(b, b"obj").unwrap();
        assert_eq!(object_start(b, i), Some((12, 3)));
        let b = b"x12 0 obj";
        assert_eq!(object_start(b, 6), None);
        assert_eq!(object_start(b"1 0 objx", 4), None);
    }
}
