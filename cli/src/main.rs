//! `dump2py`: Lino's `dump2py` command, reading the database natively.

/// A bad command line (exit status 2): `usage!("...")` returns it.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

macro_rules! usage {
    ($($arg:tt)*) => {
        return Err($crate::UsageError(format!($($arg)*)).into())
    };
}

#[macro_use]
mod say;

mod into;
mod outputs;
mod plugins;
mod progress;
mod verify;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Result;
use clap::{CommandFactory, FromArgMatches, Parser};
use dump2py_core::django::ViewOptions;
use dump2py_core::meta::SiteMeta;
use dump2py_core::pipeline::{Pipeline, PipelineOptions};
use dump2py_core::plugin::{DumpInfo, Sink, TableOutcome};
use dump2py_core::registry::{self, SinkOptions};
use dump2py_core::staging;
use dump2py_core::url::redact;

// Built-in plugins register themselves when linked.
use dump2py_database as _;
use dump2py_dumpdata as _;
use dump2py_mysql as _;
use dump2py_postgres as _;
use dump2py_python as _;
use dump2py_sqlite as _;

/// Exit status of a dump that skipped tables with --tolerate.
const EXIT_INCOMPLETE: u8 = 3;
/// Exit status of a bad command line.
const EXIT_USAGE: u8 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "dump2py",
    version,
    about = "Write a Python dump of a Django or Lino database, read straight from the database.",
    long_about = "Write a Python dump of a Django or Lino database, read straight from the \
                  database.\n\nThe dump is a directory with restore.py and one data file per \
                  model; restore it inside the site with `django-admin run OUTPUT_DIR/restore.py`."
)]
struct Cli {
    /// The directory where to write output files.
    #[arg(value_name = "OUTPUT_DIR")]
    output_dir: Option<PathBuf>,

    /// The database to dump, a URL (e.g. sqlite:path/to/default.db,
    /// postgres://user@host/dbname); the schemes are listed below.
    #[arg(
        short = 'd',
        long = "database",
        value_name = "URL",
        env = "DATABASE_URL",
        hide_env_values = true
    )]
    database: Option<String>,

    /// Do not prompt for input of any kind (dump2py never prompts; kept for Lino's command line).
    #[arg(long)]
    noinput: bool,

    /// Tolerate database errors: skip tables that can't be read, exit with status 3.
    #[arg(short = 't', long)]
    tolerate: bool,

    /// Just simulate, don't actually write any data: read every table and report its rows.
    #[arg(short = 's', long)]
    simulate: bool,

    /// Overwrite existing files: replace an existing dump whole.
    #[arg(short = 'o', long)]
    overwrite: bool,

    /// Maximum number of rows per file.
    #[arg(
        short = 'm',
        long = "max-row-count",
        value_name = "NUM",
        default_value_t = 50000
    )]
    max_row_count: u64,

    /// Read up to N tables (or key ranges of a big table) at once, on
    /// connections sharing one snapshot (PostgreSQL, MariaDB/MySQL), and
    /// format the Python dump's rows on N threads; the outputs are the same
    /// as with one.
    #[arg(short = 'j', long = "jobs", value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    jobs: u16,

    /// Don't wait for the outputs to be written safely to disk (no fsync; pg_dump's --no-sync).
    #[arg(long)]
    no_sync: bool,

    /// Dump an empty SQLite file (or /dev/null) as a database without tables instead of refusing it.
    #[arg(long)]
    allow_empty: bool,

    /// The site's languages, e.g. en,de,fr: fold babel columns (name, name_de, name_fr) into one field.
    #[arg(long, value_name = "LANGS", value_delimiter = ',')]
    languages: Vec<String>,

    /// The site's settings module (as Django's --settings; default: DJANGO_SETTINGS_MODULE
    /// unless --site-schema is given): read the site's metadata for an exact Lino dump, and its
    /// database unless --database is given.
    #[arg(long, value_name = "MODULE")]
    settings: Option<String>,

    /// A directory to add to the Python path of the site (as Django's --pythonpath; repeatable);
    /// the site's Python also gets PYTHONPATH, as Django's commands.
    #[arg(long, value_name = "DIR")]
    pythonpath: Vec<PathBuf>,

    /// The site's Python interpreter, used with --settings.
    /// The default: the `python` installed beside this binary (a virtualenv's bin/), else
    /// `python3` from the PATH.
    #[arg(long, value_name = "PATH")]
    python: Option<String>,

    /// Read the site's metadata from FILE (saved with --export-site-schema) instead of running the site's Python.
    #[arg(long, value_name = "FILE", conflicts_with = "settings")]
    site_schema: Option<PathBuf>,

    /// Save the site's metadata (from --settings) to FILE, for --site-schema on another machine.
    #[arg(long, value_name = "FILE")]
    export_site_schema: Option<PathBuf>,

    /// Check DUMP (a dump's directory, or a JSON or XML file) against its manifest; with
    /// --database or --settings also its rows per table against the database.
    #[arg(long, value_name = "DUMP")]
    verify: Option<PathBuf>,

    /// Leave out an app's models, or one model (dumpdata's -e), from every output; repeatable.
    #[arg(short = 'e', long = "exclude", value_name = "APP_LABEL[.ModelName]")]
    exclude: Vec<String>,

    /// Verbosity level; 0=minimal output, 1=normal output, 2=verbose output, 3=very verbose output.
    #[arg(short = 'v', long, value_name = "{0,1,2,3}", default_value_t = 1,
          value_parser = clap::value_parser!(u8).range(0..=3))]
    verbosity: u8,

    #[command(flatten)]
    outputs: outputs::OutputArgs,

    #[command(flatten)]
    into: into::IntoArgs,

    #[command(flatten)]
    plugins: plugins::PluginArgs,
}

// Batches are filled on reader threads and freed on the sinks' thread:
// glibc's malloc spends a third of a dump on that, mimalloc a few percent.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match cli_command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                return match e.print() {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("error: can't write to standard output: {e}");
                        ExitCode::FAILURE
                    }
                };
            }
            // One line: the cause, not the usage.
            let text = e.render().to_string();
            eprintln!("{}", text.lines().next().unwrap_or("error: bad arguments"));
            return ExitCode::from(2);
        }
    };
    if let Err(e) = watch_signals() {
        eprintln!("error: can't watch for signals: {e}");
        return ExitCode::FAILURE;
    }
    watch_exit();
    dump2py_core::abi::call::watch_crashes();
    let mut code = run_main(&cli);
    // A result on standard output that can't be written is a failure.
    if let Some(e) = say::stdout_error() {
        if code == ExitCode::SUCCESS || code == ExitCode::from(EXIT_INCOMPLETE) {
            eprintln!("error: can't write to standard output: {e}");
            code = ExitCode::FAILURE;
        }
    }
    FINISHED.store(true, Ordering::SeqCst);
    code
}

/// Whether fd 1 is closed, checked before Rust's runtime opens `/dev/null`
/// on it (which would make `--json -` write into nothing and succeed).
#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array"]
static CHECK_STDOUT: extern "C" fn() = {
    extern "C" fn check() {
        // SAFETY: fcntl on fd 1 touches no memory.
        if unsafe { libc::fcntl(1, libc::F_GETFD) } < 0 {
            staging::note_stdout_closed();
        }
    }
    check
};

/// Set when dump2py itself ends the process (returning from `main`, or a
/// signal's handler): any other `exit()` is a plugin's or a library's.
static FINISHED: AtomicBool = AtomicBool::new(false);

/// A plugin (or a library it calls) may call `exit(0)` in the middle of a
/// dump: the process would end with status 0 and nothing published. An
/// `atexit` hook sees that the run didn't finish, removes the stagings,
/// says so on stderr and ends the process with status 1.
fn watch_exit() {
    extern "C" fn on_exit() {
        if FINISHED.load(Ordering::SeqCst) {
            return;
        }
        let what = match staging::abort_all_now() {
            Some(0) | None => "no output was written".to_string(),
            Some(n) => format!("{n} output(s) already published, complete; no other was written"),
        };
        let msg = format!(
            "\nerror: the process was ended by exit() before dump2py finished (a plugin or a library it uses called it): {what}\n"
        );
        // SAFETY: writes a valid buffer to fd 2, then ends the process
        // without running the other exit hooks again.
        unsafe {
            libc::write(2, msg.as_ptr().cast(), msg.len());
            libc::_exit(1);
        }
    }
    // SAFETY: registers a function that lives as long as the process.
    unsafe {
        libc::atexit(on_exit);
    }
}

fn run_main(cli: &Cli) -> ExitCode {
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            // A signal is stopping the run: its handler reports and exits.
            if staging::aborting() {
                loop {
                    std::thread::park();
                }
            }
            progress::leave();
            eprintln!("error: {}", one_line(&e));
            if e.chain().any(|c| c.is::<UsageError>()) {
                return ExitCode::from(EXIT_USAGE);
            }
            ExitCode::FAILURE
        }
    }
}

/// The command line, with the URL schemes of the built-in sources (from
/// the registry) in `--help`.
fn cli_command() -> clap::Command {
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
    Cli::command().after_help(after)
}

/// `--settings`, else `DJANGO_SETTINGS_MODULE` as every Django command
/// (not with `--site-schema`, which replaces the site), and where it comes
/// from.
fn settings(cli: &Cli) -> Option<(String, &'static str)> {
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
fn site_meta(cli: &Cli, (settings, from): &(String, &str)) -> Result<SiteMeta> {
    let python = site_python(cli.python.as_deref(), cli.verbosity);
    let meta = SiteMeta::from_site(&python, settings, &cli.pythonpath);
    match (meta, *from) {
        (Ok(m), _) => Ok(m),
        (Err(e), "--settings") => Err(e.into()),
        (Err(e), from) => Err(anyhow::Error::from(e).context(format!("{from}={settings}"))),
    }
}

/// A source's, sink's or transformer's usage error (a bad URL, format or
/// argument) is the command line's: exit status 2.
fn usage_of(e: dump2py_core::Error) -> anyhow::Error {
    match e {
        dump2py_core::Error::Usage(m) => UsageError(m).into(),
        e => e.into(),
    }
}

/// SIGINT, SIGTERM, SIGHUP (and every other signal that would end the
/// process silently: SIGQUIT, SIGUSR1, SIGALRM, SIGXFSZ, …) abort the dump
/// like an error, even while the main thread waits for the database: the
/// stagings and spools are removed, the site's Python (--settings) is
/// killed, nothing more is published, and the exit status is 128 + the
/// signal.
fn watch_signals() -> std::io::Result<()> {
    use signal_hook::consts::*;
    // Every signal whose default ends the process without a word (SIGXFSZ:
    // a file over `ulimit -f`; SIGPIPE stays ignored, as Rust sets it).
    let mut signals = signal_hook::iterator::Signals::new([
        SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGXFSZ, SIGVTALRM, SIGPROF,
    ])?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                let published = staging::abort_all();
                let name = match signal {
                    SIGINT => "SIGINT",
                    SIGTERM => "SIGTERM",
                    SIGHUP => "SIGHUP",
                    SIGQUIT => "SIGQUIT",
                    SIGUSR1 => "SIGUSR1",
                    SIGUSR2 => "SIGUSR2",
                    SIGALRM => "SIGALRM",
                    SIGXFSZ => "SIGXFSZ (a file grew over the limit of `ulimit -f`)",
                    SIGVTALRM => "SIGVTALRM",
                    SIGPROF => "SIGPROF",
                    _ => "a signal",
                };
                let what = match published {
                    0 => "no output was written".to_string(),
                    n => format!("{n} output(s) already published, complete; no other was written"),
                };
                // The progress line gives way to the error; else below a `^C`.
                let newline = if progress::clear() { "" } else { "\n" };
                eprintln!("{newline}error: interrupted by {name}: {what}");
                FINISHED.store(true, Ordering::SeqCst);
                std::process::exit(128 + signal);
            }
        })?;
    Ok(())
}

/// Each language code once, letters, digits, `-` and `_` only (`en`,
/// `pt-br`, `zh_hant`): they become column-name suffixes.
fn check_languages(languages: &[String]) -> Result<(), UsageError> {
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

fn one_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ").replace('\n', " ")
}

/// `--allow-empty` is the SQLite source's `allow_empty=1` URL parameter.
fn with_allow_empty(url: &str, allow: bool) -> Result<String> {
    if !allow {
        return Ok(url.to_string());
    }
    let scheme = registry::scheme(url).map(str::to_ascii_lowercase);
    if !matches!(scheme.as_deref(), Some("sqlite" | "sqlite3")) {
        usage!("--allow-empty is for SQLite databases (sqlite:PATH)");
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    Ok(format!("{url}{sep}allow_empty=1"))
}

/// A umask that takes the owner's permissions makes staging directories
/// dump2py can't write into or list: refused before anything is made.
fn check_umask() -> Result<()> {
    // SAFETY: umask only sets the process's mask; it is put back at once.
    let mask = unsafe {
        let mask = libc::umask(0o022);
        libc::umask(mask);
        mask
    };
    if mask & 0o700 != 0 {
        anyhow::bail!(
            "the umask {mask:03o} takes the owner's permissions: dump2py couldn't write or read \
             back its own files; use a umask such as 022 or 077"
        );
    }
    Ok(())
}

fn run(cli: &Cli) -> Result<ExitCode> {
    // Plugins join the registry before anything is looked up in it.
    cli.plugins.load()?;
    if cli.plugins.list_plugins {
        print!("{}", plugins::listing());
        return Ok(ExitCode::SUCCESS);
    }
    staging::set_sync(!cli.no_sync);
    check_umask()?;
    if cli.max_row_count == 0 {
        usage!("--max-row-count must be at least 1");
    }
    check_languages(&cli.languages)?;
    if let Some(dump) = &cli.verify {
        return verify_dump(cli, dump);
    }
    let settings = settings(cli);
    if cli.export_site_schema.is_some() && settings.is_none() {
        usage!("--export-site-schema saves a site's metadata: give --settings MODULE (or set DJANGO_SETTINGS_MODULE)");
    }
    let meta = match (&settings, &cli.site_schema) {
        (Some(settings), _) => Some(site_meta(cli, settings)?),
        (None, Some(file)) => Some(SiteMeta::read(file)?),
        (None, None) => None,
    };
    if let (Some(meta), Some(file)) = (&meta, &cli.export_site_schema) {
        meta.write(file)?;
        if cli.output_dir.is_none() && cli.outputs.is_empty() && !cli.simulate {
            if cli.verbosity > 0 {
                eprintln!(
                    "Wrote the metadata of site {} to {}.",
                    meta.settings_module,
                    file.display()
                );
            }
            return Ok(ExitCode::SUCCESS);
        }
    }
    let site_url = match (&meta, &cli.database) {
        (Some(meta), None) => Some(meta.database.url()?),
        _ => None,
    };
    let Some(url) = cli
        .database
        .as_deref()
        .or(site_url.as_deref())
        .filter(|u| !u.is_empty())
    else {
        usage!("no database given: use -d/--database URL, --settings MODULE or set DATABASE_URL or DJANGO_SETTINGS_MODULE");
    };
    let url = with_allow_empty(url, cli.allow_empty)?;
    let output = match (&cli.output_dir, cli.simulate) {
        (Some(dir), false) => Some(dir.clone()),
        (None, false) if cli.outputs.is_empty() && cli.into.is_empty() => usage!(
            "no OUTPUT_DIR given: name the directory to write the dump to, or other outputs (--json, --xml, -f)"
        ),
        (None, false) => None,
        (_, true) => None,
    };
    // --simulate writes nothing: no other outputs either.
    let extra = match cli.simulate {
        true => Vec::new(),
        false => cli.outputs.outputs(output.as_deref())?,
    };
    // Bad transformer arguments fail before the database is opened.
    let mut transformers = cli.plugins.transformers()?;
    let mut source = registry::open_source(&url).map_err(usage_of)?;
    // Before anything is read: no output may replace what dump2py reads,
    // nor anything that dump2py didn't write.
    let mut protected = source.local_files();
    protected.extend(cli.plugins.libraries()?);
    outputs::check_protected(output.as_deref(), &extra, &protected)?;
    let targets = output
        .iter()
        .chain(extra.iter().map(|o| &o.target))
        .filter(|t| t.as_os_str() != "-");
    for target in targets {
        staging::check_target(target, cli.overwrite)?;
    }
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    if let Some(dir) = &output {
        sinks.push(registry::create_sink(
            "python",
            &SinkOptions {
                target: dir.clone(),
                overwrite: cli.overwrite,
                max_row_count: cli.max_row_count,
                // With -j the rows of a batch are also formatted on N threads.
                extra: [("jobs".to_string(), cli.jobs.to_string())].into(),
            },
        )?);
    }
    sinks.extend(
        cli.outputs
            .sinks(&extra, cli.overwrite, cli.max_row_count)?,
    );
    sinks.extend(
        cli.into
            .sink(&url, source.as_ref(), meta.as_ref(), cli.simulate)?,
    );
    let info = DumpInfo {
        source: redact(&source.describe()),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        storage: source.storage(),
    };
    let mut observer = progress::Progress::new(cli.verbosity, std::io::stderr().is_terminal());
    let report = Pipeline {
        source: source.as_mut(),
        transformers: &mut transformers,
        sinks: &mut sinks,
        options: PipelineOptions {
            tolerate: cli.tolerate,
            view: ViewOptions {
                languages: cli.languages.clone(),
            },
            meta,
            exclude: cli.exclude.clone(),
            jobs: usize::from(cli.jobs),
            ..PipelineOptions::default()
        },
    }
    .run(&info, &mut observer)?;
    observer.finish();

    if cli.simulate {
        for (table, outcome) in &report.tables {
            match outcome {
                TableOutcome::Dumped { rows } => {
                    println!("{}: {rows} rows", say::escape(table))
                }
                TableOutcome::Skipped { reason } => println!(
                    "{}: not readable: {}",
                    say::escape(table),
                    say::escape(reason)
                ),
            }
        }
    }
    let skipped: Vec<_> = report.skipped().collect();
    for (_, reason) in &skipped {
        eprintln!("warning: tolerated: {reason}");
    }
    let mut targets: Vec<String> = output.iter().map(|d| d.display().to_string()).collect();
    targets.extend(extra.iter().map(outputs::Output::describe));
    targets.extend(cli.into.describe(cli.simulate));
    let target = match targets.as_slice() {
        [] => "the simulated dump".to_string(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    };
    if report.tables.is_empty() {
        eprintln!("warning: the database has no tables: the dump holds no objects");
    }
    if cli.verbosity > 0 && !cli.simulate {
        eprintln!(
            "Wrote {} from {} to {}.",
            counted(report.rows(), "object"),
            counted((report.tables.len() - skipped.len()) as u64, "table"),
            target
        );
    }
    if !skipped.is_empty() {
        eprintln!(
            "The dump in {target} is incomplete: {} of {} tables could not be read.",
            skipped.len(),
            report.tables.len()
        );
        return Ok(ExitCode::from(EXIT_INCOMPLETE));
    }
    Ok(ExitCode::SUCCESS)
}

/// `1 row`, `2 rows`: a count with its noun (nouns with a plain plural).
pub fn counted(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `--verify DUMP`: exit 0 when intact (and, with a database, when every
/// table still has the rows it had), else 1 naming what is not.
fn verify_dump(cli: &Cli, dump: &std::path::Path) -> Result<ExitCode> {
    if cli.output_dir.is_some() || !cli.outputs.is_empty() || cli.simulate {
        usage!("--verify checks a dump: it writes nothing (no OUTPUT_DIR, --json, --xml, -f, -s)");
    }
    let manifest = verify::files(dump).map_err(|e| {
        if staging::interrupted(dump) {
            e.context(format!(
                "{}: its publishing was cut short (kill -9, power loss): the next dump2py \
                 run writing beside it completes it",
                dump.display()
            ))
        } else {
            e
        }
    })?;
    let url = match (&cli.database, settings(cli)) {
        (Some(url), _) => Some(url.clone()),
        (None, Some(settings)) => Some(site_meta(cli, &settings)?.database.url()?),
        (None, None) => None,
    };
    let what = format!(
        "{}, {} in {}, written by dump2py {}",
        counted(manifest.files.len() as u64, "file"),
        counted(manifest.tables.values().sum(), "row"),
        counted(manifest.tables.len() as u64, "table"),
        manifest.version
    );
    if let Some(url) = url {
        let url = with_allow_empty(&url, cli.allow_empty)?;
        let mut source = registry::open_source(&url).map_err(usage_of)?;
        let changes = verify::changes(&manifest, source.as_mut())?;
        if !changes.is_empty() {
            for c in &changes {
                eprintln!("changed: {c}");
            }
            anyhow::bail!(
                "{}: intact ({what}), but the database changed since: {} of {} tables",
                dump.display(),
                changes.len(),
                manifest.tables.len()
            );
        }
        if cli.verbosity > 0 {
            println!(
                "{}: intact ({what}); the database has the same rows per table",
                dump.display()
            );
        }
    } else if cli.verbosity > 0 {
        println!("{}: intact ({what})", dump.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The site's interpreter: `--python`, else the `python` beside this binary
/// (pip installs dump2py into the site's virtualenv), else `python3`.
fn site_python(given: Option<&str>, verbosity: u8) -> String {
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

fn beside_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    ["python", "python3"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}
