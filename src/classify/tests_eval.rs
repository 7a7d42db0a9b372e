//! Evaluation tests: every construct against a datagram built byte by byte and decoded
//! with `Ctx::parse`, as the server does.

use std::net::{Ipv4Addr, SocketAddrV4};

use super::{Expression, Packet, ValueExpression};
use crate::dhcp::v4::Ctx;
use crate::dhcp::RecvMeta;

/// A DHCPv4 request on the wire.
pub(super) struct Wire {
    pub msg_type: u8,
    pub xid: u32,
    pub ciaddr: [u8; 4],
    pub yiaddr: [u8; 4],
    pub siaddr: [u8; 4],
    pub giaddr: [u8; 4],
    pub mac: Vec<u8>,
    pub opts: Vec<(u8, Vec<u8>)>,
}

impl Wire {
    /// A DISCOVER from 00:11:22:33:44:55, xid 0x12345678.
    pub(super) fn discover() -> Wire {
        Wire {
            msg_type: 1,
            xid: 0x1234_5678,
            ciaddr: [0; 4],
            yiaddr: [0; 4],
            siaddr: [0; 4],
            giaddr: [0; 4],
            mac: vec![0x00, 0x11, 0x22, 0x33, 0x44, 0x55],
            opts: Vec::new(),
        }
    }

    pub(super) fn opt(mut self, code: u8, data: &[u8]) -> Wire {
        self.opts.push((code, data.to_vec()));
        self
    }

    pub(super) fn bytes(&self) -> Vec<u8> {
        let mut b = vec![1u8, 1, self.mac.len() as u8, 0];
        b.extend(self.xid.to_be_bytes());
        b.extend([0, 0, 0, 0]); // secs, flags
        for a in [self.ciaddr, self.yiaddr, self.siaddr, self.giaddr] {
            b.extend(a);
        }
        let mut chaddr = [0u8; 16];
        chaddr[..self.mac.len()].copy_from_slice(&self.mac);
        b.extend(chaddr);
        b.extend([0u8; 192]); // sname + file
        b.extend([99, 130, 83, 99, 53, 1, self.msg_type]);
        for (code, data) in &self.opts {
            b.push(*code);
            b.push(data.len() as u8);
            b.extend(data);
        }
        b.push(255);
        b
    }

    pub(super) fn ctx(&self) -> Ctx {
        let meta = RecvMeta {
            src: SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 68),
            iface: "eth0".to_string(),
            iface_addrs: vec![(Ipv4Addr::new(10, 0, 0, 1), 24)],
        };
        Ctx::parse(&self.bytes(), meta).expect("test datagram decodes")
    }
}

fn truth_in(w: &Wire, expr: &str, classes: &[&str]) -> bool {
    let ctx = w.ctx();
    let classes: Vec<String> = classes.iter().map(|s| s.to_string()).collect();
    let e = Expression::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
    e.evaluate(&Packet::new(&ctx, w.bytes().len()), &classes)
        .unwrap_or_else(|e| panic!("{expr}: {e}"))
}

fn truth(w: &Wire, expr: &str) -> bool {
    truth_in(w, expr, &[])
}

fn value(w: &Wire, expr: &str) -> Vec<u8> {
    let ctx = w.ctx();
    let e = ValueExpression::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
    e.evaluate(&Packet::new(&ctx, w.bytes().len()), &[])
        .unwrap_or_else(|e| panic!("{expr}: {e}"))
}

fn text(w: &Wire, expr: &str) -> String {
    String::from_utf8(value(w, expr)).expect("utf-8")
}

#[test]
fn literals_are_byte_strings() {
    let w = Wire::discover();
    assert_eq!(value(&w, "'abc'"), b"abc");
    assert_eq!(value(&w, "0x0a0B"), [0x0a, 0x0b]);
    assert_eq!(value(&w, "0xabc"), [0x0a, 0xbc]);
    assert_eq!(value(&w, "10.0.0.1"), [10, 0, 0, 1]);
    assert_eq!(value(&w, "::1").len(), 16);
    assert_eq!(value(&w, "fe80::1")[..2], [0xfe, 0x80]);
    assert_eq!(value(&w, "260"), [0, 0, 1, 4]);
    assert!(truth(&w, "'a' == 0x61"));
    assert!(!truth(&w, "'a' == 'A'"));
}

#[test]
fn option_hex_text_exists_by_code_and_name() {
    let w = Wire::discover()
        .opt(60, b"Aastra6731i")
        .opt(51, &3600u32.to_be_bytes())
        .opt(50, &[192, 0, 2, 9])
        .opt(12, b"host1");
    assert!(truth(&w, "option[60].exists"));
    assert!(truth(&w, "option[vendor-class-identifier].exists"));
    assert!(truth(
        &w,
        "option[ vendor-class-identifier ].text == 'Aastra6731i'"
    ));
    assert!(truth(&w, "option[60].hex == 'Aastra6731i'"));
    assert!(truth(&w, "option[host-name].text == 'host1'"));
    assert_eq!(text(&w, "option[dhcp-lease-time].text"), "3600");
    assert_eq!(value(&w, "option[51].hex"), [0, 0, 0x0e, 0x10]);
    assert_eq!(text(&w, "option[50].text"), "192.0.2.9");
    assert_eq!(value(&w, "option[53].hex"), [1]);
    assert!(!truth(&w, "option[77].exists"));
    assert_eq!(value(&w, "option[77].hex"), b"");
    assert_eq!(value(&w, "option[77].text"), b"");
}

#[test]
fn sub_options_of_an_option() {
    let w = Wire::discover().opt(43, &[1, 2, b'a', b'b', 7, 0]);
    assert!(truth(&w, "option[43].option[1].hex == 'ab'"));
    assert!(truth(&w, "option[43].option[1].text == 'ab'"));
    assert!(truth(&w, "option[43].option[7].exists"));
    assert!(!truth(&w, "option[43].option[2].exists"));
    assert_eq!(value(&w, "option[43].option[2].hex"), b"");
    assert!(!truth(&w, "option[44].option[1].exists"));
    let bad = Wire::discover().opt(43, &[1, 9, b'a']);
    assert!(!truth(&bad, "option[43].option[1].exists"));
}

#[test]
fn relay4_reads_option_82_sub_options() {
    let mut w = Wire::discover().opt(82, &[1, 6, b'e', b't', b'h', b'0', b'/', b'1', 2, 2, 9, 9]);
    w.giaddr = [10, 1, 2, 3];
    assert!(truth(&w, "relay4[1].hex == 'eth0/1'"));
    assert!(truth(&w, "relay4[1].text == 'eth0/1'"));
    assert!(truth(&w, "relay4[2].exists"));
    assert_eq!(value(&w, "relay4[2].hex"), [9, 9]);
    assert!(!truth(&w, "relay4[5].exists"));
    assert!(truth(&w, "option[82].option[2].hex == 0x0909"));
    let plain = Wire::discover();
    assert!(!truth(&plain, "relay4[1].exists"));
    assert_eq!(value(&plain, "relay4[1].hex"), b"");
}

#[test]
fn pkt4_header_fields() {
    let mut w = Wire::discover();
    w.ciaddr = [192, 0, 2, 50];
    w.yiaddr = [192, 0, 2, 51];
    w.siaddr = [192, 0, 2, 52];
    w.giaddr = [10, 1, 2, 3];
    assert!(truth(&w, "pkt4.mac == 0x001122334455"));
    assert!(truth(&w, "pkt4.hlen == 6"));
    assert!(truth(&w, "pkt4.htype == 1"));
    assert!(truth(&w, "pkt4.ciaddr == 192.0.2.50"));
    assert!(truth(&w, "pkt4.yiaddr == 192.0.2.51"));
    assert!(truth(&w, "pkt4.siaddr == 192.0.2.52"));
    assert!(truth(&w, "pkt4.giaddr == 10.1.2.3"));
    assert!(truth(&w, "pkt4.msgtype == 1"));
    assert!(truth(&w, "pkt4.transid == 0x12345678"));
    let mut req = Wire::discover();
    req.msg_type = 3;
    assert!(truth(&req, "pkt4.msgtype == 3"));
    assert!(!truth(&req, "pkt4.msgtype == 1"));
}

#[test]
fn pkt_metadata() {
    let w = Wire::discover();
    assert!(truth(&w, "pkt.iface == 'eth0'"));
    assert!(truth(&w, "pkt.src == 192.0.2.1"));
    assert!(truth(&w, "pkt.dst == 10.0.0.1"));
    let len = w.bytes().len() as u32;
    assert_eq!(value(&w, "pkt.len"), len.to_be_bytes());
    let ctx = w.ctx();
    let e = Expression::parse("pkt.dst == 255.255.255.255").expect("parses");
    let mut pkt = Packet::new(&ctx, 300);
    assert!(!e.evaluate(&pkt, &[]).expect("evaluates"));
    pkt.dst = Some(Ipv4Addr::BROADCAST);
    assert!(e.evaluate(&pkt, &[]).expect("evaluates"));
    let len300 = Expression::parse("pkt.len == 300").expect("parses");
    assert!(len300.evaluate(&pkt, &[]).expect("evaluates"));
}

/// Option 125: enterprise 4491 with sub-option 1 = "xyz".
fn vivso() -> Vec<u8> {
    let mut v = 4491u32.to_be_bytes().to_vec();
    v.extend([5, 1, 3, b'x', b'y', b'z']);
    v
}

/// Option 124: enterprise 4491 with data items "docsis3.0" and "foo".
fn vivco() -> Vec<u8> {
    let mut v = 4491u32.to_be_bytes().to_vec();
    v.push(14);
    v.push(9);
    v.extend(b"docsis3.0");
    v.push(3);
    v.extend(b"foo");
    v
}

#[test]
fn vendor_option_125() {
    let w = Wire::discover().opt(125, &vivso());
    assert!(truth(&w, "vendor[*].exists"));
    assert!(truth(&w, "vendor[4491].exists"));
    assert!(!truth(&w, "vendor[9].exists"));
    assert!(truth(&w, "vendor[4491].option[1].hex == 'xyz'"));
    assert!(truth(&w, "vendor[*].option[1].text == 'xyz'"));
    assert!(truth(&w, "vendor[4491].option[1].exists"));
    assert!(!truth(&w, "vendor[4491].option[2].exists"));
    assert!(!truth(&w, "vendor[9].option[1].exists"));
    assert!(truth(&w, "vendor.enterprise == 4491"));
    assert_eq!(value(&w, "vendor.enterprise"), 4491u32.to_be_bytes());
    let none = Wire::discover();
    assert!(!truth(&none, "vendor[*].exists"));
    assert_eq!(value(&none, "vendor.enterprise"), b"");
    assert_eq!(value(&none, "vendor[4491].option[1].hex"), b"");
}

#[test]
fn vendor_class_option_124() {
    let w = Wire::discover().opt(124, &vivco());
    assert!(truth(&w, "vendor-class[*].exists"));
    assert!(truth(&w, "vendor-class[4491].exists"));
    assert!(!truth(&w, "vendor-class[1].exists"));
    assert!(truth(&w, "vendor-class[4491].data == 'docsis3.0'"));
    assert!(truth(&w, "vendor-class[4491].data[0] == 'docsis3.0'"));
    assert!(truth(&w, "vendor-class[*].data[1] == 'foo'"));
    assert_eq!(value(&w, "vendor-class[4491].data[2]"), b"");
    assert_eq!(value(&w, "vendor-class[1].data"), b"");
    assert!(truth(&w, "vendor-class.enterprise == 4491"));
    assert_eq!(value(&Wire::discover(), "vendor-class.enterprise"), b"");
}

#[test]
fn substring_follows_kea() {
    let w = Wire::discover();
    let cases = [
        ("substring('foobar',0,6)", "foobar"),
        ("substring('foobar',3,3)", "bar"),
        ("substring('foobar',1,all)", "oobar"),
        ("substring('foobar',-1,all)", "r"),
        ("substring('foobar',-1,-3)", "oba"),
        ("substring('foobar',4,-2)", "ob"),
        ("substring('foobar',1,-5)", "f"),
        ("substring('foobar',0,10)", "foobar"),
        ("substring('foobar',10,1)", ""),
        ("substring('foobar',-7,1)", ""),
        ("substring('foobar',-6,2)", "fo"),
        ("substring('',0,all)", ""),
    ];
    for (e, want) in cases {
        assert_eq!(text(&w, e), want, "{e}");
    }
}

#[test]
fn string_functions() {
    let w = Wire::discover().opt(60, b"MSFT 5.0");
    assert_eq!(text(&w, "concat('foo', 'bar')"), "foobar");
    assert_eq!(text(&w, "'foo' + 'bar' + 'baz'"), "foobarbaz");
    assert_eq!(text(&w, "ifelse(option[60].exists, 'yes', 'no')"), "yes");
    assert_eq!(text(&w, "ifelse(option[61].exists, 'yes', 'no')"), "no");
    assert_eq!(text(&w, "hexstring(0x0a0bff, ':')"), "0a:0b:ff");
    assert_eq!(text(&w, "hexstring(pkt4.mac, '-')"), "00-11-22-33-44-55");
    assert_eq!(text(&w, "hexstring('', ':')"), "");
    assert_eq!(text(&w, "split('one.two..four', '.', 4)"), "four");
    assert_eq!(text(&w, "split('one.two..four', '.', 3)"), "");
    assert_eq!(text(&w, "split('one.two..four', '.', 5)"), "");
    assert_eq!(text(&w, "split('one.two..four', '.', 0)"), "");
    assert_eq!(text(&w, "split('a:b.c', ':.', 3)"), "c");
    assert_eq!(text(&w, "split('abc', '', 1)"), "abc");
    assert_eq!(text(&w, "split(option[60].text, ' ', 1)"), "MSFT");
    assert_eq!(text(&w, "lcase('AbC1')"), "abc1");
    assert_eq!(text(&w, "ucase(option[60].text)"), "MSFT 5.0");
    assert_eq!(text(&w, "ucase('msft')"), "MSFT");
}

#[test]
fn conversions_to_text() {
    let w = Wire::discover();
    assert_eq!(text(&w, "addrtotext(10.0.0.1)"), "10.0.0.1");
    assert_eq!(text(&w, "addrtotext(2001:db8::1)"), "2001:db8::1");
    assert_eq!(text(&w, "addrtotext(pkt4.giaddr)"), "0.0.0.0");
    assert_eq!(text(&w, "addrtotext('')"), "");
    assert_eq!(text(&w, "int8totext(0xff)"), "-1");
    assert_eq!(text(&w, "int16totext(0xfffe)"), "-2");
    assert_eq!(text(&w, "int32totext(0xffffffff)"), "-1");
    assert_eq!(text(&w, "uint8totext(0xff)"), "255");
    assert_eq!(text(&w, "uint16totext(0x0102)"), "258");
    assert_eq!(text(&w, "uint32totext(0x01020304)"), "16909060");
    assert_eq!(text(&w, "uint32totext(pkt4.hlen)"), "6");
    assert_eq!(text(&w, "uint8totext('')"), "");
}

#[test]
fn wrong_sized_conversions_are_errors_not_panics() {
    let ctx = Wire::discover().ctx();
    let pkt = Packet::new(&ctx, 300);
    for e in [
        "addrtotext(0x0102)",
        "int8totext(0x0102)",
        "int16totext(0x01)",
        "int32totext(0x010203)",
        "uint8totext(0x0102)",
        "uint16totext(0x010203)",
        "uint32totext(0x01)",
    ] {
        let v = ValueExpression::parse(e).expect("parses");
        assert!(v.evaluate(&pkt, &[]).is_err(), "{e}");
        let t = Expression::parse(&format!("{e} == ''")).expect("parses");
        assert!(t.evaluate(&pkt, &[]).is_err(), "{e}");
    }
}

#[test]
fn logic_operators_and_precedence() {
    let w = Wire::discover().opt(60, b"x");
    assert!(truth(&w, "option[60].exists and pkt4.hlen == 6"));
    assert!(!truth(&w, "option[60].exists and option[61].exists"));
    assert!(truth(&w, "option[61].exists or option[60].exists"));
    assert!(truth(&w, "not option[61].exists"));
    assert!(!truth(&w, "not option[60].exists"));
    // `not` binds tighter than `and`, `and` tighter than `or`.
    assert!(!truth(&w, "not option[60].exists and option[60].exists"));
    assert!(truth(&w, "not (option[60].exists and option[61].exists)"));
    assert!(truth(
        &w,
        "option[60].exists or option[61].exists and option[62].exists"
    ));
    assert!(!truth(
        &w,
        "(option[60].exists or option[61].exists) and option[62].exists"
    ));
    assert!(truth(&w, "(option[60].hex) == ('x')"));
}

#[test]
fn member_known_unknown() {
    let w = Wire::discover();
    assert!(truth_in(&w, "member('gold')", &["ALL", "gold"]));
    assert!(!truth_in(&w, "member('gold')", &["ALL"]));
    assert!(truth_in(&w, "known", &["KNOWN"]));
    assert!(!truth_in(&w, "unknown", &["KNOWN"]));
    assert!(truth_in(&w, "unknown", &["UNKNOWN"]));
    assert!(truth_in(
        &w,
        "member('ALL') and not known",
        &["ALL", "UNKNOWN"]
    ));
}
