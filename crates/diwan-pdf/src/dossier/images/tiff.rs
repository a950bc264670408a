//! TIFF: every page; fax and JPEG strips as they are, other compressions decoded strip by
//! strip and written again with Flate.

use std::io::{self, Read, SeekFrom, Write};
use std::time::Instant;

use super::{Bad, ReadSeek, check, copy_range, image_page, page_size, read_at, refuse};
use super::{MAX_FRAMES, MAX_STRIPS};
use crate::dossier::write::Appender;

#[derive(Debug, Clone)]
pub(crate) struct TiffFrame {
    width: u32,
    height: u32,
    bps: u16,
    spp: u16,
    photometric: u16,
    compression: u16,
    predictor: u16,
    fill_order: u16,
    t4_options: u64,
    rows_per_strip: u32,
    strips: Vec<(u64, u64)>,
    colormap: Vec<u64>,
    jpeg_tables: Option<(u64, u64)>,
    dpi: Option<(f64, f64)>,
    little: bool,
}

impl TiffFrame {
    /// Colour channels (without extra samples).
    fn channels(&self) -> u16 {
        match self.photometric {
            2 | 6 => 3,
            5 => 4,
            _ => 1,
        }
    }

    fn row_bytes(&self) -> usize {
        (self.width as usize * usize::from(self.spp) * usize::from(self.bps)).div_ceil(8)
    }

    fn out_row_bytes(&self) -> usize {
        (self.width as usize * usize::from(self.channels()) * usize::from(self.bps)).div_ceil(8)
    }
}

struct Tiff<'a> {
    src: &'a mut dyn ReadSeek,
    little: bool,
}

impl Tiff<'_> {
    fn u16(&self, b: &[u8]) -> u16 {
        let a = [b[0], b[1]];
        if self.little {
            u16::from_le_bytes(a)
        } else {
            u16::from_be_bytes(a)
        }
    }

    fn u32(&self, b: &[u8]) -> u32 {
        let a = [b[0], b[1], b[2], b[3]];
        if self.little {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    }

    /// The values of a 12-byte directory entry (integers; rationals as numerator, denominator).
    fn values(&mut self, e: &[u8], max: usize) -> Result<Vec<u64>, Bad> {
        let kind = self.u16(&e[2..4]);
        let count = self.u32(&e[4..8]) as usize;
        if count > max {
            return refuse("TIFF tag with too many values");
        }
        let size = match kind {
            1 | 2 | 6 | 7 => 1,
            3 | 8 => 2,
            4 | 9 => 4,
            5 | 10 => 8,
            _ => return Ok(Vec::new()),
        };
        let bytes = if size * count <= 4 {
            e[8..8 + size * count].to_vec()
        } else {
            let at = u64::from(self.u32(&e[8..12]));
            let b = read_at(self.src, at, size * count)?;
            if b.len() < size * count {
                return refuse("damaged TIFF: a tag points past the end");
            }
            b
        };
        Ok(bytes
            .chunks(size)
            .flat_map(|c| match size {
                1 => vec![u64::from(c[0])],
                2 => vec![u64::from(self.u16(c))],
                4 => vec![u64::from(self.u32(c))],
                _ => vec![u64::from(self.u32(&c[..4])), u64::from(self.u32(&c[4..]))],
            })
            .collect())
    }
}

pub(super) fn frames(src: &mut dyn ReadSeek) -> Result<Vec<TiffFrame>, Bad> {
    let head = read_at(src, 0, 8)?;
    let little = match head.get(..4) {
        Some(b"II*\0") => true,
        Some(b"MM\0*") => false,
        Some([b'I', b'I', 43, 0] | [b'M', b'M', 0, 43]) => {
            return refuse("BigTIFF is not supported");
        }
        _ => return refuse("not a TIFF file"),
    };
    let mut t = Tiff { src, little };
    let mut next = u64::from(t.u32(&head[4..8]));
    let mut seen = std::collections::HashSet::new();
    let mut frames = Vec::new();
    while next != 0 {
        if !seen.insert(next) {
            return refuse("damaged TIFF: its pages loop");
        }
        if frames.len() >= MAX_FRAMES {
            return refuse("TIFF with too many pages");
        }
        let count_bytes = read_at(t.src, next, 2)?;
        if count_bytes.len() < 2 {
            return refuse("damaged TIFF: a directory points past the end");
        }
        let count = usize::from(t.u16(&count_bytes));
        if count > 4096 {
            return refuse("damaged TIFF: a directory too large");
        }
        let entries = read_at(t.src, next + 2, count * 12 + 4)?;
        if entries.len() < count * 12 + 4 {
            return refuse("damaged TIFF: a directory cut short");
        }
        frames.push(tiff_frame(&mut t, &entries[..count * 12])?);
        next = u64::from(t.u32(&entries[count * 12..]));
    }
    if frames.is_empty() {
        return refuse("TIFF without pages");
    }
    Ok(frames)
}

fn tiff_frame(t: &mut Tiff<'_>, entries: &[u8]) -> Result<TiffFrame, Bad> {
    let mut f = TiffFrame {
        width: 0,
        height: 0,
        bps: 1,
        spp: 1,
        photometric: u16::MAX,
        compression: 1,
        predictor: 1,
        fill_order: 1,
        t4_options: 0,
        rows_per_strip: u32::MAX,
        strips: Vec::new(),
        colormap: Vec::new(),
        jpeg_tables: None,
        dpi: None,
        little: t.little,
    };
    let (mut offsets, mut counts) = (Vec::new(), Vec::new());
    let (mut xres, mut yres, mut unit) = (None, None, 2u64);
    let mut bps_all = vec![1u64];
    let mut planar = 1;
    for e in entries.chunks(12) {
        let tag = t.u16(&e[0..2]);
        let first = |v: &[u64]| v.first().copied().unwrap_or(0);
        let small = |v: &[u64]| u16::try_from(first(v)).unwrap_or(u16::MAX);
        match tag {
            256 => f.width = u32::try_from(first(&t.values(e, 1)?)).unwrap_or(0),
            257 => f.height = u32::try_from(first(&t.values(e, 1)?)).unwrap_or(0),
            258 => bps_all = t.values(e, 16)?,
            259 => f.compression = small(&t.values(e, 1)?),
            262 => f.photometric = small(&t.values(e, 1)?),
            266 => f.fill_order = small(&t.values(e, 1)?),
            273 => offsets = t.values(e, MAX_STRIPS)?,
            277 => f.spp = small(&t.values(e, 1)?),
            278 => f.rows_per_strip = u32::try_from(first(&t.values(e, 1)?)).unwrap_or(u32::MAX),
            279 => counts = t.values(e, MAX_STRIPS)?,
            282 => xres = rational(&t.values(e, 1)?),
            283 => yres = rational(&t.values(e, 1)?),
            284 => planar = small(&t.values(e, 1)?),
            292 => f.t4_options = first(&t.values(e, 1)?),
            296 => unit = first(&t.values(e, 1)?),
            317 => f.predictor = small(&t.values(e, 1)?),
            320 => f.colormap = t.values(e, 3 * 65536)?,
            322..=325 => return refuse("tiled TIFF is not supported"),
            347 => {
                let kind = t.u16(&e[2..4]);
                let n = u64::from(t.u32(&e[4..8]));
                if kind == 7 && n > 4 {
                    f.jpeg_tables = Some((u64::from(t.u32(&e[8..12])), n));
                }
            }
            _ => {}
        }
    }
    f.dpi = match (xres, yres, unit) {
        (Some(x), Some(y), 2) => Some((x, y)),
        (Some(x), Some(y), 3) => Some((x * 2.54, y * 2.54)),
        _ => None,
    };
    if f.width == 0 || f.height == 0 || f.width > 1 << 20 || f.height > 1 << 20 {
        return refuse("TIFF page without a valid size");
    }
    let bps = bps_all.first().copied().unwrap_or(1);
    if bps_all.iter().any(|&b| b != bps) || !matches!(bps, 1 | 2 | 4 | 8 | 16) {
        return refuse("TIFF with unsupported bits per sample");
    }
    f.bps = u16::try_from(bps).unwrap_or(1);
    if planar == 2 && f.spp > 1 {
        return refuse("TIFF with separate colour planes is not supported");
    }
    if offsets.is_empty() || offsets.len() != counts.len() {
        return refuse("damaged TIFF: strips missing");
    }
    f.strips = offsets.into_iter().zip(counts).collect();
    if f.rows_per_strip == 0 {
        return refuse("damaged TIFF: no rows per strip");
    }
    check_tiff_kind(&f)?;
    Ok(f)
}

fn rational(v: &[u64]) -> Option<f64> {
    match v {
        [n, d, ..] if *d != 0 => Some(*n as f64 / *d as f64),
        _ => None,
    }
}

fn check_tiff_kind(f: &TiffFrame) -> Result<(), Bad> {
    let ccitt = matches!(f.compression, 2..=4);
    let decoded = matches!(f.compression, 1 | 5 | 8 | 32946 | 32773);
    if ccitt && (f.bps != 1 || f.spp != 1 || f.photometric > 1) {
        return refuse("fax TIFF not in 1 bit black and white");
    }
    match f.photometric {
        0..=3 | 5 => {}
        6 if f.compression == 7 => {}
        other => {
            return refuse(format!(
                "TIFF photometric interpretation {other} is not supported"
            ));
        }
    }
    if f.spp < f.channels() {
        return refuse("TIFF with fewer samples than its colours need");
    }
    if f.spp > f.channels() && (!decoded || f.bps < 8) {
        return refuse("TIFF with extra samples in this compression is not supported");
    }
    if f.photometric == 3 && f.colormap.len() < 3 << f.bps {
        return refuse("TIFF palette missing");
    }
    if !ccitt && !decoded && f.compression != 7 {
        return refuse(format!(
            "TIFF compression {} is not supported",
            f.compression
        ));
    }
    if f.predictor != 1 && !(f.predictor == 2 && f.bps == 8 && decoded) {
        return refuse("TIFF predictor not supported");
    }
    Ok(())
}

fn tiff_color_space(f: &TiffFrame) -> String {
    match f.photometric {
        2 | 6 => "/DeviceRGB".to_owned(),
        5 => "/DeviceCMYK".to_owned(),
        3 => {
            let n = 1usize << f.bps;
            let mut rgb = Vec::with_capacity(3 * n);
            for i in 0..n {
                for c in 0..3 {
                    let v = f.colormap.get(c * n + i).copied().unwrap_or(0);
                    rgb.push((v >> 8) as u8);
                }
            }
            format!(
                "[/Indexed /DeviceRGB {} <{}>]",
                n - 1,
                crate::syntax::hex(&rgb)
            )
        }
        _ => "/DeviceGray".to_owned(),
    }
}

pub(super) fn write_frame<W: Write>(
    f: &TiffFrame,
    src: &mut dyn ReadSeek,
    a: &mut Appender<W>,
    parent: u32,
    default_dpi: u32,
    deadline: Option<Instant>,
) -> io::Result<u32> {
    let size = page_size(f.width, f.height, f.dpi, default_dpi);
    let row_pt = size.1 / f64::from(f.height);
    let space = tiff_color_space(f);
    let reverse = f.fill_order == 2;
    let mut images = Vec::new();
    if matches!(f.compression, 2..=4 | 7) {
        // Each strip as it is, as its own image, stacked from the top.
        let rps = f.rows_per_strip.min(f.height);
        for (i, (at, len)) in f.strips.iter().enumerate() {
            check(deadline)?;
            let top = u32::try_from(i).unwrap_or(u32::MAX).saturating_mul(rps);
            if top >= f.height {
                break;
            }
            let rows = rps.min(f.height - top);
            let image = a.alloc();
            if f.compression == 7 {
                write_tiff_jpeg_strip(f, src, a, image, rows, &space, (*at, *len), deadline)?;
            } else {
                let k = match f.compression {
                    4 => "-1".to_owned(),
                    3 if f.t4_options & 1 == 1 => "4".to_owned(),
                    _ => "0".to_owned(),
                };
                let mut parms = format!("/K {k} /Columns {} /Rows {rows}", f.width);
                if f.compression == 2 || f.t4_options & 4 == 4 {
                    parms.push_str(" /EncodedByteAlign true");
                }
                let decode = if f.photometric == 1 {
                    " /Decode [1 0]"
                } else {
                    ""
                };
                let started = a.begin_stream(
                    image,
                    &super::image_dict(
                        f.width,
                        rows,
                        "/DeviceGray",
                        1,
                        &format!(" /Filter /CCITTFaxDecode /DecodeParms <<{parms}>>{decode}"),
                    ),
                    Some(*len),
                )?;
                copy_range(src, *at, *len, a, reverse, deadline)?;
                a.end_stream(started)?;
            }
            let y = size.1 - f64::from(top + rows) * row_pt;
            images.push((image, [0.0, y, size.0, f64::from(rows) * row_pt]));
        }
    } else {
        let image = a.alloc();
        let decode = if f.photometric == 0 {
            " /Decode [1 0]"
        } else {
            ""
        };
        let started = a.begin_stream(
            image,
            &super::image_dict(
                f.width,
                f.height,
                &space,
                f.bps,
                &format!(" /Filter /FlateDecode{decode}"),
            ),
            None,
        )?;
        tiff_rows(f, src, a, deadline)?;
        a.end_stream(started)?;
        images.push((image, [0.0, 0.0, size.0, size.1]));
    }
    image_page(a, parent, size, &images)
}

#[expect(clippy::too_many_arguments, reason = "one strip's whole context")]
fn write_tiff_jpeg_strip<W: Write>(
    f: &TiffFrame,
    src: &mut dyn ReadSeek,
    a: &mut Appender<W>,
    image: u32,
    rows: u32,
    space: &str,
    (at, len): (u64, u64),
    deadline: Option<Instant>,
) -> io::Result<()> {
    // Abbreviated strips get the tables: the tables without their EOI, the strip without SOI.
    let tables = f.jpeg_tables.filter(|(_, n)| *n > 4 && len > 2);
    let total = match tables {
        Some((_, n)) => n - 2 + len - 2,
        None => len,
    };
    let transform = if f.photometric == 2 {
        " /DecodeParms <</ColorTransform 0>>"
    } else {
        ""
    };
    let started = a.begin_stream(
        image,
        &super::image_dict(
            f.width,
            rows,
            space,
            8,
            &format!(" /Filter /DCTDecode{transform}"),
        ),
        Some(total),
    )?;
    match tables {
        Some((t_at, t_len)) => {
            copy_range(src, t_at, t_len - 2, a, false, deadline)?;
            copy_range(src, at + 2, len - 2, a, false, deadline)?;
        }
        None => copy_range(src, at, len, a, false, deadline)?,
    }
    a.end_stream(started)?;
    Ok(())
}

/// Decodes every strip into rows (predictor undone, extra samples dropped, 16-bit samples
/// big-endian) and writes them Flate-compressed; missing rows are zeros.
fn tiff_rows<W: Write>(
    f: &TiffFrame,
    src: &mut dyn ReadSeek,
    a: &mut Appender<W>,
    deadline: Option<Instant>,
) -> io::Result<()> {
    let mut sink = Rows {
        f,
        out: flate2::write::ZlibEncoder::new(&mut *a, flate2::Compression::fast()),
        partial: Vec::new(),
        row: Vec::new(),
        done: 0,
        limit: 0,
    };
    let rps = f.rows_per_strip.min(f.height).max(1);
    for (i, (at, len)) in f.strips.iter().enumerate() {
        check(deadline)?;
        let first_row = u32::try_from(i).unwrap_or(u32::MAX).saturating_mul(rps);
        if first_row >= f.height {
            break;
        }
        // Rows a damaged strip before did not give are zeros.
        while sink.done < first_row {
            sink.zero_row()?;
        }
        sink.limit = first_row.saturating_add(rps).min(f.height);
        let raw = StripReader::new(src, *at, *len, f.fill_order == 2)?;
        let result = match f.compression {
            1 => io::copy(&mut io::BufReader::new(raw), &mut sink).map(|_| ()),
            8 | 32946 => io::copy(
                &mut flate2::read::ZlibDecoder::new(io::BufReader::new(raw)),
                &mut sink,
            )
            .map(|_| ()),
            5 => {
                let mut d = weezl::decode::Decoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8);
                d.into_stream(&mut sink)
                    .decode_all(io::BufReader::new(raw))
                    .status
            }
            _ => unpack_bits(raw, &mut sink),
        };
        // A damaged strip ends early; its rows are padded below.
        if let Err(e) = result
            && e.kind() == io::ErrorKind::TimedOut
        {
            return Err(e);
        }
        sink.end_strip(first_row.saturating_add(rps).min(f.height))?;
    }
    while sink.done < f.height {
        sink.zero_row()?;
    }
    sink.out.finish()?;
    Ok(())
}

/// A strip's raw bytes, bits reversed for `FillOrder` 2.
struct StripReader<'a> {
    src: &'a mut dyn ReadSeek,
    left: u64,
    reverse: bool,
}

impl<'a> StripReader<'a> {
    fn new(src: &'a mut dyn ReadSeek, at: u64, len: u64, reverse: bool) -> io::Result<Self> {
        src.seek(SeekFrom::Start(at))?;
        Ok(Self {
            src,
            left: len,
            reverse,
        })
    }
}

impl Read for StripReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = usize::try_from(self.left.min(buf.len() as u64)).unwrap_or(buf.len());
        if n == 0 {
            return Ok(0);
        }
        let got = self.src.read(&mut buf[..n])?;
        if self.reverse {
            for b in &mut buf[..got] {
                *b = b.reverse_bits();
            }
        }
        self.left -= got as u64;
        Ok(got)
    }
}

fn unpack_bits(mut raw: StripReader<'_>, out: &mut Rows<'_, impl Write>) -> io::Result<()> {
    let mut data = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    let mut pending: Option<i8> = None;
    let mut copy_left = 0usize;
    loop {
        let n = raw.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        data.clear();
        for &b in &buf[..n] {
            if copy_left > 0 {
                data.push(b);
                copy_left -= 1;
            } else if let Some(h) = pending.take() {
                data.extend(std::iter::repeat_n(b, (1 - i16::from(h)) as usize));
            } else {
                match b as i8 {
                    h @ 0..=127 => copy_left = h as usize + 1,
                    -128 => {}
                    h => pending = Some(h),
                }
            }
        }
        out.write_all(&data)?;
    }
}

/// Gathers decoded bytes into rows and writes the output rows.
struct Rows<'f, W: Write> {
    f: &'f TiffFrame,
    out: flate2::write::ZlibEncoder<W>,
    partial: Vec<u8>,
    row: Vec<u8>,
    done: u32,
    /// Rows past this one (the current strip's end) are dropped.
    limit: u32,
}

impl<W: Write> Rows<'_, W> {
    fn emit(&mut self) -> io::Result<()> {
        let f = self.f;
        let row = &mut self.partial;
        let spp = usize::from(f.spp);
        if f.predictor == 2 {
            for i in spp..row.len() {
                row[i] = row[i].wrapping_add(row[i - spp]);
            }
        }
        if f.bps == 16 && f.little {
            for pair in row.chunks_exact_mut(2) {
                pair.swap(0, 1);
            }
        }
        self.row.clear();
        if f.spp > f.channels() {
            let size = usize::from(f.bps / 8);
            let keep = usize::from(f.channels()) * size;
            for px in row.chunks(spp * size) {
                self.row.extend_from_slice(&px[..keep.min(px.len())]);
            }
        } else {
            self.row.extend_from_slice(row);
        }
        self.row.resize(f.out_row_bytes(), 0);
        self.out.write_all(&self.row)?;
        self.partial.clear();
        self.done += 1;
        Ok(())
    }

    fn zero_row(&mut self) -> io::Result<()> {
        self.partial.clear();
        self.partial.resize(self.f.row_bytes(), 0);
        self.emit()
    }

    /// A strip holds whole rows: pad a short last row, then missing rows up to `end`.
    fn end_strip(&mut self, end: u32) -> io::Result<()> {
        if !self.partial.is_empty() {
            self.partial.resize(self.f.row_bytes(), 0);
            self.emit()?;
        }
        while self.done < end {
            self.zero_row()?;
        }
        Ok(())
    }
}

impl<W: Write> Write for Rows<'_, W> {
    fn write(&mut self, mut buf: &[u8]) -> io::Result<usize> {
        let n = buf.len();
        let stride = self.f.row_bytes();
        while !buf.is_empty() && self.done < self.limit {
            let take = (stride - self.partial.len()).min(buf.len());
            self.partial.extend_from_slice(&buf[..take]);
            buf = &buf[take..];
            if self.partial.len() == stride {
                self.emit()?;
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packbits_is_unpacked() {
        let mut src = io::Cursor::new(vec![2u8, b'a', b'b', b'c', 0xFE, b'x', 0x80, 0, b'z']);
        let f = TiffFrame {
            width: 7,
            height: 1,
            bps: 8,
            spp: 1,
            photometric: 1,
            compression: 32773,
            predictor: 1,
            fill_order: 1,
            t4_options: 0,
            rows_per_strip: 1,
            strips: vec![(0, 9)],
            colormap: Vec::new(),
            jpeg_tables: None,
            dpi: None,
            little: true,
        };
        let mut out = Vec::new();
        {
            let mut sink = Rows {
                f: &f,
                out: flate2::write::ZlibEncoder::new(&mut out, flate2::Compression::fast()),
                partial: Vec::new(),
                row: Vec::new(),
                done: 0,
                limit: 1,
            };
            let raw = StripReader::new(&mut src, 0, 9, false).unwrap();
            unpack_bits(raw, &mut sink).unwrap();
            sink.out.finish().unwrap();
        }
        let mut plain = Vec::new();
        flate2::read::ZlibDecoder::new(&out[..])
            .read_to_end(&mut plain)
            .unwrap();
        assert_eq!(plain, b"abcxxxz");
    }
}
