//! Signing flows: a new PAdES signature (B-B … B-LTA) and the extension of an already signed
//! document with validation data and a newer archive timestamp.
//!
//! The output is written to a temporary file beside the destination, made durable, and only
//! then renamed into place: a failure at any step (TSA down, wrong PIN, full disk) leaves no
//! output file and never touches the input.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::PadesError;
use super::cms::{CmsRequest, SignedCms};
use super::document::{
    self, DssAddition, EmbeddedSignature, Placeholder, SignatureDictionary, SignatureInfo,
    SignatureKind,
};
use super::fetch::Fetcher;
use super::key::{DigestAlgorithm, KeySigner, SignatureScheme};
use super::revocation::{self, Status, ValidationData};
use super::tsp::{self, Timestamp};
use crate::pdf::incremental::{PdfRevision, Update, write_update};
use crate::trust::TrustStore;

/// PAdES baseline levels (ETSI EN 319 142-1 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    BB,
    BT,
    BLT,
    BLTA,
}

impl Level {
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_uppercase().replace(['_', ' '], "-").as_str() {
            "B-B" | "BB" => Some(Level::BB),
            "B-T" | "BT" => Some(Level::BT),
            "B-LT" | "BLT" => Some(Level::BLT),
            "B-LTA" | "BLTA" => Some(Level::BLTA),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Level::BB => "B-B",
            Level::BT => "B-T",
            Level::BLT => "B-LT",
            Level::BLTA => "B-LTA",
        }
    }
}

/// A visible signature: where, and what it shows.
pub struct Visible {
    /// 0-based page index.
    pub page: usize,
    /// Widget rectangle in page coordinates.
    pub rect: [f64; 4],
    pub appearance: super::appearance::Appearance,
    /// Payload of the QR code on the stamp (a verification link).
    pub qr: Option<String>,
}

/// Everything about a signature except the key and the file.
pub struct SignOptions {
    pub level: Level,
    pub digest: DigestAlgorithm,
    /// RSASSA-PSS instead of PKCS#1 v1.5 for RSA keys.
    pub pss: bool,
    pub tsa_url: Option<String>,
    pub info: SignatureInfo,
    /// Name of an existing empty field to sign, or of the field to create.
    pub field: Option<String>,
    pub visible: Option<Visible>,
    /// Sign even when the chain does not reach a trust anchor (tests, demos).
    pub allow_untrusted: bool,
    /// Ask OCSP/CRL before signing even at B-B/B-T (B-LT and B-LTA always do).
    pub check_revocation: bool,
    /// No network: no AIA, OCSP or CRL fetching (B-T still needs its TSA).
    pub offline: bool,
    /// Extra certificates (issuing CAs) to embed and to build the path with.
    pub extra_certificates: Vec<Vec<u8>>,
    /// OCSP responses and CRLs from files, used before (or, offline, instead of) fetching.
    pub supplied: ValidationData,
}

impl Default for SignOptions {
    fn default() -> Self {
        SignOptions {
            level: Level::BB,
            digest: DigestAlgorithm::Sha256,
            pss: false,
            tsa_url: None,
            info: SignatureInfo::default(),
            field: None,
            visible: None,
            allow_untrusted: false,
            check_revocation: false,
            offline: false,
            extra_certificates: Vec::new(),
            supplied: ValidationData::default(),
        }
    }
}

/// What was done, for the CLI's report and the archive.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SignOutcome {
    pub field: String,
    pub level: &'static str,
    pub signer: String,
    #[serde(with = "time::serde::rfc3339")]
    pub signing_time: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub timestamp_time: Option<OffsetDateTime>,
    /// Size of the signed output in bytes.
    pub size: u64,
    /// SHA-256 of the signed output, hex.
    pub sha256: String,
    /// Bytes reserved for the signature container, and how many it used.
    pub reserved: usize,
    pub used: usize,
}

/// Signs `input` into `output` (which may be the same path only for extension).
///
/// # Errors
/// Any [`PadesError`]; on error nothing is written at `output`.
pub fn sign_file(
    input: &Path,
    output: &Path,
    signer: &dyn KeySigner,
    trust: &TrustStore,
    options: &SignOptions,
    now: OffsetDateTime,
) -> Result<SignOutcome, PadesError> {
    let fetcher = Fetcher::default();
    let revision = PdfRevision::open(input)?;

    // 1. The document must accept another signature.
    let fields = document::signature_fields(&revision)?;
    let signed_count = fields.iter().filter(|f| f.value.is_some()).count();
    if document::docmdp_permission(&revision) == Some(1) {
        return Err(PadesError::DocMdpForbids);
    }
    if options.info.certify.is_some() && signed_count > 0 {
        return Err(PadesError::CertifyNotFirst);
    }
    let existing = match &options.field {
        Some(name) => fields.iter().find(|f| &f.name == name).cloned(),
        None => None,
    };
    if let Some(field) = &existing
        && field.value.is_some()
    {
        return Err(PadesError::FieldAlreadySigned {
            name: field.name.clone(),
        });
    }
    let field_name = match (&options.field, &existing) {
        (_, Some(field)) => field.name.clone(),
        (Some(name), None) => name.clone(),
        (None, None) => (1..)
            .map(|n| format!("Signature{n}"))
            .find(|candidate| !fields.iter().any(|f| &f.name == candidate))
            .unwrap_or_else(|| "Signature".to_owned()),
    };

    // 2. The signer's certificate must be usable now.
    let certificate = check_certificate(signer.certificate(), now)?;
    let known: Vec<Vec<u8>> = signer
        .chain()
        .iter()
        .chain(options.extra_certificates.iter())
        .cloned()
        .collect();
    let network = (!options.offline).then_some(&fetcher);
    let path = match revocation::complete_chain(signer.certificate(), &known, trust, network, now) {
        Ok(path) => path,
        Err(e) if options.allow_untrusted => {
            tracing::warn!(error = %e, "signing with an untrusted certificate (--allow-untrusted)");
            std::iter::once(signer.certificate().to_vec())
                .chain(known.iter().cloned())
                .collect()
        }
        Err(e) => return Err(e),
    };
    let mut validation = ValidationData::default();
    if options.level >= Level::BLT || options.check_revocation {
        let (data, statuses) = revocation::gather(&path, trust, network, &options.supplied, now)?;
        for status in &statuses {
            if let Status::Revoked { at } = status {
                return Err(PadesError::CertificateRevoked { at: at.clone() });
            }
        }
        if options.level >= Level::BLT
            && let Some(Status::Unknown { reason }) = statuses.first()
        {
            return Err(PadesError::RevocationUnavailable {
                reason: reason.clone(),
            });
        }
        validation.extend(data);
    }

    // 3. Reserve room: the real CMS size with this key and chain, plus a probe timestamp.
    let scheme = super::key::default_scheme(signer.kind(), options.pss);
    let embedded_chain: Vec<Vec<u8>> = path.iter().skip(1).cloned().collect();
    let tsa_url = match (options.level, &options.tsa_url) {
        (Level::BB, _) => None,
        (_, Some(url)) => Some(url.clone()),
        (_, None) => {
            return Err(PadesError::Timestamp {
                url: String::new(),
                reason: format!("level {} needs a TSA (--tsa URL)", options.level.name()),
            });
        }
    };
    let probe = match &tsa_url {
        Some(url) => Some(tsp::request(
            &fetcher,
            url,
            options.digest,
            b"hoso size probe",
        )?),
        None => None,
    };
    let capacity = container_capacity(signer, scheme, options, &embedded_chain, probe.as_ref())?;

    // 4. Lay out the update: signature dictionary, field and widget, appearance.
    let mut update = Update::new(&revision);
    let signature_id = update.allocate();
    let dictionary = SignatureDictionary::new(SignatureKind::Cades, capacity, now, &options.info);
    let (page_index, mut rect) = match &options.visible {
        Some(visible) => (visible.page, visible.rect),
        None => (0, [0.0; 4]),
    };
    // An existing field keeps its widget: the appearance is drawn at the widget's size.
    if let Some(widget_rect) = existing
        .as_ref()
        .and_then(|f| f.widget)
        .and_then(|w| widget_rect(&revision, w))
    {
        rect = widget_rect;
    }
    let page = match existing.as_ref().and_then(|f| f.widget) {
        Some(widget) => revision
            .dictionary(widget)
            .ok()
            .and_then(|w| w.get(b"P").ok())
            .and_then(|p| p.as_reference().ok())
            .map_or_else(|| document::page_id(&revision, page_index), Ok)?,
        None => document::page_id(&revision, page_index)?,
    };
    let appearance_id = match &options.visible {
        Some(visible) => {
            let width = (rect[2] - rect[0]).abs();
            let height = (rect[3] - rect[1]).abs();
            let mut allocate = || update.allocate();
            let (id, objects) = super::appearance::build(
                &visible.appearance,
                width,
                height,
                visible.qr.as_deref(),
                &mut allocate,
            )?;
            for (object_id, object) in objects {
                update.set(object_id, object);
            }
            id
        }
        None => document::empty_appearance(&mut update),
    };
    document::attach_field(
        &revision,
        &mut update,
        signature_id,
        existing.as_ref(),
        &document::Widget {
            name: &field_name,
            page,
            rect,
            appearance: appearance_id,
        },
    )?;
    if options.info.certify.is_some() {
        document::set_docmdp(&revision, &mut update, signature_id)?;
    }
    update.set_raw(signature_id, dictionary.body.clone());

    // 5. Write original bytes + update to a temporary file, then sign in place.
    let mut staged = Staged::create(input, output)?;
    let written = write_update(staged.file(), &revision, update)?;
    drop(revision);
    let body_offset = written.body_offsets[&signature_id];
    let placeholder = Placeholder::locate(&dictionary, body_offset);
    let digest =
        placeholder.patch_byte_range_and_digest(staged.file(), written.end, options.digest)?;
    let mut cms = SignedCms::sign(&CmsRequest {
        signer,
        scheme,
        digest_algorithm: options.digest,
        content_digest: &digest,
        extra_certificates: &embedded_chain,
    })?;
    let mut timestamp_time = None;
    let mut tsa_path = Vec::new();
    if let Some(url) = &tsa_url {
        let timestamp = tsp::request(&fetcher, url, options.digest, cms.signature_value())?;
        tsa_path = check_tsa(&timestamp, trust, network, options.allow_untrusted, now)?;
        cms.add_signature_timestamp(&timestamp.token)?;
        timestamp_time = Some(timestamp.time);
    }
    let container = cms.to_der()?;
    placeholder.patch_contents(staged.file(), &container)?;
    let used = container.len();

    // 6. Long-term: validation data, then an archive timestamp.
    if options.level >= Level::BLT {
        if tsa_path.len() > 1 {
            let (data, _) = revocation::gather(&tsa_path, trust, network, &options.supplied, now)?;
            validation.extend(data);
        }
        let mut contents = container.clone();
        contents.resize(capacity, 0);
        append_dss(&mut staged, &validation, vec![contents])?;
    }
    if options.level == Level::BLTA
        && let Some(url) = &tsa_url
    {
        append_document_timestamp(&mut staged, &fetcher, url, options.digest, now)?;
    }

    let (size, sha256) = staged.finish(output)?;
    Ok(SignOutcome {
        field: field_name,
        level: options.level.name(),
        signer: certificate.subject,
        signing_time: now,
        timestamp_time,
        size,
        sha256,
        reserved: capacity,
        used,
    })
}

/// The widget's rectangle when it has a visible size.
fn widget_rect(revision: &PdfRevision, widget: lopdf::ObjectId) -> Option<[f64; 4]> {
    let dict = revision.dictionary(widget).ok()?;
    let values: Vec<f64> = revision
        .resolve(dict.get(b"Rect").ok()?)
        .ok()?
        .as_array()
        .ok()?
        .iter()
        .filter_map(|v| v.as_float().ok().map(f64::from))
        .collect();
    let [x1, y1, x2, y2] = values[..] else {
        return None;
    };
    let rect = [x1.min(x2), y1.min(y2), x1.max(x2), y1.max(y2)];
    (rect[2] - rect[0] >= 1.0 && rect[3] - rect[1] >= 1.0).then_some(rect)
}

/// Options for extending an already signed document.
pub struct ExtendOptions {
    pub level: Level,
    pub digest: DigestAlgorithm,
    pub tsa_url: Option<String>,
    pub allow_untrusted: bool,
    /// OCSP responses and CRLs from files, used before fetching.
    pub supplied: ValidationData,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ExtendOutcome {
    pub level: &'static str,
    pub signatures: usize,
    #[serde(with = "time::serde::rfc3339::option")]
    pub timestamp_time: Option<OffsetDateTime>,
    pub size: u64,
    pub sha256: String,
}

/// Adds validation data for every signature and timestamp in the document (B-LT), and for
/// B-LTA a new document timestamp over everything: the periodic archive renewal that keeps
/// a document verifiable after its algorithms or certificates age.
///
/// # Errors
/// [`PadesError::NoSignature`] for an unsigned document, fetch and TSA failures.
pub fn extend_file(
    input: &Path,
    output: &Path,
    trust: &TrustStore,
    options: &ExtendOptions,
    now: OffsetDateTime,
) -> Result<ExtendOutcome, PadesError> {
    let fetcher = Fetcher::default();
    let revision = PdfRevision::open(input)?;
    let signatures = document::embedded_signatures(&revision)?;
    if signatures.is_empty() {
        return Err(PadesError::NoSignature);
    }
    let mut validation = ValidationData::default();
    for signature in &signatures {
        for leaf_and_pool in signing_certificates(signature) {
            let (leaf, pool) = leaf_and_pool;
            let path = match revocation::complete_chain(&leaf, &pool, trust, Some(&fetcher), now) {
                Ok(path) => path,
                Err(e) if options.allow_untrusted => {
                    tracing::warn!(error = %e, "extending a signature whose chain is not trusted");
                    std::iter::once(leaf.clone()).chain(pool.clone()).collect()
                }
                Err(e) => return Err(e),
            };
            let (data, _) =
                revocation::gather(&path, trust, Some(&fetcher), &options.supplied, now)?;
            validation.extend(data);
        }
    }
    drop(revision);
    let mut staged = Staged::create(input, output)?;
    append_dss(
        &mut staged,
        &validation,
        signatures.iter().map(|s| s.contents.clone()).collect(),
    )?;
    let mut timestamp_time = None;
    if options.level == Level::BLTA {
        let url = options
            .tsa_url
            .as_deref()
            .ok_or_else(|| PadesError::Timestamp {
                url: String::new(),
                reason: "B-LTA needs a TSA (--tsa URL)".to_owned(),
            })?;
        timestamp_time = Some(append_document_timestamp(
            &mut staged,
            &fetcher,
            url,
            options.digest,
            now,
        )?);
    }
    let (size, sha256) = staged.finish(output)?;
    Ok(ExtendOutcome {
        level: options.level.name(),
        signatures: signatures.len(),
        timestamp_time,
        size,
        sha256,
    })
}

/// For a CMS signature or timestamp token: (signer certificate, the other certificates).
/// Signature timestamps inside a CMS signature are included as their own entries.
fn signing_certificates(signature: &EmbeddedSignature) -> Vec<(Vec<u8>, Vec<Vec<u8>>)> {
    use cms::content_info::ContentInfo;
    use cms::signed_data::SignedData;
    use der::{Decode, Encode};

    fn of(der: &[u8], out: &mut Vec<(Vec<u8>, Vec<Vec<u8>>)>, depth: u8) {
        let Ok(info) = ContentInfo::from_der(trim_padding(der)) else {
            return;
        };
        let Ok(signed) = info.content.decode_as::<SignedData>() else {
            return;
        };
        let certificates: Vec<Vec<u8>> = signed
            .certificates
            .iter()
            .flat_map(|set| set.0.iter())
            .filter_map(|choice| match choice {
                cms::cert::CertificateChoices::Certificate(c) => c.to_der().ok(),
                _ => None,
            })
            .collect();
        for signer_info in signed.signer_infos.0.iter() {
            let leaf = certificates.iter().find(|der| {
                x509_cert::Certificate::from_der(der).is_ok_and(|c| match &signer_info.sid {
                    cms::signed_data::SignerIdentifier::IssuerAndSerialNumber(ias) => {
                        ias.issuer == c.tbs_certificate.issuer
                            && ias.serial_number == c.tbs_certificate.serial_number
                    }
                    cms::signed_data::SignerIdentifier::SubjectKeyIdentifier(_) => true,
                })
            });
            if let Some(leaf) = leaf {
                let pool = certificates
                    .iter()
                    .filter(|c| *c != leaf)
                    .cloned()
                    .collect();
                out.push((leaf.clone(), pool));
            }
            if depth == 0 {
                for attribute in signer_info.unsigned_attrs.iter().flat_map(|a| a.iter()) {
                    if attribute.oid == super::cms::ID_SIGNATURE_TIMESTAMP_TOKEN {
                        for value in attribute.values.iter() {
                            if let Ok(token) = value.to_der() {
                                of(&token, out, depth + 1);
                            }
                        }
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    of(&signature.contents, &mut out, 0);
    out
}

/// `/Contents` is zero-padded after the DER; the DER length tells where it ends.
pub(crate) fn trim_padding(bytes: &[u8]) -> &[u8] {
    use der::{Decode, Reader};
    let Ok(mut reader) = der::SliceReader::new(bytes) else {
        return bytes;
    };
    match der::Any::decode(&mut reader) {
        Ok(_) => {
            let end = u32::from(reader.position()) as usize;
            &bytes[..end.min(bytes.len())]
        }
        Err(_) => bytes,
    }
}

/// Facts about the signer's certificate, after the checks every signature needs.
struct CheckedCertificate {
    subject: String,
}

/// Refuses an expired or not-yet-valid certificate, or one whose key usage does not allow
/// signatures, before anything is written.
fn check_certificate(der: &[u8], now: OffsetDateTime) -> Result<CheckedCertificate, PadesError> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| PadesError::KeyUnusable {
        reason: format!("the signer's certificate does not parse: {e}"),
    })?;
    let not_before = cert.validity().not_before.to_datetime();
    let not_after = cert.validity().not_after.to_datetime();
    if now < not_before {
        return Err(PadesError::CertificateNotYetValid {
            not_before: not_before.to_string(),
        });
    }
    if now > not_after {
        return Err(PadesError::CertificateExpired {
            not_after: not_after.to_string(),
        });
    }
    if let Ok(Some(usage)) = cert.key_usage()
        && !(usage.value.digital_signature() || usage.value.non_repudiation())
    {
        return Err(PadesError::CertificateKeyUsage);
    }
    Ok(CheckedCertificate {
        subject: cert.subject().to_string(),
    })
}

/// Checks the TSA's certificate path at the timestamp's time; returns it for B-LT.
fn check_tsa(
    timestamp: &Timestamp,
    trust: &TrustStore,
    fetcher: Option<&Fetcher>,
    allow_untrusted: bool,
    now: OffsetDateTime,
) -> Result<Vec<Vec<u8>>, PadesError> {
    let pool: Vec<Vec<u8>> = timestamp
        .certificates
        .iter()
        .filter(|c| **c != timestamp.signer_certificate)
        .cloned()
        .collect();
    match revocation::complete_chain(&timestamp.signer_certificate, &pool, trust, fetcher, now) {
        Ok(path) => Ok(path),
        Err(_) if allow_untrusted => Ok(std::iter::once(timestamp.signer_certificate.clone())
            .chain(pool)
            .collect()),
        Err(PadesError::Untrusted(e)) => Err(PadesError::Timestamp {
            url: String::new(),
            reason: format!("the TSA's certificate is not trusted: {e}"),
        }),
        Err(e) => Err(e),
    }
}

/// Bytes to reserve for the signature container: the CMS as it will be (real chain, real
/// signature length for this key) plus the timestamp token as the TSA just produced one,
/// plus a small margin for the timestamp attribute's framing and length variation.
fn container_capacity(
    signer: &dyn KeySigner,
    scheme: SignatureScheme,
    options: &SignOptions,
    chain: &[Vec<u8>],
    probe: Option<&Timestamp>,
) -> Result<usize, PadesError> {
    struct SizeProbe<'a>(&'a dyn KeySigner);
    impl KeySigner for SizeProbe<'_> {
        fn credentials(&self) -> &super::key::Credentials {
            self.0.credentials()
        }
        fn sign_digest(
            &self,
            _: SignatureScheme,
            _: DigestAlgorithm,
            _: &[u8],
        ) -> Result<Vec<u8>, PadesError> {
            Ok(vec![0xff; self.0.kind().max_signature_len()])
        }
    }
    let zero_digest = vec![0u8; options.digest.output_len()];
    let mut cms = SignedCms::sign(&CmsRequest {
        signer: &SizeProbe(signer),
        scheme,
        digest_algorithm: options.digest,
        content_digest: &zero_digest,
        extra_certificates: chain,
    })?;
    if let Some(probe) = probe {
        cms.add_signature_timestamp(&probe.token)?;
    }
    // 64 bytes: token serial numbers, times and nonces vary by a few bytes between requests.
    Ok(cms.to_der()?.len() + 64)
}

/// The output being built: a temporary file in the destination's folder.
struct Staged {
    temp: tempfile::NamedTempFile,
}

impl Staged {
    /// Copies `input` byte for byte into a new temporary file beside `output`.
    fn create(input: &Path, output: &Path) -> Result<Self, PadesError> {
        let dir = match output.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => std::path::PathBuf::from("."),
        };
        let mut temp = tempfile::Builder::new()
            .prefix(".hoso-sign-")
            .suffix(".part")
            .tempfile_in(&dir)?;
        let mut source = File::open(input)?;
        std::io::copy(&mut source, temp.as_file_mut())?;
        Ok(Staged { temp })
    }

    fn file(&mut self) -> &mut File {
        self.temp.as_file_mut()
    }

    fn len(&mut self) -> Result<u64, PadesError> {
        Ok(self.file().metadata()?.len())
    }

    /// Makes the file durable and moves it to `output`; returns its size and SHA-256.
    fn finish(mut self, output: &Path) -> Result<(u64, String), PadesError> {
        use std::io::{Seek, SeekFrom};
        let size = self.len()?;
        let mut hasher = crate::digest::Sha256Hasher::new();
        crate::pdf::incremental::digest_ranges(self.file(), &[(0, size)], |chunk| {
            hasher.update(chunk);
        })?;
        let sha256 = hasher.finish().to_hex();
        self.file().seek(SeekFrom::End(0))?;
        self.file().flush()?;
        self.file().sync_all()?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(self.temp.path(), std::fs::Permissions::from_mode(0o644))?;
        }
        self.temp
            .persist(output)
            .map_err(|e| PadesError::Io(e.error))?;
        if let Some(dir) = output.parent().filter(|p| !p.as_os_str().is_empty())
            && let Ok(dir) = File::open(dir)
        {
            let _ = dir.sync_all();
        }
        Ok((size, sha256))
    }
}

/// Appends a DSS revision to the staged file.
fn append_dss(
    staged: &mut Staged,
    validation: &ValidationData,
    signatures: Vec<Vec<u8>>,
) -> Result<(), PadesError> {
    let revision = reopen(staged)?;
    let mut update = Update::new(&revision);
    document::add_dss(
        &revision,
        &mut update,
        &DssAddition {
            data: validation,
            signatures,
        },
    )?;
    use std::io::{Seek, SeekFrom};
    staged.file().seek(SeekFrom::End(0))?;
    write_update(staged.file(), &revision, update)?;
    Ok(())
}

/// Appends a document timestamp (ETSI.RFC3161) revision to the staged file.
fn append_document_timestamp(
    staged: &mut Staged,
    fetcher: &Fetcher,
    url: &str,
    algorithm: DigestAlgorithm,
    now: OffsetDateTime,
) -> Result<OffsetDateTime, PadesError> {
    // Size from a probe token, as for signatures.
    let probe = tsp::request(fetcher, url, algorithm, b"hoso size probe")?;
    let capacity = probe.token.len() + 64;
    let revision = reopen(staged)?;
    let fields = document::signature_fields(&revision)?;
    let name = (1..)
        .map(|n| format!("DocTimeStamp{n}"))
        .find(|candidate| !fields.iter().any(|f| &f.name == candidate))
        .unwrap_or_else(|| "DocTimeStamp".to_owned());
    let mut update = Update::new(&revision);
    let signature_id = update.allocate();
    let dictionary = SignatureDictionary::new(
        SignatureKind::DocumentTimestamp,
        capacity,
        now,
        &SignatureInfo::default(),
    );
    let appearance = document::empty_appearance(&mut update);
    let page = document::page_id(&revision, 0)?;
    document::attach_field(
        &revision,
        &mut update,
        signature_id,
        None,
        &document::Widget {
            name: &name,
            page,
            rect: [0.0; 4],
            appearance,
        },
    )?;
    update.set_raw(signature_id, dictionary.body.clone());
    use std::io::{Seek, SeekFrom};
    staged.file().seek(SeekFrom::End(0))?;
    let written = write_update(staged.file(), &revision, update)?;
    drop(revision);
    let placeholder = Placeholder::locate(&dictionary, written.body_offsets[&signature_id]);
    let digest = placeholder.patch_byte_range_and_digest(staged.file(), written.end, algorithm)?;
    let timestamp = tsp::request_for_digest(fetcher, url, algorithm, &digest)?;
    placeholder.patch_contents(staged.file(), &timestamp.token)?;
    Ok(timestamp.time)
}

/// Parses the staged file as it now stands (for the next revision).
fn reopen(staged: &mut Staged) -> Result<PdfRevision, PadesError> {
    staged.file().flush()?;
    Ok(PdfRevision::open(staged.temp.path())?)
}
