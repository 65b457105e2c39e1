//! `--media`: a whole-site snapshot. The Python dump also gets the site's
//! `MEDIA_ROOT` (under `media/`), `pip freeze` of the site's interpreter
//! and the settings module's name and the site's version (`site.json`),
//! all in its manifest; the sink copies them (`dump2py_python::site_files`),
//! this module finds them and reports what was left out.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result};
use dump2py_django::meta::SiteMeta;
use dump2py_plugin::registry::OptionValue;
use dump2py_python::site_files::{MEDIA_DIR, SITE_JSON};

/// The Python sink's extra options for `--media` (none without it):
/// `media_root`, `pip_freeze`, `python`. Refused without the site's
/// metadata or a Python dump, and when the dump would be inside MEDIA_ROOT.
pub fn sink_options(
    media: bool,
    meta: Option<&SiteMeta>,
    python: &str,
    output: Option<&Path>,
) -> Result<BTreeMap<String, OptionValue>> {
    if !media {
        return Ok(BTreeMap::new());
    }
    let Some(meta) = meta else {
        usage!("--media needs the site: give --settings MODULE (or --site-schema FILE)");
    };
    let Some(output) = output else {
        usage!("--media adds the site's files to the Python dump: give OUTPUT_DIR");
    };
    let Some(root) = meta.media_root.as_deref().filter(|r| !r.is_empty()) else {
        usage!(
            "--media: the site {} has no MEDIA_ROOT{}",
            meta.settings_module,
            " (or its site schema was saved by an older dump2py: export it again)"
        );
    };
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let root_abs = std::fs::canonicalize(root).unwrap_or_else(|_| absolute(Path::new(root)));
    let out_parent = output.parent().filter(|p| !p.as_os_str().is_empty());
    let out_abs = match out_parent.map(std::fs::canonicalize) {
        Some(Ok(p)) => p.join(output.file_name().unwrap_or_default()),
        _ => absolute(output),
    };
    if out_abs.starts_with(&root_abs) {
        usage!(
            "--media: the dump {} would be inside MEDIA_ROOT {}: write it elsewhere",
            output.display(),
            root
        );
    }
    use dump2py_python::site_files::{MEDIA_ROOT, PIP_FREEZE_KEY, PYTHON};
    let text = |t: &str| OptionValue::Text(t.to_string());
    Ok(BTreeMap::from([
        (MEDIA_ROOT.to_string(), text(root)),
        (
            PIP_FREEZE_KEY.to_string(),
            OptionValue::Text(pip_freeze(python)?),
        ),
        (PYTHON.to_string(), text(python)),
    ]))
}

/// `python -m pip freeze`: the site's packages, for the snapshot.
fn pip_freeze(python: &str) -> Result<String> {
    let out = Command::new(python)
        .args(["-m", "pip", "freeze"])
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .stdin(Stdio::null())
        .output()
        .with_context(|| {
            format!("--media: can't run the site's Python '{python}' for pip freeze")
        })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let why = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        anyhow::bail!(
            "--media: `{python} -m pip freeze` failed ({}): {}",
            out.status,
            crate::say::escape(why.trim())
        );
    }
    String::from_utf8(out.stdout)
        .map_err(|_| anyhow::anyhow!("--media: `{python} -m pip freeze` printed no UTF-8"))
}

/// After a dump with `--media`: what `site.json` says was copied, and a
/// warning for each link or special file of MEDIA_ROOT left out.
pub fn report(output: &Path, verbosity: u8) {
    let path = output.join(SITE_JSON);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
        return;
    };
    let skipped = json["not_followed"].as_array().cloned().unwrap_or_default();
    for s in skipped.iter().take(20) {
        eprintln!(
            "warning: --media: {}/{} is a {}: not followed, not in the dump",
            crate::say::escape(json["media_root"].as_str().unwrap_or("")),
            crate::say::escape(s["name"].as_str().unwrap_or("")),
            s["what"].as_str().unwrap_or("special file")
        );
    }
    if skipped.len() > 20 {
        eprintln!(
            "warning: --media: {} more left out (listed in {})",
            skipped.len() - 20,
            path.display()
        );
    }
    if verbosity > 0 {
        eprintln!(
            "Media: {} in {} ({} bytes) from {}.",
            crate::counted(json["media_files"].as_u64().unwrap_or(0), "file"),
            output.join(MEDIA_DIR).display(),
            json["media_bytes"].as_u64().unwrap_or(0),
            crate::say::escape(json["media_root"].as_str().unwrap_or(""))
        );
    }
}
