//! Registration throughput over HTTP: 16 concurrent clients, one 100 KiB PDF per registration,
//! on SQLite and (when reachable) PostgreSQL. Every registration is answered with its signed
//! JSON receipt (JWS), its log entry and signed tree head. Prints registrations/s and latency
//! percentiles; then, in process, sealed PDF receipts made per second and JSON receipt
//! verifications per second (both with every core busy), and how long the PDF workers take to
//! catch up with the registrations of the run.
//!
//! `cargo bench -p diwan-tests --bench register` (DIWAN_BENCH_SECONDS, DIWAN_BENCH_CLIENTS,
//! DIWAN_BENCH_BACKENDS=sqlite,postgres and DIWAN_TEST_PG_URL to change the defaults).

#![expect(clippy::unwrap_used, reason = "a benchmark: failing loudly is right")]

use std::sync::Mutex;
use std::time::{Duration, Instant};

use diwan_tests::{Backend, TestApp, bench, letter, multipart, pdf, send};

const FILE_BYTES: usize = 100 * 1024;

fn main() {
    // `cargo bench` passes `--bench`; nothing else is understood.
    let seconds = bench::env_or("DIWAN_BENCH_SECONDS", 15u64);
    let clients = bench::env_or("DIWAN_BENCH_CLIENTS", 16usize);
    println!(
        "registration benchmark: {clients} clients, {seconds} s, {} KiB PDF each",
        FILE_BYTES / 1024
    );
    println!(
        "machine: {} cores",
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    // Each backend's data is removed only at the end. Removing tens of thousands of files
    // slows the file system's next file creations for minutes (ext4 passes over inodes freed
    // lately when it allocates one), which the next backend's PDF phase would pay.
    let apps: Vec<TestApp> = bench::backends()
        .into_iter()
        .map(|(name, backend)| measure(name, backend, seconds, clients))
        .collect();
    drop(apps);
}

fn measure(name: &str, backend: Backend, seconds: u64, clients: usize) -> TestApp {
    // Registration alone: PDFs, dossiers and texts made on demand, no e-mail sent, so the
    // figure is that of the registration path (with its signed JSON receipt).
    let app = bench::spawn(backend);
    let token = app.login("registrar@demo.diwan");
    let meta = letter("CENTRAL", "طلب — benchmark").to_string();
    let template = pdf(FILE_BYTES);
    let url = app.url("/api/v1/correspondences");
    let pdf_waits = Mutex::new(Vec::new());
    // Each run's files differ from every earlier run's too, so nothing is deduplicated.
    let runs = std::sync::atomic::AtomicUsize::new(0);
    let run = |duration: Duration, probe: bool| {
        let run_no = runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let latencies = Mutex::new(Vec::new());
        let errors = Mutex::new(0u64);
        let started = Instant::now();
        std::thread::scope(|scope| {
            for client in 0..clients {
                let (latencies, errors, meta, template, url, token, pdf_waits) = (
                    &latencies, &errors, &meta, &template, &url, &token, &pdf_waits,
                );
                let base = &app.base;
                scope.spawn(move || {
                    let mut mine = Vec::new();
                    let mut n = 0u64;
                    while started.elapsed() < duration {
                        let mut file = template.clone();
                        let tag = format!("{run_no:02}{client:04}-{n:010}");
                        file[12..12 + tag.len()].copy_from_slice(tag.as_bytes());
                        n += 1;
                        let (ct, body) = multipart(&[
                            ("metadata", None, "application/json", meta.as_bytes()),
                            ("file", Some("letter.pdf"), "application/pdf", &file),
                        ]);
                        let t = Instant::now();
                        let r = send("POST", url, Some(token), &ct, &body);
                        if r.status == 201 {
                            mine.push(t.elapsed());
                            // One client asks for every receipt's PDF as soon as it has its
                            // number: how long until the sealed PDF is in hand, under load.
                            if probe && client == 0 {
                                let id = r.json()["id"].as_str().unwrap().to_owned();
                                let p = diwan_tests::get(
                                    &format!("{base}/api/v1/receipts/{id}/pdf"),
                                    Some(token),
                                );
                                assert_eq!(p.status, 200);
                                pdf_waits.lock().unwrap().push(t.elapsed());
                            }
                        } else {
                            *errors.lock().unwrap() += 1;
                        }
                    }
                    latencies.lock().unwrap().extend(mine);
                });
            }
        });
        (
            latencies.into_inner().unwrap(),
            errors.into_inner().unwrap(),
            started.elapsed(),
        )
    };
    run(Duration::from_secs(2), false);
    let (mut lat, errors, elapsed) = run(Duration::from_secs(seconds), false);
    lat.sort_unstable();
    let pct = |p| bench::percentile_ms(&lat, p);
    println!(
        "{name}: {:.0} registrations/s with signed JSON receipts ({} in {:.1} s, {errors} errors), latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        lat.len() as f64 / elapsed.as_secs_f64(),
        lat.len(),
        elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        pct(1.0),
    );
    // A second run where one client also fetches each of its receipts' PDF at once.
    run(Duration::from_secs(seconds.min(8)), true);
    let mut waits = pdf_waits.into_inner().unwrap();
    waits.sort_unstable();
    let at = |p| bench::percentile_ms(&waits, p);
    println!(
        "{name}: sealed PDF in hand after registering, under the same load (a second run): p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms ({} receipts)",
        at(0.5),
        at(0.99),
        at(1.0),
        waits.len()
    );
    receipts(name, &app);
    app
}

/// In process, on the receipts the run issued: sealed PDFs per second, then JSON receipt
/// verifications per second (signature, chain with CRLs, register and log lookups), with one
/// thread per core.
fn receipts(name: &str, app: &TestApp) {
    let s = &app.inst.services;
    let pending = s.store.receipts_without_pdf(100_000).unwrap();
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let take = pending.len().min(2_000);
    // Drawn and sealed only (not stored), on the same receipts: what storing costs is the
    // difference with the figure below.
    let drawn_elapsed = on_threads(threads, take, |i| {
        let (id, kind) = &pending[i];
        diwan_app::receipts::pdf::make_pdf(s, id, *kind).unwrap();
    });
    println!(
        "{name}: {:.0} PDF receipts/s drawn and sealed, not stored ({take} in {:.1} s, {threads} threads)",
        take as f64 / drawn_elapsed.as_secs_f64(),
        drawn_elapsed.as_secs_f64(),
    );
    let pdf_elapsed = on_threads(threads, take, |i| {
        let (id, kind) = &pending[i];
        diwan_app::receipts::pdf::ensure_pdf(s, id, *kind).unwrap();
    });
    println!(
        "{name}: {:.0} sealed PDF receipts/s ({take} drawn, sealed and stored in {:.1} s, {threads} threads; {} waiting when the registrations stopped)",
        take as f64 / pdf_elapsed.as_secs_f64(),
        pdf_elapsed.as_secs_f64(),
        pending.len(),
    );
    let jws: Vec<String> = pending
        .iter()
        .take(2_000)
        .map(|(id, kind)| s.store.receipt(id, *kind).unwrap().unwrap().receipt.jws)
        .collect();
    let rounds = 5;
    // As the HTTP server does (its blocking pool runs many at once): four per core, so that the
    // database round trips of one overlap with the signature checks of another.
    let threads = threads * 4;
    let next = std::sync::atomic::AtomicUsize::new(0);
    let total = jws.len() * rounds;
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= total {
                        break;
                    }
                    let r = diwan_app::receipts::verify(s, jws[i % jws.len()].as_bytes()).unwrap();
                    assert!(r.valid, "{:?}", r.problems);
                }
            });
        }
    });
    let elapsed = started.elapsed();
    println!(
        "{name}: {:.0} JSON receipt verifications/s ({total} in {:.1} s, {threads} threads, online: signature, chain and CRLs, register and log)",
        total as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64(),
    );
}

/// Runs `job(0..count)` on `threads` threads, each taking the next index; the time it took.
fn on_threads(threads: usize, count: usize, job: impl Fn(usize) + Sync) -> Duration {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    job(i);
                }
            });
        }
    });
    started.elapsed()
}
