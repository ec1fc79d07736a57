//! Keys on a PKCS#11 token or HSM (USB tokens of Vietnamese CAs, SoftHSM2 in tests). The
//! private key never leaves the token: hoso hands it a digest and gets a signature back.
//!
//! A wrong PIN is reported after one attempt and never retried: tokens lock after a few
//! failures, and an automatic retry loop would lock an official out.

use std::path::Path;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use openssl::x509::X509;

use super::PadesError;
use super::key::{Credentials, DigestAlgorithm, KeyKind, KeySigner, SignatureScheme, check_scheme};

/// Where the key is: module, token label, key label.
pub struct TokenKeyRef<'a> {
    pub module: &'a Path,
    pub token_label: &'a str,
    pub key_label: &'a str,
    pub pin: &'a str,
    /// Issuing CA certificates to embed when the token holds only the signer's certificate.
    pub extra_chain: Vec<Vec<u8>>,
}

/// A logged-in session on a token with the signing key found.
pub struct TokenKey {
    // Kept alive for the session's lifetime.
    _context: Pkcs11,
    session: Session,
    key: ObjectHandle,
    credentials: Credentials,
}

impl TokenKey {
    /// Loads the module, finds the token by label, logs in once, finds the private key and
    /// its certificate (same label, else same CKA_ID).
    ///
    /// # Errors
    /// [`PadesError::Token`] for a module that does not load, [`PadesError::TokenObjectNotFound`]
    /// for a missing token/key/certificate, [`PadesError::WrongPin`].
    pub fn open(reference: TokenKeyRef<'_>) -> Result<Self, PadesError> {
        let context = Pkcs11::new(reference.module).map_err(|e| PadesError::Token {
            reason: format!("cannot load {}: {e}", reference.module.display()),
        })?;
        context
            .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
            .map_err(token_error)?;
        let slot = context
            .get_slots_with_token()
            .map_err(token_error)?
            .into_iter()
            .find(|slot| {
                context
                    .get_token_info(*slot)
                    .is_ok_and(|info| info.label().trim_end() == reference.token_label)
            })
            .ok_or_else(|| PadesError::TokenObjectNotFound {
                what: format!("token \"{}\"", reference.token_label),
            })?;
        let session = context.open_ro_session(slot).map_err(token_error)?;
        let pin = AuthPin::from(reference.pin.to_owned());
        match session.login(UserType::User, Some(&pin)) {
            Ok(()) => {}
            Err(CkError::Pkcs11(RvError::PinIncorrect, _)) => return Err(PadesError::WrongPin),
            Err(CkError::Pkcs11(RvError::PinLocked, _)) => {
                return Err(PadesError::Token {
                    reason: "the PIN is locked; unlock the token with its SO PIN".to_owned(),
                });
            }
            Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => return Err(token_error(e)),
        }
        let label = reference.key_label.as_bytes().to_vec();
        let key = *session
            .find_objects(&[
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::Label(label.clone()),
            ])
            .map_err(token_error)?
            .first()
            .ok_or_else(|| PadesError::TokenObjectNotFound {
                what: format!("private key \"{}\"", reference.key_label),
            })?;
        let key_id = session
            .get_attributes(key, &[AttributeType::Id])
            .map_err(token_error)?
            .into_iter()
            .find_map(|a| match a {
                Attribute::Id(id) => Some(id),
                _ => None,
            });
        let mut certificates = session
            .find_objects(&[
                Attribute::Class(ObjectClass::CERTIFICATE),
                Attribute::Label(label),
            ])
            .map_err(token_error)?;
        if certificates.is_empty()
            && let Some(id) = &key_id
        {
            certificates = session
                .find_objects(&[
                    Attribute::Class(ObjectClass::CERTIFICATE),
                    Attribute::Id(id.clone()),
                ])
                .map_err(token_error)?;
        }
        let cert_handle = *certificates
            .first()
            .ok_or_else(|| PadesError::TokenObjectNotFound {
                what: format!("certificate for key \"{}\"", reference.key_label),
            })?;
        let certificate = session
            .get_attributes(cert_handle, &[AttributeType::Value])
            .map_err(token_error)?
            .into_iter()
            .find_map(|a| match a {
                Attribute::Value(v) => Some(v),
                _ => None,
            })
            .ok_or_else(|| PadesError::TokenObjectNotFound {
                what: "certificate value".to_owned(),
            })?;
        let parsed = X509::from_der(&certificate).map_err(super::key::openssl_error)?;
        let public = parsed.public_key().map_err(super::key::openssl_error)?;
        let kind = KeyKind::from_pkey(&public)?;
        super::key::check_key_strength(kind)?;
        check_key_matches(&session, key, key_id.as_deref(), &public)?;
        // The token's other certificates that issue the signer's, up its chain, join the
        // chain (not every certificate on the token: other people's, other CAs').
        let mut on_token = Vec::new();
        for handle in session
            .find_objects(&[Attribute::Class(ObjectClass::CERTIFICATE)])
            .map_err(token_error)?
        {
            if handle == cert_handle {
                continue;
            }
            if let Some(value) = session
                .get_attributes(handle, &[AttributeType::Value])
                .ok()
                .and_then(|attrs| {
                    attrs.into_iter().find_map(|a| match a {
                        Attribute::Value(v) => Some(v),
                        _ => None,
                    })
                })
            {
                on_token.push(value);
            }
        }
        let mut chain = reference.extra_chain;
        for value in issuers_of(&parsed, &on_token) {
            if !chain.contains(&value) {
                chain.push(value);
            }
        }
        Ok(TokenKey {
            _context: context,
            session,
            key,
            credentials: Credentials {
                certificate,
                chain,
                kind,
            },
        })
    }
}

impl KeySigner for TokenKey {
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
        // Raw mechanisms over a digest hoso computed: every token supports them, and the
        // document never has to pass through the token's slow interface.
        let (hash, mgf) = match algorithm {
            DigestAlgorithm::Sha256 => (MechanismType::SHA256, PkcsMgfType::MGF1_SHA256),
            DigestAlgorithm::Sha384 => (MechanismType::SHA384, PkcsMgfType::MGF1_SHA384),
            DigestAlgorithm::Sha512 => (MechanismType::SHA512, PkcsMgfType::MGF1_SHA512),
        };
        match scheme {
            SignatureScheme::RsaPkcs1 => {
                let mut input = algorithm.digest_info_prefix().to_vec();
                input.extend_from_slice(digest);
                self.session
                    .sign(&Mechanism::RsaPkcs, self.key, &input)
                    .map_err(token_error)
            }
            SignatureScheme::RsaPss => {
                let params = PkcsPssParams {
                    hash_alg: hash,
                    mgf,
                    s_len: (algorithm.output_len() as u64).into(),
                };
                self.session
                    .sign(&Mechanism::RsaPkcsPss(params), self.key, digest)
                    .map_err(token_error)
            }
            SignatureScheme::Ecdsa => {
                let raw = self
                    .session
                    .sign(&Mechanism::Ecdsa, self.key, digest)
                    .map_err(token_error)?;
                ecdsa_raw_to_der(&raw)
            }
        }
    }
}

/// Refuses a private key that is not the certificate's: the RSA modulus and exponent of the
/// private key object (public attributes every token exposes), else the public key object
/// with the same CKA_ID (RSA modulus, EC point). When the token exposes neither, the signing
/// flow still verifies every signature with the certificate before using it.
fn check_key_matches(
    session: &Session,
    key: ObjectHandle,
    key_id: Option<&[u8]>,
    public: &openssl::pkey::PKeyRef<openssl::pkey::Public>,
) -> Result<(), PadesError> {
    let mismatch = || PadesError::KeyUnusable {
        reason: "the private key on the token does not belong to the certificate".to_owned(),
    };
    let trimmed = |bytes: &[u8]| -> Vec<u8> {
        let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
        bytes[start..].to_vec()
    };
    // What the certificate says: (modulus, exponent) or the uncompressed EC point.
    let rsa = public.rsa().ok().map(|r| (r.n().to_vec(), r.e().to_vec()));
    let ec_point = public.ec_key().ok().and_then(|ec| {
        let mut ctx = openssl::bn::BigNumContext::new().ok()?;
        ec.public_key()
            .to_bytes(
                ec.group(),
                openssl::ec::PointConversionForm::UNCOMPRESSED,
                &mut ctx,
            )
            .ok()
    });
    let compare = |attributes: Vec<Attribute>| -> Option<bool> {
        let mut modulus = None;
        let mut exponent = None;
        let mut point = None;
        for attribute in attributes {
            match attribute {
                Attribute::Modulus(m) => modulus = Some(m),
                Attribute::PublicExponent(e) => exponent = Some(e),
                Attribute::EcPoint(p) => point = Some(p),
                _ => {}
            }
        }
        match (&rsa, &ec_point) {
            (Some((n, e)), _) => modulus.map(|m| {
                trimmed(&m) == trimmed(n) && exponent.is_none_or(|x| trimmed(&x) == trimmed(e))
            }),
            // CKA_EC_POINT is the point in a DER OCTET STRING; some tokens give it bare.
            (None, Some(expected)) => point.map(|p| {
                p == *expected
                    || (p.len() > expected.len()
                        && p.len() <= expected.len() + 4
                        && p[0] == 0x04
                        && p.ends_with(expected))
            }),
            (None, None) => None,
        }
    };
    let wanted = [
        AttributeType::Modulus,
        AttributeType::PublicExponent,
        AttributeType::EcPoint,
    ];
    if let Ok(attributes) = session.get_attributes(key, &wanted)
        && let Some(same) = compare(attributes)
    {
        return if same { Ok(()) } else { Err(mismatch()) };
    }
    let Some(id) = key_id else { return Ok(()) };
    let public_keys = session
        .find_objects(&[
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::Id(id.to_vec()),
        ])
        .map_err(token_error)?;
    for handle in public_keys {
        if let Ok(attributes) = session.get_attributes(handle, &wanted)
            && let Some(same) = compare(attributes)
        {
            return if same { Ok(()) } else { Err(mismatch()) };
        }
    }
    Ok(())
}

/// The certificates among `pool` that issue `leaf`, its issuer's issuer and so on (subject
/// matches issuer and the signature verifies), nearest first.
fn issuers_of(leaf: &X509, pool: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let candidates: Vec<(Vec<u8>, X509)> = pool
        .iter()
        .filter_map(|der| X509::from_der(der).ok().map(|c| (der.clone(), c)))
        .collect();
    let mut chain: Vec<Vec<u8>> = Vec::new();
    let mut current = leaf.clone();
    while chain.len() < candidates.len() {
        let issued_by = |candidate: &X509| {
            candidate
                .subject_name()
                .try_cmp(current.issuer_name())
                .is_ok_and(|o| o.is_eq())
                && candidate
                    .public_key()
                    .ok()
                    .is_some_and(|key| current.verify(&key).unwrap_or(false))
        };
        let Some((der, issuer)) = candidates
            .iter()
            .find(|(der, candidate)| !chain.contains(der) && issued_by(candidate))
        else {
            break;
        };
        chain.push(der.clone());
        current = issuer.clone();
    }
    chain
}

/// PKCS#11 returns ECDSA signatures as r‖s; CMS wants `Ecdsa-Sig-Value` in DER.
fn ecdsa_raw_to_der(raw: &[u8]) -> Result<Vec<u8>, PadesError> {
    if raw.is_empty() || !raw.len().is_multiple_of(2) {
        return Err(PadesError::Token {
            reason: "malformed ECDSA signature from the token".to_owned(),
        });
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let r = openssl::bn::BigNum::from_slice(r).map_err(super::key::openssl_error)?;
    let s = openssl::bn::BigNum::from_slice(s).map_err(super::key::openssl_error)?;
    let signature = openssl::ecdsa::EcdsaSig::from_private_components(r, s)
        .map_err(super::key::openssl_error)?;
    signature.to_der().map_err(super::key::openssl_error)
}

fn token_error(e: CkError) -> PadesError {
    PadesError::Token {
        reason: e.to_string(),
    }
}
