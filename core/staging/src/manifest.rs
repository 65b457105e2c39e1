//! Manifests: what dump2py wrote, the only thing `--overwrite` replaces.

use super::*;

/// What stands at a path, for the overwrite check.
pub(super) fn existing(target: &Path) -> Result<Option<fs::Metadata>> {
    match fs::symlink_metadata(target) {
        Ok(m) => Ok(Some(m)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(target, e)),
    }
}

/// Refuses an existing target unless `overwrite` and it is something
/// dump2py wrote (an empty directory, or an output with its manifest):
/// checked before any work, and again before publishing.
pub fn check_target(target: &Path, overwrite: bool) -> Result<()> {
    // A commit that a killed run left half done beside it is completed
    // first: then the target is whole again.
    if let Ok(names) = Names::of(target) {
        super::journal::recover(&names.parent);
    }
    let Some(meta) = existing(target)? else {
        return Ok(());
    };
    if !overwrite {
        return Err(Error::Usage(format!(
            "{} already exists; use --overwrite to replace it",
            target.display()
        )));
    }
    if written_by_us(target, &meta) {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "{} exists and was not written by dump2py; remove it yourself or choose another name",
        target.display()
    )))
}

/// What a published output holds (README, "Manifests"): written last,
/// read by `--overwrite` and `--verify`, and by restore.py (which checks the
/// dump against it before it empties the database, and the rows it loaded after).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    pub format: String,
    /// The dump2py version that wrote it.
    pub version: String,
    pub files: Vec<ManifestFile>,
    /// Rows per table in the output (none in a manifest of before issue 13).
    #[serde(default)]
    pub tables: BTreeMap<String, u64>,
    /// The run that wrote it: outputs published together share it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub run: String,
}

#[derive(Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ManifestFile {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

/// The manifest at `path`, if it is one.
pub fn read_manifest(path: &Path) -> Option<Manifest> {
    load_manifest(path).ok()
}

/// The manifest at `path`, or why it isn't one (a bounded read: a link to
/// `/dev/zero` or a FIFO is refused, not read forever).
pub fn load_manifest(path: &Path) -> std::result::Result<Manifest, String> {
    let text = dump2py_model::files::read_small(path, dump2py_model::files::MAX_JSON)
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&text).map_err(|e| format!("not a manifest: {e}"))
}

/// The manifest path of a file output.
pub fn sidecar_of(target: &Path) -> PathBuf {
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(SIDECAR_SUFFIX);
    target.with_file_name(name)
}

/// Whether `target` is a published output of dump2py: its manifest, with
/// a run id, lists everything in it (an empty directory is not one).
/// Snapshot retention deletes nothing else.
pub fn published_by_us(target: &Path) -> bool {
    let manifest = match existing(target) {
        Ok(Some(m)) if m.is_dir() => read_manifest(&target.join(MANIFEST)),
        Ok(Some(m)) if m.is_file() => read_manifest(&sidecar_of(target)),
        _ => None,
    };
    manifest.is_some_and(|m| !m.run.is_empty())
        && existing(target)
            .ok()
            .flatten()
            .is_some_and(|meta| written_by_us(target, &meta))
}

pub(super) fn written_by_us(target: &Path, meta: &fs::Metadata) -> bool {
    if meta.is_dir() {
        let Ok(names) = dir_files(target) else {
            return false;
        };
        if names.is_empty() {
            return true;
        }
        let Some(m) = read_manifest(&target.join(MANIFEST)) else {
            return false;
        };
        // Anything the manifest doesn't list (a note, a .git) is not ours to delete.
        m.format == FORMAT_DIR
            && names
                .iter()
                .all(|n| n == MANIFEST || m.files.iter().any(|f| f.name == *n))
    } else if meta.is_file() {
        let Some(m) = read_manifest(&sidecar_of(target)) else {
            return false;
        };
        let name = target.file_name().and_then(OsStr::to_str);
        m.format == FORMAT_FILE
            && matches!(m.files.as_slice(), [f] if Some(f.name.as_str()) == name && f.size == meta.len())
    } else {
        false
    }
}

/// Every file in `dir` and the directories below it (symbolic links not
/// followed), as a manifest names them: relative, `/` between parts
/// (`media/uploads/a.pdf`); anything that is neither a file nor a
/// directory counts as a file, so that a check finds it. A name that isn't
/// UTF-8 is kept lossily (and then matches nothing).
pub fn dir_files(dir: &Path) -> io::Result<Vec<String>> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) -> io::Result<()> {
        for e in fs::read_dir(dir)? {
            let e = e?;
            let name = format!("{prefix}{}", e.file_name().to_string_lossy());
            if e.file_type()?.is_dir() {
                walk(&e.path(), &format!("{name}/"), out)?;
            } else {
                out.push(name);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out)?;
    out.sort();
    Ok(out)
}

/// Whether a manifest's file name stays inside its dump: relative parts
/// separated by `/`, none empty, `.` or `..`.
pub fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .split('/')
            .all(|p| !p.is_empty() && p != "." && p != ".." && !p.contains('\0'))
}

/// A file's size and SHA-256 as a [`HashedFile`] recorded them while
/// writing it, else as read now.
pub(super) fn described(path: &Path, name: &str, digests: &[FileDigest]) -> Result<ManifestFile> {
    match FileDigest::of(digests, path) {
        Some(d) => Ok(ManifestFile {
            name: name.to_string(),
            size: d.size,
            sha256: hex(&d.sha256),
        }),
        None => describe(path, name),
    }
}

/// A file's size and SHA-256, as its manifest lists it, read now.
pub fn describe(path: &Path, name: &str) -> Result<ManifestFile> {
    let io = |e| Error::io(path, e);
    let mut f = File::open(path).map_err(io)?;
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
        size += n as u64;
    }
    Ok(ManifestFile {
        name: name.to_string(),
        size,
        sha256: hex(&hash.finalize()),
    })
}

pub(super) fn write_manifest(
    path: &Path,
    format: &str,
    files: Vec<ManifestFile>,
    tables: &BTreeMap<String, u64>,
) -> Result<()> {
    let m = Manifest {
        format: format.to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        files,
        tables: tables.clone(),
        run: super::run_id().to_string(),
    };
    let mut text =
        serde_json::to_string_pretty(&m).map_err(|e| Error::io(path, io::Error::other(e)))?;
    text.push('\n');
    fs::write(path, text).map_err(|e| Error::io(path, e))
}
