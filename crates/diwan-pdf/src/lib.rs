#![doc = include_str!("../README.md")]

mod appearance;
mod changes;
pub mod dossier;
mod extract;
mod inspect;
mod page;
mod qr;
mod read;
pub mod reader;
mod receipt;
mod seal;
mod sign;
mod syntax;
mod text;

pub use changes::{ChangesAfter, changes_after};
pub use extract::{ExtractLimits, ExtractedText, extract_text};
pub use inspect::{Inspection, Problem, code as problem_code, inspect};
pub use read::{PdfSignature, catalog_text, signatures};
pub use receipt::{AnnulmentLines, FileLine, ReceiptView, render_receipt};
pub use seal::{CONTENTS_RESERVED_BYTES, SealInfo, seal};
pub use sign::{
    MAX_CONTENTS_RESERVED_BYTES, Prepared, SignRequest, SignatureAppearance, embed, embed_trusted,
    prepare,
};

/// Everything that can go wrong while rendering, sealing or reading a PDF.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// A shipped font could not be loaded.
    #[error("font: {0}")]
    Font(String),
    /// krilla refused to produce the document (for example a PDF/A violation).
    #[error("rendering: {0}")]
    Render(String),
    /// The input is too large to be handled.
    #[error("input too large: {0}")]
    TooLarge(&'static str),
    /// The input is not a PDF this crate can read.
    #[error("malformed PDF: {0}")]
    Malformed(String),
    /// The signer callback failed.
    #[error("signer: {0}")]
    Signer(String),
    /// Reading a source or writing the output failed.
    #[error("i/o: {0}")]
    Io(String),
    /// The signature does not fit in the space reserved for it.
    #[error("signature of {size} bytes exceeds the {reserved} bytes reserved")]
    SignatureTooLarge { size: usize, reserved: usize },
    /// The caller's request cannot be carried out (a reservation out of bounds, a prepared
    /// document that does not match its byte range, …).
    #[error("request: {0}")]
    Request(String),
}
