//! `test-pki serve`: the network services of the TEST-ONLY PKI in `certs/test-pki/`, on
//! 127.0.0.1 only, for tests, the benchmark and demos.
//!
//! - CA files (`--ca-port`, 8880): `GET /ca/{root,inter}.crt` and `/crl/{root,inter}.crl`,
//!   DER, the URLs written into the certificates' AIA caIssuers and CRL distribution points.
//! - OCSP (`--ocsp-port`, 8881): `POST /` (application/ocsp-request) and `GET /{base64}`
//!   (RFC 6960 appendix A), for certificates issued by `inter`. Each request is answered by
//!   `openssl ocsp` itself, signed by the delegated responder `ocsp.crt`, nextUpdate one hour on.
//! - RFC 3161 TSA (`--tsa-port`, 8882): `POST` (application/timestamp-query), answered by
//!   `openssl ts -reply` with `tsa.crt` (SHA-256, ESSCertIDv2, accuracy 1 s, policy 1.2.3.4.1,
//!   the chain included when the request asks for certificates).
//!
//! The OCSP database is derived at start from the folder itself rather than kept as a file:
//! every `*.crt` that `inter` signed is `V`, and every entry of `inter.crl` (verified against
//! `inter`) is `R` with the CRL's revocation date and reason. So OCSP and the CRL cannot
//! disagree, and a regenerated PKI (`scripts/make-test-pki.sh`) needs nothing else.
//!
//! One line on stdout once every port listens (`test-pki: ready ca=… ocsp=… tsa=…`); nothing
//! else goes to stdout. Stops on SIGTERM/SIGINT, or when stdin closes with
//! `--until-stdin-closes` (a test process that dies closes the pipe, so no server is left
//! behind). Temporary files live in one private temporary folder, removed on stop.
//!
//! TEST ONLY: the keys it signs with are public. Never expose these services beyond loopback.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::ocsp::OcspRequest;
use openssl::pkey::{PKey, Public};
use openssl::x509::{ReasonCode, X509, X509Crl, X509VerifyResult};
use time::OffsetDateTime;

const DEFAULT_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/certs/test-pki");
/// Longest request head (request line + headers) and body accepted; OCSP requests and
/// timestamp queries are a few hundred bytes.
const MAX_HEAD: u64 = 16 * 1024;
const MAX_BODY: usize = 1024 * 1024;
/// A client that stalls mid-request does not hold its thread for ever.
const IO_TIMEOUT: Duration = Duration::from_secs(15);
/// One openssl run signs one small object in milliseconds; far longer means it hangs.
const OPENSSL_TIMEOUT: Duration = Duration::from_secs(30);
/// OCSP `-nmin`: responses carry nextUpdate = thisUpdate + 60 minutes.
const OCSP_NEXT_UPDATE_MINUTES: &str = "60";
/// OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED } for malformedRequest (1) and
/// internalError (2): the protocol's answers when there is no response to sign.
const OCSP_MALFORMED_REQUEST: [u8; 5] = [0x30, 0x03, 0x0a, 0x01, 0x01];
const OCSP_INTERNAL_ERROR: [u8; 5] = [0x30, 0x03, 0x0a, 0x01, 0x02];

#[derive(Parser)]
#[command(
    name = "test-pki",
    about = "TEST-ONLY CA file server, OCSP responder and RFC 3161 TSA for certs/test-pki (127.0.0.1 only)"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the CA files, OCSP and the TSA until SIGTERM/Ctrl-C.
    Serve(ServeArgs),
}

#[derive(Args)]
struct ServeArgs {
    /// The test PKI folder (root/inter/ocsp/tsa .crt and .key, chain.pem, root.crl, inter.crl).
    #[arg(long, default_value = DEFAULT_DIR)]
    dir: PathBuf,
    /// CA certificates and CRLs (the certificates' AIA and CRL DP say 8880). 0 picks a free port.
    #[arg(long, default_value_t = 8880)]
    ca_port: u16,
    /// OCSP responder (the certificates' AIA says 8881). 0 picks a free port.
    #[arg(long, default_value_t = 8881)]
    ocsp_port: u16,
    /// RFC 3161 timestamp authority. 0 picks a free port.
    #[arg(long, default_value_t = 8882)]
    tsa_port: u16,
    /// Also stop when standard input reaches end of file (for a parent process holding a pipe).
    #[arg(long)]
    until_stdin_closes: bool,
    /// Log every request on stderr (errors are always logged).
    #[arg(long)]
    verbose: bool,
}

fn main() -> ExitCode {
    let Cmd::Serve(args) = Cli::parse().command;
    match serve(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("test-pki: error: {e}");
            ExitCode::FAILURE
        }
    }
}

type Fallible<T> = Result<T, String>;

fn context<E: std::fmt::Display>(what: impl std::fmt::Display) -> impl FnOnce(E) -> String {
    move |e| format!("{what}: {e}")
}

/// Everything the three services read, loaded once at start.
struct Pki {
    dir: PathBuf,
    /// URL path → (content type, DER body) for the CA file server.
    files: BTreeMap<&'static str, (&'static str, Vec<u8>)>,
    /// Private temporary folder: the OCSP index and one sub-folder per request.
    work: tempfile::TempDir,
    verbose: bool,
    openssl_slots: Slots,
    tsa_serial: AtomicU64,
}

impl Pki {
    fn index(&self) -> PathBuf {
        self.work.path().join("inter-index.txt")
    }
}

fn serve(args: ServeArgs) -> Fallible<()> {
    let version = Command::new("openssl")
        .arg("version")
        .output()
        .map_err(context(
            "the openssl command is needed (apt-get install openssl)",
        ))?;
    if !version.status.success() {
        return Err("`openssl version` failed".into());
    }
    let dir = args
        .dir
        .canonicalize()
        .map_err(context(args.dir.display()))?;
    let pki = Arc::new(load(&dir, args.verbose)?);

    // Signal handlers are installed before the ready line, so a SIGTERM sent as soon as the
    // parent reads it still removes the temporary folder.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(context("tokio runtime"))?;
    let (mut sigterm, mut sigint) = {
        let _guard = runtime.enter();
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::terminate()).map_err(context("SIGTERM handler"))?,
            signal(SignalKind::interrupt()).map_err(context("SIGINT handler"))?,
        )
    };

    let bind = |port: u16, what: &str| {
        TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .map_err(context(format!("{what} on 127.0.0.1:{port}")))
    };
    let listeners = [
        (Service::Ca, bind(args.ca_port, "CA file server")?),
        (Service::Ocsp, bind(args.ocsp_port, "OCSP responder")?),
        (Service::Tsa, bind(args.tsa_port, "TSA")?),
    ];
    let mut urls = Vec::new();
    for (service, listener) in listeners {
        let addr = listener.local_addr().map_err(context("local address"))?;
        urls.push(format!("{}=http://{addr}", service.name()));
        let pki = Arc::clone(&pki);
        std::thread::Builder::new()
            .name(format!("accept-{}", service.name()))
            .spawn(move || accept_loop(service, &listener, &pki))
            .map_err(context("thread"))?;
    }

    let (stop_tx, mut stop_rx) = tokio::sync::mpsc::unbounded_channel::<&'static str>();
    // Without --until-stdin-closes the sender stays here, alive, so `recv` never returns.
    let _unused_sender = if args.until_stdin_closes {
        std::thread::spawn(move || {
            let mut buffer = [0u8; 256];
            let mut stdin = std::io::stdin().lock();
            // Anything written is ignored; only end of file (or a broken pipe) matters.
            while matches!(stdin.read(&mut buffer), Ok(n) if n > 0) {}
            let _ = stop_tx.send("stdin closed");
        });
        None
    } else {
        Some(stop_tx)
    };

    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "test-pki: ready {}", urls.join(" "))
            .and_then(|()| stdout.flush())
            .map_err(context("stdout"))?;
    }

    let reason = runtime.block_on(async {
        tokio::select! {
            _ = sigterm.recv() => "SIGTERM",
            _ = sigint.recv() => "SIGINT",
            Some(reason) = stop_rx.recv() => reason,
        }
    });
    if pki.verbose {
        eprintln!("test-pki: stopping ({reason})");
    }
    // The accept threads are blocked in accept(); exiting the process ends them. Remove the
    // temporary folder first (TempDir would not be dropped by process::exit).
    let work = pki.work.path().to_owned();
    if let Err(e) = std::fs::remove_dir_all(&work) {
        eprintln!("test-pki: could not remove {}: {e}", work.display());
    }
    std::process::exit(0);
}

#[derive(Clone, Copy)]
enum Service {
    Ca,
    Ocsp,
    Tsa,
}

impl Service {
    fn name(self) -> &'static str {
        match self {
            Service::Ca => "ca",
            Service::Ocsp => "ocsp",
            Service::Tsa => "tsa",
        }
    }
}

// ------------------------------------------------------------------------------------------
// Loading the PKI
// ------------------------------------------------------------------------------------------

fn read(dir: &Path, name: &str) -> Fallible<Vec<u8>> {
    std::fs::read(dir.join(name)).map_err(context(dir.join(name).display()))
}

fn cert(dir: &Path, name: &str) -> Fallible<X509> {
    X509::from_pem(&read(dir, name)?).map_err(context(name))
}

fn crl(dir: &Path, name: &str) -> Fallible<X509Crl> {
    let bytes = read(dir, name)?;
    X509Crl::from_pem(&bytes)
        .or_else(|_| X509Crl::from_der(&bytes))
        .map_err(context(name))
}

fn load(dir: &Path, verbose: bool) -> Fallible<Pki> {
    let root = cert(dir, "root.crt")?;
    let inter = cert(dir, "inter.crt")?;
    let root_crl = crl(dir, "root.crl")?;
    let inter_crl = crl(dir, "inter.crl")?;
    // Fail now, not on the first request, when a file the services need is missing.
    for name in ["ocsp.crt", "ocsp.key", "tsa.crt", "tsa.key", "chain.pem"] {
        read(dir, name)?;
    }
    let der = |r: Result<Vec<u8>, openssl::error::ErrorStack>| r.map_err(context("DER"));
    let mut files = BTreeMap::new();
    files.insert(
        "/ca/root.crt",
        ("application/pkix-cert", der(root.to_der())?),
    );
    files.insert(
        "/ca/inter.crt",
        ("application/pkix-cert", der(inter.to_der())?),
    );
    files.insert(
        "/crl/root.crl",
        ("application/pkix-crl", der(root_crl.to_der())?),
    );
    files.insert(
        "/crl/inter.crl",
        ("application/pkix-crl", der(inter_crl.to_der())?),
    );

    let index = ocsp_index(dir, &inter, &inter_crl)?;
    let work = tempfile::Builder::new()
        .prefix("test-pki-")
        .tempdir()
        .map_err(context("temporary folder"))?;
    let index_path = work.path().join("inter-index.txt");
    std::fs::write(&index_path, index).map_err(context(index_path.display()))?;
    // official and official-ec share a subject; the default unique_subject = yes would make
    // openssl refuse the index.
    let attr = work.path().join("inter-index.txt.attr");
    std::fs::write(&attr, "unique_subject = no\n").map_err(context(attr.display()))?;

    let seconds = OffsetDateTime::now_utc().unix_timestamp().unsigned_abs();
    Ok(Pki {
        dir: dir.to_owned(),
        files,
        work,
        verbose,
        openssl_slots: Slots::new(
            2 * std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
        ),
        // Serial numbers unique across restarts too: start-up second, then a counter.
        tsa_serial: AtomicU64::new(seconds << 20),
    })
}

/// The `openssl ca` database of `inter`, rebuilt from the certificates it signed and its CRL.
fn ocsp_index(dir: &Path, inter: &X509, inter_crl: &X509Crl) -> Fallible<String> {
    let inter_key: PKey<Public> = inter.public_key().map_err(context("inter.crt key"))?;
    if !inter_crl
        .verify(&inter_key)
        .map_err(context("inter.crl signature"))?
    {
        return Err("inter.crl is not signed by inter.crt".into());
    }
    let hex = |serial: &openssl::asn1::Asn1IntegerRef| -> Fallible<String> {
        serial
            .to_bn()
            .and_then(|bn| bn.to_hex_str().map(|s| s.to_string()))
            .map_err(context("serial"))
    };
    // serial → revocation field ("YYMMDDHHMMSSZ[,reason]").
    let mut revoked = BTreeMap::new();
    for entry in inter_crl.get_revoked().into_iter().flatten() {
        let mut field = index_time(entry.revocation_date())?;
        if let Some((_, code)) = entry
            .extension::<ReasonCode>()
            .map_err(context("CRL reason"))?
            && let Some(name) = code.get_i64().ok().and_then(reason_name)
        {
            field.push(',');
            field.push_str(name);
        }
        revoked.insert(hex(entry.serial_number())?, field);
    }

    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(context(dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "crt"))
        .collect();
    names.sort();
    let mut lines = BTreeMap::new();
    for path in &names {
        let bytes = std::fs::read(path).map_err(context(path.display()))?;
        let cert = X509::from_pem(&bytes).map_err(context(path.display()))?;
        let signed_by_inter =
            inter.issued(&cert) == X509VerifyResult::OK && cert.verify(&inter_key).unwrap_or(false);
        if !signed_by_inter {
            continue;
        }
        let serial = hex(cert.serial_number())?;
        let expiry = index_time(cert.not_after())?;
        let line = match revoked.remove(&serial) {
            Some(revocation) => format!("R\t{expiry}\t{revocation}\t{serial}\tunknown\t"),
            None => format!("V\t{expiry}\t\t{serial}\tunknown\t"),
        };
        lines.insert(serial, line + &oneline(&cert));
    }
    // Revoked serials without a certificate file still answer "revoked", never "unknown";
    // their expiry cannot be worse than the issuer's.
    let inter_expiry = index_time(inter.not_after())?;
    for (serial, revocation) in revoked {
        lines.insert(
            serial.clone(),
            format!("R\t{inter_expiry}\t{revocation}\t{serial}\tunknown\t/CN=unknown"),
        );
    }
    if lines.is_empty() {
        return Err(format!(
            "no certificate in {} is issued by inter.crt",
            dir.display()
        ));
    }
    let mut index = String::new();
    for line in lines.values() {
        let _ = writeln!(index, "{line}");
    }
    Ok(index)
}

/// The reason names `openssl ca` writes in its database (apps/ca.c `crl_reasons`).
fn reason_name(code: i64) -> Option<&'static str> {
    Some(match code {
        0 => "unspecified",
        1 => "keyCompromise",
        2 => "CACompromise",
        3 => "affiliationChanged",
        4 => "superseded",
        5 => "cessationOfOperation",
        6 => "certificateHold",
        8 => "removeFromCRL",
        _ => return None,
    })
}

/// `openssl ca` database time: UTCTime `YYMMDDHHMMSSZ` up to 2049, GeneralizedTime after.
fn index_time(at: &Asn1TimeRef) -> Fallible<String> {
    let epoch = Asn1Time::from_unix(0).map_err(context("time"))?;
    let diff = epoch.diff(at).map_err(context("time"))?;
    let seconds = i64::from(diff.days) * 86_400 + i64::from(diff.secs);
    let at = OffsetDateTime::from_unix_timestamp(seconds).map_err(context("time"))?;
    let format = if (1950..2050).contains(&at.year()) {
        time::macros::format_description!("[year repr:last_two][month][day][hour][minute][second]Z")
    } else {
        time::macros::format_description!("[year][month][day][hour][minute][second]Z")
    };
    at.format(format).map_err(context("time"))
}

/// `/C=VN/O=…/CN=…`, for a readable index (openssl ocsp looks entries up by serial only).
fn oneline(cert: &X509) -> String {
    let mut name = String::new();
    for entry in cert.subject_name().entries() {
        let key = entry.object().nid().short_name().unwrap_or("?");
        let value = entry.data().to_string().unwrap_or_default();
        let _ = write!(name, "/{key}={value}");
    }
    name.replace(['\t', '\n', '\r'], " ")
}

// ------------------------------------------------------------------------------------------
// HTTP
// ------------------------------------------------------------------------------------------

fn accept_loop(service: Service, listener: &TcpListener, pki: &Arc<Pki>) {
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                let pki = Arc::clone(pki);
                let spawned = std::thread::Builder::new()
                    .name(format!("conn-{}", service.name()))
                    .spawn(move || connection(service, stream, &pki));
                if let Err(e) = spawned {
                    eprintln!("test-pki: cannot start a thread: {e}");
                }
            }
            // A connection reset before accept() completed, or too many open files: go on.
            Err(e) => {
                eprintln!("test-pki: accept on {}: {e}", service.name());
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

struct Request {
    method: String,
    target: String,
    content_type: Option<String>,
    body: Vec<u8>,
}

struct Response {
    status: u16,
    content_type: &'static str,
    extra: Option<(&'static str, &'static str)>,
    body: Vec<u8>,
}

impl Response {
    fn ok(content_type: &'static str, body: Vec<u8>) -> Response {
        Response {
            status: 200,
            content_type,
            extra: None,
            body,
        }
    }

    fn error(status: u16, message: impl Into<String>) -> Response {
        let mut body = message.into().into_bytes();
        body.push(b'\n');
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            extra: None,
            body,
        }
    }

    fn method_not_allowed(allow: &'static str) -> Response {
        Response {
            extra: Some(("Allow", allow)),
            ..Response::error(405, format!("method not allowed (allowed: {allow})"))
        }
    }
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        _ => "Error",
    }
}

fn connection(service: Service, stream: TcpStream, pki: &Pki) {
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let peer = stream
        .peer_addr()
        .map_or_else(|_| "?".to_owned(), |a: SocketAddr| a.to_string());
    let mut writer = match stream.try_clone() {
        Ok(writer) => writer,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    let (line, response) = match read_request(&mut reader, &mut writer) {
        Ok(request) => {
            let line = format!("{} {}", request.method, request.target);
            let response = match service {
                Service::Ca => ca(pki, &request),
                Service::Ocsp => ocsp(pki, &request),
                Service::Tsa => tsa(pki, &request),
            };
            (line, response)
        }
        Err(Some(response)) => ("(unreadable request)".to_owned(), response),
        // The client went away before sending a request: nothing to answer.
        Err(None) => return,
    };
    if pki.verbose || response.status >= 500 {
        eprintln!(
            "test-pki: {} {peer} {line} -> {}",
            service.name(),
            response.status
        );
    }
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        response.status,
        reason_phrase(response.status),
        response.content_type,
        response.body.len()
    );
    if let Some((name, value)) = response.extra {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    head.push_str("\r\n");
    let _ = writer
        .write_all(head.as_bytes())
        .and_then(|()| writer.write_all(&response.body))
        .and_then(|()| writer.flush());
    let _ = writer.shutdown(std::net::Shutdown::Write);
}

/// Reads one HTTP/1.x request. `Err(Some(response))`: answer with that error;
/// `Err(None)`: the connection closed or failed before a request arrived.
fn read_request(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
) -> Result<Request, Option<Response>> {
    let mut head = Vec::new();
    let mut limited = reader.by_ref().take(MAX_HEAD);
    loop {
        let before = head.len();
        match limited.read_until(b'\n', &mut head) {
            Ok(0) if head.is_empty() => return Err(None),
            Ok(0) => {
                if head.len() as u64 >= MAX_HEAD {
                    return Err(Some(Response::error(431, "request head too large")));
                }
                return Err(Some(Response::error(400, "incomplete request head")));
            }
            Ok(_) => {}
            Err(_) => return Err(None),
        }
        let line = &head[before..];
        if line == b"\r\n" || line == b"\n" {
            break;
        }
    }
    let bad = |m: &str| Some(Response::error(400, m));
    let text = std::str::from_utf8(&head).map_err(|_| bad("request head is not UTF-8"))?;
    let mut lines = text.lines();
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("malformed request line"));
    };
    if !version.starts_with("HTTP/1.") || method.is_empty() || !target.starts_with('/') {
        return Err(bad("malformed request line"));
    }

    let mut content_length = None;
    let mut content_type = None;
    let mut expect_continue = false;
    let mut chunked = false;
    for line in lines.filter(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            return Err(bad("malformed header line"));
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => {
                let length: usize = value.parse().map_err(|_| bad("bad Content-Length"))?;
                content_length = Some(length);
            }
            "content-type" => content_type = Some(value.to_owned()),
            "expect" => expect_continue = value.eq_ignore_ascii_case("100-continue"),
            "transfer-encoding" => chunked = !value.eq_ignore_ascii_case("identity"),
            _ => {}
        }
    }
    if chunked {
        return Err(Some(Response::error(
            501,
            "Transfer-Encoding is not supported; send Content-Length",
        )));
    }
    let length = match (content_length, method) {
        (Some(length), _) => length,
        (None, "POST" | "PUT") => return Err(Some(Response::error(411, "Content-Length needed"))),
        (None, _) => 0,
    };
    if length > MAX_BODY {
        return Err(Some(Response::error(413, "request body too large")));
    }
    if expect_continue && length > 0 {
        let _ = writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
    }
    let mut body = vec![0; length];
    reader
        .read_exact(&mut body)
        .map_err(|_| bad("request body shorter than Content-Length"))?;
    Ok(Request {
        method: method.to_owned(),
        target: target.to_owned(),
        content_type,
        body,
    })
}

fn media_type_is(request: &Request, expected: &str) -> bool {
    request.content_type.as_deref().is_some_and(|value| {
        value
            .split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case(expected))
    })
}

fn ca(pki: &Pki, request: &Request) -> Response {
    if request.method != "GET" {
        return Response::method_not_allowed("GET");
    }
    let path = request.target.split('?').next().unwrap_or_default();
    match pki.files.get(path) {
        Some((content_type, body)) => Response::ok(content_type, body.clone()),
        None => Response::error(404, format!("no such file: {path}")),
    }
}

// ------------------------------------------------------------------------------------------
// OCSP and TSA through the openssl command
// ------------------------------------------------------------------------------------------

fn ocsp(pki: &Pki, request: &Request) -> Response {
    let der = match request.method.as_str() {
        "POST" => {
            if !media_type_is(request, "application/ocsp-request") {
                return Response::error(415, "Content-Type must be application/ocsp-request");
            }
            request.body.clone()
        }
        // RFC 6960 A.1: GET {url}/{url-encoding of base-64 encoding of the DER request}.
        "GET" => {
            let encoded = request.target.trim_start_matches('/');
            let Some(base64) = percent_decode(encoded) else {
                return Response::error(400, "bad percent-encoding");
            };
            if base64.is_empty() {
                return Response::error(400, "GET needs /{base64 OCSP request}");
            }
            match openssl::base64::decode_block(&base64) {
                Ok(der) => der,
                Err(_) => {
                    return Response::ok(
                        "application/ocsp-response",
                        OCSP_MALFORMED_REQUEST.to_vec(),
                    );
                }
            }
        }
        _ => return Response::method_not_allowed("GET, POST"),
    };
    // A request openssl cannot parse gets the protocol's own answer, malformedRequest; the
    // openssl command would only print an error.
    if OcspRequest::from_der(&der).is_err() {
        return Response::ok("application/ocsp-response", OCSP_MALFORMED_REQUEST.to_vec());
    }
    let dir = &pki.dir;
    let result = with_openssl(pki, &[("request", &der)], |command| {
        command
            .arg("ocsp")
            .arg("-index")
            .arg(pki.index())
            .arg("-CA")
            .arg(dir.join("inter.crt"))
            .arg("-rsigner")
            .arg(dir.join("ocsp.crt"))
            .arg("-rkey")
            .arg(dir.join("ocsp.key"))
            .args(["-nmin", OCSP_NEXT_UPDATE_MINUTES])
            .args(["-reqin", "request", "-respout", "response"]);
    });
    match result {
        Ok(body) => Response::ok("application/ocsp-response", body),
        Err(e) => {
            eprintln!("test-pki: openssl ocsp failed: {e}");
            Response {
                status: 500,
                content_type: "application/ocsp-response",
                extra: None,
                body: OCSP_INTERNAL_ERROR.to_vec(),
            }
        }
    }
}

fn tsa(pki: &Pki, request: &Request) -> Response {
    if request.method != "POST" {
        return Response::method_not_allowed("POST");
    }
    if !media_type_is(request, "application/timestamp-query") {
        return Response::error(415, "Content-Type must be application/timestamp-query");
    }
    if request.body.is_empty() {
        return Response::error(400, "empty TimeStampReq");
    }
    // A malformed query, an unsupported digest or policy is not an HTTP error: openssl
    // answers with a TimeStampResp of status rejection and the failure info, as RFC 3161 says.
    let serial = pki.tsa_serial.fetch_add(1, Ordering::Relaxed);
    let serial = format!("{serial:016X}\n");
    let config = tsa_config(&pki.dir);
    let files: [(&str, &[u8]); 3] = [
        ("request", &request.body),
        ("serial", serial.as_bytes()),
        ("tsa.cnf", config.as_bytes()),
    ];
    let result = with_openssl(pki, &files, |command| {
        command.args([
            "ts",
            "-reply",
            "-queryfile",
            "request",
            "-config",
            "tsa.cnf",
            "-out",
            "response",
        ]);
    });
    match result {
        Ok(body) => Response::ok("application/timestamp-reply", body),
        Err(e) => {
            eprintln!("test-pki: openssl ts failed: {e}");
            Response::error(500, "the timestamp authority failed")
        }
    }
}

/// `openssl ts` configuration, run in a request's own folder: each request has its own
/// `serial` file, so concurrent requests neither race on one file nor wait for each other.
fn tsa_config(dir: &Path) -> String {
    let path = |p: &Path| conf_escape(&p.to_string_lossy());
    format!(
        "# test-pki TSA (TEST ONLY)\n\
         [ tsa ]\n\
         default_tsa = tsa_config1\n\
         [ tsa_config1 ]\n\
         serial = serial\n\
         crypto_device = builtin\n\
         signer_cert = {cert}\n\
         certs = {chain}\n\
         signer_key = {key}\n\
         signer_digest = sha256\n\
         default_policy = 1.2.3.4.1\n\
         other_policies = 1.2.3.4.2\n\
         digests = sha256, sha384, sha512\n\
         accuracy = secs:1\n\
         ordering = no\n\
         tsa_name = yes\n\
         ess_cert_id_chain = no\n\
         ess_cert_id_alg = sha256\n",
        cert = path(&dir.join("tsa.crt")),
        chain = path(&dir.join("chain.pem")),
        key = path(&dir.join("tsa.key")),
    )
}

/// OpenSSL configuration values expand `$var` and treat `#` and quotes specially; a
/// backslash makes the next character literal.
fn conf_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | '$' | '#' | '"' | '\'' | ';') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Runs one openssl command in a fresh sub-folder of the private folder (its working
/// directory) holding `files`; the command must write `response`, which is returned.
fn with_openssl(
    pki: &Pki,
    files: &[(&str, &[u8])],
    build: impl FnOnce(&mut Command),
) -> Fallible<Vec<u8>> {
    let work = tempfile::Builder::new()
        .prefix("req-")
        .tempdir_in(pki.work.path())
        .map_err(context("request folder"))?;
    for (name, bytes) in files {
        std::fs::write(work.path().join(name), bytes).map_err(context(name))?;
    }
    // stderr goes to a file, so waiting with a deadline cannot block on a full pipe.
    let stderr_path = work.path().join("stderr.txt");
    let stderr = std::fs::File::create(&stderr_path).map_err(context("stderr file"))?;
    let mut command = Command::new("openssl");
    command
        .current_dir(work.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
    build(&mut command);
    let status = {
        let _slot = pki.openssl_slots.acquire();
        let mut child = command.spawn().map_err(context("openssl"))?;
        let deadline = Instant::now() + OPENSSL_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait().map_err(context("openssl"))? {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("openssl took over {OPENSSL_TIMEOUT:?}; killed"));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    if !status.success() {
        let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        return Err(format!("{status}: {}", stderr.trim()));
    }
    std::fs::read(work.path().join("response")).map_err(context("openssl wrote no response"))
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// At most `max` openssl processes at once: a burst of requests (the benchmark) waits instead
/// of forking hundreds of processes on a 2-core machine.
struct Slots {
    used: Mutex<usize>,
    freed: Condvar,
    max: usize,
}

struct Slot<'a>(&'a Slots);

impl Slots {
    fn new(max: usize) -> Slots {
        Slots {
            used: Mutex::new(0),
            freed: Condvar::new(),
            max: max.max(1),
        }
    }

    fn acquire(&self) -> Slot<'_> {
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        while *used >= self.max {
            used = self.freed.wait(used).unwrap_or_else(|e| e.into_inner());
        }
        *used += 1;
        Slot(self)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut used = self.0.used.lock().unwrap_or_else(|e| e.into_inner());
        *used -= 1;
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_of_base64_paths() {
        assert_eq!(percent_decode("MEU%2Bw%3D%3D").as_deref(), Some("MEU+w=="));
        assert_eq!(percent_decode("abc").as_deref(), Some("abc"));
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%4"), None);
    }

    #[test]
    fn config_values_are_escaped() {
        assert_eq!(conf_escape("/tmp/a$b#c"), "/tmp/a\\$b\\#c");
    }

    #[test]
    fn index_of_the_test_pki_marks_revoked_from_the_crl_and_the_rest_valid() {
        let dir = Path::new(DEFAULT_DIR);
        let inter = cert(dir, "inter.crt").unwrap();
        let crl = crl(dir, "inter.crl").unwrap();
        let index = ocsp_index(dir, &inter, &crl).unwrap();
        let line = |serial: &str| {
            index
                .lines()
                .find(|l| l.split('\t').nth(3) == Some(serial))
                .unwrap_or_else(|| panic!("serial {serial} in\n{index}"))
                .to_owned()
        };
        let serial_of = |name: &str| {
            cert(dir, name)
                .unwrap()
                .serial_number()
                .to_bn()
                .unwrap()
                .to_hex_str()
                .unwrap()
                .to_string()
        };
        let revoked = line(&serial_of("revoked.crt"));
        assert!(
            revoked.starts_with("R\t360101000000Z\t260601000000Z,keyCompromise\t"),
            "{revoked}"
        );
        let official = line(&serial_of("official.crt"));
        assert!(official.starts_with("V\t360101000000Z\t\t"), "{official}");
        assert!(official.contains("/CN=Nguyễn Văn An (TEST)"), "{official}");
        // Issued by root or by itself: not in inter's database.
        for name in ["root.crt", "inter.crt", "self-signed.crt"] {
            let serial = serial_of(name);
            assert!(
                !index
                    .lines()
                    .any(|l| l.split('\t').nth(3) == Some(serial.as_str())),
                "{name} in\n{index}"
            );
        }
        // Every end entity issued by inter is there: 9 in certs/README.md's table.
        assert_eq!(index.lines().count(), 9, "{index}");
    }
}
