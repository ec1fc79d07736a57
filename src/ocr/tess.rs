//! Safe wrappers over the parts of the Tesseract and Leptonica C APIs that the safe
//! `tesseract` crate does not expose: orientation detection, skew detection, rotation, and
//! recognition with TSV output on an image we built ourselves.
//!
//! This is the crate's main `unsafe` code (the other is `verify::map_file`, one mmap call). Every pointer is owned by exactly one wrapper
//! ([`Pix`], [`TessApi`]) and released in its `Drop`; every call checks for null results.

#![allow(unsafe_code)]

use std::ffi::{CStr, CString, c_char, c_int};
use std::ptr;

use leptonica_sys as lept;
use tesseract_sys as tess;

/// An owned Leptonica image.
pub struct Pix(*mut lept::Pix);

// SAFETY: a Pix is a plain heap object without thread affinity; we never share one between
// threads without moving it (no `Sync`), and Leptonica's reference counting is not used
// across wrappers (clones are never created by this module).
unsafe impl Send for Pix {}

impl Pix {
    /// An 8-bit grey image from row-major luminance bytes (`width * height` of them).
    pub fn from_gray(width: u32, height: u32, gray: &[u8], dpi: u32) -> Option<Pix> {
        let (w, h) = (c_int::try_from(width).ok()?, c_int::try_from(height).ok()?);
        if gray.len() != width as usize * height as usize || w == 0 || h == 0 {
            return None;
        }
        // SAFETY: pixCreate returns a new image or null; checked below.
        let raw = unsafe { lept::pixCreate(w, h, 8) };
        if raw.is_null() {
            return None;
        }
        let pix = Pix(raw);
        // SAFETY: `raw` is a valid 8 bpp image of size w x h; its buffer has `wpl` 32-bit
        // words per row for `h` rows, which is exactly the slice we build.
        let (wpl, data) = unsafe { (lept::pixGetWpl(raw) as usize, lept::pixGetData(raw)) };
        if data.is_null() {
            return None;
        }
        let words = unsafe { std::slice::from_raw_parts_mut(data, wpl * height as usize) };
        // Leptonica keeps pixel 0 of each 32-bit word in its most significant byte.
        for (row, line) in gray
            .chunks_exact(width as usize)
            .zip(words.chunks_exact_mut(wpl))
        {
            for (word, quad) in line.iter_mut().zip(row.chunks(4)) {
                let mut bytes = [255u8; 4];
                bytes[..quad.len()].copy_from_slice(quad);
                *word = u32::from_be_bytes(bytes);
            }
        }
        let dpi = c_int::try_from(dpi).unwrap_or(300);
        // SAFETY: valid image.
        unsafe { lept::pixSetResolution(raw, dpi, dpi) };
        Some(pix)
    }

    pub fn width(&self) -> u32 {
        // SAFETY: valid image for the lifetime of self.
        unsafe { lept::pixGetWidth(self.0) as u32 }
    }

    pub fn height(&self) -> u32 {
        // SAFETY: as above.
        unsafe { lept::pixGetHeight(self.0) as u32 }
    }

    /// Rotated clockwise by `quarter_turns` x 90 degrees (a new image; exact, no resampling).
    pub fn rotate_orth(&self, quarter_turns: u32) -> Option<Pix> {
        // SAFETY: valid input; the result is a new image or null.
        Self::wrap(unsafe { lept::pixRotateOrth(self.0, (quarter_turns % 4) as c_int) })
    }

    /// Skew angle of the text lines in degrees (positive: the page must turn clockwise to be
    /// level) and Leptonica's confidence, searched over +/- `range_degrees`.
    pub fn find_skew(&self, range_degrees: f32) -> Option<(f32, f32)> {
        // Skew search needs a binary image; 130 is Leptonica's own default threshold for it.
        // SAFETY: valid input; the result is a new image or null.
        let binary = Self::wrap(unsafe { lept::pixConvertTo1(self.0, 130) })?;
        let (mut angle, mut confidence) = (0f32, 0f32);
        // Reduction factors, step and stop size are those of Leptonica's pixFindSkew.
        // SAFETY: valid 1 bpp input and valid out-pointers.
        let failed = unsafe {
            lept::pixFindSkewSweepAndSearch(
                binary.0,
                &mut angle,
                &mut confidence,
                4,
                2,
                range_degrees,
                1.0,
                0.01,
            )
        };
        (failed == 0).then_some((angle, confidence))
    }

    /// Rotated clockwise by `degrees` about its centre (by shearing), same size, white
    /// brought in.
    pub fn rotate(&self, degrees: f32) -> Option<Pix> {
        let radians = degrees.to_radians();
        // SAFETY: valid input; the result is a new image or null.
        Self::wrap(unsafe {
            lept::pixRotate(
                self.0,
                radians,
                // Shear rotation moves pixels without interpolating them, so letter edges stay
                // crisp; area mapping blurred them and cost recognition (measured on the
                // synthetic corpus: LCER 0.98 % against 1.13 %).
                lept::L_ROTATE_SHEAR as c_int,
                lept::L_BRING_IN_WHITE as c_int,
                0,
                0,
            )
        })
    }

    /// Half the size in each direction (area mapping), for cheap layout-level analysis.
    pub fn half(&self) -> Option<Pix> {
        // SAFETY: valid input; the result is a new image or null.
        Self::wrap(unsafe { lept::pixScaleAreaMap2(self.0) })
    }

    fn wrap(raw: *mut lept::Pix) -> Option<Pix> {
        (!raw.is_null()).then_some(Pix(raw))
    }
}

impl Drop for Pix {
    fn drop(&mut self) {
        // SAFETY: we own the only reference; pixDestroy nulls our copy of the pointer.
        unsafe { lept::pixDestroy(&mut self.0) };
    }
}

/// One initialized Tesseract engine. Not thread-safe: used by one thread at a time
/// (`Send`, not `Sync`).
pub struct TessApi(*mut tess::TessBaseAPI);

// SAFETY: a TessBaseAPI may be used from any thread as long as only one thread uses it at a
// time, which `&mut self` on every call and the absence of `Sync` guarantee.
unsafe impl Send for TessApi {}

/// What orientation detection found.
#[derive(Debug, Clone, Copy)]
pub struct Orientation {
    /// Counter-clockwise rotation of the text on the page, in degrees: 0, 90, 180 or 270.
    pub degrees: u32,
    pub confidence: f32,
}

impl TessApi {
    /// Initializes an engine for `languages` (e.g. `vie+eng`, or `osd`) from the default
    /// tessdata folder.
    pub fn new(languages: &str) -> Option<TessApi> {
        let languages = CString::new(languages).ok()?;
        // SAFETY: TessBaseAPICreate returns a new handle or null.
        let raw = unsafe { tess::TessBaseAPICreate() };
        if raw.is_null() {
            return None;
        }
        let api = TessApi(raw);
        // SAFETY: valid handle, null datapath (default), NUL-terminated language string.
        let status = unsafe { tess::TessBaseAPIInit3(raw, ptr::null(), languages.as_ptr()) };
        if status != 0 {
            return None;
        }
        // The library's default segmentation mode is 6 (one block); the CLI's, and the one
        // that reads whole pages best, is 3 (fully automatic).
        // SAFETY: valid handle.
        unsafe { tess::TessBaseAPISetPageSegMode(raw, tess::TessPageSegMode_PSM_AUTO) };
        api.set_variable("debug_file", "/dev/null");
        // Sauvola's local thresholding instead of Otsu's global one: scans with tinted paper,
        // seals and dotted form lines read better (measured on the shared corpus: real pages
        // LCER 2.25 % against 2.54 %, synthetic pages about equal).
        api.set_variable("thresholding_method", "2");
        Some(api)
    }

    fn set_variable(&self, name: &str, value: &str) -> bool {
        let (Ok(name), Ok(value)) = (CString::new(name), CString::new(value)) else {
            return false;
        };
        // SAFETY: valid handle and NUL-terminated strings that outlive the call.
        unsafe { tess::TessBaseAPISetVariable(self.0, name.as_ptr(), value.as_ptr()) != 0 }
    }

    /// Orientation of the text on `pix` (engine initialized with `osd`), or `None` when
    /// Tesseract found too little text to tell.
    pub fn detect_orientation(&mut self, pix: &Pix, dpi: u32) -> Option<Orientation> {
        let (mut degrees, mut confidence, mut script_confidence) = (0 as c_int, 0f32, 0f32);
        let mut script: *const c_char = ptr::null();
        // SAFETY: valid handle and image; Tesseract copies what it needs from the image, and
        // `script` points into Tesseract's static tables (not freed by us).
        let found = unsafe {
            tess::TessBaseAPISetPageSegMode(self.0, tess::TessPageSegMode_PSM_OSD_ONLY);
            tess::TessBaseAPISetImage2(self.0, pix.0);
            tess::TessBaseAPISetSourceResolution(self.0, dpi as c_int);
            let found = tess::TessBaseAPIDetectOrientationScript(
                self.0,
                &mut degrees,
                &mut confidence,
                &mut script,
                &mut script_confidence,
            );
            tess::TessBaseAPIClear(self.0);
            found
        };
        (found != 0).then(|| Orientation {
            degrees: degrees.rem_euclid(360) as u32,
            confidence,
        })
    }

    /// Recognizes `pix` and returns Tesseract's TSV (one row per page, block, paragraph,
    /// line and word, with boxes and confidences) and the mean word confidence.
    pub fn recognize_tsv(&mut self, pix: &Pix, dpi: u32) -> Option<(String, i32)> {
        // SAFETY: valid handle and image; the TSV string is owned by us until TessDeleteText.
        unsafe {
            tess::TessBaseAPISetPageSegMode(self.0, tess::TessPageSegMode_PSM_AUTO);
            tess::TessBaseAPISetImage2(self.0, pix.0);
            tess::TessBaseAPISetSourceResolution(self.0, dpi as c_int);
            if tess::TessBaseAPIRecognize(self.0, ptr::null_mut()) != 0 {
                tess::TessBaseAPIClear(self.0);
                return None;
            }
            let raw = tess::TessBaseAPIGetTsvText(self.0, 0);
            let confidence = tess::TessBaseAPIMeanTextConf(self.0);
            tess::TessBaseAPIClear(self.0);
            if raw.is_null() {
                return None;
            }
            let tsv = CStr::from_ptr(raw).to_string_lossy().into_owned();
            tess::TessDeleteText(raw);
            Some((tsv, confidence))
        }
    }
}

impl Drop for TessApi {
    fn drop(&mut self) {
        // SAFETY: we own the handle; End releases its models, Delete the handle itself.
        unsafe {
            tess::TessBaseAPIEnd(self.0);
            tess::TessBaseAPIDelete(self.0);
        }
    }
}
