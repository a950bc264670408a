//! The text of registered files, for search: the text of born-digital PDFs, and OCR of scans
//! (images, and PDF pages that are only an image). Done in the background after commit by a
//! few threads. A file's state is kept on its row (`text_status`: none yet, done, empty,
//! skipped, failed), so the work resumes after a restart; a lease keeps two workers (or two
//! processes) from reading the same file at once.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use diwan_domain::Sha256Digest;

use crate::Services;
use crate::error::AppError;
use crate::model::TextSource;

/// Reads the text of a scanned image. Implemented by the server over `tesseract`.
pub trait Ocr: Send + Sync {
    /// The text of `image` (JPEG, PNG or TIFF; every page of a multi-page TIFF).
    fn recognise(&self, image: &[u8]) -> Result<String, String>;
}

/// A file whose text is still to be read.
#[derive(Debug, Clone)]
pub struct TextJob {
    pub file_id: String,
    pub correspondence_id: String,
    pub sha256: String,
    pub media_type: String,
    pub size: u64,
    /// Attempts so far, this one included.
    pub attempts: u32,
    /// A PDF whose inspection at registration found problems (damage, encryption, active
    /// content, absurd sizes): its text is not read.
    pub pdf_problems: bool,
}

/// What became of a file's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextStatus {
    /// Text was found and stored.
    Done,
    /// The file has no text (and no image to read, or OCR found nothing).
    Empty,
    /// Not a kind of file whose text is read, too large, or needs OCR when none is installed.
    Skipped,
    /// Reading failed on every attempt.
    Failed,
}

impl TextStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TextStatus::Done => "done",
            TextStatus::Empty => "empty",
            TextStatus::Skipped => "skipped",
            TextStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "done" => TextStatus::Done,
            "empty" => TextStatus::Empty,
            "skipped" => TextStatus::Skipped,
            "failed" => TextStatus::Failed,
            _ => return None,
        })
    }
}

/// Most attempts at one file before it is marked failed.
pub const MAX_ATTEMPTS: u32 = 3;
/// How long a worker holds a file it is reading (OCR of a long scan included).
const LEASE: chrono::Duration = chrono::Duration::minutes(15);
/// Largest file whose text is read (PDFs are parsed in memory).
pub const MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;
/// Files leased at once by a worker.
const BATCH: usize = 32;

fn read(s: &Services, job: &TextJob) -> Result<Vec<u8>, AppError> {
    let digest = Sha256Digest::parse(&job.sha256)
        .map_err(|_| AppError::internal("a file row holds a malformed digest"))?;
    s.blobs
        .read(&digest)
        .map_err(|e| AppError::internal(format!("reading a file: {e}")))?
        .ok_or_else(|| AppError::internal(format!("file {} is missing", job.sha256)))
}

fn store(s: &Services, job: &TextJob, source: TextSource, text: &str) -> Result<(), AppError> {
    s.store
        .put_document_text(&job.correspondence_id, &job.sha256, source, text)?;
    Ok(())
}

fn ocr_all(ocr: &dyn Ocr, images: &[Vec<u8>]) -> Result<String, AppError> {
    let mut text = String::new();
    for image in images {
        let page = ocr
            .recognise(image)
            .map_err(|e| AppError::internal(format!("OCR: {e}")))?;
        if !page.trim().is_empty() {
            text.push_str(page.trim());
            text.push('\n');
        }
    }
    Ok(text)
}

/// Reads one file's text and stores it; what became of it.
pub fn process(s: &Services, ocr: Option<&dyn Ocr>, job: &TextJob) -> Result<TextStatus, AppError> {
    if job.size > MAX_INPUT_BYTES {
        return Ok(TextStatus::Skipped);
    }
    let media_type = job.media_type.split(';').next().unwrap_or("").trim();
    match media_type {
        "application/pdf" if job.pdf_problems => Ok(TextStatus::Skipped),
        "application/pdf" => {
            let bytes = read(s, job)?;
            let Ok(out) = diwan_pdf::extract_text(&bytes, &diwan_pdf::ExtractLimits::default())
            else {
                // Not readable (malformed, encrypted, too deeply nested): nothing to search.
                return Ok(TextStatus::Empty);
            };
            let mut found = false;
            if !out.text.trim().is_empty() {
                store(s, job, TextSource::Pdf, &out.text)?;
                found = true;
            }
            if !out.scanned_images.is_empty() {
                let Some(ocr) = ocr else {
                    return Ok(if found {
                        TextStatus::Done
                    } else {
                        TextStatus::Skipped
                    });
                };
                let text = ocr_all(ocr, &out.scanned_images)?;
                if !text.trim().is_empty() {
                    store(s, job, TextSource::Ocr, &text)?;
                    found = true;
                }
            }
            Ok(if found {
                TextStatus::Done
            } else {
                TextStatus::Empty
            })
        }
        "image/jpeg" | "image/png" | "image/tiff" => {
            let Some(ocr) = ocr else {
                return Ok(TextStatus::Skipped);
            };
            let bytes = read(s, job)?;
            let text = ocr_all(ocr, &[bytes])?;
            if text.trim().is_empty() {
                return Ok(TextStatus::Empty);
            }
            store(s, job, TextSource::Ocr, &text)?;
            Ok(TextStatus::Done)
        }
        "text/plain" => {
            let bytes = read(s, job)?;
            let text = String::from_utf8_lossy(&bytes);
            if text.trim().is_empty() {
                return Ok(TextStatus::Empty);
            }
            store(s, job, TextSource::Plain, &text)?;
            Ok(TextStatus::Done)
        }
        _ => Ok(TextStatus::Skipped),
    }
}

/// Reads the files that are due; returns how many were taken. Their outcomes are recorded
/// together, in one transaction.
pub fn process_due(s: &Services, ocr: Option<&dyn Ocr>) -> Result<usize, AppError> {
    let now = s.clock.now();
    let jobs = s.store.lease_text_jobs(now, now + LEASE, BATCH)?;
    let mut outcomes = Vec::with_capacity(jobs.len());
    for job in &jobs {
        match process(s, ocr, job) {
            Ok(status) => outcomes.push((job.file_id.clone(), status)),
            Err(e) if job.attempts >= MAX_ATTEMPTS => {
                tracing::warn!(file = %job.file_id, error = %e, "reading a file's text failed; giving up");
                outcomes.push((job.file_id.clone(), TextStatus::Failed));
            }
            Err(e) => {
                // The lease runs out and the file is taken again later.
                tracing::warn!(file = %job.file_id, error = %e, attempts = job.attempts, "reading a file's text failed");
            }
        }
    }
    if !outcomes.is_empty() {
        s.store.text_jobs_done(&outcomes)?;
    }
    Ok(jobs.len())
}

/// Wakes the text workers after a commit that brought files.
#[derive(Debug, Clone)]
pub struct TextWake(mpsc::SyncSender<()>);

impl TextWake {
    pub fn wake(&self) {
        let _ = self.0.try_send(());
    }
}

/// Starts `threads` text workers: they read what is due whenever woken, and every `poll`.
pub fn start_workers(
    s: &Services,
    ocr: Option<Arc<dyn Ocr>>,
    threads: usize,
    poll: Duration,
) -> Result<TextWake, AppError> {
    let (tx, rx) = mpsc::sync_channel::<()>(1);
    let rx = Arc::new(std::sync::Mutex::new(rx));
    for n in 0..threads.max(1) {
        let s = s.clone();
        let ocr = ocr.clone();
        let rx = Arc::clone(&rx);
        let builder = std::thread::Builder::new()
            .name(format!("diwan-text-{n}"))
            // The PDF parser recurses (nesting is bounded before parsing).
            .stack_size(16 * 1024 * 1024);
        let workers = Arc::clone(&s.workers);
        workers
            .spawn(builder, move || {
                loop {
                    while !s.workers.stopping() {
                        match process_due(&s, ocr.as_deref()) {
                            Ok(n) if n > 0 => continue,
                            Ok(_) => break,
                            Err(e) => {
                                tracing::error!(error = %e, "the text worker cannot read its queue");
                                break;
                            }
                        }
                    }
                    let woken = match rx.lock() {
                        Ok(rx) => s.workers.wait(&rx, poll),
                        Err(_) => break,
                    };
                    if woken == crate::workers::Wait::Stop {
                        break;
                    }
                }
            })
            .map_err(|e| AppError::internal(format!("cannot start a text worker: {e}")))?;
    }
    Ok(TextWake(tx))
}
