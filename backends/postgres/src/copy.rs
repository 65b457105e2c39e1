//! `COPY ... TO STDOUT (FORMAT binary)` output cut into rows. The server
//! sends CopyData messages of any size; rows may span them, so bytes are
//! buffered until a row is whole. Field values are in the same binary
//! formats as in query results.

use std::ops::Range;

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

pub struct CopyRows<C> {
    /// The unread bytes of earlier chunks, when a row spans chunks.
    buf: Vec<u8>,
    /// The last chunk, read where it is while no row spans beyond it: a
    /// row of one big value (one chunk) is never copied.
    chunk: Option<C>,
    /// Where the next unread row starts in [`CopyRows::bytes`].
    pos: usize,
    header_read: bool,
    ended: bool,
}

/// Where each field of one row lies in [`CopyRows::bytes`]; `None` is NULL.
pub type Fields = Vec<Option<Range<usize>>>;

/// A spent row buffer bigger than this is freed, not kept.
const KEEP_BYTES: usize = 1 << 20;

impl<C> Default for CopyRows<C> {
    fn default() -> Self {
        CopyRows {
            buf: Vec::new(),
            chunk: None,
            pos: 0,
            header_read: false,
            ended: false,
        }
    }
}

impl<C: AsRef<[u8]>> CopyRows<C> {
    pub fn push(&mut self, chunk: C) {
        if let Some(last) = self.chunk.take() {
            let rest = &last.as_ref()[self.pos.min(last.as_ref().len())..];
            self.pos = 0;
            if rest.is_empty() {
                self.chunk = Some(chunk);
            } else {
                // A row goes on in this chunk: both into the buffer.
                self.buf.clear();
                self.buf.extend_from_slice(rest);
                self.buf.extend_from_slice(chunk.as_ref());
            }
            return;
        }
        if self.pos == self.buf.len() {
            if self.buf.capacity() > KEEP_BYTES {
                self.buf = Vec::new();
            }
            self.buf.clear();
            self.pos = 0;
            self.chunk = Some(chunk);
            return;
        } else if self.pos > self.buf.len() / 2 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(chunk.as_ref());
    }

    /// Lets go of the last chunk once every row of it was read: a row's
    /// message is freed before its batch is handed on.
    pub fn release_spent(&mut self) {
        if self
            .chunk
            .as_ref()
            .is_some_and(|c| self.pos >= c.as_ref().len())
        {
            self.chunk = None;
            self.buf.clear();
            self.pos = 0;
        }
    }

    pub fn bytes(&self) -> &[u8] {
        match &self.chunk {
            Some(c) => c.as_ref(),
            None => &self.buf,
        }
    }

    /// Fills `fields` with the next whole row: Ok(false) when more bytes
    /// are needed or the end marker was read.
    pub fn next_row(&mut self, fields: &mut Fields) -> Result<bool, String> {
        if self.ended {
            return Ok(false);
        }
        if !self.header_read {
            let Some(after) = self.header_end()? else {
                return Ok(false);
            };
            self.pos = after;
            self.header_read = true;
        }
        let mut at = self.pos;
        let Some(count) = self.read_i16(&mut at) else {
            return Ok(false);
        };
        if count == -1 {
            self.ended = true;
            self.pos = at;
            return Ok(false);
        }
        let count = usize::try_from(count).map_err(|_| format!("field count {count} in a row"))?;
        fields.clear();
        for _ in 0..count {
            let Some(len) = self.read_i32(&mut at) else {
                return Ok(false);
            };
            if len == -1 {
                fields.push(None);
                continue;
            }
            let len = usize::try_from(len).map_err(|_| format!("field length {len}"))?;
            if self.bytes().len() - at < len {
                return Ok(false);
            }
            fields.push(Some(at..at + len));
            at += len;
        }
        self.pos = at;
        Ok(true)
    }

    /// The stream ended: it must have ended with the end marker.
    pub fn finish(&self) -> Result<(), String> {
        match (self.ended, self.bytes().len() - self.pos) {
            (true, 0) => Ok(()),
            (true, n) => Err(format!("{n} bytes after the end of the COPY data")),
            (false, _) => Err("the COPY data ended in the middle of a row".into()),
        }
    }

    fn header_end(&self) -> Result<Option<usize>, String> {
        let b = &self.bytes()[self.pos..];
        if b.len() < SIGNATURE.len() + 8 {
            return Ok(None);
        }
        if &b[..SIGNATURE.len()] != SIGNATURE {
            return Err("COPY data without the binary signature".into());
        }
        let mut at = self.pos + SIGNATURE.len() + 4; // past the flags
        let ext = self.read_i32(&mut at).unwrap_or(0);
        let ext = usize::try_from(ext).map_err(|_| format!("header extension length {ext}"))?;
        Ok((self.bytes().len() - at >= ext).then_some(at + ext))
    }

    fn read_i16(&self, at: &mut usize) -> Option<i16> {
        let b = self.bytes().get(*at..*at + 2)?;
        *at += 2;
        Some(i16::from_be_bytes([b[0], b[1]]))
    }

    fn read_i32(&self, at: &mut usize) -> Option<i32> {
        let b = self.bytes().get(*at..*at + 4)?;
        *at += 4;
        Some(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(rows: &[&[Option<&[u8]>]]) -> Vec<u8> {
        let mut s = SIGNATURE.to_vec();
        s.extend(0i32.to_be_bytes());
        s.extend(3i32.to_be_bytes());
        s.extend(b"ext");
        for row in rows {
            s.extend((row.len() as i16).to_be_bytes());
            for f in *row {
                match f {
                    None => s.extend((-1i32).to_be_bytes()),
                    Some(v) => {
                        s.extend((v.len() as i32).to_be_bytes());
                        s.extend(*v);
                    }
                }
            }
        }
        s.extend((-1i16).to_be_bytes());
        s
    }

    fn read_all(data: &[u8], chunk: usize) -> Result<Vec<Vec<Option<Vec<u8>>>>, String> {
        let mut c = CopyRows::<&[u8]>::default();
        let mut rows = Vec::new();
        let mut fields = Fields::new();
        for part in data.chunks(chunk) {
            c.push(part);
            while c.next_row(&mut fields)? {
                let b = c.bytes();
                rows.push(
                    fields
                        .iter()
                        .map(|f| f.clone().map(|r| b[r].to_vec()))
                        .collect(),
                );
                // As the source does before handing a batch on.
                c.release_spent();
            }
        }
        c.finish()?;
        Ok(rows)
    }

    #[test]
    fn rows_across_any_chunking() {
        let rows: &[&[Option<&[u8]>]] = &[
            &[Some(b"1"), None, Some(b"")],
            &[Some(b"22"), Some(b"hello world"), None],
            &[],
        ];
        let data = stream(rows);
        let want: Vec<Vec<Option<Vec<u8>>>> = rows
            .iter()
            .map(|r| r.iter().map(|f| f.map(<[u8]>::to_vec)).collect())
            .collect();
        for chunk in 1..=data.len() {
            assert_eq!(read_all(&data, chunk).as_ref(), Ok(&want), "chunk {chunk}");
        }
    }

    #[test]
    fn truncated_and_foreign_data_are_errors() {
        let data = stream(&[&[Some(b"abc")]]);
        let e = read_all(&data[..data.len() - 3], 7).unwrap_err();
        assert!(e.contains("middle of a row"), "{e}");
        let mut extra = data.clone();
        extra.push(0);
        assert!(read_all(&extra, 5).unwrap_err().contains("1 bytes after"));
        let e = read_all(b"COPY 1\n0123456789abcdef", 4).unwrap_err();
        assert!(e.contains("signature"), "{e}");
    }
}
