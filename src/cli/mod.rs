//! Command-line interface: argument parsing (clap), dispatch to the library, and the
//! translation of errors into messages and exit codes.
//!
//! Exit codes: 0 success; 1 the operation failed; 2 usage or configuration error (unknown
//! flag, bad value); 69 the command exists but is not in this version yet. Commands with
//! their own verdict codes (`verify`) document them on the command.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{Config, ConfigError, Overrides, redact_password};
use crate::error::{Coded, Error, ErrorClass, Result};
use crate::ocr::Languages;
use crate::pipeline::Pipeline;
use crate::trust::TrustStore;

mod documents;
mod export;
mod fixity;
mod stats;
mod users;

/// hoso (hồ sơ): số hóa, ký số, kiểm tra và lưu trữ hồ sơ cho Bộ phận Một cửa.
/// Document engine for one-stop offices: digitize, sign, verify, archive.
#[derive(Debug, Parser)]
#[command(name = "hoso", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Settings shared by every command (see `hoso config` for the effective values).
#[derive(Debug, Args)]
struct GlobalArgs {
    /// TOML configuration file [default: ./hoso.toml when present]
    #[arg(long, env = "HOSO_CONFIG", global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Folder for the SQLite database and the blob store [default: ./data]
    #[arg(long, env = "HOSO_DATA_DIR", global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// sqlite:PATH or postgres://USER@HOST/DB [default: sqlite in the data dir]
    #[arg(
        long,
        env = "HOSO_DATABASE_URL",
        global = true,
        value_name = "URL",
        hide_env_values = true
    )]
    database_url: Option<String>,
    /// Extra folder of trusted certificates, added to the configured trust store
    /// (certs/trust by default; HOSO_TRUST_DIRS or trust_dirs in hoso.toml replace that);
    /// repeat for several
    #[arg(long = "trust", global = true, value_name = "DIR")]
    trust: Vec<PathBuf>,
    /// Tesseract languages for OCR, joined by '+' [default: vie+eng]
    #[arg(long, env = "HOSO_OCR_LANGUAGES", global = true, value_name = "LANGS")]
    ocr_languages: Option<Languages>,
    /// CPU-bound jobs run at once [default: number of cores]
    #[arg(long, env = "HOSO_JOBS", global = true, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Log filter, e.g. info or hoso=debug [default: info for serve, warn otherwise]
    #[arg(long, env = "HOSO_LOG", global = true, value_name = "FILTER")]
    log: Option<String>,
    /// Electronic ID of this office's agency, the prefix of dossier codes, e.g. H53.100.01
    /// [default: the test code X99.999.99]
    #[arg(long, env = "HOSO_AGENCY_CODE", global = true, value_name = "CODE")]
    agency_code: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Chạy dịch vụ HTTP / Run the HTTP service (API, health checks)
    Serve(ServeArgs),
    /// Số hóa: ảnh quét -> PDF tìm kiếm được / OCR scans into a searchable PDF (issue #3)
    Ocr(OcrArgs),
    /// Ký số PAdES / Sign a PDF with a PAdES signature (B-B, B-T, B-LT, B-LTA)
    Sign(Box<SignArgs>),
    /// Kiểm tra chữ ký / Verify the signatures of a PDF (issue #5)
    Verify(VerifyArgs),
    /// Kiểm tra một chứng thư số / Check a certificate alone: chain, validity, revocation
    VerifyCert(VerifyCertArgs),
    /// Đưa tài liệu vào kho lưu trữ / Ingest documents into the archive (issue #6)
    Ingest(documents::IngestArgs),
    /// Tài liệu trong kho: xem, lấy ra, sửa siêu dữ liệu, kiểm tra lại chữ ký / Documents:
    /// show, get, edit metadata, re-verify
    #[command(subcommand)]
    Document(documents::DocumentCommand),
    /// Gia hạn lưu trữ dài hạn (B-LTA) tài liệu sắp hết hạn / Extend signed documents nearing
    /// expiry to B-LTA, as new versions
    Preserve(documents::PreserveArgs),
    /// Tìm kiếm hồ sơ, tài liệu / Search the archive (issue #6)
    Search(SearchArgs),
    /// Danh mục thủ tục hành chính / The procedure catalogue (TTHC)
    #[command(subcommand)]
    Procedure(ProcedureCommand),
    /// Hồ sơ: tiếp nhận, xem, chuyển bước / Dossiers: receive, show, advance
    #[command(subcommand)]
    Dossier(DossierCommand),
    /// Ngày nghỉ (không tính vào thời hạn) / Holidays skipped by due dates
    #[command(subcommand)]
    Holiday(HolidayCommand),
    /// Nhật ký kiểm toán / The hash-chained audit trail
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Xuất hồ sơ thành gói BagIt / Export a dossier as a BagIt package (folder or .zip):
    /// every version, metadata, verification reports and audit entries
    Export(export::ExportArgs),
    /// Nhập gói hồ sơ / Import a dossier package written by `hoso export` (verified first)
    Import(export::ImportArgs),
    /// Kiểm tra toàn vẹn kho lưu trữ / Fixity: re-hash stored blobs, report changed, missing
    /// and untracked objects
    ///
    /// Mã thoát (exit code): 0 nguyên vẹn (intact); 1 có nội dung bị thay đổi hoặc bị mất
    /// (changed or missing), hoặc không kiểm tra được; đối tượng không có trong sổ (untracked)
    /// mà thôi: 0 kèm cảnh báo (0 with a warning: the records are intact, an untracked object
    /// needs review). Mỗi lần chạy ghi một mục fixity.check vào nhật ký kiểm toán (each run is
    /// an audit entry).
    Fixity(fixity::FixityArgs),
    /// Thống kê giải quyết hồ sơ / Statistics of a period: received, resolved early, on time
    /// or late, pending, on-time and digitization rates (vn-standards.md §5)
    Stats(stats::StatsArgs),
    /// Người dùng dịch vụ web / Users of the web service: add, set password, disable, list
    #[command(subcommand)]
    User(users::UserCommand),
    /// Khóa ký số của lãnh đạo / Signing keys of officials: add (PKCS#12 or PKCS#11), list
    #[command(subcommand)]
    Key(users::KeyCommand),
    /// Mã truy cập API / API tokens: create (the secret is shown once), revoke, list
    #[command(subcommand)]
    Token(users::TokenCommand),
    /// Kho chứng thư tin cậy / Trusted root certificates
    #[command(subcommand)]
    Trust(TrustCommand),
    /// Áp dụng migration CSDL rồi thoát / Apply database migrations and exit
    Migrate,
    /// In cấu hình đang dùng / Print the effective configuration
    Config,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address and port to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "HOSO_LISTEN", value_name = "ADDR:PORT")]
    listen: Option<SocketAddr>,
    /// Thư mục máy quét thả tệp vào / Folder scanners drop files into: each file is stored
    /// once (OCR for scans), then moved to done/ or failed/ (with NAME.reason.txt);
    /// DIR/<dossier code>/ holds the papers of that dossier
    #[arg(long, env = "HOSO_INBOX", value_name = "DIR")]
    inbox: Option<PathBuf>,
    /// Largest upload accepted per request, in MB [default: 512]
    #[arg(long, env = "HOSO_UPLOAD_LIMIT_MB", value_name = "MB", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    upload_limit_mb: Option<u64>,
    /// Send the session cookie without the Secure flag. Only for plain-HTTP test networks:
    /// browsers then send it over unencrypted connections [default: Secure]
    #[arg(long, env = "HOSO_INSECURE_COOKIES")]
    insecure_cookies: bool,
    /// Address citizens reach this service at, for the QR codes on receipts and signed copies
    /// (e.g. https://motcua.example.gov.vn)
    #[arg(long, env = "HOSO_PUBLIC_URL", value_name = "URL")]
    public_url: Option<String>,
    /// Time-stamping authority for signatures made through the service (B-T and above)
    #[arg(long, env = "HOSO_TSA_URL", value_name = "URL")]
    tsa: Option<String>,
    /// Public verifications per client address per minute [default: 30]
    #[arg(long, env = "HOSO_VERIFY_PER_MINUTE", value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    verify_per_minute: Option<u32>,
    /// A PKCS#11 module administrators may register token keys on (vendor token drivers);
    /// repeat for several. Debian's SoftHSM2 and OpenSC modules are always allowed
    #[arg(
        long = "pkcs11-module",
        env = "HOSO_PKCS11_MODULES",
        value_delimiter = ':',
        value_name = "SO"
    )]
    pkcs11_modules: Vec<PathBuf>,
    /// Largest file public verification accepts, in MB [default: 100]
    #[arg(long, env = "HOSO_VERIFY_LIMIT_MB", value_name = "MB", value_parser = clap::value_parser!(u64).range(1..=100_000))]
    verify_limit_mb: Option<u64>,
    /// Session idle timeout in minutes [default: 30]
    #[arg(long, env = "HOSO_SESSION_IDLE_MINUTES", value_name = "MIN", value_parser = clap::value_parser!(u64).range(1..=1440))]
    session_idle_minutes: Option<u64>,
}

impl ServeArgs {
    fn http_settings(&self) -> crate::http::HttpSettings {
        let defaults = crate::http::HttpSettings::default();
        crate::http::HttpSettings {
            upload_limit_bytes: self
                .upload_limit_mb
                .map_or(defaults.upload_limit_bytes, |mb| mb * 1024 * 1024),
            cookie_secure: !self.insecure_cookies,
            session_idle: self
                .session_idle_minutes
                .map_or(defaults.session_idle, |m| {
                    std::time::Duration::from_secs(m * 60)
                }),
            public_url: self.public_url.clone(),
            tsa_url: self.tsa.clone(),
            verify_per_minute: self.verify_per_minute.unwrap_or(defaults.verify_per_minute),
            public_verify_limit_bytes: self
                .verify_limit_mb
                .map_or(defaults.public_verify_limit_bytes, |mb| mb * 1024 * 1024),
            pkcs11_modules: defaults
                .pkcs11_modules
                .iter()
                .chain(&self.pkcs11_modules)
                .cloned()
                .collect(),
            ..defaults
        }
    }
}

#[derive(Debug, Args)]
struct OcrArgs {
    /// Scanned pages: PNG, JPEG, TIFF (multi-page) or scanned PDF, in order; they become one PDF
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<PathBuf>,
    /// The searchable PDF to write
    #[arg(short = 'o', long = "output", value_name = "OUT.pdf")]
    output: PathBuf,
    /// Also write the text, pages separated by form feeds
    #[arg(long, value_name = "OUT.txt")]
    text: Option<PathBuf>,
    /// Also write the structured result: per page text, confidence, rotation, skew, word
    /// boxes; per document the extracted metadata (số/ký hiệu, ngày, cơ quan, loại, trích yếu)
    #[arg(long, value_name = "OUT.json")]
    json: Option<PathBuf>,
    /// Tesseract languages [default: vie+eng, or ocr_languages from the configuration]
    #[arg(long, value_name = "LANGS")]
    lang: Option<Languages>,
    /// Do not detect and fix pages scanned sideways or upside down
    #[arg(long)]
    no_rotate: bool,
    /// Do not straighten pages scanned at an angle
    #[arg(long)]
    no_deskew: bool,
    /// Write PDF/A-2b (for archiving): XMP metadata and an sRGB output intent
    #[arg(long)]
    pdfa: bool,
    /// PDF pages that already have text are copied unchanged (the default)
    #[arg(long, group = "text_mode")]
    skip_text: bool,
    /// OCR again PDF pages whose only text is an earlier, invisible OCR layer
    #[arg(long, group = "text_mode")]
    redo_ocr: bool,
    /// OCR every PDF page, rendering pages with text at 300 dpi (their text is replaced)
    #[arg(long, group = "text_mode")]
    force_ocr: bool,
}

impl OcrArgs {
    fn text_pages(&self) -> crate::ocr::pdf_input::TextPages {
        use crate::ocr::pdf_input::TextPages;
        match (self.redo_ocr, self.force_ocr) {
            (true, _) => TextPages::RedoOcr,
            (_, true) => TextPages::ForceOcr,
            _ => TextPages::Keep,
        }
    }
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("key").args(["p12", "pkcs11_module"])))]
struct SignArgs {
    /// The PDF to sign (never modified, except by --extend without -o)
    #[arg(required_unless_present = "document")]
    input: Option<PathBuf>,
    /// Sign (or with --extend, extend) the newest version of archived document ID instead
    /// of a file: the result is stored as its next version, verified, with the report
    #[arg(long, value_name = "ID", conflicts_with_all = ["input", "output"])]
    document: Option<i64>,
    /// Who signs, for the document's history (with --document) [default: the login name]
    #[arg(long, env = "HOSO_ACTOR", value_name = "NAME")]
    actor: Option<String>,
    /// The signed PDF to write (required unless --extend, which then updates INPUT in place)
    #[arg(short = 'o', long = "output", value_name = "OUT.pdf")]
    output: Option<PathBuf>,
    /// Key and certificate in a PKCS#12 file (.p12/.pfx)
    #[arg(long, value_name = "FILE")]
    p12: Option<PathBuf>,
    /// Environment variable holding the PKCS#12 password [default: ask on the terminal]
    #[arg(long, value_name = "VAR")]
    password_env: Option<String>,
    /// PKCS#11 module of the token or HSM, e.g. /usr/lib/softhsm/libsofthsm2.so
    #[arg(long, value_name = "SO", requires_all = ["token_label", "key_label"])]
    pkcs11_module: Option<PathBuf>,
    /// Label of the token
    #[arg(long, value_name = "L")]
    token_label: Option<String>,
    /// Label of the private key (its certificate has the same label or CKA_ID)
    #[arg(long, value_name = "K")]
    key_label: Option<String>,
    /// Environment variable holding the token PIN [default: ask on the terminal]
    #[arg(long, value_name = "VAR")]
    pin_env: Option<String>,
    /// Issuing CA certificates (PEM) to embed when the key file or token lacks them
    #[arg(long, value_name = "FILE")]
    chain: Vec<PathBuf>,
    /// PAdES level [default: B-T when a TSA is configured, else B-B]
    #[arg(long, value_name = "LEVEL", value_parser = parse_level)]
    level: Option<crate::pades::sign::Level>,
    /// Extend an already signed document to this level instead of signing: B-LT adds
    /// validation data, B-LTA also a new archive timestamp
    #[arg(long, value_name = "LEVEL", value_parser = parse_level, conflicts_with_all = ["key", "certify", "appearance"])]
    extend: Option<crate::pades::sign::Level>,
    /// RFC 3161 timestamp authority
    #[arg(long, env = "HOSO_TSA_URL", value_name = "URL")]
    tsa: Option<String>,
    /// Digest algorithm: sha256, sha384 or sha512
    #[arg(long, value_name = "ALG", default_value = "sha256", value_parser = parse_digest)]
    digest: crate::pades::key::DigestAlgorithm,
    /// Use RSASSA-PSS instead of RSA PKCS#1 v1.5 (RSA keys)
    #[arg(long)]
    pss: bool,
    /// Reason for signing (/Reason)
    #[arg(long, value_name = "TEXT")]
    reason: Option<String>,
    /// Place of signing (/Location)
    #[arg(long, value_name = "TEXT")]
    location: Option<String>,
    /// Contact of the signer (/ContactInfo)
    #[arg(long, value_name = "TEXT")]
    contact: Option<String>,
    /// Certification signature (DocMDP): 1 no changes, 2 form filling and signing, 3 also
    /// annotations
    #[arg(long, value_name = "P", default_value = "none", value_parser = ["none", "1", "2", "3"])]
    certify: String,
    /// Signature field: an existing empty one to sign, or the name of the new one
    #[arg(long, value_name = "NAME")]
    field: Option<String>,
    /// Visible signature layout (Decree 30/2020)
    #[arg(long, value_enum, default_value_t = AppearanceKind::None)]
    appearance: AppearanceKind,
    /// Signature image (official: blue PNG) or seal image (organization: red PNG), with
    /// transparency
    #[arg(long, value_name = "PNG")]
    image: Option<PathBuf>,
    /// Page of the visible signature, from 1 [default: the anchor's page, else the last page
    /// for official, the page of the official's signature for organization, 1 for stamps]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    page: Option<u32>,
    /// Rectangle of the visible signature in points from the bottom left: x1,y1,x2,y2
    #[arg(long, value_name = "X1,Y1,X2,Y2", value_parser = parse_rect)]
    rect: Option<[f64; 4]>,
    /// Text on the page under which the official's signature image goes, e.g. the signer's
    /// title "CHỦ TỊCH"
    #[arg(long, value_name = "TEXT")]
    anchor: Option<String>,
    /// Real diameter of the seal in millimetres (organization)
    #[arg(long, value_name = "MM", default_value_t = 36.0)]
    seal_size: f64,
    /// Organization name on the stamp [default: O= of the certificate]
    #[arg(long, value_name = "TEXT")]
    organization: Option<String>,
    /// Copy form on a copy stamp: "SAO Y", "SAO LỤC" or "TRÍCH SAO"
    #[arg(long, value_name = "TEXT", default_value = "SAO Y")]
    copy_type: String,
    /// Number and symbol of the main document on an attachment stamp, e.g. 12/QĐ-UBND
    #[arg(long, value_name = "TEXT")]
    doc_number: Option<String>,
    /// Pattern of the signing time on stamps (dd, MM, yyyy, HH, mm, ss)
    #[arg(
        long,
        value_name = "PATTERN",
        default_value = "dd/MM/yyyy HH:mm:ss +07:00"
    )]
    time_format: String,
    /// Put a QR code with a verification link on the stamp: BASE_URL/verify/SHA256
    #[arg(long, env = "HOSO_VERIFY_BASE_URL", value_name = "BASE_URL")]
    qr: Option<String>,
    /// Sign even if the certificate does not chain to a trust anchor (tests and demos only)
    #[arg(long)]
    allow_untrusted: bool,
    /// Check revocation (OCSP/CRL) before signing at B-B/B-T too
    #[arg(long)]
    check_revocation: bool,
    /// Do not fetch anything (AIA, OCSP, CRL) except from the TSA
    #[arg(long)]
    offline: bool,
    /// OCSP response (DER) to use for revocation status and to embed at B-LT; repeatable
    #[arg(long = "ocsp-response", value_name = "FILE")]
    ocsp_responses: Vec<PathBuf>,
    /// CRL (DER or PEM) to use for revocation status and to embed at B-LT; repeatable
    #[arg(long = "crl", value_name = "FILE")]
    crls: Vec<PathBuf>,
    /// Output format of the report
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum AppearanceKind {
    None,
    Official,
    Organization,
    Copy,
    Attachment,
}

fn parse_level(text: &str) -> std::result::Result<crate::pades::sign::Level, String> {
    crate::pades::sign::Level::parse(text)
        .ok_or_else(|| "expected B-B, B-T, B-LT or B-LTA".to_owned())
}

fn parse_digest(text: &str) -> std::result::Result<crate::pades::key::DigestAlgorithm, String> {
    crate::pades::key::DigestAlgorithm::parse(text)
        .ok_or_else(|| "expected sha256, sha384 or sha512".to_owned())
}

fn parse_rect(text: &str) -> std::result::Result<[f64; 4], String> {
    let values: Vec<f64> = text
        .split(',')
        .map(|v| v.trim().parse::<f64>().map_err(|e| e.to_string()))
        .collect::<std::result::Result<_, _>>()?;
    match values.as_slice() {
        [x1, y1, x2, y2] if x2 > x1 && y2 > y1 && values.iter().all(|v| v.is_finite()) => {
            Ok([*x1, *y1, *x2, *y2])
        }
        _ => Err("expected x1,y1,x2,y2 with x2 > x1 and y2 > y1".to_owned()),
    }
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// The signed PDF (with --detached: the signed file of any kind)
    file: PathBuf,
    /// Validation time (RFC 3339, e.g. 2026-11-23T00:00:00Z); default: now
    #[arg(long, value_parser = parse_rfc3339)]
    at: Option<time::OffsetDateTime>,
    /// No network: no AIA, OCSP or CRL fetching (the document's own data and files only)
    #[arg(long)]
    offline: bool,
    /// strict: any change not known to be safe fails and missing revocation data is
    /// INDETERMINATE; lenient: EU DSS's default (those become warnings)
    #[arg(long, value_enum, default_value_t = PolicyArg::Strict)]
    policy: PolicyArg,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Language of the text report
    #[arg(long, value_enum, default_value_t = LangArg::Vi)]
    lang: LangArg,
    /// A CRL file to use as revocation evidence (repeatable)
    #[arg(long = "crl", value_name = "FILE")]
    crls: Vec<PathBuf>,
    /// An OCSP response file to use as revocation evidence (repeatable)
    #[arg(long = "ocsp-response", value_name = "FILE")]
    ocsp_responses: Vec<PathBuf>,
    /// Extra (intermediate) certificates, PEM or DER (repeatable)
    #[arg(long = "cert", value_name = "FILE")]
    certs: Vec<PathBuf>,
    /// A detached CMS signature (.p7s) over FILE
    #[arg(long, value_name = "SIG.p7s")]
    detached: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum PolicyArg {
    Strict,
    Lenient,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LangArg {
    Vi,
    En,
}

#[derive(Debug, Args)]
struct VerifyCertArgs {
    /// The certificate: PEM, DER or PKCS#7 (.p7b); in a bundle the end-entity certificate is
    /// checked and the others help build the chain
    #[arg(value_name = "CERT")]
    certificate: PathBuf,
    /// Validation time (RFC 3339, e.g. 2026-11-23T00:00:00Z); default: now
    #[arg(long, value_parser = parse_rfc3339)]
    at: Option<time::OffsetDateTime>,
    /// Extra (intermediate) certificates, PEM, DER or PKCS#7 (repeatable)
    #[arg(long = "cert", value_name = "FILE")]
    certs: Vec<PathBuf>,
    /// A CRL file, DER or PEM (repeatable)
    #[arg(long = "crl", value_name = "FILE")]
    crls: Vec<PathBuf>,
    /// An OCSP response file, DER or base64 (repeatable)
    #[arg(long = "ocsp-response", value_name = "FILE")]
    ocsp_responses: Vec<PathBuf>,
    /// No network: no AIA, OCSP or CRL fetching (the files given only)
    #[arg(long)]
    offline: bool,
    /// strict: unknown revocation status is INDETERMINATE; lenient: a warning
    #[arg(long, value_enum, default_value_t = PolicyArg::Strict)]
    policy: PolicyArg,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Language of the text report
    #[arg(long, value_enum, default_value_t = LangArg::Vi)]
    lang: LangArg,
    /// An acceptable certificate policy (RFC 5280 user-initial-policy-set; repeatable)
    /// [default: any policy]
    #[arg(long = "initial-policy", value_name = "OID", value_parser = parse_oid)]
    initial_policies: Vec<String>,
    /// Require a valid certificate policy for the whole path (initial-explicit-policy)
    #[arg(long)]
    require_explicit_policy: bool,
    /// Do not follow policy mappings (initial-policy-mapping-inhibit)
    #[arg(long)]
    inhibit_policy_mapping: bool,
    /// Do not accept anyPolicy (initial-any-policy-inhibit)
    #[arg(long)]
    inhibit_any_policy: bool,
}

fn parse_oid(text: &str) -> std::result::Result<String, String> {
    let arcs: Vec<&str> = text.split('.').collect();
    if arcs.len() >= 2
        && arcs
            .iter()
            .all(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()))
    {
        Ok(text.to_owned())
    } else {
        Err("expected a dotted object identifier such as 2.16.840.1.101.3.2.1.48.1".to_owned())
    }
}

fn parse_rfc3339(text: &str) -> std::result::Result<time::OffsetDateTime, String> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("expected an RFC 3339 time such as 2026-11-23T00:00:00Z: {e}"))
}

mod search;
use search::SearchArgs;

#[derive(Debug, Subcommand)]
enum ProcedureCommand {
    /// Nhập danh mục thủ tục (CSV/JSON) / Import a catalogue: new codes added, known codes
    /// updated; any invalid row refuses the whole file, with its line numbers
    Import(ProcedureImportArgs),
    /// Xem một thủ tục / Show one procedure
    Show {
        /// National code, e.g. 1.001193
        code: String,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

#[derive(Debug, Args)]
struct ProcedureImportArgs {
    /// The catalogue: CSV with a header (code, name, processing_days; optional field, level,
    /// competent_agency) or JSON (an array of objects with those keys); `-` reads stdin
    file: PathBuf,
    /// Format of FILE [default: from its extension, else from its content]
    #[arg(long, value_enum, value_name = "FORMAT")]
    input_format: Option<CatalogueFormatArg>,
    /// Who imports, for the audit trail [default: the login name]
    #[arg(long, env = "HOSO_ACTOR", value_name = "NAME")]
    actor: Option<String>,
    /// Output format of the report
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum CatalogueFormatArg {
    Csv,
    Json,
}

#[derive(Debug, Subcommand)]
enum DossierCommand {
    /// Tiếp nhận hồ sơ / Receive a dossier; prints its new code (mã số hồ sơ)
    Create(DossierCreateArgs),
    /// Xem hồ sơ / Show a dossier, its procedure and its history
    Show {
        /// Dossier code, e.g. H53.100.01-261123-530001
        code: String,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Chuyển bước xử lý / Move a dossier to its next status, recording who and when
    Advance(DossierAdvanceArgs),
}

#[derive(Debug, Args)]
struct DossierCreateArgs {
    /// National code of the procedure, e.g. 1.001193
    #[arg(long, value_name = "CODE")]
    procedure: String,
    /// Applicant's full name (person or organization)
    #[arg(long, value_name = "NAME")]
    applicant: String,
    /// Applicant's ID number: CCCD, passport, or tax / enterprise code
    #[arg(long, value_name = "N")]
    id_number: Option<String>,
    /// Applicant's address, phone or e-mail
    #[arg(long, value_name = "TEXT")]
    contact: Option<String>,
    /// How the dossier was submitted
    #[arg(long, value_enum, default_value_t = ChannelArg::InPerson)]
    channel: ChannelArg,
    /// Where the result goes [default: desk for in-person, online, postal as the channel]
    #[arg(long, value_enum)]
    delivery: Option<DeliveryArg>,
    /// Handling agency's electronic ID [default: agency_code from the configuration]
    #[arg(long, value_name = "CODE")]
    agency: Option<String>,
    /// A note for the receipt event
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,
    /// The receiving clerk, for the history and the audit trail [default: the login name]
    #[arg(long, env = "HOSO_ACTOR", value_name = "NAME")]
    actor: Option<String>,
    /// text: the code alone; json: the dossier (code, due_at, status, …)
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ChannelArg {
    #[value(alias = "in_person")]
    InPerson,
    Online,
    Postal,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DeliveryArg {
    Desk,
    Postal,
    Online,
}

#[derive(Debug, Args)]
struct DossierAdvanceArgs {
    /// Dossier code
    code: String,
    /// The new status
    #[arg(long, value_enum, value_name = "STATUS")]
    to: StatusArg,
    /// Why, or what was decided
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,
    /// Who takes the step [default: the login name]
    #[arg(long, env = "HOSO_ACTOR", value_name = "NAME")]
    actor: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StatusArg {
    Received,
    #[value(alias = "supplement_requested")]
    SupplementRequested,
    Appraised,
    Approved,
    Rejected,
    Returned,
    Withdrawn,
}

#[derive(Debug, Subcommand)]
enum HolidayCommand {
    /// Khai báo ngày nghỉ / Declare a non-working day (due dates computed later skip it)
    Add {
        /// YYYY-MM-DD
        #[arg(value_parser = parse_date)]
        date: time::Date,
        /// What the day is, e.g. "Tết Nguyên đán"
        #[arg(long, value_name = "TEXT")]
        name: String,
        #[arg(long, env = "HOSO_ACTOR", value_name = "NAME")]
        actor: Option<String>,
    },
    /// Bỏ ngày nghỉ / Make a declared holiday a working day again
    Remove {
        /// YYYY-MM-DD
        #[arg(value_parser = parse_date)]
        date: time::Date,
        #[arg(long, env = "HOSO_ACTOR", value_name = "NAME")]
        actor: Option<String>,
    },
    /// Liệt kê ngày nghỉ / List declared holidays
    List {
        /// Only this year
        #[arg(long, value_name = "YYYY")]
        year: Option<i32>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

fn parse_date(text: &str) -> std::result::Result<time::Date, String> {
    time::Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|e| format!("expected a date YYYY-MM-DD: {e}"))
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Kiểm tra chuỗi nhật ký / Recompute the hash chain and the checkpoints: exit 0 when
    /// intact, 1 at the first broken entry
    Verify {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Lập điểm kiểm tra / Store a Merkle tree head over the whole log (after verifying it)
    Checkpoint {
        #[arg(long, env = "HOSO_ACTOR", value_name = "NAME")]
        actor: Option<String>,
        /// Time-stamp the tree head at this RFC 3161 TSA, so that a later rewrite of the
        /// whole log (and of the checkpoint) is caught against a date a third party vouches for
        #[arg(long, env = "HOSO_TSA_URL", value_name = "URL")]
        tsa: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

#[derive(Debug, Subcommand)]
enum TrustCommand {
    /// Liệt kê chứng thư gốc tin cậy / List trusted roots with their SHA-256 fingerprints
    List {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// Parses the command line and runs it; the process exit code is the return value.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    // Only the commands that run Tesseract pay for re-executing (about 8 ms of loading).
    if matches!(
        cli.command,
        Command::Ocr(_) | Command::Serve(_) | Command::Ingest(_)
    ) {
        limit_openmp_threads();
    }
    let overrides = Overrides {
        config_file: cli.global.config,
        listen: match &cli.command {
            Command::Serve(args) => args.listen,
            _ => None,
        },
        data_dir: cli.global.data_dir,
        database_url: cli.global.database_url,
        // HOSO_TRUST_DIRS replaces the configured folders; --trust adds to them.
        trust_dirs: std::env::var_os("HOSO_TRUST_DIRS")
            .filter(|v| !v.is_empty())
            .map(|v| std::env::split_paths(&v).collect()),
        extra_trust_dirs: cli.global.trust,
        ocr_languages: cli.global.ocr_languages,
        jobs: cli.global.jobs.map(usize::from),
        log: cli.global.log,
        agency_code: cli.global.agency_code,
        inbox: match &cli.command {
            Command::Serve(args) => args.inbox.clone(),
            _ => None,
        },
    };
    let config = match Config::resolve(overrides) {
        Ok(config) => config,
        Err(e) => return report(&Error::Config(e)),
    };
    // lopdf warns about every oddity of a PDF it reads; hoso reports what matters itself.
    let default_log = if matches!(cli.command, Command::Serve(_)) {
        "info,lopdf=error"
    } else {
        "warn,lopdf=error"
    };
    if let Err(e) = init_tracing(config.log.as_deref().unwrap_or(default_log)) {
        return report(&Error::Config(e));
    }
    let result = match cli.command {
        Command::Serve(args) => with_runtime(serve(config, args.http_settings())),
        Command::Migrate => with_runtime(migrate(config)),
        Command::Config => print_config(&config),
        Command::Trust(TrustCommand::List { format }) => list_trust(&config, format),
        Command::Ocr(args) => ocr(&config, args),
        Command::Sign(args) => match args.document {
            Some(id) => documents::sign_document(&config, id, *args),
            None => sign(&config, *args),
        },
        Command::Verify(args) => return verify(&config, args),
        Command::VerifyCert(args) => return verify_cert(&config, args),
        Command::Ingest(args) => return documents::ingest(&config, args),
        Command::Document(command) => return documents::document(config, command),
        Command::Preserve(args) => return documents::preserve(&config, args),
        Command::Search(args) => search::run(&config, &args),
        Command::Procedure(command) => with_runtime(procedure(config, command)),
        Command::Dossier(command) => with_runtime(dossier(config, command)),
        Command::Holiday(command) => with_runtime(holiday(config, command)),
        Command::Export(args) => with_runtime(export::export(config, args)),
        Command::Import(args) => with_runtime(export::import(config, args)),
        Command::Audit(AuditCommand::Verify { format }) => {
            return audit_verify(&config, format);
        }
        Command::Audit(AuditCommand::Checkpoint { actor, tsa, format }) => {
            with_runtime(audit_checkpoint(config, actor, tsa, format))
        }
        Command::Fixity(args) => return fixity::fixity(&config, args),
        Command::Stats(args) => return stats::run(&config, args),
        Command::User(command) => users::user(&config, command),
        Command::Key(command) => users::key(&config, command),
        Command::Token(command) => users::token(&config, command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e),
    }
}

/// Tesseract's OpenMP threads slow it down several-fold when pages already run in
/// parallel (measured: 6.5 s instead of 1.25 s per page on 2 cores). OpenMP reads
/// `OMP_THREAD_LIMIT` when the library loads, before `main`, so the variable cannot be set
/// from here: the process re-executes itself once with it set. An operator's own value wins.
fn limit_openmp_threads() {
    use std::os::unix::process::CommandExt;
    if std::env::var_os("OMP_THREAD_LIMIT").is_some() {
        return;
    }
    let Ok(executable) = std::env::current_exe() else {
        return;
    };
    let mut args = std::env::args_os();
    let arg0 = args
        .next()
        .unwrap_or_else(|| executable.clone().into_os_string());
    // `exec` returns only when it failed; hoso then runs with OpenMP's default.
    let error = std::process::Command::new(&executable)
        .arg0(arg0)
        .args(args)
        .env("OMP_THREAD_LIMIT", "1")
        .exec();
    eprintln!("cảnh báo: không đặt được OMP_THREAD_LIMIT=1 ({error}); OCR có thể chậm hơn");
}

/// Clap's own message (English) under a Vietnamese first line; exit 2 for usage errors, 0
/// for --help and --version.
fn usage_error(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        let _ = error.print();
        return ExitCode::SUCCESS;
    }
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = error.print();
        return ExitCode::from(2);
    }
    eprintln!("lỗi [usage]: lệnh hoặc tham số không hợp lệ; xem `hoso --help`.");
    let _ = error.print();
    ExitCode::from(2)
}

/// Prints `error` for a person (Vietnamese, then English) and picks the exit code.
fn report(error: &Error) -> ExitCode {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "lỗi [{}]: {}", error.code(), error.message_vi());
    let _ = writeln!(stderr, "  error: {error}");
    ExitCode::from(exit_code(error))
}

/// The process exit code for an error (see the module documentation).
pub fn exit_code(error: &Error) -> u8 {
    match (error, error.class()) {
        (Error::Config(_), _) => 2,
        (_, ErrorClass::NotImplemented) => 69,
        _ => 1,
    }
}

fn init_tracing(filter: &str) -> Result<(), ConfigError> {
    let filter =
        tracing_subscriber::EnvFilter::try_new(filter).map_err(|e| ConfigError::InvalidValue {
            key: "log",
            value: filter.to_owned(),
            reason: e.to_string(),
        })?;
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    Ok(())
}

fn with_runtime(work: impl Future<Output = Result<()>>) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Task(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(work)
}

async fn serve(config: Config, http_settings: crate::http::HttpSettings) -> Result<()> {
    let languages = config.ocr_languages.clone();
    match tokio::task::spawn_blocking(move || crate::ocr::probe(&languages)).await {
        Ok(Ok(())) => tracing::info!(languages = %config.ocr_languages, "OCR sẵn sàng (OCR ready)"),
        Ok(Err(e)) => tracing::warn!(code = e.code(), "{} ({e})", e.message_vi()),
        Err(e) => tracing::warn!("OCR probe failed: {e}"),
    }
    match TrustStore::load(&config.trust_dirs) {
        Ok(store) => tracing::info!(
            anchors = store.anchors().len(),
            "đã nạp kho chứng thư tin cậy (trust store loaded)"
        ),
        Err(e) => tracing::warn!(code = e.code(), "{} ({e})", e.message_vi()),
    }
    let pipeline = Arc::new(Pipeline::open(&config).await?);
    tracing::info!(database = pipeline.archive().backend(), data_dir = %config.data_dir.display(), "kho lưu trữ sẵn sàng (archive ready)");
    let (stop_inbox, inbox_stopped) = tokio::sync::watch::channel(false);
    let inbox = match &config.inbox {
        Some(dir) => {
            crate::pipeline::inbox::prepare(dir)?;
            let options = crate::pipeline::inbox::InboxOptions::new(dir.clone());
            Some(tokio::spawn(crate::pipeline::inbox::watch(
                pipeline.clone(),
                options,
                inbox_stopped,
            )))
        }
        None => None,
    };
    let http_settings = crate::http::HttpSettings {
        agency_code: Some(config.agency_code.clone()),
        ..http_settings
    };
    // Jobs of a process that died are failed once their heartbeat stops (any replica).
    let sweeper = pipeline.spawn_job_sweeper();
    first_admin(pipeline.archive()).await?;
    if http_settings.public_url.is_none() {
        // QR codes then name the address the browser used (its Host header), fine on one
        // machine, wrong behind a proxy or for citizens outside the office network.
        tracing::warn!(
            "chưa đặt --public-url: mã QR trên giấy tiếp nhận và bản ký sẽ dùng địa chỉ trình duyệt đang truy cập \
             (no --public-url: QR codes use the address the browser used)"
        );
    }
    let state = crate::http::AppState::with_settings(pipeline.clone(), http_settings);
    crate::http::serve(config.listen, state, |addr| {
        let host = if addr.ip().is_unspecified() {
            "127.0.0.1".to_owned()
        } else {
            addr.ip().to_string()
        };
        let url = if addr.is_ipv6() {
            format!("http://[{host}]:{}", addr.port())
        } else {
            format!("http://{host}:{}", addr.port())
        };
        println!("hoso đang chạy tại {url}  (listening; Ctrl-C để dừng)");
        let _ = std::io::stdout().flush();
    })
    .await
    .map_err(|e| Error::Task(format!("HTTP server on {}: {e}", config.listen)))?;
    // The watcher finishes the file in hand, then stops.
    let _ = stop_inbox.send(true);
    if let Some(watcher) = inbox {
        let _ = watcher.await;
    }
    sweeper.abort();
    pipeline.close().await;
    tracing::info!("đã dừng (stopped)");
    Ok(())
}

/// An archive without users cannot be used through the pages: the first administrator comes
/// from `HOSO_ADMIN_USER` and `HOSO_ADMIN_PASSWORD` when both are set (as Paperless-ngx does),
/// else the log says how to create one.
async fn first_admin(archive: &crate::archive::Archive) -> Result<()> {
    if !archive.users().await?.is_empty() {
        return Ok(());
    }
    let (Ok(username), Ok(password)) = (
        std::env::var("HOSO_ADMIN_USER"),
        std::env::var("HOSO_ADMIN_PASSWORD"),
    ) else {
        tracing::warn!(
            "chưa có người dùng nào: tạo quản trị viên bằng `hoso user add admin --role admin` \
             (no users yet: create an administrator with `hoso user add admin --role admin`, \
             or set HOSO_ADMIN_USER and HOSO_ADMIN_PASSWORD)"
        );
        return Ok(());
    };
    crate::auth::check_password_strength(&password)?;
    let hash = tokio::task::spawn_blocking(move || crate::auth::hash_password(&password))
        .await
        .map_err(|e| Error::Task(e.to_string()))??;
    archive
        .add_user(
            &crate::archive::accounts::NewUser {
                username: username.clone(),
                display_name: username.clone(),
                role: crate::archive::accounts::Role::Admin,
                password_hash: hash,
            },
            "hoso serve (HOSO_ADMIN_USER)",
            time::OffsetDateTime::now_utc(),
        )
        .await?;
    tracing::info!(user = %username, "đã tạo quản trị viên đầu tiên (first administrator created)");
    Ok(())
}

async fn migrate(config: Config) -> Result<()> {
    let pipeline = Pipeline::open(&config).await?;
    println!(
        "cơ sở dữ liệu {} đã cập nhật (database migrated): {:?}",
        pipeline.archive().backend(),
        config.database
    );
    pipeline.close().await;
    Ok(())
}

fn print_config(config: &Config) -> Result<()> {
    let database_url = match &config.database {
        crate::config::DatabaseTarget::Sqlite { path } => format!("sqlite:{}", path.display()),
        crate::config::DatabaseTarget::Postgres { url } => redact_password(url),
    };
    let trust_dirs: Vec<String> = config
        .trust_dirs
        .iter()
        .map(|d| d.display().to_string())
        .collect();
    let text = toml::to_string(&toml::toml! {
        listen = (config.listen.to_string())
        data_dir = (config.data_dir.display().to_string())
        database_url = database_url
        trust_dirs = trust_dirs
        ocr_languages = (config.ocr_languages.to_string())
        jobs = (config.jobs as i64)
        log = (config.log.clone().unwrap_or_else(|| "(per command)".to_owned()))
        agency_code = (config.agency_code.to_string())
    })
    .map_err(|e| Error::Task(e.to_string()))?;
    print!("{text}");
    Ok(())
}

fn ocr(config: &Config, args: OcrArgs) -> Result<()> {
    use crate::digitize::{DigitizeOptions, digitize};
    use crate::ocr::{EnginePool, OcrSettings};
    use std::io::IsTerminal;

    let languages = args
        .lang
        .clone()
        .unwrap_or_else(|| config.ocr_languages.clone());
    let options = DigitizeOptions {
        ocr: OcrSettings {
            languages: languages.clone(),
            fix_orientation: !args.no_rotate,
            deskew: !args.no_deskew,
            text_pages: args.text_pages(),
            ..OcrSettings::default()
        },
        jobs: config.jobs,
        info: crate::pdf::searchable::DocumentInfo {
            title: args
                .output
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned()),
            created: Some(time::OffsetDateTime::now_utc()),
            pdfa: args.pdfa,
        },
    };
    let pool = EnginePool::new(languages);
    let progress = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {pos} trang (pages) {elapsed} {per_sec}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        Some(bar)
    } else {
        None
    };
    let result = digitize(&args.inputs, &args.output, &options, &pool, &|page| {
        if let Some(bar) = &progress {
            bar.set_position(page as u64);
        }
    });
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    let digitized = result?;
    let write = |path: &PathBuf, bytes: &[u8]| {
        std::fs::write(path, bytes).map_err(|e| {
            Error::Ocr(crate::ocr::OcrError::Output {
                path: path.display().to_string(),
                reason: e.to_string(),
            })
        })
    };
    if let Some(path) = &args.text {
        write(path, digitized.text().as_bytes())?;
    }
    if let Some(path) = &args.json {
        let json = serde_json::to_vec_pretty(&digitized).map_err(|e| Error::Task(e.to_string()))?;
        write(path, &json)?;
    }
    Ok(())
}

fn list_trust(config: &Config, format: Format) -> Result<()> {
    let store = TrustStore::load(&config.trust_dirs)?;
    let date = |t: time::OffsetDateTime| t.date().to_string();
    match format {
        Format::Json => {
            let anchors: Vec<_> = store
                .anchors()
                .iter()
                .map(|a| {
                    serde_json::json!({
                        "subject": a.subject, "issuer": a.issuer,
                        "sha256": a.fingerprint.to_hex(),
                        "not_before": date(a.not_before), "not_after": date(a.not_after),
                        "file": a.source.display().to_string(),
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&anchors).map_err(|e| Error::Task(e.to_string()))?
            );
        }
        Format::Text => {
            for a in store.anchors() {
                println!("{}", a.subject);
                println!("  SHA-256 {}", a.fingerprint.to_hex().to_uppercase());
                println!(
                    "  hiệu lực (valid) {} → {}   {}",
                    date(a.not_before),
                    date(a.not_after),
                    a.source.display()
                );
            }
        }
    }
    Ok(())
}

fn sign(config: &Config, args: SignArgs) -> Result<()> {
    let input = args.input.clone().ok_or_else(|| {
        Error::Config(ConfigError::InvalidValue {
            key: "INPUT",
            value: String::new(),
            reason: "hoso sign needs the PDF to sign (or --document ID)".to_owned(),
        })
    })?;
    use crate::pades::document::SignatureInfo;
    use crate::pades::sign::{ExtendOptions, Level, SignOptions, extend_file, sign_file};

    let trust = TrustStore::load(&config.trust_dirs)?;
    let now = time::OffsetDateTime::now_utc();
    let supplied = supplied_validation(&args)?;
    if let Some(level) = args.extend {
        // In place: the file itself, also when INPUT is a symbolic link to it (the rename
        // would otherwise replace the link and leave the linked file as it was).
        let output = args
            .output
            .clone()
            .unwrap_or_else(|| std::fs::canonicalize(&input).unwrap_or_else(|_| input.clone()));
        remove_partial_output_on_signal(&output);
        let outcome = extend_file(
            &input,
            &output,
            &trust,
            &ExtendOptions {
                level,
                digest: args.digest,
                tsa_url: args.tsa.clone(),
                allow_untrusted: args.allow_untrusted,
                supplied,
            },
            now,
        )?;
        return print_report(args.format, &outcome, || {
            format!(
                "đã gia hạn (extended): {}  level={} signatures={} sha256={}",
                output.display(),
                outcome.level,
                outcome.signatures,
                outcome.sha256
            )
        });
    }
    let Some(output) = args.output.clone() else {
        return Err(Error::Config(ConfigError::InvalidValue {
            key: "--output",
            value: String::new(),
            reason: "hoso sign needs -o OUT.pdf (only --extend updates in place)".to_owned(),
        }));
    };
    let extra_certificates = chain_certificates(&args)?;
    let signer = signing_key(&args, &extra_certificates)?;
    let level = args.level.unwrap_or(if args.tsa.is_some() {
        Level::BT
    } else {
        Level::BB
    });
    let certify = match args.certify.as_str() {
        "none" => None,
        level => level.parse::<u8>().ok(),
    };
    let request = crate::pades::layout::AppearanceRequest {
        kind: request_kind(&args),
        image: args.image.clone(),
        page: args.page.map(|p| p as usize - 1),
        rect: args.rect,
        anchor: args.anchor.clone(),
        seal_diameter_mm: args.seal_size,
        organization: args.organization.clone(),
        time_format: args.time_format.clone(),
        qr_base_url: args.qr.clone(),
    };
    let visible = crate::pades::layout::plan(&input, &request, signer.certificate(), now)?;
    let options = SignOptions {
        level,
        digest: args.digest,
        pss: args.pss,
        tsa_url: args.tsa.clone(),
        info: SignatureInfo {
            name: None,
            reason: args.reason.clone(),
            location: args.location.clone(),
            contact: args.contact.clone(),
            certify,
        },
        field: args.field.clone(),
        visible,
        allow_untrusted: args.allow_untrusted,
        check_revocation: args.check_revocation,
        offline: args.offline,
        extra_certificates,
        supplied,
    };
    remove_partial_output_on_signal(&output);
    let outcome = sign_file(&input, &output, signer.as_ref(), &trust, &options, now)?;
    print_report(args.format, &outcome, || {
        format!(
            "đã ký (signed): {}  field={} level={} signer=\"{}\" reserved={}B used={}B sha256={}",
            output.display(),
            outcome.field,
            outcome.level,
            outcome.signer,
            outcome.reserved,
            outcome.used,
            outcome.sha256
        )
    })
}

/// The OCSP responses and CRLs given with `--ocsp-response` and `--crl`.
fn supplied_validation(args: &SignArgs) -> Result<crate::pades::revocation::ValidationData> {
    use crate::pades::PadesError;
    let mut supplied = crate::pades::revocation::ValidationData::default();
    for (paths, target) in [
        (&args.ocsp_responses, &mut supplied.ocsp_responses),
        (&args.crls, &mut supplied.crls),
    ] {
        for path in paths {
            target.push(
                std::fs::read(path).map_err(|e| PadesError::RevocationUnavailable {
                    reason: format!("cannot read {}: {e}", path.display()),
                })?,
            );
        }
    }
    Ok(supplied)
}

/// The certificates of `--chain` (DER).
fn chain_certificates(args: &SignArgs) -> Result<Vec<Vec<u8>>> {
    use crate::pades::PadesError;
    let mut extra_certificates = Vec::new();
    for path in &args.chain {
        let bytes = std::fs::read(path).map_err(|e| PadesError::KeyUnusable {
            reason: format!("cannot read {}: {e}", path.display()),
        })?;
        let certs = openssl::x509::X509::stack_from_pem(&bytes)
            .or_else(|_| openssl::x509::X509::from_der(&bytes).map(|c| vec![c]))
            .map_err(|e| PadesError::KeyUnusable {
                reason: format!("{} holds no certificate: {e}", path.display()),
            })?;
        for cert in certs {
            extra_certificates.push(cert.to_der().map_err(crate::pades::key::openssl_error)?);
        }
    }
    Ok(extra_certificates)
}

/// The key of `--p12` or `--pkcs11-module`, asking for its password or PIN; `chain`: the
/// certificates of `--chain`, for a token that holds only the signer's.
fn signing_key(
    args: &SignArgs,
    chain: &[Vec<u8>],
) -> Result<Box<dyn crate::pades::key::KeySigner + Send>> {
    use crate::pades::key::SoftwareKey;
    Ok(match (&args.p12, &args.pkcs11_module) {
        (Some(p12), _) => {
            let password = read_secret(
                args.password_env.as_deref(),
                "Mật khẩu tệp khóa (PKCS#12 password): ",
            )?;
            Box::new(SoftwareKey::from_pkcs12_file(p12, &password)?)
        }
        (None, Some(module)) => {
            let pin = read_secret(
                args.pin_env.as_deref(),
                "Mã PIN thiết bị ký số (token PIN): ",
            )?;
            Box::new(crate::pades::pkcs11::TokenKey::open(
                crate::pades::pkcs11::TokenKeyRef {
                    module,
                    token_label: args.token_label.as_deref().unwrap_or_default(),
                    key_label: args.key_label.as_deref().unwrap_or_default(),
                    pin: &pin,
                    extra_chain: chain.to_vec(),
                },
            )?)
        }
        (None, None) => {
            return Err(Error::Config(ConfigError::InvalidValue {
                key: "--p12/--pkcs11-module",
                value: String::new(),
                reason:
                    "choose a key: --p12 FILE or --pkcs11-module SO --token-label L --key-label K"
                        .to_owned(),
            }));
        }
    })
}

/// The layout `--appearance` asks for.
fn request_kind(args: &SignArgs) -> crate::pades::layout::RequestKind {
    match args.appearance {
        AppearanceKind::None => crate::pades::layout::RequestKind::None,
        AppearanceKind::Official => crate::pades::layout::RequestKind::Official,
        AppearanceKind::Organization => crate::pades::layout::RequestKind::Organization,
        AppearanceKind::Copy => crate::pades::layout::RequestKind::Copy {
            copy_type: args.copy_type.clone(),
        },
        AppearanceKind::Attachment => crate::pades::layout::RequestKind::Attachment {
            doc_number: args.doc_number.clone(),
        },
    }
}

/// `hoso verify`: exit 0 when every signature is TOTAL-PASSED, 1 when any is TOTAL-FAILED,
/// 3 when the worst is INDETERMINATE or there is none, 4 when the file cannot be read.
fn verify(config: &Config, args: VerifyArgs) -> ExitCode {
    use crate::verify::{VerifyError, VerifyOptions};
    let trust = match TrustStore::load(&config.trust_dirs) {
        Ok(trust) => trust,
        Err(e) => return report(&Error::Trust(e)),
    };
    let supplied = match supplied_evidence(&args.certs, &args.crls, &args.ocsp_responses) {
        Ok(supplied) => supplied,
        Err(e) => return unreadable_input(&e),
    };
    let options = VerifyOptions {
        trust: &trust,
        at: args.at.unwrap_or_else(time::OffsetDateTime::now_utc),
        offline: args.offline,
        policy: args.policy.into(),
        supplied,
    };
    let name = args.file.display().to_string();
    let open = |path: &std::path::Path| {
        std::fs::File::open(path)
            .and_then(|file| crate::verify::map_file(&file))
            .map_err(|source| VerifyError::Unreadable {
                path: path.display().to_string(),
                source,
            })
    };
    let mapped = match open(&args.file) {
        Ok(mapped) => mapped,
        Err(e) => return unreadable_input(&e),
    };
    let result = match &args.detached {
        Some(signature_path) => std::fs::read(signature_path)
            .map(|signature| crate::verify::verify_detached(&mapped, &signature, &name, &options))
            .map_err(|source| VerifyError::Unreadable {
                path: signature_path.display().to_string(),
                source,
            }),
        None => crate::verify::verify_pdf(&mapped, &name, &options),
    };
    match result {
        Ok(verdict) => emit_verdict(
            &verdict,
            args.format,
            args.lang,
            verdict.exit_code() as u8,
            |lang| crate::verify::report::render(&verdict, lang),
        ),
        Err(e) => unreadable_input(&e),
    }
}

/// `hoso verify-cert`: exit 0 TOTAL-PASSED, 1 TOTAL-FAILED, 3 INDETERMINATE (as `hoso
/// verify`), 4 when the certificate or an evidence file cannot be read.
fn verify_cert(config: &Config, args: VerifyCertArgs) -> ExitCode {
    use crate::verify::certificate::{self, CertOptions, PolicyParameters};
    let trust = match TrustStore::load(&config.trust_dirs) {
        Ok(trust) => trust,
        Err(e) => return report(&Error::Trust(e)),
    };
    let supplied = match supplied_evidence(&args.certs, &args.crls, &args.ocsp_responses) {
        Ok(supplied) => supplied,
        Err(e) => return unreadable_input(&e),
    };
    let input = match certificate::read_input(&args.certificate) {
        Ok(input) => input,
        Err(e) => return unreadable_input(&e),
    };
    let options = CertOptions {
        trust: &trust,
        at: args.at.unwrap_or_else(time::OffsetDateTime::now_utc),
        offline: args.offline,
        policy: args.policy.into(),
        supplied,
        policies: PolicyParameters {
            initial_policies: args.initial_policies,
            require_explicit_policy: args.require_explicit_policy,
            inhibit_policy_mapping: args.inhibit_policy_mapping,
            inhibit_any_policy: args.inhibit_any_policy,
        },
    };
    let name = args.certificate.display().to_string();
    match certificate::verify_certificate(&input, &name, &options) {
        Ok(verdict) => emit_verdict(
            &verdict,
            args.format,
            args.lang,
            verdict.exit_code(),
            |lang| certificate::render(&verdict, lang),
        ),
        Err(e) => unreadable_input(&e),
    }
}

impl From<PolicyArg> for crate::verify::Policy {
    fn from(policy: PolicyArg) -> Self {
        match policy {
            PolicyArg::Strict => crate::verify::Policy::Strict,
            PolicyArg::Lenient => crate::verify::Policy::Lenient,
        }
    }
}

/// The `--cert`, `--crl` and `--ocsp-response` files of `verify` and `verify-cert`, each
/// checked to be what its flag says.
fn supplied_evidence(
    certs: &[PathBuf],
    crls: &[PathBuf],
    ocsp_responses: &[PathBuf],
) -> std::result::Result<
    crate::verify::status::EvidencePool,
    crate::verify::certificate::CertInputError,
> {
    use crate::verify::certificate::{FileKind, load_file};
    let mut supplied = crate::verify::status::EvidencePool::default();
    for path in certs {
        supplied
            .certificates
            .extend(load_file(path, FileKind::Certificates)?);
    }
    for path in crls {
        supplied.crls.extend(load_file(path, FileKind::Crl)?);
    }
    for path in ocsp_responses {
        supplied
            .ocsp
            .extend(load_file(path, FileKind::OcspResponse)?);
    }
    Ok(supplied)
}

/// A file that cannot be read at all: exit code 4 with the Vietnamese line first.
fn unreadable_input(error: &(impl Coded + std::fmt::Display)) -> ExitCode {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "lỗi [{}]: {}", error.code(), error.message_vi());
    let _ = writeln!(stderr, "  error: {error}");
    ExitCode::from(4)
}

/// Prints a verification verdict as JSON or as text in the chosen language; its exit code.
fn emit_verdict<T: serde::Serialize>(
    verdict: &T,
    format: Format,
    lang: LangArg,
    code: u8,
    render: impl FnOnce(crate::verify::report::Lang) -> String,
) -> ExitCode {
    use crate::verify::report::Lang;
    let text = match format {
        Format::Json => match serde_json::to_string_pretty(verdict) {
            Ok(json) => json + "\n",
            Err(e) => {
                eprintln!("lỗi [internal]: {e}");
                return ExitCode::from(1);
            }
        },
        Format::Text => render(match lang {
            LangArg::Vi => Lang::Vi,
            LangArg::En => Lang::En,
        }),
    };
    // A reader that stops early (`| head`) is not an error of the verification.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    ExitCode::from(code)
}

fn print_report<T: serde::Serialize>(
    format: Format,
    report: &T,
    text: impl FnOnce() -> String,
) -> Result<()> {
    let line = match format {
        Format::Json => {
            serde_json::to_string_pretty(report).map_err(|e| Error::Task(e.to_string()))?
        }
        Format::Text => text(),
    };
    println!("{line}");
    Ok(())
}

/// SIGINT, SIGTERM or SIGHUP while signing (a TSA that does not answer, Ctrl-C) would end
/// the process without running destructors and leave the temporary output
/// (`.hoso-sign-PID-….part`) beside `output`: a thread waits for those signals, removes this
/// process's temporary files there, and exits with 128 + the signal number. It is listening
/// before this returns, so no temporary file exists unwatched.
fn remove_partial_output_on_signal(output: &std::path::Path) {
    use tokio::signal::unix::{SignalKind, signal};
    let dir = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let (ready, listening) = std::sync::mpsc::sync_channel::<()>(1);
    std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
        else {
            let _ = ready.send(());
            return;
        };
        runtime.block_on(async move {
            let signals = (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
                signal(SignalKind::hangup()),
            );
            let _ = ready.send(());
            let (Ok(mut interrupt), Ok(mut terminate), Ok(mut hangup)) = signals else {
                return;
            };
            let code = tokio::select! {
                _ = interrupt.recv() => 130,
                _ = terminate.recv() => 143,
                _ = hangup.recv() => 129,
            };
            let prefix = crate::pades::sign::temp_prefix();
            if let Ok(entries) = std::fs::read_dir(&dir) {
                for entry in entries.flatten() {
                    let name = entry.file_name();
                    let name = name.to_string_lossy();
                    if name.starts_with(&prefix) && name.ends_with(".part") {
                        let _ = std::fs::remove_file(entry.path());
                    }
                }
            }
            eprintln!(
                "lỗi [interrupted]: đã dừng theo tín hiệu; chưa ghi tệp kết quả, đã xóa tệp tạm."
            );
            std::process::exit(code);
        });
    });
    // Wait until the handlers are installed (or could not be).
    let _ = listening.recv();
}

/// A password or PIN: from the named environment variable, else asked on the terminal
/// without echo, else read as one line from standard input (for scripts). Never logged.
fn read_secret(env_var: Option<&str>, prompt: &str) -> Result<String> {
    use std::io::{BufRead, IsTerminal};
    if let Some(name) = env_var {
        return std::env::var(name).map_err(|_| {
            Error::Config(ConfigError::InvalidValue {
                key: "--password-env/--pin-env",
                value: name.to_owned(),
                reason: "the environment variable is not set".to_owned(),
            })
        });
    }
    let interactive = std::io::stdin().is_terminal();
    // Echo is switched off with stty on the controlling terminal, so the crate needs no
    // terminal-handling code of its own.
    let stty = |arg: &str| {
        std::fs::File::open("/dev/tty").ok().map(|tty| {
            std::process::Command::new("stty")
                .arg(arg)
                .stdin(tty)
                .status()
        })
    };
    if interactive {
        eprint!("{prompt}");
        let _ = std::io::stderr().flush();
        stty("-echo");
    }
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    if interactive {
        stty("echo");
        eprintln!();
    }
    read.map_err(|e| Error::Task(format!("cannot read the secret: {e}")))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

// --- Records: procedures, dossiers, holidays, audit (issue #6) ---

/// Who acts, for histories and the audit trail: `--actor` (or `HOSO_ACTOR`), else the login
/// name, else `hoso`.
fn actor_or_login(actor: Option<String>) -> String {
    actor
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("LOGNAME").ok())
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| "hoso".to_owned())
}

/// `2026-11-30 23:59:59 +07:00`: an instant in Vietnam time, for text output.
fn vn_time(at: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second] [offset_hour sign:mandatory]:[offset_minute]"
    );
    at.to_offset(crate::archive::calendar::VIETNAM)
        .format(&format)
        .unwrap_or_else(|_| at.to_string())
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string_pretty(value).map_err(|e| Error::Task(e.to_string()))
}

async fn procedure(config: Config, command: ProcedureCommand) -> Result<()> {
    use crate::archive::Archive;
    use crate::archive::procedures::CatalogueFormat;
    let archive = Archive::connect(&config.database).await?;
    let result = async {
        match command {
            ProcedureCommand::Import(args) => {
                let source = args.file.display().to_string();
                let content = if source == "-" {
                    let mut bytes = Vec::new();
                    std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut bytes)
                        .map(|_| bytes)
                } else {
                    std::fs::read(&args.file)
                }
                .map_err(|e| crate::archive::ArchiveError::CatalogueUnreadable {
                    reason: format!("{source}: {e}"),
                })?;
                let format = match args.input_format {
                    Some(CatalogueFormatArg::Csv) => CatalogueFormat::Csv,
                    Some(CatalogueFormatArg::Json) => CatalogueFormat::Json,
                    None => CatalogueFormat::detect(&source, &content),
                };
                let actor = actor_or_login(args.actor);
                let report = archive
                    .import_procedures(&content, format, &source, &actor, time::OffsetDateTime::now_utc())
                    .await?;
                print_report(args.format, &report, || {
                    format!(
                        "đã nhập danh mục (imported) {}: {} dòng (rows) — thêm mới (inserted) {}, \
                         cập nhật (updated) {}, không đổi (unchanged) {}; nhật ký (audit) #{}",
                        report.source,
                        report.rows,
                        report.inserted,
                        report.updated,
                        report.unchanged,
                        report.audit_seq
                    )
                })
            }
            ProcedureCommand::Show { code, format } => {
                let p = archive.procedure(&code).await?;
                print_report(format, &p, || {
                    let optional = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".to_owned());
                    format!(
                        "{} {}\n  lĩnh vực (field): {}\n  cấp (level): {}\n  thời hạn (working days): {}\n  cơ quan (agency): {}",
                        p.code,
                        p.name,
                        optional(&p.field),
                        optional(&p.level),
                        p.processing_days,
                        optional(&p.competent_agency)
                    )
                })
            }
        }
    }
    .await;
    archive.close().await;
    result
}

async fn dossier(config: Config, command: DossierCommand) -> Result<()> {
    use crate::archive::codes::{AgencyCode, DossierCode, ProcedureCode};
    use crate::archive::dossiers::{
        Applicant, Channel, DossierRecord, DossierStatus, NewDossier, ResultDelivery, Transition,
    };
    use crate::archive::{Archive, ArchiveError};

    fn dossier_code(text: &str) -> std::result::Result<DossierCode, ArchiveError> {
        DossierCode::parse(text).map_err(|value| ArchiveError::DossierCodeInvalid { value })
    }
    fn render(record: &DossierRecord) -> String {
        let d = &record.dossier;
        let p = &record.procedure;
        let optional = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".to_owned());
        let mut text = format!(
            "Mã hồ sơ (code): {}\n\
             Thủ tục (procedure): {} {} ({} ngày làm việc)\n\
             Người nộp (applicant): {}  giấy tờ (ID): {}  liên hệ (contact): {}\n\
             Kênh (channel): {}  nhận kết quả (delivery): {}  cơ quan (agency): {}\n\
             Trạng thái (status): {} ({})\n\
             Tiếp nhận (received): {}\n\
             Hẹn trả (due): {}\n",
            d.code,
            p.code,
            p.name,
            p.processing_days,
            d.applicant_name,
            optional(&d.applicant_id_number),
            optional(&d.applicant_contact),
            d.channel.as_str(),
            d.result_delivery.as_str(),
            d.agency_code,
            d.status.as_str(),
            d.status.label_vi(),
            vn_time(d.received_at),
            vn_time(d.due_at),
        );
        if let Some(at) = d.resolved_at {
            text.push_str(&format!("Giải quyết (resolved): {}\n", vn_time(at)));
        }
        if let Some(at) = d.returned_at {
            text.push_str(&format!("Trả kết quả (returned): {}\n", vn_time(at)));
        }
        text.push_str("Lịch sử (events):\n");
        for e in &record.events {
            let from = e.from.map_or("—", DossierStatus::as_str);
            let note = e
                .note
                .as_deref()
                .map(|n| format!("  «{n}»"))
                .unwrap_or_default();
            text.push_str(&format!(
                "  {}  {} → {}  ({}){}\n",
                vn_time(e.at),
                from,
                e.to.as_str(),
                e.actor,
                note
            ));
        }
        text.trim_end().to_owned()
    }

    let archive = Archive::connect(&config.database).await?;
    let result = async {
        match command {
            DossierCommand::Create(args) => {
                let agency = match &args.agency {
                    Some(text) => AgencyCode::parse(text)
                        .map_err(|value| ArchiveError::AgencyCodeInvalid { value })?,
                    None => config.agency_code.clone(),
                };
                if agency.as_str() == crate::config::TEST_AGENCY_CODE {
                    eprintln!(
                        "cảnh báo: mã cơ quan thử nghiệm {agency}; đặt agency_code / HOSO_AGENCY_CODE \
                         (warning: test agency code, set agency_code)"
                    );
                }
                let procedure = ProcedureCode::parse(&args.procedure)
                    .map_err(|value| ArchiveError::ProcedureCodeInvalid { value })?;
                let new = NewDossier {
                    procedure,
                    agency,
                    applicant: Applicant {
                        name: args.applicant,
                        id_number: args.id_number,
                        contact: args.contact,
                    },
                    channel: match args.channel {
                        ChannelArg::InPerson => Channel::InPerson,
                        ChannelArg::Online => Channel::Online,
                        ChannelArg::Postal => Channel::Postal,
                    },
                    result_delivery: args.delivery.map(|d| match d {
                        DeliveryArg::Desk => ResultDelivery::Desk,
                        DeliveryArg::Postal => ResultDelivery::Postal,
                        DeliveryArg::Online => ResultDelivery::Online,
                    }),
                    actor: actor_or_login(args.actor),
                    note: args.note,
                };
                let dossier = archive
                    .create_dossier(&new, time::OffsetDateTime::now_utc())
                    .await?;
                print_report(args.format, &dossier, || dossier.code.clone())
            }
            DossierCommand::Show { code, format } => {
                let record = archive.dossier(&dossier_code(&code)?).await?;
                match format {
                    Format::Json => println!("{}", to_json(&record)?),
                    Format::Text => println!("{}", render(&record)),
                }
                Ok(())
            }
            DossierCommand::Advance(args) => {
                let code = dossier_code(&args.code)?;
                let step = Transition {
                    to: match args.to {
                        StatusArg::Received => DossierStatus::Received,
                        StatusArg::SupplementRequested => DossierStatus::SupplementRequested,
                        StatusArg::Appraised => DossierStatus::Appraised,
                        StatusArg::Approved => DossierStatus::Approved,
                        StatusArg::Rejected => DossierStatus::Rejected,
                        StatusArg::Returned => DossierStatus::Returned,
                        StatusArg::Withdrawn => DossierStatus::Withdrawn,
                    },
                    actor: actor_or_login(args.actor),
                    note: args.note,
                };
                let record = archive
                    .advance_dossier(&code, &step, time::OffsetDateTime::now_utc())
                    .await?;
                print_report(args.format, &record, || {
                    let d = &record.dossier;
                    let last = record.events.last();
                    format!(
                        "{}: {} → {} ({})  bởi (by) {} lúc (at) {}",
                        d.code,
                        last.and_then(|e| e.from).map_or("—", DossierStatus::as_str),
                        d.status.as_str(),
                        d.status.label_vi(),
                        last.map_or("", |e| e.actor.as_str()),
                        vn_time(d.updated_at)
                    )
                })
            }
        }
    }
    .await;
    archive.close().await;
    result
}

async fn holiday(config: Config, command: HolidayCommand) -> Result<()> {
    use crate::archive::Archive;
    let archive = Archive::connect(&config.database).await?;
    let now = time::OffsetDateTime::now_utc();
    let result = async {
        match command {
            HolidayCommand::Add { date, name, actor } => {
                let holiday = archive
                    .add_holiday(date, &name, &actor_or_login(actor), now)
                    .await?;
                println!(
                    "đã thêm ngày nghỉ (holiday added): {} {}",
                    holiday.day, holiday.name
                );
            }
            HolidayCommand::Remove { date, actor } => {
                archive
                    .remove_holiday(date, &actor_or_login(actor), now)
                    .await?;
                println!("đã bỏ ngày nghỉ (holiday removed): {date}");
            }
            HolidayCommand::List { year, format } => {
                let year_bound = |y: i32, month, day| {
                    time::Date::from_calendar_date(y, month, day).map_err(|e| {
                        Error::Config(ConfigError::InvalidValue {
                            key: "--year",
                            value: y.to_string(),
                            reason: e.to_string(),
                        })
                    })
                };
                let (from, to) = match year {
                    Some(y) if (1900..=9999).contains(&y) => (
                        year_bound(y, time::Month::January, 1)?,
                        year_bound(y, time::Month::December, 31)?,
                    ),
                    Some(y) => {
                        return Err(Error::Config(ConfigError::InvalidValue {
                            key: "--year",
                            value: y.to_string(),
                            reason: "expected a year from 1900 to 9999".to_owned(),
                        }));
                    }
                    None => (
                        year_bound(1900, time::Month::January, 1)?,
                        year_bound(9999, time::Month::December, 31)?,
                    ),
                };
                let holidays = archive.holidays(from, to).await?;
                print_report(format, &holidays, || {
                    holidays
                        .iter()
                        .map(|h| format!("{} {}  {}", h.day, h.day.weekday(), h.name))
                        .collect::<Vec<_>>()
                        .join("\n")
                })?;
            }
        }
        Ok(())
    }
    .await;
    archive.close().await;
    result
}

/// `hoso audit verify`: exit 0 when the chain and every checkpoint verify, 1 at the first
/// broken entry (and for any failure to read the log).
fn audit_verify(config: &Config, format: Format) -> ExitCode {
    use crate::archive::{Archive, ArchiveError};
    let mut verified = None;
    let run = with_runtime(async {
        let archive = Archive::connect(&config.database).await?;
        let result = archive.verify_audit().await;
        archive.close().await;
        verified = Some(result?);
        Ok(())
    });
    let verification = match (run, verified) {
        (Ok(()), Some(verification)) => verification,
        (Err(e), _) => return report(&e),
        (Ok(()), None) => return report(&Error::Task("audit verification gave no result".into())),
    };
    let printed = print_report(format, &verification, || match &verification.first_broken {
        None => format!(
            "nhật ký kiểm toán nguyên vẹn (audit chain intact): {} bản ghi (entries), \
             {} điểm kiểm tra (checkpoints), {} có dấu thời gian (time-stamped){}",
            verification.entries,
            verification.checkpoints,
            verification.timestamped,
            verification
                .last_hash
                .as_deref()
                .map(|h| format!(", cuối (head) #{} {h}", verification.last_seq.unwrap_or(0)))
                .unwrap_or_default()
        ),
        Some(broken) => format!(
            "NHẬT KÝ BỊ PHÁ VỠ (audit chain BROKEN) tại bản ghi (at entry) #{}: {} ({}){}; \
             {} bản ghi đầu còn nguyên (entries intact before it)",
            broken.seq,
            broken.reason.label_vi(),
            broken.reason.as_str(),
            broken
                .checkpoint
                .map(|c| format!(", điểm kiểm tra (checkpoint) #{c}"))
                .unwrap_or_default(),
            verification.entries
        ),
    });
    if let Err(e) = printed {
        return report(&e);
    }
    match &verification.first_broken {
        None => ExitCode::SUCCESS,
        Some(broken) => {
            let error = Error::Archive(ArchiveError::AuditChainBroken {
                seq: broken.seq,
                reason: broken.reason,
            });
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr, "lỗi [{}]: {}", error.code(), error.message_vi());
            let _ = writeln!(stderr, "  error: {error}");
            ExitCode::from(1)
        }
    }
}

async fn audit_checkpoint(
    config: Config,
    actor: Option<String>,
    tsa: Option<String>,
    format: Format,
) -> Result<()> {
    let archive = crate::archive::Archive::connect(&config.database).await?;
    let actor = actor_or_login(actor);
    let result = async {
        let Some(url) = tsa else {
            return Ok(archive
                .create_checkpoint(&actor, time::OffsetDateTime::now_utc())
                .await?);
        };
        let (last_seq, root) = archive.audit_root().await?;
        let token = tokio::task::spawn_blocking(move || {
            let stamped = crate::pades::tsp::request_for_digest(
                &crate::pades::fetch::Fetcher::default(),
                &url,
                crate::pades::key::DigestAlgorithm::Sha256,
                root.as_bytes(),
            );
            crate::trust::clear_openssl_errors();
            stamped
        })
        .await
        .map_err(|e| Error::Task(e.to_string()))??;
        Ok::<_, Error>(
            archive
                .create_stamped_checkpoint(
                    &actor,
                    time::OffsetDateTime::now_utc(),
                    last_seq,
                    root,
                    token.token,
                )
                .await?,
        )
    }
    .await;
    archive.close().await;
    let checkpoint = result?;
    let stamped_at = checkpoint.timestamp_time();
    print_report(format, &checkpoint, || {
        format!(
            "điểm kiểm tra (checkpoint) #{}: bản ghi (entries) {}–{}, gốc Merkle (root) {}{}",
            checkpoint.checkpoint_id,
            checkpoint.first_seq,
            checkpoint.last_seq,
            checkpoint.root_hash,
            stamped_at
                .map(|at| format!(", dấu thời gian (time-stamped) {}", vn_time(at)))
                .unwrap_or_default()
        )
    })
}
