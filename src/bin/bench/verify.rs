//! `bench verify`: PAdES verification speed of hoso against pyHanko (both in-process) and
//! poppler's `pdfsig` (a process per document, against `hoso verify` run the same way), on
//! generated inputs; and of hoso against pyHanko (both in-process) over a corpus of real-world
//! and attack PDFs.
//!
//! ```text
//! cargo build --release --bins && scripts/peers-venv
//! cargo run --release --bin bench -- verify [--iterations N] [--seconds S] [--out DIR] [--keep]
//!     [--corpus DIR] [--corpus-passes N] [--corpus-seconds S] [--only generated|corpus]
//! ```
//!
//! ## Generated inputs
//!
//! Inputs, generated into a temporary folder inside OUT and signed by hoso in this process
//! (`pades::sign::sign_file`, the TEST-ONLY `certs/test-pki/official.p12`, RSA-2048, offline):
//! the 1-page sample `samples/cong-van.pdf`, a 100-page Helvetica text PDF and a ~40 MB scan
//! (40 A4 pages, each one noisy ~1 MB JPEG), each signed PAdES B-B; and the 1-page sample
//! signed B-LT (signature timestamp from the test PKI's TSA, which the bench starts with
//! `test-pki serve` unless one already listens on 127.0.0.1:8882; validation data from the
//! supplied CRLs `certs/test-pki/inter.crl` and `root.crl`, no OCSP or CRL fetched).
//!
//! Every verifier gets the same evidence and no network: the trust root of `certs/test-pki`,
//! the two CRLs, revocation required.
//!
//! - hoso in-process: the trust store (`certs/test-pki`) and the CRLs loaded once, the signed
//!   file memory-mapped once (`verify::map_file`, as `hoso verify` reads it), then
//!   `verify::verify_pdf` (offline, `Policy::Strict`) again and again. The verdict must be
//!   TOTAL-PASSED, or the bench stops: the speed of a failing verification means nothing.
//! - pyHanko: `tests/peers/pyhanko_verify_bench.py` in `.venv` — root and CRLs loaded once, the
//!   file read once, then per document a new reader and `ValidationContext` (no fetching,
//!   revocation `hard-fail` answered from the CRLs) and `validate_pdf_signature` of every
//!   signature; each must be judged VALID (intact, valid, trusted, no disallowed change).
//! - hoso CLI: `hoso verify FILE --offline --crl inter.crl --crl root.crl --trust
//!   certs/test-pki --format json`, a new process per document (start-up, trust store and
//!   CRLs loaded every time); exit 0 and `"indication": "TOTAL-PASSED"` checked every time.
//! - pdfsig: `pdfsig -no-ocsp -nssdir sql:DB FILE`, a new process per document, with an NSS
//!   database that trusts the test root (`certutil -t C,C,C`, as `tests/hoso/pki.rs` does);
//!   every signature must print `Signature is Valid.` and `Certificate is Trusted.`.
//!   `-no-ocsp` keeps it offline (without it pdfsig asks the OCSP responder of the signer's
//!   certificate); pdfsig cannot be given CRL files, so it checks no revocation at all.
//!
//! One warm-up verification each, then timed verifications until at least `--iterations` of
//! them and at least `--seconds` have passed. Rates are documents per second of wall time and
//! per CPU second: of the calling thread (hoso in-process), of the Python process (pyHanko),
//! of the children (`cutime + cstime`, for the two commands, start-up included). The ratios
//! use CPU time, the robust figure on a shared machine; wall-time ratios are in bench.json.
//! For the scan, MB/s too. Peak RSS while verifying the scan: this process around one
//! `verify_pdf` of a fresh mapping (VmHWM of `/proc/self/status` after a reset through
//! `/proc/self/clear_refs`; the mapped file's pages count as resident once read, so the part
//! of the mapping is shown apart), and of one `hoso verify` and one `pdfsig` process
//! (`/usr/bin/time -f %M`).
//!
//! ## Signature corpus (issue #5: "at least 5× pyHanko")
//!
//! Every PDF that `DIR/MANIFEST.tsv` lists under `dss/`, `pyhanko/pdf/`, `rub-shadow/`, `pdfjs/`
//! and `generated/signed/` (`--corpus DIR`, by default `../shared/corpora/signatures` from the
//! crate root; the part is `SKIPPED` when it is absent): about 145 files, unsigned, encrypted
//! and broken ones included (a verifier must get through them too; they are counted apart),
//! each read into memory once. Both verifiers get the same evidence and no network: as trust
//! anchors every certificate in `DIR/generated/pki` and `DIR/pyhanko/testing-ca/root`, the
//! extra certificate `DIR/pyhanko/testing-ca/root/interm.cert.pem` (hoso's `--cert`), the CRLs
//! `DIR/generated/pki/inter.crl` and `root.crl`, and a fixed validation time per file (inside
//! pyHanko's test window for `pyhanko/pdf/`, as `tests/hoso/verify.rs` judges the corpus).
//!
//! - hoso in-process: `verify_pdf` over the bytes, offline, `Policy::Strict`; an error is an
//!   unreadable file, a panic is caught and counted.
//! - pyHanko: `tests/peers/pyhanko_verify_corpus.py`, one Python process over the same list:
//!   per file a `PdfFileReader` and a `ValidationContext` (`hard-fail`, no fetching), then
//!   `validate_pdf_signature` (`validate_pdf_timestamp` for a document timestamp) of every
//!   embedded signature, every exception caught. Run twice: with pyHanko's default strict
//!   reader, and with `strict=False` (which reads more of the corpus and so does more work).
//!
//! One untimed warm-up pass each, then timed passes over the whole list until at least
//! `--corpus-passes` of them and `--corpus-seconds` have passed. Files and signatures per second
//! (wall and CPU), the ratio of files per second, how many files each verifier could not read
//! or found unsigned, the verdicts per signature (counted, not checked: the corpus is made of
//! expired, untrusted, tampered and malformed signatures on purpose) and each file's mean time.
//!
//! ## Output
//!
//! A Markdown report on stdout (progress on stderr) and `OUT/bench.json`. A missing peer (no
//! pyHanko in the venv, no pdfsig or certutil, no `hoso` binary next to this one, no TSA for
//! the B-LT input) is `SKIPPED` in its column; a peer that does not judge a generated input
//! valid, or that fails to run, is `FAILED` and the bench exits 1 after the report.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::time::{Duration, Instant};

use clap::Args;
use hoso::error::Coded;
use hoso::pades::key::SoftwareKey;
use hoso::pades::revocation::ValidationData;
use hoso::pades::sign::{Level, SignOptions, sign_file};
use hoso::trust::TrustStore;
use hoso::verify::certificate::{FileKind, load_file};
use hoso::verify::status::EvidencePool;
use hoso::verify::{Indication, Policy, Report, VerifyOptions, map_file, verify_pdf};
use lopdf::Document;
use serde::{Deserialize, Serialize};

use super::inputs::{
    SCAN_PAGES, TEXT_PAGES, mebibytes, megabytes, non_negative_seconds, repository, save, scan_pdf,
    status_kib, text_pdf, today,
};
use time::OffsetDateTime;

use super::{
    BenchError, Context, CpuClock, Result, STALE_AFTER, cores, load_average, modified, tail,
};

/// Password of the TEST-ONLY PKCS#12 file.
const PASSWORD: &str = "test";
/// The signing key: RSA-2048, issued by the test PKI's intermediate CA.
const P12: &str = "certs/test-pki/official.p12";
const TRUST_DIR: &str = "certs/test-pki";
const ROOT: &str = "certs/test-pki/root.crt";
const CRLS: [&str; 2] = ["certs/test-pki/inter.crl", "certs/test-pki/root.crl"];
/// Where `test-pki serve` puts its TSA.
const TSA_ADDRESS: &str = "127.0.0.1:8882";
/// GNU time, for the peak RSS of a child process.
const GNU_TIME: &str = "/usr/bin/time";
/// Lines of a failed child's output kept in an error.
const OUTPUT_TAIL_LINES: usize = 12;
const PYHANKO_SCRIPT: &str = "tests/peers/pyhanko_verify_bench.py";
const PYHANKO_CORPUS_SCRIPT: &str = "tests/peers/pyhanko_verify_corpus.py";

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Timed verifications per input and verifier: at least this many …
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    iterations: u32,
    /// … and for at least this many seconds
    #[arg(long, default_value_t = 1.0, value_name = "S", value_parser = non_negative_seconds)]
    seconds: f64,
    /// Folder for bench.json; the inputs are generated and signed in a temporary folder inside
    /// it (removed at the end)
    #[arg(long, default_value = "target/bench-verify", value_name = "DIR")]
    out: PathBuf,
    /// Python venv with pyHanko [default: the repository's .venv, made by scripts/peers-venv]
    #[arg(long, value_name = "DIR")]
    venv: Option<PathBuf>,
    /// Keep the signed inputs in OUT/inputs/ (about 40 MB)
    #[arg(long)]
    keep: bool,
    /// Signature corpus: every PDF its MANIFEST.tsv lists under dss/, pyhanko/pdf/,
    /// rub-shadow/, pdfjs/ and generated/signed/ [default: ../shared/corpora/signatures from the
    /// crate root; SKIPPED when absent]
    #[arg(long, value_name = "DIR")]
    corpus: Option<PathBuf>,
    /// Timed passes over the whole corpus per verifier: at least this many …
    #[arg(
        long,
        default_value_t = 2,
        value_name = "N",
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    corpus_passes: u32,
    /// … and for at least this many seconds
    #[arg(long, default_value_t = 10.0, value_name = "S", value_parser = non_negative_seconds)]
    corpus_seconds: f64,
    /// Run one part only [default: both]
    #[arg(long, value_enum)]
    only: Option<Part>,
}

/// The two parts of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Part {
    /// The inputs generated and signed by the bench, every verdict checked
    Generated,
    /// The signature corpus, verdicts counted
    Corpus,
}

// ---------------------------------------------------------------------------------------------
// What is measured

/// A signed document to verify.
#[derive(Debug, Serialize)]
struct Input {
    name: &'static str,
    label: &'static str,
    #[serde(skip)]
    path: PathBuf,
    /// PAdES level hoso signed it at.
    level: &'static str,
    bytes: u64,
    pages: usize,
    /// The large scan: MB/s and peak RSS are reported for it.
    large: bool,
}

/// Documents per second over `iterations` timed verifications that took `seconds` in all, and
/// over the CPU seconds used in the whole loop.
#[derive(Debug, Clone, Copy, Serialize)]
struct Rate {
    iterations: u32,
    seconds: f64,
    per_s: f64,
    cpu_seconds: f64,
    /// None when the loop used less than one clock tick.
    cpu_per_s: Option<f64>,
}

impl Rate {
    fn one_line(&self) -> String {
        format!(
            "{:.1} docs/s ({} in {:.2} s; {} per CPU second)",
            self.per_s,
            self.iterations,
            self.seconds,
            self.cpu_per_s.map_or("—".to_owned(), |r| format!("{r:.1}"))
        )
    }
}

/// What `tests/peers/pyhanko_verify_bench.py` prints.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PyHankoRun {
    pyhanko: String,
    iterations: u32,
    seconds: f64,
    docs_per_s: f64,
    cpu_seconds: f64,
    cpu_docs_per_s: Option<f64>,
    signatures: u32,
    summary: String,
    max_rss_kib: u64,
}

impl PyHankoRun {
    fn rate(&self) -> Rate {
        Rate {
            iterations: self.iterations,
            seconds: self.seconds,
            per_s: self.docs_per_s,
            cpu_seconds: self.cpu_seconds,
            cpu_per_s: self.cpu_docs_per_s,
        }
    }
}

/// One verifier's result on one input.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "lowercase")]
enum Cell<T> {
    Measured(T),
    /// The verifier is not available here (why).
    Skipped(String),
    /// It ran but did not judge the document valid, or could not run (why).
    Failed(String),
}

impl<T> Cell<T> {
    fn measured(&self) -> Option<&T> {
        match self {
            Cell::Measured(value) => Some(value),
            _ => None,
        }
    }
}

#[derive(Debug, Serialize)]
struct Row {
    input: &'static str,
    /// `verify_pdf` in this process.
    hoso: Rate,
    /// hoso's verdict and the PAdES level it saw, from the warm-up.
    hoso_indication: &'static str,
    hoso_level: Option<String>,
    pyhanko: Cell<PyHankoRun>,
    hoso_cli: Cell<Rate>,
    pdfsig: Cell<Rate>,
    /// hoso in-process ÷ pyHanko, per CPU second and per wall second.
    hoso_vs_pyhanko: Option<f64>,
    hoso_vs_pyhanko_wall: Option<f64>,
    /// `hoso verify` ÷ `pdfsig`, per CPU second (of the children) and per wall second.
    cli_vs_pdfsig: Option<f64>,
    cli_vs_pdfsig_wall: Option<f64>,
    /// Input bytes verified per second (MB = 10⁶ bytes), wall time.
    hoso_mb_per_s: Option<f64>,
    pyhanko_mb_per_s: Option<f64>,
    hoso_cli_mb_per_s: Option<f64>,
    pdfsig_mb_per_s: Option<f64>,
}

impl Row {
    fn compare(&mut self, input: &Input) {
        let pyhanko = self.pyhanko.measured().map(PyHankoRun::rate);
        let cli = self.hoso_cli.measured().copied();
        let pdfsig = self.pdfsig.measured().copied();
        let cpu = |ours: Option<Rate>, theirs: Option<Rate>| {
            ours.and_then(|r| r.cpu_per_s)
                .zip(theirs.and_then(|r| r.cpu_per_s))
                .map(|(a, b)| a / b)
        };
        let wall = |ours: Option<Rate>, theirs: Option<Rate>| {
            ours.zip(theirs).map(|(a, b)| a.per_s / b.per_s)
        };
        self.hoso_vs_pyhanko = cpu(Some(self.hoso), pyhanko);
        self.hoso_vs_pyhanko_wall = wall(Some(self.hoso), pyhanko);
        self.cli_vs_pdfsig = cpu(cli, pdfsig);
        self.cli_vs_pdfsig_wall = wall(cli, pdfsig);
        if input.large {
            let mb = input.bytes as f64 / 1e6;
            self.hoso_mb_per_s = Some(self.hoso.per_s * mb);
            self.pyhanko_mb_per_s = pyhanko.map(|r| r.per_s * mb);
            self.hoso_cli_mb_per_s = cli.map(|r| r.per_s * mb);
            self.pdfsig_mb_per_s = pdfsig.map(|r| r.per_s * mb);
        }
    }

    fn failed(&self) -> bool {
        matches!(self.pyhanko, Cell::Failed(_))
            || matches!(self.hoso_cli, Cell::Failed(_))
            || matches!(self.pdfsig, Cell::Failed(_))
    }
}

/// Peak memory while verifying the large scan once.
#[derive(Debug, Serialize)]
struct PeakRss {
    what: String,
    /// This process around one `verify_pdf` of a fresh mapping of the file.
    in_process: Cell<InProcessPeak>,
    /// `/usr/bin/time -f %M` of one `hoso verify` and one `pdfsig` of the scan.
    hoso_cli_kib: Cell<u64>,
    pdfsig_kib: Cell<u64>,
    /// The pyHanko process over its whole run on the scan (warm-up and timed validations).
    pyhanko_kib: Option<u64>,
}

#[derive(Debug, Serialize)]
struct InProcessPeak {
    rss_before_kib: u64,
    peak_kib: u64,
    /// Resident pages of the memory-mapped file after the call (`RssFile` after − before,
    /// the mapping still alive): page cache shared with the kernel, not allocated memory.
    mapped_file_kib: u64,
    method: &'static str,
}

#[derive(Debug, Default, Serialize)]
struct Versions {
    pyhanko: Option<String>,
    pdfsig: Option<String>,
    hoso_binary: Option<PathBuf>,
}

/// The part over the generated inputs.
#[derive(Debug, Serialize)]
struct Generated {
    iterations_at_least: u32,
    seconds_at_least: f64,
    trust_anchors: usize,
    inputs: Vec<Input>,
    rows: Vec<Row>,
    peak_rss: Option<PeakRss>,
}

impl Generated {
    fn input(&self, name: &str) -> Option<&Input> {
        self.inputs.iter().find(|input| input.name == name)
    }
}

#[derive(Serialize)]
struct Summary<'a> {
    date: String,
    cores: Option<usize>,
    load_average_at_start: Option<f64>,
    versions: &'a Versions,
    /// None with `--only corpus`.
    generated: Option<&'a Generated>,
    /// None with `--only generated`.
    corpus: Option<&'a Cell<CorpusPart>>,
    notes: &'a [String],
    total_wall_s: f64,
}

// ---------------------------------------------------------------------------------------------
// The run

pub fn bench_verify(args: &VerifyArgs) -> Result<()> {
    let started = Instant::now();
    let load_at_start = load_average();
    let ticks_per_second = CpuClock::new()?.ticks_per_second;
    let mut notes = Vec::new();
    let mut versions = Versions::default();

    fs::create_dir_all(&args.out).context(|| format!("cannot create {}", args.out.display()))?;
    let work = tempfile::Builder::new()
        .prefix("work-")
        .tempdir_in(&args.out)
        .context(|| format!("cannot create a temporary folder in {}", args.out.display()))?;

    // pyHanko: SKIPPED in its columns when missing.
    let venv = args
        .venv
        .clone()
        .unwrap_or_else(|| repository().join(".venv"));
    let pyhanko = find_pyhanko(&venv);
    if let Err(why) = &pyhanko {
        eprintln!("bench: pyHanko: SKIPPED ({why})");
    }

    let generated = match args.only {
        Some(Part::Corpus) => None,
        _ => {
            let plan = Plan {
                iterations: args.iterations,
                seconds: args.seconds,
                ticks_per_second,
            };
            let generated = bench_generated(
                args,
                &plan,
                work.path(),
                &pyhanko,
                &mut versions,
                &mut notes,
            )?;
            Some(generated)
        }
    };
    let corpus = match args.only {
        Some(Part::Generated) => None,
        _ => {
            let plan = Plan {
                iterations: args.corpus_passes,
                seconds: args.corpus_seconds,
                ticks_per_second,
            };
            Some(bench_corpus(
                args,
                &plan,
                work.path(),
                &pyhanko,
                &mut versions,
            ))
        }
    };

    let total_wall_s = started.elapsed().as_secs_f64();
    let report = Rendered {
        generated: generated.as_ref(),
        corpus: corpus.as_ref(),
        versions: &versions,
        notes: &notes,
        load_at_start,
        total_wall_s,
    };
    print!("{}", report.render());

    let summary = Summary {
        date: today(),
        cores: cores(),
        load_average_at_start: load_at_start,
        versions: &versions,
        generated: generated.as_ref(),
        corpus: corpus.as_ref(),
        notes: &notes,
        total_wall_s,
    };
    let path = args.out.join("bench.json");
    let json = serde_json::to_string_pretty(&summary).context(|| "cannot encode JSON".into())?;
    fs::write(&path, json + "\n").context(|| format!("cannot write {}", path.display()))?;
    eprintln!("bench: wrote {}", path.display());
    drop(work);
    let generated_failed = generated
        .as_ref()
        .is_some_and(|generated| generated.rows.iter().any(Row::failed));
    let corpus_failed = corpus.as_ref().is_some_and(|corpus| match corpus {
        Cell::Measured(part) => part.failed(),
        Cell::Skipped(_) => false,
        Cell::Failed(_) => true,
    });
    if generated_failed || corpus_failed {
        return Err(BenchError::Failed(
            "a peer did not judge a signature valid, or failed (see the report)".to_owned(),
        ));
    }
    Ok(())
}

/// The generated inputs: signed here, then verified by every verifier, every verdict checked.
fn bench_generated(
    args: &VerifyArgs,
    plan: &Plan,
    work: &Path,
    pyhanko: &std::result::Result<PathBuf, String>,
    versions: &mut Versions,
    notes: &mut Vec<String>,
) -> Result<Generated> {
    // The command-line peers: each missing one is SKIPPED in its column.
    let hoso_cli = find_hoso(notes);
    versions.hoso_binary = hoso_cli.as_ref().ok().cloned();
    let pdfsig = Pdfsig::set_up(work);
    match &pdfsig {
        Ok(pdfsig) => versions.pdfsig = Some(pdfsig.version.clone()),
        Err(why) => eprintln!("bench: pdfsig: SKIPPED ({why})"),
    }
    if let Err(why) = &hoso_cli {
        eprintln!("bench: hoso CLI: SKIPPED ({why})");
    }
    let gnu_time = Path::new(GNU_TIME).is_file();

    // What every verifier is given.
    let trust_dir = repository().join(TRUST_DIR);
    let trust = TrustStore::load(std::slice::from_ref(&trust_dir))
        .map_err(|e| BenchError::Failed(format!("trust store {}: {e}", trust_dir.display())))?;
    let crl_paths: Vec<PathBuf> = CRLS.iter().map(|crl| repository().join(crl)).collect();
    let mut crls = Vec::new();
    for path in &crl_paths {
        crls.extend(
            load_file(path, FileKind::Crl)
                .map_err(|e| BenchError::Failed(format!("{}: {e}", path.display())))?,
        );
    }

    eprintln!(
        "bench: generating and signing the inputs in {}…",
        work.display()
    );
    let (inputs, blt_problem) = make_inputs(work, &trust, &crls)?;
    if let Some(problem) = blt_problem {
        let note = format!("1 page B-LT: SKIPPED ({problem})");
        eprintln!("bench: {note}");
        notes.push(note);
    }
    if args.keep {
        let kept = args.out.join("inputs");
        fs::create_dir_all(&kept).context(|| format!("cannot create {}", kept.display()))?;
        for input in &inputs {
            let path = kept.join(format!("{}.pdf", input.name));
            fs::copy(&input.path, &path).context(|| format!("cannot write {}", path.display()))?;
        }
    }
    for input in &inputs {
        eprintln!(
            "bench: {}: {} page(s), {}, signed {}",
            input.label,
            input.pages,
            megabytes(input.bytes),
            input.level
        );
    }

    let options = VerifyOptions {
        trust: &trust,
        at: OffsetDateTime::now_utc(),
        offline: true,
        policy: Policy::Strict,
        supplied: EvidencePool {
            crls,
            ..EvidencePool::default()
        },
    };
    let cli = hoso_cli.as_ref().map(|program| HosoCli {
        program,
        trust_dir: &trust_dir,
        crls: &crl_paths,
    });

    let mut rows = Vec::new();
    let mut peak_rss = None;
    for input in &inputs {
        let (hoso, verdict) = hoso_in_process(input, &options, plan)?;
        eprintln!(
            "bench: {} / hoso in-process: {}",
            input.label,
            hoso.one_line()
        );
        let pyhanko_cell = match pyhanko {
            Err(why) => Cell::Skipped(why.clone()),
            Ok(python) => match run_pyhanko(python, input, &crl_paths, plan) {
                Ok(run) => {
                    versions.pyhanko.get_or_insert_with(|| run.pyhanko.clone());
                    eprintln!(
                        "bench: {} / pyHanko: {}",
                        input.label,
                        run.rate().one_line()
                    );
                    Cell::Measured(run)
                }
                Err(error) => {
                    eprintln!("bench: {} / pyHanko: FAILED: {error}", input.label);
                    Cell::Failed(error.to_string())
                }
            },
        };
        let cli_cell = match &cli {
            Err(why) => Cell::Skipped(why.to_string()),
            Ok(cli) => measured(
                input,
                "hoso CLI",
                subprocess_rate(plan, || cli.command(&input.path), check_hoso_cli),
            ),
        };
        let pdfsig_cell = match &pdfsig {
            Err(why) => Cell::Skipped(why.clone()),
            Ok(pdfsig) => measured(
                input,
                "pdfsig",
                subprocess_rate(plan, || pdfsig.command(&input.path), check_pdfsig),
            ),
        };
        if input.large {
            peak_rss = Some(PeakRss {
                what: format!("{} ({})", input.label, megabytes(input.bytes)),
                in_process: match in_process_peak(input, &options) {
                    Ok(peak) => Cell::Measured(peak),
                    Err(why) => Cell::Failed(why),
                },
                hoso_cli_kib: match (&cli, gnu_time) {
                    (Err(why), _) => Cell::Skipped(why.to_string()),
                    (Ok(_), false) => Cell::Skipped(format!("no {GNU_TIME}")),
                    (Ok(cli), true) => child_peak(cli.command(&input.path), check_hoso_cli, work),
                },
                pdfsig_kib: match (&pdfsig, gnu_time) {
                    (Err(why), _) => Cell::Skipped(why.clone()),
                    (Ok(_), false) => Cell::Skipped(format!("no {GNU_TIME}")),
                    (Ok(pdfsig), true) => {
                        child_peak(pdfsig.command(&input.path), check_pdfsig, work)
                    }
                },
                pyhanko_kib: pyhanko_cell.measured().map(|run| run.max_rss_kib),
            });
        }
        let mut row = Row {
            input: input.name,
            hoso,
            hoso_indication: verdict.indication.as_str(),
            hoso_level: verdict
                .signatures
                .first()
                .and_then(|signature| signature.level.clone()),
            pyhanko: pyhanko_cell,
            hoso_cli: cli_cell,
            pdfsig: pdfsig_cell,
            hoso_vs_pyhanko: None,
            hoso_vs_pyhanko_wall: None,
            cli_vs_pdfsig: None,
            cli_vs_pdfsig_wall: None,
            hoso_mb_per_s: None,
            pyhanko_mb_per_s: None,
            hoso_cli_mb_per_s: None,
            pdfsig_mb_per_s: None,
        };
        row.compare(input);
        rows.push(row);
    }
    if let Some(peak) = &peak_rss {
        eprintln!(
            "bench: peak RSS verifying {}: {}",
            peak.what,
            peak.one_line()
        );
    }

    drop(pdfsig);
    Ok(Generated {
        iterations_at_least: plan.iterations,
        seconds_at_least: plan.seconds,
        trust_anchors: trust.anchors().len(),
        inputs,
        rows,
        peak_rss,
    })
}

/// A subprocess measurement as a cell, with a progress line.
fn measured(input: &Input, who: &str, rate: Result<Rate>) -> Cell<Rate> {
    match rate {
        Ok(rate) => {
            eprintln!("bench: {} / {who}: {}", input.label, rate.one_line());
            Cell::Measured(rate)
        }
        Err(error) => {
            eprintln!("bench: {} / {who}: FAILED: {error}", input.label);
            Cell::Failed(error.to_string())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Inputs

/// The unsigned documents, then each signed by hoso: B-B for all three, B-LT for the 1-page
/// sample when a TSA can be had (otherwise why not, second).
fn make_inputs(
    dir: &Path,
    trust: &TrustStore,
    crls: &[Vec<u8>],
) -> Result<(Vec<Input>, Option<String>)> {
    let unsigned = dir.join("unsigned");
    fs::create_dir_all(&unsigned).context(|| format!("cannot create {}", unsigned.display()))?;
    let sample = repository().join("samples/cong-van.pdf");
    let one_page = unsigned.join("1-page.pdf");
    fs::copy(&sample, &one_page).context(|| format!("cannot copy {}", sample.display()))?;
    let sample_pages = Document::load(&one_page)
        .map_err(|e| BenchError::Failed(format!("{}: {e}", sample.display())))?
        .get_pages()
        .len();
    let text = unsigned.join("100-pages.pdf");
    save(text_pdf(TEXT_PAGES), &text)?;
    let scan = unsigned.join("scan-40mb.pdf");
    save(scan_pdf(SCAN_PAGES)?, &scan)?;

    let p12 = repository().join(P12);
    let signer = SoftwareKey::from_pkcs12_file(&p12, PASSWORD).map_err(|e| {
        BenchError::Failed(format!("loading {}: [{}] {e}", p12.display(), e.code()))
    })?;
    let sign = |from: &Path, name: &str, options: &SignOptions| -> Result<(PathBuf, u64)> {
        let output = dir.join(format!("{name}.pdf"));
        let outcome = sign_file(
            from,
            &output,
            &signer,
            trust,
            options,
            OffsetDateTime::now_utc(),
        )
        .map_err(|e| BenchError::Failed(format!("signing {name}: [{}] {e}", e.code())))?;
        Ok((output, outcome.size))
    };
    let bb = SignOptions {
        offline: true,
        ..SignOptions::default()
    };
    let mut inputs = Vec::new();
    for (name, label, from, pages, large) in [
        ("1-page", "1 page", &one_page, sample_pages, false),
        ("100-pages", "100 pages", &text, TEXT_PAGES, false),
        ("scan-40mb", "40 MB scan", &scan, SCAN_PAGES, true),
    ] {
        let (path, bytes) = sign(from, name, &bb)?;
        inputs.push(Input {
            name,
            label,
            path,
            level: "B-B",
            bytes,
            pages,
            large,
        });
    }

    let tsa = match Tsa::start() {
        Ok(tsa) => tsa,
        Err(problem) => return Ok((inputs, Some(problem))),
    };
    let blt = SignOptions {
        level: Level::BLT,
        tsa_url: Some(tsa.url.clone()),
        offline: true,
        supplied: ValidationData {
            crls: crls.to_vec(),
            ..ValidationData::default()
        },
        ..SignOptions::default()
    };
    let signed = sign(&one_page, "1-page-blt", &blt);
    tsa.stop();
    let (path, bytes) = signed?;
    inputs.insert(
        1,
        Input {
            name: "1-page-blt",
            label: "1 page B-LT",
            path,
            level: "B-LT",
            bytes,
            pages: sample_pages,
            large: false,
        },
    );
    Ok((inputs, None))
}

/// The test PKI's timestamp authority: one already listening, or `test-pki serve` started
/// here (next to this binary) until [`Tsa::stop`].
struct Tsa {
    url: String,
    server: Option<(Child, ChildStdin)>,
}

impl Tsa {
    fn start() -> std::result::Result<Self, String> {
        let address: SocketAddr = TSA_ADDRESS.parse().map_err(|e| format!("{e}"))?;
        if TcpStream::connect_timeout(&address, Duration::from_secs(2)).is_ok() {
            eprintln!("bench: using the TSA already listening on {TSA_ADDRESS}");
            return Ok(Tsa {
                url: format!("http://{TSA_ADDRESS}/"),
                server: None,
            });
        }
        let exe = std::env::current_exe().map_err(|e| format!("no current exe: {e}"))?;
        let program = exe.with_file_name("test-pki");
        if !program.is_file() {
            return Err(format!(
                "no TSA on {TSA_ADDRESS} and no {} to start one (cargo build --release --bins)",
                program.display()
            ));
        }
        let mut child = Command::new(&program)
            .arg("serve")
            .arg("--dir")
            .arg(repository().join(TRUST_DIR))
            .arg("--until-stdin-closes")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let (Some(stdin), Some(stdout)) = (stdin, stdout) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err("test-pki without pipes".to_owned());
        };
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
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
            .and_then(|urls| urls.split(' ').find_map(|part| part.strip_prefix("tsa=")));
        match url {
            Some(url) => {
                eprintln!("bench: started test-pki serve for its TSA ({url})");
                Ok(Tsa {
                    url: format!("{}/", url.trim_end_matches('/')),
                    server: Some((child, stdin)),
                })
            }
            None => {
                drop(stdin);
                let _ = child.kill();
                let _ = child.wait();
                Err(format!(
                    "test-pki serve did not become ready (printed {:?})",
                    line.trim()
                ))
            }
        }
    }

    /// Closes the server's stdin (`--until-stdin-closes`: it exits) and waits for it.
    fn stop(self) {
        if let Some((mut child, stdin)) = self.server {
            drop(stdin);
            let _ = child.wait();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Measuring

/// When a timed loop may stop: after at least `iterations` and at least `seconds`.
#[derive(Debug, Clone, Copy)]
struct Plan {
    iterations: u32,
    seconds: f64,
    /// `getconf CLK_TCK`, to read CPU times from `/proc`.
    ticks_per_second: f64,
}

/// Whose CPU time a loop is charged.
#[derive(Debug, Clone, Copy)]
enum CpuOf {
    /// The calling thread (`utime + stime` of `/proc/thread-self/stat`).
    Thread,
    /// The children this process waited for (`cutime + cstime` of `/proc/self/stat`).
    Children,
}

impl Plan {
    fn cpu_seconds(&self, of: CpuOf) -> Result<f64> {
        let (file, user, system) = match of {
            CpuOf::Thread => ("/proc/thread-self/stat", 14, 15),
            CpuOf::Children => ("/proc/self/stat", 16, 17),
        };
        let stat = fs::read_to_string(file).context(|| format!("cannot read {file}"))?;
        // Field 2 (the command name) is in parentheses and may hold spaces: count from after it.
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let field = |number: usize| -> Result<f64> {
            fields
                .get(number - 3)
                .and_then(|value| value.parse::<u64>().ok())
                .map(|ticks| ticks as f64)
                .ok_or_else(|| BenchError::Failed(format!("unexpected {file}: {stat}")))
        };
        Ok((field(user)? + field(system)?) / self.ticks_per_second)
    }
}

/// One untimed warm-up call of `once(0)`, then `once(1)`, `once(2)`, … until the plan is met.
/// `once` returns the time its own measured part took; the CPU time over the loop (after the
/// warm-up) is charged to `of`.
fn timed_loop(
    plan: &Plan,
    of: CpuOf,
    mut once: impl FnMut(u32) -> Result<Duration>,
) -> Result<Rate> {
    once(0)?;
    let cpu_before = plan.cpu_seconds(of)?;
    let started = Instant::now();
    let mut iterations = 0;
    let mut timed = Duration::ZERO;
    while iterations < plan.iterations || started.elapsed().as_secs_f64() < plan.seconds {
        iterations += 1;
        timed += once(iterations)?;
    }
    let cpu_seconds = plan.cpu_seconds(of)? - cpu_before;
    let seconds = timed.as_secs_f64();
    Ok(Rate {
        iterations,
        seconds,
        per_s: f64::from(iterations) / seconds,
        cpu_seconds,
        cpu_per_s: (cpu_seconds > 0.0).then(|| f64::from(iterations) / cpu_seconds),
    })
}

/// `verify_pdf` of the memory-mapped input, again and again; every verdict must be
/// TOTAL-PASSED (else the bench stops). Returns the rate and the warm-up's report.
fn hoso_in_process(
    input: &Input,
    options: &VerifyOptions<'_>,
    plan: &Plan,
) -> Result<(Rate, Report)> {
    let file =
        fs::File::open(&input.path).context(|| format!("cannot open {}", input.path.display()))?;
    let mapped = map_file(&file).context(|| format!("cannot map {}", input.path.display()))?;
    let name = input.path.display().to_string();
    let mut first = None;
    let rate = timed_loop(plan, CpuOf::Thread, |iteration| {
        let started = Instant::now();
        let verdict = verify_pdf(&mapped, &name, options).map_err(|e| {
            BenchError::Failed(format!("verify_pdf {}: [{}] {e}", input.label, e.code()))
        })?;
        let elapsed = started.elapsed();
        require_passed(input, &verdict)?;
        if iteration == 0 {
            first = Some(verdict);
        }
        Ok(elapsed)
    })?;
    let verdict = first.ok_or_else(|| BenchError::Failed("no warm-up verdict".to_owned()))?;
    Ok((rate, verdict))
}

/// Stops the bench unless every signature is TOTAL-PASSED.
fn require_passed(input: &Input, verdict: &Report) -> Result<()> {
    if verdict.indication == Indication::TotalPassed && !verdict.signatures.is_empty() {
        return Ok(());
    }
    let mut why = format!(
        "hoso judged {} ({}) {}",
        input.label,
        input.path.display(),
        verdict.indication.as_str()
    );
    for signature in &verdict.signatures {
        let codes: Vec<&str> = signature.messages.iter().map(|m| m.code).collect();
        let _ = write!(
            why,
            "; {}: {} {:?} [{}]",
            signature.field,
            signature.indication.as_str(),
            signature.subindication,
            codes.join(", ")
        );
    }
    let codes: Vec<&str> = verdict.messages.iter().map(|m| m.code).collect();
    let _ = write!(
        why,
        "; file: [{}]. A benchmark of a failing verification is worthless: stopping",
        codes.join(", ")
    );
    Err(BenchError::Failed(why))
}

/// Peak RSS of this process around one `verify_pdf` of a fresh mapping of the input.
fn in_process_peak(
    input: &Input,
    options: &VerifyOptions<'_>,
) -> std::result::Result<InProcessPeak, String> {
    fs::write("/proc/self/clear_refs", "5")
        .map_err(|e| format!("cannot reset the peak RSS (/proc/self/clear_refs): {e}"))?;
    let before = status_kib("VmRSS")?;
    let file_before = status_kib("RssFile")?;
    let file = fs::File::open(&input.path)
        .map_err(|e| format!("cannot open {}: {e}", input.path.display()))?;
    let mapped = map_file(&file).map_err(|e| format!("cannot map: {e}"))?;
    let verdict = verify_pdf(&mapped, input.name, options).map_err(|e| e.to_string())?;
    let peak = status_kib("VmHWM")?;
    let file_after = status_kib("RssFile")?;
    drop(mapped);
    if verdict.indication != Indication::TotalPassed {
        return Err(format!("verdict {}", verdict.indication.as_str()));
    }
    Ok(InProcessPeak {
        rss_before_kib: before,
        peak_kib: peak,
        mapped_file_kib: file_after.saturating_sub(file_before),
        method: "VmHWM of /proc/self/status, reset by writing 5 to /proc/self/clear_refs just \
                 before mapping the file and one verify_pdf",
    })
}

/// A command run to completion per document, stdin closed, output captured; the time is the
/// wall time of start-to-exit, the CPU time the children's. `check` judges every output.
fn subprocess_rate(
    plan: &Plan,
    command: impl Fn() -> Command,
    check: fn(&Output) -> std::result::Result<(), String>,
) -> Result<Rate> {
    timed_loop(plan, CpuOf::Children, |_| {
        let mut command = command();
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let output = command
            .output()
            .context(|| format!("cannot start {:?}", command.get_program()))?;
        let elapsed = started.elapsed();
        check(&output).map_err(BenchError::Failed)?;
        Ok(elapsed)
    })
}

/// Peak RSS (KiB) of one run of `command` under `/usr/bin/time -f %M`.
fn child_peak(
    command: Command,
    check: fn(&Output) -> std::result::Result<(), String>,
    work: &Path,
) -> Cell<u64> {
    let report = work.join("time-peak.txt");
    let mut timed = Command::new(GNU_TIME);
    timed
        .args(["-f", "%M", "-o"])
        .arg(&report)
        .arg(command.get_program())
        .args(command.get_args())
        .stdin(Stdio::null());
    if let Some(dir) = command.get_current_dir() {
        timed.current_dir(dir);
    }
    let result = timed
        .output()
        .map_err(|e| format!("cannot start {GNU_TIME}: {e}"))
        .and_then(|output| check(&output))
        .and_then(|()| fs::read_to_string(&report).map_err(|e| format!("{GNU_TIME}: {e}")))
        .and_then(|text| {
            text.lines()
                .rev()
                .find_map(|line| line.trim().parse::<u64>().ok())
                .ok_or_else(|| format!("{GNU_TIME} wrote {text:?}"))
        });
    match result {
        Ok(kib) => Cell::Measured(kib),
        Err(why) => Cell::Failed(why),
    }
}

fn output_text(output: &Output) -> String {
    format!(
        "{}\n{}",
        tail(&output.stdout, OUTPUT_TAIL_LINES),
        tail(&output.stderr, OUTPUT_TAIL_LINES)
    )
}

// ---------------------------------------------------------------------------------------------
// The peers

/// `hoso verify` as a command: the binary next to this one.
struct HosoCli<'a> {
    program: &'a Path,
    trust_dir: &'a Path,
    crls: &'a [PathBuf],
}

impl HosoCli<'_> {
    fn command(&self, file: &Path) -> Command {
        let mut command = Command::new(self.program);
        // In the repository, as a clerk's checkout would run it (certs/trust is found there).
        command
            .current_dir(repository())
            .arg("verify")
            .arg(file)
            .arg("--offline");
        for crl in self.crls {
            command.arg("--crl").arg(crl);
        }
        command
            .arg("--trust")
            .arg(self.trust_dir)
            .args(["--format", "json"]);
        command
    }
}

/// Exit 0 and `"indication": "TOTAL-PASSED"` in the JSON report.
fn check_hoso_cli(output: &Output) -> std::result::Result<(), String> {
    let indication = serde_json::from_slice::<serde_json::Value>(&output.stdout)
        .ok()
        .and_then(|report| report.get("indication")?.as_str().map(str::to_owned));
    if output.status.success() && indication.as_deref() == Some("TOTAL-PASSED") {
        return Ok(());
    }
    Err(format!(
        "hoso verify: {}, indication {indication:?}\n{}",
        output.status,
        output_text(output)
    ))
}

/// The `hoso` binary next to this one (`cargo run --bin bench` does not build it).
fn find_hoso(notes: &mut Vec<String>) -> std::result::Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("no current exe: {e}"))?;
    let hoso = exe.with_file_name("hoso");
    if !hoso.is_file() {
        return Err(format!(
            "no {} (build it: cargo build --release --bins)",
            hoso.display()
        ));
    }
    let lag = modified(&exe)
        .zip(modified(&hoso))
        .and_then(|(bench, hoso)| bench.duration_since(hoso).ok());
    if lag.is_some_and(|lag| lag > STALE_AFTER) {
        let note = format!(
            "{} is older than the bench binary; if src/ changed since, rebuild it \
             (cargo build --release --bins)",
            hoso.display()
        );
        eprintln!("bench: {note}");
        notes.push(note);
    }
    Ok(hoso)
}

/// pdfsig with an NSS database (removed when dropped) that trusts the test root.
struct Pdfsig {
    version: String,
    _db: tempfile::TempDir,
    location: String,
}

impl Pdfsig {
    fn set_up(work: &Path) -> std::result::Result<Self, String> {
        let version = Command::new("pdfsig")
            .arg("-v")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("pdfsig not found ({e}); install poppler-utils"))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&version.stdout),
            String::from_utf8_lossy(&version.stderr)
        );
        let version = text.lines().next().unwrap_or("pdfsig").trim().to_owned();
        let db = tempfile::Builder::new()
            .prefix("nssdb-")
            .tempdir_in(work)
            .map_err(|e| format!("cannot create the NSS database folder: {e}"))?;
        let location = format!("sql:{}", db.path().display());
        let certutil = |args: &[&str]| -> std::result::Result<(), String> {
            let output = Command::new("certutil")
                .args(args)
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("certutil not found ({e}); install libnss3-tools"))?;
            if output.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "certutil {} failed: {}",
                    args.join(" "),
                    output_text(&output)
                ))
            }
        };
        certutil(&["-N", "--empty-password", "-d", &location])?;
        let root = repository().join(ROOT).display().to_string();
        certutil(&[
            "-A",
            "-d",
            &location,
            "-n",
            "hoso TEST root",
            "-t",
            "C,C,C",
            "-i",
            &root,
        ])?;
        Ok(Pdfsig {
            version,
            _db: db,
            location,
        })
    }

    fn command(&self, file: &Path) -> Command {
        let mut command = Command::new("pdfsig");
        command
            .arg("-no-ocsp")
            .arg("-nssdir")
            .arg(&self.location)
            .arg(file);
        command
    }
}

/// Every signature pdfsig lists is `Signature is Valid.` with `Certificate is Trusted.`.
fn check_pdfsig(output: &Output) -> std::result::Result<(), String> {
    let text = String::from_utf8_lossy(&output.stdout);
    let signatures = text
        .lines()
        .filter(|line| line.starts_with("Signature #"))
        .count();
    let valid = text.matches("Signature is Valid.").count();
    let trusted = text.matches("Certificate is Trusted.").count();
    if output.status.success() && signatures > 0 && valid == signatures && trusted == signatures {
        return Ok(());
    }
    Err(format!(
        "pdfsig: {}, {signatures} signature(s), {valid} valid, {trusted} trusted\n{}",
        output.status,
        output_text(output)
    ))
}

/// The venv's python, if it imports pyHanko's validation; otherwise why not.
fn find_pyhanko(venv: &Path) -> std::result::Result<PathBuf, String> {
    let python = venv.join("bin/python");
    if !python.is_file() {
        return Err(format!(
            "no Python at {} (run scripts/peers-venv)",
            python.display()
        ));
    }
    for script in [PYHANKO_SCRIPT, PYHANKO_CORPUS_SCRIPT] {
        let script = repository().join(script);
        if !script.is_file() {
            return Err(format!("{} is missing", script.display()));
        }
    }
    let probe = Command::new(&python)
        .args(["-W", "ignore", "-c", "import pyhanko.sign.validation"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start {}: {e}", python.display()))?;
    if !probe.status.success() {
        return Err(format!(
            "{} cannot import pyhanko (run scripts/peers-venv)",
            python.display()
        ));
    }
    Ok(python)
}

fn run_pyhanko(python: &Path, input: &Input, crls: &[PathBuf], plan: &Plan) -> Result<PyHankoRun> {
    let mut command = Command::new(python);
    command
        .arg(repository().join(PYHANKO_SCRIPT))
        .arg("--input")
        .arg(&input.path)
        .arg("--root")
        .arg(repository().join(ROOT));
    for crl in crls {
        command.arg("--crl").arg(crl);
    }
    command
        .args(["--iterations", &plan.iterations.to_string()])
        .args(["--seconds", &plan.seconds.to_string()])
        .stdin(Stdio::null());
    peer_report(&mut command, "pyhanko_verify_bench.py")
}

/// Runs a peer script and reads the JSON report it prints on its last non-empty line.
fn peer_report<T: serde::de::DeserializeOwned>(command: &mut Command, script: &str) -> Result<T> {
    let output = command
        .output()
        .context(|| format!("cannot start {script}"))?;
    if !output.status.success() {
        return Err(BenchError::Failed(format!(
            "{script}: {}\n{}",
            output.status,
            output_text(&output)
        )));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout
        .lines()
        .rfind(|line| !line.trim().is_empty())
        .unwrap_or("");
    serde_json::from_str(last).context(|| format!("{script} printed {last:?}"))
}

// ---------------------------------------------------------------------------------------------
// The signature corpus

/// `--corpus` by default, from the crate root.
const CORPUS_DEFAULT: &str = "../shared/corpora/signatures";
/// The folders of the corpus whose PDFs are verified (prefixes of MANIFEST.tsv's `file`).
const CORPUS_FOLDERS: [&str; 5] = [
    "dss/",
    "pyhanko/pdf/",
    "rub-shadow/",
    "pdfjs/",
    "generated/signed/",
];
/// Trust anchors: every certificate file in these folders (hoso's `--trust`).
const CORPUS_TRUST: [&str; 2] = ["generated/pki", "pyhanko/testing-ca/root"];
/// An extra certificate (hoso's `--cert`, pyHanko's `other_certs`).
const CORPUS_CERT: &str = "pyhanko/testing-ca/root/interm.cert.pem";
const CORPUS_CRLS: [&str; 2] = ["generated/pki/inter.crl", "generated/pki/root.crl"];
/// Fixed validation times, as `tests/hoso/verify.rs` judges the corpus: pyHanko's test
/// certificates expired by design in 2022, so its files are validated inside the window
/// pyHanko's own tests freeze time in; every other file when the generated PKI is valid.
const CORPUS_AT_PYHANKO: OffsetDateTime = time::macros::datetime!(2020-12-01 0:00 UTC);
const CORPUS_AT: OffsetDateTime = time::macros::datetime!(2026-11-23 0:00 UTC);
/// Issue #5: hoso must verify the corpus at least this many times as fast as pyHanko.
const CORPUS_TARGET: f64 = 5.0;
/// Slowest files named in the report, per verifier.
const SLOWEST: usize = 3;

/// A PDF of the corpus, read into memory once.
struct CorpusFile {
    /// Its path in the corpus (MANIFEST.tsv's `file`).
    name: String,
    path: PathBuf,
    data: Vec<u8>,
    at: OffsetDateTime,
}

/// pyHanko's PDF reader mode.
#[derive(Debug, Clone, Copy)]
enum Reader {
    /// `PdfFileReader(strict=True)`, pyHanko's default.
    Strict,
    /// `PdfFileReader(strict=False)`, as `pyhanko sign validate --no-strict-syntax`.
    Lenient,
}

impl Reader {
    fn label(self) -> &'static str {
        match self {
            Reader::Strict => "pyHanko (strict reader, its default)",
            Reader::Lenient => "pyHanko (strict=False)",
        }
    }
}

/// What one verifier made of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Outcome {
    /// Its signatures were found and judged.
    Validated,
    /// Read, but no signature found.
    NoSignature,
    /// Could not be read (hoso: `verify_pdf` returned an error; pyHanko: an exception while
    /// opening it or listing its signatures).
    Unreadable,
    /// hoso panicked (caught).
    Panicked,
}

#[derive(Debug, Clone, Serialize)]
struct FileResult {
    outcome: Outcome,
    signatures: usize,
    /// One per signature: hoso's indication (with its sub-indication), pyHanko's `VALID`,
    /// `not VALID` or `exception`.
    verdicts: Vec<String>,
    /// hoso's error or panic, pyHanko's first exception.
    error: Option<String>,
    /// Mean time per timed pass.
    mean_ms: f64,
}

/// One verifier over the whole corpus.
#[derive(Debug, Clone, Serialize)]
struct CorpusSide {
    passes: u32,
    /// Timed seconds, the sum of the per-file times over the timed passes.
    seconds: f64,
    cpu_seconds: f64,
    files_per_s: f64,
    cpu_files_per_s: Option<f64>,
    /// Signatures found in one pass.
    signatures: usize,
    signatures_per_s: f64,
    cpu_signatures_per_s: Option<f64>,
    /// Files it could not read.
    unreadable: usize,
    /// Files read with no signature found.
    unsigned: usize,
    /// Files with signatures found.
    signed: usize,
    /// Files whose verification panicked (hoso).
    panicked: usize,
    /// Signatures per verdict (hoso: the indication; pyHanko: VALID / not VALID / exception).
    verdicts: BTreeMap<String, usize>,
    max_rss_kib: Option<u64>,
}

impl CorpusSide {
    fn new(
        passes: u32,
        seconds: f64,
        cpu_seconds: f64,
        results: &[FileResult],
        max_rss_kib: Option<u64>,
    ) -> Self {
        let count = |outcome: Outcome| results.iter().filter(|r| r.outcome == outcome).count();
        let signatures: usize = results.iter().map(|r| r.signatures).sum();
        let files = results.len() as f64 * f64::from(passes);
        let found = signatures as f64 * f64::from(passes);
        let mut verdicts = BTreeMap::new();
        for verdict in results.iter().flat_map(|r| &r.verdicts) {
            let indication = verdict.split('/').next().unwrap_or(verdict);
            *verdicts.entry(indication.to_owned()).or_insert(0) += 1;
        }
        let per_cpu = |n: f64| (cpu_seconds > 0.0).then(|| n / cpu_seconds);
        CorpusSide {
            passes,
            seconds,
            cpu_seconds,
            files_per_s: files / seconds,
            cpu_files_per_s: per_cpu(files),
            signatures,
            signatures_per_s: found / seconds,
            cpu_signatures_per_s: per_cpu(found),
            unreadable: count(Outcome::Unreadable),
            unsigned: count(Outcome::NoSignature),
            signed: count(Outcome::Validated),
            panicked: count(Outcome::Panicked),
            verdicts,
            max_rss_kib,
        }
    }

    fn one_line(&self) -> String {
        format!(
            "{:.1} files/s, {:.1} signatures/s ({} pass(es) in {:.1} s; {} files per CPU \
             second); {} unreadable, {} without signature, {} signatures",
            self.files_per_s,
            self.signatures_per_s,
            self.passes,
            self.seconds,
            self.cpu_files_per_s
                .map_or("—".to_owned(), |r| format!("{r:.1}")),
            self.unreadable,
            self.unsigned,
            self.signatures
        )
    }
}

/// hoso's files/s ÷ a peer's.
#[derive(Debug, Clone, Copy, Serialize)]
struct Ratio {
    cpu: Option<f64>,
    wall: f64,
}

impl Ratio {
    fn of(hoso: &CorpusSide, peer: &CorpusSide) -> Self {
        Ratio {
            cpu: hoso
                .cpu_files_per_s
                .zip(peer.cpu_files_per_s)
                .map(|(a, b)| a / b),
            wall: hoso.files_per_s / peer.files_per_s,
        }
    }
}

#[derive(Debug, Serialize)]
struct CorpusFileRow {
    file: String,
    bytes: u64,
    hoso: FileResult,
    pyhanko: Option<FileResult>,
    pyhanko_lenient: Option<FileResult>,
}

#[derive(Debug, Serialize)]
struct CorpusPart {
    dir: PathBuf,
    /// PDFs per folder.
    folders: Vec<(&'static str, usize)>,
    files: usize,
    bytes: u64,
    validation_times: Vec<String>,
    /// hoso's trust store; pyHanko is given the same certificates as roots.
    trust_anchors: usize,
    pyhanko_trust_roots: Option<usize>,
    passes_at_least: u32,
    seconds_at_least: f64,
    hoso: CorpusSide,
    /// pyHanko with its default (strict) PDF reader.
    pyhanko: Cell<CorpusSide>,
    /// pyHanko with `PdfFileReader(strict=False)`.
    pyhanko_lenient: Cell<CorpusSide>,
    /// hoso's files/s ÷ pyHanko's (default reader), the figure issue #5's target is about.
    hoso_vs_pyhanko: Option<Ratio>,
    hoso_vs_pyhanko_lenient: Option<Ratio>,
    target: f64,
    per_file: Vec<CorpusFileRow>,
}

impl CorpusPart {
    fn failed(&self) -> bool {
        matches!(self.pyhanko, Cell::Failed(_)) || matches!(self.pyhanko_lenient, Cell::Failed(_))
    }
}

/// What `tests/peers/pyhanko_verify_corpus.py` prints.
#[derive(Debug, Deserialize)]
struct PyCorpusRun {
    pyhanko: String,
    passes: u32,
    seconds: f64,
    cpu_seconds: f64,
    trust_roots: usize,
    max_rss_kib: u64,
    files: Vec<PyCorpusFile>,
}

#[derive(Debug, Deserialize)]
struct PyCorpusFile {
    path: String,
    outcome: String,
    signatures: usize,
    valid: usize,
    not_valid: usize,
    errors: usize,
    seconds: f64,
    error: Option<String>,
}

/// The corpus part: hoso and pyHanko (both in-process) over the same files, pass after pass.
fn bench_corpus(
    args: &VerifyArgs,
    plan: &Plan,
    work: &Path,
    pyhanko: &std::result::Result<PathBuf, String>,
    versions: &mut Versions,
) -> Cell<CorpusPart> {
    let dir = args
        .corpus
        .clone()
        .unwrap_or_else(|| repository().join(CORPUS_DEFAULT));
    let manifest = dir.join("MANIFEST.tsv");
    if !manifest.is_file() {
        let why = format!("no signature corpus at {} (no MANIFEST.tsv)", dir.display());
        eprintln!("bench: corpus: SKIPPED ({why})");
        return Cell::Skipped(why);
    }
    match corpus_run(&dir, &manifest, plan, work, pyhanko, versions) {
        Ok(part) => Cell::Measured(part),
        Err(error) => {
            eprintln!("bench: corpus: FAILED: {error}");
            Cell::Failed(error.to_string())
        }
    }
}

fn corpus_run(
    dir: &Path,
    manifest: &Path,
    plan: &Plan,
    work: &Path,
    pyhanko: &std::result::Result<PathBuf, String>,
    versions: &mut Versions,
) -> Result<CorpusPart> {
    let files = load_corpus(dir, manifest)?;
    let bytes: u64 = files.iter().map(|file| file.data.len() as u64).sum();
    let folders: Vec<(&'static str, usize)> = CORPUS_FOLDERS
        .iter()
        .map(|folder| {
            let n = files.iter().filter(|f| f.name.starts_with(folder)).count();
            (*folder, n)
        })
        .collect();
    eprintln!(
        "bench: corpus: {} PDFs ({}) from {}",
        files.len(),
        megabytes(bytes),
        dir.display()
    );

    // What both verifiers are given.
    let trust_dirs: Vec<PathBuf> = CORPUS_TRUST.iter().map(|d| dir.join(d)).collect();
    let trust = TrustStore::load(&trust_dirs)
        .map_err(|e| BenchError::Failed(format!("corpus trust store: {e}")))?;
    let mut supplied = EvidencePool::default();
    let cert = dir.join(CORPUS_CERT);
    supplied.certificates = load_file(&cert, FileKind::Certificates)
        .map_err(|e| BenchError::Failed(format!("{}: {e}", cert.display())))?;
    let crl_paths: Vec<PathBuf> = CORPUS_CRLS.iter().map(|c| dir.join(c)).collect();
    for path in &crl_paths {
        supplied.crls.extend(
            load_file(path, FileKind::Crl)
                .map_err(|e| BenchError::Failed(format!("{}: {e}", path.display())))?,
        );
    }

    let (hoso, hoso_results) = hoso_corpus(&files, &trust, &supplied, plan)?;
    eprintln!("bench: corpus / hoso in-process: {}", hoso.one_line());

    let list = work.join("corpus-files.tsv");
    let mut listing = String::new();
    for file in &files {
        let _ = writeln!(listing, "{}\t{}", rfc3339(file.at), file.path.display());
    }
    fs::write(&list, listing).context(|| format!("cannot write {}", list.display()))?;
    let mut trust_roots = None;
    let mut peer = |reader: Reader| -> (Cell<CorpusSide>, Option<Vec<FileResult>>) {
        let python = match pyhanko {
            Ok(python) => python,
            Err(why) => return (Cell::Skipped(why.clone()), None),
        };
        match run_pyhanko_corpus(python, &list, dir, plan, reader, &files) {
            Ok((run, side, results)) => {
                versions.pyhanko.get_or_insert(run.pyhanko);
                trust_roots = Some(run.trust_roots);
                eprintln!("bench: corpus / {}: {}", reader.label(), side.one_line());
                (Cell::Measured(side), Some(results))
            }
            Err(error) => {
                eprintln!("bench: corpus / {}: FAILED: {error}", reader.label());
                (Cell::Failed(error.to_string()), None)
            }
        }
    };
    let (strict, strict_results) = peer(Reader::Strict);
    let (lenient, lenient_results) = peer(Reader::Lenient);

    let per_file = files
        .iter()
        .zip(hoso_results)
        .enumerate()
        .map(|(index, (file, hoso))| CorpusFileRow {
            file: file.name.clone(),
            bytes: file.data.len() as u64,
            hoso,
            pyhanko: strict_results.as_ref().map(|r| r[index].clone()),
            pyhanko_lenient: lenient_results.as_ref().map(|r| r[index].clone()),
        })
        .collect();
    Ok(CorpusPart {
        dir: dir.to_owned(),
        folders,
        files: files.len(),
        bytes,
        validation_times: vec![
            format!("pyhanko/pdf/: {}", rfc3339(CORPUS_AT_PYHANKO)),
            format!("the others: {}", rfc3339(CORPUS_AT)),
        ],
        trust_anchors: trust.anchors().len(),
        pyhanko_trust_roots: trust_roots,
        passes_at_least: plan.iterations,
        seconds_at_least: plan.seconds,
        hoso_vs_pyhanko: strict.measured().map(|peer| Ratio::of(&hoso, peer)),
        hoso_vs_pyhanko_lenient: lenient.measured().map(|peer| Ratio::of(&hoso, peer)),
        hoso,
        pyhanko: strict,
        pyhanko_lenient: lenient,
        target: CORPUS_TARGET,
        per_file,
    })
}

/// Every PDF MANIFEST.tsv lists under [`CORPUS_FOLDERS`], read into memory, in manifest order.
fn load_corpus(dir: &Path, manifest: &Path) -> Result<Vec<CorpusFile>> {
    let text =
        fs::read_to_string(manifest).context(|| format!("cannot read {}", manifest.display()))?;
    let mut files = Vec::new();
    for line in text.lines().skip(1) {
        let name = line.split('\t').next().unwrap_or("").trim();
        if !name.to_ascii_lowercase().ends_with(".pdf")
            || !CORPUS_FOLDERS.iter().any(|folder| name.starts_with(folder))
        {
            continue;
        }
        let path = dir.join(name);
        let data = fs::read(&path).context(|| format!("cannot read {}", path.display()))?;
        let at = if name.starts_with("pyhanko/") {
            CORPUS_AT_PYHANKO
        } else {
            CORPUS_AT
        };
        files.push(CorpusFile {
            name: name.to_owned(),
            path,
            data,
            at,
        });
    }
    if files.is_empty() {
        return Err(BenchError::Failed(format!(
            "{} lists no PDF under {}",
            manifest.display(),
            CORPUS_FOLDERS.join(", ")
        )));
    }
    Ok(files)
}

/// `verify_pdf` of every file, pass after pass, every error and panic caught: a verifier must
/// get through every file. Returns the rate and each file's outcome (from the warm-up pass).
fn hoso_corpus(
    files: &[CorpusFile],
    trust: &TrustStore,
    supplied: &EvidencePool,
    plan: &Plan,
) -> Result<(CorpusSide, Vec<FileResult>)> {
    let options = |at| VerifyOptions {
        trust,
        at,
        offline: true,
        policy: Policy::Strict,
        supplied: supplied.clone(),
    };
    let at_pyhanko = options(CORPUS_AT_PYHANKO);
    let at_others = options(CORPUS_AT);
    let mut results = Vec::with_capacity(files.len());
    let mut spent = vec![Duration::ZERO; files.len()];
    // A panic is an outcome, counted; the default hook would print it at every pass.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let rate = timed_loop(plan, CpuOf::Thread, |pass| {
        let mut timed = Duration::ZERO;
        for (index, file) in files.iter().enumerate() {
            let options = if file.at == CORPUS_AT_PYHANKO {
                &at_pyhanko
            } else {
                &at_others
            };
            let started = Instant::now();
            let verdict = std::panic::catch_unwind(AssertUnwindSafe(|| {
                verify_pdf(&file.data, &file.name, options)
            }));
            let elapsed = started.elapsed();
            if pass == 0 {
                results.push(hoso_result(verdict));
            } else {
                spent[index] += elapsed;
                timed += elapsed;
            }
        }
        Ok(timed)
    });
    std::panic::set_hook(hook);
    let rate = rate?;
    for (result, spent) in results.iter_mut().zip(&spent) {
        result.mean_ms = spent.as_secs_f64() * 1e3 / f64::from(rate.iterations);
    }
    let side = CorpusSide::new(
        rate.iterations,
        rate.seconds,
        rate.cpu_seconds,
        &results,
        None,
    );
    Ok((side, results))
}

fn hoso_result(
    verdict: std::thread::Result<std::result::Result<Report, hoso::verify::VerifyError>>,
) -> FileResult {
    let mut result = FileResult {
        outcome: Outcome::Validated,
        signatures: 0,
        verdicts: Vec::new(),
        error: None,
        mean_ms: 0.0,
    };
    match verdict {
        Err(panic) => {
            result.outcome = Outcome::Panicked;
            result.error = Some(
                panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".to_owned()),
            );
        }
        Ok(Err(error)) => {
            result.outcome = Outcome::Unreadable;
            result.error = Some(format!("[{}] {error}", error.code()));
        }
        Ok(Ok(report)) if report.signatures.is_empty() => result.outcome = Outcome::NoSignature,
        Ok(Ok(report)) => {
            result.signatures = report.signatures.len();
            result.verdicts = report
                .signatures
                .iter()
                .map(|signature| {
                    let sub = signature
                        .subindication
                        .and_then(|sub| serde_json::to_value(sub).ok())
                        .and_then(|value| value.as_str().map(|s| format!("/{s}")))
                        .unwrap_or_default();
                    format!("{}{sub}", signature.indication.as_str())
                })
                .collect();
        }
    }
    result
}

/// `tests/peers/pyhanko_verify_corpus.py` over the listed files, in one Python process.
fn run_pyhanko_corpus(
    python: &Path,
    list: &Path,
    dir: &Path,
    plan: &Plan,
    reader: Reader,
    files: &[CorpusFile],
) -> Result<(PyCorpusRun, CorpusSide, Vec<FileResult>)> {
    let mut command = Command::new(python);
    command
        .arg(repository().join(PYHANKO_CORPUS_SCRIPT))
        .arg("--files-from")
        .arg(list);
    for trust in CORPUS_TRUST {
        command.arg("--trust").arg(dir.join(trust));
    }
    command.arg("--cert").arg(dir.join(CORPUS_CERT));
    for crl in CORPUS_CRLS {
        command.arg("--crl").arg(dir.join(crl));
    }
    command
        .args(["--passes", &plan.iterations.to_string()])
        .args(["--seconds", &plan.seconds.to_string()])
        .stdin(Stdio::null());
    if matches!(reader, Reader::Lenient) {
        command.arg("--lenient");
    }
    let run: PyCorpusRun = peer_report(&mut command, "pyhanko_verify_corpus.py")?;
    let same_files = run.files.len() == files.len()
        && run
            .files
            .iter()
            .zip(files)
            .all(|(theirs, ours)| Path::new(&theirs.path) == ours.path);
    if !same_files || run.passes == 0 {
        return Err(BenchError::Failed(
            "pyhanko_verify_corpus.py did not report the files it was given".to_owned(),
        ));
    }
    let results: Vec<FileResult> = run
        .files
        .iter()
        .map(|file| {
            let outcome = match file.outcome.as_str() {
                "validated" => Outcome::Validated,
                "no-signature" => Outcome::NoSignature,
                _ => Outcome::Unreadable,
            };
            let mut verdicts = vec!["VALID".to_owned(); file.valid];
            verdicts.extend(vec!["not VALID".to_owned(); file.not_valid]);
            verdicts.extend(vec!["exception".to_owned(); file.errors]);
            FileResult {
                outcome,
                signatures: file.signatures,
                verdicts,
                error: file.error.clone(),
                mean_ms: file.seconds * 1e3 / f64::from(run.passes),
            }
        })
        .collect();
    let side = CorpusSide::new(
        run.passes,
        run.seconds,
        run.cpu_seconds,
        &results,
        Some(run.max_rss_kib),
    );
    Ok((run, side, results))
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.to_string())
}

/// The corpus part of the Markdown report.
fn corpus_section(corpus: &Cell<CorpusPart>, versions: &Versions) -> String {
    let mut out = String::from("\n### Signature corpus\n\n");
    let part = match corpus {
        Cell::Measured(part) => part,
        Cell::Skipped(why) => {
            let _ = writeln!(out, "SKIPPED: {why}.");
            return out;
        }
        Cell::Failed(why) => {
            let (summary, _) = why.split_once('\n').unwrap_or((why, ""));
            let _ = writeln!(out, "**FAILED**: {summary}");
            return out;
        }
    };
    let folders: Vec<String> = part
        .folders
        .iter()
        .map(|(folder, n)| format!("`{folder}` ({n})"))
        .collect();
    let _ = write!(
        out,
        "{} PDFs ({}) that `{}/MANIFEST.tsv` lists under {}, unsigned and broken ones \
         included, each read into memory once. Both verifiers get the same evidence and no \
         network: as trust anchors every certificate in `{}` ({} anchors), the extra \
         certificate `{CORPUS_CERT}`, the CRLs `{}`; fixed validation times ({}). **hoso \
         in-process**: `verify::verify_pdf` over the bytes, `Policy::Strict`, panics caught. \
         **pyHanko {}** in-process (`{PYHANKO_CORPUS_SCRIPT}`): per file a `PdfFileReader` and \
         a `ValidationContext` (`hard-fail`, no fetching, the same roots, certificate and \
         CRLs), `validate_pdf_signature` (`validate_pdf_timestamp` for document timestamps) of \
         every embedded signature, every exception caught; once with its default strict \
         reader, once with `strict=False`. Verdicts are counted, not checked. One warm-up \
         pass, then ≥ {} passes and ≥ {} s per verifier. Rates as *wall / CPU*.\n\n",
        part.files,
        megabytes(part.bytes),
        part.dir
            .strip_prefix(repository())
            .unwrap_or(&part.dir)
            .display(),
        folders.join(", "),
        CORPUS_TRUST.join("` and `"),
        part.trust_anchors,
        CORPUS_CRLS.join("`, `"),
        part.validation_times.join("; "),
        versions.pyhanko.as_deref().unwrap_or(""),
        part.passes_at_least,
        part.seconds_at_least,
    );
    out.push_str(
        "| verifier | files/s | signatures/s | signatures found | unreadable files | files \
         without signature | hoso ÷ it, files/s (CPU / wall) |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
    );
    let row = |out: &mut String, who: &str, side: &Cell<CorpusSide>, ratio: Option<Ratio>| {
        let _ = match side {
            Cell::Measured(side) => writeln!(
                out,
                "| {who} | {} / {} | {} / {} | {} | {} | {} | {} |",
                rate(Some(side.files_per_s)),
                rate(side.cpu_files_per_s),
                rate(Some(side.signatures_per_s)),
                rate(side.cpu_signatures_per_s),
                side.signatures,
                side.unreadable + side.panicked,
                side.unsigned,
                ratio.map_or("—".to_owned(), |r| ratios(r.cpu, Some(r.wall))),
            ),
            Cell::Skipped(_) => writeln!(out, "| {who} | SKIPPED | | | | | |"),
            Cell::Failed(_) => writeln!(out, "| {who} | **FAILED** | | | | | |"),
        };
    };
    row(
        &mut out,
        "hoso in-process",
        &Cell::Measured(part.hoso.clone()),
        None,
    );
    row(
        &mut out,
        Reader::Strict.label(),
        &part.pyhanko,
        part.hoso_vs_pyhanko,
    );
    row(
        &mut out,
        Reader::Lenient.label(),
        &part.pyhanko_lenient,
        part.hoso_vs_pyhanko_lenient,
    );
    if part.hoso.panicked > 0 {
        let _ = writeln!(
            out,
            "\nhoso **panicked** on {} file(s) (counted as unreadable; see bench.json).",
            part.hoso.panicked
        );
    }

    let target = |ratio: Option<Ratio>| match ratio.and_then(|r| r.cpu) {
        Some(cpu) if cpu >= part.target => format!("{}× (met)", ratio_text(cpu)),
        Some(cpu) => format!("{}× (**not met**)", ratio_text(cpu)),
        None => "not measured".to_owned(),
    };
    let _ = writeln!(
        out,
        "\nIssue #5's target, hoso ≥ {}× pyHanko's files per second on this corpus (per CPU \
         second): against pyHanko's default reader {}; against `strict=False` {}.",
        part.target,
        target(part.hoso_vs_pyhanko),
        target(part.hoso_vs_pyhanko_lenient)
    );

    let verdicts = |side: &CorpusSide| {
        let counted: Vec<String> = side
            .verdicts
            .iter()
            .map(|(verdict, n)| format!("{verdict} {n}"))
            .collect();
        if counted.is_empty() {
            "none".to_owned()
        } else {
            counted.join(", ")
        }
    };
    let _ = write!(
        out,
        "\nSignatures by verdict: hoso {}",
        verdicts(&part.hoso)
    );
    for (reader, side) in [
        (Reader::Strict, &part.pyhanko),
        (Reader::Lenient, &part.pyhanko_lenient),
    ] {
        if let Cell::Measured(side) = side {
            let _ = write!(out, "; {} {}", reader.label(), verdicts(side));
        }
    }
    out.push_str(".\n");

    let slowest = |pick: &dyn Fn(&CorpusFileRow) -> Option<&FileResult>| {
        let mut timed: Vec<(&str, f64)> = part
            .per_file
            .iter()
            .filter_map(|row| pick(row).map(|result| (row.file.as_str(), result.mean_ms)))
            .collect();
        timed.sort_by(|a, b| b.1.total_cmp(&a.1));
        let named: Vec<String> = timed
            .iter()
            .take(SLOWEST)
            .map(|(file, ms)| format!("`{file}` {ms:.1} ms"))
            .collect();
        named.join(", ")
    };
    let _ = write!(
        out,
        "\nSlowest files (mean per pass): hoso {}",
        slowest(&|row| Some(&row.hoso))
    );
    if part.pyhanko.measured().is_some() {
        let _ = write!(
            out,
            "; {} {}",
            Reader::Strict.label(),
            slowest(&|row| row.pyhanko.as_ref())
        );
    }
    if part.pyhanko_lenient.measured().is_some() {
        let _ = write!(
            out,
            "; {} {}",
            Reader::Lenient.label(),
            slowest(&|row| row.pyhanko_lenient.as_ref())
        );
    }
    out.push_str(".\n");
    if let Some(roots) = part.pyhanko_trust_roots
        && roots != part.trust_anchors
    {
        let _ = writeln!(
            out,
            "\nNote: pyHanko loaded {roots} trust roots from the same folders, hoso {} anchors.",
            part.trust_anchors
        );
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The Markdown report

impl PeakRss {
    fn one_line(&self) -> String {
        let kib = |cell: &Cell<u64>| match cell {
            Cell::Measured(kib) => mebibytes(*kib),
            Cell::Skipped(_) => "SKIPPED".to_owned(),
            Cell::Failed(_) => "FAILED".to_owned(),
        };
        let in_process = match &self.in_process {
            Cell::Measured(peak) => format!(
                "{} (before {}, of which mapped file {})",
                mebibytes(peak.peak_kib),
                mebibytes(peak.rss_before_kib),
                mebibytes(peak.mapped_file_kib)
            ),
            Cell::Skipped(why) | Cell::Failed(why) => format!("not measured ({why})"),
        };
        format!(
            "hoso in-process {in_process}; hoso verify process {}; pdfsig process {}; \
             pyHanko process {}",
            kib(&self.hoso_cli_kib),
            kib(&self.pdfsig_kib),
            self.pyhanko_kib.map_or("SKIPPED".to_owned(), mebibytes)
        )
    }
}

struct Rendered<'a> {
    generated: Option<&'a Generated>,
    corpus: Option<&'a Cell<CorpusPart>>,
    versions: &'a Versions,
    notes: &'a [String],
    load_at_start: Option<f64>,
    total_wall_s: f64,
}

impl Rendered<'_> {
    fn render(&self) -> String {
        let mut out = String::from("## Verification benchmark\n\n");
        out.push_str(&self.machine());
        if let Some(generated) = self.generated {
            out.push_str("\n### Generated inputs\n\n");
            out.push_str(&self.setup(generated));
            out.push_str(&main_table(generated));
            out.push_str(&scan_table(generated));
            out.push_str(&peak(generated));
        }
        if let Some(corpus) = self.corpus {
            out.push_str(&corpus_section(corpus, self.versions));
        }
        out.push_str(&self.notes());
        let _ = writeln!(out, "\nWhole run: {:.0} s.", self.total_wall_s);
        out
    }

    fn machine(&self) -> String {
        let mut out = String::new();
        if let Some(cores) = cores() {
            let _ = write!(out, "{cores} cores, ");
        }
        if let Some(load) = self.load_at_start {
            let _ = write!(out, "load average {load:.2} at start, ");
        }
        let _ = writeln!(out, "{}.", today());
        out
    }

    fn setup(&self, generated: &Generated) -> String {
        let mut out = format!(
            "Signed by hoso (`official.p12`, RSA-2048), verified offline with the root of \
             `certs/test-pki` trusted and its two CRLs supplied, revocation required. **hoso \
             in-process**: `verify::verify_pdf` on the memory-mapped file, trust store ({} \
             anchors) and CRLs loaded once, `Policy::Strict`, TOTAL-PASSED checked. \
             **pyHanko {}** in-process: `validate_pdf_signature` with a new `ValidationContext` \
             (no fetching, `hard-fail`, CRLs supplied) per document, bottom line VALID checked. \
             **hoso CLI**: `hoso verify FILE --offline --crl … --trust certs/test-pki --format \
             json`, a process per document. **pdfsig** ({}): `pdfsig -no-ocsp -nssdir sql:DB \
             FILE` with the root trusted in DB, a process per document, `Signature is Valid.` \
             and `Certificate is Trusted.` checked (pdfsig takes no CRL: it checks no \
             revocation). One warm-up, then ≥ {} verifications and ≥ {} s per cell.",
            generated.trust_anchors,
            self.versions.pyhanko.as_deref().unwrap_or(""),
            self.versions.pdfsig.as_deref().unwrap_or("not available"),
            generated.iterations_at_least,
            generated.seconds_at_least
        );
        out.push_str("\n\nInputs: ");
        let described: Vec<String> = generated
            .inputs
            .iter()
            .map(|input| {
                format!(
                    "{} ({} page(s), {}, {})",
                    input.label,
                    input.pages,
                    megabytes(input.bytes),
                    input.level
                )
            })
            .collect();
        out.push_str(&described.join(", "));
        out.push_str(".\n\n");
        out
    }
}

fn main_table(generated: &Generated) -> String {
    let mut out = String::from(
        "Documents verified per second as *wall / CPU* (CPU: the verifying thread, the \
             Python process, the child processes); ratios per CPU second, then per wall \
             second.\n\n\
             | input | hoso in-process docs/s | pyHanko docs/s | hoso ÷ pyHanko | hoso CLI \
             docs/s | pdfsig docs/s | hoso CLI ÷ pdfsig |\n\
             |---|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in &generated.rows {
        let label = generated
            .input(row.input)
            .map_or(row.input, |input| input.label);
        let pyhanko = match &row.pyhanko {
            Cell::Measured(run) => wall_cpu(&run.rate()),
            Cell::Skipped(_) => "SKIPPED".to_owned(),
            Cell::Failed(_) => "**FAILED**".to_owned(),
        };
        let _ = writeln!(
            out,
            "| {label} | {} | {pyhanko} | {} | {} | {} | {} |",
            wall_cpu(&row.hoso),
            ratios(row.hoso_vs_pyhanko, row.hoso_vs_pyhanko_wall),
            cell_text(&row.hoso_cli),
            cell_text(&row.pdfsig),
            ratios(row.cli_vs_pdfsig, row.cli_vs_pdfsig_wall),
        );
    }
    out
}

fn scan_table(generated: &Generated) -> String {
    let mut out = String::new();
    for row in &generated.rows {
        let Some(input) = generated.input(row.input).filter(|input| input.large) else {
            continue;
        };
        let _ = write!(
            out,
            "\n{} ({}), MB/s (wall):\n\n\
                 | hoso in-process | pyHanko | hoso CLI | pdfsig |\n|---:|---:|---:|---:|\n\
                 | {} | {} | {} | {} |\n",
            input.label,
            megabytes(input.bytes),
            rate(row.hoso_mb_per_s),
            mb_cell(row.pyhanko_mb_per_s, &row.pyhanko),
            mb_cell(row.hoso_cli_mb_per_s, &row.hoso_cli),
            mb_cell(row.pdfsig_mb_per_s, &row.pdfsig),
        );
    }
    out
}

fn peak(generated: &Generated) -> String {
    let Some(peak) = &generated.peak_rss else {
        return String::new();
    };
    format!(
        "\nPeak RSS verifying the {}: {}.\n",
        peak.what,
        peak.one_line()
    )
}

impl Rendered<'_> {
    fn notes(&self) -> String {
        let mut lines: Vec<String> = self.notes.to_vec();
        let rows = self
            .generated
            .map_or(&[][..], |generated| &generated.rows[..]);
        for row in rows {
            let label = self
                .generated
                .and_then(|generated| generated.input(row.input))
                .map_or(row.input, |input| input.label);
            let mut add = |who: &str, why: Option<&String>, failed: bool| {
                if let Some(why) = why {
                    let kind = if failed { "FAILED" } else { "SKIPPED" };
                    lines.push(format!("{label} / {who}: {kind}: {why}"));
                }
            };
            for (who, skipped, failed) in [
                (
                    "pyHanko",
                    skip_reason(&row.pyhanko),
                    fail_reason(&row.pyhanko),
                ),
                (
                    "hoso CLI",
                    skip_reason(&row.hoso_cli),
                    fail_reason(&row.hoso_cli),
                ),
                ("pdfsig", skip_reason(&row.pdfsig), fail_reason(&row.pdfsig)),
            ] {
                add(who, skipped, false);
                add(who, failed, true);
            }
        }
        match self.corpus {
            Some(Cell::Skipped(why)) => lines.push(format!("corpus: SKIPPED: {why}")),
            Some(Cell::Failed(why)) => lines.push(format!("corpus: FAILED: {why}")),
            Some(Cell::Measured(part)) => {
                for (who, cell) in [
                    (Reader::Strict.label(), &part.pyhanko),
                    (Reader::Lenient.label(), &part.pyhanko_lenient),
                ] {
                    if let Some(why) = skip_reason(cell) {
                        lines.push(format!("corpus / {who}: SKIPPED: {why}"));
                    }
                    if let Some(why) = fail_reason(cell) {
                        lines.push(format!("corpus / {who}: FAILED: {why}"));
                    }
                }
            }
            None => {}
        }
        lines.dedup();
        if lines.is_empty() {
            return String::new();
        }
        let mut out = String::from("\nNotes:\n\n");
        for line in lines {
            let (summary, detail) = line.split_once('\n').unwrap_or((&line, ""));
            let _ = writeln!(out, "- {summary}");
            if !detail.trim().is_empty() {
                let _ = writeln!(out, "  ```text");
                for detail_line in detail.lines().filter(|l| !l.trim().is_empty()) {
                    let _ = writeln!(out, "  {detail_line}");
                }
                let _ = writeln!(out, "  ```");
            }
        }
        out
    }
}

fn skip_reason<T>(cell: &Cell<T>) -> Option<&String> {
    match cell {
        Cell::Skipped(why) => Some(why),
        _ => None,
    }
}

fn fail_reason<T>(cell: &Cell<T>) -> Option<&String> {
    match cell {
        Cell::Failed(why) => Some(why),
        _ => None,
    }
}

fn wall_cpu(rate: &Rate) -> String {
    format!(
        "{} / {}",
        self::rate(Some(rate.per_s)),
        self::rate(rate.cpu_per_s)
    )
}

fn cell_text(cell: &Cell<Rate>) -> String {
    match cell {
        Cell::Measured(rate) => wall_cpu(rate),
        Cell::Skipped(_) => "SKIPPED".to_owned(),
        Cell::Failed(_) => "**FAILED**".to_owned(),
    }
}

fn mb_cell<T>(value: Option<f64>, cell: &Cell<T>) -> String {
    match cell {
        Cell::Measured(_) => rate(value),
        Cell::Skipped(_) => "SKIPPED".to_owned(),
        Cell::Failed(_) => "**FAILED**".to_owned(),
    }
}

fn ratios(cpu: Option<f64>, wall: Option<f64>) -> String {
    match (cpu, wall) {
        (Some(cpu), Some(wall)) => format!("{} / {}", ratio_text(cpu), ratio_text(wall)),
        (None, Some(wall)) => format!("— / {}", ratio_text(wall)),
        _ => "—".to_owned(),
    }
}

/// Two significant digits at least, so that small ratios do not print as 0.00.
fn ratio_text(ratio: f64) -> String {
    if ratio >= 10.0 {
        format!("{ratio:.0}")
    } else if ratio >= 0.1 {
        format!("{ratio:.2}")
    } else {
        format!("{ratio:.4}")
    }
}

/// A rate with as many decimals as it needs to show three significant digits.
fn rate(value: Option<f64>) -> String {
    match value {
        Some(v) if v >= 100.0 => format!("{v:.0}"),
        Some(v) if v >= 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.2}"),
        None => "—".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(code: i32, stdout: &str) -> Output {
        use std::os::unix::process::ExitStatusExt;
        Output {
            status: std::process::ExitStatus::from_raw(code << 8),
            stdout: stdout.as_bytes().to_vec(),
            stderr: Vec::new(),
        }
    }

    #[test]
    fn pdfsig_output_is_judged_per_signature() {
        let one = "Signature #1:\n  - Signature Validation: Signature is Valid.\n  - \
                   Certificate Validation: Certificate is Trusted.\n";
        assert!(check_pdfsig(&output(0, one)).is_ok());
        let untrusted = "Signature #1:\n  - Signature Validation: Signature is Valid.\n  - \
                         Certificate Validation: Unknown issue with Certificate or corrupted \
                         data.\n";
        assert!(check_pdfsig(&output(0, untrusted)).is_err());
        let two = format!("{one}Signature #2:\n  - Signature Validation: Signature is Invalid.\n");
        assert!(check_pdfsig(&output(0, &two)).is_err());
        assert!(check_pdfsig(&output(0, "File 'x' does not contain any signatures\n")).is_err());
    }

    #[test]
    fn corpus_side_counts_files_signatures_and_verdicts() {
        let file = |outcome, verdicts: &[&str]| FileResult {
            outcome,
            signatures: verdicts.len(),
            verdicts: verdicts.iter().map(|v| (*v).to_owned()).collect(),
            error: None,
            mean_ms: 0.0,
        };
        let results = [
            file(
                Outcome::Validated,
                &["TOTAL-PASSED", "INDETERMINATE/NO_CERTIFICATE_CHAIN_FOUND"],
            ),
            file(Outcome::Validated, &["INDETERMINATE/OUT_OF_BOUNDS_NO_POE"]),
            file(Outcome::NoSignature, &[]),
            file(Outcome::Unreadable, &[]),
        ];
        // 2 passes of 4 files in 2 s (1 CPU second).
        let side = CorpusSide::new(2, 2.0, 1.0, &results, None);
        assert_eq!(side.files_per_s, 4.0);
        assert_eq!(side.cpu_files_per_s, Some(8.0));
        assert_eq!(side.signatures, 3);
        assert_eq!(side.signatures_per_s, 3.0);
        assert_eq!(
            (side.signed, side.unsigned, side.unreadable, side.panicked),
            (2, 1, 1, 0)
        );
        assert_eq!(side.verdicts.get("INDETERMINATE"), Some(&2));
        assert_eq!(side.verdicts.get("TOTAL-PASSED"), Some(&1));
        let slower = CorpusSide::new(1, 4.0, 2.0, &results, None);
        let ratio = Ratio::of(&side, &slower);
        assert_eq!((ratio.cpu, ratio.wall), (Some(4.0), 4.0));
    }

    #[test]
    fn hoso_cli_needs_exit_0_and_total_passed() {
        let passed = r#"{"indication": "TOTAL-PASSED", "signatures": []}"#;
        assert!(check_hoso_cli(&output(0, passed)).is_ok());
        assert!(check_hoso_cli(&output(3, r#"{"indication": "INDETERMINATE"}"#)).is_err());
        assert!(check_hoso_cli(&output(0, "not json")).is_err());
    }
}
