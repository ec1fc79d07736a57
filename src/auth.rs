//! Secrets of the accounts: password hashes, session and API token secrets, and signing keys
//! re-sealed for storage. Pure and synchronous (no SQL, no HTTP); the archive stores what
//! these functions return (`archive::accounts`), the HTTP layer and the CLI call them.
//!
//! - Passwords are kept as argon2id PHC strings (RFC 9106; the argon2 crate's defaults,
//!   m = 19456 KiB, t = 2, p = 1, which are OWASP's recommended minimum) with a 16-byte salt
//!   from OpenSSL's CSPRNG. Verifying is constant-time in the hash comparison.
//! - Session and API token secrets are 32 random bytes in hex behind a short prefix (`hs_`,
//!   `hst_`), so a leaked one is recognisable in logs and by secret scanners. Only their
//!   SHA-256 ([`secret_digest`]) is stored: a copy of the database opens no session. A plain
//!   hash suffices (no salt, no stretching) because the secret has 256 bits of entropy.
//! - A PKCS#12 key file is re-encrypted before it is stored ([`seal_pkcs12`]): AES-256-CBC
//!   under PBES2/PBKDF2-HMAC-SHA256 with 600 000 iterations (OWASP 2023 for PBKDF2-SHA256),
//!   and an HMAC-SHA256 integrity MAC with as many iterations (otherwise the MAC would be the
//!   cheap way to test password guesses). The password is the key's own; hoso never stores it.

use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkcs12::Pkcs12;
use openssl::x509::X509;
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::digest::Sha256Digest;
use crate::error::{Coded, ErrorClass};

/// Shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password accepted, in characters (a bound on the work a login can cause).
pub const MAX_PASSWORD_CHARS: usize = 1024;
/// Prefix of session secrets (the cookie value).
pub const SESSION_PREFIX: &str = "hs_";
/// Prefix of API token secrets.
pub const TOKEN_PREFIX: &str = "hst_";
/// PBKDF2 and MAC iterations of a sealed PKCS#12.
const SEAL_ITERATIONS: u32 = 600_000;
const SALT_BYTES: usize = 16;
const SECRET_BYTES: usize = 32;

/// What [`seal_pkcs12`] and [`certificate_info`] read from a signing certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub certificate_der: Vec<u8>,
    /// The subject's distinguished name, as `trust` shows it (`CN=…, O=…, C=VN`).
    pub subject: String,
    pub not_after: OffsetDateTime,
    /// SHA-256 fingerprint of `certificate_der`, lowercase hex.
    pub sha256: String,
}

/// argon2id PHC string of `password` (argon2 defaults: m = 19456, t = 2, p = 1), with a
/// random salt from OpenSSL.
///
/// # Errors
/// [`AuthError::Hash`] when the random generator or the hash fails (never for a password
/// that passed [`check_password_strength`]).
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    use argon2::password_hash::PasswordHasher;
    let mut salt = [0u8; SALT_BYTES];
    openssl::rand::rand_bytes(&mut salt).map_err(|e| AuthError::Hash(e.to_string()))?;
    let hash = argon2::Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map_err(|e| AuthError::Hash(e.to_string()))?;
    Ok(hash.to_string())
}

/// Whether `password` is the one hashed in `phc`. False on a mismatch and on a hash that
/// does not parse (never an error: a damaged hash must not open the account). The
/// comparison of the computed and stored hashes is constant-time.
pub fn verify_password(password: &str, phc: &str) -> bool {
    use argon2::password_hash::PasswordVerifier;
    use argon2::password_hash::phc::PasswordHash;
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    argon2::Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// Checks a new password: at least [`MIN_PASSWORD_CHARS`] characters (and at most
/// [`MAX_PASSWORD_CHARS`]), not one character repeated.
///
/// # Errors
/// [`AuthError::PasswordWeak`] saying which rule failed.
pub fn check_password_strength(password: &str) -> Result<(), AuthError> {
    let weak = |reason: String| Err(AuthError::PasswordWeak { reason });
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return weak(format!(
            "shorter than {MIN_PASSWORD_CHARS} characters ({chars})"
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return weak(format!("longer than {MAX_PASSWORD_CHARS} characters"));
    }
    if password.contains('\0') {
        return weak("contains a NUL character".to_owned());
    }
    let mut rest = password.chars();
    if let Some(first) = rest.next()
        && rest.all(|c| c == first)
    {
        return weak("one character repeated".to_owned());
    }
    Ok(())
}

/// A new secret: `prefix` then 32 random bytes (OpenSSL) in lowercase hex. `"hs_"`
/// ([`SESSION_PREFIX`]) for sessions, `"hst_"` ([`TOKEN_PREFIX`]) for API tokens.
pub fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    // Invariant: OpenSSL's CSPRNG seeds itself from the operating system and fails only when
    // the system has no entropy source at all; handing out a guessable secret instead would
    // be worse than stopping.
    openssl::rand::rand_bytes(&mut bytes).expect("OpenSSL's random generator is unavailable");
    format!("{prefix}{}", hex::encode(bytes))
}

/// SHA-256 of `secret` in lowercase hex: what the archive stores for sessions and tokens.
pub fn secret_digest(secret: &str) -> String {
    Sha256Digest::of(secret.as_bytes()).to_hex()
}

/// Re-encrypts a PKCS#12 key file for storage: opens it with `password`, checks that it holds
/// a private key and the certificate of that key, and exports key, certificate and chain
/// again with AES-256-CBC / PBKDF2-HMAC-SHA256 (600 000 iterations) and an HMAC-SHA256 MAC,
/// under the same password. Returns the new DER and what the certificate says.
///
/// # Errors
/// [`AuthError::KeyUnreadable`] for a file that is not PKCS#12, a wrong password, a file
/// without key or certificate, or a key that does not belong to the certificate;
/// [`AuthError::PasswordWeak`] for an empty password (the key would be stored readable by
/// anyone with the database).
pub fn seal_pkcs12(p12: &[u8], password: &str) -> Result<(Vec<u8>, KeyInfo), AuthError> {
    let result = seal(p12, password);
    crate::trust::clear_openssl_errors();
    result
}

fn seal(p12: &[u8], password: &str) -> Result<(Vec<u8>, KeyInfo), AuthError> {
    let unreadable = |reason: &str| AuthError::KeyUnreadable {
        reason: reason.to_owned(),
    };
    if password.is_empty() {
        return Err(AuthError::PasswordWeak {
            reason: "the key file has no password; protect it with one before adding it".to_owned(),
        });
    }
    // OpenSSL takes the password as a C string.
    if password.contains('\0') {
        return Err(unreadable("the password contains a NUL character"));
    }
    let pkcs12 = Pkcs12::from_der(p12).map_err(|_| unreadable("not a PKCS#12 file"))?;
    // OpenSSL reports a wrong password as a MAC verification failure.
    let parsed = pkcs12
        .parse2(password)
        .map_err(|_| unreadable("wrong password, or a damaged PKCS#12 file"))?;
    let key = parsed
        .pkey
        .ok_or_else(|| unreadable("the PKCS#12 file holds no private key"))?;
    let cert = parsed
        .cert
        .ok_or_else(|| unreadable("the PKCS#12 file holds no certificate"))?;
    let public = cert
        .public_key()
        .map_err(|_| unreadable("the certificate's public key cannot be read"))?;
    if !key.public_eq(&public) {
        return Err(unreadable(
            "the private key does not belong to the certificate",
        ));
    }
    let certificate_der = cert
        .to_der()
        .map_err(|_| unreadable("the certificate cannot be encoded"))?;
    let info = info_of(certificate_der)?;
    let mut builder = Pkcs12::builder();
    builder
        .pkey(&key)
        .cert(&cert)
        .key_algorithm(Nid::AES_256_CBC)
        .cert_algorithm(Nid::AES_256_CBC)
        .key_iter(SEAL_ITERATIONS)
        .mac_iter(SEAL_ITERATIONS)
        .mac_md(MessageDigest::sha256());
    if let Some(ca) = parsed.ca {
        builder.ca(ca);
    }
    let sealed = builder
        .build2(password)
        .and_then(|p| p.to_der())
        .map_err(|e| AuthError::Hash(format!("re-encrypting the PKCS#12 failed: {e}")))?;
    Ok((sealed, info))
}

/// What a certificate (PEM or DER) says, for keys kept on a PKCS#11 token.
///
/// # Errors
/// [`AuthError::KeyUnreadable`] when `cert` is not one X.509 certificate.
pub fn certificate_info(cert: &[u8]) -> Result<KeyInfo, AuthError> {
    let parsed = if cert.trim_ascii_start().starts_with(b"-----BEGIN") {
        X509::from_pem(cert)
    } else {
        X509::from_der(cert)
    };
    let der = parsed.and_then(|c| c.to_der());
    crate::trust::clear_openssl_errors();
    let der = der.map_err(|_| AuthError::KeyUnreadable {
        reason: "not an X.509 certificate (PEM or DER)".to_owned(),
    })?;
    info_of(der)
}

fn info_of(certificate_der: Vec<u8>) -> Result<KeyInfo, AuthError> {
    let (subject, not_after) = {
        let (_, cert) =
            X509Certificate::from_der(&certificate_der).map_err(|e| AuthError::KeyUnreadable {
                reason: format!("the certificate cannot be parsed: {e}"),
            })?;
        (
            cert.subject().to_string(),
            cert.validity().not_after.to_datetime(),
        )
    };
    Ok(KeyInfo {
        sha256: Sha256Digest::of(&certificate_der).to_hex(),
        certificate_der,
        subject,
        not_after,
    })
}

/// Failures of passwords and key files.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("the signing key cannot be used: {reason}")]
    KeyUnreadable { reason: String },
    #[error("the password is too weak: {reason}")]
    PasswordWeak { reason: String },
}

impl Coded for AuthError {
    fn code(&self) -> &'static str {
        match self {
            AuthError::Hash(_) => "password-hash-failed",
            AuthError::KeyUnreadable { .. } => "signing-key-unreadable",
            AuthError::PasswordWeak { .. } => "password-weak",
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            AuthError::Hash(_) => ErrorClass::Internal,
            AuthError::KeyUnreadable { .. } | AuthError::PasswordWeak { .. } => {
                ErrorClass::InvalidInput
            }
        }
    }

    fn message_vi(&self) -> String {
        match self {
            AuthError::Hash(_) => "Lỗi nội bộ khi xử lý mật khẩu.".to_owned(),
            AuthError::KeyUnreadable { .. } => {
                "Không mở được tệp khóa ký số (sai mật khẩu, tệp hỏng hoặc thiếu khóa/chứng thư)."
                    .to_owned()
            }
            AuthError::PasswordWeak { .. } => format!(
                "Mật khẩu quá yếu: cần ít nhất {MIN_PASSWORD_CHARS} ký tự và không được lặp lại một ký tự."
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pki(name: &str) -> Vec<u8> {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("certs/test-pki")
                .join(name),
        )
        .unwrap()
    }

    #[test]
    fn a_hash_verifies_its_password_only() {
        let phc = hash_password("mật khẩu dài đủ").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_password("mật khẩu dài đủ", &phc));
        assert!(!verify_password("mật khẩu dài đủ ", &phc));
        assert!(!verify_password("", &phc));
        // Same password, new salt: another hash.
        assert_ne!(hash_password("mật khẩu dài đủ").unwrap(), phc);
    }

    #[test]
    fn unparsable_hashes_never_verify() {
        for phc in [
            "",
            "plain",
            "$argon2id$",
            "$argon2id$v=19$m=19456,t=2,p=1$AAAA$BBBB",
        ] {
            assert!(!verify_password("anything at all", phc), "{phc}");
        }
    }

    #[test]
    fn weak_passwords_are_refused_with_a_reason() {
        assert!(check_password_strength("đủ mười ký tự").is_ok());
        assert!(check_password_strength("abcdefghij").is_ok());
        for weak in [
            "",
            "short",
            "123456789",
            "aaaaaaaaaaaa",
            "          ",
            "ééééééééééé",
        ] {
            let e = check_password_strength(weak).unwrap_err();
            assert_eq!(e.code(), "password-weak", "{weak:?}");
            assert_eq!(e.class(), ErrorClass::InvalidInput);
        }
        assert!(check_password_strength(&"ab".repeat(600)).is_err());
        assert!(check_password_strength("abcdefghij\0").is_err());
    }

    #[test]
    fn secrets_are_prefixed_random_hex_and_stored_as_digests() {
        let a = new_secret(SESSION_PREFIX);
        let b = new_secret(SESSION_PREFIX);
        assert_ne!(a, b);
        assert_eq!(a.len(), 3 + 64);
        assert!(a.starts_with("hs_"));
        assert!(
            a[3..]
                .bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert!(new_secret(TOKEN_PREFIX).starts_with("hst_"));
        assert_eq!(
            secret_digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_ne!(secret_digest(&a), secret_digest(&b));
    }

    #[test]
    fn a_sealed_key_opens_with_its_password_and_keeps_its_certificate() {
        let original = pki("official.p12");
        let (sealed, info) = seal_pkcs12(&original, "test").unwrap();
        assert_ne!(sealed, original);
        assert!(info.subject.contains("CN="), "{}", info.subject);
        assert_eq!(
            info.sha256,
            Sha256Digest::of(&info.certificate_der).to_hex()
        );
        let parsed = Pkcs12::from_der(&sealed).unwrap().parse2("test").unwrap();
        assert_eq!(parsed.cert.unwrap().to_der().unwrap(), info.certificate_der);
        assert!(parsed.pkey.is_some());
        assert!(Pkcs12::from_der(&sealed).unwrap().parse2("wrong").is_err());
        // The algorithms, as the openssl tool reads them (when it is installed).
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), &sealed).unwrap();
        if let Ok(out) = std::process::Command::new("openssl")
            .args(["pkcs12", "-info", "-noout", "-passin", "pass:test", "-in"])
            .arg(file.path())
            .output()
        {
            let text = String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr);
            assert!(text.contains("MAC: sha256, Iteration 600000"), "{text}");
            assert!(
                text.contains("PBES2, PBKDF2, AES-256-CBC, Iteration 600000, PRF hmacWithSHA256"),
                "{text}"
            );
            assert!(!text.contains("RC2") && !text.contains("3DES"), "{text}");
        }
        // The certificate alone tells the same.
        let from_cert = certificate_info(&pki("official.crt")).unwrap();
        assert_eq!(from_cert, info);
        crate::trust::clear_openssl_errors();
    }

    #[test]
    fn unusable_key_files_are_refused() {
        let p12 = pki("official.p12");
        for (bytes, password, code) in [
            (&p12[..], "wrong", "signing-key-unreadable"),
            (&p12[..], "te\0st", "signing-key-unreadable"),
            (&p12[..], "", "password-weak"),
            (&b"not a key"[..], "test", "signing-key-unreadable"),
        ] {
            let e = seal_pkcs12(bytes, password).unwrap_err();
            assert_eq!(e.code(), code, "{password:?}");
        }
        assert_eq!(
            certificate_info(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .unwrap_err()
                .code(),
            "signing-key-unreadable"
        );
        assert!(certificate_info(&[]).is_err());
    }
}
