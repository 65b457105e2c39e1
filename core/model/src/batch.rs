use std::sync::Mutex;

use crate::value::Value;

/// Rows of one table, laid out flat: `width` values per row, in the
/// table's column order.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub width: usize,
    pub values: Vec<Value>,
    /// About the memory the values take ([`Value::footprint`]), counted by
    /// [`Batch::push`], [`Batch::push_row`] and [`Batch::from_values`].
    bytes: usize,
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
/// A source closes a batch at this many bytes of values ([`Batch::full`]),
/// whatever its rows: a batch of big values holds few rows (one, when a
/// row is bigger), and the read-ahead queues hold a bounded number of bytes.
pub const BATCH_BYTES: usize = 4 << 20;

impl Batch {
    /// An empty batch; a recycled one where there is one.
    pub fn new(width: usize, capacity_rows: usize) -> Batch {
        let recycled = POOL.lock().ok().and_then(|mut p| p.pop());
        match recycled {
            Some(mut b) => {
                b.width = width;
                b.bytes = 0;
                b.values.reserve(width * capacity_rows);
                b
            }
            None => Batch {
                width,
                values: Vec::with_capacity(width * capacity_rows),
                bytes: 0,
                spare: Vec::new(),
            },
        }
    }

    pub fn from_values(width: usize, values: Vec<Value>) -> Batch {
        Batch {
            width,
            bytes: values.iter().map(Value::footprint).sum(),
            values,
            spare: Vec::new(),
        }
    }

    /// Appends one value, counting its bytes.
    pub fn push(&mut self, v: Value) {
        self.bytes += v.footprint();
        self.values.push(v);
    }

    /// About the memory the batch's values take: what [`Batch::push`],
    /// [`Batch::push_row`] and [`Batch::from_values`] counted (values put
    /// into `values` directly are not counted).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether a source should hand this batch on: `max_rows` rows, or
    /// [`BATCH_BYTES`] bytes of values, whichever comes first.
    pub fn full(&self, max_rows: usize) -> bool {
        self.len() >= max_rows || self.bytes >= BATCH_BYTES
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
        // The spares' bytes stay within what a batch may hold.
        let mut kept: usize = self.spare.iter().map(String::capacity).sum();
        for v in self.values.drain(..) {
            if let Value::Text(mut t) | Value::Decimal(mut t) | Value::Json(mut t) = v {
                if t.capacity() <= SPARE_CAPACITY
                    && self.spare.len() < room
                    && kept + t.capacity() <= BATCH_BYTES
                {
                    kept += t.capacity();
                    t.clear();
                    self.spare.push(t);
                }
            }
        }
        self.bytes = 0;
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
        for v in row {
            self.push(v);
        }
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
                    self.bytes -= row.iter().map(Value::footprint).sum::<usize>();
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

    /// A batch of big values is full long before its rows: at
    /// [`BATCH_BYTES`], the row that crosses it included.
    #[test]
    fn a_batch_closes_on_its_bytes() {
        let mut b = Batch::new(2, 1000);
        let big = "x".repeat(BATCH_BYTES / 3);
        let mut rows = 0;
        while !b.full(1000) {
            b.push_row([Value::Int(rows), Value::Text(big.clone())]);
            rows += 1;
        }
        assert_eq!(rows, 3);
        assert!(b.bytes() >= BATCH_BYTES && b.bytes() < BATCH_BYTES + big.len() + 64);
        // One row bigger than the limit is a batch of its own.
        let mut one = Batch::new(1, 1000);
        one.push(Value::Bytes(vec![0; BATCH_BYTES + 1]));
        assert!(one.full(1000));
        // Small rows: the row limit, as before.
        let mut small = Batch::new(1, 3);
        for i in 0..3 {
            assert!(!small.full(3));
            small.push(Value::Int(i));
        }
        assert!(small.full(3));
        // Dropped rows are no longer counted.
        b.retain_rows(|r| r[0] == Value::Int(0));
        assert!(!b.full(1000));
        assert_eq!(Batch::from_values(2, b.values.clone()).bytes(), b.bytes());
    }
}
