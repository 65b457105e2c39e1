//! `--into URL` and `--flush`: the database sink (dump2py-database), fed by
//! the same pass as every other output.

use anyhow::Result;
use dump2py_database::{DatabaseSink, IntoOptions};
use dump2py_django::meta::SiteMeta;
use dump2py_model::url::redact;
use dump2py_plugin::registry;
use dump2py_plugin::{Sink, Source};

use crate::UsageError;

#[derive(clap::Args, Debug, Default)]
pub struct IntoArgs {
    /// Also write the rows into the database at URL (same URLs as -d), whose tables the site's
    /// `migrate` made: one transaction, foreign keys checked at the end, all or nothing. A target
    /// that holds rows is refused, unless --flush.
    #[arg(long = "into", value_name = "URL")]
    pub into: Option<String>,

    /// With --into: first empty the tables the load writes (nothing else), in the same transaction.
    #[arg(long, requires = "into")]
    pub flush: bool,
}

impl IntoArgs {
    pub fn is_empty(&self) -> bool {
        self.into.is_none()
    }

    /// The target for the closing line: the URL without its password.
    pub fn describe(&self, simulate: bool) -> Option<String> {
        let url = self.into.as_ref().filter(|_| !simulate)?;
        Some(redact(url))
    }

    /// The sink for `--into`, if given; `source_url` is the source's
    /// (never the target), `meta` the target site's metadata where given.
    pub fn sink(
        &self,
        source_url: &str,
        source: &dyn Source,
        meta: Option<&SiteMeta>,
        simulate: bool,
    ) -> Result<Option<Box<dyn Sink>>> {
        let Some(url) = self.into.as_ref().filter(|_| !simulate) else {
            return Ok(None);
        };
        if url.is_empty() {
            return Err(UsageError("--into needs a database URL".into()).into());
        }
        let same = match (registry::scheme(url), registry::scheme(source_url)) {
            (Some("sqlite" | "sqlite3"), Some("sqlite" | "sqlite3")) => {
                let a = dump2py_sqlite::path_of(url)?;
                let b = dump2py_sqlite::path_of(source_url)?;
                a == b
                    || a.canonicalize()
                        .ok()
                        .is_some_and(|a| b.canonicalize().ok() == Some(a))
            }
            _ => url == source_url,
        };
        if same {
            return Err(UsageError(
                "--into names the database that is read (-d): give another".into(),
            )
            .into());
        }
        let options = IntoOptions {
            url: url.clone(),
            flush: self.flush,
            source_version: source.site_version(),
            site_version: meta.and_then(|m| m.version.clone()),
        };
        let sink = DatabaseSink::new(options).map_err(|e| match e {
            dump2py_model::Error::Usage(m) => anyhow::Error::from(UsageError(m)),
            e => e.into(),
        })?;
        Ok(Some(Box::new(sink)))
    }
}
