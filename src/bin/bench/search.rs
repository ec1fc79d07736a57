//! `bench search`: search latency on generated Vietnamese administrative documents, SQLite and
//! PostgreSQL side by side (issue #6).
//!
//! ```text
//! cargo run --release --bin bench -- search [--docs 100000,1000000] [--backend sqlite,postgres]
//! ```
//!
//! For each size and backend: a fresh database (a SQLite file under `--out`, a new schema in
//! the PostgreSQL of `--postgres-url`), loaded through the library's write path
//! (`Archive::add_documents`, `--batch` documents per transaction, each with its audit entry
//! and search entry; dossiers with `Archive::create_dossier`; content recorded with
//! `Archive::record_blob` from a pool without writing files), then `--queries` timed
//! `Archive::search` calls per query class (plus a few untimed warm-up calls), newest first,
//! 20 per page, snippets included. Output: a Markdown report on stdout, progress on stderr.
//!
//! The generator ([`corpus`]) is deterministic: document `i` is a function of the seed and `i`
//! alone, so queries can be drawn from what was loaded without keeping it in memory.
//!
//! Target (issue #6): p95 under 50 ms at 1 M documents for selective and filtered queries.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use hoso::archive::Archive;
use hoso::archive::codes::{AgencyCode, DossierCode, ProcedureCode};
use hoso::archive::documents::{NewDocument, OcrText};
use hoso::archive::dossiers::{Applicant, Channel, NewDossier};
use hoso::archive::procedures::CatalogueFormat;
use hoso::archive::search::{SearchQuery, SearchSort};
use hoso::config::DatabaseTarget;
use hoso::digest::Sha256Digest;
use hoso::error::Coded;
use sqlx::Connection;

use super::{BenchError, Result, load_average};

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Corpus sizes, comma-separated
    #[arg(long, value_delimiter = ',', default_values_t = [100_000u64])]
    docs: Vec<u64>,
    /// Backends, comma-separated
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Backend::Sqlite, Backend::Postgres])]
    backend: Vec<Backend>,
    /// Timed queries per class
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..))]
    queries: u32,
    /// Documents per write transaction
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    batch: u64,
    /// Folder for the SQLite files
    #[arg(long, default_value = "target/bench-search", value_name = "DIR")]
    out: PathBuf,
    /// PostgreSQL database, created when missing; each run uses a new schema in it, dropped
    /// at the end unless --keep. Not the tests' database: every archive write holds a
    /// database-wide advisory lock, and a loading bench would hold up the tests.
    #[arg(
        long,
        env = "HOSO_BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/hoso_bench",
        value_name = "URL"
    )]
    postgres_url: String,
    /// Keep the databases (SQLite files, PostgreSQL schemas)
    #[arg(long)]
    keep: bool,
    /// Seed of the generator
    #[arg(long, default_value_t = 6)]
    seed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// The query classes, in report order.
const CLASSES: [(&str, &str); 17] = [
    (
        "selective",
        "a person's name, no accents (`nguyen van hung`)",
    ),
    (
        "selective, accents",
        "the same typed with accents: exact tier, then the rest",
    ),
    (
        "common",
        "words in most documents (`quyet dinh`, `uy ban nhan dan`)",
    ),
    ("phrase", "a quoted place name (`\"hai ba trung\"`)"),
    ("filter: procedure", "`--procedure 1.001193`, no text"),
    ("filter: field", "`--field \"ho tich\"`, no text"),
    (
        "filter: role + month",
        "`--role input --from D --to D+30`, no text",
    ),
    ("filter: agency", "`--agency` an organ's full name, no text"),
    ("filter: signer", "`--signer` a full name, no text"),
    ("common + procedure", "a common term with `--procedure`"),
    ("selective + 6 months", "a name with an issued-date range"),
    (
        "common + signer",
        "a common term with `--signer` a full name",
    ),
    ("number", "`--number 123/QĐ-UBND`"),
    ("dossier", "`--dossier` full code"),
    (
        "dossier part",
        "`--dossier` day and sequence (`260105-0012`)",
    ),
    (
        "relevance, common",
        "`--sort relevance` on a common term (ranks the newest 10,000)",
    ),
    (
        "count, common",
        "a common term with `--count` (capped at 10,000)",
    ),
];

/// Latencies of one class on one backend.
#[derive(Debug, Clone, Default)]
struct Timings {
    millis: Vec<f64>,
    hits: u64,
}

impl Timings {
    fn percentile(&self, p: f64) -> f64 {
        let mut sorted = self.millis.clone();
        sorted.sort_by(f64::total_cmp);
        if sorted.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }
}

/// One loaded database and what was measured on it.
#[derive(Debug, Clone)]
struct Run {
    backend: Backend,
    docs: u64,
    load: Duration,
    blobs: Duration,
    dossiers: Duration,
    bytes: Option<u64>,
    search_bytes: Option<u64>,
    classes: Vec<Timings>,
}

pub fn bench_search(args: &SearchArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| BenchError::Failed(format!("tokio runtime: {e}")))?;
    runtime.block_on(bench(args))
}

async fn bench(args: &SearchArgs) -> Result<()> {
    let started = Instant::now();
    let load_at_start = load_average();
    std::fs::create_dir_all(&args.out)
        .map_err(|e| BenchError::Failed(format!("cannot create {}: {e}", args.out.display())))?;
    let mut runs = Vec::new();
    for &docs in &args.docs {
        for &backend in &args.backend {
            eprintln!("bench search: {} documents on {}", docs, backend.name());
            runs.push(one_run(args, backend, docs).await?);
        }
    }
    println!("{}", report(args, &runs, started.elapsed(), load_at_start));
    Ok(())
}

fn failed(what: &str) -> impl Fn(hoso::archive::ArchiveError) -> BenchError + '_ {
    move |e| BenchError::Failed(format!("{what}: [{}] {e}", e.code()))
}

async fn one_run(args: &SearchArgs, backend: Backend, docs: u64) -> Result<Run> {
    let (target, schema) = match backend {
        Backend::Sqlite => {
            let path = args.out.join(format!("search-{docs}.db"));
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
            (DatabaseTarget::Sqlite { path }, None)
        }
        Backend::Postgres => {
            let schema = format!("bench_search_{docs}_{}", std::process::id());
            let mut connection = connect_or_create(&args.postgres_url).await?;
            for statement in [
                format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
                format!("CREATE SCHEMA {schema}"),
            ] {
                sqlx::query(sqlx::AssertSqlSafe(statement))
                    .execute(&mut connection)
                    .await
                    .map_err(|e| BenchError::Failed(format!("create schema: {e}")))?;
            }
            let separator = if args.postgres_url.contains('?') {
                '&'
            } else {
                '?'
            };
            let url = format!(
                "{}{separator}options=-c%20search_path%3D{schema}",
                args.postgres_url
            );
            (DatabaseTarget::Postgres { url }, Some(schema))
        }
    };
    let archive = Archive::connect(&target).await.map_err(failed("connect"))?;
    let corpus = corpus::Corpus::new(args.seed, docs);
    let loaded = load(&archive, &corpus, args.batch).await?;
    if backend == Backend::Postgres {
        // What autovacuum does after a bulk load anyway; done now so the plans are stable.
        let mut connection = connect_pg(&target).await?;
        sqlx::query("VACUUM ANALYZE")
            .execute(&mut connection)
            .await
            .map_err(|e| BenchError::Failed(format!("VACUUM ANALYZE: {e}")))?;
    }
    let classes = measure(
        &archive,
        &corpus,
        &loaded.dossier_codes,
        args.queries,
        args.seed,
    )
    .await?;
    archive.close().await;
    let (bytes, search_bytes) = sizes(&target, schema.as_deref()).await?;
    if !args.keep {
        match (&target, &schema) {
            (DatabaseTarget::Sqlite { path }, _) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            (DatabaseTarget::Postgres { .. }, Some(schema)) => {
                let mut connection = sqlx::PgConnection::connect(&args.postgres_url)
                    .await
                    .map_err(|e| BenchError::Failed(format!("PostgreSQL: {e}")))?;
                sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                    .execute(&mut connection)
                    .await
                    .map_err(|e| BenchError::Failed(format!("drop schema: {e}")))?;
            }
            _ => {}
        }
    }
    Ok(Run {
        backend,
        docs,
        load: loaded.load,
        blobs: loaded.blobs,
        dossiers: loaded.dossiers,
        bytes,
        search_bytes,
        classes,
    })
}

/// Connects to `url`, creating its database first when it does not exist.
pub(crate) async fn connect_or_create(url: &str) -> Result<sqlx::PgConnection> {
    use std::str::FromStr;
    let failed = |e: sqlx::Error| BenchError::Failed(format!("PostgreSQL {url}: {e}"));
    let options = sqlx::postgres::PgConnectOptions::from_str(url).map_err(failed)?;
    match sqlx::PgConnection::connect_with(&options).await {
        Ok(connection) => Ok(connection),
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("3D000") => {
            let name = options.get_database().unwrap_or("hoso_bench").to_owned();
            if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(BenchError::Failed(format!(
                    "database name {name:?}: use letters, digits and _"
                )));
            }
            let mut admin = sqlx::PgConnection::connect_with(&options.clone().database("postgres"))
                .await
                .map_err(failed)?;
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut admin)
                .await
                .map_err(failed)?;
            sqlx::PgConnection::connect_with(&options)
                .await
                .map_err(failed)
        }
        Err(e) => Err(failed(e)),
    }
}

async fn connect_pg(target: &DatabaseTarget) -> Result<sqlx::PgConnection> {
    let DatabaseTarget::Postgres { url } = target else {
        return Err(BenchError::Failed("not PostgreSQL".to_owned()));
    };
    sqlx::PgConnection::connect(url)
        .await
        .map_err(|e| BenchError::Failed(format!("PostgreSQL: {e}")))
}

/// Database size and the search index's share of it, in bytes.
async fn sizes(
    target: &DatabaseTarget,
    schema: Option<&str>,
) -> Result<(Option<u64>, Option<u64>)> {
    match target {
        DatabaseTarget::Sqlite { path } => {
            let url = format!("sqlite:{}", path.display());
            let mut connection = sqlx::SqliteConnection::connect(&url)
                .await
                .map_err(|e| BenchError::Failed(format!("SQLite: {e}")))?;
            let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&mut connection)
                .await;
            // dbstat is compiled into the bundled SQLite only sometimes.
            let search: Option<i64> =
                sqlx::query_scalar("SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'search%'")
                    .fetch_one(&mut connection)
                    .await
                    .ok();
            let bytes = std::fs::metadata(path).map(|m| m.len()).ok();
            Ok((bytes, search.and_then(|s| u64::try_from(s).ok())))
        }
        DatabaseTarget::Postgres { .. } => {
            let mut connection = connect_pg(target).await?;
            let (total, search): (Option<i64>, Option<i64>) = sqlx::query_as(
                "SELECT sum(pg_total_relation_size(c.oid))::bigint,
                     sum(pg_total_relation_size(c.oid))
                         FILTER (WHERE c.relname = 'search_entries')::bigint
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = $1 AND c.relkind = 'r'",
            )
            .bind(schema.unwrap_or("public"))
            .fetch_one(&mut connection)
            .await
            .map_err(|e| BenchError::Failed(format!("sizes: {e}")))?;
            Ok((
                total.and_then(|t| u64::try_from(t).ok()),
                search.and_then(|s| u64::try_from(s).ok()),
            ))
        }
    }
}

struct Loaded {
    load: Duration,
    blobs: Duration,
    dossiers: Duration,
    dossier_codes: Vec<String>,
}

/// Loads the corpus: the blob pool, then per batch its dossiers and documents.
async fn load(archive: &Archive, corpus: &corpus::Corpus, batch: u64) -> Result<Loaded> {
    archive
        .import_procedures(
            corpus::CATALOGUE.as_bytes(),
            CatalogueFormat::Csv,
            "bench.csv",
            "bench",
            corpus.stored_at(0),
        )
        .await
        .map_err(failed("import procedures"))?;
    let started = Instant::now();
    let pool: Vec<Sha256Digest> = (0..corpus.blob_pool(batch))
        .map(|i| Sha256Digest::of(format!("bench blob {i}").as_bytes()))
        .collect();
    for (i, sha) in pool.iter().enumerate() {
        archive
            .record_blob(
                sha,
                50_000 + i as u64,
                "application/pdf",
                corpus.stored_at(0),
            )
            .await
            .map_err(failed("record blob"))?;
    }
    let blobs = started.elapsed();
    let agency = AgencyCode::parse("H53.100.01").map_err(BenchError::Failed)?;
    let mut dossier_codes: Vec<String> = Vec::new();
    let mut load = Duration::ZERO;
    let mut dossiers = Duration::ZERO;
    let mut first = 0;
    let mut reported = Instant::now();
    while first < corpus.docs {
        let last = (first + batch).min(corpus.docs);
        let now = corpus.stored_at(first);
        // One dossier per 50 documents; every fifth document of the batch goes into one.
        let started = Instant::now();
        let mut batch_dossiers = Vec::new();
        for k in 0..((last - first) / 50).max(1) {
            let procedure =
                corpus::PROCEDURES[(first / 50 + k) as usize % corpus::PROCEDURES.len()];
            let dossier = archive
                .create_dossier(
                    &NewDossier {
                        procedure: ProcedureCode::parse(procedure.0).map_err(BenchError::Failed)?,
                        agency: agency.clone(),
                        applicant: Applicant {
                            name: corpus.person(first + k),
                            id_number: None,
                            contact: None,
                        },
                        channel: Channel::InPerson,
                        result_delivery: None,
                        actor: "bench".to_owned(),
                        note: None,
                    },
                    now,
                )
                .await
                .map_err(failed("create dossier"))?;
            batch_dossiers.push(DossierCode::parse(&dossier.code).map_err(BenchError::Failed)?);
        }
        dossiers += started.elapsed();
        dossier_codes.extend(batch_dossiers.iter().map(|c| c.as_str().to_owned()));
        let documents: Vec<NewDocument> = (first..last)
            .map(|i| {
                let doc = corpus.document(i);
                let dossier = (i % 5 == 0).then(|| {
                    batch_dossiers[((i - first) / 5) as usize % batch_dossiers.len()].clone()
                });
                NewDocument {
                    dossier,
                    role: doc.role,
                    sha256: pool[(i % pool.len() as u64) as usize],
                    file_name: doc.file_name,
                    metadata: doc.metadata,
                    ocr: Some(OcrText {
                        text: doc.body,
                        confidence: Some(90.0),
                    }),
                    actor: "bench".to_owned(),
                    reason: "nạp dữ liệu thử".to_owned(),
                }
            })
            .collect();
        let started = Instant::now();
        archive
            .add_documents(&documents, now)
            .await
            .map_err(failed("add documents"))?;
        load += started.elapsed();
        first = last;
        if reported.elapsed() > Duration::from_secs(15) || first == corpus.docs {
            reported = Instant::now();
            eprintln!(
                "  {first}/{} documents, {:.0} documents/s",
                corpus.docs,
                first as f64 / load.as_secs_f64()
            );
        }
    }
    Ok(Loaded {
        load,
        blobs,
        dossiers,
        dossier_codes,
    })
}

/// The queries of class `class`, `n` of them, drawn with `rng`.
fn queries(
    class: usize,
    n: u32,
    corpus: &corpus::Corpus,
    dossier_codes: &[String],
    rng: &mut corpus::Rng,
) -> Vec<SearchQuery> {
    let q = SearchQuery::default;
    (0..n)
        .map(|_| {
            let doc = corpus.document(rng.below(corpus.docs));
            let common =
                corpus::COMMON_QUERIES[rng.below(corpus::COMMON_QUERIES.len() as u64) as usize];
            match class {
                0 => SearchQuery::text(&hoso::archive::search::fold(&doc.person)),
                1 => SearchQuery::text(&doc.person),
                2 => SearchQuery::text(common),
                3 => SearchQuery::text(&format!("\"{}\"", hoso::archive::search::fold(&doc.place))),
                4 => SearchQuery {
                    procedure: Some(
                        corpus::PROCEDURES[rng.below(corpus::PROCEDURES.len() as u64) as usize]
                            .0
                            .to_owned(),
                    ),
                    ..q()
                },
                5 => SearchQuery {
                    field: Some(hoso::archive::search::fold(
                        corpus::PROCEDURES[rng.below(corpus::PROCEDURES.len() as u64) as usize].1,
                    )),
                    ..q()
                },
                6 => {
                    let day = doc
                        .metadata
                        .issued_date
                        .unwrap_or(time::macros::date!(2024 - 01 - 01));
                    SearchQuery {
                        role: Some(doc.role),
                        issued_from: Some(day),
                        issued_to: day.checked_add(time::Duration::days(30)),
                        ..q()
                    }
                }
                7 => SearchQuery {
                    agency: doc.metadata.organ_name.clone(),
                    ..q()
                },
                8 => SearchQuery {
                    signer: doc.metadata.signer_name.clone(),
                    ..q()
                },
                9 => SearchQuery {
                    procedure: Some(
                        corpus::PROCEDURES[rng.below(corpus::PROCEDURES.len() as u64) as usize]
                            .0
                            .to_owned(),
                    ),
                    ..SearchQuery::text(common)
                },
                10 => {
                    let day = doc
                        .metadata
                        .issued_date
                        .unwrap_or(time::macros::date!(2024 - 01 - 01));
                    SearchQuery {
                        issued_from: day.checked_sub(time::Duration::days(90)),
                        issued_to: day.checked_add(time::Duration::days(90)),
                        ..SearchQuery::text(&hoso::archive::search::fold(&doc.person))
                    }
                }
                11 => SearchQuery {
                    signer: doc.metadata.signer_name.clone(),
                    ..SearchQuery::text(common)
                },
                12 => SearchQuery {
                    number: Some(format!(
                        "{}/{}",
                        doc.metadata.code_number.clone().unwrap_or_default(),
                        doc.metadata.code_notation.clone().unwrap_or_default()
                    )),
                    ..q()
                },
                13 | 14 => {
                    let code = &dossier_codes[rng.below(dossier_codes.len() as u64) as usize];
                    let dossier = if class == 13 {
                        code.clone()
                    } else {
                        // "H53.100.01-260105-0012" → "260105-0012"
                        code.split_once('-')
                            .map_or(code.as_str(), |(_, rest)| rest)
                            .to_owned()
                    };
                    SearchQuery {
                        dossier: Some(dossier),
                        ..q()
                    }
                }
                15 => SearchQuery {
                    sort: SearchSort::Relevance,
                    ..SearchQuery::text(common)
                },
                _ => SearchQuery {
                    count: true,
                    ..SearchQuery::text(common)
                },
            }
        })
        .collect()
}

async fn measure(
    archive: &Archive,
    corpus: &corpus::Corpus,
    dossier_codes: &[String],
    n: u32,
    seed: u64,
) -> Result<Vec<Timings>> {
    let mut out = Vec::new();
    for (class, (name, _)) in CLASSES.iter().enumerate() {
        // The same queries on every backend: the generator is seeded by class.
        let mut rng = corpus::Rng::new(seed ^ (0x5eed_0000 + class as u64));
        let warm = queries(class, 5, corpus, dossier_codes, &mut rng);
        for query in &warm {
            archive.search(query).await.map_err(failed("search"))?;
        }
        let mut timings = Timings::default();
        for query in queries(class, n, corpus, dossier_codes, &mut rng) {
            let started = Instant::now();
            let page = archive.search(&query).await.map_err(failed("search"))?;
            timings
                .millis
                .push(started.elapsed().as_secs_f64() * 1000.0);
            timings.hits += page.items.len() as u64;
        }
        eprintln!(
            "  {:<20} p50 {:>8.2} ms  p95 {:>8.2} ms",
            name,
            timings.percentile(50.0),
            timings.percentile(95.0)
        );
        out.push(timings);
    }
    Ok(out)
}

fn report(
    args: &SearchArgs,
    runs: &[Run],
    elapsed: Duration,
    load_at_start: Option<f64>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Search latency (`bench search`)\n");
    let _ = writeln!(
        out,
        "{} timed `Archive::search` calls per class after 5 warm-up calls, newest first, 20 per \
         page with snippets; one client, sequential. Load average at start: {}; {} cores; \
         run took {:.0} s.\n",
        args.queries,
        load_at_start.map_or("?".to_owned(), |l| format!("{l:.2}")),
        super::cores().unwrap_or(0),
        elapsed.as_secs_f64()
    );
    let _ = writeln!(out, "## Loading\n");
    let _ = writeln!(
        out,
        "| backend | documents | load s | documents/s | dossiers s | blob records s | DB MB | bytes/document | search index bytes/document |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for run in runs {
        let per = |b: Option<u64>| {
            b.map_or("—".to_owned(), |b| {
                format!("{:.0}", b as f64 / run.docs as f64)
            })
        };
        let _ = writeln!(
            out,
            "| {} | {} | {:.1} | {:.0} | {:.1} | {:.1} | {} | {} | {} |",
            run.backend.name(),
            run.docs,
            run.load.as_secs_f64(),
            run.docs as f64 / run.load.as_secs_f64(),
            run.dossiers.as_secs_f64(),
            run.blobs.as_secs_f64(),
            run.bytes
                .map_or("—".to_owned(), |b| format!("{:.0}", b as f64 / 1e6)),
            per(run.bytes),
            per(run.search_bytes),
        );
    }
    for &docs in &args.docs {
        let of_size: Vec<&Run> = runs.iter().filter(|r| r.docs == docs).collect();
        let _ = writeln!(
            out,
            "\n## {docs} documents: p50 / p95 ms (mean hits per page)\n"
        );
        let mut header = "| query class |".to_owned();
        let mut rule = "|---|".to_owned();
        for run in &of_size {
            let _ = write!(
                header,
                " {} p50 | {} p95 | hits |",
                run.backend.name(),
                run.backend.name()
            );
            rule.push_str("---:|---:|---:|");
        }
        let _ = writeln!(out, "{header}\n{rule}");
        for (i, (name, what)) in CLASSES.iter().enumerate() {
            let mut row = format!("| {name} — {what} |");
            for run in &of_size {
                let t = &run.classes[i];
                let _ = write!(
                    row,
                    " {:.2} | {:.2} | {:.1} |",
                    t.percentile(50.0),
                    t.percentile(95.0),
                    t.hits as f64 / t.millis.len().max(1) as f64
                );
            }
            let _ = writeln!(out, "{row}");
        }
    }
    out
}

/// The deterministic generator of Vietnamese administrative documents.
mod corpus {
    use hoso::archive::documents::{DocumentMetadata, DocumentRole};
    use time::{Date, Duration, OffsetDateTime};

    /// The procedures dossiers are filed under: code, field, name.
    pub const PROCEDURES: [(&str, &str, &str); 8] = [
        ("1.001193", "Hộ tịch", "Đăng ký khai sinh"),
        ("1.000894", "Hộ tịch", "Đăng ký kết hôn"),
        (
            "2.002710",
            "Xây dựng",
            "Cấp giấy phép xây dựng nhà ở riêng lẻ",
        ),
        ("1.004227", "Đất đai", "Đăng ký biến động quyền sử dụng đất"),
        ("2.001757", "Chứng thực", "Chứng thực bản sao từ bản chính"),
        ("1.001612", "Đăng ký kinh doanh", "Đăng ký hộ kinh doanh"),
        ("1.003005", "Bảo trợ xã hội", "Trợ cấp xã hội hằng tháng"),
        ("2.000908", "Tư pháp", "Cấp phiếu lý lịch tư pháp"),
    ];

    pub const CATALOGUE: &str = "code,name,field,level,processing_days,competent_agency\n\
        1.001193,Đăng ký khai sinh,Hộ tịch,Cấp xã,3,UBND cấp xã\n\
        1.000894,Đăng ký kết hôn,Hộ tịch,Cấp xã,3,UBND cấp xã\n\
        2.002710,Cấp giấy phép xây dựng nhà ở riêng lẻ,Xây dựng,Cấp huyện,15,UBND cấp huyện\n\
        1.004227,Đăng ký biến động quyền sử dụng đất,Đất đai,Cấp huyện,10,Văn phòng đăng ký đất đai\n\
        2.001757,Chứng thực bản sao từ bản chính,Chứng thực,Cấp xã,0,UBND cấp xã\n\
        1.001612,Đăng ký hộ kinh doanh,Đăng ký kinh doanh,Cấp huyện,3,Phòng Tài chính - Kế hoạch\n\
        1.003005,Trợ cấp xã hội hằng tháng,Bảo trợ xã hội,Cấp huyện,20,UBND cấp huyện\n\
        2.000908,Cấp phiếu lý lịch tư pháp,Tư pháp,Cấp tỉnh,10,Sở Tư pháp\n";

    pub const COMMON_QUERIES: [&str; 5] = [
        "quyet dinh",
        "uy ban nhan dan",
        "thanh pho",
        "cong dan",
        "ve viec",
    ];

    const FAMILY: [(&str, u64); 16] = [
        ("Nguyễn", 38),
        ("Trần", 11),
        ("Lê", 10),
        ("Phạm", 7),
        ("Hoàng", 5),
        ("Huỳnh", 4),
        ("Phan", 4),
        ("Vũ", 4),
        ("Võ", 3),
        ("Đặng", 2),
        ("Bùi", 2),
        ("Đỗ", 2),
        ("Hồ", 2),
        ("Ngô", 2),
        ("Dương", 2),
        ("Lý", 1),
    ];
    const MIDDLE: [&str; 14] = [
        "Văn", "Thị", "Đức", "Minh", "Ngọc", "Thanh", "Hữu", "Quang", "Xuân", "Thu", "Hồng", "Anh",
        "Công", "Thành",
    ];
    const GIVEN: [&str; 48] = [
        "An", "Bình", "Cường", "Dũng", "Đức", "Giang", "Hà", "Hải", "Hạnh", "Hòa", "Hùng", "Hương",
        "Khánh", "Lan", "Linh", "Long", "Mai", "Minh", "Nam", "Nga", "Ngọc", "Phong", "Phúc",
        "Phương", "Quân", "Quang", "Sơn", "Tâm", "Thảo", "Thắng", "Thành", "Trang", "Trung",
        "Tuấn", "Tú", "Vân", "Việt", "Yến", "Đạt", "Hiếu", "Huy", "Khoa", "Lộc", "Nhung", "Oanh",
        "Quý", "Thủy", "Vinh",
    ];
    const PLACES: [&str; 40] = [
        "Đống Đa",
        "Hoàn Kiếm",
        "Ba Đình",
        "Cầu Giấy",
        "Hai Bà Trưng",
        "Thanh Xuân",
        "Long Biên",
        "Tây Hồ",
        "Hoàng Mai",
        "Hà Đông",
        "Bắc Từ Liêm",
        "Nam Từ Liêm",
        "Gia Lâm",
        "Đông Anh",
        "Sóc Sơn",
        "Mê Linh",
        "Thạch Thất",
        "Quốc Oai",
        "Chương Mỹ",
        "Thanh Trì",
        "Bến Nghé",
        "Tân Định",
        "Đa Kao",
        "Thảo Điền",
        "Phú Nhuận",
        "Bình Thạnh",
        "Gò Vấp",
        "Thủ Đức",
        "Hải Châu",
        "Sơn Trà",
        "Ninh Kiều",
        "Cái Răng",
        "Lê Chân",
        "Ngô Quyền",
        "Hồng Bàng",
        "Vĩnh Yên",
        "Phúc Yên",
        "Bắc Ninh",
        "Từ Sơn",
        "Hạ Long",
    ];
    /// Type, symbol part, weight.
    const TYPES: [(&str, &str, u64); 10] = [
        ("Quyết định", "QĐ", 30),
        ("Công văn", "", 20),
        ("Thông báo", "TB", 10),
        ("Tờ trình", "TTr", 6),
        ("Báo cáo", "BC", 8),
        ("Kế hoạch", "KH", 6),
        ("Giấy chứng nhận", "GCN", 8),
        ("Biên bản", "BB", 5),
        ("Giấy khai sinh", "GKS", 4),
        ("Đơn đề nghị", "ĐN", 3),
    ];
    /// Organ name pattern (`{}` = a place), symbol of the organ.
    const ORGANS: [(&str, &str); 8] = [
        ("Ủy ban nhân dân phường {}", "UBND"),
        ("Ủy ban nhân dân quận {}", "UBND"),
        ("Phòng Tư pháp quận {}", "PTP"),
        ("Phòng Quản lý đô thị quận {}", "QLĐT"),
        ("Công an phường {}", "CAP"),
        ("Sở Tư pháp thành phố Hà Nội", "STP"),
        ("Sở Xây dựng thành phố Hà Nội", "SXD"),
        ("Sở Tài nguyên và Môi trường thành phố Hà Nội", "STNMT"),
    ];
    const POSITIONS: [&str; 6] = [
        "Chủ tịch",
        "Phó Chủ tịch",
        "Giám đốc",
        "Phó Giám đốc",
        "Trưởng phòng",
        "Trưởng Công an",
    ];
    /// Trích yếu; `{p}` a person, `{l}` a place, `{y}` a year.
    const SUBJECTS: [&str; 14] = [
        "Về việc cấp giấy phép xây dựng nhà ở riêng lẻ cho hộ gia đình {p} tại phường {l}",
        "Về việc đăng ký khai sinh cho công dân {p}",
        "Về việc phê duyệt kế hoạch sử dụng đất năm {y} của quận {l}",
        "Về việc giải quyết khiếu nại của ông (bà) {p}",
        "Về việc cấp giấy chứng nhận quyền sử dụng đất cho {p}",
        "Về việc thành lập tổ công tác kiểm tra trật tự xây dựng phường {l}",
        "Về việc điều chỉnh quy hoạch chi tiết tỷ lệ 1/500 khu dân cư {l}",
        "Về việc trợ cấp xã hội hằng tháng đối với {p}",
        "Về việc đăng ký hộ kinh doanh của {p} tại {l}",
        "Báo cáo kết quả thực hiện thủ tục hành chính năm {y}",
        "Về việc chứng thực bản sao giấy tờ của công dân {p}",
        "Về việc xử phạt vi phạm hành chính đối với {p}",
        "Kế hoạch cải cách hành chính năm {y} của phường {l}",
        "Về việc cấp phiếu lý lịch tư pháp cho {p}",
    ];
    /// Body sentences, same slots plus `{n}` a number and `{d}` a date.
    const SENTENCES: [&str; 24] = [
        "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015.",
        "Căn cứ Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ về công tác văn thư.",
        "Xét đề nghị của Trưởng phòng Tư pháp quận {l} tại Tờ trình số {n}/TTr-TP ngày {d}.",
        "Ủy ban nhân dân phường {l} đã tiếp nhận hồ sơ của ông (bà) {p} theo quy định.",
        "Hồ sơ gồm đơn đề nghị, bản sao căn cước công dân và giấy tờ chứng minh chỗ ở hợp pháp.",
        "Thời hạn giải quyết là {n} ngày làm việc kể từ ngày nhận đủ hồ sơ hợp lệ.",
        "Công dân {p} cư trú tại số {n} đường {l}, thành phố Hà Nội.",
        "Quyết định này có hiệu lực kể từ ngày ký.",
        "Chánh Văn phòng Ủy ban nhân dân quận, Trưởng các phòng ban liên quan chịu trách nhiệm thi hành Quyết định này.",
        "Nơi nhận: như Điều 3; lưu văn thư.",
        "Đề nghị các đơn vị phối hợp thực hiện và báo cáo kết quả trước ngày {d}.",
        "Diện tích xây dựng {n} mét vuông, số tầng ba, chiều cao công trình mười hai mét.",
        "Kiểm tra thực tế cho thấy công trình xây dựng đúng giấy phép được cấp.",
        "Trường hợp không đủ điều kiện, cơ quan giải quyết trả lời bằng văn bản và nêu rõ lý do.",
        "Lệ phí được thu theo quy định của Hội đồng nhân dân thành phố.",
        "Biên bản được lập thành hai bản có giá trị pháp lý như nhau.",
        "Ông (bà) {p} có trách nhiệm nộp bổ sung giấy tờ trong thời hạn {n} ngày.",
        "Tổ công tác gồm đại diện phòng Quản lý đô thị, phòng Tài nguyên và Môi trường và công an phường {l}.",
        "Kết quả giải quyết được trả tại Bộ phận Một cửa hoặc qua dịch vụ bưu chính công ích.",
        "Ủy ban nhân dân quận {l} giao phòng Tài chính - Kế hoạch hướng dẫn thực hiện.",
        "Thửa đất số {n}, tờ bản đồ số {n}, mục đích sử dụng đất ở tại đô thị.",
        "Việc tiếp nhận và trả kết quả thực hiện theo cơ chế một cửa liên thông.",
        "Trong quá trình thực hiện nếu có vướng mắc, đề nghị phản ánh về Văn phòng để tổng hợp.",
        "Số điện thoại liên hệ 024 38{n} trong giờ hành chính.",
    ];

    /// SplitMix64: small, fast and well mixed; enough for test data.
    pub struct Rng(u64);

    impl Rng {
        pub fn new(seed: u64) -> Rng {
            Rng(seed)
        }

        pub fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        pub fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }

        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len() as u64) as usize]
        }

        fn weighted<T: Copy>(&mut self, items: &[(T, u64)]) -> T {
            let total: u64 = items.iter().map(|(_, w)| w).sum();
            let mut at = self.below(total);
            for (item, weight) in items {
                if at < *weight {
                    return *item;
                }
                at -= weight;
            }
            items[0].0
        }
    }

    pub struct Corpus {
        seed: u64,
        pub docs: u64,
    }

    /// One generated document.
    pub struct GenDoc {
        pub role: DocumentRole,
        pub file_name: String,
        pub metadata: DocumentMetadata,
        pub body: String,
        /// The person named in the subject and body.
        pub person: String,
        pub place: String,
    }

    /// The three years the documents were stored over.
    const FIRST_DAY: Date = time::macros::date!(2023 - 01 - 02);
    const SPAN_DAYS: u64 = 3 * 365;

    impl Corpus {
        pub fn new(seed: u64, docs: u64) -> Corpus {
            Corpus { seed, docs }
        }

        /// Distinct contents recorded; documents share them round-robin. More than a batch,
        /// so that two documents of one dossier never share content (the second would be
        /// taken for a duplicate of the first).
        pub fn blob_pool(&self, batch: u64) -> u64 {
            (self.docs / 10).max(batch + 1)
        }

        fn day_of(&self, i: u64) -> Date {
            FIRST_DAY + Duration::days((i * SPAN_DAYS / self.docs.max(1)) as i64)
        }

        /// When document `i` is stored (batches use their first document's time).
        pub fn stored_at(&self, i: u64) -> OffsetDateTime {
            self.day_of(i)
                .with_hms(2, 0, 0)
                .map(|t| t.assume_utc())
                .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        }

        fn rng(&self, i: u64, salt: u64) -> Rng {
            Rng::new(self.seed.wrapping_mul(0x1000_0000_01B3) ^ i.wrapping_mul(0x9E37_79B9) ^ salt)
        }

        pub fn person(&self, i: u64) -> String {
            let mut rng = self.rng(i, 0xa11c_e000);
            person_of(&mut rng)
        }

        pub fn document(&self, i: u64) -> GenDoc {
            let mut rng = self.rng(i, 0);
            let (type_name, type_symbol) = rng.weighted(&TYPES.map(|(t, s, w)| ((t, s), w)));
            let place = rng.pick(&PLACES).to_owned();
            let (organ_pattern, organ_symbol) = ORGANS[rng.below(ORGANS.len() as u64) as usize];
            let organ = organ_pattern.replace("{}", &place);
            let person = person_of(&mut rng);
            let signer = person_of(&mut rng);
            let day = self.day_of(i);
            let issued = day - Duration::days(rng.below(20) as i64);
            let number = 1 + rng.below(3_000);
            let notation = if type_symbol.is_empty() {
                format!("{organ_symbol}-VP")
            } else {
                format!("{type_symbol}-{organ_symbol}")
            };
            let year = issued.year().to_string();
            let fill = |text: &str, rng: &mut Rng| {
                text.replace("{p}", &person)
                    .replace("{l}", &place)
                    .replace("{y}", &year)
                    .replace("{n}", &(1 + rng.below(500)).to_string())
                    .replace(
                        "{d}",
                        &format!("{:02}/{:02}/{}", 1 + rng.below(28), 1 + rng.below(12), year),
                    )
            };
            let subject = fill(rng.pick(&SUBJECTS), &mut rng);
            let words = 50 + rng.below(251) as usize;
            let mut body = format!(
                "{}\nSố: {number}/{notation}\n{type_name}\n{subject}\n",
                organ.to_uppercase()
            );
            let mut count = body.split_whitespace().count();
            while count < words {
                let sentence = fill(rng.pick(&SENTENCES), &mut rng);
                count += sentence.split_whitespace().count();
                body.push_str(&sentence);
                body.push(if rng.below(4) == 0 { '\n' } else { ' ' });
            }
            body.push_str(&format!(
                "\n{}\n{signer}",
                POSITIONS[rng.below(POSITIONS.len() as u64) as usize].to_uppercase()
            ));
            let role = rng.weighted(&[
                (DocumentRole::Input, 35),
                (DocumentRole::Result, 20),
                (DocumentRole::Outgoing, 20),
                (DocumentRole::Incoming, 15),
                (DocumentRole::CertifiedCopy, 5),
                (DocumentRole::Attachment, 5),
            ]);
            GenDoc {
                role,
                file_name: format!(
                    "{}-{number}-{i}.pdf",
                    hoso::archive::search::fold(type_name).replace(' ', "-")
                ),
                metadata: DocumentMetadata {
                    type_name: Some(type_name.to_owned()),
                    code_number: Some(number.to_string()),
                    code_notation: Some(notation),
                    issued_date: Some(issued),
                    organ_name: Some(organ),
                    subject: Some(subject),
                    language: Some("vi".to_owned()),
                    page_count: Some(1 + rng.below(5) as u32),
                    signer_position: Some(
                        POSITIONS[rng.below(POSITIONS.len() as u64) as usize].to_owned(),
                    ),
                    signer_name: Some(signer),
                    ..DocumentMetadata::default()
                },
                body,
                person,
                place,
            }
        }
    }

    fn person_of(rng: &mut Rng) -> String {
        let family = rng.weighted(&FAMILY);
        let middle = rng.pick(&MIDDLE);
        let given = rng.pick(&GIVEN);
        format!("{family} {middle} {given}")
    }
}
