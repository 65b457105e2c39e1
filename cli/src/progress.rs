//! Progress on a terminal (indicatif), table lines at higher verbosity.

use dump2py_core::django::Model;
use dump2py_core::pipeline::Observer;
use dump2py_core::plugin::TableOutcome;
use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    verbosity: u8,
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn new(verbosity: u8, terminal: bool) -> Progress {
        let bar = (terminal && verbosity > 0).then(|| {
            let bar = ProgressBar::new(0);
            if let Ok(style) =
                ProgressStyle::with_template("{spinner} {msg:30} {bar:30} {pos}/{len} rows")
            {
                bar.set_style(style);
            }
            bar
        });
        Progress { verbosity, bar }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Observer for Progress {
    fn warning(&mut self, message: &str) {
        let line = format!("warning: {message}");
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    fn table_started(&mut self, model: &Model, expected_rows: u64) {
        if let Some(bar) = &self.bar {
            bar.set_message(model.table.name.clone());
            bar.set_length(expected_rows);
            bar.set_position(0);
        }
    }

    fn rows_read(&mut self, rows: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(rows);
        }
    }

    fn table_finished(&mut self, model: &Model, outcome: &TableOutcome) {
        if self.verbosity >= 2 {
            let line = match outcome {
                TableOutcome::Dumped { rows } => format!("{}: {rows} rows", model.table.name),
                TableOutcome::Skipped { reason } => {
                    format!("{}: skipped: {reason}", model.table.name)
                }
            };
            match &self.bar {
                Some(bar) => bar.println(line),
                None => eprintln!("{line}"),
            }
        }
    }
}
