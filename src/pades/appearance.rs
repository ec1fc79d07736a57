//! The visible part of a signature: the appearance form XObject of a signature widget, laid
//! out as Decree 30/2020 (Appendix I) asks, and where on the page it goes.
//!
//! Three layouts (team reference `../shared/docs/vn-standards.md` §1.3–1.5):
//! - **Official** (box 7c): the competent person's signature image (a blue PNG with a
//!   transparent background), scaled into the widget and centred. It sits between the signer's
//!   title and name: [`find_anchor`] finds the title on the page and [`official_rect_below`]
//!   places the widget under it.
//! - **Organization** (box 8): the agency's seal (a red PNG, transparent background) at its
//!   **real size**, covering about the left third of the official's image ([`seal_rect`]),
//!   with a small text block (agency, e-mail, signing time) beside it.
//! - **Stamp** (copies, box 14; separate attachments and appendices, Mục II.8.b / III.1.d):
//!   text only, Times-metric serif, 10 pt, black, at the top right of the first page
//!   ([`stamp_rect`]).
//!
//! Any of them may carry a QR code (vector, black modules on a white square with the quiet
//! zone) beside the text or image, e.g. a verification link.
//!
//! Sizing: [`natural_size`] (or [`stamp_size`], [`organization_side_size`] with
//! [`seal_rect`]) gives the rectangle in which [`build`] draws everything at its nominal size.
//! In a smaller rectangle (a `--rect` chosen by hand) the text shrinks to fit, down to
//! [`MIN_FONT_SIZE`]; images and QR codes never shrink below their size, and the seal always
//! shows at its real size.
//!
//! Text is embedded as a subset of the bundled Liberation Serif (metric-compatible with Times
//! New Roman, which the decree prescribes) with a ToUnicode map, so `pdftotext`, search and
//! copy give the Vietnamese text exactly. Units are PDF points throughout.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use flate2::Compression;
use flate2::write::ZlibEncoder;
use lopdf::{Dictionary, Document, Object, ObjectId, Stream, dictionary};
use unicode_normalization::UnicodeNormalization;

use crate::error::{Coded, ErrorClass};
use crate::pdf::PdfError;
use crate::pdf::font::FontSubset;

/// Points in one millimetre.
pub const POINTS_PER_MM: f64 = 72.0 / 25.4;

/// Millimetres to points.
#[must_use]
pub fn mm_to_pt(mm: f64) -> f64 {
    mm * POINTS_PER_MM
}

/// Size of stamp text: Decree 30, Appendix I, Mục II.8.b and Part II.I.3 ("cỡ chữ 10").
pub const STAMP_FONT_SIZE: f64 = 10.0;
/// Size of the text beside the seal. The decree prescribes none (vn-standards §1.3); 9 pt
/// keeps the block small next to a 35–42 mm seal and readable when printed.
pub const ORGANIZATION_FONT_SIZE: f64 = 9.0;
/// Smallest size text is shrunk to when a rectangle is too small for it; below this a
/// printed A4 page is no longer readable, so the rectangle is refused instead.
pub const MIN_FONT_SIZE: f64 = 6.0;
/// Line pitch as a multiple of the font size (the usual single spacing of word processors).
const LEADING: f64 = 1.2;
/// Blank border around text, so glyphs are never clipped by the BBox; it is also the space
/// between the organisation's text and its seal.
const PADDING: f64 = 2.0;
/// Space between text or image and a QR code.
const GAP: f64 = 4.0;
/// Side of a QR code: 15 mm, so a module of a typical link (version 3–5, 37–45 modules with
/// the quiet zone) stays around 0.35 mm, which phone cameras read from paper.
pub const QR_SIDE: f64 = 15.0 * POINTS_PER_MM;
/// Modules of blank border a QR code needs around it (ISO/IEC 18004 quiet zone).
const QR_QUIET_ZONE: usize = 4;

/// Largest image file accepted (bytes), before any decoding.
pub const MAX_IMAGE_BYTES: usize = 20 * 1024 * 1024;
/// Largest image side accepted (pixels). A scanned signature or seal at 600 dpi is under
/// 1500 px; 4000 px leaves room and bounds memory to 64 MB decoded.
pub const MAX_IMAGE_SIDE: u32 = 4000;

/// Default height of the official's signature image: 25 mm (20–30 mm, vn-standards §1.3).
pub const OFFICIAL_IMAGE_HEIGHT_MM: f64 = 25.0;
/// Widest official's signature image: 60 mm (vn-standards §1.3).
pub const OFFICIAL_IMAGE_MAX_WIDTH_MM: f64 = 60.0;

/// Distance of a stamp from the right edge of the page: the right margin of Decree 30 is
/// 15–20 mm (Appendix I, Part I.I); 20 mm keeps it clear of printers' unprintable border.
pub const STAMP_RIGHT_MM: f64 = 20.0;
/// Where a stamp's bottom sits, from the top edge: the top margin is 20–25 mm and every
/// Decree 30 document starts its text area with the national motto on the right, so the
/// stamp goes in the margin band above it (a 3-line stamp is about 14 mm tall).
pub const STAMP_TOP_MM: f64 = 20.0;
/// Nearest a stamp may come to the top edge (printers' unprintable border).
pub const STAMP_MIN_TOP_MM: f64 = 4.0;

/// Space between the bottom of the signer's title and the top of the signature image.
const ANCHOR_GAP: f64 = 3.0;

/// Largest widget side (ISO 32000-1 Annex C: 14 400 units is the largest page side).
const MAX_SIDE: f64 = 14_400.0;

/// Failures while building a signature appearance or finding where it goes. A signing
/// operation uses one image (the official's signature or the organisation's seal), so the
/// image errors need not say which.
#[derive(Debug, thiserror::Error)]
pub enum AppearanceError {
    #[error("this appearance needs an image (signature or seal PNG)")]
    ImageMissing,
    #[error("cannot read the image {}: {reason}", .path.display())]
    ImageUnreadable { path: PathBuf, reason: String },
    #[error("the image is not a PNG file")]
    ImageNotPng,
    #[error("the image is too large: {reason}")]
    ImageTooLarge { reason: String },
    #[error("the image cannot be decoded: {reason}")]
    ImageCorrupt { reason: String },
    #[error("the appearance font has no glyph for {character:?} (U+{:04X})", u32::from(*.character))]
    MissingGlyph { character: char },
    #[error("the appearance has no text line")]
    NoText,
    #[error("the QR code payload ({bytes} bytes) cannot be encoded: {reason}")]
    QrCode { bytes: usize, reason: String },
    #[error("invalid appearance size: {reason}")]
    InvalidSize { reason: String },
    #[error("a visible official signature needs a rectangle or an anchor text")]
    PositionMissing,
    #[error("the stamp of an attachment needs the document's number and symbol")]
    DocNumberMissing,
    #[error("the anchor text is empty")]
    EmptyAnchor,
    #[error("anchor text {anchor:?} not found in the document")]
    AnchorNotFound { anchor: String },
    #[error("page {} does not exist; the document has {pages} page(s)", .page + 1)]
    PageOutOfRange { page: usize, pages: usize },
    #[error("poppler's pdftotext is needed to find the anchor text: {reason}")]
    PopplerMissing { reason: String },
    #[error("reading the page text with pdftotext failed: {reason}")]
    AnchorSearch { reason: String },
    #[error(transparent)]
    Pdf(#[from] PdfError),
}

impl Coded for AppearanceError {
    fn code(&self) -> &'static str {
        match self {
            AppearanceError::ImageMissing => "appearance-image-missing",
            AppearanceError::ImageUnreadable { .. } => "appearance-image-unreadable",
            AppearanceError::ImageNotPng => "appearance-image-not-png",
            AppearanceError::ImageTooLarge { .. } => "appearance-image-too-large",
            AppearanceError::ImageCorrupt { .. } => "appearance-image-corrupt",
            AppearanceError::MissingGlyph { .. } => "appearance-text-missing-glyph",
            AppearanceError::NoText => "appearance-text-empty",
            AppearanceError::QrCode { .. } => "appearance-qr-too-long",
            AppearanceError::InvalidSize { .. } => "appearance-invalid-size",
            AppearanceError::PositionMissing => "appearance-position-missing",
            AppearanceError::DocNumberMissing => "appearance-doc-number-missing",
            AppearanceError::EmptyAnchor => "appearance-anchor-empty",
            AppearanceError::AnchorNotFound { .. } => "appearance-anchor-not-found",
            AppearanceError::PageOutOfRange { .. } => "appearance-page-out-of-range",
            AppearanceError::PopplerMissing { .. } => "appearance-poppler-missing",
            AppearanceError::AnchorSearch { .. } => "appearance-anchor-search-failed",
            AppearanceError::Pdf(e) => e.code(),
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            AppearanceError::PopplerMissing { .. } => ErrorClass::Internal,
            AppearanceError::Pdf(e) => e.class(),
            _ => ErrorClass::InvalidInput,
        }
    }

    fn message_vi(&self) -> String {
        match self {
            AppearanceError::ImageMissing => {
                "Cần tệp ảnh chữ ký hoặc ảnh con dấu (PNG nền trong suốt).".to_owned()
            }
            AppearanceError::ImageUnreadable { path, .. } => {
                format!("Không đọc được tệp ảnh {}.", path.display())
            }
            AppearanceError::ImageNotPng => {
                "Ảnh chữ ký hoặc con dấu phải là tệp PNG (nền trong suốt).".to_owned()
            }
            AppearanceError::ImageTooLarge { .. } => format!(
                "Ảnh chữ ký hoặc con dấu quá lớn (tối đa {} MB và {MAX_IMAGE_SIDE}×{MAX_IMAGE_SIDE} điểm ảnh).",
                MAX_IMAGE_BYTES / (1024 * 1024)
            ),
            AppearanceError::ImageCorrupt { .. } => {
                "Ảnh chữ ký hoặc con dấu bị hỏng, không đọc được.".to_owned()
            }
            AppearanceError::MissingGlyph { character } => format!(
                "Phông chữ của chữ ký không có ký tự “{character}” (U+{:04X}); hãy bỏ ký tự này.",
                u32::from(*character)
            ),
            AppearanceError::NoText => "Chữ ký hiển thị cần ít nhất một dòng chữ.".to_owned(),
            AppearanceError::QrCode { .. } => {
                "Nội dung mã QR quá dài, không tạo được mã QR.".to_owned()
            }
            AppearanceError::InvalidSize { .. } => {
                "Kích thước vùng hiển thị chữ ký không hợp lệ hoặc quá nhỏ.".to_owned()
            }
            AppearanceError::PositionMissing => {
                "Cần chỉ rõ vị trí chữ ký: một vùng trên trang hoặc đoạn chữ để định vị (chức vụ người ký)."
                    .to_owned()
            }
            AppearanceError::DocNumberMissing => {
                "Chữ ký trên văn bản kèm theo cần số và ký hiệu của văn bản.".to_owned()
            }
            AppearanceError::EmptyAnchor => "Chưa nhập đoạn chữ dùng để định vị chữ ký.".to_owned(),
            AppearanceError::AnchorNotFound { anchor } => {
                format!("Không tìm thấy đoạn chữ “{anchor}” trong tài liệu để đặt chữ ký.")
            }
            AppearanceError::PageOutOfRange { page, pages } => format!(
                "Tài liệu không có trang {}; tài liệu có {pages} trang.",
                page + 1
            ),
            AppearanceError::PopplerMissing { .. } => {
                "Máy chủ thiếu công cụ pdftotext (poppler-utils) để định vị chữ ký.".to_owned()
            }
            AppearanceError::AnchorSearch { .. } => {
                "Không đọc được chữ trên trang PDF để định vị chữ ký.".to_owned()
            }
            AppearanceError::Pdf(e) => e.message_vi(),
        }
    }
}

fn from_font_error(error: PdfError) -> AppearanceError {
    match error {
        PdfError::MissingGlyph { character, .. } => AppearanceError::MissingGlyph { character },
        other => AppearanceError::Pdf(other),
    }
}

/// What a signature widget shows.
#[derive(Debug, Clone, PartialEq)]
pub enum Appearance {
    /// The competent person's signature image, scaled to fit the widget, centred.
    Official { signature_png: Vec<u8> },
    /// The organisation's seal at its real size (diameter in millimetres) at the right of the
    /// widget, with the text lines (agency, e-mail, signing time) to its left.
    Organization {
        seal_png: Vec<u8>,
        seal_diameter_mm: f64,
        lines: Vec<String>,
    },
    /// Text only, 10 pt, black: copies ("SAO Y", copying agency, signing time) and separate
    /// attachments or appendices (number and symbol, signing time).
    Stamp { lines: Vec<String> },
}

/// The size of `lines` set in the appearance font at `font_size`, as drawn: the text and the
/// blank border around it. Lines containing line breaks are split there, as [`build`] does.
/// With [`ORGANIZATION_FONT_SIZE`] and no QR code this is the `text_block_size` argument of
/// [`seal_rect`] (in general, [`organization_side_size`] is).
///
/// # Errors
/// [`AppearanceError::MissingGlyph`] when a character cannot be drawn,
/// [`AppearanceError::NoText`] when there is no line.
pub fn text_block_size(lines: &[String], font_size: f64) -> Result<(f64, f64), AppearanceError> {
    let block = TextBlock::new(&FontSubset::serif(), lines, font_size)?;
    Ok(content_size(&block, false))
}

/// Size of what an organisation appearance draws beside its seal (its text lines, and the QR
/// code when `qr`): the `text_block_size` argument of [`seal_rect`].
///
/// # Errors
/// As [`text_block_size`].
pub fn organization_side_size(lines: &[String], qr: bool) -> Result<(f64, f64), AppearanceError> {
    let block = TextBlock::new(&FontSubset::serif(), lines, ORGANIZATION_FONT_SIZE)?;
    Ok(content_size(&block, qr))
}

/// The natural size of a stamp of `lines` (with a QR code when `qr`): what [`stamp_rect`]
/// needs.
///
/// # Errors
/// As [`text_block_size`].
pub fn stamp_size(lines: &[String], qr: bool) -> Result<(f64, f64), AppearanceError> {
    let block = TextBlock::new(&FontSubset::serif(), lines, STAMP_FONT_SIZE)?;
    Ok(content_size(&block, qr))
}

/// Pixel width and height of a PNG, from its header only (no decoding), after checking that
/// it is a PNG within the limits [`build`] accepts.
///
/// # Errors
/// [`AppearanceError::ImageNotPng`], [`AppearanceError::ImageTooLarge`],
/// [`AppearanceError::ImageCorrupt`].
pub fn png_dimensions(png: &[u8]) -> Result<(u32, u32), AppearanceError> {
    png_size(png)
}

/// The natural size of an appearance (width, height in points): a Stamp or an Organization
/// with everything at its nominal size, an Official's image 25 mm high (at most 60 mm wide)
/// keeping its aspect ratio; a QR code of `qr` included. Size the widget rectangle with this.
///
/// # Errors
/// Image, text and QR errors as [`build`] reports them.
pub fn natural_size(
    appearance: &Appearance,
    qr: Option<&str>,
) -> Result<(f64, f64), AppearanceError> {
    if let Some(payload) = qr {
        qr_matrix(payload)?;
    }
    match appearance {
        Appearance::Official { signature_png } => {
            let (pixels_wide, pixels_high) = png_size(signature_png)?;
            let aspect = f64::from(pixels_wide) / f64::from(pixels_high);
            let mut height = mm_to_pt(OFFICIAL_IMAGE_HEIGHT_MM);
            let mut width = height * aspect;
            let max_width = mm_to_pt(OFFICIAL_IMAGE_MAX_WIDTH_MM);
            if width > max_width {
                width = max_width;
                height = width / aspect;
            }
            if qr.is_some() {
                let side = QR_SIDE.min(height);
                width += GAP + side;
            }
            Ok((width, height))
        }
        Appearance::Organization {
            seal_png,
            seal_diameter_mm,
            lines,
        } => {
            png_size(seal_png)?;
            let diameter = seal_diameter(*seal_diameter_mm)?;
            let (side_width, side_height) = organization_side_size(lines, qr.is_some())?;
            Ok((side_width + diameter, side_height.max(diameter)))
        }
        Appearance::Stamp { lines } => stamp_size(lines, qr.is_some()),
    }
}

/// The widget rectangle of the organisation signature, from the official's signature
/// rectangle (both `[x0, y0, x1, y1]` in page space): the seal's right edge at
/// `official.left + official.width / 3` and its vertical centre on the official's centre
/// (vn-standards §1.3, Appendix I Mục II.8.a: the seal covers about the left third of the
/// signature image), and the text block (`text_block_size`, from
/// [`organization_side_size`]) right against the seal on its left, bottom-aligned with it.
/// Returns the whole widget (seal and text), as [`build`] lays it out.
///
/// Why the text goes to the left and low: to the right lies the rest of the official's
/// signature image, above it the signer's title, below it the signer's name, all of which a
/// text block would cover. The left is the "Nơi nhận" (recipients) column, whose list starts
/// level with the title and runs downwards; aligning the block with the bottom of the seal
/// keeps it as far below that list as the seal allows.
#[must_use]
pub fn seal_rect(
    official_rect: [f64; 4],
    seal_diameter_pt: f64,
    text_block_size: (f64, f64),
) -> [f64; 4] {
    let [x0, y0, x1, y1] = normalized(official_rect);
    let seal_right = x0 + (x1 - x0) / 3.0;
    let seal_bottom = (y0 + y1) / 2.0 - seal_diameter_pt / 2.0;
    let (text_width, text_height) = text_block_size;
    [
        seal_right - seal_diameter_pt - text_width,
        seal_bottom,
        seal_right,
        seal_bottom + seal_diameter_pt.max(text_height),
    ]
}

/// The widget rectangle of a stamp of `width` × `height` at the top right of the page
/// (`page_box` `[x0, y0, x1, y1]`, the crop box): its right edge [`STAMP_RIGHT_MM`] from the
/// right edge of the page, its bottom [`STAMP_TOP_MM`] from the top, in the top margin
/// above the motto (Decree 30: "góc trên, bên phải, trang đầu"). A stamp too tall for the
/// band is moved down only as far as it must, keeping [`STAMP_MIN_TOP_MM`] above it.
#[must_use]
pub fn stamp_rect(page_box: [f64; 4], width: f64, height: f64) -> [f64; 4] {
    let [_, _, x1, y1] = normalized(page_box);
    let right = x1 - mm_to_pt(STAMP_RIGHT_MM);
    let bottom = y1 - mm_to_pt(STAMP_TOP_MM);
    let top = (bottom + height).min(y1 - mm_to_pt(STAMP_MIN_TOP_MM));
    [right - width, top - height, right, top]
}

/// Builds the appearance of a `width` × `height` widget: a form XObject (`/BBox [0 0 w h]`,
/// with its fonts and images as resources), optionally with a QR code of `qr`. Returns the
/// form's id and every object to write (the form first). `allocate` hands out fresh ids.
///
/// In a rectangle of [`natural_size`] everything has its nominal size. In a smaller one the
/// text shrinks to fit (not below [`MIN_FONT_SIZE`]); the official's image scales to fit.
///
/// # Errors
/// - [`AppearanceError::ImageNotPng`], [`AppearanceError::ImageTooLarge`],
///   [`AppearanceError::ImageCorrupt`] for unusable images;
/// - [`AppearanceError::MissingGlyph`], [`AppearanceError::NoText`] for unusable text;
/// - [`AppearanceError::QrCode`] for a payload too long for a QR code;
/// - [`AppearanceError::InvalidSize`] for a size that is not positive and finite, a seal
///   diameter that is not, or a rectangle too small for the seal at its real size, for the QR
///   code, or for the text at [`MIN_FONT_SIZE`].
pub fn build(
    appearance: &Appearance,
    width: f64,
    height: f64,
    qr: Option<&str>,
    allocate: &mut dyn FnMut() -> ObjectId,
) -> Result<(ObjectId, Vec<(ObjectId, Object)>), AppearanceError> {
    for (name, value) in [("width", width), ("height", height)] {
        if !value.is_finite() || value <= 0.0 || value > MAX_SIDE {
            return Err(AppearanceError::InvalidSize {
                reason: format!("{name} {value} is not between 0 and {MAX_SIDE} points"),
            });
        }
    }
    let qr_matrix = qr.map(qr_matrix).transpose()?;
    let mut content = String::new();
    let mut font = None;
    let mut images = Vec::new();

    match appearance {
        Appearance::Official { signature_png } => {
            let image = decode_png(signature_png)?;
            let mut image_width = width;
            if let Some(matrix) = &qr_matrix {
                let side = QR_SIDE.min(height);
                image_width = width - GAP - side;
                if image_width <= 0.0 {
                    return Err(too_small(width, height, side + GAP, side));
                }
                draw_qr(
                    &mut content,
                    matrix,
                    width - side,
                    (height - side) / 2.0,
                    side,
                );
            }
            let (w, h) = fit(image.width, image.height, image_width, height);
            draw_image(
                &mut content,
                "Im1",
                (image_width - w) / 2.0,
                (height - h) / 2.0,
                w,
                h,
            );
            images.push(("Im1", image));
        }
        Appearance::Organization {
            seal_png,
            seal_diameter_mm,
            lines,
        } => {
            let diameter = seal_diameter(*seal_diameter_mm)?;
            let seal = decode_png(seal_png)?;
            if width + TOLERANCE < diameter || height + TOLERANCE < diameter {
                return Err(too_small(width, height, diameter, diameter));
            }
            let mut subset = FontSubset::serif();
            let nominal = TextBlock::new(&subset, lines, ORGANIZATION_FONT_SIZE)?;
            let side_width = width - diameter;
            let block = fit_text(&subset, &nominal, qr_matrix.is_some(), side_width, height)?;
            // The text (and QR code) right against the seal, bottom-aligned (see `seal_rect`).
            let (content_width, content_height) = content_size(&block, qr_matrix.is_some());
            let left = side_width - content_width;
            let mut text_left = left + PADDING;
            if let Some(matrix) = &qr_matrix {
                draw_qr(&mut content, matrix, text_left, PADDING, QR_SIDE);
                text_left += QR_SIDE + GAP;
            }
            block.draw(
                &mut content,
                &mut subset,
                text_left,
                content_height - PADDING,
            )?;
            // The seal at the bottom right at its real size (a non-square image keeps its
            // aspect ratio, its longer side being the diameter); drawn last, so on top.
            let (w, h) = fit(seal.width, seal.height, diameter, diameter);
            draw_image(
                &mut content,
                "Im1",
                side_width + (diameter - w) / 2.0,
                (diameter - h) / 2.0,
                w,
                h,
            );
            images.push(("Im1", seal));
            font = Some(subset);
        }
        Appearance::Stamp { lines } => {
            let mut subset = FontSubset::serif();
            let nominal = TextBlock::new(&subset, lines, STAMP_FONT_SIZE)?;
            let block = fit_text(&subset, &nominal, qr_matrix.is_some(), width, height)?;
            // From the top left: text, then the QR code, top-aligned.
            block.draw(&mut content, &mut subset, PADDING, height - PADDING)?;
            if let Some(matrix) = &qr_matrix {
                draw_qr(
                    &mut content,
                    matrix,
                    PADDING + block.width + GAP,
                    height - PADDING - QR_SIDE,
                    QR_SIDE,
                );
            }
            font = Some(subset);
        }
    }

    let form_id = allocate();
    let mut objects = Vec::new();
    let mut resources = Dictionary::new();
    if let Some(subset) = font {
        let (font_id, font_objects) = subset.into_objects(allocate).map_err(from_font_error)?;
        resources.set("Font", dictionary! { "F1" => font_id });
        objects.extend(font_objects);
    }
    if !images.is_empty() {
        let mut xobjects = Dictionary::new();
        for (name, image) in images {
            let (image_id, image_objects) = image_objects(image, allocate)?;
            xobjects.set(name, image_id);
            objects.extend(image_objects);
        }
        resources.set("XObject", xobjects);
    }
    let form = Stream::new(
        dictionary! {
            "Type" => "XObject",
            "Subtype" => "Form",
            "FormType" => 1,
            "BBox" => vec![0.into(), 0.into(), width.into(), height.into()],
            "Matrix" => vec![1.into(), 0.into(), 0.into(), 1.into(), 0.into(), 0.into()],
            "Resources" => resources,
            "Filter" => "FlateDecode",
        },
        deflate(content.as_bytes())?,
    );
    objects.insert(0, (form_id, Object::Stream(form)));
    Ok((form_id, objects))
}

/// Slack when comparing a rectangle with the size it must hold: rectangles travel through
/// PDF reals (`f32`) and back.
const TOLERANCE: f64 = 0.01;

fn too_small(width: f64, height: f64, needed_width: f64, needed_height: f64) -> AppearanceError {
    AppearanceError::InvalidSize {
        reason: format!(
            "{} × {} pt is smaller than the {} × {} pt the appearance needs",
            num(width),
            num(height),
            num(needed_width),
            num(needed_height)
        ),
    }
}

fn seal_diameter(mm: f64) -> Result<f64, AppearanceError> {
    // Real seals are 20–60 mm across; anything outside 5–200 mm is a unit mistake.
    if mm.is_finite() && (5.0..=200.0).contains(&mm) {
        Ok(mm_to_pt(mm))
    } else {
        Err(AppearanceError::InvalidSize {
            reason: format!("seal diameter {mm} mm is not between 5 and 200 mm"),
        })
    }
}

/// `[x0, y0, x1, y1]` with x0 ≤ x1 and y0 ≤ y1.
fn normalized([a, b, c, d]: [f64; 4]) -> [f64; 4] {
    [a.min(c), b.min(d), a.max(c), b.max(d)]
}

/// The largest size of an image of `pixels_wide` × `pixels_high` inside `width` × `height`,
/// keeping its aspect ratio.
fn fit(pixels_wide: u32, pixels_high: u32, width: f64, height: f64) -> (f64, f64) {
    let scale = (width / f64::from(pixels_wide)).min(height / f64::from(pixels_high));
    (
        f64::from(pixels_wide) * scale,
        f64::from(pixels_high) * scale,
    )
}

// ---------------------------------------------------------------------------------------------
// Text

/// Lines of text at one size, measured.
struct TextBlock {
    lines: Vec<String>,
    size: f64,
    ascent: f64,
    width: f64,
    height: f64,
}

impl TextBlock {
    fn new(font: &FontSubset, lines: &[String], size: f64) -> Result<Self, AppearanceError> {
        // A line break inside a line starts a new line rather than failing as a control
        // character: callers build lines from configuration and templates.
        let lines: Vec<String> = lines
            .iter()
            .flat_map(|line| line.lines())
            .map(|line| line.nfc().collect::<String>())
            .collect();
        if lines.iter().all(|line| line.trim().is_empty()) {
            return Err(AppearanceError::NoText);
        }
        for line in &lines {
            if let Some(&character) = font.missing_chars(line).first() {
                return Err(AppearanceError::MissingGlyph { character });
            }
        }
        let width = lines
            .iter()
            .map(|line| font.text_width(line, size))
            .fold(0.0, f64::max);
        let ascent = font.ascent(size);
        let height = ascent + font.descent(size) + (lines.len() - 1) as f64 * LEADING * size;
        Ok(TextBlock {
            lines,
            size,
            ascent,
            width,
            height,
        })
    }

    /// Draws the lines left-aligned at `left`, the top of the first line at `top`.
    fn draw(
        &self,
        content: &mut String,
        font: &mut FontSubset,
        left: f64,
        top: f64,
    ) -> Result<(), AppearanceError> {
        content.push_str(&format!("BT\n/F1 {} Tf\n0 g\n", num(self.size)));
        for (i, line) in self.lines.iter().enumerate() {
            if line.is_empty() {
                continue;
            }
            let baseline = top - self.ascent - i as f64 * LEADING * self.size;
            let text = font.encode(line).map_err(from_font_error)?;
            content.push_str(&format!(
                "1 0 0 1 {} {} Tm {text} Tj\n",
                num(left),
                num(baseline)
            ));
        }
        content.push_str("ET\n");
        Ok(())
    }
}

/// Size of a text block as drawn with its border, and a QR code beside it when `qr`:
/// border | text | gap | QR code | border (Stamp) or border | QR code | gap | text | border
/// (beside a seal); as tall as the taller of text and code, plus the border.
fn content_size(block: &TextBlock, qr: bool) -> (f64, f64) {
    let (qr_width, qr_height) = if qr {
        (QR_SIDE + GAP, QR_SIDE)
    } else {
        (0.0, 0.0)
    };
    (
        2.0 * PADDING + block.width + qr_width,
        2.0 * PADDING + block.height.max(qr_height),
    )
}

/// The text block at the largest size up to its nominal one that fits `width` × `height`
/// together with its border and QR code. Width and height of a block are proportional to the
/// font size, so the scale follows directly.
fn fit_text(
    font: &FontSubset,
    nominal: &TextBlock,
    qr: bool,
    width: f64,
    height: f64,
) -> Result<TextBlock, AppearanceError> {
    let (needed_width, needed_height) = content_size(nominal, qr);
    if needed_width <= width + TOLERANCE && needed_height <= height + TOLERANCE {
        return TextBlock::new(font, &nominal.lines, nominal.size);
    }
    let qr_width = if qr { QR_SIDE + GAP } else { 0.0 };
    let available_width = width - 2.0 * PADDING - qr_width;
    let available_height = height - 2.0 * PADDING;
    let scale = (available_width / nominal.width).min(available_height / nominal.height);
    let size = nominal.size * scale.min(1.0);
    let qr_fits = !qr || available_height + TOLERANCE >= QR_SIDE;
    if size.is_nan() || size < MIN_FONT_SIZE || !qr_fits {
        let minimum = nominal.size.min(MIN_FONT_SIZE) / nominal.size;
        return Err(too_small(
            width,
            height,
            2.0 * PADDING + qr_width + nominal.width * minimum,
            2.0 * PADDING + (nominal.height * minimum).max(if qr { QR_SIDE } else { 0.0 }),
        ));
    }
    TextBlock::new(font, &nominal.lines, size)
}

// ---------------------------------------------------------------------------------------------
// QR code

/// The QR code of `payload` (error correction level M: 15 % of the code may be smudged or
/// covered), as rows of dark (`true`) modules, without quiet zone.
fn qr_matrix(payload: &str) -> Result<Vec<Vec<bool>>, AppearanceError> {
    let code = qrcode::QrCode::with_error_correction_level(payload.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| AppearanceError::QrCode {
            bytes: payload.len(),
            reason: e.to_string(),
        })?;
    let width = code.width();
    let colors = code.to_colors();
    Ok(colors
        .chunks(width)
        .map(|row| row.iter().map(|c| *c == qrcode::Color::Dark).collect())
        .collect())
}

/// Draws a QR code as filled rectangles in a `side` × `side` square at (`x`, `y`): a white
/// square first (the quiet zone must be light even over page content), then one rectangle
/// per horizontal run of dark modules, which keeps the stream to a few KB.
fn draw_qr(content: &mut String, matrix: &[Vec<bool>], x: f64, y: f64, side: f64) {
    let modules = matrix.len() + 2 * QR_QUIET_ZONE;
    let module = side / modules as f64;
    content.push_str(&format!(
        "q\n1 g\n{} {} {} {} re f\n0 g\n",
        num(x),
        num(y),
        num(side),
        num(side)
    ));
    for (row_index, row) in matrix.iter().enumerate() {
        // Row 0 is the top row; PDF's y axis goes up.
        let row_y = y + side - (QR_QUIET_ZONE + row_index + 1) as f64 * module;
        let mut column = 0;
        while column < row.len() {
            if !row[column] {
                column += 1;
                continue;
            }
            let start = column;
            while column < row.len() && row[column] {
                column += 1;
            }
            content.push_str(&format!(
                "{} {} {} {} re\n",
                num(x + (QR_QUIET_ZONE + start) as f64 * module),
                num(row_y),
                num((column - start) as f64 * module),
                num(module)
            ));
        }
    }
    content.push_str("f\nQ\n");
}

// ---------------------------------------------------------------------------------------------
// Images

/// A decoded PNG: 8-bit samples, grey or RGB, and an alpha channel when it has transparency.
struct DecodedImage {
    width: u32,
    height: u32,
    /// 1 (DeviceGray) or 3 (DeviceRGB) samples a pixel.
    components: u8,
    color: Vec<u8>,
    alpha: Option<Vec<u8>>,
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Checks that `bytes` are a PNG of an acceptable size, from the file length and the header
/// alone (so a decompression bomb is refused before anything is decoded), and returns its
/// pixel dimensions.
fn png_size(bytes: &[u8]) -> Result<(u32, u32), AppearanceError> {
    if !bytes.starts_with(PNG_SIGNATURE) {
        return Err(AppearanceError::ImageNotPng);
    }
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(AppearanceError::ImageTooLarge {
            reason: format!("{} bytes, over {MAX_IMAGE_BYTES}", bytes.len()),
        });
    }
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    let info = decoder
        .read_header_info()
        .map_err(|e| AppearanceError::ImageCorrupt {
            reason: e.to_string(),
        })?;
    let (width, height) = (info.width, info.height);
    if width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE {
        return Err(AppearanceError::ImageTooLarge {
            reason: format!("{width}×{height} pixels, over {MAX_IMAGE_SIDE} a side"),
        });
    }
    if width == 0 || height == 0 {
        return Err(AppearanceError::ImageCorrupt {
            reason: format!("{width}×{height} pixels"),
        });
    }
    Ok((width, height))
}

fn decode_png(bytes: &[u8]) -> Result<DecodedImage, AppearanceError> {
    png_size(bytes)?;
    let corrupt = |reason: String| AppearanceError::ImageCorrupt { reason };
    // Palettes and low bit depths expanded, tRNS turned into an alpha channel, 16-bit samples
    // reduced to 8: every PNG arrives as 8-bit grey or RGB, with or without alpha.
    let mut decoder = png::Decoder::new_with_limits(
        Cursor::new(bytes),
        png::Limits {
            bytes: 4 * (MAX_IMAGE_SIDE as usize).pow(2),
        },
    );
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| corrupt(e.to_string()))?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| corrupt("image size overflows".to_owned()))?;
    let mut buffer = vec![0; size];
    let frame = reader
        .next_frame(&mut buffer)
        .map_err(|e| corrupt(e.to_string()))?;
    buffer.truncate(frame.buffer_size());
    if frame.bit_depth != png::BitDepth::Eight {
        return Err(corrupt(format!(
            "unexpected bit depth {:?}",
            frame.bit_depth
        )));
    }
    let (components, has_alpha) = match frame.color_type {
        png::ColorType::Grayscale => (1, false),
        png::ColorType::GrayscaleAlpha => (1, true),
        png::ColorType::Rgb => (3, false),
        png::ColorType::Rgba => (3, true),
        png::ColorType::Indexed => {
            return Err(corrupt("palette was not expanded".to_owned()));
        }
    };
    let samples = usize::from(components) + usize::from(has_alpha);
    let row_bytes = frame.width as usize * samples;
    if frame.line_size < row_bytes || buffer.len() < frame.line_size * frame.height as usize {
        return Err(corrupt(
            "decoded rows are shorter than the image".to_owned(),
        ));
    }
    let pixels = frame.width as usize * frame.height as usize;
    let mut color = Vec::with_capacity(pixels * usize::from(components));
    let mut alpha = Vec::with_capacity(if has_alpha { pixels } else { 0 });
    for row in buffer.chunks_exact(frame.line_size) {
        for pixel in row[..row_bytes].chunks_exact(samples) {
            color.extend_from_slice(&pixel[..usize::from(components)]);
            if has_alpha {
                alpha.push(pixel[usize::from(components)]);
            }
        }
    }
    // A fully opaque alpha channel needs no soft mask.
    let alpha = (has_alpha && alpha.iter().any(|&a| a != 255)).then_some(alpha);
    Ok(DecodedImage {
        width: frame.width,
        height: frame.height,
        components,
        color,
        alpha,
    })
}

/// The image XObject (Flate; DeviceGray or DeviceRGB) and, for transparency, its soft mask
/// (8-bit alpha as a DeviceGray image, ISO 32000-1 §11.6.5.3).
fn image_objects(
    image: DecodedImage,
    allocate: &mut dyn FnMut() -> ObjectId,
) -> Result<(ObjectId, Vec<(ObjectId, Object)>), AppearanceError> {
    let image_id = allocate();
    let mut objects = Vec::new();
    let mut dict = dictionary! {
        "Type" => "XObject",
        "Subtype" => "Image",
        "Width" => image.width,
        "Height" => image.height,
        "ColorSpace" => if image.components == 3 { "DeviceRGB" } else { "DeviceGray" },
        "BitsPerComponent" => 8,
        "Filter" => "FlateDecode",
    };
    if let Some(alpha) = &image.alpha {
        let mask_id = allocate();
        let mask = Stream::new(
            dictionary! {
                "Type" => "XObject",
                "Subtype" => "Image",
                "Width" => image.width,
                "Height" => image.height,
                "ColorSpace" => "DeviceGray",
                "BitsPerComponent" => 8,
                "Filter" => "FlateDecode",
            },
            deflate(alpha)?,
        );
        dict.set("SMask", mask_id);
        objects.push((mask_id, Object::Stream(mask)));
    }
    let stream = Stream::new(dict, deflate(&image.color)?);
    objects.insert(0, (image_id, Object::Stream(stream)));
    Ok((image_id, objects))
}

fn draw_image(content: &mut String, name: &str, x: f64, y: f64, width: f64, height: f64) {
    content.push_str(&format!(
        "q\n{} 0 0 {} {} {} cm\n/{name} Do\nQ\n",
        num(width),
        num(height),
        num(x),
        num(y)
    ));
}

fn deflate(bytes: &[u8]) -> Result<Vec<u8>, AppearanceError> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
    encoder
        .write_all(bytes)
        .and_then(|()| encoder.finish())
        .map_err(|e| {
            AppearanceError::Pdf(PdfError::Write {
                reason: format!("compressing the appearance failed: {e}"),
            })
        })
}

/// A number for a content stream: at most 3 decimals (1/1000 pt is far below what any
/// device shows), no exponent, no trailing zeros.
fn num(value: f64) -> String {
    let text = format!("{:.3}", value);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    match text {
        "-0" | "" => "0".to_owned(),
        other => other.to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// Anchor search

/// Where an anchor text was found.
#[derive(Debug, Clone, PartialEq)]
pub struct AnchorHit {
    /// Page index, 0-based.
    pub page: usize,
    /// The words' box `[x0, y0, x1, y1]` in PDF user space (points, y up).
    pub rect: [f64; 4],
    /// The page's crop box in user space, as poppler shows it.
    pub page_box: [f64; 4],
    /// The page's `/Rotate` (0, 90, 180 or 270).
    pub rotation: u16,
    /// The words matched, as they are on the page (NFC).
    pub text: String,
}

/// Finds `anchor` (e.g. the signer's title "CHỦ TỊCH") on page `page` (0-based) or, with
/// `None`, in the whole document, using poppler's `pdftotext -bbox`.
///
/// Matching is on NFC-normalized, lowercased text with whitespace collapsed, across
/// consecutive words. When the text occurs more than once, the best hit is the one that
/// (1) starts and ends on word boundaries, then (2) has the same letter case as `anchor`,
/// then (3) comes last in the document: the signature block ends a document, and the same
/// words often occur earlier in running text ("Chủ tịch UBND xã" in the body or the list of
/// recipients) where the title is in capitals.
///
/// # Errors
/// [`AppearanceError::EmptyAnchor`], [`AppearanceError::PageOutOfRange`],
/// [`AppearanceError::AnchorNotFound`]; [`AppearanceError::Pdf`] when the file is not a
/// readable unencrypted PDF; [`AppearanceError::PopplerMissing`] without `pdftotext`;
/// [`AppearanceError::AnchorSearch`] when it fails.
pub fn find_anchor(
    pdf_path: &Path,
    page: Option<usize>,
    anchor: &str,
) -> Result<AnchorHit, AppearanceError> {
    let anchor_nfc = collapse_whitespace(&anchor.nfc().collect::<String>());
    if anchor_nfc.is_empty() {
        return Err(AppearanceError::EmptyAnchor);
    }
    let anchor_folded = anchor_nfc.to_lowercase();

    // The bounded reader: a large scan is not loaded to find a line of text.
    let revision = crate::pdf::incremental::PdfRevision::open(pdf_path)?;
    let document = &revision.document;
    let page_ids: Vec<ObjectId> = document.get_pages().into_values().collect();
    if let Some(index) = page
        && index >= page_ids.len()
    {
        return Err(AppearanceError::PageOutOfRange {
            page: index,
            pages: page_ids.len(),
        });
    }

    let mut command = Command::new("pdftotext");
    command.args(["-q", "-bbox", "-enc", "UTF-8"]);
    if let Some(index) = page {
        let number = (index + 1).to_string();
        command.args(["-f", &number, "-l", &number]);
    }
    let output = command
        .arg(pdf_path)
        .arg("-")
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => AppearanceError::PopplerMissing {
                reason: e.to_string(),
            },
            _ => AppearanceError::AnchorSearch {
                reason: format!("running pdftotext: {e}"),
            },
        })?;
    if !output.status.success() {
        return Err(AppearanceError::AnchorSearch {
            reason: format!(
                "pdftotext exited with {}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        });
    }
    let pages = parse_bbox_html(&String::from_utf8_lossy(&output.stdout));
    let first = page.unwrap_or(0);

    // The best match: the largest (boundary, same case, page, first word).
    let mut best: Option<(usize, AnchorMatch)> = None;
    for (offset, words) in pages.iter().enumerate() {
        for found in matches_on_page(&words.words, &anchor_nfc, &anchor_folded) {
            let better = best.as_ref().is_none_or(|(best_offset, best_match)| {
                (
                    found.boundary,
                    found.same_case,
                    offset,
                    *found.words.start(),
                ) > (
                    best_match.boundary,
                    best_match.same_case,
                    *best_offset,
                    *best_match.words.start(),
                )
            });
            if better {
                best = Some((offset, found));
            }
        }
    }
    let Some((offset, AnchorMatch { words: range, .. })) = best else {
        return Err(AppearanceError::AnchorNotFound { anchor: anchor_nfc });
    };
    let parsed = &pages[offset];
    let index = first + offset;
    let frame = page_ids
        .get(index)
        .map(|&id| PageFrame::of(document, id))
        .unwrap_or(PageFrame {
            crop: [0.0, 0.0, parsed.width, parsed.height],
            rotation: 0,
        });
    let words = &parsed.words[range];
    let mut rect = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    for word in words {
        for (dx, dy) in [(word.x0, word.y0), (word.x1, word.y1)] {
            let (ux, uy) = frame.to_user(dx, dy);
            rect = [
                rect[0].min(ux),
                rect[1].min(uy),
                rect[2].max(ux),
                rect[3].max(uy),
            ];
        }
    }
    Ok(AnchorHit {
        page: index,
        rect,
        page_box: frame.crop,
        rotation: frame.rotation,
        text: words
            .iter()
            .map(|w| w.text.as_str())
            .collect::<Vec<_>>()
            .join(" "),
    })
}

/// The official's signature widget of `width` × `height` under an anchor (the signer's
/// title): centred horizontally on the anchor, its top [`ANCHOR_GAP`] points below the
/// anchor's bottom, i.e. in the blank space between the title and the signer's name where
/// Decree 30 puts the image (Appendix I, Mục II.7.d). "Below" and "horizontally" are as the
/// page is shown: on a page with `/Rotate` the rectangle is turned with it (user space), and
/// `width` and `height` are as shown.
#[must_use]
pub fn official_rect_below(hit: &AnchorHit, width: f64, height: f64) -> [f64; 4] {
    let frame = PageFrame {
        crop: hit.page_box,
        rotation: hit.rotation,
    };
    // The anchor's box as shown (x right, y down).
    let corners = [(hit.rect[0], hit.rect[1]), (hit.rect[2], hit.rect[3])]
        .map(|(ux, uy)| frame.to_displayed(ux, uy));
    let left = corners[0].0.min(corners[1].0);
    let right = corners[0].0.max(corners[1].0);
    let bottom = corners[0].1.max(corners[1].1);
    let centre = (left + right) / 2.0;
    let top = bottom + ANCHOR_GAP;
    let a = frame.to_user(centre - width / 2.0, top);
    let b = frame.to_user(centre + width / 2.0, top + height);
    normalized([a.0, a.1, b.0, b.1])
}

/// The page's `/Rotate` (inherited), as poppler reads it: 0, 90, 180 or 270.
#[must_use]
pub fn page_rotation(document: &Document, page: ObjectId) -> u16 {
    PageFrame::of(document, page).rotation
}

/// Turns a rectangle laid out on the page as displayed (`[x0, y0, x1, y1]`, points from the
/// bottom left of the displayed page, y up) into default user space for a page with crop box
/// `page_box` and `/Rotate` `rotation`.
#[must_use]
pub fn displayed_to_user(page_box: [f64; 4], rotation: u16, rect: [f64; 4]) -> [f64; 4] {
    let frame = PageFrame {
        crop: normalized(page_box),
        rotation,
    };
    let (_, height) = frame.displayed_size();
    let a = frame.to_user(rect[0], height - rect[1]);
    let b = frame.to_user(rect[2], height - rect[3]);
    normalized([a.0, a.1, b.0, b.1])
}

/// The inverse of [`displayed_to_user`].
#[must_use]
pub fn user_to_displayed(page_box: [f64; 4], rotation: u16, rect: [f64; 4]) -> [f64; 4] {
    let frame = PageFrame {
        crop: normalized(page_box),
        rotation,
    };
    let (_, height) = frame.displayed_size();
    let a = frame.to_displayed(rect[0], rect[1]);
    let b = frame.to_displayed(rect[2], rect[3]);
    normalized([a.0, height - a.1, b.0, height - b.1])
}

/// The page box as displayed: `[0, 0, width, height]` of the page turned by `rotation`.
#[must_use]
pub fn displayed_box(page_box: [f64; 4], rotation: u16) -> [f64; 4] {
    let frame = PageFrame {
        crop: normalized(page_box),
        rotation,
    };
    let (width, height) = frame.displayed_size();
    [0.0, 0.0, width, height]
}

/// The `/Matrix` of an appearance drawn upright in `[0 0 width height]` (the size as
/// displayed) for a page turned by `rotation`: it turns the form by the page's rotation so
/// that it reads upright on the displayed page (as Acrobat and pyHanko do, with
/// `/MK << /R rotation >>`).
#[must_use]
pub fn rotation_matrix(rotation: u16, width: f64, height: f64) -> [f64; 6] {
    match rotation {
        90 => [0.0, 1.0, -1.0, 0.0, height, 0.0],
        180 => [-1.0, 0.0, 0.0, -1.0, width, height],
        270 => [0.0, -1.0, 1.0, 0.0, 0.0, width],
        _ => [1.0, 0.0, 0.0, 1.0, 0.0, 0.0],
    }
}

/// A page's crop box and rotation: the frame in which poppler reports word boxes.
#[derive(Debug, Clone, Copy)]
struct PageFrame {
    crop: [f64; 4],
    rotation: u16,
}

impl PageFrame {
    fn of(document: &Document, page: ObjectId) -> Self {
        let media = inherited(document, page, b"MediaBox")
            .and_then(as_box)
            .unwrap_or([0.0, 0.0, 612.0, 792.0]);
        // Poppler clips the crop box to the media box.
        let crop = inherited(document, page, b"CropBox")
            .and_then(as_box)
            .map(|c| {
                [
                    c[0].max(media[0]),
                    c[1].max(media[1]),
                    c[2].min(media[2]),
                    c[3].min(media[3]),
                ]
            })
            .filter(|c| c[2] > c[0] && c[3] > c[1])
            .unwrap_or(media);
        let rotate = inherited(document, page, b"Rotate")
            .and_then(|o| o.as_i64().ok())
            .unwrap_or(0);
        // Like poppler: multiples of 90 only, anything else counts as 0.
        let rotation = match rotate.rem_euclid(360) {
            90 => 90,
            180 => 180,
            270 => 270,
            _ => 0,
        };
        PageFrame { crop, rotation }
    }

    /// The page's width and height as displayed.
    fn displayed_size(self) -> (f64, f64) {
        let [x0, y0, x1, y1] = self.crop;
        match self.rotation {
            90 | 270 => (y1 - y0, x1 - x0),
            _ => (x1 - x0, y1 - y0),
        }
    }

    /// Shown coordinates (from the top left of the page as displayed, y down) → user space.
    fn to_user(self, dx: f64, dy: f64) -> (f64, f64) {
        let [x0, y0, x1, y1] = self.crop;
        match self.rotation {
            90 => (x0 + dy, y0 + dx),
            180 => (x1 - dx, y0 + dy),
            270 => (x1 - dy, y1 - dx),
            _ => (x0 + dx, y1 - dy),
        }
    }

    /// User space → shown coordinates; the inverse of `to_user`.
    fn to_displayed(self, ux: f64, uy: f64) -> (f64, f64) {
        let [x0, y0, x1, y1] = self.crop;
        match self.rotation {
            90 => (uy - y0, ux - x0),
            180 => (x1 - ux, uy - y0),
            270 => (y1 - uy, x1 - ux),
            _ => (ux - x0, y1 - uy),
        }
    }
}

/// A page attribute, looked up through the page tree (ISO 32000-1 §7.7.3.4), references
/// resolved. The walk is bounded so a cyclic `/Parent` chain cannot loop.
fn inherited<'a>(document: &'a Document, page: ObjectId, key: &[u8]) -> Option<&'a Object> {
    let mut node = document.get_dictionary(page).ok()?;
    for _ in 0..64 {
        if let Ok(value) = node.get(key) {
            return match value {
                Object::Reference(id) => document.get_object(*id).ok(),
                other => Some(other),
            };
        }
        let parent = node.get(b"Parent").ok()?.as_reference().ok()?;
        node = document.get_dictionary(parent).ok()?;
    }
    None
}

fn as_box(object: &Object) -> Option<[f64; 4]> {
    let values: Vec<f64> = object
        .as_array()
        .ok()?
        .iter()
        .map(|v| match v {
            Object::Integer(i) => Some(*i as f64),
            Object::Real(r) => Some(f64::from(*r)),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let [a, b, c, d] = values.as_slice() else {
        return None;
    };
    Some(normalized([*a, *b, *c, *d]))
}

/// A word as `pdftotext -bbox` reports it: top-left origin, y down, in the shown page.
#[derive(Debug, Clone)]
struct BoxedWord {
    text: String,
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
}

#[derive(Debug, Default)]
struct BoxedPage {
    width: f64,
    height: f64,
    words: Vec<BoxedWord>,
}

/// Reads the XHTML of `pdftotext -bbox`: `<page width= height=>` then one
/// `<word xMin= yMin= xMax= yMax=>text</word>` per word.
fn parse_bbox_html(html: &str) -> Vec<BoxedPage> {
    let mut pages: Vec<BoxedPage> = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        rest = &rest[start..];
        let Some(end) = rest.find('>') else { break };
        let tag = &rest[..=end];
        rest = &rest[end + 1..];
        if tag.starts_with("<page ") {
            pages.push(BoxedPage {
                width: attribute(tag, "width").unwrap_or(0.0),
                height: attribute(tag, "height").unwrap_or(0.0),
                words: Vec::new(),
            });
        } else if tag.starts_with("<word ") {
            let Some(close) = rest.find("</word>") else {
                break;
            };
            let text = unescape(&rest[..close]);
            rest = &rest[close + "</word>".len()..];
            let (Some(x0), Some(y0), Some(x1), Some(y1)) = (
                attribute(tag, "xMin"),
                attribute(tag, "yMin"),
                attribute(tag, "xMax"),
                attribute(tag, "yMax"),
            ) else {
                continue;
            };
            if let Some(page) = pages.last_mut() {
                page.words.push(BoxedWord {
                    text,
                    x0,
                    y0,
                    x1,
                    y1,
                });
            }
        }
    }
    pages
}

fn attribute(tag: &str, name: &str) -> Option<f64> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let end = tag[start..].find('"')? + start;
    tag[start..end].parse().ok().filter(|v: &f64| v.is_finite())
}

/// XML character references and the five predefined entities.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';') else { break };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// One occurrence of the anchor on a page.
#[derive(Debug, Clone, PartialEq)]
struct AnchorMatch {
    /// Indices of the words it covers.
    words: std::ops::RangeInclusive<usize>,
    /// It starts at the start of a word and ends at the end of one.
    boundary: bool,
    /// The letter case is the anchor's.
    same_case: bool,
}

/// Every occurrence of the anchor (NFC, whitespace collapsed; and case-folded) on a page.
fn matches_on_page(words: &[BoxedWord], anchor_nfc: &str, anchor_folded: &str) -> Vec<AnchorMatch> {
    // The page's words joined by single spaces, case-folded, with each word's byte range.
    let mut folded = String::new();
    let mut spans = Vec::with_capacity(words.len());
    let normalized: Vec<String> = words.iter().map(|w| w.text.nfc().collect()).collect();
    for (index, word) in normalized.iter().enumerate() {
        if index > 0 {
            folded.push(' ');
        }
        let start = folded.len();
        folded.push_str(&word.to_lowercase());
        spans.push((start, folded.len()));
    }
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(position) = folded[from..].find(anchor_folded) {
        let start = from + position;
        let end = start + anchor_folded.len();
        // The words overlapping [start, end).
        let first = spans.iter().position(|&(_, e)| e > start);
        let last = spans.iter().rposition(|&(s, _)| s < end);
        if let (Some(first), Some(last)) = (first, last)
            && first <= last
        {
            found.push(AnchorMatch {
                words: first..=last,
                boundary: spans[first].0 == start && spans[last].1 == end,
                same_case: normalized[first..=last].join(" ").contains(anchor_nfc),
            });
        }
        // Next occurrence may overlap this one: move on by one character.
        from = start
            + folded[start..]
                .chars()
                .next()
                .map(char::len_utf8)
                .unwrap_or(1);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allocator(start: u32) -> impl FnMut() -> ObjectId {
        let mut next = start;
        move || {
            next += 1;
            (next, 0)
        }
    }

    fn get(objects: &[(ObjectId, Object)], id: ObjectId) -> &Object {
        &objects.iter().find(|(i, _)| *i == id).unwrap().1
    }

    fn sample(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("samples")
            .join(name)
    }

    /// Whether a test needing poppler can run; in CI it must.
    fn poppler_available(tool: &str) -> bool {
        let found = Command::new(tool).arg("-v").output().is_ok();
        if !found {
            assert!(
                std::env::var_os("CI").is_none(),
                "{tool} (poppler-utils) is required in CI"
            );
            eprintln!("SKIPPED: {tool} (poppler-utils) is not installed");
        }
        found
    }

    /// A PNG of `width` × `height` in RGBA: a blue stroke on a transparent background.
    fn rgba_png(width: u32, height: u32) -> Vec<u8> {
        let mut pixels = Vec::new();
        for y in 0..height {
            for x in 0..width {
                let on_stroke = (x as i64 - 2 * y as i64).abs() < 3;
                pixels.extend_from_slice(&[20, 40, 200, if on_stroke { 255 } else { 0 }]);
            }
        }
        let mut bytes = Vec::new();
        let mut encoder = png::Encoder::new(&mut bytes, width, height);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&pixels).unwrap();
        writer.finish().unwrap();
        bytes
    }

    fn gray_png(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut encoder = png::Encoder::new(&mut bytes, width, height);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().unwrap();
        writer
            .write_image_data(&vec![128; (width * height) as usize])
            .unwrap();
        writer.finish().unwrap();
        bytes
    }

    /// A one-page PDF (`page_size` points) whose content draws the form at (`x`, `y`).
    fn page_with_form(
        page_size: (f64, f64),
        form: (ObjectId, Vec<(ObjectId, Object)>),
        x: f64,
        y: f64,
    ) -> Vec<u8> {
        let mut document = Document::with_version("1.7");
        let (form_id, objects) = form;
        for (id, object) in objects {
            document.objects.insert(id, object);
        }
        document.max_id = document.objects.keys().map(|id| id.0).max().unwrap_or(0);
        let content = format!("q 1 0 0 1 {} {} cm /Fm1 Do Q", num(x), num(y));
        let content_id = document.add_object(Stream::new(dictionary! {}, content.into_bytes()));
        let pages_id = document.new_object_id();
        let page_id = document.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "MediaBox" => vec![0.into(), 0.into(), page_size.0.into(), page_size.1.into()],
            "Contents" => content_id,
            "Resources" => dictionary! { "XObject" => dictionary! { "Fm1" => form_id } },
        });
        document.objects.insert(
            pages_id,
            Object::Dictionary(dictionary! {
                "Type" => "Pages",
                "Kids" => vec![page_id.into()],
                "Count" => 1,
            }),
        );
        let catalog_id = document.add_object(dictionary! {
            "Type" => "Catalog",
            "Pages" => pages_id,
        });
        document.trailer.set("Root", catalog_id);
        let mut bytes = Vec::new();
        document.save_to(&mut bytes).unwrap();
        bytes
    }

    fn pdftotext(bytes: &[u8]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.pdf");
        std::fs::write(&path, bytes).unwrap();
        let output = Command::new("pdftotext")
            .args(["-q", "-enc", "UTF-8"])
            .arg(&path)
            .arg("-")
            .output()
            .unwrap();
        assert!(output.status.success());
        String::from_utf8(output.stdout).unwrap()
    }

    fn lines(lines: &[&str]) -> Vec<String> {
        lines.iter().map(|l| (*l).to_owned()).collect()
    }

    const STAMP: [&str; 3] = [
        "SAO Y",
        "UBND xã Tân Phú",
        "Thời gian ký: 22/11/2026 10:15:00 +07:00",
    ];

    #[test]
    fn a_stamp_reads_back_exactly_with_pdftotext() {
        let appearance = Appearance::Stamp {
            lines: lines(&STAMP),
        };
        let (width, height) = natural_size(&appearance, None).unwrap();
        // 10 pt text: three lines and padding.
        assert!((35.0..45.0).contains(&height), "{height}");
        assert!((150.0..230.0).contains(&width), "{width}");
        let form = build(&appearance, width, height, None, &mut allocator(10)).unwrap();

        // The form: BBox, a font resource, nothing else.
        let stream = get(&form.1, form.0).as_stream().unwrap();
        let bbox = stream.dict.get(b"BBox").unwrap().as_array().unwrap();
        assert_eq!(bbox.len(), 4);
        let resources = stream.dict.get(b"Resources").unwrap().as_dict().unwrap();
        assert!(resources.get(b"Font").is_ok() && resources.get(b"XObject").is_err());
        let content = String::from_utf8(stream.decompressed_content().unwrap()).unwrap();
        assert!(content.contains("/F1 10 Tf"), "{content}");

        let page = (595.0, 842.0);
        let [x0, y0, _, _] = stamp_rect([0.0, 0.0, page.0, page.1], width, height);
        let pdf = page_with_form(page, form, x0, y0);
        if !poppler_available("pdftotext") {
            return;
        }
        let text = pdftotext(&pdf);
        assert_eq!(
            text.trim_end_matches(['\n', '\u{c}']),
            STAMP.join("\n"),
            "{text:?}"
        );
    }

    #[test]
    fn a_stamp_with_a_qr_code_still_reads_back_and_the_code_is_drawn_exactly() {
        let appearance = Appearance::Stamp {
            lines: lines(&["Số: 12/QĐ-UBND", "Thời gian ký: 22/11/2026 10:15:00 +07:00"]),
        };
        let payload = "https://hoso.example.vn/verify/3f1c9a";
        let (width, height) = natural_size(&appearance, Some(payload)).unwrap();
        assert!((height - QR_SIDE - 2.0 * PADDING).abs() < 1e-9);
        let form = build(&appearance, width, height, Some(payload), &mut allocator(0)).unwrap();
        let content = String::from_utf8(
            get(&form.1, form.0)
                .as_stream()
                .unwrap()
                .decompressed_content()
                .unwrap(),
        )
        .unwrap();

        // Read the rectangles back into a module grid and compare with the QR code.
        let matrix = qr_matrix(payload).unwrap();
        let n = matrix.len();
        let modules = n + 2 * QR_QUIET_ZONE;
        let side = QR_SIDE;
        let module = side / modules as f64;
        // At the top right of the stamp (the white square tells where).
        let background = content
            .lines()
            .find(|l| l.ends_with(" re f"))
            .unwrap()
            .split(' ')
            .take(2)
            .map(|p| p.parse::<f64>().unwrap())
            .collect::<Vec<_>>();
        let (qr_x, qr_y) = (background[0], background[1]);
        assert!((qr_x + side + PADDING - width).abs() < 1e-3, "{qr_x}");
        assert!((qr_y + side + PADDING - height).abs() < 1e-3, "{qr_y}");
        let mut grid = vec![vec![false; n]; n];
        let mut runs = 0;
        for line in content.lines().filter(|l| l.ends_with(" re")) {
            // (The white background ends in "re f".)
            let v: Vec<f64> = line
                .split(' ')
                .take(4)
                .map(|p| p.parse().unwrap())
                .collect();
            runs += 1;
            let row = ((qr_y + side - v[1]) / module).round() as usize - QR_QUIET_ZONE - 1;
            let first = ((v[0] - qr_x) / module).round() as usize - QR_QUIET_ZONE;
            let count = (v[2] / module).round() as usize;
            assert!((v[3] - module).abs() < 2e-3);
            for cell in &mut grid[row][first..first + count] {
                assert!(!*cell, "overlapping runs");
                *cell = true;
            }
        }
        assert_eq!(grid, matrix);
        let dark: usize = matrix.iter().flatten().filter(|d| **d).count();
        // Adjacent modules are merged: far fewer rectangles than dark modules.
        assert!(runs * 5 < dark * 3, "{runs} runs for {dark} dark modules");

        let pdf = page_with_form((595.0, 842.0), form, 300.0, 700.0);
        if !poppler_available("pdftotext") {
            return;
        }
        let text = pdftotext(&pdf);
        assert_eq!(
            text.trim_end_matches(['\n', '\u{c}']),
            "Số: 12/QĐ-UBND\nThời gian ký: 22/11/2026 10:15:00 +07:00",
            "{text:?}"
        );
    }

    #[test]
    fn a_transparent_signature_gets_a_soft_mask_and_is_centred() {
        let png = rgba_png(60, 30);
        let appearance = Appearance::Official { signature_png: png };
        let (width, height) = natural_size(&appearance, None).unwrap();
        assert!((height - mm_to_pt(25.0)).abs() < 1e-9);
        assert!((width - 2.0 * height).abs() < 1e-9);

        // A wider widget: the image keeps its 2:1 ratio and is centred horizontally.
        let (form_id, objects) = build(&appearance, 200.0, 50.0, None, &mut allocator(0)).unwrap();
        assert_eq!(objects.len(), 3); // form, image, soft mask
        let form = get(&objects, form_id).as_stream().unwrap();
        let content = String::from_utf8(form.decompressed_content().unwrap()).unwrap();
        assert!(content.contains("100 0 0 50 50 0 cm"), "{content}");
        let resources = form.dict.get(b"Resources").unwrap().as_dict().unwrap();
        assert!(resources.get(b"Font").is_err());
        let image_id = resources
            .get(b"XObject")
            .unwrap()
            .as_dict()
            .unwrap()
            .get(b"Im1")
            .unwrap()
            .as_reference()
            .unwrap();
        let image = get(&objects, image_id).as_stream().unwrap();
        assert_eq!(
            image.dict.get(b"ColorSpace").unwrap().as_name().unwrap(),
            b"DeviceRGB"
        );
        let rgb = image.decompressed_content().unwrap();
        assert_eq!(rgb.len(), 60 * 30 * 3);
        assert_eq!(&rgb[..3], &[20, 40, 200]);
        let mask_id = image.dict.get(b"SMask").unwrap().as_reference().unwrap();
        let mask = get(&objects, mask_id).as_stream().unwrap();
        assert_eq!(
            mask.dict.get(b"ColorSpace").unwrap().as_name().unwrap(),
            b"DeviceGray"
        );
        assert_eq!(
            mask.dict
                .get(b"BitsPerComponent")
                .unwrap()
                .as_i64()
                .unwrap(),
            8
        );
        let alpha = mask.decompressed_content().unwrap();
        assert_eq!(alpha.len(), 60 * 30);
        // Pixel (0,0) is on the stroke, (59,0) is transparent.
        assert_eq!((alpha[0], alpha[59]), (255, 0));
    }

    #[test]
    fn an_opaque_grey_image_needs_no_mask() {
        let appearance = Appearance::Official {
            signature_png: gray_png(10, 10),
        };
        let (_, objects) = build(&appearance, 50.0, 50.0, None, &mut allocator(0)).unwrap();
        assert_eq!(objects.len(), 2);
        let image = objects[1].1.as_stream().unwrap();
        assert_eq!(
            image.dict.get(b"ColorSpace").unwrap().as_name().unwrap(),
            b"DeviceGray"
        );
        assert!(image.dict.get(b"SMask").is_err());
    }

    #[test]
    fn images_other_than_png_are_refused_with_a_code() {
        let jpeg = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00".to_vec();
        for bytes in [jpeg, b"GIF89a".to_vec(), Vec::new()] {
            let error = build(
                &Appearance::Official {
                    signature_png: bytes,
                },
                100.0,
                50.0,
                None,
                &mut allocator(0),
            )
            .unwrap_err();
            assert_eq!(error.code(), "appearance-image-not-png", "{error}");
            assert!(error.message_vi().contains("PNG"));
        }
        let error = natural_size(
            &Appearance::Organization {
                seal_png: b"<svg/>".to_vec(),
                seal_diameter_mm: 40.0,
                lines: lines(&["UBND xã Tân Phú"]),
            },
            None,
        )
        .unwrap_err();
        assert!(matches!(error, AppearanceError::ImageNotPng));
    }

    #[test]
    fn huge_or_broken_pngs_are_refused_before_decoding() {
        // A valid header claiming 5000 × 3000 pixels, and no image data.
        let mut header_only = Vec::new();
        let encoder = png::Encoder::new(&mut header_only, 5000, 3000);
        drop(encoder.write_header().unwrap());
        let error = build(
            &Appearance::Official {
                signature_png: header_only,
            },
            100.0,
            50.0,
            None,
            &mut allocator(0),
        )
        .unwrap_err();
        assert_eq!(error.code(), "appearance-image-too-large", "{error}");

        let mut big = rgba_png(4, 4);
        big.resize(MAX_IMAGE_BYTES + 1, 0);
        let error = natural_size(&Appearance::Official { signature_png: big }, None).unwrap_err();
        assert_eq!(error.code(), "appearance-image-too-large");

        let png = rgba_png(40, 20);
        let truncated = png[..png.len() - 20].to_vec();
        let error = build(
            &Appearance::Official {
                signature_png: truncated,
            },
            100.0,
            50.0,
            None,
            &mut allocator(0),
        )
        .unwrap_err();
        assert_eq!(error.code(), "appearance-image-corrupt", "{error}");
    }

    #[test]
    fn bad_text_and_sizes_are_errors() {
        let stamp = |l: &[&str]| Appearance::Stamp { lines: lines(l) };
        let error = natural_size(&stamp(&["Tân Phú 中"]), None).unwrap_err();
        assert!(matches!(
            error,
            AppearanceError::MissingGlyph { character: '中' }
        ));
        assert_eq!(error.code(), "appearance-text-missing-glyph");
        assert_eq!(
            natural_size(&stamp(&[]), None).unwrap_err().code(),
            "appearance-text-empty"
        );
        let (width, height) = natural_size(&stamp(&STAMP), None).unwrap();
        for (w, h) in [
            (20.0, 20.0),
            (width * 0.5, height),
            (f64::NAN, height),
            (width, -1.0),
            (width, f64::INFINITY),
        ] {
            let error = build(&stamp(&STAMP), w, h, None, &mut allocator(0)).unwrap_err();
            assert_eq!(error.code(), "appearance-invalid-size", "{w} {h}");
        }
        // A line break inside a line makes two lines.
        let (_, two_lines) = natural_size(&stamp(&["SAO Y\nUBND xã Tân Phú"]), None).unwrap();
        let (_, two) = natural_size(&stamp(&["SAO Y", "UBND xã Tân Phú"]), None).unwrap();
        assert!((two_lines - two).abs() < 1e-9);

        let seal = |mm: f64| Appearance::Organization {
            seal_png: rgba_png(10, 10),
            seal_diameter_mm: mm,
            lines: lines(&["UBND xã Tân Phú"]),
        };
        for mm in [0.0, -40.0, f64::NAN, 1000.0] {
            assert_eq!(
                natural_size(&seal(mm), None).unwrap_err().code(),
                "appearance-invalid-size"
            );
        }
        let long = "x".repeat(8000);
        assert_eq!(
            natural_size(&stamp(&STAMP), Some(&long))
                .unwrap_err()
                .code(),
            "appearance-qr-too-long"
        );
    }

    /// The font size of the text of a built appearance.
    fn font_size(form: &(ObjectId, Vec<(ObjectId, Object)>)) -> f64 {
        let content = get(&form.1, form.0)
            .as_stream()
            .unwrap()
            .decompressed_content()
            .unwrap();
        let content = String::from_utf8(content).unwrap();
        let line = content.lines().find(|l| l.ends_with(" Tf")).unwrap();
        line.split(' ').nth(1).unwrap().parse().unwrap()
    }

    #[test]
    fn text_shrinks_to_fit_a_smaller_rectangle_but_the_seal_does_not() {
        let stamp = Appearance::Stamp {
            lines: lines(&STAMP),
        };
        let (width, height) = natural_size(&stamp, None).unwrap();
        let nominal = build(&stamp, width, height, None, &mut allocator(0)).unwrap();
        assert_eq!(font_size(&nominal), STAMP_FONT_SIZE);
        let larger = build(&stamp, width * 2.0, height * 2.0, None, &mut allocator(0)).unwrap();
        assert_eq!(font_size(&larger), STAMP_FONT_SIZE);
        let smaller = build(&stamp, width * 0.8, height, None, &mut allocator(0)).unwrap();
        let size = font_size(&smaller);
        assert!((7.5..8.0).contains(&size), "{size}");

        let text = lines(&[
            "UBND xã Tân Phú",
            "Thời gian ký: 22/11/2026 10:15:00 +07:00",
        ]);
        let organization = Appearance::Organization {
            seal_png: rgba_png(20, 20),
            seal_diameter_mm: 40.0,
            lines: text.clone(),
        };
        let diameter = mm_to_pt(40.0);
        // Sized for the text only, built with a QR code: the text makes room for it.
        let (side_width, _) = text_block_size(&text, ORGANIZATION_FONT_SIZE).unwrap();
        let qr = Some("https://hoso.example.vn/verify/1");
        let squeezed = build(
            &organization,
            side_width + diameter,
            diameter,
            qr,
            &mut allocator(0),
        )
        .unwrap();
        assert!(font_size(&squeezed) < ORGANIZATION_FONT_SIZE);
        assert!(font_size(&squeezed) >= MIN_FONT_SIZE);
        // Narrower than the seal: refused, never a shrunken seal.
        let error = build(
            &organization,
            diameter - 1.0,
            diameter,
            None,
            &mut allocator(0),
        )
        .unwrap_err();
        assert_eq!(error.code(), "appearance-invalid-size");
        // Room for the seal but hardly any for the text.
        let error = build(
            &organization,
            diameter + 20.0,
            diameter,
            None,
            &mut allocator(0),
        )
        .unwrap_err();
        assert_eq!(error.code(), "appearance-invalid-size");
    }

    #[test]
    fn the_seal_covers_the_left_third_of_the_signature_at_real_size() {
        let official = [330.0, 240.0, 480.0, 310.0]; // 150 × 70 pt
        let diameter = mm_to_pt(40.0);
        let side = (120.0, 40.0);
        let rect = seal_rect(official, diameter, side);
        // The seal's right edge at left + width / 3, its centre on the official's centre.
        assert!((rect[2] - 380.0).abs() < 1e-9);
        let seal_centre_y = rect[1] + diameter / 2.0;
        assert!((seal_centre_y - 275.0).abs() < 1e-9);
        // The text block to the left: whole widget = seal + text.
        assert!((rect[0] - (380.0 - diameter - 120.0)).abs() < 1e-9);
        assert!((rect[3] - rect[1] - diameter).abs() < 1e-9);
        // A text block taller than the seal grows the widget upwards only.
        let tall = seal_rect(official, diameter, (120.0, diameter + 10.0));
        assert!((tall[3] - tall[1] - diameter - 10.0).abs() < 1e-9);
        assert_eq!(tall[1], rect[1]);
        // Swapped corners mean the same rectangle.
        assert_eq!(
            seal_rect([480.0, 310.0, 330.0, 240.0], diameter, side),
            rect
        );
    }

    #[test]
    fn the_organization_appearance_matches_seal_rect_and_shows_the_seal_at_real_size() {
        let text = lines(&[
            "UBND xã Tân Phú",
            "tanphu@example.gov.vn",
            "Thời gian ký: 22/11/2026 10:15:00 +07:00",
        ]);
        let appearance = Appearance::Organization {
            seal_png: rgba_png(50, 50),
            seal_diameter_mm: 40.0,
            lines: text.clone(),
        };
        let diameter = mm_to_pt(40.0);
        let side = organization_side_size(&text, false).unwrap();
        // Without a QR code the side is just the text block.
        assert_eq!(
            side,
            text_block_size(&text, ORGANIZATION_FONT_SIZE).unwrap()
        );
        let rect = seal_rect([330.0, 240.0, 480.0, 310.0], diameter, side);
        let (width, height) = natural_size(&appearance, None).unwrap();
        assert!((rect[2] - rect[0] - width).abs() < 1e-9);
        assert!((rect[3] - rect[1] - height).abs() < 1e-9);

        let form = build(&appearance, width, height, None, &mut allocator(0)).unwrap();
        let stream = get(&form.1, form.0).as_stream().unwrap();
        let content = String::from_utf8(stream.decompressed_content().unwrap()).unwrap();
        // 40 mm = 113.386 pt, at the right edge of the widget, at the bottom.
        let expected = format!("113.386 0 0 113.386 {} 0 cm", num(width - diameter));
        assert!(content.contains(&expected), "{expected} in {content}");
        assert!(content.contains("/F1 9 Tf"));

        if !poppler_available("pdftotext") {
            return;
        }
        let pdf = page_with_form((595.0, 842.0), form, rect[0], rect[1]);
        let read = pdftotext(&pdf);
        assert_eq!(
            read.trim_end_matches(['\n', '\u{c}']),
            text.join("\n"),
            "{read:?}"
        );
    }

    #[test]
    fn an_official_image_with_a_qr_code_leaves_room_for_it() {
        let appearance = Appearance::Official {
            signature_png: rgba_png(60, 30),
        };
        let (width, height) = natural_size(&appearance, Some("https://example.vn")).unwrap();
        let (form_id, objects) = build(
            &appearance,
            width,
            height,
            Some("https://example.vn"),
            &mut allocator(0),
        )
        .unwrap();
        let content = String::from_utf8(
            get(&objects, form_id)
                .as_stream()
                .unwrap()
                .decompressed_content()
                .unwrap(),
        )
        .unwrap();
        // The image keeps its full natural size beside the code.
        let image_width = width - GAP - QR_SIDE;
        assert!(
            content.contains(&format!("{} 0 0 {} 0 0 cm", num(image_width), num(height))),
            "{content}"
        );
    }

    #[test]
    fn the_stamp_sits_at_the_top_right_inside_the_margins() {
        let rect = stamp_rect([0.0, 0.0, 595.276, 841.89], 180.0, 40.0);
        assert!((595.276 - rect[2] - mm_to_pt(20.0)).abs() < 1e-9);
        // In the top margin band: bottom 20 mm from the top edge, above the motto.
        assert!((841.89 - rect[1] - mm_to_pt(20.0)).abs() < 1e-9);
        assert!(841.89 - rect[3] >= mm_to_pt(STAMP_MIN_TOP_MM) - 1e-9);
        assert!((rect[2] - rect[0] - 180.0).abs() < 1e-9);
        assert!((rect[3] - rect[1] - 40.0).abs() < 1e-9);
        // A page box not at the origin.
        let moved = stamp_rect([100.0, 50.0, 695.276, 891.89], 180.0, 40.0);
        assert!((moved[2] - rect[2] - 100.0).abs() < 1e-9);
        assert!((moved[3] - rect[3] - 50.0).abs() < 1e-9);
    }

    #[test]
    fn the_signer_title_is_found_on_the_sample_letter() {
        if !poppler_available("pdftotext") {
            return;
        }
        let path = sample("cong-van.pdf");
        // "Chủ tịch," also occurs in the list of recipients; the title in capitals wins.
        let title = find_anchor(&path, None, "chủ tịch").unwrap();
        assert_eq!(title.page, 0);
        assert_eq!(title.text, "CHỦ TỊCH");
        assert_eq!(title.rotation, 0);
        let [x0, y0, x1, y1] = title.rect;
        // pdftotext: xMin 375.0, xMax 440.5, yMin 507.6, yMax 525.3 from the top of an
        // 841.89 pt page.
        assert!(
            (x0 - 375.04).abs() < 0.5 && (x1 - 440.49).abs() < 0.5,
            "{x0} {x1}"
        );
        assert!(
            (y0 - 316.59).abs() < 0.5 && (y1 - 334.29).abs() < 0.5,
            "{y0} {y1}"
        );

        // Several words, other spacing, decomposed Vietnamese, page given.
        let authority = find_anchor(&path, Some(0), "TM.  U\u{309}Y BAN nhân dân").unwrap();
        assert_eq!(authority.text, "TM. ỦY BAN NHÂN DÂN");
        // The line above the title (their boxes overlap by a hair).
        assert!(authority.rect[1] + authority.rect[3] > title.rect[1] + title.rect[3] + 20.0);

        let name = find_anchor(&path, None, "Nguyễn Văn An").unwrap();
        let height = mm_to_pt(OFFICIAL_IMAGE_HEIGHT_MM);
        let rect = official_rect_below(&title, 150.0, height);
        // Centred under the title, between the title and the name, inside the blank space
        // the sample leaves for the signature (samples/README.md: x 273–553).
        assert!(((rect[0] + rect[2]) / 2.0 - (x0 + x1) / 2.0).abs() < 1e-9);
        assert!((rect[2] - rect[0] - 150.0).abs() < 1e-9);
        assert!((rect[3] - rect[1] - height).abs() < 1e-9);
        assert!(
            rect[3] < title.rect[1] && rect[1] > name.rect[3],
            "{rect:?}"
        );
        assert!(rect[0] > 273.0 && rect[2] < 553.0);

        let error = find_anchor(&path, None, "PHÓ CHỦ TỊCH").unwrap_err();
        assert_eq!(error.code(), "appearance-anchor-not-found");
        let error = find_anchor(&path, Some(1), "CHỦ TỊCH").unwrap_err();
        assert!(matches!(
            error,
            AppearanceError::PageOutOfRange { page: 1, pages: 1 }
        ));
        assert_eq!(
            find_anchor(&path, None, "  ").unwrap_err().code(),
            "appearance-anchor-empty"
        );
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("x.pdf");
        std::fs::write(&garbage, b"%PDF-1.7 nothing").unwrap();
        assert_eq!(
            find_anchor(&garbage, None, "x").unwrap_err().code(),
            "pdf-malformed"
        );
    }

    #[test]
    fn anchors_on_rotated_and_shifted_pages_come_back_in_user_space() {
        if !poppler_available("pdftotext") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        for rotation in [0, 90, 180, 270] {
            // Helvetica 12 pt "ANCHOR" at user (100, 200), media box not at the origin.
            let mut document = Document::with_version("1.7");
            let font_id = document.add_object(dictionary! {
                "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
            });
            let content = b"BT /F1 12 Tf 100 200 Td (ANCHOR) Tj ET".to_vec();
            let content_id = document.add_object(Stream::new(dictionary! {}, content));
            let pages_id = document.new_object_id();
            let page_id = document.add_object(dictionary! {
                "Type" => "Page",
                "Parent" => pages_id,
                "Contents" => content_id,
                "Resources" => dictionary! { "Font" => dictionary! { "F1" => font_id } },
                "Rotate" => rotation,
            });
            document.objects.insert(
                pages_id,
                Object::Dictionary(dictionary! {
                    "Type" => "Pages",
                    "Kids" => vec![page_id.into()],
                    "Count" => 1,
                    // Inherited by the page.
                    "MediaBox" => vec![10.into(), 20.into(), 310.into(), 420.into()],
                }),
            );
            let catalog_id = document.add_object(dictionary! {
                "Type" => "Catalog", "Pages" => pages_id,
            });
            document.trailer.set("Root", catalog_id);
            let path = dir.path().join(format!("r{rotation}.pdf"));
            document.save(&path).unwrap();

            let hit = find_anchor(&path, Some(0), "anchor").unwrap();
            assert_eq!(hit.rotation, rotation as u16);
            assert_eq!(hit.page_box, [10.0, 20.0, 310.0, 420.0]);
            let [x0, y0, x1, y1] = hit.rect;
            // Helvetica "ANCHOR" is 0.722+0.667+0.722+0.722+0.778+0.722 = 4.333 em.
            assert!((x0 - 100.0).abs() < 1.0, "{rotation}: {:?}", hit.rect);
            assert!((x1 - 152.0).abs() < 1.5, "{rotation}: {:?}", hit.rect);
            assert!(y0 < 200.0 && y0 > 195.0, "{rotation}: {:?}", hit.rect);
            assert!(y1 > 208.0 && y1 < 214.0, "{rotation}: {:?}", hit.rect);

            // "Below as shown" on each rotation.
            let below = official_rect_below(&hit, 40.0, 20.0);
            let (w, h) = (below[2] - below[0], below[3] - below[1]);
            match rotation {
                0 => assert!(below[3] < y0 && (w - 40.0).abs() < 1e-9),
                90 => assert!(below[0] > x1 && (h - 40.0).abs() < 1e-9),
                180 => assert!(below[1] > y1 && (w - 40.0).abs() < 1e-9),
                _ => assert!(below[2] < x0 && (h - 40.0).abs() < 1e-9),
            }
        }
    }

    #[test]
    fn matches_report_word_boundaries_and_case() {
        let page: Vec<BoxedWord> = [
            "Chủ",
            "tịch,",
            "các",
            "CHU\u{309}",
            "TỊCH",
            "Phó",
            "chủ",
            "tịch",
        ]
        .iter()
        .map(|text| BoxedWord {
            text: (*text).to_owned(),
            x0: 0.0,
            y0: 0.0,
            x1: 1.0,
            y1: 1.0,
        })
        .collect();
        let found = matches_on_page(&page, "CHỦ TỊCH", "chủ tịch");
        let expected = [
            (0..=1, false, false),
            (3..=4, true, true),
            (6..=7, true, false),
        ];
        assert_eq!(found.len(), expected.len(), "{found:?}");
        for (found, (words, boundary, same_case)) in found.iter().zip(expected) {
            assert_eq!(
                *found,
                AnchorMatch {
                    words,
                    boundary,
                    same_case
                }
            );
        }
        // Inside a word: found, but not on a boundary.
        let inside = matches_on_page(&page, "ó c", "ó c");
        assert_eq!(inside.len(), 1);
        assert!(!inside[0].boundary && inside[0].words == (5..=6));
        assert!(matches_on_page(&[], "a", "a").is_empty());
    }

    #[test]
    fn bbox_html_is_parsed_with_entities() {
        let html = r#"<doc>
  <page width="595.0" height="842.0">
    <word xMin="1.5" yMin="2" xMax="3" yMax="4">A&amp;B&lt;&#x1EA1;&#7841;</word>
    <word xMin="bad" yMin="2" xMax="3" yMax="4">skipped</word>
  </page>
  <page width="100" height="200">
  </page>
</doc>"#;
        let pages = parse_bbox_html(html);
        assert_eq!(pages.len(), 2);
        assert_eq!(pages[0].words.len(), 1);
        assert_eq!(pages[0].words[0].text, "A&B<ạạ");
        assert_eq!(pages[0].words[0].x0, 1.5);
        assert_eq!((pages[1].width, pages[1].height), (100.0, 200.0));
        assert_eq!(unescape("a & b &bogus; &#xZZ;"), "a & b &bogus; &#xZZ;");
    }

    #[test]
    fn numbers_have_no_exponent_or_trailing_zeros() {
        assert_eq!(num(1.0), "1");
        assert_eq!(num(0.1 + 0.2), "0.3");
        assert_eq!(num(-0.0001), "0");
        assert_eq!(num(113.385_826), "113.386");
        assert_eq!(num(1e-9), "0");
        assert_eq!(num(12_345.5), "12345.5");
    }
}
