//! PDF tokens from a byte slice. The lexer never recurses and never reads past its slice; a
//! token that touches the end of a slice which is not the end of the file is reported as
//! [`LexError::Eof`] so that the caller can read more and try again.

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    Int(i64),
    Real(f64),
    /// A name, `#xx` escapes decoded, without the slash.
    Name(Vec<u8>),
    /// A literal or hexadecimal string, decoded.
    Str(Vec<u8>),
    ArrayOpen,
    ArrayClose,
    DictOpen,
    DictClose,
    /// Anything else made of regular characters: `obj`, `R`, `true`, an operator, `{`, `}`.
    Keyword(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexError {
    /// The slice ended inside a token (or before any token).
    Eof,
    Syntax(&'static str),
}

pub(crate) fn is_white(b: u8) -> bool {
    matches!(b, 0 | 9 | 10 | 12 | 13 | 32)
}

pub(crate) fn is_delimiter(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

fn is_regular(b: u8) -> bool {
    !is_white(b) && !is_delimiter(b)
}

/// A cursor over a slice. `complete` says the slice ends where the file (or the decoded
/// stream) ends, so a token touching its end is whole.
#[derive(Debug, Clone)]
pub struct Lexer<'a> {
    buf: &'a [u8],
    pos: usize,
    complete: bool,
}

impl<'a> Lexer<'a> {
    pub fn new(buf: &'a [u8], complete: bool) -> Self {
        Self {
            buf,
            pos: 0,
            complete,
        }
    }

    /// Bytes consumed so far.
    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn set_pos(&mut self, pos: usize) {
        self.pos = pos.min(self.buf.len());
    }

    pub(crate) fn complete(&self) -> bool {
        self.complete
    }

    /// Skips white space and comments.
    pub fn skip_white(&mut self) {
        while let Some(&b) = self.buf.get(self.pos) {
            if is_white(b) {
                self.pos += 1;
            } else if b == b'%' {
                while let Some(&c) = self.buf.get(self.pos) {
                    if c == b'\n' || c == b'\r' {
                        break;
                    }
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    /// The next token.
    pub fn next_token(&mut self) -> Result<Token, LexError> {
        self.skip_white();
        let Some(&b) = self.buf.get(self.pos) else {
            return Err(LexError::Eof);
        };
        match b {
            b'[' => self.one(Token::ArrayOpen),
            b']' => self.one(Token::ArrayClose),
            b'{' => self.one(Token::Keyword(b"{".to_vec())),
            b'}' => self.one(Token::Keyword(b"}".to_vec())),
            b'/' => self.name(),
            b'(' => self.literal(),
            b'<' => match self.buf.get(self.pos + 1) {
                Some(b'<') => {
                    self.pos += 2;
                    Ok(Token::DictOpen)
                }
                Some(_) => self.hex(),
                None => self.eof_or(LexError::Syntax("lone '<'")),
            },
            b'>' => match self.buf.get(self.pos + 1) {
                Some(b'>') => {
                    self.pos += 2;
                    Ok(Token::DictClose)
                }
                Some(_) => {
                    self.pos += 1;
                    Err(LexError::Syntax("lone '>'"))
                }
                None => self.eof_or(LexError::Syntax("lone '>'")),
            },
            b')' => {
                self.pos += 1;
                Err(LexError::Syntax("unbalanced ')'"))
            }
            _ => self.regular(),
        }
    }

    fn one(&mut self, t: Token) -> Result<Token, LexError> {
        self.pos += 1;
        Ok(t)
    }

    /// At the end of the slice: `Eof` unless the slice is the whole input, then `e`.
    fn eof_or(&self, e: LexError) -> Result<Token, LexError> {
        if self.complete {
            Err(e)
        } else {
            Err(LexError::Eof)
        }
    }

    /// A run of regular characters ends at a delimiter, white space, or the end of a
    /// complete slice.
    fn run_end(&self, from: usize) -> Result<usize, LexError> {
        match self.buf[from..].iter().position(|&b| !is_regular(b)) {
            Some(n) => Ok(from + n),
            None if self.complete => Ok(self.buf.len()),
            None => Err(LexError::Eof),
        }
    }

    fn name(&mut self) -> Result<Token, LexError> {
        let start = self.pos + 1;
        let end = self.run_end(start)?;
        let raw = &self.buf[start..end];
        let mut name = Vec::with_capacity(raw.len());
        let mut i = 0;
        while i < raw.len() {
            if raw[i] == b'#'
                && let Some(v) = raw.get(i + 1..i + 3).and_then(hex_pair)
            {
                name.push(v);
                i += 3;
            } else {
                name.push(raw[i]);
                i += 1;
            }
        }
        self.pos = end;
        Ok(Token::Name(name))
    }

    fn regular(&mut self) -> Result<Token, LexError> {
        let start = self.pos;
        let end = self.run_end(start)?;
        let raw = &self.buf[start..end];
        self.pos = end;
        Ok(number(raw).unwrap_or_else(|| Token::Keyword(raw.to_vec())))
    }

    fn hex(&mut self) -> Result<Token, LexError> {
        let start = self.pos + 1;
        let Some(len) = self.buf[start..].iter().position(|&b| b == b'>') else {
            return self.eof_or(LexError::Syntax("unterminated hex string"));
        };
        let mut out = Vec::with_capacity(len / 2 + 1);
        let mut high: Option<u8> = None;
        for &b in &self.buf[start..start + len] {
            let v = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ if is_white(b) => continue,
                _ => return Err(LexError::Syntax("bad character in hex string")),
            };
            match high.take() {
                None => high = Some(v),
                Some(h) => out.push(h << 4 | v),
            }
        }
        if let Some(h) = high {
            out.push(h << 4);
        }
        self.pos = start + len + 1;
        Ok(Token::Str(out))
    }

    fn literal(&mut self) -> Result<Token, LexError> {
        let mut i = self.pos + 1;
        let mut depth = 1usize;
        let mut out = Vec::new();
        let buf = self.buf;
        while let Some(&b) = buf.get(i) {
            i += 1;
            match b {
                b'(' => {
                    depth += 1;
                    out.push(b);
                }
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        self.pos = i;
                        return Ok(Token::Str(out));
                    }
                    out.push(b);
                }
                b'\\' => {
                    let Some(&e) = buf.get(i) else { break };
                    i += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'\r' => {
                            if buf.get(i) == Some(&b'\n') {
                                i += 1;
                            }
                        }
                        b'\n' => {}
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                match buf.get(i) {
                                    Some(&d @ b'0'..=b'7') => {
                                        v = v * 8 + u32::from(d - b'0');
                                        i += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push((v & 0xFF) as u8);
                        }
                        other => out.push(other),
                    }
                }
                b'\r' => {
                    // An end of line in a string reads as a line feed.
                    if buf.get(i) == Some(&b'\n') {
                        i += 1;
                    }
                    out.push(b'\n');
                }
                _ => out.push(b),
            }
        }
        self.eof_or(LexError::Syntax("unterminated string"))
    }
}

fn hex_pair(p: &[u8]) -> Option<u8> {
    let s = std::str::from_utf8(p).ok()?;
    u8::from_str_radix(s, 16).ok()
}

/// A number token, leniently: `+5`, `-.5`, `3.`; an integer too large becomes a real.
fn number(raw: &[u8]) -> Option<Token> {
    let first = *raw.first()?;
    if !(first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'.')) {
        return None;
    }
    let s = std::str::from_utf8(raw).ok()?;
    if let Ok(i) = s.parse::<i64>() {
        return Some(Token::Int(i));
    }
    let digits_ok = raw[1..].iter().all(|b| b.is_ascii_digit() || *b == b'.');
    if !digits_ok || raw.iter().filter(|&&b| b == b'.').count() > 1 {
        return None;
    }
    let r: f64 = s.parse().ok().or_else(|| {
        // "-." or "+." or ".": zero.
        (raw.iter().all(|b| !b.is_ascii_digit())).then_some(0.0)
    })?;
    r.is_finite().then_some(Token::Real(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(src: &[u8]) -> Vec<Token> {
        let mut lx = Lexer::new(src, true);
        let mut out = Vec::new();
        loop {
            match lx.next_token() {
                Ok(t) => out.push(t),
                Err(LexError::Eof) => return out,
                Err(e) => panic!("{e:?}"),
            }
        }
    }

    #[test]
    fn tokens() {
        let t = all(b"<< /Type /Page#20x /N -12 3.5 .5 (a(b)c\\)\\101) <48 49 5> [true] >> % c\nR");
        assert_eq!(
            t,
            vec![
                Token::DictOpen,
                Token::Name(b"Type".to_vec()),
                Token::Name(b"Page x".to_vec()),
                Token::Name(b"N".to_vec()),
                Token::Int(-12),
                Token::Real(3.5),
                Token::Real(0.5),
                Token::Str(b"a(b)c)A".to_vec()),
                Token::Str(b"HIP".to_vec()),
                Token::ArrayOpen,
                Token::Keyword(b"true".to_vec()),
                Token::ArrayClose,
                Token::DictClose,
                Token::Keyword(b"R".to_vec()),
            ]
        );
    }

    #[test]
    fn incomplete_slices_ask_for_more() {
        for src in [&b"12"[..], b"(abc", b"<4142", b"/Nam", b"<"] {
            let mut lx = Lexer::new(src, false);
            assert_eq!(lx.next_token(), Err(LexError::Eof), "{src:?}");
        }
        assert_eq!(Lexer::new(b"12", true).next_token(), Ok(Token::Int(12)));
        assert!(matches!(
            Lexer::new(b"(abc", true).next_token(),
            Err(LexError::Syntax(_))
        ));
    }

    #[test]
    fn huge_integers_become_reals_and_junk_is_a_keyword() {
        assert!(matches!(
            Lexer::new(b"99999999999999999999999 ", true).next_token(),
            Ok(Token::Real(_))
        ));
        assert_eq!(
            Lexer::new(b"1-2 ", true).next_token(),
            Ok(Token::Keyword(b"1-2".to_vec()))
        );
    }
}
