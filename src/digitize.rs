//! The digitize job: scanned files in, a searchable PDF plus text, word boxes and
//! administrative metadata out.
//!
//! Joins the OCR stage (pages recognized in parallel, in order) to the PDF writer (pages
//! streamed to disk as they arrive). The PDF is written to a temporary file beside the
//! output and renamed into place only when complete, so a failure never leaves a partial
//! file behind. Synchronous; the `pipeline` runs it on a blocking thread for the service.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::ocr::job::{self, DonePage};
use crate::ocr::metadata::{self, DocumentMetadata};
use crate::ocr::tsv::Word;
use crate::ocr::{EnginePool, OcrError, OcrSettings, PageResult};
use crate::pdf::searchable::{DocumentInfo, SearchablePdf};

/// How to digitize.
#[derive(Debug, Clone)]
pub struct DigitizeOptions {
    pub ocr: OcrSettings,
    /// Pages recognized at once.
    pub jobs: usize,
    pub info: DocumentInfo,
}

/// One page of the result.
#[derive(Debug, Clone, Serialize)]
pub struct DigitizedPage {
    /// 1-based page number in the output PDF.
    pub page: usize,
    /// Which input file (and page of it) this came from.
    pub source: String,
    /// Where the text comes from: OCR, or the page's own text (a PDF page kept as it was).
    pub text_source: TextSource,
    pub text: String,
    /// Orientation, skew, confidence and size of an OCRed page.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub ocr: Option<PageResult>,
    /// Words with boxes in pixels of the corrected page (OCRed pages only).
    pub words: Vec<Word>,
}

/// Where a page's text comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TextSource {
    Ocr,
    Original,
}

/// The whole document.
#[derive(Debug, Clone, Serialize)]
pub struct Digitized {
    pub languages: String,
    pub page_count: usize,
    pub metadata: DocumentMetadata,
    pub pages: Vec<DigitizedPage>,
}

impl Digitized {
    /// The text of all pages, separated by form feeds (as OCRmyPDF's sidecar).
    pub fn text(&self) -> String {
        let pages: Vec<&str> = self.pages.iter().map(|p| p.text.as_str()).collect();
        pages.join("\u{c}")
    }
}

/// OCRs `inputs` (in order) into the searchable PDF `output`. `on_page` is told the number
/// of each page written (for progress display).
///
/// # Errors
/// Any input, OCR or output error; `output` is then left untouched.
pub fn digitize(
    inputs: &[PathBuf],
    output: &Path,
    options: &DigitizeOptions,
    pool: &EnginePool,
    on_page: &dyn Fn(usize),
) -> Result<Digitized> {
    let output_error = |e: std::io::Error| OcrError::Output {
        path: output.display().to_string(),
        reason: e.to_string(),
    };
    let directory = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let temporary = tempfile::Builder::new()
        .prefix(".hoso-ocr-")
        .suffix(".part")
        .tempfile_in(directory)
        .map_err(output_error)?;
    let writer = BufWriter::with_capacity(
        1 << 20,
        temporary.as_file().try_clone().map_err(output_error)?,
    );
    let mut pdf = SearchablePdf::new(writer)?;
    let mut pages = Vec::new();
    let mut pdf_error = None;
    job::run(inputs, options.jobs, &options.ocr, pool, |index, done| {
        let (added, page) = match done {
            DonePage::Recognized(image, result) => {
                let words = result
                    .lines
                    .iter()
                    .flat_map(|line| line.words.iter().cloned())
                    .collect();
                let added = pdf.add_page(&image, &result);
                let page = DigitizedPage {
                    page: index + 1,
                    source: image.label,
                    text_source: TextSource::Ocr,
                    text: result.text.clone(),
                    ocr: Some(result),
                    words,
                };
                (added, page)
            }
            DonePage::Kept(kept) => {
                let added = pdf.add_kept_page(&kept);
                let page = DigitizedPage {
                    page: index + 1,
                    source: kept.label,
                    text_source: TextSource::Original,
                    text: kept.text,
                    ocr: None,
                    words: Vec::new(),
                };
                (added, page)
            }
        };
        if let Err(e) = added {
            pdf_error = Some(e);
            return Err(OcrError::Output {
                path: output.display().to_string(),
                reason: "PDF writer failed".to_owned(),
            });
        }
        pages.push(page);
        on_page(index + 1);
        Ok(())
    })
    .map_err(|e| match pdf_error.take() {
        Some(pdf_error) => Error::from(pdf_error),
        None => Error::from(e),
    })?;
    let writer = pdf.finish(&options.info)?;
    let file = writer
        .into_inner()
        .map_err(|e| output_error(e.into_error()))?;
    // Durable before visible: data on disk, then the name.
    file.sync_all().map_err(output_error)?;
    // Temporary files are private (0600); the result gets ordinary permissions.
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(output_error)?;
    }
    temporary
        .persist(output)
        .map_err(|e| output_error(e.error))?;
    if let Ok(dir) = File::open(directory) {
        let _ = dir.sync_all();
    }
    let first_pages: String = pages
        .iter()
        .take(2)
        .map(|p| p.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    Ok(Digitized {
        languages: pool.languages().to_string(),
        page_count: pages.len(),
        metadata: metadata::extract(&first_pages),
        pages,
    })
}
