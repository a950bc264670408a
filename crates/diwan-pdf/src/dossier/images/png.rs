//! PNG: `IDAT` data passed through with the PNG predictor, or decoded row by row (alpha,
//! interlacing) and written again with Flate.

use std::io::{self, Read, SeekFrom, Write};
use std::time::Instant;

use super::MAX_CHUNKS;
use super::MAX_DECODED;
use super::{Bad, ReadSeek, check, copy_range, image_page, page_size, read_at, refuse};
use crate::dossier::write::Appender;

#[derive(Debug, Clone)]
pub(crate) struct PngInfo {
    width: u32,
    height: u32,
    depth: u8,
    color: u8,
    interlaced: bool,
    palette: Vec<u8>,
    dpi: Option<(f64, f64)>,
    /// `IDAT` data: (offset, length).
    idat: Vec<(u64, u32)>,
}

impl PngInfo {
    fn channels(&self) -> usize {
        match self.color {
            2 => 3,
            4 => 2,
            6 => 4,
            _ => 1,
        }
    }

    fn has_alpha(&self) -> bool {
        matches!(self.color, 4 | 6)
    }

    fn row_bytes(&self) -> usize {
        (self.width as usize * self.channels() * usize::from(self.depth)).div_ceil(8)
    }
}

pub(super) fn info(src: &mut dyn ReadSeek) -> Result<PngInfo, Bad> {
    if read_at(src, 0, 8)? != b"\x89PNG\r\n\x1a\n" {
        return refuse("not a PNG file");
    }
    let mut info: Option<PngInfo> = None;
    let mut pos = 8u64;
    for _ in 0..MAX_CHUNKS {
        let head = read_at(src, pos, 8)?;
        if head.len() < 8 {
            return refuse("damaged PNG: cut short");
        }
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let kind = &head[4..8];
        let data = pos + 8;
        match (kind, info.as_mut()) {
            (b"IHDR", None) => {
                let h = read_at(src, data, 13)?;
                if h.len() < 13 {
                    return refuse("damaged PNG header");
                }
                let be = |i: usize| u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
                let (width, height, depth, color) = (be(0), be(4), h[8], h[9]);
                let valid = match color {
                    0 => matches!(depth, 1 | 2 | 4 | 8 | 16),
                    3 => matches!(depth, 1 | 2 | 4 | 8),
                    2 | 4 | 6 => matches!(depth, 8 | 16),
                    _ => false,
                };
                if !valid || width == 0 || height == 0 || width > 1 << 24 || height > 1 << 24 {
                    return refuse("PNG with an invalid header");
                }
                info = Some(PngInfo {
                    width,
                    height,
                    depth,
                    color,
                    interlaced: h[12] == 1,
                    palette: Vec::new(),
                    dpi: None,
                    idat: Vec::new(),
                });
            }
            (b"PLTE", Some(i)) => i.palette = read_at(src, data, len.min(768) as usize)?,
            (b"pHYs", Some(i)) => {
                let p = read_at(src, data, 9)?;
                if p.len() == 9 && p[8] == 1 {
                    let ppm = |k: usize| {
                        f64::from(u32::from_be_bytes([p[k], p[k + 1], p[k + 2], p[k + 3]]))
                    };
                    i.dpi = Some((ppm(0) * 0.0254, ppm(4) * 0.0254));
                }
            }
            (b"IDAT", Some(i)) => i.idat.push((data, len)),
            (b"IEND", Some(_)) => break,
            (_, None) => return refuse("damaged PNG: no header first"),
            _ => {}
        }
        pos = data + u64::from(len) + 4;
    }
    let Some(info) = info else {
        return refuse("damaged PNG");
    };
    if info.idat.is_empty() {
        return refuse("PNG without image data");
    }
    if info.color == 3 && (info.palette.len() < 3 || info.palette.len() % 3 != 0) {
        return refuse("PNG palette missing");
    }
    let decoded = u64::from(info.width)
        * u64::from(info.height)
        * info.channels() as u64
        * u64::from(info.depth)
        / 8;
    if info.interlaced && (info.depth < 8 || decoded > MAX_DECODED) {
        return refuse("interlaced PNG too large (or below 8 bits) to convert");
    }
    Ok(info)
}

fn png_color_space(p: &PngInfo) -> String {
    match p.color {
        0 | 4 => "/DeviceGray".to_owned(),
        3 => {
            let n = p.palette.len() / 3;
            format!(
                "[/Indexed /DeviceRGB {} <{}>]",
                n.saturating_sub(1),
                crate::syntax::hex(&p.palette)
            )
        }
        _ => "/DeviceRGB".to_owned(),
    }
}

pub(super) fn write<W: Write>(
    p: &PngInfo,
    src: &mut dyn ReadSeek,
    a: &mut Appender<W>,
    parent: u32,
    default_dpi: u32,
    deadline: Option<Instant>,
) -> io::Result<u32> {
    let space = png_color_space(p);
    let image = a.alloc();
    let passthrough = !p.interlaced && !p.has_alpha();
    let smask = if p.has_alpha() {
        Some(write_png_plane(p, src, a, Plane::Alpha, deadline)?)
    } else {
        None
    };
    let smask_entry = smask
        .map(|m| format!(" /SMask {m} 0 R"))
        .unwrap_or_default();
    let head = |a: &mut Appender<W>, filter: String, len: Option<u64>| {
        a.begin_stream(
            image,
            &super::image_dict(
                p.width,
                p.height,
                &space,
                p.depth,
                &format!(" {filter}{smask_entry}"),
            ),
            len,
        )
    };
    if passthrough {
        let total: u64 = p.idat.iter().map(|(_, l)| u64::from(*l)).sum();
        let filter = format!(
            "/Filter /FlateDecode /DecodeParms <</Predictor 15 /Colors {} /BitsPerComponent {} /Columns {}>>",
            p.channels(),
            p.depth,
            p.width
        );
        let started = head(a, filter, Some(total))?;
        for (at, len) in &p.idat {
            copy_range(src, *at, u64::from(*len), a, false, deadline)?;
        }
        a.end_stream(started)?;
    } else {
        let started = head(a, "/Filter /FlateDecode".to_owned(), None)?;
        plane_data(p, src, a, Plane::Color, deadline)?;
        a.end_stream(started)?;
    }
    let size = page_size(p.width, p.height, p.dpi, default_dpi);
    image_page(a, parent, size, &[(image, [0.0, 0.0, size.0, size.1])])
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Plane {
    Color,
    Alpha,
}

fn write_png_plane<W: Write>(
    p: &PngInfo,
    src: &mut dyn ReadSeek,
    a: &mut Appender<W>,
    plane: Plane,
    deadline: Option<Instant>,
) -> io::Result<u32> {
    let mask = a.alloc();
    let started = a.begin_stream(
        mask,
        &super::image_dict(
            p.width,
            p.height,
            "/DeviceGray",
            p.depth,
            " /Filter /FlateDecode",
        ),
        None,
    )?;
    plane_data(p, src, a, plane, deadline)?;
    a.end_stream(started)?;
    Ok(mask)
}

/// The `IDAT` chunks read as one stream.
struct Idat<'a> {
    src: &'a mut dyn ReadSeek,
    chunks: &'a [(u64, u32)],
    index: usize,
    left: u64,
}

impl Read for Idat<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.left == 0 {
            let Some((at, len)) = self.chunks.get(self.index) else {
                return Ok(0);
            };
            self.src.seek(SeekFrom::Start(*at))?;
            self.left = u64::from(*len);
            self.index += 1;
        }
        let n = usize::try_from(self.left.min(buf.len() as u64)).unwrap_or(buf.len());
        let got = self.src.read(&mut buf[..n])?;
        if got == 0 {
            self.left = 0;
            return Ok(0);
        }
        self.left -= got as u64;
        Ok(got)
    }
}

/// Decodes the image and writes one plane (colour channels, or alpha), Flate-compressed.
/// Damaged data gives rows of zeros rather than an error: the page stays well-formed.
fn plane_data<W: Write>(
    p: &PngInfo,
    src: &mut dyn ReadSeek,
    a: &mut Appender<W>,
    plane: Plane,
    deadline: Option<Instant>,
) -> io::Result<()> {
    let mut z = flate2::write::ZlibEncoder::new(&mut *a, flate2::Compression::fast());
    let bps = usize::from(p.depth).div_ceil(8);
    let channels = p.channels();
    let keep = |row: &[u8], out: &mut Vec<u8>| {
        out.clear();
        if !p.has_alpha() {
            out.extend_from_slice(row);
            return;
        }
        for px in row.chunks(channels * bps) {
            let (color, alpha) = px.split_at((channels - 1) * bps);
            out.extend_from_slice(if plane == Plane::Color { color } else { alpha });
        }
    };
    let mut out = Vec::new();
    if p.interlaced {
        let full = deinterlace(p, src, deadline)?;
        for row in full.chunks(p.row_bytes()) {
            keep(row, &mut out);
            z.write_all(&out)?;
        }
    } else {
        let reader = Idat {
            src,
            chunks: &p.idat,
            index: 0,
            left: 0,
        };
        let mut rows = flate2::read::ZlibDecoder::new(io::BufReader::new(reader));
        let stride = p.row_bytes();
        let bpp = (channels * usize::from(p.depth)).div_ceil(8).max(1);
        let mut prev = vec![0u8; stride];
        let mut cur = vec![0u8; stride + 1];
        let mut broken = false;
        for y in 0..p.height {
            if y % 256 == 0 {
                check(deadline)?;
            }
            if broken || rows.read_exact(&mut cur).is_err() {
                broken = true;
                cur.fill(0);
            }
            let (kind, data) = cur.split_at_mut(1);
            crate::reader::unfilter_row(kind[0], data, &prev, bpp);
            keep(data, &mut out);
            z.write_all(&out)?;
            prev.copy_from_slice(data);
        }
    }
    z.finish()?;
    Ok(())
}

/// An interlaced PNG (8 or 16 bits) decoded whole; bounded by `MAX_DECODED` in [`png_info`].
fn deinterlace(
    p: &PngInfo,
    src: &mut dyn ReadSeek,
    deadline: Option<Instant>,
) -> io::Result<Vec<u8>> {
    const PASSES: [(usize, usize, usize, usize); 7] = [
        (0, 0, 8, 8),
        (4, 0, 8, 8),
        (0, 4, 4, 8),
        (2, 0, 4, 4),
        (0, 2, 2, 4),
        (1, 0, 2, 2),
        (0, 1, 1, 2),
    ];
    let (w, h) = (p.width as usize, p.height as usize);
    let bpp = p.channels() * usize::from(p.depth) / 8;
    let mut full = vec![0u8; w * h * bpp];
    let reader = Idat {
        src,
        chunks: &p.idat,
        index: 0,
        left: 0,
    };
    let mut rows = flate2::read::ZlibDecoder::new(io::BufReader::new(reader));
    for (x0, y0, dx, dy) in PASSES {
        check(deadline)?;
        let pw = w.saturating_sub(x0).div_ceil(dx);
        let ph = h.saturating_sub(y0).div_ceil(dy);
        if pw == 0 || ph == 0 {
            continue;
        }
        let stride = pw * bpp;
        let mut prev = vec![0u8; stride];
        let mut cur = vec![0u8; stride + 1];
        for r in 0..ph {
            if rows.read_exact(&mut cur).is_err() {
                return Ok(full);
            }
            let (kind, data) = cur.split_at_mut(1);
            crate::reader::unfilter_row(kind[0], data, &prev, bpp);
            let y = y0 + r * dy;
            for c in 0..pw {
                let x = x0 + c * dx;
                let to = (y * w + x) * bpp;
                full[to..to + bpp].copy_from_slice(&data[c * bpp..(c + 1) * bpp]);
            }
            prev.copy_from_slice(data);
        }
    }
    Ok(full)
}
