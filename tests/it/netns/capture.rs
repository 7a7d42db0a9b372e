//! [`AckCapture`]: records every DHCPACK seen in a namespace (chaddr → yiaddr), so a
//! load test can check each ACKed address against the database.
//!
//! A dedicated thread enters the namespace with `setns(2)` (which affects only that
//! thread) and reads an `AF_PACKET` socket until stopped. Frames are parsed as
//! Ethernet/IPv4/UDP with port 67 or 68 and decoded with dhcproto; anything else is ignored.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use dhcproto::v4::{Message, MessageType};
use dhcproto::{Decodable, Decoder};
use socket2::{Domain, Protocol, Socket, Type};

use super::{Netns, RigError, RigResult};

/// One DHCPACK: the client's hardware address and the address it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ack {
    /// chaddr (first 6 bytes).
    pub mac: [u8; 6],
    /// yiaddr.
    pub addr: Ipv4Addr,
}

/// A running capture; [`AckCapture::stop`] returns the ACKs in arrival order.
#[derive(Debug)]
pub struct AckCapture {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<RigResult<Vec<Ack>>>>,
}

impl AckCapture {
    /// Start capturing in `ns`; returns once the socket is open.
    pub fn start(ns: &Netns) -> RigResult<Self> {
        let path = format!("/var/run/netns/{}", ns.name());
        let file = std::fs::File::open(&path)?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let sock = match open_in_namespace(&file) {
                Ok(s) => {
                    let _ = ready_tx.send(Ok(()));
                    s
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                    return Err(e);
                }
            };
            Ok(read_acks(&sock, &flag))
        });
        match ready_rx.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok(())) => Ok(Self {
                stop,
                thread: Some(thread),
            }),
            Ok(Err(e)) => Err(RigError::Parse(format!("capture: {e}"))),
            Err(_) => Err(RigError::Timeout {
                what: "capture socket".into(),
                secs: 5.0,
            }),
        }
    }

    /// Stop and return every ACK captured.
    pub fn stop(mut self) -> RigResult<Vec<Ack>> {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(res)) => res,
            _ => Err(RigError::Parse("capture thread panicked".into())),
        }
    }
}

impl Drop for AckCapture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn open_in_namespace(ns: &std::fs::File) -> RigResult<Socket> {
    use std::os::fd::AsRawFd;
    // SAFETY: setns on a valid namespace fd; it changes only this thread's namespace.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    let proto = Protocol::from(i32::from((libc::ETH_P_ALL as u16).to_be()));
    let sock = Socket::new(Domain::PACKET, Type::RAW, Some(proto))?;
    sock.set_read_timeout(Some(Duration::from_millis(100)))?;
    sock.set_recv_buffer_size(8 << 20)?;
    Ok(sock)
}

fn read_acks(sock: &Socket, stop: &AtomicBool) -> Vec<Ack> {
    use std::io::Read;
    let mut acks = Vec::new();
    let mut buf = vec![0u8; 2048];
    let mut reader: &Socket = sock;
    while !stop.load(Ordering::Relaxed) {
        match reader.read(&mut buf) {
            Ok(n) => acks.extend(parse_ack(&buf[..n])),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break,
        }
    }
    acks
}

/// The DHCPACK in an Ethernet frame, if it carries one.
fn parse_ack(frame: &[u8]) -> Option<Ack> {
    if frame.len() < 14 + 20 + 8 || frame[12..14] != [0x08, 0x00] {
        return None;
    }
    let ip = &frame[14..];
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    if ip[9] != 17 || ip.len() < ihl + 8 {
        return None;
    }
    let udp = &ip[ihl..];
    let dport = u16::from_be_bytes([udp[2], udp[3]]);
    if dport != 67 && dport != 68 {
        return None;
    }
    let msg = Message::decode(&mut Decoder::new(&udp[8..])).ok()?;
    if msg.opts().msg_type() != Some(MessageType::Ack) {
        return None;
    }
    let mac: [u8; 6] = msg.chaddr().get(..6)?.try_into().ok()?;
    Some(Ack {
        mac,
        addr: msg.yiaddr(),
    })
}
