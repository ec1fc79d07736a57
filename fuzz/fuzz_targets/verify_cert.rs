//! Any bytes as a certificate file (DER, PEM or a PKCS#7 bundle) for `verify-cert`.
#![no_main]

#[path = "common.rs"]
mod common;

use hoso::verify::certificate::{CertOptions, verify_certificate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let base = common::options();
    let options = CertOptions {
        trust: base.trust,
        at: base.at,
        offline: true,
        policy: base.policy,
        supplied: base.supplied,
        policies: Default::default(),
    };
    let _ = verify_certificate(data, "fuzz.pem", &options);
});
