//! Validation data for the signer's and the TSA's chains: missing issuers fetched from AIA,
//! revocation status from OCSP (preferred: small, signed, fresh) or the CRL distribution
//! point. Everything fetched is kept as DER so B-LT can embed it in the DSS and the document
//! validates offline later.

use openssl::hash::MessageDigest;
use openssl::ocsp::{
    OcspCertId, OcspCertStatus, OcspFlag, OcspRequest, OcspResponse, OcspResponseStatus,
};
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::{X509, X509Crl};
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, GeneralName, ParsedExtension, X509Certificate};

use super::PadesError;
use super::fetch::Fetcher;
use crate::trust::{TrustStore, openssl_certificate};

/// Certificates, OCSP responses and CRLs gathered for a set of chains (no duplicates).
#[derive(Debug, Default, Clone)]
pub struct ValidationData {
    pub certificates: Vec<Vec<u8>>,
    pub ocsp_responses: Vec<Vec<u8>>,
    pub crls: Vec<Vec<u8>>,
}

impl ValidationData {
    pub fn add_certificate(&mut self, der: &[u8]) {
        if !self.certificates.iter().any(|c| c == der) {
            self.certificates.push(der.to_vec());
        }
    }

    fn add_ocsp(&mut self, der: Vec<u8>) {
        if !self.ocsp_responses.contains(&der) {
            self.ocsp_responses.push(der);
        }
    }

    fn add_crl(&mut self, der: Vec<u8>) {
        if !self.crls.contains(&der) {
            self.crls.push(der);
        }
    }

    pub fn extend(&mut self, other: ValidationData) {
        for c in other.certificates {
            self.add_certificate(&c);
        }
        for o in other.ocsp_responses {
            self.add_ocsp(o);
        }
        for c in other.crls {
            self.add_crl(c);
        }
    }
}

/// The parts of a certificate that locate its issuer and its revocation status.
struct Locations {
    ocsp: Vec<String>,
    ca_issuers: Vec<String>,
    crl: Vec<String>,
}

fn locations(der: &[u8]) -> Locations {
    let mut found = Locations {
        ocsp: Vec::new(),
        ca_issuers: Vec::new(),
        crl: Vec::new(),
    };
    let Ok((_, cert)) = X509Certificate::from_der(der) else {
        return found;
    };
    for extension in cert.extensions() {
        match extension.parsed_extension() {
            ParsedExtension::AuthorityInfoAccess(aia) => {
                for access in &aia.accessdescs {
                    if let GeneralName::URI(uri) = &access.access_location {
                        let oid = access.access_method.to_id_string();
                        if oid == "1.3.6.1.5.5.7.48.1" {
                            found.ocsp.push((*uri).to_owned());
                        } else if oid == "1.3.6.1.5.5.7.48.2" {
                            found.ca_issuers.push((*uri).to_owned());
                        }
                    }
                }
            }
            ParsedExtension::CRLDistributionPoints(points) => {
                for point in points.iter() {
                    if let Some(x509_parser::extensions::DistributionPointName::FullName(names)) =
                        &point.distribution_point
                    {
                        for name in names {
                            if let GeneralName::URI(uri) = name {
                                found.crl.push((*uri).to_owned());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    found
}

/// Certificates that may certify others: what the caller knows plus what AIA gives.
/// Fetches missing issuers along AIA caIssuers URLs until the path reaches an anchor, at most
/// a few hops (a loop or a long chain of fetches is an attack, not a PKI).
pub fn complete_chain(
    leaf: &[u8],
    known: &[Vec<u8>],
    trust: &TrustStore,
    fetcher: Option<&Fetcher>,
    at: OffsetDateTime,
) -> Result<Vec<Vec<u8>>, PadesError> {
    let mut pool: Vec<Vec<u8>> = known.to_vec();
    for _ in 0..4 {
        match trust.validate_path(leaf, &pool, at) {
            Ok(path) => return Ok(path),
            Err(error) => {
                let Some(fetcher) = fetcher else {
                    return Err(error.into());
                };
                // Fetch the issuer of the last certificate we can chain to.
                let last = last_reachable(leaf, &pool);
                let mut fetched = false;
                for url in locations(&last).ca_issuers {
                    if let Ok(bytes) = fetcher.get(&url) {
                        for der in certificates_in(&bytes) {
                            if !pool.contains(&der) && der != last {
                                pool.push(der);
                                fetched = true;
                            }
                        }
                    }
                }
                if !fetched {
                    return Err(error.into());
                }
            }
        }
    }
    Ok(trust.validate_path(leaf, &pool, at)?)
}

/// Follows issuer names from `leaf` through `pool` and returns the last certificate reached.
fn last_reachable(leaf: &[u8], pool: &[Vec<u8>]) -> Vec<u8> {
    let mut current = leaf.to_vec();
    for _ in 0..8 {
        let Ok(cert) = openssl_certificate(&current) else {
            break;
        };
        let next = pool.iter().find(|candidate| {
            openssl_certificate(candidate).is_ok_and(|issuer| {
                issuer.subject_name().try_cmp(cert.issuer_name()).ok()
                    == Some(std::cmp::Ordering::Equal)
                    && issuer
                        .public_key()
                        .and_then(|key| cert.verify(&key))
                        .unwrap_or(false)
                    && **candidate != current
            })
        });
        match next {
            Some(next) => current = next.clone(),
            None => break,
        }
    }
    current
}

/// DER certificates in a fetched AIA file: DER, PEM, or a PKCS#7 "certs-only" bundle.
fn certificates_in(bytes: &[u8]) -> Vec<Vec<u8>> {
    if let Ok(cert) = X509::from_der(bytes) {
        return cert.to_der().into_iter().collect();
    }
    if let Ok(certs) = X509::stack_from_pem(bytes)
        && !certs.is_empty()
    {
        return certs.iter().filter_map(|c| c.to_der().ok()).collect();
    }
    if let Ok(pkcs7) = openssl::pkcs7::Pkcs7::from_der(bytes)
        && let Some(signed) = pkcs7.signed()
        && let Some(certs) = signed.certificates()
    {
        return certs.iter().filter_map(|c| c.to_der().ok()).collect();
    }
    Vec::new()
}

/// Revocation status of one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Good,
    Revoked {
        at: String,
    },
    /// No OCSP responder or CRL answered.
    Unknown {
        reason: String,
    },
}

/// Checks every certificate of `path` (leaf first, anchor last; the anchor itself is not
/// checked, as a trust anchor has no issuer to vouch for it) and gathers the data.
/// Returns the status of each non-anchor certificate, leaf first.
pub fn gather(
    path: &[Vec<u8>],
    trust: &TrustStore,
    fetcher: Option<&Fetcher>,
    supplied: &ValidationData,
    now: OffsetDateTime,
) -> Result<(ValidationData, Vec<Status>), PadesError> {
    let mut data = ValidationData::default();
    for der in path {
        data.add_certificate(der);
    }
    let mut statuses = Vec::new();
    for pair in path.windows(2) {
        let (cert_der, issuer_der) = (&pair[0], &pair[1]);
        let cert = openssl_certificate(cert_der).map_err(super::key::openssl_error)?;
        let issuer = openssl_certificate(issuer_der).map_err(super::key::openssl_error)?;
        let where_ = locations(cert_der);
        let mut reasons = Vec::new();
        let mut status = None;
        // Data supplied from files first (offline signing): any response or CRL that
        // checks out for this certificate.
        for response in &supplied.ocsp_responses {
            if status.is_some() {
                break;
            }
            if let Ok(answer) = evaluate_ocsp(&cert, &issuer, path, trust, response.clone(), now) {
                data.add_ocsp(answer.response);
                for c in answer.responder_certificates {
                    data.add_certificate(&c);
                }
                status = Some(answer.status);
            }
        }
        for crl in &supplied.crls {
            if status.is_some() {
                break;
            }
            if let Ok((found, der)) = evaluate_crl(&cert, &issuer, crl, now) {
                data.add_crl(der);
                status = Some(found);
            }
        }
        let fetcher = match (status.is_some(), fetcher) {
            (false, Some(fetcher)) => fetcher,
            _ => {
                statuses.push(status.unwrap_or_else(|| Status::Unknown {
                    reason: "offline, and no supplied OCSP response or CRL covers it".to_owned(),
                }));
                continue;
            }
        };
        for url in &where_.ocsp {
            match ocsp_status(&cert, &issuer, path, trust, url, fetcher, now) {
                Ok(answer) => {
                    data.add_ocsp(answer.response);
                    for c in answer.responder_certificates {
                        data.add_certificate(&c);
                    }
                    status = Some(answer.status);
                    break;
                }
                Err(reason) => reasons.push(format!("OCSP {url}: {reason}")),
            }
        }
        if status.is_none() {
            for url in &where_.crl {
                match crl_status(&cert, &issuer, url, fetcher, now) {
                    Ok((found, crl)) => {
                        data.add_crl(crl);
                        status = Some(found);
                        break;
                    }
                    Err(reason) => reasons.push(format!("CRL {url}: {reason}")),
                }
            }
        }
        statuses.push(status.unwrap_or_else(|| Status::Unknown {
            reason: if reasons.is_empty() {
                "no OCSP responder or CRL distribution point in the certificate".to_owned()
            } else {
                reasons.join("; ")
            },
        }));
    }
    Ok((data, statuses))
}

/// A checked OCSP answer: the status, the response DER and the responder's certificates.
struct OcspAnswer {
    status: Status,
    response: Vec<u8>,
    responder_certificates: Vec<Vec<u8>>,
}

/// Queries one OCSP responder, verifies its answer (signature, responder authorised by the
/// issuer, freshness) and returns the status, the response DER and the responder's
/// certificates.
fn ocsp_status(
    cert: &X509,
    issuer: &X509,
    path: &[Vec<u8>],
    trust: &TrustStore,
    url: &str,
    fetcher: &Fetcher,
    now: OffsetDateTime,
) -> Result<OcspAnswer, String> {
    let id =
        OcspCertId::from_cert(MessageDigest::sha1(), cert, issuer).map_err(|e| e.to_string())?;
    let mut request = OcspRequest::new().map_err(|e| e.to_string())?;
    request.add_id(id).map_err(|e| e.to_string())?;
    let body = request.to_der().map_err(|e| e.to_string())?;
    let response_der = fetcher
        .post(url, "application/ocsp-request", &body)
        .map_err(|e| e.to_string())?;
    evaluate_ocsp(cert, issuer, path, trust, response_der, now)
}

/// Checks an OCSP response for `cert` and requires it to be fresh at `now` (signing).
fn evaluate_ocsp(
    cert: &X509,
    issuer: &X509,
    path: &[Vec<u8>],
    trust: &TrustStore,
    response_der: Vec<u8>,
    now: OffsetDateTime,
) -> Result<OcspAnswer, String> {
    let evidence = ocsp_evidence(cert, issuer, path, trust, &response_der)?;
    if !evidence.fresh_at(now) {
        return Err("response not fresh".to_owned());
    }
    Ok(OcspAnswer {
        status: evidence.status,
        response: response_der,
        responder_certificates: evidence.responder_certificates,
    })
}

/// Where a revocation answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum EvidenceKind {
    Ocsp,
    Crl,
}

/// A checked revocation answer for one certificate: signed by its issuer (or a responder the
/// issuer authorised), covering the certificate, with its validity window.
#[derive(Debug, Clone)]
pub struct Evidence {
    pub kind: EvidenceKind,
    pub status: Status,
    pub revoked_at: Option<OffsetDateTime>,
    pub this_update: OffsetDateTime,
    pub next_update: Option<OffsetDateTime>,
    pub der: Vec<u8>,
    pub responder_certificates: Vec<Vec<u8>>,
}

impl Evidence {
    /// Usable for a decision at `now`: issued by then (five minutes of clock skew) and not
    /// past its nextUpdate; without nextUpdate, no older than a week.
    pub fn fresh_at(&self, now: OffsetDateTime) -> bool {
        let skew = time::Duration::minutes(5);
        self.this_update <= now + skew
            && match self.next_update {
                Some(next) => next + skew >= now,
                None => self.this_update + time::Duration::days(7) >= now,
            }
    }

    /// Says something about the certificate's status at `at` (a signing time) and was
    /// issued by `validation_time`: its window covers `at`, or it was issued after `at`
    /// (a later "good" means not revoked at `at` either, revocation being final).
    pub fn covers(&self, at: OffsetDateTime, validation_time: OffsetDateTime) -> bool {
        let skew = time::Duration::minutes(5);
        self.this_update <= validation_time + skew
            && (self.this_update + skew >= at || self.next_update.is_some_and(|n| n + skew >= at))
    }
}

/// Parses an ASN.1 time as OpenSSL prints it (`Nov 22 10:00:00 2026 GMT`).
/// An OpenSSL time (`Jan  1 00:00:00 2021 GMT`) as messages show times.
fn readable_time(text: &str) -> String {
    openssl_time(text).map_or_else(|| text.to_owned(), super::display_time)
}

fn openssl_time(text: &str) -> Option<OffsetDateTime> {
    let format = time::macros::format_description!(
        "[month repr:short] [day padding:space] [hour]:[minute]:[second] [year] GMT"
    );
    let normalized = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let padded = match normalized.split_once(' ') {
        Some((month, rest)) if rest.split(' ').next().is_some_and(|d| d.len() == 1) => {
            format!("{month}  {rest}")
        }
        _ => normalized,
    };
    time::PrimitiveDateTime::parse(&padded, &format)
        .ok()
        .map(|t| t.assume_utc())
}

/// Checks an OCSP response for `cert`: signed by the issuer or by a responder the issuer
/// authorised (checked at the time the response was made, so an old response embedded in a
/// DSS still verifies after the responder's certificate expires), and the status it gives.
///
/// # Errors
/// A reason in English when the response is unusable for this certificate.
pub fn ocsp_evidence(
    cert: &X509,
    issuer: &X509,
    extra_certificates: &[Vec<u8>],
    trust: &TrustStore,
    response_der: &[u8],
) -> Result<Evidence, String> {
    let response = OcspResponse::from_der(response_der).map_err(|e| e.to_string())?;
    if response.status() != OcspResponseStatus::SUCCESSFUL {
        return Err(format!("responder status {:?}", response.status()));
    }
    let basic = response.basic().map_err(|e| e.to_string())?;
    let id =
        OcspCertId::from_cert(MessageDigest::sha1(), cert, issuer).map_err(|e| e.to_string())?;
    let single = basic
        .find_status(&id)
        .ok_or_else(|| "response does not cover the certificate".to_owned())?;
    let this_update = openssl_time(&single.this_update.to_string())
        .ok_or_else(|| "response has an unreadable thisUpdate".to_owned())?;
    let next_update = single
        .next_update()
        .and_then(|t| openssl_time(&t.to_string()));
    let revoked_at = single
        .revocation_time
        .and_then(|t| openssl_time(&t.to_string()));
    let status = match single.status {
        OcspCertStatus::GOOD => Status::Good,
        OcspCertStatus::REVOKED => Status::Revoked {
            at: single
                .revocation_time
                .map(|t| readable_time(&t.to_string()))
                .unwrap_or_default(),
        },
        _ => Status::Unknown {
            reason: "the responder does not know the certificate".to_owned(),
        },
    };
    // Verify against the issuer (direct or delegated responder), the caller's certificates
    // and the trust anchors, at the time the response was made.
    let mut store = X509StoreBuilder::new().map_err(|e| e.to_string())?;
    for anchor in trust.openssl_anchors() {
        let _ = store.add_cert(anchor.clone());
    }
    let _ = store.add_cert(issuer.to_owned());
    let mut param = openssl::x509::verify::X509VerifyParam::new().map_err(|e| e.to_string())?;
    param.set_time(this_update.unix_timestamp());
    param
        .set_flags(openssl::x509::verify::X509VerifyFlags::PARTIAL_CHAIN)
        .map_err(|e| e.to_string())?;
    store.set_param(&param).map_err(|e| e.to_string())?;
    let store = store.build();
    let mut certs = Stack::new().map_err(|e| e.to_string())?;
    for der in extra_certificates {
        if let Ok(c) = openssl_certificate(der) {
            certs.push(c).map_err(|e| e.to_string())?;
        }
    }
    basic
        .verify(&certs, &store, OcspFlag::empty())
        .map_err(|e| format!("response signature not valid: {e}"))?;
    Ok(Evidence {
        kind: EvidenceKind::Ocsp,
        status,
        revoked_at,
        this_update,
        next_update,
        der: response_der.to_vec(),
        responder_certificates: response_certificates(response_der),
    })
}

/// The certificates a BasicOCSPResponse carries (the delegated responder's), for the DSS.
fn response_certificates(response_der: &[u8]) -> Vec<Vec<u8>> {
    use der::{Decode, Encode};
    /// The TLVs inside a constructed value.
    fn elements(bytes: &[u8]) -> Option<Vec<der::Any>> {
        let mut reader = der::SliceReader::new(bytes).ok()?;
        let mut out = Vec::new();
        while !der::Reader::is_finished(&reader) {
            out.push(der::Any::decode(&mut reader).ok()?);
        }
        Some(out)
    }
    // OCSPResponse → [0] → ResponseBytes { type, OCTET STRING BasicOCSPResponse }
    // → BasicOCSPResponse { tbs, alg, signature, [0] SEQUENCE OF Certificate }.
    let walk = || -> Option<Vec<Vec<u8>>> {
        let top = der::Any::from_der(response_der).ok()?;
        let tagged = elements(top.value())?.get(1)?.clone();
        let response_bytes = elements(tagged.value())?.first()?.clone();
        let basic_der = elements(response_bytes.value())?.get(1)?.value().to_vec();
        let basic = der::Any::from_der(&basic_der).ok()?;
        let certs_tagged = elements(basic.value())?.get(3)?.clone();
        let sequence = elements(certs_tagged.value())?.first()?.clone();
        elements(sequence.value())?
            .iter()
            .map(|c| c.to_der().ok())
            .collect()
    };
    walk().unwrap_or_default()
}

fn crl_status(
    cert: &X509,
    issuer: &X509,
    url: &str,
    fetcher: &Fetcher,
    now: OffsetDateTime,
) -> Result<(Status, Vec<u8>), String> {
    let bytes = fetcher.get(url).map_err(|e| e.to_string())?;
    evaluate_crl(cert, issuer, &bytes, now)
}

/// Checks a CRL (DER or PEM) for `cert` and requires it to be current at `now` (signing).
fn evaluate_crl(
    cert: &X509,
    issuer: &X509,
    bytes: &[u8],
    now: OffsetDateTime,
) -> Result<(Status, Vec<u8>), String> {
    let evidence = crl_evidence(cert, issuer, bytes)?;
    if evidence.next_update.is_some_and(|next| next < now) {
        return Err("CRL is out of date (nextUpdate passed)".to_owned());
    }
    Ok((evidence.status, evidence.der))
}

/// Checks a CRL (DER or PEM) for `cert`: issued and signed by `issuer`, and whether it
/// lists the certificate.
///
/// # Errors
/// A reason in English when the CRL is unusable for this certificate.
pub fn crl_evidence(cert: &X509, issuer: &X509, bytes: &[u8]) -> Result<Evidence, String> {
    let crl = X509Crl::from_der(bytes)
        .or_else(|_| X509Crl::from_pem(bytes))
        .map_err(|e| format!("not a CRL: {e}"))?;
    let key = issuer.public_key().map_err(|e| e.to_string())?;
    if !crl.verify(&key).map_err(|e| e.to_string())? {
        return Err("CRL signature does not verify with the issuer's key".to_owned());
    }
    if crl.issuer_name().try_cmp(issuer.subject_name()).ok() != Some(std::cmp::Ordering::Equal) {
        return Err("CRL issued by another CA".to_owned());
    }
    let this_update = openssl_time(&crl.last_update().to_string())
        .ok_or_else(|| "CRL has an unreadable thisUpdate".to_owned())?;
    let next_update = crl.next_update().and_then(|t| openssl_time(&t.to_string()));
    let der = crl.to_der().map_err(|e| e.to_string())?;
    let (status, revoked_at) = match crl.get_by_serial(cert.serial_number()) {
        openssl::x509::CrlStatus::Revoked(entry) => (
            Status::Revoked {
                at: readable_time(&entry.revocation_date().to_string()),
            },
            openssl_time(&entry.revocation_date().to_string()),
        ),
        _ => (Status::Good, None),
    };
    Ok(Evidence {
        kind: EvidenceKind::Crl,
        status,
        revoked_at,
        this_update,
        next_update,
        der,
        responder_certificates: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openssl_printed_times_parse() {
        let t = openssl_time("Nov 22 10:00:00 2026 GMT").unwrap();
        assert_eq!(t.unix_timestamp(), 1_795_341_600);
        let t = openssl_time("Dec  6 01:32:11 2026 GMT").unwrap();
        assert_eq!((t.day(), t.hour()), (6, 1));
        assert!(openssl_time("garbage").is_none());
    }
}
