//! Full-text search over documents (issue #6): diacritic-insensitive by default, exact-accent
//! matches first, filters on the Decree 30 metadata, newest first, one page at a time.
//!
//! **One fold, in Rust, on both backends.** `đ` has no canonical decomposition, so neither
//! FTS5's `remove_diacritics` nor a hand-made `unaccent` rule set can be trusted to agree with
//! each other (archive.md §2.1–2.3); [`fold`] does it once (NFKD, drop combining marks,
//! lowercase, `đ`/`ð` → `d`) and [`terms`] splits text into the same tokens for the index and
//! for queries. The database never parses or folds text: SQLite gets the folded tokens joined
//! by spaces (FTS5 `unicode61 remove_diacritics 0` only splits them again), PostgreSQL gets a
//! `tsvector` literal with positions built here (no text-search parser, no `unaccent`
//! extension, no locale-dependent `lower`).
//!
//! **Exact accents.** Besides the folded tokens, each entry holds, once each, the lower-case
//! accented forms of its tokens that folding changes (`đống`, `đường`). A folded token never
//! equals an accented one (folding removes exactly what makes a token accented), so both live
//! in one index. A query with diacritics is answered in two tiers: first the documents that
//! also contain every accented word as typed, then the others; `dong da` (no accents) is one
//! tier.
//!
//! **Sections.** SQLite: FTS5 columns `text` (type, number, subject, notes, file name, dossier
//! code, then the OCR text), `agency` (issuing organ), `signer` (name and position).
//! PostgreSQL: the same tokens in one position sequence (a gap between sections), plus the
//! agency and signer words once more as tagged lexemes (`agency:dong`, `signer:duc`) that
//! `--agency` and `--signer` look up.
//!
//! **Cost.** Lists are ordered by `document_id` descending (newest stored first), which both
//! engines read in index order and stop after a page, so common terms cost no more than rare
//! ones; relevance order (`bm25`, `ts_rank`) ranks only the newest [`RANK_CANDIDATES`]
//! matches, since ranking a million matches takes over a second on either engine (archive.md
//! §2.2–2.3). Counting is optional and capped at [`COUNT_CAP`].
//!
//! User text never becomes query syntax: every word is reduced to its tokens (letters,
//! digits, combining marks) and written quoted into the FTS5 or `tsquery` expression, so
//! `"`, `*`, `NEAR(`, `OR`, `-x`, `col:`, `^` and SQL quotes are plain separators. Values are
//! bound parameters; the SQL text is assembled only from fixed fragments.

use std::collections::BTreeSet;

use serde::Serialize;
use sqlx::{Postgres, Sqlite, Transaction};
use time::{Date, OffsetDateTime};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use super::codes::DossierCode;
use super::documents::{DocumentRole, DocumentTx};
use super::tx::Begin;
use super::{Archive, ArchiveError, Db};

/// Largest page.
pub const MAX_LIMIT: u32 = 200;
/// Deepest offset: paging further scans that many matches first; narrow the query instead.
pub const MAX_OFFSET: u32 = 10_000;
/// `total` counts at most this many matches (then it is a lower bound).
pub const COUNT_CAP: u64 = 10_000;
/// SQLite: filters selecting at most this many entries drive the join (see [`Shape`]).
/// Each entry then costs one FTS5 lookup by rowid (about 0.3 ms measured), so the cap is low.
const FILTERS_FIRST_CAP: u64 = 100;
/// Relevance order ranks the newest this many matches.
pub const RANK_CANDIDATES: u32 = 10_000;
/// Longest query text, in characters, and most words in it.
const MAX_QUERY_CHARS: usize = 1_000;
const MAX_QUERY_WORDS: usize = 32;
/// Tokens indexed per document. PostgreSQL keeps positions up to 16383 and a `tsvector` must
/// stay under 1 MB; the same cap on both backends keeps their answers identical. About 60
/// pages of text.
const MAX_INDEXED_TOKENS: usize = 16_000;
/// Longer tokens (OCR noise, base64) are cut to this many characters, on both sides.
const MAX_TOKEN_CHARS: usize = 64;
/// PostgreSQL keeps at most 256 positions per lexeme.
const MAX_POSITIONS: usize = 255;
/// Snippet length, in characters, and how much of it comes before the match.
const SNIPPET_CHARS: usize = 180;
const SNIPPET_LEAD_CHARS: usize = 60;
/// Snippets look for the match in this much of the text (bytes).
const SNIPPET_SCAN_BYTES: usize = 256 << 10;

// ---- folding and tokens ----------------------------------------------------------------------

/// The search form of `text`: compatibility-decomposed, combining marks removed, lower case,
/// `đ`/`Đ` (and the look-alike `ð`/`Ð`, often typed for it) as `d`. `Đống Đa` → `dong da`.
pub fn fold(text: &str) -> String {
    text.nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'đ' | 'ð' => 'd',
            other => other,
        })
        .collect()
}

/// Characters that belong to a token; everything else separates tokens.
fn is_token_char(c: char) -> bool {
    c.is_alphanumeric() || is_combining_mark(c)
}

/// The tokens of `text` with their byte offsets in it.
fn token_spans(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut rest = text.char_indices().peekable();
    std::iter::from_fn(move || {
        while let Some(&(_, c)) = rest.peek() {
            if is_token_char(c) {
                break;
            }
            rest.next();
        }
        let (start, _) = *rest.peek()?;
        let mut end = start;
        while let Some(&(i, c)) = rest.peek() {
            if !is_token_char(c) {
                break;
            }
            end = i + c.len_utf8();
            rest.next();
        }
        Some((start, &text[start..end]))
    })
}

/// One token in its two search forms.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    /// Folded: what diacritic-insensitive matching compares.
    folded: String,
    /// Lower-case NFC, accents kept.
    exact: String,
}

impl Term {
    /// `None` for a token that folds to nothing (a lone combining mark).
    fn of(token: &str) -> Option<Term> {
        let folded: String = fold(token)
            .chars()
            .filter(|c| is_token_char(*c))
            .take(MAX_TOKEN_CHARS)
            .collect();
        if folded.is_empty() {
            return None;
        }
        let exact: String = token
            .nfc()
            .flat_map(char::to_lowercase)
            .take(MAX_TOKEN_CHARS)
            .collect();
        Some(Term { folded, exact })
    }

    /// Whether the accents matter: the exact form differs from the folded one.
    fn is_accented(&self) -> bool {
        self.exact != self.folded
    }
}

/// Whether `token` folds to `folded` (as [`Term::of`] would), without allocating.
fn folds_to(token: &str, folded: &str) -> bool {
    token
        .nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'đ' | 'ð' => 'd',
            other => other,
        })
        .filter(|c| is_token_char(*c))
        .take(MAX_TOKEN_CHARS)
        .eq(folded.chars())
}

/// Whether `token`'s exact form (as [`Term::of`] makes it) is `exact`, without allocating.
fn same_exact(token: &str, exact: &str) -> bool {
    token
        .nfc()
        .flat_map(char::to_lowercase)
        .take(MAX_TOKEN_CHARS)
        .eq(exact.chars())
}

/// The terms of `text`, in order.
fn terms(text: &str) -> impl Iterator<Item = Term> + '_ {
    token_spans(text).filter_map(|(_, token)| Term::of(token))
}

/// Folded tokens joined by single spaces: the key of free-text filters (`Hộ tịch` → `ho tich`).
fn folded_key(text: &str) -> String {
    terms(text).map(|t| t.folded).collect::<Vec<_>>().join(" ")
}

/// The normalized key of a document number and symbol: folded, without spaces, any dash as
/// `-`. `12/QĐ-UBND` and `12/qd-ubnd` → `12/qd-ubnd`.
pub fn code_key(text: &str) -> String {
    fold(text)
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '\u{2010}'..='\u{2015}' | '\u{2212}' => '-',
            other => other,
        })
        .collect()
}

/// The number key of `code_number` + `code_notation` (`12` + `QĐ-UBND`).
fn number_key(number: Option<&str>, notation: Option<&str>) -> Option<String> {
    match (number, notation) {
        (Some(n), Some(s)) => Some(code_key(&format!("{n}/{s}"))),
        (Some(n), None) => Some(code_key(n)),
        (None, _) => None,
    }
}

// ---- the index entry -------------------------------------------------------------------------

/// What one document contributes to the index, in each backend's form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct IndexText {
    /// SQLite FTS5 columns.
    text: String,
    agency: String,
    signer: String,
    /// PostgreSQL `tsvector` literal.
    tsvector: String,
}

impl IndexText {
    /// `main` sections (metadata first, then the OCR text), the issuing organ and the signer.
    fn build(main: &[&str], agency: &str, signer: &[&str]) -> IndexText {
        let mut main_terms: Vec<Term> = Vec::new();
        for section in main {
            let room = MAX_INDEXED_TOKENS.saturating_sub(main_terms.len());
            main_terms.extend(terms(section).take(room));
        }
        let agency_terms: Vec<Term> = terms(agency).collect();
        let signer_terms: Vec<Term> = signer.iter().flat_map(|s| terms(s)).collect();
        let accented: BTreeSet<&str> = main_terms
            .iter()
            .chain(&agency_terms)
            .chain(&signer_terms)
            .filter(|t| t.is_accented())
            .map(|t| t.exact.as_str())
            .collect();

        let joined = |terms: &[Term]| {
            terms
                .iter()
                .map(|t| t.folded.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let mut text = joined(&main_terms);
        for word in &accented {
            text.push(' ');
            text.push_str(word);
        }

        // Positions: the main text from 1, then each section after a gap, so that a phrase
        // never runs from one section into the next.
        let mut positions: std::collections::BTreeMap<&str, Vec<usize>> =
            std::collections::BTreeMap::new();
        let mut next = 1;
        for section in [&main_terms, &agency_terms, &signer_terms] {
            for term in section {
                let at = positions.entry(term.folded.as_str()).or_default();
                if at.len() < MAX_POSITIONS {
                    at.push(next);
                }
                next += 1;
            }
            next += 1;
        }
        let mut tsvector = String::new();
        let mut push = |lexeme: &str, at: Option<&[usize]>| {
            if !tsvector.is_empty() {
                tsvector.push(' ');
            }
            push_lexeme(&mut tsvector, lexeme);
            if let Some(at) = at {
                let list: Vec<String> = at.iter().map(usize::to_string).collect();
                tsvector.push(':');
                tsvector.push_str(&list.join(","));
            }
        };
        for (lexeme, at) in &positions {
            push(lexeme, Some(at));
        }
        for word in &accented {
            push(word, None);
        }
        // The filter sections once more as tagged lexemes (`agency:dong`), so that the GIN
        // index finds `--agency`/`--signer` words directly; weight-restricted lexemes would
        // be rechecked row by row.
        let tagged: BTreeSet<String> = agency_terms
            .iter()
            .map(|t| format!("{AGENCY_TAG}{}", t.folded))
            .chain(
                signer_terms
                    .iter()
                    .map(|t| format!("{SIGNER_TAG}{}", t.folded)),
            )
            .collect();
        for word in &tagged {
            push(word, None);
        }
        IndexText {
            text,
            agency: joined(&agency_terms),
            signer: joined(&signer_terms),
            tsvector,
        }
    }
}

/// Prefixes of the PostgreSQL lexemes of the filter sections; `:` never occurs in a token.
const AGENCY_TAG: &str = "agency:";
const SIGNER_TAG: &str = "signer:";

/// A quoted `tsvector`/`tsquery` lexeme. Tokens hold only letters, digits and marks; the
/// escaping is for safety, not need.
fn push_lexeme(out: &mut String, lexeme: &str) {
    out.push('\'');
    for c in lexeme.chars() {
        if c == '\'' || c == '\\' {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
}

// ---- queries ---------------------------------------------------------------------------------

/// Signature status of a document's current content, from its newest verification report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureStatus {
    /// Verified: the content has no signature.
    Unsigned,
    /// TOTAL-PASSED.
    Valid,
    /// TOTAL-FAILED.
    Invalid,
    /// INDETERMINATE.
    Indeterminate,
    /// The current content has not been verified yet.
    Unverified,
}

impl SignatureStatus {
    pub const ALL: [SignatureStatus; 5] = [
        SignatureStatus::Unsigned,
        SignatureStatus::Valid,
        SignatureStatus::Invalid,
        SignatureStatus::Indeterminate,
        SignatureStatus::Unverified,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SignatureStatus::Unsigned => "unsigned",
            SignatureStatus::Valid => "valid",
            SignatureStatus::Invalid => "invalid",
            SignatureStatus::Indeterminate => "indeterminate",
            SignatureStatus::Unverified => "unverified",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            SignatureStatus::Unsigned => "không có chữ ký",
            SignatureStatus::Valid => "chữ ký hợp lệ",
            SignatureStatus::Invalid => "chữ ký không hợp lệ",
            SignatureStatus::Indeterminate => "chưa xác định được",
            SignatureStatus::Unverified => "chưa kiểm tra",
        }
    }

    fn of_report(indication: &str, signatures: i64) -> Self {
        match indication {
            _ if signatures == 0 => SignatureStatus::Unsigned,
            "TOTAL-PASSED" => SignatureStatus::Valid,
            "TOTAL-FAILED" => SignatureStatus::Invalid,
            _ => SignatureStatus::Indeterminate,
        }
    }
}

/// Order of the results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchSort {
    /// Newest stored first (exact-accent matches first when the query has accents).
    #[default]
    Newest,
    /// Best match first (`bm25` / `ts_rank`) among the newest [`RANK_CANDIDATES`] matches.
    Relevance,
}

/// A search: free text (may be empty) and filters, all of which must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// Words, diacritics optional; `"…"` keeps words together as a phrase.
    pub text: String,
    /// National procedure code (1.001193) of the document's dossier.
    pub procedure: Option<String>,
    /// Lĩnh vực of the procedure, diacritics optional (`ho tich`).
    pub field: Option<String>,
    /// A dossier code, or part of one (`-260105-`).
    pub dossier: Option<String>,
    /// Số và ký hiệu (`12/QĐ-UBND`), a number alone (`12`) or a symbol alone (`QĐ-UBND`).
    pub number: Option<String>,
    /// Words of the issuing organ's name.
    pub agency: Option<String>,
    /// Words of the signer's name or position.
    pub signer: Option<String>,
    pub issued_from: Option<Date>,
    pub issued_to: Option<Date>,
    /// Days the documents were stored, in Vietnam time.
    pub stored_from: Option<Date>,
    pub stored_to: Option<Date>,
    pub role: Option<DocumentRole>,
    pub signature: Option<SignatureStatus>,
    pub sort: SearchSort,
    /// 1 to [`MAX_LIMIT`].
    pub limit: u32,
    /// Up to [`MAX_OFFSET`].
    pub offset: u32,
    /// Also count the matches (up to [`COUNT_CAP`]).
    pub count: bool,
}

impl Default for SearchQuery {
    fn default() -> Self {
        SearchQuery {
            text: String::new(),
            procedure: None,
            field: None,
            dossier: None,
            number: None,
            agency: None,
            signer: None,
            issued_from: None,
            issued_to: None,
            stored_from: None,
            stored_to: None,
            role: None,
            signature: None,
            sort: SearchSort::Newest,
            limit: 20,
            offset: 0,
            count: false,
        }
    }
}

impl SearchQuery {
    /// A search for `text` with the default page.
    pub fn text(text: &str) -> SearchQuery {
        SearchQuery {
            text: text.to_owned(),
            ..SearchQuery::default()
        }
    }
}

/// A search as a query string or a web form sends it (`GET /api/v1/search`, the archive
/// page): every value as text, an empty one meaning absent (forms send empty fields).
/// [`SearchQuery::from_params`] reads it; the CLI has its own typed flags but the same
/// date forms ([`parse_day`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// The words ([`SearchQuery::text`]).
    pub q: Option<String>,
    pub procedure: Option<String>,
    pub field: Option<String>,
    pub dossier: Option<String>,
    pub number: Option<String>,
    pub agency: Option<String>,
    pub signer: Option<String>,
    /// A [`DocumentRole`] name (`result`, `input`, …).
    pub role: Option<String>,
    /// A [`SignatureStatus`] name (`valid`, `invalid`, …).
    pub signature: Option<String>,
    /// Days as `YYYY-MM-DD` or `dd/mm/yyyy`.
    pub issued_from: Option<String>,
    pub issued_to: Option<String>,
    pub stored_from: Option<String>,
    pub stored_to: Option<String>,
    /// `newest` (default) or `relevance`.
    pub sort: Option<String>,
    /// 1-based page number (default 1).
    pub page: Option<String>,
    /// Results per page, 1 to [`MAX_LIMIT`] (default 20).
    pub per_page: Option<String>,
    /// `true` (or `1`, `on`) to count the matches.
    pub count: Option<String>,
}

/// A day as people type it: `YYYY-MM-DD`, or `dd/mm/yyyy` as Vietnamese forms write it.
pub fn parse_day(text: &str) -> Option<Date> {
    let text = text.trim();
    Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .or_else(|_| {
        Date::parse(
            text,
            time::macros::format_description!("[day]/[month]/[year]"),
        )
    })
    .ok()
}

impl SearchQuery {
    /// The search `params` describe (module documentation of [`SearchParams`]); the page
    /// becomes `offset = (page − 1) × per_page`.
    ///
    /// # Errors
    /// [`ArchiveError::FieldInvalid`] naming the parameter: an unknown role, signature status
    /// or sort, a day that is not one, a page or page size that is not a positive number
    /// (limits beyond that are checked by [`Archive::search`]).
    pub fn from_params(params: &SearchParams) -> Result<SearchQuery, ArchiveError> {
        fn given(value: &Option<String>) -> Option<&str> {
            value.as_deref().map(str::trim).filter(|v| !v.is_empty())
        }
        fn invalid(field: &'static str, value: &str, reason: String) -> ArchiveError {
            ArchiveError::FieldInvalid {
                field,
                value: value.chars().take(100).collect(),
                reason,
            }
        }
        fn names<T: Copy>(all: &[T], name: fn(T) -> &'static str) -> String {
            all.iter().map(|v| name(*v)).collect::<Vec<_>>().join(", ")
        }
        let owned = |value: &Option<String>| given(value).map(str::to_owned);
        let day = |field: &'static str, value: &Option<String>| {
            given(value)
                .map(|text| {
                    // Years as `archive::stats` takes them: the midnight of -9999-01-01 in
                    // Vietnam is no time in UTC.
                    parse_day(text)
                        .filter(|day| (1900..=9999).contains(&day.year()))
                        .ok_or_else(|| {
                            invalid(
                                field,
                                text,
                                "expected YYYY-MM-DD or dd/mm/yyyy, from 1900 to 9999".to_owned(),
                            )
                        })
                })
                .transpose()
        };
        let number = |field: &'static str, value: &Option<String>, default: u32| {
            given(value).map_or(Ok(default), |text| {
                text.parse::<u32>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    invalid(field, text, "expected a whole number from 1".to_owned())
                })
            })
        };
        let role = given(&params.role)
            .map(|text| {
                DocumentRole::parse(text).ok_or_else(|| {
                    invalid(
                        "role",
                        text,
                        format!(
                            "expected one of {}",
                            names(&DocumentRole::ALL, DocumentRole::as_str)
                        ),
                    )
                })
            })
            .transpose()?;
        let signature = given(&params.signature)
            .map(|text| {
                SignatureStatus::parse(text).ok_or_else(|| {
                    invalid(
                        "signature",
                        text,
                        format!(
                            "expected one of {}",
                            names(&SignatureStatus::ALL, SignatureStatus::as_str)
                        ),
                    )
                })
            })
            .transpose()?;
        let sort = match given(&params.sort) {
            None | Some("newest") => SearchSort::Newest,
            Some("relevance") => SearchSort::Relevance,
            Some(other) => {
                return Err(invalid(
                    "sort",
                    other,
                    "expected newest or relevance".to_owned(),
                ));
            }
        };
        let count = match given(&params.count) {
            None | Some("false" | "0" | "off") => false,
            Some("true" | "1" | "on") => true,
            Some(other) => {
                return Err(invalid("count", other, "expected true or false".to_owned()));
            }
        };
        let page = number("page", &params.page, 1)?;
        let limit = number("per_page", &params.per_page, SearchQuery::default().limit)?;
        let offset = u64::from(page - 1) * u64::from(limit);
        let offset = u32::try_from(offset)
            .ok()
            .filter(|offset| *offset <= MAX_OFFSET)
            .ok_or_else(|| {
                invalid(
                    "page",
                    &page.to_string(),
                    format!(
                        "results beyond the first {MAX_OFFSET} are not listed; narrow the search"
                    ),
                )
            })?;
        Ok(SearchQuery {
            text: params.q.clone().unwrap_or_default(),
            procedure: owned(&params.procedure),
            field: owned(&params.field),
            dossier: owned(&params.dossier),
            number: owned(&params.number),
            agency: owned(&params.agency),
            signer: owned(&params.signer),
            issued_from: day("issued_from", &params.issued_from)?,
            issued_to: day("issued_to", &params.issued_to)?,
            stored_from: day("stored_from", &params.stored_from)?,
            stored_to: day("stored_to", &params.stored_to)?,
            role,
            signature,
            sort,
            limit,
            offset,
            count,
        })
    }
}

/// One result. Never carries the document's full text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    #[serde(rename = "id")]
    pub document_id: i64,
    /// The newest version, the one that was matched.
    pub version_id: i64,
    pub sha256: String,
    pub file_name: String,
    pub dossier_code: Option<String>,
    /// Type and number with the trích yếu, else the file name.
    pub title: String,
    /// A few words around the first match, whitespace collapsed.
    pub snippet: String,
    /// Byte ranges `[start, end)` of the matched words in `snippet`.
    pub highlights: Vec<(usize, usize)>,
    /// 0–1, computed the same way on both backends: exact accents and words in the title
    /// count; the order is given by the sort, not by this number.
    pub score: f64,
    /// True when every accented word of the query is in the document as typed.
    pub exact_accents: bool,
    pub role: DocumentRole,
    #[serde(serialize_with = "iso_day")]
    pub issued_date: Option<Date>,
    #[serde(with = "super::calendar::vn_time")]
    pub stored_at: OffsetDateTime,
    pub signature_status: SignatureStatus,
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchPage {
    pub items: Vec<SearchHit>,
    pub offset: u32,
    pub limit: u32,
    /// More results follow this page.
    pub has_more: bool,
    /// Number of matches, when asked for; at most [`COUNT_CAP`].
    pub total: Option<u64>,
    /// `total` reached the cap: there are at least that many.
    pub total_capped: bool,
}

/// The query text as words: each a run of tokens that must appear together (a quoted phrase
/// or a word like `12/QĐ-UBND`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct ParsedText {
    units: Vec<Vec<Term>>,
    /// Accented forms the exact tier requires, once each.
    accented: Vec<String>,
}

impl ParsedText {
    fn parse(text: &str) -> ParsedText {
        let mut words: Vec<String> = Vec::new();
        let mut current = String::new();
        let mut in_phrase = false;
        for c in text.chars() {
            if c == '"' {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
                in_phrase = !in_phrase;
            } else if c.is_whitespace() && !in_phrase {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            } else {
                current.push(c);
            }
        }
        if !current.is_empty() {
            words.push(current);
        }
        let mut parsed = ParsedText::default();
        for word in &words {
            let unit: Vec<Term> = terms(word).collect();
            if unit.is_empty() {
                continue;
            }
            for term in &unit {
                if term.is_accented() && !parsed.accented.contains(&term.exact) {
                    parsed.accented.push(term.exact.clone());
                }
            }
            parsed.units.push(unit);
        }
        parsed
    }
}

/// Which part of the matches a statement reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tier {
    /// Every folded match.
    All,
    /// Matches that also have every accented word as typed.
    Exact,
    /// Matches missing at least one of them.
    Folded,
}

/// The full-text part of a search, before it is written for a backend.
#[derive(Debug, Clone, Default)]
struct TextMatch {
    text: ParsedText,
    agency: Vec<Term>,
    signer: Vec<Term>,
}

impl TextMatch {
    fn is_empty(&self) -> bool {
        self.text.units.is_empty() && self.agency.is_empty() && self.signer.is_empty()
    }

    fn quoted_phrase(unit: &[Term]) -> String {
        let words: Vec<&str> = unit.iter().map(|t| t.folded.as_str()).collect();
        format!("\"{}\"", words.join(" "))
    }

    /// The FTS5 MATCH expression.
    fn fts5(&self, tier: Tier) -> String {
        let mut parts: Vec<String> = Vec::new();
        if !self.text.units.is_empty() {
            let main: Vec<String> = self
                .text
                .units
                .iter()
                .map(|u| Self::quoted_phrase(u))
                .collect();
            let main = main.join(" ");
            let accented: Vec<String> = self
                .text
                .accented
                .iter()
                .map(|a| format!("\"{a}\""))
                .collect();
            let accented = accented.join(" ");
            parts.push(match tier {
                _ if accented.is_empty() => format!("({main})"),
                Tier::All => format!("({main})"),
                Tier::Exact => format!("({main}) AND ({accented})"),
                Tier::Folded => format!("(({main}) NOT ({accented}))"),
            });
        }
        for (column, words) in [("agency", &self.agency), ("signer", &self.signer)] {
            for term in words {
                parts.push(format!("{column} : \"{}\"", term.folded));
            }
        }
        parts.join(" AND ")
    }

    /// The `tsquery` literal.
    fn tsquery(&self, tier: Tier) -> String {
        let lexeme = |word: &str, tag: &str| {
            let mut out = String::new();
            push_lexeme(&mut out, &format!("{tag}{word}"));
            out
        };
        let mut parts: Vec<String> = Vec::new();
        if !self.text.units.is_empty() {
            let main: Vec<String> = self
                .text
                .units
                .iter()
                .map(|unit| {
                    let words: Vec<String> = unit.iter().map(|t| lexeme(&t.folded, "")).collect();
                    format!("({})", words.join(" <-> "))
                })
                .collect();
            let main = main.join(" & ");
            let accented: Vec<String> = self.text.accented.iter().map(|a| lexeme(a, "")).collect();
            let accented = accented.join(" & ");
            parts.push(match tier {
                _ if accented.is_empty() => format!("({main})"),
                Tier::All => format!("({main})"),
                Tier::Exact => format!("({main}) & ({accented})"),
                Tier::Folded => format!("({main}) & !({accented})"),
            });
        }
        for (tag, words) in [(AGENCY_TAG, &self.agency), (SIGNER_TAG, &self.signer)] {
            for term in words {
                parts.push(lexeme(&term.folded, tag));
            }
        }
        parts.join(" & ")
    }
}

/// A bound value.
#[derive(Debug, Clone)]
pub(super) enum Arg {
    Text(String),
    Int(i64),
    Date(Date),
    Time(OffsetDateTime),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dialect {
    Sqlite,
    Postgres,
}

/// The filters on `search_entries` (identical SQL on both backends), already validated.
#[derive(Debug, Clone, Default)]
struct Filters {
    clauses: Vec<(&'static str, Arg)>,
}

impl Filters {
    fn of(query: &SearchQuery) -> Result<Filters, ArchiveError> {
        let mut f = Filters::default();
        let text = |field: &'static str,
                    value: &Option<String>|
         -> Result<Option<String>, ArchiveError> {
            let Some(value) = value else { return Ok(None) };
            let value = value.trim();
            if value.is_empty() {
                return Ok(None);
            }
            if value.chars().count() > 200 || value.chars().any(char::is_control) {
                return Err(ArchiveError::FieldInvalid {
                    field,
                    value: value.chars().take(200).collect(),
                    reason: "expected at most 200 characters without control characters".to_owned(),
                });
            }
            Ok(Some(value.to_owned()))
        };
        if let Some(code) = text("procedure", &query.procedure)? {
            f.clauses.push(("e.procedure_code = ", Arg::Text(code)));
        }
        if let Some(field) = text("field", &query.field)? {
            f.clauses
                .push(("e.field_key = ", Arg::Text(folded_key(&field))));
        }
        if let Some(dossier) = text("dossier", &query.dossier)? {
            match DossierCode::parse(&dossier) {
                Ok(code) => f
                    .clauses
                    .push(("e.dossier_code = ", Arg::Text(code.as_str().to_owned()))),
                Err(upper) => {
                    let escaped: String = upper
                        .chars()
                        .flat_map(|c| match c {
                            '%' | '_' | '\\' => vec!['\\', c],
                            c => vec![c],
                        })
                        .collect();
                    f.clauses
                        .push(("e.dossier_code LIKE ", Arg::Text(format!("%{escaped}%"))));
                }
            }
        }
        if let Some(number) = text("number", &query.number)? {
            let key = code_key(&number);
            if key.contains('/') {
                f.clauses.push(("e.number_key = ", Arg::Text(key)));
            } else if !key.is_empty() && key.chars().all(|c| c.is_ascii_digit()) {
                // `12` alone: every 12/…; '0' follows '/' in byte order.
                f.clauses
                    .push(("e.number_key >= ", Arg::Text(format!("{key}/"))));
                f.clauses
                    .push(("e.number_key < ", Arg::Text(format!("{key}0"))));
            } else {
                f.clauses.push(("e.notation_key = ", Arg::Text(key)));
            }
        }
        if let Some(day) = query.issued_from {
            f.clauses.push(("e.issued_date >= ", Arg::Date(day)));
        }
        if let Some(day) = query.issued_to {
            f.clauses.push(("e.issued_date <= ", Arg::Date(day)));
        }
        let vn_midnight = |day: Date| {
            day.midnight()
                .assume_offset(super::calendar::VIETNAM)
                .to_offset(time::UtcOffset::UTC)
        };
        if let Some(day) = query.stored_from {
            f.clauses
                .push(("e.stored_at >= ", Arg::Time(vn_midnight(day))));
        }
        if let Some(day) = query.stored_to {
            let next = day.next_day().unwrap_or(day);
            f.clauses
                .push(("e.stored_at < ", Arg::Time(vn_midnight(next))));
        }
        if let Some(role) = query.role {
            f.clauses
                .push(("e.role = ", Arg::Text(role.as_str().to_owned())));
        }
        if let Some(status) = query.signature {
            f.clauses.push((
                "e.signature_status = ",
                Arg::Text(status.as_str().to_owned()),
            ));
        }
        Ok(f)
    }
}

/// SQL text and its arguments, numbered `$1…` in the order they appear (SQLite numbers
/// `$N` parameters by N, PostgreSQL too).
#[derive(Debug, Clone, Default)]
pub(super) struct Statement {
    sql: String,
    args: Vec<Arg>,
}

impl Statement {
    fn arg(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }
}

const HIT_COLUMNS: &str = "e.document_id, e.version_id, e.role, e.dossier_code, e.issued_date, \
                           e.stored_at, e.signature_status";

/// How a statement is written: for which backend, and on SQLite which side drives the join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shape {
    dialect: Dialect,
    /// SQLite: read the few entries the filters select and look each up in the FTS index,
    /// instead of walking the text matches newest first and checking the filters. SQLite's
    /// planner has no statistics about FTS5 matches, so the choice is made here, from a
    /// capped count of the filter matches; PostgreSQL's planner decides by itself.
    filters_first: bool,
}

/// What a statement selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Select {
    Hits,
    /// Hits with `score`, for relevance order.
    Ranked,
    /// Only counts.
    Count,
}

/// `SELECT … FROM … WHERE …` of the matches (no order, no limit).
fn select_matches(
    shape: Shape,
    text: Option<(&TextMatch, Tier)>,
    filters: &Filters,
    select: Select,
) -> Statement {
    let mut s = Statement::default();
    let mut conditions: Vec<String> = Vec::new();
    let ranked = select == Select::Ranked;
    let columns = if select == Select::Count {
        "1"
    } else {
        HIT_COLUMNS
    };
    match (shape.dialect, text) {
        (_, None) => {
            s.sql = format!("SELECT {columns} FROM search_entries e");
        }
        (Dialect::Sqlite, Some((m, tier))) => {
            let score = if ranked {
                ", bm25(search_fts) AS score"
            } else {
                ""
            };
            // CROSS JOIN: SQLite keeps this table order.
            let tables = if shape.filters_first {
                "search_entries e CROSS JOIN search_fts ON search_fts.rowid = e.document_id"
            } else {
                "search_fts CROSS JOIN search_entries e ON e.document_id = search_fts.rowid"
            };
            s.sql = format!("SELECT {columns}{score} FROM {tables}");
            let p = s.arg(Arg::Text(m.fts5(tier)));
            conditions.push(format!("search_fts MATCH {p}"));
        }
        (Dialect::Postgres, Some((m, tier))) => {
            let p = s.arg(Arg::Text(m.tsquery(tier)));
            let score = if ranked {
                format!(", ts_rank(e.tsv, {p}::tsquery) AS score")
            } else {
                String::new()
            };
            s.sql = format!("SELECT {columns}{score} FROM search_entries e");
            conditions.push(format!("e.tsv @@ {p}::tsquery"));
        }
    }
    for (clause, arg) in &filters.clauses {
        let p = s.arg(arg.clone());
        // SQLite without statistics walks the (role, document_id) index newest first even
        // when a date range or a code selects far fewer entries; `+` keeps these
        // few-valued columns out of index choice when another filter is there.
        let weak = clause.starts_with("e.role ") || clause.starts_with("e.signature_status ");
        if shape.dialect == Dialect::Sqlite && weak && filters.clauses.len() > 1 {
            conditions.push(format!("+{clause}{p}"));
            continue;
        }
        let escape = if clause.ends_with("LIKE ") {
            " ESCAPE '\\'"
        } else {
            ""
        };
        conditions.push(format!("{clause}{p}{escape}"));
    }
    if !conditions.is_empty() {
        s.sql.push_str(" WHERE ");
        s.sql.push_str(&conditions.join(" AND "));
    }
    s
}

/// The order key of the newest-first lists: FTS5 walks its rowids (the document ids) in
/// order, so the ORDER BY must name them to be satisfied without sorting.
fn newest_first(shape: Shape, has_text: bool) -> &'static str {
    if shape.dialect == Dialect::Sqlite && has_text && !shape.filters_first {
        " ORDER BY search_fts.rowid DESC"
    } else {
        " ORDER BY e.document_id DESC"
    }
}

/// A page of matches of one tier.
fn page_statement(
    shape: Shape,
    text: Option<(&TextMatch, Tier)>,
    filters: &Filters,
    sort: SearchSort,
    limit: u32,
    offset: u32,
) -> Statement {
    let ranked = sort == SearchSort::Relevance && text.is_some();
    let select = if ranked { Select::Ranked } else { Select::Hits };
    let mut s = select_matches(shape, text, filters, select);
    s.sql.push_str(newest_first(shape, text.is_some()));
    if ranked {
        let candidates = s.arg(Arg::Int(i64::from(RANK_CANDIDATES)));
        let better = match shape.dialect {
            Dialect::Sqlite => "score ASC",
            Dialect::Postgres => "score DESC",
        };
        s.sql = format!(
            "SELECT document_id, version_id, role, dossier_code, issued_date, stored_at, \
             signature_status FROM ({} LIMIT {candidates}) ranked \
             ORDER BY {better}, document_id DESC",
            s.sql
        );
    }
    let limit = s.arg(Arg::Int(i64::from(limit)));
    let offset = s.arg(Arg::Int(i64::from(offset)));
    s.sql.push_str(&format!(" LIMIT {limit} OFFSET {offset}"));
    s
}

/// `count(*)` of the matches, stopping at `cap + 1`.
fn count_statement(
    shape: Shape,
    text: Option<(&TextMatch, Tier)>,
    filters: &Filters,
    cap: u64,
) -> Statement {
    let mut s = select_matches(shape, text, filters, Select::Count);
    let cap = s.arg(Arg::Int(i64::try_from(cap + 1).unwrap_or(i64::MAX)));
    s.sql = format!("SELECT count(*) FROM ({} LIMIT {cap}) counted", s.sql);
    s
}

// ---- statements ------------------------------------------------------------------------------

/// A row of `search_entries` as a page reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct HitRow {
    document_id: i64,
    version_id: i64,
    role: String,
    dossier_code: Option<String>,
    issued_date: Option<Date>,
    stored_at: OffsetDateTime,
    signature_status: String,
}

/// What reindexing reads besides the newest version.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct SourceRow {
    role: String,
    created_at: OffsetDateTime,
    dossier_code: Option<String>,
    procedure_code: Option<String>,
    field: Option<String>,
}

/// What a page shows of a hit's version.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct PageVersion {
    version_id: i64,
    sha256: String,
    file_name: String,
    type_name: Option<String>,
    code_number: Option<String>,
    code_notation: Option<String>,
    subject: Option<String>,
    description: Option<String>,
    ocr_text: Option<String>,
    confidentiality: Option<String>,
}

/// The filter columns of one entry.
#[derive(Debug, Clone)]
pub(super) struct EntryRow {
    document_id: i64,
    version_id: i64,
    role: String,
    dossier_code: Option<String>,
    procedure_code: Option<String>,
    field_key: Option<String>,
    number_key: Option<String>,
    notation_key: Option<String>,
    issued_date: Option<Date>,
    stored_at: OffsetDateTime,
    signature_status: &'static str,
}

/// The statements of the search index, on an open transaction of either backend.
pub(super) trait SearchTx: DocumentTx {
    const DIALECT: Dialect;
    async fn search_source(&mut self, document_id: i64) -> Result<Option<SourceRow>, sqlx::Error>;
    /// Indication and signature count of the newest report on content `sha256` of the
    /// document.
    async fn newest_report(
        &mut self,
        document_id: i64,
        sha256: &str,
    ) -> Result<Option<(String, i64)>, sqlx::Error>;
    async fn write_entry(&mut self, row: &EntryRow, text: &IndexText) -> Result<(), sqlx::Error>;
    async fn hit_rows(&mut self, statement: &Statement) -> Result<Vec<HitRow>, sqlx::Error>;
    async fn count_rows(&mut self, statement: &Statement) -> Result<i64, sqlx::Error>;
    async fn page_versions(
        &mut self,
        statement: &Statement,
    ) -> Result<Vec<PageVersion>, sqlx::Error>;
}

macro_rules! bind_all {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match arg {
                Arg::Text(v) => query.bind(v.clone()),
                Arg::Int(v) => query.bind(*v),
                Arg::Date(v) => query.bind(*v),
                Arg::Time(v) => query.bind(*v),
            };
        }
        query
    }};
}

/// The statements both backends share; `write_entry` is written per backend below.
macro_rules! impl_search_reads {
    () => {
        async fn search_source(
            &mut self,
            document_id: i64,
        ) -> Result<Option<SourceRow>, sqlx::Error> {
            sqlx::query_as(
                "SELECT d.role, d.created_at, s.code AS dossier_code, p.code AS procedure_code,
                     p.field
                 FROM documents d
                 LEFT JOIN dossiers s ON s.dossier_id = d.dossier_id
                 LEFT JOIN procedures p ON p.procedure_id = s.procedure_id
                 WHERE d.document_id = $1",
            )
            .bind(document_id)
            .fetch_optional(&mut **self)
            .await
        }

        async fn newest_report(
            &mut self,
            document_id: i64,
            sha256: &str,
        ) -> Result<Option<(String, i64)>, sqlx::Error> {
            sqlx::query_as(
                "SELECT r.indication,
                     (SELECT count(*) FROM signatures s WHERE s.report_id = r.report_id)
                 FROM verification_reports r
                 JOIN document_versions v ON v.version_id = r.version_id
                 WHERE v.document_id = $1 AND v.sha256 = $2
                 ORDER BY r.report_id DESC LIMIT 1",
            )
            .bind(document_id)
            .bind(sha256)
            .fetch_optional(&mut **self)
            .await
        }

        async fn hit_rows(&mut self, statement: &Statement) -> Result<Vec<HitRow>, sqlx::Error> {
            // The text is assembled from this module's fixed fragments; every value is bound.
            let query = sqlx::query_as(sqlx::AssertSqlSafe(statement.sql.clone()));
            bind_all!(query, &statement.args)
                .fetch_all(&mut **self)
                .await
        }

        async fn page_versions(
            &mut self,
            statement: &Statement,
        ) -> Result<Vec<PageVersion>, sqlx::Error> {
            let query = sqlx::query_as(sqlx::AssertSqlSafe(statement.sql.clone()));
            bind_all!(query, &statement.args)
                .fetch_all(&mut **self)
                .await
        }

        async fn count_rows(&mut self, statement: &Statement) -> Result<i64, sqlx::Error> {
            let query = sqlx::query_scalar(sqlx::AssertSqlSafe(statement.sql.clone()));
            bind_all!(query, &statement.args)
                .fetch_one(&mut **self)
                .await
        }
    };
}

/// Binds the filter columns of `row` after `$1…$n` of a statement that lists them in order.
macro_rules! bind_entry {
    ($query:expr, $row:expr) => {
        $query
            .bind($row.document_id)
            .bind($row.version_id)
            .bind(&$row.role)
            .bind(&$row.dossier_code)
            .bind(&$row.procedure_code)
            .bind(&$row.field_key)
            .bind(&$row.number_key)
            .bind(&$row.notation_key)
            .bind($row.issued_date)
            .bind($row.stored_at)
            .bind($row.signature_status)
    };
}

impl SearchTx for Transaction<'_, Sqlite> {
    const DIALECT: Dialect = Dialect::Sqlite;
    impl_search_reads!();

    async fn write_entry(&mut self, row: &EntryRow, text: &IndexText) -> Result<(), sqlx::Error> {
        let replaced = sqlx::query("DELETE FROM search_entries WHERE document_id = $1")
            .bind(row.document_id)
            .execute(&mut **self)
            .await?;
        // A contentless FTS5 table deletes by rowid only what it holds: delete only a row
        // that was indexed.
        if replaced.rows_affected() > 0 {
            sqlx::query("DELETE FROM search_fts WHERE rowid = $1")
                .bind(row.document_id)
                .execute(&mut **self)
                .await?;
        }
        bind_entry!(
            sqlx::query(
                "INSERT INTO search_entries (document_id, version_id, role, dossier_code,
                     procedure_code, field_key, number_key, notation_key, issued_date,
                     stored_at, signature_status)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            ),
            row
        )
        .execute(&mut **self)
        .await?;
        sqlx::query("INSERT INTO search_fts (rowid, text, agency, signer) VALUES ($1, $2, $3, $4)")
            .bind(row.document_id)
            .bind(&text.text)
            .bind(&text.agency)
            .bind(&text.signer)
            .execute(&mut **self)
            .await?;
        Ok(())
    }
}

impl SearchTx for Transaction<'_, Postgres> {
    const DIALECT: Dialect = Dialect::Postgres;
    impl_search_reads!();

    async fn write_entry(&mut self, row: &EntryRow, text: &IndexText) -> Result<(), sqlx::Error> {
        bind_entry!(
            sqlx::query(
                "INSERT INTO search_entries (document_id, version_id, role, dossier_code,
                     procedure_code, field_key, number_key, notation_key, issued_date,
                     stored_at, signature_status, tsv)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::tsvector)
                 ON CONFLICT (document_id) DO UPDATE SET version_id = EXCLUDED.version_id,
                     role = EXCLUDED.role, dossier_code = EXCLUDED.dossier_code,
                     procedure_code = EXCLUDED.procedure_code, field_key = EXCLUDED.field_key,
                     number_key = EXCLUDED.number_key, notation_key = EXCLUDED.notation_key,
                     issued_date = EXCLUDED.issued_date, stored_at = EXCLUDED.stored_at,
                     signature_status = EXCLUDED.signature_status, tsv = EXCLUDED.tsv",
            ),
            row
        )
        .bind(&text.tsvector)
        .execute(&mut **self)
        .await?;
        Ok(())
    }
}

/// Refreshes the search entry of `document_id` from its newest version, its dossier and
/// procedure, and the newest verification report of that version's content. Runs inside
/// the caller's write transaction, so the index never disagrees with the records.
pub(super) async fn reindex<T: SearchTx>(tx: &mut T, document_id: i64) -> Result<(), ArchiveError> {
    let source = tx
        .search_source(document_id)
        .await?
        .ok_or(ArchiveError::DocumentNotFound { document_id })?;
    let version =
        tx.latest_version_row(document_id)
            .await?
            .ok_or_else(|| ArchiveError::Corrupt {
                what: format!("document {document_id} has no version"),
            })?;
    let signature_status = match tx.newest_report(document_id, &version.sha256).await? {
        Some((indication, signatures)) => SignatureStatus::of_report(&indication, signatures),
        None => SignatureStatus::Unverified,
    };
    let row = EntryRow {
        document_id,
        version_id: version.version_id,
        role: source.role.clone(),
        dossier_code: source.dossier_code.clone(),
        procedure_code: source.procedure_code.clone(),
        field_key: source.field.as_deref().map(folded_key),
        number_key: number_key(
            version.code_number.as_deref(),
            version.code_notation.as_deref(),
        ),
        notation_key: version.code_notation.as_deref().map(code_key),
        issued_date: version.issued_date,
        stored_at: source.created_at,
        signature_status: signature_status.as_str(),
    };
    let number = number_display(
        version.code_number.as_deref(),
        version.code_notation.as_deref(),
    );
    let main = [
        version.type_name.as_deref().unwrap_or(""),
        number.as_deref().unwrap_or(""),
        version.subject.as_deref().unwrap_or(""),
        version.description.as_deref().unwrap_or(""),
        &version.file_name,
        source.dossier_code.as_deref().unwrap_or(""),
        version.ocr_text.as_deref().unwrap_or(""),
    ];
    let signer = [
        version.signer_name.as_deref().unwrap_or(""),
        version.signer_position.as_deref().unwrap_or(""),
    ];
    let text = IndexText::build(&main, version.organ_name.as_deref().unwrap_or(""), &signer);
    tx.write_entry(&row, &text).await?;
    Ok(())
}

/// `12/QĐ-UBND` as written.
fn number_display(number: Option<&str>, notation: Option<&str>) -> Option<String> {
    match (number, notation) {
        (Some(n), Some(s)) => Some(format!("{n}/{s}")),
        (Some(n), None) => Some(n.to_owned()),
        (None, Some(s)) => Some(s.to_owned()),
        (None, None) => None,
    }
}

// ---- running a search ------------------------------------------------------------------------

/// A validated query, ready to be written for a backend.
#[derive(Debug, Clone)]
struct Plan {
    text: TextMatch,
    /// The text had characters but no word in it (`*`, `"`): nothing can match.
    nothing: bool,
    filters: Filters,
    sort: SearchSort,
    limit: u32,
    offset: u32,
    count: bool,
}

impl Plan {
    fn of(query: &SearchQuery) -> Result<Plan, ArchiveError> {
        if query.limit == 0 || query.limit > MAX_LIMIT {
            return Err(ArchiveError::FieldInvalid {
                field: "limit",
                value: query.limit.to_string(),
                reason: format!("expected 1 to {MAX_LIMIT}"),
            });
        }
        if query.offset > MAX_OFFSET {
            return Err(ArchiveError::FieldInvalid {
                field: "offset",
                value: query.offset.to_string(),
                reason: format!("expected at most {MAX_OFFSET}; narrow the search instead"),
            });
        }
        if query.text.chars().count() > MAX_QUERY_CHARS {
            return Err(ArchiveError::FieldInvalid {
                field: "query",
                value: query.text.chars().take(40).collect(),
                reason: format!("expected at most {MAX_QUERY_CHARS} characters"),
            });
        }
        let text = ParsedText::parse(&query.text);
        if text.units.len() > MAX_QUERY_WORDS {
            return Err(ArchiveError::FieldInvalid {
                field: "query",
                value: query.text.chars().take(40).collect(),
                reason: format!("expected at most {MAX_QUERY_WORDS} words"),
            });
        }
        let nothing = text.units.is_empty() && !query.text.trim().is_empty();
        let words =
            |field: &'static str, value: &Option<String>| -> Result<Vec<Term>, ArchiveError> {
                let Some(value) = value else {
                    return Ok(Vec::new());
                };
                if value.chars().count() > 200 {
                    return Err(ArchiveError::FieldInvalid {
                        field,
                        value: value.chars().take(40).collect(),
                        reason: "expected at most 200 characters".to_owned(),
                    });
                }
                Ok(terms(value).take(MAX_QUERY_WORDS).collect())
            };
        let agency = words("agency", &query.agency)?;
        let signer = words("signer", &query.signer)?;
        // A filter given with no word in it (`--agency "*"`) matches nothing.
        let given = |value: &Option<String>| value.as_deref().is_some_and(|v| !v.trim().is_empty());
        let nothing = nothing
            || (given(&query.agency) && agency.is_empty())
            || (given(&query.signer) && signer.is_empty());
        Ok(Plan {
            text: TextMatch {
                text,
                agency,
                signer,
            },
            nothing,
            filters: Filters::of(query)?,
            sort: query.sort,
            limit: query.limit,
            offset: query.offset,
            count: query.count,
        })
    }
}

/// The rows of one page and whether more follow, with each row's tier.
async fn choose_shape<T: SearchTx>(tx: &mut T, plan: &Plan) -> Result<Shape, ArchiveError> {
    let mut shape = Shape {
        dialect: T::DIALECT,
        filters_first: false,
    };
    if shape.dialect == Dialect::Sqlite && !plan.text.is_empty() && !plan.filters.clauses.is_empty()
    {
        let selected = tx
            .count_rows(&count_statement(
                shape,
                None,
                &plan.filters,
                FILTERS_FIRST_CAP,
            ))
            .await?;
        shape.filters_first = u64::try_from(selected).unwrap_or(u64::MAX) <= FILTERS_FIRST_CAP;
    }
    Ok(shape)
}

/// The rows of one page and whether more follow, with each row's tier.
async fn page_rows<T: SearchTx>(
    tx: &mut T,
    plan: &Plan,
    shape: Shape,
) -> Result<(Vec<(HitRow, bool)>, bool), ArchiveError> {
    let (limit, offset) = (plan.limit, plan.offset);
    // One more than the page tells whether another page follows.
    let fetch = limit + 1;
    if plan.text.is_empty() {
        let rows = tx
            .hit_rows(&page_statement(
                shape,
                None,
                &plan.filters,
                plan.sort,
                fetch,
                offset,
            ))
            .await?;
        return Ok(split_page(
            rows.into_iter().map(|r| (r, true)).collect(),
            limit,
        ));
    }
    let m = &plan.text;
    if m.text.accented.is_empty() {
        let rows = tx
            .hit_rows(&page_statement(
                shape,
                Some((m, Tier::All)),
                &plan.filters,
                plan.sort,
                fetch,
                offset,
            ))
            .await?;
        return Ok(split_page(
            rows.into_iter().map(|r| (r, true)).collect(),
            limit,
        ));
    }
    // Exact-accent tier first, then the rest; the second is read only when the first
    // does not fill the page.
    let exact = tx
        .hit_rows(&page_statement(
            shape,
            Some((m, Tier::Exact)),
            &plan.filters,
            plan.sort,
            fetch,
            offset,
        ))
        .await?;
    let mut rows: Vec<(HitRow, bool)> = exact.into_iter().map(|r| (r, true)).collect();
    if rows.len() > limit as usize {
        return Ok(split_page(rows, limit));
    }
    let exact_total = if rows.is_empty() && offset > 0 {
        // Fewer exact matches than the offset: how many, to know where the rest starts.
        let counted = tx
            .count_rows(&count_statement(
                shape,
                Some((m, Tier::Exact)),
                &plan.filters,
                u64::from(offset),
            ))
            .await?;
        u32::try_from(counted).unwrap_or(offset)
    } else {
        offset + rows.len() as u32
    };
    let need = limit - rows.len() as u32;
    let rest_offset = offset.saturating_sub(exact_total);
    let rest = tx
        .hit_rows(&page_statement(
            shape,
            Some((m, Tier::Folded)),
            &plan.filters,
            plan.sort,
            need + 1,
            rest_offset,
        ))
        .await?;
    rows.extend(rest.into_iter().map(|r| (r, false)));
    Ok(split_page(rows, limit))
}

fn split_page(mut rows: Vec<(HitRow, bool)>, limit: u32) -> (Vec<(HitRow, bool)>, bool) {
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    (rows, has_more)
}

async fn run_search<T: SearchTx>(tx: &mut T, plan: &Plan) -> Result<SearchPage, ArchiveError> {
    let empty = SearchPage {
        items: Vec::new(),
        offset: plan.offset,
        limit: plan.limit,
        has_more: false,
        total: plan.count.then_some(0),
        total_capped: false,
    };
    if plan.nothing {
        return Ok(empty);
    }
    let shape = choose_shape(tx, plan).await?;
    let (rows, has_more) = page_rows(tx, plan, shape).await?;
    let mut versions = Vec::new();
    if !rows.is_empty() {
        let mut statement = Statement::default();
        let ids: Vec<String> = rows
            .iter()
            .map(|(row, _)| statement.arg(Arg::Int(row.version_id)))
            .collect();
        statement.sql = format!(
            "SELECT version_id, sha256, file_name, type_name, code_number, code_notation, \
             subject, description, ocr_text, confidentiality FROM document_versions \
             WHERE version_id IN ({})",
            ids.join(", ")
        );
        versions = tx.page_versions(&statement).await?;
    }
    let mut items = Vec::with_capacity(rows.len());
    for (row, exact) in rows {
        let version = versions
            .iter()
            .find(|v| v.version_id == row.version_id)
            .ok_or(ArchiveError::VersionNotFound {
                version_id: row.version_id,
            })?;
        items.push(hit(&row, version, exact, &plan.text)?);
    }
    let (total, total_capped) = if plan.count {
        let text = (!plan.text.is_empty()).then_some((&plan.text, Tier::All));
        let counted = tx
            .count_rows(&count_statement(shape, text, &plan.filters, COUNT_CAP))
            .await?;
        let counted = u64::try_from(counted).unwrap_or(0);
        (Some(counted.min(COUNT_CAP)), counted > COUNT_CAP)
    } else {
        (None, false)
    };
    Ok(SearchPage {
        items,
        has_more,
        total,
        total_capped,
        ..empty
    })
}

fn hit(
    row: &HitRow,
    version: &PageVersion,
    exact_tier: bool,
    m: &TextMatch,
) -> Result<SearchHit, ArchiveError> {
    let corrupt = |what: String| ArchiveError::Corrupt { what };
    let role = DocumentRole::parse(&row.role)
        .ok_or_else(|| corrupt(format!("unknown document role {:?}", row.role)))?;
    let signature_status = SignatureStatus::parse(&row.signature_status).ok_or_else(|| {
        corrupt(format!(
            "unknown signature status {:?}",
            row.signature_status
        ))
    })?;
    let number = number_display(
        version.code_number.as_deref(),
        version.code_notation.as_deref(),
    );
    let head = [version.type_name.clone(), number]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let title = match (head.is_empty(), &version.subject) {
        (false, Some(subject)) => format!("{head}: {subject}"),
        (true, Some(subject)) => subject.clone(),
        (false, None) => head,
        (true, None) => version.file_name.clone(),
    };
    // Reading a confidential document's text is an audited event (`open_version`); a list
    // shows only its metadata.
    let confidential = version
        .confidentiality
        .as_deref()
        .is_some_and(|c| c != "normal");
    let source = version
        .ocr_text
        .as_deref()
        .filter(|t| !confidential && !t.trim().is_empty())
        .or(version.subject.as_deref())
        .or(version.description.as_deref())
        .unwrap_or(&title);
    let (snippet, highlights) = snippet(source, m);
    // Score: half for matching at all, a fifth more when the accents typed are there, the
    // rest for the share of the query's words that are in the title.
    let exact_accents = exact_tier || m.text.accented.is_empty();
    let score = if m.text.units.is_empty() {
        1.0
    } else {
        let title_words: BTreeSet<String> = terms(&title).map(|t| t.folded).collect();
        let in_title = m
            .text
            .units
            .iter()
            .filter(|unit| unit.iter().all(|t| title_words.contains(&t.folded)))
            .count();
        let share = in_title as f64 / m.text.units.len() as f64;
        let value = 0.5 + if exact_accents { 0.2 } else { 0.0 } + 0.3 * share;
        (value * 1000.0).round() / 1000.0
    };
    Ok(SearchHit {
        document_id: row.document_id,
        version_id: row.version_id,
        sha256: version.sha256.clone(),
        file_name: version.file_name.clone(),
        dossier_code: row.dossier_code.clone(),
        title,
        snippet,
        highlights,
        score,
        exact_accents,
        role,
        issued_date: row.issued_date,
        stored_at: row.stored_at,
        signature_status,
    })
}

/// About [`SNIPPET_CHARS`] characters of `text` around the first place the query matches
/// (accents as typed preferred), whitespace collapsed, with the byte ranges of every query
/// word inside it.
fn snippet(text: &str, m: &TextMatch) -> (String, Vec<(usize, usize)>) {
    let scanned = &text[..floor_char_boundary(text, SNIPPET_SCAN_BYTES)];
    // Offsets only: tokens are compared lazily and without allocating, since a hit's text
    // can be hundreds of pages and only the first match matters.
    let tokens: Vec<(usize, usize)> = token_spans(scanned)
        .map(|(at, token)| (at, at + token.len()))
        .collect();
    let token = |i: usize| tokens.get(i).map(|&(s, e)| &scanned[s..e]);
    let wanted: Vec<&Term> = m
        .text
        .units
        .iter()
        .flatten()
        .chain(&m.agency)
        .chain(&m.signer)
        .collect();
    let is_wanted = |t: &str| wanted.iter().any(|w| folds_to(t, &w.folded));
    // A unit of the query at token i; with `exact`, its accents (where typed) must agree.
    let unit_at = |i: usize, exact: bool| {
        m.text.units.iter().any(|unit| {
            unit.iter().enumerate().all(|(k, w)| {
                token(i + k).is_some_and(|t| {
                    folds_to(t, &w.folded)
                        && (!exact || !w.is_accented() || same_exact(t, &w.exact))
                })
            })
        })
    };
    let prefer_exact = !m.text.accented.is_empty();
    let mut first_folded = None;
    let mut first_exact = None;
    for i in 0..tokens.len() {
        if unit_at(i, false) {
            first_folded.get_or_insert(i);
            if !prefer_exact || unit_at(i, true) {
                first_exact = Some(i);
                break;
            }
        }
    }
    let first = first_exact
        .or(first_folded)
        .or_else(|| (0..tokens.len()).find(|&i| token(i).is_some_and(is_wanted)));
    let start = match first {
        Some(i) => {
            let at = tokens[i].0;
            // Back up about SNIPPET_LEAD_CHARS characters, to a word start.
            let lead = text[..at]
                .char_indices()
                .rev()
                .nth(SNIPPET_LEAD_CHARS.saturating_sub(1))
                .map_or(0, |(b, _)| b);
            tokens
                .iter()
                .map(|(s, _)| *s)
                .find(|&s| s >= lead)
                .filter(|&s| s <= at)
                .unwrap_or(lead)
        }
        None => 0,
    };
    let end = text[start..]
        .char_indices()
        .nth(SNIPPET_CHARS)
        .map_or(text.len(), |(b, _)| start + b);
    // End on a word boundary when one is near.
    let end = if end < text.len() {
        tokens
            .iter()
            .map(|(_, e)| *e)
            .rev()
            .find(|&e| e > start && e <= end)
            .unwrap_or(end)
    } else {
        end
    };
    let marked: Vec<(usize, usize)> = tokens
        .iter()
        .filter(|&&(s, e)| s >= start && e <= end && is_wanted(&scanned[s..e]))
        .copied()
        .collect();

    let mut out = String::new();
    let mut highlights = Vec::new();
    if start > 0 {
        out.push_str("… ");
    }
    let mut open: Option<usize> = None;
    let mut next_mark = marked.iter().peekable();
    let mut in_space = false;
    for (i, c) in text[start..end].char_indices() {
        let at = start + i;
        if let Some(&&(s, _)) = next_mark.peek()
            && s == at
        {
            open = Some(out.len());
        }
        if c.is_whitespace() || c.is_control() {
            if !in_space && !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
            in_space = true;
        } else {
            out.push(c);
            in_space = false;
        }
        if let Some(&&(_, e)) = next_mark.peek()
            && e == at + c.len_utf8()
        {
            if let Some(s) = open.take() {
                highlights.push((s, out.len()));
            }
            next_mark.next();
        }
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    if end < text.len() {
        out.push_str(" …");
    }
    (out, highlights)
}

/// Serde: an optional date as `YYYY-MM-DD` or `null`.
fn iso_day<S: serde::Serializer>(day: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
    match day {
        Some(day) => s.collect_str(day),
        None => s.serialize_none(),
    }
}

fn floor_char_boundary(text: &str, at: usize) -> usize {
    if at >= text.len() {
        return text.len();
    }
    (0..=at)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0)
}

/// `snippet` with its highlights wrapped in `«…»`, for text output.
pub fn marked_snippet(hit: &SearchHit) -> String {
    let mut out = String::with_capacity(hit.snippet.len() + 8);
    let mut last = 0;
    for &(s, e) in &hit.highlights {
        if s < last
            || e > hit.snippet.len()
            || !hit.snippet.is_char_boundary(s)
            || !hit.snippet.is_char_boundary(e)
        {
            continue;
        }
        out.push_str(&hit.snippet[last..s]);
        out.push('«');
        out.push_str(&hit.snippet[s..e]);
        out.push('»');
        last = e;
    }
    out.push_str(&hit.snippet[last..]);
    out
}

impl Archive {
    /// Searches the documents: `query.text` diacritic-insensitively (exact-accent matches
    /// first when it has accents), with every filter of `query`, one page at a time. Items
    /// carry a snippet, never the full text.
    ///
    /// # Errors
    /// [`ArchiveError::FieldInvalid`] for a page outside the limits or an over-long query or
    /// filter; [`ArchiveError::Database`]. Query text is never syntax: any string is a valid
    /// query.
    pub async fn search(&self, query: &SearchQuery) -> Result<SearchPage, ArchiveError> {
        let plan = Plan::of(query)?;
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_read().await?;
            let page = run_search(&mut tx, &plan).await?;
            tx.commit().await?;
            Ok(page)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_handles_d_with_stroke_stacked_marks_and_look_alikes() {
        assert_eq!(fold("Đống Đa"), "dong da");
        assert_eq!(fold("Nguyễn Văn Đức, NGƯỜI KÝ"), "nguyen van duc, nguoi ky");
        assert_eq!(fold("ĐƯỜNG đường Ðường"), "duong duong duong");
        // Decomposed input (NFD, as some keyboards produce) folds the same.
        assert_eq!(fold("Ð\u{1ed1}ng"), fold("Đ\u{6f}\u{302}\u{301}ng"));
        assert_eq!(fold("ﬁ ２０２６"), "fi 2026");
    }

    #[test]
    fn the_lazy_comparisons_agree_with_the_terms() {
        for token in [
            "Đống",
            "ĐƯỜNG",
            "Ðường",
            "qđ",
            "ﬁx",
            "Nguyễn",
            "x".repeat(80).as_str(),
        ] {
            let term = Term::of(token).unwrap();
            assert!(folds_to(token, &term.folded), "{token}");
            assert!(same_exact(token, &term.exact), "{token}");
        }
        assert!(!folds_to("Đống", "dongg") && !folds_to("Đống", "don"));
        assert!(!same_exact("Đồng", "đống"));
    }

    #[test]
    fn number_keys_ignore_case_accents_spaces_and_dash_kinds() {
        assert_eq!(code_key("12/QĐ-UBND"), "12/qd-ubnd");
        assert_eq!(code_key(" 12 / qđ\u{2013}ubnd "), "12/qd-ubnd");
        assert_eq!(
            number_key(Some("12"), Some("QĐ-UBND")).as_deref(),
            Some("12/qd-ubnd")
        );
        assert_eq!(folded_key("  Hộ   tịch "), "ho tich");
    }

    #[test]
    fn tokens_split_on_punctuation_and_keep_offsets() {
        let text = "Số 12/QĐ-UBND, phường Đống Đa";
        let spans: Vec<(usize, &str)> = token_spans(text).collect();
        let words: Vec<&str> = spans.iter().map(|(_, w)| *w).collect();
        assert_eq!(words, ["Số", "12", "QĐ", "UBND", "phường", "Đống", "Đa"]);
        for (at, word) in spans {
            assert_eq!(&text[at..at + word.len()], word);
        }
    }

    #[test]
    fn query_syntax_characters_are_separators_and_quotes_make_phrases() {
        let parsed = ParsedText::parse(r#""Đống Đa" NEAR(x* OR -y) col:z ^w ') OR 1=1 --"#);
        let units: Vec<Vec<&str>> = parsed
            .units
            .iter()
            .map(|u| u.iter().map(|t| t.folded.as_str()).collect())
            .collect();
        assert_eq!(
            units,
            vec![
                vec!["dong", "da"],
                vec!["near", "x"],
                vec!["or"],
                vec!["y"],
                vec!["col", "z"],
                vec!["w"],
                vec!["or"],
                vec!["1", "1"],
            ]
        );
        assert_eq!(parsed.accented, ["đống", "đa"]);
        let m = TextMatch {
            text: parsed,
            ..TextMatch::default()
        };
        let fts = m.fts5(Tier::Exact);
        assert!(fts.starts_with(r#"("dong da" "near x" "or" "y""#), "{fts}");
        assert!(fts.ends_with(r#"AND ("đống" "đa")"#), "{fts}");
        let tsq = m.tsquery(Tier::Folded);
        assert!(
            tsq.contains("('dong' <-> 'da') & ('near' <-> 'x')"),
            "{tsq}"
        );
        assert!(tsq.ends_with("& !('đống' & 'đa')"), "{tsq}");
        assert!(ParsedText::parse(r#"" * ^ ( ) - :"#).units.is_empty());
    }

    #[test]
    fn index_text_keeps_accented_forms_once_and_sections_apart() {
        let text = IndexText::build(
            &["Quyết định", "đường Đống Đa, đường"],
            "UBND phường Đống Đa",
            &["Nguyễn Văn A"],
        );
        assert_eq!(
            text.text,
            "quyet dinh duong dong da duong nguyễn phường quyết văn đa đường định đống"
        );
        assert_eq!(text.agency, "ubnd phuong dong da");
        assert_eq!(text.signer, "nguyen van a");
        // main 1..6, gap, agency 8..11, gap, signer 13..15; accented forms and tagged filter
        // words without positions.
        assert!(text.tsvector.contains("'da':5,11 "), "{}", text.tsvector);
        assert!(text.tsvector.contains("'duong':3,6 "), "{}", text.tsvector);
        assert!(text.tsvector.contains("'nguyen':13 "), "{}", text.tsvector);
        assert!(
            text.tsvector
                .contains("'đa' 'đường' 'định' 'đống' 'agency:da' 'agency:dong' "),
            "{}",
            text.tsvector
        );
        assert!(
            text.tsvector
                .ends_with("'signer:a' 'signer:nguyen' 'signer:van'"),
            "{}",
            text.tsvector
        );
    }

    #[test]
    fn snippets_are_short_centred_on_the_match_and_mark_it() {
        let filler = "lorem ipsum dolor sit amet ".repeat(40);
        let text = format!("{filler}Ủy ban nhân dân phường\n\n  Đống Đa quyết định {filler}");
        let m = TextMatch {
            text: ParsedText::parse("dong da"),
            ..TextMatch::default()
        };
        let (snippet, highlights) = snippet(&text, &m);
        assert!(snippet.chars().count() <= SNIPPET_CHARS + 4, "{snippet}");
        assert!(
            snippet.starts_with("… ") && snippet.ends_with(" …"),
            "{snippet}"
        );
        assert!(snippet.contains("phường Đống Đa quyết"), "{snippet}");
        let marked: Vec<&str> = highlights.iter().map(|&(s, e)| &snippet[s..e]).collect();
        assert_eq!(marked, ["Đống", "Đa"]);
    }

    #[test]
    fn snippets_prefer_the_accents_typed() {
        let text = "Đồng Đà ở đầu. Sau đó mới đến Đống Đa.";
        let m = TextMatch {
            text: ParsedText::parse("Đống Đa"),
            ..TextMatch::default()
        };
        let (snippet, highlights) = snippet(text, &m);
        let marked: Vec<&str> = highlights.iter().map(|&(s, e)| &snippet[s..e]).collect();
        assert!(marked.contains(&"Đống"), "{snippet} {marked:?}");
    }

    #[test]
    fn params_become_a_query_with_empty_fields_absent_and_pages_as_offsets() {
        let text = |v: &str| Some(v.to_owned());
        let params = SearchParams {
            q: text("dong da"),
            dossier: text("  "),
            number: text(" 12/QĐ-UBND "),
            role: text("result"),
            signature: text("valid"),
            issued_from: text("01/02/2026"),
            issued_to: text("2026-02-28"),
            sort: text("relevance"),
            page: text("3"),
            per_page: text("10"),
            count: text("on"),
            ..SearchParams::default()
        };
        let query = SearchQuery::from_params(&params).unwrap();
        assert_eq!(query.text, "dong da");
        assert_eq!(query.dossier, None);
        assert_eq!(query.number.as_deref(), Some("12/QĐ-UBND"));
        assert_eq!(query.role, Some(DocumentRole::Result));
        assert_eq!(query.signature, Some(SignatureStatus::Valid));
        assert_eq!(query.issued_from, parse_day("2026-02-01"));
        assert!(query.issued_to.is_some());
        assert_eq!(query.sort, SearchSort::Relevance);
        assert_eq!((query.offset, query.limit, query.count), (20, 10, true));
        assert_eq!(
            SearchQuery::from_params(&SearchParams::default()).unwrap(),
            SearchQuery::default()
        );
        for (params, field) in [
            (
                SearchParams {
                    role: text("nobody"),
                    ..SearchParams::default()
                },
                "role",
            ),
            (
                SearchParams {
                    signature: text("ok"),
                    ..SearchParams::default()
                },
                "signature",
            ),
            (
                SearchParams {
                    stored_to: text("2026-13-01"),
                    ..SearchParams::default()
                },
                "stored_to",
            ),
            (
                SearchParams {
                    sort: text("oldest"),
                    ..SearchParams::default()
                },
                "sort",
            ),
            (
                SearchParams {
                    page: text("0"),
                    ..SearchParams::default()
                },
                "page",
            ),
            (
                SearchParams {
                    per_page: text("-5"),
                    ..SearchParams::default()
                },
                "per_page",
            ),
            (
                SearchParams {
                    page: text("4000000000"),
                    ..SearchParams::default()
                },
                "page",
            ),
            (
                SearchParams {
                    count: text("maybe"),
                    ..SearchParams::default()
                },
                "count",
            ),
        ] {
            match SearchQuery::from_params(&params) {
                Err(ArchiveError::FieldInvalid { field: got, .. }) => assert_eq!(got, field),
                other => panic!("{params:?}: {other:?}"),
            }
        }
    }
}
