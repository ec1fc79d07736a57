//! RFC 3161 timestamps: signature timestamps (B-T) over a signature value and document
//! timestamps (B-LTA) over the byte ranges. A token is checked before it is embedded: status,
//! message imprint, nonce, and the TSA's own CMS signature; the TSA chain is checked by the
//! caller against the trust store.

use cms::signed_data::SignedData;
use der::asn1::{Int, OctetString};
use der::{Decode, Encode};
use openssl::cms::{CMSOptions, CmsContentInfo};
use time::OffsetDateTime;
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

use super::PadesError;
use super::cms::{ID_SIGNED_DATA, ID_TST_INFO, digest_algorithm_id};
use super::fetch::Fetcher;
use super::key::DigestAlgorithm;

/// A verified timestamp token.
#[derive(Debug, Clone)]
pub struct Timestamp {
    /// DER ContentInfo, as embedded.
    pub token: Vec<u8>,
    pub time: OffsetDateTime,
    /// The TSA's certificate and any others the token carries, DER.
    pub certificates: Vec<Vec<u8>>,
    /// Which of `certificates` signed the token.
    pub signer_certificate: Vec<u8>,
}

/// Asks the TSA at `url` for a timestamp over `data`.
///
/// # Errors
/// [`PadesError::Timestamp`] when the TSA is unreachable, refuses, or answers with anything
/// that does not check out.
pub fn request(
    fetcher: &Fetcher,
    url: &str,
    algorithm: DigestAlgorithm,
    data: &[u8],
) -> Result<Timestamp, PadesError> {
    let digest =
        openssl::hash::hash(algorithm.message_digest(), data).map_err(super::key::openssl_error)?;
    request_for_digest(fetcher, url, algorithm, &digest)
}

/// Same as [`request`] with the digest already computed (document timestamps hash the file
/// in a streaming pass).
///
/// # Errors
/// See [`request`].
pub fn request_for_digest(
    fetcher: &Fetcher,
    url: &str,
    algorithm: DigestAlgorithm,
    digest: &[u8],
) -> Result<Timestamp, PadesError> {
    let fail = |reason: String| PadesError::Timestamp {
        url: url.to_owned(),
        reason,
    };
    let mut nonce = [0u8; 8];
    openssl::rand::rand_bytes(&mut nonce).map_err(|e| fail(e.to_string()))?;
    nonce[0] &= 0x7f; // a positive INTEGER
    nonce[0] |= 0x01; // and never a leading zero byte (DER minimal encoding)
    let nonce = Int::new(&nonce).map_err(|e| fail(e.to_string()))?;
    let imprint = MessageImprint {
        hash_algorithm: der::Any::encode_from(&digest_algorithm_id(algorithm))
            .and_then(|any| any.decode_as())
            .map_err(|e| fail(e.to_string()))?,
        hashed_message: OctetString::new(digest.to_vec()).map_err(|e| fail(e.to_string()))?,
    };
    let request = TimeStampReq {
        version: TspVersion::V1,
        message_imprint: imprint.clone(),
        req_policy: None,
        nonce: Some(nonce.clone()),
        cert_req: true,
        extensions: None,
    };
    let body = request.to_der().map_err(|e| fail(e.to_string()))?;
    let answer = fetcher
        .post(url, "application/timestamp-query", &body)
        .map_err(|e| match e {
            PadesError::Fetch { reason, .. } => fail(reason),
            other => other,
        })?;
    let response =
        TimeStampResp::from_der(&answer).map_err(|e| fail(format!("not a TimeStampResp: {e}")))?;
    let status = response.status.status as u8;
    if status > 1 {
        return Err(fail(format!(
            "the TSA refused the request (status {status})"
        )));
    }
    let token = response
        .time_stamp_token
        .ok_or_else(|| fail("granted without a token".to_owned()))?;
    let token_der = token.to_der().map_err(|e| fail(e.to_string()))?;
    let checked = check_token(&token_der, algorithm, digest).map_err(fail)?;
    if checked.nonce.as_ref() != Some(&nonce) {
        return Err(fail(
            "the nonce in the token is not the one sent".to_owned(),
        ));
    }
    Ok(checked.timestamp)
}

pub struct CheckedToken {
    pub timestamp: Timestamp,
    pub nonce: Option<Int>,
}

/// Checks a token's structure, its imprint against `digest`, and its CMS signature (OpenSSL
/// verifies the signed attributes, the message digest of the TSTInfo, and the signature; the
/// chain is left to the caller, who knows the trust store and the time).
///
/// # Errors
/// A reason in English for the log and the error's detail line.
pub fn check_token(
    token_der: &[u8],
    algorithm: DigestAlgorithm,
    digest: &[u8],
) -> Result<CheckedToken, String> {
    let content_info =
        cms::content_info::ContentInfo::from_der(token_der).map_err(|e| e.to_string())?;
    if content_info.content_type != ID_SIGNED_DATA {
        return Err("the token is not CMS SignedData".to_owned());
    }
    let signed: SignedData = content_info
        .content
        .decode_as()
        .map_err(|e| e.to_string())?;
    if signed.encap_content_info.econtent_type != ID_TST_INFO {
        return Err("the token does not hold a TSTInfo".to_owned());
    }
    let econtent = signed
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or_else(|| "the token has no TSTInfo content".to_owned())?;
    let tst_bytes = OctetString::from_der(&econtent.to_der().map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let info = TstInfo::from_der(tst_bytes.as_bytes()).map_err(|e| e.to_string())?;
    let expected_alg = digest_algorithm_id(algorithm);
    if info.message_imprint.hash_algorithm.oid != expected_alg.oid
        || info.message_imprint.hashed_message.as_bytes() != digest
    {
        return Err("the token's message imprint does not match what was sent".to_owned());
    }

    let mut certificates = Vec::new();
    if let Some(set) = &signed.certificates {
        for choice in set.0.iter() {
            if let cms::cert::CertificateChoices::Certificate(cert) = choice {
                certificates.push(cert.to_der().map_err(|e| e.to_string())?);
            }
        }
    }
    let mut parsed = CmsContentInfo::from_der(token_der).map_err(|e| e.to_string())?;
    let store = openssl::x509::store::X509StoreBuilder::new()
        .map_err(|e| e.to_string())?
        .build();
    parsed
        .verify(
            None,
            Some(&store),
            None,
            None,
            CMSOptions::NO_SIGNER_CERT_VERIFY | CMSOptions::BINARY,
        )
        .map_err(|e| format!("the TSA's signature on the token does not verify: {e}"))?;
    let signer_certificate = signer_certificate(&signed, &certificates)
        .ok_or_else(|| "the token does not carry the TSA certificate".to_owned())?;

    let time =
        OffsetDateTime::from_unix_timestamp(info.gen_time.to_unix_duration().as_secs() as i64)
            .map_err(|e| e.to_string())?;
    Ok(CheckedToken {
        timestamp: Timestamp {
            token: token_der.to_vec(),
            time,
            certificates,
            signer_certificate,
        },
        nonce: info.nonce,
    })
}

/// The certificate named by the token's SignerInfo (issuer and serial number, or SKI).
fn signer_certificate(signed: &SignedData, certificates: &[Vec<u8>]) -> Option<Vec<u8>> {
    let info = signed.signer_infos.0.get(0)?;
    certificates
        .iter()
        .find(|der| {
            let Ok(cert) = x509_cert::Certificate::from_der(der) else {
                return false;
            };
            match &info.sid {
                cms::signed_data::SignerIdentifier::IssuerAndSerialNumber(ias) => {
                    ias.issuer == cert.tbs_certificate.issuer
                        && ias.serial_number == cert.tbs_certificate.serial_number
                }
                cms::signed_data::SignerIdentifier::SubjectKeyIdentifier(ski) => {
                    let Ok((_, parsed)) =
                        <x509_parser::prelude::X509Certificate as x509_parser::prelude::FromDer<
                            '_,
                            _,
                        >>::from_der(der)
                    else {
                        return false;
                    };
                    parsed.extensions().iter().any(|ext| {
                        matches!(ext.parsed_extension(),
                            x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(id)
                                if id.0 == ski.0.as_bytes())
                    })
                }
            }
        })
        .cloned()
}
