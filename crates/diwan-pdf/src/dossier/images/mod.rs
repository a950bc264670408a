//! Scanned images as pages, at their physical size.
//!
//! - JPEG: the file itself becomes a `DCTDecode` image, byte for byte (no recompression).
//! - PNG without alpha, not interlaced: its `IDAT` data becomes a `FlateDecode` image with the
//!   PNG predictor (no decoding). With alpha, or interlaced: decoded row by row, colour and
//!   alpha written as a `FlateDecode` image and its soft mask.
//! - TIFF, every page: CCITT fax strips and JPEG strips as they are (`CCITTFaxDecode`,
//!   `DCTDecode`); uncompressed, LZW, Deflate and PackBits data decoded strip by strip and
//!   re-compressed losslessly with Flate, one row in memory at a time.
//!
//! Only headers are parsed before writing ([`plan`]); what is copied is streamed. A resolution
//! the file does not give is `default_dpi`.

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::time::Instant;

use super::write::{Appender, num};

mod jpeg;
mod png;
mod tiff;

use crate::PdfError;
use jpeg::JpegInfo;
use png::PngInfo;
use tiff::TiffFrame;

/// The dictionary of an image XObject: its size, colour space and bits per component, then
/// `rest` (the filter and its parameters, a decode array, a soft mask), which starts with a space.
pub(super) fn image_dict(
    width: impl std::fmt::Display,
    height: impl std::fmt::Display,
    space: &str,
    bits: impl std::fmt::Display,
    rest: &str,
) -> Vec<u8> {
    format!(
        "/Type /XObject /Subtype /Image /Width {width} /Height {height} /ColorSpace {space} /BitsPerComponent {bits}{rest}"
    )
    .into_bytes()
}

/// A source: any `Read + Seek`.
pub trait ReadSeek: Read + Seek {}
impl<T: Read + Seek> ReadSeek for T {}

/// Most TIFF pages, strips per page, PNG chunks and JPEG segments looked at.
pub(super) const MAX_FRAMES: usize = 1000;
pub(super) const MAX_STRIPS: usize = 100_000;
pub(super) const MAX_CHUNKS: usize = 200_000;
pub(super) const MAX_SEGMENTS: usize = 10_000;
/// Largest image decoded whole (an interlaced PNG).
pub(super) const MAX_DECODED: u64 = 64 * 1024 * 1024;
/// The largest page side PDF allows, in points.
pub(super) const MAX_SIDE: f64 = 14_400.0;

/// A raster file understood well enough to be written as pages.
#[derive(Debug, Clone)]
pub(crate) enum Raster {
    Jpeg(JpegInfo),
    Png(PngInfo),
    Tiff(Vec<TiffFrame>),
}

impl Raster {
    pub(crate) fn pages(&self) -> usize {
        match self {
            Self::Jpeg(_) | Self::Png(_) => 1,
            Self::Tiff(frames) => frames.len(),
        }
    }
}

pub(super) fn read_at(src: &mut dyn ReadSeek, pos: u64, n: usize) -> io::Result<Vec<u8>> {
    src.seek(SeekFrom::Start(pos))?;
    let mut buf = Vec::with_capacity(n);
    src.take(n as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

pub(super) fn len_of(src: &mut dyn ReadSeek) -> io::Result<u64> {
    src.seek(SeekFrom::End(0))
}

/// Why an image cannot be a page (shown on the dossier's page for it).
pub(crate) type Refusal = String;

/// Reads what is needed of `media_type` content to write it.
pub(crate) fn plan(media_type: &str, src: &mut dyn ReadSeek) -> Result<Raster, Refusal> {
    let r = match media_type {
        "image/jpeg" => jpeg::info(src).map(Raster::Jpeg),
        "image/png" => png::info(src).map(Raster::Png),
        "image/tiff" => tiff::frames(src).map(Raster::Tiff),
        other => Err(Bad::Refused(format!(
            "{other} is not an image this dossier embeds"
        ))),
    };
    r.map_err(|e| match e {
        Bad::Io(e) => format!("reading the file: {e}"),
        Bad::Refused(why) => why,
    })
}

pub(super) enum Bad {
    Io(io::Error),
    Refused(String),
}

impl From<io::Error> for Bad {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

pub(super) fn refuse<T>(why: impl Into<String>) -> Result<T, Bad> {
    Err(Bad::Refused(why.into()))
}

/// The page's size in points for `w × h` pixels at `dpi` (or the default), kept within PDF's
/// limits.
pub(super) fn page_size(w: u32, h: u32, dpi: Option<(f64, f64)>, default: u32) -> (f64, f64) {
    let ok = |d: f64| (10.0..=10_000.0).contains(&d);
    let (dx, dy) = match dpi {
        Some((x, y)) if ok(x) && ok(y) => (x, y),
        _ => (f64::from(default), f64::from(default)),
    };
    let (mut pw, mut ph) = (f64::from(w) * 72.0 / dx, f64::from(h) * 72.0 / dy);
    let over = (pw / MAX_SIDE).max(ph / MAX_SIDE);
    if over > 1.0 {
        pw /= over;
        ph /= over;
    }
    (pw.max(1.0), ph.max(1.0))
}

/// Writes a page holding `images` (XObject number and its rectangle `[x, y, w, h]` in points).
pub(super) fn image_page<W: Write>(
    a: &mut Appender<W>,
    parent: u32,
    size: (f64, f64),
    images: &[(u32, [f64; 4])],
) -> io::Result<u32> {
    let mut content = String::new();
    let mut names = String::new();
    for (i, (xobject, [x, y, w, h])) in images.iter().enumerate() {
        content.push_str(&format!(
            "q {} 0 0 {} {} {} cm /Im{i} Do Q\n",
            num(*w),
            num(*h),
            num(*x),
            num(*y)
        ));
        names.push_str(&format!("/Im{i} {xobject} 0 R "));
    }
    let contents = a.alloc();
    a.object(
        contents,
        format!(
            "<</Length {}>>\nstream\n{content}\nendstream",
            content.len()
        )
        .as_bytes(),
    )?;
    let page = a.alloc();
    a.object(
        page,
        format!(
            "<</Type /Page /Parent {parent} 0 R /MediaBox [0 0 {} {}] /Resources <</XObject <<{names}>>>> /Contents {contents} 0 R>>",
            num(size.0),
            num(size.1)
        )
        .as_bytes(),
    )?;
    Ok(page)
}

/// Checks the deadline between chunks.
pub(super) fn check(deadline: Option<Instant>) -> io::Result<()> {
    match deadline {
        Some(d) if Instant::now() >= d => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the dossier took longer than allowed",
        )),
        _ => Ok(()),
    }
}

/// Copies `len` bytes from `pos`, optionally reversing the bits of each byte.
pub(super) fn copy_range<W: Write>(
    src: &mut dyn ReadSeek,
    pos: u64,
    len: u64,
    out: &mut W,
    reverse_bits: bool,
    deadline: Option<Instant>,
) -> io::Result<()> {
    src.seek(SeekFrom::Start(pos))?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut left = len;
    while left > 0 {
        check(deadline)?;
        let n = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
        src.read_exact(&mut buf[..n])?;
        if reverse_bits {
            for b in &mut buf[..n] {
                *b = b.reverse_bits();
            }
        }
        out.write_all(&buf[..n])?;
        left -= n as u64;
    }
    Ok(())
}

/// Writes the raster's pages; returns their object numbers.
pub(crate) fn write<W: Write>(
    raster: &Raster,
    src: &mut dyn ReadSeek,
    a: &mut Appender<W>,
    parent: u32,
    default_dpi: u32,
    deadline: Option<Instant>,
) -> Result<Vec<u32>, PdfError> {
    let io = |e: io::Error| PdfError::Io(e.to_string());
    match raster {
        Raster::Jpeg(j) => Ok(vec![
            jpeg::write(j, src, a, parent, default_dpi, deadline).map_err(io)?,
        ]),
        Raster::Png(p) => Ok(vec![
            png::write(p, src, a, parent, default_dpi, deadline).map_err(io)?,
        ]),
        Raster::Tiff(frames) => frames
            .iter()
            .map(|f| tiff::write_frame(f, src, a, parent, default_dpi, deadline).map_err(io))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_follow_the_resolution_and_stay_within_limits() {
        let (w, h) = page_size(1654, 2339, Some((200.0, 200.0)), 300);
        assert!(
            (w - 595.44).abs() < 0.1 && (h - 842.04).abs() < 0.1,
            "{w} {h}"
        );
        let (w, _) = page_size(1654, 2339, None, 200);
        assert!((w - 595.44).abs() < 0.1);
        let (w, h) = page_size(1_000_000, 10, Some((1.0, 1.0)), 200);
        assert!(w <= MAX_SIDE && h >= 1.0);
    }
}
