//! Certificate status for verification: the path to a trust anchor at a given time, and the
//! revocation status of every certificate on it, from the evidence the document carries (DSS,
//! the CMS revocation archive), files the user supplied, and (unless offline) OCSP and CRL
//! fetched now.

use time::OffsetDateTime;

use crate::pades::fetch::Fetcher;
use crate::pades::revocation::{self, Evidence, EvidenceKind, Status};
use crate::trust::{TrustError, TrustStore, openssl_certificate};

/// Revocation evidence available without asking anyone.
#[derive(Debug, Default, Clone)]
pub struct EvidencePool {
    pub certificates: Vec<Vec<u8>>,
    pub ocsp: Vec<Vec<u8>>,
    pub crls: Vec<Vec<u8>>,
}

impl EvidencePool {
    pub fn extend(&mut self, other: &EvidencePool) {
        for c in &other.certificates {
            if !self.certificates.contains(c) {
                self.certificates.push(c.clone());
            }
        }
        for o in &other.ocsp {
            if !self.ocsp.contains(o) {
                self.ocsp.push(o.clone());
            }
        }
        for c in &other.crls {
            if !self.crls.contains(c) {
                self.crls.push(c.clone());
            }
        }
    }
}

/// Why no path was found, as ETSI sub-indications distinguish it.
#[derive(Debug, Clone)]
pub enum PathFailure {
    /// No anchor reachable (unknown root, missing intermediate).
    NoChain(String),
    /// A certificate on the path is expired or not yet valid at the time asked.
    OutOfBounds(String),
    /// Anything else (bad signature in the chain, constraints violated).
    Invalid(String),
}

/// The path from `leaf` to an anchor, valid at `at`. Missing issuers come from `pool` and,
/// unless `fetcher` is `None`, from AIA caIssuers URLs.
pub fn path_at(
    leaf: &[u8],
    pool: &[Vec<u8>],
    trust: &TrustStore,
    fetcher: Option<&Fetcher>,
    at: OffsetDateTime,
) -> Result<Vec<Vec<u8>>, PathFailure> {
    match revocation::complete_chain(leaf, pool, trust, fetcher, at) {
        Ok(path) => Ok(path),
        Err(crate::pades::PadesError::Untrusted(TrustError::PathInvalid { code, reason })) => {
            Err(match code {
                "certificate-untrusted" => PathFailure::NoChain(reason),
                "certificate-expired" | "certificate-not-yet-valid" => {
                    PathFailure::OutOfBounds(reason)
                }
                _ => PathFailure::Invalid(reason),
            })
        }
        Err(other) => Err(PathFailure::Invalid(other.to_string())),
    }
}

/// What is known about one certificate's revocation at the signing time.
#[derive(Debug, Clone)]
pub enum Revocation {
    /// Not revoked at the time asked, by this evidence.
    Good { source: Source },
    /// Revoked at `revoked_at`.
    Revoked {
        source: Source,
        revoked_at: Option<OffsetDateTime>,
    },
    /// No usable evidence.
    Unknown { reasons: Vec<String> },
}

/// Where revocation evidence came from.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Source {
    pub kind: EvidenceKind,
    /// "document" (DSS or the signature's own archive), "supplied" or "online".
    pub origin: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    pub this_update: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_update: Option<OffsetDateTime>,
}

/// Revocation of every certificate of `path` but the anchor, leaf first, at `signing_time`,
/// judged at `validation_time`. Document evidence first, then supplied, then online.
pub fn revocation_of_path(
    path: &[Vec<u8>],
    trust: &TrustStore,
    document: &EvidencePool,
    supplied: &EvidencePool,
    fetcher: Option<&Fetcher>,
    signing_time: OffsetDateTime,
    validation_time: OffsetDateTime,
) -> Vec<Revocation> {
    let mut out = Vec::new();
    for pair in path.windows(2) {
        let (Ok(cert), Ok(issuer)) = (openssl_certificate(&pair[0]), openssl_certificate(&pair[1]))
        else {
            out.push(Revocation::Unknown {
                reasons: vec!["a certificate of the path does not parse".to_owned()],
            });
            continue;
        };
        // Responder certificates may ride in the DSS rather than in the response.
        let mut extra: Vec<Vec<u8>> = path.to_vec();
        extra.extend(document.certificates.iter().cloned());
        extra.extend(supplied.certificates.iter().cloned());
        let mut reasons = Vec::new();
        let mut found = None;
        'sources: for (origin, pool) in [("document", document), ("supplied", supplied)] {
            for response in &pool.ocsp {
                match revocation::ocsp_evidence(&cert, &issuer, &extra, trust, response) {
                    Ok(e) => {
                        if let Some(r) = usable(e, origin, signing_time, validation_time) {
                            found = Some(r);
                            break 'sources;
                        }
                    }
                    Err(reason) => reasons.push(format!("{origin} OCSP: {reason}")),
                }
            }
            for crl in &pool.crls {
                if let Ok(e) = revocation::crl_evidence(&cert, &issuer, crl)
                    && let Some(r) = usable(e, origin, signing_time, validation_time)
                {
                    found = Some(r);
                    break 'sources;
                }
            }
        }
        if found.is_none()
            && let Some(fetcher) = fetcher
        {
            let fetched = revocation::gather(
                &[pair[0].clone(), pair[1].clone()],
                trust,
                Some(fetcher),
                &Default::default(),
                validation_time,
            );
            match fetched {
                Ok((data, statuses)) => {
                    for response in &data.ocsp_responses {
                        if let Ok(e) =
                            revocation::ocsp_evidence(&cert, &issuer, &extra, trust, response)
                            && let Some(r) = usable(e, "online", signing_time, validation_time)
                        {
                            found = Some(r);
                        }
                    }
                    for crl in &data.crls {
                        if found.is_none()
                            && let Ok(e) = revocation::crl_evidence(&cert, &issuer, crl)
                            && let Some(r) = usable(e, "online", signing_time, validation_time)
                        {
                            found = Some(r);
                        }
                    }
                    for status in statuses {
                        if let Status::Unknown { reason } = status {
                            reasons.push(format!("online: {reason}"));
                        }
                    }
                }
                Err(e) => reasons.push(format!("online: {e}")),
            }
        } else if found.is_none() {
            reasons.push("offline: no OCSP or CRL fetched".to_owned());
        }
        out.push(found.unwrap_or(Revocation::Unknown { reasons }));
    }
    out
}

fn usable(
    evidence: Evidence,
    origin: &'static str,
    signing_time: OffsetDateTime,
    validation_time: OffsetDateTime,
) -> Option<Revocation> {
    let source = Source {
        kind: evidence.kind,
        origin,
        this_update: evidence.this_update,
        next_update: evidence.next_update,
    };
    match evidence.status {
        // A revocation is final: any evidence of it counts, whenever it was issued.
        Status::Revoked { .. }
            if evidence.this_update <= validation_time + time::Duration::minutes(5) =>
        {
            Some(Revocation::Revoked {
                source,
                revoked_at: evidence.revoked_at,
            })
        }
        Status::Good if evidence.covers(signing_time, validation_time) => {
            Some(Revocation::Good { source })
        }
        _ => None,
    }
}
