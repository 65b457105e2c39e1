//! The command line's side of plugins: `--plugin PATH`, the directories of
//! `DUMP2PY_PLUGIN_PATH`, `-T/--transform NAME[:ARGS]` and `--list-plugins`.

use std::collections::HashSet;
use std::path::PathBuf;

use anyhow::{Context, Result};
use dump2py_plugin::registry::{self, Kind};
use dump2py_plugin::Transformer;
use dump2py_sdk::ffi::host;

/// Directories whose shared libraries are loaded as plugins, separated
/// like PATH.
pub const PATH_ENV: &str = "DUMP2PY_PLUGIN_PATH";

#[derive(clap::Args, Debug, Default)]
pub struct PluginArgs {
    /// Load sources, sinks and transformers from the shared library PATH (repeatable); the
    /// libraries in the directories of DUMP2PY_PLUGIN_PATH are loaded too.
    #[arg(long = "plugin", value_name = "PATH")]
    pub plugins: Vec<PathBuf>,

    /// Pass the rows through the transformer NAME (built in or from a plugin) with its ARGS;
    /// repeatable, applied in the order given, before every output.
    #[arg(short = 'T', long = "transform", value_name = "NAME[:ARGS]")]
    pub transforms: Vec<String>,

    /// List every source, sink and transformer, where it comes from and its version, then exit.
    #[arg(long)]
    pub list_plugins: bool,
}

impl PluginArgs {
    /// The libraries of DUMP2PY_PLUGIN_PATH (directory by directory, each
    /// in name order), then those of `--plugin`.
    pub fn libraries(&self) -> Result<Vec<PathBuf>> {
        let mut paths = Vec::new();
        if let Some(dirs) = std::env::var_os(PATH_ENV) {
            for dir in std::env::split_paths(&dirs) {
                if dir.as_os_str().is_empty() {
                    continue;
                }
                paths.extend(host::libraries_in(&dir).with_context(|| PATH_ENV)?);
            }
        }
        paths.extend(self.plugins.iter().cloned());
        Ok(paths)
    }

    /// Loads the libraries, each file once.
    pub fn load(&self) -> Result<()> {
        let mut seen = HashSet::new();
        for path in self.libraries()? {
            // The same library twice (in a directory and by --plugin) is no conflict.
            let key = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            if seen.insert(key) {
                host::load(&path)?;
            }
        }
        Ok(())
    }

    /// The transformers of `-T`, in order. An unknown name says how to
    /// load a plugin, and where a library of that name lies.
    pub fn transformers(&self) -> Result<Vec<Box<dyn Transformer>>> {
        let mut out = Vec::new();
        for spec in &self.transforms {
            let name = spec.split_once(':').map_or(spec.as_str(), |(n, _)| n);
            let known = registry::listing()
                .into_iter()
                .any(|l| l.kind == Kind::Transformer && l.name == name);
            match registry::create_transformer(spec) {
                Ok(t) => out.push(t),
                Err(dump2py_model::Error::Usage(m)) if !known => {
                    let hint = match built_library(name) {
                        Some(lib) => format!(
                            "; a plugin's transformer needs its library: --plugin {}",
                            lib.display()
                        ),
                        None => "; a plugin's transformer needs its library: --plugin PATH \
                                 (or its directory in DUMP2PY_PLUGIN_PATH)"
                            .to_string(),
                    };
                    return Err(crate::UsageError(format!("{m}{hint}")).into());
                }
                Err(e) => return Err(crate::usage_of(e)),
            }
        }
        Ok(out)
    }
}

/// A plugin library built with this workspace for the transformer `name`
/// (`libdump2py_NAME.so`): beside this binary, in the other cargo profile
/// directory beside it, or in `./target/{release,debug}`.
fn built_library(name: &str) -> Option<PathBuf> {
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return None;
    }
    let file = format!(
        "{}dump2py_{}{}",
        std::env::consts::DLL_PREFIX,
        name.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    );
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(PathBuf::from))
    {
        if let Some(up) = dir.parent() {
            dirs.extend([dir.clone(), up.join("release"), up.join("debug")]);
        } else {
            dirs.push(dir);
        }
    }
    dirs.extend([
        PathBuf::from("target/release"),
        PathBuf::from("target/debug"),
    ]);
    dirs.into_iter()
        .map(|d| d.join(&file))
        .find(|p| p.is_file())
}

/// `--list-plugins`: one line per source, sink and transformer, sorted by
/// kind, then name; columns aligned.
pub fn listing() -> String {
    let mut rows = vec![[
        "KIND".to_string(),
        "NAME".to_string(),
        "VERSION".to_string(),
        "URL SCHEMES".to_string(),
        "FROM".to_string(),
    ]];
    for l in registry::listing() {
        let schemes = match l.kind {
            Kind::Source => l
                .schemes
                .iter()
                .map(|s| format!("{s}:"))
                .collect::<Vec<_>>()
                .join(","),
            _ => "-".to_string(),
        };
        rows.push([
            l.kind.to_string(),
            l.name,
            l.version,
            schemes,
            l.origin.to_string(),
        ]);
    }
    let mut widths = [0usize; 4];
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for r in rows {
        for (cell, w) in r.iter().zip(widths) {
            out.push_str(&format!("{cell:<w$}  "));
        }
        out.push_str(&r[4]);
        out.push('\n');
    }
    out
}
