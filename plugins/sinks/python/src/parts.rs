//! A table's data files, written as its rows come, before its row count
//! is known: the count is read only where it decides an order (a
//! foreign-key cycle), and the source's estimate may be wrong.
//!
//! A part holds `--max-row-count` rows, whatever the count: only the
//! headers (`Loading N objects (part i of k)`) and the file names (`T.py`
//! or `T_i.py`) depend on it. Each part is written under a header from the
//! guess, then paused ([`HashedFile::pause`]); when the table ends, each
//! part gets its true header and name ([`Paused::finish`]): a right guess
//! costs nothing, a header of the same length is written over the guessed
//! one, another moves the part's rows.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use dump2py_django::Model;
use dump2py_model::error::{Error, Result};
use dump2py_py::repr;
use dump2py_staging::{FileDigest, HashedFile, Paused};

use crate::names;

/// The files of the table being written.
pub(crate) struct TableWriter {
    /// Where the files go, and their stem.
    dir: PathBuf,
    stem: String,
    /// The rows the source expected: the guess headers are written with.
    expected: u64,
    max_rows: u64,
    /// Rows written so far, and into the current part.
    rows: u64,
    part_rows: u64,
    /// The current part (1-based), and its file.
    part: u64,
    out: Option<(HashedFile, Vec<u8>)>,
    /// The parts written, in order, waiting for their headers.
    paused: Vec<Paused>,
    /// Each part gzip-compressed once its header is known (`NAME.py.gz`).
    gzip: bool,
}

/// The lines before a data file's rows.
pub(crate) fn header(model: &Model, rows: u64, parts: u64, part: u64) -> String {
    // Lino's lines; the table's name inside a string literal, the field
    // names in a comment that no name can end.
    let mut message = format!("Loading {rows} objects");
    if parts > 1 {
        message.push_str(&format!(" (part {part} of {parts})"));
    }
    message.push_str(&format!(" to table {}...", model.table.name));
    let mut head = String::from("# -*- coding: UTF-8 -*-\nlogger.info(");
    repr::write_str_quoted(&mut head, &message, b'"');
    head.push_str(")\n# fields: ");
    for (i, f) in model.fields.iter().enumerate() {
        if i > 0 {
            head.push_str(", ");
        }
        names::write_comment_name(&mut head, &f.name);
    }
    head.push('\n');
    head
}

/// Ends a paused part as `to` compressed: its true head and its rows,
/// through gzip into a new hashed file; the plain part is removed.
fn gzip_part(p: &Paused, head: &[u8], to: &Path) -> std::io::Result<FileDigest> {
    use std::io::{Read, Seek, SeekFrom};
    let plain = p.path().to_path_buf();
    let mut from = std::fs::File::open(&plain)?;
    // What was written first, to be replaced by `head`.
    from.seek(SeekFrom::Start(p.head_len() as u64))?;
    let file = HashedFile::create(to)?;
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::new(3));
    gz.write_all(head)?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = from.read(&mut buf)?;
        if n == 0 {
            break;
        }
        gz.write_all(&buf[..n])?;
    }
    let digest = gz.finish()?.finish()?;
    std::fs::remove_file(&plain)?;
    Ok(digest)
}

/// The parts of a table of `rows` rows: Lino writes count // N + 1; ours
/// has no empty trailing part.
pub(crate) fn parts_of(rows: u64, max_rows: u64) -> u64 {
    rows.div_ceil(max_rows).max(1)
}

impl TableWriter {
    pub fn new(dir: &Path, stem: String, expected: u64, max_rows: u64, gzip: bool) -> TableWriter {
        TableWriter {
            dir: dir.to_path_buf(),
            stem,
            expected,
            max_rows,
            rows: 0,
            part_rows: 0,
            part: 0,
            out: None,
            paused: Vec::new(),
            gzip,
        }
    }

    /// The rows and parts part `part` is started with: the guess, or as
    /// many as there are at least.
    fn guess(&self, part: u64) -> (u64, u64) {
        let rows = self.expected.max((part - 1) * self.max_rows + 1);
        let parts = parts_of(self.expected, self.max_rows).max(part);
        (rows, parts)
    }

    /// Opens the next part and writes its header.
    pub fn open_part(&mut self, model: &Model) -> Result<()> {
        let part = self.part + 1;
        let (rows, parts) = match part {
            // The first part's header as the source expected.
            1 => (self.expected, parts_of(self.expected, self.max_rows)),
            _ => self.guess(part),
        };
        let path = (self.dir).join(names::file_name(&self.stem, parts, part));
        let mut out = HashedFile::create(&path).map_err(|e| Error::io(&path, e))?;
        let head = header(model, rows, parts, part).into_bytes();
        out.write_all(&head).map_err(|e| Error::io(&path, e))?;
        self.out = Some((out, head));
        self.part = part;
        self.part_rows = 0;
        Ok(())
    }

    /// Ends the current part: the last one flushes Lino's deferred objects.
    fn pause(&mut self, last: bool) -> Result<()> {
        let Some((mut out, head)) = self.out.take() else {
            return Ok(());
        };
        let tail: &[u8] = if last {
            b"\nloader.flush_deferred_objects()\n"
        } else {
            b"\n"
        };
        let path = out.path().to_path_buf();
        let paused = (out.write_all(tail))
            .and_then(|()| out.pause(head))
            .map_err(|e| Error::io(&path, e))?;
        self.paused.push(paused);
        Ok(())
    }

    /// Writes one row line (ending in a newline), moving on to the next
    /// part when the current one is full.
    pub fn emit_line(&mut self, model: &Model, line: &[u8]) -> Result<()> {
        if self.part_rows >= self.max_rows {
            self.pause(false)?;
            self.open_part(model)?;
        }
        if let Some((out, _)) = self.out.as_mut() {
            if let Err(e) = out.write_all(line) {
                return Err(Error::io(out.path().to_path_buf(), e));
            }
        }
        self.rows += 1;
        self.part_rows += 1;
        Ok(())
    }

    /// Ends the table: each part gets its header and name (and is
    /// compressed, with `gzip`). Returns the file names, in order, and
    /// their digests.
    pub fn finish(mut self, model: &Model) -> Result<(Vec<String>, Vec<FileDigest>)> {
        self.pause(true)?;
        let parts = parts_of(self.rows, self.max_rows);
        let paused = std::mem::take(&mut self.paused);
        let gz = if self.gzip { ".gz" } else { "" };
        let names: Vec<String> = (1..=parts)
            .map(|part| names::file_name(&self.stem, parts, part) + gz)
            .collect();
        // Parts hashed again are hashed on every core (the reader waits).
        if names.len() != paused.len() {
            return Err(Error::table(
                &model.table.name,
                format!("{} rows in {} parts", self.rows, paused.len()),
            ));
        }
        let next = AtomicUsize::new(0);
        let digests = std::sync::Mutex::new(Vec::new());
        let gzip = self.gzip;
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let (dir, rows, paused, names, next, digests) =
            (&self.dir, self.rows, &paused, &names, &next, &digests);
        let finish = move || -> Result<()> {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let (Some(p), Some(name)) = (paused.get(i), names.get(i)) else {
                    return Ok(());
                };
                let to = dir.join(name);
                let head = header(model, rows, parts, i as u64 + 1);
                let digest = match gzip {
                    false => p.finish(head.as_bytes(), &to),
                    true => gzip_part(p, head.as_bytes(), &to),
                }
                .map_err(|e| Error::io(&to, e))?;
                digests
                    .lock()
                    .map_err(|_| Error::Internal("poisoned".into()))?
                    .push(digest);
            }
        };
        std::thread::scope(|scope| {
            let others: Vec<_> = (1..threads.min(paused.len()))
                .map(|_| scope.spawn(finish))
                .collect();
            let mine = finish();
            (others.into_iter())
                .map(|t| {
                    t.join()
                        .unwrap_or_else(|_| Err(Error::Usage("a thread panicked".into())))
                })
                .fold(mine, Result::and)
        })?;
        let digests = (digests.lock())
            .map_err(|_| Error::Internal("poisoned".into()))?
            .split_off(0);
        Ok((names.clone(), digests))
    }

    /// The files written so far, for a table that is skipped.
    pub fn files(&self) -> Vec<PathBuf> {
        let current = self.out.as_ref().map(|(out, _)| out.path().to_path_buf());
        (self.paused.iter().map(|p| p.path().to_path_buf()))
            .chain(current)
            .collect()
    }
}
