//! `hoso fixity`: re-hashes the stored blobs and reports what changed, what is missing and
//! what the archive does not know about (`archive::fixity`).

use std::io::Write;
use std::process::ExitCode;

use clap::Args;

use super::{Format, actor_or_login, print_report, report, with_runtime};
use crate::archive::ArchiveError;
use crate::archive::fixity::{FixityOptions, FixityReport, LIST_CAP};
use crate::config::Config;
use crate::error::{Coded, Error};
use crate::pipeline::Pipeline;

#[derive(Debug, Args)]
pub(super) struct FixityArgs {
    /// Check only N blobs chosen at random (a different choice each run, so repeated runs
    /// cover the store); a sample does not look for untracked objects
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    sample: Option<u64>,
    /// Who runs the check, for the audit trail [default: the login name]
    #[arg(long, env = "HOSO_ACTOR", value_name = "NAME")]
    actor: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// `hoso fixity`: exit 0 when every blob checked is intact, 1 when any is changed or missing
/// (or the check could not run). Untracked objects alone exit 0 with a warning: the records
/// are intact, and such an object (most often left by a crash between storing and recording)
/// needs an archivist's review, not an alarm on every scheduled run.
pub(super) fn fixity(config: &Config, args: FixityArgs) -> ExitCode {
    let options = FixityOptions {
        sample: args
            .sample
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        actor: actor_or_login(args.actor),
        jobs: config.jobs,
    };
    let mut checked = None;
    let run = with_runtime(async {
        let pipeline = Pipeline::open(config).await?;
        let result = pipeline
            .archive()
            .check_fixity(pipeline.blobs(), options, time::OffsetDateTime::now_utc())
            .await;
        pipeline.close().await;
        checked = Some(result?);
        Ok(())
    });
    let fixity = match (run, checked) {
        (Ok(()), Some(fixity)) => fixity,
        (Err(e), _) => return report(&e),
        (Ok(()), None) => return report(&Error::Task("the fixity check gave no result".into())),
    };
    if let Err(e) = print_report(args.format, &fixity, || text(&fixity)) {
        return report(&e);
    }
    let mut stderr = std::io::stderr().lock();
    if !fixity.intact {
        let error = Error::Archive(ArchiveError::FixityFailed {
            changed: fixity.changed_total,
            missing: fixity.missing_total,
        });
        let _ = writeln!(stderr, "lỗi [{}]: {}", error.code(), error.message_vi());
        let _ = writeln!(stderr, "  error: {error}");
        return ExitCode::from(1);
    }
    if fixity.untracked_total > 0 {
        let _ = writeln!(
            stderr,
            "cảnh báo: kho có {} đối tượng không được ghi nhận trong cơ sở dữ liệu; nội dung đã \
             ghi nhận vẫn nguyên vẹn, cần người lưu trữ xem xét.",
            fixity.untracked_total
        );
        let _ = writeln!(
            stderr,
            "  warning: {} untracked object(s) in the store; the recorded blobs are intact",
            fixity.untracked_total
        );
    }
    ExitCode::SUCCESS
}

/// The report for a person: Vietnamese first, English in parentheses.
fn text(fixity: &FixityReport) -> String {
    let scope = if fixity.sampled {
        "mẫu ngẫu nhiên (random sample)"
    } else {
        "toàn bộ kho (full run)"
    };
    let megabytes = fixity.bytes_hashed as f64 / 1e6;
    let seconds = fixity.seconds.max(1e-9);
    let mut lines = vec![
        format!(
            "kiểm tra toàn vẹn (fixity check), {scope}: {} / {} nội dung đã kiểm (blobs checked)",
            fixity.checked, fixity.recorded
        ),
        format!("  nguyên vẹn (ok): {}", fixity.ok),
        format!("  bị thay đổi (changed): {}", fixity.changed_total),
        format!("  bị mất (missing): {}", fixity.missing_total),
    ];
    if fixity.sampled {
        lines.push(
            "  không có trong sổ (untracked): không tìm khi kiểm mẫu (not searched by a sample)"
                .to_owned(),
        );
    } else {
        lines.push(format!(
            "  không có trong sổ (untracked): {}",
            fixity.untracked_total
        ));
    }
    lines.push(format!(
        "  đã băm (hashed) {megabytes:.1} MB trong (in) {:.2} s: {:.0} MB/s, {:.0} nội dung/s (blobs/s)",
        fixity.seconds,
        megabytes / seconds,
        fixity.checked as f64 / seconds
    ));
    lines.push(format!(
        "  nhật ký kiểm toán (audit entry) #{}",
        fixity.audit_seq
    ));
    for changed in &fixity.changed {
        let found = match (&changed.found_sha256, &changed.read_error) {
            (Some(digest), _) => format!("sha256 {digest}"),
            (None, Some(error)) => format!("không đọc được (unreadable): {error}"),
            (None, None) => String::new(),
        };
        lines.push(format!(
            "BỊ THAY ĐỔI (changed): {}  ghi nhận (recorded) {} B, thấy (found) {} B, {found}",
            changed.sha256, changed.recorded_size, changed.found_size
        ));
    }
    lines.extend(more(fixity.changed_total, fixity.changed.len()));
    for missing in &fixity.missing {
        lines.push(format!("BỊ MẤT (missing): {missing}"));
    }
    lines.extend(more(fixity.missing_total, fixity.missing.len()));
    for untracked in &fixity.untracked {
        lines.push(format!("KHÔNG CÓ TRONG SỔ (untracked): {}", untracked.key));
    }
    lines.extend(more(fixity.untracked_total, fixity.untracked.len()));
    lines.join("\n")
}

/// A line saying how many entries of a list were left out (each list shows [`LIST_CAP`]).
fn more(total: u64, shown: usize) -> Option<String> {
    let left = total.saturating_sub(shown as u64);
    (left > 0).then(|| {
        format!("  … và {left} mục nữa (and {left} more; lists show the first {LIST_CAP})")
    })
}
