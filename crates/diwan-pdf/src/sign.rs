//! Signing in two steps, for signatures made elsewhere (a smart card, a remote signing
//! service, a CMS to which a timestamp is added after signing):
//!
//! 1. [`prepare`] appends the incremental update (signature field, optional visible block,
//!    `/Sig` dictionary with a zero-filled `/Contents` placeholder) and gives the SHA-256
//!    digest of the bytes the signature covers;
//! 2. the caller has a detached CMS (PAdES: `ETSI.CAdES.detached`) made over that digest;
//! 3. [`embed`] writes the DER CMS into the placeholder.
//!
//! A document may be signed any number of times in succession: each signature is a new
//! incremental update, the earlier revisions' bytes are left as they are, so earlier
//! signatures stay valid (see [`crate::changes_after`] to check what came after one).

use ring::digest::{Context, SHA256};

use crate::PdfError;
use crate::seal::{CONTENTS_RESERVED_BYTES, SealInfo, UpdateSpec, prepare_update};
use crate::syntax::hex;

/// Largest reservation for the CMS (a CMS with a timestamp and a long chain fits easily).
pub const MAX_CONTENTS_RESERVED_BYTES: usize = 512 * 1024;
/// Smallest reservation accepted.
const MIN_CONTENTS_RESERVED_BYTES: usize = 256;
/// Upper bound on the text of a signature block.
const MAX_APPEARANCE_TEXT: usize = 4096;

/// What the visible signature block shows, already formatted by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureAppearance {
    /// The signer's name in Arabic script (shaped and laid out right to left).
    pub name_ar: Option<String>,
    /// The signer's name in Latin script.
    pub name_latin: String,
    /// The signer's function, e.g. "Directeur des ressources humaines".
    pub function: Option<String>,
    /// When the document was signed, e.g. `2026-12-03 16:05 UTC` (no clock is read here).
    pub signed_at_text: String,
}

/// One signature to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignRequest {
    /// The signature dictionary's entries (`/Name`, `/Reason`, `/Location`, `/M`) and any
    /// text entries to add to the catalog (usually none for a person's signature: catalog
    /// changes other than the form are reported by [`crate::changes_after`]).
    pub info: SealInfo,
    /// A visible block on the last page; `None`: an invisible signature field on page 1.
    pub appearance: Option<SignatureAppearance>,
    /// Bytes reserved for the DER CMS: [`CONTENTS_RESERVED_BYTES`] (16 KiB) by default; ask
    /// more (e.g. 32 KiB) when a timestamp token will be added to the CMS. At most
    /// [`MAX_CONTENTS_RESERVED_BYTES`].
    pub contents_reserved: usize,
}

impl SignRequest {
    /// An invisible signature with the default reservation.
    pub fn new(info: SealInfo) -> Self {
        Self {
            info,
            appearance: None,
            contents_reserved: CONTENTS_RESERVED_BYTES,
        }
    }
}

/// A document ready to receive its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The whole new file: the original bytes, then the update, with the `/Contents`
    /// placeholder zero-filled.
    pub bytes: Vec<u8>,
    /// `[0, start of /Contents, end of /Contents, rest]`, as written in `/ByteRange`.
    pub byte_range: [usize; 4],
    /// SHA-256 of the covered bytes (both ranges, in order): what the CMS must sign (its
    /// `messageDigest` attribute).
    pub digest: [u8; 32],
}

impl Prepared {
    /// The two covered ranges of [`Self::bytes`] (empty if the byte range does not fit).
    pub fn covered(&self) -> [&[u8]; 2] {
        covered_parts(&self.bytes, &self.byte_range)
    }

    /// Bytes reserved for the DER CMS.
    pub fn reserved(&self) -> usize {
        self.byte_range[2]
            .saturating_sub(self.byte_range[1])
            .saturating_sub(2)
            / 2
    }
}

fn covered_parts<'a>(bytes: &'a [u8], range: &[usize; 4]) -> [&'a [u8]; 2] {
    let part = |start: usize, len: usize| {
        start
            .checked_add(len)
            .and_then(|end| bytes.get(start..end))
            .unwrap_or_default()
    };
    [part(range[0], range[1]), part(range[2], range[3])]
}

/// SHA-256 of the bytes `range` covers.
pub(crate) fn digest_of(bytes: &[u8], range: &[usize; 4]) -> [u8; 32] {
    let mut context = Context::new(&SHA256);
    for part in covered_parts(bytes, range) {
        context.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(context.finish().as_ref());
    out
}

/// Append a signature field to `pdf` (already signed or not) and reserve room for its
/// signature; nothing is signed yet. The field is named `SignatureN` (N after the number of
/// existing fields, the first free one). With an appearance, the block is drawn on the last
/// page, beside or above the blocks already there.
pub fn prepare(pdf: &[u8], request: &SignRequest) -> Result<Prepared, PdfError> {
    let reserved = request.contents_reserved;
    if !(MIN_CONTENTS_RESERVED_BYTES..=MAX_CONTENTS_RESERVED_BYTES).contains(&reserved) {
        return Err(PdfError::Request(format!(
            "contents_reserved must be between {MIN_CONTENTS_RESERVED_BYTES} and \
             {MAX_CONTENTS_RESERVED_BYTES} bytes, not {reserved}"
        )));
    }
    if let Some(look) = &request.appearance {
        let text = look.name_latin.len()
            + look.signed_at_text.len()
            + look.name_ar.as_ref().map_or(0, String::len)
            + look.function.as_ref().map_or(0, String::len);
        if text > MAX_APPEARANCE_TEXT {
            return Err(PdfError::TooLarge("signature block text"));
        }
    }
    prepare_update(
        pdf,
        &UpdateSpec {
            info: &request.info,
            field_prefix: "Signature",
            number_from_count: true,
            appearance: request.appearance.as_ref(),
            reserved,
        },
    )
}

/// Write `cms_der` (a detached CMS over [`Prepared::digest`]) into the placeholder and return
/// the signed file. Refused: a CMS larger than the reservation
/// ([`PdfError::SignatureTooLarge`]), an empty one, and a `prepared` whose bytes no longer
/// match its byte range or digest, or whose placeholder is already filled.
pub fn embed(prepared: Prepared, cms_der: &[u8]) -> Result<Vec<u8>, PdfError> {
    if digest_of(&prepared.bytes, &prepared.byte_range) != prepared.digest {
        return Err(PdfError::Request(
            "the prepared bytes changed since they were prepared".into(),
        ));
    }
    embed_trusted(prepared, cms_der)
}

/// [`embed`] without hashing the covered bytes again: for bytes that never left the caller
/// since [`prepare`] made them, or whose integrity the caller checked (a content-addressed
/// store). Every other check is made. A second pass over a large file is most of the cost of
/// signing it.
pub fn embed_trusted(prepared: Prepared, cms_der: &[u8]) -> Result<Vec<u8>, PdfError> {
    let Prepared {
        mut bytes,
        byte_range,
        digest: _,
    } = prepared;
    let [start, gap_start, gap_end, rest] = byte_range;
    let shape_ok = start == 0
        && gap_start < gap_end
        && gap_end - gap_start >= 2
        && gap_end.checked_add(rest) == Some(bytes.len())
        && bytes.get(gap_start) == Some(&b'<')
        && bytes.get(gap_end - 1) == Some(&b'>');
    if !shape_ok {
        return Err(PdfError::Request(
            "the byte range does not match the prepared bytes".into(),
        ));
    }
    let reserved = (gap_end - gap_start - 2) / 2;
    if cms_der.len() > reserved {
        return Err(PdfError::SignatureTooLarge {
            size: cms_der.len(),
            reserved,
        });
    }
    if cms_der.is_empty() {
        return Err(PdfError::Request("the CMS is empty".into()));
    }
    let placeholder = &bytes[gap_start + 1..gap_end - 1];
    if placeholder.iter().any(|&b| b != b'0') {
        return Err(PdfError::Request(
            "the signature placeholder is already filled".into(),
        ));
    }
    let encoded = hex(cms_der);
    bytes[gap_start + 1..gap_start + 1 + encoded.len()].copy_from_slice(encoded.as_bytes());
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covered_parts_never_slice_out_of_bounds() {
        let bytes = b"0123456789";
        assert_eq!(
            covered_parts(bytes, &[0, 2, 4, 6]),
            [&b"01"[..], &b"456789"[..]]
        );
        let [a, b] = covered_parts(bytes, &[0, usize::MAX, 4, 60]);
        assert!(a.is_empty() && b.is_empty());
    }
}
