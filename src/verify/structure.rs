//! The signatures of a PDF as they sit in the file, and the format checks that come before
//! any cryptography (ETSI EN 319 102-1 "format checking"; the USF and SWA attacks of
//! ../shared/docs/signatures.md §2): the ByteRange is four integers starting at 0, its gap is
//! exactly this signature's `/Contents` hex string with its delimiters, the signed part ends
//! where a revision ends, and the `/Contents` is DER with nothing but zero padding after it.

use lopdf::{Dictionary, Object, ObjectId};
use time::OffsetDateTime;

use crate::pdf::incremental::PdfRevision;

/// What the signature dictionary says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureKind {
    Signature,
    DocumentTimestamp,
}

/// How much of the file a signature covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Coverage {
    /// Everything but its own `/Contents`.
    WholeFile,
    /// A complete earlier revision; later revisions are judged by the modification analysis.
    Revision,
    /// Something else: not a revision boundary, a gap that is not `/Contents`, overlapping
    /// or out-of-file ranges.
    Partial,
}

/// A format problem: a stable code and an English detail.
#[derive(Debug, Clone)]
pub struct FormatProblem {
    pub code: &'static str,
    pub detail: String,
}

/// One signature field with a signature value, as found in the newest revision.
#[derive(Debug, Clone)]
pub struct SignatureEntry {
    pub field: String,
    pub dictionary: ObjectId,
    pub kind: SignatureKind,
    pub sub_filter: String,
    pub byte_range: Option<[u64; 4]>,
    /// The `/Contents` DER without its zero padding.
    pub contents: Vec<u8>,
    pub claimed_time: Option<OffsetDateTime>,
    pub reason: Option<String>,
    pub location: Option<String>,
    pub name: Option<String>,
    /// DocMDP P value when this is a certification signature.
    pub docmdp: Option<u8>,
    /// FieldMDP lock of this signature: action (All, Include, Exclude) and field names.
    pub field_lock: Option<(String, Vec<String>)>,
    pub coverage: Coverage,
    /// End of the signed part (`c + d`), 0 when the ByteRange is unusable.
    pub signed_end: u64,
    pub problems: Vec<FormatProblem>,
}

/// Offsets just after each `%%EOF` marker (and its end-of-line), oldest first: where each
/// revision of an incrementally updated file ends.
pub fn revision_ends(file: &[u8]) -> Vec<u64> {
    let marker = b"%%EOF";
    let mut ends = Vec::new();
    for found in memchr::memmem::find_iter(file, marker) {
        let mut end = found + marker.len();
        if file.get(end) == Some(&b'\r') {
            end += 1;
        }
        if file.get(end) == Some(&b'\n') {
            end += 1;
        }
        ends.push(end as u64);
    }
    ends
}

/// Where a revision ending with `%%EOF` at `end` may be said to end: right after the
/// marker, or after its end-of-line (both are used by signers).
fn is_revision_end(ends: &[u64], file: &[u8], end: u64) -> bool {
    // `ends` is ascending and only an end from `end` to two bytes after it can match: a
    // binary search, not a scan (a file of millions of `%%EOF` markers, checked for each
    // signature).
    let from = ends.partition_point(|&e| e < end);
    ends[from..]
        .iter()
        .take_while(|&&e| e <= end.saturating_add(2))
        .any(|&e| {
            if e == end {
                return true;
            }
            // `e` includes the EOL; the marker itself ends 0-2 bytes earlier.
            let marker_end = (e.saturating_sub(2)..=e)
                .find(|&m| m >= 5 && file.get(m as usize - 5..m as usize) == Some(&b"%%EOF"[..]));
            marker_end.is_some_and(|m| (m..=e).contains(&end))
        })
}

/// Whether nothing but whitespace follows `end`.
fn only_whitespace_after(file: &[u8], end: u64) -> bool {
    file.get(end as usize..)
        .is_some_and(|rest| rest.iter().all(|b| b" \t\r\n\x0c\0".contains(b)))
}

/// Most signatures (and document timestamps) checked in one file. Each one is a CMS check,
/// a certificate path and a modification analysis over the whole file, so a crafted form
/// with thousands of signature fields (all pointing at one 8 MB `/Contents`) would take
/// hours; EU DSS's largest sample has 51 signatures.
pub const MAX_SIGNATURES: usize = 100;

/// Every signature in the newest revision, with its format checks done (at most
/// [`MAX_SIGNATURES`], in form order), and how many more signed fields were left unchecked.
pub fn signatures(revision: &PdfRevision, file: &[u8]) -> (Vec<SignatureEntry>, usize) {
    let ends = revision_ends(file);
    let fields = crate::pades::document::signature_fields(revision).unwrap_or_default();
    let signed: Vec<_> = fields
        .iter()
        .filter_map(|field| Some((field, field.value?)))
        .collect();
    let unchecked = signed.len().saturating_sub(MAX_SIGNATURES);
    let mut entries: Vec<SignatureEntry> = signed
        .into_iter()
        .take(MAX_SIGNATURES)
        .filter_map(|(field, id)| {
            let dict = revision.dictionary(id).ok()?;
            Some(entry(revision, file, &ends, &field.name, id, dict))
        })
        .collect();
    // Two signatures may not share signed gaps (DSS's ByteRangeCollision).
    let gaps: Vec<Option<(u64, u64)>> = entries
        .iter()
        .map(|e| e.byte_range.map(|r| (r[1], r[2])))
        .collect();
    for (i, entry) in entries.iter_mut().enumerate() {
        let Some((start, end)) = gaps[i] else {
            continue;
        };
        let collides = gaps
            .iter()
            .enumerate()
            .any(|(j, other)| j != i && other.is_some_and(|(s, e)| s < end && start < e));
        if collides {
            entry.coverage = Coverage::Partial;
            entry.problems.push(FormatProblem {
                code: "byte-range-collision",
                detail: "the ByteRange gap overlaps another signature's".to_owned(),
            });
        }
    }
    entries.sort_by_key(|e| e.signed_end);
    (entries, unchecked)
}

fn text(dict: &Dictionary, key: &[u8]) -> Option<String> {
    dict.get(key)
        .ok()
        .and_then(|v| lopdf::decode_text_string(v).ok())
        .filter(|s| !s.is_empty())
}

fn entry(
    revision: &PdfRevision,
    file: &[u8],
    ends: &[u64],
    field: &str,
    id: ObjectId,
    dict: &Dictionary,
) -> SignatureEntry {
    let sub_filter = dict
        .get(b"SubFilter")
        .and_then(Object::as_name)
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .unwrap_or_default();
    let kind = if sub_filter == "ETSI.RFC3161"
        || dict.get(b"Type").and_then(Object::as_name).ok() == Some(b"DocTimeStamp")
    {
        SignatureKind::DocumentTimestamp
    } else {
        SignatureKind::Signature
    };
    let mut problems = Vec::new();
    let mut problem =
        |code: &'static str, detail: String| problems.push(FormatProblem { code, detail });
    let raw_contents = match dict.get(b"Contents") {
        Ok(Object::String(bytes, _)) => bytes.clone(),
        _ => {
            problem(
                "contents-missing",
                "/Contents is missing or not a string".to_owned(),
            );
            Vec::new()
        }
    };
    let contents = match super::der_walk::element_len(&raw_contents) {
        Some(len) => {
            if raw_contents[len..].iter().any(|b| *b != 0) {
                problem(
                    "contents-trailing-data",
                    "/Contents holds data after the DER signature (only zero padding is allowed)"
                        .to_owned(),
                );
            }
            to_der(&raw_contents[..len])
        }
        None => {
            if !raw_contents.is_empty() {
                problem(
                    "contents-not-der",
                    "/Contents is not a DER structure".to_owned(),
                );
            }
            raw_contents.clone()
        }
    };
    let byte_range = byte_range(revision, dict);
    let mut coverage = Coverage::Partial;
    let mut signed_end = 0;
    match byte_range {
        None => problem(
            "byte-range-invalid",
            "/ByteRange is not an array of four non-negative integers".to_owned(),
        ),
        Some([a, b, c, d]) => {
            let len = file.len() as u64;
            let end = c.checked_add(d);
            if a != 0 || b == 0 || c <= b || end.is_none_or(|e| e > len) {
                problem(
                    "byte-range-invalid",
                    format!(
                        "/ByteRange [{a} {b} {c} {d}] does not describe two ranges in a file of {len} bytes starting at 0"
                    ),
                );
            } else {
                let end = end.unwrap_or(0);
                signed_end = end;
                // The gap must be exactly `<hex>` of this signature's /Contents.
                let gap = &file[b as usize..c as usize];
                // Lengths first: a gap over a large hex run elsewhere is never decoded.
                let hex_ok = gap.len() == 2 * raw_contents.len() + 2
                    && gap[0] == b'<'
                    && gap[gap.len() - 1] == b'>'
                    && gap[1..gap.len() - 1].iter().all(u8::is_ascii_hexdigit)
                    && gap.len().is_multiple_of(2);
                let decoded = hex_ok
                    .then(|| hex::decode(&gap[1..gap.len() - 1]).ok())
                    .flatten();
                if decoded.as_deref() != Some(&raw_contents[..]) {
                    problem(
                        "byte-range-gap-not-contents",
                        "the unsigned gap of /ByteRange is not exactly this signature's /Contents <…>".to_owned(),
                    );
                } else if end == len
                    || (only_whitespace_after(file, end) && is_revision_end(ends, file, end))
                {
                    coverage = Coverage::WholeFile;
                } else if is_revision_end(ends, file, end) {
                    coverage = Coverage::Revision;
                } else {
                    problem(
                        "byte-range-not-revision-end",
                        format!(
                            "the signed part ends at byte {end}, which is not the end of a revision"
                        ),
                    );
                }
            }
        }
    }
    let (docmdp, field_lock) = transforms(revision, dict);
    SignatureEntry {
        field: field.to_owned(),
        dictionary: id,
        kind,
        sub_filter,
        byte_range,
        contents,
        claimed_time: dict
            .get(b"M")
            .ok()
            .and_then(|m| m.as_str().ok())
            .and_then(pdf_date),
        reason: text(dict, b"Reason"),
        location: text(dict, b"Location"),
        name: text(dict, b"Name"),
        docmdp,
        field_lock,
        coverage,
        signed_end,
        problems,
    }
}

/// The CMS as DER: BER (indefinite lengths, constructed strings) re-encoded by OpenSSL, which
/// is also what the signature covers (RFC 5652 §5.4 signs the DER of the signed attributes).
pub(crate) fn to_der(cms: &[u8]) -> Vec<u8> {
    if super::der_walk::read(cms)
        .is_some_and(|(tlv, rest)| rest.is_empty() && tlv.raw.len() == cms.len())
        && super::signed_data::parse(cms).is_ok()
    {
        return cms.to_vec();
    }
    openssl::cms::CmsContentInfo::from_der(cms)
        .and_then(|c| c.to_der())
        .unwrap_or_else(|_| cms.to_vec())
}

fn byte_range(revision: &PdfRevision, dict: &Dictionary) -> Option<[u64; 4]> {
    let array = revision
        .resolve(dict.get(b"ByteRange").ok()?)
        .ok()?
        .as_array()
        .ok()?;
    if array.len() != 4 {
        return None;
    }
    let mut out = [0u64; 4];
    for (slot, value) in out.iter_mut().zip(array) {
        *slot = u64::try_from(value.as_i64().ok()?).ok()?;
    }
    Some(out)
}

/// DocMDP permission and FieldMDP lock from the signature's `/Reference` array.
fn transforms(
    revision: &PdfRevision,
    dict: &Dictionary,
) -> (Option<u8>, Option<(String, Vec<String>)>) {
    let mut docmdp = None;
    let mut lock = None;
    let Some(references) = dict
        .get(b"Reference")
        .ok()
        .and_then(|r| revision.resolve(r).ok())
        .and_then(|r| r.as_array().ok())
    else {
        return (None, None);
    };
    for reference in references {
        let Some(reference) = revision
            .resolve(reference)
            .ok()
            .and_then(|r| r.as_dict().ok())
        else {
            continue;
        };
        let method = reference
            .get(b"TransformMethod")
            .and_then(Object::as_name)
            .ok();
        let params = reference
            .get(b"TransformParams")
            .ok()
            .and_then(|p| revision.resolve(p).ok())
            .and_then(|p| p.as_dict().ok());
        match (method, params) {
            (Some(b"DocMDP"), params) => {
                let p = params
                    .and_then(|p| p.get(b"P").ok())
                    .and_then(|p| p.as_i64().ok())
                    .unwrap_or(2);
                docmdp = Some(p.clamp(1, 3) as u8);
            }
            (Some(b"FieldMDP"), Some(params)) => {
                let action = params
                    .get(b"Action")
                    .and_then(Object::as_name)
                    .map(|n| String::from_utf8_lossy(n).into_owned())
                    .unwrap_or_else(|_| "All".to_owned());
                let fields = params
                    .get(b"Fields")
                    .ok()
                    .and_then(|f| revision.resolve(f).ok())
                    .and_then(|f| f.as_array().ok())
                    .map(|f| {
                        f.iter()
                            .filter_map(|n| lopdf::decode_text_string(n).ok())
                            .collect()
                    })
                    .unwrap_or_default();
                lock = Some((action, fields));
            }
            _ => {}
        }
    }
    (docmdp, lock)
}

/// `D:YYYYMMDDHHmmSS+HH'mm'` (parts after the year optional).
pub fn pdf_date(raw: &[u8]) -> Option<OffsetDateTime> {
    let text = std::str::from_utf8(raw).ok()?;
    let text = text.strip_prefix("D:").unwrap_or(text);
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    if digits.len() < 4 {
        return None;
    }
    let field = |from: usize, len: usize, default: u32| -> Option<u32> {
        digits
            .get(from..from + len)
            .map_or(Some(default), |s| s.parse().ok())
    };
    let year = i32::try_from(field(0, 4, 0)?).ok()?;
    let month = time::Month::try_from(u8::try_from(field(4, 2, 1)?).ok()?).ok()?;
    let date =
        time::Date::from_calendar_date(year, month, u8::try_from(field(6, 2, 1)?).ok()?).ok()?;
    let clock = time::Time::from_hms(
        u8::try_from(field(8, 2, 0)?).ok()?,
        u8::try_from(field(10, 2, 0)?).ok()?,
        u8::try_from(field(12, 2, 0)?).ok()?.min(59),
    )
    .ok()?;
    let rest = &text[digits.len()..];
    let offset = match rest.chars().next() {
        Some(sign @ ('+' | '-')) => {
            let numbers: Vec<i8> = rest[1..]
                .split(|c: char| !c.is_ascii_digit())
                .filter(|s| !s.is_empty())
                .filter_map(|s| s.parse().ok())
                .collect();
            let hours = numbers.first().copied().unwrap_or(0);
            let minutes = numbers.get(1).copied().unwrap_or(0);
            let sign = if sign == '-' { -1 } else { 1 };
            time::UtcOffset::from_hms(sign * hours, sign * minutes, 0).ok()?
        }
        _ => time::UtcOffset::UTC,
    };
    Some(time::PrimitiveDateTime::new(date, clock).assume_offset(offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_dates_parse_with_and_without_offsets() {
        let t = pdf_date(b"D:20261122103000+07'00'").unwrap();
        assert_eq!(t.unix_timestamp(), 1_795_318_200);
        assert_eq!(pdf_date(b"D:2026").unwrap().month(), time::Month::January);
        assert!(pdf_date(b"D:20261322").is_none());
        assert!(pdf_date(b"yesterday").is_none());
    }

    #[test]
    fn revision_ends_include_the_end_of_line() {
        let file = b"%PDF-1.7\n1 0 obj\n%%EOF\nupdate\n%%EOF\r\n";
        assert_eq!(revision_ends(file), vec![23, 37]);
        assert!(is_revision_end(&revision_ends(file), file, 22));
        assert!(is_revision_end(&revision_ends(file), file, 23));
        assert!(!is_revision_end(&revision_ends(file), file, 20));
    }
}
