//! CAdES-detached CMS SignedData for PAdES (ETSI EN 319 142-1 §6.3), built with RustCrypto's
//! `cms`/`x509-cert` types so every signed attribute is under our control.
//!
//! Signed attributes are exactly content-type, message-digest and signing-certificate-v2:
//! PAdES baseline forbids the CMS signing-time attribute (the time lives in `/M` and in the
//! signature timestamp). The signature timestamp is an unsigned attribute added afterwards.

use cms::cert::IssuerAndSerialNumber;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912::{
    ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, ECDSA_WITH_SHA_512, ID_MGF_1, ID_RSASSA_PSS,
    ID_SHA_256, ID_SHA_384, ID_SHA_512, SHA_256_WITH_RSA_ENCRYPTION, SHA_384_WITH_RSA_ENCRYPTION,
    SHA_512_WITH_RSA_ENCRYPTION,
};
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;

use super::PadesError;
use super::key::{DigestAlgorithm, KeySigner, SignatureScheme};

pub const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
pub const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
pub const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
pub const ID_MESSAGE_DIGEST: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
pub const ID_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
pub const ID_SIGNATURE_TIMESTAMP_TOKEN: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");
pub const ID_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");

/// ESS `IssuerSerial` (RFC 5035).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct IssuerSerial {
    issuer: Vec<GeneralName>,
    serial_number: SerialNumber,
}

/// ESS `ESSCertIDv2`; the hash algorithm is left out because SHA-256 is its DER default.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EssCertIdV2 {
    cert_hash: OctetString,
    issuer_serial: IssuerSerial,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

/// RSASSA-PSS-params (RFC 4055) with explicit hash, MGF1 and salt length.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct RsaPssParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    hash_algorithm: AlgorithmIdentifierOwned,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT")]
    mask_gen_algorithm: AlgorithmIdentifierOwned,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT")]
    salt_length: u32,
}

pub fn digest_algorithm_id(algorithm: DigestAlgorithm) -> AlgorithmIdentifierOwned {
    let oid = match algorithm {
        DigestAlgorithm::Sha256 => ID_SHA_256,
        DigestAlgorithm::Sha384 => ID_SHA_384,
        DigestAlgorithm::Sha512 => ID_SHA_512,
    };
    AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    }
}

fn signature_algorithm_id(
    scheme: SignatureScheme,
    algorithm: DigestAlgorithm,
) -> Result<AlgorithmIdentifierOwned, PadesError> {
    let oid = match (scheme, algorithm) {
        (SignatureScheme::RsaPkcs1, DigestAlgorithm::Sha256) => SHA_256_WITH_RSA_ENCRYPTION,
        (SignatureScheme::RsaPkcs1, DigestAlgorithm::Sha384) => SHA_384_WITH_RSA_ENCRYPTION,
        (SignatureScheme::RsaPkcs1, DigestAlgorithm::Sha512) => SHA_512_WITH_RSA_ENCRYPTION,
        (SignatureScheme::Ecdsa, DigestAlgorithm::Sha256) => ECDSA_WITH_SHA_256,
        (SignatureScheme::Ecdsa, DigestAlgorithm::Sha384) => ECDSA_WITH_SHA_384,
        (SignatureScheme::Ecdsa, DigestAlgorithm::Sha512) => ECDSA_WITH_SHA_512,
        (SignatureScheme::RsaPss, _) => {
            let params = RsaPssParams {
                hash_algorithm: digest_algorithm_id(algorithm),
                mask_gen_algorithm: AlgorithmIdentifierOwned {
                    oid: ID_MGF_1,
                    parameters: Some(Any::encode_from(&digest_algorithm_id(algorithm))?),
                },
                salt_length: algorithm.output_len() as u32,
            };
            return Ok(AlgorithmIdentifierOwned {
                oid: ID_RSASSA_PSS,
                parameters: Some(Any::encode_from(&params)?),
            });
        }
    };
    // RFC 4055 §5: NULL parameters for the RSA PKCS#1 v1.5 identifiers; absent for ECDSA.
    let parameters = match scheme {
        SignatureScheme::RsaPkcs1 => Some(Any::from(der::asn1::Null)),
        _ => None,
    };
    Ok(AlgorithmIdentifierOwned { oid, parameters })
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, PadesError> {
    let mut values = SetOfVec::new();
    values.insert(value)?;
    Ok(Attribute { oid, values })
}

/// What goes into one CMS signature.
pub struct CmsRequest<'a> {
    pub signer: &'a dyn KeySigner,
    pub scheme: SignatureScheme,
    pub digest_algorithm: DigestAlgorithm,
    /// Digest of the signed content (the PDF byte ranges).
    pub content_digest: &'a [u8],
    /// Extra certificates to embed beyond the signer's own and its key's chain.
    pub extra_certificates: &'a [Vec<u8>],
}

/// A signed CMS, with its signature value reachable for the timestamp request.
pub struct SignedCms {
    signed_data: SignedData,
    scheme: SignatureScheme,
    digest_algorithm: DigestAlgorithm,
}

impl SignedCms {
    /// Builds the signed attributes, has the key sign them, and assembles SignedData.
    ///
    /// # Errors
    /// The certificate does not parse, or the key fails to sign.
    pub fn sign(request: &CmsRequest<'_>) -> Result<Self, PadesError> {
        let certificate = Certificate::from_der(request.signer.certificate())?;
        let signed_attributes = signed_attributes(
            request.signer.certificate(),
            &certificate,
            request.content_digest,
        )?;
        let to_be_signed = signed_attributes.to_der()?;
        let digest = openssl::hash::hash(request.digest_algorithm.message_digest(), &to_be_signed)
            .map_err(super::key::openssl_error)?;
        let signature =
            request
                .signer
                .sign_digest(request.scheme, request.digest_algorithm, &digest)?;

        let mut certificates = Vec::new();
        for der in std::iter::once(request.signer.certificate())
            .chain(request.signer.chain().iter().map(Vec::as_slice))
            .chain(request.extra_certificates.iter().map(Vec::as_slice))
        {
            let parsed = Certificate::from_der(der)?;
            if !certificates.contains(&parsed) {
                certificates.push(parsed);
            }
        }
        let mut certificate_set = SetOfVec::new();
        for cert in certificates {
            certificate_set.insert(cms::cert::CertificateChoices::Certificate(cert))?;
        }

        let signer_info = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: certificate.tbs_certificate.issuer.clone(),
                serial_number: certificate.tbs_certificate.serial_number.clone(),
            }),
            digest_alg: digest_algorithm_id(request.digest_algorithm),
            signed_attrs: Some(signed_attributes),
            signature_algorithm: signature_algorithm_id(request.scheme, request.digest_algorithm)?,
            signature: OctetString::new(signature)?,
            unsigned_attrs: None,
        };
        let mut digest_algorithms = SetOfVec::new();
        digest_algorithms.insert(digest_algorithm_id(request.digest_algorithm))?;
        let signed_data = SignedData {
            version: CmsVersion::V1,
            digest_algorithms,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: ID_DATA,
                econtent: None,
            },
            certificates: Some(CertificateSet(certificate_set)),
            crls: None,
            signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info])?),
        };
        Ok(SignedCms {
            signed_data,
            scheme: request.scheme,
            digest_algorithm: request.digest_algorithm,
        })
    }

    /// Verifies the signature value over the signed attributes with the public key of
    /// `certificate_der` (the signer's): a key that is not the certificate's, from any source
    /// (a token holding another key under the label, a broken PKCS#12), is caught before
    /// anything is written.
    ///
    /// # Errors
    /// [`PadesError::SignatureMismatch`] when it does not verify.
    pub fn verify_signature(&self, certificate_der: &[u8]) -> Result<(), PadesError> {
        let certificate =
            openssl::x509::X509::from_der(certificate_der).map_err(super::key::openssl_error)?;
        let public = certificate
            .public_key()
            .map_err(super::key::openssl_error)?;
        self.verify_signature_with(&public)
    }

    /// [`SignedCms::verify_signature`] with the signer's public key already parsed (a signing
    /// session keeps it: parsing the certificate costs OpenSSL 3 more than the check).
    ///
    /// # Errors
    /// [`PadesError::SignatureMismatch`] when the key did not make this signature.
    pub fn verify_signature_with(
        &self,
        public: &openssl::pkey::PKeyRef<openssl::pkey::Public>,
    ) -> Result<(), PadesError> {
        use openssl::rsa::Padding;
        use openssl::sign::{RsaPssSaltlen, Verifier};
        let signer_info = self.signer_info();
        let signed = signer_info
            .signed_attrs
            .as_ref()
            .ok_or(PadesError::SignatureMismatch)?
            .to_der()?;
        let md = self.digest_algorithm.message_digest();
        let mut verifier = Verifier::new(md, public).map_err(super::key::openssl_error)?;
        if self.scheme == SignatureScheme::RsaPss {
            verifier
                .set_rsa_padding(Padding::PKCS1_PSS)
                .and_then(|()| verifier.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH))
                .and_then(|()| verifier.set_rsa_mgf1_md(md))
                .map_err(super::key::openssl_error)?;
        }
        verifier
            .update(&signed)
            .map_err(super::key::openssl_error)?;
        match verifier.verify(signer_info.signature.as_bytes()) {
            Ok(true) => Ok(()),
            // OpenSSL reports a malformed signature (wrong length, bad DER) as an error.
            Ok(false) | Err(_) => Err(PadesError::SignatureMismatch),
        }
    }

    /// The signature value: what an RFC 3161 signature timestamp is computed over.
    pub fn signature_value(&self) -> &[u8] {
        self.signer_info().signature.as_bytes()
    }

    fn signer_info(&self) -> &SignerInfo {
        // Built with exactly one SignerInfo in `sign`.
        self.signed_data
            .signer_infos
            .0
            .get(0)
            .expect("SignedCms always holds one SignerInfo")
    }

    /// Adds the signature timestamp token (a DER ContentInfo) as an unsigned attribute.
    ///
    /// # Errors
    /// The token is not DER.
    pub fn add_signature_timestamp(&mut self, token_der: &[u8]) -> Result<(), PadesError> {
        let token = Any::from_der(token_der)?;
        let mut signer_info = self.signer_info().clone();
        let mut unsigned = signer_info.unsigned_attrs.take().unwrap_or_default();
        unsigned.insert(attribute(ID_SIGNATURE_TIMESTAMP_TOKEN, token)?)?;
        signer_info.unsigned_attrs = Some(unsigned);
        self.signed_data.signer_infos = SignerInfos(SetOfVec::try_from(vec![signer_info])?);
        Ok(())
    }

    /// DER of the ContentInfo wrapping the SignedData: the bytes of `/Contents`.
    ///
    /// # Errors
    /// Encoding failure (not expected for values built here).
    pub fn to_der(&self) -> Result<Vec<u8>, PadesError> {
        let content_info = ContentInfo {
            content_type: ID_SIGNED_DATA,
            content: Any::encode_from(&self.signed_data)?,
        };
        Ok(content_info.to_der()?)
    }
}

fn signed_attributes(
    certificate_der: &[u8],
    certificate: &Certificate,
    content_digest: &[u8],
) -> Result<SetOfVec<Attribute>, PadesError> {
    let cert_hash = openssl::hash::hash(openssl::hash::MessageDigest::sha256(), certificate_der)
        .map_err(super::key::openssl_error)?;
    let signing_certificate = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            cert_hash: OctetString::new(cert_hash.to_vec())?,
            issuer_serial: IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(
                    certificate.tbs_certificate.issuer.clone(),
                )],
                serial_number: certificate.tbs_certificate.serial_number.clone(),
            },
        }],
    };
    let mut attributes = SetOfVec::new();
    attributes.insert(attribute(ID_CONTENT_TYPE, Any::from(&ID_DATA))?)?;
    attributes.insert(attribute(
        ID_MESSAGE_DIGEST,
        Any::encode_from(&OctetString::new(content_digest.to_vec())?)?,
    )?)?;
    attributes.insert(attribute(
        ID_SIGNING_CERTIFICATE_V2,
        Any::encode_from(&signing_certificate)?,
    )?)?;
    Ok(attributes)
}

impl From<der::Error> for PadesError {
    fn from(e: der::Error) -> Self {
        PadesError::Cms {
            reason: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pades::key::SoftwareKey;
    use openssl::cms::{CMSOptions, CmsContentInfo};
    use openssl::stack::Stack;
    use openssl::x509::X509;
    use openssl::x509::store::X509StoreBuilder;
    use std::path::Path;

    fn pki(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("certs/test-pki")
            .join(name)
    }

    /// OpenSSL, an independent CMS implementation, verifies what we build, over the detached
    /// content, for each key type and scheme.
    #[test]
    fn openssl_verifies_our_detached_cms_and_it_has_no_signing_time() {
        let content = b"%PDF-1.7 byte ranges";
        for (name, scheme, alg) in [
            (
                "official",
                SignatureScheme::RsaPkcs1,
                DigestAlgorithm::Sha256,
            ),
            ("official", SignatureScheme::RsaPss, DigestAlgorithm::Sha384),
            (
                "official-ec",
                SignatureScheme::Ecdsa,
                DigestAlgorithm::Sha512,
            ),
        ] {
            let key = SoftwareKey::from_pkcs12_file(&pki(&format!("{name}.p12")), "test").unwrap();
            let digest = openssl::hash::hash(alg.message_digest(), content).unwrap();
            let cms = SignedCms::sign(&CmsRequest {
                signer: &key,
                scheme,
                digest_algorithm: alg,
                content_digest: &digest,
                extra_certificates: &[],
            })
            .unwrap();
            let der = cms.to_der().unwrap();
            let mut parsed = CmsContentInfo::from_der(&der).unwrap();
            let mut store = X509StoreBuilder::new().unwrap();
            store
                .add_cert(X509::from_pem(&std::fs::read(pki("root.crt")).unwrap()).unwrap())
                .unwrap();
            let mut untrusted = Stack::new().unwrap();
            untrusted
                .push(X509::from_pem(&std::fs::read(pki("inter.crt")).unwrap()).unwrap())
                .unwrap();
            let store = store.build();
            parsed
                .verify(
                    Some(&untrusted),
                    Some(&store),
                    Some(content),
                    None,
                    CMSOptions::BINARY | CMSOptions::NO_SIGNER_CERT_VERIFY,
                )
                .unwrap_or_else(|e| panic!("{name} {scheme:?}: {e}"));
            // Tampered content must fail.
            let mut parsed = CmsContentInfo::from_der(&der).unwrap();
            assert!(
                parsed
                    .verify(
                        Some(&untrusted),
                        Some(&store),
                        Some(b"%PDF-1.7 other bytes"),
                        None,
                        CMSOptions::BINARY | CMSOptions::NO_SIGNER_CERT_VERIFY,
                    )
                    .is_err()
            );
            // PAdES: no signing-time (1.2.840.113549.1.9.5) among the attributes.
            let signing_time = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5")
                .to_der()
                .unwrap();
            assert!(!der.windows(signing_time.len()).any(|w| w == signing_time));
            let v2 = ID_SIGNING_CERTIFICATE_V2.to_der().unwrap();
            assert!(der.windows(v2.len()).any(|w| w == v2));
            // Our own check agrees.
            cms.verify_signature(key.certificate()).unwrap();
        }
    }

    /// A key that is not its certificate's (a token with another key under the label) gives
    /// a signature the certificate does not verify: refused before it is used.
    #[test]
    fn a_signature_by_another_key_is_caught() {
        struct Mixed {
            key: SoftwareKey,
            credentials: crate::pades::key::Credentials,
        }
        impl KeySigner for Mixed {
            fn credentials(&self) -> &crate::pades::key::Credentials {
                &self.credentials
            }
            fn sign_digest(
                &self,
                scheme: SignatureScheme,
                algorithm: DigestAlgorithm,
                digest: &[u8],
            ) -> Result<Vec<u8>, PadesError> {
                self.key.sign_digest(scheme, algorithm, digest)
            }
        }
        let official = SoftwareKey::from_pkcs12_file(&pki("official.p12"), "test").unwrap();
        let organization = SoftwareKey::from_pkcs12_file(&pki("organization.p12"), "test").unwrap();
        let mixed = Mixed {
            credentials: organization.credentials().clone(),
            key: official,
        };
        for scheme in [SignatureScheme::RsaPkcs1, SignatureScheme::RsaPss] {
            let cms = SignedCms::sign(&CmsRequest {
                signer: &mixed,
                scheme,
                digest_algorithm: DigestAlgorithm::Sha256,
                content_digest: &[0u8; 32],
                extra_certificates: &[],
            })
            .unwrap();
            assert!(matches!(
                cms.verify_signature(mixed.certificate()),
                Err(PadesError::SignatureMismatch)
            ));
            cms.verify_signature(mixed.key.certificate()).unwrap();
        }
    }
}
