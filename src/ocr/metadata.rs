//! Document metadata read from OCR text: number and symbol, place and date, issuing agency,
//! type and abstract (trích yếu) of a Vietnamese administrative document.
//!
//! Decree 30/2020/NĐ-CP (Appendix I) fixes where these sit on the first page: the agency block
//! and "Số: 12/QĐ-UBND" top left, the national motto and "Tân Phú, ngày 20 tháng 01 năm 2026"
//! top right, then the type title ("QUYẾT ĐỊNH") and the abstract, or for a công văn a
//! "V/v ..." line under the number. They fill the archive's document fields (Appendix VI:
//! `CodeNumber`, `CodeNotation`, `IssuedDate`, `OrganName`, `TypeName`, `Subject`), so that a
//! clerk checks them instead of typing them.
//!
//! The input is OCR output: keywords are matched without diacritics ("S6:", "ngay 20 thang
//! 01"), spaces around "/" and "-" in the notation are ignored, and two header columns merged
//! onto one line are split. Precision comes before recall: a wrong date or number in an archive
//! is worse than an empty field, so whatever does not read cleanly is left `None`, never
//! guessed. Pure and synchronous: text in, struct out.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;
use time::{Date, Month};
use unicode_normalization::UnicodeNormalization;

/// Metadata of one document, as far as the first page shows it. Every string is NFC, trimmed,
/// with internal whitespace collapsed; a field that is not found is `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DocumentMetadata {
    /// Số của văn bản as printed, leading zeros kept: "12", "05".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// Ký hiệu without the number and the year: "QĐ-UBND", "UBND-VP".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    /// The whole notation: "12/QĐ-UBND", or "123/2024/QĐ-UBND" for legal documents; `None`
    /// while the number is not filled in ("Số: ..../GCN").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number_and_symbol: Option<String>,
    /// Địa danh before ", ngày" on the date line: "Tây Ninh".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issue_place: Option<String>,
    /// Ngày ban hành; serialized as "2020-01-20".
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "iso_date")]
    pub issue_date: Option<Date>,
    /// The issuing agency's header lines as printed, without the parent agency (cơ quan chủ
    /// quản) and the motto: "ỦY BAN NHÂN DÂN XÃ TÂN PHÚ", "SỞ TƯ PHÁP".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuing_agency: Option<String>,
    /// Canonical upper-case type name: "QUYẾT ĐỊNH", "CÔNG VĂN", "GIẤY CHỨNG NHẬN" …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_type: Option<String>,
    /// Trích yếu: the line(s) under the title, or the text after "V/v" of a công văn.
    #[serde(rename = "abstract", skip_serializing_if = "Option::is_none")]
    pub r#abstract: Option<String>,
}

/// Type names (Decree 30 Art. 7, legal documents, one-stop forms and results), matched at the
/// start of an upper-case title line without diacritics; the longest match wins.
#[rustfmt::skip]
const TYPES: &[&str] = &[
    "NGHỊ QUYẾT", "QUYẾT ĐỊNH", "CHỈ THỊ", "QUY CHẾ", "QUY ĐỊNH", "THÔNG CÁO", "THÔNG BÁO",
    "HƯỚNG DẪN", "CHƯƠNG TRÌNH", "KẾ HOẠCH", "PHƯƠNG ÁN", "ĐỀ ÁN", "DỰ ÁN", "BÁO CÁO",
    "BIÊN BẢN", "TỜ TRÌNH", "HỢP ĐỒNG", "CÔNG VĂN", "CÔNG ĐIỆN", "BẢN GHI NHỚ",
    "BẢN THỎA THUẬN", "GIẤY ỦY QUYỀN", "GIẤY MỜI", "GIẤY GIỚI THIỆU", "GIẤY NGHỈ PHÉP",
    "PHIẾU GỬI", "PHIẾU CHUYỂN", "PHIẾU BÁO", "THƯ CÔNG", "LUẬT", "PHÁP LỆNH", "NGHỊ ĐỊNH",
    "THÔNG TƯ", "THÔNG TƯ LIÊN TỊCH", "NGHỊ QUYẾT LIÊN TỊCH", "GIẤY CHỨNG NHẬN", "GIẤY PHÉP",
    "GIẤY XÁC NHẬN", "GIẤY ĐỀ NGHỊ", "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
    "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ", "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
    "PHIẾU TỪ CHỐI TIẾP NHẬN, GIẢI QUYẾT HỒ SƠ", "TỜ KHAI", "ĐƠN", "TRÍCH LỤC",
];

/// The first group of a symbol that names one of these types is no công văn (Decree 30
/// Appendix III, plus legal documents: NĐ, TT, TTLT); compared without diacritics.
#[rustfmt::skip]
const TYPE_ABBREVIATIONS: &[&str] = &[
    "NQ", "QĐ", "CT", "QC", "QyĐ", "TC", "TB", "HD", "CTr", "KH", "PA", "ĐA", "DA", "BC", "BB",
    "TTr", "HĐ", "CĐ", "GN", "TTh", "GUQ", "GM", "GGT", "NP", "PG", "PC", "PB", "NĐ", "TT", "TTLT",
];

/// Header lines that need the next line to name an agency ("ỦY BAN NHÂN DÂN" / "XÃ TÂN PHÚ").
const BARE_AGENCY_KINDS: &[&str] = &["UY BAN NHAN DAN", "UBND", "HOI DONG NHAN DAN", "HDND"];

/// A header line starting with one of these continues the agency name of the line above.
#[rustfmt::skip]
const LOCALITIES: &[&str] =
    &["XÃ", "PHƯỜNG", "THỊ TRẤN", "THỊ XÃ", "HUYỆN", "QUẬN", "THÀNH PHỐ", "TỈNH", "ĐẶC KHU"];

/// Lowercase second words of place names ("Thành phố", "Thị xã"), folded.
#[rustfmt::skip]
const PLACE_PAIRS: &[(&str, &str)] =
    &[("thanh", "pho"), ("thi", "xa"), ("thi", "tran"), ("dac", "khu")];

/// Only the first lines can hold the header; the body starts at the latest here.
const MAX_PREAMBLE_LINES: usize = 40;
/// An abstract longer than this is more likely a body paragraph: left `None`.
const MAX_ABSTRACT_LINES: usize = 3;

// Invariant: every pattern below is a literal, compiled by the tests, so `expect` cannot fire.
fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("literal regex")
}

// On `fold`ed text (no diacritics, "Đ" → "D"): the keywords OCR spells in many ways.
static NUMBER_KEY: LazyLock<Regex> = LazyLock::new(|| regex(r"(?:^|\s)S[Oo06]\s*[:;]?\s*"));
static DATE: LazyLock<Regex> = LazyLock::new(|| {
    regex(concat!(
        r"(?i)(?:^|[\s,.;])ngay\s*([0-9OIl|]{1,2})\s*thang\s*([0-9OIl|]{1,2})",
        r"\s*nam\s*([0-9OIl|]{4})\s*[.,;]?\s*$",
    ))
});
static MOTTO: LazyLock<Regex> = LazyLock::new(|| {
    regex(concat!(
        r"(?i)cong\s*hoa\s+xa\s+hoi\s+chu\s+nghia\s+viet\s+nam",
        r"|doc\s*lap\s*[-–—]?\s*tu\s*do\s*[-–—]?\s*hanh\s*phuc",
    ))
});
static BODY_START: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"(?i)^(?:can cu|kinh gui|xet|dieu \d+|noi nhan|thuc hien|theo de nghi)\b")
});
static V_V: LazyLock<Regex> = LazyLock::new(|| regex(r"^V\s*/\s*[Vv]\b\s*[:.]?\s*"));
// On the text as printed.
static SEPARATOR: LazyLock<Regex> = LazyLock::new(|| regex(r"\s*([/\-–—])\s*"));
static NOTATION: LazyLock<Regex> = LazyLock::new(|| regex(r"^[\p{L}\p{N}.…_/\-–—]+"));
static SYMBOL: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^\p{Lu}[\p{L}\d.]*(?:-[\p{Lu}\d][\p{L}\d.]*)*$"));
static NUMBERED: LazyLock<Regex> = LazyLock::new(|| regex(r"^(?:\d+|[IVX]+|[a-zđ])[.)]\s"));
static ABBREVIATED_PLACE: LazyLock<Regex> = LazyLock::new(|| regex(r"^\p{Lu}{1,3}\.$"));

/// Reads the metadata of the document whose first page is `text` (OCR output, any Unicode
/// normal form, one printed line per line). Never fails: what cannot be read is `None`.
pub fn extract(text: &str) -> DocumentMetadata {
    // "Ð" (U+00D0, Icelandic eth) is never Vietnamese: it is always OCR's reading of "Đ".
    let text = text
        .nfc()
        .collect::<String>()
        .replace('Ð', "Đ")
        .replace('ð', "đ");
    let lines: Vec<String> = text.lines().map(collapse).collect();
    let preamble = &lines[..lines.len().min(MAX_PREAMBLE_LINES)];
    let body_at = preamble.iter().position(|l| is_body_start(l));
    let head = &preamble[..body_at.unwrap_or(preamble.len())];
    let number = first_in(head, find_notation);
    let date = first_in(head, find_date);

    let mut meta = DocumentMetadata::default();
    if let Some((_, _, notation)) = &number {
        meta.number = notation.number.clone();
        meta.symbol = Some(notation.symbol.clone());
        meta.number_and_symbol = notation.number.as_ref().map(|n| match &notation.year {
            Some(year) => format!("{n}/{year}/{}", notation.symbol),
            None => format!("{n}/{}", notation.symbol),
        });
    }
    if let Some((i, at, issued)) = date {
        meta.issue_date = Some(issued);
        meta.issue_place = place(&head[i][..at]);
    }
    // The agency block ends at "Số:" (or at the date line when there is no number).
    let agency_end = number.as_ref().map(|n| (n.0, n.1));
    if let Some((i, at)) = agency_end.or(date.map(|d| (d.0, 0))) {
        let above = head[..i].iter().map(String::as_str);
        meta.issuing_agency = issuing_agency(above.chain([&head[i][..at]]));
    }
    let after = number.as_ref().map(|n| n.0 + 1).max(date.map(|d| d.0 + 1));
    match (after.unwrap_or(0)..head.len()).find_map(|i| title_type(&head[i]).map(|t| (i, t))) {
        Some((i, kind)) => {
            meta.document_type = Some(kind.to_owned());
            meta.r#abstract = abstract_after(&lines[i + 1..]);
        }
        None => {
            meta.r#abstract = v_v_abstract(head);
            let symbol = meta.symbol.as_deref();
            if meta.r#abstract.is_some() && symbol.is_some_and(|s| !names_a_type(s)) {
                meta.document_type = Some("CÔNG VĂN".to_owned());
            }
        }
    }
    meta
}

/// The first of `lines` where `find` succeeds: (line index, byte offset in it, value).
fn first_in<T>(
    lines: &[String],
    find: fn(&str) -> Option<(usize, T)>,
) -> Option<(usize, usize, T)> {
    let found = |(i, line): (usize, &String)| find(line).map(|(at, value)| (i, at, value));
    lines.iter().enumerate().find_map(found)
}

/// A parsed "Số:" notation.
struct Notation {
    number: Option<String>,
    year: Option<String>,
    symbol: String,
}

/// The notation after the first "Số:" of a line whose text before it is upper case (empty, or
/// the agency column merged onto the same line), with the byte offset where that keyword starts.
fn find_notation(line: &str) -> Option<(usize, Notation)> {
    let folded = fold(line);
    NUMBER_KEY.find_iter(&folded).find_map(|m| {
        let start = aligned(line, &folded, m.start());
        if strip_motto(&line[..start]).chars().any(char::is_lowercase) {
            return None;
        }
        let rest = SEPARATOR.replace_all(&line[aligned(line, &folded, m.end())..], "$1");
        let token = NOTATION.find(&rest)?.as_str().replace(['–', '—'], "-");
        parse_notation(&token).map(|n| (start, n))
    })
}

/// "12/QĐ-UBND", "123/2024/QĐ-UBND" or "......./GCN" (number not filled in).
fn parse_notation(token: &str) -> Option<Notation> {
    let (number, year, symbol) = match token.split('/').collect::<Vec<_>>()[..] {
        [number, symbol] => (number, None, symbol),
        [number, year, symbol] => {
            let is_year = |y: &String| y.len() == 4 && (y.starts_with("19") || y.starts_with("20"));
            (number, Some(digits(year).filter(is_year)?), symbol)
        }
        _ => return None,
    };
    let unfilled = number.chars().all(|c| matches!(c, '.' | '…' | '_'));
    let number = if unfilled {
        None
    } else {
        Some(digits(number)?)
    };
    let symbol = symbol.trim_end_matches(['.', '-']).to_owned();
    // Lower case only in the Appendix III abbreviations "QyĐ", "TTr", "CTr", "TTh".
    let one_lowercase = |g: &str| g.chars().filter(|c| c.is_lowercase()).count() <= 1;
    let valid = SYMBOL.is_match(&symbol) && symbol.split('-').all(one_lowercase);
    let notation = Notation {
        number,
        year,
        symbol,
    };
    valid.then_some(notation)
}

/// Digits, reading OCR's "O"/"o" as 0 and "l"/"I"/"|" as 1 when at least one real digit is
/// there; `None` for anything else.
fn digits(text: &str) -> Option<String> {
    let map = |c| match c {
        '0'..='9' => Some(c),
        'O' | 'o' => Some('0'),
        'l' | 'I' | '|' => Some('1'),
        _ => None,
    };
    text.chars()
        .any(|c| c.is_ascii_digit())
        .then(|| text.chars().map(map).collect())?
}

/// A valid "ngày D tháng M năm Y" ending the line, with the byte offset where it starts.
fn find_date(line: &str) -> Option<(usize, Date)> {
    let folded = fold(line);
    let caps = DATE.captures(&folded)?;
    let number = |i: usize| digits(&caps[i])?.parse::<u16>().ok();
    let (day, month, year) = (number(1)?, number(2)?, number(3)?);
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date = Date::from_calendar_date(i32::from(year), month, u8::try_from(day).ok()?).ok()?;
    let start = aligned(line, &folded, caps.get(0)?.start());
    (1945..=2100).contains(&year).then_some((start, date))
}

/// The last words before ", ngày" that read as a place name: "Tân Phú" out of
/// "Số: 12/QĐ-UBND Tân Phú" when OCR merged the two header columns.
fn place(prefix: &str) -> Option<String> {
    let prefix = strip_motto(prefix);
    let prefix = prefix.trim_end_matches([',', '.', ';']);
    let words: Vec<&str> = prefix.split_whitespace().collect();
    let mut start = words.len();
    while start > 0 {
        let word = words[start - 1];
        let left = start.checked_sub(2).map(|i| fold(words[i]).to_lowercase());
        let pair = left.is_some_and(|l| PLACE_PAIRS.contains(&(l.as_str(), fold(word).as_str())));
        let district_number = word.len() <= 2 && word.chars().all(|c| c.is_ascii_digit());
        if !(is_place_word(word) || pair || district_number || word == "-") {
            break;
        }
        start -= 1;
    }
    let first = start + words[start..].iter().position(|w| is_place_word(w))?;
    tidy(&words[first..].join(" "))
}

/// "Tân", "Hà", "TP." — capitalized, unlike the all-capital words of the agency column.
fn is_place_word(word: &str) -> bool {
    word.starts_with(char::is_uppercase)
        && (word.chars().skip(1).any(char::is_lowercase) || ABBREVIATED_PLACE.is_match(word))
}

/// The issuing agency from the header lines above "Số:". Lines continuing an agency name are
/// joined; of two names the first is the parent agency (Decree 30) and the second is reported.
fn issuing_agency<'a>(candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut names: Vec<String> = Vec::new();
    for raw in candidates.filter(|l| find_date(l).is_none()) {
        let stripped = strip_motto(raw);
        let line = stripped.trim_matches(|c: char| !c.is_alphanumeric());
        if line.chars().filter(|c| c.is_alphabetic()).count() < 2
            || !line.chars().any(char::is_uppercase)
        {
            continue; // rules, specks and seal noise ("nhàm“... .\"óu"), the motto itself
        }
        if !is_upper_line(line) {
            return None; // not a header laid out as Decree 30 says: do not guess
        }
        match names.last_mut() {
            Some(previous) if continues(previous, line) => *previous += &format!(" {line}"),
            _ => names.push(line.to_owned()),
        }
    }
    match &names[..] {
        [agency] | [_, agency] => tidy(agency),
        _ => None,
    }
}

/// Whether `line` carries on the agency name of `previous` rather than starting a new one.
fn continues(previous: &str, line: &str) -> bool {
    let folded = fold(previous);
    let locality = |l: &&str| line.strip_prefix(*l).is_some_and(|r| r.starts_with(' '));
    BARE_AGENCY_KINDS.contains(&folded.as_str())
        || folded.ends_with(" VA")
        || LOCALITIES.iter().any(locality)
}

/// The canonical type of a standalone upper-case title line; `None` for "QUYẾT ĐỊNH:" (the
/// operative clause of a decision) and any other line.
fn title_type(line: &str) -> Option<&'static str> {
    let folded = fold(line);
    if line.ends_with(':') || !is_upper_line(line) || folded.starts_with("DON VI") {
        return None; // "ĐƠN VỊ" is a unit, not an application
    }
    let starts_with = |kind: &&str| {
        let rest = folded.strip_prefix(fold(kind).as_str());
        rest.is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
    };
    let matches = TYPES.iter().copied().filter(starts_with);
    matches.max_by_key(|kind| kind.len())
}

/// Whether the symbol's first group is a type abbreviation ("QĐ-UBND"; "QD" counts too, as
/// OCR's reading of "QĐ"), unlike a công văn's "UBND-VP".
fn names_a_type(symbol: &str) -> bool {
    let group = fold(symbol.split('-').next().unwrap_or_default());
    TYPE_ABBREVIATIONS.iter().any(|a| fold(a) == group)
}

/// The abstract under a title (Tesseract may put a blank line between them): up to a blank
/// line or a line that starts a new section.
fn abstract_after(lines: &[String]) -> Option<String> {
    let lines = &lines[lines.iter().take_while(|l| l.is_empty()).count()..];
    let end = lines.iter().position(|l| l.is_empty() || starts_section(l));
    let end = end.unwrap_or(lines.len());
    let text = lines[..end].join(" ");
    if end > MAX_ABSTRACT_LINES || text.ends_with(['.', ':', ';']) {
        return None; // a paragraph of the body, not an abstract
    }
    tidy(&text)
}

/// The text after "V/v" of a công văn, with its continuation lines (starting in lower case).
fn v_v_abstract(head: &[String]) -> Option<String> {
    let v_v_end = |(i, l): (usize, &String)| Some((i, V_V.find(&fold(l))?.end()));
    let (i, at) = head.iter().enumerate().find_map(v_v_end)?;
    let line = &head[i];
    if find_date(line).is_some() {
        return None; // merged with the date column: where the abstract ends is a guess
    }
    let continues = |l: &&String| l.starts_with(char::is_lowercase) && find_date(l).is_none();
    let mut parts = vec![&line[aligned(line, &fold(line), at)..]];
    parts.extend(
        head[i + 1..]
            .iter()
            .take_while(continues)
            .map(String::as_str),
    );
    (parts.len() <= MAX_ABSTRACT_LINES).then(|| tidy(&parts.join(" ")))?
}

/// A line that cannot belong to an abstract: a signer's title, "Căn cứ", a numbered item …
fn starts_section(line: &str) -> bool {
    is_upper_line(line)
        || is_body_start(line)
        || NUMBERED.is_match(line)
        || line.starts_with(['(', '-', '+', '*', '•'])
}

/// "Căn cứ", "Kính gửi", "Điều 1." …: the body has begun.
fn is_body_start(line: &str) -> bool {
    BODY_START.is_match(&fold(line))
}

/// At least two letters and none of them lower case.
fn is_upper_line(line: &str) -> bool {
    line.chars().filter(|c| c.is_alphabetic()).count() >= 2 && !line.chars().any(char::is_lowercase)
}

/// `line` without the national motto, which OCR often merges into the agency lines.
fn strip_motto(line: &str) -> String {
    let folded = fold(line);
    let mut kept = String::new();
    let mut last = 0;
    for m in MOTTO.find_iter(&folded) {
        kept += &line[last..aligned(line, &folded, m.start())];
        kept += " ";
        last = aligned(line, &folded, m.end());
    }
    collapse(&(kept + &line[last..]))
}

/// Removes diacritics one character for one ("Số" → "So", "Đ" → "D"), so that char positions
/// in the folded text are char positions in the original (see `aligned`).
fn fold(text: &str) -> String {
    let base = |c: char| match c {
        'đ' => 'd',
        'Đ' => 'D',
        _ => std::iter::once(c).nfd().next().unwrap_or(c),
    };
    text.chars().map(base).collect()
}

/// The byte offset in `original` of the character at byte offset `at` of `fold(original)`.
fn aligned(original: &str, folded: &str, at: usize) -> usize {
    let chars = folded[..at].chars().count();
    let char_at = original.char_indices().nth(chars);
    char_at.map_or(original.len(), |(i, _)| i)
}

/// Runs of whitespace as one space, no leading or trailing space.
fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// NFC, whitespace collapsed and trimmed; `None` when nothing is left.
fn tidy(text: &str) -> Option<String> {
    let text: String = collapse(text).nfc().collect();
    (!text.is_empty()).then_some(text)
}

/// Serializes a date as "2020-01-20" (`time::Date`'s `Display`, ISO 8601), whatever the
/// features of `time`'s own serde support.
fn iso_date<S: serde::Serializer>(date: &Option<Date>, serializer: S) -> Result<S::Ok, S::Error> {
    match date {
        Some(date) => serializer.collect_str(date),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// The whole result as JSON, so that every test also checks which fields stay empty.
    fn read(text: &str) -> Value {
        serde_json::to_value(extract(text)).expect("serializable")
    }

    /// A first page in ground-truth order: the left header column, then the right one.
    fn page(agency: &str, number: &str, date: &str, rest: &str) -> String {
        let motto = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc";
        format!("{agency}\nSố: {number}\n{motto}\n{date}\n{rest}")
    }

    #[test]
    fn the_sample_decision_yields_every_field() {
        let sample = include_str!("../../samples/scan-quyet-dinh.gt.txt");
        let expected = json!({
            "number": "12", "symbol": "QĐ-UBND", "number_and_symbol": "12/QĐ-UBND",
            "issue_place": "Tân Phú", "issue_date": "2026-01-20", "document_type": "QUYẾT ĐỊNH",
            "issuing_agency": "UỶ BAN NHÂN DÂN XÃ TÂN PHÚ", // spelled as printed
            "abstract": "Về việc cấp giấy phép xây dựng nhà ở riêng lẻ"});
        assert_eq!(read(sample), expected);
    }

    #[test]
    fn a_cong_van_is_known_by_its_v_v_line_under_a_symbol_naming_no_type() {
        // `pdftotext samples/cong-van.pdf`: the two columns interleaved, blank lines between.
        let text = "UỶ BAN NHÂN DÂN\nXÃ TÂN PHÚ\n\nCỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\n\n\
            Số: 35/UBND-VP\n\nTân Phú, ngày 08 tháng 01 năm 2026\n\nV/v đề nghị bổ sung hồ sơ\n\n\
            Độc lập - Tự do - Hạnh phúc\n\nKính gửi: Bà Trần Thị Mẫu, ấp Phú Hòa, xã Tân Phú.\n";
        let expected = json!({
            "number": "35", "symbol": "UBND-VP", "number_and_symbol": "35/UBND-VP",
            "issue_place": "Tân Phú", "issue_date": "2026-01-08", "document_type": "CÔNG VĂN",
            "issuing_agency": "UỶ BAN NHÂN DÂN XÃ TÂN PHÚ", "abstract": "đề nghị bổ sung hồ sơ"});
        assert_eq!(read(text), expected);
    }

    #[test]
    fn a_legal_document_keeps_its_year_in_the_notation_only() {
        let agency = "ỦY BAN NHÂN DÂN\nTỈNH TÂY NINH";
        let date = "Tây Ninh, ngày 5 tháng 3 năm 2024";
        let rest =
            "QUYẾT ĐỊNH\nBan hành Quy định quản lý\nnghĩa trang\nỦY BAN NHÂN DÂN TỈNH TÂY NINH";
        let expected = json!({
            "number": "123", "symbol": "QĐ-UBND", "number_and_symbol": "123/2024/QĐ-UBND",
            "issue_place": "Tây Ninh", "issue_date": "2024-03-05", "document_type": "QUYẾT ĐỊNH",
            "issuing_agency": "ỦY BAN NHÂN DÂN TỈNH TÂY NINH",
            "abstract": "Ban hành Quy định quản lý nghĩa trang"});
        let text = page(agency, "123/2024/QĐ-UBND", date, rest);
        assert_eq!(read(&text), expected);
    }

    #[test]
    fn the_parent_agency_line_is_not_the_issuing_agency() {
        let agency = "UBND TỈNH TÂY NINH\nSỞ TƯ PHÁP";
        let date = "Tây Ninh, ngày 02 tháng 02 năm 2026";
        let rest = "THÔNG BÁO\nKết quả kiểm tra hồ sơ";
        let meta = read(&page(agency, "45/TB-STP", date, rest));
        assert_eq!(meta["issuing_agency"], "SỞ TƯ PHÁP");
        assert_eq!(meta["abstract"], "Kết quả kiểm tra hồ sơ");
    }

    #[test]
    fn ocr_noise_in_keywords_diacritics_and_separators_is_tolerated() {
        let text = "UY BAN NHAN DAN\nXA TAN PHU\nS6: 12 / QÐ - UBND\n\
            CONG HOA XA HOI CHU NGHIA VIET NAM\nDoc lap - Tu do - Hanh phuc\n\
            Tan Phu, ngay 20 thang 01 nam 2026\nQUYET DINH\nVe viec cap phep\n";
        let expected = json!({
            "number": "12", "symbol": "QĐ-UBND", "number_and_symbol": "12/QĐ-UBND",
            "issue_place": "Tan Phu", "issue_date": "2026-01-20", "document_type": "QUYẾT ĐỊNH",
            "issuing_agency": "UY BAN NHAN DAN XA TAN PHU", "abstract": "Ve viec cap phep"});
        assert_eq!(read(text), expected);
        for keyword in ["Sô:", "Số;", "SỐ:", "S0:", "Số"] {
            let meta = read(&format!("UBND XÃ TÂN PHÚ\n{keyword} 07/KH-UBND\n"));
            assert_eq!(meta["number_and_symbol"], "07/KH-UBND", "{keyword}");
        }
    }

    #[test]
    fn merged_header_columns_and_tesseract_noise_are_handled() {
        // Tesseract 5 on samples/scan-quyet-dinh.png, plus a seal-noise line from synth page 006.
        let text = "UỶ BAN NHÂN-DÂN CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\n\n\
            XÃ TÂN PHÚ | Độc lập - Tự đo - Hạnh phúc\nnhàm“... .\"óu\n\
            Số: 12/QĐ-UBND _ Tân Phú, ngày 20 tháng 01 năm 2026\nQUYẾT ĐỊNH\n\nVề việc cấp phép\n";
        let expected = json!({
            "number": "12", "symbol": "QĐ-UBND", "number_and_symbol": "12/QĐ-UBND",
            "issue_place": "Tân Phú", "issue_date": "2026-01-20", "document_type": "QUYẾT ĐỊNH",
            "issuing_agency": "UỶ BAN NHÂN-DÂN XÃ TÂN PHÚ", "abstract": "Về việc cấp phép"});
        assert_eq!(read(text), expected);
        let city = read("Số: 12 / QĐ - UBND Thành phố Hồ Chí Minh, ngày 01 tháng 12 năm 2025");
        assert_eq!(city["issue_place"], "Thành phố Hồ Chí Minh");
    }

    #[test]
    fn letters_read_for_digits_are_corrected_only_among_digits() {
        let good = "Số: 1O/QĐ-UBND\nngày 2O tháng 0l năm 2O26";
        let bad = "Số: AB/QĐ\nngày Ol tháng Ol năm 2026";
        let expected = json!({
            "number": "10", "symbol": "QĐ-UBND", "number_and_symbol": "10/QĐ-UBND",
            "issue_date": "2026-01-20"});
        assert_eq!((read(good), read(bad)), (expected, json!({})));
    }

    #[test]
    fn an_impossible_date_is_left_empty_with_its_place() {
        let meta = read("Số: 12/QĐ-UBND\nTân Phú, ngày 31 tháng 02 năm 2026\n");
        let expected =
            json!({"number": "12", "symbol": "QĐ-UBND", "number_and_symbol": "12/QĐ-UBND"});
        assert_eq!(meta, expected);
    }

    #[test]
    fn text_without_a_header_yields_nothing() {
        let body = "Điều 2. Bà Trần Thị Mẫu có trách nhiệm thực hiện đúng nội dung\n\
            Căn cứ Luật Xây dựng ngày 18 tháng 6 năm 2014;\nQUYẾT ĐỊNH:\n";
        let paragraph =
            "Hồ sơ được số hóa, ký số và lưu trữ.\nSố lượng: 02 bản\nnộp ngày 05 tháng 01 năm\n";
        for text in [body, paragraph, ""] {
            assert_eq!(extract(text), DocumentMetadata::default(), "{text}");
        }
    }

    #[test]
    fn an_unfilled_number_keeps_only_the_symbol() {
        let agency = "ỦY BAN NHÂN DÂN\nXÃ TÂN PHÚ";
        let date = "ngày 05 tháng 01 năm 2026";
        let rest = "GIẤY CHỨNG NHẬN QUYỀN SỬ DỤNG ĐẤT\n\
            QUYỀN SỞ HỮU NHÀ Ở VÀ TÀI SẢN KHÁC GẮN LIỀN VỚI ĐẤT";
        let expected = json!({"symbol": "GCN", "issue_date": "2026-01-05",
            "issuing_agency": "ỦY BAN NHÂN DÂN XÃ TÂN PHÚ", "document_type": "GIẤY CHỨNG NHẬN"});
        assert_eq!(read(&page(agency, "........./GCN", date, rest)), expected);
    }

    // The next three are the first lines of pages in shared/corpora/ocr/synth (ground truth).
    #[test]
    fn synthetic_notice_page_002_reads_completely() {
        let agency = "ỦY BAN NHÂN DÂN\nPHƯỜNG HƯNG LỘC";
        let date = "Phường Hưng Lộc, ngày 13 tháng 07 năm 2020";
        let rest =
            "THÔNG BÁO\nVề việc bổ sung hồ sơ đăng ký kết hôn\nKính gửi: Ông (bà) Trịnh Thùy Ước";
        let expected = json!({
            "number": "63", "symbol": "TB-UBND", "number_and_symbol": "63/TB-UBND",
            "issue_place": "Phường Hưng Lộc", "issue_date": "2020-07-13",
            "issuing_agency": "ỦY BAN NHÂN DÂN PHƯỜNG HƯNG LỘC", "document_type": "THÔNG BÁO",
            "abstract": "Về việc bổ sung hồ sơ đăng ký kết hôn"});
        assert_eq!(read(&page(agency, "63/TB-UBND", date, rest)), expected);
    }

    #[test]
    fn synthetic_form_page_003_takes_its_type_from_the_title_not_the_symbol() {
        let agency = "ỦY BAN NHÂN DÂN\nXÃ HƯNG LỘC";
        let date = "Xã Hưng Lộc, ngày 24 tháng 05 năm 2023";
        let rest =
            "TỜ KHAI\nĐề nghị trợ cấp xã hội hằng tháng\nKính gửi: Ủy ban nhân dân Xã Hưng Lộc";
        let expected = json!({
            "number": "376", "symbol": "TK", "number_and_symbol": "376/TK",
            "issue_place": "Xã Hưng Lộc", "issue_date": "2023-05-24", "document_type": "TỜ KHAI",
            "issuing_agency": "ỦY BAN NHÂN DÂN XÃ HƯNG LỘC",
            "abstract": "Đề nghị trợ cấp xã hội hằng tháng"});
        assert_eq!(read(&page(agency, "376/TK", date, rest)), expected);
    }

    #[test]
    fn synthetic_receipt_page_009_keeps_its_body_out_of_the_abstract() {
        let agency = "ỦY BAN NHÂN DÂN\nPHƯỜNG ĐIỆN BIÊN";
        let date = "Phường Điện Biên, ngày 06 tháng 12 năm 2020";
        let rest = "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ\n\
            Bộ phận tiếp nhận và trả kết quả Phường Điện Biên đã tiếp nhận\n\
            hồ sơ của ông (bà) Ngô Thanh Phương, số Căn cước công dân\n\
            578838966482, đề nghị giải quyết thủ tục chứng thực bản sao từ bản\nchính.";
        let meta = read(&page(agency, "958/BN-UBND", date, rest));
        assert_eq!(
            meta["document_type"],
            "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ"
        );
        assert_eq!(
            (&meta["issue_date"], &meta["abstract"]),
            (&json!("2020-12-06"), &Value::Null)
        );
    }

    #[test]
    fn title_lines_map_to_canonical_types() {
        let cases = [
            ("QUYẾT ĐỊNH", Some("QUYẾT ĐỊNH")),
            ("QUYẾT ĐỊNH:", None),
            ("Quyết định này", None),
            ("ĐƠN ĐỀ NGHỊ CẤP PHÉP", Some("ĐƠN")),
            ("THONG TU LIEN TICH", Some("THÔNG TƯ LIÊN TỊCH")),
            ("BÁO CÁO TÌNH HÌNH", Some("BÁO CÁO")),
            ("ĐƠN VỊ TÍNH", None),
            ("CHỦ TỊCH", None),
        ];
        for (line, kind) in cases {
            assert_eq!(title_type(line), kind, "{line}");
        }
    }

    #[test]
    fn a_v_v_line_under_a_type_abbreviation_is_no_cong_van() {
        // "QD" is OCR's "QĐ": a decision whose title was lost, not a letter; the type stays empty.
        let text = "UBND XÃ TÂN PHÚ\nSố: 07/QD-UBND\nV/v cấp phép xây dựng\n";
        let expected = json!({
            "number": "07", "symbol": "QD-UBND", "number_and_symbol": "07/QD-UBND",
            "issuing_agency": "UBND XÃ TÂN PHÚ", "abstract": "cấp phép xây dựng"});
        assert_eq!(read(text), expected);
    }
}
