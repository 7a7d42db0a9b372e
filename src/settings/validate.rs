//! Cross-subnet checks: duplicate ids and prefixes, and overlapping pools within
//! and across subnets. Each problem names the later of the two conflicting paths
//! and the earlier one in its message.

use super::reader::Problems;
use super::subnet::SubnetMeta;
use super::types::Subnet4;

/// Run all cross-subnet checks.
pub(crate) fn check_subnets(subnets: &[(Subnet4, SubnetMeta)], p: &mut Problems) {
    for (i, (s, m)) in subnets.iter().enumerate() {
        for (t, n) in &subnets[..i] {
            if m.explicit_id && n.explicit_id && s.id == t.id {
                p.add(
                    format!("{}.id", m.path),
                    format!("duplicate subnet id {} (also {})", s.id, n.path),
                );
            }
            if s.prefix == t.prefix {
                p.add(
                    format!("{}.subnet", m.path),
                    format!("duplicate subnet {} (also {})", s.prefix, n.path),
                );
            }
        }
    }
    check_pool_overlaps(subnets, p);
}

fn check_pool_overlaps(subnets: &[(Subnet4, SubnetMeta)], p: &mut Problems) {
    let mut all: Vec<(u32, u32, &str)> = subnets
        .iter()
        .flat_map(|(s, m)| {
            s.pools
                .iter()
                .zip(&m.pool_paths)
                .map(|(pool, path)| (u32::from(pool.start), u32::from(pool.end), path.as_str()))
        })
        .collect();
    all.sort_by_key(|(start, end, _)| (*start, *end));
    // Sweep: compare each pool with the furthest-reaching earlier one.
    let mut reach: Option<(u32, &str)> = None;
    for (start, end, path) in all {
        if let Some((far_end, far_path)) = reach {
            if start <= far_end {
                p.add(path, format!("pool overlaps {far_path}"));
            }
            if end > far_end {
                reach = Some((end, path));
            }
        } else {
            reach = Some((end, path));
        }
    }
}
