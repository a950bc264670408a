//! The page tree, walked without recursion: every node once (a node seen twice is a loop),
//! levels and pages bounded, inherited attributes carried down.

use std::collections::HashSet;
use std::io::{Read, Seek};
use std::rc::Rc;

use super::object::{Dict, ObjRef, Object};
use super::{PdfReader, ReadError, Stream};

/// A page, with the attributes it inherits from the page tree.
#[derive(Debug, Clone)]
pub struct Page {
    pub id: ObjRef,
    /// The page's own dictionary.
    pub dict: Dict,
    pub resources: Option<Rc<Object>>,
    pub media_box: Option<Rc<Object>>,
    pub crop_box: Option<Rc<Object>>,
    pub rotate: Option<Rc<Object>>,
}

#[derive(Debug, Clone, Default)]
struct Inherited {
    resources: Option<Rc<Object>>,
    media_box: Option<Rc<Object>>,
    crop_box: Option<Rc<Object>>,
    rotate: Option<Rc<Object>>,
}

impl Inherited {
    fn with(&self, d: &Dict) -> Self {
        let take = |key: &[u8], old: &Option<Rc<Object>>| {
            d.get(key)
                .map(|v| Rc::new(v.clone()))
                .or_else(|| old.clone())
        };
        Self {
            resources: take(b"Resources", &self.resources),
            media_box: take(b"MediaBox", &self.media_box),
            crop_box: take(b"CropBox", &self.crop_box),
            rotate: take(b"Rotate", &self.rotate),
        }
    }
}

impl<R: Read + Seek> PdfReader<R> {
    /// The pages in order.
    pub fn pages(&mut self) -> Result<Vec<Page>, ReadError> {
        let catalog = self.catalog()?;
        let Some(Object::Ref(root)) = catalog.get(b"Pages").cloned() else {
            return Err(ReadError::Malformed(
                "the catalog has no /Pages reference".into(),
            ));
        };
        let max_depth = self.limits.max_depth;
        let max_pages = self.limits.max_pages;
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut stack = vec![(root, Inherited::default(), 0usize)];
        while let Some((id, inherited, depth)) = stack.pop() {
            self.tick()?;
            if !seen.insert(id) {
                return Err(ReadError::ReferenceLoop(id));
            }
            if depth > max_depth {
                return Err(ReadError::TooDeep(max_depth));
            }
            let Some(dict) = self.resolve_dict(&Object::Ref(id))? else {
                return Err(ReadError::Malformed(format!(
                    "page tree node {id} is not a dictionary"
                )));
            };
            let inherited = inherited.with(&dict);
            let kids = dict.get(b"Kids").cloned();
            let node = dict.is_type(b"Pages") || (!dict.is_type(b"Page") && kids.is_some());
            if node {
                let kids = match kids {
                    Some(k) => self.resolve(&k)?,
                    None => Object::Array(Vec::new()),
                };
                let Object::Array(kids) = kids else {
                    return Err(ReadError::Malformed(format!(
                        "/Kids of {id} is not an array"
                    )));
                };
                if kids.len() > max_pages || stack.len() + kids.len() > max_pages {
                    return Err(ReadError::TooLarge("page count"));
                }
                for kid in kids.iter().rev() {
                    if let Object::Ref(r) = kid {
                        stack.push((*r, inherited.clone(), depth + 1));
                    }
                }
            } else {
                if out.len() >= max_pages {
                    return Err(ReadError::TooLarge("page count"));
                }
                out.push(Page {
                    id,
                    dict,
                    resources: inherited.resources,
                    media_box: inherited.media_box,
                    crop_box: inherited.crop_box,
                    rotate: inherited.rotate,
                });
            }
        }
        Ok(out)
    }

    /// The page's content streams, decoded and joined (at most `max_stream_bytes` in all).
    pub fn page_contents(&mut self, page: &Page) -> Result<Vec<u8>, ReadError> {
        let refs = match page.dict.get(b"Contents") {
            None => Vec::new(),
            Some(o @ Object::Ref(_)) => match self.stream(o)? {
                Some(s) => vec![s],
                None => match self.resolve(o)? {
                    Object::Array(a) => self.streams_of(&a)?,
                    _ => Vec::new(),
                },
            },
            Some(Object::Array(a)) => self.streams_of(&a.clone())?,
            Some(_) => Vec::new(),
        };
        let mut out = Vec::new();
        for s in refs {
            let data = self.stream_data(&s)?;
            if out.len() + data.len() > self.limits.max_stream_bytes {
                return Err(ReadError::TooLarge("page content"));
            }
            out.extend_from_slice(&data);
            out.push(b'\n');
        }
        Ok(out)
    }

    fn streams_of(&mut self, items: &[Object]) -> Result<Vec<Stream>, ReadError> {
        let mut out = Vec::new();
        for item in items {
            if let Some(s) = self.stream(item)? {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// The XObjects named in the page's resources: `(name, stream)`; images have
    /// `/Subtype /Image`.
    pub fn page_xobjects(&mut self, page: &Page) -> Result<Vec<(Vec<u8>, Stream)>, ReadError> {
        let Some(resources) = &page.resources else {
            return Ok(Vec::new());
        };
        let Some(resources) = self.resolve_dict(resources)? else {
            return Ok(Vec::new());
        };
        let Some(xobjects) = resources.get(b"XObject").cloned() else {
            return Ok(Vec::new());
        };
        let Some(xobjects) = self.resolve_dict(&xobjects)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for (name, value) in xobjects.iter() {
            if let Some(s) = self.stream(value)? {
                out.push((name.to_vec(), s));
            }
        }
        Ok(out)
    }
}
