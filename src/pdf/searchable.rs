//! Searchable PDF writer: each page is the scan, with the recognized words as invisible
//! text placed over their images (ISO 32000-1 §9.3.6, text rendering mode 3).
//!
//! Written as a stream: objects go to the output as pages arrive and only their offsets are
//! kept, so memory does not grow with the number of pages.
//!
//! - The scan is embedded without loss: JPEG and PNG data as they were in the file, other
//!   pages as Flate, bilevel pages as CCITT G4. Rotation and straightening are applied by the
//!   page's transformation matrix, not by resampling, so the stored pixels are the scanned
//!   ones.
//! - The text uses Tesseract's GlyphLessFont: one invisible glyph for every character, with
//!   Identity-H encoding and a ToUnicode map, so text is written as UTF-16 code units and
//!   every Vietnamese letter extracts exactly. Each word is stretched (`Tz`) to the width of
//!   its box, so selection highlights the right words.

use std::io::{self, Write};

use flate2::Compression;
use flate2::write::ZlibEncoder;

use super::PdfError;
use crate::ocr::PageResult;
use std::collections::HashMap;

use lopdf::{Object, ObjectId};

use crate::ocr::input::{KeptPage, PageImage, PagePixels};

const CATALOG: u32 = 1;
const PAGES: u32 = 2;
const FONT: u32 = 3;

/// Document-level properties.
#[derive(Debug, Clone, Default)]
pub struct DocumentInfo {
    pub title: Option<String>,
    /// Creation time (UTC); written to the Info dictionary and, for PDF/A, the XMP.
    pub created: Option<time::OffsetDateTime>,
    /// Write PDF/A-2b (ISO 19005-2, level B): XMP metadata identifying the part and
    /// conformance, and an sRGB output intent for the device colour spaces of the scans.
    pub pdfa: bool,
}

/// A searchable PDF being written to `W`.
pub struct SearchablePdf<W: Write> {
    out: W,
    position: u64,
    offsets: Vec<Option<u64>>,
    pages: Vec<u32>,
}

impl<W: Write> SearchablePdf<W> {
    /// Starts a PDF: header and the shared font.
    ///
    /// # Errors
    /// The GlyphLessFont is not installed with Tesseract, or writing fails.
    pub fn new(out: W) -> Result<Self, PdfError> {
        let font_program = glyphless_font()?;
        let mut pdf = SearchablePdf {
            out,
            position: 0,
            offsets: vec![None; 4],
            pages: Vec::new(),
        };
        // The binary comment marks the file as binary for transfer tools (ISO 32000-1 §7.5.2).
        pdf.write_raw(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n")?;
        pdf.write_fonts(&font_program)?;
        Ok(pdf)
    }

    fn write_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.position += bytes.len() as u64;
        Ok(())
    }

    fn allocate(&mut self) -> u32 {
        self.offsets.push(None);
        (self.offsets.len() - 1) as u32
    }

    fn write_object(&mut self, id: u32, body: &str) -> io::Result<()> {
        self.offsets[id as usize] = Some(self.position);
        self.write_raw(format!("{id} 0 obj\n{body}\nendobj\n").as_bytes())
    }

    fn write_stream(&mut self, id: u32, dictionary: &str, data: &[u8]) -> io::Result<()> {
        self.offsets[id as usize] = Some(self.position);
        self.write_raw(
            format!(
                "{id} 0 obj\n<< {dictionary} /Length {} >>\nstream\n",
                data.len()
            )
            .as_bytes(),
        )?;
        self.write_raw(data)?;
        self.write_raw(b"\nendstream\nendobj\n")
    }

    fn write_fonts(&mut self, font_program: &[u8]) -> io::Result<()> {
        let (cid_font, descriptor, program, to_unicode, cid_to_gid) = (
            self.allocate(),
            self.allocate(),
            self.allocate(),
            self.allocate(),
            self.allocate(),
        );
        self.write_object(
            FONT,
            &format!("<< /Type /Font /Subtype /Type0 /BaseFont /GlyphLessFont /Encoding /Identity-H /DescendantFonts [{cid_font} 0 R] /ToUnicode {to_unicode} 0 R >>"),
        )?;
        // Every glyph is half an em wide (DW 500); words are stretched to their boxes.
        self.write_object(
            cid_font,
            &format!("<< /Type /Font /Subtype /CIDFontType2 /BaseFont /GlyphLessFont /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor {descriptor} 0 R /DW 500 /CIDToGIDMap {cid_to_gid} 0 R >>"),
        )?;
        self.write_object(
            descriptor,
            &format!("<< /Type /FontDescriptor /FontName /GlyphLessFont /Flags 5 /FontBBox [0 0 500 1000] /ItalicAngle 0 /Ascent 1000 /Descent -1 /CapHeight 1000 /StemV 80 /FontFile2 {program} 0 R >>"),
        )?;
        self.write_stream(
            program,
            &format!("/Length1 {}", font_program.len()),
            font_program,
        )?;
        let cmap = "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n1 beginbfrange\n<0000> <FFFF> <0000>\nendbfrange\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n";
        self.write_stream(to_unicode, "", cmap.as_bytes())?;
        // Every CID (a UTF-16 code unit) shows glyph 1, the font's one blank glyph.
        let map: Vec<u8> = std::iter::repeat_n([0u8, 1u8], 65536).flatten().collect();
        self.write_stream(
            cid_to_gid,
            "/Filter /FlateDecode",
            &deflate(&map, Compression::best()),
        )
    }

    /// Appends one page: the scan and its invisible text.
    ///
    /// # Errors
    /// Writing fails.
    pub fn add_page(&mut self, page: &PageImage, result: &PageResult) -> Result<(), PdfError> {
        let (image, content, page_id) = (self.allocate(), self.allocate(), self.allocate());
        let (dictionary, data) = image_stream(page);
        self.write_stream(image, &dictionary, &data)?;
        drop(data);
        let scale = (
            72.0 / f64::from(result.dpi.0),
            72.0 / f64::from(result.dpi.1),
        );
        let (page_width, page_height) = (
            f64::from(result.width) * scale.0,
            f64::from(result.height) * scale.1,
        );
        let mut ops = String::new();
        let m = image_matrix(page, result, scale, page_height);
        ops.push_str(&format!(
            "q {} {} {} {} {} {} cm /Im0 Do Q\n",
            num(m[0]),
            num(m[1]),
            num(m[2]),
            num(m[3]),
            num(m[4]),
            num(m[5])
        ));
        text_layer(&mut ops, result, scale, page_height);
        self.write_stream(
            content,
            "/Filter /FlateDecode",
            &deflate(ops.as_bytes(), Compression::fast()),
        )?;
        self.write_object(
            page_id,
            &format!(
                "<< /Type /Page /Parent {PAGES} 0 R /MediaBox [0 0 {} {}] /Resources << /XObject << /Im0 {image} 0 R >> /Font << /F1 {FONT} 0 R >> >> /Contents {content} 0 R >>",
                num(page_width),
                num(page_height)
            ),
        )?;
        self.pages.push(page_id);
        Ok(())
    }

    /// Appends a page of another PDF unchanged, with every object it uses (renumbered).
    ///
    /// # Errors
    /// Writing fails.
    pub fn add_kept_page(&mut self, kept: &KeptPage) -> Result<(), PdfError> {
        let numbers: HashMap<ObjectId, u32> = kept
            .objects
            .iter()
            .map(|(old, _)| (*old, self.allocate()))
            .collect();
        for (old, object) in &kept.objects {
            let mut object = renumber(object, &numbers);
            if *old == kept.page
                && let Object::Dictionary(page) = &mut object
            {
                page.set("Parent", Object::Reference((PAGES, 0)));
            }
            if let Object::Stream(stream) = &mut object {
                // The length may have been an indirect object of the source file.
                stream
                    .dict
                    .set("Length", Object::Integer(stream.content.len() as i64));
            }
            let id = numbers[old];
            let mut body = Vec::new();
            lopdf::Writer::write_object(&mut body, &object).map_err(|e| PdfError::Write {
                reason: e.to_string(),
            })?;
            self.offsets[id as usize] = Some(self.position);
            self.write_raw(format!("{id} 0 obj\n").as_bytes())?;
            self.write_raw(&body)?;
            self.write_raw(b"\nendobj\n")?;
        }
        self.pages.push(numbers[&kept.page]);
        Ok(())
    }

    /// Writes the page tree, catalog, cross-reference table and trailer; returns the writer.
    ///
    /// # Errors
    /// Writing fails, or no page was added.
    pub fn finish(mut self, info: &DocumentInfo) -> Result<W, PdfError> {
        if self.pages.is_empty() {
            return Err(PdfError::Malformed {
                reason: "a PDF needs at least one page".to_owned(),
            });
        }
        let kids: Vec<String> = self.pages.iter().map(|id| format!("{id} 0 R")).collect();
        self.write_object(
            PAGES,
            &format!(
                "<< /Type /Pages /Kids [{}] /Count {} >>",
                kids.join(" "),
                self.pages.len()
            ),
        )?;
        let mut catalog = format!("<< /Type /Catalog /Pages {PAGES} 0 R /Lang (vi)");
        if info.pdfa {
            let (metadata, intent, profile) = (self.allocate(), self.allocate(), self.allocate());
            self.write_stream(
                metadata,
                "/Type /Metadata /Subtype /XML",
                xmp(info).as_bytes(),
            )?;
            self.write_stream(profile, "/N 3", &srgb_profile()?)?;
            self.write_object(
                intent,
                &format!("<< /Type /OutputIntent /S /GTS_PDFA1 /OutputConditionIdentifier (sRGB IEC61966-2.1) /Info (sRGB IEC61966-2.1) /DestOutputProfile {profile} 0 R >>"),
            )?;
            catalog.push_str(&format!(
                " /Metadata {metadata} 0 R /OutputIntents [{intent} 0 R]"
            ));
        }
        catalog.push_str(" >>");
        self.write_object(CATALOG, &catalog)?;
        let info_id = self.allocate();
        let mut info_dict = format!(
            "<< /Producer {} /Creator {}",
            pdf_text_string(PRODUCER),
            pdf_text_string(CREATOR)
        );
        if let Some(title) = &info.title {
            info_dict.push_str(&format!(" /Title {}", pdf_text_string(title)));
        }
        if let Some(created) = info.created.and_then(|t| t.format(PDF_DATE).ok()) {
            info_dict.push_str(&format!(
                " /CreationDate (D:{created}Z) /ModDate (D:{created}Z)"
            ));
        }
        info_dict.push_str(" >>");
        self.write_object(info_id, &info_dict)?;

        let xref_at = self.position;
        let mut xref = format!("xref\n0 {}\n0000000000 65535 f \n", self.offsets.len());
        for offset in &self.offsets[1..] {
            // Every allocated object is written; a hole would be a bug, marked free.
            match offset {
                Some(offset) => xref.push_str(&format!("{offset:010} 00000 n \n")),
                None => xref.push_str("0000000000 65535 f \n"),
            }
        }
        // The file identifier (required by PDF/A) is derived from the content written.
        let id = hex::encode(&crate::digest::Sha256Digest::of(xref.as_bytes()).as_bytes()[..16]);
        xref.push_str(&format!(
            "trailer\n<< /Size {} /Root {CATALOG} 0 R /Info {info_id} 0 R /ID [<{id}> <{id}>] >>\nstartxref\n{xref_at}\n%%EOF\n",
            self.offsets.len()
        ));
        self.write_raw(xref.as_bytes())?;
        self.out.flush()?;
        Ok(self.out)
    }
}

impl From<io::Error> for PdfError {
    fn from(e: io::Error) -> Self {
        PdfError::Write {
            reason: e.to_string(),
        }
    }
}

const PRODUCER: &str = concat!("hoso ", env!("CARGO_PKG_VERSION"));
const CREATOR: &str = "hoso ocr";
const PDF_DATE: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year][month][day][hour][minute][second]");
const XMP_DATE: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

/// XMP packet for PDF/A-2b; its values repeat the Info dictionary's, as ISO 19005 requires.
fn xmp(info: &DocumentInfo) -> String {
    let escape = |text: &str| {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let mut fields = String::new();
    if let Some(title) = &info.title {
        fields.push_str(&format!(
            "<dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">{}</rdf:li></rdf:Alt></dc:title>\n",
            escape(title)
        ));
    }
    if let Some(date) = info.created.and_then(|t| t.format(XMP_DATE).ok()) {
        fields.push_str(&format!(
            "<xmp:CreateDate>{date}</xmp:CreateDate>\n<xmp:ModifyDate>{date}</xmp:ModifyDate>\n"
        ));
    }
    format!(
        "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n\
<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n\
<rdf:Description rdf:about=\"\" xmlns:pdfaid=\"http://www.aiim.org/pdfa/ns/id/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\" xmlns:pdf=\"http://ns.adobe.com/pdf/1.3/\">\n\
<pdfaid:part>2</pdfaid:part>\n<pdfaid:conformance>B</pdfaid:conformance>\n\
{fields}<xmp:CreatorTool>{CREATOR}</xmp:CreatorTool>\n<pdf:Producer>{PRODUCER}</pdf:Producer>\n\
</rdf:Description>\n</rdf:RDF>\n</x:xmpmeta>\n<?xpacket end=\"w\"?>"
    )
}

/// An sRGB ICC profile (version 4.3) for the PDF/A output intent.
fn srgb_profile() -> Result<Vec<u8>, PdfError> {
    let mut profile = moxcms::ColorProfile::new_srgb();
    // Without the CICP tag the profile stays at ICC 4.3, which PDF/A-2 readers know.
    profile.cicp = None;
    profile.encode().map_err(|e| PdfError::Write {
        reason: format!("sRGB profile: {e:?}"),
    })
}

/// `object` with its references pointing at the new object numbers (references outside the
/// copied set become null, as a reader treats a missing object).
fn renumber(object: &Object, numbers: &HashMap<ObjectId, u32>) -> Object {
    match object {
        Object::Reference(id) => numbers
            .get(id)
            .map_or(Object::Null, |n| Object::Reference((*n, 0))),
        Object::Array(items) => Object::Array(items.iter().map(|i| renumber(i, numbers)).collect()),
        Object::Dictionary(dictionary) => {
            Object::Dictionary(renumber_dictionary(dictionary, numbers))
        }
        Object::Stream(stream) => {
            let mut copy = stream.clone();
            copy.dict = renumber_dictionary(&stream.dict, numbers);
            Object::Stream(copy)
        }
        other => other.clone(),
    }
}

fn renumber_dictionary(
    dictionary: &lopdf::Dictionary,
    numbers: &HashMap<ObjectId, u32>,
) -> lopdf::Dictionary {
    let mut copy = lopdf::Dictionary::new();
    for (key, value) in dictionary.iter() {
        copy.set(key.clone(), renumber(value, numbers));
    }
    copy
}

/// The image XObject's dictionary entries and data for a page.
fn image_stream(page: &PageImage) -> (String, Vec<u8>) {
    let (w, h) = (page.width, page.height);
    match &page.pixels {
        PagePixels::Jpeg { data, components } => {
            let space = if *components == 3 {
                "/DeviceRGB"
            } else {
                "/DeviceGray"
            };
            (
                image_dictionary(w, h, space, 8, "/Filter /DCTDecode"),
                data.clone(),
            )
        }
        PagePixels::PngStream { idat, colors, bits } => {
            let space = if *colors == 3 {
                "/DeviceRGB"
            } else {
                "/DeviceGray"
            };
            let filter = format!(
                "/Filter /FlateDecode /DecodeParms << /Predictor 15 /Colors {colors} /BitsPerComponent {bits} /Columns {w} >>"
            );
            (image_dictionary(w, h, space, *bits, &filter), idat.clone())
        }
        PagePixels::Bilevel => {
            let filter = format!(
                "/Filter /CCITTFaxDecode /DecodeParms << /K -1 /Columns {w} /Rows {h} /BlackIs1 false >>"
            );
            (
                image_dictionary(w, h, "/DeviceGray", 1, &filter),
                g4_encode(&page.gray, w),
            )
        }
        PagePixels::Gray => (
            image_dictionary(w, h, "/DeviceGray", 8, "/Filter /FlateDecode"),
            deflate(&page.gray, Compression::fast()),
        ),
        PagePixels::Rgb(rgb) => (
            image_dictionary(w, h, "/DeviceRGB", 8, "/Filter /FlateDecode"),
            deflate(rgb, Compression::fast()),
        ),
    }
}

fn image_dictionary(w: u32, h: u32, space: &str, bits: u8, filter: &str) -> String {
    format!(
        "/Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace {space} /BitsPerComponent {bits} {filter}"
    )
}

/// CCITT Group 4 (T.6), the densest lossless code for black-and-white scans.
fn g4_encode(gray: &[u8], width: u32) -> Vec<u8> {
    use fax::Color;
    let mut encoder = fax::encoder::Encoder::new(fax::VecWriter::new());
    for row in gray.chunks_exact(width as usize) {
        let pels = row
            .iter()
            .map(|&v| if v < 128 { Color::Black } else { Color::White });
        // Infallible: VecWriter never fails, and width <= MAX_SIDE fits in u16.
        let _ = encoder.encode_line(pels, width as u16);
    }
    match encoder.finish() {
        Ok(writer) => writer.finish(),
        Err(infallible) => match infallible {},
    }
}

fn deflate(data: &[u8], level: Compression) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::with_capacity(data.len() / 4), level);
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}

/// The matrix that draws the scanned image (unit square) where the corrected page shows it:
/// the quarter turns and the straightening found by OCR become a rotation of the image.
fn image_matrix(
    page: &PageImage,
    result: &PageResult,
    scale: (f64, f64),
    page_height: f64,
) -> [f64; 6] {
    let (w, h) = (f64::from(page.width), f64::from(page.height));
    let (frame_w, frame_h) = (f64::from(result.width), f64::from(result.height));
    let quarter_turns = result.rotation_degrees / 90 % 4;
    let theta = f64::from(result.skew_degrees).to_radians();
    let (sin, cos) = theta.sin_cos();
    let to_page = |u: f64, v: f64| {
        // Unit square -> scanned pixel (y down).
        let (x, y) = (u * w, (1.0 - v) * h);
        // Quarter turns clockwise (as Leptonica's pixRotateOrth).
        let (qx, qy) = match quarter_turns {
            1 => (h - y, x),
            2 => (w - x, h - y),
            3 => (y, w - x),
            _ => (x, y),
        };
        // Straightening: clockwise about the centre (as Leptonica's pixRotate).
        let (dx, dy) = (qx - frame_w / 2.0, qy - frame_h / 2.0);
        let (rx, ry) = (
            frame_w / 2.0 + cos * dx - sin * dy,
            frame_h / 2.0 + sin * dx + cos * dy,
        );
        (rx * scale.0, page_height - ry * scale.1)
    };
    let origin = to_page(0.0, 0.0);
    let (ux, uy) = to_page(1.0, 0.0);
    let (vx, vy) = to_page(0.0, 1.0);
    [
        ux - origin.0,
        uy - origin.1,
        vx - origin.0,
        vy - origin.1,
        origin.0,
        origin.1,
    ]
}

/// Invisible words: each line at its baseline with the line's height as font size, each
/// word (with the space after it) stretched to reach the next word.
fn text_layer(ops: &mut String, result: &PageResult, scale: (f64, f64), page_height: f64) {
    ops.push_str("BT 3 Tr\n");
    for line in &result.lines {
        let font_size = (f64::from(line.bbox.height) * scale.1).max(1.0);
        let baseline = page_height - f64::from(line.bbox.bottom()) * scale.1;
        ops.push_str(&format!("/F1 {} Tf\n", num(font_size)));
        for (i, word) in line.words.iter().enumerate() {
            let next = line.words.get(i + 1);
            let text = if next.is_some() {
                format!("{} ", word.text)
            } else {
                word.text.clone()
            };
            let target = match next {
                Some(next) if next.bbox.left > word.bbox.left => {
                    f64::from(next.bbox.left - word.bbox.left)
                }
                _ => f64::from(word.bbox.width.max(1)),
            } * scale.0;
            let units: Vec<u16> = text.encode_utf16().collect();
            let natural = units.len() as f64 * font_size * 0.5;
            let stretch = 100.0 * target / natural;
            let hex: String = units.iter().map(|u| format!("{u:04X}")).collect();
            let x = f64::from(word.bbox.left) * scale.0;
            ops.push_str(&format!(
                "1 0 0 1 {} {} Tm {} Tz <{hex}> Tj\n",
                num(x),
                num(baseline),
                num(stretch)
            ));
        }
    }
    ops.push_str("ET\n");
}

/// A number as PDF wants it: no exponent, at most 4 decimals, no trailing zeros.
fn num(value: f64) -> String {
    let text = format!("{value:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" || text.is_empty() {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

/// A PDF text string: UTF-16BE with BOM, hex-encoded (safe for any character).
fn pdf_text_string(text: &str) -> String {
    let hex: String = text.encode_utf16().map(|u| format!("{u:04X}")).collect();
    format!("<FEFF{hex}>")
}

/// Tesseract's GlyphLessFont, installed with its language data.
fn glyphless_font() -> Result<Vec<u8>, PdfError> {
    crate::ocr::tessdata_dirs()
        .iter()
        .find_map(|dir| std::fs::read(dir.join("pdf.ttf")).ok())
        .ok_or_else(|| PdfError::Write {
            reason: "Tesseract's pdf.ttf (GlyphLessFont) was not found in the tessdata folder"
                .to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_without_exponents_or_trailing_zeros() {
        assert_eq!(num(595.2756), "595.2756");
        assert_eq!(num(12.5), "12.5");
        assert_eq!(num(3.0), "3");
        assert_eq!(num(-0.00001), "0");
        assert_eq!(num(1e-7), "0");
    }

    #[test]
    fn text_strings_are_utf16_with_a_byte_order_mark() {
        assert_eq!(pdf_text_string("Đà"), "<FEFF011000E0>");
    }

    #[test]
    fn g4_of_a_white_page_is_tiny() {
        let white = vec![255u8; 1000 * 1000];
        assert!(g4_encode(&white, 1000).len() < 1000);
    }
}
