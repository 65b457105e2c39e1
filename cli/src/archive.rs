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
//! With `--encrypt-to RECIPIENT` (age's X25519 `age1…` public keys,
//! repeatable) the archive is encrypted as it is written, in age's format
//! (chunks of 64 KiB, each authenticated): its name ends in `.age`
//! (`min1.tar.zst.age`). `--decrypt FILE --identity KEYFILE OUTPUT`
//! writes the plain archive (staged, checked inside, then published);
//! `--restore` and `--verify` of an `.age` file take `--identity`. A
//! changed byte fails age's authentication before anything is restored.
//! The identity is read from its file only, never printed.
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

use dump2py_staging::{self, HashedFile, Manifest, Spool, Staged, MANIFEST};

#[derive(clap::Args, Debug, Default)]
pub struct ArchiveArgs {
    /// Encrypt the archive (OUTPUT named like min1.tar.zst.age, or
    /// --snapshot-dir with --snapshot-format zip, tar.gz or tar.zst) to this
    /// age X25519 public key (age1…); repeatable: any of their identities decrypts it.
    #[arg(long, value_name = "RECIPIENT")]
    pub encrypt_to: Vec<String>,

    /// Decrypt FILE (an .age archive written with --encrypt-to) into
    /// OUTPUT (an archive's name, e.g. min1.tar.zst), checked before it is published.
    #[arg(long, value_name = "FILE", requires = "identity")]
    pub decrypt: Option<PathBuf>,

    /// The age identity file (AGE-SECRET-KEY-1…, as age-keygen writes it)
    /// for --decrypt, and for --restore or --verify of an .age archive.
    #[arg(long, value_name = "KEYFILE")]
    pub identity: Option<PathBuf>,

    /// Restore the dump in ARCHIVE (.zip, .tar.gz, .tar.zst, or .age with
    /// --identity) into the site (--settings, --python): checked and
    /// unpacked into the temporary directory (TMPDIR), then its restore.py
    /// run with --noinput.
    #[arg(long, value_name = "ARCHIVE")]
    pub restore: Option<PathBuf>,

    /// An argument for restore.py with --restore (repeatable), e.g. --restore-arg=--quick.
    #[arg(long, value_name = "ARG", allow_hyphen_values = true)]
    pub restore_arg: Vec<String>,
}

/// The identities of `--identity`, for every archive read in this run.
static IDENTITY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Notes `--identity` for reading `.age` archives.
pub fn use_identity(args: &ArchiveArgs) {
    if let Some(path) = &args.identity {
        let _ = IDENTITY.set(path.clone());
    }
}

/// The identities in the key file; an error never shows the file's text.
fn identities() -> Result<Option<Vec<Box<dyn age::Identity>>>> {
    let Some(path) = IDENTITY.get() else {
        return Ok(None);
    };
    let text = dump2py_model::files::read_small(path, 1 << 20)
        .with_context(|| format!("--identity {}", path.display()))?;
    let parsed = age::IdentityFile::from_buffer(text.as_slice())
        .ok()
        .and_then(|f| f.into_identities().ok())
        .filter(|ids| !ids.is_empty());
    match parsed {
        Some(ids) => Ok(Some(ids)),
        None => bail!(
            "--identity {}: not an age identity file (a line AGE-SECRET-KEY-1…, as age-keygen writes)",
            path.display()
        ),
    }
}

/// The reader of an `.age` file's plain text.
fn decrypting(file: File, what: &Path) -> Result<Box<dyn Read>> {
    let Some(ids) = identities()? else {
        bail!(
            "{}: encrypted: give --identity KEYFILE to read it",
            what.display()
        );
    };
    let decryptor = age::Decryptor::new_buffered(BufReader::new(file))
        .map_err(|e| anyhow::anyhow!("{}: not an age file: {e}", what.display()))?;
    let reader = decryptor
        .decrypt(ids.iter().map(|i| i.as_ref() as &dyn age::Identity))
        .map_err(|e| anyhow::anyhow!("{}: can't decrypt: {e}", what.display()))?;
    Ok(Box::new(reader))
}

/// The archive formats, by the name's suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Zip,
    TarGz,
    TarZst,
}

/// An archive's name: its kind, its stem, whether it ends in `.age`.
pub struct Named {
    pub kind: Kind,
    pub stem: String,
    pub encrypted: bool,
}

impl Named {
    pub fn of(path: &Path) -> Option<Named> {
        let name = path.file_name()?.to_str()?;
        let (name, encrypted) = match name.strip_suffix(".age") {
            Some(n) => (n, true),
            None => (name, false),
        };
        let (kind, stem) = Kind::of_name(name)?;
        Some(Named {
            kind,
            stem,
            encrypted,
        })
    }
}

impl Kind {
    /// The kind an archive's name asks for, with the name's stem.
    fn of_name(name: &str) -> Option<(Kind, String)> {
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
    recipients: Vec<age::x25519::Recipient>,
    // Dropped last: the dump packed.
    spool: Spool,
}

/// The recipients of `--encrypt-to`.
fn recipients(args: &ArchiveArgs) -> Result<Vec<age::x25519::Recipient>> {
    args.encrypt_to
        .iter()
        .map(|r| {
            r.parse::<age::x25519::Recipient>().map_err(|e| {
                crate::UsageError(format!(
                    "--encrypt-to {r}: not an age X25519 recipient (age1…): {e}"
                ))
                .into()
            })
        })
        .collect()
}

/// When `target` is an archive's name: its staging (the target checked
/// and locked) and where the dump goes first.
pub fn start(
    target: Option<&Path>,
    overwrite: bool,
    args: &ArchiveArgs,
) -> Result<Option<Packing>> {
    let recipients = recipients(args)?;
    let named = target.and_then(Named::of);
    let Some((target, named)) = target.zip(named) else {
        if !recipients.is_empty() {
            usage!(
                "--encrypt-to encrypts an archive: name the output like min1.tar.zst.age \
                 (with --snapshot-dir: --snapshot-format zip, tar.gz or tar.zst)"
            );
        }
        return Ok(None);
    };
    match (named.encrypted, recipients.is_empty()) {
        (true, true) => usage!(
            "{}: a name ending in .age is for an encrypted archive: give --encrypt-to RECIPIENT",
            target.display()
        ),
        (false, false) => usage!(
            "--encrypt-to: name the encrypted archive {}.age",
            target.display()
        ),
        _ => {}
    }
    let staged = Staged::new(target, overwrite, false).map_err(crate::usage_of)?;
    let spool = staged.spool()?;
    let dump_dir = spool.path().join(&named.stem);
    Ok(Some(Packing {
        staged,
        kind: named.kind,
        stem: named.stem,
        dump_dir,
        recipients,
        spool,
    }))
}

impl Packing {
    /// Where the Python sink writes the dump.
    pub fn dump_dir(&self) -> &Path {
        &self.dump_dir
    }

    /// Packs the published dump into the archive and publishes it.
    pub fn finish(mut self) -> Result<()> {
        let manifest =
            crate::checked::files(&self.dump_dir).context("the dump to pack does not verify")?;
        let mut names = vec![MANIFEST.to_string()];
        names.extend(manifest.files.iter().map(|f| f.name.clone()));
        let out = self.staged.path().to_path_buf();
        let io = |e: io::Error| anyhow::Error::from(e).context(format!("{}", out.display()));
        if !self.recipients.is_empty() {
            let encryptor = age::Encryptor::with_recipients(
                self.recipients.iter().map(|r| r as &dyn age::Recipient),
            )
            .map_err(|e| anyhow::anyhow!("--encrypt-to: {e}"))?;
            let sealed = encryptor
                .wrap_output(HashedFile::create(&out).map_err(io)?)
                .map_err(io)?;
            self.pack(sealed, &names)?
                .finish()
                .map_err(io)?
                .finish()
                .map_err(io)?;
        } else if self.kind == Kind::Zip {
            // Straight into the staging: zip writes its index at the end, seeking.
            self.zip(BufWriter::new(File::create(&out).map_err(io)?), &names)?
                .flush()
                .map_err(io)?;
        } else {
            self.pack(HashedFile::create(&out).map_err(io)?, &names)?
                .finish()
                .map_err(io)?;
        }
        for (table, rows) in &manifest.tables {
            self.staged.count_rows(table, *rows);
        }
        self.staged.publish_now()?;
        Ok(())
    }

    /// The archive as a stream into `w` (a zip is made in the spool first:
    /// it seeks).
    fn pack<W: Write>(&self, mut w: W, names: &[String]) -> Result<W> {
        match self.kind {
            Kind::Zip => {
                let tmp = self.spool.path().join("packed.zip");
                self.zip(File::create(&tmp)?, names)?;
                io::copy(&mut File::open(&tmp)?, &mut w)?;
                fs::remove_file(&tmp)?;
                Ok(w)
            }
            Kind::TarGz => {
                let gz = flate2::write::GzEncoder::new(w, flate2::Compression::default());
                Ok(self.tar(gz, names)?.finish()?)
            }
            Kind::TarZst => {
                let zst = zstd::Encoder::new(w, 3)?;
                Ok(self.tar(zst, names)?.finish()?)
            }
        }
    }

    /// The dump's files as a zip into `w`, the manifest first.
    fn zip<W: Write + io::Seek>(&self, w: W, names: &[String]) -> Result<W> {
        let mut zip = zip::ZipWriter::new(w);
        for name in names {
            let path = self.dump_dir.join(name);
            let size = fs::metadata(&path)?.len();
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .large_file(size >= u64::from(u32::MAX))
                .unix_permissions(0o644);
            zip.start_file(format!("{}/{name}", self.stem), options)?;
            io::copy(&mut File::open(&path)?, &mut zip)?;
        }
        Ok(zip.finish()?)
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
fn walk(path: &Path, kind: Kind, encrypted: bool, visit: &mut dyn Visit) -> Result<Manifest> {
    let file = File::open(path).with_context(|| format!("{}", path.display()))?;
    let mut state = Walk {
        stem: None,
        manifest: None,
        seen: BTreeSet::new(),
    };
    match kind {
        Kind::Zip => {
            // An encrypted zip is decrypted into a spool first: zip reads
            // its index at the end.
            let mut _plain = None;
            let zip_file = if encrypted {
                let spool = Spool::in_temp_dir()?;
                let tmp = spool.path().join("plain.zip");
                io::copy(&mut decrypting(file, path)?, &mut File::create(&tmp)?)
                    .map_err(|e| anyhow::anyhow!("{}: can't decrypt: {e}", path.display()))?;
                _plain = Some(spool);
                File::open(&tmp)?
            } else {
                file
            };
            let mut zip = zip::ZipArchive::new(BufReader::new(zip_file))
                .with_context(|| format!("{}: not a zip archive", path.display()))?;
            // The manifest first, wherever it is.
            let mut order: Vec<usize> = (0..zip.len()).collect();
            let first = zip.file_names().find(|n| {
                n.split_once('/')
                    .is_some_and(|(dir, rest)| rest == MANIFEST && !dir.is_empty())
            });
            if let Some(i) = first
                .map(str::to_string)
                .and_then(|n| zip.index_for_name(&n))
            {
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
            let file: Box<dyn Read> = if encrypted {
                decrypting(file, path)?
            } else {
                Box::new(file)
            };
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
    if let Some(missing) = manifest
        .files
        .iter()
        .find(|f| !state.seen.contains(&f.name))
    {
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
            data.take(dump2py_model::files::MAX_JSON)
                .read_to_end(&mut text)?;
            let m: Manifest =
                serde_json::from_slice(&text).with_context(|| format!("{full}: not a manifest"))?;
            if m.format != dump2py_staging::FORMAT_DIR {
                bail!(
                    "{full}: the manifest of a {}, not of a Python dump",
                    m.format
                );
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
/// whole; `None` when `path` is not named as an archive, or is encrypted
/// and no `--identity` was given (an error instead when `required`).
pub fn check_inside(path: &Path, required: bool) -> Result<Option<Manifest>> {
    let Some(named) = Named::of(path) else {
        return Ok(None);
    };
    if named.encrypted && IDENTITY.get().is_none() {
        if required {
            bail!(
                "{}: encrypted, without its manifest beside it: give --identity KEYFILE to check it",
                path.display()
            );
        }
        return Ok(None);
    }
    walk(path, named.kind, named.encrypted, &mut Check)
        .map(Some)
        .with_context(|| format!("{}", path.display()))
}

/// `dump2py --decrypt FILE --identity KEYFILE OUTPUT`: OUTPUT (an
/// archive's name) is published once FILE decrypted whole (age checks
/// each chunk) and every file inside matches the manifest inside.
pub fn decrypt(
    file: &Path,
    output: Option<&Path>,
    overwrite: bool,
    verbosity: u8,
) -> Result<ExitCode> {
    let Some(output) = output else {
        usage!("--decrypt FILE --identity KEYFILE OUTPUT: name OUTPUT, the plain archive (e.g. min1.tar.zst)");
    };
    let Some(named) = Named::of(output).filter(|n| !n.encrypted) else {
        usage!(
            "--decrypt: OUTPUT {} must be named as a plain archive (.zip, .tar.gz, .tar.zst)",
            output.display()
        );
    };
    let source = File::open(file).with_context(|| format!("--decrypt {}", file.display()))?;
    let mut reader = decrypting(source, file)?;
    let mut staged = Staged::new(output, overwrite, false).map_err(crate::usage_of)?;
    let out = staged.path().to_path_buf();
    let mut w = HashedFile::create(&out).with_context(|| format!("{}", out.display()))?;
    io::copy(&mut reader, &mut w).map_err(|e| {
        anyhow::anyhow!(
            "{}: can't decrypt: {e}: refused, {} was not written",
            file.display(),
            output.display()
        )
    })?;
    w.finish().with_context(|| format!("{}", out.display()))?;
    let manifest = walk(&out, named.kind, false, &mut Check).with_context(|| {
        format!(
            "{}: decrypted, but not a whole dump2py archive: {} was not written",
            file.display(),
            output.display()
        )
    })?;
    for (table, rows) in &manifest.tables {
        staged.count_rows(table, *rows);
    }
    staged.publish_now()?;
    if verbosity > 0 {
        eprintln!(
            "Decrypted {} to {} ({}, {}).",
            file.display(),
            output.display(),
            crate::counted(manifest.files.len() as u64, "file"),
            crate::counted(manifest.tables.values().sum(), "row")
        );
    }
    Ok(ExitCode::SUCCESS)
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
    let Some(named) = Named::of(archive) else {
        usage!(
            "--restore {}: not an archive's name (.zip, .tar.gz, .tar.zst, or one of them .age)",
            archive.display()
        );
    };
    // Each file is checked against the manifest inside as it comes out.
    let spool = Spool::in_temp_dir()?;
    let dir = spool.path().join(&named.stem);
    fs::create_dir(&dir)?;
    walk(archive, named.kind, named.encrypted, &mut Unpack(&dir))
        .with_context(|| format!("{}: refused, nothing was restored", archive.display()))?;
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
    let mut child = cmd.spawn().with_context(|| format!("can't run {python}"))?;
    let _watch = dump2py_staging::watch_child(child.id());
    let status = child.wait()?;
    drop(spool);
    match status.code() {
        Some(0) => Ok(ExitCode::SUCCESS),
        Some(n) => bail!(
            "restore.py of {} failed (exit status {n})",
            archive.display()
        ),
        None => bail!("restore.py of {} was killed", archive.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tar.gz of `entries` (raw names, as a hostile archive may hold them).
    fn tar_gz(path: &Path, entries: &[(&str, &[u8])]) {
        let file = File::create(path).expect("create");
        let gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        for (name, data) in entries {
            let mut header = tar::Header::new_ustar();
            let raw = &mut header.as_old_mut().name;
            raw[..name.len()].copy_from_slice(name.as_bytes());
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_entry_type(tar::EntryType::Regular);
            header.set_cksum();
            tar.append(&header, *data).expect("append");
        }
        tar.into_inner().expect("tar").finish().expect("gz");
    }

    fn manifest_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let files: Vec<dump2py_staging::ManifestFile> = files
            .iter()
            .map(|(name, data)| dump2py_staging::ManifestFile {
                name: name.to_string(),
                size: data.len() as u64,
                sha256: Sha256::digest(data)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect(),
            })
            .collect();
        let m = Manifest {
            format: dump2py_staging::FORMAT_DIR.to_string(),
            version: "test".to_string(),
            files,
            tables: Default::default(),
            run: "test".to_string(),
        };
        serde_json::to_vec(&m).expect("json")
    }

    fn error_of(entries: &[(&str, &[u8])]) -> String {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.tar.gz");
        tar_gz(&path, entries);
        let out = dir.path().join("out");
        fs::create_dir(&out).expect("mkdir");
        let err = walk(&path, Kind::TarGz, false, &mut Unpack(&out))
            .expect_err("refused")
            .to_string();
        // Nothing was written outside the directory.
        assert!(!dir.path().join("evil.py").exists());
        err
    }

    #[test]
    fn hostile_or_incomplete_archives_are_refused() {
        let data: &[u8] = b"print(1)\n";
        let manifest = manifest_of(&[("restore.py", data)]);
        let ok = [("d/dump2py.json", &manifest[..]), ("d/restore.py", data)];
        {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("x.tar.gz");
            tar_gz(&path, &ok);
            let m = walk(&path, Kind::TarGz, false, &mut Check).expect("whole");
            assert_eq!(m.files.len(), 1);
        }
        let e = error_of(&[("d/dump2py.json", &manifest), ("d/../evil.py", data)]);
        assert!(e.contains("d/../evil.py: not a file of the dump d/"), "{e}");
        let e = error_of(&[("d/restore.py", data), ("d/dump2py.json", &manifest)]);
        assert!(e.contains("before the manifest"), "{e}");
        let e = error_of(&[("d/dump2py.json", &manifest)]);
        assert!(e.contains("d/restore.py: missing"), "{e}");
        let e = error_of(&[
            ("d/dump2py.json", &manifest),
            ("d/restore.py", b"print(2)\n"),
        ]);
        assert!(e.contains("damaged"), "{e}");
        let e = error_of(&[
            ("d/dump2py.json", &manifest),
            ("d/restore.py", data),
            ("d/restore.py", data),
        ]);
        assert!(e.contains("twice"), "{e}");
        let e = error_of(&[("../dump2py.json", &manifest)]);
        assert!(e.contains("before the manifest"), "{e}");
    }
}
