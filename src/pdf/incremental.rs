//! Incremental updates (ISO 32000-1 §7.5.6): new and changed objects appended after the
//! original bytes, which stay byte-identical, with a cross-reference section that points back
//! to the previous one. Signing, DSS additions and document timestamps are all such updates.
//!
//! The original file is never re-serialized: the caller copies its bytes as they are (a
//! streaming copy) and this module writes only what is new. Objects are read by
//! `pdf::reader`, which never loads stream data: signing never needs it, and it is most of a
//! scan's bytes.

use std::collections::BTreeMap;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use lopdf::xref::XrefType;
use lopdf::{Dictionary, Document, Object, ObjectId};

use super::PdfError;

/// The latest revision of a PDF: its objects (without image data) and where its
/// cross-reference section is.
pub struct PdfRevision {
    pub document: Document,
    /// Length of the file in bytes: where an update starts.
    pub len: u64,
    /// Whether the file ends with an end-of-line after `%%EOF`; if not, the update starts
    /// with one so that `%%EOF` stays on its own line.
    pub ends_with_eol: bool,
    /// The original text of each object that is not a stream: a rewritten object keeps the
    /// values it does not change exactly as they were written (see
    /// [`super::reader::write_preserving`]).
    raw: super::reader::RawObjects,
    /// SHA-256 of the decoded data of each stream the DSS lists (/Certs, /OCSPs, /CRLs), so
    /// that validation data added again (a second `--extend`, a second signer with the same
    /// CAs) refers to the stream already there instead of a copy.
    dss_streams: std::collections::HashMap<[u8; 32], ObjectId>,
}

impl PdfRevision {
    /// Parses the file at `path`.
    ///
    /// # Errors
    /// Not a PDF, encrypted (an update would have to be encrypted too, which hoso does not
    /// do), or a cross-reference table that lopdf had to repair (an update pointing back at a
    /// broken section would be broken too).
    pub fn open(path: &Path) -> Result<Self, PdfError> {
        let file = std::fs::File::open(path).map_err(|e| PdfError::Malformed {
            reason: format!("cannot read {}: {e}", path.display()),
        })?;
        Self::from_reader(io::BufReader::with_capacity(64 * 1024, file))
    }

    /// # Errors
    /// See [`PdfRevision::open`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PdfError> {
        Self::from_reader(io::Cursor::new(bytes))
    }

    /// Reads only the tail, the cross-reference sections and the objects themselves (never
    /// stream data): memory stays small however large the scan is.
    fn from_reader<R: Read + Seek>(mut source: R) -> Result<Self, PdfError> {
        let len = source.seek(SeekFrom::End(0))?;
        let head_len = len.min(8) as usize;
        source.seek(SeekFrom::Start(0))?;
        let mut head = vec![0u8; head_len];
        source.read_exact(&mut head)?;
        if !head.starts_with(b"%PDF-") {
            return Err(PdfError::Malformed {
                reason: "the file does not start with %PDF-".to_owned(),
            });
        }
        let tail_len = len.min(1024);
        source.seek(SeekFrom::Start(len - tail_len))?;
        let mut tail = vec![0u8; tail_len as usize];
        source.read_exact(&mut tail)?;
        let trimmed_end = tail
            .iter()
            .rposition(|b| !b" \t\r\n\x0c\0".contains(b))
            .map_or(0, |i| i + 1);
        if !tail[..trimmed_end].ends_with(b"%%EOF") {
            return Err(PdfError::Malformed {
                reason: "the file does not end with %%EOF (truncated?)".to_owned(),
            });
        }
        let (document, raw) = super::reader::read_document_with_raw(&mut source)?;
        if document.trailer.get(b"Encrypt").is_ok() {
            return Err(PdfError::Encrypted);
        }
        if document.trailer.get(b"Root").is_err() {
            return Err(PdfError::Malformed {
                reason: "no document catalog (/Root)".to_owned(),
            });
        }
        let dss_streams = dss_stream_digests(&mut source, len, &document);
        Ok(PdfRevision {
            document,
            len,
            ends_with_eol: tail.ends_with(b"\n") || tail.ends_with(b"\r"),
            raw,
            dss_streams,
        })
    }

    pub fn catalog_id(&self) -> Result<ObjectId, PdfError> {
        self.document
            .trailer
            .get(b"Root")
            .and_then(Object::as_reference)
            .map_err(|_| PdfError::Malformed {
                reason: "/Root is not a reference".to_owned(),
            })
    }

    /// The object behind `object` when it is a reference, else `object` itself.
    pub fn resolve<'a>(&'a self, object: &'a Object) -> Result<&'a Object, PdfError> {
        Ok(self.document.dereference(object)?.1)
    }

    pub fn dictionary(&self, id: ObjectId) -> Result<&Dictionary, PdfError> {
        Ok(self.document.get_dictionary(id)?)
    }

    /// The DSS stream (/Certs, /OCSPs or /CRLs) whose decoded data is `data`, if there is one.
    pub fn dss_stream_holding(&self, data: &[u8]) -> Option<ObjectId> {
        self.dss_streams.get(&openssl::sha::sha256(data)).copied()
    }
}

/// SHA-256 of every stream the DSS lists, keyed to its id. A stream that cannot be read is
/// left out: new data is then written again, which is harmless.
fn dss_stream_digests<R: Read + Seek>(
    source: &mut R,
    len: u64,
    document: &Document,
) -> std::collections::HashMap<[u8; 32], ObjectId> {
    let mut digests = std::collections::HashMap::new();
    let resolve = |object: &Object| -> Option<Object> {
        match object {
            Object::Reference(id) => document.get_object(*id).ok().cloned(),
            other => Some(other.clone()),
        }
    };
    let Some(dss) = document
        .trailer
        .get(b"Root")
        .ok()
        .and_then(&resolve)
        .and_then(|catalog| catalog.as_dict().ok()?.get(b"DSS").ok().and_then(&resolve))
        .and_then(|dss| dss.as_dict().ok().cloned())
    else {
        return digests;
    };
    // Each stream once, and at most this many bytes decoded in all (a failed attempt counts
    // as a full one): a crafted DSS listing one compressed 16 MB stream thousands of times
    // would otherwise be decoded and hashed thousands of times.
    const MAX_DECODED: usize = 256 * 1024 * 1024;
    let mut budget = MAX_DECODED;
    let mut seen = std::collections::HashSet::new();
    for key in [b"Certs".as_slice(), b"OCSPs", b"CRLs"] {
        let Some(Object::Array(items)) = dss.get(key).ok().and_then(&resolve) else {
            continue;
        };
        for item in items.iter().take(100_000) {
            let Object::Reference(id) = item else {
                continue;
            };
            let Ok(Object::Stream(stream)) = document.get_object(*id) else {
                continue;
            };
            if budget == 0 || !seen.insert(*id) {
                continue;
            }
            match super::reader::stream_content(source, len, stream, document) {
                Ok(data) => {
                    budget = budget.saturating_sub(data.len());
                    digests.entry(openssl::sha::sha256(&data)).or_insert(*id);
                }
                // Only decoding is costly when it fails (a bomb stops at the limit).
                Err(_) if stream.dict.has(b"Filter") => {
                    budget = budget.saturating_sub(super::reader::MAX_DECODED_STREAM);
                }
                Err(_) => {}
            }
        }
    }
    digests
}

/// One object of an update: a lopdf object, or bytes written as they are (signature
/// dictionaries, whose placeholder offsets the signer must know exactly).
pub enum NewObject {
    Object(Object),
    Raw(Vec<u8>),
}

/// The objects of one incremental update.
pub struct Update {
    objects: BTreeMap<ObjectId, NewObject>,
    next_number: u32,
    previous_size: u32,
}

impl Update {
    pub fn new(revision: &PdfRevision) -> Self {
        let size = revision
            .document
            .trailer
            .get(b"Size")
            .and_then(Object::as_i64)
            .unwrap_or(0)
            .max(0) as u32;
        let next = size.max(revision.document.max_id + 1);
        Update {
            objects: BTreeMap::new(),
            next_number: next,
            previous_size: size,
        }
    }

    /// A fresh object number.
    pub fn allocate(&mut self) -> ObjectId {
        let id = (self.next_number, 0);
        self.next_number += 1;
        id
    }

    pub fn set(&mut self, id: ObjectId, object: impl Into<Object>) {
        self.objects.insert(id, NewObject::Object(object.into()));
    }

    pub fn set_raw(&mut self, id: ObjectId, body: Vec<u8>) {
        self.objects.insert(id, NewObject::Raw(body));
    }

    pub fn get(&self, id: ObjectId) -> Option<&Object> {
        match self.objects.get(&id) {
            Some(NewObject::Object(o)) => Some(o),
            _ => None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}

/// Where the update's objects ended up in the output.
pub struct WrittenUpdate {
    /// Offset of the first byte of each object's body (after `N G obj\n`).
    pub body_offsets: BTreeMap<ObjectId, u64>,
    /// Length of the output after the update.
    pub end: u64,
}

/// Writes `update` to `out`, which holds exactly the bytes of `revision`'s file and is
/// positioned at its end.
///
/// # Errors
/// I/O failures.
pub fn write_update<W: Write>(
    out: &mut W,
    revision: &PdfRevision,
    mut update: Update,
) -> Result<WrittenUpdate, PdfError> {
    let mut writer = CountingWriter {
        inner: out,
        position: revision.len,
    };
    if !revision.ends_with_eol {
        writer.write_all(b"\n")?;
    }
    let use_stream = matches!(
        revision.document.reference_table.cross_reference_type,
        XrefType::CrossReferenceStream
    );
    let xref_stream_id = use_stream.then(|| update.allocate());

    let mut offsets = BTreeMap::new();
    let mut body_offsets = BTreeMap::new();
    for (id, object) in &update.objects {
        offsets.insert(*id, writer.position);
        writer.write_all(format!("{} {} obj\n", id.0, id.1).as_bytes())?;
        body_offsets.insert(*id, writer.position);
        match object {
            NewObject::Object(object) => match revision.raw.get(id) {
                // A changed object of the file: what did not change is copied as it was.
                Some(original) => {
                    super::reader::write_preserving(&mut writer, object, original)
                        .map_err(write_error)?;
                }
                None => lopdf::Writer::write_object(&mut writer, object).map_err(write_error)?,
            },
            NewObject::Raw(bytes) => writer.write_all(bytes)?,
        }
        writer.write_all(b"\nendobj\n")?;
    }

    let size = update.next_number.max(update.previous_size);
    let mut trailer = Dictionary::new();
    trailer.set("Size", i64::from(size));
    for key in [b"Root".as_slice(), b"Info"] {
        if let Ok(value) = revision.document.trailer.get(key) {
            trailer.set(key, value.clone());
        }
    }
    trailer.set("ID", new_file_id(&revision.document.trailer));
    trailer.set("Prev", revision.document.xref_start as i64);

    let xref_offset = writer.position;
    match xref_stream_id {
        Some(id) => {
            offsets.insert(id, xref_offset);
            write_xref_stream(&mut writer, id, &offsets, trailer)?;
        }
        None => write_xref_table(&mut writer, &offsets, &trailer)?,
    }
    writer.write_all(format!("startxref\n{xref_offset}\n%%EOF\n").as_bytes())?;
    Ok(WrittenUpdate {
        body_offsets,
        end: writer.position,
    })
}

/// The file identifier pair: the first part stays (it names the document), the second part
/// changes with every revision (ISO 32000-1 §14.4).
fn new_file_id(trailer: &Dictionary) -> Object {
    let mut fresh = [0u8; 16];
    // A random identifier; failing to get randomness is not worth failing the update for.
    if openssl::rand::rand_bytes(&mut fresh).is_err() {
        fresh = *uuid::Uuid::new_v4().as_bytes();
    }
    let first = trailer
        .get(b"ID")
        .and_then(Object::as_array)
        .ok()
        .and_then(|ids| ids.first().cloned())
        .unwrap_or_else(|| Object::String(fresh.to_vec(), lopdf::StringFormat::Hexadecimal));
    Object::Array(vec![
        first,
        Object::String(fresh.to_vec(), lopdf::StringFormat::Hexadecimal),
    ])
}

/// Consecutive object numbers grouped into xref subsections: (first number, [(offset,
/// generation)]). An object keeps its generation: a rewritten `12 3 obj` is `12 3 obj` again.
fn subsections(offsets: &BTreeMap<ObjectId, u64>) -> Vec<(u32, Vec<(u64, u16)>)> {
    let mut sections: Vec<(u32, Vec<(u64, u16)>)> = Vec::new();
    for (&(number, generation), &offset) in offsets {
        match sections.last_mut() {
            Some((start, entries))
                if u64::from(*start) + entries.len() as u64 == u64::from(number) =>
            {
                entries.push((offset, generation));
            }
            _ => sections.push((number, vec![(offset, generation)])),
        }
    }
    sections
}

fn write_xref_table<W: Write>(
    writer: &mut W,
    offsets: &BTreeMap<ObjectId, u64>,
    trailer: &Dictionary,
) -> Result<(), PdfError> {
    writer.write_all(b"xref\n")?;
    for (start, entries) in subsections(offsets) {
        writer.write_all(format!("{start} {}\n", entries.len()).as_bytes())?;
        for (offset, generation) in entries {
            // Each entry is exactly 20 bytes, ending in space + LF.
            writer.write_all(format!("{offset:010} {generation:05} n \n").as_bytes())?;
        }
    }
    writer.write_all(b"trailer\n")?;
    lopdf::Writer::write_object(writer, &Object::Dictionary(trailer.clone()))
        .map_err(write_error)?;
    writer.write_all(b"\n")?;
    Ok(())
}

fn write_xref_stream<W: Write>(
    writer: &mut W,
    id: ObjectId,
    offsets: &BTreeMap<ObjectId, u64>,
    mut dict: Dictionary,
) -> Result<(), PdfError> {
    let max_offset = offsets.values().copied().max().unwrap_or(0);
    let width = (1..8).find(|w| max_offset < 1u64 << (8 * w)).unwrap_or(8);
    let generation_width = if offsets.keys().any(|id| id.1 > 255) {
        2
    } else {
        1
    };
    let mut index = Vec::new();
    let mut data = Vec::new();
    for (start, entries) in subsections(offsets) {
        index.push(Object::Integer(i64::from(start)));
        index.push(Object::Integer(entries.len() as i64));
        for (offset, generation) in entries {
            data.push(1u8);
            data.extend_from_slice(&offset.to_be_bytes()[8 - width..]);
            data.extend_from_slice(&generation.to_be_bytes()[2 - generation_width..]);
        }
    }
    dict.set("Type", Object::Name(b"XRef".to_vec()));
    dict.set(
        "W",
        Object::Array(vec![
            1.into(),
            (width as i64).into(),
            (generation_width as i64).into(),
        ]),
    );
    dict.set("Index", Object::Array(index));
    dict.set("Length", data.len() as i64);
    writer.write_all(format!("{} {} obj\n", id.0, id.1).as_bytes())?;
    lopdf::Writer::write_object(writer, &Object::Dictionary(dict)).map_err(write_error)?;
    writer.write_all(b"\nstream\n")?;
    writer.write_all(&data)?;
    writer.write_all(b"\nendstream\nendobj\n")?;
    Ok(())
}

fn write_error(e: io::Error) -> PdfError {
    PdfError::Write {
        reason: e.to_string(),
    }
}

struct CountingWriter<'a, W: Write> {
    inner: &'a mut W,
    position: u64,
}

impl<W: Write> Write for CountingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.position += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Feeds the byte ranges `[start, start+len)` of `file` to `update`, in bounded chunks.
///
/// # Errors
/// I/O failures, or a range beyond the end of the file.
pub fn digest_ranges<F: Read + Seek>(
    file: &mut F,
    ranges: &[(u64, u64)],
    mut update: impl FnMut(&[u8]),
) -> io::Result<()> {
    let mut buffer = vec![0u8; 1 << 20];
    for &(start, len) in ranges {
        file.seek(SeekFrom::Start(start))?;
        let mut left = len;
        while left > 0 {
            let want = left.min(buffer.len() as u64) as usize;
            file.read_exact(&mut buffer[..want])?;
            update(&buffer[..want]);
            left -= want as u64;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/cong-van.pdf")).unwrap()
    }

    fn append(original: &[u8], build: impl FnOnce(&PdfRevision, &mut Update)) -> Vec<u8> {
        let revision = PdfRevision::from_bytes(original).unwrap();
        let mut update = Update::new(&revision);
        build(&revision, &mut update);
        let mut out = original.to_vec();
        write_update(&mut out, &revision, update).unwrap();
        out
    }

    #[test]
    fn an_update_keeps_the_original_bytes_and_reads_back() {
        let original = sample();
        let out = append(&original, |revision, update| {
            let id = update.allocate();
            update.set(id, Object::string_literal("hoso"));
            let mut catalog = revision
                .dictionary(revision.catalog_id().unwrap())
                .unwrap()
                .clone();
            catalog.set("HosoTest", Object::Reference(id));
            update.set(revision.catalog_id().unwrap(), catalog);
        });
        assert!(out.starts_with(&original));
        let document = Document::load_mem(&out).unwrap();
        assert!(document.xref_recovery.is_none(), "xref must be exact");
        let catalog = document.catalog().unwrap();
        let id = catalog.get(b"HosoTest").unwrap().as_reference().unwrap();
        assert_eq!(document.get_object(id).unwrap().as_str().unwrap(), b"hoso");
        // A second update on top of the first also reads back (the /Prev chain holds).
        let out2 = append(&out, |revision, update| {
            let mut catalog = revision
                .dictionary(revision.catalog_id().unwrap())
                .unwrap()
                .clone();
            catalog.set("HosoTest2", true);
            update.set(revision.catalog_id().unwrap(), catalog);
        });
        let document = Document::load_mem(&out2).unwrap();
        assert!(document.xref_recovery.is_none());
        assert!(document.catalog().unwrap().get(b"HosoTest").is_ok());
        assert!(document.catalog().unwrap().get(b"HosoTest2").is_ok());
    }

    #[test]
    fn xref_stream_files_get_an_xref_stream_update() {
        // Save the sample with an xref stream, then update it.
        let mut document = Document::load_mem(&sample()).unwrap();
        let mut modern = Vec::new();
        document.save_modern(&mut modern).unwrap();
        let out = append(&modern, |revision, update| {
            let mut catalog = revision
                .dictionary(revision.catalog_id().unwrap())
                .unwrap()
                .clone();
            catalog.set("HosoTest", true);
            update.set(revision.catalog_id().unwrap(), catalog);
        });
        let tail = String::from_utf8_lossy(&out[modern.len()..]).into_owned();
        assert!(
            tail.contains("/Type /XRef") || tail.contains("/Type/XRef"),
            "{tail}"
        );
        let reread = Document::load_mem(&out).unwrap();
        assert!(reread.xref_recovery.is_none());
        assert_eq!(
            reread.catalog().unwrap().get(b"HosoTest").unwrap(),
            &Object::Boolean(true)
        );
    }

    /// A classic PDF from `(number, generation, body)` objects, object 1 the catalog.
    fn handmade(objects: &[(u32, u16, &str)]) -> Vec<u8> {
        let mut out = b"%PDF-1.7\n".to_vec();
        let mut offsets = BTreeMap::new();
        for (number, generation, body) in objects {
            offsets.insert(*number, (out.len(), *generation));
            out.extend_from_slice(
                format!("{number} {generation} obj\n{body}\nendobj\n").as_bytes(),
            );
        }
        let size = offsets.keys().max().unwrap() + 1;
        let xref = out.len();
        out.extend_from_slice(format!("xref\n0 {size}\n0000000000 65535 f \n").as_bytes());
        for number in 1..size {
            let (offset, generation) = offsets[&number];
            out.extend_from_slice(format!("{offset:010} {generation:05} n \n").as_bytes());
        }
        out.extend_from_slice(
            format!("trailer\n<< /Size {size} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n")
                .as_bytes(),
        );
        out
    }

    const PAGE: &str = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595.275601 841.889999] \
        /UserUnit 1.00000001 /Big 123456789012345678901234 /N#20x#2Fy /A#23b \
        /S (a\\)b\\\\c\\nd\\101) /H <0aFF> /Resources << /Scale 0.1234567891 >> >>";

    /// Rewriting a page keeps every value it does not change exactly as written: reals with
    /// more digits than an f32 holds, integers beyond i64, names with # escapes, strings.
    #[test]
    fn a_rewritten_object_keeps_its_untouched_values_byte_for_byte() {
        let original = handmade(&[
            (1, 0, "<< /Type /Catalog /Pages 2 0 R >>"),
            (2, 0, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
            (3, 0, PAGE),
        ]);
        let out = append(&original, |revision, update| {
            let mut page = revision.dictionary((3, 0)).unwrap().clone();
            page.set("Annots", Object::Array(vec![Object::Reference((1, 0))]));
            if let Ok(Object::Dictionary(resources)) = page.get_mut(b"Resources") {
                resources.set("Added", true);
            }
            update.set((3, 0), page);
        });
        let tail = String::from_utf8_lossy(&out[original.len()..]).into_owned();
        for kept in [
            "[0 0 595.275601 841.889999]",
            "1.00000001",
            "123456789012345678901234",
            "/N#20x#2Fy",
            "/A#23b",
            "(a\\)b\\\\c\\nd\\101)",
            "<0aFF>",
            "0.1234567891",
        ] {
            assert!(tail.contains(kept), "{kept} was not kept in:\n{tail}");
        }
        assert!(
            tail.contains("/Annots [1 0 R]") && tail.contains("/Added true"),
            "{tail}"
        );
        // (lopdf gives up on the integer beyond i64; our reader reads it as a real.)
        let reread = PdfRevision::from_bytes(&out).unwrap();
        let page = reread.dictionary((3, 0)).unwrap();
        assert!(page.get(b"Annots").is_ok());
        assert_eq!(page.get(b"N x/y").unwrap(), &Object::Name(b"A#b".to_vec()));
    }

    /// An object with generation 2 is rewritten as generation 2 in the table and in an xref
    /// stream, and readers find it there.
    #[test]
    fn rewritten_objects_keep_their_generation() {
        let original = handmade(&[
            (1, 0, "<< /Type /Catalog /Pages 2 0 R >>"),
            (2, 0, "<< /Type /Pages /Kids [3 2 R] /Count 1 >>"),
            (
                3,
                2,
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>",
            ),
        ]);
        let change = |revision: &PdfRevision, update: &mut Update| {
            let mut page = revision.dictionary((3, 2)).unwrap().clone();
            page.set("HosoTest", true);
            update.set((3, 2), page);
        };
        let out = append(&original, change);
        let tail = String::from_utf8_lossy(&out[original.len()..]).into_owned();
        assert!(
            tail.contains("3 2 obj") && tail.contains(" 00002 n \n"),
            "{tail}"
        );
        let reread = Document::load_mem(&out).unwrap();
        assert!(reread.xref_recovery.is_none());
        assert_eq!(
            reread
                .get_dictionary((3, 2))
                .unwrap()
                .get(b"HosoTest")
                .unwrap(),
            &Object::Boolean(true)
        );
        // The same file with an xref stream: the entry's third field is the generation.
        let mut revision = PdfRevision::from_bytes(&original).unwrap();
        revision.document.reference_table.cross_reference_type = XrefType::CrossReferenceStream;
        let mut update = Update::new(&revision);
        change(&revision, &mut update);
        let mut streamed = original.clone();
        write_update(&mut streamed, &revision, update).unwrap();
        let reread = super::super::reader::read_document(io::Cursor::new(&streamed)).unwrap();
        assert!(reread.get_dictionary((3, 2)).unwrap().has(b"HosoTest"));
        let xref_offset = streamed
            .windows(9)
            .rposition(|w| w == b"startxref")
            .unwrap();
        let tail = &streamed[original.len()..xref_offset];
        let tail_text = String::from_utf8_lossy(tail);
        let widths = regex::Regex::new(r"/W\s*\[\s*1\s+(\d+)\s+(\d+)\s*\]")
            .unwrap()
            .captures(&tail_text)
            .unwrap_or_else(|| panic!("no /W in {tail_text}"));
        let width: usize = widths[1].parse().unwrap();
        assert_eq!(&widths[2], "1");
        let data_at = tail.windows(7).position(|w| w == b"stream\n").unwrap() + 7;
        // The first entry is the page: type 1, its offset, generation 2.
        let entry = &tail[data_at..data_at + 1 + width + 1];
        assert_eq!(entry[0], 1);
        assert_eq!(entry[1 + width], 2, "{entry:?}");
    }

    #[test]
    fn truncated_and_non_pdf_input_are_refused() {
        let original = sample();
        assert!(PdfRevision::from_bytes(&original[..original.len() / 2]).is_err());
        assert!(PdfRevision::from_bytes(b"GIF89a").is_err());
    }
}
