//! `hoso ocr` end to end: every input kind, orientation and skew correction, the text layer's
//! alignment with the scan, and bad input. Uses the project's sample scan and variants of it
//! made here; poppler and qpdf check the PDFs as independent readers.

use std::path::{Path, PathBuf};
use std::process::Command;

use image::{GrayImage, ImageFormat, Luma};
use serde_json::Value;

use crate::helpers::corpora;
use crate::pki::tool;

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/scan-quyet-dinh.png");

/// Phrases of the sample page that a correct OCR must find (samples/README.md).
const KEYWORDS: [&str; 5] = [
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "giấy phép xây dựng",
    "Nguyễn Văn An",
    "Điều 1",
    "tháng 01 năm 2026",
];

fn hoso() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hoso"));
    command.env_remove("HOSO_CONFIG").env("HOSO_JOBS", "2");
    command
}

struct Run {
    dir: tempfile::TempDir,
    json: Value,
}

impl Run {
    fn pdf(&self) -> PathBuf {
        self.dir.path().join("out.pdf")
    }
    fn page(&self, index: usize) -> &Value {
        &self.json["pages"][index]
    }
    fn text(&self) -> String {
        self.json["pages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["text"].as_str().unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn ocr(inputs: &[&Path], extra: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let output = hoso()
        .arg("ocr")
        .args(inputs)
        .arg("-o")
        .arg(dir.path().join("out.pdf"))
        .arg("--json")
        .arg(dir.path().join("out.json"))
        .arg("--text")
        .arg(dir.path().join("out.txt"))
        .args(extra)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "hoso ocr failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json =
        serde_json::from_slice(&std::fs::read(dir.path().join("out.json")).unwrap()).unwrap();
    Run { dir, json }
}

fn assert_keywords(text: &str, minimum: usize) {
    let found: Vec<_> = KEYWORDS.iter().filter(|k| text.contains(*k)).collect();
    assert!(
        found.len() >= minimum,
        "only {found:?} of {KEYWORDS:?} found in:\n{text}"
    );
}

fn sample_gray() -> GrayImage {
    image::open(SAMPLE).unwrap().into_luma8()
}

fn save(image: &GrayImage, dir: &Path, name: &str, format: ImageFormat) -> PathBuf {
    let path = dir.join(name);
    image.save_with_format(&path, format).unwrap();
    path
}

/// Rotates clockwise by `degrees` about the centre (nearest neighbour, white corners).
fn skew(image: &GrayImage, degrees: f64) -> GrayImage {
    let (w, h) = image.dimensions();
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (cx, cy) = (f64::from(w) / 2.0, f64::from(h) / 2.0);
    GrayImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (f64::from(x) - cx, f64::from(y) - cy);
        // Inverse rotation: where in the source this output pixel comes from.
        let (sx, sy) = (cx + cos * dx + sin * dy, cy - sin * dx + cos * dy);
        if sx >= 0.0 && sy >= 0.0 && (sx as u32) < w && (sy as u32) < h {
            *image.get_pixel(sx as u32, sy as u32)
        } else {
            Luma([255])
        }
    })
}

#[test]
fn a_scanned_png_becomes_a_searchable_pdf_that_independent_readers_accept() {
    let run = ocr(&[Path::new(SAMPLE)], &[]);
    assert_eq!(run.json["page_count"], 1);
    assert_keywords(&run.text(), 4);
    let page = run.page(0);
    assert_eq!(page["rotation_degrees"], 0);
    assert!(
        page["skew_degrees"].as_f64().unwrap().abs() > 1.0,
        "the sample is scanned 1.5 degrees askew"
    );
    assert!(page["mean_confidence"].as_i64().unwrap() > 70);
    assert!(page["words"].as_array().unwrap().len() > 200);
    let text_file = std::fs::read_to_string(run.dir.path().join("out.txt")).unwrap();
    assert_eq!(text_file, page["text"].as_str().unwrap());
    if tool("qpdf") {
        let check = Command::new("qpdf")
            .arg("--check")
            .arg(run.pdf())
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "{}",
            String::from_utf8_lossy(&check.stdout)
        );
    }
    if tool("pdftotext") {
        let extracted = Command::new("pdftotext")
            .arg(run.pdf())
            .arg("-")
            .output()
            .unwrap();
        let extracted = String::from_utf8(extracted.stdout).unwrap();
        assert_keywords(&extracted, 4);
        // The text layer holds exactly the recognized words: pdftotext gets the same
        // multiset of words back (its line order may differ from ours).
        let mut ours: Vec<&str> = page["text"].as_str().unwrap().split_whitespace().collect();
        let mut theirs: Vec<&str> = extracted.split_whitespace().collect();
        ours.sort_unstable();
        theirs.sort_unstable();
        assert_eq!(
            ours, theirs,
            "pdftotext must return the words of the OCR text"
        );
    }
    // The bilevel scan stays small: its PNG data is embedded as it was.
    let size = std::fs::metadata(run.pdf()).unwrap().len();
    assert!(
        size < std::fs::metadata(SAMPLE).unwrap().len() + 40_000,
        "{size} bytes"
    );
}

#[test]
fn pages_scanned_sideways_or_upside_down_are_turned_upright() {
    let dir = tempfile::tempdir().unwrap();
    let sample = sample_gray();
    let turned = [
        (image::imageops::rotate90(&sample), 270),
        (image::imageops::rotate180(&sample), 180),
        (image::imageops::rotate270(&sample), 90),
    ];
    let paths: Vec<PathBuf> = turned
        .iter()
        .enumerate()
        .map(|(i, (image, _))| {
            save(
                image,
                dir.path(),
                &format!("turned{i}.png"),
                ImageFormat::Png,
            )
        })
        .collect();
    let inputs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let run = ocr(&inputs, &[]);
    assert_eq!(run.json["page_count"], 3);
    for (i, (_, fix)) in turned.iter().enumerate() {
        let page = run.page(i);
        assert_eq!(
            page["rotation_degrees"], *fix,
            "page {i}: {}",
            page["orientation_confidence"]
        );
        assert_keywords(page["text"].as_str().unwrap(), 3);
        // Width and height of the corrected page are those of an upright A4 page.
        assert!(page["height"].as_u64() > page["width"].as_u64());
    }
    assert_text_layer_matches_the_ink(&run);
}

#[test]
fn a_page_scanned_at_an_angle_is_straightened() {
    let dir = tempfile::tempdir().unwrap();
    // The sample is already 1.5 degrees askew; 4 more makes it about 5.5.
    let skewed = skew(&sample_gray(), 4.0);
    let path = save(&skewed, dir.path(), "skewed.png", ImageFormat::Png);
    let run = ocr(&[&path], &[]);
    let applied = run.page(0)["skew_degrees"].as_f64().unwrap();
    assert!(
        (applied + 2.5).abs() < 0.6 || (applied - 5.5).abs() < 0.6,
        "skew applied: {applied}"
    );
    assert_keywords(&run.text(), 4);
    assert_text_layer_matches_the_ink(&run);
}

#[test]
fn jpeg_and_multi_page_tiff_inputs_become_one_pdf_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let sample = sample_gray();
    let jpeg = save(&sample, dir.path(), "page.jpg", ImageFormat::Jpeg);
    // A two-page LZW TIFF: the top half and the bottom half of the sample.
    let (w, h) = sample.dimensions();
    let top = image::imageops::crop_imm(&sample, 0, 0, w, h / 2).to_image();
    let bottom = image::imageops::crop_imm(&sample, 0, h / 2, w, h - h / 2).to_image();
    let tiff_path = dir.path().join("pages.tif");
    {
        let file = std::fs::File::create(&tiff_path).unwrap();
        let mut encoder = tiff::encoder::TiffEncoder::new(file)
            .unwrap()
            .with_compression(tiff::encoder::Compression::Lzw);
        for part in [&top, &bottom] {
            encoder
                .write_image::<tiff::encoder::colortype::Gray8>(
                    part.width(),
                    part.height(),
                    part.as_raw(),
                )
                .unwrap();
        }
    }
    let run = ocr(&[&jpeg, &tiff_path], &[]);
    assert_eq!(run.json["page_count"], 3);
    assert_eq!(run.page(0)["source"], "page.jpg");
    assert_eq!(run.page(1)["source"], "pages.tif, trang 1");
    assert_eq!(run.page(2)["source"], "pages.tif, trang 2");
    assert!(run.page(1)["text"].as_str().unwrap().contains("CỘNG HÒA"));
    assert!(run.page(2)["text"].as_str().unwrap().contains("Điều 3"));
    let bytes = std::fs::read(run.pdf()).unwrap();
    assert!(
        bytes.windows(10).any(|w| w == b"/DCTDecode"),
        "the JPEG is embedded as it was"
    );
    if tool("pdfinfo") {
        let info = Command::new("pdfinfo").arg(run.pdf()).output().unwrap();
        assert!(String::from_utf8_lossy(&info.stdout).contains("Pages:           3"));
    }
}

#[test]
fn administrative_metadata_is_extracted_from_the_first_page() {
    let run = ocr(&[Path::new(SAMPLE)], &["--lang", "vie"]);
    let metadata = &run.json["metadata"];
    assert_eq!(metadata["issue_date"], "2026-01-20", "{metadata}");
    assert_eq!(metadata["number"], "12", "{metadata}");
}

/// The invisible words sit on the ink of the rendered page: for the confident words, the
/// box where the PDF puts the word is dark enough in poppler's rendering of the same PDF.
fn assert_text_layer_matches_the_ink(run: &Run) {
    if !tool("pdftoppm") {
        return;
    }
    let pages = run.json["pages"].as_array().unwrap();
    for (index, page) in pages.iter().enumerate() {
        let prefix = run.dir.path().join(format!("render{index}"));
        let status = Command::new("pdftoppm")
            .args([
                "-r",
                "60",
                "-gray",
                "-f",
                &(index + 1).to_string(),
                "-l",
                &(index + 1).to_string(),
                "-singlefile",
            ])
            .arg(run.pdf())
            .arg(&prefix)
            .status()
            .unwrap();
        assert!(status.success());
        let (width, height, pixels) = read_pgm(&prefix.with_extension("pgm"));
        let scale = 60.0 / page["dpi"][0].as_f64().unwrap();
        let words: Vec<&Value> = page["words"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| {
                w["confidence"].as_f64().unwrap() > 85.0
                    && w["text"].as_str().unwrap().chars().count() >= 4
            })
            .collect();
        assert!(words.len() > 50, "page {index}: too few confident words");
        let inked = words
            .iter()
            .filter(|word| {
                let b = &word["box"];
                let x0 = (b["left"].as_f64().unwrap() * scale) as usize;
                let y0 = (b["top"].as_f64().unwrap() * scale) as usize;
                let x1 = ((b["left"].as_f64().unwrap() + b["width"].as_f64().unwrap()) * scale)
                    .ceil() as usize;
                let y1 = ((b["top"].as_f64().unwrap() + b["height"].as_f64().unwrap()) * scale)
                    .ceil() as usize;
                let (mut dark, mut all) = (0, 0);
                for y in y0..y1.min(height) {
                    for x in x0..x1.min(width) {
                        all += 1;
                        if pixels[y * width + x] < 160 {
                            dark += 1;
                        }
                    }
                }
                all > 0 && dark * 100 / all >= 8
            })
            .count();
        assert!(
            inked * 100 / words.len() >= 90,
            "page {index}: only {inked} of {} word boxes lie on ink",
            words.len()
        );
    }
}

fn read_pgm(path: &Path) -> (usize, usize, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap();
    let mut fields = Vec::new();
    let mut position = 0;
    while fields.len() < 4 {
        while bytes[position].is_ascii_whitespace() {
            position += 1;
        }
        let start = position;
        while !bytes[position].is_ascii_whitespace() {
            position += 1;
        }
        fields.push(String::from_utf8_lossy(&bytes[start..position]).into_owned());
    }
    assert_eq!(fields[0], "P5");
    let (width, height) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    (width, height, bytes[position + 1..].to_vec())
}

#[test]
fn bad_inputs_fail_clearly_and_leave_no_output_behind() {
    let dir = tempfile::tempdir().unwrap();
    let sample = std::fs::read(SAMPLE).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.png", Vec::new(), "input-unreadable"),
        (
            "cut.png",
            sample[..sample.len() / 2].to_vec(),
            "image-corrupt",
        ),
        ("notes.txt", b"not an image".to_vec(), "input-unsupported"),
        (
            "bomb.png",
            png_header_only(100_000, 100_000),
            "image-too-large",
        ),
    ];
    for (name, bytes, code) in cases {
        let input = dir.path().join(name);
        std::fs::write(&input, bytes).unwrap();
        let output = dir.path().join("out.pdf");
        let result = hoso()
            .arg("ocr")
            .arg(SAMPLE)
            .arg(&input)
            .arg("-o")
            .arg(&output)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(1), "{name}: {stderr}");
        assert!(
            stderr.contains(&format!("lỗi [{code}]")) && stderr.contains(name),
            "{name}: {stderr}"
        );
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| {
                n.to_string_lossy().contains("out") || n.to_string_lossy().ends_with(".part")
            })
            .collect();
        assert!(left.is_empty(), "{name}: left behind {left:?}");
    }
    // Many pages, so the reader is still queueing pages when every worker has failed to
    // start an engine: the run must stop, not wait forever for workers that are gone.
    let missing_pack = output_within(
        hoso()
            .arg("ocr")
            .args([SAMPLE; 8])
            .args(["--lang", "vie+zzz_missing", "-o"])
            .arg(dir.path().join("out.pdf")),
        std::time::Duration::from_secs(60),
    );
    let stderr = String::from_utf8_lossy(&missing_pack.stderr);
    assert_ne!(missing_pack.status.code(), Some(0));
    assert!(
        stderr.contains("lỗi [ocr-language-missing]") && stderr.contains("zzz_missing"),
        "{stderr}"
    );
    assert!(!dir.path().join("out.pdf").exists());
}

/// Runs `command`, failing the test instead of hanging when it does not finish in time.
fn output_within(command: &mut Command, limit: std::time::Duration) -> std::process::Output {
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("{command:?} did not finish within {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// A PNG whose header claims `width` x `height` pixels, with no image data.
fn png_header_only(width: u32, height: u32) -> Vec<u8> {
    let mut png = Vec::new();
    let encoder = png::Encoder::new(&mut png, width, height);
    drop(encoder.write_header().unwrap());
    png
}

/// The Python interpreter of the peers' virtual environment (scripts/peers-venv).
fn peers_python() -> Option<PathBuf> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    if python.exists() {
        return Some(python);
    }
    assert!(
        std::env::var("CI").is_err(),
        "the peers venv is required in CI (scripts/test creates it)"
    );
    eprintln!("SKIPPED part: no .venv (run scripts/peers-venv)");
    None
}

#[test]
fn pdfa_output_passes_a_pdfa_2b_validator_and_plain_output_is_not_pdfa() {
    let run = ocr(&[Path::new(SAMPLE)], &["--pdfa"]);
    let Some(python) = peers_python() else { return };
    let validate = |pdf: &Path| {
        let script = "import sys, pikepdf.pdfa as p\nr = p.validate_written(sys.argv[1], '2b')\nprint(len(r.findings)); [print(f) for f in r.findings]";
        let output = Command::new(&python)
            .arg("-c")
            .arg(script)
            .arg(pdf)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    let report = validate(&run.pdf());
    assert!(report.starts_with("0\n"), "PDF/A-2b findings:\n{report}");
    let plain = ocr(&[Path::new(SAMPLE)], &["--no-rotate"]);
    assert!(
        !validate(&plain.pdf()).starts_with("0\n"),
        "the validator must tell the difference"
    );
}

/// An image-only PDF as a scanner writes it: each page one image filling an A4 page.
fn scanned_pdf(path: &Path, pages: &[(Vec<u8>, &str, u32, u32)]) {
    use lopdf::{Document, Object, Stream, dictionary};
    let mut document = Document::with_version("1.5");
    let pages_id = document.new_object_id();
    let mut kids = Vec::new();
    for (data, filter, width, height) in pages {
        let mut image = dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => *width as i64, "Height" => *height as i64,
            "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8,
        };
        if !filter.is_empty() {
            image.set("Filter", Object::Name(filter.as_bytes().to_vec()));
        }
        let image_id = document.add_object(Stream::new(image, data.clone()));
        let content = document.add_object(Stream::new(
            dictionary! {},
            b"q 595 0 0 842 0 0 cm /Im0 Do Q".to_vec(),
        ));
        let page = document.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
            "Resources" => dictionary! { "XObject" => dictionary! { "Im0" => image_id } },
            "Contents" => content,
        });
        kids.push(Object::Reference(page));
    }
    let count = kids.len() as i64;
    document.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }),
    );
    let catalog = document.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    document.trailer.set("Root", catalog);
    document.save(path).unwrap();
}

#[test]
fn scanned_pdfs_are_ocred_and_pages_with_text_are_kept_redone_or_forced() {
    let dir = tempfile::tempdir().unwrap();
    let sample = sample_gray();
    let (w, h) = sample.dimensions();
    let mut jpeg = Vec::new();
    image::DynamicImage::ImageLuma8(sample.clone())
        .write_to(&mut std::io::Cursor::new(&mut jpeg), ImageFormat::Jpeg)
        .unwrap();
    let mut flate = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut flate, sample.as_raw()).unwrap();
    let scan = dir.path().join("scan.pdf");
    scanned_pdf(
        &scan,
        &[
            (jpeg, "DCTDecode", w, h),
            (flate.finish().unwrap(), "FlateDecode", w, h),
        ],
    );
    let run = ocr(&[&scan], &[]);
    assert_eq!(run.json["page_count"], 2);
    assert_eq!(run.page(1)["source"], "scan.pdf, trang 2");
    for page in 0..2 {
        assert_keywords(run.page(page)["text"].as_str().unwrap(), 4);
        let dpi = run.page(page)["dpi"][0].as_f64().unwrap();
        assert!(
            (dpi - 300.0).abs() < 2.0,
            "resolution from the page size: {dpi}"
        );
    }

    // A born-digital PDF (the sample letter) keeps its own text, page copied unchanged.
    let letter = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/cong-van.pdf");
    let mixed = ocr(&[&letter, Path::new(SAMPLE)], &[]);
    assert_eq!(mixed.json["page_count"], 2);
    assert_eq!(mixed.page(0)["text_source"], "original");
    assert!(
        mixed.page(0)["text"]
            .as_str()
            .unwrap()
            .contains("bổ sung hồ sơ"),
        "{}",
        mixed.page(0)["text"]
    );
    assert_eq!(mixed.page(1)["text_source"], "ocr");
    if tool("pdftotext") {
        let text = Command::new("pdftotext")
            .arg(mixed.pdf())
            .arg("-")
            .output()
            .unwrap();
        let text = String::from_utf8(text.stdout).unwrap();
        assert!(
            text.contains("bổ sung hồ sơ") && text.contains("Nguyễn Văn An"),
            "{text}"
        );
    }
    if tool("qpdf") {
        assert!(
            Command::new("qpdf")
                .arg("--check")
                .arg(mixed.pdf())
                .output()
                .unwrap()
                .status
                .success()
        );
    }

    // Our own output has an invisible OCR layer: kept by default, OCRed again with --redo-ocr.
    let earlier = run.pdf();
    let kept = ocr(&[&earlier], &[]);
    assert_eq!(kept.page(0)["text_source"], "original");
    let redone = ocr(&[&earlier], &["--redo-ocr"]);
    assert_eq!(redone.page(0)["text_source"], "ocr");
    assert_keywords(redone.page(0)["text"].as_str().unwrap(), 4);
    // --redo-ocr leaves visible text alone; --force-ocr renders and OCRs it.
    assert_eq!(
        ocr(&[&letter], &["--redo-ocr"]).page(0)["text_source"],
        "original"
    );
    if tool("pdftoppm") {
        let forced = ocr(&[&letter], &["--force-ocr"]);
        assert_eq!(forced.page(0)["text_source"], "ocr");
        assert!(forced.text().contains("bổ sung hồ sơ"), "{}", forced.text());
    }
    let both = hoso()
        .arg("ocr")
        .arg(&letter)
        .args(["--skip-text", "--force-ocr", "-o"])
        .arg(dir.path().join("x.pdf"))
        .output()
        .unwrap();
    assert_eq!(
        both.status.code(),
        Some(2),
        "the text modes exclude each other"
    );
}

#[test]
fn bilevel_pages_are_embedded_without_loss_as_ccitt_g4() {
    if !tool("pdfimages") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sample = sample_gray();
    let (w, h) = sample.dimensions();
    let top = image::imageops::crop_imm(&sample, 0, 0, w, h / 3).to_image();
    // A grey TIFF holding only black and white: stored as G4 in the PDF.
    let tiff_path = dir.path().join("bilevel.tif");
    let file = std::fs::File::create(&tiff_path).unwrap();
    tiff::encoder::TiffEncoder::new(file)
        .unwrap()
        .write_image::<tiff::encoder::colortype::Gray8>(top.width(), top.height(), top.as_raw())
        .unwrap();
    let run = ocr(&[&tiff_path], &["--no-rotate", "--no-deskew"]);
    assert!(
        std::fs::read(run.pdf())
            .unwrap()
            .windows(15)
            .any(|w| w == b"/CCITTFaxDecode")
    );
    // poppler decodes the embedded image; it must give back exactly the scanned pixels.
    let prefix = run.dir.path().join("image");
    let status = Command::new("pdfimages")
        .arg("-png")
        .arg(run.pdf())
        .arg(&prefix)
        .status()
        .unwrap();
    assert!(status.success());
    let extracted = image::open(run.dir.path().join("image-000.png"))
        .unwrap()
        .into_luma8();
    assert_eq!(extracted.dimensions(), top.dimensions());
    let differing = extracted
        .as_raw()
        .iter()
        .zip(top.as_raw())
        .filter(|(a, b)| (**a < 128) != (**b < 128))
        .count();
    assert_eq!(
        differing, 0,
        "the G4 image differs from the scan in {differing} pixels"
    );
}

#[test]
fn encrypted_pdfs_are_refused_even_without_a_user_password() {
    if !tool("qpdf") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let letter = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/cong-van.pdf");
    for (name, user_password) in [("locked.pdf", "user"), ("restricted.pdf", "")] {
        let encrypted = dir.path().join(name);
        let status = Command::new("qpdf")
            .args(["--encrypt", user_password, "owner", "256", "--"])
            .arg(&letter)
            .arg(&encrypted)
            .status()
            .unwrap();
        assert!(status.success());
        let output = dir.path().join("out.pdf");
        let result = hoso()
            .arg("ocr")
            .arg(&encrypted)
            .arg("-o")
            .arg(&output)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(1), "{name}: {stderr}");
        assert!(
            stderr.contains("lỗi [input-unsupported]") && stderr.contains("encrypted"),
            "{name}: {stderr}"
        );
        assert!(!output.exists());
    }
}

#[test]
fn a_transparent_background_is_paper_not_ink() {
    let dir = tempfile::tempdir().unwrap();
    // Black letters on a fully transparent (alpha 0, colour black) background.
    let sample = sample_gray();
    let rgba = image::RgbaImage::from_fn(sample.width(), sample.height(), |x, y| {
        let ink = sample.get_pixel(x, y)[0] < 128;
        image::Rgba([0, 0, 0, if ink { 255 } else { 0 }])
    });
    let path = dir.path().join("transparent.png");
    rgba.save(&path).unwrap();
    let run = ocr(&[&path], &[]);
    assert_keywords(&run.text(), 4);
}

#[test]
fn a_born_digital_page_drawn_through_a_form_xobject_keeps_its_text() {
    use lopdf::{Document, Object, Stream, dictionary};
    let letter = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/cong-van.pdf");
    let mut document = Document::load(&letter).unwrap();
    let page_id = *document.get_pages().values().next().unwrap();
    // Move the page's content and resources into a form XObject, as stamping tools do.
    let content = document.get_page_content(page_id);
    let page = document.get_dictionary(page_id).unwrap().clone();
    let resources = page.get(b"Resources").unwrap().clone();
    let form = document.add_object(Stream::new(
        dictionary! { "Type" => "XObject", "Subtype" => "Form", "BBox" => vec![0.into(), 0.into(), 595.into(), 842.into()], "Resources" => resources },
        content,
    ));
    let new_content = document.add_object(Stream::new(dictionary! {}, b"q /Fx0 Do Q".to_vec()));
    let page = document.get_dictionary_mut(page_id).unwrap();
    page.set("Contents", Object::Reference(new_content));
    page.set(
        "Resources",
        dictionary! { "XObject" => dictionary! { "Fx0" => form } },
    );
    let dir = tempfile::tempdir().unwrap();
    let stamped = dir.path().join("stamped.pdf");
    document.save(&stamped).unwrap();
    let run = ocr(&[&stamped], &[]);
    assert_eq!(
        run.page(0)["text_source"],
        "original",
        "the page has text, inside its form"
    );
    if tool("pdftotext") {
        assert!(
            run.page(0)["text"]
                .as_str()
                .unwrap()
                .contains("bổ sung hồ sơ"),
            "{}",
            run.page(0)["text"]
        );
    }
    if tool("pdftotext") {
        let text = Command::new("pdftotext")
            .arg(run.pdf())
            .arg("-")
            .output()
            .unwrap();
        assert!(
            String::from_utf8(text.stdout)
                .unwrap()
                .contains("bổ sung hồ sơ")
        );
    }
}

#[test]
fn conformance_real_scans_read_with_their_ground_truth_words() {
    let Some(corpora) = corpora() else { return };
    let real = corpora.join("ocr/real");
    // Real scanner output: G4 TIFFs of printed Vietnamese prose, and a rendered official form.
    let stems = ["vietsample_p0", "vietsample1_p0", "cccd_p-2"];
    let inputs: Vec<PathBuf> = stems
        .iter()
        .map(|stem| {
            let tif = real.join(format!("{stem}.tif"));
            if tif.exists() {
                tif
            } else {
                real.join(format!("{stem}.png"))
            }
        })
        .collect();
    let paths: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    let run = ocr(&paths, &["--lang", "vie"]);
    for (index, stem) in stems.iter().enumerate() {
        let truth = std::fs::read_to_string(real.join(format!("{stem}.gt.txt"))).unwrap();
        let ours = run.page(index)["text"].as_str().unwrap().to_owned();
        let clean = |w: &str| w.trim_matches(|c: char| !c.is_alphanumeric()).to_owned();
        let our_words: std::collections::HashSet<String> =
            ours.split_whitespace().map(clean).collect();
        let words: Vec<String> = truth
            .split_whitespace()
            .map(clean)
            .filter(|w| w.chars().count() >= 3)
            .collect();
        let found = words.iter().filter(|w| our_words.contains(*w)).count();
        eprintln!("{stem}: {found} of {} words", words.len());
        // Measured recall of words of 3+ letters on these pages: 94-97 %.
        assert!(
            found * 100 >= words.len() * 90,
            "{stem}: only {found} of {} words read",
            words.len()
        );
    }
}
