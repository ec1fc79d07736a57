//! `bench sign`: PAdES signing speed of hoso against pyHanko, both in-process, next to
//! `openssl speed` for the same keys (the physical limit).
//!
//! ```text
//! scripts/peers-venv
//! cargo run --release --bin bench -- sign [--iterations N] [--seconds S] [--out DIR] [--keep]
//! ```
//!
//! Inputs, generated deterministically into a temporary folder inside OUT: the 1-page sample
//! `samples/cong-van.pdf`, a 100-page Helvetica text PDF and a ~40 MB scan (40 A4 pages, each
//! one noisy ~1 MB JPEG embedded as DCTDecode), all written with lopdf. Keys: the TEST-ONLY
//! `certs/test-pki/official.p12` (RSA-2048) and `official-ec.p12` (ECDSA P-256).
//!
//! For every input and key, one after the other on the same machine:
//!
//! - hoso in memory (the headline figure, like for like with pyHanko's): the key loaded once,
//!   one `pades::sign::SigningSession` made once per key (certificate checks, path validation,
//!   container size), then `SigningSession::sign_bytes` (PAdES B-B, invisible, SHA-256,
//!   `offline`, trust store `certs/test-pki`) on the input's bytes, read once, again and
//!   again; each output is a `Vec<u8>`, dropped inside the timed part;
//! - hoso to file: `SigningSession::sign_file`, each signature a new durable file (fsync of
//!   the file and its folder before the rename) in the temporary folder, deleted after
//!   (deletion not timed); *on tmpfs*: the same with input and outputs on `/dev/shm`, where
//!   fsync is free, so the difference is the durable write on OUT's file system;
//! - hoso `sign_file`: the one-document entry point (`hoso sign`), a new session per
//!   signature, to a durable file on OUT;
//! - pyHanko: `tests/peers/pyhanko_bench.py` in `.venv` — the key loaded once, the input read
//!   once, then `signers.sign_pdf` into a `BytesIO` (no file, no fsync) again and again.
//!
//! Every signature reads the input's bytes once: they are hashed (the byte-range digest and
//! the output's SHA-256) as they are copied, and what is appended is hashed from memory.
//!
//! One warm-up signature each, then timed signatures until at least `--iterations` of them
//! and at least `--seconds` have passed. Rates are signatures per second of one thread (hoso
//! signs on the calling thread; pyHanko is single-threaded), so they compare with `openssl
//! speed rsa2048` / `ecdsap256` (one core, `-seconds 2`) directly. For the scan the limit is
//! SHA-256: MB/s against `openssl speed -evp sha256` (16 KiB blocks). Parts of a signature
//! are also timed alone, to tell the key's cost from the rest: the key operation through
//! `KeySigner::sign_digest`, the signer's path validation `TrustStore::validate_path` and the
//! whole `SigningSession::new`. Finally one more `sign_file` of the scan measures the peak RSS
//! of this process (VmHWM of `/proc/self/status`, reset through `/proc/self/clear_refs` just
//! before).
//!
//! Targets (hoso in memory): ≥ 10 × pyHanko's signatures/s; ≥ ½ × openssl's sign/s for the
//! small inputs (1 and 100 pages). Output: a Markdown report on stdout (progress on stderr) and
//! `OUT/bench.json`. Without pyHanko in the venv the benchmark is skipped with a message and
//! exit 1 (`scripts/peers-venv` sets it up).

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use clap::Args;
use hoso::error::Coded;
use hoso::pades::PadesError;
use hoso::pades::cms::{CmsRequest, SignedCms};
use hoso::pades::key::{DigestAlgorithm, KeySigner, SoftwareKey, default_scheme};
use hoso::pades::sign::{DocumentOptions, SignOptions, SigningSession, sign_file};
use hoso::pdf::incremental::PdfRevision;
use hoso::trust::TrustStore;
use lopdf::Document;
use serde::{Deserialize, Serialize};

use super::inputs::{
    SCAN_PAGES, TEXT_PAGES, mebibytes, megabytes, non_negative_seconds, repository, save, scan_pdf,
    status_kib, text_pdf, today,
};
use time::OffsetDateTime;

use super::{BenchError, Context, Result, cores, load_average, run_checked};

/// Password of the TEST-ONLY PKCS#12 files.
const PASSWORD: &str = "test";
/// hoso signatures/s ÷ pyHanko signatures/s must reach this.
const TARGET_VS_PYHANKO: f64 = 10.0;
/// hoso signatures/s ÷ openssl sign/s must reach this for small documents ("within 2×").
const TARGET_VS_OPENSSL: f64 = 0.5;
/// `openssl speed -seconds` for every algorithm.
const OPENSSL_SECONDS: &str = "2";
/// `openssl speed -evp sha256 -bytes`: the block size whose rate is reported.
const OPENSSL_SHA256_BLOCK: &str = "16384";

#[derive(Debug, Args)]
pub struct SignArgs {
    /// Timed signatures per input, key and engine: at least this many …
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    iterations: u32,
    /// … and for at least this many seconds
    #[arg(long, default_value_t = 1.0, value_name = "S", value_parser = non_negative_seconds)]
    seconds: f64,
    /// Folder for bench.json; inputs and signed outputs go to a temporary folder inside it
    /// (removed at the end), so its file system is the one measured
    #[arg(long, default_value = "target/bench-sign", value_name = "DIR")]
    out: PathBuf,
    /// Python venv with pyHanko [default: the repository's .venv, made by scripts/peers-venv]
    #[arg(long, value_name = "DIR")]
    venv: Option<PathBuf>,
    /// Keep the inputs in OUT/inputs/ and one signed output per input, key and engine in
    /// OUT/signed/ (about 220 MB)
    #[arg(long)]
    keep: bool,
}

// ---------------------------------------------------------------------------------------------
// What is measured

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
enum Key {
    #[serde(rename = "rsa2048")]
    Rsa2048,
    #[serde(rename = "ecdsap256")]
    EcdsaP256,
}

impl Key {
    const ALL: [Key; 2] = [Key::Rsa2048, Key::EcdsaP256];

    fn label(self) -> &'static str {
        match self {
            Key::Rsa2048 => "RSA-2048",
            Key::EcdsaP256 => "ECDSA P-256",
        }
    }

    fn p12(self) -> PathBuf {
        let file = match self {
            Key::Rsa2048 => "official.p12",
            Key::EcdsaP256 => "official-ec.p12",
        };
        repository().join("certs/test-pki").join(file)
    }

    /// The `openssl speed` algorithm, and the marker of its result line.
    fn openssl(self) -> (&'static str, &'static str) {
        match self {
            Key::Rsa2048 => ("rsa2048", "rsa 2048 bits"),
            Key::EcdsaP256 => ("ecdsap256", "(nistp256)"),
        }
    }
}

#[derive(Debug, Serialize)]
struct Input {
    name: &'static str,
    label: &'static str,
    #[serde(skip)]
    path: PathBuf,
    /// The same file on a tmpfs (`/dev/shm`), where fsync costs nothing.
    #[serde(skip)]
    tmpfs_path: Option<PathBuf>,
    bytes: u64,
    pages: usize,
    /// Small documents are held to the openssl target; large ones to SHA-256's speed.
    small: bool,
}

/// Signatures per second over `iterations` timed signatures that took `seconds` in all, and
/// over the CPU seconds the calling thread used in the whole loop (untimed work between the
/// calls included, which is only the clock and, for files, the deletion of the output).
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
            "{:.1} sig/s ({} in {:.2} s; {} per CPU second)",
            self.per_s,
            self.iterations,
            self.seconds,
            self.cpu_per_s.map_or("—".to_owned(), |r| format!("{r:.1}"))
        )
    }
}

/// What `tests/peers/pyhanko_bench.py` prints.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PyHankoRun {
    pyhanko: String,
    iterations: u32,
    seconds: f64,
    sig_per_s: f64,
    /// CPU seconds (`time.process_time`) of the timed signatures, and the rate over them.
    cpu_seconds: f64,
    cpu_sig_per_s: f64,
    output_bytes: u64,
    load_key_s: f64,
    max_rss_kib: u64,
}

#[derive(Debug, Serialize)]
struct Row {
    input: &'static str,
    key: Key,
    /// `SigningSession::sign_bytes`: session ready, input and output in memory.
    hoso: Option<Rate>,
    /// `SigningSession::sign_file` into a durable file on OUT's file system.
    hoso_file: Option<Rate>,
    /// The same with input and outputs on a tmpfs.
    hoso_file_tmpfs: Option<Rate>,
    /// The one-document `sign_file` (a new session per signature) on OUT's file system.
    hoso_sign_file: Option<Rate>,
    /// Size of hoso's signed output.
    hoso_output_bytes: Option<u64>,
    pyhanko: Option<PyHankoRun>,
    openssl_sign_per_s: Option<f64>,
    /// hoso in memory against pyHanko in memory, per CPU second (the robust figure on a
    /// shared machine) and per wall second.
    hoso_vs_pyhanko: Option<f64>,
    hoso_vs_pyhanko_wall: Option<f64>,
    /// hoso in memory per CPU second against `openssl speed` (which divides by user CPU time).
    hoso_vs_openssl: Option<f64>,
    /// Input bytes signed per second (MB = 10⁶ bytes, as openssl speed counts).
    hoso_mb_per_s: Option<f64>,
    hoso_cpu_mb_per_s: Option<f64>,
    hoso_file_mb_per_s: Option<f64>,
    hoso_file_tmpfs_mb_per_s: Option<f64>,
    pyhanko_mb_per_s: Option<f64>,
    errors: Vec<String>,
}

#[derive(Debug, Default, Serialize)]
struct OpensslSpeed {
    version: Option<String>,
    rsa2048_sign_per_s: Option<f64>,
    ecdsap256_sign_per_s: Option<f64>,
    sha256_bytes_per_s: Option<f64>,
    problems: Vec<String>,
}

impl OpensslSpeed {
    fn sign_per_s(&self, key: Key) -> Option<f64> {
        match key {
            Key::Rsa2048 => self.rsa2048_sign_per_s,
            Key::EcdsaP256 => self.ecdsap256_sign_per_s,
        }
    }
}

/// Parts of a signature measured alone: the private-key operation through hoso's
/// `KeySigner::sign_digest`, the signer's path validation (`TrustStore::validate_path`, what
/// `revocation::complete_chain` calls offline) and the whole per-key work,
/// `SigningSession::new`, which the one-document `sign_file` does for every signature.
#[derive(Debug, Serialize)]
struct KeyOperation {
    key: Key,
    hoso_sign_digest: Rate,
    validate_path: Rate,
    session_new: Rate,
    openssl_sign_per_s: Option<f64>,
}

/// The steps of one in-memory signature of the 1-page input, each timed alone: parsing the
/// input's structure, building and signing the CMS (the key operation included), the check
/// that the signature verifies with the certificate's key (and, inside it, OpenSSL parsing
/// the certificate), and encoding the CMS.
#[derive(Debug, Serialize)]
struct Breakdown {
    key: Key,
    pdf_revision_from_bytes: Rate,
    cms_sign: Rate,
    cms_verify_signature: Rate,
    openssl_x509_from_der: Rate,
    cms_to_der: Rate,
}

#[derive(Debug, Serialize)]
struct PeakRss {
    /// What was signed while measuring.
    what: String,
    rss_before_kib: u64,
    peak_kib: u64,
    method: &'static str,
}

#[derive(Serialize)]
struct Summary<'a> {
    date: String,
    cores: Option<usize>,
    load_average_at_start: Option<f64>,
    iterations_at_least: u32,
    seconds_at_least: f64,
    work_dir_filesystem: &'a Path,
    inputs: &'a [Input],
    openssl: &'a OpensslSpeed,
    key_operations: &'a [KeyOperation],
    breakdowns: &'a [Breakdown],
    rows: &'a [Row],
    peak_rss: Option<&'a PeakRss>,
    peak_rss_problem: Option<&'a str>,
    total_wall_s: f64,
}

// ---------------------------------------------------------------------------------------------
// The run

pub fn bench_sign(args: &SignArgs) -> Result<()> {
    let started = Instant::now();
    let load_at_start = load_average();
    let venv = args
        .venv
        .clone()
        .unwrap_or_else(|| repository().join(".venv"));
    let python = find_pyhanko(&venv)?;
    let script = repository().join("tests/peers/pyhanko_bench.py");
    if !script.is_file() {
        return Err(BenchError::Failed(format!(
            "{} is missing",
            script.display()
        )));
    }
    fs::create_dir_all(&args.out).context(|| format!("cannot create {}", args.out.display()))?;
    let work = tempfile::Builder::new()
        .prefix("work-")
        .tempdir_in(&args.out)
        .context(|| format!("cannot create a temporary folder in {}", args.out.display()))?;
    let kept = args.out.join("signed");
    if args.keep {
        fs::create_dir_all(&kept).context(|| format!("cannot create {}", kept.display()))?;
    }

    eprintln!("bench: generating the inputs in {}…", work.path().display());
    let mut inputs = generate_inputs(work.path())?;
    if args.keep {
        keep_inputs(&inputs, &args.out.join("inputs"))?;
    }
    let tmpfs = copy_to_tmpfs(&mut inputs);
    if let Err(problem) = &tmpfs {
        eprintln!("bench: no tmpfs run: {problem}");
    }
    for input in &inputs {
        eprintln!(
            "bench: {}: {} page(s), {}",
            input.label,
            input.pages,
            megabytes(input.bytes)
        );
    }

    eprintln!("bench: openssl speed (-seconds {OPENSSL_SECONDS}, one core)…");
    let openssl = openssl_speed();
    for problem in &openssl.problems {
        eprintln!("bench: {problem}");
    }

    let trust_dir = repository().join("certs/test-pki");
    let trust = TrustStore::load(std::slice::from_ref(&trust_dir))
        .map_err(|e| BenchError::Failed(format!("trust store {}: {e}", trust_dir.display())))?;
    let options = SignOptions {
        offline: true,
        ..SignOptions::default()
    };
    let plan = Plan {
        iterations: args.iterations,
        seconds: args.seconds,
        ticks_per_second: super::CpuClock::new()?.ticks_per_second,
    };

    let mut key_operations = Vec::new();
    let mut breakdowns = Vec::new();
    let mut rows = Vec::new();
    let mut peak_rss = Err("not measured".to_owned());
    let document = DocumentOptions::default();
    for key in Key::ALL {
        let signer = SoftwareKey::from_pkcs12_file(&key.p12(), PASSWORD)
            .map_err(|e| pades_error(&format!("loading {}", key.p12().display()), &e))?;
        let operation = key_operation_rate(&signer, &plan)?;
        eprintln!(
            "bench: {}: sign_digest alone {}",
            key.label(),
            operation.one_line()
        );
        let validation = validate_path_rate(&signer, &trust, &plan)?;
        eprintln!(
            "bench: {}: validate_path alone {}",
            key.label(),
            validation.one_line()
        );
        let session_new = session_new_rate(&signer, &trust, &options, &plan)?;
        eprintln!(
            "bench: {}: SigningSession::new alone {}",
            key.label(),
            session_new.one_line()
        );
        key_operations.push(KeyOperation {
            key,
            hoso_sign_digest: operation,
            validate_path: validation,
            session_new,
            openssl_sign_per_s: openssl.sign_per_s(key),
        });
        if let Some(one_page) = inputs.iter().find(|input| input.small) {
            let bytes = fs::read(&one_page.path)
                .context(|| format!("cannot read {}", one_page.path.display()))?;
            let breakdown = breakdown_rates(key, &signer, &bytes, &plan)?;
            eprintln!(
                "bench: {}: 1 page parse {:.3} ms, CMS sign {:.3} ms, verify {:.3} ms \
                 (X509::from_der {:.3} ms), to_der {:.3} ms",
                key.label(),
                1000.0 / breakdown.pdf_revision_from_bytes.per_s,
                1000.0 / breakdown.cms_sign.per_s,
                1000.0 / breakdown.cms_verify_signature.per_s,
                1000.0 / breakdown.openssl_x509_from_der.per_s,
                1000.0 / breakdown.cms_to_der.per_s,
            );
            breakdowns.push(breakdown);
        }
        let session = SigningSession::new(&signer, &trust, &options, OffsetDateTime::now_utc())
            .map_err(|e| pades_error("SigningSession::new", &e))?;
        for input in &inputs {
            let keep_as = |engine: &str| {
                args.keep
                    .then(|| kept.join(format!("{}-{:?}-{engine}.pdf", input.name, key)))
            };
            let mut row = Row {
                input: input.name,
                key,
                hoso: None,
                hoso_file: None,
                hoso_file_tmpfs: None,
                hoso_sign_file: None,
                hoso_output_bytes: None,
                pyhanko: None,
                openssl_sign_per_s: openssl.sign_per_s(key),
                hoso_vs_pyhanko: None,
                hoso_vs_pyhanko_wall: None,
                hoso_vs_openssl: None,
                hoso_mb_per_s: None,
                hoso_cpu_mb_per_s: None,
                hoso_file_mb_per_s: None,
                hoso_file_tmpfs_mb_per_s: None,
                pyhanko_mb_per_s: None,
                errors: Vec::new(),
            };
            let bytes = fs::read(&input.path)
                .context(|| format!("cannot read {}", input.path.display()))?;
            let hoso = HosoRun {
                signer: &signer,
                trust: &trust,
                options: &options,
                session: &session,
                document: &document,
                work: work.path(),
            };
            let mut cells = vec![
                (Mode::Memory, input.path.clone(), hoso, keep_as("hoso")),
                (Mode::File, input.path.clone(), hoso, None),
            ];
            if let (Ok(dir), Some(path)) = (&tmpfs, &input.tmpfs_path) {
                let on_tmpfs = HosoRun {
                    work: dir.path(),
                    ..hoso
                };
                cells.push((Mode::FileOnTmpfs, path.clone(), on_tmpfs, None));
            }
            cells.push((Mode::SignFile, input.path.clone(), hoso, None));
            for (mode, path, run, keep) in cells {
                match run.rate(mode, &path, &bytes, input.name, &plan, keep.as_deref()) {
                    Ok((rate, size)) => {
                        eprintln!(
                            "bench: {} / {} / hoso {}: {}",
                            input.label,
                            key.label(),
                            mode.label(),
                            rate.one_line()
                        );
                        match mode {
                            Mode::Memory => {
                                row.hoso = Some(rate);
                                row.hoso_output_bytes = Some(size);
                            }
                            Mode::File => row.hoso_file = Some(rate),
                            Mode::FileOnTmpfs => row.hoso_file_tmpfs = Some(rate),
                            Mode::SignFile => row.hoso_sign_file = Some(rate),
                        }
                    }
                    Err(error) => {
                        eprintln!(
                            "bench: {} / {} / hoso {}: {error}",
                            input.label,
                            key.label(),
                            mode.label()
                        );
                        row.errors.push(format!("hoso {}: {error}", mode.label()));
                    }
                }
            }
            drop(bytes);
            let keep = keep_as("pyhanko");
            match run_pyhanko(&python, &script, input, key, &plan, keep.as_deref()) {
                Ok(run) => {
                    eprintln!(
                        "bench: {} / {} / pyHanko: {:.2} sig/s ({} in {:.2} s)",
                        input.label,
                        key.label(),
                        run.sig_per_s,
                        run.iterations,
                        run.seconds
                    );
                    row.pyhanko = Some(run);
                }
                Err(error) => {
                    eprintln!(
                        "bench: {} / {} / pyHanko: {error}",
                        input.label,
                        key.label()
                    );
                    row.errors.push(format!("pyHanko: {error}"));
                }
            }
            row.compare(input);
            rows.push(row);
        }
        // The peak memory of one `sign_file` of the largest input, with the RSA key.
        if key == Key::Rsa2048
            && let Some(scan) = inputs.iter().find(|input| !input.small)
        {
            let hoso = HosoRun {
                signer: &signer,
                trust: &trust,
                options: &options,
                session: &session,
                document: &document,
                work: work.path(),
            };
            peak_rss = measure_peak_rss(|| {
                hoso.sign_once(Mode::SignFile, &scan.path, &[], scan.name, 0, None)
                    .map(drop)
            })
            .map(|(before, peak)| PeakRss {
                what: format!(
                    "{} ({}), {}",
                    scan.label,
                    megabytes(scan.bytes),
                    key.label()
                ),
                rss_before_kib: before,
                peak_kib: peak,
                method: "VmHWM of /proc/self/status, reset by writing 5 to \
                         /proc/self/clear_refs just before one sign_file",
            });
            match &peak_rss {
                Ok(peak) => eprintln!(
                    "bench: peak RSS signing {}: {} (RSS before {})",
                    peak.what,
                    mebibytes(peak.peak_kib),
                    mebibytes(peak.rss_before_kib)
                ),
                Err(problem) => eprintln!("bench: peak RSS not measured: {problem}"),
            }
        }
    }

    let total_wall_s = started.elapsed().as_secs_f64();
    let report = Report {
        inputs: &inputs,
        openssl: &openssl,
        key_operations: &key_operations,
        breakdowns: &breakdowns,
        rows: &rows,
        peak_rss: peak_rss.as_ref(),
        plan: &plan,
        anchors: trust.anchors().len(),
        load_at_start,
        out: &args.out,
        total_wall_s,
    };
    print!("{}", report.render());

    let summary = Summary {
        date: today(),
        cores: cores(),
        load_average_at_start: load_at_start,
        iterations_at_least: plan.iterations,
        seconds_at_least: plan.seconds,
        work_dir_filesystem: &args.out,
        inputs: &inputs,
        openssl: &openssl,
        key_operations: &key_operations,
        breakdowns: &breakdowns,
        rows: &rows,
        peak_rss: peak_rss.as_ref().ok(),
        peak_rss_problem: peak_rss.as_ref().err().map(String::as_str),
        total_wall_s,
    };
    let path = args.out.join("bench.json");
    let json = serde_json::to_string_pretty(&summary).context(|| "cannot encode JSON".into())?;
    fs::write(&path, json + "\n").context(|| format!("cannot write {}", path.display()))?;
    eprintln!("bench: wrote {}", path.display());
    drop(work);
    drop(tmpfs);
    if rows.iter().any(|row| !row.errors.is_empty()) {
        return Err(BenchError::Failed(
            "some measurements failed (see the report)".to_owned(),
        ));
    }
    Ok(())
}

impl Row {
    fn compare(&mut self, input: &Input) {
        let hoso = self.hoso.map(|rate| rate.per_s);
        let hoso_cpu = self.hoso.and_then(|rate| rate.cpu_per_s);
        let pyhanko = self.pyhanko.as_ref().map(|run| run.sig_per_s);
        let pyhanko_cpu = self.pyhanko.as_ref().map(|run| run.cpu_sig_per_s);
        self.hoso_vs_pyhanko = hoso_cpu.zip(pyhanko_cpu).map(|(h, p)| h / p);
        self.hoso_vs_pyhanko_wall = hoso.zip(pyhanko).map(|(h, p)| h / p);
        self.hoso_vs_openssl = hoso_cpu.zip(self.openssl_sign_per_s).map(|(h, o)| h / o);
        let mb = input.bytes as f64 / 1e6;
        self.hoso_mb_per_s = hoso.map(|rate| rate * mb);
        self.hoso_cpu_mb_per_s = hoso_cpu.map(|rate| rate * mb);
        self.hoso_file_mb_per_s = self.hoso_file.map(|rate| rate.per_s * mb);
        self.hoso_file_tmpfs_mb_per_s = self.hoso_file_tmpfs.map(|rate| rate.per_s * mb);
        self.pyhanko_mb_per_s = pyhanko.map(|rate| rate * mb);
    }
}

/// The venv's python, if it imports pyHanko; otherwise the benchmark is skipped (exit 1).
fn find_pyhanko(venv: &Path) -> Result<PathBuf> {
    let python = venv.join("bin/python");
    let skip = |why: String| {
        BenchError::Failed(format!(
            "SKIPPED: {why}; the signing benchmark needs pyHanko (run scripts/peers-venv)"
        ))
    };
    if !python.is_file() {
        return Err(skip(format!("no Python at {}", python.display())));
    }
    let probe = Command::new(&python)
        .args(["-c", "import pyhanko.sign"])
        .stdin(std::process::Stdio::null())
        .output()
        .context(|| format!("cannot start {}", python.display()))?;
    if !probe.status.success() {
        return Err(skip(format!("{} cannot import pyhanko", python.display())));
    }
    Ok(python)
}

// ---------------------------------------------------------------------------------------------
// Inputs

fn generate_inputs(dir: &Path) -> Result<Vec<Input>> {
    let sample = repository().join("samples/cong-van.pdf");
    let one_page = dir.join("1-page.pdf");
    fs::copy(&sample, &one_page).context(|| format!("cannot copy {}", sample.display()))?;
    let sample_pages = Document::load(&one_page)
        .map_err(|e| BenchError::Failed(format!("{}: {e}", sample.display())))?
        .get_pages()
        .len();

    let text = dir.join("100-pages.pdf");
    save(text_pdf(TEXT_PAGES), &text)?;

    let scan = dir.join("scan-40mb.pdf");
    save(scan_pdf(SCAN_PAGES)?, &scan)?;

    let size = |path: &Path| -> Result<u64> {
        Ok(fs::metadata(path)
            .context(|| format!("cannot read {}", path.display()))?
            .len())
    };
    Ok(vec![
        Input {
            name: "1-page",
            label: "1 page",
            bytes: size(&one_page)?,
            path: one_page,
            tmpfs_path: None,
            pages: sample_pages,
            small: true,
        },
        Input {
            name: "100-pages",
            label: "100 pages",
            bytes: size(&text)?,
            path: text,
            tmpfs_path: None,
            pages: TEXT_PAGES,
            small: true,
        },
        Input {
            name: "scan-40mb",
            label: "40 MB scan",
            bytes: size(&scan)?,
            path: scan,
            tmpfs_path: None,
            pages: SCAN_PAGES,
            small: false,
        },
    ])
}

fn keep_inputs(inputs: &[Input], dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).context(|| format!("cannot create {}", dir.display()))?;
    for input in inputs {
        let path = dir.join(format!("{}.pdf", input.name));
        fs::copy(&input.path, &path).context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Measuring

/// When a timed loop may stop: after at least `iterations` and at least `seconds`.
#[derive(Debug, Clone, Copy)]
struct Plan {
    iterations: u32,
    seconds: f64,
    /// `getconf CLK_TCK`, to read this thread's CPU time from `/proc/thread-self/stat`.
    ticks_per_second: f64,
}

impl Plan {
    /// User + system CPU seconds of the calling thread (fields 14 and 15 of
    /// `/proc/thread-self/stat`).
    fn thread_cpu_seconds(&self) -> Result<f64> {
        let stat = fs::read_to_string("/proc/thread-self/stat")
            .context(|| "cannot read /proc/thread-self/stat".into())?;
        // Field 2 (the command name) is in parentheses and may hold spaces: count from after it.
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let field = |number: usize| -> Result<f64> {
            fields
                .get(number - 3)
                .and_then(|value| value.parse::<u64>().ok())
                .map(|ticks| ticks as f64)
                .ok_or_else(|| {
                    BenchError::Failed(format!("unexpected /proc/thread-self/stat: {stat}"))
                })
        };
        Ok((field(14)? + field(15)?) / self.ticks_per_second)
    }
}

/// One untimed warm-up call of `once(0)`, then `once(1)`, `once(2)`, … until the plan is met.
/// `once` returns the time its own measured part took.
/// The thread's CPU time over the whole loop (after the warm-up) is recorded too: the robust
/// figure on a shared machine, and what `openssl speed` divides by (user CPU time).
fn timed_loop(plan: &Plan, mut once: impl FnMut(u32) -> Result<Duration>) -> Result<Rate> {
    once(0)?;
    let cpu_before = plan.thread_cpu_seconds()?;
    let started = Instant::now();
    let mut iterations = 0;
    let mut timed = Duration::ZERO;
    while iterations < plan.iterations || started.elapsed().as_secs_f64() < plan.seconds {
        iterations += 1;
        timed += once(iterations)?;
    }
    let cpu_seconds = plan.thread_cpu_seconds()? - cpu_before;
    let seconds = timed.as_secs_f64();
    Ok(Rate {
        iterations,
        seconds,
        per_s: f64::from(iterations) / seconds,
        cpu_seconds,
        cpu_per_s: (cpu_seconds > 0.0).then(|| f64::from(iterations) / cpu_seconds),
    })
}

fn key_operation_rate(signer: &SoftwareKey, plan: &Plan) -> Result<Rate> {
    let scheme = default_scheme(signer.kind(), false);
    let digest = [0x5a_u8; 32];
    timed_loop(plan, |_| {
        let started = Instant::now();
        signer
            .sign_digest(scheme, DigestAlgorithm::Sha256, &digest)
            .map_err(|e| pades_error("sign_digest", &e))?;
        Ok(started.elapsed())
    })
}

/// `TrustStore::validate_path` of the signer's certificate, as `sign_file` does it offline.
fn validate_path_rate(signer: &SoftwareKey, trust: &TrustStore, plan: &Plan) -> Result<Rate> {
    let now = OffsetDateTime::now_utc();
    timed_loop(plan, |_| {
        let started = Instant::now();
        trust
            .validate_path(signer.certificate(), signer.chain(), now)
            .map_err(|e| BenchError::Failed(format!("validate_path: {e}")))?;
        Ok(started.elapsed())
    })
}

/// `SigningSession::new` for the signer (offline): the per-key work of every one-document
/// `sign_file`, done once per batch by a session.
fn session_new_rate(
    signer: &SoftwareKey,
    trust: &TrustStore,
    options: &SignOptions,
    plan: &Plan,
) -> Result<Rate> {
    timed_loop(plan, |_| {
        let now = OffsetDateTime::now_utc();
        let started = Instant::now();
        SigningSession::new(signer, trust, options, now)
            .map_err(|e| pades_error("SigningSession::new", &e))?;
        Ok(started.elapsed())
    })
}

/// The steps of one in-memory signature of `one_page`, each timed alone (see [`Breakdown`]).
fn breakdown_rates(
    key: Key,
    signer: &SoftwareKey,
    one_page: &[u8],
    plan: &Plan,
) -> Result<Breakdown> {
    let failed = |what: &str, e: &PadesError| pades_error(what, e);
    let digest = [0x5a_u8; 32];
    let request = CmsRequest {
        signer,
        scheme: default_scheme(signer.kind(), false),
        digest_algorithm: DigestAlgorithm::Sha256,
        content_digest: &digest,
        extra_certificates: &[],
    };
    let cms = SignedCms::sign(&request).map_err(|e| failed("SignedCms::sign", &e))?;
    let certificate = signer.certificate();
    let timed = |mut step: Box<dyn FnMut() -> Result<()> + '_>| {
        timed_loop(plan, |_| {
            let started = Instant::now();
            step()?;
            Ok(started.elapsed())
        })
    };
    Ok(Breakdown {
        key,
        pdf_revision_from_bytes: timed(Box::new(|| {
            PdfRevision::from_bytes(one_page)
                .map(drop)
                .map_err(|e| BenchError::Failed(format!("PdfRevision::from_bytes: {e}")))
        }))?,
        cms_sign: timed(Box::new(|| {
            SignedCms::sign(&request)
                .map(drop)
                .map_err(|e| failed("SignedCms::sign", &e))
        }))?,
        cms_verify_signature: timed(Box::new(|| {
            cms.verify_signature(certificate)
                .map_err(|e| failed("SignedCms::verify_signature", &e))
        }))?,
        openssl_x509_from_der: timed(Box::new(|| {
            openssl::x509::X509::from_der(certificate)
                .map(drop)
                .map_err(|e| BenchError::Failed(format!("X509::from_der: {e}")))
        }))?,
        cms_to_der: timed(Box::new(|| {
            cms.to_der()
                .map(drop)
                .map_err(|e| failed("SignedCms::to_der", &e))
        }))?,
    })
}

/// Copies the inputs to a new folder on `/dev/shm` (removed when dropped) for the tmpfs run.
fn copy_to_tmpfs(inputs: &mut [Input]) -> std::result::Result<tempfile::TempDir, String> {
    let shm = Path::new("/dev/shm");
    if !shm.is_dir() {
        return Err("no /dev/shm".to_owned());
    }
    let dir = tempfile::Builder::new()
        .prefix("hoso-bench-sign-")
        .tempdir_in(shm)
        .map_err(|e| format!("cannot create a folder in /dev/shm: {e}"))?;
    for input in inputs.iter_mut() {
        let path = dir.path().join(format!("{}.pdf", input.name));
        fs::copy(&input.path, &path)
            .map_err(|e| format!("cannot copy {} to /dev/shm: {e}", input.name))?;
        input.tmpfs_path = Some(path);
    }
    Ok(dir)
}

/// How hoso signs in a timed loop.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// `SigningSession::sign_bytes`: input and output in memory.
    Memory,
    /// `SigningSession::sign_file`: a new durable file per signature.
    File,
    /// The same on a tmpfs.
    FileOnTmpfs,
    /// The one-document `sign_file`: a new session per signature, then a durable file.
    SignFile,
}

impl Mode {
    fn label(self) -> &'static str {
        match self {
            Mode::Memory => "in memory",
            Mode::File => "to file",
            Mode::FileOnTmpfs => "to file on tmpfs",
            Mode::SignFile => "sign_file",
        }
    }
}

/// hoso signing in this process.
#[derive(Clone, Copy)]
struct HosoRun<'a> {
    signer: &'a SoftwareKey,
    trust: &'a TrustStore,
    options: &'a SignOptions,
    session: &'a SigningSession<'a>,
    document: &'a DocumentOptions,
    /// Where outputs go.
    work: &'a Path,
}

impl HosoRun<'_> {
    /// Signatures per second of `input` (its `bytes` for [`Mode::Memory`]), and the size of
    /// a signed output.
    fn rate(
        &self,
        mode: Mode,
        input: &Path,
        bytes: &[u8],
        name: &str,
        plan: &Plan,
        keep: Option<&Path>,
    ) -> Result<(Rate, u64)> {
        let mut size = 0;
        let rate = timed_loop(plan, |iteration| {
            let (elapsed, output_bytes) =
                self.sign_once(mode, input, bytes, name, iteration, keep)?;
            size = output_bytes;
            Ok(elapsed)
        })?;
        Ok((rate, size))
    }

    /// One signature; a file output is deleted after (the warm-up's kept when asked). Returns
    /// the time the signature took (in memory: dropping the output included) and the
    /// output's size.
    fn sign_once(
        &self,
        mode: Mode,
        input: &Path,
        bytes: &[u8],
        name: &str,
        iteration: u32,
        keep: Option<&Path>,
    ) -> Result<(Duration, u64)> {
        let now = OffsetDateTime::now_utc();
        if let Mode::Memory = mode {
            let started = Instant::now();
            let signed = self
                .session
                .sign_bytes(bytes, self.document, now)
                .map_err(|e| pades_error(&format!("sign_bytes {name}"), &e))?;
            let size = signed.outcome.size;
            if let Some(path) = keep.filter(|_| iteration == 0) {
                fs::write(path, &signed.bytes)
                    .context(|| format!("cannot write {}", path.display()))?;
                return Ok((started.elapsed(), size));
            }
            drop(signed);
            return Ok((started.elapsed(), size));
        }
        let output = self.work.join(format!("{name}-hoso-{iteration}.pdf"));
        let started = Instant::now();
        let outcome = match mode {
            Mode::SignFile => sign_file(input, &output, self.signer, self.trust, self.options, now),
            _ => self.session.sign_file(input, &output, self.document, now),
        }
        .map_err(|e| pades_error(&format!("{} {}", mode.label(), input.display()), &e))?;
        let elapsed = started.elapsed();
        match keep {
            Some(path) if iteration == 0 => fs::rename(&output, path)
                .context(|| format!("cannot move the output to {}", path.display()))?,
            _ => fs::remove_file(&output)
                .context(|| format!("cannot delete {}", output.display()))?,
        }
        Ok((elapsed, outcome.size))
    }
}

fn run_pyhanko(
    python: &Path,
    script: &Path,
    input: &Input,
    key: Key,
    plan: &Plan,
    keep: Option<&Path>,
) -> Result<PyHankoRun> {
    let mut command = Command::new(python);
    command
        .arg(script)
        .arg("--input")
        .arg(&input.path)
        .arg("--p12")
        .arg(key.p12())
        .args(["--password", PASSWORD])
        .args(["--iterations", &plan.iterations.to_string()])
        .args(["--seconds", &plan.seconds.to_string()]);
    if let Some(path) = keep {
        command.arg("--keep").arg(path);
    }
    let output = run_checked(&mut command, "pyhanko_bench.py")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout
        .lines()
        .rfind(|line| !line.trim().is_empty())
        .unwrap_or("");
    serde_json::from_str(last).context(|| format!("pyhanko_bench.py printed {last:?}"))
}

/// `openssl speed` for both keys and SHA-256; what fails is reported, not fatal.
fn openssl_speed() -> OpensslSpeed {
    let mut speed = OpensslSpeed::default();
    let run = |args: &[&str]| -> std::result::Result<String, String> {
        let mut command = Command::new("openssl");
        command.args(args);
        run_checked(&mut command, &format!("openssl {}", args.join(" ")))
            .map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
            .map_err(|e| e.to_string())
    };
    match run(&["version"]) {
        Ok(text) => speed.version = Some(text.trim().to_owned()),
        Err(problem) => {
            speed
                .problems
                .push(format!("openssl not usable: {problem}"));
            return speed;
        }
    }
    for key in Key::ALL {
        let (algorithm, marker) = key.openssl();
        let rate = run(&["speed", "-seconds", OPENSSL_SECONDS, algorithm]).and_then(|text| {
            parse_sign_rate(&text, marker)
                .ok_or_else(|| format!("no `{marker}` line in openssl speed's output:\n{text}"))
        });
        match rate {
            Ok(rate) => match key {
                Key::Rsa2048 => speed.rsa2048_sign_per_s = Some(rate),
                Key::EcdsaP256 => speed.ecdsap256_sign_per_s = Some(rate),
            },
            Err(problem) => speed.problems.push(problem),
        }
    }
    let sha = run(&[
        "speed",
        "-seconds",
        OPENSSL_SECONDS,
        "-bytes",
        OPENSSL_SHA256_BLOCK,
        "-evp",
        "sha256",
    ])
    .and_then(|text| {
        parse_digest_rate(&text)
            .ok_or_else(|| format!("no sha256 line in openssl speed's output:\n{text}"))
    });
    match sha {
        Ok(rate) => speed.sha256_bytes_per_s = Some(rate),
        Err(problem) => speed.problems.push(problem),
    }
    speed
}

/// sign/s from `openssl speed rsa2048|ecdsap256`: the line holding `marker` ends with
/// `sign/s verify/s`, e.g. `rsa 2048 bits 0.000289s 0.000018s   3463.0  54401.0`.
fn parse_sign_rate(text: &str, marker: &str) -> Option<f64> {
    let line = text.lines().find(|line| line.contains(marker))?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    fields.get(fields.len().checked_sub(2)?)?.parse().ok()
}

/// Bytes/s from `openssl speed -evp sha256 -bytes N`: `sha256   1759000.00k` (1000s of bytes).
fn parse_digest_rate(text: &str) -> Option<f64> {
    let line = text
        .lines()
        .find(|line| line.trim_start().starts_with("sha256"))?;
    let last = line.split_whitespace().last()?;
    let thousands: f64 = last.strip_suffix('k')?.parse().ok()?;
    Some(thousands * 1000.0)
}

/// Runs `work` with the peak RSS reset first; returns (RSS before, peak RSS) in KiB.
fn measure_peak_rss(work: impl FnOnce() -> Result<()>) -> std::result::Result<(u64, u64), String> {
    fs::write("/proc/self/clear_refs", "5")
        .map_err(|e| format!("cannot reset the peak RSS (/proc/self/clear_refs): {e}"))?;
    let before = status_kib("VmRSS")?;
    work().map_err(|e| e.to_string())?;
    Ok((before, status_kib("VmHWM")?))
}

fn pades_error(what: &str, error: &PadesError) -> BenchError {
    BenchError::Failed(format!("{what}: [{}] {error}", error.code()))
}

// ---------------------------------------------------------------------------------------------
// The Markdown report

struct Report<'a> {
    inputs: &'a [Input],
    openssl: &'a OpensslSpeed,
    key_operations: &'a [KeyOperation],
    breakdowns: &'a [Breakdown],
    rows: &'a [Row],
    peak_rss: std::result::Result<&'a PeakRss, &'a String>,
    plan: &'a Plan,
    anchors: usize,
    load_at_start: Option<f64>,
    out: &'a Path,
    total_wall_s: f64,
}

impl Report<'_> {
    fn render(&self) -> String {
        let mut out = String::from("## Signing benchmark\n\n");
        out.push_str(&self.setup());
        out.push_str(&self.main_table());
        out.push_str(&self.scan_table());
        out.push_str(&self.parts_table());
        out.push_str(&self.breakdown_table());
        out.push_str(&self.notes());
        let _ = writeln!(out, "\nWhole run: {:.0} s.", self.total_wall_s);
        out
    }

    fn input(&self, name: &str) -> Option<&Input> {
        self.inputs.iter().find(|input| input.name == name)
    }

    fn setup(&self) -> String {
        let pyhanko = self
            .rows
            .iter()
            .find_map(|row| row.pyhanko.as_ref())
            .map_or("pyHanko", |run| run.pyhanko.as_str());
        let mut out = format!(
            "PAdES B-B, invisible field, SHA-256, offline, trust store `certs/test-pki` ({} \
             anchors). **hoso in memory**: the key loaded and one `SigningSession` made once \
             per key, then `SigningSession::sign_bytes` on the input's bytes, output to a \
             `Vec` (the ratios use this column). **to file**: `SigningSession::sign_file`, \
             every signature a new durable file (fsync of file and folder) in a temporary \
             folder in `{}`, deleted after; *on tmpfs*: the same on `/dev/shm`, where fsync \
             costs nothing. **sign_file**: the one-document entry point (`hoso sign`), a new \
             session per signature, durable file in `{}`. **pyHanko {pyhanko}** in-process: \
             key loaded once, input in memory, output to a `BytesIO`. **openssl**: `openssl \
             speed -seconds {OPENSSL_SECONDS}` ({}), one core. One warm-up, then ≥ {} \
             signatures and ≥ {} s per cell",
            self.anchors,
            self.out.display(),
            self.out.display(),
            self.openssl
                .version
                .as_deref()
                .map_or("not available", |v| v.split(" (").next().unwrap_or(v)),
            self.plan.iterations,
            self.plan.seconds
        );
        if let Some(cores) = cores() {
            let _ = write!(out, "; {cores} cores");
        }
        if let Some(load) = self.load_at_start {
            let _ = write!(out, ", load average {load:.2} at start");
        }
        let _ = write!(out, "; {}.", today());
        out.push_str("\n\nInputs: ");
        let described: Vec<String> = self
            .inputs
            .iter()
            .map(|input| {
                format!(
                    "{} ({} page(s), {})",
                    input.label,
                    input.pages,
                    megabytes(input.bytes)
                )
            })
            .collect();
        out.push_str(&described.join(", "));
        out.push_str(".\n\n");
        out
    }

    fn main_table(&self) -> String {
        let mut out = format!(
            "Signatures per second as *wall / CPU*: wall time of the timed calls, and the \
             thread's (pyHanko: the process's) CPU time over the loop, the robust figure on a \
             shared machine and what `openssl speed` divides by. Ratios use CPU time.\n\n\
             | input | key | hoso in memory sig/s | to file sig/s | to file on tmpfs | \
             sign_file sig/s | pyHanko sig/s | hoso ÷ pyHanko (≥ {TARGET_VS_PYHANKO}) | openssl \
             sign/s | hoso ÷ openssl (≥ {TARGET_VS_OPENSSL}, small) |\n\
             |---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        );
        for row in self.rows {
            let small = self.input(row.input).is_some_and(|input| input.small);
            let versus_openssl = if small {
                verdict(row.hoso_vs_openssl, |r| r >= TARGET_VS_OPENSSL)
            } else {
                row.hoso_vs_openssl
                    .map_or("—".into(), |r| format!("{r:.4} (SHA-256-bound)"))
            };
            let wall_cpu = |rate: Option<Rate>| {
                format!(
                    "{} / {}",
                    self::rate(rate.map(|r| r.per_s)),
                    self::rate(rate.and_then(|r| r.cpu_per_s))
                )
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} / {} | {} | {} | {} |",
                self.input(row.input).map_or(row.input, |input| input.label),
                row.key.label(),
                wall_cpu(row.hoso),
                rate(row.hoso_file.map(|r| r.per_s)),
                rate(row.hoso_file_tmpfs.map(|r| r.per_s)),
                rate(row.hoso_sign_file.map(|r| r.per_s)),
                rate(row.pyhanko.as_ref().map(|run| run.sig_per_s)),
                rate(row.pyhanko.as_ref().map(|run| run.cpu_sig_per_s)),
                verdict(row.hoso_vs_pyhanko, |r| r >= TARGET_VS_PYHANKO),
                rate(row.openssl_sign_per_s),
                versus_openssl,
            );
        }
        out.push_str(
            "\n(File columns: wall time only, since waiting for the disk is not CPU time.)\n",
        );
        out
    }

    fn scan_table(&self) -> String {
        let sha = self.openssl.sha256_bytes_per_s.map(|b| b / 1e6);
        let mut out = format!(
            "\nLarge input, input bytes signed per second (MB = 10⁶ bytes, wall / CPU for hoso \
             in memory and pyHanko), against `openssl speed -evp sha256` \
             ({OPENSSL_SHA256_BLOCK}-byte blocks, user CPU time):\n\n\
             | input | key | hoso in memory MB/s | to file MB/s | to file on tmpfs MB/s | \
             pyHanko MB/s | openssl SHA-256 MB/s | in memory (CPU) ÷ SHA-256 | to file on \
             tmpfs ÷ SHA-256 |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n"
        );
        for row in self.rows {
            let Some(input) = self.input(row.input).filter(|input| !input.small) else {
                continue;
            };
            let mb = input.bytes as f64 / 1e6;
            let pyhanko_cpu = row.pyhanko.as_ref().map(|run| run.cpu_sig_per_s * mb);
            let _ = writeln!(
                out,
                "| {} | {} | {} / {} | {} | {} | {} / {} | {} | {} | {} |",
                input.label,
                row.key.label(),
                number(row.hoso_mb_per_s, 0),
                number(row.hoso_cpu_mb_per_s, 0),
                number(row.hoso_file_mb_per_s, 0),
                number(row.hoso_file_tmpfs_mb_per_s, 0),
                number(row.pyhanko_mb_per_s, 0),
                number(pyhanko_cpu, 0),
                number(sha, 0),
                number(row.hoso_cpu_mb_per_s.zip(sha).map(|(h, s)| h / s), 2),
                number(row.hoso_file_tmpfs_mb_per_s.zip(sha).map(|(h, s)| h / s), 2),
            );
        }
        out
    }

    /// Where a small document's signature goes: milliseconds of each part alone.
    fn parts_table(&self) -> String {
        let mut out = String::from(
            "\nWhere the time of a small signature goes (milliseconds per call: CPU time for \
             the in-memory signature and the parts timed alone, wall time for the file \
             columns; `SigningSession::new` is the per-key work, which includes \
             `validate_path`, the signer's path validation against the trust store):\n\n\
             | key | in memory, 1 page | to file, 1 page | to file on tmpfs | sign_file, 1 page \
             | SigningSession::new | TrustStore::validate_path | KeySigner::sign_digest | \
             openssl speed sign |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        let one_page = self
            .inputs
            .iter()
            .find(|input| input.small)
            .map(|input| input.name);
        for operation in self.key_operations {
            let row = self
                .rows
                .iter()
                .find(|row| Some(row.input) == one_page && row.key == operation.key);
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                operation.key.label(),
                milliseconds(row.and_then(|row| row.hoso.and_then(|r| r.cpu_per_s))),
                milliseconds(row.and_then(|row| row.hoso_file.map(|r| r.per_s))),
                milliseconds(row.and_then(|row| row.hoso_file_tmpfs.map(|r| r.per_s))),
                milliseconds(row.and_then(|row| row.hoso_sign_file.map(|r| r.per_s))),
                milliseconds(operation.session_new.cpu_per_s),
                milliseconds(operation.validate_path.cpu_per_s),
                milliseconds(operation.hoso_sign_digest.cpu_per_s),
                milliseconds(operation.openssl_sign_per_s),
            );
        }
        out
    }

    /// The steps of one in-memory signature of the 1-page input.
    fn breakdown_table(&self) -> String {
        let mut out = String::from(
            "\nInside one in-memory signature of the 1-page input (CPU milliseconds per call, \
             each step timed alone; `SignedCms::sign` includes the key operation, \
             `verify_signature` includes OpenSSL parsing the signer's certificate, \
             `X509::from_der`):\n\n\
             | key | sign_bytes, 1 page | PdfRevision::from_bytes | SignedCms::sign | \
             KeySigner::sign_digest | SignedCms::verify_signature | X509::from_der | \
             SignedCms::to_der |\n|---|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        let one_page = self
            .inputs
            .iter()
            .find(|input| input.small)
            .map(|input| input.name);
        for breakdown in self.breakdowns {
            let row = self
                .rows
                .iter()
                .find(|row| Some(row.input) == one_page && row.key == breakdown.key);
            let operation = self
                .key_operations
                .iter()
                .find(|operation| operation.key == breakdown.key);
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                breakdown.key.label(),
                milliseconds(row.and_then(|row| row.hoso.and_then(|r| r.cpu_per_s))),
                milliseconds(breakdown.pdf_revision_from_bytes.cpu_per_s),
                milliseconds(breakdown.cms_sign.cpu_per_s),
                milliseconds(operation.and_then(|o| o.hoso_sign_digest.cpu_per_s)),
                milliseconds(breakdown.cms_verify_signature.cpu_per_s),
                milliseconds(breakdown.openssl_x509_from_der.cpu_per_s),
                milliseconds(breakdown.cms_to_der.cpu_per_s),
            );
        }
        out
    }

    fn notes(&self) -> String {
        let mut out = String::from("\nNotes:\n\n");
        match self.peak_rss {
            Ok(peak) => {
                let _ = writeln!(
                    out,
                    "- Peak RSS of the hoso (bench) process signing the {}: **{}** (RSS just \
                     before: {}; {}).",
                    peak.what,
                    mebibytes(peak.peak_kib),
                    mebibytes(peak.rss_before_kib),
                    peak.method
                );
            }
            Err(problem) => {
                let _ = writeln!(out, "- Peak RSS not measured: {problem}.");
            }
        }
        let scan_rss: Vec<String> = self
            .rows
            .iter()
            .filter(|row| self.input(row.input).is_some_and(|input| !input.small))
            .filter_map(|row| {
                let run = row.pyhanko.as_ref()?;
                Some(format!(
                    "{}: {}",
                    row.key.label(),
                    mebibytes(run.max_rss_kib)
                ))
            })
            .collect();
        if !scan_rss.is_empty() {
            let _ = writeln!(
                out,
                "- pyHanko's whole-process peak RSS (ru_maxrss) in its runs on the large input: \
                 {}.",
                scan_rss.join(", ")
            );
        }
        out.push_str(
            "- A hoso signature parses the input's structure (not its stream data), copies its \
             bytes once while hashing them (the byte-range digest and the output's SHA-256 \
             share the pass), builds the update in memory, finishes both digests from there, \
             signs and patches `/Contents`; to a file, it then writes the update and fsyncs the \
             file and its folder before the rename. pyHanko's loop writes to memory only and is \
             not durable. The one-document `sign_file` also does the per-key work \
             (`SigningSession::new`) every time.\n",
        );
        out.push_str(
            "- pyHanko's RSA figures include its known cost: `SimpleSigner` re-loads the \
             private key on every raw signature (OpenSSL 3's RSA key check, ~68 ms) and signs \
             twice per document (../shared/docs/signatures.md §4.6, which suggests comparing \
             ECDSA or subtracting ≈135 ms/document). Reported as measured.\n",
        );
        for problem in &self.openssl.problems {
            let _ = writeln!(out, "- openssl: {}", problem.replace('\n', " "));
        }
        for row in self.rows {
            for error in &row.errors {
                let _ = writeln!(
                    out,
                    "- **failed** {} / {}: {}",
                    row.input,
                    row.key.label(),
                    error.replace('\n', " ")
                );
            }
        }
        out
    }
}

fn verdict(ratio: Option<f64>, meets: impl Fn(f64) -> bool) -> String {
    match ratio {
        Some(r) if meets(r) => format!("{} ✓", ratio_text(r)),
        Some(r) => format!("{} ✗", ratio_text(r)),
        None => "—".into(),
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

/// Milliseconds per call of a rate in calls per second.
fn milliseconds(per_s: Option<f64>) -> String {
    match per_s {
        Some(rate) if rate > 0.0 => format!("{:.3}", 1000.0 / rate),
        _ => "—".into(),
    }
}

fn number(value: Option<f64>, decimals: usize) -> String {
    value.map_or("—".into(), |v| format!("{v:.decimals$}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openssl_speed_lines_parse() {
        let rsa = "                  sign    verify    sign/s verify/s\n\
                   rsa 2048 bits 0.000472s 0.000027s   2117.0  37339.0\n";
        assert_eq!(parse_sign_rate(rsa, "rsa 2048 bits"), Some(2117.0));
        let ec = "                              sign    verify    sign/s verify/s\n \
                  256 bits ecdsa (nistp256)   0.0000s   0.0001s  32062.0  10043.4\n";
        assert_eq!(parse_sign_rate(ec, "(nistp256)"), Some(32062.0));
        let sha = "The 'numbers' are in 1000s of bytes per second processed.\n\
                   type          16384 bytes\nsha256         1154856.86k\n";
        assert_eq!(parse_digest_rate(sha), Some(1_154_856_860.0));
        assert_eq!(parse_sign_rate("nothing", "(nistp256)"), None);
    }
}
