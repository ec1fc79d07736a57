//! `hoso export` and `hoso import`: a dossier as a BagIt package (folder or zip) and back
//! (src/archive/bagit.rs has the package layout).

use std::path::PathBuf;

use clap::Args;

use super::{Format, actor_or_login, print_report};
use crate::archive::ArchiveError;
use crate::archive::codes::DossierCode;
use crate::config::Config;
use crate::error::Result;
use crate::pipeline::Pipeline;

#[derive(Debug, Args)]
pub(super) struct ExportArgs {
    /// Mã hồ sơ / The dossier's code, e.g. H53.100.01-261123-530001
    #[arg(long, value_name = "CODE")]
    dossier: String,
    /// Thư mục mới (hoặc rỗng) hay tệp .zip / A new (or empty) folder, or FILE.zip
    #[arg(short = 'o', long = "output", value_name = "DIR|FILE.zip")]
    output: PathBuf,
    /// Who exports, for the audit trail [default: $USER]
    #[arg(long, env = "HOSO_ACTOR", value_name = "NAME")]
    actor: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Args)]
pub(super) struct ImportArgs {
    /// Gói hồ sơ do `hoso export` tạo / A package written by `hoso export`
    #[arg(value_name = "DIR|FILE.zip")]
    path: PathBuf,
    /// Who imports, for the audit trail [default: $USER]
    #[arg(long, env = "HOSO_ACTOR", value_name = "NAME")]
    actor: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

pub(super) async fn export(config: Config, args: ExportArgs) -> Result<()> {
    let code = DossierCode::parse(&args.dossier)
        .map_err(|value| ArchiveError::DossierCodeInvalid { value })?;
    let pipeline = Pipeline::open(&config).await?;
    let result = pipeline
        .archive()
        .export_dossier(
            pipeline.blobs(),
            &code,
            &args.output,
            &actor_or_login(args.actor),
            time::OffsetDateTime::now_utc(),
        )
        .await;
    pipeline.close().await;
    let report = result?;
    print_report(args.format, &report, || {
        format!(
            "đã xuất hồ sơ (exported) {} → {} ({}): {} tệp dữ liệu (payload files), {} byte; \
             {} tài liệu (documents), {} phiên bản (versions), {} báo cáo kiểm tra (reports), \
             {} dòng nhật ký (audit lines); manifest-sha256 {}; nhật ký (audit) #{}",
            report.dossier,
            report.target,
            report.package,
            report.payload_files,
            report.payload_bytes,
            report.documents,
            report.versions,
            report.reports,
            report.audit_lines,
            report.manifest_sha256,
            report.audit_seq
        )
    })
}

pub(super) async fn import(config: Config, args: ImportArgs) -> Result<()> {
    let pipeline = Pipeline::open(&config).await?;
    let result = pipeline
        .archive()
        .import_dossier(
            pipeline.blobs(),
            &args.path,
            &config.data_dir,
            &actor_or_login(args.actor),
            time::OffsetDateTime::now_utc(),
        )
        .await;
    pipeline.close().await;
    let report = result?;
    print_report(args.format, &report, || {
        let procedure = match report.procedure {
            crate::archive::bagit::ProcedureOutcome::Inserted => {
                "thủ tục mới được thêm vào danh mục (procedure added)"
            }
            crate::archive::bagit::ProcedureOutcome::Existing => {
                "thủ tục đã có (procedure present)"
            }
            crate::archive::bagit::ProcedureOutcome::ExistingDiffers => {
                "thủ tục đã có nhưng khác gói, giữ bản hiện có \
                 (procedure present with other content, kept)"
            }
        };
        format!(
            "đã nhập hồ sơ (imported) {} từ (from) {}: {} tài liệu (documents), {} phiên bản \
             (versions), {} báo cáo (reports), {} nội dung ({} mới) (contents, new); {} dòng \
             nhật ký nguồn (source audit lines); {procedure}; manifest-sha256 {}; \
             nhật ký (audit) #{}",
            report.dossier,
            report.source,
            report.documents,
            report.versions,
            report.reports,
            report.blobs,
            report.blobs_new,
            report.audit_lines,
            report.manifest_sha256,
            report.audit_seq
        )
    })
}
