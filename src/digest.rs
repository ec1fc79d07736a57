//! SHA-256 digests: the names of stored content and the fingerprints of certificates.
//!
//! One newtype so that a digest is never confused with an arbitrary hex string: once a
//! [`Sha256Digest`] exists it holds exactly 32 bytes, and its text form is always lower-case hex.

use std::fmt;
use std::str::FromStr;

/// A SHA-256 digest (32 bytes). Displays as 64 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Digest([u8; 32]);

impl Sha256Digest {
    /// Digest of a byte slice held in memory.
    pub fn of(bytes: &[u8]) -> Self {
        Self(openssl::sha::sha256(bytes))
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, as used in blob names and in the database.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256Digest({})", self.to_hex())
    }
}

/// The text was not 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a SHA-256 digest (expected 64 hex digits): {0:?}")]
pub struct InvalidDigest(pub String);

impl FromStr for Sha256Digest {
    type Err = InvalidDigest;

    /// Accepts upper- or lower-case hex, with or without `:` separators (as
    /// `openssl x509 -fingerprint` prints them).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let compact: String = text.chars().filter(|c| *c != ':').collect();
        let mut bytes = [0u8; 32];
        match hex::decode_to_slice(&compact, &mut bytes) {
            Ok(()) => Ok(Self(bytes)),
            Err(_) => Err(InvalidDigest(text.to_owned())),
        }
    }
}

/// Incremental SHA-256 for content that arrives in pieces (uploads, large files), so it is
/// never held whole in memory.
pub struct Sha256Hasher(openssl::sha::Sha256);

impl Sha256Hasher {
    pub fn new() -> Self {
        Self(openssl::sha::Sha256::new())
    }

    pub fn update(&mut self, chunk: &[u8]) {
        self.0.update(chunk);
    }

    pub fn finish(self) -> Sha256Digest {
        Sha256Digest(self.0.finish())
    }
}

impl Default for Sha256Hasher {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_of_empty_input_is_the_published_constant() {
        assert_eq!(
            Sha256Digest::of(b"").to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn incremental_digest_equals_one_shot_digest() {
        let mut hasher = Sha256Hasher::new();
        hasher.update("hồ sơ ".as_bytes());
        hasher.update("một cửa".as_bytes());
        assert_eq!(
            hasher.finish(),
            Sha256Digest::of("hồ sơ một cửa".as_bytes())
        );
    }

    #[test]
    fn parses_colon_separated_upper_case_fingerprints() {
        let text = "E3:B0:C4:42:98:FC:1C:14:9A:FB:F4:C8:99:6F:B9:24:27:AE:41:E4:64:9B:93:4C:A4:95:99:1B:78:52:B8:55";
        let digest: Sha256Digest = text.parse().expect("valid fingerprint");
        assert_eq!(digest, Sha256Digest::of(b""));
    }

    #[test]
    fn rejects_short_or_non_hex_text() {
        assert!("abcd".parse::<Sha256Digest>().is_err());
        assert!("zz".repeat(32).parse::<Sha256Digest>().is_err());
    }
}
