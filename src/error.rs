//! The crate-level error: one enum that wraps each layer's error, and the three things every
//! error must say about itself: a stable code for scripts, a class that decides the HTTP status
//! and the exit code, and a message in Vietnamese for the person at the counter.
//!
//! Each layer (config, ocr, pdf, pades, trust, archive) owns its own `thiserror` enum; this
//! module only joins them. The mapping to HTTP lives once in `http::error`, the mapping to exit
//! codes once in `main.rs`.

use crate::archive::ArchiveError;
use crate::auth::AuthError;
use crate::config::ConfigError;
use crate::http::error::HttpError;
use crate::ocr::OcrError;
use crate::pades::PadesError;
use crate::pdf::PdfError;
use crate::trust::TrustError;

/// `Result` with the crate's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure this is, independent of where it happened. HTTP status codes and
/// process exit codes are derived from this alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The request conflicts with what is stored (e.g. a code already used).
    Conflict,
    /// Something the server relies on failed; details go to the log, not to the client.
    Internal,
    /// The caller sent something unusable: bad file, bad value, bad flag.
    InvalidInput,
    /// The thing asked for does not exist.
    NotFound,
    /// The feature exists in the interface but not yet in this build.
    NotImplemented,
    /// A dependency (database, storage) is unreachable right now; retrying may help.
    Unavailable,
    /// The request itself is malformed (broken JSON or multipart), before its meaning is read.
    BadRequest,
    /// No valid session or token came with the request.
    Unauthenticated,
    /// The caller is known but may not do this to this object.
    Forbidden,
    /// The body is larger than allowed.
    TooLarge,
    /// Too many attempts; retry later.
    RateLimited,
    /// The body is not of a media type the route accepts.
    UnsupportedMediaType,
}

/// Implemented by every layer's error enum.
pub trait Coded {
    /// Stable, kebab-case identifier that scripts and API clients match on. Never changes
    /// once published.
    fn code(&self) -> &'static str;
    /// The class that decides the HTTP status and exit code.
    fn class(&self) -> ErrorClass;
    /// One sentence in Vietnamese for the user; the English `Display` text is the second line.
    fn message_vi(&self) -> String;
}

/// Any error hoso reports.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Http(#[from] HttpError),
    /// A blocking task panicked or was cancelled; a bug, never the user's fault.
    #[error("background task failed: {0}")]
    Task(String),
    #[error("`{command}` is not available in this version yet")]
    NotImplemented { command: &'static str },
    #[error(transparent)]
    Ocr(#[from] OcrError),
    #[error(transparent)]
    Pades(#[from] PadesError),
    #[error(transparent)]
    Pdf(#[from] PdfError),
    #[error(transparent)]
    Trust(#[from] TrustError),
    #[error(transparent)]
    TrustAdmin(#[from] crate::pipeline::trust_admin::TrustAdminError),
}

impl Coded for Error {
    fn code(&self) -> &'static str {
        match self {
            Error::Archive(e) => e.code(),
            Error::Auth(e) => e.code(),
            Error::Config(e) => e.code(),
            Error::Http(e) => e.code(),
            Error::Task(_) => "internal-task-failed",
            Error::NotImplemented { .. } => "not-implemented",
            Error::Ocr(e) => e.code(),
            Error::Pades(e) => e.code(),
            Error::Pdf(e) => e.code(),
            Error::Trust(e) => e.code(),
            Error::TrustAdmin(e) => e.code(),
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            Error::Archive(e) => e.class(),
            Error::Auth(e) => e.class(),
            Error::Config(e) => e.class(),
            Error::Http(e) => e.class(),
            Error::Task(_) => ErrorClass::Internal,
            Error::NotImplemented { .. } => ErrorClass::NotImplemented,
            Error::Ocr(e) => e.class(),
            Error::Pades(e) => e.class(),
            Error::Pdf(e) => e.class(),
            Error::Trust(e) => e.class(),
            Error::TrustAdmin(e) => e.class(),
        }
    }

    fn message_vi(&self) -> String {
        match self {
            Error::Archive(e) => e.message_vi(),
            Error::Auth(e) => e.message_vi(),
            Error::Config(e) => e.message_vi(),
            Error::Http(e) => e.message_vi(),
            Error::Task(_) => "Lỗi nội bộ khi xử lý tác vụ nền.".to_owned(),
            Error::NotImplemented { command } => {
                format!("Lệnh `{command}` chưa có trong phiên bản này.")
            }
            Error::Ocr(e) => e.message_vi(),
            Error::Pades(e) => e.message_vi(),
            Error::Pdf(e) => e.message_vi(),
            Error::Trust(e) => e.message_vi(),
            Error::TrustAdmin(e) => e.message_vi(),
        }
    }
}
