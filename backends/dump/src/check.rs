//! A dump checked against its manifest: the files it must hold (and no
//! other), their sizes, and each file's SHA-256 as it is read
//! ([`Hashing`]); a dump of Lino's own dump2py has no manifest
//! ([`lino_manifest`]).

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;

use dump2py_model::error::{Error, Result};
use dump2py_staging::{Manifest, FORMAT_DIR, MANIFEST};
use sha2::{Digest, Sha256};

pub(crate) fn damaged(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::Connect(format!("{}: {why}", path.display()))
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub(crate) fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A manifest for a dump of Lino's dump2py, which writes none: its
/// Python files as they are (no checksum to compare, no rows to count).
pub(crate) fn lino_manifest(dir: &Path) -> Result<Manifest> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let e = e.map_err(|e| Error::io(dir, e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        let meta = e.metadata().map_err(|err| Error::io(e.path(), err))?;
        if meta.is_file() && name.ends_with(".py") {
            files.push(dump2py_staging::ManifestFile {
                name,
                size: meta.len(),
                sha256: String::new(),
            });
        }
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Manifest {
        format: FORMAT_DIR.to_string(),
        version: String::new(),
        files,
        tables: Default::default(),
        run: String::new(),
    })
}

/// Every file the manifest lists is there, a regular file of its size,
/// and nothing else is.
pub(crate) fn check_files(dir: &Path, manifest: &Manifest) -> Result<()> {
    let mut names = BTreeSet::new();
    for f in &manifest.files {
        if f.name.is_empty() || f.name.contains('/') || f.name == "." || f.name == ".." {
            return Err(damaged(
                &dir.join(MANIFEST),
                format!("it lists a file named {:?}, which no dump holds", f.name),
            ));
        }
        let path = dir.join(&f.name);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_file() && m.len() == f.size => {}
            Ok(m) if m.is_file() => {
                return Err(damaged(
                    &path,
                    format!(
                        "{}: {} bytes, the manifest says {}",
                        if m.len() < f.size {
                            "truncated"
                        } else {
                            "damaged"
                        },
                        m.len(),
                        f.size
                    ),
                ))
            }
            Ok(_) => return Err(damaged(&path, "not a file (the manifest lists a file)")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(damaged(&path, "missing (the manifest lists it)"))
            }
            Err(e) => return Err(Error::io(&path, e)),
        }
        names.insert(f.name.as_str());
    }
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for e in entries {
        let e = e.map_err(|e| Error::io(dir, e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name != MANIFEST && !names.contains(name.as_str()) {
            return Err(damaged(&e.path(), "extra file, not in the manifest"));
        }
    }
    Ok(())
}

/// A reader that hashes and counts what passes through it.
pub(crate) struct Hashing<R> {
    inner: R,
    pub(crate) hash: Sha256,
    pub(crate) bytes: u64,
}

impl<R: Read> Hashing<R> {
    pub(crate) fn new(inner: R) -> Self {
        Hashing {
            inner,
            hash: Sha256::new(),
            bytes: 0,
        }
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}
