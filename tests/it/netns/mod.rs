//! Network-namespace test rig: namespaces, veth links, processes and scratch
//! directories that clean up after themselves.
//!
//! Everything a test creates here is named from [`unique_id`] (`<pid % 10000><n>`), so
//! tests run in parallel — in one process or several — without colliding. Invariants:
//! - a [`Netns`] deletes its namespace on drop, after killing (by pid) every process still
//!   inside it: the namespace is ours, so are its processes;
//! - a [`Proc`] kills the process it started on drop (SIGTERM, then SIGKILL);
//! - every command is bounded in time ([`Netns::run`] fails after its timeout);
//! - addresses live only inside our namespaces (10.77.x.x / 10.78.x.x).
//!
//! Tests need root; [`require_root`] panics with a clear message otherwise.

pub mod capture;
pub mod clients;
pub mod process;
pub mod server;
pub mod topology;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub use process::Proc;

/// Errors of the test rig.
#[derive(Debug, thiserror::Error)]
pub enum RigError {
    /// A command could not be started.
    #[error("cannot start `{cmd}`: {source}")]
    Spawn {
        /// The command line.
        cmd: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A command exited with a failure status.
    #[error("`{cmd}` failed ({status}): {stderr}")]
    Failed {
        /// The command line.
        cmd: String,
        /// Exit status.
        status: String,
        /// Its standard error.
        stderr: String,
    },
    /// A command or a wait ran out of time.
    #[error("timed out after {secs:.1}s: {what}")]
    Timeout {
        /// What was being waited for.
        what: String,
        /// The bound.
        secs: f64,
    },
    /// Output was not what the rig expected.
    #[error("unexpected output: {0}")]
    Parse(String),
    /// File system error.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

/// Result alias of the rig.
pub type RigResult<T> = Result<T, RigError>;

/// Panic unless running as root (namespaces need it). Never skip silently.
pub fn require_root() {
    // SAFETY: geteuid has no preconditions and cannot fail.
    #[allow(unsafe_code)]
    let euid = unsafe { libc::geteuid() };
    assert!(
        euid == 0,
        "network-namespace tests need root (CAP_NET_ADMIN, CAP_SYS_ADMIN); \
         run them as root, e.g. `sudo -E cargo test --test it v4_clients`"
    );
}

/// A short identifier unique across concurrent tests and test processes:
/// `<pid % 10000><counter>`.
pub fn unique_id() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{}{}", std::process::id() % 10000, n)
}

/// Run `cmd` to completion within `timeout`; stdout on success.
pub fn run_bounded(mut cmd: Command, timeout: Duration) -> RigResult<String> {
    let line = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| RigError::Spawn {
            cmd: line.clone(),
            source,
        })?;
    let deadline = Instant::now() + timeout;
    loop {
        if child.try_wait()?.is_some() {
            let out = child.wait_with_output()?;
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            if out.status.success() {
                return Ok(stdout);
            }
            return Err(RigError::Failed {
                cmd: line,
                status: out.status.to_string(),
                stderr: format!("{}{}", String::from_utf8_lossy(&out.stderr), stdout),
            });
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(RigError::Timeout {
                what: line,
                secs: timeout.as_secs_f64(),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Poll `check` every 100 ms until it yields a value or `timeout` passes.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> RigResult<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            return Err(RigError::Timeout {
                what: what.to_string(),
                secs: timeout.as_secs_f64(),
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A network namespace we created; deleted (with its processes) on drop.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Create namespace `name` with its loopback up.
    pub fn create(name: &str) -> RigResult<Self> {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "add", name]);
        run_bounded(cmd, Duration::from_secs(10))?;
        let ns = Self {
            name: name.to_string(),
        };
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// The namespace name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A command that runs `prog` inside this namespace.
    pub fn command(&self, prog: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name, prog]);
        cmd
    }

    /// Run `prog args` inside the namespace, bounded by 15 s.
    pub fn run(&self, prog: &str, args: &[&str]) -> RigResult<String> {
        let mut cmd = self.command(prog);
        cmd.args(args);
        run_bounded(cmd, Duration::from_secs(15))
    }

    /// `ip -n <ns> args…`.
    pub fn ip(&self, args: &[&str]) -> RigResult<String> {
        let mut cmd = Command::new("ip");
        cmd.args(["-n", &self.name]).args(args);
        run_bounded(cmd, Duration::from_secs(10))
    }

    /// The MAC address of interface `ifname` in this namespace.
    pub fn mac(&self, ifname: &str) -> RigResult<[u8; 6]> {
        let out = self.ip(&["-o", "link", "show", ifname])?;
        let text = out
            .split("link/ether ")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .ok_or_else(|| RigError::Parse(format!("no MAC in {out:?}")))?;
        let mut mac = [0u8; 6];
        let parts: Vec<&str> = text.split(':').collect();
        if parts.len() != 6 {
            return Err(RigError::Parse(format!("bad MAC {text:?}")));
        }
        for (b, p) in mac.iter_mut().zip(parts) {
            *b = u8::from_str_radix(p, 16).map_err(|e| RigError::Parse(format!("{text}: {e}")))?;
        }
        Ok(mac)
    }

    /// Pids of the processes whose network namespace is this one.
    fn pids(&self) -> Vec<i32> {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "pids", &self.name]);
        run_bounded(cmd, Duration::from_secs(5))
            .map(|out| {
                out.split_whitespace()
                    .filter_map(|p| p.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for pid in self.pids() {
            process::kill_pid(pid, libc::SIGKILL);
        }
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "del", &self.name]);
        if let Err(e) = run_bounded(cmd, Duration::from_secs(10)) {
            eprintln!("netns: cannot delete {}: {e}", self.name);
        }
    }
}

/// Create a veth pair with one end `a_if` in `a` and the other `b_if` in `b`, both up.
/// Created from inside `a`, so no name ever appears in the root namespace.
pub fn veth(a: &Netns, a_if: &str, b: &Netns, b_if: &str) -> RigResult<()> {
    a.ip(&[
        "link",
        "add",
        a_if,
        "type",
        "veth",
        "peer",
        "name",
        b_if,
        "netns",
        b.name(),
    ])?;
    a.ip(&["link", "set", a_if, "up"])?;
    b.ip(&["link", "set", b_if, "up"])?;
    Ok(())
}

/// A scratch directory removed on drop.
#[derive(Debug)]
pub struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    /// Create `$TMPDIR/shoal-it-<tag>`.
    pub fn new(tag: &str) -> RigResult<Self> {
        let path = std::env::temp_dir().join(format!("shoal-it-{tag}"));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)?;
        Ok(Self { path })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if std::env::var_os("SHOAL_IT_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}
