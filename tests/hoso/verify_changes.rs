//! Modification analysis (`verify::changes`) on the shared signature corpus: the shadow
//! attacks and pyHanko's "sneaky" form updates must be caught, legitimate LTA updates, form
//! filling and second signatures must not be; and an agreement table against pyHanko's
//! observed modification levels (MANIFEST.tsv column 6) for every signed PDF.

use std::io::Cursor;
use std::path::Path;

use lopdf::{Dictionary, Object};

use hoso::verify::changes::{self, Allowed, ChangeReport, History, ModificationLevel};
use regex::bytes::Regex;

use crate::helpers::corpora;

/// The end of every distinct ByteRange in the file (`c + d`), in signing order.
fn signature_ends(file: &[u8]) -> Vec<u64> {
    let pattern = Regex::new(r"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]").unwrap();
    let mut ends: Vec<u64> = pattern
        .captures_iter(file)
        .filter_map(|c| {
            let number = |i: usize| std::str::from_utf8(&c[i]).ok()?.parse::<u64>().ok();
            Some(number(3)? + number(4)?)
        })
        .filter(|end| *end > 0)
        .collect();
    ends.sort_unstable();
    ends.dedup();
    ends
}

/// pyHanko's level names, as in the MANIFEST, for our levels.
fn pyhanko_name(level: ModificationLevel) -> &'static str {
    match level {
        ModificationLevel::None => "NONE",
        ModificationLevel::LtaUpdates => "LTA_UPDATES",
        ModificationLevel::FormFilling => "FORM_FILLING",
        ModificationLevel::Annotations => "ANNOTATIONS",
        ModificationLevel::Other => "OTHER",
    }
}

/// Each signature in pyHanko's observed column: its field name (as the MANIFEST shortens
/// it) and its `mod=` (`None` where pyHanko raised).
fn pyhanko_levels(observed: &str) -> Vec<(String, Option<String>)> {
    if !observed.starts_with("sig") || observed.starts_with("sig-") {
        return Vec::new();
    }
    observed
        .split(" | ")
        .map(|entry| {
            let name = entry
                .split_once('(')
                .and_then(|(_, rest)| rest.split_once(')'))
                .map(|(name, _)| name.to_owned())
                .unwrap_or_default();
            let level = entry
                .split_whitespace()
                .find_map(|w| w.strip_prefix("mod="))
                .map(str::to_owned);
            (name, level)
        })
        .collect()
}

/// The signature fields of the final document with the end of their ByteRange, in signing
/// order (empty when the document cannot be read).
fn signature_fields(file: &[u8]) -> Vec<(String, u64)> {
    let Ok(document) = hoso::pdf::reader::read_document(Cursor::new(file)) else {
        return Vec::new();
    };
    let resolve = |object: &Object| -> Option<Object> {
        match object {
            Object::Reference(id) => document.objects.get(id).cloned(),
            other => Some(other.clone()),
        }
    };
    let dict = |object: &Object| match resolve(object)? {
        Object::Dictionary(d) => Some(d),
        _ => None,
    };
    let Some(fields) = document
        .trailer
        .get(b"Root")
        .ok()
        .and_then(dict)
        .and_then(|c| c.get(b"AcroForm").ok().and_then(dict))
        .and_then(|a| a.get(b"Fields").ok().and_then(resolve))
    else {
        return Vec::new();
    };
    let mut found = Vec::new();
    let mut stack: Vec<(Object, String, usize)> = match fields {
        Object::Array(items) => items.into_iter().map(|i| (i, String::new(), 0)).collect(),
        _ => Vec::new(),
    };
    while let Some((item, parent, depth)) = stack.pop() {
        let Some(field): Option<Dictionary> = dict(&item) else {
            continue;
        };
        let partial = field
            .get(b"T")
            .ok()
            .and_then(|t| lopdf::decode_text_string(t).ok());
        let name = match partial {
            Some(p) if parent.is_empty() => p,
            Some(p) => format!("{parent}.{p}"),
            None => parent,
        };
        if let Some(value) = field.get(b"V").ok().and_then(dict)
            && let Ok(Object::Array(range)) = value.get(b"ByteRange").cloned()
            && let [_, _, Ok(c), Ok(d)] = range.iter().map(Object::as_i64).collect::<Vec<_>>()[..]
        {
            found.push((name.clone(), (c + d) as u64));
        }
        if depth < 8
            && let Some(Object::Array(kids)) = field.get(b"Kids").ok().and_then(resolve)
        {
            stack.extend(kids.into_iter().map(|k| (k, name.clone(), depth + 1)));
        }
    }
    found.sort_by_key(|(_, end)| *end);
    found
}

/// The analysis of every signature of the file, with the permissions each one sets.
fn reports(file: &[u8]) -> Vec<(u64, ChangeReport)> {
    let history = History::read(file);
    signature_ends(file)
        .into_iter()
        .map(|end| {
            let permissions = history.permissions(end);
            (end, history.analyze(end, &permissions))
        })
        .collect()
}

/// The changes that are not allowed, for the table.
fn summary(report: &ChangeReport) -> String {
    let mut kinds: Vec<String> = report
        .changes
        .iter()
        .filter(|c| c.allowed != Allowed::Yes)
        .map(|c| format!("{}:{}", c.kind, c.allowed.code()))
        .collect();
    kinds.dedup();
    kinds.truncate(4);
    kinds.join(",")
}

/// Every signed PDF of the corpus against pyHanko's observed level, printed as a table
/// (`cargo test --test hoso verify_changes -- --nocapture`). The two differ by design where
/// the module documentation of `verify::changes` says so.
#[test]
fn corpus_classification_and_agreement_with_pyhanko() {
    let Some(corpora) = corpora() else {
        return;
    };
    let dir = corpora.join("signatures");
    let Ok(manifest) = std::fs::read_to_string(dir.join("MANIFEST.tsv")) else {
        eprintln!("SKIPPED: no {}", dir.join("MANIFEST.tsv").display());
        return;
    };
    let mut rows = Vec::new();
    let (mut agree, mut compared) = (0, 0);
    for line in manifest.lines().skip(1) {
        let columns: Vec<&str> = line.split('\t').collect();
        let [name, _, _, _, _, observed, ..] = columns.as_slice() else {
            continue;
        };
        if !name.ends_with(".pdf") || name.starts_with("pkits/") {
            continue;
        }
        let Ok(file) = std::fs::read(dir.join(name)) else {
            continue;
        };
        let theirs = pyhanko_levels(observed);
        let mut used = vec![false; theirs.len()];
        let fields = signature_fields(&file);
        for (index, (end, report)) in reports(&file).iter().enumerate() {
            let ours = pyhanko_name(report.level);
            // pyHanko's entry for the same field (the MANIFEST shortens names: the longest
            // unused prefix), else the same position.
            let field = fields
                .iter()
                .find(|(_, e)| e == end)
                .map(|(name, _)| name.as_str());
            let matched = match field {
                Some(name) => theirs
                    .iter()
                    .enumerate()
                    .filter(|(i, (theirs, _))| {
                        !used[*i] && !theirs.is_empty() && name.starts_with(theirs.as_str())
                    })
                    .max_by_key(|(i, (theirs, _))| (theirs.len(), std::cmp::Reverse(*i)))
                    .map(|(i, _)| i),
                None if fields.is_empty() && index < theirs.len() => Some(index),
                None => None,
            };
            if let Some(i) = matched {
                used[i] = true;
            }
            let pyhanko = matched.and_then(|i| theirs[i].1.clone());
            let verdict = match &pyhanko {
                Some(level) => {
                    compared += 1;
                    if level == ours {
                        agree += 1;
                        "="
                    } else {
                        "≠"
                    }
                }
                None => " ",
            };
            rows.push(format!(
                "{verdict} {name} sig{index} ({}): ours {ours} pyHanko {} {}",
                field.unwrap_or("?"),
                pyhanko.as_deref().unwrap_or("-"),
                summary(report)
            ));
        }
    }
    eprintln!(
        "modification level, ours vs pyHanko 0.38 (= agree, ≠ differ, blank: pyHanko raised)"
    );
    for row in &rows {
        eprintln!("{row}");
    }
    eprintln!("agreement with pyHanko: {agree}/{compared}");
    assert!(compared > 50, "the corpus should give many comparisons");
}

/// The analysis of the `signature`-th signature (in signing order) of a corpus file.
fn level_of(dir: &Path, name: &str, signature: usize) -> (ModificationLevel, ChangeReport) {
    let file = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let ends = signature_ends(&file);
    let end = ends[signature];
    let report = changes::analyze(&file, end);
    (report.level, report)
}

#[test]
fn shadow_attacks_are_never_allowed_and_their_signed_inputs_are_unchanged() {
    let Some(corpora) = corpora() else {
        return;
    };
    let dir = corpora.join("signatures/rub-shadow");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("SKIPPED: no {}", dir.display());
        return;
    };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let (mut manipulated, mut signed) = (0, 0);
    for name in names {
        if name.contains("__4_") {
            let (level, report) = level_of(&dir, &name, 0);
            assert_eq!(level, ModificationLevel::Other, "{name}: {report:#?}");
            assert_eq!(report.worst(), Allowed::No, "{name}: {report:#?}");
            manipulated += 1;
        } else if name.contains("__3_") {
            let (level, report) = level_of(&dir, &name, 0);
            assert_eq!(level, ModificationLevel::None, "{name}: {report:#?}");
            signed += 1;
        }
    }
    assert_eq!((manipulated, signed), (5, 4));
}

/// The verdicts the issue fixes for pyHanko's and EU DSS's test files.
#[test]
fn corpus_files_with_a_known_verdict() {
    let Some(corpora) = corpora() else {
        return;
    };
    let dir = corpora.join("signatures");
    if !dir.join("MANIFEST.tsv").is_file() {
        eprintln!("SKIPPED: no {}", dir.join("MANIFEST.tsv").display());
        return;
    }
    let expect = |name: &str, signature: usize, level: ModificationLevel| {
        let (found, report) = level_of(&dir, name, signature);
        assert_eq!(found, level, "{name} sig{signature}: {report:#?}");
        report
    };
    for name in [
        "pyhanko/pdf/form-update-ap-indirect-sneaky-trailer.pdf",
        "pyhanko/pdf/form-update-no-override-appearance-stream-ap-indirect-sneaky.pdf",
        "pyhanko/pdf/form-update-override-appearance-stream-ap-indirect-sneaky.pdf",
        "pyhanko/pdf/form-update-override-appearance-stream-sneaky.pdf",
    ] {
        let report = expect(name, 0, ModificationLevel::Other);
        assert!(
            report
                .changes
                .iter()
                .any(|c| c.kind.starts_with("shared-appearance"))
        );
    }
    for name in [
        "pyhanko/pdf/form-update-no-override-appearance-stream-ap-indirect.pdf",
        "pyhanko/pdf/form-update-original-ap-type-wrong.pdf",
        "pyhanko/pdf/form-update-override-appearance-stream-ap-indirect.pdf",
        "pyhanko/pdf/form-update-override-appearance-stream.pdf",
        "pyhanko/pdf/minimal-signed-twice-both-created.pdf",
        "pyhanko/pdf/minimal-signed-twice-no-sig-type.pdf",
        "pyhanko/pdf/minimal-signed-twice-second-created.pdf",
        "pyhanko/pdf/minimal-two-fields-signed-twice.pdf",
        "pyhanko/pdf/extensions-direct.pdf",
        "pyhanko/pdf/extensions-indirect.pdf",
    ] {
        expect(name, 0, ModificationLevel::FormFilling);
        expect(name, 1, ModificationLevel::None);
    }
    expect(
        "generated/signed/doc1-BLT.pdf",
        0,
        ModificationLevel::LtaUpdates,
    );
    expect(
        "generated/signed/doc1-BLTA.pdf",
        0,
        ModificationLevel::LtaUpdates,
    );
    expect(
        "generated/signed/doc1-BLTA.pdf",
        1,
        ModificationLevel::LtaUpdates,
    );
    for name in [
        "doc1-BB.pdf",
        "doc1-BT.pdf",
        "doc1-BB-visible.pdf",
        "doc100-BB.pdf",
    ] {
        expect(
            &format!("generated/signed/{name}"),
            0,
            ModificationLevel::None,
        );
    }
    expect(
        "pyhanko/pdf/pades-lta-dss-indirect-arrs-test.pdf",
        0,
        ModificationLevel::LtaUpdates,
    );
    expect("dss/doc-firmado-LT.pdf", 0, ModificationLevel::LtaUpdates);
    expect(
        "dss/pdf-with-vri-timestamp.pdf",
        0,
        ModificationLevel::LtaUpdates,
    );
    // EU DSS's page difference is a failure whatever the policy.
    let added = expect("dss/pdf-signed-added-page.pdf", 0, ModificationLevel::Other);
    assert!(
        added
            .changes
            .iter()
            .any(|c| c.kind == "page-added" && c.allowed == Allowed::No)
    );
    let removed = expect("dss/pdf-removed-pages.pdf", 0, ModificationLevel::Other);
    assert!(
        removed
            .changes
            .iter()
            .any(|c| c.kind == "page-removed" && c.allowed == Allowed::No)
    );
    assert_eq!(
        expect(
            "dss/modified_after_signature.pdf",
            0,
            ModificationLevel::Other
        )
        .worst(),
        Allowed::No
    );
    assert_eq!(
        expect("dss/Signature-P-DE_SCI-4.pdf", 0, ModificationLevel::Other).worst(),
        Allowed::No
    );
    // Annotations added after an approval signature: annotation changes, nothing undefined.
    let annotated = expect(
        "dss/pades-signed-annot-added.pdf",
        0,
        ModificationLevel::Annotations,
    );
    assert!(
        annotated
            .changes
            .iter()
            .any(|c| c.kind == "annotation-added")
    );
    // Annotations that only share a border are not flagged as overlapping.
    let (level, report) = level_of(&dir, "dss/pades-same-border-annotations.pdf", 0);
    assert_ne!(level, ModificationLevel::Other, "{report:#?}");
}

/// Every signed corpus file cut short or with bytes flipped: reported, never a panic.
#[test]
fn damaged_corpus_files_never_panic() {
    let Some(corpora) = corpora() else {
        return;
    };
    let dir = corpora.join("signatures");
    let Ok(manifest) = std::fs::read_to_string(dir.join("MANIFEST.tsv")) else {
        eprintln!("SKIPPED: no {}", dir.join("MANIFEST.tsv").display());
        return;
    };
    let mut files = 0;
    for name in manifest
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
    {
        if !name.ends_with(".pdf") || name.starts_with("pkits/") {
            continue;
        }
        let Ok(file) = std::fs::read(dir.join(name)) else {
            continue;
        };
        let Some(&end) = signature_ends(&file).first() else {
            continue;
        };
        files += 1;
        for cut in [file.len() / 3, file.len() / 2, file.len() - 1] {
            let _ = changes::analyze(&file[..cut], end);
        }
        let mut flipped = file.clone();
        for at in (end as usize..flipped.len()).step_by(997) {
            flipped[at] ^= 0x5a;
        }
        let _ = changes::analyze(&flipped, end);
    }
    assert!(files > 50);
}
