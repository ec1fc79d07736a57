//! Signing archived documents: one key, many documents (an official signing a queue of
//! results), each signature stored as the document's next version. `hoso sign --document`
//! and the API both come here.
//!
//! 1. Every target is checked before anything is signed: the document exists, its newest
//!    version is a PDF and is the version the caller saw (`expected_version`), and its
//!    content is copied out and checked against its digest. A target that fails here gets
//!    its error; the others go on.
//! 2. On one blocking thread: a [`SigningSession`] is made once for the key (certificate
//!    checks, path to a trust anchor, revocation when asked), then each document gets its
//!    visible signature planned (`pades::layout`) and is signed into a new file. The
//!    archived bytes are never touched.
//! 3. Each signed file is stored as the next version (`signed`, parent: the checked version,
//!    so a version added meanwhile is a `version-conflict`), then verified again from the
//!    archive's copy with the report stored (a check that cannot run now leaves the signature
//!    stored, with no indication).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use time::OffsetDateTime;

use super::Pipeline;
use crate::archive::ArchiveError;
use crate::archive::documents::{NewVersion, Version, VersionKind};
use crate::error::{Coded, Error, Result};
use crate::pades::document::SignatureInfo;
use crate::pades::key::{DigestAlgorithm, KeySigner};
use crate::pades::layout::{self, AppearanceRequest, RequestKind};
use crate::pades::revocation::ValidationData;
use crate::pades::sign::{DocumentOptions, Level, SignOptions, SignOutcome, SigningSession};

/// How to sign: what the official chose, and the settings of the office.
#[derive(Debug, Clone)]
pub struct SignSettings {
    pub level: Level,
    /// RFC 3161 timestamp authority (needed from B-T up).
    pub tsa_url: Option<String>,
    /// `/Reason` and `/Location` of the signature.
    pub reason: Option<String>,
    pub location: Option<String>,
    pub appearance: AppearanceSettings,
    /// No AIA, OCSP or CRL fetching (signing and the verification after it).
    pub offline: bool,
    /// `/ContactInfo`.
    pub contact: Option<String>,
    pub digest: DigestAlgorithm,
    /// RSASSA-PSS instead of PKCS#1 v1.5 for RSA keys.
    pub pss: bool,
    /// Certification signature (DocMDP P = 1, 2 or 3).
    pub certify: Option<u8>,
    /// Name of an existing empty field to sign, or of the field to create.
    pub field: Option<String>,
    /// Sign even when the certificate has no path to a trust anchor (tests, demos).
    pub allow_untrusted: bool,
    /// Ask OCSP/CRL before signing at B-B/B-T too (B-LT and B-LTA always do).
    pub check_revocation: bool,
    /// Issuing CA certificates (DER) to embed when the key comes without them.
    pub extra_certificates: Vec<Vec<u8>>,
    /// OCSP responses and CRLs from files, used before (or, offline, instead of) fetching.
    pub supplied: ValidationData,
}

impl Default for SignSettings {
    /// B-B, SHA-256, invisible, nothing else.
    fn default() -> Self {
        SignSettings {
            level: Level::BB,
            tsa_url: None,
            reason: None,
            location: None,
            appearance: AppearanceSettings::default(),
            offline: false,
            contact: None,
            digest: DigestAlgorithm::Sha256,
            pss: false,
            certify: None,
            field: None,
            allow_untrusted: false,
            check_revocation: false,
            extra_certificates: Vec::new(),
            supplied: ValidationData::default(),
        }
    }
}

/// The visible signature (Decree 30/2020 Appendix I), as `pades::layout` takes it but with the
/// image as bytes (an upload, or the key's stored signature image).
#[derive(Debug, Clone)]
pub struct AppearanceSettings {
    pub kind: RequestKind,
    /// The official's signature image (blue PNG) or the seal (red PNG).
    pub image_png: Option<Vec<u8>>,
    /// 0-based page; `None`: the anchor's page, else the layout's default.
    pub page: Option<usize>,
    /// Text under which the official's signature goes, e.g. "CHỦ TỊCH".
    pub anchor: Option<String>,
    /// Rectangle in PDF points from the bottom left: x1, y1, x2, y2.
    pub rect: Option<[f64; 4]>,
    /// Organization name on stamps [default: O= of the certificate].
    pub organization: Option<String>,
    /// A QR code with `BASE/verify/SHA256` on stamps.
    pub qr_base_url: Option<String>,
    /// Real diameter of the seal in millimetres.
    pub seal_diameter_mm: f64,
    /// Pattern of the signing time on stamps (dd, MM, yyyy, HH, mm, ss).
    pub time_format: String,
}

impl Default for AppearanceSettings {
    /// Invisible; a 36 mm seal and `dd/MM/yyyy HH:mm:ss +07:00` when one is asked for.
    fn default() -> Self {
        AppearanceSettings {
            kind: RequestKind::None,
            image_png: None,
            page: None,
            anchor: None,
            rect: None,
            organization: None,
            qr_base_url: None,
            seal_diameter_mm: 36.0,
            time_format: "dd/MM/yyyy HH:mm:ss +07:00".to_owned(),
        }
    }
}

impl AppearanceSettings {
    /// The layout request, with the image at `image` (written there by the caller).
    fn request(&self, image: Option<PathBuf>) -> AppearanceRequest {
        AppearanceRequest {
            kind: self.kind.clone(),
            image,
            // Past any document's end all the same, but the layout's 1-based page number
            // in its `page-out-of-range` error cannot overflow (a client may send any
            // number).
            page: self.page.map(|page| page.min(usize::MAX - 1)),
            rect: self.rect,
            anchor: self.anchor.clone(),
            seal_diameter_mm: self.seal_diameter_mm,
            organization: self.organization.clone(),
            time_format: self.time_format.clone(),
            qr_base_url: self.qr_base_url.clone(),
        }
    }
}

/// One document to sign.
#[derive(Debug, Clone, Copy)]
pub struct SignTarget {
    pub document_id: i64,
    /// The version the signer saw: refused with `version-conflict` if the newest is another.
    pub expected_version: Option<i64>,
}

/// A document signed and stored.
#[derive(Debug, Clone, Serialize)]
pub struct SignedVersionOutcome {
    pub document_id: i64,
    pub version: i64,
    pub version_id: i64,
    pub sha256: String,
    /// The signer certificate's subject.
    pub signer: String,
    /// PAdES level, e.g. `B-T`.
    pub level: String,
    /// The verification of the stored result (`TOTAL-PASSED` …), `None` when it could not
    /// run (it is retried with `hoso document verify`).
    pub indication: Option<String>,
    /// What the signing did (field, times, container size).
    pub signature: SignOutcome,
}

/// Where a visible signature would go, for the official's preview.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Placement {
    /// 0-based page.
    pub page: usize,
    /// `[x0, y0, x1, y1]` in points from the bottom left of the page as displayed (its crop
    /// box turned by `/Rotate`: what viewers and `render_page` show); for an unrotated page
    /// whose box starts at the origin, the PDF's own coordinates.
    pub rect: [f64; 4],
    /// The displayed page's size in points.
    pub page_width: f64,
    pub page_height: f64,
}

/// A target that passed the checks, with its private copy.
struct Staged {
    version: Version,
    file: tempfile::NamedTempFile,
}

fn not_a_pdf(version: &Version) -> Error {
    Error::Archive(ArchiveError::FieldInvalid {
        field: "document",
        value: version.document_id.to_string(),
        reason: format!(
            "version {} is {}, not a PDF (OCR it first: hoso ingest --ocr)",
            version.version, version.media_type
        ),
    })
}

/// The image the layout reads, written into `dir` (layout takes a path).
fn write_image(dir: &Path, png: Option<&[u8]>) -> Result<Option<PathBuf>> {
    let Some(png) = png else { return Ok(None) };
    let path = dir.join("appearance.png");
    std::fs::write(&path, png).map_err(|e| super::ingest::io_failed(&path, &e))?;
    Ok(Some(path))
}

fn indication_name(report: &crate::verify::Report) -> Option<String> {
    serde_json::to_value(report.indication)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
}

impl Pipeline {
    /// The newest version of `target`'s document if it may be signed (module documentation,
    /// step 1). Cheap: callers check before asking for a PIN.
    ///
    /// # Errors
    /// `document-not-found`; `version-conflict` when the newest is not `expected_version`;
    /// `field-invalid` when it is not a PDF.
    pub async fn signable_version(&self, target: &SignTarget) -> Result<Version> {
        let record = self.archive.document(target.document_id).await?;
        let latest = record.latest().cloned().ok_or_else(|| {
            Error::Task(format!("document {} has no version", target.document_id))
        })?;
        if let Some(expected) = target.expected_version
            && expected != latest.version
        {
            return Err(Error::Archive(ArchiveError::VersionConflict {
                document_id: target.document_id,
                expected,
                latest: latest.version,
            }));
        }
        if latest.media_type != "application/pdf" {
            return Err(not_a_pdf(&latest));
        }
        Ok(latest)
    }

    /// Signs the newest version of each target with `signer` and stores each result as the
    /// document's next version, verified (module documentation). One `Result` per target, in
    /// order; one failure does not stop the others. The key only needs to be `Send` (a
    /// PKCS#11 session may move to the signing thread but is not shared).
    ///
    /// # Errors
    /// The whole batch fails, nothing signed, when the key cannot sign at `now` (certificate
    /// expired, revoked, without a path to a trust anchor, no TSA for B-T) or the trust
    /// store cannot be loaded.
    pub async fn sign_versions(
        self: &Arc<Self>,
        signer: Box<dyn KeySigner + Send>,
        targets: &[SignTarget],
        settings: &SignSettings,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<Result<SignedVersionOutcome>>> {
        let work = tempfile::Builder::new()
            .prefix(".hoso-sign-")
            .tempdir()
            .map_err(|e| super::ingest::io_failed(Path::new("."), &e))?;
        let mut staged: Vec<Result<Staged>> = Vec::with_capacity(targets.len());
        for target in targets {
            let checked = match self.signable_version(target).await {
                Ok(version) => self
                    .stage_version(&version, actor, now)
                    .await
                    .map(|file| Staged { version, file }),
                Err(e) => Err(e),
            };
            staged.push(checked);
        }
        if staged.iter().all(Result::is_err) {
            // Nothing to sign: the key is not even opened for a session.
            return Ok(staged
                .into_iter()
                .filter_map(Result::err)
                .map(Err)
                .collect());
        }
        let trust = self.trust()?;
        let image = write_image(work.path(), settings.appearance.image_png.as_deref())?;
        let inputs: Vec<Option<PathBuf>> = staged
            .iter()
            .map(|s| s.as_ref().ok().map(|s| s.file.path().to_owned()))
            .collect();
        let settings_for_work = settings.clone();
        let out_dir = work.path().to_owned();
        // One blocking call for the whole batch: the session (path validation, revocation)
        // is made once, and a PKCS#11 session never crosses threads mid-batch.
        let signed = self
            .run_blocking(move || {
                sign_batch(
                    signer.as_ref(),
                    &trust,
                    &inputs,
                    &settings_for_work,
                    image,
                    &out_dir,
                    now,
                )
            })
            .await?;
        let mut outcomes = Vec::with_capacity(targets.len());
        for (checked, signed) in staged.into_iter().zip(signed) {
            let outcome = match (checked, signed) {
                (Err(e), _) => Err(e),
                (Ok(_), None) => Err(Error::Task("a checked document was not signed".into())),
                (Ok(_), Some(Err(e))) => Err(e),
                (Ok(checked), Some(Ok((path, signature)))) => {
                    let stored = self
                        .store_signed(&checked.version, &path, signature, settings, actor, now)
                        .await;
                    drop(checked.file);
                    stored
                }
            };
            outcomes.push(outcome);
        }
        drop(work);
        Ok(outcomes)
    }

    /// Stores the signed file at `path` as the version after `parent` and verifies it again
    /// (module documentation, step 3).
    async fn store_signed(
        self: &Arc<Self>,
        parent: &Version,
        path: &Path,
        signature: SignOutcome,
        settings: &SignSettings,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<SignedVersionOutcome> {
        let mut file = tokio::fs::File::open(path)
            .await
            .map_err(|e| super::ingest::io_failed(path, &e))?;
        let blob = self.store(&mut file, "application/pdf", now).await?;
        drop(file);
        let sha256 = blob
            .sha256
            .parse()
            .map_err(|_| Error::Task(format!("stored digest {} is not hex", blob.sha256)))?;
        let stored = self
            .archive
            .add_version(
                &NewVersion {
                    document_id: parent.document_id,
                    parent_version: parent.version,
                    kind: VersionKind::Signed,
                    sha256,
                    file_name: None,
                    metadata: None,
                    ocr: None,
                    actor: actor.to_owned(),
                    reason: "ký số (signed)".to_owned(),
                },
                now,
            )
            .await?;
        let version = self
            .archive
            .document(parent.document_id)
            .await?
            .versions
            .into_iter()
            .find(|v| v.version_id == stored.version_id)
            .ok_or_else(|| Error::Task("the new version vanished".to_owned()))?;
        // The signature is stored whatever the check says; a check that cannot run now
        // (network) is retried later.
        let indication = match self.reverify(&version, settings.offline, actor, now).await {
            Ok(report) => indication_name(&report),
            Err(e) => {
                tracing::warn!(
                    document = parent.document_id,
                    code = e.code(),
                    "the signed version could not be verified: {e}"
                );
                None
            }
        };
        Ok(SignedVersionOutcome {
            document_id: stored.document_id,
            version: stored.version,
            version_id: stored.version_id,
            sha256: stored.sha256,
            signer: signature.signer.clone(),
            level: signature.level.to_owned(),
            indication,
            signature,
        })
    }

    /// Where the visible signature described by `settings` would go on the newest version of
    /// `document_id` for the certificate `certificate_der` at `now`; `None` for an invisible
    /// signature.
    ///
    /// # Errors
    /// `document-not-found`; `field-invalid` when the newest version is not a PDF; the
    /// layout's errors (anchor not found, no official signature to seal, page out of range,
    /// unusable image); the content missing or damaged.
    pub async fn signature_placement(
        self: &Arc<Self>,
        document_id: i64,
        settings: &AppearanceSettings,
        certificate_der: &[u8],
        now: OffsetDateTime,
    ) -> Result<Option<Placement>> {
        if matches!(settings.kind, RequestKind::None) {
            return Ok(None);
        }
        let target = SignTarget {
            document_id,
            expected_version: None,
        };
        let version = self.signable_version(&target).await?;
        let staged = self.stage(&version).await?;
        let work = tempfile::Builder::new()
            .prefix(".hoso-place-")
            .tempdir()
            .map_err(|e| super::ingest::io_failed(Path::new("."), &e))?;
        let image = write_image(work.path(), settings.image_png.as_deref())?;
        let request = settings.request(image);
        let input = staged.path().to_owned();
        let certificate = certificate_der.to_vec();
        let placement = self
            .run_blocking(move || placement(&input, &request, &certificate, now))
            .await?;
        drop((staged, work));
        Ok(placement)
    }
}

/// A signed file and what the signing did, or the document's error.
type SignedFile = Result<(PathBuf, SignOutcome)>;

/// Signs every checked input (`None`: failed its checks) with one session; the signed file
/// and what was done, or the document's error, per input. Synchronous (a blocking thread).
fn sign_batch(
    signer: &dyn KeySigner,
    trust: &crate::trust::TrustStore,
    inputs: &[Option<PathBuf>],
    settings: &SignSettings,
    image: Option<PathBuf>,
    out_dir: &Path,
    now: OffsetDateTime,
) -> Result<Vec<Option<SignedFile>>> {
    let options = SignOptions {
        level: settings.level,
        digest: settings.digest,
        pss: settings.pss,
        tsa_url: settings.tsa_url.clone(),
        info: SignatureInfo::default(),
        field: None,
        visible: None,
        allow_untrusted: settings.allow_untrusted,
        check_revocation: settings.check_revocation,
        offline: settings.offline,
        extra_certificates: settings.extra_certificates.clone(),
        supplied: settings.supplied.clone(),
    };
    let session = SigningSession::new(signer, trust, &options, now)?;
    let request = settings.appearance.request(image);
    let info = SignatureInfo {
        name: None,
        reason: settings.reason.clone(),
        location: settings.location.clone(),
        contact: settings.contact.clone(),
        certify: settings.certify,
    };
    let mut results = Vec::with_capacity(inputs.len());
    for (index, input) in inputs.iter().enumerate() {
        let Some(input) = input else {
            results.push(None);
            continue;
        };
        let output = out_dir.join(format!("signed-{index}.pdf"));
        let signed = layout::plan(input, &request, signer.certificate(), now)
            .and_then(|visible| {
                let document = DocumentOptions {
                    info: info.clone(),
                    field: settings.field.clone(),
                    visible,
                };
                session.sign_file(input, &output, &document, now)
            })
            .map(|outcome| (output, outcome))
            .map_err(Error::from);
        results.push(Some(signed));
    }
    Ok(results)
}

/// The visible signature's place on the document at `input` (synchronous).
fn placement(
    input: &Path,
    request: &AppearanceRequest,
    certificate: &[u8],
    now: OffsetDateTime,
) -> Result<Option<Placement>> {
    use crate::pades::{appearance, document};
    let Some(visible) = layout::plan(input, request, certificate, now)? else {
        return Ok(None);
    };
    let revision = crate::pdf::incremental::PdfRevision::open(input)?;
    let page_id = document::page_id(&revision, visible.page)?;
    let page_box = document::page_box(&revision, page_id);
    let rotation = appearance::page_rotation(&revision.document, page_id);
    let shown = appearance::displayed_box(page_box, rotation);
    Ok(Some(Placement {
        page: visible.page,
        rect: appearance::user_to_displayed(page_box, rotation, visible.rect),
        page_width: shown[2],
        page_height: shown[3],
    }))
}
