//! A small synchronous W3C WebDriver client for browser tests of the web pages: it starts
//! `chromedriver` with a headless Chromium of its own and drives it over HTTP (JSON, `ureq`),
//! like the rest of the suite, without an async runtime.
//!
//! - `DIWAN_CHROMEDRIVER`: the `chromedriver` binary (else `/usr/bin/chromedriver`, else PATH);
//! - `DIWAN_CHROMIUM`: the browser (else `/usr/bin/chromium`, else PATH);
//! - `DIWAN_AXE_JS`: axe-core's `axe.min.js` (else `<workspace>/.ci/node_modules/axe-core/`,
//!   which `.ci/run` installs with `npm install --no-save --prefix .ci axe-core@4`).
//!
//! Screenshots, page sources and the driver's log go to [`artifacts_dir`]
//! (`$CARGO_TARGET_DIR/browser-artifacts/`, else `<workspace>/target/browser-artifacts/`). A
//! test that panics while a [`Browser`] is alive leaves a screenshot and the page source there.
//!
//! Scripts run through WebDriver's Execute Script, which Chromium evaluates through DevTools:
//! a page's Content-Security-Policy (`script-src 'self'`, no inline script) does not block them,
//! so axe-core is injected as plain source with [`Browser::execute`].
//!
//! JavaScript off ([`BrowserOptions::javascript`]) is DevTools' `Emulation.
//! setScriptExecutionDisabled` for the tab, sent through chromedriver's `goog/cdp/execute`; axe
//! lifts it for its own run (the page's scripts, never run, stay unrun).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

/// How long [`Browser::find`] and [`Element::find`] wait for an element to appear.
pub const FIND_WAIT: Duration = Duration::from_secs(5);

/// The axe-core rule tags that [`Browser::axe`] runs: WCAG 2.0 and 2.1, levels A and AA.
pub const AXE_TAGS: [&str; 4] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/// Runs axe-core (already in the page) with the tags in `arguments[0]`; calls back with
/// `{violations: [{id, impact, help, helpUrl, nodes: ["<selector> <html>"]}]}` or `{error}`.
const AXE_RUN: &str = "const done = arguments[arguments.length - 1];
   const short = (s) => s.length > 200 ? s.slice(0, 200) + '…' : s;
   window.axe.run(document, {
     runOnly: {type: 'tag', values: arguments[0]},
     resultTypes: ['violations'],
   }).then((r) => done({violations: r.violations.map((v) => ({
     id: v.id, impact: v.impact || '', help: v.help, helpUrl: v.helpUrl,
     nodes: v.nodes.map((n) =>
       n.target.map((t) => Array.isArray(t) ? t.join(' >> ') : String(t)).join(' | ')
       + ' ' + short(n.html)),
   }))}), (e) => done({error: String((e && e.stack) || e)}));";

/// The key under which WebDriver identifies an element in JSON.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Special keys for [`Element::send_keys`] (WebDriver code points).
pub mod keys {
    pub const BACKSPACE: &str = "\u{E003}";
    pub const TAB: &str = "\u{E004}";
    pub const ENTER: &str = "\u{E007}";
    pub const ESCAPE: &str = "\u{E00C}";
    pub const SPACE: &str = "\u{E00D}";
    pub const END: &str = "\u{E010}";
    pub const HOME: &str = "\u{E011}";
    pub const LEFT: &str = "\u{E012}";
    pub const UP: &str = "\u{E013}";
    pub const RIGHT: &str = "\u{E014}";
    pub const DOWN: &str = "\u{E015}";
    pub const DELETE: &str = "\u{E017}";
}

/// How the browser is started.
#[derive(Debug, Clone, PartialEq)]
pub struct BrowserOptions {
    /// Viewport width in CSS pixels. Below 600 the viewport is a mobile one (the page's
    /// `<meta name="viewport">` honoured; a touch screen unless JavaScript is off), as on a phone.
    pub width: u32,
    pub height: u32,
    /// `false`: the pages' scripts do not run (inline, external and event handlers; `<noscript>`
    /// is shown), as in a browser with JavaScript turned off. [`Browser::execute`] still works
    /// (not timers in [`Browser::execute_async`]); [`Browser::axe`] lifts the block while it runs.
    pub javascript: bool,
    /// The browser's languages, most preferred first, comma-separated without q-values
    /// (`"ar-MA,ar,fr"`): the UI language and the `Accept-Language` header. `None`: the default.
    pub accept_language: Option<&'static str>,
}

impl Default for BrowserOptions {
    /// A desktop window, 1280×900, JavaScript on, default languages.
    fn default() -> Self {
        Self {
            width: 1280,
            height: 900,
            javascript: true,
            accept_language: None,
        }
    }
}

impl BrowserOptions {
    /// A phone: 360×740, touch, JavaScript on.
    pub fn mobile() -> Self {
        Self {
            width: 360,
            height: 740,
            ..Self::default()
        }
    }

    /// Whether this viewport is a phone's.
    pub fn is_mobile(&self) -> bool {
        self.width < 600
    }
}

/// An error answered by the WebDriver server (`error` is the W3C error code, such as
/// `no such element` or `javascript error`), or a transport failure (`status` 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebDriverError {
    pub status: u16,
    pub error: String,
    pub message: String,
}

impl std::fmt::Display for WebDriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.error, self.status, self.message)
    }
}

/// An element's position and size in CSS pixels, relative to the document.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// One failed axe-core rule: its id (`image-alt`, `color-contrast`…), impact (`minor`,
/// `moderate`, `serious`, `critical`), help text and the offending nodes, each as
/// `"<CSS selector> <outer HTML, shortened>"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AxeViolation {
    pub id: String,
    pub impact: String,
    pub help: String,
    pub help_url: String,
    pub nodes: Vec<String>,
}

impl AxeViolation {
    /// `serious` or `critical`.
    pub fn is_serious(&self) -> bool {
        matches!(self.impact.as_str(), "serious" | "critical")
    }
}

impl std::fmt::Display for AxeViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "[{}] {}: {} ({})",
            self.impact, self.id, self.help, self.help_url
        )?;
        for n in &self.nodes {
            writeln!(f, "    {n}")?;
        }
        Ok(())
    }
}

/// The workspace's root directory.
pub fn workspace_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// Where screenshots, page sources and driver logs go (created if missing).
pub fn artifacts_dir() -> PathBuf {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(t) if Path::new(&t).is_absolute() => PathBuf::from(t),
        Some(t) => workspace_dir().join(t),
        None => workspace_dir().join("target"),
    };
    let dir = target.join("browser-artifacts");
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// A file name made of the name's letters, digits, `-` and `_` (others become `_`).
fn file_stem(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The program named by `var`, else the first of `defaults` that exists, else one on PATH.
fn locate(var: &str, defaults: &[&str], on_path: &[&str], what: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(var) {
        let p = PathBuf::from(p);
        assert!(p.is_file(), "{var}={} names no file ({what})", p.display());
        return p;
    }
    for d in defaults {
        if Path::new(d).is_file() {
            return PathBuf::from(d);
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in on_path {
            let p = dir.join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "{what} not found: set {var}, or install it (.ci/run does: apt-get install chromium chromium-driver)"
    )
}

/// axe-core's source, read once.
fn axe_source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let path = std::env::var_os("DIWAN_AXE_JS").map_or_else(
            || workspace_dir().join(".ci/node_modules/axe-core/axe.min.js"),
            PathBuf::from,
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "axe-core is missing at {} ({e}): set DIWAN_AXE_JS, or run \
                 `npm install --no-save --prefix .ci axe-core@4` in the workspace (.ci/run does)",
                path.display()
            )
        })
    })
}

/// The `chromedriver` process, killed on drop.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A headless Chromium driven through its own `chromedriver`; both stop on drop.
pub struct Browser {
    agent: ureq::Agent,
    /// `http://127.0.0.1:{port}/session/{id}`.
    session_url: String,
    session_id: String,
    log: PathBuf,
    options: BrowserOptions,
    // Dropped after `Drop::drop` has ended the session.
    _driver: Driver,
}

impl Browser {
    /// A desktop browser ([`BrowserOptions::default`]).
    pub fn start() -> Self {
        Self::start_with(BrowserOptions::default())
    }

    /// Starts `chromedriver` on a free port, waits until it is ready, and opens a session with
    /// a headless Chromium set up as `options` says.
    pub fn start_with(options: BrowserOptions) -> Self {
        let chromedriver = locate(
            "DIWAN_CHROMEDRIVER",
            &["/usr/bin/chromedriver"],
            &["chromedriver"],
            "chromedriver",
        );
        let chromium = locate(
            "DIWAN_CHROMIUM",
            &["/usr/bin/chromium"],
            &["chromium", "chromium-browser"],
            "Chromium",
        );
        let port = crate::free_port();
        let log = artifacts_dir().join(format!("chromedriver-{port}.log"));
        let child = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
        let mut driver = Driver(child);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(180)))
            .build()
            .into();
        let root = format!("http://127.0.0.1:{port}");

        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = driver.0.try_wait() {
                panic!("chromedriver exited at start ({status}){}", log_tail(&log));
            }
            let ready = agent
                .get(format!("{root}/status"))
                .call()
                .ok()
                .and_then(|mut r| r.body_mut().read_json::<Value>().ok())
                .is_some_and(|v| v["value"]["ready"] == true);
            if ready {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver on port {port} not ready after 30 s{}",
                log_tail(&log)
            );
            std::thread::sleep(Duration::from_millis(50));
        }

        let created = request(
            &agent,
            "POST",
            &format!("{root}/session"),
            Some(&capabilities(&chromium, &options)),
        )
        .unwrap_or_else(|e| {
            panic!(
                "cannot open a Chromium session ({}): {e}{}",
                chromium.display(),
                log_tail(&log)
            )
        });
        let Some(session_id) = created["sessionId"].as_str().map(str::to_owned) else {
            panic!("no session id in {created}{}", log_tail(&log));
        };
        let browser = Self {
            agent,
            session_url: format!("{root}/session/{session_id}"),
            session_id,
            log,
            options,
            _driver: driver,
        };
        if !browser.options.javascript {
            browser.set_scripts_disabled(true);
        }
        browser
    }

    /// Turns the pages' scripts off or on in this tab (DevTools' emulation, which stays across
    /// navigations). Chrome's content setting (`profile.managed_default_content_settings.
    /// javascript`) would turn them off as well, but also stops the timers that axe-core needs
    /// and cannot be lifted for its run.
    fn set_scripts_disabled(&self, disabled: bool) {
        self.cdp(
            "Emulation.setScriptExecutionDisabled",
            &json!({ "value": disabled }),
        );
    }

    /// Sends a Chrome DevTools Protocol command to the page through chromedriver
    /// (`POST /session/{id}/goog/cdp/execute`) and returns its result.
    pub fn cdp(&self, cmd: &str, params: &Value) -> Value {
        self.must(
            "POST",
            "/goog/cdp/execute",
            Some(&json!({"cmd": cmd, "params": params})),
            &format!("DevTools {cmd}"),
        )
    }

    /// The options the browser was started with.
    pub fn options(&self) -> &BrowserOptions {
        &self.options
    }

    /// The driver's log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Sends a command of this session (`path` after `/session/{id}`); the answer's `value`.
    pub fn command(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, WebDriverError> {
        request(
            &self.agent,
            method,
            &format!("{}{path}", self.session_url),
            body,
        )
    }

    /// Like [`Browser::command`], panicking on an error (with `what` and the page's address).
    fn must(&self, method: &str, path: &str, body: Option<&Value>, what: &str) -> Value {
        self.command(method, path, body)
            .unwrap_or_else(|e| self.fail(&format!("{what}: {e}")))
    }

    /// Panics with `msg`, the current address and the end of the driver's log.
    #[track_caller]
    fn fail(&self, msg: &str) -> ! {
        let url = self
            .command("GET", "/url", None)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        panic!("{msg}\n  page: {url}{}", log_tail(&self.log))
    }

    // ---- navigation

    /// Opens `url` and waits until the page has loaded.
    pub fn goto(&self, url: &str) {
        self.must(
            "POST",
            "/url",
            Some(&json!({"url": url})),
            &format!("open {url}"),
        );
    }

    pub fn current_url(&self) -> String {
        str_value(self.must("GET", "/url", None, "current URL"))
    }

    pub fn title(&self) -> String {
        str_value(self.must("GET", "/title", None, "title"))
    }

    /// The current DOM serialised as HTML.
    pub fn page_source(&self) -> String {
        str_value(self.must("GET", "/source", None, "page source"))
    }

    pub fn back(&self) {
        self.must("POST", "/back", Some(&json!({})), "back");
    }

    pub fn forward(&self) {
        self.must("POST", "/forward", Some(&json!({})), "forward");
    }

    pub fn refresh(&self) {
        self.must("POST", "/refresh", Some(&json!({})), "refresh");
    }

    // ---- elements

    /// The first element matching `css`, waiting up to [`FIND_WAIT`] for it; panics if none.
    #[track_caller]
    pub fn find(&self, css: &str) -> Element<'_> {
        self.find_in("", css)
    }

    /// The first element matching `css` now, if any.
    pub fn try_find(&self, css: &str) -> Option<Element<'_>> {
        self.try_find_in("", css)
    }

    /// Every element matching `css` now (possibly none).
    pub fn find_all(&self, css: &str) -> Vec<Element<'_>> {
        self.find_all_in("", css)
    }

    /// The element that has the focus.
    pub fn active_element(&self) -> Element<'_> {
        let v = self.must("GET", "/element/active", None, "active element");
        self.element_from(&v)
            .unwrap_or_else(|| self.fail(&format!("no active element: {v}")))
    }

    /// The element that a script returned (`return document.querySelector(…)`), if it is one.
    pub fn element_from(&self, v: &Value) -> Option<Element<'_>> {
        v[ELEMENT_KEY].as_str().map(|id| Element {
            browser: self,
            id: id.to_owned(),
        })
    }

    #[track_caller]
    fn find_in(&self, scope: &str, css: &str) -> Element<'_> {
        let deadline = Instant::now() + FIND_WAIT;
        loop {
            if let Some(e) = self.try_find_in(scope, css) {
                return e;
            }
            if Instant::now() >= deadline {
                self.fail(&format!(
                    "no element matches {css:?} after {} s",
                    FIND_WAIT.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn try_find_in(&self, scope: &str, css: &str) -> Option<Element<'_>> {
        let body = json!({"using": "css selector", "value": css});
        match self.command("POST", &format!("{scope}/element"), Some(&body)) {
            Ok(v) => self.element_from(&v),
            Err(e) if e.error == "no such element" => None,
            Err(e) => self.fail(&format!("find {css:?}: {e}")),
        }
    }

    fn find_all_in(&self, scope: &str, css: &str) -> Vec<Element<'_>> {
        let body = json!({"using": "css selector", "value": css});
        let v = self.must(
            "POST",
            &format!("{scope}/elements"),
            Some(&body),
            &format!("find all {css:?}"),
        );
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| self.element_from(e))
            .collect()
    }

    /// Waits up to `timeout` until `ready` holds; panics naming `what` otherwise.
    #[track_caller]
    pub fn wait_until(&self, what: &str, timeout: Duration, mut ready: impl FnMut(&Self) -> bool) {
        let deadline = Instant::now() + timeout;
        while !ready(self) {
            if Instant::now() >= deadline {
                self.fail(&format!("timed out after {timeout:?} waiting for {what}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    // ---- scripts

    /// Runs `script` as the body of a function (`arguments[i]` are `args`; pass elements with
    /// [`Element::to_json`]) and returns what it returns. Works with JavaScript disabled and
    /// under any Content-Security-Policy.
    pub fn execute(&self, script: &str, args: &[Value]) -> Value {
        self.try_execute(script, args)
            .unwrap_or_else(|e| self.fail(&format!("script failed: {e}")))
    }

    /// Like [`Browser::execute`], returning the error (`javascript error`…) instead.
    pub fn try_execute(&self, script: &str, args: &[Value]) -> Result<Value, WebDriverError> {
        self.command(
            "POST",
            "/execute/sync",
            Some(&json!({"script": script, "args": args})),
        )
    }

    /// Runs `script` with a callback as its last argument and returns the value passed to it
    /// (`arguments[arguments.length - 1](result)`); the script timeout is 60 s.
    pub fn execute_async(&self, script: &str, args: &[Value]) -> Value {
        self.must(
            "POST",
            "/execute/async",
            Some(&json!({"script": script, "args": args})),
            "asynchronous script",
        )
    }

    // ---- dialogs and cookies

    /// The text of the open `alert`/`confirm`/`prompt`, if one is open.
    pub fn alert_text(&self) -> Option<String> {
        self.command("GET", "/alert/text", None).ok().map(str_value)
    }

    pub fn accept_alert(&self) {
        self.must(
            "POST",
            "/alert/accept",
            Some(&json!({})),
            "accept the dialog",
        );
    }

    pub fn dismiss_alert(&self) {
        self.must(
            "POST",
            "/alert/dismiss",
            Some(&json!({})),
            "dismiss the dialog",
        );
    }

    /// The cookies visible to the current page (W3C cookie objects: `name`, `value`,
    /// `httpOnly`, `secure`, `sameSite`…).
    pub fn cookies(&self) -> Vec<Value> {
        match self.must("GET", "/cookie", None, "cookies") {
            Value::Array(a) => a,
            _ => Vec::new(),
        }
    }

    pub fn delete_all_cookies(&self) {
        self.must("DELETE", "/cookie", None, "delete cookies");
    }

    // ---- screenshots

    /// A PNG of the viewport.
    pub fn screenshot_png(&self) -> Vec<u8> {
        let v = self.must("GET", "/screenshot", None, "screenshot");
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .unwrap_or_else(|e| self.fail(&format!("screenshot is not base64: {e}")))
    }

    /// Writes a screenshot to `<artifacts>/<name>.png`, prints and returns its path.
    pub fn save_screenshot(&self, name: &str) -> PathBuf {
        let path = artifacts_dir().join(format!("{}.png", file_stem(name)));
        std::fs::write(&path, self.screenshot_png())
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        println!("screenshot: {}", path.display());
        path
    }

    /// Writes the page source to `<artifacts>/<name>.html`, prints and returns its path.
    pub fn save_page_source(&self, name: &str) -> PathBuf {
        let path = artifacts_dir().join(format!("{}.html", file_stem(name)));
        std::fs::write(&path, self.page_source())
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        println!("page source: {}", path.display());
        path
    }

    // ---- accessibility

    /// Runs axe-core on the current page (rules tagged [`AXE_TAGS`]) and returns the
    /// violations. Panics if axe-core is missing or fails.
    pub fn axe(&self) -> Vec<AxeViolation> {
        if !self.options.javascript {
            self.set_scripts_disabled(false);
        }
        let result = self.run_axe();
        if !self.options.javascript {
            self.set_scripts_disabled(true);
        }
        result.unwrap_or_else(|e| self.fail(&e))
    }

    fn run_axe(&self) -> Result<Vec<AxeViolation>, String> {
        let present = self
            .try_execute("return typeof window.axe === 'object';", &[])
            .map_err(|e| format!("script: {e}"))?;
        if present != true {
            let loaded = self
                .try_execute(
                    &format!("{}\n;return typeof window.axe;", axe_source()),
                    &[],
                )
                .map_err(|e| format!("injecting axe-core: {e}"))?;
            if loaded != "object" {
                return Err(format!("axe-core did not load into the page ({loaded})"));
            }
        }
        let result = self
            .command(
                "POST",
                "/execute/async",
                Some(&json!({"script": AXE_RUN, "args": [AXE_TAGS]})),
            )
            .map_err(|e| format!("axe.run: {e}"))?;
        if let Some(e) = result["error"].as_str() {
            return Err(format!("axe.run failed: {e}"));
        }
        let Some(list) = result["violations"].as_array() else {
            return Err(format!("axe.run returned no violation list: {result}"));
        };
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        Ok(list
            .iter()
            .map(|v| AxeViolation {
                id: text(&v["id"]),
                impact: text(&v["impact"]),
                help: text(&v["help"]),
                help_url: text(&v["helpUrl"]),
                nodes: v["nodes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(text)
                    .collect(),
            })
            .collect())
    }

    /// Runs axe-core, prints every violation, and panics (after saving a screenshot named
    /// `axe-<page_name>`) if any is `serious` or `critical`. Returns all the violations.
    #[track_caller]
    pub fn assert_no_serious_axe(&self, page_name: &str) -> Vec<AxeViolation> {
        let all = self.axe();
        let url = self.current_url();
        println!("axe on {page_name} ({url}): {} violation(s)", all.len());
        for v in &all {
            print!("  {v}");
        }
        let serious: Vec<&AxeViolation> = all.iter().filter(|v| v.is_serious()).collect();
        if !serious.is_empty() {
            self.save_screenshot(&format!("axe-{page_name}"));
            let list: String = serious.iter().map(|v| format!("  {v}")).collect();
            panic!(
                "{page_name} ({url}) has {} serious or critical accessibility violation(s):\n{list}",
                serious.len()
            );
        }
        all
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let stem = format!(
                "failure-{}",
                self.session_id.get(..8).unwrap_or(&self.session_id)
            );
            let dir = artifacts_dir();
            if let Ok(v) = self.command("GET", "/screenshot", None)
                && let Ok(png) =
                    base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap_or(""))
            {
                let path = dir.join(format!("{stem}.png"));
                if std::fs::write(&path, png).is_ok() {
                    eprintln!("browser: screenshot at failure: {}", path.display());
                }
            }
            if let Ok(Value::String(html)) = self.command("GET", "/source", None) {
                let path = dir.join(format!("{stem}.html"));
                if std::fs::write(&path, html).is_ok() {
                    eprintln!("browser: page source at failure: {}", path.display());
                }
            }
            eprintln!("browser: chromedriver log: {}", self.log.display());
        }
        let _ = request(&self.agent, "DELETE", &self.session_url, None);
        if !std::thread::panicking() {
            // Kept only for failures: it holds every script sent, axe-core's included.
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// An element of the page (it goes stale when the page changes).
pub struct Element<'b> {
    browser: &'b Browser,
    id: String,
}

impl std::fmt::Debug for Element<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Element({})", self.id)
    }
}

impl<'b> Element<'b> {
    /// The element as a script argument.
    pub fn to_json(&self) -> Value {
        json!({ ELEMENT_KEY: self.id })
    }

    fn get(&self, what: &str) -> Value {
        self.browser.must(
            "GET",
            &format!("/element/{}/{what}", self.id),
            None,
            &format!("element {what}"),
        )
    }

    fn post(&self, what: &str, body: &Value) {
        self.browser.must(
            "POST",
            &format!("/element/{}/{what}", self.id),
            Some(body),
            &format!("element {what}"),
        );
    }

    /// The first descendant matching `css`, waiting up to [`FIND_WAIT`].
    #[track_caller]
    pub fn find(&self, css: &str) -> Element<'b> {
        self.browser.find_in(&format!("/element/{}", self.id), css)
    }

    pub fn try_find(&self, css: &str) -> Option<Element<'b>> {
        self.browser
            .try_find_in(&format!("/element/{}", self.id), css)
    }

    pub fn find_all(&self, css: &str) -> Vec<Element<'b>> {
        self.browser
            .find_all_in(&format!("/element/{}", self.id), css)
    }

    /// The rendered text (what a reader sees; empty when hidden).
    pub fn text(&self) -> String {
        str_value(self.get("text"))
    }

    /// The lower-case tag name.
    pub fn tag_name(&self) -> String {
        str_value(self.get("name")).to_lowercase()
    }

    /// The HTML attribute, if present.
    pub fn attr(&self, name: &str) -> Option<String> {
        match self.get(&format!("attribute/{name}")) {
            Value::Null => None,
            v => Some(str_value(v)),
        }
    }

    /// The DOM property (`value`, `checked`, `validity`…) as JSON.
    pub fn property(&self, name: &str) -> Value {
        self.get(&format!("property/{name}"))
    }

    /// The computed CSS value (`color` → `rgba(…)`).
    pub fn css_value(&self, name: &str) -> String {
        str_value(self.get(&format!("css/{name}")))
    }

    pub fn rect(&self) -> Rect {
        let v = self.get("rect");
        let n = |k: &str| v[k].as_f64().unwrap_or_default();
        Rect {
            x: n("x"),
            y: n("y"),
            width: n("width"),
            height: n("height"),
        }
    }

    /// The outer HTML.
    pub fn html(&self) -> String {
        str_value(self.property("outerHTML"))
    }

    pub fn is_displayed(&self) -> bool {
        self.get("displayed") == true
    }

    pub fn is_enabled(&self) -> bool {
        self.get("enabled") == true
    }

    /// Whether a checkbox, radio button or option is checked/selected.
    pub fn is_selected(&self) -> bool {
        self.get("selected") == true
    }

    /// Scrolls the element into view and clicks its centre (waits for a navigation it starts).
    pub fn click(&self) {
        self.post("click", &json!({}));
    }

    pub fn clear(&self) {
        self.post("clear", &json!({}));
    }

    /// Types `text` (see [`keys`]). On `<input type=file>` it gives the files' local paths,
    /// joined by `"\n"` for a `multiple` input.
    pub fn send_keys(&self, text: &str) {
        self.post("value", &json!({"text": text}));
    }

    /// Chooses the `<option>` of this `<select>` whose value is `value` (as a click would).
    #[track_caller]
    pub fn select_by_value(&self, value: &str) {
        let option = self
            .find_all("option")
            .into_iter()
            .find(|o| o.property("value") == value);
        match option {
            Some(o) => o.click(),
            None => self
                .browser
                .fail(&format!("no <option value={value:?}> in {}", self.html())),
        }
    }

    /// Chooses the `<option>` of this `<select>` whose text is `label`.
    #[track_caller]
    pub fn select_by_text(&self, label: &str) {
        let option = self
            .find_all("option")
            .into_iter()
            .find(|o| o.text().trim() == label);
        match option {
            Some(o) => o.click(),
            None => self
                .browser
                .fail(&format!("no <option> reading {label:?} in {}", self.html())),
        }
    }
}

/// The W3C new-session capabilities for Chromium as `options` says.
fn capabilities(chromium: &Path, options: &BrowserOptions) -> Value {
    let mut args = vec![
        "--headless=new".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--disable-gpu".to_owned(),
        "--no-first-run".to_owned(),
        "--disable-extensions".to_owned(),
        format!("--window-size={},{}", options.width, options.height),
    ];
    let mut prefs = serde_json::Map::new();
    if let Some(langs) = options.accept_language {
        let first = langs.split(',').next().unwrap_or(langs).trim();
        args.push(format!("--lang={first}"));
        prefs.insert("intl.accept_languages".into(), json!(langs));
    }
    let mobile = options.is_mobile();
    // chromedriver taps instead of clicking on a touch screen, and a tap never completes in a
    // tab whose scripts are off: no touch then.
    let touch = mobile && options.javascript;
    json!({"capabilities": {"alwaysMatch": {
        "browserName": "chrome",
        "pageLoadStrategy": "normal",
        "timeouts": {"implicit": 0, "pageLoad": 60_000, "script": 60_000},
        "goog:chromeOptions": {
            "binary": chromium.display().to_string(),
            "args": args,
            "prefs": prefs,
            // The window cannot be narrower than about 500 pixels: the viewport is emulated.
            "mobileEmulation": {"deviceMetrics": {
                "width": options.width, "height": options.height, "pixelRatio": 1.0,
                "mobile": mobile, "touch": touch,
            }},
        },
    }}})
}

/// Sends one WebDriver request; the answer's `value`, or its error.
fn request(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    body: Option<&Value>,
) -> Result<Value, WebDriverError> {
    let transport = |e: ureq::Error| WebDriverError {
        status: 0,
        error: "transport".into(),
        message: e.to_string(),
    };
    let response = match (method, body) {
        ("GET", _) => agent.get(url).call(),
        ("DELETE", _) => agent.delete(url).call(),
        ("POST", Some(b)) => agent.post(url).send_json(b),
        ("POST", None) => agent.post(url).send_json(json!({})),
        (other, _) => {
            return Err(WebDriverError {
                status: 0,
                error: "unsupported method".into(),
                message: other.into(),
            });
        }
    };
    let mut response = response.map_err(transport)?;
    let status = response.status().as_u16();
    let answer: Value = response
        .body_mut()
        .with_config()
        .limit(256 * 1024 * 1024)
        .read_json()
        .map_err(transport)?;
    let value = answer.get("value").cloned().unwrap_or(Value::Null);
    if status == 200 {
        Ok(value)
    } else {
        Err(WebDriverError {
            status,
            error: value["error"]
                .as_str()
                .unwrap_or("unknown error")
                .to_owned(),
            message: value["message"].as_str().unwrap_or_default().to_owned(),
        })
    }
}

fn str_value(v: Value) -> String {
    match v {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The last lines of the driver's log, for failure messages.
fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(30)..]
        .iter()
        .map(|l| l.chars().take(400).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n");
    format!(
        "\n  chromedriver log ({}), last lines:\n{tail}",
        log.display()
    )
}
