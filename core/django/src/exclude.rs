//! `-e/--exclude`: models and apps left out of every output.

use crate::{Model, Site, DJANGO_TABLES};
use dump2py_model::error::{Error, Result};

/// Removes the models that `excludes` name from `site` (dumpdata's `-e`:
/// an app label leaves out the app's models, `app_label.ModelName` one
/// model, its name in any case), with the link tables of their
/// many-to-many fields; a name the site doesn't know is an error.
pub fn exclude(site: &mut Site, excludes: &[String]) -> Result<()> {
    if excludes.is_empty() {
        return Ok(());
    }
    let meta = site.meta.clone();
    let all: Vec<&Model> = site.models.iter().chain(&site.skipped).collect();
    // Without metadata Django's own tables have their label by name.
    let inferred = meta.is_none();
    let id_of = |m: &Model| -> (String, String) {
        let known = inferred
            .then(|| DJANGO_TABLES.iter().find(|(t, _)| *t == m.table.name))
            .flatten();
        match known.and_then(|(_, l)| l.split_once('.')) {
            Some((app, model)) => (app.to_string(), model.to_string()),
            None => (m.app_label.clone(), m.model_name.to_lowercase()),
        }
    };
    let mut apps: Vec<String> = Vec::new();
    let mut models: Vec<(String, String)> = Vec::new();
    for label in excludes {
        match label.split_once('.') {
            Some((app, name)) => {
                let lower = name.to_lowercase();
                let known = match &meta {
                    Some(m) => (m.models.iter())
                        .any(|m| m.app_label == app && m.object_name.to_lowercase() == lower),
                    None => all
                        .iter()
                        .any(|m| id_of(m) == (app.to_string(), lower.clone())),
                };
                if !known {
                    return Err(Error::Usage(format!(
                        "-e/--exclude {label}: the site has no model {label}"
                    )));
                }
                models.push((app.to_string(), lower));
            }
            None => {
                let known = match &meta {
                    Some(m) => m.apps.iter().any(|a| a == label),
                    None => all.iter().any(|m| id_of(m).0 == *label),
                };
                if !known {
                    return Err(Error::Usage(format!(
                        "-e/--exclude {label}: the site has no app {label}"
                    )));
                }
                apps.push(label.clone());
            }
        }
    }
    let named = |m: &Model| {
        let (app, name) = id_of(m);
        apps.contains(&app) || models.contains(&(app, name))
    };
    let mut out: Vec<String> = all
        .iter()
        .filter(|m| !m.auto_created && named(m))
        .map(|m| m.table.name.clone())
        .collect();
    // A link table goes with its owner, or with its app.
    let links: Vec<String> = all
        .iter()
        .filter(|m| m.auto_created)
        .filter(|m| {
            apps.contains(&id_of(m).0)
                || link_owner(m, meta.as_deref()).is_some_and(|o| out.contains(&o))
        })
        .map(|m| m.table.name.clone())
        .collect();
    out.extend(links);
    let mut excluded = Vec::new();
    for list in [&mut site.models, &mut site.skipped] {
        let (gone, kept) = std::mem::take(list)
            .into_iter()
            .partition(|m| out.contains(&m.table.name));
        *list = kept;
        excluded.extend::<Vec<Model>>(gone);
    }
    // restore.py binds a global for an excluded model too (its content
    // type by natural key), so content types keep naming theirs.
    site.excluded = excluded;
    site.excluded_apps = apps;
    Ok(())
}

/// The owner's table of a many-to-many link table: the model whose field
/// has it as `through` in the metadata, else its first foreign key's
/// target (Django's link tables are `id`, owner, target).
fn link_owner(link: &Model, meta: Option<&crate::meta::SiteMeta>) -> Option<String> {
    if let Some(meta) = meta {
        let label = link.label();
        return (meta.models.iter())
            .find(|m| (m.fields.iter()).any(|f| f.through.as_deref() == Some(label.as_str())))
            .map(|m| m.db_table.clone());
    }
    let t = &link.table;
    (t.columns.iter())
        .find_map(|c| t.foreign_key(&c.name))
        .map(|fk| fk.target_table.clone())
}
