//! Documents made by the tests themselves: PDFs (well-formed, broken and hostile, and a very
//! large one written to disk as it is made), and JPEG, PNG and TIFF images from small encoders
//! written here (a baseline grey-scale JPEG encoder with the standard tables, PNG and TIFF
//! writers), so that no image library is needed.

use std::io::Write;

/// A PDF written object by object, with a classic cross-reference table.
#[derive(Debug, Default)]
pub struct PdfBuilder {
    objects: Vec<(u32, Vec<u8>)>,
}

impl PdfBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds object `num` with `body` (what goes between `obj` and `endobj`).
    pub fn obj(mut self, num: u32, body: impl AsRef<[u8]>) -> Self {
        self.objects.push((num, body.as_ref().to_vec()));
        self
    }

    /// Adds a stream object.
    pub fn stream(self, num: u32, dict: &str, data: &[u8]) -> Self {
        let mut body = format!("<<{dict} /Length {}>>\nstream\n", data.len()).into_bytes();
        body.extend_from_slice(data);
        body.extend_from_slice(b"\nendstream");
        self.obj(num, body)
    }

    /// The file, with `trailer` entries besides `/Size` (e.g. `/Root 1 0 R`).
    pub fn finish(&self, trailer: &str) -> Vec<u8> {
        let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
        let mut offsets = Vec::new();
        for (num, body) in &self.objects {
            offsets.push((*num, out.len()));
            out.extend_from_slice(format!("{num} 0 obj\n").as_bytes());
            out.extend_from_slice(body);
            out.extend_from_slice(b"\nendobj\n");
        }
        let size = self.objects.iter().map(|(n, _)| *n).max().unwrap_or(0) + 1;
        let xref = out.len();
        out.extend_from_slice(format!("xref\n0 {size}\n0000000000 65535 f\r\n").as_bytes());
        for n in 1..size {
            match offsets.iter().rev().find(|(m, _)| *m == n) {
                Some((_, o)) => out.extend_from_slice(format!("{o:010} 00000 n\r\n").as_bytes()),
                None => out.extend_from_slice(b"0000000000 65535 f\r\n"),
            }
        }
        out.extend_from_slice(
            format!("trailer\n<</Size {size} {trailer}>>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
        );
        out
    }
}

/// A well-formed PDF of `pages` A4 pages, each saying `"{label} page {i}"` in Helvetica.
pub fn text_pdf(pages: usize, label: &str) -> Vec<u8> {
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", 10 + 2 * i)).collect();
    let mut b = PdfBuilder::new()
        .obj(1, "<</Type /Catalog /Pages 2 0 R>>")
        .obj(
            2,
            format!(
                "<</Type /Pages /Kids [{}] /Count {pages} /MediaBox [0 0 595 842] /Resources <</Font <</F1 3 0 R>>>>>>",
                kids.join(" ")
            ),
        )
        .obj(
            3,
            "<</Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding>>",
        );
    for i in 0..pages {
        let n = 10 + 2 * u32::try_from(i).unwrap();
        let text = format!("BT /F1 24 Tf 72 720 Td ({label} page {}) Tj ET", i + 1);
        b = b
            .obj(
                n,
                format!("<</Type /Page /Parent 2 0 R /Contents {} 0 R>>", n + 1),
            )
            .stream(n + 1, "", text.as_bytes());
    }
    b.finish("/Root 1 0 R")
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A broken or hostile PDF, and the problem code its inspection must report.
#[derive(Debug)]
pub struct Hostile {
    pub name: &'static str,
    pub bytes: Vec<u8>,
    pub code: &'static str,
}

/// The corpus: truncated, broken cross-reference table, reference loops (page tree and
/// reference chain), 100,000 nested arrays, a million tiny objects (in object streams, with a
/// compressed cross-reference stream: a small file), encrypted, JavaScript in an open action, a
/// launch action, an embedded file, and bytes that only start like a PDF.
pub fn hostile_corpus() -> Vec<Hostile> {
    let good = text_pdf(3, "Hostile");
    let mut truncated = good.clone();
    truncated.truncate(good.len() * 3 / 5);
    let mut broken = good.clone();
    let at = find_last(&broken, b"startxref\n") + 10;
    let digits = broken[at..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    broken.splice(at..at + digits, b"17".iter().copied());
    let pages_loop = PdfBuilder::new()
        .obj(1, "<</Type /Catalog /Pages 2 0 R>>")
        .obj(2, "<</Type /Pages /Kids [3 0 R 4 0 R] /Count 2>>")
        .obj(3, "<</Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]>>")
        .obj(4, "<</Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1>>")
        .finish("/Root 1 0 R");
    let chain_loop = PdfBuilder::new()
        .obj(1, "<</Type /Catalog /Pages 2 0 R>>")
        .obj(2, "5 0 R")
        .obj(5, "6 0 R")
        .obj(6, "2 0 R")
        .finish("/Root 1 0 R");
    let mut deep = b"<</Type /Catalog /Pages 2 0 R /Deep ".to_vec();
    deep.extend(std::iter::repeat_n(b'[', 100_000));
    deep.extend(std::iter::repeat_n(b']', 100_000));
    deep.extend(b">>");
    let deep = PdfBuilder::new()
        .obj(1, deep)
        .obj(2, "<</Type /Pages /Kids [3 0 R] /Count 1>>")
        .obj(3, "<</Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]>>")
        .finish("/Root 1 0 R");
    let encrypted = PdfBuilder::new()
        .obj(1, "<</Type /Catalog /Pages 2 0 R>>")
        .obj(2, "<</Type /Pages /Kids [3 0 R] /Count 1>>")
        .obj(3, "<</Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]>>")
        .obj(
            4,
            "<</Filter /Standard /V 2 /R 3 /Length 128 /P -3904 /O <0000000000000000000000000000000000000000000000000000000000000000> /U <0000000000000000000000000000000000000000000000000000000000000000>>>",
        )
        .finish("/Root 1 0 R /Encrypt 4 0 R /ID [<00112233445566778899aabbccddeeff> <00112233445566778899aabbccddeeff>]");
    let one_page = |catalog_extra: &str| {
        PdfBuilder::new()
            .obj(
                1,
                format!("<</Type /Catalog /Pages 2 0 R {catalog_extra}>>"),
            )
            .obj(2, "<</Type /Pages /Kids [3 0 R] /Count 1>>")
            .obj(3, "<</Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]>>")
    };
    let javascript = one_page("/OpenAction 4 0 R")
        .obj(
            4,
            "<</Type /Action /S /JavaScript /JS (app.alert\\('hello'\\);)>>",
        )
        .finish("/Root 1 0 R");
    let launch = one_page("/OpenAction <</S /Launch /F (C:\\\\Windows\\\\System32\\\\cmd.exe)>>")
        .finish("/Root 1 0 R");
    let embedded = one_page("/Names <</EmbeddedFiles <</Names [(invoice.exe) 4 0 R]>>>>")
        .obj(4, "<</Type /Filespec /F (invoice.exe) /EF <</F 5 0 R>>>>")
        .stream(5, "/Type /EmbeddedFile", b"MZ\x90\x00")
        .finish("/Root 1 0 R");
    vec![
        Hostile {
            name: "truncated.pdf",
            bytes: truncated,
            code: "truncated",
        },
        Hostile {
            name: "broken-xref.pdf",
            bytes: broken,
            code: "broken_xref",
        },
        Hostile {
            name: "page-tree-loop.pdf",
            bytes: pages_loop,
            code: "reference_loop",
        },
        Hostile {
            name: "reference-loop.pdf",
            bytes: chain_loop,
            code: "reference_loop",
        },
        Hostile {
            name: "deep.pdf",
            bytes: deep,
            code: "too_deep",
        },
        Hostile {
            name: "million-objects.pdf",
            bytes: million_objects(),
            code: "too_many_objects",
        },
        Hostile {
            name: "encrypted.pdf",
            bytes: encrypted,
            code: "encrypted",
        },
        Hostile {
            name: "javascript.pdf",
            bytes: javascript,
            code: "javascript",
        },
        Hostile {
            name: "launch.pdf",
            bytes: launch,
            code: "launch_action",
        },
        Hostile {
            name: "embedded.pdf",
            bytes: embedded,
            code: "embedded_files",
        },
        Hostile {
            name: "not-really.pdf",
            bytes: b"%PDF-1.7\nthis is not a PDF at all\n".to_vec(),
            code: "parse_error",
        },
    ]
}

fn find_last(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .rposition(|w| w == needle)
        .unwrap()
}

/// One million (and three) objects: `null`s packed 1,000 to an object stream, a compressed
/// cross-reference stream listing them all. A few megabytes.
pub fn million_objects() -> Vec<u8> {
    const STREAMS: u32 = 1000;
    const PER: u32 = 1000;
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut rows: Vec<u8> = Vec::new();
    let row = |rows: &mut Vec<u8>, t: u8, a: u32, b: u16| {
        rows.push(t);
        rows.extend_from_slice(&a.to_be_bytes());
        rows.extend_from_slice(&b.to_be_bytes());
    };
    // 1: catalog, 2: pages, 3..3+STREAMS: object streams, then the nulls, then the xref.
    let first_null = 3 + STREAMS;
    let mut offsets = Vec::new();
    offsets.push(out.len());
    out.extend_from_slice(b"1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n");
    offsets.push(out.len());
    out.extend_from_slice(b"2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\n");
    for s in 0..STREAMS {
        let mut header = String::new();
        let mut body = String::new();
        for i in 0..PER {
            let num = first_null + s * PER + i;
            header.push_str(&format!("{num} {} ", body.len()));
            body.push_str("null ");
        }
        let data = zlib(format!("{header}{body}").as_bytes());
        offsets.push(out.len());
        out.extend_from_slice(
            format!(
                "{} 0 obj <</Type /ObjStm /N {PER} /First {} /Filter /FlateDecode /Length {}>>\nstream\n",
                3 + s,
                header.len(),
                data.len()
            )
            .as_bytes(),
        );
        out.extend_from_slice(&data);
        out.extend_from_slice(b"\nendstream endobj\n");
    }
    let xref_num = first_null + STREAMS * PER;
    let xref_at = out.len();
    row(&mut rows, 0, 0, 65535);
    for o in &offsets {
        row(&mut rows, 1, u32::try_from(*o).unwrap(), 0);
    }
    for s in 0..STREAMS {
        for i in 0..PER {
            row(&mut rows, 2, 3 + s, u16::try_from(i).unwrap());
        }
    }
    row(&mut rows, 1, u32::try_from(xref_at).unwrap(), 0);
    let data = zlib(&rows);
    out.extend_from_slice(
        format!(
            "{xref_num} 0 obj <</Type /XRef /Size {} /W [1 4 2] /Root 1 0 R /Filter /FlateDecode /Length {}>>\nstream\n",
            xref_num + 1,
            data.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(&data);
    out.extend_from_slice(format!("\nendstream endobj\nstartxref\n{xref_at}\n%%EOF\n").as_bytes());
    out
}

/// Writes a PDF of about `target` bytes to `out` without holding it: pages whose only content is
/// an image of incompressible-looking grey noise (raw, unfiltered), `chunk` bytes per image.
/// Returns the number of pages.
pub fn write_large_pdf(out: &mut impl Write, target: u64, chunk: usize) -> std::io::Result<usize> {
    let side = (chunk as f64).sqrt() as usize;
    let image_bytes = side * side;
    let pages = usize::try_from(target / image_bytes as u64).unwrap().max(1);
    let mut offsets: Vec<(u32, u64)> = Vec::new();
    let mut at = 0u64;
    fn put(out: &mut impl Write, bytes: &[u8], at: &mut u64) -> std::io::Result<()> {
        out.write_all(bytes)?;
        *at += bytes.len() as u64;
        Ok(())
    }
    put(out, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", &mut at)?;
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", 10 + 3 * i)).collect();
    offsets.push((1, at));
    put(
        out,
        b"1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n",
        &mut at,
    )?;
    offsets.push((2, at));
    put(
        out,
        format!(
            "2 0 obj <</Type /Pages /Kids [{}] /Count {pages}>> endobj\n",
            kids.join(" ")
        )
        .as_bytes(),
        &mut at,
    )?;
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut noise = vec![0u8; image_bytes];
    for i in 0..pages {
        let n = 10 + 3 * u32::try_from(i).unwrap();
        offsets.push((n, at));
        put(
            out,
            format!(
                "{n} 0 obj <</Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources <</XObject <</Im0 {} 0 R>>>> /Contents {} 0 R>> endobj\n",
                n + 1,
                n + 2
            )
            .as_bytes(),
            &mut at,
        )?;
        for b in noise.iter_mut() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            *b = (seed >> 24) as u8;
        }
        offsets.push((n + 1, at));
        put(
            out,
            format!(
                "{} 0 obj <</Type /XObject /Subtype /Image /Width {side} /Height {side} /ColorSpace /DeviceGray /BitsPerComponent 8 /Length {image_bytes}>>\nstream\n",
                n + 1
            )
            .as_bytes(),
            &mut at,
        )?;
        put(out, &noise, &mut at)?;
        put(out, b"\nendstream endobj\n", &mut at)?;
        let content = b"q 595 0 0 842 0 0 cm /Im0 Do Q";
        offsets.push((n + 2, at));
        put(
            out,
            format!("{} 0 obj <</Length {}>>\nstream\n", n + 2, content.len()).as_bytes(),
            &mut at,
        )?;
        put(out, content, &mut at)?;
        put(out, b"\nendstream endobj\n", &mut at)?;
    }
    let size = offsets.iter().map(|(n, _)| *n).max().unwrap_or(0) + 1;
    offsets.sort_unstable();
    let xref = at;
    put(
        out,
        format!("xref\n0 {size}\n0000000000 65535 f\r\n").as_bytes(),
        &mut at,
    )?;
    let mut next = 1;
    for (n, o) in &offsets {
        while next < *n {
            put(out, b"0000000000 65535 f\r\n", &mut at)?;
            next += 1;
        }
        put(out, format!("{o:010} 00000 n\r\n").as_bytes(), &mut at)?;
        next += 1;
    }
    put(
        out,
        format!("trailer\n<</Size {size} /Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
        &mut at,
    )?;
    Ok(pages)
}

// --- images -----------------------------------------------------------------------------------

/// A grey-scale test picture: stripes of "text lines" and a frame, with a little noise.
pub fn picture(width: usize, height: usize, seed: u64) -> Vec<u8> {
    let mut s = seed | 1;
    let mut px = vec![255u8; width * height];
    for y in 0..height {
        for x in 0..width {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let line = (y / 12) % 3 != 2 && (x / 7 + y / 12) % 5 != 0 && y % 12 < 8;
            let frame = x < 4 || y < 4 || x + 4 >= width || y + 4 >= height;
            let v: u8 = if frame || (line && x > width / 10 && x < width * 9 / 10) {
                30
            } else {
                235
            };
            px[y * width + x] = v.saturating_add((s >> 60) as u8);
        }
    }
    px
}

const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

const LUMA_Q: [u16; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113,
    92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];

const DC_BITS: [u8; 16] = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_VALS: [u8; 12] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const AC_BITS: [u8; 16] = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d];
const AC_VALS: [u8; 162] = [
    0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
    0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
    0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
    0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
    0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
    0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
    0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
    0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5,
    0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
    0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
    0xf9, 0xfa,
];

/// Canonical Huffman codes: `(code, length)` by symbol.
fn huffman(bits: &[u8; 16], vals: &[u8]) -> [(u16, u8); 256] {
    let mut table = [(0u16, 0u8); 256];
    let mut code = 0u16;
    let mut k = 0;
    for (len, &count) in bits.iter().enumerate() {
        for _ in 0..count {
            table[usize::from(vals[k])] = (code, u8::try_from(len + 1).unwrap());
            code += 1;
            k += 1;
        }
        code <<= 1;
    }
    table
}

struct Bits {
    out: Vec<u8>,
    acc: u32,
    n: u32,
}

impl Bits {
    fn put(&mut self, value: u16, len: u8) {
        for i in (0..len).rev() {
            self.acc = self.acc << 1 | u32::from(value >> i & 1);
            self.n += 1;
            if self.n == 8 {
                let byte = (self.acc & 0xFF) as u8;
                self.out.push(byte);
                if byte == 0xFF {
                    self.out.push(0);
                }
                self.acc = 0;
                self.n = 0;
            }
        }
    }

    fn flush(&mut self) {
        while self.n != 0 {
            self.put(1, 1);
        }
    }
}

fn category(v: i32) -> (u8, u16) {
    let a = v.unsigned_abs();
    let size = (32 - a.leading_zeros()) as u8;
    let bits = if v < 0 {
        (v - 1) as u16 & ((1u16 << size) - 1)
    } else {
        v as u16
    };
    (size, bits)
}

/// A baseline grey-scale JPEG (JFIF, with its density in dots per inch). `quality_scale`
/// multiplies the standard quantisation table (1.0 = the table as printed in the standard).
pub fn jpeg(px: &[u8], width: usize, height: usize, dpi: u16, quality_scale: f32) -> Vec<u8> {
    let q: Vec<u16> = LUMA_Q
        .iter()
        .map(|&v| ((f32::from(v) * quality_scale).round() as u16).clamp(1, 255))
        .collect();
    let mut out = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0, 1, 1, 1,
    ];
    out.extend_from_slice(&dpi.to_be_bytes());
    out.extend_from_slice(&dpi.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&[0xFF, 0xDB, 0, 67, 0]);
    out.extend(ZIGZAG.iter().map(|&i| u8::try_from(q[i]).unwrap()));
    let (w, h) = (
        u16::try_from(width).unwrap(),
        u16::try_from(height).unwrap(),
    );
    out.extend_from_slice(&[0xFF, 0xC0, 0, 11, 8]);
    out.extend_from_slice(&h.to_be_bytes());
    out.extend_from_slice(&w.to_be_bytes());
    out.extend_from_slice(&[1, 1, 0x11, 0]);
    for (class, bits, vals) in [
        (0x00u8, &DC_BITS, &DC_VALS[..]),
        (0x10, &AC_BITS, &AC_VALS[..]),
    ] {
        let len = u16::try_from(2 + 1 + 16 + vals.len()).unwrap();
        out.extend_from_slice(&[0xFF, 0xC4]);
        out.extend_from_slice(&len.to_be_bytes());
        out.push(class);
        out.extend_from_slice(bits);
        out.extend_from_slice(vals);
    }
    out.extend_from_slice(&[0xFF, 0xDA, 0, 8, 1, 1, 0x00, 0, 63, 0]);
    let dc = huffman(&DC_BITS, &DC_VALS);
    let ac = huffman(&AC_BITS, &AC_VALS);
    let cos: Vec<f32> = (0..64)
        .map(|i| {
            let (x, u) = ((i / 8) as f32, (i % 8) as f32);
            ((2.0 * x + 1.0) * u * std::f32::consts::PI / 16.0).cos()
        })
        .collect();
    let c = |u: usize| {
        if u == 0 {
            std::f32::consts::FRAC_1_SQRT_2
        } else {
            1.0
        }
    };
    let mut bits = Bits {
        out: Vec::new(),
        acc: 0,
        n: 0,
    };
    let mut prev_dc = 0i32;
    for by in (0..height).step_by(8) {
        for bx in (0..width).step_by(8) {
            let mut block = [0f32; 64];
            for y in 0..8 {
                for x in 0..8 {
                    let sx = (bx + x).min(width - 1);
                    let sy = (by + y).min(height - 1);
                    block[y * 8 + x] = f32::from(px[sy * width + sx]) - 128.0;
                }
            }
            // Separable DCT: rows, then columns.
            let mut tmp = [0f32; 64];
            for y in 0..8 {
                for u in 0..8 {
                    tmp[y * 8 + u] = (0..8).map(|x| block[y * 8 + x] * cos[x * 8 + u]).sum();
                }
            }
            let mut coef = [0i32; 64];
            for v in 0..8 {
                for u in 0..8 {
                    let s: f32 = (0..8).map(|y| tmp[y * 8 + u] * cos[y * 8 + v]).sum();
                    let f = 0.25 * c(u) * c(v) * s;
                    coef[v * 8 + u] = (f / f32::from(q[v * 8 + u])).round() as i32;
                }
            }
            let (size, b) = category(coef[0] - prev_dc);
            prev_dc = coef[0];
            let (code, len) = dc[usize::from(size)];
            bits.put(code, len);
            bits.put(b, size);
            let mut run = 0;
            for &z in &ZIGZAG[1..] {
                let v = coef[z];
                if v == 0 {
                    run += 1;
                    continue;
                }
                while run > 15 {
                    let (code, len) = ac[0xF0];
                    bits.put(code, len);
                    run -= 16;
                }
                let (size, b) = category(v);
                let (code, len) = ac[usize::from(run << 4 | size)];
                bits.put(code, len);
                bits.put(b, size);
                run = 0;
            }
            if run > 0 {
                let (code, len) = ac[0];
                bits.put(code, len);
            }
        }
    }
    bits.flush();
    out.extend_from_slice(&bits.out);
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

/// A PNG: `channels` 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA), 8 bits, with `pHYs`.
pub fn png(px: &[u8], width: usize, height: usize, channels: usize, dpi: u32) -> Vec<u8> {
    let color_type = match channels {
        1 => 0,
        2 => 4,
        3 => 2,
        _ => 6,
    };
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&u32::try_from(width).unwrap().to_be_bytes());
    ihdr.extend_from_slice(&u32::try_from(height).unwrap().to_be_bytes());
    ihdr.extend_from_slice(&[8, color_type, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    let ppm = (f64::from(dpi) / 0.0254).round() as u32;
    let mut phys = Vec::new();
    phys.extend_from_slice(&ppm.to_be_bytes());
    phys.extend_from_slice(&ppm.to_be_bytes());
    phys.push(1);
    png_chunk(&mut out, b"pHYs", &phys);
    let row = width * channels;
    let mut raw = Vec::with_capacity((row + 1) * height);
    for y in 0..height {
        // Alternate filters (none, sub, up) so that a reader must undo each.
        let filter = (y % 3) as u8;
        raw.push(filter);
        for x in 0..row {
            let cur = px[y * row + x];
            let v = match filter {
                1 if x >= channels => cur.wrapping_sub(px[y * row + x - channels]),
                2 if y > 0 => cur.wrapping_sub(px[(y - 1) * row + x]),
                _ => cur,
            };
            raw.push(v);
        }
    }
    png_chunk(&mut out, b"IDAT", &zlib(&raw));
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// A little-endian TIFF, one grey 8-bit page per entry of `pages` (pixels, width, height),
/// each one strip; `deflate` compresses the strips (compression 8), else none.
pub fn tiff(pages: &[(&[u8], usize, usize)], dpi: u32, deflate: bool) -> Vec<u8> {
    let mut out = b"II*\x00\x00\x00\x00\x00".to_vec();
    let mut link = 4usize;
    for (px, width, height) in pages {
        let data = if deflate { zlib(px) } else { px.to_vec() };
        let strip_at = out.len();
        out.extend_from_slice(&data);
        if out.len() % 2 == 1 {
            out.push(0);
        }
        let res_at = out.len();
        out.extend_from_slice(&dpi.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        let ifd_at = out.len();
        out[link..link + 4].copy_from_slice(&u32::try_from(ifd_at).unwrap().to_le_bytes());
        let u32v = |v: usize| u32::try_from(v).unwrap();
        // (tag, type, count, value): type 3 SHORT, 4 LONG, 5 RATIONAL.
        let entries: [(u16, u16, u32, u32); 12] = [
            (254, 4, 1, 0),
            (256, 4, 1, u32v(*width)),
            (257, 4, 1, u32v(*height)),
            (258, 3, 1, 8),
            (259, 3, 1, if deflate { 8 } else { 1 }),
            (262, 3, 1, 1),
            (273, 4, 1, u32v(strip_at)),
            (277, 3, 1, 1),
            (278, 4, 1, u32v(*height)),
            (279, 4, 1, u32v(data.len())),
            (282, 5, 1, u32v(res_at)),
            (283, 5, 1, u32v(res_at)),
        ];
        let count = entries.len() + 1;
        out.extend_from_slice(&u16::try_from(count).unwrap().to_le_bytes());
        for (tag, kind, n, value) in entries {
            out.extend_from_slice(&tag.to_le_bytes());
            out.extend_from_slice(&kind.to_le_bytes());
            out.extend_from_slice(&n.to_le_bytes());
            if kind == 3 {
                out.extend_from_slice(&u16::try_from(value).unwrap().to_le_bytes());
                out.extend_from_slice(&[0, 0]);
            } else {
                out.extend_from_slice(&value.to_le_bytes());
            }
        }
        // ResolutionUnit: inch.
        out.extend_from_slice(&296u16.to_le_bytes());
        out.extend_from_slice(&3u16.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        link = out.len();
        out.extend_from_slice(&[0, 0, 0, 0]);
    }
    out
}
