//! RFC 3161 timestamp tokens as evidence: signature timestamps (over a signature value) and
//! document timestamps (over a ByteRange). The token's own CMS signature is checked here; the
//! TSA's certificate path is checked by the caller, who knows the trust store and the time.

use openssl::cms::{CMSOptions, CmsContentInfo};
use time::OffsetDateTime;

use super::der_walk;
use super::signed_data::{self, HashAlgorithm};

/// What a token says and who signed it.
#[derive(Debug, Clone)]
pub struct TokenFacts {
    pub time: OffsetDateTime,
    pub imprint_algorithm: Option<HashAlgorithm>,
    pub imprint: Vec<u8>,
    pub tsa_certificate: Option<Vec<u8>>,
    pub certificates: Vec<Vec<u8>>,
}

/// Reads a token and verifies its CMS signature (signed attributes, TSTInfo digest,
/// signature value with the TSA certificate it carries).
///
/// # Errors
/// A reason in English.
pub fn check(token: &[u8]) -> Result<TokenFacts, String> {
    // OpenSSL reads BER as well as DER, checks the signed attributes, the TSTInfo digest and
    // the signature, and hands back the TSTInfo itself.
    let mut parsed =
        CmsContentInfo::from_der(token).map_err(|e| format!("malformed timestamp token: {e}"))?;
    let store = openssl::x509::store::X509StoreBuilder::new()
        .map_err(|e| e.to_string())?
        .build();
    let mut tst_info = Vec::new();
    parsed
        .verify(
            None,
            Some(&store),
            None,
            Some(&mut tst_info),
            CMSOptions::NO_SIGNER_CERT_VERIFY | CMSOptions::BINARY,
        )
        .map_err(|e| format!("the TSA's signature on the token does not verify: {e}"))?;
    let der = parsed.to_der().map_err(|e| e.to_string())?;
    let facts = signed_data::parse(&der)?;
    let (time, imprint_oid, imprint) =
        tst_info_fields(&tst_info).ok_or_else(|| "malformed TSTInfo".to_owned())?;
    Ok(TokenFacts {
        time,
        imprint_algorithm: HashAlgorithm::from_oid(&imprint_oid),
        imprint,
        tsa_certificate: facts.signer_certificate,
        certificates: facts.certificates,
    })
}

/// `TSTInfo ::= SEQUENCE { version, policy, messageImprint SEQUENCE { hashAlgorithm,
/// hashedMessage }, serialNumber, genTime GeneralizedTime, ... }`: genTime, imprint hash OID
/// and imprint. Parsed by hand because TSAs write fractional seconds, which the `der` crate's
/// GeneralizedTime refuses.
fn tst_info_fields(der: &[u8]) -> Option<(OffsetDateTime, String, Vec<u8>)> {
    let (info, _) = der_walk::read(der)?;
    let fields = der_walk::children(info.value)?;
    let imprint = der_walk::children(fields.get(2)?.value)?;
    let algorithm = der_walk::children(imprint.first()?.value)?;
    let oid = algorithm.first().filter(|t| t.tag == 0x06)?;
    let oid = const_oid::ObjectIdentifier::from_bytes(oid.value)
        .ok()?
        .to_string();
    let hashed = imprint.get(1).filter(|t| t.tag == 0x04)?.value.to_vec();
    let gen_time = fields.get(4).filter(|t| t.tag == 0x18)?;
    Some((generalized_time(gen_time.value)?, oid, hashed))
}

/// `YYYYMMDDHHMMSS[.f*]Z`.
fn generalized_time(text: &[u8]) -> Option<OffsetDateTime> {
    let text = std::str::from_utf8(text).ok()?;
    let text = text.strip_suffix('Z')?;
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.len() != 14
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let n = |r: std::ops::Range<usize>| whole[r].parse::<u32>().ok();
    let date = time::Date::from_calendar_date(
        i32::try_from(n(0..4)?).ok()?,
        time::Month::try_from(u8::try_from(n(4..6)?).ok()?).ok()?,
        u8::try_from(n(6..8)?).ok()?,
    )
    .ok()?;
    let clock = time::Time::from_hms(
        u8::try_from(n(8..10)?).ok()?,
        u8::try_from(n(10..12)?).ok()?,
        u8::try_from(n(12..14)?).ok()?,
    )
    .ok()?;
    Some(time::PrimitiveDateTime::new(date, clock).assume_utc())
}

/// Whether the certificate may issue timestamps (extended key usage id-kp-timeStamping).
pub fn is_tsa_certificate(der: &[u8]) -> bool {
    use x509_parser::prelude::{FromDer, X509Certificate};
    X509Certificate::from_der(der)
        .ok()
        .and_then(|(_, c)| {
            c.extended_key_usage()
                .ok()
                .flatten()
                .map(|e| e.value.time_stamping)
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    #[test]
    fn generalized_times_with_fractions_parse() {
        let t = super::generalized_time(b"20201201120000.123Z").unwrap();
        assert_eq!(t.unix_timestamp(), 1_606_824_000);
        assert!(super::generalized_time(b"20201201120000").is_none());
        assert!(super::generalized_time(b"2020120112000Z").is_none());
    }
}
