//! age encryption of archives (X25519 recipients, `--encrypt-to`), and
//! the identity that decrypts them (`--identity`), whose text is never
//! shown.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The identities of `--identity`, for every archive read in this run.
static IDENTITY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Notes `--identity` for reading `.age` archives.
pub fn use_identity(identity: Option<&PathBuf>) {
    if let Some(path) = identity {
        let _ = IDENTITY.set(path.clone());
    }
}

/// The identities in the key file; an error never shows the file's text.
pub(crate) fn identities() -> Result<Option<Vec<Box<dyn age::Identity>>>> {
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
pub(crate) fn decrypting(file: File, what: &Path) -> Result<Box<dyn Read>> {
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

/// Whether `--identity` was given.
pub(crate) fn has_identity() -> bool {
    IDENTITY.get().is_some()
}

/// The recipients of `--encrypt-to`.
pub(crate) fn recipients(encrypt_to: &[String]) -> Result<Vec<age::x25519::Recipient>> {
    encrypt_to
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
