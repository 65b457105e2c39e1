//! `-j`: connections that read the main connection's snapshot, made as
//! mydumper makes them. InnoDB can't hand a snapshot over, but snapshots
//! started while no transaction can commit see the same rows: a connection
//! of its own holds commits (`BACKUP STAGE BLOCK_COMMIT` on MariaDB, else
//! `FLUSH TABLES WITH READ LOCK`) while the main connection restarts its
//! snapshot and each worker starts one; then it lets go.

use std::sync::Arc;
use std::time::Duration;

use dump2py_model::error::{Error, Result};
use dump2py_plugin::{Source, Workers};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use crate::{connect, message, url, MysqlSource, SNAPSHOT};

/// MySQL's ER_SPECIFIC_ACCESS_DENIED_ERROR (RELOAD is missing); and its
/// ER_PARSE_ERROR, a server without BACKUP STAGE.
const NO_PRIVILEGE: u16 = 1227;
const PARSE_ERROR: u16 = 1064;

/// How the lock connection holds commits; each with the statement that
/// lets go.
const HOLDS: &[(&[&str], &str)] = &[
    (
        &["BACKUP STAGE START", "BACKUP STAGE BLOCK_COMMIT"],
        "BACKUP STAGE END",
    ),
    (&["FLUSH TABLES WITH READ LOCK"], "UNLOCK TABLES"),
];

/// A lock wait longer than this is an error, not a hang behind a long
/// query of someone else.
const LOCK_WAIT_SECONDS: u32 = 60;

impl MysqlSource {
    pub(crate) fn start_workers(&mut self, n: usize) -> Result<Workers> {
        if n == 0 {
            return Ok(Workers::default());
        }
        if self.used {
            return Err(Error::Usage(
                "-j: a source's workers must be asked for before it reads".into(),
            ));
        }
        let spec = url::parse(&self.url)?;
        let mut lock = self.rt.block_on(connect(&spec)).map_err(Workers::failed)?;
        let timeout = format!("SET SESSION lock_wait_timeout = {LOCK_WAIT_SECONDS}");
        self.on(&mut lock, &timeout)?;
        // Nothing was read yet: the main snapshot may end here, to start
        // again with the workers'. Ended before the lock, it can't wait on it.
        self.restart("COMMIT")?;
        let held = self.hold(&mut lock);
        let release = held.as_ref().ok().copied().flatten();
        let started = match release {
            Some(_) => self.join(n),
            None => Ok(Vec::new()),
        };
        // Whatever happened: the snapshot again, and the lock let go.
        let restarted = self.restart(SNAPSHOT);
        if let Some(release) = release {
            let _ = self.on(&mut lock, release);
        }
        let _ = self.rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(2), lock.disconnect()).await
        });
        let sources = started?;
        restarted?;
        let note = match held? {
            Some(_) => None,
            None => Some(format!(
                "-j: user '{}' may not {} (needs RELOAD): reading on one connection",
                spec.user_name(),
                HOLDS[HOLDS.len() - 1].0.join("; ")
            )),
        };
        Ok(Workers { sources, note })
    }

    /// Holds commits on `lock`: the statement that lets go, or None when
    /// the user lacks the privilege.
    fn hold(&mut self, lock: &mut Conn) -> Result<Option<&'static str>> {
        for (take, release) in HOLDS {
            let taken: std::result::Result<(), mysql_async::Error> = self.rt.block_on(async {
                for sql in *take {
                    lock.query_drop(*sql).await?;
                }
                Ok(())
            });
            match taken {
                Ok(()) => return Ok(Some(release)),
                // Not MariaDB, or not allowed: the next way.
                Err(mysql_async::Error::Server(s))
                    if matches!(s.code, NO_PRIVILEGE | PARSE_ERROR) =>
                {
                    let _ = self.rt.block_on(lock.query_drop(*release));
                }
                Err(e) => return Err(self.lock_error(&take.join("; "), &e)),
            }
        }
        Ok(None)
    }

    /// The workers' connections, each in its own snapshot (started while
    /// commits are held).
    fn join(&mut self, n: usize) -> Result<Vec<Box<dyn Source + Send>>> {
        let mut sources: Vec<Box<dyn Source + Send>> = Vec::with_capacity(n);
        for _ in 0..n {
            let mut worker = MysqlSource::open(&self.url).map_err(Workers::failed)?;
            worker.invisible = Arc::clone(&self.invisible);
            sources.push(Box::new(worker));
        }
        Ok(sources)
    }

    /// The main connection's transaction ended (`COMMIT`) or started.
    fn restart(&mut self, sql: &str) -> Result<()> {
        self.rows(sql).map(|_| ()).map_err(|e| {
            Error::Connect(format!(
                "-j: MariaDB/MySQL at {} ({sql}): {}",
                self.place,
                message(&e)
            ))
        })
    }

    fn on(&mut self, lock: &mut Conn, sql: &str) -> Result<()> {
        self.rt
            .block_on(lock.query_drop(sql))
            .map_err(|e| self.lock_error(sql, &e))
    }

    fn lock_error(&self, sql: &str, e: &mysql_async::Error) -> Error {
        Error::Connect(format!(
            "-j: MariaDB/MySQL at {} ({sql}): {}",
            self.place,
            message(e)
        ))
    }
}
