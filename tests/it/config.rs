//! Configuration files: every example in `deploy/` loads and passes `shoal -t`;
//! every `tests/data/config/bad-*.json` fails `shoal -t` with exit 1 and names the
//! offending JSON path on stderr.

use std::path::{Path, PathBuf};
use std::process::Command;

use shoal::settings::{HaMode, Settings};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn json_files(dir: &str, prefix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .expect("directory exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            name.starts_with(prefix) && name.ends_with(".json")
        })
        .collect();
    files.sort();
    files
}

fn shoal_t(file: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_shoal"))
        .arg("-t")
        .arg(file)
        .env_remove("SHOAL_DHCP4__VALID_LIFETIME")
        .output()
        .expect("run shoal -t")
}

#[test]
fn every_deploy_config_loads() {
    let files = json_files("deploy", "");
    assert!(
        files.len() >= 5,
        "expected the five example configs, found {files:?}"
    );
    for f in files {
        if let Err(e) = Settings::load(&f) {
            panic!("{} does not load:\n{e}", f.display());
        }
    }
}

#[test]
fn ha_examples_keep_kea_parameters() {
    let s = Settings::load(&root().join("deploy/kea-advanced-classification.json")).expect("loads");
    let ha = s.dhcp4.ha.as_ref().expect("HA parsed from libdhcp_ha.so");
    assert_eq!(ha.mode, HaMode::LoadBalancing);
    assert_eq!(ha.this_server_name, "server1");
    assert_eq!(ha.peers.len(), 3);
    assert_eq!(s.dhcp4.client_classes.len(), 8);
    assert_eq!(s.dhcp4.subnets[0].pools.len(), 4);
    assert_eq!(
        s.dhcp4.subnets[0].relay_addresses,
        vec![std::net::Ipv4Addr::new(10, 1, 2, 3)]
    );
}

#[test]
fn every_deploy_config_passes_shoal_t() {
    for f in json_files("deploy", "") {
        let out = shoal_t(&f);
        assert!(
            out.status.success(),
            "shoal -t {} failed:\n{}",
            f.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("configuration OK"));
    }
}

#[test]
fn bad_configs_exit_1_naming_the_path() {
    let expected: &[(&str, &[&str])] = &[
        (
            "bad-overlap.json",
            &[
                "Dhcp4.subnet4[0].pools[1].pool",
                "Dhcp4.subnet4[1].pools[0].pool",
            ],
        ),
        (
            "bad-memfile.json",
            &[
                "Dhcp4.lease-database.type",
                "Dhcp4.lease-database.persist",
                "Dhcp4.valid-lifetim",
            ],
        ),
        (
            "bad-timers.json",
            &[
                "Dhcp4: renew-timer",
                "Dhcp4.subnet4[0].id",
                "Dhcp4.subnet4[0].reservation-mode",
            ],
        ),
        ("bad-dhcp6.json", &["Dhcp6: not supported"]),
    ];
    let files = json_files("tests/data/config", "bad-");
    assert_eq!(
        files.len(),
        expected.len(),
        "every bad file has expectations"
    );
    for (name, paths) in expected {
        let out = shoal_t(&root().join("tests/data/config").join(name));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        for p in *paths {
            assert!(
                stderr.contains(p),
                "{name}: expected {p:?} in stderr:\n{stderr}"
            );
        }
    }
}

#[test]
fn read_but_unimplemented_features_are_said_not_ignored() {
    let out = shoal_t(&root().join("deploy/kea-ha-load-balancing.json"));
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning: Dhcp4.hooks-libraries: libdhcp_ha.so"),
        "{err}"
    );
    let out = shoal_t(&root().join("deploy/shoal-sqlite.json"));
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("warning"),
        "no warning without HA"
    );
}
