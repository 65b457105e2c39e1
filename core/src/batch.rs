use crate::value::Value;

/// Rows of one table, laid out flat: `width` values per row, in the
/// table's column order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    pub width: usize,
    pub values: Vec<Value>,
}

impl Batch {
    pub fn new(width: usize, capacity_rows: usize) -> Batch {
        Batch {
            width,
            values: Vec::with_capacity(width * capacity_rows),
        }
    }

    pub fn len(&self) -> usize {
        self.values.len().checked_div(self.width).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn rows(&self) -> impl Iterator<Item = &[Value]> {
        self.values.chunks_exact(self.width.max(1))
    }

    pub fn push_row(&mut self, row: impl IntoIterator<Item = Value>) {
        self.values.extend(row);
    }

    /// Keeps the rows for which `keep` is true.
    pub fn retain_rows(&mut self, mut keep: impl FnMut(&[Value]) -> bool) {
        let w = self.width.max(1);
        let old = std::mem::take(&mut self.values);
        let mut row = Vec::with_capacity(w);
        for v in old {
            row.push(v);
            if row.len() == w {
                if keep(&row) {
                    self.values.append(&mut row);
                } else {
                    row.clear();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_retain() {
        let mut b = Batch::new(2, 3);
        for i in 0..3 {
            b.push_row([Value::Int(i), Value::Text(format!("r{i}"))]);
        }
        assert_eq!(b.len(), 3);
        b.retain_rows(|r| r[0] != Value::Int(1));
        let firsts: Vec<_> = b.rows().map(|r| r[0].clone()).collect();
        assert_eq!(firsts, vec![Value::Int(0), Value::Int(2)]);
    }
}
