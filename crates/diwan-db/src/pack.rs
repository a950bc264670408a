//! Pack segments: small files appended, one after the other, to a segment file owned by one
//! group-commit writer (`blobs/packs/<id>.pack`), with their place recorded in `blob_packs` in
//! the registration's transaction. One `fdatasync` per batch replaces a file creation, a rename
//! and two fsyncs per file.
//!
//! Bytes appended for a registration that then fails are cut off again (`rewind`), so a segment
//! holds only content that a committed row points to.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// A segment is closed once it grows past this size; the next batch starts a new one.
const SEGMENT_BYTES: u64 = 1 << 30;

/// Where the next byte of the current segment goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    segment: Option<String>,
    len: u64,
}

#[derive(Debug)]
struct Segment {
    name: String,
    file: File,
    len: u64,
    dirty: bool,
}

#[derive(Debug)]
pub struct PackWriter {
    blobs: PathBuf,
    dir: PathBuf,
    current: Option<Segment>,
    /// A sync started by [`PackWriter::start_sync`], not yet waited for.
    pending: Option<std::thread::JoinHandle<io::Result<()>>>,
}

impl PackWriter {
    pub fn new(blobs_dir: &Path) -> Self {
        Self {
            blobs: blobs_dir.to_owned(),
            dir: packs_dir(blobs_dir),
            current: None,
            pending: None,
        }
    }

    /// Whether this content is already stored as a loose file.
    pub fn loose_exists(&self, digest: &diwan_domain::Sha256Digest) -> bool {
        let d = digest.as_str();
        self.blobs.join(&d[0..2]).join(d).is_file()
    }

    /// Called before each batch: closes a full segment.
    pub fn begin_batch(&mut self) {
        if self
            .current
            .as_ref()
            .is_some_and(|s| s.len >= SEGMENT_BYTES)
        {
            self.current = None;
        }
    }

    pub fn mark(&self) -> Mark {
        Mark {
            segment: self.current.as_ref().map(|s| s.name.clone()),
            len: self.current.as_ref().map_or(0, |s| s.len),
        }
    }

    /// Cuts the current segment back to `mark` (same segment: segments only change between
    /// batches, and a segment opened since the mark is cut back to empty).
    pub fn rewind(&mut self, mark: &Mark) {
        if let Err(e) = self.wait_pending() {
            tracing::warn!(error = %e, "a pack sync failed before a rewind");
        }
        let Some(seg) = self.current.as_mut() else {
            return;
        };
        let len = if mark.segment.as_deref() == Some(seg.name.as_str()) {
            mark.len
        } else {
            0
        };
        if seg.len == len {
            return;
        }
        let cut = seg
            .file
            .set_len(len)
            .and_then(|()| seg.file.seek(SeekFrom::Start(len)).map(|_| ()));
        match cut {
            Ok(()) => seg.len = len,
            Err(e) => {
                tracing::error!(error = %e, segment = %seg.name, "cannot cut a pack segment back; closing it");
                self.current = None;
            }
        }
    }

    /// Appends `bytes`; returns the segment's name and the offset they start at.
    pub fn append(&mut self, bytes: &[u8]) -> io::Result<(String, u64)> {
        if self.current.is_none() {
            self.current = Some(self.open_segment()?);
        }
        let seg = self
            .current
            .as_mut()
            .ok_or_else(|| io::Error::other("no segment"))?;
        let offset = seg.len;
        seg.file.write_all(bytes)?;
        seg.len += bytes.len() as u64;
        seg.dirty = true;
        Ok((seg.name.clone(), offset))
    }

    /// Starts syncing what was appended so far on another thread, so that the caller can go on
    /// with its SQL meanwhile; [`PackWriter::sync`] waits for it.
    pub fn start_sync(&mut self) -> io::Result<()> {
        self.wait_pending()?;
        let Some(seg) = self.current.as_mut().filter(|s| s.dirty) else {
            return Ok(());
        };
        let file = seg.file.try_clone()?;
        seg.dirty = false;
        self.pending = Some(
            std::thread::Builder::new()
                .name("diwan-pack-sync".into())
                .spawn(move || file.sync_data())?,
        );
        Ok(())
    }

    fn wait_pending(&mut self) -> io::Result<()> {
        match self.pending.take() {
            Some(handle) => handle
                .join()
                .map_err(|_| io::Error::other("the pack sync thread panicked"))?,
            None => Ok(()),
        }
    }

    /// Makes everything appended durable.
    pub fn sync(&mut self) -> io::Result<()> {
        self.wait_pending()?;
        match self.current.as_mut() {
            Some(seg) if seg.dirty => {
                seg.file.sync_data()?;
                seg.dirty = false;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn open_segment(&self) -> io::Result<Segment> {
        let created = !self.dir.is_dir();
        fs::create_dir_all(&self.dir)?;
        let name = format!(
            "{}.pack",
            diwan_app::ids::new_id().map_err(|e| io::Error::other(e.to_string()))?
        );
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(self.dir.join(&name))?;
        File::open(&self.dir)?.sync_all()?;
        if let Some(parent) = self.dir.parent().filter(|_| created) {
            File::open(parent)?.sync_all()?;
        }
        Ok(Segment {
            name,
            file,
            len: 0,
            dirty: false,
        })
    }
}

pub fn packs_dir(blobs_dir: &Path) -> PathBuf {
    blobs_dir.join("packs")
}

/// Reads `length` bytes at `offset` of a segment.
pub fn read(blobs_dir: &Path, segment: &str, offset: u64, length: u64) -> io::Result<Vec<u8>> {
    if segment.contains(['/', '\\']) || segment.starts_with('.') {
        return Err(io::Error::other(format!("bad segment name {segment:?}")));
    }
    let mut file = File::open(packs_dir(blobs_dir).join(segment))?;
    file.seek(SeekFrom::Start(offset))?;
    let mut buf = vec![0; usize::try_from(length).map_err(io::Error::other)?];
    io::Read::read_exact(&mut file, &mut buf)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_rewind_and_read() {
        let dir =
            std::env::temp_dir().join(format!("diwan-pack-{}", diwan_app::ids::new_id().unwrap()));
        let mut w = PackWriter::new(&dir);
        w.begin_batch();
        let before = w.mark();
        let (seg, a) = w.append(b"hello").unwrap();
        let mark = w.mark();
        let (_, b) = w.append(b"world!").unwrap();
        assert_eq!((a, b), (0, 5));
        w.rewind(&mark);
        let (_, c) = w.append(b"again").unwrap();
        assert_eq!(c, 5, "rewound bytes are overwritten");
        w.sync().unwrap();
        assert_eq!(read(&dir, &seg, 5, 5).unwrap(), b"again");
        assert_eq!(fs::metadata(packs_dir(&dir).join(&seg)).unwrap().len(), 10);
        w.rewind(&before);
        assert_eq!(fs::metadata(packs_dir(&dir).join(&seg)).unwrap().len(), 0);
        assert!(read(&dir, "../x", 0, 1).is_err());
        let _ = fs::remove_dir_all(dir);
    }
}
