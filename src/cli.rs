//! Command-line interface: argument parsing (clap), dispatch to the library, and the
//! translation of errors into messages and exit codes.
//!
//! Exit codes: 0 success; 1 the operation failed; 2 usage or configuration error (unknown
//! flag, bad value); 69 the command exists but is not in this version yet. Commands with
//! their own verdict codes (`verify`) document them on the command.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{Config, ConfigError, Overrides, redact_password};
use crate::error::{Coded, Error, ErrorClass, Result};
use crate::ocr::Languages;
use crate::pipeline::Pipeline;
use crate::trust::TrustStore;

/// hoso (hồ sơ): số hóa, ký số, kiểm tra và lưu trữ hồ sơ cho Bộ phận Một cửa.
/// Document engine for one-stop offices: digitize, sign, verify, archive.
#[derive(Debug, Parser)]
#[command(name = "hoso", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Settings shared by every command (see `hoso config` for the effective values).
#[derive(Debug, Args)]
struct GlobalArgs {
    /// TOML configuration file [default: ./hoso.toml when present]
    #[arg(long, env = "HOSO_CONFIG", global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Folder for the SQLite database and the blob store [default: ./data]
    #[arg(long, env = "HOSO_DATA_DIR", global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// sqlite:PATH or postgres://USER@HOST/DB [default: sqlite in the data dir]
    #[arg(
        long,
        env = "HOSO_DATABASE_URL",
        global = true,
        value_name = "URL",
        hide_env_values = true
    )]
    database_url: Option<String>,
    /// Folder of trusted root certificates; repeat for several [default: certs/trust]
    #[arg(
        long = "trust",
        env = "HOSO_TRUST_DIRS",
        value_delimiter = ':',
        global = true,
        value_name = "DIR"
    )]
    trust_dirs: Option<Vec<PathBuf>>,
    /// Tesseract languages for OCR, joined by '+' [default: vie+eng]
    #[arg(long, env = "HOSO_OCR_LANGUAGES", global = true, value_name = "LANGS")]
    ocr_languages: Option<Languages>,
    /// CPU-bound jobs run at once [default: number of cores]
    #[arg(long, env = "HOSO_JOBS", global = true, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Log filter, e.g. info or hoso=debug [default: info for serve, warn otherwise]
    #[arg(long, env = "HOSO_LOG", global = true, value_name = "FILTER")]
    log: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Chạy dịch vụ HTTP / Run the HTTP service (API, health checks)
    Serve(ServeArgs),
    /// Số hóa: ảnh quét -> PDF tìm kiếm được / OCR scans into a searchable PDF (issue #3)
    Ocr(OcrArgs),
    /// Ký số PAdES / Sign a PDF with a PAdES signature (issue #4)
    Sign(InOutArgs),
    /// Kiểm tra chữ ký / Verify the signatures of a PDF (issue #5)
    Verify(VerifyArgs),
    /// Đưa tài liệu vào kho lưu trữ / Ingest documents into the archive (issue #6)
    Ingest(IngestArgs),
    /// Tìm kiếm hồ sơ, tài liệu / Search the archive (issue #6)
    Search(SearchArgs),
    /// Kho chứng thư tin cậy / Trusted root certificates
    #[command(subcommand)]
    Trust(TrustCommand),
    /// Áp dụng migration CSDL rồi thoát / Apply database migrations and exit
    Migrate,
    /// In cấu hình đang dùng / Print the effective configuration
    Config,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address and port to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "HOSO_LISTEN", value_name = "ADDR:PORT")]
    listen: Option<SocketAddr>,
}

#[derive(Debug, Args)]
struct OcrArgs {
    /// Scanned pages: PNG, JPEG, TIFF (multi-page) or scanned PDF, in order; they become one PDF
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<PathBuf>,
    /// The searchable PDF to write
    #[arg(short = 'o', long = "output", value_name = "OUT.pdf")]
    output: PathBuf,
    /// Also write the text, pages separated by form feeds
    #[arg(long, value_name = "OUT.txt")]
    text: Option<PathBuf>,
    /// Also write the structured result: per page text, confidence, rotation, skew, word
    /// boxes; per document the extracted metadata (số/ký hiệu, ngày, cơ quan, loại, trích yếu)
    #[arg(long, value_name = "OUT.json")]
    json: Option<PathBuf>,
    /// Tesseract languages [default: vie+eng, or ocr_languages from the configuration]
    #[arg(long, value_name = "LANGS")]
    lang: Option<Languages>,
    /// Do not detect and fix pages scanned sideways or upside down
    #[arg(long)]
    no_rotate: bool,
    /// Do not straighten pages scanned at an angle
    #[arg(long)]
    no_deskew: bool,
    /// Write PDF/A-2b (for archiving): XMP metadata and an sRGB output intent
    #[arg(long)]
    pdfa: bool,
    /// PDF pages that already have text are copied unchanged (the default)
    #[arg(long, group = "text_mode")]
    skip_text: bool,
    /// OCR again PDF pages whose only text is an earlier, invisible OCR layer
    #[arg(long, group = "text_mode")]
    redo_ocr: bool,
    /// OCR every PDF page, rendering pages with text at 300 dpi (their text is replaced)
    #[arg(long, group = "text_mode")]
    force_ocr: bool,
}

impl OcrArgs {
    fn text_pages(&self) -> crate::ocr::pdf_input::TextPages {
        use crate::ocr::pdf_input::TextPages;
        match (self.redo_ocr, self.force_ocr) {
            (true, _) => TextPages::RedoOcr,
            (_, true) => TextPages::ForceOcr,
            _ => TextPages::Keep,
        }
    }
}

#[derive(Debug, Args)]
struct InOutArgs {
    /// Input PDF
    input: PathBuf,
    /// Output PDF
    #[arg(short = 'o', long = "output", value_name = "OUT.pdf")]
    output: PathBuf,
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// The signed PDF
    file: PathBuf,
}

#[derive(Debug, Args)]
struct IngestArgs {
    /// Files to store
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
struct SearchArgs {
    /// Words to look for (diacritics optional)
    query: String,
}

#[derive(Debug, Subcommand)]
enum TrustCommand {
    /// Liệt kê chứng thư gốc tin cậy / List trusted roots with their SHA-256 fingerprints
    List {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// Parses the command line and runs it; the process exit code is the return value.
pub fn main() -> ExitCode {
    limit_openmp_threads();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let overrides = Overrides {
        config_file: cli.global.config,
        listen: match &cli.command {
            Command::Serve(args) => args.listen,
            _ => None,
        },
        data_dir: cli.global.data_dir,
        database_url: cli.global.database_url,
        trust_dirs: cli.global.trust_dirs,
        ocr_languages: cli.global.ocr_languages,
        jobs: cli.global.jobs.map(usize::from),
        log: cli.global.log,
    };
    let config = match Config::resolve(overrides) {
        Ok(config) => config,
        Err(e) => return report(&Error::Config(e)),
    };
    // lopdf warns about every oddity of a PDF it reads; hoso reports what matters itself.
    let default_log = if matches!(cli.command, Command::Serve(_)) {
        "info,lopdf=error"
    } else {
        "warn,lopdf=error"
    };
    if let Err(e) = init_tracing(config.log.as_deref().unwrap_or(default_log)) {
        return report(&Error::Config(e));
    }
    let result = match cli.command {
        Command::Serve(_) => with_runtime(serve(config)),
        Command::Migrate => with_runtime(migrate(config)),
        Command::Config => print_config(&config),
        Command::Trust(TrustCommand::List { format }) => list_trust(&config, format),
        Command::Ocr(args) => ocr(&config, args),
        Command::Sign(_) => Err(Error::NotImplemented { command: "sign" }),
        Command::Verify(_) => Err(Error::NotImplemented { command: "verify" }),
        Command::Ingest(_) => Err(Error::NotImplemented { command: "ingest" }),
        Command::Search(_) => Err(Error::NotImplemented { command: "search" }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e),
    }
}

/// Tesseract's OpenMP threads slow it down several-fold when pages already run in
/// parallel (measured: 6.5 s instead of 1.25 s per page on 2 cores). OpenMP reads
/// `OMP_THREAD_LIMIT` when the library loads, before `main`, so the variable cannot be set
/// from here: the process re-executes itself once with it set. An operator's own value wins.
fn limit_openmp_threads() {
    use std::os::unix::process::CommandExt;
    if std::env::var_os("OMP_THREAD_LIMIT").is_some() {
        return;
    }
    let Ok(executable) = std::env::current_exe() else {
        return;
    };
    let mut args = std::env::args_os();
    let arg0 = args
        .next()
        .unwrap_or_else(|| executable.clone().into_os_string());
    // `exec` returns only when it failed; hoso then runs with OpenMP's default.
    let error = std::process::Command::new(&executable)
        .arg0(arg0)
        .args(args)
        .env("OMP_THREAD_LIMIT", "1")
        .exec();
    eprintln!("cảnh báo: không đặt được OMP_THREAD_LIMIT=1 ({error}); OCR có thể chậm hơn");
}

/// Clap's own message (English) under a Vietnamese first line; exit 2 for usage errors, 0
/// for --help and --version.
fn usage_error(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        let _ = error.print();
        return ExitCode::SUCCESS;
    }
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = error.print();
        return ExitCode::from(2);
    }
    eprintln!("lỗi [usage]: lệnh hoặc tham số không hợp lệ; xem `hoso --help`.");
    let _ = error.print();
    ExitCode::from(2)
}

/// Prints `error` for a person (Vietnamese, then English) and picks the exit code.
fn report(error: &Error) -> ExitCode {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "lỗi [{}]: {}", error.code(), error.message_vi());
    let _ = writeln!(stderr, "  error: {error}");
    ExitCode::from(exit_code(error))
}

/// The process exit code for an error (see the module documentation).
pub fn exit_code(error: &Error) -> u8 {
    match (error, error.class()) {
        (Error::Config(_), _) => 2,
        (_, ErrorClass::NotImplemented) => 69,
        _ => 1,
    }
}

fn init_tracing(filter: &str) -> Result<(), ConfigError> {
    let filter =
        tracing_subscriber::EnvFilter::try_new(filter).map_err(|e| ConfigError::InvalidValue {
            key: "log",
            value: filter.to_owned(),
            reason: e.to_string(),
        })?;
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    Ok(())
}

fn with_runtime(work: impl Future<Output = Result<()>>) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Task(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(work)
}

async fn serve(config: Config) -> Result<()> {
    let languages = config.ocr_languages.clone();
    match tokio::task::spawn_blocking(move || crate::ocr::probe(&languages)).await {
        Ok(Ok(())) => tracing::info!(languages = %config.ocr_languages, "OCR sẵn sàng (OCR ready)"),
        Ok(Err(e)) => tracing::warn!(code = e.code(), "{} ({e})", e.message_vi()),
        Err(e) => tracing::warn!("OCR probe failed: {e}"),
    }
    match TrustStore::load(&config.trust_dirs) {
        Ok(store) => tracing::info!(
            anchors = store.anchors().len(),
            "đã nạp kho chứng thư tin cậy (trust store loaded)"
        ),
        Err(e) => tracing::warn!(code = e.code(), "{} ({e})", e.message_vi()),
    }
    let pipeline = Arc::new(Pipeline::open(&config).await?);
    tracing::info!(database = pipeline.archive().backend(), data_dir = %config.data_dir.display(), "kho lưu trữ sẵn sàng (archive ready)");
    let state = crate::http::AppState {
        pipeline: pipeline.clone(),
    };
    crate::http::serve(config.listen, state, |addr| {
        let host = if addr.ip().is_unspecified() {
            "127.0.0.1".to_owned()
        } else {
            addr.ip().to_string()
        };
        let url = if addr.is_ipv6() {
            format!("http://[{host}]:{}", addr.port())
        } else {
            format!("http://{host}:{}", addr.port())
        };
        println!("hoso đang chạy tại {url}  (listening; Ctrl-C để dừng)");
        let _ = std::io::stdout().flush();
    })
    .await
    .map_err(|e| Error::Task(format!("HTTP server on {}: {e}", config.listen)))?;
    pipeline.close().await;
    tracing::info!("đã dừng (stopped)");
    Ok(())
}

async fn migrate(config: Config) -> Result<()> {
    let pipeline = Pipeline::open(&config).await?;
    println!(
        "cơ sở dữ liệu {} đã cập nhật (database migrated): {:?}",
        pipeline.archive().backend(),
        config.database
    );
    pipeline.close().await;
    Ok(())
}

fn print_config(config: &Config) -> Result<()> {
    let database_url = match &config.database {
        crate::config::DatabaseTarget::Sqlite { path } => format!("sqlite:{}", path.display()),
        crate::config::DatabaseTarget::Postgres { url } => redact_password(url),
    };
    let trust_dirs: Vec<String> = config
        .trust_dirs
        .iter()
        .map(|d| d.display().to_string())
        .collect();
    let text = toml::to_string(&toml::toml! {
        listen = (config.listen.to_string())
        data_dir = (config.data_dir.display().to_string())
        database_url = database_url
        trust_dirs = trust_dirs
        ocr_languages = (config.ocr_languages.to_string())
        jobs = (config.jobs as i64)
        log = (config.log.clone().unwrap_or_else(|| "(per command)".to_owned()))
    })
    .map_err(|e| Error::Task(e.to_string()))?;
    print!("{text}");
    Ok(())
}

fn ocr(config: &Config, args: OcrArgs) -> Result<()> {
    use crate::digitize::{DigitizeOptions, digitize};
    use crate::ocr::{EnginePool, OcrSettings};
    use std::io::IsTerminal;

    let languages = args
        .lang
        .clone()
        .unwrap_or_else(|| config.ocr_languages.clone());
    let options = DigitizeOptions {
        ocr: OcrSettings {
            languages: languages.clone(),
            fix_orientation: !args.no_rotate,
            deskew: !args.no_deskew,
            text_pages: args.text_pages(),
            ..OcrSettings::default()
        },
        jobs: config.jobs,
        info: crate::pdf::searchable::DocumentInfo {
            title: args
                .output
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned()),
            created: Some(time::OffsetDateTime::now_utc()),
            pdfa: args.pdfa,
        },
    };
    let pool = EnginePool::new(languages);
    let progress = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {pos} trang (pages) {elapsed} {per_sec}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        Some(bar)
    } else {
        None
    };
    let result = digitize(&args.inputs, &args.output, &options, &pool, &|page| {
        if let Some(bar) = &progress {
            bar.set_position(page as u64);
        }
    });
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    let digitized = result?;
    let write = |path: &PathBuf, bytes: &[u8]| {
        std::fs::write(path, bytes).map_err(|e| {
            Error::Ocr(crate::ocr::OcrError::Output {
                path: path.display().to_string(),
                reason: e.to_string(),
            })
        })
    };
    if let Some(path) = &args.text {
        write(path, digitized.text().as_bytes())?;
    }
    if let Some(path) = &args.json {
        let json = serde_json::to_vec_pretty(&digitized).map_err(|e| Error::Task(e.to_string()))?;
        write(path, &json)?;
    }
    Ok(())
}

fn list_trust(config: &Config, format: Format) -> Result<()> {
    let store = TrustStore::load(&config.trust_dirs)?;
    let date = |t: time::OffsetDateTime| t.date().to_string();
    match format {
        Format::Json => {
            let anchors: Vec<_> = store
                .anchors()
                .iter()
                .map(|a| {
                    serde_json::json!({
                        "subject": a.subject, "issuer": a.issuer,
                        "sha256": a.fingerprint.to_hex(),
                        "not_before": date(a.not_before), "not_after": date(a.not_after),
                        "file": a.source.display().to_string(),
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&anchors).map_err(|e| Error::Task(e.to_string()))?
            );
        }
        Format::Text => {
            for a in store.anchors() {
                println!("{}", a.subject);
                println!("  SHA-256 {}", a.fingerprint.to_hex().to_uppercase());
                println!(
                    "  hiệu lực (valid) {} → {}   {}",
                    date(a.not_before),
                    date(a.not_after),
                    a.source.display()
                );
            }
        }
    }
    Ok(())
}
