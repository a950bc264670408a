//! Minimal DER tag-length-value reading and writing.
//!
//! Used where bytes must be kept exactly as they are (adding an unsigned attribute to a
//! signature without re-encoding what was signed or certified) and where an encoder must not
//! fail (a time-stamp rejection). Only the low-tag-number form and definite lengths of at most
//! four bytes are accepted, with DER's minimal length encoding.

/// One TLV inside a larger buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    /// The identifier octet.
    pub tag: u8,
    /// The whole encoding: identifier, length and value.
    pub raw: &'a [u8],
    /// The value (contents) octets.
    pub value: &'a [u8],
}

/// Reads the first TLV of `input`; returns it with the bytes that follow.
pub(crate) fn split(input: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (len_bytes, rest) = rest.split_at(count);
        if len_bytes[0] == 0 {
            return None;
        }
        let len = len_bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        if len < 0x80 {
            return None;
        }
        (len, rest)
    };
    if rest.len() < len {
        return None;
    }
    let header_len = input.len() - rest.len();
    let (value, after) = rest.split_at(len);
    let raw = &input[..header_len + len];
    Some((Tlv { tag, raw, value }, after))
}

/// Reads the TLVs that make up `content`, all of it.
pub(crate) fn items(mut content: &[u8]) -> Option<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (tlv, rest) = split(content)?;
        out.push(tlv);
        content = rest;
    }
    Some(out)
}

/// Reads exactly one TLV with the given tag, nothing after it.
pub(crate) fn single(input: &[u8], tag: u8) -> Option<Tlv<'_>> {
    match split(input)? {
        (tlv, []) if tlv.tag == tag => Some(tlv),
        _ => None,
    }
}

/// Encodes `content` under the identifier octet `tag`.
pub(crate) fn encode(tag: u8, content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = Vec::with_capacity(len + 6);
    out.push(tag);
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_round_trip_in_minimal_form() {
        for len in [0usize, 1, 127, 128, 255, 256, 70_000] {
            let content = vec![7u8; len];
            let enc = encode(0x04, &content);
            let (tlv, rest) = split(&enc).unwrap();
            assert!(rest.is_empty());
            assert_eq!(tlv.tag, 0x04);
            assert_eq!(tlv.value, content.as_slice());
            assert_eq!(tlv.raw, enc.as_slice());
        }
    }

    #[test]
    fn non_minimal_indefinite_and_truncated_lengths_are_refused() {
        assert!(split(&[0x04, 0x81, 0x05, 1, 2, 3, 4, 5]).is_none());
        assert!(split(&[0x04, 0x82, 0x00, 0x90]).is_none());
        assert!(split(&[0x30, 0x80, 0, 0]).is_none());
        assert!(split(&[0x04, 0x03, 1, 2]).is_none());
        assert!(split(&[0x1f, 0x01, 0]).is_none());
        assert!(split(&[]).is_none());
        assert!(single(&[0x04, 0x00, 0x05, 0x00], 0x04).is_none());
        assert_eq!(items(&[0x05, 0x00, 0x04, 0x01, 9]).unwrap().len(), 2);
    }
}
