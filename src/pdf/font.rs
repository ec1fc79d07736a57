//! Embedding a subset of a bundled TrueType font, for visible text that must extract exactly
//! (signature appearances: names, agencies, signing times in Vietnamese).
//!
//! The font is written as a composite font (ISO 32000-1 §9.7): a Type0 font with Identity-H
//! encoding over a CIDFontType2 whose CIDs are the glyph ids of the embedded subset
//! (`/CIDToGIDMap /Identity`). Text is therefore written as two-byte glyph ids, and a
//! `/ToUnicode` CMap maps each glyph back to its character, so copy, search and `pdftotext`
//! give the Vietnamese text exactly.
//!
//! Only the glyphs used are embedded (`subsetter`): a whole Liberation Serif is about 390 KB, a
//! signature line a few KB. The glyphs are renumbered by one `GlyphRemapper`, whose new ids are
//! used in the content (`encode`), in the `/W` widths and in the subset itself, so the three
//! always agree.
//!
//! Liberation Serif (SIL OFL 1.1, see `fonts/LICENSE`) is metric-compatible with Times New Roman,
//! the font Decree 30/2020 prescribes, and covers every Vietnamese letter (checked by a test).

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;

use flate2::Compression;
use flate2::write::ZlibEncoder;
use lopdf::{Object, ObjectId, Stream, StringFormat, dictionary};
use subsetter::GlyphRemapper;
use ttf_parser::{Face, GlyphId};
use unicode_normalization::UnicodeNormalization;

use super::PdfError;

const SERIF_REGULAR: &[u8] = include_bytes!("fonts/LiberationSerif-Regular.ttf");
const SERIF_BOLD: &[u8] = include_bytes!("fonts/LiberationSerif-Bold.ttf");

/// A bundled TrueType font and the glyphs used from it so far.
#[derive(Clone)]
pub struct FontSubset {
    data: &'static [u8],
    face: Face<'static>,
    /// PostScript name (name id 6), e.g. `LiberationSerif-Bold`.
    name: String,
    remapper: GlyphRemapper,
    /// New glyph id → (glyph id in the full font, the character it was used for).
    used: BTreeMap<u16, (u16, char)>,
}

impl fmt::Debug for FontSubset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FontSubset")
            .field("name", &self.name)
            .field("glyphs_used", &self.used.len())
            .finish()
    }
}

impl FontSubset {
    /// Liberation Serif Regular (metrics of Times New Roman).
    #[must_use]
    pub fn serif() -> Self {
        // The bytes are compiled in; `bundled_fonts_parse` proves they parse, so this cannot
        // fail at run time.
        Self::from_static(SERIF_REGULAR).expect("the bundled Liberation Serif Regular parses")
    }

    /// Liberation Serif Bold (metrics of Times New Roman Bold).
    #[must_use]
    pub fn serif_bold() -> Self {
        Self::from_static(SERIF_BOLD).expect("the bundled Liberation Serif Bold parses")
    }

    /// A font from TrueType bytes that live as long as the program (compiled in).
    ///
    /// # Errors
    /// [`PdfError::FontEmbedding`] when the bytes are not a TrueType/OpenType font.
    pub fn from_static(data: &'static [u8]) -> Result<Self, PdfError> {
        let face = Face::parse(data, 0).map_err(|e| PdfError::FontEmbedding {
            reason: format!("font does not parse: {e}"),
        })?;
        if face.units_per_em() == 0 {
            return Err(PdfError::FontEmbedding {
                reason: "font has no units per em".to_owned(),
            });
        }
        let name = face
            .names()
            .into_iter()
            .filter(|n| n.name_id == ttf_parser::name_id::POST_SCRIPT_NAME)
            .find_map(|n| n.to_string())
            .map(|n| sanitize_name(&n))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "Font".to_owned());
        Ok(FontSubset {
            data,
            face,
            name,
            remapper: GlyphRemapper::new(),
            used: BTreeMap::new(),
        })
    }

    /// The font's PostScript name, without subset tag.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Width of `text` in points at `size` (after NFC normalization, as `encode` writes it).
    /// Characters without a glyph count with the width of the font's `.notdef` glyph.
    #[must_use]
    pub fn text_width(&self, text: &str, size: f64) -> f64 {
        let units: i64 = text
            .nfc()
            .map(|c| {
                let glyph = self.glyph_of(c).unwrap_or(GlyphId(0));
                i64::from(self.width_1000(glyph))
            })
            .sum();
        units as f64 * size / 1000.0
    }

    /// Distance from the baseline up to the top of the line (typographic ascender), in points.
    #[must_use]
    pub fn ascent(&self, size: f64) -> f64 {
        f64::from(self.face.ascender()) * size / f64::from(self.face.units_per_em())
    }

    /// Distance from the baseline down to the bottom of the line, in points (positive).
    #[must_use]
    pub fn descent(&self, size: f64) -> f64 {
        -f64::from(self.face.descender()) * size / f64::from(self.face.units_per_em())
    }

    /// The characters of `text` (after NFC normalization) this font cannot draw, each once,
    /// in order of appearance.
    #[must_use]
    pub fn missing_chars(&self, text: &str) -> Vec<char> {
        let mut missing = Vec::new();
        for c in text.nfc() {
            if self.glyph_of(c).is_none() && !missing.contains(&c) {
                missing.push(c);
            }
        }
        missing
    }

    /// Records the glyphs of `text` (NFC-normalized) and returns the hex string operand for
    /// `Tj` (two bytes per glyph, Identity-H), e.g. `<00120034>`.
    ///
    /// # Errors
    /// [`PdfError::MissingGlyph`] for the first character the font cannot draw (control
    /// characters included); nothing is recorded then.
    pub fn encode(&mut self, text: &str) -> Result<String, PdfError> {
        let mut glyphs = Vec::new();
        for c in text.nfc() {
            let glyph = self.glyph_of(c).ok_or_else(|| PdfError::MissingGlyph {
                font: self.name.clone(),
                character: c,
            })?;
            glyphs.push((c, glyph));
        }
        let mut hex = String::with_capacity(2 + 4 * glyphs.len());
        hex.push('<');
        for (c, glyph) in glyphs {
            let new = self.remapper.remap(glyph.0);
            // The first character seen for a glyph is the one `/ToUnicode` gives back (fonts
            // share a glyph between, say, U+0020 and U+00A0).
            self.used.entry(new).or_insert((glyph.0, c));
            hex.push_str(&format!("{new:04X}"));
        }
        hex.push('>');
        Ok(hex)
    }

    /// Writes the font: Type0 font, CIDFontType2, FontDescriptor, the subset as FontFile2 and
    /// the ToUnicode CMap. `allocate` hands out fresh object ids. Returns the id of the Type0
    /// font dictionary (for a `/Font` resource) and every object to write.
    ///
    /// # Errors
    /// [`PdfError::FontEmbedding`] when subsetting or compressing fails.
    pub fn into_objects(
        self,
        allocate: &mut dyn FnMut() -> ObjectId,
    ) -> Result<(ObjectId, Vec<(ObjectId, Object)>), PdfError> {
        let subset = subsetter::subset(self.data, 0, &self.remapper).map_err(|e| {
            PdfError::FontEmbedding {
                reason: format!("subsetting {} failed: {e}", self.name),
            }
        })?;
        let base_font = format!("{}+{}", self.subset_tag(), self.name);

        let type0_id = allocate();
        let cid_font_id = allocate();
        let descriptor_id = allocate();
        let file_id = allocate();
        let to_unicode_id = allocate();

        let file = Stream::new(
            dictionary! {
                "Length1" => subset.len() as i64,
                "Filter" => "FlateDecode",
            },
            deflate(&subset)?,
        );

        let upem = f64::from(self.face.units_per_em());
        let scale = |v: i16| (f64::from(v) * 1000.0 / upem).round() as i64;
        let bbox = self.face.global_bounding_box();
        let italic_angle = self.face.italic_angle();
        // Flags (ISO 32000-1 §9.8.2): Serif (2) for the bundled serif faces, Symbolic (4)
        // because the glyphs go beyond the Standard Latin set, Italic (64) when slanted.
        let mut flags = 2 | 4;
        if italic_angle != 0.0 {
            flags |= 64;
        }
        // The font file has no StemV; this is the usual estimate from the OS/2 weight class.
        let stem_v = (10.0 + 0.244 * (f64::from(self.face.weight().to_number()) - 50.0)).round();
        let cap_height = self.face.capital_height().unwrap_or(self.face.ascender());
        let descriptor = dictionary! {
            "Type" => "FontDescriptor",
            "FontName" => Object::Name(base_font.clone().into_bytes()),
            "Flags" => flags,
            "FontBBox" => vec![
                scale(bbox.x_min).into(),
                scale(bbox.y_min).into(),
                scale(bbox.x_max).into(),
                scale(bbox.y_max).into(),
            ],
            "ItalicAngle" => Object::Real(italic_angle),
            "Ascent" => scale(self.face.ascender()),
            "Descent" => scale(self.face.descender()),
            "CapHeight" => scale(cap_height),
            "StemV" => stem_v as i64,
            "FontFile2" => file_id,
        };

        let cid_font = dictionary! {
            "Type" => "Font",
            "Subtype" => "CIDFontType2",
            "BaseFont" => Object::Name(base_font.clone().into_bytes()),
            "CIDSystemInfo" => dictionary! {
                "Registry" => Object::String(b"Adobe".to_vec(), StringFormat::Literal),
                "Ordering" => Object::String(b"Identity".to_vec(), StringFormat::Literal),
                "Supplement" => 0,
            },
            "FontDescriptor" => descriptor_id,
            "DW" => i64::from(self.width_1000(GlyphId(0))),
            "W" => self.widths_array(),
            "CIDToGIDMap" => "Identity",
        };

        let to_unicode = Stream::new(
            dictionary! { "Filter" => "FlateDecode" },
            deflate(self.to_unicode_cmap().as_bytes())?,
        );

        let type0 = dictionary! {
            "Type" => "Font",
            "Subtype" => "Type0",
            "BaseFont" => Object::Name(base_font.into_bytes()),
            "Encoding" => "Identity-H",
            "DescendantFonts" => vec![Object::Reference(cid_font_id)],
            "ToUnicode" => to_unicode_id,
        };

        Ok((
            type0_id,
            vec![
                (type0_id, Object::Dictionary(type0)),
                (cid_font_id, Object::Dictionary(cid_font)),
                (descriptor_id, Object::Dictionary(descriptor)),
                (file_id, Object::Stream(file)),
                (to_unicode_id, Object::Stream(to_unicode)),
            ],
        ))
    }

    /// The glyph for `c`, or `None` when the font has none (or `c` is a control character,
    /// which is never meant to be drawn).
    fn glyph_of(&self, c: char) -> Option<GlyphId> {
        if c.is_control() {
            return None;
        }
        self.face.glyph_index(c).filter(|g| g.0 != 0)
    }

    /// Advance width in thousandths of an em, rounded as `/W` writes it, so measured text and
    /// rendered text agree exactly.
    fn width_1000(&self, glyph: GlyphId) -> i32 {
        let advance = f64::from(self.face.glyph_hor_advance(glyph).unwrap_or(0));
        (advance * 1000.0 / f64::from(self.face.units_per_em())).round() as i32
    }

    /// `/W`: runs of consecutive new glyph ids as `first [w1 w2 …]`. The remapper hands out
    /// ids in order of first use, so this is normally a single run.
    fn widths_array(&self) -> Vec<Object> {
        let mut array = Vec::new();
        let mut run: Option<(u16, Vec<Object>)> = None;
        for (&new, &(old, _)) in &self.used {
            let width = Object::Integer(i64::from(self.width_1000(GlyphId(old))));
            match &mut run {
                Some((first, widths)) if usize::from(*first) + widths.len() == usize::from(new) => {
                    widths.push(width);
                }
                _ => {
                    if let Some((first, widths)) = run.take() {
                        array.push(Object::Integer(i64::from(first)));
                        array.push(Object::Array(widths));
                    }
                    run = Some((new, vec![width]));
                }
            }
        }
        if let Some((first, widths)) = run {
            array.push(Object::Integer(i64::from(first)));
            array.push(Object::Array(widths));
        }
        array
    }

    /// The ToUnicode CMap (Adobe Technical Note #5411 structure), glyph id → UTF-16BE.
    fn to_unicode_cmap(&self) -> String {
        let mut cmap = String::from(
            "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
             /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
             /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
             1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
        );
        let entries: Vec<(u16, char)> = self.used.iter().map(|(&n, &(_, c))| (n, c)).collect();
        // At most 100 entries per bfchar block (the CMap format's limit).
        for chunk in entries.chunks(100) {
            cmap.push_str(&format!("{} beginbfchar\n", chunk.len()));
            for (glyph, c) in chunk {
                let mut units = [0u16; 2];
                let utf16: String = c
                    .encode_utf16(&mut units)
                    .iter()
                    .map(|u| format!("{u:04X}"))
                    .collect();
                cmap.push_str(&format!("<{glyph:04X}> <{utf16}>\n"));
            }
            cmap.push_str("endbfchar\n");
        }
        cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
        cmap
    }

    /// Six capital letters naming this subset (ISO 32000-1 §9.6.4). Derived from the font
    /// and the glyphs used, so the same text gives the same bytes (reproducible output) and
    /// two different subsets of one font in a document get different tags.
    fn subset_tag(&self) -> String {
        // FNV-1a, 64 bits: small, stable across Rust versions (unlike `DefaultHasher`).
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let mut feed = |bytes: &[u8]| {
            for &b in bytes {
                hash ^= u64::from(b);
                hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
            }
        };
        feed(self.name.as_bytes());
        for (new, (old, _)) in &self.used {
            feed(&new.to_be_bytes());
            feed(&old.to_be_bytes());
        }
        let mut tag = String::with_capacity(6);
        for _ in 0..6 {
            tag.push(char::from(b'A' + (hash % 26) as u8));
            hash /= 26;
        }
        tag
    }
}

/// Keeps a PostScript name to the characters a PDF name may hold without escapes.
fn sanitize_name(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_graphic() && !"()<>[]{}/%#".contains(*c))
        .collect()
}

fn deflate(bytes: &[u8]) -> Result<Vec<u8>, PdfError> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
    encoder
        .write_all(bytes)
        .and_then(|()| encoder.finish())
        .map_err(|e| PdfError::FontEmbedding {
            reason: format!("compressing the font failed: {e}"),
        })
}

/// Every letter of the Vietnamese alphabet, lower and upper case, each vowel with each of the
/// five tone marks (NFC), plus digits and the punctuation of signature text.
pub const VIETNAMESE_ALPHABET: &str = concat!(
    "aàáảãạăằắẳẵặâầấẩẫậbcdđeèéẻẽẹêềếểễệghiìíỉĩịklmnoòóỏõọôồốổỗộơờớởỡợpqrstuùúủũụưừứửữựvxyỳýỷỹỵ",
    "AÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬBCDĐEÈÉẺẼẸÊỀẾỂỄỆGHIÌÍỈĨỊKLMNOÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢPQRSTUÙÚỦŨỤƯỪỨỬỮỰVXYỲÝỶỸỴ",
    "fjwzFJWZ0123456789 .,:;/-+()@_\"'!?%&*–—…“”‘’",
);

#[cfg(test)]
mod tests {
    use super::*;

    fn allocator() -> impl FnMut() -> ObjectId {
        let mut next = 10;
        move || {
            next += 1;
            (next, 0)
        }
    }

    #[test]
    fn bundled_fonts_parse() {
        assert_eq!(FontSubset::serif().name(), "LiberationSerif");
        assert_eq!(FontSubset::serif_bold().name(), "LiberationSerif-Bold");
    }

    #[test]
    fn the_alphabet_string_is_complete_and_nfc() {
        // 12 vowels × 6 forms + 17 consonants and đ: 89 letters a case.
        let letters = VIETNAMESE_ALPHABET
            .chars()
            .take_while(|c| *c != 'A')
            .count();
        assert_eq!(letters, 12 * 6 + 17);
        let nfc: String = VIETNAMESE_ALPHABET.nfc().collect();
        assert_eq!(nfc, VIETNAMESE_ALPHABET);
    }

    #[test]
    fn bundled_fonts_cover_every_vietnamese_letter() {
        // A future font swap must not silently lose glyphs.
        for font in [FontSubset::serif(), FontSubset::serif_bold()] {
            assert_eq!(
                font.missing_chars(VIETNAMESE_ALPHABET),
                Vec::<char>::new(),
                "{}",
                font.name()
            );
        }
    }

    #[test]
    fn decomposed_text_is_normalized_before_mapping() {
        let font = FontSubset::serif();
        // "Việt" written with combining marks: e + U+0323 + U+0302.
        let decomposed = "Vie\u{0323}\u{0302}t";
        let mut a = font.clone();
        let mut b = font;
        assert_eq!(a.encode(decomposed).unwrap(), b.encode("Việt").unwrap());
        assert_eq!(a.encode("Việt").unwrap().len(), 2 + 4 * 4);
    }

    #[test]
    fn encode_reuses_glyph_ids_in_order_of_first_use() {
        let mut font = FontSubset::serif();
        assert_eq!(font.encode("aba").unwrap(), "<000100020001>");
        assert_eq!(font.encode("b").unwrap(), "<0002>");
        assert_eq!(font.encode("").unwrap(), "<>");
    }

    #[test]
    fn a_missing_glyph_is_an_error_not_a_box() {
        let mut font = FontSubset::serif();
        // A CJK ideograph: not in Liberation Serif.
        let error = font.encode("Tân Phú 中").unwrap_err();
        assert!(
            matches!(
                error,
                PdfError::MissingGlyph {
                    character: '中',
                    ..
                }
            ),
            "{error:?}"
        );
        use crate::error::Coded;
        assert_eq!(error.code(), "font-missing-glyph");
        assert!(error.message_vi().contains("U+4E2D"));
        // Nothing was recorded by the failed call.
        assert_eq!(font.encode("T").unwrap(), "<0001>");
        assert!(font.encode("a\tb").is_err());
    }

    #[test]
    fn widths_follow_times_metrics() {
        let font = FontSubset::serif();
        // Times New Roman: space 250, 'a' 444, 'M' 889 thousandths of an em.
        assert!((font.text_width(" ", 10.0) - 2.5).abs() < 1e-9);
        assert!((font.text_width("a", 10.0) - 4.44).abs() < 1e-9);
        assert!((font.text_width("aM", 12.0) - (0.444 + 0.889) * 12.0).abs() < 1e-9);
        assert!(font.text_width("Thời gian ký", 10.0) > 0.0);
        let bold = FontSubset::serif_bold();
        assert!(bold.text_width("Tân Phú", 10.0) > font.text_width("Tân Phú", 10.0));
        assert!(font.ascent(10.0) > 8.0 && font.descent(10.0) > 1.0);
    }

    #[test]
    fn objects_describe_a_consistent_subset() {
        let mut font = FontSubset::serif();
        font.encode("Thời gian ký").unwrap();
        let expected_widths: Vec<i64> = ["T", "h", "ờ", "i", " ", "g", "a", "n", "k", "ý"]
            .iter()
            .map(|c| (font.text_width(c, 1000.0)).round() as i64)
            .collect();
        let mut allocate = allocator();
        let (id, objects) = font.into_objects(&mut allocate).unwrap();
        assert_eq!(objects.len(), 5);
        let get = |id: ObjectId| &objects.iter().find(|(i, _)| *i == id).unwrap().1;
        let type0 = get(id).as_dict().unwrap();
        assert_eq!(type0.get(b"Subtype").unwrap().as_name().unwrap(), b"Type0");
        assert_eq!(
            type0.get(b"Encoding").unwrap().as_name().unwrap(),
            b"Identity-H"
        );
        let base = type0.get(b"BaseFont").unwrap().as_name().unwrap();
        let base = std::str::from_utf8(base).unwrap();
        let (tag, name) = base.split_once('+').unwrap();
        assert_eq!(name, "LiberationSerif");
        assert!(tag.len() == 6 && tag.chars().all(|c| c.is_ascii_uppercase()));

        let descendants = type0.get(b"DescendantFonts").unwrap().as_array().unwrap();
        let cid = get(descendants[0].as_reference().unwrap())
            .as_dict()
            .unwrap();
        assert_eq!(
            cid.get(b"CIDToGIDMap").unwrap().as_name().unwrap(),
            b"Identity"
        );
        // One run starting at glyph 1 with the widths of the ten distinct glyphs, in order.
        let w = cid.get(b"W").unwrap().as_array().unwrap();
        assert_eq!(w[0].as_i64().unwrap(), 1);
        let widths: Vec<i64> = w[1]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o.as_i64().unwrap())
            .collect();
        assert_eq!(widths, expected_widths);

        let descriptor = get(cid.get(b"FontDescriptor").unwrap().as_reference().unwrap())
            .as_dict()
            .unwrap();
        let file = get(descriptor
            .get(b"FontFile2")
            .unwrap()
            .as_reference()
            .unwrap())
        .as_stream()
        .unwrap();
        let program = file.decompressed_content().unwrap();
        assert_eq!(
            file.dict.get(b"Length1").unwrap().as_i64().unwrap(),
            program.len() as i64
        );
        // The subset is a real TrueType font with .notdef + the ten glyphs (composite glyphs
        // may pull in their components after them), far smaller than the full font.
        let subset = Face::parse(&program, 0).unwrap();
        assert!(subset.number_of_glyphs() >= 11);
        assert!(program.len() < SERIF_REGULAR.len() / 10);
        // New glyph 2 is 'h': same advance as in the full font.
        let full = Face::parse(SERIF_REGULAR, 0).unwrap();
        let h = full.glyph_index('h').unwrap();
        assert_eq!(
            subset.glyph_hor_advance(GlyphId(2)),
            full.glyph_hor_advance(h)
        );

        let to_unicode = get(type0.get(b"ToUnicode").unwrap().as_reference().unwrap())
            .as_stream()
            .unwrap();
        let cmap = String::from_utf8(to_unicode.decompressed_content().unwrap()).unwrap();
        assert!(cmap.contains("10 beginbfchar"));
        assert!(cmap.contains("<0003> <1EDD>"), "{cmap}"); // ờ
        assert!(cmap.contains("<000A> <00FD>"), "{cmap}"); // ý
    }

    #[test]
    fn the_bold_face_embeds_too() {
        let mut font = FontSubset::serif_bold();
        assert_eq!(font.encode("SAO Y Đ").unwrap().len(), 2 + 4 * 7);
        let (id, objects) = font.into_objects(&mut allocator()).unwrap();
        let type0 = objects
            .iter()
            .find(|(i, _)| *i == id)
            .unwrap()
            .1
            .as_dict()
            .unwrap();
        let base = type0.get(b"BaseFont").unwrap().as_name().unwrap();
        assert!(base.ends_with(b"+LiberationSerif-Bold"));
    }

    #[test]
    fn the_subset_tag_is_reproducible_and_depends_on_the_glyphs() {
        let tag = |text: &str| {
            let mut font = FontSubset::serif();
            font.encode(text).unwrap();
            font.subset_tag()
        };
        assert_eq!(tag("Tân Phú"), tag("Tân Phú"));
        assert_ne!(tag("Tân Phú"), tag("Thời gian"));
    }
}
