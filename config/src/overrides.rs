//! `--set KEY=JSON`: one setting changed for a run of `orderflow dev` or the benchmark, named
//! by its dotted path in the configuration file (`workflow.cancellation_answer_timeout_secs`).
//! The value is JSON; a bare word that is not JSON is taken as a string. A path the settings
//! do not have is an error that lists what is there, so a typo never passes unnoticed.

use crate::Settings;
use anyhow::{Context, bail};
use serde_json::Value;
use std::str::FromStr;

/// One `KEY=JSON` override.
#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    path: Vec<String>,
    value: Value,
}

impl FromStr for Override {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> anyhow::Result<Override> {
        let (key, value) = text.split_once('=').with_context(|| {
            format!(
                "--set {text}: expected KEY=JSON, e.g. workflow.amendment_answer_timeout_secs=5"
            )
        })?;
        let path: Vec<String> = key.split('.').map(str::to_string).collect();
        if path.iter().any(String::is_empty) {
            bail!(
                "--set {text}: '{key}' is not a setting path (dotted names, e.g. workflow.supplier_max_attempts)"
            );
        }
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.into()));
        Ok(Override { path, value })
    }
}

impl Settings {
    /// These settings with `overrides` applied in order.
    pub fn with_overrides(self, overrides: &[Override]) -> anyhow::Result<Settings> {
        if overrides.is_empty() {
            return Ok(self);
        }
        let mut value = serde_json::to_value(&self)?;
        for o in overrides {
            set(&mut value, o)?;
        }
        serde_json::from_value(value).context("--set: a value has the wrong type for its setting")
    }
}

/// Sets `o.value` at `o.path` in `settings`, which must have that path already.
fn set(settings: &mut Value, o: &Override) -> anyhow::Result<()> {
    let name = o.path.join(".");
    let (last, parents) = o.path.split_last().expect("a path has a name");
    let mut at = settings;
    for (depth, key) in parents.iter().enumerate() {
        at = at.get_mut(key).filter(|v| v.is_object()).with_context(|| {
            format!(
                "--set {name}: there is no setting group '{}'",
                o.path[..=depth].join(".")
            )
        })?;
    }
    let Some(fields) = at.as_object_mut() else {
        bail!("--set {name}: not a setting");
    };
    if !fields.contains_key(last) {
        let known: Vec<&str> = fields.keys().map(String::as_str).collect();
        bail!(
            "--set {name}: no such setting; here there are {}",
            known.join(", ")
        );
    }
    fields.insert(last.clone(), o.value.clone());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(args: &[&str]) -> anyhow::Result<Settings> {
        let overrides: Vec<Override> = args.iter().map(|a| a.parse()).collect::<Result<_, _>>()?;
        Settings::dev().with_overrides(&overrides)
    }

    #[test]
    fn a_nested_setting_takes_a_json_value() {
        let s = apply(&[
            "workflow.cancellation_answer_timeout_secs=5",
            "max_cached_workflows=7",
        ])
        .unwrap();
        assert_eq!(s.workflow.cancellation_answer_timeout_secs, 5);
        assert_eq!(s.max_cached_workflows, 7);
        assert_eq!(
            s.tenants.len(),
            Settings::dev().tenants.len(),
            "the rest is kept"
        );
    }

    #[test]
    fn a_bare_word_is_a_string() {
        let s = apply(&["task_queue=elsewhere"]).unwrap();
        assert_eq!(s.task_queue, "elsewhere");
    }

    #[test]
    fn unknown_paths_and_wrong_types_are_refused_with_what_to_do() {
        let e = apply(&["workflow.answer_timeout=5"])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no such setting") && e.contains("cancellation_answer_timeout_secs"),
            "{e}"
        );
        let e = apply(&["nothing.here=1"]).unwrap_err().to_string();
        assert!(e.contains("no setting group 'nothing'"), "{e}");
        let e = apply(&["workflow.supplier_max_attempts=\"many\""]).unwrap_err();
        assert!(format!("{e:#}").contains("wrong type"), "{e:#}");
        assert!("no-equals-sign".parse::<Override>().is_err());
        assert!("a..b=1".parse::<Override>().is_err());
    }
}
