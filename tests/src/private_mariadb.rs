//! A MariaDB server of the test's own (for what the shared server can't
//! be asked to do: TLS, its own options).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::run::{stderr, stdout};
use crate::servers::HOST;
use crate::skip_unless_ci;

/// A MariaDB server in a temporary directory, on a free port of
/// 127.0.0.1 and a socket in that directory, `root` without a password
/// (over the socket). Killed and its directory removed on drop, also after
/// a panic.
pub struct PrivateMariaDb {
    pub port: u16,
    pub socket: PathBuf,
    /// The server's directory: its data, log, and whatever the test puts there.
    pub dir: PathBuf,
    child: Child,
    _tmp: tempfile::TempDir,
}

/// Where the MariaDB server and its tools are, or None.
fn mariadb_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/usr/libexec"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

impl PrivateMariaDb {
    /// Starts a server (within 30 s, else a panic saying why), with the
    /// options `extra` returns (`--ssl-cert=…`), given the server's
    /// directory to put files in. None, with a skip message (a failure
    /// when CI=true), when mariadbd or mariadb-install-db is missing.
    pub fn start(extra: impl FnOnce(&Path) -> Vec<String>) -> Option<PrivateMariaDb> {
        let (Some(server), Some(install)) = (
            mariadb_tool("mariadbd").or_else(|| mariadb_tool("mysqld")),
            mariadb_tool("mariadb-install-db").or_else(|| mariadb_tool("mysql_install_db")),
        ) else {
            skip_unless_ci("no mariadbd and mariadb-install-db: a private MariaDB can't start");
            return None;
        };
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().to_path_buf();
        let data = dir.join("data");
        // mariadbd refuses to run as root unless told to.
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| stdout(&o).trim() == "0");
        let as_root: &[&str] = if root { &["--user=root"] } else { &[] };
        let o = Command::new(&install)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .args(as_root)
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
            .output()
            .expect("run mariadb-install-db");
        assert!(
            o.status.success(),
            "mariadb-install-db: {}{}",
            stdout(&o),
            stderr(&o)
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let socket = dir.join("mysqld.sock");
        let log = dir.join("error.log");
        let extra = extra(&dir);
        let child = Command::new(&server)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--pid-file={}", dir.join("mysqld.pid").display()))
            .arg(format!("--log-error={}", log.display()))
            .arg(format!("--port={port}"))
            .args(["--bind-address=127.0.0.1", "--skip-name-resolve"])
            .args(["--innodb-buffer-pool-size=16M", "--skip-log-bin"])
            .args(as_root)
            .args(&extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mariadbd");
        let mut server = PrivateMariaDb {
            port,
            socket,
            dir,
            child,
            _tmp: tmp,
        };
        let start = Instant::now();
        loop {
            if server.try_sql("SELECT 1").is_ok_and(|o| o.status.success()) {
                break;
            }
            let log = || std::fs::read_to_string(&log).unwrap_or_default();
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("the private mariadbd stopped ({status}): {}", log());
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the private mariadbd did not answer within 30 s: {}",
                log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        Some(server)
    }

    /// The client as root, over the socket.
    pub fn try_sql(&self, sql: &str) -> std::io::Result<Output> {
        Command::new("mariadb")
            .arg("--no-defaults")
            .arg(format!("--socket={}", self.socket.display()))
            .args(["-u", "root", "--batch", "--skip-column-names"])
            .arg("-e")
            .arg(sql)
            .output()
    }

    /// [`PrivateMariaDb::try_sql`], which must succeed: its output.
    pub fn sql(&self, sql: &str) -> String {
        let o = self.try_sql(sql).expect("run the mariadb client");
        assert!(o.status.success(), "mariadb on {sql}: {}", stderr(&o));
        stdout(&o)
    }

    /// `mysql://USER:PASSWORD@127.0.0.1:PORT/DB?QUERY`.
    pub fn url(&self, user: &str, password: &str, db: &str, query: &str) -> String {
        format!(
            "mysql://{user}:{password}@{HOST}:{}/{db}?{query}",
            self.port
        )
    }
}

impl Drop for PrivateMariaDb {
    fn drop(&mut self) {
        // SIGKILL: nothing in it is worth keeping, and it stops at once.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
