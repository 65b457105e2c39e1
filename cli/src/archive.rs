//! One file to carry (issue 22): an OUTPUT ending in `.zip`, `.tar.gz` or
//! `.tar.zst` is the Python dump packed as one archive.
//!
//! The dump is first published whole (its manifest, its own staging) in a
//! spool beside the archive (`.NAME.dump2py-PID.spool`, removed with the
//! run, and by a signal), checked against its manifest, then packed file
//! by file, streamed through the compressor (memory bounded: one buffer),
//! into the archive's staging, which is published as any file output: in
//! one rename, with its manifest beside it (`NAME.dump2py.json`). Inside,
//! every file is under `<stem>/` (the name without its suffix), the
//! manifest `dump2py.json` first, so that a reader of a tar stream knows
//! the sizes and SHA-256 before the files.
//!
//! `--verify ARCHIVE` checks the manifest beside it (when there is one: an
//! archive carried alone has only the one inside) and every file inside
//! against the manifest inside. `dump2py --restore ARCHIVE` unpacks into
//! the system's temporary directory (`TMPDIR`), checking each file as it
//! comes out, so that a damaged archive is refused before restore.py
//! starts, then runs the site's Python on `restore.py --noinput`.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use dump2py_core::staging::{self, HashedFile, Manifest, Spool, Staged, MANIFEST};

/// The archive formats, by the name's suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Zip,
    TarGz,
    TarZst,
}

impl Kind {
    /// The kind an archive's name asks for, with the name's stem.
    pub fn of(path: &Path) -> Option<(Kind, String)> {
        let name = path.file_name()?.to_str()?;
        [
            (".zip", Kind::Zip),
            (".tar.gz", Kind::TarGz),
            (".tar.zst", Kind::TarZst),
        ]
        .into_iter()
        .find_map(|(suffix, kind)| {
            let stem = name.strip_suffix(suffix)?;
            (!stem.is_empty()).then(|| (kind, stem.to_string()))
        })
    }
}

/// An archive being made: the dump goes to [`Packing::dump_dir`], and
/// [`Packing::finish`] packs and publishes it.
pub struct Packing {
    staged: Staged,
    kind: Kind,
    stem: String,
    dump_dir: PathBuf,
    // Dropped last: the dump packed.
    _spool: Spool,
}

/// When `target` is an archive's name: its staging (the target checked
/// and locked) and where the dump goes first.
pub fn start(target: Option<&Path>, overwrite: bool) -> Result<Option<Packing>> {
    let Some(target) = target else {
        return Ok(None);
    };
    let Some((kind, stem)) = Kind::of(target) else {
        return Ok(None);
    };
    let staged = Staged::new(target, overwrite, false).map_err(crate::usage_of)?;
    let spool = staged.spool()?;
    let dump_dir = spool.path().join(&stem);
    Ok(Some(Packing {
        staged,
        kind,
        stem,
        dump_dir,
        _spool: spool,
    }))
}

impl Packing {
    /// Where the Python sink writes the dump.
    pub fn dump_dir(&self) -> &Path {
        &self.dump_dir
    }

    /// Packs the published dump into the archive and publishes it.
    pub fn finish(mut self) -> Result<()> {
        let manifest = crate::verify::files(&self.dump_dir)
            .context("the dump to pack does not verify")?;
        let mut names = vec![MANIFEST.to_string()];
        names.extend(manifest.files.iter().map(|f| f.name.clone()));
        let out = self.staged.path().to_path_buf();
        let io = |e: io::Error| anyhow::Error::from(e).context(format!("{}", out.display()));
        match self.kind {
            Kind::Zip => {
                let file = BufWriter::new(File::create(&out).map_err(io)?);
                let mut zip = zip::ZipWriter::new(file);
                for name in &names {
                    let path = self.dump_dir.join(name);
                    let size = fs::metadata(&path)?.len();
                    let options = zip::write::SimpleFileOptions::default()
                        .compression_method(zip::CompressionMethod::Deflated)
                        .large_file(size >= u64::from(u32::MAX))
                        .unix_permissions(0o644);
                    zip.start_file(format!("{}/{name}", self.stem), options)?;
                    io::copy(&mut File::open(&path)?, &mut zip).map_err(io)?;
                }
                let mut file = zip.finish()?;
                file.flush().map_err(io)?;
            }
            Kind::TarGz => {
                let gz = flate2::write::GzEncoder::new(
                    HashedFile::create(&out).map_err(io)?,
                    flate2::Compression::default(),
                );
                let gz = self.tar(gz, &names)?;
                gz.finish().map_err(io)?.finish().map_err(io)?;
            }
            Kind::TarZst => {
                let zst = zstd::Encoder::new(HashedFile::create(&out).map_err(io)?, 3)?;
                let zst = self.tar(zst, &names)?;
                zst.finish().map_err(io)?.finish().map_err(io)?;
            }
        }
        for (table, rows) in &manifest.tables {
            self.staged.count_rows(table, *rows);
        }
        self.staged.publish()?;
        Ok(())
    }

    /// The dump's files as a tar stream into `w`, the manifest first.
    fn tar<W: Write>(&self, w: W, names: &[String]) -> Result<W> {
        let mut tar = tar::Builder::new(w);
        tar.mode(tar::HeaderMode::Deterministic);
        for name in names {
            let mut file = File::open(self.dump_dir.join(name))?;
            tar.append_file(format!("{}/{name}", self.stem), &mut file)?;
        }
        Ok(tar.into_inner()?)
    }
}

/// What is done with each file read out of an archive.
trait Visit {
    /// `name` (a dump's file name, checked) with its bytes in `data`.
    fn file(&mut self, name: &str, data: &mut dyn Read) -> Result<()>;
}

/// Only checks.
struct Check;

impl Visit for Check {
    fn file(&mut self, _name: &str, data: &mut dyn Read) -> Result<()> {
        io::copy(data, &mut io::sink())?;
        Ok(())
    }
}

/// Writes each file into a directory.
struct Unpack<'a>(&'a Path);

impl Visit for Unpack<'_> {
    fn file(&mut self, name: &str, data: &mut dyn Read) -> Result<()> {
        let path = self.0.join(name);
        let mut out = BufWriter::new(File::create(&path)?);
        io::copy(data, &mut out)?;
        out.flush()?;
        Ok(())
    }
}

/// Hashes what passes through.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
    size: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

/// Reads the archive's entries in order: the manifest first, then each
/// file it lists, each checked (size, SHA-256) as it passes to `visit`;
/// anything else inside, a file twice, or one missing is an error.
/// The dump's directory inside is the manifest's (the archive's stem when
/// it was written; a renamed archive keeps it).
fn walk(path: &Path, kind: Kind, visit: &mut dyn Visit) -> Result<Manifest> {
    let file = File::open(path).with_context(|| format!("{}", path.display()))?;
    let mut state = Walk {
        stem: None,
        manifest: None,
        seen: BTreeSet::new(),
    };
    match kind {
        Kind::Zip => {
            let mut zip = zip::ZipArchive::new(BufReader::new(file))
                .with_context(|| format!("{}: not a zip archive", path.display()))?;
            // The manifest first, wherever it is.
            let mut order: Vec<usize> = (0..zip.len()).collect();
            let first = zip.file_names().find(|n| {
                n.split_once('/')
                    .is_some_and(|(dir, rest)| rest == MANIFEST && !dir.is_empty())
            });
            if let Some(i) = first.map(str::to_string).and_then(|n| zip.index_for_name(&n)) {
                order.retain(|&j| j != i);
                order.insert(0, i);
            }
            for i in order {
                let mut entry = zip.by_index(i)?;
                let name = entry.name().to_string();
                if !entry.is_file() {
                    bail!("{name}: not a file");
                }
                state.entry(&name, &mut entry, visit)?;
            }
        }
        Kind::TarGz | Kind::TarZst => {
            let reader: Box<dyn Read> = match kind {
                Kind::TarGz => Box::new(flate2::read::GzDecoder::new(BufReader::new(file))),
                _ => Box::new(zstd::Decoder::new(file)?),
            };
            let mut tar = tar::Archive::new(reader);
            for entry in tar.entries()? {
                let mut entry = entry?;
                let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
                if entry.header().entry_type() != tar::EntryType::Regular {
                    bail!("{name}: not a file");
                }
                state.entry(&name, &mut entry, visit)?;
            }
        }
    }
    let (Some(manifest), Some(stem)) = (state.manifest, state.stem) else {
        bail!("no manifest (DIR/{MANIFEST}) inside");
    };
    if let Some(missing) = manifest.files.iter().find(|f| !state.seen.contains(&f.name)) {
        bail!("{stem}/{}: missing (the manifest lists it)", missing.name);
    }
    Ok(manifest)
}

struct Walk {
    stem: Option<String>,
    manifest: Option<Manifest>,
    seen: BTreeSet<String>,
}

impl Walk {
    fn entry(&mut self, full: &str, data: &mut dyn Read, visit: &mut dyn Visit) -> Result<()> {
        let Some(stem) = &self.stem else {
            // The first entry is the manifest: its directory is the dump's.
            let dir = full
                .strip_suffix(MANIFEST)
                .and_then(|d| d.strip_suffix('/'))
                .filter(|d| !d.is_empty() && !d.contains('/') && *d != "." && *d != "..")
                .with_context(|| {
                    format!("{full}: before the manifest (DIR/{MANIFEST} comes first)")
                })?;
            self.stem = Some(dir.to_string());
            return self.entry(full, data, visit);
        };
        let name = full
            .strip_prefix(stem.as_str())
            .and_then(|n| n.strip_prefix('/'))
            .filter(|n| !n.is_empty() && !n.contains('/') && *n != "." && *n != "..")
            .with_context(|| format!("{full}: not a file of the dump {stem}/"))?;
        if !self.seen.insert(name.to_string()) {
            bail!("{full}: twice in the archive");
        }
        if name == MANIFEST {
            let mut text = Vec::new();
            data.take(dump2py_core::files::MAX_JSON)
                .read_to_end(&mut text)?;
            let m: Manifest = serde_json::from_slice(&text)
                .with_context(|| format!("{full}: not a manifest"))?;
            if m.format != staging::FORMAT_DIR {
                bail!("{full}: the manifest of a {}, not of a Python dump", m.format);
            }
            visit.file(name, &mut text.as_slice())?;
            self.manifest = Some(m);
            return Ok(());
        }
        let Some(manifest) = &self.manifest else {
            bail!("{full}: before the manifest ({MANIFEST} comes first)");
        };
        let Some(listed) = manifest.files.iter().find(|f| f.name == name) else {
            bail!("{full}: extra file, not in the manifest");
        };
        let mut hashing = Hashing {
            inner: data.take(listed.size.saturating_add(1)),
            hash: Sha256::new(),
            size: 0,
        };
        visit.file(name, &mut hashing)?;
        if hashing.size != listed.size {
            bail!(
                "{full}: {} bytes, the manifest says {}",
                hashing.size,
                listed.size
            );
        }
        let sha: String = hashing
            .hash
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if sha != listed.sha256 {
            bail!("{full}: damaged: its SHA-256 is not the manifest's");
        }
        Ok(())
    }
}

/// The manifest inside the archive at `path`, once every file in it is
/// whole; `None` when `path` is not named as an archive.
pub fn check_inside(path: &Path) -> Result<Option<Manifest>> {
    let Some((kind, _)) = Kind::of(path) else {
        return Ok(None);
    };
    walk(path, kind, &mut Check)
        .map(Some)
        .with_context(|| format!("{}", path.display()))
}

/// `dump2py --restore ARCHIVE`: checks and unpacks it into the temporary
/// directory, then runs `PYTHON restore.py --noinput ARGS` with the site's
/// settings; the exit status is restore.py's.
pub fn restore(
    archive: &Path,
    python: &str,
    settings: Option<&str>,
    pythonpath: &[PathBuf],
    args: &[String],
) -> Result<ExitCode> {
    let Some((kind, stem)) = Kind::of(archive) else {
        usage!(
            "--restore {}: not an archive's name (.zip, .tar.gz, .tar.zst)",
            archive.display()
        );
    };
    // The manifest beside it, when it came along.
    if staging::sidecar_of(archive).exists() {
        crate::verify::files(archive)?;
    }
    let spool = Spool::in_temp_dir()?;
    let dir = spool.path().join(&stem);
    fs::create_dir(&dir)?;
    walk(archive, kind, &mut Unpack(&dir)).with_context(|| {
        format!(
            "{}: refused, nothing was restored",
            archive.display()
        )
    })?;
    let mut cmd = Command::new(python);
    cmd.arg(dir.join("restore.py")).arg("--noinput").args(args);
    if let Some(s) = settings {
        cmd.env("DJANGO_SETTINGS_MODULE", s);
    }
    if !pythonpath.is_empty() {
        let mut paths: Vec<PathBuf> = pythonpath.to_vec();
        if let Some(old) = std::env::var_os("PYTHONPATH") {
            paths.extend(std::env::split_paths(&old));
        }
        cmd.env("PYTHONPATH", std::env::join_paths(paths)?);
    }
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    let mut child = cmd
        .spawn()
        .with_context(|| format!("can't run {python}"))?;
    let _watch = staging::watch_child(child.id());
    let status = child.wait()?;
    drop(spool);
    match status.code() {
        Some(0) => Ok(ExitCode::SUCCESS),
        Some(n) => bail!("restore.py of {} failed (exit status {n})", archive.display()),
        None => bail!("restore.py of {} was killed", archive.display()),
    }
}
