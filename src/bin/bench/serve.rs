//! `bench serve`: the HTTP service under load (issue #7): throughput, latency percentiles and
//! the server's memory on search, verify and upload, with `wrk` as the peer.
//!
//! ```text
//! cargo build --release --bin bench --bin hoso
//! cargo run --release --bin bench -- serve [--backend sqlite,postgres] [--clients 1,8,32,128]
//!     [--duration 10] [--docs 2000] [--big-upload-mb 200] [--quick]
//! ```
//!
//! Per backend, a real `hoso serve` child (the `hoso` binary next to this one) on
//! 127.0.0.1 and a free port, with a fresh data dir (SQLite), or a fresh schema of the
//! `hoso_bench` PostgreSQL database reached through `search_path` (as `bench search` does).
//! Setup goes through the CLI, as an office's administrator would: `hoso procedure import`,
//! `hoso user add` (a clerk, an archivist, an official), `hoso token create --format json`,
//! `hoso key add` (the TEST-ONLY `certs/test-pki/official.p12`, password from
//! `HOSO_BENCH_P12_PASSWORD`, default `test`) and `hoso sign --offline` of
//! `samples/cong-van.pdf` (the file the verify scenario uploads). Then `--docs` small PDFs
//! are preloaded through `POST /api/v1/documents`, each naming a person in its subject and
//! file name, so that search finds something. The server runs with `--insecure-cookies`,
//! `--verify-per-minute` raised out of the way and its log (at its default level) in the
//! data dir.
//!
//! The load generator is OS threads over `ureq` (already a dependency): each client is one
//! thread with its own keep-alive connection, issuing requests back to back for `--duration`
//! seconds; every latency is kept (request sent to response body read). Scenarios:
//!
//! - `healthz`: `GET /healthz`, the floor: the framework's own cost per request;
//! - `me`: `GET /api/v1/me` with a token: the floor plus authentication (a token lookup);
//! - `search`: `GET /api/v1/search?q=<a preloaded person's name without accents>` (archivist
//!   token);
//! - `verify`: `POST /api/v1/verify`, the signed sample as multipart (public, no login);
//! - `upload`: `POST /api/v1/documents`, a distinct 100 KB PDF each time (clerk token), so
//!   deduplication never short-cuts the store.
//!
//! For each it prints requests/s, p50/p95/p99/max latency, errors (non-2xx and transport
//! failures), the server's peak RSS (`VmRSS` of `/proc/PID/status`, sampled every 100 ms),
//! and CPU milliseconds per request of the server and of the generator itself (both share
//! the machine's cores). When `wrk` is on the PATH it runs right after ours on the same
//! requests (`healthz`; `search` through a Lua script drawing from the same names), with as
//! many connections for as long, and the ratio ours ÷ wrk shows the generator's own
//! overhead. A scenario whose route the server does not have yet is reported as skipped.
//!
//! Big upload: right after the server is ready (before the load, whose freed heap would
//! hide what the upload needs), one `--big-upload-mb` file (a PDF whose one large stream is
//! pseudo-random bytes, written to disk first, untimed) is streamed from disk as the body
//! (never whole in the client's memory) while the server's RSS is sampled: the issue requires
//! bounded memory, peak minus idle under [`BIG_UPLOAD_GROWTH_LIMIT_MB`].
//!
//! A failure the server logs (an `ERROR` or `WARN` line during a row with errors) is quoted
//! under the table; the data dir with the whole `server.log` is kept when the run fails, and
//! with `--keep`.
//!
//! `--quick` is a smoke run for the test suite: 1 s per row, 1 and 4 clients, 20 documents, an
//! 80 MB big upload (more than the memory bound, so a server that held it whole would fail).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};

use super::inputs::repository;
use super::{BenchError, Context, Result, cores, load_average, run_checked, tail};

/// The big upload may grow the server's RSS by at most this much (issue #7).
const BIG_UPLOAD_GROWTH_LIMIT_MB: f64 = 64.0;
/// Size of each `upload` scenario file.
const UPLOAD_BYTES: u64 = 100 * 1024;
/// Most clients per row: one OS thread each.
const MAX_CLIENTS: usize = 256;
/// Untimed requests each client sends before the row starts (its connection is then open).
const WARM_UP_REQUESTS: usize = 2;
/// Clients preloading the documents.
const PRELOAD_CLIENTS: usize = 4;
/// How often the server's RSS is read.
const RSS_PERIOD: Duration = Duration::from_millis(100);
/// How long the server may take to print its address and become ready.
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// Password of the TEST-ONLY PKCS#12 files, unless `HOSO_BENCH_P12_PASSWORD` says otherwise.
const P12_PASSWORD: &str = "test";
const P12: &str = "certs/test-pki/official.p12";
const TRUST_DIR: &str = "certs/test-pki";
const SAMPLE: &str = "samples/cong-van.pdf";
/// The catalogue imported before anything else (`hoso procedure import`).
const CATALOGUE: &str = "code,name,field,level,processing_days,competent_agency\n\
    1.001193,Đăng ký khai sinh,Hộ tịch,Cấp xã,3,UBND cấp xã\n\
    1.000894,Đăng ký kết hôn,Hộ tịch,Cấp xã,3,UBND cấp xã\n\
    2.002710,Cấp giấy phép xây dựng nhà ở riêng lẻ,Xây dựng,Cấp huyện,15,UBND cấp huyện\n";

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Backends, comma-separated: one table each
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Backend::Sqlite])]
    backend: Vec<Backend>,
    /// Concurrent clients per row, comma-separated (one thread and connection each)
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 8, 32, 128],
          value_parser = parse_clients)]
    clients: Vec<usize>,
    /// Seconds per scenario and client count
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    duration: u64,
    /// Documents preloaded through the API for search to find
    #[arg(long, default_value_t = 2_000)]
    docs: usize,
    /// Scenarios, comma-separated
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = Scenario::ALL)]
    scenarios: Vec<Scenario>,
    /// Size of the one big upload in MB (0: none)
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(0..=100_000))]
    big_upload_mb: u64,
    /// Smoke run: 1 s per row, 1 and 4 clients, 20 documents, an 80 MB big upload (overrides
    /// --clients, --duration, --docs and --big-upload-mb)
    #[arg(long)]
    quick: bool,
    /// Do not run wrk even when it is installed
    #[arg(long)]
    no_wrk: bool,
    /// Log filter of the server [default: the server's own, info]
    #[arg(long, value_name = "FILTER")]
    server_log: Option<String>,
    /// The hoso binary [default: the one next to this bench binary]
    #[arg(long, value_name = "FILE")]
    hoso: Option<PathBuf>,
    /// PostgreSQL database (created when missing; not the tests' database); each run uses a
    /// new schema, dropped at the end unless --keep
    #[arg(
        long,
        env = "HOSO_BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/hoso_bench",
        value_name = "URL"
    )]
    postgres_url: String,
    /// Scratch folder: data dirs, the server's log, the generated files
    #[arg(long, default_value = "target/bench-serve", value_name = "DIR")]
    out: PathBuf,
    /// Keep the data dirs and PostgreSQL schemas
    #[arg(long)]
    keep: bool,
}

fn parse_clients(text: &str) -> std::result::Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (1..=MAX_CLIENTS).contains(&n) => Ok(n),
        _ => Err(format!("expected 1 to {MAX_CLIENTS} clients, got {text:?}")),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// One kind of request, sent back to back by every client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    Healthz,
    Me,
    Search,
    Verify,
    Upload,
}

impl Scenario {
    const ALL: [Scenario; 5] = [
        Scenario::Healthz,
        Scenario::Me,
        Scenario::Search,
        Scenario::Verify,
        Scenario::Upload,
    ];

    fn name(self) -> &'static str {
        match self {
            Scenario::Healthz => "healthz",
            Scenario::Me => "me",
            Scenario::Search => "search",
            Scenario::Verify => "verify",
            Scenario::Upload => "upload",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Scenario::Healthz => "`GET /healthz` (no auth, no database)",
            Scenario::Me => "`GET /api/v1/me` with a bearer token (one token lookup)",
            Scenario::Search => {
                "`GET /api/v1/search?q=<a preloaded name, no accents>` (archivist token)"
            }
            Scenario::Verify => "`POST /api/v1/verify`, the signed sample as multipart (public)",
            Scenario::Upload => {
                "`POST /api/v1/documents`, a distinct 100 KB PDF each (clerk token)"
            }
        }
    }

    /// wrk runs on these GET scenarios (the others need a body per request).
    fn has_peer(self) -> bool {
        matches!(self, Scenario::Healthz | Scenario::Search)
    }
}

/// What the run uses, after `--quick`.
struct Plan {
    clients: Vec<usize>,
    duration: Duration,
    docs: usize,
    big_upload_mb: u64,
    /// Pause before the big upload's idle reading and before the reading after it.
    settle: Duration,
}

impl Plan {
    fn of(args: &ServeArgs) -> Self {
        if args.quick {
            Plan {
                clients: vec![1, 4],
                duration: Duration::from_secs(1),
                docs: 20,
                big_upload_mb: 80,
                settle: Duration::from_millis(200),
            }
        } else {
            Plan {
                clients: args.clients.clone(),
                duration: Duration::from_secs(args.duration),
                docs: args.docs,
                big_upload_mb: args.big_upload_mb,
                settle: Duration::from_secs(2),
            }
        }
    }
}

pub(crate) fn bench_serve(args: &ServeArgs) -> Result<()> {
    let started = Instant::now();
    let load_at_start = load_average();
    let plan = Plan::of(args);
    let hoso = match &args.hoso {
        Some(path) => path.clone(),
        None => std::env::current_exe()
            .context(|| "cannot locate the bench binary".into())?
            .with_file_name("hoso"),
    };
    if !hoso.is_file() {
        return Err(BenchError::Failed(format!(
            "no hoso binary at {} (build it: cargo build --release --bin hoso --bin bench)",
            hoso.display()
        )));
    }
    fs::create_dir_all(&args.out).context(|| format!("cannot create {}", args.out.display()))?;
    let out =
        fs::canonicalize(&args.out).context(|| format!("cannot resolve {}", args.out.display()))?;
    let wrk = if args.no_wrk {
        Err("wrk not run (--no-wrk)".to_owned())
    } else {
        wrk_available()
    };
    if let Err(why) = &wrk {
        eprintln!("bench serve: {why}");
    }
    let mut runs = Vec::new();
    for &backend in &args.backend {
        eprintln!("bench serve: {}", backend.name());
        runs.push(run_backend(args, &plan, &hoso, &out, backend, wrk.is_ok())?);
    }
    print!(
        "{}",
        report(
            &plan,
            &runs,
            &hoso,
            wrk.err(),
            load_at_start,
            started.elapsed()
        )
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// One backend

/// What was measured on one backend.
struct BackendRun {
    backend: Backend,
    preload: Preload,
    rows: Vec<Row>,
    skipped: Vec<(Scenario, String)>,
    verify_indication: Option<String>,
    signed_level: String,
    big_upload: Option<std::result::Result<BigUpload, String>>,
    /// The server's RSS once ready, and after the whole load.
    fresh_rss: Option<u64>,
    loaded_rss: Option<u64>,
}

fn run_backend(
    args: &ServeArgs,
    plan: &Plan,
    hoso: &Path,
    out: &Path,
    backend: Backend,
    wrk: bool,
) -> Result<BackendRun> {
    let data_dir = out.join(format!("{}-{}", backend.name(), std::process::id()));
    if data_dir.exists() {
        fs::remove_dir_all(&data_dir)
            .context(|| format!("cannot remove {}", data_dir.display()))?;
    }
    fs::create_dir_all(&data_dir).context(|| format!("cannot create {}", data_dir.display()))?;
    let schema = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(format!("bench_serve_{}", std::process::id())),
    };
    let database_url = match &schema {
        None => None,
        Some(schema) => Some(create_schema(&args.postgres_url, schema)?),
    };
    let cli = Hoso {
        exe: hoso.to_owned(),
        data_dir: data_dir.clone(),
        database_url,
    };
    let outcome = measure_backend(args, plan, &cli, backend, wrk);
    if outcome.is_err() {
        eprintln!(
            "bench serve: kept {} (the server's log is server.log)",
            data_dir.display()
        );
    } else if !args.keep {
        let _ = fs::remove_dir_all(&data_dir);
        if let Some(schema) = &schema
            && let Err(e) = drop_schema(&args.postgres_url, schema)
        {
            eprintln!("bench serve: {e}");
        }
    }
    outcome
}

fn measure_backend(
    args: &ServeArgs,
    plan: &Plan,
    cli: &Hoso,
    backend: Backend,
    wrk: bool,
) -> Result<BackendRun> {
    eprintln!("bench serve: setup through the CLI…");
    let setup = setup(cli)?;
    let upload_limit_mb = plan.big_upload_mb + 64;
    let mut server = Server::start(cli, upload_limit_mb, args.server_log.as_deref())?;
    eprintln!(
        "bench serve: hoso serve at {} (pid {})",
        server.base, server.pid
    );
    let sampler = RssSampler::start(server.pid);
    let signed_level = setup.signed_level.clone();
    let fixture = Fixture::new(&server.base, setup, plan.docs);

    // The big upload first, on a fresh server: a heap already grown by the load would hide
    // what the upload needs (freed memory is reused without growing the RSS).
    let fresh_rss = rss(server.pid).map(|m| m.rss);
    let big_upload = (plan.big_upload_mb > 0).then(|| {
        eprintln!("bench serve: big upload of {} MB…", plan.big_upload_mb);
        let file = cli.data_dir.join("big-upload.pdf");
        // Without the route, the server answers 404 before reading and the body breaks.
        let log_at = server.log_len();
        let result = probe(&fixture, Scenario::Upload)
            .and_then(|_| big_upload(&fixture, &sampler, &file, plan.big_upload_mb, plan.settle))
            .map_err(|why| match server.first_error_since(log_at) {
                Some(line) => format!("{why}; the server's log: `{line}`"),
                None => why,
            });
        let _ = fs::remove_file(&file);
        match &result {
            Ok(big) => eprintln!("bench serve: big upload: {}", big.one_line()),
            Err(why) => eprintln!("bench serve: big upload failed: {why}"),
        }
        result
    });

    eprintln!("bench serve: preloading {} documents…", plan.docs);
    let preload = preload(&fixture, plan.docs);
    eprintln!(
        "bench serve: preloaded {} in {:.1} s{}",
        preload.stored,
        preload.seconds,
        preload
            .problem
            .as_deref()
            .map_or(String::new(), |p| format!(" ({p})"))
    );

    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    let mut verify_indication = None;
    for &scenario in &args.scenarios {
        let log_at = server.log_len();
        match probe(&fixture, scenario).map_err(|why| match server.first_error_since(log_at) {
            Some(line) => format!("{why}; the server's log: `{line}`"),
            None => why,
        }) {
            Ok(note) => {
                if scenario == Scenario::Verify {
                    verify_indication = note;
                }
            }
            Err(why) => {
                eprintln!("bench serve: {}: skipped ({why})", scenario.name());
                skipped.push((scenario, why));
                continue;
            }
        }
        for &clients in &plan.clients {
            let log_at = server.log_len();
            let mut row = run_load(
                &fixture,
                scenario,
                clients,
                plan.duration,
                &server,
                &sampler,
            );
            if row.errors > 0 {
                row.server_error = server.first_error_since(log_at);
            }
            eprintln!("bench serve: {}", row.one_line());
            if wrk && scenario.has_peer() {
                row.peer = Some(
                    fixture
                        .peer(scenario, &cli.data_dir)
                        .and_then(|peer| run_wrk(&peer, clients, plan.duration)),
                );
                if let Some(Ok(peer)) = &row.peer {
                    eprintln!(
                        "bench serve:   wrk {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
                        peer.requests_per_s, peer.p50_ms, peer.p99_ms
                    );
                }
            }
            rows.push(row);
            if !server.alive() {
                return Err(BenchError::Failed(format!(
                    "the server stopped during {}; its log:\n{}",
                    scenario.name(),
                    server.log_tail()
                )));
            }
        }
    }

    let loaded_rss = rss(server.pid).map(|m| m.rss);
    drop(sampler);
    server.stop();
    Ok(BackendRun {
        backend,
        preload,
        rows,
        skipped,
        verify_indication,
        signed_level,
        big_upload,
        fresh_rss,
        loaded_rss,
    })
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL schema

fn pg_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| BenchError::Failed(format!("tokio runtime: {e}")))
}

/// A fresh schema in the bench database; the URL that makes it the search path.
fn create_schema(url: &str, schema: &str) -> Result<String> {
    pg_runtime()?.block_on(async {
        let mut connection = super::search::connect_or_create(url).await?;
        for statement in [
            format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
            format!("CREATE SCHEMA {schema}"),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(statement))
                .execute(&mut connection)
                .await
                .map_err(|e| BenchError::Failed(format!("create schema: {e}")))?;
        }
        Ok::<_, BenchError>(())
    })?;
    let separator = if url.contains('?') { '&' } else { '?' };
    Ok(format!(
        "{url}{separator}options=-c%20search_path%3D{schema}"
    ))
}

fn drop_schema(url: &str, schema: &str) -> Result<()> {
    pg_runtime()?.block_on(async {
        let mut connection = super::search::connect_or_create(url).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
            .execute(&mut connection)
            .await
            .map_err(|e| BenchError::Failed(format!("drop schema {schema}: {e}")))?;
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------------
// Setup through the CLI

/// Runs `hoso` commands on one data dir and database.
struct Hoso {
    exe: PathBuf,
    data_dir: PathBuf,
    database_url: Option<String>,
}

impl Hoso {
    /// `hoso ARGS` with the data dir, the database and the test trust store; run in the
    /// data dir, so that no `./hoso.toml` of the caller's folder is read.
    fn command(&self) -> Command {
        let mut command = Command::new(&self.exe);
        command
            .current_dir(&self.data_dir)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .env("HOSO_TRUST_DIRS", repository().join(TRUST_DIR))
            .env("HOSO_BENCH_PASSWORD", user_password())
            .env("HOSO_BENCH_P12_PASSWORD", p12_password())
            .env("HOSO_ACTOR", "bench");
        if let Some(url) = &self.database_url {
            command.arg("--database-url").arg(url);
        }
        command
    }

    fn run(&self, args: &[&str], what: &str) -> Result<Output> {
        let mut command = self.command();
        command.args(args);
        run_checked(&mut command, what)
    }
}

fn user_password() -> String {
    format!("bench-{}-password", std::process::id())
}

fn p12_password() -> String {
    std::env::var("HOSO_BENCH_P12_PASSWORD").unwrap_or_else(|_| P12_PASSWORD.to_owned())
}

/// What the CLI made: tokens and the signed sample.
struct Setup {
    clerk_token: String,
    archivist_token: String,
    signed_pdf: Vec<u8>,
    /// How the verified sample was signed.
    signed_level: String,
}

fn setup(cli: &Hoso) -> Result<Setup> {
    let catalogue = cli.data_dir.join("catalogue.csv");
    fs::write(&catalogue, CATALOGUE).context(|| format!("cannot write {}", catalogue.display()))?;
    cli.run(
        &["procedure", "import", &catalogue.to_string_lossy()],
        "hoso procedure import",
    )?;
    for (user, role) in [
        ("bench-clerk", "clerk"),
        ("bench-archivist", "archivist"),
        ("bench-official", "official"),
    ] {
        cli.run(
            &[
                "user",
                "add",
                user,
                "--role",
                role,
                "--password-env",
                "HOSO_BENCH_PASSWORD",
            ],
            "hoso user add",
        )?;
    }
    let clerk_token = create_token(cli, "bench-clerk", "read,write")?;
    let archivist_token = create_token(cli, "bench-archivist", "read")?;
    let p12 = repository().join(P12);
    cli.run(
        &[
            "key",
            "add",
            "--user",
            "bench-official",
            "--name",
            "bench",
            "--p12",
            &p12.to_string_lossy(),
            "--password-env",
            "HOSO_BENCH_P12_PASSWORD",
        ],
        "hoso key add",
    )?;
    let signed = cli.data_dir.join("signed.pdf");
    let signed_level = sign_sample(cli, &p12, &signed)?;
    let signed_pdf = fs::read(&signed).context(|| format!("cannot read {}", signed.display()))?;
    Ok(Setup {
        clerk_token,
        archivist_token,
        signed_pdf,
        signed_level,
    })
}

/// Signs the sample for the verify scenario, at B-LT when `test-pki` (next to this binary)
/// can give a timestamp: `test-pki serve` on free ports for the TSA (stopped right after),
/// the CRLs of `certs/test-pki` embedded, nothing fetched. Verification then finds all its
/// evidence in the file and never goes to the network. Otherwise B-B, which an online
/// verification cannot settle without the PKI's responders (INDETERMINATE).
fn sign_sample(cli: &Hoso, p12: &Path, signed: &Path) -> Result<String> {
    let mut args: Vec<String> = [
        "sign".to_owned(),
        repository().join(SAMPLE).to_string_lossy().into_owned(),
        "-o".to_owned(),
        signed.to_string_lossy().into_owned(),
        "--p12".to_owned(),
        p12.to_string_lossy().into_owned(),
        "--password-env".to_owned(),
        "HOSO_BENCH_P12_PASSWORD".to_owned(),
        "--offline".to_owned(),
    ]
    .into();
    let tsa = TestPki::start();
    let level = match &tsa {
        Ok(tsa) => {
            args.extend(["--level".to_owned(), "B-LT".to_owned(), "--tsa".to_owned()]);
            args.push(tsa.tsa_url.clone());
            for crl in ["inter.crl", "root.crl"] {
                args.push("--crl".to_owned());
                args.push(
                    repository()
                        .join(TRUST_DIR)
                        .join(crl)
                        .to_string_lossy()
                        .into_owned(),
                );
            }
            "B-LT (timestamp from test-pki, CRLs embedded)".to_owned()
        }
        Err(why) => format!("B-B ({why})"),
    };
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    cli.run(&args, "hoso sign")?;
    drop(tsa);
    Ok(level)
}

/// `test-pki serve` on free ports, for its TSA; stopped when dropped (its stdin closes).
struct TestPki {
    child: Child,
    tsa_url: String,
}

impl TestPki {
    fn start() -> std::result::Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| format!("no current exe: {e}"))?;
        let program = exe.with_file_name("test-pki");
        if !program.is_file() {
            return Err(format!(
                "no {} for a TSA: cargo build --release --bin test-pki",
                program.display()
            ));
        }
        let mut child = Command::new(&program)
            .arg("serve")
            .arg("--dir")
            .arg(repository().join(TRUST_DIR))
            .args(["--ca-port", "0", "--ocsp-port", "0", "--tsa-port", "0"])
            .arg("--until-stdin-closes")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (sender, receiver) = mpsc::channel();
        thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = sender.send(line);
        });
        let line = receiver
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_default();
        let url = line
            .trim_end()
            .strip_prefix("test-pki: ready ")
            .and_then(|urls| urls.split(' ').find_map(|part| part.strip_prefix("tsa=")))
            .map(|url| format!("{}/", url.trim_end_matches('/')));
        match url {
            Some(tsa_url) => Ok(TestPki { child, tsa_url }),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                Err("test-pki serve did not start".to_owned())
            }
        }
    }
}

impl Drop for TestPki {
    fn drop(&mut self) {
        // Closing stdin stops it; kill in case it does not within a few seconds.
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `hoso token create --format json`: the secret is its `token` field.
fn create_token(cli: &Hoso, user: &str, scopes: &str) -> Result<String> {
    let output = cli.run(
        &[
            "token", "create", "--user", user, "--name", "bench", "--scope", scopes, "--format",
            "json",
        ],
        "hoso token create",
    )?;
    let json: serde_json::Value = serde_json::from_slice(&output.stdout)
        .context(|| "hoso token create printed no JSON".into())?;
    json["token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| BenchError::Failed(format!("no token in {json}")))
}

// ---------------------------------------------------------------------------------------------
// The server

/// A running `hoso serve`; stopped (SIGTERM, then SIGKILL) when dropped.
struct Server {
    child: Child,
    pid: u32,
    base: String,
    log: PathBuf,
}

impl Server {
    fn start(cli: &Hoso, upload_limit_mb: u64, log_filter: Option<&str>) -> Result<Server> {
        let log = cli.data_dir.join("server.log");
        let log_file = File::create(&log).context(|| format!("cannot create {}", log.display()))?;
        let mut command = cli.command();
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--insecure-cookies"])
            .args(["--verify-per-minute", "1000000000"])
            .args(["--upload-limit-mb", &upload_limit_mb.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file);
        if let Some(filter) = log_filter {
            command.env("HOSO_LOG", filter);
        }
        let mut child = command
            .spawn()
            .context(|| format!("cannot start {} serve", cli.exe.display()))?;
        let pid = child.id();
        // The first line names the address (port 0 picked a free one); the rest is drained.
        let stdout = child.stdout.take().expect("stdout is piped");
        let (sender, receiver) = mpsc::channel();
        thread::spawn(move || {
            let mut sender = Some(sender);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(at) = line.find("http://")
                    && let Some(sender) = sender.take()
                {
                    let url = line[at..]
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_owned();
                    let _ = sender.send(url);
                }
            }
        });
        let mut server = Server {
            child,
            pid,
            base: String::new(),
            log,
        };
        server.base = receiver.recv_timeout(START_TIMEOUT).map_err(|_| {
            BenchError::Failed(format!(
                "hoso serve printed no address; its log:\n{}",
                server.log_tail()
            ))
        })?;
        server.wait_ready()?;
        Ok(server)
    }

    fn wait_ready(&mut self) -> Result<()> {
        let agent = agent();
        let url = format!("{}/readyz", self.base);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(response) = agent.get(&url).call()
                && response.status().is_success()
            {
                return Ok(());
            }
            if !self.alive() || Instant::now() > deadline {
                return Err(BenchError::Failed(format!(
                    "hoso serve did not become ready; its log:\n{}",
                    self.log_tail()
                )));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn log_tail(&self) -> String {
        tail(&fs::read(&self.log).unwrap_or_default(), 20)
    }

    /// How long the log is now: where [`Server::first_error_since`] starts reading.
    fn log_len(&self) -> u64 {
        fs::metadata(&self.log).map_or(0, |m| m.len())
    }

    /// The first `ERROR` or `WARN` line the server logged after `offset`, if any: what the
    /// report shows next to a row's errors (the log itself goes with the data dir).
    fn first_error_since(&self, offset: u64) -> Option<String> {
        use std::io::{Seek, SeekFrom};
        let mut file = File::open(&self.log).ok()?;
        file.seek(SeekFrom::Start(offset)).ok()?;
        BufReader::new(file)
            .lines()
            .map_while(std::result::Result::ok)
            .find(|line| line.contains(" ERROR ") || line.contains(" WARN "))
            .map(|line| first_chars(&line, 400))
    }

    /// SIGTERM (the server finishes in-flight requests), SIGKILL after 15 s.
    fn stop(&mut self) {
        if !self.alive() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.alive() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(50));
        }
        if self.alive() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Memory of a process, in bytes.
#[derive(Debug, Clone, Copy)]
struct Memory {
    rss: u64,
    anon: u64,
}

/// `VmRSS` and `RssAnon` of `/proc/PID/status`.
fn rss(pid: u32) -> Option<Memory> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        status.lines().find_map(|line| {
            let value = line.strip_prefix(name)?.strip_prefix(':')?;
            value.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()
        })
    };
    Some(Memory {
        rss: field("VmRSS")? * 1024,
        anon: field("RssAnon")? * 1024,
    })
}

/// User + system CPU seconds of a process (all its threads): fields 14 and 15 of
/// `/proc/PID/stat`, in clock ticks (100 per second on Linux since 2.6).
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 2 (the command name) is in parentheses and may hold spaces: count from after it.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |number: usize| fields.get(number - 3)?.parse::<u64>().ok();
    Some((ticks(14)? + ticks(15)?) as f64 / 100.0)
}

/// Reads the server's memory every [`RSS_PERIOD`] and keeps the peak since the last reset.
struct RssSampler {
    pid: u32,
    peak: Arc<AtomicU64>,
    peak_anon: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl RssSampler {
    fn start(pid: u32) -> Self {
        let peak = Arc::new(AtomicU64::new(0));
        let peak_anon = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (peak, peak_anon, stop) = (peak.clone(), peak_anon.clone(), stop.clone());
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(memory) = rss(pid) {
                        peak.fetch_max(memory.rss, Ordering::Relaxed);
                        peak_anon.fetch_max(memory.anon, Ordering::Relaxed);
                    }
                    thread::sleep(RSS_PERIOD);
                }
            })
        };
        RssSampler {
            pid,
            peak,
            peak_anon,
            stop,
            thread: Some(thread),
        }
    }

    /// Starts a new peak from the current memory, which it returns.
    fn reset(&self) -> Option<Memory> {
        let now = rss(self.pid)?;
        self.peak.store(now.rss, Ordering::Relaxed);
        self.peak_anon.store(now.anon, Ordering::Relaxed);
        Some(now)
    }

    /// The peak since the last reset, with one more reading now.
    fn peak(&self) -> Memory {
        if let Some(memory) = rss(self.pid) {
            self.peak.fetch_max(memory.rss, Ordering::Relaxed);
            self.peak_anon.fetch_max(memory.anon, Ordering::Relaxed);
        }
        Memory {
            rss: self.peak.load(Ordering::Relaxed),
            anon: self.peak_anon.load(Ordering::Relaxed),
        }
    }
}

impl Drop for RssSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Requests

/// An HTTP client for one thread: one keep-alive connection, statuses returned rather than
/// turned into errors, no proxy from the environment. No timeout: with one, ureq costs
/// several times more CPU per request (measured: 2,300 instead of 15,000 `GET /healthz`
/// per second on one connection), and a server that dies closes its sockets anyway.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .max_idle_connections_per_host(1)
        .build()
        .new_agent()
}

/// What every request of the run needs.
struct Fixture {
    base: String,
    clerk_token: String,
    archivist_token: String,
    /// The multipart body of the verify scenario (the signed sample), built once.
    verify_body: Vec<u8>,
    /// Folded names of the preloaded documents' people: the search queries.
    names: Vec<String>,
    /// Numbers the distinct uploads.
    sequence: AtomicU64,
}

const BOUNDARY: &str = "----hoso-bench-3f9a1c27e5d04b8b";

impl Fixture {
    fn new(base: &str, setup: Setup, docs: usize) -> Self {
        let mut verify_body = multipart_head(&[], "cong-van-signed.pdf");
        verify_body.extend_from_slice(&setup.signed_pdf);
        verify_body.extend_from_slice(multipart_tail().as_bytes());
        Fixture {
            base: base.to_owned(),
            clerk_token: setup.clerk_token,
            archivist_token: setup.archivist_token,
            verify_body,
            names: (0..docs.max(1)).map(|i| person(i).1).collect(),
            sequence: AtomicU64::new(0),
        }
    }

    fn request(&self, scenario: Scenario, random: &mut Random) -> Request<'_> {
        let url = |path: &str| format!("{}{path}", self.base);
        match scenario {
            Scenario::Healthz => Request::get(url("/healthz"), None),
            Scenario::Me => Request::get(url("/api/v1/me"), Some(&self.archivist_token)),
            Scenario::Search => {
                let name = &self.names[random.below(self.names.len())];
                Request::get(search_url(&self.base, name), Some(&self.archivist_token))
            }
            Scenario::Verify => Request {
                url: url("/api/v1/verify"),
                token: None,
                body: Some(Cow::Borrowed(&self.verify_body)),
            },
            Scenario::Upload => {
                let n = self.sequence.fetch_add(1, Ordering::Relaxed);
                let mut body =
                    multipart_head(&[("role", "input")], &format!("bench-upload-{n}.pdf"));
                let lines = [format!("BENCH UPLOAD {n}"), "hoso bench serve".to_owned()];
                write_pdf(&mut body, &lines, UPLOAD_BYTES - 1200, n)
                    .expect("writing to memory does not fail");
                body.extend_from_slice(multipart_tail().as_bytes());
                Request {
                    url: url("/api/v1/documents"),
                    token: Some(&self.clerk_token),
                    body: Some(Cow::Owned(body)),
                }
            }
        }
    }

    /// What wrk loads for a peer scenario: its URL, and for search a Lua script that picks
    /// the query at random from the same names as our clients (written into `dir`).
    fn peer(&self, scenario: Scenario, dir: &Path) -> std::result::Result<Peer, String> {
        if scenario != Scenario::Search {
            return Ok(Peer {
                url: format!("{}/healthz", self.base),
                token: None,
                script: None,
            });
        }
        let mut lua = String::from("local paths = {\n");
        for name in &self.names {
            let url = search_url("", name);
            let _ = writeln!(lua, "  \"{url}\",");
        }
        lua.push_str(
            "}\nrequest = function()\n  return wrk.format(\"GET\", paths[math.random(#paths)])\nend\n",
        );
        let script = dir.join("search.lua");
        fs::write(&script, lua).map_err(|e| format!("{}: {e}", script.display()))?;
        Ok(Peer {
            url: format!("{}/api/v1/search", self.base),
            token: Some(self.archivist_token.clone()),
            script: Some(script),
        })
    }
}

/// How wrk is run for a scenario.
struct Peer {
    url: String,
    token: Option<String>,
    script: Option<PathBuf>,
}

fn search_url(base: &str, query: &str) -> String {
    let encoded = serde_urlencoded::to_string([("q", query)]).unwrap_or_default();
    format!("{base}/api/v1/search?{encoded}")
}

/// One request: GET without a body, POST multipart with one.
struct Request<'a> {
    url: String,
    token: Option<&'a str>,
    body: Option<Cow<'a, [u8]>>,
}

impl<'a> Request<'a> {
    fn get(url: String, token: Option<&'a str>) -> Self {
        Request {
            url,
            token,
            body: None,
        }
    }

    /// Sends it and reads the whole response; the status, and the start of the body when it
    /// is not a success.
    fn send(&self, agent: &ureq::Agent) -> std::result::Result<(u16, Option<String>), String> {
        let bearer = self.token.map(|token| format!("Bearer {token}"));
        let response = match &self.body {
            None => {
                let mut request = agent.get(&self.url);
                if let Some(bearer) = &bearer {
                    request = request.header("authorization", bearer);
                }
                request.call()
            }
            Some(body) => {
                let mut request = agent
                    .post(&self.url)
                    .header("content-type", multipart_content_type());
                if let Some(bearer) = &bearer {
                    request = request.header("authorization", bearer);
                }
                request.send(&body[..])
            }
        };
        read_response(response)
    }
}

fn read_response(
    response: std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> std::result::Result<(u16, Option<String>), String> {
    let mut response = response.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let mut reader = response.body_mut().as_reader();
    if (200..300).contains(&status) {
        io::copy(&mut reader, &mut io::sink()).map_err(|e| e.to_string())?;
        return Ok((status, None));
    }
    let mut text = String::new();
    let _ = (&mut reader).take(4096).read_to_string(&mut text);
    io::copy(&mut reader, &mut io::sink()).map_err(|e| e.to_string())?;
    Ok((status, Some(text)))
}

fn multipart_content_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// Text fields, then the header of the `file` part (a PDF); its bytes come next.
fn multipart_head(fields: &[(&str, &str)], file_name: &str) -> Vec<u8> {
    let mut head = String::new();
    for (name, value) in fields {
        let _ = write!(
            head,
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        );
    }
    let _ = write!(
        head,
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; \
         filename=\"{file_name}\"\r\nContent-Type: application/pdf\r\n\r\n"
    );
    head.into_bytes()
}

fn multipart_tail() -> String {
    format!("\r\n--{BOUNDARY}--\r\n")
}

/// Is the scenario's route there? One request, untimed; for verify, the indication.
fn probe(fixture: &Fixture, scenario: Scenario) -> std::result::Result<Option<String>, String> {
    let agent = agent();
    let request = fixture.request(scenario, &mut Random(1));
    match request.send(&agent) {
        Ok((status, _)) if (200..300).contains(&status) => {}
        Ok((status, body)) => {
            let body = body.unwrap_or_default();
            return Err(if body.contains("route-not-found") {
                format!("the server has no such route yet ({status})")
            } else {
                format!("HTTP {status}: {}", first_chars(&body, 300))
            });
        }
        Err(e) => return Err(format!("request failed: {e}")),
    }
    if scenario != Scenario::Verify {
        return Ok(None);
    }
    // Once more for the verdict, which the load loop does not read.
    let response = agent
        .post(&request.url)
        .header("content-type", multipart_content_type())
        .send(&fixture.verify_body[..])
        .map_err(|e| e.to_string())?;
    let text = response.into_body().read_to_string().unwrap_or_default();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    Ok(json["indication"].as_str().map(str::to_owned))
}

fn first_chars(text: &str, n: usize) -> String {
    let cut: String = text.chars().take(n).collect();
    cut.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A small deterministic generator (SplitMix64); no need for a `rand` crate.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

// ---------------------------------------------------------------------------------------------
// Generated documents

const FAMILY: [(&str, &str); 16] = [
    ("Nguyễn", "nguyen"),
    ("Trần", "tran"),
    ("Lê", "le"),
    ("Phạm", "pham"),
    ("Hoàng", "hoang"),
    ("Huỳnh", "huynh"),
    ("Phan", "phan"),
    ("Vũ", "vu"),
    ("Võ", "vo"),
    ("Đặng", "dang"),
    ("Bùi", "bui"),
    ("Đỗ", "do"),
    ("Hồ", "ho"),
    ("Ngô", "ngo"),
    ("Dương", "duong"),
    ("Lý", "ly"),
];
const MIDDLE: [(&str, &str); 8] = [
    ("Văn", "van"),
    ("Thị", "thi"),
    ("Hữu", "huu"),
    ("Đức", "duc"),
    ("Minh", "minh"),
    ("Ngọc", "ngoc"),
    ("Thanh", "thanh"),
    ("Quốc", "quoc"),
];
const GIVEN: [(&str, &str); 20] = [
    ("Hùng", "hung"),
    ("Lan", "lan"),
    ("Dũng", "dung"),
    ("Hương", "huong"),
    ("Tuấn", "tuan"),
    ("Mai", "mai"),
    ("Nam", "nam"),
    ("Hoa", "hoa"),
    ("Long", "long"),
    ("Thảo", "thao"),
    ("Phúc", "phuc"),
    ("Trang", "trang"),
    ("Khánh", "khanh"),
    ("Linh", "linh"),
    ("Sơn", "son"),
    ("Yến", "yen"),
    ("Bình", "binh"),
    ("Châu", "chau"),
    ("Đạt", "dat"),
    ("Giang", "giang"),
];

/// The person document `i` is about: (name with accents, name folded). The 2,560 names
/// are visited in a scrambled order (a multiplier prime to their count), so the first 2,560
/// documents name different people and a query finds about one document.
fn person(i: usize) -> (String, String) {
    let count = FAMILY.len() * MIDDLE.len() * GIVEN.len();
    let k = (i.wrapping_mul(1_000_003) + 17) % count;
    let (f, m, g) = (
        FAMILY[k % FAMILY.len()],
        MIDDLE[(k / FAMILY.len()) % MIDDLE.len()],
        GIVEN[k / (FAMILY.len() * MIDDLE.len())],
    );
    (
        format!("{} {} {}", f.0, m.0, g.0),
        format!("{} {} {}", f.1, m.1, g.1),
    )
}

/// Counts what passes through, for the PDF's cross-reference offsets.
struct Counting<W> {
    inner: W,
    written: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A one-page Helvetica PDF showing `lines` (ASCII), plus an unreferenced stream of
/// `padding` pseudo-random bytes (from `seed`) that makes it as large as wanted; written
/// as it goes, so a 200 MB file never sits in memory.
fn write_pdf(out: &mut impl Write, lines: &[String], padding: u64, seed: u64) -> io::Result<u64> {
    let mut out = Counting {
        inner: out,
        written: 0,
    };
    let mut text = String::from("BT /F1 12 Tf 16 TL 56 790 Td");
    for line in lines {
        let escaped = line
            .replace('\\', "\\\\")
            .replace('(', "\\(")
            .replace(')', "\\)");
        let _ = write!(text, " ({escaped}) Tj T*");
    }
    text.push_str(" ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_owned(),
        format!("<< /Length {} >>\nstream\n{text}\nendstream", text.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    out.write_all(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")?;
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.written);
        write!(out, "{} 0 obj\n{object}\nendobj\n", i + 1)?;
    }
    offsets.push(out.written);
    write!(
        out,
        "{} 0 obj\n<< /Length {padding} >>\nstream\n",
        objects.len() + 1
    )?;
    // A pool of up to 1 MiB of pseudo-random bytes; the padding is pieces of it from random
    // offsets, each stamped with its number: cheap, and no two pieces alike.
    let mut random = Random(seed);
    let mut pool = vec![0u8; padding.min(1 << 20) as usize];
    for word in pool.chunks_mut(8) {
        let bytes = random.next().to_le_bytes();
        word.copy_from_slice(&bytes[..word.len()]);
    }
    let mut chunk = vec![0u8; pool.len().min(64 * 1024)];
    let mut left = padding;
    let mut piece = 0u64;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        let at = random.below(pool.len() - n + 1);
        chunk[..n].copy_from_slice(&pool[at..at + n]);
        let stamp = piece.to_le_bytes();
        let k = n.min(stamp.len());
        chunk[..k].copy_from_slice(&stamp[..k]);
        out.write_all(&chunk[..n])?;
        left -= n as u64;
        piece += 1;
    }
    out.write_all(b"\nendstream\nendobj\n")?;
    let xref = out.written;
    write!(out, "xref\n0 {}\n0000000000 65535 f \n", offsets.len() + 1)?;
    for offset in &offsets {
        writeln!(out, "{offset:010} 00000 n ")?;
    }
    write!(
        out,
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        offsets.len() + 1
    )?;
    out.flush()?;
    Ok(out.written)
}

// ---------------------------------------------------------------------------------------------
// Preload

struct Preload {
    stored: usize,
    seconds: f64,
    /// Why documents are missing, if some are.
    problem: Option<String>,
}

/// Uploads `docs` small PDFs, each about `person(i)`, with [`PRELOAD_CLIENTS`] clients.
fn preload(fixture: &Fixture, docs: usize) -> Preload {
    let started = Instant::now();
    let next = AtomicU64::new(0);
    let stored = AtomicU64::new(0);
    let problem = std::sync::Mutex::new(None::<String>);
    let stop = AtomicBool::new(false);
    thread::scope(|scope| {
        for _ in 0..PRELOAD_CLIENTS.min(docs) {
            scope.spawn(|| {
                let agent = agent();
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                    if i >= docs {
                        break;
                    }
                    match preload_one(fixture, &agent, i) {
                        Ok(()) => {
                            stored.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(why) => {
                            stop.store(true, Ordering::Relaxed);
                            problem.lock().expect("not poisoned").get_or_insert(why);
                        }
                    }
                }
            });
        }
    });
    Preload {
        stored: stored.into_inner() as usize,
        seconds: started.elapsed().as_secs_f64(),
        problem: problem.into_inner().expect("not poisoned"),
    }
}

fn preload_one(
    fixture: &Fixture,
    agent: &ureq::Agent,
    i: usize,
) -> std::result::Result<(), String> {
    let (name, folded) = person(i);
    let metadata = serde_json::json!({
        "type_name": "Giấy khai sinh",
        "subject": format!("Đăng ký khai sinh cho {name}"),
    })
    .to_string();
    let file_name = format!("khai-sinh-{}-{i:05}.pdf", folded.replace(' ', "-"));
    let mut body = multipart_head(&[("role", "input"), ("metadata", &metadata)], &file_name);
    let lines = [
        "UY BAN NHAN DAN XA TAN PHU".to_owned(),
        format!("GIAY KHAI SINH so {i}"),
        format!("Ho va ten: {}", folded.to_uppercase()),
    ];
    write_pdf(&mut body, &lines, 0, i as u64).map_err(|e| e.to_string())?;
    body.extend_from_slice(multipart_tail().as_bytes());
    let request = Request {
        url: format!("{}/api/v1/documents", fixture.base),
        token: Some(&fixture.clerk_token),
        body: Some(Cow::Owned(body)),
    };
    match request.send(agent)? {
        (status, _) if (200..300).contains(&status) => Ok(()),
        (status, body) => {
            let body = body.unwrap_or_default();
            Err(if body.contains("route-not-found") {
                "the server has no POST /api/v1/documents yet".to_owned()
            } else {
                format!("document {i}: HTTP {status}: {}", first_chars(&body, 300))
            })
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The load

/// One scenario at one number of clients.
struct Row {
    scenario: Scenario,
    clients: usize,
    seconds: f64,
    /// Every latency, in microseconds, sorted.
    latencies: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
    /// The server's first error or warning in its log during the row, when it had errors.
    server_error: Option<String>,
    peak_rss: Option<u64>,
    server_cpu_s: Option<f64>,
    client_cpu_s: Option<f64>,
    peer: Option<std::result::Result<Wrk, String>>,
}

impl Row {
    fn requests(&self) -> usize {
        self.latencies.len()
    }

    fn requests_per_s(&self) -> f64 {
        self.requests() as f64 / self.seconds
    }

    /// The latency at percentile `p` (nearest rank), in milliseconds.
    fn percentile_ms(&self, p: f64) -> Option<f64> {
        if self.latencies.is_empty() {
            return None;
        }
        let rank = ((p / 100.0) * self.latencies.len() as f64).ceil() as usize;
        Some(f64::from(self.latencies[rank.clamp(1, self.latencies.len()) - 1]) / 1000.0)
    }

    fn per_request_ms(&self, seconds: Option<f64>) -> Option<f64> {
        let requests = self.requests() as u64 + self.errors;
        seconds
            .filter(|_| requests > 0)
            .map(|s| s * 1000.0 / requests as f64)
    }

    fn one_line(&self) -> String {
        format!(
            "{} × {}: {:.0} req/s, p50 {} ms, p99 {} ms, {} errors, peak RSS {}",
            self.scenario.name(),
            self.clients,
            self.requests_per_s(),
            number(self.percentile_ms(50.0), 2),
            number(self.percentile_ms(99.0), 2),
            self.errors,
            self.peak_rss.map_or("—".into(), mb)
        )
    }
}

/// What one client thread measured.
#[derive(Default)]
struct ClientResult {
    latencies: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
    started: Option<Instant>,
    finished: Option<Instant>,
}

fn run_load(
    fixture: &Fixture,
    scenario: Scenario,
    clients: usize,
    duration: Duration,
    server: &Server,
    sampler: &RssSampler,
) -> Row {
    let barrier = Barrier::new(clients + 1);
    let server_pid = server.pid.to_string();
    let (results, seconds, server_cpu, client_cpu, peak) = thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|c| {
                let barrier = &barrier;
                thread::Builder::new()
                    .stack_size(256 * 1024)
                    .spawn_scoped(scope, move || {
                        client(fixture, scenario, c as u64, duration, barrier)
                    })
                    .expect("a client thread starts")
            })
            .collect();
        sampler.reset();
        let server_before = cpu_seconds(&server_pid);
        let client_before = cpu_seconds("self");
        barrier.wait();
        let results: Vec<ClientResult> = handles
            .into_iter()
            .map(|handle| handle.join().unwrap_or_default())
            .collect();
        // From the first client's start to the last one's last response.
        let first = results.iter().filter_map(|r| r.started).min();
        let last = results.iter().filter_map(|r| r.finished).max();
        let seconds = first
            .zip(last)
            .map_or(duration.as_secs_f64(), |(first, last)| {
                last.duration_since(first).as_secs_f64()
            });
        let server_cpu = server_before
            .zip(cpu_seconds(&server_pid))
            .map(|(before, after)| after - before);
        let client_cpu = client_before
            .zip(cpu_seconds("self"))
            .map(|(before, after)| after - before);
        (results, seconds, server_cpu, client_cpu, sampler.peak())
    });
    let mut latencies = Vec::with_capacity(results.iter().map(|r| r.latencies.len()).sum());
    let mut errors = 0;
    let mut first_error = None;
    for result in results {
        latencies.extend(result.latencies);
        errors += result.errors;
        first_error = first_error.or(result.first_error);
    }
    latencies.sort_unstable();
    Row {
        scenario,
        clients,
        seconds,
        latencies,
        errors,
        first_error,
        server_error: None,
        peak_rss: Some(peak.rss).filter(|&rss| rss > 0),
        server_cpu_s: server_cpu,
        client_cpu_s: client_cpu,
        peer: None,
    }
}

/// One client: a warm-up, then requests back to back until `duration` has passed since the
/// start signal.
/// Only successes count as latencies; a transport failure waits 10 ms (no busy loop on a
/// dead server).
fn client(
    fixture: &Fixture,
    scenario: Scenario,
    number: u64,
    duration: Duration,
    barrier: &Barrier,
) -> ClientResult {
    let agent = agent();
    let mut random = Random(0x5eed ^ (number << 32));
    let mut result = ClientResult {
        latencies: Vec::with_capacity(1 << 14),
        ..ClientResult::default()
    };
    // Untimed: the connection is opened and the route warmed before the start signal.
    for _ in 0..WARM_UP_REQUESTS {
        let _ = fixture.request(scenario, &mut random).send(&agent);
    }
    barrier.wait();
    let started = Instant::now();
    result.started = Some(started);
    let end = started + duration;
    while Instant::now() < end {
        let request = fixture.request(scenario, &mut random);
        let sent = Instant::now();
        let outcome = request.send(&agent);
        let micros = u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX);
        match outcome {
            Ok((status, _)) if (200..300).contains(&status) => result.latencies.push(micros),
            Ok((status, body)) => {
                result.errors += 1;
                result.first_error.get_or_insert_with(|| {
                    format!(
                        "HTTP {status}: {}",
                        first_chars(&body.unwrap_or_default(), 200)
                    )
                });
            }
            Err(e) => {
                result.errors += 1;
                result.first_error.get_or_insert(e);
                thread::sleep(Duration::from_millis(10));
            }
        }
    }
    result.finished = Some(Instant::now());
    result
}

// ---------------------------------------------------------------------------------------------
// The peer: wrk

fn wrk_available() -> std::result::Result<(), String> {
    match Command::new("wrk")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
    {
        // wrk prints its version and usage and exits 1.
        Ok(output) if String::from_utf8_lossy(&output.stdout).contains("wrk") => Ok(()),
        _ => Err(
            "wrk is not installed (Debian package `wrk`; scripts/install-deps installs \
                  it): no peer figures"
                .to_owned(),
        ),
    }
}

/// What wrk measured.
struct Wrk {
    requests_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    non_2xx: u64,
}

fn run_wrk(peer: &Peer, clients: usize, duration: Duration) -> std::result::Result<Wrk, String> {
    let mut command = Command::new("wrk");
    command
        .arg(format!("-t{}", clients.min(2)))
        .arg(format!("-c{clients}"))
        .arg(format!("-d{}s", duration.as_secs().max(1)))
        .arg("--latency");
    if let Some(token) = &peer.token {
        command
            .arg("-H")
            .arg(format!("Authorization: Bearer {token}"));
    }
    if let Some(script) = &peer.script {
        command.arg("-s").arg(script);
    }
    command.arg(&peer.url);
    let output = run_checked(&mut command, "wrk").map_err(|e| e.to_string())?;
    parse_wrk(&String::from_utf8_lossy(&output.stdout))
}

/// Reads `Requests/sec:`, the 50 % and 99 % lines of `--latency`, and `Non-2xx or 3xx
/// responses:` from wrk's report.
fn parse_wrk(text: &str) -> std::result::Result<Wrk, String> {
    let value_after = |label: &str| {
        text.lines()
            .find_map(|line| line.trim().strip_prefix(label).map(str::trim))
    };
    let requests_per_s = value_after("Requests/sec:")
        .and_then(|v| v.parse::<f64>().ok())
        .ok_or_else(|| format!("unexpected wrk output:\n{text}"))?;
    let latency = |label| {
        value_after(label)
            .and_then(wrk_duration_ms)
            .ok_or_else(|| format!("no {label} latency in wrk's output:\n{text}"))
    };
    Ok(Wrk {
        requests_per_s,
        p50_ms: latency("50%")?,
        p99_ms: latency("99%")?,
        non_2xx: value_after("Non-2xx or 3xx responses:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
    })
}

/// `812.00us`, `1.20ms`, `2.01s`, `1.50m` → milliseconds.
fn wrk_duration_ms(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (value, unit) = text.split_at(split);
    let value: f64 = value.parse().ok()?;
    let factor = match unit {
        "us" => 0.001,
        "ms" => 1.0,
        "s" => 1000.0,
        "m" => 60_000.0,
        _ => return None,
    };
    Some(value * factor)
}

// ---------------------------------------------------------------------------------------------
// The big upload

struct BigUpload {
    bytes: u64,
    seconds: f64,
    status: u16,
    peak: Memory,
    idle: Memory,
    after: Option<Memory>,
}

impl BigUpload {
    fn growth_mb(&self) -> f64 {
        self.peak.rss.saturating_sub(self.idle.rss) as f64 / 1e6
    }

    fn anon_growth_mb(&self) -> f64 {
        self.peak.anon.saturating_sub(self.idle.anon) as f64 / 1e6
    }

    fn one_line(&self) -> String {
        format!(
            "{} in {:.1} s (HTTP {}), RSS idle {} → peak {} (+{:.1} MB, anonymous +{:.1} MB)",
            mb(self.bytes),
            self.seconds,
            self.status,
            mb(self.idle.rss),
            mb(self.peak.rss),
            self.growth_mb(),
            self.anon_growth_mb()
        )
    }
}

/// Writes a `megabytes` PDF to `path`, then streams it as the body of one upload (never
/// whole in memory here either) while the sampler watches the server.
fn big_upload(
    fixture: &Fixture,
    sampler: &RssSampler,
    path: &Path,
    megabytes: u64,
    settle: Duration,
) -> std::result::Result<BigUpload, String> {
    let target = megabytes * 1_000_000;
    {
        let file = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut writer = io::BufWriter::with_capacity(1 << 20, file);
        let lines = ["hoso bench serve: big upload".to_owned()];
        write_pdf(&mut writer, &lines, target.saturating_sub(1200), 0xb16)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let file_len = fs::metadata(path).map_err(|e| e.to_string())?.len();
    let head = multipart_head(&[("role", "input")], "big-upload.pdf");
    let tail = multipart_tail();
    let length = head.len() as u64 + file_len + tail.len() as u64;
    // Let the server settle after the load, then take its idle memory.
    thread::sleep(settle);
    let idle = sampler.reset().ok_or("cannot read the server's memory")?;
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let body = io::Cursor::new(head)
        .chain(file)
        .chain(io::Cursor::new(tail.into_bytes()));
    let started = Instant::now();
    let response = agent()
        .post(format!("{}/api/v1/documents", fixture.base))
        .header("content-type", multipart_content_type())
        .header("content-length", length.to_string())
        .header("authorization", format!("Bearer {}", fixture.clerk_token))
        .send(ureq::SendBody::from_owned_reader(body));
    let outcome = read_response(response);
    let seconds = started.elapsed().as_secs_f64();
    let peak = sampler.peak();
    let (status, problem) = outcome?;
    if !(200..300).contains(&status) {
        return Err(format!(
            "HTTP {status}: {}",
            first_chars(&problem.unwrap_or_default(), 300)
        ));
    }
    thread::sleep(settle);
    Ok(BigUpload {
        bytes: file_len,
        seconds,
        status,
        peak,
        idle,
        after: rss(sampler.pid),
    })
}

// ---------------------------------------------------------------------------------------------
// The report

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn number(value: Option<f64>, decimals: usize) -> String {
    value.map_or("—".into(), |v| format!("{v:.decimals$}"))
}

fn report(
    plan: &Plan,
    runs: &[BackendRun],
    hoso: &Path,
    wrk_missing: Option<String>,
    load_at_start: Option<f64>,
    elapsed: Duration,
) -> String {
    let mut out = String::from("## HTTP service under load (`bench serve`)\n\n");
    let build = if hoso.components().any(|c| c.as_os_str() == "debug") {
        "**debug build**"
    } else {
        "release build"
    };
    let _ = write!(
        out,
        "`hoso serve` ({build}, `{}`) on 127.0.0.1; {} s per row; every client is one thread \
         with one keep-alive connection sending requests back to back (ureq); latency = request \
         sent to response read; errors = non-2xx or transport failures. The generator and the \
         server share the machine",
        hoso.display(),
        plan.duration.as_secs()
    );
    if let Some(cores) = cores() {
        let _ = write!(out, " ({cores} cores");
        if let Some(load) = load_at_start {
            let _ = write!(out, ", load average {load:.2} at start");
        }
        out.push(')');
    }
    out.push_str(
        ": server CPU ms/req and bench CPU ms/req are each process's user+system time per \
         request. RSS is the server's peak VmRSS during the row.\n\n",
    );
    for scenario in Scenario::ALL {
        let _ = writeln!(out, "- `{}`: {}", scenario.name(), scenario.description());
    }
    out.push('\n');
    for run in runs {
        out.push_str(&render_run(run, wrk_missing.is_none()));
    }
    if let Some(why) = wrk_missing {
        let _ = writeln!(out, "Peer: {why}.\n");
    }
    let _ = writeln!(out, "Whole run: {:.0} s.", elapsed.as_secs_f64());
    out
}

fn render_run(run: &BackendRun, with_peer: bool) -> String {
    let mut out = format!("### {}\n\n", run.backend.name());
    let preload = &run.preload;
    let _ = write!(
        out,
        "{} documents preloaded through `POST /api/v1/documents` ({} clients) in {:.1} s",
        preload.stored, PRELOAD_CLIENTS, preload.seconds
    );
    if preload.stored > 0 && preload.seconds > 0.0 {
        let _ = write!(
            out,
            " ({:.0} documents/s)",
            preload.stored as f64 / preload.seconds
        );
    }
    if let Some(problem) = &preload.problem {
        let _ = write!(out, "; **stopped**: {problem}");
    }
    out.push('.');
    let _ = write!(
        out,
        " The sample `verify` uploads is signed {}",
        run.signed_level
    );
    match &run.verify_indication {
        Some(indication) => {
            let _ = write!(out, "; the service's verdict: {indication}.");
        }
        None => out.push('.'),
    }
    if let (Some(fresh), Some(loaded)) = (run.fresh_rss, run.loaded_rss) {
        let _ = write!(
            out,
            " Server RSS: {} once ready, {} after the whole load.",
            mb(fresh),
            mb(loaded)
        );
    }
    out.push_str("\n\n");
    out.push_str(
        "| scenario | clients | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | errors | \
         server RSS peak | server CPU ms/req | bench CPU ms/req |",
    );
    if with_peer {
        out.push_str(" wrk req/s | wrk p50 / p99 ms | ours ÷ wrk |");
    }
    out.push_str("\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    if with_peer {
        out.push_str("---:|---:|---:|");
    }
    out.push('\n');
    for row in &run.rows {
        let _ = write!(
            out,
            "| {} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} |",
            row.scenario.name(),
            row.clients,
            row.requests(),
            row.requests_per_s(),
            number(row.percentile_ms(50.0), 2),
            number(row.percentile_ms(95.0), 2),
            number(row.percentile_ms(99.0), 2),
            number(row.percentile_ms(100.0), 1),
            row.errors,
            row.peak_rss.map_or("—".into(), mb),
            number(row.per_request_ms(row.server_cpu_s), 3),
            number(row.per_request_ms(row.client_cpu_s), 3),
        );
        if with_peer {
            match &row.peer {
                Some(Ok(peer)) => {
                    let errors = if peer.non_2xx > 0 {
                        format!(" ({} non-2xx)", peer.non_2xx)
                    } else {
                        String::new()
                    };
                    let _ = write!(
                        out,
                        " {:.0}{errors} | {:.2} / {:.2} | {:.2} |",
                        peer.requests_per_s,
                        peer.p50_ms,
                        peer.p99_ms,
                        row.requests_per_s() / peer.requests_per_s
                    );
                }
                Some(Err(_)) => out.push_str(" failed | — | — |"),
                None => out.push_str(" — | — | — |"),
            }
        }
        out.push('\n');
    }
    out.push('\n');
    if let Some(big) = &run.big_upload {
        out.push_str(&render_big_upload(big));
    }
    let mut notes = Vec::new();
    for (scenario, why) in &run.skipped {
        notes.push(format!("`{}` skipped: {why}", scenario.name()));
    }
    for row in &run.rows {
        if let Some(error) = &row.first_error {
            notes.push(format!(
                "`{}` × {}: first error: {error}",
                row.scenario.name(),
                row.clients
            ));
        }
        if let Some(line) = &row.server_error {
            notes.push(format!(
                "`{}` × {}: the server's log: `{line}`",
                row.scenario.name(),
                row.clients
            ));
        }
        if let Some(Err(why)) = &row.peer {
            notes.push(format!(
                "wrk on `{}` × {}: {}",
                row.scenario.name(),
                row.clients,
                first_chars(why, 300)
            ));
        }
    }
    if !notes.is_empty() {
        out.push_str("Notes:\n\n");
        for note in notes {
            let _ = writeln!(out, "- {note}");
        }
        out.push('\n');
    }
    out
}

fn render_big_upload(big: &std::result::Result<BigUpload, String>) -> String {
    let big = match big {
        Ok(big) => big,
        Err(why) => return format!("Big upload: **failed**: {why}\n\n"),
    };
    let growth = big.growth_mb();
    let verdict = if growth < BIG_UPLOAD_GROWTH_LIMIT_MB {
        "✓"
    } else {
        "✗"
    };
    format!(
        "Big upload (one multipart `POST /api/v1/documents` right after the server started, \
         before the load; the body streamed from disk by the client):\n\n\
         | size | seconds | MB/s | server RSS idle | peak | growth (< {BIG_UPLOAD_GROWTH_LIMIT_MB} \
         MB) | anonymous growth | RSS after |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|\n\
         | {} | {:.2} | {:.0} | {} | {} | {growth:.1} MB {verdict} | {:.1} MB | {} |\n\n",
        mb(big.bytes),
        big.seconds,
        big.bytes as f64 / 1e6 / big.seconds,
        mb(big.idle.rss),
        mb(big.peak.rss),
        big.anon_growth_mb(),
        big.after.map_or("—".into(), |m| mb(m.rss)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk_output_is_read() {
        let text = "Running 1s test @ http://127.0.0.1:1/healthz\n  2 threads and 8 connections\n\
            \x20 Latency Distribution\n     50%  812.00us\n     75%    1.10ms\n     99%    2.01s\n\
            \x20 1000 requests in 1.00s, 1.00MB read\n  Non-2xx or 3xx responses: 3\n\
            Requests/sec:   1000.50\nTransfer/sec:      1.00MB\n";
        let wrk = parse_wrk(text).unwrap();
        assert_eq!(wrk.requests_per_s, 1000.5);
        assert!((wrk.p50_ms - 0.812).abs() < 1e-9);
        assert!((wrk.p99_ms - 2010.0).abs() < 1e-9);
        assert_eq!(wrk.non_2xx, 3);
        assert!(parse_wrk("garbage").is_err());
    }

    #[test]
    fn generated_pdfs_are_readable_and_distinct() {
        let mut a = Vec::new();
        let written = write_pdf(&mut a, &["A (1)".to_owned()], 5000, 1).unwrap();
        assert_eq!(written, a.len() as u64);
        let mut b = Vec::new();
        write_pdf(&mut b, &["A (1)".to_owned()], 5000, 2).unwrap();
        assert_ne!(a, b);
        let document = lopdf::Document::load_mem(&a).unwrap();
        assert_eq!(document.get_pages().len(), 1);
    }

    #[test]
    fn the_first_names_are_all_different() {
        let names: std::collections::HashSet<String> = (0..2560).map(|i| person(i).1).collect();
        assert_eq!(names.len(), 2560);
        assert_eq!(person(3).1, hoso::archive::search::fold(&person(3).0));
    }
}
