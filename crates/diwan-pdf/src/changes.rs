//! What was changed in a PDF after one of its signatures: the document as of the signature's
//! revision (the prefix the signature covers, itself a complete PDF) is compared object by
//! object with the whole file.
//!
//! Allowed after a signature (PAdES incremental updates of later signers):
//! - new signature fields and widgets (`/FT /Sig`, no actions), their signature dictionaries,
//!   appearance streams and whatever those reach (fonts, resources); DSS dictionaries;
//! - the catalog changed only in `/AcroForm` and `/DSS`;
//! - the form dictionary changed only in `/Fields` (existing fields kept, new signature fields
//!   added), `/SigFlags` and `/DR`;
//! - a page changed only in `/Annots` (existing annotations kept, signature widgets added);
//! - an existing empty signature field given its value (`/V`) and appearance (`/AP`).
//!
//! Anything else is reported: a changed page content, catalog or other object, a deleted
//! object, a new object used by a signed object (including a reference that led nowhere in the
//! signed revision and now leads to a new object), a replaced catalog or information
//! dictionary. Indirect arrays and dictionaries that may change (the field list, a page's
//! annotation list, the default resources) must not be shared with anything else.
//!
//! The bytes read (objects, stream data, scans) are counted against a budget proportional to
//! the file's size, so no file can make the comparison run away.

use std::cell::Cell;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::rc::Rc;

use crate::reader::{Dict, Entry, Indirect, Limits, ObjRef, Object, PdfReader, ReadError, Stream};
use crate::syntax::MAX_PDF_BYTES;
use crate::{PdfError, PdfSignature};

/// What came after a signature's revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangesAfter {
    /// Nothing: the signature covers the document as it is.
    None,
    /// Only what later signatures add (fields, widgets, appearances, signature and DSS
    /// dictionaries, and the form and annotation lists extended for them).
    OnlySignatures,
    /// Something else changed; a short description of the first change found.
    Other(String),
}

/// Objects in the file.
const MAX_OBJECTS: usize = 250_000;
/// References in all objects together.
const MAX_REFS: usize = 4_000_000;
/// Direct (not referenced) entries in a field or annotation list, compared one by one.
const MAX_DIRECT_ENTRIES: usize = 64;
/// Steps of a reference chain, or of a field's `/Parent` chain.
const MAX_CHAIN: usize = 32;
/// Bytes read per byte of the file, plus a fixed allowance.
const BUDGET_FACTOR: u64 = 16;
const BUDGET_BASE: u64 = 64 * 1024 * 1024;

/// Compare the document as `signature` signed it with the whole of `pdf`.
///
/// Errors: `pdf` is not the file the signature was read from (its byte range does not start at
/// 0 or ends past the file), the signed revision cannot be read, the file is encrypted, or it
/// is too large or too complex to compare within bounds.
pub fn changes_after(pdf: &[u8], signature: &PdfSignature) -> Result<ChangesAfter, PdfError> {
    if pdf.len() > MAX_PDF_BYTES {
        return Err(PdfError::TooLarge("PDF"));
    }
    let range = signature.byte_range;
    if range[0] != 0 {
        return Err(malformed(
            "the signature does not cover the file from its start",
        ));
    }
    if range[2].checked_add(range[3]) != Some(signature.revision_end) {
        return Err(malformed(
            "the signature's byte range and revision disagree",
        ));
    }
    let end = usize::try_from(signature.revision_end)
        .ok()
        .filter(|&e| e > 0 && e <= pdf.len())
        .ok_or_else(|| malformed("the signature's byte range is outside the file"))?;
    if pdf[end..].iter().all(|&b| is_white(b)) {
        return Ok(ChangesAfter::None);
    }
    let budget = Rc::new(Cell::new(
        BUDGET_FACTOR
            .saturating_mul(pdf.len() as u64)
            .saturating_add(BUDGET_BASE),
    ));
    let read_error = |e: ReadError| {
        if budget.get() == 0 {
            PdfError::TooLarge("work needed to compare revisions")
        } else {
            match e {
                ReadError::TooManyObjects(_) => PdfError::TooLarge("object count"),
                ReadError::TooLarge(what) => PdfError::TooLarge(what),
                e => PdfError::Malformed(e.to_string()),
            }
        }
    };
    let old = open(&pdf[..end], &budget).map_err(read_error)?;
    if old.repaired().is_some() {
        return Err(malformed(
            "the signed revision's cross-reference data is damaged",
        ));
    }
    let new = match open(pdf, &budget) {
        Ok(r) if r.repaired().is_some() => {
            return Ok(other(
                "the cross-reference data added after the signature is damaged",
            ));
        }
        Ok(r) => r,
        Err(e) => return Err(read_error(e)),
    };
    if old.is_encrypted() || new.is_encrypted() {
        return Err(malformed("encrypted documents are not compared"));
    }
    let mut compare = Compare {
        pdf,
        end,
        old,
        new,
        items: HashMap::new(),
        old_items: HashMap::new(),
        old_ids: HashSet::new(),
        new_ids: BTreeSet::new(),
        changed: BTreeSet::new(),
        referrers: HashMap::new(),
        explained: HashSet::new(),
        added_fields: Vec::new(),
        added_widgets: Vec::new(),
        signature_values: Vec::new(),
    };
    match compare.run() {
        Ok(result) => Ok(result),
        Err(Stop::Changed(what)) => Ok(ChangesAfter::Other(what)),
        Err(Stop::Read(e)) => Err(read_error(e)),
        Err(Stop::Pdf(e)) => Err(e),
    }
}

fn malformed(what: &str) -> PdfError {
    PdfError::Malformed(what.to_owned())
}

fn other(what: &str) -> ChangesAfter {
    ChangesAfter::Other(what.to_owned())
}

fn is_white(b: u8) -> bool {
    matches!(b, 0 | b'\t' | b'\n' | 0x0C | b'\r' | b' ')
}

/// A `Read + Seek` over the file that fails once the shared byte budget is spent.
struct Budgeted<'a> {
    inner: Cursor<&'a [u8]>,
    left: Rc<Cell<u64>>,
}

impl Read for Budgeted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let left = self.left.get();
        match left.checked_sub(n as u64) {
            Some(rest) => {
                self.left.set(rest);
                Ok(n)
            }
            None => {
                self.left.set(0);
                Err(io::Error::other("work budget spent"))
            }
        }
    }
}

impl Seek for Budgeted<'_> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

fn open<'a>(bytes: &'a [u8], budget: &Rc<Cell<u64>>) -> Result<PdfReader<Budgeted<'a>>, ReadError> {
    let limits = Limits {
        max_objects: MAX_OBJECTS,
        deadline: None,
        ..Limits::default()
    };
    PdfReader::open(
        Budgeted {
            inner: Cursor::new(bytes),
            left: Rc::clone(budget),
        },
        limits,
    )
}

/// Why the comparison stopped early.
enum Stop {
    /// A change that is not allowed (the answer).
    Changed(String),
    Read(ReadError),
    Pdf(PdfError),
}

impl From<ReadError> for Stop {
    fn from(e: ReadError) -> Self {
        Self::Read(e)
    }
}

fn changed<T>(what: impl Into<String>) -> Result<T, Stop> {
    Err(Stop::Changed(what.into()))
}

/// One object: its value (a stream's dictionary) and, for a stream, where its data is.
struct Item {
    object: Object,
    stream: Option<Stream>,
}

impl Item {
    fn from(indirect: Indirect) -> Self {
        match indirect {
            Indirect::Plain(object) => Self {
                object,
                stream: None,
            },
            Indirect::Stream(s) => Self {
                object: Object::Dict(s.dict.clone()),
                stream: Some(s),
            },
        }
    }

    fn dict(&self) -> Option<&Dict> {
        self.object.as_dict()
    }
}

struct Compare<'a> {
    pdf: &'a [u8],
    /// Where the signed revision ends.
    end: usize,
    old: PdfReader<Budgeted<'a>>,
    new: PdfReader<Budgeted<'a>>,
    /// Every object of the whole file.
    items: HashMap<u32, Item>,
    /// The signed revision's version of each changed object.
    old_items: HashMap<u32, Item>,
    old_ids: HashSet<u32>,
    /// Objects that are not in the signed revision.
    new_ids: BTreeSet<u32>,
    /// Objects of the signed revision that are different in the whole file.
    changed: BTreeSet<u32>,
    /// For each new or changed object, the objects of the whole file referring to it.
    referrers: HashMap<u32, Vec<u32>>,
    /// Changed objects whose changes are allowed.
    explained: HashSet<u32>,
    added_fields: Vec<u32>,
    /// New widgets and the (old) page they were added to.
    added_widgets: Vec<(u32, u32)>,
    signature_values: Vec<u32>,
}

impl Compare<'_> {
    fn run(&mut self) -> Result<ChangesAfter, Stop> {
        let root = self.check_trailer()?;
        self.read_objects()?;
        if let Some(gone) = self.old_ids.iter().find(|id| !self.items.contains_key(id)) {
            return changed(format!("object {gone} was deleted"));
        }
        self.find_changes()?;
        if self.changed.is_empty() && self.new_ids.is_empty() {
            return Ok(ChangesAfter::None);
        }
        self.index_referrers()?;
        self.check_catalog_and_form(root)?;
        self.check_pages()?;
        self.check_filled_fields()?;
        if let Some(id) = self.changed.iter().find(|id| !self.explained.contains(id)) {
            let what = self.describe(*id);
            return changed(format!("object {id} ({what}) was changed"));
        }
        self.check_added()?;
        self.check_new_objects()?;
        Ok(ChangesAfter::OnlySignatures)
    }

    /// The catalog and the information dictionary are the same objects; returns the
    /// catalog's number.
    fn check_trailer(&mut self) -> Result<u32, Stop> {
        let root = |t: &Dict| t.get(b"Root").and_then(Object::as_ref).map(|r| r.num);
        let old_root = root(self.old.trailer())
            .ok_or_else(|| Stop::Pdf(malformed("the signed revision has no catalog")))?;
        if root(self.new.trailer()) != Some(old_root) {
            return changed("the document catalog was replaced");
        }
        let info_old = self.old.trailer().get(b"Info").cloned();
        let info_new = self.new.trailer().get(b"Info").cloned();
        let same_info = match (&info_old, &info_new) {
            (None, None) => true,
            (Some(a), Some(b)) => same_object(a, b),
            _ => false,
        };
        if !same_info {
            return changed("the document information dictionary was replaced");
        }
        Ok(old_root)
    }

    /// Every object of the whole file, in file order (objects of one object stream together).
    fn read_objects(&mut self) -> Result<(), Stop> {
        self.old_ids = self.old.object_ids().into_iter().map(|r| r.num).collect();
        let ids = self.new.object_ids();
        if ids.len() > MAX_OBJECTS {
            return Err(Stop::Pdf(PdfError::TooLarge("object count")));
        }
        let mut located: Vec<((u8, u64, u32), u32)> = ids
            .iter()
            .map(|r| {
                let key = match self.new.entry(r.num) {
                    Some(Entry::Offset(at)) => (0, at, 0),
                    Some(Entry::Compressed { stream, index }) => (1, u64::from(stream), index),
                    _ => (2, 0, 0),
                };
                (key, r.num)
            })
            .collect();
        located.sort_unstable();
        let mut refs = 0usize;
        for (_, num) in located {
            let item = Item::from(self.new.object(ObjRef::new(num, 0))?);
            item.object.walk(|o| {
                if o.as_ref().is_some() {
                    refs += 1;
                }
            });
            if refs > MAX_REFS {
                return Err(Stop::Pdf(PdfError::TooLarge("references")));
            }
            if !self.old_ids.contains(&num) {
                self.new_ids.insert(num);
            }
            self.items.insert(num, item);
        }
        Ok(())
    }

    /// Whether object `num` is at the same place in both revisions (so its bytes are the same).
    fn same_place(&self, num: u32) -> bool {
        let (old, new) = (self.old.entry(num), self.new.entry(num));
        match (old, new) {
            (Some(Entry::Offset(a)), Some(Entry::Offset(b))) => a == b,
            (
                Some(Entry::Compressed { stream, index }),
                Some(Entry::Compressed {
                    stream: s2,
                    index: i2,
                }),
            ) => {
                stream == s2
                    && index == i2
                    && matches!(
                        (self.old.entry(stream), self.new.entry(stream)),
                        (Some(Entry::Offset(a)), Some(Entry::Offset(b))) if a == b
                    )
            }
            _ => false,
        }
    }

    /// Whether the stream's `/Length` leads to `endstream` inside the signed revision (both
    /// revisions then read the same data). An indirect length is taken from the whole file:
    /// if it differs in the signed revision, that object is a change no rule allows.
    fn length_holds(&self, stream: &Stream) -> bool {
        let declared = match stream.dict.get(b"Length") {
            Some(Object::Ref(r)) => self.new_object(r.num),
            other => other,
        };
        let Some(len) = declared
            .and_then(Object::as_int)
            .and_then(|n| u64::try_from(n).ok())
        else {
            return false;
        };
        let Some(pos) = stream
            .data_at()
            .checked_add(len)
            .and_then(|p| usize::try_from(p).ok())
            .filter(|&p| p <= self.end)
        else {
            return false;
        };
        let window = &self.pdf[pos..(pos + 32).min(self.end)];
        let start = window
            .iter()
            .position(|&b| !is_white(b))
            .unwrap_or(window.len());
        window[start..].starts_with(b"endstream")
    }

    fn find_changes(&mut self) -> Result<(), Stop> {
        let both: Vec<u32> = self
            .items
            .keys()
            .copied()
            .filter(|n| self.old_ids.contains(n))
            .collect();
        let mut both = both;
        both.sort_unstable();
        for num in both {
            let Some(item) = self.items.get(&num) else {
                continue;
            };
            if self.same_place(num) {
                let differs = match &item.stream {
                    Some(s) if !self.length_holds(s) => {
                        let s = s.clone();
                        let old = self.old_version(num)?.stream.clone();
                        let new_len = self.new.stream_len(&s)?;
                        match &old {
                            Some(o) => self.old.stream_len(o)? != new_len,
                            None => true,
                        }
                    }
                    _ => false,
                };
                if differs {
                    self.changed.insert(num);
                } else {
                    self.old_items.remove(&num);
                }
                continue;
            }
            self.old_version(num)?;
            if !self.same_item(num)? {
                self.changed.insert(num);
            } else {
                self.old_items.remove(&num);
            }
        }
        Ok(())
    }

    /// Reads (once) the signed revision's version of object `num`.
    fn old_version(&mut self, num: u32) -> Result<&Item, Stop> {
        if !self.old_items.contains_key(&num) {
            let item = Item::from(self.old.object(ObjRef::new(num, 0))?);
            self.old_items.insert(num, item);
        }
        self.old_items
            .get(&num)
            .ok_or_else(|| Stop::Pdf(malformed("object vanished")))
    }

    /// Whether both versions of `num` (the old one read) are the same.
    fn same_item(&mut self, num: u32) -> Result<bool, Stop> {
        let (Some(old), Some(new)) = (self.old_items.get(&num), self.items.get(&num)) else {
            return Ok(false);
        };
        if !same_object(&old.object, &new.object) {
            return Ok(false);
        }
        let (old_s, new_s) = match (&old.stream, &new.stream) {
            (None, None) => return Ok(true),
            (Some(a), Some(b)) => (a.clone(), b.clone()),
            _ => return Ok(false),
        };
        let max = self.new.limits().max_stream_bytes;
        let (old_len, new_len) = (self.old.stream_len(&old_s)?, self.new.stream_len(&new_s)?);
        if old_len != new_len {
            return Ok(false);
        }
        if old_s.data_at() == new_s.data_at() {
            return Ok(true);
        }
        let a = self.old.raw_stream_data(&old_s, max)?;
        let b = self.new.raw_stream_data(&new_s, max)?;
        Ok(a == b)
    }

    /// Who refers to each new or changed object, in the whole file.
    fn index_referrers(&mut self) -> Result<(), Stop> {
        let targets: HashSet<u32> = self
            .new_ids
            .iter()
            .chain(self.changed.iter())
            .copied()
            .collect();
        let mut referrers: HashMap<u32, Vec<u32>> = HashMap::new();
        for (num, item) in &self.items {
            item.object.walk(|o| {
                if let Some(r) = o.as_ref()
                    && targets.contains(&r.num)
                {
                    referrers.entry(r.num).or_default().push(*num);
                }
            });
        }
        for list in referrers.values_mut() {
            list.sort_unstable();
            list.dedup();
        }
        self.referrers = referrers;
        Ok(())
    }

    fn referrers_of(&self, num: u32) -> &[u32] {
        self.referrers.get(&num).map_or(&[], Vec::as_slice)
    }

    /// `num` changed as part of `owner`'s allowed change; refused when anything else uses it.
    fn own(&mut self, num: u32, owner: u32, what: &str) -> Result<(), Stop> {
        if let Some(other) = self.referrers_of(num).iter().find(|r| **r != owner) {
            return changed(format!(
                "{what} (object {num}) was changed and is also used by object {other}"
            ));
        }
        self.explained.insert(num);
        Ok(())
    }

    fn new_object(&self, num: u32) -> Option<&Object> {
        self.items.get(&num).map(|i| &i.object)
    }

    fn old_object(&self, num: u32) -> Option<&Object> {
        if !self.old_ids.contains(&num) {
            return None;
        }
        self.old_items
            .get(&num)
            .or_else(|| self.items.get(&num))
            .map(|i| &i.object)
    }

    /// `o`, references followed, in the whole file (`None`: null or missing).
    fn resolve_new<'o>(&'o self, o: &'o Object) -> Option<&'o Object> {
        resolve(o, |n| self.new_object(n))
    }

    /// `o`, references followed, in the signed revision.
    fn resolve_old<'o>(&'o self, o: &'o Object) -> Option<&'o Object> {
        resolve(o, |n| self.old_object(n))
    }

    fn check_catalog_and_form(&mut self, root: u32) -> Result<(), Stop> {
        let old_catalog = self
            .old_object(root)
            .and_then(Object::as_dict)
            .cloned()
            .ok_or_else(|| Stop::Pdf(malformed("the signed revision's catalog is unreadable")))?;
        let Some(new_catalog) = self.new_object(root).and_then(Object::as_dict).cloned() else {
            return changed("the catalog is no longer a dictionary");
        };
        if self.changed.contains(&root) {
            let keys = changed_keys(&old_catalog, &new_catalog);
            let others = not_in(&keys, &[b"AcroForm", b"DSS"]);
            if !others.is_empty() {
                return changed(format!("the catalog was changed: {others}"));
            }
            self.explained.insert(root);
        }
        self.check_form(root, &old_catalog, &new_catalog)?;
        self.check_dss(root, &old_catalog, &new_catalog)
    }

    fn check_form(
        &mut self,
        root: u32,
        old_catalog: &Dict,
        new_catalog: &Dict,
    ) -> Result<(), Stop> {
        let old_value = old_catalog.get(b"AcroForm").cloned();
        let new_value = new_catalog.get(b"AcroForm").cloned();
        let holder = match &new_value {
            Some(Object::Ref(r)) => {
                if self.changed.contains(&r.num) {
                    if old_value.as_ref().and_then(Object::as_ref) != Some(*r) {
                        return changed("an existing object became the form dictionary");
                    }
                    self.own(r.num, root, "the form dictionary")?;
                }
                r.num
            }
            _ => root,
        };
        let old_form = old_value
            .as_ref()
            .and_then(|v| self.resolve_old(v))
            .and_then(Object::as_dict)
            .cloned()
            .unwrap_or_default();
        let new_form = match new_value.as_ref().and_then(|v| self.resolve_new(v)) {
            Some(Object::Dict(d)) => d.clone(),
            None if old_value.is_none() => Dict::new(),
            _ => return changed("the form dictionary was removed or replaced"),
        };
        let keys = changed_keys(&old_form, &new_form);
        let others = not_in(&keys, &[b"Fields", b"SigFlags", b"DR"]);
        if !others.is_empty() {
            return changed(format!("the form dictionary was changed: {others}"));
        }
        // The field list.
        if let Some(Object::Ref(f)) = new_form.get(b"Fields")
            && self.changed.contains(&f.num)
        {
            if old_form.get(b"Fields").and_then(Object::as_ref) != Some(*f) {
                return changed("an existing object became the list of form fields");
            }
            self.own(f.num, holder, "the list of form fields")?;
        }
        let old_fields = self.old_array(old_form.get(b"Fields"));
        let new_fields = self.new_array(new_form.get(b"Fields"));
        let (gone, added) = list_diff(&old_fields, &new_fields)?;
        if let Some(gone) = gone {
            return changed(format!("a form field was removed ({})", show(gone)));
        }
        for added in added {
            match added {
                Object::Ref(r) if self.new_ids.contains(&r.num) => self.added_fields.push(r.num),
                other => {
                    return changed(format!(
                        "something other than a new field was added to the form ({})",
                        show(other)
                    ));
                }
            }
        }
        // The default resources.
        if let Some(Object::Ref(d)) = new_form.get(b"DR")
            && self.changed.contains(&d.num)
        {
            if old_form.get(b"DR").and_then(Object::as_ref) != Some(*d) {
                return changed("an existing object became the form's default resources");
            }
            self.own(d.num, holder, "the form's default resources")?;
        }
        Ok(())
    }

    fn check_dss(&mut self, root: u32, old_catalog: &Dict, new_catalog: &Dict) -> Result<(), Stop> {
        let Some(Object::Ref(d)) = new_catalog.get(b"DSS").cloned() else {
            return Ok(());
        };
        if !self.changed.contains(&d.num) {
            return Ok(());
        }
        if old_catalog.get(b"DSS").and_then(Object::as_ref) != Some(d) {
            return changed("an existing object became the DSS dictionary");
        }
        let Some(new_dss) = self.new_object(d.num).and_then(Object::as_dict).cloned() else {
            return changed("the DSS is not a dictionary");
        };
        let keys: Vec<&[u8]> = new_dss.iter().map(|(k, _)| k).collect();
        let allowed: [&[u8]; 5] = [b"Type", b"VRI", b"Certs", b"CRLs", b"OCSPs"];
        if let Some(k) = keys.iter().find(|k| !allowed.contains(k)) {
            return changed(format!(
                "the DSS has an unexpected entry /{}",
                String::from_utf8_lossy(k)
            ));
        }
        self.own(d.num, root, "the DSS dictionary")?;
        let old_dss = self
            .old_object(d.num)
            .and_then(Object::as_dict)
            .cloned()
            .unwrap_or_default();
        for key in &allowed[1..] {
            if let Some(Object::Ref(x)) = new_dss.get(key)
                && self.changed.contains(&x.num)
                && old_dss.get(key).and_then(Object::as_ref) == Some(*x)
            {
                self.own(x.num, d.num, "a DSS entry")?;
            }
        }
        Ok(())
    }

    fn old_array(&self, value: Option<&Object>) -> Vec<Object> {
        value
            .and_then(|v| self.resolve_old(v))
            .and_then(Object::as_array)
            .map(<[Object]>::to_vec)
            .unwrap_or_default()
    }

    fn new_array(&self, value: Option<&Object>) -> Vec<Object> {
        value
            .and_then(|v| self.resolve_new(v))
            .and_then(Object::as_array)
            .map(<[Object]>::to_vec)
            .unwrap_or_default()
    }

    /// Pages of the signed revision: changed only in `/Annots`, by added widgets.
    fn check_pages(&mut self) -> Result<(), Stop> {
        let pages = self.old.pages()?;
        for (index, page) in pages.iter().enumerate() {
            let num = page.id.num;
            let number = index + 1;
            let page_changed = self.changed.contains(&num);
            let Some(new_page) = self.new_object(num).and_then(Object::as_dict).cloned() else {
                return changed(format!("page {number} is no longer a dictionary"));
            };
            let list_changed = match new_page.get(b"Annots") {
                Some(Object::Ref(a)) if self.changed.contains(&a.num) => Some(*a),
                _ => None,
            };
            if !page_changed && list_changed.is_none() {
                continue;
            }
            let old_page = page.dict.clone();
            if page_changed {
                let keys = changed_keys(&old_page, &new_page);
                let others = not_in(&keys, &[b"Annots"]);
                if !others.is_empty() {
                    return changed(format!("page {number} was changed: {others}"));
                }
                self.explained.insert(num);
            }
            if let Some(a) = list_changed {
                if old_page.get(b"Annots").and_then(Object::as_ref) != Some(a) {
                    return changed(format!(
                        "an existing object became the annotations of page {number}"
                    ));
                }
                self.own(a.num, num, "a page's list of annotations")?;
            }
            let old_annots = self.old_array(old_page.get(b"Annots"));
            let new_annots = self.new_array(new_page.get(b"Annots"));
            let (gone, added) = list_diff(&old_annots, &new_annots)?;
            if gone.is_some() {
                return changed(format!("an annotation of page {number} was removed"));
            }
            for added in added {
                match added {
                    Object::Ref(r) if self.new_ids.contains(&r.num) => {
                        self.added_widgets.push((r.num, number as u32));
                    }
                    other => {
                        return changed(format!(
                            "something other than a new annotation was added to page {number} ({})",
                            show(other)
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Existing empty signature fields given a value and an appearance.
    fn check_filled_fields(&mut self) -> Result<(), Stop> {
        let candidates: Vec<u32> = self
            .changed
            .iter()
            .copied()
            .filter(|n| !self.explained.contains(n))
            .collect();
        for num in candidates {
            let (Some(old), Some(new)) = (
                self.old_object(num).and_then(Object::as_dict),
                self.new_object(num).and_then(Object::as_dict),
            ) else {
                continue;
            };
            let was_empty_signature_field =
                old.get_name(b"FT") == Some(b"Sig") && old.get(b"V").is_none();
            if !was_empty_signature_field {
                continue;
            }
            let keys = changed_keys(old, new);
            if !not_in(&keys, &[b"V", b"AP"]).is_empty() {
                continue;
            }
            match new.get(b"V") {
                Some(Object::Ref(v)) if self.new_ids.contains(&v.num) => {
                    self.signature_values.push(v.num);
                }
                None => {}
                _ => return changed(format!("signature field {num} got an unexpected value")),
            }
            self.explained.insert(num);
        }
        Ok(())
    }

    /// The fields added to the form are signature fields; the widgets added to pages belong to
    /// signature fields of the form; their values are signature dictionaries.
    fn check_added(&mut self) -> Result<(), Stop> {
        let fields = std::mem::take(&mut self.added_fields);
        for num in &fields {
            let Some(field) = self.new_object(*num).and_then(Object::as_dict).cloned() else {
                return changed(format!("new form field {num} is not a dictionary"));
            };
            if field.get_name(b"FT") != Some(b"Sig") {
                return changed(format!("new form field {num} is not a signature field"));
            }
            no_actions(&field, *num)?;
            if let Some(value) = field.get(b"V") {
                match value {
                    Object::Ref(v) if self.new_ids.contains(&v.num) => {
                        self.signature_values.push(v.num);
                    }
                    _ => {
                        return changed(format!(
                            "signature field {num} has a value that is not a new signature"
                        ));
                    }
                }
            }
            let kids = self.new_array(field.get(b"Kids"));
            for kid in kids {
                let Some(Object::Dict(k)) = self.resolve_new(&kid) else {
                    return changed(format!("a widget of field {num} is not a dictionary"));
                };
                if k.get_name(b"FT").is_some_and(|ft| ft != b"Sig") {
                    return changed(format!("a widget of field {num} is not a signature's"));
                }
                no_actions(k, *num)?;
            }
        }
        let top_fields: HashSet<u32> = {
            let root = self
                .new
                .trailer()
                .get(b"Root")
                .cloned()
                .unwrap_or(Object::Null);
            let form = self
                .resolve_new(&root)
                .and_then(Object::as_dict)
                .and_then(|c| c.get(b"AcroForm"))
                .and_then(|f| self.resolve_new(f))
                .and_then(Object::as_dict)
                .and_then(|f| f.get(b"Fields"))
                .cloned();
            self.new_array(form.as_ref())
                .iter()
                .filter_map(|f| f.as_ref().map(|r| r.num))
                .collect()
        };
        let widgets = std::mem::take(&mut self.added_widgets);
        for (num, page) in widgets {
            let Some(widget) = self.new_object(num).and_then(Object::as_dict) else {
                return changed(format!(
                    "new annotation {num} of page {page} is not a dictionary"
                ));
            };
            if widget.get_name(b"Subtype") != Some(b"Widget") {
                return changed(format!(
                    "an annotation that is not a widget was added to page {page}"
                ));
            }
            no_actions(widget, num)?;
            // Up the /Parent chain to the top-level field.
            let mut field = num;
            let mut signature = widget.get_name(b"FT") == Some(b"Sig");
            for _ in 0..MAX_CHAIN {
                let parent = self
                    .new_object(field)
                    .and_then(Object::as_dict)
                    .and_then(|d| d.get(b"Parent"))
                    .and_then(Object::as_ref);
                let Some(parent) = parent else { break };
                field = parent.num;
                if let Some(ft) = self
                    .new_object(field)
                    .and_then(Object::as_dict)
                    .and_then(|d| d.get_name(b"FT"))
                {
                    signature = ft == b"Sig";
                }
            }
            if !signature {
                return changed(format!(
                    "a widget added to page {page} is not a signature field's"
                ));
            }
            if !top_fields.contains(&field) {
                return changed(format!(
                    "a widget added to page {page} belongs to no form field"
                ));
            }
        }
        for num in &self.signature_values {
            let Some(value) = self.new_object(*num).and_then(Object::as_dict) else {
                return changed(format!("signature value {num} is not a dictionary"));
            };
            let typed = matches!(value.get_name(b"Type"), Some(b"Sig" | b"DocTimeStamp"));
            let shaped = value.get(b"ByteRange").is_some() && value.get(b"Contents").is_some();
            if !typed && !shaped {
                return changed(format!(
                    "signature value {num} is not a signature dictionary"
                ));
            }
        }
        Ok(())
    }

    /// New objects are used only by new objects and by allowed changes, and no reference of
    /// the signed revision led to them.
    fn check_new_objects(&self) -> Result<(), Stop> {
        for num in &self.new_ids {
            if let Some(user) = self
                .referrers_of(*num)
                .iter()
                .find(|r| !self.new_ids.contains(r) && !self.explained.contains(r))
            {
                return changed(format!(
                    "new object {num} is used by object {user} ({}) of the signed revision",
                    self.describe(*user)
                ));
            }
        }
        let mut dangling = None;
        for (num, item) in &self.old_items {
            item.object.walk(|o| {
                if let Some(r) = o.as_ref()
                    && self.new_ids.contains(&r.num)
                {
                    dangling = Some((*num, r.num));
                }
            });
        }
        for value in self.old.trailer().values() {
            if let Some(r) = value.as_ref()
                && self.new_ids.contains(&r.num)
            {
                dangling = Some((0, r.num));
            }
        }
        if let Some((from, to)) = dangling {
            return changed(format!(
                "a reference of the signed revision (in object {from}) that led nowhere now leads to new object {to}"
            ));
        }
        Ok(())
    }

    fn describe(&self, num: u32) -> String {
        let Some(item) = self.items.get(&num) else {
            return "deleted".into();
        };
        let kind = item
            .dict()
            .and_then(|d| d.get_name(b"Type").or_else(|| d.get_name(b"Subtype")))
            .map(|t| format!("/{}", String::from_utf8_lossy(t)));
        match (kind, item.stream.is_some()) {
            (Some(k), true) => format!("{k} stream"),
            (Some(k), false) => k,
            (None, true) => "a stream".into(),
            (None, false) => "an object".into(),
        }
    }
}

fn no_actions(dict: &Dict, num: u32) -> Result<(), Stop> {
    if dict.get(b"A").is_some() || dict.get(b"AA").is_some() {
        return changed(format!(
            "new signature field or widget {num} carries actions"
        ));
    }
    Ok(())
}

fn resolve<'o>(o: &'o Object, get: impl Fn(u32) -> Option<&'o Object>) -> Option<&'o Object> {
    let mut current = o;
    for _ in 0..MAX_CHAIN {
        match current {
            Object::Ref(r) => current = get(r.num)?,
            Object::Null => return None,
            other => return Some(other),
        }
    }
    None
}

/// Compares two lists (a form's fields, a page's annotations): the first entry of `old`
/// missing from `new`, and the entries of `new` not in `old`. References are compared by
/// number; direct entries (rare) one by one, so only a few are accepted.
fn list_diff<'l>(
    old: &'l [Object],
    new: &'l [Object],
) -> Result<(Option<&'l Object>, Vec<&'l Object>), Stop> {
    let direct = old
        .iter()
        .chain(new)
        .filter(|o| o.as_ref().is_none())
        .count();
    if direct > MAX_DIRECT_ENTRIES {
        return Err(Stop::Pdf(PdfError::TooLarge("direct entries in a list")));
    }
    let numbers = |list: &[Object]| -> HashSet<u32> {
        list.iter()
            .filter_map(|o| o.as_ref().map(|r| r.num))
            .collect()
    };
    let (old_refs, new_refs) = (numbers(old), numbers(new));
    let contains = |refs: &HashSet<u32>, list: &[Object], o: &Object| match o.as_ref() {
        Some(r) => refs.contains(&r.num),
        None => list
            .iter()
            .any(|x| x.as_ref().is_none() && same_object(x, o)),
    };
    let gone = old.iter().find(|o| !contains(&new_refs, new, o));
    let added = new
        .iter()
        .filter(|n| !contains(&old_refs, old, n))
        .collect();
    Ok((gone, added))
}

/// A short text for an object in a message.
fn show(o: &Object) -> String {
    match o {
        Object::Ref(r) => format!("object {}", r.num),
        Object::Dict(_) => "a direct dictionary".into(),
        Object::Array(_) => "an array".into(),
        _ => "a direct value".into(),
    }
}

/// Keys whose values differ between two dictionaries (present in one only, or different).
fn changed_keys(old: &Dict, new: &Dict) -> Vec<Vec<u8>> {
    let mut seen: HashSet<&[u8]> = HashSet::new();
    let mut keys: Vec<Vec<u8>> = Vec::new();
    for (key, _) in old.iter().chain(new.iter()) {
        if !seen.insert(key) {
            continue;
        }
        let same = match (old.get(key), new.get(key)) {
            (Some(a), Some(b)) => same_object(a, b),
            (None, None) => true,
            _ => false,
        };
        if !same {
            keys.push(key.to_vec());
        }
    }
    keys
}

/// The keys not allowed, as `/A /B` (empty when all are allowed).
fn not_in(keys: &[Vec<u8>], allowed: &[&[u8]]) -> String {
    keys.iter()
        .filter(|k| !allowed.contains(&k.as_slice()))
        .map(|k| format!("/{}", String::from_utf8_lossy(k)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Equality of values, dictionaries compared whatever their keys' order. Iterative.
fn same_object(a: &Object, b: &Object) -> bool {
    let mut stack = vec![(a, b)];
    while let Some((a, b)) = stack.pop() {
        match (a, b) {
            (Object::Array(x), Object::Array(y)) => {
                if x.len() != y.len() {
                    return false;
                }
                stack.extend(x.iter().zip(y.iter()));
            }
            (Object::Dict(x), Object::Dict(y)) => {
                let xs = dict_map(x);
                let ys = dict_map(y);
                if xs.len() != ys.len() {
                    return false;
                }
                for (key, value) in &xs {
                    match ys.get(key) {
                        Some(other) => stack.push((value, other)),
                        None => return false,
                    }
                }
            }
            (Object::Ref(x), Object::Ref(y)) => {
                if x.num != y.num {
                    return false;
                }
            }
            (Object::Int(x), Object::Real(y)) | (Object::Real(y), Object::Int(x)) => {
                if (*x as f64) != *y {
                    return false;
                }
            }
            (x, y) => {
                if x != y {
                    return false;
                }
            }
        }
    }
    true
}

/// A dictionary's entries by key (the last of duplicate keys wins, as in lookups).
fn dict_map(d: &Dict) -> HashMap<&[u8], &Object> {
    d.iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dict(entries: &[(&str, Object)]) -> Dict {
        entries
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.clone()))
            .collect()
    }

    #[test]
    fn dictionaries_compare_whatever_the_order() {
        let a = dict(&[("A", Object::Int(1)), ("B", Object::Real(2.0))]);
        let b = dict(&[("B", Object::Int(2)), ("A", Object::Int(1))]);
        assert!(same_object(&Object::Dict(a.clone()), &Object::Dict(b)));
        let c = dict(&[("A", Object::Int(1))]);
        assert!(!same_object(
            &Object::Dict(a.clone()),
            &Object::Dict(c.clone())
        ));
        assert_eq!(changed_keys(&a, &c), vec![b"B".to_vec()]);
        assert_eq!(not_in(&changed_keys(&a, &c), &[b"B"]), "");
        assert_eq!(not_in(&changed_keys(&a, &c), &[b"A"]), "/B");
    }

    #[test]
    fn deep_values_compare_without_recursion() {
        let mut a = Object::Int(0);
        for _ in 0..100_000 {
            a = Object::Array(vec![a]);
        }
        assert!(same_object(&a, &a));
        // Dropping a deep value recurses in std; leak it instead of risking the test stack.
        std::mem::forget(a);
    }

    #[test]
    fn reference_chains_end() {
        let objects: HashMap<u32, Object> = [
            (1, Object::Ref(ObjRef::new(2, 0))),
            (2, Object::Ref(ObjRef::new(1, 0))),
        ]
        .into_iter()
        .collect();
        let start = Object::Ref(ObjRef::new(1, 0));
        assert!(resolve(&start, |n| objects.get(&n)).is_none());
    }
}
