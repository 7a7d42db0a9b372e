//! Real DHCPv4 clients (ISC dhclient, busybox udhcpc, dhcpcd) driven inside a client
//! namespace. Each client gets its own script, lease/pid files and config under a
//! scratch directory; the script appends one `event=… ip=… server=…` line per event to an
//! events file, and (except for dhcpcd, which configures itself) applies the address and
//! default route so that unicast renewals work.
//!
//! Lifecycle: [`DhcpClient::start`] → [`DhcpClient::wait_bound`] →
//! [`DhcpClient::wait_renewed`] (natural T1 renewal) → [`DhcpClient::release`].

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{run_bounded, wait_for, Netns, Proc, RigError, RigResult};

/// A DHCPv4 client implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    /// ISC dhclient 4.4.
    Dhclient,
    /// busybox udhcpc.
    Udhcpc,
    /// dhcpcd 9.
    Dhcpcd,
}

impl ClientKind {
    /// Short name used in file names.
    pub fn name(self) -> &'static str {
        match self {
            Self::Dhclient => "dhclient",
            Self::Udhcpc => "udhcpc",
            Self::Dhcpcd => "dhcpcd",
        }
    }
}

/// One line of the events file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientEvent {
    /// The client's reason (`BOUND`, `renew`, `RELEASE`, …).
    pub event: String,
    /// Address in the event, when any.
    pub ip: Option<Ipv4Addr>,
    /// Server identifier in the event, when any.
    pub server: Option<String>,
}

impl ClientEvent {
    fn parse(line: &str) -> Option<Self> {
        let mut ev = Self {
            event: String::new(),
            ip: None,
            server: None,
        };
        for field in line.split_whitespace() {
            match field.split_once('=') {
                Some(("event", v)) => ev.event = v.to_string(),
                Some(("ip", v)) => ev.ip = v.parse().ok(),
                Some(("server", v)) if !v.is_empty() => ev.server = Some(v.to_string()),
                _ => {}
            }
        }
        (!ev.event.is_empty()).then_some(ev)
    }

    /// A lease was obtained.
    pub fn is_bound(&self) -> bool {
        matches!(self.event.as_str(), "BOUND" | "bound" | "REBOOT") && self.ip.is_some()
    }

    /// A lease was renewed or rebound.
    pub fn is_renewal(&self) -> bool {
        matches!(self.event.as_str(), "RENEW" | "renew" | "REBIND") && self.ip.is_some()
    }
}

const SCRIPT: &str = r#"#!/bin/sh
ev="${reason:-$1}"
ipa="${new_ip_address:-$ip}"
srv="${new_dhcp_server_identifier:-$serverid}"
echo "event=$ev ip=$ipa server=$srv" >> "@EVENTS@"
[ "@APPLY@" = 1 ] || exit 0
case "$ev" in
  BOUND|RENEW|REBIND|REBOOT|bound|renew)
    ip addr replace "$ipa/${new_subnet_mask:-${subnet:-24}}" dev "$interface"
    gw="${new_routers:-$router}"; gw="${gw%% *}"
    [ -n "$gw" ] && ip route replace default via "$gw" dev "$interface" 2>/dev/null ;;
  RELEASE|EXPIRE|STOP|deconfig)
    ip addr flush dev "$interface" scope global ;;
esac
exit 0
"#;

const DHCPCD_CONF: &str = "ipv4only\nnoipv6rs\nnoarp\nclientid\n\
nohook resolv.conf, timesyncd, hostname, ntp.conf, wpa_supplicant\n";

/// A running DHCP client on one interface of one namespace.
#[derive(Debug)]
pub struct DhcpClient<'a> {
    kind: ClientKind,
    ns: &'a Netns,
    ifname: String,
    dir: PathBuf,
    events: PathBuf,
    proc: Option<Proc>,
}

impl<'a> DhcpClient<'a> {
    /// Write the client's files under `dir/<kind>` and start it on `ifname` in `ns`.
    pub fn start(kind: ClientKind, ns: &'a Netns, ifname: &str, dir: &Path) -> RigResult<Self> {
        let dir = dir.join(kind.name());
        std::fs::create_dir_all(&dir)?;
        let events = dir.join("events");
        std::fs::write(&events, "")?;
        let apply = if kind == ClientKind::Dhcpcd { "0" } else { "1" };
        let script = SCRIPT
            .replace("@EVENTS@", &events.display().to_string())
            .replace("@APPLY@", apply);
        let script_path = dir.join("script.sh");
        std::fs::write(&script_path, script)?;
        set_executable(&script_path)?;
        std::fs::write(dir.join("dhcpcd.conf"), DHCPCD_CONF)?;
        let mut c = Self {
            kind,
            ns,
            ifname: ifname.to_string(),
            dir,
            events,
            proc: None,
        };
        let cmd = c.start_command(&script_path);
        c.proc = Some(Proc::spawn(kind.name(), cmd, &c.dir.join("client.log"))?);
        Ok(c)
    }

    fn start_command(&self, script: &Path) -> std::process::Command {
        let mut cmd = self.ns.command(self.kind.name());
        match self.kind {
            ClientKind::Dhclient => {
                cmd.args(["-4", "-d", "-1", "-sf"]).arg(script);
                self.dhclient_files(&mut cmd);
            }
            ClientKind::Udhcpc => {
                cmd.args([
                    "-i",
                    &self.ifname,
                    "-f",
                    "-n",
                    "-t",
                    "5",
                    "-T",
                    "2",
                    "-R",
                    "-s",
                ])
                .arg(script);
            }
            ClientKind::Dhcpcd => {
                cmd.args(["-4", "-B", "-t", "20", "-f"])
                    .arg(self.dir.join("dhcpcd.conf"))
                    .arg("-c")
                    .arg(script)
                    .arg(&self.ifname);
            }
        }
        cmd
    }

    fn dhclient_files(&self, cmd: &mut std::process::Command) {
        cmd.arg("-lf")
            .arg(self.dir.join("dhclient.leases"))
            .arg("-pf")
            .arg(self.dir.join("dhclient.pid"))
            .arg(&self.ifname);
    }

    /// Events so far, in order.
    pub fn events(&self) -> Vec<ClientEvent> {
        std::fs::read_to_string(&self.events)
            .unwrap_or_default()
            .lines()
            .filter_map(ClientEvent::parse)
            .collect()
    }

    /// The client's own log (for failure messages).
    pub fn log_tail(&self) -> String {
        self.proc
            .as_ref()
            .map(|p| p.log_tail(25))
            .unwrap_or_default()
    }

    /// Wait for the first bound event.
    pub fn wait_bound(&self, timeout: Duration) -> RigResult<ClientEvent> {
        wait_for(&format!("{} to bind", self.kind.name()), timeout, || {
            self.events().into_iter().find(ClientEvent::is_bound)
        })
    }

    /// Wait for a renewal after the first bound event.
    pub fn wait_renewed(&self, timeout: Duration) -> RigResult<ClientEvent> {
        wait_for(&format!("{} to renew", self.kind.name()), timeout, || {
            let evs = self.events();
            let bound = evs.iter().position(ClientEvent::is_bound)?;
            evs[bound..].iter().find(|e| e.is_renewal()).cloned()
        })
    }

    /// Release the lease and stop the client (bounded).
    pub fn release(&mut self) -> RigResult<()> {
        let proc = self
            .proc
            .as_mut()
            .ok_or_else(|| RigError::Parse("client not running".into()))?;
        match self.kind {
            ClientKind::Dhclient => {
                let mut cmd = self.ns.command("dhclient");
                cmd.args(["-4", "-r", "-sf"])
                    .arg(self.dir.join("script.sh"));
                self.dhclient_files(&mut cmd);
                run_bounded(cmd, Duration::from_secs(15))?;
            }
            ClientKind::Udhcpc => proc.signal(libc::SIGTERM),
            ClientKind::Dhcpcd => {
                let mut cmd = self.ns.command("dhcpcd");
                cmd.args(["-4", "-k", "-f"])
                    .arg(self.dir.join("dhcpcd.conf"))
                    .arg(&self.ifname);
                run_bounded(cmd, Duration::from_secs(15))?;
            }
        }
        if let Some(p) = self.proc.as_mut() {
            // `dhclient -r` signals the recorded pid; when that does not stop it in time
            // (observed once under load), stop it ourselves: the RELEASE has been sent.
            if p.wait_exit(Duration::from_secs(5)).is_err() {
                p.stop(Duration::from_secs(2));
            }
        }
        Ok(())
    }
}

fn set_executable(path: &Path) -> RigResult<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}
