//! Verifying a file that is not (yet) in the archive: what anyone uploads to the public
//! verification page or `POST /api/v1/verify`, a PDF with its signatures or any file with a
//! detached CMS signature over it. Nothing is stored; the report is the answer (an invalid
//! signature is a verdict, not an error). The same checks as `hoso verify`, with the
//! pipeline's trust store, under its CPU limit.

use std::path::Path;
use std::sync::Arc;

use time::OffsetDateTime;

use super::Pipeline;
use crate::error::{Error, Result};
use crate::ocr::OcrError;
use crate::verify::status::EvidencePool;
use crate::verify::{Policy, Report, VerifyError, VerifyOptions, verify_detached, verify_pdf};

impl Pipeline {
    /// Verifies the PDF at `path` (a temporary file the caller streamed the upload into),
    /// or, when `detached` holds a signature file, that detached CMS signature over the
    /// file's bytes; at `now`, with the pipeline's trust anchors, without fetching revocation
    /// data when `offline`. `display_name` is the name the report shows.
    ///
    /// # Errors
    /// `input-unreadable` when the file cannot be opened; `pdf-malformed` or `pdf-encrypted`
    /// when it is not a PDF hoso can read (client errors, never a 500); the trust store
    /// failing to load.
    pub async fn verify_file(
        self: &Arc<Self>,
        path: &Path,
        display_name: &str,
        detached: Option<Vec<u8>>,
        offline: bool,
        now: OffsetDateTime,
    ) -> Result<Report> {
        let trust = self.trust()?;
        let path = path.to_owned();
        let name = display_name.to_owned();
        // Messages name the upload, never the temporary file behind it.
        let unreadable = {
            let name = name.clone();
            move |e: &std::io::Error| {
                Error::Ocr(OcrError::Unreadable {
                    file: name.clone(),
                    reason: e.to_string(),
                })
            }
        };
        self.run_blocking(move || {
            let file = std::fs::File::open(&path).map_err(|e| unreadable(&e))?;
            let bytes = crate::verify::map_file(&file).map_err(|e| unreadable(&e))?;
            let options = VerifyOptions {
                trust: &trust,
                at: now,
                offline,
                policy: Policy::Strict,
                supplied: EvidencePool::default(),
            };
            match detached {
                Some(signature) => Ok(verify_detached(&bytes, &signature, &name, &options)),
                None => verify_pdf(&bytes, &name, &options).map_err(|e| match e {
                    VerifyError::NotPdf(pdf) => Error::Pdf(pdf),
                    VerifyError::Unreadable { source, .. } => unreadable(&source),
                }),
            }
        })
        .await
    }
}
