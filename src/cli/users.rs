//! `hoso user`, `hoso key` and `hoso token`: the accounts of the HTTP service, the signing
//! keys of officials and API tokens, managed from the server's shell (the first admin is
//! made here). Passwords are read from `--password-env VAR` or asked on the terminal, never
//! taken as flags (they would be in the shell history and the process list).

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};

use super::{Format, actor_or_login, print_report, read_secret, to_json, vn_time, with_runtime};
use crate::archive::accounts::{
    ApiToken, KeyStorage, NewSigningKey, NewUser, Role, Scope, SigningKey, User,
};
use crate::archive::{Archive, ArchiveError};
use crate::auth;
use crate::config::{Config, ConfigError};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum RoleArg {
    /// Cán bộ tiếp nhận (receives dossiers, asks for signatures)
    Clerk,
    /// Lãnh đạo ký duyệt (signs what is assigned to them)
    Official,
    /// Lưu trữ viên (fixity, export, audit)
    Archivist,
    /// Quản trị (accounts and keys)
    Admin,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Clerk => Role::Clerk,
            RoleArg::Official => Role::Official,
            RoleArg::Archivist => Role::Archivist,
            RoleArg::Admin => Role::Admin,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum ScopeArg {
    Read,
    Write,
    Sign,
    Admin,
}

impl From<ScopeArg> for Scope {
    fn from(scope: ScopeArg) -> Self {
        match scope {
            ScopeArg::Read => Scope::Read,
            ScopeArg::Write => Scope::Write,
            ScopeArg::Sign => Scope::Sign,
            ScopeArg::Admin => Scope::Admin,
        }
    }
}

#[derive(Debug, Subcommand)]
pub(super) enum UserCommand {
    /// Thêm người dùng / Add a user (the password is asked twice, or read from --password-env)
    Add(UserAddArgs),
    /// Đặt mật khẩu mới / Set a new password; the user's sessions end
    Passwd {
        username: String,
        /// Environment variable holding the new password [default: ask on the terminal]
        #[arg(long, value_name = "VAR")]
        password_env: Option<String>,
        /// Who acts, for the audit trail [default: the login name]
        #[arg(long, env = "HOSO_ACTOR", value_name = "NAME")]
        actor: Option<String>,
    },
    /// Khóa tài khoản / Disable a user: sessions end, API tokens are revoked
    Disable {
        username: String,
        /// Who acts, for the audit trail [default: the login name]
        #[arg(long, env = "HOSO_ACTOR", value_name = "NAME")]
        actor: Option<String>,
    },
    /// Mở khóa tài khoản / Enable a disabled user (revoked tokens stay revoked)
    Enable {
        username: String,
        /// Who acts, for the audit trail [default: the login name]
        #[arg(long, env = "HOSO_ACTOR", value_name = "NAME")]
        actor: Option<String>,
    },
    /// Liệt kê người dùng / List users
    List {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

#[derive(Debug, Args)]
pub(super) struct UserAddArgs {
    /// Login name: 2–64 lowercase letters, digits, '.', '_' or '-'
    username: String,
    #[arg(long, value_enum)]
    role: RoleArg,
    /// Full name shown in the interface [default: the login name]
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Environment variable holding the password [default: ask on the terminal, twice]
    #[arg(long, value_name = "VAR")]
    password_env: Option<String>,
    /// Who adds the user, for the audit trail [default: the login name]
    #[arg(long, env = "HOSO_ACTOR", value_name = "NAME")]
    actor: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Subcommand)]
pub(super) enum KeyCommand {
    /// Thêm khóa ký số cho người dùng / Register a signing key: a PKCS#12 file (re-encrypted
    /// for storage under its own password, which is not kept) or a key on a PKCS#11 token
    Add(Box<KeyAddArgs>),
    /// Liệt kê khóa ký số / List signing keys (never their secret part)
    List {
        /// Only this user's keys
        #[arg(long, value_name = "USERNAME")]
        user: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("key").args(["p12", "pkcs11_module"]).required(true)))]
pub(super) struct KeyAddArgs {
    /// Owner of the key
    #[arg(long, value_name = "USERNAME")]
    user: String,
    /// Name telling the user's keys apart, e.g. "Chữ ký số 2026"
    #[arg(long, value_name = "NAME")]
    name: String,
    /// Key and certificate in a PKCS#12 file (.p12/.pfx)
    #[arg(long, value_name = "FILE")]
    p12: Option<PathBuf>,
    /// Environment variable holding the PKCS#12 password [default: ask on the terminal]
    #[arg(long, value_name = "VAR", requires = "p12")]
    password_env: Option<String>,
    /// PKCS#11 module of the token or HSM, e.g. /usr/lib/softhsm/libsofthsm2.so
    #[arg(long, value_name = "SO", requires_all = ["token_label", "key_label", "certificate"])]
    pkcs11_module: Option<String>,
    /// Label of the token
    #[arg(long, value_name = "L", requires = "pkcs11_module")]
    token_label: Option<String>,
    /// Label of the private key on the token
    #[arg(long, value_name = "K", requires = "pkcs11_module")]
    key_label: Option<String>,
    /// The key's certificate (PEM or DER), for a PKCS#11 key
    #[arg(long, value_name = "CERT", requires = "pkcs11_module")]
    certificate: Option<PathBuf>,
    /// PNG of the handwritten signature for visible signatures
    #[arg(long, value_name = "PNG")]
    image: Option<PathBuf>,
    /// Who acts, for the audit trail [default: the login name]
    #[arg(long, env = "HOSO_ACTOR", value_name = "NAME")]
    actor: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Subcommand)]
pub(super) enum TokenCommand {
    /// Tạo mã truy cập API / Create an API token; its secret is printed once, alone on
    /// standard output (json: the "token" field), and never stored
    Create(TokenCreateArgs),
    /// Thu hồi mã truy cập / Revoke an API token
    Revoke {
        /// The token's number (from `hoso token list`)
        id: i64,
        /// Who acts, for the audit trail [default: the login name]
        #[arg(long, env = "HOSO_ACTOR", value_name = "NAME")]
        actor: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Liệt kê mã truy cập của người dùng / List a user's API tokens
    List {
        #[arg(long, value_name = "USERNAME")]
        user: String,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

#[derive(Debug, Args)]
pub(super) struct TokenCreateArgs {
    /// The user the token acts as
    #[arg(long, value_name = "USERNAME")]
    user: String,
    /// What the token is for, e.g. "máy quét tầng 1"
    #[arg(long, value_name = "NAME")]
    name: String,
    /// What the token may do, comma-separated
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        required = true,
        value_name = "SCOPES"
    )]
    scope: Vec<ScopeArg>,
    /// Expire after N days [default: never]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=3650))]
    days: Option<u16>,
    /// Who acts, for the audit trail [default: the login name]
    #[arg(long, env = "HOSO_ACTOR", value_name = "NAME")]
    actor: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// `hoso user …`.
pub(super) fn user(config: &Config, command: UserCommand) -> Result<()> {
    // Passwords are read and hashed before the database is opened (argon2 takes a moment
    // and the terminal prompt longer).
    let password_hash = match &command {
        UserCommand::Add(args) => Some(new_password_hash(args.password_env.as_deref())?),
        UserCommand::Passwd { password_env, .. } => {
            Some(new_password_hash(password_env.as_deref())?)
        }
        _ => None,
    };
    with_runtime(async {
        let archive = Archive::connect(&config.database).await?;
        let result = run_user(&archive, command, password_hash).await;
        archive.close().await;
        result
    })
}

async fn run_user(
    archive: &Archive,
    command: UserCommand,
    password_hash: Option<String>,
) -> Result<()> {
    let now = time::OffsetDateTime::now_utc();
    let password_hash = password_hash.unwrap_or_default();
    match command {
        UserCommand::Add(args) => {
            let user = archive
                .add_user(
                    &NewUser {
                        username: args.username,
                        display_name: args.name.unwrap_or_default(),
                        role: args.role.into(),
                        password_hash,
                    },
                    &actor_or_login(args.actor),
                    now,
                )
                .await?;
            print_report(args.format, &user, || {
                format!(
                    "đã thêm người dùng (user added): {} ({}, {})",
                    user.username,
                    user.role.as_str(),
                    user.role.label_vi()
                )
            })
        }
        UserCommand::Passwd {
            username, actor, ..
        } => {
            archive
                .set_password(&username, &password_hash, &actor_or_login(actor), now)
                .await?;
            println!(
                "đã đổi mật khẩu (password changed): {username}; các phiên đăng nhập đã kết thúc \
                 (sessions ended)"
            );
            Ok(())
        }
        UserCommand::Disable { username, actor } => {
            archive
                .set_disabled(&username, true, &actor_or_login(actor), now)
                .await?;
            println!(
                "đã khóa tài khoản (user disabled): {username}; phiên đăng nhập và mã truy cập \
                 API đã bị hủy (sessions ended, API tokens revoked)"
            );
            Ok(())
        }
        UserCommand::Enable { username, actor } => {
            archive
                .set_disabled(&username, false, &actor_or_login(actor), now)
                .await?;
            println!("đã mở khóa tài khoản (user enabled): {username}");
            Ok(())
        }
        UserCommand::List { format } => {
            let users = archive.users().await?;
            print_report(format, &users, || {
                users.iter().map(user_line).collect::<Vec<_>>().join("\n")
            })
        }
    }
}

fn user_line(user: &User) -> String {
    format!(
        "{:<20} {:<10} {}{}",
        user.username,
        user.role.as_str(),
        user.display_name,
        if user.disabled {
            "  [đã khóa / disabled]"
        } else {
            ""
        }
    )
}

/// A new password, checked and hashed: from `env_var`, else asked on the terminal twice
/// (once from standard input when it is not a terminal).
fn new_password_hash(env_var: Option<&str>) -> Result<String> {
    use std::io::IsTerminal;
    let twice = env_var.is_none() && std::io::stdin().is_terminal();
    let password = read_secret(env_var, "Mật khẩu mới (new password): ")?;
    auth::check_password_strength(&password)?;
    if twice && read_secret(None, "Nhập lại mật khẩu (repeat the password): ")? != password
    {
        return Err(Error::Config(ConfigError::InvalidValue {
            key: "password",
            value: String::new(),
            reason: "the two entries differ".to_owned(),
        }));
    }
    Ok(auth::hash_password(&password)?)
}

/// The user named `username`.
async fn user_named(archive: &Archive, username: &str) -> Result<User> {
    Ok(archive
        .user_by_name(username)
        .await?
        .map(|(user, _)| user)
        .ok_or_else(|| ArchiveError::UserNotFound {
            user: username.to_owned(),
        })?)
}

fn read_file(field: &'static str, path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        Error::Archive(ArchiveError::FieldInvalid {
            field,
            value: path.display().to_string(),
            reason: format!("cannot read the file: {e}"),
        })
    })
}

/// `hoso key …`.
pub(super) fn key(config: &Config, command: KeyCommand) -> Result<()> {
    let new_key = match &command {
        KeyCommand::Add(args) => Some(key_from_files(args)?),
        KeyCommand::List { .. } => None,
    };
    with_runtime(async {
        let archive = Archive::connect(&config.database).await?;
        let result = run_key(&archive, command, new_key).await;
        archive.close().await;
        result
    })
}

/// The key's parts read from the files named on the command line (the PKCS#12 re-sealed),
/// with `user_id` still 0.
fn key_from_files(args: &KeyAddArgs) -> Result<NewSigningKey> {
    let (storage, info) = match (&args.p12, &args.pkcs11_module) {
        (Some(p12), _) => {
            let bytes = read_file("p12", p12)?;
            let password = read_secret(
                args.password_env.as_deref(),
                "Mật khẩu tệp khóa (PKCS#12 password): ",
            )?;
            let (sealed, info) = auth::seal_pkcs12(&bytes, &password)?;
            (KeyStorage::Pkcs12 { sealed }, info)
        }
        (None, Some(module)) => {
            let certificate = args.certificate.as_deref().unwrap_or(Path::new(""));
            let info = auth::certificate_info(&read_file("certificate", certificate)?)?;
            let storage = KeyStorage::Pkcs11 {
                module: module.clone(),
                token_label: args.token_label.clone().unwrap_or_default(),
                key_label: args.key_label.clone().unwrap_or_default(),
            };
            (storage, info)
        }
        (None, None) => {
            return Err(Error::Config(ConfigError::InvalidValue {
                key: "--p12/--pkcs11-module",
                value: String::new(),
                reason: "choose a key: --p12 FILE or --pkcs11-module SO --token-label L \
                         --key-label K --certificate CERT"
                    .to_owned(),
            }));
        }
    };
    let signature_image = args
        .image
        .as_deref()
        .map(|path| read_file("signature_image", path))
        .transpose()?;
    Ok(NewSigningKey {
        user_id: 0,
        name: args.name.clone(),
        storage,
        certificate_der: info.certificate_der,
        subject: info.subject,
        not_after: info.not_after,
        signature_image,
    })
}

async fn run_key(
    archive: &Archive,
    command: KeyCommand,
    new_key: Option<NewSigningKey>,
) -> Result<()> {
    match (command, new_key) {
        (KeyCommand::Add(args), Some(new_key)) => {
            let user = user_named(archive, &args.user).await?;
            let key = archive
                .add_signing_key(
                    &NewSigningKey {
                        user_id: user.user_id,
                        ..new_key
                    },
                    &actor_or_login(args.actor.clone()),
                    time::OffsetDateTime::now_utc(),
                )
                .await?;
            print_report(args.format, &key, || {
                format!(
                    "đã thêm khóa ký số (signing key added) #{}\n{}",
                    key.key_id,
                    key_lines(&key, &user.username)
                )
            })
        }
        (KeyCommand::List { user, format }, _) => {
            let users = archive.users().await?;
            let keys = match &user {
                Some(name) => {
                    let user = user_named(archive, name).await?;
                    archive.signing_keys(user.user_id).await?
                }
                None => archive.all_signing_keys().await?,
            };
            print_report(format, &keys, || {
                keys.iter()
                    .map(|key| {
                        let owner = users
                            .iter()
                            .find(|u| u.user_id == key.user_id)
                            .map_or("?", |u| u.username.as_str());
                        format!("#{}\n{}", key.key_id, key_lines(key, owner))
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        (KeyCommand::Add(_), None) => Err(Error::Task("the key was not read".to_owned())),
    }
}

fn key_lines(key: &SigningKey, owner: &str) -> String {
    format!(
        "  {} ({})  người dùng (user): {}{}\n  {}\n  hết hạn (expires): {}  SHA-256 {}{}",
        key.name,
        key.kind,
        owner,
        if key.disabled {
            "  [đã khóa / disabled]"
        } else {
            ""
        },
        key.subject,
        vn_time(key.not_after),
        key.certificate_sha256.to_uppercase(),
        if key.has_image {
            "  (có ảnh chữ ký / with signature image)"
        } else {
            ""
        }
    )
}

/// `hoso token …`.
pub(super) fn token(config: &Config, command: TokenCommand) -> Result<()> {
    with_runtime(async {
        let archive = Archive::connect(&config.database).await?;
        let result = run_token(&archive, command).await;
        archive.close().await;
        result
    })
}

async fn run_token(archive: &Archive, command: TokenCommand) -> Result<()> {
    let now = time::OffsetDateTime::now_utc();
    match command {
        TokenCommand::Create(args) => {
            let user = user_named(archive, &args.user).await?;
            let scopes: Vec<Scope> = args.scope.iter().map(|&s| s.into()).collect();
            let secret = auth::new_secret(auth::TOKEN_PREFIX);
            let expires_at = args
                .days
                .map(|days| now + time::Duration::days(i64::from(days)));
            let token = archive
                .create_token(
                    user.user_id,
                    &args.name,
                    &scopes,
                    &auth::secret_digest(&secret),
                    expires_at,
                    &actor_or_login(args.actor),
                    now,
                )
                .await?;
            match args.format {
                Format::Json => {
                    let mut value =
                        serde_json::to_value(&token).map_err(|e| Error::Task(e.to_string()))?;
                    if let Some(object) = value.as_object_mut() {
                        object.insert("token".to_owned(), secret.into());
                    }
                    println!("{}", to_json(&value)?);
                }
                Format::Text => {
                    eprintln!(
                        "đã tạo mã truy cập API (API token created) #{} cho (for) {}: {}\n\
                         lưu mã dưới đây ngay, mã sẽ không hiển thị lại (store it now, it is \
                         shown only once):",
                        token.token_id,
                        user.username,
                        token_line(&token)
                    );
                    println!("{secret}");
                }
            }
            Ok(())
        }
        TokenCommand::Revoke { id, actor, format } => {
            let token = archive
                .revoke_token(id, &actor_or_login(actor), now)
                .await?;
            print_report(format, &token, || {
                format!(
                    "đã thu hồi mã truy cập (token revoked) #{}: {}",
                    token.token_id,
                    token_line(&token)
                )
            })
        }
        TokenCommand::List { user, format } => {
            let user = user_named(archive, &user).await?;
            let tokens = archive.tokens(user.user_id).await?;
            print_report(format, &tokens, || {
                tokens
                    .iter()
                    .map(|t| format!("#{} {}", t.token_id, token_line(t)))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
    }
}

fn token_line(token: &ApiToken) -> String {
    let scopes: Vec<&str> = token.scopes.iter().map(|s| s.as_str()).collect();
    let mut line = format!("{} [{}]", token.name, scopes.join(","));
    if let Some(at) = token.expires_at {
        line.push_str(&format!("  hết hạn (expires) {}", vn_time(at)));
    }
    if let Some(at) = token.revoked_at {
        line.push_str(&format!("  đã thu hồi (revoked) {}", vn_time(at)));
    }
    if let Some(at) = token.last_used_at {
        line.push_str(&format!("  dùng lần cuối (last used) {}", vn_time(at)));
    }
    line
}
