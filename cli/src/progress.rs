//! Progress on a terminal: one line (indicatif) with the whole dump's
//! progress, within 80 columns; table lines at higher verbosity.

use std::time::Duration;

use dump2py_core::django::Model;
use dump2py_core::pipeline::Observer;
use dump2py_core::plugin::TableOutcome;
use indicatif::{ProgressBar, ProgressStyle};

use crate::counted;

/// A frame is at most this wide: one column short of 80, so that a
/// terminal never wraps it.
const WIDTH: usize = 79;

pub struct Progress {
    verbosity: u8,
    bar: Option<ProgressBar>,
    tables: u64,
    done: u64,
    rows: u64,
    expected: u64,
    table: String,
}

impl Progress {
    pub fn new(verbosity: u8, terminal: bool) -> Progress {
        // Hidden until the dump starts: no empty first frame.
        let bar = (terminal && verbosity > 0).then(|| {
            let bar = ProgressBar::hidden();
            if let Ok(style) = ProgressStyle::with_template("{msg}") {
                bar.set_style(style);
            }
            bar
        });
        Progress {
            verbosity,
            bar,
            tables: 0,
            done: 0,
            rows: 0,
            expected: 0,
            table: String::new(),
        }
    }

    /// The last frame stays: every table done.
    pub fn finish(&mut self) {
        if let Some(bar) = &self.bar {
            let took = format!("done in {:.1} s", bar.elapsed().as_secs_f64());
            let line = frame(
                self.done,
                self.tables,
                self.rows,
                self.expected,
                None,
                None,
                &took,
            );
            bar.finish_with_message(line);
            // What is printed next goes below it.
            eprintln!();
        }
    }

    fn draw(&self) {
        if let Some(bar) = &self.bar {
            bar.set_position(self.rows);
            let elapsed = bar.elapsed();
            // Rows per second and the time left, once there is something to go by.
            let rate = (elapsed >= Duration::from_millis(500) && self.rows > 0)
                .then(|| self.rows as f64 / elapsed.as_secs_f64());
            let eta = rate.and_then(|r| {
                let left = self.expected.saturating_sub(self.rows) as f64;
                Duration::try_from_secs_f64(left / r.max(1.0)).ok()
            });
            bar.set_message(frame(
                self.done,
                self.tables,
                self.rows,
                self.expected,
                rate,
                eta,
                &self.table,
            ));
        }
    }

    fn println(&self, line: String) {
        match &self.bar {
            Some(bar) => bar.println(crate::say::message(&line)),
            None => eprintln!("{line}"),
        }
    }
}

/// `3/11 tables  1,234/5,678 rows  12,345 rows/s  ETA 0:05  contacts_partner`,
/// the table name cut to fit [`WIDTH`].
fn frame(
    done: u64,
    tables: u64,
    rows: u64,
    expected: u64,
    rate: Option<f64>,
    eta: Option<Duration>,
    table: &str,
) -> String {
    let total_tables = if tables == 1 { "table" } else { "tables" };
    let mut line = format!(
        "{done}/{tables} {total_tables}  {}/{} {}",
        human(rows),
        human(expected.max(rows)),
        if expected.max(rows) == 1 {
            "row"
        } else {
            "rows"
        }
    );
    if let Some(r) = rate {
        line.push_str(&format!("  {} rows/s", human(r as u64)));
    }
    if let Some(eta) = eta {
        let s = eta.as_secs();
        line.push_str(&format!("  ETA {}:{:02}", s / 60, s % 60));
    }
    let room = WIDTH.saturating_sub(line.chars().count() + 2);
    if !table.is_empty() && room > 1 {
        line.push_str("  ");
        if table.chars().count() <= room {
            line.push_str(table);
        } else {
            line.extend(table.chars().take(room - 1));
            line.push('…');
        }
    }
    // Whatever the numbers, never wider.
    line.chars().take(WIDTH).collect()
}

/// `1234567` → `1.2M`, below 10,000 as it is.
fn human(n: u64) -> String {
    match n {
        0..=9_999 => n.to_string(),
        10_000..=999_999 => format!("{:.1}k", n as f64 / 1e3),
        1_000_000..=999_999_999 => format!("{:.1}M", n as f64 / 1e6),
        _ => format!("{:.1}G", n as f64 / 1e9),
    }
}

impl Observer for Progress {
    fn warning(&mut self, message: &str) {
        self.println(format!("warning: {message}"));
    }

    fn note(&mut self, message: &str) {
        if self.verbosity >= 2 {
            self.println(message.to_string());
        }
    }

    fn dump_started(&mut self, tables: u64, expected_rows: u64) {
        self.tables = tables;
        self.expected = expected_rows;
        if let Some(bar) = &self.bar {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            bar.set_length(expected_rows.max(1));
            bar.reset_elapsed();
        }
        self.draw();
    }

    fn table_started(&mut self, model: &Model, _expected_rows: u64) {
        self.table = crate::say::escape(&model.table.name).into_owned();
        self.draw();
    }

    fn rows_read(&mut self, rows: u64) {
        self.rows += rows;
        self.draw();
    }

    fn table_finished(&mut self, model: &Model, outcome: &TableOutcome) {
        self.done += 1;
        self.draw();
        if self.verbosity >= 2 {
            let line = match outcome {
                TableOutcome::Dumped { rows } => {
                    format!("{}: {}", model.table.name, counted(*rows, "row"))
                }
                TableOutcome::Skipped { reason } => {
                    format!("{}: skipped: {reason}", model.table.name)
                }
            };
            self.println(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_fit_and_say_one_row() {
        let f = frame(0, 1, 0, 1, None, None, "t");
        assert_eq!(f, "0/1 table  0/1 row  t");
        let long = "x".repeat(300);
        let f = frame(
            12_345,
            99_999,
            u64::MAX,
            u64::MAX,
            Some(1e15),
            Some(Duration::from_secs(u64::MAX / 2)),
            &long,
        );
        assert!(f.chars().count() <= WIDTH, "{f}");
        let f = frame(
            3,
            11,
            12_345,
            1_234_567,
            Some(54_321.0),
            Some(Duration::from_secs(75)),
            &long,
        );
        assert!(
            f.starts_with("3/11 tables  12.3k/1.2M rows  54.3k rows/s  ETA 1:15  xx"),
            "{f}"
        );
        assert!(f.ends_with('…') && f.chars().count() == WIDTH, "{f}");
    }
}
