//! Where a single-file output goes: a file that appears only when complete
//! (compressed when its name ends in `.gz`, `.bz2` or `.xz`, as `dumpdata
//! -o` does), or standard output for `-`.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use dump2py_model::error::{Error, Result};
use dump2py_staging::{FileDigest, HashedFile, Spool, Staged, Transaction};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Bzip2,
    Xz,
}

impl Compression {
    /// By the file name's extension, as `dumpdata -o` chooses.
    pub fn of(path: &Path) -> Compression {
        match path.extension().and_then(|e| e.to_str()) {
            Some("gz") => Compression::Gzip,
            Some("bz2") => Compression::Bzip2,
            Some("xz") => Compression::Xz,
            _ => Compression::None,
        }
    }
}

#[derive(Debug)]
pub enum Target {
    File {
        staged: Staged,
        compression: Compression,
    },
    /// Standard output, checked open for writing when the sink is made.
    Stdout(std::fs::File),
}

impl Target {
    /// `-` is standard output; a file is refused when it exists, unless
    /// `overwrite`.
    pub fn new(path: &Path, overwrite: bool) -> Result<Target> {
        if path.as_os_str() == "-" {
            return Ok(Target::Stdout(dump2py_staging::stdout_file()?));
        }
        Ok(Target::File {
            staged: Staged::new(path, overwrite, false)?,
            compression: Compression::of(path),
        })
    }

    /// What error messages name.
    pub fn path(&self) -> PathBuf {
        match self {
            Target::File { staged, .. } => staged.target().to_path_buf(),
            Target::Stdout(_) => PathBuf::from("<stdout>"),
        }
    }

    /// A spool directory for temporary files: beside the target (the
    /// system's temporary directory for standard output), removed with
    /// the run's other staging, also by a signal.
    pub fn spool(&self) -> Result<Spool> {
        match self {
            Target::File { staged, .. } => staged.spool(),
            Target::Stdout(_) => Spool::in_temp_dir(),
        }
    }

    pub fn open(&self) -> Result<Writer> {
        let (staged, compression) = match self {
            Target::Stdout(file) => {
                let file = file.try_clone().map_err(|e| Error::io("<stdout>", e))?;
                return Ok(Writer::Stdout(BufWriter::new(file)));
            }
            Target::File {
                staged,
                compression,
            } => (staged, compression),
        };
        let path = staged.path();
        let file = HashedFile::create(path).map_err(|e| Error::io(staged.target(), e))?;
        Ok(match compression {
            Compression::None => Writer::Plain(file),
            Compression::Gzip => Writer::Gzip(flate2::write::GzEncoder::new(
                file,
                flate2::Compression::default(),
            )),
            Compression::Bzip2 => Writer::Bzip2(bzip2::write::BzEncoder::new(
                file,
                bzip2::Compression::default(),
            )),
            Compression::Xz => Writer::Xz(liblzma::write::XzEncoder::new(file, 6)),
        })
    }

    /// Adds the finished file to `tx`.
    pub fn publish(&mut self, tx: &mut Transaction) -> Result<()> {
        match self {
            Target::File { staged, .. } => staged.publish(tx),
            Target::Stdout(_) => Ok(()),
        }
    }

    /// Notes the digest of the file written.
    pub fn record(&mut self, digest: FileDigest) {
        if let Target::File { staged, .. } = self {
            staged.record(digest);
        }
    }

    /// Notes one table's rows for the manifest.
    pub fn count_rows(&mut self, table: &str, rows: u64) {
        if let Target::File { staged, .. } = self {
            staged.count_rows(table, rows);
        }
    }

    pub fn discard(&mut self) {
        if let Target::File { staged, .. } = self {
            staged.discard();
        }
    }
}

pub enum Writer {
    Plain(HashedFile),
    Gzip(flate2::write::GzEncoder<HashedFile>),
    Bzip2(bzip2::write::BzEncoder<HashedFile>),
    Xz(liblzma::write::XzEncoder<HashedFile>),
    Stdout(BufWriter<std::fs::File>),
}

impl Write for Writer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Writer::Plain(w) => w.write(buf),
            Writer::Gzip(w) => w.write(buf),
            Writer::Bzip2(w) => w.write(buf),
            Writer::Xz(w) => w.write(buf),
            Writer::Stdout(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Writer::Plain(w) => w.flush(),
            Writer::Gzip(w) => w.flush(),
            Writer::Bzip2(w) => w.flush(),
            Writer::Xz(w) => w.flush(),
            Writer::Stdout(w) => w.flush(),
        }
    }
}

impl Writer {
    /// Ends the compressed stream and flushes everything to the file
    /// (`publish` syncs it); gives the file's digest (none for stdout).
    pub fn finish(self) -> io::Result<Option<FileDigest>> {
        let file = match self {
            Writer::Plain(w) => w,
            Writer::Gzip(w) => w.finish()?,
            Writer::Bzip2(w) => w.finish()?,
            Writer::Xz(w) => w.finish()?,
            Writer::Stdout(mut w) => return w.flush().map(|()| None),
        };
        file.finish().map(Some)
    }
}
