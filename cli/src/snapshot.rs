//! Snapshots (issue 22): `--snapshot-dir DIR` writes the dump as
//! `DIR/<site>-<UTC timestamp>` (a directory, or an archive with
//! `--snapshot-format`), checks it against its manifest, and only then
//! applies the `--keep-*` policy (`retention.rs`) to that site's snapshots;
//! `--verify DIR --max-age 26h` checks the newest snapshot of each site in
//! DIR (or all of them) for cron and monitoring.
//!
//! What retention may delete: an entry named `<site>-<timestamp>` of the
//! same site that is a published output of dump2py (a manifest with a run
//! id listing everything in it: `dump2py_staging::published_by_us`). Never the
//! snapshot just written, nor the newest one that verifies, nor an output
//! being published (a commit's journal beside it), nor anything else in
//! DIR. A run that fails, is interrupted, or is incomplete (`--tolerate`)
//! deletes nothing.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use jiff::civil::DateTime;
use jiff::tz::Offset;
use jiff::Timestamp;

use crate::retention::{Count, Policy};
use crate::verify;
use crate::UsageError;

/// The clock, for tests only: an RFC 3339 time (`2025-05-02T23:00:00Z`)
/// that dump2py takes as now when it names a snapshot and checks
/// `--max-age`. Not for production use.
pub const TEST_CLOCK: &str = "DUMP2PY_TEST_NOW";

/// How a snapshot's time is written in its name (UTC).
const STAMP: &str = "%Y%m%dT%H%M%SZ";
const STAMP_LEN: usize = 16;

/// The archive suffixes a snapshot's name may end with (each also with
/// `.age`, encrypted).
pub const ARCHIVES: [&str; 3] = [".zip", ".tar.gz", ".tar.zst"];

#[derive(clap::Args, Debug, Default)]
pub struct SnapshotArgs {
    /// Write the dump as a new snapshot DIR/<site>-<UTC timestamp> (e.g.
    /// min1-20250502T230000Z), check it against its manifest, then apply the
    /// --keep-* options to that site's snapshots in DIR. Replaces OUTPUT_DIR.
    #[arg(long, value_name = "DIR")]
    pub snapshot_dir: Option<PathBuf>,

    /// The <site> of the snapshots' names (default: from the settings module,
    /// lino_book.projects.min1.settings → min1; else the database's name).
    #[arg(long, value_name = "NAME")]
    pub snapshot_name: Option<String>,

    /// What a snapshot is: dir (a Python dump's directory), or one archive
    /// file: zip, tar.gz or tar.zst.
    #[arg(long, value_name = "FORMAT", default_value = "dir",
          value_parser = ["dir", "zip", "tar.gz", "tar.zst"])]
    pub snapshot_format: String,

    /// Keep the N newest snapshots (restic's --keep-last).
    #[arg(long, value_name = "N")]
    pub keep_last: Option<Count>,

    /// Keep the newest snapshot of each of the last N hours that have one.
    #[arg(long, value_name = "N")]
    pub keep_hourly: Option<Count>,

    /// Keep the newest snapshot of each of the last N days (UTC) that have
    /// one (restic's --keep-daily; `unlimited` for every day).
    #[arg(long, value_name = "N")]
    pub keep_daily: Option<Count>,

    /// Keep the newest snapshot of each of the last N weeks (Monday to Sunday) that have one.
    #[arg(long, value_name = "N")]
    pub keep_weekly: Option<Count>,

    /// Keep the newest snapshot of each of the last N months that have one.
    #[arg(long, value_name = "N")]
    pub keep_monthly: Option<Count>,

    /// Keep the newest snapshot of each of the last N years that have one.
    #[arg(long, value_name = "N")]
    pub keep_yearly: Option<Count>,

    /// With --verify DIR (a snapshot directory): fail when the newest
    /// snapshot of a site is older than this (e.g. 26h, 2d, 90m, 1d12h).
    #[arg(long, value_name = "DURATION", value_parser = parse_age)]
    pub max_age: Option<i64>,

    /// With --verify DIR: check every snapshot, not only each site's newest.
    #[arg(long)]
    pub all_snapshots: bool,
}

impl SnapshotArgs {
    fn policy(&self) -> Policy {
        Policy {
            last: self.keep_last.unwrap_or_default(),
            hourly: self.keep_hourly.unwrap_or_default(),
            daily: self.keep_daily.unwrap_or_default(),
            weekly: self.keep_weekly.unwrap_or_default(),
            monthly: self.keep_monthly.unwrap_or_default(),
            yearly: self.keep_yearly.unwrap_or_default(),
        }
    }

    fn has_keep(&self) -> bool {
        [
            self.keep_last,
            self.keep_hourly,
            self.keep_daily,
            self.keep_weekly,
            self.keep_monthly,
            self.keep_yearly,
        ]
        .iter()
        .any(Option::is_some)
    }

    /// The suffix of a new snapshot's name.
    fn suffix(&self, encrypted: bool) -> Result<String> {
        let suffix = match self.snapshot_format.as_str() {
            "dir" if encrypted => usage!(
                "--encrypt-to encrypts an archive: add --snapshot-format zip, tar.gz or tar.zst"
            ),
            "dir" => "",
            "zip" => ".zip",
            "tar.gz" => ".tar.gz",
            _ => ".tar.zst",
        };
        let age = if encrypted { ".age" } else { "" };
        Ok(format!("{suffix}{age}"))
    }
}

/// `26h`, `2d`, `90m`, `1d12h`, `3600s`, `1w`: seconds.
fn parse_age(text: &str) -> Result<i64, String> {
    let bad = || format!("'{text}' is not a duration (such as 26h, 2d, 90m or 1d12h)");
    let mut total: i64 = 0;
    let mut number = String::new();
    let mut any = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit: i64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            'w' => 7 * 86400,
            _ => return Err(bad()),
        };
        let n: i64 = number.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(bad)?;
        number.clear();
        any = true;
    }
    if !number.is_empty() || !any || total == 0 {
        return Err(bad());
    }
    Ok(total)
}

/// Now, or the tests' clock ([`TEST_CLOCK`]).
pub fn now() -> Result<Timestamp> {
    match std::env::var(TEST_CLOCK) {
        Ok(t) if !t.is_empty() => t
            .parse()
            .with_context(|| format!("{TEST_CLOCK}={t}: not an RFC 3339 time")),
        _ => Ok(Timestamp::now()),
    }
}

/// A snapshot's site name: letters, digits, `_`, `.` and `-`, not
/// starting with `.` or `-`.
fn check_name(name: &str) -> Result<(), UsageError> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && !name.starts_with(['.', '-'])
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(UsageError(format!(
            "--snapshot-name '{name}': use letters, digits, '_', '.' and '-' (not first)"
        )))
    }
}

/// The site's name for its snapshots: from the settings module
/// (`lino_book.projects.min1.settings` → `min1`, `mysite.settings.prod` →
/// `mysite`), else the database's name (`sqlite:data/default.db` →
/// `default`), made of the characters [`check_name`] takes.
fn site_name(settings: Option<&str>, url: &str) -> String {
    let from_settings = settings.and_then(|s| {
        let parts: Vec<&str> = s.split('.').collect();
        let end = parts
            .iter()
            .position(|p| *p == "settings")
            .unwrap_or(parts.len());
        end.checked_sub(1).map(|i| parts[i].to_string())
    });
    let raw = from_settings.unwrap_or_else(|| {
        let path = url.split(['?', '#']).next().unwrap_or(url);
        let last = path.rsplit(['/', ':']).next().unwrap_or(path);
        last.split('.').next().unwrap_or(last).to_string()
    });
    let clean: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let clean = clean.trim_start_matches(['-', '.']).to_string();
    if clean.is_empty() {
        "site".to_string()
    } else {
        clean
    }
}

/// Where the dump goes: OUTPUT_DIR, or with `--snapshot-dir` a new
/// snapshot's path in it (the directory is made if missing).
pub fn output(
    args: &SnapshotArgs,
    output_dir: Option<&Path>,
    settings: Option<&str>,
    url: &str,
    encrypted: bool,
) -> Result<Option<PathBuf>> {
    let Some(dir) = &args.snapshot_dir else {
        if args.has_keep() || args.snapshot_name.is_some() || args.snapshot_format != "dir" {
            usage!("--keep-*, --snapshot-name and --snapshot-format go with --snapshot-dir DIR");
        }
        return Ok(output_dir.map(Path::to_path_buf));
    };
    if let Some(given) = output_dir {
        usage!(
            "--snapshot-dir names the dump itself: give no OUTPUT_DIR ({})",
            given.display()
        );
    }
    let site = match &args.snapshot_name {
        Some(n) => {
            check_name(n)?;
            n.clone()
        }
        None => site_name(settings, url),
    };
    fs::create_dir_all(dir).with_context(|| format!("--snapshot-dir {}", dir.display()))?;
    let stamp = Offset::UTC.to_datetime(now()?).strftime(STAMP).to_string();
    let suffix = args.suffix(encrypted)?;
    Ok(Some(dir.join(format!("{site}-{stamp}{suffix}"))))
}

/// A snapshot found in a directory.
struct Found {
    path: PathBuf,
    name: String,
    site: String,
    time: Timestamp,
}

/// The site and time in a snapshot's name: `<site>-<timestamp>[suffix]`.
fn parse_name(name: &str) -> Option<(String, Timestamp)> {
    let name = name.strip_suffix(".age").unwrap_or(name);
    let stem = ARCHIVES
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .unwrap_or(name);
    let (site, stamp) = stem.rsplit_once('-')?;
    if stamp.len() != STAMP_LEN || check_name(site).is_err() {
        return None;
    }
    let civil = DateTime::strptime(STAMP, stamp).ok()?;
    let time = Offset::UTC.to_timestamp(civil).ok()?;
    Some((site.to_string(), time))
}

/// The snapshots written by dump2py in `dir` (of `site` if given), newest
/// first.
fn ours(dir: &Path, site: Option<&str>) -> Result<Vec<Found>> {
    let mut found = Vec::new();
    let entries = fs::read_dir(dir).with_context(|| format!("{}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("{}", dir.display()))?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let Some((s, time)) = parse_name(&name) else {
            continue;
        };
        if site.is_some_and(|want| want != s) {
            continue;
        }
        let path = entry.path();
        if !dump2py_staging::published_by_us(&path) || dump2py_staging::interrupted(&path) {
            continue;
        }
        found.push(Found {
            path,
            name,
            site: s,
            time,
        });
    }
    found.sort_by(|a, b| b.time.cmp(&a.time).then(b.name.cmp(&a.name)));
    Ok(found)
}

/// Removes a snapshot: a directory is first renamed out of the
/// snapshots' names, so that a removal cut short leaves nothing that
/// looks like a snapshot.
fn remove(found: &Found) -> Result<()> {
    let dir = found.path.parent().unwrap_or(Path::new("."));
    let meta = fs::symlink_metadata(&found.path)?;
    if meta.is_dir() {
        let away = dir.join(format!(".{}.dump2py-forget", found.name));
        fs::rename(&found.path, &away)
            .with_context(|| format!("removing {}", found.path.display()))?;
        fs::remove_dir_all(&away).with_context(|| format!("removing {}", away.display()))?;
    } else {
        fs::remove_file(&found.path)
            .with_context(|| format!("removing {}", found.path.display()))?;
        let side = dump2py_staging::sidecar_of(&found.path);
        fs::remove_file(&side).with_context(|| format!("removing {}", side.display()))?;
    }
    Ok(())
}

/// Removals cut short by a crash: hidden directories this module renamed.
fn clean_forgotten(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(inner) = name
            .strip_prefix('.')
            .and_then(|n| n.strip_suffix(".dump2py-forget"))
        else {
            continue;
        };
        if parse_name(inner).is_some()
            && entry.file_type().is_ok_and(|t| t.is_dir())
            && dump2py_staging::published_by_us(&entry.path())
        {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// After a complete dump into `target` (a new snapshot): checks it against
/// its manifest, then applies the policy to its site's snapshots.
pub fn finish(args: &SnapshotArgs, target: &Path, verbosity: u8) -> Result<()> {
    let dir = args.snapshot_dir.as_deref().unwrap_or(Path::new("."));
    verify::files(target).with_context(|| {
        format!(
            "the new snapshot {} does not verify: no snapshot was removed",
            target.display()
        )
    })?;
    let name = target
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let Some((site, _)) = parse_name(name) else {
        bail!("{}: not a snapshot's name", target.display());
    };
    let policy = args.policy();
    if policy.is_empty() {
        if verbosity > 0 {
            eprintln!("Snapshot {} verified.", target.display());
        }
        return Ok(());
    }
    clean_forgotten(dir);
    let found = ours(dir, Some(&site))?;
    let times: Vec<Timestamp> = found.iter().map(|f| f.time).collect();
    let reasons = policy.apply(&times);
    // The newest that verifies stays, whatever the policy says: found is
    // newest first, and the new one verified above.
    let mut newest_good = None;
    for (i, f) in found.iter().enumerate() {
        if f.path == target || verify::files(&f.path).is_ok() {
            newest_good = Some(i);
            break;
        }
    }
    let mut removed = 0;
    for (i, f) in found.iter().enumerate() {
        if !reasons[i].is_empty() || Some(i) == newest_good || f.path == target {
            if verbosity >= 2 {
                let why = if reasons[i].is_empty() {
                    "the newest that verifies".to_string()
                } else {
                    reasons[i].join(", ")
                };
                eprintln!("keep {} ({why})", f.name);
            }
            continue;
        }
        remove(f).with_context(|| {
            format!(
                "the snapshot {} is written and verified, but removing old ones stopped",
                target.display()
            )
        })?;
        removed += 1;
        if verbosity >= 2 {
            eprintln!("removed {}", f.name);
        }
    }
    if verbosity > 0 {
        eprintln!(
            "Snapshot {} verified; {} of site {site} kept, {removed} removed.",
            target.display(),
            found.len() - removed,
        );
    }
    Ok(())
}

/// `--verify PATH`: when PATH is a snapshot directory (a directory that is
/// not itself a dump, holding snapshots' names or checked with
/// `--max-age`/`--all-snapshots`), checks it ([`verify_dir`]) and says so; `--max-age`
/// and `--all-snapshots` are for those only.
pub fn verify(args: &SnapshotArgs, path: &Path, verbosity: u8) -> Result<bool> {
    let snapshots_inside = || {
        fs::read_dir(path).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_str().and_then(parse_name).is_some())
        })
    };
    let asked = args.max_age.is_some() || args.all_snapshots;
    if path.is_dir()
        && fs::symlink_metadata(path.join(dump2py_staging::MANIFEST)).is_err()
        && (asked || snapshots_inside())
    {
        verify_dir(args, path, verbosity)?;
        return Ok(true);
    }
    if asked {
        usage!(
            "--max-age and --all-snapshots check a snapshot directory (--snapshot-dir); {} is a dump",
            path.display()
        );
    }
    Ok(false)
}

/// `N days M hours`, `N hours M minutes`, `N minutes`: an age.
fn age_text(seconds: i64) -> String {
    let (d, h, m) = (seconds / 86400, seconds % 86400 / 3600, seconds % 3600 / 60);
    let unit = |n: i64, u: &str| crate::counted(n.max(0) as u64, u);
    if d > 0 {
        format!("{} {}", unit(d, "day"), unit(h, "hour"))
    } else if h > 0 {
        format!("{} {}", unit(h, "hour"), unit(m, "minute"))
    } else {
        unit(m, "minute")
    }
}

/// `--verify DIR` of a snapshot directory: the newest snapshot of each
/// site (or every one, `--all-snapshots`) must verify, and be younger than
/// `--max-age`; else an error of one line.
pub fn verify_dir(args: &SnapshotArgs, dir: &Path, verbosity: u8) -> Result<()> {
    let found = ours(dir, args.snapshot_name.as_deref())?;
    if found.is_empty() {
        bail!("{}: no snapshot written by dump2py in it", dir.display());
    }
    let now = now()?;
    let mut sites: Vec<&str> = found.iter().map(|f| f.site.as_str()).collect();
    sites.sort();
    sites.dedup();
    let mut bad = Vec::new();
    let mut report = Vec::new();
    for site in sites {
        let mine: Vec<&Found> = found.iter().filter(|f| f.site == site).collect();
        let newest = mine[0];
        let age = now.as_second() - newest.time.as_second();
        if let Some(max) = args.max_age {
            if age > max {
                bail!(
                    "{}: the newest snapshot of {site}, {}, is {} old: more than --max-age",
                    dir.display(),
                    newest.name,
                    age_text(age)
                );
            }
        }
        let check = if args.all_snapshots {
            &mine[..]
        } else {
            &mine[..1]
        };
        for f in check {
            if let Err(e) = verify::files(&f.path) {
                bad.push(format!("{} ({})", f.name, crate::one_line(&e)));
            }
        }
        report.push(format!(
            "{site}: newest {} ({} old), {}",
            newest.name,
            age_text(age),
            crate::counted(mine.len() as u64, "snapshot")
        ));
    }
    match bad.as_slice() {
        [] => {}
        [one] if !args.all_snapshots => bail!(
            "{}: the newest snapshot does not verify: {one}",
            dir.display()
        ),
        _ => bail!(
            "{}: {} of {} checked do not verify: {}",
            dir.display(),
            bad.len(),
            crate::counted(
                if args.all_snapshots {
                    found.len() as u64
                } else {
                    report.len() as u64
                },
                "snapshot"
            ),
            bad.join("; ")
        ),
    }
    if verbosity > 0 {
        let what = if args.all_snapshots {
            "every snapshot intact"
        } else {
            "newest intact"
        };
        println!("{}: {what}; {}", dir.display(), report.join("; "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_ages_and_sites() {
        assert_eq!(
            parse_name("min1-20250502T230000Z").map(|(s, t)| (s, t.to_string())),
            Some(("min1".into(), "2025-05-02T23:00:00Z".into()))
        );
        assert_eq!(
            parse_name("my-site-20250502T230000Z.tar.zst").map(|(s, _)| s),
            Some("my-site".into())
        );
        assert!(parse_name("min1-20250502T230000").is_none());
        assert!(parse_name("min1-20251302T230000Z").is_none());
        assert!(parse_name(".min1-20250502T230000Z").is_none());
        assert!(parse_name("notes.txt").is_none());
        assert_eq!(parse_age("26h"), Ok(26 * 3600));
        assert_eq!(parse_age("1d12h"), Ok(36 * 3600));
        assert!(parse_age("26").is_err());
        assert!(parse_age("0h").is_err());
        assert!(parse_age("h").is_err());
        assert!(parse_age("-1h").is_err());
        assert_eq!(
            site_name(Some("lino_book.projects.min1.settings"), ""),
            "min1"
        );
        assert_eq!(site_name(Some("mysite.settings.prod"), ""), "mysite");
        assert_eq!(site_name(Some("config"), ""), "config");
        assert_eq!(site_name(None, "sqlite:data/default.db"), "default");
        assert_eq!(site_name(None, "postgres://u@h/lino_db?x=1"), "lino_db");
        assert_eq!(age_text(26 * 3600 + 120), "1 day 2 hours");
        assert_eq!(age_text(3 * 60), "3 minutes");
    }
}
