//! `hoso sign` end to end: every PAdES level and key type, checked by independent validators
//! (pyHanko, poppler's pdfsig, qpdf), the Decree 30 appearances, PKCS#11 on SoftHSM2, and
//! every refusal path (nothing written, input untouched).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::helpers::in_ci;
use crate::pki;

fn hoso() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hoso"));
    command.current_dir(env!("CARGO_MANIFEST_DIR"));
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("HOSO_")) {
        command.env_remove(key);
    }
    command.env("HOSO_TEST_P12_PASSWORD", "test");
    command
}

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/cong-van.pdf")
}

fn root() -> PathBuf {
    pki::dir().join("root.crt")
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(command: &mut Command) -> Run {
    let output = command.output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `hoso sign INPUT -o OUTPUT --trust certs/test-pki --password-env … ARGS`.
fn sign(input: &Path, output: &Path, args: &[&str]) -> Run {
    run(hoso()
        .arg("sign")
        .arg(input)
        .arg("-o")
        .arg(output)
        .arg("--trust")
        .arg(pki::dir())
        .args(["--password-env", "HOSO_TEST_P12_PASSWORD"])
        .args(args))
}

fn p12(name: &str) -> String {
    pki::dir().join(format!("{name}.p12")).display().to_string()
}

/// pdfsig must call every signature valid; for B-B/B-T also "Total document signed".
fn assert_pdfsig_valid(pdf: &Path, expect_total: bool) {
    if !pki::nss_tools() {
        return;
    }
    let db = pki::nss_db_with(&root());
    let report = pki::pdfsig(pdf, db.path());
    let signatures = report.matches("Signature Validation:").count();
    let valid = report.matches("Signature is Valid").count();
    let regular = report
        .matches("Signature Type: ETSI.CAdES.detached")
        .count();
    assert!(regular >= 1, "pdfsig found no signature:\n{report}");
    // pdfsig cannot judge document timestamps ("unknown"); every CAdES signature must be valid.
    assert!(
        valid >= regular,
        "pdfsig: not every signature is valid:\n{report}"
    );
    assert!(signatures >= regular, "{report}");
    assert!(!report.contains("Digest Mismatch"), "{report}");
    if expect_total {
        assert!(report.contains("Total document signed"), "{report}");
    }
}

fn assert_qpdf_check(pdf: &Path) {
    if !pki::tool("qpdf") {
        return;
    }
    let out = Command::new("qpdf")
        .arg("--check")
        .arg(pdf)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "qpdf --check failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn assert_pyhanko_valid(pdf: &Path) {
    if pki::pyhanko().is_none() {
        return;
    }
    let (ok, report) = pki::pyhanko_validate(pdf, &root(), &[]);
    assert!(
        ok,
        "pyHanko does not call {} valid:\n{report}",
        pdf.display()
    );
    assert!(
        report.contains("judged VALID") && !report.contains("INVALID"),
        "{report}"
    );
    assert!(report.contains("cryptographically sound"), "{report}");
}

/// pyHanko, offline, revocation data required, from the DSS alone.
fn assert_pyhanko_offline_valid(pdf: &Path) {
    let Some(pyhanko) = pki::pyhanko() else {
        return;
    };
    let python = pyhanko.with_file_name("python");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/pyhanko_offline.py");
    let out = Command::new(python)
        .arg(script)
        .arg(pdf)
        .arg(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pyHanko offline LTV validation failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_level_and_key_type_validates_in_pyhanko_pdfsig_and_qpdf() {
    let Some(services) = pki::services() else {
        return;
    };
    let tsa = format!("{}/", services.tsa);
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read(sample()).unwrap();
    let cases: &[(&str, &str, &[&str])] = &[
        ("official", "B-B", &[]),
        ("official-ec", "B-B", &["--digest", "sha384"]),
        ("official", "B-T", &["--pss"]),
        ("official-ec", "B-T", &[]),
        ("official", "B-LT", &[]),
        ("official-ec", "B-LT", &["--digest", "sha512"]),
        ("official", "B-LTA", &[]),
        ("official-ec", "B-LTA", &[]),
    ];
    for (key, level, extra) in cases {
        let out = dir.path().join(format!("{key}-{level}.pdf"));
        let mut args = vec!["--p12", &p12(key), "--level", level, "--format", "json"]
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>();
        if *level != "B-B" {
            args.extend(["--tsa".to_owned(), tsa.clone()]);
        }
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let result = sign(&sample(), &out, &args);
        assert_eq!(result.code, 0, "{key} {level}: {}", result.stderr);
        let report: serde_json::Value = serde_json::from_str(&result.stdout).unwrap();
        assert_eq!(report["level"], *level);
        let signed = std::fs::read(&out).unwrap();
        assert!(
            signed.starts_with(&original),
            "{key} {level}: the original bytes must stay at the start"
        );
        // The placeholder is sized from the real signature, not a fixed guess.
        let reserved = report["reserved"].as_u64().unwrap();
        let used = report["used"].as_u64().unwrap();
        assert!(
            used <= reserved && reserved - used <= 200,
            "{reserved} vs {used}"
        );
        assert_pyhanko_valid(&out);
        assert_pdfsig_valid(&out, matches!(*level, "B-B" | "B-T"));
        assert_qpdf_check(&out);
        if matches!(*level, "B-LT" | "B-LTA") {
            assert_pyhanko_offline_valid(&out);
        }
    }
}

#[test]
fn a_second_signature_keeps_the_first_valid_and_extend_adds_an_archive_timestamp() {
    let Some(services) = pki::services() else {
        return;
    };
    let tsa = format!("{}/", services.tsa);
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.pdf");
    let second = dir.path().join("second.pdf");
    let r = sign(
        &sample(),
        &first,
        &["--p12", &p12("official"), "--tsa", &tsa],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = sign(
        &first,
        &second,
        &[
            "--p12",
            &p12("organization"),
            "--tsa",
            &tsa,
            "--level",
            "B-LT",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        std::fs::read(&second)
            .unwrap()
            .starts_with(&std::fs::read(&first).unwrap())
    );
    assert_pyhanko_valid(&second);
    assert_pdfsig_valid(&second, false);

    // --extend B-LTA in place: validation data for both, then a document timestamp.
    let before = std::fs::read(&second).unwrap();
    let r = run(hoso()
        .args(["sign", "--extend", "B-LTA", "--tsa", &tsa, "--trust"])
        .arg(pki::dir())
        .arg(&second));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let after = std::fs::read(&second).unwrap();
    assert!(after.starts_with(&before) && after.len() > before.len());
    assert_pyhanko_valid(&second);
    assert_pyhanko_offline_valid(&second);
    assert_qpdf_check(&second);
}

#[test]
fn certification_levels_are_written_and_p1_refuses_further_signatures() {
    let dir = tempfile::tempdir().unwrap();
    let certified = dir.path().join("certified.pdf");
    let r = sign(
        &sample(),
        &certified,
        &["--p12", &p12("official"), "--certify", "1"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    if pki::pyhanko().is_some() {
        let (ok, report) = pki::pyhanko_validate(&certified, &root(), &["--no-revocation-check"]);
        assert!(ok, "{report}");
        assert!(report.to_lowercase().contains("certif"), "{report}");
    }
    let refused = dir.path().join("refused.pdf");
    let r = sign(&certified, &refused, &["--p12", &p12("organization")]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("document-certified-no-changes"),
        "{}",
        r.stderr
    );
    assert!(!refused.exists());
    // A certification signature must come first.
    let approval = dir.path().join("approval.pdf");
    assert_eq!(
        sign(&sample(), &approval, &["--p12", &p12("official")]).code,
        0
    );
    let r = sign(
        &approval,
        &dir.path().join("late.pdf"),
        &["--p12", &p12("organization"), "--certify", "2"],
    );
    assert!(r.stderr.contains("certification-not-first"), "{}", r.stderr);
}

/// Refusals: clear code, exit 1, no output file, input byte-identical.
#[test]
fn bad_keys_certificates_and_inputs_are_refused_without_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.pdf");
    std::fs::copy(sample(), &input).unwrap();
    let original = std::fs::read(&input).unwrap();
    let only_root = tempfile::tempdir().unwrap();
    std::fs::copy(root(), only_root.path().join("root.crt")).unwrap();
    let not_png = dir.path().join("sig.jpg");
    std::fs::write(&not_png, b"\xff\xd8\xff\xe0 not a png").unwrap();
    let encrypted = dir.path().join("encrypted.pdf");
    let corrupt = dir.path().join("corrupt.pdf");
    std::fs::write(&corrupt, &original[..original.len() / 2]).unwrap();

    let mut cases: Vec<(&str, Vec<String>, &str)> = vec![
        (
            "expired",
            vec!["--p12".into(), p12("expired")],
            "certificate-expired",
        ),
        (
            "not yet valid",
            vec!["--p12".into(), p12("not-yet-valid")],
            "certificate-not-yet-valid",
        ),
        (
            "key usage",
            vec!["--p12".into(), p12("wrong-key-usage")],
            "certificate-key-usage",
        ),
        (
            "untrusted",
            vec!["--p12".into(), p12("self-signed")],
            "certificate-untrusted",
        ),
        (
            "wrong password",
            vec!["--p12".into(), p12("official")],
            "signing-key-wrong-password",
        ),
        (
            "TSA down",
            vec![
                "--p12".into(),
                p12("official"),
                "--tsa".into(),
                "http://127.0.0.1:9/".into(),
            ],
            "tsa-failed",
        ),
        (
            "image not PNG",
            vec![
                "--p12".into(),
                p12("official"),
                "--appearance".into(),
                "official".into(),
                "--image".into(),
                not_png.display().to_string(),
                "--rect".into(),
                "300,200,450,280".into(),
            ],
            "appearance-image-not-png",
        ),
        (
            "anchor not found",
            vec![
                "--p12".into(),
                p12("official"),
                "--appearance".into(),
                "official".into(),
                "--image".into(),
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("samples/chu-ky.png")
                    .display()
                    .to_string(),
                "--anchor".into(),
                "KHÔNG CÓ DÒNG NÀY".into(),
            ],
            "appearance-anchor-not-found",
        ),
    ];
    if pki::tool("qpdf") {
        let status = Command::new("qpdf")
            .args(["--encrypt", "u", "o", "256", "--"])
            .arg(&input)
            .arg(&encrypted)
            .status()
            .unwrap();
        assert!(status.success());
        cases.push((
            "encrypted",
            vec!["--p12".into(), p12("official")],
            "pdf-encrypted",
        ));
    }
    for (name, args, code) in &cases {
        let output = dir
            .path()
            .join(format!("out-{}.pdf", name.replace(' ', "-")));
        let source = match *name {
            "encrypted" => &encrypted,
            _ => &input,
        };
        let mut command = hoso();
        command
            .arg("sign")
            .arg(source)
            .arg("-o")
            .arg(&output)
            .env("WRONG_PW", "not-the-password");
        let password_env = if *name == "wrong password" {
            "WRONG_PW"
        } else {
            "HOSO_TEST_P12_PASSWORD"
        };
        command.args(["--password-env", password_env]);
        if *name == "untrusted" {
            command.arg("--trust").arg(only_root.path());
        } else {
            command.arg("--trust").arg(pki::dir());
        }
        let r = run(command.args(args));
        assert_eq!(r.code, 1, "{name}: {}{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains(code),
            "{name}: expected {code} in {}",
            r.stderr
        );
        assert!(
            r.stderr.starts_with("lỗi ["),
            "{name}: Vietnamese first: {}",
            r.stderr
        );
        assert!(!output.exists(), "{name}: no output may be left behind");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
            .collect();
        assert!(
            leftovers.is_empty(),
            "{name}: temporary files left: {leftovers:?}"
        );
    }
    let r = sign(
        &corrupt,
        &dir.path().join("c.pdf"),
        &["--p12", &p12("official")],
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("pdf-malformed"), "{}", r.stderr);
    assert_eq!(
        std::fs::read(&input).unwrap(),
        original,
        "input must never change"
    );
}

#[test]
fn a_revoked_certificate_is_refused_when_its_status_is_known() {
    let Some(_services) = pki::services() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("revoked.pdf");
    let r = sign(
        &sample(),
        &output,
        &["--p12", &p12("revoked"), "--check-revocation"],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("certificate-revoked"), "{}", r.stderr);
    assert!(!output.exists());
}

/// SoftHSM2 token: the key is imported once, the certificate written with OpenSC's
/// pkcs11-tool; hoso signs through the token and the result validates.
#[test]
fn pkcs11_token_signs_and_a_wrong_pin_is_not_retried() {
    let module = [
        "/usr/lib/softhsm/libsofthsm2.so",
        "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.exists());
    let tools = pki::tool("softhsm2-util") && pki::tool("pkcs11-tool");
    let (Some(module), true) = (module, tools) else {
        assert!(!in_ci(), "SoftHSM2 and OpenSC are required in CI");
        eprintln!("SKIPPED: SoftHSM2 or pkcs11-tool missing (scripts/install-deps installs them)");
        return;
    };
    let token_dir = tempfile::tempdir().unwrap();
    let conf = token_dir.path().join("softhsm2.conf");
    std::fs::create_dir(token_dir.path().join("tokens")).unwrap();
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\n",
            token_dir.path().join("tokens").display()
        ),
    )
    .unwrap();
    let softhsm = |args: &[&str]| {
        let out = Command::new("softhsm2-util")
            .env("SOFTHSM2_CONF", &conf)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "softhsm2-util {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    softhsm(&[
        "--init-token",
        "--free",
        "--label",
        "hoso-test",
        "--pin",
        "1234",
        "--so-pin",
        "5678",
    ]);
    for (key, label, id) in [
        ("official", "official", "01"),
        ("official-ec", "official-ec", "02"),
    ] {
        let p8 = token_dir.path().join(format!("{key}.p8"));
        let pem = std::fs::read(pki::dir().join(format!("{key}.key"))).unwrap();
        std::fs::write(&p8, pem).unwrap();
        softhsm(&[
            "--import",
            p8.to_str().unwrap(),
            "--token",
            "hoso-test",
            "--label",
            label,
            "--id",
            id,
            "--pin",
            "1234",
        ]);
        let der = token_dir.path().join(format!("{key}.der"));
        let status = Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(pki::dir().join(format!("{key}.crt")))
            .arg("-out")
            .arg(&der)
            .status()
            .unwrap();
        assert!(status.success());
        let out = Command::new("pkcs11-tool")
            .env("SOFTHSM2_CONF", &conf)
            .arg("--module")
            .arg(&module)
            .args([
                "--token-label",
                "hoso-test",
                "--login",
                "--pin",
                "1234",
                "--write-object",
            ])
            .arg(&der)
            .args(["--type", "cert", "--label", label, "--id", id])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pkcs11-tool: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let dir = tempfile::tempdir().unwrap();
    // `hoso sign` through the token with this PIN, key and token label.
    let token_sign = |pin: &str, label: &str, token: &str, output: &Path| {
        run(hoso()
            .env("SOFTHSM2_CONF", &conf)
            .env("TOKEN_PIN", pin)
            .arg("sign")
            .arg(sample())
            .arg("-o")
            .arg(output)
            .arg("--trust")
            .arg(pki::dir())
            .arg("--pkcs11-module")
            .arg(&module)
            .args([
                "--token-label",
                token,
                "--key-label",
                label,
                "--pin-env",
                "TOKEN_PIN",
            ])
            .arg("--chain")
            .arg(pki::dir().join("inter.crt")))
    };
    for label in ["official", "official-ec"] {
        let output = dir.path().join(format!("{label}-token.pdf"));
        let r = token_sign("1234", label, "hoso-test", &output);
        assert_eq!(r.code, 0, "{label}: {}", r.stderr);
        if pki::services().is_some() {
            assert_pyhanko_valid(&output);
            assert_pdfsig_valid(&output, true);
        }
    }
    // A wrong PIN: one attempt, a clear error, and the token still works with the right PIN.
    let output = dir.path().join("wrong-pin.pdf");
    for _ in 0..2 {
        let r = token_sign("0000", "official", "hoso-test", &output);
        assert_eq!(r.code, 1);
        assert!(r.stderr.contains("pkcs11-wrong-pin"), "{}", r.stderr);
        assert!(!output.exists());
    }
    let r = token_sign("1234", "official", "hoso-test", &output);
    assert_eq!(r.code, 0, "token must not be locked: {}", r.stderr);
    let r = token_sign(
        "1234",
        "official",
        "no-such-token",
        &dir.path().join("missing.pdf"),
    );
    assert!(r.stderr.contains("pkcs11-not-found"), "{}", r.stderr);
    let r = token_sign(
        "1234",
        "no-such-key",
        "hoso-test",
        &dir.path().join("missing.pdf"),
    );
    assert!(r.stderr.contains("pkcs11-not-found"), "{}", r.stderr);
}

fn samples(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
        .display()
        .to_string()
}

/// `pdftotext -layout` of one page.
fn page_text(pdf: &Path) -> Option<String> {
    if !pki::tool("pdftotext") {
        return None;
    }
    let out = Command::new("pdftotext")
        .args(["-f", "1", "-l", "1"])
        .arg(pdf)
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success());
    Some(String::from_utf8(out.stdout).unwrap())
}

/// Decree 30: the official signs with the signature image under the title, then the
/// organization seals over its left third; both signatures stay valid.
#[test]
fn official_then_organization_seal_both_validate() {
    let Some(services) = pki::services() else {
        return;
    };
    let tsa = format!("{}/", services.tsa);
    let dir = tempfile::tempdir().unwrap();
    let official = dir.path().join("official.pdf");
    let sealed = dir.path().join("sealed.pdf");
    let r = sign(
        &sample(),
        &official,
        &[
            "--p12",
            &p12("official"),
            "--tsa",
            &tsa,
            "--appearance",
            "official",
            "--image",
            &samples("chu-ky.png"),
            "--anchor",
            "CHỦ TỊCH",
            "--reason",
            "Phê duyệt",
            "--location",
            "Tân Phú",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The organization may not seal before the official has signed (Decree 30 art. 32).
    let r = sign(
        &sample(),
        &dir.path().join("too-early.pdf"),
        &[
            "--p12",
            &p12("organization"),
            "--appearance",
            "organization",
            "--image",
            &samples("con-dau.png"),
        ],
    );
    assert!(
        r.stderr.contains("official-signature-missing"),
        "{}",
        r.stderr
    );
    let r = sign(
        &official,
        &sealed,
        &[
            "--p12",
            &p12("organization"),
            "--tsa",
            &tsa,
            "--appearance",
            "organization",
            "--image",
            &samples("con-dau.png"),
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_pyhanko_valid(&sealed);
    assert_pdfsig_valid(&sealed, true);
    assert_qpdf_check(&sealed);

    // The seal's widget: real size (36 mm = 102 pt) and its right edge over the left third
    // of the signature image.
    let document = lopdf::Document::load(&sealed).unwrap();
    let rects: Vec<Vec<f32>> = document
        .objects
        .values()
        .filter_map(|o| o.as_dict().ok())
        .filter(|d| d.get(b"FT").and_then(|f| f.as_name()).ok() == Some(b"Sig"))
        .map(|d| {
            d.get(b"Rect")
                .unwrap()
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_float().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(rects.len(), 2, "{rects:?}");
    let widest = |r: &Vec<f32>| r[2] - r[0];
    let (seal, image) = if widest(&rects[0]) > widest(&rects[1]) {
        (&rects[0], &rects[1])
    } else {
        (&rects[1], &rects[0])
    };
    let third = image[0] + (image[2] - image[0]) / 3.0;
    assert!(
        (seal[2] - third).abs() < 1.0,
        "seal {seal:?} image {image:?}"
    );
    assert!(seal[3] - seal[1] >= 36.0 * 72.0 / 25.4 - 0.5, "{seal:?}");
    if let Some(text) = page_text(&sealed) {
        assert!(text.contains("UBND xã Tân Phú (TEST ONLY)"), "{text}");
        assert!(text.contains("Thời gian ký: "), "{text}");
    }
}

/// Copy and attachment stamps: text only, 10 pt, top right of page 1, read back exactly.
#[test]
fn copy_and_attachment_stamps_read_back_exactly() {
    let re =
        regex::Regex::new(r"^Thời gian ký: \d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2} \+07:00$").unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (kind, extra, expected) in [
        (
            "copy",
            vec!["--copy-type", "SAO Y", "--qr", "https://hoso.example.vn"],
            vec!["SAO Y", "UBND xã Tân Phú (TEST ONLY)", "Thời gian ký: "],
        ),
        (
            "attachment",
            vec!["--doc-number", "12/QĐ-UBND"],
            vec!["12/QĐ-UBND", "Thời gian ký: "],
        ),
    ] {
        let output = dir.path().join(format!("{kind}.pdf"));
        let p12_path = p12("organization");
        let mut args = vec!["--p12", &p12_path, "--appearance", kind];
        args.extend(extra);
        let r = sign(&sample(), &output, &args);
        assert_eq!(r.code, 0, "{kind}: {}", r.stderr);
        if let Some(text) = page_text(&output) {
            let lines: Vec<&str> = text.lines().map(str::trim).collect();
            for line in &expected {
                assert!(
                    lines.iter().any(|l| l.starts_with(line)),
                    "{kind}: no line starting {line:?} in\n{text}"
                );
            }
            // The time is Vietnam time, dd/mm/yyyy hh:mm:ss +07:00.
            let time_line = lines
                .iter()
                .find(|l| l.starts_with("Thời gian ký: "))
                .unwrap();

            assert!(re.is_match(time_line), "{time_line}");
        }
        if pki::pyhanko().is_some() {
            let (ok, report) = pki::pyhanko_validate(&output, &root(), &["--no-revocation-check"]);
            assert!(ok, "{report}");
        }
    }
    let r = sign(
        &sample(),
        &dir.path().join("no-number.pdf"),
        &["--p12", &p12("organization"), "--appearance", "attachment"],
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("appearance-"), "{}", r.stderr);
}

/// B-LT without fetching: revocation data from files (--crl), validated offline by pyHanko.
#[test]
fn b_lt_from_supplied_crls_without_fetching() {
    let Some(services) = pki::services() else {
        return;
    };
    let tsa = format!("{}/", services.tsa);
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("offline-blt.pdf");
    let inter_crl = pki::dir().join("inter.crl").display().to_string();
    let root_crl = pki::dir().join("root.crl").display().to_string();
    let r = sign(
        &sample(),
        &output,
        &[
            "--p12",
            &p12("official"),
            "--tsa",
            &tsa,
            "--level",
            "B-LT",
            "--offline",
            "--crl",
            &inter_crl,
            "--crl",
            &root_crl,
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_pyhanko_offline_valid(&output);
    // Without the files, offline B-LT cannot know the status and refuses.
    let r = sign(
        &sample(),
        &dir.path().join("no-data.pdf"),
        &[
            "--p12",
            &p12("official"),
            "--tsa",
            &tsa,
            "--level",
            "B-LT",
            "--offline",
        ],
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("revocation-unavailable"), "{}", r.stderr);
    // A supplied CRL that lists the certificate refuses it even offline.
    let r = sign(
        &sample(),
        &dir.path().join("revoked.pdf"),
        &[
            "--p12",
            &p12("revoked"),
            "--check-revocation",
            "--offline",
            "--crl",
            &inter_crl,
        ],
    );
    assert!(r.stderr.contains("certificate-revoked"), "{}", r.stderr);
}

/// `--field NAME` signs an empty field prepared by another tool (pyHanko here), at that
/// field's widget; a field already signed is refused.
#[test]
fn an_existing_empty_field_is_signed_in_place() {
    let Some(pyhanko) = pki::pyhanko() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let prepared = dir.path().join("prepared.pdf");
    let out = Command::new(&pyhanko)
        .args(["sign", "addfields", "--field", "1/300,200,450,280/SigA"])
        .arg(sample())
        .arg(&prepared)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let signed = dir.path().join("signed.pdf");
    let r = sign(
        &prepared,
        &signed,
        &[
            "--p12",
            &p12("official"),
            "--field",
            "SigA",
            "--appearance",
            "official",
            "--image",
            &samples("chu-ky.png"),
            "--rect",
            "10,10,20,20",
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(report["field"], "SigA");
    let (ok, text) = pki::pyhanko_validate(&signed, &root(), &["--no-revocation-check"]);
    assert!(ok, "{text}");
    assert!(text.contains("Field 1: SigA"), "{text}");
    assert!(
        !text.contains("Field 2"),
        "no second field may be created: {text}"
    );
    let again = sign(
        &signed,
        &dir.path().join("again.pdf"),
        &["--p12", &p12("official"), "--field", "SigA"],
    );
    assert!(
        again.stderr.contains("signature-field-already-signed"),
        "{}",
        again.stderr
    );
}
