//! The site behind `--settings`: its settings module, its Python, its
//! metadata, its languages.

use std::path::PathBuf;

use anyhow::Result;
use dump2py_django::meta::SiteMeta;

use crate::{args::Cli, UsageError};

/// `--settings`, else `DJANGO_SETTINGS_MODULE` as every Django command
/// (not with `--site-schema`, which replaces the site), and where it comes
/// from.
pub(crate) fn settings(cli: &Cli) -> Option<(String, &'static str)> {
    if let Some(s) = &cli.settings {
        return Some((s.clone(), "--settings"));
    }
    if cli.site_schema.is_some() {
        return None;
    }
    std::env::var("DJANGO_SETTINGS_MODULE")
        .ok()
        .filter(|s| !s.is_empty())
        .map(|s| (s, "DJANGO_SETTINGS_MODULE"))
}

/// The site's metadata, read by its Python; an error names where the
/// settings module came from.
pub(crate) fn site_meta(cli: &Cli, (settings, from): &(String, &str)) -> Result<SiteMeta> {
    let python = site_python(cli.python.as_deref(), cli.verbosity);
    let meta = SiteMeta::from_site(
        &python,
        settings,
        &cli.pythonpath,
        dump2py_staging::watch_child,
    );
    match (meta, *from) {
        (Ok(m), _) => Ok(m),
        (Err(e), "--settings") => Err(e.into()),
        (Err(e), from) => Err(anyhow::Error::from(e).context(format!("{from}={settings}"))),
    }
}

/// Each language code once, letters, digits, `-` and `_` only (`en`,
/// `pt-br`, `zh_hant`): they become column-name suffixes.
pub(crate) fn check_languages(languages: &[String]) -> Result<(), UsageError> {
    for (i, code) in languages.iter().enumerate() {
        let mut parts = code.split(['-', '_']);
        let first_ok = parts.next().is_some_and(|p| {
            (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic())
        });
        let rest_ok = parts
            .all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
        if code.contains(char::is_whitespace) {
            usage!(
                "--languages '{}': separate with commas, e.g. en,de,fr",
                languages.join(",")
            );
        }
        if code.is_empty() {
            usage!(
                "--languages '{}': item {} is empty",
                languages.join(","),
                i + 1
            );
        }
        if !first_ok || !rest_ok {
            usage!("--languages: '{code}' is not a language code (such as en, de or pt-br)");
        }
        if languages[..i].contains(code) {
            usage!("--languages: '{code}' is given twice");
        }
    }
    Ok(())
}

/// The site's interpreter: `--python`, else the `python` beside this binary
/// (pip installs dump2py into the site's virtualenv), else `python3`.
pub(crate) fn site_python(given: Option<&str>, verbosity: u8) -> String {
    let (python, why) = match given {
        Some(p) => (p.to_string(), "--python"),
        None => match beside_binary() {
            Some(p) => (p.display().to_string(), "installed beside dump2py"),
            None => ("python3".to_string(), "from the PATH"),
        },
    };
    if verbosity >= 2 {
        eprintln!("Python interpreter of the site: {python} ({why})");
    }
    python
}

pub(crate) fn beside_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    ["python", "python3"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}
