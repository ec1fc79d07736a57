//! Signing flows: a new PAdES signature (B-B … B-LTA) and the extension of an already signed
//! document with validation data and a newer archive timestamp.
//!
//! One signing path: a [`SigningSession`] does what depends only on the key once (the
//! certificate's checks, its path to a trust anchor, revocation when asked, the signature
//! scheme, the chain to embed, the container size for B-B), then signs any number of
//! documents, into files ([`SigningSession::sign_file`]) or in memory
//! ([`SigningSession::sign_bytes`]). [`sign_file`] is a session of one document.
//!
//! The input's bytes are read once: hashed (the byte-range digest, and SHA-256 for the
//! output's name) as they are copied. What is appended (the signature revision, a DSS, a
//! document timestamp) is small and built in memory, so the byte ranges and the output's
//! SHA-256 are finished from the input's hash state without reading anything back. A file is
//! written to a temporary file beside the destination, made durable, and only then renamed
//! into place: a failure at any step (TSA down, wrong PIN, full disk) leaves no output file
//! and never touches the input.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Mutex, OnceLock, PoisonError};

use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::PadesError;
use super::cms::{CmsRequest, SignedCms};
use super::document::{
    self, DssAddition, EmbeddedSignature, ExistingField, SignatureDictionary, SignatureInfo,
    SignatureKind,
};
use super::fetch::Fetcher;
use super::key::{DigestAlgorithm, KeySigner, SignatureScheme};
use super::revocation::{self, Status, ValidationData};
use super::tsp::{self, Timestamp};
use crate::pdf::incremental::{PdfRevision, Update, WrittenUpdate, write_update};
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

/// What changes from one document to the next when one key signs many
/// ([`SigningSession::sign_file`], [`SigningSession::sign_bytes`]).
#[derive(Default)]
pub struct DocumentOptions {
    pub info: SignatureInfo,
    /// Name of an existing empty field to sign, or of the field to create.
    pub field: Option<String>,
    pub visible: Option<Visible>,
}

/// A document signed in memory, and what was done.
#[derive(Debug, Clone)]
pub struct SignedDocument {
    pub bytes: Vec<u8>,
    pub outcome: SignOutcome,
}

/// The per-document settings, borrowed from a [`DocumentOptions`] or a [`SignOptions`].
#[derive(Clone, Copy)]
struct DocumentSpec<'d> {
    info: &'d SignatureInfo,
    field: &'d Option<String>,
    visible: &'d Option<Visible>,
}

impl SignOptions {
    fn document(&self) -> DocumentSpec<'_> {
        DocumentSpec {
            info: &self.info,
            field: &self.field,
            visible: &self.visible,
        }
    }
}

impl DocumentOptions {
    fn spec(&self) -> DocumentSpec<'_> {
        DocumentSpec {
            info: &self.info,
            field: &self.field,
            visible: &self.visible,
        }
    }
}

/// Signs `input` into `output`: a [`SigningSession`] of one document.
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
    check_output(input, output, false)?;
    let revision = PdfRevision::open(input)?;
    let field = FieldPlan::new(&revision, options.document())?;
    let session = SigningSession::new(signer, trust, options, now)?;
    let (staged, signed) = session.sign_revision(
        revision,
        field,
        options.document(),
        Target::File { input, output },
        now,
    )?;
    let (size, sha256) = staged.finish_file(output)?;
    Ok(session.outcome(signed, size, sha256, now))
}

/// Where the new signature goes in one document, once the document is known to accept it.
struct FieldPlan {
    existing: Option<ExistingField>,
    name: String,
}

impl FieldPlan {
    fn new(revision: &PdfRevision, options: DocumentSpec<'_>) -> Result<Self, PadesError> {
        // 1. The document must accept another signature.
        let fields = document::signature_fields(revision)?;
        let signed_count = fields.iter().filter(|f| f.value.is_some()).count();
        if document::docmdp_permission(revision) == Some(1) {
            return Err(PadesError::DocMdpForbids);
        }
        if options.info.certify.is_some() && signed_count > 0 {
            return Err(PadesError::CertifyNotFirst);
        }
        // An existing empty field, or a new name that collides with no field; not locked.
        let (existing, field_name) = document::choose_field(revision, options.field.as_deref())?;
        Ok(FieldPlan {
            existing,
            name: field_name,
        })
    }
}

/// How long a pre-signing revocation check (`check_revocation` at B-B/B-T) answers for the
/// next documents of a session before it is asked again. B-LT and B-LTA embed the answers, so
/// they ask for every document, as fresh as its signature.
pub const REVOCATION_REUSE: time::Duration = time::Duration::minutes(5);

/// One key signing many documents: officials signing a batch of results, the HTTP layer, the
/// benchmark. The work that depends only on the key is done once, in [`SigningSession::new`]
/// at `now`: the certificate's validity and key usage, its path to a trust anchor (fetching
/// missing issuers unless offline), revocation when asked (always for B-LT and B-LTA), the
/// signature scheme, the chain to embed and, for B-B, the container size.
///
/// Every document is still checked at the time it is signed: the signer's certificate must be
/// valid then (a session is never used past the certificate's expiry), and when that time
/// leaves the window in which every certificate of the validated path is valid, the path is
/// validated again at that time, exactly as a new session would. Revocation answers are reused
/// for [`REVOCATION_REUSE`] at B-B/B-T and asked again for every document at B-LT/B-LTA. The
/// document's own checks (DocMDP, fields, an existing field, the appearance) and the TSA
/// requests are per document.
pub struct SigningSession<'k> {
    key: KeyContext<'k>,
    subject: String,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    path: KeyPath,
    revocation: Mutex<Option<RevocationCheck>>,
}

/// The key, the trust store and the settings that hold for every document of a session.
struct KeyContext<'k> {
    signer: &'k dyn KeySigner,
    trust: &'k TrustStore,
    /// Made when first needed (offline B-B never needs it).
    fetcher: OnceLock<Fetcher>,
    level: Level,
    digest: DigestAlgorithm,
    scheme: SignatureScheme,
    tsa_url: Option<String>,
    allow_untrusted: bool,
    offline: bool,
    /// Ask OCSP/CRL before signing (B-LT and B-LTA always do).
    check_revocation: bool,
    supplied: ValidationData,
    /// The key's chain and the extra certificates: candidates for the path.
    known: Vec<Vec<u8>>,
    /// The certificate's public key, parsed once: every signature is checked against it.
    public_key: openssl::pkey::PKey<openssl::pkey::Public>,
}

/// The signer's path as validated at some time, and what follows from it.
struct KeyPath {
    /// Leaf first, anchor last (or the leaf and the known certificates when untrusted
    /// signing was allowed and no path validated).
    path: Vec<Vec<u8>>,
    /// The validation's outcome holds while every certificate it judged is valid.
    valid_from: OffsetDateTime,
    valid_until: OffsetDateTime,
    /// The certificates embedded beside the signer's.
    embedded_chain: Vec<Vec<u8>>,
    /// Container size without a timestamp (B-B); with one, it is sized per document.
    capacity: Option<usize>,
}

impl KeyPath {
    fn covers(&self, at: OffsetDateTime) -> bool {
        self.valid_from <= at && at <= self.valid_until
    }
}

/// The last revocation answers, for reuse within [`REVOCATION_REUSE`].
struct RevocationCheck {
    at: OffsetDateTime,
    path: Vec<Vec<u8>>,
    data: ValidationData,
}

/// What the signature of one document did, before the output is finished.
struct Signed {
    field: String,
    timestamp_time: Option<OffsetDateTime>,
    capacity: usize,
    used: usize,
}

/// Where one document's output goes.
enum Target<'a> {
    File { input: &'a Path, output: &'a Path },
    Memory(&'a [u8]),
}

impl<'k> SigningSession<'k> {
    /// Checks the key for signing at `now` (see the type's documentation). `options`' per-key
    /// settings are used; its `info`, `field` and `visible` are not (every document brings
    /// its own [`DocumentOptions`]).
    ///
    /// # Errors
    /// The certificate is expired, not yet valid, revoked, without a signing key usage or
    /// without a path to a trust anchor (unless `allow_untrusted`); revocation unavailable at
    /// B-LT/B-LTA; no TSA for B-T and above.
    pub fn new(
        signer: &'k dyn KeySigner,
        trust: &'k TrustStore,
        options: &SignOptions,
        now: OffsetDateTime,
    ) -> Result<Self, PadesError> {
        // 2. The signer's certificate must be usable now.
        let certificate = check_certificate(signer.certificate(), now)?;
        let key = KeyContext {
            signer,
            trust,
            fetcher: OnceLock::new(),
            level: options.level,
            digest: options.digest,
            scheme: super::key::choose_scheme(signer.kind(), options.pss)?,
            tsa_url: options.tsa_url.clone(),
            allow_untrusted: options.allow_untrusted,
            offline: options.offline,
            check_revocation: options.check_revocation,
            supplied: options.supplied.clone(),
            known: signer
                .chain()
                .iter()
                .chain(options.extra_certificates.iter())
                .cloned()
                .collect(),
            public_key: openssl::x509::X509::from_der(signer.certificate())
                .and_then(|c| c.public_key())
                .map_err(super::key::openssl_error)?,
        };
        let path = key.establish_path(now)?;
        let session = SigningSession {
            key,
            subject: certificate.subject,
            not_before: certificate.not_before,
            not_after: certificate.not_after,
            path,
            revocation: Mutex::new(None),
        };
        session.validation_at(&session.path, now)?;
        if session.key.level > Level::BB && session.key.tsa_url.is_none() {
            return Err(PadesError::Timestamp {
                url: String::new(),
                reason: format!("level {} needs a TSA (--tsa URL)", session.key.level.name()),
            });
        }
        Ok(session)
    }

    /// The signer's certificate subject.
    pub fn signer_subject(&self) -> &str {
        &self.subject
    }

    /// Signs the PDF at `input` into `output` at time `now`.
    ///
    /// # Errors
    /// Any [`PadesError`]; on error nothing is written at `output`.
    pub fn sign_file(
        &self,
        input: &Path,
        output: &Path,
        document: &DocumentOptions,
        now: OffsetDateTime,
    ) -> Result<SignOutcome, PadesError> {
        check_output(input, output, false)?;
        let revision = PdfRevision::open(input)?;
        let field = FieldPlan::new(&revision, document.spec())?;
        let (staged, signed) = self.sign_revision(
            revision,
            field,
            document.spec(),
            Target::File { input, output },
            now,
        )?;
        let (size, sha256) = staged.finish_file(output)?;
        Ok(self.outcome(signed, size, sha256, now))
    }

    /// Signs the PDF `input` in memory at time `now` (no file, no fsync).
    ///
    /// # Errors
    /// Any [`PadesError`].
    pub fn sign_bytes(
        &self,
        input: &[u8],
        document: &DocumentOptions,
        now: OffsetDateTime,
    ) -> Result<SignedDocument, PadesError> {
        let revision = PdfRevision::from_bytes(input)?;
        let field = FieldPlan::new(&revision, document.spec())?;
        let (staged, signed) =
            self.sign_revision(revision, field, document.spec(), Target::Memory(input), now)?;
        let (bytes, sha256) = staged.finish_memory()?;
        let outcome = self.outcome(signed, bytes.len() as u64, sha256, now);
        Ok(SignedDocument { bytes, outcome })
    }

    fn outcome(
        &self,
        signed: Signed,
        size: u64,
        sha256: String,
        now: OffsetDateTime,
    ) -> SignOutcome {
        SignOutcome {
            field: signed.field,
            level: self.key.level.name(),
            signer: self.subject.clone(),
            signing_time: now,
            timestamp_time: signed.timestamp_time,
            size,
            sha256,
            reserved: signed.capacity,
            used: signed.used,
        }
    }

    /// Refuses `now` outside the signer's certificate's validity.
    fn check_validity(&self, now: OffsetDateTime) -> Result<(), PadesError> {
        if now < self.not_before {
            return Err(PadesError::CertificateNotYetValid {
                not_before: super::display_time(self.not_before),
            });
        }
        if now > self.not_after {
            return Err(PadesError::CertificateExpired {
                not_after: super::display_time(self.not_after),
            });
        }
        Ok(())
    }

    /// The revocation data for `path` at `now` (empty when not asked for), reusing the last
    /// answers when they are recent enough.
    fn validation_at(
        &self,
        path: &KeyPath,
        now: OffsetDateTime,
    ) -> Result<ValidationData, PadesError> {
        let key = &self.key;
        if key.level < Level::BLT && !key.check_revocation {
            return Ok(ValidationData::default());
        }
        let reuse = if key.level >= Level::BLT {
            time::Duration::ZERO
        } else {
            REVOCATION_REUSE
        };
        let mut last = self
            .revocation
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(check) = last.as_ref()
            && check.path == path.path
            && (now - check.at).abs() <= reuse
        {
            return Ok(check.data.clone());
        }
        let data = key.revocation(&path.path, now)?;
        *last = Some(RevocationCheck {
            at: now,
            path: path.path.clone(),
            data: data.clone(),
        });
        Ok(data)
    }

    /// Signs one document: `revision` is the input's latest revision, `target` where its
    /// bytes are and where the output goes.
    fn sign_revision(
        &self,
        revision: PdfRevision,
        field: FieldPlan,
        options: DocumentSpec<'_>,
        target: Target<'_>,
        now: OffsetDateTime,
    ) -> Result<(Staged, Signed), PadesError> {
        let key = &self.key;
        let signer = key.signer;
        let network = key.network();

        // An existing field's seed values (/SV) the signature must follow.
        if let Some(existing) = &field.existing {
            document::check_seed_values(
                &revision,
                existing,
                &document::SeedCheck {
                    reason: options.info.reason.as_deref(),
                    certify: options.info.certify,
                    digest: key.digest,
                    timestamped: key.level > Level::BB,
                },
            )?;
        }

        // 2. The signer's certificate must be usable now: its own validity, then the path,
        //    validated again when `now` is outside the window the session's validation holds.
        self.check_validity(now)?;
        let revalidated;
        let key_path = if self.path.covers(now) {
            &self.path
        } else {
            revalidated = key.establish_path(now)?;
            &revalidated
        };
        let mut validation = self.validation_at(key_path, now)?;

        // 3. Reserve room: the real CMS size with this key and chain, plus a probe timestamp.
        let tsa_url = match key.level {
            Level::BB => None,
            _ => key.tsa_url.as_deref(),
        };
        let probe = match tsa_url {
            Some(url) => Some(tsp::request(
                key.fetcher(),
                url,
                key.digest,
                b"hoso size probe",
            )?),
            None => None,
        };
        let capacity = match (key_path.capacity, &probe) {
            (Some(capacity), None) => capacity,
            _ => container_capacity(
                signer,
                key.scheme,
                key.digest,
                &key_path.embedded_chain,
                probe.as_ref(),
            )?,
        };

        // 4. Lay out the update: signature dictionary, field and widget, appearance.
        let existing = field.existing;
        let mut update = Update::new(&revision);
        let signature_id = update.allocate();
        let dictionary =
            SignatureDictionary::new(SignatureKind::Cades, capacity, now, options.info);
        let (page_index, mut rect) = match options.visible {
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
        // On a page with /Rotate the appearance is drawn upright at its size as displayed and
        // turned by the page's rotation (/Matrix, and /MK /R on the widget), so it reads
        // upright on the displayed page, as Acrobat and pyHanko do.
        let rotation = super::appearance::page_rotation(&revision.document, page);
        let appearance_id = match options.visible {
            Some(visible) => {
                let mut width = (rect[2] - rect[0]).abs();
                let mut height = (rect[3] - rect[1]).abs();
                if rotation % 180 == 90 {
                    std::mem::swap(&mut width, &mut height);
                }
                let mut allocate = || update.allocate();
                let (id, mut objects) = super::appearance::build(
                    &visible.appearance,
                    width,
                    height,
                    visible.qr.as_deref(),
                    &mut allocate,
                )?;
                if let Some((_, lopdf::Object::Stream(form))) = objects.first_mut() {
                    let matrix = super::appearance::rotation_matrix(rotation, width, height);
                    form.dict.set(
                        "Matrix",
                        matrix
                            .iter()
                            .map(|&v| lopdf::Object::Real(v as f32))
                            .collect::<Vec<_>>(),
                    );
                }
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
                name: &field.name,
                page,
                rect,
                appearance: Some(appearance_id),
                rotation,
            },
        )?;
        if options.info.certify.is_some() {
            document::set_docmdp(&revision, &mut update, signature_id)?;
        }
        update.set_raw(signature_id, dictionary.body.clone());

        // 5. The input's bytes (hashed as they are copied) + the update, then sign.
        let mut staged = Staged::create(target, revision.len, key.digest)?;
        let written = staged.append(&revision, update)?;
        drop(revision);
        let slot = Slot::locate(&dictionary, written.body_offsets[&signature_id])?;
        let digest = staged.byte_range_digest(&slot)?;
        let mut cms = SignedCms::sign(&CmsRequest {
            signer,
            scheme: key.scheme,
            digest_algorithm: key.digest,
            content_digest: &digest,
            extra_certificates: &key_path.embedded_chain,
        })?;
        // A key that is not the certificate's (from any source) is caught here, before the
        // signature is written anywhere.
        cms.verify_signature_with(&key.public_key)?;
        let mut timestamp_time = None;
        let mut tsa_path = Vec::new();
        if let Some(url) = tsa_url {
            let timestamp = tsp::request(key.fetcher(), url, key.digest, cms.signature_value())?;
            tsa_path = check_tsa(&timestamp, key.trust, network, key.allow_untrusted, now)?;
            cms.add_signature_timestamp(&timestamp.token)?;
            timestamp_time = Some(timestamp.time);
        }
        let container = cms.to_der()?;
        staged.patch_contents(&slot, &container)?;
        let used = container.len();

        // 6. Long-term: validation data, then an archive timestamp.
        if key.level >= Level::BLT {
            if tsa_path.len() > 1 {
                let (data, _) =
                    revocation::gather(&tsa_path, key.trust, network, &key.supplied, now)?;
                validation.extend(data);
            }
            let mut contents = container;
            contents.resize(capacity, 0);
            append_dss(&mut staged, &validation, vec![contents])?;
        }
        if key.level == Level::BLTA
            && let Some(url) = tsa_url
        {
            append_document_timestamp(&mut staged, key.fetcher(), url, key.digest, now)?;
        }
        Ok((
            staged,
            Signed {
                field: field.name,
                timestamp_time,
                capacity,
                used,
            },
        ))
    }
}

impl KeyContext<'_> {
    fn fetcher(&self) -> &Fetcher {
        self.fetcher.get_or_init(Fetcher::default)
    }

    fn network(&self) -> Option<&Fetcher> {
        (!self.offline).then(|| self.fetcher())
    }

    /// Builds and validates the signer's path at `at` (or, with `allow_untrusted`, takes the
    /// leaf and the known certificates when none validates).
    fn establish_path(&self, at: OffsetDateTime) -> Result<KeyPath, PadesError> {
        let leaf = self.signer.certificate();
        let (path, validated) = match revocation::complete_chain(
            leaf,
            &self.known,
            self.trust,
            self.network(),
            at,
        ) {
            Ok(path) => (path, true),
            Err(e) if self.allow_untrusted => {
                tracing::warn!(error = %e, "signing with an untrusted certificate (--allow-untrusted)");
                let path: Vec<Vec<u8>> = std::iter::once(leaf.to_vec())
                    .chain(self.known.iter().cloned())
                    .collect();
                (path, false)
            }
            Err(e) => return Err(e),
        };
        // The outcome holds while every certificate it judged stays valid: the whole path
        // when it validated, only the leaf otherwise. A certificate whose dates cannot be
        // read narrows the window to `at` itself (validated again for every other time).
        let judged = if validated { &path[..] } else { &path[..1] };
        let mut window: Option<(OffsetDateTime, OffsetDateTime)> = None;
        for der in judged {
            let (not_before, not_after) = validity(der).unwrap_or((at, at));
            window = Some(match window {
                None => (not_before, not_after),
                Some((from, until)) => (from.max(not_before), until.min(not_after)),
            });
        }
        let (valid_from, valid_until) = window.unwrap_or((at, at));
        let embedded_chain: Vec<Vec<u8>> = path.iter().skip(1).cloned().collect();
        let capacity = match self.level {
            Level::BB => Some(container_capacity(
                self.signer,
                self.scheme,
                self.digest,
                &embedded_chain,
                None,
            )?),
            _ => None,
        };
        Ok(KeyPath {
            path,
            valid_from,
            valid_until,
            embedded_chain,
            capacity,
        })
    }

    /// Asks for the revocation status of every certificate of `path` at `now`: a revoked
    /// certificate refuses the signature, and so does an unknown status of the signer's at
    /// B-LT/B-LTA (whose output must carry it).
    fn revocation(
        &self,
        path: &[Vec<u8>],
        now: OffsetDateTime,
    ) -> Result<ValidationData, PadesError> {
        let (data, statuses) =
            revocation::gather(path, self.trust, self.network(), &self.supplied, now)?;
        for status in &statuses {
            if let Status::Revoked { at } = status {
                return Err(PadesError::CertificateRevoked { at: at.clone() });
            }
        }
        if self.level >= Level::BLT
            && let Some(Status::Unknown { reason }) = statuses.first()
        {
            return Err(PadesError::RevocationUnavailable {
                reason: reason.clone(),
            });
        }
        Ok(data)
    }
}

/// A certificate's validity period.
fn validity(der: &[u8]) -> Option<(OffsetDateTime, OffsetDateTime)> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    Some((
        cert.validity().not_before.to_datetime(),
        cert.validity().not_after.to_datetime(),
    ))
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
    if options.level < Level::BLT {
        return Err(PadesError::ExtendLevel {
            level: options.level.name(),
        });
    }
    check_output(input, output, true)?;
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
    let input_len = revision.len;
    drop(revision);
    let mut staged = Staged::create(Target::File { input, output }, input_len, options.digest)?;
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
    let (size, sha256) = staged.finish_file(output)?;
    Ok(ExtendOutcome {
        level: options.level.name(),
        signatures: signatures.len(),
        timestamp_time,
        size,
        sha256,
    })
}

/// How this process's temporary outputs begin (`.hoso-sign-PID-`, then random, then
/// `.part`): what the CLI removes when a signal stops it before the rename (a signal ends the
/// process without running destructors).
pub fn temp_prefix() -> String {
    format!(".hoso-sign-{}-", std::process::id())
}

/// Refuses an output that would replace the input (same path, or the same file under
/// another name, link or hard link), unless `in_place` (extension), and one that exists but is
/// not a regular file (a directory, a device, a FIFO, a link to one).
fn check_output(input: &Path, output: &Path, in_place: bool) -> Result<(), PadesError> {
    let shown = || output.display().to_string();
    let Ok(found) = std::fs::metadata(output) else {
        // Nothing there (or a dangling link, which the rename replaces).
        return Ok(());
    };
    if !found.is_file() {
        return Err(PadesError::OutputNotRegular { path: shown() });
    }
    if in_place {
        return Ok(());
    }
    let same = match (std::fs::metadata(input), std::fs::canonicalize(input)) {
        (Ok(source), Ok(canonical)) => {
            use std::os::unix::fs::MetadataExt;
            (source.dev(), source.ino()) == (found.dev(), found.ino())
                || std::fs::canonicalize(output).is_ok_and(|o| o == canonical)
        }
        // The input cannot be read: opening it fails with its own error.
        _ => false,
    };
    if same {
        return Err(PadesError::OutputIsInput { path: shown() });
    }
    Ok(())
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
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
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
            not_before: super::display_time(not_before),
        });
    }
    if now > not_after {
        return Err(PadesError::CertificateExpired {
            not_after: super::display_time(not_after),
        });
    }
    if let Ok(Some(usage)) = cert.key_usage()
        && !(usage.value.digital_signature() || usage.value.non_repudiation())
    {
        return Err(PadesError::CertificateKeyUsage);
    }
    Ok(CheckedCertificate {
        subject: cert.subject().to_string(),
        not_before,
        not_after,
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
    digest: DigestAlgorithm,
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
    let zero_digest = vec![0u8; digest.output_len()];
    let mut cms = SignedCms::sign(&CmsRequest {
        signer: &SizeProbe(signer),
        scheme,
        digest_algorithm: digest,
        content_digest: &zero_digest,
        extra_certificates: chain,
    })?;
    if let Some(probe) = probe {
        cms.add_signature_timestamp(&probe.token)?;
    }
    // 64 bytes: token serial numbers, times and nonces vary by a few bytes between requests.
    Ok(cms.to_der()?.len() + 64)
}

/// Bytes read, hashed and copied at a time: small enough that the copy reads what the hash
/// just read from cache (measured: 256 KiB is ~10 % faster than 1 MiB on a 40 MB input).
const COPY_CHUNK: usize = 256 * 1024;
/// Room reserved after the input in memory for what is appended (the signature revision with
/// its placeholder and appearance, a DSS, a document timestamp), so the buffer rarely grows.
const TAIL_RESERVE: usize = 256 * 1024;

/// The hash states of the input's bytes: what is appended later is all that remains to hash
/// for the byte ranges (which start with the whole input) and for the output's SHA-256.
struct InputHash {
    sha256: openssl::sha::Sha256,
    /// The byte-range digest's own state when it is not SHA-256.
    other: Option<openssl::hash::Hasher>,
}

impl InputHash {
    fn new(algorithm: DigestAlgorithm) -> Result<Self, PadesError> {
        let other = match algorithm {
            DigestAlgorithm::Sha256 => None,
            _ => Some(
                openssl::hash::Hasher::new(algorithm.message_digest())
                    .map_err(super::key::openssl_error)?,
            ),
        };
        Ok(InputHash {
            sha256: openssl::sha::Sha256::new(),
            other,
        })
    }

    fn update(&mut self, chunk: &[u8]) -> Result<(), PadesError> {
        self.sha256.update(chunk);
        if let Some(other) = &mut self.other {
            other.update(chunk).map_err(super::key::openssl_error)?;
        }
        Ok(())
    }

    /// A byte-range hasher that has already seen the whole input.
    fn ranges(&self) -> RangeHasher {
        match &self.other {
            None => RangeHasher::Sha256(self.sha256.clone()),
            Some(other) => RangeHasher::Other(other.clone()),
        }
    }
}

enum RangeHasher {
    Sha256(openssl::sha::Sha256),
    Other(openssl::hash::Hasher),
}

impl RangeHasher {
    fn update(&mut self, chunk: &[u8]) -> Result<(), PadesError> {
        match self {
            RangeHasher::Sha256(hasher) => hasher.update(chunk),
            RangeHasher::Other(hasher) => {
                hasher.update(chunk).map_err(super::key::openssl_error)?
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<Vec<u8>, PadesError> {
        Ok(match self {
            RangeHasher::Sha256(hasher) => hasher.finish().to_vec(),
            RangeHasher::Other(mut hasher) => {
                hasher.finish().map_err(super::key::openssl_error)?.to_vec()
            }
        })
    }
}

enum Sink {
    /// A temporary file in the destination's folder, holding the input's bytes and then
    /// whatever of `Staged::buffer` was flushed.
    File(tempfile::NamedTempFile),
    Memory,
}

/// The output being built: the input's bytes, hashed once while they were copied, then the
/// appended revisions, kept in memory until the end (they are small), so that the byte ranges
/// and the output's SHA-256 never need the input read again.
struct Staged {
    sink: Sink,
    /// In memory, the whole output; for a file, what follows the input.
    buffer: Vec<u8>,
    /// Offset in the output of `buffer[0]`.
    base: u64,
    input_len: u64,
    /// For a file: how much of `buffer` is already written to it.
    flushed: usize,
    input_hash: InputHash,
}

impl Staged {
    /// Copies the input (`expected_len` bytes, as parsed) to the target, hashing it on the
    /// way with SHA-256 and `algorithm`.
    fn create(
        target: Target<'_>,
        expected_len: u64,
        algorithm: DigestAlgorithm,
    ) -> Result<Self, PadesError> {
        let mut input_hash = InputHash::new(algorithm)?;
        match target {
            Target::Memory(input) => {
                let mut buffer = Vec::with_capacity(input.len() + TAIL_RESERVE);
                for chunk in input.chunks(COPY_CHUNK) {
                    input_hash.update(chunk)?;
                    buffer.extend_from_slice(chunk);
                }
                Ok(Staged {
                    sink: Sink::Memory,
                    buffer,
                    base: 0,
                    input_len: input.len() as u64,
                    flushed: 0,
                    input_hash,
                })
            }
            Target::File { input, output } => {
                let dir = match output.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
                    _ => std::path::PathBuf::from("."),
                };
                let mut temp = tempfile::Builder::new()
                    .prefix(&temp_prefix())
                    .suffix(".part")
                    .tempfile_in(&dir)?;
                let mut source = File::open(input)?;
                let mut chunk = vec![0u8; COPY_CHUNK];
                let mut copied = 0u64;
                loop {
                    let n = match source.read(&mut chunk) {
                        Ok(0) => break,
                        Ok(n) => n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e.into()),
                    };
                    input_hash.update(&chunk[..n])?;
                    temp.as_file_mut().write_all(&chunk[..n])?;
                    copied += n as u64;
                }
                if copied != expected_len {
                    return Err(PadesError::Pdf(crate::pdf::PdfError::Malformed {
                        reason: format!(
                            "{} changed while it was being signed ({expected_len} bytes when \
                             read, {copied} when copied)",
                            input.display()
                        ),
                    }));
                }
                Ok(Staged {
                    sink: Sink::File(temp),
                    buffer: Vec::with_capacity(TAIL_RESERVE),
                    base: copied,
                    input_len: copied,
                    flushed: 0,
                    input_hash,
                })
            }
        }
    }

    /// Length of the output so far.
    fn len(&self) -> u64 {
        self.base + self.buffer.len() as u64
    }

    /// Index in `buffer` of output offset `offset`, for `len` bytes that may still change.
    fn patchable(&self, offset: u64, len: usize) -> Result<usize, PadesError> {
        let index = offset
            .checked_sub(self.base)
            .and_then(|i| usize::try_from(i).ok())
            .filter(|&i| i >= self.flushed && i + len <= self.buffer.len())
            .ok_or_else(|| PadesError::Internal {
                reason: format!("offset {offset} is not in the part of the output being built"),
            })?;
        Ok(index)
    }

    /// What follows the input: everything appended.
    fn appended(&self) -> &[u8] {
        &self.buffer[(self.input_len - self.base) as usize..]
    }

    /// Appends `update` to the output, which must hold exactly `revision`'s bytes.
    fn append(
        &mut self,
        revision: &PdfRevision,
        update: Update,
    ) -> Result<WrittenUpdate, PadesError> {
        if revision.len != self.len() {
            return Err(PadesError::Internal {
                reason: format!(
                    "update for a revision of {} bytes appended to an output of {}",
                    revision.len,
                    self.len()
                ),
            });
        }
        Ok(write_update(&mut self.buffer, revision, update)?)
    }

    /// Writes the real `/ByteRange` of `slot` and returns the digest of the bytes it covers:
    /// everything but the `/Contents` value.
    fn byte_range_digest(&mut self, slot: &Slot) -> Result<Vec<u8>, PadesError> {
        let end = self.len();
        if slot.contents_start < self.input_len || slot.contents_end > end {
            return Err(PadesError::Internal {
                reason: "the signature placeholder is not in the appended update".to_owned(),
            });
        }
        let mut text = format!(
            "[0 {} {} {}]",
            slot.contents_start,
            slot.contents_end,
            end - slot.contents_end
        );
        if text.len() > slot.byte_range_len {
            return Err(PadesError::Internal {
                reason: "file too large for the byte range placeholder".to_owned(),
            });
        }
        while text.len() < slot.byte_range_len {
            text.push(' ');
        }
        let at = self.patchable(slot.byte_range_at, text.len())?;
        self.buffer[at..at + text.len()].copy_from_slice(text.as_bytes());
        let appended = self.appended();
        let contents_start = (slot.contents_start - self.input_len) as usize;
        let contents_end = (slot.contents_end - self.input_len) as usize;
        let mut hasher = self.input_hash.ranges();
        hasher.update(&appended[..contents_start])?;
        hasher.update(&appended[contents_end..])?;
        hasher.finish()
    }

    /// Writes the signature container (hex, zero-padded) into `/Contents` of `slot`.
    fn patch_contents(&mut self, slot: &Slot, container: &[u8]) -> Result<(), PadesError> {
        if container.len() > slot.capacity {
            return Err(PadesError::Internal {
                reason: format!(
                    "signature of {} bytes does not fit the {} reserved",
                    container.len(),
                    slot.capacity
                ),
            });
        }
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let at = self.patchable(slot.contents_start + 1, 2 * container.len())?;
        let hex = &mut self.buffer[at..at + 2 * container.len()];
        for (pair, byte) in hex.chunks_exact_mut(2).zip(container) {
            pair[0] = HEX[usize::from(byte >> 4)];
            pair[1] = HEX[usize::from(byte & 0x0f)];
        }
        Ok(())
    }

    /// Parses the output as it now stands (for the next revision).
    fn reopen(&mut self) -> Result<PdfRevision, PadesError> {
        match &mut self.sink {
            Sink::Memory => Ok(PdfRevision::from_bytes(&self.buffer)?),
            Sink::File(temp) => {
                let file = temp.as_file_mut();
                file.write_all(&self.buffer[self.flushed..])?;
                file.flush()?;
                self.flushed = self.buffer.len();
                Ok(PdfRevision::open(temp.path())?)
            }
        }
    }

    /// SHA-256 of the whole output, hex: the input's state plus what was appended.
    fn sha256(&self) -> String {
        let mut hasher = self.input_hash.sha256.clone();
        hasher.update(self.appended());
        hex::encode(hasher.finish())
    }

    /// Writes the rest, makes the file durable and moves it to `output`; returns its size and
    /// SHA-256.
    fn finish_file(mut self, output: &Path) -> Result<(u64, String), PadesError> {
        let size = self.len();
        let sha256 = self.sha256();
        let Sink::File(mut temp) = self.sink else {
            return Err(PadesError::Internal {
                reason: "an in-memory output finished as a file".to_owned(),
            });
        };
        let file = temp.as_file_mut();
        file.write_all(&self.buffer[self.flushed..])?;
        self.flushed = self.buffer.len();
        file.flush()?;
        file.sync_all()?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(0o644))?;
        }
        temp.persist(output).map_err(|e| PadesError::Io(e.error))?;
        if let Some(dir) = output.parent().filter(|p| !p.as_os_str().is_empty())
            && let Ok(dir) = File::open(dir)
        {
            let _ = dir.sync_all();
        }
        Ok((size, sha256))
    }

    /// The output's bytes and SHA-256.
    fn finish_memory(self) -> Result<(Vec<u8>, String), PadesError> {
        if !matches!(self.sink, Sink::Memory) {
            return Err(PadesError::Internal {
                reason: "a file output finished in memory".to_owned(),
            });
        }
        let sha256 = self.sha256();
        Ok((self.buffer, sha256))
    }
}

/// Where a signature dictionary's placeholders are in the output.
struct Slot {
    /// Offset of the `/ByteRange` array's `[`, and the array's length with its padding.
    byte_range_at: u64,
    byte_range_len: usize,
    /// Offset of `<` of `/Contents`, and just after `>`.
    contents_start: u64,
    contents_end: u64,
    /// Bytes of container the hex string holds.
    capacity: usize,
}

impl Slot {
    /// Finds the placeholders `SignatureDictionary::new` writes first in the dictionary:
    /// `/ByteRange [0 0000000000 …]` then `/Contents <00…00>`, the dictionary's body being
    /// at `body_offset` in the output.
    fn locate(dictionary: &SignatureDictionary, body_offset: u64) -> Result<Self, PadesError> {
        fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
            haystack.windows(needle.len()).position(|w| w == needle)
        }
        let body = &dictionary.body;
        let missing = || PadesError::Internal {
            reason: "the signature dictionary lacks its /ByteRange or /Contents placeholder"
                .to_owned(),
        };
        let byte_range_at = find(body, b"/ByteRange [").ok_or_else(missing)? + b"/ByteRange ".len();
        let byte_range_len = body[byte_range_at..]
            .iter()
            .position(|&b| b == b']')
            .ok_or_else(missing)?
            + 1;
        let after_range = byte_range_at + byte_range_len;
        let contents_start = after_range
            + find(&body[after_range..], b"/Contents <").ok_or_else(missing)?
            + b"/Contents ".len();
        let hex_len = body[contents_start + 1..]
            .iter()
            .position(|&b| b == b'>')
            .ok_or_else(missing)?;
        let hex = &body[contents_start + 1..contents_start + 1 + hex_len];
        if hex_len % 2 != 0 || hex.iter().any(|&b| b != b'0') {
            return Err(missing());
        }
        Ok(Slot {
            byte_range_at: body_offset + byte_range_at as u64,
            byte_range_len,
            contents_start: body_offset + contents_start as u64,
            contents_end: body_offset + (contents_start + 2 + hex_len) as u64,
            capacity: hex_len / 2,
        })
    }
}

/// Appends a DSS revision to the staged output.
fn append_dss(
    staged: &mut Staged,
    validation: &ValidationData,
    signatures: Vec<Vec<u8>>,
) -> Result<(), PadesError> {
    let revision = staged.reopen()?;
    let mut update = Update::new(&revision);
    document::add_dss(
        &revision,
        &mut update,
        &DssAddition {
            data: validation,
            signatures,
        },
    )?;
    staged.append(&revision, update)?;
    Ok(())
}

/// Appends a document timestamp (ETSI.RFC3161) revision to the staged output.
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
    let revision = staged.reopen()?;
    let name = document::unused_field_name(&revision, "DocTimeStamp")?;
    let mut update = Update::new(&revision);
    let signature_id = update.allocate();
    let dictionary = SignatureDictionary::new(
        SignatureKind::DocumentTimestamp,
        capacity,
        now,
        &SignatureInfo::default(),
    );
    // No appearance: a document timestamp is never shown (see `document::Widget`).
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
            appearance: None,
            rotation: 0,
        },
    )?;
    update.set_raw(signature_id, dictionary.body.clone());
    let written = staged.append(&revision, update)?;
    drop(revision);
    let slot = Slot::locate(&dictionary, written.body_offsets[&signature_id])?;
    let digest = staged.byte_range_digest(&slot)?;
    let timestamp = tsp::request_for_digest(fetcher, url, algorithm, &digest)?;
    staged.patch_contents(&slot, &timestamp.token)?;
    Ok(timestamp.time)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pades::key::SoftwareKey;
    use openssl::cms::{CMSOptions, CmsContentInfo};
    use openssl::stack::Stack;
    use openssl::x509::X509;
    use openssl::x509::store::X509StoreBuilder;
    use std::path::PathBuf;
    use time::macros::datetime;

    fn repository() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    fn key(name: &str) -> SoftwareKey {
        SoftwareKey::from_pkcs12_file(
            &repository().join(format!("certs/test-pki/{name}.p12")),
            "test",
        )
        .unwrap()
    }

    /// The test root alone, so that the path must go through the issuing CA.
    fn trust() -> (tempfile::TempDir, TrustStore) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            repository().join("certs/test-pki/root.crt"),
            dir.path().join("root.crt"),
        )
        .unwrap();
        let store = TrustStore::load(&[dir.path().to_owned()]).unwrap();
        (dir, store)
    }

    fn sample() -> Vec<u8> {
        std::fs::read(repository().join("samples/cong-van.pdf")).unwrap()
    }

    /// The `/ByteRange` and `/Contents` of the last signature in `pdf`.
    fn last_signature(pdf: &[u8]) -> ([u64; 4], Vec<u8>) {
        let at = pdf
            .windows(11)
            .rposition(|w| w == b"/ByteRange ")
            .expect("a /ByteRange");
        let text = std::str::from_utf8(&pdf[at + 11..at + 11 + 40]).unwrap();
        let inside = &text[1..text.find(']').unwrap()];
        let values: Vec<u64> = inside
            .split_whitespace()
            .map(|v| v.parse().unwrap())
            .collect();
        let range = [values[0], values[1], values[2], values[3]];
        let hex = &pdf[range[1] as usize + 1..range[2] as usize - 1];
        let contents = hex::decode(hex).unwrap();
        (range, trim_padding(&contents).to_vec())
    }

    /// OpenSSL verifies the CMS over the byte ranges, and they cover all but `/Contents`.
    fn assert_signature_verifies(pdf: &[u8]) {
        let (range, container) = last_signature(pdf);
        assert_eq!(range[0], 0);
        assert_eq!(
            range[2] + range[3],
            pdf.len() as u64,
            "the ranges reach the end"
        );
        let mut content = pdf[..range[1] as usize].to_vec();
        content.extend_from_slice(&pdf[range[2] as usize..]);
        let mut cms = CmsContentInfo::from_der(&container).unwrap();
        let mut store = X509StoreBuilder::new().unwrap();
        store
            .add_cert(
                X509::from_pem(
                    &std::fs::read(repository().join("certs/test-pki/root.crt")).unwrap(),
                )
                .unwrap(),
            )
            .unwrap();
        cms.verify(
            Some(&Stack::new().unwrap()),
            Some(&store.build()),
            Some(&content),
            None,
            CMSOptions::BINARY | CMSOptions::NO_SIGNER_CERT_VERIFY,
        )
        .expect("the CMS verifies over the byte ranges");
    }

    #[test]
    fn a_session_signs_many_documents_in_memory_and_to_files_alike() {
        let (_dir, trust) = trust();
        let now = datetime!(2026-11-22 10:00 UTC);
        let input = sample();
        for (name, digest) in [
            ("official", DigestAlgorithm::Sha256),
            ("official-ec", DigestAlgorithm::Sha384),
        ] {
            let signer = key(name);
            let options = SignOptions {
                digest,
                offline: true,
                ..SignOptions::default()
            };
            let session = SigningSession::new(&signer, &trust, &options, now).unwrap();
            assert!(session.signer_subject().contains("Nguyễn Văn An"));
            for n in 0..3 {
                let later = now + time::Duration::hours(n);
                let document = DocumentOptions {
                    info: SignatureInfo {
                        reason: Some(format!("Kết quả số {n}")),
                        ..SignatureInfo::default()
                    },
                    ..DocumentOptions::default()
                };
                let signed = session.sign_bytes(&input, &document, later).unwrap();
                assert!(signed.bytes.starts_with(&input), "incremental update");
                assert_eq!(signed.outcome.size, signed.bytes.len() as u64);
                assert_eq!(
                    signed.outcome.sha256,
                    crate::digest::Sha256Digest::of(&signed.bytes).to_hex()
                );
                assert_eq!(signed.outcome.field, "Signature1");
                assert_eq!(signed.outcome.signing_time, later);
                assert_signature_verifies(&signed.bytes);
                // A second signature over the first, in the same session.
                let twice = session
                    .sign_bytes(&signed.bytes, &DocumentOptions::default(), later)
                    .unwrap();
                assert_eq!(twice.outcome.field, "Signature2");
                assert_signature_verifies(&twice.bytes);
            }

            let dir = tempfile::tempdir().unwrap();
            let input_path = dir.path().join("in.pdf");
            std::fs::write(&input_path, &input).unwrap();
            let output = dir.path().join("out.pdf");
            let outcome = session
                .sign_file(&input_path, &output, &DocumentOptions::default(), now)
                .unwrap();
            let written = std::fs::read(&output).unwrap();
            assert!(written.starts_with(&input));
            assert_eq!(outcome.size, written.len() as u64);
            assert_eq!(
                outcome.sha256,
                crate::digest::Sha256Digest::of(&written).to_hex()
            );
            assert_signature_verifies(&written);
            // Only the output is left in the folder: no temporary file.
            let names: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(names.len(), 2, "{names:?}");
        }
    }

    #[test]
    fn a_session_refuses_documents_signed_outside_the_certificate_validity() {
        let (_dir, trust) = trust();
        let signer = key("official");
        let options = SignOptions {
            offline: true,
            ..SignOptions::default()
        };
        // The official's certificate is valid from 2026-01-01 to 2036-01-01.
        let session =
            SigningSession::new(&signer, &trust, &options, datetime!(2035-12-31 12:00 UTC))
                .unwrap();
        let input = sample();
        let document = DocumentOptions::default();
        session
            .sign_bytes(&input, &document, datetime!(2035-12-31 23:00 UTC))
            .unwrap();
        let err = session
            .sign_bytes(&input, &document, datetime!(2036-01-02 0:00 UTC))
            .unwrap_err();
        assert!(
            matches!(err, PadesError::CertificateExpired { .. }),
            "{err}"
        );
        let err = session
            .sign_bytes(&input, &document, datetime!(2025-06-01 0:00 UTC))
            .unwrap_err();
        assert!(
            matches!(err, PadesError::CertificateNotYetValid { .. }),
            "{err}"
        );
        // A fresh session at the same time says the same.
        let err = SigningSession::new(&signer, &trust, &options, datetime!(2036-01-02 0:00 UTC))
            .err()
            .unwrap();
        assert!(
            matches!(err, PadesError::CertificateExpired { .. }),
            "{err}"
        );
    }

    #[test]
    fn a_session_without_a_trusted_path_is_refused_unless_allowed() {
        let empty = TrustStore::default();
        let signer = key("official");
        let now = datetime!(2026-11-22 10:00 UTC);
        let options = SignOptions {
            offline: true,
            ..SignOptions::default()
        };
        let err = SigningSession::new(&signer, &empty, &options, now)
            .err()
            .unwrap();
        assert!(matches!(err, PadesError::Untrusted(_)), "{err}");
        let allowed = SignOptions {
            allow_untrusted: true,
            ..options
        };
        let session = SigningSession::new(&signer, &empty, &allowed, now).unwrap();
        let signed = session
            .sign_bytes(&sample(), &DocumentOptions::default(), now)
            .unwrap();
        assert_signature_verifies(&signed.bytes);
    }

    #[test]
    fn a_document_that_is_not_a_pdf_is_refused_and_the_session_goes_on() {
        let (_dir, trust) = trust();
        let signer = key("official");
        let now = datetime!(2026-11-22 10:00 UTC);
        let options = SignOptions {
            offline: true,
            ..SignOptions::default()
        };
        let session = SigningSession::new(&signer, &trust, &options, now).unwrap();
        let document = DocumentOptions::default();
        assert!(session.sign_bytes(b"not a pdf", &document, now).is_err());
        let signed = session.sign_bytes(&sample(), &document, now).unwrap();
        assert_signature_verifies(&signed.bytes);
    }
}
