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
use std::io::{Read, Seek, SeekFrom};

use lopdf::xref::XrefType;
use lopdf::{Dictionary, Document, Object, ObjectId, StringFormat};

use super::PdfError;

/// Largest window read for one object (a page tree with many kids, a large array).
const MAX_OBJECT_BYTES: usize = 16 * 1024 * 1024;
/// Largest object or xref stream decoded.
const MAX_DECODED_STREAM: usize = 64 * 1024 * 1024;
/// Longest /Prev chain followed (revisions).
const MAX_SECTIONS: usize = 10_000;

#[derive(Debug, Clone, Copy)]
enum Entry {
    Free,
    Offset(u64),
    InStream { stream: u32, index: u32 },
}

/// Reads the objects of a PDF from a seekable source without loading its stream data.
pub fn read_document<R: Read + Seek>(mut source: R) -> Result<Document, PdfError> {
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
        let section = read_section(&mut source, offset, len)?;
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
        // Hybrid files: the table's trailer points at an xref stream with more entries.
        if let Some(stream_offset) = section
            .trailer
            .get(b"XRefStm")
            .ok()
            .and_then(|o| o.as_i64().ok())
        {
            let hybrid = read_section(&mut source, stream_offset as u64, len)?;
            for (number, entry) in hybrid.entries {
                entries.entry(number).or_insert(entry);
            }
        }
        next = section
            .trailer
            .get(b"Prev")
            .ok()
            .and_then(|o| o.as_i64().ok())
            .map(|p| p as u64);
        if trailer.is_none() {
            trailer = Some(section.trailer);
        }
    }
    let mut trailer = trailer.ok_or_else(|| malformed("no trailer"))?;
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
    let mut object_streams: HashMap<u32, Vec<(u32, Object)>> = HashMap::new();
    let mut numbers: Vec<u32> = entries.keys().copied().collect();
    numbers.sort_unstable();
    for number in numbers {
        match entries[&number] {
            Entry::Free => {}
            Entry::Offset(offset) => {
                let (id, object) = match read_object_at(&mut source, offset, len) {
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
                document.objects.insert(id, object);
            }
            Entry::InStream { stream, index } => {
                if let std::collections::hash_map::Entry::Vacant(slot) =
                    object_streams.entry(stream)
                {
                    let Some(Entry::Offset(offset)) = entries.get(&stream).copied() else {
                        return Err(malformed("an object stream is missing"));
                    };
                    slot.insert(read_object_stream(&mut source, offset, len, &entries)?);
                }
                let objects = &object_streams[&stream];
                if let Some((found, object)) = objects.get(index as usize)
                    && *found == number
                {
                    document.objects.insert((number, 0), object.clone());
                } else if let Some((_, object)) = objects.iter().find(|(n, _)| *n == number) {
                    document.objects.insert((number, 0), object.clone());
                }
            }
        }
    }
    document.max_id = document.objects.keys().map(|id| id.0).max().unwrap_or(0);
    document.trailer = trailer;
    document.xref_start = start as usize;
    document.reference_table.cross_reference_type = xref_type;
    Ok(document)
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
) -> Result<Section, PdfError> {
    let head = read_window(source, offset, 16.min((len - offset) as usize))?;
    if head.starts_with(b"xref") {
        return read_table(source, offset, len);
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
    let widths: Vec<usize> = stream
        .dict
        .get(b"W")
        .and_then(Object::as_array)
        .map_err(|_| malformed("xref stream without /W"))?
        .iter()
        .map(|w| w.as_i64().map(|w| w as usize))
        .collect::<Result<_, _>>()
        .map_err(|_| malformed("bad /W"))?;
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
            let number = (first + i) as u32;
            let entry = match kind {
                0 => Entry::Free,
                1 => Entry::Offset(field(b)),
                2 => Entry::InStream {
                    stream: field(b) as u32,
                    index: field(c) as u32,
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
    let mut window = 64 * 1024;
    loop {
        let available = (len - offset) as usize;
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
                        Token::Keyword(k) if k == b"n" => Entry::Offset(position as u64),
                        Token::Keyword(k) if k == b"f" => Entry::Free,
                        _ => return Err(invalid("bad xref entry type")),
                    };
                    // Object 0 is the head of the free list, never an object.
                    if first + i != 0 {
                        entries.push(((first + i) as u32, entry));
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
    let mut window = 16 * 1024;
    loop {
        let available = (len.saturating_sub(offset)) as usize;
        let bytes = read_window(source, offset, window.min(available))?;
        match parse_indirect(&bytes) {
            Ok((id, mut object, data_start)) => {
                if let (Object::Stream(stream), Some(start)) = (&mut object, data_start) {
                    stream.start_position = Some(offset as usize + start);
                }
                return Ok((id, object));
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
    if length < 0 || start + length as u64 > len || length as usize > MAX_DECODED_STREAM {
        return Err(malformed("stream /Length out of range"));
    }
    stream.content = read_window(source, start, length as usize)?;
    Ok(stream)
}

fn decode(stream: &lopdf::Stream) -> Result<Vec<u8>, PdfError> {
    if stream.dict.get(b"Filter").is_err() {
        return Ok(stream.content.clone());
    }
    stream
        .decompressed_content_with_limit(MAX_DECODED_STREAM)
        .map_err(|e| malformed(&format!("cannot decode a stream: {e}")))
}

fn read_object_stream<R: Read + Seek>(
    source: &mut R,
    offset: u64,
    len: u64,
    entries: &HashMap<u32, Entry>,
) -> Result<Vec<(u32, Object)>, PdfError> {
    let (_, object) = read_object_at(source, offset, len)?;
    let Object::Stream(stream) = object else {
        return Err(malformed("an object stream is not a stream"));
    };
    let stream = load_stream_data(source, offset, len, stream, entries)?;
    let data = decode(&stream)?;
    let count = stream
        .dict
        .get(b"N")
        .and_then(Object::as_i64)
        .map_err(|_| malformed("object stream without /N"))?;
    let first = stream
        .dict
        .get(b"First")
        .and_then(Object::as_i64)
        .map_err(|_| malformed("object stream without /First"))? as usize;
    if first > data.len() || count < 0 {
        return Err(malformed("bad object stream header"));
    }
    let mut header = Lexer::complete(&data[..first]);
    let mut positions = Vec::new();
    for _ in 0..count {
        let (Token::Integer(number), Token::Integer(position)) = (
            header.next_token().map_err(parse_error)?,
            header.next_token().map_err(parse_error)?,
        ) else {
            return Err(malformed("bad object stream header"));
        };
        positions.push((number as u32, first + position as usize));
    }
    let mut objects = Vec::with_capacity(positions.len());
    for (number, position) in positions {
        if position > data.len() {
            return Err(malformed("object stream offset out of range"));
        }
        let mut lexer = Lexer::complete(&data[position..]);
        // A malformed object is left out, as other readers do; what needs it fails later.
        if let Ok(object) = lexer.parse_object() {
            objects.push((number, object));
        }
    }
    Ok(objects)
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
                    && n >= 0
                    && (0..=65535).contains(&generation)
                {
                    return Ok(Object::Reference((n as u32, generation as u16)));
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

/// `N G obj OBJECT [stream…] endobj`: the id, the object, and for a stream where its data
/// starts in `bytes`.
fn parse_indirect(bytes: &[u8]) -> Result<(ObjectId, Object, Option<usize>), ParseError> {
    let mut lexer = Lexer::new(bytes);
    let (Token::Integer(number), Token::Integer(generation)) =
        (lexer.next_token()?, lexer.next_token()?)
    else {
        return Err(invalid("not an indirect object"));
    };
    lexer.expect_keyword(b"obj")?;
    let object = lexer.parse_object()?;
    let id = (
        u32::try_from(number).map_err(|_| invalid("bad object number"))?,
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
        return Ok((id, Object::Stream(stream), Some(start)));
    }
    if lexer.position >= lexer.bytes.len() {
        return Err(ParseError::Incomplete);
    }
    Ok((id, object, None))
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
