//! The dossier of a 20-page scan: building and sealing it (stamp drawn, twenty JPEG pages
//! appended as they are, PAdES seal by the registry's key, the result written and synced to the
//! blob store), in process on a running installation, one dossier at a time.
//!
//! Each registration carries twenty grey-scale JPEG pages of about 300 KB (A4 at 150 dpi),
//! every page's bytes different. `cargo bench -p diwan-tests --bench dossier`
//! (`DIWAN_BENCH_DOSSIERS` registrations, default 10, each built `DIWAN_BENCH_ROUNDS` times,
//! default 3; `DIWAN_BENCH_BACKENDS=sqlite,postgres`).

#![expect(clippy::unwrap_used, reason = "a benchmark: failing loudly is right")]

use std::time::Instant;

use diwan_tests::docs::{jpeg, picture};
use diwan_tests::{Backend, bench, letter, multipart, send};

const PAGES: usize = 20;
/// A4 at 150 dpi.
const WIDTH: usize = 1240;
const HEIGHT: usize = 1754;

fn main() {
    let dossiers = bench::env_or("DIWAN_BENCH_DOSSIERS", 10usize);
    let rounds = bench::env_or("DIWAN_BENCH_ROUNDS", 3usize);
    // One page drawn; its JPEGs differ by a few bytes of comment so none is deduplicated, and
    // the quantisation is picked to give about 300 KB a page.
    let px = picture(WIDTH, HEIGHT, 7);
    let mut scale = 1.0f32;
    let mut page = jpeg(&px, WIDTH, HEIGHT, 150, scale);
    for _ in 0..12 {
        let len = page.len() as f32;
        if (len - 300_000.0).abs() < 15_000.0 {
            break;
        }
        scale *= (len / 300_000.0).powf(1.3);
        page = jpeg(&px, WIDTH, HEIGHT, 150, scale);
    }
    println!(
        "dossier benchmark: {PAGES} JPEG pages of {} bytes ({WIDTH}×{HEIGHT} px, 150 dpi), {dossiers} registrations × {rounds} builds",
        page.len()
    );
    println!(
        "machine: {} cores",
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    for (name, backend) in bench::backends() {
        run(name, backend, &page, dossiers, rounds);
    }
}

/// The page with a JPEG comment segment (`FF FE`) after SOI that makes its bytes unique.
fn unique(page: &[u8], tag: &str) -> Vec<u8> {
    let mut out = page[..2].to_vec();
    let len = u16::try_from(tag.len() + 2).unwrap();
    out.extend_from_slice(&[0xFF, 0xFE]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(tag.as_bytes());
    out.extend_from_slice(&page[2..]);
    out
}

fn run(name: &str, backend: Backend, page: &[u8], dossiers: usize, rounds: usize) {
    let app = bench::spawn(backend);
    let token = app.login("registrar@demo.diwan");
    let meta = letter("CENTRAL", "ملف ممسوح — dossier scanné").to_string();
    let mut ids = Vec::new();
    for d in 0..dossiers {
        let files: Vec<(String, Vec<u8>)> = (0..PAGES)
            .map(|p| {
                (
                    format!("page-{p:02}.jpg"),
                    unique(page, &format!("{d}-{p}")),
                )
            })
            .collect();
        let mut parts = vec![("metadata", None, "application/json", meta.as_bytes())];
        for (file_name, bytes) in &files {
            parts.push(("file", Some(file_name.as_str()), "image/jpeg", bytes));
        }
        let (ct, body) = multipart(&parts);
        let r = send(
            "POST",
            &app.url("/api/v1/correspondences"),
            Some(&token),
            &ct,
            &body,
        );
        assert_eq!(r.status, 201, "{}", r.text());
        ids.push(r.json()["id"].as_str().unwrap().to_owned());
    }
    let s = &app.inst.services;
    // One warm-up build (fonts loaded, caches filled).
    diwan_app::dossiers::make(s, &ids[0]).unwrap();
    let mut times = Vec::new();
    let mut sizes = Vec::new();
    let mut pages = 0;
    for _ in 0..rounds {
        for id in &ids {
            let t = Instant::now();
            let made = diwan_app::dossiers::make(s, id).unwrap();
            times.push(t.elapsed());
            // The stamp's page(s) (the list of twenty attachments may need more than one), then
            // one page per scan.
            assert!(made.pages as usize > PAGES, "{} pages", made.pages);
            pages = made.pages;
            sizes.push(made.size);
        }
    }
    times.sort_unstable();
    let ms = |p| bench::percentile_ms(&times, p);
    println!(
        "{name}: dossier of {PAGES} JPEG pages built, sealed and stored: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms over {} builds ({} bytes each, {pages} pages with the stamp)",
        ms(0.5),
        ms(0.95),
        ms(1.0),
        times.len(),
        sizes[0],
    );
}
