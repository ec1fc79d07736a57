//! Any bytes as a detached CMS signature (DER, BER or PEM) over a fixed file.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

const SIGNED: &[u8] = b"hoso fuzz: the detached data a CMS signature claims to cover\n";

fuzz_target!(|data: &[u8]| {
    let _ = hoso::verify::verify_detached(SIGNED, data, "fuzz.p7s", &common::options());
});
