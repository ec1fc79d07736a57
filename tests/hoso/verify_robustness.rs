//! Robustness of the verify entry points (issue #5): hostile input never panics, never loops
//! and never allocates without bound.
//!
//! A deterministic, stable-toolchain companion of the cargo-fuzz targets in `fuzz/`: every
//! signed PDF of the shared corpus (when present) and three PDFs this test builds and signs
//! itself (so it also runs without the corpus) go through seeded mutations (150 per built
//! PDF, 6 per corpus PDF, ×`HOSO_ROBUSTNESS_SCALE` for a longer run): bit flips,
//! truncations, byte-range edits, duplicated and deleted cross-reference sections, huge
//! `/Length`, `/Size` and offsets, deeply nested arrays and dictionaries, reference cycles,
//! object and xref streams with absurd `/N`, `/First`, `/W` and `/Index`, and CMS values with
//! indefinite lengths, `0xFF` length bytes and thousands of certificates. Each call of
//! `verify_pdf`, `verify_detached` or `verify_certificate` must return (no panic, caught with
//! `catch_unwind`), within [`CALL_BUDGET`], with at most [`PEAK_BUDGET`] bytes live at once
//! (counted by this binary's allocator). A watchdog aborts the run, naming the input, if a
//! call takes [`HANG_LIMIT`]. Failing inputs are written to `$TMPDIR/hoso-robustness/`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use hoso::trust::TrustStore;
use hoso::verify::certificate::{CertOptions, verify_certificate};
use hoso::verify::status::EvidencePool;
use hoso::verify::{Indication, Policy, VerifyOptions, verify_detached, verify_pdf};
use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::pkey::{PKey, Private};
use openssl::stack::Stack;
use openssl::x509::X509;

use crate::helpers::corpora;

/// Longest one call may take: 30 s in a debug build, 3 s optimized. The slowest hostile
/// inputs (close to 1,000 revisions, each read again by the modification analysis up to its
/// limits) took 6-12 s in a debug build on the 2-core machine with the rest of the suite
/// running, under 1 s optimized; unmutated corpus files take at most about 1 s in debug.
const CALL_BUDGET: Duration = if cfg!(debug_assertions) {
    Duration::from_secs(30)
} else {
    Duration::from_secs(3)
};
/// A call still running after this long is a hang: the watchdog aborts the whole run.
const HANG_LIMIT: Duration = Duration::from_secs(120);
/// Most bytes one call may hold at once. Inputs are at most a few MB; the reader's own caps
/// (16 MB object windows, 64 MB decoded streams) bound what a hostile file can make it hold.
const PEAK_BUDGET: usize = 512 * 1024 * 1024;
/// Mutations of each PDF this test builds.
const BUILT_MUTATIONS: usize = 150;
/// Mutations of each signed corpus PDF (about 140 files). With the numbers above, the four
/// tests take about a minute in a debug build on 2 cores. `HOSO_ROBUSTNESS_SCALE=N`
/// multiplies every count (for a longer run).
const CORPUS_MUTATIONS: usize = 6;
/// Mutations of the detached CMS and of the certificate files.
const CMS_MUTATIONS: usize = 300;
const CERT_MUTATIONS: usize = 150;

/// `count` times `HOSO_ROBUSTNESS_SCALE` (default 1).
fn scaled(count: usize) -> usize {
    let scale = std::env::var("HOSO_ROBUSTNESS_SCALE")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(1);
    count.saturating_mul(scale)
}

// ---------------------------------------------------------------------------------------
// Peak memory of one call: this test binary's allocator counts live bytes per thread.
// ---------------------------------------------------------------------------------------

struct Counting;

/// A call that holds this much at once is stopped before it exhausts the machine: the
/// allocating thread parks and the watchdog aborts the run, naming the input.
const HARD_LIMIT: isize = 2 * 1024 * 1024 * 1024;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    /// The live bytes when the watched call started, while one runs on this thread.
    static WATCHED_FROM: Cell<Option<isize>> = const { Cell::new(None) };
}

/// Set when a watched call went past [`HARD_LIMIT`].
static OVER_LIMIT: AtomicBool = AtomicBool::new(false);

/// Parks the thread for good when a watched call would go past [`HARD_LIMIT`] (sleeping
/// does not allocate); the watchdog then aborts.
fn guard(size: usize) {
    let over = WATCHED_FROM
        .try_with(Cell::get)
        .ok()
        .flatten()
        .zip(LIVE.try_with(Cell::get).ok())
        .is_some_and(|(from, live)| live - from + size as isize > HARD_LIMIT);
    if over {
        OVER_LIMIT.store(true, Ordering::SeqCst);
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
}

fn count(delta: isize) {
    // `try_with`: the thread's counters may already be gone while it exits.
    let _ = LIVE.try_with(|live| {
        let now = live.get().wrapping_add(delta);
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every call is passed to the system allocator unchanged; the counters are plain
// thread-local integers that never allocate.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        guard(layout.size());
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        guard(layout.size());
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize));
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        guard(new_size.saturating_sub(layout.size()));
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            count(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Starts measuring this thread's peak (and guarding [`HARD_LIMIT`]); returns the baseline.
fn start_peak() -> isize {
    let live = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(live));
    WATCHED_FROM.with(|w| w.set(Some(live)));
    live
}

fn peak_since(baseline: isize) -> usize {
    WATCHED_FROM.with(|w| w.set(None));
    usize::try_from(PEAK.with(Cell::get) - baseline).unwrap_or(0)
}

// ---------------------------------------------------------------------------------------
// The harness: each call timed, measured and caught; a watchdog for hangs.
// ---------------------------------------------------------------------------------------

/// A deterministic generator (SplitMix64): the same seed gives the same mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    /// A random range of `1..=max` bytes inside `0..len` (empty when `len` is 0).
    fn span(&mut self, len: usize, max: usize) -> std::ops::Range<usize> {
        let start = self.below(len);
        let n = 1 + self.below(max.max(1));
        start..(start + n).min(len)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Aborts the process when one call runs for [`HANG_LIMIT`]: a loop must fail the suite,
/// not stall it.
struct Watchdog {
    current: Arc<Mutex<Option<Watched>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// [`HANG_LIMIT`], or `HOSO_ROBUSTNESS_HANG_SECS` seconds.
fn hang_limit() -> Duration {
    std::env::var("HOSO_ROBUSTNESS_HANG_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(HANG_LIMIT, Duration::from_secs)
}

/// The call in progress: since when, its description and its input (saved on a hang).
type Watched = (Instant, String, Vec<u8>);

impl Watchdog {
    fn new() -> Self {
        let current: Arc<Mutex<Option<Watched>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (current, stop) = (current.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(100));
                    let guard = current.lock().unwrap_or_else(|e| e.into_inner());
                    let over = OVER_LIMIT.load(Ordering::SeqCst);
                    if let Some((since, case, input)) = guard.as_ref()
                        && (over || since.elapsed() > hang_limit())
                    {
                        let what = if over {
                            format!("tried to hold more than {} MB", HARD_LIMIT >> 20)
                        } else {
                            format!("has run for {:?}: a hang", since.elapsed())
                        };
                        eprintln!(
                            "verify_robustness: {case} {what}; aborting (input: {})",
                            save_failure(case, input)
                        );
                        std::process::abort();
                    }
                }
            })
        };
        Watchdog {
            current,
            stop,
            thread: Some(thread),
        }
    }

    fn watch(&self, call: Option<(String, Vec<u8>)>) {
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) =
            call.map(|(case, input)| (Instant::now(), case, input));
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Harness {
    name: &'static str,
    watchdog: Watchdog,
    calls: usize,
    slowest: (Duration, String),
    largest: (usize, String),
    failures: Vec<String>,
}

impl Harness {
    fn new(name: &'static str) -> Self {
        Harness {
            name,
            watchdog: Watchdog::new(),
            calls: 0,
            slowest: (Duration::ZERO, String::new()),
            largest: (0, String::new()),
            failures: Vec::new(),
        }
    }

    /// Runs `call` on `input` (kept for the failure report) and records what went wrong.
    fn check<T>(&mut self, case: &str, input: &[u8], call: impl FnOnce(&[u8]) -> T) -> Option<T> {
        if let Some(only) = only()
            && !case.contains(only.as_str())
        {
            return None;
        }
        self.calls += 1;
        self.watchdog.watch(Some((case.to_owned(), input.to_vec())));
        let baseline = start_peak();
        let started = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| call(input)));
        let elapsed = started.elapsed();
        let peak = peak_since(baseline);
        self.watchdog.watch(None);
        if elapsed > self.slowest.0 {
            self.slowest = (elapsed, case.to_owned());
        }
        if peak > self.largest.0 {
            self.largest = (peak, case.to_owned());
        }
        let mut problems = Vec::new();
        if result.is_err() {
            problems.push("panicked".to_owned());
        }
        if elapsed > CALL_BUDGET {
            problems.push(format!("took {elapsed:?} (budget {CALL_BUDGET:?})"));
        }
        if peak > PEAK_BUDGET {
            problems.push(format!(
                "held {} MB at once (budget {} MB)",
                peak >> 20,
                PEAK_BUDGET >> 20
            ));
        }
        if !problems.is_empty() {
            let saved = save_failure(case, input);
            self.failures
                .push(format!("{case}: {} (input: {saved})", problems.join(", ")));
        }
        result.ok()
    }

    fn finish(self) {
        eprintln!(
            "{}: {} calls; slowest {:?} ({}); largest peak {} KB ({})",
            self.name,
            self.calls,
            self.slowest.0,
            self.slowest.1,
            self.largest.0 >> 10,
            self.largest.1
        );
        assert!(
            self.failures.is_empty(),
            "{}: {} of {} calls failed:\n{}",
            self.name,
            self.failures.len(),
            self.calls,
            self.failures
                .iter()
                .take(30)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// `HOSO_ROBUSTNESS_ONLY=text` runs only the cases whose description contains `text` (to
/// reproduce one failure: the descriptions name the file, the mutation number and the seed).
fn only() -> Option<&'static String> {
    static ONLY: OnceLock<Option<String>> = OnceLock::new();
    ONLY.get_or_init(|| {
        std::env::var("HOSO_ROBUSTNESS_ONLY")
            .ok()
            .filter(|s| !s.is_empty())
    })
    .as_ref()
}

fn save_failure(case: &str, input: &[u8]) -> String {
    let dir = std::env::temp_dir().join("hoso-robustness");
    let name: String = case
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let path = dir.join(format!("{name}.bin"));
    match std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, input)) {
        Ok(()) => path.display().to_string(),
        Err(e) => format!("not saved: {e}"),
    }
}

// ---------------------------------------------------------------------------------------
// Verification set-up: the test PKI, its CRLs, a fixed time, offline.
// ---------------------------------------------------------------------------------------

fn pki_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("certs/test-pki")
}

fn trust() -> &'static TrustStore {
    static TRUST: OnceLock<TrustStore> = OnceLock::new();
    TRUST.get_or_init(|| TrustStore::load(&[pki_dir()]).expect("certs/test-pki loads"))
}

fn pem_to_der_crl(name: &str) -> Vec<u8> {
    let pem = std::fs::read(pki_dir().join(name)).unwrap();
    openssl::x509::X509Crl::from_pem(&pem)
        .and_then(|c| c.to_der())
        .unwrap()
}

fn options() -> VerifyOptions<'static> {
    VerifyOptions {
        trust: trust(),
        at: time::macros::datetime!(2027-06-01 00:00 UTC),
        offline: true,
        policy: Policy::Strict,
        supplied: EvidencePool {
            certificates: Vec::new(),
            ocsp: Vec::new(),
            crls: vec![pem_to_der_crl("root.crl"), pem_to_der_crl("inter.crl")],
        },
    }
}

fn cert(name: &str) -> X509 {
    X509::from_pem(&std::fs::read(pki_dir().join(name)).unwrap()).unwrap()
}

fn key(name: &str) -> PKey<Private> {
    PKey::private_key_from_pem(&std::fs::read(pki_dir().join(name)).unwrap()).unwrap()
}

/// A detached CMS SignedData by the test PKI's official signer over `data`, chain included.
fn cms_over(data: &[u8]) -> Vec<u8> {
    let mut chain = Stack::new().unwrap();
    chain.push(cert("inter.crt")).unwrap();
    CmsContentInfo::sign(
        Some(&cert("official.crt")),
        Some(&key("official.key")),
        Some(&chain),
        Some(data),
        CMSOptions::DETACHED | CMSOptions::BINARY,
    )
    .and_then(|cms| cms.to_der())
    .unwrap()
}

// ---------------------------------------------------------------------------------------
// PDFs built and signed here, so the test runs without the corpus.
// ---------------------------------------------------------------------------------------

/// Hex digits reserved for each `/Contents`.
const CONTENTS_HEX: usize = 16_384;
const BYTE_RANGE_PLACEHOLDER: &str = "/ByteRange [0 0000000000 0000000000 0000000000]";

fn signature_dictionary(sub_filter: &str) -> String {
    format!(
        "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /{sub_filter} {BYTE_RANGE_PLACEHOLDER} /Contents <{}> /M (D:20270101090000+07'00') /Reason (robustness) >>",
        "0".repeat(CONTENTS_HEX)
    )
}

/// Writes `objects` and a cross-reference table (with `/Prev` when updating `out`).
fn append_revision(out: &mut Vec<u8>, objects: &[(u32, Vec<u8>)], size: u32, prev: Option<usize>) {
    let mut offsets = Vec::new();
    for (number, body) in objects {
        offsets.push((*number, out.len()));
        out.extend_from_slice(format!("{number} 0 obj\n").as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(b"xref\n");
    if prev.is_none() {
        out.extend_from_slice(b"0 1\n0000000000 65535 f \n");
    }
    offsets.sort_unstable();
    for (number, offset) in &offsets {
        out.extend_from_slice(format!("{number} 1\n{offset:010} 00000 n \n").as_bytes());
    }
    let prev = prev.map(|p| format!(" /Prev {p}")).unwrap_or_default();
    out.extend_from_slice(
        format!("trailer\n<< /Size {size} /Root 1 0 R{prev} >>\nstartxref\n{xref}\n%%EOF\n")
            .as_bytes(),
    );
}

/// Fills the last ByteRange placeholder and its `/Contents` with a CMS over the ranges.
fn sign_last(pdf: &mut [u8]) {
    let at = rfind(pdf, BYTE_RANGE_PLACEHOLDER.as_bytes()).expect("a placeholder");
    let open = at + find(&pdf[at..], b"/Contents <").expect("/Contents") + 10;
    let close = open + 1 + CONTENTS_HEX + 1;
    assert_eq!(pdf[close - 1], b'>');
    let byte_range = format!(
        "/ByteRange [0 {open:010} {close:010} {:010}]",
        pdf.len() - close
    );
    pdf[at..at + byte_range.len()].copy_from_slice(byte_range.as_bytes());
    let mut signed = pdf[..open].to_vec();
    signed.extend_from_slice(&pdf[close..]);
    let hex = hex::encode(cms_over(&signed));
    assert!(hex.len() <= CONTENTS_HEX, "the CMS fits its placeholder");
    pdf[open + 1..open + 1 + hex.len()].copy_from_slice(hex.as_bytes());
}

fn stream(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut out = format!("<< {dict} /Length {} >>\nstream\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\nendstream");
    out
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// 1 KB, 1 MB and 16 MB of zeros, compressed (made once: deflating is slow in debug builds).
fn zeros_deflated(size: usize) -> &'static [u8] {
    static ZEROS: OnceLock<[Vec<u8>; 3]> = OnceLock::new();
    &ZEROS.get_or_init(|| [1 << 10, 1 << 20, 16 << 20].map(|n| deflate(&vec![0u8; n])))[size]
}

/// An object stream's data: a header of 4 M entries `910 0` (24 MB) and one object,
/// compressed.
fn object_stream_bomb() -> (usize, &'static [u8]) {
    const N: usize = 4 << 20;
    static BOMB: OnceLock<Vec<u8>> = OnceLock::new();
    let data = BOMB.get_or_init(|| {
        let mut text = b"910 0 ".repeat(N);
        text.extend_from_slice(b"<< /Type /Catalog >> ");
        deflate(&text)
    });
    (N, data)
}

const PAGE_CONTENT: &[u8] = b"BT /F1 12 Tf 72 720 Td (CONG VAN so 12/UBND) Tj ET";

/// The objects of a one-page document with an empty signature field `Signature1` (4) whose
/// value is signature dictionary 5.
fn base_objects(sub_filter: &str) -> Vec<(u32, Vec<u8>)> {
    vec![
        (1, b"<< /Type /Catalog /Pages 2 0 R /AcroForm 6 0 R >>".to_vec()),
        (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec()),
        (3, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 7 0 R /Resources << /Font << /F1 8 0 R >> >> /Annots [4 0 R] >>".to_vec()),
        (4, b"<< /Type /Annot /Subtype /Widget /FT /Sig /T (Signature1) /V 5 0 R /Rect [0 0 0 0] /F 132 /P 3 0 R >>".to_vec()),
        (5, signature_dictionary(sub_filter).into_bytes()),
        (6, b"<< /Fields [4 0 R] /SigFlags 3 >>".to_vec()),
        (7, stream("", PAGE_CONTENT)),
        (8, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec()),
    ]
}

/// One signature, classic cross-reference table.
fn single_signature() -> Vec<u8> {
    let mut pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    append_revision(&mut pdf, &base_objects("ETSI.CAdES.detached"), 9, None);
    sign_last(&mut pdf);
    pdf
}

/// [`single_signature`] plus an update with a second signature and a DSS (certificates, one
/// of them compressed, and a CRL).
fn two_revisions() -> Vec<u8> {
    let mut pdf = single_signature();
    let prev = startxref(&pdf).unwrap();
    let inter = cert("inter.crt").to_der().unwrap();
    let official = cert("official.crt").to_der().unwrap();
    let objects = vec![
        (1, b"<< /Type /Catalog /Pages 2 0 R /AcroForm 6 0 R /DSS 11 0 R >>".to_vec()),
        (6, b"<< /Fields [4 0 R 9 0 R] /SigFlags 3 >>".to_vec()),
        (9, b"<< /Type /Annot /Subtype /Widget /FT /Sig /T (Signature2) /V 10 0 R /Rect [0 0 0 0] /F 132 /P 3 0 R >>".to_vec()),
        (10, signature_dictionary("adbe.pkcs7.detached").into_bytes()),
        (11, b"<< /Certs [12 0 R 13 0 R] /CRLs [14 0 R] >>".to_vec()),
        (12, stream("", &inter)),
        (13, stream("/Filter /FlateDecode", &deflate(&official))),
        (14, stream("", &pem_to_der_crl("inter.crl"))),
    ];
    append_revision(&mut pdf, &objects, 15, Some(prev));
    sign_last(&mut pdf);
    pdf
}

/// One signature in a file with an xref stream and a compressed object stream holding every
/// object but the signature dictionary and the page content.
fn object_streams() -> Vec<u8> {
    let mut pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let objects = base_objects("ETSI.CAdES.detached");
    let packed: Vec<&(u32, Vec<u8>)> = objects
        .iter()
        .filter(|(n, _)| ![5, 7].contains(n))
        .collect();
    let mut header = String::new();
    let mut body = Vec::new();
    for (number, text) in &packed {
        header.push_str(&format!("{number} {} ", body.len()));
        body.extend_from_slice(text);
        body.push(b'\n');
    }
    let mut data = header.clone().into_bytes();
    data.extend_from_slice(&body);
    let mut offsets: Vec<(u32, usize)> = Vec::new();
    let mut write = |pdf: &mut Vec<u8>, number: u32, body: &[u8]| {
        offsets.push((number, pdf.len()));
        pdf.extend_from_slice(format!("{number} 0 obj\n").as_bytes());
        pdf.extend_from_slice(body);
        pdf.extend_from_slice(b"\nendobj\n");
    };
    for (number, text) in objects.iter().filter(|(n, _)| [5, 7].contains(n)) {
        write(&mut pdf, *number, text);
    }
    write(
        &mut pdf,
        20,
        &stream(
            &format!(
                "/Type /ObjStm /N {} /First {} /Filter /FlateDecode",
                packed.len(),
                header.len()
            ),
            &deflate(&data),
        ),
    );
    // Rows: type (1 byte), field 2 (4 bytes), field 3 (2 bytes); objects 0..=21.
    let xref_at = pdf.len();
    let mut rows = Vec::new();
    for number in 0u32..22 {
        let row: (u8, u32, u16) = if let Some((_, at)) = offsets.iter().find(|(n, _)| *n == number)
        {
            (1, *at as u32, 0)
        } else if let Some(index) = packed.iter().position(|(n, _)| *n == number) {
            (2, 20, index as u16)
        } else if number == 21 {
            (1, xref_at as u32, 0)
        } else {
            (0, 0, 0)
        };
        rows.push(row.0);
        rows.extend_from_slice(&row.1.to_be_bytes());
        rows.extend_from_slice(&row.2.to_be_bytes());
    }
    pdf.extend_from_slice(b"21 0 obj\n");
    pdf.extend_from_slice(&stream(
        "/Type /XRef /Size 22 /Root 1 0 R /W [1 4 2] /Index [0 22] /Filter /FlateDecode",
        &deflate(&rows),
    ));
    pdf.extend_from_slice(format!("\nendobj\nstartxref\n{xref_at}\n%%EOF\n").as_bytes());
    sign_last(&mut pdf);
    pdf
}

// ---------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

fn all(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect()
}

/// The offset the last `startxref` names.
fn startxref(pdf: &[u8]) -> Option<usize> {
    let at = rfind(pdf, b"startxref")? + 9;
    let digits: String = pdf[at..]
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take_while(|b| b.is_ascii_digit())
        .map(|b| *b as char)
        .collect();
    digits.parse().ok()
}

/// The catalog reference of the newest trailer (`/Root N G R`), as text.
fn root(pdf: &[u8]) -> String {
    rfind(pdf, b"/Root")
        .and_then(|at| {
            let text = String::from_utf8_lossy(&pdf[at + 5..(at + 40).min(pdf.len())]).into_owned();
            let parts: Vec<&str> = text
                .split(|c: char| c.is_whitespace() || c == '/' || c == '>')
                .filter(|s| !s.is_empty())
                .take(3)
                .collect();
            match parts.as_slice() {
                [n, g, "R"] if n.parse::<u32>().is_ok() && g.parse::<u16>().is_ok() => {
                    Some(format!("{n} {g} R"))
                }
                _ => None,
            }
        })
        .unwrap_or_else(|| "1 0 R".to_owned())
}

/// Appends an incremental update with `objects` (numbers from 900 on, clear of the base
/// documents') and `trailer_extra`, chained to the file's newest section.
fn hostile_update(pdf: &[u8], objects: &[(u32, Vec<u8>)], trailer_extra: &str) -> Vec<u8> {
    let mut out = pdf.to_vec();
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    let prev = startxref(pdf).unwrap_or(0);
    let mut offsets = Vec::new();
    for (number, body) in objects {
        offsets.push((*number, out.len()));
        out.extend_from_slice(format!("{number} 0 obj\n").as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(b"xref\n");
    for (number, offset) in &offsets {
        out.extend_from_slice(format!("{number} 1\n{offset:010} 00000 n \n").as_bytes());
    }
    let size = offsets
        .iter()
        .map(|(n, _)| n + 1)
        .max()
        .unwrap_or(1)
        .max(1000);
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {size} /Root {} /Prev {prev} {trailer_extra} >>\nstartxref\n{xref}\n%%EOF\n",
            root(pdf)
        )
        .as_bytes(),
    );
    out
}

/// Appends an update whose cross-reference section is an xref stream (object 999) with the
/// given dictionary entries, after `objects`; `data` makes the stream's data from where
/// each object was written.
fn hostile_xref_stream(
    pdf: &[u8],
    objects: &[(u32, Vec<u8>)],
    dict: &str,
    data: impl FnOnce(&[(u32, usize)]) -> Vec<u8>,
) -> Vec<u8> {
    let mut out = pdf.to_vec();
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    let prev = startxref(pdf).unwrap_or(0);
    let mut offsets = Vec::new();
    for (number, body) in objects {
        offsets.push((*number, out.len()));
        out.extend_from_slice(format!("{number} 0 obj\n").as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(b"999 0 obj\n");
    out.extend_from_slice(&stream(
        &format!("/Type /XRef /Root {} /Prev {prev} {dict}", root(pdf)),
        &data(&offsets),
    ));
    out.extend_from_slice(format!("\nendobj\nstartxref\n{xref}\n%%EOF\n").as_bytes());
    out
}

/// `depth` nested arrays (or dictionaries) around a number.
fn nested(depth: usize, dictionaries: bool) -> Vec<u8> {
    let (open, close): (&[u8], &[u8]) = if dictionaries {
        (b"<< /A ", b" >>")
    } else {
        (b"[", b"]")
    };
    let mut out = open.repeat(depth);
    out.extend_from_slice(b"1");
    out.extend_from_slice(&close.repeat(depth));
    out
}

/// Structural attacks appended as an incremental update.
fn structural(pdf: &[u8], rng: &mut Rng) -> (String, Vec<u8>) {
    let catalog_with = |extra: &str| -> Vec<u8> {
        format!("<< /Type /Catalog /Pages 2 0 R /AcroForm 6 0 R {extra} >>").into_bytes()
    };
    let root_number: u32 = root(pdf)
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let kind = rng.below(17);
    let many = |text: &str, n: usize| text.repeat(n);
    let out = match kind {
        0 => {
            let depth = *rng.pick(&[200, 255, 300, 5_000, 100_000]);
            let mut catalog = b"<< /Type /Catalog /Pages 2 0 R /Deep ".to_vec();
            catalog.extend_from_slice(&nested(depth, rng.below(2) == 0));
            catalog.extend_from_slice(b" >>");
            hostile_update(pdf, &[(root_number, catalog)], "")
        }
        1 => hostile_update(
            pdf,
            &[
                (root_number, catalog_with("/Pages 900 0 R")),
                (
                    900,
                    b"<< /Type /Pages /Kids [901 0 R 900 0 R] /Count 2 >>".to_vec(),
                ),
                (
                    901,
                    b"<< /Type /Pages /Kids [900 0 R 901 0 R] /Parent 900 0 R /Count 1 >>".to_vec(),
                ),
                (902, b"902 0 R".to_vec()),
                (903, b"904 0 R".to_vec()),
                (904, b"903 0 R".to_vec()),
            ],
            "/Info 903 0 R",
        ),
        2 => {
            // A field whose kids are itself, thousands of times.
            let kids = many("905 0 R ", *rng.pick(&[10, 1_000, 20_000, 1_000_000]));
            hostile_update(
                pdf,
                &[
                    (
                        6,
                        b"<< /Fields [905 0 R 905 0 R 4 0 R] /SigFlags 3 >>".to_vec(),
                    ),
                    (
                        905,
                        format!("<< /FT /Sig /T (loop) /Kids [{kids}] /Parent 905 0 R /V 5 0 R >>")
                            .into_bytes(),
                    ),
                ],
                "",
            )
        }
        3 => {
            // A wide page tree: one node with many kids, each a cycle back to it.
            let kids = many("906 0 R ", *rng.pick(&[1_000, 50_000]));
            hostile_update(
                pdf,
                &[
                    (root_number, catalog_with("/Pages 906 0 R")),
                    (
                        906,
                        format!("<< /Type /Pages /Kids [{kids} 3 0 R] /Count 99999999 >>")
                            .into_bytes(),
                    ),
                ],
                "",
            )
        }
        4 => {
            let length = *rng.pick(&[
                "99999999999",
                "-5",
                "2147483647",
                "9223372036854775807",
                "907 0 R",
                "1.5e300",
            ]);
            let mut body =
                format!("<< /Length {length} /Filter /FlateDecode >>\nstream\n").into_bytes();
            body.extend_from_slice(&deflate(&[0u8; 4096]));
            body.extend_from_slice(b"\nendstream");
            hostile_update(
                pdf,
                &[
                    (907, body),
                    (
                        root_number,
                        catalog_with("/DSS << /Certs [907 0 R 907 0 R] /OCSPs [907 0 R] >>"),
                    ),
                ],
                "",
            )
        }
        5 => {
            let size = *rng.pick(&["2147483647", "-1", "99999999999999", "0", "4294967296"]);
            let mut out = hostile_update(pdf, &[(908, b"<< >>".to_vec())], "");
            let at = rfind(&out, b"/Size 1000").unwrap();
            out.splice(at..at + 10, format!("/Size {size}").into_bytes());
            out
        }
        6 => {
            // /Prev at itself, at 0, in the middle of the file, past the end.
            let xref = pdf.len() + 1;
            let prev = match rng.below(4) {
                0 => xref + 8,
                1 => 0,
                2 => rng.below(pdf.len()),
                _ => usize::MAX / 2,
            };
            let mut out = pdf.to_vec();
            out.extend_from_slice(
                format!(
                    "\nxref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 9 /Root {} /Prev {prev} >>\nstartxref\n{xref}\n%%EOF\n",
                    root(pdf)
                )
                .as_bytes(),
            );
            out
        }
        7 => {
            // An object stream with absurd /N and /First, its objects listed in an xref
            // stream.
            let n = *rng.pick(&["2147483647", "-3", "100000000", "3"]);
            let first = *rng.pick(&["999999999", "-1", "0", "4"]);
            let data = deflate(format!("{} 910 0 <<>> ", "1 0 ".repeat(2000)).as_bytes());
            let objects = vec![(
                909,
                stream(
                    &format!("/Type /ObjStm /N {n} /First {first} /Filter /FlateDecode"),
                    &data,
                ),
            )];
            // Rows [type, offset or stream (4 bytes), index (2 bytes)] for objects 909-911.
            hostile_xref_stream(
                pdf,
                &objects,
                "/Size 1000 /W [1 4 2] /Index [909 3]",
                |at| {
                    let stream_at = at.first().map_or(0, |(_, o)| *o as u32).to_be_bytes();
                    let mut rows = vec![1u8];
                    rows.extend_from_slice(&stream_at);
                    rows.extend_from_slice(&[0, 0, 2, 0, 0, 3, 141, 0, 0, 2, 0, 0, 3, 141, 0, 1]);
                    rows
                },
            )
        }
        8 => {
            // Xref streams with absurd widths and subsections, their data a compressed
            // run of zeros.
            let (w, index) = *rng.pick(&[
                ("[1 0 0]", "[0 2147483647]"),
                ("[0 0 0]", "[0 100]"),
                ("[8 8 8]", "[0 1000]"),
                ("[1 2]", "[0 1]"),
                ("[1 1 1]", "[2147483640 100]"),
                ("[1 1 1]", "[0 -5 3 9223372036854775807]"),
            ]);
            let zeros = zeros_deflated(*rng.pick(&[0, 1, 2])).to_vec();
            hostile_xref_stream(
                pdf,
                &[],
                &format!("/Size 2147483647 /W {w} /Index {index} /Filter /FlateDecode"),
                |_| zeros,
            )
        }
        9 => {
            // A DSS listing one compressed 16 MB stream thousands of times.
            let bomb = zeros_deflated(2);
            let refs = many("911 0 R ", *rng.pick(&[10, 2_000]));
            hostile_update(
                pdf,
                &[
                    (911, stream("/Filter /FlateDecode", bomb)),
                    (
                        912,
                        format!("<< /Certs [{refs}] /OCSPs [{refs}] /CRLs [{refs}] >>")
                            .into_bytes(),
                    ),
                    (root_number, catalog_with("/DSS 912 0 R")),
                ],
                "",
            )
        }
        10 => {
            // Thousands of signature fields sharing one signature dictionary.
            let fields: String = (0..*rng.pick(&[100usize, 3_000]))
                .map(|i| format!("{} 0 R ", 2000 + i))
                .collect();
            let mut objects: Vec<(u32, Vec<u8>)> = vec![(
                6,
                format!("<< /Fields [{fields}] /SigFlags 3 >>").into_bytes(),
            )];
            for i in 0..fields.split_whitespace().count() / 3 {
                objects.push((
                    2000 + i as u32,
                    format!("<< /FT /Sig /T (f{i}) /V 5 0 R /Type /Annot /Subtype /Widget /Rect [0 0 0 0] >>").into_bytes(),
                ));
            }
            hostile_update(pdf, &objects, "")
        }
        11 => {
            // Filters: unknown, chained many times, predictor parameters out of range.
            let filter = *rng.pick(&[
                "/Filter [/FlateDecode /FlateDecode /FlateDecode /FlateDecode /FlateDecode /FlateDecode /FlateDecode /FlateDecode /FlateDecode /FlateDecode /FlateDecode]",
                "/Filter /LZWDecode",
                "/Filter /FlateDecode /DecodeParms << /Predictor 15 /Columns 2147483647 /Colors 99 /BitsPerComponent 16 >>",
                "/Filter /ASCIIHexDecode",
                "/Filter /Crypt",
            ]);
            hostile_update(
                pdf,
                &[
                    (913, stream(filter, &deflate(&[7u8; 2048]))),
                    (
                        root_number,
                        catalog_with("/DSS << /Certs [913 0 R] /CRLs [913 0 R] >>"),
                    ),
                ],
                "",
            )
        }
        12 => {
            // The whole tail (last xref section to the end) appended again, chained to the
            // original, or pointing at itself.
            let Some(xref) = startxref(pdf) else {
                return ("structural: no startxref".to_owned(), pdf.to_vec());
            };
            let tail = pdf.get(xref..).unwrap_or_default().to_vec();
            let mut out = pdf.to_vec();
            let copy_at = out.len();
            out.extend_from_slice(&tail);
            let new_tail = &mut out[copy_at..];
            if let Some(s) = rfind(new_tail, b"startxref") {
                let replacement = format!("startxref\n{copy_at}\n%%EOF\n");
                out.truncate(copy_at + s);
                out.extend_from_slice(replacement.as_bytes());
            }
            out
        }
        13 => {
            // The newest cross-reference section deleted (its trailer kept).
            let mut out = pdf.to_vec();
            if let (Some(x), Some(t)) = (rfind(pdf, b"\nxref"), rfind(pdf, b"trailer"))
                && x < t
            {
                out.drain(x + 1..t);
            }
            out
        }
        14 => {
            // Many revisions, each a tiny update.
            let mut out = pdf.to_vec();
            // Up to the analysis' limit of 1,000 revisions, and past it.
            for i in 0..*rng.pick(&[50usize, 500, 999, 1_100]) {
                out = hostile_update(
                    &out,
                    &[(920 + (i % 7) as u32, format!("<< /N {i} >>").into_bytes())],
                    "",
                );
            }
            out
        }
        16 => {
            // A compressed object stream whose header lists millions of objects, all at
            // the same place, one of them in use.
            let (n, data) = object_stream_bomb();
            let objects = vec![(
                909,
                stream(
                    &format!("/Type /ObjStm /N {n} /First {} /Filter /FlateDecode", 6 * n),
                    data,
                ),
            )];
            hostile_xref_stream(
                pdf,
                &objects,
                "/Size 1000 /W [1 4 2] /Index [909 2]",
                |at| {
                    let stream_at = at.first().map_or(0, |(_, o)| *o as u32).to_be_bytes();
                    let mut rows = vec![1u8];
                    rows.extend_from_slice(&stream_at);
                    rows.extend_from_slice(&[0, 0, 2, 0, 0, 3, 141, 0, 7]);
                    rows
                },
            )
        }
        _ => {
            // A signature dictionary with an odd /Contents and /ByteRange.
            let byte_range = *rng.pick(&[
                "[0 1 2]",
                "[0 -1 5 5]",
                "[0 9223372036854775807 9223372036854775807 9223372036854775807]",
                "[0 10 5 5]",
                "[1 2 3 4 5 6]",
                "914 0 R",
            ]);
            let contents = *rng.pick(&["<30800000>", "<3084ffffffff>", "(plain)", "<>", "[1 2]"]);
            let mut objects = vec![
                (914, format!("<< /Type /Sig /SubFilter /ETSI.CAdES.detached /ByteRange {byte_range} /Contents {contents} /Reference [<< /TransformMethod /DocMDP /TransformParams << /P 99 >> >> 914 0 R] >>").into_bytes()),
                (915, b"<< /FT /Sig /T (odd) /V 914 0 R >>".to_vec()),
            ];
            objects.push((6, b"<< /Fields [4 0 R 915 0 R] /SigFlags 3 >>".to_vec()));
            hostile_update(pdf, &objects, "")
        }
    };
    (format!("structural {kind} ({} bytes)", out.len()), out)
}

/// Values that break numbers: zero, negative, at and past the integer limits.
const HOSTILE_NUMBERS: &[&str] = &[
    "0",
    "-1",
    "2147483647",
    "2147483648",
    "4294967296",
    "9223372036854775807",
    "99999999999999999999",
    "-9223372036854775808",
    "1e9",
    ".",
];

/// Keys whose numbers steer the reader.
const STEERING_KEYS: &[&[u8]] = &[
    b"/Length",
    b"/Size",
    b"/N ",
    b"/First",
    b"/Prev",
    b"/Count",
    b"startxref",
    b"/ByteRange [0 ",
    b"/W [",
    b"/Index [",
];

/// Tokens inserted at random.
const TOKENS: &[&[u8]] = &[
    b"<<",
    b">>",
    b"[",
    b"]",
    b" R ",
    b" 0 obj ",
    b"endobj",
    b"stream\n",
    b"endstream",
    b"\nxref\n0 1\n",
    b"trailer",
    b"%%EOF\n",
    b"startxref\n0\n%%EOF\n",
    b"(",
    b"\\",
    b"<",
    b"/#",
    b"%",
];

/// One mutation of a PDF, described.
fn mutate_pdf(pdf: &[u8], rng: &mut Rng) -> (String, Vec<u8>) {
    let mut out = pdf.to_vec();
    let kind = rng.below(12);
    let description = match kind {
        0 => {
            let flips = 1 + rng.below(8);
            for _ in 0..flips {
                let at = rng.below(out.len());
                out[at] ^= 1 << rng.below(8);
            }
            format!("{flips} bit flips")
        }
        1 => {
            let at = rng.below(out.len());
            out.truncate(at);
            if rng.below(2) == 0 {
                out.extend_from_slice(b"\n%%EOF\n");
            }
            format!("truncated at {at}")
        }
        2 => {
            let span = rng.span(out.len(), 64);
            let fill = rng.below(3);
            for b in &mut out[span.clone()] {
                *b = match fill {
                    0 => 0xff,
                    1 => 0,
                    _ => (rng.next() & 0xff) as u8,
                };
            }
            format!("bytes {span:?} overwritten")
        }
        3 => {
            let span = rng.span(out.len(), 512);
            out.drain(span.clone());
            format!("bytes {span:?} deleted")
        }
        4 => {
            let span = rng.span(out.len(), 512);
            let copy = out[span.clone()].to_vec();
            let at = rng.below(out.len());
            out.splice(at..at, copy);
            format!("bytes {span:?} duplicated at {at}")
        }
        5 => {
            let token = rng.pick(TOKENS);
            let at = rng.below(out.len());
            out.splice(at..at, token.iter().copied());
            format!("token inserted at {at}")
        }
        6 | 7 => {
            // A number after a steering key (else any number) made hostile.
            let key = rng.pick(STEERING_KEYS);
            let places = all(&out, key);
            let at = if places.is_empty() || kind == 7 {
                rng.below(out.len())
            } else {
                rng.pick(&places) + key.len()
            };
            let Some(start) = (at..out.len()).find(|&i| out[i].is_ascii_digit()) else {
                return ("no number".to_owned(), out);
            };
            let end = (start..out.len())
                .find(|&i| !out[i].is_ascii_digit())
                .unwrap_or(out.len());
            let value = rng.pick(HOSTILE_NUMBERS);
            out.splice(start..end, value.bytes());
            format!("number at {start} set to {value}")
        }
        8 | 9 => return structural(pdf, rng),
        _ => return mutate_contents(pdf, rng),
    };
    (description, out)
}

/// A mutation of one signature's CMS, written back in place so the ByteRange still holds
/// and verification reaches the CMS.
fn mutate_contents(pdf: &[u8], rng: &mut Rng) -> (String, Vec<u8>) {
    let places = all(pdf, b"/Contents <");
    if places.is_empty() {
        return mutate_pdf(pdf, rng);
    }
    let open = rng.pick(&places) + 10;
    let Some(len) = find(&pdf[open..], b">") else {
        return ("contents: unterminated".to_owned(), pdf.to_vec());
    };
    let hex_digits = &pdf[open + 1..open + len];
    let Ok(der) = hex::decode(hex_digits) else {
        return ("contents: not hex".to_owned(), pdf.to_vec());
    };
    let (description, mutated) = mutate_der(&der, rng);
    let mut hex = hex::encode(&mutated).into_bytes();
    hex.resize(hex_digits.len(), b'0');
    let mut out = pdf.to_vec();
    out[open + 1..open + len].copy_from_slice(&hex);
    (format!("contents: {description}"), out)
}

/// TLV headers of a DER value: (offset, tag, header length, content length), depth first.
fn tlvs(der: &[u8]) -> Vec<(usize, u8, usize, usize)> {
    let mut out = Vec::new();
    let mut stack = vec![(0usize, der.len())];
    while let Some((mut at, end)) = stack.pop() {
        while at + 2 <= end && out.len() < 10_000 {
            let tag = der[at];
            let first = der[at + 1] as usize;
            let (len, header) = if first < 0x80 {
                (first, 2)
            } else {
                let n = first & 0x7f;
                if n == 0 || n > 4 || at + 2 + n > end {
                    break;
                }
                let len = der[at + 2..at + 2 + n]
                    .iter()
                    .fold(0usize, |a, b| (a << 8) | *b as usize);
                (len, 2 + n)
            };
            if at + header + len > end {
                break;
            }
            out.push((at, tag, header, len));
            if tag & 0x20 != 0 {
                stack.push((at + header, at + header + len));
            }
            at += header + len;
        }
    }
    out
}

/// `(tag, content)` as DER.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(content);
    out
}

/// The certificates field of a SignedData replaced by `copies` copies of its first
/// certificate (thousands of certificates in one CMS).
fn many_certificates(der: &[u8], copies: usize) -> Option<Vec<u8>> {
    let all = tlvs(der);
    // The [0] IMPLICIT certificates: the second [0] met (the first is ContentInfo's
    // explicit content; the signed attributes come later in this order).
    let (at, _, header, len) = *all.iter().filter(|t| t.1 == 0xa0).nth(1)?;
    let (cert_at, _, cert_header, cert_len) = *all.iter().find(|t| t.0 == at + header)?;
    let one = &der[cert_at..cert_at + cert_header + cert_len];
    let certificates = tlv(0xa0, &one.repeat(copies));
    // Rebuild: ContentInfo { oid, [0] { SignedData { ..., certificates, ... } } }.
    let (_, _, ci_header, _) = all[0];
    let content = &der[ci_header..];
    let parts = tlvs(content);
    let oid = &content[..parts[0].2 + parts[0].3];
    let explicit_at = parts[0].2 + parts[0].3;
    let explicit_header = parts.iter().find(|t| t.0 == explicit_at)?.2;
    let signed_data_at = explicit_at + explicit_header;
    let sd = parts.iter().find(|t| t.0 == signed_data_at)?;
    let sd_content = &content[signed_data_at + sd.2..signed_data_at + sd.2 + sd.3];
    let cert_field_in_sd = at.checked_sub(ci_header + signed_data_at + sd.2)?;
    let mut new_sd = sd_content[..cert_field_in_sd].to_vec();
    new_sd.extend_from_slice(&certificates);
    new_sd.extend_from_slice(&sd_content[cert_field_in_sd + header + len..]);
    let mut inner = oid.to_vec();
    inner.extend_from_slice(&tlv(0xa0, &tlv(0x30, &new_sd)));
    Some(tlv(0x30, &inner))
}

/// The outer `levels` constructed elements re-encoded with indefinite lengths (BER).
fn indefinite(der: &[u8], levels: usize) -> Vec<u8> {
    let Some(&(_, tag, header, len)) = tlvs(der).first() else {
        return der.to_vec();
    };
    if levels == 0 || tag & 0x20 == 0 {
        return der.to_vec();
    }
    let content = &der[header..header + len];
    let children = tlvs(content);
    let mut out = vec![tag, 0x80];
    let mut at = 0;
    for &(child_at, _, child_header, child_len) in &children {
        if child_at != at {
            continue; // a grandchild
        }
        let child = &content[at..at + child_header + child_len];
        out.extend(indefinite(child, levels - 1));
        at += child_header + child_len;
    }
    out.extend_from_slice(&content[at..]);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&der[header + len..]);
    out
}

/// One mutation of a DER value (a CMS or a certificate), described.
fn mutate_der(der: &[u8], rng: &mut Rng) -> (String, Vec<u8>) {
    let mut out = der.to_vec();
    let headers = tlvs(der);
    let kind = rng.below(10);
    let description = match kind {
        0 => {
            let flips = 1 + rng.below(6);
            for _ in 0..flips {
                let at = rng.below(out.len());
                out[at] ^= 1 << rng.below(8);
            }
            format!("{flips} bit flips")
        }
        1 => {
            let at = rng.below(out.len());
            out.truncate(at);
            format!("truncated at {at}")
        }
        2 | 3 => {
            // A length byte made indefinite, 0xFF, a 4-byte maximum, or a 9-byte length.
            let Some(&(at, _, header, _)) = headers.get(rng.below(headers.len())) else {
                return ("no header".to_owned(), out);
            };
            let replacements: [&[u8]; 6] = [
                &[0x80],
                &[0xff],
                &[0x84, 0xff, 0xff, 0xff, 0xff],
                &[0x89, 1, 0, 0, 0, 0, 0, 0, 0, 0],
                &[0x00],
                &[0x81, 0x00],
            ];
            let replacement = *rng.pick(&replacements);
            out.splice(at + 1..at + header, replacement.iter().copied());
            format!("length of the element at {at} set to {replacement:02x?}")
        }
        4 => {
            let levels = 1 + rng.below(6);
            out = indefinite(der, levels);
            format!("indefinite lengths on {levels} levels")
        }
        5 => {
            // Deeply nested indefinite-length constructed values.
            let depth = *rng.pick(&[64, 65, 1_000, 100_000]);
            out = [0x30, 0x80].repeat(depth);
            out.extend_from_slice(der);
            out.extend_from_slice(&[0, 0].repeat(depth));
            format!("wrapped in {depth} indefinite SEQUENCEs")
        }
        6 => {
            let depth = *rng.pick(&[100, 10_000]);
            out = [0x30, 0x84, 0xff, 0xff, 0xff, 0xff].repeat(depth);
            format!("{depth} nested SEQUENCEs claiming 4 GB")
        }
        7 => {
            let copies = *rng.pick(&[300, 5_000]);
            match many_certificates(der, copies) {
                Some(many) => out = many,
                None => return ("no certificates field".to_owned(), out),
            }
            format!("{copies} certificates")
        }
        8 => {
            // An element's content replaced by a copy of the whole value (recursion).
            let Some(&(at, _, header, len)) = headers.get(rng.below(headers.len())) else {
                return ("no header".to_owned(), out);
            };
            let mut copy = der.to_vec();
            copy.truncate(len.min(copy.len()));
            out.splice(at + header..at + header + len, copy);
            format!("element at {at} refilled with the value's start")
        }
        _ => {
            let span = rng.span(out.len(), 32);
            for b in &mut out[span.clone()] {
                *b = 0xff;
            }
            format!("bytes {span:?} set to 0xFF")
        }
    };
    (description, out)
}

// ---------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------

fn verify_mutations(harness: &mut Harness, name: &str, pdf: &[u8], count: usize, seed: u64) {
    let options = options();
    harness.check(&format!("{name} unmutated"), pdf, |input| {
        verify_pdf(input, name, &options)
    });
    let mut rng = Rng(seed);
    for i in 0..count {
        let (description, mutated) = mutate_pdf(pdf, &mut rng);
        let case = format!("{name} #{i} (seed {seed}): {description}");
        let started = Instant::now();
        harness.check(&case, &mutated, |input| verify_pdf(input, name, &options));
        if std::env::var_os("HOSO_ROBUSTNESS_VERBOSE").is_some()
            && only().is_none_or(|only| case.contains(only.as_str()))
        {
            eprintln!("{:>8.3} s  {case}", started.elapsed().as_secs_f64());
        }
    }
}

/// The PDFs this test builds verify as intended before they are mutated: the mutations
/// start from files that reach every stage (CMS, chain, revocation, changes).
#[test]
fn built_pdfs_verify_and_their_mutations_never_panic_hang_or_balloon() {
    let options = options();
    let documents = [
        ("single-signature", single_signature()),
        ("two-revisions", two_revisions()),
        ("object-streams", object_streams()),
    ];
    for (name, pdf) in &documents {
        let report = verify_pdf(pdf, name, &options).unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected = if *name == "two-revisions" { 2 } else { 1 };
        assert_eq!(report.signatures.len(), expected, "{name}");
        for signature in &report.signatures {
            assert_eq!(
                signature.indication,
                Indication::TotalPassed,
                "{name} {}: {:?} {:?}",
                signature.field,
                signature.subindication,
                signature
                    .messages
                    .iter()
                    .map(|m| m.code)
                    .collect::<Vec<_>>()
            );
        }
    }
    let mut harness = Harness::new("built PDFs");
    for (index, (name, pdf)) in documents.iter().enumerate() {
        verify_mutations(
            &mut harness,
            name,
            pdf,
            scaled(BUILT_MUTATIONS),
            0x5eed_0000 + index as u64,
        );
    }
    harness.finish();
}

fn signed_corpus_pdfs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            signed_corpus_pdfs(&path, out);
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("pdf"))
            && std::fs::read(&path).is_ok_and(|bytes| find(&bytes, b"/ByteRange").is_some())
        {
            out.push(path);
        }
    }
}

#[test]
fn mutated_corpus_pdfs_never_panic_hang_or_balloon() {
    let Some(corpora) = corpora() else {
        return;
    };
    let mut files = Vec::new();
    signed_corpus_pdfs(&corpora.join("signatures"), &mut files);
    assert!(!files.is_empty(), "no signed PDF in the signature corpus");
    let mut harness = Harness::new("corpus PDFs");
    for (index, path) in files.iter().enumerate() {
        let pdf = std::fs::read(path).unwrap();
        let name = path
            .strip_prefix(&corpora)
            .unwrap_or(path)
            .display()
            .to_string();
        verify_mutations(
            &mut harness,
            &name,
            &pdf,
            scaled(CORPUS_MUTATIONS),
            0xc0_0000 + index as u64,
        );
    }
    harness.finish();
}

const DETACHED_DATA: &[u8] = b"Ho so: don de nghi cap giay phep xay dung (detached data)\n";

#[test]
fn mutated_detached_cms_never_panics_hangs_or_balloons() {
    let options = options();
    let der = cms_over(DETACHED_DATA);
    let report = verify_detached(DETACHED_DATA, &der, "detached.p7s", &options);
    assert_eq!(report.indication, Indication::TotalPassed, "{report:?}");
    let ber = indefinite(&der, 3);
    let report = verify_detached(DETACHED_DATA, &ber, "detached-ber.p7s", &options);
    assert_eq!(
        report.indication,
        Indication::TotalPassed,
        "BER: {report:?}"
    );
    let mut harness = Harness::new("detached CMS");
    let mut rng = Rng(0xc3_5000);
    for i in 0..scaled(CMS_MUTATIONS) {
        let base = if i % 2 == 0 { &der } else { &ber };
        let (description, mutated) = mutate_der(base, &mut rng);
        let case = format!("detached CMS #{i}: {description}");
        harness.check(&case, &mutated, |input| {
            verify_detached(DETACHED_DATA, input, "detached.p7s", &options)
        });
        // The same bytes as PEM text.
        if i % 10 == 0 {
            let pem = format!(
                "-----BEGIN PKCS7-----\n{}\n-----END PKCS7-----\n",
                openssl::base64::encode_block(&mutated)
            );
            harness.check(&format!("{case} (PEM)"), pem.as_bytes(), |input| {
                verify_detached(DETACHED_DATA, input, "detached.p7s", &options)
            });
        }
    }
    harness.finish();
}

#[test]
fn mutated_certificate_files_never_panic_hang_or_balloon() {
    let base = options();
    let options = CertOptions {
        trust: base.trust,
        at: base.at,
        offline: true,
        policy: base.policy,
        supplied: base.supplied,
        policies: Default::default(),
    };
    let official = cert("official.crt").to_der().unwrap();
    let bundle = cms_over(b"bundle");
    let report = verify_certificate(&official, "official.crt", &options).unwrap();
    assert_eq!(report.indication, Indication::TotalPassed, "{report:?}");
    let mut harness = Harness::new("certificate files");
    let mut rng = Rng(0xce_7000);
    for i in 0..scaled(CERT_MUTATIONS) {
        let base = if i % 3 == 0 { &bundle } else { &official };
        let (description, mutated) = mutate_der(base, &mut rng);
        let case = format!("certificate #{i}: {description}");
        harness.check(&case, &mutated, |input| {
            verify_certificate(input, "cert.der", &options)
        });
        if i % 10 == 0 {
            let pem = format!(
                "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
                openssl::base64::encode_block(&mutated)
            );
            harness.check(&format!("{case} (PEM)"), pem.as_bytes(), |input| {
                verify_certificate(input, "cert.pem", &options)
            });
        }
    }
    harness.finish();
}
