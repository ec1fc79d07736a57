//! Conformance: hoso's bounded-memory PDF reader against lopdf on every PDF of the shared
//! signature corpus (EU DSS, pyHanko, RUB shadow attacks, generated files). Where lopdf reads
//! a file without repairing it, ours must read the same objects; where ours refuses a file it
//! must say why, never panic or loop.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use lopdf::{Document, Object, ObjectId};

use crate::helpers::corpora;

fn pdfs_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            pdfs_under(&path, out);
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("pdf"))
        {
            out.push(path);
        }
    }
}

/// The objects a reader exposes, stream data left out (ours never reads it).
fn objects(document: &Document) -> BTreeMap<ObjectId, Object> {
    document
        .objects
        .iter()
        .filter(|(_, o)| {
            !matches!(o, Object::Stream(s)
                if s.dict.get(b"Type").and_then(Object::as_name).is_ok_and(|t| t == b"ObjStm" || t == b"XRef"))
        })
        .map(|(id, object)| {
            let object = match object {
                Object::Stream(s) => {
                    let mut dict = s.dict.clone();
                    dict.remove(b"Length");
                    Object::Dictionary(dict)
                }
                other => other.clone(),
            };
            (*id, object)
        })
        .collect()
}

#[test]
fn bounded_reader_agrees_with_lopdf_on_the_signature_corpus() {
    let Some(corpora) = corpora() else { return };
    let mut files = Vec::new();
    pdfs_under(&corpora.join("signatures"), &mut files);
    files.sort();
    assert!(
        files.len() > 100,
        "expected the signature corpus, found {}",
        files.len()
    );
    let (mut agreed, mut refused, mut skipped) = (0, 0, 0);
    let mut disagreements = Vec::new();
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let ours = hoso::pdf::reader::read_document(Cursor::new(&bytes));
        let theirs = Document::load_mem(&bytes);
        match (ours, theirs) {
            // lopdf decrypts strings; ours reads encrypted files as they are (and signing
            // refuses them): nothing to compare.
            (Ok(ours), Ok(_)) if ours.trailer.get(b"Encrypt").is_ok() => skipped += 1,
            (Ok(ours), Ok(theirs)) if theirs.xref_recovery.is_none() => {
                let (a, b) = (objects(&ours), objects(&theirs));
                if a == b {
                    agreed += 1;
                } else {
                    let differing: Vec<_> = a
                        .keys()
                        .chain(b.keys())
                        .filter(|id| a.get(id) != b.get(id))
                        .take(3)
                        .collect();
                    disagreements.push(format!("{}: {differing:?}", file.display()));
                }
            }
            (Err(e), Ok(theirs)) if theirs.xref_recovery.is_none() => {
                refused += 1;
                // lopdf takes whatever object sits at an xref offset; ours refuses an entry
                // that points at another object (RUB's shadow-attack files do this).
                if !e
                    .to_string()
                    .contains("is not where the cross-reference table says")
                {
                    disagreements.push(format!(
                        "{}: refused ({e}), lopdf reads it cleanly",
                        file.display()
                    ));
                }
            }
            // lopdf had to repair it, or cannot read it: ours may refuse (it is strict).
            (Err(_), _) => refused += 1,
            _ => skipped += 1,
        }
    }
    eprintln!(
        "bounded reader on {} corpus PDFs: {agreed} agree with lopdf, {refused} refused, {skipped} read where lopdf repaired",
        files.len()
    );
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}
