//! An output file written and hashed on a thread of its own: the sink's
//! thread only formats, and the manifest needs no second read of the file.
//! Full buffers go to the writer through a bounded queue (back-pressure,
//! memory bounded) and come back empty to be filled again.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use super::sync_on;

/// Bytes handed to the writer at once.
const CHUNK: usize = 1 << 18;
/// Full chunks waiting for the writer.
const QUEUE: usize = 3;

/// Size and SHA-256 of a file as its [`HashedFile`] wrote it: given to
/// the output's `Staged::record`, so that its manifest needn't read the
/// file again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigest {
    pub(super) path: PathBuf,
    pub(super) size: u64,
    pub(super) sha256: [u8; 32],
    /// When the writer finished: a file written again since is read.
    modified: Option<SystemTime>,
}

impl FileDigest {
    /// The digest of `path` among `digests`, if the file is still as written.
    pub(super) fn of<'d>(digests: &'d [FileDigest], path: &Path) -> Option<&'d FileDigest> {
        let d = digests.iter().find(|d| d.path == path)?;
        let meta = std::fs::metadata(path).ok()?;
        (meta.len() == d.size && meta.modified().ok() == d.modified).then_some(d)
    }
}

pub struct HashedFile {
    path: PathBuf,
    buf: Vec<u8>,
    full: Option<SyncSender<Vec<u8>>>,
    empty: Receiver<Vec<u8>>,
    writer: Option<JoinHandle<io::Result<FileDigest>>>,
}

impl HashedFile {
    /// Creates (truncates) `path`.
    pub fn create(path: &Path) -> io::Result<HashedFile> {
        let file = File::create(path)?;
        let (full, full_rx) = sync_channel::<Vec<u8>>(QUEUE);
        let (empty_tx, empty) = sync_channel::<Vec<u8>>(QUEUE + 1);
        let writer = std::thread::Builder::new()
            .name("dump2py-write".into())
            .spawn({
                let path = path.to_path_buf();
                move || write_chunks(path, file, full_rx, empty_tx)
            })?;
        Ok(HashedFile {
            path: path.to_path_buf(),
            buf: Vec::with_capacity(CHUNK),
            full: Some(full),
            empty,
            writer: Some(writer),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes what is left and waits for the writer (and, unless
    /// `--no-sync`, for the disk); gives the file's digest.
    pub fn finish(mut self) -> io::Result<FileDigest> {
        self.send()?;
        self.join()
    }

    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let next = self
            .empty
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK));
        let chunk = std::mem::replace(&mut self.buf, next);
        let sent = self.full.as_ref().is_some_and(|f| f.send(chunk).is_ok());
        if sent {
            return Ok(());
        }
        // The writer stopped: its error says why.
        Err(self
            .join()
            .err()
            .unwrap_or_else(|| io::Error::other("the writer stopped")))
    }

    fn join(&mut self) -> io::Result<FileDigest> {
        self.full = None;
        match self.writer.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io::Error::other("the writer thread panicked")),
            None => Err(io::Error::other("the file was already closed")),
        }
    }
}

impl Write for HashedFile {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.write_all(data).map(|()| data.len())
    }

    fn write_all(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let room = CHUNK.saturating_sub(self.buf.len()).max(1);
            let (now, rest) = data.split_at(room.min(data.len()));
            self.buf.extend_from_slice(now);
            data = rest;
            if self.buf.len() >= CHUNK {
                self.send()?;
            }
        }
        Ok(())
    }

    /// Hands the buffer to the writer; [`HashedFile::finish`] waits for it.
    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

impl Drop for HashedFile {
    /// Unfinished (an error elsewhere): the writer ends; nothing is recorded.
    fn drop(&mut self) {
        if self.writer.is_some() {
            let _ = self.join();
        }
    }
}

fn write_chunks(
    path: PathBuf,
    mut file: File,
    full: Receiver<Vec<u8>>,
    empty: SyncSender<Vec<u8>>,
) -> io::Result<FileDigest> {
    let mut hash = Sha256::new();
    let mut size = 0u64;
    for mut chunk in full {
        hash.update(&chunk);
        file.write_all(&chunk)?;
        size += chunk.len() as u64;
        chunk.clear();
        let _ = empty.try_send(chunk);
    }
    if sync_on() {
        file.sync_all()?;
    }
    Ok(FileDigest {
        path,
        size,
        sha256: hash.finalize().into(),
        modified: file.metadata()?.modified().ok(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_that_of_the_bytes_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut f = HashedFile::create(&path).unwrap();
        let mut want = Vec::new();
        for i in 0..100_000u32 {
            let line = format!("line {i}\n");
            f.write_all(line.as_bytes()).unwrap();
            want.extend_from_slice(line.as_bytes());
        }
        f.write_all(&vec![b'x'; 3 * CHUNK + 5]).unwrap();
        want.extend(std::iter::repeat_n(b'x', 3 * CHUNK + 5));
        let digests = [f.finish().unwrap()];
        assert_eq!(std::fs::read(&path).unwrap(), want);
        let d = FileDigest::of(&digests, &path).unwrap();
        assert_eq!(d.size, want.len() as u64);
        assert_eq!(d.sha256, <[u8; 32]>::from(Sha256::digest(&want)));
        // Another file's digest isn't this one's.
        assert_eq!(FileDigest::of(&digests, &dir.path().join("g")), None);
    }

    #[test]
    fn a_changed_file_drops_the_digest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut f = HashedFile::create(&path).unwrap();
        f.write_all(b"abc").unwrap();
        let digests = [f.finish().unwrap()];
        std::fs::write(&path, b"abcd").unwrap();
        assert_eq!(FileDigest::of(&digests, &path), None);
        // Nor is a file of the same size written again since.
        let mut f = HashedFile::create(&path).unwrap();
        f.write_all(b"abc").unwrap();
        let digests = [f.finish().unwrap()];
        let later = SystemTime::now() + std::time::Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(later)
            .unwrap();
        assert_eq!(FileDigest::of(&digests, &path), None);
    }

    #[test]
    fn a_write_error_reaches_the_writer_of_the_sink() {
        // /dev/full takes the open and fails every write.
        let mut f = HashedFile::create(Path::new("/dev/full")).unwrap();
        let big = vec![0u8; CHUNK];
        let mut result = Ok(());
        for _ in 0..(QUEUE + 3) {
            result = f.write_all(&big);
            if result.is_err() {
                break;
            }
        }
        let e = result.and_then(|()| f.finish().map(drop)).unwrap_err();
        assert!(e.to_string().contains("No space"), "{e}");
    }
}
