//! `hoso sign` end to end: every PAdES level and key type, checked by independent validators
//! (pyHanko, poppler's pdfsig, qpdf), the Decree 30 appearances, PKCS#11 on SoftHSM2, and
//! every refusal path (nothing written, input untouched).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::helpers::{Run, hoso, in_ci, run};
use crate::pki;

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/cong-van.pdf")
}

fn root() -> PathBuf {
    pki::dir().join("root.crt")
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
    // (private key, certificate, label, id): "mixed" holds the official's key under the
    // organization's certificate; the CA certificate and someone else's certificate are
    // on the token too, without keys.
    for (key, cert, label, id) in [
        (Some("official"), "official", "official", "01"),
        (Some("official-ec"), "official-ec", "official-ec", "02"),
        (Some("official"), "organization", "mixed", "03"),
        (None, "inter", "issuing-ca", "10"),
        (None, "self-signed", "someone-else", "11"),
    ] {
        if let Some(key) = key {
            let p8 = token_dir.path().join(format!("{label}.p8"));
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
        }
        let der = token_dir.path().join(format!("{label}.der"));
        let status = Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(pki::dir().join(format!("{cert}.crt")))
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
    // A key that is not its certificate's is refused before anything is written.
    let mixed = dir.path().join("mixed.pdf");
    let r = token_sign("1234", "mixed", "hoso-test", &mixed);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("signing-key-unusable") || r.stderr.contains("signing-key-mismatch"),
        "{}",
        r.stderr
    );
    assert!(!mixed.exists());
    // Without --chain, the issuing CA comes from the token; someone else's certificate on
    // the token is not embedded.
    let output = dir.path().join("token-chain.pdf");
    let r = run(hoso()
        .env("SOFTHSM2_CONF", &conf)
        .env("TOKEN_PIN", "1234")
        .arg("sign")
        .arg(sample())
        .arg("-o")
        .arg(&output)
        .arg("--trust")
        .arg(pki::dir())
        .arg("--pkcs11-module")
        .arg(&module)
        .args([
            "--token-label",
            "hoso-test",
            "--key-label",
            "official",
            "--pin-env",
            "TOKEN_PIN",
        ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let contents = signature_contents(&output);
    let der = |name: &str| std::fs::read(token_dir.path().join(format!("{name}.der"))).unwrap();
    let holds = |bytes: &[u8]| contents.windows(bytes.len()).any(|w| w == bytes);
    assert!(holds(&der("issuing-ca")), "the issuing CA must be embedded");
    assert!(
        !holds(&der("someone-else")),
        "an unrelated certificate on the token must not be embedded"
    );
}

/// `/Contents` of the one signature dictionary in `pdf`.
fn signature_contents(pdf: &Path) -> Vec<u8> {
    let document = lopdf::Document::load(pdf).unwrap();
    let mut found: Vec<Vec<u8>> = document
        .objects
        .values()
        .filter_map(|o| o.as_dict().ok())
        .filter(|d| d.get(b"Type").and_then(|t| t.as_name()).ok() == Some(b"Sig"))
        .filter_map(|d| d.get(b"Contents").ok()?.as_str().ok().map(<[u8]>::to_vec))
        .collect();
    assert_eq!(found.len(), 1);
    found.pop().unwrap()
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

/// The sample with its page's MediaBox written with more digits than an f32 holds (same
/// length, so the file's offsets stay right).
fn precise_sample(dir: &Path) -> PathBuf {
    let bytes = std::fs::read(sample()).unwrap();
    let (from, to) = (
        b"595.2756 841.8898".as_slice(),
        b"595.275601 841.89".as_slice(),
    );
    let at = bytes.windows(from.len()).position(|w| w == from).unwrap();
    let mut precise = bytes.clone();
    precise[at..at + from.len()].copy_from_slice(to);
    let path = dir.join("precise.pdf");
    std::fs::write(&path, precise).unwrap();
    path
}

/// A signature by another tool (pyHanko) over a page whose numbers have more digits than an
/// f32: hoso's signature rewrites the page (its /Annots) and must keep every other value as
/// written, or the earlier signature sees its page changed and becomes INVALID.
#[test]
fn rewritten_objects_keep_their_exact_numbers_and_earlier_signatures_stay_valid() {
    let Some(pyhanko) = pki::pyhanko() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let input = precise_sample(dir.path());
    let passfile = dir.path().join("pass");
    std::fs::write(&passfile, "test").unwrap();
    let first = dir.path().join("pyhanko.pdf");
    let out = Command::new(&pyhanko)
        .args([
            "sign",
            "addsig",
            "--field",
            "1/300,200,450,280/Sig1",
            "pkcs12",
        ])
        .arg("--passfile")
        .arg(&passfile)
        .arg(&input)
        .arg(&first)
        .arg(p12("official"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let second = dir.path().join("second.pdf");
    let r = sign(&first, &second, &["--p12", &p12("organization")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let bytes = std::fs::read(&second).unwrap();
    let first_len = std::fs::metadata(&first).unwrap().len() as usize;
    let update = String::from_utf8_lossy(&bytes[first_len..]).into_owned();
    assert!(
        update.contains("/MediaBox [ 0 0 595.275601 841.89 ]"),
        "the rewritten page must keep its MediaBox as written:\n{update}"
    );
    let (ok, report) = pki::pyhanko_validate(&second, &root(), &["--no-revocation-check"]);
    assert!(ok, "{report}");
    assert_eq!(report.matches("judged VALID").count(), 2, "{report}");
    assert!(!report.contains("incompatible"), "{report}");
}

/// DocMDP P=1 allows no change, but PAdES (ETSI EN 319 142-1 §5.4) allows validation data and
/// document timestamps after it: a certified B-LTA document, and one extended again, validate
/// in pyHanko (a document timestamp widget with an appearance would count as form filling).
#[test]
fn certify_1_with_b_lta_validates_and_can_be_extended() {
    let Some(services) = pki::services() else {
        return;
    };
    if pki::pyhanko().is_none() {
        return;
    }
    let tsa = format!("{}/", services.tsa);
    let dir = tempfile::tempdir().unwrap();
    let certified = dir.path().join("certified-lta.pdf");
    let r = sign(
        &sample(),
        &certified,
        &[
            "--p12",
            &p12("official"),
            "--certify",
            "1",
            "--level",
            "B-LTA",
            "--tsa",
            &tsa,
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (ok, report) = pki::pyhanko_validate(&certified, &root(), &[]);
    assert!(ok, "{report}");
    assert!(report.contains("judged VALID"), "{report}");
    assert_pyhanko_offline_valid(&certified);
    assert_qpdf_check(&certified);
    let extended = dir.path().join("extended.pdf");
    let r = run(hoso()
        .args(["sign", "--extend", "B-LTA", "--tsa", &tsa, "--trust"])
        .arg(pki::dir())
        .arg(&certified)
        .arg("-o")
        .arg(&extended));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (ok, report) = pki::pyhanko_validate(&extended, &root(), &[]);
    assert!(ok, "{report}");
    assert_pyhanko_offline_valid(&extended);
}

/// The DSS of a PDF as lopdf reads it: (decoded data of each /Certs, /OCSPs, /CRLs stream by
/// key, VRI entries with their references).
type Vri =
    std::collections::BTreeMap<Vec<u8>, std::collections::BTreeMap<Vec<u8>, Vec<lopdf::Object>>>;

fn dss_of(pdf: &Path) -> (std::collections::BTreeMap<&'static str, Vec<Vec<u8>>>, Vri) {
    let document = lopdf::Document::load(pdf).unwrap();
    let resolve = |o: &lopdf::Object| match o {
        lopdf::Object::Reference(id) => document.get_object(*id).unwrap().clone(),
        other => other.clone(),
    };
    let dss = resolve(document.catalog().unwrap().get(b"DSS").unwrap());
    let dss = dss.as_dict().unwrap();
    let mut streams = std::collections::BTreeMap::new();
    for key in ["Certs", "OCSPs", "CRLs"] {
        let items = dss
            .get(key.as_bytes())
            .map(|a| resolve(a).as_array().unwrap().clone())
            .unwrap_or_default();
        let data = items
            .iter()
            .map(|item| match resolve(item) {
                lopdf::Object::Stream(s) => s.decompressed_content().unwrap_or(s.content),
                other => panic!("{key}: not a stream: {other:?}"),
            })
            .collect();
        streams.insert(key, data);
    }
    let mut vri = Vri::new();
    if let Ok(entries) = dss.get(b"VRI") {
        for (key, entry) in resolve(entries).as_dict().unwrap().iter() {
            let entry = resolve(entry);
            let mut refs = std::collections::BTreeMap::new();
            for (name, value) in entry.as_dict().unwrap().iter() {
                if let Ok(array) = resolve(value).as_array() {
                    refs.insert(name.clone(), array.clone());
                }
            }
            vri.insert(key.clone(), refs);
        }
    }
    (streams, vri)
}

/// Extending twice keeps the VRI entries already there and writes each certificate and CRL
/// once: data the DSS holds is referred to, not copied.
#[test]
fn a_second_extend_keeps_vri_entries_and_does_not_duplicate_dss_streams() {
    let Some(services) = pki::services() else {
        return;
    };
    let tsa = format!("{}/", services.tsa);
    let dir = tempfile::tempdir().unwrap();
    let signed = dir.path().join("blt.pdf");
    let r = sign(
        &sample(),
        &signed,
        &["--p12", &p12("official"), "--tsa", &tsa, "--level", "B-LT"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let extend = |input: &Path, output: &Path| {
        let r = run(hoso()
            .args(["sign", "--extend", "B-LTA", "--tsa", &tsa, "--trust"])
            .arg(pki::dir())
            .arg(input)
            .arg("-o")
            .arg(output));
        assert_eq!(r.code, 0, "{}", r.stderr);
    };
    let once = dir.path().join("once.pdf");
    let twice = dir.path().join("twice.pdf");
    extend(&signed, &once);
    extend(&once, &twice);
    let (_, vri_once) = dss_of(&once);
    let (streams, vri_twice) = dss_of(&twice);
    for (key, data) in &streams {
        let mut unique = data.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(
            unique.len(),
            data.len(),
            "{key}: the same data twice in the DSS"
        );
    }
    assert!(!streams["Certs"].is_empty() && !streams["CRLs"].is_empty());
    assert!(
        !vri_once.is_empty() && vri_twice.len() > vri_once.len(),
        "{vri_twice:?}"
    );
    for (key, entry) in &vri_once {
        let later = vri_twice
            .get(key)
            .unwrap_or_else(|| panic!("VRI {} lost", String::from_utf8_lossy(key)));
        for (name, refs) in entry {
            for r in refs {
                assert!(
                    later.get(name).is_some_and(|l| l.contains(r)),
                    "VRI {} /{}: {r:?} lost",
                    String::from_utf8_lossy(key),
                    String::from_utf8_lossy(name)
                );
            }
        }
    }
    assert_pyhanko_offline_valid(&twice);
    assert_qpdf_check(&twice);
}

/// The sample with a form: signature fields SigA (locking with `action` the `fields`) and
/// SigB, and a text field named "Signature1" (the name hoso would pick for a new signature).
fn form_sample(dir: &Path, action: &str, fields: &[&str]) -> PathBuf {
    use lopdf::{Dictionary, Object};
    let mut document = lopdf::Document::load(sample()).unwrap();
    let page = *document.get_pages().values().next().unwrap();
    let field = |document: &mut lopdf::Document, name: &str, kind: &[u8], y: i64| {
        let mut dict = Dictionary::new();
        dict.set("Type", Object::Name(b"Annot".to_vec()));
        dict.set("Subtype", Object::Name(b"Widget".to_vec()));
        dict.set("FT", Object::Name(kind.to_vec()));
        dict.set("T", Object::string_literal(name));
        dict.set("F", 4);
        dict.set("P", Object::Reference(page));
        dict.set(
            "Rect",
            Object::Array(vec![300.into(), y.into(), 450.into(), (y + 60).into()]),
        );
        document.add_object(dict)
    };
    let sig_a = field(&mut document, "SigA", b"Sig", 100);
    let sig_b = field(&mut document, "SigB", b"Sig", 200);
    let text = field(&mut document, "Signature1", b"Tx", 300);
    let mut lock = Dictionary::new();
    lock.set("Type", Object::Name(b"SigFieldLock".to_vec()));
    lock.set("Action", Object::Name(action.as_bytes().to_vec()));
    if !fields.is_empty() {
        lock.set(
            "Fields",
            Object::Array(fields.iter().map(|f| Object::string_literal(*f)).collect()),
        );
    }
    document
        .get_dictionary_mut(sig_a)
        .unwrap()
        .set("Lock", Object::Dictionary(lock));
    let widgets: Vec<Object> = [sig_a, sig_b, text]
        .into_iter()
        .map(Object::Reference)
        .collect();
    document
        .get_dictionary_mut(page)
        .unwrap()
        .set("Annots", Object::Array(widgets.clone()));
    let mut form = Dictionary::new();
    form.set("Fields", Object::Array(widgets));
    let form = document.add_object(form);
    document
        .catalog_mut()
        .unwrap()
        .set("AcroForm", Object::Reference(form));
    let path = dir.join(format!("form-{action}.pdf"));
    document.save(&path).unwrap();
    path
}

/// A signed field's /Lock (FieldMDP) is obeyed: the fields it locks cannot be signed, a lock
/// of the whole form refuses any new signature; field names never collide with an existing
/// field, are never empty and hold no '.'.
#[test]
fn field_locks_and_field_names_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let key = p12("official");
    // SigA locks SigB once signed.
    let form = form_sample(dir.path(), "Include", &["SigB"]);
    let signed = dir.path().join("sig-a.pdf");
    let r = sign(&form, &signed, &["--p12", &key, "--field", "SigA"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let refused = dir.path().join("refused.pdf");
    for (args, code) in [
        (vec!["--field", "SigB"], "signature-field-locked"),
        (vec!["--field", "Signature1"], "signature-field-name-taken"),
        (vec!["--field", ""], "signature-field-name-invalid"),
        (vec!["--field", "Ky.So"], "signature-field-name-invalid"),
    ] {
        let mut all = vec!["--p12", key.as_str()];
        all.extend(args.iter().copied());
        let r = sign(&signed, &refused, &all);
        assert_eq!(r.code, 1, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains(code),
            "{args:?}: expected {code}: {}",
            r.stderr
        );
        assert!(r.stderr.starts_with("lỗi ["), "{}", r.stderr);
        assert!(!refused.exists());
    }
    // A new field is not locked, and its name skips the text field "Signature1".
    let second = dir.path().join("second.pdf");
    let r = sign(
        &signed,
        &second,
        &["--p12", &p12("organization"), "--format", "json"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(report["field"], "Signature2");
    if pki::pyhanko().is_some() {
        let (ok, text) = pki::pyhanko_validate(&second, &root(), &["--no-revocation-check"]);
        assert!(ok, "{text}");
    }
    // SigA locks the whole form: nothing more can be signed.
    let form = form_sample(dir.path(), "All", &[]);
    let signed = dir.path().join("sig-a-all.pdf");
    let r = sign(&form, &signed, &["--p12", &key, "--field", "SigA"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for args in [vec!["--field", "SigB"], vec![]] {
        let mut all = vec!["--p12", key.as_str()];
        all.extend(args.iter().copied());
        let r = sign(&signed, &refused, &all);
        assert!(
            r.stderr.contains("signature-field-locked"),
            "{args:?}: {}",
            r.stderr
        );
        assert!(!refused.exists());
    }
}

/// A TSA that answers its first request (through the real test TSA) and never answers the
/// next ones: hoso has sized the signature and staged its output, and waits.
fn stalling_tsa(real: String) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { return };
            if n > 0 {
                held.push(stream); // never answered, never closed
                continue;
            }
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                if let Some((key, value)) = line.split_once(':')
                    && key.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap();
                }
            }
            let mut body = vec![0u8; length];
            reader.read_exact(&mut body).unwrap();
            let answer = pki::http_post(&format!("{real}/"), "application/timestamp-query", &body);
            let head = format!(
                "HTTP/1.1 {} OK\r\nContent-Type: application/timestamp-reply\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                answer.status,
                answer.body.len()
            );
            stream.write_all(head.as_bytes()).unwrap();
            stream.write_all(&answer.body).unwrap();
        }
    });
    url
}

/// SIGTERM or SIGINT while hoso waits for the TSA: the temporary output is removed, no
/// output is written, the exit code says which signal.
#[test]
fn a_signal_while_waiting_for_the_tsa_leaves_no_temporary_file() {
    let Some(services) = pki::services() else {
        return;
    };
    for (signal, code) in [("-TERM", 143), ("-INT", 130)] {
        let tsa = stalling_tsa(services.tsa.clone());
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("signed.pdf");
        let mut child = hoso()
            .arg("sign")
            .arg(sample())
            .arg("-o")
            .arg(&output)
            .arg("--trust")
            .arg(pki::dir())
            .args(["--password-env", "HOSO_TEST_P12_PASSWORD"])
            .args(["--p12", &p12("official"), "--tsa", &tsa, "--level", "B-T"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let parts = || -> Vec<PathBuf> {
            std::fs::read_dir(dir.path())
                .unwrap()
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.to_string_lossy().ends_with(".part"))
                .collect()
        };
        let started = std::time::Instant::now();
        while parts().is_empty() {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(60),
                "no temporary output appeared"
            );
            assert!(child.try_wait().unwrap().is_none(), "hoso ended early");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let status = Command::new("kill")
            .arg(signal)
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "{signal}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            parts().is_empty(),
            "{signal}: temporary output left: {:?}",
            parts()
        );
        assert!(!output.exists());
    }
}

/// The output may not be the input (by path, link or hard link) nor a directory or device;
/// --pss with an EC key, --extend to B-B/B-T and a --rect off the page are errors; times in
/// messages read dd/mm/yyyy hh:mm:ss UTC.
#[test]
fn unsafe_outputs_and_meaningless_options_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.pdf");
    std::fs::copy(sample(), &input).unwrap();
    let original = std::fs::read(&input).unwrap();
    let hard = dir.path().join("hard.pdf");
    std::fs::hard_link(&input, &hard).unwrap();
    let soft = dir.path().join("soft.pdf");
    std::os::unix::fs::symlink(&input, &soft).unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let key = p12("official");
    for (output, code) in [
        (input.clone(), "output-is-input"),
        (dir.path().join(".").join("in.pdf"), "output-is-input"),
        (hard.clone(), "output-is-input"),
        (soft.clone(), "output-is-input"),
        (sub.clone(), "output-not-regular-file"),
        (PathBuf::from("/dev/null"), "output-not-regular-file"),
    ] {
        let r = sign(&input, &output, &["--p12", &key]);
        assert_eq!(r.code, 1, "{}: {}", output.display(), r.stderr);
        assert!(
            r.stderr.contains(code),
            "{}: {}",
            output.display(),
            r.stderr
        );
        assert!(r.stderr.starts_with("lỗi ["), "{}", r.stderr);
    }
    assert_eq!(
        std::fs::read(&input).unwrap(),
        original,
        "input must never change"
    );
    let out = dir.path().join("out.pdf");
    let image = samples("chu-ky.png");
    let (ec, expired) = (p12("official-ec"), p12("expired"));
    let date = regex::Regex::new(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2} UTC").unwrap();
    for (args, code) in [
        (vec!["--p12", ec.as_str(), "--pss"], "signing-key-unusable"),
        (
            vec![
                "--p12",
                key.as_str(),
                "--appearance",
                "official",
                "--image",
                image.as_str(),
                "--rect",
                "500,700,700,900",
            ],
            "signature-rect-outside-page",
        ),
        (vec!["--p12", expired.as_str()], "certificate-expired"),
    ] {
        let r = sign(&input, &out, &args);
        assert_eq!(r.code, 1, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(code), "{args:?}: {}", r.stderr);
        assert!(!out.exists());
        if code == "certificate-expired" {
            let first = r.stderr.lines().next().unwrap();
            assert!(date.is_match(first), "{first}");
            assert!(!r.stderr.contains("+00:00:00"), "{}", r.stderr);
        }
    }
    for level in ["B-B", "B-T"] {
        let r = run(hoso()
            .args(["sign", "--extend", level, "--trust"])
            .arg(pki::dir())
            .arg(&input)
            .arg("-o")
            .arg(&out));
        assert_eq!(r.code, 1, "{level}: {}", r.stderr);
        assert!(r.stderr.contains("extend-level-invalid"), "{}", r.stderr);
        assert!(!out.exists());
    }
}

/// An existing field's seed values (/SV) are obeyed: a required digest, reason, certification
/// level or timestamp that the signature would not have is refused; meeting them signs.
#[test]
fn seed_values_of_the_field_are_obeyed() {
    use lopdf::{Dictionary, Object};
    let dir = tempfile::tempdir().unwrap();
    let form = form_sample(dir.path(), "Include", &[]);
    let key = p12("official");
    let with_seed = |name: &str, seed: Dictionary| {
        let mut document = lopdf::Document::load(&form).unwrap();
        let sig_b = document
            .objects
            .iter()
            .find(|(_, o)| {
                o.as_dict()
                    .is_ok_and(|d| d.get(b"T").and_then(|t| t.as_str()).ok() == Some(b"SigB"))
            })
            .map(|(id, _)| *id)
            .unwrap();
        document
            .get_dictionary_mut(sig_b)
            .unwrap()
            .set("SV", Object::Dictionary(seed));
        let path = dir.path().join(name);
        document.save(&path).unwrap();
        path
    };
    let mut digest_and_reason = Dictionary::new();
    digest_and_reason.set("Ff", 64 | 8);
    // pyHanko writes (and reads) the digest names as strings.
    digest_and_reason.set(
        "DigestMethod",
        Object::Array(vec![Object::string_literal("SHA384")]),
    );
    digest_and_reason.set(
        "Reasons",
        Object::Array(vec![lopdf::text_string("Phê duyệt")]),
    );
    let mut mdp = Dictionary::new();
    mdp.set("P", 2);
    let mut certify = Dictionary::new();
    certify.set("MDP", Object::Dictionary(mdp));
    let mut timestamp = Dictionary::new();
    timestamp.set("URL", Object::string_literal("http://127.0.0.1:9/"));
    timestamp.set("Ff", 1);
    let mut needs_timestamp = Dictionary::new();
    needs_timestamp.set("TimeStamp", Object::Dictionary(timestamp));
    // (file, seed values, arguments refused, arguments accepted)
    type Case<'a> = (&'a str, Dictionary, Vec<Vec<&'a str>>, Option<Vec<&'a str>>);
    let cases: Vec<Case> = vec![
        (
            "digest-reason.pdf",
            digest_and_reason,
            vec![
                vec![],
                vec!["--digest", "sha384"],
                vec!["--digest", "sha384", "--reason", "Khác"],
            ],
            Some(vec!["--digest", "sha384", "--reason", "Phê duyệt"]),
        ),
        (
            "certify.pdf",
            certify,
            vec![vec![], vec!["--certify", "3"]],
            Some(vec!["--certify", "2"]),
        ),
        ("timestamp.pdf", needs_timestamp, vec![vec![]], None),
    ];
    for (name, seed, refused, accepted) in cases {
        let input = with_seed(name, seed);
        let output = dir.path().join(format!("signed-{name}"));
        for extra in refused {
            let mut args = vec!["--p12", key.as_str(), "--field", "SigB"];
            args.extend(extra.iter().copied());
            let r = sign(&input, &output, &args);
            assert_eq!(r.code, 1, "{name} {extra:?}: {}", r.stderr);
            assert!(
                r.stderr.contains("signature-field-seed-value"),
                "{name} {extra:?}: {}",
                r.stderr
            );
            assert!(!output.exists());
        }
        if let Some(extra) = accepted {
            let mut args = vec!["--p12", key.as_str(), "--field", "SigB"];
            args.extend(extra.iter().copied());
            let r = sign(&input, &output, &args);
            assert_eq!(r.code, 0, "{name} {extra:?}: {}", r.stderr);
            if pki::pyhanko().is_some() {
                let (ok, text) =
                    pki::pyhanko_validate(&output, &root(), &["--no-revocation-check"]);
                assert!(ok, "{name}: {text}");
            }
        }
    }
}

/// `pdftoppm -r 50` of page 1, as an RGB image.
fn render_page_1(pdf: &Path, dir: &Path, name: &str) -> image::RgbImage {
    let prefix = dir.join(name);
    let out = Command::new("pdftoppm")
        .args(["-r", "50", "-f", "1", "-l", "1", "-singlefile", "-png"])
        .arg(pdf)
        .arg(&prefix)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    image::open(prefix.with_extension("png")).unwrap().to_rgb8()
}

/// Issue #4: on a page with `/Rotate` the stamp is placed at the top right of the page as
/// displayed and reads upright there (pdftotext follows the rotation), and stays valid.
#[test]
fn stamps_on_rotated_pages_read_upright_at_the_displayed_top_right() {
    let dir = tempfile::tempdir().unwrap();
    for rotation in [90_i64, 180, 270] {
        let mut document = lopdf::Document::load(sample()).unwrap();
        let first = *document.get_pages().get(&1).unwrap();
        document
            .get_dictionary_mut(first)
            .unwrap()
            .set("Rotate", rotation);
        let input = dir.path().join(format!("rotated-{rotation}.pdf"));
        document.save(&input).unwrap();
        let output = dir.path().join(format!("signed-{rotation}.pdf"));
        let r = sign(
            &input,
            &output,
            &[
                "--p12",
                &p12("organization"),
                "--appearance",
                "copy",
                "--copy-type",
                "SAO Y",
            ],
        );
        assert_eq!(r.code, 0, "{rotation}: {}", r.stderr);

        // The widget records the rotation, and its appearance is turned by it.
        let signed = lopdf::Document::load(&output).unwrap();
        let widget = signed
            .objects
            .values()
            .filter_map(|o| o.as_dict().ok())
            .find(|d| d.get(b"FT").and_then(|t| t.as_name()).ok() == Some(b"Sig"))
            .unwrap();
        let mk = widget.get(b"MK").unwrap().as_dict().unwrap();
        assert_eq!(mk.get(b"R").unwrap().as_i64().unwrap(), rotation);

        if let Some(text) = page_text(&output) {
            let lines: Vec<&str> = text.lines().map(str::trim).collect();
            for expected in ["SAO Y", "UBND xã Tân Phú (TEST ONLY)", "Thời gian ký: "] {
                assert!(
                    lines.iter().any(|l| l.starts_with(expected)),
                    "{rotation}: no line starting {expected:?} in\n{text}"
                );
            }
        }
        if pki::tool("pdftoppm") {
            // The stamp's ink: what signing changed on the rendered page.
            let before = render_page_1(&input, dir.path(), &format!("before-{rotation}"));
            let after = render_page_1(&output, dir.path(), &format!("after-{rotation}"));
            assert_eq!(before.dimensions(), after.dimensions());
            let (width, height) = after.dimensions();
            if rotation != 180 {
                assert!(width > height, "{rotation}: the page is not shown turned");
            }
            let (mut inside, mut outside) = (0, 0);
            for (x, y, pixel) in after.enumerate_pixels() {
                if pixel != before.get_pixel(x, y) {
                    if x >= width / 2 && y < height / 2 {
                        inside += 1;
                    } else {
                        outside += 1;
                    }
                }
            }
            assert!(inside > 50, "{rotation}: no stamp in the top right quarter");
            assert_eq!(outside, 0, "{rotation}: stamp ink outside the top right");
        }
        assert_pdfsig_valid(&output, true);
        if pki::pyhanko().is_some() {
            let (ok, report) = pki::pyhanko_validate(&output, &root(), &["--no-revocation-check"]);
            assert!(ok, "{rotation}: {report}");
        }
    }
}
