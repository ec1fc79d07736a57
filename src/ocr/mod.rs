//! OCR stage: scanned pages in, recognized words with boxes out (Tesseract, in-process).
//!
//! Flow of one page ([`recognize_page`]):
//! 1. decode ([`input`]) to 8-bit grey, keeping the original data for the PDF;
//! 2. skew: Leptonica's sweep-and-search over +/- 10 degrees, rotation when it is sure;
//! 3. recognition with page segmentation mode 3 and the TSV output ([`tsv`]);
//! 4. orientation, only when the page did not read well as it lies: Tesseract's OSD on a
//!    half-size copy, quarter turns when its confidence passes
//!    [`OcrSettings::min_orientation_confidence`], then steps 2 and 3 again on the turned
//!    page (see [`recognize_page`]).
//!
//! Engines are expensive to start (hundreds of milliseconds), so an [`EnginePool`] keeps
//! them for reuse across pages and requests. [`job::run`] spreads the pages of a document over
//! threads with a bounded number of pages in memory. Synchronous: async callers go through
//! the `pipeline`.

pub mod input;
pub mod job;
pub mod layout;
pub mod metadata;
pub mod pdf_input;
mod tess;
pub mod tsv;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Mutex;

use serde::Serialize;

use crate::error::{Coded, ErrorClass};
use input::PageImage;
use tess::{Pix, TessApi};
use tsv::Line;

/// Tesseract languages joined by `+`, e.g. `vie+eng` (the default: Vietnamese first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Languages(Vec<String>);

impl Languages {
    /// The individual language codes, in priority order.
    pub fn codes(&self) -> &[String] {
        &self.0
    }
}

impl Default for Languages {
    fn default() -> Self {
        Self(vec!["vie".to_owned(), "eng".to_owned()])
    }
}

impl FromStr for Languages {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let codes: Vec<String> = text.split('+').map(str::to_owned).collect();
        let valid = |code: &String| {
            !code.is_empty()
                && code
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        if codes.iter().all(valid) {
            Ok(Self(codes))
        } else {
            Err(format!(
                "expected Tesseract language codes joined by '+', e.g. vie+eng; got {text:?}"
            ))
        }
    }
}

impl fmt::Display for Languages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("+"))
    }
}

/// Initializes one Tesseract engine with `languages` and drops it: proves that the library
/// loads and every language pack is installed. Costs a few hundred milliseconds.
///
/// # Errors
/// [`OcrError::LanguageMissing`] naming the first language whose pack is absent, or
/// [`OcrError::EngineInit`] when Tesseract itself cannot start.
pub fn probe(languages: &Languages) -> Result<(), OcrError> {
    probe_each(languages)?;
    match tesseract::Tesseract::new(None, Some(&languages.to_string())) {
        Ok(_) => Ok(()),
        Err(_) => Err(OcrError::EngineInit {
            languages: languages.to_string(),
        }),
    }
}

/// Folders where Tesseract's data may be: `TESSDATA_PREFIX` first, then where Debian and
/// source builds install it.
pub fn tessdata_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(prefix) = std::env::var_os("TESSDATA_PREFIX") {
        let prefix = PathBuf::from(prefix);
        dirs.push(prefix.join("tessdata"));
        dirs.push(prefix);
    }
    for dir in [
        "/usr/share/tesseract-ocr/5/tessdata",
        "/usr/share/tesseract-ocr/4.00/tessdata",
        "/usr/local/share/tessdata",
        "/usr/share/tessdata",
    ] {
        dirs.push(PathBuf::from(dir));
    }
    dirs.retain(|dir| dir.is_dir());
    dirs
}

fn probe_each(languages: &Languages) -> Result<(), OcrError> {
    // Each pack on its own: Tesseract initialized with `vie+xyz` only warns about a missing
    // secondary pack and goes on without it. Looking for the file is enough where the data
    // folder is known; starting an engine (a fifth of a second) only where it is not.
    let dirs = tessdata_dirs();
    for code in languages.codes() {
        let file = format!("{code}.traineddata");
        let installed = if dirs.is_empty() {
            tesseract::Tesseract::new(None, Some(code)).is_ok()
        } else {
            dirs.iter().any(|dir| dir.join(&file).is_file())
        };
        if !installed {
            return Err(OcrError::LanguageMissing {
                language: code.clone(),
            });
        }
    }
    Ok(())
}

/// Tuning of the page pipeline.
#[derive(Debug, Clone)]
pub struct OcrSettings {
    pub languages: Languages,
    /// Detect and fix pages scanned sideways or upside down.
    pub fix_orientation: bool,
    /// OSD confidence needed to turn a page. Tesseract reports 6 to 16 on rotated scans, so
    /// OCRmyPDF's default of 14 leaves most of them unturned; 5 turned every rotated page of
    /// the reference corpus and no upright one.
    pub min_orientation_confidence: f32,
    /// Straighten pages scanned at an angle (up to `max_skew_degrees`).
    pub deskew: bool,
    pub max_skew_degrees: f32,
    /// What to do with PDF pages that already have text.
    pub text_pages: pdf_input::TextPages,
}

impl Default for OcrSettings {
    fn default() -> Self {
        Self {
            languages: Languages::default(),
            fix_orientation: true,
            min_orientation_confidence: 5.0,
            deskew: true,
            max_skew_degrees: 10.0,
            text_pages: pdf_input::TextPages::Keep,
        }
    }
}

/// The engines one worker needs: recognition, and orientation detection.
pub struct Engines {
    ocr: TessApi,
    osd: Option<TessApi>,
}

/// Initialized engines kept for reuse. Checking one out takes an idle set or starts a new
/// one; returning it (on drop of [`PooledEngines`]) keeps it for the next page.
pub struct EnginePool {
    languages: Languages,
    idle: Mutex<Vec<Engines>>,
    /// Whether every language pack loads, checked once per pool.
    packs_checked: std::sync::OnceLock<Result<(), String>>,
}

impl EnginePool {
    pub fn new(languages: Languages) -> Self {
        Self {
            languages,
            idle: Mutex::new(Vec::new()),
            packs_checked: std::sync::OnceLock::new(),
        }
    }

    pub fn languages(&self) -> &Languages {
        &self.languages
    }

    /// An engine set for exclusive use until the guard is dropped.
    ///
    /// # Errors
    /// [`OcrError::LanguageMissing`] or [`OcrError::EngineInit`] when a new engine cannot start.
    pub fn checkout(&self) -> Result<PooledEngines<'_>, OcrError> {
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let engines = match idle {
            Some(engines) => engines,
            None => {
                // Tesseract starts without a missing secondary pack (it only warns), so
                // each pack is tried on its own, once.
                let checked = self.packs_checked.get_or_init(|| {
                    probe_each(&self.languages).map_err(|e| match e {
                        OcrError::LanguageMissing { language } => language,
                        other => other.to_string(),
                    })
                });
                if let Err(language) = checked {
                    return Err(OcrError::LanguageMissing {
                        language: language.clone(),
                    });
                }
                let ocr = TessApi::new(&self.languages.to_string()).ok_or_else(|| {
                    OcrError::EngineInit {
                        languages: self.languages.to_string(),
                    }
                })?;
                // The orientation engine starts on first need (see `recognize_page`).
                Engines { ocr, osd: None }
            }
        };
        Ok(PooledEngines {
            pool: self,
            engines: Some(engines),
        })
    }
}

/// Engines checked out of an [`EnginePool`]; they go back to the pool when dropped.
pub struct PooledEngines<'a> {
    pool: &'a EnginePool,
    engines: Option<Engines>,
}

impl std::ops::Deref for PooledEngines<'_> {
    type Target = Engines;
    fn deref(&self) -> &Engines {
        // Invariant: `engines` is Some from checkout until drop.
        self.engines
            .as_ref()
            .expect("engines are present until drop")
    }
}

impl std::ops::DerefMut for PooledEngines<'_> {
    fn deref_mut(&mut self) -> &mut Engines {
        self.engines
            .as_mut()
            .expect("engines are present until drop")
    }
}

impl Drop for PooledEngines<'_> {
    fn drop(&mut self) {
        if let (Some(engines), Ok(mut idle)) = (self.engines.take(), self.pool.idle.lock()) {
            idle.push(engines);
        }
    }
}

/// What was recognized on one page, in the coordinates of the corrected (upright,
/// straightened) page.
#[derive(Debug, Clone, Serialize)]
pub struct PageResult {
    /// Size of the corrected page in pixels (width and height swap on quarter turns).
    pub width: u32,
    pub height: u32,
    /// Resolution of the corrected page.
    pub dpi: (f32, f32),
    /// Quarter turns applied, in degrees clockwise: 0, 90, 180 or 270.
    pub rotation_degrees: u32,
    /// Tesseract's orientation confidence, when detection ran and found text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orientation_confidence: Option<f32>,
    /// Rotation applied to straighten the page, degrees clockwise (0 when none).
    pub skew_degrees: f32,
    /// Mean word confidence, 0 to 100.
    pub mean_confidence: i32,
    #[serde(skip)]
    pub lines: Vec<Line>,
    #[serde(skip)]
    pub text: String,
}

/// Mean confidence above which a page read as it lies is taken to be upright, so
/// orientation detection is skipped. Upright pages of the reference corpora score 74 to 96;
/// pages lying on their side or upside down score about 45.
const UPRIGHT_CONFIDENCE: i32 = 65;

/// Runs skew correction and recognition on one page, and orientation detection when the
/// page does not read well as it lies.
///
/// Orientation detection (OSD) costs a fifth of a page's recognition, and almost every
/// scan is upright, so the page is first read as it lies: when that reads with good
/// confidence and horizontal words, it is upright. Otherwise OSD decides the quarter turns,
/// and the turned page is read again; the better reading wins.
///
/// # Errors
/// [`OcrError::Engine`] when Tesseract or Leptonica fails on the page.
pub fn recognize_page(
    engines: &mut Engines,
    page: &PageImage,
    settings: &OcrSettings,
) -> Result<PageResult, OcrError> {
    let failed = |step: &str| engine_failed(page, step);
    let dpi = engine_dpi(page);
    let original =
        Pix::from_gray(page.width, page.height, &page.gray, dpi).ok_or_else(|| failed("image"))?;
    let as_scanned = read_turned(engines, &original, 0, page, settings)?;
    if !settings.fix_orientation
        || (as_scanned.mean_confidence >= UPRIGHT_CONFIDENCE && !mostly_vertical(&as_scanned.lines))
    {
        return Ok(as_scanned);
    }
    if engines.osd.is_none() {
        engines.osd = TessApi::new("osd");
    }
    let Some(osd) = engines.osd.as_mut() else {
        return Ok(as_scanned); // no orientation data installed: keep the reading as it lies
    };
    // OSD needs only the shapes of letters: half resolution is enough and 4x cheaper.
    let small = original.half().ok_or_else(|| failed("orientation"))?;
    let found = osd.detect_orientation(&small, (dpi / 2).max(1));
    let vertical = mostly_vertical(&as_scanned.lines);
    let confident = found.filter(|f| f.confidence >= settings.min_orientation_confidence);
    let candidates: Vec<u32> = match (confident, vertical) {
        (Some(found), _) => vec![(360 - found.degrees) % 360],
        // Tesseract read the page as vertical text but OSD is unsure which way it lies: the
        // page is on its side, so try both quarter turns and keep the better reading.
        (None, true) => vec![90, 270],
        (None, false) => Vec::new(),
    };
    let mut best = as_scanned;
    best.orientation_confidence = found.map(|f| f.confidence);
    for turns in candidates.into_iter().filter(|turns| *turns != 0) {
        let mut turned = read_turned(engines, &original, turns, page, settings)?;
        turned.orientation_confidence = best.orientation_confidence;
        let best_is_vertical = mostly_vertical(&best.lines);
        if (best_is_vertical && !mostly_vertical(&turned.lines))
            || turned.mean_confidence > best.mean_confidence
        {
            best = turned;
        }
    }
    Ok(best)
}

fn engine_failed(page: &PageImage, step: &str) -> OcrError {
    OcrError::Engine {
        page: page.label.clone(),
        step: step.to_owned(),
    }
}

/// The resolution Tesseract is told: the scan's horizontal one, in whole dpi.
fn engine_dpi(page: &PageImage) -> u32 {
    page.dpi.0.round().max(1.0) as u32
}

/// Turns `original` clockwise by `degrees` (a multiple of 90), straightens and reads it.
fn read_turned(
    engines: &mut Engines,
    original: &Pix,
    degrees: u32,
    page: &PageImage,
    settings: &OcrSettings,
) -> Result<PageResult, OcrError> {
    let failed = |step: &str| engine_failed(page, step);
    let dpi = engine_dpi(page);
    let turned = match degrees {
        0 => None,
        degrees => Some(
            original
                .rotate_orth(degrees / 90)
                .ok_or_else(|| failed("rotation"))?,
        ),
    };
    let upright = turned.as_ref().unwrap_or(original);
    let mut skew_degrees = 0.0;
    let mut straight = None;
    if settings.deskew
        && let Some((angle, confidence)) = upright.find_skew(settings.max_skew_degrees)
    {
        // Leptonica's own thresholds in pixDeskew: below 0.1 degree or confidence 3 a
        // rotation would only blur the page.
        if angle.abs() >= 0.1 && confidence >= 3.0 && angle.abs() <= settings.max_skew_degrees {
            straight = Some(upright.rotate(angle).ok_or_else(|| failed("deskew"))?);
            skew_degrees = angle;
        }
    }
    let final_pix = straight.as_ref().unwrap_or(upright);
    let (tsv_text, mean_confidence) = engines
        .ocr
        .recognize_tsv(final_pix, dpi)
        .ok_or_else(|| failed("recognition"))?;
    let lines = tsv::parse(&tsv_text);
    let text = tsv::plain_text(&layout::reading_order(&lines));
    let quarter = degrees % 180 == 90;
    Ok(PageResult {
        width: final_pix.width(),
        height: final_pix.height(),
        dpi: if quarter {
            (page.dpi.1, page.dpi.0)
        } else {
            page.dpi
        },
        rotation_degrees: degrees,
        orientation_confidence: None,
        skew_degrees,
        mean_confidence,
        lines,
        text,
    })
}

/// Whether most words are taller than wide: Tesseract read a page lying on its side as
/// vertical text, which reads fine but cannot be laid over the page as horizontal text.
fn mostly_vertical(lines: &[Line]) -> bool {
    let words: Vec<_> = lines
        .iter()
        .flat_map(|line| &line.words)
        .filter(|word| word.text.chars().count() >= 3)
        .collect();
    let vertical = words
        .iter()
        .filter(|word| word.bbox.height > word.bbox.width)
        .count();
    !words.is_empty() && vertical * 2 > words.len()
}

/// Failures of the OCR stage. Each names the file (and page) it is about.
#[derive(Debug, thiserror::Error)]
pub enum OcrError {
    #[error("{file}, page {page}: damaged or truncated image: {reason}")]
    Corrupt {
        file: String,
        page: usize,
        reason: String,
    },
    #[error("{page}: the OCR engine failed at the {step} step")]
    Engine { page: String, step: String },
    #[error("Tesseract could not start with languages {languages}")]
    EngineInit { languages: String },
    #[error(
        "Tesseract language pack `{language}` is not installed (Debian: tesseract-ocr-{language})"
    )]
    LanguageMissing { language: String },
    #[error("cannot write {path}: {reason}")]
    Output { path: String, reason: String },
    #[error(
        "{file}, page {page}: {width} x {height} pixels is larger than hoso accepts (at most {max_side} per side, {max_pixels} in all)",
        max_side = input::MAX_SIDE,
        max_pixels = input::MAX_PIXELS
    )]
    TooLarge {
        file: String,
        page: usize,
        width: u32,
        height: u32,
    },
    #[error("{file}: cannot read: {reason}")]
    Unreadable { file: String, reason: String },
    #[error("{file}: unsupported input: {reason}")]
    Unsupported { file: String, reason: String },
}

impl Coded for OcrError {
    fn code(&self) -> &'static str {
        match self {
            OcrError::Corrupt { .. } => "image-corrupt",
            OcrError::Engine { .. } => "ocr-failed",
            OcrError::EngineInit { .. } => "ocr-engine-unavailable",
            OcrError::LanguageMissing { .. } => "ocr-language-missing",
            OcrError::TooLarge { .. } => "image-too-large",
            OcrError::Unreadable { .. } => "input-unreadable",
            OcrError::Unsupported { .. } => "input-unsupported",
            OcrError::Output { .. } => "output-unwritable",
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            OcrError::EngineInit { .. } | OcrError::LanguageMissing { .. } => {
                ErrorClass::Unavailable
            }
            OcrError::Engine { .. } | OcrError::Output { .. } => ErrorClass::Internal,
            OcrError::Corrupt { .. }
            | OcrError::TooLarge { .. }
            | OcrError::Unreadable { .. }
            | OcrError::Unsupported { .. } => ErrorClass::InvalidInput,
        }
    }

    fn message_vi(&self) -> String {
        match self {
            OcrError::Corrupt { file, page, .. } => {
                format!("Tệp {file}, trang {page}: ảnh bị hỏng hoặc không đầy đủ.")
            }
            OcrError::Engine { page, .. } => format!("{page}: bộ nhận dạng chữ gặp lỗi."),
            OcrError::TooLarge {
                file,
                page,
                width,
                height,
            } => {
                format!(
                    "Tệp {file}, trang {page}: ảnh {width} x {height} điểm ảnh vượt quá kích thước cho phép."
                )
            }
            OcrError::Unreadable { file, .. } => format!("Không đọc được tệp {file}."),
            OcrError::Unsupported { file, .. } => {
                format!(
                    "Tệp {file} không được hỗ trợ (cần PNG, JPEG, TIFF hoặc PDF ảnh quét không mã hóa)."
                )
            }
            OcrError::Output { path, .. } => format!("Không ghi được tệp kết quả {path}."),
            OcrError::EngineInit { languages } => {
                format!("Không khởi động được bộ nhận dạng chữ Tesseract ({languages}).")
            }
            OcrError::LanguageMissing { language } => {
                format!(
                    "Chưa cài gói ngôn ngữ nhận dạng `{language}` (gói tesseract-ocr-{language})."
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_parse_and_print_in_tesseract_form() {
        let langs: Languages = "vie+eng".parse().unwrap();
        assert_eq!(langs.codes(), ["vie", "eng"]);
        assert_eq!(langs.to_string(), "vie+eng");
        assert_eq!(Languages::default(), langs);
    }

    #[test]
    fn malformed_language_lists_are_rejected() {
        for bad in ["", "vie+", "VIE", "vie eng", "../etc"] {
            assert!(
                bad.parse::<Languages>().is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn a_missing_language_pack_is_named() {
        let langs: Languages = "vie+zzz_not_installed".parse().unwrap();
        match probe(&langs) {
            // scripts/install-deps installs vie, so the fake pack is the first one missing.
            Err(OcrError::LanguageMissing { language }) => {
                assert_eq!(language, "zzz_not_installed")
            }
            other => panic!("expected a missing-language error, got {other:?}"),
        }
    }
}
