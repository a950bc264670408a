//! OCR through the `tesseract` program, when it is installed with the configured languages.
//!
//! Each image is written to a private temporary directory, `tesseract` is run on it with a
//! time limit (killed when it runs over), and its text file is read back. Nothing goes through
//! a pipe, so a large output cannot block the child.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Largest text kept from one image.
const MAX_TEXT_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug)]
pub struct Tesseract {
    program: PathBuf,
    languages: String,
    timeout: Duration,
    dir: PathBuf,
    counter: AtomicU64,
}

impl Tesseract {
    /// The OCR engine if `program` runs and knows every language of `languages` (`ara+fra`);
    /// otherwise why not.
    pub fn detect(
        program: &str,
        languages: &str,
        timeout: Duration,
        work_dir: &Path,
    ) -> Result<Self, String> {
        if languages.trim().is_empty() {
            return Err("no OCR languages configured".into());
        }
        let out = Command::new(program)
            .arg("--list-langs")
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| format!("{program} cannot be run: {e}"))?;
        // Older versions print the list on stderr.
        let listed = format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let known: Vec<&str> = listed.lines().map(str::trim).collect();
        let missing: Vec<&str> = languages
            .split('+')
            .filter(|l| !known.contains(l))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "{program} lacks the language data {}",
                missing.join(", ")
            ));
        }
        let dir = work_dir.join("ocr");
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(Self {
            program: PathBuf::from(program),
            languages: languages.to_owned(),
            timeout,
            dir,
            counter: AtomicU64::new(0),
        })
    }

    fn run(&self, image: &[u8]) -> Result<String, String> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let base = self.dir.join(format!("{}-{n}", std::process::id()));
        let input = base.with_extension("img");
        let output = base.with_extension("txt");
        std::fs::write(&input, image).map_err(|e| format!("writing the image: {e}"))?;
        let result = self.recognise_file(&input, &base, &output);
        let _ = std::fs::remove_file(&input);
        let _ = std::fs::remove_file(&output);
        result
    }

    fn recognise_file(&self, input: &Path, base: &Path, output: &Path) -> Result<String, String> {
        let mut child = Command::new(&self.program)
            .arg(input)
            .arg(base)
            .args(["-l", &self.languages])
            // One thread per run: the worker count bounds the CPU used.
            .env("OMP_THREAD_LIMIT", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{} cannot be run: {e}", self.program.display()))?;
        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if started.elapsed() > self.timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("OCR ran over {} s", self.timeout.as_secs()));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(25)),
                Err(e) => return Err(format!("waiting for OCR: {e}")),
            }
        };
        if !status.success() {
            return Err(format!("OCR failed ({status})"));
        }
        let len = std::fs::metadata(output)
            .map_err(|e| format!("OCR output: {e}"))?
            .len();
        if len > MAX_TEXT_BYTES {
            return Err("OCR output too large".into());
        }
        let text = std::fs::read(output).map_err(|e| format!("OCR output: {e}"))?;
        Ok(String::from_utf8_lossy(&text).into_owned())
    }
}

impl diwan_app::document_text::Ocr for Tesseract {
    fn recognise(&self, image: &[u8]) -> Result<String, String> {
        self.run(image)
    }
}
