//! `shoal`: the DHCP front-end. Command line as kea-dhcp4: `-c FILE` runs, `-t FILE`
//! checks a configuration, `-p PORT` overrides the server port, `-V` prints the version.

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: shoal -c CONFIG [-p PORT] [-d]
       shoal -t CONFIG      check a configuration (exit 0 valid, 1 invalid)
       shoal -V | --version
  -c FILE   run with this Kea-format configuration file
  -t FILE   test the configuration and exit
  -p PORT   listen on PORT instead of 67 (tests, unprivileged runs)
  -d        debug logging (RUST_LOG overrides)";

enum Mode {
    Run(shoal::app::RunOptions),
    Test(PathBuf),
    Version,
}

fn parse(args: &[String]) -> Result<(Mode, bool), String> {
    let mut config = None;
    let mut test = None;
    let mut port = None;
    let mut debug = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match a.as_str() {
            "-c" => config = Some(PathBuf::from(value("-c")?)),
            "-t" => test = Some(PathBuf::from(value("-t")?)),
            "-p" => {
                let v = value("-p")?;
                port = Some(
                    v.parse::<u16>()
                        .map_err(|_| format!("-p: {v:?} is not a port number"))?,
                );
            }
            "-d" => debug = true,
            "-V" | "-v" | "--version" => return Ok((Mode::Version, debug)),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if let Some(t) = test {
        return Ok((Mode::Test(t), debug));
    }
    let config = config.ok_or("-c CONFIG or -t CONFIG is required")?;
    Ok((Mode::Run(shoal::app::RunOptions { config, port }), debug))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mode, debug) = match parse(&args) {
        Ok(m) => m,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("shoal: {msg}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(if msg.is_empty() { 0 } else { 2 });
        }
    };
    match mode {
        Mode::Version => {
            println!("{}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Mode::Test(path) => match shoal::settings::Settings::load(&path) {
            Ok(settings) => {
                for w in settings.warnings() {
                    eprintln!("warning: {w}");
                }
                println!("{}: configuration OK", path.display());
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("{}: invalid configuration", path.display());
                eprintln!("{err}");
                ExitCode::FAILURE
            }
        },
        Mode::Run(opts) => {
            let settings = match shoal::settings::Settings::load(&opts.config) {
                Ok(s) => s,
                Err(err) => {
                    eprintln!("{}: invalid configuration", opts.config.display());
                    eprintln!("{err}");
                    return ExitCode::FAILURE;
                }
            };
            if let Err(e) = shoal::logging::init(&settings.dhcp4.loggers, debug) {
                eprintln!("Error: cannot open the log output: {e}");
                return ExitCode::FAILURE;
            }
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(settings.dhcp4.multi_threading.worker_threads())
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("Error: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match rt.block_on(shoal::app::run(opts, settings)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("Error: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
