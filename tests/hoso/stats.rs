//! Statistics (`Archive::statistics`, `hoso stats`) on SQLite and PostgreSQL over a
//! hand-built March 2026: dossiers carried over from February, received online, in person
//! and by post, resolved early, on time (both edges of the due day) and late, rejected,
//! withdrawn, pending in time and overdue; input and result documents, results signed by
//! kind or judged by a stored verification report (of a PDF signed here and verified by
//! hoso's own verifier), and documents, versions and reports stored after the period, which
//! must not count. Expected numbers are worked out by hand in the comments.

use std::sync::OnceLock;

use hoso::archive::codes::{AgencyCode, DossierCode, ProcedureCode};
use hoso::archive::documents::{
    DocumentMetadata, DocumentRole, NewDocument, NewVersion, StoredVersion, VersionKind,
};
use hoso::archive::dossiers::{Applicant, Channel, Dossier, DossierStatus, NewDossier, Transition};
use hoso::archive::procedures::CatalogueFormat;
use hoso::archive::stats::{Grouping, Statistics, StatsQuery, StatsRow};
use hoso::archive::{Archive, ArchiveError};
use hoso::digest::Sha256Digest;
use hoso::trust::TrustStore;
use hoso::verify::status::EvidencePool;
use hoso::verify::{Indication, Policy, Report, VerifyOptions, verify_pdf};
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};

use crate::helpers::{TestDb, backends, hoso, run};

/// Hộ tịch (3 working days), Xây dựng (15), and a procedure without a field (same day).
const CATALOGUE: &str = "code,name,field,level,processing_days,competent_agency\n\
    1.001193,Đăng ký khai sinh,Hộ tịch,Cấp xã,3,UBND cấp xã\n\
    2.002710,\"Cấp giấy phép xây dựng, nhà ở riêng lẻ\",Xây dựng,Cấp huyện,15,UBND cấp huyện\n\
    1.000656,Chứng thực bản sao từ bản chính,,Cấp xã,0,UBND cấp xã\n";

const BIRTH: &str = "1.001193";
const BUILDING: &str = "2.002710";
const COPY: &str = "1.000656";
const UNIT_1: &str = "H53.100.01";
const UNIT_2: &str = "H53.100.02";

const MARCH: StatsQuery = StatsQuery {
    from: date!(2026 - 03 - 01),
    to: date!(2026 - 03 - 31),
    by: None,
};

fn march(by: Option<Grouping>) -> StatsQuery {
    StatsQuery { by, ..MARCH }
}

fn pki_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("certs/test-pki")
}

/// The sample signed B-B with the test PKI's official key by `hoso sign` (no network).
fn signed_pdf() -> &'static [u8] {
    static PDF: OnceLock<Vec<u8>> = OnceLock::new();
    PDF.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("ket-qua.pdf");
        let r = run(hoso()
            .arg("sign")
            .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/cong-van.pdf"))
            .arg("-o")
            .arg(&output)
            .arg("--trust")
            .arg(pki_dir())
            .args(["--password-env", "HOSO_TEST_P12_PASSWORD"])
            .arg("--p12")
            .arg(pki_dir().join("official.p12"))
            .args(["--level", "B-B"]));
        assert_eq!(r.code, 0, "signing failed: {}", r.stderr);
        std::fs::read(&output).unwrap()
    })
}

/// hoso's verdicts on [`signed_pdf`], offline: with the test CRLs the signature is
/// TOTAL-PASSED; without revocation evidence it is INDETERMINATE. Computed once, on a thread
/// of its own: the verifier can leave entries on OpenSSL's per-thread error queue, which the
/// next TLS read of a PostgreSQL connection on the same thread would take as its own failure.
fn verifications() -> &'static (Report, Report) {
    static REPORTS: OnceLock<(Report, Report)> = OnceLock::new();
    REPORTS.get_or_init(|| {
        let pdf = signed_pdf();
        std::thread::spawn(move || (verification(pdf, true), verification(pdf, false)))
            .join()
            .unwrap()
    })
}

fn verification(pdf: &[u8], with_crls: bool) -> Report {
    let trust = TrustStore::load(&[pki_dir()]).unwrap();
    let crl = |name: &str| {
        let pem = std::fs::read(pki_dir().join(name)).unwrap();
        openssl::x509::X509Crl::from_pem(&pem)
            .and_then(|c| c.to_der())
            .unwrap()
    };
    let crls = if with_crls {
        vec![crl("root.crl"), crl("inter.crl")]
    } else {
        Vec::new()
    };
    let options = VerifyOptions {
        trust: &trust,
        at: OffsetDateTime::now_utc(),
        offline: true,
        policy: Policy::Strict,
        supplied: EvidencePool {
            certificates: Vec::new(),
            ocsp: Vec::new(),
            crls,
        },
    };
    let report = verify_pdf(pdf, "ket-qua.pdf", &options).unwrap();
    assert_eq!(report.signatures.len(), 1);
    let expected = if with_crls {
        Indication::TotalPassed
    } else {
        Indication::Indeterminate
    };
    assert_eq!(report.signatures[0].indication, expected, "{report:?}");
    report
}

const CLERK: &str = "cán bộ một cửa";

async fn receive(
    archive: &Archive,
    procedure: &str,
    unit: &str,
    channel: Channel,
    at: OffsetDateTime,
) -> Dossier {
    let new = NewDossier {
        procedure: ProcedureCode::parse(procedure).unwrap(),
        agency: AgencyCode::parse(unit).unwrap(),
        applicant: Applicant {
            name: "Trần Thị Bình".to_owned(),
            id_number: None,
            contact: None,
        },
        channel,
        result_delivery: None,
        actor: CLERK.to_owned(),
        note: None,
    };
    archive.create_dossier(&new, at).await.unwrap()
}

async fn step(archive: &Archive, dossier: &Dossier, to: DossierStatus, at: OffsetDateTime) {
    let code = DossierCode::parse(&dossier.code).unwrap();
    let step = Transition {
        to,
        actor: CLERK.to_owned(),
        note: None,
    };
    archive.advance_dossier(&code, &step, at).await.unwrap();
}

/// Appraised a minute after receipt, then approved at `at`.
async fn approve(archive: &Archive, dossier: &Dossier, at: OffsetDateTime) {
    step(
        archive,
        dossier,
        DossierStatus::Appraised,
        dossier.received_at + Duration::minutes(1),
    )
    .await;
    step(archive, dossier, DossierStatus::Approved, at).await;
}

async fn document(
    archive: &Archive,
    dossier: &Dossier,
    role: DocumentRole,
    content: &[u8],
    at: OffsetDateTime,
) -> StoredVersion {
    let sha256 = Sha256Digest::of(content);
    archive
        .record_blob(&sha256, content.len() as u64, "application/pdf", at)
        .await
        .unwrap();
    let new = NewDocument {
        dossier: Some(DossierCode::parse(&dossier.code).unwrap()),
        role,
        sha256,
        file_name: format!("{}.pdf", role.as_str()),
        metadata: DocumentMetadata::default(),
        ocr: None,
        actor: CLERK.to_owned(),
        reason: "tiếp nhận".to_owned(),
    };
    archive.add_document(&new, at).await.unwrap()
}

async fn version(
    archive: &Archive,
    parent: &StoredVersion,
    kind: VersionKind,
    content: &[u8],
    at: OffsetDateTime,
) -> StoredVersion {
    let sha256 = Sha256Digest::of(content);
    archive
        .record_blob(&sha256, content.len() as u64, "application/pdf", at)
        .await
        .unwrap();
    let new = NewVersion {
        document_id: parent.document_id,
        parent_version: parent.version,
        kind,
        sha256,
        file_name: None,
        metadata: None,
        ocr: None,
        actor: CLERK.to_owned(),
        reason: kind.as_str().to_owned(),
    };
    archive.add_version(&new, at).await.unwrap()
}

/// The scenario (times in Vietnam, UTC+7; no holidays: 1 March 2026 is a Sunday).
async fn scenario(db: &TestDb) -> Archive {
    let archive = db.archive().await;
    archive
        .import_procedures(
            CATALOGUE.as_bytes(),
            CatalogueFormat::Csv,
            "catalogue.csv",
            "quản trị",
            datetime!(2026-01-05 08:00 +7),
        )
        .await
        .unwrap();
    let signed = signed_pdf();
    let (passed, indeterminate) = verifications();
    let a = &archive;
    use Channel::{InPerson, Online, Postal};

    // C1: carried over, due Wed 4 March, approved Tue 3 March: early.
    let c1 = receive(a, BIRTH, UNIT_1, InPerson, datetime!(2026-02-27 09:00 +7)).await;
    approve(a, &c1, datetime!(2026-03-03 10:00 +7)).await;
    // C2: carried over, due Mon 16 March, never resolved: pending overdue.
    receive(a, BUILDING, UNIT_2, Online, datetime!(2026-02-23 09:00 +7)).await;
    // C3: approved in February (returned in March): not in March's figures at all.
    let c3 = receive(a, BIRTH, UNIT_1, Postal, datetime!(2026-02-25 09:00 +7)).await;
    approve(a, &c3, datetime!(2026-02-26 10:00 +7)).await;
    step(
        a,
        &c3,
        DossierStatus::Returned,
        datetime!(2026-03-05 10:00 +7),
    )
    .await;
    // C4: withdrawn in February: not in March's figures.
    let c4 = receive(a, BIRTH, UNIT_1, InPerson, datetime!(2026-02-24 09:00 +7)).await;
    step(
        a,
        &c4,
        DossierStatus::Withdrawn,
        datetime!(2026-02-25 09:00 +7),
    )
    .await;
    // C5: same-day procedure of Fri 27 February, rejected Mon 2 March: carried over, late.
    let c5 = receive(a, COPY, UNIT_2, InPerson, datetime!(2026-02-27 09:00 +7)).await;
    step(
        a,
        &c5,
        DossierStatus::Rejected,
        datetime!(2026-03-02 10:00 +7),
    )
    .await;
    // C6: the last second of February: carried over; due 4 March: pending overdue.
    receive(
        a,
        BIRTH,
        UNIT_1,
        InPerson,
        datetime!(2026-02-28 23:59:59 +7),
    )
    .await;

    // N0: the first second of March, online; due Wed 4 March, approved that noon: on time.
    let n0 = receive(a, BIRTH, UNIT_1, Online, datetime!(2026-03-01 00:00 +7)).await;
    approve(a, &n0, datetime!(2026-03-04 12:00 +7)).await;
    // N1-N4: received Mon 2 March, due Thu 5 March 23:59:59.
    let n1 = receive(a, BIRTH, UNIT_1, InPerson, datetime!(2026-03-02 09:00 +7)).await;
    let n2 = receive(a, BIRTH, UNIT_1, Online, datetime!(2026-03-02 09:30 +7)).await;
    let n3 = receive(a, BIRTH, UNIT_1, Postal, datetime!(2026-03-02 10:00 +7)).await;
    let n4 = receive(a, BIRTH, UNIT_2, InPerson, datetime!(2026-03-02 10:30 +7)).await;
    assert_eq!(n1.due_at, datetime!(2026-03-05 23:59:59 +7));
    // N1: approved at 23:59:59 the day before the due day: early. Scanned input; result
    // drafted, then signed (kind `signed`, no report by the end of March), then its metadata
    // corrected: the newest content is still the signed one. An INDETERMINATE report comes
    // in April, too late for March.
    approve(a, &n1, n1.due_at - Duration::days(1)).await;
    document(
        a,
        &n1,
        DocumentRole::Input,
        b"n1 scan",
        datetime!(2026-03-02 09:05 +7),
    )
    .await;
    let draft = document(
        a,
        &n1,
        DocumentRole::Result,
        b"n1 draft",
        datetime!(2026-03-04 20:00 +7),
    )
    .await;
    let n1_signed = version(
        a,
        &draft,
        VersionKind::Signed,
        signed,
        datetime!(2026-03-04 21:00 +7),
    )
    .await;
    version(
        a,
        &n1_signed,
        VersionKind::Metadata,
        signed,
        datetime!(2026-03-04 22:00 +7),
    )
    .await;
    a.record_verification(
        n1_signed.version_id,
        indeterminate,
        CLERK,
        datetime!(2026-04-03 09:00 +7),
    )
    .await
    .unwrap();
    // N2: approved at 00:00:00 of the due day: on time. Online, so its input does not count;
    // the result is unsigned in March (signed only on 1 April).
    approve(a, &n2, n2.due_at - Duration::seconds(86_399)).await;
    document(
        a,
        &n2,
        DocumentRole::Input,
        b"n2 upload",
        datetime!(2026-03-02 09:30 +7),
    )
    .await;
    let n2_result = document(
        a,
        &n2,
        DocumentRole::Result,
        b"n2 result",
        datetime!(2026-03-05 08:00 +7),
    )
    .await;
    version(
        a,
        &n2_result,
        VersionKind::Signed,
        signed,
        datetime!(2026-04-01 08:00 +7),
    )
    .await;
    // N3: approved at the due second: on time. Its result was uploaded already signed (kind
    // `original`) and a stored report says TOTAL-PASSED; a later metadata version keeps it.
    approve(a, &n3, n3.due_at).await;
    document(
        a,
        &n3,
        DocumentRole::Input,
        b"n3 scan",
        datetime!(2026-03-02 10:05 +7),
    )
    .await;
    let n3_result = document(
        a,
        &n3,
        DocumentRole::Result,
        signed,
        datetime!(2026-03-05 10:00 +7),
    )
    .await;
    a.record_verification(
        n3_result.version_id,
        passed,
        CLERK,
        datetime!(2026-03-25 09:00 +7),
    )
    .await
    .unwrap();
    version(
        a,
        &n3_result,
        VersionKind::Metadata,
        signed,
        datetime!(2026-03-26 09:00 +7),
    )
    .await;
    // N4: approved one second after the due time: late. No input document. Its result was
    // signed (kind `signed`) but the stored report is INDETERMINATE: not counted as signed.
    approve(a, &n4, n4.due_at + Duration::seconds(1)).await;
    let n4_draft = document(
        a,
        &n4,
        DocumentRole::Result,
        b"n4 draft",
        datetime!(2026-03-05 15:00 +7),
    )
    .await;
    let n4_signed = version(
        a,
        &n4_draft,
        VersionKind::Signed,
        signed,
        datetime!(2026-03-06 08:00 +7),
    )
    .await;
    a.record_verification(
        n4_signed.version_id,
        indeterminate,
        CLERK,
        datetime!(2026-03-25 09:00 +7),
    )
    .await
    .unwrap();
    // N5: due Fri 10 April: pending in time; scanned.
    let n5 = receive(
        a,
        BUILDING,
        UNIT_2,
        InPerson,
        datetime!(2026-03-20 09:00 +7),
    )
    .await;
    document(
        a,
        &n5,
        DocumentRole::Input,
        b"n5 scan",
        datetime!(2026-03-20 09:10 +7),
    )
    .await;
    // N6: same-day procedure on the last day: due at the end of the period, pending in time;
    // scanned only on 1 April.
    let n6 = receive(a, COPY, UNIT_1, InPerson, datetime!(2026-03-31 09:00 +7)).await;
    assert_eq!(n6.due_at, datetime!(2026-03-31 23:59:59 +7));
    document(
        a,
        &n6,
        DocumentRole::Input,
        b"n6 scan",
        datetime!(2026-04-01 08:00 +7),
    )
    .await;
    // N7: same-day procedure of Mon 30 March, online, approved 2 April: pending overdue.
    let n7 = receive(a, COPY, UNIT_2, Online, datetime!(2026-03-30 09:00 +7)).await;
    approve(a, &n7, datetime!(2026-04-02 10:00 +7)).await;
    // N8, N9: withdrawn in March (N9 after a request for more papers).
    let n8 = receive(a, BIRTH, UNIT_1, InPerson, datetime!(2026-03-10 09:00 +7)).await;
    step(
        a,
        &n8,
        DossierStatus::Withdrawn,
        datetime!(2026-03-11 09:00 +7),
    )
    .await;
    let n9 = receive(a, BUILDING, UNIT_2, Postal, datetime!(2026-03-09 09:00 +7)).await;
    step(
        a,
        &n9,
        DossierStatus::SupplementRequested,
        datetime!(2026-03-10 09:00 +7),
    )
    .await;
    step(
        a,
        &n9,
        DossierStatus::Withdrawn,
        datetime!(2026-03-12 09:00 +7),
    )
    .await;
    // N10: rejected two days before its due day: early, rejected; scanned.
    let n10 = receive(a, BIRTH, UNIT_1, InPerson, datetime!(2026-03-16 09:00 +7)).await;
    document(
        a,
        &n10,
        DocumentRole::Input,
        b"n10 scan",
        datetime!(2026-03-16 09:05 +7),
    )
    .await;
    step(
        a,
        &n10,
        DossierStatus::Rejected,
        datetime!(2026-03-17 09:00 +7),
    )
    .await;
    // N11: approved early; its result document is stored only on 2 April.
    let n11 = receive(a, BIRTH, UNIT_1, InPerson, datetime!(2026-03-02 11:00 +7)).await;
    approve(a, &n11, datetime!(2026-03-03 11:00 +7)).await;
    document(
        a,
        &n11,
        DocumentRole::Result,
        b"n11 result",
        datetime!(2026-04-02 09:00 +7),
    )
    .await;
    // After the period: the first second of April.
    receive(a, BIRTH, UNIT_1, InPerson, datetime!(2026-04-01 00:00 +7)).await;
    archive
}

/// carried, online, in person/post, received; early, on time, late, resolved; approved,
/// rejected; withdrawn; pending in time, overdue, pending; inputs, results, signed.
fn counts(row: &StatsRow) -> [u64; 17] {
    [
        row.carried_over,
        row.received_online,
        row.received_in_person_or_postal,
        row.received_total,
        row.resolved_early,
        row.resolved_on_time,
        row.resolved_late,
        row.resolved_total,
        row.resolved_approved,
        row.resolved_rejected,
        row.withdrawn,
        row.pending_in_time,
        row.pending_overdue,
        row.pending_total,
        row.input_digitized,
        row.result_digitized,
        row.results_signed,
    ]
}

/// on time (report), on time (system), inputs digitized, results digitized, results signed.
fn rates(row: &StatsRow) -> [Option<f64>; 5] {
    [
        row.on_time_rate,
        row.on_time_rate_system,
        row.input_digitization_rate,
        row.result_digitization_rate,
        row.signed_result_share,
    ]
}

fn assert_balanced(row: &StatsRow) {
    assert_eq!(
        row.received_total,
        row.resolved_total + row.withdrawn + row.pending_total,
        "received = resolved + withdrawn + pending: {row:?}"
    );
    assert_eq!(
        row.resolved_total,
        row.resolved_approved + row.resolved_rejected,
        "{row:?}"
    );
}

fn keys(stats: &Statistics) -> Vec<Option<&str>> {
    stats.rows.iter().map(|r| r.key.as_deref()).collect()
}

const TOTAL_COUNTS: [u64; 17] = [4, 3, 9, 16, 4, 3, 2, 9, 7, 2, 2, 2, 3, 5, 4, 4, 2];
// 7/9, 9/14 (16 received less 2 withdrawn), 4/9, 4/7, 2/4
const TOTAL_RATES: [Option<f64>; 5] = [
    Some(77.78),
    Some(64.29),
    Some(44.44),
    Some(57.14),
    Some(50.0),
];

#[tokio::test]
async fn stats_count_a_period_per_group_with_the_section_5_formulas() {
    for db in backends().await {
        let archive = scenario(&db).await;
        let backend = db.backend();

        let total = archive.statistics(&MARCH).await.unwrap();
        assert!(total.rows.is_empty());
        assert_eq!(counts(&total.total), TOTAL_COUNTS, "{backend}");
        assert_eq!(rates(&total.total), TOTAL_RATES, "{backend}");
        assert_balanced(&total.total);

        // Hộ tịch: C1 C6 N0 N1 N2 N3 N4 N8 N10 N11; Xây dựng: C2 N5 N9; no field: C5 N6 N7.
        let by_field = archive
            .statistics(&march(Some(Grouping::Field)))
            .await
            .unwrap();
        assert_eq!(
            keys(&by_field),
            [Some("Hộ tịch"), Some("Xây dựng"), None],
            "{backend}"
        );
        let expected: [([u64; 17], [Option<f64>; 5]); 3] = [
            (
                [2, 2, 6, 10, 4, 3, 1, 8, 7, 1, 1, 0, 1, 1, 3, 4, 2],
                // 7/8, 7/9, 3/6, 4/7, 2/4
                [Some(87.5), Some(77.78), Some(50.0), Some(57.14), Some(50.0)],
            ),
            (
                [1, 0, 2, 3, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 1, 0, 0],
                // nothing resolved; 1/2 system-wide; 1/2 scanned; no results
                [None, Some(50.0), Some(50.0), None, None],
            ),
            (
                [1, 1, 1, 3, 0, 0, 1, 1, 0, 1, 0, 1, 1, 2, 0, 0, 0],
                // 0/1, 1/3, 0/1, no approvals
                [Some(0.0), Some(33.33), Some(0.0), None, None],
            ),
        ];
        for (row, (expected_counts, expected_rates)) in by_field.rows.iter().zip(expected) {
            assert_eq!(counts(row), expected_counts, "{backend} {:?}", row.key);
            assert_eq!(rates(row), expected_rates, "{backend} {:?}", row.key);
            assert_balanced(row);
            assert_eq!(row.name, None);
        }
        assert_eq!(counts(&by_field.total), TOTAL_COUNTS);
        assert_eq!(rates(&by_field.total), TOTAL_RATES);

        // Each procedure here is one field: the same rows, keyed by code, with names.
        let by_procedure = archive
            .statistics(&march(Some(Grouping::Procedure)))
            .await
            .unwrap();
        assert_eq!(
            keys(&by_procedure),
            [Some(COPY), Some(BIRTH), Some(BUILDING)],
            "{backend}"
        );
        assert_eq!(
            by_procedure.rows[1].name.as_deref(),
            Some("Đăng ký khai sinh")
        );
        assert_eq!(
            by_procedure.rows[2].name.as_deref(),
            Some("Cấp giấy phép xây dựng, nhà ở riêng lẻ")
        );
        for (procedure_row, field_row) in by_procedure.rows.iter().zip([2, 0, 1]) {
            let field_row = &by_field.rows[field_row];
            assert_eq!(counts(procedure_row), counts(field_row), "{backend}");
            assert_eq!(rates(procedure_row), rates(field_row), "{backend}");
        }
        assert_eq!(counts(&by_procedure.total), TOTAL_COUNTS);

        // Unit 1: C1 C6 N0 N1 N2 N3 N6 N8 N10 N11; unit 2: C2 C5 N4 N5 N7 N9.
        let by_unit = archive
            .statistics(&march(Some(Grouping::Unit)))
            .await
            .unwrap();
        assert_eq!(keys(&by_unit), [Some(UNIT_1), Some(UNIT_2)], "{backend}");
        let expected: [([u64; 17], [Option<f64>; 5]); 2] = [
            (
                [2, 2, 6, 10, 4, 3, 0, 7, 6, 1, 1, 1, 1, 2, 3, 3, 2],
                // 7/7, 8/9, 3/6, 3/6, 2/3
                [
                    Some(100.0),
                    Some(88.89),
                    Some(50.0),
                    Some(50.0),
                    Some(66.67),
                ],
            ),
            (
                [2, 1, 3, 6, 0, 0, 2, 2, 1, 1, 1, 1, 2, 3, 1, 1, 0],
                // 0/2, 1/5, 1/3, 1/1, 0/1
                [Some(0.0), Some(20.0), Some(33.33), Some(100.0), Some(0.0)],
            ),
        ];
        for (row, (expected_counts, expected_rates)) in by_unit.rows.iter().zip(expected) {
            assert_eq!(counts(row), expected_counts, "{backend} {:?}", row.key);
            assert_eq!(rates(row), expected_rates, "{backend} {:?}", row.key);
            assert_balanced(row);
        }
        assert_eq!(counts(&by_unit.total), TOTAL_COUNTS);
        assert_eq!(rates(&by_unit.total), TOTAL_RATES);

        archive.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn stats_carry_the_pending_dossiers_into_the_next_period_and_an_empty_period_is_zeros() {
    for db in backends().await {
        let archive = scenario(&db).await;
        let backend = db.backend();
        let march = archive.statistics(&MARCH).await.unwrap();
        let april = archive
            .statistics(&StatsQuery {
                from: date!(2026 - 04 - 01),
                to: date!(2026 - 04 - 30),
                by: None,
            })
            .await
            .unwrap();
        // C2 C6 N5 N6 N7 carried; the dossier of 1 April new; N7 approved late on 2 April
        // (without a result document); the other five overdue by 30 April.
        assert_eq!(
            april.total.carried_over, march.total.pending_total,
            "{backend}"
        );
        assert_eq!(
            counts(&april.total),
            [5, 0, 1, 6, 0, 0, 1, 1, 1, 0, 0, 0, 5, 5, 0, 0, 0],
            "{backend}"
        );
        assert_eq!(
            rates(&april.total),
            [Some(0.0), Some(0.0), Some(0.0), Some(0.0), None],
            "{backend}"
        );
        assert_balanced(&april.total);

        // A single day: Mon 2 March. Carried from before: C1 C2 C5 C6 N0 (C5 rejected that
        // day, late); received that day N1-N4 and N11.
        let monday = archive
            .statistics(&StatsQuery {
                from: date!(2026 - 03 - 02),
                to: date!(2026 - 03 - 02),
                by: None,
            })
            .await
            .unwrap();
        assert_eq!(
            counts(&monday.total),
            [5, 1, 4, 10, 0, 0, 1, 1, 0, 1, 0, 9, 0, 9, 2, 0, 0],
            "{backend}"
        );
        assert_balanced(&monday.total);

        for by in [
            None,
            Some(Grouping::Field),
            Some(Grouping::Procedure),
            Some(Grouping::Unit),
        ] {
            let before = archive
                .statistics(&StatsQuery {
                    from: date!(2025 - 01 - 01),
                    to: date!(2025 - 12 - 31),
                    by,
                })
                .await
                .unwrap();
            assert!(before.rows.is_empty(), "{backend} {by:?}");
            assert_eq!(counts(&before.total), [0; 17], "{backend}");
            assert_eq!(rates(&before.total), [None; 5], "{backend}");
            let json = serde_json::to_value(&before).unwrap();
            assert!(json["total"]["on_time_rate"].is_null(), "{json}");
            assert_eq!(json["total"]["received_total"], 0);
        }

        let backwards = archive
            .statistics(&StatsQuery {
                from: date!(2026 - 04 - 01),
                to: date!(2026 - 03 - 31),
                by: None,
            })
            .await;
        assert!(
            matches!(
                backwards,
                Err(ArchiveError::FieldInvalid { field: "from", .. })
            ),
            "{backwards:?}"
        );
        archive.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn stats_cli_prints_text_json_and_csv_and_refuses_a_backward_period() {
    for db in backends().await {
        let archive = scenario(&db).await;
        let backend = db.backend();
        let stats = |args: &[&str]| {
            run(hoso()
                .args([
                    "--database-url",
                    &db.url(),
                    "stats",
                    "--from",
                    "2026-03-01",
                    "--to",
                    "2026-03-31",
                ])
                .args(args))
        };

        let r = stats(&["--by", "unit", "--format", "json"]);
        assert_eq!(r.code, 0, "{backend}: {}", r.stderr);
        let printed: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        let library = archive
            .statistics(&march(Some(Grouping::Unit)))
            .await
            .unwrap();
        assert_eq!(
            printed,
            serde_json::to_value(&library).unwrap(),
            "{backend}"
        );
        assert_eq!(printed["by"], "unit");
        assert_eq!(printed["from"], "2026-03-01");
        assert_eq!(printed["total"]["on_time_rate"], 77.78);

        let r = stats(&["--by", "procedure", "--format", "csv"]);
        assert_eq!(r.code, 0, "{backend}: {}", r.stderr);
        let mut reader = csv::Reader::from_reader(r.stdout.as_bytes());
        let header: Vec<String> = reader
            .headers()
            .unwrap()
            .iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(
            header,
            [
                "from",
                "to",
                "scope",
                "key",
                "name",
                "carried_over",
                "received_online",
                "received_in_person_or_postal",
                "received_total",
                "resolved_early",
                "resolved_on_time",
                "resolved_late",
                "resolved_total",
                "resolved_approved",
                "resolved_rejected",
                "withdrawn",
                "pending_in_time",
                "pending_overdue",
                "pending_total",
                "input_digitized",
                "result_digitized",
                "results_signed",
                "on_time_rate",
                "on_time_rate_system",
                "input_digitization_rate",
                "result_digitization_rate",
                "signed_result_share"
            ]
        );
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        let field = |record: &csv::StringRecord, name: &str| {
            record[header.iter().position(|h| h == name).unwrap()].to_owned()
        };
        assert_eq!(records.len(), 4, "three procedures and the total");
        let building = &records[2];
        assert_eq!(field(building, "scope"), "procedure");
        assert_eq!(field(building, "key"), BUILDING);
        // The name has a comma: quoted in the file, whole after parsing.
        assert_eq!(
            field(building, "name"),
            "Cấp giấy phép xây dựng, nhà ở riêng lẻ"
        );
        assert_eq!(field(building, "pending_total"), "2");
        assert_eq!(
            field(building, "on_time_rate"),
            "",
            "null rate is an empty field"
        );
        let total = &records[3];
        assert_eq!(field(total, "scope"), "total");
        assert_eq!(field(total, "key"), "");
        assert_eq!(field(total, "received_total"), "16");
        assert_eq!(field(total, "on_time_rate_system"), "64.29");
        assert_eq!(field(total, "signed_result_share"), "50");
        assert_eq!(field(total, "to"), "2026-03-31");

        let r = stats(&["--by", "field"]);
        assert_eq!(r.code, 0, "{backend}: {}", r.stderr);
        for expected in [
            "Thống kê giải quyết hồ sơ từ 2026-03-01 đến 2026-03-31",
            "Tiếp nhận (received)",
            "Đang giải quyết (pending)",
            "Kỳ trước",
            "carried",
            "Hộ tịch",
            "(chưa có lĩnh vực / no field)",
            "Tổng cộng (total)",
            "77.78% (7/9)",
            "64.29% (9/14)",
            "— (0/0)",
        ] {
            assert!(
                r.stdout.contains(expected),
                "{backend}: no {expected:?} in\n{}",
                r.stdout
            );
        }
        let total_line = r
            .stdout
            .lines()
            .find(|l| l.starts_with("Tổng cộng"))
            .unwrap();
        let numbers: Vec<&str> = total_line["Tổng cộng (total)".len()..]
            .split_whitespace()
            .collect();
        assert_eq!(
            numbers,
            ["4", "3", "9", "16", "4", "3", "2", "9", "2", "2", "3", "5"]
        );

        let r = run(hoso().args([
            "--database-url",
            &db.url(),
            "stats",
            "--from",
            "2026-04-01",
            "--to",
            "2026-03-31",
        ]));
        assert_eq!(r.code, 2, "{backend}: {}", r.stderr);
        assert!(r.stdout.is_empty());
        assert!(
            r.stderr
                .starts_with("lỗi [usage]: ngày bắt đầu --from 2026-04-01"),
            "{}",
            r.stderr
        );
        assert!(
            r.stderr
                .contains("--from 2026-04-01 is after --to 2026-03-31"),
            "{}",
            r.stderr
        );
        let r = stats(&["--by", "agency"]);
        assert_eq!(r.code, 2, "unknown grouping: {}", r.stderr);

        archive.close().await;
        db.cleanup().await;
    }
}
