//! `hoso ingest` and `hoso document …`: putting files into the archive and looking at what
//! it keeps of them.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Subcommand, ValueEnum};

use super::{Format, actor_or_login, report, to_json, vn_time, with_runtime};
use crate::archive::ArchiveError;
use crate::archive::codes::DossierCode;
use crate::archive::documents::{
    DocumentMetadata, DocumentRecord, DocumentRole, NewVersion, VersionKind,
};
use crate::config::Config;
use crate::error::{Coded, Error, Result};
use crate::pipeline::Pipeline;
use crate::pipeline::ingest::{IngestOutcome, IngestRequest};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum RoleArg {
    /// Thành phần hồ sơ (a paper handed in)
    Input,
    /// Kết quả giải quyết
    Result,
    /// Văn bản đi
    Outgoing,
    /// Văn bản đến
    Incoming,
    /// Bản sao điện tử có chứng thực
    CertifiedCopy,
    /// Tài liệu kèm theo
    Attachment,
}

impl From<RoleArg> for DocumentRole {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Input => DocumentRole::Input,
            RoleArg::Result => DocumentRole::Result,
            RoleArg::Outgoing => DocumentRole::Outgoing,
            RoleArg::Incoming => DocumentRole::Incoming,
            RoleArg::CertifiedCopy => DocumentRole::CertifiedCopy,
            RoleArg::Attachment => DocumentRole::Attachment,
        }
    }
}

#[derive(Debug, Args)]
pub(super) struct IngestArgs {
    /// Files to store (PDF, PNG, JPEG, TIFF scans; other files are kept as they are)
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The dossier the files belong to (AGENCY-YYMMDD-AANNNN)
    #[arg(long, value_name = "CODE")]
    dossier: Option<String>,
    /// What the files are in the dossier
    #[arg(long, value_enum, default_value_t = RoleArg::Input)]
    role: RoleArg,
    /// Recognize scans (OCR) into a searchable PDF, stored as version 2
    #[arg(long)]
    ocr: bool,
    /// Decree 30 metadata as JSON, or @FILE: {"type_name":"Quyết định","code_number":"12",
    /// "code_notation":"QĐ-UBND","issued_date":"2026-03-05","organ_name":"…","subject":"…"}
    #[arg(long, value_name = "JSON")]
    metadata: Option<String>,
    /// Verify signed PDFs without fetching OCSP, CRL or certificates
    #[arg(long)]
    offline: bool,
    /// Who stores them, for the audit trail [default: the login name]
    #[arg(long, env = "HOSO_ACTOR", value_name = "NAME")]
    actor: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Subcommand)]
pub(super) enum DocumentCommand {
    /// Xem tài liệu, các phiên bản và chữ ký / Show a document, its versions and signatures
    Show {
        id: i64,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Lấy nội dung một phiên bản ra tệp / Write a version's content to a file
    #[command(disable_version_flag = true)]
    Get {
        id: i64,
        /// Version number [default: the newest]
        #[arg(long)]
        version: Option<i64>,
        /// Output file (must not exist)
        #[arg(short, long)]
        output: PathBuf,
        #[arg(long, env = "HOSO_ACTOR", value_name = "NAME")]
        actor: Option<String>,
    },
    /// In văn bản nhận dạng (OCR) / Print the recognized text of a version
    #[command(disable_version_flag = true)]
    Text {
        id: i64,
        #[arg(long)]
        version: Option<i64>,
        #[arg(long, env = "HOSO_ACTOR", value_name = "NAME")]
        actor: Option<String>,
    },
    /// Sửa siêu dữ liệu (tạo phiên bản mới) / Correct metadata: a new version, same content
    Edit {
        id: i64,
        /// The fields to change, as JSON (or @FILE): a value sets a field, null clears it,
        /// the others are kept
        #[arg(long, value_name = "JSON")]
        metadata: String,
        /// Why (kept in the history)
        #[arg(long)]
        reason: String,
        #[arg(long, env = "HOSO_ACTOR", value_name = "NAME")]
        actor: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Kiểm tra lại chữ ký và lưu báo cáo / Re-verify a version's signatures and store the report
    #[command(disable_version_flag = true)]
    Verify {
        id: i64,
        #[arg(long)]
        version: Option<i64>,
        #[arg(long)]
        offline: bool,
        #[arg(long, env = "HOSO_ACTOR", value_name = "NAME")]
        actor: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

/// `--metadata` text: JSON, or `@FILE` holding JSON.
fn metadata_arg(text: &str) -> Result<DocumentMetadata> {
    Ok(DocumentMetadata::from_json(&metadata_text(text)?)?)
}

/// The JSON of `--metadata`: the text itself, or the content of `@FILE`.
fn metadata_text(text: &str) -> Result<String> {
    let json = match text.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).map_err(|e| {
            Error::Archive(ArchiveError::MetadataInvalid {
                reason: format!("cannot read {path}: {e}"),
            })
        })?,
        None => text.to_owned(),
    };
    Ok(json)
}

fn dossier_code(text: &str) -> Result<DossierCode> {
    DossierCode::parse(text)
        .map_err(|value| Error::Archive(ArchiveError::DossierCodeInvalid { value }))
}

fn render_outcome(outcome: &IngestOutcome) -> String {
    let mut line = if outcome.duplicate {
        format!(
            "{}: đã có trong hồ sơ, không lưu lại (already stored) → tài liệu (document) {} phiên bản (version) {}",
            outcome.file, outcome.id, outcome.version
        )
    } else {
        format!(
            "{}: đã lưu (stored) → tài liệu (document) {} phiên bản (version) {}  sha256 {}",
            outcome.file, outcome.id, outcome.version, outcome.sha256
        )
    };
    if let Some(ocr) = &outcome.ocr {
        line.push_str(&format!(
            "\n  OCR: {} trang (pages), {} ký tự (characters){}",
            ocr.pages,
            ocr.characters,
            ocr.mean_confidence
                .map(|c| format!(", độ tin cậy (confidence) {c:.0}"))
                .unwrap_or_default()
        ));
    }
    if let Some(s) = &outcome.signatures {
        line.push_str(&format!(
            "\n  chữ ký (signatures): {} → {}",
            s.count, s.indication
        ));
    }
    line
}

/// `hoso ingest`: every file is tried; exit 1 when any failed (each failure is reported
/// with its code, the others are stored).
pub(super) fn ingest(config: &Config, args: IngestArgs) -> ExitCode {
    let result = with_runtime_value(async {
        let dossier = args.dossier.as_deref().map(dossier_code).transpose()?;
        let metadata = match &args.metadata {
            Some(text) => metadata_arg(text)?,
            None => DocumentMetadata::default(),
        };
        let pipeline = Arc::new(Pipeline::open(config).await?);
        let actor = actor_or_login(args.actor.clone());
        let mut outcomes = Vec::new();
        let mut failures = Vec::new();
        for file in &args.files {
            let request = IngestRequest {
                path: file.clone(),
                file_name: None,
                dossier: dossier.clone(),
                role: args.role.into(),
                metadata: metadata.clone(),
                ocr: args.ocr,
                offline: args.offline,
                actor: actor.clone(),
            };
            match pipeline
                .ingest(request, time::OffsetDateTime::now_utc())
                .await
            {
                Ok(outcome) => {
                    if matches!(args.format, Format::Text) {
                        println!("{}", render_outcome(&outcome));
                    }
                    outcomes.push(outcome);
                }
                Err(e) => {
                    eprintln!(
                        "{}: lỗi [{}] {}\n  ({e})",
                        file.display(),
                        e.code(),
                        e.message_vi()
                    );
                    failures.push(serde_json::json!({
                        "file": file.display().to_string(),
                        "code": e.code(),
                        "message_vi": e.message_vi(),
                        "message": e.to_string(),
                    }));
                }
            }
        }
        pipeline.close().await;
        if matches!(args.format, Format::Json) {
            println!(
                "{}",
                to_json(&serde_json::json!({ "documents": outcomes, "failed": failures }))?
            );
        }
        Ok(failures.is_empty())
    });
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => report(&e),
    }
}

fn with_runtime_value<T>(work: impl Future<Output = Result<T>>) -> Result<T> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Task(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(work)
}

fn render_record(record: &DocumentRecord) -> String {
    let d = &record.document;
    let mut text = format!(
        "Tài liệu (document) {}  vai trò (role): {} ({})\nHồ sơ (dossier): {}\nTạo lúc (created): {} bởi (by) {}\n",
        d.document_id,
        d.role.as_str(),
        d.role.label_vi(),
        d.dossier_code.as_deref().unwrap_or("—"),
        vn_time(d.created_at),
        d.created_by
    );
    if let Some(latest) = record.latest() {
        let m = &latest.metadata;
        let field = |label: &str, value: Option<String>| {
            value
                .map(|v| format!("  {label}: {v}\n"))
                .unwrap_or_default()
        };
        text.push_str("Siêu dữ liệu (metadata):\n");
        text.push_str(&field("Loại (type)", m.type_name.clone()));
        let notation = match (&m.code_number, &m.code_notation) {
            (Some(n), Some(s)) => Some(format!("{n}/{s}")),
            (Some(n), None) => Some(n.clone()),
            (None, Some(s)) => Some(s.clone()),
            (None, None) => None,
        };
        text.push_str(&field("Số, ký hiệu (number)", notation));
        text.push_str(&field(
            "Ngày (issued)",
            m.issued_date.map(|d| d.to_string()),
        ));
        text.push_str(&field("Cơ quan ban hành (issuer)", m.organ_name.clone()));
        text.push_str(&field("Trích yếu (subject)", m.subject.clone()));
        text.push_str(&field("Người ký (signer)", m.signer_name.clone()));
        text.push_str(&field(
            "Số trang (pages)",
            m.page_count.map(|n| n.to_string()),
        ));
    }
    text.push_str("Phiên bản (versions):\n");
    for v in &record.versions {
        text.push_str(&format!(
            "  v{} {:<9} {}  {} bytes  {}  {}  «{}» ({})\n",
            v.version,
            v.kind.as_str(),
            v.file_name,
            v.size_bytes,
            &v.sha256[..16],
            vn_time(v.created_at),
            v.reason,
            v.created_by
        ));
    }
    if !record.reports.is_empty() {
        text.push_str("Kiểm tra chữ ký (verifications):\n");
        for r in &record.reports {
            text.push_str(&format!(
                "  báo cáo (report) {} của phiên bản (of version id) {}: {}{}  lúc (at) {}\n",
                r.report_id,
                r.version_id,
                r.indication,
                r.subindication
                    .as_deref()
                    .map(|s| format!("/{s}"))
                    .unwrap_or_default(),
                vn_time(r.checked_at)
            ));
        }
        for s in &record.signatures {
            text.push_str(&format!(
                "    {}  {}  {}{}\n",
                s.field_name,
                s.signer.as_deref().unwrap_or("?"),
                s.indication,
                s.level
                    .as_deref()
                    .map(|l| format!(" {l}"))
                    .unwrap_or_default()
            ));
        }
    }
    text.trim_end().to_owned()
}

/// Picks version `number` (or the newest) of a record.
fn pick_version(
    record: &DocumentRecord,
    number: Option<i64>,
) -> Result<crate::archive::documents::Version> {
    let found = match number {
        Some(n) => record.versions.iter().find(|v| v.version == n),
        None => record.versions.last(),
    };
    found.cloned().ok_or_else(|| {
        Error::Archive(ArchiveError::FieldInvalid {
            field: "version",
            value: number.map(|n| n.to_string()).unwrap_or_default(),
            reason: format!(
                "document {} has no such version",
                record.document.document_id
            ),
        })
    })
}

pub(super) fn document(config: Config, command: DocumentCommand) -> ExitCode {
    let result = with_runtime(async move {
        let pipeline = Arc::new(Pipeline::open(&config).await?);
        let outcome = run_document(&pipeline, command).await;
        pipeline.close().await;
        outcome
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e),
    }
}

async fn run_document(pipeline: &Arc<Pipeline>, command: DocumentCommand) -> Result<()> {
    let archive = pipeline.archive();
    let now = time::OffsetDateTime::now_utc();
    match command {
        DocumentCommand::Show { id, format } => {
            let record = archive.document(id).await?;
            match format {
                Format::Text => println!("{}", render_record(&record)),
                Format::Json => println!("{}", to_json(&record)?),
            }
        }
        DocumentCommand::Text { id, version, actor } => {
            let record = archive.document(id).await?;
            let v = pick_version(&record, version)?;
            // Reading the text of a confidential document is recorded like a download.
            archive
                .open_version(v.version_id, &actor_or_login(actor), now)
                .await?;
            let text = archive
                .version_text(v.version_id)
                .await?
                .unwrap_or_default();
            println!("{text}");
        }
        DocumentCommand::Get {
            id,
            version,
            output,
            actor,
        } => {
            let record = archive.document(id).await?;
            let v = pick_version(&record, version)?;
            let actor = actor_or_login(actor);
            let v = archive.open_version(v.version_id, &actor, now).await?;
            pipeline.copy_version_to(&v, &output, &actor, now).await?;
            eprintln!(
                "đã ghi (wrote) {} ({} bytes, sha256 {})",
                output.display(),
                v.size_bytes,
                v.sha256
            );
        }
        DocumentCommand::Edit {
            id,
            metadata,
            reason,
            actor,
            format,
        } => {
            // The same edit as the API's PATCH /documents/{id}/metadata.
            let stored = pipeline
                .edit_metadata(
                    id,
                    None,
                    &metadata_text(&metadata)?,
                    &reason,
                    &actor_or_login(actor),
                    now,
                )
                .await?;
            match format {
                Format::Text => println!(
                    "đã lưu phiên bản (stored version) {} của tài liệu (of document) {}",
                    stored.version, id
                ),
                Format::Json => println!("{}", to_json(&stored)?),
            }
        }
        DocumentCommand::Verify {
            id,
            version,
            offline,
            actor,
            format,
        } => {
            let record = archive.document(id).await?;
            let v = pick_version(&record, version)?;
            let actor = actor_or_login(actor);
            let report = pipeline.reverify(&v, offline, &actor, now).await?;
            match format {
                Format::Text => println!(
                    "tài liệu (document) {id} v{}: {} chữ ký (signatures) → {}",
                    v.version,
                    report.signatures.len(),
                    serde_json::to_value(report.indication)
                        .ok()
                        .and_then(|i| i.as_str().map(str::to_owned))
                        .unwrap_or_default()
                ),
                Format::Json => println!("{}", to_json(&report)?),
            }
        }
    }
    Ok(())
}

#[derive(Debug, Args)]
pub(super) struct PreserveArgs {
    /// Gia hạn những tài liệu hết hạn trong số ngày này / Extend what expires within this
    /// many days
    #[arg(long, default_value_t = 180, value_name = "DAYS")]
    horizon_days: u32,
    /// Time-stamping authority (RFC 3161) for the archive timestamps
    #[arg(long, env = "HOSO_TSA_URL", value_name = "URL")]
    tsa: Option<String>,
    /// Only list what is due
    #[arg(long)]
    dry_run: bool,
    #[arg(long, env = "HOSO_ACTOR", value_name = "NAME")]
    actor: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// `hoso preserve`: exit 0 when everything due was extended (or nothing was due), 1 when
/// any document could not be.
pub(super) fn preserve(config: &Config, args: PreserveArgs) -> ExitCode {
    use crate::pipeline::preserve::PreserveOptions;
    let result = with_runtime_value(async {
        let pipeline = Arc::new(Pipeline::open(config).await?);
        let options = PreserveOptions {
            horizon: time::Duration::days(i64::from(args.horizon_days)),
            tsa_url: args.tsa.clone(),
            dry_run: args.dry_run,
            actor: actor_or_login(args.actor.clone()),
        };
        let outcome = pipeline
            .preserve(&options, time::OffsetDateTime::now_utc())
            .await;
        pipeline.close().await;
        outcome
    });
    let report = match result {
        Ok(report) => report,
        Err(e) => return report(&e),
    };
    match args.format {
        Format::Json => match to_json(&report) {
            Ok(json) => println!("{json}"),
            Err(e) => return super::report(&e),
        },
        Format::Text => {
            println!(
                "Đã xét {} tài liệu có chữ ký (signed documents checked); {} đến hạn gia hạn (due within {} days)",
                report.checked,
                report.due.len(),
                args.horizon_days
            );
            for due in &report.due {
                println!(
                    "  tài liệu (document) {} v{}: {} hết hạn (expires) {}  {}",
                    due.document_id,
                    due.version,
                    if due.what == "timestamp" {
                        "dấu thời gian (timestamp)"
                    } else {
                        "chứng thư người ký (signer)"
                    },
                    vn_time(due.expires_at),
                    due.subject
                );
            }
            for e in &report.extended {
                println!(
                    "  → đã gia hạn (extended) tài liệu {} thành phiên bản (version) {}: {}",
                    e.document_id, e.version, e.indication
                );
            }
            for f in &report.failed {
                eprintln!(
                    "  ✗ tài liệu (document) {}: [{}] {}\n    ({})",
                    f.document_id, f.code, f.message_vi, f.message
                );
            }
        }
    }
    if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `hoso sign --document ID …`: signs (or extends) the newest version of an archived
/// document with the same options as a file, and stores the result as its next version
/// (`signed` or `extended`), verified, with the report. The archived bytes are never
/// touched: the version is copied out (checked), signed into a new file, and stored. Signing
/// goes through [`Pipeline::sign_versions`], as the API's does.
pub(super) fn sign_document(config: &Config, id: i64, args: super::SignArgs) -> Result<()> {
    if args.extend.is_some() {
        return extend_document(config, id, args);
    }
    use crate::pipeline::sign::{AppearanceSettings, SignSettings, SignTarget};
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Task(format!("cannot start the async runtime: {e}")))?;
    let pipeline = Arc::new(runtime.block_on(Pipeline::open(config))?);
    let actor = actor_or_login(args.actor.clone());
    let now = time::OffsetDateTime::now_utc();
    let target = SignTarget {
        document_id: id,
        expected_version: None,
    };
    // Refused before the password or PIN is asked for.
    runtime.block_on(pipeline.signable_version(&target))?;
    let supplied = super::supplied_validation(&args)?;
    let extra_certificates = super::chain_certificates(&args)?;
    let signer = super::signing_key(&args, &extra_certificates)?;
    let settings = SignSettings {
        level: args.level.unwrap_or(if args.tsa.is_some() {
            crate::pades::sign::Level::BT
        } else {
            crate::pades::sign::Level::BB
        }),
        tsa_url: args.tsa.clone(),
        reason: args.reason.clone(),
        location: args.location.clone(),
        appearance: AppearanceSettings {
            kind: super::request_kind(&args),
            image_png: args.image.as_deref().map(read_image).transpose()?,
            page: args.page.map(|p| p as usize - 1),
            anchor: args.anchor.clone(),
            rect: args.rect,
            organization: args.organization.clone(),
            qr_base_url: args.qr.clone(),
            seal_diameter_mm: args.seal_size,
            time_format: args.time_format.clone(),
        },
        offline: args.offline,
        contact: args.contact.clone(),
        digest: args.digest,
        pss: args.pss,
        certify: args.certify.parse::<u8>().ok(),
        field: args.field.clone(),
        allow_untrusted: args.allow_untrusted,
        check_revocation: args.check_revocation,
        extra_certificates,
        supplied,
    };
    let outcome = runtime.block_on(async {
        let outcome = pipeline
            .sign_versions(signer, &[target], &settings, &actor, now)
            .await;
        pipeline.close().await;
        outcome
    })?;
    let stored = outcome
        .into_iter()
        .next()
        .ok_or_else(|| Error::Task("no outcome for the document".to_owned()))??;
    let signed = &stored.signature;
    super::print_report(args.format, signed, || {
        format!(
            "đã ký (signed): tài liệu (document) {id}  field={} level={} signer=\"{}\" reserved={}B used={}B sha256={}",
            signed.field, signed.level, signed.signer, signed.reserved, signed.used, signed.sha256
        )
    })?;
    match &stored.indication {
        Some(indication) => eprintln!("kiểm tra (verified): {indication}"),
        None => {
            eprintln!("cảnh báo: chưa kiểm tra được chữ ký; chạy lại: hoso document verify {id}")
        }
    }
    eprintln!(
        "đã lưu phiên bản (stored version) {} của tài liệu (of document) {id}  sha256 {}",
        stored.version, stored.sha256
    );
    Ok(())
}

/// `--image` for an archived document: read here, checked by the layout like a file's.
fn read_image(path: &std::path::Path) -> Result<Vec<u8>> {
    use std::io::Read;
    // The layout refuses more than 20 MB: one byte over is enough for it to say so.
    const READ_AT_MOST: u64 = 20 * 1024 * 1024 + 1;
    let unreadable = |e: std::io::Error| {
        Error::Pades(crate::pades::PadesError::from(
            crate::pades::appearance::AppearanceError::ImageUnreadable {
                path: path.to_owned(),
                reason: e.to_string(),
            },
        ))
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(unreadable)?
        .take(READ_AT_MOST)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    Ok(bytes)
}

/// `hoso sign --document ID --extend LEVEL`: the newest version extended with validation
/// data (and, for B-LTA, an archive timestamp), stored as an `extended` version.
fn extend_document(config: &Config, id: i64, mut args: super::SignArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Task(format!("cannot start the async runtime: {e}")))?;
    let pipeline = Arc::new(runtime.block_on(Pipeline::open(config))?);
    let actor = actor_or_login(args.actor.clone());
    let now = time::OffsetDateTime::now_utc();
    let latest = runtime.block_on(pipeline.signable_version(
        &crate::pipeline::sign::SignTarget {
            document_id: id,
            expected_version: None,
        },
    ))?;
    let work = tempfile::tempdir().map_err(|e| Error::Task(e.to_string()))?;
    let input = work.path().join("input.pdf");
    let output = work.path().join("signed.pdf");
    runtime.block_on(pipeline.copy_version_to(&latest, &input, &actor, now))?;
    args.input = Some(input);
    args.output = Some(output.clone());
    args.document = None;
    let signed = super::sign(config, args);
    // This thread signed and now talks to the database.
    crate::trust::clear_openssl_errors();
    signed?;
    let stored = runtime.block_on(async {
        let mut file = tokio::fs::File::open(&output)
            .await
            .map_err(|e| Error::Task(format!("{}: {e}", output.display())))?;
        let blob = pipeline.store(&mut file, "application/pdf", now).await?;
        let stored = pipeline
            .archive()
            .add_version(
                &NewVersion {
                    document_id: id,
                    parent_version: latest.version,
                    kind: VersionKind::Extended,
                    sha256: blob
                        .sha256
                        .parse()
                        .map_err(|_| Error::Task("stored digest is not hex".to_owned()))?,
                    file_name: None,
                    metadata: None,
                    ocr: None,
                    actor: actor.clone(),
                    reason: "gia hạn chữ ký (extended)".to_owned(),
                },
                now,
            )
            .await?;
        let version = pipeline
            .archive()
            .document(id)
            .await?
            .versions
            .into_iter()
            .find(|v| v.version_id == stored.version_id)
            .ok_or_else(|| Error::Task("the new version vanished".to_owned()))?;
        // The signature is stored whatever the check says; a check that cannot run now
        // (network) is retried with `hoso document verify`.
        match pipeline.reverify(&version, false, &actor, now).await {
            Ok(report) => eprintln!(
                "kiểm tra (verified): {}",
                serde_json::to_value(report.indication)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            ),
            Err(e) => eprintln!(
                "cảnh báo: chưa kiểm tra được chữ ký [{}] {} ({e}); chạy lại: hoso document verify {id}",
                e.code(),
                e.message_vi()
            ),
        }
        pipeline.close().await;
        Ok::<_, Error>(stored)
    })?;
    eprintln!(
        "đã lưu phiên bản (stored version) {} của tài liệu (of document) {id}  sha256 {}",
        stored.version, stored.sha256
    );
    Ok(())
}
