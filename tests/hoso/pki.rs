//! The test PKI's network services (`src/bin/test-pki.rs`) and the signature peers (pyHanko,
//! poppler's pdfsig with an NSS database), for every test that signs or verifies.
//!
//! Harness API (other test files: `use crate::pki;`):
//! - [`services`] starts `test-pki serve` once per test process (or reuses one already
//!   serving this PKI on the fixed ports) and gives its base URLs; `None` only outside CI when
//!   the openssl command is missing (skipped visibly).
//! - [`dir`] is `certs/test-pki`; [`http_get`] / [`http_post`] are a tiny HTTP client.
//! - [`pyhanko`], [`nss_tools`]: whether the peers are there (skip visibly unless CI).
//! - [`pyhanko_validate`], [`nss_db_with`], [`pdfsig`]: run the peers.
//!
//! The tests below check the services end to end with the real OpenSSL clients, and the peer
//! helpers on the shared corpus and on PDFs pyHanko signs through these services.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::helpers::{corpora, in_ci};

/// Base URLs of the running services (no trailing slash). The certificates' AIA names
/// `{ocsp}/` for OCSP and `{ca}/ca/inter.crt`, `{ca}/crl/inter.crl` for the CA files.
pub struct Services {
    pub ca: String,
    pub ocsp: String,
    pub tsa: String,
    /// The server this process started (`None` when it reuses one). Holding its stdin keeps
    /// it alive: when the test process exits, the pipe closes and `--until-stdin-closes`
    /// stops the server, so none is left behind even after a crash.
    _server: Option<Mutex<(Child, ChildStdin)>>,
}

/// `certs/test-pki`, the TEST-ONLY PKI.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("certs/test-pki")
}

/// The CA file server, OCSP responder and TSA of `certs/test-pki` on 127.0.0.1:8880–8882,
/// started once per test process. Outside CI, `None` with a message when the openssl
/// command (which answers OCSP and timestamp requests) is missing.
pub fn services() -> Option<&'static Services> {
    static SERVICES: OnceLock<Option<Services>> = OnceLock::new();
    SERVICES
        .get_or_init(|| tool("openssl").then(start_or_reuse))
        .as_ref()
}

const CA: &str = "http://127.0.0.1:8880";
const OCSP: &str = "http://127.0.0.1:8881";
const TSA: &str = "http://127.0.0.1:8882";

fn start_or_reuse() -> Services {
    if let Some(services) = already_running() {
        return services;
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_test-pki"))
        .arg("serve")
        .arg("--dir")
        .arg(dir())
        .arg("--until-stdin-closes")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("test-pki starts");
    let stdin = child.stdin.take().unwrap();
    match ready_line(&mut child) {
        Some(line) => {
            let url = |key: &str| {
                line.split(' ')
                    .find_map(|part| part.strip_prefix(key))
                    .unwrap_or_else(|| panic!("{key} in {line:?}"))
                    .to_owned()
            };
            Services {
                ca: url("ca="),
                ocsp: url("ocsp="),
                tsa: url("tsa="),
                _server: Some(Mutex::new((child, stdin))),
            }
        }
        None => {
            // Most likely another process started a test-pki between our check and our
            // bind (its message is on stderr above): use it if it serves this PKI.
            let status = child.wait().unwrap();
            already_running().unwrap_or_else(|| {
                panic!("test-pki exited ({status}) without becoming ready; see its message above")
            })
        }
    }
}

/// The ready line, or `None` when the server exits first. Waits at most a minute.
fn ready_line(child: &mut Child) -> Option<String> {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("test-pki prints its ready line within a minute");
    let line = line.trim_end().to_owned();
    line.starts_with("test-pki: ready ").then_some(line)
}

/// A test-pki already serving this PKI on the fixed ports (a demo, or another test process).
/// Panics when the CA port serves something else: tests would get wrong answers.
fn already_running() -> Option<Services> {
    let address: SocketAddr = "127.0.0.1:8880".parse().unwrap();
    TcpStream::connect_timeout(&address, Duration::from_secs(2)).ok()?;
    let served = http_get(&format!("{CA}/ca/root.crt"));
    let ours = openssl::x509::X509::from_pem(&std::fs::read(dir().join("root.crt")).unwrap())
        .unwrap()
        .to_der()
        .unwrap();
    assert!(
        served.status == 200 && served.body == ours,
        "127.0.0.1:8880 is in use but does not serve certs/test-pki/root.crt \
         (status {}): stop whatever listens there",
        served.status
    );
    for port in [8881, 8882] {
        let address: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        // A test-pki that another process is starting binds its ports one after another.
        let listening = (0..20).any(|_| {
            TcpStream::connect_timeout(&address, Duration::from_secs(2)).is_ok() || {
                std::thread::sleep(Duration::from_millis(100));
                false
            }
        });
        assert!(listening, "a test-pki serves 8880 but not {port}");
    }
    Some(Services {
        ca: CA.to_owned(),
        ocsp: OCSP.to_owned(),
        tsa: TSA.to_owned(),
        _server: None,
    })
}

/// Whether a command is installed; outside CI a missing one skips with a message.
pub fn tool(name: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            !in_ci(),
            "{name} is required in CI (scripts/install-deps installs it)"
        );
        eprintln!("SKIPPED part: {name} is not installed");
    }
    found
}

// ------------------------------------------------------------------------------------------
// HTTP client (std only; every response ends with the connection)
// ------------------------------------------------------------------------------------------

pub struct HttpResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

pub fn http_get(url: &str) -> HttpResponse {
    http("GET", url, None, &[])
}

pub fn http_post(url: &str, content_type: &str, body: &[u8]) -> HttpResponse {
    http("POST", url, Some(content_type), body)
}

/// One HTTP/1.1 request to an `http://HOST:PORT/PATH` URL.
pub fn http(method: &str, url: &str, content_type: Option<&str>, body: &[u8]) -> HttpResponse {
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let mut stream = TcpStream::connect(host).unwrap_or_else(|e| panic!("connect {host}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(content_type) = content_type {
        head.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head from {url}"));
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line from {url}: {head}"));
    let header = |name: &str| {
        head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    };
    let body = raw[end + 4..].to_vec();
    if let Some(length) = header("content-length") {
        assert_eq!(
            length.parse::<usize>().unwrap(),
            body.len(),
            "{url}: body length"
        );
    }
    HttpResponse {
        status,
        content_type: header("content-type"),
        body,
    }
}

// ------------------------------------------------------------------------------------------
// Signature peers
// ------------------------------------------------------------------------------------------

/// `.venv/bin/pyhanko` (scripts/peers-venv); outside CI `None` with a message when absent.
pub fn pyhanko() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/pyhanko");
    if path.exists() {
        return Some(path);
    }
    assert!(
        !in_ci(),
        "pyHanko is required in CI (scripts/test runs scripts/peers-venv)"
    );
    eprintln!("SKIPPED part: no .venv/bin/pyhanko (run scripts/peers-venv)");
    None
}

/// Whether pdfsig and NSS's certutil are installed (skip visibly unless CI).
pub fn nss_tools() -> bool {
    tool("pdfsig") && tool("certutil")
}

/// `pyhanko sign validate --pretty-print --trust ROOT --trust-replace EXTRA… PDF`:
/// (every signature judged VALID, i.e. exit status 0; stdout and stderr). Revocation is
/// checked online unless `extra` has `--no-revocation-check`: for `certs/test-pki` signers
/// start [`services`] first. Call [`pyhanko`] first to skip when it is absent.
pub fn pyhanko_validate(pdf: &Path, trust_root: &Path, extra: &[&str]) -> (bool, String) {
    let pyhanko = pyhanko().expect("pyHanko (check pki::pyhanko() first)");
    let output = Command::new(pyhanko)
        .args(["sign", "validate", "--pretty-print", "--trust"])
        .arg(trust_root)
        .arg("--trust-replace")
        .args(extra)
        .arg(pdf)
        .output()
        .unwrap();
    (output.status.success(), text(&output))
}

/// A new NSS database (for `pdfsig -nssdir`) that trusts `root` for signing (`C,C,C`).
/// Intermediates come from the signature's CMS. Check [`nss_tools`] first.
pub fn nss_db_with(root: &Path) -> TempDir {
    let db = tempfile::tempdir().unwrap();
    let location = format!("sql:{}", db.path().display());
    run(Command::new("certutil").args(["-N", "--empty-password", "-d", &location]));
    run(Command::new("certutil")
        .args([
            "-A",
            "-d",
            &location,
            "-n",
            "trusted test root",
            "-t",
            "C,C,C",
            "-i",
        ])
        .arg(root));
    db
}

/// `pdfsig -nssdir sql:NSSDB PDF`: its report (stdout and stderr). pdfsig asks the OCSP
/// responder in the signer certificate: for `certs/test-pki` signers start [`services`] first.
pub fn pdfsig(pdf: &Path, nssdb: &Path) -> String {
    let output = Command::new("pdfsig")
        .arg("-nssdir")
        .arg(format!("sql:{}", nssdb.display()))
        .arg(pdf)
        .output()
        .unwrap();
    text(&output)
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs a command that must succeed; its output.
fn run(command: &mut Command) -> String {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}",
        text(&output)
    );
    text(&output)
}

// ------------------------------------------------------------------------------------------
// Tests: the services with the real OpenSSL clients
// ------------------------------------------------------------------------------------------

fn openssl(args: &[&str], files: &[&Path]) -> String {
    run(Command::new("openssl").args(args).args(files))
}

fn pki_file(name: &str) -> PathBuf {
    dir().join(name)
}

#[test]
fn ca_files_are_served_as_der_at_every_url_written_in_the_certificates() {
    let Some(services) = services() else { return };
    // Every caIssuers and CRL distribution point URL in the PKI must answer with the right
    // object: signers and validators follow them (B-LT collects what they return).
    let mut urls = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "crt") {
            let text = openssl(&["x509", "-noout", "-text", "-in"], &[&path]);
            for word in text.split_whitespace() {
                if let Some(url) = word.strip_prefix("URI:")
                    && url.starts_with(&services.ca)
                {
                    urls.insert(url.trim_end_matches(',').to_owned());
                }
            }
        }
    }
    assert_eq!(urls.len(), 4, "{urls:?}");
    for url in &urls {
        let response = http_get(url);
        assert_eq!(response.status, 200, "{url}");
        let file = pki_file(url.rsplit('/').next().unwrap());
        let pem = std::fs::read(&file).unwrap();
        if url.ends_with(".crt") {
            assert_eq!(
                response.content_type.as_deref(),
                Some("application/pkix-cert")
            );
            let served = openssl::x509::X509::from_der(&response.body).expect("DER certificate");
            let expected = openssl::x509::X509::from_pem(&pem).unwrap();
            assert_eq!(
                served.to_der().unwrap(),
                expected.to_der().unwrap(),
                "{url}"
            );
        } else {
            assert_eq!(
                response.content_type.as_deref(),
                Some("application/pkix-crl")
            );
            let served = openssl::x509::X509Crl::from_der(&response.body).expect("DER CRL");
            let expected = openssl::x509::X509Crl::from_pem(&pem).unwrap();
            assert_eq!(
                served.to_der().unwrap(),
                expected.to_der().unwrap(),
                "{url}"
            );
        }
    }
    let inter = http_get(&format!("{}/ca/inter.crt", services.ca));
    let inter = openssl::x509::X509::from_der(&inter.body).unwrap();
    let subject = format!("{:?}", inter.subject_name());
    assert!(subject.contains("hoso TEST Issuing CA"), "{subject}");

    assert_eq!(
        http_get(&format!("{}/ca/root.key", services.ca)).status,
        404
    );
    assert_eq!(http_get(&format!("{}/", services.ca)).status, 404);
    assert_eq!(
        http_post(&format!("{}/ca/inter.crt", services.ca), "text/plain", b"x").status,
        405
    );
}

/// `openssl ocsp` as a client against the responder, checking the signature up to root.crt.
fn ocsp_client(services: &Services, cert: &str, extra: &[&str]) -> String {
    let mut command = Command::new("openssl");
    command
        .arg("ocsp")
        .args(extra)
        .arg("-url")
        .arg(format!("{}/", services.ocsp))
        .arg("-resp_text")
        .arg("-issuer")
        .arg(pki_file("inter.crt"))
        .arg("-cert")
        .arg(pki_file(cert))
        .arg("-CAfile")
        .arg(pki_file("root.crt"));
    run(&mut command)
}

#[test]
fn ocsp_answers_good_revoked_and_unknown_to_the_openssl_client_signed_by_the_delegated_responder() {
    let Some(services) = services() else { return };
    let good = ocsp_client(services, "official.crt", &[]);
    // "Response verify OK": signed by ocsp.crt, chained to root.crt, nonce echoed.
    assert!(good.contains("Response verify OK"), "{good}");
    assert!(good.contains("official.crt: good"), "{good}");
    assert!(
        good.contains("Responder Id: C = VN, O = hoso TEST ONLY, CN = hoso TEST OCSP Responder"),
        "{good}"
    );
    assert!(good.contains("Next Update:"), "{good}");
    assert!(good.contains("OCSP Nonce"), "{good}");

    let revoked = ocsp_client(services, "revoked.crt", &["-sha256"]);
    assert!(revoked.contains("Response verify OK"), "{revoked}");
    assert!(revoked.contains("revoked.crt: revoked"), "{revoked}");
    assert!(revoked.contains("Reason: keyCompromise"), "{revoked}");
    assert!(
        revoked.contains("Revocation Time: Jun  1 00:00:00 2026 GMT"),
        "{revoked}"
    );
    assert!(revoked.contains("Hash Algorithm: sha256"), "{revoked}");

    // The TSA's certificate is issued by inter too; expired ones stay "good" (RFC 6960 lets
    // a responder answer for expired certificates, and openssl ca's database keeps them V).
    for name in ["tsa.crt", "expired.crt"] {
        let answer = ocsp_client(services, name, &[]);
        assert!(answer.contains(&format!("{name}: good")), "{answer}");
    }
}

#[test]
fn ocsp_get_requests_work_and_malformed_requests_get_malformed_request() {
    let Some(services) = services() else { return };
    let work = tempfile::tempdir().unwrap();
    let request = work.path().join("request.der");
    let mut command = Command::new("openssl");
    command
        .args(["ocsp", "-no_nonce", "-issuer"])
        .arg(pki_file("inter.crt"))
        .arg("-cert")
        .arg(pki_file("revoked.crt"))
        .arg("-reqout")
        .arg(&request);
    run(&mut command);
    let der = std::fs::read(&request).unwrap();
    // RFC 6960 A.1: the URL-encoded base64 of the DER request after the responder's URL.
    let base64 = openssl::base64::encode_block(&der)
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    let response = http_get(&format!("{}/{base64}", services.ocsp));
    assert_eq!(response.status, 200);
    assert_eq!(
        response.content_type.as_deref(),
        Some("application/ocsp-response")
    );
    let response_file = work.path().join("response.der");
    std::fs::write(&response_file, &response.body).unwrap();
    let mut command = Command::new("openssl");
    command
        .args(["ocsp", "-respin"])
        .arg(&response_file)
        .arg("-issuer")
        .arg(pki_file("inter.crt"))
        .arg("-cert")
        .arg(pki_file("revoked.crt"))
        .arg("-CAfile")
        .arg(pki_file("root.crt"));
    let checked = run(&mut command);
    assert!(checked.contains("Response verify OK"), "{checked}");
    assert!(checked.contains("revoked.crt: revoked"), "{checked}");

    // OCSPResponse { responseStatus malformedRequest (1) }: the protocol's answer.
    let malformed = [0x30, 0x03, 0x0a, 0x01, 0x01];
    let garbage = http_post(
        &format!("{}/", services.ocsp),
        "application/ocsp-request",
        b"not an OCSP request",
    );
    assert_eq!(
        (garbage.status, garbage.body.as_slice()),
        (200, &malformed[..])
    );
    let bad_base64 = http_get(&format!("{}/%21%21%21", services.ocsp));
    assert_eq!(bad_base64.body, malformed);
    let wrong_type = http_post(&format!("{}/", services.ocsp), "text/plain", &der);
    assert_eq!(wrong_type.status, 415);
    assert_eq!(
        http("PUT", &format!("{}/", services.ocsp), None, &der).status,
        405
    );
}

/// `openssl ts -query` for a file's SHA-256 asking for the TSA's certificates.
fn timestamp_query(work: &Path, data: &[u8], extra: &[&str]) -> PathBuf {
    let file = work.join("data.bin");
    std::fs::write(&file, data).unwrap();
    let query = work.join("query.tsq");
    let mut command = Command::new("openssl");
    command
        .args(["ts", "-query", "-data"])
        .arg(&file)
        .args(extra)
        .arg("-out")
        .arg(&query);
    run(&mut command);
    query
}

fn post_query(services: &Services, query: &Path) -> HttpResponse {
    http_post(
        &format!("{}/", services.tsa),
        "application/timestamp-query",
        &std::fs::read(query).unwrap(),
    )
}

fn reply_text(work: &Path, reply: &[u8]) -> String {
    let file = work.join("reply-text.tsr");
    std::fs::write(&file, reply).unwrap();
    openssl(&["ts", "-reply", "-text", "-in"], &[&file])
}

#[test]
fn tsa_tokens_verify_with_openssl_ts_against_root_alone() {
    let Some(services) = services() else { return };
    let work = tempfile::tempdir().unwrap();
    let query = timestamp_query(work.path(), b"hoso test data", &["-sha256", "-cert"]);
    let response = post_query(services, &query);
    assert_eq!(response.status, 200);
    assert_eq!(
        response.content_type.as_deref(),
        Some("application/timestamp-reply")
    );
    let reply = work.path().join("reply.tsr");
    std::fs::write(&reply, &response.body).unwrap();
    // Only root.crt is trusted and nothing else is given: the chain (tsa + inter) must be
    // in the token, as `certs=` and the request's certReq ask.
    let mut verify = Command::new("openssl");
    verify
        .args(["ts", "-verify", "-in"])
        .arg(&reply)
        .arg("-queryfile")
        .arg(&query)
        .arg("-CAfile")
        .arg(pki_file("root.crt"));
    let verified = run(&mut verify);
    assert!(verified.contains("Verification: OK"), "{verified}");
    // And as the brief's command line, with the intermediate given separately.
    let mut verify = Command::new("openssl");
    verify
        .args(["ts", "-verify", "-in"])
        .arg(&reply)
        .arg("-queryfile")
        .arg(&query)
        .arg("-CAfile")
        .arg(pki_file("root.crt"))
        .arg("-untrusted")
        .arg(pki_file("inter.crt"));
    assert!(run(&mut verify).contains("Verification: OK"));

    let text = reply_text(work.path(), &response.body);
    assert!(text.contains("Status: Granted."), "{text}");
    assert!(text.contains("Hash Algorithm: sha256"), "{text}");
    assert!(text.contains("Accuracy: 0x01 seconds"), "{text}");
    // 1.2.3.4.1 is named tsa_policy1 by Debian's default openssl.cnf.
    assert!(
        text.contains("Policy OID: tsa_policy1") || text.contains("Policy OID: 1.2.3.4.1"),
        "{text}"
    );
    assert!(
        text.contains("TSA: DirName:/C=VN/O=hoso TEST ONLY/CN=hoso TEST TSA"),
        "{text}"
    );

    // The token's signed attributes name the TSA certificate by SHA-256 (ESSCertIDv2), as
    // PAdES validators expect, not by SHA-1.
    let token = work.path().join("token.der");
    let mut extract = Command::new("openssl");
    extract
        .args(["ts", "-reply", "-in"])
        .arg(&reply)
        .arg("-token_out")
        .arg("-out")
        .arg(&token);
    run(&mut extract);
    let cms = openssl(
        &["cms", "-cmsout", "-print", "-inform", "DER", "-in"],
        &[&token],
    );
    assert!(cms.contains("id-smime-aa-signingCertificateV2"), "{cms}");
    assert!(!cms.contains("id-smime-aa-signingCertificate ("), "{cms}");
}

#[test]
fn tsa_answers_bad_queries_with_rejections_or_http_errors_and_keeps_serving() {
    let Some(services) = services() else { return };
    let work = tempfile::tempdir().unwrap();
    let url = format!("{}/", services.tsa);

    // Not DER: a TimeStampResp with status rejection / badDataFormat (RFC 3161 2.4.2).
    let garbage = http_post(&url, "application/timestamp-query", b"\x30\x03garbage");
    assert_eq!(garbage.status, 200);
    let text = reply_text(work.path(), &garbage.body);
    assert!(text.contains("Status: Rejected."), "{text}");
    assert!(text.contains("wrong format"), "{text}");

    // SHA-1 is not accepted (PAdES baseline needs SHA-2): rejection / badAlg.
    let sha1 = timestamp_query(work.path(), b"data", &["-sha1"]);
    let response = post_query(services, &sha1);
    assert_eq!(response.status, 200);
    let text = reply_text(work.path(), &response.body);
    assert!(text.contains("Status: Rejected."), "{text}");
    assert!(text.contains("unsupported algorithm"), "{text}");

    assert_eq!(
        http_post(&url, "application/octet-stream", b"x").status,
        415
    );
    assert_eq!(
        http_post(&url, "application/timestamp-query", b"").status,
        400
    );
    assert_eq!(http_get(&url).status, 405);
    // A request head without an end is answered, not left hanging or crashing the server.
    let mut stream =
        TcpStream::connect(url.trim_start_matches("http://").trim_end_matches('/')).unwrap();
    stream.write_all(b"POST / HTTP/1.1\r\nContent-Le").unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");

    let good = timestamp_query(work.path(), b"data", &["-sha512", "-cert"]);
    let text = reply_text(work.path(), &post_query(services, &good).body);
    assert!(text.contains("Status: Granted."), "{text}");
}

#[test]
fn tsa_serves_concurrent_requests_with_distinct_serial_numbers() {
    let Some(services) = services() else { return };
    let serials: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|i| {
                scope.spawn(move || {
                    let work = tempfile::tempdir().unwrap();
                    let data = format!("document {i}");
                    let query = timestamp_query(work.path(), data.as_bytes(), &["-sha256"]);
                    let response = post_query(services, &query);
                    assert_eq!(response.status, 200);
                    let reply = work.path().join("reply.tsr");
                    std::fs::write(&reply, &response.body).unwrap();
                    // Without certReq the token has no certificates: give the TSA's
                    // certificate and the intermediate (openssl keeps one -untrusted file).
                    let untrusted = work.path().join("untrusted.pem");
                    let mut pem = std::fs::read(pki_file("tsa.crt")).unwrap();
                    pem.extend(std::fs::read(pki_file("inter.crt")).unwrap());
                    std::fs::write(&untrusted, pem).unwrap();
                    let mut verify = Command::new("openssl");
                    verify
                        .args(["ts", "-verify", "-in"])
                        .arg(&reply)
                        .arg("-queryfile")
                        .arg(&query)
                        .arg("-CAfile")
                        .arg(pki_file("root.crt"))
                        .arg("-untrusted")
                        .arg(&untrusted);
                    assert!(run(&mut verify).contains("Verification: OK"));
                    let text = reply_text(work.path(), &response.body);
                    text.lines()
                        .find_map(|l| l.strip_prefix("Serial number: "))
                        .unwrap()
                        .to_owned()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let distinct: std::collections::BTreeSet<_> = serials.iter().collect();
    assert_eq!(distinct.len(), serials.len(), "{serials:?}");
}

// ------------------------------------------------------------------------------------------
// Tests: the binary's life cycle (its own instance on free ports, not the shared one)
// ------------------------------------------------------------------------------------------

fn spawn_on_free_ports(tmp: &Path, extra: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_test-pki"))
        .args([
            "serve",
            "--ca-port",
            "0",
            "--ocsp-port",
            "0",
            "--tsa-port",
            "0",
        ])
        .args(extra)
        .env("TMPDIR", tmp)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let line = ready_line(&mut child).expect("ready line");
    (child, line)
}

fn wait_with_deadline(child: &mut Child, seconds: u64) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("test-pki did not stop within {seconds} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn test_pki_stops_when_stdin_closes_or_on_sigterm_and_removes_its_temporary_files() {
    if !tool("openssl") {
        return;
    }
    // Closing stdin stops a server started with --until-stdin-closes.
    let tmp = tempfile::tempdir().unwrap();
    let (mut child, line) = spawn_on_free_ports(tmp.path(), &["--until-stdin-closes"]);
    assert!(line.contains("ca=http://127.0.0.1:"), "{line}");
    let tsa = line
        .split(' ')
        .find_map(|p| p.strip_prefix("tsa="))
        .unwrap();
    // Serve one timestamp so a request folder was made too.
    let work = tempfile::tempdir().unwrap();
    let query = timestamp_query(work.path(), b"x", &["-sha256"]);
    let response = http_post(
        &format!("{tsa}/"),
        "application/timestamp-query",
        &std::fs::read(query).unwrap(),
    );
    assert_eq!(response.status, 200);
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        1,
        "its private folder"
    );
    drop(child.stdin.take());
    assert!(wait_with_deadline(&mut child, 10).success());
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "cleaned up"
    );

    // SIGTERM stops it too (without --until-stdin-closes, stdin open).
    let (mut child, _) = spawn_on_free_ports(tmp.path(), &[]);
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    assert!(wait_with_deadline(&mut child, 10).success());
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "cleaned up"
    );
}

#[test]
fn test_pki_refuses_a_port_in_use_and_a_missing_folder() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_test-pki"))
        .args([
            "serve",
            "--ca-port",
            "0",
            "--ocsp-port",
            &port,
            "--tsa-port",
            "0",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty(), "no ready line");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("OCSP responder on 127.0.0.1:{port}")),
        "{stderr}"
    );

    let output = Command::new(env!("CARGO_BIN_EXE_test-pki"))
        .args(["serve", "--dir", "/nonexistent/test-pki"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/test-pki"));
}

// ------------------------------------------------------------------------------------------
// Tests: the peer helpers
// ------------------------------------------------------------------------------------------

#[test]
fn peers_validate_a_pyhanko_signed_corpus_file() {
    let Some(corpora) = corpora() else { return };
    let generated = corpora.join("signatures/generated");
    let pdf = generated.join("signed/doc1-BT.pdf");
    let corpus_root = generated.join("pki/root.crt");

    if pyhanko().is_some() {
        // The corpus' OCSP responder is not running (its key is not published).
        let (valid, report) = pyhanko_validate(&pdf, &corpus_root, &["--no-revocation-check"]);
        assert!(valid, "{report}");
        assert!(
            report.contains("The signature is judged VALID."),
            "{report}"
        );
        assert!(
            report.contains("The TSA certificate is trusted."),
            "{report}"
        );
        // Trusting another root, the same file is not valid: the flag can fail.
        let (valid, report) =
            pyhanko_validate(&pdf, &pki_file("root.crt"), &["--no-revocation-check"]);
        assert!(!valid, "{report}");
        assert!(report.contains("judged INVALID"), "{report}");
    }

    if nss_tools() {
        let trusted = nss_db_with(&corpus_root);
        let report = pdfsig(&pdf, trusted.path());
        assert!(
            report.contains("Signature Validation: Signature is Valid."),
            "{report}"
        );
        assert!(report.contains("Total document signed"), "{report}");
        assert!(
            report.contains("Signer Certificate Common Name: Nguyen Van A"),
            "{report}"
        );
        // The database decides the issuer question: an empty one does not know the root.
        // (With the corpus root, pdfsig 22.12 still says "Unknown issue" for this file:
        // signatures.md §4.5; the full "Certificate is Trusted" path is checked below with
        // our own PKI and OCSP responder.)
        assert!(
            !report.contains("Certificate issuer is unknown"),
            "{report}"
        );
        let untrusted = nss_db_with(&pki_file("root.crt"));
        let report = pdfsig(&pdf, untrusted.path());
        assert!(report.contains("Certificate issuer is unknown"), "{report}");
    }
}

/// pyHanko signs `samples/cong-van.pdf` with a certs/test-pki key (chain: inter).
fn pyhanko_sign(pyhanko: &Path, signer: &str, extra: &[&str], out: &Path) {
    let mut command = Command::new(pyhanko);
    command
        .args(["sign", "addsig", "--field", "Sig1", "--use-pades"])
        .args(extra)
        .arg("pemder")
        .arg("--key")
        .arg(pki_file(&format!("{signer}.key")))
        .arg("--cert")
        .arg(pki_file(&format!("{signer}.crt")))
        .arg("--chain")
        .arg(pki_file("inter.crt"))
        .arg("--no-pass")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/cong-van.pdf"))
        .arg(out);
    run(&mut command);
}

#[test]
fn pyhanko_signs_b_lt_through_our_tsa_and_ocsp_and_both_peers_check_revocation_with_them() {
    let Some(services) = services() else { return };
    let Some(pyhanko) = pyhanko() else { return };
    let work = tempfile::tempdir().unwrap();
    let root = pki_file("root.crt");
    let root_arg = root.to_str().unwrap();
    let tsa = format!("{}/", services.tsa);

    // B-LT: pyHanko timestamps through our TSA and fetches OCSP responses and CRLs through
    // our responder and CA file server (AIA, CRL DP) into the /DSS.
    let blt = work.path().join("blt.pdf");
    let blt_args = [
        "--timestamp-url",
        &tsa,
        "--with-validation-info",
        "--trust",
        root_arg,
        "--trust-replace",
    ];
    pyhanko_sign(&pyhanko, "official", &blt_args, &blt);
    let (valid, report) = pyhanko_validate(&blt, &root, &[]);
    assert!(valid, "{report}");
    assert!(
        report.contains("The signer's certificate is trusted."),
        "{report}"
    );
    assert!(
        report.contains("This timestamp is backed by a time stamping authority."),
        "{report}"
    );
    assert!(
        report.contains("The TSA certificate is trusted."),
        "{report}"
    );
    let dss = std::fs::read(&blt).unwrap();
    assert!(
        dss.windows(5).any(|w| w == b"/OCSP"),
        "a /DSS with OCSP responses"
    );

    // A revoked signer: pyHanko asks our responder and refuses; without the check it passes.
    let revoked = work.path().join("revoked.pdf");
    pyhanko_sign(&pyhanko, "revoked", &[], &revoked);
    let (valid, report) = pyhanko_validate(&revoked, &root, &[]);
    assert!(!valid, "{report}");
    assert!(
        report.contains("The signer's certificate is revoked."),
        "{report}"
    );
    let (valid, report) = pyhanko_validate(&revoked, &root, &["--no-revocation-check"]);
    assert!(valid, "{report}");

    if nss_tools() {
        let nssdb = nss_db_with(&root);
        let report = pdfsig(&blt, nssdb.path());
        assert!(
            report.contains("Signature Validation: Signature is Valid."),
            "{report}"
        );
        assert!(
            report.contains("Certificate Validation: Certificate is Trusted."),
            "{report}"
        );
        // pdfsig asks the OCSP responder in the certificate (ours) and learns the revocation.
        let report = pdfsig(&revoked, nssdb.path());
        assert!(
            report.contains("Signature Validation: Signature is Valid."),
            "{report}"
        );
        assert!(
            report.contains("Certificate Validation: Certificate has been Revoked."),
            "{report}"
        );
    }
}
