//! The command line, run as a separate process, and the README's walk-through.

use std::io::Write as _;
use std::process::{Command, Stdio};

use diwan_tests::{Sandbox, TestApp, get};

fn diwan(sandbox: &Sandbox) -> Command {
    diwan_tests::diwan_command(env!("CARGO_BIN_EXE_diwan-under-test"), sandbox)
}

#[test]
fn migrate_import_and_admin_create_work_from_the_command_line() {
    let sandbox = Sandbox::new();
    let out = diwan(&sandbox).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let org = sandbox.data_dir.join("org.json");
    std::fs::write(&org, r#"{"administrations":[{"code":"PREF-FES","name_ar":"عمالة فاس","name_fr":"Préfecture de Fès",
        "units":[{"code":"FES","level":"provincial","name_ar":"العمالة","name_fr":"La préfecture",
                  "registries":[{"code":"FES","name_ar":"مكتب الضبط","name_fr":"Bureau d'ordre"}]}]}]}"#).unwrap();
    for _ in 0..2 {
        let out = diwan(&sandbox)
            .args(["org", "import"])
            .arg(&org)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("\"registries\":1"));
    }

    let mut child = diwan(&sandbox)
        .args([
            "admin",
            "create",
            "--email",
            "chef@fes.ma",
            "--role",
            "registrar",
            "--unit",
            "FES",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"une phrase de passe longue\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("chef@fes.ma") && !stdout.contains("phrase"),
        "{stdout}"
    );

    let out = diwan(&sandbox)
        .args(["indicators", "rebuild"])
        .output()
        .unwrap();
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("recounted"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = diwan(&sandbox)
        .arg("migrate")
        .env("DIWAN__SERVER__BINDD", "x")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bindd"),
        "the unknown key is named"
    );
}

#[test]
fn the_readme_walk_through_returns_a_registration_number() {
    let app = TestApp::spawn();
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let section = readme
        .split("## Walk-through with curl")
        .nth(1)
        .expect("a walk-through section");
    let script = section
        .split("```sh")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let script = script.replace("http://127.0.0.1:8080", &app.base);
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(&app.sandbox.data_dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let year = chrono::Utc::now().format("%Y").to_string();
    assert!(
        stdout.contains(&format!(
            "\"registration_number\":\"CENTRAL/A/{year}/000001\""
        )),
        "{stdout}"
    );
    let token = app.login("registrar@demo.diwan");
    let page = get(
        &app.url("/api/v1/correspondences?registry=CENTRAL"),
        Some(&token),
    )
    .json();
    assert_eq!(page["items"][0]["sender_name"], "فاطمة الزهراء بنعلي");
}

/// `diwan pki root` prints the trust anchor the server publishes, the same at every call.
#[test]
fn pki_root_prints_the_published_trust_anchor() {
    let app = TestApp::spawn();
    let root = || {
        let out = diwan(&app.sandbox).args(["pki", "root"]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let printed = root();
    assert!(
        printed.starts_with("-----BEGIN CERTIFICATE-----"),
        "{printed}"
    );
    diwan_pki::Certificate::from_pem(&printed).expect("a certificate");
    let served = get(&app.url("/api/v1/pki/root.pem"), None);
    assert_eq!(served.status, 200);
    assert_eq!(printed.trim_end(), served.text().trim_end());
    assert_eq!(root(), printed);
}
