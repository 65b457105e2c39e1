//! The command line: [`Cli`] and what the registry adds to it (the
//! options each sink declares, the flags each source declares, the URL
//! schemes in `--help`).

use std::path::PathBuf;

use clap::{CommandFactory, Parser};
use dump2py_plugin::registry;

use anyhow::Result;

use crate::{archive, into, outputs, plugins, snapshot};

#[derive(Parser, Debug)]
#[command(
    name = "dump2py",
    version,
    about = "Write a Python dump of a Django or Lino database, read straight from the database.",
    long_about = "Write a Python dump of a Django or Lino database, read straight from the \
                  database.\n\nThe dump is a directory with restore.py and one data file per \
                  model; restore it inside the site with `django-admin run OUTPUT_DIR/restore.py`."
)]
pub(crate) struct Cli {
    /// The directory where to write output files (or one archive file:
    /// NAME.zip, NAME.tar.gz, NAME.tar.zst; NAME.tar.zst.age with --encrypt-to).
    #[arg(value_name = "OUTPUT_DIR")]
    pub output_dir: Option<PathBuf>,

    /// The database to dump, a URL (e.g. sqlite:path/to/default.db,
    /// postgres://user@host/dbname); the schemes are listed below.
    #[arg(
        short = 'd',
        long = "database",
        value_name = "URL",
        env = "DATABASE_URL",
        hide_env_values = true
    )]
    pub database: Option<String>,

    /// Do not prompt for input of any kind (dump2py never prompts; kept for Lino's command line).
    #[arg(long)]
    pub noinput: bool,

    /// Tolerate database errors: skip tables that can't be read, exit with status 3.
    #[arg(short = 't', long)]
    pub tolerate: bool,

    /// Just simulate, don't actually write any data: read every table and report its rows.
    #[arg(short = 's', long)]
    pub simulate: bool,

    /// Overwrite existing files: replace an existing dump whole.
    #[arg(short = 'o', long)]
    pub overwrite: bool,

    /// Maximum number of rows per file.
    #[arg(
        short = 'm',
        long = "max-row-count",
        value_name = "NUM",
        default_value_t = 50000
    )]
    pub max_row_count: u64,

    /// Read up to N tables (or key ranges of a big table) at once, on
    /// connections sharing one snapshot (PostgreSQL, MariaDB/MySQL), and
    /// format the Python dump's rows on N threads; the outputs are the same
    /// as with one.
    #[arg(short = 'j', long = "jobs", value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,

    /// Don't wait for the outputs to be written safely to disk (no fsync; pg_dump's --no-sync).
    #[arg(long)]
    pub no_sync: bool,

    /// The flags of the sources given (`--allow-empty`): each source
    /// declares its own (`SourceFactory::flags`).
    #[arg(skip)]
    pub source_flags: Vec<registry::SourceFlag>,

    /// The site's languages, e.g. en,de,fr: fold babel columns (name, name_de, name_fr) into one field.
    #[arg(long, value_name = "LANGS", value_delimiter = ',')]
    pub languages: Vec<String>,

    /// The site's settings module (as Django's --settings; default: DJANGO_SETTINGS_MODULE
    /// unless --site-schema is given): read the site's metadata for an exact Lino dump, and its
    /// database unless --database is given.
    #[arg(long, value_name = "MODULE")]
    pub settings: Option<String>,

    /// A directory to add to the Python path of the site (as Django's --pythonpath; repeatable);
    /// the site's Python also gets PYTHONPATH, as Django's commands.
    #[arg(long, value_name = "DIR")]
    pub pythonpath: Vec<PathBuf>,

    /// The site's Python interpreter, used with --settings.
    /// The default: the `python` installed beside this binary (a virtualenv's bin/), else
    /// `python3` from the PATH.
    #[arg(long, value_name = "PATH")]
    pub python: Option<String>,

    /// Read the site's metadata from FILE (saved with --export-site-schema) instead of running the site's Python.
    #[arg(long, value_name = "FILE", conflicts_with = "settings")]
    pub site_schema: Option<PathBuf>,

    /// Save the site's metadata (from --settings) to FILE, for --site-schema on another machine.
    #[arg(long, value_name = "FILE")]
    pub export_site_schema: Option<PathBuf>,

    /// Check DUMP (a dump's directory, or a JSON or XML file) against its manifest; with
    /// --database or --settings also its rows per table against the database.
    #[arg(long, value_name = "DUMP")]
    pub verify: Option<PathBuf>,

    /// A whole-site snapshot: add the site's MEDIA_ROOT files (under media/), `pip freeze` of
    /// the site's Python and the settings module and version (site.json) to the Python dump,
    /// all in its manifest; needs --settings or --site-schema. restore.py --media puts them back.
    #[arg(long)]
    pub media: bool,

    /// Leave out an app's models, or one model (dumpdata's -e), from every output; repeatable.
    #[arg(short = 'e', long = "exclude", value_name = "APP_LABEL[.ModelName]")]
    pub exclude: Vec<String>,

    /// Verbosity level; 0=minimal output, 1=normal output, 2=verbose output, 3=very verbose output.
    #[arg(short = 'v', long, value_name = "{0,1,2,3}", default_value_t = 1,
          value_parser = clap::value_parser!(u8).range(0..=3))]
    pub verbosity: u8,

    #[command(flatten)]
    pub outputs: outputs::OutputArgs,

    #[command(flatten)]
    pub into: into::IntoArgs,

    #[command(flatten)]
    pub plugins: plugins::PluginArgs,

    #[command(flatten)]
    pub snapshots: snapshot::SnapshotArgs,

    #[command(flatten)]
    pub archive: archive::ArchiveArgs,
}

/// The command line, with the URL schemes of the built-in sources (from
/// the registry) in `--help`.
pub(crate) fn cli_command() -> clap::Command {
    let schemes: Vec<String> = registry::listing()
        .into_iter()
        .filter(|l| l.kind == registry::Kind::Source)
        .flat_map(|l| l.schemes)
        .map(|s| format!("{s}:"))
        .collect();
    let after = format!(
        "Database URL schemes (-d): {}; plugins add theirs (--list-plugins).",
        schemes.join(", ")
    );
    with_source_flags(outputs::with_sink_options(Cli::command())).after_help(after)
}

/// `command` with the flags the built-in sources declare.
pub(crate) fn with_source_flags(mut command: clap::Command) -> clap::Command {
    for (flag, _) in registry::source_flags() {
        command = command.arg(
            clap::Arg::new(flag.name)
                .long(flag.name)
                .help(flag.help)
                .action(clap::ArgAction::SetTrue),
        );
    }
    command
}

/// `url` with the URL parameter of each source flag given; a flag is
/// refused for the URL of a source that doesn't declare it.
pub(crate) fn with_source_flags_of(url: &str, flags: &[registry::SourceFlag]) -> Result<String> {
    let mut url = url.to_string();
    let scheme = registry::scheme(&url).map(str::to_ascii_lowercase);
    for flag in flags {
        let schemes = (registry::source_flags().into_iter())
            .find(|(f, _)| f.name == flag.name)
            .map(|(_, schemes)| schemes)
            .unwrap_or_default();
        if !scheme.as_deref().is_some_and(|s| schemes.contains(&s)) {
            let schemes: Vec<String> = schemes.iter().map(|s| format!("{s}:")).collect();
            usage!("--{} is for {} URLs", flag.name, schemes.join(", "));
        }
        let sep = if url.contains('?') { '&' } else { '?' };
        url = format!("{url}{sep}{}=1", flag.param);
    }
    Ok(url)
}
