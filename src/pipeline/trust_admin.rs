//! Trust anchors changed through the service: listing what the trust store holds, adding CA
//! certificates to the managed trust folder and removing them again.
//!
//! The configured trust folders (`trust_dirs`, e.g. `certs/trust`) are the operator's: the
//! service only reads them. Administrators add anchors to one folder of its own,
//! `{data_dir}/trust` ([`Pipeline::with_managed_trust_dir`]), one file per certificate named
//! by its SHA-256 fingerprint (`<sha256>.pem`). A file is written to a temporary name, synced
//! and linked into place without ever replacing an existing file, so the loader sees a whole
//! certificate or nothing. Each change is recorded in the audit trail (`trust.add`,
//! `trust.remove`, [`Archive::record_trust_changes`](crate::archive::Archive::record_trust_changes))
//! and undone on disk when that record cannot be written; then the cached trust store is
//! dropped ([`Pipeline::reload_trust`]), so the next signature or verification uses the new
//! set.
//!
//! Only CA certificates are accepted (basicConstraints `CA:TRUE`, and `keyCertSign` when the
//! certificate states its key usage): a leaf certificate as an anchor would make whatever it
//! signed look trusted and is almost always a mistake.

use std::io::Write;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::Pipeline;
use crate::archive::trust_anchors::{TrustChange, TrustChangeRecord};
use crate::digest::Sha256Digest;
use crate::error::{Coded, Error, ErrorClass, Result};
use crate::trust::TrustAnchor;

/// Largest certificate upload read (a bundle of a few dozen PEM certificates).
pub const MAX_TRUST_UPLOAD_BYTES: u64 = 1 << 20;
/// Most certificates added at once.
const MAX_CERTIFICATES: usize = 100;

/// A trust anchor as administrators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchorEntry {
    /// Subject distinguished name (as `trust` prints it).
    pub subject: String,
    pub fingerprint: Sha256Digest,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// Subject and issuer are the same name (a root, not an issuing CA).
    pub self_issued: bool,
    /// The folder it was loaded from.
    pub folder: PathBuf,
    /// It sits in the managed folder, so the service may remove it.
    pub managed: bool,
}

/// What [`Pipeline::add_trust_anchors`] did with each certificate of the upload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddedAnchors {
    /// Newly trusted, written to the managed folder.
    pub added: Vec<AnchorEntry>,
    /// Trusted already (from any folder): nothing written.
    pub already_trusted: Vec<AnchorEntry>,
    /// The audit entry of the last addition (`None` when nothing was added).
    pub audit_seq: Option<i64>,
}

/// A certificate read from an upload and found acceptable as an anchor.
struct Candidate {
    pem: Vec<u8>,
    fingerprint: Sha256Digest,
    subject: String,
    not_after: OffsetDateTime,
}

impl Pipeline {
    /// Anchors added through the service go to `dir` (created on the first addition) and are
    /// read after the configured trust folders. [`Pipeline::open`] sets `{data_dir}/trust`.
    #[must_use]
    pub fn with_managed_trust_dir(mut self, dir: PathBuf) -> Self {
        self.managed_trust_dir = Some(dir);
        self
    }

    /// The managed trust folder, if this pipeline has one.
    pub fn managed_trust_dir(&self) -> Option<&Path> {
        self.managed_trust_dir.as_deref()
    }

    /// The configured (read-only) trust folders.
    pub fn trust_dirs(&self) -> &[PathBuf] {
        &self.trust_dirs
    }

    /// Every anchor of the trust store, in load order (configured folders first).
    ///
    /// # Errors
    /// The trust store cannot be loaded.
    pub fn trust_anchors(&self) -> Result<Vec<AnchorEntry>> {
        let store = self.trust()?;
        Ok(store.anchors().iter().map(|a| self.entry_of(a)).collect())
    }

    fn entry_of(&self, anchor: &TrustAnchor) -> AnchorEntry {
        let folder = anchor
            .source
            .parent()
            .map(Path::to_owned)
            .unwrap_or_default();
        AnchorEntry {
            subject: anchor.subject.clone(),
            fingerprint: anchor.fingerprint,
            not_before: anchor.not_before,
            not_after: anchor.not_after,
            self_issued: anchor.is_self_issued(),
            managed: self.managed_trust_dir.as_deref() == Some(folder.as_path()),
            folder,
        }
    }

    /// Adds the CA certificates in `uploads` (each PEM with one or more `CERTIFICATE`
    /// blocks, or one DER certificate) to the managed trust folder (module documentation).
    /// Every certificate is checked before any is written; ones already trusted are reported
    /// and left alone.
    ///
    /// # Errors
    /// [`TrustAdminError::NotManaged`] without a managed folder,
    /// [`TrustAdminError::CertificateInvalid`] / [`TrustAdminError::NotCa`] (nothing
    /// written), the trust store failing to load, folder I/O, the audit entry failing (the
    /// files written are removed again).
    pub async fn add_trust_anchors(
        &self,
        uploads: Vec<Vec<u8>>,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<AddedAnchors> {
        let dir = self
            .managed_trust_dir
            .clone()
            .ok_or(TrustAdminError::NotManaged)?;
        let candidates = self
            .run_blocking(move || {
                let mut all: Vec<Candidate> = Vec::new();
                for upload in &uploads {
                    for candidate in read_candidates(upload)? {
                        if !all.iter().any(|c| c.fingerprint == candidate.fingerprint) {
                            all.push(candidate);
                        }
                    }
                }
                if all.is_empty() {
                    return Err(TrustAdminError::CertificateInvalid {
                        reason: "no certificate was sent".to_owned(),
                    }
                    .into());
                }
                Ok(all)
            })
            .await?;
        let trusted = self.trust()?;
        let (known, new): (Vec<_>, Vec<_>) = candidates
            .into_iter()
            .partition(|c| trusted.by_fingerprint(&c.fingerprint).is_some());
        let write_dir = dir.clone();
        let written = self
            .run_blocking(move || write_candidates(&write_dir, new))
            .await?;
        let records: Vec<TrustChangeRecord> = written
            .iter()
            .map(|(_, c)| TrustChangeRecord {
                fingerprint: c.fingerprint,
                subject: c.subject.clone(),
                not_after: c.not_after,
            })
            .collect();
        let audit_seq = match self
            .archive
            .record_trust_changes(TrustChange::Add, &records, actor, now)
            .await
        {
            Ok(seq) => seq,
            Err(error) => {
                for (path, _) in &written {
                    if let Err(e) = std::fs::remove_file(path) {
                        tracing::error!(path = %path.display(), error = %e,
                            "a trust anchor whose audit entry failed could not be removed");
                    }
                }
                return Err(error.into());
            }
        };
        if !written.is_empty() {
            self.reload_trust();
        }
        let store = self.trust()?;
        let entry = |fingerprint: &Sha256Digest| {
            store
                .by_fingerprint(fingerprint)
                .map(|anchor| self.entry_of(anchor))
        };
        Ok(AddedAnchors {
            added: written
                .iter()
                .filter_map(|(_, c)| entry(&c.fingerprint))
                .collect(),
            already_trusted: known.iter().filter_map(|c| entry(&c.fingerprint)).collect(),
            audit_seq,
        })
    }

    /// Removes the anchor with `fingerprint` from the managed folder.
    ///
    /// # Errors
    /// [`TrustAdminError::ReadOnly`] when it comes from a configured folder (or was put into
    /// the managed folder by hand under another name), [`TrustAdminError::NotFound`] when it
    /// is not trusted at all, folder I/O, the audit entry failing (the file is put back).
    pub async fn remove_trust_anchor(
        &self,
        fingerprint: &Sha256Digest,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<AnchorEntry> {
        let managed_file = self
            .managed_trust_dir
            .as_ref()
            .map(|dir| dir.join(format!("{}.pem", fingerprint.to_hex())))
            .filter(|path| path.is_file());
        let Some(path) = managed_file else {
            return Err(match self.trust()?.by_fingerprint(fingerprint) {
                Some(anchor) => TrustAdminError::ReadOnly {
                    folder: self.entry_of(anchor).folder,
                },
                None => TrustAdminError::NotFound {
                    fingerprint: *fingerprint,
                },
            }
            .into());
        };
        let entry = self
            .trust()?
            .by_fingerprint(fingerprint)
            .map(|a| self.entry_of(a));
        // Set aside under a name the loader ignores, so that a failed audit entry can put it
        // back unchanged.
        let aside = path.with_file_name(format!(".removing-{}", fingerprint.to_hex()));
        std::fs::rename(&path, &aside).map_err(|source| io_error(&path, source))?;
        let record = match read_pem_record(&aside, fingerprint) {
            Ok(record) => record,
            Err(error) => {
                let _ = std::fs::rename(&aside, &path);
                return Err(error);
            }
        };
        let audited = self
            .archive
            .record_trust_changes(
                TrustChange::Remove,
                std::slice::from_ref(&record),
                actor,
                now,
            )
            .await;
        if let Err(error) = audited {
            if let Err(e) = std::fs::rename(&aside, &path) {
                tracing::error!(path = %path.display(), error = %e,
                    "a trust anchor whose removal was not audited could not be put back");
            }
            return Err(error.into());
        }
        std::fs::remove_file(&aside).map_err(|source| io_error(&aside, source))?;
        self.reload_trust();
        Ok(entry.unwrap_or_else(|| AnchorEntry {
            subject: record.subject,
            fingerprint: *fingerprint,
            not_before: record.not_after,
            not_after: record.not_after,
            self_issued: false,
            folder: path.parent().map(Path::to_owned).unwrap_or_default(),
            managed: true,
        }))
    }
}

/// The certificates of an upload, each checked (module documentation).
fn read_candidates(upload: &[u8]) -> Result<Vec<Candidate>> {
    let invalid = |reason: String| Error::from(TrustAdminError::CertificateInvalid { reason });
    let ders = certificate_ders(upload).map_err(invalid)?;
    if ders.len() > MAX_CERTIFICATES {
        return Err(invalid(format!(
            "more than {MAX_CERTIFICATES} certificates in one upload"
        )));
    }
    let mut candidates: Vec<Candidate> = Vec::new();
    for der in ders {
        let candidate = candidate(der)?;
        if !candidates
            .iter()
            .any(|c| c.fingerprint == candidate.fingerprint)
        {
            candidates.push(candidate);
        }
    }
    Ok(candidates)
}

/// The DER certificates in `bytes`: every `CERTIFICATE` block of PEM text, or the whole of
/// it as DER.
fn certificate_ders(bytes: &[u8]) -> std::result::Result<Vec<Vec<u8>>, String> {
    let text_start = bytes.trim_ascii_start();
    if text_start.is_empty() {
        return Err("the upload is empty".to_owned());
    }
    if !bytes.windows(10).any(|w| w == b"-----BEGIN") {
        return Ok(vec![bytes.to_vec()]);
    }
    let mut ders = Vec::new();
    for pem in x509_parser::pem::Pem::iter_from_buffer(bytes) {
        let pem = pem.map_err(|e| format!("bad PEM: {e}"))?;
        if pem.label == "CERTIFICATE" {
            ders.push(pem.contents);
        }
    }
    if ders.is_empty() {
        return Err("PEM text without a CERTIFICATE block".to_owned());
    }
    Ok(ders)
}

fn candidate(der: Vec<u8>) -> Result<Candidate> {
    let invalid = |reason: String| Error::from(TrustAdminError::CertificateInvalid { reason });
    let (subject, not_after) = {
        let (rest, cert) = X509Certificate::from_der(&der)
            .map_err(|e| invalid(format!("not an X.509 certificate: {e}")))?;
        if !rest.is_empty() {
            return Err(invalid("trailing bytes after the certificate".to_owned()));
        }
        let subject = cert.subject().to_string();
        let is_ca = cert
            .basic_constraints()
            .map_err(|e| invalid(format!("unreadable basicConstraints: {e}")))?
            .is_some_and(|ext| ext.value.ca);
        let signs_certificates = cert
            .key_usage()
            .map_err(|e| invalid(format!("unreadable keyUsage: {e}")))?
            .is_none_or(|ext| ext.value.key_cert_sign());
        if !is_ca || !signs_certificates {
            return Err(TrustAdminError::NotCa { subject }.into());
        }
        (subject, cert.validity().not_after.to_datetime())
    };
    // The trust store parses anchors with OpenSSL too: refuse here what it would refuse at
    // load time (a file it cannot read would stop every verification).
    let pem = openssl::x509::X509::from_der(&der)
        .and_then(|cert| cert.to_pem())
        .map_err(|e| invalid(format!("OpenSSL cannot read the certificate: {e}")))?;
    Ok(Candidate {
        fingerprint: Sha256Digest::of(&der),
        pem,
        subject,
        not_after,
    })
}

/// Writes each candidate as `<dir>/<sha256>.pem` (module documentation); returns the files
/// written. One already there (a concurrent addition) is skipped. On a failure the files
/// written so far are removed.
fn write_candidates(dir: &Path, candidates: Vec<Candidate>) -> Result<Vec<(PathBuf, Candidate)>> {
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    std::fs::create_dir_all(dir).map_err(|source| io_error(dir, source))?;
    let mut written: Vec<(PathBuf, Candidate)> = Vec::new();
    for candidate in candidates {
        let path = dir.join(format!("{}.pem", candidate.fingerprint.to_hex()));
        match write_new(dir, &path, &candidate.pem) {
            Ok(true) => written.push((path, candidate)),
            Ok(false) => {}
            Err(error) => {
                for (path, _) in &written {
                    let _ = std::fs::remove_file(path);
                }
                return Err(error);
            }
        }
    }
    if let Ok(folder) = std::fs::File::open(dir) {
        let _ = folder.sync_all();
    }
    Ok(written)
}

/// Writes `bytes` to `path` through a synced temporary file; `false` when `path` exists.
fn write_new(dir: &Path, path: &Path, bytes: &[u8]) -> Result<bool> {
    // A dot-name without extension: the loader skips it while it is being written.
    let mut temp = tempfile::Builder::new()
        .prefix(".trust-")
        .tempfile_in(dir)
        .map_err(|source| io_error(dir, source))?;
    temp.write_all(bytes)
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|source| io_error(temp.path(), source))?;
    match temp.persist_noclobber(path) {
        Ok(_) => Ok(true),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(io_error(path, e.error)),
    }
}

/// The audit facts of a managed anchor file.
fn read_pem_record(path: &Path, fingerprint: &Sha256Digest) -> Result<TrustChangeRecord> {
    let bytes = std::fs::read(path).map_err(|source| io_error(path, source))?;
    let der = certificate_ders(&bytes).ok().and_then(|ders| {
        ders.into_iter()
            .find(|d| Sha256Digest::of(d) == *fingerprint)
    });
    let parsed = der.as_deref().and_then(|der| {
        X509Certificate::from_der(der).ok().map(|(_, cert)| {
            (
                cert.subject().to_string(),
                cert.validity().not_after.to_datetime(),
            )
        })
    });
    // A file named by a fingerprint it does not hold was not written by the service.
    let (subject, not_after) = parsed.ok_or_else(|| TrustAdminError::ReadOnly {
        folder: path.parent().map(Path::to_owned).unwrap_or_default(),
    })?;
    Ok(TrustChangeRecord {
        fingerprint: *fingerprint,
        subject,
        not_after,
    })
}

fn io_error(path: &Path, source: std::io::Error) -> Error {
    TrustAdminError::Io {
        path: path.to_owned(),
        source,
    }
    .into()
}

/// Failures of trust-anchor administration.
#[derive(Debug, thiserror::Error)]
pub enum TrustAdminError {
    #[error("not a certificate the trust store can use: {reason}")]
    CertificateInvalid { reason: String },
    #[error("cannot write the managed trust folder {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{subject} is not a CA certificate (basicConstraints CA:TRUE with keyCertSign)")]
    NotCa { subject: String },
    #[error("this service has no managed trust folder")]
    NotManaged,
    #[error("no trust anchor with SHA-256 {fingerprint}")]
    NotFound { fingerprint: Sha256Digest },
    #[error(
        "the anchor comes from {}, which the service only reads; remove it from that folder on the server",
        folder.display()
    )]
    ReadOnly { folder: PathBuf },
}

impl Coded for TrustAdminError {
    fn code(&self) -> &'static str {
        match self {
            TrustAdminError::CertificateInvalid { .. } => "trust-certificate-invalid",
            TrustAdminError::Io { .. } => "trust-folder-io",
            TrustAdminError::NotCa { .. } => "trust-certificate-not-ca",
            TrustAdminError::NotManaged => "trust-folder-not-managed",
            TrustAdminError::NotFound { .. } => "trust-anchor-not-found",
            TrustAdminError::ReadOnly { .. } => "trust-anchor-read-only",
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            TrustAdminError::CertificateInvalid { .. } | TrustAdminError::NotCa { .. } => {
                ErrorClass::InvalidInput
            }
            TrustAdminError::Io { .. } => ErrorClass::Internal,
            TrustAdminError::NotManaged | TrustAdminError::ReadOnly { .. } => ErrorClass::Conflict,
            TrustAdminError::NotFound { .. } => ErrorClass::NotFound,
        }
    }

    fn message_vi(&self) -> String {
        match self {
            TrustAdminError::CertificateInvalid { .. } => {
                "Tệp tải lên không phải chứng thư số X.509 hợp lệ (cần PEM hoặc DER).".to_owned()
            }
            TrustAdminError::Io { .. } => {
                "Lỗi nội bộ khi ghi thư mục chứng thư tin cậy.".to_owned()
            }
            TrustAdminError::NotCa { subject } => format!(
                "Chứng thư {subject} không phải chứng thư của tổ chức cung cấp dịch vụ chứng thực (CA); \
                 chỉ thêm được chứng thư gốc hoặc CA trung gian."
            ),
            TrustAdminError::NotManaged => {
                "Máy chủ này không có thư mục chứng thư tin cậy do quản trị viên quản lý."
                    .to_owned()
            }
            TrustAdminError::NotFound { fingerprint } => {
                format!("Không có chứng thư tin cậy nào có dấu vân tay SHA-256 {fingerprint}.")
            }
            TrustAdminError::ReadOnly { folder } => format!(
                "Chứng thư này nằm trong thư mục cấu hình {} (chỉ đọc); muốn bỏ phải xóa tệp trên máy chủ.",
                folder.display()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pki(name: &str) -> Vec<u8> {
        std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("certs/test-pki")
                .join(name),
        )
        .unwrap()
    }

    #[test]
    fn ca_certificates_are_read_from_pem_bundles_and_der() {
        let root = pki("root.crt");
        let inter = pki("inter.crt");
        let bundle = [root.clone(), inter].concat();
        let found = read_candidates(&bundle).unwrap();
        assert_eq!(found.len(), 2);
        assert!(found[0].subject.contains("hoso TEST Root CA"));
        let der = openssl::x509::X509::from_pem(&root)
            .unwrap()
            .to_der()
            .unwrap();
        let from_der = read_candidates(&der).unwrap();
        assert_eq!(from_der[0].fingerprint, found[0].fingerprint);
        assert_eq!(from_der[0].fingerprint, Sha256Digest::of(&der));
        // The same certificate twice counts once.
        assert_eq!(
            read_candidates(&[root.clone(), root].concat())
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn leaf_certificates_and_garbage_are_refused() {
        for leaf in ["official.crt", "self-signed.crt"] {
            let e = read_candidates(&pki(leaf)).err().unwrap();
            assert_eq!(e.code(), "trust-certificate-not-ca", "{leaf}");
            assert_eq!(e.class(), ErrorClass::InvalidInput);
        }
        for garbage in [
            &b""[..],
            b"   \n",
            b"hello",
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        ] {
            let e = read_candidates(garbage).err().unwrap();
            assert_eq!(e.code(), "trust-certificate-invalid", "{garbage:?}");
        }
        // A CA certificate followed by a leaf: nothing is accepted.
        let mixed = [pki("root.crt"), pki("official.crt")].concat();
        assert_eq!(
            read_candidates(&mixed).err().unwrap().code(),
            "trust-certificate-not-ca"
        );
    }

    #[test]
    fn files_are_written_once_and_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let written =
            write_candidates(dir.path(), read_candidates(&pki("root.crt")).unwrap()).unwrap();
        assert_eq!(written.len(), 1);
        let (path, candidate) = &written[0];
        assert_eq!(
            path.file_name().unwrap().to_str().unwrap(),
            format!("{}.pem", candidate.fingerprint.to_hex())
        );
        let again =
            write_candidates(dir.path(), read_candidates(&pki("root.crt")).unwrap()).unwrap();
        assert!(again.is_empty());
        // Only the certificate file is left: no temporary files.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let store = crate::trust::TrustStore::load(&[dir.path().to_owned()]).unwrap();
        assert_eq!(store.anchors()[0].fingerprint, candidate.fingerprint);
    }
}
