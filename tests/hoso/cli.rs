//! The `hoso` binary as users and scripts run it: exit codes, messages, a real server.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn hoso() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hoso"));
    command.current_dir(env!("CARGO_MANIFEST_DIR"));
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("HOSO_")) {
        command.env_remove(key);
    }
    command
}

fn run(command: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("hoso runs");
    let code = status.code().expect("exited normally");
    (
        code,
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

#[test]
fn help_lists_the_job_subcommands() {
    let (code, stdout, _) = run(hoso().arg("--help"));
    assert_eq!(code, 0);
    for command in [
        "serve", "ocr", "sign", "verify", "search", "ingest", "trust", "config",
    ] {
        assert!(
            stdout.contains(&format!("  {command} ")),
            "--help should list {command}"
        );
    }
}

#[test]
fn unknown_flags_and_bad_values_exit_with_code_2_and_a_vietnamese_message() {
    let (code, _, stderr) = run(hoso().args(["serve", "--no-such-flag"]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("lỗi [usage]") && stderr.contains("--no-such-flag"),
        "{stderr}"
    );

    let (code, _, stderr) = run(hoso().args(["serve", "--listen", "not-an-address"]));
    assert_eq!(code, 2, "{stderr}");

    let (code, _, stderr) = run(hoso().arg("serve").env("HOSO_LISTEN", "localhost"));
    assert_eq!(
        code, 2,
        "a bad environment value is a usage error too: {stderr}"
    );

    let (code, _, stderr) = run(hoso().args(["config", "--database-url", "mysql://root@db/x"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("lỗi [config-invalid-value]"), "{stderr}");

    let (code, _, _) = run(hoso().args(["config", "--jobs", "0"]));
    assert_eq!(code, 2);
}

#[test]
fn config_file_environment_and_flags_layer_in_that_order() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hoso.toml");
    std::fs::write(
        &file,
        "listen = \"0.0.0.0:9000\"\ndata_dir = \"/srv/from-file\"\njobs = 3\n",
    )
    .unwrap();

    let (code, stdout, stderr) = run(hoso().arg("config").env("HOSO_CONFIG", &file));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("listen = \"0.0.0.0:9000\""), "{stdout}");
    assert!(
        stdout.contains("database_url = \"sqlite:/srv/from-file/hoso.db\""),
        "{stdout}"
    );
    assert!(stdout.contains("jobs = 3"), "{stdout}");

    let (_, stdout, _) = run(hoso()
        .arg("config")
        .env("HOSO_CONFIG", &file)
        .env("HOSO_DATA_DIR", "/srv/from-env")
        .env(
            "HOSO_DATABASE_URL",
            "postgres://hoso:secret@db.internal/hoso",
        ));
    assert!(stdout.contains("data_dir = \"/srv/from-env\""), "{stdout}");
    assert!(
        stdout.contains("postgres://hoso:***@db.internal/hoso"),
        "password must be hidden: {stdout}"
    );

    let (_, stdout, _) = run(hoso()
        .args(["config", "--data-dir", "/srv/from-flag"])
        .env("HOSO_CONFIG", &file)
        .env("HOSO_DATA_DIR", "/srv/from-env"));
    assert!(stdout.contains("data_dir = \"/srv/from-flag\""), "{stdout}");
}

#[test]
fn a_broken_config_file_is_refused_with_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hoso.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:8080\"\nlisten_port = 80\n").unwrap();
    let (code, _, stderr) = run(hoso().args(["config", "--config"]).arg(&file));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("lỗi [config-file-invalid]") && stderr.contains("listen_port"),
        "{stderr}"
    );

    let (code, _, stderr) = run(hoso().args(["config", "--config", "/nonexistent/hoso.toml"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("lỗi [config-file-unreadable]"), "{stderr}");
}

#[test]
fn search_on_an_empty_archive_finds_nothing_and_succeeds() {
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().display().to_string();
    let (code, stdout, stderr) = run(hoso().args(["--data-dir", &data_dir, "search", "đống đa"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("Không tìm thấy tài liệu nào"), "{stdout}");
    let (code, stdout, stderr) = run(hoso().args([
        "--data-dir",
        &data_dir,
        "search",
        "\") OR 1=1 --",
        "--format",
        "json",
    ]));
    assert_eq!(code, 0, "{stderr}");
    let page: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(page["items"], serde_json::json!([]));
}

#[test]
fn trust_list_shows_the_vietnamese_roots_with_fingerprints() {
    let (code, stdout, stderr) = run(hoso().args(["trust", "list", "--format", "json"]));
    assert_eq!(code, 0, "{stderr}");
    let anchors: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let fingerprints: Vec<&str> = anchors
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["sha256"].as_str().unwrap())
        .collect();
    assert!(
        fingerprints.contains(&"bac8bf609ab420a8ee1780d74f4de5c7f7184959d2a7375b0a75e4c29f0908e7")
    );
    assert_eq!(fingerprints.len(), 3);
}

/// Minimal HTTP/1.1 GET, so the test needs no HTTP client library.
fn http_get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn serve_prints_its_url_answers_health_checks_and_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = hoso()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first_line)
        .unwrap();
    let url = first_line
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {first_line:?}"))
        .to_owned();
    let addr = url.trim_start_matches("http://");

    let health = http_get(addr, "/healthz");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(
        health.to_ascii_lowercase().contains("x-request-id:"),
        "{health}"
    );
    let ready = http_get(addr, "/readyz");
    assert!(
        ready.starts_with("HTTP/1.1 200") && ready.contains("\"sqlite\""),
        "{ready}"
    );
    assert!(
        dir.path().join("hoso.db").exists(),
        "SQLite lives in the data dir"
    );
    assert!(
        dir.path().join("blobs").is_dir(),
        "the blob store lives in the data dir"
    );

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(
        status.success(),
        "graceful shutdown exits 0: {status:?}\n{stderr}"
    );
    assert!(stderr.contains("đã dừng"), "{stderr}");
}
