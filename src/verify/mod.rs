//! Verify stage (issue #5): the signatures of a PDF checked against the trust store at a
//! validation time, with ETSI EN 319 102-1 indications (TOTAL-PASSED, TOTAL-FAILED,
//! INDETERMINATE) and messages in Vietnamese and English.
//!
//! Per signature, in the order of the building blocks: format (`structure`), the CMS
//! (`signed_data`: message digest over the ByteRange, signature value, signing-certificate
//! binding, algorithms), timestamps (`timestamp`), the certificate path and revocation at the
//! proven signing time (`status`), and what changed after signing (`changes`). Synchronous
//! functions over bytes; network access only through `pades::fetch`, and none when offline;
//! time is passed in.

pub mod certificate;
pub mod changes;
pub mod der_walk;
pub mod messages;
pub mod report;
pub mod signed_data;
pub mod status;
pub mod structure;
pub mod timestamp;

use serde::Serialize;
use time::OffsetDateTime;

use crate::pades::fetch::Fetcher;
use crate::pdf::incremental::PdfRevision;
use crate::trust::TrustStore;
use messages::Message;
use signed_data::HashAlgorithm;
use status::{EvidencePool, PathFailure, Revocation};
use structure::{Coverage, SignatureEntry, SignatureKind};

/// ETSI EN 319 102-1 main indication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Indication {
    #[serde(rename = "TOTAL-PASSED")]
    TotalPassed,
    #[serde(rename = "INDETERMINATE")]
    Indeterminate,
    #[serde(rename = "TOTAL-FAILED")]
    TotalFailed,
}

impl Indication {
    pub fn as_str(self) -> &'static str {
        match self {
            Indication::TotalPassed => "TOTAL-PASSED",
            Indication::Indeterminate => "INDETERMINATE",
            Indication::TotalFailed => "TOTAL-FAILED",
        }
    }
}

/// ETSI EN 319 102-1 sub-indications used by hoso.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SubIndication {
    FormatFailure,
    HashFailure,
    SigCryptoFailure,
    Revoked,
    RevokedNoPoe,
    NoSigningCertificateFound,
    NoCertificateChainFound,
    OutOfBoundsNoPoe,
    ChainConstraintsFailure,
    SigConstraintsFailure,
    CryptoConstraintsFailureNoPoe,
    TryLater,
}

/// How strict the modification and revocation rules are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// Reject by default (pyHanko's model): any change not known to be safe fails.
    Strict,
    /// EU DSS's default policy: the changes DSS only warns on (DocMDP, FieldMDP, undefined
    /// changes, annotation overlap) and missing revocation data become warnings.
    Lenient,
}

/// Everything verification needs besides the file.
pub struct VerifyOptions<'a> {
    pub trust: &'a TrustStore,
    /// The validation time ("now", or `--at`).
    pub at: OffsetDateTime,
    /// No AIA, OCSP or CRL fetching.
    pub offline: bool,
    pub policy: Policy,
    /// Certificates, OCSP responses and CRLs from files.
    pub supplied: EvidencePool,
}

/// The certificate facts a clerk is shown (TT 15/2025 Art. 6(4)(b)).
#[derive(Debug, Clone, Serialize)]
pub struct CertificateInfo {
    pub subject: String,
    pub common_name: Option<String>,
    pub organization: Option<String>,
    pub issuer: String,
    pub serial: String,
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    pub key_usage: Vec<String>,
    pub extended_key_usage: Vec<String>,
    pub key: String,
    pub sha256: String,
}

impl CertificateInfo {
    pub fn from_der(der: &[u8]) -> Option<Self> {
        use x509_parser::prelude::{FromDer, X509Certificate};
        let (_, cert) = X509Certificate::from_der(der).ok()?;
        let first = |it: Option<&x509_parser::x509::AttributeTypeAndValue<'_>>| {
            it.and_then(|a| a.as_str().ok()).map(str::to_owned)
        };
        let mut key_usage = Vec::new();
        if let Ok(Some(ku)) = cert.key_usage() {
            let v = ku.value;
            for (set, name) in [
                (v.digital_signature(), "digitalSignature"),
                (v.non_repudiation(), "nonRepudiation"),
                (v.key_encipherment(), "keyEncipherment"),
                (v.data_encipherment(), "dataEncipherment"),
                (v.key_agreement(), "keyAgreement"),
                (v.key_cert_sign(), "keyCertSign"),
                (v.crl_sign(), "cRLSign"),
            ] {
                if set {
                    key_usage.push(name.to_owned());
                }
            }
        }
        let mut extended_key_usage = Vec::new();
        if let Ok(Some(eku)) = cert.extended_key_usage() {
            let v = &eku.value;
            for (set, name) in [
                (v.any, "any"),
                (v.server_auth, "serverAuth"),
                (v.client_auth, "clientAuth"),
                (v.code_signing, "codeSigning"),
                (v.email_protection, "emailProtection"),
                (v.time_stamping, "timeStamping"),
                (v.ocsp_signing, "OCSPSigning"),
            ] {
                if set {
                    extended_key_usage.push(name.to_owned());
                }
            }
            extended_key_usage.extend(v.other.iter().map(|o| o.to_id_string()));
        }
        let key = match signed_data::key_description(der) {
            Some((openssl::pkey::Id::RSA, bits)) => format!("RSA-{bits}"),
            Some((openssl::pkey::Id::EC, bits)) => format!("ECDSA-{bits}"),
            Some((other, bits)) => format!("{other:?}-{bits}"),
            None => "unknown".to_owned(),
        };
        Some(CertificateInfo {
            subject: cert.subject().to_string(),
            common_name: first(cert.subject().iter_common_name().next()),
            organization: first(cert.subject().iter_organization().next()),
            issuer: cert.issuer().to_string(),
            serial: cert.raw_serial_as_string().replace(':', "").to_uppercase(),
            not_before: cert.validity().not_before.to_datetime(),
            not_after: cert.validity().not_after.to_datetime(),
            key_usage,
            extended_key_usage,
            key,
            sha256: crate::digest::Sha256Digest::of(der).to_hex(),
        })
    }
}

/// Revocation status of one certificate of the path, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct RevocationInfo {
    pub subject: String,
    /// "good", "revoked" or "unknown".
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<status::Source>,
    #[serde(
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub revoked_at: Option<OffsetDateTime>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

/// The verdict on one signature or document timestamp.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureReport {
    pub field: String,
    pub kind: SignatureKind,
    pub sub_filter: String,
    pub indication: Indication,
    pub subindication: Option<SubIndication>,
    pub signer: Option<CertificateInfo>,
    /// Subjects from the signer to the trust anchor.
    pub chain: Vec<String>,
    /// The time the signer claims (`/M`, or the CMS signing-time attribute).
    #[serde(with = "time::serde::rfc3339::option")]
    pub signing_time: Option<OffsetDateTime>,
    /// The time a valid timestamp proves.
    #[serde(with = "time::serde::rfc3339::option")]
    pub timestamp_time: Option<OffsetDateTime>,
    pub timestamp_authority: Option<String>,
    /// PAdES level reached: B-B, B-T, B-LT, B-LTA (PKCS7-… for adbe.pkcs7.detached).
    pub level: Option<String>,
    pub coverage: Coverage,
    /// Bytes covered by the signature (end of the signed revision).
    pub signed_bytes: u64,
    pub digest_algorithm: Option<&'static str>,
    pub signature_algorithm: Option<String>,
    pub certification: Option<u8>,
    pub modifications: Modifications,
    pub revocation: Vec<RevocationInfo>,
    pub reason: Option<String>,
    pub location: Option<String>,
    pub messages: Vec<Message>,
}

/// The verdict on a file.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub file: String,
    pub size: u64,
    pub sha256: String,
    #[serde(with = "time::serde::rfc3339")]
    pub validation_time: OffsetDateTime,
    pub policy: Policy,
    pub indication: Indication,
    pub subindication: Option<SubIndication>,
    pub signatures: Vec<SignatureReport>,
    pub messages: Vec<Message>,
}

impl Report {
    /// Exit code of `hoso verify`: 0 all TOTAL-PASSED, 1 any TOTAL-FAILED, 3 indeterminate or
    /// no signature.
    pub fn exit_code(&self) -> i32 {
        match self.indication {
            Indication::TotalPassed => 0,
            Indication::TotalFailed => 1,
            Indication::Indeterminate => 3,
        }
    }
}

/// Whether a change after signing is acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Allowed {
    Yes,
    /// DSS only warns on it: fails under the strict policy, a warning under the lenient one.
    Warn,
    No,
}

/// One change found after a signature, classified.
#[derive(Debug, Clone, Serialize)]
pub struct Modification {
    /// Index of the revision (0 = the first) that made the change; `None` for findings about
    /// the file as a whole (trailing data, unreadable revisions).
    pub revision: Option<usize>,
    pub object: Option<String>,
    pub code: &'static str,
    pub allowed: Allowed,
    pub detail: String,
    pub detail_vi: String,
}

/// What changed after a signature: the overall level (NONE, LTA_UPDATES, FORM_FILLING,
/// ANNOTATIONS, OTHER, as pyHanko names them) and each change.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Modifications {
    pub level: String,
    pub later_revisions: usize,
    pub changes: Vec<Modification>,
}

/// The modification analysis of everything after `entry`'s signed revision.
fn analyze_changes(history: &changes::History<'_>, entry: &SignatureEntry) -> Modifications {
    let report = history.analyze_signature(entry.signed_end);
    Modifications {
        level: report.level.code().to_owned(),
        later_revisions: report.revisions_after,
        changes: report
            .changes
            .into_iter()
            .map(|change| Modification {
                revision: change.revision,
                object: change
                    .object
                    .map(|(number, generation)| format!("{number} {generation} R")),
                code: change.kind,
                allowed: match change.allowed {
                    changes::Allowed::Yes => Allowed::Yes,
                    changes::Allowed::Warn => Allowed::Warn,
                    changes::Allowed::No => Allowed::No,
                },
                detail: change.detail,
                detail_vi: change.detail_vi,
            })
            .collect(),
    }
}

/// Why a file could not be verified at all (exit code 4).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("cannot read {path}: {source}")]
    Unreadable {
        path: String,
        source: std::io::Error,
    },
    #[error("not a readable PDF: {0}")]
    NotPdf(#[from] crate::pdf::PdfError),
}

impl crate::error::Coded for VerifyError {
    fn code(&self) -> &'static str {
        match self {
            VerifyError::Unreadable { .. } => "verify-file-unreadable",
            VerifyError::NotPdf(crate::pdf::PdfError::Encrypted) => "verify-pdf-encrypted",
            VerifyError::NotPdf(_) => "verify-pdf-unreadable",
        }
    }

    fn class(&self) -> crate::error::ErrorClass {
        crate::error::ErrorClass::InvalidInput
    }

    fn message_vi(&self) -> String {
        match self {
            VerifyError::Unreadable { path, .. } => format!("Không đọc được tệp {path}."),
            VerifyError::NotPdf(crate::pdf::PdfError::Encrypted) => {
                "Tệp PDF được mã hóa: không kiểm tra được chữ ký.".to_owned()
            }
            VerifyError::NotPdf(_) => {
                "Tệp không phải PDF đọc được (hỏng hoặc sai định dạng).".to_owned()
            }
        }
    }
}

/// One finding that may decide the indication.
struct Finding {
    indication: Indication,
    subindication: SubIndication,
}

/// Verifies every signature and document timestamp of the PDF in `file`.
///
/// # Errors
/// [`VerifyError`] when the file is not a PDF that can be read.
pub fn verify_pdf(
    file: &[u8],
    name: &str,
    options: &VerifyOptions<'_>,
) -> Result<Report, VerifyError> {
    // The file's own SHA-256 (for the report and the archive) is a second full pass over a
    // possibly large file: on another core, while the signatures are checked.
    const HASH_APART_FROM: usize = 4 * 1024 * 1024;
    if file.len() < HASH_APART_FROM {
        return verify_revisions(
            file,
            name,
            options,
            crate::digest::Sha256Digest::of(file).to_hex(),
        );
    }
    std::thread::scope(|scope| {
        let hashing = scope.spawn(|| crate::digest::Sha256Digest::of(file).to_hex());
        let checked = verify_revisions(file, name, options, String::new());
        checked.map(|mut report| {
            report.sha256 = hashing
                .join()
                .unwrap_or_else(|_| crate::digest::Sha256Digest::of(file).to_hex());
            report
        })
    })
}

fn verify_revisions(
    file: &[u8],
    name: &str,
    options: &VerifyOptions<'_>,
    sha256: String,
) -> Result<Report, VerifyError> {
    let revision = PdfRevision::from_bytes(file)?;
    let (entries, unchecked) = structure::signatures(&revision, file);
    let history = changes::History::read(file);
    let fetcher = (!options.offline).then(Fetcher::default);
    let dss = dss_pool(&revision, file);

    let context = FileContext {
        file,
        history: Some(&history),
        dss: &dss,
        fetcher: fetcher.as_ref(),
        options,
    };
    let mut reports: Vec<Option<SignatureReport>> = vec![None; entries.len()];
    // Document timestamps first, newest first: each valid one is proof of existence (POE)
    // for everything it covers, including older timestamps.
    let mut proofs: Vec<(u64, OffsetDateTime)> = Vec::new();
    for (index, entry) in entries.iter().enumerate().rev() {
        if entry.kind != SignatureKind::DocumentTimestamp {
            continue;
        }
        let poe = earliest_proof(&proofs, entry.signed_end);
        let report = check_document_timestamp(&context, entry, poe);
        if report.indication == Indication::TotalPassed
            && let Some(time) = report.timestamp_time
        {
            proofs.push((entry.signed_end, time));
        }
        reports[index] = Some(report);
    }
    for (index, entry) in entries.iter().enumerate() {
        if entry.kind == SignatureKind::Signature {
            let poe = earliest_proof(&proofs, entry.signed_end);
            let covered_by_later_timestamp = proofs.iter().any(|(end, _)| *end > entry.signed_end);
            reports[index] = Some(check_signature(
                &context,
                entry,
                poe,
                covered_by_later_timestamp,
            ));
        }
    }
    let signatures: Vec<SignatureReport> = reports.into_iter().flatten().collect();
    let mut messages = Vec::new();
    let (mut indication, mut subindication) = if signatures.is_empty() {
        messages.push(Message::warning("no-signature", None));
        (Indication::Indeterminate, None)
    } else {
        signatures
            .iter()
            .max_by_key(|s| s.indication)
            .map(|s| (s.indication, s.subindication))
            .unwrap_or((Indication::Indeterminate, None))
    };
    if unchecked > 0 {
        // The file cannot pass on the signatures that were not checked.
        messages.push(Message::error(
            "too-many-signatures",
            format!(
                "{unchecked} signatures after the first {} were not checked",
                structure::MAX_SIGNATURES
            ),
        ));
        if indication == Indication::TotalPassed {
            (indication, subindication) = (Indication::Indeterminate, None);
        }
    }
    Ok(Report {
        file: name.to_owned(),
        size: file.len() as u64,
        sha256,
        validation_time: options.at,
        policy: options.policy,
        indication,
        subindication,
        signatures,
        messages,
    })
}

/// Maps a file to verify read-only, so a 300 MB scan is hashed and parsed without being
/// copied into memory.
///
/// # Errors
/// The operating system's error when the file cannot be mapped.
#[allow(unsafe_code)]
pub fn map_file(file: &std::fs::File) -> std::io::Result<memmap2::Mmap> {
    // SAFETY: the mapping is read-only and hoso never writes to a file it verifies. A file
    // truncated by another process while it is read would fault; verification cannot defend
    // against a file changing under it in any case, and the archive only verifies its own
    // immutable blobs.
    unsafe { memmap2::Mmap::map(file) }
}

/// Sub-filter name given to a detached CMS signature over a whole file (not a PDF field).
const DETACHED_CMS: &str = "detached-cms";

/// Largest detached signature read: a CMS with its chain and revocation data is tens of
/// kilobytes, a few megabytes with large CRLs.
pub const MAX_DETACHED_SIGNATURE: usize = 64 * 1024 * 1024;

/// Verifies a detached CMS signature (`.p7s`, DER or PEM) over `data` (any file).
pub fn verify_detached(
    data: &[u8],
    signature: &[u8],
    name: &str,
    options: &VerifyOptions<'_>,
) -> Report {
    let mut problems = Vec::new();
    let signature = if signature.len() > MAX_DETACHED_SIGNATURE {
        problems.push(structure::FormatProblem {
            code: "signature-too-large",
            detail: format!(
                "the signature file has {} bytes, more than the {} MB a CMS signature needs",
                signature.len(),
                MAX_DETACHED_SIGNATURE >> 20
            ),
        });
        &[][..]
    } else {
        signature
    };
    let der = if signature.starts_with(b"-----BEGIN") {
        openssl::pkcs7::Pkcs7::from_pem(signature)
            .and_then(|p| p.to_der())
            .unwrap_or_default()
    } else {
        signature.to_vec()
    };
    // BER (indefinite lengths: what `openssl cms -sign` writes by default) as DER, as for
    // a PDF's /Contents.
    let contents = structure::to_der(
        &der_walk::element_len(&der).map_or(der.clone(), |len| der[..len].to_vec()),
    );
    let entry = SignatureEntry {
        field: name.to_owned(),
        dictionary: (0, 0),
        kind: SignatureKind::Signature,
        sub_filter: DETACHED_CMS.to_owned(),
        byte_range: Some([0, data.len() as u64, data.len() as u64, 0]),
        contents,
        claimed_time: None,
        reason: None,
        location: None,
        name: None,
        docmdp: None,
        field_lock: None,
        coverage: Coverage::WholeFile,
        signed_end: data.len().max(1) as u64,
        problems,
    };
    let fetcher = (!options.offline).then(Fetcher::default);
    let no_dss = EvidencePool::default();
    let context = FileContext {
        file: data,
        history: None,
        dss: &no_dss,
        fetcher: fetcher.as_ref(),
        options,
    };
    let signature = check_signature(&context, &entry, None, false);
    Report {
        file: name.to_owned(),
        size: data.len() as u64,
        sha256: crate::digest::Sha256Digest::of(data).to_hex(),
        validation_time: options.at,
        policy: options.policy,
        indication: signature.indication,
        subindication: signature.subindication,
        signatures: vec![signature],
        messages: Vec::new(),
    }
}

/// The earliest time a valid document timestamp proves for bytes ending at `end`.
fn earliest_proof(proofs: &[(u64, OffsetDateTime)], end: u64) -> Option<OffsetDateTime> {
    proofs
        .iter()
        .filter(|(covered, _)| *covered >= end)
        .map(|(_, time)| *time)
        .min()
}

/// Most DSS entries (certificates, OCSP responses and CRLs together) read from one file:
/// each is decoded, kept for every signature, and tried against every certificate of every
/// path. Real DSS dictionaries hold tens.
const MAX_DSS_ITEMS: usize = 1_000;
/// Most bytes decoded from the DSS of one file, failed attempts included: a few large CRLs
/// fit; one compressed 16 MB stream listed thousands of times does not (it took an 80 KB
/// file to tens of gigabytes).
const MAX_DSS_BYTES: usize = 128 * 1024 * 1024;
/// Largest single DSS stream decoded.
const MAX_DSS_STREAM: usize = 16 * 1024 * 1024;

/// Certificates, OCSP responses and CRLs of the newest revision's `/DSS` (each stream once,
/// within [`MAX_DSS_ITEMS`] and [`MAX_DSS_BYTES`]).
fn dss_pool(revision: &PdfRevision, file: &[u8]) -> EvidencePool {
    let mut pool = EvidencePool::default();
    let Ok(catalog) = revision.catalog_id().and_then(|id| revision.dictionary(id)) else {
        return pool;
    };
    let Some(dss) = catalog
        .get(b"DSS")
        .ok()
        .and_then(|d| revision.resolve(d).ok())
        .and_then(|d| d.as_dict().ok())
    else {
        return pool;
    };
    let mut seen = std::collections::HashSet::new();
    let mut budget = MAX_DSS_BYTES;
    let mut streams = |key: &[u8]| -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let Some(items) = dss
            .get(key)
            .ok()
            .and_then(|a| revision.resolve(a).ok())
            .and_then(|a| a.as_array().ok())
        else {
            return out;
        };
        for id in items.iter().filter_map(|item| item.as_reference().ok()) {
            if seen.len() >= MAX_DSS_ITEMS || budget == 0 {
                break;
            }
            if !seen.insert(id) {
                continue;
            }
            let limit = budget.min(MAX_DSS_STREAM);
            match stream_data(revision, file, id, limit) {
                Ok(data) => {
                    budget -= data.len().min(budget);
                    out.push(data);
                }
                // A decoding that failed may have produced up to `limit` bytes first.
                Err(decoded) => budget -= decoded.min(budget),
            }
        }
        out
    };
    pool.certificates = streams(b"Certs");
    pool.ocsp = streams(b"OCSPs");
    pool.crls = streams(b"CRLs");
    pool
}

/// The decoded data of a stream object, read from the file at the position the reader
/// recorded (the revision reader never loads stream data itself), at most `limit` bytes.
///
/// # Errors
/// How many bytes the failed attempt may have decoded (0 when nothing was decoded).
fn stream_data(
    revision: &PdfRevision,
    file: &[u8],
    id: lopdf::ObjectId,
    limit: usize,
) -> Result<Vec<u8>, usize> {
    let Ok(lopdf::Object::Stream(stream)) = revision.document.get_object(id) else {
        return Err(0);
    };
    let start = stream.start_position.ok_or(0usize)?;
    let length = stream
        .dict
        .get(b"Length")
        .ok()
        .and_then(|l| revision.resolve(l).ok())
        .and_then(|l| l.as_i64().ok())
        .and_then(|n| usize::try_from(n).ok())
        .filter(|n| *n <= MAX_DSS_STREAM)
        .ok_or(0usize)?;
    let data = start
        .checked_add(length)
        .and_then(|end| file.get(start..end))
        .ok_or(0usize)?;
    if stream.dict.get(b"Filter").is_err() {
        return if data.len() <= limit {
            Ok(data.to_vec())
        } else {
            Err(0)
        };
    }
    let mut copy = lopdf::Stream::new(stream.dict.clone(), data.to_vec());
    copy.allows_compression = false;
    copy.decompressed_content_with_limit(limit)
        .map_err(|_| limit)
}

/// The digest of the ByteRange, streaming over the mapped file.
fn range_digest(file: &[u8], range: [u64; 4], algorithm: HashAlgorithm) -> Option<Vec<u8>> {
    let mut hasher = openssl::hash::Hasher::new(algorithm.message_digest()).ok()?;
    let [a, b, c, d] = range.map(|v| v as usize);
    for chunk in [
        file.get(a..a.checked_add(b)?)?,
        file.get(c..c.checked_add(d)?)?,
    ] {
        for piece in chunk.chunks(1 << 20) {
            hasher.update(piece).ok()?;
        }
    }
    hasher.finish().ok().map(|d| d.to_vec())
}

/// Collects findings and messages for one signature and turns them into the verdict.
struct Verdict {
    findings: Vec<Finding>,
    messages: Vec<Message>,
}

impl Verdict {
    fn new() -> Self {
        Verdict {
            findings: Vec::new(),
            messages: Vec::new(),
        }
    }

    fn fail(&mut self, subindication: SubIndication, message: Message) {
        self.findings.push(Finding {
            indication: Indication::TotalFailed,
            subindication,
        });
        self.messages.push(message);
    }

    fn indeterminate(&mut self, subindication: SubIndication, message: Message) {
        self.findings.push(Finding {
            indication: Indication::Indeterminate,
            subindication,
        });
        self.messages.push(message);
    }

    fn note(&mut self, message: Message) {
        self.messages.push(message);
    }

    fn failed(&self) -> bool {
        self.findings
            .iter()
            .any(|f| f.indication == Indication::TotalFailed)
    }

    /// The first TOTAL-FAILED finding, else the first INDETERMINATE one, else passed.
    fn outcome(&self) -> (Indication, Option<SubIndication>) {
        for wanted in [Indication::TotalFailed, Indication::Indeterminate] {
            if let Some(f) = self.findings.iter().find(|f| f.indication == wanted) {
                return (f.indication, Some(f.subindication));
            }
        }
        (Indication::TotalPassed, None)
    }
}

fn empty_report(entry: &SignatureEntry) -> SignatureReport {
    SignatureReport {
        field: entry.field.clone(),
        kind: entry.kind,
        sub_filter: entry.sub_filter.clone(),
        indication: Indication::Indeterminate,
        subindication: None,
        signer: None,
        chain: Vec::new(),
        signing_time: entry.claimed_time,
        timestamp_time: None,
        timestamp_authority: None,
        level: None,
        coverage: entry.coverage,
        signed_bytes: entry.signed_end,
        digest_algorithm: None,
        signature_algorithm: None,
        certification: entry.docmdp,
        modifications: Modifications::default(),
        revocation: Vec::new(),
        reason: entry.reason.clone(),
        location: entry.location.clone(),
        messages: Vec::new(),
    }
}

/// Format problems and the modification analysis, shared by signatures and timestamps.
fn check_format_and_changes(
    history: Option<&changes::History<'_>>,
    entry: &SignatureEntry,
    verdict: &mut Verdict,
    options: &VerifyOptions<'_>,
) -> Modifications {
    for problem in &entry.problems {
        verdict.fail(
            SubIndication::FormatFailure,
            Message::new(
                problem.code,
                messages::Severity::Error,
                Some(problem.detail.clone()),
            ),
        );
    }
    let Some(history) = history.filter(|_| entry.signed_end > 0) else {
        return Modifications::default();
    };
    let report = analyze_changes(history, entry);
    let disallowed: Vec<&Modification> = report
        .changes
        .iter()
        .filter(|c| c.allowed == Allowed::No)
        .collect();
    let warned: Vec<&Modification> = report
        .changes
        .iter()
        .filter(|c| c.allowed == Allowed::Warn)
        .collect();
    let describe = |changes: &[&Modification]| {
        changes
            .iter()
            .take(5)
            .map(|c| c.detail.clone())
            .collect::<Vec<_>>()
            .join("; ")
    };
    if !disallowed.is_empty() {
        verdict.fail(
            SubIndication::FormatFailure,
            Message::error("modification-disallowed", describe(&disallowed)),
        );
    }
    if !warned.is_empty() {
        match options.policy {
            Policy::Strict => verdict.fail(
                SubIndication::FormatFailure,
                Message::error("modification-disallowed", describe(&warned)),
            ),
            Policy::Lenient => {
                verdict.note(Message::warning("modification-warning", describe(&warned)))
            }
        }
    }
    if disallowed.is_empty() && warned.is_empty() && !report.changes.is_empty() {
        verdict.note(Message::info("modification-allowed", None));
    }
    report
}

/// A timestamp token checked as proof: token signature, imprint over `data_digest_for`, TSA
/// certificate purpose and path (at the time it was made, and still at `poe` or the
/// validation time). Returns the token facts when it holds.
fn check_token(
    token: &[u8],
    imprint_of: impl Fn(HashAlgorithm) -> Option<Vec<u8>>,
    pool: &[Vec<u8>],
    document: &EvidencePool,
    poe: Option<OffsetDateTime>,
    fetcher: Option<&Fetcher>,
    options: &VerifyOptions<'_>,
) -> Result<(timestamp::TokenFacts, Vec<Vec<u8>>), Message> {
    let facts = timestamp::check(token).map_err(|e| Message::warning("timestamp-invalid", e))?;
    let algorithm = facts.imprint_algorithm.ok_or_else(|| {
        Message::warning(
            "timestamp-invalid",
            "unknown imprint hash algorithm".to_owned(),
        )
    })?;
    if imprint_of(algorithm).as_deref() != Some(&facts.imprint[..]) {
        return Err(Message::warning("timestamp-imprint-mismatch", None));
    }
    let tsa = facts.tsa_certificate.clone().ok_or_else(|| {
        Message::warning(
            "timestamp-invalid",
            "the token does not carry its TSA certificate".to_owned(),
        )
    })?;
    if !timestamp::is_tsa_certificate(&tsa) {
        return Err(Message::warning("timestamp-not-tsa", None));
    }
    let mut candidates: Vec<Vec<u8>> = facts.certificates.clone();
    candidates.extend(pool.iter().cloned());
    let path = status::path_at(&tsa, &candidates, options.trust, fetcher, facts.time)
        .map_err(|e| Message::warning("timestamp-untrusted", format!("{e:?}")))?;
    let check_time = poe.unwrap_or(options.at);
    status::path_at(&tsa, &candidates, options.trust, fetcher, check_time)
        .map_err(|e| Message::warning("timestamp-untrusted", format!("at {check_time}: {e:?}")))?;
    // A TSA revoked before it stamped proves nothing. Missing evidence is common for TSAs
    // and is not held against the token (DSS does the same by default).
    let statuses = status::revocation_of_path(
        &path,
        options.trust,
        document,
        &options.supplied,
        fetcher,
        facts.time,
        options.at,
    );
    for (status, der) in statuses.iter().zip(&path) {
        if let Revocation::Revoked { revoked_at, .. } = status
            && revoked_at.is_none_or(|at| at <= facts.time)
        {
            let subject = CertificateInfo::from_der(der)
                .map(|c| c.subject)
                .unwrap_or_default();
            return Err(Message::warning("timestamp-tsa-revoked", subject));
        }
    }
    Ok((facts, path))
}

/// What every signature of one file is checked against.
struct FileContext<'a> {
    file: &'a [u8],
    /// The revisions, for the modification analysis (none for detached signatures).
    history: Option<&'a changes::History<'a>>,
    /// Validation data of the newest `/DSS`.
    dss: &'a EvidencePool,
    fetcher: Option<&'a Fetcher>,
    options: &'a VerifyOptions<'a>,
}

fn check_document_timestamp(
    context: &FileContext<'_>,
    entry: &SignatureEntry,
    poe: Option<OffsetDateTime>,
) -> SignatureReport {
    let FileContext {
        file,
        history,
        dss,
        fetcher,
        options,
    } = *context;
    let mut report = empty_report(entry);
    let mut verdict = Verdict::new();
    report.modifications = check_format_and_changes(history, entry, &mut verdict, options);
    if !verdict.failed()
        && let Some(range) = entry.byte_range
    {
        let mut pool = dss.certificates.clone();
        pool.extend(options.supplied.certificates.iter().cloned());
        match check_token(
            &entry.contents,
            |alg| range_digest(file, range, alg),
            &pool,
            dss,
            poe,
            fetcher,
            options,
        ) {
            Ok((facts, path)) => {
                report.timestamp_time = Some(facts.time);
                report.signer = path.first().and_then(|c| CertificateInfo::from_der(c));
                report.timestamp_authority = report.signer.as_ref().map(|s| s.subject.clone());
                report.chain = path
                    .iter()
                    .filter_map(|c| CertificateInfo::from_der(c))
                    .map(|c| c.subject)
                    .collect();
                report.digest_algorithm = facts.imprint_algorithm.map(HashAlgorithm::name);
                verdict.note(Message::info("document-timestamp-valid", None));
            }
            Err(message) => {
                let code = message.code;
                let sub = if code == "timestamp-imprint-mismatch" {
                    SubIndication::HashFailure
                } else if code == "timestamp-untrusted" {
                    SubIndication::NoCertificateChainFound
                } else {
                    SubIndication::SigCryptoFailure
                };
                let mut message = message;
                message.severity = messages::Severity::Error;
                if sub == SubIndication::NoCertificateChainFound {
                    verdict.indeterminate(sub, message);
                } else {
                    verdict.fail(sub, message);
                }
            }
        }
    }
    (report.indication, report.subindication) = verdict.outcome();
    report.messages = verdict.messages;
    report
}

fn check_signature(
    context: &FileContext<'_>,
    entry: &SignatureEntry,
    document_poe: Option<OffsetDateTime>,
    covered_by_later_timestamp: bool,
) -> SignatureReport {
    let FileContext {
        file,
        history,
        dss,
        fetcher,
        options,
    } = *context;
    let mut report = empty_report(entry);
    let mut verdict = Verdict::new();
    report.modifications = check_format_and_changes(history, entry, &mut verdict, options);
    let Some(range) = entry.byte_range.filter(|_| entry.signed_end > 0) else {
        (report.indication, report.subindication) = verdict.outcome();
        report.messages = verdict.messages;
        return report;
    };

    // CMS structure.
    let facts = match signed_data::parse(&entry.contents) {
        Ok(facts) => facts,
        Err(e) => {
            verdict.fail(
                SubIndication::FormatFailure,
                Message::error("cms-malformed", e),
            );
            (report.indication, report.subindication) = verdict.outcome();
            report.messages = verdict.messages;
            return report;
        }
    };
    let pkcs7 = entry.sub_filter == "adbe.pkcs7.detached";
    if !pkcs7 && entry.sub_filter != "ETSI.CAdES.detached" && entry.sub_filter != DETACHED_CMS {
        verdict.indeterminate(
            SubIndication::SigConstraintsFailure,
            Message::error("subfilter-unsupported", entry.sub_filter.clone()),
        );
    }
    if facts.signer_infos != 1 {
        verdict.fail(
            SubIndication::FormatFailure,
            Message::error(
                "cms-signer-count",
                format!("{} SignerInfos", facts.signer_infos),
            ),
        );
    }
    if facts.has_encapsulated_content {
        verdict.fail(
            SubIndication::FormatFailure,
            Message::error("cms-encapsulated-content", None),
        );
    }
    report.signature_algorithm = Some(facts.signature_algorithm_oid.clone());
    if report.signing_time.is_none() {
        report.signing_time = facts.signing_time_attribute;
    }
    let Some(algorithm) = facts.digest_algorithm else {
        verdict.indeterminate(
            SubIndication::CryptoConstraintsFailureNoPoe,
            Message::error(
                "digest-algorithm-unknown",
                facts.digest_algorithm_oid.clone(),
            ),
        );
        (report.indication, report.subindication) = verdict.outcome();
        report.messages = verdict.messages;
        return report;
    };
    report.digest_algorithm = Some(algorithm.name());

    // Integrity: the message digest over the ByteRange.
    let content_digest = range_digest(file, range, algorithm).unwrap_or_default();
    let signed_digest = match &facts.signed_attributes {
        Some(attributes) => {
            match &facts.message_digest {
                None => verdict.fail(
                    SubIndication::FormatFailure,
                    Message::error("cms-message-digest-missing", None),
                ),
                Some(digest) if *digest != content_digest => {
                    verdict.fail(
                        SubIndication::HashFailure,
                        Message::error("hash-mismatch", None),
                    );
                }
                Some(_) => {}
            }
            if facts.content_type_is_data != Some(true) {
                verdict.fail(
                    SubIndication::FormatFailure,
                    Message::error("cms-content-type", None),
                );
            }
            algorithm.digest(attributes)
        }
        None => {
            verdict.note(Message::warning("signed-attributes-missing", None));
            content_digest.clone()
        }
    };

    // The signer's certificate and the signature value.
    let Some(signer) = facts.signer_certificate.clone() else {
        verdict.indeterminate(
            SubIndication::NoSigningCertificateFound,
            Message::error("signing-certificate-missing", None),
        );
        (report.indication, report.subindication) = verdict.outcome();
        report.messages = verdict.messages;
        return report;
    };
    report.signer = CertificateInfo::from_der(&signer);
    match &facts.signing_certificate {
        Some(reference) => {
            let algorithm = reference.algorithm.unwrap_or(HashAlgorithm::Sha256);
            if algorithm.digest(&signer) != reference.hash {
                verdict.indeterminate(
                    SubIndication::NoSigningCertificateFound,
                    Message::error("signing-certificate-mismatch", None),
                );
            }
        }
        None if !pkcs7 => verdict.note(Message::warning(
            "signing-certificate-attribute-missing",
            None,
        )),
        None => {}
    }
    if let Err(e) = signed_data::verify_signature_value(&facts, &signer, algorithm, &signed_digest)
    {
        verdict.fail(
            SubIndication::SigCryptoFailure,
            Message::error("signature-value-invalid", e),
        );
    }
    if algorithm.is_weak() {
        verdict.indeterminate(
            SubIndication::CryptoConstraintsFailureNoPoe,
            Message::error("weak-digest", algorithm.name().to_owned()),
        );
    }
    match signed_data::key_description(&signer) {
        Some((openssl::pkey::Id::RSA, bits)) if bits < 2048 => verdict.indeterminate(
            SubIndication::CryptoConstraintsFailureNoPoe,
            Message::error("weak-key", format!("RSA-{bits}")),
        ),
        Some((openssl::pkey::Id::EC, bits)) if bits < 256 => verdict.indeterminate(
            SubIndication::CryptoConstraintsFailureNoPoe,
            Message::error("weak-key", format!("ECDSA-{bits}")),
        ),
        _ => {}
    }

    // The signature timestamp: proof of the signing time.
    let mut pool: Vec<Vec<u8>> = facts.certificates.clone();
    pool.extend(dss.certificates.iter().cloned());
    pool.extend(options.supplied.certificates.iter().cloned());
    let mut proven_time = None;
    for token in &facts.timestamp_tokens {
        let signature_value = facts.signature_value.clone();
        match check_token(
            token,
            |alg| Some(alg.digest(&signature_value)),
            &pool,
            dss,
            document_poe,
            fetcher,
            options,
        ) {
            Ok((token_facts, path)) => {
                proven_time = Some(proven_time.map_or(token_facts.time, |t: OffsetDateTime| {
                    t.min(token_facts.time)
                }));
                report.timestamp_authority = path
                    .first()
                    .and_then(|c| CertificateInfo::from_der(c))
                    .map(|c| c.subject);
                verdict.note(Message::info("timestamp-valid", None));
            }
            Err(message) => verdict.note(message),
        }
    }
    report.timestamp_time = proven_time;
    if proven_time.is_none() {
        verdict.note(Message::info("signing-time-claimed", None));
    }
    let poe = proven_time.or(document_poe);
    let check_time = poe.unwrap_or(options.at);

    // The path to a trust anchor at the proven time (else now).
    let path = match status::path_at(&signer, &pool, options.trust, fetcher, check_time) {
        Ok(path) => Some(path),
        Err(PathFailure::NoChain(reason)) => {
            verdict.indeterminate(
                SubIndication::NoCertificateChainFound,
                Message::error("chain-not-trusted", reason),
            );
            None
        }
        Err(PathFailure::OutOfBounds(reason)) => {
            verdict.indeterminate(
                SubIndication::OutOfBoundsNoPoe,
                Message::error("chain-out-of-bounds", reason),
            );
            None
        }
        Err(PathFailure::Invalid(reason)) => {
            verdict.indeterminate(
                SubIndication::ChainConstraintsFailure,
                Message::error("chain-invalid", reason),
            );
            None
        }
    };
    if let Some(signer_info) = &report.signer {
        let usable = signer_info.key_usage.is_empty()
            || signer_info
                .key_usage
                .iter()
                .any(|u| u == "digitalSignature" || u == "nonRepudiation");
        if !usable {
            verdict.indeterminate(
                SubIndication::SigConstraintsFailure,
                Message::error("key-usage", signer_info.key_usage.join(", ")),
            );
        }
        let eku = &signer_info.extended_key_usage;
        let signing_purposes = [
            "any",
            "emailProtection",
            "codeSigning",
            "clientAuth",
            "1.3.6.1.5.5.7.3.36",      // id-kp-documentSigning (RFC 9336)
            "1.2.840.113583.1.1.5",    // Adobe Authentic Documents Trust
            "1.3.6.1.4.1.311.10.3.12", // Microsoft document signing
        ];
        if !eku.is_empty() && !eku.iter().any(|u| signing_purposes.contains(&u.as_str())) {
            verdict.note(Message::warning("extended-key-usage", eku.join(", ")));
        }
    }

    // Revocation of every certificate on the path at the proven signing time.
    let mut document_evidence = dss.clone();
    document_evidence.extend(&EvidencePool {
        certificates: Vec::new(),
        ocsp: facts.archived_ocsp.clone(),
        crls: facts.archived_crls.clone(),
    });
    let mut leaf_evidence_in_document = false;
    if let Some(path) = &path {
        report.chain = path
            .iter()
            .filter_map(|c| CertificateInfo::from_der(c))
            .map(|c| c.subject)
            .collect();
        let statuses = status::revocation_of_path(
            path,
            options.trust,
            &document_evidence,
            &options.supplied,
            fetcher,
            check_time,
            options.at,
        );
        for (index, (status, der)) in statuses.iter().zip(path.iter()).enumerate() {
            let subject = CertificateInfo::from_der(der)
                .map(|c| c.subject)
                .unwrap_or_default();
            let info = match status {
                Revocation::Good { source } => {
                    if index == 0 && source.origin == "document" {
                        leaf_evidence_in_document = true;
                    }
                    RevocationInfo {
                        subject,
                        status: "good",
                        source: Some(source.clone()),
                        revoked_at: None,
                        reasons: Vec::new(),
                    }
                }
                Revocation::Revoked { source, revoked_at } => {
                    match (poe, revoked_at) {
                        (Some(proof), Some(at)) if *at > proof => {
                            verdict.note(Message::info(
                                "revoked-after-signing",
                                format!("{subject}: revoked {at}"),
                            ));
                        }
                        (Some(_), _) => verdict.fail(
                            SubIndication::Revoked,
                            Message::error("revoked", subject.clone()),
                        ),
                        (None, _) => verdict.indeterminate(
                            SubIndication::RevokedNoPoe,
                            Message::error("revoked-no-poe", subject.clone()),
                        ),
                    }
                    RevocationInfo {
                        subject,
                        status: "revoked",
                        source: Some(source.clone()),
                        revoked_at: *revoked_at,
                        reasons: Vec::new(),
                    }
                }
                Revocation::Unknown { reasons } => {
                    let detail = format!("{subject}: {}", reasons.join("; "));
                    match options.policy {
                        Policy::Strict => verdict.indeterminate(
                            SubIndication::TryLater,
                            Message::error("revocation-unknown", detail),
                        ),
                        Policy::Lenient => {
                            verdict.note(Message::warning("revocation-unknown", detail))
                        }
                    }
                    RevocationInfo {
                        subject,
                        status: "unknown",
                        source: None,
                        revoked_at: None,
                        reasons: reasons.clone(),
                    }
                }
            };
            report.revocation.push(info);
        }
    }

    // The PAdES level the signature reaches (only meaningful when it holds).
    let b_level =
        facts.signed_attributes.is_some() && (pkcs7 || facts.signing_certificate.is_some());
    if b_level {
        let prefix = if pkcs7 { "PKCS7" } else { "B" };
        let t = proven_time.is_some() || covered_by_later_timestamp;
        let lt = t && leaf_evidence_in_document && !dss.certificates.is_empty();
        let lta = lt && covered_by_later_timestamp && document_poe.is_some();
        let level = match (t, lt, lta) {
            (_, _, true) => "LTA",
            (_, true, _) => "LT",
            (true, _, _) => "T",
            _ => "B",
        };
        report.level = Some(format!("{prefix}-{level}"));
    }
    if entry.coverage == Coverage::Revision && !verdict.failed() {
        verdict.note(Message::info("revision-covered", None));
    }
    (report.indication, report.subindication) = verdict.outcome();
    if report.indication == Indication::TotalPassed {
        verdict.note(Message::info("signature-valid", None));
    }
    report.messages = verdict.messages;
    report
}
