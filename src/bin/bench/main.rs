//! Benchmarks of hoso against its peers: `bench ocr` (below) and `bench sign` (PAdES signing
//! speed against pyHanko and `openssl speed`, see `sign.rs`).
//!
//! ```text
//! cargo build --release --bins && scripts/peers-venv
//! cargo run --release --bin bench -- ocr ../shared/corpora/ocr [--jobs 2] [--lang vie] [--out DIR]
//! ```
//!
//! For each page set of the corpus (`synth/` and `real/`: pages `STEM.png|tif|tiff|jpg` with
//! their ground truth `STEM.gt.txt`) it runs, one after the other on the same machine:
//!
//! - `hoso`: the `hoso` binary next to this one, once per set:
//!   `hoso ocr PAGES… -o SET.pdf --json SET.json --lang L --jobs N`;
//! - `ocrmypdf`: the peer, as measured in docs/ocr.md §4 (`omp_dr5_jN`): the pages joined by
//!   img2pdf (not timed), then `ocrmypdf --deskew --rotate-pages --rotate-pages-threshold 5
//!   --output-type pdf --sidecar`;
//! - `tesseract`: the raw engine, one page at a time on one thread: the floor of CPU per page.
//!
//! Every run has `OMP_THREAD_LIMIT=1` (Tesseract's OpenMP threads on top of page parallelism
//! made it about 4× slower on 2 cores, docs/ocr.md §4.3).
//!
//! It measures wall seconds and CPU seconds per page. CPU seconds are the children's user +
//! system time (`cutime` + `cstime` of `/proc/self/stat`, which the kernel adds when a child is
//! waited for), diffed around each run: on a shared machine wall time moves with the load, CPU
//! time much less, so the CPU figure is the one to compare across runs; pages per second (wall)
//! is what a clerk waits for. Accuracy comes from `../shared/tools/cer.py`: micro-averaged CER
//! (strict, reading order counts) and LCER (order-free line-level recognition error), with
//! `--drop-leaders` on the real set (form fill-in lines), as in docs/ocr.md §4.2.
//!
//! Targets: hoso pages/s ≥ 3 × OCRmyPDF's, and hoso CPU s/page ≤ 1.25 × raw Tesseract's.
//!
//! Output: a Markdown report on stdout (progress goes to stderr), `OUT/bench.json`, and each
//! run's files under `OUT/SET/CONFIG/` (page texts in `txt/`, the scorer's `score.json`). A
//! missing peer is reported and skipped; a missing corpus skips the benchmark (exit 0).

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};

mod ingest;
mod inputs;
mod search;
mod serve;
mod sign;
mod verify;

/// Page sets of the corpus, in report order; the real set is scored with `--drop-leaders`.
const SETS: [&str; 2] = ["synth", "real"];
const LEADER_SETS: [&str; 1] = ["real"];
const IMAGE_EXTENSIONS: [&str; 5] = ["png", "tif", "tiff", "jpg", "jpeg"];
/// hoso pages/s ÷ OCRmyPDF pages/s must reach this.
const TARGET_SPEEDUP: f64 = 3.0;
/// hoso CPU s/page ÷ raw Tesseract CPU s/page must stay under this.
const TARGET_CPU_RATIO: f64 = 1.25;
/// Exit code of a `hoso` command that is not in this version yet.
const EXIT_NOT_IMPLEMENTED: i32 = 69;
/// A `hoso` binary linked this long before the bench binary may predate the library's sources.
const STALE_AFTER: Duration = Duration::from_secs(120);
/// Lines of a failed child's stderr kept in the report.
const STDERR_TAIL_LINES: usize = 12;

#[derive(Debug, Parser)]
#[command(
    name = "bench",
    about = "Benchmarks of hoso against its peers",
    max_term_width = 100
)]
struct Cli {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// OCR speed and accuracy: hoso vs OCRmyPDF vs raw Tesseract on the OCR corpus
    Ocr(OcrArgs),
    /// PAdES signing speed: hoso vs pyHanko (both in-process) vs `openssl speed`
    Sign(sign::SignArgs),
    /// PAdES verification speed: hoso vs pyHanko (in-process) and vs pdfsig (a process each)
    Verify(verify::VerifyArgs),
    /// Search latency on generated documents, SQLite and PostgreSQL side by side (issue #6)
    Search(search::SearchArgs),
    /// Ingest throughput without OCR and bytes on disk per document (issue #6)
    Ingest(ingest::IngestArgs),
    /// The HTTP service under load: search, verify, upload; p99 and the server's memory (issue #7)
    Serve(serve::ServeArgs),
}

#[derive(Debug, Args)]
struct OcrArgs {
    /// Corpus folder holding synth/ and real/ (e.g. ../shared/corpora/ocr)
    corpus: PathBuf,
    /// Parallel jobs for hoso and OCRmyPDF (raw Tesseract always runs one page at a time)
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    jobs: u16,
    /// Tesseract languages, for every configuration
    #[arg(long, default_value = "vie")]
    lang: String,
    /// Folder for the outputs (page texts, PDFs, scores, bench.json)
    #[arg(long, default_value = "target/bench-ocr", value_name = "DIR")]
    out: PathBuf,
    /// Configurations to run, comma-separated
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = Engine::ALL)]
    configs: Vec<Engine>,
    /// Python venv with ocrmypdf, img2pdf, numpy, rapidfuzz [default: the repository's .venv,
    /// made by scripts/peers-venv]
    #[arg(long, value_name = "DIR")]
    venv: Option<PathBuf>,
    /// The scorer [default: CORPUS/../../tools/cer.py]
    #[arg(long, value_name = "FILE")]
    scorer: Option<PathBuf>,
}

/// A configuration under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum Engine {
    Hoso,
    Ocrmypdf,
    Tesseract,
}

impl Engine {
    const ALL: [Engine; 3] = [Engine::Hoso, Engine::Ocrmypdf, Engine::Tesseract];

    fn name(self) -> &'static str {
        match self {
            Engine::Hoso => "hoso",
            Engine::Ocrmypdf => "ocrmypdf",
            Engine::Tesseract => "tesseract",
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum BenchError {
    #[error("{context}: {source}")]
    Io { context: String, source: io::Error },
    #[error("{context}: {source}")]
    Json {
        context: String,
        source: serde_json::Error,
    },
    #[error("{0}")]
    Failed(String),
}

type Result<T, E = BenchError> = std::result::Result<T, E>;

/// Adds what was being done to an I/O or JSON error.
trait Context<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> Context<T> for io::Result<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| BenchError::Io {
            context: what(),
            source,
        })
    }
}

impl<T> Context<T> for serde_json::Result<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| BenchError::Json {
            context: what(),
            source,
        })
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match &cli.command {
        BenchCommand::Ocr(args) => bench_ocr(args),
        BenchCommand::Sign(args) => sign::bench_sign(args),
        BenchCommand::Verify(args) => verify::bench_verify(args),
        BenchCommand::Search(args) => search::bench_search(args),
        BenchCommand::Ingest(args) => ingest::bench_ingest(args),
        BenchCommand::Serve(args) => serve::bench_serve(args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench: {error}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The run

fn bench_ocr(args: &OcrArgs) -> Result<()> {
    if !args.corpus.is_dir() {
        eprintln!(
            "bench: SKIPPED: no OCR corpus at {} (expected synth/ and real/ with STEM.gt.txt)",
            args.corpus.display()
        );
        return Ok(());
    }
    let started = Instant::now();
    let bench = Bench::new(args)?;
    let sets = load_sets(&args.corpus)?;
    if sets.is_empty() {
        eprintln!(
            "bench: SKIPPED: no page set with ground truth under {}",
            args.corpus.display()
        );
        return Ok(());
    }
    let mut rows = Vec::new();
    for set in &sets {
        for &engine in &args.configs {
            rows.push(bench.run(set, engine));
        }
    }
    let comparisons: Vec<Comparison> = sets
        .iter()
        .map(|set| Comparison::of(set.name, &rows))
        .collect();
    let total_wall_s = started.elapsed().as_secs_f64();
    print!(
        "{}",
        render_report(&bench, &rows, &comparisons, total_wall_s)
    );
    write_summary(&bench, &rows, &comparisons, total_wall_s)
}

/// Everything the runs share: arguments, where the programs are, the CPU clock.
struct Bench<'a> {
    args: &'a OcrArgs,
    tools: Tools,
    clock: CpuClock,
    load_at_start: Option<f64>,
    warnings: Vec<String>,
}

impl<'a> Bench<'a> {
    fn new(args: &'a OcrArgs) -> Result<Self> {
        fs::create_dir_all(&args.out)
            .context(|| format!("cannot create {}", args.out.display()))?;
        let tools = Tools::find(args)?;
        for missing in tools.missing() {
            eprintln!("bench: missing {missing}");
        }
        let warnings: Vec<String> = tools.stale_hoso_warning().into_iter().collect();
        for warning in &warnings {
            eprintln!("bench: {warning}");
        }
        Ok(Self {
            args,
            clock: CpuClock::new()?,
            load_at_start: load_average(),
            tools,
            warnings,
        })
    }

    /// Runs one configuration on one set and scores it; never fails, the row says what went
    /// wrong.
    fn run(&self, set: &PageSet, engine: Engine) -> Row {
        let mut row = Row::new(set, engine);
        if let Err(reason) = self.tools.for_engine(engine) {
            eprintln!("bench: {}/{}: skipped ({reason})", set.name, engine.name());
            row.status = Status::Skipped;
            row.note = Some(reason.clone());
            return row;
        }
        let pages = set.pages.len();
        eprintln!("bench: {}/{}: {pages} page(s)…", set.name, engine.name());
        let dir = self.args.out.join(set.name).join(engine.name());
        match self.measure_engine(set, engine, &dir) {
            Ok(timing) => {
                row.set_timing(timing);
                match self.score(set, &dir) {
                    Ok(accuracy) => row.accuracy = Some(accuracy),
                    Err(error) => row.note = Some(format!("not scored: {error}")),
                }
            }
            Err(error) => {
                row.status = Status::Failed;
                row.note = Some(error.to_string());
            }
        }
        eprintln!("bench: {}/{}: {}", set.name, engine.name(), row.one_line());
        row
    }

    /// Runs an engine into a fresh `dir`, leaving one `dir/txt/STEM.txt` per page.
    fn measure_engine(&self, set: &PageSet, engine: Engine, dir: &Path) -> Result<Timing> {
        fresh_dir(dir)?;
        let texts = dir.join("txt");
        fs::create_dir_all(&texts).context(|| format!("cannot create {}", texts.display()))?;
        match engine {
            Engine::Hoso => self.run_hoso(set, dir, &texts),
            Engine::Ocrmypdf => self.run_ocrmypdf(set, dir, &texts),
            Engine::Tesseract => self.run_tesseract(set, &texts),
        }
    }

    fn run_hoso(&self, set: &PageSet, dir: &Path, texts: &Path) -> Result<Timing> {
        let hoso = self.tools.path(Engine::Hoso)?;
        let json = dir.join(format!("{}.json", set.name));
        let mut command = Command::new(hoso);
        command
            .arg("ocr")
            .args(set.images())
            .arg("-o")
            .arg(dir.join(format!("{}.pdf", set.name)))
            .arg("--json")
            .arg(&json)
            .args([
                "--lang",
                &self.args.lang,
                "--jobs",
                &self.args.jobs.to_string(),
            ])
            .env("OMP_THREAD_LIMIT", "1");
        let timing = measure(&self.clock, || {
            run_checked(&mut command, "hoso ocr").map(drop)
        })?;
        let page_texts = read_hoso_json(&json, set.pages.len())?;
        write_texts(texts, &set.pages, &page_texts)?;
        Ok(timing)
    }

    fn run_ocrmypdf(&self, set: &PageSet, dir: &Path, texts: &Path) -> Result<Timing> {
        let ocrmypdf = self.tools.path(Engine::Ocrmypdf)?;
        let input = dir.join("in.pdf");
        let sidecar = dir.join("sidecar.txt");
        // Untimed: OCRmyPDF takes a PDF, so the pages become one lossless image PDF first
        // (img2pdf keeps each file's DPI; every corpus page has one).
        let mut join = Command::new(required(&self.tools.img2pdf)?);
        join.args(set.images()).arg("-o").arg(&input);
        run_checked(&mut join, "img2pdf")?;
        let mut command = Command::new(ocrmypdf);
        command
            .args(["-l", &self.args.lang, "--jobs", &self.args.jobs.to_string()])
            .args([
                "--deskew",
                "--rotate-pages",
                "--rotate-pages-threshold",
                "5",
            ])
            .args(["--output-type", "pdf", "--sidecar"])
            .arg(&sidecar)
            .arg(&input)
            .arg(dir.join("out.pdf"))
            .env("OMP_THREAD_LIMIT", "1");
        let timing = measure(&self.clock, || {
            run_checked(&mut command, "ocrmypdf").map(drop)
        })?;
        let text = fs::read_to_string(&sidecar)
            .context(|| format!("cannot read the sidecar {}", sidecar.display()))?;
        let page_texts = split_sidecar(&text, set.pages.len())?;
        write_texts(texts, &set.pages, &page_texts)?;
        Ok(timing)
    }

    fn run_tesseract(&self, set: &PageSet, texts: &Path) -> Result<Timing> {
        let tesseract = self.tools.path(Engine::Tesseract)?;
        measure(&self.clock, || {
            for page in &set.pages {
                let mut command = Command::new(tesseract);
                command
                    .arg(&page.image)
                    .arg(texts.join(&page.stem)) // tesseract adds .txt
                    .args(["-l", &self.args.lang])
                    .env("OMP_THREAD_LIMIT", "1");
                run_checked(&mut command, &format!("tesseract {}", page.stem))?;
            }
            Ok(())
        })
    }

    /// Scores `dir/txt` against the set's ground truth with cer.py (`dir/score.json`).
    fn score(&self, set: &PageSet, dir: &Path) -> Result<Accuracy> {
        let json = dir.join("score.json");
        let mut command = Command::new(required(&self.tools.python)?);
        command
            .arg(required(&self.tools.scorer)?)
            .arg(&set.dir)
            .arg(dir.join("txt"))
            .arg("--quiet")
            .arg("--json")
            .arg(&json);
        if set.drop_leaders {
            command.arg("--drop-leaders");
        }
        run_checked(&mut command, "cer.py")?;
        let text =
            fs::read_to_string(&json).context(|| format!("cannot read {}", json.display()))?;
        let file: ScoreFile =
            serde_json::from_str(&text).context(|| format!("unexpected {}", json.display()))?;
        Ok(file.summary)
    }
}

// ---------------------------------------------------------------------------------------------
// The corpus

/// One page: its image and the stem its ground truth and hypothesis share.
#[derive(Debug)]
struct Page {
    stem: String,
    image: PathBuf,
}

#[derive(Debug)]
struct PageSet {
    name: &'static str,
    dir: PathBuf,
    pages: Vec<Page>,
    drop_leaders: bool,
}

impl PageSet {
    fn images(&self) -> impl Iterator<Item = &Path> {
        self.pages.iter().map(|page| page.image.as_path())
    }
}

/// The sets present under the corpus folder, with at least one page.
fn load_sets(corpus: &Path) -> Result<Vec<PageSet>> {
    let mut sets = Vec::new();
    for name in SETS {
        let dir = corpus.join(name);
        if !dir.is_dir() {
            eprintln!("bench: no {} set ({} is missing)", name, dir.display());
            continue;
        }
        let pages = load_pages(&dir)?;
        if pages.is_empty() {
            eprintln!("bench: no page with ground truth in {}", dir.display());
            continue;
        }
        sets.push(PageSet {
            name,
            dir,
            pages,
            drop_leaders: LEADER_SETS.contains(&name),
        });
    }
    Ok(sets)
}

/// The images of `dir` (not of its subfolders) that have a `STEM.gt.txt`, sorted by stem.
fn load_pages(dir: &Path) -> Result<Vec<Page>> {
    let entries = fs::read_dir(dir).context(|| format!("cannot list {}", dir.display()))?;
    let mut pages = Vec::new();
    for entry in entries {
        let path = entry
            .context(|| format!("cannot list {}", dir.display()))?
            .path();
        let (Some(stem), Some(extension)) = (path.file_stem(), path.extension()) else {
            continue;
        };
        let extension = extension.to_string_lossy().to_ascii_lowercase();
        let stem = stem.to_string_lossy().into_owned();
        let has_truth = dir.join(format!("{stem}.gt.txt")).is_file();
        if path.is_file() && IMAGE_EXTENSIONS.contains(&extension.as_str()) && has_truth {
            pages.push(Page { stem, image: path });
        }
    }
    pages.sort_by(|a, b| a.stem.cmp(&b.stem));
    Ok(pages)
}

// ---------------------------------------------------------------------------------------------
// The programs

/// A program's path, or why it cannot be used.
type Found = std::result::Result<PathBuf, String>;

struct Tools {
    hoso: Found,
    ocrmypdf: Found,
    img2pdf: Found,
    tesseract: Found,
    python: Found,
    scorer: Found,
}

impl Tools {
    fn find(args: &OcrArgs) -> Result<Self> {
        let exe = std::env::current_exe().context(|| "cannot locate the bench binary".into())?;
        let venv = args
            .venv
            .clone()
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv"));
        let scorer = args
            .scorer
            .clone()
            .unwrap_or_else(|| args.corpus.join("../../tools/cer.py"));
        Ok(Self {
            hoso: existing(
                exe.with_file_name("hoso"),
                "build it: cargo build --release --bins",
            ),
            ocrmypdf: in_venv(&venv, "ocrmypdf"),
            img2pdf: in_venv(&venv, "img2pdf"),
            tesseract: on_path("tesseract", "--version", "run scripts/install-deps"),
            python: in_venv(&venv, "python"),
            scorer: existing(scorer, "pass --scorer FILE"),
        })
    }

    fn path(&self, engine: Engine) -> Result<&Path> {
        required(self.for_engine(engine))
    }

    /// The engine's program (OCRmyPDF needs img2pdf too), or why it cannot run.
    fn for_engine(&self, engine: Engine) -> &Found {
        match engine {
            Engine::Hoso => &self.hoso,
            Engine::Ocrmypdf if self.img2pdf.is_err() => &self.img2pdf,
            Engine::Ocrmypdf => &self.ocrmypdf,
            Engine::Tesseract => &self.tesseract,
        }
    }

    /// One line per missing program, for the report.
    fn missing(&self) -> Vec<String> {
        let all = [
            ("hoso", &self.hoso),
            ("OCRmyPDF", &self.ocrmypdf),
            ("img2pdf", &self.img2pdf),
            ("Tesseract", &self.tesseract),
            ("Python for the scorer", &self.python),
            ("scorer", &self.scorer),
        ];
        all.iter()
            .filter_map(|(name, found)| found.as_ref().err().map(|why| format!("{name}: {why}")))
            .collect()
    }

    /// `cargo run --bin bench` relinks the bench (it links the library), not `hoso`: warn when
    /// `hoso` is clearly older.
    fn stale_hoso_warning(&self) -> Option<String> {
        let hoso = self.hoso.as_ref().ok()?;
        let bench = std::env::current_exe().ok()?;
        let lag = modified(&bench)?.duration_since(modified(hoso)?).ok()?;
        (lag > STALE_AFTER).then(|| {
            format!(
                "{} is older than the bench binary; if src/ changed since, rebuild it \
                 (cargo build --release --bins)",
                hoso.display()
            )
        })
    }

    fn versions(&self) -> String {
        let mut parts = Vec::new();
        if let Ok(path) = &self.ocrmypdf {
            parts.extend(first_line_of(path, "--version").map(|v| format!("OCRmyPDF {v}")));
        }
        if let Ok(path) = &self.tesseract {
            parts.extend(first_line_of(path, "--version"));
        }
        parts.join(", ")
    }
}

/// The path of a program that must be there, or why it is not, as an error.
fn required(found: &Found) -> Result<&Path> {
    found
        .as_deref()
        .map_err(|reason| BenchError::Failed(reason.clone()))
}

fn existing(path: PathBuf, hint: &str) -> Found {
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!("not found at {} ({hint})", path.display()))
    }
}

fn in_venv(venv: &Path, program: &str) -> Found {
    existing(venv.join("bin").join(program), "run scripts/peers-venv")
}

fn on_path(program: &str, probe: &str, hint: &str) -> Found {
    let works = Command::new(program)
        .arg(probe)
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|output| output.status.success());
    if works {
        Ok(PathBuf::from(program))
    } else {
        Err(format!("`{program}` not found on PATH ({hint})"))
    }
}

fn first_line_of(program: &Path, arg: &str) -> Option<String> {
    let output = Command::new(program)
        .arg(arg)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .next()
        .map(|line| line.trim().to_owned())
        .filter(|line| !line.is_empty())
}

fn modified(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|meta| meta.modified()).ok()
}

/// Runs a child to completion, stdin closed, output captured; a non-zero exit is an error
/// carrying the tail of its stderr.
fn run_checked(command: &mut Command, what: &str) -> Result<Output> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .context(|| format!("cannot start {what}"))?;
    if output.status.success() {
        return Ok(output);
    }
    Err(BenchError::Failed(format!(
        "{what} failed ({})\n{}",
        describe_exit(output.status),
        tail(&output.stderr, STDERR_TAIL_LINES)
    )))
}

fn describe_exit(status: ExitStatus) -> String {
    match status.code() {
        Some(EXIT_NOT_IMPLEMENTED) => format!("exit {EXIT_NOT_IMPLEMENTED}: not implemented yet"),
        Some(code) => format!("exit {code}"),
        None => "killed by a signal".to_owned(),
    }
}

fn tail(bytes: &[u8], lines: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let all: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

// ---------------------------------------------------------------------------------------------
// Measuring

/// CPU seconds of the waited-for children of this process.
struct CpuClock {
    ticks_per_second: f64,
}

impl CpuClock {
    fn new() -> Result<Self> {
        let output = run_checked(Command::new("getconf").arg("CLK_TCK"), "getconf CLK_TCK")?;
        let text = String::from_utf8_lossy(&output.stdout);
        let ticks_per_second: f64 = text.trim().parse().map_err(|_| {
            BenchError::Failed(format!("getconf CLK_TCK printed {:?}", text.trim()))
        })?;
        let clock = Self { ticks_per_second };
        clock.children_seconds()?; // fail now, not after the first run, without /proc
        Ok(clock)
    }

    /// `cutime + cstime` (fields 16 and 17 of `/proc/self/stat`) in seconds.
    fn children_seconds(&self) -> Result<f64> {
        let stat = fs::read_to_string("/proc/self/stat")
            .context(|| "cannot read /proc/self/stat".into())?;
        // Field 2 (the command name) is in parentheses and may hold spaces: count from after it.
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let field = |number: usize| -> Result<f64> {
            fields
                .get(number - 3)
                .and_then(|value| value.parse::<u64>().ok())
                .map(|ticks| ticks as f64)
                .ok_or_else(|| BenchError::Failed(format!("unexpected /proc/self/stat: {stat}")))
        };
        Ok((field(16)? + field(17)?) / self.ticks_per_second)
    }
}

#[derive(Debug, Clone, Copy, Serialize)]
struct Timing {
    wall_s: f64,
    cpu_s: f64,
}

/// Wall and children's CPU seconds of `work`, which must wait for every child it starts.
fn measure(clock: &CpuClock, work: impl FnOnce() -> Result<()>) -> Result<Timing> {
    let cpu_before = clock.children_seconds()?;
    let started = Instant::now();
    work()?;
    let wall_s = started.elapsed().as_secs_f64();
    let cpu_s = clock.children_seconds()? - cpu_before;
    Ok(Timing { wall_s, cpu_s })
}

fn load_average() -> Option<f64> {
    let text = fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// Outputs of the engines

/// What `hoso ocr --json` writes; only the page texts are used.
#[derive(Debug, Deserialize)]
struct HosoReport {
    pages: Vec<HosoPage>,
}

#[derive(Debug, Deserialize)]
struct HosoPage {
    text: String,
}

fn read_hoso_json(path: &Path, pages: usize) -> Result<Vec<String>> {
    let text = fs::read_to_string(path)
        .context(|| format!("hoso ocr wrote no JSON report at {}", path.display()))?;
    let report: HosoReport = serde_json::from_str(&text).context(|| {
        format!(
            "{}: expected {{\"pages\": [{{\"text\": …}}, …]}}",
            path.display()
        )
    })?;
    if report.pages.len() != pages {
        return Err(BenchError::Failed(format!(
            "{}: {} pages in the JSON report for {pages} inputs",
            path.display(),
            report.pages.len()
        )));
    }
    Ok(report.pages.into_iter().map(|page| page.text).collect())
}

/// OCRmyPDF's sidecar separates pages with form feeds (a trailing one may end the file).
fn split_sidecar(text: &str, pages: usize) -> Result<Vec<String>> {
    let mut parts: Vec<&str> = text.split('\u{c}').collect();
    while parts.len() > pages && parts.last().is_some_and(|part| part.trim().is_empty()) {
        parts.pop();
    }
    if parts.len() != pages {
        return Err(BenchError::Failed(format!(
            "the OCRmyPDF sidecar has {} pages for {pages} inputs",
            parts.len()
        )));
    }
    Ok(parts.into_iter().map(str::to_owned).collect())
}

fn write_texts(dir: &Path, pages: &[Page], texts: &[String]) -> Result<()> {
    for (page, text) in pages.iter().zip(texts) {
        let path = dir.join(format!("{}.txt", page.stem));
        fs::write(&path, text).context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Empties `dir` (a run's own folder under OUT), so that no earlier run's text is scored.
fn fresh_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        fs::remove_dir_all(dir).context(|| format!("cannot empty {}", dir.display()))?;
    }
    fs::create_dir_all(dir).context(|| format!("cannot create {}", dir.display()))
}

// ---------------------------------------------------------------------------------------------
// Results

/// cer.py's micro-averaged summary (`--json`: `{"summary": {...}, "pages": [...]}`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Accuracy {
    cer: f64,
    dcer: f64,
    wer: f64,
    bow: f64,
    lcer: f64,
    ldcer: f64,
}

#[derive(Debug, Deserialize)]
struct ScoreFile {
    summary: Accuracy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Ok,
    Skipped,
    Failed,
}

/// One configuration on one set.
#[derive(Debug, Serialize)]
struct Row {
    set: &'static str,
    config: Engine,
    pages: usize,
    status: Status,
    timing: Option<Timing>,
    wall_s_per_page: Option<f64>,
    cpu_s_per_page: Option<f64>,
    pages_per_s: Option<f64>,
    accuracy: Option<Accuracy>,
    note: Option<String>,
}

impl Row {
    fn new(set: &PageSet, config: Engine) -> Self {
        Self {
            set: set.name,
            config,
            pages: set.pages.len(),
            status: Status::Ok,
            timing: None,
            wall_s_per_page: None,
            cpu_s_per_page: None,
            pages_per_s: None,
            accuracy: None,
            note: None,
        }
    }

    fn set_timing(&mut self, timing: Timing) {
        let pages = self.pages as f64;
        self.timing = Some(timing);
        self.wall_s_per_page = Some(timing.wall_s / pages);
        self.cpu_s_per_page = Some(timing.cpu_s / pages);
        self.pages_per_s = Some(pages / timing.wall_s);
    }

    fn one_line(&self) -> String {
        match (self.status, self.timing) {
            (Status::Ok, Some(timing)) => format!(
                "{:.1} s wall, {:.1} s CPU{}",
                timing.wall_s,
                timing.cpu_s,
                self.accuracy.map_or(String::new(), |a| format!(
                    ", CER {}, LCER {}",
                    percent(a.cer, 1),
                    percent(a.lcer, 2)
                ))
            ),
            _ => first_line(self.note.as_deref().unwrap_or("")).to_owned(),
        }
    }
}

/// hoso against the peers on one set.
#[derive(Debug, Serialize)]
struct Comparison {
    set: &'static str,
    /// hoso pages/s ÷ OCRmyPDF pages/s
    speedup_vs_ocrmypdf: Option<f64>,
    speedup_target: f64,
    /// hoso CPU s/page ÷ raw Tesseract CPU s/page
    cpu_vs_tesseract: Option<f64>,
    cpu_target: f64,
}

impl Comparison {
    fn of(set: &'static str, rows: &[Row]) -> Self {
        let find = |engine| {
            rows.iter()
                .find(|row| row.set == set && row.config == engine)
        };
        let value = |engine, pick: fn(&Row) -> Option<f64>| find(engine).and_then(pick);
        let ratio = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a / b);
        Self {
            set,
            speedup_vs_ocrmypdf: ratio(
                value(Engine::Hoso, |row| row.pages_per_s),
                value(Engine::Ocrmypdf, |row| row.pages_per_s),
            ),
            speedup_target: TARGET_SPEEDUP,
            cpu_vs_tesseract: ratio(
                value(Engine::Hoso, |row| row.cpu_s_per_page),
                value(Engine::Tesseract, |row| row.cpu_s_per_page),
            ),
            cpu_target: TARGET_CPU_RATIO,
        }
    }
}

#[derive(Serialize)]
struct Summary<'a> {
    corpus: &'a Path,
    jobs: u16,
    lang: &'a str,
    cores: Option<usize>,
    load_average_at_start: Option<f64>,
    versions: String,
    total_wall_s: f64,
    warnings: &'a [String],
    rows: &'a [Row],
    comparisons: &'a [Comparison],
}

fn write_summary(
    bench: &Bench,
    rows: &[Row],
    comparisons: &[Comparison],
    total_wall_s: f64,
) -> Result<()> {
    let summary = Summary {
        corpus: &bench.args.corpus,
        jobs: bench.args.jobs,
        lang: &bench.args.lang,
        cores: cores(),
        load_average_at_start: bench.load_at_start,
        versions: bench.tools.versions(),
        total_wall_s,
        warnings: &bench.warnings,
        rows,
        comparisons,
    };
    let path = bench.args.out.join("bench.json");
    let json = serde_json::to_string_pretty(&summary).context(|| "cannot encode JSON".into())?;
    fs::write(&path, json + "\n").context(|| format!("cannot write {}", path.display()))?;
    eprintln!("bench: wrote {}", path.display());
    Ok(())
}

fn cores() -> Option<usize> {
    std::thread::available_parallelism().ok().map(usize::from)
}

// ---------------------------------------------------------------------------------------------
// The Markdown report

fn render_report(
    bench: &Bench,
    rows: &[Row],
    comparisons: &[Comparison],
    total_wall_s: f64,
) -> String {
    let mut out = String::new();
    out.push_str("## OCR benchmark\n\n");
    out.push_str(&render_setup(bench));
    out.push_str(&render_rows(rows));
    out.push_str(&render_comparisons(comparisons, rows));
    out.push_str(&render_notes(&bench.warnings, rows));
    let _ = writeln!(out, "\nWhole run: {total_wall_s:.0} s.");
    out
}

fn render_setup(bench: &Bench) -> String {
    let args = bench.args;
    let mut line = format!(
        "Corpus `{}`, `--jobs {}`, `--lang {}`, `OMP_THREAD_LIMIT=1`",
        args.corpus.display(),
        args.jobs,
        args.lang
    );
    if let Some(cores) = cores() {
        let _ = write!(line, "; {cores} cores");
    }
    if let Some(load) = bench.load_at_start {
        let _ = write!(line, ", load average {load:.2} at start");
    }
    let versions = bench.tools.versions();
    if !versions.is_empty() {
        let _ = write!(line, "; {versions}");
    }
    line + ".\nCPU = children's user+sys seconds; CER strict, LCER order-free per line \
            (cer.py, micro-averaged; `--drop-leaders` on real).\n\n"
}

/// The number of each row's note in the list under the tables (1, 2, … in row order).
fn note_numbers(rows: &[Row]) -> Vec<Option<usize>> {
    let mut next = 0;
    rows.iter()
        .map(|row| {
            row.note.as_ref().map(|_| {
                next += 1;
                next
            })
        })
        .collect()
}

fn render_rows(rows: &[Row]) -> String {
    let mut out = String::from(
        "| set | config | pages | wall s/page | CPU s/page | pages/s | CER | LCER | status |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for (row, note) in rows.iter().zip(note_numbers(rows)) {
        let status = match row.status {
            Status::Ok => "ok",
            Status::Skipped => "skipped",
            Status::Failed => "**failed**",
        };
        let see = note.map_or(String::new(), |number| format!(", see [{number}]"));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {status}{see} |",
            row.set,
            row.config.name(),
            row.pages,
            number(row.wall_s_per_page, 2),
            number(row.cpu_s_per_page, 2),
            number(row.pages_per_s, 2),
            row.accuracy.map_or("—".into(), |a| percent(a.cer, 1)),
            row.accuracy.map_or("—".into(), |a| percent(a.lcer, 2)),
        );
    }
    out
}

fn render_comparisons(comparisons: &[Comparison], rows: &[Row]) -> String {
    let mut out = format!(
        "\n| set | hoso ÷ ocrmypdf pages/s (≥ {TARGET_SPEEDUP}) | hoso ÷ tesseract CPU s/page \
         (≤ {TARGET_CPU_RATIO}) | CER hoso / ocrmypdf / tesseract | \
         LCER hoso / ocrmypdf / tesseract |\n|---|---:|---:|---:|---:|\n"
    );
    for comparison in comparisons {
        let accuracy = |pick: fn(&Accuracy) -> f64, decimals| {
            Engine::ALL
                .iter()
                .map(|&engine| {
                    rows.iter()
                        .find(|row| row.set == comparison.set && row.config == engine)
                        .and_then(|row| row.accuracy.as_ref())
                        .map_or("—".into(), |a| percent(pick(a), decimals))
                })
                .collect::<Vec<_>>()
                .join(" / ")
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            comparison.set,
            verdict(comparison.speedup_vs_ocrmypdf, |r| r >= TARGET_SPEEDUP),
            verdict(comparison.cpu_vs_tesseract, |r| r <= TARGET_CPU_RATIO),
            accuracy(|a| a.cer, 1),
            accuracy(|a| a.lcer, 2)
        );
    }
    out
}

fn render_notes(warnings: &[String], rows: &[Row]) -> String {
    let notes: Vec<(usize, &Row, &str)> = rows
        .iter()
        .zip(note_numbers(rows))
        .filter_map(|(row, number)| Some((number?, row, row.note.as_deref()?)))
        .collect();
    if notes.is_empty() && warnings.is_empty() {
        return String::new();
    }
    let mut out = String::from("\nNotes:\n\n");
    for warning in warnings {
        let _ = writeln!(out, "- {warning}");
    }
    for (number, row, note) in notes {
        let (summary, detail) = note.split_once('\n').unwrap_or((note, ""));
        let _ = writeln!(
            out,
            "- [{number}] {} / {}: {summary}",
            row.set,
            row.config.name()
        );
        if !detail.trim().is_empty() {
            let _ = writeln!(out, "  ```text");
            for line in detail.lines() {
                let _ = writeln!(out, "  {line}");
            }
            let _ = writeln!(out, "  ```");
        }
    }
    out
}

fn verdict(ratio: Option<f64>, meets: impl Fn(f64) -> bool) -> String {
    match ratio {
        Some(r) if meets(r) => format!("{r:.2} ✓"),
        Some(r) => format!("{r:.2} ✗"),
        None => "—".into(),
    }
}

fn number(value: Option<f64>, decimals: usize) -> String {
    value.map_or("—".into(), |v| format!("{v:.decimals$}"))
}

fn percent(fraction: f64, decimals: usize) -> String {
    format!("{:.decimals$} %", fraction * 100.0)
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}
