//! Varint and slice readers, and posting-list decoding.

use crate::{IndexError, N_FIELDS};

/// A bounds-checked cursor over a byte slice.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    section: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8], section: &'static str) -> Reader<'a> {
        Reader {
            bytes,
            pos: 0,
            section,
        }
    }
    fn corrupt(&self) -> IndexError {
        IndexError::Corrupt {
            section: self.section,
        }
    }
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }
    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], IndexError> {
        let end = self.pos.checked_add(n).ok_or_else(|| self.corrupt())?;
        let s = self
            .bytes
            .get(self.pos..end)
            .ok_or_else(|| self.corrupt())?;
        self.pos = end;
        Ok(s)
    }
    pub(crate) fn u8(&mut self) -> Result<u8, IndexError> {
        Ok(self.bytes(1)?[0])
    }
    pub(crate) fn u16(&mut self) -> Result<u16, IndexError> {
        let b = self.bytes(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    pub(crate) fn u32(&mut self) -> Result<u32, IndexError> {
        let b = self.bytes(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    #[cfg(feature = "chunked")]
    pub(crate) fn u64(&mut self) -> Result<u64, IndexError> {
        // Two u32s, not `try_into().expect(..)`: its panic path formats `TryFromSliceError`
        // with Debug, which cost the widget ~0.5 KB of formatting code.
        let low = self.u32()?;
        Ok(u64::from(low) | u64::from(self.u32()?) << 32)
    }
    pub(crate) fn varint(&mut self) -> Result<u64, IndexError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.corrupt())
    }
    pub(crate) fn str(&mut self, n: usize) -> Result<&'a str, IndexError> {
        let b = self.bytes(n)?;
        std::str::from_utf8(b).map_err(|_| self.corrupt())
    }
    pub(crate) fn string(&mut self) -> Result<&'a str, IndexError> {
        let n = self.varint()? as usize;
        self.str(n)
    }
}

/// Appends a LEB128 varint.
#[cfg(feature = "builder")]
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// One document in a posting list, with its term frequency per field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posting {
    /// Document number.
    pub doc: u32,
    /// Term frequency per field, in [`crate::Field`] order.
    pub tf: [u32; N_FIELDS],
}

/// Term-frequency vectors that have a one-byte code, most frequent first (stored per index).
pub(crate) type TfTable = [[u32; N_FIELDS]];

/// A lazily decoded posting list (documents in increasing order).
pub struct Postings<'a> {
    table: &'a TfTable,
    docs: Reader<'a>,
    codes: Reader<'a>,
    remaining: u64,
    doc: u32,
    len: u64,
}

impl<'a> Postings<'a> {
    /// A list whose document part starts `docs` and whose code part starts `codes`.
    pub(crate) fn new(
        docs: &'a [u8],
        codes: &'a [u8],
        table: &'a TfTable,
    ) -> Result<Postings<'a>, IndexError> {
        let mut docs = Reader::new(docs, "postings");
        let len = docs.varint()?;
        Ok(Postings {
            table,
            docs,
            codes: Reader::new(codes, "postings"),
            remaining: len,
            doc: 0,
            len,
        })
    }
    /// Number of documents in the list (the document frequency).
    pub fn doc_freq(&self) -> u64 {
        self.len
    }
    fn decode(&mut self) -> Result<Posting, IndexError> {
        self.doc += self.docs.varint()? as u32;
        let code = self.codes.u8()?;
        if code < ESCAPE {
            let tf = *self
                .table
                .get(usize::from(code))
                .ok_or(IndexError::Corrupt {
                    section: "postings",
                })?;
            return Ok(Posting { doc: self.doc, tf });
        }
        let mut tf = [0u32; N_FIELDS];
        for (f, slot) in tf.iter_mut().enumerate() {
            if (code - ESCAPE) & (1 << f) != 0 {
                *slot = self.codes.varint()? as u32 + 1;
            }
        }
        Ok(Posting { doc: self.doc, tf })
    }
}

/// Start offsets of every list in the two streams, in list order (one pass over both).
pub(crate) fn list_offsets(docs: &[u8], codes: &[u8]) -> Result<Vec<(u32, u32)>, IndexError> {
    let corrupt = || IndexError::Corrupt {
        section: "postings",
    };
    let mut out = Vec::new();
    let (mut d, mut c) = (0usize, 0usize);
    let varint_end = |b: &[u8], mut at: usize| -> Result<usize, IndexError> {
        loop {
            let x = *b.get(at).ok_or_else(corrupt)?;
            at += 1;
            if x < 0x80 {
                return Ok(at);
            }
        }
    };
    while d < docs.len() {
        out.push((
            u32::try_from(d).map_err(|_| corrupt())?,
            u32::try_from(c).map_err(|_| corrupt())?,
        ));
        let mut r = Reader::new(&docs[d..], "postings");
        let n = r.varint()?;
        d += r.pos();
        for _ in 0..n {
            d = varint_end(docs, d)?;
            let code = *codes.get(c).ok_or_else(corrupt)?;
            c += 1;
            if code >= ESCAPE {
                for _ in 0..(code - ESCAPE).count_ones() {
                    c = varint_end(codes, c)?;
                }
            }
        }
    }
    if c != codes.len() {
        return Err(corrupt());
    }
    Ok(out)
}

/// Codes from here on carry a field mask and then one varint tf per field; codes below it index
/// the per-index table of common term-frequency vectors.
pub(crate) const ESCAPE: u8 = (256 - (1 << N_FIELDS)) as u8;

impl Iterator for Postings<'_> {
    type Item = Result<Posting, IndexError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let p = self.decode();
        if p.is_err() {
            self.remaining = 0;
        }
        Some(p)
    }
}

/// Encodes one posting list into two streams: document count and gaps into `docs`, one code per
/// document into `codes` (alike bytes together compress better). `postings` must be sorted by
/// document; `table` maps the common term-frequency vectors to their one-byte codes.
#[cfg(feature = "builder")]
pub(crate) fn encode_postings(
    docs: &mut Vec<u8>,
    codes: &mut Vec<u8>,
    postings: &[Posting],
    table: &std::collections::BTreeMap<[u32; N_FIELDS], u8>,
) {
    put_varint(docs, postings.len() as u64);
    let mut prev = 0u32;
    for p in postings {
        put_varint(docs, u64::from(p.doc - prev));
        prev = p.doc;
        if let Some(&code) = table.get(&p.tf) {
            codes.push(code);
            continue;
        }
        let present: Vec<usize> = (0..N_FIELDS).filter(|&f| p.tf[f] > 0).collect();
        let mask: u8 = present.iter().map(|&f| 1u8 << f).sum();
        codes.push(ESCAPE + mask);
        for &f in &present {
            put_varint(codes, u64::from(p.tf[f] - 1));
        }
    }
}
