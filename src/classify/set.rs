//! [`ClassSet`]: the configured classes, compiled once, evaluated per packet.
//!
//! Invariants: names are unique; each `member()` names an earlier or built-in class;
//! classes are evaluated in definition order, each seeing the classes assigned before
//! it. A class whose test depends (directly or through `member()`) on `KNOWN`/`UNKNOWN`
//! is marked so that it can be deferred until the host reservation lookup is done.

use tracing::debug;

use super::{Expression, Packet};
use crate::dhcp::v4::Ctx;
use crate::settings::ClientClassDef;

/// Classes that exist without a definition: `ALL`, `KNOWN`, `UNKNOWN`, `BOOTP`, `DROP`,
/// `VENDOR_CLASS_*` and `HA_*`.
pub fn is_builtin(name: &str) -> bool {
    matches!(name, "ALL" | "KNOWN" | "UNKNOWN" | "BOOTP" | "DROP")
        || name.starts_with("VENDOR_CLASS_")
        || name.starts_with("HA_")
}

/// A problem with one class definition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("client class '{class}': {}{message}", column.map(|c| format!("column {c}: ")).unwrap_or_default())]
pub struct ClassError {
    /// The class whose definition is refused.
    pub class: String,
    /// Column in its `test`, when the problem is in the expression.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

#[derive(Debug, Clone)]
struct Compiled {
    name: String,
    test: Option<Expression>,
    only_if_required: bool,
    /// Depends on `KNOWN`/`UNKNOWN`, directly or through an earlier class.
    needs_host: bool,
}

/// The compiled `client-classes`, in definition order.
#[derive(Debug, Clone, Default)]
pub struct ClassSet {
    classes: Vec<Compiled>,
}

impl ClassSet {
    /// Parse every `test` and check class references. `known_builtin` names classes
    /// that exist without a definition besides [`is_builtin`] ones (e.g. HA scopes).
    pub fn compile(
        defs: &[ClientClassDef],
        known_builtin: &dyn Fn(&str) -> bool,
    ) -> Result<ClassSet, Vec<ClassError>> {
        let mut errors = Vec::new();
        let mut classes: Vec<Compiled> = Vec::with_capacity(defs.len());
        for (i, def) in defs.iter().enumerate() {
            let err = |column, message: String| ClassError {
                class: def.name.clone(),
                column,
                message,
            };
            if defs[..i].iter().any(|d| d.name == def.name) {
                errors.push(err(None, "duplicate class name".into()));
                continue;
            }
            let test = match def.test.as_deref().map(Expression::parse).transpose() {
                Ok(t) => t,
                Err(e) => {
                    errors.push(err(Some(e.column), e.message));
                    continue;
                }
            };
            let mut needs_host = test.as_ref().is_some_and(Expression::asks_known);
            for (name, col) in test.iter().flat_map(Expression::members) {
                if let Some(dep) = classes.iter().find(|c| c.name == name) {
                    needs_host |= dep.needs_host;
                } else if name == "KNOWN" || name == "UNKNOWN" {
                    needs_host = true;
                } else if is_builtin(name) || known_builtin(name) {
                } else if name == def.name {
                    errors.push(err(
                        Some(col),
                        format!("member('{name}'): a class cannot depend on itself"),
                    ));
                } else if defs[..i].iter().any(|d| d.name == name) {
                    // Defined earlier but itself refused: already reported.
                } else if defs[i..].iter().any(|d| d.name == name) {
                    errors.push(err(
                        Some(col),
                        format!(
                            "member('{name}') names a class defined later; a test may only \
                             use classes defined before it or built-in ones"
                        ),
                    ));
                } else {
                    errors.push(err(Some(col), format!("member('{name}'): no such class")));
                }
            }
            classes.push(Compiled {
                name: def.name.clone(),
                test,
                only_if_required: def.only_if_required,
                needs_host,
            });
        }
        if errors.is_empty() {
            Ok(ClassSet { classes })
        } else {
            Err(errors)
        }
    }

    /// Number of configured classes.
    pub fn len(&self) -> usize {
        self.classes.len()
    }

    /// Whether no class is configured.
    pub fn is_empty(&self) -> bool {
        self.classes.is_empty()
    }

    /// Whether class `name`'s test depends on `KNOWN`/`UNKNOWN` (evaluate it after the
    /// host lookup).
    pub fn needs_host(&self, name: &str) -> bool {
        self.classes.iter().any(|c| c.name == name && c.needs_host)
    }

    /// Classify a packet after the host lookup: returns `ctx.classes` plus `ALL`, `KNOWN`
    /// or `UNKNOWN`, and every class whose test matches (definition order; classes
    /// marked only-if-required and classes without a test are skipped).
    pub fn classify(&self, ctx: &Ctx, pkt_len: usize, known: bool) -> Vec<String> {
        self.classify_packet(&Packet::new(ctx, pkt_len), Some(known))
    }

    /// [`classify`](Self::classify) over a [`Packet`]; `known: None` means the host
    /// lookup has not happened yet, so classes depending on `KNOWN`/`UNKNOWN` are left
    /// for a second call with `Some(..)` (Kea's two-phase classification).
    pub fn classify_packet(&self, pkt: &Packet<'_>, known: Option<bool>) -> Vec<String> {
        let mut out = start_set(pkt.ctx, known);
        for c in &self.classes {
            if c.only_if_required || (known.is_none() && c.needs_host) {
                continue;
            }
            if let Some(test) = &c.test {
                if !contains(&out, &c.name) && matches(test, pkt, &out, &c.name) {
                    out.push(c.name.clone());
                }
            }
        }
        out
    }

    /// Evaluate the classes named by `require-client-classes` /
    /// `evaluate-additional-classes`, in the order given: returns `ctx.classes` plus
    /// each one that matches; a listed class without a test is assigned. Names not
    /// defined here are ignored.
    pub fn evaluate_required(
        &self,
        ctx: &Ctx,
        pkt_len: usize,
        known: bool,
        required: &[String],
    ) -> Vec<String> {
        self.evaluate_required_packet(&Packet::new(ctx, pkt_len), known, required)
    }

    /// [`evaluate_required`](Self::evaluate_required) over a [`Packet`].
    pub fn evaluate_required_packet(
        &self,
        pkt: &Packet<'_>,
        known: bool,
        required: &[String],
    ) -> Vec<String> {
        let mut out = start_set(pkt.ctx, Some(known));
        for name in required {
            let Some(c) = self.classes.iter().find(|c| &c.name == name) else {
                continue;
            };
            if contains(&out, name) {
                continue;
            }
            let hit = match &c.test {
                None => true,
                Some(test) => matches(test, pkt, &out, name),
            };
            if hit {
                out.push(name.clone());
            }
        }
        out
    }
}

/// `ctx.classes`, with `ALL` first if missing and `KNOWN`/`UNKNOWN` when decided.
fn start_set(ctx: &Ctx, known: Option<bool>) -> Vec<String> {
    let mut out = ctx.classes.clone();
    if !contains(&out, "ALL") {
        out.insert(0, "ALL".to_string());
    }
    if let Some(k) = known {
        let name = if k { "KNOWN" } else { "UNKNOWN" };
        if !contains(&out, "KNOWN") && !contains(&out, "UNKNOWN") {
            out.push(name.to_string());
        }
    }
    out
}

fn contains(list: &[String], name: &str) -> bool {
    list.iter().any(|c| c == name)
}

fn matches(test: &Expression, pkt: &Packet<'_>, classes: &[String], name: &str) -> bool {
    test.evaluate(pkt, classes).unwrap_or_else(|err| {
        debug!(class = name, %err, "class test failed to evaluate; not matched");
        false
    })
}
