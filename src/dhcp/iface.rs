//! Network interfaces and their IPv4 addresses (getifaddrs), for binding one socket per
//! interface and for choosing the server identifier and the direct client's subnet.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// An interface with its IPv4 addresses and prefix lengths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// Name (`eth0`).
    pub name: String,
    /// IPv4 addresses with prefix lengths, in the kernel's order.
    pub addrs: Vec<(Ipv4Addr, u8)>,
    /// Loopback interface.
    pub loopback: bool,
}

/// Every interface that has at least one IPv4 address.
#[allow(unsafe_code)]
pub fn list() -> std::io::Result<Vec<Interface>> {
    let mut map: BTreeMap<String, Interface> = BTreeMap::new();
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list we free with freeifaddrs below; every
    // pointer is checked for null and only read while the list is alive.
    unsafe {
        if libc::getifaddrs(&mut head) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut cur = head;
        while !cur.is_null() {
            let ifa = &*cur;
            cur = ifa.ifa_next;
            if ifa.ifa_addr.is_null() || i32::from((*ifa.ifa_addr).sa_family) != libc::AF_INET {
                continue;
            }
            let name = std::ffi::CStr::from_ptr(ifa.ifa_name)
                .to_string_lossy()
                .into_owned();
            let sin = &*(ifa.ifa_addr as *const libc::sockaddr_in);
            let addr = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
            let prefix = if ifa.ifa_netmask.is_null() {
                32
            } else {
                let m = &*(ifa.ifa_netmask as *const libc::sockaddr_in);
                u32::from_be(m.sin_addr.s_addr).count_ones() as u8
            };
            let entry = map.entry(name.clone()).or_insert_with(|| Interface {
                name,
                addrs: Vec::new(),
                loopback: ifa.ifa_flags & (libc::IFF_LOOPBACK as u32) != 0,
            });
            entry.addrs.push((addr, prefix));
        }
        libc::freeifaddrs(head);
    }
    Ok(map.into_values().collect())
}
