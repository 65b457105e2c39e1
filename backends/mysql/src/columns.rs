//! Whether the user may read every column of a table: information_schema
//! shows only the columns the user has a privilege on, so a read of those
//! would leave the others out without a word. Asked before each read (no
//! count comes first any more, which asked it before).

use dump2py_model::error::{Error, Result};
use dump2py_model::schema::Table;

use crate::{quote, MysqlSource};

impl MysqlSource {
    /// `SELECT *` needs every column: an error names the table (and says
    /// "only some of its columns" only when the table itself is readable).
    pub(crate) fn check_all_columns(&mut self, table: &Table) -> Result<()> {
        if self.readable.contains(&table.name) {
            return Ok(());
        }
        let any = format!("SELECT 1 FROM {} LIMIT 0", quote(&table.name));
        self.rows(&any)
            .map_err(|e| self.table_error(&table.name, e))?;
        let all = format!("SELECT * FROM {} LIMIT 0", quote(&table.name));
        self.rows(&all)
            .map_err(|e| match self.table_error(&table.name, e) {
                Error::Table { table, message } => Error::Table {
                    table,
                    message: format!("the user may read only some of its columns: {message}"),
                },
                other => other,
            })?;
        self.readable.insert(table.name.clone());
        Ok(())
    }
}
