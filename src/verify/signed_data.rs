//! CMS SignedData as a verifier sees it (RFC 5652, ETSI EN 319 122-1): the facts a
//! signature report needs, read from the exact DER the signer produced, and the check of the
//! signature value over a precomputed digest (so a 300 MB scan is hashed once, streaming).

use const_oid::ObjectIdentifier;
use openssl::md::{Md, MdRef};
use openssl::pkey::{Id, PKey, Public};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::Padding;
use openssl::sign::RsaPssSaltlen;
use time::OffsetDateTime;

use super::der_walk::{self, Tlv};

const ID_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
const ID_DATA: &str = "1.2.840.113549.1.7.1";
const ID_CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";
const ID_MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
const ID_SIGNING_TIME: &str = "1.2.840.113549.1.9.5";
const ID_SIGNING_CERTIFICATE: &str = "1.2.840.113549.1.9.16.2.12";
const ID_SIGNING_CERTIFICATE_V2: &str = "1.2.840.113549.1.9.16.2.47";
const ID_SIGNATURE_TIMESTAMP: &str = "1.2.840.113549.1.9.16.2.14";
const ID_ADBE_REVOCATION: &str = "1.2.840.113583.1.1.8";
const ID_RSASSA_PSS: &str = "1.2.840.113549.1.1.10";

/// Most certificates a SignedData may carry (real ones carry a chain and a few responder
/// certificates): each is parsed to find the signer and offered to every path built.
const MAX_CERTIFICATES: usize = 256;
/// Most signature timestamps checked per signature (one is usual): each is a CMS
/// verification and two path validations.
const MAX_TIMESTAMP_TOKENS: usize = 8;
/// Most OCSP responses and CRLs taken from the signed revocation archive, each.
const MAX_ARCHIVED: usize = 256;

/// Hash functions a signature may name, weak ones included so they can be reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlgorithm {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
    Sha3_256,
    Sha3_384,
    Sha3_512,
}

impl HashAlgorithm {
    pub fn from_oid(oid: &str) -> Option<Self> {
        Some(match oid {
            "1.2.840.113549.2.5" => HashAlgorithm::Md5,
            "1.3.14.3.2.26" => HashAlgorithm::Sha1,
            "2.16.840.1.101.3.4.2.4" => HashAlgorithm::Sha224,
            "2.16.840.1.101.3.4.2.1" => HashAlgorithm::Sha256,
            "2.16.840.1.101.3.4.2.2" => HashAlgorithm::Sha384,
            "2.16.840.1.101.3.4.2.3" => HashAlgorithm::Sha512,
            "2.16.840.1.101.3.4.2.8" => HashAlgorithm::Sha3_256,
            "2.16.840.1.101.3.4.2.9" => HashAlgorithm::Sha3_384,
            "2.16.840.1.101.3.4.2.10" => HashAlgorithm::Sha3_512,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Md5 => "MD5",
            HashAlgorithm::Sha1 => "SHA-1",
            HashAlgorithm::Sha224 => "SHA-224",
            HashAlgorithm::Sha256 => "SHA-256",
            HashAlgorithm::Sha384 => "SHA-384",
            HashAlgorithm::Sha512 => "SHA-512",
            HashAlgorithm::Sha3_256 => "SHA3-256",
            HashAlgorithm::Sha3_384 => "SHA3-384",
            HashAlgorithm::Sha3_512 => "SHA3-512",
        }
    }

    /// Broken for signatures (collisions): not acceptable in a new signature (TT 15/2025).
    pub fn is_weak(self) -> bool {
        matches!(self, HashAlgorithm::Md5 | HashAlgorithm::Sha1)
    }

    pub fn message_digest(self) -> openssl::hash::MessageDigest {
        use openssl::hash::MessageDigest as M;
        match self {
            HashAlgorithm::Md5 => M::md5(),
            HashAlgorithm::Sha1 => M::sha1(),
            HashAlgorithm::Sha224 => M::sha224(),
            HashAlgorithm::Sha256 => M::sha256(),
            HashAlgorithm::Sha384 => M::sha384(),
            HashAlgorithm::Sha512 => M::sha512(),
            HashAlgorithm::Sha3_256 => M::sha3_256(),
            HashAlgorithm::Sha3_384 => M::sha3_384(),
            HashAlgorithm::Sha3_512 => M::sha3_512(),
        }
    }

    fn md(self) -> &'static MdRef {
        match self {
            HashAlgorithm::Md5 => Md::md5(),
            HashAlgorithm::Sha1 => Md::sha1(),
            HashAlgorithm::Sha224 => Md::sha224(),
            HashAlgorithm::Sha256 => Md::sha256(),
            HashAlgorithm::Sha384 => Md::sha384(),
            HashAlgorithm::Sha512 => Md::sha512(),
            HashAlgorithm::Sha3_256 => Md::sha3_256(),
            HashAlgorithm::Sha3_384 => Md::sha3_384(),
            HashAlgorithm::Sha3_512 => Md::sha3_512(),
        }
    }

    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        openssl::hash::hash(self.message_digest(), data)
            .map(|d| d.to_vec())
            .unwrap_or_default()
    }
}

/// The ESS signing-certificate reference: which certificate the signer committed to.
#[derive(Debug, Clone)]
pub struct SigningCertificateRef {
    /// 1 for the SHA-1 `signingCertificate`, 2 for `signingCertificateV2`.
    pub version: u8,
    pub algorithm: Option<HashAlgorithm>,
    pub hash: Vec<u8>,
}

/// What a SignedData holds, as the report needs it.
#[derive(Debug, Clone)]
pub struct SignedDataFacts {
    pub signer_infos: usize,
    pub has_encapsulated_content: bool,
    pub certificates: Vec<Vec<u8>>,
    /// The certificate the SignerInfo names (issuer + serial, or subject key identifier).
    pub signer_certificate: Option<Vec<u8>>,
    pub digest_algorithm: Option<HashAlgorithm>,
    pub digest_algorithm_oid: String,
    pub signature_algorithm_oid: String,
    /// PSS parameters when the signature algorithm is RSASSA-PSS: (hash, salt length).
    pub pss: Option<(HashAlgorithm, i32)>,
    pub signature_value: Vec<u8>,
    /// The signed attributes re-tagged as a SET, exactly as signed; `None` without them.
    pub signed_attributes: Option<Vec<u8>>,
    pub content_type_is_data: Option<bool>,
    pub message_digest: Option<Vec<u8>>,
    pub signing_certificate: Option<SigningCertificateRef>,
    pub signing_time_attribute: Option<OffsetDateTime>,
    pub timestamp_tokens: Vec<Vec<u8>>,
    /// Adobe's revocation archive attribute (signed): OCSP responses and CRLs.
    pub archived_ocsp: Vec<Vec<u8>>,
    pub archived_crls: Vec<Vec<u8>>,
}

fn oid_of(tlv: &Tlv<'_>) -> Option<String> {
    (tlv.tag == 0x06)
        .then(|| ObjectIdentifier::from_bytes(tlv.value).ok())
        .flatten()
        .map(|o| o.to_string())
}

/// Parses a CMS ContentInfo holding SignedData. Padding after the DER is ignored by the
/// caller (`/Contents` is zero-padded).
///
/// # Errors
/// A reason in English when the structure is not SignedData or is malformed.
pub fn parse(der: &[u8]) -> Result<SignedDataFacts, String> {
    let bad = |what: &str| format!("malformed CMS: {what}");
    let (content_info, _) = der_walk::read(der).ok_or_else(|| bad("ContentInfo"))?;
    let parts = der_walk::children(content_info.value).ok_or_else(|| bad("ContentInfo"))?;
    if parts.first().and_then(oid_of).as_deref() != Some(ID_SIGNED_DATA) {
        return Err("the CMS content is not SignedData".to_owned());
    }
    let explicit = parts
        .get(1)
        .filter(|t| t.tag == 0xa0)
        .ok_or_else(|| bad("content"))?;
    let (signed_data, _) = der_walk::read(explicit.value).ok_or_else(|| bad("SignedData"))?;
    let fields = der_walk::children(signed_data.value).ok_or_else(|| bad("SignedData"))?;
    let mut index = 1; // version
    index += 1; // digestAlgorithms
    let encap = fields.get(index).ok_or_else(|| bad("encapContentInfo"))?;
    let encap_parts = der_walk::children(encap.value).ok_or_else(|| bad("encapContentInfo"))?;
    let has_encapsulated_content = encap_parts.len() > 1;
    index += 1;
    let mut certificates = Vec::new();
    while let Some(field) = fields.get(index) {
        match field.tag {
            0xa0 => {
                for cert in der_walk::children(field.value).ok_or_else(|| bad("certificates"))? {
                    if cert.tag == 0x30 {
                        certificates.push(cert.raw.to_vec());
                    }
                }
                if certificates.len() > MAX_CERTIFICATES {
                    return Err(bad(&format!("more than {MAX_CERTIFICATES} certificates")));
                }
            }
            0xa1 => {}
            _ => break,
        }
        index += 1;
    }
    let signer_set = fields
        .get(index)
        .filter(|t| t.tag == 0x31)
        .ok_or_else(|| bad("signerInfos"))?;
    let signer_infos = der_walk::children(signer_set.value).ok_or_else(|| bad("signerInfos"))?;
    let signer = signer_infos
        .first()
        .ok_or_else(|| "no SignerInfo".to_owned())?;
    let info = der_walk::children(signer.value).ok_or_else(|| bad("SignerInfo"))?;
    let sid = info.get(1).ok_or_else(|| bad("sid"))?;
    let digest_alg = info.get(2).ok_or_else(|| bad("digestAlgorithm"))?;
    let digest_algorithm_oid = der_walk::children(digest_alg.value)
        .and_then(|c| c.first().and_then(oid_of))
        .ok_or_else(|| bad("digestAlgorithm"))?;
    let mut at = 3;
    let mut signed_attributes = None;
    let mut attributes = Vec::new();
    if let Some(field) = info.get(at).filter(|t| t.tag == 0xa0) {
        let mut set = field.raw.to_vec();
        set[0] = 0x31;
        signed_attributes = Some(set);
        attributes = der_walk::children(field.value).ok_or_else(|| bad("signedAttrs"))?;
        at += 1;
    }
    let signature_alg = info.get(at).ok_or_else(|| bad("signatureAlgorithm"))?;
    let signature_alg_parts =
        der_walk::children(signature_alg.value).ok_or_else(|| bad("signatureAlgorithm"))?;
    let signature_algorithm_oid = signature_alg_parts
        .first()
        .and_then(oid_of)
        .ok_or_else(|| bad("signatureAlgorithm"))?;
    let pss = if signature_algorithm_oid == ID_RSASSA_PSS {
        Some(
            pss_parameters(signature_alg_parts.get(1))
                .ok_or_else(|| bad("RSASSA-PSS parameters"))?,
        )
    } else {
        None
    };
    at += 1;
    let signature = info
        .get(at)
        .filter(|t| t.tag == 0x04)
        .ok_or_else(|| bad("signature"))?;
    at += 1;
    let unsigned = info.get(at).filter(|t| t.tag == 0xa1);

    let mut facts = SignedDataFacts {
        signer_infos: signer_infos.len(),
        has_encapsulated_content,
        signer_certificate: find_signer(sid, &certificates),
        certificates,
        digest_algorithm: HashAlgorithm::from_oid(&digest_algorithm_oid),
        digest_algorithm_oid,
        signature_algorithm_oid,
        pss,
        signature_value: signature.value.to_vec(),
        signed_attributes,
        content_type_is_data: None,
        message_digest: None,
        signing_certificate: None,
        signing_time_attribute: None,
        timestamp_tokens: Vec::new(),
        archived_ocsp: Vec::new(),
        archived_crls: Vec::new(),
    };
    for attribute in &attributes {
        let Some(parts) = der_walk::children(attribute.value) else {
            return Err(bad("signed attribute"));
        };
        let (Some(oid), Some(values)) = (parts.first().and_then(oid_of), parts.get(1)) else {
            return Err(bad("signed attribute"));
        };
        let values = der_walk::children(values.value).ok_or_else(|| bad("attribute values"))?;
        let Some(value) = values.first() else {
            continue;
        };
        match oid.as_str() {
            ID_CONTENT_TYPE => {
                facts.content_type_is_data = Some(oid_of(value).as_deref() == Some(ID_DATA))
            }
            ID_MESSAGE_DIGEST if value.tag == 0x04 => {
                facts.message_digest = Some(value.value.to_vec())
            }
            ID_SIGNING_TIME => facts.signing_time_attribute = asn1_time(value),
            ID_SIGNING_CERTIFICATE_V2 => facts.signing_certificate = ess_reference(value, 2),
            ID_SIGNING_CERTIFICATE => facts.signing_certificate = ess_reference(value, 1),
            ID_ADBE_REVOCATION => archived_revocation(value, &mut facts),
            _ => {}
        }
    }
    if let Some(unsigned) = unsigned {
        for attribute in der_walk::children(unsigned.value).unwrap_or_default() {
            let parts = der_walk::children(attribute.value).unwrap_or_default();
            if parts.first().and_then(oid_of).as_deref() == Some(ID_SIGNATURE_TIMESTAMP)
                && let Some(values) = parts.get(1)
            {
                for token in der_walk::children(values.value).unwrap_or_default() {
                    if facts.timestamp_tokens.len() < MAX_TIMESTAMP_TOKENS {
                        facts.timestamp_tokens.push(token.raw.to_vec());
                    }
                }
            }
        }
    }
    Ok(facts)
}

/// RSASSA-PSS-params: hash (default SHA-1) and salt length (default 20).
fn pss_parameters(params: Option<&Tlv<'_>>) -> Option<(HashAlgorithm, i32)> {
    let mut hash = HashAlgorithm::Sha1;
    let mut salt = 20i32;
    let Some(params) = params else {
        return Some((hash, salt));
    };
    for part in der_walk::children(params.value)? {
        match part.tag {
            0xa0 => {
                let (alg, _) = der_walk::read(part.value)?;
                let oid = der_walk::children(alg.value)?.first().and_then(oid_of)?;
                hash = HashAlgorithm::from_oid(&oid)?;
            }
            0xa2 => {
                let (int, _) = der_walk::read(part.value)?;
                if int.value.is_empty() || int.value.len() > 3 {
                    return None;
                }
                salt = int
                    .value
                    .iter()
                    .fold(0i32, |acc, b| (acc << 8) | i32::from(*b));
            }
            _ => {}
        }
    }
    Some((hash, salt))
}

fn asn1_time(value: &Tlv<'_>) -> Option<OffsetDateTime> {
    use x509_parser::prelude::FromDer;
    let (_, time) = x509_parser::time::ASN1Time::from_der(value.raw).ok()?;
    Some(time.to_datetime())
}

/// `SigningCertificate(V2) ::= SEQUENCE { certs SEQUENCE OF ESSCertID(v2), ... }`; the first
/// ESSCertID names the signer's certificate.
fn ess_reference(value: &Tlv<'_>, version: u8) -> Option<SigningCertificateRef> {
    let certs = der_walk::children(value.value)?;
    let first_list = der_walk::children(certs.first()?.value)?;
    let cert_id = der_walk::children(first_list.first()?.value)?;
    let (algorithm, hash) = match (version, cert_id.first()?) {
        (2, alg) if alg.tag == 0x30 => {
            let oid = der_walk::children(alg.value)?.first().and_then(oid_of)?;
            (HashAlgorithm::from_oid(&oid), cert_id.get(1)?)
        }
        (2, hash) => (Some(HashAlgorithm::Sha256), hash),
        (_, hash) => (Some(HashAlgorithm::Sha1), hash),
    };
    (hash.tag == 0x04).then(|| SigningCertificateRef {
        version,
        algorithm,
        hash: hash.value.to_vec(),
    })
}

/// `RevocationInfoArchival ::= SEQUENCE { crl [0] EXPLICIT SEQUENCE OF CRLs OPTIONAL,
/// ocsp [1] EXPLICIT SEQUENCE OF OCSPResponse OPTIONAL, otherRevInfo [2] ... }`.
fn archived_revocation(value: &Tlv<'_>, facts: &mut SignedDataFacts) {
    for part in der_walk::children(value.value).unwrap_or_default() {
        let Some((list, _)) = der_walk::read(part.value) else {
            continue;
        };
        for item in der_walk::children(list.value).unwrap_or_default() {
            match part.tag {
                0xa0 if facts.archived_crls.len() < MAX_ARCHIVED => {
                    facts.archived_crls.push(item.raw.to_vec())
                }
                0xa1 if facts.archived_ocsp.len() < MAX_ARCHIVED => {
                    facts.archived_ocsp.push(item.raw.to_vec())
                }
                _ => {}
            }
        }
    }
}

/// The certificate a SignerIdentifier names.
fn find_signer(sid: &Tlv<'_>, certificates: &[Vec<u8>]) -> Option<Vec<u8>> {
    use x509_parser::prelude::{FromDer, ParsedExtension, X509Certificate};
    let parsed: Vec<(&Vec<u8>, X509Certificate<'_>)> = certificates
        .iter()
        .filter_map(|der| X509Certificate::from_der(der).ok().map(|(_, c)| (der, c)))
        .collect();
    match sid.tag {
        // IssuerAndSerialNumber
        0x30 => {
            let parts = der_walk::children(sid.value)?;
            let issuer = parts.first()?.raw;
            let serial = parts.get(1)?.value;
            parsed
                .iter()
                .find(|(_, c)| c.tbs_certificate.issuer.as_raw() == issuer && c.raw_serial() == serial)
                .map(|(der, _)| (*der).clone())
        }
        // [0] SubjectKeyIdentifier
        0x80 => parsed
            .iter()
            .find(|(_, c)| {
                c.extensions().iter().any(|e| {
                    matches!(e.parsed_extension(), ParsedExtension::SubjectKeyIdentifier(id) if id.0 == sid.value)
                })
            })
            .map(|(der, _)| (*der).clone()),
        _ => None,
    }
}

/// Key facts for the algorithm policy: type and size in bits.
pub fn key_description(certificate: &[u8]) -> Option<(Id, u32)> {
    let key = certificate_key(certificate).ok()?;
    Some((key.id(), key.bits()))
}

fn certificate_key(certificate: &[u8]) -> Result<PKey<Public>, String> {
    crate::trust::openssl_certificate(certificate)
        .and_then(|c| c.public_key())
        .map_err(|e| format!("the certificate's public key cannot be read: {e}"))
}

/// Checks the signature value over `digest` (the digest of the signed attributes, or of the
/// content when there are none) with the certificate's key.
///
/// # Errors
/// A reason in English: unsupported algorithm, or the signature does not verify.
pub fn verify_signature_value(
    facts: &SignedDataFacts,
    certificate: &[u8],
    hash: HashAlgorithm,
    digest: &[u8],
) -> Result<(), String> {
    let key = certificate_key(certificate)?;
    let failed = |e: openssl::error::ErrorStack| format!("signature check failed: {e}");
    let mut ctx = PkeyCtx::new(&key).map_err(failed)?;
    ctx.verify_init().map_err(failed)?;
    match key.id() {
        Id::RSA => {
            if let Some((pss_hash, salt)) = facts.pss {
                if pss_hash != hash {
                    return Err("RSASSA-PSS hash differs from the digest algorithm".to_owned());
                }
                ctx.set_rsa_padding(Padding::PKCS1_PSS).map_err(failed)?;
                ctx.set_signature_md(hash.md()).map_err(failed)?;
                ctx.set_rsa_mgf1_md(hash.md()).map_err(failed)?;
                ctx.set_rsa_pss_saltlen(RsaPssSaltlen::custom(salt))
                    .map_err(failed)?;
            } else {
                ctx.set_rsa_padding(Padding::PKCS1).map_err(failed)?;
                ctx.set_signature_md(hash.md()).map_err(failed)?;
            }
        }
        Id::EC => {
            ctx.set_signature_md(hash.md()).map_err(failed)?;
        }
        other => {
            return Err(format!(
                "signature algorithm {} with a {other:?} key is not supported",
                facts.signature_algorithm_oid
            ));
        }
    }
    match ctx.verify(digest, &facts.signature_value) {
        Ok(true) => Ok(()),
        Ok(false) | Err(_) => {
            Err("the signature value does not match the signer's public key".to_owned())
        }
    }
}
