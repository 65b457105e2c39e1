//! Row lines, `loader.save(create_T(...))`: one at a time, or a batch's
//! rows in slices on the formatting threads (`-j`).

use dump2py_django::{Model, Site};
use dump2py_model::error::{Error, Result};
use dump2py_model::Value;

use crate::values;

/// A batch is split among the formatting threads in slices of at least
/// this many rows.
pub(crate) const ROWS_PER_SLICE: usize = 128;

/// The rows of `values` (`width` values each) formatted on `pool`, in
/// slices of rows: each slice's text and where each of its lines ends.
pub(crate) fn format_slices(
    pool: &rayon::ThreadPool,
    site: &Site,
    model: &Model,
    create: &str,
    values: &[Value],
    width: usize,
) -> Result<Vec<(String, Vec<usize>)>> {
    use rayon::prelude::*;
    let width = width.max(1);
    let per_slice = (values.len() / width)
        .div_ceil(pool.current_num_threads())
        .max(ROWS_PER_SLICE);
    let slices: Vec<Result<(String, Vec<usize>)>> = pool.install(|| {
        (values.par_chunks(per_slice * width))
            .map(|slice| {
                let mut text = String::with_capacity(slice.len() * 24);
                let mut ends = Vec::with_capacity(per_slice);
                for row in slice.chunks_exact(width) {
                    format_row(&mut text, site, model, create, row)?;
                    ends.push(text.len());
                }
                Ok((text, ends))
            })
            .collect()
    });
    // The first error in row order, as one thread would meet it.
    slices.into_iter().collect()
}

/// Appends one row's line, `loader.save(create_T(...))` and a newline.
pub(crate) fn format_row(
    line: &mut String,
    site: &Site,
    model: &Model,
    create: &str,
    row: &[Value],
) -> Result<()> {
    // Room for the whole line at once: a big value's line is not grown
    // (and copied) at its end.
    line.reserve(create.len() + row.iter().map(Value::text_estimate).sum::<usize>() + 8);
    line.push_str(create);
    for (i, f) in model.fields.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        values::write_value(line, site, f, row).map_err(|message| Error::Value {
            table: model.table.name.clone(),
            column: f.column.clone(),
            pk: model.table.pk_text(row),
            message,
        })?;
    }
    line.push_str("))\n");
    Ok(())
}
