//! The register log: what each entry covers, and how its bytes are laid out.
//!
//! An entry is a list of named text fields taken from the rows it covers (a registration: the
//! correspondence row without its annulment columns, its files, its concerned units and its
//! first history line; an annulment: the annulment columns and the history line it added; a
//! workflow move: the history line it added and the assignments it made).
//! The store builds entries from rows with one function, both when it writes them and when
//! `diwan audit verify` reads them back, so any later change to a covered column shows.
//!
//! Layout of the bytes hashed into the leaf (`leaf = SHA-256(0x00 || bytes)`, RFC 9162):
//! `"diwan-log/1" 0x0a kind 0x0a` then, for each field, its name, `0x00`, the value's length
//! as 8 big-endian bytes, and the value (UTF-8). Names never contain `0x00`.

use diwan_domain::merkle::{Frontier, Hash, MerkleHasher as _};
use serde::{Deserialize, Serialize};

use crate::merkle::Sha256Tree;

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogKind {
    Registration,
    Annulment,
    /// A workflow move (assignment, forwarding, return, closing, ...).
    Movement,
    /// An action in the parapheur (submission, visa, signature, rejection, numbering, ...):
    /// its subject is a parapheur document, not a correspondence.
    Parapheur,
}

impl LogKind {
    /// Whether the entry's subject is a correspondence (else a parapheur document).
    pub fn about_correspondence(self) -> bool {
        !matches!(self, Self::Parapheur)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registration => "registration",
            Self::Annulment => "annulment",
            Self::Movement => "movement",
            Self::Parapheur => "parapheur",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "registration" => Some(Self::Registration),
            "annulment" => Some(Self::Annulment),
            "movement" => Some(Self::Movement),
            "parapheur" => Some(Self::Parapheur),
            _ => None,
        }
    }
}

/// One entry, before it gets its index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub kind: LogKind,
    /// The correspondence, or for [`LogKind::Parapheur`] the parapheur document.
    pub subject_id: String,
    /// The subject's history line the entry covers (each is logged at most once).
    pub event_id: String,
    pub fields: Vec<(String, String)>,
}

impl LogEntry {
    pub fn new(kind: LogKind, subject_id: &str, event_id: &str) -> Self {
        Self {
            kind,
            subject_id: subject_id.to_owned(),
            event_id: event_id.to_owned(),
            fields: Vec::new(),
        }
    }

    /// Adds a field; `None` values are recorded as absent, distinct from empty text.
    pub fn field(&mut self, name: &str, value: Option<&str>) -> &mut Self {
        match value {
            Some(v) => self.fields.push((name.to_owned(), v.to_owned())),
            None => self.fields.push((format!("{name}?"), String::new())),
        }
        self
    }

    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            64 + self
                .fields
                .iter()
                .map(|(n, v)| n.len() + v.len() + 9)
                .sum::<usize>(),
        );
        out.extend_from_slice(b"diwan-log/1\n");
        out.extend_from_slice(self.kind.as_str().as_bytes());
        out.push(b'\n');
        for (name, value) in &self.fields {
            out.extend_from_slice(name.as_bytes());
            out.push(0);
            out.extend_from_slice(&(value.len() as u64).to_be_bytes());
            out.extend_from_slice(value.as_bytes());
        }
        out
    }

    pub fn leaf_hash(&self) -> Hash {
        Sha256Tree.leaf(&self.bytes())
    }
}

/// An entry as stored, with its index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLeaf {
    pub index: u64,
    pub kind: LogKind,
    /// As in [`LogEntry::subject_id`].
    pub subject_id: String,
    pub event_id: String,
    pub leaf_hash: Hash,
}

/// A signed tree head as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHead {
    pub tree_size: u64,
    pub root_hash: Hash,
    pub issued_at: chrono::DateTime<chrono::Utc>,
    /// The compact JWS of the head (see `receipts::tree_head_payload`).
    pub jws: String,
}

/// Hex of a hash.
pub fn hex(h: &Hash) -> String {
    let mut s = String::with_capacity(64);
    for b in h {
        s.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        s.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    s
}

/// A hash from 64 hex digits.
pub fn unhex(s: &str) -> Option<Hash> {
    let b = s.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = digit(b[2 * i])? << 4 | digit(b[2 * i + 1])?;
    }
    Some(out)
}

/// A frontier as the store keeps it: the hex of its nodes, concatenated.
pub fn frontier_to_text(f: &Frontier) -> String {
    f.nodes.iter().map(hex).collect()
}

pub fn frontier_from_text(size: u64, text: &str) -> Option<Frontier> {
    if !text.len().is_multiple_of(64) || !text.is_ascii() {
        return None;
    }
    let nodes = (0..text.len() / 64)
        .map(|i| unhex(&text[i * 64..(i + 1) * 64]))
        .collect::<Option<Vec<_>>>()?;
    let f = Frontier { size, nodes };
    f.is_well_formed().then_some(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_separate_fields_unambiguously() {
        let mut a = LogEntry::new(LogKind::Registration, "c", "e");
        a.field("subject", Some("ab")).field("x", Some(""));
        let mut b = LogEntry::new(LogKind::Registration, "c", "e");
        b.field("subject", Some("a")).field("x", Some("b"));
        assert_ne!(a.bytes(), b.bytes());
        let mut c = LogEntry::new(LogKind::Registration, "c", "e");
        c.field("subject", Some("ab")).field("x", None);
        assert_ne!(a.leaf_hash(), c.leaf_hash());
        let mut d = LogEntry::new(LogKind::Annulment, "c", "e");
        d.field("subject", Some("ab")).field("x", Some(""));
        assert_ne!(a.leaf_hash(), d.leaf_hash());
    }

    #[test]
    fn hex_round_trips() {
        let h = Sha256Tree.leaf(b"x");
        assert_eq!(unhex(&hex(&h)), Some(h));
        assert_eq!(unhex("zz"), None);
        let f = Frontier::default()
            .append(&Sha256Tree, &[h, h, h])
            .unwrap()
            .frontier;
        assert_eq!(frontier_from_text(3, &frontier_to_text(&f)), Some(f));
        assert_eq!(
            frontier_from_text(2, &frontier_to_text(&Frontier::default())),
            None
        );
    }
}
