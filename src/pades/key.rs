//! Signing keys: a PKCS#12 file (key in OpenSSL) or a PKCS#11 token (key stays on the token).
//!
//! Both sign a digest that hoso computed, so the CMS builder never hands document bytes to a
//! token and the same code path serves files and hardware.

use std::path::Path;

use openssl::hash::MessageDigest;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{Id, PKey, Private};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::Padding;
use openssl::sign::RsaPssSaltlen;
use openssl::x509::X509;

use super::PadesError;

/// Digest algorithm for the document and the signed attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl DigestAlgorithm {
    pub fn message_digest(self) -> MessageDigest {
        match self {
            DigestAlgorithm::Sha256 => MessageDigest::sha256(),
            DigestAlgorithm::Sha384 => MessageDigest::sha384(),
            DigestAlgorithm::Sha512 => MessageDigest::sha512(),
        }
    }

    /// Length of the digest in bytes.
    pub fn output_len(self) -> usize {
        match self {
            DigestAlgorithm::Sha256 => 32,
            DigestAlgorithm::Sha384 => 48,
            DigestAlgorithm::Sha512 => 64,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "sha256",
            DigestAlgorithm::Sha384 => "sha384",
            DigestAlgorithm::Sha512 => "sha512",
        }
    }

    /// Parses `sha256`, `SHA-384`, ...
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().replace('-', "").as_str() {
            "sha256" => Some(DigestAlgorithm::Sha256),
            "sha384" => Some(DigestAlgorithm::Sha384),
            "sha512" => Some(DigestAlgorithm::Sha512),
            _ => None,
        }
    }

    /// The DER DigestInfo prefix that PKCS#1 v1.5 puts before the digest (RFC 8017 §9.2).
    /// Needed when a token signs a precomputed digest with the raw `CKM_RSA_PKCS` mechanism.
    pub fn digest_info_prefix(self) -> &'static [u8] {
        match self {
            DigestAlgorithm::Sha256 => &[
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x05, 0x00, 0x04, 0x20,
            ],
            DigestAlgorithm::Sha384 => &[
                0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x02, 0x05, 0x00, 0x04, 0x30,
            ],
            DigestAlgorithm::Sha512 => &[
                0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x03, 0x05, 0x00, 0x04, 0x40,
            ],
        }
    }
}

/// How the signature value is computed from the digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureScheme {
    /// RSA PKCS#1 v1.5: what Vietnamese CAs issue keys for, and the default.
    RsaPkcs1,
    /// RSASSA-PSS with MGF1 of the same digest and a salt as long as the digest.
    RsaPss,
    /// ECDSA; the value is the DER `Ecdsa-Sig-Value`.
    Ecdsa,
}

/// The key type and size, as far as signing needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Rsa { bits: u32 },
    Ec { bits: u32 },
}

impl KeyKind {
    /// The longest signature value this key can produce, used to size the placeholder.
    pub fn max_signature_len(self) -> usize {
        match self {
            KeyKind::Rsa { bits } => bits.div_ceil(8) as usize,
            // SEQUENCE { INTEGER r, INTEGER s }: each integer may gain a sign byte.
            KeyKind::Ec { bits } => 2 * (bits.div_ceil(8) as usize + 3) + 3,
        }
    }

    pub fn from_pkey<T: openssl::pkey::HasPublic>(
        key: &openssl::pkey::PKeyRef<T>,
    ) -> Result<Self, PadesError> {
        match key.id() {
            Id::RSA | Id::RSA_PSS => Ok(KeyKind::Rsa { bits: key.bits() }),
            Id::EC => Ok(KeyKind::Ec { bits: key.bits() }),
            other => Err(PadesError::KeyUnusable {
                reason: format!("unsupported key type {other:?} (RSA or EC expected)"),
            }),
        }
    }
}

/// The certificates and key type that come with a signing key.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The signer's certificate, DER.
    pub certificate: Vec<u8>,
    /// Other certificates known with the key (issuing CAs), DER, nearest first.
    pub chain: Vec<Vec<u8>>,
    pub kind: KeyKind,
}

/// Something that can sign a digest, with the certificates that go with it.
pub trait KeySigner {
    fn credentials(&self) -> &Credentials;
    fn certificate(&self) -> &[u8] {
        &self.credentials().certificate
    }
    fn chain(&self) -> &[Vec<u8>] {
        &self.credentials().chain
    }
    fn kind(&self) -> KeyKind {
        self.credentials().kind
    }
    /// Signs `digest` (already hashed with `algorithm`).
    fn sign_digest(
        &self,
        scheme: SignatureScheme,
        algorithm: DigestAlgorithm,
        digest: &[u8],
    ) -> Result<Vec<u8>, PadesError>;
}

/// A key loaded from a PKCS#12 file into OpenSSL.
pub struct SoftwareKey {
    key: PKey<Private>,
    credentials: Credentials,
}

impl SoftwareKey {
    /// Opens a PKCS#12 file. A wrong password is its own error so callers can say so plainly.
    ///
    /// # Errors
    /// Unreadable file, wrong password, a file without a key or certificate.
    pub fn from_pkcs12_file(path: &Path, password: &str) -> Result<Self, PadesError> {
        let bytes = std::fs::read(path).map_err(|e| PadesError::KeyUnusable {
            reason: format!("cannot read {}: {e}", path.display()),
        })?;
        Self::from_pkcs12(&bytes, password)
    }

    /// # Errors
    /// See [`SoftwareKey::from_pkcs12_file`].
    pub fn from_pkcs12(bytes: &[u8], password: &str) -> Result<Self, PadesError> {
        let pkcs12 = Pkcs12::from_der(bytes).map_err(|e| PadesError::KeyUnusable {
            reason: format!("not a PKCS#12 file: {e}"),
        })?;
        // A NUL cannot be in a PKCS#12 password (the openssl crate would panic making its C
        // string): no file opens with it.
        if password.contains('\0') {
            return Err(PadesError::WrongPassword);
        }
        // OpenSSL reports a wrong password as a MAC verification failure.
        let parsed = pkcs12
            .parse2(password)
            .map_err(|_| PadesError::WrongPassword)?;
        let key = parsed.pkey.ok_or_else(|| PadesError::KeyUnusable {
            reason: "the PKCS#12 file holds no private key".to_owned(),
        })?;
        let cert = parsed.cert.ok_or_else(|| PadesError::KeyUnusable {
            reason: "the PKCS#12 file holds no certificate".to_owned(),
        })?;
        let chain = parsed
            .ca
            .map(|stack| stack.iter().filter_map(|c| c.to_der().ok()).collect())
            .unwrap_or_default();
        Self::new(key, &cert, chain)
    }

    /// # Errors
    /// The key does not match the certificate, or is of an unsupported type.
    pub fn new(key: PKey<Private>, cert: &X509, chain: Vec<Vec<u8>>) -> Result<Self, PadesError> {
        let public = cert.public_key().map_err(openssl_error)?;
        if !key.public_eq(&public) {
            return Err(PadesError::KeyUnusable {
                reason: "the private key does not belong to the certificate".to_owned(),
            });
        }
        let kind = KeyKind::from_pkey(&key)?;
        check_key_strength(kind)?;
        Ok(SoftwareKey {
            key,
            credentials: Credentials {
                certificate: cert.to_der().map_err(openssl_error)?,
                chain,
                kind,
            },
        })
    }
}

impl KeySigner for SoftwareKey {
    fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    fn sign_digest(
        &self,
        scheme: SignatureScheme,
        algorithm: DigestAlgorithm,
        digest: &[u8],
    ) -> Result<Vec<u8>, PadesError> {
        check_scheme(self.credentials.kind, scheme)?;
        let mut ctx = PkeyCtx::new(&self.key).map_err(openssl_error)?;
        ctx.sign_init().map_err(openssl_error)?;
        let md = algorithm.message_digest();
        ctx.set_signature_md(openssl::md::Md::from_nid(md.type_()).ok_or_else(|| {
            PadesError::KeyUnusable {
                reason: "digest unknown to OpenSSL".to_owned(),
            }
        })?)
        .map_err(openssl_error)?;
        match scheme {
            SignatureScheme::RsaPkcs1 => {
                ctx.set_rsa_padding(Padding::PKCS1).map_err(openssl_error)?
            }
            SignatureScheme::RsaPss => {
                ctx.set_rsa_padding(Padding::PKCS1_PSS)
                    .map_err(openssl_error)?;
                ctx.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)
                    .map_err(openssl_error)?;
                ctx.set_rsa_mgf1_md(openssl::md::Md::from_nid(md.type_()).ok_or_else(|| {
                    PadesError::KeyUnusable {
                        reason: "digest unknown to OpenSSL".to_owned(),
                    }
                })?)
                .map_err(openssl_error)?;
            }
            SignatureScheme::Ecdsa => {}
        }
        let mut signature = Vec::new();
        ctx.sign_to_vec(digest, &mut signature)
            .map_err(openssl_error)?;
        Ok(signature)
    }
}

/// Refuses scheme/key combinations that cannot work (PSS with an EC key, ...).
pub fn check_scheme(kind: KeyKind, scheme: SignatureScheme) -> Result<(), PadesError> {
    match (kind, scheme) {
        (KeyKind::Rsa { .. }, SignatureScheme::RsaPkcs1 | SignatureScheme::RsaPss)
        | (KeyKind::Ec { .. }, SignatureScheme::Ecdsa) => Ok(()),
        _ => Err(PadesError::KeyUnusable {
            reason: format!("{scheme:?} cannot be used with a {kind:?} key"),
        }),
    }
}

/// The scheme a key signs with unless told otherwise (`pss` is ignored for EC keys; signing
/// flows use [`choose_scheme`], which refuses that).
pub fn default_scheme(kind: KeyKind, pss: bool) -> SignatureScheme {
    match kind {
        KeyKind::Rsa { .. } if pss => SignatureScheme::RsaPss,
        KeyKind::Rsa { .. } => SignatureScheme::RsaPkcs1,
        KeyKind::Ec { .. } => SignatureScheme::Ecdsa,
    }
}

/// The scheme a key signs with: PKCS#1 v1.5 or, asked for, PSS for RSA; ECDSA for EC.
///
/// # Errors
/// PSS asked for with an EC key (an error, not silently ignored).
pub fn choose_scheme(kind: KeyKind, pss: bool) -> Result<SignatureScheme, PadesError> {
    match kind {
        KeyKind::Rsa { .. } if pss => Ok(SignatureScheme::RsaPss),
        KeyKind::Rsa { .. } => Ok(SignatureScheme::RsaPkcs1),
        KeyKind::Ec { .. } if pss => Err(PadesError::KeyUnusable {
            reason: "RSASSA-PSS (--pss) needs an RSA key; this key is ECDSA".to_owned(),
        }),
        KeyKind::Ec { .. } => Ok(SignatureScheme::Ecdsa),
    }
}

/// Smallest RSA modulus accepted, in bits (ETSI TS 119 312, Circular 15/2025).
pub const MIN_RSA_BITS: u32 = 2048;
/// Smallest EC key accepted, in bits (P-256).
pub const MIN_EC_BITS: u32 = 256;

/// Refuses keys too weak for a signature meant to last: RSA under 2048 bits, EC under 256.
///
/// # Errors
/// [`PadesError::KeyTooWeak`].
pub fn check_key_strength(kind: KeyKind) -> Result<(), PadesError> {
    match kind {
        KeyKind::Rsa { bits } if bits < MIN_RSA_BITS => Err(PadesError::KeyTooWeak {
            kind: "RSA",
            bits,
            minimum: MIN_RSA_BITS,
        }),
        KeyKind::Ec { bits } if bits < MIN_EC_BITS => Err(PadesError::KeyTooWeak {
            kind: "EC",
            bits,
            minimum: MIN_EC_BITS,
        }),
        _ => Ok(()),
    }
}

pub(crate) fn openssl_error(e: openssl::error::ErrorStack) -> PadesError {
    PadesError::KeyUnusable {
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> SoftwareKey {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("certs/test-pki")
            .join(format!("{name}.p12"));
        SoftwareKey::from_pkcs12_file(&path, "test").unwrap()
    }

    #[test]
    fn digest_info_prefixes_end_with_the_digest_length() {
        for alg in [
            DigestAlgorithm::Sha256,
            DigestAlgorithm::Sha384,
            DigestAlgorithm::Sha512,
        ] {
            let prefix = alg.digest_info_prefix();
            assert_eq!(*prefix.last().unwrap() as usize, alg.output_len());
            assert_eq!(prefix[1] as usize, prefix.len() - 2 + alg.output_len());
        }
    }

    #[test]
    fn a_wrong_password_is_reported_as_such() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("certs/test-pki/official.p12");
        let err = SoftwareKey::from_pkcs12_file(&path, "nope").err().unwrap();
        assert!(matches!(err, PadesError::WrongPassword), "{err:?}");
    }

    #[test]
    fn rsa_and_ec_keys_sign_digests_that_openssl_verifies() {
        use openssl::sign::Verifier;
        let data = b"hoso";
        for (name, scheme) in [
            ("official", SignatureScheme::RsaPkcs1),
            ("official", SignatureScheme::RsaPss),
            ("official-ec", SignatureScheme::Ecdsa),
        ] {
            let key = key(name);
            let digest = openssl::hash::hash(MessageDigest::sha256(), data).unwrap();
            let signature = key
                .sign_digest(scheme, DigestAlgorithm::Sha256, &digest)
                .unwrap();
            assert!(signature.len() <= key.kind().max_signature_len());
            let cert = X509::from_der(key.certificate()).unwrap();
            let public = cert.public_key().unwrap();
            let mut verifier = Verifier::new(MessageDigest::sha256(), &public).unwrap();
            if scheme == SignatureScheme::RsaPss {
                verifier.set_rsa_padding(Padding::PKCS1_PSS).unwrap();
                verifier
                    .set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)
                    .unwrap();
            }
            verifier.update(data).unwrap();
            assert!(verifier.verify(&signature).unwrap(), "{name} {scheme:?}");
        }
        assert!(
            check_scheme(key("official-ec").kind(), SignatureScheme::RsaPss).is_err(),
            "PSS with an EC key must be refused"
        );
        assert!(
            choose_scheme(key("official-ec").kind(), true).is_err(),
            "--pss with an EC key is an error, not ignored"
        );
        assert_eq!(
            choose_scheme(key("official").kind(), true).unwrap(),
            SignatureScheme::RsaPss
        );
    }

    /// RSA under 2048 bits and EC under 256 are refused when the key is loaded.
    #[test]
    fn weak_keys_are_refused() {
        use openssl::asn1::Asn1Time;
        use openssl::ec::{EcGroup, EcKey};
        use openssl::nid::Nid;
        use openssl::rsa::Rsa;
        use openssl::x509::X509Builder;
        let self_signed = |key: &PKey<Private>| {
            let mut builder = X509Builder::new().unwrap();
            builder.set_pubkey(key).unwrap();
            builder
                .set_not_before(&Asn1Time::days_from_now(0).unwrap())
                .unwrap();
            builder
                .set_not_after(&Asn1Time::days_from_now(1).unwrap())
                .unwrap();
            builder.sign(key, MessageDigest::sha256()).unwrap();
            builder.build()
        };
        let rsa = PKey::from_rsa(Rsa::generate(1024).unwrap()).unwrap();
        let err = SoftwareKey::new(rsa.clone(), &self_signed(&rsa), Vec::new())
            .err()
            .unwrap();
        assert!(
            matches!(err, PadesError::KeyTooWeak { bits: 1024, .. }),
            "{err:?}"
        );
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME192V1).unwrap();
        let ec = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
        let err = SoftwareKey::new(ec.clone(), &self_signed(&ec), Vec::new())
            .err()
            .unwrap();
        assert!(
            matches!(err, PadesError::KeyTooWeak { bits: 192, .. }),
            "{err:?}"
        );
        assert!(check_key_strength(KeyKind::Rsa { bits: 2048 }).is_ok());
        assert!(check_key_strength(KeyKind::Ec { bits: 256 }).is_ok());
    }
}
