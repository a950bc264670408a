//! QR codes: the symbol from the `qrcode` crate's encoder, the mask chosen here, and the dark
//! modules as rectangles for the page.
//!
//! The encoder scores all eight masks with the standard's penalty rules (ISO/IEC 18004
//! §7.8.3) on its module grid, which was a tenth of the time of a sealed receipt. The same
//! rules are applied here on a plain grid of booleans: any mask gives a valid symbol (the
//! reader takes it from the format information), the score only avoids patterns that
//! confuse scanners.

use qrcode::canvas::{Canvas, MaskPattern};
use qrcode::{EcLevel, Version};

use crate::PdfError;

const MASKS: [MaskPattern; 8] = [
    MaskPattern::Checkerboard,
    MaskPattern::HorizontalLines,
    MaskPattern::VerticalLines,
    MaskPattern::DiagonalLines,
    MaskPattern::LargeCheckerboard,
    MaskPattern::Fields,
    MaskPattern::Diamonds,
    MaskPattern::Meadow,
];

/// A QR symbol: `width` × `width` modules, row by row, `true` for dark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Symbol {
    pub(crate) width: usize,
    pub(crate) modules: Vec<bool>,
}

/// The QR symbol of `data` with error correction level M and the least penalised mask.
pub(crate) fn encode(data: &[u8]) -> Result<Symbol, PdfError> {
    // The first of the least penalised, in the standard's order of masks.
    masked(data)?
        .into_iter()
        .min_by_key(penalty)
        .ok_or_else(fail_version)
}

/// The symbol of `data` under each of the eight masks.
fn masked(data: &[u8]) -> Result<Vec<Symbol>, PdfError> {
    let fail = |e: qrcode::types::QrError| PdfError::Render(format!("QR code: {e}"));
    let bits = qrcode::bits::encode_auto(data, EcLevel::M).map_err(fail)?;
    let version = bits.version();
    let width = match version {
        Version::Normal(v) => usize::try_from(17 + 4 * v).map_err(|_| fail_version())?,
        Version::Micro(_) => return Err(fail_version()),
    };
    let (codewords, ec) =
        qrcode::ec::construct_codewords(&bits.into_bytes(), version, EcLevel::M).map_err(fail)?;
    let mut unmasked = Canvas::new(version, EcLevel::M);
    unmasked.draw_all_functional_patterns();
    unmasked.draw_data(&codewords, &ec);
    Ok(MASKS
        .into_iter()
        .map(|mask| {
            let mut canvas = unmasked.clone();
            canvas.apply_mask(mask);
            let modules = canvas
                .into_colors()
                .into_iter()
                .map(|c| c == qrcode::Color::Dark)
                .collect();
            Symbol { width, modules }
        })
        .collect())
}

fn fail_version() -> PdfError {
    PdfError::Render("QR code: unexpected symbol version".to_owned())
}

/// The standard's penalty score: runs of five or more modules of one colour in a line, 2 × 2
/// blocks of one colour, finder-like patterns (1:1:3:1:1 beside four light modules), and
/// the imbalance between dark and light.
pub(crate) fn penalty(s: &Symbol) -> u32 {
    let w = s.width;
    if w == 0 || s.modules.len() != w * w {
        return u32::MAX;
    }
    let rows = &s.modules;
    let mut score = 0u32;
    for i in 0..w {
        score += line_penalty((0..w).map(|x| rows[i * w + x]));
        score += line_penalty((0..w).map(|y| rows[y * w + i]));
    }
    for (above, row) in rows.chunks_exact(w).zip(rows.chunks_exact(w).skip(1)) {
        for x in 1..w {
            let c = row[x];
            if c == row[x - 1] && c == above[x] && c == above[x - 1] {
                score += 3;
            }
        }
    }
    let dark = rows.iter().filter(|&&m| m).count();
    let percent = dark * 100 / (w * w);
    let k = percent.abs_diff(50) / 5;
    score + 10 * u32::try_from(k).unwrap_or(u32::MAX / 20)
}

/// Runs of five or more and finder-like patterns along one row or column, in one pass: the
/// last eleven modules are kept as bits (1 for dark), and a finder-like pattern with four
/// light modules before it (`0000 1011101`) or after it (`1011101 0000`) is one of two
/// eleven-bit values, each worth 40.
fn line_penalty(line: impl Iterator<Item = bool>) -> u32 {
    const LIGHT_BEFORE: u32 = 0b000_0101_1101;
    const LIGHT_AFTER: u32 = 0b101_1101_0000;
    const ELEVEN: u32 = (1 << 11) - 1;
    let mut score = 0;
    let (mut run, mut previous) = (0u32, None);
    let (mut window, mut seen) = (0u32, 0u32);
    for dark in line {
        if previous == Some(dark) {
            run += 1;
        } else {
            if run >= 5 {
                score += run - 2;
            }
            run = 1;
            previous = Some(dark);
        }
        window = ((window << 1) | u32::from(dark)) & ELEVEN;
        seen += 1;
        if seen >= 11 && (window == LIGHT_BEFORE || window == LIGHT_AFTER) {
            score += 40;
        }
    }
    if run >= 5 {
        score += run - 2;
    }
    score
}

/// The dark modules as rectangles `[x, y, width, height]` in modules: each row's runs, a run
/// continuing the same run of the row above merged into it.
pub(crate) fn rectangles(s: &Symbol) -> Vec<[u16; 4]> {
    let mut rects: Vec<[u16; 4]> = Vec::new();
    // Runs of the previous row: (start, length) → index in `rects`.
    let mut open: Vec<(u16, u16, usize)> = Vec::new();
    let mut next: Vec<(u16, u16, usize)> = Vec::new();
    let clamp = |v: usize| u16::try_from(v).unwrap_or(u16::MAX);
    for (y, row) in s.modules.chunks(s.width.max(1)).enumerate() {
        next.clear();
        let mut x = 0;
        while x < row.len() {
            if !row[x] {
                x += 1;
                continue;
            }
            let start = x;
            while x < row.len() && row[x] {
                x += 1;
            }
            let (start, len) = (clamp(start), clamp(x - start));
            let index = match open.iter().find(|(s, l, _)| (*s, *l) == (start, len)) {
                Some(&(_, _, i)) => {
                    rects[i][3] += 1;
                    i
                }
                None => {
                    rects.push([start, clamp(y), len, 1]);
                    rects.len() - 1
                }
            };
            next.push((start, len, index));
        }
        std::mem::swap(&mut open, &mut next);
    }
    rects
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(rows: &[&str]) -> Symbol {
        Symbol {
            width: rows.len(),
            modules: rows
                .iter()
                .flat_map(|r| r.chars().map(|c| c == '#'))
                .collect(),
        }
    }

    #[test]
    fn the_rectangles_cover_exactly_the_dark_modules() {
        for data in [
            "https://diwan.example/verify/ABCD-EFGH-JKLM",
            "x",
            "0123456789",
        ] {
            let s = encode(data.as_bytes()).unwrap();
            let mut painted = vec![0u8; s.width * s.width];
            for [x, y, w, h] in rectangles(&s) {
                for yy in y..y + h {
                    for xx in x..x + w {
                        painted[usize::from(yy) * s.width + usize::from(xx)] += 1;
                    }
                }
            }
            let expected: Vec<u8> = s.modules.iter().map(|&m| u8::from(m)).collect();
            assert_eq!(painted, expected, "{data}");
        }
    }

    #[test]
    fn rows_with_the_same_run_become_one_rectangle() {
        let s = grid(&["##..", "##..", "..#.", "...."]);
        assert_eq!(rectangles(&s), vec![[0, 0, 2, 2], [2, 2, 1, 1]]);
    }

    #[test]
    fn the_penalty_rules_score_what_the_standard_says() {
        // All light 5 × 5: five runs of 5 per direction (3 each), 16 blocks of 2 × 2 (3 each),
        // and 0 % dark (10 per 5 % away from half).
        let light = grid(&[".....", ".....", ".....", ".....", "....."]);
        assert_eq!(penalty(&light), 10 * 3 + 16 * 3 + 100);
        // A checkerboard: no runs, no blocks, 13 of 25 dark (52 %).
        let checker = grid(&["#.#.#", ".#.#.", "#.#.#", ".#.#.", "#.#.#"]);
        assert_eq!(penalty(&checker), 0);
        // One finder-like row with four light modules after it (and its runs and blocks).
        let mut rows = vec!["#.###.#....".to_owned()];
        rows.extend((0..10).map(|i| {
            if i % 2 == 0 {
                ".#.#.#.#.#."
            } else {
                "#.#.#.#.#.#"
            }
            .to_owned()
        }));
        let s = grid(&rows.iter().map(String::as_str).collect::<Vec<_>>());
        let without = {
            let mut t = s.clone();
            t.modules[0] = false;
            penalty(&t)
        };
        assert!(penalty(&s) >= 40, "{}", penalty(&s));
        assert_ne!(penalty(&s), without);
    }

    /// The score as first written: a transposed copy for the columns, and the finder-like
    /// pattern looked for at every position with its light modules checked on each side.
    fn penalty_by_windows(s: &Symbol) -> u32 {
        const CORE: [bool; 7] = [true, false, true, true, true, false, true];
        let w = s.width;
        let columns: Vec<bool> = (0..w * w).map(|i| s.modules[(i % w) * w + i / w]).collect();
        let mut score = 0;
        for line in s.modules.chunks_exact(w).chain(columns.chunks_exact(w)) {
            let mut run = 1;
            for pair in line.windows(2) {
                if pair[0] == pair[1] {
                    run += 1;
                } else {
                    score += if run >= 5 { run - 2 } else { 0 };
                    run = 1;
                }
            }
            score += if run >= 5 { run - 2 } else { 0 };
            let light = |from: usize| {
                line.get(from..from + 4)
                    .is_some_and(|q| q.iter().all(|&m| !m))
            };
            for (i, window) in line.windows(7).enumerate() {
                if window == CORE {
                    score += 40 * (u32::from(i >= 4 && light(i - 4)) + u32::from(light(i + 7)));
                }
            }
        }
        let blocks_and_balance = penalty(&Symbol {
            width: w,
            modules: s.modules.clone(),
        }) - (0..w)
            .map(|i| {
                line_penalty((0..w).map(|x| s.modules[i * w + x]))
                    + line_penalty((0..w).map(|y| s.modules[y * w + i]))
            })
            .sum::<u32>();
        score + blocks_and_balance
    }

    #[test]
    fn the_one_pass_penalty_scores_as_the_windows_did() {
        // Every mask of symbols of several versions, and grids with finder-like patterns at
        // the edges and overlapping.
        let mut symbols = Vec::new();
        for data in [
            "x",
            "https://diwan.example/verify/ABCD-EFGH-JKLM",
            &"7".repeat(300),
        ] {
            symbols.extend(masked(data.as_bytes()).unwrap());
        }
        let row = "#.###.#....#.###.#....#.###.#";
        let mut rows = vec![row.to_owned(); 29];
        rows[3] = "....#.###.#....".repeat(2)[..29].to_owned();
        symbols.push(grid(&rows.iter().map(String::as_str).collect::<Vec<_>>()));
        for s in &symbols {
            assert_eq!(penalty(s), penalty_by_windows(s), "width {}", s.width);
        }
        assert!(symbols.iter().any(|s| penalty(s) >= 40 * 29));
    }

    #[test]
    fn a_symbol_has_the_size_of_its_version() {
        let s = encode(b"https://diwan.example/verify/ABCD-EFGH-JKLM").unwrap();
        assert_eq!(s.modules.len(), s.width * s.width);
        assert!(s.width >= 21 && (s.width - 17).is_multiple_of(4));
    }
}
