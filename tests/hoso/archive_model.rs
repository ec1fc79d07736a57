//! The records model on SQLite and PostgreSQL: the procedure catalogue, dossier codes and due
//! dates, status steps, and the audit chain with its checkpoints, through the library and
//! through the `hoso` binary.

use std::collections::BTreeSet;

use hoso::archive::audit::{AuditEntry, BreakReason, merkle_root};
use hoso::archive::codes::{AgencyCode, DossierCode, ProcedureCode};
use hoso::archive::dossiers::{
    Applicant, Channel, DossierStatus, NewDossier, ResultDelivery, Transition,
};
use hoso::archive::procedures::CatalogueFormat;
use hoso::archive::{Archive, ArchiveError};
use hoso::error::Coded;
use time::OffsetDateTime;
use time::macros::{date, datetime};

use crate::helpers::{TestDb, backends, hoso, run};

const CATALOGUE: &str = "code,name,field,level,processing_days,competent_agency\n\
    1.001193,Đăng ký khai sinh,Hộ tịch,Cấp xã,3,UBND cấp xã\n\
    2.002710,\"Cấp giấy phép xây dựng, nhà ở riêng lẻ\",Xây dựng,Cấp huyện,15,UBND cấp huyện\n";

/// Monday 23 November 2026, 09:00 in Vietnam.
const MONDAY_9AM: OffsetDateTime = datetime!(2026-11-23 02:00 UTC);

async fn seeded(db: &TestDb) -> Archive {
    let archive = db.archive().await;
    archive
        .import_procedures(
            CATALOGUE.as_bytes(),
            CatalogueFormat::Csv,
            "catalogue.csv",
            "quản trị",
            MONDAY_9AM,
        )
        .await
        .unwrap();
    archive
}

fn agency() -> AgencyCode {
    AgencyCode::parse("H53.100.01").unwrap()
}

fn new_dossier(procedure: &str, applicant: &str) -> NewDossier {
    NewDossier {
        procedure: ProcedureCode::parse(procedure).unwrap(),
        agency: agency(),
        applicant: Applicant {
            name: applicant.to_owned(),
            id_number: Some("001203004567".to_owned()),
            contact: Some("0912 345 678".to_owned()),
        },
        channel: Channel::InPerson,
        result_delivery: None,
        actor: "cán bộ một cửa".to_owned(),
        note: None,
    }
}

fn step(to: DossierStatus, actor: &str) -> Transition {
    Transition {
        to,
        actor: actor.to_owned(),
        note: None,
    }
}

async fn all_entries(archive: &Archive) -> Vec<AuditEntry> {
    archive.audit_entries(0, 10_000).await.unwrap()
}

#[tokio::test]
async fn archive_catalogue_import_upserts_by_code_and_counts() {
    for db in backends().await {
        let archive = seeded(&db).await;
        let again = archive
            .import_procedures(
                CATALOGUE.as_bytes(),
                CatalogueFormat::Csv,
                "catalogue.csv",
                "quản trị",
                MONDAY_9AM,
            )
            .await
            .unwrap();
        assert_eq!(
            (again.rows, again.inserted, again.updated, again.unchanged),
            (2, 0, 0, 2),
            "{}",
            db.backend()
        );
        let json = r#"[
            {"code": "1.001193", "name": "Đăng ký khai sinh", "field": "Hộ tịch",
             "level": "Cấp xã", "processing_days": 5, "competent_agency": "UBND cấp xã"},
            {"code": "1.000656", "name": "Chứng thực bản sao từ bản chính", "processing_days": 0}
        ]"#;
        let report = archive
            .import_procedures(
                json.as_bytes(),
                CatalogueFormat::Json,
                "catalogue.json",
                "quản trị",
                MONDAY_9AM,
            )
            .await
            .unwrap();
        assert_eq!(
            (
                report.rows,
                report.inserted,
                report.updated,
                report.unchanged
            ),
            (2, 1, 1, 0)
        );
        let updated = archive.procedure("1.001193").await.unwrap();
        assert_eq!(updated.processing_days, 5);
        let added = archive.procedure("1.000656").await.unwrap();
        assert_eq!(added.field, None);
        // Untouched by the second file.
        assert_eq!(
            archive.procedure("2.002710").await.unwrap().name,
            "Cấp giấy phép xây dựng, nhà ở riêng lẻ"
        );

        let entries = all_entries(&archive).await;
        assert_eq!(entries.len(), 3, "one audit entry per import");
        assert!(entries.iter().all(|e| e.action == "procedure.import"));
        let details: serde_json::Value = serde_json::from_str(&entries[2].details).unwrap();
        assert_eq!(details["updated"], serde_json::json!(["1.001193"]));
        assert_eq!(details["inserted"], serde_json::json!(["1.000656"]));
        assert_eq!(entries[2].object_id, report.sha256);
        archive.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn archive_invalid_catalogue_rows_are_refused_by_line_and_nothing_is_imported() {
    for db in backends().await {
        let archive = db.archive().await;
        let csv = "code,name,processing_days\n\
                   1.001193,Đăng ký khai sinh,3\n\
                   1.00119,Mã thiếu một chữ số,3\n\
                   2.002710,Cấp phép,mười lăm\n";
        let error = archive
            .import_procedures(
                csv.as_bytes(),
                CatalogueFormat::Csv,
                "bad.csv",
                "qt",
                MONDAY_9AM,
            )
            .await
            .unwrap_err();
        assert_eq!(error.code(), "procedure-catalogue-invalid");
        let ArchiveError::CatalogueInvalid { problems } = &error else {
            panic!("{error:?}");
        };
        let lines: Vec<u64> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![3, 4]);
        assert!(
            error.message_vi().contains("dòng 3"),
            "{}",
            error.message_vi()
        );
        // The valid first row was not imported either, and nothing was audited.
        let missing = archive.procedure("1.001193").await.unwrap_err();
        assert_eq!(missing.code(), "procedure-not-found");
        assert!(all_entries(&archive).await.is_empty());

        let not_json = archive
            .import_procedures(
                b"[{\"code\": ",
                CatalogueFormat::Json,
                "x.json",
                "qt",
                MONDAY_9AM,
            )
            .await
            .unwrap_err();
        assert_eq!(not_json.code(), "procedure-catalogue-unreadable");
        archive.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn archive_dossier_codes_count_per_agency_and_day_and_due_dates_skip_days_off() {
    for db in backends().await {
        let archive = seeded(&db).await;
        // Wednesday 25 November is declared a day off.
        archive
            .add_holiday(
                date!(2026 - 11 - 25),
                "Ngày nghỉ thử",
                "quản trị",
                MONDAY_9AM,
            )
            .await
            .unwrap();
        let first = archive
            .create_dossier(&new_dossier("1.001193", "Nguyễn Văn An"), MONDAY_9AM)
            .await
            .unwrap();
        assert_eq!(first.code, "H53.100.01-261123-530001", "{}", db.backend());
        // 3 working days after Monday: Tuesday, (Wednesday off), Thursday, Friday.
        assert_eq!(first.due_at, datetime!(2026-11-27 16:59:59 UTC));
        assert_eq!(first.status, DossierStatus::Received);
        assert_eq!(first.received_at, MONDAY_9AM);
        assert_eq!(first.result_delivery, ResultDelivery::Desk);

        let second = archive
            .create_dossier(&new_dossier("2.002710", "Trần Thị Bình"), MONDAY_9AM)
            .await
            .unwrap();
        assert_eq!(second.code, "H53.100.01-261123-530002");
        // 15 working days: 24, 26, 27 Nov (3), the weeks of 30 Nov and 7 Dec (13), 14 and
        // 15 Dec.
        assert_eq!(second.due_at, datetime!(2026-12-15 16:59:59 UTC));

        let mut legacy = new_dossier("1.001193", "Lê Văn Cường");
        legacy.agency = AgencyCode::parse("000.00.31.H19").unwrap();
        let other_agency = archive.create_dossier(&legacy, MONDAY_9AM).await.unwrap();
        assert_eq!(other_agency.code, "000.00.31.H19-261123-0001");

        // 17:30 UTC is already Tuesday 00:30 in Vietnam: a new day, a new sequence.
        let tuesday = archive
            .create_dossier(
                &new_dossier("1.001193", "Phạm Thị Dung"),
                datetime!(2026-11-23 17:30 UTC),
            )
            .await
            .unwrap();
        assert_eq!(tuesday.code, "H53.100.01-261124-530001");
        // Thursday, Friday, Monday.
        assert_eq!(tuesday.due_at, datetime!(2026-11-30 16:59:59 UTC));

        let record = archive
            .dossier(&DossierCode::parse(&first.code).unwrap())
            .await
            .unwrap();
        assert_eq!(record.dossier, first);
        assert_eq!(record.procedure.code, "1.001193");
        assert_eq!(record.events.len(), 1);
        assert_eq!(record.events[0].from, None);
        assert_eq!(record.events[0].to, DossierStatus::Received);
        assert_eq!(record.events[0].actor, "cán bộ một cửa");
        archive.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn archive_fifty_parallel_creations_get_fifty_distinct_codes() {
    for db in backends().await {
        let archive = seeded(&db).await;
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let archive = archive.clone();
                tokio::spawn(async move {
                    archive
                        .create_dossier(
                            &new_dossier("1.001193", &format!("Người nộp {i}")),
                            MONDAY_9AM,
                        )
                        .await
                })
            })
            .collect();
        let mut codes = BTreeSet::new();
        for task in tasks {
            codes.insert(task.await.unwrap().unwrap().code);
        }
        let expected: BTreeSet<String> = (1..=50)
            .map(|n| format!("H53.100.01-261123-53{n:04}"))
            .collect();
        assert_eq!(codes, expected, "{}", db.backend());
        let verification = archive.verify_audit().await.unwrap();
        assert!(verification.intact, "{verification:?}");
        assert_eq!(verification.entries, 51);
        archive.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn archive_steps_follow_the_table_and_record_who_and_when() {
    for db in backends().await {
        let archive = seeded(&db).await;
        let created = archive
            .create_dossier(&new_dossier("1.001193", "Nguyễn Văn An"), MONDAY_9AM)
            .await
            .unwrap();
        let code = DossierCode::parse(&created.code).unwrap();
        let t1 = datetime!(2026-11-24 03:00 UTC);
        let t2 = datetime!(2026-11-25 04:00 UTC);
        let t3 = datetime!(2026-11-26 08:30 UTC);
        archive
            .advance_dossier(&code, &step(DossierStatus::Appraised, "chuyên viên"), t1)
            .await
            .unwrap();
        archive
            .advance_dossier(&code, &step(DossierStatus::Approved, "lãnh đạo"), t2)
            .await
            .unwrap();
        let record = archive
            .advance_dossier(&code, &step(DossierStatus::Returned, "cán bộ một cửa"), t3)
            .await
            .unwrap();
        let d = &record.dossier;
        assert_eq!(d.status, DossierStatus::Returned);
        assert_eq!(
            (d.resolved_at, d.outcome, d.returned_at),
            (Some(t2), Some(DossierStatus::Approved), Some(t3))
        );
        let steps: Vec<_> = record
            .events
            .iter()
            .map(|e| (e.from, e.to, e.actor.as_str(), e.at))
            .collect();
        assert_eq!(
            steps,
            vec![
                (None, DossierStatus::Received, "cán bộ một cửa", MONDAY_9AM),
                (
                    Some(DossierStatus::Received),
                    DossierStatus::Appraised,
                    "chuyên viên",
                    t1
                ),
                (
                    Some(DossierStatus::Appraised),
                    DossierStatus::Approved,
                    "lãnh đạo",
                    t2
                ),
                (
                    Some(DossierStatus::Approved),
                    DossierStatus::Returned,
                    "cán bộ một cửa",
                    t3
                ),
            ],
            "{}",
            db.backend()
        );

        // A returned dossier is closed; the refusal leaves no trace.
        let audited = all_entries(&archive).await.len();
        let refused = archive
            .advance_dossier(&code, &step(DossierStatus::Appraised, "chuyên viên"), t3)
            .await
            .unwrap_err();
        assert_eq!(refused.code(), "dossier-transition-invalid");
        assert!(
            refused.to_string().contains("returned to appraised"),
            "{refused}"
        );
        let after = archive.dossier(&code).await.unwrap();
        assert_eq!(after.events.len(), 4);
        assert_eq!(after.dossier, record.dossier);
        assert_eq!(all_entries(&archive).await.len(), audited);

        // The supplement loop, then withdrawal.
        let other = archive
            .create_dossier(&new_dossier("2.002710", "Trần Thị Bình"), MONDAY_9AM)
            .await
            .unwrap();
        let other = DossierCode::parse(&other.code).unwrap();
        for to in [
            DossierStatus::SupplementRequested,
            DossierStatus::Received,
            DossierStatus::Appraised,
            DossierStatus::Withdrawn,
        ] {
            archive
                .advance_dossier(&other, &step(to, "chuyên viên"), t1)
                .await
                .unwrap();
        }
        let skipped = archive
            .create_dossier(&new_dossier("2.002710", "Lê Văn Cường"), MONDAY_9AM)
            .await
            .unwrap();
        let skip = archive
            .advance_dossier(
                &DossierCode::parse(&skipped.code).unwrap(),
                &step(DossierStatus::Approved, "lãnh đạo"),
                t1,
            )
            .await
            .unwrap_err();
        assert_eq!(
            skip.code(),
            "dossier-transition-invalid",
            "appraisal cannot be skipped"
        );

        let actions: Vec<String> = all_entries(&archive)
            .await
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(
            actions.iter().filter(|a| *a == "dossier.advance").count(),
            7
        );
        assert!(archive.verify_audit().await.unwrap().intact);
        archive.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn archive_bad_input_is_refused_with_a_code_and_writes_nothing() {
    for db in backends().await {
        let archive = seeded(&db).await;
        let unknown = archive
            .create_dossier(&new_dossier("9.999999", "Nguyễn Văn An"), MONDAY_9AM)
            .await
            .unwrap_err();
        assert_eq!(unknown.code(), "procedure-not-found");
        let mut nameless = new_dossier("1.001193", "   ");
        let no_name = archive
            .create_dossier(&nameless, MONDAY_9AM)
            .await
            .unwrap_err();
        assert_eq!(no_name.code(), "field-invalid");
        nameless.applicant.name = "Nguyễn Văn An".to_owned();
        nameless.applicant.id_number = Some("12 34".to_owned());
        let bad_id = archive
            .create_dossier(&nameless, MONDAY_9AM)
            .await
            .unwrap_err();
        assert_eq!(bad_id.code(), "field-invalid");
        let missing = archive
            .dossier(&DossierCode::parse("H53.100.01-261123-530099").unwrap())
            .await
            .unwrap_err();
        assert_eq!(missing.code(), "dossier-not-found");
        let no_actor = archive
            .create_dossier(
                &NewDossier {
                    actor: " ".to_owned(),
                    ..new_dossier("1.001193", "An")
                },
                MONDAY_9AM,
            )
            .await
            .unwrap_err();
        assert_eq!(no_actor.code(), "field-invalid");

        // None of the failures used up a sequence number or left an audit entry.
        let created = archive
            .create_dossier(&new_dossier("1.001193", "Nguyễn Văn An"), MONDAY_9AM)
            .await
            .unwrap();
        assert_eq!(created.code, "H53.100.01-261123-530001", "{}", db.backend());
        let actions: Vec<String> = all_entries(&archive)
            .await
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(actions, ["procedure.import", "dossier.create"]);
        archive.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn archive_audit_and_event_tables_refuse_update_and_delete() {
    for db in backends().await {
        let archive = seeded(&db).await;
        archive
            .create_dossier(&new_dossier("1.001193", "Nguyễn Văn An"), MONDAY_9AM)
            .await
            .unwrap();
        archive
            .create_checkpoint("kiểm toán", MONDAY_9AM)
            .await
            .unwrap();
        for sql in [
            "UPDATE audit_log SET actor = 'kẻ gian' WHERE seq = 1",
            "DELETE FROM audit_log WHERE seq = 2",
            "UPDATE dossier_events SET actor = 'kẻ gian'",
            "DELETE FROM dossier_events",
            "UPDATE audit_checkpoints SET root_hash = repeat('0', 64)",
            "DELETE FROM audit_checkpoints",
        ] {
            let refused = db.execute_raw(sql).await;
            assert!(refused.is_err(), "{}: {sql} was allowed", db.backend());
        }
        if db.backend() == "postgres" {
            assert!(db.execute_raw("TRUNCATE audit_log").await.is_err());
        }
        let verification = archive.verify_audit().await.unwrap();
        assert!(verification.intact);
        assert_eq!((verification.entries, verification.checkpoints), (3, 1));
        archive.close().await;
        db.cleanup().await;
    }
}

/// Drops the triggers that make the audit tables append-only, as an attacker with full
/// database access would.
async fn drop_protection(db: &TestDb) {
    let sql = match db.backend() {
        "postgres" => {
            "DROP TRIGGER audit_log_append_only ON audit_log;
             DROP TRIGGER audit_checkpoints_append_only ON audit_checkpoints;"
        }
        _ => {
            "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;
             DROP TRIGGER audit_checkpoints_no_update; DROP TRIGGER audit_checkpoints_no_delete;"
        }
    };
    db.execute_raw(sql).await.unwrap();
}

/// A log of six entries: the import, three receipts, two steps.
async fn six_entries(db: &TestDb) -> Archive {
    let archive = seeded(db).await;
    let mut codes = Vec::new();
    for name in ["An", "Bình", "Cường"] {
        let created = archive
            .create_dossier(&new_dossier("1.001193", name), MONDAY_9AM)
            .await
            .unwrap();
        codes.push(DossierCode::parse(&created.code).unwrap());
    }
    for to in [DossierStatus::Appraised, DossierStatus::Approved] {
        archive
            .advance_dossier(&codes[0], &step(to, "chuyên viên"), MONDAY_9AM)
            .await
            .unwrap();
    }
    assert_eq!(all_entries(&archive).await.len(), 6);
    archive
}

fn insert_sql(entry: &AuditEntry) -> String {
    let quote = |text: &str| format!("'{}'", text.replace('\'', "''"));
    let at = entry
        .at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    format!(
        "INSERT INTO audit_log (seq, at, actor, action, object_kind, object_id, details,
             prev_hash, hash) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {});",
        entry.seq,
        quote(&at),
        quote(&entry.actor),
        quote(&entry.action),
        quote(&entry.object_kind),
        quote(&entry.object_id),
        quote(&entry.details),
        quote(&entry.prev_hash),
        quote(&entry.hash)
    )
}

async fn first_broken(archive: &Archive) -> (i64, BreakReason, Option<i64>) {
    let verification = archive.verify_audit().await.unwrap();
    assert!(!verification.intact);
    let broken = verification.first_broken.unwrap();
    (broken.seq, broken.reason, broken.checkpoint)
}

#[tokio::test]
async fn archive_audit_verify_finds_a_modified_entry() {
    for db in backends().await {
        let archive = six_entries(&db).await;
        drop_protection(&db).await;
        db.execute_raw(
            "UPDATE audit_log SET details = '{\"procedure\":\"2.002710\"}' WHERE seq = 3",
        )
        .await
        .unwrap();
        assert_eq!(
            first_broken(&archive).await,
            (3, BreakReason::Modified, None),
            "{}",
            db.backend()
        );
        let verification = archive.verify_audit().await.unwrap();
        assert_eq!(verification.entries, 2, "entries before the break");
        // A checkpoint never vouches for a broken log.
        let refused = archive.create_checkpoint("kiểm toán", MONDAY_9AM).await;
        assert_eq!(refused.unwrap_err().code(), "audit-chain-broken");
        archive.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn archive_audit_verify_finds_a_deleted_entry() {
    for db in backends().await {
        let archive = six_entries(&db).await;
        drop_protection(&db).await;
        db.execute_raw("DELETE FROM audit_log WHERE seq = 4")
            .await
            .unwrap();
        assert_eq!(
            first_broken(&archive).await,
            (4, BreakReason::Missing, None),
            "{}",
            db.backend()
        );
        archive.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn archive_audit_verify_finds_reordered_entries() {
    for db in backends().await {
        // Rows 2 and 3 swap places as they are.
        let archive = six_entries(&db).await;
        drop_protection(&db).await;
        db.execute_raw(
            "UPDATE audit_log SET seq = 1000 WHERE seq = 2;
             UPDATE audit_log SET seq = 2 WHERE seq = 3;
             UPDATE audit_log SET seq = 3 WHERE seq = 1000;",
        )
        .await
        .unwrap();
        assert_eq!(
            first_broken(&archive).await,
            (2, BreakReason::Modified, None),
            "{}",
            db.backend()
        );
        archive.close().await;
        db.cleanup().await;
    }
    // Swapped, each row re-hashed for its new place: the rows are self-consistent but no
    // longer follow each other.
    for db in backends().await {
        let archive = six_entries(&db).await;
        drop_protection(&db).await;
        let entries = all_entries(&archive).await;
        let mut second = entries[2].clone();
        let mut third = entries[1].clone();
        second.seq = 2;
        third.seq = 3;
        for entry in [&mut second, &mut third] {
            entry.hash = entry.compute_hash().unwrap().to_hex();
        }
        db.execute_raw(&format!(
            "DELETE FROM audit_log WHERE seq IN (2, 3); {} {}",
            insert_sql(&second),
            insert_sql(&third)
        ))
        .await
        .unwrap();
        assert_eq!(
            first_broken(&archive).await,
            (2, BreakReason::ChainBroken, None),
            "{}",
            db.backend()
        );
        archive.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn archive_checkpoints_expose_a_rewritten_or_truncated_log() {
    for db in backends().await {
        let archive = six_entries(&db).await;
        let checkpoint = archive
            .create_checkpoint("kiểm toán", MONDAY_9AM)
            .await
            .unwrap();
        assert_eq!((checkpoint.first_seq, checkpoint.last_seq), (1, 6));
        let entries = all_entries(&archive).await;
        assert_eq!(entries.len(), 7, "the checkpoint is itself an audit entry");
        assert_eq!(entries[6].action, "audit.checkpoint");
        let hashes: Vec<Vec<u8>> = entries[..6]
            .iter()
            .map(|e| hex::decode(&e.hash).unwrap())
            .collect();
        assert_eq!(merkle_root(&hashes).to_hex(), checkpoint.root_hash);
        let verification = archive.verify_audit().await.unwrap();
        assert!(verification.intact);
        assert_eq!(verification.checkpoints, 1);

        // Rewrite entry 2 and re-hash every entry after it: the chain holds, the
        // checkpoint does not.
        drop_protection(&db).await;
        let mut forged = entries.clone();
        forged[1].actor = "kẻ gian".to_owned();
        let mut prev = forged[0].hash.clone();
        let mut sql = String::from("DELETE FROM audit_log WHERE seq >= 2; ");
        for entry in forged.iter_mut().skip(1) {
            entry.prev_hash = prev.clone();
            entry.hash = entry.compute_hash().unwrap().to_hex();
            prev = entry.hash.clone();
            sql.push_str(&insert_sql(entry));
        }
        db.execute_raw(&sql).await.unwrap();
        assert_eq!(
            first_broken(&archive).await,
            (
                1,
                BreakReason::CheckpointMismatch,
                Some(checkpoint.checkpoint_id)
            ),
            "{}",
            db.backend()
        );

        // Cut the log short (the last two entries): the checkpoint covers what is missing.
        db.execute_raw("DELETE FROM audit_log WHERE seq >= 6")
            .await
            .unwrap();
        assert_eq!(
            first_broken(&archive).await,
            (6, BreakReason::Missing, Some(checkpoint.checkpoint_id))
        );
        archive.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn archive_commands_work_end_to_end_and_refuse_bad_input() {
    for db in backends().await {
        let dir = tempfile::tempdir().unwrap();
        let url = db.url();
        let cli = |args: &[&str]| {
            let mut command = hoso();
            command
                .args(args)
                .env("HOSO_DATA_DIR", dir.path())
                .env("HOSO_DATABASE_URL", &url)
                .env("HOSO_AGENCY_CODE", "H53.100.01");
            run(&mut command)
        };
        let catalogue = dir.path().join("danh-muc.csv");
        std::fs::write(&catalogue, CATALOGUE).unwrap();
        let catalogue = catalogue.to_str().unwrap();

        let imported = cli(&["procedure", "import", catalogue, "--format", "json"]);
        assert_eq!(imported.code, 0, "{}", imported.stderr);
        let report: serde_json::Value = serde_json::from_str(&imported.stdout).unwrap();
        assert_eq!(report["inserted"], 2);

        let created = cli(&[
            "dossier",
            "create",
            "--procedure",
            "1.001193",
            "--applicant",
            "Nguyễn Văn An",
            "--id-number",
            "001203004567",
        ]);
        assert_eq!(created.code, 0, "{}", created.stderr);
        let code = created.stdout.trim().to_owned();
        assert!(
            DossierCode::parse(&code).is_ok() && code.starts_with("H53.100.01-"),
            "{code:?}"
        );
        assert!(code.ends_with("-530001"), "{code}");

        let json = cli(&[
            "dossier",
            "create",
            "--procedure",
            "2.002710",
            "--applicant",
            "Trần Thị Bình",
            "--channel",
            "online",
            "--agency",
            "000.00.31.H19",
            "--format",
            "json",
        ]);
        assert_eq!(json.code, 0, "{}", json.stderr);
        let dossier: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
        assert!(dossier["code"].as_str().unwrap().ends_with("-0001"));
        assert_eq!(dossier["status"], "received");
        assert_eq!(dossier["channel"], "online");
        assert!(
            dossier["due_at"]
                .as_str()
                .unwrap()
                .ends_with("T23:59:59+07:00")
        );

        let advanced = cli(&[
            "dossier",
            "advance",
            &code,
            "--to",
            "appraised",
            "--actor",
            "chuyên viên A",
            "--note",
            "đủ điều kiện",
        ]);
        assert_eq!(advanced.code, 0, "{}", advanced.stderr);
        let skipped = cli(&["dossier", "advance", &code, "--to", "returned"]);
        assert_eq!(skipped.code, 1);
        assert!(
            skipped.stderr.contains("lỗi [dossier-transition-invalid]"),
            "{}",
            skipped.stderr
        );
        let supplement = cli(&["dossier", "advance", &code, "--to", "supplement_requested"]);
        assert_eq!(supplement.code, 0, "{}", supplement.stderr);

        let shown = cli(&["dossier", "show", &code, "--format", "json"]);
        assert_eq!(shown.code, 0, "{}", shown.stderr);
        let record: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
        assert_eq!(record["code"], code.as_str());
        assert_eq!(record["status"], "supplement_requested");
        assert_eq!(record["procedure"]["code"], "1.001193");
        let events = record["events"].as_array().unwrap();
        assert_eq!(events.len(), 3);
        assert_eq!(events[1]["actor"], "chuyên viên A");
        assert_eq!(events[1]["note"], "đủ điều kiện");
        let text = cli(&["dossier", "show", &code]);
        assert!(text.stdout.contains("Nguyễn Văn An"), "{}", text.stdout);

        for (args, exit, error) in [
            (
                vec!["dossier", "show", "H53.100.01-261123-530999"],
                1,
                "dossier-not-found",
            ),
            (vec!["dossier", "show", "HS-123"], 1, "dossier-code-invalid"),
            (
                vec![
                    "dossier",
                    "create",
                    "--procedure",
                    "9.999999",
                    "--applicant",
                    "An",
                ],
                1,
                "procedure-not-found",
            ),
            (
                vec![
                    "dossier",
                    "create",
                    "--procedure",
                    "1.0011",
                    "--applicant",
                    "An",
                ],
                1,
                "procedure-code-invalid",
            ),
            (
                vec![
                    "dossier",
                    "create",
                    "--procedure",
                    "1.001193",
                    "--applicant",
                    "An",
                    "--agency",
                    "Z1",
                ],
                1,
                "agency-code-invalid",
            ),
            (
                vec![
                    "dossier",
                    "create",
                    "--procedure",
                    "1.001193",
                    "--applicant",
                    "An",
                    "--channel",
                    "fax",
                ],
                2,
                "usage",
            ),
            (
                vec!["dossier", "advance", &code, "--to", "done"],
                2,
                "usage",
            ),
        ] {
            let out = cli(&args);
            assert_eq!(out.code, exit, "{args:?}: {}", out.stderr);
            assert!(
                out.stderr.contains(&format!("lỗi [{error}]")),
                "{args:?}: {}",
                out.stderr
            );
        }

        let bad = dir.path().join("bad.csv");
        std::fs::write(
            &bad,
            "code,name,processing_days\n1.001194,Mới,2\n1.0011,Sai,2\n",
        )
        .unwrap();
        let refused = cli(&["procedure", "import", bad.to_str().unwrap()]);
        assert_eq!(refused.code, 1);
        assert!(
            refused.stderr.contains("lỗi [procedure-catalogue-invalid]")
                && refused.stderr.contains("dòng 3"),
            "{}",
            refused.stderr
        );
        let not_imported = cli(&["procedure", "show", "1.001194"]);
        assert_eq!(not_imported.code, 1);
        assert!(not_imported.stderr.contains("lỗi [procedure-not-found]"));

        let bad_config = cli(&["dossier", "show", &code, "--agency-code", "H5"]);
        assert_eq!(bad_config.code, 2, "{}", bad_config.stderr);

        let intact = cli(&["audit", "verify"]);
        assert_eq!(intact.code, 0, "{}{}", intact.stdout, intact.stderr);
        let checkpoint = cli(&["audit", "checkpoint", "--format", "json"]);
        assert_eq!(checkpoint.code, 0, "{}", checkpoint.stderr);
        drop_protection(&db).await;
        db.execute_raw("UPDATE audit_log SET actor = 'kẻ gian' WHERE seq = 2")
            .await
            .unwrap();
        let broken = cli(&["audit", "verify", "--format", "json"]);
        assert_eq!(broken.code, 1, "{}", broken.stderr);
        let verification: serde_json::Value = serde_json::from_str(&broken.stdout).unwrap();
        assert_eq!(verification["intact"], false);
        assert_eq!(verification["first_broken"]["seq"], 2);
        assert_eq!(verification["first_broken"]["reason"], "modified");
        assert!(
            broken.stderr.contains("lỗi [audit-chain-broken]"),
            "{}",
            broken.stderr
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_time_stamped_checkpoint_catches_a_rewritten_checkpoint() {
    let Some(services) = crate::pki::services() else {
        return;
    };
    let tsa = format!("{}/", services.tsa);
    for db in backends().await {
        let archive = seeded(&db).await;
        let (last_seq, root) = archive.audit_root().await.unwrap();
        let token = hoso::pades::tsp::request_for_digest(
            &hoso::pades::fetch::Fetcher::default(),
            &tsa,
            hoso::pades::key::DigestAlgorithm::Sha256,
            root.as_bytes(),
        )
        .unwrap();
        hoso::trust::clear_openssl_errors();
        // A token over another head is refused.
        let other = hoso::digest::Sha256Digest::of(b"another head");
        let e = archive
            .create_stamped_checkpoint("lưu trữ", MONDAY_9AM, last_seq, other, token.token.clone())
            .await
            .unwrap_err();
        assert_eq!(e.code(), "archive-data-inconsistent");
        let checkpoint = archive
            .create_stamped_checkpoint("lưu trữ", MONDAY_9AM, last_seq, root, token.token.clone())
            .await
            .unwrap();
        assert_eq!(checkpoint.last_seq, last_seq);
        assert_eq!(checkpoint.timestamp_time(), Some(token.time));
        let verification = archive.verify_audit().await.unwrap();
        assert!(verification.intact);
        assert_eq!((verification.checkpoints, verification.timestamped), (1, 1));

        // Someone with database rights swaps the token for one over another head.
        let forged = hoso::pades::tsp::request_for_digest(
            &hoso::pades::fetch::Fetcher::default(),
            &tsa,
            hoso::pades::key::DigestAlgorithm::Sha256,
            other.as_bytes(),
        )
        .unwrap();
        hoso::trust::clear_openssl_errors();
        let unguard = match db.backend() {
            "postgres" => "DROP TRIGGER audit_checkpoints_append_only ON audit_checkpoints",
            _ => "DROP TRIGGER audit_checkpoints_no_update",
        };
        db.execute_raw(unguard).await.unwrap();
        db.execute_raw(&format!(
            "UPDATE audit_checkpoints SET tsa_token = {}",
            match db.backend() {
                "postgres" => format!("'\\x{}'::bytea", hex::encode(&forged.token)),
                _ => format!("X'{}'", hex::encode(&forged.token)),
            }
        ))
        .await
        .unwrap();
        let verification = archive.verify_audit().await.unwrap();
        let broken = verification.first_broken.expect("caught");
        assert_eq!(
            broken.reason,
            BreakReason::TimestampInvalid,
            "{}",
            db.backend()
        );
        db.cleanup().await;
    }
}
