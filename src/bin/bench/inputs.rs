//! Inputs shared by the benchmarks: a text PDF of N pages, a scan of N noisy JPEG pages
//! (deterministic per seed), and small helpers (the repository root, a process's RSS).

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use lopdf::{Document, Object, Stream, dictionary};

use super::{BenchError, Result};

pub(crate) const TEXT_PAGES: usize = 100;

pub(crate) const SCAN_PAGES: usize = 40;

/// A4 at 150 dpi.
pub(crate) const SCAN_WIDTH: u32 = 1240;

pub(crate) const SCAN_HEIGHT: u32 = 1754;

pub(crate) const SCAN_JPEG_QUALITY: u8 = 75;

pub(crate) fn non_negative_seconds(text: &str) -> std::result::Result<f64, String> {
    match text.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds >= 0.0 => Ok(seconds),
        _ => Err(format!("expected a number of seconds ≥ 0, got {text:?}")),
    }
}

/// The repository root (where Cargo.toml is).
pub(crate) fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub(crate) fn save(mut document: Document, path: &Path) -> Result<()> {
    document
        .save(path)
        .map(drop)
        .map_err(|e| BenchError::Failed(format!("cannot write {}: {e}", path.display())))
}

/// Clauses of an administrative decision, in ASCII (Helvetica's standard encoding).
pub(crate) const CLAUSES: [&str; 6] = [
    "Can cu Luat To chuc chinh quyen dia phuong ngay 19 thang 6 nam 2015;",
    "Can cu Nghi dinh so 30/2020/ND-CP ngay 05 thang 3 nam 2020 cua Chinh phu ve cong tac van thu;",
    "Xet de nghi cua Cong chuc Van phong - Thong ke xa ve viec tiep nhan va tra ket qua ho so;",
    "Quyet dinh nay co hieu luc thi hanh ke tu ngay ky; cac ong, ba co lien quan chiu trach nhiem thi hanh.",
    "Bo phan tiep nhan va tra ket qua co trach nhiem so hoa ho so, luu tru va tra ket qua dung han.",
    "Noi nhan: Nhu Dieu 3; UBND huyen (de b/c); Luu: VT, VP.",
];

/// A born-digital text document: `pages` A4 pages of 50 lines of Helvetica each.
pub(crate) fn text_pdf(pages: usize) -> Document {
    let mut document = Document::with_version("1.7");
    let font = document.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type1",
        "BaseFont" => "Helvetica",
        "Encoding" => "WinAnsiEncoding",
    });
    let pages_id = document.new_object_id();
    let mut kids = Vec::with_capacity(pages);
    for number in 1..=pages {
        let mut content = String::from("BT /F1 10 Tf 14 TL 56 790 Td\n");
        let _ = writeln!(content, "(Trang {number} / {pages}) Tj T* T*");
        for line in 0..50 {
            let clause = CLAUSES[(number * 7 + line) % CLAUSES.len()];
            let _ = writeln!(content, "(Dieu {}. {clause}) Tj T*", line + 1);
        }
        content.push_str("ET\n");
        let content_id = document.add_object(Stream::new(dictionary! {}, content.into_bytes()));
        let page = document.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "Contents" => content_id,
        });
        kids.push(page.into());
    }
    finish_pages(
        &mut document,
        pages_id,
        kids,
        dictionary! { "Font" => dictionary! { "F1" => font } },
    );
    document
}

/// A scanned dossier: `pages` A4 pages, each one RGB JPEG (DCTDecode) of about 1 MB.
pub(crate) fn scan_pdf(pages: usize) -> Result<Document> {
    let mut document = Document::with_version("1.7");
    let pages_id = document.new_object_id();
    let mut kids = Vec::with_capacity(pages);
    for number in 0..pages {
        let jpeg = noisy_jpeg(number as u64)?;
        let image = document.add_object(
            Stream::new(
                dictionary! {
                    "Type" => "XObject",
                    "Subtype" => "Image",
                    "Width" => SCAN_WIDTH,
                    "Height" => SCAN_HEIGHT,
                    "ColorSpace" => "DeviceRGB",
                    "BitsPerComponent" => 8,
                    "Filter" => "DCTDecode",
                },
                jpeg,
            )
            .with_compression(false),
        );
        let content = b"q 595.28 0 0 841.89 0 0 cm /Im0 Do Q\n".to_vec();
        let content_id = document.add_object(Stream::new(dictionary! {}, content));
        let page = document.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "Contents" => content_id,
            "Resources" => dictionary! { "XObject" => dictionary! { "Im0" => image } },
        });
        kids.push(page.into());
    }
    finish_pages(&mut document, pages_id, kids, dictionary! {});
    Ok(document)
}

/// The page tree (A4, inherited resources) and the catalog.
pub(crate) fn finish_pages(
    document: &mut Document,
    pages_id: lopdf::ObjectId,
    kids: Vec<Object>,
    resources: lopdf::Dictionary,
) {
    let count = kids.len() as i64;
    document.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => kids,
            "Count" => count,
            "MediaBox" => vec![0.into(), 0.into(), Object::Real(595.28), Object::Real(841.89)],
            "Resources" => resources,
        }),
    );
    let catalog = document.add_object(dictionary! {
        "Type" => "Catalog",
        "Pages" => pages_id,
    });
    document.trailer.set("Root", catalog);
}

/// A greyish page with dark text-like bands under heavy sensor noise: like a poor colour scan,
/// and hard enough to compress that a page stays near 1 MB. Deterministic per `seed`.
pub(crate) fn noisy_jpeg(seed: u64) -> Result<Vec<u8>> {
    let mut random = SplitMix64(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x00c0_ffee);
    let mut pixels = Vec::with_capacity((SCAN_WIDTH * SCAN_HEIGHT * 3) as usize);
    for y in 0..SCAN_HEIGHT {
        // Text lines: 24 px of every 40, inside the margins.
        let in_line = (150..SCAN_HEIGHT - 150).contains(&y) && y % 40 < 24;
        for x in 0..SCAN_WIDTH {
            let ink = in_line && (120..SCAN_WIDTH - 120).contains(&x) && (x / 9 + y / 40) % 7 != 0;
            let base: i32 = if ink { 60 } else { 228 - (x / 40) as i32 % 6 };
            let noise = random.next();
            for channel in 0..3 {
                let amount = ((noise >> (channel * 8)) & 0x3f) as i32 - 32;
                pixels.push((base + amount).clamp(0, 255) as u8);
            }
        }
    }
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, SCAN_JPEG_QUALITY)
        .encode(
            &pixels,
            SCAN_WIDTH,
            SCAN_HEIGHT,
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|e| BenchError::Failed(format!("JPEG encoding failed: {e}")))?;
    Ok(jpeg)
}

/// A small deterministic generator (Steele, Lea, Flood 2014); no need for a `rand` crate.
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// A `kB` field of `/proc/self/status`.
pub(crate) fn status_kib(field: &str) -> std::result::Result<u64, String> {
    let status = fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("cannot read /proc/self/status: {e}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().strip_suffix("kB")?.trim().parse().ok())
        .ok_or_else(|| format!("no {field} in /proc/self/status"))
}

pub(crate) fn megabytes(bytes: u64) -> String {
    let mb = bytes as f64 / 1e6;
    if mb >= 10.0 {
        format!("{mb:.1} MB")
    } else {
        format!("{mb:.2} MB")
    }
}

pub(crate) fn mebibytes(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

pub(crate) fn today() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}",
        now.year(),
        u8::from(now.month()),
        now.day()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_noise_generator_is_deterministic() {
        let mut a = SplitMix64(7);
        let mut b = SplitMix64(7);
        assert_eq!(a.next(), b.next());
        assert_ne!(SplitMix64(7).next(), SplitMix64(8).next());
    }
}
