//! Where plugins are found by name. Built-ins register themselves with
//! `inventory::submit!` at link time; plugins loaded from shared libraries
//! (`abi::loader`) join them with [`register`]. Sources are found by URL
//! scheme, sinks by format name, transformers by name.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::{Sink, Source, Transformer};
use dump2py_model::database::Database;
use dump2py_model::error::{Error, Result};

/// What a sink's own option takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionKind {
    /// On when given (`--natural-foreign`).
    Flag,
    /// A whole number from 0 to `max` (`--indent 2`).
    Number { max: u64 },
}

/// An option a sink declares for itself ([`SinkFactory::options`]): the
/// command line offers it as `--NAME` and refuses it unless an output of a
/// sink that declares it is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkOption {
    /// `natural-foreign`: the long option's name, and the key of its value.
    pub name: &'static str,
    pub kind: OptionKind,
    pub help: &'static str,
}

/// A value given for a sink's option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionValue {
    Flag,
    Number(u64),
    /// As a plugin library receives it across the ABI.
    Text(String),
}

/// How a sink is created: what every sink may use (a sink ignores what it
/// doesn't need), and the values of the options it declared.
#[derive(Debug, Clone, Default)]
pub struct SinkOptions {
    /// A file or directory, or `-` for standard output.
    pub target: PathBuf,
    pub overwrite: bool,
    /// Lino's `--max-row-count`.
    pub max_row_count: u64,
    /// Threads a sink may format rows on (`-j`), at least 1.
    pub jobs: usize,
    /// The declared options given, by name.
    pub values: BTreeMap<String, OptionValue>,
}

impl SinkOptions {
    /// Whether the flag `name` was given.
    pub fn flag(&self, name: &str) -> bool {
        match self.values.get(name) {
            Some(OptionValue::Flag) => true,
            Some(OptionValue::Text(t)) => t == "1",
            _ => false,
        }
    }

    /// The number given for `name`.
    pub fn number(&self, name: &str) -> Result<Option<u64>> {
        match self.values.get(name) {
            None | Some(OptionValue::Flag) => Ok(None),
            Some(OptionValue::Number(n)) => Ok(Some(*n)),
            Some(OptionValue::Text(t)) => t
                .parse()
                .map(Some)
                .map_err(|_| Error::Usage(format!("--{name} {t}: expected a number"))),
        }
    }

    /// Every value as text, for a plugin library (`1` for a flag).
    pub fn texts(&self) -> Vec<(String, String)> {
        (self.values.iter())
            .map(|(k, v)| {
                let text = match v {
                    OptionValue::Flag => "1".to_string(),
                    OptionValue::Number(n) => n.to_string(),
                    OptionValue::Text(t) => t.clone(),
                };
                (k.clone(), text)
            })
            .collect()
    }
}

pub struct SourceFactory {
    pub name: &'static str,
    /// URL schemes this source reads, e.g. `sqlite`.
    pub schemes: &'static [&'static str],
    pub version: &'static str,
    pub open: fn(url: &str) -> Result<Box<dyn Source>>,
    /// The Django ENGINEs this source reads, by their last dotted part
    /// (`postgresql` for `django.db.backends.postgresql`).
    pub django_engines: &'static [&'static str],
    /// A site's `DATABASES` entry for one of them → this source's URL, so
    /// that each source owns its driver's OPTIONS.
    pub django_url: fn(db: &Database) -> Result<String>,
    /// Command-line flags that stand for a URL parameter of this source.
    pub flags: &'static [SourceFlag],
}

/// A flag a source declares: `--NAME` on the command line sets the URL
/// parameter `param=1`, and is refused for another source's URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceFlag {
    /// `allow-empty`.
    pub name: &'static str,
    /// `allow_empty`.
    pub param: &'static str,
    pub help: &'static str,
}

/// The flags the built-in sources declare, each once, with the schemes of
/// the sources that declare it.
pub fn source_flags() -> Vec<(SourceFlag, Vec<&'static str>)> {
    let mut out: Vec<(SourceFlag, Vec<&'static str>)> = Vec::new();
    for f in sources() {
        for flag in f.flags {
            match out.iter_mut().find(|(seen, _)| seen.name == flag.name) {
                Some((_, schemes)) => schemes.extend(f.schemes),
                None => out.push((*flag, f.schemes.to_vec())),
            }
        }
    }
    out
}

pub struct SinkFactory {
    /// The format name, e.g. `python`.
    pub name: &'static str,
    pub version: &'static str,
    pub create: fn(options: &SinkOptions) -> Result<Box<dyn Sink>>,
    /// The options of its own that it reads from [`SinkOptions::values`].
    pub options: &'static [SinkOption],
}

pub struct TransformerFactory {
    pub name: &'static str,
    pub version: &'static str,
    pub create: fn(args: &str) -> Result<Box<dyn Transformer>>,
}

/// The options the built-in sinks declare, each once, with the formats
/// that declare it, in registration order.
pub fn sink_options() -> Vec<(SinkOption, Vec<&'static str>)> {
    let mut out: Vec<(SinkOption, Vec<&'static str>)> = Vec::new();
    for f in sinks() {
        for o in f.options {
            match out.iter_mut().find(|(seen, _)| seen.name == o.name) {
                Some((_, formats)) => formats.push(f.name),
                None => out.push((*o, vec![f.name])),
            }
        }
    }
    out
}

inventory::collect!(SourceFactory);
inventory::collect!(SinkFactory);
inventory::collect!(TransformerFactory);

/// The URL's scheme: `sqlite` for `sqlite:demo.db` and `sqlite:///x`.
pub fn scheme(url: &str) -> Option<&str> {
    let (scheme, _) = url.split_once(':')?;
    let ok = !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    ok.then_some(scheme)
}

pub fn sources() -> Vec<&'static SourceFactory> {
    let mut v: Vec<_> = inventory::iter::<SourceFactory>.into_iter().collect();
    v.sort_by_key(|f| f.name);
    v
}

pub fn sinks() -> Vec<&'static SinkFactory> {
    let mut v: Vec<_> = inventory::iter::<SinkFactory>.into_iter().collect();
    v.sort_by_key(|f| f.name);
    v
}

pub fn transformers() -> Vec<&'static TransformerFactory> {
    let mut v: Vec<_> = inventory::iter::<TransformerFactory>.into_iter().collect();
    v.sort_by_key(|f| f.name);
    v
}

/// Where a plugin comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    BuiltIn,
    /// The shared library it was loaded from.
    Library(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::BuiltIn => f.write_str("built in"),
            Origin::Library(p) => write!(f, "{}", p.display()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Source,
    Sink,
    Transformer,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Source => "source",
            Kind::Sink => "sink",
            Kind::Transformer => "transformer",
        })
    }
}

pub type OpenSourceFn = Box<dyn Fn(&str) -> Result<Box<dyn Source>> + Send + Sync>;
pub type CreateSinkFn = Box<dyn Fn(&SinkOptions) -> Result<Box<dyn Sink>> + Send + Sync>;
pub type CreateTransformerFn = Box<dyn Fn(&str) -> Result<Box<dyn Transformer>> + Send + Sync>;

/// How a registered plugin makes its instances.
pub enum Create {
    Source(OpenSourceFn),
    Sink(CreateSinkFn),
    Transformer(CreateTransformerFn),
}

/// A plugin that joins the built-ins at run time.
pub struct Registration {
    pub name: String,
    /// For a source: the URL schemes it reads (lowercase, no colon).
    pub schemes: Vec<String>,
    pub version: String,
    pub origin: Origin,
    pub create: Create,
}

impl Registration {
    fn kind(&self) -> Kind {
        match self.create {
            Create::Source(_) => Kind::Source,
            Create::Sink(_) => Kind::Sink,
            Create::Transformer(_) => Kind::Transformer,
        }
    }
}

/// One line of `--list-plugins`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Listed {
    pub kind: Kind,
    pub name: String,
    pub version: String,
    /// A source's URL schemes; empty for sinks and transformers.
    pub schemes: Vec<String>,
    pub origin: Origin,
}

static LOADED: Mutex<Vec<Arc<Registration>>> = Mutex::new(Vec::new());

fn loaded() -> Vec<Arc<Registration>> {
    // A panic elsewhere can't leave the list half-changed: pushes are whole.
    LOADED.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Every source, sink and transformer, built in or loaded, sorted by kind
/// (sources, sinks, transformers), then name, then origin.
pub fn listing() -> Vec<Listed> {
    let mut v: Vec<Listed> = Vec::new();
    for f in sources() {
        v.push(Listed {
            kind: Kind::Source,
            name: f.name.to_string(),
            version: f.version.to_string(),
            schemes: f.schemes.iter().map(|s| s.to_string()).collect(),
            origin: Origin::BuiltIn,
        });
    }
    for f in sinks() {
        v.push(Listed {
            kind: Kind::Sink,
            name: f.name.to_string(),
            version: f.version.to_string(),
            schemes: Vec::new(),
            origin: Origin::BuiltIn,
        });
    }
    for f in transformers() {
        v.push(Listed {
            kind: Kind::Transformer,
            name: f.name.to_string(),
            version: f.version.to_string(),
            schemes: Vec::new(),
            origin: Origin::BuiltIn,
        });
    }
    for r in loaded() {
        v.push(Listed {
            kind: r.kind(),
            name: r.name.clone(),
            version: r.version.clone(),
            schemes: r.schemes.clone(),
            origin: r.origin.clone(),
        });
    }
    v.sort();
    v
}

/// Adds plugins loaded at run time; all or none. A name (or a source's
/// scheme) that is already taken is an error naming both origins.
pub fn register(new: Vec<Registration>) -> Result<()> {
    let mut taken: Vec<(Kind, String, Origin)> = Vec::new();
    for l in listing() {
        if l.kind == Kind::Source {
            for s in &l.schemes {
                taken.push((l.kind, format!("{s}:"), l.origin.clone()));
            }
        }
        taken.push((l.kind, l.name, l.origin));
    }
    for r in &new {
        let kind = r.kind();
        let mut keys = vec![r.name.clone()];
        if kind == Kind::Source {
            keys.extend(r.schemes.iter().map(|s| format!("{s}:")));
        }
        for key in keys {
            if let Some((_, _, other)) = taken.iter().find(|(k, n, _)| *k == kind && *n == key) {
                let what = if key.ends_with(':') {
                    format!("URL scheme '{key}'")
                } else {
                    format!("{kind} '{key}'")
                };
                let other = match other {
                    Origin::BuiltIn => "a built-in".to_string(),
                    Origin::Library(p) => p.display().to_string(),
                };
                return Err(Error::Plugin {
                    plugin: format!("plugin {}", r.origin),
                    message: format!("{what} is already provided by {other}"),
                });
            }
            taken.push((kind, key, r.origin.clone()));
        }
    }
    LOADED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .extend(new.into_iter().map(Arc::new));
    Ok(())
}

fn names_of(kind: Kind) -> String {
    let names: Vec<String> = listing()
        .into_iter()
        .filter(|l| l.kind == kind)
        .flat_map(|l| match kind {
            Kind::Source => l.schemes.iter().map(|s| format!("{s}:")).collect(),
            _ => vec![l.name],
        })
        .collect();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

/// Opens the source that reads `url`'s scheme.
pub fn open_source(url: &str) -> Result<Box<dyn Source>> {
    let scheme = scheme(url).ok_or_else(|| {
        Error::Usage(format!(
            "database URL {} has no scheme; expected one of: {}",
            dump2py_model::url::redact(url),
            names_of(Kind::Source)
        ))
    })?;
    let lower = scheme.to_ascii_lowercase();
    if let Some(f) = sources()
        .into_iter()
        .find(|f| f.schemes.contains(&lower.as_str()))
    {
        return (f.open)(url);
    }
    for r in loaded() {
        if let Create::Source(open) = &r.create {
            if r.schemes.contains(&lower) {
                return open(url);
            }
        }
    }
    Err(Error::Usage(format!(
        "unknown database URL scheme '{scheme}:'; supported: {}",
        names_of(Kind::Source)
    )))
}

/// The URL of a site's database, made by the source that reads its engine.
pub fn django_url(db: &Database) -> Result<String> {
    let engine = db.engine.rsplit('.').next().unwrap_or("");
    match sources()
        .into_iter()
        .find(|f| f.django_engines.contains(&engine))
    {
        Some(f) => (f.django_url)(db),
        None => Err(Error::Usage(format!(
            "the site's database engine {} is not supported",
            db.engine
        ))),
    }
}

pub fn create_sink(format: &str, options: &SinkOptions) -> Result<Box<dyn Sink>> {
    if let Some(f) = sinks().into_iter().find(|f| f.name == format) {
        return (f.create)(options);
    }
    for r in loaded() {
        if let Create::Sink(create) = &r.create {
            if r.name == format {
                return create(options);
            }
        }
    }
    Err(Error::Usage(format!(
        "unknown output format '{format}'; supported: {}",
        names_of(Kind::Sink)
    )))
}

/// `name[:args]` → a transformer.
pub fn create_transformer(spec: &str) -> Result<Box<dyn Transformer>> {
    let (name, args) = spec.split_once(':').unwrap_or((spec, ""));
    if let Some(f) = transformers().into_iter().find(|f| f.name == name) {
        return (f.create)(args);
    }
    for r in loaded() {
        if let Create::Transformer(create) = &r.create {
            if r.name == name {
                return create(args);
            }
        }
    }
    Err(Error::Usage(format!(
        "unknown transformer '{name}'; available: {}",
        names_of(Kind::Transformer)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_engine_is_named() {
        let db = Database {
            engine: "django.db.backends.oracle".into(),
            name: "lino".into(),
            ..Database::default()
        };
        assert_eq!(
            django_url(&db).err().map(|e| e.to_string()).as_deref(),
            Some("the site's database engine django.db.backends.oracle is not supported")
        );
    }

    #[test]
    fn schemes() {
        assert_eq!(scheme("sqlite:demo.db"), Some("sqlite"));
        assert_eq!(scheme("postgres://u:p@h/db"), Some("postgres"));
        assert_eq!(scheme("demo.db"), None);
        assert_eq!(scheme("C:\\x"), Some("C"));
    }

    #[test]
    fn unknown_scheme_is_named() {
        let err = open_source("oracle://scott:tiger@h/db")
            .err()
            .map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(
            err.contains("unknown database URL scheme 'oracle:'"),
            "{err}"
        );
        assert!(!err.contains("tiger"));
    }
}
