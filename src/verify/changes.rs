//! Modification analysis (issue #5): what changed in the file after each signature, and
//! whether each change is allowed.
//!
//! A signature covers the file up to the end of one revision; whatever incremental updates
//! are appended later is not covered, and can change what the signer saw: replace a page's
//! content, swap a font or an image the signed page uses (shadow attacks), rewrite a
//! signature dictionary, or hide objects outside the cross-reference sections (incremental
//! saving attacks). So every revision is rebuilt and each later one is compared with the
//! signed one, object by object, following pyHanko's reject-by-default diff policy and EU
//! DSS's change categories (`../shared/docs/signatures.md` §2–3):
//!
//! - allowed ([`Allowed::Yes`]): DSS/VRI data and document timestamps (LTA updates),
//!   signatures into existing empty fields and new signature fields, form filling,
//!   annotations; each only as far as the certification signature's DocMDP level and this
//!   signature's FieldMDP locks permit;
//! - never allowed ([`Allowed::No`]): page content, page resources, the page tree, anything
//!   the signed pages reference, signature dictionaries, visible annotations removed or
//!   changed, appearance streams shared with other objects, and every structural anomaly
//!   (objects outside any cross-reference section, entries pointing back into earlier bytes,
//!   unreadable updates, trailing data);
//! - not allowed under the strict policy, a warning under the lenient one
//!   ([`Allowed::Warn`]): what EU DSS only warns on, that is DocMDP and FieldMDP
//!   violations, annotations painted over the signed content, and changes that fit no known
//!   category.
//!
//! Where this differs from pyHanko, by design (measured on the shared signature corpus):
//! an existing VRI entry may be replaced (PAdES lets the DSS be updated, EU DSS agrees;
//! pyHanko rejects it); an invisible signature field's appearance streams are LTA data, not
//! form filling; a reference from an unknown trailer key (LibreOffice's
//! `/AdditionalStreams`) does not put an object in use; annotations are judged rather than
//! all rejected; and the structure tree, when changed, is named as such (still not allowed
//! under the strict policy).
//!
//! Each revision is read with the project's bounded reader (`pdf::reader`) on the bytes up
//! to its `%%EOF`; each object's successive versions are kept once, so memory follows the
//! number of distinct object versions, not revisions × objects. Stream data is compared in
//! place in the file; only a page's content is decoded (bounded), when an annotation or a
//! signature widget is added over that page.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Cursor;
use std::ops::Range;

use lopdf::{Dictionary, Object, ObjectId};

use crate::pdf::PdfError;
use crate::pdf::reader::{self, Entry};

/// Most revisions analysed (EU DSS's largest sample has 51 signatures). Each revision is
/// read with every section before it, so the work grows with the square of this: 1,000
/// small updates take about 7 s in a debug build (2,000 took 25 s).
const MAX_REVISIONS: usize = 1_000;
/// Most objects parsed over all revisions together: each revision is read whole (its
/// cross-reference chain and decoded streams counted too: `reader::read_document_counting`).
const MAX_OBJECTS_READ: usize = 2_000_000;
/// Most work spent judging revisions, over all the signatures of one file, in objects looked
/// at (judging a revision looks at each object about once). With n signatures each judged
/// against every later revision, the work grows as n²: a file with thousands of
/// one-signature revisions must not take hours.
const MAX_JUDGING_WORK: usize = 100_000_000;
/// Most findings of one kind listed per revision; the rest are counted in one more line.
const MAX_LISTED: usize = 64;
/// Longest chain of references followed to resolve one value.
const MAX_INDIRECTION: usize = 32;

/// Catalog entries that may change after signing; each is checked by its own rule
/// (pyHanko's `ROOT_EXEMPT_STRICT_COMPARISON`).
const CATALOG_MAY_CHANGE: &[&[u8]] = &[
    b"AcroForm",
    b"DSS",
    b"Extensions",
    b"Metadata",
    b"MarkInfo",
    b"Version",
];
/// AcroForm entries that may change when fields are filled or signed.
const ACROFORM_MAY_CHANGE: &[&[u8]] = &[
    b"Fields",
    b"DR",
    b"DA",
    b"Q",
    b"NeedAppearances",
    b"SigFlags",
];
/// Field entries that filling in or signing a field changes (pyHanko's `VALUE_UPDATE_KEYS`).
const FIELD_VALUE_KEYS: &[&[u8]] = &[b"AP", b"AS", b"V", b"F", b"DA", b"Q", b"Ff", b"Type"];
/// Entries a writer may touch on a field whose value does not change (Acrobat sets /Ff freely).
const FIELD_ALWAYS_MAY_CHANGE: &[&[u8]] = &[b"Ff", b"Type"];
/// Widget entries that follow the value of their field.
const WIDGET_VALUE_KEYS: &[&[u8]] = &[b"AP", b"AS", b"F", b"MK", b"DA", b"Q", b"Type"];
/// Page (and page tree node) entries that decide what the page shows or does when shown.
const PAGE_DISPLAY_KEYS: &[&[u8]] = &[
    b"Kids",
    b"Count",
    b"MediaBox",
    b"CropBox",
    b"BleedBox",
    b"TrimBox",
    b"ArtBox",
    b"Rotate",
    b"Group",
    b"UserUnit",
    b"AA",
];
/// Keys that point back up a tree (pages, fields, annotations): never followed when
/// collecting what an object uses.
const BACK_POINTERS: &[&[u8]] = &[b"Parent", b"P"];
/// Annotation types a viewer paints even without an appearance stream.
const PAINTING_ANNOTATIONS: &[&[u8]] = &[
    b"Text",
    b"FreeText",
    b"Line",
    b"Square",
    b"Circle",
    b"Polygon",
    b"PolyLine",
    b"Highlight",
    b"Underline",
    b"Squiggly",
    b"StrikeOut",
    b"Stamp",
    b"Caret",
    b"Ink",
    b"FileAttachment",
    b"Sound",
    b"Redact",
    b"Watermark",
];

// ---------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------

/// One revision of the file: the original document or one incremental update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// Offset just after this revision's `%%EOF` marker.
    pub eof: u64,
    /// Offset after the whitespace that follows `%%EOF`, where the next update starts. A
    /// signature whose ByteRange ends anywhere in `eof..=end` signs this revision.
    pub end: u64,
    /// Offsets of the cross-reference sections this revision added, newest first (two for
    /// the first revision of a linearized file).
    pub xref_offsets: Vec<u64>,
}

/// What kind of changes happened after a signature, from harmless to anything (pyHanko's
/// `ModificationLevel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ModificationLevel {
    /// Nothing was appended after the signed revision.
    None,
    /// Long-term validation data: DSS, document timestamps, invisible signature fields,
    /// metadata.
    LtaUpdates,
    /// Form fields filled in, signatures added.
    FormFilling,
    /// Annotations added or changed.
    Annotations,
    /// Anything else: at least one change is not allowed.
    Other,
}

impl ModificationLevel {
    /// Stable code for reports.
    pub fn code(self) -> &'static str {
        match self {
            ModificationLevel::None => "none",
            ModificationLevel::LtaUpdates => "lta-updates",
            ModificationLevel::FormFilling => "form-filling",
            ModificationLevel::Annotations => "annotations",
            ModificationLevel::Other => "other",
        }
    }
}

/// Whether one change after signing is acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Allowed {
    /// Permitted after this signature.
    Yes,
    /// Not permitted under the strict (default) policy; the lenient policy reports it as a
    /// warning, as EU DSS's default policy does for DocMDP, FieldMDP and undefined changes.
    Warn,
    /// Never permitted: it changes what the signer saw, or the file's structure is forged.
    No,
}

impl Allowed {
    /// Stable code for reports.
    pub fn code(self) -> &'static str {
        match self {
            Allowed::Yes => "yes",
            Allowed::Warn => "warn",
            Allowed::No => "no",
        }
    }
}

/// The permissions a certification signature grants (DocMDP `/P`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocMdp {
    /// P=1: no changes (except DSS and document timestamps, as PAdES allows).
    NoChanges,
    /// P=2: filling in forms and signing.
    FormFilling,
    /// P=3: also annotations.
    Annotations,
}

impl DocMdp {
    /// From the `/P` value; absent means 2 (ISO 32000-1 Table 254), anything else is refused.
    pub fn from_p(p: Option<i64>) -> Option<Self> {
        match p {
            Some(1) => Some(DocMdp::NoChanges),
            None | Some(2) => Some(DocMdp::FormFilling),
            Some(3) => Some(DocMdp::Annotations),
            Some(_) => None,
        }
    }

    /// The `/P` value.
    pub fn p(self) -> u8 {
        match self {
            DocMdp::NoChanges => 1,
            DocMdp::FormFilling => 2,
            DocMdp::Annotations => 3,
        }
    }

    fn ceiling(self) -> ModificationLevel {
        match self {
            DocMdp::NoChanges => ModificationLevel::LtaUpdates,
            DocMdp::FormFilling => ModificationLevel::FormFilling,
            DocMdp::Annotations => ModificationLevel::Annotations,
        }
    }
}

/// A FieldMDP lock: which form fields a signature forbids changing afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldLock {
    All,
    /// Only these fields (fully qualified names; a name locks its descendants too).
    Include(Vec<String>),
    /// Every field except these.
    Exclude(Vec<String>),
}

impl FieldLock {
    /// Whether the field with this fully qualified name is locked.
    pub fn locks(&self, field: &str) -> bool {
        let listed = |names: &[String]| {
            names.iter().any(|name| {
                field == name
                    || field
                        .strip_prefix(name.as_str())
                        .is_some_and(|rest| rest.starts_with('.'))
            })
        };
        match self {
            FieldLock::All => true,
            FieldLock::Include(names) => listed(names),
            FieldLock::Exclude(names) => !listed(names),
        }
    }
}

/// What the certification signature and this signature permit after it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Permissions {
    /// The certification level of the document, when a certification signature is at or
    /// before the signed revision.
    pub doc_mdp: Option<DocMdp>,
    /// The signature's FieldMDP transform and its field's `/Lock`.
    pub field_locks: Vec<FieldLock>,
}

impl Permissions {
    fn locks(&self, field: &str) -> bool {
        self.field_locks.iter().any(|lock| lock.locks(field))
    }
}

/// One change found after a signature, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Index of the revision that made the change (0 is the original document); `None` for
    /// findings about the file as a whole.
    pub revision: Option<usize>,
    /// The object concerned, when there is one.
    pub object: Option<ObjectId>,
    /// Stable code, e.g. `content-stream-changed`, `dss-added`, `unxref-appended-object`.
    pub kind: &'static str,
    /// The category of the change; `Other` for changes that fit no allowed category.
    pub level: ModificationLevel,
    pub allowed: Allowed,
    /// English explanation.
    pub detail: String,
    /// Vietnamese explanation, for the clerk.
    pub detail_vi: String,
}

/// The modification analysis of one signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeReport {
    /// Index of the signed revision, when the signed range ends at a revision's end.
    pub signed_revision: Option<usize>,
    /// How many revisions follow the signed one.
    pub revisions_after: usize,
    /// `None` when nothing follows the signed revision, `Other` when any change is not
    /// allowed, else the highest level of the changes (at least `LtaUpdates`).
    pub level: ModificationLevel,
    pub changes: Vec<Change>,
}

impl ChangeReport {
    /// The worst verdict among the changes (`Yes` when there are none).
    pub fn worst(&self) -> Allowed {
        self.changes
            .iter()
            .map(|c| c.allowed)
            .max()
            .unwrap_or(Allowed::Yes)
    }
}

/// Every revision of the file, oldest first.
///
/// # Errors
/// [`PdfError::Malformed`] when the cross-reference chain cannot be followed or its
/// revisions overlap.
pub fn revisions(file: &[u8]) -> Result<Vec<Revision>, PdfError> {
    Ok(layout(file)?.into_iter().map(|l| l.revision).collect())
}

/// The changes after the signature whose signed range ends at `signed_revision_end` (the
/// end of its ByteRange), with the permissions read from the signed revision.
pub fn analyze(file: &[u8], signed_revision_end: u64) -> ChangeReport {
    let history = History::read(file);
    let permissions = history.permissions(signed_revision_end);
    history.analyze(signed_revision_end, &permissions)
}

// ---------------------------------------------------------------------------------------
// Revisions and object versions
// ---------------------------------------------------------------------------------------

/// Where a revision is and what its cross-reference sections declare.
struct Layout {
    revision: Revision,
    /// The entries it declares, the first one per object number (the one readers use).
    entries: Vec<(u32, Entry)>,
    /// Where its sections' own objects start (xref streams, hybrid `/XRefStm` streams).
    section_objects: Vec<u64>,
}

fn layout(file: &[u8]) -> Result<Vec<Layout>, PdfError> {
    let sections = reader::xref_sections(Cursor::new(file))?;
    // A section placed after the one pointing at it belongs to the same revision: a
    // linearized file's main table, reached from its first-page table.
    let mut groups: Vec<Vec<reader::XrefSection>> = Vec::new();
    for section in sections {
        match groups.last_mut() {
            Some(group)
                if group
                    .last()
                    .is_some_and(|newer| section.offset > newer.offset) =>
            {
                group.push(section);
            }
            _ => groups.push(vec![section]),
        }
    }
    if groups.len() > MAX_REVISIONS {
        return Err(malformed("too many revisions"));
    }
    let mut layouts: Vec<Layout> = Vec::with_capacity(groups.len());
    for group in groups.into_iter().rev() {
        let Some(newest) = group.first().map(|s| s.offset) else {
            continue;
        };
        let mut section_objects = Vec::new();
        for section in &group {
            section_objects.push(section.offset);
            section_objects.extend(section.hybrid_stream);
        }
        // A hybrid file's /XRefStm stream may sit in an earlier revision (Word writes an
        // empty update whose /XRefStm points back at the first revision's stream), so only
        // the sections themselves place the revision.
        let first = group.iter().map(|s| s.offset).min().unwrap_or(newest);
        let last = group.iter().map(|s| s.offset).max().unwrap_or(newest);
        let at = usize::try_from(last).map_err(|_| malformed("offset out of range"))?;
        let startxref = find(file, b"startxref", at).ok_or_else(|| {
            malformed("a revision has no startxref after its cross-reference section")
        })?;
        if number_after(file, startxref + 9) != Some(newest) {
            return Err(malformed(
                "a revision's startxref does not point at its cross-reference section",
            ));
        }
        let eof = find(file, b"%%EOF", startxref)
            .ok_or_else(|| malformed("a revision has no %%EOF"))?
            + 5;
        let mut end = eof;
        while file.get(end).is_some_and(|b| is_whitespace(*b)) {
            end += 1;
        }
        if let Some(older) = layouts.last()
            && first < older.revision.end
        {
            return Err(malformed(
                "an update's cross-reference section lies inside an earlier revision",
            ));
        }
        let mut entries = Vec::new();
        let mut seen = HashSet::new();
        for section in &group {
            for (number, entry) in &section.entries {
                if seen.insert(*number) {
                    entries.push((*number, *entry));
                }
            }
        }
        layouts.push(Layout {
            revision: Revision {
                eof: eof as u64,
                end: end as u64,
                xref_offsets: group.iter().map(|s| s.offset).collect(),
            },
            entries,
            section_objects,
        });
    }
    Ok(layouts)
}

/// One value of an object, from the revision that wrote it until the next one that changes
/// it. `object: None` means the object stopped existing.
struct Version {
    revision: usize,
    object: Option<Object>,
    /// For streams, where the (encoded) data lies in the file.
    data: Option<Range<usize>>,
}

/// What one revision brought, independently of any signature.
struct RevisionDetails {
    trailer: Dictionary,
    /// Why its objects could not be read; the analysis stops trusting it.
    read_error: Option<String>,
    /// The object budget ran out before this revision.
    over_limit: bool,
    /// Objects whose value differs from the previous revision, or that appeared or vanished.
    changed: Vec<ObjectId>,
    /// Structural anomalies of the update itself (no signature needed to judge them).
    anomalies: Vec<Change>,
}

/// The file's revisions, read once, for analysing each of its signatures.
pub struct History<'a> {
    file: &'a [u8],
    revisions: Vec<Revision>,
    details: Vec<RevisionDetails>,
    versions: HashMap<ObjectId, Vec<Version>>,
    /// Why the revisions could not be rebuilt at all.
    unreadable: Option<String>,
    /// What is left of [`MAX_JUDGING_WORK`].
    work_left: std::sync::atomic::AtomicUsize,
    /// [`History::analyze_signature`]'s results by signed range end.
    analysed: std::sync::Mutex<HashMap<u64, ChangeReport>>,
}

impl<'a> History<'a> {
    /// Rebuilds every revision of `file`. Never fails: what cannot be read is reported by
    /// [`History::analyze`] as a change that is not allowed.
    pub fn read(file: &'a [u8]) -> Self {
        let mut history = History {
            file,
            revisions: Vec::new(),
            details: Vec::new(),
            versions: HashMap::new(),
            unreadable: None,
            work_left: std::sync::atomic::AtomicUsize::new(MAX_JUDGING_WORK),
            analysed: std::sync::Mutex::default(),
        };
        let layouts = match layout(file) {
            Ok(layouts) => layouts,
            Err(e) => {
                history.unreadable = Some(reason(&e));
                return history;
            }
        };
        let mut effective: HashMap<u32, Entry> = HashMap::new();
        let mut alive: HashSet<ObjectId> = HashSet::new();
        let mut budget = MAX_OBJECTS_READ;
        let mut previous_end = 0usize;
        // Where the previous revision's `%%EOF` ends: an entry pointing into the blank lines
        // after it (writers that are off by one) points at the new update, not at old bytes.
        let mut previous_eof = 0usize;
        for (index, layout) in layouts.into_iter().enumerate() {
            let mut details = RevisionDetails {
                trailer: Dictionary::new(),
                read_error: None,
                over_limit: false,
                changed: Vec::new(),
                anomalies: Vec::new(),
            };
            if index > 0 {
                redirected_entries(index, &layout, &effective, previous_eof, &mut details);
            }
            for (number, entry) in &layout.entries {
                effective.insert(*number, *entry);
            }
            let eof = usize::try_from(layout.revision.eof).unwrap_or(usize::MAX);
            let end = usize::try_from(layout.revision.end).unwrap_or(usize::MAX);
            if budget == 0 {
                details.over_limit = true;
                details.read_error = Some("too many objects to analyse".to_owned());
            } else {
                // What the read cost: its objects, and also the sections before it, read
                // again (a file of many small updates is quadratic in them) and the stream
                // data decoded, failed reads included.
                let mut work = 0;
                let read = file
                    .get(..eof)
                    .map(|prefix| reader::read_document_counting(Cursor::new(prefix), &mut work));
                budget = budget.saturating_sub(work.max(1));
                match read {
                    Some(Ok(document)) => {
                        history.ingest(
                            index,
                            document,
                            &layout,
                            previous_end..end,
                            &mut alive,
                            &mut details,
                        );
                    }
                    Some(Err(e)) => details.read_error = Some(reason(&e)),
                    None => details.read_error = Some("the revision ends past the file".to_owned()),
                }
            }
            previous_end = end;
            previous_eof = eof;
            history.revisions.push(layout.revision);
            history.details.push(details);
        }
        history
    }

    /// Records the objects of revision `index` that differ from the previous revision, and
    /// checks the update's structure against what it declares.
    fn ingest(
        &mut self,
        index: usize,
        mut document: lopdf::Document,
        layout: &Layout,
        region: Range<usize>,
        alive: &mut HashSet<ObjectId>,
        details: &mut RevisionDetails,
    ) {
        let file = self.file;
        let spans: HashMap<ObjectId, Range<usize>> = document
            .objects
            .iter()
            .filter_map(|(id, object)| match object {
                Object::Stream(stream) => {
                    stream_span(stream, &document, file.len()).map(|s| (*id, s))
                }
                _ => None,
            })
            .collect();
        if index > 0 {
            let numbers: HashSet<u32> = document.objects.keys().map(|id| id.0).collect();
            let mut broken = Vec::new();
            for (number, entry) in &layout.entries {
                if let Entry::Offset(offset) = entry
                    && !numbers.contains(number)
                {
                    broken.push((*number, *offset));
                }
            }
            for (listed, (number, offset)) in broken.into_iter().enumerate() {
                if listed == MAX_LISTED {
                    break;
                }
                details.anomalies.push(Change {
                    revision: Some(index),
                    object: Some((number, 0)),
                    kind: "xref-entry-broken",
                    level: ModificationLevel::Other,
                    allowed: Allowed::No,
                    detail: format!(
                        "The cross-reference section of revision {index} places object {number} at offset {offset}, where that object is not."
                    ),
                    detail_vi: format!(
                        "Bảng tham chiếu chéo của phiên bản {index} đặt đối tượng {number} tại vị trí {offset}, nhưng ở đó không có đối tượng này."
                    ),
                });
            }
            unlisted_objects(file, index, layout, &region, &spans, details);
        }
        details.trailer = std::mem::take(&mut document.trailer);
        let objects = std::mem::take(&mut document.objects);
        let mut present = HashSet::with_capacity(objects.len());
        for (id, object) in objects {
            present.insert(id);
            let version = Version {
                revision: index,
                object: Some(object),
                data: spans.get(&id).cloned(),
            };
            let versions = self.versions.entry(id).or_default();
            if versions
                .last()
                .is_some_and(|last| same_version(last, &version, file))
            {
                continue;
            }
            versions.push(version);
            details.changed.push(id);
        }
        let mut vanished: Vec<ObjectId> = alive.difference(&present).copied().collect();
        vanished.sort_unstable();
        for id in vanished {
            self.versions.entry(id).or_default().push(Version {
                revision: index,
                object: None,
                data: None,
            });
            details.changed.push(id);
        }
        details.changed.sort_unstable();
        *alive = present;
    }

    /// Takes `work` from what is left for judging; false when it has run out.
    fn spend(&self, work: usize) -> bool {
        use std::sync::atomic::Ordering;
        self.work_left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(work)
            })
            .is_ok()
    }

    /// The revisions, oldest first (empty when they could not be rebuilt).
    pub fn revisions(&self) -> &[Revision] {
        &self.revisions
    }

    /// The revision a signed range ending at `signed_end` signs.
    fn signed_revision(&self, signed_end: u64) -> Option<usize> {
        self.revisions
            .iter()
            .position(|r| r.eof <= signed_end && signed_end <= r.end)
    }

    fn state(&self, revision: usize) -> State<'_> {
        State {
            history: self,
            revision,
        }
    }

    /// The DocMDP level in force at the signed revision and the FieldMDP locks of the
    /// signature whose range ends at `signed_revision_end` (found by its ByteRange).
    pub fn permissions(&self, signed_revision_end: u64) -> Permissions {
        let mut permissions = Permissions::default();
        let Some(signed) = self.signed_revision(signed_revision_end) else {
            return permissions;
        };
        let state = self.state(signed);
        let Some(catalog) = state.catalog() else {
            return permissions;
        };
        // The certification signature, if any, is /Perms /DocMDP.
        if let Some(perms) = catalog.get(b"Perms").ok().and_then(|p| state.dict(p))
            && let Some(certification) = perms.get(b"DocMDP").ok().and_then(|d| state.dict(d))
        {
            for reference in transforms(&state, certification) {
                if name_of(reference.get(b"TransformMethod").ok()) == Some(b"DocMDP".as_slice()) {
                    let p = reference
                        .get(b"TransformParams")
                        .ok()
                        .and_then(|t| state.dict(t))
                        .and_then(|t| t.get(b"P").ok())
                        .and_then(|p| state.resolve(p))
                        .and_then(|p| p.as_i64().ok());
                    // An out-of-range /P is read as the strictest level.
                    permissions.doc_mdp = Some(DocMdp::from_p(p).unwrap_or(DocMdp::NoChanges));
                }
            }
        }
        // This signature's field: the one whose /V is the dictionary with this ByteRange.
        let facts = Facts::of(state);
        for field in facts.fields.values() {
            let Some(value) = field.dict.get(b"V").ok().and_then(|v| state.dict(v)) else {
                continue;
            };
            if signed_end_of(&state, value) != Some(signed_revision_end) {
                continue;
            }
            for reference in transforms(&state, value) {
                if name_of(reference.get(b"TransformMethod").ok()) == Some(b"FieldMDP".as_slice())
                    && let Some(lock) = reference
                        .get(b"TransformParams")
                        .ok()
                        .and_then(|t| state.dict(t))
                        .and_then(|t| field_lock(&state, t))
                {
                    permissions.field_locks.push(lock);
                }
            }
            if let Some(lock) = field
                .dict
                .get(b"Lock")
                .ok()
                .and_then(|l| state.dict(l))
                .and_then(|l| field_lock(&state, l))
            {
                permissions.field_locks.push(lock);
            }
            break;
        }
        permissions
    }

    /// [`History::analyze`] with the signature's own [`History::permissions`], done once per
    /// signed range end: fields sharing one signature dictionary (a crafted form can have
    /// thousands) are analysed once, not once each.
    pub fn analyze_signature(&self, signed_revision_end: u64) -> ChangeReport {
        let done = |memo: &std::sync::Mutex<HashMap<u64, ChangeReport>>| {
            memo.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get(&signed_revision_end)
                .cloned()
        };
        if let Some(report) = done(&self.analysed) {
            return report;
        }
        let permissions = self.permissions(signed_revision_end);
        let report = self.analyze(signed_revision_end, &permissions);
        self.analysed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(signed_revision_end, report.clone());
        report
    }

    /// The changes after the signature whose signed range ends at `signed_revision_end`.
    pub fn analyze(&self, signed_revision_end: u64, permissions: &Permissions) -> ChangeReport {
        let mut report = ChangeReport {
            signed_revision: None,
            revisions_after: 0,
            level: ModificationLevel::None,
            changes: Vec::new(),
        };
        if let Some(why) = &self.unreadable {
            report.changes.push(Change {
                revision: None,
                object: None,
                kind: "revisions-unreadable",
                level: ModificationLevel::Other,
                allowed: Allowed::No,
                detail: format!(
                    "The file's revisions cannot be rebuilt, so what changed after signing cannot be known: {why}."
                ),
                detail_vi: format!(
                    "Không dựng lại được các phiên bản của tệp nên không biết được nội dung nào đã thay đổi sau khi ký: {why}."
                ),
            });
            report.level = ModificationLevel::Other;
            return report;
        }
        let file_len = self.file.len() as u64;
        let Some(signed) = self.signed_revision(signed_revision_end) else {
            if signed_revision_end == file_len {
                // The signature covers every byte: nothing can have changed after it.
                return report;
            }
            report.changes.push(Change {
                revision: None,
                object: None,
                kind: "signed-revision-not-found",
                level: ModificationLevel::Other,
                allowed: Allowed::No,
                detail: format!(
                    "The signed range ends at byte {signed_revision_end}, which is not the end of a revision, so the signed revision cannot be identified."
                ),
                detail_vi: format!(
                    "Phạm vi ký kết thúc tại byte {signed_revision_end}, không phải cuối một phiên bản của tệp, nên không xác định được phiên bản đã ký."
                ),
            });
            report.level = ModificationLevel::Other;
            return report;
        };
        report.signed_revision = Some(signed);
        report.revisions_after = self.revisions.len() - signed - 1;
        if let Some(details) = self.details.get(signed)
            && let Some(why) = &details.read_error
        {
            report
                .changes
                .push(unreadable_revision(signed, details.over_limit, why));
        } else if !self.spend(self.versions.len().max(1)) {
            // Reading the signed revision's facts looks at every object too.
            report.changes.push(unreadable_revision(signed, true, ""));
        } else {
            let base = Signed::of(self.state(signed));
            let mut previous: Option<Facts<'_>> = None;
            for revision in signed + 1..self.revisions.len() {
                let Some(details) = self.details.get(revision) else {
                    break;
                };
                report.changes.extend(details.anomalies.iter().cloned());
                if let Some(why) = &details.read_error {
                    report
                        .changes
                        .push(unreadable_revision(revision, details.over_limit, why));
                    continue;
                }
                if !self.spend(self.versions.len().max(1)) {
                    report.changes.push(unreadable_revision(revision, true, ""));
                    break;
                }
                let (changes, facts) = {
                    let before = previous.as_ref().unwrap_or(&base.facts);
                    let mut judge = Judge::new(&base, before, self.state(revision), permissions);
                    judge.run();
                    (judge.changes, judge.new)
                };
                report.changes.extend(changes);
                previous = Some(facts);
            }
        }
        if let Some(last) = self.revisions.last()
            && last.end < file_len
            && signed_revision_end < file_len
        {
            let extra = file_len - last.end;
            report.changes.push(Change {
                revision: None,
                object: None,
                kind: "trailing-data",
                level: ModificationLevel::Other,
                allowed: Allowed::No,
                detail: format!(
                    "{extra} bytes follow the last %%EOF and belong to no revision: data appended without a cross-reference section."
                ),
                detail_vi: format!(
                    "Có {extra} byte nằm sau dấu %%EOF cuối cùng, không thuộc phiên bản nào: dữ liệu được nối thêm mà không có bảng tham chiếu chéo."
                ),
            });
        }
        report.level = if report.changes.iter().any(|c| c.allowed != Allowed::Yes) {
            ModificationLevel::Other
        } else if report.revisions_after == 0 && report.changes.is_empty() {
            ModificationLevel::None
        } else {
            report
                .changes
                .iter()
                .map(|c| c.level)
                .max()
                .unwrap_or(ModificationLevel::LtaUpdates)
                .max(ModificationLevel::LtaUpdates)
        };
        report
    }
}

fn unreadable_revision(revision: usize, over_limit: bool, why: &str) -> Change {
    if over_limit {
        return Change {
            revision: Some(revision),
            object: None,
            kind: "analysis-limit-exceeded",
            level: ModificationLevel::Other,
            allowed: Allowed::No,
            detail: "The file has too many revisions or objects to analyse within hoso's limits."
                .to_owned(),
            detail_vi:
                "Tệp có quá nhiều phiên bản hoặc đối tượng để phân tích trong giới hạn cho phép."
                    .to_owned(),
        };
    }
    Change {
        revision: Some(revision),
        object: None,
        kind: "revision-unreadable",
        level: ModificationLevel::Other,
        allowed: Allowed::No,
        detail: format!("Revision {revision} cannot be read: {why}."),
        detail_vi: format!("Không đọc được phiên bản {revision} của tệp: {why}."),
    }
}

/// Entries of an update that give an object a new place inside earlier bytes: the update
/// redirects to something the signer's revision did not list (incremental saving attack).
fn redirected_entries(
    index: usize,
    layout: &Layout,
    effective: &HashMap<u32, Entry>,
    previous_eof: usize,
    details: &mut RevisionDetails,
) {
    let declared: HashMap<u32, Entry> = layout.entries.iter().copied().collect();
    let mut listed = 0;
    for (number, entry) in &layout.entries {
        if effective.get(number) == Some(entry) {
            continue;
        }
        let location = match entry {
            Entry::Offset(offset) => Some(*offset),
            Entry::InStream { stream, .. } => {
                match declared.get(stream).or_else(|| effective.get(stream)) {
                    Some(Entry::Offset(offset)) => Some(*offset),
                    _ => None,
                }
            }
            Entry::Free => None,
        };
        let Some(offset) = location.filter(|o| *o < previous_eof as u64) else {
            continue;
        };
        listed += 1;
        if listed > MAX_LISTED {
            break;
        }
        details.anomalies.push(Change {
            revision: Some(index),
            object: Some((*number, 0)),
            kind: "xref-points-into-earlier-revision",
            level: ModificationLevel::Other,
            allowed: Allowed::No,
            detail: format!(
                "Revision {index} points object {number} at offset {offset}, inside an earlier revision, instead of writing it anew: an incremental-saving attack pattern."
            ),
            detail_vi: format!(
                "Phiên bản {index} trỏ đối tượng {number} tới vị trí {offset} nằm trong một phiên bản trước thay vì ghi đối tượng mới: dấu hiệu tấn công lưu gia tăng."
            ),
        });
    }
}

/// Object bodies written in an update that its cross-reference sections do not list.
fn unlisted_objects(
    file: &[u8],
    index: usize,
    layout: &Layout,
    region: &Range<usize>,
    spans: &HashMap<ObjectId, Range<usize>>,
    details: &mut RevisionDetails,
) {
    let Some(bytes) = file.get(region.clone()) else {
        return;
    };
    // Entries may point at whitespace before the header; compare where the header starts.
    let header_at = |offset: u64| {
        let mut at = usize::try_from(offset).unwrap_or(usize::MAX);
        while file.get(at).is_some_and(|b| is_whitespace(*b)) {
            at += 1;
        }
        at
    };
    let listed: HashSet<usize> = layout
        .entries
        .iter()
        .filter_map(|(_, entry)| match entry {
            Entry::Offset(offset) => Some(header_at(*offset)),
            _ => None,
        })
        .chain(layout.section_objects.iter().map(|o| header_at(*o)))
        .collect();
    let mut skip: Vec<&Range<usize>> = spans
        .values()
        .filter(|s| s.start < region.end && s.end > region.start)
        .collect();
    skip.sort_by_key(|s| s.start);
    let mut reported = 0;
    for (number, relative) in object_headers(bytes) {
        let at = region.start + relative;
        if listed.contains(&at) || skip.iter().any(|s| s.contains(&at)) {
            continue;
        }
        reported += 1;
        if reported > MAX_LISTED {
            break;
        }
        details.anomalies.push(Change {
            revision: Some(index),
            object: Some((number, 0)),
            kind: "unxref-appended-object",
            level: ModificationLevel::Other,
            allowed: Allowed::No,
            detail: format!(
                "Object {number} was written at offset {at} in revision {index} without being listed in its cross-reference section: a hidden object (incremental-saving attack pattern)."
            ),
            detail_vi: format!(
                "Đối tượng {number} được ghi tại vị trí {at} trong phiên bản {index} nhưng không có trong bảng tham chiếu chéo của phiên bản đó: đối tượng ẩn (dấu hiệu tấn công lưu gia tăng)."
            ),
        });
    }
}

/// `N G obj` headers in `bytes`: object number and where the header starts.
fn object_headers(bytes: &[u8]) -> Vec<(u32, usize)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = find(bytes, b"obj", from) {
        from = at + 3;
        if bytes
            .get(at + 3)
            .is_some_and(|c| !is_whitespace(*c) && !is_delimiter(*c))
        {
            continue;
        }
        let mut i = at;
        let run = |i: &mut usize, class: fn(u8) -> bool| {
            let start = *i;
            while *i > 0 && bytes.get(*i - 1).is_some_and(|b| class(*b)) {
                *i -= 1;
            }
            start - *i
        };
        if run(&mut i, is_whitespace) == 0 || run(&mut i, is_digit) == 0 {
            continue;
        }
        if run(&mut i, is_whitespace) == 0 {
            continue;
        }
        let number_end = i;
        let digits = run(&mut i, is_digit);
        if digits == 0 || digits > 10 {
            continue;
        }
        // The header starts a token: after whitespace or a delimiter other than a comment's.
        if i > 0
            && bytes
                .get(i - 1)
                .is_some_and(|b| !is_whitespace(*b) && (!is_delimiter(*b) || *b == b'%'))
        {
            continue;
        }
        let number = std::str::from_utf8(&bytes[i..number_end])
            .ok()
            .and_then(|n| n.parse::<u32>().ok());
        if let Some(number) = number {
            found.push((number, i));
        }
    }
    found
}

/// Where a stream's encoded data lies, from its start and its `/Length`.
fn stream_span(
    stream: &lopdf::Stream,
    document: &lopdf::Document,
    file_len: usize,
) -> Option<Range<usize>> {
    let start = stream.start_position?;
    let length = match stream.dict.get(b"Length").ok()? {
        Object::Integer(n) => *n,
        Object::Reference(id) => document.objects.get(id)?.as_i64().ok()?,
        _ => return None,
    };
    let end = start.checked_add(usize::try_from(length).ok()?)?;
    (end <= file_len).then_some(start..end)
}

/// Whether two versions of an object have the same value (stream data compared in place).
fn same_version(a: &Version, b: &Version, file: &[u8]) -> bool {
    match (&a.object, &b.object) {
        (Some(Object::Stream(x)), Some(Object::Stream(y))) => {
            differing_keys(&x.dict, &y.dict, &[b"Length"]).is_empty()
                && match (&a.data, &b.data) {
                    (Some(r), Some(s)) => file.get(r.clone()) == file.get(s.clone()),
                    _ => x.start_position == y.start_position,
                }
        }
        (Some(x), Some(y)) => same_value(x, y),
        (None, None) => true,
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------
// A revision as a document
// ---------------------------------------------------------------------------------------

/// The document as of one revision: each object's latest version at or before it.
#[derive(Clone, Copy)]
struct State<'h> {
    history: &'h History<'h>,
    revision: usize,
}

impl<'h> State<'h> {
    fn version(&self, id: ObjectId) -> Option<&'h Version> {
        let versions = self.history.versions.get(&id)?;
        let after = versions.partition_point(|v| v.revision <= self.revision);
        after.checked_sub(1).and_then(|i| versions.get(i))
    }

    fn get(&self, id: ObjectId) -> Option<&'h Object> {
        self.version(id)?.object.as_ref()
    }

    fn trailer(&self) -> Option<&'h Dictionary> {
        self.history.details.get(self.revision).map(|d| &d.trailer)
    }

    /// Follows references to a direct value; `None` for a reference to nothing.
    fn resolve(&self, object: &'h Object) -> Option<&'h Object> {
        let mut current = object;
        for _ in 0..MAX_INDIRECTION {
            match current {
                Object::Reference(id) => current = self.get(*id)?,
                other => return Some(other),
            }
        }
        None
    }

    /// A dictionary, or a stream's dictionary, behind a value.
    fn dict(&self, object: &'h Object) -> Option<&'h Dictionary> {
        match self.resolve(object)? {
            Object::Dictionary(dict) => Some(dict),
            Object::Stream(stream) => Some(&stream.dict),
            _ => None,
        }
    }

    fn dict_of(&self, id: ObjectId) -> Option<&'h Dictionary> {
        match self.get(id)? {
            Object::Dictionary(dict) => Some(dict),
            Object::Stream(stream) => Some(&stream.dict),
            _ => None,
        }
    }

    fn array(&self, object: &'h Object) -> Option<&'h Vec<Object>> {
        match self.resolve(object)? {
            Object::Array(items) => Some(items),
            _ => None,
        }
    }

    fn catalog_id(&self) -> Option<ObjectId> {
        self.trailer()?.get(b"Root").ok()?.as_reference().ok()
    }

    fn catalog(&self) -> Option<&'h Dictionary> {
        self.trailer()?.get(b"Root").ok().and_then(|r| self.dict(r))
    }

    /// Every object alive in this revision.
    fn ids(&self) -> impl Iterator<Item = ObjectId> + '_ {
        self.history
            .versions
            .keys()
            .copied()
            .filter(|id| self.get(*id).is_some())
    }
}

/// The transform dictionaries of a signature dictionary (`/Reference`).
fn transforms<'h>(state: &State<'h>, signature: &'h Dictionary) -> Vec<&'h Dictionary> {
    signature
        .get(b"Reference")
        .ok()
        .and_then(|r| state.array(r))
        .map(|items| items.iter().filter_map(|i| state.dict(i)).collect())
        .unwrap_or_default()
}

/// A FieldMDP lock from a `/Lock` or `/TransformParams` dictionary.
fn field_lock(state: &State<'_>, dict: &Dictionary) -> Option<FieldLock> {
    let names = || {
        dict.get(b"Fields")
            .ok()
            .and_then(|f| match f {
                Object::Array(items) => Some(items),
                other => state.array(other),
            })
            .map(|items| items.iter().map(text).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    match name_of(dict.get(b"Action").ok())? {
        b"All" => Some(FieldLock::All),
        b"Include" => Some(FieldLock::Include(names())),
        b"Exclude" => Some(FieldLock::Exclude(names())),
        _ => None,
    }
}

/// The end of a signature dictionary's ByteRange (`c + d`).
fn signed_end_of(state: &State<'_>, signature: &Dictionary) -> Option<u64> {
    let range = signature.get(b"ByteRange").ok()?;
    let items: Vec<i64> = match range {
        Object::Array(items) => items.iter().filter_map(|i| i.as_i64().ok()).collect(),
        other => {
            let resolved = state.resolve(other)?;
            resolved
                .as_array()
                .ok()?
                .iter()
                .filter_map(|i| i.as_i64().ok())
                .collect()
        }
    };
    match items.as_slice() {
        [_, _, c, d] => u64::try_from(c.checked_add(*d)?).ok(),
        _ => None,
    }
}

/// What a form field is, as found by walking `/AcroForm /Fields`.
struct Field<'h> {
    /// Fully qualified name.
    name: String,
    /// `/FT`, inherited from ancestors.
    kind: Option<&'h [u8]>,
    dict: &'h Dictionary,
    /// Its widget annotations (itself when field and widget are merged).
    widgets: Vec<ObjectId>,
}

impl Field<'_> {
    fn is_signature(&self) -> bool {
        self.kind == Some(b"Sig".as_slice())
    }
}

/// The annotations of one page.
#[derive(Default)]
struct PageAnnotations<'h> {
    refs: Vec<ObjectId>,
    /// Annotation dictionaries written directly in `/Annots` (not allowed, but seen).
    direct: Vec<&'h Object>,
    /// The `/Annots` array object, when indirect.
    array: Option<ObjectId>,
}

/// The parts of a revision the rules look at.
struct Facts<'h> {
    state: State<'h>,
    catalog_id: Option<ObjectId>,
    catalog: Option<&'h Dictionary>,
    /// Page leaves in document order.
    pages: Vec<ObjectId>,
    /// Every node of the page tree, leaves included.
    page_nodes: HashSet<ObjectId>,
    acroform: Option<&'h Dictionary>,
    fields: BTreeMap<ObjectId, Field<'h>>,
    /// Widget annotation → its field.
    widget_field: HashMap<ObjectId, ObjectId>,
    annotations: BTreeMap<ObjectId, PageAnnotations<'h>>,
}

impl<'h> Facts<'h> {
    fn of(state: State<'h>) -> Self {
        let catalog = state.catalog();
        let (pages, page_nodes) = page_tree(&state, catalog);
        let acroform = catalog
            .and_then(|c| c.get(b"AcroForm").ok())
            .and_then(|a| state.dict(a));
        let (fields, widget_field) = form_fields(&state, acroform);
        let mut annotations = BTreeMap::new();
        for page in &pages {
            let mut found = PageAnnotations::default();
            if let Some(value) = state.dict_of(*page).and_then(|p| p.get(b"Annots").ok()) {
                found.array = value.as_reference().ok();
                for item in state.array(value).into_iter().flatten() {
                    match item {
                        Object::Reference(id) => found.refs.push(*id),
                        direct => found.direct.push(direct),
                    }
                }
            }
            annotations.insert(*page, found);
        }
        Facts {
            state,
            catalog_id: state.catalog_id(),
            catalog,
            pages,
            page_nodes,
            acroform,
            fields,
            widget_field,
            annotations,
        }
    }
}

/// The page leaves in order and every node of the page tree.
fn page_tree(
    state: &State<'_>,
    catalog: Option<&Dictionary>,
) -> (Vec<ObjectId>, HashSet<ObjectId>) {
    let mut pages = Vec::new();
    let mut nodes = HashSet::new();
    let Some(root) = catalog
        .and_then(|c| c.get(b"Pages").ok())
        .and_then(|p| p.as_reference().ok())
    else {
        return (pages, nodes);
    };
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        if !nodes.insert(id) {
            continue;
        }
        let Some(node) = state.dict_of(id) else {
            continue;
        };
        match node.get(b"Kids").ok().and_then(|k| state.array(k)) {
            Some(kids) => stack.extend(kids.iter().rev().filter_map(|k| k.as_reference().ok())),
            None => pages.push(id),
        }
    }
    (pages, nodes)
}

type FieldMap<'h> = (BTreeMap<ObjectId, Field<'h>>, HashMap<ObjectId, ObjectId>);

/// Every field of the form, by object, and which field each widget belongs to.
fn form_fields<'h>(state: &State<'h>, acroform: Option<&'h Dictionary>) -> FieldMap<'h> {
    let mut fields = BTreeMap::new();
    let mut widget_field = HashMap::new();
    let Some(top) = acroform
        .and_then(|a| a.get(b"Fields").ok())
        .and_then(|f| state.array(f))
    else {
        return (fields, widget_field);
    };
    let mut stack: Vec<(ObjectId, String, Option<&'h [u8]>)> = top
        .iter()
        .rev()
        .filter_map(|f| f.as_reference().ok())
        .map(|id| (id, String::new(), None))
        .collect();
    let mut seen = HashSet::new();
    while let Some((id, parent, inherited)) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        let Some(dict) = state.dict_of(id) else {
            continue;
        };
        let name = match dict.get(b"T").ok().map(text) {
            Some(partial) if parent.is_empty() => partial,
            Some(partial) => format!("{parent}.{partial}"),
            None => parent,
        };
        let kind = name_of(dict.get(b"FT").ok()).or(inherited);
        let kids: Vec<ObjectId> = dict
            .get(b"Kids")
            .ok()
            .and_then(|k| state.array(k))
            .map(|k| k.iter().filter_map(|i| i.as_reference().ok()).collect())
            .unwrap_or_default();
        let mut widgets = Vec::new();
        let mut children = Vec::new();
        for kid in kids {
            let Some(kid_dict) = state.dict_of(kid) else {
                continue;
            };
            if kid_dict.has(b"T") || kid_dict.has(b"Kids") {
                children.push(kid);
            } else {
                widgets.push(kid);
            }
        }
        if children.is_empty() && widgets.is_empty()
            || name_of(dict.get(b"Subtype").ok()) == Some(b"Widget")
        {
            widgets.push(id);
        }
        for widget in &widgets {
            widget_field.insert(*widget, id);
        }
        for child in children.into_iter().rev() {
            stack.push((child, name.clone(), kind));
        }
        fields.insert(
            id,
            Field {
                name,
                kind,
                dict,
                widgets,
            },
        );
    }
    (fields, widget_field)
}

/// Why an object is part of what the signed pages display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ContentRole {
    /// A content stream (or an array of them).
    Content,
    /// Fonts, images, form XObjects, colour spaces… reached through `/Resources`.
    Resource,
    /// Anything else a page references (group, thumbnail, metadata…).
    PageData,
    /// The optional-content configuration (which layers show).
    OptionalContent,
}

/// The signed revision, with what the rules need to know about it.
struct Signed<'h> {
    facts: Facts<'h>,
    /// Objects the signed pages display, by role; includes references to objects that were
    /// not defined when signed (defining them later changes the page).
    content: HashMap<ObjectId, ContentRole>,
    signature_dictionaries: HashSet<ObjectId>,
    /// For each referenced object, up to four objects referencing it (`None`: the trailer).
    referrers: HashMap<ObjectId, Vec<Option<ObjectId>>>,
    /// Objects reachable from `/DSS`.
    dss: HashSet<ObjectId>,
}

impl<'h> Signed<'h> {
    fn of(state: State<'h>) -> Self {
        let facts = Facts::of(state);
        let content = content_closure(&facts);
        let signature_dictionaries = state
            .ids()
            .filter(|id| {
                matches!(state.get(*id), Some(Object::Dictionary(d)) if d.has(b"ByteRange") && d.has(b"Contents"))
            })
            .collect();
        let referrers = referrers(&state);
        let dss = match facts.catalog.and_then(|c| c.get(b"DSS").ok()) {
            Some(value) => reachable_from(&state, value, &[], |_| true),
            None => HashSet::new(),
        };
        Signed {
            facts,
            content,
            signature_dictionaries,
            referrers,
            dss,
        }
    }

    /// Whether an object number was in use when signed: defined, or referenced from an
    /// object. (A reference from the trailer alone does not count: readers ignore the
    /// trailer's unknown keys, such as LibreOffice's `/AdditionalStreams`, and its known
    /// ones cannot point at nothing in a readable file.)
    fn existed(&self, id: ObjectId) -> bool {
        self.facts.state.get(id).is_some()
            || self
                .referrers
                .get(&id)
                .is_some_and(|users| users.iter().any(Option::is_some))
    }

    /// Whether nothing but `owner` referenced `id` when signed.
    fn used_only_by(&self, id: ObjectId, owner: Option<ObjectId>) -> bool {
        self.referrers
            .get(&id)
            .is_none_or(|users| users.iter().all(|u| *u == owner))
    }
}

/// Everything the signed pages display: the closure of the page tree nodes' entries (not
/// their annotations) and of the optional-content configuration.
fn content_closure(facts: &Facts<'_>) -> HashMap<ObjectId, ContentRole> {
    let state = facts.state;
    let mut roles = HashMap::new();
    let mut stack: Vec<(ObjectId, ContentRole)> = Vec::new();
    let mut found = Vec::new();
    for node in &facts.page_nodes {
        let Some(dict) = state.dict_of(*node) else {
            continue;
        };
        for (key, value) in dict.iter() {
            let role = match key.as_slice() {
                b"Kids" | b"Parent" | b"Annots" => continue,
                b"Contents" => ContentRole::Content,
                b"Resources" => ContentRole::Resource,
                _ => ContentRole::PageData,
            };
            found.clear();
            references(value, BACK_POINTERS, &mut found);
            stack.extend(found.iter().map(|id| (*id, role)));
        }
    }
    if let Some(value) = facts.catalog.and_then(|c| c.get(b"OCProperties").ok()) {
        found.clear();
        references(value, BACK_POINTERS, &mut found);
        stack.extend(found.iter().map(|id| (*id, ContentRole::OptionalContent)));
    }
    // Content is processed first so that a shared object gets the most telling role.
    stack.sort_by_key(|(_, role)| std::cmp::Reverse(*role as u8));
    while let Some((id, role)) = stack.pop() {
        if facts.page_nodes.contains(&id) || Some(id) == facts.catalog_id || roles.contains_key(&id)
        {
            continue;
        }
        roles.insert(id, role);
        if let Some(object) = state.get(id) {
            found.clear();
            references(object, BACK_POINTERS, &mut found);
            stack.extend(found.iter().map(|id| (*id, role)));
        }
    }
    roles
}

/// Who references whom, over everything reachable from the trailer.
fn referrers(state: &State<'_>) -> HashMap<ObjectId, Vec<Option<ObjectId>>> {
    let mut users: HashMap<ObjectId, Vec<Option<ObjectId>>> = HashMap::new();
    let mut add = |target: ObjectId, user: Option<ObjectId>| {
        let list = users.entry(target).or_default();
        if list.len() < 4 && !list.contains(&user) {
            list.push(user);
        }
    };
    let mut queue = Vec::new();
    let mut found = Vec::new();
    if let Some(trailer) = state.trailer() {
        for (_, value) in trailer.iter() {
            references(value, &[], &mut found);
        }
    }
    for id in found.drain(..) {
        add(id, None);
        queue.push(id);
    }
    let mut seen: HashSet<ObjectId> = queue.iter().copied().collect();
    while let Some(id) = queue.pop() {
        let Some(object) = state.get(id) else {
            continue;
        };
        found.clear();
        references(object, &[], &mut found);
        for target in found.drain(..) {
            add(target, Some(id));
            if seen.insert(target) {
                queue.push(target);
            }
        }
    }
    users
}

/// Objects reachable from `start`, following only references `admit` accepts.
fn reachable_from(
    state: &State<'_>,
    start: &Object,
    skip_keys: &[&[u8]],
    mut admit: impl FnMut(ObjectId) -> bool,
) -> HashSet<ObjectId> {
    let mut seen = HashSet::new();
    let mut found = Vec::new();
    references(start, skip_keys, &mut found);
    let mut stack = std::mem::take(&mut found);
    while let Some(id) = stack.pop() {
        if seen.contains(&id) || !admit(id) {
            continue;
        }
        seen.insert(id);
        if let Some(object) = state.get(id) {
            references(object, skip_keys, &mut found);
            stack.append(&mut found);
        }
    }
    seen
}

/// Every reference inside a value (not following them), except under `skip_keys`.
fn references(object: &Object, skip_keys: &[&[u8]], out: &mut Vec<ObjectId>) {
    match object {
        Object::Reference(id) => out.push(*id),
        Object::Array(items) => {
            for item in items {
                references(item, skip_keys, out);
            }
        }
        Object::Dictionary(dict) => dict_references(dict, skip_keys, out),
        Object::Stream(stream) => dict_references(&stream.dict, skip_keys, out),
        _ => {}
    }
}

fn dict_references(dict: &Dictionary, skip_keys: &[&[u8]], out: &mut Vec<ObjectId>) {
    for (key, value) in dict.iter() {
        if !skip_keys.contains(&key.as_slice()) {
            references(value, skip_keys, out);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Judging one later revision against the signed one
// ---------------------------------------------------------------------------------------

/// The rules applied to one revision after the signed one. Each rule accounts for the
/// changed objects it explains (allowed or not); whatever no rule explains is reported last.
struct Judge<'h, 'b> {
    signed: &'b Signed<'h>,
    /// The revision before this one (the signed one, or the last one judged), to report each
    /// change once, in the revision that makes it.
    previous: &'b Facts<'h>,
    new: Facts<'h>,
    revision: usize,
    permissions: &'b Permissions,
    /// Objects whose value in this revision differs from the previous revision and from
    /// the signed one.
    changed: BTreeSet<ObjectId>,
    /// Changed objects no rule has explained yet.
    pending: BTreeSet<ObjectId>,
    changes: Vec<Change>,
    /// Kinds already reported in this revision, for findings reported once.
    reported: HashSet<&'static str>,
    /// What each signed page displays, computed when an addition needs it.
    painted: HashMap<ObjectId, Vec<Area>>,
}

impl<'h, 'b> Judge<'h, 'b> {
    fn new(
        signed: &'b Signed<'h>,
        previous: &'b Facts<'h>,
        state: State<'h>,
        permissions: &'b Permissions,
    ) -> Self {
        let base = signed.facts.state;
        let revision = state.revision;
        let changed: BTreeSet<ObjectId> = state
            .history
            .details
            .get(revision)
            .map(|d| d.changed.as_slice())
            .unwrap_or_default()
            .iter()
            .copied()
            .filter(|id| match (base.version(*id), state.version(*id)) {
                (Some(old), Some(new)) => !same_version(old, new, state.history.file),
                (None, Some(new)) => new.object.is_some(),
                (_, None) => false,
            })
            .collect();
        Judge {
            signed,
            previous,
            new: Facts::of(state),
            revision,
            permissions,
            pending: changed.clone(),
            changed,
            changes: Vec::new(),
            reported: HashSet::new(),
            painted: HashMap::new(),
        }
    }

    fn run(&mut self) {
        self.pages_and_content();
        self.signature_dictionaries();
        self.trailer();
        self.catalog();
        self.names();
        self.dss();
        self.form();
        self.annotations();
        self.structure_tree();
        self.file_structure();
        self.unexplained();
    }

    fn old(&self) -> State<'h> {
        self.signed.facts.state
    }

    fn state(&self) -> State<'h> {
        self.new.state
    }

    fn is_changed(&self, id: ObjectId) -> bool {
        self.changed.contains(&id)
    }

    /// Marks a changed object as explained; whether it was still unexplained.
    fn account(&mut self, id: ObjectId) -> bool {
        self.pending.remove(&id)
    }

    /// Keys that differ from the signed revision and changed in this revision.
    fn fresh_keys(
        &self,
        old: &Dictionary,
        previous: Option<&Dictionary>,
        new: &Dictionary,
        ignore: &[&[u8]],
    ) -> Vec<Vec<u8>> {
        let mut keys = differing_keys(old, new, ignore);
        if let Some(previous) = previous {
            keys.retain(|k| !same_entry(previous.get(k).ok(), new.get(k).ok()));
        }
        keys
    }

    fn push(
        &mut self,
        kind: &'static str,
        object: Option<ObjectId>,
        level: ModificationLevel,
        allowed: Allowed,
        detail: String,
        detail_vi: String,
    ) {
        let listed = self.changes.iter().filter(|c| c.kind == kind).count();
        if listed == MAX_LISTED {
            self.changes.push(Change {
                revision: Some(self.revision),
                object: None,
                kind,
                level,
                allowed,
                detail: format!(
                    "More changes of this kind in revision {} are not listed.",
                    self.revision
                ),
                detail_vi: format!(
                    "Phiên bản {} còn các thay đổi khác cùng loại, không liệt kê hết.",
                    self.revision
                ),
            });
        }
        if listed >= MAX_LISTED {
            return;
        }
        self.reported.insert(kind);
        self.changes.push(Change {
            revision: Some(self.revision),
            object,
            kind,
            level,
            allowed,
            detail,
            detail_vi,
        });
    }

    /// Pushes an allowed kind of change, downgraded when the certification level does not
    /// permit its level.
    fn push_permitted(
        &mut self,
        kind: &'static str,
        object: Option<ObjectId>,
        level: ModificationLevel,
        detail: String,
        detail_vi: String,
    ) {
        match self.permissions.doc_mdp {
            Some(mdp) if level > mdp.ceiling() => {
                let p = mdp.p();
                self.push(
                    kind,
                    object,
                    ModificationLevel::Other,
                    Allowed::Warn,
                    format!(
                        "{detail} The certification signature (DocMDP P={p}) does not permit this."
                    ),
                    format!(
                        "{detail_vi} Chữ ký chứng nhận (DocMDP P={p}) không cho phép thay đổi này."
                    ),
                );
            }
            _ => self.push(kind, object, level, Allowed::Yes, detail, detail_vi),
        }
    }

    /// New objects (not in use when signed) that a value uses, followed through new objects
    /// only: what an addition brings with it.
    fn new_objects_under(&self, value: &Object) -> HashSet<ObjectId> {
        let signed = self.signed;
        let old = self.old();
        // Objects referenced but undefined when signed are walked through (what they lead to
        // may be new) but not claimed: defining them is judged on its own.
        let mut found = reachable_from(&self.state(), value, BACK_POINTERS, |id| {
            old.get(id).is_none()
        });
        found.retain(|id| !signed.existed(*id));
        found
    }

    /// Whether an area of `page` covers what the signed page displays: its content, or an
    /// annotation visible when signed (other than `except`).
    fn covers_signed_content(&mut self, page: ObjectId, area: &Area, except: ObjectId) -> bool {
        let old = self.old();
        // Reading a page's content decodes up to MAX_CONTENT_BYTES: charged to the judging
        // budget (in its units, a 4 KB block as an object), so thousands of pages sharing
        // one compressed bomb cannot be decoded thousands of times. Past the budget the
        // area is taken to cover the content (the cautious answer).
        if !self.painted.contains_key(&page) && !old.history.spend(MAX_CONTENT_BYTES / 4096) {
            return true;
        }
        let painted = self
            .painted
            .entry(page)
            .or_insert_with(|| painted_areas(&old, page));
        if painted.iter().any(|p| p.overlaps(area)) {
            return true;
        }
        let annotations = self.signed.facts.annotations.get(&page);
        annotations.is_some_and(|a| {
            a.refs.iter().any(|id| {
                *id != except
                    && Self::visible(&old, *id)
                    && old
                        .dict_of(*id)
                        .and_then(|d| rect_of(&old, d))
                        .is_some_and(|r| r.overlaps(area))
            })
        })
    }

    /// The page whose `/Annots` holds a widget or annotation in this revision.
    fn page_of(&self, annotation: ObjectId) -> Option<ObjectId> {
        self.new
            .annotations
            .iter()
            .find(|(_, a)| a.refs.contains(&annotation))
            .map(|(page, _)| *page)
    }

    /// Accounts for the changed objects among the new objects a value brings.
    fn account_new_objects_under(&mut self, value: &Object) -> usize {
        let objects = self.new_objects_under(value);
        let mut accounted = 0;
        for id in objects {
            if self.is_changed(id) {
                self.account(id);
                accounted += 1;
            }
        }
        accounted
    }

    // --- pages and what they display ---------------------------------------------------

    fn pages_and_content(&mut self) {
        let old_pages = self.signed.facts.pages.clone();
        let previous_pages = self.previous.pages.clone();
        let new_pages = self.new.pages.clone();
        let pages_changed = old_pages != new_pages;
        if new_pages != previous_pages {
            let old_set: HashSet<ObjectId> = old_pages.iter().copied().collect();
            let previous_set: HashSet<ObjectId> = previous_pages.iter().copied().collect();
            let new_set: HashSet<ObjectId> = new_pages.iter().copied().collect();
            let mut reported = false;
            for (index, page) in new_pages.iter().enumerate() {
                if old_set.contains(page) || previous_set.contains(page) {
                    continue;
                }
                reported = true;
                let number = index + 1;
                self.push(
                    "page-added",
                    Some(*page),
                    ModificationLevel::Other,
                    Allowed::No,
                    format!("Page {number} was added after signing."),
                    format!("Trang {number} được thêm vào sau khi ký."),
                );
                self.account(*page);
                if let Some(page_object) = self.state().get(*page) {
                    self.account_new_objects_under(page_object);
                }
            }
            for (index, page) in old_pages.iter().enumerate() {
                if new_set.contains(page) || !previous_set.contains(page) {
                    continue;
                }
                reported = true;
                let number = index + 1;
                self.push(
                    "page-removed",
                    Some(*page),
                    ModificationLevel::Other,
                    Allowed::No,
                    format!("Page {number} of the signed document was removed after signing."),
                    format!("Trang {number} của bản đã ký bị xóa sau khi ký."),
                );
            }
            if !reported && pages_changed {
                self.push(
                    "page-tree-changed",
                    None,
                    ModificationLevel::Other,
                    Allowed::No,
                    "The order of the pages was changed after signing.".to_owned(),
                    "Thứ tự các trang bị thay đổi sau khi ký.".to_owned(),
                );
            }
        }
        let mut nodes: Vec<ObjectId> = self.signed.facts.page_nodes.iter().copied().collect();
        nodes.sort_unstable();
        for node in nodes {
            if !self.is_changed(node) {
                continue;
            }
            self.account(node);
            let old = self.old().dict_of(node);
            let new = self.state().dict_of(node);
            let (Some(old), Some(new)) = (old, new) else {
                if !pages_changed {
                    self.push(
                        "page-tree-changed",
                        Some(node),
                        ModificationLevel::Other,
                        Allowed::No,
                        format!("Page tree node {} was replaced after signing.", show(node)),
                        format!("Nút {} của cây trang bị thay thế sau khi ký.", show(node)),
                    );
                }
                continue;
            };
            let is_leaf = self.signed.facts.pages.contains(&node);
            let before = self.previous.state.dict_of(node);
            let keys = self.fresh_keys(old, before, new, if is_leaf { &[b"Annots"] } else { &[] });
            if keys.is_empty() {
                continue;
            }
            // What the changed entries now point at comes with them (reported through them).
            for key in &keys {
                if let Ok(value) = new.get(key) {
                    self.account_new_objects_under(value);
                }
            }
            let mut displayed = Vec::new();
            let mut other = Vec::new();
            for key in keys {
                match key.as_slice() {
                    b"Contents" => self.push(
                        "content-stream-changed",
                        Some(node),
                        ModificationLevel::Other,
                        Allowed::No,
                        format!("The page {} was given other content after signing (/Contents).", show(node)),
                        format!("Trang {} bị thay nội dung hiển thị sau khi ký (/Contents).", show(node)),
                    ),
                    b"Resources" => self.push(
                        "page-resources-changed",
                        Some(node),
                        ModificationLevel::Other,
                        Allowed::No,
                        format!(
                            "The resources (fonts, images) of page {} were replaced after signing: a shadow-attack pattern.",
                            show(node)
                        ),
                        format!(
                            "Tài nguyên (phông chữ, hình ảnh) của trang {} bị thay thế sau khi ký: dấu hiệu tấn công che giấu/thay thế nội dung (shadow attack).",
                            show(node)
                        ),
                    ),
                    // The page list itself is compared above.
                    b"Kids" | b"Count" if pages_changed => {}
                    k if PAGE_DISPLAY_KEYS.contains(&k) => displayed.push(key),
                    _ => other.push(key),
                }
            }
            if !displayed.is_empty() {
                self.push(
                    if is_leaf {
                        "page-changed"
                    } else {
                        "page-tree-changed"
                    },
                    Some(node),
                    ModificationLevel::Other,
                    Allowed::No,
                    format!(
                        "Page {} was changed after signing in what it displays ({}).",
                        show(node),
                        key_list(&displayed)
                    ),
                    format!(
                        "Trang {} bị thay đổi sau khi ký ở phần hiển thị ({}).",
                        show(node),
                        key_list(&displayed)
                    ),
                );
            }
            // Entries that do not change the rendering (an iText version mark, tab order…).
            if !other.is_empty() {
                self.push(
                    "page-changed",
                    Some(node),
                    ModificationLevel::Other,
                    Allowed::Warn,
                    format!(
                        "Page {} was changed after signing ({}).",
                        show(node),
                        key_list(&other)
                    ),
                    format!(
                        "Trang {} bị thay đổi sau khi ký ({}).",
                        show(node),
                        key_list(&other)
                    ),
                );
            }
        }
        let mut content: Vec<(ObjectId, ContentRole)> = self
            .signed
            .content
            .iter()
            .filter(|(id, _)| self.changed.contains(id))
            .map(|(id, role)| (*id, *role))
            .collect();
        content.sort_unstable_by_key(|(id, _)| *id);
        for (id, role) in content {
            self.account(id);
            let defined = self.old().get(id).is_some();
            let (kind, detail, detail_vi) = match role {
                _ if !defined => (
                    "object-redefined",
                    format!(
                        "Object {} is used by the signed pages but was not defined when signed; it was defined after signing, which changes what the pages show.",
                        show(id)
                    ),
                    format!(
                        "Đối tượng {} được các trang đã ký sử dụng nhưng chưa được định nghĩa lúc ký; việc định nghĩa nó sau khi ký làm thay đổi nội dung hiển thị.",
                        show(id)
                    ),
                ),
                ContentRole::Content => (
                    "content-stream-changed",
                    format!(
                        "The page content stream {} was rewritten after signing.",
                        show(id)
                    ),
                    format!("Luồng nội dung trang {} bị ghi lại sau khi ký.", show(id)),
                ),
                ContentRole::Resource => (
                    "page-resources-changed",
                    format!(
                        "Object {}, a font, image or other resource of the signed pages, was replaced after signing: a shadow-attack pattern.",
                        show(id)
                    ),
                    format!(
                        "Đối tượng {} (phông chữ, hình ảnh hoặc tài nguyên khác của trang đã ký) bị thay thế sau khi ký: dấu hiệu tấn công che giấu/thay thế nội dung (shadow attack).",
                        show(id)
                    ),
                ),
                ContentRole::PageData => (
                    "object-redefined",
                    format!(
                        "Object {}, used by the signed pages, was redefined after signing.",
                        show(id)
                    ),
                    format!(
                        "Đối tượng {} mà các trang đã ký sử dụng bị định nghĩa lại sau khi ký.",
                        show(id)
                    ),
                ),
                ContentRole::OptionalContent => (
                    "optional-content-changed",
                    format!(
                        "The optional-content configuration (object {}) was changed after signing: it can show or hide signed content.",
                        show(id)
                    ),
                    format!(
                        "Cấu hình lớp nội dung (đối tượng {}) bị thay đổi sau khi ký: có thể làm hiện hoặc ẩn nội dung đã ký.",
                        show(id)
                    ),
                ),
            };
            self.push(
                kind,
                Some(id),
                ModificationLevel::Other,
                Allowed::No,
                detail,
                detail_vi,
            );
        }
    }

    // --- signature dictionaries ---------------------------------------------------------

    fn signature_dictionaries(&mut self) {
        let mut rewritten: Vec<ObjectId> = self
            .signed
            .signature_dictionaries
            .iter()
            .filter(|id| self.changed.contains(id))
            .copied()
            .collect();
        rewritten.sort_unstable();
        for id in rewritten {
            self.account(id);
            self.push(
                "signature-dictionary-changed",
                Some(id),
                ModificationLevel::Other,
                Allowed::No,
                format!(
                    "The signature dictionary {} of an existing signature was rewritten after signing (its reason, time, name or byte range can no longer be trusted).",
                    show(id)
                ),
                format!(
                    "Từ điển chữ ký {} của một chữ ký đã có bị ghi lại sau khi ký (lý do, thời gian, tên người ký hoặc phạm vi ký không còn tin được).",
                    show(id)
                ),
            );
        }
    }

    // --- trailer and catalog --------------------------------------------------------------

    fn trailer(&mut self) {
        let (Some(old), Some(new)) = (self.old().trailer(), self.state().trailer()) else {
            return;
        };
        if !same_entry(old.get(b"Encrypt").ok(), new.get(b"Encrypt").ok()) {
            self.push(
                "encryption-changed",
                None,
                ModificationLevel::Other,
                Allowed::No,
                "The encryption of the file was changed after signing.".to_owned(),
                "Cách mã hóa của tệp bị thay đổi sau khi ký.".to_owned(),
            );
        }
        let Some(info) = new.get(b"Info").ok() else {
            return;
        };
        let mut touched = !same_entry(old.get(b"Info").ok(), Some(info));
        if let Ok(id) = info.as_reference()
            && self.is_changed(id)
            && (!self.signed.existed(id) || self.signed.used_only_by(id, None))
        {
            self.account(id);
            touched = true;
        }
        if touched {
            self.account_new_objects_under(info);
            self.push(
                "document-info-updated",
                info.as_reference().ok(),
                ModificationLevel::LtaUpdates,
                Allowed::Yes,
                "The document information (modification date, producer) was updated.".to_owned(),
                "Thông tin tài liệu (ngày sửa, phần mềm tạo) được cập nhật.".to_owned(),
            );
        }
    }

    fn catalog(&mut self) {
        let new_id = self.new.catalog_id;
        let (Some(old), Some(new)) = (self.signed.facts.catalog, self.new.catalog) else {
            if self.new.catalog.is_none() {
                self.push(
                    "catalog-changed",
                    new_id,
                    ModificationLevel::Other,
                    Allowed::No,
                    "The document catalog cannot be found in a revision added after signing.".to_owned(),
                    "Không tìm thấy từ điển gốc của tài liệu trong một phiên bản thêm vào sau khi ký.".to_owned(),
                );
            }
            return;
        };
        let replaced = new_id != self.signed.facts.catalog_id;
        if let Some(id) = new_id
            && (self.is_changed(id) || replaced)
        {
            if !replaced || !self.signed.existed(id) {
                self.account(id);
            }
            let keys = self.fresh_keys(old, self.previous.catalog, new, CATALOG_MAY_CHANGE);
            let mut other = Vec::new();
            for key in keys {
                match key.as_slice() {
                    b"Pages" => {
                        if !self.reported.contains("page-tree-changed") {
                            self.push(
                                "page-tree-changed",
                                Some(id),
                                ModificationLevel::Other,
                                Allowed::No,
                                "The document was given another page tree after signing.".to_owned(),
                                "Tài liệu bị thay cây trang khác sau khi ký.".to_owned(),
                            );
                        }
                    }
                    b"OCProperties" => self.push(
                        "optional-content-changed",
                        Some(id),
                        ModificationLevel::Other,
                        Allowed::No,
                        "The optional-content configuration was changed after signing: it can show or hide signed content.".to_owned(),
                        "Cấu hình lớp nội dung bị thay đổi sau khi ký: có thể làm hiện hoặc ẩn nội dung đã ký.".to_owned(),
                    ),
                    // Judged by `names`.
                    b"Names" if self.names_only_appearances() => {}
                    // Judged by `structure_tree`.
                    b"StructTreeRoot" => {}
                    _ => other.push(key),
                }
            }
            // What the changed entries now point at comes with them (reported through them).
            for key in &other {
                if let Ok(value) = new.get(key) {
                    self.account_new_objects_under(value);
                }
            }
            if !other.is_empty() {
                self.push(
                    "catalog-changed",
                    Some(id),
                    ModificationLevel::Other,
                    Allowed::Warn,
                    format!(
                        "The document catalog was changed after signing ({}).",
                        key_list(&other)
                    ),
                    format!(
                        "Từ điển gốc của tài liệu bị thay đổi sau khi ký ({}).",
                        key_list(&other)
                    ),
                );
            }
        }
        for key in [b"Extensions".as_slice(), b"MarkInfo"] {
            if let Ok(value) = new.get(key) {
                if let Ok(id) = value.as_reference()
                    && self.is_changed(id)
                    && (!self.signed.existed(id)
                        || self.signed.used_only_by(id, self.signed.facts.catalog_id))
                {
                    self.account(id);
                }
                self.account_new_objects_under(value);
            }
        }
        if let Ok(value) = new.get(b"Metadata")
            && let Ok(id) = value.as_reference()
            && self.is_changed(id)
            && matches!(self.state().get(id), Some(Object::Stream(s)) if name_of(s.dict.get(b"Type").ok()) == Some(b"Metadata"))
            && (!self.signed.existed(id)
                || self.signed.used_only_by(id, self.signed.facts.catalog_id))
        {
            self.account(id);
            self.push(
                "metadata-updated",
                Some(id),
                ModificationLevel::LtaUpdates,
                Allowed::Yes,
                "The document's XMP metadata was updated.".to_owned(),
                "Siêu dữ liệu XMP của tài liệu được cập nhật.".to_owned(),
            );
        }
    }

    /// Whether the document's name dictionary changed only in `/AP`, the named appearance
    /// streams Acrobat adds for comment icons.
    fn names_only_appearances(&self) -> bool {
        let empty = Dictionary::new();
        let names = |state: State<'h>, catalog: Option<&'h Dictionary>| {
            catalog
                .and_then(|c| c.get(b"Names").ok())
                .and_then(|n| state.dict(n))
        };
        let old = names(self.old(), self.signed.facts.catalog).unwrap_or(&empty);
        let new = names(self.state(), self.new.catalog).unwrap_or(&empty);
        differing_keys(old, new, &[]).iter().all(|k| k == b"AP")
    }

    /// The name dictionary: named appearance streams for annotations are annotation
    /// changes; anything else there (JavaScript, embedded files…) is left unexplained.
    fn names(&mut self) {
        let Some(value) = self.new.catalog.and_then(|c| c.get(b"Names").ok()) else {
            return;
        };
        let old_value = self.signed.facts.catalog.and_then(|c| c.get(b"Names").ok());
        let id = value.as_reference().ok();
        let object_changed = id.is_some_and(|id| self.is_changed(id));
        let value_changed = !same_entry(old_value, Some(value))
            && !same_entry(
                self.previous.catalog.and_then(|c| c.get(b"Names").ok()),
                Some(value),
            );
        if !(object_changed || value_changed) || !self.names_only_appearances() {
            return;
        }
        if let Some(id) = id
            && object_changed
            && (!self.signed.existed(id)
                || self.signed.used_only_by(id, self.signed.facts.catalog_id))
        {
            self.account(id);
        }
        if let Some(appearances) = self.state().dict(value).and_then(|n| n.get(b"AP").ok()) {
            self.account_new_objects_under(appearances);
        }
        self.push_permitted(
            "annotation-appearances-added",
            id,
            ModificationLevel::Annotations,
            "Named appearance streams for annotations (comment icons) were added.".to_owned(),
            "Các luồng hình hiển thị đặt tên cho chú thích (biểu tượng ghi chú) được thêm vào."
                .to_owned(),
        );
    }

    /// The logical structure (tags for accessibility): not displayed, but what screen
    /// readers and copy-paste read (`/ActualText`, `/Alt`). Acrobat adds a signature's
    /// widget to it when signing a tagged document; EU DSS counts this as an extension
    /// change, pyHanko rejects it. Reported once per revision, as undefined.
    fn structure_tree(&mut self) {
        // Not followed: back pointers and the pages, annotations and streams the tags
        // point at (those are judged by their own rules).
        const SKIP: &[&[u8]] = &[b"P", b"Parent", b"Pg", b"Obj", b"Stm", b"StmOwn"];
        let old_value = self
            .signed
            .facts
            .catalog
            .and_then(|c| c.get(b"StructTreeRoot").ok());
        let new_value = self.new.catalog.and_then(|c| c.get(b"StructTreeRoot").ok());
        let old_tree = match old_value {
            Some(value) => reachable_from(&self.old(), value, SKIP, |_| true),
            None => HashSet::new(),
        };
        let signed = self.signed;
        let old_state = self.old();
        let new_tree = match new_value {
            Some(value) => reachable_from(&self.state(), value, SKIP, |id| {
                old_state.get(id).is_none() || old_tree.contains(&id)
            }),
            None => HashSet::new(),
        };
        let mut changed = 0;
        let members: Vec<ObjectId> = new_tree
            .iter()
            .chain(old_tree.iter())
            .copied()
            .filter(|id| self.pending.contains(id))
            .filter(|id| !signed.existed(*id) || old_tree.contains(id))
            .collect();
        for id in members {
            if self.account(id) {
                changed += 1;
            }
        }
        let previous_value = self
            .previous
            .catalog
            .and_then(|c| c.get(b"StructTreeRoot").ok());
        let replaced = !same_entry(old_value, new_value) && !same_entry(previous_value, new_value);
        if changed == 0 && !replaced {
            return;
        }
        self.push(
            "structure-tree-changed",
            new_value.and_then(|v| v.as_reference().ok()),
            ModificationLevel::Other,
            Allowed::Warn,
            format!(
                "The document's logical structure (accessibility tags) was changed after signing ({changed} objects); it is not displayed, but screen readers and copied text use it."
            ),
            format!(
                "Cấu trúc logic của tài liệu (thẻ hỗ trợ tiếp cận) bị thay đổi sau khi ký ({changed} đối tượng); phần này không hiển thị nhưng được trình đọc màn hình và chức năng sao chép văn bản sử dụng."
            ),
        );
    }

    // --- DSS ------------------------------------------------------------------------------

    fn dss(&mut self) {
        let previous_value = self.previous.catalog.and_then(|c| c.get(b"DSS").ok());
        let Some(value) = self.new.catalog.and_then(|c| c.get(b"DSS").ok()) else {
            return;
        };
        let signed = self.signed;
        // New objects, and objects that were only DSS data when signed (PAdES lets the DSS
        // drop and replace its own entries).
        let old = self.old();
        let members = reachable_from(&self.state(), value, &[], |id| {
            old.get(id).is_none() || signed.dss.contains(&id)
        });
        let mut touched = !same_entry(previous_value, Some(value));
        let mut ids: Vec<ObjectId> = members
            .into_iter()
            .filter(|id| self.is_changed(*id))
            .collect();
        ids.sort_unstable();
        for id in ids {
            if self.signed.existed(id) && !self.signed.dss.contains(&id) {
                continue;
            }
            self.account(id);
            touched = true;
        }
        // DSS entries dropped since signing.
        let dropped: Vec<ObjectId> = self
            .pending
            .iter()
            .filter(|id| self.signed.dss.contains(id) && self.state().get(**id).is_none())
            .copied()
            .collect();
        for id in dropped {
            self.account(id);
            touched = true;
        }
        if !touched {
            return;
        }
        let problems = dss_problems(&self.state(), value);
        let (kind, detail, detail_vi) = if previous_value.is_none() {
            (
                "dss-added",
                "Validation data (DSS: certificates, CRLs, OCSP responses) was added for long-term validation.",
                "Thêm kho dữ liệu xác thực (DSS: chứng thư số, CRL, phản hồi OCSP) phục vụ kiểm tra lâu dài.",
            )
        } else {
            (
                "dss-updated",
                "The validation data (DSS: certificates, CRLs, OCSP responses) was updated.",
                "Kho dữ liệu xác thực (DSS: chứng thư số, CRL, phản hồi OCSP) được cập nhật.",
            )
        };
        let id = value.as_reference().ok();
        self.push(
            kind,
            id,
            ModificationLevel::LtaUpdates,
            Allowed::Yes,
            detail.to_owned(),
            detail_vi.to_owned(),
        );
        if !problems.is_empty() {
            let list = problems.join("; ");
            self.push(
                "dss-malformed",
                id,
                ModificationLevel::Other,
                Allowed::Warn,
                format!("The DSS added after signing is not shaped as PAdES requires: {list}."),
                format!(
                    "Kho dữ liệu xác thực (DSS) thêm sau khi ký không đúng cấu trúc PAdES: {list}."
                ),
            );
        }
    }

    // --- form fields and signatures ---------------------------------------------------------

    fn form(&mut self) {
        let old_form = self.signed.facts.acroform;
        let new_form = self.new.acroform;
        let new_value = self.new.catalog.and_then(|c| c.get(b"AcroForm").ok());
        let old_value = self
            .signed
            .facts
            .catalog
            .and_then(|c| c.get(b"AcroForm").ok());
        if let Some(Ok(id)) = new_value.map(Object::as_reference)
            && self.is_changed(id)
            && (old_value.and_then(|v| v.as_reference().ok()) == Some(id)
                || !self.signed.existed(id))
        {
            self.account(id);
        }
        let empty = Dictionary::new();
        let keys = self.fresh_keys(
            old_form.unwrap_or(&empty),
            Some(self.previous.acroform.unwrap_or(&empty)),
            new_form.unwrap_or(&empty),
            ACROFORM_MAY_CHANGE,
        );
        if !keys.is_empty() {
            let xfa = keys.iter().any(|k| k == b"XFA");
            self.push(
                "form-changed",
                new_value.and_then(|v| v.as_reference().ok()),
                ModificationLevel::Other,
                if xfa { Allowed::No } else { Allowed::Warn },
                format!(
                    "The form dictionary (AcroForm) was changed after signing ({}).",
                    key_list(&keys)
                ),
                format!(
                    "Từ điển biểu mẫu (AcroForm) bị thay đổi sau khi ký ({}).",
                    key_list(&keys)
                ),
            );
        }
        if let Some(form) = new_form {
            let old_fields = old_form
                .and_then(|f| f.get(b"Fields").ok())
                .and_then(|f| f.as_reference().ok());
            if let Ok(value) = form.get(b"Fields")
                && let Ok(id) = value.as_reference()
                && self.is_changed(id)
                && (old_fields == Some(id) || !self.signed.existed(id))
            {
                self.account(id);
            }
            if let Ok(resources) = form.get(b"DR") {
                let mut touched = 0;
                let old_dr = old_form
                    .and_then(|f| f.get(b"DR").ok())
                    .and_then(|d| d.as_reference().ok());
                if let Ok(id) = resources.as_reference()
                    && self.is_changed(id)
                    && (old_dr == Some(id) || !self.signed.existed(id))
                {
                    self.account(id);
                    touched += 1;
                }
                touched += self.account_new_objects_under(resources);
                if touched > 0 {
                    self.push_permitted(
                        "form-resources-updated",
                        resources.as_reference().ok(),
                        ModificationLevel::FormFilling,
                        "The form's default resources (fonts for field appearances) were updated."
                            .to_owned(),
                        "Tài nguyên mặc định của biểu mẫu (phông chữ cho trường) được cập nhật."
                            .to_owned(),
                    );
                }
            }
        }
        let old_ids: Vec<ObjectId> = self.signed.facts.fields.keys().copied().collect();
        let new_ids: Vec<ObjectId> = self.new.fields.keys().copied().collect();
        for id in &old_ids {
            if !self.new.fields.contains_key(id) {
                self.field_removed(*id);
            }
        }
        for id in &new_ids {
            if self.signed.facts.fields.contains_key(id) {
                self.field_kept(*id);
            } else {
                self.field_added(*id);
            }
        }
    }

    fn field_removed(&mut self, id: ObjectId) {
        if self.is_changed(id) {
            self.account(id);
        }
        if !self.previous.fields.contains_key(&id) {
            // Removed in an earlier revision, and reported there.
            return;
        }
        let Some(field) = self.signed.facts.fields.get(&id) else {
            return;
        };
        let name = field.name.clone();
        if field.is_signature() && field.dict.has(b"V") {
            self.push(
                "signature-field-removed",
                Some(id),
                ModificationLevel::Other,
                Allowed::No,
                format!(
                    "The signed signature field “{name}” was removed from the form after signing."
                ),
                format!("Trường chữ ký đã ký “{name}” bị gỡ khỏi biểu mẫu sau khi ký."),
            );
        } else {
            self.push(
                "form-field-removed",
                Some(id),
                ModificationLevel::Other,
                Allowed::Warn,
                format!("The form field “{name}” was removed after signing."),
                format!("Trường biểu mẫu “{name}” bị xóa sau khi ký."),
            );
        }
    }

    fn field_added(&mut self, id: ObjectId) {
        let state = self.state();
        let Some(field) = self.new.fields.get(&id) else {
            return;
        };
        let name = field.name.clone();
        let widgets = field.widgets.clone();
        let is_signature = field.is_signature();
        let dict: &'h Dictionary = field.dict;
        let value = dict.get(b"V").ok();
        let field_object = state.get(id);
        // A field must be a new object: reusing one that was in use when signed is judged by
        // the rules for that object (and, unexplained, reported).
        let mut touched = !self.previous.fields.contains_key(&id);
        if !self.signed.existed(id) {
            touched |= self.account(id);
        }
        for widget in &widgets {
            if !self.signed.existed(*widget) {
                touched |= self.account(*widget);
            }
            if let Some(object) = state.get(*widget) {
                touched |= self.account_new_objects_under(object) > 0;
            }
        }
        if let Some(object) = field_object {
            touched |= self.account_new_objects_under(object) > 0;
        }
        if !touched {
            // Added in an earlier revision and unchanged since: reported there.
            return;
        }
        if !is_signature {
            self.push(
                "form-field-added",
                Some(id),
                ModificationLevel::Other,
                Allowed::Warn,
                format!(
                    "A new form field “{name}” (not a signature field) was added after signing."
                ),
                format!(
                    "Trường biểu mẫu mới “{name}” (không phải trường chữ ký) được thêm sau khi ký."
                ),
            );
            return;
        }
        let visible = widgets.iter().any(|w| {
            state
                .dict_of(*w)
                .is_some_and(|d| rect_area(&state, d) > 0.0)
        });
        let signature = value.and_then(|v| state.dict(v));
        let (kind, level, detail, detail_vi) = match signature {
            Some(sig) if is_document_timestamp(sig) && !visible => (
                "document-timestamp-added",
                ModificationLevel::LtaUpdates,
                format!("A document timestamp was added in the new field “{name}”."),
                format!("Dấu thời gian tài liệu được thêm vào trường mới “{name}”."),
            ),
            Some(_) => (
                "signature-added",
                ModificationLevel::FormFilling,
                format!("A new signature was added in the new field “{name}”."),
                format!("Chữ ký mới được thêm vào trường mới “{name}”."),
            ),
            None => (
                "signature-field-added",
                if visible {
                    ModificationLevel::FormFilling
                } else {
                    ModificationLevel::LtaUpdates
                },
                format!("An empty signature field “{name}” was added."),
                format!("Trường chữ ký trống “{name}” được thêm vào."),
            ),
        };
        // The Sneaky Signature pattern: a visible signature widget added to a certified
        // document painted over the certified content. (Approval signatures are not held to
        // this: a seal stamped over the signer's name is the usual Vietnamese layout.)
        if visible && let Some(mdp) = self.permissions.doc_mdp {
            let covering = widgets.iter().any(|w| {
                let area = state.dict_of(*w).and_then(|d| rect_of(&state, d));
                match (area, self.page_of(*w)) {
                    (Some(area), Some(page)) => self.covers_signed_content(page, &area, *w),
                    // A visible widget whose page cannot be told: assume the worst.
                    _ => true,
                }
            });
            if covering {
                let p = mdp.p();
                self.push(
                    kind,
                    Some(id),
                    ModificationLevel::Other,
                    Allowed::Warn,
                    format!("{detail} Its widget is painted over the content certified by the certification signature (DocMDP P={p})."),
                    format!("{detail_vi} Ô hiển thị của trường này vẽ đè lên nội dung đã được chữ ký chứng nhận (DocMDP P={p}) xác nhận."),
                );
                return;
            }
        }
        self.push_permitted(kind, Some(id), level, detail, detail_vi);
    }

    fn field_kept(&mut self, id: ObjectId) {
        let (Some(old), Some(new)) = (self.signed.facts.fields.get(&id), self.new.fields.get(&id))
        else {
            return;
        };
        let name = new.name.clone();
        let old_dict = old.dict;
        let new_dict = new.dict;
        let is_signature = old.is_signature() || new.is_signature();
        let mut widgets: Vec<ObjectId> = old.widgets.clone();
        for w in &new.widgets {
            if !widgets.contains(w) {
                widgets.push(*w);
            }
        }
        // Which objects of this field changed: the field, its widgets, their appearances.
        let mut involved = vec![id];
        involved.extend(widgets.iter().copied());
        for widget in &widgets {
            for state in [self.old(), self.state()] {
                if let Some(ap) = state.dict_of(*widget).and_then(|w| w.get(b"AP").ok()) {
                    let mut found = Vec::new();
                    references(ap, &[], &mut found);
                    involved.extend(found);
                }
            }
        }
        if !involved.iter().any(|i| self.pending.contains(i)) {
            return;
        }
        if is_signature {
            self.signature_field_kept(id, &name, old_dict, new_dict, &widgets);
        } else {
            self.form_field_kept(id, &name, old_dict, new_dict, &widgets);
        }
    }

    fn signature_field_kept(
        &mut self,
        id: ObjectId,
        name: &str,
        old: &'h Dictionary,
        new: &'h Dictionary,
        widgets: &[ObjectId],
    ) {
        let state = self.state();
        let old_value = old.get(b"V").ok();
        let new_value = new.get(b"V").ok();
        if self.is_changed(id) {
            self.account(id);
        }
        match (old_value, new_value) {
            (Some(old_value), new_value) => {
                // An already signed field: only /Ff and /Type may move.
                if !same_entry(new_value, Some(old_value)) {
                    self.push(
                        "signature-dictionary-changed",
                        Some(id),
                        ModificationLevel::Other,
                        Allowed::No,
                        format!("The signed field “{name}” was given another signature value after signing."),
                        format!("Trường đã ký “{name}” bị gán giá trị chữ ký khác sau khi ký."),
                    );
                }
                let before = self.previous.state.dict_of(id);
                let mut keys = self.fresh_keys(old, before, new, FIELD_ALWAYS_MAY_CHANGE);
                keys.retain(|k| k != b"V");
                let appearance_changed = self.widgets_changed(id, widgets, &[b"Type"]);
                self.appearances(widgets);
                if !keys.is_empty() || appearance_changed {
                    if appearance_changed {
                        keys.push(b"AP".to_vec());
                    }
                    self.push(
                        "signature-field-changed",
                        Some(id),
                        ModificationLevel::Other,
                        Allowed::No,
                        format!(
                            "The signed field “{name}” was changed after signing ({}).",
                            key_list(&keys)
                        ),
                        format!(
                            "Trường chữ ký đã ký “{name}” bị thay đổi sau khi ký ({}).",
                            key_list(&keys)
                        ),
                    );
                }
            }
            (None, Some(value)) => {
                // An empty field signed now.
                let before = self.previous.state.dict_of(id);
                let keys = self.fresh_keys(old, before, new, FIELD_VALUE_KEYS);
                if !keys.is_empty() {
                    self.push(
                        "form-field-changed",
                        Some(id),
                        ModificationLevel::Other,
                        Allowed::Warn,
                        format!(
                            "The signature field “{name}” was changed beyond being signed ({}).",
                            key_list(&keys)
                        ),
                        format!(
                            "Trường chữ ký “{name}” bị thay đổi ngoài việc ký ({}).",
                            key_list(&keys)
                        ),
                    );
                }
                if let Ok(sig) = value.as_reference()
                    && !self.signed.existed(sig)
                {
                    self.account(sig);
                }
                self.account_new_objects_under(value);
                self.widgets_changed(id, widgets, &[]);
                self.appearances(widgets);
                let visible = widgets.iter().any(|w| {
                    state
                        .dict_of(*w)
                        .is_some_and(|d| rect_area(&state, d) > 0.0)
                });
                let timestamp = state.dict(value).is_some_and(is_document_timestamp) && !visible;
                let (kind, level, detail, detail_vi) = if timestamp {
                    (
                        "document-timestamp-added",
                        ModificationLevel::LtaUpdates,
                        format!("A document timestamp was added in the existing field “{name}”."),
                        format!("Dấu thời gian tài liệu được thêm vào trường có sẵn “{name}”."),
                    )
                } else {
                    (
                        "signature-added",
                        ModificationLevel::FormFilling,
                        format!("A signature was added in the existing empty field “{name}”."),
                        format!("Chữ ký được thêm vào trường chữ ký trống có sẵn “{name}”."),
                    )
                };
                if !timestamp && self.permissions.locks(name) {
                    self.push(
                        kind,
                        Some(id),
                        ModificationLevel::Other,
                        Allowed::Warn,
                        format!("{detail} The field is locked by the signature (FieldMDP)."),
                        format!("{detail_vi} Trường này đã bị chữ ký khóa (FieldMDP)."),
                    );
                } else {
                    self.push_permitted(kind, Some(id), level, detail, detail_vi);
                }
            }
            (None, None) => {
                let before = self.previous.state.dict_of(id);
                let keys = self.fresh_keys(old, before, new, FIELD_ALWAYS_MAY_CHANGE);
                let appearance_changed = self.widgets_changed(id, widgets, &[b"Type"]);
                self.appearances(widgets);
                if !keys.is_empty() || appearance_changed {
                    let mut keys = keys;
                    if appearance_changed {
                        keys.push(b"AP".to_vec());
                    }
                    self.push(
                        "form-field-changed",
                        Some(id),
                        ModificationLevel::Other,
                        Allowed::Warn,
                        format!(
                            "The empty signature field “{name}” was changed after signing ({}).",
                            key_list(&keys)
                        ),
                        format!(
                            "Trường chữ ký trống “{name}” bị thay đổi sau khi ký ({}).",
                            key_list(&keys)
                        ),
                    );
                }
            }
        }
    }

    fn form_field_kept(
        &mut self,
        id: ObjectId,
        name: &str,
        old: &'h Dictionary,
        new: &'h Dictionary,
        widgets: &[ObjectId],
    ) {
        if self.is_changed(id) {
            self.account(id);
        }
        let before = self.previous.state.dict_of(id);
        let keys = self.fresh_keys(old, before, new, FIELD_VALUE_KEYS);
        if !keys.is_empty() {
            self.push(
                "form-field-changed",
                Some(id),
                ModificationLevel::Other,
                Allowed::Warn,
                format!(
                    "The form field “{name}” was changed beyond its value ({}).",
                    key_list(&keys)
                ),
                format!(
                    "Trường biểu mẫu “{name}” bị thay đổi ngoài giá trị của nó ({}).",
                    key_list(&keys)
                ),
            );
        }
        if let Ok(value) = new.get(b"V") {
            self.account_new_objects_under(value);
        }
        let widgets_changed = self.widgets_changed(id, widgets, &[]);
        let value_changed = !differing_keys(old, new, &[]).is_empty() || widgets_changed;
        self.appearances(widgets);
        if !value_changed {
            return;
        }
        let detail = format!("The form field “{name}” was filled in or its value changed.");
        let detail_vi = format!("Trường biểu mẫu “{name}” được điền hoặc đổi giá trị.");
        if self.permissions.locks(name) {
            self.push(
                "form-field-filled",
                Some(id),
                ModificationLevel::Other,
                Allowed::Warn,
                format!("{detail} The field is locked by the signature (FieldMDP)."),
                format!("{detail_vi} Trường này đã bị chữ ký khóa (FieldMDP)."),
            );
        } else {
            self.push_permitted(
                "form-field-filled",
                Some(id),
                ModificationLevel::FormFilling,
                detail,
                detail_vi,
            );
        }
    }

    /// Whether a field's separate widgets, or the appearance objects of its widgets, changed;
    /// reports widget entries other than `WIDGET_VALUE_KEYS` (plus `extra_allowed` keys are
    /// the only ones that may change when the field's value does not).
    fn widgets_changed(
        &mut self,
        field: ObjectId,
        widgets: &[ObjectId],
        extra_allowed: &[&[u8]],
    ) -> bool {
        let mut changed = false;
        for widget in widgets {
            let (Some(old), Some(new)) =
                (self.old().dict_of(*widget), self.state().dict_of(*widget))
            else {
                continue;
            };
            if *widget != field {
                if self.is_changed(*widget) {
                    self.account(*widget);
                }
                let mut allowed_keys: Vec<&[u8]> = WIDGET_VALUE_KEYS.to_vec();
                allowed_keys.extend_from_slice(extra_allowed);
                let before = self.previous.state.dict_of(*widget);
                let keys = self.fresh_keys(old, before, new, &allowed_keys);
                if !keys.is_empty() {
                    self.push(
                        "form-field-changed",
                        Some(*widget),
                        ModificationLevel::Other,
                        Allowed::Warn,
                        format!(
                            "Widget {} of a form field was changed after signing ({}).",
                            show(*widget),
                            key_list(&keys)
                        ),
                        format!(
                            "Ô hiển thị {} của một trường biểu mẫu bị thay đổi sau khi ký ({}).",
                            show(*widget),
                            key_list(&keys)
                        ),
                    );
                }
                if !differing_keys(old, new, &[]).is_empty() {
                    changed = true;
                }
            }
            if !same_entry(old.get(b"AP").ok(), new.get(b"AP").ok()) {
                changed = true;
            }
            let mut found = Vec::new();
            if let Ok(ap) = old.get(b"AP") {
                references(ap, &[], &mut found);
            }
            if found.iter().any(|f| self.is_changed(*f)) {
                changed = true;
            }
        }
        changed
    }

    /// Accounts for the appearance objects of widgets being filled in or signed: new
    /// objects, and objects that were used by this widget alone when signed (an in-place
    /// update). Overwriting an appearance object used elsewhere is the sneaky-signature
    /// attack.
    fn appearances(&mut self, widgets: &[ObjectId]) {
        let state = self.state();
        let old = self.old();
        for widget in widgets {
            let old_value = old.dict_of(*widget).and_then(|w| w.get(b"AP").ok());
            let Some(ap_value) = state.dict_of(*widget).and_then(|w| w.get(b"AP").ok()) else {
                continue;
            };
            // pyHanko's rule: an appearance dictionary that other objects also used when
            // signed is not this widget's to replace.
            if let Some(Object::Reference(old_id)) = old_value
                && self.signed.existed(*old_id)
                && !self.signed.used_only_by(*old_id, Some(*widget))
                && !same_value(ap_value, &Object::Reference(*old_id))
                && !self.reported.contains("shared-appearance-replaced")
            {
                self.push(
                    "shared-appearance-replaced",
                    Some(*old_id),
                    ModificationLevel::Other,
                    Allowed::Warn,
                    format!(
                        "The appearance of widget {} was replaced, and its appearance dictionary {} was shared with other objects when signed (a “sneaky” form update).",
                        show(*widget),
                        show(*old_id)
                    ),
                    format!(
                        "Hình hiển thị của ô {} bị thay, trong khi từ điển hình hiển thị {} của nó dùng chung với đối tượng khác lúc ký (cập nhật biểu mẫu kiểu “sneaky”).",
                        show(*widget),
                        show(*old_id)
                    ),
                );
            }
            let mut owner = Some(*widget);
            let mut shared = false;
            if let Ok(ap_id) = ap_value.as_reference() {
                shared =
                    self.signed.existed(ap_id) && !self.signed.used_only_by(ap_id, Some(*widget));
                if self.is_changed(ap_id) {
                    if shared {
                        self.shared_appearance(ap_id);
                    } else {
                        self.account(ap_id);
                    }
                }
                owner = Some(ap_id);
            }
            let mut streams = Vec::new();
            if let Some(ap) = state.dict(ap_value) {
                for key in [b"N".as_slice(), b"R", b"D"] {
                    let Ok(entry) = ap.get(key) else {
                        continue;
                    };
                    match entry {
                        Object::Reference(stream) => streams.push((*stream, owner)),
                        Object::Dictionary(states) => {
                            for (_, item) in states.iter() {
                                if let Ok(stream) = item.as_reference() {
                                    streams.push((stream, owner));
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            for (stream, owner) in streams {
                if !self.is_changed(stream) {
                    continue;
                }
                // Rewriting a stream in place changes every user of it, and of a shared
                // dictionary holding it.
                if self.signed.existed(stream)
                    && (shared || !self.signed.used_only_by(stream, owner))
                {
                    self.shared_appearance(stream);
                    continue;
                }
                self.account(stream);
                if let Some(object) = state.get(stream) {
                    self.account_new_objects_under(object);
                }
            }
            self.account_new_objects_under(ap_value);
        }
    }

    fn shared_appearance(&mut self, id: ObjectId) {
        self.account(id);
        self.push(
            "shared-appearance-overwritten",
            Some(id),
            ModificationLevel::Other,
            Allowed::No,
            format!(
                "Appearance object {}, which other objects of the signed document also use, was overwritten (a “sneaky signature” pattern).",
                show(id)
            ),
            format!(
                "Đối tượng hiển thị {}, vốn được các đối tượng khác trong bản đã ký cùng sử dụng, bị ghi đè (dấu hiệu tấn công “sneaky signature”).",
                show(id)
            ),
        );
    }

    // --- annotations ------------------------------------------------------------------------

    fn annotations(&mut self) {
        let pages: Vec<ObjectId> = self
            .signed
            .facts
            .pages
            .iter()
            .filter(|p| self.new.annotations.contains_key(p))
            .copied()
            .collect();
        for page in pages {
            let (Some(old), Some(new)) = (
                self.signed.facts.annotations.get(&page),
                self.new.annotations.get(&page),
            ) else {
                continue;
            };
            let old_refs = old.refs.clone();
            let new_refs = new.refs.clone();
            let previous = self.previous.annotations.get(&page);
            let previous_refs = previous.map(|p| p.refs.clone()).unwrap_or_default();
            let differ = |a: &[&Object], b: &[&Object]| {
                a.len() != b.len() || a.iter().any(|d| !b.iter().any(|n| same_value(d, n)))
            };
            let direct_changed = differ(&old.direct, &new.direct)
                && previous.is_none_or(|p| differ(&p.direct, &new.direct));
            let (old_array, new_array) = (old.array, new.array);
            if let Some(array) = new_array
                && self.is_changed(array)
                && (old_array == Some(array) || !self.signed.existed(array))
            {
                self.account(array);
            }
            for annotation in &old_refs {
                if !new_refs.contains(annotation) && previous_refs.contains(annotation) {
                    self.annotation_removed(*annotation);
                }
            }
            for annotation in &new_refs {
                if old_refs.contains(annotation) {
                    self.annotation_kept(*annotation);
                } else {
                    self.annotation_added(page, *annotation, previous_refs.contains(annotation));
                }
            }
            if direct_changed {
                let p3 = self.permissions.doc_mdp == Some(DocMdp::Annotations);
                self.push(
                    "annotation-changed",
                    Some(page),
                    if p3 {
                        ModificationLevel::Annotations
                    } else {
                        ModificationLevel::Other
                    },
                    if p3 { Allowed::Yes } else { Allowed::No },
                    format!(
                        "Annotations written directly in page {} were changed after signing.",
                        show(page)
                    ),
                    format!(
                        "Các chú thích ghi trực tiếp trong trang {} bị thay đổi sau khi ký.",
                        show(page)
                    ),
                );
            }
        }
    }

    /// Whether an annotation paints something on the page.
    fn visible(state: &State<'_>, id: ObjectId) -> bool {
        let Some(dict) = state.dict_of(id) else {
            return false;
        };
        let flags = dict
            .get(b"F")
            .ok()
            .and_then(|f| state.resolve(f))
            .and_then(|f| f.as_i64().ok())
            .unwrap_or(0);
        let hidden = flags & (2 | 32) != 0;
        let paints = dict.has(b"AP")
            || name_of(dict.get(b"Subtype").ok())
                .is_some_and(|s| PAINTING_ANNOTATIONS.contains(&s));
        !hidden && paints && rect_area(state, dict) > 0.0
    }

    fn subtype(state: &State<'_>, id: ObjectId) -> String {
        state
            .dict_of(id)
            .and_then(|d| name_of(d.get(b"Subtype").ok()))
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .unwrap_or_else(|| "?".to_owned())
    }

    /// A visible annotation removed or changed: only a P3 certification permits it (what
    /// the signer saw changes, and removing an overlay reveals what it hid).
    fn annotation_edit(
        &mut self,
        kind: &'static str,
        id: ObjectId,
        visible: bool,
        detail: String,
        detail_vi: String,
    ) {
        let p3 = self.permissions.doc_mdp == Some(DocMdp::Annotations);
        if visible && !p3 {
            self.push(
                kind,
                Some(id),
                ModificationLevel::Other,
                Allowed::No,
                format!("{detail} It was visible on the signed page: this can hide or reveal signed content."),
                format!("{detail_vi} Chú thích này hiển thị trên trang đã ký: việc này có thể che hoặc làm lộ nội dung đã ký."),
            );
        } else {
            self.push_permitted(
                kind,
                Some(id),
                ModificationLevel::Annotations,
                detail,
                detail_vi,
            );
        }
    }

    fn annotation_removed(&mut self, id: ObjectId) {
        if let Some(field) = self.signed.facts.widget_field.get(&id)
            && let Some(f) = self.signed.facts.fields.get(field)
            && f.is_signature()
            && f.dict.has(b"V")
        {
            let name = f.name.clone();
            self.push(
                "signature-field-removed",
                Some(id),
                ModificationLevel::Other,
                Allowed::No,
                format!("The widget of the signed field “{name}” was removed from its page after signing."),
                format!("Ô hiển thị của trường đã ký “{name}” bị gỡ khỏi trang sau khi ký."),
            );
            return;
        }
        let old = self.old();
        let visible = Self::visible(&old, id);
        let subtype = Self::subtype(&old, id);
        self.annotation_edit(
            "annotation-removed",
            id,
            visible,
            format!(
                "Annotation {} ({subtype}) was removed after signing.",
                show(id)
            ),
            format!("Chú thích {} ({subtype}) bị xóa sau khi ký.", show(id)),
        );
        if self.is_changed(id) {
            self.account(id);
        }
    }

    /// An annotation added since signing; `earlier` when an earlier revision already had it
    /// (then only a change to it is reported).
    fn annotation_added(&mut self, page: ObjectId, id: ObjectId, earlier: bool) {
        let state = self.state();
        if let Some(field) = self.new.widget_field.get(&id).copied() {
            if !self.signed.facts.fields.contains_key(&field) {
                // A widget of a new field: judged with the field.
                return;
            }
            // The field's own widget put on the page as the field is signed or filled in
            // (a timestamp applied to an existing empty field does this): judged with it.
            if self.signed.facts.widget_field.get(&id) == Some(&field)
                && (self.is_changed(field) || self.is_changed(id))
            {
                return;
            }
            let name = self
                .new
                .fields
                .get(&field)
                .map(|f| f.name.clone())
                .unwrap_or_default();
            let touched = self.is_changed(id) && !self.signed.existed(id) && self.account(id);
            if earlier && !touched {
                return;
            }
            self.push(
                "form-field-changed",
                Some(id),
                ModificationLevel::Other,
                Allowed::Warn,
                format!("The existing field “{name}” was given another widget after signing."),
                format!("Trường có sẵn “{name}” được thêm một ô hiển thị khác sau khi ký."),
            );
            return;
        }
        let mut touched = self.is_changed(id) && !self.signed.existed(id) && self.account(id);
        if let Some(object) = state.get(id) {
            touched |= self.account_new_objects_under(object) > 0;
        }
        if earlier && !touched {
            return;
        }
        let subtype = Self::subtype(&state, id);
        let area = state.dict_of(id).and_then(|d| rect_of(&state, d));
        if Self::visible(&state, id)
            && let Some(area) = area
            && self.covers_signed_content(page, &area, id)
        {
            // The Evil Annotation pattern: whatever permits annotations, one painted over
            // the signed content changes what the reader sees as signed.
            self.push(
                "annotation-overlaps-content",
                Some(id),
                ModificationLevel::Other,
                Allowed::Warn,
                format!(
                    "An annotation ({subtype}, {}) added after signing is painted over the signed page content or over an annotation that was visible when signed.",
                    show(id)
                ),
                format!(
                    "Chú thích ({subtype}, {}) thêm sau khi ký được vẽ đè lên nội dung trang đã ký hoặc lên một chú thích đã hiển thị lúc ký.",
                    show(id)
                ),
            );
            return;
        }
        self.push_permitted(
            "annotation-added",
            Some(id),
            ModificationLevel::Annotations,
            format!(
                "An annotation ({subtype}, {}) was added after signing.",
                show(id)
            ),
            format!(
                "Chú thích mới ({subtype}, {}) được thêm vào sau khi ký.",
                show(id)
            ),
        );
    }

    fn annotation_kept(&mut self, id: ObjectId) {
        if self.signed.facts.widget_field.contains_key(&id) {
            // A field's widget: judged with the field.
            return;
        }
        let old = self.old();
        let state = self.state();
        let mut appearance = Vec::new();
        for s in [old, state] {
            if let Some(ap) = s.dict_of(id).and_then(|d| d.get(b"AP").ok()) {
                references(ap, &[], &mut appearance);
            }
        }
        let appearance_changed: Vec<ObjectId> = appearance
            .iter()
            .copied()
            .filter(|a| self.is_changed(*a))
            .collect();
        if !self.is_changed(id) && appearance_changed.is_empty() {
            return;
        }
        self.account(id);
        for object in appearance_changed {
            if self.signed.existed(object)
                && !self.signed.used_only_by(object, Some(id))
                && !appearance_parents_only(self.signed, object, id)
            {
                self.shared_appearance(object);
            } else {
                self.account(object);
            }
        }
        if let Some(object) = state.get(id) {
            self.account_new_objects_under(object);
        }
        let visible = Self::visible(&old, id) || Self::visible(&state, id);
        let subtype = Self::subtype(&state, id);
        self.annotation_edit(
            "annotation-changed",
            id,
            visible,
            format!(
                "Annotation {} ({subtype}) was changed after signing.",
                show(id)
            ),
            format!("Chú thích {} ({subtype}) bị sửa sau khi ký.", show(id)),
        );
    }

    // --- file structure -----------------------------------------------------------------

    /// Object and cross-reference streams, and objects nothing uses (pyHanko ignores those).
    fn file_structure(&mut self) {
        let state = self.state();
        let pending: Vec<ObjectId> = self.pending.iter().copied().collect();
        for id in &pending {
            if self.signed.existed(*id) {
                continue;
            }
            if let Some(Object::Stream(stream)) = state.get(*id)
                && matches!(
                    name_of(stream.dict.get(b"Type").ok()),
                    Some(b"ObjStm" | b"XRef")
                )
            {
                self.account(*id);
            }
        }
        if self.pending.iter().all(|id| self.signed.existed(*id)) {
            return;
        }
        let Some(trailer) = state.trailer() else {
            return;
        };
        let mut reachable = HashSet::new();
        for (_, value) in trailer.iter() {
            reachable.extend(reachable_from(&state, value, &[], |_| true));
        }
        for id in pending {
            if !self.signed.existed(id) && !reachable.contains(&id) {
                self.account(id);
            }
        }
    }

    fn unexplained(&mut self) {
        let state = self.state();
        let pending: Vec<ObjectId> = std::mem::take(&mut self.pending).into_iter().collect();
        for id in pending {
            let (kind, detail, detail_vi) = if state.get(id).is_none() {
                (
                    "object-deleted",
                    format!(
                        "Object {} of the signed document was deleted after signing.",
                        show(id)
                    ),
                    format!("Đối tượng {} của bản đã ký bị xóa sau khi ký.", show(id)),
                )
            } else if self.old().get(id).is_none() && self.signed.existed(id) {
                (
                    "object-redefined",
                    format!(
                        "Object {} was referenced but not defined when signed; a later revision defined it, which changes what the signed document referred to.",
                        show(id)
                    ),
                    format!(
                        "Đối tượng {} được tham chiếu nhưng chưa được định nghĩa lúc ký; một phiên bản sau đã định nghĩa nó, làm thay đổi nội dung mà bản đã ký tham chiếu tới.",
                        show(id)
                    ),
                )
            } else if self.signed.existed(id) {
                (
                    "object-changed",
                    format!(
                        "Object {} was changed after signing, and the change is not of a kind known to be safe.",
                        show(id)
                    ),
                    format!(
                        "Đối tượng {} bị thay đổi sau khi ký, và thay đổi này không thuộc loại được biết là an toàn.",
                        show(id)
                    ),
                )
            } else {
                (
                    "object-added",
                    format!(
                        "Object {} was added after signing, and the addition is not of a kind known to be safe.",
                        show(id)
                    ),
                    format!(
                        "Đối tượng {} được thêm vào sau khi ký, và việc thêm này không thuộc loại được biết là an toàn.",
                        show(id)
                    ),
                )
            };
            self.push(
                kind,
                Some(id),
                ModificationLevel::Other,
                Allowed::Warn,
                detail,
                detail_vi,
            );
        }
    }
}

/// Whether `object` was only used, when signed, by `annotation` and by an appearance
/// dictionary only that annotation used.
fn appearance_parents_only(signed: &Signed<'_>, object: ObjectId, annotation: ObjectId) -> bool {
    signed.referrers.get(&object).is_none_or(|users| {
        users.iter().all(|user| match user {
            Some(parent) if *parent == annotation => true,
            Some(parent) => signed.used_only_by(*parent, Some(annotation)),
            None => false,
        })
    })
}

/// What is wrong with a DSS dictionary's shape (pyHanko's `DSSCompareRule`).
fn dss_problems(state: &State<'_>, value: &Object) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(dss) = state.dict(value) else {
        return vec!["/DSS is not a dictionary".to_owned()];
    };
    let streams = |items: &Object, key: &str, problems: &mut Vec<String>| match state.array(items) {
        Some(items) => {
            if !items.iter().all(|i| {
                matches!(
                    i.as_reference().ok().and_then(|id| state.get(id)),
                    Some(Object::Stream(_))
                )
            }) {
                problems.push(format!(
                    "{key} holds something other than stream references"
                ));
            }
        }
        None => problems.push(format!("{key} is not an array")),
    };
    for (key, item) in dss.iter() {
        match key.as_slice() {
            b"Type" => {}
            b"Certs" | b"CRLs" | b"OCSPs" => streams(
                item,
                &format!("/{}", String::from_utf8_lossy(key)),
                &mut problems,
            ),
            b"VRI" => {
                let Some(vri) = state.dict(item) else {
                    problems.push("/VRI is not a dictionary".to_owned());
                    continue;
                };
                for (hash, entry) in vri.iter() {
                    if problems.len() >= 8 {
                        break;
                    }
                    if hash == b"Type" {
                        continue;
                    }
                    // The key is the SHA-1 of a signature value; some writers use SHA-256.
                    if ![40, 64].contains(&hash.len()) || !hash.iter().all(u8::is_ascii_hexdigit) {
                        problems.push(format!(
                            "VRI key /{} is not a hash",
                            String::from_utf8_lossy(hash)
                        ));
                    }
                    let Some(entry) = state.dict(entry) else {
                        problems.push("a VRI entry is not a dictionary".to_owned());
                        continue;
                    };
                    for (k, v) in entry.iter() {
                        match k.as_slice() {
                            b"Type" | b"TU" | b"TS" => {}
                            b"Cert" | b"CRL" | b"OCSP" => streams(
                                v,
                                &format!("VRI /{}", String::from_utf8_lossy(k)),
                                &mut problems,
                            ),
                            other => problems.push(format!(
                                "unexpected VRI key /{}",
                                String::from_utf8_lossy(other)
                            )),
                        }
                    }
                }
            }
            other => problems.push(format!(
                "unexpected key /{}",
                String::from_utf8_lossy(other)
            )),
        }
    }
    problems.truncate(8);
    problems
}

// ---------------------------------------------------------------------------------------
// Where the signed page paints: for annotations added over it
// ---------------------------------------------------------------------------------------

/// Most decoded content bytes read for one page.
const MAX_CONTENT_BYTES: usize = 32 * 1024 * 1024;
/// Most content operators interpreted for one page.
const MAX_OPERATIONS: usize = 1_000_000;
/// Most painted areas kept for one page; beyond it they are merged into one.
const MAX_AREAS: usize = 4096;

/// An axis-aligned rectangle in default user space.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Area {
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
}

impl Area {
    fn new(a: f64, b: f64, c: f64, d: f64) -> Self {
        Area {
            x0: a.min(c),
            y0: b.min(d),
            x1: a.max(c),
            y1: b.max(d),
        }
    }

    /// Whether the two share more than a border (DSS does not count annotations that only
    /// touch as overlapping).
    fn overlaps(&self, other: &Area) -> bool {
        self.x0 < other.x1 && other.x0 < self.x1 && self.y0 < other.y1 && other.y0 < self.y1
    }

    fn size(&self) -> f64 {
        (self.x1 - self.x0) * (self.y1 - self.y0)
    }

    fn union(&self, other: &Area) -> Area {
        Area {
            x0: self.x0.min(other.x0),
            y0: self.y0.min(other.y0),
            x1: self.x1.max(other.x1),
            y1: self.y1.max(other.y1),
        }
    }

    fn is_finite(&self) -> bool {
        [self.x0, self.y0, self.x1, self.y1]
            .iter()
            .all(|v| v.is_finite())
    }
}

/// A PDF transformation matrix `[a b c d e f]`.
type Matrix = [f64; 6];
const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

/// `m` then `n` (PDF's row-vector convention: `m × n`).
fn then(m: &Matrix, n: &Matrix) -> Matrix {
    [
        m[0] * n[0] + m[1] * n[2],
        m[0] * n[1] + m[1] * n[3],
        m[2] * n[0] + m[3] * n[2],
        m[2] * n[1] + m[3] * n[3],
        m[4] * n[0] + m[5] * n[2] + n[4],
        m[4] * n[1] + m[5] * n[3] + n[5],
    ]
}

fn apply(m: &Matrix, x: f64, y: f64) -> (f64, f64) {
    (m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5])
}

/// The bounding box of a rectangle after a transformation.
fn transformed(m: &Matrix, area: &Area) -> Area {
    let corners = [
        apply(m, area.x0, area.y0),
        apply(m, area.x1, area.y0),
        apply(m, area.x0, area.y1),
        apply(m, area.x1, area.y1),
    ];
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for (x, y) in corners {
        x0 = x0.min(x);
        y0 = y0.min(y);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    Area { x0, y0, x1, y1 }
}

fn number(object: &Object) -> Option<f64> {
    match object {
        Object::Integer(i) => Some(*i as f64),
        Object::Real(r) => Some(f64::from(*r)),
        _ => None,
    }
}

fn numbers<const N: usize>(operands: &[Object]) -> Option<[f64; N]> {
    let values: Vec<f64> = operands.iter().filter_map(number).collect();
    values.try_into().ok()
}

/// A page entry, inherited from the page tree when the page lacks it.
fn inherited<'h>(state: &State<'h>, page: ObjectId, key: &[u8]) -> Option<&'h Object> {
    let mut node = state.dict_of(page)?;
    for _ in 0..MAX_INDIRECTION {
        if let Ok(value) = node.get(key) {
            return Some(value);
        }
        node = node.get(b"Parent").ok().and_then(|p| state.dict(p))?;
    }
    None
}

/// The page's visible area (its MediaBox, Letter when absent or malformed).
fn page_box(state: &State<'_>, page: ObjectId) -> Area {
    inherited(state, page, b"MediaBox")
        .and_then(|m| state.array(m))
        .and_then(|m| numbers::<4>(m))
        .map(|[a, b, c, d]| Area::new(a, b, c, d))
        .filter(Area::is_finite)
        .unwrap_or(Area::new(0.0, 0.0, 612.0, 792.0))
}

/// The decoded content streams of a page, joined; `None` when they cannot be decoded.
fn page_content(state: &State<'_>, page: ObjectId) -> Option<Vec<u8>> {
    let contents = state.dict_of(page)?.get(b"Contents").ok()?;
    let ids: Vec<ObjectId> = match contents {
        Object::Reference(id) => match state.get(*id)? {
            Object::Array(items) => items.iter().filter_map(|i| i.as_reference().ok()).collect(),
            _ => vec![*id],
        },
        Object::Array(items) => items.iter().filter_map(|i| i.as_reference().ok()).collect(),
        _ => return None,
    };
    let mut data = Vec::new();
    for id in ids {
        let Some(Object::Stream(stream)) = state.get(id) else {
            return None;
        };
        let range = state.version(id)?.data.clone()?;
        let raw = state
            .history
            .file
            .get(range)
            .filter(|r| r.len() <= MAX_CONTENT_BYTES)?;
        let room = MAX_CONTENT_BYTES.checked_sub(data.len())?;
        if stream.dict.has(b"Filter") {
            let encoded = lopdf::Stream::new(stream.dict.clone(), raw.to_vec());
            data.extend(encoded.decompressed_content_with_limit(room).ok()?);
        } else {
            data.extend_from_slice(raw.get(..raw.len().min(room))?);
        }
        data.push(b'\n');
    }
    Some(data)
}

/// Where a page paints text, images and paths, approximately: text runs are sized from
/// their byte count at half an em per byte (wider than most fonts, so never too small), a
/// form XObject counts as its whole bounding box, fills covering nearly the whole page
/// (backgrounds, frames) are left out. When the content cannot be read, the whole page.
fn painted_areas(state: &State<'_>, page: ObjectId) -> Vec<Area> {
    let page_area = page_box(state, page);
    let Some(data) = page_content(state, page) else {
        return vec![page_area];
    };
    let resources = inherited(state, page, b"Resources").and_then(|r| state.dict(r));
    let xobjects = resources
        .and_then(|r| r.get(b"XObject").ok())
        .and_then(|x| state.dict(x));
    let mut areas: Vec<Area> = Vec::new();
    let mut push = |area: Area, is_path: bool| {
        if !area.is_finite() || (is_path && area.size() >= 0.9 * page_area.size()) {
            return;
        }
        if areas.len() == MAX_AREAS {
            let merged = areas.iter().fold(area, |all, a| all.union(a));
            areas.clear();
            areas.push(merged);
        } else {
            areas.push(area);
        }
    };
    let unit = Area::new(0.0, 0.0, 1.0, 1.0);
    let mut ctm = IDENTITY;
    let mut saved: Vec<Matrix> = Vec::new();
    let (mut text, mut line) = (IDENTITY, IDENTITY);
    let (mut size, mut leading, mut scale) = (12.0_f64, 0.0_f64, 1.0_f64);
    let mut path: Option<Area> = None;
    for (count, operation) in lopdf::content::Content::decode_iter(&data).enumerate() {
        if count >= MAX_OPERATIONS {
            push(page_area, false);
            break;
        }
        // Viewers stop at the first malformed operator; so does this.
        let Ok(operation) = operation else {
            break;
        };
        let operands = &operation.operands;
        let mut show = |advance: f64, text: &mut Matrix| {
            let width = advance * scale;
            let run = Area::new(0.0, -0.25 * size, width, 0.85 * size);
            push(transformed(&then(text, &ctm), &run), false);
            *text = then(&[1.0, 0.0, 0.0, 1.0, width, 0.0], text);
        };
        let byte_width = |object: &Object| match object {
            Object::String(bytes, _) => bytes.len() as f64 * 0.5 * size,
            _ => 0.0,
        };
        match operation.operator.as_str() {
            "q" if saved.len() < 64 => saved.push(ctm),
            "Q" => ctm = saved.pop().unwrap_or(ctm),
            "cm" => {
                if let Some(m) = numbers::<6>(operands) {
                    ctm = then(&m, &ctm);
                }
            }
            "BT" => (text, line) = (IDENTITY, IDENTITY),
            "Tf" => size = operands.get(1).and_then(number).unwrap_or(size),
            "TL" => leading = operands.first().and_then(number).unwrap_or(leading),
            "Tz" => {
                scale = operands
                    .first()
                    .and_then(number)
                    .map_or(scale, |s| s / 100.0)
            }
            "Td" | "TD" => {
                if let Some([x, y]) = numbers::<2>(operands) {
                    if operation.operator == "TD" {
                        leading = -y;
                    }
                    line = then(&[1.0, 0.0, 0.0, 1.0, x, y], &line);
                    text = line;
                }
            }
            "Tm" => {
                if let Some(m) = numbers::<6>(operands) {
                    (text, line) = (m, m);
                }
            }
            "T*" => {
                line = then(&[1.0, 0.0, 0.0, 1.0, 0.0, -leading], &line);
                text = line;
            }
            "Tj" | "'" | "\"" => {
                if operation.operator != "Tj" {
                    line = then(&[1.0, 0.0, 0.0, 1.0, 0.0, -leading], &line);
                    text = line;
                }
                let width = operands.last().map_or(0.0, byte_width);
                show(width, &mut text);
            }
            "TJ" => {
                let width = match operands.first() {
                    Some(Object::Array(items)) => items
                        .iter()
                        .map(|i| number(i).map_or_else(|| byte_width(i), |n| -n / 1000.0 * size))
                        .sum(),
                    _ => 0.0,
                };
                show(width, &mut text);
            }
            "Do" => {
                let target = operands
                    .first()
                    .and_then(|n| n.as_name().ok())
                    .and_then(|n| xobjects.and_then(|x| x.get(n).ok()))
                    .and_then(|x| state.dict(x));
                match target {
                    Some(x) if name_of(x.get(b"Subtype").ok()) == Some(b"Form") => {
                        let bbox = x
                            .get(b"BBox")
                            .ok()
                            .and_then(|b| state.array(b))
                            .and_then(|b| numbers::<4>(b))
                            .map_or(page_area, |[a, b, c, d]| Area::new(a, b, c, d));
                        let matrix = x
                            .get(b"Matrix")
                            .ok()
                            .and_then(|m| state.array(m))
                            .and_then(|m| numbers::<6>(m))
                            .unwrap_or(IDENTITY);
                        push(transformed(&then(&matrix, &ctm), &bbox), false);
                    }
                    _ => push(transformed(&ctm, &unit), false),
                }
            }
            "BI" => push(transformed(&ctm, &unit), false),
            "sh" => push(page_area, false),
            "m" | "l" | "c" | "v" | "y" | "re" => {
                let values: Vec<f64> = operands.iter().filter_map(number).collect();
                let mut points: Vec<(f64, f64)> = values
                    .chunks_exact(2)
                    .map(|p| apply(&ctm, p[0], p[1]))
                    .collect();
                if let ("re", [x, y, w, h]) = (operation.operator.as_str(), values.as_slice()) {
                    let corners = transformed(&ctm, &Area::new(*x, *y, x + w, y + h));
                    points = vec![(corners.x0, corners.y0), (corners.x1, corners.y1)];
                }
                for (x, y) in points {
                    let point = Area::new(x, y, x, y);
                    path = Some(path.map_or(point, |p| p.union(&point)));
                }
            }
            "S" | "s" | "f" | "F" | "f*" | "B" | "B*" | "b" | "b*" => {
                if let Some(area) = path.take() {
                    push(area, true);
                }
            }
            "n" => path = None,
            _ => {}
        }
    }
    areas
}

// ---------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------

/// A document timestamp, as ISO 32000-2 requires it to be marked (`/Type /DocTimeStamp`);
/// one without the type is judged as a signature, as pyHanko does.
fn is_document_timestamp(signature: &Dictionary) -> bool {
    name_of(signature.get(b"Type").ok()) == Some(b"DocTimeStamp")
}

/// An annotation's `/Rect`.
fn rect_of(state: &State<'_>, dict: &Dictionary) -> Option<Area> {
    let rect = dict.get(b"Rect").ok().and_then(|r| state.array(r))?;
    let [a, b, c, d] = numbers::<4>(rect)?;
    Some(Area::new(a, b, c, d)).filter(Area::is_finite)
}

/// The area of an annotation's `/Rect` (0 when absent or malformed).
fn rect_area(state: &State<'_>, dict: &Dictionary) -> f64 {
    let Some(rect) = dict.get(b"Rect").ok().and_then(|r| state.array(r)) else {
        return 0.0;
    };
    let values: Vec<f64> = rect
        .iter()
        .filter_map(|v| match v {
            Object::Integer(i) => Some(*i as f64),
            Object::Real(r) => Some(f64::from(*r)),
            _ => None,
        })
        .collect();
    match values.as_slice() {
        [x1, y1, x2, y2] => ((x2 - x1) * (y2 - y1)).abs(),
        _ => 0.0,
    }
}

/// Keys whose values differ between two dictionaries (present in one only, or different),
/// except `ignore`.
fn differing_keys(a: &Dictionary, b: &Dictionary, ignore: &[&[u8]]) -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = Vec::new();
    for (key, value) in a.iter() {
        if !ignore.contains(&key.as_slice())
            && !b.get(key).is_ok_and(|other| same_value(value, other))
        {
            keys.push(key.clone());
        }
    }
    for (key, _) in b.iter() {
        if !ignore.contains(&key.as_slice()) && !a.has(key) {
            keys.push(key.clone());
        }
    }
    keys
}

/// Whether two values mean the same: numbers compared by value (`612` = `612.0`), strings
/// by their bytes (literal or hex), references by object.
fn same_value(a: &Object, b: &Object) -> bool {
    match (a, b) {
        (Object::Integer(x), Object::Integer(y)) => x == y,
        (Object::Integer(_) | Object::Real(_), Object::Integer(_) | Object::Real(_)) => {
            let number = |o: &Object| match o {
                Object::Integer(i) => *i as f64,
                Object::Real(r) => f64::from(*r),
                _ => f64::NAN,
            };
            number(a) == number(b)
        }
        (Object::String(x, _), Object::String(y, _)) => x == y,
        (Object::Array(x), Object::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_value(x, y))
        }
        (Object::Dictionary(x), Object::Dictionary(y)) => {
            x.len() == y.len() && differing_keys(x, y, &[]).is_empty()
        }
        (Object::Stream(x), Object::Stream(y)) => {
            x.start_position == y.start_position && differing_keys(&x.dict, &y.dict, &[]).is_empty()
        }
        _ => a == b,
    }
}

/// [`same_value`] for entries that may be absent.
fn same_entry(a: Option<&Object>, b: Option<&Object>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => same_value(a, b),
        (None, None) => true,
        _ => false,
    }
}

fn key_list(keys: &[Vec<u8>]) -> String {
    keys.iter()
        .map(|k| format!("/{}", String::from_utf8_lossy(k)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn show(id: ObjectId) -> String {
    format!("{} {} R", id.0, id.1)
}

fn name_of(object: Option<&Object>) -> Option<&[u8]> {
    object.and_then(|o| o.as_name().ok())
}

/// A PDF text string (field names), decoded leniently.
fn text(object: &Object) -> String {
    lopdf::decode_text_string(object).unwrap_or_else(|_| {
        object
            .as_str()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .unwrap_or_default()
    })
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// The non-negative integer after `at` (whitespace skipped).
fn number_after(file: &[u8], at: usize) -> Option<u64> {
    let mut i = at;
    while file.get(i).is_some_and(|b| is_whitespace(*b)) {
        i += 1;
    }
    let start = i;
    while file.get(i).is_some_and(u8::is_ascii_digit) && i - start < 20 {
        i += 1;
    }
    std::str::from_utf8(file.get(start..i)?).ok()?.parse().ok()
}

fn is_whitespace(b: u8) -> bool {
    matches!(b, b'\0' | b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

fn is_digit(b: u8) -> bool {
    b.is_ascii_digit()
}

fn is_delimiter(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

fn malformed(reason: &str) -> PdfError {
    PdfError::Malformed {
        reason: reason.to_owned(),
    }
}

fn reason(e: &PdfError) -> String {
    match e {
        PdfError::Malformed { reason } => reason.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PDF written by hand: an original revision and incremental updates, each with a
    /// classic cross-reference table, so every structural detail is under the test's control.
    struct Pdf {
        bytes: Vec<u8>,
        startxref: usize,
        size: u32,
    }

    /// `objects` written as `N 0 obj … endobj`, then `hidden` bodies the table does not list.
    fn revision(
        bytes: &mut Vec<u8>,
        objects: &[(u32, String)],
        hidden: &[(u32, String)],
    ) -> Vec<(u32, usize)> {
        let mut offsets = Vec::new();
        for (number, body) in objects {
            offsets.push((*number, bytes.len()));
            bytes.extend_from_slice(format!("{number} 0 obj\n{body}\nendobj\n").as_bytes());
        }
        for (number, body) in hidden {
            bytes.extend_from_slice(format!("{number} 0 obj\n{body}\nendobj\n").as_bytes());
        }
        offsets
    }

    fn table(bytes: &mut Vec<u8>, entries: &[(u32, usize)], first: bool) -> usize {
        let at = bytes.len();
        bytes.extend_from_slice(b"xref\n");
        if first {
            bytes.extend_from_slice(b"0 1\n0000000000 65535 f \n");
        }
        for (number, offset) in entries {
            bytes.extend_from_slice(format!("{number} 1\n{offset:010} 00000 n \n").as_bytes());
        }
        at
    }

    impl Pdf {
        fn new(objects: &[(u32, String)]) -> Self {
            let mut bytes = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
            let offsets = revision(&mut bytes, objects, &[]);
            let size = objects.iter().map(|(n, _)| n + 1).max().unwrap_or(1);
            let startxref = table(&mut bytes, &offsets, true);
            bytes.extend_from_slice(
                format!("trailer\n<< /Size {size} /Root 1 0 R >>\nstartxref\n{startxref}\n%%EOF\n")
                    .as_bytes(),
            );
            Pdf {
                bytes,
                startxref,
                size,
            }
        }

        fn update(&mut self, objects: &[(u32, String)]) -> &mut Self {
            self.update_with(objects, &[], &[])
        }

        /// An update with bodies it does not list and entries it lists without bodies.
        fn update_with(
            &mut self,
            objects: &[(u32, String)],
            hidden: &[(u32, String)],
            extra_entries: &[(u32, usize)],
        ) -> &mut Self {
            let mut offsets = revision(&mut self.bytes, objects, hidden);
            offsets.extend_from_slice(extra_entries);
            self.size = self
                .size
                .max(objects.iter().map(|(n, _)| n + 1).max().unwrap_or(0));
            let at = table(&mut self.bytes, &offsets, false);
            let (size, prev) = (self.size, self.startxref);
            self.bytes.extend_from_slice(
                format!(
                    "trailer\n<< /Size {size} /Root 1 0 R /Prev {prev} >>\nstartxref\n{at}\n%%EOF\n"
                )
                .as_bytes(),
            );
            self.startxref = at;
            self
        }

        fn end(&self) -> u64 {
            self.bytes.len() as u64
        }
    }

    fn stream(dict: &str, data: &str) -> String {
        format!(
            "<< {dict} /Length {} >>\nstream\n{data}\nendstream",
            data.len()
        )
    }

    const CATALOG: &str =
        "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [5 0 R 8 0 R 9 0 R] /SigFlags 3 >> >>";
    const PAGE: &str = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R \
        /Resources << /Font << /F1 6 0 R >> /XObject << /Logo 30 0 R >> >> /Annots [5 0 R 8 0 R 9 0 R 11 0 R] >>";

    /// A signed one-page document: "Hello" at (72, 700), a signed invisible field "Signer",
    /// an empty visible signature field "Approver" at (300, 100), a text field "Name" at
    /// (72, 600) whose appearance stream 10 "Approver" shares, a square annotation at
    /// (400, 400), and a reference to an image 30 that is not defined.
    fn signed() -> Pdf {
        Pdf::new(&[
            (1, CATALOG.to_owned()),
            (2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned()),
            (3, PAGE.to_owned()),
            (4, stream("", "BT /F1 12 Tf 72 700 Td (Hello) Tj ET")),
            (5, "<< /Type /Annot /Subtype /Widget /FT /Sig /T (Signer) /Rect [0 0 0 0] /P 3 0 R /V 7 0 R >>".to_owned()),
            (6, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned()),
            (7, "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange [0 10 20 30] /Contents <00> >>".to_owned()),
            (8, "<< /Type /Annot /Subtype /Widget /FT /Sig /T (Approver) /Rect [300 100 500 150] /P 3 0 R /AP << /N 10 0 R >> >>".to_owned()),
            (9, "<< /Type /Annot /Subtype /Widget /FT /Tx /T (Name) /V (An) /Rect [72 600 300 620] /P 3 0 R /AP << /N 10 0 R >> >>".to_owned()),
            (10, stream("/Type /XObject /Subtype /Form /BBox [0 0 228 20]", "BT /F1 10 Tf 2 5 Td (An) Tj ET")),
            (11, "<< /Type /Annot /Subtype /Square /Rect [400 400 450 450] /C [1 0 0] >>".to_owned()),
        ])
    }

    fn judge(pdf: &Pdf, signed_end: u64, permissions: &Permissions) -> ChangeReport {
        History::read(&pdf.bytes).analyze(signed_end, permissions)
    }

    fn kinds(report: &ChangeReport) -> Vec<(&'static str, Allowed)> {
        report.changes.iter().map(|c| (c.kind, c.allowed)).collect()
    }

    fn with_mdp(p: DocMdp) -> Permissions {
        Permissions {
            doc_mdp: Some(p),
            field_locks: Vec::new(),
        }
    }

    fn page_with_annots(annots: &str) -> String {
        PAGE.replace(
            "/Annots [5 0 R 8 0 R 9 0 R 11 0 R]",
            &format!("/Annots [{annots}]"),
        )
    }

    #[test]
    fn a_signature_with_nothing_after_it_has_no_changes() {
        let pdf = signed();
        let report = judge(&pdf, pdf.end(), &Permissions::default());
        assert_eq!(report.level, ModificationLevel::None);
        assert!(report.changes.is_empty(), "{report:#?}");
        assert_eq!(report.signed_revision, Some(0));
        assert_eq!(revisions(&pdf.bytes).unwrap().len(), 1);
    }

    #[test]
    fn rewriting_the_page_content_is_never_allowed() {
        let mut pdf = signed();
        let end = pdf.end();
        pdf.update(&[(4, stream("", "BT /F1 12 Tf 72 700 Td (Goodbye) Tj ET"))]);
        let report = judge(&pdf, end, &Permissions::default());
        assert_eq!(report.level, ModificationLevel::Other);
        assert_eq!(kinds(&report), [("content-stream-changed", Allowed::No)]);
        assert!(report.changes[0].detail_vi.contains("Luồng nội dung"));
    }

    #[test]
    fn replacing_a_font_of_the_signed_page_is_a_shadow_attack() {
        let mut pdf = signed();
        let end = pdf.end();
        pdf.update(&[(
            6,
            "<< /Type /Font /Subtype /Type1 /BaseFont /Courier >>".to_owned(),
        )]);
        let report = judge(&pdf, end, &Permissions::default());
        assert_eq!(kinds(&report), [("page-resources-changed", Allowed::No)]);
    }

    #[test]
    fn defining_an_image_the_signed_page_referenced_before_it_existed_is_caught() {
        let mut pdf = signed();
        let end = pdf.end();
        pdf.update(&[(30, stream("/Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray /BitsPerComponent 8", "x"))]);
        let report = judge(&pdf, end, &Permissions::default());
        assert_eq!(kinds(&report), [("object-redefined", Allowed::No)]);
    }

    #[test]
    fn pointing_the_page_at_new_content_or_adding_a_page_is_caught() {
        let mut pdf = signed();
        let end = pdf.end();
        pdf.update(&[
            (3, PAGE.replace("/Contents 4 0 R", "/Contents 12 0 R")),
            (12, stream("", "BT /F1 12 Tf 72 700 Td (Other) Tj ET")),
        ]);
        assert_eq!(
            kinds(&judge(&pdf, end, &Permissions::default())),
            [("content-stream-changed", Allowed::No)]
        );

        let mut pdf = signed();
        pdf.update(&[
            (
                2,
                "<< /Type /Pages /Kids [3 0 R 12 0 R] /Count 2 >>".to_owned(),
            ),
            (
                12,
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 13 0 R >>"
                    .to_owned(),
            ),
            (13, stream("", "")),
        ]);
        assert_eq!(
            kinds(&judge(&pdf, end, &Permissions::default())),
            [("page-added", Allowed::No)]
        );
    }

    #[test]
    fn dss_added_is_an_lta_update_even_under_docmdp_1() {
        let mut pdf = signed();
        let end = pdf.end();
        pdf.update(&[
            (1, CATALOG.replace("/SigFlags 3 >>", "/SigFlags 3 >> /DSS 12 0 R")),
            (12, "<< /Certs [13 0 R] /OCSPs [14 0 R] /VRI << /0123456789ABCDEF0123456789ABCDEF01234567 << /Cert [13 0 R] >> >> >>".to_owned()),
            (13, stream("", "certificate")),
            (14, stream("", "ocsp")),
        ]);
        let report = judge(&pdf, end, &with_mdp(DocMdp::NoChanges));
        assert_eq!(kinds(&report), [("dss-added", Allowed::Yes)]);
        assert_eq!(report.level, ModificationLevel::LtaUpdates);
        assert_eq!(report.revisions_after, 1);
    }

    #[test]
    fn a_document_timestamp_in_a_new_invisible_field_is_an_lta_update() {
        let mut pdf = signed();
        let end = pdf.end();
        pdf.update(&[
            (1, CATALOG.replace("9 0 R]", "9 0 R 12 0 R]")),
            (12, "<< /Type /Annot /Subtype /Widget /FT /Sig /T (Timestamp) /Rect [0 0 0 0] /V 13 0 R >>".to_owned()),
            (13, "<< /Type /DocTimeStamp /Filter /Adobe.PPKLite /SubFilter /ETSI.RFC3161 /ByteRange [0 1 2 3] /Contents <00> >>".to_owned()),
        ]);
        let report = judge(&pdf, end, &with_mdp(DocMdp::NoChanges));
        assert_eq!(kinds(&report), [("document-timestamp-added", Allowed::Yes)]);
        assert_eq!(report.level, ModificationLevel::LtaUpdates);
    }

    #[test]
    fn signing_the_empty_field_is_form_filling_unless_docmdp_1_forbids_it() {
        let mut pdf = signed();
        let end = pdf.end();
        pdf.update(&[
            (8, "<< /Type /Annot /Subtype /Widget /FT /Sig /T (Approver) /Rect [300 100 500 150] /P 3 0 R /AP << /N 13 0 R >> /V 12 0 R >>".to_owned()),
            (12, "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange [0 1 2 3] /Contents <00> >>".to_owned()),
            (13, stream("/Type /XObject /Subtype /Form /BBox [0 0 200 50]", "BT /F1 10 Tf 2 5 Td (Signed) Tj ET")),
        ]);
        let report = judge(&pdf, end, &Permissions::default());
        assert_eq!(kinds(&report), [("signature-added", Allowed::Yes)]);
        assert_eq!(report.level, ModificationLevel::FormFilling);
        let report = judge(&pdf, end, &with_mdp(DocMdp::NoChanges));
        assert_eq!(kinds(&report), [("signature-added", Allowed::Warn)]);
        assert!(report.changes[0].detail.contains("DocMDP P=1"));
    }

    #[test]
    fn overwriting_an_appearance_stream_another_field_uses_is_a_sneaky_signature() {
        let mut pdf = signed();
        let end = pdf.end();
        pdf.update(&[
            (8, "<< /Type /Annot /Subtype /Widget /FT /Sig /T (Approver) /Rect [300 100 500 150] /P 3 0 R /AP << /N 10 0 R >> /V 12 0 R >>".to_owned()),
            (10, stream("/Type /XObject /Subtype /Form /BBox [0 0 228 20]", "BT /F1 10 Tf 2 5 Td (Mallory) Tj ET")),
            (12, "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange [0 1 2 3] /Contents <00> >>".to_owned()),
        ]);
        let report = judge(&pdf, end, &Permissions::default());
        assert!(
            kinds(&report).contains(&("shared-appearance-overwritten", Allowed::No)),
            "{report:#?}"
        );
        assert_eq!(report.level, ModificationLevel::Other);
    }

    #[test]
    fn filling_a_form_field_respects_docmdp_and_fieldmdp() {
        let mut pdf = signed();
        let end = pdf.end();
        pdf.update(&[
            (9, "<< /Type /Annot /Subtype /Widget /FT /Tx /T (Name) /V (Binh) /Rect [72 600 300 620] /P 3 0 R /AP << /N 12 0 R >> >>".to_owned()),
            (12, stream("/Type /XObject /Subtype /Form /BBox [0 0 228 20]", "BT /F1 10 Tf 2 5 Td (Binh) Tj ET")),
        ]);
        let report = judge(&pdf, end, &Permissions::default());
        assert_eq!(kinds(&report), [("form-field-filled", Allowed::Yes)]);
        assert_eq!(report.level, ModificationLevel::FormFilling);
        assert_eq!(
            kinds(&judge(&pdf, end, &with_mdp(DocMdp::FormFilling))),
            [("form-field-filled", Allowed::Yes)]
        );
        assert_eq!(
            kinds(&judge(&pdf, end, &with_mdp(DocMdp::NoChanges))),
            [("form-field-filled", Allowed::Warn)]
        );
        let locked = Permissions {
            doc_mdp: None,
            field_locks: vec![FieldLock::Include(vec!["Name".to_owned()])],
        };
        let report = judge(&pdf, end, &locked);
        assert_eq!(kinds(&report), [("form-field-filled", Allowed::Warn)]);
        assert!(report.changes[0].detail_vi.contains("FieldMDP"));
    }

    #[test]
    fn a_note_in_the_margin_is_an_annotation_the_certification_level_decides() {
        let mut pdf = signed();
        let end = pdf.end();
        pdf.update(&[
            (3, page_with_annots("5 0 R 8 0 R 9 0 R 11 0 R 12 0 R")),
            (
                12,
                "<< /Type /Annot /Subtype /Text /Rect [540 800 560 820] /Contents (Checked) >>"
                    .to_owned(),
            ),
        ]);
        let report = judge(&pdf, end, &Permissions::default());
        assert_eq!(kinds(&report), [("annotation-added", Allowed::Yes)]);
        assert_eq!(report.level, ModificationLevel::Annotations);
        assert_eq!(
            kinds(&judge(&pdf, end, &with_mdp(DocMdp::Annotations))),
            [("annotation-added", Allowed::Yes)]
        );
        assert_eq!(
            kinds(&judge(&pdf, end, &with_mdp(DocMdp::FormFilling))),
            [("annotation-added", Allowed::Warn)]
        );
    }

    #[test]
    fn an_annotation_painted_over_the_signed_text_is_reported_even_under_p3() {
        let mut pdf = signed();
        let end = pdf.end();
        pdf.update(&[
            (3, page_with_annots("5 0 R 8 0 R 9 0 R 11 0 R 12 0 R")),
            (12, "<< /Type /Annot /Subtype /FreeText /Rect [70 695 200 715] /Contents (Paid) /DA (/Helv 12 Tf 0 g) >>".to_owned()),
        ]);
        let report = judge(&pdf, end, &with_mdp(DocMdp::Annotations));
        assert_eq!(
            kinds(&report),
            [("annotation-overlaps-content", Allowed::Warn)]
        );
        // Over the square annotation that was visible when signed: also reported.
        let mut pdf = signed();
        pdf.update(&[
            (3, page_with_annots("5 0 R 8 0 R 9 0 R 11 0 R 12 0 R")),
            (
                12,
                "<< /Type /Annot /Subtype /Stamp /Rect [410 410 440 440] >>".to_owned(),
            ),
        ]);
        let report = judge(&pdf, end, &Permissions::default());
        assert_eq!(
            kinds(&report),
            [("annotation-overlaps-content", Allowed::Warn)]
        );
        // Touching its border is not covering it (DSS's same-border rule).
        let mut pdf = signed();
        pdf.update(&[
            (3, page_with_annots("5 0 R 8 0 R 9 0 R 11 0 R 12 0 R")),
            (
                12,
                "<< /Type /Annot /Subtype /Stamp /Rect [450 400 480 450] >>".to_owned(),
            ),
        ]);
        assert_eq!(
            kinds(&judge(&pdf, end, &Permissions::default())),
            [("annotation-added", Allowed::Yes)]
        );
    }

    #[test]
    fn removing_a_visible_annotation_reveals_what_it_covered() {
        let mut pdf = signed();
        let end = pdf.end();
        pdf.update(&[(3, page_with_annots("5 0 R 8 0 R 9 0 R"))]);
        assert_eq!(
            kinds(&judge(&pdf, end, &Permissions::default())),
            [("annotation-removed", Allowed::No)]
        );
        assert_eq!(
            kinds(&judge(&pdf, end, &with_mdp(DocMdp::Annotations))),
            [("annotation-removed", Allowed::Yes)]
        );
    }

    #[test]
    fn a_visible_signature_field_added_to_a_certified_document_must_not_cover_its_content() {
        let field = |rect: &str| {
            format!(
                "<< /Type /Annot /Subtype /Widget /FT /Sig /T (Late) /Rect [{rect}] /P 3 0 R /V 13 0 R /AP << /N 14 0 R >> >>"
            )
        };
        let update = |rect: &str| {
            let mut pdf = signed();
            pdf.update(&[
                (1, CATALOG.replace("9 0 R]", "9 0 R 12 0 R]")),
                (3, page_with_annots("5 0 R 8 0 R 9 0 R 11 0 R 12 0 R")),
                (12, field(rect)),
                (13, "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange [0 1 2 3] /Contents <00> >>".to_owned()),
                (14, stream("/Type /XObject /Subtype /Form /BBox [0 0 100 40]", "0 0 1 rg 0 0 100 40 re f")),
            ]);
            pdf
        };
        let end = signed().end();
        let over_text = update("60 690 160 730");
        let report = judge(&over_text, end, &with_mdp(DocMdp::FormFilling));
        assert_eq!(kinds(&report), [("signature-added", Allowed::Warn)]);
        // The same widget on an approval-only document is a normal second signature.
        assert_eq!(
            kinds(&judge(&over_text, end, &Permissions::default())),
            [("signature-added", Allowed::Yes)]
        );
        let in_blank_space = update("60 200 160 240");
        assert_eq!(
            kinds(&judge(&in_blank_space, end, &with_mdp(DocMdp::FormFilling))),
            [("signature-added", Allowed::Yes)]
        );
    }

    #[test]
    fn rewriting_an_existing_signature_dictionary_is_never_allowed() {
        let mut pdf = signed();
        let end = pdf.end();
        pdf.update(&[(7, "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /Reason (Forged) /ByteRange [0 10 20 30] /Contents <00> >>".to_owned())]);
        assert_eq!(
            kinds(&judge(&pdf, end, &Permissions::default())),
            [("signature-dictionary-changed", Allowed::No)]
        );
    }

    #[test]
    fn objects_outside_any_cross_reference_section_are_caught() {
        // Appended after the last %%EOF, with no xref: trailing data.
        let mut pdf = signed();
        let end = pdf.end();
        pdf.bytes
            .extend_from_slice(b"4 0 obj\n<< /Length 0 >>\nstream\n\nendstream\nendobj\n");
        assert_eq!(
            kinds(&judge(&pdf, end, &Permissions::default())),
            [("trailing-data", Allowed::No)]
        );
        // Inside an update that does not list it.
        let mut pdf = signed();
        pdf.update_with(
            &[(12, "<< /Type /Metadata >>".to_owned())],
            &[(4, stream("", "BT (Hidden) Tj ET"))],
            &[],
        );
        let report = judge(&pdf, end, &Permissions::default());
        assert!(
            kinds(&report).contains(&("unxref-appended-object", Allowed::No)),
            "{report:#?}"
        );
    }

    #[test]
    fn an_update_pointing_back_into_signed_bytes_is_caught() {
        // The signed revision carries a second body of object 4 that its table does not
        // list; the update lists it.
        let mut pdf = signed();
        let hidden_at = pdf.bytes.len();
        let hidden = format!("4 0 obj\n{}\nendobj\n", stream("", "BT (Pay 1000) Tj ET"));
        let mut bytes = pdf.bytes[..pdf.startxref].to_vec();
        let hidden_at = hidden_at.min(pdf.startxref);
        bytes.extend_from_slice(hidden.as_bytes());
        let shift = hidden.len();
        let tail = String::from_utf8_lossy(&pdf.bytes[pdf.startxref..]).replace(
            &format!("startxref\n{}\n", pdf.startxref),
            &format!("startxref\n{}\n", pdf.startxref + shift),
        );
        bytes.extend_from_slice(tail.as_bytes());
        pdf.bytes = bytes;
        pdf.startxref += shift;
        let end = pdf.end();
        pdf.update_with(&[], &[], &[(4, hidden_at)]);
        let report = judge(&pdf, end, &Permissions::default());
        let found = kinds(&report);
        assert!(
            found.contains(&("xref-points-into-earlier-revision", Allowed::No)),
            "{report:#?}"
        );
        assert!(
            found.contains(&("content-stream-changed", Allowed::No)),
            "{report:#?}"
        );
    }

    #[test]
    fn rewriting_objects_identically_is_no_change() {
        let mut pdf = signed();
        let end = pdf.end();
        pdf.update(&[(
            6,
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
        )]);
        let report = judge(&pdf, end, &Permissions::default());
        assert!(report.changes.is_empty(), "{report:#?}");
        assert_eq!(report.level, ModificationLevel::LtaUpdates);
    }

    #[test]
    fn each_change_is_reported_once_in_the_revision_that_made_it() {
        let mut pdf = signed();
        let end = pdf.end();
        pdf.update(&[
            (
                1,
                CATALOG.replace("/SigFlags 3 >>", "/SigFlags 3 >> /DSS 12 0 R"),
            ),
            (12, "<< /Certs [13 0 R] >>".to_owned()),
            (13, stream("", "certificate")),
        ]);
        pdf.update(&[(4, stream("", "BT (Changed) Tj ET"))]);
        pdf.update(&[
            (3, page_with_annots("5 0 R 8 0 R 9 0 R 11 0 R 14 0 R")),
            (
                14,
                "<< /Type /Annot /Subtype /Text /Rect [540 800 560 820] >>".to_owned(),
            ),
        ]);
        let report = judge(&pdf, end, &Permissions::default());
        let by_revision: Vec<(Option<usize>, &str)> = report
            .changes
            .iter()
            .map(|c| (c.revision, c.kind))
            .collect();
        assert_eq!(
            by_revision,
            [
                (Some(1), "dss-added"),
                (Some(2), "content-stream-changed"),
                (Some(3), "annotation-added")
            ]
        );
        let bounds = revisions(&pdf.bytes).unwrap();
        assert_eq!(bounds.len(), 4);
        assert_eq!(bounds[0].end, end);
        assert_eq!(bounds[3].end, pdf.end());
        // The later signature (on revision 2) sees only what came after it.
        let second = bounds[2].end;
        assert_eq!(
            kinds(&judge(&pdf, second, &Permissions::default())),
            [("annotation-added", Allowed::Yes)]
        );
    }

    #[test]
    fn permissions_come_from_the_signed_revision() {
        let pdf = Pdf::new(&[
            (1, "<< /Type /Catalog /Pages 2 0 R /Perms << /DocMDP 7 0 R >> /AcroForm << /Fields [5 0 R] >> >>".to_owned()),
            (2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned()),
            (3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>".to_owned()),
            (5, "<< /FT /Sig /T (Cert) /V 7 0 R /Lock << /Action /Exclude /Fields [(Remarks)] >> >>".to_owned()),
            (7, "<< /Type /Sig /ByteRange [0 10 20 470] /Contents <00> /Reference [<< /TransformMethod /DocMDP /TransformParams << /P 1 >> >> << /TransformMethod /FieldMDP /TransformParams << /Action /Include /Fields [(Total)] >> >>] >>".to_owned()),
        ]);
        let history = History::read(&pdf.bytes);
        let permissions = history.permissions(pdf.end());
        // The ByteRange says 490, not this file's end: no field matches, DocMDP still does.
        assert_eq!(permissions.doc_mdp, Some(DocMdp::NoChanges));
        assert!(permissions.field_locks.is_empty());
        // Same length, so every offset stays right.
        let mut bytes = pdf.bytes.clone();
        let at = find(&bytes, b"[0 10 20 470]", 0).unwrap();
        let range = format!("[0 10 20 {:3}]", pdf.end() - 20);
        bytes[at..at + range.len()].copy_from_slice(range.as_bytes());
        let history = History::read(&bytes);
        let permissions = history.permissions(bytes.len() as u64);
        assert_eq!(permissions.doc_mdp, Some(DocMdp::NoChanges));
        assert!(permissions.locks("Total"));
        assert!(permissions.locks("Anything"));
        assert!(!FieldLock::Exclude(vec!["Remarks".to_owned()]).locks("Remarks.Line1"));
        assert!(FieldLock::Include(vec!["Total".to_owned()]).locks("Total.Sum"));
        assert!(!FieldLock::Include(vec!["Total".to_owned()]).locks("Totals"));
    }

    #[test]
    fn hostile_files_are_reported_not_panicked_on() {
        for bytes in [
            b"".as_slice(),
            b"%PDF-1.7\ngarbage",
            b"%PDF-1.7\nxref\n0 1\n0000000000 65535 f \ntrailer << /Size 1 /Prev 9 >>\nstartxref\n9\n%%EOF\n",
            b"%PDF-1.7\nstartxref\n999999\n%%EOF",
        ] {
            let report = analyze(bytes, bytes.len() as u64 + 1);
            assert_eq!(report.level, ModificationLevel::Other);
            assert_eq!(report.worst(), Allowed::No);
        }
        // A signed range that does not end at a revision.
        let mut pdf = signed();
        let end = pdf.end();
        pdf.update(&[(
            6,
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
        )]);
        let report = judge(&pdf, end - 10, &Permissions::default());
        assert_eq!(kinds(&report), [("signed-revision-not-found", Allowed::No)]);
        // Every truncation of a valid file: never a panic.
        let mut pdf = signed();
        pdf.update(&[(4, stream("", "BT (x) Tj ET"))]);
        for cut in (0..pdf.bytes.len()).step_by(7) {
            let _ = analyze(&pdf.bytes[..cut], end);
        }
    }
}
