//! Logging set-up from Kea's `loggers`: the severity (and debuglevel) of the `kea-dhcp4` /
//! `shoal` logger becomes the tracing filter, its first output the writer (`stdout`,
//! `stderr`, or a file path, appended to). `RUST_LOG` overrides the filter; `-d` forces
//! debug. `syslog` is written to stderr, where journald picks it up under systemd.

use std::fs::OpenOptions;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

use crate::settings::{Logger, Severity};

/// Where log lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Standard output.
    Stdout,
    /// Standard error (also used for `syslog`).
    Stderr,
    /// Append to this file.
    File(String),
}

/// The filter directive and output for these loggers (first matching logger wins).
pub fn plan(loggers: &[Logger], debug: bool) -> (String, Output) {
    let logger = loggers
        .iter()
        .find(|l| l.name == "kea-dhcp4" || l.name == "shoal")
        .or_else(|| loggers.first());
    let level = match logger.map(|l| (l.severity, l.debuglevel)) {
        _ if debug => "debug",
        None => "info",
        Some((Severity::Debug, lvl)) if lvl >= 50 => "trace",
        Some((Severity::Debug, _)) => "debug",
        Some((Severity::Info, _)) => "info",
        Some((Severity::Warn, _)) => "warn",
        Some((Severity::Error | Severity::Fatal, _)) => "error",
        Some((Severity::None, _)) => "off",
    };
    let output = match logger.and_then(|l| l.outputs.first()).map(String::as_str) {
        None | Some("stderr") | Some("syslog") => Output::Stderr,
        Some("stdout") => Output::Stdout,
        Some(path) => Output::File(path.to_string()),
    };
    (level.to_string(), output)
}

/// Install the global subscriber. A log file that cannot be opened is an error.
pub fn init(loggers: &[Logger], debug: bool) -> std::io::Result<()> {
    let (level, output) = plan(loggers, debug);
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    // Colours only on a terminal: journald and log files get plain text.
    use std::io::IsTerminal;
    match output {
        Output::Stdout => builder
            .with_ansi(std::io::stdout().is_terminal())
            .with_writer(std::io::stdout)
            .init(),
        Output::Stderr => builder
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .init(),
        Output::File(path) => {
            let file = OpenOptions::new().create(true).append(true).open(&path)?;
            builder
                .with_ansi(false)
                .with_writer(Mutex::new(file))
                .init();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logger(name: &str, severity: Severity, debuglevel: u8, out: &str) -> Logger {
        Logger {
            name: name.into(),
            severity,
            debuglevel,
            outputs: vec![out.into()],
        }
    }

    #[test]
    fn severity_and_output_follow_the_dhcp4_logger() {
        let ls = vec![
            logger("kea-dhcp4.leases", Severity::Error, 0, "stdout"),
            logger("kea-dhcp4", Severity::Warn, 0, "/var/log/shoal.log"),
        ];
        assert_eq!(
            plan(&ls, false),
            ("warn".into(), Output::File("/var/log/shoal.log".into()))
        );
        assert_eq!(plan(&ls, true).0, "debug");
        assert_eq!(
            plan(&[logger("x", Severity::Debug, 99, "syslog")], false),
            ("trace".into(), Output::Stderr)
        );
        assert_eq!(plan(&[], false), ("info".into(), Output::Stderr));
    }
}
