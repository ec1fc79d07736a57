//! `hoso stats`: the statistics of a period (library: `archive::stats`) as a text table, JSON
//! or CSV.

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use crate::archive::Archive;
use crate::archive::stats::{Grouping, Statistics, StatsQuery, StatsRow};
use crate::config::Config;
use crate::error::{Error, Result};

#[derive(Debug, Args)]
pub(super) struct StatsArgs {
    /// First day of the period, Vietnam date (included)
    #[arg(long, value_parser = super::parse_date, value_name = "YYYY-MM-DD")]
    from: time::Date,
    /// Last day of the period, Vietnam date (included)
    #[arg(long, value_parser = super::parse_date, value_name = "YYYY-MM-DD")]
    to: time::Date,
    /// One row per field (lĩnh vực), procedure (thủ tục) or unit (đơn vị: the handling
    /// agency's code), plus the total
    #[arg(long, value_enum)]
    by: Option<GroupingArg>,
    /// text: tables with Vietnamese headings (English below); json; csv (UTF-8, header row
    /// of snake_case names, one row per group then the total)
    #[arg(long, value_enum, default_value_t = StatsFormat::Text)]
    format: StatsFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum GroupingArg {
    Field,
    Procedure,
    Unit,
}

impl From<GroupingArg> for Grouping {
    fn from(arg: GroupingArg) -> Self {
        match arg {
            GroupingArg::Field => Grouping::Field,
            GroupingArg::Procedure => Grouping::Procedure,
            GroupingArg::Unit => Grouping::Unit,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StatsFormat {
    Text,
    Json,
    Csv,
}

/// Runs `hoso stats`: exit 0 with the report, 2 for a period that is not one (`--from`
/// after `--to`, a year outside 1900–9999), 1 when the archive fails.
pub(super) fn run(config: &Config, args: StatsArgs) -> ExitCode {
    if let Err(message) = check_period(args.from, args.to) {
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "lỗi [usage]: {}", message.0);
        let _ = writeln!(stderr, "  error: {}", message.1);
        return ExitCode::from(2);
    }
    let query = StatsQuery {
        from: args.from,
        to: args.to,
        by: args.by.map(Grouping::from),
    };
    let result = super::with_runtime(async {
        let archive = Archive::connect(&config.database).await?;
        let stats = archive.statistics(&query).await;
        archive.close().await;
        let stats = stats?;
        let output = match args.format {
            StatsFormat::Text => render_text(&stats),
            StatsFormat::Json => super::to_json(&stats)? + "\n",
            StatsFormat::Csv => render_csv(&stats)?,
        };
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(output.as_bytes())
            .and_then(|()| stdout.flush())
            .map_err(|e| Error::Task(format!("cannot write the statistics: {e}")))
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => super::report(&e),
    }
}

/// The usage message (Vietnamese, English) when `[from, to]` is not a period.
fn check_period(from: time::Date, to: time::Date) -> std::result::Result<(), (String, String)> {
    for (flag, day) in [("--from", from), ("--to", to)] {
        if !(1900..=9999).contains(&day.year()) {
            return Err((
                format!("{flag} {day} nằm ngoài khoảng 1900-01-01 đến 9999-12-31."),
                format!("{flag} {day} is outside 1900-01-01 to 9999-12-31"),
            ));
        }
    }
    if from > to {
        return Err((
            format!(
                "ngày bắt đầu --from {from} sau ngày kết thúc --to {to}; kỳ thống kê gồm cả hai ngày, \
                 ví dụ --from 2026-01-01 --to 2026-03-31."
            ),
            format!("--from {from} is after --to {to}: the period is [from, to], both included"),
        ));
    }
    Ok(())
}

fn render_csv(stats: &Statistics) -> Result<String> {
    stats
        .to_csv()
        .map_err(|e| Error::Task(format!("cannot write CSV: {e}")))
}

/// A column of a text table: the heading of its column group (received, resolved, …),
/// its Vietnamese heading, its English heading, and the cell of a row.
struct Column {
    group: &'static str,
    vi: &'static str,
    en: &'static str,
    cell: fn(&StatsRow) -> String,
}

const fn column(
    group: &'static str,
    vi: &'static str,
    en: &'static str,
    cell: fn(&StatsRow) -> String,
) -> Column {
    Column {
        group,
        vi,
        en,
        cell,
    }
}

/// The counters as the TT 01/2018 template lays them out.
const COUNT_COLUMNS: [Column; 12] = [
    column(
        "Tiếp nhận (received)",
        "Kỳ trước",
        "carried",
        |r| r.carried_over.to_string(),
    ),
    column(
        "Tiếp nhận (received)",
        "Trực tuyến",
        "online",
        |r| r.received_online.to_string(),
    ),
    column(
        "Tiếp nhận (received)",
        "Trực tiếp, BC",
        "in person",
        |r| r.received_in_person_or_postal.to_string(),
    ),
    column("Tiếp nhận (received)", "Tổng", "total", |r| {
        r.received_total.to_string()
    }),
    column(
        "Đã giải quyết (resolved)",
        "Trước hạn",
        "early",
        |r| r.resolved_early.to_string(),
    ),
    column(
        "Đã giải quyết (resolved)",
        "Đúng hạn",
        "on time",
        |r| r.resolved_on_time.to_string(),
    ),
    column(
        "Đã giải quyết (resolved)",
        "Quá hạn",
        "late",
        |r| r.resolved_late.to_string(),
    ),
    column("Đã giải quyết (resolved)", "Tổng", "total", |r| {
        r.resolved_total.to_string()
    }),
    column("", "Rút hồ sơ", "withdrawn", |r| {
        r.withdrawn.to_string()
    }),
    column(
        "Đang giải quyết (pending)",
        "Trong hạn",
        "in time",
        |r| r.pending_in_time.to_string(),
    ),
    column(
        "Đang giải quyết (pending)",
        "Quá hạn",
        "overdue",
        |r| r.pending_overdue.to_string(),
    ),
    column("Đang giải quyết (pending)", "Tổng", "total", |r| {
        r.pending_total.to_string()
    }),
];

const RATE_COLUMNS: [Column; 5] = [
    column(
        "",
        "Đúng hạn (mẫu báo cáo)",
        "on time, report",
        |r| {
            rate_cell(
                r.on_time_rate,
                r.resolved_early + r.resolved_on_time,
                r.resolved_total,
            )
        },
    ),
    column(
        "",
        "Đúng hạn (toàn hệ thống)",
        "on time, system-wide",
        |r| {
            rate_cell(
                r.on_time_rate_system,
                r.resolved_early + r.resolved_on_time + r.pending_in_time,
                r.resolved_total + r.pending_total,
            )
        },
    ),
    column("", "Số hóa thành phần", "inputs digitized", |r| {
        rate_cell(
            r.input_digitization_rate,
            r.input_digitized,
            r.received_in_person_or_postal,
        )
    }),
    column("", "Số hóa kết quả", "results digitized", |r| {
        rate_cell(
            r.result_digitization_rate,
            r.result_digitized,
            r.resolved_approved,
        )
    }),
    column("", "Kết quả có ký số", "results signed", |r| {
        rate_cell(r.signed_result_share, r.results_signed, r.result_digitized)
    }),
];

/// `66.67% (2/3)`, or `— (0/0)` when there is nothing to divide by.
fn rate_cell(rate: Option<f64>, part: u64, whole: u64) -> String {
    match rate {
        Some(rate) => format!("{rate:.2}% ({part}/{whole})"),
        None => format!("— ({part}/{whole})"),
    }
}

fn group_label(by: Option<Grouping>, row: &StatsRow) -> String {
    const MAX: usize = 48;
    let label = match (&row.key, &row.name) {
        (Some(key), Some(name)) => format!("{key} {name}"),
        (Some(key), None) => key.clone(),
        (None, _) if by == Some(Grouping::Field) => "(chưa có lĩnh vực / no field)".to_owned(),
        (None, _) => "—".to_owned(),
    };
    if label.chars().count() > MAX {
        label.chars().take(MAX - 1).chain(['…']).collect()
    } else {
        label
    }
}

fn render_text(stats: &Statistics) -> String {
    let by = match stats.by {
        Some(g) => format!(", theo {} (by {})", g.label_vi(), g.as_str()),
        None => String::new(),
    };
    let mut text = format!(
        "Thống kê giải quyết hồ sơ từ {} đến {} (giờ Việt Nam){by}\n\
         Dossier statistics {} to {} inclusive (Vietnam time)\n",
        stats.from, stats.to, stats.from, stats.to
    );
    let (group_vi, group_en) = match stats.by {
        Some(g) => (capitalized(g.label_vi()), g.as_str()),
        None => (String::new(), ""),
    };
    let mut labelled: Vec<(String, &StatsRow)> = stats
        .rows
        .iter()
        .map(|row| (group_label(stats.by, row), row))
        .collect();
    labelled.push(("Tổng cộng (total)".to_owned(), &stats.total));
    text.push_str("\nSố hồ sơ (dossier counts)\n");
    text.push_str(&table(&group_vi, group_en, &labelled, &COUNT_COLUMNS));
    text.push_str("\nTỷ lệ (rates, %)\n");
    text.push_str(&table(&group_vi, group_en, &labelled, &RATE_COLUMNS));
    text
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A table: the group column left-aligned, the others right-aligned; a line of column-group
/// headings (when there are any) above the Vietnamese and the English headings.
fn table(
    group_vi: &str,
    group_en: &str,
    rows: &[(String, &StatsRow)],
    columns: &[Column],
) -> String {
    let width = |s: &str| s.chars().count();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|(_, row)| columns.iter().map(|c| (c.cell)(row)).collect())
        .collect();
    let group_width = rows
        .iter()
        .map(|(label, _)| width(label))
        .chain([width(group_vi), width(group_en)])
        .max()
        .unwrap_or(0);
    let mut widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .map(|row| width(&row[i]))
                .chain([width(c.vi), width(c.en)])
                .max()
                .unwrap_or(0)
        })
        .collect();
    // Column groups: runs of equal `group`; the last column of a run widens so the run
    // holds its heading.
    let mut spans: Vec<(&str, std::ops::Range<usize>)> = Vec::new();
    for (i, c) in columns.iter().enumerate() {
        match spans.last_mut() {
            Some((group, range)) if *group == c.group => range.end = i + 1,
            _ => spans.push((c.group, i..i + 1)),
        }
    }
    for (group, range) in &spans {
        let span_width: usize = widths[range.clone()].iter().sum::<usize>() + 2 * (range.len() - 1);
        if width(group) > span_width {
            widths[range.end - 1] += width(group) - span_width;
        }
    }
    let line = |first: &str, rest: &mut dyn Iterator<Item = &str>| {
        let mut out = format!("{first}{}", " ".repeat(group_width - width(first)));
        for (text, w) in rest.zip(&widths) {
            out.push_str("  ");
            out.push_str(&" ".repeat(w - width(text)));
            out.push_str(text);
        }
        out.trim_end().to_owned() + "\n"
    };
    let mut out = String::new();
    if spans.iter().any(|(group, _)| !group.is_empty()) {
        let mut heading = " ".repeat(group_width);
        for (group, range) in &spans {
            let span_width: usize =
                widths[range.clone()].iter().sum::<usize>() + 2 * (range.len() - 1);
            heading.push_str("  ");
            heading.push_str(group);
            heading.push_str(&" ".repeat(span_width - width(group)));
        }
        out += heading.trim_end();
        out.push('\n');
    }
    out += &line(group_vi, &mut columns.iter().map(|c| c.vi));
    out += &line(group_en, &mut columns.iter().map(|c| c.en));
    out += &"-".repeat(group_width + widths.iter().map(|w| w + 2).sum::<usize>());
    out.push('\n');
    for ((label, _), row_cells) in rows.iter().zip(&cells) {
        out += &line(label, &mut row_cells.iter().map(String::as_str));
    }
    out
}
