//! `option-def` and `option-data` entries → [`OptionDef`] / [`OptionData`] with
//! payloads encoded (see [`super::options`]).

use serde_json::Value;

use super::options::{self, StdOption};
use super::reader::{closest, Obj, Problems};
use super::schema;
use super::types::{OptionData, OptionDef};

/// Read `option-def`.
pub(crate) fn read_option_defs(items: Vec<(String, &Value)>, p: &mut Problems) -> Vec<OptionDef> {
    let mut defs: Vec<OptionDef> = Vec::new();
    for (path, v) in items {
        let Some(o) = Obj::new(v, &path, &schema::OPTION_DEF, p) else {
            continue;
        };
        for key in ["name", "code", "type"] {
            if !o.has(key) {
                p.add(o.at(key), "is required");
            }
        }
        let name = o.name("name", p);
        let code = o.int("code", 1, 254, p).map(|c| c as u8);
        let space = o.name("space", p).unwrap_or_else(|| "dhcp4".into());
        let option_type = o.string("type", p);
        if let Some(t) = &option_type {
            if !options::TYPES.contains(&t.as_str()) {
                p.add(
                    o.at("type"),
                    format!("{t:?} is not one of {}", options::TYPES.join(", ")),
                );
            }
        }
        let record_types: Vec<String> = o
            .string("record-types", p)
            .map(|s| {
                s.split(',')
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        for t in &record_types {
            if !options::TYPES.contains(&t.as_str()) || t == "record" || t == "empty" {
                p.add(
                    o.at("record-types"),
                    format!("{t:?} is not a valid record field type"),
                );
            }
        }
        if option_type.as_deref() == Some("record") && record_types.is_empty() {
            p.add(o.at("record-types"), "is required when type is record");
        }
        let (Some(name), Some(code), Some(option_type)) = (name, code, option_type) else {
            continue;
        };
        if space == "dhcp4" {
            if let Some(std) = options::by_code(code).filter(|s| s.name != name) {
                p.add(
                    o.at("code"),
                    format!(
                        "code {code} is the standard option {:?}; it cannot be redefined",
                        std.name
                    ),
                );
            } else if options::by_name(&name).is_some() || options::server_managed(code).is_some() {
                p.add(
                    o.at("name"),
                    format!("{name:?} (code {code}) is a standard option; it cannot be redefined"),
                );
            }
        }
        if defs
            .iter()
            .any(|d| d.space == space && (d.code == code || d.name == name))
        {
            p.add(
                &path,
                format!("duplicate definition of {name:?} / code {code} in space {space:?}"),
            );
        }
        defs.push(OptionDef {
            name,
            code,
            space,
            option_type,
            array: o.bool("array", p).unwrap_or(false),
            record_types,
            encapsulate: o.string("encapsulate", p).filter(|s| !s.is_empty()),
        });
    }
    defs
}

/// A definition resolved from the standard table or `option-def`.
struct Def {
    name: String,
    code: u8,
    option_type: String,
    array: bool,
    record_types: Vec<String>,
}

impl From<&StdOption> for Def {
    fn from(s: &StdOption) -> Self {
        Self {
            name: s.name.into(),
            code: s.code,
            option_type: s.option_type.into(),
            array: s.array,
            record_types: Vec::new(),
        }
    }
}

impl From<&OptionDef> for Def {
    fn from(d: &OptionDef) -> Self {
        Self {
            name: d.name.clone(),
            code: d.code,
            option_type: d.option_type.clone(),
            array: d.array,
            record_types: d.record_types.clone(),
        }
    }
}

fn find_def(space: &str, name: Option<&str>, code: Option<u8>, defs: &[OptionDef]) -> Option<Def> {
    let custom = defs.iter().find(|d| {
        d.space == space
            && (name.is_some_and(|n| n == d.name) || (name.is_none() && code == Some(d.code)))
    });
    if let Some(d) = custom {
        return Some(d.into());
    }
    if space != "dhcp4" {
        return None;
    }
    match name {
        Some(n) => options::by_name(n).map(Def::from),
        None => code.and_then(options::by_code).map(Def::from),
    }
}

/// Read an `option-data` list.
pub(crate) fn read_option_data(
    items: Vec<(String, &Value)>,
    defs: &[OptionDef],
    p: &mut Problems,
) -> Vec<OptionData> {
    let mut out = Vec::new();
    for (path, v) in items {
        let Some(o) = Obj::new(v, &path, &schema::OPTION_DATA, p) else {
            continue;
        };
        if let Some(opt) = read_one(&o, defs, p) {
            if out
                .iter()
                .any(|x: &OptionData| x.code == opt.code && x.space == opt.space)
            {
                p.add(
                    &path,
                    format!("option code {} is given twice at this level", opt.code),
                );
            }
            out.push(opt);
        }
    }
    out
}

fn read_one(o: &Obj<'_>, defs: &[OptionDef], p: &mut Problems) -> Option<OptionData> {
    let name = o.name("name", p);
    let code = o.int("code", 0, 255, p).map(|c| c as u8);
    if name.is_none() && code.is_none() {
        if !o.has("name") && !o.has("code") {
            p.add(&o.path, "needs a name or a code");
        }
        return None;
    }
    let space = o.name("space", p).unwrap_or_else(|| "dhcp4".into());
    let data = o.string("data", p).unwrap_or_default();
    let csv = o.bool("csv-format", p).unwrap_or(true);
    let def = find_def(&space, name.as_deref(), code, defs);
    let code = match (&def, code) {
        (Some(d), Some(c)) if d.code != c => {
            p.add(
                o.at("code"),
                format!(
                    "code {c} does not match option {:?} (code {})",
                    d.name, d.code
                ),
            );
            return None;
        }
        (Some(d), _) => d.code,
        (None, _) if name.is_some() => {
            let n = name.as_deref().unwrap_or_default();
            let all = options::STANDARD
                .iter()
                .map(|s| s.name)
                .chain(defs.iter().map(|d| d.name.as_str()));
            let hint = closest(n, all)
                .map(|s| format!("; did you mean {s:?}?"))
                .unwrap_or_default();
            p.add(
                o.at("name"),
                format!("unknown option {n:?} in space {space:?}{hint}"),
            );
            return None;
        }
        (None, Some(c)) => c,
        (None, None) => return None,
    };
    if space == "dhcp4" {
        if let Some(why) = options::server_managed(code) {
            p.add(&o.path, format!("option {code} {why}"));
            return None;
        }
    }
    let encoded = match &def {
        Some(d) => options::encode(&d.option_type, d.array, &d.record_types, &data, csv),
        None if !csv || data.is_empty() => options::parse_hex(&data),
        None => Err(format!(
            "no definition for option code {code} in space {space:?}; give data as hex with \"csv-format\": false or add an option-def"
        )),
    };
    let data = match encoded {
        Ok(bytes) if bytes.len() > 255 => {
            p.add(
                o.at("data"),
                format!(
                    "encodes to {} bytes; an option holds at most 255",
                    bytes.len()
                ),
            );
            return None;
        }
        Ok(bytes) => bytes,
        Err(e) => {
            p.add(o.at("data"), e);
            return None;
        }
    };
    Some(OptionData {
        code,
        name: def.map(|d| d.name).or(name),
        space,
        data,
        always_send: o.bool("always-send", p).unwrap_or(false),
        never_send: o.bool("never-send", p).unwrap_or(false),
    })
}
