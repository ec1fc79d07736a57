//! OCR stage: page images in, recognized words out (Tesseract, in-process).
//!
//! Synchronous and free of I/O frameworks: callers (the `pipeline`) run it on blocking
//! threads. This module grows with the digitize issue (#3); today it owns the language
//! setting and the start-up probe that tells an operator at once when a Tesseract language
//! pack is missing, instead of at the first scan.

use std::fmt;
use std::str::FromStr;

use crate::error::{Coded, ErrorClass};

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
    // Each pack on its own: Tesseract initialized with `vie+xyz` only warns about a missing
    // secondary pack and goes on without it.
    for code in languages.codes() {
        if tesseract::Tesseract::new(None, Some(code)).is_err() {
            return Err(OcrError::LanguageMissing {
                language: code.clone(),
            });
        }
    }
    match tesseract::Tesseract::new(None, Some(&languages.to_string())) {
        Ok(_) => Ok(()),
        Err(_) => Err(OcrError::EngineInit {
            languages: languages.to_string(),
        }),
    }
}

/// Failures of the OCR stage.
#[derive(Debug, thiserror::Error)]
pub enum OcrError {
    #[error("Tesseract could not start with languages {languages}")]
    EngineInit { languages: String },
    #[error(
        "Tesseract language pack `{language}` is not installed (Debian: tesseract-ocr-{language})"
    )]
    LanguageMissing { language: String },
}

impl Coded for OcrError {
    fn code(&self) -> &'static str {
        match self {
            OcrError::EngineInit { .. } => "ocr-engine-unavailable",
            OcrError::LanguageMissing { .. } => "ocr-language-missing",
        }
    }

    fn class(&self) -> ErrorClass {
        ErrorClass::Unavailable
    }

    fn message_vi(&self) -> String {
        match self {
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
