//! A whole-site snapshot's files beside the data (`dump2py --media`): the
//! site's `MEDIA_ROOT` under `media/`, `pip-freeze.txt` (the site's
//! interpreter's packages) and `site.json` (the settings module, the site's
//! version, what was copied and what was left out). The manifest lists them
//! all with their sizes and SHA-256, as the data files.
//!
//! Media files are streamed through a [`HashedFile`] (memory bounded by its
//! buffers, hashed as written); symbolic links inside `MEDIA_ROOT` and
//! anything that is neither a file nor a directory are not followed, only
//! listed in `site.json` (`MEDIA_ROOT` itself may be a link).

use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use dump2py_django::Site;
use dump2py_model::error::{Error, Result};
use dump2py_plugin::registry::{OptionValue, SinkOptions};
use dump2py_staging::{FileDigest, HashedFile};

/// The directory of the media files inside a dump.
pub const MEDIA_DIR: &str = "media";
pub const PIP_FREEZE: &str = "pip-freeze.txt";
pub const SITE_JSON: &str = "site.json";

/// The keys of [`SiteFiles`]' values in [`SinkOptions::values`].
pub const MEDIA_ROOT: &str = "media_root";
pub const PIP_FREEZE_KEY: &str = "pip_freeze";
pub const PYTHON: &str = "python";

/// What the CLI hands the sink with `--media`: text values of its options
/// `media_root`, `pip_freeze` and `python` (computed by the CLI, not
/// given on the command line).
pub struct SiteFiles {
    pub media_root: PathBuf,
    pub pip_freeze: String,
    pub python: String,
}

impl SiteFiles {
    /// From the sink's options `media_root`, `pip_freeze`, `python`;
    /// None without `media_root`.
    pub fn from_values(options: &SinkOptions) -> Option<SiteFiles> {
        let text = |k: &str| match options.values.get(k) {
            Some(OptionValue::Text(t)) => Some(t.clone()),
            _ => None,
        };
        Some(SiteFiles {
            media_root: PathBuf::from(text(MEDIA_ROOT)?),
            pip_freeze: text(PIP_FREEZE_KEY).unwrap_or_default(),
            python: text(PYTHON).unwrap_or_default(),
        })
    }

    /// Writes the site's files into the staging directory `dir`.
    /// Writes the site's files into `dir`; the digests of the media files.
    pub fn write(&self, dir: &Path, site: &Site) -> Result<Vec<FileDigest>> {
        let root = fs::canonicalize(&self.media_root).map_err(|e| {
            Error::Usage(format!(
                "--media: the site's MEDIA_ROOT {}: {e}",
                self.media_root.display()
            ))
        })?;
        if !root.is_dir() {
            return Err(Error::Usage(format!(
                "--media: the site's MEDIA_ROOT {} is not a directory",
                self.media_root.display()
            )));
        }
        let mut copied = Copied::default();
        let media = dir.join(MEDIA_DIR);
        fs::create_dir(&media).map_err(|e| Error::io(&media, e))?;
        copy_dir(&root, &media, "", &mut copied)?;
        let pip = dir.join(PIP_FREEZE);
        fs::write(&pip, &self.pip_freeze).map_err(|e| Error::io(&pip, e))?;
        let settings = site.settings.as_ref();
        let json = serde_json::json!({
            "format": 1,
            "settings_module": settings.map(|s| s.settings_module.clone()),
            "version": settings.and_then(|s| s.version.clone()),
            "media_root": self.media_root.to_string_lossy(),
            "python": self.python,
            "media_files": copied.files,
            "media_bytes": copied.bytes,
            "not_followed": copied.skipped,
        });
        let path = dir.join(SITE_JSON);
        let text = serde_json::to_string_pretty(&json)
            .map_err(|e| Error::io(&path, std::io::Error::other(e)))?;
        fs::write(&path, text + "\n").map_err(|e| Error::io(&path, e))?;
        Ok(copied.digests)
    }
}

#[derive(Default)]
struct Copied {
    files: u64,
    bytes: u64,
    /// Relative names of links and special files, with what they are.
    skipped: Vec<serde_json::Value>,
    /// What each copy's `HashedFile` recorded, for the manifest.
    digests: Vec<FileDigest>,
}

/// Copies the files of `src` into `dst` (made), names relative to
/// MEDIA_ROOT in `rel`; links and special files are listed, not followed.
fn copy_dir(src: &Path, dst: &Path, rel: &str, copied: &mut Copied) -> Result<()> {
    let mut entries: Vec<_> = fs::read_dir(src)
        .map_err(|e| Error::io(src, e))?
        .collect::<std::io::Result<_>>()
        .map_err(|e| Error::io(src, e))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let Some(name) = e.file_name().to_str().map(str::to_string) else {
            return Err(Error::Usage(format!(
                "--media: {:?}: the file name is not UTF-8; the manifest names every file: \
                 rename it",
                path.as_os_str()
            )));
        };
        let rel = format!("{rel}{name}");
        let kind = e.file_type().map_err(|e| Error::io(&path, e))?;
        if kind.is_dir() {
            let to = dst.join(&name);
            fs::create_dir(&to).map_err(|e| Error::io(&to, e))?;
            copy_dir(&path, &to, &format!("{rel}/"), copied)?;
        } else if kind.is_file() {
            let (size, digest) = copy_file(&path, &dst.join(&name))?;
            copied.bytes += size;
            copied.digests.push(digest);
            copied.files += 1;
        } else {
            let what = if kind.is_symlink() {
                "symbolic link"
            } else {
                "not a file"
            };
            copied
                .skipped
                .push(serde_json::json!({"name": rel, "what": what}));
        }
    }
    Ok(())
}

/// Streams one file (never a link: `O_NOFOLLOW`, in case it became one
/// since it was listed) into a hashed file; its size and digest.
fn copy_file(from: &Path, to: &Path) -> Result<(u64, FileDigest)> {
    let mut src = File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(from)
        .map_err(|e| Error::io(from, e))?;
    let mut out = HashedFile::create(to).map_err(|e| Error::io(to, e))?;
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = src.read(&mut buf).map_err(|e| Error::io(from, e))?;
        if n == 0 {
            break;
        }
        out.write_all(&buf[..n]).map_err(|e| Error::io(to, e))?;
        size += n as u64;
    }
    let digest = out.finish().map_err(|e| Error::io(to, e))?;
    Ok((size, digest))
}
