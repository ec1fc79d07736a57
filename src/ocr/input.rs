//! Scanned input files turned into page images, one page at a time.
//!
//! PNG and JPEG are decoded with the `image` crate, TIFF (multi-page, G4, LZW, ...) with the
//! `tiff` crate page by page, so a 300-page TIFF never holds more than one decoded page here.
//! Each page keeps what the PDF needs to show it without loss: the original JPEG or PNG data
//! when it can be embedded as is, else the decoded pixels. Sizes are checked from the headers
//! before anything is decoded, so a decompression bomb is refused without allocating it.

use std::fs::File;
use std::io::{BufReader, Cursor, Read, Seek};
use std::path::Path;

use super::OcrError;
use super::pdf_input::TextPages;

/// Largest accepted side in pixels (A0 at 600 dpi is 19 866 x 28 087).
pub const MAX_SIDE: u32 = 30_000;
/// Largest accepted page in pixels (A3 at 1200 dpi is about 250 million).
pub const MAX_PIXELS: u64 = 260_000_000;
/// Resolution assumed when a file does not state one.
pub const DEFAULT_DPI: f32 = 300.0;

/// One page ready for OCR.
pub struct PageImage {
    /// "scan.tif, trang 3" style label for messages.
    pub label: String,
    pub width: u32,
    pub height: u32,
    /// Horizontal and vertical resolution.
    pub dpi: (f32, f32),
    /// 8-bit luminance, row-major, `width * height` bytes: what the OCR engine reads.
    pub gray: Vec<u8>,
    /// How the page is shown in the output PDF.
    pub pixels: PagePixels,
}

/// A page of input: a scan to recognize, or a PDF page kept as it is.
pub enum InputPage {
    Scan(PageImage),
    Kept(KeptPage),
}

/// A page of an input PDF copied unchanged into the output (it has its own text): the
/// objects it uses, already read, so the PDF writer needs nothing else.
pub struct KeptPage {
    pub label: String,
    /// The page dictionary's id among `objects`.
    pub page: lopdf::ObjectId,
    /// The page and everything it refers to (contents, resources, fonts, images...).
    pub objects: Vec<(lopdf::ObjectId, lopdf::Object)>,
    /// The page's own text, for the text and JSON outputs.
    pub text: String,
}

/// The page's pixels in the form that embeds best in a PDF.
pub enum PagePixels {
    /// Only black and white: `gray` holds 0 and 255, embedded as CCITT G4.
    Bilevel,
    /// Embedded from `gray`.
    Gray,
    /// A JPEG file embedded unchanged (1 or 3 components).
    Jpeg { data: Vec<u8>, components: u8 },
    /// A PNG's zlib stream embedded unchanged (8-bit grey or RGB, or 1-bit grey, no
    /// interlacing): the PDF decodes it with the same PNG predictors.
    PngStream { idat: Vec<u8>, colors: u8, bits: u8 },
    /// 8-bit RGB, row-major.
    Rgb(Vec<u8>),
}

/// The pages of one input file, decoded lazily.
pub enum InputPages {
    /// A PNG or JPEG: a single page, decoded when asked for.
    Single(Option<(String, Vec<u8>)>),
    /// A PDF, page by page.
    Pdf(Box<super::pdf_input::PdfPages>),
    /// A TIFF, page by page.
    Tiff {
        name: String,
        decoder: Box<tiff::decoder::Decoder<BufReader<File>>>,
        next: usize,
        done: bool,
    },
}

/// Opens `path` and recognizes its format from its first bytes (not its extension).
///
/// # Errors
/// Unreadable, empty, or of an unsupported format.
pub fn open(path: &Path, text_pages: TextPages) -> Result<InputPages, OcrError> {
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let unreadable = |e: std::io::Error| OcrError::Unreadable {
        file: name.clone(),
        reason: e.to_string(),
    };
    let mut file = File::open(path).map_err(unreadable)?;
    let mut magic = [0u8; 8];
    let read = read_up_to(&mut file, &mut magic).map_err(unreadable)?;
    if read == 0 {
        return Err(OcrError::Unreadable {
            file: name,
            reason: "the file is empty".to_owned(),
        });
    }
    let magic = &magic[..read];
    if magic.starts_with(b"II*\0") || magic.starts_with(b"MM\0*") {
        file.rewind().map_err(unreadable)?;
        let decoder =
            tiff::decoder::Decoder::new(BufReader::new(file)).map_err(|e| OcrError::Corrupt {
                file: name.clone(),
                page: 1,
                reason: e.to_string(),
            })?;
        return Ok(InputPages::Tiff {
            name,
            decoder: Box::new(decoder),
            next: 1,
            done: false,
        });
    }
    if magic.starts_with(b"\x89PNG\r\n\x1a\n") || magic.starts_with(&[0xFF, 0xD8, 0xFF]) {
        let mut bytes = magic.to_vec();
        file.read_to_end(&mut bytes).map_err(unreadable)?;
        return Ok(InputPages::Single(Some((name, bytes))));
    }
    if magic.starts_with(b"%PDF") {
        let pages = super::pdf_input::open(path, name, text_pages)?;
        return Ok(InputPages::Pdf(Box::new(pages)));
    }
    Err(OcrError::Unsupported {
        file: name,
        reason: "not a PNG, JPEG or TIFF image".to_owned(),
    })
}

fn read_up_to(file: &mut File, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

impl Iterator for InputPages {
    type Item = Result<InputPage, OcrError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_page()
    }
}

impl InputPages {
    fn next_page(&mut self) -> Option<Result<InputPage, OcrError>> {
        if let InputPages::Pdf(pages) = self {
            return pages.next();
        }
        self.next_image().map(|page| page.map(InputPage::Scan))
    }

    fn next_image(&mut self) -> Option<Result<PageImage, OcrError>> {
        match self {
            InputPages::Pdf(_) => None,
            InputPages::Single(slot) => {
                slot.take().map(|(name, bytes)| decode_single(&name, bytes))
            }
            InputPages::Tiff {
                name,
                decoder,
                next,
                done,
            } => {
                if *done {
                    return None;
                }
                let page = *next;
                if page > 1 {
                    if !decoder.more_images() {
                        *done = true;
                        return None;
                    }
                    if let Err(e) = decoder.next_image() {
                        *done = true;
                        return Some(Err(OcrError::Corrupt {
                            file: name.clone(),
                            page,
                            reason: e.to_string(),
                        }));
                    }
                }
                *next += 1;
                let result = decode_tiff_page(decoder, name, page);
                if result.is_err() {
                    *done = true;
                }
                Some(result)
            }
        }
    }
}

pub(super) fn check_size(file: &str, page: usize, width: u32, height: u32) -> Result<(), OcrError> {
    if width == 0 || height == 0 {
        return Err(OcrError::Corrupt {
            file: file.to_owned(),
            page,
            reason: "the image has no pixels".to_owned(),
        });
    }
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(OcrError::TooLarge {
            file: file.to_owned(),
            page,
            width,
            height,
        });
    }
    Ok(())
}

pub(super) fn decode_single(name: &str, bytes: Vec<u8>) -> Result<PageImage, OcrError> {
    let corrupt = |reason: String| OcrError::Corrupt {
        file: name.to_owned(),
        page: 1,
        reason,
    };
    // Dimensions straight from the header, so a bomb is refused before any decoding.
    let (width, height) =
        header_dimensions(&bytes).ok_or_else(|| corrupt("no image header".to_owned()))?;
    check_size(name, 1, width, height)?;
    let mut reader = image::ImageReader::new(Cursor::new(&bytes))
        .with_guessed_format()
        .map_err(|e| corrupt(e.to_string()))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_PIXELS * 4);
    reader.limits(limits);
    let is_png = bytes.starts_with(b"\x89PNG");
    let dpi = if is_png {
        png_dpi(&bytes)
    } else {
        jpeg_dpi(&bytes)
    }
    .unwrap_or((DEFAULT_DPI, DEFAULT_DPI));
    let image = reader.decode().map_err(|e| corrupt(e.to_string()))?;
    let label = name.to_owned();
    let has_alpha = image.color().has_alpha();
    let (gray, rgb) = match image {
        image::DynamicImage::ImageLuma8(gray) => (gray.into_raw(), None),
        // Transparent parts are paper: composite on white (dropping alpha would turn a
        // transparent background black).
        other if has_alpha => {
            let rgb: Vec<u8> = other
                .into_rgba8()
                .into_raw()
                .chunks_exact(4)
                .flat_map(composite_on_white)
                .collect();
            (luma_of_rgb(&rgb), Some(rgb))
        }
        other if other.color().has_color() => {
            let rgb = other.into_rgb8().into_raw();
            (luma_of_rgb(&rgb), Some(rgb))
        }
        other => (other.into_luma8().into_raw(), None),
    };
    let pixels = if is_png {
        match png_stream(&bytes) {
            Some(stream) => stream,
            None => raw_pixels(&gray, rgb),
        }
    } else {
        match jpeg_components(&bytes) {
            Some(components @ (1 | 3)) if (components == 3) == rgb.is_some() => PagePixels::Jpeg {
                data: bytes,
                components,
            },
            _ => raw_pixels(&gray, rgb),
        }
    };
    Ok(PageImage {
        label,
        width,
        height,
        dpi,
        gray,
        pixels,
    })
}

/// Width and height from a PNG IHDR or a JPEG start-of-frame header.
fn header_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.starts_with(b"\x89PNG") {
        let (kind, header) = png_chunks(bytes).next()?;
        let field =
            |i: usize| u32::from_be_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
        return (kind == b"IHDR" && header.len() >= 8).then(|| (field(0), field(4)));
    }
    let (_, frame) = jpeg_segments(bytes).find(|(marker, _)| is_start_of_frame(*marker))?;
    let height = u16::from_be_bytes([*frame.get(1)?, *frame.get(2)?]);
    let width = u16::from_be_bytes([*frame.get(3)?, *frame.get(4)?]);
    Some((u32::from(width), u32::from(height)))
}

fn is_start_of_frame(marker: u8) -> bool {
    matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF)
}

/// Decoded pixels: bilevel when only pure black and white occur.
pub(super) fn raw_pixels(gray: &[u8], rgb: Option<Vec<u8>>) -> PagePixels {
    match rgb {
        Some(rgb) => PagePixels::Rgb(rgb),
        None if gray.iter().all(|&v| v == 0 || v == 255) => PagePixels::Bilevel,
        None => PagePixels::Gray,
    }
}

pub(super) fn luma_of_rgb(rgb: &[u8]) -> Vec<u8> {
    rgb.chunks_exact(3)
        .map(|p| {
            ((299 * u32::from(p[0]) + 587 * u32::from(p[1]) + 114 * u32::from(p[2]) + 500) / 1000)
                as u8
        })
        .collect()
}

fn decode_tiff_page(
    decoder: &mut tiff::decoder::Decoder<BufReader<File>>,
    name: &str,
    page: usize,
) -> Result<PageImage, OcrError> {
    use tiff::ColorType;
    use tiff::decoder::DecodingResult;
    let corrupt = |e: tiff::TiffError| OcrError::Corrupt {
        file: name.to_owned(),
        page,
        reason: e.to_string(),
    };
    let (width, height) = decoder.dimensions().map_err(corrupt)?;
    check_size(name, page, width, height)?;
    let dpi = tiff_dpi(decoder).unwrap_or((DEFAULT_DPI, DEFAULT_DPI));
    let color = decoder.colortype().map_err(corrupt)?;
    let data = decoder.read_image().map_err(corrupt)?;
    let label = format!("{name}, trang {page}");
    let pixels = width as usize * height as usize;
    let (gray, rgb) = match (color, data) {
        (ColorType::Gray(1), DecodingResult::U8(packed)) => {
            let row_bytes = (width as usize).div_ceil(8);
            let mut gray = Vec::with_capacity(pixels);
            for row in packed.chunks(row_bytes).take(height as usize) {
                for x in 0..width as usize {
                    let bit = (row.get(x / 8).copied().unwrap_or(0) >> (7 - x % 8)) & 1;
                    // The tiff crate already turns WhiteIsZero data into BlackIsZero: 1 is white.
                    gray.push(if bit == 1 { 255 } else { 0 });
                }
            }
            (gray, None)
        }
        // WhiteIsZero data arrives already inverted by the tiff crate.
        (ColorType::Gray(8), DecodingResult::U8(gray)) => (gray, None),
        (ColorType::Gray(16), DecodingResult::U16(values)) => {
            (values.iter().map(|v| (v >> 8) as u8).collect(), None)
        }
        (ColorType::RGB(8), DecodingResult::U8(rgb)) => (luma_of_rgb(&rgb), Some(rgb)),
        (ColorType::RGBA(8), DecodingResult::U8(rgba)) => {
            let rgb: Vec<u8> = rgba.chunks_exact(4).flat_map(composite_on_white).collect();
            (luma_of_rgb(&rgb), Some(rgb))
        }
        (ColorType::RGB(16), DecodingResult::U16(values)) => {
            let rgb: Vec<u8> = values.iter().map(|v| (v >> 8) as u8).collect();
            (luma_of_rgb(&rgb), Some(rgb))
        }
        (other, _) => {
            return Err(OcrError::Unsupported {
                file: name.to_owned(),
                reason: format!("TIFF colour type {other:?} (page {page})"),
            });
        }
    };
    if gray.len() != pixels {
        return Err(OcrError::Corrupt {
            file: name.to_owned(),
            page,
            reason: "truncated image data".to_owned(),
        });
    }
    let pixels = raw_pixels(&gray, rgb);
    Ok(PageImage {
        label,
        width,
        height,
        dpi,
        gray,
        pixels,
    })
}

fn composite_on_white(p: &[u8]) -> [u8; 3] {
    let alpha = u32::from(p[3]);
    let blend = |c: u8| ((u32::from(c) * alpha + 255 * (255 - alpha) + 127) / 255) as u8;
    [blend(p[0]), blend(p[1]), blend(p[2])]
}

/// A stated resolution is used only when plausible for a scan.
pub(super) fn plausible(dpi: (f32, f32)) -> Option<(f32, f32)> {
    let ok = |v: f32| (50.0..=2400.0).contains(&v);
    (ok(dpi.0) && ok(dpi.1)).then_some(dpi)
}

fn tiff_dpi(decoder: &mut tiff::decoder::Decoder<BufReader<File>>) -> Option<(f32, f32)> {
    use tiff::tags::Tag;
    let rational = |decoder: &mut tiff::decoder::Decoder<BufReader<File>>, tag| match decoder
        .find_tag(tag)
        .ok()??
    {
        tiff::decoder::ifd::Value::Rational(n, d) if d != 0 => Some(n as f32 / d as f32),
        other => other.into_f32().ok(),
    };
    let x = rational(decoder, Tag::XResolution)?;
    let y = rational(decoder, Tag::YResolution).unwrap_or(x);
    // ResolutionUnit: 1 none, 2 inch (default), 3 centimetre.
    let per_inch = match decoder.get_tag_u32(Tag::ResolutionUnit) {
        Ok(3) => 2.54,
        Ok(1) => return None,
        _ => 1.0,
    };
    plausible((x * per_inch, y * per_inch))
}

/// The chunks of a PNG file: (type, data).
fn png_chunks(bytes: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut offset = 8;
    std::iter::from_fn(move || {
        let length = u32::from_be_bytes(bytes.get(offset..offset + 4)?.try_into().ok()?) as usize;
        let kind = bytes.get(offset + 4..offset + 8)?;
        let data = bytes.get(offset + 8..offset + 8 + length)?;
        offset += 12 + length;
        Some((kind, data))
    })
}

fn png_dpi(bytes: &[u8]) -> Option<(f32, f32)> {
    let (_, phys) = png_chunks(bytes).find(|(kind, _)| *kind == b"pHYs")?;
    if phys.len() < 9 || phys[8] != 1 {
        return None; // unit 1 is the metre; 0 means aspect ratio only
    }
    let per_metre = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as f32;
    plausible((
        per_metre(&phys[0..4]) * 0.0254,
        per_metre(&phys[4..8]) * 0.0254,
    ))
}

/// The PNG's compressed image data, when a PDF can decode it as is: grey or RGB, 8-bit (or
/// 1-bit grey), not interlaced.
fn png_stream(bytes: &[u8]) -> Option<PagePixels> {
    let mut chunks = png_chunks(bytes);
    let (kind, header) = chunks.next()?;
    if kind != b"IHDR" || header.len() < 13 {
        return None;
    }
    let (bits, color_type, interlace) = (header[8], header[9], header[12]);
    let colors = match (color_type, bits) {
        (0, 8 | 1) => 1,
        (2, 8) => 3,
        _ => return None,
    };
    if interlace != 0 {
        return None;
    }
    let mut idat = Vec::new();
    for (kind, data) in png_chunks(bytes) {
        if kind == b"IDAT" {
            idat.extend_from_slice(data);
        }
    }
    (!idat.is_empty()).then_some(PagePixels::PngStream { idat, colors, bits })
}

/// JPEG segments before the image data: (marker, payload).
fn jpeg_segments(bytes: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let mut offset = 2;
    std::iter::from_fn(move || {
        if *bytes.get(offset)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(offset + 1)?;
        if marker == 0xDA || marker == 0xD9 {
            return None; // start of scan: headers are over
        }
        let length =
            u16::from_be_bytes([*bytes.get(offset + 2)?, *bytes.get(offset + 3)?]) as usize;
        let payload = bytes.get(offset + 4..offset + 2 + length)?;
        offset += 2 + length;
        Some((marker, payload))
    })
}

fn jpeg_dpi(bytes: &[u8]) -> Option<(f32, f32)> {
    let (_, app0) = jpeg_segments(bytes)
        .find(|(marker, payload)| *marker == 0xE0 && payload.starts_with(b"JFIF\0"))?;
    let unit = *app0.get(7)?;
    let x = f32::from(u16::from_be_bytes([*app0.get(8)?, *app0.get(9)?]));
    let y = f32::from(u16::from_be_bytes([*app0.get(10)?, *app0.get(11)?]));
    match unit {
        1 => plausible((x, y)),
        2 => plausible((x * 2.54, y * 2.54)),
        _ => None,
    }
}

/// Number of colour components of a JPEG (from its start-of-frame header).
fn jpeg_components(bytes: &[u8]) -> Option<u8> {
    let (_, frame) = jpeg_segments(bytes).find(|(marker, _)| is_start_of_frame(*marker))?;
    frame.get(5).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scans(pages: InputPages) -> Result<Vec<PageImage>, OcrError> {
        pages
            .map(|page| match page? {
                InputPage::Scan(image) => Ok(image),
                InputPage::Kept(_) => panic!("an image file has no kept pages"),
            })
            .collect()
    }

    fn write_temp(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn the_sample_scan_is_one_bilevel_page_at_300_dpi_kept_as_png_data() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/scan-quyet-dinh.png");
        let pages = scans(open(&path, TextPages::Keep).unwrap()).unwrap();
        assert_eq!(pages.len(), 1);
        let page = &pages[0];
        assert_eq!((page.width, page.height), (2480, 3508));
        assert!((page.dpi.0 - 300.0).abs() < 0.5, "{:?}", page.dpi);
        assert!(matches!(
            page.pixels,
            PagePixels::PngStream {
                colors: 1,
                bits: 1,
                ..
            }
        ));
        assert_eq!(page.gray.len(), 2480 * 3508);
    }

    #[test]
    fn empty_truncated_and_foreign_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let empty = write_temp(&dir, "empty.png", b"");
        assert!(matches!(
            open(&empty, TextPages::Keep),
            Err(OcrError::Unreadable { .. })
        ));
        let text = write_temp(&dir, "note.txt", b"hello, not an image");
        assert!(matches!(
            open(&text, TextPages::Keep),
            Err(OcrError::Unsupported { .. })
        ));
        let sample = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/scan-quyet-dinh.png"),
        )
        .unwrap();
        let truncated = write_temp(&dir, "cut.png", &sample[..sample.len() / 3]);
        let result = scans(open(&truncated, TextPages::Keep).unwrap());
        assert!(matches!(result, Err(OcrError::Corrupt { .. })));
    }

    #[test]
    fn a_decompression_bomb_is_refused_from_its_header() {
        // A valid PNG header claiming 100000 x 100000 pixels, and no image data.
        let mut png = Vec::new();
        let encoder = png::Encoder::new(&mut png, 100_000, 100_000);
        drop(encoder.write_header().unwrap());
        let dir = tempfile::tempdir().unwrap();
        let path = write_temp(&dir, "bomb.png", &png);
        let result = scans(open(&path, TextPages::Keep).unwrap());
        assert!(
            matches!(
                result,
                Err(OcrError::TooLarge {
                    width: 100_000,
                    height: 100_000,
                    ..
                })
            ),
            "{:?}",
            result.err()
        );
    }

    #[test]
    fn jpeg_headers_give_resolution_and_components() {
        let image = image::GrayImage::from_pixel(40, 20, image::Luma([200]));
        let mut jpeg = Vec::new();
        image::DynamicImage::ImageLuma8(image)
            .write_to(&mut Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
            .unwrap();
        assert_eq!(jpeg_components(&jpeg), Some(1));
        let page = decode_single("x.jpg", jpeg).unwrap();
        assert!(matches!(
            page.pixels,
            PagePixels::Jpeg { components: 1, .. }
        ));
        assert_eq!(
            page.dpi,
            (DEFAULT_DPI, DEFAULT_DPI),
            "no JFIF density: the default applies"
        );
    }
}
