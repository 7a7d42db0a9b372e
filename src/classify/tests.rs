//! Parser and class-set tests: accepted syntax, every error message with its column,
//! compile-time class checks, and classification order (including the HA seed).

use super::tests_eval::Wire;
use super::{ClassError, ClassSet, Expression, Packet, ParseError, ValueExpression};
use crate::settings::ClientClassDef;

fn err(text: &str) -> ParseError {
    match Expression::parse(text) {
        Ok(e) => panic!("{text} parsed: {e:?}"),
        Err(e) => e,
    }
}

#[test]
fn every_construct_parses() {
    let tests = [
        "option[60].hex == 'x'",
        "option[vendor-class-identifier].text == 'x'",
        "option[60].exists",
        "option[43].option[1].hex == 0x01 and option[43].option[1].exists",
        "relay4[1].hex == 'x' or relay4[2].exists",
        "pkt4.mac == 0x0011 and pkt4.hlen == 6 and pkt4.htype == 1",
        "pkt4.ciaddr == 0.0.0.0 and pkt4.giaddr == 10.0.0.1 and pkt4.yiaddr == ::1",
        "pkt4.siaddr == 1.2.3.4 and pkt4.msgtype == 1 and pkt4.transid == 0",
        "pkt.iface == 'eth0' and pkt.src == pkt.dst and pkt.len == 300",
        "vendor[*].exists and vendor[4491].exists and vendor[4491].option[1].exists",
        "vendor[4491].option[1].hex == 'x' and vendor.enterprise == 4491",
        "vendor-class[*].exists and vendor-class[4491].exists",
        "vendor-class[4491].data == 'x' and vendor-class[4491].data[1] == 'y'",
        "vendor-class.enterprise == 4491",
        "substring(option[60].hex, 0, 6) == 'Aastra'",
        "substring(option[60].hex, -1, all) == 'x'",
        "concat('a', 'b') == 'ab' and 'a' + 'b' == 'ab'",
        "ifelse(known, 'a', 'b') == 'a'",
        "hexstring(pkt4.mac, ':') == '00:11'",
        "split(option[60].text, ' ', 2) == 'x'",
        "lcase('A') == ucase('a')",
        "addrtotext(pkt4.giaddr) == '0.0.0.0'",
        "int8totext(0x01) == int16totext(0x0001)",
        "int32totext(0x00000001) == uint8totext(0x01)",
        "uint16totext(0x0001) == uint32totext(0x00000001)",
        "not (member('ALL') or known) and unknown",
        "member('VENDOR_CLASS_docsis3.0')",
        "\toption[60].exists\n",
    ];
    for t in tests {
        Expression::parse(t).unwrap_or_else(|e| panic!("{t}: {e}"));
    }
}

#[test]
fn errors_point_at_the_column() {
    let cases = [
        ("option[60].hex == 'a' $", 23, "invalid character '$'"),
        ("foo == 'a'", 1, "unknown word 'foo'"),
        ("option[no-such-option].exists", 8, "option 'no-such-option' is not defined"),
        ("option[60 .hex == 'a'", 11, "expected ']' after option code, found '.'"),
        ("option[256].exists", 8, "option code 256 out of range 0..255"),
        ("option[].exists", 8, "expected option code or name, found ']'"),
        ("option[60].bin == 'a'", 12, "expected hex or text or exists after '.', found 'bin'"),
        ("substring(option[60].hex, 0, 6 == 'A'", 32, "expected ')' after the arguments of 'substring', found '=='"),
        ("substring('abc', x, 1) == 'a'", 18, "expected start position (an integer), found 'x'"),
        ("(option[60].exists", 19, "expected ')' to close '(' at column 1, found end of expression"),
        ("option[60].hex == 'abc", 19, "unterminated string"),
        ("'a' and 'b' == 'b'", 1, "'and' needs a condition here, found a value"),
        ("option[60].exists == 'true'", 1, "'==' needs a value here, found a condition"),
        ("not 'a'", 5, "'not' needs a condition here, found a value"),
        ("member(ALL)", 8, "expected a quoted class name, found 'ALL'"),
        ("member('a') member('b')", 13, "unexpected 'member' after a complete expression"),
        ("relay6[0].option[1].exists", 1, "'relay6' can only be used in DHCPv6"),
        ("pkt4.chaddr == 0x00", 6, "expected mac or hlen or htype or ciaddr or giaddr or yiaddr or siaddr or msgtype or transid after 'pkt4.', found 'chaddr'"),
        ("4294967296 == 0x00", 1, "integer 4294967296 out of range 0..4294967295"),
        ("1.2.3.999 == 0x00", 1, "'1.2.3.999' is not a valid IP address"),
        ("vendor[x].exists", 8, "expected enterprise id or '*' (an integer), found 'x'"),
        ("ifelse('a', 'b', 'c') == 'b'", 8, "the first argument of 'ifelse' needs a condition here, found a value"),
        ("", 1, "expected an expression, found end of expression"),
    ];
    for (text, column, message) in cases {
        assert_eq!(
            err(text),
            ParseError {
                column,
                message: message.to_string()
            },
            "{text}"
        );
    }
}

#[test]
fn a_class_test_must_be_a_condition() {
    let e = err("  option[60].hex");
    assert_eq!(e.column, 3);
    assert!(e.message.contains("is a value, not a condition"), "{e}");
    assert_eq!(
        e.to_string(),
        format!("column 3: {}", e.message),
        "Display is `column N: message`"
    );
    assert!(ValueExpression::parse("option[60].hex").is_ok());
    assert!(ValueExpression::parse("option[60].exists").is_err());
}

pub(super) fn class(name: &str, test: Option<&str>) -> ClientClassDef {
    ClientClassDef {
        name: name.to_string(),
        test: test.map(str::to_string),
        only_if_required: false,
        option_data: Vec::new(),
        next_server: None,
        server_hostname: None,
        boot_file_name: None,
        valid_lifetime: None,
    }
}

fn compile_err(defs: &[ClientClassDef]) -> Vec<ClassError> {
    ClassSet::compile(defs, &|_| false).expect_err("refused")
}

#[test]
fn member_must_name_an_earlier_or_builtin_class() {
    let ok = [
        class("a", Some("option[60].exists")),
        class(
            "b",
            Some("member('a') and member('ALL') and member('HA_server1')"),
        ),
        class(
            "c",
            Some("member('VENDOR_CLASS_x') or member('KNOWN') or member('DROP')"),
        ),
        class("d", Some("member('BOOTP') or member('UNKNOWN')")),
    ];
    assert_eq!(ClassSet::compile(&ok, &|_| false).map(|s| s.len()), Ok(4));

    let later = compile_err(&[
        class("a", Some("option[60].exists and member('b')")),
        class("b", Some("option[61].exists")),
    ]);
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].class, "a");
    assert_eq!(later[0].column, Some(30));
    assert!(later[0].message.contains("defined later"), "{}", later[0]);

    let unknown = compile_err(&[class("a", Some("member('nope')"))]);
    assert_eq!(
        unknown[0].to_string(),
        "client class 'a': column 8: member('nope'): no such class"
    );

    let itself = compile_err(&[class("a", Some("member('a')"))]);
    assert!(itself[0].message.contains("itself"), "{}", itself[0]);

    // The caller may declare extra names (e.g. HA scope classes ha_server1).
    let ha = [class("x", Some("member('ha_server1')"))];
    assert!(ClassSet::compile(&ha, &|n| n.starts_with("ha_")).is_ok());
}

#[test]
fn duplicate_names_and_bad_tests_are_refused_together() {
    let errs = compile_err(&[
        class("a", Some("option[60].exists")),
        class("a", None),
        class("b", Some("option[60].hex")),
        class("c", Some("option[bogus].exists")),
    ]);
    let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert_eq!(shown.len(), 3, "{shown:?}");
    assert_eq!(shown[0], "client class 'a': duplicate class name");
    assert!(
        shown[1].starts_with("client class 'b': column 1: "),
        "{}",
        shown[1]
    );
    assert_eq!(
        shown[2],
        "client class 'c': column 8: option 'bogus' is not defined"
    );
}

#[test]
fn classify_in_definition_order() {
    let mut req_only = class("late", Some("option[60].exists"));
    req_only.only_if_required = true;
    let defs = [
        class("vendor", Some("option[60].text == 'acme'")),
        class("depends", Some("member('vendor')")),
        class("never", Some("option[61].exists")),
        class("no-test", None),
        req_only,
        class("known-only", Some("known and member('vendor')")),
        class("after-known", Some("member('known-only')")),
        class("broken", Some("uint8totext(option[60].hex) == '1'")),
    ];
    let set = ClassSet::compile(&defs, &|_| false).expect("compiles");
    let w = Wire::discover().opt(60, b"acme");
    let ctx = w.ctx();
    let all = set.classify(&ctx, 300, true);
    assert_eq!(
        all,
        [
            "ALL",
            "VENDOR_CLASS_acme",
            "KNOWN",
            "vendor",
            "depends",
            "known-only",
            "after-known"
        ]
    );
    let anon = set.classify(&ctx, 300, false);
    assert_eq!(
        anon,
        ["ALL", "VENDOR_CLASS_acme", "UNKNOWN", "vendor", "depends"]
    );

    // Before the host lookup, KNOWN-dependent classes wait.
    assert!(set.needs_host("after-known") && !set.needs_host("depends"));
    let early = set.classify_packet(&Packet::new(&ctx, 300), None);
    assert_eq!(early, ["ALL", "VENDOR_CLASS_acme", "vendor", "depends"]);

    let mut ctx = ctx;
    ctx.classes = early;
    let late = set.classify_packet(&Packet::new(&ctx, 300), Some(true));
    assert_eq!(
        late,
        [
            "ALL",
            "VENDOR_CLASS_acme",
            "vendor",
            "depends",
            "KNOWN",
            "known-only",
            "after-known"
        ]
    );

    let required = [
        "late".to_string(),
        "no-test".to_string(),
        "never".to_string(),
        "ghost".to_string(),
    ];
    ctx.classes = late;
    let with_required = set.evaluate_required(&ctx, 300, true, &required);
    assert_eq!(&with_required[all.len()..], ["late", "no-test"]);
}

/// The seed's "Load Balancing with Advanced Classification" classes.
fn seed_classes() -> Vec<ClientClassDef> {
    vec![
        class("ha_server1", None),
        class("ha_server2", None),
        class("phones", Some("substring(option[60].hex,0,6) == 'Aastra'")),
        class("laptops", Some("not member('phones')")),
        class(
            "phones_server1",
            Some("member('phones') and member('ha_server1')"),
        ),
        class(
            "phones_server2",
            Some("member('phones') and member('ha_server2')"),
        ),
        class(
            "laptops_server1",
            Some("member('laptops') and member('ha_server1')"),
        ),
        class(
            "laptops_server2",
            Some("member('laptops') and member('ha_server2')"),
        ),
    ]
}

#[test]
fn seed_advanced_classification_splits_phones_and_laptops_by_ha_scope() {
    let set = ClassSet::compile(&seed_classes(), &|_| false).expect("seed compiles");
    let classify = |vendor: Option<&[u8]>, scope: &str| {
        let mut w = Wire::discover();
        if let Some(v) = vendor {
            w = w.opt(60, v);
        }
        let mut ctx = w.ctx();
        ctx.classes.push(scope.to_string());
        let got = set.classify(&ctx, 300, false);
        got.into_iter()
            .filter(|c| c.contains("phones") || c.contains("laptops"))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        classify(Some(b"Aastra6731i"), "ha_server1"),
        ["phones", "phones_server1"]
    );
    assert_eq!(
        classify(Some(b"Aastra6731i"), "ha_server2"),
        ["phones", "phones_server2"]
    );
    assert_eq!(
        classify(Some(b"MSFT 5.0"), "ha_server1"),
        ["laptops", "laptops_server1"]
    );
    assert_eq!(classify(None, "ha_server2"), ["laptops", "laptops_server2"]);
    assert_eq!(
        classify(Some(b"Aastr"), "ha_server2"),
        ["laptops", "laptops_server2"]
    );
}
