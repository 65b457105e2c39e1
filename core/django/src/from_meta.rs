//! The Django view from the site's own metadata: Lino's model list, names,
//! fields, babel groups, choice lists and MTI parents, exactly.

use std::collections::HashMap;
use std::sync::Arc;

use super::{
    dependency_order, ContentType, Field, Model, MtiParent, Site, SiteSettings, SKIPPED_LABELS,
};
use crate::fields::FieldClass;
use crate::meta::{FieldMeta, ModelMeta, SiteMeta};
use crate::read::{Reading, WallTimeZone};
use dump2py_model::schema::{ColumnKind, Schema, Table};

pub(super) fn build(
    schema: &Schema,
    meta: &SiteMeta,
    mut content_types: Vec<ContentType>,
    rows: &dyn Fn(&str) -> u64,
) -> Site {
    let table_of: HashMap<String, &str> = meta
        .models
        .iter()
        .filter(|m| !m.proxy)
        .map(|m| (m.label(), m.db_table.as_str()))
        .collect();
    let times = Times {
        use_tz: meta.use_tz,
        zone: meta.wall_time_zone().map(WallTimeZone::new),
    };
    let models: Vec<Model> = meta
        .models
        .iter()
        .filter(|m| !m.proxy && !SKIPPED_LABELS.contains(&m.label().as_str()))
        .map(|m| model(m, schema, &table_of, &times))
        .collect();
    let skipped = meta
        .models
        .iter()
        .filter(|m| !m.proxy && SKIPPED_LABELS.contains(&m.label().as_str()))
        .map(|m| model(m, schema, &table_of, &times))
        .collect();
    // A content type names its model by the global restore.py binds for
    // every model of the site (a proxy's or an excluded model's too: bound
    // to its content type by natural key, `ct_model`).
    for ct in &mut content_types {
        ct.global = meta
            .models
            .iter()
            .find(|m| m.app_label == ct.app_label && m.object_name.to_lowercase() == ct.model)
            .map(|m| format!("{}_{}", m.app_label, m.object_name));
    }
    let (models, cycles) = dependency_order(models, rows);
    Site {
        settings: Some(SiteSettings {
            settings_module: meta.settings_module.clone(),
            version: meta.version.clone(),
            time_zone: meta.time_zone.clone(),
        }),
        models,
        cycles,
        languages: meta.languages.clone(),
        content_types: content_types.into_iter().map(|ct| (ct.id, ct)).collect(),
        skipped,
        meta: Some(Arc::new(meta.clone())),
        excluded: Vec::new(),
        excluded_apps: Vec::new(),
    }
}

/// How the site reads datetimes: `USE_TZ`, and without it `TIME_ZONE`.
struct Times {
    use_tz: bool,
    zone: Option<WallTimeZone>,
}

fn model(m: &ModelMeta, schema: &Schema, table_of: &HashMap<String, &str>, times: &Times) -> Model {
    let mut problem = None;
    let table = schema.table(&m.db_table).cloned().unwrap_or_else(|| {
        problem = Some(format!("no such table (model {})", m.label()));
        Table {
            name: m.db_table.clone(),
            columns: Vec::new(),
            primary_key: Vec::new(),
            foreign_keys: Vec::new(),
            unique: Vec::new(),
        }
    });
    let mut fields = Vec::new();
    let mut depends_on = Vec::new();
    for f in m.fields.iter().filter(|f| !f.babel_variant) {
        // Many-to-many fields have no column: their link table is a model.
        let Some(column) = &f.column else { continue };
        let target = f
            .related_model
            .as_ref()
            .and_then(|r| table_of.get(r))
            .map(|t| t.to_string());
        if let Some(t) = &target {
            depends_on.push(t.clone());
        }
        let index = table.column_index(column);
        let babel: Option<Vec<usize>> = f
            .babel_columns
            .iter()
            .map(|c| table.column_index(c))
            .collect();
        let (Some(index), Some(babel)) = (index, babel) else {
            if problem.is_none() && !table.columns.is_empty() {
                problem = Some(format!(
                    "field {}.{} has no column {} in the table",
                    m.label(),
                    f.name,
                    std::iter::once(column)
                        .chain(&f.babel_columns)
                        .find(|c| table.column_index(c).is_none())
                        .unwrap_or(column)
                ));
            }
            continue;
        };
        fields.push(Field {
            name: f.name.clone(),
            attname: f.attname.clone(),
            column: column.clone(),
            index,
            kind: table
                .columns
                .get(index)
                .map_or(ColumnKind::Text, |c| c.kind.clone()),
            fk_table: target,
            is_babel: f.babel || !f.babel_columns.is_empty(),
            babel,
            internal_type: Some(f.internal_type.clone()),
            choicelist: f.choicelist.clone(),
            decimal_places: f.decimal_places,
            reading: reading(f, times),
        });
    }
    let mti_parent = m.parent.as_ref().and_then(|p| {
        table_of.get(&p.model).map(|t| MtiParent {
            table: t.to_string(),
            link_column: p.link_column.clone(),
        })
    });
    Model {
        table,
        app_label: m.app_label.clone(),
        model_name: m.object_name.to_lowercase(),
        object_name: Some(m.object_name.clone()),
        depends_on,
        problem,
        fields,
        mti_parent,
        auto_created: m.auto_created,
    }
}

/// What Django does to the field's stored values on reading.
fn reading(f: &FieldMeta, times: &Times) -> Reading {
    let class = FieldClass::of(&f.internal_type);
    let datetime = class == FieldClass::DateTime;
    // Fields that may hold datetimes inside (django.contrib.postgres) too.
    let holds_datetimes = class.holds_datetimes();
    let decimal = (class == FieldClass::Decimal)
        .then_some(f.decimal_places)
        .flatten()
        .map(|places| (places, f.max_digits));
    Reading {
        // Older saved schemas know choice lists only.
        empty_is_none: f.empty_is_none || f.choicelist.is_some(),
        decimal,
        aware: times.use_tz && datetime,
        wall_time_in: times.zone.clone().filter(|_| holds_datetimes),
        // A UUIDField's max_length is its hex column's, not its text's.
        max_length: f.max_length.filter(|_| class != FieldClass::Uuid),
        range: f.min_value.zip(f.max_value),
    }
}
