use std::sync::Mutex;

use crate::value::Value;

/// Rows of one table, laid out flat: `width` values per row, in the
/// table's column order.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub width: usize,
    pub values: Vec<Value>,
    /// The emptied strings of a recycled batch, for [`Batch::string`].
    spare: Vec<String>,
}

impl PartialEq for Batch {
    fn eq(&self, other: &Batch) -> bool {
        self.width == other.width && self.values == other.values
    }
}

/// Batches the pipeline is done with, for sources to fill again: a reader
/// then allocates no string per value, and the sinks' thread frees none.
static POOL: Mutex<Vec<Batch>> = Mutex::new(Vec::new());
/// Batches kept at most: about those in flight (queues of a few readers).
const POOL_BATCHES: usize = 8;
/// A string longer than this is freed, not kept for another value.
const SPARE_CAPACITY: usize = 1 << 12;

impl Batch {
    /// An empty batch; a recycled one where there is one.
    pub fn new(width: usize, capacity_rows: usize) -> Batch {
        let recycled = POOL.lock().ok().and_then(|mut p| p.pop());
        match recycled {
            Some(mut b) => {
                b.width = width;
                b.values.reserve(width * capacity_rows);
                b
            }
            None => Batch {
                width,
                values: Vec::with_capacity(width * capacity_rows),
                spare: Vec::new(),
            },
        }
    }

    pub fn from_values(width: usize, values: Vec<Value>) -> Batch {
        Batch {
            width,
            values,
            spare: Vec::new(),
        }
    }

    /// `s` in a string of this batch's spares (else a new one): a source
    /// makes its text values with it.
    pub fn string(&mut self, s: &str) -> String {
        let mut t = self.spare.pop().unwrap_or_default();
        t.push_str(s);
        t
    }

    /// Hands the batch back for [`Batch::new`] to give out again, its
    /// strings kept (emptied) for [`Batch::string`].
    pub fn recycle(mut self) {
        let room = self.values.capacity();
        for v in self.values.drain(..) {
            if let Value::Text(mut t) | Value::Decimal(mut t) | Value::Json(mut t) = v {
                if t.capacity() <= SPARE_CAPACITY && self.spare.len() < room {
                    t.clear();
                    self.spare.push(t);
                }
            }
        }
        if let Ok(mut pool) = POOL.lock() {
            if pool.len() < POOL_BATCHES {
                pool.push(self);
            }
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
