//! Pages of a deposited PDF copied into the dossier: each page's boxes, rotation, resources and
//! content, with every object they reach, renumbered; stream data copied in chunks. Nothing else
//! comes along: no annotations, links, form fields, actions, outlines or document JavaScript,
//! and a reference that leads back into the page tree is written `null`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{Read, Seek, Write};

use super::write::{Appender, serialize};
use crate::PdfError;
use crate::reader::{Indirect, ObjRef, Object, PdfReader, ReadError};

/// The page attributes kept.
const KEPT: [&[u8]; 5] = [
    b"MediaBox",
    b"CropBox",
    b"Rotate",
    b"Resources",
    b"Contents",
];
const ALSO_KEPT: [&[u8]; 2] = [b"Group", b"UserUnit"];

/// What to copy: pages (their kept attributes) and the objects they reach, in order.
#[derive(Debug)]
pub(crate) struct Plan {
    pages: Vec<Vec<(&'static [u8], Object)>>,
    objects: Vec<ObjRef>,
    index: HashMap<ObjRef, usize>,
}

impl Plan {
    pub(crate) fn pages(&self) -> usize {
        self.pages.len()
    }
}

fn refs_in(o: &Object, skip_length: bool, out: &mut VecDeque<ObjRef>) {
    if let (true, Object::Dict(d)) = (skip_length, o) {
        for (k, v) in d.iter() {
            if k != b"Length" {
                v.walk(|x| out.extend(x.as_ref()));
            }
        }
        return;
    }
    o.walk(|x| out.extend(x.as_ref()));
}

/// Reads the page tree and gathers what each page needs.
pub(crate) fn plan<R: Read + Seek>(reader: &mut PdfReader<R>) -> Result<Plan, ReadError> {
    if reader.is_encrypted() {
        return Err(ReadError::Unsupported("the file is encrypted".into()));
    }
    let pages = reader.pages()?;
    if pages.is_empty() {
        return Err(ReadError::Malformed("the file has no page".into()));
    }
    let tree: HashSet<ObjRef> = pages.iter().map(|p| p.id).collect();
    let mut queue = VecDeque::new();
    let mut kept_pages = Vec::with_capacity(pages.len());
    for page in &pages {
        let inherited = |v: &Option<std::rc::Rc<Object>>| v.as_deref().cloned();
        let mut attrs: Vec<(&'static [u8], Object)> = Vec::new();
        let values = [
            inherited(&page.media_box),
            inherited(&page.crop_box),
            inherited(&page.rotate),
            inherited(&page.resources),
            page.dict.get(b"Contents").cloned(),
        ];
        for (key, value) in KEPT.iter().zip(values) {
            if let Some(v) = value {
                attrs.push((key, v));
            }
        }
        for key in ALSO_KEPT {
            if let Some(v) = page.dict.get(key) {
                attrs.push((key, v.clone()));
            }
        }
        for (_, v) in &attrs {
            refs_in(v, false, &mut queue);
        }
        kept_pages.push(attrs);
    }
    let mut objects = Vec::new();
    let mut index = HashMap::new();
    let mut skipped = HashSet::new();
    let max = reader.limits().max_objects;
    while let Some(r) = queue.pop_front() {
        if index.contains_key(&r) || skipped.contains(&r) {
            continue;
        }
        let (object, is_stream) = match reader.object(r)? {
            Indirect::Plain(o) => (o, false),
            Indirect::Stream(s) => (Object::Dict(s.dict), true),
        };
        let in_tree = tree.contains(&r)
            || object
                .as_dict()
                .is_some_and(|d| d.is_type(b"Page") || d.is_type(b"Pages"));
        if in_tree {
            skipped.insert(r);
            continue;
        }
        if objects.len() >= max {
            return Err(ReadError::TooManyObjects(max));
        }
        index.insert(r, objects.len());
        objects.push(r);
        refs_in(&object, is_stream, &mut queue);
    }
    Ok(Plan {
        pages: kept_pages,
        objects,
        index,
    })
}

/// Copies the planned objects and writes the pages under `parent`; returns the pages' numbers.
pub(crate) fn write<R: Read + Seek, W: Write>(
    reader: &mut PdfReader<R>,
    plan: &Plan,
    a: &mut Appender<W>,
    parent: u32,
) -> Result<Vec<u32>, PdfError> {
    let read = |e: ReadError| PdfError::Malformed(e.to_string());
    let io = |e: std::io::Error| PdfError::Io(e.to_string());
    let base = a.next_number();
    for _ in &plan.objects {
        a.alloc();
    }
    let map = |r: ObjRef| {
        plan.index
            .get(&r)
            .and_then(|i| u32::try_from(*i).ok())
            .map(|i| base + i)
    };
    let mut buf = Vec::new();
    for (i, r) in plan.objects.iter().enumerate() {
        let num = base + u32::try_from(i).map_err(|_| PdfError::TooLarge("objects"))?;
        buf.clear();
        match reader.object(*r).map_err(read)? {
            Indirect::Plain(o) => {
                serialize(&mut buf, &o, &map);
                a.object(num, &buf).map_err(io)?;
            }
            Indirect::Stream(s) => {
                for (k, v) in s.dict.iter() {
                    if k != b"Length" {
                        crate::syntax::write_name(&mut buf, k);
                        buf.push(b' ');
                        serialize(&mut buf, v, &map);
                        buf.push(b'\n');
                    }
                }
                let len = reader.stream_len(&s).map_err(read)?;
                let started = a.begin_stream(num, &buf, Some(len)).map_err(io)?;
                reader.copy_stream(&s, a).map_err(read)?;
                a.end_stream(started).map_err(io)?;
            }
        }
    }
    let mut ids = Vec::with_capacity(plan.pages.len());
    for attrs in &plan.pages {
        buf.clear();
        buf.extend_from_slice(format!("<</Type /Page /Parent {parent} 0 R").as_bytes());
        let has = |key: &[u8]| attrs.iter().any(|(k, _)| *k == key);
        if !has(b"MediaBox") {
            buf.extend_from_slice(b" /MediaBox [0 0 612 792]");
        }
        if !has(b"Resources") {
            buf.extend_from_slice(b" /Resources <<>>");
        }
        for (k, v) in attrs {
            buf.push(b' ');
            crate::syntax::write_name(&mut buf, k);
            buf.push(b' ');
            serialize(&mut buf, v, &map);
        }
        buf.extend_from_slice(b">>");
        let id = a.alloc();
        a.object(id, &buf).map_err(io)?;
        ids.push(id);
    }
    Ok(ids)
}
