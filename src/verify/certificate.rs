//! `hoso verify-cert` (issue #5): one certificate checked on its own, at a given time.
//!
//! RFC 5280 path validation is OpenSSL's: chain building from the file, `--cert` files, the
//! trust store and (online) AIA caIssuers; signatures, validity at the time, basic
//! constraints, key usage of the CAs, name constraints, critical extensions and the syntax of
//! the policy extensions. OpenSSL 3.0 cannot be given a user-initial-policy-set through the
//! safe API (and without one it refuses every path that needs an explicit policy), so the
//! RFC 5280 §6.1 policy tree runs here ([`policy_tree`]), over the chain OpenSSL built, with
//! every initial parameter, and decides on policies.
//!
//! Revocation of every certificate but the anchor: OCSP responses (signature, responder
//! authorised by the issuer, current at the time) and CRLs judged by OpenSSL's own CRL
//! machinery (scope, distribution points, reason partitions, delta CRLs, the CRL issuer's key
//! usage and path, currency); supplied files first, then OCSP and CRL fetched from the
//! certificate's AIA and CRL distribution points unless offline. CRLs reach OpenSSL's store
//! through a temporary PEM file, the one way the safe API offers; OpenSSL looks store CRLs up
//! by the certificate issuer's name, so indirect CRLs (another CA's) are not found and leave
//! the status unknown.
//!
//! Verdicts follow ETSI EN 319 102-1 (X.509 certificate validation): REVOKED is
//! TOTAL-FAILED; so is a certificate signature in the chain that does not verify
//! (SIG_CRYPTO_FAILURE: a forged certificate, where EN 319 102-1 would only say
//! INDETERMINATE/CERTIFICATE_CHAIN_GENERAL_FAILURE); an unknown root is
//! INDETERMINATE/NO_CERTIFICATE_CHAIN_FOUND, an expired or not yet valid certificate
//! INDETERMINATE/OUT_OF_BOUNDS_NO_POE, a violated constraint
//! INDETERMINATE/CHAIN_CONSTRAINTS_FAILURE, unknown revocation status
//! INDETERMINATE/TRY_LATER under the strict policy and a warning under the lenient one.
//!
//! Synchronous and over bytes; time is passed in; network only through `pades::fetch`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::Path;

use openssl::stack::Stack;
use openssl::x509::store::{X509Lookup, X509StoreBuilder};
use openssl::x509::verify::{X509VerifyFlags, X509VerifyParam};
use openssl::x509::{X509, X509Crl, X509StoreContext, X509VerifyResult};
use serde::Serialize;
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, GeneralName, ParsedExtension, X509Certificate};

use super::messages::{Message, Severity};
use super::status::{EvidencePool, Source};
use super::{CertificateInfo, Indication, Policy, RevocationInfo, SubIndication};
use crate::pades::fetch::Fetcher;
use crate::pades::revocation::{self, EvidenceKind, Status};
use crate::trust::TrustStore;

/// The RFC 5280 §6.1.1 inputs about policies.
#[derive(Debug, Clone, Default)]
pub struct PolicyParameters {
    /// user-initial-policy-set (dotted OIDs); empty means anyPolicy.
    pub initial_policies: Vec<String>,
    /// initial-explicit-policy.
    pub require_explicit_policy: bool,
    /// initial-policy-mapping-inhibit.
    pub inhibit_policy_mapping: bool,
    /// initial-any-policy-inhibit.
    pub inhibit_any_policy: bool,
}

/// Everything certificate validation needs besides the certificate.
pub struct CertOptions<'a> {
    pub trust: &'a TrustStore,
    /// The validation time ("now", or `--at`).
    pub at: OffsetDateTime,
    /// No AIA, OCSP or CRL fetching.
    pub offline: bool,
    pub policy: Policy,
    /// Intermediate certificates, OCSP responses and CRLs from files (DER).
    pub supplied: EvidencePool,
    pub policies: PolicyParameters,
}

/// The verdict on one certificate.
#[derive(Debug, Clone, Serialize)]
pub struct CertReport {
    pub file: String,
    #[serde(with = "time::serde::rfc3339")]
    pub validation_time: OffsetDateTime,
    pub policy: Policy,
    pub indication: Indication,
    pub subindication: Option<SubIndication>,
    pub certificate: Option<CertificateInfo>,
    /// Subjects from the certificate to the trust anchor.
    pub chain: Vec<String>,
    /// Revocation status of each certificate of the chain but the anchor, certificate first.
    pub revocation: Vec<RevocationInfo>,
    /// The policies valid for the path (RFC 5280 §6.1.6, after the user-initial-policy-set),
    /// in the user's domain (before policy mappings); "2.5.29.32.0" stands for any policy.
    pub valid_policies: Vec<String>,
    pub messages: Vec<Message>,
}

impl CertReport {
    /// Exit code of `hoso verify-cert`, as `hoso verify`: 0 TOTAL-PASSED, 1 TOTAL-FAILED,
    /// 3 INDETERMINATE.
    pub fn exit_code(&self) -> u8 {
        match self.indication {
            Indication::TotalPassed => 0,
            Indication::TotalFailed => 1,
            Indication::Indeterminate => 3,
        }
    }
}

/// What a file given on the command line should hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Certificates,
    Crl,
    OcspResponse,
}

/// Input that cannot be used at all (exit code 4).
#[derive(Debug, thiserror::Error)]
pub enum CertInputError {
    #[error("cannot read {path}: {source}")]
    Unreadable {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not an X.509 certificate (PEM, DER or PKCS#7): {reason}")]
    NotACertificate { path: String, reason: String },
    #[error("{path} is not a CRL (DER or PEM): {reason}")]
    NotACrl { path: String, reason: String },
    #[error("{path} is not an OCSP response (DER or base64): {reason}")]
    NotAnOcspResponse { path: String, reason: String },
}

impl crate::error::Coded for CertInputError {
    fn code(&self) -> &'static str {
        match self {
            CertInputError::Unreadable { .. } => "cert-file-unreadable",
            CertInputError::NotACertificate { .. } => "cert-not-a-certificate",
            CertInputError::NotACrl { .. } => "cert-not-a-crl",
            CertInputError::NotAnOcspResponse { .. } => "cert-not-an-ocsp-response",
        }
    }

    fn class(&self) -> crate::error::ErrorClass {
        crate::error::ErrorClass::InvalidInput
    }

    fn message_vi(&self) -> String {
        match self {
            CertInputError::Unreadable { path, .. } => format!("Không đọc được tệp {path}."),
            CertInputError::NotACertificate { path, .. } => {
                format!("Tệp {path} không phải chứng thư số X.509 (PEM, DER hoặc PKCS#7 .p7b).")
            }
            CertInputError::NotACrl { path, .. } => {
                format!("Tệp {path} không phải danh sách chứng thư bị thu hồi (CRL).")
            }
            CertInputError::NotAnOcspResponse { path, .. } => {
                format!("Tệp {path} không phải phản hồi OCSP.")
            }
        }
    }
}

/// Reads a `--cert`, `--crl` or `--ocsp-response` file (or the certificate to check) and
/// returns its contents as DER items.
///
/// # Errors
/// [`CertInputError`] when the file cannot be read or does not hold what `kind` says.
pub fn load_file(path: &Path, kind: FileKind) -> Result<Vec<Vec<u8>>, CertInputError> {
    let shown = path.display().to_string();
    let bytes = read_input(path)?;
    match kind {
        FileKind::Certificates => {
            certificates_in(&bytes).map_err(|reason| CertInputError::NotACertificate {
                path: shown,
                reason,
            })
        }
        FileKind::Crl => crls_in(&bytes).map_err(|reason| CertInputError::NotACrl {
            path: shown,
            reason,
        }),
        FileKind::OcspResponse => ocsp_response_in(&bytes)
            .map(|der| vec![der])
            .map_err(|reason| CertInputError::NotAnOcspResponse {
                path: shown,
                reason,
            }),
    }
}

/// Largest input file read (a national CA's CRL can reach a few megabytes; the fetcher has
/// the same limit).
pub const MAX_INPUT: u64 = 32 * 1024 * 1024;

/// Most certificates taken from one file (bundles hold a chain, not a directory).
const MAX_CERTIFICATES: usize = 256;

/// Reads an input file of at most [`MAX_INPUT`] bytes.
///
/// # Errors
/// [`CertInputError::Unreadable`] when it cannot be read or is larger.
pub fn read_input(path: &Path) -> Result<Vec<u8>, CertInputError> {
    use std::io::Read as _;
    let unreadable = |source| CertInputError::Unreadable {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let mut bytes = Vec::new();
    file.take(MAX_INPUT + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_INPUT {
        return Err(unreadable(std::io::Error::other(format!(
            "larger than {} MiB",
            MAX_INPUT / (1024 * 1024)
        ))));
    }
    Ok(bytes)
}

/// The certificates of a PEM file (every CERTIFICATE or PKCS7 block), a DER certificate, or
/// a DER PKCS#7 bundle (`.p7b`), as DER.
///
/// # Errors
/// A reason in English when there is no certificate OpenSSL can read.
pub fn certificates_in(bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut found = Vec::new();
    if bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        for pem in x509_parser::pem::Pem::iter_from_buffer(bytes) {
            let pem = pem.map_err(|e| format!("bad PEM: {e}"))?;
            match pem.label.as_str() {
                "CERTIFICATE" | "X509 CERTIFICATE" => found.push(pem.contents),
                "PKCS7" | "CMS" => found.extend(pkcs7_certificates(&pem.contents)?),
                _ => {}
            }
        }
        if found.is_empty() {
            return Err("no CERTIFICATE or PKCS7 block in the PEM text".to_owned());
        }
    } else if X509::from_der(bytes).is_ok() {
        found.push(bytes.to_vec());
    } else {
        found = pkcs7_certificates(bytes)
            .map_err(|_| "neither a DER certificate, PEM text nor a PKCS#7 bundle".to_owned())?;
    }
    if found.len() > MAX_CERTIFICATES {
        return Err(format!(
            "more than {MAX_CERTIFICATES} certificates in one file"
        ));
    }
    found
        .iter()
        .map(|der| {
            X509::from_der(der)
                .and_then(|c| c.to_der())
                .map_err(|e| format!("OpenSSL cannot read a certificate in it: {e}"))
        })
        .collect()
}

fn pkcs7_certificates(der: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let pkcs7 = openssl::pkcs7::Pkcs7::from_der(der).map_err(|e| e.to_string())?;
    let certs: Vec<Vec<u8>> = pkcs7
        .signed()
        .and_then(|s| s.certificates())
        .map(|certs| certs.iter().filter_map(|c| c.to_der().ok()).collect())
        .unwrap_or_default();
    if certs.is_empty() {
        return Err("the PKCS#7 structure carries no certificate".to_owned());
    }
    Ok(certs)
}

/// The CRLs of a DER CRL or of PEM text (every X509 CRL block), as DER.
///
/// # Errors
/// A reason in English when there is no CRL OpenSSL can read.
pub fn crls_in(bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    if let Ok(crl) = X509Crl::from_der(bytes) {
        return crl.to_der().map(|d| vec![d]).map_err(|e| e.to_string());
    }
    let mut found = Vec::new();
    for pem in x509_parser::pem::Pem::iter_from_buffer(bytes) {
        let pem = pem.map_err(|e| format!("bad PEM: {e}"))?;
        if pem.label == "X509 CRL" {
            let crl = X509Crl::from_der(&pem.contents).map_err(|e| e.to_string())?;
            found.push(crl.to_der().map_err(|e| e.to_string())?);
        }
    }
    if found.is_empty() {
        return Err("neither a DER CRL nor PEM text with an X509 CRL block".to_owned());
    }
    Ok(found)
}

/// An OCSP response as DER, from DER or from base64 text (OpenSSL's test vectors).
///
/// # Errors
/// A reason in English when it is neither.
pub fn ocsp_response_in(bytes: &[u8]) -> Result<Vec<u8>, String> {
    use openssl::ocsp::OcspResponse;
    if OcspResponse::from_der(bytes).is_ok() {
        return Ok(bytes.to_vec());
    }
    let text: String = std::str::from_utf8(bytes)
        .map_err(|_| "not DER and not base64 text".to_owned())?
        .split_whitespace()
        .collect();
    let der =
        openssl::base64::decode_block(&text).map_err(|_| "not DER and not base64".to_owned())?;
    OcspResponse::from_der(&der).map_err(|e| format!("not an OCSPResponse: {e}"))?;
    Ok(der)
}

/// Validates the certificate in `input` (PEM, DER or PKCS#7; in a bundle the end-entity
/// certificate is the one checked and the others help build the chain).
///
/// # Errors
/// [`CertInputError::NotACertificate`] when `input` holds no readable certificate.
pub fn verify_certificate(
    input: &[u8],
    name: &str,
    options: &CertOptions<'_>,
) -> Result<CertReport, CertInputError> {
    let certificates =
        certificates_in(input).map_err(|reason| CertInputError::NotACertificate {
            path: name.to_owned(),
            reason,
        })?;
    let parsed: Vec<X509> = certificates
        .iter()
        .filter_map(|der| X509::from_der(der).ok())
        .collect();
    let target_index = end_entity(&parsed);
    let (Some(target_der), Some(target)) = (
        certificates.get(target_index).cloned(),
        parsed.get(target_index).cloned(),
    ) else {
        return Err(CertInputError::NotACertificate {
            path: name.to_owned(),
            reason: "no certificate".to_owned(),
        });
    };
    let mut pool: Vec<Vec<u8>> = certificates
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != target_index)
        .map(|(_, der)| der.clone())
        .collect();
    for der in &options.supplied.certificates {
        for der in certificates_in(der).unwrap_or_default() {
            if !pool.contains(&der) && der != target_der {
                pool.push(der);
            }
        }
    }
    let mut report = CertReport {
        file: name.to_owned(),
        validation_time: options.at,
        policy: options.policy,
        indication: Indication::Indeterminate,
        subindication: None,
        certificate: CertificateInfo::from_der(&target_der),
        chain: Vec::new(),
        revocation: Vec::new(),
        valid_policies: Vec::new(),
        messages: Vec::new(),
    };
    let mut verdict = Verdict::default();
    let fetcher = (!options.offline).then(Fetcher::default);
    let engine = Engine {
        anchors: options
            .trust
            .anchors()
            .iter()
            .filter_map(|a| X509::from_der(&a.der).ok())
            .collect(),
        at: options.at.unix_timestamp(),
        policy_flags: policy_flags(&options.policies),
    };

    // 1. The path (RFC 5280 §6.1 in OpenSSL), with missing issuers fetched along AIA.
    let mut path = engine.path(&target, &pool);
    if let Some(fetcher) = &fetcher {
        for _ in 0..4 {
            let untrusted = matches!(&path, Ok(run) if !run.ok && is_untrusted(run.code));
            if !untrusted || !fetch_issuers(&target_der, &mut pool, fetcher) {
                break;
            }
            path = engine.path(&target, &pool);
        }
    }
    let run = match path {
        Ok(run) => run,
        Err(reason) => {
            verdict.indeterminate(
                SubIndication::ChainConstraintsFailure,
                message("cert-chain-invalid", Severity::Error, Some(reason)),
            );
            return Ok(verdict.finish(report));
        }
    };
    report.chain = subjects(&run.chain);
    if !run.ok {
        classify_path_failure(&engine, &target, &pool, &run, &mut verdict, &mut report);
        return Ok(verdict.finish(report));
    }
    if run.chain.len() == 1 {
        verdict.note(message("cert-trust-anchor", Severity::Info, None));
    }

    // 2. Policies with the user-initial-policy-set (RFC 5280 §6.1.3–6.1.6).
    let anchor_first: Vec<Vec<u8>> = run.chain.iter().rev().skip(1).cloned().collect();
    if !anchor_first.is_empty() {
        match policy_tree::process_path(&anchor_first, &options.policies) {
            Ok(valid) => report.valid_policies = valid,
            Err(reason) => {
                verdict.indeterminate(
                    SubIndication::ChainConstraintsFailure,
                    message("cert-policy", Severity::Error, Some(reason)),
                );
                return Ok(verdict.finish(report));
            }
        }
    }

    // 3. Revocation of every certificate but the anchor.
    let mut crls: Vec<Vec<u8>> = Vec::new();
    for bytes in &options.supplied.crls {
        for der in crls_in(bytes).unwrap_or_default() {
            if !crls.contains(&der) {
                crls.push(der);
            }
        }
    }
    let ocsp: Vec<Vec<u8>> = options
        .supplied
        .ocsp
        .iter()
        .filter_map(|bytes| ocsp_response_in(bytes).ok())
        .collect();
    let checker = RevocationChecker {
        engine: &engine,
        trust: options.trust,
        chain: &run.chain,
        pool: &pool,
        partial: run.partial,
        at: options.at,
    };
    let supplied_crls = CrlFile::new(&crls);
    let crl_verdicts = checker.crl_verdicts(&supplied_crls);
    for index in 0..run.chain.len().saturating_sub(1) {
        let status = checker.status(
            index,
            &ocsp,
            &supplied_crls,
            &crl_verdicts,
            fetcher.as_ref(),
        );
        let subject = subject_of(&run.chain[index]);
        let info = match status {
            CertStatus::Good(source) => RevocationInfo {
                subject,
                status: "good",
                source,
                revoked_at: None,
                reasons: Vec::new(),
            },
            CertStatus::Revoked(source, revoked_at) => {
                let when = revoked_at
                    .map(|t| format!(", revoked {}", super::report::vietnam_time(t)))
                    .unwrap_or_default();
                let code = if index == 0 {
                    "cert-revoked"
                } else {
                    "cert-ca-revoked"
                };
                verdict.fail(
                    SubIndication::Revoked,
                    message(code, Severity::Error, Some(format!("{subject}{when}"))),
                );
                RevocationInfo {
                    subject,
                    status: "revoked",
                    source,
                    revoked_at,
                    reasons: Vec::new(),
                }
            }
            CertStatus::Unknown(reasons) => {
                let detail = format!("{subject}: {}", reasons.join("; "));
                match options.policy {
                    Policy::Strict => verdict.indeterminate(
                        SubIndication::TryLater,
                        message("cert-revocation-unknown", Severity::Error, Some(detail)),
                    ),
                    Policy::Lenient => verdict.note(message(
                        "cert-revocation-unknown",
                        Severity::Warning,
                        Some(detail),
                    )),
                }
                RevocationInfo {
                    subject,
                    status: "unknown",
                    source: None,
                    revoked_at: None,
                    reasons,
                }
            }
        };
        report.revocation.push(info);
    }
    if verdict.findings.is_empty() {
        if report.revocation.iter().any(|r| r.status == "unknown") {
            verdict.note(message(
                "cert-valid-revocation-unchecked",
                Severity::Warning,
                None,
            ));
        } else {
            verdict.note(message("cert-valid", Severity::Info, None));
        }
    }
    Ok(verdict.finish(report))
}

/// The index of the end-entity certificate of a bundle: the first one that issued none of
/// the others (the first certificate when every one issued another, as in a loop).
fn end_entity(certificates: &[X509]) -> usize {
    (0..certificates.len())
        .find(|&i| {
            !certificates
                .iter()
                .enumerate()
                .any(|(j, other)| j != i && certificates[i].issued(other) == X509VerifyResult::OK)
        })
        .unwrap_or(0)
}

/// Collects findings and messages and turns them into the verdict.
#[derive(Default)]
struct Verdict {
    findings: Vec<(Indication, SubIndication)>,
    messages: Vec<Message>,
}

impl Verdict {
    fn fail(&mut self, sub: SubIndication, message: Message) {
        self.findings.push((Indication::TotalFailed, sub));
        self.messages.push(message);
    }

    fn indeterminate(&mut self, sub: SubIndication, message: Message) {
        self.findings.push((Indication::Indeterminate, sub));
        self.messages.push(message);
    }

    fn note(&mut self, message: Message) {
        self.messages.push(message);
    }

    /// The first TOTAL-FAILED finding, else the first INDETERMINATE one, else passed.
    fn finish(self, mut report: CertReport) -> CertReport {
        let worst = [Indication::TotalFailed, Indication::Indeterminate]
            .into_iter()
            .find_map(|wanted| self.findings.iter().find(|(i, _)| *i == wanted));
        (report.indication, report.subindication) = match worst {
            Some((indication, sub)) => (*indication, Some(*sub)),
            None => (Indication::TotalPassed, None),
        };
        report.messages = self.messages;
        report
    }
}

// OpenSSL's X509_V_ERR_* codes used to classify a failed path.
const UNABLE_TO_GET_ISSUER_CERT: i32 = 2;
const UNABLE_TO_GET_CRL: i32 = 3;
const UNABLE_TO_DECRYPT_CERT_SIGNATURE: i32 = 4;
const CERT_SIGNATURE_FAILURE: i32 = 7;
const CERT_NOT_YET_VALID: i32 = 9;
const CERT_HAS_EXPIRED: i32 = 10;
const ERROR_IN_CERT_NOT_BEFORE_FIELD: i32 = 13;
const ERROR_IN_CERT_NOT_AFTER_FIELD: i32 = 14;
const DEPTH_ZERO_SELF_SIGNED_CERT: i32 = 18;
const SELF_SIGNED_CERT_IN_CHAIN: i32 = 19;
const UNABLE_TO_GET_ISSUER_CERT_LOCALLY: i32 = 20;
const UNABLE_TO_VERIFY_LEAF_SIGNATURE: i32 = 21;
const CERT_REVOKED: i32 = 23;
const INVALID_CA: i32 = 24;
const PATH_LENGTH_EXCEEDED: i32 = 25;
const CERT_UNTRUSTED: i32 = 27;
const CERT_REJECTED: i32 = 28;
const KEYUSAGE_NO_CERTSIGN: i32 = 32;
const UNHANDLED_CRITICAL_EXTENSION: i32 = 34;
const INVALID_NON_CA: i32 = 37;
const INVALID_POLICY_EXTENSION: i32 = 42;
const NO_EXPLICIT_POLICY: i32 = 43;
const PERMITTED_VIOLATION: i32 = 47;
const EXCLUDED_VIOLATION: i32 = 48;
const SUBTREE_MINMAX: i32 = 49;
const UNSUPPORTED_CONSTRAINT_TYPE: i32 = 51;
const UNSUPPORTED_CONSTRAINT_SYNTAX: i32 = 52;
const UNSUPPORTED_NAME_SYNTAX: i32 = 53;

fn is_untrusted(code: i32) -> bool {
    matches!(
        code,
        UNABLE_TO_GET_ISSUER_CERT
            | DEPTH_ZERO_SELF_SIGNED_CERT
            | SELF_SIGNED_CERT_IN_CHAIN
            | UNABLE_TO_GET_ISSUER_CERT_LOCALLY
            | UNABLE_TO_VERIFY_LEAF_SIGNATURE
            | CERT_UNTRUSTED
            | CERT_REJECTED
    )
}

fn is_time_error(code: i32) -> bool {
    matches!(
        code,
        CERT_NOT_YET_VALID
            | CERT_HAS_EXPIRED
            | ERROR_IN_CERT_NOT_BEFORE_FIELD
            | ERROR_IN_CERT_NOT_AFTER_FIELD
    )
}

/// OpenSSL checks the policy extensions (syntax, mappings of anyPolicy) with POLICY_CHECK.
/// The decision on an explicit policy is left to [`policy_tree`]: OpenSSL 3.0 cannot be given
/// a user-initial-policy-set through the safe API, and without one it refuses every path
/// that requires an explicit policy (its user policy set stays empty).
fn policy_flags(p: &PolicyParameters) -> X509VerifyFlags {
    let mut flags = X509VerifyFlags::POLICY_CHECK;
    if p.inhibit_any_policy {
        flags |= X509VerifyFlags::INHIBIT_ANY;
    }
    if p.inhibit_policy_mapping {
        flags |= X509VerifyFlags::INHIBIT_MAP;
    }
    flags
}

/// OpenSSL evaluates policies last, so NO_EXPLICIT_POLICY means every other check passed:
/// the path is accepted here and [`policy_tree`] decides.
fn settle_policy(mut run: Run) -> Run {
    if !run.ok && run.code == NO_EXPLICIT_POLICY {
        run.ok = true;
    }
    run
}

/// Errors of OpenSSL's revocation stage.
fn is_crl_error(code: i32) -> bool {
    matches!(
        code,
        3 | 5 | 8 | 11 | 12 | 15 | 16 | 23 | 33 | 35 | 36 | 44 | 54
    )
}

/// Errors OpenSSL can only report after the revocation stage passed (`verify_chain` checks
/// revocation, then signatures and times, then names, then policies).
fn is_after_revocation(code: i32) -> bool {
    matches!(
        code,
        UNABLE_TO_DECRYPT_CERT_SIGNATURE
            | 6
            | CERT_SIGNATURE_FAILURE
            | CERT_NOT_YET_VALID
            | CERT_HAS_EXPIRED
            | ERROR_IN_CERT_NOT_BEFORE_FIELD
            | ERROR_IN_CERT_NOT_AFTER_FIELD
            | INVALID_POLICY_EXTENSION
            | NO_EXPLICIT_POLICY
            | PERMITTED_VIOLATION
            | EXCLUDED_VIOLATION
            | SUBTREE_MINMAX
            | UNSUPPORTED_CONSTRAINT_TYPE
            | UNSUPPORTED_CONSTRAINT_SYNTAX
            | UNSUPPORTED_NAME_SYNTAX
    )
}

/// What OpenSSL's CRL check said about one certificate.
#[derive(Debug, Clone)]
enum CrlVerdict {
    Good,
    Revoked,
    /// No CRL in scope for it.
    Missing,
    Problem(String),
}

fn crl_verdict(run: &Run) -> CrlVerdict {
    if run.ok || is_after_revocation(run.code) {
        CrlVerdict::Good
    } else if run.code == CERT_REVOKED {
        CrlVerdict::Revoked
    } else if run.code == UNABLE_TO_GET_CRL {
        CrlVerdict::Missing
    } else if is_crl_error(run.code) {
        CrlVerdict::Problem(run.reason.clone())
    } else {
        CrlVerdict::Problem(format!("the CRL check could not run: {}", run.reason))
    }
}

/// One run of OpenSSL's `X509_verify_cert`.
struct Run {
    ok: bool,
    code: i32,
    reason: String,
    depth: u32,
    /// The chain built, certificate first, anchor last (partial when the run failed).
    chain: Vec<Vec<u8>>,
    /// Whether the chain ends at an anchor that is not self-signed (an issuing CA in the
    /// trust store, as the Government G2 issuing CA is distributed).
    partial: bool,
}

struct Engine {
    anchors: Vec<X509>,
    at: i64,
    policy_flags: X509VerifyFlags,
}

impl Engine {
    fn run(
        &self,
        target: &X509,
        untrusted: &[Vec<u8>],
        flags: X509VerifyFlags,
        crls: Option<&Path>,
    ) -> Result<Run, String> {
        let text = |e: openssl::error::ErrorStack| e.to_string();
        let mut builder = X509StoreBuilder::new().map_err(text)?;
        for anchor in &self.anchors {
            builder.add_cert(anchor.clone()).map_err(text)?;
        }
        if let Some(path) = crls {
            if path.to_str().is_none() {
                return Err("the temporary CRL file has a path that is not UTF-8".to_owned());
            }
            let lookup = builder.add_lookup(X509Lookup::file()).map_err(text)?;
            lookup
                .load_crl_file(path, openssl::ssl::SslFiletype::PEM)
                .map_err(text)?;
        }
        let mut param = X509VerifyParam::new().map_err(text)?;
        // A check time set on the parameters wins over NO_CHECK_TIME in OpenSSL.
        if !flags.contains(X509VerifyFlags::NO_CHECK_TIME) {
            param.set_time(self.at);
        }
        param.set_flags(flags).map_err(text)?;
        builder.set_param(&param).map_err(text)?;
        let store = builder.build();
        let mut stack = Stack::new().map_err(text)?;
        for der in untrusted {
            if let Ok(cert) = X509::from_der(der) {
                stack.push(cert).map_err(text)?;
            }
        }
        let mut context = X509StoreContext::new().map_err(text)?;
        context
            .init(&store, target, &stack, |ctx| {
                let ok = ctx.verify_cert()?;
                let chain = ctx
                    .chain()
                    .map(|chain| chain.iter().filter_map(|c| c.to_der().ok()).collect())
                    .unwrap_or_default();
                let error = ctx.error();
                Ok(Run {
                    ok,
                    code: error.as_raw(),
                    reason: error.error_string().to_owned(),
                    depth: ctx.error_depth(),
                    chain,
                    partial: flags.contains(X509VerifyFlags::PARTIAL_CHAIN),
                })
            })
            .map_err(text)
    }

    /// The path to a self-signed anchor; to any anchor (a trusted issuing CA) only when no
    /// self-signed one is reachable.
    fn path_with(
        &self,
        target: &X509,
        pool: &[Vec<u8>],
        extra: X509VerifyFlags,
    ) -> Result<Run, String> {
        let flags = self.policy_flags | extra;
        let full = settle_policy(self.run(target, pool, flags, None)?);
        if full.ok || !is_untrusted(full.code) {
            return Ok(full);
        }
        let partial =
            settle_policy(self.run(target, pool, flags | X509VerifyFlags::PARTIAL_CHAIN, None)?);
        Ok(if partial.ok || !is_untrusted(partial.code) {
            partial
        } else {
            full
        })
    }

    fn path(&self, target: &X509, pool: &[Vec<u8>]) -> Result<Run, String> {
        self.path_with(target, pool, X509VerifyFlags::empty())
    }

    /// OpenSSL's CRL check (RFC 5280 §6.3: scope, distribution points, reasons, deltas, the
    /// CRL issuer's key usage and path, currency at the time) of `target`, or with `all` of
    /// every certificate of its chain, leaf first, up to the first failure.
    fn crl_check(
        &self,
        target: &[u8],
        pool: &[Vec<u8>],
        partial: bool,
        crls: &Path,
        all: bool,
    ) -> Result<Run, String> {
        let target = X509::from_der(target)
            .map_err(|e| format!("a certificate of the chain does not parse: {e}"))?;
        let mut flags = X509VerifyFlags::CRL_CHECK
            | X509VerifyFlags::EXTENDED_CRL_SUPPORT
            | X509VerifyFlags::USE_DELTAS;
        if all {
            flags |= X509VerifyFlags::CRL_CHECK_ALL;
        }
        if partial {
            flags |= X509VerifyFlags::PARTIAL_CHAIN;
        }
        self.run(&target, pool, flags, Some(crls))
    }
}

/// Sets the indication for a path OpenSSL rejected.
fn classify_path_failure(
    engine: &Engine,
    target: &X509,
    pool: &[Vec<u8>],
    run: &Run,
    verdict: &mut Verdict,
    report: &mut CertReport,
) {
    let mut run_for_class = None;
    if is_time_error(run.code) {
        // Out of its validity period: say so only when the path is otherwise valid.
        let extra = if run.partial {
            X509VerifyFlags::NO_CHECK_TIME | X509VerifyFlags::PARTIAL_CHAIN
        } else {
            X509VerifyFlags::NO_CHECK_TIME
        };
        match engine.path_with(target, pool, extra) {
            Ok(timeless) if timeless.ok => {
                let code = if run.code == CERT_NOT_YET_VALID
                    || run.code == ERROR_IN_CERT_NOT_BEFORE_FIELD
                {
                    "cert-not-yet-valid"
                } else {
                    "cert-expired"
                };
                let detail = failing_certificate(run)
                    .map(|der| {
                        let info = CertificateInfo::from_der(&der);
                        match info {
                            Some(c) => format!(
                                "{}: {} → {}",
                                c.subject,
                                super::report::vietnam_time(c.not_before),
                                super::report::vietnam_time(c.not_after)
                            ),
                            None => run.reason.clone(),
                        }
                    })
                    .unwrap_or_else(|| run.reason.clone());
                verdict.indeterminate(
                    SubIndication::OutOfBoundsNoPoe,
                    message(code, Severity::Error, Some(detail)),
                );
                return;
            }
            Ok(timeless) => run_for_class = Some(timeless),
            Err(_) => {}
        }
    }
    let run = run_for_class.as_ref().unwrap_or(run);
    if !run.chain.is_empty() {
        report.chain = subjects(&run.chain);
    }
    let at = failing_certificate(run)
        .map(|der| subject_of(&der))
        .unwrap_or_default();
    let detail = Some(format!("{} (depth {}: {at})", run.reason, run.depth));
    let (indication, sub, code) = match run.code {
        c if is_untrusted(c) => (
            Indication::Indeterminate,
            SubIndication::NoCertificateChainFound,
            "cert-chain-untrusted",
        ),
        CERT_SIGNATURE_FAILURE | UNABLE_TO_DECRYPT_CERT_SIGNATURE => (
            Indication::TotalFailed,
            SubIndication::SigCryptoFailure,
            "cert-signature-invalid",
        ),
        INVALID_CA | PATH_LENGTH_EXCEEDED | INVALID_NON_CA => (
            Indication::Indeterminate,
            SubIndication::ChainConstraintsFailure,
            "cert-basic-constraints",
        ),
        KEYUSAGE_NO_CERTSIGN => (
            Indication::Indeterminate,
            SubIndication::ChainConstraintsFailure,
            "cert-ca-key-usage",
        ),
        PERMITTED_VIOLATION
        | EXCLUDED_VIOLATION
        | SUBTREE_MINMAX
        | UNSUPPORTED_CONSTRAINT_TYPE
        | UNSUPPORTED_CONSTRAINT_SYNTAX
        | UNSUPPORTED_NAME_SYNTAX => (
            Indication::Indeterminate,
            SubIndication::ChainConstraintsFailure,
            "cert-name-constraints",
        ),
        INVALID_POLICY_EXTENSION | NO_EXPLICIT_POLICY => (
            Indication::Indeterminate,
            SubIndication::ChainConstraintsFailure,
            "cert-policy",
        ),
        UNHANDLED_CRITICAL_EXTENSION => (
            Indication::Indeterminate,
            SubIndication::ChainConstraintsFailure,
            "cert-critical-extension",
        ),
        _ => (
            Indication::Indeterminate,
            SubIndication::ChainConstraintsFailure,
            "cert-chain-invalid",
        ),
    };
    let message = message(code, Severity::Error, detail);
    if indication == Indication::TotalFailed {
        verdict.fail(sub, message);
    } else {
        verdict.indeterminate(sub, message);
    }
}

fn failing_certificate(run: &Run) -> Option<Vec<u8>> {
    run.chain.get(run.depth as usize).cloned()
}

fn subject_of(der: &[u8]) -> String {
    CertificateInfo::from_der(der)
        .map(|c| c.subject)
        .or_else(|| {
            X509::from_der(der).ok().map(|c| {
                c.subject_name()
                    .entries()
                    .filter_map(|e| e.data().to_string().ok())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
        })
        .unwrap_or_default()
}

fn subjects(chain: &[Vec<u8>]) -> Vec<String> {
    chain.iter().map(|der| subject_of(der)).collect()
}

/// Fetches the issuer of the last certificate reachable from `target` through `pool` along
/// its AIA caIssuers URLs; whether anything new was added.
fn fetch_issuers(target: &[u8], pool: &mut Vec<Vec<u8>>, fetcher: &Fetcher) -> bool {
    let mut current = target.to_vec();
    for _ in 0..8 {
        let Ok(cert) = X509::from_der(&current) else {
            break;
        };
        let next = pool.iter().find(|candidate| {
            **candidate != current
                && X509::from_der(candidate)
                    .is_ok_and(|issuer| issuer.issued(&cert) == X509VerifyResult::OK)
        });
        match next {
            Some(next) => current = next.clone(),
            None => break,
        }
    }
    let Ok((_, cert)) = X509Certificate::from_der(&current) else {
        return false;
    };
    let mut urls = Vec::new();
    for extension in cert.extensions() {
        if let ParsedExtension::AuthorityInfoAccess(aia) = extension.parsed_extension() {
            for access in &aia.accessdescs {
                if access.access_method.to_id_string() == "1.3.6.1.5.5.7.48.2"
                    && let GeneralName::URI(uri) = &access.access_location
                {
                    urls.push((*uri).to_owned());
                }
            }
        }
    }
    let mut added = false;
    for url in urls.iter().take(4) {
        if let Ok(bytes) = fetcher.get(url) {
            for der in certificates_in(&bytes).unwrap_or_default() {
                if !pool.contains(&der) && der != current {
                    pool.push(der);
                    added = true;
                }
            }
        }
    }
    added
}

/// CRLs as one PEM file, the form OpenSSL's store can load them from through the safe API.
struct CrlFile {
    file: Option<tempfile::NamedTempFile>,
    /// Why the CRLs could not be written, if they could not.
    problem: Option<String>,
    crls: Vec<Vec<u8>>,
}

impl CrlFile {
    fn new(crls: &[Vec<u8>]) -> Self {
        let mut out = CrlFile {
            file: None,
            problem: None,
            crls: crls.to_vec(),
        };
        if crls.is_empty() {
            return out;
        }
        let written = (|| -> Result<tempfile::NamedTempFile, String> {
            let mut file = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
            for der in crls {
                let pem = X509Crl::from_der(der)
                    .and_then(|c| c.to_pem())
                    .map_err(|e| e.to_string())?;
                file.write_all(&pem).map_err(|e| e.to_string())?;
            }
            file.flush().map_err(|e| e.to_string())?;
            Ok(file)
        })();
        match written {
            Ok(file) => out.file = Some(file),
            Err(e) => out.problem = Some(format!("cannot prepare the CRLs for checking: {e}")),
        }
        out
    }
}

enum CertStatus {
    Good(Option<Source>),
    Revoked(Option<Source>, Option<OffsetDateTime>),
    Unknown(Vec<String>),
}

/// What one source said about one certificate.
struct Answer {
    revoked: bool,
    source: Option<Source>,
    revoked_at: Option<OffsetDateTime>,
}

struct RevocationChecker<'a> {
    engine: &'a Engine,
    trust: &'a TrustStore,
    chain: &'a [Vec<u8>],
    pool: &'a [Vec<u8>],
    partial: bool,
    at: OffsetDateTime,
}

impl RevocationChecker<'_> {
    /// The status of `chain[index]`: supplied evidence first, then fetched.
    fn status(
        &self,
        index: usize,
        ocsp: &[Vec<u8>],
        crls: &CrlFile,
        crl_verdicts: &[Option<CrlVerdict>],
        fetcher: Option<&Fetcher>,
    ) -> CertStatus {
        let (Ok(cert), Some(Ok(issuer))) = (
            X509::from_der(&self.chain[index]),
            self.chain.get(index + 1).map(|d| X509::from_der(d)),
        ) else {
            return CertStatus::Unknown(vec![
                "a certificate of the chain does not parse".to_owned(),
            ]);
        };
        let mut reasons = Vec::new();
        let mut answers = Vec::new();
        self.add_ocsp_answers(&cert, &issuer, ocsp, "supplied", &mut answers, &mut reasons);
        let verdict = crl_verdicts.get(index).cloned().flatten();
        self.add_crl_answers(
            &cert,
            &issuer,
            crls,
            verdict,
            "supplied",
            &mut answers,
            &mut reasons,
        );
        if answers.is_empty() {
            match fetcher {
                Some(fetcher) => {
                    let pair = [self.chain[index].clone(), self.chain[index + 1].clone()];
                    match revocation::gather(
                        &pair,
                        self.trust,
                        Some(fetcher),
                        &Default::default(),
                        self.at,
                    ) {
                        Ok((data, statuses)) => {
                            self.add_ocsp_answers(
                                &cert,
                                &issuer,
                                &data.ocsp_responses,
                                "online",
                                &mut answers,
                                &mut reasons,
                            );
                            if !data.crls.is_empty() {
                                let mut all = crls.crls.clone();
                                all.extend(data.crls.iter().cloned());
                                let fetched = CrlFile::new(&all);
                                let verdict = Some(self.crl_verdict_of(index, &fetched));
                                self.add_crl_answers(
                                    &cert,
                                    &issuer,
                                    &fetched,
                                    verdict,
                                    "online",
                                    &mut answers,
                                    &mut reasons,
                                );
                            }
                            for status in statuses {
                                if let Status::Unknown { reason } = status {
                                    reasons.push(format!("online: {reason}"));
                                }
                            }
                        }
                        Err(e) => reasons.push(format!("online: {e}")),
                    }
                }
                None => reasons
                    .push("offline, and no supplied OCSP response or CRL covers it".to_owned()),
            }
        }
        // A revocation is final: any valid evidence of it wins over evidence of good standing.
        if let Some(revoked) = answers.iter().find(|a| a.revoked) {
            return CertStatus::Revoked(revoked.source.clone(), revoked.revoked_at);
        }
        match answers.into_iter().next() {
            Some(good) => CertStatus::Good(good.source),
            None => {
                reasons.dedup();
                CertStatus::Unknown(reasons)
            }
        }
    }

    fn add_ocsp_answers(
        &self,
        cert: &X509,
        issuer: &X509,
        responses: &[Vec<u8>],
        origin: &'static str,
        answers: &mut Vec<Answer>,
        reasons: &mut Vec<String>,
    ) {
        let mut extra: Vec<Vec<u8>> = self.chain.to_vec();
        extra.extend(self.pool.iter().cloned());
        for response in responses {
            let evidence =
                match revocation::ocsp_evidence(cert, issuer, &extra, self.trust, response) {
                    Ok(evidence) => evidence,
                    // A response about another certificate says nothing about this one.
                    Err(reason) if reason == "response does not cover the certificate" => continue,
                    Err(reason) => {
                        reasons.push(format!("{origin} OCSP: {reason}"));
                        continue;
                    }
                };
            if !evidence.fresh_at(self.at) {
                reasons.push(format!(
                    "{origin} OCSP: response not current at the validation time (thisUpdate {}, nextUpdate {})",
                    evidence.this_update,
                    evidence.next_update.map(|t| t.to_string()).unwrap_or_else(|| "none".to_owned())
                ));
                continue;
            }
            let source = Some(Source {
                kind: EvidenceKind::Ocsp,
                origin,
                this_update: evidence.this_update,
                next_update: evidence.next_update,
            });
            match evidence.status {
                Status::Good => answers.push(Answer {
                    revoked: false,
                    source,
                    revoked_at: None,
                }),
                Status::Revoked { .. } if evidence.revoked_at.is_none_or(|t| t <= self.at) => {
                    answers.push(Answer {
                        revoked: true,
                        source,
                        revoked_at: evidence.revoked_at,
                    });
                }
                // Revoked only after the validation time: good at that time.
                Status::Revoked { .. } => answers.push(Answer {
                    revoked: false,
                    source,
                    revoked_at: None,
                }),
                Status::Unknown { reason } => reasons.push(format!("{origin} OCSP: {reason}")),
            }
        }
    }

    /// OpenSSL's CRL verdict on every certificate of the chain but the anchor: one run over
    /// the whole chain (as OpenSSL checks it, with every CRL in reach), then one run per
    /// certificate from the first one that run could not settle.
    fn crl_verdicts(&self, crls: &CrlFile) -> Vec<Option<CrlVerdict>> {
        let count = self.chain.len().saturating_sub(1);
        let mut out: Vec<Option<CrlVerdict>> = vec![None; count];
        let Some(file) = &crls.file else {
            return out;
        };
        if let Ok(run) =
            self.engine
                .crl_check(&self.chain[0], self.pool, self.partial, file.path(), true)
        {
            let depth = run.depth as usize;
            if run.ok || is_after_revocation(run.code) || (is_crl_error(run.code) && depth >= count)
            {
                out.fill(Some(CrlVerdict::Good));
            } else if is_crl_error(run.code) {
                for slot in out.iter_mut().take(depth) {
                    *slot = Some(CrlVerdict::Good);
                }
                out[depth] = Some(crl_verdict(&run));
            }
        }
        for (index, slot) in out.iter_mut().enumerate() {
            if slot.is_none() {
                *slot = Some(self.crl_verdict_of(index, crls));
            }
        }
        out
    }

    /// OpenSSL's CRL verdict on `chain[index]` alone.
    fn crl_verdict_of(&self, index: usize, crls: &CrlFile) -> CrlVerdict {
        let Some(file) = &crls.file else {
            return CrlVerdict::Missing;
        };
        match self.engine.crl_check(
            &self.chain[index],
            self.pool,
            self.partial,
            file.path(),
            false,
        ) {
            Ok(run) => crl_verdict(&run),
            Err(reason) => CrlVerdict::Problem(reason),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn add_crl_answers(
        &self,
        cert: &X509,
        issuer: &X509,
        crls: &CrlFile,
        verdict: Option<CrlVerdict>,
        origin: &'static str,
        answers: &mut Vec<Answer>,
        reasons: &mut Vec<String>,
    ) {
        if let Some(problem) = &crls.problem {
            reasons.push(problem.clone());
        }
        let Some(verdict) = verdict else {
            return;
        };
        // The CRL OpenSSL judged by, when it is a direct CRL of the issuer (for the report).
        let mut direct: Vec<revocation::Evidence> = crls
            .crls
            .iter()
            .filter_map(|crl| revocation::crl_evidence(cert, issuer, crl).ok())
            .collect();
        direct.sort_by_key(|e| std::cmp::Reverse(e.this_update));
        let source_of = |e: &revocation::Evidence| Source {
            kind: EvidenceKind::Crl,
            origin,
            this_update: e.this_update,
            next_update: e.next_update,
        };
        match verdict {
            CrlVerdict::Good => answers.push(Answer {
                revoked: false,
                source: direct.first().map(source_of),
                revoked_at: None,
            }),
            CrlVerdict::Revoked => {
                let listed = direct
                    .iter()
                    .find(|e| matches!(e.status, Status::Revoked { .. }));
                answers.push(Answer {
                    revoked: true,
                    source: listed.or(direct.first()).map(source_of),
                    revoked_at: listed.and_then(|e| e.revoked_at),
                });
            }
            CrlVerdict::Missing => reasons.push(format!(
                "{origin} CRL: none of the CRLs covers the certificate"
            )),
            CrlVerdict::Problem(reason) => reasons.push(format!("{origin} CRL: {reason}")),
        }
    }
}

/// RFC 5280 §6.1 certificate policy processing: the valid_policy_tree with the
/// user-initial-policy-set and the explicit-policy, policy-mapping and anyPolicy inhibitors.
pub mod policy_tree {
    use super::*;

    pub const ANY_POLICY: &str = "2.5.29.32.0";

    /// Largest valid_policy_tree built before the path is refused.
    const MAX_POLICY_NODES: usize = 10_000;

    /// The policy-related content of one certificate of the path.
    #[derive(Debug, Clone, Default)]
    pub struct CertPolicies {
        /// `None` when the certificate has no certificatePolicies extension.
        pub policies: Option<Vec<String>>,
        /// (issuerDomainPolicy, subjectDomainPolicy).
        pub mappings: Vec<(String, String)>,
        pub require_explicit_policy: Option<u32>,
        pub inhibit_policy_mapping: Option<u32>,
        pub inhibit_any_policy: Option<u32>,
        pub self_issued: bool,
    }

    impl CertPolicies {
        /// # Errors
        /// A reason in English when the certificate or a policy extension does not parse.
        pub fn from_der(der: &[u8]) -> Result<Self, String> {
            let (_, cert) = X509Certificate::from_der(der)
                .map_err(|e| format!("certificate does not parse: {e}"))?;
            let mut out = CertPolicies {
                self_issued: X509::from_der(der)
                    .map_err(|e| e.to_string())
                    .and_then(|c| {
                        c.subject_name()
                            .try_cmp(c.issuer_name())
                            .map_err(|e| e.to_string())
                    })?
                    == std::cmp::Ordering::Equal,
                ..CertPolicies::default()
            };
            for extension in cert.extensions() {
                match extension.parsed_extension() {
                    ParsedExtension::CertificatePolicies(policies) => {
                        out.policies = Some(
                            policies
                                .iter()
                                .map(|p| p.policy_id.to_id_string())
                                .collect(),
                        );
                    }
                    ParsedExtension::PolicyMappings(mappings) => {
                        out.mappings = mappings
                            .mappings
                            .iter()
                            .map(|m| {
                                (
                                    m.issuer_domain_policy.to_id_string(),
                                    m.subject_domain_policy.to_id_string(),
                                )
                            })
                            .collect();
                    }
                    ParsedExtension::PolicyConstraints(constraints) => {
                        out.require_explicit_policy = constraints.require_explicit_policy;
                        out.inhibit_policy_mapping = constraints.inhibit_policy_mapping;
                    }
                    ParsedExtension::InhibitAnyPolicy(inhibit) => {
                        out.inhibit_any_policy = Some(inhibit.skip_certs)
                    }
                    ParsedExtension::ParseError { error } => {
                        let oid = extension.oid.to_id_string();
                        if [
                            "2.5.29.32", // certificatePolicies
                            "2.5.29.33", // policyMappings
                            "2.5.29.36", // policyConstraints
                            "2.5.29.54", // inhibitAnyPolicy
                        ]
                        .contains(&oid.as_str())
                        {
                            return Err(format!("policy extension {oid} does not parse: {error}"));
                        }
                    }
                    _ => {}
                }
            }
            Ok(out)
        }
    }

    #[derive(Debug, Clone)]
    struct Node {
        policy: String,
        expected: BTreeSet<String>,
        /// Index of the parent in the level above.
        parent: Option<usize>,
        alive: bool,
    }

    impl Node {
        fn new(policy: &str, expected: BTreeSet<String>, parent: Option<usize>) -> Self {
            Node {
                policy: policy.to_owned(),
                expected,
                parent,
                alive: true,
            }
        }
    }

    fn single(policy: &str) -> BTreeSet<String> {
        BTreeSet::from([policy.to_owned()])
    }

    /// Removes nodes (other than at the deepest level) without a living child, then nodes
    /// whose parent is gone; `false` when the tree became empty (NULL).
    fn prune(levels: &mut [Vec<Node>]) -> bool {
        for depth in (0..levels.len().saturating_sub(1)).rev() {
            let (upper, lower) = levels.split_at_mut(depth + 1);
            for (index, node) in upper[depth].iter_mut().enumerate() {
                if node.alive && !lower[0].iter().any(|c| c.alive && c.parent == Some(index)) {
                    node.alive = false;
                }
            }
        }
        for depth in 1..levels.len() {
            let (upper, lower) = levels.split_at_mut(depth);
            for node in lower[0].iter_mut() {
                if node.alive
                    && node
                        .parent
                        .is_none_or(|p| !upper[depth - 1].get(p).is_some_and(|n| n.alive))
                {
                    node.alive = false;
                }
            }
        }
        levels.first().is_some_and(|l| l.iter().any(|n| n.alive))
    }

    /// Parses every certificate of `path` (anchor side first, the certificate checked last)
    /// and runs [`process`].
    ///
    /// # Errors
    /// Why the path has no acceptable policy.
    pub fn process_path(
        path: &[Vec<u8>],
        params: &PolicyParameters,
    ) -> Result<Vec<String>, String> {
        let certs = path
            .iter()
            .map(|der| CertPolicies::from_der(der))
            .collect::<Result<Vec<_>, _>>()?;
        process(&certs, params)
    }

    /// Runs RFC 5280 §6.1.2–6.1.6 policy processing over `path` (certificate 1, issued by the
    /// anchor, first). Returns the valid policies of the user-constrained policy set.
    ///
    /// # Errors
    /// Why the path has no acceptable policy.
    pub fn process(
        path: &[CertPolicies],
        params: &PolicyParameters,
    ) -> Result<Vec<String>, String> {
        let n = path.len();
        let mut explicit_policy = if params.require_explicit_policy {
            0
        } else {
            n + 1
        };
        let mut inhibit_any = if params.inhibit_any_policy { 0 } else { n + 1 };
        let mut policy_mapping = if params.inhibit_policy_mapping {
            0
        } else {
            n + 1
        };
        let mut tree: Option<Vec<Vec<Node>>> =
            Some(vec![vec![Node::new(ANY_POLICY, single(ANY_POLICY), None)]]);
        let position = |i: usize| {
            if i == n {
                "the certificate".to_owned()
            } else {
                format!("CA certificate {i} of {n}")
            }
        };

        for (offset, cert) in path.iter().enumerate() {
            let i = offset + 1;
            // §6.1.3 (d), (e)
            match (&cert.policies, tree.as_mut()) {
                (Some(policies), Some(levels)) => {
                    let previous = &levels[i - 1];
                    let mut level: Vec<Node> = Vec::new();
                    for policy in policies.iter().filter(|p| *p != ANY_POLICY) {
                        let mut matched = false;
                        for (k, node) in previous.iter().enumerate() {
                            if node.alive && node.expected.contains(policy) {
                                level.push(Node::new(policy, single(policy), Some(k)));
                                matched = true;
                            }
                        }
                        if !matched
                            && let Some(k) = previous
                                .iter()
                                .position(|n| n.alive && n.policy == ANY_POLICY)
                        {
                            level.push(Node::new(policy, single(policy), Some(k)));
                        }
                    }
                    let asserts_any = policies.iter().any(|p| p == ANY_POLICY);
                    if asserts_any && (inhibit_any > 0 || (i < n && cert.self_issued)) {
                        for (k, node) in previous.iter().enumerate() {
                            if !node.alive {
                                continue;
                            }
                            for expected in &node.expected {
                                if !level
                                    .iter()
                                    .any(|c| c.parent == Some(k) && &c.policy == expected)
                                {
                                    level.push(Node::new(expected, single(expected), Some(k)));
                                }
                            }
                        }
                    }
                    levels.push(level);
                    // A crafted path can make the tree grow exponentially (CVE-2023-0464).
                    if levels.iter().map(Vec::len).sum::<usize>() > MAX_POLICY_NODES {
                        return Err(format!(
                            "the policy tree exceeds {MAX_POLICY_NODES} nodes at {}",
                            position(i)
                        ));
                    }
                    if !prune(levels) {
                        tree = None;
                    }
                }
                _ => tree = None,
            }
            // §6.1.3 (f)
            if explicit_policy == 0 && tree.is_none() {
                return Err(format!("no valid certificate policy at {}", position(i)));
            }
            if i == n {
                break;
            }
            // §6.1.4 (a), (b)
            let mut mapped: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
            for (issuer_domain, subject_domain) in &cert.mappings {
                if issuer_domain == ANY_POLICY || subject_domain == ANY_POLICY {
                    return Err(format!("{} maps anyPolicy", position(i)));
                }
                mapped
                    .entry(issuer_domain)
                    .or_default()
                    .insert(subject_domain.clone());
            }
            if let Some(levels) = tree.as_mut() {
                for (issuer_domain, subject_domains) in mapped {
                    let level = &mut levels[i];
                    if policy_mapping > 0 {
                        let mut found = false;
                        for node in level
                            .iter_mut()
                            .filter(|n| n.alive && n.policy == issuer_domain)
                        {
                            node.expected = subject_domains.clone();
                            found = true;
                        }
                        if !found
                            && let Some(any) =
                                level.iter().find(|n| n.alive && n.policy == ANY_POLICY)
                        {
                            let parent = any.parent;
                            level.push(Node::new(issuer_domain, subject_domains, parent));
                        }
                    } else {
                        for node in level.iter_mut().filter(|n| n.policy == issuer_domain) {
                            node.alive = false;
                        }
                        if !prune(levels) {
                            tree = None;
                            break;
                        }
                    }
                }
            }
            // §6.1.4 (h), (i), (j)
            if !cert.self_issued {
                explicit_policy = explicit_policy.saturating_sub(1);
                policy_mapping = policy_mapping.saturating_sub(1);
                inhibit_any = inhibit_any.saturating_sub(1);
            }
            if let Some(r) = cert.require_explicit_policy {
                explicit_policy = explicit_policy.min(r as usize);
            }
            if let Some(m) = cert.inhibit_policy_mapping {
                policy_mapping = policy_mapping.min(m as usize);
            }
            if let Some(s) = cert.inhibit_any_policy {
                inhibit_any = inhibit_any.min(s as usize);
            }
        }

        // §6.1.5 (a), (b)
        explicit_policy = explicit_policy.saturating_sub(1);
        if path.last().and_then(|c| c.require_explicit_policy) == Some(0) {
            explicit_policy = 0;
        }
        // §6.1.5 (g): the intersection with the user-initial-policy-set.
        let user: BTreeSet<&str> = params.initial_policies.iter().map(String::as_str).collect();
        if let Some(levels) = tree.as_mut()
            && !user.is_empty()
            && !user.contains(ANY_POLICY)
        {
            // The valid_policy_node_set: non-any nodes whose parent is an anyPolicy node.
            let mut node_set: Vec<(usize, usize)> = Vec::new();
            for depth in 1..levels.len() {
                for (index, node) in levels[depth].iter().enumerate() {
                    let parent_is_any = node
                        .parent
                        .and_then(|p| levels[depth - 1].get(p))
                        .is_some_and(|p| p.policy == ANY_POLICY);
                    if node.alive && node.policy != ANY_POLICY && parent_is_any {
                        node_set.push((depth, index));
                    }
                }
            }
            let in_set: BTreeSet<String> = node_set
                .iter()
                .map(|&(d, i)| levels[d][i].policy.clone())
                .collect();
            for &(depth, index) in &node_set {
                if !user.contains(levels[depth][index].policy.as_str()) {
                    levels[depth][index].alive = false;
                }
            }
            // Children of deleted nodes go with them.
            for depth in 1..levels.len() {
                let (upper, lower) = levels.split_at_mut(depth);
                for node in lower[0].iter_mut() {
                    if node.alive && node.parent.is_some_and(|p| !upper[depth - 1][p].alive) {
                        node.alive = false;
                    }
                }
            }
            let deepest = levels.len() - 1;
            if let Some(any_index) = levels[deepest]
                .iter()
                .position(|x| x.alive && x.policy == ANY_POLICY)
            {
                let parent = levels[deepest][any_index].parent;
                for policy in &user {
                    if !in_set.contains(*policy) {
                        levels[deepest].push(Node::new(policy, single(policy), parent));
                    }
                }
                levels[deepest][any_index].alive = false;
            }
            if !prune(levels) {
                tree = None;
            }
        }
        // Each valid leaf named in the user's domain: the policy of its highest ancestor
        // below anyPolicy (policy mappings rename policies further down).
        let valid: Vec<String> = tree
            .as_ref()
            .map(|levels| {
                let deepest = levels.len() - 1;
                levels[deepest]
                    .iter()
                    .enumerate()
                    .filter(|(_, x)| x.alive)
                    .map(|(index, _)| {
                        let (mut depth, mut index) = (deepest, index);
                        while let Some(parent) = levels[depth][index].parent
                            && depth > 0
                            && levels[depth - 1][parent].policy != ANY_POLICY
                        {
                            (depth, index) = (depth - 1, parent);
                        }
                        levels[depth][index].policy.clone()
                    })
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect()
            })
            .unwrap_or_default();
        if explicit_policy > 0 || !valid.is_empty() {
            Ok(valid)
        } else if tree.is_some() {
            Err("no certificate policy of the path is in the acceptable set".to_owned())
        } else {
            Err(
                "the path has no valid certificate policy and an explicit policy is required"
                    .to_owned(),
            )
        }
    }
}

fn message(code: &'static str, severity: Severity, detail: Option<String>) -> Message {
    let (vi, en) = texts(code);
    Message {
        code,
        severity,
        vi: vi.to_owned(),
        en: en.to_owned(),
        detail,
    }
}

/// (Vietnamese, English) for each message code of certificate validation.
pub fn texts(code: &str) -> (&'static str, &'static str) {
    match code {
        "cert-valid" => (
            "Chứng thư số hợp lệ: chuỗi tới chứng thư gốc tin cậy, còn hiệu lực và chưa bị thu hồi tại thời điểm kiểm tra.",
            "The certificate is valid: it chains to a trusted root, is within its validity period and is not revoked at the validation time.",
        ),
        "cert-valid-revocation-unchecked" => (
            "Chứng thư số chuỗi được tới chứng thư gốc tin cậy và còn hiệu lực, nhưng chưa kiểm tra được trạng thái thu hồi (chính sách kiểm tra nới lỏng).",
            "The certificate chains to a trusted root and is within its validity period, but its revocation status could not be checked (lenient policy).",
        ),
        "cert-trust-anchor" => (
            "Chứng thư này chính là một chứng thư tin cậy trong kho (trust anchor).",
            "This certificate is itself a trust anchor of the store.",
        ),
        "cert-chain-untrusted" => (
            "Không xây dựng được chuỗi chứng thư tới chứng thư gốc tin cậy (Root CA quốc gia hoặc đã cấu hình).",
            "No certificate chain to a trusted root (national or configured) could be built.",
        ),
        "cert-expired" => (
            "Chứng thư số (hoặc chứng thư của CA cấp trên) đã hết hạn tại thời điểm kiểm tra.",
            "The certificate (or an issuing CA's certificate) has expired at the validation time.",
        ),
        "cert-not-yet-valid" => (
            "Chứng thư số (hoặc chứng thư của CA cấp trên) chưa có hiệu lực tại thời điểm kiểm tra.",
            "The certificate (or an issuing CA's certificate) is not yet valid at the validation time.",
        ),
        "cert-signature-invalid" => (
            "Chữ ký trên một chứng thư của chuỗi không hợp lệ: chứng thư có thể đã bị giả mạo hoặc sửa đổi.",
            "The signature on a certificate of the chain does not verify: the certificate may be forged or altered.",
        ),
        "cert-basic-constraints" => (
            "Một chứng thư trong chuỗi không phải chứng thư CA hoặc chuỗi dài hơn mức CA cho phép (basicConstraints).",
            "A certificate in the chain is not a CA certificate, or the path is longer than a CA allows (basicConstraints).",
        ),
        "cert-ca-key-usage" => (
            "Chứng thư CA trong chuỗi không được phép ký chứng thư (keyUsage thiếu keyCertSign).",
            "A CA certificate in the chain is not allowed to sign certificates (keyUsage lacks keyCertSign).",
        ),
        "cert-name-constraints" => (
            "Tên trong chứng thư vi phạm ràng buộc tên (nameConstraints) của CA cấp trên.",
            "A name in the certificate violates an issuing CA's name constraints.",
        ),
        "cert-policy" => (
            "Chuỗi chứng thư không có chính sách chứng thư (certificatePolicies) hợp lệ theo yêu cầu.",
            "The chain has no certificate policy that is valid and acceptable as required.",
        ),
        "cert-critical-extension" => (
            "Chứng thư có phần mở rộng bắt buộc (critical) không được hỗ trợ.",
            "A certificate has a critical extension that is not supported.",
        ),
        "cert-chain-invalid" => (
            "Chuỗi chứng thư số không hợp lệ.",
            "The certificate chain is not valid.",
        ),
        "cert-revoked" => (
            "Chứng thư số đã bị thu hồi.",
            "The certificate has been revoked.",
        ),
        "cert-ca-revoked" => (
            "Chứng thư của CA cấp trên trong chuỗi đã bị thu hồi.",
            "An issuing CA's certificate in the chain has been revoked.",
        ),
        "cert-revocation-unknown" => (
            "Không kiểm tra được trạng thái thu hồi của chứng thư số (không có CRL hoặc phản hồi OCSP hợp lệ, còn hiệu lực).",
            "The revocation status could not be checked (no valid, current CRL or OCSP response).",
        ),
        _ => ("Thông báo không xác định.", "Unknown message."),
    }
}

fn verdict_words(indication: Indication, vi: bool) -> &'static str {
    match (indication, vi) {
        (Indication::TotalPassed, true) => "HỢP LỆ",
        (Indication::TotalFailed, true) => "KHÔNG HỢP LỆ",
        (Indication::Indeterminate, true) => "KHÔNG XÁC ĐỊNH",
        (Indication::TotalPassed, false) => "VALID",
        (Indication::TotalFailed, false) => "NOT VALID",
        (Indication::Indeterminate, false) => "CANNOT BE DETERMINED",
    }
}

/// The report as text for people: Vietnamese by default, English on request.
pub fn render(report: &CertReport, lang: super::report::Lang) -> String {
    use super::report::vietnam_time;
    use std::fmt::Write as _;
    let vi = lang == super::report::Lang::Vi;
    let mut out = String::new();
    let line = |out: &mut String, vi_label: &str, en_label: &str, value: &str| {
        let _ = writeln!(out, "{:<30} {value}", if vi { vi_label } else { en_label });
    };
    line(
        &mut out,
        "Tệp chứng thư:",
        "Certificate file:",
        &report.file,
    );
    line(
        &mut out,
        "Thời điểm kiểm tra:",
        "Validation time:",
        &vietnam_time(report.validation_time),
    );
    let sub = report
        .subindication
        .and_then(|s| serde_json::to_value(s).ok())
        .and_then(|v| v.as_str().map(|t| format!(" / {t}")))
        .unwrap_or_default();
    line(
        &mut out,
        "Kết luận:",
        "Verdict:",
        &format!(
            "{} ({}{sub})",
            verdict_words(report.indication, vi),
            report.indication.as_str()
        ),
    );
    if let Some(c) = &report.certificate {
        line(
            &mut out,
            "Chủ thể:",
            "Subject:",
            c.common_name.as_deref().unwrap_or(&c.subject),
        );
        line(&mut out, "Chủ thể đầy đủ:", "Full subject:", &c.subject);
        line(&mut out, "Đơn vị cấp (CA):", "Issuer:", &c.issuer);
        line(&mut out, "Số hiệu chứng thư:", "Serial:", &c.serial);
        line(
            &mut out,
            "Hiệu lực:",
            "Validity:",
            &format!(
                "{} → {}",
                vietnam_time(c.not_before),
                vietnam_time(c.not_after)
            ),
        );
        line(&mut out, "Khóa:", "Key:", &c.key);
        if !c.key_usage.is_empty() {
            line(
                &mut out,
                "Mục đích khóa:",
                "Key usage:",
                &c.key_usage.join(", "),
            );
        }
        if !c.extended_key_usage.is_empty() {
            line(
                &mut out,
                "Mục đích mở rộng:",
                "Extended key usage:",
                &c.extended_key_usage.join(", "),
            );
        }
        line(&mut out, "SHA-256:", "SHA-256:", &c.sha256);
    }
    for (index, subject) in report.chain.iter().enumerate() {
        let label = if index == 0 {
            ("Chuỗi chứng thư:", "Chain:")
        } else {
            ("", "")
        };
        line(
            &mut out,
            label.0,
            label.1,
            &format!("{}. {subject}", index + 1),
        );
    }
    for r in &report.revocation {
        let status = match (r.status, vi) {
            ("good", true) => "chưa bị thu hồi",
            ("revoked", true) => "ĐÃ BỊ THU HỒI",
            (_, true) => "không xác định",
            (other, false) => other,
        };
        let source = r
            .source
            .as_ref()
            .map(|s| {
                let kind = serde_json::to_value(s.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                format!(" ({kind}, {})", s.origin)
            })
            .unwrap_or_default();
        line(
            &mut out,
            "Trạng thái thu hồi:",
            "Revocation:",
            &format!("{status}{source}: {}", r.subject),
        );
    }
    for m in &report.messages {
        let mark = match m.severity {
            Severity::Error => "✗",
            Severity::Warning => "!",
            Severity::Info => "·",
        };
        let text = if vi { &m.vi } else { &m.en };
        match &m.detail {
            Some(detail) if !detail.is_empty() => {
                let _ = writeln!(out, "  {mark} {text} [{}] ({detail})", m.code);
            }
            _ => {
                let _ = writeln!(out, "  {mark} {text} [{}]", m.code);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::policy_tree::{ANY_POLICY, CertPolicies, process};
    use super::*;

    fn ca(policies: &[&str]) -> CertPolicies {
        CertPolicies {
            policies: Some(policies.iter().map(|p| (*p).to_owned()).collect()),
            ..CertPolicies::default()
        }
    }

    const P1: &str = "2.16.840.1.101.3.2.1.48.1";
    const P2: &str = "2.16.840.1.101.3.2.1.48.2";
    const P3: &str = "2.16.840.1.101.3.2.1.48.3";

    fn params(initial: &[&str], explicit: bool) -> PolicyParameters {
        PolicyParameters {
            initial_policies: initial.iter().map(|p| (*p).to_owned()).collect(),
            require_explicit_policy: explicit,
            ..PolicyParameters::default()
        }
    }

    #[test]
    fn same_policy_everywhere_passes_and_a_user_set_without_it_fails_only_when_explicit() {
        let path = [ca(&[P1]), ca(&[P1])];
        assert_eq!(process(&path, &params(&[], false)).unwrap(), vec![P1]);
        assert_eq!(process(&path, &params(&[P1], true)).unwrap(), vec![P1]);
        assert!(process(&path, &params(&[P2], true)).is_err());
        // Without explicit policy the path is valid with an empty policy set.
        assert_eq!(
            process(&path, &params(&[P2], false)).unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_certificate_without_policies_empties_the_tree() {
        let path = [ca(&[P1]), CertPolicies::default(), ca(&[P1])];
        assert!(process(&path, &params(&[], false)).unwrap().is_empty());
        assert!(process(&path, &params(&[], true)).is_err());
    }

    #[test]
    fn any_policy_is_expanded_unless_inhibited() {
        let path = [ca(&[ANY_POLICY]), ca(&[P2])];
        assert_eq!(process(&path, &params(&[P2], true)).unwrap(), vec![P2]);
        let inhibited = PolicyParameters {
            inhibit_any_policy: true,
            require_explicit_policy: true,
            ..PolicyParameters::default()
        };
        assert!(process(&path, &inhibited).is_err());
    }

    #[test]
    fn mappings_change_the_expected_policies_and_can_be_inhibited() {
        let mapping = CertPolicies {
            policies: Some(vec![P1.to_owned()]),
            mappings: vec![(P1.to_owned(), P3.to_owned())],
            ..CertPolicies::default()
        };
        let path = [mapping.clone(), ca(&[P3])];
        // Reported in the user's domain: P1, which the CA maps to P3.
        assert_eq!(process(&path, &params(&[P1], true)).unwrap(), vec![P1]);
        assert!(process(&path, &params(&[P3], true)).is_err());
        let inhibited = PolicyParameters {
            inhibit_policy_mapping: true,
            require_explicit_policy: true,
            ..PolicyParameters::default()
        };
        assert!(process(&path, &inhibited).is_err());
        let to_any = CertPolicies {
            mappings: vec![(P1.to_owned(), ANY_POLICY.to_owned())],
            ..mapping
        };
        assert!(process(&[to_any, ca(&[P1])], &params(&[], false)).is_err());
    }

    #[test]
    fn require_explicit_policy_in_a_ca_applies_after_its_skip_count() {
        let constraining = CertPolicies {
            require_explicit_policy: Some(0),
            ..ca(&[P1])
        };
        assert!(
            process(
                &[constraining.clone(), CertPolicies::default()],
                &params(&[], false)
            )
            .is_err()
        );
        assert!(process(&[constraining, ca(&[P1])], &params(&[], false)).is_ok());
    }

    #[test]
    fn an_exploding_policy_tree_is_refused_not_built() {
        // Every CA maps each of ten policies to all ten: the tree multiplies by ten per level.
        let policies: Vec<String> = (1..=10).map(|n| format!("1.2.3.{n}")).collect();
        let mappings = policies
            .iter()
            .flat_map(|a| policies.iter().map(move |b| (a.clone(), b.clone())))
            .collect();
        let ca = CertPolicies {
            policies: Some(policies.clone()),
            mappings,
            ..CertPolicies::default()
        };
        let path = vec![ca; 8];
        let error = process(&path, &params(&[], false)).unwrap_err();
        assert!(error.contains("exceeds"), "{error}");
    }

    #[test]
    fn input_formats_are_recognised_and_text_is_refused() {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("certs/test-pki");
        let pem = std::fs::read(dir.join("chain.pem")).unwrap();
        let certs = certificates_in(&pem).unwrap();
        assert_eq!(certs.len(), 2);
        assert_eq!(certificates_in(&certs[0]).unwrap(), vec![certs[0].clone()]);
        assert!(certificates_in(b"hello, this is not a certificate").is_err());
        assert!(certificates_in(b"").is_err());
        let crl = std::fs::read(dir.join("inter.crl")).unwrap();
        assert_eq!(crls_in(&crl).unwrap().len(), 1);
        assert!(crls_in(&pem).is_err());
        assert!(ocsp_response_in(&crl).is_err());
        // The end-entity certificate of a bundle is the one checked, whatever the order.
        let leaf = certificates_in(&std::fs::read(dir.join("official.crt")).unwrap()).unwrap();
        let bundle: Vec<X509> = certs
            .iter()
            .chain(leaf.iter())
            .map(|d| X509::from_der(d).unwrap())
            .collect();
        assert_eq!(end_entity(&bundle), 2);
    }

    #[test]
    fn every_message_code_has_texts() {
        let source = include_str!("certificate.rs");
        let input_errors = [
            "cert-file-unreadable",
            "cert-not-a-certificate",
            "cert-not-a-crl",
            "cert-not-an-ocsp-response",
        ];
        let mut missing = Vec::new();
        for quoted in source.split("\"cert-").skip(1) {
            let suffix = quoted.split('"').next().unwrap_or_default();
            if suffix.is_empty() || !suffix.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
                continue;
            }
            let code = ["cert-", suffix].concat();
            if !input_errors.contains(&code.as_str()) && texts(&code).1 == "Unknown message." {
                missing.push(code);
            }
        }
        assert!(missing.is_empty(), "codes without texts: {missing:?}");
    }
}
