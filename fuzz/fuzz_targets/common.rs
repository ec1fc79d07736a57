//! What every target shares: the test PKI as the trust store (loaded once), its CRLs as
//! supplied revocation evidence, a fixed validation time, no network.

use std::path::PathBuf;
use std::sync::OnceLock;

use hoso::trust::TrustStore;
use hoso::verify::status::EvidencePool;
use hoso::verify::{Policy, VerifyOptions};

/// A time inside the test PKI's validity (2026–2036), so paths can be built and checked.
pub fn at() -> time::OffsetDateTime {
    time::macros::datetime!(2027-06-01 00:00 UTC)
}

fn pki() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../certs/test-pki")
}

pub fn trust() -> &'static TrustStore {
    static TRUST: OnceLock<TrustStore> = OnceLock::new();
    TRUST.get_or_init(|| TrustStore::load(&[pki()]).expect("certs/test-pki loads"))
}

pub fn crls() -> &'static Vec<Vec<u8>> {
    static CRLS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    CRLS.get_or_init(|| {
        ["root.crl", "inter.crl"]
            .iter()
            .map(|name| {
                let pem = std::fs::read(pki().join(name)).expect("test CRL");
                openssl::x509::X509Crl::from_pem(&pem)
                    .and_then(|c| c.to_der())
                    .expect("test CRL parses")
            })
            .collect()
    })
}

pub fn options() -> VerifyOptions<'static> {
    VerifyOptions {
        trust: trust(),
        at: at(),
        offline: true,
        policy: Policy::Strict,
        supplied: EvidencePool {
            certificates: Vec::new(),
            ocsp: Vec::new(),
            crls: crls().clone(),
        },
    }
}
