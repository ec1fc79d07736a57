//! Shared test set-up: databases on both backends, pipelines over temporary folders.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hoso::archive::Archive;
use hoso::archive::blob::LocalBlobStore;
use hoso::config::DatabaseTarget;
use hoso::pipeline::Pipeline;
use sqlx::Connection;
use tempfile::TempDir;

/// PostgreSQL used by the tests (CI provides this one with trust authentication).
pub fn postgres_base_url() -> String {
    std::env::var("HOSO_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// A database for one test, removed by [`TestDb::cleanup`].
pub struct TestDb {
    pub target: DatabaseTarget,
    /// Holds the SQLite file; `None` for PostgreSQL.
    _dir: Option<TempDir>,
    schema: Option<String>,
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let target = DatabaseTarget::Sqlite {
            path: dir.path().join("hoso.db"),
        };
        TestDb {
            target,
            _dir: Some(dir),
            schema: None,
        }
    }

    /// A fresh schema in the test PostgreSQL, or `None` (with a visible message) when no
    /// server is reachable outside CI. In CI an unreachable server fails the test.
    pub async fn postgres() -> Option<TestDb> {
        let base = postgres_base_url();
        let mut connection = match sqlx::PgConnection::connect(&base).await {
            Ok(connection) => connection,
            Err(e) if in_ci() => {
                panic!("PostgreSQL is required in CI but {base} is unreachable: {e}")
            }
            Err(e) => {
                eprintln!("SKIPPED (PostgreSQL part): {base} is unreachable: {e}");
                return None;
            }
        };
        let schema = format!("hoso_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut connection)
            .await
            .unwrap();
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
        Some(TestDb {
            target: DatabaseTarget::Postgres { url },
            _dir: None,
            schema: Some(schema),
        })
    }

    pub async fn archive(&self) -> Archive {
        Archive::connect(&self.target)
            .await
            .expect("test database connects and migrates")
    }

    /// The URL the `hoso` binary takes (`--database-url`, `HOSO_DATABASE_URL`).
    pub fn url(&self) -> String {
        match &self.target {
            DatabaseTarget::Sqlite { path } => format!("sqlite:{}", path.display()),
            DatabaseTarget::Postgres { url } => url.clone(),
        }
    }

    /// Runs `sql` (one or more statements) on a connection of its own, beside the archive:
    /// what someone with direct database access could do.
    pub async fn execute_raw(&self, sql: &str) -> Result<(), sqlx::Error> {
        let sql = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()));
        match &self.target {
            DatabaseTarget::Sqlite { path } => {
                let url = format!("sqlite:{}", path.display());
                let mut connection = sqlx::SqliteConnection::connect(&url).await?;
                sql.execute(&mut connection).await?;
            }
            DatabaseTarget::Postgres { url } => {
                let mut connection = sqlx::PgConnection::connect(url).await?;
                sql.execute(&mut connection).await?;
            }
        }
        Ok(())
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        self.target.backend()
    }

    pub async fn cleanup(self) {
        if let Some(schema) = &self.schema {
            let mut connection = sqlx::PgConnection::connect(&postgres_base_url())
                .await
                .unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(&mut connection)
                .await
                .unwrap();
        }
    }
}

/// SQLite always; PostgreSQL when reachable (always in CI).
pub async fn backends() -> Vec<TestDb> {
    let mut dbs = vec![TestDb::sqlite()];
    dbs.extend(TestDb::postgres().await);
    dbs
}

/// A pipeline over `db` with its blob store in a new temporary folder.
pub async fn pipeline(db: &TestDb) -> (Arc<Pipeline>, TempDir) {
    let blob_dir = tempfile::tempdir().unwrap();
    let blobs = LocalBlobStore::open(blob_dir.path()).unwrap();
    let pipeline = Pipeline::new(db.archive().await, Arc::new(blobs), 2);
    (Arc::new(pipeline), blob_dir)
}

/// The shared corpus beside the checkout (`../shared/corpora`, or `HOSO_CORPORA`).
pub fn corpora() -> Option<PathBuf> {
    let dir = std::env::var_os("HOSO_CORPORA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora"));
    if dir.is_dir() {
        return Some(dir);
    }
    eprintln!(
        "SKIPPED (conformance): no corpus at {} (set HOSO_CORPORA)",
        dir.display()
    );
    None
}

/// The `hoso` binary, run from the checkout with no `HOSO_*` variables from the caller's
/// environment (so a developer's settings do not change results) and the test PKCS#12
/// password in `HOSO_TEST_P12_PASSWORD`.
pub fn hoso() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_hoso"));
    command.current_dir(env!("CARGO_MANIFEST_DIR"));
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("HOSO_")) {
        command.env_remove(key);
    }
    command.env("HOSO_TEST_P12_PASSWORD", "test");
    command
}

/// How a command ended.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `command` to completion.
pub fn run(command: &mut std::process::Command) -> Run {
    let output = command.output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
