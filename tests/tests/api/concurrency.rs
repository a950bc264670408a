//! 200 concurrent registrations into one register: exactly the numbers 1..200.
//! On PostgreSQL they go through two `diwan serve` processes sharing the database.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diwan_tests::{Backend, Sandbox, TestApp, get, letter, pdf, register};

const TOTAL: usize = 200;
const CLIENTS: usize = 20;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_process(sandbox: &Sandbox, port: u16) -> (Server, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_diwan-under-test"))
        .arg("serve")
        .env("DIWAN__SERVER__BIND", format!("127.0.0.1:{port}"))
        .env("DIWAN__SERVER__WORKERS", "2")
        .env("DIWAN__DATABASE__URL", &sandbox.database_url)
        .env("DIWAN__STORAGE__DATA_DIR", &sandbox.data_dir)
        .env("DIWAN__LOG__LEVEL", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = std::panic::catch_unwind(|| get(&format!("{base}/readyz"), None).status == 200)
            .unwrap_or(false);
        if ready {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "diwan serve on port {port} did not become ready"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (Server(child), base)
}

fn hammer(bases: &[String], token: &str) -> Vec<u64> {
    let numbers = std::sync::Mutex::new(Vec::with_capacity(TOTAL));
    std::thread::scope(|scope| {
        for client in 0..CLIENTS {
            let (numbers, base) = (&numbers, &bases[client % bases.len()]);
            scope.spawn(move || {
                for i in 0..TOTAL / CLIENTS {
                    let mut body = pdf(2048);
                    body.extend_from_slice(format!("% {client} {i}\n").as_bytes());
                    let r = register(
                        base,
                        token,
                        &letter("CENTRAL", &format!("client {client} letter {i}")),
                        &body,
                    );
                    assert_eq!(r.status, 201, "{}", r.text());
                    let number = r.json()["registration_number"].as_str().unwrap().to_owned();
                    let seq = number.rsplit('/').next().unwrap().parse::<u64>().unwrap();
                    numbers.lock().unwrap().push(seq);
                }
            });
        }
    });
    let mut numbers = numbers.into_inner().unwrap();
    numbers.sort_unstable();
    numbers
}

#[test]
fn concurrent_registrations_are_gapless_and_unique() {
    let app = TestApp::spawn();
    let token = app.login("registrar@demo.diwan");
    let numbers = match &app.sandbox.backend {
        Backend::Sqlite => hammer(std::slice::from_ref(&app.base), &token),
        Backend::Postgres { .. } => {
            let (_a, base_a) = start_process(&app.sandbox, free_port());
            let (_b, base_b) = start_process(&app.sandbox, free_port());
            hammer(&[base_a, base_b], &token)
        }
    };
    let expected: Vec<u64> = (1..=TOTAL as u64).collect();
    assert_eq!(numbers, expected);
    let page = get(
        &app.url("/api/v1/correspondences?registry=CENTRAL&limit=200"),
        Some(&token),
    )
    .json();
    assert_eq!(page["items"].as_array().unwrap().len(), TOTAL);
    let (blobs, staged) = app.stored_files();
    assert_eq!(blobs.len(), TOTAL, "one stored file per distinct content");
    assert!(staged.is_empty());
}
