//! Where a visible signature goes and what it says, per Decree 30/2020 Appendix I
//! (vn-standards.md §1.3–1.5):
//! - official: the signer's signature image (blue PNG) between the title and the name, at a
//!   given rectangle or under a text anchor (the title, e.g. "CHỦ TỊCH");
//! - organization: the seal (red PNG) at its real size over the left third of the official's
//!   signature image, with the organization, e-mail and signing time; only after the
//!   official has signed (art. 32(2)(d));
//! - copy / attachment: a text-only stamp at the top right of page 1, 10 pt.

use std::path::{Path, PathBuf};

use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::PadesError;
use super::appearance::{self, Appearance, AppearanceError};
use super::document;
use super::sign::Visible;
use crate::pdf::incremental::PdfRevision;

/// Which layout.
#[derive(Debug, Clone)]
pub enum RequestKind {
    None,
    Official,
    Organization,
    Copy { copy_type: String },
    Attachment { doc_number: Option<String> },
}

/// The caller's wishes; anything left out is derived from the document and certificate.
#[derive(Debug, Clone)]
pub struct AppearanceRequest {
    pub kind: RequestKind,
    pub image: Option<PathBuf>,
    /// 0-based page.
    pub page: Option<usize>,
    pub rect: Option<[f64; 4]>,
    pub anchor: Option<String>,
    pub seal_diameter_mm: f64,
    pub organization: Option<String>,
    pub time_format: String,
    pub qr_base_url: Option<String>,
}

/// Largest signature image accepted, before decoding.
const MAX_IMAGE_BYTES: u64 = 20 * 1024 * 1024;
/// Default height of the official's signature image: 25 mm (Decree 30 gives no number;
/// 20–30 mm is what signing tools use, vn-standards §1.3).
const SIGNATURE_HEIGHT_PT: f64 = 25.0 * 72.0 / 25.4;
/// And at most 60 mm wide.
const SIGNATURE_MAX_WIDTH_PT: f64 = 60.0 * 72.0 / 25.4;

/// Works out the visible signature for `input`, or `None` for an invisible one.
///
/// # Errors
/// Missing or unusable image, anchor not found, no official signature to seal, page out
/// of range.
pub fn plan(
    input: &Path,
    request: &AppearanceRequest,
    signer_certificate: &[u8],
    now: OffsetDateTime,
) -> Result<Option<Visible>, PadesError> {
    if matches!(request.kind, RequestKind::None) {
        return Ok(None);
    }
    let revision = PdfRevision::open(input)?;
    let page_count = revision.document.get_pages().len();
    if let Some(page) = request.page
        && page >= page_count
    {
        return Err(PadesError::PageOutOfRange {
            page: page + 1,
            pages: page_count,
        });
    }
    let subject = certificate_names(signer_certificate);
    let organization = request
        .organization
        .clone()
        .or(subject.organization)
        .or(subject.common_name)
        .unwrap_or_default();
    let time_text = format!("Thời gian ký: {}", format_time(now, &request.time_format));
    let qr = match &request.qr_base_url {
        Some(base) => Some(format!(
            "{}/verify/{}",
            base.trim_end_matches('/'),
            file_sha256(input)?
        )),
        None => None,
    };

    let visible = match &request.kind {
        RequestKind::None => return Ok(None),
        RequestKind::Official => {
            let png = read_image(request.image.as_deref())?;
            let (page, rect) = match (request.rect, &request.anchor) {
                (Some(rect), _) => (request.page.unwrap_or(page_count - 1), rect),
                (None, Some(anchor)) => {
                    let hit = appearance::find_anchor(input, request.page, anchor)?;
                    let (width, height) = signature_size(&png)?;
                    (
                        hit.page,
                        appearance::official_rect_below(&hit, width, height),
                    )
                }
                (None, None) => return Err(AppearanceError::PositionMissing.into()),
            };
            Visible {
                page,
                rect,
                appearance: Appearance::Official { signature_png: png },
                qr,
            }
        }
        RequestKind::Organization => {
            let png = read_image(request.image.as_deref())?;
            let mut lines = vec![organization];
            if let Some(email) = subject.email {
                lines.push(format!("Email: {email}"));
            }
            lines.push(time_text);
            let seal_pt = request.seal_diameter_mm * 72.0 / 25.4;
            let (page, rect) = match request.rect {
                Some(rect) => (request.page.unwrap_or(page_count - 1), rect),
                None => {
                    let (page, official) = official_signature(&revision)?;
                    let block = appearance::organization_side_size(&lines, qr.is_some())?;
                    // Laid out on the page as displayed, then turned into user space.
                    let page_id = document::page_id(&revision, page)?;
                    let page_box = document::page_box(&revision, page_id);
                    let rotation = appearance::page_rotation(&revision.document, page_id);
                    let shown = appearance::seal_rect(
                        appearance::user_to_displayed(page_box, rotation, official),
                        seal_pt,
                        block,
                    );
                    (
                        page,
                        appearance::displayed_to_user(page_box, rotation, shown),
                    )
                }
            };
            Visible {
                page,
                rect,
                appearance: Appearance::Organization {
                    seal_png: png,
                    seal_diameter_mm: request.seal_diameter_mm,
                    lines,
                },
                qr,
            }
        }
        RequestKind::Copy { copy_type } => stamp(
            &revision,
            request,
            vec![copy_type.clone(), organization, time_text],
            qr,
        )?,
        RequestKind::Attachment { doc_number } => {
            let number = doc_number
                .clone()
                .ok_or(AppearanceError::DocNumberMissing)?;
            stamp(&revision, request, vec![number, time_text], qr)?
        }
    };
    // A rectangle given by hand must lie on the page (a widget off the page is invisible).
    if let Some(rect) = request.rect {
        let page_box = document::page_box(&revision, document::page_id(&revision, visible.page)?);
        let (left, right) = (page_box[0].min(page_box[2]), page_box[0].max(page_box[2]));
        let (bottom, top) = (page_box[1].min(page_box[3]), page_box[1].max(page_box[3]));
        let inside = |v: f64, low: f64, high: f64| v >= low - 0.01 && v <= high + 0.01;
        if !(inside(rect[0], left, right)
            && inside(rect[2], left, right)
            && inside(rect[1], bottom, top)
            && inside(rect[3], bottom, top))
        {
            return Err(PadesError::RectOutsidePage {
                rect,
                page: visible.page + 1,
                page_box,
            });
        }
    }
    Ok(Some(visible))
}

fn stamp(
    revision: &PdfRevision,
    request: &AppearanceRequest,
    lines: Vec<String>,
    qr: Option<String>,
) -> Result<Visible, PadesError> {
    let page = request.page.unwrap_or(0);
    let rect = match request.rect {
        Some(rect) => rect,
        None => {
            let (width, height) = appearance::stamp_size(&lines, qr.is_some())?;
            let page_id = document::page_id(revision, page)?;
            // Laid out on the page as displayed, then turned into user space.
            let page_box = document::page_box(revision, page_id);
            let rotation = appearance::page_rotation(&revision.document, page_id);
            let shown = appearance::stamp_rect(
                appearance::displayed_box(page_box, rotation),
                width,
                height,
            );
            appearance::displayed_to_user(page_box, rotation, shown)
        }
    };
    Ok(Visible {
        page,
        rect,
        appearance: Appearance::Stamp { lines },
        qr,
    })
}

/// The page and rectangle of the latest visible signature (the official's, which the seal
/// must overlap).
fn official_signature(revision: &PdfRevision) -> Result<(usize, [f64; 4]), PadesError> {
    let pages: Vec<lopdf::ObjectId> = revision.document.get_pages().values().copied().collect();
    let mut found = None;
    for field in document::signature_fields(revision)? {
        if field.value.is_none() {
            continue;
        }
        let Some(widget) = field.widget.and_then(|w| revision.dictionary(w).ok()) else {
            continue;
        };
        let rect: Vec<f64> = widget
            .get(b"Rect")
            .ok()
            .and_then(|r| revision.resolve(r).ok())
            .and_then(|r| r.as_array().ok())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_float().ok().map(f64::from))
                    .collect()
            })
            .unwrap_or_default();
        if rect.len() != 4 || (rect[2] - rect[0]).abs() < 1.0 || (rect[3] - rect[1]).abs() < 1.0 {
            continue;
        }
        let page = widget
            .get(b"P")
            .ok()
            .and_then(|p| p.as_reference().ok())
            .and_then(|p| pages.iter().position(|id| *id == p))
            .unwrap_or(pages.len().saturating_sub(1));
        let normalized = [
            rect[0].min(rect[2]),
            rect[1].min(rect[3]),
            rect[0].max(rect[2]),
            rect[1].max(rect[3]),
        ];
        found = Some((page, normalized));
    }
    found.ok_or(PadesError::NoOfficialSignature)
}

fn read_image(path: Option<&Path>) -> Result<Vec<u8>, PadesError> {
    let path = path.ok_or(AppearanceError::ImageMissing)?;
    let size = std::fs::metadata(path)
        .map_err(|e| AppearanceError::ImageUnreadable {
            path: path.to_owned(),
            reason: e.to_string(),
        })?
        .len();
    if size > MAX_IMAGE_BYTES {
        return Err(AppearanceError::ImageTooLarge {
            reason: format!("{size} bytes (limit {MAX_IMAGE_BYTES})"),
        }
        .into());
    }
    std::fs::read(path).map_err(|e| {
        AppearanceError::ImageUnreadable {
            path: path.to_owned(),
            reason: e.to_string(),
        }
        .into()
    })
}

/// Size of the official's image: 25 mm high, aspect kept, at most 60 mm wide.
fn signature_size(png: &[u8]) -> Result<(f64, f64), PadesError> {
    let (w, h) = appearance::png_dimensions(png)?;
    let aspect = f64::from(w) / f64::from(h.max(1));
    let mut width = SIGNATURE_HEIGHT_PT * aspect;
    let mut height = SIGNATURE_HEIGHT_PT;
    if width > SIGNATURE_MAX_WIDTH_PT {
        height *= SIGNATURE_MAX_WIDTH_PT / width;
        width = SIGNATURE_MAX_WIDTH_PT;
    }
    Ok((width, height))
}

struct Names {
    organization: Option<String>,
    common_name: Option<String>,
    email: Option<String>,
}

fn certificate_names(der: &[u8]) -> Names {
    let mut names = Names {
        organization: None,
        common_name: None,
        email: None,
    };
    let Ok((_, cert)) = X509Certificate::from_der(der) else {
        return names;
    };
    let subject = cert.subject();
    names.organization = subject
        .iter_organization()
        .next()
        .and_then(|a| a.as_str().ok())
        .map(str::to_owned);
    names.common_name = subject
        .iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok())
        .map(str::to_owned);
    names.email = subject
        .iter_email()
        .next()
        .and_then(|a| a.as_str().ok())
        .map(str::to_owned)
        .or_else(|| {
            cert.subject_alternative_name()
                .ok()
                .flatten()
                .and_then(|san| {
                    san.value.general_names.iter().find_map(|n| match n {
                        x509_parser::prelude::GeneralName::RFC822Name(mail) => {
                            Some((*mail).to_owned())
                        }
                        _ => None,
                    })
                })
        });
    names
}

/// Renders `time` in Vietnam's zone (UTC+7) with a pattern of dd, MM, yyyy, HH, mm, ss.
pub fn format_time(time: OffsetDateTime, pattern: &str) -> String {
    let local = time.to_offset(time::macros::offset!(+7));
    pattern
        .replace("yyyy", &format!("{:04}", local.year()))
        .replace("dd", &format!("{:02}", local.day()))
        .replace("MM", &format!("{:02}", local.month() as u8))
        .replace("HH", &format!("{:02}", local.hour()))
        .replace("mm", &format!("{:02}", local.minute()))
        .replace("ss", &format!("{:02}", local.second()))
}

fn file_sha256(path: &Path) -> Result<String, PadesError> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = crate::digest::Sha256Hasher::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = std::io::Read::read(&mut file, &mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hasher.finish().to_hex())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn signing_time_is_shown_in_vietnam_time() {
        let t = datetime!(2026-11-22 03:15:09 UTC);
        assert_eq!(
            format_time(t, "dd/MM/yyyy HH:mm:ss +07:00"),
            "22/11/2026 10:15:09 +07:00"
        );
        assert_eq!(
            format_time(t, "dd.MM.yyyy HH:mm:ss +07:00"),
            "22.11.2026 10:15:09 +07:00"
        );
    }
}
