//! Any bytes as a PDF to verify: never a panic, a hang or an unbounded allocation.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = hoso::verify::verify_pdf(data, "fuzz.pdf", &common::options());
});
