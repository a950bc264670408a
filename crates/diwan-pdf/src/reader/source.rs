//! Random access to the file through one bounded window: whatever the file's size, the reader
//! holds at most one window (and what it decodes) in memory.

use std::io::{self, Read, Seek, SeekFrom};

/// Smallest read: small objects close together come from one read.
const MIN_READ: usize = 16 * 1024;

pub(crate) struct Source<R> {
    inner: R,
    len: u64,
    window: Vec<u8>,
    window_at: u64,
}

impl<R: Read + Seek> Source<R> {
    pub(crate) fn new(mut inner: R) -> io::Result<Self> {
        let len = inner.seek(SeekFrom::End(0))?;
        Ok(Self {
            inner,
            len,
            window: Vec::new(),
            window_at: 0,
        })
    }

    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Up to `n` bytes from `pos` (fewer at the end of the file).
    pub(crate) fn read(&mut self, pos: u64, n: usize) -> io::Result<&[u8]> {
        let pos = pos.min(self.len);
        let want = usize::try_from((self.len - pos).min(n as u64)).unwrap_or(n);
        let in_window =
            pos >= self.window_at && pos + want as u64 <= self.window_at + self.window.len() as u64;
        if !in_window {
            let size =
                usize::try_from((self.len - pos).min(want.max(MIN_READ) as u64)).unwrap_or(want);
            self.inner.seek(SeekFrom::Start(pos))?;
            if self.window.capacity() > (1 << 20) && self.window.capacity() > 4 * size {
                // A large stream was read before: do not keep its buffer for small reads.
                self.window = Vec::new();
            }
            self.window.clear();
            self.window.resize(size, 0);
            let mut filled = 0;
            while filled < size {
                match self.inner.read(&mut self.window[filled..]) {
                    Ok(0) => break,
                    Ok(k) => filled += k,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            self.window.truncate(filled);
            self.window_at = pos;
            // The file shrank under us: believe what can be read.
            if filled < size {
                self.len = pos + filled as u64;
            }
        }
        let start = usize::try_from(pos - self.window_at).unwrap_or(0);
        let end = (start + want).min(self.window.len());
        Ok(&self.window[start..end])
    }

    /// Whether `pos + n` reaches the end of the file.
    pub(crate) fn reaches_end(&self, pos: u64, n: usize) -> bool {
        pos.saturating_add(n as u64) >= self.len
    }

    /// Copies `len` bytes from `pos` to `out` in chunks, bypassing the window.
    pub(crate) fn copy_to(
        &mut self,
        pos: u64,
        len: u64,
        out: &mut dyn io::Write,
        mut tick: impl FnMut() -> io::Result<()>,
    ) -> io::Result<()> {
        if pos.saturating_add(len) > self.len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "stream beyond the end of the file",
            ));
        }
        self.inner.seek(SeekFrom::Start(pos))?;
        let mut buf = vec![0u8; 256 * 1024];
        let mut left = len;
        while left > 0 {
            tick()?;
            let n = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
            self.inner.read_exact(&mut buf[..n])?;
            out.write_all(&buf[..n])?;
            left -= n as u64;
        }
        // The window no longer matches the file position; it is still valid content.
        Ok(())
    }
}
