//! A throwaway PostgreSQL cluster with PostGIS for the tests: `initdb` in a temporary directory, started
//! on a free port (TCP on 127.0.0.1 and a socket in the directory), with a database `gridplan` holding
//! the PostGIS extension. Run as root, the cluster runs as the `postgres` system user (PostgreSQL
//! refuses root), which then owns the directory. Nothing depends on a server already running;
//! `scripts/setup.sh --e2e` installs PostgreSQL and PostGIS.
//!
//! [`PgCluster::shared`] is one cluster for a whole test binary (each test takes a fresh database of
//! its own from it with [`PgCluster::fresh`]); a watchdog stops it and removes its directory once the
//! test process is gone, however it ends. [`PgCluster::start`] is a cluster of one's own, stopped when
//! dropped.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct PgCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    user: Option<String>,
    pub port: u16,
}

/// The newest PostgreSQL's server programs (Debian keeps them out of PATH).
fn bin_dir() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((major, bin))
        })
        .collect();
    found.sort();
    match found.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run scripts/setup.sh --e2e"
        ),
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl PgCluster {
    /// The test binary's cluster, started on first use.
    pub fn shared() -> &'static PgCluster {
        static SHARED: std::sync::OnceLock<PgCluster> = std::sync::OnceLock::new();
        SHARED.get_or_init(|| {
            let cluster = PgCluster::start();
            cluster.watch_over(std::process::id());
            // The template every fresh database is copied from, PostGIS installed.
            cluster.psql("postgres", "CREATE DATABASE gridplan_template");
            cluster.psql("gridplan_template", "CREATE EXTENSION postgis");
            cluster
        })
    }

    /// A new, empty database with PostGIS (copied from the template); its URL.
    pub fn fresh(&self) -> String {
        static NEXT: std::sync::Mutex<u32> = std::sync::Mutex::new(0);
        // One copy at a time: a template being copied by one session cannot be copied by another.
        let mut n = NEXT.lock().unwrap_or_else(|p| p.into_inner());
        *n += 1;
        let name = format!("test_{}", *n);
        self.psql(
            "postgres",
            &format!("CREATE DATABASE {name} TEMPLATE gridplan_template"),
        );
        format!("postgres://gridplan@127.0.0.1:{}/{name}", self.port)
    }

    /// Stops the cluster and removes its directory once process `pid` has ended: a static cluster is
    /// never dropped.
    fn watch_over(&self, pid: u32) {
        let data = self.data();
        let stop = match &self.user {
            Some(u) => format!("runuser -u {u} -- "),
            None => String::new(),
        };
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; \
             {stop}'{}' -D '{}' -m immediate -w stop; rm -rf '{}'",
            self.bin.join("pg_ctl").display(),
            data.display(),
            self.dir.path().display()
        );
        // Outlives this process on purpose: it is what stops the cluster after the process is gone.
        #[allow(clippy::zombie_processes)]
        Command::new("sh")
            .args(["-c", &script])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the cluster's watchdog starts");
    }

    /// Starts a cluster; panics with the server's own words when it cannot.
    pub fn start() -> PgCluster {
        let bin = bin_dir();
        let dir = tempfile::Builder::new()
            .prefix("gridplan-pg-")
            .tempdir()
            .expect("temporary directory");
        let user = is_root().then(|| "postgres".to_string());
        if let Some(u) = &user {
            let status = Command::new("chown")
                .arg(u)
                .arg(dir.path())
                .status()
                .expect("chown runs");
            assert!(status.success(), "chown {u} {}", dir.path().display());
        }
        let mut cluster = PgCluster {
            dir,
            bin,
            user,
            port: 0,
        };
        let data = cluster.data();
        cluster.run_ok(
            "initdb",
            &[
                "-D",
                path(&data),
                "-U",
                "gridplan",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        // A port found free can be taken before the server binds it: try a few.
        let mut last = None;
        for _ in 0..5 {
            let port = free_port();
            let opts = format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100",
                path(cluster.dir.path())
            );
            let log = cluster.dir.path().join("server.log");
            let out = cluster.run(
                "pg_ctl",
                &[
                    "-D",
                    path(&data),
                    "-l",
                    path(&log),
                    "-o",
                    &opts,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
            );
            if out.status.success() {
                cluster.port = port;
                break;
            }
            last = Some(format!(
                "{}{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                std::fs::read_to_string(&log).unwrap_or_default()
            ));
        }
        assert!(cluster.port != 0, "pg_ctl start failed: {last:?}");
        cluster.psql("postgres", "CREATE DATABASE gridplan");
        cluster.psql("gridplan", "CREATE EXTENSION postgis");
        cluster
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The URL of the database `gridplan`.
    pub fn url(&self) -> String {
        format!("postgres://gridplan@127.0.0.1:{}/gridplan", self.port)
    }

    /// Database `db` in GDAL's form.
    pub fn gdal(&self, db: &str) -> String {
        format!(
            "PG:host=127.0.0.1 port={} user=gridplan dbname={db}",
            self.port
        )
    }

    /// Creates another database with PostGIS; returns its URL.
    pub fn database(&self, name: &str) -> String {
        self.psql("postgres", &format!("CREATE DATABASE {name}"));
        self.psql(name, "CREATE EXTENSION postgis");
        format!("postgres://gridplan@127.0.0.1:{}/{name}", self.port)
    }

    /// Runs SQL with psql; returns its unaligned output.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "gridplan",
                "-d",
                db,
                "-c",
                sql,
            ])
            .output()
            .expect("psql runs");
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Runs a server program, as the cluster's user when that is not us.
    fn run(&self, program: &str, args: &[&str]) -> Output {
        let exe = self.bin.join(program);
        let mut cmd = match &self.user {
            Some(u) => {
                let mut c = Command::new("runuser");
                c.args(["-u", u, "--"]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        cmd.args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|e| panic!("{} runs: {e}", exe.display()))
    }

    fn run_ok(&self, program: &str, args: &[&str]) {
        let out = self.run(program, args);
        assert!(
            out.status.success(),
            "{program} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The database name of a URL this cluster gave.
pub fn db_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}

fn path(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self.run(
            "pg_ctl",
            &["-D", path(&data), "-m", "immediate", "-w", "stop"],
        );
    }
}
