//! Page previews: a PNG of one page of a stored version, for thumbnails beside the recognized
//! text and for the official's view of where a visible signature goes.
//!
//! The version is first copied out of the blob store and checked against its SHA-256 (a
//! damaged blob is never rendered, and is recorded in the audit trail), then on a blocking
//! thread:
//! - images (PNG, JPEG, TIFF page n) are decoded with the `image` and `tiff` crates after
//!   their size was read from the header and checked against `ocr::input`'s limits (a
//!   decompression bomb is refused before it is allocated), then scaled down;
//! - PDFs are rendered by poppler's `pdftoppm` (the crop box, as viewers show it) under a
//!   timeout, its output size bounded; without `pdftoppm` the preview is
//!   `preview-unavailable` and nothing else fails.

use std::io::{BufReader, Cursor};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::Pipeline;
use super::ingest::io_failed;
use crate::archive::ArchiveError;
use crate::archive::documents::Version;
use crate::error::{Error, Result};
use crate::ocr::OcrError;
use crate::ocr::input::{MAX_PIXELS, MAX_SIDE};

/// Widest preview asked for (a full-page view); thumbnails ask for about 400.
pub const MAX_PREVIEW_PX: u32 = 1200;
/// A page is drawn at most this many times as tall as wide (a strip of paper stays bounded).
const MAX_ASPECT: u32 = 3;
/// How long `pdftoppm` may take for one page.
const RENDER_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest PNG accepted from `pdftoppm` (1200 × 3600 RGB is about 13 MB uncompressed).
const MAX_RENDER_BYTES: u64 = 32 * 1024 * 1024;
/// TIFF frames counted at most (a loop of image directories ends here).
const MAX_TIFF_PAGES: usize = 100_000;

fn page_invalid(page: usize, pages: usize) -> Error {
    Error::Archive(ArchiveError::FieldInvalid {
        field: "page",
        value: page.to_string(),
        reason: format!("the version has {pages} page(s), numbered from 0"),
    })
}

fn unsupported(name: &str, reason: &str) -> Error {
    Error::Ocr(OcrError::Unsupported {
        file: name.to_owned(),
        reason: reason.to_owned(),
    })
}

fn corrupt(name: &str, page: usize, reason: impl std::fmt::Display) -> Error {
    Error::Ocr(OcrError::Corrupt {
        file: name.to_owned(),
        page,
        reason: reason.to_string(),
    })
}

fn unavailable(reason: impl Into<String>) -> Error {
    Error::Archive(ArchiveError::PreviewUnavailable {
        reason: reason.into(),
    })
}

impl Pipeline {
    /// A private checked copy of `version` (as `stage`), recording a missing or damaged blob
    /// in the audit trail for the archivist before handing the error back.
    pub(super) async fn stage_version(
        &self,
        version: &Version,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<tempfile::NamedTempFile> {
        match self.stage(version).await {
            Ok(staged) => Ok(staged),
            Err(error) => {
                if let Error::Archive(
                    problem
                    @ (ArchiveError::BlobNotFound { .. } | ArchiveError::BlobDamaged { .. }),
                ) = &error
                    && let Err(e) = self
                        .archive
                        .record_missing_blob(version, actor, problem, now)
                        .await
                {
                    tracing::error!("cannot record the unreadable blob in the audit trail: {e}");
                }
                Err(error)
            }
        }
    }

    /// PNG of page `page` (0-based) of a stored version, at most `max_px` wide (and at most
    /// three times as tall); images are only ever scaled down. `actor` and `now` go into the
    /// audit entry of a blob found missing or damaged. Access to a confidential document is
    /// recorded by the caller (`Archive::open_version`), as for a download.
    ///
    /// # Errors
    /// `field-invalid` for a page out of range or a zero width; `input-unsupported` for a
    /// version that is not a PDF, PNG, JPEG or TIFF; `image-too-large`, `image-corrupt`,
    /// `pdf-malformed` for content that cannot be drawn; `preview-unavailable` when
    /// `pdftoppm` is missing or does not finish in time; the blob missing or damaged.
    pub async fn render_page(
        self: &Arc<Self>,
        version: &Version,
        page: usize,
        max_px: u32,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<u8>> {
        if max_px == 0 || max_px > MAX_PREVIEW_PX {
            return Err(Error::Archive(ArchiveError::FieldInvalid {
                field: "width",
                value: max_px.to_string(),
                reason: format!("expected 1 to {MAX_PREVIEW_PX} pixels"),
            }));
        }
        let kind = PageSource::of(&version.media_type)
            .ok_or_else(|| unsupported(&version.file_name, "no pages to show"))?;
        let staged = self.stage_version(version, actor, now).await?;
        let path = staged.path().to_owned();
        let name = version.file_name.clone();
        // Decoding and scaling (or waiting for pdftoppm) is CPU work: under the job limit.
        let png = self
            .run_blocking(move || kind.render(&path, &name, page, max_px))
            .await?;
        drop(staged);
        Ok(png)
    }

    /// Number of pages of a stored version: a PDF's pages, a TIFF's frames, 1 for PNG and
    /// JPEG.
    ///
    /// # Errors
    /// As [`Pipeline::render_page`] for unsupported or unreadable content.
    pub async fn page_count(self: &Arc<Self>, version: &Version) -> Result<usize> {
        let kind = PageSource::of(&version.media_type)
            .ok_or_else(|| unsupported(&version.file_name, "no pages to show"))?;
        if kind == PageSource::Image {
            return Ok(1);
        }
        let staged = self.stage(version).await?;
        let path = staged.path().to_owned();
        let name = version.file_name.clone();
        let count = self.run_blocking(move || kind.count(&path, &name)).await?;
        drop(staged);
        Ok(count)
    }
}

/// What kind of content has pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PageSource {
    /// PNG or JPEG: one page.
    Image,
    Tiff,
    Pdf,
}

impl PageSource {
    pub(super) fn of(media_type: &str) -> Option<Self> {
        match media_type {
            "image/png" | "image/jpeg" => Some(PageSource::Image),
            "image/tiff" => Some(PageSource::Tiff),
            "application/pdf" => Some(PageSource::Pdf),
            _ => None,
        }
    }

    /// Pages of the file at `path` (synchronous).
    pub(super) fn count(self, path: &Path, name: &str) -> Result<usize> {
        match self {
            PageSource::Image => Ok(1),
            PageSource::Tiff => {
                let mut decoder = open_tiff(path, name)?;
                let mut pages = 1;
                while decoder.more_images() && pages < MAX_TIFF_PAGES {
                    decoder
                        .next_image()
                        .map_err(|e| corrupt(name, pages + 1, e))?;
                    pages += 1;
                }
                Ok(pages)
            }
            // The newest revision without stream data: small whatever the scan's size.
            PageSource::Pdf => match crate::pdf::incremental::PdfRevision::open(path) {
                Ok(revision) => Ok(revision.document.get_pages().len()),
                // A file whose cross-reference lopdf must repair is still readable whole.
                Err(crate::pdf::PdfError::Malformed { .. }) => {
                    let document = lopdf::Document::load(path)
                        .map_err(|e| Error::Pdf(crate::pdf::PdfError::from(e)))?;
                    Ok(document.get_pages().len())
                }
                Err(e) => Err(e.into()),
            },
        }
    }

    fn render(self, path: &Path, name: &str, page: usize, max_px: u32) -> Result<Vec<u8>> {
        let image = match self {
            PageSource::Image => {
                if page != 0 {
                    return Err(page_invalid(page, 1));
                }
                decode_image(path, name)?
            }
            PageSource::Tiff => decode_tiff_page(path, name, page)?,
            PageSource::Pdf => return render_pdf_page(path, name, page, max_px),
        };
        let scaled = if image.width() > max_px || image.height() > max_px * MAX_ASPECT {
            image.thumbnail(max_px, max_px * MAX_ASPECT)
        } else {
            image
        };
        encode_png(&scaled)
    }
}

fn encode_png(image: &image::DynamicImage) -> Result<Vec<u8>> {
    // PNG has no 16-bit RGBA/float surprises for browsers when kept to 8 bits.
    let image = match image {
        image::DynamicImage::ImageLuma8(_) | image::DynamicImage::ImageRgb8(_) => image.clone(),
        other if other.color().has_alpha() => image::DynamicImage::ImageRgba8(other.to_rgba8()),
        other if other.color().has_color() => image::DynamicImage::ImageRgb8(other.to_rgb8()),
        other => image::DynamicImage::ImageLuma8(other.to_luma8()),
    };
    let mut png = Cursor::new(Vec::new());
    image
        .write_to(&mut png, image::ImageFormat::Png)
        .map_err(|e| Error::Task(format!("PNG encoding failed: {e}")))?;
    Ok(png.into_inner())
}

fn check_size(name: &str, page: usize, width: u32, height: u32) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(corrupt(name, page, "the image has no pixels"));
    }
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(Error::Ocr(OcrError::TooLarge {
            file: name.to_owned(),
            page,
            width,
            height,
        }));
    }
    Ok(())
}

/// A PNG or JPEG, its size checked from the header before decoding.
fn decode_image(path: &Path, name: &str) -> Result<image::DynamicImage> {
    let reader = || {
        image::ImageReader::open(path)
            .map_err(|e| io_failed(path, &e))?
            .with_guessed_format()
            .map_err(|e| io_failed(path, &e))
    };
    let (width, height) = reader()?
        .into_dimensions()
        .map_err(|e| corrupt(name, 1, e))?;
    check_size(name, 1, width, height)?;
    let mut reader = reader()?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_PIXELS * 4);
    reader.limits(limits);
    reader.decode().map_err(|e| corrupt(name, 1, e))
}

fn open_tiff(path: &Path, name: &str) -> Result<tiff::decoder::Decoder<BufReader<std::fs::File>>> {
    let file = std::fs::File::open(path).map_err(|e| io_failed(path, &e))?;
    let mut limits = tiff::decoder::Limits::default();
    limits.decoding_buffer_size = usize::try_from(MAX_PIXELS * 4).unwrap_or(usize::MAX);
    tiff::decoder::Decoder::new(BufReader::new(file))
        .map(|d| d.with_limits(limits))
        .map_err(|e| corrupt(name, 1, e))
}

/// Page `page` (0-based) of a TIFF, its size checked before decoding.
fn decode_tiff_page(path: &Path, name: &str, page: usize) -> Result<image::DynamicImage> {
    use image::{DynamicImage, GrayImage, ImageBuffer, Luma, Rgb, RgbImage, RgbaImage};
    use tiff::ColorType;
    use tiff::decoder::DecodingResult;
    let pages = PageSource::Tiff.count(path, name)?;
    if page >= pages {
        return Err(page_invalid(page, pages));
    }
    let number = page + 1;
    let mut decoder = open_tiff(path, name)?;
    decoder
        .seek_to_image(page)
        .map_err(|e| corrupt(name, number, e))?;
    let (width, height) = decoder.dimensions().map_err(|e| corrupt(name, number, e))?;
    check_size(name, number, width, height)?;
    let color = decoder.colortype().map_err(|e| corrupt(name, number, e))?;
    let data = decoder.read_image().map_err(|e| corrupt(name, number, e))?;
    let truncated = || corrupt(name, number, "truncated image data");
    let image = match (color, data) {
        (ColorType::Gray(1), DecodingResult::U8(packed)) => {
            let row_bytes = (width as usize).div_ceil(8);
            let mut gray = Vec::with_capacity(width as usize * height as usize);
            for row in packed.chunks(row_bytes).take(height as usize) {
                for x in 0..width as usize {
                    let bit = (row.get(x / 8).copied().unwrap_or(0) >> (7 - x % 8)) & 1;
                    // The tiff crate hands WhiteIsZero data over as BlackIsZero: 1 is white.
                    gray.push(if bit == 1 { 255 } else { 0 });
                }
            }
            DynamicImage::ImageLuma8(
                GrayImage::from_raw(width, height, gray).ok_or_else(truncated)?,
            )
        }
        (ColorType::Gray(8), DecodingResult::U8(gray)) => DynamicImage::ImageLuma8(
            GrayImage::from_raw(width, height, gray).ok_or_else(truncated)?,
        ),
        (ColorType::Gray(16), DecodingResult::U16(gray)) => DynamicImage::ImageLuma16(
            ImageBuffer::<Luma<u16>, _>::from_raw(width, height, gray).ok_or_else(truncated)?,
        ),
        (ColorType::RGB(8), DecodingResult::U8(rgb)) => {
            DynamicImage::ImageRgb8(RgbImage::from_raw(width, height, rgb).ok_or_else(truncated)?)
        }
        (ColorType::RGB(16), DecodingResult::U16(rgb)) => DynamicImage::ImageRgb16(
            ImageBuffer::<Rgb<u16>, _>::from_raw(width, height, rgb).ok_or_else(truncated)?,
        ),
        (ColorType::RGBA(8), DecodingResult::U8(rgba)) => DynamicImage::ImageRgba8(
            RgbaImage::from_raw(width, height, rgba).ok_or_else(truncated)?,
        ),
        (other, _) => {
            return Err(unsupported(
                name,
                &format!("TIFF colour type {other:?} (page {number})"),
            ));
        }
    };
    Ok(image)
}

/// The number of pages of the PDF at `path` and the size of page `page` as displayed, if
/// its newest revision can be read alone.
fn pdf_page_size(path: &Path, name: &str, page: usize) -> Result<(usize, Option<(f64, f64)>)> {
    use crate::pades::{appearance, document};
    let revision = match crate::pdf::incremental::PdfRevision::open(path) {
        Ok(revision) => revision,
        // A cross-reference lopdf must repair: poppler may still draw it, size unknown.
        Err(crate::pdf::PdfError::Malformed { .. }) => {
            return Ok((PageSource::Pdf.count(path, name)?, None));
        }
        Err(e) => return Err(e.into()),
    };
    let pages = revision.document.get_pages().len();
    if page >= pages {
        return Ok((pages, None));
    }
    let page_id = document::page_id(&revision, page)?;
    let shown = appearance::displayed_box(
        document::page_box(&revision, page_id),
        appearance::page_rotation(&revision.document, page_id),
    );
    Ok((pages, Some((shown[2].max(1.0), shown[3].max(1.0)))))
}

/// Page `page` (0-based) of the PDF at `path`, drawn by `pdftoppm`.
fn render_pdf_page(path: &Path, name: &str, page: usize, max_px: u32) -> Result<Vec<u8>> {
    render_pdf_page_with("pdftoppm", path, name, page, max_px)
}

/// [`render_pdf_page`] with the program named `pdftoppm` (tests name a missing one).
fn render_pdf_page_with(
    pdftoppm: &str,
    path: &Path,
    name: &str,
    page: usize,
    max_px: u32,
) -> Result<Vec<u8>> {
    let (pages, size) = pdf_page_size(path, name, page)?;
    if page >= pages {
        return Err(page_invalid(page, pages));
    }
    // Scale to the width, unless the page is so tall that its height must set the scale.
    let too_tall = size.is_some_and(|(width, height)| height / width > f64::from(MAX_ASPECT));
    let (x, y) = if too_tall {
        ("-1".to_owned(), (max_px * MAX_ASPECT).to_string())
    } else {
        (max_px.to_string(), "-1".to_owned())
    };
    let out_dir = tempfile::Builder::new()
        .prefix(".hoso-preview-")
        .tempdir()
        .map_err(|e| io_failed(path, &e))?;
    let prefix = out_dir.path().join("page");
    let number = (page + 1).to_string();
    let mut child = match Command::new(pdftoppm)
        .args([
            "-png",
            "-cropbox",
            "-singlefile",
            "-f",
            &number,
            "-l",
            &number,
        ])
        .args(["-scale-to-x", &x, "-scale-to-y", &y])
        .arg(path)
        .arg(&prefix)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(unavailable(
                "pdftoppm is not installed (Debian: poppler-utils, see scripts/install-deps)",
            ));
        }
        Err(e) => return Err(unavailable(format!("pdftoppm cannot start: {e}"))),
    };
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > RENDER_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(unavailable(format!(
                    "pdftoppm did not finish page {number} within {} s",
                    RENDER_TIMEOUT.as_secs()
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(unavailable(format!("waiting for pdftoppm failed: {e}"))),
        }
    };
    let output = prefix.with_extension("png");
    if !status.success() {
        // poppler renders what lopdf could read: a failure here is a page it cannot draw.
        return Err(Error::Pdf(crate::pdf::PdfError::Malformed {
            reason: format!("pdftoppm could not draw page {number} ({status})"),
        }));
    }
    let size = std::fs::metadata(&output)
        .map_err(|e| unavailable(format!("pdftoppm wrote no image: {e}")))?
        .len();
    if size > MAX_RENDER_BYTES {
        return Err(unavailable(format!(
            "the rendered page is {size} bytes, more than {MAX_RENDER_BYTES}"
        )));
    }
    std::fs::read(&output).map_err(|e| io_failed(&output, &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paged_media_types_have_previews() {
        assert_eq!(PageSource::of("image/png"), Some(PageSource::Image));
        assert_eq!(PageSource::of("image/tiff"), Some(PageSource::Tiff));
        assert_eq!(PageSource::of("application/pdf"), Some(PageSource::Pdf));
        assert_eq!(PageSource::of("application/xml"), None);
    }

    #[test]
    fn a_png_is_scaled_down_and_never_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.png");
        image::GrayImage::from_pixel(800, 1000, image::Luma([200u8]))
            .save(&path)
            .unwrap();
        let png = PageSource::Image.render(&path, "a.png", 0, 400).unwrap();
        let shown = image::load_from_memory(&png).unwrap();
        assert_eq!((shown.width(), shown.height()), (400, 500));
        let png = PageSource::Image.render(&path, "a.png", 0, 1200).unwrap();
        let shown = image::load_from_memory(&png).unwrap();
        assert_eq!((shown.width(), shown.height()), (800, 1000));
        assert!(matches!(
            PageSource::Image.render(&path, "a.png", 1, 400),
            Err(Error::Archive(ArchiveError::FieldInvalid {
                field: "page",
                ..
            }))
        ));
    }

    #[test]
    fn without_pdftoppm_a_pdf_preview_is_unavailable_not_a_failure() {
        let pdf = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/cong-van.pdf");
        let error =
            render_pdf_page_with("hoso-test-no-such-pdftoppm", &pdf, "cong-van.pdf", 0, 400)
                .unwrap_err();
        assert_eq!(crate::error::Coded::code(&error), "preview-unavailable");
        assert_eq!(
            crate::error::Coded::class(&error),
            crate::error::ErrorClass::Unavailable
        );
    }

    #[test]
    fn a_tiff_page_is_found_by_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("two.tif");
        {
            let file = std::fs::File::create(&path).unwrap();
            let mut encoder = tiff::encoder::TiffEncoder::new(file).unwrap();
            encoder
                .write_image::<tiff::encoder::colortype::Gray8>(30, 20, &[0u8; 600])
                .unwrap();
            encoder
                .write_image::<tiff::encoder::colortype::RGB8>(10, 40, &[255u8; 1200])
                .unwrap();
        }
        assert_eq!(PageSource::Tiff.count(&path, "two.tif").unwrap(), 2);
        let second = decode_tiff_page(&path, "two.tif", 1).unwrap();
        assert_eq!((second.width(), second.height()), (10, 40));
        assert!(second.color().has_color());
        assert!(decode_tiff_page(&path, "two.tif", 2).is_err());
    }
}
