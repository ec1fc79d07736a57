//! The identifiers of the one-stop office, parsed once into newtypes (vn-standards.md §3):
//! [`AgencyCode`] (mã định danh điện tử of the handling agency), [`ProcedureCode`] (the
//! national TTHC code) and [`DossierCode`] (mã số hồ sơ). Pure functions; no SQL.

use std::fmt;

use serde::Serialize;
use time::Date;

/// Electronic identifier of an agency (QĐ 20/2020/QĐ-TTg Art. 4 as amended by QĐ 09/2025;
/// vn-standards.md §3.1). Two forms exist side by side:
/// - current: `MX1X2` then dot-separated groups growing left to right, `[0-9A-Z.]`, at most
///   35 characters, e.g. `H53.100.01` (M ∈ A–Y, X ∈ 0–9);
/// - legacy 13 characters, read right to left: `NNN.NN.NN.MXX`, e.g. `000.00.31.H19`.
///
/// Input is trimmed and upper-cased; the stored text is always the canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct AgencyCode(String);

impl AgencyCode {
    /// # Errors
    /// The canonicalized text back, when it is in neither form.
    pub fn parse(text: &str) -> Result<Self, String> {
        let code = text.trim().to_ascii_uppercase();
        if is_current_agency(&code) || is_legacy_agency(&code) {
            Ok(Self(code))
        } else {
            Err(code)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The two digits `AA` of a dossier code: the digits of the level-1 group (`MX1X2`) of the
    /// current form; `None` for the legacy form, whose dossier codes have no `AA`.
    fn system_digits(&self) -> Option<&str> {
        if is_legacy_agency(&self.0) {
            None
        } else {
            self.0.get(1..3)
        }
    }
}

impl fmt::Display for AgencyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `^[A-Y][0-9]{2}(\.[0-9A-Z]+)*$`, at most 35 characters.
fn is_current_agency(code: &str) -> bool {
    let mut groups = code.split('.');
    let first = groups.next().unwrap_or_default().as_bytes();
    code.len() <= 35
        && first.len() == 3
        && (b'A'..=b'Y').contains(&first[0])
        && first[1..].iter().all(u8::is_ascii_digit)
        && groups.all(|g| {
            !g.is_empty()
                && g.bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        })
}

/// `^[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Y][0-9]{2}$`.
fn is_legacy_agency(code: &str) -> bool {
    let groups: Vec<&[u8]> = code.split('.').map(str::as_bytes).collect();
    let digits = |g: &[u8], n: usize| g.len() == n && g.iter().all(u8::is_ascii_digit);
    matches!(groups.as_slice(), [a, b, c, m]
        if digits(a, 3) && digits(b, 2) && digits(c, 2)
            && m.len() == 3 && (b'A'..=b'Y').contains(&m[0]) && digits(&m[1..], 2))
}

/// National code of an administrative procedure (vn-standards.md §3.2): `d.dddddd`, e.g.
/// `1.001193`, optionally followed by a province's agency suffix
/// (`1.008377.000.00.00.H13`): `^\d\.\d{6}(\.[0-9A-Z]+)*$`, at most 50 characters. The
/// code is opaque: what its first digit means is not known.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ProcedureCode(String);

impl ProcedureCode {
    /// # Errors
    /// The trimmed text when it is not a procedure code.
    pub fn parse(text: &str) -> Result<Self, String> {
        let code = text.trim();
        let bytes = code.as_bytes();
        let head_ok = bytes.len() >= 8
            && bytes[0].is_ascii_digit()
            && bytes[1] == b'.'
            && bytes[2..8].iter().all(u8::is_ascii_digit);
        let tail_ok = || {
            let tail = &code[8..];
            tail.is_empty()
                || tail.strip_prefix('.').is_some_and(|rest| {
                    rest.split('.').all(|g| {
                        !g.is_empty()
                            && g.bytes()
                                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
                    })
                })
        };
        if code.len() <= 50 && head_ok && tail_ok() {
            Ok(Self(code.to_owned()))
        } else {
            Err(code.to_owned())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProcedureCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Mã số hồ sơ (vn-standards.md §3.3):
/// - agency in the current form: `MX1X2.Y1Y2Y3.Z1Z2-YYMMDD-AAXXXX` (TT 04/2025/TT-VPCP Art.
///   23(2)), where `AA` are the two digits of the level-1 group of the agency code (the
///   agency that owns the system; hoso takes the handling agency's own level-1 group) and
///   `XXXX` the daily sequence, at least 4 digits;
/// - agency in the legacy form: `NNN.NN.NN.MXX-YYMMDD-XXXX` (observed practice, e.g.
///   `000.00.31.H19-230612-0003`).
///
/// `YYMMDD` is the day of receipt in Vietnam's time zone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct DossierCode(String);

impl DossierCode {
    /// The code of the `sequence`-th dossier received by `agency` on `day`.
    pub fn new(agency: &AgencyCode, day: Date, sequence: u64) -> Self {
        let yymmdd = format!(
            "{:02}{:02}{:02}",
            day.year().rem_euclid(100),
            u8::from(day.month()),
            day.day()
        );
        let aa = agency.system_digits().unwrap_or_default();
        Self(format!("{agency}-{yymmdd}-{aa}{sequence:04}"))
    }

    /// # Errors
    /// The trimmed, upper-cased text when it is not a dossier code of either form (agency,
    /// a real date, the right `AA`, a sequence of at least 4 digits and not 0).
    pub fn parse(text: &str) -> Result<Self, String> {
        let code = text.trim().to_ascii_uppercase();
        let valid = || -> Option<()> {
            let mut parts = code.splitn(3, '-');
            let agency = AgencyCode::parse(parts.next()?).ok()?;
            if agency.as_str() != code.split('-').next()? {
                return None;
            }
            let yymmdd = parts.next()?;
            let tail = parts.next()?;
            if yymmdd.len() != 6 || !yymmdd.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let number = |range: std::ops::Range<usize>| yymmdd[range].parse::<u8>().ok();
            let month = time::Month::try_from(number(2..4)?).ok()?;
            Date::from_calendar_date(2000 + i32::from(number(0..2)?), month, number(4..6)?).ok()?;
            if !tail.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let sequence = match agency.system_digits() {
                Some(aa) => tail.strip_prefix(aa)?,
                None => tail,
            };
            (sequence.len() >= 4 && sequence.bytes().any(|b| b != b'0')).then_some(())
        };
        match valid() {
            Some(()) => Ok(Self(code)),
            None => Err(code),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DossierCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn agency_codes_of_both_forms_are_accepted_and_canonicalized() {
        assert_eq!(
            AgencyCode::parse(" h53.100.01 ").unwrap().as_str(),
            "H53.100.01"
        );
        assert_eq!(AgencyCode::parse("G06").unwrap().as_str(), "G06");
        assert_eq!(
            AgencyCode::parse("000.00.31.H19").unwrap().as_str(),
            "000.00.31.H19"
        );
        for bad in [
            "",
            "Z53.100",
            "H5.100",
            "H53..01",
            "H53.100.",
            "H53-100",
            "H53.1Đ0",
            "000.00.31.Z19",
            &format!("H53.{}", "1".repeat(32)),
        ] {
            assert!(AgencyCode::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn procedure_codes_follow_the_national_format() {
        for good in ["1.001193", "2.002710", "1.008377.000.00.00.H13"] {
            assert_eq!(ProcedureCode::parse(good).unwrap().as_str(), good);
        }
        for bad in [
            "1.00119",
            "1001193",
            "1.0011934",
            "a.001193",
            "1.001193.",
            "1.001193.h13",
        ] {
            assert!(ProcedureCode::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn dossier_codes_carry_agency_day_system_digits_and_sequence() {
        let agency = AgencyCode::parse("H53.100.01").unwrap();
        let code = DossierCode::new(&agency, date!(2026 - 01 - 25), 7);
        assert_eq!(code.as_str(), "H53.100.01-260125-530007");
        assert_eq!(
            DossierCode::new(&agency, date!(2026 - 01 - 25), 12345).as_str(),
            "H53.100.01-260125-5312345"
        );
        let legacy = AgencyCode::parse("000.00.31.H19").unwrap();
        assert_eq!(
            DossierCode::new(&legacy, date!(2023 - 06 - 12), 3).as_str(),
            "000.00.31.H19-230612-0003"
        );
    }

    #[test]
    fn dossier_codes_parse_back_and_malformed_ones_do_not() {
        for good in [
            "H53.100.01-260125-530007",
            "h53.100.01-260125-5312345",
            "000.00.31.H19-230612-0003",
        ] {
            let code = DossierCode::parse(good).unwrap();
            assert_eq!(code.as_str(), good.to_ascii_uppercase());
        }
        for bad in [
            "H53.100.01-260125-540007",  // AA is not the agency's
            "H53.100.01-260230-530007",  // 30 February
            "H53.100.01-260125-53007",   // 3-digit sequence
            "H53.100.01-260125-530000",  // sequence 0
            "000.00.31.H19-230612-003",  // 3-digit sequence
            "H53.100.01-2601250-530007", // 7-digit date
            "H53.100.01--530007",
            "H53.100.01-260125",
            "1.001193",
            "",
        ] {
            assert!(DossierCode::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
