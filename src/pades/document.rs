//! The PDF side of signing: signature fields, signature dictionaries with their placeholder,
//! the DSS, and the byte-range patching. Objects are changed only through an incremental
//! [`Update`]; nothing of the original file is rewritten.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};

use lopdf::{Dictionary, Object, ObjectId};
use time::OffsetDateTime;

use super::PadesError;
use crate::pdf::incremental::{PdfRevision, Update, digest_ranges};

/// Width reserved for the `/ByteRange` array, so it can be patched in place.
const BYTE_RANGE_PLACEHOLDER: &str = "[0 0000000000 0000000000 0000000000]";

/// A signature field already in the document.
#[derive(Debug, Clone)]
pub struct ExistingField {
    pub id: ObjectId,
    pub name: String,
    /// The signature dictionary, when the field is signed.
    pub value: Option<ObjectId>,
    /// The widget annotation (the field itself when merged).
    pub widget: Option<ObjectId>,
}

/// A field of the form, terminal or not.
#[derive(Debug, Clone)]
struct FormField {
    id: ObjectId,
    /// Fully qualified name (partial names joined with '.').
    name: String,
    /// /FT, inherited from the parents.
    field_type: Option<Vec<u8>>,
    /// Whether it has no kid fields (its kids, if any, are widgets).
    terminal: bool,
    /// The first widget: the field itself when merged, else its first kid.
    widget: Option<ObjectId>,
}

/// Every field of the form, depth first, with its fully qualified name.
fn form_fields(revision: &PdfRevision) -> Result<Vec<FormField>, PadesError> {
    let mut found = Vec::new();
    let Some(form) = acro_form(revision)? else {
        return Ok(found);
    };
    let Ok(fields) = form.get(b"Fields") else {
        return Ok(found);
    };
    let fields = revision.resolve(fields)?.as_array().map_err(pdf_error)?;
    let mut stack: Vec<(ObjectId, String, Option<Vec<u8>>, usize)> = fields
        .iter()
        .rev()
        .filter_map(|f| f.as_reference().ok())
        .map(|id| (id, String::new(), None, 0))
        .collect();
    // Each field object once: a field listing itself as a kid a million times must not
    // put millions of copies on the stack per level.
    let mut seen = std::collections::HashSet::new();
    while let Some((id, parent_name, inherited_type, depth)) = stack.pop() {
        if depth > 32 || found.len() > 10_000 {
            break; // a cycle or an absurd form: stop rather than loop
        }
        if !seen.insert(id) {
            continue;
        }
        let Ok(dict) = revision.dictionary(id) else {
            continue;
        };
        let partial = dict
            .get(b"T")
            .ok()
            .and_then(|t| lopdf::decode_text_string(t).ok());
        let name = match (&partial, parent_name.is_empty()) {
            (Some(p), true) => p.clone(),
            (Some(p), false) => format!("{parent_name}.{p}"),
            (None, _) => parent_name.clone(),
        };
        let field_type = dict
            .get(b"FT")
            .and_then(Object::as_name)
            .ok()
            .map(<[u8]>::to_vec)
            .or(inherited_type.clone());
        let kids: Vec<ObjectId> = dict
            .get(b"Kids")
            .ok()
            .and_then(|k| revision.resolve(k).ok())
            .and_then(|k| k.as_array().ok())
            .map(|kids| kids.iter().filter_map(|k| k.as_reference().ok()).collect())
            .unwrap_or_default();
        // Kids that carry their own /T are fields; otherwise they are this field's widgets.
        let kid_fields: Vec<ObjectId> = kids
            .iter()
            .copied()
            .filter(|k| revision.dictionary(*k).is_ok_and(|d| d.has(b"T")))
            .collect();
        let terminal = kid_fields.is_empty();
        let widget = if dict.get(b"Subtype").and_then(Object::as_name).ok() == Some(b"Widget") {
            Some(id)
        } else if terminal {
            kids.first().copied()
        } else {
            None
        };
        for kid in kid_fields.into_iter().rev() {
            if !seen.contains(&kid) {
                stack.push((kid, name.clone(), field_type.clone(), depth + 1));
            }
        }
        found.push(FormField {
            id,
            name,
            field_type,
            terminal,
            widget,
        });
    }
    Ok(found)
}

/// All signature fields, depth first, with their fully qualified names.
pub fn signature_fields(revision: &PdfRevision) -> Result<Vec<ExistingField>, PadesError> {
    Ok(form_fields(revision)?
        .into_iter()
        .filter(|f| f.terminal && f.field_type.as_deref() == Some(b"Sig"))
        .map(|f| ExistingField {
            id: f.id,
            value: revision
                .dictionary(f.id)
                .ok()
                .and_then(|d| d.get(b"V").ok())
                .and_then(|v| v.as_reference().ok()),
            name: f.name,
            widget: f.widget,
        })
        .collect())
}

/// The first of `prefix1`, `prefix2`, … that names no field of the form.
pub fn unused_field_name(revision: &PdfRevision, prefix: &str) -> Result<String, PadesError> {
    let fields = form_fields(revision)?;
    Ok((1..=fields.len() + 1)
        .map(|n| format!("{prefix}{n}"))
        .find(|candidate| !fields.iter().any(|f| &f.name == candidate))
        .unwrap_or_else(|| format!("{prefix}{}", fields.len() + 2)))
}

/// The field a new signature goes into: the existing empty signature field named
/// `requested`, or a new field with that name (a fresh `SignatureN` when none is asked for).
///
/// # Errors
/// [`PadesError::FieldAlreadySigned`]; [`PadesError::FieldNameInvalid`] for an empty name
/// or one with a '.' (a partial name cannot hold one, ISO 32000-1 §12.7.3.2);
/// [`PadesError::FieldNameTaken`] when a field that is not an empty signature field already
/// has the name; [`PadesError::FieldLocked`] when a signed field's /Lock (FieldMDP) locks it.
pub fn choose_field(
    revision: &PdfRevision,
    requested: Option<&str>,
) -> Result<(Option<ExistingField>, String), PadesError> {
    let fields = form_fields(revision)?;
    let signature_fields = signature_fields(revision)?;
    let existing =
        requested.and_then(|name| signature_fields.iter().find(|f| f.name == name).cloned());
    if let Some(field) = &existing
        && field.value.is_some()
    {
        return Err(PadesError::FieldAlreadySigned {
            name: field.name.clone(),
        });
    }
    let name = match (requested, &existing) {
        (_, Some(field)) => field.name.clone(),
        (Some(name), None) => {
            if name.trim().is_empty() {
                return Err(PadesError::FieldNameInvalid {
                    name: name.to_owned(),
                    reason: "the name is empty".to_owned(),
                });
            }
            if name.contains('.') {
                return Err(PadesError::FieldNameInvalid {
                    name: name.to_owned(),
                    reason: "a new field's name cannot contain '.'".to_owned(),
                });
            }
            if fields.iter().any(|f| f.name == name) {
                return Err(PadesError::FieldNameTaken {
                    name: name.to_owned(),
                });
            }
            name.to_owned()
        }
        (None, None) => unused_field_name(revision, "Signature")?,
    };
    check_field_locks(revision, &signature_fields, &name)?;
    Ok((existing, name))
}

/// What a new signature is, for checking an existing field's seed values (/SV).
pub struct SeedCheck<'a> {
    pub reason: Option<&'a str>,
    pub certify: Option<u8>,
    pub digest: super::key::DigestAlgorithm,
    /// Whether the signature gets an RFC 3161 timestamp (B-T and above).
    pub timestamped: bool,
}

/// Refuses to fill `field` with a signature its seed value dictionary (ISO 32000-1 Table 234)
/// rules out: a required /Filter, /SubFilter, /DigestMethod or /Reasons (their /Ff bits) that
/// hoso's signature does not match, an /MDP certification level other than the one asked
/// for, or a required /TimeStamp when there is none.
///
/// # Errors
/// [`PadesError::SeedValue`].
pub fn check_seed_values(
    revision: &PdfRevision,
    field: &ExistingField,
    check: &SeedCheck<'_>,
) -> Result<(), PadesError> {
    let resolve_dict = |object: &Object| -> Option<Dictionary> {
        revision.resolve(object).ok()?.as_dict().ok().cloned()
    };
    let Some(seed) = revision
        .dictionary(field.id)
        .ok()
        .and_then(|d| d.get(b"SV").ok())
        .and_then(resolve_dict)
    else {
        return Ok(());
    };
    let refuse = |requirement: String, requirement_vi: String| PadesError::SeedValue {
        field: field.name.clone(),
        requirement,
        requirement_vi,
    };
    let flags = seed.get(b"Ff").and_then(Object::as_i64).unwrap_or(0);
    let names = |key: &[u8]| -> Option<Vec<Vec<u8>>> {
        let value = revision.resolve(seed.get(key).ok()?).ok()?;
        match value {
            // Names as the standard says; strings as pyHanko writes /DigestMethod.
            Object::Name(n) | Object::String(n, _) => Some(vec![n.clone()]),
            Object::Array(items) => Some(
                items
                    .iter()
                    .filter_map(|i| match i {
                        Object::Name(n) | Object::String(n, _) => Some(n.clone()),
                        _ => None,
                    })
                    .collect(),
            ),
            _ => None,
        }
    };
    if flags & 1 != 0
        && let Some(filters) = names(b"Filter")
        && !filters.iter().any(|f| f == b"Adobe.PPKLite")
    {
        return Err(refuse(
            "a signature handler other than Adobe.PPKLite".to_owned(),
            "bộ xử lý chữ ký khác Adobe.PPKLite".to_owned(),
        ));
    }
    if flags & 2 != 0
        && let Some(sub_filters) = names(b"SubFilter")
        && !sub_filters.iter().any(|f| f == b"ETSI.CAdES.detached")
    {
        let wanted = sub_filters
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(refuse(
            format!("SubFilter {wanted} (hoso writes ETSI.CAdES.detached)"),
            format!("định dạng chữ ký {wanted} (hoso chỉ ký ETSI.CAdES.detached)"),
        ));
    }
    if flags & 64 != 0
        && let Some(methods) = names(b"DigestMethod")
    {
        let ours = check.digest.name().to_ascii_uppercase();
        let normalized = |m: &[u8]| {
            String::from_utf8_lossy(m)
                .to_ascii_uppercase()
                .replace('-', "")
        };
        if !methods.iter().any(|m| normalized(m) == ours) {
            let wanted = methods
                .iter()
                .map(|m| String::from_utf8_lossy(m).into_owned())
                .collect::<Vec<_>>()
                .join(", ");
            return Err(refuse(
                format!("digest {wanted} (--digest)"),
                format!("thuật toán băm {wanted} (--digest)"),
            ));
        }
    }
    if flags & 32 != 0 && seed.get(b"AddRevInfo").and_then(Object::as_bool).ok() == Some(true) {
        return Err(refuse(
            "revocation data inside the CMS (adbe.pkcs7.detached); hoso adds it to the DSS"
                .to_owned(),
            "dữ liệu thu hồi trong CMS (adbe.pkcs7.detached); hoso đưa dữ liệu này vào DSS"
                .to_owned(),
        ));
    }
    if flags & 8 != 0 {
        let reasons: Vec<String> = seed
            .get(b"Reasons")
            .ok()
            .and_then(|r| revision.resolve(r).ok())
            .and_then(|r| r.as_array().ok())
            .map(|list| {
                list.iter()
                    .filter_map(|r| lopdf::decode_text_string(r).ok())
                    .collect()
            })
            .unwrap_or_default();
        // No list, or a single ".": no reason may be given.
        let allowed = match (reasons.as_slice(), check.reason) {
            ([], reason) => reason.is_none(),
            ([only], reason) if only == "." => reason.is_none(),
            (list, Some(reason)) => list.iter().any(|r| r == reason),
            (_, None) => false,
        };
        if !allowed {
            return Err(if reasons.is_empty() || reasons == ["."] {
                refuse(
                    "no reason (leave out --reason)".to_owned(),
                    "không ghi lý do ký (bỏ --reason)".to_owned(),
                )
            } else {
                let wanted = reasons.join(" | ");
                refuse(
                    format!("a reason among: {wanted} (--reason)"),
                    format!("lý do ký là một trong: {wanted} (--reason)"),
                )
            });
        }
    }
    if let Some(level) = seed
        .get(b"MDP")
        .ok()
        .and_then(resolve_dict)
        .and_then(|mdp| mdp.get(b"P").and_then(Object::as_i64).ok())
    {
        let ok = match level {
            0 => check.certify.is_none(),
            1..=3 => check.certify.map(i64::from) == Some(level),
            _ => true,
        };
        if !ok {
            return Err(if level == 0 {
                refuse(
                    "an approval signature, not a certification".to_owned(),
                    "chữ ký phê duyệt, không phải chữ ký chứng thực (bỏ --certify)".to_owned(),
                )
            } else {
                refuse(
                    format!("a certification signature with --certify {level}"),
                    format!("chữ ký chứng thực với --certify {level}"),
                )
            });
        }
    }
    if let Some(timestamp) = seed.get(b"TimeStamp").ok().and_then(resolve_dict)
        && timestamp.get(b"Ff").and_then(Object::as_i64).unwrap_or(0) & 1 != 0
        && !check.timestamped
    {
        return Err(refuse(
            "a signature timestamp (--level B-T or higher, --tsa)".to_owned(),
            "dấu thời gian cho chữ ký (--level B-T trở lên, --tsa)".to_owned(),
        ));
    }
    Ok(())
}

/// Refuses `target` when a signed field's lock covers it: the field's /Lock dictionary or
/// the FieldMDP reference of its signature (ISO 32000-1 §12.7.4.5, §12.8.2.4): /Action /All,
/// /Include with the field (or a parent) listed, /Exclude without it; or /P 1 (ISO 32000-2:
/// no changes at all after that signature).
fn check_field_locks(
    revision: &PdfRevision,
    fields: &[ExistingField],
    target: &str,
) -> Result<(), PadesError> {
    let resolve_dict = |object: &Object| -> Option<Dictionary> {
        revision.resolve(object).ok()?.as_dict().ok().cloned()
    };
    for field in fields {
        let Some(value) = field.value else { continue };
        let mut locks: Vec<Dictionary> = Vec::new();
        if let Ok(dict) = revision.dictionary(field.id)
            && let Some(lock) = dict.get(b"Lock").ok().and_then(resolve_dict)
        {
            locks.push(lock);
        }
        if let Ok(signature) = revision.dictionary(value)
            && let Some(references) = signature
                .get(b"Reference")
                .ok()
                .and_then(|r| revision.resolve(r).ok())
                .and_then(|r| r.as_array().ok())
        {
            for reference in references.iter().filter_map(resolve_dict) {
                if reference
                    .get(b"TransformMethod")
                    .and_then(Object::as_name)
                    .ok()
                    == Some(b"FieldMDP")
                    && let Some(params) = reference
                        .get(b"TransformParams")
                        .ok()
                        .and_then(resolve_dict)
                {
                    locks.push(params);
                }
            }
        }
        for lock in &locks {
            let listed = || -> bool {
                lock.get(b"Fields")
                    .ok()
                    .and_then(|f| revision.resolve(f).ok())
                    .and_then(|f| f.as_array().ok())
                    .is_some_and(|names| {
                        names
                            .iter()
                            .filter_map(|n| lopdf::decode_text_string(n).ok())
                            .any(|n| {
                                target == n
                                    || target
                                        .strip_prefix(n.as_str())
                                        .is_some_and(|rest| rest.starts_with('.'))
                            })
                    })
            };
            let locked = lock.get(b"P").and_then(Object::as_i64).ok() == Some(1)
                || match lock.get(b"Action").and_then(Object::as_name).ok() {
                    Some(b"All") => true,
                    Some(b"Include") => listed(),
                    Some(b"Exclude") => !listed(),
                    _ => false,
                };
            if locked {
                return Err(PadesError::FieldLocked {
                    name: target.to_owned(),
                    by: field.name.clone(),
                });
            }
        }
    }
    Ok(())
}

fn acro_form(revision: &PdfRevision) -> Result<Option<&Dictionary>, PadesError> {
    let catalog = revision.dictionary(revision.catalog_id()?)?;
    match catalog.get(b"AcroForm") {
        Ok(form) => Ok(revision.resolve(form)?.as_dict().ok()),
        Err(_) => Ok(None),
    }
}

/// The DocMDP permission of the document's certification signature, if it has one.
pub fn docmdp_permission(revision: &PdfRevision) -> Option<i64> {
    let catalog = revision.dictionary(revision.catalog_id().ok()?).ok()?;
    let perms = revision
        .resolve(catalog.get(b"Perms").ok()?)
        .ok()?
        .as_dict()
        .ok()?;
    let sig = revision
        .resolve(perms.get(b"DocMDP").ok()?)
        .ok()?
        .as_dict()
        .ok()?;
    let references = revision
        .resolve(sig.get(b"Reference").ok()?)
        .ok()?
        .as_array()
        .ok()?;
    for reference in references {
        let Ok(reference) = revision.resolve(reference).and_then(|r| {
            r.as_dict().map_err(|e| crate::pdf::PdfError::Malformed {
                reason: e.to_string(),
            })
        }) else {
            continue;
        };
        if reference
            .get(b"TransformMethod")
            .and_then(Object::as_name)
            .ok()
            == Some(b"DocMDP")
        {
            // ISO 32000-1 Table 254: /P defaults to 2.
            return Some(
                reference
                    .get(b"TransformParams")
                    .ok()
                    .and_then(|p| revision.resolve(p).ok())
                    .and_then(|p| p.as_dict().ok())
                    .and_then(|p| p.get(b"P").ok())
                    .and_then(|p| p.as_i64().ok())
                    .unwrap_or(2),
            );
        }
    }
    None
}

/// What the signature dictionary says besides the cryptography.
#[derive(Debug, Clone, Default)]
pub struct SignatureInfo {
    pub name: Option<String>,
    pub reason: Option<String>,
    pub location: Option<String>,
    pub contact: Option<String>,
    /// DocMDP permission level for a certification signature.
    pub certify: Option<u8>,
}

/// Kinds of signature dictionary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureKind {
    /// `/Type /Sig`, `/SubFilter /ETSI.CAdES.detached`.
    Cades,
    /// `/Type /DocTimeStamp`, `/SubFilter /ETSI.RFC3161`.
    DocumentTimestamp,
}

/// The raw signature dictionary, and where its placeholders sit inside it.
pub struct SignatureDictionary {
    pub body: Vec<u8>,
    byte_range_at: usize,
    contents_at: usize,
    capacity: usize,
}

impl SignatureDictionary {
    /// `capacity` bytes of signature container are reserved in `/Contents`.
    pub fn new(
        kind: SignatureKind,
        capacity: usize,
        time: OffsetDateTime,
        info: &SignatureInfo,
    ) -> Self {
        let mut body = Vec::new();
        match kind {
            SignatureKind::Cades => body.extend_from_slice(
                b"<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached",
            ),
            SignatureKind::DocumentTimestamp => body.extend_from_slice(
                b"<< /Type /DocTimeStamp /Filter /Adobe.PPKLite /SubFilter /ETSI.RFC3161",
            ),
        }
        body.extend_from_slice(b" /ByteRange ");
        let byte_range_at = body.len();
        body.extend_from_slice(BYTE_RANGE_PLACEHOLDER.as_bytes());
        body.extend_from_slice(b" /Contents ");
        let contents_at = body.len();
        body.push(b'<');
        body.resize(body.len() + capacity * 2, b'0');
        body.push(b'>');
        if kind == SignatureKind::Cades {
            body.extend_from_slice(b" /M ");
            write_object(&mut body, &Object::string_literal(pdf_date(time)));
            for (key, value) in [
                ("Name", &info.name),
                ("Reason", &info.reason),
                ("Location", &info.location),
                ("ContactInfo", &info.contact),
            ] {
                if let Some(value) = value {
                    body.extend_from_slice(format!(" /{key} ").as_bytes());
                    write_object(&mut body, &lopdf::text_string(value));
                }
            }
            if let Some(level) = info.certify {
                // ISO 32000-1 §12.8.2.2: the DocMDP transform; /V 1.2 as Acrobat writes it.
                body.extend_from_slice(
                    format!(
                        " /Reference [<< /Type /SigRef /TransformMethod /DocMDP /TransformParams << /Type /TransformParams /P {level} /V /1.2 >> >>]"
                    )
                    .as_bytes(),
                );
            }
        }
        body.extend_from_slice(b" >>");
        SignatureDictionary {
            body,
            byte_range_at,
            contents_at,
            capacity,
        }
    }
}

fn write_object(out: &mut Vec<u8>, object: &Object) {
    // Writing to a Vec cannot fail.
    let _ = lopdf::Writer::write_object(out, object);
}

/// `D:YYYYMMDDHHmmSS+07'00'` in Vietnam's time zone, as the signing time in `/M`.
pub fn pdf_date(time: OffsetDateTime) -> String {
    let local = time.to_offset(time::macros::offset!(+7));
    format!(
        "D:{:04}{:02}{:02}{:02}{:02}{:02}+07'00'",
        local.year(),
        local.month() as u8,
        local.day(),
        local.hour(),
        local.minute(),
        local.second()
    )
}

/// A signature dictionary written to the output file, waiting for its value.
pub struct Placeholder {
    /// Offset of `<` of `/Contents` in the output.
    contents_start: u64,
    /// Offset just after `>`.
    contents_end: u64,
    byte_range_offset: u64,
    pub capacity: usize,
}

impl Placeholder {
    pub fn locate(dictionary: &SignatureDictionary, body_offset: u64) -> Self {
        let contents_start = body_offset + dictionary.contents_at as u64;
        Placeholder {
            contents_start,
            contents_end: contents_start + 2 + 2 * dictionary.capacity as u64,
            byte_range_offset: body_offset + dictionary.byte_range_at as u64,
            capacity: dictionary.capacity,
        }
    }

    /// Writes the real `/ByteRange` and returns the digest of the covered bytes.
    pub fn patch_byte_range_and_digest(
        &self,
        file: &mut File,
        file_len: u64,
        algorithm: super::key::DigestAlgorithm,
    ) -> Result<Vec<u8>, PadesError> {
        let ranges = [
            (0, self.contents_start),
            (self.contents_end, file_len - self.contents_end),
        ];
        let mut text = format!("[0 {} {} {}]", ranges[0].1, ranges[1].0, ranges[1].1);
        if text.len() > BYTE_RANGE_PLACEHOLDER.len() {
            return Err(PadesError::Internal {
                reason: "file too large for the byte range placeholder".to_owned(),
            });
        }
        while text.len() < BYTE_RANGE_PLACEHOLDER.len() {
            text.push(' ');
        }
        file.seek(SeekFrom::Start(self.byte_range_offset))?;
        file.write_all(text.as_bytes())?;
        let mut hasher = openssl::hash::Hasher::new(algorithm.message_digest())
            .map_err(super::key::openssl_error)?;
        let mut failed = None;
        digest_ranges(file, &ranges, |chunk| {
            if let Err(e) = hasher.update(chunk) {
                failed = Some(e);
            }
        })?;
        if let Some(e) = failed {
            return Err(super::key::openssl_error(e));
        }
        Ok(hasher.finish().map_err(super::key::openssl_error)?.to_vec())
    }

    /// Writes the signature container (hex, zero-padded) into `/Contents`.
    pub fn patch_contents(&self, file: &mut File, container: &[u8]) -> Result<(), PadesError> {
        if container.len() > self.capacity {
            return Err(PadesError::Internal {
                reason: format!(
                    "signature of {} bytes does not fit the {} reserved",
                    container.len(),
                    self.capacity
                ),
            });
        }
        file.seek(SeekFrom::Start(self.contents_start + 1))?;
        file.write_all(hex::encode_upper(container).as_bytes())?;
        Ok(())
    }
}

/// Where a new signature widget goes and what it shows.
pub struct Widget<'a> {
    /// Name of a new field (ignored when an existing field is filled).
    pub name: &'a str,
    pub page: ObjectId,
    pub rect: [f64; 4],
    /// The normal appearance XObject; `None` for a document timestamp, whose widget has no
    /// appearance at all (pyHanko counts an appearance added after a DocMDP P=1
    /// certification as form filling, which P=1 forbids; a bare widget is what PAdES allows).
    pub appearance: Option<ObjectId>,
    /// The page's `/Rotate`: the appearance is turned by it, recorded as `/MK << /R >>`.
    pub rotation: u16,
}

/// Adds a new signature field with its widget, or fills `existing`, pointing at the
/// signature dictionary `value`.
pub fn attach_field(
    revision: &PdfRevision,
    update: &mut Update,
    value: ObjectId,
    existing: Option<&ExistingField>,
    widget_spec: &Widget<'_>,
) -> Result<(), PadesError> {
    let Widget {
        name: new_name,
        page,
        rect,
        appearance,
        rotation,
    } = *widget_spec;
    if let Some(field) = existing {
        let mut dict = revision.dictionary(field.id)?.clone();
        dict.set("V", Object::Reference(value));
        match field.widget {
            Some(widget) if widget == field.id => {
                set_appearance(&mut dict, appearance, rotation);
                update.set(field.id, dict);
            }
            Some(widget) => {
                update.set(field.id, dict);
                let mut widget_dict = revision.dictionary(widget)?.clone();
                set_appearance(&mut widget_dict, appearance, rotation);
                update.set(widget, widget_dict);
            }
            None => update.set(field.id, dict),
        }
        ensure_sig_flags(revision, update, None)?;
        return Ok(());
    }
    let field_id = update.allocate();
    let mut field = Dictionary::new();
    field.set("Type", Object::Name(b"Annot".to_vec()));
    field.set("Subtype", Object::Name(b"Widget".to_vec()));
    field.set("FT", Object::Name(b"Sig".to_vec()));
    field.set("T", lopdf::text_string(new_name));
    field.set("V", Object::Reference(value));
    // Print (4) + Locked (128): shown on paper, not movable.
    field.set("F", 132);
    field.set(
        "Rect",
        Object::Array(rect.iter().map(|v| Object::Real(*v as f32)).collect()),
    );
    field.set("P", Object::Reference(page));
    set_appearance(&mut field, appearance, rotation);
    update.set(field_id, field);
    add_to_page_annots(revision, update, page, field_id)?;
    ensure_sig_flags(revision, update, Some(field_id))?;
    Ok(())
}

fn set_appearance(dict: &mut Dictionary, appearance: Option<ObjectId>, rotation: u16) {
    if let Some(appearance) = appearance {
        let mut ap = Dictionary::new();
        ap.set("N", Object::Reference(appearance));
        dict.set("AP", Object::Dictionary(ap));
        if rotation != 0 {
            let mut mk = match dict.get(b"MK") {
                Ok(Object::Dictionary(mk)) => mk.clone(),
                _ => Dictionary::new(),
            };
            mk.set("R", i64::from(rotation));
            dict.set("MK", Object::Dictionary(mk));
        }
    }
}

/// The current state of an object: as changed by this update, else as in the file.
fn current_dictionary(
    revision: &PdfRevision,
    update: &Update,
    id: ObjectId,
) -> Result<Dictionary, PadesError> {
    match update.get(id) {
        Some(Object::Dictionary(d)) => Ok(d.clone()),
        _ => Ok(revision.dictionary(id)?.clone()),
    }
}

fn add_to_page_annots(
    revision: &PdfRevision,
    update: &mut Update,
    page: ObjectId,
    annotation: ObjectId,
) -> Result<(), PadesError> {
    let mut page_dict = current_dictionary(revision, update, page)?;
    match page_dict.get(b"Annots") {
        Ok(Object::Reference(array_id)) => {
            let array_id = *array_id;
            let mut array = revision
                .document
                .get_object(array_id)
                .and_then(Object::as_array)
                .map_err(pdf_error)?
                .clone();
            array.push(Object::Reference(annotation));
            update.set(array_id, Object::Array(array));
        }
        Ok(Object::Array(array)) => {
            let mut array = array.clone();
            array.push(Object::Reference(annotation));
            page_dict.set("Annots", Object::Array(array));
            update.set(page, page_dict);
        }
        _ => {
            page_dict.set("Annots", Object::Array(vec![Object::Reference(annotation)]));
            update.set(page, page_dict);
        }
    }
    Ok(())
}

/// Makes sure the AcroForm exists, lists `new_field`, and has `/SigFlags 3` (signatures
/// exist, append only).
fn ensure_sig_flags(
    revision: &PdfRevision,
    update: &mut Update,
    new_field: Option<ObjectId>,
) -> Result<(), PadesError> {
    let catalog_id = revision.catalog_id()?;
    let mut catalog = current_dictionary(revision, update, catalog_id)?;
    let (form_id, mut form) = match catalog.get(b"AcroForm") {
        Ok(Object::Reference(id)) => (Some(*id), current_dictionary(revision, update, *id)?),
        Ok(Object::Dictionary(d)) => (None, d.clone()),
        _ => (None, Dictionary::new()),
    };
    if let Some(field) = new_field {
        match form.get(b"Fields") {
            Ok(Object::Reference(array_id)) => {
                let array_id = *array_id;
                let mut array = match update.get(array_id) {
                    Some(Object::Array(a)) => a.clone(),
                    _ => revision
                        .document
                        .get_object(array_id)
                        .and_then(Object::as_array)
                        .map_err(pdf_error)?
                        .clone(),
                };
                array.push(Object::Reference(field));
                update.set(array_id, Object::Array(array));
            }
            Ok(Object::Array(array)) => {
                let mut array = array.clone();
                array.push(Object::Reference(field));
                form.set("Fields", Object::Array(array));
            }
            _ => form.set("Fields", Object::Array(vec![Object::Reference(field)])),
        }
    } else if !form.has(b"Fields") {
        form.set("Fields", Object::Array(Vec::new()));
    }
    form.set("SigFlags", 3);
    match form_id {
        Some(id) => update.set(id, form),
        None => {
            let id = update.allocate();
            update.set(id, form);
            catalog.set("AcroForm", Object::Reference(id));
            update.set(catalog_id, catalog);
        }
    }
    Ok(())
}

/// Sets `/Perms /DocMDP` in the catalog for a certification signature.
pub fn set_docmdp(
    revision: &PdfRevision,
    update: &mut Update,
    signature: ObjectId,
) -> Result<(), PadesError> {
    let catalog_id = revision.catalog_id()?;
    let mut catalog = current_dictionary(revision, update, catalog_id)?;
    let mut perms = Dictionary::new();
    perms.set("DocMDP", Object::Reference(signature));
    catalog.set("Perms", Object::Dictionary(perms));
    update.set(catalog_id, catalog);
    Ok(())
}

/// An empty form XObject: the appearance of an invisible signature (PDF/A wants one).
pub fn empty_appearance(update: &mut Update) -> ObjectId {
    let id = update.allocate();
    let mut dict = Dictionary::new();
    dict.set("Type", Object::Name(b"XObject".to_vec()));
    dict.set("Subtype", Object::Name(b"Form".to_vec()));
    dict.set(
        "BBox",
        Object::Array(vec![0.into(), 0.into(), 0.into(), 0.into()]),
    );
    update.set(id, Object::Stream(lopdf::Stream::new(dict, Vec::new())));
    id
}

/// Validation data to add to the DSS, and the VRI entries keyed by signature.
pub struct DssAddition<'a> {
    pub data: &'a super::revocation::ValidationData,
    /// `/Contents` bytes (with padding) of each signature the data is for.
    pub signatures: Vec<Vec<u8>>,
}

/// Adds (or extends) the Document Security Store (ETSI EN 319 142-1 §5.4.2).
pub fn add_dss(
    revision: &PdfRevision,
    update: &mut Update,
    addition: &DssAddition<'_>,
) -> Result<(), PadesError> {
    let catalog_id = revision.catalog_id()?;
    let mut catalog = current_dictionary(revision, update, catalog_id)?;
    let (dss_id, mut dss) = match catalog.get(b"DSS") {
        Ok(Object::Reference(id)) => (Some(*id), current_dictionary(revision, update, *id)?),
        Ok(Object::Dictionary(d)) => (None, d.clone()),
        _ => (None, Dictionary::new()),
    };
    dss.set("Type", Object::Name(b"DSS".to_vec()));
    // Each item once: data the DSS already holds (a second --extend, a second signer with the
    // same CAs) is referred to where it is; only new data becomes a new stream.
    let mut written: Vec<(Vec<u8>, ObjectId)> = Vec::new();
    let mut stream_refs = |items: &[Vec<u8>], update: &mut Update| -> (Vec<Object>, Vec<Object>) {
        let (mut all, mut new) = (Vec::new(), Vec::new());
        for bytes in items {
            let id = if let Some(id) = revision.dss_stream_holding(bytes) {
                id
            } else if let Some((_, id)) = written.iter().find(|(b, _)| b == bytes) {
                *id
            } else {
                let id = update.allocate();
                let mut stream = lopdf::Stream::new(Dictionary::new(), bytes.clone());
                let _ = stream.compress();
                update.set(id, Object::Stream(stream));
                written.push((bytes.clone(), id));
                new.push(Object::Reference(id));
                id
            };
            if !all.contains(&Object::Reference(id)) {
                all.push(Object::Reference(id));
            }
        }
        (all, new)
    };
    let (certs, new_certs) = stream_refs(&addition.data.certificates, update);
    let (ocsps, new_ocsps) = stream_refs(&addition.data.ocsp_responses, update);
    let (crls, new_crls) = stream_refs(&addition.data.crls, update);
    for (key, new) in [
        (b"Certs".as_slice(), &new_certs),
        (b"OCSPs", &new_ocsps),
        (b"CRLs", &new_crls),
    ] {
        if new.is_empty() {
            continue;
        }
        let mut array = match dss.get(key) {
            Ok(existing) => revision
                .resolve(existing)
                .ok()
                .and_then(|a| a.as_array().ok())
                .cloned()
                .unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        for item in new {
            if !array.contains(item) {
                array.push(item.clone());
            }
        }
        dss.set(key, Object::Array(array));
    }
    let mut vri = match dss.get(b"VRI") {
        Ok(existing) => revision
            .resolve(existing)
            .ok()
            .and_then(|v| v.as_dict().ok())
            .cloned()
            .unwrap_or_default(),
        Err(_) => Dictionary::new(),
    };
    for contents in &addition.signatures {
        let key = hex::encode_upper(
            openssl::hash::hash(openssl::hash::MessageDigest::sha1(), contents)
                .map_err(super::key::openssl_error)?,
        );
        // An entry already there keeps what it has (/TU, /TS, its references); the new
        // references join its arrays.
        let mut entry = vri
            .get(key.as_bytes())
            .ok()
            .and_then(|e| revision.resolve(e).ok())
            .and_then(|e| e.as_dict().ok())
            .cloned()
            .unwrap_or_default();
        entry.set("Type", Object::Name(b"VRI".to_vec()));
        for (name, refs) in [("Cert", &certs), ("OCSP", &ocsps), ("CRL", &crls)] {
            if refs.is_empty() {
                continue;
            }
            let mut array = entry
                .get(name.as_bytes())
                .ok()
                .and_then(|a| revision.resolve(a).ok())
                .and_then(|a| a.as_array().ok())
                .cloned()
                .unwrap_or_default();
            for item in refs {
                if !array.contains(item) {
                    array.push(item.clone());
                }
            }
            entry.set(name, Object::Array(array));
        }
        vri.set(key.into_bytes(), Object::Dictionary(entry));
    }
    dss.set("VRI", Object::Dictionary(vri));
    match dss_id {
        Some(id) => update.set(id, dss),
        None => {
            let id = update.allocate();
            update.set(id, dss);
            catalog.set("DSS", Object::Reference(id));
            update.set(catalog_id, catalog);
        }
    }
    // PAdES long-term validation needs PDF 2.0 features (DSS, document timestamps); the
    // extension dictionary tells older readers, as Acrobat and pyHanko write it.
    add_adbe_extension(revision, update)?;
    Ok(())
}

fn add_adbe_extension(revision: &PdfRevision, update: &mut Update) -> Result<(), PadesError> {
    let catalog_id = revision.catalog_id()?;
    let mut catalog = current_dictionary(revision, update, catalog_id)?;
    let mut extensions = catalog
        .get(b"Extensions")
        .ok()
        .and_then(|e| revision.resolve(e).ok())
        .and_then(|e| e.as_dict().ok())
        .cloned()
        .unwrap_or_default();
    if extensions.has(b"ESIC") {
        return Ok(());
    }
    let mut esic = Dictionary::new();
    esic.set("BaseVersion", Object::Name(b"1.7".to_vec()));
    esic.set("ExtensionLevel", 5);
    extensions.set("ESIC", Object::Dictionary(esic));
    catalog.set("Extensions", Object::Dictionary(extensions));
    update.set(catalog_id, catalog);
    Ok(())
}

/// A signature in the document, as needed to extend it (B-LT/B-LTA).
pub struct EmbeddedSignature {
    pub field: String,
    pub kind: SignatureKind,
    /// `/Contents` bytes, padding included.
    pub contents: Vec<u8>,
}

pub fn embedded_signatures(revision: &PdfRevision) -> Result<Vec<EmbeddedSignature>, PadesError> {
    let mut out = Vec::new();
    for field in signature_fields(revision)? {
        let Some(value) = field.value else { continue };
        let Ok(dict) = revision.dictionary(value) else {
            continue;
        };
        let kind = match dict.get(b"SubFilter").and_then(Object::as_name).ok() {
            Some(b"ETSI.RFC3161") => SignatureKind::DocumentTimestamp,
            _ => SignatureKind::Cades,
        };
        let Ok(Object::String(contents, _)) = dict.get(b"Contents") else {
            continue;
        };
        out.push(EmbeddedSignature {
            field: field.name,
            kind,
            contents: contents.clone(),
        });
    }
    Ok(out)
}

/// The first page's object id, or the page asked for (0-based).
pub fn page_id(revision: &PdfRevision, index: usize) -> Result<ObjectId, PadesError> {
    let pages = revision.document.get_pages();
    pages
        .values()
        .nth(index)
        .copied()
        .ok_or(PadesError::PageOutOfRange {
            page: index + 1,
            pages: pages.len(),
        })
}

/// The page's visible area (CropBox, else MediaBox, inherited).
pub fn page_box(revision: &PdfRevision, page: ObjectId) -> [f64; 4] {
    let mut current = Some(page);
    let mut depth = 0;
    while let Some(id) = current {
        let Ok(dict) = revision.dictionary(id) else {
            break;
        };
        for key in [b"CropBox".as_slice(), b"MediaBox"] {
            if let Ok(array) = dict.get(key).and_then(|b| {
                revision
                    .resolve(b)
                    .map_err(|_| lopdf::Error::ObjectNotFound((0, 0)))
            }) && let Ok(values) = array.as_array()
                && values.len() == 4
            {
                let nums: Vec<f64> = values
                    .iter()
                    .filter_map(|v| v.as_float().ok().map(f64::from))
                    .collect();
                if nums.len() == 4 {
                    return [nums[0], nums[1], nums[2], nums[3]];
                }
            }
        }
        current = dict.get(b"Parent").and_then(Object::as_reference).ok();
        depth += 1;
        if depth > 64 {
            break;
        }
    }
    [0.0, 0.0, 595.0, 842.0]
}

fn pdf_error(e: lopdf::Error) -> PadesError {
    PadesError::Pdf(crate::pdf::PdfError::Malformed {
        reason: e.to_string(),
    })
}
