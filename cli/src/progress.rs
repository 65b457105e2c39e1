//! Progress on a terminal: one line (indicatif) with the whole dump's
//! progress, within the terminal's width (at most 79 columns); a spinner
//! while the schema is read; table lines at higher verbosity, printed
//! above the line. The total of rows is the server's estimate (a count
//! only where one was made), corrected as each table's rows arrive.

use std::sync::OnceLock;
use std::time::Duration;

use dump2py_django::Model;
use dump2py_pipeline::Observer;
use dump2py_plugin::TableOutcome;
use indicatif::{ProgressBar, ProgressStyle};

use crate::counted;

/// A frame is at most this wide: one column short of 80, so that a
/// terminal never wraps it (nor what it echoes after it, such as `^C`);
/// less on a narrower terminal.
const WIDTH: usize = 79;

/// The line on the terminal, for [`clear`] on a signal.
static SHOWN: OnceLock<ProgressBar> = OnceLock::new();

/// The width a frame may take now: one column short of the terminal's
/// (it may have been resized), at most [`WIDTH`].
fn width() -> usize {
    console::Term::stderr()
        .size_checked()
        .map_or(WIDTH, |(_, cols)| usize::from(cols).saturating_sub(1))
        .clamp(1, WIDTH)
}

/// Stops drawing and leaves the last frame where it is, with the cursor
/// below it (an error is printed next).
pub fn leave() {
    if let Some(bar) = SHOWN.get() {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        eprintln!();
    }
}

/// Standard error as indicatif's terminal, without the spaces indicatif
/// writes after the last line to put the cursor in the last column: there
/// the terminal wraps what comes next, such as the `^C` it echoes, and
/// the next frame is drawn a line lower, the old one left above it.
#[derive(Debug)]
struct Stderr(console::Term);

impl indicatif::TermLike for Stderr {
    fn width(&self) -> u16 {
        self.0.size().1
    }
    fn height(&self) -> u16 {
        self.0.size().0
    }
    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_up(n)
    }
    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_down(n)
    }
    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_right(n)
    }
    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_left(n)
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.0.write_line(s)
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        if !s.is_empty() && s.bytes().all(|b| b == b' ') {
            return Ok(());
        }
        self.0.write_str(s)
    }
    fn clear_line(&self) -> std::io::Result<()> {
        self.0.clear_line()
    }
    fn flush(&self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Removes the line from the terminal for good (a signal is stopping the
/// run): nothing is drawn any more, and the line is erased so that the
/// error is printed in its place. Whether there was one.
pub fn clear() -> bool {
    match SHOWN.get() {
        Some(bar) => {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
            // Back to the line's start and erase it (and a `^C` echoed there).
            eprint!("\r\x1b[2K");
            true
        }
        None => false,
    }
}

pub struct Progress {
    verbosity: u8,
    bar: Option<ProgressBar>,
    tables: u64,
    done: u64,
    rows: u64,
    /// Rows of the dump expected: the estimates, corrected by the tables
    /// read.
    expected: u64,
    table: String,
    /// The current table's rows, expected (its estimate, or as many as
    /// came when more did) and read.
    table_expected: u64,
    table_rows: u64,
}

impl Progress {
    pub fn new(verbosity: u8, terminal: bool) -> Progress {
        // A spinner at once while the schema is read and the rows are
        // estimated: no empty `0/0` frame, and no blank wait.
        let bar = (terminal && verbosity > 0).then(|| {
            let target = indicatif::ProgressDrawTarget::term_like_with_hz(
                Box::new(Stderr(console::Term::stderr())),
                20,
            );
            let bar = ProgressBar::with_draw_target(None, target);
            if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
                bar.set_style(style);
            }
            let counting = "reading the schema, estimating rows…";
            bar.set_message(
                counting
                    .chars()
                    .take(width().saturating_sub(2))
                    .collect::<String>(),
            );
            bar.enable_steady_tick(Duration::from_millis(100));
            let _ = SHOWN.set(bar.clone());
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
            table_expected: 0,
            table_rows: 0,
        }
    }

    /// The last frame stays: every table done.
    pub fn finish(&mut self) {
        if let Some(bar) = &self.bar {
            let took = format!("done in {:.1} s", bar.elapsed().as_secs_f64());
            let line = frame(
                width(),
                (self.done, self.tables),
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
            // One draw per update: the message is the whole frame.
            let elapsed = bar.elapsed();
            // Rows per second and the time left, once there is something to go by.
            let rate = (elapsed >= Duration::from_millis(500) && self.rows > 0)
                .then(|| self.rows as f64 / elapsed.as_secs_f64());
            let eta = rate.and_then(|r| {
                let left = self.expected.saturating_sub(self.rows) as f64;
                Duration::try_from_secs_f64(left / r.max(1.0)).ok()
            });
            bar.set_message(frame(
                width(),
                (self.done, self.tables),
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
/// the table name cut to fit `width` columns.
fn frame(
    width: usize,
    (done, tables): (u64, u64),
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
    // The rate and the time left only whole, where they fit.
    let rate = rate.map(|r| format!("  {} rows/s", human(r as u64)));
    let eta = eta.map(|eta| {
        let s = eta.as_secs();
        format!("  ETA {}:{:02}", s / 60, s % 60)
    });
    for part in [rate, eta].into_iter().flatten() {
        if line.chars().count() + part.chars().count() <= width {
            line.push_str(&part);
        }
    }
    let room = width.saturating_sub(line.chars().count() + 2);
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
    line.chars().take(width).collect()
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
            bar.disable_steady_tick();
            if let Ok(style) = ProgressStyle::with_template("{msg}") {
                bar.set_style(style);
            }
            bar.reset_elapsed();
        }
        self.draw();
    }

    fn table_started(&mut self, model: &Model, expected_rows: u64) {
        self.table = crate::say::escape(&model.table.name).into_owned();
        self.table_expected = expected_rows;
        self.table_rows = 0;
        self.draw();
    }

    fn rows_read(&mut self, rows: u64) {
        self.rows += rows;
        self.table_rows += rows;
        // More than estimated: the total grows with them.
        if self.table_rows > self.table_expected {
            self.expected += self.table_rows - self.table_expected;
            self.table_expected = self.table_rows;
        }
        self.draw();
    }

    /// `-v 3`: one line per table read, showing that one run reads each
    /// table once, however many outputs it writes.
    fn table_read(&mut self, table: &str, rows: u64) {
        if self.verbosity >= 3 {
            self.println(format!("read table {table}: {}", counted(rows, "row")));
        }
    }

    fn table_finished(&mut self, model: &Model, outcome: &TableOutcome) {
        self.done += 1;
        // Fewer than estimated (or skipped): the total shrinks to them.
        let fewer = self.table_expected - self.table_rows.min(self.table_expected);
        self.expected = self.expected.saturating_sub(fewer);
        (self.table_expected, self.table_rows) = (0, 0);
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
        let f = frame(WIDTH, (0, 1), 0, 1, None, None, "t");
        assert_eq!(f, "0/1 table  0/1 row  t");
        let long = "x".repeat(300);
        let f = frame(
            WIDTH,
            (12_345, 99_999),
            u64::MAX,
            u64::MAX,
            Some(1e15),
            Some(Duration::from_secs(u64::MAX / 2)),
            &long,
        );
        assert!(f.chars().count() <= WIDTH, "{f}");
        let f = frame(
            WIDTH,
            (3, 11),
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
        // A narrow terminal: the name goes first, then the numbers are cut.
        let f = frame(39, (3, 11), 12_345, 1_234_567, Some(54_321.0), None, &long);
        assert_eq!(f, "3/11 tables  12.3k/1.2M rows  xxxxxxxx…", "{f}");
        let f = frame(9, (3, 11), 12, 50, None, None, &long);
        assert_eq!(f, "3/11 tabl", "{f}");
        let f = frame(39, (3, 11), 12, 50, None, None, &long);
        assert_eq!(f, "3/11 tables  12/50 rows  xxxxxxxxxxxxx…");
    }
}
