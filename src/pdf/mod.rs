//! PDF stage: reading and writing PDF structure (lopdf), synchronous, bytes in and out.
//!
//! Builds searchable PDFs from OCR output (issue #3) and gives the PAdES stage the revisions,
//! byte ranges and incremental updates it needs (issues #4, #5). It knows nothing of HTTP,
//! SQL or async runtimes.

pub mod font;
pub mod incremental;
pub mod reader;
pub mod searchable;

use crate::error::{Coded, ErrorClass};

/// Failures of the PDF stage.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("the PDF is encrypted; hoso needs an unencrypted file")]
    Encrypted,
    #[error("not a readable PDF: {reason}")]
    Malformed { reason: String },
    #[error("writing the PDF failed: {reason}")]
    Write { reason: String },
    #[error("font {font} has no glyph for {character:?} (U+{:04X})", u32::from(*.character))]
    MissingGlyph { font: String, character: char },
    #[error("embedding the font failed: {reason}")]
    FontEmbedding { reason: String },
}

impl From<lopdf::Error> for PdfError {
    fn from(e: lopdf::Error) -> Self {
        PdfError::Malformed {
            reason: e.to_string(),
        }
    }
}

impl Coded for PdfError {
    fn code(&self) -> &'static str {
        match self {
            PdfError::Encrypted => "pdf-encrypted",
            PdfError::Malformed { .. } => "pdf-malformed",
            PdfError::Write { .. } => "pdf-write-failed",
            PdfError::MissingGlyph { .. } => "font-missing-glyph",
            PdfError::FontEmbedding { .. } => "font-embedding-failed",
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            PdfError::Write { .. } | PdfError::FontEmbedding { .. } => ErrorClass::Internal,
            _ => ErrorClass::InvalidInput,
        }
    }

    fn message_vi(&self) -> String {
        match self {
            PdfError::Encrypted => {
                "Tệp PDF đã bị mã hóa; hãy gửi tệp không đặt mật khẩu.".to_owned()
            }
            PdfError::Malformed { .. } => "Tệp không phải PDF hợp lệ hoặc đã bị hỏng.".to_owned(),
            PdfError::Write { .. } => "Không ghi được tệp PDF kết quả.".to_owned(),
            PdfError::MissingGlyph { font, character } => format!(
                "Phông chữ {font} không có ký tự “{character}” (U+{:04X}); hãy bỏ ký tự này khỏi nội dung hiển thị.",
                u32::from(*character)
            ),
            PdfError::FontEmbedding { .. } => "Không nhúng được phông chữ vào tệp PDF.".to_owned(),
        }
    }
}

/// Number of pages, as a first structural check of an uploaded PDF.
///
/// # Errors
/// [`PdfError::Malformed`] when lopdf cannot parse the file, [`PdfError::Encrypted`] when it
/// is encrypted.
pub fn page_count(bytes: &[u8]) -> Result<usize, PdfError> {
    let document = lopdf::Document::load_mem(bytes)?;
    if document.is_encrypted() {
        return Err(PdfError::Encrypted);
    }
    Ok(document.get_pages().len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_pdf_has_one_page() {
        let bytes = include_bytes!("../../samples/cong-van.pdf");
        assert_eq!(page_count(bytes).unwrap(), 1);
    }

    #[test]
    fn garbage_is_a_malformed_pdf_not_a_panic() {
        assert!(matches!(
            page_count(b"%PDF-1.7\nnot really"),
            Err(PdfError::Malformed { .. })
        ));
        assert!(matches!(page_count(b""), Err(PdfError::Malformed { .. })));
    }
}
