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
    writer: Option<JoinHandle<io::Result<Written>>>,
}

/// What the writer thread leaves: the file, its bytes hashed, its size.
struct Written {
    file: File,
    hash: Sha256,
    size: u64,
}

impl Written {
    /// Syncs the file (unless `--no-sync`); its digest, as `path`.
    fn digest(self, path: &Path) -> io::Result<FileDigest> {
        if sync_on() {
            self.file.sync_all()?;
        }
        Ok(FileDigest {
            path: path.to_path_buf(),
            size: self.size,
            sha256: self.hash.finalize().into(),
            modified: self.file.metadata()?.modified().ok(),
        })
    }
}

/// A file written whole but for its head, which may change: its first
/// bytes (a header that counts what follows) are known only later.
/// [`HashedFile::pause`] makes one, [`Paused::finish`] ends it. Nothing is
/// synced or recorded before: a head that was right costs nothing more; one
/// of the same length is written over the old and the file hashed again;
/// another is written with a copy of the rest.
pub struct Paused {
    path: PathBuf,
    head: Vec<u8>,
    hash: Sha256,
    size: u64,
}

impl HashedFile {
    /// Creates (truncates) `path`.
    pub fn create(path: &Path) -> io::Result<HashedFile> {
        let file = File::create(path)?;
        let (full, full_rx) = sync_channel::<Vec<u8>>(QUEUE);
        let (empty_tx, empty) = sync_channel::<Vec<u8>>(QUEUE + 1);
        let writer = std::thread::Builder::new()
            .name("dump2py-write".into())
            .spawn(move || write_chunks(file, full_rx, empty_tx))?;
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
        let written = self.join()?;
        written.digest(&self.path)
    }

    /// Writes what is left and waits for the writer, neither syncing nor
    /// recording: `head` is what was written first, to be replaced by
    /// [`Paused::finish`].
    pub fn pause(mut self, head: Vec<u8>) -> io::Result<Paused> {
        self.send()?;
        let Written { hash, size, .. } = self.join()?;
        Ok(Paused {
            path: self.path.clone(),
            head,
            hash,
            size,
        })
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

    fn join(&mut self) -> io::Result<Written> {
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

impl Paused {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The length of the head written first.
    pub fn head_len(&self) -> usize {
        self.head.len()
    }

    /// Ends the file as `to` (its path, or another in the same
    /// directory), with `head` in place of the head written first.
    pub fn finish(&self, head: &[u8], to: &Path) -> io::Result<FileDigest> {
        use std::io::{Read, Seek, SeekFrom};
        use std::os::unix::fs::FileExt;
        if to != self.path {
            std::fs::rename(&self.path, to)?;
        }
        if head == self.head {
            let file = File::options().write(true).open(to)?;
            let (hash, size) = (self.hash.clone(), self.size);
            return Written { file, hash, size }.digest(to);
        }
        if head.len() == self.head.len() {
            let mut file = File::options().read(true).write(true).open(to)?;
            file.write_all_at(head, 0)?;
            let mut hash = Sha256::new();
            hash.update(head);
            file.seek(SeekFrom::Start(head.len() as u64))?;
            let mut buf = vec![0u8; CHUNK];
            loop {
                let n = file.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                hash.update(&buf[..n]);
            }
            let size = self.size;
            return Written { file, hash, size }.digest(to);
        }
        // Another length: the rest moves.
        let old = to.with_extension("head.old");
        std::fs::rename(to, &old)?;
        let mut from = File::open(&old)?;
        from.seek(SeekFrom::Start(self.head.len() as u64))?;
        let mut out = HashedFile::create(to)?;
        out.write_all(head)?;
        io::copy(&mut from, &mut out)?;
        let digest = out.finish()?;
        std::fs::remove_file(&old)?;
        Ok(digest)
    }
}

fn write_chunks(
    mut file: File,
    full: Receiver<Vec<u8>>,
    empty: SyncSender<Vec<u8>>,
) -> io::Result<Written> {
    let mut hash = Sha256::new();
    let mut size = 0u64;
    for mut chunk in full {
        hash.update(&chunk);
        file.write_all(&chunk)?;
        size += chunk.len() as u64;
        chunk.clear();
        let _ = empty.try_send(chunk);
    }
    Ok(Written { file, hash, size })
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
    fn a_paused_file_ends_with_its_new_head_and_its_digest() {
        let dir = tempfile::tempdir().unwrap();
        let body = vec![b'b'; 2 * CHUNK + 7];
        for (i, head) in ["old!", "new!", "longer", "old!"].iter().enumerate() {
            let path = dir.path().join(format!("f{i}"));
            let to = dir.path().join(format!("g{i}"));
            let mut f = HashedFile::create(&path).unwrap();
            f.write_all(b"old!").unwrap();
            f.write_all(&body).unwrap();
            let paused = f.pause(b"old!".to_vec()).unwrap();
            let digests = [paused.finish(head.as_bytes(), &to).unwrap()];
            let mut want = head.as_bytes().to_vec();
            want.extend_from_slice(&body);
            assert_eq!(std::fs::read(&to).unwrap(), want, "head {head}");
            assert!(!path.exists());
            let d = FileDigest::of(&digests, &to).unwrap();
            assert_eq!(d.size, want.len() as u64);
            assert_eq!(d.sha256, <[u8; 32]>::from(Sha256::digest(&want)));
            let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
            assert_eq!(left.len(), i + 1, "no file left beside");
        }
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
