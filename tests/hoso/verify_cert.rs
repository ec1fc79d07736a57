//! `hoso verify-cert` (issue #5): a certificate checked on its own. The test PKI end to end
//! (exit codes, JSON fields, both languages, bad input, bundles, online OCSP and CRL), and
//! the conformance runs over NIST PKITS and OpenSSL's OCSP vectors through the library,
//! with their agreement tables.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use hoso::trust::TrustStore;
use hoso::verify::certificate::{self, CertOptions, CertReport, PolicyParameters};
use hoso::verify::status::EvidencePool;
use hoso::verify::{Indication, Policy, SubIndication};
use serde_json::Value;
use time::OffsetDateTime;

use crate::helpers::{Run, corpora, hoso, run};
use crate::pki;

/// A time inside the test PKI's validity, after its CRLs' thisUpdate (2026-06-01).
const AT: &str = "2026-11-23T00:00:00Z";

fn pki_file(name: &str) -> String {
    pki::dir().join(name).display().to_string()
}

/// `hoso --trust TRUST verify-cert CERT --format json ARGS`, with `--at AT` unless ARGS give
/// a time.
fn verify_cert(trust: &Path, cert: &str, args: &[&str]) -> (Run, Value) {
    let at: &[&str] = if args.contains(&"--at") {
        &[]
    } else {
        &["--at", AT]
    };
    let r = run(hoso()
        .arg("--trust")
        .arg(trust)
        .arg("verify-cert")
        .arg(cert)
        .args(at)
        .args(["--format", "json"])
        .args(args));
    let json = serde_json::from_str(&r.stdout).unwrap_or(Value::Null);
    (r, json)
}

fn codes(report: &Value) -> Vec<String> {
    report["messages"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|m| m["code"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn offline_crls() -> Vec<String> {
    vec![
        "--crl".to_owned(),
        pki_file("inter.crl"),
        "--crl".to_owned(),
        pki_file("root.crl"),
        "--offline".to_owned(),
    ]
}

/// A trust folder holding only the test root (certs/test-pki itself holds every test
/// certificate, so trusting it trusts the self-signed one too).
fn root_only() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(pki::dir().join("root.crt"), dir.path().join("root.crt")).unwrap();
    dir
}

#[test]
fn verify_cert_test_pki_verdicts_exit_codes_and_json_fields() {
    let crls = offline_crls();
    let crls: Vec<&str> = crls.iter().map(String::as_str).collect();
    let trust = pki::dir();
    // (certificate, exit code, indication, sub-indication, message code, chain length)
    let cases = [
        (
            "official.crt",
            0,
            "TOTAL-PASSED",
            Value::Null,
            "cert-valid",
            3,
        ),
        (
            "official-ec.crt",
            0,
            "TOTAL-PASSED",
            Value::Null,
            "cert-valid",
            3,
        ),
        ("inter.crt", 0, "TOTAL-PASSED", Value::Null, "cert-valid", 2),
        (
            "root.crt",
            0,
            "TOTAL-PASSED",
            Value::Null,
            "cert-trust-anchor",
            1,
        ),
        (
            "expired.crt",
            3,
            "INDETERMINATE",
            "OUT_OF_BOUNDS_NO_POE".into(),
            "cert-expired",
            3,
        ),
        (
            "not-yet-valid.crt",
            3,
            "INDETERMINATE",
            "OUT_OF_BOUNDS_NO_POE".into(),
            "cert-not-yet-valid",
            3,
        ),
        (
            "revoked.crt",
            1,
            "TOTAL-FAILED",
            "REVOKED".into(),
            "cert-revoked",
            3,
        ),
    ];
    for (name, exit, indication, sub, code, chain) in cases {
        let (r, report) = verify_cert(&trust, &pki_file(name), &crls);
        assert_eq!(r.code, exit, "{name}: {}\n{}", r.stdout, r.stderr);
        for field in [
            "indication",
            "subindication",
            "certificate",
            "chain",
            "revocation",
            "messages",
        ] {
            assert!(
                report.get(field).is_some(),
                "{name}: no `{field}` in {report}"
            );
        }
        assert_eq!(report["indication"], indication, "{name}: {report}");
        assert_eq!(report["subindication"], sub, "{name}: {report}");
        assert!(
            codes(&report).contains(&code.to_owned()),
            "{name}: {report}"
        );
        assert_eq!(
            report["chain"].as_array().map(Vec::len),
            Some(chain),
            "{name}: {report}"
        );
        assert_eq!(report["validation_time"], AT);
        let message = &report["messages"][0];
        assert!(
            message["vi"].as_str().is_some_and(|t| !t.is_empty()),
            "{message}"
        );
        assert!(
            message["en"].as_str().is_some_and(|t| !t.is_empty()),
            "{message}"
        );
    }

    let (_, official) = verify_cert(&trust, &pki_file("official.crt"), &crls);
    let certificate = &official["certificate"];
    assert_eq!(certificate["common_name"], "Nguyễn Văn An (TEST)");
    assert_eq!(
        certificate["issuer"],
        "C=VN, O=hoso TEST ONLY, CN=hoso TEST Issuing CA"
    );
    assert_eq!(certificate["not_after"], "2036-01-01T00:00:00Z");
    assert_eq!(certificate["key"], "RSA-2048");
    assert_eq!(
        official["chain"][2],
        "C=VN, O=hoso TEST ONLY, CN=hoso TEST Root CA"
    );
    let revocation = official["revocation"].as_array().unwrap();
    assert_eq!(
        revocation.len(),
        2,
        "leaf and issuing CA, not the root: {official}"
    );
    for entry in revocation {
        assert_eq!(entry["status"], "good", "{official}");
        assert_eq!(entry["source"]["kind"], "CRL", "{official}");
        assert_eq!(entry["source"]["origin"], "supplied", "{official}");
    }

    let (_, revoked) = verify_cert(&trust, &pki_file("revoked.crt"), &crls);
    assert_eq!(revoked["revocation"][0]["status"], "revoked", "{revoked}");
    assert_eq!(
        revoked["revocation"][0]["revoked_at"], "2026-06-01T00:00:00Z",
        "{revoked}"
    );
    assert_eq!(revoked["revocation"][1]["status"], "good", "{revoked}");
}

#[test]
fn verify_cert_judges_validity_at_the_time_given() {
    let crls = offline_crls();
    let mut args: Vec<&str> = crls.iter().map(String::as_str).collect();
    args.extend(["--at", "2037-01-01T00:00:00Z"]);
    let (r, report) = verify_cert(&pki::dir(), &pki_file("official.crt"), &args);
    assert_eq!(r.code, 3, "{}", r.stdout);
    assert_eq!(report["subindication"], "OUT_OF_BOUNDS_NO_POE");
    assert!(
        codes(&report).contains(&"cert-expired".to_owned()),
        "{report}"
    );
    // The expired certificate was valid in 2020, but its CAs (from 2026) were not yet.
    let mut args: Vec<&str> = crls.iter().map(String::as_str).collect();
    args.extend(["--at", "2020-06-01T00:00:00Z"]);
    let (r, report) = verify_cert(&pki::dir(), &pki_file("expired.crt"), &args);
    assert_eq!(r.code, 3, "{}", r.stdout);
    assert!(
        codes(&report).contains(&"cert-not-yet-valid".to_owned()),
        "{report}"
    );
    let detail = report["messages"][0]["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("hoso TEST Root CA") && detail.contains("01/01/2026"),
        "{report}"
    );
}

#[test]
fn verify_cert_unknown_root_missing_intermediate_and_revocation_gaps() {
    let trust = root_only();
    let crls = offline_crls();
    let crls: Vec<&str> = crls.iter().map(String::as_str).collect();
    let (r, report) = verify_cert(trust.path(), &pki_file("self-signed.crt"), &crls);
    assert_eq!(r.code, 3, "{}", r.stdout);
    assert_eq!(report["indication"], "INDETERMINATE");
    assert_eq!(report["subindication"], "NO_CERTIFICATE_CHAIN_FOUND");
    assert!(
        codes(&report).contains(&"cert-chain-untrusted".to_owned()),
        "{report}"
    );

    // Offline, the issuing CA cannot be found without --cert.
    let (r, report) = verify_cert(trust.path(), &pki_file("official.crt"), &crls);
    assert_eq!(r.code, 3, "{}", r.stdout);
    assert_eq!(report["subindication"], "NO_CERTIFICATE_CHAIN_FOUND");
    let mut with_inter = crls.clone();
    let inter = pki_file("inter.crt");
    with_inter.extend(["--cert", &inter]);
    let (r, report) = verify_cert(trust.path(), &pki_file("official.crt"), &with_inter);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(report["chain"].as_array().map(Vec::len), Some(3));

    // No revocation data: INDETERMINATE/TRY_LATER under strict, a warning under lenient.
    let args = ["--offline", "--cert", &inter];
    let (r, report) = verify_cert(trust.path(), &pki_file("official.crt"), &args);
    assert_eq!(r.code, 3, "{}", r.stdout);
    assert_eq!(report["subindication"], "TRY_LATER");
    assert_eq!(report["revocation"][0]["status"], "unknown");
    assert!(
        report["revocation"][0]["reasons"][0]
            .as_str()
            .unwrap_or_default()
            .contains("offline"),
        "{report}"
    );
    let lenient = ["--offline", "--cert", &inter, "--policy", "lenient"];
    let (r, report) = verify_cert(trust.path(), &pki_file("official.crt"), &lenient);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(report["indication"], "TOTAL-PASSED");
    let messages = report["messages"].as_array().unwrap();
    assert!(
        messages
            .iter()
            .any(|m| m["code"] == "cert-revocation-unknown" && m["severity"] == "warning"),
        "{report}"
    );
    assert!(
        codes(&report).contains(&"cert-valid-revocation-unchecked".to_owned()),
        "{report}"
    );
    assert!(
        !codes(&report).contains(&"cert-valid".to_owned()),
        "{report}"
    );
}

#[test]
fn verify_cert_a_forged_certificate_signature_is_total_failed() {
    let dir = tempfile::tempdir().unwrap();
    let pem = std::fs::read(pki::dir().join("official.crt")).unwrap();
    let mut der = openssl::x509::X509::from_pem(&pem)
        .unwrap()
        .to_der()
        .unwrap();
    let last = der.len() - 1;
    der[last] ^= 0x01;
    let forged = dir.path().join("forged.der");
    std::fs::write(&forged, &der).unwrap();
    let crls = offline_crls();
    let crls: Vec<&str> = crls.iter().map(String::as_str).collect();
    let (r, report) = verify_cert(&pki::dir(), &forged.display().to_string(), &crls);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_eq!(report["indication"], "TOTAL-FAILED");
    assert_eq!(report["subindication"], "SIG_CRYPTO_FAILURE");
    assert!(
        codes(&report).contains(&"cert-signature-invalid".to_owned()),
        "{report}"
    );
}

#[test]
fn verify_cert_reads_bundles_and_writes_both_languages() {
    let trust = root_only();
    let crls = offline_crls();
    let crls: Vec<&str> = crls.iter().map(String::as_str).collect();
    // A PEM file with the chain first and the end-entity certificate last.
    let dir = tempfile::tempdir().unwrap();
    let mut bundle = std::fs::read(pki::dir().join("chain.pem")).unwrap();
    bundle.extend(std::fs::read(pki::dir().join("official.crt")).unwrap());
    let pem = dir.path().join("bundle.pem");
    std::fs::write(&pem, &bundle).unwrap();
    let mut inputs = vec![pem];
    if pki::tool("openssl") {
        for (form, name) in [("DER", "bundle.p7b"), ("PEM", "bundle-pem.p7b")] {
            let out = dir.path().join(name);
            let status = Command::new("openssl")
                .args(["crl2pkcs7", "-nocrl", "-outform", form, "-certfile"])
                .arg(pki::dir().join("chain.pem"))
                .arg("-certfile")
                .arg(pki::dir().join("official.crt"))
                .arg("-out")
                .arg(&out)
                .status()
                .unwrap();
            assert!(status.success());
            inputs.push(out);
        }
    }
    for input in &inputs {
        let (r, report) = verify_cert(trust.path(), &input.display().to_string(), &crls);
        assert_eq!(r.code, 0, "{}: {}\n{}", input.display(), r.stdout, r.stderr);
        assert_eq!(
            report["certificate"]["common_name"], "Nguyễn Văn An (TEST)",
            "{report}"
        );
        assert_eq!(
            report["chain"].as_array().map(Vec::len),
            Some(3),
            "{report}"
        );
    }

    let text = |args: &[&str]| {
        run(hoso()
            .arg("--trust")
            .arg(pki::dir())
            .args(["verify-cert", &pki_file("revoked.crt"), "--at", AT])
            .args(&crls)
            .args(args))
    };
    let vi = text(&[]);
    assert_eq!(vi.code, 1, "{}", vi.stderr);
    assert!(
        vi.stdout.contains("Kết luận:")
            && vi.stdout.contains("KHÔNG HỢP LỆ (TOTAL-FAILED / REVOKED)"),
        "{}",
        vi.stdout
    );
    assert!(
        vi.stdout.contains("Chứng thư số đã bị thu hồi."),
        "{}",
        vi.stdout
    );
    assert!(
        vi.stdout.contains("Phạm Thị Dung (TEST revoked)"),
        "{}",
        vi.stdout
    );
    let en = text(&["--lang", "en"]);
    assert_eq!(en.code, 1);
    assert!(
        en.stdout.contains("Verdict:") && en.stdout.contains("NOT VALID (TOTAL-FAILED / REVOKED)"),
        "{}",
        en.stdout
    );
    assert!(
        en.stdout.contains("The certificate has been revoked."),
        "{}",
        en.stdout
    );
}

#[test]
fn verify_cert_bad_input_is_exit_4_with_a_vietnamese_error_and_bad_flags_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "Đây không phải chứng thư số.\n").unwrap();
    let trust = pki::dir();
    let (r, _) = verify_cert(&trust, &text.display().to_string(), &["--offline"]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert!(
        r.stderr.contains("lỗi [cert-not-a-certificate]"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("không phải chứng thư số X.509"),
        "{}",
        r.stderr
    );

    let missing = dir.path().join("missing.crt").display().to_string();
    let (r, _) = verify_cert(&trust, &missing, &["--offline"]);
    assert_eq!(r.code, 4);
    assert!(
        r.stderr
            .contains("lỗi [cert-file-unreadable]: Không đọc được tệp"),
        "{}",
        r.stderr
    );

    // A certificate given as a CRL, text given as an OCSP response.
    let official = pki_file("official.crt");
    let (r, _) = verify_cert(&trust, &official, &["--offline", "--crl", &official]);
    assert_eq!(r.code, 4);
    assert!(r.stderr.contains("lỗi [cert-not-a-crl]"), "{}", r.stderr);
    let notes = text.display().to_string();
    let (r, _) = verify_cert(&trust, &official, &["--offline", "--ocsp-response", &notes]);
    assert_eq!(r.code, 4);
    assert!(
        r.stderr.contains("lỗi [cert-not-an-ocsp-response]: Tệp"),
        "{}",
        r.stderr
    );

    for bad in [
        &["--at", "yesterday"][..],
        &["--initial-policy", "not-an-oid"],
        &["--policy", "loose"],
    ] {
        let (r, _) = verify_cert(&trust, &official, bad);
        assert_eq!(r.code, 2, "{bad:?}: {}", r.stderr);
    }
}

#[test]
fn verify_cert_online_uses_ocsp_for_end_entities_and_the_crl_for_the_issuing_ca() {
    let Some(_services) = pki::services() else {
        return;
    };
    let trust = pki::dir();
    let now = OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let online = |name: &str| {
        let r = run(hoso().arg("--trust").arg(&trust).args([
            "verify-cert",
            &pki_file(name),
            "--format",
            "json",
            "--at",
            &now,
        ]));
        let json: Value = serde_json::from_str(&r.stdout).unwrap_or(Value::Null);
        (r, json)
    };
    let (r, report) = online("official.crt");
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        report["revocation"][0]["source"]["kind"], "OCSP",
        "{report}"
    );
    assert_eq!(
        report["revocation"][0]["source"]["origin"], "online",
        "{report}"
    );
    // The issuing CA has no OCSP responder, only a CRL distribution point.
    assert_eq!(report["revocation"][1]["source"]["kind"], "CRL", "{report}");
    assert_eq!(
        report["revocation"][1]["source"]["origin"], "online",
        "{report}"
    );
    let (r, report) = online("revoked.crt");
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(report["subindication"], "REVOKED");
    assert_eq!(
        report["revocation"][0]["source"]["kind"], "OCSP",
        "{report}"
    );
    // Missing issuers come from AIA caIssuers when online.
    let root = root_only();
    let r = run(hoso().arg("--trust").arg(root.path()).args([
        "verify-cert",
        &pki_file("official.crt"),
        "--format",
        "json",
        "--at",
        &now,
    ]));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
}

// ------------------------------------------------------------------------------------------
// Conformance: NIST PKITS and OpenSSL's OCSP vectors, through the library
// ------------------------------------------------------------------------------------------

/// PKITS cases where OpenSSL (whose path validation hoso uses) is known to differ from the
/// expected verdict, with the reason. The run fails if one of them starts agreeing, so the
/// list stays exact.
const PKITS_KNOWN_GAPS: &[(&str, &str)] = &[
    (
        "valid_dsa_parameter_inheritance_test5",
        "OpenSSL does not implement DSA parameter inheritance (RFC 3279 §2.3.2): it cannot read \
         the key of a certificate whose DSA parameters come from its issuer, so no path is built",
    ),
    ("valid_idp_with_indirectcrl_test24", INDIRECT_CRL),
    ("valid_idp_with_indirectcrl_test25", INDIRECT_CRL),
    ("valid_crlissuer_test28", INDIRECT_CRL),
    ("valid_crlissuer_test29", INDIRECT_CRL),
    (
        "valid_crlissuer_test30",
        "indirect CRL whose issuer's own revocation is covered by a CRL of the indirect CRL \
         issuer: OpenSSL fails it as well (`openssl verify -crl_check_all -extended_crl` with \
         -CRLfile says \"CRL path validation error\"), and it is also an indirect CRL (see above)",
    ),
    ("valid_crlissuer_test33", INDIRECT_CRL),
];

/// Why indirect CRLs are not found (the failure is INDETERMINATE/TRY_LATER, never a pass).
const INDIRECT_CRL: &str = "indirect CRL (RFC 5280 §5.2.5, issued by another CA than the \
    certificate's): the safe openssl API can only hand CRLs to OpenSSL through the X509_STORE, \
    and OpenSSL looks CRLs up in the store by the certificate issuer's name, so a CRL from \
    another issuer is never considered (`openssl verify -CRLfile` passes it through \
    X509_STORE_CTX_set0_crls, which the openssl crate does not expose)";

/// OCSP vectors where hoso's verdict is known to differ, with the reason.
const OCSP_KNOWN_GAPS: &[(&str, &str)] = &[(
    "delegated_with_intermediate_success",
    "the vector gives no OCSP response for the intermediate CA: pyHanko's default (soft-fail) \
     accepts a certificate without revocation data, hoso's strict policy requires a status for \
     every certificate below the anchor (INDETERMINATE/TRY_LATER); under --policy lenient it \
     passes with a warning, which this test checks",
)];

/// PKITS section titles (NIST PKITS 1.0.1, section 4.N).
const PKITS_SECTIONS: &[&str] = &[
    "",
    "signature verification",
    "validity periods",
    "verifying name chaining",
    "basic certificate revocation",
    "verifying paths with self-issued certificates",
    "verifying basic constraints",
    "key usage",
    "certificate policies",
    "require explicit policy",
    "policy mappings",
    "inhibit policy mapping",
    "inhibit any policy",
    "name constraints",
    "distribution points",
    "delta-CRLs",
    "private certificate extensions",
];

fn read_json(path: &Path) -> Vec<Value> {
    serde_json::from_slice::<Value>(&std::fs::read(path).unwrap())
        .unwrap()
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn trust_of(files: &[PathBuf]) -> (tempfile::TempDir, TrustStore) {
    let dir = tempfile::tempdir().unwrap();
    for file in files {
        let name = file
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace(".pem", ".crt");
        std::fs::copy(file, dir.path().join(name)).unwrap();
    }
    let store = TrustStore::load(&[dir.path().to_owned()]).unwrap();
    (dir, store)
}

#[derive(Default)]
struct Tally {
    cases: usize,
    agree: usize,
    disagree: usize,
    known: usize,
}

fn print_table<K: Ord>(title: &str, tally: &BTreeMap<K, Tally>, label: impl Fn(&K) -> String) {
    println!("\n{title}");
    println!("| section | cases | agree | disagree | of which known gaps |");
    println!("|---|---:|---:|---:|---:|");
    let mut total = Tally::default();
    for (section, t) in tally {
        let section = label(section);
        println!(
            "| {section} | {} | {} | {} | {} |",
            t.cases, t.agree, t.disagree, t.known
        );
        total.cases += t.cases;
        total.agree += t.agree;
        total.disagree += t.disagree;
        total.known += t.known;
    }
    println!(
        "| total | {} | {} | {} | {} |",
        total.cases, total.agree, total.disagree, total.known
    );
}

/// Whether a verdict on an expected failure is the kind the expectation names: a revocation
/// is TOTAL-FAILED/REVOKED, missing or stale revocation data INDETERMINATE/TRY_LATER.
fn same_kind(expected_class: &str, report: &CertReport) -> bool {
    match expected_class {
        "RevokedError" => {
            report.indication == Indication::TotalFailed
                && report.subindication == Some(SubIndication::Revoked)
        }
        "InsufficientRevinfoError" | "StaleRevinfoError" => {
            report.indication == Indication::Indeterminate
                && report.subindication == Some(SubIndication::TryLater)
        }
        _ => report.indication != Indication::TotalPassed,
    }
}

#[test]
fn verify_cert_conformance_nist_pkits() {
    let Some(corpora) = corpora() else {
        return;
    };
    let dir = corpora.join("signatures/pkits");
    let mut cases = read_json(&dir.join("pkits.json"));
    cases.extend(read_json(&dir.join("pkits-user-notice.json")));
    assert!(
        cases.len() >= 246,
        "pkits.json should hold the 246 PKITS cases"
    );
    let (_anchor_dir, trust) = trust_of(&[dir.join("certs/TrustAnchorRootCertificate.crt")]);
    let at = time::macros::datetime!(2022-05-01 0:00 UTC);
    let anchor_crl = std::fs::read(dir.join("crls/TrustAnchorRootCRL.crl")).unwrap();

    let mut tally: BTreeMap<(u32, String), Tally> = BTreeMap::new();
    let mut problems = Vec::new();
    let mut kinds = (0usize, 0usize);
    for case in &cases {
        let id = case["id"].as_str().unwrap_or_default();
        let name = case["name"].as_str().unwrap_or_default();
        let number = id
            .get(1..3)
            .and_then(|s| s.parse::<u32>().ok())
            .unwrap_or(0);
        let section = (
            number,
            format!(
                "4.{number} {}",
                PKITS_SECTIONS.get(number as usize).unwrap_or(&"")
            ),
        );
        let cert = std::fs::read(dir.join("certs").join(case["cert"].as_str().unwrap())).unwrap();
        let mut supplied = EvidencePool::default();
        for file in strings(&case["other_certs"])
            .into_iter()
            .chain(strings(&case["path_intermediates"]))
        {
            supplied
                .certificates
                .push(std::fs::read(dir.join("certs").join(file)).unwrap());
        }
        supplied.crls.push(anchor_crl.clone());
        for file in strings(&case["crls"]) {
            supplied
                .crls
                .push(std::fs::read(dir.join("crls").join(file)).unwrap());
        }
        let params = &case["params"];
        let policies = PolicyParameters {
            initial_policies: strings(&params["user_initial_policy_set"]),
            require_explicit_policy: params["initial_explicit_policy"].as_bool().unwrap_or(false),
            inhibit_policy_mapping: params["initial_policy_mapping_inhibit"]
                .as_bool()
                .unwrap_or(false),
            inhibit_any_policy: params["initial_any_policy_inhibit"]
                .as_bool()
                .unwrap_or(false),
        };
        let options = CertOptions {
            trust: &trust,
            at,
            offline: true,
            policy: Policy::Strict,
            supplied,
            policies,
        };
        let report = certificate::verify_certificate(&cert, name, &options)
            .unwrap_or_else(|e| panic!("{id} {name}: {e}"));
        let expected_error = case["error"]["class"].as_str();
        let expected_pass = expected_error.is_none();
        let ours_pass = report.indication == Indication::TotalPassed;
        let known = PKITS_KNOWN_GAPS.iter().any(|(gap, _)| *gap == name);
        let t = tally.entry(section).or_default();
        t.cases += 1;
        if expected_pass == ours_pass {
            t.agree += 1;
            if known {
                problems.push(format!("{id} {name}: listed as a known gap but agrees now"));
            }
        } else {
            t.disagree += 1;
            if known {
                t.known += 1;
            } else {
                problems.push(format!(
                    "{id} {name}: expected {}, got {} {:?}: {:?}",
                    expected_error.unwrap_or("pass"),
                    report.indication.as_str(),
                    report.subindication,
                    report
                        .messages
                        .iter()
                        .map(|m| format!("{} {:?}", m.code, m.detail))
                        .collect::<Vec<_>>()
                ));
            }
        }
        if ours_pass && expected_pass {
            let path_len = case["path_len"].as_u64().map(|n| n as usize);
            if path_len.is_some_and(|n| n != report.chain.len()) {
                problems.push(format!(
                    "{id} {name}: path of {} certificates, expected {path_len:?}",
                    report.chain.len()
                ));
            }
            // pyHanko's sanity check: the valid policies lie inside the user's set.
            let user = &options.policies.initial_policies;
            if !user.is_empty() && report.valid_policies.iter().any(|p| !user.contains(p)) {
                problems.push(format!(
                    "{id} {name}: valid policies {:?} outside {user:?}",
                    report.valid_policies
                ));
            }
        }
        if let Some(class) = expected_error
            && !ours_pass
        {
            kinds.0 += 1;
            if same_kind(class, &report) {
                kinds.1 += 1;
            } else if class != "PathValidationError" {
                println!(
                    "kind differs: {id} {name}: expected {class}, got {} {:?}",
                    report.indication.as_str(),
                    report.subindication
                );
            }
        }
    }
    print_table(
        &format!(
            "NIST PKITS at 2022-05-01, strict, offline ({} cases): verdict pass/fail",
            cases.len()
        ),
        &tally,
        |(_, name)| name.clone(),
    );
    println!(
        "failure kind (REVOKED for RevokedError, TRY_LATER for missing/stale revocation data): {} of {} expected failures",
        kinds.1, kinds.0
    );
    for (gap, reason) in PKITS_KNOWN_GAPS {
        println!("known gap {gap}: {reason}");
    }
    assert!(
        problems.is_empty(),
        "PKITS disagreements:\n{}",
        problems.join("\n")
    );
}

#[test]
fn verify_cert_conformance_openssl_ocsp_vectors() {
    let Some(corpora) = corpora() else {
        return;
    };
    let dir = corpora.join("signatures/openssl-ocsp");
    let cases = read_json(&dir.join("openssl-ocsp.json"));
    assert!(!cases.is_empty());
    let mut tally: BTreeMap<String, Tally> = BTreeMap::new();
    let mut problems = Vec::new();
    let mut kinds = (0usize, 0usize);
    for case in &cases {
        let name = case["name"].as_str().unwrap_or_default();
        let (_root_dir, trust) = trust_of(&[dir.join(case["root"].as_str().unwrap())]);
        let cert = std::fs::read(dir.join(case["cert"].as_str().unwrap())).unwrap();
        let mut supplied = EvidencePool::default();
        for file in strings(&case["other_certs"]) {
            supplied
                .certificates
                .push(std::fs::read(dir.join(file)).unwrap());
        }
        for file in strings(&case["ocsps"]) {
            supplied.ocsp.push(std::fs::read(dir.join(file)).unwrap());
        }
        let at = OffsetDateTime::parse(
            case["moment"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        let options = CertOptions {
            trust: &trust,
            at,
            offline: true,
            policy: Policy::Strict,
            supplied: supplied.clone(),
            policies: PolicyParameters::default(),
        };
        let report = certificate::verify_certificate(&cert, name, &options)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected_error = case["error"]["class"].as_str();
        let expected_pass = expected_error.is_none();
        let ours_pass = report.indication == Indication::TotalPassed;
        let section = if name.starts_with("delegated") {
            "delegated responder"
        } else {
            "issuer as responder"
        };
        let section = format!(
            "{section}, {}",
            if expected_pass { "valid" } else { "must fail" }
        );
        let known = OCSP_KNOWN_GAPS.iter().any(|(gap, _)| *gap == name);
        if known {
            let lenient = CertOptions {
                policy: Policy::Lenient,
                supplied: supplied.clone(),
                ..options
            };
            let report = certificate::verify_certificate(&cert, name, &lenient).unwrap();
            assert_eq!(
                report.indication,
                Indication::TotalPassed,
                "{name} under lenient"
            );
            assert!(
                report
                    .messages
                    .iter()
                    .any(|m| m.code == "cert-revocation-unknown"),
                "{name}"
            );
        }
        let t = tally.entry(section).or_default();
        t.cases += 1;
        if expected_pass == ours_pass {
            t.agree += 1;
            if known {
                problems.push(format!("{name}: listed as a known gap but agrees now"));
            }
        } else {
            t.disagree += 1;
            if known {
                t.known += 1;
            } else {
                problems.push(format!(
                    "{name}: expected {}, got {} {:?}: {:?}",
                    expected_error.unwrap_or("pass"),
                    report.indication.as_str(),
                    report.subindication,
                    report
                        .messages
                        .iter()
                        .map(|m| format!("{} {:?}", m.code, m.detail))
                        .collect::<Vec<_>>()
                ));
            }
        }
        if ours_pass {
            assert_eq!(
                Some(report.chain.len() as u64),
                case["path_len"].as_u64(),
                "{name}"
            );
            assert!(
                report.revocation.iter().all(|r| r.status == "good"),
                "{name}"
            );
        }
        if let Some(class) = expected_error
            && !ours_pass
        {
            kinds.0 += 1;
            if same_kind(class, &report) {
                kinds.1 += 1;
            } else {
                println!(
                    "kind differs: {name}: expected {class}, got {} {:?}",
                    report.indication.as_str(),
                    report.subindication
                );
            }
        }
    }
    print_table(
        &format!(
            "OpenSSL OCSP vectors, strict, offline ({} cases): verdict pass/fail",
            cases.len()
        ),
        &tally,
        String::clone,
    );
    println!(
        "failure kind (TRY_LATER for unusable or stale responses): {} of {} expected failures",
        kinds.1, kinds.0
    );
    for (gap, reason) in OCSP_KNOWN_GAPS {
        println!("known gap {gap}: {reason}");
    }
    assert!(
        problems.is_empty(),
        "OCSP vector disagreements:\n{}",
        problems.join("\n")
    );
}
