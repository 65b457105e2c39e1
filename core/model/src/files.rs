//! Small files named by the user or found beside a dump (certificates,
//! keys, site schemas, manifests), read whole but bounded: a link to
//! `/dev/zero` or a FIFO in their place is an error, never an endless read
//! or a wait.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Certificates and keys: a CA bundle is a few hundred KiB.
pub const MAX_PEM: u64 = 16 << 20;
/// A site schema or a manifest.
pub const MAX_JSON: u64 = 256 << 20;

/// What a file that is not a regular file is, for messages ("a pipe or FIFO").
pub fn kind(meta: &std::fs::Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_file() {
        "a regular file"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a pipe or FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "something else"
    }
}

/// The bytes of `path`, a regular file of at most `limit` bytes; any other
/// file (a FIFO, a device, a directory) or a bigger one is an error saying
/// so. Opening never blocks (a FIFO without writer).
pub fn read_small(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        let what = kind(&meta);
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a regular file ({what})"),
        ));
    }
    let too_big = || {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {} MiB", limit >> 20),
        )
    };
    if meta.len() > limit {
        return Err(too_big());
    }
    let mut out = Vec::with_capacity(meta.len() as usize);
    // A file that grows while read stops at the limit too.
    read_limited(file, limit, &mut out)?;
    if out.len() as u64 > limit {
        return Err(too_big());
    }
    Ok(out)
}

fn read_limited(file: File, limit: u64, out: &mut Vec<u8>) -> io::Result<()> {
    file.take(limit + 1).read_to_end(out).map(|_| ())
}

/// As [`read_small`], as UTF-8 text.
pub fn read_small_text(path: &Path, limit: u64) -> io::Result<String> {
    String::from_utf8(read_small(path, limit)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_small_regular_files_are_read() {
        let dir = std::env::temp_dir().join(format!("dump2py-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let f = dir.join("small");
        std::fs::write(&f, b"hello").expect("write");
        assert_eq!(read_small(&f, 5).expect("read"), b"hello");
        let e = read_small(&f, 4).expect_err("too big");
        assert!(e.to_string().contains("larger than"), "{e}");
        for (p, want) in [("/dev/zero", "character device"), ("/tmp", "directory")] {
            let e = read_small(Path::new(p), MAX_PEM).expect_err(p);
            assert!(e.to_string().contains(want), "{p}: {e}");
        }
        let fifo = dir.join("fifo");
        let c = std::ffi::CString::new(fifo.to_string_lossy().as_bytes()).expect("cstr");
        // SAFETY: a valid path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = read_small(&fifo, MAX_PEM).expect_err("fifo");
        assert!(e.to_string().contains("FIFO"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
