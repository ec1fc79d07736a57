//! Configuration: one typed [`Config`], resolved once at start from four layers, each
//! overriding the one before:
//!
//! 1. built-in defaults (documented on [`ConfigFile`] and in the README);
//! 2. a TOML file: `--config FILE` / `HOSO_CONFIG`, else `./hoso.toml` when it exists;
//! 3. environment variables (`HOSO_LISTEN`, `HOSO_DATA_DIR`, `HOSO_DATABASE_URL`, ...);
//! 4. command-line flags.
//!
//! Layers 3 and 4 are read by clap (see `cli`), which hands them over as [`Overrides`].
//! A bad value in any layer is a [`ConfigError`] (exit code 2), never a silent default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::archive::codes::AgencyCode;
use crate::error::{Coded, ErrorClass};
use crate::ocr::Languages;

/// Name of the file read from the working directory when no `--config` is given.
pub const DEFAULT_CONFIG_FILE: &str = "hoso.toml";

/// The folder of Vietnamese trust anchors in a checkout.
pub const DEFAULT_TRUST_DIR: &str = "certs/trust";

/// Agency code used when none is configured: a TEST code in the agency-ID format
/// (vn-standards.md §3.1) that names no agency. Dossier codes made with it are for trying
/// hoso out; an office sets its own `agency_code`.
pub const TEST_AGENCY_CODE: &str = "X99.999.99";

/// The effective configuration of one hoso process.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address the HTTP service listens on.
    pub listen: SocketAddr,
    /// Folder for everything hoso keeps locally: the SQLite file and the blob store.
    pub data_dir: PathBuf,
    /// Where the metadata lives.
    pub database: DatabaseTarget,
    /// Folders of trusted root certificates (PEM or DER).
    pub trust_dirs: Vec<PathBuf>,
    /// Tesseract languages for OCR.
    pub ocr_languages: Languages,
    /// How many CPU-bound jobs (OCR pages, signatures) run at once.
    pub jobs: usize,
    /// tracing filter, e.g. `info` or `hoso=debug,tower_http=info`; `None` leaves the choice
    /// to the command (`info` for the server, `warn` for one-shot commands).
    pub log: Option<String>,
    /// Electronic ID of the agency whose desk receives dossiers (the prefix of dossier codes).
    pub agency_code: AgencyCode,
    /// Folder scanners drop files into; `hoso serve` ingests them (`pipeline::inbox`).
    pub inbox: Option<PathBuf>,
}

/// Which database backend, parsed from a URL.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    /// Embedded default: one SQLite file.
    Sqlite { path: PathBuf },
    /// `postgres://` or `postgresql://` URL, for several replicas sharing one database.
    Postgres { url: String },
}

impl DatabaseTarget {
    /// Parses `sqlite:PATH`, `sqlite://PATH`, `postgres://...` or `postgresql://...`.
    ///
    /// # Errors
    /// Any other scheme, or an empty SQLite path.
    pub fn parse(url: &str) -> Result<Self, ConfigError> {
        let invalid = |reason: &str| ConfigError::InvalidValue {
            key: "database_url",
            value: redact_password(url),
            reason: reason.to_owned(),
        };
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseTarget::Postgres {
                url: url.to_owned(),
            });
        }
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            let path = path.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err(invalid("the SQLite URL has no file path"));
            }
            return Ok(DatabaseTarget::Sqlite {
                path: PathBuf::from(path),
            });
        }
        Err(invalid("expected sqlite:PATH or postgres://USER@HOST/DB"))
    }

    /// Short name for logs and health output.
    pub fn backend(&self) -> &'static str {
        match self {
            DatabaseTarget::Sqlite { .. } => "sqlite",
            DatabaseTarget::Postgres { .. } => "postgres",
        }
    }
}

/// Debug output must never carry a database password into a log.
impl std::fmt::Debug for DatabaseTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatabaseTarget::Sqlite { path } => write!(f, "sqlite:{}", path.display()),
            DatabaseTarget::Postgres { url } => f.write_str(&redact_password(url)),
        }
    }
}

/// Replaces the password in `scheme://user:password@host` with `***`.
pub fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// The TOML file's shape. Every key is optional; absent keys keep their default.
///
/// ```toml
/// listen = "127.0.0.1:8080"          # HOSO_LISTEN
/// data_dir = "data"                  # HOSO_DATA_DIR
/// database_url = "sqlite:data/hoso.db" # HOSO_DATABASE_URL; default: <data_dir>/hoso.db
/// trust_dirs = ["certs/trust"]       # HOSO_TRUST_DIRS (colon-separated)
/// ocr_languages = "vie+eng"          # HOSO_OCR_LANGUAGES
/// jobs = 2                           # HOSO_JOBS; default: number of cores
/// log = "info"                       # HOSO_LOG; default: info for serve, warn otherwise
/// agency_code = "H53.100.01"         # HOSO_AGENCY_CODE; default: the test code X99.999.99
/// ```
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub trust_dirs: Option<Vec<PathBuf>>,
    pub ocr_languages: Option<String>,
    pub jobs: Option<usize>,
    pub log: Option<String>,
    pub agency_code: Option<String>,
    pub inbox: Option<PathBuf>,
}

/// Values from the environment and the command line, already merged by clap
/// (a flag beats its environment variable).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub trust_dirs: Option<Vec<PathBuf>>,
    /// Folders added to the trust store after the configured ones (`--trust`).
    pub extra_trust_dirs: Vec<PathBuf>,
    pub ocr_languages: Option<Languages>,
    pub jobs: Option<usize>,
    pub log: Option<String>,
    pub agency_code: Option<String>,
    pub inbox: Option<PathBuf>,
}

impl Config {
    /// Resolves the effective configuration (see the module documentation for the layers).
    ///
    /// # Errors
    /// An unreadable or malformed config file, an unknown key, or an invalid value.
    pub fn resolve(overrides: Overrides) -> Result<Config, ConfigError> {
        let file = match &overrides.config_file {
            Some(path) => read_file(path)?,
            None if Path::new(DEFAULT_CONFIG_FILE).is_file() => {
                read_file(Path::new(DEFAULT_CONFIG_FILE))?
            }
            None => ConfigFile::default(),
        };
        Self::from_layers(file, overrides)
    }

    /// Combines an already-read file with the overrides; no I/O.
    pub fn from_layers(file: ConfigFile, overrides: Overrides) -> Result<Config, ConfigError> {
        let listen = match (overrides.listen, file.listen) {
            (Some(addr), _) => addr,
            (None, Some(text)) => text.parse().map_err(|_| ConfigError::InvalidValue {
                key: "listen",
                value: text.clone(),
                reason: "expected ADDRESS:PORT, e.g. 127.0.0.1:8080".to_owned(),
            })?,
            (None, None) => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };
        let data_dir = overrides
            .data_dir
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("data"));
        let database = match overrides.database_url.or(file.database_url) {
            Some(url) => DatabaseTarget::parse(&url)?,
            None => DatabaseTarget::Sqlite {
                path: data_dir.join("hoso.db"),
            },
        };
        let configured = overrides.trust_dirs.or(file.trust_dirs);
        let mut trust_dirs = match configured {
            Some(dirs) => dirs,
            // The default folder is relative to the checkout; run elsewhere with `--trust`
            // folders, a missing default is not worth refusing to work over.
            None if !overrides.extra_trust_dirs.is_empty()
                && !Path::new(DEFAULT_TRUST_DIR).is_dir() =>
            {
                tracing::warn!(
                    "{DEFAULT_TRUST_DIR} not found here: using only the --trust folders"
                );
                Vec::new()
            }
            None => vec![PathBuf::from(DEFAULT_TRUST_DIR)],
        };
        for extra in overrides.extra_trust_dirs {
            if !trust_dirs.contains(&extra) {
                trust_dirs.push(extra);
            }
        }
        // Anchors an administrator added through the service (`{data_dir}/trust`) count for
        // every command, not only for the service.
        let managed = data_dir.join("trust");
        if managed.is_dir() && !trust_dirs.contains(&managed) {
            trust_dirs.push(managed);
        }
        let ocr_languages = match (overrides.ocr_languages, file.ocr_languages) {
            (Some(langs), _) => langs,
            (None, Some(text)) => text
                .parse()
                .map_err(|e: String| ConfigError::InvalidValue {
                    key: "ocr_languages",
                    value: text.clone(),
                    reason: e,
                })?,
            (None, None) => Languages::default(),
        };
        let jobs = overrides.jobs.or(file.jobs).unwrap_or_else(default_jobs);
        if jobs == 0 {
            return Err(ConfigError::InvalidValue {
                key: "jobs",
                value: "0".to_owned(),
                reason: "must be at least 1".to_owned(),
            });
        }
        let log = overrides.log.or(file.log);
        let agency_text = overrides
            .agency_code
            .or(file.agency_code)
            .unwrap_or_else(|| TEST_AGENCY_CODE.to_owned());
        let agency_code =
            AgencyCode::parse(&agency_text).map_err(|value| ConfigError::InvalidValue {
                key: "agency_code",
                value,
                reason: "expected an agency ID such as H53.100.01 or 000.00.31.H19".to_owned(),
            })?;
        Ok(Config {
            listen,
            data_dir,
            database,
            trust_dirs,
            ocr_languages,
            jobs,
            log,
            agency_code,
            inbox: overrides.inbox.or(file.inbox),
        })
    }

    /// The blob store's folder inside the data dir.
    pub fn blob_dir(&self) -> PathBuf {
        self.data_dir.join("blobs")
    }
}

/// One job per core, the natural limit for CPU-bound OCR and signing.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn read_file(path: &Path) -> Result<ConfigFile, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::ParseFile {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// Configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid value {value:?} for `{key}`: {reason}")]
    InvalidValue {
        key: &'static str,
        value: String,
        reason: String,
    },
    #[error("config file {path} is not valid TOML for hoso: {message}")]
    ParseFile { path: PathBuf, message: String },
    #[error("cannot read config file {path}: {source}")]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Coded for ConfigError {
    fn code(&self) -> &'static str {
        match self {
            ConfigError::InvalidValue { .. } => "config-invalid-value",
            ConfigError::ParseFile { .. } => "config-file-invalid",
            ConfigError::ReadFile { .. } => "config-file-unreadable",
        }
    }

    fn class(&self) -> ErrorClass {
        ErrorClass::InvalidInput
    }

    fn message_vi(&self) -> String {
        match self {
            ConfigError::InvalidValue { key, value, .. } => {
                format!("Giá trị cấu hình không hợp lệ cho `{key}`: {value:?}.")
            }
            ConfigError::ParseFile { path, .. } => {
                format!(
                    "Tệp cấu hình {} sai cú pháp hoặc có khóa không được hỗ trợ.",
                    path.display()
                )
            }
            ConfigError::ReadFile { path, .. } => {
                format!("Không đọc được tệp cấu hình {}.", path.display())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(toml_text: &str) -> ConfigFile {
        toml::from_str(toml_text).expect("test TOML parses")
    }

    #[test]
    fn defaults_put_sqlite_inside_the_data_dir() {
        let config = Config::from_layers(ConfigFile::default(), Overrides::default()).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.data_dir, PathBuf::from("data"));
        assert_eq!(
            config.database,
            DatabaseTarget::Sqlite {
                path: "data/hoso.db".into()
            }
        );
        assert_eq!(config.ocr_languages.to_string(), "vie+eng");
    }

    #[test]
    fn flags_and_environment_beat_the_file() {
        let from_file = file("listen = \"0.0.0.0:9000\"\ndata_dir = \"/srv/file\"");
        let overrides = Overrides {
            data_dir: Some("/srv/flag".into()),
            ..Overrides::default()
        };
        let config = Config::from_layers(from_file, overrides).unwrap();
        assert_eq!(config.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(config.data_dir, PathBuf::from("/srv/flag"));
        assert_eq!(
            config.database,
            DatabaseTarget::Sqlite {
                path: "/srv/flag/hoso.db".into()
            }
        );
    }

    #[test]
    fn a_postgres_url_switches_the_backend() {
        let overrides = Overrides {
            database_url: Some("postgres://hoso:secret@db/hoso".into()),
            ..Overrides::default()
        };
        let config = Config::from_layers(ConfigFile::default(), overrides).unwrap();
        assert_eq!(config.database.backend(), "postgres");
        assert_eq!(
            format!("{:?}", config.database),
            "postgres://hoso:***@db/hoso"
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors_not_defaults() {
        assert!(toml::from_str::<ConfigFile>("lisen = \"x\"").is_err());
        let bad_listen = Config::from_layers(file("listen = \"nowhere\""), Overrides::default());
        assert!(matches!(
            bad_listen,
            Err(ConfigError::InvalidValue { key: "listen", .. })
        ));
        let bad_db = DatabaseTarget::parse("mysql://root@localhost/x");
        assert!(matches!(
            bad_db,
            Err(ConfigError::InvalidValue {
                key: "database_url",
                ..
            })
        ));
        let zero_jobs = Config::from_layers(file("jobs = 0"), Overrides::default());
        assert!(matches!(
            zero_jobs,
            Err(ConfigError::InvalidValue { key: "jobs", .. })
        ));
        let bad_agency = Config::from_layers(file("agency_code = \"H5\""), Overrides::default());
        assert!(matches!(
            bad_agency,
            Err(ConfigError::InvalidValue {
                key: "agency_code",
                ..
            })
        ));
    }

    #[test]
    fn the_agency_code_defaults_to_the_test_code_and_is_canonicalized() {
        let config = Config::from_layers(ConfigFile::default(), Overrides::default()).unwrap();
        assert_eq!(config.agency_code.as_str(), TEST_AGENCY_CODE);
        let overrides = Overrides {
            agency_code: Some("h53.100.01".into()),
            ..Overrides::default()
        };
        let config = Config::from_layers(file("agency_code = \"G06\""), overrides).unwrap();
        assert_eq!(config.agency_code.as_str(), "H53.100.01");
    }
}
