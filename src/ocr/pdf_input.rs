//! Pages of a PDF as OCR input.
//!
//! A scanned PDF carries one image per page: that image is taken out as it is (JPEG data
//! stays JPEG, CCITT and Flate images are decoded) and goes through the same page pipeline
//! as a TIFF page, at the resolution implied by the page size.
//!
//! A page that already has text keeps it (its own text is better than any OCR of it) and is
//! copied to the output unchanged, unless asked otherwise, as OCRmyPDF's modes do:
//! - `--redo-ocr`: a page whose only text is invisible (an earlier OCR layer) is OCRed again
//!   from its image, the old layer dropped; pages with visible text are still kept;
//! - `--force-ocr`: every page with text is rendered (poppler's `pdftoppm`, 300 dpi) and the
//!   rendering OCRed; the original text is replaced.

use std::path::{Path, PathBuf};
use std::process::Command;

use lopdf::{Document, Object, ObjectId};

use super::OcrError;
use super::input::{self, InputPage, KeptPage, PageImage, PagePixels};

/// What to do with pages that already contain text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TextPages {
    /// Copy them unchanged (`--skip-text`, the default).
    #[default]
    Keep,
    /// OCR again pages whose only text is an invisible OCR layer (`--redo-ocr`).
    RedoOcr,
    /// Render every page with text and OCR the rendering (`--force-ocr`).
    ForceOcr,
}

/// The text a page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PageText {
    None,
    /// Only in rendering mode 3 (invisible): an earlier OCR layer.
    InvisibleOnly,
    Visible,
}

/// An opened PDF and the position of the next page to hand out.
pub struct PdfPages {
    name: String,
    path: PathBuf,
    document: Document,
    pages: Vec<ObjectId>,
    next: usize,
    text_pages: TextPages,
}

/// Opens a PDF for OCR.
///
/// # Errors
/// Unreadable, damaged or encrypted.
pub fn open(path: &Path, name: String, text_pages: TextPages) -> Result<PdfPages, OcrError> {
    let document = Document::load(path).map_err(|e| OcrError::Corrupt {
        file: name.clone(),
        page: 1,
        reason: e.to_string(),
    })?;
    if document.is_encrypted()
        || document.was_encrypted()
        || document.trailer.get(b"Encrypt").is_ok()
    {
        return Err(OcrError::Unsupported {
            file: name,
            reason: "the PDF is encrypted".to_owned(),
        });
    }
    let pages = document.get_pages().into_values().collect();
    Ok(PdfPages {
        name,
        path: path.to_owned(),
        document,
        pages,
        next: 0,
        text_pages,
    })
}

impl Iterator for PdfPages {
    type Item = Result<InputPage, OcrError>;

    fn next(&mut self) -> Option<Self::Item> {
        let page_id = *self.pages.get(self.next)?;
        self.next += 1;
        let number = self.next;
        let result = self.page(page_id, number);
        if result.is_err() {
            self.next = self.pages.len(); // stop after the first bad page
        }
        Some(result)
    }
}

impl PdfPages {
    fn page(&self, page_id: ObjectId, number: usize) -> Result<InputPage, OcrError> {
        let label = format!("{}, trang {number}", self.name);
        match (page_text(&self.document, page_id), self.text_pages) {
            (PageText::None, _) | (PageText::InvisibleOnly, TextPages::RedoOcr) => {
                self.scan(page_id, number, label).map(InputPage::Scan)
            }
            (_, TextPages::ForceOcr) => {
                render(&self.path, &self.name, number, label).map(InputPage::Scan)
            }
            (_, TextPages::Keep | TextPages::RedoOcr) => {
                Ok(InputPage::Kept(self.keep(page_id, number, label)))
            }
        }
    }

    /// The page and every object it refers to, for copying unchanged. `/Parent` links are not
    /// followed (they lead to the rest of the document); inherited attributes are resolved
    /// into the copy of the page.
    fn keep(&self, page_id: ObjectId, number: usize, label: String) -> KeptPage {
        let mut page = self
            .document
            .get_dictionary(page_id)
            .cloned()
            .unwrap_or_default();
        for key in [&b"Resources"[..], b"MediaBox", b"CropBox", b"Rotate"] {
            if page.get(key).is_err()
                && let Some(value) = inherited(&self.document, page_id, key)
            {
                page.set(key, value);
            }
        }
        page.remove(b"Parent");
        let mut objects = vec![(page_id, Object::Dictionary(page))];
        let mut seen = std::collections::HashSet::from([page_id]);
        let mut index = 0;
        while index < objects.len() {
            let mut found = Vec::new();
            collect_references(&objects[index].1, &mut found);
            for id in found {
                if seen.insert(id)
                    && let Ok(object) = self.document.get_object(id)
                {
                    objects.push((id, object.clone()));
                }
            }
            index += 1;
        }
        let mut text = self
            .document
            .extract_text(&[number as u32])
            .unwrap_or_default();
        // lopdf reads only the page's own content; poppler also reads text drawn through
        // form XObjects and fonts lopdf cannot map.
        if text.trim().is_empty() {
            text = poppler_text(&self.path, number).unwrap_or_default();
        }
        let text = unicode_normalization::UnicodeNormalization::nfc(text.as_str()).collect();
        KeptPage {
            label,
            page: page_id,
            objects,
            text,
        }
    }

    fn scan(&self, page_id: ObjectId, number: usize, label: String) -> Result<PageImage, OcrError> {
        let (width_pt, height_pt) = page_size(&self.document, page_id);
        let images = self
            .document
            .get_page_images(page_id)
            .map_err(|e| self.corrupt(number, e.to_string()))?;
        // One image filling the page is a scan whose pixels can be taken as they are. Anything
        // else (strips, a logo beside vector art, masks, /Decode, colour spaces other than
        // grey and RGB, page rotation) is rendered by poppler, which applies all of it.
        let simple = images.len() == 1
            && page_rotation(&self.document, page_id) == 0
            && is_plain_image(&images[0]);
        let Some(image) = images.into_iter().next().filter(|_| simple) else {
            return render(&self.path, &self.name, number, label);
        };
        let (width, height) = (
            u32::try_from(image.width).unwrap_or(0),
            u32::try_from(image.height).unwrap_or(0),
        );
        input::check_size(&self.name, number, width, height)?;
        // The scan fills the page, so its resolution follows from the page size.
        let dpi = (
            (f64::from(width) * 72.0 / width_pt) as f32,
            (f64::from(height) * 72.0 / height_pt) as f32,
        );
        let dpi = input::plausible(dpi).unwrap_or((input::DEFAULT_DPI, input::DEFAULT_DPI));
        let filters = image.filters.clone().unwrap_or_default();
        let filters: Vec<&str> = filters.iter().map(String::as_str).collect();
        let mut page = match filters.as_slice() {
            ["DCTDecode"] => input::decode_single(&label, image.content.to_vec())?,
            ["CCITTFaxDecode"] => self.ccitt(&image, number, &label)?,
            [] | ["FlateDecode"] => match self.raw(image.id, &image, number, &label) {
                Err(OcrError::Unsupported { .. }) => {
                    return render(&self.path, &self.name, number, label);
                }
                other => other?,
            },
            _ => return render(&self.path, &self.name, number, label),
        };
        page.dpi = dpi;
        page.label = label;
        Ok(page)
    }

    fn corrupt(&self, page: usize, reason: String) -> OcrError {
        OcrError::Corrupt {
            file: self.name.clone(),
            page,
            reason,
        }
    }

    fn ccitt(
        &self,
        image: &lopdf::xobject::PdfImage<'_>,
        number: usize,
        label: &str,
    ) -> Result<PageImage, OcrError> {
        let params = image
            .origin_dict
            .get(b"DecodeParms")
            .ok()
            .and_then(|p| p.as_dict().ok());
        let param = |key: &[u8]| params.and_then(|p| p.get(key).ok());
        let k = param(b"K").and_then(|v| v.as_i64().ok()).unwrap_or(0);
        let black_is_1 = param(b"BlackIs1")
            .and_then(|v| v.as_bool().ok())
            .unwrap_or(false);
        if k >= 0 {
            return Err(OcrError::Unsupported {
                file: self.name.clone(),
                reason: format!(
                    "page {number}: CCITT Group 3 images are not supported (Group 4 is)"
                ),
            });
        }
        let (width, height) = (image.width as u16, image.height as u16);
        let mut gray = Vec::with_capacity(usize::from(width) * usize::from(height));
        let mut rows = 0u32;
        fax::decoder::decode_g4(
            image.content.iter().copied(),
            width,
            Some(height),
            |transitions| {
                for pel in fax::decoder::pels(transitions, width) {
                    let black = pel == fax::Color::Black;
                    // Without BlackIs1, 0 bits are black (what G4 codes as black).
                    gray.push(if black != black_is_1 { 0 } else { 255 });
                }
                rows += 1;
            },
        );
        if rows != u32::from(height) {
            return Err(self.corrupt(
                number,
                format!("CCITT data ends after {rows} of {height} rows"),
            ));
        }
        Ok(PageImage {
            label: label.to_owned(),
            width: u32::from(width),
            height: u32::from(height),
            dpi: (0.0, 0.0),
            gray,
            pixels: PagePixels::Bilevel,
        })
    }

    fn raw(
        &self,
        id: ObjectId,
        image: &lopdf::xobject::PdfImage<'_>,
        number: usize,
        label: &str,
    ) -> Result<PageImage, OcrError> {
        let stream = self
            .document
            .get_object(id)
            .and_then(Object::as_stream)
            .map_err(|e| self.corrupt(number, e.to_string()))?;
        let data = if image.filters.as_ref().is_some_and(|f| !f.is_empty()) {
            stream
                .decompressed_content()
                .map_err(|e| self.corrupt(number, e.to_string()))?
        } else {
            stream.content.clone()
        };
        let (width, height) = (image.width as usize, image.height as usize);
        let bits = image.bits_per_component.unwrap_or(8);
        let space = image.color_space.as_deref().unwrap_or("DeviceGray");
        let unsupported = || OcrError::Unsupported {
            file: self.name.clone(),
            reason: format!("page {number}: {bits}-bit {space} images are not supported"),
        };
        let (gray, rgb) = match (space, bits) {
            ("DeviceGray", 8) => (
                data.get(..width * height)
                    .ok_or_else(|| self.corrupt(number, "short image data".to_owned()))?
                    .to_vec(),
                None,
            ),
            ("DeviceGray", 1) => {
                let row_bytes = width.div_ceil(8);
                if data.len() < row_bytes * height {
                    return Err(self.corrupt(number, "short image data".to_owned()));
                }
                let gray = (0..height)
                    .flat_map(|y| (0..width).map(move |x| (y, x)))
                    .map(|(y, x)| {
                        if (data[y * row_bytes + x / 8] >> (7 - x % 8)) & 1 == 1 {
                            255
                        } else {
                            0
                        }
                    })
                    .collect();
                (gray, None)
            }
            ("DeviceRGB", 8) => {
                let rgb = data
                    .get(..width * height * 3)
                    .ok_or_else(|| self.corrupt(number, "short image data".to_owned()))?
                    .to_vec();
                (input::luma_of_rgb(&rgb), Some(rgb))
            }
            _ => return Err(unsupported()),
        };
        let pixels = input::raw_pixels(&gray, rgb);
        Ok(PageImage {
            label: label.to_owned(),
            width: width as u32,
            height: height as u32,
            dpi: (0.0, 0.0),
            gray,
            pixels,
        })
    }
}

/// Whether an image can be taken out of the PDF as it is: grey or RGB (or a bilevel
/// CCITT/DCT image), no mask, no /Decode array, no soft mask, no colour key.
fn is_plain_image(image: &lopdf::xobject::PdfImage<'_>) -> bool {
    let dictionary = image.origin_dict;
    let flagged = |key: &[u8]| dictionary.get(key).is_ok();
    let space = image.color_space.as_deref().unwrap_or("DeviceGray");
    !flagged(b"ImageMask")
        && !flagged(b"Decode")
        && !flagged(b"SMask")
        && !flagged(b"Mask")
        && matches!(space, "DeviceGray" | "DeviceRGB")
}

/// The page's /Rotate (inherited), as a multiple of 90 in 0..360.
fn page_rotation(document: &Document, page_id: ObjectId) -> i64 {
    let own = document
        .get_dictionary(page_id)
        .ok()
        .and_then(|page| page.get(b"Rotate").ok().cloned());
    own.or_else(|| inherited(document, page_id, b"Rotate"))
        .and_then(|value| value.as_i64().ok())
        .unwrap_or(0)
        .rem_euclid(360)
}

/// What text the page shows, following the text rendering mode (`Tr`) and looking into the
/// form XObjects it draws (tools that stamp or merge pages put the whole page in one).
fn page_text(document: &Document, page_id: ObjectId) -> PageText {
    let Ok(content) = document.get_and_decode_page_content(page_id) else {
        return PageText::None;
    };
    let resources = document.get_dictionary(page_id).ok().and_then(|page| {
        page.get(b"Resources")
            .ok()
            .cloned()
            .or_else(|| inherited(document, page_id, b"Resources"))
    });
    operations_text(document, &content.operations, resources.as_ref(), 0)
}

fn operations_text(
    document: &Document,
    operations: &[lopdf::content::Operation],
    resources: Option<&Object>,
    depth: usize,
) -> PageText {
    let (mut mode, mut found) = (0, PageText::None);
    for op in operations {
        match op.operator.as_str() {
            "Tr" => {
                mode = op
                    .operands
                    .first()
                    .and_then(|m| m.as_i64().ok())
                    .unwrap_or(0)
            }
            // The rendering mode is graphics state: it persists across text objects.
            "Tj" | "TJ" | "'" | "\"" if mode == 3 => found = PageText::InvisibleOnly,
            "Tj" | "TJ" | "'" | "\"" => return PageText::Visible,
            "Do" if depth < 8 => {
                let Some(form) = form_xobject(document, resources, op.operands.first()) else {
                    continue;
                };
                let Ok(data) = form.decompressed_content() else {
                    continue;
                };
                let Ok(content) = lopdf::content::Content::decode(&data) else {
                    continue;
                };
                let form_resources = form.dict.get(b"Resources").ok().cloned();
                let inner = form_resources.as_ref().or(resources);
                match operations_text(document, &content.operations, inner, depth + 1) {
                    PageText::Visible => return PageText::Visible,
                    PageText::InvisibleOnly => found = PageText::InvisibleOnly,
                    PageText::None => {}
                }
            }
            _ => {}
        }
    }
    found
}

/// The form XObject that `Do name` draws, if it is a form (not an image).
fn form_xobject<'a>(
    document: &'a Document,
    resources: Option<&Object>,
    name: Option<&Object>,
) -> Option<&'a lopdf::Stream> {
    let name = name?.as_name().ok()?;
    let resources = resolve_dictionary(document, resources?)?;
    let xobjects = resolve_dictionary(document, resources.get(b"XObject").ok()?)?;
    let id = xobjects.get(name).ok()?.as_reference().ok()?;
    let stream = document.get_object(id).ok()?.as_stream().ok()?;
    (stream.dict.get(b"Subtype").ok()?.as_name().ok()? == b"Form").then_some(stream)
}

fn resolve_dictionary(document: &Document, object: &Object) -> Option<lopdf::Dictionary> {
    match object {
        Object::Reference(id) => document.get_dictionary(*id).ok().cloned(),
        Object::Dictionary(dictionary) => Some(dictionary.clone()),
        _ => None,
    }
}

/// An attribute the page inherits from its ancestors in the page tree.
fn inherited(document: &Document, page_id: ObjectId, key: &[u8]) -> Option<Object> {
    let mut node = document.get_dictionary(page_id).ok()?;
    for _ in 0..64 {
        let parent = node.get(b"Parent").ok()?.as_reference().ok()?;
        node = document.get_dictionary(parent).ok()?;
        if let Ok(value) = node.get(key) {
            return Some(value.clone());
        }
    }
    None
}

/// The indirect references inside `object`, except `/Parent` links.
fn collect_references(object: &Object, found: &mut Vec<ObjectId>) {
    match object {
        Object::Reference(id) => found.push(*id),
        Object::Array(items) => items
            .iter()
            .for_each(|item| collect_references(item, found)),
        Object::Dictionary(dictionary) => collect_dictionary(dictionary, found),
        Object::Stream(stream) => collect_dictionary(&stream.dict, found),
        _ => {}
    }
}

fn collect_dictionary(dictionary: &lopdf::Dictionary, found: &mut Vec<ObjectId>) {
    for (key, value) in dictionary.iter() {
        // These lead to the page tree, other pages (link destinations, articles) or the
        // structure tree: following them would copy the rest of the document.
        if !matches!(
            key.as_slice(),
            b"Parent" | b"P" | b"Dest" | b"B" | b"StructParent" | b"StructParents"
        ) {
            collect_references(value, found);
        }
    }
}

/// Page width and height in points (MediaBox, default A4).
fn page_size(document: &Document, page_id: ObjectId) -> (f64, f64) {
    let media_box = document
        .get_dictionary(page_id)
        .ok()
        .and_then(|page| page.get(b"MediaBox").ok())
        .and_then(|object| object.as_array().ok())
        .map(|values| {
            values
                .iter()
                .filter_map(|v| {
                    v.as_float()
                        .ok()
                        .map(f64::from)
                        .or_else(|| v.as_i64().ok().map(|i| i as f64))
                })
                .collect::<Vec<f64>>()
        });
    match media_box.as_deref() {
        Some([x0, y0, x1, y1]) if (x1 - x0).abs() > 1.0 && (y1 - y0).abs() > 1.0 => {
            ((x1 - x0).abs(), (y1 - y0).abs())
        }
        _ => (595.0, 842.0),
    }
}

/// The text of page `number` as poppler's `pdftotext` reads it, when poppler is installed.
fn poppler_text(path: &Path, number: usize) -> Option<String> {
    let page = number.to_string();
    let output = Command::new("pdftotext")
        .args(["-q", "-enc", "UTF-8", "-f", &page, "-l", &page])
        .arg(path)
        .arg("-")
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Renders page `number` at 300 dpi in grey with poppler (for --force-ocr).
fn render(path: &Path, name: &str, number: usize, label: String) -> Result<PageImage, OcrError> {
    let dir = tempfile::tempdir().map_err(|e| OcrError::Unreadable {
        file: name.to_owned(),
        reason: e.to_string(),
    })?;
    let prefix = dir.path().join("page");
    let page = number.to_string();
    let output = Command::new("pdftoppm")
        .args([
            "-r",
            "300",
            "-gray",
            "-png",
            "-f",
            &page,
            "-l",
            &page,
            "-singlefile",
        ])
        .arg(path)
        .arg(&prefix)
        .output()
        .map_err(|e| OcrError::Unsupported {
            file: name.to_owned(),
            reason: format!("--force-ocr needs poppler's pdftoppm: {e}"),
        })?;
    if !output.status.success() {
        return Err(OcrError::Corrupt {
            file: name.to_owned(),
            page: number,
            reason: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    let png = std::fs::read(prefix.with_extension("png")).map_err(|e| OcrError::Corrupt {
        file: name.to_owned(),
        page: number,
        reason: format!("pdftoppm wrote no image: {e}"),
    })?;
    let mut image = input::decode_single(&label, png)?;
    image.label = label;
    image.dpi = (300.0, 300.0);
    Ok(image)
}
