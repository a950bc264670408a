//! Test support: a Diwan server of its own per test (fresh SQLite file or fresh PostgreSQL
//! database, fresh data directory, port 0), an HTTP client, and multipart bodies.
//!
//! The backend comes from `DIWAN_TEST_BACKEND` (`sqlite`, the default, or `postgres`); the
//! PostgreSQL server from `DIWAN_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432`).
//!
//! [`browser`] drives a headless Chromium through WebDriver for the web pages, with axe-core.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test support: a failure is a test failure"
)]

pub mod bench;
pub mod browser;
pub mod docs;
pub mod smtp;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use diwan_app::Clock;
use diwan_db::Database;
use diwan_server::RunningServer as Running;
use diwan_server::{Installation, Settings};
use serde_json::Value;

pub use browser::{AxeViolation, Browser, BrowserOptions, Element};

/// Which database the suite runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres { server: String },
}

impl Backend {
    pub fn from_env() -> Self {
        match std::env::var("DIWAN_TEST_BACKEND").as_deref() {
            Ok("postgres") => Self::Postgres {
                server: std::env::var("DIWAN_TEST_PG_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into()),
            },
            _ => Self::Sqlite,
        }
    }
}

/// A clock the test can move forward.
#[derive(Debug, Default)]
pub struct TestClock {
    offset: Mutex<chrono::Duration>,
}

impl TestClock {
    pub fn advance(&self, by: chrono::Duration) {
        *self.offset.lock().unwrap() += by;
    }

    /// Moves the clock so that it now reads `at` (and goes on from there).
    pub fn set(&self, at: DateTime<Utc>) {
        *self.offset.lock().unwrap() = at - Utc::now();
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + *self.offset.lock().unwrap()
    }
}

/// A fresh database and data directory, torn down on drop.
#[derive(Debug)]
pub struct Sandbox {
    pub backend: Backend,
    pub data_dir: PathBuf,
    pub database_url: String,
    pg_database: Option<String>,
}

impl Sandbox {
    /// A sandbox on the backend named by the environment.
    pub fn new() -> Self {
        Self::on(Backend::from_env())
    }

    pub fn on(backend: Backend) -> Self {
        let name = format!(
            "diwan_t_{}",
            // The random end of the id (its start is the time, shared by sandboxes made at once).
            diwan_app::ids::new_id().unwrap().replace('-', "")[12..].to_owned()
        );
        let data_dir = std::env::temp_dir().join(&name);
        std::fs::create_dir_all(&data_dir).unwrap();
        let (database_url, pg_database) = match &backend {
            Backend::Sqlite => (
                format!("sqlite://{}", data_dir.join("diwan.db").display()),
                None,
            ),
            Backend::Postgres { server } => {
                Database::create_postgres_database(&pg_url(server, "postgres"), &name)
                    .expect("create a PostgreSQL test database");
                (pg_url(server, &name), Some(name))
            }
        };
        Self {
            backend,
            data_dir,
            database_url,
            pg_database,
        }
    }
}

/// The URL of database `name` on `server`. GSSAPI encryption is turned off unless the server URL
/// says otherwise: libpq would try it on every connection, and Kerberos tears its locks down at
/// process exit while a pool thread may still be connecting, which aborts a test binary whose
/// tests all passed.
fn pg_url(server: &str, name: &str) -> String {
    match server.split_once('?') {
        Some((base, query)) => format!("{base}/{name}?{query}"),
        None => format!("{server}/{name}?gssencmode=disable"),
    }
}

impl Sandbox {
    /// Settings for this sandbox, with extra `DIWAN__…` variables.
    pub fn settings(&self, extra: &[(&str, &str)]) -> Settings {
        let mut vars = vec![
            ("DIWAN__SERVER__BIND".to_owned(), "127.0.0.1:0".to_owned()),
            ("DIWAN__SERVER__WORKERS".to_owned(), "2".to_owned()),
            ("DIWAN__DATABASE__URL".to_owned(), self.database_url.clone()),
            ("DIWAN__DATABASE__POOL_SIZE".to_owned(), "4".to_owned()),
            (
                "DIWAN__STORAGE__DATA_DIR".to_owned(),
                self.data_dir.display().to_string(),
            ),
        ];
        vars.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        Settings::from_layers(None, &vars).unwrap()
    }
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // A background worker of the stopped server may still be writing a file there (a
        // receipt PDF, an outbox mail): removing the tree then fails on a directory it just
        // filled, so try again for a while rather than leave the data behind in /tmp.
        for _ in 0..20 {
            if std::fs::remove_dir_all(&self.data_dir).is_ok() || !self.data_dir.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        if let (Some(name), Backend::Postgres { server }) = (&self.pg_database, &self.backend) {
            let _ = Database::drop_postgres_database(&pg_url(server, "postgres"), name);
        }
    }
}

/// A running server with the demo organisation and agents.
pub struct TestApp {
    pub base: String,
    pub inst: Installation,
    pub clock: Arc<TestClock>,
    running: Running,
    // Dropped last: the server must stop before its database goes.
    pub sandbox: Sandbox,
}

/// The in-process servers' errors (a 500's detail, which its answer does not carry), written
/// through the test harness's capture: shown with the output of a test that fails.
fn log_errors() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("error"))
            .with_test_writer()
            .try_init();
    });
}

impl TestApp {
    pub fn spawn() -> Self {
        Self::spawn_with(&[])
    }

    pub fn spawn_with(extra: &[(&str, &str)]) -> Self {
        Self::spawn_on(Sandbox::new(), extra)
    }

    pub fn spawn_on(sandbox: Sandbox, extra: &[(&str, &str)]) -> Self {
        log_errors();
        let settings = sandbox.settings(extra);
        let mut inst = Installation::open(&settings).unwrap();
        let clock = Arc::new(TestClock::default());
        inst.services.clock = clock.clone();
        diwan_server::demo::load(&inst.services).unwrap();
        inst.start(&settings, true).unwrap();
        let running = diwan_server::spawn(&settings, inst.services.clone()).unwrap();
        Self {
            base: format!("http://{}", running.addr),
            inst,
            clock,
            running,
            sandbox,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Logs in and returns the bearer token.
    pub fn login(&self, email: &str) -> String {
        self.login_with(email, diwan_server::demo::DEMO_PASSWORD)
    }

    pub fn login_with(&self, email: &str, password: &str) -> String {
        let r = post_json(
            &self.url("/api/v1/auth/login"),
            None,
            &serde_json::json!({"email": email, "password": password}),
        );
        assert_eq!(r.status, 200, "login of {email}: {}", r.text());
        r.json()["token"].as_str().unwrap().to_owned()
    }

    /// The bytes of a correspondence's first file, read back through the API.
    pub fn first_file(&self, token: &str, id: &str) -> Vec<u8> {
        let c = get(
            &self.url(&format!("/api/v1/correspondences/{id}")),
            Some(token),
        );
        assert_eq!(c.status, 200, "{}", c.text());
        let file_id = c.json()["files"][0]["id"].as_str().unwrap().to_owned();
        let f = get(
            &self.url(&format!("/api/v1/correspondences/{id}/files/{file_id}")),
            Some(token),
        );
        assert_eq!(f.status, 200);
        f.body
    }

    /// Files in the blob store and in the staging area. Also checks that pack segments hold
    /// exactly the bytes the index points to (nothing unreferenced).
    pub fn stored_files(&self) -> (Vec<String>, Vec<String>) {
        let (on_disk, indexed) = self.inst.blobs.pack_bytes().unwrap();
        assert_eq!(on_disk, indexed, "pack segments hold unreferenced bytes");
        let mut blobs = self.inst.blobs.list().unwrap();
        blobs.sort();
        (blobs, self.inst.blobs.staged().unwrap())
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        drop(self.running.handle.stop(false));
        // No worker writes into the sandbox once it is being removed.
        self.inst.services.workers.stop();
    }
}

/// An HTTP response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Asserts a problem+json with this status and code.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{}", self.text());
        assert_eq!(
            self.content_type,
            "application/problem+json",
            "{}",
            self.text()
        );
        assert_eq!(self.json()["code"], code, "{}", self.text());
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

fn read(mut r: ureq::http::Response<ureq::Body>) -> Resp {
    let status = r.status().as_u16();
    let headers = r
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect::<Vec<_>>();
    let content_type = headers
        .iter()
        .find(|(k, _)| k == "content-type")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let body = r
        .body_mut()
        .with_config()
        .limit(512 * 1024 * 1024)
        .read_to_vec()
        .unwrap_or_default();
    Resp {
        status,
        content_type,
        headers,
        body,
    }
}

fn bearer(token: Option<&str>) -> Option<String> {
    token.map(|t| format!("Bearer {t}"))
}

pub fn get(url: &str, token: Option<&str>) -> Resp {
    let mut req = agent().get(url);
    if let Some(b) = bearer(token) {
        req = req.header("Authorization", &b);
    }
    read(req.call().unwrap())
}

pub fn send(method: &str, url: &str, token: Option<&str>, content_type: &str, body: &[u8]) -> Resp {
    let a = agent();
    let mut req = match method {
        "POST" => a.post(url),
        "PUT" => a.put(url),
        "DELETE" => a.delete(url).force_send_body(),
        other => panic!("method {other}"),
    }
    .header("Content-Type", content_type);
    if let Some(b) = bearer(token) {
        req = req.header("Authorization", &b);
    }
    read(req.send(body).unwrap())
}

pub fn post_json(url: &str, token: Option<&str>, body: &Value) -> Resp {
    send(
        "POST",
        url,
        token,
        "application/json",
        body.to_string().as_bytes(),
    )
}

/// A multipart body: `(part name, file name, content type, bytes)`.
pub fn multipart(parts: &[(&str, Option<&str>, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = format!("diwan-{}", diwan_app::ids::new_id().unwrap());
    let mut body = Vec::new();
    for (name, filename, ct, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match filename {
            Some(f) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n")
                    .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(format!("Content-Type: {ct}\r\n\r\n").as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A PDF-looking file of exactly `size` bytes (at least 24): header, a padding comment, `%%EOF`.
pub fn pdf(size: usize) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n%".to_vec();
    let tail = b"\n%%EOF\n";
    while out.len() + tail.len() < size {
        out.push(b'p');
    }
    out.extend_from_slice(tail);
    out
}

/// Metadata of an incoming letter to the given registry.
pub fn letter(registry: &str, subject: &str) -> Value {
    serde_json::json!({
        "registry": registry,
        "direction": "incoming",
        "channel": "portal",
        "subject": subject,
        "sender": {"kind": "person", "name": "فاطمة الزهراء بنعلي", "national_id": "AB123456", "email": "fz@example.ma"},
        "recipient": {"kind": "administration", "name": "Ministère", "unit": "ADM-CENTRALE"}
    })
}

/// pyHanko's `sign validate` of `pdf` with `root` (PEM) as the only trust anchor, revocation
/// not checked: whether it exits 0, and what it printed.
pub fn pyhanko_validate(root: &str, pdf: &str) -> (bool, String) {
    run_tool(
        "pyhanko",
        &[
            "sign",
            "validate",
            "--trust",
            root,
            "--trust-replace",
            "--no-revocation-check",
            pdf,
        ],
    )
}

/// Percent-encodes `s` for a URL's query (unreserved characters kept).
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Registers `metadata` with one PDF; returns the response.
pub fn register(base: &str, token: &str, metadata: &Value, pdf_bytes: &[u8]) -> Resp {
    let meta = metadata.to_string();
    let (ct, body) = multipart(&[
        ("metadata", None, "application/json", meta.as_bytes()),
        ("file", Some("letter.pdf"), "application/pdf", pdf_bytes),
    ]);
    send(
        "POST",
        &format!("{base}/api/v1/correspondences"),
        Some(token),
        &ct,
        &body,
    )
}

/// A `diwan serve` process, killed on drop.
pub struct ServerProcess(pub std::process::Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The `diwan` binary `bin` (tests pass `env!("CARGO_BIN_EXE_diwan-under-test")`) set up to
/// use the sandbox's database and data directory.
pub fn diwan_command(bin: &str, sandbox: &Sandbox) -> std::process::Command {
    let mut c = std::process::Command::new(bin);
    c.env("DIWAN__DATABASE__URL", &sandbox.database_url)
        .env("DIWAN__STORAGE__DATA_DIR", &sandbox.data_dir)
        .env("DIWAN__LOG__LEVEL", "warn");
    c
}

/// Starts `diwan serve --demo` on the sandbox's database, with extra `DIWAN__…` settings, and
/// waits until it is ready.
pub fn start_server(
    bin: &str,
    sandbox: &Sandbox,
    extra: &[(&str, &str)],
) -> (ServerProcess, String) {
    start_server_at(bin, sandbox, extra, free_port())
}

/// [`start_server`] on a given port (a server started again where its peers expect it).
pub fn start_server_at(
    bin: &str,
    sandbox: &Sandbox,
    extra: &[(&str, &str)],
    port: u16,
) -> (ServerProcess, String) {
    let mut cmd = diwan_command(bin, sandbox);
    cmd.args(["serve", "--demo"])
        .env("DIWAN__SERVER__BIND", format!("127.0.0.1:{port}"))
        .env("DIWAN__SERVER__WORKERS", "2")
        .stdout(std::process::Stdio::null());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let child = ServerProcess(cmd.spawn().unwrap());
    let base = format!("http://127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let ready = std::panic::catch_unwind(|| get(&format!("{base}/readyz"), None).status == 200)
            .unwrap_or(false);
        if ready {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "diwan serve on port {port} did not become ready"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    (child, base)
}

/// Runs a command and returns (success, stdout + stderr); panics if it cannot start.
pub fn run_tool(program: &str, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} (.ci/run installs it): {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The key of a certificate made by [`ExternalCa::issue`].
#[derive(Debug, Clone, Copy)]
pub enum KeyKind {
    P256,
    Rsa2048,
}

/// A certification authority outside Diwan, made with the openssl command line: files named
/// `{name}-…` in a directory, a P-256 root (`ca.pem`, `ca.key`) that issues end-entity
/// certificates for signing (digitalSignature, nonRepudiation).
pub struct ExternalCa {
    dir: std::path::PathBuf,
    name: String,
}

impl ExternalCa {
    pub fn new(dir: &std::path::Path, name: &str, subject: &str) -> Self {
        let ca = Self {
            dir: dir.to_owned(),
            name: name.to_owned(),
        };
        std::fs::write(
            ca.path("leaf.ext"),
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n",
        )
        .unwrap();
        ca.genkey(KeyKind::P256, "ca.key");
        let (key, pem) = (ca.path("ca.key"), ca.path("ca.pem"));
        openssl(&[
            "req",
            "-x509",
            "-new",
            "-key",
            &key,
            "-sha256",
            "-days",
            "3650",
            "-subj",
            subject,
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-out",
            &pem,
        ]);
        ca
    }

    /// The path of one of this authority's files.
    pub fn path(&self, file: &str) -> String {
        self.dir
            .join(format!("{}-{file}", self.name))
            .to_str()
            .unwrap()
            .to_owned()
    }

    /// A new key (`{leaf}.key`, PKCS#8 for RSA) and its certificate (`{leaf}.pem`).
    pub fn issue(&self, kind: KeyKind, leaf: &str, subject: &str) {
        let (key, csr, pem) = (
            self.path(&format!("{leaf}.key")),
            self.path(&format!("{leaf}.csr")),
            self.path(&format!("{leaf}.pem")),
        );
        self.genkey(kind, &format!("{leaf}.key"));
        openssl(&["req", "-new", "-key", &key, "-subj", subject, "-out", &csr]);
        openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &self.path("ca.pem"),
            "-CAkey",
            &self.path("ca.key"),
            "-CAcreateserial",
            "-days",
            "365",
            "-sha256",
            "-extfile",
            &self.path("leaf.ext"),
            "-out",
            &pem,
        ]);
    }

    /// The key and certificate of `leaf`, with the root, in `{leaf}.p12`; its path.
    pub fn pkcs12(&self, leaf: &str, password: &str) -> String {
        let p12 = self.path(&format!("{leaf}.p12"));
        openssl(&[
            "pkcs12",
            "-export",
            "-inkey",
            &self.path(&format!("{leaf}.key")),
            "-in",
            &self.path(&format!("{leaf}.pem")),
            "-certfile",
            &self.path("ca.pem"),
            "-passout",
            &format!("pass:{password}"),
            "-out",
            &p12,
        ]);
        p12
    }

    fn genkey(&self, kind: KeyKind, file: &str) {
        let out = self.path(file);
        match kind {
            KeyKind::P256 => openssl(&[
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
                &out,
            ]),
            KeyKind::Rsa2048 => openssl(&[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
                &out,
            ]),
        }
    }
}

fn openssl(args: &[&str]) {
    let (ok, out) = run_tool("openssl", args);
    assert!(ok, "openssl {args:?}: {out}");
}
