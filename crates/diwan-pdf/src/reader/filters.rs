//! Stream decoding with an output budget: FlateDecode (with PNG and TIFF predictors),
//! LZWDecode, ASCIIHexDecode, ASCII85Decode and RunLengthDecode. Image codecs (DCT, JPX,
//! CCITT, JBIG2) are not decoded here.

use super::ReadError;
use super::object::{Dict, Object};

/// Decodes `raw` through the stream's filters; at most `max_out` bytes may come out of any
/// step. `tick` is called between chunks (the caller's deadline).
pub(crate) fn decode(
    raw: Vec<u8>,
    dict: &Dict,
    max_out: usize,
    tick: &mut dyn FnMut() -> Result<(), ReadError>,
) -> Result<Vec<u8>, ReadError> {
    let filters: Vec<Vec<u8>> = match dict.get(b"Filter").or_else(|| dict.get(b"F")) {
        None | Some(Object::Null) => Vec::new(),
        Some(Object::Name(n)) => vec![n.clone()],
        Some(Object::Array(a)) => a
            .iter()
            .filter_map(|f| f.as_name().map(<[u8]>::to_vec))
            .collect(),
        Some(_) => return Err(ReadError::Malformed("bad /Filter".into())),
    };
    if filters.len() > 8 {
        return Err(ReadError::Unsupported("more than 8 filters".into()));
    }
    let params: Vec<Option<Dict>> = match dict.get(b"DecodeParms").or_else(|| dict.get(b"DP")) {
        Some(Object::Dict(d)) => vec![Some(d.clone())],
        Some(Object::Array(a)) => a.iter().map(|p| p.as_dict().cloned()).collect(),
        _ => Vec::new(),
    };
    let mut data = raw;
    for (i, f) in filters.iter().enumerate() {
        tick()?;
        let p = params.get(i).cloned().flatten().unwrap_or_default();
        data = match f.as_slice() {
            b"FlateDecode" | b"Fl" => predict(inflate(&data, max_out, tick)?, &p, max_out)?,
            b"LZWDecode" | b"LZW" => predict(lzw(&data, &p, max_out)?, &p, max_out)?,
            b"ASCIIHexDecode" | b"AHx" => ascii_hex(&data),
            b"ASCII85Decode" | b"A85" => ascii85(&data)?,
            b"RunLengthDecode" | b"RL" => run_length(&data, max_out)?,
            other => {
                return Err(ReadError::Unsupported(format!(
                    "filter {}",
                    String::from_utf8_lossy(&other[..other.len().min(40)])
                )));
            }
        };
        if data.len() > max_out {
            return Err(ReadError::TooLarge("decoded stream"));
        }
    }
    Ok(data)
}

/// zlib (or, failing that, raw deflate) with a cap on the output. A stream cut short keeps
/// what was decoded before the damage, as viewers do.
fn inflate(
    data: &[u8],
    max_out: usize,
    tick: &mut dyn FnMut() -> Result<(), ReadError>,
) -> Result<Vec<u8>, ReadError> {
    let zlib = data.len() >= 2 && (u16::from(data[0]) << 8 | u16::from(data[1])) % 31 == 0;
    let mut out = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let result = if zlib {
        pump(
            flate2::read::ZlibDecoder::new(data),
            &mut out,
            &mut chunk,
            max_out,
            tick,
        )
    } else {
        pump(
            flate2::read::DeflateDecoder::new(data),
            &mut out,
            &mut chunk,
            max_out,
            tick,
        )
    };
    match result {
        Ok(()) => Ok(out),
        Err(ReadError::Io(_)) if !out.is_empty() => Ok(out),
        Err(ReadError::Io(e)) => Err(ReadError::Malformed(format!("deflate: {e}"))),
        Err(e) => Err(e),
    }
}

fn pump(
    mut r: impl std::io::Read,
    out: &mut Vec<u8>,
    chunk: &mut [u8],
    max_out: usize,
    tick: &mut dyn FnMut() -> Result<(), ReadError>,
) -> Result<(), ReadError> {
    loop {
        tick()?;
        let n = r.read(chunk)?;
        if n == 0 {
            return Ok(());
        }
        if out.len() + n > max_out {
            return Err(ReadError::TooLarge("decoded stream"));
        }
        out.extend_from_slice(&chunk[..n]);
    }
}

fn lzw(data: &[u8], p: &Dict, max_out: usize) -> Result<Vec<u8>, ReadError> {
    let early = p.get_int(b"EarlyChange").unwrap_or(1) != 0;
    let mut decoder = if early {
        weezl::decode::Decoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8)
    } else {
        weezl::decode::Decoder::new(weezl::BitOrder::Msb, 8)
    };
    let mut out = Vec::new();
    let mut sink = Capped {
        out: &mut out,
        max: max_out,
    };
    let status = decoder.into_stream(&mut sink).decode_all(data).status;
    match status {
        Ok(_) => Ok(out),
        Err(_) if out.len() > max_out => Err(ReadError::TooLarge("decoded stream")),
        Err(_) if !out.is_empty() => Ok(out),
        Err(e) => Err(ReadError::Malformed(format!("LZW: {e}"))),
    }
}

struct Capped<'a> {
    out: &'a mut Vec<u8>,
    max: usize,
}

impl std::io::Write for Capped<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.out.len() + buf.len() > self.max {
            return Err(std::io::Error::other("over the output budget"));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Undoes a PNG (10–15) or TIFF (2) predictor.
fn predict(data: Vec<u8>, p: &Dict, max_out: usize) -> Result<Vec<u8>, ReadError> {
    let predictor = p.get_int(b"Predictor").unwrap_or(1);
    if predictor <= 1 {
        return Ok(data);
    }
    let param = |key: &[u8], default: i64, max: i64| {
        let v = p.get_int(key).unwrap_or(default);
        if (1..=max).contains(&v) {
            Ok(usize::try_from(v).unwrap_or(1))
        } else {
            Err(ReadError::Malformed("bad predictor parameters".into()))
        }
    };
    let colors = param(b"Colors", 1, 32)?;
    let bpc = param(b"BitsPerComponent", 8, 16)?;
    let columns = param(b"Columns", 1, 1 << 24)?;
    let bpp = (colors * bpc).div_ceil(8).max(1);
    let row = (colors * bpc * columns).div_ceil(8);
    if predictor == 2 {
        if bpc != 8 {
            return Err(ReadError::Unsupported("TIFF predictor below 8 bits".into()));
        }
        let mut data = data;
        for line in data.chunks_mut(row) {
            for i in bpp..line.len() {
                line[i] = line[i].wrapping_add(line[i - bpp]);
            }
        }
        return Ok(data);
    }
    let mut out = Vec::with_capacity(data.len().min(max_out));
    let mut prev = vec![0u8; row];
    for line in data.chunks(row + 1) {
        let Some((&kind, src)) = line.split_first() else {
            break;
        };
        let mut cur = src.to_vec();
        cur.resize(row, 0);
        unfilter(kind, &mut cur, &prev, bpp);
        out.extend_from_slice(&cur);
        prev = cur;
    }
    Ok(out)
}

/// Reverses one PNG filter in place (`prev` is the decoded row above).
pub(crate) fn unfilter(kind: u8, cur: &mut [u8], prev: &[u8], bpp: usize) {
    match kind {
        1 => {
            for i in bpp..cur.len() {
                cur[i] = cur[i].wrapping_add(cur[i - bpp]);
            }
        }
        2 => {
            for (c, p) in cur.iter_mut().zip(prev) {
                *c = c.wrapping_add(*p);
            }
        }
        3 => {
            for i in 0..cur.len() {
                let left = if i >= bpp { cur[i - bpp] } else { 0 };
                let up = prev.get(i).copied().unwrap_or(0);
                cur[i] = cur[i].wrapping_add(((u16::from(left) + u16::from(up)) / 2) as u8);
            }
        }
        4 => {
            for i in 0..cur.len() {
                let a = if i >= bpp { cur[i - bpp] } else { 0 };
                let b = prev.get(i).copied().unwrap_or(0);
                let c = if i >= bpp {
                    prev.get(i - bpp).copied().unwrap_or(0)
                } else {
                    0
                };
                cur[i] = cur[i].wrapping_add(paeth(a, b, c));
            }
        }
        _ => {}
    }
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

fn ascii_hex(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / 2);
    let mut high: Option<u8> = None;
    for &b in data {
        let v = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            b'>' => break,
            _ => continue,
        };
        match high.take() {
            None => high = Some(v),
            Some(h) => out.push(h << 4 | v),
        }
    }
    if let Some(h) = high {
        out.push(h << 4);
    }
    out
}

fn ascii85(data: &[u8]) -> Result<Vec<u8>, ReadError> {
    let mut out = Vec::with_capacity(data.len() * 4 / 5);
    let mut group = [0u32; 5];
    let mut n = 0;
    let body = data.strip_prefix(b"<~").unwrap_or(data);
    for &b in body {
        match b {
            b'~' => break,
            b'z' if n == 0 => out.extend_from_slice(&[0; 4]),
            b'!'..=b'u' => {
                group[n] = u32::from(b - b'!');
                n += 1;
                if n == 5 {
                    let v = group.iter().fold(0u64, |acc, &d| acc * 85 + u64::from(d));
                    let v = u32::try_from(v)
                        .map_err(|_| ReadError::Malformed("ASCII85 group".into()))?;
                    out.extend_from_slice(&v.to_be_bytes());
                    n = 0;
                }
            }
            _ if super::lex::is_white(b) => {}
            _ => return Err(ReadError::Malformed("ASCII85 character".into())),
        }
    }
    if n > 1 {
        for d in group.iter_mut().skip(n) {
            *d = 84;
        }
        let v = group.iter().fold(0u64, |acc, &d| acc * 85 + u64::from(d));
        let bytes = u32::try_from(v.min(u64::from(u32::MAX)))
            .unwrap_or(u32::MAX)
            .to_be_bytes();
        out.extend_from_slice(&bytes[..n - 1]);
    }
    Ok(out)
}

fn run_length(data: &[u8], max_out: usize) -> Result<Vec<u8>, ReadError> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&len) = data.get(i) {
        i += 1;
        match len {
            128 => break,
            0..=127 => {
                let n = usize::from(len) + 1;
                out.extend_from_slice(&data[i..(i + n).min(data.len())]);
                i += n;
            }
            _ => {
                let n = 257 - usize::from(len);
                if let Some(&b) = data.get(i) {
                    out.extend(std::iter::repeat_n(b, n));
                }
                i += 1;
            }
        }
        if out.len() > max_out {
            return Err(ReadError::TooLarge("decoded stream"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn none() -> impl FnMut() -> Result<(), ReadError> {
        || Ok(())
    }

    #[test]
    fn flate_with_a_budget() {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&vec![b'a'; 1_000_000]).unwrap();
        let z = e.finish().unwrap();
        let mut d = Dict::new();
        d.set("Filter", Object::Name(b"FlateDecode".to_vec()));
        assert_eq!(
            decode(z.clone(), &d, 2_000_000, &mut none()).unwrap().len(),
            1_000_000
        );
        assert!(matches!(
            decode(z, &d, 1000, &mut none()),
            Err(ReadError::TooLarge(_))
        ));
    }

    #[test]
    fn png_up_predictor() {
        // Two rows of 3 bytes, the second "Up"-filtered.
        let raw = [0u8, 1, 2, 3, 2, 1, 1, 1];
        let mut p = Dict::new();
        p.set("Predictor", Object::Int(12));
        p.set("Columns", Object::Int(3));
        assert_eq!(
            predict(raw.to_vec(), &p, 100).unwrap(),
            vec![1, 2, 3, 2, 3, 4]
        );
    }

    #[test]
    fn ascii_filters() {
        assert_eq!(ascii_hex(b"48 65 6c6C6f>"), b"Hello");
        assert_eq!(ascii85(b"<~87cURDZ~>").unwrap(), b"Hello");
        assert_eq!(
            run_length(&[2, b'a', b'b', b'c', 254, b'x', 128], 100).unwrap(),
            b"abcxxx"
        );
    }
}
