//! Search on SQLite and PostgreSQL: diacritic-insensitive matching with exact accents first,
//! every filter, pagination, hostile query text, reindexing on new versions, and the JSON of
//! `hoso search`.

use hoso::archive::Archive;
use hoso::archive::codes::{AgencyCode, DossierCode, ProcedureCode};
use hoso::archive::documents::{
    DocumentMetadata, DocumentRole, NewDocument, NewVersion, OcrText, VersionKind,
};
use hoso::archive::dossiers::{Applicant, Channel, NewDossier};
use hoso::archive::procedures::CatalogueFormat;
use hoso::archive::search::{SearchPage, SearchQuery, SearchSort, SignatureStatus};
use hoso::digest::Sha256Digest;
use time::OffsetDateTime;
use time::macros::{date, datetime};

use crate::helpers::{TestDb, backends, hoso, run};

const CATALOGUE: &str = "code,name,field,level,processing_days,competent_agency\n\
    1.001193,Đăng ký khai sinh,Hộ tịch,Cấp xã,3,UBND cấp xã\n\
    2.002710,\"Cấp giấy phép xây dựng, nhà ở riêng lẻ\",Xây dựng,Cấp huyện,15,UBND cấp huyện\n";

/// Monday 23 November 2026, 09:00 in Vietnam.
const MONDAY: OffsetDateTime = datetime!(2026-11-23 02:00 UTC);

/// A long body, so that a full text in a list would show.
fn long_body(tail: &str) -> String {
    let mut body =
        "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015. ".repeat(60);
    body.push_str(tail);
    body
}

struct Fixture {
    archive: Archive,
    /// Quyết định 12/QĐ-UBND, phường Đống Đa, đường Láng (dossier 1, Hộ tịch).
    a: i64,
    /// Đơn, phố Đồng Đà, signer Trần Thị Dương (dossier 2, Xây dựng).
    b: i64,
    /// Công văn in plain ASCII "dong da", "duong" (no dossier, outgoing, verified unsigned).
    c: i64,
    dossier_1: DossierCode,
    dossier_2: DossierCode,
}

async fn blob(archive: &Archive, content: &str, at: OffsetDateTime) -> Sha256Digest {
    let sha = Sha256Digest::of(content.as_bytes());
    archive
        .record_blob(&sha, content.len() as u64, "application/pdf", at)
        .await
        .unwrap();
    sha
}

#[allow(clippy::too_many_arguments)]
async fn add(
    archive: &Archive,
    dossier: Option<&DossierCode>,
    role: DocumentRole,
    file_name: &str,
    metadata: DocumentMetadata,
    text: &str,
    at: OffsetDateTime,
) -> i64 {
    let sha = blob(archive, &format!("{file_name}\n{text}"), at).await;
    archive
        .add_document(
            &NewDocument {
                dossier: dossier.cloned(),
                role,
                sha256: sha,
                file_name: file_name.to_owned(),
                metadata,
                ocr: Some(OcrText {
                    text: text.to_owned(),
                    confidence: Some(91.0),
                }),
                actor: "văn thư".to_owned(),
                reason: "tiếp nhận".to_owned(),
            },
            at,
        )
        .await
        .unwrap()
        .document_id
}

async fn fixture(db: &TestDb) -> Fixture {
    let archive = db.archive().await;
    archive
        .import_procedures(
            CATALOGUE.as_bytes(),
            CatalogueFormat::Csv,
            "catalogue.csv",
            "quản trị",
            MONDAY,
        )
        .await
        .unwrap();
    let mut dossiers = Vec::new();
    for procedure in ["1.001193", "2.002710"] {
        let dossier = archive
            .create_dossier(
                &NewDossier {
                    procedure: ProcedureCode::parse(procedure).unwrap(),
                    agency: AgencyCode::parse("H53.100.01").unwrap(),
                    applicant: Applicant {
                        name: "Nguyễn Thị Hoa".to_owned(),
                        id_number: None,
                        contact: None,
                    },
                    channel: Channel::InPerson,
                    result_delivery: None,
                    actor: "cán bộ một cửa".to_owned(),
                    note: None,
                },
                MONDAY,
            )
            .await
            .unwrap();
        dossiers.push(DossierCode::parse(&dossier.code).unwrap());
    }
    let a = add(
        &archive,
        Some(&dossiers[0]),
        DocumentRole::Result,
        "quyet-dinh-12.pdf",
        DocumentMetadata {
            type_name: Some("Quyết định".to_owned()),
            code_number: Some("12".to_owned()),
            code_notation: Some("QĐ-UBND".to_owned()),
            issued_date: Some(date!(2026 - 03 - 05)),
            organ_name: Some("Ủy ban nhân dân phường Đống Đa".to_owned()),
            subject: Some("Về việc cấp giấy khai sinh".to_owned()),
            signer_name: Some("Nguyễn Văn Đức".to_owned()),
            signer_position: Some("Chủ tịch".to_owned()),
            ..DocumentMetadata::default()
        },
        &long_body("Trụ sở tại số 1 đường Láng, phường Đống Đa, thành phố Hà Nội. KẾT THÚC-A"),
        datetime!(2026-11-20 03:00 UTC),
    )
    .await;
    let b = add(
        &archive,
        Some(&dossiers[1]),
        DocumentRole::Input,
        "don-de-nghi.pdf",
        DocumentMetadata {
            type_name: Some("Đơn".to_owned()),
            code_number: Some("7".to_owned()),
            code_notation: Some("ĐN".to_owned()),
            issued_date: Some(date!(2026 - 04 - 10)),
            organ_name: Some("UBND quận Cầu Giấy".to_owned()),
            subject: Some("Đơn đề nghị cấp phép xây dựng".to_owned()),
            signer_name: Some("Trần Thị Dương".to_owned()),
            ..DocumentMetadata::default()
        },
        "Nhà ở tại phố Đồng Đà, gần biển Dương. Diện tích 60 m2.",
        datetime!(2026-11-21 03:00 UTC),
    )
    .await;
    let c = add(
        &archive,
        None,
        DocumentRole::Outgoing,
        "cong-van-45.pdf",
        DocumentMetadata {
            type_name: Some("Công văn".to_owned()),
            code_number: Some("45".to_owned()),
            code_notation: Some("UBND-VP".to_owned()),
            issued_date: Some(date!(2026 - 05 - 20)),
            organ_name: Some("Ủy ban nhân dân quận Hoàn Kiếm".to_owned()),
            signer_name: Some("Phạm Minh Tuấn".to_owned()),
            ..DocumentMetadata::default()
        },
        "Van ban khong dau: khu vuc dong da, tuyen duong so 3.",
        MONDAY,
    )
    .await;
    // C verified: no signature in it.
    let record = archive.document(c).await.unwrap();
    let version = record.latest().unwrap();
    let report = hoso::verify::Report {
        file: version.file_name.clone(),
        size: version.size_bytes as u64,
        sha256: version.sha256.clone(),
        validation_time: MONDAY,
        policy: hoso::verify::Policy::Strict,
        indication: hoso::verify::Indication::Indeterminate,
        subindication: None,
        signatures: Vec::new(),
        messages: Vec::new(),
    };
    archive
        .record_verification(version.version_id, &report, "văn thư", MONDAY)
        .await
        .unwrap();
    Fixture {
        archive,
        a,
        b,
        c,
        dossier_1: dossiers[0].clone(),
        dossier_2: dossiers[1].clone(),
    }
}

fn ids(page: &SearchPage) -> Vec<i64> {
    page.items.iter().map(|h| h.document_id).collect()
}

async fn find(archive: &Archive, query: SearchQuery) -> Vec<i64> {
    ids(&archive.search(&query).await.unwrap())
}

#[tokio::test]
async fn search_folds_diacritics_and_ranks_exact_accents_first() {
    for db in backends().await {
        let f = fixture(&db).await;
        let backend = db.backend();
        // No accents typed: every spelling, newest first.
        assert_eq!(
            find(&f.archive, SearchQuery::text("dong da")).await,
            [f.c, f.b, f.a],
            "{backend}"
        );
        assert_eq!(
            find(&f.archive, SearchQuery::text("DONG DA")).await,
            [f.c, f.b, f.a],
            "{backend}"
        );
        // Accents typed: the document spelled that way first, then the others.
        let page = f
            .archive
            .search(&SearchQuery::text("Đống Đa"))
            .await
            .unwrap();
        assert_eq!(ids(&page), [f.a, f.c, f.b], "{backend}");
        assert!(page.items[0].exact_accents && !page.items[1].exact_accents);
        assert!(page.items[0].score > page.items[1].score, "{backend}");
        assert_eq!(
            find(&f.archive, SearchQuery::text("Đồng Đà")).await,
            [f.b, f.c, f.a],
            "{backend}"
        );
        // đ folds to d: `duong` finds đường (A), Dương (B) and duong (C); `đường` puts A first.
        assert_eq!(
            find(&f.archive, SearchQuery::text("duong")).await,
            [f.c, f.b, f.a],
            "{backend}"
        );
        assert_eq!(
            find(&f.archive, SearchQuery::text("đường")).await,
            [f.a, f.c, f.b],
            "{backend}"
        );
        // Phrases: quoted words must be adjacent; unquoted, anywhere.
        assert_eq!(
            find(&f.archive, SearchQuery::text("\"đường láng\"")).await,
            [f.a],
            "{backend}"
        );
        assert!(
            find(&f.archive, SearchQuery::text("\"lang duong\""))
                .await
                .is_empty(),
            "{backend}"
        );
        // Metadata is searched too: the number, the signer, the agency.
        assert_eq!(
            find(&f.archive, SearchQuery::text("12/qd-ubnd")).await,
            [f.a]
        );
        assert_eq!(
            find(&f.archive, SearchQuery::text("nguyen van duc")).await,
            [f.a]
        );
        assert_eq!(
            find(&f.archive, SearchQuery::text("hoan kiem")).await,
            [f.c]
        );
        // Relevance order keeps the exact-accent tier first.
        let relevance = SearchQuery {
            sort: SearchSort::Relevance,
            ..SearchQuery::text("Đống Đa")
        };
        assert_eq!(find(&f.archive, relevance).await[0], f.a, "{backend}");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn search_filters_each_narrow_the_results() {
    for db in backends().await {
        let f = fixture(&db).await;
        let backend = db.backend();
        let all = || SearchQuery::default();
        let cases: Vec<(&str, SearchQuery, Vec<i64>)> = vec![
            ("none", all(), vec![f.c, f.b, f.a]),
            (
                "procedure",
                SearchQuery {
                    procedure: Some("1.001193".to_owned()),
                    ..all()
                },
                vec![f.a],
            ),
            (
                "field",
                SearchQuery {
                    field: Some("xay dung".to_owned()),
                    ..all()
                },
                vec![f.b],
            ),
            (
                "field with accents",
                SearchQuery {
                    field: Some("Hộ tịch".to_owned()),
                    ..all()
                },
                vec![f.a],
            ),
            (
                "dossier",
                SearchQuery {
                    dossier: Some(f.dossier_1.as_str().to_lowercase()),
                    ..all()
                },
                vec![f.a],
            ),
            (
                "dossier part",
                SearchQuery {
                    dossier: Some(
                        f.dossier_2.as_str()[f.dossier_2.as_str().len() - 4..].to_owned(),
                    ),
                    ..all()
                },
                vec![f.b],
            ),
            (
                "number",
                SearchQuery {
                    number: Some("12/qd-ubnd".to_owned()),
                    ..all()
                },
                vec![f.a],
            ),
            (
                "number as written",
                SearchQuery {
                    number: Some(" 12 / QĐ-UBND".to_owned()),
                    ..all()
                },
                vec![f.a],
            ),
            (
                "number alone",
                SearchQuery {
                    number: Some("7".to_owned()),
                    ..all()
                },
                vec![f.b],
            ),
            (
                "symbol alone",
                SearchQuery {
                    number: Some("ubnd-vp".to_owned()),
                    ..all()
                },
                vec![f.c],
            ),
            (
                "agency",
                SearchQuery {
                    agency: Some("dong da".to_owned()),
                    ..all()
                },
                vec![f.a],
            ),
            (
                "signer",
                SearchQuery {
                    signer: Some("Dương".to_owned()),
                    ..all()
                },
                vec![f.b],
            ),
            (
                "signer position",
                SearchQuery {
                    signer: Some("chu tich".to_owned()),
                    ..all()
                },
                vec![f.a],
            ),
            (
                "issued",
                SearchQuery {
                    issued_from: Some(date!(2026 - 04 - 01)),
                    issued_to: Some(date!(2026 - 04 - 30)),
                    ..all()
                },
                vec![f.b],
            ),
            (
                "stored",
                SearchQuery {
                    stored_from: Some(date!(2026 - 11 - 21)),
                    stored_to: Some(date!(2026 - 11 - 21)),
                    ..all()
                },
                vec![f.b],
            ),
            (
                "role",
                SearchQuery {
                    role: Some(DocumentRole::Outgoing),
                    ..all()
                },
                vec![f.c],
            ),
            (
                "verified unsigned",
                SearchQuery {
                    signature: Some(SignatureStatus::Unsigned),
                    ..all()
                },
                vec![f.c],
            ),
            (
                "unverified",
                SearchQuery {
                    signature: Some(SignatureStatus::Unverified),
                    ..all()
                },
                vec![f.b, f.a],
            ),
            (
                "valid",
                SearchQuery {
                    signature: Some(SignatureStatus::Valid),
                    ..all()
                },
                vec![],
            ),
            (
                "text and filter",
                SearchQuery {
                    role: Some(DocumentRole::Input),
                    ..SearchQuery::text("dong da")
                },
                vec![f.b],
            ),
            (
                "text and agency",
                SearchQuery {
                    agency: Some("hoan kiem".to_owned()),
                    ..SearchQuery::text("Đống Đa")
                },
                vec![f.c],
            ),
        ];
        for (name, query, expected) in cases {
            assert_eq!(find(&f.archive, query).await, expected, "{backend}: {name}");
        }
        let page = f
            .archive
            .search(&SearchQuery::text("dong da"))
            .await
            .unwrap();
        let c = page.items.iter().find(|h| h.document_id == f.c).unwrap();
        assert_eq!(c.signature_status, SignatureStatus::Unsigned);
        assert_eq!(c.role, DocumentRole::Outgoing);
        assert_eq!(c.dossier_code, None);
        let a = page.items.iter().find(|h| h.document_id == f.a).unwrap();
        assert_eq!(a.dossier_code.as_deref(), Some(f.dossier_1.as_str()));
        assert_eq!(a.issued_date, Some(date!(2026 - 03 - 05)));
        assert_eq!(a.title, "Quyết định 12/QĐ-UBND: Về việc cấp giấy khai sinh");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn search_pages_are_stable_and_lists_never_carry_the_full_text() {
    for db in backends().await {
        let f = fixture(&db).await;
        let backend = db.backend();
        let mut added = Vec::new();
        for i in 0..25 {
            added.push(
                add(
                    &f.archive,
                    None,
                    DocumentRole::Incoming,
                    &format!("bao-cao-{i}.pdf"),
                    DocumentMetadata::default(),
                    &format!("Báo cáo tình hình số {i} của tổ dân phố."),
                    MONDAY,
                )
                .await,
            );
        }
        added.reverse();
        let mut seen = Vec::new();
        for offset in [0, 10, 20] {
            let page = f
                .archive
                .search(&SearchQuery {
                    limit: 10,
                    offset,
                    count: true,
                    ..SearchQuery::text("bao cao")
                })
                .await
                .unwrap();
            assert_eq!(page.total, Some(25), "{backend}");
            assert_eq!(page.has_more, offset < 20, "{backend} {offset}");
            seen.extend(ids(&page));
        }
        assert_eq!(
            seen, added,
            "{backend}: pages in order, none repeated or lost"
        );
        let past = SearchQuery {
            offset: 30,
            ..SearchQuery::text("bao cao")
        };
        assert!(find(&f.archive, past).await.is_empty());

        // Text with a filter that selects many entries (SQLite then walks the text matches
        // and checks the filter) and with one that selects few (it looks the entries up).
        let mut attachments = Vec::new();
        for i in 0..110 {
            let content = format!("phụ lục {i}");
            attachments.push(NewDocument {
                dossier: None,
                role: DocumentRole::Attachment,
                sha256: blob(&f.archive, &content, MONDAY).await,
                file_name: format!("phu-luc-{i}.pdf"),
                metadata: DocumentMetadata::default(),
                ocr: Some(OcrText {
                    text: if i % 2 == 0 {
                        format!("Phụ lục báo cáo số {i}.")
                    } else {
                        format!("Phụ lục số {i}.")
                    },
                    confidence: None,
                }),
                actor: "văn thư".to_owned(),
                reason: "tiếp nhận".to_owned(),
            });
        }
        let stored = f.archive.add_documents(&attachments, MONDAY).await.unwrap();
        let mut expected: Vec<i64> = stored
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == 0)
            .map(|(_, s)| s.document_id)
            .collect();
        expected.reverse();
        for role in [DocumentRole::Attachment, DocumentRole::Incoming] {
            let page = f
                .archive
                .search(&SearchQuery {
                    role: Some(role),
                    limit: 200,
                    ..SearchQuery::text("bao cao")
                })
                .await
                .unwrap();
            let want = if role == DocumentRole::Attachment {
                &expected
            } else {
                &added
            };
            assert_eq!(&ids(&page), want, "{backend}: {role:?}");
        }

        // Tiers across pages: one per page, exact first, then the folded ones in order.
        let mut tiers = Vec::new();
        for offset in 0..4 {
            tiers.extend(
                find(
                    &f.archive,
                    SearchQuery {
                        limit: 1,
                        offset,
                        ..SearchQuery::text("Đống Đa")
                    },
                )
                .await,
            );
        }
        assert_eq!(tiers, [f.a, f.c, f.b], "{backend}");

        // The long body of A is not in the list, only a snippet around the match.
        let page = f
            .archive
            .search(&SearchQuery::text("đường láng"))
            .await
            .unwrap();
        let hit = &page.items[0];
        assert_eq!(hit.document_id, f.a);
        assert!(hit.snippet.chars().count() < 250, "{}", hit.snippet);
        assert!(hit.snippet.contains("đường Láng"), "{}", hit.snippet);
        let marked: Vec<&str> = hit
            .highlights
            .iter()
            .map(|&(s, e)| &hit.snippet[s..e])
            .collect();
        assert!(
            marked.contains(&"đường") && marked.contains(&"Láng"),
            "{marked:?}"
        );
        let json = serde_json::to_string(&page).unwrap();
        assert!(!json.contains("địa phương ngày 19 tháng 6 năm 2015. Căn cứ Luật Tổ chức chính quyền địa phương ngày 19"));
        assert!(json.len() < 2_000, "{json}");

        // A confidential document is found by its text, but the list shows only metadata
        // (reading its text is an audited event).
        let secret = add(
            &f.archive,
            None,
            DocumentRole::Incoming,
            "mat.pdf",
            DocumentMetadata {
                subject: Some("Về việc bảo vệ bí mật nhà nước".to_owned()),
                confidentiality: Some(hoso::archive::documents::Confidentiality::Confidential),
                ..DocumentMetadata::default()
            },
            "Nội dung mật: kế hoạch tuần tra khu vực cầu Long Biên.",
            MONDAY,
        )
        .await;
        let page = f
            .archive
            .search(&SearchQuery::text("tuan tra"))
            .await
            .unwrap();
        assert_eq!(ids(&page), [secret], "{backend}");
        assert_eq!(page.items[0].snippet, "Về việc bảo vệ bí mật nhà nước");
        assert!(!serde_json::to_string(&page).unwrap().contains("tuần tra"));

        // Out-of-range pages are refused with a code.
        for bad in [
            SearchQuery {
                limit: 0,
                ..SearchQuery::default()
            },
            SearchQuery {
                limit: 201,
                ..SearchQuery::default()
            },
            SearchQuery {
                offset: 10_001,
                ..SearchQuery::default()
            },
        ] {
            let e = f.archive.search(&bad).await.unwrap_err();
            assert_eq!(hoso::error::Coded::code(&e), "field-invalid");
        }
        db.cleanup().await;
    }
}

#[tokio::test]
async fn search_treats_query_syntax_and_injection_as_text() {
    for db in backends().await {
        let f = fixture(&db).await;
        let backend = db.backend();
        for hostile in [
            "\"",
            "\"\"",
            "*",
            "dong*",
            "NEAR(",
            "NEAR(dong da, 2)",
            "') OR 1=1 --",
            "'; DROP TABLE documents; --",
            "AND",
            "OR dong",
            "dong OR",
            "NOT",
            "-dong",
            "^x",
            "text:dong",
            "{text agency}: da",
            "(((",
            ")",
            "dong & da | !x <-> y",
            "'đống':*",
            "\\",
            "%",
            "_",
            "",
            "   ",
            "\u{0}",
            "đ\u{301}\u{301}\u{301}",
        ] {
            let result = f.archive.search(&SearchQuery::text(hostile)).await;
            assert!(result.is_ok(), "{backend}: {hostile:?} → {result:?}");
            let result = f
                .archive
                .search(&SearchQuery {
                    agency: Some(hostile.to_owned()),
                    signer: Some(hostile.to_owned()),
                    number: Some(hostile.to_owned()),
                    dossier: Some(hostile.to_owned()),
                    field: Some(hostile.to_owned()),
                    procedure: Some(hostile.to_owned()),
                    ..SearchQuery::text(hostile)
                })
                .await;
            // Control characters in a filter are refused with a code; everything else is text.
            match result {
                Ok(_) => {}
                Err(e) => {
                    assert_eq!(hoso::error::Coded::code(&e), "field-invalid", "{hostile:?}");
                    assert!(hostile.contains('\u{0}'), "{backend}: {hostile:?} → {e}");
                }
            }
        }
        // Words around the syntax still match; the syntax itself matches nothing.
        assert_eq!(
            find(&f.archive, SearchQuery::text("NEAR(láng")).await,
            Vec::<i64>::new()
        );
        assert_eq!(
            find(&f.archive, SearchQuery::text("(đường) láng*")).await,
            [f.a]
        );
        assert_eq!(
            find(&f.archive, SearchQuery::text("') OR dong da --")).await,
            Vec::<i64>::new()
        );
        assert!(find(&f.archive, SearchQuery::text("*")).await.is_empty());
        assert!(find(&f.archive, SearchQuery::text("%")).await.is_empty());
        let dossier_like = SearchQuery {
            dossier: Some("%".to_owned()),
            ..SearchQuery::default()
        };
        assert!(find(&f.archive, dossier_like).await.is_empty(), "{backend}");
        // The tables are still there.
        assert_eq!(
            find(&f.archive, SearchQuery::text("dong da")).await.len(),
            3
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn search_follows_new_versions_and_verifications() {
    for db in backends().await {
        let f = fixture(&db).await;
        let backend = db.backend();
        assert_eq!(
            find(&f.archive, SearchQuery::text("khai sinh")).await,
            [f.a]
        );
        let record = f.archive.document(f.a).await.unwrap();
        let latest = record.latest().unwrap();
        let metadata = DocumentMetadata {
            subject: Some("Về việc điều chỉnh hộ tịch".to_owned()),
            code_number: Some("13".to_owned()),
            ..latest.metadata.clone()
        };
        let stored = f
            .archive
            .add_version(
                &NewVersion {
                    document_id: f.a,
                    parent_version: latest.version,
                    kind: VersionKind::Metadata,
                    sha256: latest.sha256.parse::<Sha256Digest>().unwrap(),
                    file_name: None,
                    metadata: Some(metadata),
                    ocr: None,
                    actor: "văn thư".to_owned(),
                    reason: "sửa trích yếu".to_owned(),
                },
                MONDAY,
            )
            .await
            .unwrap();
        assert!(
            find(&f.archive, SearchQuery::text("khai sinh"))
                .await
                .is_empty(),
            "{backend}: the old subject is gone"
        );
        let page = f
            .archive
            .search(&SearchQuery::text("điều chỉnh"))
            .await
            .unwrap();
        assert_eq!(ids(&page), [f.a], "{backend}");
        assert_eq!(page.items[0].version_id, stored.version_id);
        let by_number = |n: &str| SearchQuery {
            number: Some(n.to_owned()),
            ..SearchQuery::default()
        };
        assert!(find(&f.archive, by_number("12/QĐ-UBND")).await.is_empty());
        assert_eq!(find(&f.archive, by_number("13/QĐ-UBND")).await, [f.a]);
        // The body is still indexed from the unchanged OCR text.
        assert_eq!(
            find(&f.archive, SearchQuery::text("đường láng")).await,
            [f.a]
        );
        db.cleanup().await;
    }
}

#[test]
fn search_command_prints_json_items_with_the_contract_fields() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dbs = runtime.block_on(backends());
    for db in dbs {
        let f = runtime.block_on(fixture(&db));
        runtime.block_on(f.archive.close());
        let url = db.url();
        let r = run(hoso().args([
            "--database-url",
            &url,
            "search",
            "dong da",
            "--format",
            "json",
        ]));
        assert_eq!(r.code, 0, "{}", r.stderr);
        let json: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        let items = json["items"].as_array().unwrap();
        assert_eq!(items.len(), 3, "{}", r.stdout);
        for item in items {
            for key in [
                "id",
                "sha256",
                "file_name",
                "dossier_code",
                "title",
                "snippet",
                "score",
            ] {
                assert!(item.get(key).is_some(), "{key} missing in {item}");
            }
            assert_eq!(item["sha256"].as_str().unwrap().len(), 64);
        }
        assert_eq!(items[2]["id"], f.a);
        assert_eq!(items[2]["dossier_code"], f.dossier_1.as_str());

        let r = run(hoso().args([
            "--database-url",
            &url,
            "search",
            "",
            "--number",
            "12/qd-ubnd",
        ]));
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(r.stdout.contains("Kết quả 1–1"), "{}", r.stdout);
        assert!(r.stdout.contains("Quyết định 12/QĐ-UBND"), "{}", r.stdout);

        let r = run(hoso().args(["--database-url", &url, "search", "Đống Đa"]));
        assert!(r.stdout.contains("«Đống» «Đa»"), "{}", r.stdout);

        let r = run(hoso().args(["--database-url", &url, "search", "không có từ này"]));
        assert_eq!(r.code, 0);
        assert!(r.stdout.contains("Không tìm thấy"), "{}", r.stdout);

        let r = run(hoso().args(["--database-url", &url, "search", "x", "--limit", "500"]));
        assert_eq!(r.code, 2, "{}", r.stderr);
        let r = run(hoso().args([
            "--database-url",
            &url,
            "search",
            "x",
            "--from",
            "31/02/2026",
        ]));
        assert_eq!(r.code, 2, "{}", r.stderr);
        runtime.block_on(db.cleanup());
    }
}
