//! `--verify DUMP`: checks an output against its manifest (each file's
//! size and SHA-256), and with a database the rows per table against it.

use std::fs;
use std::path::Path;

use anyhow::Result;

use crate::counted;
use dump2py_plugin::Source;
use dump2py_staging::Manifest;

/// The manifest of `dump` (a Python dump's directory, or a JSON/XML file
/// with its sidecar, or an archive) once every file it lists is there,
/// whole and unchanged, and nothing else is (inside an archive too); else
/// an error naming the first file that isn't.
pub fn files(dump: &Path) -> Result<Manifest> {
    // An archive carried without the manifest beside it: the one inside.
    if fs::metadata(dump).is_ok_and(|m| m.is_file())
        && fs::symlink_metadata(dump2py_staging::sidecar_of(dump)).is_err()
    {
        if let Some(inside) = crate::archive::check_inside(dump, true)? {
            return Ok(inside);
        }
    }
    let manifest = crate::checked::files(dump)?;
    // An archive: also every file inside against the manifest inside.
    crate::archive::check_inside(dump, false)?;
    Ok(manifest)
}

/// Compares the manifest's rows per table with the database's now; the
/// tables that changed, one line each.
pub fn changes(manifest: &Manifest, source: &mut dyn Source) -> Result<Vec<String>> {
    let schema = source.schema()?;
    let mut out = Vec::new();
    for (table, &then) in &manifest.tables {
        let Some(t) = schema.table(table) else {
            out.push(format!(
                "table {table}: {} in the dump, gone from the database",
                counted(then, "row")
            ));
            continue;
        };
        let now = source.count_rows(t)?;
        if now != then {
            out.push(format!(
                "table {table}: {} in the dump, {now} in the database",
                counted(then, "row")
            ));
        }
    }
    Ok(out)
}
