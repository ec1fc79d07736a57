//! `bench ingest`: how fast files become documents (without OCR), and what each costs on disk.
//!
//! ```text
//! cargo run --release --bin bench -- ingest [--docs 100000] [--backend sqlite,postgres] [--concurrency 1,4]
//! ```
//!
//! N distinct one-page PDFs (a Vietnamese administrative text with a per-document number,
//! about 2 KB each) are written to a scratch folder first (not timed). Then, per backend and
//! concurrency, a fresh archive ingests them all through `Pipeline::ingest`, the path `hoso
//! ingest`, the inbox and the API share: stream into the blob store (temp file, fsync, link,
//! fsync of the folder), record the blob, create the document and its first version with its
//! audit entry and search entry in one durable transaction, and look for signatures. It
//! reports documents per second, per-document latency p50/p95/p99, and bytes on disk per
//! document (database + blobs). There is no peer: no other tool stores into this archive;
//! `cp` + `fsync` of the same files (the floor of durable file storage) is measured in the
//! same run as the reference.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use hoso::archive::Archive;
use hoso::archive::blob::LocalBlobStore;
use hoso::archive::documents::{DocumentMetadata, DocumentRole};
use hoso::config::DatabaseTarget;
use hoso::pipeline::Pipeline;
use hoso::pipeline::ingest::IngestRequest;
use sqlx::Connection;

use super::{BenchError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Args)]
pub(crate) struct IngestArgs {
    /// Documents to ingest
    #[arg(long, default_value_t = 100_000)]
    docs: usize,
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Backend::Sqlite, Backend::Postgres])]
    backend: Vec<Backend>,
    /// Ingests running at once
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 4])]
    concurrency: Vec<usize>,
    /// PostgreSQL database (created when missing; not the tests' database: archive writes hold
    /// a database-wide lock); each run uses a new schema, dropped at the end
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/hoso_bench")]
    postgres_url: String,
    /// Scratch folder (the files, the archives)
    #[arg(long, default_value = "target/bench-ingest", value_name = "DIR")]
    out: PathBuf,
}

struct Measured {
    backend: Backend,
    concurrency: usize,
    seconds: f64,
    latencies: Vec<Duration>,
    bytes_per_doc: f64,
    db_bytes_per_doc: f64,
}

fn failed<E: std::fmt::Display>(context: &str) -> impl Fn(E) -> BenchError + '_ {
    move |e| BenchError::Failed(format!("{context}: {e}"))
}

/// A small PDF whose text (and so digest) differs per `n`.
fn document_pdf(n: usize) -> Vec<u8> {
    let text = format!(
        "BT /F1 11 Tf 14 TL 56 790 Td (UY BAN NHAN DAN XA TAN PHU) Tj T* \
         (So: {n}/QD-UBND) Tj T* (QUYET DINH ve viec cap giay phep xay dung so {n}) Tj T* \
         (Can cu Luat To chuc chinh quyen dia phuong; xet de nghi cua cong dan.) Tj T* \
         (Dieu 1. Cap giay phep cho ho so {n:06}.) Tj T* (Dieu 2. Quyet dinh co hieu luc.) Tj ET"
    );
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_owned(),
        format!(
            "<< /Length {} >>\nstream\n{text}\nendstream",
            text.len() + 1
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut pdf = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for offset in offsets {
        let _ = writeln!(table, "{offset:010} 00000 n ");
    }
    pdf.extend_from_slice(table.as_bytes());
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    for entry in entries.flatten() {
        let Ok(metadata) = entry.metadata() else {
            continue;
        };
        if metadata.is_dir() {
            total += dir_bytes(&entry.path());
        } else {
            // Allocated blocks: what the disk really spends on small files.
            use std::os::unix::fs::MetadataExt;
            total += metadata.blocks() * 512;
        }
    }
    total
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

async fn run_one(
    args: &IngestArgs,
    files: &[PathBuf],
    backend: Backend,
    concurrency: usize,
) -> Result<Measured> {
    let root = args
        .out
        .join(format!("{backend:?}-{concurrency}").to_lowercase());
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).map_err(failed("scratch folder"))?;
    let schema = format!("bench_ingest_{}_{concurrency}", std::process::id());
    let target = match backend {
        Backend::Sqlite => DatabaseTarget::Sqlite {
            path: root.join("hoso.db"),
        },
        Backend::Postgres => {
            let mut connection = super::search::connect_or_create(&args.postgres_url).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
            )))
            .execute(&mut connection)
            .await
            .map_err(failed("create schema"))?;
            let separator = if args.postgres_url.contains('?') {
                '&'
            } else {
                '?'
            };
            DatabaseTarget::Postgres {
                url: format!(
                    "{}{separator}options=-c%20search_path%3D{schema}",
                    args.postgres_url
                ),
            }
        }
    };
    let archive = Archive::connect(&target).await.map_err(failed("connect"))?;
    let blobs = LocalBlobStore::open(root.join("blobs")).map_err(failed("blob store"))?;
    let pipeline = Arc::new(Pipeline::new(archive, Arc::new(blobs), 2));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let files: Arc<Vec<PathBuf>> = Arc::new(files.to_vec());
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (pipeline, next, files) = (pipeline.clone(), next.clone(), files.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(path) = files.get(i) else { break };
                let t = Instant::now();
                pipeline
                    .ingest(
                        IngestRequest {
                            path: path.clone(),
                            file_name: None,
                            dossier: None,
                            role: DocumentRole::Incoming,
                            metadata: DocumentMetadata::default(),
                            ocr: false,
                            offline: true,
                            actor: "bench".to_owned(),
                        },
                        time::OffsetDateTime::now_utc(),
                    )
                    .await
                    .map_err(|e| BenchError::Failed(format!("ingest {}: {e}", path.display())))?;
                latencies.push(t.elapsed());
            }
            Ok::<_, BenchError>(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.map_err(failed("worker"))??);
    }
    let seconds = started.elapsed().as_secs_f64();
    pipeline.close().await;
    let n = files.len().max(1) as f64;
    let blob_bytes = dir_bytes(&root.join("blobs"));
    let db_bytes = match backend {
        Backend::Sqlite => {
            // The WAL is folded back by a checkpoint in normal running; count what stays.
            dir_bytes(&root) - blob_bytes
        }
        Backend::Postgres => {
            let mut connection = sqlx::PgConnection::connect(&args.postgres_url)
                .await
                .map_err(failed("PostgreSQL"))?;
            let size: i64 = sqlx::query_scalar(
                "SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0)::bigint
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = $1 AND c.relkind IN ('r', 'm')",
            )
            .bind(&schema)
            .fetch_one(&mut connection)
            .await
            .map_err(failed("size"))?;
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(&mut connection)
                .await
                .map_err(failed("drop schema"))?;
            u64::try_from(size).unwrap_or(0)
        }
    };
    let _ = std::fs::remove_dir_all(&root);
    latencies.sort();
    Ok(Measured {
        backend,
        concurrency,
        seconds,
        latencies,
        bytes_per_doc: (db_bytes + blob_bytes) as f64 / n,
        db_bytes_per_doc: db_bytes as f64 / n,
    })
}

/// The reference: the same files copied into a folder with an fsync each (and of the
/// folder), one at a time.
fn copy_fsync(files: &[PathBuf], out: &Path) -> Result<f64> {
    let dir = out.join("copy-fsync");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(failed("copy folder"))?;
    let started = Instant::now();
    let folder = std::fs::File::open(&dir).map_err(failed("open folder"))?;
    for (i, file) in files.iter().enumerate() {
        let target = dir.join(format!("{i}.pdf"));
        std::fs::copy(file, &target).map_err(failed("copy"))?;
        std::fs::File::open(&target)
            .and_then(|f| f.sync_all())
            .map_err(failed("fsync"))?;
        folder.sync_all().map_err(failed("fsync folder"))?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&dir);
    Ok(files.len() as f64 / seconds)
}

pub(crate) fn bench_ingest(args: &IngestArgs) -> Result<()> {
    let files_dir = args.out.join("files");
    let _ = std::fs::remove_dir_all(&files_dir);
    std::fs::create_dir_all(&files_dir).map_err(failed("files folder"))?;
    eprintln!("bench ingest: writing {} PDFs…", args.docs);
    let mut files = Vec::with_capacity(args.docs);
    for n in 0..args.docs {
        let path = files_dir.join(format!("qd-{n:07}.pdf"));
        std::fs::write(&path, document_pdf(n)).map_err(failed("write input"))?;
        files.push(path);
    }
    let input_bytes = dir_bytes(&files_dir) as f64 / args.docs.max(1) as f64;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(failed("runtime"))?;
    let reference = copy_fsync(&files, &args.out)?;
    let mut rows = Vec::new();
    for &backend in &args.backend {
        for &concurrency in &args.concurrency {
            eprintln!("bench ingest: {backend:?}, {concurrency} at once…");
            rows.push(runtime.block_on(run_one(args, &files, backend, concurrency))?);
        }
    }
    let _ = std::fs::remove_dir_all(&files_dir);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## Ingest without OCR: {} one-page PDFs ({input_bytes:.0} bytes on disk each)\n",
        args.docs
    );
    let _ = writeln!(
        out,
        "| backend | at once | docs/s | ÷ cp+fsync ({reference:.0}/s) | p50 ms | p95 ms | p99 ms | bytes on disk / doc | of which database |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in &rows {
        let rate = row.latencies.len() as f64 / row.seconds;
        let _ = writeln!(
            out,
            "| {:?} | {} | {rate:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.0} | {:.0} |",
            row.backend,
            row.concurrency,
            rate / reference,
            percentile(&row.latencies, 0.50),
            percentile(&row.latencies, 0.95),
            percentile(&row.latencies, 0.99),
            row.bytes_per_doc,
            row.db_bytes_per_doc,
        );
    }
    print!("{out}");
    Ok(())
}
