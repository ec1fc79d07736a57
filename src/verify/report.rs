//! The verification report as text for people: Vietnamese by default, English on request.
//! (JSON for machines is the serde form of [`super::Report`].)

use std::fmt::Write;

use time::OffsetDateTime;

use super::{Indication, Report, SignatureReport};
use crate::verify::structure::{Coverage, SignatureKind};

/// Language of the text report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Vi,
    En,
}

fn verdict(indication: Indication, lang: Lang) -> &'static str {
    match (indication, lang) {
        (Indication::TotalPassed, Lang::Vi) => "HỢP LỆ",
        (Indication::TotalFailed, Lang::Vi) => "KHÔNG HỢP LỆ",
        (Indication::Indeterminate, Lang::Vi) => "KHÔNG XÁC ĐỊNH",
        (Indication::TotalPassed, Lang::En) => "VALID",
        (Indication::TotalFailed, Lang::En) => "NOT VALID",
        (Indication::Indeterminate, Lang::En) => "CANNOT BE DETERMINED",
    }
}

/// `dd/mm/yyyy hh:mm:ss +07:00` in Vietnam time, as Decree 30 writes times.
pub fn vietnam_time(time: OffsetDateTime) -> String {
    let local = time.to_offset(time::macros::offset!(+7));
    format!(
        "{:02}/{:02}/{:04} {:02}:{:02}:{:02} +07:00",
        local.day(),
        u8::from(local.month()),
        local.year(),
        local.hour(),
        local.minute(),
        local.second()
    )
}

/// The whole report as text.
pub fn render(report: &Report, lang: Lang) -> String {
    let mut out = String::new();
    let vi = lang == Lang::Vi;
    let _ = writeln!(out, "{} {}", if vi { "Tệp:" } else { "File:" }, report.file);
    let _ = writeln!(out, "SHA-256: {}", report.sha256);
    let _ = writeln!(
        out,
        "{} {}",
        if vi {
            "Thời điểm kiểm tra:"
        } else {
            "Validation time:"
        },
        vietnam_time(report.validation_time)
    );
    let _ = writeln!(
        out,
        "{} {} ({}{})",
        if vi { "Kết luận:" } else { "Verdict:" },
        verdict(report.indication, lang),
        report.indication.as_str(),
        report
            .subindication
            .map(|s| format!(
                " / {}",
                serde_json::to_value(s)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            ))
            .unwrap_or_default()
    );
    for message in &report.messages {
        let _ = writeln!(out, "  - {}", if vi { &message.vi } else { &message.en });
    }
    for (index, signature) in report.signatures.iter().enumerate() {
        out.push('\n');
        render_signature(&mut out, index + 1, signature, lang);
    }
    out
}

/// The verdict in one plain line for people who are not specialists (the public
/// verification page and `POST /api/v1/verify`): the verdict, the file's own findings, then
/// each signature with its signer, time and, when it is not valid, the first reason its
/// messages give.
pub fn summary(report: &Report, lang: Lang) -> String {
    use super::messages::{Message, Severity};
    let vi = lang == Lang::Vi;
    let text = |m: &Message| {
        let t = if vi { m.vi.trim() } else { m.en.trim() };
        if t.ends_with(['.', '!', '?']) {
            t.to_owned()
        } else {
            format!("{t}.")
        }
    };
    let mut parts = vec![format!("{}.", verdict(report.indication, lang))];
    let no_signature = report.signatures.is_empty();
    parts.extend(
        report
            .messages
            .iter()
            .filter(|m| no_signature || m.severity != Severity::Info)
            .map(text),
    );
    for (index, s) in report.signatures.iter().enumerate() {
        let what = match (s.kind, vi) {
            (SignatureKind::Signature, true) => "Chữ ký",
            (SignatureKind::Signature, false) => "Signature",
            (SignatureKind::DocumentTimestamp, true) => "Dấu thời gian tài liệu",
            (SignatureKind::DocumentTimestamp, false) => "Document timestamp",
        };
        let mut facts = Vec::new();
        if let Some(signer) = &s.signer {
            facts.push(
                signer
                    .common_name
                    .clone()
                    .unwrap_or_else(|| signer.subject.clone()),
            );
        }
        if let Some(at) = s.timestamp_time.or(s.signing_time) {
            facts.push(format!(
                "{} {}",
                if vi { "lúc" } else { "at" },
                vietnam_time(at)
            ));
        }
        let facts = if facts.is_empty() {
            String::new()
        } else {
            format!(" ({})", facts.join(", "))
        };
        let mut line = format!(
            "{what} {}{facts}: {}.",
            index + 1,
            verdict(s.indication, lang).to_lowercase()
        );
        if s.indication != Indication::TotalPassed {
            let reason = s
                .messages
                .iter()
                .find(|m| m.severity == Severity::Error)
                .or_else(|| s.messages.iter().find(|m| m.severity == Severity::Warning));
            if let Some(reason) = reason {
                line.push(' ');
                line.push_str(&text(reason));
            }
        }
        parts.push(line);
    }
    parts.join(" ")
}

fn render_signature(out: &mut String, number: usize, s: &SignatureReport, lang: Lang) {
    let vi = lang == Lang::Vi;
    let what = match (s.kind, vi) {
        (SignatureKind::Signature, true) => "Chữ ký",
        (SignatureKind::Signature, false) => "Signature",
        (SignatureKind::DocumentTimestamp, true) => "Dấu thời gian tài liệu",
        (SignatureKind::DocumentTimestamp, false) => "Document timestamp",
    };
    let sub = s
        .subindication
        .and_then(|v| serde_json::to_value(v).ok())
        .and_then(|v| v.as_str().map(|t| format!(" / {t}")))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{what} {number} ({}): {} ({}{sub})",
        s.field,
        verdict(s.indication, lang),
        s.indication.as_str()
    );
    let line = |out: &mut String, vi_label: &str, en_label: &str, value: &str| {
        let _ = writeln!(
            out,
            "  {:<28} {value}",
            if vi { vi_label } else { en_label }
        );
    };
    if let Some(signer) = &s.signer {
        line(
            out,
            "Người ký / chủ thể:",
            "Signer:",
            signer.common_name.as_deref().unwrap_or(&signer.subject),
        );
        line(out, "Chủ thể đầy đủ:", "Subject:", &signer.subject);
        line(out, "Đơn vị cấp (CA):", "Issuer:", &signer.issuer);
        line(out, "Số hiệu chứng thư:", "Serial:", &signer.serial);
        line(
            out,
            "Hiệu lực chứng thư:",
            "Certificate validity:",
            &format!(
                "{} → {}",
                vietnam_time(signer.not_before),
                vietnam_time(signer.not_after)
            ),
        );
        line(out, "Khóa:", "Key:", &signer.key);
    }
    if let Some(time) = s.signing_time {
        line(
            out,
            "Thời điểm ký (khai báo):",
            "Signing time (claimed):",
            &vietnam_time(time),
        );
    }
    if let Some(time) = s.timestamp_time {
        line(out, "Dấu thời gian:", "Timestamp:", &vietnam_time(time));
    }
    if let Some(tsa) = &s.timestamp_authority {
        line(
            out,
            "Đơn vị cấp dấu thời gian:",
            "Timestamp authority:",
            tsa,
        );
    }
    if let Some(level) = &s.level {
        line(out, "Mức PAdES:", "PAdES level:", level);
    }
    let coverage = match (s.coverage, vi) {
        (Coverage::WholeFile, true) => "toàn bộ tệp",
        (Coverage::WholeFile, false) => "whole file",
        (Coverage::Revision, true) => "một phiên bản trước (có thay đổi sau khi ký)",
        (Coverage::Revision, false) => "an earlier revision (changed after signing)",
        (Coverage::Partial, true) => "một phần tệp",
        (Coverage::Partial, false) => "part of the file",
    };
    line(out, "Phạm vi ký:", "Coverage:", coverage);
    if let Some(reason) = &s.reason {
        line(out, "Lý do:", "Reason:", reason);
    }
    for r in &s.revocation {
        let status = match (r.status, vi) {
            ("good", true) => "chưa bị thu hồi",
            ("revoked", true) => "đã bị thu hồi",
            (_, true) => "không xác định",
            (other, false) => other,
        };
        let source = r
            .source
            .as_ref()
            .map(|src| format!(" ({:?}, {})", src.kind, src.origin))
            .unwrap_or_default();
        line(
            out,
            "Trạng thái thu hồi:",
            "Revocation:",
            &format!("{status}{source}: {}", r.subject),
        );
    }
    if !s.modifications.changes.is_empty() {
        line(
            out,
            "Thay đổi sau khi ký:",
            "Changes after signing:",
            &s.modifications.level,
        );
        for change in s.modifications.changes.iter().take(20) {
            let _ = writeln!(
                out,
                "    [{}] {}",
                match change.allowed {
                    super::Allowed::Yes =>
                        if vi {
                            "được phép"
                        } else {
                            "allowed"
                        },
                    super::Allowed::Warn =>
                        if vi {
                            "cảnh báo"
                        } else {
                            "warning"
                        },
                    super::Allowed::No =>
                        if vi {
                            "KHÔNG được phép"
                        } else {
                            "NOT allowed"
                        },
                },
                if vi {
                    &change.detail_vi
                } else {
                    &change.detail
                }
            );
        }
    }
    for message in &s.messages {
        let mark = match message.severity {
            super::messages::Severity::Error => "✗",
            super::messages::Severity::Warning => "!",
            super::messages::Severity::Info => "·",
        };
        let text = if vi { &message.vi } else { &message.en };
        match &message.detail {
            Some(detail) if !detail.is_empty() => {
                let _ = writeln!(out, "  {mark} {text} [{}] ({detail})", message.code);
            }
            _ => {
                let _ = writeln!(out, "  {mark} {text} [{}]", message.code);
            }
        }
    }
}
