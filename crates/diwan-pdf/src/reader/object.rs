//! PDF objects and an iterative parser for them: arrays and dictionaries are built on an
//! explicit stack whose height is bounded, so no input can drive the parser (or dropping
//! what it built) into deep recursion.

use super::lex::{LexError, Lexer, Token};

/// An indirect reference `num gen R`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjRef {
    pub num: u32,
    pub generation: u16,
}

impl ObjRef {
    pub fn new(num: u32, generation: u16) -> Self {
        Self { num, generation }
    }
}

impl std::fmt::Display for ObjRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.num, self.generation)
    }
}

/// A direct object.
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    Null,
    Bool(bool),
    Int(i64),
    Real(f64),
    Name(Vec<u8>),
    Str(Vec<u8>),
    Array(Vec<Object>),
    Dict(Dict),
    Ref(ObjRef),
}

impl Object {
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Self::Int(i) => Some(*i),
            Self::Real(r) if r.fract() == 0.0 && r.abs() < 9e15 => Some(*r as i64),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Int(i) => Some(*i as f64),
            Self::Real(r) => Some(*r),
            _ => None,
        }
    }

    pub fn as_name(&self) -> Option<&[u8]> {
        match self {
            Self::Name(n) => Some(n),
            _ => None,
        }
    }

    pub fn as_dict(&self) -> Option<&Dict> {
        match self {
            Self::Dict(d) => Some(d),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Object]> {
        match self {
            Self::Array(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_ref(&self) -> Option<ObjRef> {
        match self {
            Self::Ref(r) => Some(*r),
            _ => None,
        }
    }

    /// Calls `visit` on this object and every object inside it (iteratively).
    pub fn walk(&self, mut visit: impl FnMut(&Object)) {
        let mut stack = vec![self];
        while let Some(o) = stack.pop() {
            visit(o);
            match o {
                Self::Array(items) => stack.extend(items.iter()),
                Self::Dict(d) => stack.extend(d.values()),
                _ => {}
            }
        }
    }
}

/// A dictionary, in the order written. Lookups are linear: PDF dictionaries are small.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dict(Vec<(Vec<u8>, Object)>);

impl Dict {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, key: &[u8]) -> Option<&Object> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn get_name(&self, key: &[u8]) -> Option<&[u8]> {
        self.get(key).and_then(Object::as_name)
    }

    pub fn get_int(&self, key: &[u8]) -> Option<i64> {
        self.get(key).and_then(Object::as_int)
    }

    /// `/Type` is `name`.
    pub fn is_type(&self, name: &[u8]) -> bool {
        self.get_name(b"Type") == Some(name)
    }

    pub fn set(&mut self, key: impl Into<Vec<u8>>, value: Object) {
        let key = key.into();
        self.0.retain(|(k, _)| *k != key);
        self.0.push((key, value));
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<Object> {
        let i = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(i).1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &Object)> {
        self.0.iter().map(|(k, v)| (k.as_slice(), v))
    }

    pub fn values(&self) -> impl Iterator<Item = &Object> {
        self.0.iter().map(|(_, v)| v)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<(Vec<u8>, Object)> for Dict {
    fn from_iter<T: IntoIterator<Item = (Vec<u8>, Object)>>(iter: T) -> Self {
        Self(iter.into_iter().collect())
    }
}

/// Why a piece of text is not an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// More bytes are needed.
    Eof,
    /// Arrays and dictionaries nested deeper than allowed.
    TooDeep,
    Syntax(String),
}

impl From<LexError> for ParseError {
    fn from(e: LexError) -> Self {
        match e {
            LexError::Eof => Self::Eof,
            LexError::Syntax(s) => Self::Syntax(s.to_owned()),
        }
    }
}

enum Frame {
    Array(Vec<Object>),
    Dict(Dict, Option<Vec<u8>>),
}

/// Parses objects from a lexer, with a two-token look-ahead for `num gen R`.
pub struct Parser<'a> {
    lex: Lexer<'a>,
    ahead: Vec<(Token, usize)>,
    max_depth: usize,
}

impl<'a> Parser<'a> {
    pub fn new(lex: Lexer<'a>, max_depth: usize) -> Self {
        Self {
            lex,
            ahead: Vec::new(),
            max_depth,
        }
    }

    /// Position after the last token taken (look-ahead excluded).
    pub fn pos(&self) -> usize {
        self.ahead
            .last()
            .map_or(self.lex.pos(), |(_, start)| *start)
    }

    pub fn token(&mut self) -> Result<Token, ParseError> {
        if let Some((t, _)) = self.ahead.pop() {
            return Ok(t);
        }
        Ok(self.lex.next_token()?)
    }

    fn push_back(&mut self, t: Token, start: usize) {
        self.ahead.push((t, start));
    }

    /// The start of the next token (after white space).
    fn next_start(&mut self) -> usize {
        if let Some((_, start)) = self.ahead.last() {
            return *start;
        }
        self.lex.skip_white();
        self.lex.pos()
    }

    /// `Some(gen)` when the next tokens are `gen R` (consumed).
    fn reference_tail(&mut self) -> Result<Option<u16>, ParseError> {
        let s1 = self.next_start();
        let t1 = match self.token() {
            Ok(t) => t,
            Err(ParseError::Eof) if self.lex.complete() => return Ok(None),
            Err(e) => return Err(e),
        };
        let Token::Int(generation) = t1 else {
            self.push_back(t1, s1);
            return Ok(None);
        };
        let s2 = self.next_start();
        let t2 = match self.token() {
            Ok(t) => t,
            Err(ParseError::Eof) if self.lex.complete() => {
                self.push_back(Token::Int(generation), s1);
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        match (u16::try_from(generation), &t2) {
            (Ok(g), Token::Keyword(k)) if k == b"R" => Ok(Some(g)),
            _ => {
                self.push_back(t2, s2);
                self.push_back(Token::Int(generation), s1);
                Ok(None)
            }
        }
    }

    /// One complete object.
    pub fn object(&mut self) -> Result<Object, ParseError> {
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            let value = match self.token()? {
                Token::ArrayOpen | Token::DictOpen if stack.len() >= self.max_depth => {
                    return Err(ParseError::TooDeep);
                }
                Token::ArrayOpen => {
                    stack.push(Frame::Array(Vec::new()));
                    continue;
                }
                Token::DictOpen => {
                    stack.push(Frame::Dict(Dict::new(), None));
                    continue;
                }
                Token::ArrayClose => match stack.pop() {
                    Some(Frame::Array(items)) => Object::Array(items),
                    _ => return Err(ParseError::Syntax("unexpected ']'".into())),
                },
                Token::DictClose => match stack.pop() {
                    Some(Frame::Dict(d, _)) => Object::Dict(d),
                    _ => return Err(ParseError::Syntax("unexpected '>>'".into())),
                },
                Token::Int(n) => match (u32::try_from(n), self.reference_tail()?) {
                    (Ok(num), Some(generation)) => Object::Ref(ObjRef::new(num, generation)),
                    _ => Object::Int(n),
                },
                Token::Real(r) => Object::Real(r),
                Token::Name(n) => Object::Name(n),
                Token::Str(s) => Object::Str(s),
                Token::Keyword(k) => match k.as_slice() {
                    b"true" => Object::Bool(true),
                    b"false" => Object::Bool(false),
                    b"null" => Object::Null,
                    other => {
                        return Err(ParseError::Syntax(format!(
                            "unexpected keyword {}",
                            String::from_utf8_lossy(&other[..other.len().min(20)])
                        )));
                    }
                },
            };
            match stack.last_mut() {
                None => return Ok(value),
                Some(Frame::Array(items)) => items.push(value),
                Some(Frame::Dict(d, pending)) => match pending.take() {
                    Some(key) => d.0.push((key, value)),
                    None => match value {
                        Object::Name(key) => *pending = Some(key),
                        _ => return Err(ParseError::Syntax("dictionary key is not a name".into())),
                    },
                },
            }
        }
    }
}

/// What follows `num gen obj`.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Plain(Object),
    /// A stream's dictionary; its data starts `data_start` bytes into the parsed slice.
    Stream {
        dict: Dict,
        data_start: usize,
    },
}

/// Parses `num gen obj … endobj` (or up to the data of a stream) at the start of `buf`.
pub fn parse_indirect(
    buf: &[u8],
    complete: bool,
    max_depth: usize,
) -> Result<(ObjRef, Body), ParseError> {
    let mut p = Parser::new(Lexer::new(buf, complete), max_depth);
    let (Token::Int(num), Token::Int(generation)) = (p.token()?, p.token()?) else {
        return Err(ParseError::Syntax("no object header".into()));
    };
    if p.token()? != Token::Keyword(b"obj".to_vec()) {
        return Err(ParseError::Syntax("no 'obj' keyword".into()));
    }
    let id = ObjRef::new(
        u32::try_from(num).map_err(|_| ParseError::Syntax("object number".into()))?,
        u16::try_from(generation).map_err(|_| ParseError::Syntax("generation".into()))?,
    );
    let object = p.object()?;
    let after = p.pos();
    let mut lex = Lexer::new(buf, complete);
    lex.set_pos(after);
    lex.skip_white();
    let rest = &buf[lex.pos()..];
    if rest.starts_with(b"stream") {
        let Object::Dict(dict) = object else {
            return Err(ParseError::Syntax("stream without a dictionary".into()));
        };
        let mut start = lex.pos() + b"stream".len();
        match (buf.get(start), buf.get(start + 1)) {
            (Some(b'\r'), Some(b'\n')) => start += 2,
            (Some(b'\n' | b'\r'), _) => start += 1,
            (None, _) if !complete => return Err(ParseError::Eof),
            _ => {}
        }
        return Ok((
            id,
            Body::Stream {
                dict,
                data_start: start,
            },
        ));
    }
    if rest.len() < 6 && !complete && !b"endobj".starts_with(rest) {
        return Err(ParseError::Eof);
    }
    Ok((id, Body::Plain(object)))
}

/// Parses one object from a complete slice (a dictionary in a trailer, an object of an object
/// stream).
pub fn parse_object(buf: &[u8], max_depth: usize) -> Result<Object, ParseError> {
    Parser::new(Lexer::new(buf, true), max_depth).object()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_and_references() {
        let o = parse_object(b"<< /Kids [1 0 R 2 0 R 3] /A [4 0 /X] /N 4 /X null >>", 8).unwrap();
        let d = o.as_dict().unwrap();
        assert_eq!(
            d.get(b"Kids").unwrap().as_array().unwrap(),
            &[
                Object::Ref(ObjRef::new(1, 0)),
                Object::Ref(ObjRef::new(2, 0)),
                Object::Int(3)
            ]
        );
        assert_eq!(d.get_int(b"N"), Some(4));
        assert_eq!(
            d.get(b"A").unwrap().as_array().unwrap(),
            &[Object::Int(4), Object::Int(0), Object::Name(b"X".to_vec())]
        );
        assert_eq!(d.get(b"X"), Some(&Object::Null));
        assert_eq!(parse_object(b"1 2", 8).unwrap(), Object::Int(1));
    }

    #[test]
    fn nesting_is_bounded_without_recursion() {
        let deep = vec![b'['; 200_000];
        assert_eq!(parse_object(&deep, 64), Err(ParseError::TooDeep));
        let mut ok = vec![b'['; 64];
        ok.extend(vec![b']'; 64]);
        assert!(parse_object(&ok, 64).is_ok());
        let mut dicts = b"<</A ".repeat(100_000);
        dicts.extend(b">>".repeat(100_000));
        assert_eq!(parse_object(&dicts, 64), Err(ParseError::TooDeep));
    }

    #[test]
    fn indirect_objects_and_streams() {
        let (id, body) = parse_indirect(
            b"12 0 obj\n<</Length 3>>\nstream\r\nabc\nendstream",
            true,
            8,
        )
        .unwrap();
        assert_eq!(id, ObjRef::new(12, 0));
        match body {
            Body::Stream { dict, data_start } => {
                assert_eq!(dict.get_int(b"Length"), Some(3));
                assert_eq!(data_start, 31);
            }
            Body::Plain(_) => panic!("a stream"),
        }
        let (_, body) = parse_indirect(b"3 0 obj 4 0 R endobj", true, 8).unwrap();
        assert_eq!(body, Body::Plain(Object::Ref(ObjRef::new(4, 0))));
        assert_eq!(
            parse_indirect(b"3 0 obj << /A [1 2", false, 8),
            Err(ParseError::Eof)
        );
        assert!(parse_indirect(b"3 0 obj << /A [1 2", true, 8).is_err());
    }
}
