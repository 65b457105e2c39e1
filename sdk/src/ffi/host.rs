//! Loading a plugin library (the host side, behind the `host` feature, so
//! that a plugin links no `libloading`): [`load`] opens it, checks its ABI
//! version before touching anything else in it, and returns what it
//! provides for the registry, where it sits beside the built-ins.
//! Libraries are never unloaded: instances and declarations point into
//! them until the process ends.

use std::path::{Path, PathBuf};

use super::loader::PluginDecl;
use super::sink::SinkFns;
use super::source::SourceFns;
use super::transformer::TransformerFns;
use super::{one_line, slice, Prefixed, SinkDecl, SourceDecl, Str, TransformerDecl, ABI_VERSION};
use dump2py_model::error::{Error, Result};
use dump2py_plugin::registry::{self, Create, Origin, Registration};

/// What [`load`] found in a library.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub path: PathBuf,
    pub name: String,
    pub version: String,
    /// `kind name` of everything it registered, e.g. `transformer anonymize`.
    pub provides: Vec<String>,
}

/// The platform's file name ending of shared libraries (`so`, `dylib`, `dll`).
pub fn library_extension() -> &'static str {
    std::env::consts::DLL_EXTENSION
}

const NO_SYMBOL: &str = "not a dump2py plugin: it exports no DUMP2PY_PLUGIN \
                         (build it with dump2py-sdk's export_plugin!)";

/// Loads the plugin library at `path` and registers what it provides.
pub fn load(path: &Path) -> Result<Loaded> {
    // Listings and errors name the library by its absolute path.
    let path = &std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let shown = path.to_path_buf();
    let fail = |message: String| Error::Plugin {
        plugin: format!("plugin {}", shown.display()),
        message: one_line(&message),
    };
    if !path.is_file() {
        return Err(fail("no such file".into()));
    }
    // Loading runs the library's initialisers; nothing of ours is called
    // before the ABI version has been checked.
    // RTLD_NOW: a symbol no library defines is an error now, naming it,
    // not the end of the process at its first call.
    let lib: libloading::Library = unsafe {
        libloading::os::unix::Library::open(
            Some(path),
            libloading::os::unix::RTLD_NOW | libloading::os::unix::RTLD_LOCAL,
        )
    }
    .map_err(|e| fail(format!("not a loadable library: {e}")))?
    .into();
    // Never unloaded: instances and function pointers live as long as the
    // process (and unloading a library that failed to declare itself could
    // run its destructors for nothing).
    let lib: &'static libloading::Library = Box::leak(Box::new(lib));
    let decl_ptr = match unsafe { lib.get::<*const PluginDecl>(super::SYMBOL) } {
        Ok(sym) => *sym,
        Err(_) => return Err(fail(NO_SYMBOL.into())),
    };
    unsafe { register_decl(decl_ptr, path) }
}

/// Checks a plugin declaration's ABI version, then registers what it
/// provides, as coming from `path`. [`load`] calls it for a library's
/// `DUMP2PY_PLUGIN`; tests call it for a declaration linked in.
///
/// # Safety
/// `decl_ptr` is null or points to a declaration that lives for the rest
/// of the process; if its first `u32` is [`ABI_VERSION`], it is a
/// [`PluginDecl`] whose pointers are valid as `abi` describes.
pub unsafe fn register_decl(decl_ptr: *const PluginDecl, path: &Path) -> Result<Loaded> {
    let shown = path.to_path_buf();
    let fail = |message: String| Error::Plugin {
        plugin: format!("plugin {}", shown.display()),
        message: one_line(&message),
    };
    if decl_ptr.is_null() {
        return Err(fail("DUMP2PY_PLUGIN is a null pointer".into()));
    }
    // The first field is the version, whatever the rest looks like.
    let abi_version = std::ptr::read_unaligned(decl_ptr as *const u32);
    if abi_version != ABI_VERSION {
        return Err(fail(format!(
            "plugin ABI version {abi_version}, but this dump2py needs version {ABI_VERSION}: \
             rebuild the plugin against dump2py-sdk {} (or its dump2py_plugin.h)",
            env!("CARGO_PKG_VERSION")
        )));
    }
    let decl = PluginDecl::read_prefixed(decl_ptr, "DUMP2PY_PLUGIN").map_err(fail)?;
    let text = |s: Str, what: &str| s.to_string().map_err(|e| fail(format!("{what}: {e}")));
    let name = text(decl.name, "its name")?;
    let version = text(decl.version, "its version")?;
    let origin = Origin::Library(shown.clone());
    let label =
        |kind: &str, n: &str| format!("{kind} {n} (plugin {name} {version}, {})", shown.display());
    // Each entry of a list is read as far as its own size says.
    let list = |e: String, what: &str| fail(format!("its {what}: {e}"));
    let mut regs = Vec::new();
    let mut provides = Vec::new();
    let mut add = |kind: &str, name: String, schemes, create| {
        provides.push(format!("{kind} {name}"));
        regs.push(Registration {
            name,
            schemes,
            version: version.clone(),
            origin: origin.clone(),
            create,
        });
    };
    for &p in slice(decl.sources, decl.n_sources).map_err(|e| list(e, "sources"))? {
        let d = SourceDecl::read_prefixed(p, "a source").map_err(fail)?;
        let n = usable(text(d.name, "a source's name")?, "source", "").map_err(fail)?;
        let schemes: Vec<String> = (d.schemes.to_vec())
            .map_err(|e| fail(format!("source {n}: {e}")))?
            .into_iter()
            .map(|s| s.to_ascii_lowercase())
            .collect();
        if schemes.is_empty() {
            return Err(fail(format!("source {n} reads no URL scheme")));
        }
        // A scheme must be one that `registry::scheme` finds in a URL.
        if let Some(bad) = schemes
            .iter()
            .find(|s| registry::scheme(&format!("{s}:")) != Some(s.as_str()))
        {
            return Err(fail(format!("source {n}: '{bad}' is not a URL scheme")));
        }
        let f = SourceFns::new(&d).map_err(|m| fail(format!("source {n}: {m}")))?;
        let label = label("source", &n);
        let create = Create::Source(Box::new(move |url| f.open(&label, url)));
        add("source", n, schemes, create);
    }
    for &p in slice(decl.sinks, decl.n_sinks).map_err(|e| list(e, "sinks"))? {
        let d = SinkDecl::read_prefixed(p, "a sink").map_err(fail)?;
        // `-f NAME=TARGET` splits at the first '='.
        let n = usable(text(d.name, "a sink's name")?, "sink", "=").map_err(fail)?;
        let f = SinkFns::new(&d).map_err(|m| fail(format!("sink {n}: {m}")))?;
        let label = label("sink", &n);
        add(
            "sink",
            n,
            Vec::new(),
            Create::Sink(Box::new(move |o| f.create(&label, o))),
        );
    }
    for &p in slice(decl.transformers, decl.n_transformers).map_err(|e| list(e, "transformers"))? {
        let d = TransformerDecl::read_prefixed(p, "a transformer").map_err(fail)?;
        // `-T NAME:ARGS` splits at the first ':'.
        let n = usable(text(d.name, "a transformer's name")?, "transformer", ":").map_err(fail)?;
        let f = TransformerFns::new(&d).map_err(|m| fail(format!("transformer {n}: {m}")))?;
        let label = label("transformer", &n);
        let create = Create::Transformer(Box::new(move |args| f.create(&label, args)));
        add("transformer", n, Vec::new(), create);
    }
    if regs.is_empty() {
        return Err(fail(format!(
            "plugin {name} provides no source, sink or transformer"
        )));
    }
    registry::register(regs)?;
    Ok(Loaded {
        path: shown,
        name,
        version,
        provides,
    })
}

/// The shared libraries (by the platform's ending) in `dir`, in name order.
pub fn libraries_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut paths = Vec::new();
    for e in entries {
        let p = e.map_err(|e| Error::io(dir, e))?.path();
        if p.extension().and_then(|x| x.to_str()) == Some(library_extension()) && p.is_file() {
            paths.push(p);
        }
    }
    paths.sort();
    Ok(paths)
}

/// A name that the command line can reach: not empty, no white space, none
/// of `forbidden`.
fn usable(n: String, kind: &str, forbidden: &str) -> Result<String, String> {
    let bad = |c: char| c.is_whitespace() || forbidden.contains(c);
    if n.is_empty() || n.chars().any(bad) {
        Err(format!(
            "{kind} name '{n}' can't be used on the command line"
        ))
    } else {
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_and_a_text_file_are_named() {
        let dir = std::env::temp_dir().join(format!("dump2py-dyn-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tempdir");
        let missing = dir.join("nothing.so");
        let err = load(&missing)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("nothing.so: no such file"), "{err}");
        let text = dir.join("text.so");
        std::fs::write(&text, "not a library\n").expect("write");
        let err = load(&text).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            err.starts_with(&format!("plugin {}", text.display())),
            "{err}"
        );
        assert!(err.contains("not a loadable library"), "{err}");
        assert!(!err.contains('\n'));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
