//! JPEG: the file itself becomes a `DCTDecode` image, byte for byte.

use std::io::{self, Write};
use std::time::Instant;

use super::len_of;
use super::{Bad, MAX_SEGMENTS, ReadSeek, copy_range, image_page, page_size, read_at, refuse};
use crate::dossier::write::Appender;

#[derive(Debug, Clone)]
pub(crate) struct JpegInfo {
    width: u32,
    height: u32,
    components: u8,
    dpi: Option<(f64, f64)>,
    adobe: bool,
    len: u64,
}

pub(super) fn info(src: &mut dyn ReadSeek) -> Result<JpegInfo, Bad> {
    let len = len_of(src)?;
    if read_at(src, 0, 2)? != [0xFF, 0xD8] {
        return refuse("not a JPEG file");
    }
    let (mut dpi, mut adobe) = (None, false);
    let mut pos = 2u64;
    for _ in 0..MAX_SEGMENTS {
        let head = read_at(src, pos, 4)?;
        if head.len() < 2 || head[0] != 0xFF {
            return refuse("damaged JPEG: no frame header");
        }
        let marker = head[1];
        if marker == 0xFF {
            pos += 1;
            continue;
        }
        if matches!(marker, 0x01 | 0xD0..=0xD7) {
            pos += 2;
            continue;
        }
        if head.len() < 4 {
            return refuse("damaged JPEG: cut short");
        }
        let seg = u64::from(u16::from_be_bytes([head[2], head[3]]));
        if seg < 2 {
            return refuse("damaged JPEG: bad segment length");
        }
        match marker {
            0xC0..=0xC2 => {
                let sof = read_at(src, pos + 4, 6)?;
                if sof.len() < 6 {
                    return refuse("damaged JPEG: cut short");
                }
                if sof[0] != 8 {
                    return refuse(format!("{}-bit JPEG (only 8-bit is embedded)", sof[0]));
                }
                let height = u32::from(u16::from_be_bytes([sof[1], sof[2]]));
                let width = u32::from(u16::from_be_bytes([sof[3], sof[4]]));
                if width == 0 || height == 0 {
                    return refuse("JPEG without its size in the frame header");
                }
                if !matches!(sof[5], 1 | 3 | 4) {
                    return refuse(format!("JPEG with {} colour components", sof[5]));
                }
                return Ok(JpegInfo {
                    width,
                    height,
                    components: sof[5],
                    dpi,
                    adobe,
                    len,
                });
            }
            0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                return refuse("JPEG coding not embeddable (lossless, hierarchical or arithmetic)");
            }
            0xE0 => {
                let app = read_at(src, pos + 4, 12)?;
                if app.len() >= 12 && app.starts_with(b"JFIF\0") {
                    let d = |i: usize| f64::from(u16::from_be_bytes([app[i], app[i + 1]]));
                    dpi = match app[7] {
                        1 => Some((d(8), d(10))),
                        2 => Some((d(8) * 2.54, d(10) * 2.54)),
                        _ => None,
                    };
                }
            }
            0xEE => adobe = read_at(src, pos + 4, 5)?.starts_with(b"Adobe"),
            0xDA | 0xD9 => return refuse("damaged JPEG: no frame header"),
            _ => {}
        }
        pos += 2 + seg;
    }
    refuse("JPEG with too many segments")
}

pub(super) fn write<W: Write>(
    j: &JpegInfo,
    src: &mut dyn ReadSeek,
    a: &mut Appender<W>,
    parent: u32,
    default_dpi: u32,
    deadline: Option<Instant>,
) -> io::Result<u32> {
    let (space, decode) = match j.components {
        1 => ("/DeviceGray", ""),
        3 => ("/DeviceRGB", ""),
        // Adobe's CMYK JPEGs store inverted values.
        _ if j.adobe => ("/DeviceCMYK", " /Decode [1 0 1 0 1 0 1 0]"),
        _ => ("/DeviceCMYK", ""),
    };
    let image = a.alloc();
    let started = a.begin_stream(
        image,
        &super::image_dict(
            j.width,
            j.height,
            space,
            8,
            &format!(" /Filter /DCTDecode{decode}"),
        ),
        Some(j.len),
    )?;
    copy_range(src, 0, j.len, a, false, deadline)?;
    a.end_stream(started)?;
    let size = page_size(j.width, j.height, j.dpi, default_dpi);
    image_page(a, parent, size, &[(image, [0.0, 0.0, size.0, size.1])])
}
