//! Content-addressed files, found by SHA-256.
//!
//! An upload is hashed as it streams. Up to [`MEMORY_BYTES`] it stays in memory and is later
//! appended by the group-commit writer to a pack segment (`<data>/blobs/packs/`, see `pack.rs`),
//! its place recorded in `blob_packs`. A larger upload spills to `<data>/staging/`; `finish` (on
//! a blocking thread) syncs it, and `promote`, called once the registration passed every check and
//! before its transaction commits, moves it to `<data>/blobs/ab/<sha256>` and syncs the
//! directory. Identical content is stored once.
//!
//! A digest is *pinned* while a registration holding it is in flight in this process, so that
//! the clean-up after a failed registration never removes a file another one is about to commit.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use diwan_app::ports::{BlobSink, BlobStore, ReadSeek, ScratchFile, StagedBlob};

use crate::conn::{Database, with_conn};
use crate::pack;
use crate::queries::Queries as _;
use diwan_domain::Sha256Digest;
use ring::digest::{Context, SHA256};

/// How many leading bytes media-type detection looks at.
const SNIFF_BYTES: usize = 8 * 1024;
/// Uploads up to this size are kept in memory until `finish`.
pub const MEMORY_BYTES: usize = 256 * 1024;
/// Most bytes of uploads held in memory at once, by all requests together; past it, uploads go
/// to the staging area even when small. Bounds the memory a flood of uploads can take.
pub const MEMORY_BUDGET: usize = 64 * 1024 * 1024;

/// Bytes of uploads held in memory right now.
#[derive(Debug)]
struct Budget {
    used: std::sync::atomic::AtomicUsize,
    cap: usize,
}

impl Budget {
    fn new(cap: usize) -> Self {
        Self {
            used: std::sync::atomic::AtomicUsize::new(0),
            cap,
        }
    }

    fn take(&self, n: usize) -> bool {
        use std::sync::atomic::Ordering;
        let before = self.used.fetch_add(n, Ordering::AcqRel);
        if before + n > self.cap {
            self.used.fetch_sub(n, Ordering::AcqRel);
            false
        } else {
            true
        }
    }

    fn give_back(&self, n: usize) {
        self.used.fetch_sub(n, std::sync::atomic::Ordering::AcqRel);
    }
}

type Pins = Arc<Mutex<HashMap<String, usize>>>;
/// Staged files older than this are leftovers of a crash and removed at start.
const STALE_STAGING: Duration = Duration::from_secs(3600);

#[derive(Debug)]
pub struct FsBlobStore {
    blobs: PathBuf,
    /// Documents Diwan made itself (sealed receipt PDFs and dossiers), apart from what people
    /// deposited.
    made: PathBuf,
    staging: PathBuf,
    pins: Pins,
    budget: Arc<Budget>,
    /// Where packed content is (the `blob_packs` table).
    index: Database,
}

impl FsBlobStore {
    /// Opens (and creates) the store under `data_dir`, removing stale staged files.
    pub fn open(data_dir: &Path, index: Database) -> io::Result<Self> {
        let store = Self {
            blobs: data_dir.join("blobs"),
            made: data_dir.join("receipts"),
            staging: data_dir.join("staging"),
            pins: Pins::default(),
            budget: Arc::new(Budget::new(MEMORY_BUDGET)),
            index,
        };
        fs::create_dir_all(&store.blobs)?;
        fs::create_dir_all(&store.made)?;
        fs::create_dir_all(&store.staging)?;
        store.remove_stale_staging();
        Ok(store)
    }

    fn remove_stale_staging(&self) {
        let Ok(mut paths) = self.staged_paths() else {
            return;
        };
        // Documents being made when a process stopped.
        if let Ok(entries) = fs::read_dir(&self.made) {
            paths.extend(
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "part")),
            );
        }
        for path in paths {
            let old = fs::metadata(&path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age > STALE_STAGING);
            if old {
                let _ = fs::remove_file(path);
            }
        }
    }

    /// Where a digest lives.
    pub fn path_of(&self, digest: &Sha256Digest) -> PathBuf {
        address(&self.blobs, digest)
    }

    /// Removes a stored file (used when the registration that brought it failed), unless a
    /// registration in flight holds the same content.
    pub fn remove(&self, digest: &Sha256Digest) {
        let pins = self.pins.lock().unwrap_or_else(PoisonError::into_inner);
        if pins.get(digest.as_str()).is_some_and(|n| *n > 0) {
            return;
        }
        match fs::remove_file(self.path_of(digest)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(error = %e, %digest, "cannot remove an unreferenced file"),
        }
    }

    /// The same store with another cap on upload bytes held in memory (tests).
    pub fn with_memory_budget(mut self, bytes: usize) -> Self {
        self.budget = Arc::new(Budget::new(bytes));
        self
    }

    pub(crate) fn blobs_dir(&self) -> &Path {
        &self.blobs
    }

    /// Every stored digest, loose and packed (for tests and audits).
    pub fn list(&self) -> io::Result<Vec<String>> {
        let mut out = self
            .packed()?
            .into_iter()
            .map(|(sha, ..)| sha)
            .collect::<Vec<_>>();
        for a in fs::read_dir(&self.blobs)? {
            let a = a?;
            if a.file_name() == "packs" {
                continue;
            }
            for f in fs::read_dir(a.path())? {
                let name = f?.file_name().to_string_lossy().into_owned();
                if !name.ends_with(".part") {
                    out.push(name);
                }
            }
        }
        Ok(out)
    }

    /// The pack index: digest, segment, offset, length.
    fn packed(&self) -> io::Result<Vec<(String, String, i64, i64)>> {
        let mut conn = self.index.conn().map_err(io::Error::other)?;
        let packed = with_conn!(&mut conn.conn, |c| c.packed_blobs());
        conn.noting(packed).map_err(io::Error::other)
    }

    /// Bytes in pack segments on disk, and bytes the index points to. Equal when no segment
    /// holds anything a committed row does not point to.
    pub fn pack_bytes(&self) -> io::Result<(u64, u64)> {
        let mut on_disk = 0;
        if let Ok(entries) = fs::read_dir(pack::packs_dir(&self.blobs)) {
            for e in entries {
                on_disk += e?.metadata()?.len();
            }
        }
        let indexed = self
            .packed()?
            .iter()
            .map(|(.., len)| u64::try_from(*len).unwrap_or(0))
            .sum();
        Ok((on_disk, indexed))
    }

    /// Files being staged (for tests and audits).
    pub fn staged(&self) -> io::Result<Vec<String>> {
        Ok(self
            .staged_paths()?
            .iter()
            .map(|p| p.display().to_string())
            .collect())
    }

    /// Files being staged: in the staging area, and small ones beside their address.
    fn staged_paths(&self) -> io::Result<Vec<PathBuf>> {
        let mut out = fs::read_dir(&self.staging)?
            .map(|e| e.map(|e| e.path()))
            .collect::<io::Result<Vec<_>>>()?;
        for a in fs::read_dir(&self.blobs)? {
            let a = a?;
            if a.file_name() == "packs" {
                continue;
            }
            for f in fs::read_dir(a.path())? {
                let path = f?.path();
                if path.extension().is_some_and(|e| e == "part") {
                    out.push(path);
                }
            }
        }
        Ok(out)
    }
}

impl FsBlobStore {
    /// Writes a document Diwan made beside its address, then moves it there; `durable` syncs
    /// the file and the directory before returning.
    fn put_made(&self, bytes: &[u8], durable: bool) -> io::Result<Sha256Digest> {
        let hex: String = ring::digest::digest(&SHA256, bytes)
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let digest = Sha256Digest::parse(&hex).map_err(|e| io::Error::other(e.to_string()))?;
        let target = address(&self.made, &digest);
        if target.is_file() {
            return Ok(digest);
        }

        let dir = target
            .parent()
            .ok_or_else(|| io::Error::other("blob path"))?;
        ensure_dir(dir)?;
        // Written beside its address (not in the staging area, which holds uploads only).
        let tmp = dir.join(format!(
            "{}.part",
            diwan_app::ids::new_id().map_err(|e| io::Error::other(e.to_string()))?
        ));
        let written = (|| {
            let mut f = fs::File::create(&tmp)?;
            io::Write::write_all(&mut f, bytes)?;
            if durable {
                f.sync_all()?;
            }
            fs::rename(&tmp, &target)?;
            if durable { sync_dir(dir) } else { Ok(()) }
        })();
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written.map(|()| digest)
    }
}

impl BlobStore for FsBlobStore {
    fn stage(&self) -> io::Result<Box<dyn BlobSink>> {
        Ok(Box::new(Sink {
            memory: Vec::new(),
            budget: self.budget.clone(),
            file: None,
            path: self.staging.join(format!(
                "{}.part",
                diwan_app::ids::new_id().map_err(|e| io::Error::other(e.to_string()))?
            )),
            blobs: self.blobs.clone(),
            pins: self.pins.clone(),
            digest: Context::new(&SHA256),
            size: 0,
            head: Vec::with_capacity(SNIFF_BYTES),
        }))
    }

    fn put(&self, bytes: &[u8]) -> io::Result<Sha256Digest> {
        self.put_made(bytes, true)
    }

    fn put_remakeable(&self, bytes: &[u8]) -> io::Result<Sha256Digest> {
        self.put_made(bytes, false)
    }

    fn open(&self, digest: &Sha256Digest) -> io::Result<Option<Box<dyn ReadSeek>>> {
        for path in [self.path_of(digest), address(&self.made, digest)] {
            if let Some(file) = open_checked(&path, digest)? {
                return Ok(Some(Box::new(file)));
            }
        }
        // Packed content is small: read whole (and checked) by `read`.
        Ok(self
            .read(digest)?
            .map(|bytes| Box::new(io::Cursor::new(bytes)) as Box<dyn ReadSeek>))
    }

    fn scratch(&self) -> io::Result<Box<dyn ScratchFile>> {
        // Beside the documents Diwan made, not among the uploads being staged.
        let path = self.made.join(format!(
            "{}.part",
            diwan_app::ids::new_id().map_err(|e| io::Error::other(e.to_string()))?
        ));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        Ok(Box::new(Scratch {
            file,
            path,
            made: self.made.clone(),
            kept: false,
        }))
    }

    fn forget_made(&self, digest: &Sha256Digest) -> io::Result<()> {
        match fs::remove_file(address(&self.made, digest)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    fn read(&self, digest: &Sha256Digest) -> io::Result<Option<Vec<u8>>> {
        let bytes = match fs::read(self.path_of(digest)) {
            Ok(bytes) => bytes,
            Err(e)
                if e.kind() == io::ErrorKind::NotFound && address(&self.made, digest).is_file() =>
            {
                fs::read(address(&self.made, digest))?
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let mut conn = self.index.conn().map_err(io::Error::other)?;
                let place = with_conn!(&mut conn.conn, |c| c.blob_location(digest.as_str()));
                let place = conn.noting(place).map_err(io::Error::other)?;
                let Some((segment, offset, length)) = place else {
                    return Ok(None);
                };
                let (offset, length) = (
                    u64::try_from(offset).map_err(io::Error::other)?,
                    u64::try_from(length).map_err(io::Error::other)?,
                );
                pack::read(&self.blobs, &segment, offset, length)?
            }
            Err(e) => return Err(e),
        };
        let actual = ring::digest::digest(&SHA256, &bytes);
        if actual.as_ref() != hex_bytes(digest.as_str()).as_slice() {
            return Err(io::Error::other(format!(
                "stored content of {digest} does not match its digest"
            )));
        }
        Ok(Some(bytes))
    }
}

/// SHA-256 of everything `r` gives, read in chunks.
fn sha256_of(r: &mut dyn io::Read) -> io::Result<(Vec<u8>, u64)> {
    let mut ctx = Context::new(&SHA256);
    let mut buf = vec![0u8; 256 * 1024];
    let mut len = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        ctx.update(&buf[..n]);
        len += n as u64;
    }
    Ok((ctx.finish().as_ref().to_vec(), len))
}

/// Opens `path` if it exists, after checking its content against `digest`.
fn open_checked(path: &Path, digest: &Sha256Digest) -> io::Result<Option<File>> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let (actual, _) = sha256_of(&mut file)?;
    if actual != hex_bytes(digest.as_str()) {
        return Err(io::Error::other(format!(
            "stored content of {digest} does not match its digest"
        )));
    }
    io::Seek::seek(&mut file, io::SeekFrom::Start(0))?;
    Ok(Some(file))
}

/// A document being made, as `<made>/<id>.part` until kept.
struct Scratch {
    file: File,
    path: PathBuf,
    made: PathBuf,
    kept: bool,
}

impl io::Read for Scratch {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.file.read(buf)
    }
}

impl io::Write for Scratch {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl io::Seek for Scratch {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        self.file.seek(pos)
    }
}

impl ScratchFile for Scratch {
    fn keep(mut self: Box<Self>) -> io::Result<(Sha256Digest, u64)> {
        self.file.flush()?;
        self.file.sync_all()?;
        io::Seek::seek(&mut self.file, io::SeekFrom::Start(0))?;
        let (digest, len) = sha256_of(&mut self.file)?;
        let digest: [u8; 32] = digest
            .try_into()
            .map_err(|_| io::Error::other("digest length"))?;
        let digest = Sha256Digest::from_bytes(&digest);
        self.move_to_address(&digest)?;
        Ok((digest, len))
    }

    fn keep_as(mut self: Box<Self>, digest: &Sha256Digest, len: u64) -> io::Result<()> {
        self.file.flush()?;
        self.file.sync_all()?;
        let actual = self.file.metadata()?.len();
        if actual != len {
            return Err(io::Error::other(format!(
                "the file holds {actual} bytes, {len} were declared"
            )));
        }
        self.move_to_address(digest)
    }
}

impl Scratch {
    /// Renames the (synced) file to its content address and syncs the directory.
    fn move_to_address(&mut self, digest: &Sha256Digest) -> io::Result<()> {
        let target = address(&self.made, digest);
        let dir = target
            .parent()
            .ok_or_else(|| io::Error::other("blob path"))?;
        ensure_dir(dir)?;
        fs::rename(&self.path, &target)?;
        self.kept = true;
        sync_dir(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !self.kept {
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
        .collect()
}

fn address(blobs: &Path, digest: &Sha256Digest) -> PathBuf {
    let d = digest.as_str();
    blobs.join(&d[0..2]).join(d)
}

struct Sink {
    /// The upload while it is small.
    memory: Vec<u8>,
    /// Accounts for `memory`'s bytes.
    budget: Arc<Budget>,
    /// The staged file once it outgrew memory.
    file: Option<io::BufWriter<File>>,
    path: PathBuf,
    blobs: PathBuf,
    pins: Pins,
    digest: Context,
    size: u64,
    head: Vec<u8>,
}

impl Sink {
    fn spill(&mut self) -> io::Result<&mut io::BufWriter<File>> {
        if self.file.is_none() {
            let file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&self.path)?;
            let mut w = io::BufWriter::with_capacity(64 * 1024, file);
            w.write_all(&self.memory)?;
            self.budget.give_back(self.memory.len());
            self.memory = Vec::new();
            self.file = Some(w);
        }
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("staging file"))
    }
}

impl BlobSink for Sink {
    fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        let in_memory = self.file.is_none()
            && self.memory.len() + chunk.len() <= MEMORY_BYTES
            && self.budget.take(chunk.len());
        if !in_memory {
            self.spill()?.write_all(chunk)?;
        } else {
            self.memory.extend_from_slice(chunk);
        }
        self.digest.update(chunk);
        self.size += chunk.len() as u64;
        let room = SNIFF_BYTES.saturating_sub(self.head.len());
        self.head.extend_from_slice(&chunk[..room.min(chunk.len())]);
        Ok(())
    }

    fn written(&self) -> u64 {
        self.size
    }

    fn finish(mut self: Box<Self>, declared_type: Option<&str>) -> io::Result<Box<dyn StagedBlob>> {
        let digest: [u8; 32] = self
            .digest
            .clone()
            .finish()
            .as_ref()
            .try_into()
            .map_err(|_| io::Error::other("digest length"))?;
        let sha256 = Sha256Digest::from_bytes(&digest);
        let target = address(&self.blobs, &sha256);
        let memory = if self.file.is_none() {
            // The budget taken for these bytes moves with them to the staged blob.
            Some(std::mem::take(&mut self.memory))
        } else {
            let file = self.spill()?;
            file.flush()?;
            file.get_ref().sync_all()?;
            self.file = None;
            None
        };
        *self
            .pins
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(sha256.as_str().to_owned())
            .or_default() += 1;
        let path = std::mem::take(&mut self.path);
        Ok(Box::new(Staged {
            staged: memory.is_none().then_some(path),
            memory,
            budget: self.budget.clone(),
            target,
            media_type: media_type(&self.head, declared_type),
            detected: infer::get(&self.head).is_some(),
            size: self.size,
            sha256,
            pins: self.pins.clone(),
        }))
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.budget.give_back(self.memory.len());
        if self.file.take().is_some() || (!self.path.as_os_str().is_empty() && self.path.exists()) {
            let _ = fs::remove_file(&self.path);
        }
    }
}

struct Staged {
    /// The staged file, until it is promoted.
    staged: Option<PathBuf>,
    /// The content, when small enough to be packed by the writer.
    memory: Option<Vec<u8>>,
    budget: Arc<Budget>,
    target: PathBuf,
    media_type: String,
    /// Whether `media_type` comes from the content (not from the client's declaration).
    detected: bool,
    size: u64,
    sha256: Sha256Digest,
    pins: Pins,
}

impl std::fmt::Debug for Staged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Staged")
            .field("sha256", &self.sha256)
            .field("size", &self.size)
            .field("in_memory", &self.memory.is_some())
            .finish_non_exhaustive()
    }
}

impl StagedBlob for Staged {
    fn bytes(&self) -> Option<&[u8]> {
        self.memory.as_deref()
    }

    fn sha256(&self) -> &Sha256Digest {
        &self.sha256
    }

    fn size(&self) -> u64 {
        self.size
    }

    fn media_type(&self) -> &str {
        &self.media_type
    }

    fn detected_type(&self) -> Option<&str> {
        self.detected.then_some(self.media_type.as_str())
    }

    fn reader(&self) -> io::Result<Box<dyn ReadSeek + '_>> {
        if let Some(bytes) = &self.memory {
            return Ok(Box::new(io::Cursor::new(bytes.as_slice())));
        }
        let path = self.staged.as_ref().unwrap_or(&self.target);
        Ok(Box::new(File::open(path)?))
    }

    fn promote(&mut self) -> io::Result<()> {
        let Some(staged) = self.staged.as_ref() else {
            return Ok(());
        };
        let dir = self
            .target
            .parent()
            .ok_or_else(|| io::Error::other("blob path"))?;
        ensure_dir(dir)?;
        fs::rename(staged, &self.target)?;
        sync_dir(dir)?;
        self.staged = None;
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(memory) = self.memory.take() {
            self.budget.give_back(memory.len());
        }
        if let Some(path) = self.staged.take() {
            let _ = fs::remove_file(path);
        }
        let mut pins = self.pins.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = pins.get_mut(self.sha256.as_str()) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                pins.remove(self.sha256.as_str());
            }
        }
    }
}

/// Creates a fan-out directory if needed, durably.
fn ensure_dir(dir: &Path) -> io::Result<()> {
    if !dir.is_dir() {
        fs::create_dir_all(dir)?;
        if let Some(parent) = dir.parent() {
            sync_dir(parent)?;
        }
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The media type from the content's signature; else the client's declaration when it is a
/// plausible `type/subtype`; else `application/octet-stream`.
fn media_type(head: &[u8], declared: Option<&str>) -> String {
    if let Some(kind) = infer::get(head) {
        return kind.mime_type().to_owned();
    }
    let plausible = |t: &str| {
        let mut parts = t.split('/');
        let ok = |p: Option<&str>| {
            p.is_some_and(|p| {
                !p.is_empty()
                    && p.len() <= 64
                    && p.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
            })
        };
        ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
    };
    declared
        .map(|d| {
            d.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|d| plausible(d))
        .unwrap_or_else(|| "application/octet-stream".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_in_memory_large_staged_promoted_and_deduplicated() {
        let dir =
            std::env::temp_dir().join(format!("diwan-blobs-{}", diwan_app::ids::new_id().unwrap()));
        let db = Database::open(&format!("sqlite://{}", dir.join("t.db").display()), 1).unwrap();
        db.migrate().unwrap();
        let store = FsBlobStore::open(&dir, db).unwrap();
        let write = |data: &[u8]| {
            let mut sink = store.stage().unwrap();
            for chunk in data.chunks(10_000) {
                sink.write(chunk).unwrap();
            }
            sink.finish(Some("text/plain")).unwrap()
        };
        let mut small = write(b"%PDF-1.7 hello");
        assert_eq!(small.media_type(), "application/pdf");
        assert_eq!(small.bytes(), Some(&b"%PDF-1.7 hello"[..]));
        assert!(
            store.staged().unwrap().is_empty(),
            "small content creates no file"
        );
        small.promote().unwrap();
        assert!(
            store.list().unwrap().is_empty(),
            "small content is packed by the writer, not here"
        );

        let large = vec![7u8; MEMORY_BYTES + 1];
        let mut a = write(&large);
        assert!(a.bytes().is_none());
        assert_eq!(a.media_type(), "text/plain");
        assert_eq!(store.staged().unwrap().len(), 1);
        a.promote().unwrap();
        assert_eq!(store.read(a.sha256()).unwrap().unwrap(), large);
        let mut b = write(&large);
        b.promote().unwrap();
        assert_eq!(store.list().unwrap().len(), 1);
        drop(write(&vec![8u8; MEMORY_BYTES + 1]));
        assert!(
            store.staged().unwrap().is_empty(),
            "a dropped staged file is removed"
        );
        {
            let mut sink = store.stage().unwrap();
            sink.write(&large).unwrap();
        }
        assert!(
            store.staged().unwrap().is_empty(),
            "an abandoned upload is removed"
        );
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn the_memory_budget_sends_uploads_to_disk_when_spent() {
        let dir = std::env::temp_dir().join(format!(
            "diwan-budget-{}",
            diwan_app::ids::new_id().unwrap()
        ));
        let db = Database::open(&format!("sqlite://{}", dir.join("t.db").display()), 1).unwrap();
        let store = FsBlobStore::open(&dir, db)
            .unwrap()
            .with_memory_budget(1000);
        let write = |n: usize| {
            let mut sink = store.stage().unwrap();
            sink.write(&vec![b'x'; n]).unwrap();
            sink.finish(None).unwrap()
        };
        let a = write(600);
        assert!(a.bytes().is_some());
        let b = write(600);
        assert!(b.bytes().is_none(), "over budget: staged on disk");
        drop(a);
        let c = write(600);
        assert!(
            c.bytes().is_some(),
            "the budget is given back when a blob is dropped"
        );
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn media_types() {
        assert_eq!(
            media_type(b"zzz", Some("text/html; charset=utf-8")),
            "text/html"
        );
        assert_eq!(
            media_type(b"zzz", Some("<script>")),
            "application/octet-stream"
        );
        assert_eq!(media_type(b"zzz", None), "application/octet-stream");
    }
}
