//! Trust stage: the certificates hoso trusts, and (issues #4, #5) path validation against
//! them at a given time.
//!
//! A trust store is a set of folders holding root certificates as PEM or DER files
//! (`.pem`, `.crt`, `.cer`, `.der`). The default folder, `certs/trust`, holds the Vietnamese
//! roots: Vietnam National Root CA (public CAs, NEAC), RootCA chuyên dùng Chính phủ G2 and its
//! issuing CA (official-use certificates, Ban Cơ yếu Chính phủ). Time is always passed in.

use std::path::{Path, PathBuf};

use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::digest::Sha256Digest;
use crate::error::{Coded, ErrorClass};

/// A certificate the operator chose to trust.
#[derive(Debug, Clone)]
pub struct TrustAnchor {
    /// The certificate, DER-encoded.
    pub der: Vec<u8>,
    /// Subject distinguished name (RFC 4514 order as x509-parser prints it).
    pub subject: String,
    pub issuer: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// SHA-256 of the DER: what `openssl x509 -fingerprint -sha256` prints.
    pub fingerprint: Sha256Digest,
    /// The file it was loaded from.
    pub source: PathBuf,
}

impl TrustAnchor {
    /// Whether `at` falls inside the certificate's validity period.
    pub fn is_valid_at(&self, at: OffsetDateTime) -> bool {
        self.not_before <= at && at <= self.not_after
    }

    /// Whether subject and issuer are the same name (a root rather than an issuing CA).
    pub fn is_self_issued(&self) -> bool {
        self.subject == self.issuer
    }
}

/// The anchors loaded from one or more folders, without duplicates.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    anchors: Vec<TrustAnchor>,
}

const CERT_EXTENSIONS: [&str; 4] = ["pem", "crt", "cer", "der"];

impl TrustStore {
    /// Loads every certificate file in `dirs` (not recursive). Files with other extensions
    /// (READMEs, scripts) are ignored; a certificate file that does not parse is an error,
    /// since silently dropping an anchor would change verdicts.
    ///
    /// # Errors
    /// A missing folder, an unreadable file, or a file that is not a certificate.
    pub fn load(dirs: &[PathBuf]) -> Result<Self, TrustError> {
        let mut store = TrustStore::default();
        for dir in dirs {
            let entries = std::fs::read_dir(dir).map_err(|source| TrustError::Unreadable {
                path: dir.clone(),
                source,
            })?;
            let mut paths: Vec<PathBuf> = entries
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|path| has_cert_extension(path))
                .collect();
            paths.sort();
            for path in paths {
                store.add_file(&path)?;
            }
        }
        Ok(store)
    }

    fn add_file(&mut self, path: &Path) -> Result<(), TrustError> {
        let bytes = std::fs::read(path).map_err(|source| TrustError::Unreadable {
            path: path.to_owned(),
            source,
        })?;
        let ders = certificate_ders(&bytes).map_err(|reason| TrustError::NotACertificate {
            path: path.to_owned(),
            reason,
        })?;
        for der in ders {
            let anchor = parse_anchor(der, path)?;
            if !self
                .anchors
                .iter()
                .any(|a| a.fingerprint == anchor.fingerprint)
            {
                self.anchors.push(anchor);
            }
        }
        Ok(())
    }

    /// All anchors, in load order.
    pub fn anchors(&self) -> &[TrustAnchor] {
        &self.anchors
    }

    /// The anchor with this SHA-256 fingerprint, if trusted.
    pub fn by_fingerprint(&self, fingerprint: &Sha256Digest) -> Option<&TrustAnchor> {
        self.anchors.iter().find(|a| &a.fingerprint == fingerprint)
    }
}

fn has_cert_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| CERT_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// The DER certificates in a file: every `CERTIFICATE` block of a PEM file, or the whole
/// file when it is DER.
fn certificate_ders(bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    if bytes.starts_with(b"-----BEGIN") || bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        let mut ders = Vec::new();
        for pem in x509_parser::pem::Pem::iter_from_buffer(bytes) {
            let pem = pem.map_err(|e| format!("bad PEM: {e}"))?;
            if pem.label == "CERTIFICATE" {
                ders.push(pem.contents);
            }
        }
        if ders.is_empty() {
            return Err("PEM file without a CERTIFICATE block".to_owned());
        }
        Ok(ders)
    } else {
        Ok(vec![bytes.to_vec()])
    }
}

fn parse_anchor(der: Vec<u8>, path: &Path) -> Result<TrustAnchor, TrustError> {
    let (rest, cert) =
        X509Certificate::from_der(&der).map_err(|e| TrustError::NotACertificate {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    if !rest.is_empty() {
        return Err(TrustError::NotACertificate {
            path: path.to_owned(),
            reason: "trailing bytes after the certificate".to_owned(),
        });
    }
    let anchor = TrustAnchor {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        not_before: cert.validity().not_before.to_datetime(),
        not_after: cert.validity().not_after.to_datetime(),
        fingerprint: Sha256Digest::of(&der),
        source: path.to_owned(),
        der: Vec::new(),
    };
    Ok(TrustAnchor { der, ..anchor })
}

/// Failures loading or using the trust store.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("{path} is not an X.509 certificate: {reason}")]
    NotACertificate { path: PathBuf, reason: String },
    #[error("cannot read trust store path {path}: {source}")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Coded for TrustError {
    fn code(&self) -> &'static str {
        match self {
            TrustError::NotACertificate { .. } => "trust-anchor-invalid",
            TrustError::Unreadable { .. } => "trust-store-unreadable",
        }
    }

    fn class(&self) -> ErrorClass {
        ErrorClass::InvalidInput
    }

    fn message_vi(&self) -> String {
        match self {
            TrustError::NotACertificate { path, .. } => {
                format!(
                    "Tệp {} không phải chứng thư số X.509 hợp lệ.",
                    path.display()
                )
            }
            TrustError::Unreadable { path, .. } => {
                format!(
                    "Không đọc được kho chứng thư tin cậy tại {}.",
                    path.display()
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn project_trust_store() -> TrustStore {
        TrustStore::load(&[PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("certs/trust")])
            .expect("certs/trust loads")
    }

    /// Fingerprints as published in the team reference ../shared/docs/vn-standards.md §4.2 (decoded from the CA sites'
    /// certificates), so a wrong or swapped file in certs/trust fails here.
    #[test]
    fn vietnamese_roots_have_their_published_fingerprints() {
        let store = project_trust_store();
        for (name, fingerprint) in [
            (
                "Vietnam National Root CA",
                "BAC8BF609AB420A8EE1780D74F4DE5C7F7184959D2A7375B0A75E4C29F0908E7",
            ),
            (
                "RootCA chuyên dùng Chính phủ G2",
                "F04BA4B459A7C9A1B971AD9B1CB833E695A80C79AEA63B174B66A70EDFE2FDB8",
            ),
            (
                "CA phục vụ các cơ quan Nhà nước G2",
                "D8CAB7A4AEF92E6BB2509D7C61CEE7B44F3731B2D21074963530277B366FAE4B",
            ),
        ] {
            let anchor = store
                .by_fingerprint(&fingerprint.parse().unwrap())
                .unwrap_or_else(|| panic!("{name} missing from certs/trust"));
            assert!(
                anchor.subject.contains(name),
                "{} should name {name}",
                anchor.subject
            );
        }
        assert_eq!(store.anchors().len(), 3);
    }

    #[test]
    fn validity_is_judged_at_the_time_passed_in() {
        let store = project_trust_store();
        let national = store
            .anchors()
            .iter()
            .find(|a| a.subject.contains("Vietnam National Root CA"))
            .unwrap();
        assert!(national.is_self_issued());
        assert!(national.is_valid_at(datetime!(2026-11-22 0:00 UTC)));
        assert!(!national.is_valid_at(datetime!(2013-01-01 0:00 UTC)));
        assert!(!national.is_valid_at(datetime!(2040-01-01 0:00 UTC)));
    }

    #[test]
    fn a_file_that_is_not_a_certificate_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("broken.pem"),
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let err = TrustStore::load(&[dir.path().to_owned()]).unwrap_err();
        assert_eq!(err.code(), "trust-anchor-invalid");
        std::fs::write(dir.path().join("broken.pem"), "hello").unwrap();
        assert!(TrustStore::load(&[dir.path().to_owned()]).is_err());
    }

    #[test]
    fn test_pki_certificates_parse_with_vietnamese_names_and_fixed_validity() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("certs/test-pki");
        let store = TrustStore::load(&[dir]).expect("certs/test-pki loads");
        let find = |cn: &str| {
            store
                .anchors()
                .iter()
                .find(|a| a.subject.contains(cn))
                .unwrap_or_else(|| panic!("{cn} in certs/test-pki"))
        };
        let official = find("Nguyễn Văn An (TEST)");
        assert!(official.subject.contains("UBND xã Tân Phú (TEST ONLY)"));
        assert!(!official.is_self_issued());
        let at = datetime!(2026-11-22 0:00 UTC);
        assert!(official.is_valid_at(at));
        let expired = find("(TEST expired)");
        assert!(!expired.is_valid_at(at));
        assert!(expired.is_valid_at(datetime!(2020-06-01 0:00 UTC)));
        assert!(!find("(TEST not-yet-valid)").is_valid_at(at));
        assert!(find("hoso TEST Root CA").is_self_issued());
    }

    #[test]
    fn a_missing_folder_is_an_error() {
        let err = TrustStore::load(&[PathBuf::from("/nonexistent/hoso-trust")]).unwrap_err();
        assert_eq!(err.code(), "trust-store-unreadable");
    }
}
