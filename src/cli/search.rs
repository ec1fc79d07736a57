//! `hoso search`: full-text search of the archive with filters (issue #6).

use clap::{Args, ValueEnum};
use time::Date;

use super::{Format, to_json, with_runtime};
use crate::archive::Archive;
use crate::archive::documents::DocumentRole;
use crate::archive::search::{
    MAX_LIMIT, SearchPage, SearchQuery, SearchSort, SignatureStatus, marked_snippet,
};
use crate::config::Config;
use crate::error::Result;

/// Tìm kiếm tài liệu trong kho (không phân biệt dấu; tài liệu đúng dấu đứng trước).
/// Search the archive: words without diacritics match (dong da finds Đống Đa), documents
/// with the accents as typed come first; newest stored first.
#[derive(Debug, Args)]
pub(super) struct SearchArgs {
    /// Từ cần tìm / Words to look for; "…" keeps words together as a phrase. May be empty
    /// when filters are given (then the newest documents matching them are listed)
    #[arg(default_value = "")]
    query: String,
    /// Mã thủ tục / National procedure code, e.g. 1.001193
    #[arg(long, value_name = "CODE")]
    procedure: Option<String>,
    /// Lĩnh vực / Field of the procedure, e.g. "Hộ tịch" (diacritics optional)
    #[arg(long, value_name = "TEXT")]
    field: Option<String>,
    /// Mã hồ sơ (đầy đủ hoặc một phần) / Dossier code, whole or part
    #[arg(long, value_name = "CODE")]
    dossier: Option<String>,
    /// Số, ký hiệu văn bản / Document number and symbol ("12/QĐ-UBND" = "12/qd-ubnd"), or a
    /// number alone (12), or a symbol alone (QĐ-UBND)
    #[arg(long, value_name = "NUMBER")]
    number: Option<String>,
    /// Cơ quan ban hành / Words of the issuing agency's name
    #[arg(long, value_name = "TEXT")]
    agency: Option<String>,
    /// Người ký / Words of the signer's name or position
    #[arg(long, value_name = "TEXT")]
    signer: Option<String>,
    /// Ngày văn bản từ / Issued on or after (YYYY-MM-DD or dd/mm/yyyy)
    #[arg(long, value_name = "DATE", value_parser = parse_day)]
    from: Option<Date>,
    /// Ngày văn bản đến / Issued on or before
    #[arg(long, value_name = "DATE", value_parser = parse_day)]
    to: Option<Date>,
    /// Ngày lưu từ / Stored on or after (Vietnam time)
    #[arg(long, value_name = "DATE", value_parser = parse_day)]
    stored_from: Option<Date>,
    /// Ngày lưu đến / Stored on or before
    #[arg(long, value_name = "DATE", value_parser = parse_day)]
    stored_to: Option<Date>,
    /// Vai trò tài liệu / Document role
    #[arg(long, value_enum)]
    role: Option<super::documents::RoleArg>,
    /// Tình trạng chữ ký / Signature status of the current content
    #[arg(long, value_enum)]
    signature: Option<SignatureArg>,
    /// Thứ tự / Order: newest stored first, or best match first (among the newest 10000)
    #[arg(long, value_enum, default_value_t = SortArg::Newest)]
    sort: SortArg,
    /// Số kết quả mỗi trang / Results per page
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_LIMIT)))]
    limit: u32,
    /// Bỏ qua N kết quả đầu / Skip the first N results (at most 10000)
    #[arg(long, default_value_t = 0)]
    offset: u32,
    /// Đếm tổng số kết quả (tối đa 10000) / Also count the matches (up to 10000)
    #[arg(long)]
    count: bool,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SignatureArg {
    Valid,
    Invalid,
    Indeterminate,
    Unsigned,
    Unverified,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SortArg {
    Newest,
    Relevance,
}

fn parse_day(text: &str) -> std::result::Result<Date, String> {
    crate::archive::search::parse_day(text).ok_or_else(|| {
        format!(
            "ngày không hợp lệ / expected YYYY-MM-DD or dd/mm/yyyy: {:?}",
            text.trim()
        )
    })
}

impl SearchArgs {
    fn query(&self) -> SearchQuery {
        SearchQuery {
            text: self.query.clone(),
            procedure: self.procedure.clone(),
            field: self.field.clone(),
            dossier: self.dossier.clone(),
            number: self.number.clone(),
            agency: self.agency.clone(),
            signer: self.signer.clone(),
            issued_from: self.from,
            issued_to: self.to,
            stored_from: self.stored_from,
            stored_to: self.stored_to,
            role: self.role.map(DocumentRole::from),
            signature: self.signature.map(|s| match s {
                SignatureArg::Valid => SignatureStatus::Valid,
                SignatureArg::Invalid => SignatureStatus::Invalid,
                SignatureArg::Indeterminate => SignatureStatus::Indeterminate,
                SignatureArg::Unsigned => SignatureStatus::Unsigned,
                SignatureArg::Unverified => SignatureStatus::Unverified,
            }),
            sort: match self.sort {
                SortArg::Newest => SearchSort::Newest,
                SortArg::Relevance => SearchSort::Relevance,
            },
            limit: self.limit,
            offset: self.offset,
            count: self.count,
        }
    }
}

/// Runs `hoso search`.
pub(super) fn run(config: &Config, args: &SearchArgs) -> Result<()> {
    with_runtime(async {
        let archive = Archive::connect(&config.database).await?;
        let result = archive.search(&args.query()).await;
        archive.close().await;
        let page = result?;
        match args.format {
            Format::Json => println!("{}", to_json(&page)?),
            Format::Text => print!("{}", render(&page)),
        }
        Ok(())
    })
}

/// The page for a person: Vietnamese first, English in parentheses.
fn render(page: &SearchPage) -> String {
    let mut out = String::new();
    if page.items.is_empty() {
        if page.offset > 0 {
            out.push_str(&format!(
                "Không còn kết quả sau {} kết quả đầu (no results after the first {}).\n",
                page.offset, page.offset
            ));
        } else {
            out.push_str("Không tìm thấy tài liệu nào (no documents found).\n");
        }
        return out;
    }
    let first = page.offset + 1;
    let last = page.offset + page.items.len() as u32;
    let total = match (page.total, page.total_capped) {
        (Some(n), false) => format!(" / tổng {n} (total)"),
        (Some(n), true) => format!(" / tổng ≥ {n} (total at least)"),
        (None, _) => String::new(),
    };
    out.push_str(&format!("Kết quả {first}–{last}{total} (results):\n"));
    for (i, hit) in page.items.iter().enumerate() {
        out.push_str(&format!(
            "{}. [#{}] {}\n",
            page.offset as usize + i + 1,
            hit.document_id,
            hit.title
        ));
        let mut facts = vec![format!("tệp (file): {}", hit.file_name)];
        if let Some(code) = &hit.dossier_code {
            facts.push(format!("hồ sơ (dossier): {code}"));
        }
        if let Some(day) = hit.issued_date {
            facts.push(format!("ngày (issued): {day}"));
        }
        facts.push(format!("{} ({})", hit.role.label_vi(), hit.role.as_str()));
        facts.push(format!(
            "chữ ký (signature): {} ({})",
            hit.signature_status.label_vi(),
            hit.signature_status.as_str()
        ));
        out.push_str(&format!("   {}\n", facts.join("  ·  ")));
        let snippet = marked_snippet(hit);
        if !snippet.is_empty() {
            out.push_str(&format!("   {snippet}\n"));
        }
        out.push_str(&format!(
            "   sha256 {}  ·  điểm (score) {:.2}{}\n",
            hit.sha256,
            hit.score,
            if hit.exact_accents {
                ""
            } else {
                "  ·  khác dấu (accents differ)"
            }
        ));
    }
    if page.has_more {
        out.push_str(&format!(
            "Còn kết quả: thêm --offset {} (more: --offset {}).\n",
            last, last
        ));
    }
    out
}
