//! A dump checked against its manifest, file by file (what `--verify`
//! and the archive writer both need).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use dump2py_staging::{Manifest, FORMAT_DIR, FORMAT_FILE, MANIFEST};

/// The manifest of `dump` (a Python dump's directory, or a JSON/XML file
/// with its sidecar) once every file it lists is there, whole and
/// unchanged, and nothing else is; else an error naming the first file
/// that isn't. [`crate::verify::files`] also looks inside archives.
pub fn files(dump: &Path) -> Result<Manifest> {
    let meta = match fs::metadata(dump) {
        Ok(m) => m,
        Err(e) => bail!("--verify {}: {e}", dump.display()),
    };
    let (dir, manifest_path, format) = if meta.is_dir() {
        (dump.to_path_buf(), dump.join(MANIFEST), FORMAT_DIR)
    } else {
        let dir = match dump.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        (dir, dump2py_staging::sidecar_of(dump), FORMAT_FILE)
    };
    let manifest = match dump2py_staging::load_manifest(&manifest_path) {
        Ok(m) => m,
        Err(_) if fs::symlink_metadata(&manifest_path).is_err() => bail!(
            "{}: no manifest: {} is missing (not an output of dump2py, or its manifest was lost)",
            dump.display(),
            manifest_path.display()
        ),
        Err(why) => bail!(
            "{}: its manifest {} is unreadable: {why}",
            dump.display(),
            manifest_path.display()
        ),
    };
    if manifest.format != format {
        bail!(
            "{}: its manifest is of a {}, this is a {}",
            manifest_path.display(),
            manifest.format,
            format
        );
    }
    if !meta.is_dir() {
        let name = dump.file_name().map(|n| n.to_string_lossy().into_owned());
        if manifest.files.len() != 1 || name.as_deref() != Some(&manifest.files[0].name) {
            bail!(
                "{}: its manifest {} lists other files",
                dump.display(),
                manifest_path.display()
            );
        }
    }
    for f in &manifest.files {
        // A name is data: it must stay inside the dump.
        if !dump2py_staging::safe_name(&f.name) || (!meta.is_dir() && f.name.contains('/')) {
            bail!(
                "{}: the manifest lists a file named {:?}, which no dump holds",
                manifest_path.display(),
                f.name
            );
        }
        let path = dir.join(&f.name);
        let size = match fs::symlink_metadata(&path) {
            Ok(m) if m.is_file() => m.len(),
            Ok(_) => bail!("{}: not a file (the manifest lists a file)", path.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                bail!("{}: missing (the manifest lists it)", path.display())
            }
            Err(e) => bail!("{}: {e}", path.display()),
        };
        if size < f.size {
            bail!(
                "{}: truncated: {size} bytes, the manifest says {}",
                path.display(),
                f.size
            );
        }
        if size > f.size {
            bail!(
                "{}: damaged: {size} bytes, the manifest says {}",
                path.display(),
                f.size
            );
        }
        let now = dump2py_staging::describe(&path, &f.name)?;
        if now.sha256 != f.sha256 {
            bail!(
                "{}: damaged: its SHA-256 is not the manifest's",
                path.display()
            );
        }
    }
    if meta.is_dir() {
        let names = dump2py_staging::dir_files(dump)?;
        if let Some(extra) = names
            .iter()
            .find(|n| *n != MANIFEST && !manifest.files.iter().any(|f| &f.name == *n))
        {
            bail!(
                "{}: extra file, not in the manifest",
                dump.join(extra).display()
            );
        }
    }
    Ok(manifest)
}
