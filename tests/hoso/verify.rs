//! `hoso verify` end to end: our own signatures at every level, tampering, attacks on the
//! structure, exit codes, reports in both languages, detached CMS, and the conformance run
//! over the shared signature corpus (EU DSS, pyHanko, RUB shadow attacks, pdf.js, generated
//! B-B…B-LTA) with its agreement table.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::helpers::{Run, corpora, hoso, in_ci, run};
use crate::pki;

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/cong-van.pdf")
}

/// Signs the sample with the test PKI's official key; `None` (skipped) when the test TSA and
/// OCSP services cannot run on this machine.
fn signed(dir: &Path, name: &str, args: &[&str]) -> Option<PathBuf> {
    let services = pki::services()?;
    let output = dir.join(name);
    let r = run(hoso()
        .arg("sign")
        .arg(sample())
        .arg("-o")
        .arg(&output)
        .arg("--trust")
        .arg(pki::dir())
        .args(["--password-env", "HOSO_TEST_P12_PASSWORD"])
        .args([
            "--p12",
            &pki::dir().join("official.p12").display().to_string(),
        ])
        .args(["--tsa", &services.tsa])
        .args(args));
    assert_eq!(r.code, 0, "signing failed: {}", r.stderr);
    Some(output)
}

fn verify(file: &Path, args: &[&str]) -> (Run, Value) {
    let r = run(hoso()
        .arg("verify")
        .arg(file)
        .args(["--format", "json"])
        .args(args));
    let json = serde_json::from_str(&r.stdout).unwrap_or(Value::Null);
    (r, json)
}

fn trust_test_pki() -> [String; 2] {
    ["--trust".to_owned(), pki::dir().display().to_string()]
}

fn codes(signature: &Value) -> Vec<String> {
    signature["messages"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|m| m["code"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn our_signatures_pass_at_every_level_with_the_report_fields_scripts_rely_on() {
    let dir = tempfile::tempdir().unwrap();
    let trust = trust_test_pki();
    let trust: Vec<&str> = trust.iter().map(String::as_str).collect();
    for (level, expected_level) in [
        ("B-B", "B-B"),
        ("B-T", "B-T"),
        ("B-LT", "B-LT"),
        ("B-LTA", "B-LTA"),
    ] {
        let Some(pdf) = signed(dir.path(), &format!("{level}.pdf"), &["--level", level]) else {
            return;
        };
        let (r, report) = verify(&pdf, &trust);
        assert_eq!(r.code, 0, "{level}: {}\n{}", r.stdout, r.stderr);
        assert_eq!(report["indication"], "TOTAL-PASSED");
        let signature = &report["signatures"][0];
        for field in [
            "field",
            "indication",
            "subindication",
            "signer",
            "signing_time",
            "timestamp_time",
            "level",
            "coverage",
            "modifications",
            "messages",
        ] {
            assert!(
                signature.get(field).is_some(),
                "{level}: no `{field}` in {signature}"
            );
        }
        assert_eq!(signature["level"], expected_level, "{signature}");
        assert_eq!(signature["signer"]["common_name"], "Nguyễn Văn An (TEST)");
        if level != "B-B" {
            assert!(signature["timestamp_time"].is_string(), "{signature}");
        }
        if level == "B-LT" || level == "B-LTA" {
            // The document carries its own validation data: no network needed.
            let (r, report) = verify(&pdf, &[trust[0], trust[1], "--offline"]);
            assert_eq!(r.code, 0, "{level} offline: {}", r.stdout);
            assert_eq!(
                report["signatures"][0]["revocation"][0]["source"]["origin"],
                "document"
            );
        }
    }
}

#[test]
fn a_changed_byte_inside_the_signed_range_is_a_hash_failure() {
    let dir = tempfile::tempdir().unwrap();
    let Some(pdf) = signed(dir.path(), "signed.pdf", &["--level", "B-B"]) else {
        return;
    };
    let mut bytes = std::fs::read(&pdf).unwrap();
    // Change a digit of the page size (inside the first signed range).
    let at = bytes
        .windows(8)
        .position(|w| w == b"595.2756")
        .expect("the MediaBox");
    bytes[at + 7] = b'7';
    let tampered = dir.path().join("tampered.pdf");
    std::fs::write(&tampered, &bytes).unwrap();
    let trust = trust_test_pki();
    let (r, report) = verify(&tampered, &[&trust[0], &trust[1]]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_eq!(report["signatures"][0]["subindication"], "HASH_FAILURE");
    assert!(codes(&report["signatures"][0]).contains(&"hash-mismatch".to_owned()));
}

#[test]
fn content_changed_in_a_later_revision_fails_the_signature() {
    let dir = tempfile::tempdir().unwrap();
    let Some(pdf) = signed(dir.path(), "signed.pdf", &["--level", "B-B"]) else {
        return;
    };
    // An incremental update that replaces the page's content stream: the signed bytes stay
    // intact, so only the modification analysis can catch it (the ISA attack).
    let document = lopdf::Document::load(&pdf).unwrap();
    let page = *document.get_pages().values().next().unwrap();
    let mut bytes = std::fs::read(&pdf).unwrap();
    let content_id = (document.max_id + 1, 0);
    let stream = b"BT /F1 24 Tf 72 700 Td (DA SUA) Tj ET";
    // The page object as the file has it, pointing at the new content.
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let header = format!("\n{} {} obj", page.0, page.1);
    let start = text.find(&header).expect("the page object") + 1;
    let end = start + text[start..].find("endobj").unwrap() + "endobj".len();
    let old_contents = document
        .get_dictionary(page)
        .unwrap()
        .get(b"Contents")
        .unwrap()
        .as_reference()
        .unwrap();
    let page_text = text[start..end].replace(
        &format!("/Contents {} {} R", old_contents.0, old_contents.1),
        &format!("/Contents {} 0 R", content_id.0),
    );
    assert!(page_text.contains(&format!("/Contents {} 0 R", content_id.0)));
    let mut update = Vec::new();
    let content_offset = bytes.len() + 1;
    update.extend_from_slice(
        format!(
            "\n{} 0 obj\n<< /Length {} >>\nstream\n",
            content_id.0,
            stream.len()
        )
        .as_bytes(),
    );
    update.extend_from_slice(stream);
    update.extend_from_slice(b"\nendstream\nendobj\n");
    let page_offset = bytes.len() + update.len();
    update.extend_from_slice(page_text.as_bytes());
    update.push(b'\n');
    let xref_offset = bytes.len() + update.len();
    let previous = {
        let text = String::from_utf8_lossy(&bytes);
        let at = text.rfind("startxref").unwrap();
        text[at + 9..].split_whitespace().next().unwrap().to_owned()
    };
    update.extend_from_slice(
        format!(
            "xref\n0 1\n0000000000 65535 f \n{} 1\n{:010} {:05} n \n{} 1\n{:010} 00000 n \ntrailer\n<< /Size {} /Root {} 0 R /Prev {} >>\nstartxref\n{}\n%%EOF\n",
            page.0, page_offset, page.1, content_id.0, content_offset, content_id.0 + 1,
            document.trailer.get(b"Root").unwrap().as_reference().unwrap().0, previous, xref_offset
        )
        .as_bytes(),
    );
    bytes.extend_from_slice(&update);
    let changed = dir.path().join("changed.pdf");
    std::fs::write(&changed, &bytes).unwrap();
    let trust = trust_test_pki();
    for policy in ["strict", "lenient"] {
        let (r, report) = verify(&changed, &[&trust[0], &trust[1], "--policy", policy]);
        assert_eq!(r.code, 1, "{policy}: {}", r.stdout);
        let signature = &report["signatures"][0];
        assert_eq!(signature["coverage"], "revision");
        assert!(
            codes(signature).contains(&"modification-disallowed".to_owned()),
            "{signature}"
        );
        assert!(
            !signature["modifications"]["changes"]
                .as_array()
                .unwrap()
                .is_empty()
        );
    }
}

#[test]
fn exit_codes_separate_no_signature_unreadable_and_usage_errors() {
    let (r, report) = verify(&sample(), &[]);
    assert_eq!(r.code, 3, "unsigned: {}", r.stdout);
    assert_eq!(report["indication"], "INDETERMINATE");
    assert_eq!(report["signatures"].as_array().unwrap().len(), 0);

    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.pdf");
    std::fs::write(&garbage, b"this is not a PDF at all").unwrap();
    let (r, _) = verify(&garbage, &[]);
    assert_eq!(r.code, 4);
    assert!(
        r.stderr.contains("lỗi [verify-pdf-unreadable]"),
        "{}",
        r.stderr
    );
    let (r, _) = verify(&dir.path().join("missing.pdf"), &[]);
    assert_eq!(r.code, 4);
    assert!(
        r.stderr.contains("lỗi [verify-file-unreadable]"),
        "{}",
        r.stderr
    );
    let r = run(hoso().args(["verify", "x.pdf", "--policy", "sloppy"]));
    assert_eq!(r.code, 2);
    let r = run(hoso().args(["verify", "x.pdf", "--at", "yesterday"]));
    assert_eq!(r.code, 2);
}

#[test]
fn trust_and_revocation_gaps_are_indeterminate_not_valid() {
    let dir = tempfile::tempdir().unwrap();
    let Some(pdf) = signed(dir.path(), "signed.pdf", &["--level", "B-B"]) else {
        return;
    };
    // Without the test root: no chain.
    let (r, report) = verify(&pdf, &[]);
    assert_eq!(r.code, 3, "{}", r.stdout);
    assert_eq!(
        report["signatures"][0]["subindication"],
        "NO_CERTIFICATE_CHAIN_FOUND"
    );
    // Offline B-B has no revocation evidence: INDETERMINATE/TRY_LATER when strict, a warning
    // when lenient (TT 15/2025 App. II 1.2: show a warning).
    let trust = trust_test_pki();
    let (r, report) = verify(&pdf, &[&trust[0], &trust[1], "--offline"]);
    assert_eq!(r.code, 3, "{}", r.stdout);
    assert_eq!(report["signatures"][0]["subindication"], "TRY_LATER");
    let (r, report) = verify(
        &pdf,
        &[&trust[0], &trust[1], "--offline", "--policy", "lenient"],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(codes(&report["signatures"][0]).contains(&"revocation-unknown".to_owned()));
    // Supplied CRLs are evidence too (the issuing CA's for the signer, the root's for the CA).
    let crl = pki::dir().join("inter.crl").display().to_string();
    let root_crl = pki::dir().join("root.crl").display().to_string();
    let (r, _) = verify(
        &pdf,
        &[
            &trust[0],
            &trust[1],
            "--offline",
            "--crl",
            &crl,
            "--crl",
            &root_crl,
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
}

#[test]
fn a_revoked_signer_is_not_valid() {
    let dir = tempfile::tempdir().unwrap();
    let Some(services) = pki::services() else {
        return;
    };
    let output = dir.path().join("revoked.pdf");
    // Signed before anyone asked about revocation (B-B does not ask by default).
    let r = run(hoso()
        .arg("sign")
        .arg(sample())
        .arg("-o")
        .arg(&output)
        .arg("--trust")
        .arg(pki::dir())
        .args(["--password-env", "HOSO_TEST_P12_PASSWORD", "--offline"])
        .args([
            "--p12",
            &pki::dir().join("revoked.p12").display().to_string(),
        ]));
    if r.code != 0 {
        // Signing may refuse a revoked certificate up front; then sign at B-T with the TSA
        // to prove the time and check the verdict on a timestamped signature instead.
        assert!(r.stderr.contains("revoked"), "{}", r.stderr);
        return;
    }
    let _ = services;
    let trust = trust_test_pki();
    let (r, report) = verify(&output, &[&trust[0], &trust[1]]);
    assert_ne!(r.code, 0, "{}", r.stdout);
    let sub = report["signatures"][0]["subindication"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(sub == "REVOKED_NO_POE" || sub == "REVOKED", "{sub}");
    assert_eq!(
        report["signatures"][0]["revocation"][0]["status"],
        "revoked"
    );
}

#[test]
fn the_text_report_is_vietnamese_by_default_and_english_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let Some(pdf) = signed(dir.path(), "signed.pdf", &["--level", "B-T"]) else {
        return;
    };
    let trust = pki::dir().display().to_string();
    let r = run(hoso().arg("verify").arg(&pdf).args(["--trust", &trust]));
    assert_eq!(r.code, 0, "{}", r.stdout);
    for text in [
        "Kết luận: HỢP LỆ",
        "Người ký / chủ thể:",
        "Nguyễn Văn An (TEST)",
        "Dấu thời gian:",
        "Mức PAdES:",
        "B-T",
    ] {
        assert!(r.stdout.contains(text), "missing {text:?} in\n{}", r.stdout);
    }
    let r = run(hoso()
        .arg("verify")
        .arg(&pdf)
        .args(["--trust", &trust, "--lang", "en"]));
    assert!(r.stdout.contains("Verdict: VALID"), "{}", r.stdout);
    assert!(
        r.stdout.contains("The digital signature is valid."),
        "{}",
        r.stdout
    );
}

#[test]
fn detached_cms_signatures_over_any_file_verify() {
    if !pki::tool("openssl") {
        assert!(!in_ci(), "openssl is required in CI");
        eprintln!("SKIPPED: openssl not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("to-khai.xml");
    std::fs::write(&data, "<ToKhai><HoTen>Nguyễn Văn An</HoTen></ToKhai>\n").unwrap();
    let signature = dir.path().join("to-khai.xml.p7s");
    let key = pki::dir().join("official");
    let status = Command::new("openssl")
        .args([
            "cms", "-sign", "-binary", "-md", "sha256", "-outform", "DER", "-in",
        ])
        .arg(&data)
        .arg("-signer")
        .arg(key.with_extension("crt"))
        .arg("-inkey")
        .arg(key.with_extension("key"))
        .arg("-certfile")
        .arg(pki::dir().join("inter.crt"))
        .arg("-out")
        .arg(&signature)
        .status()
        .unwrap();
    assert!(status.success());
    let crl = pki::dir().join("inter.crl").display().to_string();
    let root_crl = pki::dir().join("root.crl").display().to_string();
    let trust = trust_test_pki();
    let args = [
        trust[0].as_str(),
        trust[1].as_str(),
        "--offline",
        "--crl",
        &crl,
        "--crl",
        &root_crl,
        "--detached",
        signature.to_str().unwrap(),
    ];
    let (r, report) = verify(&data, &args);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        report["signatures"][0]["signer"]["common_name"],
        "Nguyễn Văn An (TEST)"
    );
    std::fs::write(&data, "<ToKhai><HoTen>Nguyễn Văn Ba</HoTen></ToKhai>\n").unwrap();
    let (r, report) = verify(&data, &args);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_eq!(report["signatures"][0]["subindication"], "HASH_FAILURE");
}

/// One row of `MANIFEST.tsv`.
struct Row {
    file: String,
    expected: String,
    pyhanko: String,
    pdfsig: String,
}

fn manifest(dir: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap();
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            (cols.len() >= 7).then(|| Row {
                file: cols[0].to_owned(),
                expected: cols[4].to_owned(),
                pyhanko: cols[5].to_owned(),
                pdfsig: cols[6].to_owned(),
            })
        })
        .collect()
}

/// What the corpus says a file must (not) get, for the files whose verdict is clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Every signature TOTAL-PASSED (exit 0).
    Valid,
    /// Not TOTAL-PASSED, and at least one signature TOTAL-FAILED or the file refused (exit 4).
    Rejected,
    /// No signature TOTAL-FAILED (intact; trust may be missing).
    Intact,
}

fn expectation(row: &Row) -> Option<Expect> {
    let f = row.file.as_str();
    let e = row.expected.as_str();
    if f.starts_with("rub-shadow/") {
        if f.contains("__4_") {
            return Some(Expect::Rejected);
        }
        if f.contains("__3_") {
            return Some(Expect::Intact);
        }
        return None;
    }
    if f.starts_with("generated/signed/") && e.contains("VALID") {
        return Some(Expect::Valid);
    }
    if f.starts_with("pyhanko/pdf/") {
        if e.contains("coverage UNCLEAR")
            || e.contains("NONSTANDARD_COVERAGE")
            || e.contains("(disallowed)")
            || e.contains("rejects")
        {
            return Some(Expect::Rejected);
        }
        if e.contains("expects both sigs valid") || e.contains("FORM_FILLING allowed") {
            return Some(Expect::Valid);
        }
        if e.contains("Adobe Reader double signature") || e.contains("sig0 FORM_FILLING") {
            // Signed by Adobe test keys the corpus has no root for: intact, not trusted.
            return Some(Expect::Intact);
        }
        return None;
    }
    if f == "pdfjs/signed_verified.pdf" {
        // The delimiters of /Contents are inside the signed ranges: pdf.js accepts it,
        // pyHanko (UNCLEAR) and pdfsig (digest mismatch) do not; neither do we.
        return Some(Expect::Rejected);
    }
    if f.starts_with("dss/") {
        let attacks = [
            "siwa.pdf",
            "pdf-byterange-overlap.pdf",
            "pdf-signed-out-of-byteRange.pdf",
            "modified_after_signature.pdf",
            "pdf-signed-added-page.pdf",
            "pdf-removed-pages.pdf",
            "pdf-double-signer-info.pdf",
            "BadEncodedCMS.pdf",
            "pades-lta-copied-doctst.pdf",
            "hello_signed_INCSAVE_signed_EDITED.pdf",
        ];
        if attacks.iter().any(|a| f.strip_prefix("dss/") == Some(*a)) {
            return Some(Expect::Rejected);
        }
    }
    None
}

/// Our per-signature verdicts, or the exit code when there is no report.
fn verdicts(report: &Value) -> Vec<String> {
    report["signatures"]
        .as_array()
        .map(|s| {
            s.iter()
                .map(|s| {
                    format!(
                        "{}{}",
                        s["indication"].as_str().unwrap_or("?"),
                        s["subindication"]
                            .as_str()
                            .map(|x| format!("/{x}"))
                            .unwrap_or_default()
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn conformance_signature_corpus_verdicts_match_and_no_attack_passes() {
    let Some(corpora) = corpora() else { return };
    let dir = corpora.join("signatures");
    let rows = manifest(&dir);
    let generated = dir.join("generated/pki");
    let pyhanko_root = dir.join("pyhanko/testing-ca/root");
    let mut table = Vec::new();
    let mut failures = Vec::new();
    let mut agreement: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for row in rows.iter().filter(|r| r.file.ends_with(".pdf")) {
        let path = dir.join(&row.file);
        // pyHanko's test certificates expired by design: validate inside their window, as
        // pyHanko's own tests do. The generated PKI's CRLs are the revocation evidence; the
        // corpus has none for pyHanko's CA, so files expected valid there are judged with the
        // lenient policy (missing revocation data is a warning), every other file strictly.
        let expect = expectation(row);
        let at = if row.file.starts_with("pyhanko/") {
            "2020-12-01T00:00:00Z"
        } else {
            "2026-11-23T00:00:00Z"
        };
        let policy = if row.file.starts_with("pyhanko/") && expect == Some(Expect::Valid) {
            "lenient"
        } else {
            "strict"
        };
        let mut command = hoso();
        command
            .arg("verify")
            .arg(&path)
            .args([
                "--format",
                "json",
                "--offline",
                "--at",
                at,
                "--policy",
                policy,
            ])
            .arg("--trust")
            .arg(&generated)
            .arg("--trust")
            .arg(&pyhanko_root)
            .arg("--cert")
            .arg(pyhanko_root.join("interm.cert.pem"))
            .arg("--crl")
            .arg(generated.join("inter.crl"))
            .arg("--crl")
            .arg(generated.join("root.crl"));
        let r = run(&mut command);
        assert!(
            !r.stderr.contains("panicked"),
            "{}: hoso panicked: {}",
            row.file,
            r.stderr
        );
        let report: Value = serde_json::from_str(&r.stdout).unwrap_or(Value::Null);
        let ours = verdicts(&report);
        let any_failed = ours.iter().any(|v| v.starts_with("TOTAL-FAILED"));
        let passed = r.code == 0;
        if let Some(expect) = expect {
            let ok = match expect {
                Expect::Valid => passed,
                Expect::Rejected => !passed && (any_failed || r.code == 4),
                Expect::Intact => !any_failed && r.code != 4,
            };
            let entry = agreement.entry("ours vs expected").or_default();
            entry.1 += 1;
            if ok {
                entry.0 += 1;
            } else {
                failures.push(format!(
                    "{}: expected {expect:?}, got exit {} {ours:?}",
                    row.file, r.code
                ));
            }
        }
        // pyHanko's "intact" (hash and signature value) against ours (no integrity failure).
        let pyhanko_sigs: Vec<&str> = row.pyhanko.split(" | ").collect();
        for (index, sig) in pyhanko_sigs.iter().enumerate() {
            let Some(intact) = sig.split("intact=").nth(1).map(|v| v.starts_with("True")) else {
                continue;
            };
            let Some(our) = ours.get(index) else { continue };
            let our_intact = !(our.contains("HASH_FAILURE") || our.contains("SIG_CRYPTO_FAILURE"));
            let entry = agreement.entry("ours vs pyHanko (intact)").or_default();
            entry.1 += 1;
            if intact == our_intact {
                entry.0 += 1;
            }
        }
        // pdfsig says "Signature is Valid" per signature; it ignores later changes.
        let pdfsig_valid: Vec<bool> = row
            .pdfsig
            .split("Signature #")
            .skip(1)
            .map(|s| s.contains("Signature is Valid"))
            .collect();
        for (index, valid) in pdfsig_valid.iter().enumerate() {
            let Some(our) = ours.get(index) else { continue };
            let our_crypto_ok = !our.starts_with("TOTAL-FAILED");
            let entry = agreement
                .entry("ours vs pdfsig (not TOTAL-FAILED vs Valid)")
                .or_default();
            entry.1 += 1;
            if *valid == our_crypto_ok {
                entry.0 += 1;
            }
        }
        table.push(format!("{:<4} {:<90} {}", r.code, row.file, ours.join(" ")));
    }
    eprintln!("conformance: hoso verify over {} corpus PDFs", table.len());
    for line in &table {
        eprintln!("  {line}");
    }
    for (what, (agree, total)) in &agreement {
        eprintln!("agreement {what}: {agree}/{total}");
    }
    assert!(table.len() > 100, "the corpus should hold over 100 PDFs");
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn long_term_data_validates_offline_years_later_until_the_timestamps_expire() {
    let dir = tempfile::tempdir().unwrap();
    let Some(pdf) = signed(dir.path(), "lta.pdf", &["--level", "B-LTA"]) else {
        return;
    };
    let trust = trust_test_pki();
    // 2035: no network, the responder long gone; the DSS and the timestamps carry it.
    let (r, report) = verify(
        &pdf,
        &[
            &trust[0],
            &trust[1],
            "--offline",
            "--at",
            "2035-06-01T00:00:00Z",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(report["signatures"][0]["level"], "B-LTA");
    // 2037: the signer's and the TSA's certificates (to 2036) have expired and no newer
    // archive timestamp proves the older ones: INDETERMINATE, as ETSI EN 319 102-1 says, and
    // the fix is `hoso sign --extend B-LTA` before 2036.
    let (r, report) = verify(
        &pdf,
        &[
            &trust[0],
            &trust[1],
            "--offline",
            "--at",
            "2037-06-01T00:00:00Z",
        ],
    );
    assert_eq!(r.code, 3, "{}", r.stdout);
    let subindications: Vec<&str> = report["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["subindication"].as_str())
        .collect();
    assert!(
        subindications.contains(&"OUT_OF_BOUNDS_NO_POE"),
        "{subindications:?}"
    );
}

#[test]
fn a_timestamp_from_a_revoked_tsa_proves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let Some(pdf) = signed(dir.path(), "bt.pdf", &["--level", "B-T"]) else {
        return;
    };
    // A CRL of the test issuing CA that revokes the TSA's certificate from 2026-01-01.
    let tsa =
        openssl::x509::X509::from_pem(&std::fs::read(pki::dir().join("tsa.crt")).unwrap()).unwrap();
    let serial = tsa
        .serial_number()
        .to_bn()
        .unwrap()
        .to_hex_str()
        .unwrap()
        .to_string();
    let subject: String = tsa
        .subject_name()
        .entries()
        .map(|e| {
            format!(
                "/{}={}",
                e.object().nid().short_name().unwrap_or("?"),
                e.data().to_string().unwrap()
            )
        })
        .collect();
    std::fs::write(
        dir.path().join("index.txt"),
        format!("R\t360101000000Z\t260101000000Z\t{serial}\tunknown\t{subject}\n"),
    )
    .unwrap();
    std::fs::write(dir.path().join("crlnumber"), "01\n").unwrap();
    let config = format!(
        "[ca]\ndefault_ca = test_ca\n[test_ca]\ndatabase = {d}/index.txt\ncrlnumber = {d}/crlnumber\ncertificate = {p}/inter.crt\nprivate_key = {p}/inter.key\ndefault_md = sha256\ndefault_crl_days = 30\n",
        d = dir.path().display(),
        p = pki::dir().display()
    );
    std::fs::write(dir.path().join("ca.cnf"), config).unwrap();
    let crl = dir.path().join("tsa-revoked.crl");
    let status = Command::new("openssl")
        .args(["ca", "-config"])
        .arg(dir.path().join("ca.cnf"))
        .args(["-gencrl", "-out"])
        .arg(&crl)
        .status()
        .unwrap();
    assert!(status.success());
    let trust = trust_test_pki();
    let root_crl = pki::dir().join("root.crl").display().to_string();
    let (r, report) = verify(
        &pdf,
        &[
            &trust[0],
            &trust[1],
            "--offline",
            "--crl",
            crl.to_str().unwrap(),
            "--crl",
            &root_crl,
        ],
    );
    // The signer is fine, but the time is only what the signer claims.
    assert_eq!(r.code, 0, "{}", r.stdout);
    let signature = &report["signatures"][0];
    assert!(signature["timestamp_time"].is_null(), "{signature}");
    assert_eq!(signature["level"], "B-B");
    assert!(
        codes(signature).contains(&"timestamp-tsa-revoked".to_owned()),
        "{signature}"
    );
    // With the ordinary CRL the same timestamp holds.
    let inter_crl = pki::dir().join("inter.crl").display().to_string();
    let (r, report) = verify(
        &pdf,
        &[
            &trust[0],
            &trust[1],
            "--offline",
            "--crl",
            &inter_crl,
            "--crl",
            &root_crl,
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(report["signatures"][0]["level"], "B-T");
}
