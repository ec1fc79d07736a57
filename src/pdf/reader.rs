//! A bounded-memory PDF reader: follows the cross-reference chain from the end of the file and
//! parses each object where the xref says it is, reading only a window around it. Stream data
//! is never read, except for object streams and xref streams (small, and needed to find the
//! objects inside). A 300 MB scan is read as a few hundred kilobytes of dictionaries.
//!
//! It produces a `lopdf::Document` (objects, trailer, xref position and type) so the rest of
//! the crate works with lopdf's types. It is strict where lopdf is lenient: a wrong offset or
//! a malformed object is an error, because an incremental update on top of a file that only
//! "repairs" into shape would itself be broken.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Seek, SeekFrom, Write};

use lopdf::xref::XrefType;
use lopdf::{Dictionary, Document, Object, ObjectId, StringFormat};

use super::PdfError;

/// Largest window read for one object (a page tree with many kids, a large array).
const MAX_OBJECT_BYTES: usize = 16 * 1024 * 1024;
/// Largest object or xref stream decoded.
pub(crate) const MAX_DECODED_STREAM: usize = 64 * 1024 * 1024;
/// Longest /Prev chain followed (revisions).
const MAX_SECTIONS: usize = 10_000;
/// Most entries one cross-reference section may declare (ISO 32000-1 Annex C: at most
/// 8,388,607 indirect objects): a compressed xref stream of zeros with `/W [1 0 0]` would
/// otherwise become tens of millions of entries.
const MAX_XREF_ENTRIES: usize = 8_388_607;
/// Most objects one object stream may list (writers put a few hundred in each): a
/// compressed header of millions of entries is refused.
const MAX_OBJECT_STREAM_OBJECTS: usize = 1_000_000;
/// First window read for an object or a cross-reference table, grown ×4 while the parse
/// needs more: most objects and update tables are far smaller, and the modification
/// analysis reads every revision again (a 64 KB first window made copying dominate a file
/// of a few thousand small updates).
const FIRST_WINDOW: usize = 4 * 1024;
/// Largest object number accepted (2^31 - 1, the largest PDF integer most readers take);
/// an update allocates numbers after the largest one, so this keeps them in range.
const MAX_OBJECT_NUMBER: u32 = i32::MAX as u32;

/// The original text of each (non-stream) object, keyed by id: an incremental update that
/// rewrites an object copies the values it did not change from here, byte for byte, so a
/// real like `595.32001` (read as an `f32`) is never written back as `595.32`.
pub type RawObjects = HashMap<ObjectId, Vec<u8>>;

/// One cross-reference entry: free, at a byte offset, or inside an object stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    Free,
    Offset(u64),
    InStream { stream: u32, index: u32 },
}

/// Reads the objects of a PDF from a seekable source without loading its stream data.
pub fn read_document<R: Read + Seek>(source: R) -> Result<Document, PdfError> {
    Ok(read_document_with_raw(source)?.0)
}

/// [`read_document`], adding to `work` what the read cost, in objects read: every object
/// parsed, one per 16 cross-reference entries and one per 4 KB of stream data decoded (also
/// when the read fails). The modification analysis reads every revision of a file again and
/// charges this to its budget.
pub(crate) fn read_document_counting<R: Read + Seek>(
    source: R,
    work: &mut usize,
) -> Result<Document, PdfError> {
    Ok(read_document_inner(source, work)?.0)
}

/// [`read_document`], with the original text of every object that is not a stream.
pub fn read_document_with_raw<R: Read + Seek>(
    source: R,
) -> Result<(Document, RawObjects), PdfError> {
    read_document_inner(source, &mut 0)
}

fn read_document_inner<R: Read + Seek>(
    mut source: R,
    work: &mut usize,
) -> Result<(Document, RawObjects), PdfError> {
    let len = source.seek(SeekFrom::End(0)).map_err(io_error)?;
    let start = find_startxref(&mut source, len)?;
    let mut entries: HashMap<u32, Entry> = HashMap::new();
    let mut trailer: Option<Dictionary> = None;
    let mut xref_type = XrefType::CrossReferenceTable;
    let mut seen = HashSet::new();
    let mut next = Some(start);
    let mut sections = 0;
    while let Some(offset) = next {
        if !seen.insert(offset) || sections > MAX_SECTIONS {
            return Err(malformed("the cross-reference chain loops"));
        }
        sections += 1;
        if offset >= len {
            return Err(malformed("a cross-reference offset points past the end"));
        }
        let section = read_section(&mut source, offset, len, work)?;
        if trailer.is_none() {
            xref_type = if section.is_stream {
                XrefType::CrossReferenceStream
            } else {
                XrefType::CrossReferenceTable
            };
        }
        // The newest section wins: only fill entries not yet known.
        for (number, entry) in section.entries {
            entries.entry(number).or_insert(entry);
        }
        if entries.len() > MAX_XREF_ENTRIES {
            return Err(malformed(
                "the cross-reference sections list too many objects",
            ));
        }
        // Hybrid files: the table's trailer points at an xref stream with more entries.
        if let Ok(stream_offset) = section.trailer.get(b"XRefStm") {
            let stream_offset = stream_offset
                .as_i64()
                .ok()
                .and_then(|o| u64::try_from(o).ok())
                .filter(|o| *o < len)
                .ok_or_else(|| malformed("/XRefStm is not an offset inside the file"))?;
            let hybrid = read_section(&mut source, stream_offset, len, work)?;
            for (number, entry) in hybrid.entries {
                entries.entry(number).or_insert(entry);
            }
        }
        next = match section.trailer.get(b"Prev") {
            Ok(prev) => Some(
                prev.as_i64()
                    .ok()
                    .and_then(|p| u64::try_from(p).ok())
                    .ok_or_else(|| malformed("/Prev is not an offset"))?,
            ),
            Err(_) => None,
        };
        if trailer.is_none() {
            trailer = Some(section.trailer);
        }
    }
    let mut trailer = trailer.ok_or_else(|| malformed("no trailer"))?;
    if let Ok(size) = trailer.get(b"Size")
        && !size
            .as_i64()
            .is_ok_and(|n| (0..=i64::from(MAX_OBJECT_NUMBER) + 1).contains(&n))
    {
        return Err(malformed("/Size is not a valid object count"));
    }
    for key in [
        b"Prev".as_slice(),
        b"XRefStm",
        b"Type",
        b"W",
        b"Index",
        b"Filter",
        b"DecodeParms",
        b"Length",
    ] {
        trailer.remove(key);
    }

    let mut document = Document::new();
    let mut raw = RawObjects::new();
    let mut object_streams: HashMap<u32, ObjectStream> = HashMap::new();
    let mut numbers: Vec<u32> = entries.keys().copied().collect();
    numbers.sort_unstable();
    for number in numbers {
        match entries[&number] {
            Entry::Free => {}
            Entry::Offset(offset) => {
                *work = work.saturating_add(1);
                let (id, object, text) = match read_object_text_at(&mut source, offset, len) {
                    Ok(found) => found,
                    // A malformed object is left out, as other readers do (a writer's
                    // "-1.#INF"); whatever needs it fails when it looks for it.
                    Err(PdfError::Malformed { reason })
                        if reason.starts_with("object at offset") =>
                    {
                        tracing::debug!(number, %reason, "skipping a malformed object");
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                if id.0 != number {
                    return Err(malformed(&format!(
                        "object {number} is not where the cross-reference table says"
                    )));
                }
                if let Some(text) = text {
                    raw.insert(id, text);
                }
                document.objects.insert(id, object);
            }
            Entry::InStream { stream, index } => {
                if let std::collections::hash_map::Entry::Vacant(slot) =
                    object_streams.entry(stream)
                {
                    let Some(Entry::Offset(offset)) = entries.get(&stream).copied() else {
                        return Err(malformed("an object stream is missing"));
                    };
                    slot.insert(read_object_stream(
                        &mut source,
                        offset,
                        len,
                        &entries,
                        work,
                    )?);
                }
                *work = work.saturating_add(1);
                if let Some((object, text)) = object_streams[&stream].object(number, index) {
                    document.objects.insert((number, 0), object);
                    raw.insert((number, 0), text);
                }
            }
        }
    }
    document.max_id = document.objects.keys().map(|id| id.0).max().unwrap_or(0);
    document.trailer = trailer;
    document.xref_start = start as usize;
    document.reference_table.cross_reference_type = xref_type;
    Ok((document, raw))
}

/// One cross-reference section as the file writes it, before it is merged with the older
/// ones: the modification analysis (`verify::changes`) needs to know what each incremental
/// update itself declared.
#[derive(Debug, Clone)]
pub(crate) struct XrefSection {
    /// Where the section starts (what `startxref` or `/Prev` points at).
    pub(crate) offset: u64,
    /// Its entries in file order; a hybrid file's `/XRefStm` entries follow the table's.
    pub(crate) entries: Vec<(u32, Entry)>,
    /// Where that `/XRefStm` stream is, for a hybrid file.
    pub(crate) hybrid_stream: Option<u64>,
}

/// Every section of the cross-reference chain, newest first, as [`read_document`] follows it
/// (same limits and the same loop and offset checks).
pub(crate) fn xref_sections<R: Read + Seek>(mut source: R) -> Result<Vec<XrefSection>, PdfError> {
    let len = source.seek(SeekFrom::End(0)).map_err(io_error)?;
    let mut next = Some(find_startxref(&mut source, len)?);
    let mut seen = HashSet::new();
    let mut sections = Vec::new();
    while let Some(offset) = next {
        if !seen.insert(offset) || sections.len() > MAX_SECTIONS {
            return Err(malformed("the cross-reference chain loops"));
        }
        if offset >= len {
            return Err(malformed("a cross-reference offset points past the end"));
        }
        let section = read_section(&mut source, offset, len, &mut 0)?;
        let mut entries = section.entries;
        let hybrid_stream = match section.trailer.get(b"XRefStm") {
            Ok(at) => {
                let at = at
                    .as_i64()
                    .ok()
                    .and_then(|o| u64::try_from(o).ok())
                    .filter(|o| *o < len)
                    .ok_or_else(|| malformed("/XRefStm is not an offset inside the file"))?;
                entries.extend(read_section(&mut source, at, len, &mut 0)?.entries);
                Some(at)
            }
            Err(_) => None,
        };
        next = match section.trailer.get(b"Prev") {
            Ok(prev) => Some(
                prev.as_i64()
                    .ok()
                    .and_then(|p| u64::try_from(p).ok())
                    .ok_or_else(|| malformed("/Prev is not an offset"))?,
            ),
            Err(_) => None,
        };
        sections.push(XrefSection {
            offset,
            entries,
            hybrid_stream,
        });
    }
    Ok(sections)
}

struct Section {
    entries: Vec<(u32, Entry)>,
    trailer: Dictionary,
    is_stream: bool,
}

fn find_startxref<R: Read + Seek>(source: &mut R, len: u64) -> Result<u64, PdfError> {
    let tail_len = len.min(4096);
    let tail = read_window(source, len - tail_len, tail_len as usize)?;
    let at = tail
        .windows(9)
        .rposition(|w| w == b"startxref")
        .ok_or_else(|| malformed("no startxref at the end of the file"))?;
    let mut lexer = Lexer::complete(&tail[at + 9..]);
    match lexer.next_token().map_err(parse_error)? {
        Token::Integer(n) if n >= 0 => Ok(n as u64),
        _ => Err(malformed("startxref is not followed by an offset")),
    }
}

fn read_section<R: Read + Seek>(
    source: &mut R,
    offset: u64,
    len: u64,
    work: &mut usize,
) -> Result<Section, PdfError> {
    let available = len
        .checked_sub(offset)
        .filter(|n| *n > 0)
        .ok_or_else(|| malformed("a cross-reference offset points past the end"))?;
    let head = read_window(source, offset, 16.min(available) as usize)?;
    // Some writers point startxref at the end-of-line before `xref`; readers accept that.
    let blank = head.iter().take_while(|b| is_whitespace(**b)).count();
    if head[blank..].starts_with(b"xref") {
        let section = read_table(source, offset + blank as u64, len)?;
        *work = work.saturating_add(1 + section.entries.len() / 16);
        return Ok(section);
    }
    let (_, object) = read_object_at(source, offset, len)?;
    let Object::Stream(stream) = object else {
        return Err(malformed(
            "startxref points at neither a table nor an xref stream",
        ));
    };
    if stream.dict.get(b"Type").and_then(Object::as_name).ok() != Some(b"XRef") {
        return Err(malformed(
            "startxref points at a stream that is not /Type /XRef",
        ));
    }
    let stream = load_stream_data(source, offset, len, stream, &HashMap::new())?;
    let data = decode(&stream)?;
    *work = work.saturating_add(1 + data.len() / 4096);
    let widths: Vec<usize> = stream
        .dict
        .get(b"W")
        .and_then(Object::as_array)
        .map_err(|_| malformed("xref stream without /W"))?
        .iter()
        .map(|w| w.as_i64().ok().and_then(|w| usize::try_from(w).ok()))
        .collect::<Option<_>>()
        .ok_or_else(|| malformed("bad /W"))?;
    if widths.len() != 3 || widths.iter().any(|w| *w > 8) {
        return Err(malformed("bad /W"));
    }
    let size = stream
        .dict
        .get(b"Size")
        .and_then(Object::as_i64)
        .map_err(|_| malformed("xref stream without /Size"))?;
    let index: Vec<i64> = match stream.dict.get(b"Index") {
        Ok(index) => index
            .as_array()
            .map_err(|_| malformed("bad /Index"))?
            .iter()
            .map(|v| v.as_i64().map_err(|_| malformed("bad /Index")))
            .collect::<Result<_, _>>()?,
        Err(_) => vec![0, size],
    };
    let row = widths.iter().sum::<usize>();
    if row == 0 {
        return Err(malformed("bad /W"));
    }
    let field = |bytes: &[u8]| bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    // Every row the subsections claim must be in the data, and within the limit, before
    // any is read.
    let claimed = index.chunks(2).try_fold(0usize, |sum, pair| match pair {
        // A negative count lists nothing, as before.
        [_, count] => sum.checked_add(usize::try_from(*count).unwrap_or(0)),
        _ => None,
    });
    match claimed {
        Some(rows) if rows <= data.len() / row && rows <= MAX_XREF_ENTRIES => {}
        Some(rows) if rows > MAX_XREF_ENTRIES => {
            return Err(malformed("xref stream lists too many objects"));
        }
        Some(_) => return Err(malformed("xref stream shorter than its /Index")),
        None => return Err(malformed("bad /Index")),
    }
    let mut entries = Vec::new();
    let mut rows = data.chunks_exact(row);
    for pair in index.chunks(2) {
        let [first, count] = pair else {
            return Err(malformed("bad /Index"));
        };
        for i in 0..*count {
            let Some(r) = rows.next() else {
                return Err(malformed("xref stream shorter than its /Index"));
            };
            let (a, rest) = r.split_at(widths[0]);
            let (b, c) = rest.split_at(widths[1]);
            // A missing type field means type 1 (ISO 32000-1 Table 17).
            let kind = if widths[0] == 0 { 1 } else { field(a) };
            let number = object_number(first.checked_add(i))
                .ok_or_else(|| malformed("bad /Index: object number out of range"))?;
            let entry = match kind {
                0 => Entry::Free,
                1 => Entry::Offset(field(b)),
                2 => Entry::InStream {
                    stream: u32::try_from(field(b))
                        .ok()
                        .filter(|n| *n <= MAX_OBJECT_NUMBER)
                        .ok_or_else(|| malformed("xref stream: bad object stream number"))?,
                    index: u32::try_from(field(c))
                        .map_err(|_| malformed("xref stream: bad index in object stream"))?,
                },
                _ => continue, // reserved types are ignored, as the standard says
            };
            entries.push((number, entry));
        }
    }
    let mut trailer = stream.dict.clone();
    trailer.remove(b"Length");
    Ok(Section {
        entries,
        trailer,
        is_stream: true,
    })
}

fn read_table<R: Read + Seek>(source: &mut R, offset: u64, len: u64) -> Result<Section, PdfError> {
    let mut window = FIRST_WINDOW;
    let available = usize::try_from(len.saturating_sub(offset))
        .map_err(|_| malformed("cross-reference table out of range"))?;
    loop {
        let bytes = read_window(source, offset, window.min(available))?;
        match parse_table(&bytes) {
            Ok(section) => return Ok(section),
            Err(ParseError::Incomplete) if window < available && window < MAX_OBJECT_BYTES * 4 => {
                window *= 4;
            }
            Err(ParseError::Incomplete) => {
                return Err(malformed("truncated cross-reference table"));
            }
            Err(ParseError::Invalid(reason)) => return Err(malformed(&reason)),
        }
    }
}

fn parse_table(bytes: &[u8]) -> Result<Section, ParseError> {
    let mut lexer = Lexer::new(bytes);
    lexer.expect_keyword(b"xref")?;
    let mut entries = Vec::new();
    loop {
        match lexer.next_token()? {
            Token::Keyword(k) if k == b"trailer" => break,
            Token::Integer(first) => {
                let Token::Integer(count) = lexer.next_token()? else {
                    return Err(invalid("bad xref subsection header"));
                };
                for i in 0..count {
                    let Token::Integer(position) = lexer.next_token()? else {
                        return Err(invalid("bad xref entry"));
                    };
                    let Token::Integer(_generation) = lexer.next_token()? else {
                        return Err(invalid("bad xref entry"));
                    };
                    let entry = match lexer.next_token()? {
                        Token::Keyword(k) if k == b"n" => Entry::Offset(
                            u64::try_from(position).map_err(|_| invalid("bad xref offset"))?,
                        ),
                        Token::Keyword(k) if k == b"f" => Entry::Free,
                        _ => return Err(invalid("bad xref entry type")),
                    };
                    let number = object_number(first.checked_add(i))
                        .ok_or_else(|| invalid("xref object number out of range"))?;
                    // Object 0 is the head of the free list, never an object.
                    if number != 0 {
                        entries.push((number, entry));
                    }
                    if entries.len() > MAX_XREF_ENTRIES {
                        return Err(invalid("cross-reference table lists too many objects"));
                    }
                }
            }
            _ => return Err(invalid("bad cross-reference table")),
        }
    }
    let trailer = match lexer.parse_object()? {
        Object::Dictionary(d) => d,
        _ => return Err(invalid("trailer is not a dictionary")),
    };
    Ok(Section {
        entries,
        trailer,
        is_stream: false,
    })
}

/// Parses `N G obj … endobj` at `offset`. Streams come back with their dictionary and no
/// data; `start_position` holds where the data starts.
fn read_object_at<R: Read + Seek>(
    source: &mut R,
    offset: u64,
    len: u64,
) -> Result<(ObjectId, Object), PdfError> {
    read_object_text_at(source, offset, len).map(|(id, object, _)| (id, object))
}

/// [`read_object_at`], with the object's original text when it is not a stream.
fn read_object_text_at<R: Read + Seek>(
    source: &mut R,
    offset: u64,
    len: u64,
) -> Result<(ObjectId, Object, Option<Vec<u8>>), PdfError> {
    let mut window = FIRST_WINDOW;
    let available = usize::try_from(len.saturating_sub(offset))
        .map_err(|_| malformed(&format!("object at offset {offset} is out of range")))?;
    loop {
        let bytes = read_window(source, offset, window.min(available))?;
        match parse_indirect(&bytes) {
            Ok((id, mut object, data_start, text)) => {
                if let (Object::Stream(stream), Some(start)) = (&mut object, data_start) {
                    let start = usize::try_from(offset)
                        .ok()
                        .and_then(|o| o.checked_add(start))
                        .ok_or_else(|| malformed("stream data out of range"))?;
                    stream.start_position = Some(start);
                }
                let text = text.map(|range| bytes[range].to_vec());
                return Ok((id, object, text));
            }
            Err(ParseError::Incomplete) if window < available && window < MAX_OBJECT_BYTES => {
                window *= 4;
            }
            Err(ParseError::Incomplete) => {
                return Err(malformed(&format!(
                    "object at offset {offset} is truncated"
                )));
            }
            Err(ParseError::Invalid(reason)) => {
                return Err(malformed(&format!("object at offset {offset}: {reason}")));
            }
        }
    }
}

/// Reads the data of a stream whose dictionary was parsed at `offset`.
fn load_stream_data<R: Read + Seek>(
    source: &mut R,
    _offset: u64,
    len: u64,
    mut stream: lopdf::Stream,
    entries: &HashMap<u32, Entry>,
) -> Result<lopdf::Stream, PdfError> {
    let start = stream
        .start_position
        .ok_or_else(|| malformed("stream without data"))? as u64;
    let length = match stream.dict.get(b"Length") {
        Ok(Object::Integer(n)) => *n,
        Ok(Object::Reference(id)) => match entries.get(&id.0) {
            Some(Entry::Offset(at)) => match read_object_at(source, *at, len)?.1 {
                Object::Integer(n) => n,
                _ => return Err(malformed("stream /Length is not a number")),
            },
            _ => return Err(malformed("stream /Length cannot be resolved")),
        },
        _ => return Err(malformed("stream without /Length")),
    };
    let length = usize::try_from(length)
        .ok()
        .filter(|n| *n <= MAX_DECODED_STREAM)
        .ok_or_else(|| malformed("stream /Length out of range"))?;
    if start.checked_add(length as u64).is_none_or(|end| end > len) {
        return Err(malformed("stream /Length out of range"));
    }
    stream.content = read_window(source, start, length)?;
    Ok(stream)
}

/// The decoded data of a stream this reader parsed (its `start_position` set), with /Length
/// resolved in `document`. Small streams only (DSS certificates, OCSP responses, CRLs): at
/// most [`MAX_DECODED_STREAM`] bytes, read and decoded.
///
/// # Errors
/// A stream without a position or a usable /Length, out of the file, or undecodable.
pub(crate) fn stream_content<R: Read + Seek>(
    source: &mut R,
    len: u64,
    stream: &lopdf::Stream,
    document: &Document,
) -> Result<Vec<u8>, PdfError> {
    let start = stream
        .start_position
        .ok_or_else(|| malformed("stream without data"))? as u64;
    let length = match stream.dict.get(b"Length") {
        Ok(Object::Reference(id)) => document.get_object(*id).and_then(Object::as_i64),
        Ok(other) => other.as_i64(),
        Err(e) => Err(e),
    }
    .map_err(|_| malformed("stream /Length cannot be resolved"))?;
    let length = usize::try_from(length)
        .ok()
        .filter(|n| *n <= MAX_DECODED_STREAM)
        .ok_or_else(|| malformed("stream /Length out of range"))?;
    if start.checked_add(length as u64).is_none_or(|end| end > len) {
        return Err(malformed("stream /Length out of range"));
    }
    let mut loaded = lopdf::Stream::new(stream.dict.clone(), Vec::new());
    loaded.content = read_window(source, start, length)?;
    decode(&loaded)
}

fn decode(stream: &lopdf::Stream) -> Result<Vec<u8>, PdfError> {
    if stream.dict.get(b"Filter").is_err() {
        return Ok(stream.content.clone());
    }
    stream
        .decompressed_content_with_limit(MAX_DECODED_STREAM)
        .map_err(|e| malformed(&format!("cannot decode a stream: {e}")))
}

/// An object stream, decoded, with where each of its objects starts; objects are parsed
/// only when the cross-reference sections ask for them.
struct ObjectStream {
    data: Vec<u8>,
    /// (object number, where its text starts in `data`), in header order.
    positions: Vec<(u32, usize)>,
    /// The first position of each object number (when the index in an entry is wrong).
    by_number: HashMap<u32, usize>,
}

impl ObjectStream {
    /// Object `number`, which the entry places at `index`: the object and its text. A
    /// malformed object is left out, as other readers do; what needs it fails later.
    fn object(&self, number: u32, index: u32) -> Option<(Object, Vec<u8>)> {
        let position = match self.positions.get(index as usize) {
            Some((n, position)) if *n == number => *position,
            _ => *self.by_number.get(&number)?,
        };
        let mut lexer = Lexer::complete(self.data.get(position..)?);
        lexer.skip_whitespace();
        let start = lexer.position;
        let object = lexer.parse_object().ok()?;
        Some((object, lexer.bytes[start..lexer.position].to_vec()))
    }
}

/// Reads and decodes an object stream and its header.
fn read_object_stream<R: Read + Seek>(
    source: &mut R,
    offset: u64,
    len: u64,
    entries: &HashMap<u32, Entry>,
    work: &mut usize,
) -> Result<ObjectStream, PdfError> {
    let (_, object) = read_object_at(source, offset, len)?;
    let Object::Stream(stream) = object else {
        return Err(malformed("an object stream is not a stream"));
    };
    let stream = load_stream_data(source, offset, len, stream, entries)?;
    let data = decode(&stream)?;
    *work = work.saturating_add(1 + data.len() / 4096);
    let count = stream
        .dict
        .get(b"N")
        .and_then(Object::as_i64)
        .map_err(|_| malformed("object stream without /N"))?;
    let first = stream
        .dict
        .get(b"First")
        .and_then(Object::as_i64)
        .map_err(|_| malformed("object stream without /First"))?;
    let first = usize::try_from(first)
        .ok()
        .filter(|f| *f <= data.len())
        .ok_or_else(|| malformed("bad object stream header"))?;
    let count = usize::try_from(count).map_err(|_| malformed("bad object stream header"))?;
    if count > MAX_OBJECT_STREAM_OBJECTS {
        return Err(malformed("an object stream lists too many objects"));
    }
    let mut header = Lexer::complete(&data[..first]);
    let mut positions = Vec::new();
    let mut by_number = HashMap::new();
    for _ in 0..count {
        let (Token::Integer(number), Token::Integer(position)) = (
            header.next_token().map_err(parse_error)?,
            header.next_token().map_err(parse_error)?,
        ) else {
            return Err(malformed("bad object stream header"));
        };
        let number = object_number(Some(number))
            .ok_or_else(|| malformed("bad object number in an object stream"))?;
        let position = usize::try_from(position)
            .ok()
            .and_then(|p| p.checked_add(first))
            .filter(|p| *p <= data.len())
            .ok_or_else(|| malformed("object stream offset out of range"))?;
        positions.push((number, position));
        by_number.entry(number).or_insert(position);
    }
    *work = work.saturating_add(positions.len() / 16);
    Ok(ObjectStream {
        data,
        positions,
        by_number,
    })
}

/// An object number from the file, when it is one hoso accepts.
fn object_number(number: Option<i64>) -> Option<u32> {
    number
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n <= MAX_OBJECT_NUMBER)
}

fn read_window<R: Read + Seek>(
    source: &mut R,
    offset: u64,
    len: usize,
) -> Result<Vec<u8>, PdfError> {
    source.seek(SeekFrom::Start(offset)).map_err(io_error)?;
    let mut buffer = Vec::with_capacity(len);
    source
        .by_ref()
        .take(len as u64)
        .read_to_end(&mut buffer)
        .map_err(io_error)?;
    Ok(buffer)
}

// ---------------------------------------------------------------------------------------
// Lexer and parser (ISO 32000-1 §7.2–7.3)
// ---------------------------------------------------------------------------------------

#[derive(Debug)]
enum ParseError {
    /// The window ended inside the object: read more.
    Incomplete,
    Invalid(String),
}

fn invalid(reason: &str) -> ParseError {
    ParseError::Invalid(reason.to_owned())
}

fn parse_error(e: ParseError) -> PdfError {
    match e {
        ParseError::Incomplete => malformed("an object is truncated"),
        ParseError::Invalid(reason) => malformed(&reason),
    }
}

#[derive(Debug, PartialEq)]
enum Token {
    Integer(i64),
    Real(f32),
    Name(Vec<u8>),
    String(Vec<u8>, StringFormat),
    Keyword(Vec<u8>),
    ArrayStart,
    ArrayEnd,
    DictStart,
    DictEnd,
}

fn is_whitespace(b: u8) -> bool {
    matches!(b, b'\0' | b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

fn is_delimiter(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

struct Lexer<'a> {
    bytes: &'a [u8],
    position: usize,
    depth: usize,
    /// The bytes are all there is (a decoded object stream, the file's tail): reaching the
    /// end ends a token instead of asking for a larger window.
    complete: bool,
}

impl<'a> Lexer<'a> {
    /// A window into the file that may cut an object short.
    fn new(bytes: &'a [u8]) -> Self {
        Lexer {
            bytes,
            position: 0,
            depth: 0,
            complete: false,
        }
    }

    fn complete(bytes: &'a [u8]) -> Self {
        Lexer {
            complete: true,
            ..Lexer::new(bytes)
        }
    }

    /// At the end of the bytes: more may follow in the file unless they are complete.
    fn at_open_end(&self) -> bool {
        !self.complete && self.position >= self.bytes.len()
    }

    fn skip_whitespace(&mut self) {
        while let Some(&b) = self.bytes.get(self.position) {
            if is_whitespace(b) {
                self.position += 1;
            } else if b == b'%' {
                while let Some(&c) = self.bytes.get(self.position) {
                    if c == b'\n' || c == b'\r' {
                        break;
                    }
                    self.position += 1;
                }
            } else {
                break;
            }
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.position).copied()
    }

    fn next_token(&mut self) -> Result<Token, ParseError> {
        self.skip_whitespace();
        let Some(b) = self.peek() else {
            return Err(ParseError::Incomplete);
        };
        match b {
            b'[' => {
                self.position += 1;
                Ok(Token::ArrayStart)
            }
            b']' => {
                self.position += 1;
                Ok(Token::ArrayEnd)
            }
            b'<' if self.bytes.get(self.position + 1) == Some(&b'<') => {
                self.position += 2;
                Ok(Token::DictStart)
            }
            b'>' if self.bytes.get(self.position + 1) == Some(&b'>') => {
                self.position += 2;
                Ok(Token::DictEnd)
            }
            b'>' if self.position + 1 >= self.bytes.len() => Err(ParseError::Incomplete),
            b'<' => self.hex_string(),
            b'(' => self.literal_string(),
            b'/' => self.name(),
            b'+' | b'-' | b'.' | b'0'..=b'9' => self.number(),
            b')' | b'>' | b'{' | b'}' => Err(invalid("unexpected delimiter")),
            _ => {
                let start = self.position;
                while let Some(c) = self.peek() {
                    if is_whitespace(c) || is_delimiter(c) {
                        break;
                    }
                    self.position += 1;
                }
                if self.at_open_end() {
                    return Err(ParseError::Incomplete);
                }
                Ok(Token::Keyword(self.bytes[start..self.position].to_vec()))
            }
        }
    }

    fn number(&mut self) -> Result<Token, ParseError> {
        let start = self.position;
        self.position += 1;
        while let Some(c) = self.peek() {
            if c.is_ascii_digit() || c == b'.' {
                self.position += 1;
            } else {
                break;
            }
        }
        if self.at_open_end() {
            return Err(ParseError::Incomplete);
        }
        let text = std::str::from_utf8(&self.bytes[start..self.position])
            .map_err(|_| invalid("bad number"))?;
        if text.contains('.') {
            // PDF writers emit things like "-.5" and "1."; both parse as f32 after fixing.
            let fixed = if text.ends_with('.') {
                format!("{text}0")
            } else {
                text.to_owned()
            };
            fixed
                .parse::<f32>()
                .map(Token::Real)
                .map_err(|_| invalid("bad number"))
        } else {
            match text.parse::<i64>() {
                Ok(n) => Ok(Token::Integer(n)),
                // A lone sign or an out-of-range integer: keep going as a real, like readers do.
                Err(_) => text
                    .parse::<f64>()
                    .map(|v| Token::Real(v as f32))
                    .map_err(|_| invalid("bad number")),
            }
        }
    }

    fn name(&mut self) -> Result<Token, ParseError> {
        self.position += 1;
        let mut name = Vec::new();
        while let Some(c) = self.peek() {
            if is_whitespace(c) || is_delimiter(c) {
                break;
            }
            if c == b'#' {
                let hex = self
                    .bytes
                    .get(self.position + 1..self.position + 3)
                    .ok_or(ParseError::Incomplete)?;
                match std::str::from_utf8(hex)
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(v) => {
                        name.push(v);
                        self.position += 3;
                        continue;
                    }
                    None => name.push(c),
                }
            } else {
                name.push(c);
            }
            self.position += 1;
        }
        if self.at_open_end() {
            return Err(ParseError::Incomplete);
        }
        Ok(Token::Name(name))
    }

    fn hex_string(&mut self) -> Result<Token, ParseError> {
        self.position += 1;
        let mut digits = Vec::new();
        loop {
            let c = self.peek().ok_or(ParseError::Incomplete)?;
            self.position += 1;
            match c {
                b'>' => break,
                c if c.is_ascii_hexdigit() => digits.push(c),
                c if is_whitespace(c) => {}
                _ => return Err(invalid("bad hex string")),
            }
        }
        if digits.len() % 2 == 1 {
            digits.push(b'0');
        }
        let bytes = digits
            .chunks(2)
            .map(|pair| {
                let text = std::str::from_utf8(pair).unwrap_or("00");
                u8::from_str_radix(text, 16).unwrap_or(0)
            })
            .collect();
        Ok(Token::String(bytes, StringFormat::Hexadecimal))
    }

    fn literal_string(&mut self) -> Result<Token, ParseError> {
        self.position += 1;
        let mut out = Vec::new();
        let mut depth = 1;
        loop {
            let c = self.peek().ok_or(ParseError::Incomplete)?;
            self.position += 1;
            match c {
                b'(' => {
                    depth += 1;
                    out.push(c);
                }
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                    out.push(c);
                }
                b'\\' => {
                    let e = self.peek().ok_or(ParseError::Incomplete)?;
                    self.position += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'\r' => {
                            if self.peek() == Some(b'\n') {
                                self.position += 1;
                            }
                        }
                        b'\n' => {}
                        b'0'..=b'7' => {
                            let mut value = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.peek() {
                                    Some(d @ b'0'..=b'7') => {
                                        value = value * 8 + u32::from(d - b'0');
                                        self.position += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push((value & 0xff) as u8);
                        }
                        other => out.push(other),
                    }
                }
                _ => out.push(c),
            }
        }
        Ok(Token::String(out, StringFormat::Literal))
    }

    fn expect_keyword(&mut self, keyword: &[u8]) -> Result<(), ParseError> {
        match self.next_token()? {
            Token::Keyword(k) if k == keyword => Ok(()),
            _ => Err(invalid(&format!(
                "expected `{}`",
                String::from_utf8_lossy(keyword)
            ))),
        }
    }

    /// One direct object, references included.
    fn parse_object(&mut self) -> Result<Object, ParseError> {
        let token = self.next_token()?;
        self.object_from(token)
    }

    fn object_from(&mut self, token: Token) -> Result<Object, ParseError> {
        match token {
            Token::Integer(n) => {
                // "N G R" is a reference; look ahead without consuming otherwise.
                let save = self.position;
                if let Ok(Token::Integer(generation)) = self.next_token()
                    && let Ok(Token::Keyword(k)) = self.next_token()
                    && k == b"R"
                {
                    return match (object_number(Some(n)), u16::try_from(generation)) {
                        (Some(number), Ok(generation)) => {
                            Ok(Object::Reference((number, generation)))
                        }
                        _ => Err(invalid("a reference to an impossible object number")),
                    };
                }
                // A window ending right after a number may hide an "R": ask for more.
                if self.at_open_end() {
                    return Err(ParseError::Incomplete);
                }
                self.position = save;
                Ok(Object::Integer(n))
            }
            Token::Real(v) => Ok(Object::Real(v)),
            Token::Name(n) => Ok(Object::Name(n)),
            Token::String(s, format) => Ok(Object::String(s, format)),
            Token::Keyword(k) => match k.as_slice() {
                b"true" => Ok(Object::Boolean(true)),
                b"false" => Ok(Object::Boolean(false)),
                b"null" => Ok(Object::Null),
                _ => Err(invalid(&format!(
                    "unexpected keyword `{}`",
                    String::from_utf8_lossy(&k)
                ))),
            },
            Token::ArrayStart => {
                self.enter()?;
                let mut items = Vec::new();
                loop {
                    let token = self.next_token()?;
                    if token == Token::ArrayEnd {
                        break;
                    }
                    items.push(self.object_from(token)?);
                }
                self.depth -= 1;
                Ok(Object::Array(items))
            }
            Token::DictStart => {
                self.enter()?;
                let mut dict = Dictionary::new();
                loop {
                    match self.next_token()? {
                        Token::DictEnd => break,
                        Token::Name(key) => {
                            let value = self.parse_object()?;
                            dict.set(key, value);
                        }
                        _ => return Err(invalid("dictionary key is not a name")),
                    }
                }
                self.depth -= 1;
                Ok(Object::Dictionary(dict))
            }
            Token::ArrayEnd | Token::DictEnd => Err(invalid("unexpected end of a container")),
        }
    }

    /// Nesting limit: a crafted file must not overflow the stack.
    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > 256 {
            return Err(invalid("objects nested too deeply"));
        }
        Ok(())
    }
}

/// The parts of `N G obj OBJECT [stream…] endobj`: the id, the object, for a stream where
/// its data starts in `bytes`, else where the object's text is.
type Indirect = (
    ObjectId,
    Object,
    Option<usize>,
    Option<std::ops::Range<usize>>,
);

fn parse_indirect(bytes: &[u8]) -> Result<Indirect, ParseError> {
    let mut lexer = Lexer::new(bytes);
    let (Token::Integer(number), Token::Integer(generation)) =
        (lexer.next_token()?, lexer.next_token()?)
    else {
        return Err(invalid("not an indirect object"));
    };
    lexer.expect_keyword(b"obj")?;
    lexer.skip_whitespace();
    let text_start = lexer.position;
    let object = lexer.parse_object()?;
    let text_end = lexer.position;
    let id = (
        object_number(Some(number)).ok_or_else(|| invalid("bad object number"))?,
        u16::try_from(generation).map_err(|_| invalid("bad generation"))?,
    );
    lexer.skip_whitespace();
    if lexer.bytes[lexer.position..].starts_with(b"stream") {
        let Object::Dictionary(dict) = object else {
            return Err(invalid("stream without a dictionary"));
        };
        let mut start = lexer.position + 6;
        // The keyword is followed by CRLF or LF (a lone CR is tolerated).
        match (bytes.get(start), bytes.get(start + 1)) {
            (Some(b'\r'), Some(b'\n')) => start += 2,
            (Some(b'\n'), _) | (Some(b'\r'), _) => start += 1,
            (None, _) | (Some(_), None) => return Err(ParseError::Incomplete),
            _ => {}
        }
        let stream = lopdf::Stream {
            dict,
            content: Vec::new(),
            allows_compression: false,
            start_position: Some(start),
        };
        return Ok((id, Object::Stream(stream), Some(start), None));
    }
    if lexer.position >= lexer.bytes.len() {
        return Err(ParseError::Incomplete);
    }
    Ok((id, object, None, Some(text_start..text_end)))
}

/// An object parsed with where its text, and each of its values' texts, are.
struct Spanned {
    object: Object,
    range: std::ops::Range<usize>,
    children: Children,
}

enum Children {
    None,
    Array(Vec<Spanned>),
    Dict(Vec<(Vec<u8>, Spanned)>),
}

impl Lexer<'_> {
    /// One object, remembering the text of each array item and dictionary value.
    fn parse_spanned(&mut self) -> Result<Spanned, ParseError> {
        self.skip_whitespace();
        let start = self.position;
        let children = if self.bytes[start..].starts_with(b"<<") {
            self.position += 2;
            self.enter()?;
            let mut entries = Vec::new();
            loop {
                self.skip_whitespace();
                if self.bytes[self.position..].starts_with(b">>") {
                    self.position += 2;
                    break;
                }
                let Token::Name(key) = self.next_token()? else {
                    return Err(invalid("dictionary key is not a name"));
                };
                entries.push((key, self.parse_spanned()?));
            }
            self.depth -= 1;
            Children::Dict(entries)
        } else if self.bytes[start..].starts_with(b"[") {
            self.position += 1;
            self.enter()?;
            let mut items = Vec::new();
            loop {
                self.skip_whitespace();
                if self.peek() == Some(b']') {
                    self.position += 1;
                    break;
                }
                if self.peek().is_none() {
                    return Err(ParseError::Incomplete);
                }
                items.push(self.parse_spanned()?);
            }
            self.depth -= 1;
            Children::Array(items)
        } else {
            let object = self.parse_object()?;
            return Ok(Spanned {
                object,
                range: start..self.position,
                children: Children::None,
            });
        };
        let object = match &children {
            Children::Dict(entries) => {
                let mut dict = Dictionary::new();
                for (key, value) in entries {
                    dict.set(key.clone(), value.object.clone());
                }
                Object::Dictionary(dict)
            }
            Children::Array(items) => {
                Object::Array(items.iter().map(|i| i.object.clone()).collect())
            }
            Children::None => Object::Null,
        };
        Ok(Spanned {
            object,
            range: start..self.position,
            children,
        })
    }
}

/// Writes `object`, the new version of an object whose original text is `original`: every
/// value (at any depth) equal to the one read from the file is copied as the file wrote it,
/// so rewriting a page or a catalog changes only what was meant to change. Reals are `f32`
/// in lopdf; without this, `595.32001` would come back as `595.32`, a different object to
/// a validator comparing revisions.
///
/// # Errors
/// Write failures.
pub fn write_preserving(
    out: &mut dyn Write,
    object: &Object,
    original: &[u8],
) -> std::io::Result<()> {
    let mut lexer = Lexer::complete(original);
    match lexer.parse_spanned() {
        Ok(spanned) => write_merged(out, object, &spanned, original),
        // Not parseable again (it was, when read): write the object as lopdf does.
        Err(_) => lopdf::Writer::write_object(out, object),
    }
}

fn write_merged(
    out: &mut dyn Write,
    object: &Object,
    original: &Spanned,
    text: &[u8],
) -> std::io::Result<()> {
    if *object == original.object {
        return out.write_all(&text[original.range.clone()]);
    }
    match (object, &original.children) {
        (Object::Dictionary(dict), Children::Dict(entries)) => {
            out.write_all(b"<<")?;
            for (key, value) in dict.iter() {
                out.write_all(b" ")?;
                lopdf::Writer::write_object(out, &Object::Name(key.clone()))?;
                out.write_all(b" ")?;
                // The last of duplicate keys is the one a reader keeps.
                match entries.iter().rev().find(|(k, _)| k == key) {
                    Some((_, old)) => write_merged(out, value, old, text)?,
                    None => lopdf::Writer::write_object(out, value)?,
                }
            }
            out.write_all(b" >>")
        }
        (Object::Array(items), Children::Array(old)) => {
            out.write_all(b"[")?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.write_all(b" ")?;
                }
                match old.get(i) {
                    Some(old) => write_merged(out, item, old, text)?,
                    None => lopdf::Writer::write_object(out, item)?,
                }
            }
            out.write_all(b"]")
        }
        _ => lopdf::Writer::write_object(out, object),
    }
}

fn malformed(reason: &str) -> PdfError {
    PdfError::Malformed {
        reason: reason.to_owned(),
    }
}

fn io_error(e: std::io::Error) -> PdfError {
    malformed(&format!("read failed: {e}"))
}

/// Every object of a lopdf document, for comparing with [`read_document`] in tests.
#[cfg(test)]
fn without_stream_data(document: &Document) -> std::collections::BTreeMap<ObjectId, Object> {
    document
        .objects
        .iter()
        .filter(|(_, o)| {
            // Object and xref streams are structure, not objects a reader exposes.
            !matches!(o, Object::Stream(s) if s.dict.get(b"Type").and_then(Object::as_name).is_ok_and(|t| t == b"ObjStm" || t == b"XRef"))
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn sample() -> Vec<u8> {
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/cong-van.pdf")).unwrap()
    }

    /// Our reader and lopdf agree on every object of the sample, as a classic xref file and
    /// as an xref-stream file with object streams.
    #[test]
    fn agrees_with_lopdf_on_tables_and_object_streams() {
        let classic = sample();
        let mut modern = Vec::new();
        let mut doc = Document::load_mem(&classic).unwrap();
        doc.save_modern(&mut modern).unwrap();
        for bytes in [classic, modern] {
            let ours = read_document(Cursor::new(&bytes)).unwrap();
            let theirs = Document::load_mem(&bytes).unwrap();
            assert_eq!(without_stream_data(&ours), without_stream_data(&theirs));
            assert_eq!(
                ours.trailer.get(b"Root").unwrap(),
                theirs.trailer.get(b"Root").unwrap()
            );
            assert_eq!(ours.xref_start, theirs.xref_start);
            assert_eq!(ours.get_pages().len(), theirs.get_pages().len());
        }
    }

    #[test]
    fn literal_strings_names_and_numbers_parse() {
        let mut lexer =
            Lexer::new(b"<< /A#20B (a\\(b\\)\\101\\\nc) /N -.5 /I 12 /R 3 0 R /H <4142 4> >> ");
        let Object::Dictionary(dict) = lexer.parse_object().unwrap() else {
            panic!("not a dictionary");
        };
        assert_eq!(dict.get(b"A B").unwrap().as_str().unwrap(), b"a(b)Ac");
        assert_eq!(dict.get(b"N").unwrap(), &Object::Real(-0.5));
        assert_eq!(dict.get(b"I").unwrap(), &Object::Integer(12));
        assert_eq!(dict.get(b"R").unwrap(), &Object::Reference((3, 0)));
        assert_eq!(dict.get(b"H").unwrap().as_str().unwrap(), b"AB@");
    }

    /// `%PDF-1.7`, `objects` (text), then an xref stream (object `xref_number`) with `rows`
    /// of `[type, field2, field3]` bytes and the given /Index, /Size 9.
    fn with_xref_stream(objects: &str, xref_number: u32, index: &str, rows: &[[u8; 3]]) -> Vec<u8> {
        let mut out = b"%PDF-1.7\n".to_vec();
        out.extend_from_slice(objects.as_bytes());
        let at = out.len();
        let data: Vec<u8> = rows.iter().flatten().copied().collect();
        out.extend_from_slice(
            format!(
                "{xref_number} 0 obj\n<< /Type /XRef /Size 9 /Root 1 0 R /W [1 1 1] /Index {index} /Length {} >>\nstream\n",
                data.len()
            )
            .as_bytes(),
        );
        out.extend_from_slice(&data);
        out.extend_from_slice(format!("\nendstream\nendobj\nstartxref\n{at}\n%%EOF\n").as_bytes());
        out
    }

    /// Numbers from the file near the integer limits are malformed input, never an
    /// arithmetic overflow (a panic in debug builds, a wrong object in release).
    #[test]
    fn out_of_range_numbers_are_malformed_not_overflows() {
        let table = |first: &str, trailer: &str, catalog: &str| {
            let mut out = format!("%PDF-1.7\n1 0 obj\n{catalog}\nendobj\n").into_bytes();
            let xref = out.len();
            out.extend_from_slice(
                format!(
                    "xref\n{first} 1\n0000000009 00000 n \ntrailer\n<< /Size 2 /Root 1 0 R {trailer} >>\nstartxref\n{xref}\n%%EOF\n"
                )
                .as_bytes(),
            );
            out
        };
        let catalog = "<< /Type /Catalog >>";
        // The table itself reads.
        let fine = read_document(Cursor::new(table("1", "", catalog))).unwrap();
        assert!(fine.catalog().is_ok());
        let objects = "1 0 obj\n<< /Type /Catalog >>\nendobj\n3 0 obj\n<< /Type /ObjStm /N 1 /First 6 /Length 12 >>\nstream\n4 -99 <<>> \nendstream\nendobj\n";
        let object_stream_at = 9 + objects.find("3 0 obj").unwrap() as u8;
        for (name, bytes) in [
            (
                "XRefStm past the end",
                table("1", "/XRefStm 99999999999", catalog),
            ),
            ("XRefStm negative", table("1", "/XRefStm -5", catalog)),
            ("Prev negative", table("1", "/Prev -1", catalog)),
            ("Size huge", table("1", "/Size 99999999999", catalog)),
            (
                "subsection at i64::MAX",
                table("9223372036854775807", "", catalog),
            ),
            ("subsection past u32", table("4294967296", "", catalog)),
            (
                "Index at i64::MAX",
                with_xref_stream(
                    "1 0 obj\n<< /Type /Catalog >>\nendobj\n",
                    2,
                    "[9223372036854775807 2]",
                    &[[1, 9, 0], [1, 9, 0]],
                ),
            ),
            (
                "object stream with a negative offset",
                with_xref_stream(
                    objects,
                    2,
                    "[1 1 3 2]",
                    &[[1, 9, 0], [1, object_stream_at, 0], [2, 3, 0]],
                ),
            ),
        ] {
            match std::panic::catch_unwind(|| read_document(Cursor::new(&bytes))) {
                Ok(Err(PdfError::Malformed { .. })) => {}
                Ok(other) => panic!("{name}: expected malformed, got {:?}", other.map(|_| ())),
                Err(_) => panic!("{name}: panicked"),
            }
        }
        // A reference to an object number no file can have makes its object malformed
        // (left out, like other malformed objects), not a reference to object 1.
        let document = read_document(Cursor::new(table(
            "1",
            "",
            "<< /Type /Catalog /Pages 4294967297 0 R >>",
        )))
        .unwrap();
        assert!(document.catalog().is_err());
    }

    #[test]
    fn hostile_input_is_an_error_not_a_panic_or_a_loop() {
        let deep = format!("1 0 obj {} endobj", "[".repeat(10_000));
        assert!(parse_indirect(deep.as_bytes()).is_err());
        let mut looped = b"%PDF-1.7\nxref\n0 1\n0000000000 65535 f \ntrailer << /Size 1 /Prev 9 >>\nstartxref\n9\n%%EOF\n".to_vec();
        looped.extend_from_slice(b"");
        assert!(read_document(Cursor::new(&looped)).is_err());
        assert!(read_document(Cursor::new(b"")).is_err());
        assert!(read_document(Cursor::new(b"%PDF-1.7\nstartxref\n999999\n%%EOF")).is_err());
    }
}
