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
    /// The same anchors parsed by OpenSSL once, in the same order: path validation only
    /// takes new references to them (cloning an `X509` is a reference count increment).
    openssl: Vec<openssl::x509::X509>,
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
                let parsed = openssl::x509::X509::from_der(&anchor.der).map_err(|e| {
                    TrustError::NotACertificate {
                        path: path.to_owned(),
                        reason: format!("OpenSSL cannot parse it: {e}"),
                    }
                })?;
                self.anchors.push(anchor);
                self.openssl.push(parsed);
            }
        }
        Ok(())
    }

    /// The anchors as OpenSSL certificates (parsed once at load), in load order.
    pub fn openssl_anchors(&self) -> &[openssl::x509::X509] {
        &self.openssl
    }

    /// All anchors, in load order.
    pub fn anchors(&self) -> &[TrustAnchor] {
        &self.anchors
    }

    /// Builds and validates the path from `leaf` to one of the anchors at time `at` with
    /// OpenSSL (RFC 5280: signatures, validity of every certificate at `at`, basic
    /// constraints, path length, name constraints). `intermediates` may hold any number of
    /// unordered candidate CA certificates. An issuing CA in the store ends a path as a root
    /// would (partial chains), as the Government G2 issuing CA is distributed on its own.
    /// Returns the path, leaf first, anchor last, as DER.
    ///
    /// # Errors
    /// [`TrustError::PathInvalid`] with OpenSSL's reason and a stable code.
    pub fn validate_path(
        &self,
        leaf: &[u8],
        intermediates: &[Vec<u8>],
        at: OffsetDateTime,
    ) -> Result<Vec<Vec<u8>>, TrustError> {
        use openssl::stack::Stack;
        use openssl::x509::X509StoreContext;
        use openssl::x509::store::X509StoreBuilder;
        use openssl::x509::verify::{X509VerifyFlags, X509VerifyParam};

        let invalid = |reason: String| TrustError::PathInvalid {
            code: "certificate-path-invalid",
            reason,
        };
        let leaf = openssl_certificate(leaf).map_err(|e| invalid(e.to_string()))?;
        let mut untrusted = Stack::new().map_err(|e| invalid(e.to_string()))?;
        for der in intermediates {
            if let Ok(cert) = openssl_certificate(der) {
                untrusted.push(cert).map_err(|e| invalid(e.to_string()))?;
            }
        }
        // A full path to a self-signed root first, so that issuing CAs in the store are
        // still checked (and their revocation data gathered); a partial path only when the
        // root is not known at all.
        let mut first_error = None;
        for flags in [
            X509VerifyFlags::X509_STRICT,
            X509VerifyFlags::X509_STRICT | X509VerifyFlags::PARTIAL_CHAIN,
        ] {
            let mut builder = X509StoreBuilder::new().map_err(|e| invalid(e.to_string()))?;
            for anchor in &self.openssl {
                builder
                    .add_cert(anchor.clone())
                    .map_err(|e| invalid(e.to_string()))?;
            }
            let mut param = X509VerifyParam::new().map_err(|e| invalid(e.to_string()))?;
            param.set_time(at.unix_timestamp());
            param.set_flags(flags).map_err(|e| invalid(e.to_string()))?;
            builder
                .set_param(&param)
                .map_err(|e| invalid(e.to_string()))?;
            let store = builder.build();
            let mut context = X509StoreContext::new().map_err(|e| invalid(e.to_string()))?;
            let outcome = context
                .init(&store, &leaf, &untrusted, |ctx| {
                    let ok = ctx.verify_cert()?;
                    let chain = ctx
                        .chain()
                        .map(|chain| chain.iter().filter_map(|c| c.to_der().ok()).collect())
                        .unwrap_or_default();
                    Ok((ok, ctx.error(), chain))
                })
                .map_err(|e| invalid(e.to_string()))?;
            match outcome {
                (true, _, chain) => return Ok(chain),
                (false, error, _) => {
                    first_error.get_or_insert(TrustError::PathInvalid {
                        code: path_error_code(error.as_raw()),
                        reason: error.error_string().to_owned(),
                    });
                }
            }
        }
        Err(first_error.unwrap_or_else(|| invalid("no path".to_owned())))
    }

    /// The anchor with this SHA-256 fingerprint, if trusted.
    pub fn by_fingerprint(&self, fingerprint: &Sha256Digest) -> Option<&TrustAnchor> {
        self.anchors.iter().find(|a| &a.fingerprint == fingerprint)
    }
}

/// Parses a DER certificate with OpenSSL, remembering recent ones. OpenSSL 3 spends about
/// 0.15 ms on a parse, more than on a signature check, and signing and verification see the
/// same signer and CA certificates again and again (several times per signature: path, key,
/// revocation). The memory is bounded: past `CAPACITY` certificates it starts afresh.
///
/// # Errors
/// OpenSSL's error when the bytes are not a certificate.
pub fn openssl_certificate(der: &[u8]) -> Result<openssl::x509::X509, openssl::error::ErrorStack> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    const CAPACITY: usize = 1024;
    static RECENT: OnceLock<Mutex<HashMap<Sha256Digest, openssl::x509::X509>>> = OnceLock::new();
    let recent = RECENT.get_or_init(|| Mutex::new(HashMap::new()));
    let key = Sha256Digest::of(der);
    if let Some(found) = recent.lock().ok().and_then(|map| map.get(&key).cloned()) {
        return Ok(found);
    }
    let parsed = openssl::x509::X509::from_der(der)?;
    if let Ok(mut map) = recent.lock() {
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(key, parsed.clone());
    }
    Ok(parsed)
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
    /// No valid path from the certificate to a trust anchor; `code` says why.
    #[error("certificate path not valid: {reason}")]
    PathInvalid { code: &'static str, reason: String },
    #[error("{path} is not an X.509 certificate: {reason}")]
    NotACertificate { path: PathBuf, reason: String },
    #[error("cannot read trust store path {path}: {source}")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Stable codes for OpenSSL's path validation errors (X509_V_ERR_*).
fn path_error_code(raw: i32) -> &'static str {
    match raw {
        // CERT_NOT_YET_VALID, CRL_NOT_YET_VALID
        9 | 11 => "certificate-not-yet-valid",
        // CERT_HAS_EXPIRED, CRL_HAS_EXPIRED
        10 | 12 => "certificate-expired",
        // UNABLE_TO_GET_ISSUER_CERT(_LOCALLY), DEPTH_ZERO_SELF_SIGNED, SELF_SIGNED_IN_CHAIN,
        // UNABLE_TO_VERIFY_LEAF_SIGNATURE, CERT_UNTRUSTED
        2 | 18 | 19 | 20 | 21 | 27 => "certificate-untrusted",
        _ => "certificate-path-invalid",
    }
}

impl Coded for TrustError {
    fn code(&self) -> &'static str {
        match self {
            TrustError::PathInvalid { code, .. } => code,
            TrustError::NotACertificate { .. } => "trust-anchor-invalid",
            TrustError::Unreadable { .. } => "trust-store-unreadable",
        }
    }

    fn class(&self) -> ErrorClass {
        ErrorClass::InvalidInput
    }

    fn message_vi(&self) -> String {
        match self {
            TrustError::PathInvalid { code, .. } => match *code {
                "certificate-expired" => "Chứng thư số (hoặc chứng thư của CA cấp trên) đã hết hạn.".to_owned(),
                "certificate-not-yet-valid" => "Chứng thư số chưa đến thời điểm có hiệu lực.".to_owned(),
                "certificate-untrusted" => "Chứng thư số không chuỗi được tới một chứng thư gốc tin cậy (Root CA) đã cấu hình.".to_owned(),
                _ => "Chuỗi chứng thư số không hợp lệ.".to_owned(),
            },
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

/// Empties this thread's OpenSSL error queue. Some OpenSSL calls report a failure both as a
/// return value and as an entry on the queue (a signature that does not verify, a PEM parse
/// tried before DER); an entry left behind makes the next TLS read on the same thread (a
/// PostgreSQL connection) fail with that stale error. Called where blocking crypto work hands
/// its thread back.
pub fn clear_openssl_errors() {
    let _ = openssl::error::ErrorStack::get();
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

    /// The anchors are parsed once; every call (and every clone of the store) validates with
    /// them at the time it is given.
    #[test]
    fn paths_are_validated_at_the_time_passed_in_with_the_loaded_anchors() {
        let pki = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("certs/test-pki");
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(pki.join("root.crt"), dir.path().join("root.crt")).unwrap();
        let store = TrustStore::load(&[dir.path().to_owned()]).unwrap();
        let der = |name: &str| {
            openssl::x509::X509::from_pem(&std::fs::read(pki.join(name)).unwrap())
                .unwrap()
                .to_der()
                .unwrap()
        };
        let (leaf, inter, root) = (der("official.crt"), der("inter.crt"), der("root.crt"));
        let at = datetime!(2026-11-22 0:00 UTC);
        for store in [store.clone(), store] {
            let path = store
                .validate_path(&leaf, std::slice::from_ref(&inter), at)
                .unwrap();
            assert_eq!(path, vec![leaf.clone(), inter.clone(), root.clone()]);
            let expired = store
                .validate_path(
                    &leaf,
                    std::slice::from_ref(&inter),
                    datetime!(2037-01-01 0:00 UTC),
                )
                .unwrap_err();
            assert_eq!(expired.code(), "certificate-expired");
            let no_issuer = store.validate_path(&leaf, &[], at).unwrap_err();
            assert_eq!(no_issuer.code(), "certificate-untrusted");
        }
        let empty = TrustStore::default();
        let untrusted = empty
            .validate_path(&leaf, std::slice::from_ref(&inter), at)
            .unwrap_err();
        assert_eq!(untrusted.code(), "certificate-untrusted");
    }
}
